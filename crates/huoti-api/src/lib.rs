//! # huoti-api: the wire contract of the huoti liveness service
//!
//! Every type that crosses the network between an integrator's backend, the capture SDK and
//! `huoti-server` lives here, with its JSON form (serde) and its OpenAPI schema
//! ([`utoipa::ToSchema`]). The server generates `/v1/openapi.json` from these types, so the
//! documentation cannot drift from the code.
//!
//! ## The flow
//!
//! ```text
//! integrator ── POST /v1/sessions (Bearer API key) ─────────────▶ CreateSessionResponse
//!                 {session_id, client_token, challenge, expires_at}
//! SDK        ── POST /v1/sessions/{id}/frames?seq&t_ms&nonce ───▶ FrameAccepted   (× N, image/jpeg body,
//!               (Bearer client token; device-info headers only if the person allowed it: P2)
//! SDK        ── POST /v1/sessions/{id}/complete ────────────────▶ CompleteResponse (pass/fail)
//! integrator ── GET  /v1/sessions/{id}/result ──────────────────▶ ResultResponse  (Ed25519 JWS)
//! anyone     ── GET  /v1/keys ──────────────────────────────────▶ Jwks
//! ```
//!
//! Errors are RFC 9457 problem details ([`Problem`], `application/problem+json`) whose `code`
//! is one of the stable [`ErrorCode`]s.
//!
//! ## What it deliberately does not do
//!
//! No logic, no I/O, no dependency on the analysis crates: a client can depend on this crate
//! alone. The challenge and verdict types mirror `huoti-liveness`'s JSON form field for field
//! (the server converts), so this crate's schema is the contract and the analysis crate stays
//! free to change inside.
//!
//! ```
//! use huoti_api::{ErrorCode, Problem};
//! let p = Problem::new(ErrorCode::SessionExpired, "the session expired at 12:00:00Z");
//! assert_eq!(p.status, 410);
//! assert_eq!(p.code, "session_expired");
//! let json = serde_json::to_value(&p).unwrap();
//! assert_eq!(json["type"], "urn:huoti:problem:session_expired");
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub mod ops;
mod privacy;
pub use privacy::*;

/// Media type of every error response (RFC 9457).
pub const PROBLEM_CONTENT_TYPE: &str = "application/problem+json";
/// Media type of a frame upload body.
pub const FRAME_CONTENT_TYPE: &str = "image/jpeg";
/// Optional frame-upload header: the phone model (send only when the person allowed device
/// info, policy P2).
pub const HEADER_DEVICE_MODEL: &str = "huoti-device-model";
/// Optional frame-upload header: the OS type, e.g. `android`, `ios` (P2).
pub const HEADER_OS_TYPE: &str = "huoti-os-type";
/// Optional frame-upload header: the OS version (P2).
pub const HEADER_OS_VERSION: &str = "huoti-os-version";

macro_rules! error_codes {
    ($( $(#[$doc:meta])* $variant:ident = ($code:literal, $status:literal, $title:literal), )*) => {
        /// The stable error codes of the API. The string form ([`as_str`](ErrorCode::as_str))
        /// is the `code` member of every [`Problem`] and never changes meaning.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
        #[serde(rename_all = "snake_case")]
        pub enum ErrorCode {
            $( $(#[$doc])* $variant, )*
        }

        impl ErrorCode {
            /// Every code, in documentation order.
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant,)*];

            /// The stable snake_case code.
            pub fn as_str(self) -> &'static str {
                match self { $(ErrorCode::$variant => $code,)* }
            }

            /// The HTTP status the server answers with.
            pub fn status(self) -> u16 {
                match self { $(ErrorCode::$variant => $status,)* }
            }

            /// A short, fixed, human title.
            pub fn title(self) -> &'static str {
                match self { $(ErrorCode::$variant => $title,)* }
            }
        }
    };
}

