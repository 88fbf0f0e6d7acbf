//! The reflection simulator: what a phone's or laptop's screen does to the light on a face,
//! added to a recorded bona fide clip, so that the light (flash) check can be measured on real
//! faces, real cameras' noise and real movement instead of synthetic numbers.
//!
//! Two cases, for any [`ChallengePlan`]'s colour sequence (fades included):
//!
//! - [`Cast::Face`]: the screen lights the face. In linear light every face pixel becomes
//!   `P · (1 + a·s_c(t))`, where `s_c(t)` is the screen's linear colour (0–1 per channel)
//!   shown `latency_ms` earlier and `a` is the *face amplitude*: the illuminance a white screen
//!   casts on the face over the ambient illuminance ([`ScreenSetup::face_amplitude`], from
//!   published screen and room figures; see `docs/EVALUATION.md`). The background, further
//!   away, gets `background × a` (inverse-square law). The face region is the ellipse around
//!   the FaceMesh face box the tracker found in the clip (1.15× the box: the light falls on
//!   the whole head).
//! - [`Cast::Uniform`]: the replay case. The attacker's screen fills the camera's view and
//!   shows the recording; the verifier's colours fall on its glass and reach the camera as
//!   glare, the same over the whole picture: every pixel becomes `P + b·s_c(t)` (`b` in units
//!   of the recording's full white).
//!
//! Then the camera reacts ([`CameraModel`]): auto exposure scales the whole frame and auto
//! white balance each channel, moving towards the gains that would restore the frame's mean
//! luminance and mean chroma, by a fraction (`exposure`, `white_balance`), with a first-order
//! lag (`adapt_ms`). This partly cancels the signal on the face, as real cameras do.
//!
//! The simulator then measures each frame exactly as the engine does
//! ([`face_and_background_rgb`] on the FaceMesh box) and hands back the observations, with
//! everything else (pose, shape, hashes, quality) as measured on the original clip.

use huoti_engine::{EngineError, observation};
use huoti_liveness::{
    AnalysisContext, Check, ChallengeConfig, ChallengePlan, FrameObservation, LightProfile, ReasonCode, SeenFrames,
    analyse,
};
use huoti_vision::{Analyzer, Rect, TrackerConfig, background_split_rgb, face_and_background_rgb};
use image::RgbImage;
use rand_chacha::ChaCha8Rng;
use rand_chacha::rand_core::SeedableRng;
use serde::Serialize;

/// Longer side the clip's frames are reduced to before rendering, pixels: the colour measure
/// samples a 160-pixel grid anyway, so this keeps its input and costs a fraction.
const RENDER_SIDE: u32 = 200;

/// The screen's linear light outside the light steps (the SDK's normal screen).
pub const UI_LIGHT: [f32; 3] = [0.5; 3];

/// A screen in front of a face in a lit room: the figures the face amplitude comes from.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ScreenSetup {
    /// Short name for reports.
    pub name: &'static str,
    /// Luminance of the screen showing full white, cd/m².
    pub luminance_cd_m2: f32,
    /// Emitting area, m².
    pub area_m2: f32,
    /// Screen to face, m.
    pub distance_m: f32,
    /// Ambient illuminance on the face, lx.
    pub ambient_lux: f32,
}

impl ScreenSetup {
    /// Illuminance a full-white screen casts on the face, lx: `L·A/d²` (a small Lambertian
    /// source seen face-on; within a few percent while the screen is small against `d`).
    pub fn screen_lux(&self) -> f32 {
        self.luminance_cd_m2 * self.area_m2 / (self.distance_m * self.distance_m)
    }

    /// The face amplitude `a` of [`Cast::Face`]: screen illuminance over ambient.
    pub fn face_amplitude(&self) -> f32 {
        self.screen_lux() / self.ambient_lux
    }
}

/// A 6.1-inch phone (19.5:9, 0.0092 m²) at full brightness, 800 cd/m² (Apple's figure for the
/// iPhone 13's typical maximum); a 13.3-inch laptop (16:10, 0.051 m²) at 400 cd/m² (Apple's
/// figure for the MacBook Air M1). Rooms: 500 lx (EN 12464-1's office task area), 150 lx and
/// 50 lx (living rooms by evening light).
pub const SETUPS: [ScreenSetup; 7] = [
    ScreenSetup { name: "phone 30 cm, office 500 lx", luminance_cd_m2: 800.0, area_m2: 0.0092, distance_m: 0.30, ambient_lux: 500.0 },
    ScreenSetup { name: "phone 30 cm at half brightness, office", luminance_cd_m2: 400.0, area_m2: 0.0092, distance_m: 0.30, ambient_lux: 500.0 },
    ScreenSetup { name: "phone 45 cm at half brightness, office", luminance_cd_m2: 400.0, area_m2: 0.0092, distance_m: 0.45, ambient_lux: 500.0 },
    ScreenSetup { name: "phone 30 cm, living room 150 lx", luminance_cd_m2: 800.0, area_m2: 0.0092, distance_m: 0.30, ambient_lux: 150.0 },
    ScreenSetup { name: "laptop 50 cm, office 500 lx", luminance_cd_m2: 400.0, area_m2: 0.051, distance_m: 0.50, ambient_lux: 500.0 },
    ScreenSetup { name: "laptop 70 cm, office 500 lx", luminance_cd_m2: 400.0, area_m2: 0.051, distance_m: 0.70, ambient_lux: 500.0 },
    ScreenSetup { name: "laptop 50 cm, evening room 50 lx", luminance_cd_m2: 400.0, area_m2: 0.051, distance_m: 0.50, ambient_lux: 50.0 },
];

