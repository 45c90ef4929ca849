//! The transfers file: its columns and its rows parsed in parallel chunks into the transfers
//! table.

use std::path::Path;

use chrono::NaiveDate;
use polars::prelude::*;

use super::chunks::{read_file, read_rows, Chunk, FileKind, Parsed};
use super::fields::{self, line_u32, opt_date, optional, TransferKind};
use super::reader::{ColumnSpec, CsvTable, Row, RowProblem};
use super::IngestOptions;
use super::{Names, ReadContext};
use crate::error::{Error, InputError, Result};
use crate::normalise::{NameBatch, NameKind};
use crate::progress::Progress;
use crate::windows::{days_since_epoch, WindowCalendar};

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

/// Positions of the transfers columns in [`TRANSFER_COLUMNS`].
pub(super) mod transfer_col {
    pub const PLAYER: usize = 0;
    pub const FROM_CLUB: usize = 1;
    pub const TO_CLUB: usize = 2;
    pub const DATE: usize = 3;
    pub const WINDOW: usize = 4;
    pub const FEE_EUR: usize = 5;
    pub const KIND: usize = 6;
}

/// The transfers file's name columns, and the kind of name each holds.
pub(super) const TRANSFER_IDS: &[(&str, NameKind)] = &[
    ("player", NameKind::Player),
    ("from_club", NameKind::Club),
    ("to_club", NameKind::Club),
];

/// Reads the transfers file, which needs a `date` or a `window` column.
pub(super) fn parse_transfers(
    path: &Path,
    ctx: ReadContext,
    progress: &Progress,
) -> Result<Parsed> {
    let kind = FileKind {
        label: "transfers",
        columns: TRANSFER_COLUMNS,
        mapping: |c| &c.transfers,
        id_columns: TRANSFER_IDS,
        lines_known: |_| Ok(()),
    };
    let check = |table: &CsvTable| {
        if !table.has_column("date") && !table.has_column("window") {
            return Err(Error::Input(InputError::MissingColumn {
                file: path.to_path_buf(),
                column: "date` or `window".into(),
                hint: " (a transfer needs its date, its window, or both)".into(),
            }));
        }
        Ok(())
    };
    read_file(path, &kind, ctx, progress, &check, &transfers_chunk)
}

/// Parses one chunk of the transfers file.
pub(super) fn transfers_chunk(
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
    // Player names are interned a batch at a time ([`crate::normalise::NameTable::intern_batch`]).
    let (mut players, mut player_ids) = (NameBatch::default(), Vec::with_capacity(cap));
    let (mut line_b, mut from_b, mut to_b, mut kind_b) = (
        u32b("line"),
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
        players.push(t.player);
        if players.is_full() {
            names
                .players
                .intern_batch(&mut players, aliases, &mut player_ids);
        }
        from_b.append_value(f);
        to_b.append_value(tc);
        date_b.append_option(opt_date(t.date));
        window_b.append_value(t.window.ordinal());
        known_b.append_value(days_since_epoch(t.known_on));
        kind_b.append_value(t.kind as u32);
        fee_b.append_option(t.fee);
        Ok(Ok(()))
    })?;
    names
        .players
        .intern_batch(&mut players, aliases, &mut player_ids);
    let frame = DataFrame::new_infer_height(vec![
        line_b.finish().into_column(),
        UInt32Chunked::from_vec("player".into(), player_ids).into_column(),
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
        stopped: pass.stopped,
    })
}

pub(super) struct TransferRow<'a> {
    pub(super) player: &'a str,
    pub(super) from_club: &'a str,
    pub(super) to_club: &'a str,
    pub(super) date: Option<NaiveDate>,
    pub(super) window: crate::windows::Window,
    pub(super) known_on: NaiveDate,
    pub(super) kind: TransferKind,
    pub(super) fee: Option<f64>,
}

pub(super) fn parse_transfer<'a>(
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
