//! Face match in a liveness session: what a session asks at its creation ([`check`], [`record`]), and
//! what runs at `complete` ([`at_complete`]) — only for a live session, before its frames are
//! erased: the 2–3 best frames are embedded and compared with the person's reference (the
//! median decides), and/or the best one becomes the reference.

use huoti_api as wire;
use huoti_api::ErrorCode;
use huoti_liveness::FrameObservation;
use huoti_privacy::Role;
use huoti_vision::{FaceMatcher, TEMPLATE_MODEL, Template, compare, decode_image};

use super::{AUDIT_PURPOSE, reference};
use crate::error::AppError;
use crate::http::auth::Caller;
use crate::privacy::audit;
use crate::state::AppState;
use crate::store::SessionRow;

/// Frames compared with the reference (their median similarity decides).
pub const PROBE_FRAMES: usize = 3;

/// Frames apart that two probes must be, so that they are not near copies of one moment.
const PROBE_SPACING: u32 = 3;

/// Checks what a new session asks of face match, before anything is stored: both need a
/// `subject_ref` (the person the reference belongs to) and a face-match model on this
/// server. Consent is checked when it runs (the person gives it in the session).
pub fn check(st: &AppState, has_subject_ref: bool, compare: bool, enrol: bool) -> Result<(), AppError> {
    if !compare && !enrol {
        return Ok(());
    }
    if !has_subject_ref {
        return Err(AppError::new(ErrorCode::InvalidRequest, "face_match and enrol_reference need a subject_ref: the person the reference belongs to"));
    }
    reference::matcher(st).map(drop)
}

/// Records what a new session asks of face match (after [`check`]).
pub async fn record(st: &AppState, session_id: &str, compare: bool, enrol: bool) -> Result<(), AppError> {
    if compare || enrol {
        st.db.set_session_face_match(session_id, compare, enrol).await?;
    }
    Ok(())
}

/// The best frames for face match, best first: one face, frontal (yaw and pitch small), mouth
/// closed, good quality; at most `n`, at least [`PROBE_SPACING`] frames apart.
pub fn best_frames(observations: &[FrameObservation], n: usize) -> Vec<u32> {
    let mut ranked: Vec<(f32, u32)> = observations
        .iter()
        .filter(|o| o.faces == 1)
        .filter_map(|o| {
            let f = o.face.as_ref()?;
            // Degrees off frontal, an open mouth and a poor frame all cost.
            let cost = f.yaw_deg.abs() + f.pitch_deg.abs() + 0.5 * f.roll_deg.abs() + 40.0 * f.mouth_openness + 10.0 * (1.0 - o.quality.clamp(0.0, 1.0));
            cost.is_finite().then_some((cost, o.seq))
        })
        .collect();
    ranked.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    let mut picked: Vec<u32> = Vec::new();
    for (_, seq) in ranked {
        if picked.len() == n {
            break;
        }
        if picked.iter().all(|p| p.abs_diff(seq) >= PROBE_SPACING) {
            picked.push(seq);
        }
    }
    picked
}

/// What face match added to a verdict.
#[derive(Debug, Default)]
pub struct Outcome {
    /// The comparison, when the session asked for one.
    pub face_match: Option<wire::FaceMatch>,
    /// Whether the session's best frame became the person's reference, when it asked.
    pub enrolled: Option<bool>,
}

