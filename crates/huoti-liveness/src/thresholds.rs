//! Every tunable of the analysis, in one place.
//!
//! The defaults are engineering starting points, chosen from the physics of the signals and
//! synthetic tests; production values come from data (`huoti eval`) and are versioned with
//! the models. The version string ends up in every verdict, so a decision can always be traced
//! to the thresholds that made it (policy L4).

use serde::{Deserialize, Serialize};

/// Tunables of [`analyse`](crate::analyse). `Thresholds::default()` documents each default.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Thresholds {
    /// Identifies this set of values in verdicts (default `"builtin-4"`).
    pub version: String,

    // --- challenge -------------------------------------------------------------------------
    /// Resting ranges (see the [manual](crate::manual::challenge)) run from this quantile of
    /// the person's resting frames to `1 −` it (default 0.1: one odd frame in ten ignored).
    pub rest_quantile: f32,
    /// Yaw change from the resting median for a turn, degrees (default 12: the head turns on
    /// the shared clips reach 13.4–16.8°; `docs/EVALUATION.md`)…
    pub turn_yaw_deg: f32,
    /// …and beyond the edge of the resting yaw range on that side, degrees (default 5).
    pub turn_margin_deg: f32,
    /// Downward pitch change from the resting median for a nod, degrees (default 10)…
    pub nod_pitch_deg: f32,
    /// …and beyond the high edge of the resting pitch range, degrees (default 5).
    pub nod_margin_deg: f32,
    /// A nod is complete when the excursion falls back below this fraction of
    /// `nod_pitch_deg` (default 0.5).
    pub nod_return_fraction: f32,
    /// Longest nod, from going down to being back, ms (default 2000).
    pub nod_max_ms: u64,
    /// With the Iris model: eyes count as closed below this fraction of the person's open-eye
    /// Iris openness (default 0.6: midway between the shallowest blink on the shared clips,
    /// 0.44 of open, and the narrowest open eyes, 0.77; `docs/EVALUATION.md`).
    pub iris_blink_close_ratio: f32,
    /// With the Iris model: eyes count as open again above this fraction (default 0.8).
    pub iris_blink_open_ratio: f32,
    /// The Iris model runs on the frames of this last part of the resting time before the
    /// first action window, for the person's open-eye level, when the plan has a blink step
    /// (default 1000 ms).
    pub iris_rest_ms: u64,
    /// In a blink window the Iris model skips at most this many frames in a row (default 2:
    /// every third frame at least; see [`IrisGate`](crate::IrisGate); with 1 and 2 every
    /// session of `docs/evaluation/session/` gets the decision it got with every frame)…
    pub iris_max_skip: usize,
    /// …and runs on every frame whose FaceMesh eye aspect ratio (smaller eye) is below this
    /// fraction of the person's resting median (default 0.93: FaceMesh's ratio falls to
    /// 0.80–0.91 of open at the shared clips' blinks, `docs/EVALUATION.md`).
    pub iris_gate_eye_ratio: f32,
    /// Without the Iris model (FaceMesh's eye aspect ratio, whose lids never meet): eyes count
    /// as closed below this fraction of the resting median (default 0.6).
    pub blink_close_ratio: f32,
    /// Without the Iris model: eyes count as open again above this fraction (default 0.8).
    pub blink_open_ratio: f32,
    /// Longest blink, from closing to open again, ms (default 600).
    pub blink_max_ms: u64,
    /// Mouth-openness increase over the resting median for an open mouth (default 0.15)…
    pub mouth_open_delta: f32,
    /// …and beyond the high edge of the resting (talking) range (default 0.15: talking
    /// peaks on the shared clips reach 0.11 beyond it, wide openings 0.25; `docs/EVALUATION.md`)…
    pub mouth_open_margin: f32,
    /// …and at least this multiple of the resting median (default 2).
    pub mouth_open_ratio: f32,
    /// Frames that must show a turn or an open mouth, so one mis-measured frame cannot
    /// complete an action (default 2).
    pub action_min_frames: usize,
    /// Tolerance around each action window, ms (default 500): people react late, and
    /// client and screen clocks are not perfectly aligned.
    pub window_grace_ms: u64,
    /// Frames with a face needed in the neutral phase for a baseline (default 3). With fewer,
    /// the baseline also uses frames up to the first action window.
    pub min_baseline_frames: usize,
    /// Frames with a face needed in an action window to judge it at all (default 3); fewer
    /// makes the step unobserved (uncertain), not failed.
    pub min_window_face_frames: usize,

    // --- flash -------------------------------------------------------------------------------
    /// Delay between a colour appearing on screen and its reflection in captured frames, ms
    /// (default 100: one or two frames).
    pub flash_lag_ms: u64,
    /// Flash score below which the check fails with `flash_mismatch` (default 0.5).
    pub flash_min_score: f32,
    /// Signal-to-noise ratio of the colour response that earns full marks (default 3).
    pub flash_good_snr: f32,
    /// Smallest noise assumed on the face-vs-background log-chroma signal (default 0.002),
    /// so noiseless (synthetic or injected) input cannot produce an infinite ratio.
    pub flash_noise_floor: f32,
    /// The face's response *gain* (log-chroma change per unit of displayed linear colour
    /// change, fitted over every step) below which the check fails with `flash_mismatch`
    /// (default 0.01: what a screen casting 2.5 % of the room's light gives, `ln(1 + a)/2.4`
    /// in sRGB code space; the weakest published setup in `docs/EVALUATION.md` casts 3.6 %).
    /// A recording's own drift that lines up with the colours by chance responds weaker.
    pub flash_min_gain: f32,
    /// The face's response gain above which the colours are not a reflection on a face but
    /// light on a screen in front of the camera: `flash_uniform` (default 1.0: a screen ten
    /// times brighter on the face than the whole room, `ln(11)/2.4`; full-white glare on a
    /// replay screen gives 1.3–2.7 in the simulator).
    pub flash_max_gain: f32,
    /// The glare test: when the background's dark-to-bright ratio follows the colours with a
    /// score of at least this (default 0.3)…
    pub flash_glare_score: f32,
    /// …a signal-to-noise ratio of at least this (default 1.5)…
    pub flash_glare_snr: f32,
    /// …and a gain of at least this fraction of the face's (default 0.05; a face lit by a
    /// screen leaves the background's halves in the same ratio, gain ≈ 0), the colours fell
    /// on the whole picture, not on a face: `flash_uniform`.
    pub flash_glare_ratio: f32,

    // --- integrity -------------------------------------------------------------------------
    /// Shortest plausible mean frame interval, ms (default 15: a 60 fps camera with jitter).
    pub min_mean_interval_ms: f32,
    /// Longest plausible mean frame interval, ms (default 200: 5 fps).
    pub max_mean_interval_ms: f32,
    /// Longest allowed gap between consecutive frames, ms (default 1000).
    pub max_gap_ms: u64,
    /// Frames needed per second of plan (default 5); fewer gives `too_few_frames`.
    pub min_fps: f32,
    /// Hamming distance at or below which consecutive frame hashes count as near-duplicates
    /// (default 4).
    pub static_hash_distance: u32,
    /// Fraction of near-duplicate consecutive pairs that makes a session static (default 0.8)…
    pub static_min_fraction: f32,
    /// …when the median landmark motion is also at or below this, face widths (default 0.001;
    /// a live face, even held still, moves more, and landmark trackers jitter more).
    pub static_max_motion: f32,
    /// Hamming distance at or below which a frame matches one of an earlier session
    /// (default 2).
    pub replay_hash_distance: u32,
    /// Matching frames needed for `replayed_frames` (default 3)…
    pub replay_min_frames: usize,
    /// …and the fraction of the session's frames they must be (default 0.5). A person retrying
    /// in the same room produces a few near-identical neutral frames; a replay matches most.
    pub replay_min_fraction: f32,
    /// How much shorter the span of a session's arrival times (server receipt, first to last)
    /// may be than the span of its capture times, ms (default 3000): the first frames held back
    /// up to 3 s and then caught up at once are tolerated (later stalls, late frames and retries
    /// only widen the arrival span); frames uploaded in a burst after the capture are
    /// `arrival_burst`.
    pub arrival_tolerance_ms: u64,

    // --- faces -----------------------------------------------------------------------------
    /// Fraction of frames without a face above which the session is uncertain (default 0.3).
    pub max_no_face_fraction: f32,
    /// Fraction of frames with several faces above which the session fails (default 0.1).
    pub max_multi_face_fraction: f32,
    /// Relative distance between shape signatures above which two faces differ (default 0.15).
    pub shape_max_distance: f32,
    /// Only frames within this many degrees of the baseline pose are compared to the baseline
    /// shape (default 10): 2-D landmark geometry changes with pose.
    pub shape_frontal_deg: f32,
    /// Near-frontal frames that must differ from the baseline shape for `face_changed`
    /// (default 3).
    pub face_changed_min_frames: usize,
    /// Movement of the face-box centre between consecutive frames, in frame sizes, that counts
    /// as a jump (default 0.25); a jump where the shape also changes is a swapped face.
    pub bbox_jump: f32,

    // --- passive -----------------------------------------------------------------------------
    /// Passive real-probability below which the session fails (default 0.5), compared with
    /// the `passive_quantile` of the scored frames.
    pub passive_min_real: f32,
    /// Which quantile of the scored frames' real-probabilities is the session's passive score
    /// (default 0.25: a low quantile, so the frames that show the medium most weigh most,
    /// while one odd frame cannot fail a session of eight).
    pub passive_quantile: f32,

    // --- screen medium -----------------------------------------------------------------------
    /// Which quantile of the frames' screen-medium cues is the session's (default 0.75: the
    /// frames that show the screen most, but more than one of them).
    pub medium_quantile: f32,
    /// Session screen-medium cue at or above which the verdict gets `screen_medium`
    /// (default 0.5).
    pub medium_max: f32,

    // --- reaction timing ---------------------------------------------------------------------
    /// An action's movement starts at the first frame of the run, leading to it, whose
    /// departure from rest reaches this share of the needed departure (default 0.5).
    pub reaction_start_fraction: f32,
    /// How long before its prompt a production plan's action may start, ms (default 100: a
    /// person cannot react before the prompt; the margin covers the frame clock against the
    /// screen's). Earlier gives `reaction_timing`.
    pub reaction_early_tolerance_ms: u64,
    /// How long after its prompt a production plan's action may start, ms (default 2000:
    /// people start a prompted head or face movement well within a second or so; a start in
    /// the window's last second is a recording's, not a reaction). Later gives
    /// `reaction_timing`.
    pub reaction_late_ms: u64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            version: "builtin-4".to_owned(),
            rest_quantile: 0.1,
            turn_yaw_deg: 12.0,
            turn_margin_deg: 5.0,
            nod_pitch_deg: 10.0,
            nod_margin_deg: 5.0,
            nod_return_fraction: 0.5,
            nod_max_ms: 2000,
            iris_blink_close_ratio: 0.6,
            iris_blink_open_ratio: 0.8,
            iris_rest_ms: 1000,
            iris_max_skip: 2,
            iris_gate_eye_ratio: 0.93,
            blink_close_ratio: 0.6,
            blink_open_ratio: 0.8,
            blink_max_ms: 600,
            mouth_open_delta: 0.15,
            mouth_open_margin: 0.15,
            mouth_open_ratio: 2.0,
            action_min_frames: 2,
            window_grace_ms: 500,
            min_baseline_frames: 3,
            min_window_face_frames: 3,
            flash_lag_ms: 100,
            flash_min_score: 0.5,
            flash_good_snr: 3.0,
            flash_noise_floor: 0.002,
            flash_min_gain: 0.01,
            flash_max_gain: 1.0,
            flash_glare_score: 0.3,
            flash_glare_snr: 1.5,
            flash_glare_ratio: 0.05,
            min_mean_interval_ms: 15.0,
            max_mean_interval_ms: 200.0,
            max_gap_ms: 1000,
            min_fps: 5.0,
            static_hash_distance: 4,
            static_min_fraction: 0.8,
            static_max_motion: 0.001,
            replay_hash_distance: 2,
            replay_min_frames: 3,
            replay_min_fraction: 0.5,
            arrival_tolerance_ms: 3000,
            max_no_face_fraction: 0.3,
            max_multi_face_fraction: 0.1,
            shape_max_distance: 0.15,
            shape_frontal_deg: 10.0,
            face_changed_min_frames: 3,
            bbox_jump: 0.25,
            passive_min_real: 0.5,
            passive_quantile: 0.25,
            medium_quantile: 0.75,
            medium_max: 0.5,
            reaction_start_fraction: 0.5,
            reaction_early_tolerance_ms: 100,
            reaction_late_ms: 2000,
        }
    }
}
