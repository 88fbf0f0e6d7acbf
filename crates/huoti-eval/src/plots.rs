//! PNG plots with `plotters` (bitmap backend into a buffer, encoded with `image`).
//!
//! **Fonts.** plotters draws text through `ab_glyph` from a TrueType font registered at run
//! time: the file named by `$HUOTI_FONT`, else DejaVu Sans from the usual system places
//! (Debian/Ubuntu: package `fonts-dejavu-core`, `/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf`).
//! Without a font the plots are still drawn, **without any text** (no titles, tick labels or
//! legend), and [`font_status`] says why, so the report can say so: a missing font never
//! fails an evaluation.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::metrics::ScoreSet;
use crate::report::{NamedPoint, PlotError};

/// Where DejaVu Sans usually is.
pub const FONT_CANDIDATES: &[&str] = &[
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu-sans-fonts/DejaVuSans.ttf",
    "/usr/local/share/fonts/DejaVuSans.ttf",
    "/Library/Fonts/DejaVuSans.ttf",
];

/// `Ok(path)` of the font registered for plot text, or `Err(why)` when plots have no text.
pub fn font_status() -> Result<PathBuf, String> {
    static FONT: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    FONT.get_or_init(register).clone()
}

fn register() -> Result<PathBuf, String> {
    let env = std::env::var_os("HUOTI_FONT").map(PathBuf::from);
    let candidates: Vec<PathBuf> = match &env {
        Some(p) => vec![p.clone()],
        None => FONT_CANDIDATES.iter().map(PathBuf::from).collect(),
    };
    for path in &candidates {
        let Ok(bytes) = std::fs::read(path) else { continue };
        // plotters keeps fonts for the life of the process.
        let bytes: &'static [u8] = Box::leak(bytes.into_boxed_slice());
        if plotters::style::register_font("sans-serif", FontStyle::Normal, bytes).is_ok() {
            return Ok(path.clone());
        }
    }
    Err(match env {
        Some(p) => format!("HUOTI_FONT={} is not a readable TrueType font: plots drawn without text", p.display()),
        None => "no TrueType font found (install fonts-dejavu-core, or set HUOTI_FONT=/path/to/font.ttf): plots drawn without text".into(),
    })
}

type DrawResult = Result<(), Box<dyn std::error::Error>>;

fn render(
    path: &Path,
    (w, h): (u32, u32),
    text: bool,
    draw: impl FnOnce(&DrawingArea<BitMapBackend<'_>, Shift>, bool) -> DrawResult,
) -> Result<(), PlotError> {
    let mut buf = vec![255u8; (w * h * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut buf, (w, h)).into_drawing_area();
        let drawn = root
            .fill(&WHITE)
            .map_err(|e| e.into())
            .and_then(|()| draw(&root, text))
            .and_then(|()| root.present().map_err(|e| e.into()));
        drawn.map_err(|e| PlotError::Draw { path: path.to_path_buf(), message: e.to_string() })?;
    }
    let img = image::RgbImage::from_raw(w, h, buf).expect("buffer sized for the image");
    img.save_with_format(path, image::ImageFormat::Png)
        .map_err(|e| PlotError::Write { path: path.to_path_buf(), message: e.to_string() })
}

const SPECIES_COLOURS: [RGBColor; 6] =
    [RGBColor(214, 39, 40), RGBColor(255, 127, 14), RGBColor(148, 103, 189), RGBColor(140, 86, 75), RGBColor(227, 119, 194), RGBColor(127, 127, 127)];
const BONA_FIDE_COLOUR: RGBColor = RGBColor(31, 119, 180);
const POINT_COLOURS: [RGBColor; 3] = [RGBColor(0, 0, 0), RGBColor(31, 119, 180), RGBColor(44, 160, 44)];

/// The words of a DET plot: presentation-attack detection (APCER/BPCER) or face match
/// (FMR/FNMR), which share the curve (a [`ScoreSet`]: bona fide ↔ same person, one attack
/// species ↔ different people).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DetText {
    /// The x axis (the bona fide / genuine error).
    pub x_desc: &'static str,
    /// The y axis (the attack / impostor error).
    pub y_desc: &'static str,
    /// Prefix of each species' curve label; `None` draws the worst curve only.
    pub per_species: Option<&'static str>,
    /// Label of the worst curve.
    pub worst: &'static str,
}

/// ISO/IEC 30107-3 words.
pub const PAD_DET: DetText = DetText {
    x_desc: "BPCER (%): bona fide rejected",
    y_desc: "APCER (%): attacks accepted",
    per_species: Some("APCER"),
    worst: "APCER_max (worst species)",
};

/// Face-match words (ISO/IEC 19795-1).
pub const MATCH_DET: DetText = DetText {
    x_desc: "FNMR (%): same person rejected",
    y_desc: "FMR (%): different people accepted",
    per_species: None,
    worst: "FMR against FNMR",
};

