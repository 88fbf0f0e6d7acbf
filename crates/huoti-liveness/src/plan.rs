//! Challenge planning. How it works, for readers and users: [`crate::manual::plan`]
//! (`src/manual/plan.md`).

use rand_core::RngCore;
use serde::{Deserialize, Serialize};

use crate::Error;
use crate::light::{self, LightProfile, SAFE_PALETTE};

/// One action the person may be asked to perform.
///
/// Directions are the person's own: `TurnLeft` means the person turns the head to *their* left
/// (which appears as a turn to the right in an unmirrored camera image).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Turn the head to one's own left (yaw rises by at least `turn_yaw_deg`).
    TurnLeft,
    /// Turn the head to one's own right (yaw falls by at least `turn_yaw_deg`).
    TurnRight,
    /// Look down and back up (pitch excursion of at least `nod_pitch_deg`, then return).
    Nod,
    /// Close both eyes briefly and open them again.
    Blink,
    /// Open the mouth wide.
    OpenMouth,
}

impl Action {
    /// All five actions, in a fixed order.
    pub const ALL: [Action; 5] = [
        Action::TurnLeft,
        Action::TurnRight,
        Action::Nod,
        Action::Blink,
        Action::OpenMouth,
    ];

    /// The stable snake_case name, as on the wire (`"turn_left"`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            Action::TurnLeft => "turn_left",
            Action::TurnRight => "turn_right",
            Action::Nod => "nod",
            Action::Blink => "blink",
            Action::OpenMouth => "open_mouth",
        }
    }
}

impl std::fmt::Display for Action {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The colour-flash (light) part of a challenge: one of the two profiles.
///
/// [`FlashConfig::default`] is the standard profile; [`FlashConfig::photosensitive_safe`] the
/// safe one (see [`light`](crate::light)).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct FlashConfig {
    /// Palette the colours are drawn from (sRGB, 0–255). Needs at least two distinct colours.
    /// Default: red, green, blue, yellow, magenta, cyan, white.
    pub colours: Vec<[u8; 3]>,
    /// Fewest flash steps (default 5). At least 2: the check works on differences between
    /// consecutive steps; more steps make a chance alignment with a recording's drift rarer
    /// (`docs/EVALUATION.md`).
    pub min_count: usize,
    /// Most flash steps (default 7).
    pub max_count: usize,
    /// Duration of one flash step, ms (default 400). A few camera frames must fit in a step
    /// after the reflection lag (see [`Thresholds::flash_lag_ms`](crate::Thresholds)).
    /// At least 167: a profile never changes colour more than six times (three flashes) in a
    /// second.
    pub step_ms: u64,
    /// Each step fades in from the previous colour over its first `transition_ms` (default 0:
    /// a hard cut). At most half of `step_ms`; the flash check ignores the fade.
    pub transition_ms: u64,
}

impl Default for FlashConfig {
    fn default() -> Self {
        FlashConfig {
            colours: vec![
                [255, 0, 0],
                [0, 255, 0],
                [0, 0, 255],
                [255, 255, 0],
                [255, 0, 255],
                [0, 255, 255],
                [255, 255, 255],
            ],
            min_count: 5,
            max_count: 7,
            step_ms: 400,
            transition_ms: 0,
        }
    }
}

impl FlashConfig {
    /// The photosensitivity-safe profile: the [`SAFE_PALETTE`] (six colours of nearly equal
    /// luminance, no saturated red), 5–6 steps of 800 ms, each fading in over 300 ms.
    pub fn photosensitive_safe() -> FlashConfig {
        FlashConfig {
            colours: SAFE_PALETTE.to_vec(),
            min_count: 5,
            max_count: 6,
            step_ms: 800,
            transition_ms: 300,
        }
    }

    pub(crate) fn validate(&self, profile: LightProfile) -> Result<(), Error> {
        if self.step_ms == 0 {
            return Err(Error::ZeroDuration("flash.step_ms"));
        }
        if self.min_count < 2 || self.min_count > self.max_count {
            return Err(Error::FlashConfig("need 2 <= min_count <= max_count"));
        }
        let first = self.colours.first();
        if !self.colours.iter().any(|c| Some(c) != first) {
            return Err(Error::FlashConfig(
                "the palette needs at least two distinct colours",
            ));
        }
        match profile {
            LightProfile::Standard => light::check_rate(self),
            LightProfile::PhotosensitiveSafe => light::check_safe_config(self),
        }
    }
}

