//! `rumour import transfermarkt`: Transfermarkt-style scrapes into the transfers input.
//!
//! The scrape has one file per league with one row per move *as seen from a club*:
//! `club_name, player_name, club_involved_name, fee, transfer_movement (in|out),
//! transfer_period (Summer|Winter), fee_cleaned (millions), year` — where `year` is the
//! season's start, so `2021, Winter` is the January 2022 window. A move between two clubs of
//! the scraped leagues is listed twice, once from each side and often with two spellings.
//! Import turns each row into `player, from_club, to_club, window, fee_eur, kind` and keeps one
//! row per (player, from_club, to_club, window) after name normalisation and aliases.
//! Rows whose counterparty is not a club (`Retired`, `Without Club`, …) are skipped.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::error::{Error, InputError, Result};
use crate::normalise::{key, Aliases, NameKind};

/// A row of the scrape (extra columns are ignored).
#[derive(Debug, Deserialize)]
struct RawMove {
    club_name: String,
    player_name: String,
    club_involved_name: String,
    #[serde(default)]
    fee: String,
    transfer_movement: String,
    transfer_period: String,
    #[serde(default)]
    fee_cleaned: String,
    year: String,
}

/// Counterparties that are not clubs.
const NOT_CLUBS: &[&str] = &[
    "retired",
    "without club",
    "career break",
    "unknown",
    "ban",
    "suspended",
];

/// What an import did.
#[derive(Debug, Clone, Default, serde::Serialize, PartialEq)]
pub struct ImportSummary {
    pub rows_read: u64,
    pub written: u64,
    pub duplicates: u64,
    pub skipped_not_a_club: u64,
    pub rejected: u64,
    pub rejects: Vec<String>,
}

fn kind_of(fee: &str) -> &'static str {
    let f = fee.to_lowercase();
    if f.contains("end of loan") || f.contains("loan return") {
        "end_of_loan"
    } else if f.contains("loan") {
        "loan"
    } else if f.contains("free") {
        "free"
    } else {
        "permanent"
    }
}

/// What one scraped row is.
enum Read<'a> {
    /// `player, from, to, window`.
    Move(&'a str, &'a str, &'a str, String),
    /// A move to or from no club (retired, without club, …).
    NotAClub,
    Rejected(String),
}

/// Reads one scraped row: its direction, window and names, checked.
fn read_move<'a>(m: &'a RawMove, file: &Path) -> Read<'a> {
    let involved = m.club_involved_name.trim();
    if involved.is_empty() || NOT_CLUBS.contains(&involved.to_lowercase().as_str()) {
        return Read::NotAClub;
    }
    let (from, to) = match m.transfer_movement.trim().to_lowercase().as_str() {
        "in" => (involved, m.club_name.trim()),
        "out" => (m.club_name.trim(), involved),
        other => {
            return Read::Rejected(format!(
                "{}: player {}: transfer_movement `{other}` is not in/out",
                file.display(),
                m.player_name
            ));
        }
    };
    let Ok(year) = m.year.trim().parse::<i32>() else {
        return Read::Rejected(format!(
            "{}: player {}: year `{}` is not a year",
            file.display(),
            m.player_name,
            m.year
        ));
    };
    let window = match m.transfer_period.trim().to_lowercase().as_str() {
        "summer" => format!("{year}-summer"),
        "winter" => format!("{}-winter", year + 1),
        other => {
            return Read::Rejected(format!(
                "{}: player {}: transfer_period `{other}` is not Summer/Winter",
                file.display(),
                m.player_name
            ));
        }
    };
    let player = m.player_name.trim();
    if player.is_empty() || from.is_empty() || to.is_empty() {
        return Read::Rejected(format!("{}: a row without player or club", file.display()));
    }
    Read::Move(player, from, to, window)
}

