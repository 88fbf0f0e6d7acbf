//! The mainland-China working-day calendar (R5, R9).
//!
//! Deadlines such as "account closure within 15 working days" (R5) and "complaints within 3
//! working days" (R9) depend on the State Council's yearly holiday notice, which moves public
//! holidays and turns some weekend days into make-up working days (调休上班). The notice for
//! the next year comes out around November, so the calendar is **data**: a TSV file that
//! operators update without a new release ([`WorkCalendar::from_tsv`]); the crate embeds the
//! official 2025–2026 file as [`WorkCalendar::embedded_default`].
//!
//! A working day is Monday–Friday not marked `off`, or any day marked `work`.
//!
//! **No guessing.** A question about a date in a year the file does not cover is an error
//! ([`CalendarError::NotCovered`]) that names the year, never an answer that silently assumes
//! no holidays.
//!
//! ## File format
//!
//! UTF-8, tab-separated, with the header `date\tday\tname`; one line per day: an ISO date, `off`
//! (holiday day off, weekends inside a holiday included) or `work` (make-up working day on a
//! weekend), and the holiday's name. The years the calendar covers are the years that appear in
//! it. Empty lines and lines starting with `#` are ignored.

use std::collections::{BTreeMap, BTreeSet};
use time::{Date, Duration, OffsetDateTime, UtcOffset, Weekday};

/// China Standard Time, UTC+08:00: the time zone deadlines are counted in.
pub const CHINA_STANDARD_TIME: UtcOffset = match UtcOffset::from_hms(8, 0, 0) {
    Ok(offset) => offset,
    Err(_) => panic!("valid offset"),
};

/// The calendar date of `instant` in China Standard Time.
#[must_use]
pub fn local_date(instant: OffsetDateTime) -> Date {
    instant.to_offset(CHINA_STANDARD_TIME).date()
}

/// The embedded default calendar file (official 2025–2026 data).
pub const EMBEDDED_TSV: &str = include_str!("../../../config/calendar/cn-holidays.tsv");

/// Errors of calendar questions.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CalendarError {
    /// The answer depends on a year the calendar file does not cover: update the file with the
    /// State Council's notice for that year.
    #[error(
        "the working-day calendar does not cover {year}; install the holiday notice for {year}"
    )]
    NotCovered {
        /// The first year that was needed and is missing.
        year: i32,
    },
}

/// A calendar file could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("calendar file line {line}: {reason}")]
pub struct CalendarParseError {
    /// 1-based line number.
    pub line: usize,
    /// What is wrong.
    pub reason: String,
}

/// Whether a listed day is a day off or a make-up working day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DayKind {
    /// Public-holiday day off.
    Off,
    /// Make-up working day (a weekend day worked).
    Work,
}

/// A working-day calendar covering a known set of years.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkCalendar {
    days: BTreeMap<Date, DayKind>,
    years: BTreeSet<i32>,
}

impl WorkCalendar {
    /// The calendar embedded in this build (`config/calendar/cn-holidays.tsv`).
    pub fn embedded_default() -> Self {
        Self::from_tsv(EMBEDDED_TSV).expect("embedded calendar file is valid")
    }

