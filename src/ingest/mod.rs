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

pub mod decode;
pub mod fields;
mod reader;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use polars::prelude::*;

use crate::error::{Error, InputError, Result};
use crate::normalise::{Aliases, NameKind, NameTable};
use crate::progress::Progress;
use crate::settings::{Reading, Settings};
use crate::windows::{days_since_epoch, WindowCalendar};
pub use fields::TransferKind;
pub use reader::{ColumnSpec, CsvTable, Next, Row, RowProblem};

/// Columns of the claims file.
pub const CLAIM_COLUMNS: &[ColumnSpec] = &[
    ColumnSpec {
        name: "claim_id",
        required: false,
    },
    ColumnSpec {
        name: "published",
        required: true,
    },
    ColumnSpec {
        name: "source",
        required: true,
    },
    ColumnSpec {
        name: "author",
        required: false,
    },
    ColumnSpec {
        name: "player",
        required: true,
    },
    ColumnSpec {
        name: "from_club",
        required: false,
    },
    ColumnSpec {
        name: "to_club",
        required: true,
    },
    ColumnSpec {
        name: "stage",
        required: false,
    },
    ColumnSpec {
        name: "window",
        required: false,
    },
    ColumnSpec {
        name: "text",
        required: false,
    },
    ColumnSpec {
        name: "url",
        required: false,
    },
    ColumnSpec {
        name: "cites",
        required: false,
    },
    ColumnSpec {
        name: "market_value_eur",
        required: false,
    },
    ColumnSpec {
        name: "contract_until",
        required: false,
    },
    ColumnSpec {
        name: "player_age",
        required: false,
    },
    ColumnSpec {
        name: "fee_eur",
        required: false,
    },
];

/// Columns of the transfers file (`date` and/or `window` must exist).
pub const TRANSFER_COLUMNS: &[ColumnSpec] = &[
    ColumnSpec {
        name: "player",
        required: true,
    },
    ColumnSpec {
        name: "from_club",
        required: true,
    },
    ColumnSpec {
        name: "to_club",
        required: true,
    },
    ColumnSpec {
        name: "date",
        required: false,
    },
    ColumnSpec {
        name: "window",
        required: false,
    },
    ColumnSpec {
        name: "fee_eur",
        required: false,
    },
    ColumnSpec {
        name: "kind",
        required: false,
    },
];

/// Columns of the aliases file.
pub const ALIAS_COLUMNS: &[ColumnSpec] = &[
    ColumnSpec {
        name: "kind",
        required: true,
    },
    ColumnSpec {
        name: "alias",
        required: true,
    },
    ColumnSpec {
        name: "canonical",
        required: true,
    },
];

/// Positions of the claims columns in [`CLAIM_COLUMNS`] (every column has one, used or not).
#[allow(dead_code)]
mod claim_col {
    pub const CLAIM_ID: usize = 0;
    pub const PUBLISHED: usize = 1;
    pub const SOURCE: usize = 2;
    pub const AUTHOR: usize = 3;
    pub const PLAYER: usize = 4;
    pub const FROM_CLUB: usize = 5;
    pub const TO_CLUB: usize = 6;
    pub const STAGE: usize = 7;
    pub const WINDOW: usize = 8;
    pub const TEXT: usize = 9;
    pub const URL: usize = 10;
    pub const CITES: usize = 11;
    pub const MARKET_VALUE_EUR: usize = 12;
    pub const CONTRACT_UNTIL: usize = 13;
    pub const PLAYER_AGE: usize = 14;
    pub const FEE_EUR: usize = 15;
}

/// Positions of the transfers columns in [`TRANSFER_COLUMNS`].
mod transfer_col {
    pub const PLAYER: usize = 0;
    pub const FROM_CLUB: usize = 1;
    pub const TO_CLUB: usize = 2;
    pub const DATE: usize = 3;
    pub const WINDOW: usize = 4;
    pub const FEE_EUR: usize = 5;
    pub const KIND: usize = 6;
}

/// Positions of the alias columns in [`ALIAS_COLUMNS`].
mod alias_col {
    pub const KIND: usize = 0;
    pub const ALIAS: usize = 1;
    pub const CANONICAL: usize = 2;
}

/// A row that was not used, and why.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
pub struct Reject {
    pub file: String,
    pub line: u64,
    pub column: String,
    pub value: String,
    pub reason: String,
}

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

/// The shipped alias table.
pub const BUILTIN_ALIASES: &str = include_str!("../../data/aliases.csv");

/// The name the built-in alias table has in the summary and in rejects.
pub const BUILTIN_ALIASES_NAME: &str = "<built-in aliases>";

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
    /// the claims table as [`extra_column`]`(k)`.
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

