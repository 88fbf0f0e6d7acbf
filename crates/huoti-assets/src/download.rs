//! One HTTP download into place: resumable, verified, atomic.
//!
//! The bytes go to `<file>.<sha256 prefix>.partial` beside the target, under an exclusive lock
//! on that file (two processes fetching the same model wait for each other instead of writing
//! into one file). An interrupted transfer leaves the partial file, and the next attempt asks
//! the server only for the rest (`Range`); a server that ignores the range sends everything
//! again and the file starts over. Only bytes whose sha256 is the source's own are renamed into
//! place; a mismatch deletes the partial file, so wrong bytes are never resumed from.

use std::fs::{self, File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use sha2::{Digest, Sha256};

use crate::manifest::hash_into;

/// Upper bound on a download, so a wrong URL can't fill the disk.
const MAX_DOWNLOAD_BYTES: u64 = 512 * 1024 * 1024;

/// What a download reports while it runs.
pub(crate) trait Progress {
    /// The transfer starts: `length` when the server says, `resumed_from` bytes already held.
    fn start(&mut self, length: Option<u64>, resumed_from: u64);
    /// `done` bytes (including resumed ones) are written.
    fn bytes(&mut self, done: u64);
}

/// How a download ended well.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Downloaded {
    /// The bytes are in place.
    Installed,
    /// While this process waited for the lock, another one put acceptable bytes in place.
    FoundInPlace,
}

/// The partial file for `target` fed by a source with this sha256.
pub(crate) fn partial_path(target: &Path, sha256: &str) -> PathBuf {
    let name = target.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    target.with_file_name(format!("{name}.{}.partial", &sha256[..16]))
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        // Statuses are handled here: 206 and 416 matter for resuming.
        .http_status_as_error(false)
        .timeout_connect(Some(Duration::from_secs(20)))
        .timeout_recv_response(Some(Duration::from_secs(60)))
        // A stalled transfer fails (and is resumed later) instead of hanging.
        .timeout_per_read(Some(Duration::from_secs(60)))
        .user_agent(concat!("huoti-assets/", env!("CARGO_PKG_VERSION")))
        .build()
        .new_agent()
}

/// Downloads `url` into `target` if its bytes hash to `sha256`. `in_place` says whether the
/// target already holds acceptable bytes (checked once the lock is held).
pub(crate) fn download(
    url: &str,
    sha256: &str,
    target: &Path,
    in_place: &dyn Fn() -> bool,
    progress: &mut dyn Progress,
) -> Result<Downloaded, String> {
    let partial = partial_path(target, sha256);
    let mut file = OpenOptions::new().create(true).truncate(false).read(true).write(true).open(&partial).map_err(|e| format!("{}: {e}", partial.display()))?;
    file.lock().map_err(|e| format!("locking {}: {e}", partial.display()))?;
    if in_place() {
        // Another process finished first; an empty partial file is ours, from just now.
        if file.metadata().is_ok_and(|m| m.len() == 0) {
            let _ = fs::remove_file(&partial);
        }
        return Ok(Downloaded::FoundInPlace);
    }
    let result = transfer(url, sha256, &mut file, progress);
    match &result {
        Ok(()) => fs::rename(&partial, target).map_err(|e| format!("{} → {}: {e}", partial.display(), target.display()))?,
        // Wrong bytes are never resumed from; an interrupted transfer is.
        Err(Failure::Refused(_)) => {
            let _ = fs::remove_file(&partial);
        }
        Err(Failure::Interrupted(_)) => {
            if file.metadata().is_ok_and(|m| m.len() == 0) {
                let _ = fs::remove_file(&partial);
            }
        }
    }
    result.map(|()| Downloaded::Installed).map_err(|f| match f {
        Failure::Refused(why) => why,
        Failure::Interrupted(why) => format!("{why} (the part received is kept in {} and resumed next time)", partial.display()),
    })
}

enum Failure {
    /// The server said no, or sent wrong bytes: start from nothing next time.
    Refused(String),
    /// The transfer broke off: what arrived may be resumed.
    Interrupted(String),
}

fn transfer(url: &str, sha256: &str, file: &mut File, progress: &mut dyn Progress) -> Result<(), Failure> {
    let refused = |why: String| Failure::Refused(why);
    let held = file.metadata().map_err(|e| refused(e.to_string()))?.len();
    let agent = agent();
    // Resume when something is held; start over when the server cannot.
    let mut response = None;
    for from in if held > 0 { vec![held, 0] } else { vec![0] } {
        // Identity encoding: ranges and lengths then count the file's own bytes.
        let mut request = agent.get(url).header("Accept-Encoding", "identity");
        if from > 0 {
            request = request.header("Range", format!("bytes={from}-"));
        }
        let r = request.call().map_err(|e| Failure::Interrupted(e.to_string()))?;
        let status = r.status().as_u16();
        let resumes_at = (status == 206).then(|| content_range_start(&r)).flatten();
        match (status, from) {
            (200, _) => {
                response = Some((r, 0));
                break;
            }
            (206, from) if from > 0 && resumes_at == Some(from) => {
                response = Some((r, from));
                break;
            }
            // 416 (the range is past the end) or a range that does not start where asked:
            // forget what is held and ask for everything.
            (206 | 416, from) if from > 0 => continue,
            (status, _) => return Err(refused(format!("HTTP {status}"))),
        }
    }
    let (response, from) = response.ok_or_else(|| refused("the server could not resume and did not send the whole file".into()))?;
    let mut hasher = Sha256::new();
    if from > 0 {
        file.seek(SeekFrom::Start(0)).map_err(|e| refused(e.to_string()))?;
        hash_into(&mut (&mut *file).take(from), &mut hasher).map_err(|e| refused(e.to_string()))?;
    } else {
        file.set_len(0).map_err(|e| refused(e.to_string()))?;
    }
    file.seek(SeekFrom::Start(from)).map_err(|e| refused(e.to_string()))?;
    let length = response.headers().get("content-length").and_then(|v| v.to_str().ok()?.parse::<u64>().ok()).map(|n| n + from);
    progress.start(length, from);
    let mut body = response.into_body().into_reader().take(MAX_DOWNLOAD_BYTES.saturating_sub(from));
    let mut buf = vec![0u8; 64 * 1024];
    let mut done = from;
    loop {
        let n = match body.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) => {
                let _ = file.sync_all();
                return Err(Failure::Interrupted(format!("interrupted after {done} bytes: {e}")));
            }
        };
        hasher.update(&buf[..n]);
        file.write_all(&buf[..n]).map_err(|e| refused(e.to_string()))?;
        done += n as u64;
        progress.bytes(done);
    }
    file.sync_all().map_err(|e| refused(e.to_string()))?;
    if length.is_some_and(|l| done < l) {
        return Err(Failure::Interrupted(format!("the connection closed after {done} of {} bytes", length.unwrap_or(0))));
    }
    let actual = hex::encode(hasher.finalize());
    if actual == sha256 {
        Ok(())
    } else {
        Err(refused(format!("sha256 mismatch: got {actual}, expected {sha256} (refused)")))
    }
}

/// The first byte of a `Content-Range: bytes FIRST-LAST/SIZE` answer.
fn content_range_start(response: &ureq::http::Response<ureq::Body>) -> Option<u64> {
    let value = response.headers().get("content-range")?.to_str().ok()?;
    value.strip_prefix("bytes ")?.split_once('-')?.0.trim().parse().ok()
}
