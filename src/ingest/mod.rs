//! Ingest: the claims, transfers and aliases files become typed tables.
//!
//! Every row is either used or rejected. A structural problem (missing file, missing or
//! duplicated column, not CSV) stops the run; a row-level problem (bad date, empty required
//! field, unknown stage or window, absurd value, ragged row, non-UTF-8 bytes, a row after the
//! as-of date) sends the row to the rejects with its file, line, column, value and reason —
//! or stops the run under `--strict`.
//!
//! Names are interned through [`crate::normalise`] while reading, so tables carry `u32` ids:
//!
//! claims: `line, claim_id, published, source, author, player, from_club, to_club, stage,
//! window, window_inferred, text, text_hash, cites, market_value_eur, contract_until,
//! player_age, fee_eur` (`stage` is null where the file has none; `text` is kept only there).
//!
//! transfers: `line, player, from_club, to_club, date, window, known_on, kind, fee_eur`.
//!
//! One file per kind of input (`claims`, `transfers`, `aliases`), the parallel chunked reading
//! they share (`chunks`, over `reader`'s byte ranges), the records of the bytes (`records`),
//! the field parsers (`fields`), the separators and encodings (`decode`) and the rejects
//! (`rejects`). This file holds the
//! entry point, [`ingest`], and what it returns.

mod aliases;
mod chunks;
mod claims;
pub mod decode;
pub mod fields;
mod reader;
mod records;
mod rejects;
mod transfers;

use std::path::PathBuf;

use chrono::NaiveDate;
use polars::prelude::*;

use crate::error::{Error, Result};
use crate::normalise::{Aliases, NameKind, NameTable};
use crate::progress::Progress;
use crate::settings::{Reading, Settings};
use crate::windows::WindowCalendar;
pub use aliases::{alias_table, BUILTIN_ALIASES, BUILTIN_ALIASES_NAME};
pub use claims::CLAIM_COLUMNS;
pub use fields::TransferKind;
pub use rejects::Reject;
pub use transfers::TRANSFER_COLUMNS;

use aliases::read_aliases;
use claims::{hashes_repeat, parse_claims, reject_duplicate_claim_ids};
use reader::CsvTable;
use rejects::RejectLog;
use transfers::parse_transfers;

/// Row accounting of one input file: `rows_read = rows_used + rows_rejected`.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct FileStats {
    pub file: String,
    pub rows_read: u64,
    pub rows_used: u64,
    pub rows_rejected: u64,
    /// The field separator read (`,`, `;`, `tab`, `|`) and the text encoding.
    pub delimiter: String,
    pub encoding: String,
    /// Columns the file has that rumour does not use.
    pub extra_columns: Vec<String>,
}

/// Interned names of every kind.
#[derive(Debug, Clone)]
pub struct Names {
    pub players: NameTable,
    pub clubs: NameTable,
    pub sources: NameTable,
    pub authors: NameTable,
}

impl Default for Names {
    fn default() -> Self {
        Names {
            players: NameTable::new(NameKind::Player),
            clubs: NameTable::new(NameKind::Club),
            sources: NameTable::new(NameKind::Source),
            authors: NameTable::new(NameKind::Author),
        }
    }
}

impl Names {
    /// The table of one kind of name.
    pub fn table(&self, kind: NameKind) -> &NameTable {
        match kind {
            NameKind::Player => &self.players,
            NameKind::Club => &self.clubs,
            NameKind::Source => &self.sources,
            NameKind::Author => &self.authors,
        }
    }

    /// Frees every table's interning index: reading is done (see [`NameTable::release_index`]).
    pub fn release_indexes(&mut self) {
        for t in [
            &mut self.players,
            &mut self.clubs,
            &mut self.sources,
            &mut self.authors,
        ] {
            t.release_index();
        }
    }

    pub fn table_mut(&mut self, kind: NameKind) -> &mut NameTable {
        match kind {
            NameKind::Player => &mut self.players,
            NameKind::Club => &mut self.clubs,
            NameKind::Source => &mut self.sources,
            NameKind::Author => &mut self.authors,
        }
    }
}

