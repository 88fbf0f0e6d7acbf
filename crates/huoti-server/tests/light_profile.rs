//! Issue 17: the server decides the light profile and never runs a session without the light
//! check outside test mode. In process, no models.

mod common;

use axum::http::StatusCode;
use common::{call, create, setup, setup_configured};
use serde_json::{Value, json};

const SAFE_PALETTE: [[u8; 3]; 6] = huoti_liveness::light::SAFE_PALETTE;

fn rgbs(challenge: &Value) -> Vec<[u8; 3]> {
    challenge["flashes"].as_array().unwrap().iter().map(|f| serde_json::from_value(f["rgb"].clone()).unwrap()).collect()
}

fn fixed(flashes: Value) -> Value {
    json!({"fixed_challenge": {"actions": [{"action": "blink", "start_ms": 3000, "end_ms": 5000}], "flashes": flashes}})
}

fn hard_cuts() -> Value {
    json!([{"rgb": [255, 0, 0], "start_ms": 1000, "end_ms": 1400}, {"rgb": [255, 255, 255], "start_ms": 1400, "end_ms": 1800},
           {"rgb": [0, 0, 255], "start_ms": 1800, "end_ms": 2200}])
}

#[tokio::test]
async fn c3_no_session_without_a_light_step_outside_test_mode() {
    let env = setup().await;
    // A request for a challenge without colours: refused, whatever else it says.
    for body in [fixed(json!([])), json!({"reduced_flash": true, "fixed_challenge": fixed(json!([]))["fixed_challenge"]})] {
        let (status, v) = call(&env.app, create(&env.key, body.clone())).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body} → {v}");
        assert_eq!(v["code"], "light_required", "{v}");
    }
    // Reduced flash never removes the light step: the safe profile, drawn by the server.
    let (status, v) = call(&env.app, create(&env.key, json!({"reduced_flash": true}))).await;
    assert_eq!(status, StatusCode::CREATED, "{v}");
    let c = &v["challenge"];
    assert_eq!((c["reduced_flash"].as_bool(), c["transition_ms"].as_u64()), (Some(true), Some(300)), "{c}");
    assert!(rgbs(c).len() >= 4 && rgbs(c).iter().all(|rgb| SAFE_PALETTE.contains(rgb)), "{c}");
    let (_, v) = call(&env.app, create(&env.key, json!({}))).await;
    assert_eq!(v["challenge"]["reduced_flash"], false);
    assert!(rgbs(&v["challenge"]).len() >= 4);
}

#[tokio::test]
async fn c3_test_mode_fixed_challenges_get_the_safe_profile_under_reduced_flash() {
    let env = setup_configured("sqlite", 1_800_000_000_000, |c| c.test_mode = true).await;
    // Hard cuts of saturated colours (a red among them) as given…
    let (status, v) = call(&env.app, create(&env.key, fixed(hard_cuts()))).await;
    assert_eq!(status, StatusCode::CREATED, "{v}");
    assert_eq!(rgbs(&v["challenge"]), vec![[255, 0, 0], [255, 255, 255], [0, 0, 255]]);
    // …but never shown to a person who asked for reduced flashing: redrawn in the safe profile,
    // one step per given step, from the same start; the actions stay.
    let mut body = fixed(hard_cuts());
    body["reduced_flash"] = json!(true);
    let (status, v) = call(&env.app, create(&env.key, body)).await;
    assert_eq!(status, StatusCode::CREATED, "{v}");
    let c = &v["challenge"];
    assert_eq!((c["reduced_flash"].as_bool(), c["transition_ms"].as_u64()), (Some(true), Some(300)), "{c}");
    let colours = rgbs(c);
    assert_eq!(colours.len(), 3);
    assert!(colours.iter().all(|rgb| SAFE_PALETTE.contains(rgb)), "{colours:?}");
    assert_eq!(c["flashes"][0]["start_ms"], 1000);
    assert_eq!(c["flashes"][2]["end_ms"], 1000 + 3 * 800);
    assert_eq!(c["actions"], fixed(json!([]))["fixed_challenge"]["actions"]);
    // In test mode a recorded clip may still run without light steps (its verdict says so).
    let (status, v) = call(&env.app, create(&env.key, fixed(json!([])))).await;
    assert_eq!(status, StatusCode::CREATED, "{v}");
    assert!(rgbs(&v["challenge"]).is_empty());
}