error_codes! {
    /// The request is malformed: bad JSON, a missing or invalid parameter.
    InvalidRequest = ("invalid_request", 400, "Invalid request"),
    /// Missing or unknown integrator API key.
    Unauthorized = ("unauthorized", 401, "Missing or invalid API key"),
    /// The API key was revoked (`huoti admin keys revoke`): refused on every node from the
    /// next request. Ask the operator for a new key.
    ApiKeyRevoked = ("api_key_revoked", 401, "API key revoked"),
    /// The API key's expiry date has passed. Ask the operator for a new key.
    ApiKeyExpired = ("api_key_expired", 401, "API key expired"),
    /// Missing or wrong client token for this session.
    InvalidClientToken = ("invalid_client_token", 401, "Missing or invalid client token"),
    /// A fixed challenge was requested but the server does not run in test mode.
    TestModeDisabled = ("test_mode_disabled", 403, "Fixed challenges need test mode"),
    /// No such session (or not one of this integrator's).
    SessionNotFound = ("session_not_found", 404, "Session not found"),
    /// No such route.
    NotFound = ("not_found", 404, "Not found"),
    /// The frame's sequence number was already received.
    DuplicateFrame = ("duplicate_frame", 409, "Frame already received"),
    /// `complete` was called on a session that was already completed: sessions are single use.
    SessionReused = ("session_reused", 409, "Session already used"),
    /// A frame arrived after the session was completed.
    FramesAfterComplete = ("frames_after_complete", 409, "Session already completed"),
    /// The result was asked for before the session was completed.
    ResultNotReady = ("result_not_ready", 409, "Result not ready"),
    /// The session's time to live has passed.
    SessionExpired = ("session_expired", 410, "Session expired"),
    /// The frame body is larger than the per-frame limit.
    FrameTooLarge = ("frame_too_large", 413, "Frame too large"),
    /// A JSON request body is larger than allowed.
    RequestTooLarge = ("request_too_large", 413, "Request body too large"),
    /// The frame is not a JPEG (content type or magic bytes).
    NotJpeg = ("not_jpeg", 415, "Frame is not a JPEG"),
    /// The frame claims to be a JPEG but cannot be decoded (truncated, corrupt, too small or
    /// too many pixels).
    InvalidFrame = ("invalid_frame", 422, "Frame cannot be decoded"),
    /// The session already holds the maximum number of frames.
    TooManyFrames = ("too_many_frames", 422, "Too many frames"),
    /// `complete` was called before any frame was received.
    NoFrames = ("no_frames", 422, "No frames received"),
    /// The explicit challenge in a test-mode session request is not a valid plan.
    InvalidChallenge = ("invalid_challenge", 422, "Invalid challenge"),
    /// The session's challenge would have no light step (a `fixed_challenge` without
    /// `flashes`) and the server is not in test mode: outside test mode every session's
    /// challenge has a light step, so no verdict can rest without the light check.
    LightRequired = ("light_required", 422, "Light step required"),
    /// Frames arrive faster than the per-session rate limit; retry after `retry_after_s`.
    RateLimited = ("rate_limited", 429, "Too many requests"),
    /// Too many failed sessions for this correlation id recently: temporarily locked.
    TooManyFailures = ("too_many_failures", 429, "Temporarily locked after failed sessions"),
    /// Frames were sent for a session whose person has no current consent to
    /// `face_capture_and_upload` (never given, withdrawn, or given under a policy version that
    /// a material change superseded: A1, A3, L1). Record consent first; nothing was stored.
    ConsentRequired = ("consent_required", 403, "Consent required"),
    /// Device-info headers were sent but the person did not consent to `device_info` (P2);
    /// nothing was stored. Send the frame without them.
    DeviceInfoNotConsented = ("device_info_not_consented", 422, "Device info not consented"),
    /// The consent names a policy version that is not the current one; the detail names the
    /// current version. Show it and ask again.
    PolicyOutdated = ("policy_outdated", 409, "Policy version outdated"),
    /// A consent without the required scope `face_capture_and_upload`.
    ConsentScopeRequired = ("consent_scope_required", 422, "Required consent scope missing"),
    /// Face match (enrolling a reference, or a session with `face_match`) needs the person's
    /// own `face_comparison` consent, asked separately; liveness never does.
    FaceComparisonNotConsented = ("face_comparison_not_consented", 403, "Face comparison not consented"),
    /// The reference image shows no face; nothing was stored.
    ReferenceNoFace = ("reference_no_face", 422, "No face in the reference"),
    /// The reference image shows more than one face (whose to keep would be a guess);
    /// nothing was stored.
    ReferenceSeveralFaces = ("reference_several_faces", 422, "Several faces in the reference"),
    /// The reference face is too small, turned away, blurred or cut by the edge (the detail
    /// and `problems` name which); nothing was stored.
    ReferencePoorQuality = ("reference_poor_quality", 422, "Reference quality too low"),
    /// The person has no face reference.
    ReferenceNotFound = ("reference_not_found", 404, "No face reference"),
    /// This server has no face-match model (SFace is optional: `huoti models fetch` brings
    /// it); liveness works without it.
    FaceMatchUnavailable = ("face_match_unavailable", 503, "Face match unavailable"),
    /// No such subject (or not one of this integrator's).
    SubjectNotFound = ("subject_not_found", 404, "Subject not found"),
    /// The API key is valid but its role may not do this (least privilege, S2).
    Forbidden = ("forbidden", 403, "Not allowed for this role"),
    /// A staff request on personal data without a `purpose` (header `huoti-purpose` or body
    /// member `purpose`): every staff access is audited with its purpose (S2).
    PurposeRequired = ("purpose_required", 400, "Purpose required"),
    /// Missing, unknown or expired privacy-centre link token.
    InvalidLinkToken = ("invalid_link_token", 401, "Missing or invalid link token"),
    /// No such rights request or complaint.
    RequestNotFound = ("request_not_found", 404, "Request not found"),
    /// The request cannot move to that state from its current one (already done or refused,
    /// identity not yet verified for a verified field, …).
    InvalidRequestState = ("invalid_request_state", 409, "Invalid request state"),
    /// A refusal without one of the listed grounds (R8).
    RefusalGroundRequired = ("refusal_ground_required", 422, "Refusal ground required"),
    /// No such training sample.
    SampleNotFound = ("sample_not_found", 404, "Sample not found"),
    /// A training sample approved by the person who asked for it (C4: two people).
    SelfApproval = ("self_approval", 403, "Requester cannot approve"),
    /// The training sample is not approved yet.
    SampleNotApproved = ("sample_not_approved", 409, "Sample not approved"),
    /// The training sample's export window has passed.
    SampleExpired = ("sample_expired", 410, "Sample expired"),
    /// A disclosure to a third party was refused: no consent of scope `share_with:<recipient>`
    /// for this recipient, and no legal ground with a recorded reason (D1–D6). Nothing was sent.
    DisclosureNotAllowed = ("disclosure_not_allowed", 403, "Disclosure not allowed"),
    /// No such incident.
    IncidentNotFound = ("incident_not_found", 404, "Incident not found"),
    /// Identity data from a third-party login carried a field the person did not agree to
    /// share with that party (D2); the detail names the field. Nothing was stored.
    ThirdPartyScopeExceeded = ("third_party_scope_exceeded", 422, "Field not agreed with the login provider"),
    /// A policy version that changes how personal data is processed, without an impact
    /// assessment completed on or before its publication (L5). Nothing was published.
    ImpactAssessmentRequired = ("impact_assessment_required", 422, "Impact assessment required"),
    /// The service is winding down (S6): collection has stopped and no new session starts.
    ServiceWoundDown = ("service_wound_down", 503, "Service winding down"),
    /// An unexpected server fault (details are in the server log, never in the response).
    Internal = ("internal", 500, "Internal server error"),
    /// The analysis could not run (models not loaded, worker failure).
    AnalysisUnavailable = ("analysis_unavailable", 503, "Analysis unavailable"),
    /// The blob store could not take the upload (read-only, full or unreachable); nothing was
    /// stored. Send it again after `retry_after_s`.
    StorageUnavailable = ("storage_unavailable", 503, "Storage unavailable"),
    /// The server holds as many frames in memory as its budget allows (`limits`); nothing was
    /// stored. Retry after `retry_after_s`.
    ServerBusy = ("server_busy", 503, "Server busy"),
    /// The request body arrived too slowly (`limits.body_timeout_s`); nothing was stored.
    RequestTimeout = ("request_timeout", 408, "Request body too slow"),
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An RFC 9457 problem details object, with huoti's stable `code`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Problem {
    /// `urn:huoti:problem:<code>`.
    #[serde(rename = "type")]
    pub type_: String,
    /// Short fixed title of the code.
    pub title: String,
    /// HTTP status.
    pub status: u16,
    /// What happened, for a developer (never contains tokens or personal data).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// The stable error code (see [`ErrorCode`]).
    pub code: String,
    /// Seconds to wait before retrying (rate limit, lock).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after_s: Option<u64>,
}

