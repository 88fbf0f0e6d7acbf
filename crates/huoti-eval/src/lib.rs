//! # huoti-eval: how well does huoti tell live faces from attacks?
//!
//! Thresholds must come from data, and integrators must measure huoti on their own cameras
//! and attacks before they trust it. This crate is the harness behind `huoti eval`:
//!
//! ```text
//! source (folder <root>/<label>/<files> or manifest TSV) ─dataset─▶ presentations + labels
//!   ─run (passive: anti-spoof score; session: whole liveness session)─▶ one score each, 0–1
//!   ─metrics (ISO/IEC 30107-3)─▶ APCER per species, APCER_max, BPCER, ACER + Wilson 95 % CIs
//!   ─report─▶ report.json, report.md, det.png, histograms.png
//! ```
//!
//! ## The terms (ISO/IEC 30107-3)
//!
//! - A **bona fide presentation** is a real, live person; an **attack presentation** is a
//!   presentation attack instrument (PAI) of some **species**: a printed photo (`print`), a
//!   screen replay (`replay`), a mask (`mask`), …
//! - **Decision rule**: a presentation is accepted as bona fide when its score is **at or
//!   above** the threshold (`score >= threshold`; ties are accepted).
//! - **APCER** (per species): attack presentations wrongly accepted as bona fide, over that
//!   species' attack presentations. **APCER_max**: the worst species.
//! - **BPCER**: bona fide presentations wrongly rejected, over all bona fide presentations.
//! - **ACER** = (APCER_max + BPCER) / 2 (deprecated by the 2023 edition; reported for
//!   comparison with the literature).
//! - Every rate carries its counts and a **Wilson 95 % score interval**: with few
//!   presentations the interval is wide, and the report says how little that proves. A species
//!   without presentations has no rate ("n/a"), never NaN.
//! - **Thresholds for a target**: `target BPCER` → the highest threshold whose BPCER is within
//!   the target (the most attacks rejected at that convenience cost); `target APCER` → the
//!   lowest threshold whose APCER_max is within the target (the fewest bona fide rejected at
//!   that security). Candidates are the distinct scores and one just above the highest score.
//!
//! ## The metric API
//!
//! ```
//! use huoti_eval::metrics::{ScoreSet, wilson, Z95};
//!
//! let mut set = ScoreSet::new();
//! for s in [0.95, 0.9, 0.8, 0.6, 0.3] { set.push_bona_fide(s); }
//! for s in [0.1, 0.2, 0.55, 0.65] { set.push_attack("print", s); }
//! for s in [0.05, 0.4] { set.push_attack("replay", s); }
//! set.declare_species("mask"); // named by the dataset, no presentations
//!
//! let p = set.evaluate(0.5);
//! assert_eq!((p.apcer["print"].errors, p.apcer["print"].total), (2, 4));   // 0.55, 0.65 got in
//! assert_eq!(p.apcer["replay"].rate, Some(0.0));
//! assert_eq!(p.apcer["mask"].rate, None);                                  // n/a, not NaN
//! assert_eq!(p.apcer_max.as_ref().unwrap().species, "print");
//! assert_eq!((p.bpcer.errors, p.bpcer.total), (1, 5));                     // 0.3 rejected
//! assert!((p.acer.unwrap() - 0.35).abs() < 1e-12);                         // (50 % + 20 %) / 2
//! let (lo, hi) = p.bpcer.ci95.unwrap();                                    // 1/5: 3.6 %–62.4 %
//! assert!((lo - 0.0362).abs() < 1e-3 && (hi - 0.6245).abs() < 1e-3);
//! assert_eq!(p.bpcer.describe(), "20 % (1/5, 95 % CI 3.6–62.4 %)");
//!
//! // Thresholds for targets.
//! assert_eq!(set.threshold_for_bpcer(0.2), Some(0.6));  // highest with BPCER ≤ 20 %
//! assert_eq!(set.threshold_for_apcer(0.0), Some(0.8));  // lowest with every attack rejected
//! assert_eq!(set.det_curve().len(), 12);                // 11 distinct scores + "accept nothing"
//! assert_eq!(wilson(0, 0, Z95), None);
//! ```
//!
//! ## Running an evaluation
//!
//! [`dataset::load`] reads a source, [`run::score`] scores one presentation with a loaded
//! [`huoti_vision::Analyzer`], [`report::build`] computes the figures and
//! [`report::write_all`] writes the files. [`evaluate`] does the middle two for a whole
//! dataset. Session mode runs clips through [`huoti_engine::SessionRun`], exactly as a live
//! session would be judged (minus the colour flashes a recording cannot follow).
//!
//! ## What the light check can see
//!
//! A recording cannot follow colour flashes, so [`reflection`] adds them: from a tracked bona
//! fide clip it renders the light a phone's or laptop's screen casts on the face for a plan's
//! colour sequence (amplitude from published screen and room figures, the camera's auto
//! exposure and white balance partly cancelling it), or the replay case (the colours as glare
//! on a screen in front of the camera), and sweeps amplitudes to report the flash check's
//! margin for both light profiles (`cargo run --release -p huoti-eval --example
//! reflection_margin`; the figures are in `docs/EVALUATION.md`).
//!
//! ## Face match (`huoti eval --match`)
//!
//! [`pairs::load_pairs`] reads pairs of images labelled same person / different people (a
//! TSV, or a `<person>/<images>` folder), [`matching::evaluate_pairs`] embeds each image once
//! with a [`huoti_vision::FaceMatcher`] and compares every pair, and
//! [`matching::write_all`] writes FMR and FNMR (ISO/IEC 19795-1) with Wilson intervals, the
//! DET curve and similarity histograms — the same metric code as above, with genuine pairs
//! in the bona fide role and impostor pairs as the one attack species.
//!
//! What it deliberately does not do: download datasets (OULU-NPU, CASIA-FASD, Replay-Attack
//! are licensed: lay them out as folders or write a manifest), or split train/dev/test for
//! you — thresholds chosen for a target on the same data they are reported on are optimistic,
//! and the report says so.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod dataset;
pub mod matching;
pub mod metrics;
pub mod pairs;
pub mod plots;
pub mod reflection;
pub mod report;
pub mod run;
mod tsv;

pub use huoti_liveness::CaptureConfig;

use std::path::PathBuf;

/// Anything that stops an evaluation as a whole (a single bad file does not: it is reported).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The dataset could not be read.
    #[error(transparent)]
    Dataset(#[from] dataset::DatasetError),
    /// A plot could not be drawn or written.
    #[error(transparent)]
    Plot(#[from] report::PlotError),
    /// An output file could not be written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

/// Scores every applicable presentation of `dataset` and builds the report; `progress` is
/// called before each presentation with its index, the count and the presentation.
pub fn evaluate(
    analyzer: &huoti_vision::Analyzer,
    dataset: &dataset::Dataset,
    options: &run::RunOptions,
    settings: report::Settings,
    mut progress: impl FnMut(usize, usize, &dataset::Presentation),
) -> report::Report {
    let (todo, skipped) = run::plan(dataset, options);
    let results: Vec<run::Scored> = todo
        .iter()
        .enumerate()
        .map(|(i, p)| {
            progress(i, todo.len(), p);
            run::score(analyzer, p, options)
        })
        .collect();
    report::build(settings, results, skipped, &dataset.species)
}
