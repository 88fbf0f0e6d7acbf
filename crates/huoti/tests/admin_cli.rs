//! `huoti admin` (S2, C4): keys with roles printed once, and `audit verify` naming the first
//! tampered entry with a non-zero exit, on SQLite and on PostgreSQL
//! (`HUOTI_TEST_POSTGRES_URL`, a fresh schema per run).

use std::process::Command;

use huoti_server::http::auth;
use huoti_server::privacy::audit;

fn backends() -> Vec<&'static str> {
    if std::env::var("HUOTI_TEST_POSTGRES_URL").is_ok() {
        vec!["sqlite", "postgres"]
    } else {
        eprintln!("HUOTI_TEST_POSTGRES_URL not set: PostgreSQL run skipped");
        vec!["sqlite"]
    }
}

/// `HUOTI_DATABASE_URL` for the backend (empty: SQLite in the data directory).
async fn database_url(backend: &str) -> String {
    if backend == "sqlite" {
        return String::new();
    }
    let base = std::env::var("HUOTI_TEST_POSTGRES_URL").unwrap();
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    let schema = format!("cli_{}_{nanos:x}", std::process::id());
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&base).await.unwrap();
    sqlx::raw_sql(&format!("CREATE SCHEMA {schema}")).execute(&pool).await.unwrap();
    let sep = if base.contains('?') { '&' } else { '?' };
    format!("{base}{sep}options=-c%20search_path%3D{schema}")
}

fn admin(dir: &std::path::Path, url: &str, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_huoti"))
        .arg("admin")
        .args(args)
        .arg("--data-dir")
        .arg(dir)
        .env("HUOTI_DATABASE_URL", url)
        .output()
        .unwrap();
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

#[tokio::test]
async fn s2_c4_admin_keys_have_roles_and_audit_verify_names_the_tampered_entry() {
    for backend in backends() {
        let dir = tempfile::tempdir().unwrap();
        let url = database_url(backend).await;
        let db_url = if url.is_empty() { format!("sqlite://{}?mode=rwc", dir.path().join("huoti.db").display()) } else { url.clone() };

        let (code, key, err) = admin(dir.path(), &url, &["keys", "create", "--role", "privacy_officer", "--name", "Officer A"]);
        assert_eq!(code, 0, "{backend}: {err}");
        let key = key.trim();
        let (id, secret) = key.strip_prefix("hk_").and_then(|k| k.split_once('.')).expect("hk_<id>.<secret>");
        assert!(id.len() == 16 && id.bytes().all(|b| b.is_ascii_hexdigit()) && !secret.is_empty());
        let (code, _, err) = admin(dir.path(), &url, &["keys", "create", "--role", "superuser", "--name", "x"]);
        assert_ne!(code, 0, "unknown role refused: {err}");

        let db = huoti_server::store::Db::connect(&db_url).await.unwrap();
        // Only the hash of the secret is stored, with the role.
        let (hash, role) = db.api_key(id).await.unwrap().unwrap();
        assert!(hash != secret && !hash.contains(secret));
        assert_eq!(role, "privacy_officer");
        let who = auth::Caller { key_id: id.into(), role: huoti_privacy::Role::PrivacyOfficer };
        for i in 0..4 {
            audit::record(&db, &who, "complaint 7 follow-up", "read_subject", &format!("sub_{i}"), 1_800_000_000_000 + i).await.unwrap();
        }
        let (code, out, err) = admin(dir.path(), &url, &["audit", "verify"]);
        assert_eq!(code, 0, "{backend}: {out}{err}");
        assert!(out.contains("intact: 4 entries"), "{out}");

        sqlx::any::install_default_drivers();
        let pool = sqlx::AnyPool::connect(&db_url).await.unwrap();
        sqlx::query("UPDATE audit_log SET target = 'sub_x' WHERE seq = 2").execute(&pool).await.unwrap();
        let (code, out, _) = admin(dir.path(), &url, &["audit", "verify"]);
        assert_eq!(code, 1, "{backend}: {out}");
        assert!(out.contains("first bad entry is seq 2"), "{backend}: {out}");
    }
}

#[tokio::test]
async fn s2_admin_keys_list_shows_no_secret_and_revoke_ends_a_key_at_once() {
    for backend in backends() {
        let dir = tempfile::tempdir().unwrap();
        let url = database_url(backend).await;
        let db_url = if url.is_empty() { format!("sqlite://{}?mode=rwc", dir.path().join("huoti.db").display()) } else { url.clone() };
        let (code, key, err) = admin(dir.path(), &url, &["keys", "create", "--role", "integrator", "--name", "Shop", "--expires-in-days", "30"]);
        assert_eq!(code, 0, "{backend}: {err}");
        assert!(err.contains("valid until"), "{err}");
        let key = key.trim().to_owned();
        let (id, secret) = key.strip_prefix("hk_").and_then(|k| k.split_once('.')).unwrap();
        let (code, _, err) = admin(dir.path(), &url, &["keys", "create", "--role", "auditor", "--name", "Audit"]);
        assert_eq!(code, 0, "{err}");
        let (code, _, _) = admin(dir.path(), &url, &["keys", "create", "--role", "integrator", "--name", "x", "--expires-in-days", "0"]);
        assert_ne!(code, 0, "{backend}: zero days refused");

        let (code, table, err) = admin(dir.path(), &url, &["keys", "list"]);
        assert_eq!(code, 0, "{backend}: {err}");
        assert!(!table.contains(secret), "never a secret: {table}");
        let row = table.lines().find(|l| l.starts_with(id)).unwrap_or_else(|| panic!("{table}"));
        assert!(row.contains("integrator") && row.contains("active") && row.contains("Shop"), "{row}");

        // Revoke by the whole key or by its id; the second time says so and still exits 0.
        let (code, out, err) = admin(dir.path(), &url, &["keys", "revoke", &key]);
        assert_eq!(code, 0, "{backend}: {err}");
        assert!(out.contains(&format!("revoked {id}")), "{out}");
        let (code, out, _) = admin(dir.path(), &url, &["keys", "revoke", id]);
        assert_eq!((code, out.contains("already revoked")), (0, true), "{out}");
        let (code, _, err) = admin(dir.path(), &url, &["keys", "revoke", "0123456789abcdef"]);
        assert_ne!(code, 0, "{backend}: an unknown key: {err}");
        let (code, _, _) = admin(dir.path(), &url, &["keys", "revoke", "é"]);
        assert_ne!(code, 0, "not a key id");

        let (code, json, _) = admin(dir.path(), &url, &["keys", "list", "--json"]);
        assert_eq!(code, 0);
        let listed: serde_json::Value = serde_json::from_str(&json).unwrap();
        let mine = listed.as_array().unwrap().iter().find(|k| k["id"] == id).unwrap();
        assert!(mine["revoked_at_ms"].is_i64() && mine["expires_at_ms"].is_i64(), "{mine}");
        assert!(!json.contains(secret) && !json.contains("key_hash"), "{json}");
        let db = huoti_server::store::Db::connect(&db_url).await.unwrap();
        let record = db.api_key_record(id).await.unwrap().unwrap();
        let days = (record.expires_at_ms.unwrap() - mine["created_at_ms"].as_i64().unwrap()) / 86_400_000;
        assert_eq!(days, 30, "{backend}");
    }
}
