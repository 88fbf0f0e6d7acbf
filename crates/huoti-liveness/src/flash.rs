//! The flash check. How it works, for readers and users: [`crate::manual::flash`]
//! (`src/manual/flash.md`).

use crate::timeline::{FaceFrame, between};
use crate::{ChallengePlan, Check, CheckScore, ReasonCode, Thresholds};

/// The result of the flash check: no check when the plan has no light step.
#[derive(Debug, Clone)]
pub(crate) struct FlashResult {
    pub check: Option<CheckScore>,
    pub reasons: Vec<ReasonCode>,
}

/// Face-vs-background log-chroma of one frame.
fn signal(f: &FaceFrame<'_>) -> [f32; 3] {
    let l: [f32; 3] = std::array::from_fn(|c| {
        (f.face.face_rgb[c].max(0.0) + 1.0).ln() - (f.face.background_rgb[c].max(0.0) + 1.0).ln()
    });
    centre(l)
}

fn centre(v: [f32; 3]) -> [f32; 3] {
    let m = (v[0] + v[1] + v[2]) / 3.0;
    [v[0] - m, v[1] - m, v[2] - m]
}

/// sRGB 0–255 to linear light 0–1 (the screen's emitted light).
fn linear(v: u8) -> f32 {
    let x = v as f32 / 255.0;
    if x <= 0.04045 {
        x / 12.92
    } else {
        ((x + 0.055) / 1.055).powf(2.4)
    }
}

/// One flash step as measured.
struct StepMean {
    index: usize,
    mean: [f32; 3],
    n: usize,
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

    let mut steps = Vec::new();
    let mut sq_dev = 0.0f64; // sum of squared deviations from step means, all channels
    let mut dof = 0usize;
    for (index, step) in plan.flashes.iter().enumerate() {
        // A fade (safe profile) is neither colour: only the steady part counts.
        let steady_from = step.start_ms.saturating_add(plan.transition_ms);
        let s: Vec<[f32; 3]> = between(
            faces,
            steady_from.saturating_add(th.flash_lag_ms),
            step.end_ms.saturating_add(th.flash_lag_ms),
        )
        .map(signal)
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
        // Fewer than three flash steps had a face in them: nothing to correlate.
        return FlashResult {
            check: Some(CheckScore {
                check: Check::Flash,
                score: 0.0,
                passed: None,
            }),
            reasons: vec![ReasonCode::TooFewFrames],
        };
    }

    let dot = |x: &[f32], y: &[f32]| x.iter().zip(y).map(|(a, b)| a * b).sum::<f32>();
    let (norm_d, norm_e) = (dot(&d, &d).sqrt(), dot(&e, &e).sqrt());
    let score = if norm_e <= f32::EPSILON || norm_d <= f32::EPSILON {
        0.0
    } else {
        let cos = dot(&d, &e) / (norm_d * norm_e);
        let sigma = if dof > 0 {
            (sq_dev / dof as f64).sqrt() as f32
        } else {
            0.0
        };
        let sigma = sigma.max(th.flash_noise_floor);
        let mean_inv_n = inv_n.iter().sum::<f32>() / inv_n.len() as f32;
        let snr = dot(&d, &e) / norm_e / (sigma * mean_inv_n.sqrt());
        cos.max(0.0) * (snr / th.flash_good_snr).clamp(0.0, 1.0)
    };
    let passed = score >= th.flash_min_score;
    FlashResult {
        check: Some(CheckScore {
            check: Check::Flash,
            score,
            passed: Some(passed),
        }),
        reasons: if passed {
            Vec::new()
        } else {
            vec![ReasonCode::FlashMismatch]
        },
    }
}
