//! The flash check. How it works, for readers and users: [`crate::manual::flash`]
//! (`src/manual/flash.md`).

use crate::light::linear;
use crate::timeline::{FaceFrame, between};
use crate::{ChallengePlan, Check, CheckScore, FaceObservation, FlashStep, ReasonCode, Thresholds};

/// The result of the flash check: no check when the plan has no light step.
#[derive(Debug, Clone)]
pub(crate) struct FlashResult {
    pub check: Option<CheckScore>,
    pub reasons: Vec<ReasonCode>,
}

/// Log-chroma of `a` against `b`: per-channel gains (white balance, exposure) cancel, and so
/// does overall brightness.
fn log_chroma(a: [f32; 3], b: [f32; 3]) -> [f32; 3] {
    centre(std::array::from_fn(|c| (a[c].max(0.0) + 1.0).ln() - (b[c].max(0.0) + 1.0).ln()))
}

/// The face against the background: follows the colours when the screen lights the face.
fn face_signal(f: &FaceObservation) -> Option<[f32; 3]> {
    Some(log_chroma(f.face_rgb, f.background_rgb))
}

/// The background's dark half against its bright half: follows the colours only when the
/// light is added to the whole picture (glare on a screen in front of the camera).
fn glare_signal(f: &FaceObservation) -> Option<[f32; 3]> {
    f.background_split_rgb.map(|[dark, bright]| log_chroma(dark, bright))
}

fn centre(v: [f32; 3]) -> [f32; 3] {
    let m = (v[0] + v[1] + v[2]) / 3.0;
    [v[0] - m, v[1] - m, v[2] - m]
}


/// One flash step as measured.
struct StepMean {
    index: usize,
    mean: [f32; 3],
    n: usize,
}

/// How well a per-frame signal follows the plan's colours.
#[derive(Debug, Clone, Copy)]
struct Following {
    /// `max(0, cos) × min(1, snr / flash_good_snr)`.
    score: f32,
    /// Projection of the measured step differences on the displayed ones, over its noise.
    snr: f32,
    /// The least-squares gain of the measured differences on the displayed ones: how much
    /// the signal moves per unit of displayed colour change. A face lit by a screen has a
    /// gain bounded by physics (`ln(1 + a)/2.4` for a screen casting `a` times the room's
    /// light); glare on a screen that fills the view has far more, chance alignment far less.
    gain: f32,
}

/// The capture times whose frames the check reads for colour `step`, `[from, to)`: its
/// steady part (a fade, in the safe profile, is neither colour), `flash_lag_ms` later, when
/// the reflection shows.
fn read_window(plan: &ChallengePlan, step: &FlashStep, th: &Thresholds) -> (u64, u64) {
    let steady_from = step.start_ms.saturating_add(plan.transition_ms);
    (steady_from.saturating_add(th.flash_lag_ms), step.end_ms.saturating_add(th.flash_lag_ms))
}

/// Whether the flash check reads anything of the frame captured at `t_ms` — its glare signal
/// (the background's darker and brighter halves) only matters there, so a caller may skip
/// measuring it elsewhere (issue 15).
pub fn glare_wanted(plan: &ChallengePlan, th: &Thresholds, t_ms: u64) -> bool {
    plan.flashes.iter().any(|step| {
        let (from, to) = read_window(plan, step, th);
        (from..to).contains(&t_ms)
    })
}

