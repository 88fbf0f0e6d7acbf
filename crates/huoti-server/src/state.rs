//! [`AppState`]: what every handler and job shares, and how it is opened from the
//! configuration. (Leaf module: it names no feature.)

use std::sync::Arc;

use tokio::sync::Semaphore;

use crate::calendar::InstalledCalendar;
use crate::error::ServerError;
use crate::clock::Clock;
use crate::config::ServerConfig;
use crate::metrics::Gauges;
use crate::http::budget::MemoryBudget;
use crate::models::{LiveRuns, Models};
use crate::signing::Signer;
use crate::store::Db;
use crate::vault::{FrameVault, KekSource, open_store};

/// Everything a handler may use. What several nodes must agree on — sessions, frames, keys,
/// the abuse lock's failures, frame hashes for the replay check, rate-limit buckets — is in
/// the database and the blob store; only this node's analysis on arrival ([`LiveRuns`]) and the
/// analysis slots are in memory.
pub struct AppState {
    /// The configuration the server started with.
    pub config: Arc<ServerConfig>,
    /// The relational store (every query goes through it).
    pub db: Db,
    /// Sealed storage of frames and other personal data, with the data keys.
    pub vault: Arc<FrameVault>,
    /// The vision models; absent when the server was opened without them (admin commands,
    /// tests that do not analyse): `complete` then answers `analysis_unavailable`.
    pub models: Option<Arc<Models>>,
    /// Where every expiry, rate limit and retention date reads the time (tests move it).
    pub clock: Arc<dyn Clock>,
    /// The key that signs verdicts.
    pub signer: Arc<Signer>,
    /// Bounds concurrent analyses to the number of cores.
    pub analysis_slots: Semaphore,
    /// Per open session on this node, the frames measured so far (on arrival).
    pub live: LiveRuns,
    /// Gauges of this server's state for `/metrics`, refreshed by the background jobs.
    pub gauges: Gauges,
    /// Memory for frame uploads in flight on this node (`limits`).
    pub budget: MemoryBudget,
    /// The working-day calendar R5/R9 deadlines are counted in (built-in, or the operator's
    /// `[rights] calendar_file`, checked again while running).
    pub calendar: InstalledCalendar,
}

impl AppState {
    /// Opens the shared state: data directory, database (migrated), blob store (`[blobs]`),
    /// vault, signing key.
    /// `models` is `None` only where nothing is analysed.
    pub async fn open(config: ServerConfig, clock: Arc<dyn Clock>, models: Option<Arc<Models>>) -> Result<Arc<AppState>, ServerError> {
        config.validate()?;
        let dir = &config.data_dir;
        std::fs::create_dir_all(dir).map_err(ServerError::io(format!("creating {}", dir.display())))?;
        let db = Db::connect(&config.database_url()).await?;
        let blob_store = open_store(&config).await?;
        let vault = FrameVault::open_with(&KekSource::configured(&config.kek_path()), blob_store)?;
        let signer = Signer::load_or_create(&dir.join("signing-ed25519.key"))?;
        let calendar = InstalledCalendar::open(config.rights.calendar_file.as_deref())?;
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let live = LiveRuns::new(config.limits.reorder_budget_bytes());
        let budget = MemoryBudget::new(config.limits.upload_budget_bytes());
        Ok(Arc::new(AppState {
            config: Arc::new(config),
            db,
            vault: Arc::new(vault),
            models,
            clock,
            signer: Arc::new(signer),
            live,
            budget,
            analysis_slots: Semaphore::new(cores),
            gauges: Gauges::default(),
            calendar,
        }))
    }
}
