//! An SMTP server inside the test, on 127.0.0.1: it speaks enough SMTP over
//! real TCP for the server's mail client to hand it messages, keeps every
//! message it accepts, and can be told to refuse service (421) to play a
//! mail server that is down. [`SmtpSink::start_tls`] speaks it inside TLS
//! from the first byte (`smtps://`).

use std::{
    net::SocketAddr,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
};

use tokio::{
    io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader},
    net::TcpListener,
};
use tokio_rustls::TlsAcceptor;

/// One message the sink accepted.
#[derive(Debug, Clone)]
pub struct Received {
    /// `MAIL FROM`.
    pub from: String,
    /// Every `RCPT TO`.
    pub to: Vec<String>,
    /// The message as sent, dot-stuffing undone.
    pub data: Vec<u8>,
}

impl Received {
    fn parsed(&self) -> mailparse::ParsedMail<'_> {
        mailparse::parse_mail(&self.data).expect("a well-formed message")
    }

    /// A header, decoded.
    pub fn header(&self, name: &str) -> String {
        use mailparse::MailHeaderMap;
        self.parsed()
            .get_headers()
            .get_first_value(name)
            .unwrap_or_default()
    }

    /// The body of the part of type `mime` (`text/plain`, `text/html`), decoded.
    pub fn body(&self, mime: &str) -> String {
        fn find(part: &mailparse::ParsedMail<'_>, mime: &str) -> Option<String> {
            if part.ctype.mimetype == mime {
                return part.get_body().ok();
            }
            part.subparts.iter().find_map(|p| find(p, mime))
        }
        find(&self.parsed(), mime).unwrap_or_default()
    }

    /// The first http(s) link of the plain-text body.
    pub fn link(&self) -> String {
        self.body("text/plain")
            .split_whitespace()
            .find(|w| w.starts_with("http://") || w.starts_with("https://"))
            .expect("the email holds a link")
            .to_owned()
    }

    /// The one-time code of the plain-text body: its only line of digits alone.
    pub fn code(&self) -> Option<String> {
        self.body("text/plain")
            .lines()
            .map(str::trim)
            .find(|l| l.len() >= 6 && l.bytes().all(|b| b.is_ascii_digit()))
            .map(str::to_owned)
    }

    /// The `token` parameter of [`Received::link`]: in its query, or in its
    /// fragment (`#token=…`).
    pub fn token(&self) -> String {
        let link = url::Url::parse(&self.link()).unwrap();
        let fragment = link.fragment().unwrap_or_default().to_owned();
        link.query_pairs()
            .chain(url::form_urlencoded::parse(fragment.as_bytes()))
            .find(|(k, _)| k == "token")
            .map(|(_, v)| v.into_owned())
            .expect("the link carries a token")
    }
}

/// The sink.
pub struct SmtpSink {
    pub addr: SocketAddr,
    messages: Arc<Mutex<Vec<Received>>>,
    down: Arc<AtomicBool>,
    mute: Arc<AtomicBool>,
    held: Arc<tokio::sync::Notify>,
    tls: bool,
}

impl SmtpSink {
    /// Starts a sink on a free port.
    pub async fn start() -> Self {
        Self::start_with(None).await
    }

    /// Starts a sink that speaks only TLS (`smtps://`, as `localhost`),
    /// through `acceptor`.
    pub async fn start_tls(acceptor: TlsAcceptor) -> Self {
        Self::start_with(Some(acceptor)).await
    }

