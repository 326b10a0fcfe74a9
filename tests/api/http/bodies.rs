//! Body and batch caps, persisted queries, and GraphiQL served offline.

use std::io::{Read, Write};

use serde_json::{Value, json};

use super::{post, send};
use crate::helpers::{Options, TestApp};

/// Sends a chunked POST with no Content-Length over a raw connection; returns the status line.
fn chunked_post(addr: std::net::SocketAddr, key: String, chunks: Vec<Vec<u8>>) -> String {
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(30)))
        .unwrap();
    let head = format!(
        "POST /graphql HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {key}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n",
        addr
    );
    stream.write_all(head.as_bytes()).unwrap();
    for chunk in &chunks {
        // The server may stop reading once the cap is passed.
        if stream
            .write_all(format!("{:x}\r\n", chunk.len()).as_bytes())
            .is_err()
            || stream.write_all(chunk).is_err()
            || stream.write_all(b"\r\n").is_err()
        {
            break;
        }
    }
    let _ = stream.write_all(b"0\r\n\r\n");
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response);
    String::from_utf8_lossy(&response)
        .lines()
        .next()
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test]
async fn bodies_over_the_cap_get_413_even_without_a_content_length() {
    let app = TestApp::spawn().await;
    let padding = " ".repeat(70 * 1024);
    let big = format!(r#"{{"query": "{{ __typename }}"{padding}}}"#);
    assert_eq!(send(post(&app, None, &big)).await.status, 413);

    let chunks: Vec<Vec<u8>> = std::iter::once(br#"{"query": "{ __typename }""#.to_vec())
        .chain(std::iter::repeat_n(vec![b' '; 8 * 1024], 9))
        .chain(std::iter::once(b"}".to_vec()))
        .collect();
    let (addr, key) = (app.addr, app.integration.clone());
    let status = tokio::task::spawn_blocking(move || chunked_post(addr, key, chunks))
        .await
        .unwrap();
    assert!(status.contains(" 413 "), "{status}");
    // The same request under the cap, chunked, works.
    let small: Vec<Vec<u8>> = vec![br#"{"query": "#.to_vec(), br#""{ __typename }"}"#.to_vec()];
    let key = app.integration.clone();
    let status = tokio::task::spawn_blocking(move || chunked_post(addr, key, small))
        .await
        .unwrap();
    assert!(status.contains(" 200 "), "{status}");
}

#[tokio::test]
async fn batches_run_each_operation_and_are_capped() {
    let app = TestApp::spawn().await;
    let one = json!({ "query": "{ customers { totalCount } }" });
    let answer = send(post(
        &app,
        None,
        &json!([one, { "query": "{ __typename }" }]).to_string(),
    ))
    .await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.body[0]["data"]["customers"]["totalCount"], 0);
    assert_eq!(answer.body[1]["data"]["__typename"], "Query");

    let eleven = Value::Array(vec![one.clone(); 11]);
    let answer = send(post(&app, None, &eleven.to_string())).await;
    assert_eq!(answer.status, 400);
    assert!(
        answer.body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("1 to 10")
    );
    assert_eq!(send(post(&app, None, "[]")).await.status, 400);

    let off = TestApp::spawn_with(Options::with_http(pwreset::HttpSettings {
        max_batch: 0,
        ..Default::default()
    }))
    .await;
    let answer = send(post(&off, None, &json!([one]).to_string())).await;
    assert_eq!(answer.status, 400);
    assert_eq!(
        answer.body["errors"][0]["extensions"]["code"],
        "BATCHING_DISABLED"
    );
}

fn sha256_hex(text: &str) -> String {
    pwreset::domain::digest(text)
}

#[tokio::test]
async fn automatic_persisted_queries_miss_then_register_then_hit_over_get() {
    let app = TestApp::spawn().await;
    let query = "query Count { customers { totalCount } }";
    let hash = sha256_hex(query);
    let extensions = json!({ "persistedQuery": { "version": 1, "sha256Hash": hash } });

    let miss = send(post(
        &app,
        None,
        &json!({ "extensions": extensions }).to_string(),
    ))
    .await;
    assert_eq!(miss.status, 200);
    assert_eq!(miss.body["errors"][0]["message"], "PersistedQueryNotFound");
    assert_eq!(
        miss.body["errors"][0]["extensions"]["code"],
        "PERSISTED_QUERY_NOT_FOUND"
    );

    let register = send(post(
        &app,
        None,
        &json!({ "query": query, "extensions": extensions }).to_string(),
    ))
    .await;
    assert_eq!(register.body["data"]["customers"]["totalCount"], 0);

    let hit = send(
        reqwest::Client::new()
            .get(app.url())
            .bearer_auth(&app.integration)
            .query(&[
                ("extensions", extensions.to_string()),
                ("operationName", "Count".into()),
            ]),
    )
    .await;
    assert_eq!(hit.status, 200, "{}", hit.body);
    assert_eq!(hit.body["data"]["customers"]["totalCount"], 0);

    let wrong = json!({ "query": "{ __typename }", "extensions": extensions });
    let answer = send(post(&app, None, &wrong.to_string())).await;
    assert_eq!(answer.status, 400);
    assert_eq!(
        answer.body["errors"][0]["extensions"]["code"],
        "PERSISTED_QUERY_INVALID"
    );

    // A persisted mutation still may not run over GET.
    let mutation =
        r#"mutation { createCustomer(input: { email: "apq@example.com" }) { customer { id } } }"#;
    let m_ext = json!({ "persistedQuery": { "version": 1, "sha256Hash": sha256_hex(mutation) } });
    send(post(
        &app,
        None,
        &json!({ "query": "{ __typename }", "extensions": m_ext }).to_string(),
    ))
    .await;
    let answer = send(post(
        &app,
        None,
        &json!({ "query": mutation, "extensions": m_ext }).to_string(),
    ))
    .await;
    assert_eq!(answer.status, 200);
    let replay = send(
        reqwest::Client::new()
            .get(app.url())
            .bearer_auth(&app.integration)
            .query(&[("extensions", m_ext.to_string())]),
    )
    .await;
    assert_eq!(replay.status, 405);
    assert_eq!(app.customer_count().await, 1);
}

#[tokio::test]
async fn graphiql_loads_everything_from_this_server() {
    let app = TestApp::spawn().await;
    let client = reqwest::Client::new();
    let page = client
        .get(app.url())
        .header("accept", "text/html,application/xhtml+xml,*/*;q=0.8")
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    assert!(
        page.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let headers = page.headers().clone();
    let html = page.text().await.unwrap();
    assert!(
        !html.contains("https://") && !html.contains("http://"),
        "no external URL in the page"
    );
    // Code from this server only, no framing, no inline script.
    let policy = headers["content-security-policy"].to_str().unwrap();
    for rule in [
        "default-src 'none'",
        "script-src 'self'",
        "connect-src 'self'",
        "frame-ancestors 'none'",
    ] {
        assert!(policy.contains(rule), "{policy}");
    }
    assert_eq!(headers["x-frame-options"], "DENY");
    assert!(!html.contains("<script>"), "no inline script");
    let mut assets = 0;
    let mut code = String::new();
    for src in html
        .split(['"', '\''])
        .filter(|s| s.starts_with("/graphiql/"))
    {
        let asset = client
            .get(format!("http://{}{src}", app.addr))
            .send()
            .await
            .unwrap();
        assert_eq!(asset.status(), 200, "{src}");
        let content_type = asset.headers()["content-type"].to_str().unwrap().to_owned();
        assert!(
            content_type.starts_with("text/javascript") || content_type.starts_with("text/css"),
            "{src}"
        );
        let text = asset.text().await.unwrap();
        assert!(text.len() > 400, "{src}");
        code.push_str(&text);
        assets += 1;
    }
    assert_eq!(
        assets, 5,
        "styles, React, ReactDOM, GraphiQL and its start-up"
    );
    assert!(
        code.contains("Authorization") && code.contains("shouldPersistHeaders: false"),
        "the headers editor offers an Authorization template, kept out of storage"
    );
    let missing = client
        .get(format!("http://{}/graphiql/3.9.0/nope.js", app.addr))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);

    let elsewhere = TestApp::spawn_with(Options::with_http(pwreset::HttpSettings {
        graphiql_assets_url: Some("https://assets.example.com/graphiql".into()),
        ..Default::default()
    }))
    .await;
    let html = client
        .get(elsewhere.url())
        .header("accept", "text/html")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("https://assets.example.com/graphiql/graphiql.min.js"));
}

#[tokio::test]
async fn graphiql_can_be_turned_off() {
    let app = TestApp::spawn_with(Options::with_http(pwreset::HttpSettings {
        graphiql: false,
        ..Default::default()
    }))
    .await;
    let page = reqwest::Client::new()
        .get(app.url())
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    assert_ne!(page.status(), 200);
    assert!(!page.text().await.unwrap().contains("graphiql.min.js"));
    let asset = reqwest::get(format!(
        "http://{}/graphiql/3.9.0/graphiql.min.js",
        app.addr
    ))
    .await
    .unwrap();
    assert_eq!(asset.status(), 404);
}
