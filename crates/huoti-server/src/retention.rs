//! The retention job (S1, S5, L2): looks at every session whose retention date has come,
//! asks `huoti_privacy::RetentionPolicy` what each category of its data needs (frames, device
//! info, identity data, the verdict), and carries it out: delete (and shred the key), or
//! anonymise the verdict into aggregates with no subject link and no device info.
//!
//! **Several nodes**: rows are claimed before they are processed — one `UPDATE … WHERE id IN
//! (SELECT … FOR UPDATE SKIP LOCKED)` on PostgreSQL, the same statement under SQLite's single
//! writer — with a lease, so two nodes never process the same row and a crashed node's claim
//! expires. The server runs the job every `retention.interval_s`; `huoti admin retention run`
//! runs it on demand (`--dry-run`: report only).

use std::collections::BTreeMap;

use huoti_privacy::{Action, DataCategory, RetentionSubject};
use serde::Serialize;
use sqlx::Row;
use time::OffsetDateTime;

use crate::api::{AppState, random_hex, rfc3339};
use crate::error::AppError;
use crate::store::Db;

/// A claim lasts this long; a node that dies mid-batch frees its rows after it.
const LEASE_MS: u64 = 10 * 60 * 1000;
/// A row whose processing failed is looked at again this much later.
const RETRY_MS: u64 = 60 * 1000;

/// Counts for one data category.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CategoryReport {
    /// Items looked at.
    pub checked: u64,
    /// Items whose time had come (to delete or anonymise).
    pub due: u64,
    /// Items deleted.
    pub deleted: u64,
    /// Items anonymised.
    pub anonymised: u64,
}

/// What a run did (or, dry, would do).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RetentionReport {
    /// Nothing was changed.
    pub dry_run: bool,
    /// When it ran, RFC 3339.
    pub at: String,
    /// Per category (`frames`, `training_images`, `device_info`, `identity_data`, `verdict`).
    pub categories: BTreeMap<String, CategoryReport>,
    /// Sessions this run processed (ids; for the operator and the multi-node test, never
    /// logged).
    #[serde(skip)]
    pub processed: Vec<String>,
    /// Sessions whose processing failed (retried later).
    pub failed: u64,
}

fn at(ms: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms.max(0)) * 1_000_000).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

fn ms(t: OffsetDateTime) -> i64 {
    (t.unix_timestamp_nanos() / 1_000_000).clamp(0, i128::from(i64::MAX)) as i64
}

/// Whether the session's frames may be kept after the verdict at `now_ms`: the subject holds
/// a current `retain_for_training` consent (L2, from the consent ledger), has not deleted
/// their data (S5), and the service is not winding down (S6).
pub async fn keeps_frames_for_training(st: &AppState, session: &str, now_ms: u64) -> Result<bool, AppError> {
    if crate::winddown::is_wound_down(&st.db).await? {
        return Ok(false);
    }
    let deleted: Option<i64> = sqlx::query_scalar("SELECT subject_deleted_at_ms FROM sessions WHERE id = $1")
        .bind(session)
        .fetch_optional(&st.db.pool)
        .await?
        .flatten();
    if deleted.is_some() {
        return Ok(false);
    }
    let Some(subject) = st.db.session_subject(session).await? else { return Ok(false) };
    let ledger = crate::privacy::consent::ledger(st, &subject).await?;
    Ok(ledger.may_retain_for_training(&huoti_privacy::SubjectId::new(&subject), at(now_ms as i64)).is_ok())
}

/// The person deleted their data (R3) or closed the account (R5), for every session of theirs
/// ([`delete_subject`]); then their identity data: kept for its legal minimum without
/// commercial use, then deleted by the job — or, when the data was collected against the law
/// or the agreement (R7), deleted now with the verdict records, no minimum.
pub async fn delete_person(st: &AppState, subject_id: &str, unlawful: bool) -> Result<(), AppError> {
    for session in st.db.subject_sessions(subject_id).await? {
        delete_subject(st, &session).await?;
        if unlawful {
            sqlx::query("DELETE FROM sessions WHERE id = $1").bind(&session).execute(&st.db.pool).await?;
        }
    }
    crate::privacy::consent::delete_training_images(st, subject_id).await?;
    if unlawful {
        crate::identity::erase(&st.db, subject_id).await?;
    } else {
        crate::identity::mark_deleted(&st.db, subject_id, st.clock.now_ms()).await?;
    }
    Ok(())
}