/// How random challenges are drawn.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ChallengeConfig {
    /// Allowed actions (default: all five). Each may appear at most once in a plan.
    pub actions: Vec<Action>,
    /// Fewest actions in a plan (default 2).
    pub min_actions: usize,
    /// Most actions in a plan (default 3).
    pub max_actions: usize,
    /// Neutral (baseline) phase at the start, ms (default 1000).
    pub neutral_ms: u64,
    /// Window given to each action, ms (default 3000).
    pub action_window_ms: u64,
    /// The standard light profile (default [`FlashConfig::default`]).
    pub flash: FlashConfig,
    /// The photosensitivity-safe light profile (default [`FlashConfig::photosensitive_safe`]);
    /// it must stay below WCAG's flash thresholds (checked by [`validate`](Self::validate)).
    pub safe_flash: FlashConfig,
    /// The person is sensitive to flashing light: draw the light step from `safe_flash`.
    /// This never removes the light step: the light check runs on every plan.
    pub reduced_flash: bool,
}

impl Default for ChallengeConfig {
    fn default() -> Self {
        ChallengeConfig {
            actions: Action::ALL.to_vec(),
            min_actions: 2,
            max_actions: 3,
            neutral_ms: 1000,
            action_window_ms: 3000,
            flash: FlashConfig::default(),
            safe_flash: FlashConfig::photosensitive_safe(),
            reduced_flash: false,
        }
    }
}

impl ChallengeConfig {
    /// Checks that plans can be drawn from this configuration.
    pub fn validate(&self) -> Result<(), Error> {
        if self.actions.is_empty() {
            return Err(Error::NoActions);
        }
        for (i, a) in self.actions.iter().enumerate() {
            if self.actions[..i].contains(a) {
                return Err(Error::DuplicateAction(a.as_str()));
            }
        }
        let available = self.actions.len();
        if self.min_actions == 0
            || self.min_actions > self.max_actions
            || self.max_actions > available
        {
            return Err(Error::ActionCount {
                min: self.min_actions,
                max: self.max_actions,
                available,
            });
        }
        if self.neutral_ms == 0 {
            return Err(Error::ZeroDuration("neutral_ms"));
        }
        if self.action_window_ms == 0 {
            return Err(Error::ZeroDuration("action_window_ms"));
        }
        self.flash.validate(LightProfile::Standard)?;
        self.safe_flash.validate(LightProfile::PhotosensitiveSafe)
    }

    /// The profile plans drawn from this configuration use.
    pub fn light_profile(&self) -> LightProfile {
        if self.reduced_flash {
            LightProfile::PhotosensitiveSafe
        } else {
            LightProfile::Standard
        }
    }
}

/// One action and the window in which it must be performed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActionStep {
    /// What to do.
    pub action: Action,
    /// Window start, ms since the start of the plan (inclusive).
    pub start_ms: u64,
    /// Window end, ms (exclusive).
    pub end_ms: u64,
}

/// One colour shown full-screen for a while.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct FlashStep {
    /// sRGB colour, 0–255.
    pub rgb: [u8; 3],
    /// Start, ms since the start of the plan (inclusive).
    pub start_ms: u64,
    /// End, ms (exclusive).
    pub end_ms: u64,
}

/// A challenge, as sent to the SDK and later used to judge the frames.
///
/// Build one with [`ChallengePlan::random`] (production) or [`ChallengePlan::fixed`]
/// (fixed-challenge test mode). A plan received from outside (deserialised) should be checked
/// with [`ChallengePlan::validate`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChallengePlan {
    /// Hex nonce chosen by the caller; every frame must carry it.
    pub nonce: String,
    /// End of the neutral (baseline) phase, ms: the start of the first step.
    pub neutral_ms: u64,
    /// Actions in the order they must be performed, with their windows.
    pub actions: Vec<ActionStep>,
    /// Colour (light) steps in display order. Empty only in a [`fixed`](ChallengePlan::fixed()) plan.
    pub flashes: Vec<FlashStep>,
    /// The light steps use the photosensitivity-safe profile (the person asked for reduced
    /// flashing): colours of equal luminance, no saturated red, smooth fades.
    pub reduced_flash: bool,
    /// Each light step fades in from the previous colour over its first `transition_ms`
    /// (0: hard cuts). Absent in plans from before the safe profile: 0.
    #[serde(default)]
    pub transition_ms: u64,
    /// Made by [`ChallengePlan::fixed()`] for tests and the server's test mode. Only such a plan
    /// may lack a light step and still be judged live ([`ReasonCode::LightRequired`](crate::ReasonCode)).
    #[serde(default)]
    pub fixed: bool,
    /// End of the last step, ms.
    pub total_ms: u64,
}

