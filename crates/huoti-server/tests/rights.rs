//! The person's rights through the API (R1–R9): the privacy-page link, `/v1/me/…`, staff
//! handling with due dates from huoti-privacy's rules and calendar, refusals on R8 grounds,
//! R7 deletion, the overdue report and gauge — on SQLite and on PostgreSQL.

mod common;

use axum::http::StatusCode;
use common::{Env, bearer, call, consent, create, frame_with, setup_at};
use huoti_privacy::calendar::local_date;
use huoti_privacy::rights::{self as rules, RequestKind};
use huoti_privacy::{Role, WorkCalendar};
use huoti_server::Clock;
use huoti_server::http::auth;
use huoti_server::privacy::training;
use huoti_server::testkit::instant;
use serde_json::{Value, json};

/// 2026-09-01 10:00 in China: inside the years the shipped calendar covers.
const T: u64 = 1_788_228_000_000;

struct World {
    env: Env,
    link: String,
    officer: String,
    subject: String,
    session: String,
}

async fn world(backend: &str, subject_ref: &str) -> World {
    let env = setup_at(backend, T).await;
    let (_, s) = call(&env.app, create(&env.key, json!({"subject_ref": subject_ref}))).await;
    assert_eq!(consent(&env.app, &s, &["face_capture_and_upload", "retain_for_training"]).await.0, StatusCode::CREATED);
    let session = s["session_id"].as_str().unwrap().to_owned();
    let subject = env.state.db.session_subject(&session).await.unwrap().unwrap();
    let (status, l) = call(&env.app, bearer("POST", &format!("/v1/subjects/{subject_ref}/privacy-link"), &env.key, None)).await;
    assert_eq!(status, StatusCode::CREATED, "{l}");
    let officer = auth::create_api_key(&env.state.db, "po", Role::PrivacyOfficer, T).await.unwrap();
    World { link: l["token"].as_str().unwrap().to_owned(), env, officer, subject, session }
}

async fn ask(w: &World, body: Value) -> Value {
    let (status, r) = call(&w.env.app, bearer("POST", "/v1/me/requests", &w.link, Some(body))).await;
    assert_eq!(status, StatusCode::CREATED, "{r}");
    r
}

async fn staff(w: &World, id: &str, action: &str, body: Option<Value>) -> (StatusCode, Value) {
    let mut req = bearer("POST", &format!("/v1/admin/requests/{id}/{action}"), &w.officer, body);
    req.headers_mut().insert("huoti-purpose", "handling the person's request".parse().unwrap());
    call(&w.env.app, req).await
}

fn date(d: time::Date) -> String {
    format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
}

#[tokio::test]
async fn r5_account_closure_due_in_15_working_days_r9_complaint_in_3_at_most_30() {
    for backend in common::backends() {
        let w = world(backend, "acct-1").await;
        let cal = WorkCalendar::embedded_default();
        let now = instant(w.env.clock.now_ms());
        let closure = ask(&w, json!({"kind": "closure"})).await;
        let expected = rules::due_date(&RequestKind::CloseAccount, now, None, &cal).unwrap();
        assert_eq!(closure["due_date"].as_str(), Some(date(expected).as_str()), "{backend}");
        assert_eq!(expected, cal.add_working_days(local_date(now), 15).unwrap());
        let complaint = ask(&w, json!({"kind": "complaint", "details": "the check failed three times"})).await;
        let three = cal.add_working_days(local_date(now), 3).unwrap().min(WorkCalendar::add_calendar_days(local_date(now), 30));
        assert_eq!(complaint["due_date"].as_str(), Some(date(three).as_str()), "{backend}");
        // R5, S5: closing stops the service at once.
        let (status, done) = staff(&w, closure["id"].as_str().unwrap(), "verify-identity", None).await;
        assert_eq!(status, StatusCode::OK, "{done}");
        assert_eq!(done["due_date"], closure["due_date"], "closure runs from receipt");
        assert_eq!(staff(&w, closure["id"].as_str().unwrap(), "complete", None).await.1["status"], "completed");
        let (_, s2) = call(&w.env.app, create(&w.env.key, json!({"subject_ref": "acct-1"}))).await;
        assert_eq!(call(&w.env.app, common::frame(&s2, 0)).await.1["code"], "consent_required", "{backend}");
    }
}

