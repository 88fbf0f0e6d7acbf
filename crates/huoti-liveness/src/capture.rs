//! The capture profile (issue 15): how large, how sharp and how often the SDK should send
//! frames for one plan, so that a check costs mobile data and server CPU only where the
//! analysis uses the frames.
//!
//! Each part of the plan gets the frame rate its check needs: the blink window the most,
//! because a blink closes the eyes for 100–300 ms; the light step enough for a few frames in
//! every colour after the reflection lag; the head and mouth actions, which last about a second, fewer;
//! the neutral phase and the gaps least. The server states the profile in the challenge;
//! clients that do not know it send every frame as before, and are judged the same way.

use serde::{Deserialize, Serialize};

use crate::{Action, ChallengePlan, Thresholds};

/// What the server asks of a capture (`[capture]` in the server's configuration).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CaptureConfig {
    /// Width of a sent frame, px (the camera picture is scaled down to it, never up; the
    /// height keeps the aspect ratio). Default 256: FaceMesh and the passive models work on
    /// crops of 192 px and 80 px, and a face in a selfie is about half the picture's width.
    pub width: u32,
    /// JPEG quality, percent (default 70; measured in `docs/BENCHMARKS.md`).
    pub jpeg_quality: u8,
    /// Frames per second in the neutral phase and between steps (default 6: the integrity
    /// check wants at least 5 frames per second of plan, `Thresholds::min_fps`).
    pub idle_fps: u32,
    /// Frames per second during the light step (default 8: a 400 ms colour keeps two to three
    /// frames after the reflection lag).
    pub light_fps: u32,
    /// Frames per second in a turn, nod or mouth window (default 6: a head turn or an open
    /// mouth lasts about a second).
    pub action_fps: u32,
    /// Frames per second in a blink window (default 10: a blink closes the eyes for 100–300
    /// ms). The person's open-eye level, measured in the last second of rest, needs no more
    /// than the rest's own rate (`Thresholds::min_baseline_frames`, 3).
    pub blink_fps: u32,
}

impl Default for CaptureConfig {
    fn default() -> Self {
        CaptureConfig { width: 256, jpeg_quality: 70, idle_fps: 6, light_fps: 8, action_fps: 6, blink_fps: 10 }
    }
}

impl CaptureConfig {
    /// Every rate between the integrity check's 5 fps and 30 fps, a width of 64–1920 px, a quality of 1–100.
    pub fn validate(&self) -> Result<(), String> {
        if !(64..=1920).contains(&self.width) {
            return Err(format!("capture.width {} must be 64–1920", self.width));
        }
        if !(1..=100).contains(&self.jpeg_quality) {
            return Err(format!("capture.jpeg_quality {} must be 1–100", self.jpeg_quality));
        }
        for (name, fps) in [("idle_fps", self.idle_fps), ("light_fps", self.light_fps), ("action_fps", self.action_fps), ("blink_fps", self.blink_fps)] {
            if !(5..=30).contains(&fps) {
                return Err(format!("capture.{name} {fps} must be 5–30 (fewer than 5 frames a second fail the integrity check)"));
            }
        }
        Ok(())
    }
}

/// A part of the plan, `[start_ms, end_ms)`, and the frames per second it needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaptureSpan {
    /// Start, ms, inclusive.
    pub start_ms: u64,
    /// End, ms, exclusive.
    pub end_ms: u64,
    /// Frames per second inside the span.
    pub fps: u32,
}

/// The profile of one plan, in the challenge's JSON form (`challenge.capture`; clients read it
/// as `huoti_api::CaptureProfile`, which also says which camera frames to send).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaptureProfile {
    /// Frame width, px.
    pub width: u32,
    /// JPEG quality, percent.
    pub jpeg_quality: u8,
    /// Frames per second outside every span.
    pub idle_fps: u32,
    /// The faster parts, in time order, not overlapping.
    pub spans: Vec<CaptureSpan>,
}

