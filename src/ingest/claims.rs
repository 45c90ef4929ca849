//! The claims file: its columns, its rows parsed in parallel chunks into the claims table,
//! and duplicate claim ids rejected.

use std::path::Path;

use chrono::{Datelike, NaiveDate};
use polars::prelude::*;

use super::chunks::{read_file, read_rows, Chunk, FileKind, Parsed};
use super::fields::{self, line_u32, opt_date, optional, with_column};
use super::reader::{ColumnSpec, CsvTable, Row, RowProblem};
use super::IngestOptions;
use super::{extra_column, Names, ReadContext};
use crate::error::{Error, InputError, Result};
use crate::normalise::{Aliases, NameBatch, NameKind};
use crate::progress::Progress;
use crate::windows::{days_since_epoch, WindowCalendar};

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

/// Positions of the claims columns in [`CLAIM_COLUMNS`] (every column has one, used or not).
#[allow(dead_code)]
pub(super) mod claim_col {
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

/// The claims file's name columns, and the kind of name each holds.
pub(super) const CLAIM_IDS: &[(&str, NameKind)] = &[
    ("source", NameKind::Source),
    ("cites", NameKind::Source),
    ("author", NameKind::Author),
    ("player", NameKind::Player),
    ("from_club", NameKind::Club),
    ("to_club", NameKind::Club),
];

/// Reads the claims file; a header without a single claim stops the run.
pub(super) fn parse_claims(path: &Path, ctx: ReadContext, progress: &Progress) -> Result<Parsed> {
    let kind = FileKind {
        label: "claims",
        columns: CLAIM_COLUMNS,
        mapping: |c| &c.claims,
        id_columns: CLAIM_IDS,
        lines_known: ids_from_lines,
    };
    let parsed = read_file(path, &kind, ctx, progress, &|_| Ok(()), &claims_chunk)?;
    if parsed.chunks.iter().all(|c| c.read == 0) {
        return Err(Error::Input(InputError::Header {
            file: path.to_path_buf(),
            message: "the file has a header but no claims".into(),
        }));
    }
    Ok(parsed)
}

/// Parses one chunk of the claims file.
pub(super) fn claims_chunk(
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
    // Player names are interned a batch at a time ([`NameTable::intern_batch`]).
    let mut players = NameBatch::default();
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
        players.push(claim.player);
        if players.is_full() {
            names
                .players
                .intern_batch(&mut players, aliases, &mut columns.player);
        }
        Ok(Ok(()))
    })?;
    names
        .players
        .intern_batch(&mut players, aliases, &mut columns.player);
    let frame = DataFrame::new_infer_height(columns.finish())?;
    Ok(Chunk {
        frame,
        names,
        problems: pass.problems,
        read: pass.read,
        used: pass.used,
        stopped: pass.stopped,
    })
}

/// Gives the claims of `chunk` without a `claim_id` the id `line-<line>`, with its hash.
fn ids_from_lines(chunk: &mut Chunk) -> Result<()> {
    use std::hash::BuildHasher;
    let df = &mut chunk.frame;
    let ids = df.column("claim_id")?.str()?;
    if ids.null_count() == 0 {
        return Ok(());
    }
    let (lines, hashes) = (df.column("line")?.u32()?, df.column("id_hash")?.u64()?);
    let hasher = claim_id_hasher();
    let mut made_ids = StringChunkedBuilder::new("claim_id".into(), df.height());
    let mut made_hashes = Vec::with_capacity(df.height());
    for ((id, line), hash) in ids.iter().zip(lines.iter()).zip(hashes.iter()) {
        match (id, hash) {
            (Some(id), Some(hash)) => {
                made_ids.append_value(id);
                made_hashes.push(hash);
            }
            _ => {
                let id = format!("line-{}", line.unwrap_or_default());
                made_hashes.push(hasher.hash_one(&id));
                made_ids.append_value(id);
            }
        }
    }
    df.replace("claim_id", made_ids.finish().into_column())?;
    df.replace(
        "id_hash",
        UInt64Chunked::from_vec("id_hash".into(), made_hashes).into_column(),
    )?;
    Ok(())
}

/// The hasher of claim ids (and of claims' wording): the same in every chunk and run.
fn claim_id_hasher() -> foldhash::fast::FixedState {
    foldhash::fast::FixedState::with_seed(0x5eed)
}

