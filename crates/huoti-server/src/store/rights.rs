//! `rights_requests` (a person's requests and complaints, R1–R9, with their due dates) and
//! `link_tokens` (the short-lived tokens that open the privacy page, stored as hashes).

use sqlx::Row;
use sqlx::any::AnyRow;

use super::Db;

/// A rights request or complaint as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RightsRequestRow {
    /// `rq_…`.
    pub id: String,
    /// The person who made it.
    pub subject_id: String,
    /// Wire kind: `access`, `export`, `correction`, `deletion`, `closure`, `complaint`, `other`.
    pub kind: String,
    /// For a correction: the field to correct.
    pub field: Option<String>,
    /// For a correction: the field is one that needs identity verification (R2).
    pub verified_field: bool,
    /// For a deletion: the person says the data was collected unlawfully (R7: no minimum).
    pub unlawful: bool,
    /// `open`, `identity_verified`, `completed` or `refused`.
    pub status: String,
    /// When it was received, Unix ms.
    pub received_at_ms: i64,
    /// When staff verified the person's identity (R6's clock starts), Unix ms.
    pub identity_verified_at_ms: Option<i64>,
    /// `YYYY-MM-DD`, once known (closure and complaints from receipt, the rest from
    /// verification).
    pub due_date: Option<String>,
    /// The due date was counted into a year the calendar did not cover (Monday–Friday there):
    /// counted again when a calendar covering it is installed.
    pub due_provisional: bool,
    /// The R8 ground of a refusal.
    pub refusal_ground: Option<String>,
}

/// A new request, as received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRightsRequest<'a> {
    /// `rq_…`.
    pub id: &'a str,
    /// The person making it.
    pub subject_id: &'a str,
    /// Wire kind.
    pub kind: &'a str,
    /// For a correction: the field.
    pub field: Option<&'a str>,
    /// For a correction: a field that needs identity verification.
    pub verified_field: bool,
    /// For a deletion: collected unlawfully (R7).
    pub unlawful: bool,
    /// The person's own words.
    pub details: &'a str,
    /// When it was received, Unix ms.
    pub received_at_ms: u64,
    /// The due date, when it runs from receipt.
    pub due_date: Option<&'a str>,
    /// Whether that date is provisional (see [`RightsRequestRow::due_provisional`]).
    pub due_provisional: bool,
}

fn request_from(r: &AnyRow) -> Result<RightsRequestRow, sqlx::Error> {
    Ok(RightsRequestRow {
        id: r.try_get("id")?,
        subject_id: r.try_get("subject_id")?,
        kind: r.try_get("kind")?,
        field: r.try_get("field")?,
        verified_field: r.try_get::<i64, _>("verified_field")? != 0,
        unlawful: r.try_get::<i64, _>("unlawful")? != 0,
        status: r.try_get("status")?,
        received_at_ms: r.try_get("received_at_ms")?,
        identity_verified_at_ms: r.try_get("identity_verified_at_ms")?,
        due_date: r.try_get("due_date")?,
        due_provisional: r.try_get::<i64, _>("due_provisional")? != 0,
        refusal_ground: r.try_get("refusal_ground")?,
    })
}

impl Db {
    async fn requests_where(&self, clause: &str, arg: &str) -> Result<Vec<RightsRequestRow>, sqlx::Error> {
        let q = format!("SELECT * FROM rights_requests WHERE {clause} ORDER BY received_at_ms, id");
        let rows = sqlx::query(&q).bind(arg).fetch_all(&self.pool).await?;
        rows.iter().map(request_from).collect()
    }

    /// Every request, oldest first.
    pub async fn rights_requests(&self) -> Result<Vec<RightsRequestRow>, sqlx::Error> {
        self.requests_where("id <> $1", "").await
    }

    /// The requests neither completed nor refused, oldest first.
    pub async fn unfinished_rights_requests(&self) -> Result<Vec<RightsRequestRow>, sqlx::Error> {
        self.requests_where("status <> $1 AND status <> 'refused'", "completed").await
    }

    /// A person's requests, oldest first.
    pub async fn subject_rights_requests(&self, subject_id: &str) -> Result<Vec<RightsRequestRow>, sqlx::Error> {
        self.requests_where("subject_id = $1", subject_id).await
    }