/// Imports `files` (processed in the order given) into `out`.
///
/// # Errors
/// A file that cannot be read or lacks a required column; the output cannot be written.
pub fn import_transfermarkt(
    files: &[PathBuf],
    aliases: &Aliases,
    out: &Path,
    input: crate::ingest::decode::InputFormat,
) -> Result<ImportSummary> {
    let mut summary = ImportSummary::default();
    let mut seen: HashSet<(String, String, String, String)> = HashSet::new();
    // A missing directory is created, as `score` and `extract` do for theirs.
    if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| Error::Output {
            path: dir.to_path_buf(),
            source: e,
        })?;
    }
    let tmp = out.with_extension("csv.tmp");
    let mut w = csv::Writer::from_path(&tmp).map_err(|e| Error::Output {
        path: tmp.clone(),
        source: std::io::Error::other(e.to_string()),
    })?;
    let werr = |e: csv::Error| Error::Output {
        path: out.to_path_buf(),
        source: std::io::Error::other(e.to_string()),
    };
    w.write_record([
        "player",
        "from_club",
        "to_club",
        "date",
        "window",
        "fee_eur",
        "kind",
    ])
    .map_err(werr)?;
    for file in files {
        let (mut rdr, headers, _readable) =
            crate::ingest::decode::csv_reader(file, input, false).map_err(Error::Input)?;
        for required in [
            "club_name",
            "player_name",
            "club_involved_name",
            "transfer_movement",
            "transfer_period",
            "year",
        ] {
            if crate::ingest::decode::header_position(&headers, required).is_none() {
                return Err(Error::Input(InputError::MissingColumn {
                    file: file.clone(),
                    column: required.into(),
                    hint: " (expected a Transfermarkt scrape)".into(),
                }));
            }
        }
        for record in rdr.deserialize::<RawMove>() {
            summary.rows_read += 1;
            let m = match record {
                Ok(m) => m,
                Err(e) => {
                    summary.rejected += 1;
                    summary.rejects.push(format!("{}: {e}", file.display()));
                    continue;
                }
            };
            let (player, from, to, window) = match read_move(&m, file) {
                Read::Move(player, from, to, window) => (player, from, to, window),
                Read::NotAClub => {
                    summary.skipped_not_a_club += 1;
                    continue;
                }
                Read::Rejected(reason) => {
                    summary.rejected += 1;
                    summary.rejects.push(reason);
                    continue;
                }
            };
            let canon = |kind: NameKind, s: &str| {
                let k = key(kind, s);
                aliases
                    .canonical(kind, &k)
                    .map(|c| key(kind, c))
                    .unwrap_or(k)
            };
            let dedup = (
                canon(NameKind::Player, player),
                canon(NameKind::Club, from),
                canon(NameKind::Club, to),
                window.clone(),
            );
            if dedup.1 == dedup.2 {
                summary.rejected += 1;
                summary.rejects.push(format!(
                    "{}: player {player}: from and to are the same club",
                    file.display()
                ));
                continue;
            }
            if !seen.insert(dedup) {
                summary.duplicates += 1;
                continue;
            }
            let kind = kind_of(&m.fee);
            let fee = m
                .fee_cleaned
                .trim()
                .parse::<f64>()
                .ok()
                .filter(|f| *f > 0.0 && kind == "permanent")
                .map(|f| format!("{:.0}", f * 1e6))
                .unwrap_or_default();
            w.write_record([player, from, to, "", &window, &fee, kind])
                .map_err(werr)?;
            summary.written += 1;
        }
    }
    w.flush().map_err(|e| Error::Output {
        path: tmp.clone(),
        source: e,
    })?;
    drop(w);
    std::fs::rename(&tmp, out).map_err(|e| Error::Output {
        path: out.to_path_buf(),
        source: e,
    })?;
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_from_fee_text() {
        assert_eq!(kind_of("End of loan"), "end_of_loan");
        assert_eq!(kind_of("Loan fee:€500Th."), "loan");
        assert_eq!(kind_of("free transfer"), "free");
        assert_eq!(kind_of("€150Th."), "permanent");
    }
}
