//! The light step's two profiles and what they do to a photosensitive person. How it works,
//! for readers and users: [`crate::manual::light`] (`src/manual/light.md`).
//!
//! Definitions follow WCAG 2.2, success criterion 2.3.1 "Three Flashes or Below Threshold":
//! relative luminance, the general flash (a pair of opposing changes in relative luminance of
//! 0.1 or more where the darker state is below 0.8) and the red flash (a pair of opposing
//! transitions involving a saturated red: `R/(R+G+B) ≥ 0.8`, with the states more than 0.2
//! apart in CIE 1976 u′v′).

use serde::{Deserialize, Serialize};

use rand_core::RngCore;

use crate::{ChallengePlan, Error, FlashConfig, FlashStep};

/// A change of relative luminance at least this large is half of a WCAG general flash.
pub const GENERAL_FLASH_DELTA: f32 = 0.1;
/// …unless the darker of the two states is at least this bright.
pub const GENERAL_FLASH_DARKER_BELOW: f32 = 0.8;
/// A colour whose linear red share `R/(R+G+B)` reaches this is a saturated red.
pub const SATURATED_RED_SHARE: f32 = 0.8;
/// Two states further apart than this in CIE 1976 u′v′ make a red transition.
pub const RED_CHROMA_DELTA: f32 = 0.2;
/// The safe profile's palette keeps every pair of colours this close in relative luminance,
/// well under [`GENERAL_FLASH_DELTA`] so that a display's own gamma error cannot make a flash.
pub const SAFE_MAX_LUMINANCE_STEP: f32 = 0.075;
/// The safe profile's colours keep their linear red share below this, far from
/// [`SATURATED_RED_SHARE`].
pub const SAFE_MAX_RED_SHARE: f32 = 0.7;
/// The safe profile fades from one colour to the next over at least this long, ms.
pub const SAFE_MIN_TRANSITION_MS: u64 = 200;
/// Any profile changes colour at most this often in one second (WCAG: at most three flashes,
/// each two changes, in any one second).
pub const MAX_CHANGES_PER_SECOND: usize = 6;

/// The photosensitivity-safe palette: six colours of nearly equal relative luminance (0.23–0.31),
/// none a saturated red. Their *chroma* differs as much as that allows, which is all the flash
/// check measures (it cancels overall brightness).
pub const SAFE_PALETTE: [[u8; 3]; 6] = [
    [255, 0, 255],   // magenta
    [30, 130, 255],  // azure
    [40, 160, 40],   // green
    [170, 130, 0],   // amber
    [0, 150, 160],   // teal
    [190, 120, 230], // lilac
];

/// Which light profile a plan uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LightProfile {
    /// Saturated colours, hard cuts every 400 ms: the strongest reflection.
    Standard,
    /// For people sensitive to flashing light: colours of equal luminance, no saturated red,
    /// smooth fades, a colour change at most every 800 ms. Below WCAG's flash thresholds.
    PhotosensitiveSafe,
}

impl LightProfile {
    /// The stable snake_case name (`"standard"`, `"photosensitive_safe"`).
    pub fn as_str(self) -> &'static str {
        match self {
            LightProfile::Standard => "standard",
            LightProfile::PhotosensitiveSafe => "photosensitive_safe",
        }
    }
}

/// sRGB 0–255 to linear light 0–1 (what a screen emits for that code).
pub(crate) fn linear(v: u8) -> f32 {
    let x = v as f32 / 255.0;
    // WCAG 2.x writes 0.03928; sRGB's 0.04045 differs only between two 8-bit codes that both
    // fall in the linear segment.
    if x <= 0.04045 {
        x / 12.92
    } else {
        ((x + 0.055) / 1.055).powf(2.4)
    }
}

/// WCAG relative luminance of an sRGB colour: 0 for black, 1 for white.
///
/// ```
/// use huoti_liveness::light::relative_luminance;
/// assert_eq!(relative_luminance([0, 0, 0]), 0.0);
/// assert!((relative_luminance([255, 255, 255]) - 1.0).abs() < 1e-6);
/// assert!((relative_luminance([255, 0, 0]) - 0.2126).abs() < 1e-6);
/// ```
pub fn relative_luminance(rgb: [u8; 3]) -> f32 {
    let [r, g, b] = rgb.map(linear);
    0.2126 * r + 0.7152 * g + 0.0722 * b
}