impl ChallengePlan {
    /// Draws a random plan: distinct actions (so never the same twice in a row), a flash
    /// sequence with no colour repeated back to back, laid out as described in the
    /// [manual](crate::manual::plan).
    ///
    /// Deterministic in the RNG: the same RNG state gives the same plan.
    pub fn random(
        config: &ChallengeConfig,
        nonce: impl Into<String>,
        rng: &mut impl RngCore,
    ) -> Result<ChallengePlan, Error> {
        config.validate()?;
        let nonce = nonce.into();
        check_nonce(&nonce)?;

        let mut t = config.neutral_ms;
        let mut flashes = Vec::new();
        let f = match config.light_profile() {
            LightProfile::Standard => &config.flash,
            LightProfile::PhotosensitiveSafe => &config.safe_flash,
        };
        {
            let count = uniform_in(rng, f.min_count, f.max_count);
            let mut prev: Option<[u8; 3]> = None;
            for _ in 0..count {
                // Only colours that differ from the previous one: a repeated colour carries no
                // difference signal. validate() guarantees at least one candidate.
                let candidates: Vec<[u8; 3]> = f
                    .colours
                    .iter()
                    .copied()
                    .filter(|c| Some(*c) != prev)
                    .collect();
                let rgb = candidates[uniform(rng, candidates.len())];
                flashes.push(FlashStep {
                    rgb,
                    start_ms: t,
                    end_ms: t + f.step_ms,
                });
                t += f.step_ms;
                prev = Some(rgb);
            }
        }

        let n = uniform_in(rng, config.min_actions, config.max_actions);
        let mut pool = config.actions.clone();
        // Partial Fisher–Yates: the first n entries become a uniform random ordered selection.
        for i in 0..n {
            let j = i + uniform(rng, pool.len() - i);
            pool.swap(i, j);
        }
        let actions = pool[..n]
            .iter()
            .map(|&action| {
                let step = ActionStep {
                    action,
                    start_ms: t,
                    end_ms: t + config.action_window_ms,
                };
                t += config.action_window_ms;
                step
            })
            .collect();

        let plan = ChallengePlan {
            nonce,
            neutral_ms: config.neutral_ms,
            actions,
            flashes,
            reduced_flash: config.reduced_flash,
            transition_ms: f.transition_ms,
            fixed: false,
            total_ms: t,
        };
        debug_assert_eq!(plan.validate(), Ok(()));
        Ok(plan)
    }

    /// A plan with explicit steps, for tests and the fixed-challenge mode (a recorded clip
    /// cannot follow a random challenge). The neutral phase runs from 0 ms to the first step.
    /// The light steps use the standard profile with hard cuts; without any, the plan has no
    /// light step, which only a fixed plan may have (its `fixed` field is set).
    ///
    /// Flashes and actions may overlap each other, but within each list the windows must be
    /// non-empty, ordered and non-overlapping.
    pub fn fixed(
        nonce: impl Into<String>,
        actions: Vec<ActionStep>,
        flashes: Vec<FlashStep>,
    ) -> Result<ChallengePlan, Error> {
        let starts = actions
            .iter()
            .map(|s| s.start_ms)
            .chain(flashes.iter().map(|s| s.start_ms));
        let ends = actions
            .iter()
            .map(|s| s.end_ms)
            .chain(flashes.iter().map(|s| s.end_ms));
        let plan = ChallengePlan {
            nonce: nonce.into(),
            neutral_ms: starts.min().unwrap_or(0),
            total_ms: ends.max().unwrap_or(0),
            reduced_flash: false,
            transition_ms: 0,
            fixed: true,
            actions,
            flashes,
        };
        plan.validate()?;
        Ok(plan)
    }