/// Collects rejects; under `strict` the first one is an error.
struct RejectLog {
    strict: bool,
    rejects: Vec<Reject>,
}

impl RejectLog {
    fn push(&mut self, file: &Path, line: u64, p: RowProblem) -> Result<(), InputError> {
        if self.strict {
            return Err(InputError::Row {
                file: file.to_path_buf(),
                line,
                column: p.column,
                value: p.value,
                reason: p.reason,
            });
        }
        self.rejects.push(Reject {
            file: file.display().to_string(),
            line,
            column: p.column,
            value: p.value,
            reason: p.reason,
        });
        Ok(())
    }
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
            .unwrap_or_else(|_| Err(Error::Usage("a reading thread panicked".into())));
        (claims, transfers)
    });
    let (claims, stats) = claims?;
    files.push(stats);
    let (transfers, stats) = transfers?.merge(&mut names, &mut log)?;
    files.push(stats);
    // Ids in key order: nothing downstream depends on the order of input rows.
    let players = names.players.canonical_order();
    let clubs = names.clubs.canonical_order();
    let sources = names.sources.canonical_order();
    let authors = names.authors.canonical_order();
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
    let (claims, dup_rejects) = reject_duplicate_claim_ids(claims)?;
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

/// Reads an alias table on its own (for `extract` and `import`): the file given, else the
/// built-in table. The first bad row is an error naming its line, column and value.
///
/// # Errors
/// [`Error::Input`] for an unreadable file or a bad row.
pub fn alias_table(path: Option<&Path>, input: decode::InputFormat) -> Result<Aliases> {
    let mut aliases = Aliases::default();
    let mut log = RejectLog {
        strict: true,
        rejects: Vec::new(),
    };
    match path {
        Some(path) => read_aliases(path, &mut aliases, &mut log, input)?,
        None => {
            let copy = decode::Transcoded::write(BUILTIN_ALIASES.as_bytes(), "aliases.csv")?;
            read_aliases(
                copy.path(),
                &mut aliases,
                &mut log,
                decode::InputFormat::default(),
            )?
        }
    };
    Ok(aliases)
}

/// Reads the alias table. A row naming an unknown kind, or mapping an alias already mapped to
/// another canonical name, is rejected.
fn read_aliases(
    path: &Path,
    aliases: &mut Aliases,
    log: &mut RejectLog,
    input: decode::InputFormat,
) -> Result<FileStats> {
    let mut table = CsvTable::open(path, ALIAS_COLUMNS, &BTreeMap::new(), 65_536, input)?;
    let mut stats = stats_for(&table);
    let pass = read_rows(
        &mut table,
        log.strict,
        &indicatif::ProgressBar::hidden(),
        |row| Ok(parse_alias(row, aliases)),
    )?;
    log_problems(log, path, pass.problems, &mut stats, pass.read, pass.used)?;
    Ok(stats)
}

fn parse_alias(row: &Row, aliases: &mut Aliases) -> Result<(), RowProblem> {
    let kind_raw = row.required(alias_col::KIND)?;
    let kind = NameKind::parse(kind_raw).ok_or_else(|| {
        RowProblem::new(
            "kind",
            kind_raw,
            "unknown kind; expected club, player, source or author",
        )
    })?;
    let alias = row.required(alias_col::ALIAS)?;
    let canonical = row.required(alias_col::CANONICAL)?;
    if let Some(existing) = aliases.insert(kind, alias, canonical) {
        return Err(RowProblem::new(
            "canonical",
            canonical,
            format!("alias `{alias}` already maps to `{existing}`"),
        ));
    }
    Ok(())
}

/// Rows of one chunk of a file, parsed with the chunk's own name tables.
struct Chunk {
    frame: DataFrame,
    names: Names,
    /// `(line, problem)` in line order.
    problems: Vec<(u64, RowProblem)>,
    read: u64,
    used: u64,
}

/// Reads `table` in parallel chunks with `parse`; the chunks, in file order.
fn parse_chunks(
    table: CsvTable,
    reading: Reading,
    parse: &(dyn Fn(CsvTable) -> Result<Chunk> + Sync),
) -> Result<Vec<Chunk>> {
    let parts = table.split(reading.threads.max(1), reading.split_min_bytes)?;
    std::thread::scope(|scope| {
        let handles: Vec<_> = parts
            .into_iter()
            .map(|part| scope.spawn(move || parse(part)))
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(Error::Usage("a reading thread panicked".into())))
            })
            .collect()
    })
}