/// Whether a colour is a saturated red in WCAG 2.2's working definition: its linear red share
/// `R/(R+G+B)` is at least 0.8.
pub fn is_saturated_red(rgb: [u8; 3]) -> bool {
    red_share(rgb) >= SATURATED_RED_SHARE
}

fn red_share(rgb: [u8; 3]) -> f32 {
    let [r, g, b] = rgb.map(linear);
    if r + g + b <= 0.0 {
        0.0
    } else {
        r / (r + g + b)
    }
}

/// CIE 1976 u′v′ chromaticity of an sRGB colour (D65); black maps to the white point.
fn uv(rgb: [u8; 3]) -> [f32; 2] {
    let [r, g, b] = rgb.map(linear);
    let x = 0.4124 * r + 0.3576 * g + 0.1805 * b;
    let y = 0.2126 * r + 0.7152 * g + 0.0722 * b;
    let z = 0.0193 * r + 0.1192 * g + 0.9505 * b;
    let d = x + 15.0 * y + 3.0 * z;
    if d <= 0.0 {
        return [0.1978, 0.4683];
    }
    [4.0 * x / d, 9.0 * y / d]
}

/// Whether changing from `a` to `b` is half of a WCAG general flash.
pub fn is_general_flash_change(a: [u8; 3], b: [u8; 3]) -> bool {
    let (la, lb) = (relative_luminance(a), relative_luminance(b));
    (la - lb).abs() >= GENERAL_FLASH_DELTA && la.min(lb) < GENERAL_FLASH_DARKER_BELOW
}

/// Whether changing from `a` to `b` is half of a WCAG red flash.
pub fn is_red_flash_change(a: [u8; 3], b: [u8; 3]) -> bool {
    let ([ua, va], [ub, vb]) = (uv(a), uv(b));
    (is_saturated_red(a) || is_saturated_red(b)) && (ua - ub).hypot(va - vb) > RED_CHROMA_DELTA
}

/// What a plan's light step shows a person, measured against WCAG 2.3.1.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct LightAssessment {
    /// Most colour changes of any size in any one-second window.
    pub max_changes_per_second: usize,
    /// Most WCAG general flashes (two qualifying changes each) in any one-second window.
    pub max_general_flashes_per_second: usize,
    /// Most WCAG red flashes in any one-second window.
    pub max_red_flashes_per_second: usize,
    /// Largest change of relative luminance between consecutive states.
    pub max_luminance_change: f32,
    /// Some state is a saturated red.
    pub saturated_red: bool,
    /// Fade between colours, ms (0: hard cuts).
    pub transition_ms: u64,
}

impl LightAssessment {
    /// WCAG 2.3.1 is met: no more than three general and three red flashes in any second.
    pub fn meets_three_flashes(&self) -> bool {
        self.max_general_flashes_per_second <= 3 && self.max_red_flashes_per_second <= 3
    }

    /// Nothing in the sequence is a flash at all under WCAG's definitions.
    pub fn below_flash_thresholds(&self) -> bool {
        self.max_general_flashes_per_second == 0 && self.max_red_flashes_per_second == 0
    }
}

