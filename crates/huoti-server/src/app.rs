//! The application: the only module that names every feature. It merges their routers, their
//! OpenAPI documents and their access tables, adds the layers every response passes (CORS for
//! the API, `nosniff`, the log of internal causes), and starts the server. Nothing imports this
//! module (the crate root only re-exports it).
//!
//! Adding a route touches one feature file: its handler, its `.route(…)` in the feature's
//! `router()`, its path in the feature's `Doc`, and its entry in the feature's `ACCESS`.

use std::sync::Arc;

use axum::Router;
use axum::http::HeaderValue;
use axum::response::Response;
use huoti_api::ErrorCode;
use utoipa::OpenApi;

use crate::clock::{Clock, SystemClock};
use crate::config::ServerConfig;
use crate::error::{AppError, InternalCause, ServerError};
use crate::http::auth::{Access, Route, SecuritySchemes, create_integrator_key};
use crate::http::{cors, panic};
use crate::models::Models;
use crate::privacy::{audit, consent, policy, rights, sampling};
use crate::state::AppState;
use crate::{disclosure, facematch, identity, incidents, jobs, meta, pages, serve as server, sessions};

/// Every feature's access table, in the order of the OpenAPI document.
const ACCESS_TABLES: &[&[Route]] = &[
    sessions::ACCESS,
    meta::ACCESS,
    policy::ACCESS,
    consent::ACCESS,
    audit::ACCESS,
    rights::ACCESS,
    sampling::ACCESS,
    pages::ACCESS,
    identity::ACCESS,
    disclosure::ACCESS,
    incidents::ACCESS,
    facematch::ACCESS,
];

const fn route_count(tables: &[&[Route]]) -> usize {
    let (mut n, mut i) = (0, 0);
    while i < tables.len() {
        n += tables[i].len();
        i += 1;
    }
    n
}

/// The tables one after the other (at compile time, so that [`ROUTES`] is a plain slice).
const fn concatenate<const N: usize>(tables: &[&[Route]]) -> [Route; N] {
    let mut out: [Route; N] = [("", "", Access::Public); N];
    let (mut k, mut i) = (0, 0);
    while i < tables.len() {
        let mut j = 0;
        while j < tables[i].len() {
            out[k] = tables[i][j];
            k += 1;
            j += 1;
        }
        i += 1;
    }
    out
}

/// Every route: method, path (as in the OpenAPI document) and access. The route × role matrix
/// test checks it against the document and walks it with every role.
pub static ROUTES: &[Route] = &concatenate::<{ route_count(ACCESS_TABLES) }>(ACCESS_TABLES);

/// What the document says besides its paths.
#[derive(OpenApi)]
#[openapi(
    info(title = "huoti liveness API", description = "Face liveness sessions: challenge, frames, verdict. See docs/API.md."),
    components(schemas(huoti_api::ErrorCode, huoti_api::Problem, huoti_api::Decision, huoti_api::Reason, huoti_api::CheckScore, huoti_api::ModelVersion, huoti_api::DeviceInfo, huoti_api::PolicyScope)),
    modifiers(&SecuritySchemes),
    tags((name = "sessions", description = "The liveness session flow"), (name = "keys", description = "Signature keys"), (name = "meta", description = "Health, metrics, schema"), (name = "privacy", description = "Policy, consent, rights, identity data, disclosures (POLICY.md)"), (name = "admin", description = "Staff: roles, audit, incidents, requests, samples"), (name = "web", description = "The web SDK bundle and the pages (demo, privacy, console)"), (name = "face match", description = "Face match (本人核验): a person's reference template, compared with live sessions"))
)]
struct ApiDoc;

/// The OpenAPI document (3.1) of the whole API, generated from every feature's handlers and the
/// huoti-api types (served at `/v1/openapi.json`).
pub fn openapi() -> utoipa::openapi::OpenApi {
    let mut doc = ApiDoc::openapi();
    for part in [
        sessions::Doc::openapi(),
        meta::Doc::openapi(),
        policy::Doc::openapi(),
        consent::Doc::openapi(),
        audit::Doc::openapi(),
        rights::Doc::openapi(),
        sampling::Doc::openapi(),
        pages::Doc::openapi(),
        identity::Doc::openapi(),
        disclosure::Doc::openapi(),
        incidents::Doc::openapi(),
        facematch::Doc::openapi(),
    ] {
        doc.merge(part);
    }
    doc
}