    /// Parses an operator's calendar file (format in the [module docs](self)).
    pub fn from_tsv(text: &str) -> Result<Self, CalendarParseError> {
        let format = time::macros::format_description!("[year]-[month]-[day]");
        let mut days = BTreeMap::new();
        let mut years = BTreeSet::new();
        let mut header_seen = false;
        for (i, raw) in text.lines().enumerate() {
            let line = i + 1;
            let err = |reason: String| CalendarParseError { line, reason };
            let l = raw.trim_end_matches('\r');
            if l.trim().is_empty() || l.starts_with('#') {
                continue;
            }
            let cols: Vec<&str> = l.split('\t').collect();
            if !header_seen {
                if cols.len() < 2 || cols[0] != "date" || cols[1] != "day" {
                    return Err(err("expected header `date\\tday\\tname`".into()));
                }
                header_seen = true;
                continue;
            }
            if cols.len() < 2 {
                return Err(err("expected `date<TAB>off|work<TAB>name`".into()));
            }
            let date = Date::parse(cols[0].trim(), &format)
                .map_err(|_| err(format!("not a date: {:?}", cols[0])))?;
            let weekend = matches!(date.weekday(), Weekday::Saturday | Weekday::Sunday);
            let kind = match cols[1].trim() {
                "off" => DayKind::Off,
                "work" if weekend => DayKind::Work,
                "work" => {
                    return Err(err(format!(
                        "{date} is a weekday; only a weekend day can be a make-up working day"
                    )));
                }
                other => return Err(err(format!("day must be `off` or `work`, not {other:?}"))),
            };
            if days.insert(date, kind).is_some() {
                return Err(err(format!("{date} listed twice")));
            }
            years.insert(date.year());
        }
        if !header_seen {
            return Err(CalendarParseError {
                line: 1,
                reason: "empty calendar file".into(),
            });
        }
        Ok(Self { days, years })
    }

    /// The years this calendar covers, ascending.
    pub fn years(&self) -> impl Iterator<Item = i32> + '_ {
        self.years.iter().copied()
    }

    /// Whether `year` is covered.
    pub fn covers(&self, year: i32) -> bool {
        self.years.contains(&year)
    }

    /// Whether `date` is a working day; an error if its year is not covered.
    pub fn is_working_day(&self, date: Date) -> Result<bool, CalendarError> {
        if !self.covers(date.year()) {
            return Err(CalendarError::NotCovered { year: date.year() });
        }
        Ok(match self.days.get(&date) {
            Some(DayKind::Off) => false,
            Some(DayKind::Work) => true,
            None => !matches!(date.weekday(), Weekday::Saturday | Weekday::Sunday),
        })
    }

    /// The `n`th working day after `start` (`start` itself is not counted; `n = 0` gives
    /// `start`).
    ///
    /// # Errors
    ///
    /// [`CalendarError::NotCovered`], naming the first uncovered year, if the count runs past
    /// the years the calendar covers.
    pub fn add_working_days(&self, start: Date, n: u32) -> Result<Date, CalendarError> {
        let mut date = start;
        let mut left = n;
        while left > 0 {
            date = date.next_day().ok_or(CalendarError::NotCovered {
                year: date.year() + 1,
            })?;
            if self.is_working_day(date)? {
                left -= 1;
            }
        }
        Ok(date)
    }

    /// `start` plus `n` calendar days (no calendar coverage needed).
    pub fn add_calendar_days(start: Date, n: u32) -> Date {
        start + Duration::days(i64::from(n))
    }

    /// The `n`th working day after `start`, always answered: [`Deadline::Official`] when every
    /// day counted lies in a covered year (the same date as [`add_working_days`]), otherwise
    /// [`Deadline::Provisional`], where the days of uncovered years are counted Monday–Friday.
    ///
    /// This is what a person's request gets when the holiday notice for the year its deadline
    /// falls in is not installed yet: the request is accepted with a date that says it is
    /// provisional, and is counted again ([`Deadline::is_provisional`]) once a calendar
    /// covering that year is installed. See the crate docs of `huoti-privacy::rights`.
    ///
    /// [`add_working_days`]: Self::add_working_days
    #[must_use]
    pub fn add_working_days_or_provisional(&self, start: Date, n: u32) -> Deadline {
        let mut date = start;
        let mut uncovered = None;
        let mut left = n;
        while left > 0 {
            // Date::MAX is year 9999: a deadline there is not a real question.
            let Some(next) = date.next_day() else { break };
            date = next;
            let working = match self.is_working_day(date) {
                Ok(w) => w,
                Err(CalendarError::NotCovered { year }) => {
                    uncovered.get_or_insert(year);
                    !matches!(date.weekday(), Weekday::Saturday | Weekday::Sunday)
                }
            };
            if working {
                left -= 1;
            }
        }
        match uncovered {
            None => Deadline::Official(date),
            Some(uncovered_year) => Deadline::Provisional {
                date,
                uncovered_year,
            },
        }
    }

    /// The last day of the last covered year (31 December), if any year is covered.
    #[must_use]
    pub fn coverage_ends(&self) -> Option<Date> {
        let year = *self.years.last()?;
        Date::from_calendar_date(year, time::Month::December, 31).ok()
    }

    /// The first date on which a deadline of `n` working days counted from that date becomes
    /// provisional (it reaches past [`coverage_ends`](Self::coverage_ends)), or `None` when no
    /// year is covered. With the 2025–2026 file: 11 December 2026 for 15 working days (R5),
    /// 29 December 2026 for 3 (R9).
    #[must_use]
    pub fn provisional_from(&self, n: u32) -> Option<Date> {
        let end = self.coverage_ends()?;
        // n working days never span more than 2n + 40 calendar days (holidays are at most 9
        // days in a row and weekends 2 in 7), so the answer lies in that window before `end`.
        let mut start = end - Duration::days(2 * i64::from(n) + 40);
        while start <= end {
            if self
                .add_working_days_or_provisional(start, n)
                .is_provisional()
            {
                return Some(start);
            }
            start = start.next_day()?;
        }
        Some(end)
    }

    /// Whether operators should be told, on `today`, that the calendar ends soon: from
    /// 1 November of the last covered year (the State Council's notice for the next year comes
    /// out around then), and after coverage has ended.
    #[must_use]
    pub fn ends_soon(&self, today: Date) -> bool {
        match self.years.last() {
            None => true,
            Some(&year) => {
                today.year() > year
                    || (today.year() == year && today.month() >= time::Month::November)
            }
        }
    }
}