/// At `complete`, before the frames are erased: nothing unless the session asked and
/// `live` is true — a session that is not live is never compared (its frames may not even
/// show the person). Needs the person's `face_comparison` consent in force now. On a node
/// without the face-match model the comparison is `unavailable` and nothing is enrolled:
/// the liveness verdict is signed all the same.
pub async fn at_complete(st: &AppState, session: &SessionRow, live: bool, observations: &[FrameObservation], now_ms: u64) -> Result<Outcome, AppError> {
    let Some((compare_faces, enrol)) = st.db.session_face_match(&session.id).await? else { return Ok(Outcome::default()) };
    if !live {
        return Ok(Outcome::default());
    }
    let subject = st.db.session_subject(&session.id).await?.ok_or_else(|| AppError::internal("session without subject"))?;
    let threshold = st.config.face_match.threshold;
    let answer = |decision, similarity| wire::FaceMatch { similarity, threshold, decision, model: TEMPLATE_MODEL.to_owned() };
    // Nothing compared or enrolled, and the verdict says why.
    let not_computed = |decision| Outcome { face_match: compare_faces.then(|| answer(decision, None)), enrolled: enrol.then_some(false) };
    if !reference::consented(st, &subject, now_ms).await? {
        return Ok(not_computed(wire::FaceMatchDecision::NotConsented));
    }
    // A node without the optional SFace model (another node created the session) still signs
    // the liveness verdict: matching never blocks liveness (C6); the verdict says it was not
    // computed.
    let Ok(matcher) = reference::matcher(st) else {
        tracing::warn!(session = %session.id, "face match not computed: this node has no face-match model");
        return Ok(not_computed(wire::FaceMatchDecision::Unavailable));
    };
    let seqs = best_frames(observations, PROBE_FRAMES);
    let probes = embed_frames(st, &session.id, matcher, &seqs).await?;
    let integrator = Caller { key_id: session.integrator_id.clone(), role: Role::Integrator };
    let mut outcome = Outcome::default();
    if compare_faces {
        outcome.face_match = Some(match reference::load(st, &subject).await? {
            None => answer(wire::FaceMatchDecision::NoReference, None),
            Some(reference) => {
                audit::record(&st.db, &integrator, AUDIT_PURPOSE, "compare_face", &format!("{} {subject}", session.id), now_ms).await?;
                match compare(&reference, &probes.iter().map(|(t, _)| t.clone()).collect::<Vec<_>>(), threshold) {
                    Some(c) => answer(
                        match c.decision {
                            huoti_vision::MatchDecision::Match => wire::FaceMatchDecision::Match,
                            huoti_vision::MatchDecision::NoMatch => wire::FaceMatchDecision::NoMatch,
                        },
                        Some(c.similarity),
                    ),
                    // Live, yet no frame gave a template: nothing says it is the person.
                    None => answer(wire::FaceMatchDecision::NoMatch, None),
                }
            }
        });
    }
    if enrol {
        // The best frame that makes a good reference (the frames are ranked best first).
        let good = probes.iter().find(|(_, q)| q.problems.is_empty());
        if let Some((template, _)) = good {
            reference::store(st, &subject, template, "session", now_ms).await?;
            audit::record(&st.db, &integrator, AUDIT_PURPOSE, "enrol_face_reference:session", &format!("{} {subject}", session.id), now_ms).await?;
        }
        outcome.enrolled = Some(good.is_some());
    }
    Ok(outcome)
}

/// Templates of the session's frames `seqs` (those with exactly one alignable face), with
/// their quality, in the order given. Decoded on a blocking thread; nothing but templates
/// leaves it.
async fn embed_frames(st: &AppState, session_id: &str, matcher: std::sync::Arc<FaceMatcher>, seqs: &[u32]) -> Result<Vec<(Template, wire::ReferenceQuality)>, AppError> {
    let key = st.vault.biometric_key(&st.db, session_id).await.map_err(AppError::internal)?;
    // The session's frames are still stored (they are erased after the verdict).
    let stored = st.db.frames(session_id).await?;
    let mut jpegs = Vec::with_capacity(seqs.len());
    for &seq in seqs {
        let Some(frame) = stored.iter().find(|f| f.seq == i64::from(seq)) else { continue };
        jpegs.push(st.vault.get_frame(&key, session_id, &frame.blob_key).await.map_err(AppError::internal)?);
    }
    let _slot = st.analysis_slots.acquire().await.map_err(AppError::internal)?;
    tokio::task::spawn_blocking(move || {
        let limits = matcher.config().decode;
        jpegs
            .iter()
            .filter_map(|jpeg| {
                let img = decode_image(jpeg, &limits).ok()?;
                let e = matcher.embed_single(&img).ok()?;
                Some((e.embedding.template.clone(), reference::quality(&e.embedding.quality, 1)))
            })
            .collect()
    })
    .await
    .map_err(AppError::internal)
}