#[tokio::test]
async fn r6_other_requests_due_15_days_after_identity_verification() {
    for backend in common::backends() {
        let w = world(backend, "acct-2").await;
        let r = ask(&w, json!({"kind": "access"})).await;
        assert!(r.get("due_date").is_none(), "the clock starts at verification: {r}");
        w.env.clock.advance_ms(2 * 86_400_000);
        let (status, v) = staff(&w, r["id"].as_str().unwrap(), "verify-identity", None).await;
        assert_eq!(status, StatusCode::OK, "{v}");
        let verified = local_date(instant(w.env.clock.now_ms()));
        assert_eq!(v["due_date"].as_str(), Some(date(WorkCalendar::add_calendar_days(verified, 15)).as_str()), "{backend}");
        assert_eq!(v["status"], "identity_verified");
    }
}

#[tokio::test]
async fn r2_correcting_a_verified_field_needs_identity_verification() {
    for backend in common::backends() {
        let w = world(backend, "acct-3").await;
        // A verified field the integrator holds (huoti tracks the request; its own identity
        // fields are corrected in r2_correcting_identity_data_…).
        let r = ask(&w, json!({"kind": "correction", "field": "bound_email", "verified_field": true, "details": "new address"})).await;
        let got = staff(&w, r["id"].as_str().unwrap(), "complete", None).await;
        assert_eq!((got.0, got.1["code"].as_str()), (StatusCode::CONFLICT, Some("invalid_request_state")), "{backend}");
        assert_eq!(staff(&w, r["id"].as_str().unwrap(), "verify-identity", None).await.0, StatusCode::OK);
        assert_eq!(staff(&w, r["id"].as_str().unwrap(), "complete", None).await.1["status"], "completed");
        // A field that is not a verified one is self-service: no verification step.
        let r = ask(&w, json!({"kind": "correction", "field": "nickname", "details": "x"})).await;
        assert_eq!(staff(&w, r["id"].as_str().unwrap(), "complete", None).await.1["status"], "completed", "{backend}");
    }
}

