//! # huoti-server: the liveness verification service
//!
//! An HTTPS service (axum on tokio, rustls) that runs liveness sessions end to end (policy C3:
//! what the SDK captured is uploaded, and the backend's AI judges whether a real, live person
//! was present):
//!
//! 1. the integrator's backend creates a session with its API key and gets a session id, a
//!    client token and a fresh random challenge bound to a nonce (TTL 180 s, single use);
//! 2. the capture client uploads JPEG frames with sequence numbers, capture times and the
//!    nonce — and device info only if the person allowed it (P2) — under per-frame size,
//!    per-session count and per-session rate limits; bodies are read with a hard limit,
//!    never buffered without bound;
//! 3. each frame is measured as it arrives ([`analysis`]: the vision engine's tracker steps on
//!    the image the upload decoded anyway); `complete` then only runs the passive anti-spoof
//!    models on a few chosen frames and `huoti_liveness::analyse`, stores the verdict, and
//!    **deletes the frames and their data key** (L2: no images kept without separate consent);
//!    the client learns pass/fail only, unless configured otherwise;
//! 4. the backend fetches the verdict signed as a compact Ed25519 JWS; keys at `/v1/keys`.
//!
//! Errors are RFC 9457 problem details with stable codes ([`huoti_api::ErrorCode`], mapped by
//! the single [`AppError`]). `/v1/openapi.json` (OpenAPI 3.1) is generated from the handlers;
//! `/healthz`, `/readyz` and `/metrics` (Prometheus text) serve operators. `docs/API.md`
//! describes the flow and every code.
//!
//! ## Storage and keys
//!
//! * Relational data through sqlx's `Any` driver: SQLite (default, a file in the data
//!   directory) or PostgreSQL, with the same embedded migrations ([`store`]).
//! * Frames are sealed with a per-session (per-subject) AES-256-GCM data key, wrapped by a
//!   key-encryption key in `<data_dir>/kek.json` (mode 0600), before they reach the blob
//!   store ([`blobs`]); the [`blobs::BlobStore`] trait lets an object store replace the
//!   directory.
//! * The verdict signing key is `<data_dir>/signing-ed25519.key` (0600); the self-signed TLS
//!   certificate, when none is configured, is `<data_dir>/tls/`.
//!
//! ## Privacy operations
//!
//! * [`retention`]: the scheduled job (S1, S5, L2) that deletes frames and device info when
//!   due and anonymises verdicts after their legal minimum, claiming rows so that several
//!   nodes can run it; `huoti admin retention run`.
//! * [`sealing`]: key domains and KEK rotation without rewriting blobs (S2).
//! * [`incidents`]: incident records, the notice outbox and its senders (S3).
//! * [`disclosure`]: the disclosure ledger (D1–D6).
//! * [`winddown`] (S6) and data residency ([`ops_config::ResidencyConfig`], S1).
//!
//! ## Abuse control
//!
//! A session that does not end `live` counts as a failure of its `correlation_id`; after
//! `abuse.max_failures` (5) failures within `abuse.window_s` (180 s), new sessions for it are
//! refused with `too_many_failures` and `Retry-After` ([`clock::lock_remaining_s`]). Frames
//! are rate-limited per session with a token bucket. Time comes from an injectable
//! [`Clock`], so tests are exact.
//!
//! ## What it deliberately does not do
//!
//! * **No vision maths and no decision logic**: measuring is `huoti-vision`'s job, deciding is
//!   `huoti-liveness`'s. This crate moves bytes, keeps state, and signs.
//! * **No identity in the biometric store**: a session's subject is pseudonymous (the
//!   integrator's `subject_ref`, or the session alone). Identity data an integrator sends lives
//!   in its own table under its own key domain ([`identity`], L3); device info is sealed too
//!   ([`devices`]). The consent ledger, staff roles, audit log, rights requests and training
//!   samples are wired in [`privacy`].
//! * **No fixed challenges in production**: an explicit challenge is refused
//!   (`test_mode_disabled`) unless the server was started with `test_mode`.
//! * **No secrets or face data in logs or metrics**: keys and tokens are stored as hashes,
//!   compared in constant time, and never logged.
//!
//! ```no_run
//! # async fn run() -> Result<(), huoti_server::ServerError> {
//! let mut config = huoti_server::ServerConfig::default();
//! config.apply_env(std::env::vars())?;
//! huoti_server::serve(config, huoti_server::ServeOptions { dev_key: true }).await
//! # }
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod analysis;
pub mod api;
pub mod blobs;
pub mod clock;
pub mod config;
pub mod cors;
pub mod devices;
pub mod disclosure;
mod error;
pub mod identity;
pub mod incidents;
pub mod kek;
pub mod metrics;
pub mod pages;
pub mod ops_config;
pub mod privacy;
pub mod retention;
pub mod sealing;
pub mod signing;
mod staff;
pub mod store;
#[doc(hidden)]
pub mod testkit;
pub mod tls;
pub mod winddown;

use std::sync::{Arc, Mutex};

pub use api::{AppState, create_integrator, router};
pub use clock::{Clock, ManualClock, SystemClock};
pub use config::ServerConfig;
pub use error::{AppError, ServerError};

