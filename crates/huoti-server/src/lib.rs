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
//! 3. each frame is measured as it arrives ([`models`]: the vision engine's tracker steps on
//!    the image the upload decoded anyway); `complete` then only runs the passive anti-spoof
//!    models on a few chosen frames and `huoti_liveness::analyse`, stores the verdict, and
//!    **deletes the frames and their data key** (L2: no images kept without separate consent;
//!    with it, they become the person's training images first); the client learns pass/fail
//!    only, unless configured otherwise. The node works under a lease on the session: if it
//!    dies mid-`complete`, the janitor of any node fails the session and erases its frames
//!    once the lease has run out (see docs/ARCHITECTURE.md, "Crashes, races and hostile
//!    orders");
//! 4. the backend fetches the verdict signed as a compact Ed25519 JWS; keys at `/v1/keys`.
//!
//! Errors are RFC 9457 problem details with stable codes ([`huoti_api::ErrorCode`], mapped by
//! the single [`AppError`]). `/v1/openapi.json` (OpenAPI 3.1) is generated from the handlers;
//! `/healthz`, `/readyz` and `/metrics` (Prometheus text, operator key) serve operators ([`meta`]).
//! `docs/API.md` describes the flow and every code.
//!
//! ## Layout
//!
//! One module per feature, each owning its routes, their OpenAPI paths (`Doc`) and their
//! access rules (`ACCESS`): [`sessions`], the [`privacy`] features, [`identity`], [`devices`],
//! [`disclosure`], [`incidents`], [`retention`], [`winddown`], [`meta`] and [`pages`].
//! [`app`](mod@app) is the only module that names them all. Below the features sit the leaf modules,
//! which never import a feature: [`state`], [`error`], [`http`] (body limits and credentials
//! as extractors), [`store`] (all SQL), [`vault`] (sealed storage and keys), [`models`],
//! [`config`], [`clock`], [`metrics`], [`signing`], [`serve`](mod@serve). `docs/ARCHITECTURE.md` has the
//! map and the order in which features may call each other.
//!
//! ## Storage and keys
//!
//! * Relational data through sqlx's `Any` driver: SQLite (default, a file in the data
//!   directory) or PostgreSQL, with the same embedded migrations ([`store`]).
//! * Frames are sealed with a per-session AES-256-GCM data key, wrapped by a key-encryption
//!   key in `<data_dir>/kek.json` (mode 0600), before they reach the blob store ([`vault`]);
//!   the [`vault::BlobStore`] trait lets an object store replace the directory.
//! * The verdict signing key is `<data_dir>/signing-ed25519.key` (0600); the self-signed TLS
//!   certificate, when none is configured, is `<data_dir>/tls/`.
//!
//! ## Privacy operations
//!
//! * [`retention`]: the scheduled job (S1, S5, L2) that deletes frames and device info when
//!   due and anonymises verdicts after their legal minimum, claiming rows so that several
//!   nodes can run it; `huoti admin retention run`.
//! * [`vault::sealing`]: key domains and KEK rotation without rewriting blobs (S2).
//! * [`incidents`]: incident records, the notice outbox and its senders (S3).
//! * [`disclosure`]: the disclosure ledger (D1–D6).
//! * [`winddown`] (S6) and data residency ([`config::ResidencyConfig`], S1).
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
//! * **No identity in the biometric store**: a session's subject (the person) is pseudonymous
//!   (the integrator's `subject_ref`, or the session alone). Identity data an integrator sends lives
//!   in its own table under its own key domain ([`identity`], L3); device info is sealed too
//!   ([`devices`]). The consent ledger, staff roles, audit log, rights requests and training
//!   samples are wired in [`privacy`].
//! * **No fixed challenges in production**: an explicit challenge is refused
//!   (`test_mode_disabled`) unless the server was started with `test_mode`.
//! * **No session without the light check outside test mode**: the server decides the light
//!   profile (reduced flash → the photosensitivity-safe one, never none); a challenge without
//!   a light step is refused at creation (`light_required`).
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

pub mod app;
pub mod calendar;
pub mod clock;
pub mod config;
pub mod devices;
pub mod disclosure;
pub mod error;
pub mod facematch;
pub mod http;
pub mod identity;
pub mod incidents;
pub mod jobs;
pub mod meta;
pub mod metrics;
pub mod models;
pub mod pages;
pub mod privacy;
pub mod retention;
pub mod serve;
pub mod sessions;
pub mod signing;
pub mod state;
pub mod store;
#[doc(hidden)]
pub mod testkit;
mod util;
pub mod vault;
pub mod winddown;

pub use app::{ROUTES, ServeOptions, app, build_state, router, serve};
pub use clock::{Clock, ManualClock, SystemClock};
pub use config::ServerConfig;
pub use error::{AppError, JobError, ServerError};
pub use http::auth::{create_api_key, create_expiring_api_key, create_integrator_key};
pub use models::Models;
pub use state::AppState;