#[tokio::test]
async fn r8_refusal_only_on_a_listed_ground_and_recorded() {
    for backend in common::backends() {
        let w = world(backend, "acct-4").await;
        let r = ask(&w, json!({"kind": "export"})).await;
        let id = r["id"].as_str().unwrap();
        let got = staff(&w, id, "refuse", Some(json!({"ground": "we_would_rather_not", "explanation": "no"}))).await;
        assert_eq!((got.0, got.1["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("refusal_ground_required")));
        let (status, v) = staff(&w, id, "refuse", Some(json!({"ground": "trade_secrets", "explanation": "the thresholds are a trade secret"}))).await;
        assert_eq!(status, StatusCode::OK, "{v}");
        assert_eq!((v["status"].as_str(), v["refusal_ground"].as_str()), (Some("refused"), Some("trade_secrets")));
        assert_eq!(staff(&w, id, "complete", None).await.1["code"], "invalid_request_state", "a refused request stays refused");
        // The refusal is in the audit log, with who and why.
        let entries = w.env.state.db.audit_entries().await.unwrap();
        assert!(entries.iter().any(|e| e.action.starts_with("refuse_export") && e.purpose == "handling the person's request"), "{backend}");
        // A staff request without a purpose is refused.
        let req = bearer("POST", &format!("/v1/admin/requests/{id}/verify-identity"), &w.officer, None);
        assert_eq!(call(&w.env.app, req).await.1["code"], "purpose_required");
    }
}

#[tokio::test]
async fn r3_r7_deletion_erases_at_once_and_unlawful_collection_skips_the_legal_minimum() {
    for backend in common::backends() {
        for unlawful in [false, true] {
            let w = world(backend, "acct-5").await;
            let now = w.env.clock.now_ms();
            assert!(training::keep(&w.env.state, &w.subject, &w.session, common::tiny_jpeg(), now).await.unwrap());
            let r = ask(&w, json!({"kind": "deletion", "unlawful": unlawful})).await;
            assert_eq!(r["unlawful"], unlawful);
            assert_eq!(staff(&w, r["id"].as_str().unwrap(), "verify-identity", None).await.0, StatusCode::OK);
            assert_eq!(staff(&w, r["id"].as_str().unwrap(), "complete", None).await.1["status"], "completed");
            assert!(w.env.state.db.training_images(&w.subject).await.unwrap().is_empty(), "kept images deleted");
            let session_row = w.env.state.db.session(&w.session).await.unwrap();
            // Lawful: the verdict record waits for the legal minimum (then the retention job
            // anonymises it); R7: no minimum, gone now.
            assert_eq!(session_row.is_none(), unlawful, "{backend}, unlawful = {unlawful}");
        }
    }
}

#[tokio::test]
async fn r1_r4_the_person_sees_their_own_data_masked_exports_it_and_withdraws() {
    for backend in common::backends() {
        let w = world(backend, "6222020200112233").await;
        let (status, me) = call(&w.env.app, bearer("GET", "/v1/me", &w.link, None)).await;
        assert_eq!(status, StatusCode::OK, "{me}");
        assert_eq!(me["subject_ref"], "**** 2233", "R1: shown masked");
        assert!(!me.to_string().contains("6222020200112233"));
        assert_eq!(me["sessions"][0]["session_id"].as_str(), Some(w.session.as_str()));
        assert_eq!(me["consents"].as_array().unwrap().len(), 2);
        let res = tower::ServiceExt::oneshot(w.env.app.clone(), bearer("GET", "/v1/me/export", &w.link, None)).await.unwrap();
        assert!(res.headers()["content-disposition"].to_str().unwrap().starts_with("attachment"));
        let (status, wd) = call(&w.env.app, bearer("DELETE", "/v1/me/consents/retain_for_training", &w.link, None)).await;
        assert_eq!((status, wd["effects"].clone()), (StatusCode::OK, json!(["delete_training_images"])), "{backend}");
        // Another person's link sees only their own data; a wrong or expired link nothing.
        let (_, s) = call(&w.env.app, create(&w.env.key, json!({"subject_ref": "other"}))).await;
        let _ = s;
        let (_, l) = call(&w.env.app, bearer("POST", "/v1/subjects/other/privacy-link", &w.env.key, None)).await;
        let (_, other) = call(&w.env.app, bearer("GET", "/v1/me", l["token"].as_str().unwrap(), None)).await;
        assert!(other["sessions"].as_array().unwrap().iter().all(|x| x["session_id"] != w.session.as_str()));
        assert_eq!(call(&w.env.app, bearer("GET", "/v1/me", "pl_nope", None)).await.1["code"], "invalid_link_token");
        w.env.clock.advance_ms(huoti_server::privacy::rights::LINK_TTL_MS);
        assert_eq!(call(&w.env.app, bearer("GET", "/v1/me", &w.link, None)).await.1["code"], "invalid_link_token", "{backend}");
        assert_eq!(call(&w.env.app, bearer("POST", "/v1/subjects/nobody/privacy-link", &w.env.key, None)).await.1["code"], "subject_not_found");
    }
}

#[tokio::test]
async fn r1_p2_the_person_sees_whether_device_info_was_kept() {
    for backend in common::backends() {
        let w = world(backend, "acct-device").await;
        let kept = |me: &Value, session: &str| {
            me["sessions"].as_array().unwrap().iter().find(|x| x["session_id"] == session).map(|x| x["device_info_kept"].clone())
        };
        // A session without the device-info consent keeps none.
        let (_, me) = call(&w.env.app, bearer("GET", "/v1/me", &w.link, None)).await;
        assert_eq!(kept(&me, &w.session), Some(json!(false)), "{backend}: {me}");
        // A second session with it, and a frame carrying device info: the person sees it kept.
        let (_, s) = call(&w.env.app, create(&w.env.key, json!({"subject_ref": "acct-device"}))).await;
        assert_eq!(consent(&w.env.app, &s, &["face_capture_and_upload", "device_info"]).await.0, StatusCode::CREATED);
        let device = [("huoti-device-model", "Pixel 8"), ("huoti-os-type", "android"), ("huoti-os-version", "15")];
        assert_eq!(call(&w.env.app, frame_with(&s, 0, &device)).await.0, StatusCode::OK, "{backend}");
        let (_, me) = call(&w.env.app, bearer("GET", "/v1/me", &w.link, None)).await;
        assert_eq!(kept(&me, s["session_id"].as_str().unwrap()), Some(json!(true)), "{backend}: {me}");
        assert_eq!(kept(&me, &w.session), Some(json!(false)), "{backend}");
        assert!(!me.to_string().contains("Pixel 8"), "R1: only whether it is kept, never the value");
    }
}

#[tokio::test]
async fn r9_overdue_requests_appear_in_the_report_and_the_metrics() {
    for backend in common::backends() {
        let w = world(backend, "acct-7").await;
        let c = ask(&w, json!({"kind": "complaint", "details": "late"})).await;
        let operator = auth::create_api_key(&w.env.state.db, "op", Role::Operator, T).await.unwrap();
        let app = w.env.app.clone();
        let report = |key: String| {
            let app = app.clone();
            async move { call(&app, bearer("GET", "/v1/admin/requests/overdue", &key, None)).await }
        };
        assert_eq!(report(operator.clone()).await.1, json!({"overdue": 0}));
        // The last day it is due is still on time; the day after, overdue.
        let due = time::Date::parse(c["due_date"].as_str().unwrap(), &time::format_description::well_known::Iso8601::DATE).unwrap();
        let end_of_due = (due.next_day().unwrap().midnight().assume_offset(huoti_privacy::calendar::CHINA_STANDARD_TIME).unix_timestamp() * 1000) as u64;
        w.env.clock.advance_ms(end_of_due - 1 - w.env.clock.now_ms());
        assert_eq!(report(operator.clone()).await.1, json!({"overdue": 0}), "{backend}");
        w.env.clock.advance_ms(1);
        // Issue 19, defect 14: a count, as documented — no request, no person.
        let (status, v) = report(operator.clone()).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(v, json!({"overdue": 1}), "{backend}");
        assert_eq!(report(w.officer.clone()).await.0, StatusCode::OK, "privacy officers see it too");
        // The gauge is refreshed by housekeeping, not computed per scrape; operators only.
        assert!(metrics_text(&w.env, &operator).await.1.contains("huoti_privacy_requests_overdue 0"), "{backend}: not yet refreshed");
        huoti_server::jobs::housekeeping(&w.env.state).await;
        let (status, metrics) = metrics_text(&w.env, &operator).await;
        assert_eq!(status, StatusCode::OK);
        assert!(metrics.contains("huoti_privacy_requests_overdue 1"), "{backend}: {metrics}");
        assert_eq!(metrics_text(&w.env, "").await.0, StatusCode::UNAUTHORIZED, "no key, no metrics");
        assert_eq!(metrics_text(&w.env, &w.env.key).await.0, StatusCode::FORBIDDEN, "an integrator's key is not an operator's");
    }
}

/// `GET /metrics` with `key` (none when empty): status and text.
async fn metrics_text(env: &Env, key: &str) -> (StatusCode, String) {
    use axum::body::{Body, to_bytes};
    let mut req = axum::http::Request::get("/metrics");
    if !key.is_empty() {
        req = req.header("authorization", format!("Bearer {key}"));
    }
    let res = tower::ServiceExt::oneshot(env.app.clone(), req.body(Body::empty()).unwrap()).await.unwrap();
    let status = res.status();
    (status, String::from_utf8(to_bytes(res.into_body(), 1 << 20).await.unwrap().to_vec()).unwrap())
}

const ID_NUMBER: &str = "11010519491231002X";

async fn put_identity(w: &World, session: &str, body: Value) -> StatusCode {
    call(&w.env.app, bearer("PUT", &format!("/v1/sessions/{session}/identity"), &w.env.key, Some(body))).await.0
}

async fn count(w: &World, sql: &str) -> i64 {
    huoti_server::testkit::scalar(&w.env.state.db, sql).await
}

#[tokio::test]
async fn r1_l3_identity_data_belongs_to_the_person_and_they_see_it_masked() {
    for backend in common::backends() {
        let w = world(backend, "acct-9").await;
        let body = json!({"name": "张三", "id_number": ID_NUMBER, "phone": "13812345678"});
        assert_eq!(put_identity(&w, &w.session, body).await, StatusCode::NO_CONTENT);
        // A second verification of the same person updates their data; it is not a second copy.
        let (_, s2) = call(&w.env.app, create(&w.env.key, json!({"subject_ref": "acct-9"}))).await;
        let body = json!({"name": "张三", "id_number": ID_NUMBER, "phone": "13987654321"});
        assert_eq!(put_identity(&w, s2["session_id"].as_str().unwrap(), body).await, StatusCode::NO_CONTENT);
        assert_eq!(count(&w, "SELECT COUNT(*) FROM identities").await, 1, "{backend}");
        let (status, me) = call(&w.env.app, bearer("GET", "/v1/me", &w.link, None)).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(me["identity"], json!({"name": "张*", "id_number": "110***********002X", "phone": "139****4321"}), "{backend}: {me}");
        let res = tower::ServiceExt::oneshot(w.env.app.clone(), bearer("GET", "/v1/me/export", &w.link, None)).await.unwrap();
        let export = String::from_utf8(axum::body::to_bytes(res.into_body(), 1 << 20).await.unwrap().to_vec()).unwrap();
        for (what, text) in [("access", me.to_string()), ("export", export.clone())] {
            assert!(!text.contains(ID_NUMBER) && !text.contains("13987654321") && !text.contains("张三"), "R1: {what} shows identity masked: {text}");
        }
        assert!(export.contains("110***********002X"), "{export}");
        // Another person sees none of it.
        call(&w.env.app, create(&w.env.key, json!({"subject_ref": "other"}))).await;
        let (_, l) = call(&w.env.app, bearer("POST", "/v1/subjects/other/privacy-link", &w.env.key, None)).await;
        let (_, other) = call(&w.env.app, bearer("GET", "/v1/me", l["token"].as_str().unwrap(), None)).await;
        assert!(other.get("identity").is_none(), "{other}");
    }
}

#[tokio::test]
async fn r5_s5_r7_closure_stops_service_keeps_identity_for_the_legal_minimum_and_unlawful_data_goes_at_once() {
    for backend in common::backends() {
        for unlawful in [false, true] {
            let w = world(backend, "acct-10").await;
            assert_eq!(put_identity(&w, &w.session, json!({"name": "张三", "id_number": ID_NUMBER})).await, StatusCode::NO_CONTENT);
            // R7 is a deletion request about data collected against the law or the agreement.
            let r = ask(&w, json!({"kind": if unlawful { "deletion" } else { "closure" }, "unlawful": unlawful})).await;
            assert_eq!(staff(&w, r["id"].as_str().unwrap(), "verify-identity", None).await.0, StatusCode::OK);
            assert_eq!(staff(&w, r["id"].as_str().unwrap(), "complete", None).await.1["status"], "completed", "{backend}");
            let kept = huoti_server::identity::load(&w.env.state, &w.subject).await.unwrap();
            if unlawful {
                // R7: collected against the law or the agreement — no legal minimum.
                assert!(kept.is_none(), "{backend}");
                assert_eq!(count(&w, "SELECT COUNT(*) FROM sessions").await, 0);
                continue;
            }
            assert!(kept.is_some(), "{backend}: kept for the legal minimum");
            // S5: service stopped and no commercial use: every session of the person is marked,
            // so the retention rules treat its verdict as deleted-by-the-person.
            assert_eq!(count(&w, "SELECT COUNT(*) FROM sessions WHERE subject_deleted_at_ms IS NULL").await, 0, "{backend}");
            assert_eq!(count(&w, "SELECT COUNT(*) FROM identities WHERE deleted_at_ms IS NOT NULL").await, 1);
            let (_, s) = call(&w.env.app, create(&w.env.key, json!({"subject_ref": "acct-10"}))).await;
            let (_, frame) = call(&w.env.app, common::frame(&s, 0)).await;
            assert_eq!(frame["code"], "consent_required", "{backend}: capture stopped with the account");
            // After the legal minimum the retention job deletes it and shreds its key.
            w.env.clock.advance_ms(1095 * 86_400_000);
            huoti_server::retention::run(&w.env.state, false).await.unwrap();
            assert!(huoti_server::identity::load(&w.env.state, &w.subject).await.unwrap().is_some(), "{backend}: not before");
            w.env.clock.advance_ms(2 * 86_400_000);
            let report = huoti_server::retention::run(&w.env.state, false).await.unwrap();
            assert_eq!(report.categories["identity_data"].deleted, 1, "{backend}: {report:?}");
            assert!(huoti_server::identity::load(&w.env.state, &w.subject).await.unwrap().is_none());
            assert!(w.env.state.db.wrapped_key(&w.subject, "identity").await.unwrap().is_none(), "key shredded");
        }
    }
}

#[tokio::test]
async fn r2_correcting_identity_data_needs_verification_then_changes_the_sealed_record_and_audits_no_value() {
    for backend in common::backends() {
        let w = world(backend, "acct-11").await;
        assert_eq!(put_identity(&w, &w.session, json!({"name": "张三", "phone": "13812345678"})).await, StatusCode::NO_CONTENT);
        // The person does not say the phone is a verified field; the server knows it is.
        let r = ask(&w, json!({"kind": "correction", "field": "phone", "details": "my new number"})).await;
        let id = r["id"].as_str().unwrap().to_owned();
        let body = Some(json!({"corrected_value": "13987654321"}));
        let (status, v) = staff(&w, &id, "complete", body.clone()).await;
        assert_eq!((status, v["code"].as_str()), (StatusCode::CONFLICT, Some("invalid_request_state")), "{backend}: verify first: {v}");
        assert_eq!(staff(&w, &id, "verify-identity", None).await.0, StatusCode::OK);
        // Verified: a correction without the value, or with an invalid one, changes nothing.
        assert_eq!(staff(&w, &id, "complete", None).await.1["code"], "invalid_request");
        let (_, v) = staff(&w, &id, "complete", Some(json!({"corrected_value": "not a phone"}))).await;
        assert_eq!(v["code"], "invalid_request", "{v}");
        assert!(!v.to_string().contains("not a phone"), "the value is not echoed: {v}");
        assert_eq!(huoti_server::identity::load(&w.env.state, &w.subject).await.unwrap().unwrap().phone.as_deref(), Some("13812345678"));
        let (status, done) = staff(&w, &id, "complete", body).await;
        assert_eq!((status, done["status"].as_str()), (StatusCode::OK, Some("completed")), "{backend}: {done}");
        let kept = huoti_server::identity::load(&w.env.state, &w.subject).await.unwrap().unwrap();
        assert_eq!((kept.name.as_deref(), kept.phone.as_deref()), (Some("张三"), Some("13987654321")));
        let (_, me) = call(&w.env.app, bearer("GET", "/v1/me", &w.link, None)).await;
        assert_eq!(me["identity"]["phone"], "139****4321");
        // The audit log names the action and the request, never the value.
        let log = huoti_server::testkit::strings(&w.env.state.db, "SELECT action || ' ' || target FROM audit_log").await;
        assert!(log.iter().any(|e| e.starts_with("complete_correction")), "{log:?}");
        assert!(log.iter().all(|e| !e.contains("13987654321") && !e.contains("4321")), "{log:?}");
    }
}