    /// A request by id.
    pub async fn rights_request(&self, id: &str) -> Result<Option<RightsRequestRow>, sqlx::Error> {
        Ok(self.requests_where("id = $1", id).await?.pop())
    }

    /// Stores a new request, `open`.
    pub async fn insert_rights_request(&self, r: &NewRightsRequest<'_>) -> Result<(), sqlx::Error> {
        sqlx::query(
            "INSERT INTO rights_requests (id, subject_id, kind, field, verified_field, unlawful, details, status, received_at_ms, due_date, due_provisional) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, 'open', $8, $9, $10)",
        )
        .bind(r.id)
        .bind(r.subject_id)
        .bind(r.kind)
        .bind(r.field)
        .bind(i64::from(r.verified_field))
        .bind(i64::from(r.unlawful))
        .bind(r.details)
        .bind(r.received_at_ms as i64)
        .bind(r.due_date)
        .bind(i64::from(r.due_provisional))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Records the identity verification and the due date it sets.
    pub async fn set_request_identity_verified(&self, id: &str, now_ms: u64, due_date: &str) -> Result<(), sqlx::Error> {
        sqlx::query("UPDATE rights_requests SET status = 'identity_verified', identity_verified_at_ms = $2, due_date = $3 WHERE id = $1")
            .bind(id)
            .bind(now_ms as i64)
            .bind(due_date)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The open requests whose due date is provisional, oldest first.
    pub async fn provisional_rights_requests(&self) -> Result<Vec<RightsRequestRow>, sqlx::Error> {
        self.requests_where("due_provisional = 1 AND status <> $1 AND status <> 'refused'", "completed").await
    }

    /// Replaces a provisional due date by a new count (official, or still provisional with a
    /// newer calendar). Only a row still provisional changes, so nodes recounting at the same
    /// time agree. Whether it changed.
    pub async fn recount_request_due(&self, id: &str, due_date: &str, provisional: bool) -> Result<bool, sqlx::Error> {
        let done = sqlx::query("UPDATE rights_requests SET due_date = $2, due_provisional = $3 WHERE id = $1 AND due_provisional = 1")
            .bind(id)
            .bind(due_date)
            .bind(i64::from(provisional))
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Marks a request completed.
    pub async fn complete_rights_request(&self, id: &str, now_ms: u64) -> Result<(), sqlx::Error> {
        sqlx::query("UPDATE rights_requests SET status = 'completed', closed_at_ms = $2 WHERE id = $1").bind(id).bind(now_ms as i64).execute(&self.pool).await?;
        Ok(())
    }

    /// Marks a request refused on `ground`, with the explanation given to the person.
    pub async fn refuse_rights_request(&self, id: &str, ground: &str, explanation: &str, now_ms: u64) -> Result<(), sqlx::Error> {
        sqlx::query("UPDATE rights_requests SET status = 'refused', refusal_ground = $2, refusal_explanation = $3, closed_at_ms = $4 WHERE id = $1")
            .bind(id)
            .bind(ground)
            .bind(explanation)
            .bind(now_ms as i64)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Stores a privacy-page link token (its hash).
    pub async fn insert_link_token(&self, token_hash: &str, subject_id: &str, expires_at_ms: u64) -> Result<(), sqlx::Error> {
        sqlx::query("INSERT INTO link_tokens (token_hash, subject_id, expires_at_ms) VALUES ($1, $2, $3)")
            .bind(token_hash)
            .bind(subject_id)
            .bind(expires_at_ms as i64)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The person and expiry (Unix ms) of a link token, by its hash.
    pub async fn link_token(&self, token_hash: &str) -> Result<Option<(String, i64)>, sqlx::Error> {
        let row = sqlx::query("SELECT subject_id, expires_at_ms FROM link_tokens WHERE token_hash = $1").bind(token_hash).fetch_optional(&self.pool).await?;
        row.map(|r| Ok((r.try_get("subject_id")?, r.try_get("expires_at_ms")?))).transpose()
    }

    /// Deletes the link tokens that expired by `now_ms` (the janitor: an expired token opens
    /// nothing, and its row links a hash to a person for no purpose); returns how many.
    pub async fn prune_link_tokens(&self, now_ms: u64) -> Result<u64, sqlx::Error> {
        let r = sqlx::query("DELETE FROM link_tokens WHERE expires_at_ms <= $1").bind(now_ms as i64).execute(&self.pool).await?;
        Ok(r.rows_affected())
    }
}
