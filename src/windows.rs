//! The transfer-window calendar.
//!
//! A window is named `YYYY-summer` or `YYYY-winter` and is identified by the day it closes
//! (by default 1 September and 1 February of year `YYYY`). A claim without a window is about
//! the first window that closes on or after its publication date; a transfer with a date but
//! no window belongs to the same window by the same rule.

use std::fmt;

use chrono::{Datelike, NaiveDate};
use polars::prelude::*;

/// Summer or winter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Season {
    Winter,
    Summer,
}

impl Season {
    pub fn name(self) -> &'static str {
        match self {
            Season::Winter => "winter",
            Season::Summer => "summer",
        }
    }
}

/// A transfer window, e.g. `2026-summer`. Orders chronologically.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Window {
    pub year: i32,
    pub season: Season,
}

impl Window {
    /// Parses `YYYY-summer` / `YYYY-winter` (case-insensitive, surrounding spaces ignored).
    ///
    /// Also accepted, as data from elsewhere writes them: a space or `_` instead of `-`, and the
    /// season first (`Summer 2026`).
    pub fn parse(s: &str) -> Option<Window> {
        // The usual spelling, `2025-summer`, read off its bytes (this runs for every claim).
        if let [y0, y1, y2, y3, b'-', season @ ..] = s.as_bytes() {
            let year = [*y0, *y1, *y2, *y3];
            let season = match season {
                b"summer" => Some(Season::Summer),
                b"winter" => Some(Season::Winter),
                _ => None,
            };
            if let (Some(season), true) = (season, year.iter().all(u8::is_ascii_digit)) {
                let year = year.iter().fold(0, |n, d| n * 10 + i32::from(d - b'0'));
                return Some(Window { year, season });
            }
        }
        Window::parse_any(s)
    }

    /// [`Window::parse`] of any spelling it takes.
    fn parse_any(s: &str) -> Option<Window> {
        let s = s.trim();
        let cut = s.find(['-', ' ', '_'])?;
        let (a, b) = (s[..cut].trim(), s[cut + 1..].trim());
        let is_year = |t: &str| t.len() == 4 && t.bytes().all(|b| b.is_ascii_digit());
        let (year, season) = if is_year(a) {
            (a, b)
        } else if is_year(b) {
            (b, a)
        } else {
            return None;
        };
        let year: i32 = year.parse().ok()?;
        let season = if season.eq_ignore_ascii_case("summer") {
            Season::Summer
        } else if season.eq_ignore_ascii_case("winter") {
            Season::Winter
        } else {
            return None;
        };
        Some(Window { year, season })
    }

    /// A number that increases by one from each window to the next.
    pub fn ordinal(self) -> i32 {
        self.year * 2 + matches!(self.season, Season::Summer) as i32
    }

    pub fn from_ordinal(ordinal: i32) -> Window {
        let year = ordinal.div_euclid(2);
        let season = if ordinal.rem_euclid(2) == 1 {
            Season::Summer
        } else {
            Season::Winter
        };
        Window { year, season }
    }

    pub fn next(self) -> Window {
        Window::from_ordinal(self.ordinal() + 1)
    }
}

impl fmt::Display for Window {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.year, self.season.name())
    }
}

/// Close dates of windows (month and day, configurable).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WindowCalendar {
    summer_close: (u32, u32),
    winter_close: (u32, u32),
}

impl Default for WindowCalendar {
    fn default() -> Self {
        WindowCalendar {
            summer_close: (9, 1),
            winter_close: (2, 1),
        }
    }
}

fn parse_month_day(key: &str, s: &str) -> Result<(u32, u32), String> {
    let bad = || format!("windows.{key} must be MM-DD (a day every year has), got `{s}`");
    let (m, d) = s.trim().split_once('-').ok_or_else(bad)?;
    let (m, d): (u32, u32) = (m.parse().map_err(|_| bad())?, d.parse().map_err(|_| bad())?);
    // Must exist in a leap and a non-leap year alike.
    NaiveDate::from_ymd_opt(2023, m, d).ok_or_else(bad)?;
    Ok((m, d))
}

