//! What the vision engine measures. How it works, for readers and users: [`crate::manual::observations`]
//! (`src/manual/observations.md`).

use serde::{Deserialize, Serialize};

/// Measurements of one uploaded frame.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct FrameObservation {
    /// Client sequence number: must be 0, 1, 2, … in upload order, without gaps or repeats.
    pub seq: u32,
    /// Client-reported capture time, ms since the start of the plan.
    pub t_ms: u64,
    /// Nonce the client bound the frame to; must equal the plan's.
    pub nonce: String,
    /// Number of faces detected.
    pub faces: u32,
    /// The main face (the only one, or the largest), when any was found.
    pub face: Option<FaceObservation>,
    /// 64-bit perceptual hash (dHash) of the whole frame.
    pub frame_hash: u64,
    /// Overall quality, 0–1, higher is better (face size, sharpness, exposure).
    pub quality: f32,
}

impl FrameObservation {
    /// The main face, when the frame has exactly one.
    pub fn single_face(&self) -> Option<&FaceObservation> {
        if self.faces == 1 {
            self.face.as_ref()
        } else {
            None
        }
    }
}

/// Measurements of the main face in a frame.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct FaceObservation {
    /// Face box `[x, y, w, h]`, normalised to the frame (0–1).
    pub bbox: [f32; 4],
    /// Head yaw, degrees; positive when the person turns to their own left.
    pub yaw_deg: f32,
    /// Head pitch, degrees; positive when the chin goes down.
    pub pitch_deg: f32,
    /// Head roll, degrees.
    pub roll_deg: f32,
    /// Eye aspect ratio of the left and right eye from FaceMesh's six-point contours (open
    /// ≈ 0.25–0.40; its lids never quite meet, so a blink is a drop of ≈ 30 %, not a zero).
    pub eye_openness: [f32; 2],
    /// Eye openness of the left and right eye from the Iris model (lid gap over eye width:
    /// open ≈ 0.25–0.35, closed < 0.1), on the frames where it ran: the vision engine runs it
    /// only where a blink is judged ([`iris_wanted`](crate::iris_wanted)). `None` elsewhere.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iris_eye_openness: Option<[f32; 2]>,
    /// Inner-lip gap over mouth width (closed ≈ 0.01–0.07, wide open > 0.3).
    pub mouth_openness: f32,
    /// Mean sRGB of the face skin region, 0–255.
    pub face_rgb: [f32; 3],
    /// Mean sRGB of the frame outside the face box, 0–255.
    pub background_rgb: [f32; 3],
    /// Mean sRGB of the background's darker and brighter halves (away from the head, without
    /// clipped pixels), for the flash check's glare test; `None` when not measured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub background_split_rgb: Option<[[f32; 3]; 2]>,
    /// Landmark-geometry signature (scale-invariant distances), to tell whether the face stays
    /// the same person. Empty when not measured.
    pub shape: Vec<f32>,
    /// Mean landmark displacement against the previous frame, in face widths (0 on the first).
    pub landmark_motion: f32,
    /// Passive anti-spoof probability that the face is real, on the frames the server chose
    /// to score (see [`select_passive_frames`](crate::select_passive_frames)).
    pub passive_real: Option<f32>,
    /// Screen-medium cue, 0–1 (higher: more like a screen in front of the camera: a bright
    /// rectangular border around the face, moiré, a player's control bar), on the frames the
    /// passive models scored, when the engine measured it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub screen_medium: Option<f32>,
}

impl FaceObservation {
    /// The smaller eye aspect ratio of the two eyes (a blink closes both; the smaller one is
    /// the more sensitive signal).
    pub fn min_eye_openness(&self) -> f32 {
        self.eye_openness[0].min(self.eye_openness[1])
    }

    /// The mean Iris-model eye openness of the two eyes, where the Iris model ran. A blink
    /// closes both eyes; one eye narrowed by a sideways look, or a wink, moves the mean half
    /// as much (on the shared clips the smaller eye alone confused looking aside with blinking).
    pub fn mean_iris_eye_openness(&self) -> Option<f32> {
        self.iris_eye_openness.map(|[l, r]| (l + r) / 2.0)
    }

    /// Centre of the face box, normalised to the frame.
    pub fn centre(&self) -> [f32; 2] {
        [
            self.bbox[0] + self.bbox[2] / 2.0,
            self.bbox[1] + self.bbox[3] / 2.0,
        ]
    }
}
