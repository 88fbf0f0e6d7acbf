//! ISO/IEC 30107-3 presentation-attack-detection metrics. Pure: no I/O.
//!
//! **Decision rule.** A presentation is *accepted as bona fide* when its score is **at or
//! above** the threshold (`score >= threshold`): ties at the threshold are accepted. A score
//! that is not a number (NaN) is never accepted.
//!
//! - **APCER** of an attack species (PAI species: print, replay, mask, …): the proportion of
//!   that species' attack presentations accepted as bona fide.
//! - **APCER_max**: the worst APCER over the species that have at least one presentation
//!   (ISO/IEC 30107-3 reports the worst species, not the mean).
//! - **BPCER**: the proportion of bona fide presentations rejected (score below threshold).
//! - **ACER** = (APCER_max + BPCER) / 2. The 2023 edition of the standard discourages ACER
//!   (it mixes two error kinds with different costs); it is reported because much of the
//!   literature still uses it.
//!
//! Every rate comes with its counts and a **Wilson 95 % score interval** ([`wilson`]), which
//! stays inside \[0, 1\] and is honest for small counts: 0 errors out of 10 is "0 %, but up to
//! 28 %". A class without presentations has no rate (`None`, reported as "n/a"), never NaN.

use std::collections::BTreeMap;

use serde::Serialize;

/// z for a two-sided 95 % interval.
pub const Z95: f64 = 1.959_963_984_540_054;

/// Wilson score interval for `errors` out of `total` at normal quantile `z`; `None` when
/// `total` is 0.
///
/// ```
/// let (lo, hi) = huoti_eval::metrics::wilson(0, 10, huoti_eval::metrics::Z95).unwrap();
/// assert_eq!(lo, 0.0);
/// assert!((hi - 0.2775).abs() < 1e-4);
/// assert_eq!(huoti_eval::metrics::wilson(0, 0, 1.96), None);
/// ```
pub fn wilson(errors: usize, total: usize, z: f64) -> Option<(f64, f64)> {
    if total == 0 {
        return None;
    }
    let n = total as f64;
    let p = errors.min(total) as f64 / n;
    let z2 = z * z;
    let denom = 1.0 + z2 / n;
    let centre = (p + z2 / (2.0 * n)) / denom;
    let half = z / denom * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt();
    let lo = if errors == 0 { 0.0 } else { (centre - half).clamp(0.0, 1.0) };
    let hi = if errors >= total { 1.0 } else { (centre + half).clamp(0.0, 1.0) };
    Some((lo, hi))
}

/// An error rate with its counts and Wilson 95 % interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Rate {
    /// Presentations counted as errors.
    pub errors: usize,
    /// Presentations of the class.
    pub total: usize,
    /// `errors / total`; `None` when there is no presentation.
    pub rate: Option<f64>,
    /// Wilson 95 % score interval; `None` when there is no presentation.
    pub ci95: Option<(f64, f64)>,
}

impl Rate {
    /// A rate from counts.
    pub fn new(errors: usize, total: usize) -> Rate {
        Rate {
            errors,
            total,
            rate: (total > 0).then(|| errors as f64 / total as f64),
            ci95: wilson(errors, total, Z95),
        }
    }

    /// "12.5 % (1/8, 95 % CI 2.2–47.1 %)", or "n/a (0 presentations)".
    pub fn describe(&self) -> String {
        match (self.rate, self.ci95) {
            (Some(r), Some((lo, hi))) => format!(
                "{} ({}/{}, 95 % CI {}–{})",
                percent(r),
                self.errors,
                self.total,
                percent_bare(lo),
                percent(hi)
            ),
            _ => "n/a (0 presentations)".to_string(),
        }
    }
}

/// `0.125` → `"12.5 %"`.
pub fn percent(x: f64) -> String {
    format!("{} %", percent_bare(x))
}

fn percent_bare(x: f64) -> String {
    let v = x * 100.0;
    if (v - v.round()).abs() < 1e-9 { format!("{v:.0}") } else { format!("{v:.1}") }
}

