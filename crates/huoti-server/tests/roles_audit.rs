//! Staff roles and the audit log (S2, C4): every route × every role (and no key) against the
//! least-privilege matrix, and a tampered audit entry named by the verifier, on SQLite and on
//! PostgreSQL.

mod common;

use std::collections::BTreeSet;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::{call, setup_on};
use huoti_server::Clock;
use huoti_server::privacy::audit;
use huoti_server::ROUTES;
use huoti_server::http::auth::{self, Access, ROLES};
use serde_json::{Value, json};

fn concrete(path: &str, session: &str) -> String {
    path.replace("{id}", session)
        .replace("{subject_ref}", "person-1")
        .replace("{scope}", "device_info")
        .replace("{request_id}", "rq_0000")
        .replace("{sample_id}", "sm_0000")
}

fn request(method: &str, path: &str, session: &str, key: Option<&str>) -> Request<Body> {
    let mut b = Request::builder().method(method.to_ascii_uppercase().as_str()).uri(concrete(path, session)).header("huoti-purpose", "matrix test");
    if let Some(k) = key {
        b = b.header("authorization", format!("Bearer {k}"));
    }
    if method == "get" || method == "delete" {
        b.body(Body::empty()).unwrap()
    } else {
        b.header("content-type", "application/json").body(Body::from("{}")).unwrap()
    }
}

