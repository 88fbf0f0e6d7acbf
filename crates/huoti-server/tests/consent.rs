//! The consent ledger through the API (A1, A2, A3, C6, L1, L2, P2, R4, U2), on SQLite and on
//! PostgreSQL (`HUOTI_TEST_POSTGRES_URL`). No models: frames are only stored, never analysed.

mod common;

use axum::body::{Body, to_bytes};
use axum::http::{Request, StatusCode};
use common::{Env, bearer, call, consent, create, frame, frame_with, policy, setup_on};
use huoti_server::Clock;
use huoti_server::privacy::{policy as pol, training};
use huoti_server::store::PolicyRow;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tower::ServiceExt;

async fn frames_stored(env: &Env, s: &Value) -> usize {
    env.state.db.frames(s["session_id"].as_str().unwrap()).await.unwrap().len()
}

fn code(v: &(StatusCode, Value)) -> (StatusCode, Option<&str>) {
    (v.0, v.1["code"].as_str())
}

async fn session(env: &Env, body: Value) -> Value {
    let (status, s) = call(&env.app, create(&env.key, body)).await;
    assert_eq!(status, StatusCode::CREATED, "{s}");
    s
}

async fn publish(env: &Env, version: &str, material: bool) -> PolicyRow {
    let now = env.clock.now_ms();
    // L5: a material change comes with its impact assessment.
    let pia = material.then(|| pol::assessment_from("PIA-test", "2026-01-01").unwrap());
    let row = pol::row(version, &format!("policy text {version}; contact privacy@huoti.example"), material, now as i64, "privacy@huoti.example", &[], pia).unwrap();
    assert!(env.state.db.insert_policy(&row).await.unwrap());
    row
}

#[tokio::test]
async fn a1_l1_no_capture_without_consent() {
    for backend in common::backends() {
        let env = setup_on(backend).await;
        let s = session(&env, json!({})).await;
        // Nothing agreed yet: the frame is refused before its body is read, nothing stored.
        let got = call(&env.app, frame(&s, 0)).await;
        assert_eq!(code(&got), (StatusCode::FORBIDDEN, Some("consent_required")), "{backend}: {}", got.1);
        assert_eq!(frames_stored(&env, &s).await, 0, "{backend}");
        let (status, c) = consent(&env.app, &s, &["face_capture_and_upload"]).await;
        assert_eq!(status, StatusCode::CREATED, "{backend}: {c}");
        assert_eq!(c["policy_version"], policy(&env.app).await["version"], "the consent is recorded with the policy version");
        assert_eq!(c["scopes"], json!(["face_capture_and_upload"]));
        assert!(c["consent_id"].as_str().unwrap().starts_with("cn_"));
        let got = call(&env.app, frame(&s, 0)).await;
        assert_eq!(got.0, StatusCode::OK, "{backend}: {}", got.1);
        assert_eq!(frames_stored(&env, &s).await, 1, "{backend}");
    }
}

#[tokio::test]
async fn l1_consent_needs_the_face_scope_a_current_version_and_known_scopes() {
    for backend in common::backends() {
        let env = setup_on(backend).await;
        let s = session(&env, json!({})).await;
        let version = policy(&env.app).await["version"].as_str().unwrap().to_owned();
        let uri = format!("/v1/sessions/{}/consent", s["session_id"].as_str().unwrap());
        let token = s["client_token"].as_str().unwrap();
        let post = |body: Value| call(&env.app, bearer("POST", &uri, token, Some(body)));
        let got = post(json!({"policy_version": version, "scopes": ["device_info"], "channel": "sdk"})).await;
        assert_eq!(code(&got), (StatusCode::UNPROCESSABLE_ENTITY, Some("consent_scope_required")), "{backend}");
        let got = post(json!({"policy_version": "1999-01", "scopes": ["face_capture_and_upload"], "channel": "sdk"})).await;
        assert_eq!(code(&got), (StatusCode::CONFLICT, Some("policy_outdated")), "{backend}");
        assert!(got.1["detail"].as_str().unwrap().contains(&version), "the detail names the current version");
        let got = post(json!({"policy_version": version, "scopes": ["face_capture_and_upload", "everything"], "channel": "sdk"})).await;
        assert_eq!(code(&got), (StatusCode::BAD_REQUEST, Some("invalid_request")), "{backend}");
        let got = post(json!({"policy_version": version, "scopes": ["face_capture_and_upload"], "channel": "fax"})).await;
        assert_eq!(code(&got), (StatusCode::BAD_REQUEST, Some("invalid_request")), "{backend}");
        let got = call(&env.app, bearer("POST", &uri, "ct_wrong", Some(json!({"policy_version": version, "scopes": ["face_capture_and_upload"], "channel": "sdk"})))).await;
        assert_eq!(code(&got), (StatusCode::UNAUTHORIZED, Some("invalid_client_token")), "{backend}");
        // None of the refused ones counts.
        assert_eq!(code(&call(&env.app, frame(&s, 0)).await), (StatusCode::FORBIDDEN, Some("consent_required")));
    }
}

