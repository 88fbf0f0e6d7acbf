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
  huoti models fetch --mirror ../shared/models   # or set HUOTI_MODEL_MIRROR; else downloads
  huoti check photo.jpg                          # one face: counts, pose, openness, real probability
  huoti check --json clips/ > report.json        # many files, machine-readable
  huoti match id-photo.jpg selfie.jpg            # same person? (needs the optional SFace model)";

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
        #[arg(long)]
        json: bool,
    },
    /// Copy from a mirror directory, or download from upstream, and verify sha256.
    Fetch {
        #[command(flatten)]
        place: AssetPlace,
        /// A directory holding the files (e.g. ../shared/models). Tried before upstream.
        #[arg(long, value_name = "DIR")]
        mirror: Option<PathBuf>,
    },
}

#[derive(Debug, Args)]
pub struct AssetPlace {
    /// Where the files are kept [default: models/ for models, testdata/cache/ for test data;
    /// or $HUOTI_MODEL_DIR / $HUOTI_DATA_DIR].
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
    /// Model directory.
    #[arg(long, env = "HUOTI_MODEL_DIR", default_value = "models", value_name = "DIR")]
    pub models: PathBuf,
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
