//! Graceful shutdown (issue 19): on the stop signal the server accepts nothing more, lets the
//! requests in flight finish, then returns — within a grace period, so a stalled client cannot
//! hold a deploy. Real TLS on loopback (the `huoti serve` process test sends a real SIGTERM:
//! `crates/huoti/tests/graceful_shutdown.rs`).

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::routing::get;
use huoti_server::serve::{ensure_certificate, server_config, serve_tls_until};
use tokio::net::TcpListener;
use tokio::sync::{Notify, oneshot};

struct Running {
    url: String,
    addr: std::net::SocketAddr,
    agent: ureq::Agent,
    entered: Arc<Notify>,
    stop: oneshot::Sender<()>,
    server: tokio::task::JoinHandle<Result<(), huoti_server::ServerError>>,
    _dir: tempfile::TempDir,
}

/// A TLS server whose `/slow` route takes `handler_ms`, stopping `grace` after its signal.
async fn start(handler_ms: u64, grace: Duration) -> Running {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = ensure_certificate(dir.path(), None, None).unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let entered = Arc::new(Notify::new());
    let signal = entered.clone();
    let app = Router::new().route(
        "/slow",
        get(move || async move {
            signal.notify_one();
            tokio::time::sleep(Duration::from_millis(handler_ms)).await;
            "finished"
        }),
    );
    let (stop, stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(serve_tls_until(listener, server_config(&cert, &key).unwrap(), app, async move { stopped.await.unwrap_or(()) }, grace));
    Running { url: format!("https://localhost:{}/slow", addr.port()), addr, agent: huoti_assets::testing::tls_agent(&cert), entered, stop, server, _dir: dir }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stop_signal_lets_requests_in_flight_finish_and_refuses_new_connections() {
    let r = start(1500, Duration::from_secs(20)).await;
    let (agent, url) = (r.agent.clone(), r.url.clone());
    let client = tokio::task::spawn_blocking(move || {
        let mut res = agent.get(&url).call().expect("an answer, not a reset");
        (res.status().as_u16(), res.body_mut().read_to_string().unwrap())
    });
    r.entered.notified().await;
    let signalled = Instant::now();
    r.stop.send(()).unwrap();
    let (status, body) = client.await.unwrap();
    assert_eq!((status, body.as_str()), (200, "finished"), "the request in flight was served");
    tokio::time::timeout(Duration::from_secs(10), r.server).await.expect("the server returns").unwrap().unwrap();
    assert!(signalled.elapsed() >= Duration::from_millis(1000), "it waited for the request");
    assert!(std::net::TcpStream::connect(r.addr).is_err(), "no new connections after the signal");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_stalled_past_the_grace_period_does_not_hold_the_shutdown() {
    let r = start(60_000, Duration::from_millis(500)).await;
    let (agent, url) = (r.agent.clone(), r.url.clone());
    let _client = tokio::task::spawn_blocking(move || agent.get(&url).call().map(|r| r.status().as_u16()));
    r.entered.notified().await;
    let signalled = Instant::now();
    r.stop.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(10), r.server).await.expect("the server returns after its grace").unwrap().unwrap();
    assert!(signalled.elapsed() < Duration::from_secs(5), "{:?}", signalled.elapsed());
}