impl Problem {
    /// A problem for `code` with a detail sentence.
    pub fn new(code: ErrorCode, detail: impl Into<String>) -> Problem {
        Problem {
            type_: format!("urn:huoti:problem:{}", code.as_str()),
            title: code.title().to_owned(),
            status: code.status(),
            detail: Some(detail.into()),
            code: code.as_str().to_owned(),
            retry_after_s: None,
        }
    }
}

/// An action the person is asked to perform (directions are the person's own).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Turn the head to one's own left.
    TurnLeft,
    /// Turn the head to one's own right.
    TurnRight,
    /// Look down and back up.
    Nod,
    /// Close both eyes briefly.
    Blink,
    /// Open the mouth wide.
    OpenMouth,
}

/// One action with its time window (ms since the start of the challenge).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ActionStep {
    /// What to do.
    pub action: Action,
    /// Window start, inclusive.
    pub start_ms: u64,
    /// Window end, exclusive.
    pub end_ms: u64,
}

/// One full-screen colour (sRGB) shown for a while.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct FlashStep {
    /// sRGB colour, 0–255.
    pub rgb: [u8; 3],
    /// Start, ms, inclusive.
    pub start_ms: u64,
    /// End, ms, exclusive.
    pub end_ms: u64,
}

/// The challenge the SDK plays: a neutral phase `[0, neutral_ms)`, the light step (colours
/// full-screen), then the actions, each in its window. Time 0 is when the SDK starts playing
/// it; frame capture times (`t_ms`) are measured from the same origin.
///
/// The light step is never absent from a production challenge: with `reduced_flash` it uses
/// the photosensitivity-safe profile (colours of equal luminance, no saturated red, a change
/// at most every 800 ms), which the SDK shows fading each colour in over `transition_ms`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Challenge {
    /// Hex nonce; every frame must carry it.
    pub nonce: String,
    /// End of the neutral phase (start of the first step), ms.
    pub neutral_ms: u64,
    /// Actions in the order they must be performed.
    pub actions: Vec<ActionStep>,
    /// Colours in display order (empty only in a test-mode fixed challenge).
    pub flashes: Vec<FlashStep>,
    /// The colours follow the photosensitivity-safe profile (the person asked for reduced
    /// flashing). Show them all the same: the light check runs on every session.
    pub reduced_flash: bool,
    /// Fade each colour in from the previous one over this many ms at the start of its step
    /// (0: switch at once). Absent from older servers: 0.
    #[serde(default)]
    pub transition_ms: u64,
    /// End of the last step, ms.
    pub total_ms: u64,
    /// How to capture frames for this challenge: size, JPEG quality and the frame rate of each
    /// part (issue 15). Absent from older servers: send every camera frame as before. A client
    /// that ignores it is judged the same way; it only sends more.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capture: Option<CaptureProfile>,
}