/// The DET curve (APCER against BPCER, linear axes, 0–100 %): the worst species in black,
/// each species in colour, and the named operating points as circles.
pub fn det_png(set: &ScoreSet, points: &[NamedPoint], path: &Path) -> Result<(), PlotError> {
    det_png_with(set, points, path, &PAD_DET, font_status().is_ok())
}

/// [`det_png`] with other words (e.g. [`MATCH_DET`]).
pub fn det_png_labelled(set: &ScoreSet, points: &[NamedPoint], path: &Path, words: &DetText) -> Result<(), PlotError> {
    det_png_with(set, points, path, words, font_status().is_ok())
}

fn det_png_with(set: &ScoreSet, points: &[NamedPoint], path: &Path, words: &DetText, text: bool) -> Result<(), PlotError> {
    let det = set.det_curve();
    let species: Vec<String> = match words.per_species {
        Some(_) => set.attack_counts().into_iter().filter(|(_, n)| *n > 0).map(|(k, _)| k).collect(),
        None => Vec::new(),
    };
    render(path, (720, 640), text, |root, text| {
        let mut builder = ChartBuilder::on(root);
        builder.margin(20).margin_right(32);
        if text {
            builder
                .caption("DET curve (linear axes) — lower left is better", ("sans-serif", 22))
                .x_label_area_size(45)
                .y_label_area_size(55);
        }
        let mut chart = builder.build_cartesian_2d(0f64..100f64, 0f64..100f64)?;
        if text {
            chart
                .configure_mesh()
                .light_line_style(TRANSPARENT)
                .x_desc(words.x_desc)
                .y_desc(words.y_desc)
                .label_style(("sans-serif", 15))
                .axis_desc_style(("sans-serif", 17))
                .draw()?;
        } else {
            // plotters' mesh always draws labels (and panics when asked for none): draw the
            // grid by hand.
            let grid = RGBColor(220, 220, 220);
            for v in (0..=10).map(|i| f64::from(i) * 10.0) {
                chart.draw_series(LineSeries::new(vec![(v, 0.0), (v, 100.0)], grid))?;
                chart.draw_series(LineSeries::new(vec![(0.0, v), (100.0, v)], grid))?;
            }
            chart.draw_series(LineSeries::new(vec![(0.0, 100.0), (0.0, 0.0), (100.0, 0.0)], BLACK))?;
        }
        let curve = |f: &dyn Fn(&crate::metrics::DetPoint) -> Option<f64>| -> Vec<(f64, f64)> {
            det.iter().filter_map(|d| Some((d.bpcer? * 100.0, f(d)? * 100.0))).collect()
        };
        for (i, sp) in species.iter().enumerate() {
            let colour = SPECIES_COLOURS[i % SPECIES_COLOURS.len()];
            let pts = curve(&|d| d.apcer.get(sp).copied());
            let series = chart.draw_series(LineSeries::new(pts.clone(), colour.stroke_width(2)))?;
            if text {
                series.label(format!("{} {sp}", words.per_species.unwrap_or_default())).legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], colour.stroke_width(2)));
            }
            chart.draw_series(pts.iter().map(|&p| Circle::new(p, 3, colour.filled())))?;
        }
        let worst = curve(&|d| d.apcer_max);
        let series = chart.draw_series(LineSeries::new(worst.clone(), BLACK.stroke_width(3)))?;
        if text {
            series.label(words.worst).legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BLACK.stroke_width(3)));
        }
        for (i, p) in points.iter().enumerate() {
            let Some(pt) = &p.point else { continue };
            let (Some(b), Some(a)) = (pt.bpcer.rate, pt.apcer_max.as_ref().and_then(|w| w.rate.rate)) else { continue };
            let colour = POINT_COLOURS[i % POINT_COLOURS.len()];
            let series = chart.draw_series(std::iter::once(Circle::new((b * 100.0, a * 100.0), 9, colour.stroke_width(3))))?;
            if text {
                let label = format!("{} (τ = {:.3})", p.name.replace('_', " "), pt.threshold);
                series.label(label).legend(move |(x, y)| Circle::new((x + 10, y), 6, colour.stroke_width(3)));
            }
        }
        if text {
            chart
                .configure_series_labels()
                .position(SeriesLabelPosition::UpperRight)
                .background_style(WHITE.mix(0.85))
                .border_style(BLACK)
                .label_font(("sans-serif", 15))
                .draw()?;
        }
        Ok(())
    })
}

/// The words and range of score histograms.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HistogramText {
    /// Name of the bona fide (genuine) panel.
    pub bona_fide: &'static str,
    /// What the scores are.
    pub score: &'static str,
    /// The x range (scores outside it land in the end bins).
    pub range: (f64, f64),
}

/// Presentation-attack scores, 0–1.
pub const PAD_HISTOGRAMS: HistogramText = HistogramText { bona_fide: "bonafide", score: "score", range: (0.0, 1.0) };

/// Face-match cosine similarities: different people sit around 0, so the range starts below.
pub const MATCH_HISTOGRAMS: HistogramText =
    HistogramText { bona_fide: "same person", score: "cosine similarity", range: (-0.5, 1.0) };