/// How the camera fights the signal.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct CameraModel {
    /// Fraction of a change in the frame's mean luminance that auto exposure undoes (0–1).
    pub exposure: f32,
    /// Fraction of a change in the frame's mean chroma that auto white balance undoes (0–1).
    pub white_balance: f32,
    /// Time constant of both adaptations, ms.
    pub adapt_ms: f32,
    /// From a colour on screen to its light in a captured frame, ms.
    pub latency_ms: u64,
}

impl Default for CameraModel {
    /// Adapts 60 % of the way (exposure) and 50 % (white balance) with a 300 ms time constant;
    /// 66 ms latency (one frame at 15 fps).
    fn default() -> Self {
        CameraModel { exposure: 0.6, white_balance: 0.5, adapt_ms: 300.0, latency_ms: 66 }
    }
}

/// Where the screen's light goes.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub enum Cast {
    /// On the face (a bona fide person), with `background` × the amplitude on the rest.
    Face {
        /// Face amplitude `a`.
        amplitude: f32,
        /// Fraction of the amplitude the background gets (`(d_face / d_background)²`).
        background: f32,
    },
    /// As glare on a screen that fills the view (a replay): `P + b·s_c(t)` everywhere.
    Uniform {
        /// Glare `b` in units of the recording's white.
        amplitude: f32,
    },
}

impl Cast {
    /// A face lit by the screen, the background 2.5 m behind a face at 0.5 m (`(0.5/3)² ≈ 0.03`).
    pub fn face(amplitude: f32) -> Cast {
        Cast::Face { amplitude, background: 0.03 }
    }
}

/// One frame of a bona fide clip, reduced for rendering, with what the tracker measured.
#[derive(Debug, Clone)]
pub struct ClipFrame {
    /// The frame, longer side at most 200 pixels.
    pub image: RgbImage,
    /// The FaceMesh face box in `image`'s pixels, when a face was tracked.
    pub face_box: Option<Rect>,
    /// The engine's observation of the original frame (no passive score).
    pub observation: FrameObservation,
}

/// A recorded bona fide clip, tracked once.
#[derive(Debug, Clone)]
pub struct Clip {
    /// Its frames, in order.
    pub frames: Vec<ClipFrame>,
}

impl Clip {
    /// Tracks the face through `frames` (`t_ms` from the start of the session, image) with the
    /// engine's tracker, bound to `nonce`, and keeps each frame reduced for rendering.
    pub fn track(
        analyzer: &Analyzer,
        nonce: &str,
        frames: impl IntoIterator<Item = (u64, RgbImage)>,
    ) -> Result<Clip, EngineError> {
        let mut tracker = analyzer.tracker(TrackerConfig::default());
        let mut out = Vec::new();
        for (seq, (t_ms, image)) in frames.into_iter().enumerate() {
            let a = tracker.step(&image)?;
            let obs = observation(seq as u32, t_ms, nonce, &a, image.width(), image.height());
            let k = image.width().max(image.height()).div_ceil(RENDER_SIDE).max(1);
            let small = image::imageops::thumbnail(&image, image.width() / k, image.height() / k);
            let s = small.width() as f32 / image.width() as f32;
            let face_box = a.face_box.map(|b| Rect::new(b.x * s, b.y * s, b.w * s, b.h * s));
            out.push(ClipFrame { image: small, face_box, observation: obs });
        }
        Ok(Clip { frames: out })
    }
}

/// sRGB code to linear light.
fn linear_table() -> [f32; 256] {
    std::array::from_fn(|v| {
        let x = v as f32 / 255.0;
        if x <= 0.04045 { x / 12.92 } else { ((x + 0.055) / 1.055).powf(2.4) }
    })
}