/// The capture profile of a challenge: what the analysis uses, so that a check costs as
/// little mobile data (and server CPU) as it can. Scale each camera frame down to `width`
/// (keep the aspect ratio; never scale up), encode it at `jpeg_quality`, and send the frames
/// that [`wants`](Self::wants) picks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CaptureProfile {
    /// Frame width, px.
    pub width: u32,
    /// JPEG quality, percent (a browser's `canvas.toBlob(…, "image/jpeg", jpeg_quality / 100)`).
    pub jpeg_quality: u8,
    /// Frames per second outside every span (the neutral phase, between steps).
    pub idle_fps: u32,
    /// The parts of the challenge that need more frames, in time order, not overlapping.
    pub spans: Vec<CaptureSpan>,
}

/// A part of the challenge, `[start_ms, end_ms)`, and its frame rate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CaptureSpan {
    /// Start, ms since the challenge started, inclusive.
    pub start_ms: u64,
    /// End, ms, exclusive.
    pub end_ms: u64,
    /// Frames per second.
    pub fps: u32,
}

impl CaptureProfile {
    /// Frames per second wanted at capture time `t_ms` (at least 1).
    pub fn fps_at(&self, t_ms: u64) -> u32 {
        self.spans.iter().find(|s| (s.start_ms..s.end_ms).contains(&t_ms)).map_or(self.idle_fps, |s| s.fps).max(1)
    }

