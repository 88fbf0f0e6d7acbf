use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

const AFTER_HELP: &str = "\
Exit codes:
  0  everything asked for was done
  1  at least one input could not be analysed (the others are still reported)
  2  command-line usage error
  3  setup problem: models or test data missing/corrupt, or ffmpeg missing
  4  with --fail-on-spoof: an input had no single face judged real
     (match --fail-on-no-match: a probe was not the reference's person)

Start here:
  huoti check photo.jpg                    # one face: counts, pose, openness, real probability
  huoti check --json clips/ > report.json  # many files, machine-readable
  huoti match id-photo.jpg selfie.jpg      # same person? (uses the optional SFace model)
  huoti serve --dev                        # the verification server + its demo page

Files live in ~/.local/share/huoti (or $XDG_DATA_HOME/huoti): models/, server/, testdata/.
Models are downloaded and verified on first use (`huoti models fetch` does it ahead; with
--mirror DIR or HUOTI_MODEL_MIRROR it copies from a local folder first).";

/// huoti (活体) — face liveness detection that keeps its privacy promises by code.
#[derive(Debug, Parser)]
#[command(name = "huoti", version, about, long_about = None, after_help = AFTER_HELP)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Fetch, verify and list the ONNX models (pinned in models/MODELS.toml).
    #[command(subcommand)]
    Models(AssetCommand),
    /// Fetch, verify and list the public test data (pinned in testdata/DATA.toml).
    #[command(subcommand)]
    Testdata(AssetCommand),
    /// Analyse images and videos: faces, landmarks-based measures, passive anti-spoof, quality.
    ///
    /// Images (JPEG, PNG) get the full pipeline on their largest face. Videos are sampled
    /// (`--fps`), the face tracked, and each sampled frame scored; `.y4m` is read natively,
    /// other formats through an installed ffmpeg.
    Check(CheckArgs),
    /// Face match (1:1, 本人核验): is each PROBE the same person as REFERENCE? Prints the
    /// similarity, the decision at the threshold and each face's quality.
    Match(crate::match_cmd::MatchArgs),
    /// Run the liveness verification server (HTTPS; config file + HUOTI_* environment).
    Serve(crate::serve::ServeArgs),
    /// Run a whole liveness session against a server with a video or a directory of frames,
    /// and print the verdict.
    Verify(crate::verify::VerifyArgs),
    /// Measure attack detection on a labelled set (ISO/IEC 30107-3: APCER per attack species,
    /// BPCER, ACER, with Wilson 95 % intervals), write a JSON/Markdown report and plots.
    ///
    /// SOURCE is a folder <root>/<label>/<files> (bonafide, print, replay, mask, ...) or a
    /// manifest TSV (path + kind columns). See `huoti eval --help` for what the figures mean.
    Eval(crate::eval::EvalArgs),
    /// Staff administration on the server's data: API keys with roles, audit-log check,
    /// retention, key rotation, incidents, wind-down.
    #[command(subcommand)]
    Admin(crate::admin::AdminCommand),
}

#[derive(Debug, Subcommand)]
pub enum AssetCommand {
    /// Show each file's state: verified, missing or corrupt.
    List {
        #[command(flatten)]
        place: AssetPlace,
        /// Print JSON instead of a table.
        #[arg(long, conflicts_with = "tsv")]
        json: bool,
        /// Print a `path<TAB>kind` manifest that `huoti eval MANIFEST --root DIR` reads (the test
        /// data's kinds: bonafide-image, spoof-print, …).
        #[arg(long)]
        tsv: bool,
    },
    /// Copy from a mirror directory, else download from each upstream source in turn;
    /// verify every file's sha256 (resumes an interrupted download).
    Fetch {
        #[command(flatten)]
        place: AssetPlace,
        /// A local directory holding the files (an operator's cache); tried before upstream
        /// [default: $HUOTI_MODEL_MIRROR / $HUOTI_DATA_MIRROR].
        #[arg(long, value_name = "DIR")]
        mirror: Option<PathBuf>,
    },
}

#[derive(Debug, Args)]
pub struct AssetPlace {
    /// Where the files are kept [default: $HUOTI_MODEL_DIR / $HUOTI_DATA_DIR, else models/ or
    /// testdata/ in ~/.local/share/huoti (or $XDG_DATA_HOME/huoti)].
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Image or video files, or directories (searched recursively).
    #[arg(required = true, value_name = "FILE|DIR")]
    pub inputs: Vec<PathBuf>,
    /// Print one JSON document instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Include every analysed video frame in the JSON output.
    #[arg(long)]
    pub frames: bool,
    /// Model directory; missing models are fetched into it first [default: $HUOTI_MODEL_DIR,
    /// else ~/.local/share/huoti/models (or $XDG_DATA_HOME/huoti/models)].
    #[arg(long, value_name = "DIR")]
    pub models: Option<PathBuf>,
    /// Video frames analysed per second.
    #[arg(long, default_value_t = 5.0)]
    pub fps: f64,
    /// Analyse at most this many seconds of each video.
    #[arg(long, value_name = "SECONDS")]
    pub max_seconds: Option<f64>,
    /// Longest image side given to the face detector (larger finds smaller faces, slower).
    #[arg(long, default_value_t = 640)]
    pub detect_max_side: u32,
    /// Detector score threshold.
    #[arg(long, default_value_t = 0.6)]
    pub score_threshold: f32,
    /// real_probability at or above which a face is reported "real".
    #[arg(long, default_value_t = 0.5)]
    pub real_threshold: f32,
    /// Exit with status 4 unless every input shows exactly one face judged real.
    #[arg(long)]
    pub fail_on_spoof: bool,
}
