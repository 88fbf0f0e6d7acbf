//! `policy_versions` (every published version of the privacy policy, with its text and impact
//! assessment), `subjects` (people, pseudonymously) and `consents` (one row per scope of one
//! act of consent; withdrawal sets a time, rows are never deleted).

use huoti_privacy::assessment::ImpactAssessment;
use sqlx::Row;
use sqlx::any::AnyRow;

use super::{Db, inserted};
use crate::util::{format_day, parse_day};

/// A stored policy version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyRow {
    /// The version's label, e.g. `2026-05`.
    pub version: String,
    /// The whole text people were shown (Markdown, zh-CN and en).
    pub text: String,
    /// SHA-256 (hex) of `text`: what a consent refers to.
    pub digest: String,
    /// The version changes how data is processed: earlier consents stop counting (A1).
    pub material_change: bool,
    /// When it took effect, Unix ms.
    pub published_at_ms: i64,
    /// Personal-information protection contact (A3).
    pub privacy_contact: String,
    /// Recipients one may consent to share with, comma-separated.
    pub share_with: String,
    /// The impact assessment done before this version's processing (L5).
    pub impact_assessment: Option<ImpactAssessment>,
}

/// A stored consent row (one scope of one act of consent).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsentRow {
    /// The act of consent this scope was part of (`cn_…`; one act, several rows).
    pub consent_id: String,
    /// The scope agreed to, wire form (`face_capture_and_upload`, `share_with:acme`, …).
    pub scope: String,
    /// The person who agreed.
    pub subject_id: String,
    /// The session it was given in, if any.
    pub session_id: Option<String>,
    /// The policy version the person was shown.
    pub policy_version: String,
    /// Where it was given: `web`, `sdk`, `cli`, `privacy-centre`.
    pub channel: String,
    /// When it was given, Unix ms.
    pub granted_at_ms: i64,
    /// When it was withdrawn, Unix ms (never deleted: the ledger proves what was agreed).
    pub withdrawn_at_ms: Option<i64>,
}

fn policy_from(r: &AnyRow) -> Result<PolicyRow, sqlx::Error> {
    Ok(PolicyRow {
        version: r.try_get("version")?,
        text: r.try_get("text")?,
        digest: r.try_get("digest")?,
        material_change: r.try_get::<i64, _>("material_change")? != 0,
        published_at_ms: r.try_get("published_at_ms")?,
        privacy_contact: r.try_get("privacy_contact")?,
        share_with: r.try_get("share_with")?,
        impact_assessment: match (r.try_get::<Option<String>, _>("assessment_reference")?, r.try_get::<Option<String>, _>("assessment_completed_on")?) {
            (Some(reference), Some(day)) => parse_day(&day).map(|completed_on| ImpactAssessment { reference, completed_on }),
            _ => None,
        },
    })
}

fn consent_from(r: &AnyRow) -> Result<ConsentRow, sqlx::Error> {
    Ok(ConsentRow {
        consent_id: r.try_get("consent_id")?,
        scope: r.try_get("scope")?,
        subject_id: r.try_get("subject_id")?,
        session_id: r.try_get("session_id")?,
        policy_version: r.try_get("policy_version")?,
        channel: r.try_get("channel")?,
        granted_at_ms: r.try_get("granted_at_ms")?,
        withdrawn_at_ms: r.try_get("withdrawn_at_ms")?,
    })
}

impl Db {
    /// Stores a policy version; `Ok(false)` when the label exists.
    pub async fn insert_policy(&self, p: &PolicyRow) -> Result<bool, sqlx::Error> {
        let r = sqlx::query(
            "INSERT INTO policy_versions (version, text, digest, material_change, published_at_ms, privacy_contact, share_with, assessment_reference, assessment_completed_on) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(&p.version)
        .bind(&p.text)
        .bind(&p.digest)
        .bind(i64::from(p.material_change))
        .bind(p.published_at_ms)
        .bind(&p.privacy_contact)
        .bind(&p.share_with)
        .bind(p.impact_assessment.as_ref().map(|a| a.reference.clone()))
        .bind(p.impact_assessment.as_ref().map(|a| format_day(a.completed_on)))
        .execute(&self.pool)
        .await;
        inserted(r)
    }

    /// Every policy version, oldest first.
    pub async fn policies(&self) -> Result<Vec<PolicyRow>, sqlx::Error> {
        let rows = sqlx::query("SELECT * FROM policy_versions ORDER BY published_at_ms, version").fetch_all(&self.pool).await?;
        rows.iter().map(policy_from).collect()
    }

    /// The subject of `(integrator, subject_ref)`, if known.
    pub async fn subject_by_ref(&self, integrator_id: &str, subject_ref: &str) -> Result<Option<String>, sqlx::Error> {
        sqlx::query_scalar("SELECT id FROM subjects WHERE integrator_id = $1 AND subject_ref = $2")
            .bind(integrator_id)
            .bind(subject_ref)
            .fetch_optional(&self.pool)
            .await
    }

    /// Adds a subject; `Ok(false)` when `(integrator, subject_ref)` exists already.
    pub async fn insert_subject(&self, id: &str, integrator_id: &str, subject_ref: Option<&str>, now_ms: u64) -> Result<bool, sqlx::Error> {
        let r = sqlx::query("INSERT INTO subjects (id, integrator_id, subject_ref, created_at_ms) VALUES ($1, $2, $3, $4)")
            .bind(id)
            .bind(integrator_id)
            .bind(subject_ref)
            .bind(now_ms as i64)
            .execute(&self.pool)
            .await;
        inserted(r)
    }

    /// A subject's integrator and reference.
    pub async fn subject(&self, id: &str) -> Result<Option<(String, Option<String>)>, sqlx::Error> {
        let row = sqlx::query("SELECT integrator_id, subject_ref FROM subjects WHERE id = $1").bind(id).fetch_optional(&self.pool).await?;
        row.map(|r| Ok((r.try_get("integrator_id")?, r.try_get("subject_ref")?))).transpose()
    }

    /// Records one act of consent (one row per scope), atomically.
    pub async fn insert_consents(&self, rows: &[ConsentRow]) -> Result<(), sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        for c in rows {
            sqlx::query(
                "INSERT INTO consents (consent_id, scope, subject_id, session_id, policy_version, channel, granted_at_ms, withdrawn_at_ms) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(&c.consent_id)
            .bind(&c.scope)
            .bind(&c.subject_id)
            .bind(&c.session_id)
            .bind(&c.policy_version)
            .bind(&c.channel)
            .bind(c.granted_at_ms)
            .bind(c.withdrawn_at_ms)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await
    }

    /// A subject's consent rows, oldest first.
    pub async fn consents(&self, subject_id: &str) -> Result<Vec<ConsentRow>, sqlx::Error> {
        let rows = sqlx::query("SELECT * FROM consents WHERE subject_id = $1 ORDER BY granted_at_ms, consent_id, scope")
            .bind(subject_id)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(consent_from).collect()
    }

    /// Withdraws a subject's active consents to `scope`; returns how many rows changed.
    pub async fn withdraw_consent(&self, subject_id: &str, scope: &str, now_ms: u64) -> Result<u64, sqlx::Error> {
        let r = sqlx::query("UPDATE consents SET withdrawn_at_ms = $3 WHERE subject_id = $1 AND scope = $2 AND withdrawn_at_ms IS NULL")
            .bind(subject_id)
            .bind(scope)
            .bind(now_ms as i64)
            .execute(&self.pool)
            .await?;
        Ok(r.rows_affected())
    }
}
