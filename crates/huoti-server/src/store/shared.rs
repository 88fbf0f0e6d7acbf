//! State that every node must share (issue 20): `seen_frames` (frame hashes of analysed
//! sessions, for the cross-session replay check) and `rate_buckets` (the frame-upload rate
//! limit). The abuse lock's memory is `failures` ([`super::sessions`]); revoked keys are rows
//! of `api_keys`. SQLite serves one node; PostgreSQL any number.

use sqlx::Row;

use super::Db;
use crate::clock::take_token;

/// How many times a rate-limit update is tried against concurrent updates of the same bucket.
const CAS_TRIES: usize = 16;

/// One recorded frame hash: the session it was seen in, the hash, when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeenHash {
    /// The session whose frame it was.
    pub session_id: String,
    /// The frame hash (`FrameObservation::frame_hash`).
    pub hash: u64,
    /// When it was recorded, Unix ms.
    pub at_ms: u64,
}

/// The four 16-bit chunks of a hash, as stored in `c0`…`c3`.
fn chunks(hash: u64) -> [i64; 4] {
    [0, 1, 2, 3].map(|k| i64::from((hash >> (16 * k)) as u16))
}

impl Db {
    /// Records the frame hashes of `session` at `now_ms`, in one transaction (replay check).
    pub async fn record_seen_frames(&self, session: &str, hashes: &[u64], now_ms: u64) -> Result<(), sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        for &h in hashes {
            let [c0, c1, c2, c3] = chunks(h);
            sqlx::query("INSERT INTO seen_frames (session_id, hash, c0, c1, c2, c3, at_ms) VALUES ($1, $2, $3, $4, $5, $6, $7)")
                .bind(session)
                .bind(h as i64)
                .bind(c0)
                .bind(c1)
                .bind(c2)
                .bind(c3)
                .bind(now_ms as i64)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await
    }

    /// Hashes recorded after `since_ms` by sessions other than `session` that share a 16-bit
    /// chunk with one of `hashes` — every hash within 3 bits of one of them is among these
    /// (pigeonhole). With `all`, every hash recorded after `since_ms` (wider searches).
    pub async fn seen_candidates(&self, session: &str, hashes: &[u64], since_ms: u64, all: bool) -> Result<Vec<SeenHash>, sqlx::Error> {
        if hashes.is_empty() && !all {
            return Ok(Vec::new());
        }
        let mut values: Vec<Vec<i64>> = vec![Vec::new(); 4];
        for &h in hashes {
            for (k, c) in chunks(h).into_iter().enumerate() {
                if !values[k].contains(&c) {
                    values[k].push(c);
                }
            }
        }
        let mut sql = "SELECT session_id, hash, at_ms FROM seen_frames WHERE at_ms > $1 AND session_id <> $2".to_owned();
        let mut n = 2;
        if !all {
            let groups: Vec<String> = values
                .iter()
                .enumerate()
                .map(|(k, vs)| {
                    let marks: Vec<String> = vs.iter().map(|_| {
                        n += 1;
                        format!("${n}")
                    }).collect();
                    format!("c{k} IN ({})", marks.join(", "))
                })
                .collect();
            sql.push_str(&format!(" AND ({})", groups.join(" OR ")));
        }
        sql.push_str(" ORDER BY at_ms");
        let mut q = sqlx::query(&sql).bind(since_ms as i64).bind(session);
        if !all {
            for v in values.iter().flatten() {
                q = q.bind(*v);
            }
        }
        let rows = q.fetch_all(&self.pool).await?;
        rows.iter()
            .map(|r| {
                Ok(SeenHash {
                    session_id: r.try_get("session_id")?,
                    hash: r.try_get::<i64, _>("hash")? as u64,
                    at_ms: r.try_get::<i64, _>("at_ms")?.max(0) as u64,
                })
            })
            .collect()
    }

    /// Forgets frame hashes recorded at or before `before_ms` (S1); returns how many.
    pub async fn prune_seen_frames(&self, before_ms: u64) -> Result<u64, sqlx::Error> {
        let before = before_ms.min(i64::MAX as u64) as i64;
        let r = sqlx::query("DELETE FROM seen_frames WHERE at_ms <= $1").bind(before).execute(&self.pool).await?;
        Ok(r.rows_affected())
    }

    /// Takes one token from `bucket` at `now_ms` (`rate` per second, `burst` capacity; see
    /// [`take_token`]), compare-and-set, so that requests through every node draw on one
    /// bucket. `Ok(Err(wait_s))`: none left, try again in `wait_s` seconds.
    pub async fn take_rate_token(&self, bucket: &str, now_ms: u64, rate: u32, burst: u32) -> Result<Result<(), u64>, sqlx::Error> {
        for _ in 0..CAS_TRIES {
            let row = sqlx::query("SELECT tokens_milli, updated_at_ms FROM rate_buckets WHERE bucket = $1").bind(bucket).fetch_optional(&self.pool).await?;
            let Some(row) = row else {
                let full = i64::from(burst) * 1000;
                let left = match take_token(full, now_ms, now_ms, rate, burst) {
                    Ok(left) => left,
                    Err(wait) => return Ok(Err(wait)),
                };
                let r = sqlx::query("INSERT INTO rate_buckets (bucket, tokens_milli, updated_at_ms) VALUES ($1, $2, $3) ON CONFLICT (bucket) DO NOTHING")
                    .bind(bucket)
                    .bind(left)
                    .bind(now_ms as i64)
                    .execute(&self.pool)
                    .await?;
                if r.rows_affected() == 1 {
                    return Ok(Ok(()));
                }
                continue;
            };
            let (tokens, updated): (i64, i64) = (row.try_get("tokens_milli")?, row.try_get("updated_at_ms")?);
            let left = match take_token(tokens, updated.max(0) as u64, now_ms, rate, burst) {
                Ok(left) => left,
                Err(wait) => return Ok(Err(wait)),
            };
            // Another node's clock may be a little behind: time never runs back in the bucket.
            let stamp = (now_ms as i64).max(updated);
            let r = sqlx::query("UPDATE rate_buckets SET tokens_milli = $2, updated_at_ms = $3 WHERE bucket = $1 AND tokens_milli = $4 AND updated_at_ms = $5")
                .bind(bucket)
                .bind(left)
                .bind(stamp)
                .bind(tokens)
                .bind(updated)
                .execute(&self.pool)
                .await?;
            if r.rows_affected() == 1 {
                return Ok(Ok(()));
            }
        }
        // Contended beyond reason: the caller answers "try again in a second".
        Ok(Err(1))
    }

    /// Forgets a bucket (its session is over).
    pub async fn forget_rate_bucket(&self, bucket: &str) -> Result<(), sqlx::Error> {
        sqlx::query("DELETE FROM rate_buckets WHERE bucket = $1").bind(bucket).execute(&self.pool).await?;
        Ok(())
    }

    /// Forgets buckets untouched since `before_ms` (a full bucket needs no row).
    pub async fn prune_rate_buckets(&self, before_ms: u64) -> Result<u64, sqlx::Error> {
        let r = sqlx::query("DELETE FROM rate_buckets WHERE updated_at_ms < $1").bind(before_ms.min(i64::MAX as u64) as i64).execute(&self.pool).await?;
        Ok(r.rows_affected())
    }
}