impl WindowCalendar {
    /// A calendar whose windows close on these days (`MM-DD`) every year.
    ///
    /// # Errors
    /// A message when a close day is not `MM-DD`, or when winter does not close before summer.
    ///
    /// # Examples
    /// ```
    /// use rumour::pipeline::WindowCalendar;
    /// let calendar = WindowCalendar::new("09-01", "02-01")?;
    /// let day = chrono::NaiveDate::from_ymd_opt(2025, 8, 20).unwrap_or_default();
    /// assert_eq!(calendar.window_for(day).to_string(), "2025-summer");
    /// # Ok::<(), String>(())
    /// ```
    pub fn new(summer_close: &str, winter_close: &str) -> Result<WindowCalendar, String> {
        let summer_close = parse_month_day("summer_close", summer_close)?;
        let winter_close = parse_month_day("winter_close", winter_close)?;
        if winter_close >= summer_close {
            return Err(
                "windows.winter_close must fall before windows.summer_close in the year".into(),
            );
        }
        Ok(WindowCalendar {
            summer_close,
            winter_close,
        })
    }

    /// The day the window closes.
    pub fn close(&self, w: Window) -> NaiveDate {
        let (m, d) = match w.season {
            Season::Summer => self.summer_close,
            Season::Winter => self.winter_close,
        };
        // Both month-days exist in every year (checked in `new`).
        NaiveDate::from_ymd_opt(w.year, m, d).unwrap_or(NaiveDate::MIN)
    }

    /// The first window that closes on or after `date`.
    pub fn window_for(&self, date: NaiveDate) -> Window {
        let md = (date.month(), date.day());
        let year = date.year();
        if md <= self.winter_close {
            Window {
                year,
                season: Season::Winter,
            }
        } else if md <= self.summer_close {
            Window {
                year,
                season: Season::Summer,
            }
        } else {
            Window {
                year: year + 1,
                season: Season::Winter,
            }
        }
    }

    /// The window table for the given ordinals: `window` (`Int32` ordinal), `window_label`,
    /// `window_close` and `prev_close` (day numbers, `Int32`: the close of this window and of
    /// the one before it) and `summer` (`Boolean`).
    pub fn table(&self, ordinals: &[i32]) -> PolarsResult<DataFrame> {
        let mut ordinals = ordinals.to_vec();
        ordinals.sort_unstable();
        ordinals.dedup();
        let windows: Vec<Window> = ordinals.iter().map(|o| Window::from_ordinal(*o)).collect();
        DataFrame::new_infer_height(vec![
            Column::new("window".into(), ordinals.clone()),
            Column::new(
                "window_label".into(),
                windows.iter().map(|w| w.to_string()).collect::<Vec<_>>(),
            ),
            Column::new(
                "window_close".into(),
                windows
                    .iter()
                    .map(|w| days_since_epoch(self.close(*w)))
                    .collect::<Vec<_>>(),
            ),
            Column::new(
                "prev_close".into(),
                windows
                    .iter()
                    .map(|w| days_since_epoch(self.close(Window::from_ordinal(w.ordinal() - 1))))
                    .collect::<Vec<_>>(),
            ),
            Column::new(
                "summer".into(),
                windows
                    .iter()
                    .map(|w| w.season == Season::Summer)
                    .collect::<Vec<_>>(),
            ),
        ])
    }
}

/// The Unix epoch as a date.
pub fn epoch() -> NaiveDate {
    NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or(NaiveDate::MIN)
}

/// Days since 1970-01-01, polars' physical representation of a `Date`.
pub fn days_since_epoch(d: NaiveDate) -> i32 {
    // Days from 0001-01-01 (day 1) to 1970-01-01: integer arithmetic, no duration (this runs
    // for every date read).
    const EPOCH_FROM_CE: i32 = 719_163;
    d.num_days_from_ce() - EPOCH_FROM_CE
}