/// The person deleted their data (R3) or closed the account (R5), for one session: face data
/// and device info are shredded at once (S5); the verdict is kept only for its legal minimum,
/// without commercial use, then anonymised.
pub async fn delete_subject(st: &AppState, session: &str) -> Result<(), AppError> {
    let now = st.clock.now_ms();
    sqlx::query("UPDATE sessions SET subject_deleted_at_ms = $2, retention_next_ms = $2 WHERE id = $1")
        .bind(session)
        .bind(now as i64)
        .execute(&st.db.pool)
        .await?;
    st.vault.erase_subject(&st.db, session).await.map_err(AppError::internal)?;
    crate::devices::erase(&st.db, session).await?;
    // Training images are kept per subject (under the subject's own key): shred them too.
    if let Some(subject) = st.db.session_subject(session).await? {
        crate::privacy::consent::delete_training_images(st, &subject).await?;
    }
    Ok(())
}

struct Candidate {
    id: String,
    integrator_id: String,
    state: String,
    created_at_ms: i64,
    completed_at_ms: Option<i64>,
    deleted_at_ms: Option<i64>,
    verdict_json: Option<String>,
    fixed_challenge: i64,
    frame_count: i64,
}

const DONE_STATES: &str = "('completed', 'expired', 'failed')";

/// The sessions claimed by `claimer`, or (`None`: dry run) every due session.
async fn candidates(db: &Db, claimer: Option<&str>, now: u64) -> Result<Vec<Candidate>, sqlx::Error> {
    let filter = match claimer {
        Some(_) => "retention_claim = $1".to_owned(),
        None => format!("retention_next_ms <= $1 AND state IN {DONE_STATES}"),
    };
    let sql = format!(
        "SELECT id, integrator_id, state, created_at_ms, completed_at_ms, subject_deleted_at_ms, \
         verdict_json, fixed_challenge, frame_count FROM sessions WHERE {filter} ORDER BY retention_next_ms"
    );
    let q = sqlx::query(&sql);
    let q = match claimer {
        Some(c) => q.bind(c.to_owned()),
        None => q.bind(now as i64),
    };
    let rows = q.fetch_all(&db.pool).await?;
    rows.iter()
        .map(|r| {
            Ok(Candidate {
                id: r.try_get("id")?,
                integrator_id: r.try_get("integrator_id")?,
                state: r.try_get("state")?,
                created_at_ms: r.try_get("created_at_ms")?,
                completed_at_ms: r.try_get("completed_at_ms")?,
                deleted_at_ms: r.try_get("subject_deleted_at_ms")?,
                verdict_json: r.try_get("verdict_json")?,
                fixed_challenge: r.try_get("fixed_challenge")?,
                frame_count: r.try_get("frame_count")?,
            })
        })
        .collect()
}

/// Claims up to `batch` due sessions for `claimer`; returns them.
pub async fn claim(db: &Db, claimer: &str, now: u64, batch: u32) -> Result<Vec<String>, sqlx::Error> {
    let lock = if db.postgres { " FOR UPDATE SKIP LOCKED" } else { "" };
    let sql = format!(
        "UPDATE sessions SET retention_claim = $1, retention_claim_until_ms = $2 WHERE id IN (\
         SELECT id FROM sessions WHERE retention_next_ms <= $3 AND state IN {DONE_STATES} \
         AND (retention_claim_until_ms IS NULL OR retention_claim_until_ms < $3) \
         ORDER BY retention_next_ms LIMIT $4{lock})"
    );
    sqlx::query(&sql).bind(claimer).bind((now + LEASE_MS) as i64).bind(now as i64).bind(i64::from(batch)).execute(&db.pool).await?;
    sqlx::query_scalar("SELECT id FROM sessions WHERE retention_claim = $1").bind(claimer).fetch_all(&db.pool).await
}

/// Runs the job once: every due session, in claimed batches (or, `dry_run`, only counts).
pub async fn run(st: &AppState, dry_run: bool) -> Result<RetentionReport, AppError> {
    let now = st.clock.now_ms();
    let mut report = RetentionReport { dry_run, at: rfc3339(now), ..Default::default() };
    for c in ["frames", "training_images", "device_info", "identity_data", "verdict", "audit_log"] {
        report.categories.insert(c.into(), CategoryReport::default());
    }
    training_images(st, now, dry_run, &mut report).await?;
    identities(st, now, dry_run, &mut report).await?;
    let (checked, due) = crate::privacy::audit::prune(&st.db, &st.config.retention.policy(), now, dry_run).await?;
    let r = report.categories.entry("audit_log".into()).or_default();
    (r.checked, r.due, r.deleted) = (checked, due, if dry_run { 0 } else { due });
    if dry_run {
        for c in candidates(&st.db, None, now).await? {
            process(st, &c, now, true, &mut report).await?;
        }
        return Ok(report);
    }
    let claimer = format!("rc_{}", random_hex(8));
    loop {
        let ids = claim(&st.db, &claimer, now, st.config.retention.batch).await?;
        if ids.is_empty() {
            break;
        }
        for c in candidates(&st.db, Some(&claimer), now).await? {
            if let Err(e) = process(st, &c, now, false, &mut report).await {
                tracing::warn!(error = %e, "retention: a session could not be processed; retried later");
                report.failed += 1;
                sqlx::query("UPDATE sessions SET retention_claim = NULL, retention_claim_until_ms = NULL, retention_next_ms = $2 WHERE id = $1")
                    .bind(&c.id)
                    .bind((now + RETRY_MS) as i64)
                    .execute(&st.db.pool)
                    .await?;
            }
        }
    }
    Ok(report)
}