/// Merges the chunks' names into `names` (renumbering the `id_columns` later, in
/// [`ChunkedFrame::finish`]) and their counts, in file order.
fn merge_chunks(
    chunks: Vec<Chunk>,
    names: &mut Names,
    id_columns: &[(&'static str, NameKind)],
) -> (ChunkedFrame, Pass) {
    let mut frames = Vec::with_capacity(chunks.len());
    let mut pass = Pass::default();
    for mut chunk in chunks {
        // Each kind of name is merged once, in file order; the map renumbers the chunk's ids.
        let mut maps: Vec<(NameKind, Vec<u32>)> = Vec::new();
        for (_, kind) in id_columns {
            if !maps.iter().any(|(k, _)| k == kind) {
                let other = std::mem::replace(chunk.names.table_mut(*kind), NameTable::new(*kind));
                maps.push((*kind, names.table_mut(*kind).absorb(other)));
            }
        }
        frames.push((chunk.frame, maps));
        pass.problems.append(&mut chunk.problems);
        pass.read += chunk.read;
        pass.used += chunk.used;
    }
    (
        ChunkedFrame {
            chunks: frames,
            id_columns: id_columns.to_vec(),
        },
        pass,
    )
}

/// A file read in parallel chunks whose names are not merged yet.
struct Parsed {
    path: PathBuf,
    stats: FileStats,
    chunks: Vec<Chunk>,
    id_columns: &'static [(&'static str, NameKind)],
}

impl Parsed {
    /// Merges the names into `names` and the row problems into `log`.
    fn merge(self, names: &mut Names, log: &mut RejectLog) -> Result<(ChunkedFrame, FileStats)> {
        let Parsed {
            path,
            mut stats,
            chunks,
            id_columns,
        } = self;
        let (frame, pass) = merge_chunks(chunks, names, id_columns);
        log_problems(log, &path, pass.problems, &mut stats, pass.read, pass.used)?;
        Ok((frame, stats))
    }
}

/// Per kind of name, a chunk's map from its own ids to the merged name table's.
type IdMaps = Vec<(NameKind, Vec<u32>)>;

/// A file read in parallel chunks whose name ids are still each chunk's own: they are
/// renumbered once, when the final (canonical) numbering is known.
struct ChunkedFrame {
    /// Per chunk, in file order: its rows and, per kind of name, the map from its ids to
    /// the merged name table's.
    chunks: Vec<(DataFrame, IdMaps)>,
    id_columns: Vec<(&'static str, NameKind)>,
}

impl ChunkedFrame {
    /// Renumbers every id column through the chunk's map and then `then` (merged id →
    /// final id), in one pass per column, and stacks the chunks in file order.
    fn finish<'a>(self, then: impl Fn(NameKind) -> &'a [u32]) -> Result<DataFrame> {
        let mut frame: Option<DataFrame> = None;
        for (mut df, maps) in self.chunks {
            for (kind, map) in &maps {
                let last = then(*kind);
                let composed: Vec<u32> = map
                    .iter()
                    .map(|m| last.get(*m as usize).copied().unwrap_or(*m))
                    .collect();
                for (column, _) in self.id_columns.iter().filter(|(_, k)| k == kind) {
                    crate::normalise::remap_ids(&mut df, column, &composed)?;
                }
            }
            match frame.as_mut() {
                None => frame = Some(df),
                Some(f) => {
                    f.vstack_mut_owned(df)?;
                }
            }
        }
        Ok(frame.unwrap_or_default())
    }
}

/// Counts of one pass over a file (or chunk).
#[derive(Default)]
struct Pass {
    read: u64,
    used: u64,
    /// `(line, problem)` in line order.
    problems: Vec<(u64, RowProblem)>,
}

/// Reads every record of `table`: `use_row` gets each readable one and returns `Ok(Ok(()))`
/// when the row is used, `Ok(Err(problem))` when it is rejected (or `Err` to stop the run).
/// Records the reader cannot make a row of are rejected too. Advances `bar` as it goes.
fn read_rows(
    table: &mut CsvTable,
    strict: bool,
    bar: &indicatif::ProgressBar,
    mut use_row: impl FnMut(&Row) -> Result<Result<(), RowProblem>>,
) -> Result<Pass> {
    let path = table.path().to_path_buf();
    let mut pass = Pass::default();
    let mut reported = 0u64;
    loop {
        if pass.read % 65_536 == 0 {
            let at = table.progress().0;
            bar.inc(at.saturating_sub(reported));
            reported = at;
        }
        let (line, outcome) = match table.next_row()? {
            Next::End => break,
            Next::Problem { line, problem } => (line, Err(problem)),
            Next::Row(row) => (row.line, use_row(&row)?),
        };
        pass.read += 1;
        match outcome {
            Ok(()) => pass.used += 1,
            Err(p) => note_problem(&mut pass.problems, strict, &path, line, p)?,
        }
    }
    bar.inc(table.progress().0.saturating_sub(reported));
    Ok(pass)
}