#[tokio::test]
async fn u2_a_recipient_the_policy_does_not_name_cannot_be_consented_to() {
    let env = setup_on("sqlite").await;
    let s = session(&env, json!({})).await;
    let version = policy(&env.app).await["version"].clone();
    let uri = format!("/v1/sessions/{}/consent", s["session_id"].as_str().unwrap());
    let body = json!({"policy_version": version, "scopes": ["face_capture_and_upload", "share_with:acme"], "channel": "web"});
    let got = call(&env.app, bearer("POST", &uri, s["client_token"].as_str().unwrap(), Some(body))).await;
    assert_eq!(code(&got), (StatusCode::BAD_REQUEST, Some("invalid_request")));
}

#[tokio::test]
async fn a1_material_change_forces_reconsent() {
    for backend in common::backends() {
        let env = setup_on(backend).await;
        let s1 = session(&env, json!({"subject_ref": "person-1"})).await;
        assert_eq!(consent(&env.app, &s1, &["face_capture_and_upload"]).await.0, StatusCode::CREATED);
        assert_eq!(call(&env.app, frame(&s1, 0)).await.0, StatusCode::OK);
        // The consent attaches to the subject: a later session of the same person is covered.
        env.clock.advance_ms(1_000);
        let s2 = session(&env, json!({"subject_ref": "person-1"})).await;
        assert_eq!(call(&env.app, frame(&s2, 0)).await.0, StatusCode::OK, "{backend}");
        // A non-material version does not ask again.
        env.clock.advance_ms(1_000);
        publish(&env, "2027-01-minor", false).await;
        env.clock.advance_ms(1);
        assert_eq!(call(&env.app, frame(&s2, 1)).await.0, StatusCode::OK, "{backend}");
        // A material version does: the old consent no longer binds, even mid-session.
        env.clock.advance_ms(1_000);
        publish(&env, "2027-02-major", true).await;
        env.clock.advance_ms(1);
        let got = call(&env.app, frame(&s2, 2)).await;
        assert_eq!(code(&got), (StatusCode::FORBIDDEN, Some("consent_required")), "{backend}: {}", got.1);
        assert!(got.1["detail"].as_str().unwrap().contains("2027-02-major"), "{}", got.1);
        let p = policy(&env.app).await;
        assert_eq!((p["version"].as_str(), p["material_change"].as_bool()), (Some("2027-02-major"), Some(true)));
        // Agreeing to the new version lifts it.
        assert_eq!(consent(&env.app, &s2, &["face_capture_and_upload"]).await.0, StatusCode::CREATED);
        assert_eq!(call(&env.app, frame(&s2, 2)).await.0, StatusCode::OK, "{backend}");
    }
}