/// Scores of one class, sorted, with non-numbers kept apart (never accepted).
#[derive(Debug, Clone, Default, PartialEq)]
struct Class {
    sorted: Vec<f64>,
    nan: usize,
}

impl Class {
    fn push(&mut self, score: f64) {
        if score.is_nan() {
            self.nan += 1;
        } else {
            let i = self.sorted.partition_point(|&s| s <= score);
            self.sorted.insert(i, score);
        }
    }
    fn total(&self) -> usize {
        self.sorted.len() + self.nan
    }
    /// Presentations with `score >= threshold`.
    fn accepted(&self, threshold: f64) -> usize {
        self.sorted.len() - self.sorted.partition_point(|&s| s < threshold)
    }
}

/// Scores of bona fide and attack presentations, by attack species.
///
/// ```
/// use huoti_eval::metrics::ScoreSet;
/// let mut set = ScoreSet::new();
/// for s in [0.9, 0.8, 0.7, 0.4] { set.push_bona_fide(s); }
/// for s in [0.1, 0.2, 0.7] { set.push_attack("print", s); }
/// set.declare_species("mask"); // no presentations: reported as n/a
/// let p = set.evaluate(0.5);
/// assert_eq!((p.bpcer.errors, p.bpcer.total), (1, 4));
/// assert_eq!((p.apcer["print"].errors, p.apcer["print"].total), (1, 3));
/// assert_eq!(p.apcer["mask"].rate, None);
/// assert_eq!(p.apcer_max.as_ref().unwrap().species, "print");
/// assert!((p.acer.unwrap() - (1.0 / 3.0 + 0.25) / 2.0).abs() < 1e-12);
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ScoreSet {
    bona_fide: Class,
    attacks: BTreeMap<String, Class>,
}

/// The worst species' APCER.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WorstSpecies {
    /// The species (the first in name order when several tie).
    pub species: String,
    /// Its APCER.
    #[serde(flatten)]
    pub rate: Rate,
}

/// All figures at one threshold.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OperatingPoint {
    /// Accepted as bona fide when `score >= threshold`.
    pub threshold: f64,
    /// APCER per attack species (including declared species without presentations).
    pub apcer: BTreeMap<String, Rate>,
    /// The worst APCER over species with presentations; `None` without attack presentations.
    pub apcer_max: Option<WorstSpecies>,
    /// BPCER.
    pub bpcer: Rate,
    /// (APCER_max + BPCER) / 2; `None` when either is undefined.
    pub acer: Option<f64>,
}

/// One point of the DET curve.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DetPoint {
    /// The threshold.
    pub threshold: f64,
    /// APCER per species with presentations.
    pub apcer: BTreeMap<String, f64>,
    /// Worst APCER; `None` without attack presentations.
    pub apcer_max: Option<f64>,
    /// BPCER; `None` without bona fide presentations.
    pub bpcer: Option<f64>,
}

impl ScoreSet {
    /// An empty set.
    pub fn new() -> ScoreSet {
        ScoreSet::default()
    }

    /// Adds a bona fide presentation's score.
    pub fn push_bona_fide(&mut self, score: f64) {
        self.bona_fide.push(score);
    }

    /// Adds an attack presentation's score, of species `species`.
    pub fn push_attack(&mut self, species: &str, score: f64) {
        self.attacks.entry(species.to_owned()).or_default().push(score);
    }

    /// Makes a species appear in the figures even without presentations (as "n/a").
    pub fn declare_species(&mut self, species: &str) {
        self.attacks.entry(species.to_owned()).or_default();
    }

    /// Number of bona fide presentations.
    pub fn bona_fide_count(&self) -> usize {
        self.bona_fide.total()
    }

    /// Number of attack presentations per species.
    pub fn attack_counts(&self) -> BTreeMap<String, usize> {
        self.attacks.iter().map(|(k, c)| (k.clone(), c.total())).collect()
    }