/// Assesses the colour sequence a plan shows. With `surround`, the screen shows that colour
/// before the first step, in any gap between steps and after the last one (the SDK's normal
/// screen); without it, only the changes between the plan's own colours count.
///
/// A change is counted at the start of the step it leads into (a fade only makes it gentler);
/// flashes in a window are its qualifying changes halved, rounded down.
pub fn assess_light(plan: &ChallengePlan, surround: Option<[u8; 3]>) -> LightAssessment {
    // The states shown, in order, with their start times: the surround fills the time before
    // the first step, any gap between steps, and the time after the last.
    let mut states: Vec<(u64, [u8; 3])> = Vec::new();
    let mut shown_until = 0;
    for step in &plan.flashes {
        if let Some(s) = surround.filter(|_| states.is_empty() || shown_until < step.start_ms) {
            states.push((shown_until, s));
        }
        states.push((step.start_ms, step.rgb));
        shown_until = step.end_ms;
    }
    if let Some(s) = surround.filter(|_| !plan.flashes.is_empty()) {
        states.push((shown_until, s));
    }
    let changes: Vec<(u64, [u8; 3], [u8; 3])> = states
        .windows(2)
        .filter(|w| w[0].1 != w[1].1)
        .map(|w| (w[1].0, w[0].1, w[1].1))
        .collect();
    let in_any_second = |qualifies: &dyn Fn(&[u8; 3], &[u8; 3]) -> bool| -> usize {
        changes
            .iter()
            .map(|&(t0, _, _)| {
                changes
                    .iter()
                    .filter(|(t, a, b)| *t >= t0 && *t < t0 + 1000 && qualifies(a, b))
                    .count()
            })
            .max()
            .unwrap_or(0)
    };
    LightAssessment {
        max_changes_per_second: in_any_second(&|_, _| true),
        max_general_flashes_per_second: in_any_second(&|a, b| is_general_flash_change(*a, *b)) / 2,
        max_red_flashes_per_second: in_any_second(&|a, b| is_red_flash_change(*a, *b)) / 2,
        max_luminance_change: changes
            .iter()
            .map(|(_, a, b)| (relative_luminance(*a) - relative_luminance(*b)).abs())
            .fold(0.0, f32::max),
        saturated_red: states.iter().any(|&(_, c)| is_saturated_red(c)),
        transition_ms: plan.transition_ms,
    }
}

/// Checks that a flash configuration can only draw sequences within WCAG 2.3.1's three
/// flashes per second (any profile).
pub(crate) fn check_rate(f: &FlashConfig) -> Result<(), Error> {
    if f.step_ms.saturating_mul(MAX_CHANGES_PER_SECOND as u64) < 1000 {
        return Err(Error::UnsafeLight(
            "step_ms below 167 allows more than three flashes in a second",
        ));
    }
    if f.transition_ms.saturating_mul(2) > f.step_ms {
        return Err(Error::FlashConfig(
            "transition_ms must leave at least half of each step steady",
        ));
    }
    Ok(())
}

/// Checks that a configuration meant for the photosensitivity-safe profile is: every pair of
/// palette colours below the general-flash change (with margin), no saturated red, smooth
/// fades, at most one change in any ~0.8 s.
pub(crate) fn check_safe_config(f: &FlashConfig) -> Result<(), Error> {
    check_rate(f)?;
    if f.colours
        .iter()
        .any(|&c| red_share(c) >= SAFE_MAX_RED_SHARE)
    {
        return Err(Error::UnsafeLight(
            "a palette colour is (nearly) a saturated red",
        ));
    }
    for (i, &a) in f.colours.iter().enumerate() {
        for &b in &f.colours[i + 1..] {
            if (relative_luminance(a) - relative_luminance(b)).abs() > SAFE_MAX_LUMINANCE_STEP {
                return Err(Error::UnsafeLight(
                    "two palette colours differ too much in luminance",
                ));
            }
        }
    }
    if f.transition_ms < SAFE_MIN_TRANSITION_MS {
        return Err(Error::UnsafeLight(
            "the safe profile fades over at least 200 ms",
        ));
    }
    if f.step_ms < 700 {
        return Err(Error::UnsafeLight(
            "the safe profile changes colour at most every 700 ms",
        ));
    }
    Ok(())
}

/// Checks a plan that says it uses the safe profile: its own colours make no flash and no red
/// flash, it fades, and it changes colour at most twice in any second.
pub(crate) fn check_safe_plan(plan: &ChallengePlan) -> Result<(), Error> {
    let a = assess_light(plan, None);
    if !a.below_flash_thresholds() || a.saturated_red {
        return Err(Error::UnsafeLight(
            "a reduced-flash plan's colours make a flash",
        ));
    }
    if a.max_luminance_change > SAFE_MAX_LUMINANCE_STEP {
        return Err(Error::UnsafeLight(
            "a reduced-flash plan changes luminance too much",
        ));
    }
    if a.transition_ms < SAFE_MIN_TRANSITION_MS {
        return Err(Error::UnsafeLight(
            "a reduced-flash plan fades over at least 200 ms",
        ));
    }
    if a.max_changes_per_second > 2 {
        return Err(Error::UnsafeLight(
            "a reduced-flash plan changes colour more than twice in a second",
        ));
    }
    Ok(())
}