/// The claims table of one chunk, column by column, as its rows are read.
pub(super) struct ClaimColumns {
    pub(super) line: PrimitiveChunkedBuilder<UInt32Type>,
    pub(super) id: StringChunkedBuilder,
    pub(super) id_hash: PrimitiveChunkedBuilder<UInt64Type>,
    pub(super) published: PrimitiveChunkedBuilder<Int32Type>,
    pub(super) source: PrimitiveChunkedBuilder<UInt32Type>,
    pub(super) author: PrimitiveChunkedBuilder<UInt32Type>,
    /// Filled a batch of rows at a time ([`crate::normalise::NameTable::intern_batch`]).
    pub(super) player: Vec<u32>,
    pub(super) from: PrimitiveChunkedBuilder<UInt32Type>,
    pub(super) to: PrimitiveChunkedBuilder<UInt32Type>,
    pub(super) stage: PrimitiveChunkedBuilder<UInt32Type>,
    pub(super) window: PrimitiveChunkedBuilder<Int32Type>,
    pub(super) inferred: BooleanChunkedBuilder,
    pub(super) text: StringChunkedBuilder,
    pub(super) hash: PrimitiveChunkedBuilder<UInt64Type>,
    pub(super) cites: PrimitiveChunkedBuilder<UInt32Type>,
    pub(super) value: PrimitiveChunkedBuilder<Float64Type>,
    pub(super) contract: PrimitiveChunkedBuilder<Int32Type>,
    pub(super) age: PrimitiveChunkedBuilder<Float64Type>,
    pub(super) fee: PrimitiveChunkedBuilder<Float64Type>,
    /// Columns the spec does not know, carried through as text to the reports.
    pub(super) extra: Vec<StringChunkedBuilder>,
    pub(super) hasher: foldhash::fast::FixedState,
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
            player: Vec::with_capacity(cap),
            from: u32b("from_club"),
            to: u32b("to_club"),
            stage: u32b("stage"),
            window: i32b("window"),
            inferred: BooleanChunkedBuilder::new("window_inferred".into(), cap),
            // A slot per row whether the text is kept or not (a null view is 16 bytes like
            // any other): reserved for every row, as the other columns are, so that it never
            // grows by copying (reserved room never written is never touched).
            text: StringChunkedBuilder::new("text".into(), cap),
            hash: u64b("text_hash"),
            cites: u32b("cites"),
            value: f64b("market_value_eur"),
            contract: i32b("contract_until"),
            age: f64b("player_age"),
            fee: f64b("fee_eur"),
            extra: (0..extras)
                .map(|k| StringChunkedBuilder::new(extra_column(k).into(), cap))
                .collect(),
            hasher: claim_id_hasher(),
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
            // Made from the line once the chunk's line numbers are the file's
            // ([`ids_from_lines`]).
            None => {
                self.id_hash.append_null();
                self.id.append_null();
            }
        }
        self.published
            .append_value(days_since_epoch(claim.published));
        self.source
            .append_value(names.sources.intern(claim.source, aliases));
        self.author
            .append_option(claim.author.map(|a| names.authors.intern(a, aliases)));
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
            UInt32Chunked::from_vec("player".into(), self.player).into_column(),
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

/// A claims row, parsed and checked, before its names are interned.
pub(super) struct ClaimRow<'a> {
    pub(super) claim_id: Option<&'a str>,
    pub(super) published: NaiveDate,
    pub(super) source: &'a str,
    pub(super) author: Option<&'a str>,
    pub(super) player: &'a str,
    pub(super) from_club: Option<&'a str>,
    pub(super) to_club: &'a str,
    pub(super) stage: Option<crate::schema::Stage>,
    pub(super) window: Option<crate::windows::Window>,
    pub(super) text: Option<&'a str>,
    pub(super) cites: Option<&'a str>,
    pub(super) market_value: Option<f64>,
    pub(super) contract_until: Option<NaiveDate>,
    pub(super) age: Option<f64>,
    pub(super) fee: Option<f64>,
}

pub(super) fn parse_claim<'a>(
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
        if close.num_days_from_ce() < published.num_days_from_ce() - 366 {
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

/// Whether any of the claims' id hashes repeats: the usual case, none, is settled by a sort
/// (neighbours equal?), several times faster than a hash table of ten million ids.
pub(super) fn hashes_repeat(hashes: &UInt64Chunked) -> bool {
    let hashes = hashes.sort(false);
    let n = hashes.len();
    n >= 2 && hashes.slice(1, n - 1).equal(&hashes.slice(0, n - 1)).any()
}

/// Rejects the second and later rows that reuse a `claim_id` (the first, by line, is kept).
///
/// Candidates are found on a 64-bit hash of the id (an integer group-by); only rows whose
/// hash repeats are compared as text. `repeat` is [`hashes_repeat`] of the `id_hash` column,
/// found beforehand: without a repeated hash the column is only dropped.
pub(super) fn reject_duplicate_claim_ids(
    claims: DataFrame,
    repeat: bool,
) -> Result<(DataFrame, Vec<(u64, RowProblem)>)> {
    if !repeat {
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
    fn a_repeated_hash_is_found_wherever_it_lies_and_across_chunks() {
        let ca = |v: &[u64]| UInt64Chunked::from_slice("id_hash".into(), v);
        assert!(!hashes_repeat(&ca(&[])));
        assert!(!hashes_repeat(&ca(&[7])));
        assert!(!hashes_repeat(&ca(&[3, 1, 2, u64::MAX])));
        assert!(hashes_repeat(&ca(&[3, 1, 2, 3])));
        assert!(hashes_repeat(&ca(&[u64::MAX, 0, u64::MAX])));
        // Two chunks, the repeat split between them.
        let mut stacked = ca(&[5, 9]);
        stacked.append(&ca(&[1, 9])).expect("append");
        assert_eq!(stacked.chunks().len(), 2);
        assert!(hashes_repeat(&stacked));
    }
}
