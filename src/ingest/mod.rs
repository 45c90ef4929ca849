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

mod fields;
mod reader;

use std::collections::BTreeMap;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use polars::prelude::*;

use crate::config::Config;
use crate::error::{Error, InputError, Result};
use crate::normalise::{Aliases, NameKind, NameTable};
use crate::progress::Progress;
use crate::windows::{days_since_epoch, WindowCalendar};
pub use fields::TransferKind;
pub use reader::{clip, ColumnSpec, CsvTable, Next, Row, RowProblem};

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

/// A row that was not used, and why.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
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

/// Where the inputs are.
#[derive(Debug, Clone)]
pub struct InputPaths {
    pub claims: PathBuf,
    pub transfers: PathBuf,
    /// `None`: no alias table.
    pub aliases: Option<PathBuf>,
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
    config: &Config,
    opts: &IngestOptions,
    progress: &Progress,
) -> Result<Inputs> {
    let calendar = WindowCalendar::from_config(config).map_err(Error::Usage)?;
    let mut log = RejectLog {
        strict: opts.strict,
        rejects: Vec::new(),
    };
    let mut files = Vec::new();
    let mut aliases = Aliases::default();
    if let Some(path) = &paths.aliases {
        files.push(read_aliases(path, &mut aliases, &mut log)?);
    }
    let mut names = Names::default();
    let (claims, stats) = read_claims(
        &paths.claims,
        config,
        &calendar,
        opts,
        &aliases,
        &mut names,
        &mut log,
        progress,
    )?;
    files.push(stats);
    let (transfers, stats) = read_transfers(
        &paths.transfers,
        config,
        &calendar,
        opts,
        &aliases,
        &mut names,
        &mut log,
        progress,
    )?;
    files.push(stats);
    let (mut claims, dup_rejects) = reject_duplicate_claim_ids(claims, &paths.claims)?;
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
    let mut transfers = transfers;
    // Ids in key order: nothing downstream depends on the order of input rows.
    let players = names.players.canonical_order();
    let clubs = names.clubs.canonical_order();
    let sources = names.sources.canonical_order();
    let authors = names.authors.canonical_order();
    for (col, map) in [
        ("player", &players),
        ("from_club", &clubs),
        ("to_club", &clubs),
        ("source", &sources),
        ("cites", &sources),
        ("author", &authors),
    ] {
        crate::normalise::remap_ids(&mut claims, col, map)?;
    }
    for (col, map) in [
        ("player", &players),
        ("from_club", &clubs),
        ("to_club", &clubs),
    ] {
        crate::normalise::remap_ids(&mut transfers, col, map)?;
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
    })
}

fn stats_for(table: &CsvTable) -> FileStats {
    FileStats {
        file: table.path().display().to_string(),
        extra_columns: table.extra_columns().to_vec(),
        ..FileStats::default()
    }
}

/// Reads the alias table. A row naming an unknown kind, or mapping an alias already mapped to
/// another canonical name, is rejected.
fn read_aliases(path: &Path, aliases: &mut Aliases, log: &mut RejectLog) -> Result<FileStats> {
    let mut table = CsvTable::open(path, ALIAS_COLUMNS, &BTreeMap::new(), 65_536)?;
    let mut stats = stats_for(&table);
    loop {
        let (line, outcome) = match table.next_row()? {
            Next::End => break,
            Next::Problem { line, problem } => (line, Err(problem)),
            Next::Row(row) => (row.line, parse_alias(&row, aliases)),
        };
        stats.rows_read += 1;
        match outcome {
            Ok(()) => stats.rows_used += 1,
            Err(p) => {
                stats.rows_rejected += 1;
                log.push(path, line, p)?;
            }
        }
    }
    Ok(stats)
}

fn parse_alias(row: &Row, aliases: &mut Aliases) -> Result<(), RowProblem> {
    let kind_raw = row.required("kind")?;
    let kind = NameKind::parse(kind_raw).ok_or_else(|| {
        RowProblem::new(
            "kind",
            kind_raw,
            "unknown kind; expected club, player, source or author",
        )
    })?;
    let alias = row.required("alias")?;
    let canonical = row.required("canonical")?;
    if let Some(existing) = aliases.insert(kind, alias, canonical) {
        return Err(RowProblem::new(
            "canonical",
            canonical,
            format!("alias `{alias}` already maps to `{existing}`"),
        ));
    }
    Ok(())
}

