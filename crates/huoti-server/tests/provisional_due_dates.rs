//! Issue 18 (R5, R9): a person's closure request or complaint is never refused because the
//! server's working-day calendar ends. Past the last covered year the due date is provisional
//! (counted Monday–Friday), the staff listing shows it, and installing the next year's holiday
//! file (`[rights] calendar_file`) makes it official; a malformed file is refused and the
//! calendar in use stays — on SQLite and on PostgreSQL.

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::{bearer, call, consent, create, setup_configured};
use huoti_privacy::Role;
use huoti_privacy::calendar::EMBEDDED_TSV;
use huoti_server::calendar::Reload;
use huoti_server::http::auth;
use huoti_server::privacy::rights::calendar::CalendarJob;
use serde_json::{Value, json};

/// Sunday 2026-12-20, 10:00 in China (the injected clock).
const DEC_20_2026: u64 = 1_797_732_000_000;
/// Tuesday 2026-12-29, 10:00 in China.
const DEC_29_2026: u64 = 1_798_509_600_000;

async fn privacy_link(app: &axum::Router, key: &str, subject_ref: &str) -> String {
    let (status, l) = call(app, bearer("POST", &format!("/v1/subjects/{subject_ref}/privacy-link"), key, None)).await;
    assert_eq!(status, StatusCode::CREATED, "{l}");
    l["token"].as_str().unwrap().to_owned()
}

async fn ask(app: &axum::Router, link: &str, body: Value) -> Value {
    let (status, r) = call(app, bearer("POST", "/v1/me/requests", link, Some(body))).await;
    assert_eq!(status, StatusCode::CREATED, "the request is accepted, never a server error: {r}");
    r
}

/// Every request as the privacy officer's listing shows it, by id.
async fn listing(app: &axum::Router, officer: &str) -> Vec<Value> {
    let mut req = bearer("GET", "/v1/admin/requests", officer, None);
    req.headers_mut().insert("huoti-purpose", "handling requests".parse().unwrap());
    let (status, list) = call(app, req).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    list.as_array().unwrap().clone()
}

fn find<'a>(list: &'a [Value], id: &Value) -> &'a Value {
    list.iter().find(|r| r["id"] == *id).unwrap()
}