    /// Whether the camera frame captured at `t_ms` should be sent, the last frame sent having
    /// been captured at `last_sent_ms`: when it falls in a later slot of the `1 / fps_at(t_ms)`
    /// grid than the last one. Any camera faster than the wanted rate then gives exactly that
    /// rate on average (a 15 fps camera asked for 6 fps sends 6, not every third frame's 5),
    /// whatever its jitter.
    ///
    /// ```
    /// use huoti_api::{CaptureProfile, CaptureSpan};
    /// let p = CaptureProfile { width: 320, jpeg_quality: 70, idle_fps: 4,
    ///     spans: vec![CaptureSpan { start_ms: 1000, end_ms: 2000, fps: 10 }] };
    /// assert!(p.wants(0, None));
    /// assert!(!p.wants(249, Some(0)) && p.wants(250, Some(0)), "4 fps: slots of 250 ms");
    /// assert!(p.wants(1100, Some(1000)), "10 fps in the span");
    /// // A 30 fps camera over one idle second sends 4 frames.
    /// let mut last = None;
    /// let sent = (0..30u64).map(|i| i * 1000 / 30).filter(|&t| {
    ///     let send = p.wants(t, last);
    ///     if send { last = Some(t) }
    ///     send
    /// }).count();
    /// assert_eq!(sent, 4);
    /// ```
    pub fn wants(&self, t_ms: u64, last_sent_ms: Option<u64>) -> bool {
        let Some(last) = last_sent_ms else { return true };
        let fps = u64::from(self.fps_at(t_ms));
        t_ms > last && t_ms * fps / 1000 > last * fps / 1000
    }
}

/// An explicit challenge, accepted only by a server in test mode (recorded clips cannot
/// follow a random challenge). The server adds its own fresh nonce.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct FixedChallenge {
    /// The actions and their windows.
    pub actions: Vec<ActionStep>,
    /// Colours (hard cuts); empty means no light step, which only test mode accepts and whose
    /// verdict then rests on motion and passive checks alone.
    #[serde(default)]
    pub flashes: Vec<FlashStep>,
}

/// `POST /v1/sessions` body (all members optional; `{}` is a valid request).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateSessionRequest {
    /// An opaque id of the device or account the integrator is verifying (for the abuse lock:
    /// after too many failed sessions with one correlation id, new sessions are refused for a
    /// while). Never a name, phone number or ID number. At most 128 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub correlation_id: Option<String>,
    /// The person asked for reduced flashing (photosensitivity): the challenge's light step
    /// uses the photosensitivity-safe profile. It is never removed.
    #[serde(default)]
    pub reduced_flash: bool,
    /// Test mode only: use this challenge instead of a random one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fixed_challenge: Option<FixedChallenge>,
    /// The integrator's pseudonymous reference for the person (1–128 of `[A-Za-z0-9._:-]`;
    /// never a name, phone or ID number). Consents, rights and retention attach to it; without
    /// it they attach to this session alone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject_ref: Option<String>,
    /// Face match (本人核验): when the session is live, compare the live face with the
    /// person's reference and add `face_match` to the verdict. Needs `subject_ref` and the
    /// person's `face_comparison` consent; never computed for a session that is not live.
    #[serde(default, skip_serializing_if = "is_false")]
    pub face_match: bool,
    /// Enrol the person's face reference from this session's best frame when — and only
    /// when — it is live (replacing an older reference). Needs `subject_ref` and the
    /// person's `face_comparison` consent; only the sealed template is kept.
    #[serde(default, skip_serializing_if = "is_false")]
    pub enrol_reference: bool,
}

/// For `skip_serializing_if`: additive flags stay off the wire when off (older servers
/// refuse unknown members).
fn is_false(b: &bool) -> bool {
    !*b
}

