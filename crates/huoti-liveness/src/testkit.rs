//! Synthetic sessions for tests: a person (or an attacker) in front of a camera, measured.
//!
//! The builder produces what the vision engine would report for a live person: a resting
//! pose with measurement noise, 15–30 fps timestamps with jitter, frame hashes that change
//! from frame to frame, landmark micro-motion, actions as smooth movements, and a face colour
//! that reflects the flashed screen colours a little later, under a camera whose white balance
//! and exposure keep drifting. Tests then change the frames to model attacks.

use rand_chacha::ChaCha8Rng;
use rand_core::{RngCore, SeedableRng};

use crate::light::linear;
use crate::{Action, ActionStep, ChallengePlan, FaceObservation, FlashStep, FrameObservation};

pub(crate) const NONCE: &str = "5eed0123abcd";
pub(crate) const IDENTITY_A: [f32; 8] = [1.0, 0.82, 0.64, 1.21, 0.57, 0.93, 0.71, 1.05];
pub(crate) const IDENTITY_B: [f32; 8] = [0.86, 0.95, 0.52, 1.02, 0.70, 0.78, 0.88, 1.19];

/// A fixed plan: 1 s neutral, five 400 ms flashes (or none), then one 3 s window per action.
pub(crate) fn plan(actions: &[Action], flashes: bool) -> ChallengePlan {
    let colours = [
        [255, 0, 0],
        [0, 255, 0],
        [0, 0, 255],
        [255, 255, 0],
        [255, 0, 255],
    ];
    let mut t = 1000;
    let flashes: Vec<FlashStep> = if flashes {
        colours
            .iter()
            .map(|&rgb| {
                t += 400;
                FlashStep {
                    rgb,
                    start_ms: t - 400,
                    end_ms: t,
                }
            })
            .collect()
    } else {
        Vec::new()
    };
    let steps = actions
        .iter()
        .map(|&action| {
            t += 3000;
            ActionStep {
                action,
                start_ms: t - 3000,
                end_ms: t,
            }
        })
        .collect();
    ChallengePlan::fixed(NONCE, steps, flashes).expect("valid test plan")
}

/// A uniform float in `[-1, 1)`.
fn noise(rng: &mut impl RngCore) -> f32 {
    (rng.next_u32() >> 8) as f32 / (1u32 << 23) as f32 - 1.0
}

/// A trapezoid 0 → 1 → 0: rise, hold, fall (ms), starting at 0.
fn trapezoid(dt: i64, rise: i64, hold: i64, fall: i64) -> f32 {
    if dt < 0 || dt >= rise + hold + fall {
        0.0
    } else if dt < rise {
        dt as f32 / rise as f32
    } else if dt < rise + hold {
        1.0
    } else {
        1.0 - (dt - rise - hold) as f32 / fall as f32
    }
}

/// A synthetic session.
#[derive(Debug, Clone)]
pub(crate) struct Session {
    pub plan: ChallengePlan,
    pub fps: f32,
    pub seed: u64,
    pub performances: Vec<(Action, u64)>,
    /// Only the *start* of eye closures: how long they stay closed, ms.
    pub blink_closed_ms: u64,
    pub reflects_flash: bool,
    /// The camera's white balance reacts to the flashed colour (over the whole frame).
    pub awb_follows_flash: bool,
    pub passive: f32,
    pub duration_ms: u64,
    pub rest_yaw: f32,
    pub identity: [f32; 8],
    /// The vision engine ran the Iris model where `iris_wanted` says (its lids meet at a
    /// blink, unlike FaceMesh's).
    pub iris: bool,
    /// The person talks during this time: the mouth keeps moving between ≈ 0.1 and ≈ 0.45
    /// (FaceMesh's inner-lip ratio), as in the shared webcam clips.
    pub talking: std::ops::Range<u64>,
    /// How far an open-mouth performance opens the mouth beyond its rest (default 0.42).
    pub mouth_open_gain: f32,
    /// How far a blink lowers FaceMesh's eye aspect ratio, as a fraction of the open eye
    /// (default 0.75; on real faces it is ≈ 0.3, as its lids never meet).
    pub facemesh_blink_depth: f32,
}

