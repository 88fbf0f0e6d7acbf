//! The working-day calendar that R5 and R9 deadlines are counted in, as installed on this
//! server: the built-in one (`huoti_privacy::WorkCalendar::embedded_default`, the official
//! 2025–2026 notices) or the operator's `[rights] calendar_file`, checked again while the server
//! runs so the next year's holiday notice is installed without a release (issue 18).
//!
//! **A good calendar is never replaced by a bad one.** A changed file is parsed first; only a
//! file that parses replaces the calendar in use. A file that cannot be read or parsed is
//! refused with the reason (the line, for a parse error) and the calendar in use stays. At start
//! there is no calendar in use yet, so a bad file is a configuration error that names the line.
//! (Leaf module: it names no feature.)

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};

use huoti_privacy::WorkCalendar;
use sha2::{Digest, Sha256};

use crate::error::ServerError;

/// The calendar in use and where it came from.
#[derive(Debug)]
pub struct InstalledCalendar {
    file: Option<PathBuf>,
    current: RwLock<Current>,
    /// The last refusal, so a file that stays bad is reported once, not at every check.
    last_refusal: Mutex<Option<String>>,
}

#[derive(Debug)]
struct Current {
    calendar: Arc<WorkCalendar>,
    /// sha256 of the file text it was parsed from (`None`: built-in).
    digest: Option<[u8; 32]>,
}

/// What a check of the calendar file found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reload {
    /// No file configured, or its content is what is installed.
    Unchanged,
    /// The file changed and now is the calendar in use; the years it covers.
    Installed(Vec<i32>),
    /// The file changed but could not be read or parsed; the calendar in use stays.
    Refused(String),
}

/// The file's text and its sha256.
fn read(path: &Path) -> Result<(String, [u8; 32]), String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read calendar file {}: {e}", path.display()))?;
    let digest = Sha256::digest(text.as_bytes()).into();
    Ok((text, digest))
}

fn parse(path: &Path, text: &str) -> Result<WorkCalendar, String> {
    WorkCalendar::from_tsv(text).map_err(|e| format!("calendar file {}: {e}", path.display()))
}

impl InstalledCalendar {
    /// The built-in calendar, or `file` when given (a file that cannot be read or parsed is a
    /// configuration error naming the line).
    pub fn open(file: Option<&Path>) -> Result<InstalledCalendar, ServerError> {
        let current = match file {
            None => Current { calendar: Arc::new(WorkCalendar::embedded_default()), digest: None },
            Some(path) => {
                let (calendar, digest) = read(path).and_then(|(text, digest)| Ok((parse(path, &text)?, digest))).map_err(|e| ServerError::Config(format!("rights.calendar_file: {e}")))?;
                Current { calendar: Arc::new(calendar), digest: Some(digest) }
            }
        };
        Ok(InstalledCalendar { file: file.map(Path::to_path_buf), current: RwLock::new(current), last_refusal: Mutex::new(None) })
    }

    /// The calendar in use.
    pub fn current(&self) -> Arc<WorkCalendar> {
        self.current.read().unwrap_or_else(|e| e.into_inner()).calendar.clone()
    }

    /// The configured file, if any.
    pub fn file(&self) -> Option<&Path> {
        self.file.as_deref()
    }

    /// Reads the configured file again; installs it if it changed and parses. A refusal is
    /// reported once; the same refusal again is `Unchanged`.
    pub fn reload_if_changed(&self) -> Reload {
        let Some(path) = &self.file else { return Reload::Unchanged };
        let outcome = match read(path) {
            Err(reason) => Err(reason),
            Ok((_, digest)) if self.current.read().unwrap_or_else(|e| e.into_inner()).digest == Some(digest) => Ok(None),
            Ok((text, digest)) => parse(path, &text).map(|calendar| Some((calendar, digest))),
        };
        let mut last_refusal = self.last_refusal.lock().unwrap_or_else(|e| e.into_inner());
        match outcome {
            Ok(None) => {
                *last_refusal = None;
                Reload::Unchanged
            }
            Ok(Some((calendar, digest))) => {
                *last_refusal = None;
                let years = calendar.years().collect();
                *self.current.write().unwrap_or_else(|e| e.into_inner()) = Current { calendar: Arc::new(calendar), digest: Some(digest) };
                Reload::Installed(years)
            }
            Err(reason) if last_refusal.as_deref() == Some(reason.as_str()) => Reload::Unchanged,
            Err(reason) => {
                *last_refusal = Some(reason.clone());
                Reload::Refused(reason)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn r5_bad_file_refused_and_good_calendar_stays() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("cal.tsv");
        std::fs::write(&file, huoti_privacy::calendar::EMBEDDED_TSV).unwrap();
        let installed = InstalledCalendar::open(Some(&file)).unwrap();
        assert_eq!(installed.reload_if_changed(), Reload::Unchanged);
        std::fs::write(&file, "date\tday\tname\n2027-01-01\toff\tNew Year\n2027-01-05\twork\tx\n").unwrap();
        match installed.reload_if_changed() {
            Reload::Refused(reason) => assert!(reason.contains("line 3"), "{reason}"),
            other => panic!("{other:?}"),
        }
        assert_eq!(installed.reload_if_changed(), Reload::Unchanged, "the same refusal is reported once");
        assert_eq!(installed.current().years().collect::<Vec<_>>(), [2025, 2026]);
        std::fs::write(&file, format!("{}2027-01-01\toff\tNew Year\n", huoti_privacy::calendar::EMBEDDED_TSV)).unwrap();
        assert_eq!(installed.reload_if_changed(), Reload::Installed(vec![2025, 2026, 2027]));
        assert!(installed.current().covers(2027));
        std::fs::remove_file(&file).unwrap();
        assert!(matches!(installed.reload_if_changed(), Reload::Refused(_)));
        assert!(installed.current().covers(2027));
    }

    #[test]
    fn r5_bad_file_at_start_names_the_line() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("cal.tsv");
        std::fs::write(&file, "date\tday\tname\nnot-a-date\toff\tx\n").unwrap();
        let e = InstalledCalendar::open(Some(&file)).unwrap_err().to_string();
        assert!(e.contains("line 2") && e.contains("calendar_file"), "{e}");
        assert_eq!(InstalledCalendar::open(None).unwrap().reload_if_changed(), Reload::Unchanged);
    }
}
