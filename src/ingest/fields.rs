//! Typed parsing of single fields. Each parser returns the value or the reason it is wrong,
//! phrased for a person reading `rejects.csv`.

use chrono::{DateTime, NaiveDate};

use crate::schema::Stage;
use crate::windows::{days_since_epoch, Window};

use super::reader::{Row, RowProblem};
use crate::error::{Error, InputError, Result};
use std::path::Path;

/// `YYYY-MM-DD`, strictly (four-digit year, two-digit month and day, a day that exists).
pub fn date(s: &str) -> Result<NaiveDate, String> {
    let b = s.as_bytes();
    let shaped = b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit());
    if !shaped {
        return Err("not a date: expected YYYY-MM-DD".into());
    }
    // The digits are checked: their values are read off the bytes (this runs for every claim).
    let num =
        |r: std::ops::Range<usize>| b[r].iter().fold(0u32, |n, d| n * 10 + u32::from(d - b'0'));
    NaiveDate::from_ymd_opt(num(0..4) as i32, num(5..7), num(8..10))
        .ok_or_else(|| "no such day in the calendar".to_string())
}

/// A date in the user's `format` (`--date-format`, e.g. `%d/%m/%Y`), tried after ISO failed
/// with `iso_error`. Without a format, a date written with `/` or `.` gets a hint naming
/// `--date-format`: `04/09/2025` is 4 September in most of Europe and 9 April in the US.
pub fn date_in_format(
    s: &str,
    format: Option<&str>,
    iso_error: String,
) -> Result<NaiveDate, String> {
    match format {
        Some(f) => NaiveDate::parse_from_str(s, f)
            .or_else(|_| chrono::NaiveDateTime::parse_from_str(s, f).map(|dt| dt.date()))
            .map_err(|_| format!("not a date in the format {f} (--date-format) nor YYYY-MM-DD")),
        None if s.contains('/') || s.contains('.') => Err(format!(
            "{iso_error}; for dates written like {s}, pass --date-format %d/%m/%Y (day first) or %m/%d/%Y"
        )),
        None => Err(iso_error),
    }
}

/// `YYYY-MM-DD` or a date-time: RFC 3339 (`2025-09-04T10:30:00+02:00`) or without an offset
/// (`2025-09-04 10:30:00`); a date-time gives its calendar date as written.
pub fn date_or_datetime(s: &str) -> Result<NaiveDate, String> {
    if s.len() <= 10 {
        return date(s);
    }
    if let Ok(dt) = DateTime::parse_from_rfc3339(s) {
        return Ok(dt.date_naive());
    }
    // A date-time without an offset (`2025-09-04 10:30:00`, `2025-09-04T10:30`): its date.
    for format in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M",
    ] {
        if let Ok(dt) = chrono::NaiveDateTime::parse_from_str(s, format) {
            return Ok(dt.date());
        }
    }
    match s.get(..10).map(date) {
        Some(Err(e)) => Err(e),
        _ => Err("not a date: expected YYYY-MM-DD or a date-time like 2025-09-04T10:30:00Z".into()),
    }
}

/// A contract end: `YYYY-MM-DD`, or a bare year `YYYY` (read as 30 June, when contracts end).
pub fn contract_end(s: &str) -> Result<NaiveDate, String> {
    if s.len() == 4 && s.bytes().all(|c| c.is_ascii_digit()) {
        let y: i32 = s.parse().map_err(|_| "not a year".to_string())?;
        return NaiveDate::from_ymd_opt(y, 6, 30).ok_or_else(|| "not a year".into());
    }
    date(s).map_err(|e| format!("{e} (or a year YYYY)"))
}

/// A stage name.
pub fn stage(s: &str) -> Result<Stage, String> {
    Stage::parse(s)
        .ok_or_else(|| format!("unknown stage; expected one of {}", Stage::NAMES.join(", ")))
}

/// A window label `YYYY-summer` / `YYYY-winter`.
pub fn window(s: &str) -> Result<Window, String> {
    Window::parse(s).ok_or_else(|| "unknown window; expected YYYY-summer or YYYY-winter".into())
}

/// The value of `s` when it is up to 15 ASCII digits (most amounts and ages), read off the
/// bytes: below 2^53 every such number is a float exactly, the one `str::parse` gives.
fn plain_whole(s: &str) -> Option<f64> {
    let b = s.as_bytes();
    if b.is_empty() || b.len() > 15 || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(b.iter().fold(0u64, |n, d| n * 10 + u64::from(d - b'0')) as f64)
}

/// A finite number in `[min, max]`.
pub fn number(s: &str, min: f64, max: f64) -> Result<f64, String> {
    // `1_000_000` is accepted; the copy is made only then (this runs for every value).
    let parsed = if let Some(whole) = plain_whole(s) {
        Ok(whole)
    } else if s.contains('_') {
        s.replace('_', "").parse::<f64>()
    } else {
        s.parse::<f64>()
    };
    let v = parsed.map_err(|_| "not a number".to_string())?;
    if !v.is_finite() {
        return Err("not a finite number".into());
    }
    if v < min || v > max {
        return Err(format!("out of range: expected {min} to {max}"));
    }
    Ok(v)
}

