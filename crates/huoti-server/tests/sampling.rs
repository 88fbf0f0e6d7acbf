//! Training samples through the API (C4, L2, S2): asked by an ML engineer for N random images,
//! approved by a privacy officer, exported decrypted until they expire, every step audited —
//! on SQLite and on PostgreSQL.

mod common;

use axum::http::StatusCode;
use base64::Engine as _;
use common::{bearer, call, consent, create, setup_on};
use huoti_privacy::Role;
use huoti_server::Clock;
use huoti_server::http::auth;
use huoti_server::privacy::training;
use serde_json::json;

fn with_purpose(mut r: axum::http::Request<axum::body::Body>) -> axum::http::Request<axum::body::Body> {
    r.headers_mut().insert("huoti-purpose", "testing model v3".parse().unwrap());
    r
}

#[tokio::test]
async fn c4_training_sample_is_random_approved_by_another_person_expires_and_is_audited() {
    for backend in common::backends() {
        let env = setup_on(backend).await;
        // Two people kept images with their consent (L2); a third withdrew.
        let mut subjects = Vec::new();
        for (i, r) in ["p-a", "p-b", "p-c"].iter().enumerate() {
            let (_, s) = call(&env.app, create(&env.key, json!({"subject_ref": r}))).await;
            assert_eq!(consent(&env.app, &s, &["face_capture_and_upload", "retain_for_training"]).await.0, StatusCode::CREATED);
            let sid = s["session_id"].as_str().unwrap();
            let subject = env.state.db.session_subject(sid).await.unwrap().unwrap();
            for _ in 0..2 {
                assert!(training::keep(&env.state, &subject, sid, common::tiny_jpeg(), env.clock.now_ms()).await.unwrap());
            }
            subjects.push((i, subject));
        }
        env.clock.advance_ms(1);
        assert_eq!(call(&env.app, bearer("DELETE", "/v1/subjects/p-c/consents/retain_for_training", &env.key, None)).await.0, StatusCode::OK);

        let ml = auth::create_api_key(&env.state.db, "ml", Role::MlEngineer, common::T0).await.unwrap();
        let po = auth::create_api_key(&env.state.db, "po", Role::PrivacyOfficer, common::T0).await.unwrap();
        // No member can name a person: the sample is random.
        let got = call(&env.app, bearer("POST", "/v1/admin/samples", &ml, Some(json!({"size": 1, "purpose": "p", "subject_ref": "p-a"})))).await;
        assert_eq!(got.1["code"], "invalid_request");
        let (status, s) = call(&env.app, bearer("POST", "/v1/admin/samples", &ml, Some(json!({"size": 3, "purpose": "testing model v3"})))).await;
        assert_eq!(status, StatusCode::CREATED, "{s}");
        let id = s["id"].as_str().unwrap().to_owned();
        let export_uri = format!("/v1/admin/samples/{id}/export");
        assert_eq!(call(&env.app, with_purpose(bearer("GET", &export_uri, &ml, None))).await.1["code"], "sample_not_approved");
        // The requester cannot approve (C4: a second person, with the privacy-officer role).
        let approve_uri = format!("/v1/admin/samples/{id}/approve");
        let body = json!({"ttl_s": 3600, "purpose": "model v3 release check"});
        assert_eq!(call(&env.app, bearer("POST", &approve_uri, &ml, Some(body.clone()))).await.1["code"], "forbidden");
        let (status, a) = call(&env.app, bearer("POST", &approve_uri, &po, Some(body.clone()))).await;
        assert_eq!(status, StatusCode::OK, "{backend}: {a}");
        assert_eq!((a["status"].as_str(), a["picked"].as_u64()), (Some("approved"), Some(3)));
        assert_eq!(call(&env.app, bearer("POST", &approve_uri, &po, Some(body))).await.1["code"], "invalid_request_state");
        // Only the ML engineer views it, decrypted, with no subject or session ids.
        assert_eq!(call(&env.app, with_purpose(bearer("GET", &export_uri, &po, None))).await.1["code"], "forbidden");
        let (status, images) = call(&env.app, with_purpose(bearer("GET", &export_uri, &ml, None))).await;
        assert_eq!(status, StatusCode::OK, "{images}");
        let images = images.as_array().unwrap();
        assert_eq!(images.len(), 3);
        for img in images {
            let jpeg = base64::engine::general_purpose::STANDARD.decode(img["jpeg_base64"].as_str().unwrap()).unwrap();
            assert_eq!(jpeg, common::tiny_jpeg());
            assert!(subjects.iter().all(|(_, s)| !img.to_string().contains(s.as_str())));
        }
        // Withdrawn consent: that person's images are never eligible.
        let picked: String = {
            let all = env.state.db.all_training_images().await.unwrap();
            assert!(all.iter().all(|(_, s, _)| s != &subjects[2].1), "p-c's images were deleted on withdrawal");
            all.iter().map(|(i, _, _)| i.clone()).collect::<Vec<_>>().join(",")
        };
        assert!(!picked.is_empty());
        // It expires.
        env.clock.advance_ms(3_600_000);
        assert_eq!(call(&env.app, with_purpose(bearer("GET", &export_uri, &ml, None))).await.1["code"], "sample_expired", "{backend}");
        // Every step is in the audit log, with who and why.
        let actions: Vec<(String, String)> = env.state.db.audit_entries().await.unwrap().into_iter().map(|e| (e.action, e.role.as_str().to_owned())).collect();
        for (action, role) in [("request_training_sample", "ml_engineer"), ("approve_training_sample", "privacy_officer"), ("export_training_sample", "ml_engineer")] {
            assert!(actions.contains(&(action.to_owned(), role.to_owned())), "{backend}: {actions:?}");
        }
    }
}
