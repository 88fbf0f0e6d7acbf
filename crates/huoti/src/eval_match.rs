//! `huoti eval --match`: FMR and FNMR of face match on labelled pairs of images.

use huoti_eval::matching::{self, MatchSettings};
use huoti_eval::pairs;
use huoti_vision::{FaceMatcher, MatcherConfig, ModelPaths, DEFAULT_MATCH_THRESHOLD};

use crate::eval::EvalArgs;
use crate::exit::Exit;

pub fn run(args: &EvalArgs) -> Exit {
    // 0.363 as written, not its f32 neighbour 0.36300000548…, in every report.
    let upstream: f64 = DEFAULT_MATCH_THRESHOLD.to_string().parse().expect("a number");
    let threshold = args.threshold.unwrap_or(upstream);
    if !(-1.0..=1.0).contains(&threshold) {
        eprintln!("error: --threshold {threshold}: a cosine similarity is between -1 and 1 (e.g. 0.363)");
        return Exit::BadInput;
    }
    let set = match pairs::load_pairs(&args.source, args.root.as_deref()) {
        Ok(set) => set,
        Err(e) => {
            eprintln!("error: {e}");
            return Exit::BadInput;
        }
    };
    let models = match crate::assets_cmd::ready_models(args.models.clone(), &["sface"]) {
        Ok(dir) => dir,
        Err(e) => {
            eprintln!("error: {e}");
            return Exit::Setup;
        }
    };
    let matcher = match FaceMatcher::load(&ModelPaths::in_dir(&models), MatcherConfig::default()) {
        Ok(m) => m,
        Err(e) => {
            eprintln!("error: {e}");
            return Exit::Setup;
        }
    };
    let settings =
        MatchSettings { source: args.source.display().to_string(), threshold, target_fmr: Some(args.target_fmr) };
    let bar = crate::eval::progress_bar();
    let report = matching::evaluate_pairs(&matcher, &set, settings, |i, n, name| {
        bar.set_length(n as u64);
        bar.set_position(i as u64);
        bar.set_message(name.to_owned());
    });
    bar.finish_and_clear();
    let Some(report) = crate::eval::emit(report, args, matching::write_all, |r| &r.files, matching::markdown) else {
        return Exit::BadInput;
    };
    for i in report.images.iter().filter(|i| i.status == "error") {
        eprintln!("error: {}: {}", i.name, i.message.as_deref().unwrap_or("could not be read"));
    }
    if report.counts.errors > 0 {
        Exit::BadInput
    } else {
        Exit::Ok
    }
}
