//! The prompt returned with each frame upload (issue 16): what the person still has to do in
//! the action window open when the frame was captured — "turn a little further", "open wider",
//! "blink once" — so a capture client can say it while the window is still open.
//!
//! Computed from the measures the upload already made on arrival (the session's live run):
//! no model runs of its own, and judged the way the verdict judges
//! ([`huoti_liveness::action_hint`]: the same resting ranges and gauges, the server's
//! thresholds). A hint only guides; the verdict at `complete` still decides.

use huoti_api as wire;
use huoti_liveness::{Action, ActionHint, ChallengePlan, HintState, Thresholds, action_hint};

use crate::models::LiveRun;

/// The hint after frame `seq` (captured at `t_ms`) was offered to `run`: `None` when the run
/// did not measure that frame now (it waits for an earlier one, or the run gave up: nothing
/// new to say), outside every window, and once the window's action was seen.
pub(super) fn after_frame(run: &LiveRun, plan: &ChallengePlan, seq: u32, t_ms: u64) -> Option<wire::ActionHint> {
    let observations = run.observations();
    let upto = observations.iter().rposition(|o| o.seq == seq)?;
    to_wire(action_hint(plan, &observations[..=upto], &Thresholds::default(), t_ms)?)
}

/// The wire form of a hint: a stable code per action and state; `None` for a step already done.
fn to_wire(hint: ActionHint) -> Option<wire::ActionHint> {
    use wire::HintCode as C;
    let (code, progress) = match hint.state {
        HintState::Done => return None,
        HintState::NoFace => (C::FaceTheCamera, None),
        HintState::NotStarted => (
            match hint.action {
                Action::TurnLeft => C::TurnLeft,
                Action::TurnRight => C::TurnRight,
                Action::Nod => C::Nod,
                Action::OpenMouth => C::OpenMouth,
                Action::Blink => C::BlinkOnce,
            },
            None,
        ),
        HintState::Further { progress } => (
            match hint.action {
                Action::TurnLeft | Action::TurnRight => C::TurnFurther,
                Action::Nod => C::NodFurther,
                Action::OpenMouth => C::OpenWider,
                Action::Blink => C::CloseEyesFully,
            },
            Some((progress.clamp(0.0, 1.0) * 100.0).round() as u8),
        ),
    };
    Some(wire::ActionHint { step: hint.step as u32, action: wire_action(hint.action), code, progress_percent: progress })
}

fn wire_action(action: Action) -> wire::Action {
    match action {
        Action::TurnLeft => wire::Action::TurnLeft,
        Action::TurnRight => wire::Action::TurnRight,
        Action::Nod => wire::Action::Nod,
        Action::Blink => wire::Action::Blink,
        Action::OpenMouth => wire::Action::OpenMouth,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hint(action: Action, state: HintState) -> Option<wire::ActionHint> {
        to_wire(ActionHint { step: 1, action, state })
    }

    #[test]
    fn each_state_has_its_code_and_a_done_step_none() {
        assert_eq!(hint(Action::TurnLeft, HintState::Done), None);
        let further = hint(Action::TurnRight, HintState::Further { progress: 0.456 }).unwrap();
        assert_eq!((further.step, further.action, further.code, further.progress_percent), (1, wire::Action::TurnRight, wire::HintCode::TurnFurther, Some(46)));
        assert_eq!(hint(Action::OpenMouth, HintState::Further { progress: 0.5 }).unwrap().code, wire::HintCode::OpenWider);
        assert_eq!(hint(Action::Blink, HintState::NotStarted).unwrap().code, wire::HintCode::BlinkOnce);
        assert_eq!(hint(Action::Blink, HintState::Further { progress: 0.5 }).unwrap().code, wire::HintCode::CloseEyesFully);
        assert_eq!(hint(Action::Nod, HintState::NoFace).unwrap(), wire::ActionHint {
            step: 1,
            action: wire::Action::Nod,
            code: wire::HintCode::FaceTheCamera,
            progress_percent: None
        });
        // The wire names are the documented ones.
        let json = serde_json::to_value(further).unwrap();
        assert_eq!(json, serde_json::json!({"step": 1, "action": "turn_right", "code": "turn_further", "progress_percent": 46}));
        let unknown: wire::ActionHint = serde_json::from_value(serde_json::json!({"step": 0, "action": "nod", "code": "smile_more"})).unwrap();
        assert_eq!(unknown.code, wire::HintCode::Other);
    }
}
