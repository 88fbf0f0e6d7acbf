//! `huoti admin keys list | revoke`: what keys exist (never their secrets), and ending one.

use huoti_server::store::Db;

use crate::exit::Exit;

/// A stored Unix-ms time as RFC 3339 (UTC), or `-`.
pub fn when(ms: Option<i64>) -> String {
    ms.and_then(|ms| time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).ok())
        .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())
        .unwrap_or_else(|| "-".into())
}

/// Prints every key: a table, or JSON with `json`.
pub async fn list(db: &Db, json: bool) -> Exit {
    let keys = match db.list_api_keys().await {
        Ok(k) => k,
        Err(e) => {
            eprintln!("error: {e}");
            return Exit::Setup;
        }
    };
    if json {
        match serde_json::to_string_pretty(&keys) {
            Ok(text) => println!("{text}"),
            Err(e) => {
                eprintln!("error: {e}");
                return Exit::Setup;
            }
        }
        return Exit::Ok;
    }
    let now = huoti_server::Clock::now_ms(&huoti_server::SystemClock) as i64;
    println!("{:<16}  {:<15}  {:<10}  {:<20}  {:<20}  name", "id", "role", "state", "created", "expires");
    for k in &keys {
        let state = match (k.revoked_at_ms, k.expires_at_ms) {
            (Some(_), _) => "revoked",
            (None, Some(at)) if now >= at => "expired",
            _ => "active",
        };
        println!("{:<16}  {:<15}  {:<10}  {:<20}  {:<20}  {}", k.id, k.role, state, when(Some(k.created_at_ms)), when(k.expires_at_ms), k.name);
    }
    Exit::Ok
}

/// Revokes the key with this id (`hk_<id>.…` accepted; the secret is never needed).
pub async fn revoke(db: &Db, given: &str) -> Exit {
    let id = given.trim().strip_prefix("hk_").unwrap_or(given.trim());
    let id = id.split_once('.').map_or(id, |(id, _)| id);
    if id.len() != 16 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
        eprintln!("error: a key id is the 16 hex digits after `hk_`");
        return Exit::BadInput;
    }
    let now = huoti_server::Clock::now_ms(&huoti_server::SystemClock);
    match db.revoke_api_key(id, now).await {
        Ok(true) => {
            println!("revoked {id}: refused by every server from its next request");
            Exit::Ok
        }
        Ok(false) => match db.api_key_record(id).await {
            Ok(Some(_)) => {
                println!("{id} was already revoked");
                Exit::Ok
            }
            Ok(None) => {
                eprintln!("error: no key {id}");
                Exit::BadInput
            }
            Err(e) => {
                eprintln!("error: {e}");
                Exit::Setup
            }
        },
        Err(e) => {
            eprintln!("error: {e}");
            Exit::Setup
        }
    }
}