/// Records a chunk's row problem: under `strict` it ends the chunk with an error.
fn note_problem(
    problems: &mut Vec<(u64, RowProblem)>,
    strict: bool,
    file: &Path,
    line: u64,
    p: RowProblem,
) -> Result<()> {
    if strict {
        return Err(Error::Input(InputError::Row {
            file: file.to_path_buf(),
            line,
            column: p.column,
            value: p.value,
            reason: p.reason,
        }));
    }
    problems.push((line, p));
    Ok(())
}

/// Moves a file's problems into the reject log and fills its row counts.
fn log_problems(
    log: &mut RejectLog,
    path: &Path,
    problems: Vec<(u64, RowProblem)>,
    stats: &mut FileStats,
    read: u64,
    used: u64,
) -> Result<()> {
    stats.rows_read = read;
    stats.rows_used = used;
    stats.rows_rejected = problems.len() as u64;
    for (line, p) in problems {
        log.push(path, line, p)?;
    }
    Ok(())
}

/// The claims file's name columns, and the kind of name each holds.
const CLAIM_IDS: &[(&str, NameKind)] = &[
    ("source", NameKind::Source),
    ("cites", NameKind::Source),
    ("author", NameKind::Author),
    ("player", NameKind::Player),
    ("from_club", NameKind::Club),
    ("to_club", NameKind::Club),
];

fn parse_claims(path: &Path, ctx: ReadContext, progress: &Progress) -> Result<Parsed> {
    let config = ctx.config;
    let table = CsvTable::open(
        path,
        CLAIM_COLUMNS,
        &config.columns.claims,
        config.limits.max_field_bytes,
        ctx.input,
    )?;
    let stats = stats_for(&table);
    let bar = progress.bytes("reading claims", table.progress().1);
    let parse = |part: CsvTable| claims_chunk(part, ctx, &bar);
    let chunks = parse_chunks(table, ctx.reading, &parse)?;
    bar.finish_and_clear();
    if chunks.iter().all(|c| c.read == 0) {
        return Err(Error::Input(InputError::Header {
            file: path.to_path_buf(),
            message: "the file has a header but no claims".into(),
        }));
    }
    Ok(Parsed {
        path: path.to_path_buf(),
        stats,
        chunks,
        id_columns: CLAIM_IDS,
    })
}

/// Parses one chunk of the claims file.
fn claims_chunk(
    mut table: CsvTable,
    ctx: ReadContext,
    bar: &indicatif::ProgressBar,
) -> Result<Chunk> {
    let ReadContext {
        config,
        calendar,
        opts,
        aliases,
        ..
    } = ctx;
    let path = table.path().to_path_buf();
    let limits = &config.limits;
    let date_format = config.input.date_format();
    let cap = (table.progress().1 / 128).min(1 << 26) as usize;
    let mut names = Names::default();
    let mut columns = ClaimColumns::new(cap, table.extra_columns().len());
    let pass = read_rows(&mut table, opts.strict, bar, |row| {
        let line = row.line;
        let claim = match parse_claim(row, calendar, opts, limits, date_format) {
            Ok(claim) => claim,
            Err(p) => return Ok(Err(p)),
        };
        let from = claim.from_club.map(|s| names.clubs.intern(s, aliases));
        let to = names.clubs.intern(claim.to_club, aliases);
        if from == Some(to) {
            return Ok(Err(RowProblem::new(
                "to_club",
                claim.to_club,
                "to_club is the same club as from_club",
            )));
        }
        let line = line_u32(&path, line)?;
        columns.push(line, &claim, (from, to), &mut names, aliases, calendar);
        for (k, b) in columns.extra.iter_mut().enumerate() {
            b.append_option(row.extra(k));
        }
        Ok(Ok(()))
    })?;
    let frame = DataFrame::new_infer_height(columns.finish())?;
    Ok(Chunk {
        frame,
        names,
        problems: pass.problems,
        read: pass.read,
        used: pass.used,
    })
}

