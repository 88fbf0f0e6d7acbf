//! The one error type of this crate.
//!
//! Errors only come from *building* things (a challenge plan from a configuration, or a fixed
//! plan from explicit steps). Analysis never fails: whatever the frames look like, it answers
//! with a [`Verdict`](crate::Verdict) whose reasons say what was wrong.

/// Why a [`ChallengePlan`](crate::ChallengePlan) could not be built or failed validation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The nonce is empty or not hexadecimal. The nonce binds every frame to one session, so a
    /// plan without a proper one would defeat the injection checks.
    #[error("the nonce must be a non-empty hexadecimal string")]
    InvalidNonce,

    /// The configuration allows no action, or a fixed plan lists none.
    #[error("the challenge needs at least one action")]
    NoActions,

    /// The same action is listed twice in the allowed set.
    #[error("action `{0}` is listed more than once in the allowed set")]
    DuplicateAction(&'static str),

    /// `min_actions..=max_actions` is empty, starts at zero, or asks for more distinct actions
    /// than the allowed set holds.
    #[error(
        "cannot pick between {min} and {max} distinct actions from {available} allowed actions"
    )]
    ActionCount {
        /// `min_actions` of the configuration.
        min: usize,
        /// `max_actions` of the configuration.
        max: usize,
        /// Number of distinct allowed actions.
        available: usize,
    },

    /// The flash configuration cannot produce a checkable sequence.
    #[error("invalid flash configuration: {0}")]
    FlashConfig(&'static str),

    /// A duration of the configuration is zero.
    #[error("`{0}` must be greater than zero")]
    ZeroDuration(&'static str),

    /// A step's window is empty (`end_ms <= start_ms`).
    #[error("{what} step {index} has an empty window ({start_ms}..{end_ms} ms)")]
    EmptyWindow {
        /// `"action"` or `"flash"`.
        what: &'static str,
        /// Index of the step in its list.
        index: usize,
        /// Start of the window, ms.
        start_ms: u64,
        /// End of the window, ms.
        end_ms: u64,
    },

    /// A step starts before the previous step of the same list ends.
    #[error("{what} step {index} starts before step {prev} ends", prev = index - 1)]
    Overlap {
        /// `"action"` or `"flash"`.
        what: &'static str,
        /// Index of the offending step (always ≥ 1).
        index: usize,
    },

    /// Two consecutive action steps ask for the same action, which makes their order
    /// unverifiable.
    #[error("action steps {} and {index} ask for the same action", index - 1)]
    RepeatedAction {
        /// Index of the second of the two steps.
        index: usize,
    },

    /// Two consecutive flash steps show the same colour, which carries no signal: the check
    /// works on the *differences* between consecutive colours.
    #[error("flash steps {} and {index} show the same colour", index - 1)]
    RepeatedColour {
        /// Index of the second of the two steps.
        index: usize,
    },

    /// The first step starts at 0 ms, leaving no neutral phase to measure the person's
    /// baseline (every action is judged relative to it).
    #[error("the plan has no neutral phase: the first step must start after 0 ms")]
    NoNeutralPhase,

    /// A plan that is not a fixed (test-mode) plan has no light step. The light check is what
    /// stops a screen replay that follows the actions, so it is never off in production.
    #[error("the plan has no light step; only a fixed plan in test mode may leave it out")]
    NoLightStep,

    /// The light step would not be safe for a photosensitive person (WCAG 2.3.1), or the safe
    /// profile is configured outside its limits.
    #[error("unsafe light profile: {0}")]
    UnsafeLight(&'static str),

    /// `neutral_ms` or `total_ms` disagree with the steps.
    #[error("the plan's timeline is inconsistent: {0}")]
    Timeline(&'static str),
}
