//! The outcome of an analysis: decision, score, reasons and per-check scores.
//!
//! Every reason has a stable code (for programs) and a fixed English sentence (for people):
//! an automated decision must be explainable (policy L4), and a fixed sentence per code makes
//! the explanation reviewable and translatable.

use serde::{Deserialize, Serialize};

/// The decision about a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    /// A real person was present and followed the challenge.
    Live,
    /// Evidence of a presentation or injection attack, or the challenge was not followed.
    Spoof,
    /// Not enough evidence either way (bad capture, weak flash response, …): ask the person
    /// to try again, or route to a human reviewer.
    Uncertain,
}

impl Decision {
    /// The stable snake_case name (`"live"`, `"spoof"`, `"uncertain"`).
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Live => "live",
            Decision::Spoof => "spoof",
            Decision::Uncertain => "uncertain",
        }
    }
}

/// Why a verdict is what it is. The string form ([`as_str`](ReasonCode::as_str), also the
/// serde form) is stable API.
///
/// Each code drives the decision as [`ReasonCode::implies`] says:
///
/// | code | decision | meaning |
/// |---|---|---|
/// | `sequence_invalid` | spoof | sequence numbers are not 0, 1, 2, … (gap, repeat, reordering) |
/// | `timing_implausible` | spoof | timestamps not strictly increasing, mean frame rate outside ~5–60 fps, or a gap over 1 s |
/// | `nonce_mismatch` | spoof | a frame carries another session's nonce |
/// | `static_presentation` | spoof | consecutive frames near-identical and landmarks motionless: a still image sent as video |
/// | `replayed_frames` | spoof | most frames match frame hashes of an earlier session |
/// | `multiple_faces` | spoof | several faces in too many frames |
/// | `face_changed` | spoof | the face's geometry changed mid-session (a swap) |
/// | `passive_spoof` | spoof | the passive anti-spoof models judge the face not real |
/// | `challenge_order` | spoof | a requested action happened, but in another action's window (wrong order) |
/// | `challenge_missing` | spoof | a requested action did not happen in its window |
/// | `too_few_frames` | uncertain | too few frames overall, for the baseline, or in an action window |
/// | `no_face` | uncertain | no face in too many frames |
/// | `challenge_unexpected` | uncertain | a head turn the plan did not ask for, during the action phase |
/// | `reaction_timing` | uncertain | an action of a production plan started before its prompt (more than `reaction_early_tolerance_ms`, 100 ms) or more than `reaction_late_ms` (2 s) after it: a recording, not a reaction |
/// | `flash_mismatch` | uncertain | the face's colour did not follow the flashed colours (weak signal or no response) |
/// | `flash_uniform` | uncertain | the flashed colours appeared on the whole picture, not only on the face: glare on a screen held in front of the camera |
/// | `light_required` | uncertain | the plan has no light step and is not a fixed (test-mode) plan: never live without the light check |
/// | `screen_medium` | uncertain | the frames show a screen: a bright rectangular border around the face or a player's control bar |
/// | `passive_unavailable` | uncertain | no frame carried a passive anti-spoof score |
/// | `arrival_burst` | uncertain | the frames' arrivals at the server spanned more than 3 s less than their capture: uploaded in a burst after the capture, not during it (server only) |
/// | `flash_reduced` | none (note) | a fixed (test-mode) plan without light steps: no light check; the verdict relies on the other checks |
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ReasonCode {
    /// See the table on [`ReasonCode`].
    SequenceInvalid,
    /// See the table on [`ReasonCode`].
    TimingImplausible,
    /// See the table on [`ReasonCode`].
    NonceMismatch,
    /// See the table on [`ReasonCode`].
    StaticPresentation,
    /// See the table on [`ReasonCode`].
    ReplayedFrames,
    /// See the table on [`ReasonCode`].
    MultipleFaces,
    /// See the table on [`ReasonCode`].
    FaceChanged,
    /// See the table on [`ReasonCode`].
    PassiveSpoof,
    /// See the table on [`ReasonCode`].
    ChallengeOrder,
    /// See the table on [`ReasonCode`].
    ChallengeMissing,
    /// See the table on [`ReasonCode`].
    TooFewFrames,
    /// See the table on [`ReasonCode`].
    NoFace,
    /// See the table on [`ReasonCode`].
    ChallengeUnexpected,
    /// See the table on [`ReasonCode`].
    ReactionTiming,
    /// See the table on [`ReasonCode`].
    FlashMismatch,
    /// See the table on [`ReasonCode`].
    FlashUniform,
    /// See the table on [`ReasonCode`].
    LightRequired,
    /// See the table on [`ReasonCode`].
    ScreenMedium,
    /// See the table on [`ReasonCode`].
    PassiveUnavailable,
    /// See the table on [`ReasonCode`].
    ArrivalBurst,
    /// See the table on [`ReasonCode`].
    FlashReduced,
}