fn encode(l: f32) -> u8 {
    let l = l.clamp(0.0, 1.0);
    let x = if l <= 0.003_130_8 { 12.92 * l } else { 1.055 * l.powf(1.0 / 2.4) - 0.055 };
    (x * 255.0).round() as u8
}

/// The screen's linear light at `t_ms`: the step's colour, blended from the previous step's
/// (or `ui` after a gap) during its first `transition_ms`; `ui` outside the light steps.
pub fn screen_light(plan: &ChallengePlan, t_ms: u64, ui: [f32; 3]) -> [f32; 3] {
    let table = linear_table();
    let lin = |rgb: [u8; 3]| rgb.map(|v| table[v as usize]);
    let Some(i) = plan.flashes.iter().position(|s| s.start_ms <= t_ms && t_ms < s.end_ms) else {
        return ui;
    };
    let step = plan.flashes[i];
    let from = match i.checked_sub(1).map(|j| plan.flashes[j]) {
        Some(prev) if prev.end_ms == step.start_ms => lin(prev.rgb),
        _ => ui,
    };
    let to = lin(step.rgb);
    let done = if plan.transition_ms == 0 {
        1.0
    } else {
        ((t_ms - step.start_ms) as f32 / plan.transition_ms as f32).min(1.0)
    };
    std::array::from_fn(|c| from[c] + (to[c] - from[c]) * done)
}

/// Renders the clip with the plan's light cast as `cast` seen through `camera`, and returns the
/// engine's observations of the rendered frames (face and background colour re-measured).
pub fn simulate(clip: &Clip, plan: &ChallengePlan, cast: Cast, camera: &CameraModel) -> Vec<FrameObservation> {
    let table = linear_table();
    let mut gain = [1.0f32; 3];
    let mut last_t: Option<u64> = None;
    clip.frames
        .iter()
        .map(|f| {
            let t = f.observation.t_ms;
            let s = screen_light(plan, t.saturating_sub(camera.latency_ms), UI_LIGHT);
            let base = UI_LIGHT; // the normal screen: the recording as it was
            let (w, h) = (f.image.width(), f.image.height());
            let mut lit = vec![[0.0f32; 3]; (w * h) as usize];
            let (mut before, mut after) = ([0.0f64; 3], [0.0f64; 3]);
            for (i, p) in f.image.pixels().enumerate() {
                let (x, y) = ((i as u32 % w) as f32 + 0.5, (i as u32 / w) as f32 + 0.5);
                let l = p.0.map(|v| table[v as usize]);
                let out: [f32; 3] = match cast {
                    Cast::Face { amplitude, background } => {
                        let weight = match f.face_box {
                            Some(b) if in_head(b, x, y) => 1.0,
                            _ => background,
                        };
                        // Relative to the normal screen, so only changes of light show.
                        std::array::from_fn(|c| l[c] * (1.0 + amplitude * weight * s[c]) / (1.0 + amplitude * weight * base[c]))
                    }
                    Cast::Uniform { amplitude } => std::array::from_fn(|c| l[c] + amplitude * (s[c] - base[c]).max(-l[c])),
                };
                for c in 0..3 {
                    before[c] += f64::from(l[c]);
                    after[c] += f64::from(out[c]);
                }
                lit[i] = out;
            }
            // The camera moves its gains towards those that restore the frame's mean luminance
            // (exposure) and chroma (white balance), partly and with a lag.
            let lum = |m: [f64; 3]| (0.2126 * m[0] + 0.7152 * m[1] + 0.0722 * m[2]).max(1e-9);
            let (lb, la) = (lum(before), lum(after));
            let target: [f32; 3] = std::array::from_fn(|c| {
                let exposure = (lb / la).powf(f64::from(camera.exposure));
                let chroma = ((before[c] / lb) / (after[c] / la).max(1e-9)).powf(f64::from(camera.white_balance));
                (exposure * chroma) as f32
            });
            let dt = last_t.map_or(0.0, |p| t.saturating_sub(p) as f32);
            let alpha = if last_t.is_none() { 1.0 } else { 1.0 - (-dt / camera.adapt_ms.max(1.0)).exp() };
            last_t = Some(t);
            for c in 0..3 {
                gain[c] += (target[c] - gain[c]) * alpha;
            }
            let rendered = RgbImage::from_fn(w, h, |x, y| {
                let l = lit[(y * w + x) as usize];
                image::Rgb(std::array::from_fn(|c| encode(l[c] * gain[c])))
            });
            let mut obs = f.observation.clone();
            if let (Some(face), Some(b)) = (obs.face.as_mut(), f.face_box) {
                let (face_rgb, background_rgb) = face_and_background_rgb(&rendered, &b);
                face.face_rgb = face_rgb;
                face.background_rgb = background_rgb;
                face.background_split_rgb = background_split_rgb(&rendered, &b);
            }
            obs
        })
        .collect()
}