/// Where the inputs are.
#[derive(Debug, Clone)]
pub struct InputPaths {
    pub claims: PathBuf,
    pub transfers: PathBuf,
    /// `None`: no alias table.
    pub aliases: Option<AliasTable>,
}

/// An alias table: a file, or the one shipped inside the binary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AliasTable {
    File(PathBuf),
    /// `data/aliases.csv` as it was when the binary was built (~200 rows for the major
    /// European clubs and outlets): used when no `--aliases` is given, from any directory.
    BuiltIn,
}

/// How to read them.
#[derive(Debug, Clone)]
pub struct IngestOptions {
    /// The first row-level problem stops the run.
    pub strict: bool,
    /// Claims published after this date, and transfers not known by it, are rejected.
    pub as_of: NaiveDate,
}

/// Everything read.
pub struct Inputs {
    pub claims: DataFrame,
    pub transfers: DataFrame,
    pub names: Names,
    pub rejects: Vec<Reject>,
    pub files: Vec<FileStats>,
    pub aliases: usize,
    /// Header names of the claims file's extra columns, in order: column `k` is carried in
    /// the claims table as `extra_column(k)`.
    pub claim_extras: Vec<String>,
}

/// What every reader of a file needs to know.
#[derive(Clone, Copy)]
struct ReadContext<'a> {
    config: &'a crate::settings::Config,
    input: decode::InputFormat,
    reading: Reading,
    calendar: &'a WindowCalendar,
    opts: &'a IngestOptions,
    aliases: &'a Aliases,
}

/// Reads the three inputs.
///
/// # Errors
/// [`Error::Input`] for structural problems, or the first row-level problem under `strict`.
pub fn ingest(
    paths: &InputPaths,
    settings: &Settings,
    opts: &IngestOptions,
    progress: &Progress,
) -> Result<Inputs> {
    let config = settings.config();
    let calendar = &settings.calendar;
    let mut log = RejectLog {
        strict: opts.strict,
        rejects: Vec::new(),
    };
    let mut files = Vec::new();
    let mut aliases = Aliases::default();
    match &paths.aliases {
        Some(AliasTable::File(path)) => {
            files.push(read_aliases(path, &mut aliases, &mut log, settings.input)?)
        }
        Some(AliasTable::BuiltIn) => {
            // Read through the same checks as a user's table, from a copy of the shipped text.
            let copy = decode::Transcoded::write(BUILTIN_ALIASES.as_bytes(), "aliases.csv")?;
            let mut stats = read_aliases(
                copy.path(),
                &mut aliases,
                &mut log,
                decode::InputFormat::default(),
            )?;
            stats.file = BUILTIN_ALIASES_NAME.into();
            files.push(stats);
        }
        None => {}
    }
    let mut names = Names::default();
    let ctx = ReadContext {
        config,
        input: settings.input,
        reading: settings.reading,
        calendar,
        opts,
        aliases: &aliases,
    };
    let claims = parse_claims(&paths.claims, ctx, progress)?;
    let claim_extras = claims.stats.extra_columns.clone();
    // Merging the claims' names takes one thread: the transfers are parsed meanwhile.
    let (claims, transfers) = std::thread::scope(|scope| {
        let transfers = scope.spawn(|| parse_transfers(&paths.transfers, ctx, progress));
        let claims = claims.merge(&mut names, &mut log);
        let transfers = transfers
            .join()
            .unwrap_or_else(|_| Err(Error::Internal("a reading thread panicked".into())));
        (claims, transfers)
    });
    let (claims, stats) = claims?;
    files.push(stats);
    // Whether a claim id repeats is read off the ids' hashes alone: on another thread, beside
    // the merging of the transfers' names and the ordering of every name, which take one
    // (at ten million claims, 0.2 s of sorting beside 0.4 s).
    let hashes = claims.stacked_u64("id_hash")?;
    let (transfers, repeat, [players, clubs, sources, authors]) =
        std::thread::scope(|scope| -> Result<_> {
            let repeat = scope.spawn(|| hashes_repeat(&hashes));
            let (transfers, stats) = transfers?.merge(&mut names, &mut log)?;
            files.push(stats);
            // Reading is done: the interning indexes go before the renumbering, which would
            // otherwise renumber them too (at ten million claims, 1.5 million player keys).
            names.release_indexes();
            // Ids in key order: nothing downstream depends on the order of input rows.
            let orders = [
                names.players.canonical_order(),
                names.clubs.canonical_order(),
                names.sources.canonical_order(),
                names.authors.canonical_order(),
            ];
            let repeat = repeat
                .join()
                .map_err(|_| Error::Internal("a checking thread panicked".into()))?;
            Ok((transfers, repeat, orders))
        })?;
    let canonical = |kind: NameKind| -> &[u32] {
        match kind {
            NameKind::Player => &players,
            NameKind::Club => &clubs,
            NameKind::Source => &sources,
            NameKind::Author => &authors,
        }
    };
    let claims = claims.finish(canonical)?;
    let transfers = transfers.finish(canonical)?;
    let (claims, dup_rejects) = reject_duplicate_claim_ids(claims, repeat)?;
    for r in dup_rejects {
        log.push(&paths.claims, r.0, r.1)?;
        if let Some(s) = files
            .iter_mut()
            .find(|f| f.file == paths.claims.display().to_string())
        {
            s.rows_used -= 1;
            s.rows_rejected += 1;
        }
    }
    let mut rejects = log.rejects;
    rejects.sort();
    Ok(Inputs {
        claims,
        transfers,
        names,
        rejects,
        files,
        aliases: aliases.len(),
        claim_extras,
    })
}