/// Kind of a transfer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransferKind {
    Permanent = 0,
    Loan = 1,
    Free = 2,
    EndOfLoan = 3,
}

impl TransferKind {
    pub const NAMES: [&'static str; 4] = ["permanent", "loan", "free", "end_of_loan"];

    pub fn parse(s: &str) -> Result<TransferKind, String> {
        // The common spellings without an allocation (this runs for every transfer).
        for (name, kind) in TransferKind::NAMES.iter().zip([
            TransferKind::Permanent,
            TransferKind::Loan,
            TransferKind::Free,
            TransferKind::EndOfLoan,
        ]) {
            if s.eq_ignore_ascii_case(name) {
                return Ok(kind);
            }
        }
        let norm: String = s
            .trim()
            .to_ascii_lowercase()
            .chars()
            .map(|c| if c == ' ' || c == '-' { '_' } else { c })
            .collect();
        match norm.as_str() {
            "permanent" | "transfer" => Ok(TransferKind::Permanent),
            "loan" => Ok(TransferKind::Loan),
            "free" | "free_transfer" => Ok(TransferKind::Free),
            "end_of_loan" | "loan_return" => Ok(TransferKind::EndOfLoan),
            _ => Err(format!(
                "unknown kind; expected one of {}",
                TransferKind::NAMES.join(", ")
            )),
        }
    }
}

/// A field's parse error as the row's problem, naming the column and the value.
pub(super) fn opt_date(d: Option<NaiveDate>) -> Option<i32> {
    d.map(days_since_epoch)
}

pub(super) fn line_u32(file: &Path, line: u64) -> Result<u32> {
    u32::try_from(line).map_err(|_| {
        Error::Input(InputError::Header {
            file: file.to_path_buf(),
            message: "more than 4,294,967,295 lines are not supported".into(),
        })
    })
}

pub(super) fn with_column<T>(
    column: &str,
    value: &str,
    r: Result<T, String>,
) -> Result<T, RowProblem> {
    r.map_err(|reason| RowProblem::new(column, value, reason))
}

pub(super) fn optional<'a, T>(
    row: &Row<'a>,
    column: usize,
    parse: impl Fn(&str) -> Result<T, String>,
) -> Result<Option<T>, RowProblem> {
    row.get(column)
        .map(|v| with_column(row.name(column), v, parse(v)))
        .transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(
            date("2025-09-04"),
            Ok(NaiveDate::from_ymd_opt(2025, 9, 4).expect("d"))
        );
        assert_eq!(
            date("2025-02-30"),
            Err("no such day in the calendar".into())
        );
        assert!(date("2025-9-4").is_err());
        assert!(date("04/09/2025").is_err());
        assert_eq!(
            date_or_datetime("2025-09-04T23:30:00-02:00"),
            Ok(NaiveDate::from_ymd_opt(2025, 9, 4).expect("d"))
        );
        assert!(date_or_datetime("2025-09-04 banana").is_err());
        assert_eq!(
            date_or_datetime("2025-09-04 10:30:00"),
            Ok(NaiveDate::from_ymd_opt(2025, 9, 4).expect("d"))
        );
        assert_eq!(
            date_or_datetime("2025-09-04T10:30"),
            Ok(NaiveDate::from_ymd_opt(2025, 9, 4).expect("d"))
        );
        assert_eq!(
            date_or_datetime("2025-02-30T10:30:00Z"),
            Err("no such day in the calendar".into())
        );
        assert_eq!(
            contract_end("2028"),
            Ok(NaiveDate::from_ymd_opt(2028, 6, 30).expect("d"))
        );
    }

    proptest::proptest! {
        /// Dates and numbers read off their bytes are what the general parsers give.
        #[test]
        fn fast_reads_are_the_general_parsers(
            y in 0u32..10000, m in 0u32..14, d in 0u32..33,
            whole in 0u64..1_000_000_000_000_000, digits in 1usize..18,
        ) {
            let text = format!("{y:04}-{m:02}-{d:02}");
            proptest::prop_assert_eq!(
                date(&text).ok(),
                NaiveDate::from_ymd_opt(y as i32, m, d)
            );
            let text = format!("{whole:0digits$}");
            proptest::prop_assert_eq!(number(&text, 0.0, 1e18), text.parse::<f64>().map_err(|_| String::new()));
            proptest::prop_assert_eq!(plain_whole(&text).is_some(), text.len() <= 15);
        }
    }

    #[test]
    fn numbers_and_kinds() {
        assert_eq!(number("20000000", 0.0, 1e9), Ok(2e7));
        assert!(number("-5", 0.0, 1e9).is_err());
        assert!(number("NaN", 0.0, 1e9).is_err());
        assert!(number("300", 14.0, 50.0).is_err());
        assert_eq!(
            TransferKind::parse("End of loan"),
            Ok(TransferKind::EndOfLoan)
        );
        assert!(TransferKind::parse("swap").is_err());
    }
}
