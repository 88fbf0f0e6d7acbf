//! Personal data kept apart from face data, sealed (the features seal and open it; this file
//! only stores hex): `identities` (a person's identity data, L3), `session_devices` (a
//! session's device info, P2), and `disclosures` (the ledger of exports to third parties, D1–D6).

use sqlx::Row;

use super::Db;

/// A person's identity data as the retention job sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentityRetentionRow {
    /// The person.
    pub subject_id: String,
    /// When the data was stored, Unix ms.
    pub created_at_ms: i64,
    /// When the person deleted their data or closed the account, Unix ms: the legal minimum
    /// runs from then.
    pub deleted_at_ms: Option<i64>,
}

/// A recorded disclosure, its members as stored (JSON where structured).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DisclosureRow {
    /// `dc_…`.
    pub id: String,
    /// The person (or session) the request named.
    pub subject_id: String,
    /// Who received the data.
    pub recipient: String,
    /// `share`, `transfer` or `public`.
    pub kind: String,
    /// What was disclosed, JSON.
    pub data_json: String,
    /// The consent or legal ground it rested on, JSON.
    pub basis_json: String,
    /// When, Unix ms.
    pub at_ms: i64,
}

impl Db {
    /// Stores (replacing) a person's sealed identity data.
    pub async fn upsert_identity(&self, subject: &str, integrator_id: &str, sealed_hex: &str, now_ms: u64) -> Result<(), sqlx::Error> {
        sqlx::query(
            "INSERT INTO identities (subject_id, integrator_id, sealed_hex, created_at_ms) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (subject_id) DO UPDATE SET sealed_hex = $3, created_at_ms = $4",
        )
        .bind(subject)
        .bind(integrator_id)
        .bind(sealed_hex)
        .bind(now_ms as i64)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// A person's sealed identity data, hex.
    pub async fn identity_sealed(&self, subject: &str) -> Result<Option<String>, sqlx::Error> {
        sqlx::query_scalar("SELECT sealed_hex FROM identities WHERE subject_id = $1").bind(subject).fetch_optional(&self.pool).await
    }

    /// The integrator that sent a person's identity data (an error when there is none).
    pub async fn identity_integrator(&self, subject: &str) -> Result<String, sqlx::Error> {
        sqlx::query_scalar("SELECT integrator_id FROM identities WHERE subject_id = $1").bind(subject).fetch_one(&self.pool).await
    }

    /// Deletes a person's identity data row.
    pub async fn delete_identity(&self, subject: &str) -> Result<(), sqlx::Error> {
        sqlx::query("DELETE FROM identities WHERE subject_id = $1").bind(subject).execute(&self.pool).await?;
        Ok(())
    }

    /// Records when the person deleted their data or closed the account (once).
    pub async fn mark_identity_deleted(&self, subject: &str, now_ms: u64) -> Result<(), sqlx::Error> {
        sqlx::query("UPDATE identities SET deleted_at_ms = $2 WHERE subject_id = $1 AND deleted_at_ms IS NULL")
            .bind(subject)
            .bind(now_ms as i64)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Every person's identity data, for the retention job.
    pub async fn identities_for_retention(&self) -> Result<Vec<IdentityRetentionRow>, sqlx::Error> {
        let rows = sqlx::query("SELECT subject_id, created_at_ms, deleted_at_ms FROM identities").fetch_all(&self.pool).await?;
        rows.iter()
            .map(|r| {
                Ok(IdentityRetentionRow {
                    subject_id: r.try_get("subject_id")?,
                    created_at_ms: r.try_get("created_at_ms")?,
                    deleted_at_ms: r.try_get("deleted_at_ms")?,
                })
            })
            .collect()
    }

    /// Whether a session's device info is stored.
    pub async fn has_session_device(&self, session: &str) -> Result<bool, sqlx::Error> {
        let exists: Option<String> =
            sqlx::query_scalar("SELECT session_id FROM session_devices WHERE session_id = $1").bind(session).fetch_optional(&self.pool).await?;
        Ok(exists.is_some())
    }

    /// Stores a session's sealed device info, unless some is stored already.
    pub async fn insert_session_device(&self, session: &str, sealed_hex: &str, now_ms: u64) -> Result<(), sqlx::Error> {
        sqlx::query("INSERT INTO session_devices (session_id, sealed_hex, created_at_ms) VALUES ($1, $2, $3) ON CONFLICT (session_id) DO NOTHING")
            .bind(session)
            .bind(sealed_hex)
            .bind(now_ms as i64)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// A session's sealed device info, hex.
    pub async fn session_device_sealed(&self, session: &str) -> Result<Option<String>, sqlx::Error> {
        sqlx::query_scalar("SELECT sealed_hex FROM session_devices WHERE session_id = $1").bind(session).fetch_optional(&self.pool).await
    }

    /// When a session's device info was stored, Unix ms.
    pub async fn session_device_created(&self, session: &str) -> Result<Option<i64>, sqlx::Error> {
        sqlx::query_scalar("SELECT created_at_ms FROM session_devices WHERE session_id = $1").bind(session).fetch_optional(&self.pool).await
    }

    /// Deletes a session's device info row.
    pub async fn delete_session_device(&self, session: &str) -> Result<(), sqlx::Error> {
        sqlx::query("DELETE FROM session_devices WHERE session_id = $1").bind(session).execute(&self.pool).await?;
        Ok(())
    }

    /// Records a disclosure.
    pub async fn insert_disclosure(&self, d: &DisclosureRow) -> Result<(), sqlx::Error> {
        sqlx::query("INSERT INTO disclosures (id, subject_id, recipient, kind, data_json, basis_json, at_ms) VALUES ($1, $2, $3, $4, $5, $6, $7)")
            .bind(&d.id)
            .bind(&d.subject_id)
            .bind(&d.recipient)
            .bind(&d.kind)
            .bind(&d.data_json)
            .bind(&d.basis_json)
            .bind(d.at_ms)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The disclosures recorded for `subject`, oldest first.
    pub async fn disclosures(&self, subject: &str) -> Result<Vec<DisclosureRow>, sqlx::Error> {
        let rows = sqlx::query("SELECT id, subject_id, recipient, kind, data_json, basis_json, at_ms FROM disclosures WHERE subject_id = $1 ORDER BY at_ms, id")
            .bind(subject)
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| {
                Ok(DisclosureRow {
                    id: r.try_get("id")?,
                    subject_id: r.try_get("subject_id")?,
                    recipient: r.try_get("recipient")?,
                    kind: r.try_get("kind")?,
                    data_json: r.try_get("data_json")?,
                    basis_json: r.try_get("basis_json")?,
                    at_ms: r.try_get("at_ms")?,
                })
            })
            .collect()
    }
}
