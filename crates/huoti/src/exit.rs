//! Exit codes, documented in `huoti --help` and README.md.

/// Process exit status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Everything asked for was done.
    Ok = 0,
    /// At least one input could not be analysed (bad file); the others were still reported.
    BadInput = 1,
    // 2 is clap's usage error.
    /// Models (or test data) are missing or corrupt, or a needed tool (ffmpeg) is absent.
    Setup = 3,
    /// What was asked to pass did not: `check --fail-on-spoof`, an input had no single face
    /// judged real; `match --fail-on-no-match`, a probe was not the reference's person.
    Rejected = 4,
}