/// Column builders of the claims table.
#[derive(Default)]
struct ClaimColumns {
    line: Vec<u32>,
    claim_id: Vec<String>,
    published: Vec<i32>,
    source: Vec<u32>,
    author: Vec<Option<u32>>,
    player: Vec<u32>,
    from_club: Vec<Option<u32>>,
    to_club: Vec<u32>,
    stage: Vec<Option<u32>>,
    window: Vec<i32>,
    window_inferred: Vec<bool>,
    text: Vec<Option<String>>,
    text_hash: Vec<Option<u64>>,
    cites: Vec<Option<u32>>,
    market_value: Vec<Option<f64>>,
    contract_until: Vec<Option<i32>>,
    age: Vec<Option<f64>>,
    fee: Vec<Option<f64>>,
}

fn opt_date(d: Option<NaiveDate>) -> Option<i32> {
    d.map(days_since_epoch)
}

/// Dates are carried as day numbers (`Int32`, days since 1970-01-01) inside the pipeline, so
/// that date arithmetic is integer arithmetic; reports turn them back into dates.
fn date_series(name: &str, v: Vec<Option<i32>>) -> Column {
    Column::new(name.into(), v)
}

fn line_u32(file: &Path, line: u64) -> Result<u32> {
    u32::try_from(line).map_err(|_| {
        Error::Input(InputError::Header {
            file: file.to_path_buf(),
            message: "more than 4,294,967,295 lines are not supported".into(),
        })
    })
}

#[allow(clippy::too_many_arguments)]
fn read_claims(
    path: &Path,
    config: &Config,
    calendar: &WindowCalendar,
    opts: &IngestOptions,
    aliases: &Aliases,
    names: &mut Names,
    log: &mut RejectLog,
    progress: &Progress,
) -> Result<(DataFrame, FileStats)> {
    let mut table = CsvTable::open(
        path,
        CLAIM_COLUMNS,
        &config.columns.claims,
        config.limits.max_field_bytes,
    )?;
    let mut stats = stats_for(&table);
    let has_ids = table.has_column("claim_id");
    let limits = &config.limits;
    let mut c = ClaimColumns::default();
    let bar = progress.bytes("reading claims", table.progress().1);
    loop {
        if stats.rows_read % 65_536 == 0 {
            bar.set_position(table.progress().0);
        }
        let (line, outcome) = match table.next_row()? {
            Next::End => break,
            Next::Problem { line, problem } => (line, Err(problem)),
            Next::Row(row) => {
                let line = row.line;
                (line, parse_claim(&row, calendar, opts, limits))
            }
        };
        stats.rows_read += 1;
        let claim = match outcome {
            Ok(claim) => claim,
            Err(p) => {
                stats.rows_rejected += 1;
                log.push(path, line, p)?;
                continue;
            }
        };
        let from = claim.from_club.map(|s| names.clubs.intern(s, aliases));
        let to = names.clubs.intern(claim.to_club, aliases);
        if from == Some(to) {
            stats.rows_rejected += 1;
            log.push(
                path,
                line,
                RowProblem::new(
                    "to_club",
                    claim.to_club,
                    "to_club is the same club as from_club",
                ),
            )?;
            continue;
        }
        stats.rows_used += 1;
        c.line.push(line_u32(path, line)?);
        c.claim_id.push(match (has_ids, claim.claim_id) {
            (_, Some(id)) => id.to_string(),
            (_, None) => format!("line-{line}"),
        });
        c.published.push(days_since_epoch(claim.published));
        c.source.push(names.sources.intern(claim.source, aliases));
        c.author
            .push(claim.author.map(|a| names.authors.intern(a, aliases)));
        c.player.push(names.players.intern(claim.player, aliases));
        c.from_club.push(from);
        c.to_club.push(to);
        c.stage.push(claim.stage.map(|s| s.rank()));
        c.window.push(claim.window.map_or_else(
            || calendar.window_for(claim.published).ordinal(),
            |w| w.ordinal(),
        ));
        c.window_inferred.push(claim.window.is_none());
        c.text.push(if claim.stage.is_none() {
            claim.text.map(str::to_string)
        } else {
            None
        });
        c.text_hash.push(claim.text.map(|t| {
            let mut h = std::collections::hash_map::DefaultHasher::new();
            t.hash(&mut h);
            h.finish()
        }));
        c.cites
            .push(claim.cites.map(|s| names.sources.intern(s, aliases)));
        c.market_value.push(claim.market_value);
        c.contract_until.push(opt_date(claim.contract_until));
        c.age.push(claim.age);
        c.fee.push(claim.fee);
    }
    bar.finish_and_clear();
    if stats.rows_read == 0 {
        return Err(Error::Input(InputError::Header {
            file: path.to_path_buf(),
            message: "the file has a header but no claims".into(),
        }));
    }
    let df = DataFrame::new_infer_height(vec![
        Column::new("line".into(), c.line),
        Column::new("claim_id".into(), c.claim_id),
        date_series("published", c.published.into_iter().map(Some).collect()),
        Column::new("source".into(), c.source),
        Column::new("author".into(), c.author),
        Column::new("player".into(), c.player),
        Column::new("from_club".into(), c.from_club),
        Column::new("to_club".into(), c.to_club),
        Column::new("stage".into(), c.stage),
        Column::new("window".into(), c.window),
        Column::new("window_inferred".into(), c.window_inferred),
        Column::new("text".into(), c.text),
        Column::new("text_hash".into(), c.text_hash),
        Column::new("cites".into(), c.cites),
        Column::new("market_value_eur".into(), c.market_value),
        date_series("contract_until", c.contract_until),
        Column::new("player_age".into(), c.age),
        Column::new("fee_eur".into(), c.fee),
    ])?;
    Ok((df, stats))
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
    stage: Option<crate::stage::Stage>,
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
    column: &str,
    parse: impl Fn(&str) -> Result<T, String>,
) -> Result<Option<T>, RowProblem> {
    row.get(column)
        .map(|v| with_column(column, v, parse(v)))
        .transpose()
}