/// The claims table of one chunk, column by column, as its rows are read.
struct ClaimColumns {
    line: PrimitiveChunkedBuilder<UInt32Type>,
    id: StringChunkedBuilder,
    id_hash: PrimitiveChunkedBuilder<UInt64Type>,
    published: PrimitiveChunkedBuilder<Int32Type>,
    source: PrimitiveChunkedBuilder<UInt32Type>,
    author: PrimitiveChunkedBuilder<UInt32Type>,
    player: PrimitiveChunkedBuilder<UInt32Type>,
    from: PrimitiveChunkedBuilder<UInt32Type>,
    to: PrimitiveChunkedBuilder<UInt32Type>,
    stage: PrimitiveChunkedBuilder<UInt32Type>,
    window: PrimitiveChunkedBuilder<Int32Type>,
    inferred: BooleanChunkedBuilder,
    text: StringChunkedBuilder,
    hash: PrimitiveChunkedBuilder<UInt64Type>,
    cites: PrimitiveChunkedBuilder<UInt32Type>,
    value: PrimitiveChunkedBuilder<Float64Type>,
    contract: PrimitiveChunkedBuilder<Int32Type>,
    age: PrimitiveChunkedBuilder<Float64Type>,
    fee: PrimitiveChunkedBuilder<Float64Type>,
    /// Columns the spec does not know, carried through as text to the reports.
    extra: Vec<StringChunkedBuilder>,
    hasher: foldhash::fast::FixedState,
}

impl ClaimColumns {
    fn new(cap: usize, extras: usize) -> ClaimColumns {
        let u32b = |n: &str| PrimitiveChunkedBuilder::<UInt32Type>::new(n.into(), cap);
        let i32b = |n: &str| PrimitiveChunkedBuilder::<Int32Type>::new(n.into(), cap);
        let f64b = |n: &str| PrimitiveChunkedBuilder::<Float64Type>::new(n.into(), cap);
        let u64b = |n: &str| PrimitiveChunkedBuilder::<UInt64Type>::new(n.into(), cap);
        ClaimColumns {
            line: u32b("line"),
            id: StringChunkedBuilder::new("claim_id".into(), cap),
            id_hash: u64b("id_hash"),
            published: i32b("published"),
            source: u32b("source"),
            author: u32b("author"),
            player: u32b("player"),
            from: u32b("from_club"),
            to: u32b("to_club"),
            stage: u32b("stage"),
            window: i32b("window"),
            inferred: BooleanChunkedBuilder::new("window_inferred".into(), cap),
            text: StringChunkedBuilder::new("text".into(), cap / 4),
            hash: u64b("text_hash"),
            cites: u32b("cites"),
            value: f64b("market_value_eur"),
            contract: i32b("contract_until"),
            age: f64b("player_age"),
            fee: f64b("fee_eur"),
            extra: (0..extras)
                .map(|k| StringChunkedBuilder::new(extra_column(k).into(), cap / 4))
                .collect(),
            hasher: foldhash::fast::FixedState::with_seed(0x5eed),
        }
    }

    /// Appends a claim whose clubs are interned as `(from, to)` (the extras apart).
    fn push(
        &mut self,
        line: u32,
        claim: &ClaimRow,
        (from, to): (Option<u32>, u32),
        names: &mut Names,
        aliases: &Aliases,
        calendar: &WindowCalendar,
    ) {
        use std::hash::BuildHasher;
        self.line.append_value(line);
        match claim.claim_id {
            Some(id) => {
                self.id.append_value(id);
                self.id_hash.append_value(self.hasher.hash_one(id));
            }
            None => {
                let id = format!("line-{line}");
                self.id_hash.append_value(self.hasher.hash_one(&id));
                self.id.append_value(id);
            }
        }
        self.published
            .append_value(days_since_epoch(claim.published));
        self.source
            .append_value(names.sources.intern(claim.source, aliases));
        self.author
            .append_option(claim.author.map(|a| names.authors.intern(a, aliases)));
        self.player
            .append_value(names.players.intern(claim.player, aliases));
        self.from.append_option(from);
        self.to.append_value(to);
        self.stage.append_option(claim.stage.map(|s| s.rank()));
        self.window.append_value(
            claim
                .window
                .unwrap_or_else(|| calendar.window_for(claim.published))
                .ordinal(),
        );
        self.inferred.append_value(claim.window.is_none());
        // The wording is kept only where it must give the stage; its hash finds copies.
        self.text.append_option(if claim.stage.is_none() {
            claim.text
        } else {
            None
        });
        self.hash
            .append_option(claim.text.map(|t| self.hasher.hash_one(t)));
        self.cites
            .append_option(claim.cites.map(|s| names.sources.intern(s, aliases)));
        self.value.append_option(claim.market_value);
        self.contract.append_option(opt_date(claim.contract_until));
        self.age.append_option(claim.age);
        self.fee.append_option(claim.fee);
    }

