//! Every JSON request body the server reads, as it reads it (serde_json into the wire type),
//! then the checks the handlers make before touching storage: identity data (D2, the field
//! forms), a session's `subject_ref` and fixed challenge (the plan's time arithmetic), consent
//! scopes, refusal and disclosure grounds. The first byte picks the body type.
#![no_main]

use huoti_api as wire;
use huoti_api::ops;
use libfuzzer_sys::fuzz_target;

fn parse<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Option<T> {
    serde_json::from_slice(bytes).ok()
}

fuzz_target!(|data: &[u8]| {
    let Some((&which, body)) = data.split_first() else { return };
    match which % 12 {
        0 => {
            let Some(req) = parse::<wire::CreateSessionRequest>(body) else { return };
            if let Some(r) = &req.subject_ref {
                let _ = huoti_server::privacy::consent::valid_subject_ref(r);
            }
            if let Some(fixed) = &req.fixed_challenge {
                // What `create` does in test mode: the wire plan becomes a liveness plan.
                let actions = serde_json::to_value(&fixed.actions).ok().and_then(|v| serde_json::from_value(v).ok());
                let flashes = serde_json::to_value(&fixed.flashes).ok().and_then(|v| serde_json::from_value(v).ok());
                if let (Some(actions), Some(flashes)) = (actions, flashes) {
                    let _ = huoti_liveness::ChallengePlan::fixed("nonce", actions, flashes);
                }
            }
        }
        1 => {
            if let Some(req) = parse::<wire::ConsentRequest>(body) {
                for s in &req.scopes {
                    let _ = s.parse::<huoti_privacy::Scope>();
                }
            }
        }
        2 => {
            let _ = parse::<wire::PublishPolicyRequest>(body);
        }
        3 => {
            let _ = parse::<wire::NewRightsRequest>(body);
        }
        4 => {
            let _ = parse::<wire::CompleteRightsRequest>(body);
        }
        5 => {
            if let Some(req) = parse::<wire::RefuseRequest>(body) {
                let _ = serde_json::from_value::<huoti_privacy::RefusalGround>(serde_json::Value::String(req.ground));
            }
        }
        6 => {
            let _ = parse::<wire::SampleAsk>(body);
        }
        7 => {
            let _ = parse::<wire::SampleApproval>(body);
        }
        8 => {
            if let Some(d) = parse::<ops::IdentityData>(body) {
                let _ = huoti_server::identity::validate(&d);
                let _ = huoti_server::identity::masked(&d);
            }
        }
        9 => {
            if let Some(req) = parse::<ops::DisclosureRequest>(body) {
                if let Ok(v) = serde_json::to_value(&req.basis) {
                    let _ = v.to_string().parse::<huoti_privacy::Scope>();
                }
            }
        }
        10 => {
            // `incidents` reads a value first, then the request.
            if let Some(v) = parse::<serde_json::Value>(body) {
                let _ = serde_json::from_value::<ops::IncidentRequest>(v);
            }
        }
        _ => {
            let _ = parse::<serde_json::Value>(body);
        }
    }
});