impl CaptureProfile {
    /// The profile for `plan`: the blink spans (widened as the verdict widens windows, as the
    /// Iris schedule does) over the light step over the other actions, the fastest rate
    /// winning where parts overlap.
    pub fn for_plan(plan: &ChallengePlan, config: &CaptureConfig, th: &Thresholds) -> CaptureProfile {
        let mut parts: Vec<CaptureSpan> = Vec::new();
        let grace = th.window_grace_ms;
        for s in &plan.actions {
            let (from, to) = (s.start_ms.saturating_sub(grace), s.end_ms.saturating_add(grace));
            if s.action == Action::Blink {
                parts.push(CaptureSpan { start_ms: from, end_ms: to.saturating_add(th.blink_max_ms), fps: config.blink_fps });
            } else {
                parts.push(CaptureSpan { start_ms: from, end_ms: to, fps: config.action_fps });
            }
        }
        if let (Some(a), Some(b)) = (plan.flashes.first(), plan.flashes.last()) {
            // The reflection arrives `flash_lag_ms` after each colour; keep the rate for it.
            parts.push(CaptureSpan { start_ms: a.start_ms, end_ms: b.end_ms + th.flash_lag_ms, fps: config.light_fps });
        }
        CaptureProfile {
            width: config.width,
            jpeg_quality: config.jpeg_quality,
            idle_fps: config.idle_fps,
            spans: merge(parts, config.idle_fps, plan.total_ms + th.window_grace_ms + th.blink_max_ms),
        }
    }
}

/// Flattens possibly overlapping parts into ordered, disjoint spans (the fastest rate wins),
/// dropping what is no faster than `idle` and clipping at `end`.
fn merge(parts: Vec<CaptureSpan>, idle: u32, end: u64) -> Vec<CaptureSpan> {
    let mut cuts: Vec<u64> = parts.iter().flat_map(|p| [p.start_ms.min(end), p.end_ms.min(end)]).collect();
    cuts.sort_unstable();
    cuts.dedup();
    let mut out: Vec<CaptureSpan> = Vec::new();
    for w in cuts.windows(2) {
        let (a, b) = (w[0], w[1]);
        let fps = parts.iter().filter(|p| p.start_ms <= a && b <= p.end_ms).map(|p| p.fps).max().unwrap_or(idle);
        if fps <= idle {
            continue;
        }
        match out.last_mut() {
            Some(last) if last.end_ms == a && last.fps == fps => last.end_ms = b,
            _ => out.push(CaptureSpan { start_ms: a, end_ms: b, fps }),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::plan;

    /// The rate at `t` (clients use `huoti_api::CaptureProfile::fps_at`, the same rule).
    fn fps_at(p: &CaptureProfile, t: u64) -> u32 {
        p.spans.iter().find(|s| (s.start_ms..s.end_ms).contains(&t)).map_or(p.idle_fps, |s| s.fps)
    }

    #[test]
    fn each_part_of_a_plan_gets_the_rate_its_check_needs() {
        let th = Thresholds::default();
        // 1 s neutral, flashes 1000–3000, turn 3000–6000, blink 6000–9000.
        let p = plan(&[Action::TurnLeft, Action::Blink], true);
        let c = CaptureConfig::default();
        let profile = CaptureProfile::for_plan(&p, &c, &th);
        assert_eq!(fps_at(&profile, 0), c.idle_fps, "neutral phase");
        assert_eq!(fps_at(&profile, 1500), c.light_fps, "light step");
        assert_eq!(fps_at(&profile, 2500), c.light_fps, "the last second of rest keeps its part's rate: enough for the open-eye level");
        assert_eq!(fps_at(&profile, 4500), c.action_fps, "turn window");
        assert_eq!(fps_at(&profile, 7000), c.blink_fps, "blink window");
        assert_eq!(fps_at(&profile, 9000 + th.window_grace_ms + th.blink_max_ms - 1), c.blink_fps, "the eyes reopen after the window");
        assert_eq!(fps_at(&profile, 60_000), c.idle_fps, "after the plan");
        for w in profile.spans.windows(2) {
            assert!(w[0].end_ms <= w[1].start_ms, "ordered and disjoint: {:?}", profile.spans);
        }
    }

    #[test]
    fn a_plan_without_a_blink_has_no_blink_rate() {
        let th = Thresholds::default();
        let p = plan(&[Action::TurnLeft, Action::OpenMouth], true);
        let profile = CaptureProfile::for_plan(&p, &CaptureConfig::default(), &th);
        assert!(profile.spans.iter().all(|s| s.fps < CaptureConfig::default().blink_fps));
        // The rest before a blink step is no faster than any other rest.
        let q = plan(&[Action::Blink], false);
        let profile = CaptureProfile::for_plan(&q, &CaptureConfig::default(), &th);
        assert_eq!(fps_at(&profile, q.actions[0].start_ms - th.window_grace_ms - 1), CaptureConfig::default().idle_fps);
    }

    #[test]
    fn a_bad_configuration_names_its_field() {
        let c = CaptureConfig { blink_fps: 0, ..CaptureConfig::default() };
        assert!(c.validate().unwrap_err().contains("blink_fps"));
        assert!(CaptureConfig { width: 10, ..CaptureConfig::default() }.validate().unwrap_err().contains("width"));
        assert!(CaptureConfig::default().validate().is_ok());
    }
}
