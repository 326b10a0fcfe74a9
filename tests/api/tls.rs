//! `EXTRA_CA_FILE`: a company CA trusted beside the public roots. The TLS
//! servers here (an SMTP server, a webhook receiver) present a certificate
//! for `localhost` that only `tests/fixtures/tls/ca.pem` signed
//! (`tests/fixtures/tls/generate.sh` writes them): without the bundle the
//! server refuses them, with it the email and the webhook get through.

use std::{path::PathBuf, sync::Arc};

use pwreset::service::{
    mail::{Channel, MailSettings, SmtpTarget},
    outbound::ExtraRoots,
};
use serde_json::json;
use tokio_rustls::{
    TlsAcceptor,
    rustls::{
        self,
        pki_types::{CertificateDer, PrivateKeyDer, pem::PemObject},
    },
};

use crate::{
    email::mail_through,
    helpers::{Options, TestApp, codes},
    receiver::Receiver,
    smtp_sink::SmtpSink,
};

/// A file of the test certificates.
pub fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/tls")
        .join(name)
}

/// The company CA's bundle, as `EXTRA_CA_FILE` would name it.
fn company_ca() -> ExtraRoots {
    ExtraRoots::load(fixture("ca.pem").to_str().unwrap()).unwrap()
}

/// Accepts TLS as `localhost`, with the certificate the company CA signed.
pub fn acceptor() -> TlsAcceptor {
    let chain = CertificateDer::pem_file_iter(fixture("localhost.pem"))
        .unwrap()
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    let key = PrivateKeyDer::from_pem_file(fixture("localhost.key")).unwrap();
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(chain, key)
    .unwrap();
    TlsAcceptor::from(Arc::new(config))
}

/// Test mode mailing through `sink` (TLS), trusting `extra`.
fn mail_over_tls(sink: &SmtpSink, extra: Option<&ExtraRoots>) -> MailSettings {
    let mut mail = mail_through(sink);
    mail.test.channel = Channel::Smtp(Box::new(
        SmtpTarget::parse(&sink.url(), None, extra).unwrap(),
    ));
    mail
}

#[tokio::test]
async fn smtp_over_tls_reaches_a_server_only_the_extra_ca_vouches_for() {
    let sink = SmtpSink::start_tls(acceptor()).await;
    assert!(
        sink.url().starts_with("smtps://localhost:"),
        "{}",
        sink.url()
    );

    // The public roots alone: the certificate is refused, nothing is sent.
    let public_only = SmtpTarget::parse(&sink.url(), None, None).unwrap();
    let refused = public_only.test_connection().await.unwrap_err();
    assert!(refused.contains("UnknownIssuer"), "{refused}");
    let trusting = SmtpTarget::parse(&sink.url(), None, Some(&company_ca())).unwrap();
    trusting.test_connection().await.unwrap();

    // A reset's email, over TLS, through the server trusting the bundle.
    let app = TestApp::spawn_with(Options {
        mail: Arc::new(mail_over_tls(&sink, Some(&company_ca()))),
        ..Options::default()
    })
    .await;
    app.create_customer("ada@example.com", None).await;
    let body = app
        .gql(
            Some(&app.sales_channel),
            "mutation { createCustomerPasswordReset(input: { customerEmail: \"ada@example.com\" }) { userErrors { code } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        codes(&body["data"]["createCustomerPasswordReset"]),
        Vec::<String>::new()
    );
    app.run_jobs().await;
    let messages = sink.messages();
    assert_eq!(messages.len(), 1, "the email went through the TLS server");
    assert_eq!(messages[0].to, ["<ada@example.com>"]);
    assert!(!messages[0].token().is_empty());
}

#[tokio::test]
async fn webhooks_reach_an_https_receiver_only_the_extra_ca_vouches_for() {
    let receiver = Receiver::start_tls(acceptor()).await;
    assert!(
        receiver.url.starts_with("https://localhost:"),
        "{}",
        receiver.url
    );
    let app = TestApp::spawn_with(Options {
        extra_roots: Some(company_ca()),
        ..Options::default()
    })
    .await;
    let (webhook, _) = app
        .subscribe("customers.create", &receiver.url, false)
        .await;
    app.create_customer("ada@example.com", None).await;

    // A process without the bundle: its attempt fails on the certificate.
    let without = pwreset::AppState {
        extra_roots: None,
        ..app.state.clone()
    };
    assert_eq!(without.worker().unwrap().run_once().await.unwrap(), 1);
    assert!(receiver.calls().is_empty());
    let seen = crate::webhooks::deliveries(&app, &webhook).await;
    let error = seen["deliveries"]["nodes"][0]["lastError"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        error.starts_with("the receiver's TLS certificate is not trusted (invalid peer certificate: UnknownIssuer)"),
        "{error}"
    );

    // This server, with it: the retry is delivered.
    app.clock.advance(chrono::Duration::seconds(7));
    assert_eq!(app.run_jobs().await, 1);
    assert_eq!(receiver.calls().len(), 1);
    let seen = crate::webhooks::deliveries(&app, &webhook).await;
    assert_eq!(seen["deliveries"]["nodes"][0]["status"], "DELIVERED");
}

/// `pwreset config check --connect`, test mode mailing through `sink`,
/// with `extra` as `EXTRA_CA_FILE` when given.
async fn config_check(sink: &SmtpSink, extra: Option<PathBuf>) -> (Option<i32>, String) {
    let db = crate::helpers::TestDb::sqlite_file();
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_pwreset"));
    command
        .args(["config", "check", "--connect"])
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("DATABASE_URL", &db.url)
        .env("TEST_SMTP_URL", sink.url())
        .env("MAIL_FROM", "Example Shop <no-reply@shop.example>");
    if let Some(path) = extra {
        command.env("EXTRA_CA_FILE", path);
    }
    let output = command.output().await.unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.code(), said)
}

#[tokio::test]
async fn extra_ca_file_is_read_at_start_and_a_bad_one_stops_it() {
    let sink = SmtpSink::start_tls(acceptor()).await;
    let (status, said) = config_check(&sink, None).await;
    assert_eq!(status, Some(2), "{said}");
    assert!(
        said.contains("TEST_SMTP_URL") && said.contains("UnknownIssuer"),
        "{said}"
    );
    let (status, said) = config_check(&sink, Some(fixture("ca.pem"))).await;
    assert_eq!(status, Some(0), "{said}");
    assert!(
        said.contains("ok: the configuration holds no problem"),
        "{said}"
    );

    // A key where the bundle should be, and a file that is not there.
    let (status, said) = config_check(&sink, Some(fixture("localhost.key"))).await;
    assert_eq!(status, Some(2), "{said}");
    assert!(said.contains("holds no certificate"), "{said}");
    assert!(
        !said.contains("PRIVATE KEY-----\n"),
        "never the file's content: {said}"
    );
    let (status, said) = config_check(&sink, Some(fixture("missing.pem"))).await;
    assert_eq!(status, Some(2), "{said}");
    assert!(
        said.contains("missing.pem") && said.contains("No such file"),
        "{said}"
    );
    assert!(sink.messages().is_empty());
}