    async fn start_with(acceptor: Option<TlsAcceptor>) -> Self {
        let tls = acceptor.is_some();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let messages: Arc<Mutex<Vec<Received>>> = Arc::default();
        let down = Arc::new(AtomicBool::new(false));
        let mute = Arc::new(AtomicBool::new(false));
        let held = Arc::new(tokio::sync::Notify::new());
        let (kept, refusing) = (messages.clone(), down.clone());
        let (silent, holding) = (mute.clone(), held.clone());
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                if silent.load(Ordering::SeqCst) {
                    holding.notify_one();
                    // Never a greeting: held open until the client goes away.
                    tokio::spawn(async move {
                        let _ = tokio::io::copy(&mut stream, &mut tokio::io::sink()).await;
                    });
                    continue;
                }
                let (kept, refusing) = (kept.clone(), refusing.clone());
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    let down = refusing.load(Ordering::SeqCst);
                    let _ = match acceptor {
                        Some(acceptor) => match acceptor.accept(stream).await {
                            Ok(stream) => converse(stream, kept, down).await,
                            // A client that refused the certificate.
                            Err(_) => Ok(()),
                        },
                        None => converse(stream, kept, down).await,
                    };
                });
            }
        });
        Self {
            addr,
            messages,
            down,
            mute,
            held,
            tls,
        }
    }

    /// While `mute`, every connection is taken and never answered, as a
    /// server that hangs.
    pub fn set_mute(&self, mute: bool) {
        self.mute.store(mute, Ordering::SeqCst);
    }

    /// Returns once a connection was taken while mute.
    pub async fn a_connection_hangs(&self) {
        self.held.notified().await;
    }

    /// The URL the server sends through: no TLS, or TLS to `localhost`
    /// (the name its certificate carries).
    pub fn url(&self) -> String {
        if self.tls {
            format!("smtps://localhost:{}", self.addr.port())
        } else {
            format!("smtp://{}?tls=none", self.addr)
        }
    }

    /// Every message accepted so far.
    pub fn messages(&self) -> Vec<Received> {
        self.messages.lock().unwrap().clone()
    }

    /// While `down`, every connection is answered 421 and closed.
    pub fn set_down(&self, down: bool) {
        self.down.store(down, Ordering::SeqCst);
    }
}

/// One SMTP conversation.
async fn converse(
    stream: impl AsyncRead + AsyncWrite + Unpin,
    kept: Arc<Mutex<Vec<Received>>>,
    down: bool,
) -> std::io::Result<()> {
    let (read, mut write) = tokio::io::split(stream);
    let mut lines = BufReader::new(read);
    if down {
        write.write_all(b"421 4.3.2 the sink is down\r\n").await?;
        return Ok(());
    }
    write.write_all(b"220 sink ESMTP\r\n").await?;
    let mut message = Received {
        from: String::new(),
        to: Vec::new(),
        data: Vec::new(),
    };
    let mut line = String::new();
    loop {
        line.clear();
        if lines.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let command = line.trim_end().to_owned();
        let upper = command.to_ascii_uppercase();
        let reply: &[u8] = if upper.starts_with("EHLO") || upper.starts_with("HELO") {
            b"250-sink\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n"
        } else if let Some(from) = upper.strip_prefix("MAIL FROM:") {
            message.from = command[command.len() - from.len()..].trim().to_owned();
            b"250 ok\r\n"
        } else if let Some(to) = upper.strip_prefix("RCPT TO:") {
            if to.contains("<GONE@") {
                // A mailbox that no longer exists: refused for good.
                b"550 5.1.1 no such mailbox\r\n"
            } else {
                message
                    .to
                    .push(command[command.len() - to.len()..].trim().to_owned());
                b"250 ok\r\n"
            }
        } else if upper == "DATA" {
            write.write_all(b"354 go on\r\n").await?;
            let mut data = Vec::new();
            loop {
                line.clear();
                if lines.read_line(&mut line).await? == 0 {
                    return Ok(());
                }
                if line == ".\r\n" || line == ".\n" {
                    break;
                }
                let unstuffed = line.strip_prefix('.').unwrap_or(&line);
                data.extend_from_slice(unstuffed.as_bytes());
            }
            message.data = data;
            kept.lock().unwrap().push(message.clone());
            b"250 queued\r\n"
        } else if upper == "QUIT" {
            write.write_all(b"221 bye\r\n").await?;
            return Ok(());
        } else if upper == "RSET" || upper == "NOOP" {
            b"250 ok\r\n"
        } else {
            b"502 not implemented\r\n"
        };
        write.write_all(reply).await?;
    }
}