#[tokio::test]
async fn s2_every_route_by_every_role_follows_the_least_privilege_matrix() {
    let env = setup_on("sqlite").await;
    // The table covers exactly the routes of the OpenAPI document: a new route without a
    // matrix entry fails here.
    let (_, doc) = call(&env.app, Request::get("/v1/openapi.json").body(Body::empty()).unwrap()).await;
    let documented: BTreeSet<(String, String)> = doc["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(p, ops)| ops.as_object().unwrap().keys().map(move |m| (m.clone(), p.clone())))
        .collect();
    let table: BTreeSet<(String, String)> = ROUTES.iter().map(|(m, p, _)| (m.to_string(), p.to_string())).collect();
    assert_eq!(documented, table, "routes in the OpenAPI document vs privacy::auth::ROUTES");

    let mut keys = Vec::new();
    for role in ROLES {
        keys.push((role, auth::create_api_key(&env.state.db, role.as_str(), role, common::T0).await.unwrap()));
    }
    // A real session, so that client-token routes reach their token check.
    let (_, s) = call(&env.app, common::create(&keys[0].1, json!({}))).await;
    let session = s["session_id"].as_str().unwrap().to_owned();
    for &(method, path, access) in ROUTES {
        let (status, v) = call(&env.app, request(method, path, &session, None)).await;
        match access {
            // (readyz answers 503 here: no models are loaded in these tests.)
            Access::Public => assert!(status != StatusCode::UNAUTHORIZED && status != StatusCode::FORBIDDEN, "{method} {path} without credentials: {status} {v}"),
            Access::Key(_) => assert_eq!((status, v["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("unauthorized")), "{method} {path}"),
            Access::ClientToken => assert_eq!(v["code"], "invalid_client_token", "{method} {path}"),
            Access::LinkToken => assert_eq!(v["code"], "invalid_link_token", "{method} {path}"),
        }
        let Access::Key(_) = access else { continue };
        for (role, key) in &keys {
            let (status, v) = call(&env.app, request(method, path, &session, Some(key))).await;
            if auth::allowed(access, *role) {
                assert!(status != StatusCode::UNAUTHORIZED && status != StatusCode::FORBIDDEN, "{method} {path} as {}: {status} {v}", role.as_str());
            } else {
                assert_eq!((status, v["code"].as_str()), (StatusCode::FORBIDDEN, Some("forbidden")), "{method} {path} as {}: {v}", role.as_str());
            }
        }
    }
}

async fn tamper(url: &str, sql: &str) {
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(url).await.unwrap();
    sqlx::query(sql).execute(&pool).await.unwrap();
    pool.close().await;
}

#[tokio::test]
async fn s2_c4_audit_log_is_hash_chained_and_names_the_first_tampered_entry() {
    for backend in common::backends() {
        let env = setup_on(backend).await;
        let officer = auth::create_api_key(&env.state.db, "po", huoti_privacy::Role::PrivacyOfficer, common::T0).await.unwrap();
        let auditor = auth::create_api_key(&env.state.db, "au", huoti_privacy::Role::Auditor, common::T0).await.unwrap();
        // Three audited staff writes: publishing policy versions.
        for i in 0..3 {
            env.clock.advance_ms(1000);
            let body = json!({"version": format!("v-test-{i}"), "text": "text; contact privacy@huoti.example", "material_change": false,
                              "privacy_contact": "privacy@huoti.example", "purpose": "yearly review"});
            let (status, v) = call(&env.app, common::bearer("POST", "/v1/admin/policy-versions", &officer, Some(body))).await;
            assert_eq!(status, StatusCode::CREATED, "{backend}: {v}");
        }
        let get = |uri: &'static str| call(&env.app, common::bearer("GET", uri, &auditor, None));
        let (status, log) = get("/v1/admin/audit").await;
        assert_eq!(status, StatusCode::OK);
        let log = log.as_array().unwrap().clone();
        assert_eq!(log.len(), 3);
        let officer_id = &officer[3..19];
        for (i, e) in log.iter().enumerate() {
            assert_eq!((e["seq"].as_u64(), e["actor"].as_str(), e["role"].as_str()), (Some(i as u64), Some(officer_id), Some("privacy_officer")));
            assert_eq!((e["purpose"].as_str(), e["action"].as_str()), (Some("yearly review"), Some("publish_policy_version")));
            assert!(!e.to_string().contains(&officer[20..]), "no secret in the log");
        }
        assert_eq!(get("/v1/admin/audit/verify").await.1["ok"], true, "{backend}");
        // A missing purpose is refused, and nothing is appended.
        let body = json!({"version": "v-x", "text": "t privacy@huoti.example", "material_change": false, "privacy_contact": "privacy@huoti.example", "purpose": ""});
        let req = Request::post("/v1/admin/policy-versions").header("authorization", format!("Bearer {officer}")).body(Body::from(body.to_string())).unwrap();
        assert_eq!(call(&env.app, req).await.1["code"], "purpose_required");

        // Someone edits entry 1 in the database.
        tamper(&env.state.config.database_url(), "UPDATE audit_log SET purpose = 'nothing to see' WHERE seq = 1").await;
        let (_, v) = get("/v1/admin/audit/verify").await;
        assert_eq!((v["ok"].as_bool(), v["first_bad_seq"].as_u64()), (Some(false), Some(1)), "{backend}: {v}");
        let direct = audit::verify(&env.state.db).await.unwrap();
        assert_eq!(direct.first_bad_seq, Some(1));
        // Deleting an entry is named too.
        tamper(&env.state.config.database_url(), "DELETE FROM audit_log WHERE seq = 0").await;
        assert_eq!(audit::verify(&env.state.db).await.unwrap().first_bad_seq, Some(0), "{backend}");
    }
}

const DAY: u64 = 86_400_000;

/// One audited staff write (publishing a policy version) at the clock's time.
async fn audited_write(env: &common::Env, officer: &str, n: u32) {
    let body = json!({"version": format!("v-l5-{n}"), "text": "text; contact privacy@huoti.example", "material_change": false,
                      "privacy_contact": "privacy@huoti.example", "purpose": "yearly review"});
    let (status, v) = call(&env.app, common::bearer("POST", "/v1/admin/policy-versions", officer, Some(body))).await;
    assert_eq!(status, StatusCode::CREATED, "{v}");
}

#[tokio::test]
async fn l5_audit_log_is_kept_three_years_then_pruned_from_the_front_and_still_verifies() {
    for backend in common::backends() {
        let env = setup_on(backend).await;
        let officer = auth::create_api_key(&env.state.db, "po", huoti_privacy::Role::PrivacyOfficer, common::T0).await.unwrap();
        for n in 0..4 {
            env.clock.advance_ms(1000);
            audited_write(&env, &officer, n).await;
        }
        env.clock.advance_ms(700 * DAY);
        audited_write(&env, &officer, 4).await;
        let seqs = |env: &common::Env| {
            let db = env.state.db.clone();
            async move { db.audit_entries().await.unwrap().iter().map(|e| e.seq).collect::<Vec<_>>() }
        };
        let run = |dry| huoti_server::retention::run(&env.state, dry);

        // Just under 3 years after the first four: nothing goes.
        env.clock.set_ms(common::T0 + 1095 * DAY);
        assert_eq!(run(false).await.unwrap().categories["audit_log"].deleted, 0, "{backend}");
        assert_eq!(seqs(&env).await, [0, 1, 2, 3, 4]);
        // Three years on: the dry run counts them, the run deletes them; the rest verifies
        // from the anchor they left.
        env.clock.set_ms(common::T0 + 1096 * DAY + 10_000);
        let dry = run(true).await.unwrap();
        assert_eq!((dry.categories["audit_log"].checked, dry.categories["audit_log"].due, dry.categories["audit_log"].deleted), (5, 4, 0), "{backend}");
        assert_eq!(seqs(&env).await.len(), 5, "a dry run changes nothing");
        // A long log is walked a window at a time; the outcome is the same.
        let (policy, now) = (env.state.config.retention.policy(), env.clock.now_ms());
        assert_eq!(audit::prune_windowed(&env.state.db, &policy, now, true, 2).await.unwrap(), (5, 4), "{backend}");
        assert_eq!(audit::prune_windowed(&env.state.db, &policy, now, false, 3).await.unwrap(), (5, 4), "{backend}");
        assert_eq!(seqs(&env).await, [4]);
        let v = audit::verify(&env.state.db).await.unwrap();
        assert_eq!((v.ok, v.entries, v.pruned_through), (true, 1, Some(3)), "{backend}: {v:?}");
        // The chain goes on from there.
        audited_write(&env, &officer, 5).await;
        assert_eq!(seqs(&env).await, [4, 5]);
        assert!(audit::verify(&env.state.db).await.unwrap().ok);

        // Everything old: all but the newest entry, which the chain continues from.
        env.clock.advance_ms(2000 * DAY);
        assert_eq!(run(false).await.unwrap().categories["audit_log"].deleted, 1, "{backend}");
        assert_eq!(seqs(&env).await, [5]);
        audited_write(&env, &officer, 6).await;
        assert_eq!(seqs(&env).await, [5, 6]);
        let v = audit::verify(&env.state.db).await.unwrap();
        assert_eq!((v.ok, v.pruned_through), (true, Some(4)), "{backend}: {v:?}");

        // Deleting a kept entry without the retention job, or forging the anchor: caught.
        let url = env.state.config.database_url();
        tamper(&url, "DELETE FROM audit_log WHERE seq = 5").await;
        assert_eq!(audit::verify(&env.state.db).await.unwrap().first_bad_seq, Some(5), "{backend}");
        tamper(&url, "UPDATE audit_anchor SET seq = 5").await;
        assert_eq!(audit::verify(&env.state.db).await.unwrap().first_bad_seq, Some(6), "{backend}: the forged anchor does not fit entry 6");
    }
}

#[tokio::test]
async fn l5_an_audit_retention_under_three_years_is_refused_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = huoti_server::ServerConfig { data_dir: dir.path().to_path_buf(), ..Default::default() };
    c.retention.audit_log_days = 365;
    let e = c.validate().unwrap_err().to_string();
    assert!(e.contains("audit_log_days") && e.contains("L5"), "{e}");
    c.retention.audit_log_days = 1096;
    c.validate().unwrap();
}

#[tokio::test]
async fn l5_a_material_policy_version_is_published_only_with_an_impact_assessment_done_before_it() {
    let env = setup_on("sqlite").await;
    let officer = auth::create_api_key(&env.state.db, "po", huoti_privacy::Role::PrivacyOfficer, common::T0).await.unwrap();
    let (_, shipped) = call(&env.app, Request::get("/v1/policy").body(Body::empty()).unwrap()).await;
    assert_eq!(shipped["impact_assessment"]["reference"], "docs/IMPACT_ASSESSMENT.md", "the shipped version was assessed: {shipped}");
    let publish = |version: &str, material: bool, pia: Option<Value>| {
        let mut body = json!({"version": version, "text": "new processing; contact privacy@huoti.example", "material_change": material,
                              "privacy_contact": "privacy@huoti.example", "purpose": "new model"});
        if let Some(p) = pia {
            body["impact_assessment"] = p;
        }
        call(&env.app, common::bearer("POST", "/v1/admin/policy-versions", &officer, Some(body)))
    };
    // T0 is 2027-01-15 in China.
    for pia in [None, Some(json!({"reference": "PIA-9", "completed_on": "2027-01-16"})), Some(json!({"reference": "", "completed_on": "2027-01-01"}))] {
        let (status, v) = publish("2027-01", true, pia.clone()).await;
        assert_eq!((status, v["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("impact_assessment_required")), "{pia:?}: {v}");
    }
    let (_, v) = publish("2027-01", true, Some(json!({"reference": "PIA-9", "completed_on": "15/01/2027"}))).await;
    assert_eq!(v["code"], "invalid_request", "{v}");
    let (_, now) = call(&env.app, Request::get("/v1/policy").body(Body::empty()).unwrap()).await;
    assert_eq!(now["version"], shipped["version"], "nothing was published");
    // Assessed on the day itself: published, and shown with the version.
    let pia = json!({"reference": "PIA-9", "completed_on": "2027-01-15"});
    let (status, v) = publish("2027-01", true, Some(pia.clone())).await;
    assert_eq!(status, StatusCode::CREATED, "{v}");
    assert_eq!(v["impact_assessment"], pia);
    let (_, now) = call(&env.app, Request::get("/v1/policy").body(Body::empty()).unwrap()).await;
    assert_eq!((now["version"].as_str(), &now["impact_assessment"]), (Some("2027-01"), &pia));
    // A wording change does not alter the processing: no new assessment needed.
    assert_eq!(publish("2027-01.1", false, None).await.0, StatusCode::CREATED);
}
