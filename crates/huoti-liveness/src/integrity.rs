//! The integrity checks. How it works, for readers and users: [`crate::manual::integrity`]
//! (`src/manual/integrity.md`).

use std::collections::BTreeMap;

use crate::seen::hamming;
use crate::timeline::median;
use crate::{
    ChallengePlan, Check, CheckScore, FrameObservation, ReasonCode, SeenFrames, Thresholds,
};

/// The result of the integrity checks.
#[derive(Debug, Clone)]
pub(crate) struct IntegrityResult {
    pub check: CheckScore,
    pub reasons: Vec<ReasonCode>,
}

pub(crate) fn check_integrity(
    plan: &ChallengePlan,
    frames: &[FrameObservation],
    seen: &SeenFrames,
    arrivals: &BTreeMap<u32, u64>,
    th: &Thresholds,
) -> IntegrityResult {
    let mut reasons = Vec::new();
    let mut checks = vec![
        (sequence_ok(frames), ReasonCode::SequenceInvalid),
        (timing_ok(frames, th), ReasonCode::TimingImplausible),
        (
            frames.iter().all(|f| f.nonce == plan.nonce),
            ReasonCode::NonceMismatch,
        ),
        (enough_frames(plan, frames, th), ReasonCode::TooFewFrames),
        (!is_static(frames, th), ReasonCode::StaticPresentation),
        (!is_replayed(frames, seen, th), ReasonCode::ReplayedFrames),
    ];
    // Only where the arrival times are known (the server): offline analysis skips it.
    if !arrivals.is_empty() {
        checks.push((arrived_while_captured(frames, arrivals, th), ReasonCode::ArrivalBurst));
    }
    let ok = checks.iter().filter(|(ok, _)| *ok).count();
    for &(ok, code) in &checks {
        if !ok {
            reasons.push(code);
        }
    }
    let passed = if reasons
        .iter()
        .any(|r| r.implies() == Some(crate::Decision::Spoof))
    {
        Some(false)
    } else if reasons.is_empty() {
        Some(true)
    } else {
        None
    };
    IntegrityResult {
        check: CheckScore {
            check: Check::Integrity,
            score: ok as f32 / checks.len() as f32,
            passed,
        },
        reasons,
    }
}

fn sequence_ok(frames: &[FrameObservation]) -> bool {
    frames.iter().enumerate().all(|(i, f)| f.seq as usize == i)
}

fn timing_ok(frames: &[FrameObservation], th: &Thresholds) -> bool {
    if frames.windows(2).any(|w| w[1].t_ms <= w[0].t_ms) {
        return false;
    }
    if frames
        .windows(2)
        .any(|w| w[1].t_ms - w[0].t_ms > th.max_gap_ms)
    {
        return false;
    }
    match (frames.first(), frames.last()) {
        (Some(first), Some(last)) if frames.len() >= 2 => {
            let mean = (last.t_ms - first.t_ms) as f32 / (frames.len() - 1) as f32;
            (th.min_mean_interval_ms..=th.max_mean_interval_ms).contains(&mean)
        }
        // Zero or one frame: nothing to judge here (too_few_frames says it).
        _ => true,
    }
}

fn enough_frames(plan: &ChallengePlan, frames: &[FrameObservation], th: &Thresholds) -> bool {
    let needed = (plan.total_ms as f32 / 1000.0 * th.min_fps).ceil() as usize;
    frames.len() >= needed.max(2)
}

fn is_static(frames: &[FrameObservation], th: &Thresholds) -> bool {
    if frames.len() < 2 {
        return false;
    }
    let pairs = frames.len() - 1;
    let dups = frames
        .windows(2)
        .filter(|w| hamming(w[0].frame_hash, w[1].frame_hash) <= th.static_hash_distance)
        .count();
    // The first face's motion is 0 by definition (no previous frame): leave it out.
    let motion = median(
        frames
            .iter()
            .filter_map(|f| f.face.as_ref())
            .skip(1)
            .map(|f| f.landmark_motion),
    );
    dups as f32 >= th.static_min_fraction * pairs as f32
        && motion.is_none_or(|m| m <= th.static_max_motion)
}

fn is_replayed(frames: &[FrameObservation], seen: &SeenFrames, th: &Thresholds) -> bool {
    if seen.is_empty() {
        return false;
    }
    let hits = frames
        .iter()
        .filter(|f| {
            seen.matches(f.frame_hash, th.replay_hash_distance)
                .is_some()
        })
        .count();
    hits >= th.replay_min_frames.max(1)
        && hits as f32 >= th.replay_min_fraction * frames.len() as f32
}

/// Frames of a live capture arrive while it happens: a frame can reach the server late
/// (network, retries, a queue behind a slow server), but the frames of a capture cannot all
/// arrive in much less time than the capture took. So the span of arrival times (first to
/// last) must be at least the span of capture times less `arrival_tolerance_ms`. A capture
/// rendered offline and uploaded in one burst afterwards fails (its arrivals span a fraction of
/// a second); late frames, a slow uplink, a stall in the middle caught up later, and a single
/// frame retried long after only widen the arrival span and pass; holding back the first
/// frames for longer than the tolerance and then sending everything at once fails.
/// Frames without a known arrival are left out.
fn arrived_while_captured(
    frames: &[FrameObservation],
    arrivals: &BTreeMap<u32, u64>,
    th: &Thresholds,
) -> bool {
    let known: Vec<(u64, u64)> = frames
        .iter()
        .filter_map(|f| Some((f.t_ms, *arrivals.get(&f.seq)?)))
        .collect();
    let span = |xs: &mut dyn Iterator<Item = u64>| {
        let (lo, hi) = xs.fold((u64::MAX, 0), |(lo, hi), x| (lo.min(x), hi.max(x)));
        hi.saturating_sub(lo)
    };
    let captured = span(&mut known.iter().map(|k| k.0));
    let arrived = span(&mut known.iter().map(|k| k.1));
    arrived.saturating_add(th.arrival_tolerance_ms) >= captured
}