/// A due date counted in working days, and whether the calendar could count it officially.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Deadline {
    /// Every day counted lies in a year the calendar covers.
    Official(Date),
    /// Some days lie in a year the calendar does not cover (`uncovered_year`, the first); those
    /// were counted Monday–Friday. Count again when a calendar covering it is installed.
    Provisional {
        /// The provisional due date.
        date: Date,
        /// The first year the count needed and the calendar lacks.
        uncovered_year: i32,
    },
}

impl Deadline {
    /// The due date, official or provisional.
    #[must_use]
    pub fn date(&self) -> Date {
        match *self {
            Deadline::Official(date) | Deadline::Provisional { date, .. } => date,
        }
    }

    /// Whether the date is provisional.
    #[must_use]
    pub fn is_provisional(&self) -> bool {
        matches!(self, Deadline::Provisional { .. })
    }

    /// The earlier of this deadline and `cap` (a calendar-day limit): a cap that wins is
    /// official, since calendar days need no holiday notice.
    #[must_use]
    pub fn capped_at(self, cap: Date) -> Deadline {
        if cap < self.date() {
            Deadline::Official(cap)
        } else {
            self
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    fn cal() -> WorkCalendar {
        WorkCalendar::embedded_default()
    }

    #[test]
    fn r5_embedded_calendar_covers_2025_and_2026() {
        assert_eq!(cal().years().collect::<Vec<_>>(), vec![2025, 2026]);
        assert_eq!(
            EMBEDDED_TSV,
            include_str!("../../../config/calendar/cn-holidays.tsv")
        );
    }

    #[test]
    fn r5_holidays_and_make_up_days() {
        let c = cal();
        // National Day 2025: Oct 1–8 off; Sat Sep 28 and Sat Oct 11 worked.
        for d in 1..=8 {
            assert!(
                !c.is_working_day(Date::from_calendar_date(2025, time::Month::October, d).unwrap())
                    .unwrap()
            );
        }
        assert!(c.is_working_day(date!(2025 - 09 - 28)).unwrap());
        assert!(c.is_working_day(date!(2025 - 10 - 11)).unwrap());
        assert!(!c.is_working_day(date!(2025 - 10 - 12)).unwrap()); // plain Sunday
        assert!(c.is_working_day(date!(2025 - 10 - 09)).unwrap()); // plain Thursday
        // Spring Festival 2026: Feb 15–23 off, Sat Feb 14 and Sat Feb 28 worked.
        assert!(c.is_working_day(date!(2026 - 02 - 14)).unwrap());
        assert!(!c.is_working_day(date!(2026 - 02 - 16)).unwrap()); // a Monday, off
        assert!(c.is_working_day(date!(2026 - 02 - 28)).unwrap());
    }

    #[test]
    fn r5_request_on_2025_09_26_spans_national_day_week() {
        // Fri 26 Sep 2025 + 15 working days:
        // Sun 28 (make-up), Mon 29, Tue 30 = 3; Oct 1–8 off; Thu 9, Fri 10, Sat 11 (make-up) = 6;
        // Oct 13–17 = 11; Oct 20–23 = 15 → Thu 23 Oct.
        assert_eq!(
            cal().add_working_days(date!(2025 - 09 - 26), 15),
            Ok(date!(2025 - 10 - 23))
        );
        // Without the holiday file one would have said 17 Oct: the calendar matters.
        assert_eq!(
            cal().add_working_days(date!(2025 - 09 - 26), 3),
            Ok(date!(2025 - 09 - 30))
        );
        assert_eq!(
            cal().add_working_days(date!(2025 - 09 - 26), 4),
            Ok(date!(2025 - 10 - 09))
        );
    }

    #[test]
    fn r5_spring_festival_2026_with_make_up_days() {
        // Thu 12 Feb 2026: Fri 13 = 1, Sat 14 (make-up) = 2, Feb 15–23 off, Tue 24 = 3,
        // 25, 26, 27 = 6, Sat 28 (make-up) = 7, Mar 2–6 = 12, Mar 9–11 = 15.
        assert_eq!(
            cal().add_working_days(date!(2026 - 02 - 12), 2),
            Ok(date!(2026 - 02 - 14))
        );
        assert_eq!(
            cal().add_working_days(date!(2026 - 02 - 12), 3),
            Ok(date!(2026 - 02 - 24))
        );
        assert_eq!(
            cal().add_working_days(date!(2026 - 02 - 12), 7),
            Ok(date!(2026 - 02 - 28))
        );
        assert_eq!(
            cal().add_working_days(date!(2026 - 02 - 12), 15),
            Ok(date!(2026 - 03 - 11))
        );
    }

    #[test]
    fn r5_deadline_past_covered_years_is_not_covered_error() {
        // Sun 20 Dec 2026 + 15 working days runs into 2027, which the file does not cover.
        assert_eq!(
            cal().add_working_days(date!(2026 - 12 - 20), 15),
            Err(CalendarError::NotCovered { year: 2027 })
        );
        // Staying inside 2026 is fine: Dec 21–25, 28–31 = 9 working days.
        assert_eq!(
            cal().add_working_days(date!(2026 - 12 - 20), 9),
            Ok(date!(2026 - 12 - 31))
        );
        assert_eq!(
            cal().is_working_day(date!(2027 - 01 - 04)),
            Err(CalendarError::NotCovered { year: 2027 })
        );
        assert_eq!(
            cal().is_working_day(date!(2024 - 12 - 31)),
            Err(CalendarError::NotCovered { year: 2024 })
        );
        let msg = CalendarError::NotCovered { year: 2027 }.to_string();
        assert!(msg.contains("2027"));
    }

    #[test]
    fn r5_operator_file_extends_coverage() {
        let updated = format!("{EMBEDDED_TSV}2027-01-01\toff\t元旦 New Year\n");
        let c = WorkCalendar::from_tsv(&updated).unwrap();
        assert!(c.covers(2027));
        assert!(!c.is_working_day(date!(2027 - 01 - 01)).unwrap());
        assert!(c.add_working_days(date!(2026 - 12 - 20), 15).is_ok());
    }

    #[test]
    fn calendar_file_errors_name_the_line() {
        let e = WorkCalendar::from_tsv("date\tday\tname\n2025-13-01\toff\tx\n").unwrap_err();
        assert_eq!(e.line, 2);
        let e = WorkCalendar::from_tsv("date\tday\tname\n2025-10-01\tholiday\tx\n").unwrap_err();
        assert!(e.reason.contains("off"));
        // 2025-10-09 is a Thursday: it cannot be a make-up working day.
        let e = WorkCalendar::from_tsv("date\tday\tname\n2025-10-09\twork\tx\n").unwrap_err();
        assert!(e.reason.contains("weekday"));
        let e = WorkCalendar::from_tsv("date\tday\tname\n2025-10-01\toff\tx\n2025-10-01\toff\tx\n")
            .unwrap_err();
        assert_eq!(e.line, 3);
        assert!(WorkCalendar::from_tsv("2025-10-01\toff\tx\n").is_err());
        assert!(WorkCalendar::from_tsv("").is_err());
    }

    #[test]
    fn r5_provisional_deadline_counts_uncovered_days_monday_to_friday() {
        // Sun 20 Dec 2026 + 15: Dec 21–25, 28–31 = 9 official days, then Mon–Fri in 2027:
        // Jan 1 (Fri) = 10, Jan 4–8 = 15 → Fri 8 Jan 2027, provisional.
        let d = cal().add_working_days_or_provisional(date!(2026 - 12 - 20), 15);
        assert_eq!(
            d,
            Deadline::Provisional {
                date: date!(2027 - 01 - 08),
                uncovered_year: 2027
            }
        );
        assert!(d.is_provisional());
        // Inside coverage it is the official count, the same as add_working_days.
        let d = cal().add_working_days_or_provisional(date!(2025 - 09 - 26), 15);
        assert_eq!(d, Deadline::Official(date!(2025 - 10 - 23)));
        assert_eq!(
            Ok(d.date()),
            cal().add_working_days(date!(2025 - 09 - 26), 15)
        );
        // Once a calendar covering 2027 is installed, the count is official again (and here,
        // with 1 January a holiday, one working day later than the provisional count).
        let with_2027 =
            WorkCalendar::from_tsv(&format!("{EMBEDDED_TSV}2027-01-01\toff\t元旦\n")).unwrap();
        assert_eq!(
            with_2027.add_working_days_or_provisional(date!(2026 - 12 - 20), 15),
            Deadline::Official(date!(2027 - 01 - 11))
        );
    }

    #[test]
    fn r5_r9_provisional_from_the_dates_the_issue_names() {
        // R5 (15 working days): a request on Thu 10 Dec 2026 is due Thu 31 Dec; from Fri 11 Dec
        // the count reaches 2027. R9 (3): Mon 28 Dec → Thu 31 Dec; Tue 29 Dec → 2027.
        let c = cal();
        assert_eq!(c.provisional_from(15), Some(date!(2026 - 12 - 11)));
        assert_eq!(c.provisional_from(3), Some(date!(2026 - 12 - 29)));
        assert!(
            !c.add_working_days_or_provisional(date!(2026 - 12 - 10), 15)
                .is_provisional()
        );
        assert!(
            !c.add_working_days_or_provisional(date!(2026 - 12 - 28), 3)
                .is_provisional()
        );
        assert_eq!(c.coverage_ends(), Some(date!(2026 - 12 - 31)));
    }

    #[test]
    fn r5_calendar_ends_soon_from_first_november_of_last_year() {
        let c = cal();
        assert!(!c.ends_soon(date!(2026 - 10 - 31)));
        assert!(c.ends_soon(date!(2026 - 11 - 01)));
        assert!(c.ends_soon(date!(2027 - 02 - 01)));
        assert!(!c.ends_soon(date!(2025 - 11 - 15)));
    }

    #[test]
    fn deadline_cap_is_official() {
        let p = Deadline::Provisional {
            date: date!(2027 - 02 - 10),
            uncovered_year: 2027,
        };
        assert_eq!(
            p.capped_at(date!(2027 - 01 - 31)),
            Deadline::Official(date!(2027 - 01 - 31))
        );
        assert_eq!(p.capped_at(date!(2027 - 03 - 01)), p);
    }

    #[test]
    fn local_date_uses_china_standard_time() {
        let instant = time::macros::datetime!(2025-09-30 17:00 UTC);
        assert_eq!(local_date(instant), date!(2025 - 10 - 01));
    }
}
