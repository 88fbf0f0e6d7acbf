//! The manual: how each part of the analysis works, and why.
//!
//! These pages hold no code. Read them in order to follow a session from challenge to verdict:
//!
//! 1. [`plan`]: drawing a challenge (timeline, randomness, the fixed-challenge mode).
//! 2. [`observations`]: what the vision engine measures on each frame, and the conventions.
//! 3. [`challenge`]: detecting each action against the person's own baseline, in its window.
//! 4. [`flash`]: the face's colour response to the flashes (method after Tang et al., 2018),
//!    and [`light`]: the two light profiles, one safe for photosensitive people.
//! 5. [`integrity`]: sequence, timing, nonce, static presentation, replay.
//! 6. [`faces`]: one face, the same face throughout.
//! 7. [`passive`]: the passive anti-spoof scores, and choosing the frames to score.
//! 8. [`decision`]: fusing everything into a decision, a score and reasons.
//!
//! Every threshold named in these pages is a field of [`Thresholds`](crate::Thresholds), where
//! its default is documented; every reason code is listed on [`ReasonCode`](crate::ReasonCode).

pub mod plan {
    #![doc = include_str!("manual/plan.md")]
}
pub mod observations {
    #![doc = include_str!("manual/observations.md")]
}
pub mod challenge {
    #![doc = include_str!("manual/challenge.md")]
}
pub mod flash {
    #![doc = include_str!("manual/flash.md")]
}
pub mod light {
    #![doc = include_str!("manual/light.md")]
}
pub mod integrity {
    #![doc = include_str!("manual/integrity.md")]
}
pub mod faces {
    #![doc = include_str!("manual/faces.md")]
}
pub mod passive {
    #![doc = include_str!("manual/passive.md")]
}
pub mod decision {
    #![doc = include_str!("manual/decision.md")]
}