fn parse_claim<'a>(
    row: &Row<'a>,
    calendar: &WindowCalendar,
    opts: &IngestOptions,
    limits: &crate::config::LimitsConfig,
) -> Result<ClaimRow<'a>, RowProblem> {
    let published_raw = row.required("published")?;
    let published = with_column(
        "published",
        published_raw,
        fields::date_or_datetime(published_raw),
    )?;
    if published > opts.as_of {
        return Err(RowProblem::new(
            "published",
            published_raw,
            format!("published after the as-of date {}", opts.as_of),
        ));
    }
    let source = row.required("source")?;
    let player = row.required("player")?;
    let to_club = row.required("to_club")?;
    let stage = optional(row, "stage", fields::stage)?;
    let window = optional(row, "window", fields::window)?;
    if let Some(w) = window {
        // A claim about a window that had closed long before it was published is a typo.
        let close = calendar.close(w);
        if close < published - chrono::Duration::days(366) {
            return Err(RowProblem::new(
                "window",
                row.get("window").unwrap_or(""),
                format!("window closed on {close}, over a year before the claim was published"),
            ));
        }
    }
    Ok(ClaimRow {
        claim_id: row.get("claim_id"),
        published,
        source,
        author: row.get("author"),
        player,
        from_club: row.get("from_club"),
        to_club,
        stage,
        window,
        text: row.get("text"),
        cites: row.get("cites"),
        market_value: optional(row, "market_value_eur", |v| {
            fields::number(v, 0.0, limits.max_fee_eur)
        })?,
        contract_until: optional(row, "contract_until", fields::contract_end)?,
        age: optional(row, "player_age", |v| {
            fields::number(v, limits.min_age, limits.max_age)
        })?,
        fee: optional(row, "fee_eur", |v| {
            fields::number(v, 0.0, limits.max_fee_eur)
        })?,
    })
}