    /// The bona fide scores, ascending (non-numbers left out).
    pub fn bona_fide_scores(&self) -> Vec<f64> {
        self.bona_fide.sorted.clone()
    }

    /// The attack scores per species, ascending (non-numbers left out).
    pub fn attack_scores(&self) -> BTreeMap<String, Vec<f64>> {
        self.attacks.iter().map(|(k, c)| (k.clone(), c.sorted.clone())).collect()
    }

    /// Number of attack presentations, all species.
    pub fn attack_count(&self) -> usize {
        self.attacks.values().map(Class::total).sum()
    }

    /// The figures at `threshold`.
    pub fn evaluate(&self, threshold: f64) -> OperatingPoint {
        let apcer: BTreeMap<String, Rate> =
            self.attacks.iter().map(|(k, c)| (k.clone(), Rate::new(c.accepted(threshold), c.total()))).collect();
        let mut apcer_max: Option<WorstSpecies> = None;
        for (species, rate) in &apcer {
            let Some(r) = rate.rate else { continue };
            if apcer_max.as_ref().is_none_or(|w| r > w.rate.rate.unwrap_or(f64::NEG_INFINITY)) {
                apcer_max = Some(WorstSpecies { species: species.clone(), rate: *rate });
            }
        }
        let bf = &self.bona_fide;
        let bpcer = Rate::new(bf.total() - bf.accepted(threshold), bf.total());
        let acer = match (&apcer_max, bpcer.rate) {
            (Some(w), Some(b)) => w.rate.rate.map(|a| (a + b) / 2.0),
            _ => None,
        };
        OperatingPoint { threshold, apcer, apcer_max, bpcer, acer }
    }

    /// Every threshold that gives a distinct operating point, ascending: each distinct score,
    /// then one just above the highest score (accept nothing). Empty when there is no score.
    pub fn thresholds(&self) -> Vec<f64> {
        let mut all: Vec<f64> =
            self.bona_fide.sorted.iter().chain(self.attacks.values().flat_map(|c| &c.sorted)).copied().collect();
        all.sort_by(f64::total_cmp);
        all.dedup();
        if let Some(&max) = all.last() {
            all.push(next_up(max));
        }
        all
    }

    /// The **highest** threshold whose BPCER is at most `target` (the one that rejects the most
    /// attacks at that cost), among [`thresholds`](Self::thresholds). `None` without bona fide
    /// presentations, or when no threshold reaches the target.
    pub fn threshold_for_bpcer(&self, target: f64) -> Option<f64> {
        if self.bona_fide.total() == 0 {
            return None;
        }
        // BPCER is non-decreasing in the threshold: the last one that satisfies it.
        self.thresholds()
            .into_iter()
            .rev()
            .find(|&t| self.evaluate(t).bpcer.rate.is_some_and(|b| b <= target + 1e-12))
    }

    /// The **lowest** threshold whose APCER_max is at most `target` (the one that rejects the
    /// fewest bona fide presentations at that security), among
    /// [`thresholds`](Self::thresholds). `None` without attack presentations.
    pub fn threshold_for_apcer(&self, target: f64) -> Option<f64> {
        if self.attack_count() == 0 {
            return None;
        }
        self.thresholds().into_iter().find(|&t| {
            self.evaluate(t).apcer_max.and_then(|w| w.rate.rate).is_some_and(|a| a <= target + 1e-12)
        })
    }

    /// The DET curve: the operating point at every threshold of
    /// [`thresholds`](Self::thresholds), ascending.
    pub fn det_curve(&self) -> Vec<DetPoint> {
        self.thresholds()
            .into_iter()
            .map(|t| {
                let p = self.evaluate(t);
                DetPoint {
                    threshold: t,
                    apcer: p.apcer.iter().filter_map(|(k, r)| Some((k.clone(), r.rate?))).collect(),
                    apcer_max: p.apcer_max.and_then(|w| w.rate.rate),
                    bpcer: p.bpcer.rate,
                }
            })
            .collect()
    }
}