fn stats_for(table: &CsvTable) -> FileStats {
    FileStats {
        file: table.path().display().to_string(),
        delimiter: table.delimiter().to_string(),
        encoding: table.encoding().to_string(),
        extra_columns: table.extra_columns().to_vec(),
        ..FileStats::default()
    }
}

/// Per kind of name, a chunk's map from its own ids to the merged name table's.
pub(super) type IdMaps = Vec<(NameKind, Vec<u32>)>;

/// The claims-table name of the `k`-th extra column of the claims file (the file's own
/// header names are in [`Inputs::claim_extras`]; they may collide with anything).
pub fn extra_column(k: usize) -> String {
    format!("extra:{k}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_built_in_alias_table_reads_without_a_reject() {
        let aliases = alias_table(None, decode::InputFormat::default()).expect("built-in");
        assert!(aliases.len() > 50);
        assert_eq!(
            aliases.canonical(
                NameKind::Club,
                &crate::normalise::key(NameKind::Club, "Man Utd")
            ),
            Some("Manchester United")
        );
    }

    #[test]
    fn a_bad_alias_row_stops_with_its_line_column_and_value() {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("aliases.csv");
        std::fs::write(
            &path,
            "kind,alias,canonical\nclub,Spurs,Tottenham\nteam,Gers,Rangers\n",
        )
        .expect("write");
        let err = alias_table(Some(&path), decode::InputFormat::default())
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            err.contains("line 3") && err.contains("kind") && err.contains("team"),
            "{err}"
        );
    }

    #[test]
    fn ingest_uses_or_rejects_every_row_of_the_tiny_fixture() {
        let root = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        let paths = InputPaths {
            claims: root.join("tests/fixtures/tiny/rumours.csv"),
            transfers: root.join("tests/fixtures/tiny/transfers.csv"),
            aliases: None,
        };
        let opts = IngestOptions {
            strict: false,
            as_of: NaiveDate::from_ymd_opt(2026, 11, 24).unwrap_or_default(),
        };
        let inputs =
            ingest(&paths, &Settings::default(), &opts, &Progress::hidden()).expect("ingest");
        assert_eq!(inputs.files.len(), 2);
        for f in &inputs.files {
            assert_eq!(f.rows_read, f.rows_used + f.rows_rejected, "{}", f.file);
        }
        assert_eq!(inputs.claims.height() as u64, inputs.files[0].rows_used);
        assert_eq!(inputs.transfers.height() as u64, inputs.files[1].rows_used);
        assert_eq!(
            inputs.rejects.len() as u64,
            inputs.files.iter().map(|f| f.rows_rejected).sum::<u64>()
        );
    }
}