#[allow(clippy::too_many_arguments)]
fn read_transfers(
    path: &Path,
    config: &Config,
    calendar: &WindowCalendar,
    opts: &IngestOptions,
    aliases: &Aliases,
    names: &mut Names,
    log: &mut RejectLog,
    progress: &Progress,
) -> Result<(DataFrame, FileStats)> {
    let mut table = CsvTable::open(
        path,
        TRANSFER_COLUMNS,
        &config.columns.transfers,
        config.limits.max_field_bytes,
    )?;
    if !table.has_column("date") && !table.has_column("window") {
        return Err(Error::Input(InputError::MissingColumn {
            file: path.to_path_buf(),
            column: "date` or `window".into(),
            hint: " (a transfer needs its date, its window, or both)".into(),
        }));
    }
    let mut stats = stats_for(&table);
    let bar = progress.bytes("reading transfers", table.progress().1);
    let (mut line_v, mut player, mut from, mut to) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let (mut date, mut window, mut known_on, mut kind, mut fee) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    loop {
        if stats.rows_read % 65_536 == 0 {
            bar.set_position(table.progress().0);
        }
        let (line, outcome) = match table.next_row()? {
            Next::End => break,
            Next::Problem { line, problem } => (line, Err(problem)),
            Next::Row(row) => (
                row.line,
                parse_transfer(&row, calendar, opts, &config.limits),
            ),
        };
        stats.rows_read += 1;
        let t = match outcome {
            Ok(t) => t,
            Err(p) => {
                stats.rows_rejected += 1;
                log.push(path, line, p)?;
                continue;
            }
        };
        let f = names.clubs.intern(t.from_club, aliases);
        let tc = names.clubs.intern(t.to_club, aliases);
        if f == tc {
            stats.rows_rejected += 1;
            log.push(
                path,
                line,
                RowProblem::new(
                    "to_club",
                    t.to_club,
                    format!("a transfer to the club it left (`{}`)", t.from_club),
                ),
            )?;
            continue;
        }
        stats.rows_used += 1;
        line_v.push(line_u32(path, line)?);
        player.push(names.players.intern(t.player, aliases));
        from.push(f);
        to.push(tc);
        date.push(opt_date(t.date));
        window.push(t.window.ordinal());
        known_on.push(Some(days_since_epoch(t.known_on)));
        kind.push(t.kind as u32);
        fee.push(t.fee);
    }
    bar.finish_and_clear();
    let df = DataFrame::new_infer_height(vec![
        Column::new("line".into(), line_v),
        Column::new("player".into(), player),
        Column::new("from_club".into(), from),
        Column::new("to_club".into(), to),
        date_series("date", date),
        Column::new("window".into(), window),
        date_series("known_on", known_on),
        Column::new("kind".into(), kind),
        Column::new("fee_eur".into(), fee),
    ])?;
    Ok((df, stats))
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
    limits: &crate::config::LimitsConfig,
) -> Result<TransferRow<'a>, RowProblem> {
    let player = row.required("player")?;
    let from_club = row.required("from_club")?;
    let to_club = row.required("to_club")?;
    let date = optional(row, "date", fields::date)?;
    let given_window = optional(row, "window", fields::window)?;
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
    let known_on = date.unwrap_or_else(|| calendar.close(window));
    if known_on > opts.as_of {
        let (column, value) = match date {
            Some(_) => ("date", row.get("date").unwrap_or("")),
            None => ("window", row.get("window").unwrap_or("")),
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
    let kind = optional(row, "kind", TransferKind::parse)?.unwrap_or(TransferKind::Permanent);
    let fee = optional(row, "fee_eur", |v| {
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
fn reject_duplicate_claim_ids(
    claims: DataFrame,
    file: &Path,
) -> Result<(DataFrame, Vec<(u64, RowProblem)>)> {
    let dups = claims
        .clone()
        .lazy()
        .select([col("claim_id"), col("line")])
        .group_by([col("claim_id")])
        .agg([col("line").min().alias("first_line"), len().alias("n")])
        .filter(col("n").gt(lit(1)))
        .collect()?;
    if dups.height() == 0 {
        return Ok((claims, Vec::new()));
    }
    let marked = claims
        .lazy()
        .join(
            dups.lazy().select([col("claim_id"), col("first_line")]),
            [col("claim_id")],
            [col("claim_id")],
            JoinArgs::new(JoinType::Left),
        )
        .with_column(
            col("first_line")
                .is_not_null()
                .and(col("line").neq(col("first_line")))
                .alias("dup"),
        )
        .collect()?;
    let rejected = marked
        .clone()
        .lazy()
        .filter(col("dup"))
        .select([col("line"), col("claim_id"), col("first_line")])
        .collect()?;
    let mut problems = Vec::with_capacity(rejected.height());
    let lines = rejected.column("line")?.u32()?;
    let ids = rejected.column("claim_id")?.str()?;
    let firsts = rejected.column("first_line")?.u32()?;
    for i in 0..rejected.height() {
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
    let kept = marked
        .lazy()
        .filter(col("dup").not())
        .drop(cols(["first_line", "dup"]))
        .collect()?;
    let _ = file;
    Ok((kept, problems))
}