#[tokio::test]
async fn r5_r9_requests_past_the_calendar_get_provisional_due_dates_made_official_by_a_new_calendar_file() {
    for backend in common::backends() {
        let cal_dir = tempfile::tempdir().unwrap();
        let cal_file = cal_dir.path().join("cn-holidays.tsv");
        std::fs::write(&cal_file, EMBEDDED_TSV).unwrap();
        let file = cal_file.clone();
        let env = setup_configured(backend, DEC_20_2026, move |c| c.rights.calendar_file = Some(file)).await;
        let app = &env.app;
        let (_, s) = call(app, create(&env.key, json!({"subject_ref": "acct-9"}))).await;
        assert_eq!(consent(app, &s, &["face_capture_and_upload"]).await.0, StatusCode::CREATED);
        let officer = auth::create_api_key(&env.state.db, "po", Role::PrivacyOfficer, DEC_20_2026).await.unwrap();

        // R5 on Sun 20 Dec 2026: 9 working days left in 2026, then Fri 1 Jan and Jan 4–8
        // counted Monday–Friday → Fri 8 Jan 2027, provisional.
        let link = privacy_link(app, &env.key, "acct-9").await;
        let closure = ask(app, &link, json!({"kind": "closure"})).await;
        assert_eq!((closure["due_date"].as_str(), closure["due_date_provisional"].as_bool()), (Some("2027-01-08"), Some(true)), "{backend}");
        // The operator is told: /readyz warns (still ready otherwise), /metrics says so.
        let (_, ready) = call(app, Request::get("/readyz").body(Body::empty()).unwrap()).await;
        assert!(ready["warnings"][0].as_str().unwrap().contains("2026-12-31"), "{ready}");

        // R9 on Tue 29 Dec 2026: Wed 30, Thu 31, then Fri 1 Jan → provisional.
        env.clock.set_ms(DEC_29_2026);
        let link = privacy_link(app, &env.key, "acct-9").await;
        let complaint = ask(app, &link, json!({"kind": "complaint", "details": "the check failed"})).await;
        assert_eq!((complaint["due_date"].as_str(), complaint["due_date_provisional"].as_bool()), (Some("2027-01-01"), Some(true)), "{backend}");

        // The staff listing works with provisional requests in it, and says which they are.
        let list = listing(app, &officer).await;
        assert_eq!(find(&list, &closure["id"])["due_date_provisional"], true);
        assert_eq!(find(&list, &complaint["id"])["due_date_provisional"], true);
        // The person sees it too.
        let (_, me) = call(app, bearer("GET", "/v1/me", &link, None)).await;
        assert!(me["requests"].as_array().unwrap().iter().all(|r| r["due_date_provisional"] == true), "{me}");

        let mut job = CalendarJob::default();
        assert_eq!(job.run(&env.state).await, Reload::Unchanged);

        // A malformed file (a weekday marked as a make-up working day, line 3) is refused; the
        // calendar in use stays and the dates stay provisional.
        std::fs::write(&cal_file, format!("{EMBEDDED_TSV}2027-01-01\toff\t元旦\n2027-01-06\twork\tnot a weekend\n")).unwrap();
        let bad_line = EMBEDDED_TSV.lines().count() + 2;
        match job.run(&env.state).await {
            Reload::Refused(reason) => assert!(reason.contains(&format!("line {bad_line}")), "{reason}"),
            other => panic!("{backend}: a malformed file must be refused, got {other:?}"),
        }
        assert!(!env.state.calendar.current().covers(2027));
        assert_eq!(find(&listing(app, &officer).await, &closure["id"])["due_date_provisional"], true);

        // The next year's notice installed: both dates are counted again, officially.
        // (Here 1 January 2027 is a day off: closure → Mon 11 Jan, complaint → Mon 4 Jan.)
        std::fs::write(&cal_file, format!("{EMBEDDED_TSV}2027-01-01\toff\t元旦\n")).unwrap();
        assert_eq!(job.run(&env.state).await, Reload::Installed(vec![2025, 2026, 2027]), "{backend}");
        let list = listing(app, &officer).await;
        let (c, k) = (find(&list, &closure["id"]), find(&list, &complaint["id"]));
        assert_eq!((c["due_date"].as_str(), c["due_date_provisional"].as_bool()), (Some("2027-01-11"), Some(false)), "{backend}");
        assert_eq!((k["due_date"].as_str(), k["due_date_provisional"].as_bool()), (Some("2027-01-04"), Some(false)), "{backend}");
        // The next request in these days is official at once; /readyz no longer warns.
        let official = ask(app, &link, json!({"kind": "closure"})).await;
        assert_eq!(official["due_date_provisional"], false);
        let (_, ready) = call(app, Request::get("/readyz").body(Body::empty()).unwrap()).await;
        assert!(ready.get("warnings").is_none(), "{ready}");
        // `/metrics` is for operators (issue 19).
        let operator = auth::create_api_key(&env.state.db, "op", Role::Operator, DEC_20_2026).await.unwrap();
        let res = axum::http::Request::get("/metrics").header("authorization", format!("Bearer {operator}")).body(Body::empty()).unwrap();
        let text = {
            use tower::ServiceExt;
            let res = app.clone().oneshot(res).await.unwrap();
            String::from_utf8(axum::body::to_bytes(res.into_body(), 1 << 20).await.unwrap().to_vec()).unwrap()
        };
        assert!(text.contains("huoti_calendar_covered_through_year 2027"), "{text}");
        assert!(text.contains("huoti_rights_requests_provisional_total"), "{text}");
    }
}

#[tokio::test]
async fn r5_a_malformed_calendar_file_stops_the_server_at_start_naming_the_line() {
    let cal_dir = tempfile::tempdir().unwrap();
    let cal_file = cal_dir.path().join("bad.tsv");
    std::fs::write(&cal_file, "date\tday\tname\n2027-13-01\toff\tx\n").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = huoti_server::ServerConfig {
        data_dir: dir.path().to_path_buf(),
        rights: huoti_server::config::RightsConfig { calendar_file: Some(cal_file), calendar_check_s: 60 },
        ..Default::default()
    };
    let clock = std::sync::Arc::new(huoti_server::ManualClock::new(DEC_20_2026));
    let e = huoti_server::build_state(config, clock, None).await.err().expect("refused").to_string();
    assert!(e.contains("calendar_file") && e.contains("line 2"), "{e}");
}