/// Score histograms, one panel per label (bona fide first), 20 bins over 0–1, with the
/// threshold as a vertical line.
pub fn histograms_png(set: &ScoreSet, threshold: f64, path: &Path) -> Result<(), PlotError> {
    histograms_png_with(set, threshold, path, &PAD_HISTOGRAMS, font_status().is_ok())
}

/// [`histograms_png`] with other words and range (e.g. [`MATCH_HISTOGRAMS`]).
pub fn histograms_png_labelled(set: &ScoreSet, threshold: f64, path: &Path, words: &HistogramText) -> Result<(), PlotError> {
    histograms_png_with(set, threshold, path, words, font_status().is_ok())
}

fn histograms_png_with(set: &ScoreSet, threshold: f64, path: &Path, words: &HistogramText, text: bool) -> Result<(), PlotError> {
    let (lo, hi) = words.range;
    let mut panels: Vec<(String, Vec<f64>, RGBColor)> = vec![(words.bona_fide.into(), set.bona_fide_scores(), BONA_FIDE_COLOUR)];
    for (i, (sp, scores)) in set.attack_scores().into_iter().enumerate() {
        panels.push((sp, scores, SPECIES_COLOURS[i % SPECIES_COLOURS.len()]));
    }
    let rows = panels.len() as u32;
    render(path, (720, 40 + 200 * rows), text, |root, text| {
        let root = if text {
            root.titled("Score histograms per label (20 bins; dashed: threshold)", ("sans-serif", 22))?
        } else {
            root.margin(20, 0, 0, 0)
        };
        let areas = root.split_evenly((panels.len(), 1));
        for ((name, scores, colour), area) in panels.iter().zip(areas.iter()) {
            const BINS: usize = 20;
            let mut counts = [0u32; BINS];
            for &s in scores.iter().filter(|s| s.is_finite()) {
                counts[(((s.clamp(lo, hi) - lo) / (hi - lo) * BINS as f64) as usize).min(BINS - 1)] += 1;
            }
            let top = counts.iter().copied().max().unwrap_or(0).max(1);
            let mut builder = ChartBuilder::on(area);
            builder.margin(8).margin_right(20);
            if text {
                builder
                    .caption(format!("{name} (n = {})", scores.len()), ("sans-serif", 17))
                    .x_label_area_size(30)
                    .y_label_area_size(45);
            }
            let mut chart = builder.build_cartesian_2d(lo..hi, 0u32..top + 1)?;
            if text {
                chart
                    .configure_mesh()
                    .disable_x_mesh()
                    .x_desc(words.score)
                    .label_style(("sans-serif", 13))
                    .y_labels((top + 2).min(6) as usize)
                    .draw()?;
            } else {
                chart.draw_series(LineSeries::new(vec![(lo, top + 1), (lo, 0), (hi, 0)], BLACK))?;
            }
            let bin = (hi - lo) / BINS as f64;
            chart.draw_series(counts.iter().enumerate().filter(|(_, c)| **c > 0).map(|(i, &c)| {
                let x0 = lo + i as f64 * bin;
                Rectangle::new([(x0 + 0.003 * (hi - lo), 0), (x0 + bin - 0.003 * (hi - lo), c)], colour.filled())
            }))?;
            let t = threshold.clamp(lo, hi);
            chart.draw_series(DashedLineSeries::new(vec![(t, 0), (t, top + 1)], 6, 4, BLACK.stroke_width(2)))?;
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plots_are_pngs_with_and_without_text() {
        let mut set = ScoreSet::new();
        for s in [0.9, 0.8, 0.75, 0.3] {
            set.push_bona_fide(s);
        }
        for s in [0.1, 0.6] {
            set.push_attack("print", s);
        }
        set.declare_species("mask");
        let dir = tempfile::tempdir().unwrap();
        let p = vec![NamedPoint { name: "configured".into(), target: None, point: Some(set.evaluate(0.5)), note: String::new() }];
        det_png(&set, &p, &dir.path().join("det.png")).unwrap();
        histograms_png(&set, 0.5, &dir.path().join("h.png")).unwrap();
        // Without text (as when no font exists), drawing still works.
        det_png_with(&set, &p, &dir.path().join("det-plain.png"), &PAD_DET, false).unwrap();
        histograms_png_with(&set, 0.5, &dir.path().join("h-plain.png"), &PAD_HISTOGRAMS, false).unwrap();
        // Face-match words and a range reaching below 0.
        set.push_attack("print", -0.3);
        det_png_labelled(&set, &p, &dir.path().join("det-match.png"), &MATCH_DET).unwrap();
        histograms_png_labelled(&set, 0.363, &dir.path().join("h-match.png"), &MATCH_HISTOGRAMS).unwrap();
        for f in ["det.png", "h.png", "det-plain.png", "h-plain.png", "det-match.png", "h-match.png"] {
            let img = image::open(dir.path().join(f)).unwrap().to_rgb8();
            assert!(img.width() >= 700);
            // Something other than white was drawn.
            assert!(img.pixels().any(|p| p.0 != [255, 255, 255]));
        }
    }
}