#[tokio::test]
async fn a2_a3_policy_is_public_its_digest_is_its_text_and_it_names_a_contact() {
    let env = setup_on("sqlite").await;
    let p = policy(&env.app).await; // no Authorization header at all
    let res = env.app.clone().oneshot(Request::get("/v1/policy/text").body(Body::empty()).unwrap()).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let text = to_bytes(res.into_body(), 1 << 20).await.unwrap();
    assert_eq!(p["digest"].as_str().unwrap(), format!("sha256:{}", hex::encode(Sha256::digest(&text))));
    let contact = p["privacy_contact"].as_str().unwrap();
    assert!(!contact.is_empty() && String::from_utf8_lossy(&text).contains(contact), "A3: the text names the contact");
    assert_eq!(p["url"], "/privacy/policy");
    let ids: Vec<&str> = p["scopes"].as_array().unwrap().iter().map(|s| s["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["face_capture_and_upload", "device_info", "retain_for_training", "face_comparison"]);
    // Face comparison is asked on its own, with its own notice in both languages (issue 14).
    let fc = &p["scopes"][3];
    assert!(fc["description_en"].as_str().unwrap().contains("template") && fc["description_zh"].as_str().unwrap().contains("模板"), "{fc}");
    assert!(p["scopes"].as_array().unwrap().iter().all(|s| s["required"] == (s["id"] == "face_capture_and_upload")));
}

const DEVICE: &[(&str, &str)] = &[("huoti-device-model", "Pixel 8"), ("huoti-os-type", "android"), ("huoti-os-version", "15")];

#[tokio::test]
async fn p2_device_info_needs_its_own_consent() {
    for backend in common::backends() {
        let env = setup_on(backend).await;
        let s = session(&env, json!({})).await;
        assert_eq!(consent(&env.app, &s, &["face_capture_and_upload"]).await.0, StatusCode::CREATED);
        let got = call(&env.app, frame_with(&s, 0, DEVICE)).await;
        assert_eq!(code(&got), (StatusCode::UNPROCESSABLE_ENTITY, Some("device_info_not_consented")), "{backend}");
        assert_eq!(frames_stored(&env, &s).await, 0, "nothing stored");
        // C6, P2: refusing device info changes nothing else.
        assert_eq!(call(&env.app, frame(&s, 0)).await.0, StatusCode::OK);
        let row = env.state.db.session(s["session_id"].as_str().unwrap()).await.unwrap().unwrap();
        assert_eq!(row.device_model, None);

        let s = session(&env, json!({})).await;
        assert_eq!(consent(&env.app, &s, &["face_capture_and_upload", "device_info"]).await.0, StatusCode::CREATED);
        assert_eq!(call(&env.app, frame_with(&s, 0, DEVICE)).await.0, StatusCode::OK, "{backend}");
        // Stored sealed under the session's device key (S2), never in the sessions row.
        let row = env.state.db.session(s["session_id"].as_str().unwrap()).await.unwrap().unwrap();
        assert_eq!(row.device_model, None);
        let device = huoti_server::devices::load(&env.state, s["session_id"].as_str().unwrap()).await.unwrap().unwrap();
        assert_eq!(device.model.as_deref(), Some("Pixel 8"));
    }
}

async fn withdraw(env: &Env, key: &str, subject_ref: &str, scope: &str) -> (StatusCode, Value) {
    call(&env.app, bearer("DELETE", &format!("/v1/subjects/{subject_ref}/consents/{scope}"), key, None)).await
}

#[tokio::test]
async fn r4_withdrawal_stops_that_collection_and_only_that() {
    for backend in common::backends() {
        let env = setup_on(backend).await;
        let s = session(&env, json!({"subject_ref": "person-2"})).await;
        assert_eq!(consent(&env.app, &s, &["face_capture_and_upload", "device_info"]).await.0, StatusCode::CREATED);
        assert_eq!(call(&env.app, frame_with(&s, 0, DEVICE)).await.0, StatusCode::OK);
        env.clock.advance_ms(1);
        let (status, w) = withdraw(&env, &env.key, "person-2", "device_info").await;
        assert_eq!(status, StatusCode::OK, "{backend}: {w}");
        assert_eq!(w["effects"], json!(["stop_device_info_collection"]));
        assert_eq!(code(&call(&env.app, frame_with(&s, 1, DEVICE)).await), (StatusCode::UNPROCESSABLE_ENTITY, Some("device_info_not_consented")));
        assert_eq!(call(&env.app, frame(&s, 1)).await.0, StatusCode::OK, "C6: capture goes on without device info");
        let (status, w) = withdraw(&env, &env.key, "person-2", "face_capture_and_upload").await;
        assert_eq!(status, StatusCode::OK, "{backend}: {w}");
        assert_eq!(w["effects"], json!(["stop_capture"]));
        assert_eq!(code(&call(&env.app, frame(&s, 2)).await), (StatusCode::FORBIDDEN, Some("consent_required")), "{backend}");
        assert_eq!(frames_stored(&env, &s).await, 2);
        // Unknown subjects, unknown scopes, other integrators' subjects.
        assert_eq!(code(&withdraw(&env, &env.key, "nobody", "device_info").await), (StatusCode::NOT_FOUND, Some("subject_not_found")));
        assert_eq!(code(&withdraw(&env, &env.key, "person-2", "everything").await), (StatusCode::BAD_REQUEST, Some("invalid_request")));
        let other = huoti_server::create_integrator_key(&env.state.db, "other", common::T0).await.unwrap();
        assert_eq!(code(&withdraw(&env, &other, "person-2", "device_info").await), (StatusCode::NOT_FOUND, Some("subject_not_found")));
        assert_eq!(withdraw(&env, "hk_0000000000000000.nope", "person-2", "device_info").await.0, StatusCode::UNAUTHORIZED);
    }
}

#[tokio::test]
async fn l2_withdrawing_retain_for_training_deletes_the_kept_images() {
    for backend in common::backends() {
        let env = setup_on(backend).await;
        let s = session(&env, json!({"subject_ref": "person-3"})).await;
        let sid = s["session_id"].as_str().unwrap();
        let subject = env.state.db.session_subject(sid).await.unwrap().unwrap();
        let now = env.clock.now_ms();
        // Without its own consent, nothing is kept (L2).
        assert_eq!(consent(&env.app, &s, &["face_capture_and_upload"]).await.0, StatusCode::CREATED);
        assert!(!training::keep(&env.state, &subject, sid, common::tiny_jpeg(), now).await.unwrap());
        assert_eq!(consent(&env.app, &s, &["face_capture_and_upload", "retain_for_training"]).await.0, StatusCode::CREATED);
        env.clock.advance_ms(1);
        let now = env.clock.now_ms();
        assert!(training::keep(&env.state, &subject, sid, common::tiny_jpeg(), now).await.unwrap());
        assert!(training::keep(&env.state, &subject, sid, common::tiny_jpeg(), now).await.unwrap());
        let kept = env.state.db.training_images(&subject).await.unwrap();
        assert_eq!(kept.len(), 2, "{backend}");
        assert_eq!(training::open(&env.state, &subject, &kept[0].1).await.unwrap(), common::tiny_jpeg());
        env.clock.advance_ms(1);
        let (status, w) = withdraw(&env, &env.key, "person-3", "retain_for_training").await;
        assert_eq!(status, StatusCode::OK, "{w}");
        assert_eq!((w["effects"].clone(), w["training_images_deleted"].as_u64()), (json!(["delete_training_images"]), Some(2)));
        assert!(env.state.db.training_images(&subject).await.unwrap().is_empty());
        assert!(training::open(&env.state, &subject, &kept[0].1).await.is_err(), "the key is shredded");
        assert!(!env.dir.path().join("blobs").join(&subject).exists(), "the sealed blobs are gone");
        // And nothing more is kept.
        assert!(!training::keep(&env.state, &subject, sid, common::tiny_jpeg(), env.clock.now_ms()).await.unwrap());
    }
}

#[tokio::test]
async fn subject_ref_is_validated() {
    let env = setup_on("sqlite").await;
    let got = call(&env.app, create(&env.key, json!({"subject_ref": "張三 13800138000"}))).await;
    assert_eq!(code(&got), (StatusCode::BAD_REQUEST, Some("invalid_request")));
}
