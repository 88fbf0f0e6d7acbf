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
use time::OffsetDateTime;

use crate::error::{AppError, JobError};
use crate::privacy::{audit, consent};
use crate::state::AppState;
use crate::store::retention::{RetentionCandidate, VerdictAggregate};
use crate::util::{instant, random_hex, rfc3339, unix_ms};
use crate::{devices, facematch, identity, winddown};

/// A claim lasts this long; a node that dies mid-batch frees its rows after it.
const LEASE_MS: u64 = 10 * 60 * 1000;
/// A row whose processing failed is looked at again this much later.
const RETRY_MS: u64 = 60 * 1000;

/// Counts for one data category.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CategoryReport {
    /// Items of the category looked at.
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

/// A stored Unix-ms time as an instant (0 before the epoch).
fn at(ms: i64) -> OffsetDateTime {
    instant(ms.max(0) as u64)
}

/// Whether the session's frames may be kept after the verdict at `now_ms`: the subject holds
/// a current `retain_for_training` consent (L2, from the consent ledger), has not deleted
/// their data (S5), and the service is not winding down (S6).
pub async fn keeps_frames_for_training(st: &AppState, session: &str, now_ms: u64) -> Result<bool, AppError> {
    if winddown::is_wound_down(&st.db).await? {
        return Ok(false);
    }
    if st.db.subject_deleted_at(session).await?.is_some() {
        return Ok(false);
    }
    let Some(subject) = st.db.session_subject(session).await? else { return Ok(false) };
    let ledger = consent::ledger(st, &subject).await?;
    Ok(ledger.may_retain_for_training(&huoti_privacy::SubjectId::new(&subject), at(now_ms as i64)).is_ok())
}

/// The person deleted their data (R3) or closed the account (R5), for every session of theirs
/// ([`delete_session_data`]); then their identity data: kept for its legal minimum without
/// commercial use, then deleted by the job — or, when the data was collected against the law
/// or the agreement (R7), deleted now with the verdict records, no minimum.
pub async fn delete_person(st: &AppState, subject_id: &str, unlawful: bool) -> Result<(), AppError> {
    for session in st.db.subject_sessions(subject_id).await? {
        delete_session_data(st, &session).await?;
        if unlawful {
            st.db.delete_session(&session).await?;
        }
    }
    consent::delete_training_images(st, subject_id).await?;
    // The face reference (face match) goes with the face data: shredded now.
    st.vault.erase_face_reference(&st.db, subject_id, st.clock.now_ms()).await.map_err(AppError::internal)?;
    if unlawful {
        identity::erase(&st.db, subject_id).await?;
    } else {
        identity::mark_deleted(&st.db, subject_id, st.clock.now_ms()).await?;
    }
    Ok(())
}

/// The person deleted their data (R3) or closed the account (R5), for one session: face data
/// and device info are shredded at once (S5); the verdict is kept only for its legal minimum,
/// without commercial use, then anonymised.
pub async fn delete_session_data(st: &AppState, session: &str) -> Result<(), AppError> {
    let now = st.clock.now_ms();
    st.db.mark_subject_deleted(session, now).await?;
    st.vault.erase_biometric(&st.db, session, now).await.map_err(AppError::internal)?;
    devices::erase(&st.db, session).await?;
    // Training images are kept per person (under the person's own key): shred them too.
    if let Some(subject) = st.db.session_subject(session).await? {
        consent::delete_training_images(st, &subject).await?;
    }
    Ok(())
}