/// Face images kept for training per subject (`training_images`): at most
/// `retention.training_max_days` after they were kept, and only while the subject's
/// `retain_for_training` consent holds (L2). Deleting one is idempotent, so two nodes doing
/// it at once do no harm.
async fn training_images(st: &AppState, now_ms: u64, dry_run: bool, report: &mut RetentionReport) -> Result<(), AppError> {
    let rows = sqlx::query("SELECT id, subject_id, blob_key, kept_at_ms FROM training_images ORDER BY kept_at_ms")
        .fetch_all(&st.db.pool)
        .await?;
    let policy = st.config.retention.policy();
    let wound_down = crate::winddown::is_wound_down(&st.db).await?;
    for r in rows {
        let (id, subject, blob_key, kept): (String, String, String, i64) =
            (r.try_get("id")?, r.try_get("subject_id")?, r.try_get("blob_key")?, r.try_get("kept_at_ms")?);
        let ledger = crate::privacy::consent::ledger(st, &subject).await?;
        let consented = !wound_down && ledger.may_retain_for_training(&huoti_privacy::SubjectId::new(&subject), at(now_ms as i64)).is_ok();
        let a = policy.decide(&retention_item(DataCategory::Frames, kept, Some(kept), consented, None), at(now_ms as i64));
        count(report, "training_images", a, dry_run);
        if a == Action::Delete && !dry_run {
            st.vault.store.delete(&blob_key).map_err(AppError::internal)?;
            sqlx::query("DELETE FROM training_images WHERE id = $1").bind(&id).execute(&st.db.pool).await?;
            // The subject's key serves only its training images: none left, shred it.
            if st.db.training_images(&subject).await?.is_empty() {
                st.vault.erase_subject(&st.db, &subject).await.map_err(AppError::internal)?;
            }
        }
    }
    Ok(())
}

/// Identity data per person: kept while the account lives; after the person deleted their
/// data or closed the account, for the legal minimum, then deleted and its key shredded.
/// Deleting is idempotent, so two nodes doing it at once do no harm.
async fn identities(st: &AppState, now_ms: u64, dry_run: bool, report: &mut RetentionReport) -> Result<(), AppError> {
    let rows = sqlx::query("SELECT subject_id, created_at_ms, deleted_at_ms FROM identities").fetch_all(&st.db.pool).await?;
    let policy = st.config.retention.policy();
    for r in rows {
        let (subject, created, deleted): (String, i64, Option<i64>) = (r.try_get("subject_id")?, r.try_get("created_at_ms")?, r.try_get("deleted_at_ms")?);
        let a = policy.decide(&retention_item(DataCategory::IdentityData, created, None, false, deleted), at(now_ms as i64));
        count(report, "identity_data", a, dry_run);
        if a == Action::Delete && !dry_run {
            crate::identity::erase(&st.db, &subject).await?;
        }
    }
    Ok(())
}

/// What the retention rule is asked about one piece of data (times in ms).
fn retention_item(category: DataCategory, created_ms: i64, verdict_ms: Option<i64>, training: bool, deleted_ms: Option<i64>) -> RetentionSubject {
    RetentionSubject {
        category,
        created_at: at(created_ms),
        verdict_at: verdict_ms.map(at),
        has_training_consent: training,
        subject_deleted_at: deleted_ms.map(at),
        unlawful: false,
    }
}

fn item(category: DataCategory, created_ms: i64, c: &Candidate, training: bool) -> RetentionSubject {
    retention_item(category, created_ms, c.completed_at_ms, training, c.deleted_at_ms)
}

fn count(report: &mut RetentionReport, category: &str, action: Action, dry_run: bool) {
    let r = report.categories.entry(category.into()).or_default();
    r.checked += 1;
    match action {
        Action::Keep { .. } => {}
        Action::Delete => {
            r.due += 1;
            r.deleted += u64::from(!dry_run);
        }
        Action::Anonymise => {
            r.due += 1;
            r.anonymised += u64::from(!dry_run);
        }
    }
}