impl ChallengePlan {
    /// The same plan with its light steps redrawn in the photosensitivity-safe profile `safe`
    /// (normally [`FlashConfig::photosensitive_safe`]): for a fixed (test-mode) plan whose
    /// person asked for reduced flashing. The server decides the profile, so a fixed plan's
    /// hard-cut colours are never shown to that person; its actions stay as they are. The new
    /// steps start where the given ones did, one per given step (at least two), each
    /// `safe.step_ms` long and fading in over `safe.transition_ms`. A given colour that is in
    /// `safe.colours` is kept (a test can fix the whole plan); any other is replaced by a random
    /// one of `safe.colours`, none repeated back to back. A plan without light steps stays
    /// without (only a fixed plan may, and only in test mode).
    ///
    /// ```
    /// use huoti_liveness::{Action, ActionStep, ChallengePlan, FlashConfig, FlashStep, LightProfile};
    /// use rand_core::SeedableRng;
    /// let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(1);
    /// let act = ActionStep { action: Action::Blink, start_ms: 4000, end_ms: 7000 };
    /// let hard = |i: u64, rgb| FlashStep { rgb, start_ms: 1000 + 400 * i, end_ms: 1400 + 400 * i };
    /// let plan = ChallengePlan::fixed("ab", vec![act], vec![hard(0, [255, 0, 0]), hard(1, [0, 0, 255])])?;
    /// let safe = plan.clone().with_safe_light(&FlashConfig::photosensitive_safe(), &mut rng)?;
    /// assert_eq!(safe.light_profile(), LightProfile::PhotosensitiveSafe);
    /// assert_eq!((safe.flashes.len(), safe.flashes[0].start_ms, safe.transition_ms), (2, 1000, 300));
    /// assert_eq!(safe.actions, plan.actions);
    /// # Ok::<(), huoti_liveness::Error>(())
    /// ```
    pub fn with_safe_light(mut self, safe: &FlashConfig, rng: &mut impl RngCore) -> Result<ChallengePlan, Error> {
        safe.validate(LightProfile::PhotosensitiveSafe)?;
        let Some(first) = self.flashes.first() else {
            return Ok(self);
        };
        let (count, mut t) = (self.flashes.len().max(2), first.start_ms);
        let mut flashes: Vec<FlashStep> = Vec::with_capacity(count);
        for i in 0..count {
            let prev = flashes.last().map(|s| s.rgb);
            // A colour the safe palette already has is kept, so a test can fix the whole plan.
            let given = self.flashes.get(i).map(|s| s.rgb).filter(|c| safe.colours.contains(c) && Some(*c) != prev);
            let candidates: Vec<[u8; 3]> = safe.colours.iter().copied().filter(|c| Some(*c) != prev).collect();
            let rgb = given.unwrap_or_else(|| candidates[crate::plan::uniform(rng, candidates.len())]);
            flashes.push(FlashStep { rgb, start_ms: t, end_ms: t + safe.step_ms });
            t += safe.step_ms;
        }
        self.flashes = flashes;
        self.reduced_flash = true;
        self.transition_ms = safe.transition_ms;
        let windows: Vec<(u64, u64)> = self
            .actions
            .iter()
            .map(|s| (s.start_ms, s.end_ms))
            .chain(self.flashes.iter().map(|s| (s.start_ms, s.end_ms)))
            .collect();
        self.neutral_ms = windows.iter().map(|w| w.0).min().unwrap_or(0);
        self.total_ms = windows.iter().map(|w| w.1).max().unwrap_or(0);
        self.validate()?;
        Ok(self)
    }
}

#[cfg(test)]
#[path = "light_tests.rs"]
mod tests;