/// The smallest `f64` above `x` (for finite `x`).
fn next_up(x: f64) -> f64 {
    if x.is_nan() || x == f64::INFINITY {
        return x;
    }
    if x == 0.0 {
        return f64::from_bits(1);
    }
    let bits = x.to_bits();
    f64::from_bits(if x > 0.0 { bits + 1 } else { bits - 1 })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn set(bf: &[f64], attacks: &[(&str, &[f64])]) -> ScoreSet {
        let mut s = ScoreSet::new();
        bf.iter().for_each(|&x| s.push_bona_fide(x));
        for (species, scores) in attacks {
            s.declare_species(species);
            scores.iter().for_each(|&x| s.push_attack(species, x));
        }
        s
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-4
    }

    #[test]
    fn wilson_matches_known_values() {
        // 5/10: the textbook example, (0.2366, 0.7634).
        let (lo, hi) = wilson(5, 10, Z95).unwrap();
        assert!(close(lo, 0.2366) && close(hi, 0.7634), "{lo} {hi}");
        // 0/n: upper bound z²/(n+z²).
        let (lo, hi) = wilson(0, 10, Z95).unwrap();
        assert_eq!(lo, 0.0);
        assert!(close(hi, Z95 * Z95 / (10.0 + Z95 * Z95)));
        // n/n mirrors 0/n.
        let (lo, hi) = wilson(10, 10, Z95).unwrap();
        assert!(close(lo, 1.0 - Z95 * Z95 / (10.0 + Z95 * Z95)) && hi == 1.0);
        // 1/1: 20.7 % to 100 %.
        let (lo, hi) = wilson(1, 1, Z95).unwrap();
        assert!(close(lo, 0.2065) && hi == 1.0, "{lo}");
        // 1/8: (0.0224, 0.4709).
        let (lo, hi) = wilson(1, 8, Z95).unwrap();
        assert!(close(lo, 0.0224) && close(hi, 0.4709), "{lo} {hi}");
        assert_eq!(wilson(0, 0, Z95), None);
    }

    #[test]
    fn hand_made_set_gives_known_figures() {
        // bona fide: 0.95 0.9 0.8 0.6 0.3 ; print: 0.1 0.2 0.55 0.65 ; replay: 0.05 0.4
        let s = set(&[0.95, 0.9, 0.8, 0.6, 0.3], &[("print", &[0.1, 0.2, 0.55, 0.65]), ("replay", &[0.05, 0.4])]);
        let p = s.evaluate(0.5);
        assert_eq!((p.bpcer.errors, p.bpcer.total), (1, 5));
        assert_eq!((p.apcer["print"].errors, p.apcer["print"].total), (2, 4));
        assert_eq!((p.apcer["replay"].errors, p.apcer["replay"].total), (0, 2));
        let worst = p.apcer_max.as_ref().unwrap();
        assert_eq!(worst.species, "print");
        assert_eq!(worst.rate.rate, Some(0.5));
        assert!(close(p.acer.unwrap(), (0.5 + 0.2) / 2.0));
        // At 0.7: print 0/4, replay 0/2, bona fide 2/5 rejected.
        let p = s.evaluate(0.7);
        assert_eq!(p.apcer_max.as_ref().unwrap().rate.errors, 0);
        assert_eq!(p.bpcer.errors, 2);
        assert!(close(p.acer.unwrap(), 0.2));
    }

    #[test]
    fn ties_at_the_threshold_are_accepted() {
        let s = set(&[0.5, 0.5, 0.49], &[("print", &[0.5, 0.2])]);
        let p = s.evaluate(0.5);
        assert_eq!(p.bpcer.errors, 1, "0.5 ≥ 0.5 is accepted, 0.49 is not");
        assert_eq!(p.apcer["print"].errors, 1, "an attack scoring exactly the threshold gets in");
        // Just above: both 0.5s are rejected.
        let p = s.evaluate(next_up(0.5));
        assert_eq!((p.bpcer.errors, p.apcer["print"].errors), (3, 0));
    }

    #[test]
    fn empty_species_and_classes_are_none_never_nan() {
        let s = set(&[], &[("mask", &[])]);
        let p = s.evaluate(0.5);
        assert_eq!(p.apcer["mask"], Rate { errors: 0, total: 0, rate: None, ci95: None });
        assert_eq!(p.apcer_max, None);
        assert_eq!(p.bpcer.rate, None);
        assert_eq!(p.acer, None);
        assert_eq!(p.apcer["mask"].describe(), "n/a (0 presentations)");
        assert!(s.thresholds().is_empty() && s.det_curve().is_empty());
        assert_eq!(s.threshold_for_bpcer(0.05), None);
        assert_eq!(s.threshold_for_apcer(0.0), None);
        // An empty species next to a populated one: the worst is the populated one.
        let s = set(&[0.9], &[("mask", &[]), ("print", &[0.6])]);
        let p = s.evaluate(0.5);
        assert_eq!(p.apcer_max.as_ref().unwrap().species, "print");
        assert_eq!(p.apcer["mask"].rate, None);
        assert!(close(p.acer.unwrap(), 0.5));
        assert!(serde_json::to_string(&p).unwrap().contains("\"rate\":null"));
    }

    #[test]
    fn nan_scores_are_never_accepted() {
        let s = set(&[f64::NAN, 0.9], &[("print", &[f64::NAN])]);
        let p = s.evaluate(0.0);
        assert_eq!((p.bpcer.errors, p.bpcer.total), (1, 2));
        assert_eq!((p.apcer["print"].errors, p.apcer["print"].total), (0, 1));
        assert_eq!(s.thresholds(), vec![0.9, next_up(0.9)]);
    }

    #[test]
    fn threshold_for_target_bpcer_is_the_highest_that_meets_it() {
        // 20 bona fide at 0.05, 0.10, …, 1.00; BPCER ≤ 5 % allows one rejection: threshold 0.10.
        let bf: Vec<f64> = (1..=20).map(|i| i as f64 * 0.05).collect();
        let s = set(&bf, &[("print", &[0.02, 0.07, 0.5])]);
        let t = s.threshold_for_bpcer(0.05).unwrap();
        assert!(close(t, 0.10), "{t}");
        assert_eq!(s.evaluate(t).bpcer.errors, 1);
        assert_eq!(s.evaluate(t).apcer["print"].errors, 1, "0.5 still gets in");
        // BPCER 0: the lowest bona fide score.
        assert!(close(s.threshold_for_bpcer(0.0).unwrap(), 0.05));
        // BPCER 100 %: above everything.
        assert!(s.threshold_for_bpcer(1.0).unwrap() > 1.0);
    }

    #[test]
    fn threshold_for_target_apcer_is_the_lowest_that_meets_it() {
        let s = set(&[0.3, 0.6, 0.8, 0.9], &[("print", &[0.1, 0.7]), ("replay", &[0.2, 0.65])]);
        // APCER 0 needs every attack rejected: just above 0.7 → the next score, 0.8.
        let t = s.threshold_for_apcer(0.0).unwrap();
        assert!(close(t, 0.8), "{t}");
        let p = s.evaluate(t);
        assert_eq!(p.apcer_max.unwrap().rate.errors, 0);
        assert_eq!(p.bpcer.errors, 2);
        // APCER ≤ 50 %: at 0.2 replay is 2/2 in; at 0.3 print 0.7 and replay 0.65 get in,
        // 1/2 each.
        assert!(close(s.threshold_for_apcer(0.5).unwrap(), 0.3));
        // When the top score is an attack, only "accept nothing" reaches APCER 0.
        let s = set(&[0.5], &[("print", &[0.9])]);
        let t = s.threshold_for_apcer(0.0).unwrap();
        assert!(t > 0.9 && s.evaluate(t).bpcer.errors == 1);
    }

    #[test]
    fn det_curve_walks_every_distinct_threshold() {
        let s = set(&[0.2, 0.8, 0.8], &[("print", &[0.2, 0.5])]);
        let det = s.det_curve();
        let th: Vec<f64> = det.iter().map(|d| d.threshold).collect();
        assert_eq!(th, vec![0.2, 0.5, 0.8, next_up(0.8)]);
        assert_eq!(det[0].apcer_max, Some(1.0));
        assert_eq!(det[0].bpcer, Some(0.0));
        assert_eq!(det[1].apcer_max, Some(0.5));
        assert!(close(det[1].bpcer.unwrap(), 1.0 / 3.0));
        assert_eq!((det[3].apcer_max, det[3].bpcer), (Some(0.0), Some(1.0)));
    }

    #[test]
    fn describe_is_readable() {
        assert_eq!(Rate::new(1, 8).describe(), "12.5 % (1/8, 95 % CI 2.2–47.1 %)");
        assert_eq!(Rate::new(0, 1).describe(), "0 % (0/1, 95 % CI 0–79.3 %)");
    }

    fn scores() -> impl Strategy<Value = Vec<f64>> {
        proptest::collection::vec(prop_oneof![0.0f64..=1.0, Just(0.5), Just(0.25)], 0..30)
    }

    proptest! {
        #[test]
        fn apcer_never_rises_and_bpcer_never_falls_with_the_threshold(
            bf in scores(), print in scores(), replay in scores(), a in 0.0f64..=1.0, b in 0.0f64..=1.0,
        ) {
            let s = set(&bf, &[("print", &print), ("replay", &replay)]);
            let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
            let (p, q) = (s.evaluate(lo), s.evaluate(hi));
            for species in ["print", "replay"] {
                prop_assert!(q.apcer[species].errors <= p.apcer[species].errors);
            }
            prop_assert!(q.bpcer.errors >= p.bpcer.errors);
            let max = |x: &OperatingPoint| x.apcer_max.as_ref().and_then(|w| w.rate.rate);
            prop_assert!(max(&q) <= max(&p));
        }

        #[test]
        fn rates_and_intervals_are_proportions_around_the_estimate(
            bf in scores(), print in scores(), t in 0.0f64..=1.0,
        ) {
            let s = set(&bf, &[("print", &print)]);
            let p = s.evaluate(t);
            for r in [p.bpcer, p.apcer["print"]] {
                match (r.rate, r.ci95) {
                    (Some(x), Some((lo, hi))) => {
                        prop_assert!((0.0..=1.0).contains(&x));
                        prop_assert!(0.0 <= lo && lo <= x + 1e-12 && x <= hi + 1e-12 && hi <= 1.0);
                    }
                    (None, None) => prop_assert_eq!(r.total, 0),
                    _ => prop_assert!(false, "rate and interval disagree"),
                }
            }
            if let Some(acer) = p.acer { prop_assert!((0.0..=1.0).contains(&acer)); }
        }

        #[test]
        fn chosen_thresholds_meet_their_targets(
            bf in scores(), print in scores(), target in 0.0f64..=0.3,
        ) {
            let s = set(&bf, &[("print", &print)]);
            if let Some(t) = s.threshold_for_bpcer(target) {
                prop_assert!(s.evaluate(t).bpcer.rate.unwrap() <= target + 1e-12);
                // No higher candidate meets it.
                for u in s.thresholds().into_iter().filter(|&u| u > t) {
                    prop_assert!(s.evaluate(u).bpcer.rate.unwrap() > target + 1e-12);
                }
            }
            if let Some(t) = s.threshold_for_apcer(target) {
                prop_assert!(s.evaluate(t).apcer_max.unwrap().rate.rate.unwrap() <= target + 1e-12);
                for u in s.thresholds().into_iter().filter(|&u| u < t) {
                    prop_assert!(s.evaluate(u).apcer_max.unwrap().rate.rate.unwrap() > target + 1e-12);
                }
            }
        }
    }
}