/// `POST /v1/sessions` answer. Hand `session_id`, `client_token` and `challenge` to the app;
/// keep the API key on the backend.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CreateSessionResponse {
    /// Session id.
    pub session_id: String,
    /// Bearer token for the frame and complete calls of this session only.
    pub client_token: String,
    /// The challenge to play.
    pub challenge: Challenge,
    /// Expiry, RFC 3339 UTC.
    pub expires_at: String,
    /// Time to live from creation, seconds.
    pub ttl_s: u64,
    /// Most frames the session accepts.
    pub max_frames: u32,
    /// Largest frame accepted, bytes.
    pub max_frame_bytes: u64,
}

/// Query parameters of a frame upload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FrameParams {
    /// Sequence number: 0, 1, 2, … in capture order.
    pub seq: u32,
    /// Capture time, ms since the challenge started.
    pub t_ms: u64,
    /// The challenge's nonce.
    pub nonce: String,
}

/// A frame was stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct FrameAccepted {
    /// The frame's sequence number.
    pub seq: u32,
    /// Frames the session holds now.
    pub frames_received: u32,
    /// What the person still has to do in the action window open when this frame was
    /// captured, judged on the frames the server has measured so far: absent outside every
    /// window, once the window's action was seen, and when the server could not measure the
    /// frame on arrival. Absent from older servers. See [`ActionHint`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hint: Option<ActionHint>,
}

/// A prompt that helps the person pass the step whose window is open (issue 16): "turn a
/// little further", "open wider", "blink once". Computed from the server's on-arrival
/// measures (no extra model runs); it guides, the verdict still decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ActionHint {
    /// Index of the step in `challenge.actions`.
    pub step: u32,
    /// That step's action.
    pub action: Action,
    /// What is missing (show its text while the window is open).
    pub code: HintCode,
    /// How far the movement got, 0–100 % of what this person needs (only with the
    /// `…_further`/`open_wider`/`close_eyes_fully` codes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub progress_percent: Option<u8>,
}

/// What a person still has to do in the open window. Stable codes; a client shows its own
/// text for each, and nothing for a code it does not know ([`HintCode::Other`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum HintCode {
    /// No face in the window so far: face the camera.
    FaceTheCamera,
    /// A turn has not started: turn the head to one's own left.
    TurnLeft,
    /// A turn has not started: turn the head to one's own right.
    TurnRight,
    /// Turning the right way, not far enough yet.
    TurnFurther,
    /// A nod has not started: look down, then back up.
    Nod,
    /// Nodding, not deep enough yet.
    NodFurther,
    /// The mouth has not opened beyond this person's resting (talking) range.
    OpenMouth,
    /// The mouth opens, not wide enough yet.
    OpenWider,
    /// No blink yet: close both eyes briefly, once.
    BlinkOnce,
    /// The eyes narrowed but did not close: close them fully, briefly.
    CloseEyesFully,
    /// A code added by a newer server.
    #[serde(other)]
    Other,
}

impl HintCode {
    /// The code as sent on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            HintCode::FaceTheCamera => "face_the_camera",
            HintCode::TurnLeft => "turn_left",
            HintCode::TurnRight => "turn_right",
            HintCode::TurnFurther => "turn_further",
            HintCode::Nod => "nod",
            HintCode::NodFurther => "nod_further",
            HintCode::OpenMouth => "open_mouth",
            HintCode::OpenWider => "open_wider",
            HintCode::BlinkOnce => "blink_once",
            HintCode::CloseEyesFully => "close_eyes_fully",
            HintCode::Other => "other",
        }
    }
}

/// Device information, sent only when the person allowed it (policy P2); every member is
/// optional and verification runs the same without any.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct DeviceInfo {
    /// Phone model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// OS type (`android`, `ios`, `web`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub os_type: Option<String>,
    /// OS version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub os_version: Option<String>,
}

/// The decision about a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    /// A real person was present and followed the challenge.
    Live,
    /// Evidence of a presentation or injection attack, or the challenge was not followed.
    Spoof,
    /// Not enough evidence either way: retry, or route to a human reviewer (L4).
    Uncertain,
}

/// One reason of a verdict: a stable code and its fixed English sentence (policy L4).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Reason {
    /// Stable reason code (`challenge_order`, `static_presentation`, …; see docs/API.md).
    pub code: String,
    /// The code's fixed sentence.
    pub message: String,
}