    /// The columns, in the claims table's order.
    fn finish(self) -> Vec<Column> {
        let mut columns = vec![
            self.line.finish().into_column(),
            self.id.finish().into_column(),
            self.id_hash.finish().into_column(),
            self.published.finish().into_column(),
            self.source.finish().into_column(),
            self.author.finish().into_column(),
            self.player.finish().into_column(),
            self.from.finish().into_column(),
            self.to.finish().into_column(),
            self.stage.finish().into_column(),
            self.window.finish().into_column(),
            self.inferred.finish().into_column(),
            self.text.finish().into_column(),
            self.hash.finish().into_column(),
            self.cites.finish().into_column(),
            self.value.finish().into_column(),
            self.contract.finish().into_column(),
            self.age.finish().into_column(),
            self.fee.finish().into_column(),
        ];
        columns.extend(self.extra.into_iter().map(|b| b.finish().into_column()));
        columns
    }
}

/// The claims-table name of the `k`-th extra column of the claims file (the file's own
/// header names are in [`Inputs::claim_extras`]; they may collide with anything).
pub fn extra_column(k: usize) -> String {
    format!("extra:{k}")
}

fn opt_date(d: Option<NaiveDate>) -> Option<i32> {
    d.map(days_since_epoch)
}

fn line_u32(file: &Path, line: u64) -> Result<u32> {
    u32::try_from(line).map_err(|_| {
        Error::Input(InputError::Header {
            file: file.to_path_buf(),
            message: "more than 4,294,967,295 lines are not supported".into(),
        })
    })
}

/// A claims row, parsed and checked, before its names are interned.
struct ClaimRow<'a> {
    claim_id: Option<&'a str>,
    published: NaiveDate,
    source: &'a str,
    author: Option<&'a str>,
    player: &'a str,
    from_club: Option<&'a str>,
    to_club: &'a str,
    stage: Option<crate::schema::Stage>,
    window: Option<crate::windows::Window>,
    text: Option<&'a str>,
    cites: Option<&'a str>,
    market_value: Option<f64>,
    contract_until: Option<NaiveDate>,
    age: Option<f64>,
    fee: Option<f64>,
}

fn with_column<T>(column: &str, value: &str, r: Result<T, String>) -> Result<T, RowProblem> {
    r.map_err(|reason| RowProblem::new(column, value, reason))
}

fn optional<'a, T>(
    row: &Row<'a>,
    column: usize,
    parse: impl Fn(&str) -> Result<T, String>,
) -> Result<Option<T>, RowProblem> {
    row.get(column)
        .map(|v| with_column(row.name(column), v, parse(v)))
        .transpose()
}

fn parse_claim<'a>(
    row: &Row<'a>,
    calendar: &WindowCalendar,
    opts: &IngestOptions,
    limits: &crate::settings::LimitsConfig,
    date_format: Option<&str>,
) -> Result<ClaimRow<'a>, RowProblem> {
    let published_raw = row.required(claim_col::PUBLISHED)?;
    let published = with_column(
        "published",
        published_raw,
        fields::date_or_datetime(published_raw)
            .or_else(|e| fields::date_in_format(published_raw, date_format, e)),
    )?;
    if published > opts.as_of {
        return Err(RowProblem::new(
            "published",
            published_raw,
            format!("published after the as-of date {}", opts.as_of),
        ));
    }
    let source = row.required(claim_col::SOURCE)?;
    let player = row.required(claim_col::PLAYER)?;
    let to_club = row.required(claim_col::TO_CLUB)?;
    let stage = optional(row, claim_col::STAGE, fields::stage)?;
    let window = optional(row, claim_col::WINDOW, fields::window)?;
    if let Some(w) = window {
        // A claim about a window that had closed long before it was published is a typo.
        let close = calendar.close(w);
        if close < published - chrono::Duration::days(366) {
            return Err(RowProblem::new(
                "window",
                row.get(claim_col::WINDOW).unwrap_or(""),
                format!("window closed on {close}, over a year before the claim was published"),
            ));
        }
    }
    Ok(ClaimRow {
        claim_id: row.get(claim_col::CLAIM_ID),
        published,
        source,
        author: row.get(claim_col::AUTHOR),
        player,
        from_club: row.get(claim_col::FROM_CLUB),
        to_club,
        stage,
        window,
        text: row.get(claim_col::TEXT),
        cites: row.get(claim_col::CITES),
        market_value: optional(row, claim_col::MARKET_VALUE_EUR, |v| {
            fields::number(v, 0.0, limits.max_fee_eur)
        })?,
        contract_until: optional(row, claim_col::CONTRACT_UNTIL, fields::contract_end)?,
        age: optional(row, claim_col::PLAYER_AGE, |v| {
            fields::number(v, limits.min_age, limits.max_age)
        })?,
        fee: optional(row, claim_col::FEE_EUR, |v| {
            fields::number(v, 0.0, limits.max_fee_eur)
        })?,
    })
}