/// The date of a polars physical `Date` value.
pub fn date_from_days(days: i32) -> NaiveDate {
    epoch() + chrono::Duration::days(days as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).expect("date")
    }

    #[test]
    fn days_since_epoch_counts_days_from_1970() {
        assert_eq!(days_since_epoch(d(1970, 1, 1)), 0);
        assert_eq!(days_since_epoch(d(1969, 12, 31)), -1);
        assert_eq!(days_since_epoch(d(2000, 3, 1)), 11_017);
        // Every day of 1600-2400 (leap centuries and not) as a duration from the epoch counts it.
        let mut day = d(1600, 1, 1);
        while day < d(2400, 12, 31) {
            assert_eq!(
                days_since_epoch(day) as i64,
                (day - epoch()).num_days(),
                "{day}"
            );
            assert_eq!(date_from_days(days_since_epoch(day)), day);
            day = day.succ_opt().expect("next day");
        }
    }

    proptest::proptest! {
        /// The usual spelling read off its bytes is what the general reading gives, and
        /// near misses fall through to it.
        #[test]
        fn the_usual_window_spelling_reads_as_any_other(
            year in proptest::sample::select(vec!["2025", "1999", "0000", "9999", "20x5", " 202"]),
            separator in proptest::sample::select(vec!["-", "_", " ", "--"]),
            season in proptest::sample::select(vec!["summer", "winter", "Summer", "WINTER", "summer ", "sumer"]),
        ) {
            let s = format!("{year}{separator}{season}");
            proptest::prop_assert_eq!(Window::parse(&s), Window::parse_any(&s), "{}", s);
        }
    }

    #[test]
    fn parse_display_and_order() {
        let w = Window::parse("2026-Summer").expect("parses");
        assert_eq!(w.to_string(), "2026-summer");
        assert!(Window::parse("2026-spring").is_none());
        assert_eq!(Window::parse("Summer 2026"), Some(w));
        assert_eq!(Window::parse("2026_summer"), Some(w));
        assert!(Window::parse("summer").is_none());
        assert!(Window::parse("26-summer").is_none());
        assert!(Window::parse("2027-winter").expect("w") > w);
        assert_eq!(w.next().to_string(), "2027-winter");
        assert_eq!(Window::from_ordinal(w.ordinal()), w);
    }

    #[test]
    fn window_for_dates() {
        let cal = WindowCalendar::default();
        assert_eq!(cal.window_for(d(2025, 9, 4)).to_string(), "2026-winter");
        assert_eq!(cal.window_for(d(2026, 2, 1)).to_string(), "2026-winter");
        assert_eq!(cal.window_for(d(2026, 2, 2)).to_string(), "2026-summer");
        assert_eq!(cal.window_for(d(2026, 9, 1)).to_string(), "2026-summer");
        assert_eq!(cal.window_for(d(2026, 9, 2)).to_string(), "2027-winter");
        assert_eq!(
            cal.close(Window::parse("2026-summer").expect("w")),
            d(2026, 9, 1)
        );
    }

    #[test]
    fn window_table() {
        let cal = WindowCalendar::default();
        let w = Window::parse("2026-summer").expect("w");
        let t = cal
            .table(&[w.ordinal(), w.ordinal(), w.ordinal() - 1])
            .expect("table");
        assert_eq!(t.height(), 2);
        let labels: Vec<Option<&str>> = t
            .column("window_label")
            .expect("c")
            .str()
            .expect("s")
            .iter()
            .collect();
        assert_eq!(labels, vec![Some("2026-winter"), Some("2026-summer")]);
        let prev = t.column("prev_close").expect("c").i32().expect("i").get(1);
        assert_eq!(prev, Some(days_since_epoch(d(2026, 2, 1))));
    }

    #[test]
    fn configurable_close_days() {
        let cal = WindowCalendar::new("08-31", "02-01").expect("cal");
        assert_eq!(cal.window_for(d(2026, 9, 1)).to_string(), "2027-winter");
        assert!(WindowCalendar::new("08-31", "09-30").is_err());
        assert!(WindowCalendar::new("02-30", "01-31").is_err());
    }
}