/// Scores `signal` against the plan's colour steps (see the manual); `None` when fewer than
/// three steps had frames with the signal.
fn following(
    plan: &ChallengePlan,
    faces: &[FaceFrame<'_>],
    th: &Thresholds,
    signal: fn(&FaceObservation) -> Option<[f32; 3]>,
) -> Option<Following> {
    let mut steps = Vec::new();
    let mut sq_dev = 0.0f64; // sum of squared deviations from step means, all channels
    let mut dof = 0usize;
    for (index, step) in plan.flashes.iter().enumerate() {
        let (from, to) = read_window(plan, step, th);
        let s: Vec<[f32; 3]> = between(faces, from, to)
            .filter_map(|f| signal(f.face))
            .filter(|v| v.iter().all(|x| x.is_finite()))
            .collect();
        if s.is_empty() {
            continue;
        }
        let n = s.len();
        let mean: [f32; 3] =
            std::array::from_fn(|c| s.iter().map(|v| v[c]).sum::<f32>() / n as f32);
        for v in &s {
            for c in 0..3 {
                sq_dev += ((v[c] - mean[c]) as f64).powi(2);
            }
        }
        // Centred 3-vectors have 2 degrees of freedom each.
        dof += 2 * (n - 1);
        steps.push(StepMean { index, mean, n });
    }

    let mut d = Vec::new(); // measured differences
    let mut e = Vec::new(); // expected (displayed) differences
    let mut inv_n = Vec::new(); // 1/n_k + 1/n_{k+1}, for the noise on each difference
    for pair in steps.windows(2) {
        let (a, b) = (&pair[0], &pair[1]);
        let ca = plan.flashes[a.index].rgb.map(linear);
        let cb = plan.flashes[b.index].rgb.map(linear);
        let shown = centre([cb[0] - ca[0], cb[1] - ca[1], cb[2] - ca[2]]);
        d.extend((0..3).map(|c| b.mean[c] - a.mean[c]));
        e.extend(shown);
        inv_n.push(1.0 / a.n as f32 + 1.0 / b.n as f32);
    }
    if inv_n.len() < 2 {
        return None;
    }

    let dot = |x: &[f32], y: &[f32]| x.iter().zip(y).map(|(a, b)| a * b).sum::<f32>();
    let (norm_d, norm_e) = (dot(&d, &d).sqrt(), dot(&e, &e).sqrt());
    if norm_e <= f32::EPSILON || norm_d <= f32::EPSILON {
        return Some(Following { score: 0.0, snr: 0.0, gain: 0.0 });
    }
    let cos = dot(&d, &e) / (norm_d * norm_e);
    let sigma = if dof > 0 {
        (sq_dev / dof as f64).sqrt() as f32
    } else {
        0.0
    };
    let sigma = sigma.max(th.flash_noise_floor);
    let mean_inv_n = inv_n.iter().sum::<f32>() / inv_n.len() as f32;
    let within = sigma * mean_inv_n.sqrt();
    // What moves between steps but not with the colours (a person moving, talking, the camera
    // drifting) is noise too, and the spread within steps does not see it: the part of `D`
    // off `E`'s direction, per degree of freedom (two per centred difference, less the one the
    // projection takes), bounds the noise from below. Without it a recording's own drift can
    // line up with a short plan by chance (cap12, unlit, scored 0.53 on a five-step plan).
    let projection = dot(&d, &e) / norm_e;
    let off_dof = (2 * inv_n.len()).saturating_sub(1).max(1);
    let between = ((norm_d * norm_d - projection * projection).max(0.0) / off_dof as f32).sqrt();
    let snr = projection / within.max(between);
    let score = cos.max(0.0) * (snr / th.flash_good_snr).clamp(0.0, 1.0);
    let gain = dot(&d, &e) / (norm_e * norm_e);
    let finite = |x: f32| if x.is_finite() { x } else { 0.0 };
    Some(Following { score: finite(score), snr: finite(snr), gain: finite(gain) })
}

pub(crate) fn check_flash(
    plan: &ChallengePlan,
    faces: &[FaceFrame<'_>],
    th: &Thresholds,
) -> FlashResult {
    if !plan.has_light() {
        // Only a fixed (test-mode) plan may do without the light check; any other plan
        // without one is never live, whoever made it.
        return FlashResult {
            check: None,
            reasons: vec![if plan.fixed {
                ReasonCode::FlashReduced
            } else {
                ReasonCode::LightRequired
            }],
        };
    }
    let Some(face) = following(plan, faces, th, face_signal) else {
        // Fewer than three flash steps had a face in them: nothing to correlate.
        return FlashResult {
            check: Some(CheckScore {
                check: Check::Flash,
                score: 0.0,
                passed: None,
            }),
            reasons: vec![ReasonCode::TooFewFrames],
        };
    };
    // The colours on the whole picture rather than on the face: a screen in front of the
    // camera. Either the background's own halves follow them (added light changes a dark
    // region more than a bright one; a reflection on a face leaves the background alone), or
    // the face follows them more strongly than any screen can light a face. Both can only
    // take a pass away.
    let background_follows = following(plan, faces, th, glare_signal).is_some_and(|g| {
        g.score >= th.flash_glare_score && g.snr >= th.flash_glare_snr && g.gain >= th.flash_glare_ratio * face.gain.max(0.0)
    });
    let glare = background_follows || face.gain > th.flash_max_gain;
    // Every step must have moved the face by what a screen's light can: a drift that lines up
    // with the colours by chance moves it less.
    let weak = face.gain < th.flash_min_gain;
    let passed = face.score >= th.flash_min_score && !weak && !glare;
    let score = if glare {
        0.0
    } else {
        face.score * (face.gain / th.flash_min_gain).clamp(0.0, 1.0)
    };
    FlashResult {
        check: Some(CheckScore {
            check: Check::Flash,
            score,
            passed: Some(passed),
        }),
        reasons: if glare {
            vec![ReasonCode::FlashUniform]
        } else if !passed {
            vec![ReasonCode::FlashMismatch]
        } else {
            Vec::new()
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::plan;
    use crate::timeline::face_frames;
    use crate::{Action, FrameObservation};

    #[test]
    fn glare_is_wanted_exactly_where_the_check_reads_it() {
        let th = Thresholds::default();
        let mut p = plan(&[Action::Blink], true);
        for transition in [0, 150] {
            p.transition_ms = transition;
            let (first, last) = (p.flashes[0], p.flashes[p.flashes.len() - 1]);
            // Each colour from its steady part on, `flash_lag_ms` late; nothing before the
            // first colour's reflection or after the last one's.
            for step in &p.flashes {
                let from = step.start_ms + transition + th.flash_lag_ms;
                assert!(glare_wanted(&p, &th, from));
                assert!(glare_wanted(&p, &th, step.end_ms + th.flash_lag_ms - 1));
            }
            assert!(!glare_wanted(&p, &th, first.start_ms + transition + th.flash_lag_ms - 1));
            assert!(!glare_wanted(&p, &th, last.end_ms + th.flash_lag_ms));
            assert!(!glare_wanted(&p, &th, 0));
            // Nothing the check computes depends on the glare signal of any other frame: give
            // every frame a background that follows the screen (with some texture), then drop
            // it where not wanted — the same glare score and verdict; dropped where wanted,
            // the glare score changes (so it is read there).
            let mut frames = lit(&p, 0.04);
            for (i, f) in frames.iter_mut().enumerate() {
                let s = p.flash_at(f.t_ms.saturating_sub(60)).map_or([0.5; 3], |rgb| rgb.map(linear));
                let wobble = (i % 5) as f32;
                let face = f.face.as_mut().expect("a face");
                face.background_split_rgb = Some([[40.0 + wobble; 3], std::array::from_fn(|c| 140.0 * (1.0 + 3.0 * s[c]) + wobble)]);
            }
            let judged = |frames: &[FrameObservation]| {
                let faces = face_frames(frames);
                format!("{:?} {:?}", following(&p, &faces, &th, glare_signal), check_flash(&p, &faces, &th))
            };
            let without = |wanted: bool| {
                let mut v = frames.clone();
                for f in v.iter_mut().filter(|f| glare_wanted(&p, &th, f.t_ms) == wanted) {
                    f.face.as_mut().expect("a face").background_split_rgb = None;
                }
                judged(&v)
            };
            assert_eq!(without(false), judged(&frames), "transition {transition}: glare outside the windows is never read");
            assert_ne!(without(true), judged(&frames), "transition {transition}: glare inside the windows is read");
        }
        assert!(!glare_wanted(&plan(&[Action::Blink], false), &th, 1500), "no light step, no glare");
    }

    /// 15 fps frames whose face colour is `base × (1 + k·s)` for the screen's linear colour `s`
    /// shown 60 ms earlier, on a still background: a noiseless response of gain ≈ `k` (for
    /// small `k`) in the check's log-chroma units.
    fn lit(plan: &ChallengePlan, k: f32) -> Vec<FrameObservation> {
        (0..90u32)
            .map(|i| {
                let t_ms = 20 + u64::from(i) * 67;
                let s = plan.flash_at(t_ms.saturating_sub(60)).map_or([0.5; 3], |rgb| rgb.map(linear));
                // A little texture so the spread within steps is not zero.
                let wobble = 0.3 * ((i % 3) as f32 - 1.0);
                FrameObservation {
                    seq: i,
                    t_ms,
                    nonce: plan.nonce.clone(),
                    faces: 1,
                    quality: 0.8,
                    frame_hash: u64::from(i),
                    face: Some(FaceObservation {
                        face_rgb: std::array::from_fn(|c| 150.0 * (1.0 + k * s[c]) + wobble),
                        background_rgb: [90.0, 100.0, 110.0],
                        background_split_rgb: Some([[40.0, 45.0, 50.0], [140.0, 150.0, 160.0]]),
                        ..Default::default()
                    }),
                }
            })
            .collect()
    }

    fn judge(plan: &ChallengePlan, k: f32) -> FlashResult {
        let frames = lit(plan, k);
        check_flash(plan, &face_frames(&frames), &Thresholds::default())
    }

    #[test]
    fn c3_the_face_must_respond_as_strongly_as_screen_light_can_and_no_more() {
        let p = plan(&[Action::Blink], true);
        // A screen casting 4 % of the room's light: gain ≈ 0.04 / 2.4 per sRGB code ≈ 0.016.
        let lit = judge(&p, 0.04);
        assert_eq!(lit.check.unwrap().passed, Some(true), "{lit:?}");
        assert!(lit.reasons.is_empty());
        // The same shape, a quarter of the strength: a recording's drift lining up by chance.
        let drift = judge(&p, 0.005);
        assert_eq!(drift.check.unwrap().passed, Some(false), "{drift:?}");
        assert_eq!(drift.reasons, vec![ReasonCode::FlashMismatch]);
        assert!(drift.check.unwrap().score < 0.5, "scaled down by gain / flash_min_gain");
        // Far stronger than any screen can light a face: the colours are the picture's own.
        let glare = judge(&p, 30.0);
        assert_eq!(glare.check.unwrap().passed, Some(false), "{glare:?}");
        assert_eq!(glare.reasons, vec![ReasonCode::FlashUniform]);
    }
}