/// The transfers file's name columns, and the kind of name each holds.
const TRANSFER_IDS: &[(&str, NameKind)] = &[
    ("player", NameKind::Player),
    ("from_club", NameKind::Club),
    ("to_club", NameKind::Club),
];

fn parse_transfers(path: &Path, ctx: ReadContext, progress: &Progress) -> Result<Parsed> {
    let config = ctx.config;
    let table = CsvTable::open(
        path,
        TRANSFER_COLUMNS,
        &config.columns.transfers,
        config.limits.max_field_bytes,
        ctx.input,
    )?;
    if !table.has_column("date") && !table.has_column("window") {
        return Err(Error::Input(InputError::MissingColumn {
            file: path.to_path_buf(),
            column: "date` or `window".into(),
            hint: " (a transfer needs its date, its window, or both)".into(),
        }));
    }
    let stats = stats_for(&table);
    let bar = progress.bytes("reading transfers", table.progress().1);
    let parse = |part: CsvTable| transfers_chunk(part, ctx, &bar);
    let chunks = parse_chunks(table, ctx.reading, &parse)?;
    bar.finish_and_clear();
    Ok(Parsed {
        path: path.to_path_buf(),
        stats,
        chunks,
        id_columns: TRANSFER_IDS,
    })
}

/// Parses one chunk of the transfers file.
fn transfers_chunk(
    mut table: CsvTable,
    ctx: ReadContext,
    bar: &indicatif::ProgressBar,
) -> Result<Chunk> {
    let ReadContext {
        config,
        calendar,
        opts,
        aliases,
        ..
    } = ctx;
    let path = table.path().to_path_buf();
    let cap = (table.progress().1 / 64).min(1 << 24) as usize;
    let mut names = Names::default();
    let u32b = |n: &str| PrimitiveChunkedBuilder::<UInt32Type>::new(n.into(), cap);
    let i32b = |n: &str| PrimitiveChunkedBuilder::<Int32Type>::new(n.into(), cap);
    let (mut line_b, mut player_b, mut from_b, mut to_b, mut kind_b) = (
        u32b("line"),
        u32b("player"),
        u32b("from_club"),
        u32b("to_club"),
        u32b("kind"),
    );
    let (mut date_b, mut window_b, mut known_b) = (i32b("date"), i32b("window"), i32b("known_on"));
    let mut fee_b = PrimitiveChunkedBuilder::<Float64Type>::new("fee_eur".into(), cap);
    let pass = read_rows(&mut table, opts.strict, bar, |row| {
        let t = match parse_transfer(
            row,
            calendar,
            opts,
            &config.limits,
            config.input.date_format(),
        ) {
            Ok(t) => t,
            Err(p) => return Ok(Err(p)),
        };
        let f = names.clubs.intern(t.from_club, aliases);
        let tc = names.clubs.intern(t.to_club, aliases);
        if f == tc {
            return Ok(Err(RowProblem::new(
                "to_club",
                t.to_club,
                format!("a transfer to the club it left (`{}`)", t.from_club),
            )));
        }
        line_b.append_value(line_u32(&path, row.line)?);
        player_b.append_value(names.players.intern(t.player, aliases));
        from_b.append_value(f);
        to_b.append_value(tc);
        date_b.append_option(opt_date(t.date));
        window_b.append_value(t.window.ordinal());
        known_b.append_value(days_since_epoch(t.known_on));
        kind_b.append_value(t.kind as u32);
        fee_b.append_option(t.fee);
        Ok(Ok(()))
    })?;
    let frame = DataFrame::new_infer_height(vec![
        line_b.finish().into_column(),
        player_b.finish().into_column(),
        from_b.finish().into_column(),
        to_b.finish().into_column(),
        date_b.finish().into_column(),
        window_b.finish().into_column(),
        known_b.finish().into_column(),
        kind_b.finish().into_column(),
        fee_b.finish().into_column(),
    ])?;
    Ok(Chunk {
        frame,
        names,
        problems: pass.problems,
        read: pass.read,
        used: pass.used,
    })
}

struct TransferRow<'a> {
    player: &'a str,
    from_club: &'a str,
    to_club: &'a str,
    date: Option<NaiveDate>,
    window: crate::windows::Window,
    known_on: NaiveDate,
    kind: TransferKind,
    fee: Option<f64>,
}