impl ReasonCode {
    /// Every code, most severe first (the order reasons appear in a verdict).
    pub const ALL: [ReasonCode; 21] = [
        ReasonCode::SequenceInvalid,
        ReasonCode::TimingImplausible,
        ReasonCode::NonceMismatch,
        ReasonCode::StaticPresentation,
        ReasonCode::ReplayedFrames,
        ReasonCode::MultipleFaces,
        ReasonCode::FaceChanged,
        ReasonCode::PassiveSpoof,
        ReasonCode::ChallengeOrder,
        ReasonCode::ChallengeMissing,
        ReasonCode::TooFewFrames,
        ReasonCode::NoFace,
        ReasonCode::ChallengeUnexpected,
        ReasonCode::ReactionTiming,
        ReasonCode::FlashMismatch,
        ReasonCode::FlashUniform,
        ReasonCode::LightRequired,
        ReasonCode::ScreenMedium,
        ReasonCode::PassiveUnavailable,
        ReasonCode::ArrivalBurst,
        ReasonCode::FlashReduced,
    ];

    /// The stable snake_case code.
    pub fn as_str(self) -> &'static str {
        match self {
            ReasonCode::SequenceInvalid => "sequence_invalid",
            ReasonCode::TimingImplausible => "timing_implausible",
            ReasonCode::NonceMismatch => "nonce_mismatch",
            ReasonCode::StaticPresentation => "static_presentation",
            ReasonCode::ReplayedFrames => "replayed_frames",
            ReasonCode::MultipleFaces => "multiple_faces",
            ReasonCode::FaceChanged => "face_changed",
            ReasonCode::PassiveSpoof => "passive_spoof",
            ReasonCode::ChallengeOrder => "challenge_order",
            ReasonCode::ChallengeMissing => "challenge_missing",
            ReasonCode::TooFewFrames => "too_few_frames",
            ReasonCode::NoFace => "no_face",
            ReasonCode::ChallengeUnexpected => "challenge_unexpected",
            ReasonCode::ReactionTiming => "reaction_timing",
            ReasonCode::FlashMismatch => "flash_mismatch",
            ReasonCode::FlashUniform => "flash_uniform",
            ReasonCode::LightRequired => "light_required",
            ReasonCode::ScreenMedium => "screen_medium",
            ReasonCode::PassiveUnavailable => "passive_unavailable",
            ReasonCode::ArrivalBurst => "arrival_burst",
            ReasonCode::FlashReduced => "flash_reduced",
        }
    }

    /// The fixed English sentence that explains this code to a person.
    pub fn sentence(self) -> &'static str {
        match self {
            ReasonCode::SequenceInvalid => {
                "The frames' sequence numbers have gaps or repeats, so frames were removed, \
                 repeated or inserted."
            }
            ReasonCode::TimingImplausible => {
                "The frames' timestamps do not match a real camera: out of order, too fast, \
                 too slow or with long gaps."
            }
            ReasonCode::NonceMismatch => "Some frames were not bound to this session's challenge.",
            ReasonCode::StaticPresentation => {
                "The frames are near-identical copies with no facial movement, as when a still \
                 picture is presented as video."
            }
            ReasonCode::ReplayedFrames => {
                "The frames match frames already received in an earlier session."
            }
            ReasonCode::MultipleFaces => "More than one face was visible in too many frames.",
            ReasonCode::FaceChanged => {
                "The face changed during the session, as if another person or picture was \
                 swapped in."
            }
            ReasonCode::PassiveSpoof => {
                "The anti-spoofing model judged the face to be a presentation (a photo, a \
                 screen or a mask) rather than a live face."
            }
            ReasonCode::ChallengeOrder => {
                "The requested actions were performed in the wrong order or at the wrong time."
            }
            ReasonCode::ChallengeMissing => "A requested action was not performed in time.",
            ReasonCode::TooFewFrames => "Too few usable frames were received to judge the session.",
            ReasonCode::NoFace => "No face was found in too many frames.",
            ReasonCode::ChallengeUnexpected => {
                "The head was turned in a direction the challenge did not ask for."
            }
            ReasonCode::ReactionTiming => {
                "A requested action started before its prompt appeared, or implausibly long \
                 after it, as in a recording that does not react to the screen."
            }
            ReasonCode::FlashMismatch => {
                "The light on the face did not follow the colours flashed on the screen."
            }
            ReasonCode::FlashUniform => {
                "The screen's colours appeared on the whole picture rather than on the face, \
                 as on a screen held in front of the camera."
            }
            ReasonCode::LightRequired => {
                "The challenge had no colour step, so the light on the face could not be \
                 checked; a session is never accepted without that check."
            }
            ReasonCode::ScreenMedium => {
                "The frames show signs of a screen in front of the camera: a bright rectangular \
                 border around the face or a video player's controls."
            }
            ReasonCode::PassiveUnavailable => "No frame was checked by the anti-spoofing model.",
            ReasonCode::ArrivalBurst => {
                "The frames reached the server faster than they were captured, in a burst after \
                 the capture rather than while it happened."
            }
            ReasonCode::FlashReduced => {
                "The colour check did not run (a fixed test challenge without colour steps); \
                 the verdict relies on the other checks."
            }
        }
    }

    /// The decision this code forces when present: `Some(Spoof)`, `Some(Uncertain)`, or
    /// `None` for a note that does not change the decision. Spoof beats uncertain.
    pub fn implies(self) -> Option<Decision> {
        match self {
            ReasonCode::SequenceInvalid
            | ReasonCode::TimingImplausible
            | ReasonCode::NonceMismatch
            | ReasonCode::StaticPresentation
            | ReasonCode::ReplayedFrames
            | ReasonCode::MultipleFaces
            | ReasonCode::FaceChanged
            | ReasonCode::PassiveSpoof
            | ReasonCode::ChallengeOrder
            | ReasonCode::ChallengeMissing => Some(Decision::Spoof),
            ReasonCode::TooFewFrames
            | ReasonCode::NoFace
            | ReasonCode::ChallengeUnexpected
            | ReasonCode::ReactionTiming
            | ReasonCode::FlashMismatch
            | ReasonCode::FlashUniform
            | ReasonCode::LightRequired
            | ReasonCode::ScreenMedium
            | ReasonCode::PassiveUnavailable
            | ReasonCode::ArrivalBurst => Some(Decision::Uncertain),
            ReasonCode::FlashReduced => None,
        }
    }
}