/// Score of one check.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CheckScore {
    /// `challenge`, `flash`, `integrity`, `face`, `passive` or `medium` (screen-medium cue).
    pub check: String,
    /// 0–1, higher is more evidence of a live session.
    pub score: f32,
    /// Passed, failed, or could not be judged (`null`).
    pub passed: Option<bool>,
}

/// `POST /v1/sessions/{id}/complete` body (optional).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CompleteRequest {}

/// What the capturing client learns: pass or fail, and the details only when the server is
/// configured to show them (`expose_verdict_to_client`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CompleteResponse {
    /// Session id.
    pub session_id: String,
    /// True when the decision is `live`.
    pub passed: bool,
    /// The decision (only when exposed to clients).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision: Option<Decision>,
    /// The score (only when exposed to clients).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score: Option<u8>,
    /// The reasons (only when exposed to clients).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reasons: Option<Vec<Reason>>,
}

/// A model or threshold version the verdict was made with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ModelVersion {
    /// Name.
    pub name: String,
    /// Version (for model files: the pinned sha256 prefix).
    pub version: String,
}

/// The verdict of a session: the payload of the signed JWS.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SessionVerdict {
    /// Issuer (the server's configured name).
    pub iss: String,
    /// Issued at, Unix seconds.
    pub iat: u64,
    /// Session id.
    pub session_id: String,
    /// The integrator's correlation id, when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub correlation_id: Option<String>,
    /// The decision.
    pub decision: Decision,
    /// 0–100; bands: spoof 0–39, uncertain 40–69, live 70–100.
    pub score: u8,
    /// Why, most severe first (L4: explainable).
    pub reasons: Vec<Reason>,
    /// Per-check scores.
    pub checks: Vec<CheckScore>,
    /// The kinds of evidence the decision rests on, of `light` (the face reflected the random
    /// colours), `motion` (the actions were performed in order and in time) and `passive`
    /// (the anti-spoof models judged the face real and no screen was seen). A live verdict
    /// includes `light` unless `fixed_challenge` is true. Absent from older servers: empty.
    #[serde(default)]
    pub assurance: Vec<String>,
    /// Sequence number of the best frame (the reference frame).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference_frame: Option<u32>,
    /// Models and thresholds used.
    pub model_versions: Vec<ModelVersion>,
    /// Frames analysed.
    pub frames: u32,
    /// Device info, when the person allowed it (P2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device: Option<DeviceInfo>,
    /// The session used a fixed (test-mode) challenge: never accept such a verdict in
    /// production.
    pub fixed_challenge: bool,
    /// Completion time, RFC 3339 UTC.
    pub completed_at: String,
    /// Face match against the person's reference, when the session asked for it and was
    /// live (absent otherwise: never computed for a session that is not live).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub face_match: Option<FaceMatch>,
    /// Whether this live session's best frame became the person's face reference, when the
    /// session asked (`enrol_reference`); absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub face_reference_enrolled: Option<bool>,
}

/// The outcome of comparing a live session's face with the person's reference.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FaceMatchDecision {
    /// Similarity at or above the threshold: the same person.
    Match,
    /// Below it.
    NoMatch,
    /// The person has no reference (never enrolled, or it was deleted).
    NoReference,
    /// The person's `face_comparison` consent is not in force (withdrawn, or not renewed
    /// after a material policy change): nothing was compared.
    NotConsented,
    /// Not computed: the node that completed the session has no face-match model (SFace is
    /// optional). The liveness verdict stands on its own; nothing was compared or enrolled.
    Unavailable,
}

/// `face_match` in a verdict: cosine similarity of SFace templates (the median over the
/// session's 2–3 best frames) against the threshold.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct FaceMatch {
    /// Cosine similarity, −1…1 (absent when nothing was compared: `no_reference`, `not_consented`, `unavailable`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub similarity: Option<f32>,
    /// The threshold decided at (server configuration, `face_match.threshold`).
    pub threshold: f32,
    /// The decision.
    pub decision: FaceMatchDecision,
    /// The face-recognition model (templates of different models are not comparable).
    pub model: String,
}

