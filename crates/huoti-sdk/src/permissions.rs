//! Permissions as a first-class model (policy P1, P2).
//!
//! The SDK never decides on the person's behalf: before it touches the camera it asks the
//! host app, which asks the person (or the operating system's permission dialog) and answers.

/// What the SDK asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Permission {
    /// The (front) camera, and with it the network upload of what it captured (P1).
    /// Refused → the session ends with [`Error::CameraDenied`](crate::Error::CameraDenied)
    /// before anything is opened or sent.
    Camera,
    /// The device's model, OS type and OS version (C1, P2). Refused → capture runs exactly
    /// the same and no device information leaves the device.
    DeviceInfo,
    /// Agreement to the privacy policy in force (A1, L1), asked after the two device
    /// permissions with the policy's version and scopes in hand. Refused →
    /// [`Error::ConsentDenied`](crate::Error::ConsentDenied): nothing captured, nothing sent.
    PolicyConsent,
}

impl Permission {
    /// Stable lower-case name (`camera`, `device_info`).
    pub fn as_str(self) -> &'static str {
        match self {
            Permission::Camera => "camera",
            Permission::DeviceInfo => "device_info",
            Permission::PolicyConsent => "policy_consent",
        }
    }
}

/// The host's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Answer {
    /// Allowed.
    Granted,
    /// Refused (or not answered: anything but an explicit grant counts as a refusal).
    Denied,
}

impl Answer {
    /// True for [`Answer::Granted`].
    pub fn is_granted(self) -> bool {
        self == Answer::Granted
    }
}

impl From<bool> for Answer {
    fn from(granted: bool) -> Answer {
        if granted { Answer::Granted } else { Answer::Denied }
    }
}

/// Answers the SDK's permission requests. Called on the driver's thread, once per
/// permission per session, camera first; it may block while the person decides.
///
/// Implement it over the platform's permission API (Android `CAMERA`, macOS
/// `AVCaptureDevice.requestAccess`, a kiosk's consent screen, …).
pub trait Permissions {
    /// May the SDK use the camera (and upload what it captures)?
    fn camera(&mut self) -> Answer;
    /// May the SDK send the device's model, OS type and OS version?
    fn device_info(&mut self) -> Answer;
    /// Does the person agree to the privacy policy `policy` (show its text at `policy.url`,
    /// version `policy.version`)? The SDK then records consent to `face_capture_and_upload`,
    /// and to `device_info` only when [`device_info`](Self::device_info) was granted.
    fn consent(&mut self, policy: &huoti_api::PolicyInfo) -> Answer;
    /// Does the person also agree, separately, to face comparison (`face_comparison`: a
    /// template of their face kept to confirm it is them, issue 14)? Asked only after
    /// [`consent`](Self::consent) was granted; refusing never blocks liveness (C6). The
    /// default answers no without asking.
    fn face_comparison(&mut self, _policy: &huoti_api::PolicyInfo) -> Answer {
        Answer::Denied
    }
}

/// Fixed answers, for hosts that asked the person beforehand (and for tests).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Granted {
    /// Answer to [`Permission::Camera`].
    pub camera: bool,
    /// Answer to [`Permission::DeviceInfo`].
    pub device_info: bool,
    /// Answer to [`Permission::PolicyConsent`]: the person read and accepted the policy in
    /// force (whatever its version: a host that must show a specific version implements
    /// [`Permissions`] itself).
    pub policy: bool,
}

impl Granted {
    /// Camera and device info both allowed.
    pub fn all() -> Granted {
        Granted { camera: true, device_info: true, policy: true }
    }
    /// Camera allowed, device info refused (policy accepted).
    pub fn camera_only() -> Granted {
        Granted { camera: true, device_info: false, policy: true }
    }
    /// Nothing allowed.
    pub fn none() -> Granted {
        Granted { camera: false, device_info: false, policy: false }
    }
}

impl Permissions for Granted {
    fn camera(&mut self) -> Answer {
        self.camera.into()
    }
    fn device_info(&mut self) -> Answer {
        self.device_info.into()
    }
    fn consent(&mut self, _policy: &huoti_api::PolicyInfo) -> Answer {
        self.policy.into()
    }
}

/// Any `FnMut(Permission) -> Answer` closure answers permissions.
impl<F: FnMut(Permission) -> Answer> Permissions for F {
    fn camera(&mut self) -> Answer {
        self(Permission::Camera)
    }
    fn device_info(&mut self) -> Answer {
        self(Permission::DeviceInfo)
    }
    fn consent(&mut self, _policy: &huoti_api::PolicyInfo) -> Answer {
        self(Permission::PolicyConsent)
    }
}