fn parse_transfer<'a>(
    row: &Row<'a>,
    calendar: &WindowCalendar,
    opts: &IngestOptions,
    limits: &crate::settings::LimitsConfig,
    date_format: Option<&str>,
) -> Result<TransferRow<'a>, RowProblem> {
    let player = row.required(transfer_col::PLAYER)?;
    let from_club = row.required(transfer_col::FROM_CLUB)?;
    let to_club = row.required(transfer_col::TO_CLUB)?;
    let date = optional(row, transfer_col::DATE, |v| {
        fields::date(v).or_else(|e| fields::date_in_format(v, date_format, e))
    })?;
    let given_window = optional(row, transfer_col::WINDOW, fields::window)?;
    let window = match (date, given_window) {
        (_, Some(w)) => w,
        (Some(d), None) => calendar.window_for(d),
        (None, None) => {
            return Err(RowProblem::new(
                "date",
                "",
                "a transfer needs a date or a window; both are empty",
            ))
        }
    };
    // A move known only by its window is known once the window has closed: the day after.
    let known_on = date.unwrap_or_else(|| calendar.close(window) + chrono::Duration::days(1));
    if known_on > opts.as_of {
        let (column, value) = match date {
            Some(_) => ("date", row.get(transfer_col::DATE).unwrap_or("")),
            None => ("window", row.get(transfer_col::WINDOW).unwrap_or("")),
        };
        return Err(RowProblem::new(
            column,
            value,
            format!(
                "not known by the as-of date {} (known on {known_on})",
                opts.as_of
            ),
        ));
    }
    let kind =
        optional(row, transfer_col::KIND, TransferKind::parse)?.unwrap_or(TransferKind::Permanent);
    let fee = optional(row, transfer_col::FEE_EUR, |v| {
        fields::number(v, 0.0, limits.max_fee_eur)
    })?;
    Ok(TransferRow {
        player,
        from_club,
        to_club,
        date,
        window,
        known_on,
        kind,
        fee,
    })
}

/// Rejects the second and later rows that reuse a `claim_id` (the first, by line, is kept).
///
/// Candidates are found on a 64-bit hash of the id (an integer group-by); only rows whose
/// hash repeats are compared as text, so a file without duplicates costs one cheap pass.
fn reject_duplicate_claim_ids(claims: DataFrame) -> Result<(DataFrame, Vec<(u64, RowProblem)>)> {
    // The usual case, no repeated id, is settled by a sort (neighbours equal?), several times
    // faster than a hash table of ten million ids.
    let hashes = claims.column("id_hash")?.u64()?.sort(false);
    let n = hashes.len();
    if n < 2 || !hashes.slice(1, n - 1).equal(&hashes.slice(0, n - 1)).any() {
        return Ok((claims.drop("id_hash")?, Vec::new()));
    }
    let repeated = claims
        .clone()
        .lazy()
        .select([col("id_hash")])
        .group_by([col("id_hash")])
        .agg([len().alias("n")])
        .filter(col("n").gt(lit(1)))
        .select([col("id_hash")])
        .collect()?;
    if repeated.height() == 0 {
        return Ok((claims.drop("id_hash")?, Vec::new()));
    }
    let dups = claims
        .clone()
        .lazy()
        .select([col("id_hash"), col("claim_id"), col("line")])
        .join(
            repeated.lazy(),
            [col("id_hash")],
            [col("id_hash")],
            JoinArgs::new(JoinType::Semi),
        )
        .with_column(
            col("line")
                .min()
                .over([col("claim_id")])?
                .alias("first_line"),
        )
        .filter(col("line").neq(col("first_line")))
        .sort(["line"], SortMultipleOptions::default())
        .collect()?;
    let mut problems = Vec::with_capacity(dups.height());
    let lines = dups.column("line")?.u32()?;
    let ids = dups.column("claim_id")?.str()?;
    let firsts = dups.column("first_line")?.u32()?;
    for i in 0..dups.height() {
        let (Some(line), Some(id), Some(first)) = (lines.get(i), ids.get(i), firsts.get(i)) else {
            continue;
        };
        problems.push((
            line as u64,
            RowProblem::new(
                "claim_id",
                id,
                format!("duplicate claim_id (first used at line {first})"),
            ),
        ));
    }
    let kept = claims
        .lazy()
        .join(
            dups.lazy().select([col("line")]),
            [col("line")],
            [col("line")],
            JoinArgs::new(JoinType::Anti),
        )
        .drop(cols(["id_hash"]))
        .collect()?;
    Ok((kept, problems))
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