/// Every API route, with the `not_found` fallback.
fn api(state: Arc<AppState>) -> Router {
    Router::new()
        .merge(sessions::router())
        .merge(consent::router())
        .merge(policy::router())
        .merge(audit::router())
        .merge(rights::router())
        .merge(sampling::router())
        .merge(identity::router())
        .merge(disclosure::router())
        .merge(incidents::router())
        .merge(facematch::router())
        .merge(meta::router(openapi()))
        .fallback(|| async { AppError::new(ErrorCode::NotFound, "no such route") })
        .with_state(state)
}

/// Logs the cause of an `internal` answer, once, where every response passes (the cause never
/// reaches the client; see [`AppError::internal`]).
async fn log_internal_cause(res: Response) -> Response {
    if let Some(InternalCause(cause)) = res.extensions().get::<InternalCause>() {
        tracing::error!(error = %cause, "internal error");
    }
    res
}

/// The API: every route of every feature (no pages, no CORS); a handler's panic answers
/// `500 internal` ([`panic`]).
pub fn router(state: Arc<AppState>) -> Router {
    api(state).layer(axum::middleware::from_fn(panic::catch_panic)).layer(axum::middleware::map_response(log_internal_cause))
}

/// The whole HTTP application: the API ([`router`]), the SDK bundle and pages ([`pages`]),
/// CORS for the API ([`cors`]), `nosniff` on every response, and a panic in any handler
/// answered as `500 internal` ([`panic`]) rather than a dropped connection. `demo_key` (dev mode only)
/// turns `/demo` on.
pub fn app(state: Arc<AppState>, demo_key: Option<String>) -> Router {
    let cors = Arc::new(state.config.cors.clone());
    api(state.clone())
        .merge(pages::router(state, demo_key))
        .layer(axum::middleware::from_fn(panic::catch_panic))
        .layer(axum::middleware::map_response(log_internal_cause))
        .layer(axum::middleware::from_fn_with_state(cors, cors::layer))
        .layer(axum::middleware::map_response(|mut res: Response| async move {
            res.headers_mut().insert(axum::http::header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
            res
        }))
}

/// Builds the shared state ([`AppState::open`]) and stores the shipped policy version on first
/// start. `models` is `None` only in tools and tests that do not analyse.
pub async fn build_state(config: ServerConfig, clock: Arc<dyn Clock>, models: Option<Arc<Models>>) -> Result<Arc<AppState>, ServerError> {
    let state = AppState::open(config, clock, models).await?;
    policy::seed(&state.db, state.clock.now_ms()).await?;
    Ok(state)
}

/// Start-up options that are not configuration.
#[derive(Debug, Clone, Copy, Default)]
pub struct ServeOptions {
    /// Create a demo integrator (once per data directory) and print its API key on stdout as
    /// `HUOTI_DEV_API_KEY=…`.
    pub dev_key: bool,
}

/// Runs the server until the process is stopped: loads the models (a clear error when they
/// are missing), opens the stores, binds, starts the background jobs, prints
/// `huoti serving on https://ADDR` and serves.
pub async fn serve(config: ServerConfig, options: ServeOptions) -> Result<(), ServerError> {
    config.validate()?;
    let model_dir = config.model_dir.clone();
    let models = tokio::task::spawn_blocking(move || Models::load(&model_dir)).await.map_err(|e| ServerError::Models(e.into()))??;
    let state = build_state(config, Arc::new(SystemClock), Some(Arc::new(models))).await?;
    let config = state.config.clone();
    let mut demo_key = None;
    if options.dev_key {
        if state.db.api_key_named("dev").await? {
            println!("dev integrator already exists in {} (its key was printed when it was made)", config.data_dir.display());
        } else {
            let key = create_integrator_key(&state.db, "dev", state.clock.now_ms()).await?;
            println!("HUOTI_DEV_API_KEY={key}");
        }
        // The /demo page's integrator: a fresh key each start, held in memory only (the
        // database keeps its hash, like every key), never printed or sent to the page.
        demo_key = Some(create_integrator_key(&state.db, "demo", state.clock.now_ms()).await?);
    }
    let listener = server::bind(&config).await?;
    jobs::spawn(&state);
    let dev = demo_key.is_some();
    server::listen(&config, listener, app(state, demo_key), dev).await
}