impl Session {
    pub fn new(plan: ChallengePlan) -> Session {
        let duration_ms = plan.total_ms + 400;
        Session {
            plan,
            fps: 15.0,
            seed: 1,
            performances: Vec::new(),
            blink_closed_ms: 150,
            reflects_flash: true,
            awb_follows_flash: false,
            passive: 0.95,
            duration_ms,
            rest_yaw: 2.0,
            identity: IDENTITY_A,
            iris: false,
            talking: 0..0,
            mouth_open_gain: 0.42,
            facemesh_blink_depth: 0.75,
        }
    }

    /// Performs each step's action 400 ms into its window (a prompt reaction).
    pub fn following_plan(plan: ChallengePlan) -> Session {
        let performances = plan
            .actions
            .iter()
            .map(|s| (s.action, s.start_ms + 400))
            .collect();
        Session {
            performances,
            ..Session::new(plan)
        }
    }

    pub fn perform(mut self, action: Action, at_ms: u64) -> Session {
        self.performances.push((action, at_ms));
        self
    }

    pub fn fps(mut self, fps: f32) -> Session {
        self.fps = fps;
        self
    }

    pub fn seed(mut self, seed: u64) -> Session {
        self.seed = seed;
        self
    }

    pub fn reflects_flash(mut self, yes: bool) -> Session {
        self.reflects_flash = yes;
        self
    }

    pub fn passive(mut self, p: f32) -> Session {
        self.passive = p;
        self
    }

    pub fn frames(&self) -> Vec<FrameObservation> {
        let mut rng = ChaCha8Rng::seed_from_u64(self.seed);
        let interval = 1000.0 / self.fps;
        let mut hash = rng.next_u64();
        let mut frames = Vec::new();
        for i in 0.. {
            // Jitter of ±3 ms, always far less than half an interval: times stay increasing.
            let t_ms = (20.0 + i as f32 * interval + 3.0 * noise(&mut rng)).round() as u64;
            if t_ms >= self.duration_ms {
                break;
            }
            let face = self.face_at(t_ms, i == 0, &mut rng);
            // A live scene: ~10 of the 64 dHash bits change between consecutive frames.
            for _ in 0..10 {
                hash ^= 1u64 << (rng.next_u32() % 64);
            }
            frames.push(FrameObservation {
                seq: i,
                t_ms,
                nonce: self.plan.nonce.clone(),
                faces: 1,
                face: Some(face),
                frame_hash: hash,
                quality: 0.7 + 0.1 * noise(&mut rng),
            });
        }
        for (i, f) in frames.iter_mut().enumerate() {
            if i % 10 == 5 {
                let face = f.face.as_mut().unwrap();
                face.passive_real = Some((self.passive + 0.02 * noise(&mut rng)).clamp(0.0, 1.0));
            }
        }
        frames
    }

