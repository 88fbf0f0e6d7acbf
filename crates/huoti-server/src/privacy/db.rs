//! Queries of the privacy tables (migration 0002): policy versions, subjects, consents,
//! training images. Portable SQL, as in [`crate::store`].

use huoti_privacy::assessment::ImpactAssessment;
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::store::{Db, inserted};

/// A stored policy version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyRow {
    /// Label.
    pub version: String,
    /// Full text.
    pub text: String,
    /// sha256 hex of `text`.
    pub digest: String,
    /// Material change (A1).
    pub material_change: bool,
    /// Publication time, ms.
    pub published_at_ms: i64,
    /// Personal-information protection contact (A3).
    pub privacy_contact: String,
    /// Recipients one may consent to share with, comma-separated.
    pub share_with: String,
    /// The impact assessment done before this version's processing (L5).
    pub impact_assessment: Option<ImpactAssessment>,
}

/// `YYYY-MM-DD`, the stored and wire form of an assessment's day.
pub fn parse_day(s: &str) -> Option<time::Date> {
    time::Date::parse(s, &time::format_description::well_known::Iso8601::DATE).ok()
}

/// The stored and wire form of a day.
pub fn format_day(d: time::Date) -> String {
    format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
}

/// A stored consent row (one scope of one act of consent).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsentRow {
    /// Id of the act.
    pub consent_id: String,
    /// Scope (wire form).
    pub scope: String,
    /// Subject.
    pub subject_id: String,
    /// Session it was given in, if any.
    pub session_id: Option<String>,
    /// Policy version.
    pub policy_version: String,
    /// `web`, `sdk`, `cli`, `privacy-centre`.
    pub channel: String,
    /// When, ms.
    pub granted_at_ms: i64,
    /// Withdrawn when, ms.
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
        .execute(self.pool())
        .await;
        inserted(r)
    }

    /// Every policy version, oldest first.
    pub async fn policies(&self) -> Result<Vec<PolicyRow>, sqlx::Error> {
        let rows = sqlx::query("SELECT * FROM policy_versions ORDER BY published_at_ms, version").fetch_all(self.pool()).await?;
        rows.iter().map(policy_from).collect()
    }

    /// The subject of `(integrator, subject_ref)`, if known.
    pub async fn subject_by_ref(&self, integrator_id: &str, subject_ref: &str) -> Result<Option<String>, sqlx::Error> {
        sqlx::query_scalar("SELECT id FROM subjects WHERE integrator_id = $1 AND subject_ref = $2")
            .bind(integrator_id)
            .bind(subject_ref)
            .fetch_optional(self.pool())
            .await
    }

    /// Adds a subject; `Ok(false)` when `(integrator, subject_ref)` exists already.
    pub async fn insert_subject(&self, id: &str, integrator_id: &str, subject_ref: Option<&str>, now_ms: u64) -> Result<bool, sqlx::Error> {
        let r = sqlx::query("INSERT INTO subjects (id, integrator_id, subject_ref, created_at_ms) VALUES ($1, $2, $3, $4)")
            .bind(id)
            .bind(integrator_id)
            .bind(subject_ref)
            .bind(now_ms as i64)
            .execute(self.pool())
            .await;
        inserted(r)
    }

    /// A subject's integrator and reference.
    pub async fn subject(&self, id: &str) -> Result<Option<(String, Option<String>)>, sqlx::Error> {
        let row = sqlx::query("SELECT integrator_id, subject_ref FROM subjects WHERE id = $1").bind(id).fetch_optional(self.pool()).await?;
        row.map(|r| Ok((r.try_get("integrator_id")?, r.try_get("subject_ref")?))).transpose()
    }

    /// Links a session to its subject.
    pub async fn set_session_subject(&self, session_id: &str, subject_id: &str) -> Result<(), sqlx::Error> {
        sqlx::query("UPDATE sessions SET subject_id = $2 WHERE id = $1").bind(session_id).bind(subject_id).execute(self.pool()).await?;
        Ok(())
    }

    /// The subject of a session.
    pub async fn session_subject(&self, session_id: &str) -> Result<Option<String>, sqlx::Error> {
        let v: Option<Option<String>> =
            sqlx::query_scalar("SELECT subject_id FROM sessions WHERE id = $1").bind(session_id).fetch_optional(self.pool()).await?;
        Ok(v.flatten())
    }

    /// The ids of a subject's sessions, newest first.
    pub async fn subject_sessions(&self, subject_id: &str) -> Result<Vec<String>, sqlx::Error> {
        sqlx::query_scalar("SELECT id FROM sessions WHERE subject_id = $1 ORDER BY created_at_ms DESC, id")
            .bind(subject_id)
            .fetch_all(self.pool())
            .await
    }

    /// Records one act of consent (one row per scope), atomically.
    pub async fn insert_consents(&self, rows: &[ConsentRow]) -> Result<(), sqlx::Error> {
        let mut tx = self.pool().begin().await?;
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
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(consent_from).collect()
    }

    /// Withdraws a subject's active consents to `scope`; returns how many rows changed.
    pub async fn withdraw_consent(&self, subject_id: &str, scope: &str, now_ms: u64) -> Result<u64, sqlx::Error> {
        let r = sqlx::query("UPDATE consents SET withdrawn_at_ms = $3 WHERE subject_id = $1 AND scope = $2 AND withdrawn_at_ms IS NULL")
            .bind(subject_id)
            .bind(scope)
            .bind(now_ms as i64)
            .execute(self.pool())
            .await?;
        Ok(r.rows_affected())
    }

    /// Records a kept training image.
    pub async fn insert_training_image(&self, id: &str, subject_id: &str, session_id: &str, blob_key: &str, now_ms: u64) -> Result<(), sqlx::Error> {
        sqlx::query("INSERT INTO training_images (id, subject_id, session_id, blob_key, kept_at_ms) VALUES ($1, $2, $3, $4, $5)")
            .bind(id)
            .bind(subject_id)
            .bind(session_id)
            .bind(blob_key)
            .bind(now_ms as i64)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// A subject's training images: (id, blob key).
    pub async fn training_images(&self, subject_id: &str) -> Result<Vec<(String, String)>, sqlx::Error> {
        let rows = sqlx::query("SELECT id, blob_key FROM training_images WHERE subject_id = $1 ORDER BY id")
            .bind(subject_id)
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(|r| Ok((r.try_get("id")?, r.try_get("blob_key")?))).collect()
    }

    /// Every training image: (id, subject id, blob key), by id.
    pub async fn all_training_images(&self) -> Result<Vec<(String, String, String)>, sqlx::Error> {
        let rows = sqlx::query("SELECT id, subject_id, blob_key FROM training_images ORDER BY id").fetch_all(self.pool()).await?;
        rows.iter().map(|r| Ok((r.try_get("id")?, r.try_get("subject_id")?, r.try_get("blob_key")?))).collect()
    }

    /// Forgets a subject's training images (their blobs and key are shredded by the vault).
    pub async fn delete_training_images(&self, subject_id: &str) -> Result<u64, sqlx::Error> {
        let r = sqlx::query("DELETE FROM training_images WHERE subject_id = $1").bind(subject_id).execute(self.pool()).await?;
        Ok(r.rows_affected())
    }
}
