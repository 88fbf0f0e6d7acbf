//! `incidents` (S3: what happened and whom it affects), `notices` (the outbox of notices to
//! people, the public and the regulator, so none is lost while a sender is down) and
//! `service_state` (service-wide facts: the wind-down, S6).

use sqlx::Row;

use super::Db;

/// A queued or sent notice, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoticeRow {
    /// `nt_…`.
    pub id: String,
    /// The incident it tells of (none for a wind-down notice).
    pub incident_id: Option<String>,
    /// `subject`, `public`, `regulator` or `wind_down`.
    pub kind: String,
    /// A person's id, `public` or `regulator`.
    pub recipient: String,
    /// The notice text members, JSON.
    pub body_json: String,
    /// When it was queued, Unix ms.
    pub created_at_ms: i64,
}

/// An incident as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncidentRow {
    /// When it was recorded, Unix ms.
    pub recorded_at_ms: i64,
    /// The request that recorded it (huoti-api `IncidentRequest`), JSON.
    pub request_json: String,
    /// How many people it affects.
    pub affected_subjects: i64,
    /// Its notices queued so far.
    pub notices_queued: i64,
    /// Its notices delivered so far.
    pub notices_sent: i64,
}

impl Db {
    /// Queues a notice.
    pub async fn insert_notice(&self, n: &NoticeRow) -> Result<(), sqlx::Error> {
        sqlx::query("INSERT INTO notices (id, incident_id, kind, recipient, body_json, created_at_ms) VALUES ($1, $2, $3, $4, $5, $6)")
            .bind(&n.id)
            .bind(&n.incident_id)
            .bind(&n.kind)
            .bind(&n.recipient)
            .bind(&n.body_json)
            .bind(n.created_at_ms)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Records an incident.
    pub async fn insert_incident(&self, id: &str, now_ms: u64, request_json: &str, affected: u64) -> Result<(), sqlx::Error> {
        sqlx::query("INSERT INTO incidents (id, recorded_at_ms, request_json, affected_subjects) VALUES ($1, $2, $3, $4)")
            .bind(id)
            .bind(now_ms as i64)
            .bind(request_json)
            .bind(affected as i64)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// An incident with its notice counts.
    pub async fn incident(&self, id: &str) -> Result<Option<IncidentRow>, sqlx::Error> {
        let Some(row) = sqlx::query("SELECT recorded_at_ms, request_json, affected_subjects FROM incidents WHERE id = $1").bind(id).fetch_optional(&self.pool).await?
        else {
            return Ok(None);
        };
        let queued: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM notices WHERE incident_id = $1").bind(id).fetch_one(&self.pool).await?;
        let sent: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM notices WHERE incident_id = $1 AND sent_at_ms IS NOT NULL").bind(id).fetch_one(&self.pool).await?;
        Ok(Some(IncidentRow {
            recorded_at_ms: row.try_get("recorded_at_ms")?,
            request_json: row.try_get("request_json")?,
            affected_subjects: row.try_get("affected_subjects")?,
            notices_queued: queued,
            notices_sent: sent,
        }))
    }

    /// The newest `limit` incidents' ids, newest first.
    pub async fn recent_incidents(&self, limit: i64) -> Result<Vec<String>, sqlx::Error> {
        sqlx::query_scalar("SELECT id FROM incidents ORDER BY recorded_at_ms DESC, id LIMIT $1").bind(limit).fetch_all(&self.pool).await
    }

    /// Every notice not yet delivered, oldest first.
    pub async fn unsent_notices(&self) -> Result<Vec<NoticeRow>, sqlx::Error> {
        let rows = sqlx::query("SELECT id, incident_id, kind, recipient, body_json, created_at_ms FROM notices WHERE sent_at_ms IS NULL ORDER BY created_at_ms, id")
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| {
                Ok(NoticeRow {
                    id: r.try_get("id")?,
                    incident_id: r.try_get("incident_id")?,
                    kind: r.try_get("kind")?,
                    recipient: r.try_get("recipient")?,
                    body_json: r.try_get("body_json")?,
                    created_at_ms: r.try_get("created_at_ms")?,
                })
            })
            .collect()
    }

    /// Records a delivery attempt: `sent_at_ms` when it was delivered.
    pub async fn notice_attempted(&self, id: &str, sent_at_ms: Option<u64>) -> Result<(), sqlx::Error> {
        match sent_at_ms {
            Some(at) => sqlx::query("UPDATE notices SET sent_at_ms = $2, attempts = attempts + 1 WHERE id = $1").bind(id).bind(at as i64).execute(&self.pool).await?,
            None => sqlx::query("UPDATE notices SET attempts = attempts + 1 WHERE id = $1").bind(id).execute(&self.pool).await?,
        };
        Ok(())
    }

    /// The value of a service-wide fact, if set.
    pub async fn service_state(&self, name: &str) -> Result<Option<String>, sqlx::Error> {
        sqlx::query_scalar("SELECT value FROM service_state WHERE name = $1").bind(name).fetch_optional(&self.pool).await
    }

    /// Sets a service-wide fact once: true when this call set it, false when it was set.
    pub async fn set_service_state_once(&self, name: &str, value: &str, now_ms: u64) -> Result<bool, sqlx::Error> {
        let r = sqlx::query("INSERT INTO service_state (name, value, at_ms) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING")
            .bind(name)
            .bind(value)
            .bind(now_ms as i64)
            .execute(&self.pool)
            .await?;
        Ok(r.rows_affected() == 1)
    }

    /// When a service-wide fact was set, Unix ms (an error when it is not).
    pub async fn service_state_since(&self, name: &str) -> Result<i64, sqlx::Error> {
        sqlx::query_scalar("SELECT at_ms FROM service_state WHERE name = $1").bind(name).fetch_one(&self.pool).await
    }
}