    /// Checks every invariant of a plan (what [`fixed`](Self::fixed) and
    /// [`random`](Self::random) guarantee). Use it on plans that come from outside.
    pub fn validate(&self) -> Result<(), Error> {
        check_nonce(&self.nonce)?;
        if self.actions.is_empty() {
            return Err(Error::NoActions);
        }
        let action_windows: Vec<(u64, u64)> = self
            .actions
            .iter()
            .map(|s| (s.start_ms, s.end_ms))
            .collect();
        check_windows("action", &action_windows)?;
        for (i, pair) in self.actions.windows(2).enumerate() {
            if pair[0].action == pair[1].action {
                return Err(Error::RepeatedAction { index: i + 1 });
            }
        }
        let flash_windows: Vec<(u64, u64)> = self
            .flashes
            .iter()
            .map(|s| (s.start_ms, s.end_ms))
            .collect();
        check_windows("flash", &flash_windows)?;
        for (i, pair) in self.flashes.windows(2).enumerate() {
            if pair[0].rgb == pair[1].rgb {
                return Err(Error::RepeatedColour { index: i + 1 });
            }
        }
        if self.flashes.is_empty() && !self.fixed {
            return Err(Error::NoLightStep);
        }
        if self.flashes.len() == 1 {
            return Err(Error::FlashConfig(
                "a flash sequence needs at least two steps",
            ));
        }
        let fade = self.transition_ms.saturating_mul(2);
        if self.flashes.iter().any(|s| fade > s.end_ms - s.start_ms) {
            return Err(Error::FlashConfig(
                "transition_ms must leave at least half of each step steady",
            ));
        }
        if self.reduced_flash {
            light::check_safe_plan(self)?;
        }
        let first = action_windows
            .iter()
            .chain(&flash_windows)
            .map(|w| w.0)
            .min()
            .unwrap_or(0);
        let last = action_windows
            .iter()
            .chain(&flash_windows)
            .map(|w| w.1)
            .max()
            .unwrap_or(0);
        if first == 0 {
            return Err(Error::NoNeutralPhase);
        }
        if self.neutral_ms != first {
            return Err(Error::Timeline(
                "neutral_ms must equal the start of the first step",
            ));
        }
        if self.total_ms != last {
            return Err(Error::Timeline(
                "total_ms must equal the end of the last step",
            ));
        }
        Ok(())
    }

    /// Whether the plan has a light step (colour steps the flash check can verify). Every plan
    /// [`random`](Self::random) draws has one; outside test mode a server must refuse a plan
    /// without one at session creation.
    pub fn has_light(&self) -> bool {
        self.flashes.len() >= 2
    }

    /// The light profile of the plan's colour steps.
    pub fn light_profile(&self) -> LightProfile {
        if self.reduced_flash {
            LightProfile::PhotosensitiveSafe
        } else {
            LightProfile::Standard
        }
    }

    /// Checks what a server must check when it creates a session: the plan is valid, and it
    /// has a light step unless the server runs in test mode.
    ///
    /// ```
    /// use huoti_liveness::{ActionStep, Action, ChallengePlan, Error};
    /// let step = ActionStep { action: Action::Blink, start_ms: 1000, end_ms: 3000 };
    /// let plan = ChallengePlan::fixed("ab", vec![step], vec![])?;
    /// assert_eq!(plan.check_for_session(false), Err(Error::NoLightStep));
    /// assert_eq!(plan.check_for_session(true), Ok(()));
    /// # Ok::<(), Error>(())
    /// ```
    pub fn check_for_session(&self, test_mode: bool) -> Result<(), Error> {
        self.validate()?;
        if !test_mode && !self.has_light() {
            return Err(Error::NoLightStep);
        }
        Ok(())
    }

    /// The colour on screen at `t_ms`, if a flash step covers it (during a fade, the colour
    /// being faded to).
    pub fn flash_at(&self, t_ms: u64) -> Option<[u8; 3]> {
        self.flashes
            .iter()
            .find(|s| s.start_ms <= t_ms && t_ms < s.end_ms)
            .map(|s| s.rgb)
    }
}

fn check_nonce(nonce: &str) -> Result<(), Error> {
    if nonce.is_empty() || !nonce.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(Error::InvalidNonce);
    }
    Ok(())
}

fn check_windows(what: &'static str, windows: &[(u64, u64)]) -> Result<(), Error> {
    for (index, &(start_ms, end_ms)) in windows.iter().enumerate() {
        if end_ms <= start_ms {
            return Err(Error::EmptyWindow {
                what,
                index,
                start_ms,
                end_ms,
            });
        }
        if index > 0 && start_ms < windows[index - 1].1 {
            return Err(Error::Overlap { what, index });
        }
    }
    Ok(())
}

/// Uniform integer in `0..n` (`n > 0`), without modulo bias (rejection sampling).
pub(crate) fn uniform(rng: &mut impl RngCore, n: usize) -> usize {
    debug_assert!(n > 0);
    let n = n as u64;
    // Largest multiple of n that fits in u64: values at or above it would bias the result.
    let zone = u64::MAX - (u64::MAX % n);
    loop {
        let x = rng.next_u64();
        if x < zone {
            return (x % n) as usize;
        }
    }
}

/// Uniform integer in `lo..=hi` (`lo <= hi`).
fn uniform_in(rng: &mut impl RngCore, lo: usize, hi: usize) -> usize {
    lo + uniform(rng, hi - lo + 1)
}

#[cfg(test)]
#[path = "plan_tests.rs"]
mod tests;
