//! Outcomes: did the rumoured move happen?
//!
//! An item — a story (one reporter's reports of one deal) or a deal (player, to_club,
//! window) — is resolved against the moves known by the as-of date:
//!
//! * `confirmed` when the player moved to the linked club on or after the item's first report
//!   and by the window's close plus the grace period; for a move known only by its window,
//!   when that window is the item's window (and the first report came by its close);
//! * `refuted` when the player moved elsewhere in that span (from the date of that move), or
//!   when the window closed, plus the grace period, without the move;
//! * `late` when the outcome was already settled when the item was first reported (the move
//!   had happened, or the window had closed): a report, not a prediction; it is counted for
//!   and against nobody;
//! * `open` otherwise.
//!
//! `resolved_on` is the day the outcome became known: the move's date (or its window's close
//! when undated), or the day after the grace period ends.

use polars::prelude::*;

use crate::config::OutcomesConfig;
use crate::ingest::TransferKind;

/// Outcome codes as stored in tables (`UInt32`).
pub mod outcome {
    pub const OPEN: u32 = 0;
    pub const CONFIRMED: u32 = 1;
    pub const REFUTED: u32 = 2;
    pub const LATE: u32 = 3;
    /// Names by code.
    pub const NAMES: [&str; 4] = ["open", "confirmed", "refuted", "late"];
}

/// The transfers that count as moves: permanent and free always, loans and returns from loan
/// as configured. Columns `player, to_club, date, window, known_on`.
pub fn counted_moves(transfers: &DataFrame, config: &OutcomesConfig) -> LazyFrame {
    let mut kinds = vec![TransferKind::Permanent as u32, TransferKind::Free as u32];
    if config.loans_count {
        kinds.push(TransferKind::Loan as u32);
    }
    if config.end_of_loan_counts {
        kinds.push(TransferKind::EndOfLoan as u32);
    }
    let mut keep = lit(false);
    for k in kinds {
        keep = keep.or(col("kind").eq(lit(k)));
    }
    transfers
        .clone()
        .lazy()
        .filter(keep)
        .select([
            col("player"),
            col("to_club"),
            col("date"),
            col("window"),
            col("known_on"),
        ])
        .unique(None, UniqueKeepStrategy::Any)
}

/// Adds `outcome` (`UInt32`, see [`outcome`]) and `resolved_on` (day number, null while open)
/// to `items`, which must have the columns `keys` (including `player`, `to_club`, `window`)
/// and `first_report`.
///
/// `windows` is [`crate::windows::WindowCalendar::table`] over every window in `items`.
pub fn resolve_outcomes(
    items: LazyFrame,
    keys: &[&str],
    moves: LazyFrame,
    windows: &DataFrame,
    config: &OutcomesConfig,
    as_of: i32,
) -> LazyFrame {
    let key_exprs: Vec<Expr> = keys.iter().map(|k| col(*k)).collect();
    let items = items
        .join(
            windows
                .clone()
                .lazy()
                .select([col("window"), col("window_close"), col("prev_close")]),
            [col("window")],
            [col("window")],
            JoinArgs::new(JoinType::Left),
        )
        .with_column((col("window_close") + lit(config.grace_days as i32)).alias("deadline"));
    let base: Vec<Expr> = key_exprs
        .iter()
        .cloned()
        .chain([
            col("first_report"),
            col("deadline"),
            col("prev_close"),
            col("window_close"),
        ])
        .collect();

    let on_date = col("date").is_not_null();
    let move_day = coalesce(&[col("date"), col("known_on")]);
    let target = items
        .clone()
        .select(&base)
        .join(
            moves.clone().select([
                col("player"),
                col("to_club"),
                col("date"),
                col("window").alias("move_window"),
                col("known_on"),
            ]),
            [col("player"), col("to_club")],
            [col("player"), col("to_club")],
            JoinArgs::new(JoinType::Inner),
        )
        .with_columns([
            (on_date
                .clone()
                .and(col("date").gt_eq(col("first_report")))
                .and(col("date").lt_eq(col("deadline"))))
            .or(on_date
                .clone()
                .not()
                .and(col("move_window").eq(col("window")))
                .and(col("first_report").lt_eq(col("window_close"))))
            .alias("confirms"),
            (on_date
                .clone()
                .and(col("date").lt(col("first_report")))
                .and(col("date").gt(col("prev_close"))))
            .or(on_date
                .clone()
                .not()
                .and(col("move_window").eq(col("window")))
                .and(col("first_report").gt(col("window_close"))))
            .alias("settled_before"),
            move_day.clone().alias("move_day"),
        ])
        .group_by(key_exprs.clone())
        .agg([
            col("move_day")
                .filter(col("confirms"))
                .min()
                .alias("confirmed_on"),
            col("move_day")
                .filter(col("settled_before"))
                .min()
                .alias("late_on"),
        ]);
    let elsewhere = items
        .clone()
        .select(&base)
        .join(
            moves.select([
                col("player"),
                col("to_club").alias("move_to"),
                col("date"),
                col("window").alias("move_window"),
                col("known_on"),
            ]),
            [col("player")],
            [col("player")],
            JoinArgs::new(JoinType::Inner),
        )
        .filter(
            col("move_to").neq(col("to_club")).and(
                (on_date
                    .clone()
                    .and(col("date").gt_eq(col("first_report")))
                    .and(col("date").lt_eq(col("deadline"))))
                .or(on_date.not().and(col("move_window").eq(col("window")))),
            ),
        )
        .group_by(key_exprs.clone())
        .agg([move_day.min().alias("elsewhere_on")]);

    let closed_on = col("deadline") + lit(1);
    let is_confirmed = col("confirmed_on").is_not_null();
    let is_late = col("late_on").is_not_null();
    let is_elsewhere = col("elsewhere_on").is_not_null();
    let is_closed = lit(as_of).gt_eq(closed_on.clone());
    items
        .join(
            target,
            key_exprs.clone(),
            key_exprs.clone(),
            JoinArgs::new(JoinType::Left),
        )
        .join(
            elsewhere,
            key_exprs.clone(),
            key_exprs,
            JoinArgs::new(JoinType::Left),
        )
        .with_columns([
            when(is_confirmed.clone())
                .then(col("confirmed_on"))
                .when(is_late.clone())
                .then(col("late_on"))
                .when(is_elsewhere.clone())
                .then(col("elsewhere_on"))
                .when(is_closed.clone())
                .then(closed_on)
                .otherwise(lit(NULL).cast(DataType::Int32))
                .alias("resolved_on"),
            when(is_confirmed)
                .then(lit(outcome::CONFIRMED))
                .when(is_late)
                .then(lit(outcome::LATE))
                .when(is_elsewhere.or(is_closed))
                .then(lit(outcome::REFUTED))
                .otherwise(lit(outcome::OPEN))
                .cast(DataType::UInt32)
                .alias("outcome"),
        ])
        .with_column(
            // Refuted before anyone reported it: the window had closed, or the player had moved.
            when(
                col("outcome")
                    .eq(lit(outcome::REFUTED))
                    .and(col("resolved_on").lt(col("first_report"))),
            )
            .then(lit(outcome::LATE))
            .otherwise(col("outcome"))
            .cast(DataType::UInt32)
            .alias("outcome"),
        )
        .drop(cols([
            "confirmed_on",
            "late_on",
            "elsewhere_on",
            "deadline",
            "prev_close",
        ]))
}