/// How good a face reference is (the facts behind `problems`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ReferenceQuality {
    /// Faces found in the image (a reference has exactly one).
    pub faces: u32,
    /// Distance between the eyes, pixels (the face's real resolution).
    pub eye_distance_px: f32,
    /// Tilt of the eye line, degrees.
    pub roll_deg: f32,
    /// The nose's offset from the face's midline, in eye distances (0 = frontal).
    pub nose_offset: f32,
    /// Sharpness of the aligned face (Laplacian variance; low = blurred).
    pub sharpness: f32,
    /// Share of the aligned face outside the image.
    pub outside_fraction: f32,
    /// What is wrong, if anything: `face_too_small`, `turned_away`, `blurred`, `face_cut_off`.
    pub problems: Vec<String>,
}

/// `PUT /v1/subjects/{subject_ref}/reference` and `GET` answer: a reference exists, when it
/// was made and from what — never the template.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct FaceReferenceInfo {
    /// When it was made, RFC 3339 UTC.
    pub created_at: String,
    /// `image` (sent by the integrator) or `session` (a live session's best frame).
    pub source: String,
    /// The face-recognition model of the template.
    pub model: String,
    /// The reference's quality, when it was just made (absent when read back).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quality: Option<ReferenceQuality>,
}

/// `GET /v1/sessions/{id}/result` answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ResultResponse {
    /// Compact JWS (`alg: EdDSA`, `kid` names a key of `/v1/keys`) whose payload is `verdict`.
    pub jws: String,
    /// The verdict (the JWS payload, decoded for convenience; trust only after verifying).
    pub verdict: SessionVerdict,
}

/// A public key (RFC 8037: OKP, Ed25519).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Jwk {
    /// `OKP`.
    pub kty: String,
    /// `Ed25519`.
    pub crv: String,
    /// Public key, base64url without padding.
    pub x: String,
    /// Key id (the `kid` of the JWS header).
    pub kid: String,
    /// `EdDSA`.
    pub alg: String,
    /// `sig`.
    #[serde(rename = "use")]
    pub use_: String,
}

/// `GET /v1/keys` answer: the JSON Web Key Set that verifies result signatures.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Jwks {
    /// The keys.
    pub keys: Vec<Jwk>,
}

/// `/healthz` and `/readyz` answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Health {
    /// `ok`, or what is not ready.
    pub status: String,
    /// Things an operator should act on soon that do not stop serving (e.g. the working-day
    /// calendar ends within two months: install the next year's holiday notice).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_and_round_trip() {
        let mut seen = std::collections::HashSet::new();
        for &c in ErrorCode::ALL {
            assert!(seen.insert(c.as_str()), "duplicate {c}");
            let json = serde_json::to_string(&c).unwrap();
            assert_eq!(json, format!("\"{}\"", c.as_str()));
            assert!((400..600).contains(&c.status()));
        }
    }

    #[test]
    fn new_fields_are_additive_for_old_clients_and_servers() {
        // A challenge and a verdict from a server before the safe light profile still parse.
        let old_challenge = r#"{"nonce":"ab","neutral_ms":1000,"actions":[],"flashes":[],"reduced_flash":false,"total_ms":4000}"#;
        let c: Challenge = serde_json::from_str(old_challenge).unwrap();
        assert_eq!(c.transition_ms, 0);
        let old_verdict = serde_json::json!({
            "iss": "huoti", "iat": 1, "session_id": "s_1", "decision": "live", "score": 90,
            "reasons": [], "checks": [], "model_versions": [], "frames": 60,
            "fixed_challenge": false, "completed_at": "2026-01-01T00:00:00Z"
        });
        let v: SessionVerdict = serde_json::from_value(old_verdict).unwrap();
        assert!(v.assurance.is_empty());
        // Old clients ignore what they do not know (no deny_unknown_fields on answers).
        let new = serde_json::to_value(Challenge { transition_ms: 300, reduced_flash: true, ..c }).unwrap();
        assert_eq!(new["transition_ms"], 300);
    }

    #[test]
    fn create_request_defaults() {
        let r: CreateSessionRequest = serde_json::from_str("{}").unwrap();
        assert_eq!(r, CreateSessionRequest::default());
        assert!(serde_json::from_str::<CreateSessionRequest>(r#"{"bogus":1}"#).is_err());
    }
}