/// Runs the job once: every due session, in claimed batches (or, `dry_run`, only counts).
pub async fn run(st: &AppState, dry_run: bool) -> Result<RetentionReport, JobError> {
    let now = st.clock.now_ms();
    let mut report = RetentionReport { dry_run, at: rfc3339(now), ..Default::default() };
    for c in ["frames", "training_images", "device_info", "identity_data", "verdict", "audit_log"] {
        report.categories.insert(c.into(), CategoryReport::default());
    }
    training_images(st, now, dry_run, &mut report).await?;
    identities(st, now, dry_run, &mut report).await?;
    if !dry_run {
        // Face references (face match): shredded `face_match.reference_max_days` after enrolment.
        let n = facematch::expire(st, now).await?;
        let r = report.categories.entry("face_reference".into()).or_default();
        (r.due, r.deleted) = (n, n);
    }
    let (checked, due) = audit::prune(&st.db, &st.config.retention.policy(), now, dry_run).await?;
    let r = report.categories.entry("audit_log".into()).or_default();
    (r.checked, r.due, r.deleted) = (checked, due, if dry_run { 0 } else { due });
    if dry_run {
        for c in st.db.retention_candidates(None, now).await? {
            process(st, &c, now, true, &mut report).await?;
        }
        return Ok(report);
    }
    let claimer = format!("rc_{}", random_hex(8));
    loop {
        let ids = st.db.claim_retention(&claimer, now, now + LEASE_MS, st.config.retention.batch).await?;
        if ids.is_empty() {
            break;
        }
        for c in st.db.retention_candidates(Some(&claimer), now).await? {
            if let Err(e) = process(st, &c, now, false, &mut report).await {
                tracing::warn!(error = %e, "retention: a session could not be processed; retried later");
                report.failed += 1;
                st.db.reschedule_retention(&c.id, (now + RETRY_MS) as i64).await?;
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
    let rows = st.db.training_images_by_age().await?;
    let policy = st.config.retention.policy();
    let wound_down = winddown::is_wound_down(&st.db).await?;
    for r in rows {
        let (id, subject, blob_key, kept) = (r.id, r.subject_id, r.blob_key, r.kept_at_ms);
        let ledger = consent::ledger(st, &subject).await?;
        let consented = !wound_down && ledger.may_retain_for_training(&huoti_privacy::SubjectId::new(&subject), at(now_ms as i64)).is_ok();
        let a = policy.decide(&retention_item(DataCategory::Frames, kept, Some(kept), consented, None), at(now_ms as i64));
        count(report, "training_images", a, dry_run);
        if a == Action::Delete && !dry_run {
            st.vault.delete_blob(&blob_key).await.map_err(AppError::internal)?;
            st.db.delete_training_image(&id).await?;
            // The person's biometric key serves only their training images: none left, shred it.
            if st.db.training_images(&subject).await?.is_empty() {
                st.vault.erase_biometric(&st.db, &subject, now_ms).await.map_err(AppError::internal)?;
            }
        }
    }
    Ok(())
}

/// Identity data per person: kept while the account lives; after the person deleted their
/// data or closed the account, for the legal minimum, then deleted and its key shredded.
/// Deleting is idempotent, so two nodes doing it at once do no harm.
async fn identities(st: &AppState, now_ms: u64, dry_run: bool, report: &mut RetentionReport) -> Result<(), AppError> {
    let rows = st.db.identities_for_retention().await?;
    let policy = st.config.retention.policy();
    for r in rows {
        let a = policy.decide(&retention_item(DataCategory::IdentityData, r.created_at_ms, None, false, r.deleted_at_ms), at(now_ms as i64));
        count(report, "identity_data", a, dry_run);
        if a == Action::Delete && !dry_run {
            identity::erase(&st.db, &r.subject_id).await?;
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

/// [`retention_item`] for a piece of a session's data.
fn item(category: DataCategory, created_ms: i64, c: &RetentionCandidate, training: bool) -> RetentionSubject {
    retention_item(category, created_ms, c.completed_at_ms, training, c.deleted_at_ms)
}

/// Counts what the rule said about one item.
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

/// Asks the rule about each category of one session's data, and (unless `dry_run`) carries
/// out what it says; then sets when to look at the session again.
async fn process(st: &AppState, c: &RetentionCandidate, now_ms: u64, dry_run: bool, report: &mut RetentionReport) -> Result<(), AppError> {
    let policy = st.config.retention.policy();
    let now = at(now_ms as i64);
    let training = keeps_frames_for_training(st, &c.id, now_ms).await?;
    let mut next: Option<OffsetDateTime> = None;
    let mut keep = |a: Action| {
        if let Action::Keep { until: Some(u), .. } = a {
            next = Some(next.map_or(u, |n| n.min(u)));
        }
    };

    let frames = st.db.frame_count(&c.id).await?;
    if frames > 0 {
        let a = policy.decide(&item(DataCategory::Frames, c.created_at_ms, c, training), now);
        count(report, "frames", a, dry_run);
        keep(a);
        if a == Action::Delete && !dry_run {
            st.vault.erase_biometric(&st.db, &c.id, now_ms).await.map_err(AppError::internal)?;
        }
    }
    let device = st.db.session_device_created(&c.id).await?;
    if let Some(created) = device {
        let a = policy.decide(&item(DataCategory::DeviceInfo, created, c, training), now);
        count(report, "device_info", a, dry_run);
        keep(a);
        if a == Action::Delete && !dry_run {
            devices::erase(&st.db, &c.id).await?;
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
    let next_ms = next.map_or(i64::MAX, unix_ms);
    st.db.reschedule_retention(&c.id, next_ms).await?;
    Ok(())
}

/// S1/S5: after the legal minimum only aggregates remain — the day, the outcome, the score,
/// the model versions — with no subject link (the session row, its identity data, device info
/// and keys are deleted).
async fn anonymise(st: &AppState, c: &RetentionCandidate, now_ms: u64) -> Result<(), AppError> {
    let verdict: Option<serde_json::Value> = c.verdict_json.as_deref().and_then(|j| serde_json::from_str(j).ok());
    let outcome = verdict.as_ref().and_then(|v| v["decision"].as_str().map(str::to_owned)).unwrap_or_else(|| c.state.clone());
    let score_milli = verdict.as_ref().and_then(|v| v["score"].as_f64()).map(|s| (s * 1000.0).round() as i64);
    let models = verdict.as_ref().map_or_else(|| "[]".to_owned(), |v| v["model_versions"].to_string());
    let frames = verdict.as_ref().and_then(|v| v["frames"].as_i64()).unwrap_or(c.frame_count);
    let day = rfc3339(c.completed_at_ms.unwrap_or(c.created_at_ms).max(0) as u64).chars().take(10).collect::<String>();
    st.vault.erase_biometric(&st.db, &c.id, now_ms).await.map_err(AppError::internal)?;
    devices::erase(&st.db, &c.id).await?;
    // Identity data stored before migration 0005 was keyed by the session: it goes with it.
    identity::erase(&st.db, &c.id).await?;
    // A person known only by this session (no subject_ref) goes with it: their identity data
    // has no one left to belong to. A person with an account keeps theirs (see `identities`).
    if let Some(subject) = st.db.session_subject(&c.id).await? {
        let subject_ref = st.db.subject(&subject).await?.and_then(|(_, r)| r);
        if subject_ref.is_none() {
            identity::erase(&st.db, &subject).await?;
        }
    }
    let aggregate = VerdictAggregate {
        day,
        integrator_id: c.integrator_id.clone(),
        outcome,
        fixed_challenge: c.fixed_challenge,
        frames,
        score_milli,
        model_versions: models,
    };
    st.db.anonymise_session(&c.id, &aggregate, now_ms).await?;
    Ok(())
}