    fn face_at(&self, t: u64, first: bool, rng: &mut ChaCha8Rng) -> FaceObservation {
        let mut yaw = self.rest_yaw + 0.7 * noise(rng);
        let mut pitch = -3.0 + 0.7 * noise(rng);
        let mut eye = 1.0f32;
        let mut lids = 1.0f32;
        let mut mouth = 0.04 + 0.005 * noise(rng);
        if self.talking.contains(&t) {
            // Syllables: a 4 Hz opening and closing, jittered.
            let phase = (t as f32 / 1000.0 * 4.0 * std::f32::consts::TAU).sin();
            mouth = 0.27 + 0.17 * phase + 0.02 * noise(rng);
        }
        for &(action, at) in &self.performances {
            let dt = t as i64 - at as i64;
            match action {
                Action::TurnLeft => yaw += 28.0 * trapezoid(dt, 300, 500, 300),
                Action::TurnRight => yaw -= 28.0 * trapezoid(dt, 300, 500, 300),
                Action::Nod => pitch += 16.0 * trapezoid(dt, 250, 200, 250),
                Action::Blink => {
                    let closed = self.blink_closed_ms as i64;
                    eye -= self.facemesh_blink_depth * trapezoid(dt, 40, closed, 40);
                    lids -= 0.95 * trapezoid(dt, 40, closed, 40);
                }
                Action::OpenMouth => mouth += self.mouth_open_gain * trapezoid(dt, 200, 800, 200),
            }
        }

        // Screen light on the face: the flash colour (faded in over transition_ms), seen 60 ms
        // late; a grey UI otherwise.
        let shown = screen_light(&self.plan, t.saturating_sub(60));
        let light: [f32; 3] = if self.reflects_flash { shown } else { [0.3; 3] };
        // The camera's auto white balance and exposure drift over the whole frame.
        let tf = t as f32;
        let exposure = 0.9 + 0.1 * (tf / 800.0).sin();
        let mut awb = [
            1.0 + 0.08 * (tf / 500.0).sin(),
            1.0,
            1.0 + 0.08 * (tf / 650.0).cos(),
        ];
        if self.awb_follows_flash {
            // Gains that exactly undo the flash's tint on a face that reflects it.
            for c in 0..3 {
                awb[c] /= 0.9 + 0.1 * shown[c];
            }
        }
        let skin = [185.0, 135.0, 115.0];
        let wall = [90.0, 100.0, 110.0];
        let face_rgb: [f32; 3] = std::array::from_fn(|c| {
            skin[c] * awb[c] * exposure * (0.9 + 0.1 * light[c]) + noise(rng)
        });
        let background_rgb: [f32; 3] =
            std::array::from_fn(|c| wall[c] * awb[c] * exposure + 0.5 * noise(rng));

        // 2-D geometry foreshortens with yaw; frontal frames carry the identity.
        let foreshorten = (yaw - self.rest_yaw).to_radians().cos();
        let shape = self
            .identity
            .iter()
            .enumerate()
            .map(|(k, v)| v * if k < 4 { foreshorten } else { 1.0 } * (1.0 + 0.01 * noise(rng)))
            .collect();

        FaceObservation {
            bbox: [
                0.3 + 0.002 * yaw + 0.003 * noise(rng),
                0.2 + 0.003 * noise(rng),
                0.4,
                0.5,
            ],
            yaw_deg: yaw,
            pitch_deg: pitch,
            roll_deg: 1.0 + 0.5 * noise(rng),
            eye_openness: [
                0.32 * eye + 0.005 * noise(rng),
                0.30 * eye + 0.005 * noise(rng),
            ],
            mouth_openness: mouth,
            face_rgb,
            background_rgb,
            shape,
            landmark_motion: if first {
                0.0
            } else {
                0.006 + 0.003 * noise(rng)
            },
            passive_real: None,
            iris_eye_openness: (self.iris && crate::iris_wanted(&self.plan, &crate::Thresholds::default(), t))
                .then(|| [0.29 * lids + 0.004 * noise(rng), 0.28 * lids + 0.004 * noise(rng)]),
            screen_medium: None,
            background_split_rgb: None,
        }
    }
}

/// The screen's linear light at `t`: the step's colour, blended from the previous one (or the
/// grey UI) during the step's first `transition_ms`.
pub(crate) fn screen_light(plan: &ChallengePlan, t: u64) -> [f32; 3] {
    const UI: [f32; 3] = [0.3; 3];
    let Some(i) = plan
        .flashes
        .iter()
        .position(|s| s.start_ms <= t && t < s.end_ms)
    else {
        return UI;
    };
    let step = plan.flashes[i];
    let to = step.rgb.map(linear);
    let from = match i.checked_sub(1).map(|j| plan.flashes[j]) {
        Some(prev) if prev.end_ms == step.start_ms => prev.rgb.map(linear),
        _ => UI,
    };
    let done = if plan.transition_ms == 0 {
        1.0
    } else {
        ((t - step.start_ms) as f32 / plan.transition_ms as f32).min(1.0)
    };
    std::array::from_fn(|c| from[c] + (to[c] - from[c]) * done)
}