impl std::fmt::Display for ReasonCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One reason of a verdict: a stable code and its human sentence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reason {
    /// Stable code.
    pub code: ReasonCode,
    /// The code's fixed English sentence ([`ReasonCode::sentence`]).
    pub message: String,
}

impl From<ReasonCode> for Reason {
    fn from(code: ReasonCode) -> Reason {
        Reason {
            code,
            message: code.sentence().to_owned(),
        }
    }
}

/// The checks whose scores a verdict reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Check {
    /// The requested actions, in order and in their windows.
    Challenge,
    /// The face's colour response to the flashes.
    Flash,
    /// Sequence, timing, nonce, frame count, static presentation, replay.
    Integrity,
    /// Exactly one face, the same throughout.
    Face,
    /// Passive anti-spoof models.
    Passive,
    /// Signs of a screen (border, player controls); only when the engine measured them.
    Medium,
}

impl Check {
    /// The stable snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Check::Challenge => "challenge",
            Check::Flash => "flash",
            Check::Integrity => "integrity",
            Check::Face => "face",
            Check::Passive => "passive",
            Check::Medium => "medium",
        }
    }
}

/// Score of one check.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct CheckScore {
    /// Which check.
    pub check: Check,
    /// 0–1, higher means more evidence of a live, genuine session.
    pub score: f32,
    /// `Some(true)` passed, `Some(false)` failed, `None` could not be judged. A failed flash
    /// check only makes a verdict uncertain: it is a score, never a hard fail.
    pub passed: Option<bool>,
}

/// A kind of evidence a live verdict can rest on: what [`Verdict::assurance`] lists.
///
/// A production verdict is live only if it rests on [`Light`](Assurance::Light): the light
/// check is what a replay that follows the actions cannot pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Assurance {
    /// The face reflected the plan's random colours (the flash check ran and passed).
    Light,
    /// The person performed the requested actions in order and in time.
    Motion,
    /// The passive models judged the face real, and no screen was seen.
    Passive,
}

impl Assurance {
    /// The stable snake_case name (`"light"`, `"motion"`, `"passive"`).
    pub fn as_str(self) -> &'static str {
        match self {
            Assurance::Light => "light",
            Assurance::Motion => "motion",
            Assurance::Passive => "passive",
        }
    }
}

/// The result of [`analyse`](crate::analyse).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Verdict {
    /// The decision.
    pub decision: Decision,
    /// 0–100, higher is more confidently live. Bands match the decision: spoof 0–39,
    /// uncertain 40–69, live 70–100.
    pub score: u8,
    /// Why, most severe first; empty only for a clean live verdict.
    pub reasons: Vec<Reason>,
    /// The score of each check that ran.
    pub checks: Vec<CheckScore>,
    /// The checks that passed and so back the decision: light, motion, passive (in that
    /// order). A live verdict always includes `light`, except for a fixed (test-mode) plan
    /// without light steps.
    #[serde(default)]
    pub assurance: Vec<Assurance>,
    /// Sequence number of the best-quality frame with exactly one face (the frame to keep as
    /// the session's reference image, where consent allows).
    pub reference_frame: Option<u32>,
    /// Model and threshold versions the verdict was made with (name, version).
    pub model_versions: Vec<(String, String)>,
}

impl Verdict {
    /// Whether the verdict gives this reason.
    pub fn has(&self, code: ReasonCode) -> bool {
        self.reasons.iter().any(|r| r.code == code)
    }

    /// The score of a check, if it ran.
    pub fn check(&self, check: Check) -> Option<&CheckScore> {
        self.checks.iter().find(|c| c.check == check)
    }
}
