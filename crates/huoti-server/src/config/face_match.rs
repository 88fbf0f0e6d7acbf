//! `[face_match]`: face match (本人核验) against a person's reference.

use serde::{Deserialize, Serialize};

/// Face-match settings.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FaceMatchConfig {
    /// Cosine similarity at or above which a live face matches the reference (default 0.363,
    /// SFace upstream's; measure your own with `huoti eval --match`).
    pub threshold: f32,
    /// A reference is shredded this many days after it was made, whatever else happens
    /// (retention; default 730). The person enrols again.
    pub reference_max_days: u64,
}

impl Default for FaceMatchConfig {
    fn default() -> Self {
        FaceMatchConfig { threshold: huoti_vision::DEFAULT_MATCH_THRESHOLD, reference_max_days: 730 }
    }
}

impl FaceMatchConfig {
    /// A threshold outside −1…1 or a reference kept zero days would make face match useless.
    pub fn check(&self) -> Result<(), String> {
        if !(-1.0..=1.0).contains(&self.threshold) {
            return Err("face_match.threshold must be between -1 and 1 (a cosine similarity)".into());
        }
        if self.reference_max_days == 0 {
            return Err("face_match.reference_max_days must be > 0".into());
        }
        Ok(())
    }
}
