//! Serving an assembled application: the listener, HTTPS with rustls (ring provider) — a
//! configured certificate or a self-signed one made on first run — and the accept loop that
//! hands each TLS connection to hyper; or plain HTTP behind a TLS-terminating proxy. On
//! SIGTERM or Ctrl-C it stops accepting and lets the requests in flight finish before the
//! process exits (a deploy or a scale-in drops no upload and no `complete` half-way).
//! (Leaf module: it names no feature.)

use std::future::{Future, IntoFuture};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

use crate::error::ServerError;
use crate::config::ServerConfig;
use crate::signing::write_private;

/// The certificate and key paths in use, making a self-signed pair in `data_dir/tls/` when
/// none is configured and none exists yet.
pub fn ensure_certificate(data_dir: &Path, cert: Option<&Path>, key: Option<&Path>) -> Result<(PathBuf, PathBuf), ServerError> {
    if let (Some(c), Some(k)) = (cert, key) {
        return Ok((c.to_path_buf(), k.to_path_buf()));
    }
    let dir = data_dir.join("tls");
    let (c, k) = (dir.join("cert.pem"), dir.join("key.pem"));
    if c.exists() && k.exists() {
        return Ok((c, k));
    }
    std::fs::create_dir_all(&dir).map_err(ServerError::io(format!("creating {}", dir.display())))?;
    let names = vec!["localhost".to_string(), "127.0.0.1".to_string(), "::1".to_string()];
    let made = rcgen::generate_simple_self_signed(names).map_err(|e| ServerError::Tls(e.into()))?;
    let _ = std::fs::remove_file(&k);
    write_private(&k, made.signing_key.serialize_pem().as_bytes()).map_err(ServerError::io(format!("writing {}", k.display())))?;
    std::fs::write(&c, made.cert.pem()).map_err(ServerError::io(format!("writing {}", c.display())))?;
    tracing::info!(cert = %c.display(), "made a self-signed TLS certificate");
    Ok((c, k))
}

/// A rustls server configuration (HTTP/2 and HTTP/1.1 by ALPN).
pub fn server_config(cert: &Path, key: &Path) -> Result<Arc<rustls::ServerConfig>, ServerError> {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .and_then(|it| it.collect::<Result<Vec<_>, _>>())
        .map_err(|e| ServerError::Tls(format!("{}: {e}", cert.display()).into()))?;
    if certs.is_empty() {
        return Err(ServerError::Tls(format!("{}: no certificate", cert.display()).into()));
    }
    let key = PrivateKeyDer::from_pem_file(key).map_err(|e| ServerError::Tls(format!("{}: {e}", key.display()).into()))?;
    let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .map_err(|e| ServerError::Tls(e.into()))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| ServerError::Tls(e.into()))?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// Serves `app` over TLS on `listener` until the process ends.
pub async fn serve_tls(listener: TcpListener, config: Arc<rustls::ServerConfig>, app: Router) -> Result<(), ServerError> {
    serve_tls_until(listener, config, app, std::future::pending(), Duration::MAX).await
}

/// Serves `app` over TLS on `listener` until `shutdown` resolves; then accepts nothing more,
/// lets every request in flight finish (for at most `grace`: a client that stalls cannot hold
/// the process), closes idle connections, and returns. HTTP/2 clients are told by a GOAWAY
/// which of their streams were served.
pub async fn serve_tls_until(
    listener: TcpListener,
    config: Arc<rustls::ServerConfig>,
    app: Router,
    shutdown: impl Future<Output = ()>,
    grace: Duration,
) -> Result<(), ServerError> {
    let acceptor = TlsAcceptor::from(config);
    let graceful = GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        let (tcp, _peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(c) => c,
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let acceptor = acceptor.clone();
        let app = app.clone();
        // Taken now: a connection still in its handshake when the shutdown starts is
        // closed gracefully as soon as it is served.
        let watcher = graceful.watcher();
        tokio::spawn(async move {
            let tls = match tokio::time::timeout(Duration::from_secs(10), acceptor.accept(tcp)).await {
                Ok(Ok(tls)) => tls,
                _ => return, // failed or slow handshakes are dropped quietly
            };
            let service = TowerToHyperService::new(app);
            let mut builder = Builder::new(TokioExecutor::new());
            builder.http1().timer(hyper_util::rt::TokioTimer::new()).header_read_timeout(Duration::from_secs(10));
            let connection = builder.serve_connection(TokioIo::new(tls), service).into_owned();
            if let Err(e) = watcher.watch(connection).await {
                tracing::debug!(error = %e, "connection ended with an error");
            }
        });
    }
    drop(listener);
    let open = graceful.count();
    tracing::info!(connections = open, "shutting down: no new connections; finishing requests in flight");
    match tokio::time::timeout(grace, graceful.shutdown()).await {
        Ok(()) => tracing::info!("every request in flight finished"),
        Err(_) => tracing::warn!(grace_s = grace.as_secs(), "requests still running after the grace period were cut off"),
    }
    Ok(())
}

/// Resolves on SIGTERM (what `systemctl stop`, Kubernetes and `docker stop` send) or Ctrl-C.
pub async fn termination() {
    #[cfg(unix)]
    {
        let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGTERM; Ctrl-C only");
                let _ = tokio::signal::ctrl_c().await;
                return;
            }
        };
        tokio::select! {
            _ = term.recv() => {}
            _ = tokio::signal::ctrl_c() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// Binds `config.listen`.
pub async fn bind(config: &ServerConfig) -> Result<TcpListener, ServerError> {
    TcpListener::bind(config.listen).await.map_err(ServerError::io(format!("binding {}", config.listen)))
}

/// Prints `huoti serving on …` (with the demo page's address when `demo` is on) and serves
/// `app` on `listener` until SIGTERM or Ctrl-C ([`termination`]): HTTPS unless TLS is
/// disabled. On the signal it stops accepting, finishes the requests in flight (at most
/// `limits.shutdown_grace_s`), prints `huoti stopped` and returns.
pub async fn listen(config: &ServerConfig, listener: TcpListener, app: Router, demo: bool) -> Result<(), ServerError> {
    let addr = listener.local_addr().map_err(ServerError::io("local address"))?;
    let demo_url = |scheme: &str| if demo { format!("; demo page {scheme}://{addr}/demo") } else { String::new() };
    let grace = Duration::from_secs(config.limits.shutdown_grace_s);
    if config.tls.enabled {
        let (cert, key) = ensure_certificate(&config.data_dir, config.tls.cert.as_deref(), config.tls.key.as_deref())?;
        let tls_config = server_config(&cert, &key)?;
        println!("huoti serving on https://{addr} (certificate {}){}", cert.display(), demo_url("https"));
        serve_tls_until(listener, tls_config, app, termination(), grace).await?;
    } else {
        println!("huoti serving on http://{addr} (TLS disabled: put a TLS proxy in front){}", demo_url("http"));
        let (stopping_tx, stopping) = tokio::sync::oneshot::channel::<()>();
        let served = axum::serve(listener, app).with_graceful_shutdown(async move {
            termination().await;
            let _ = stopping_tx.send(());
        });
        let served = served.into_future();
        tokio::pin!(served);
        tokio::select! {
            r = &mut served => r.map_err(ServerError::io("serving"))?,
            _ = stopping => {
                if tokio::time::timeout(grace, served).await.is_err() {
                    tracing::warn!(grace_s = grace.as_secs(), "requests still running after the grace period were cut off");
                }
            }
        }
    }
    println!("huoti stopped");
    Ok(())
}
