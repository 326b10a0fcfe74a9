//! Connections a client cannot hold: the request head must arrive in time,
//! open connections are capped, and a shutdown turns readiness off at once
//! and drains for a bounded time.

use std::{sync::Arc, time::Duration};

use pwreset::http::ConnectionLimits;
use serde_json::json;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

use crate::helpers::{Options, TestApp};

fn limits(header_read_timeout: Duration, max_connections: usize) -> Options {
    let mut options = Options::default();
    options.http.connections = ConnectionLimits {
        header_read_timeout,
        max_connections,
        ..ConnectionLimits::default()
    };
    options
}

/// Sends a request head one byte at a time, `every` apart, as a slowloris
/// client does; true when the server closes the connection before the head
/// is complete, false when `give_up` passes first.
async fn trickle(addr: std::net::SocketAddr, every: Duration, give_up: Duration) -> bool {
    let Ok(mut stream) = TcpStream::connect(addr).await else {
        return false;
    };
    let head = b"GET /healthz HTTP/1.1\r\nhost: slow\r\nx-slow: 1\r\n\r\n";
    let deadline = tokio::time::Instant::now() + give_up;
    let mut buf = [0u8; 64];
    for byte in head.iter().take(head.len() - 4) {
        if stream.write_all(&[*byte]).await.is_err() {
            return true;
        }
        tokio::select! {
            // The head is never complete: anything read means the server gave
            // up on it (closed, or answered with an error and closed).
            _ = stream.read(&mut buf) => return true,
            () = tokio::time::sleep(every) => {}
            () = tokio::time::sleep_until(deadline) => return false,
        }
    }
    false
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn slow_clients_cannot_hold_the_server() {
    let app = Arc::new(TestApp::spawn_with(limits(Duration::from_secs(1), 2_000)).await);
    let slow: Vec<_> = (0..500)
        .map(|_| {
            let addr = app.addr;
            tokio::spawn(trickle(
                addr,
                Duration::from_millis(250),
                Duration::from_secs(20),
            ))
        })
        .collect();
    // Meanwhile a normal client is answered.
    let body = app
        .gql(
            Some(&app.integration),
            "{ customers { totalCount } }",
            json!({}),
        )
        .await;
    assert_eq!(body["data"]["customers"]["totalCount"], 0);
    let mut closed = 0;
    for connection in slow {
        closed += usize::from(connection.await.unwrap());
    }
    assert_eq!(
        closed, 500,
        "every slow connection is closed after the header timeout"
    );

    // An idle keep-alive connection is closed after the same time.
    let mut idle = TcpStream::connect(app.addr).await.unwrap();
    idle.write_all(b"GET /healthz HTTP/1.1\r\nhost: idle\r\n\r\n")
        .await
        .unwrap();
    let mut answer = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(20), idle.read_to_end(&mut answer)).await;
    assert!(read.is_ok(), "the idle connection was closed");
    assert!(String::from_utf8_lossy(&answer).starts_with("HTTP/1.1 200"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn connections_over_the_cap_are_refused_clearly() {
    let app = TestApp::spawn_with(limits(Duration::from_secs(30), 3)).await;
    let mut held = Vec::new();
    for _ in 0..3 {
        held.push(TcpStream::connect(app.addr).await.unwrap());
    }
    // The fourth gets an answer it can act on, and the door closes.
    let mut fourth = TcpStream::connect(app.addr).await.unwrap();
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), fourth.read_to_end(&mut answer))
        .await
        .expect("answered at once")
        .unwrap();
    let answer = String::from_utf8(answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    assert!(answer.contains("retry-after: 1"), "{answer}");
    assert!(answer.contains("SERVICE_UNAVAILABLE"), "{answer}");

    // A slot frees when a connection closes.
    drop(held.pop());
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let response = reqwest::get(format!("http://{}/healthz", app.addr)).await;
        if response.is_ok_and(|r| r.status() == 200) {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "no slot freed");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn shutdown_turns_readiness_off_at_once_and_drains_for_a_bounded_time() {
    let mut options = Options::default();
    options.http.connections.drain_timeout = Duration::from_millis(300);
    let app = Arc::new(TestApp::spawn_with(options).await);
    app.create_customer("ada@example.com", None).await;
    let (_, token) = app.create_reset("ada@example.com").await;
    let ready = || reqwest::get(format!("http://{}/readyz", app.admin_addr));
    assert_eq!(ready().await.unwrap().status(), 200);

    let (held, release) = app.gate.arm("SET \"reset_password_at\"");
    let in_flight = {
        let app = app.clone();
        tokio::spawn(async move {
            let body = json!({ "query": "mutation($t: String!) { completeCustomerPasswordReset(input: { resetPasswordToken: $t, customerPassword: \"a brand new password\" }) { userErrors { code } } }", "variables": { "t": token } });
            app.client
                .post(app.url())
                .bearer_auth(&app.sales_channel)
                .json(&body)
                .send()
                .await
        })
    };
    tokio::task::spawn_blocking(move || held.recv_timeout(Duration::from_secs(30)))
        .await
        .unwrap()
        .expect("the request is in flight");

    app.shut_down();
    assert_eq!(ready().await.unwrap().status(), 503, "not ready at once");
    // The request never finishes: the server stops anyway, after the drain time.
    tokio::time::timeout(Duration::from_secs(20), app.stopped())
        .await
        .expect("stopped after the drain time");
    release.send(()).unwrap();
    let _ = in_flight.await;
}