/// Start-up options that are not configuration.
#[derive(Debug, Clone, Copy, Default)]
pub struct ServeOptions {
    /// Create a demo integrator (once per data directory) and print its API key on stdout as
    /// `HUOTI_DEV_API_KEY=…`.
    pub dev_key: bool,
}

/// Builds the shared state: data directory, database (migrated), vault, signing key.
/// `engine` is `None` only in tests that do not analyse.
pub async fn build_state(
    config: ServerConfig,
    clock: Arc<dyn Clock>,
    engine: Option<Arc<analysis::Engine>>,
) -> Result<Arc<AppState>, ServerError> {
    config.validate()?;
    let dir = &config.data_dir;
    std::fs::create_dir_all(dir).map_err(ServerError::io(format!("creating {}", dir.display())))?;
    let db = store::Db::connect(&config.database_url()).await?;
    privacy::policy::seed(&db, clock.now_ms()).await?;
    let blob_store = blobs::DirBlobStore::new(&dir.join("blobs"))?;
    let vault = blobs::FrameVault::open(&dir.join("kek.json"), Box::new(blob_store))?;
    let signer = signing::Signer::load_or_create(&dir.join("signing-ed25519.key"))?;
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    Ok(Arc::new(AppState {
        config: Arc::new(config),
        db,
        vault: Arc::new(vault),
        engine,
        clock,
        signer: Arc::new(signer),
        rate: Default::default(),
        seen: Mutex::new(Default::default()),
        live: Default::default(),
        analysis_slots: tokio::sync::Semaphore::new(cores),
    }))
}

/// The whole HTTP application: the API ([`router`]), the SDK bundle and pages ([`pages`]),
/// CORS for the API ([`cors`]) and `nosniff` on every response. `demo_key` (dev mode only)
/// turns `/demo` on.
pub fn app(state: Arc<AppState>, demo_key: Option<String>) -> axum::Router {
    let cors = Arc::new(state.config.cors.clone());
    router(state.clone())
        .merge(pages::router(state, demo_key))
        .layer(axum::middleware::from_fn_with_state(cors, cors::layer))
        .layer(axum::middleware::map_response(|mut res: axum::response::Response| async move {
            res.headers_mut()
                .insert(axum::http::header::X_CONTENT_TYPE_OPTIONS, axum::http::HeaderValue::from_static("nosniff"));
            res
        }))
}

/// Runs the server until the process is stopped: loads the models (a clear error when they
/// are missing), opens the stores, binds, prints `huoti serving on https://ADDR` and serves.
pub async fn serve(config: ServerConfig, options: ServeOptions) -> Result<(), ServerError> {
    config.validate()?;
    let model_dir = config.model_dir.clone();
    let engine = tokio::task::spawn_blocking(move || analysis::Engine::load(&model_dir))
        .await
        .map_err(|e| ServerError::Models(e.to_string()))??;
    let state = build_state(config, Arc::new(SystemClock), Some(Arc::new(engine))).await?;
    let config = state.config.clone();
    let mut demo_key = None;
    if options.dev_key {
        if state.db.integrator_named("dev").await? {
            println!("dev integrator already exists in {} (its key was printed when it was made)", config.data_dir.display());
        } else {
            let key = create_integrator(&state.db, "dev", state.clock.now_ms()).await?;
            println!("HUOTI_DEV_API_KEY={key}");
        }
        // The /demo page's integrator: a fresh key each start, held in memory only (the
        // database keeps its hash, like every key), never printed or sent to the page.
        demo_key = Some(create_integrator(&state.db, "demo", state.clock.now_ms()).await?);
    }
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(ServerError::io(format!("binding {}", config.listen)))?;
    let addr = listener.local_addr().map_err(ServerError::io("local address"))?;
    let janitor = state.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(15));
        loop {
            tick.tick().await;
            janitor.janitor_pass().await;
        }
    });
    let interval_s = state.config.retention.interval_s;
    if interval_s > 0 {
        // S1/S5/L2: the retention job; safe on several nodes (rows are claimed).
        let job = state.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(std::time::Duration::from_secs(interval_s));
            loop {
                tick.tick().await;
                match retention::run(&job, false).await {
                    Ok(r) => tracing::info!(sessions = r.processed.len(), failed = r.failed, "retention run"),
                    Err(e) => tracing::warn!(error = %e, "retention run failed"),
                }
            }
        });
    }
    let dev = demo_key.is_some();
    let app = app(state.clone(), demo_key);
    let demo_url = |scheme: &str| if dev { format!("; demo page {scheme}://{addr}/demo") } else { String::new() };
    if config.tls.enabled {
        let (cert, key) = tls::ensure_certificate(&config.data_dir, config.tls.cert.as_deref(), config.tls.key.as_deref())?;
        let tls_config = tls::server_config(&cert, &key)?;
        println!("huoti serving on https://{addr} (certificate {}){}", cert.display(), demo_url("https"));
        tls::serve_tls(listener, tls_config, app).await
    } else {
        println!("huoti serving on http://{addr} (TLS disabled: put a TLS proxy in front){}", demo_url("http"));
        axum::serve(listener, app).await.map_err(ServerError::io("serving"))
    }
}