/// Inside the ellipse 1.15× the face box.
fn in_head(b: Rect, x: f32, y: f32) -> bool {
    let (cx, cy) = (b.x + b.w / 2.0, b.y + b.h / 2.0);
    ((x - cx) / (0.575 * b.w)).powi(2) + ((y - cy) / (0.575 * b.h)).powi(2) <= 1.0
}

/// One point of a margin sweep.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct MarginPoint {
    /// The profile the plans used.
    pub profile: LightProfile,
    /// `true`: [`Cast::Uniform`] (a replay), `false`: [`Cast::face`].
    pub uniform: bool,
    /// The cast's amplitude.
    pub amplitude: f32,
    /// Plans whose flash check passed.
    pub accepted: usize,
    /// Plans refused because the colours were on the whole picture (`flash_uniform`).
    pub glare: usize,
    /// Plans tried.
    pub plans: usize,
    /// Mean flash score.
    pub mean_score: f32,
}

/// Random plans of a profile, deterministic in `seed`, for the clip's nonce.
pub fn plans(profile: LightProfile, nonce: &str, count: usize, seed: u64) -> Vec<ChallengePlan> {
    let config = ChallengeConfig { reduced_flash: profile == LightProfile::PhotosensitiveSafe, ..ChallengeConfig::default() };
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..count).map(|_| ChallengePlan::random(&config, nonce, &mut rng).expect("the default configuration is valid")).collect()
}

/// The flash check on the rendered clip, for each amplitude and each plan: how many plans it
/// accepts (the flash check passed) and its mean score.
pub fn sweep(
    clip: &Clip,
    plans: &[ChallengePlan],
    uniform: bool,
    amplitudes: &[f32],
    camera: &CameraModel,
) -> Vec<MarginPoint> {
    let seen = SeenFrames::new();
    let ctx = AnalysisContext::new(&seen);
    amplitudes
        .iter()
        .map(|&amplitude| {
            let cast = if uniform { Cast::Uniform { amplitude } } else { Cast::face(amplitude) };
            let scores: Vec<(bool, f32, bool)> = plans
                .iter()
                .map(|plan| {
                    let frames = simulate(clip, plan, cast, camera);
                    let v = analyse(plan, &frames, &ctx);
                    let (passed, score) = v.check(Check::Flash).map_or((false, 0.0), |c| (c.passed == Some(true), c.score));
                    (passed, score, v.has(ReasonCode::FlashUniform))
                })
                .collect();
            MarginPoint {
                profile: plans.first().map_or(LightProfile::Standard, |p| p.light_profile()),
                uniform,
                amplitude,
                accepted: scores.iter().filter(|s| s.0).count(),
                glare: scores.iter().filter(|s| s.2).count(),
                plans: scores.len(),
                mean_score: scores.iter().map(|s| s.1).sum::<f32>() / scores.len().max(1) as f32,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn published_setups_give_amplitudes_from_a_few_percent_to_above_one() {
        let a: Vec<f32> = SETUPS.iter().map(ScreenSetup::face_amplitude).collect();
        // Phone at 30 cm, full brightness: 800 × 0.0092 / 0.09 ≈ 82 lx, over 500 lx ≈ 0.16.
        assert!((a[0] - 0.1636).abs() < 0.001, "{a:?}");
        assert!(a.iter().all(|&x| (0.02..2.0).contains(&x)), "{a:?}");
        assert!(a[6] > 1.0, "a dim room makes the screen the main light");
    }

    #[test]
    fn screen_light_fades_between_steps() {
        let step = huoti_liveness::ActionStep { action: huoti_liveness::Action::Nod, start_ms: 3000, end_ms: 5000 };
        let flashes = vec![
            huoti_liveness::FlashStep { rgb: [255, 0, 255], start_ms: 1000, end_ms: 1800 },
            huoti_liveness::FlashStep { rgb: [0, 0, 0], start_ms: 1800, end_ms: 2600 },
        ];
        let mut plan = ChallengePlan::fixed("ab", vec![step], flashes).unwrap();
        assert_eq!(screen_light(&plan, 500, UI_LIGHT), UI_LIGHT);
        assert_eq!(screen_light(&plan, 1700, UI_LIGHT), [1.0, 0.0, 1.0]);
        assert_eq!(screen_light(&plan, 1800, UI_LIGHT), [0.0; 3], "hard cut");
        plan.transition_ms = 200;
        let mid = screen_light(&plan, 1900, UI_LIGHT);
        assert!((mid[0] - 0.5).abs() < 1e-6 && mid[1] == 0.0, "{mid:?}");
        assert_eq!(screen_light(&plan, 1100, UI_LIGHT), [0.75, 0.25, 0.75], "fades in from the UI");
    }
}