async fn process(st: &AppState, c: &Candidate, now_ms: u64, dry_run: bool, report: &mut RetentionReport) -> Result<(), AppError> {
    let policy = st.config.retention.policy();
    let now = at(now_ms as i64);
    let training = keeps_frames_for_training(st, &c.id, now_ms).await?;
    let mut next: Option<OffsetDateTime> = None;
    let mut keep = |a: Action| {
        if let Action::Keep { until: Some(u), .. } = a {
            next = Some(next.map_or(u, |n| n.min(u)));
        }
    };

    let frames: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM frames WHERE session_id = $1").bind(&c.id).fetch_one(&st.db.pool).await?;
    if frames > 0 {
        let a = policy.decide(&item(DataCategory::Frames, c.created_at_ms, c, training), now);
        count(report, "frames", a, dry_run);
        keep(a);
        if a == Action::Delete && !dry_run {
            st.vault.erase_subject(&st.db, &c.id).await.map_err(AppError::internal)?;
        }
    }
    let device: Option<i64> = sqlx::query_scalar("SELECT created_at_ms FROM session_devices WHERE session_id = $1")
        .bind(&c.id)
        .fetch_optional(&st.db.pool)
        .await?;
    if let Some(created) = device {
        let a = policy.decide(&item(DataCategory::DeviceInfo, created, c, training), now);
        count(report, "device_info", a, dry_run);
        keep(a);
        if a == Action::Delete && !dry_run {
            crate::devices::erase(&st.db, &c.id).await?;
        }
    }
    let a = policy.decide(&item(DataCategory::Verdict, c.created_at_ms, c, training), now);
    count(report, "verdict", a, dry_run);
    if dry_run {
        return Ok(());
    }
    report.processed.push(c.id.clone());
    if a == Action::Anonymise {
        return anonymise(st, c, now_ms).await;
    }
    keep(a);
    let next_ms = next.map_or(i64::MAX, ms);
    sqlx::query("UPDATE sessions SET retention_next_ms = $2, retention_claim = NULL, retention_claim_until_ms = NULL WHERE id = $1")
        .bind(&c.id)
        .bind(next_ms)
        .execute(&st.db.pool)
        .await?;
    Ok(())
}

/// S1/S5: after the legal minimum only aggregates remain — the day, the outcome, the score,
/// the model versions — with no subject link (the session row, its identity data, device info
/// and keys are deleted).
async fn anonymise(st: &AppState, c: &Candidate, now_ms: u64) -> Result<(), AppError> {
    let verdict: Option<serde_json::Value> = c.verdict_json.as_deref().and_then(|j| serde_json::from_str(j).ok());
    let outcome = verdict.as_ref().and_then(|v| v["decision"].as_str().map(str::to_owned)).unwrap_or_else(|| c.state.clone());
    let score_milli = verdict.as_ref().and_then(|v| v["score"].as_f64()).map(|s| (s * 1000.0).round() as i64);
    let models = verdict.as_ref().map_or_else(|| "[]".to_owned(), |v| v["model_versions"].to_string());
    let frames = verdict.as_ref().and_then(|v| v["frames"].as_i64()).unwrap_or(c.frame_count);
    let day = rfc3339(c.completed_at_ms.unwrap_or(c.created_at_ms).max(0) as u64).chars().take(10).collect::<String>();
    st.vault.erase_subject(&st.db, &c.id).await.map_err(AppError::internal)?;
    crate::devices::erase(&st.db, &c.id).await?;
    // Identity data stored before migration 0005 was keyed by the session: it goes with it.
    crate::identity::erase(&st.db, &c.id).await?;
    // A person known only by this session (no subject_ref) goes with it: their identity data
    // has no one left to belong to. A person with an account keeps theirs (see `identities`).
    if let Some(subject) = st.db.session_subject(&c.id).await? {
        let subject_ref: Option<String> =
            sqlx::query_scalar("SELECT subject_ref FROM subjects WHERE id = $1").bind(&subject).fetch_optional(&st.db.pool).await?.flatten();
        if subject_ref.is_none() {
            crate::identity::erase(&st.db, &subject).await?;
        }
    }
    let mut tx = st.db.pool.begin().await?;
    sqlx::query(
        "INSERT INTO verdict_aggregates (day, integrator_id, outcome, fixed_challenge, frames, score_milli, model_versions, anonymised_at_ms) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(day)
    .bind(&c.integrator_id)
    .bind(outcome)
    .bind(c.fixed_challenge)
    .bind(frames)
    .bind(score_milli)
    .bind(models)
    .bind(now_ms as i64)
    .execute(&mut *tx)
    .await?;
    sqlx::query("DELETE FROM subject_keys WHERE subject_id = $1").bind(&c.id).execute(&mut *tx).await?;
    sqlx::query("DELETE FROM sessions WHERE id = $1").bind(&c.id).execute(&mut *tx).await?;
    tx.commit().await?;
    Ok(())
}
