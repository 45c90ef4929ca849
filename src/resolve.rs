//! Outcomes: did the rumoured move happen?
//!
//! An item — a story (one reporter's reports of one deal) or a deal (player, to_club,
//! window) — is resolved against the moves known by the as-of date:
//!
//! * `confirmed` when the player moved to the linked club on or after the item's first report
//!   and by the window's close plus the grace period; for a move known only by its window,
//!   when that window is the item's window (and the first report came by its close);
//! * `late` when that move had already happened when the item was first reported, or the
//!   window had closed: a report, not a prediction; it counts for and against nobody;
//! * `refuted` when the player moved to another club in that window (from the date of that
//!   move, or of the report if it came after the move), or when the window closed, plus the
//!   grace period, without the move;
//! * `open` otherwise.
//!
//! A move "in the window" is one dated after the previous window's close and by this one's
//! close plus grace, or one known only by this window. `resolved_on` is the day the outcome
//! became known: the move's date (the day after the window's close when only the window is
//! known), or the day after the grace period ends.
//!
//! The moves are matched once per deal ([`deal_moves`]); stories, which differ only in their
//! first report, then resolve with column arithmetic.

use polars::prelude::*;

use crate::deal::DealKey;
use crate::ingest::TransferKind;
use crate::schema::outcome;
use crate::settings::OutcomesConfig;

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

/// What the moves say about each deal: `t_date`, the first dated move of the player to the
/// club between the previous window's close and this window's close plus grace; `t_window`,
/// whether an undated move to the club is known for this window; `e_date` and `e_window`, the
/// same for moves to any other club. Only deals with one of them appear.
///
/// `deals` has `deal` (the packed key, see [`crate::deal`]), `player`, `to_club` and `window`;
/// `windows` is [`crate::windows::WindowCalendar::table`].
pub fn deal_moves(
    deals: LazyFrame,
    moves: LazyFrame,
    windows: &DataFrame,
    config: &OutcomesConfig,
) -> LazyFrame {
    let spans = deals
        .select([col("deal"), col("player"), col("to_club"), col("window")])
        .join(
            windows
                .clone()
                .lazy()
                .select([col("window"), col("window_close"), col("prev_close")]),
            [col("window")],
            [col("window")],
            JoinArgs::new(JoinType::Inner),
        )
        .with_columns([
            (col("window_close") + lit(config.grace_days as i32)).alias("deadline"),
            DealKey::pair(col("player"), col("to_club")).alias("pair"),
        ]);
    let in_span = col("date")
        .gt(col("prev_close"))
        .and(col("date").lt_eq(col("deadline")));
    let dated = col("date").is_not_null();
    let undated_here = col("date")
        .is_null()
        .and(col("move_window").eq(col("window")));
    let moves = moves.select([
        col("player"),
        DealKey::pair(col("player"), col("to_club")).alias("pair"),
        col("to_club").alias("move_to"),
        col("date"),
        col("window").alias("move_window"),
    ]);
    let target = spans
        .clone()
        .join(
            moves.clone().drop(cols(["player"])),
            [col("pair")],
            [col("pair")],
            JoinArgs::new(JoinType::Inner),
        )
        .group_by([col("deal")])
        .agg([
            col("date")
                .filter(dated.clone().and(in_span.clone()))
                .min()
                .alias("t_date"),
            undated_here.clone().any(true).alias("t_window"),
        ]);
    let elsewhere = spans
        .join(
            moves.drop(cols(["pair"])),
            [col("player")],
            [col("player")],
            JoinArgs::new(JoinType::Inner),
        )
        .filter(col("move_to").neq(col("to_club")))
        .group_by([col("deal")])
        .agg([
            col("date").filter(dated.and(in_span)).min().alias("e_date"),
            undated_here.any(true).alias("e_window"),
        ]);
    target
        .join(
            elsewhere,
            [col("deal")],
            [col("deal")],
            JoinArgs::new(JoinType::Full).with_coalesce(JoinCoalesce::CoalesceColumns),
        )
        .filter(
            col("t_date")
                .is_not_null()
                .or(col("t_window").fill_null(lit(false)))
                .or(col("e_date").is_not_null())
                .or(col("e_window").fill_null(lit(false))),
        )
}

/// Adds `window_close`, `outcome` (`UInt32`, see [`outcome`]) and `resolved_on` (day number,
/// null while open) to `items` (`deal`, `window`, `first_report`), from [`deal_moves`]. The
/// pipeline does the same in two steps ([`crate::stories`] gathers the facts by deal row).
#[cfg(test)]
pub fn resolve_outcomes(
    items: LazyFrame,
    deal_moves: &DataFrame,
    windows: &DataFrame,
    config: &OutcomesConfig,
    as_of: i32,
) -> LazyFrame {
    outcomes_from_facts(with_deal_facts(items, deal_moves, windows), config, as_of)
}

/// The facts an item's outcome is read from, which are its deal's: `window_close` (from
/// `windows`) and `t_date, t_window, e_date, e_window` (from [`deal_moves`], null where it
/// has no row), appended to `items` (`deal`, `window`) in that order.
pub fn with_deal_facts(items: LazyFrame, deal_moves: &DataFrame, windows: &DataFrame) -> LazyFrame {
    items
        .join(
            windows
                .clone()
                .lazy()
                .select([col("window"), col("window_close")]),
            [col("window")],
            [col("window")],
            JoinArgs::new(JoinType::Left),
        )
        .join(
            deal_moves.clone().lazy(),
            [col("deal")],
            [col("deal")],
            JoinArgs::new(JoinType::Left),
        )
}

/// [`resolve_outcomes`] for `items` that carry their deal's facts ([`with_deal_facts`]) after
/// their own columns: `resolved_on` and `outcome` take the place of the facts but
/// `window_close`.
pub fn outcomes_from_facts(items: LazyFrame, config: &OutcomesConfig, as_of: i32) -> LazyFrame {
    let fr = col("first_report");
    let close = col("window_close");
    // A move known only by its window is known the day after the window closes.
    let after_close = close.clone() + lit(1);
    let closed_on = close.clone() + lit(config.grace_days as i32 + 1);
    let t_window = col("t_window").fill_null(lit(false));
    let e_window = col("e_window").fill_null(lit(false));
    let confirmed_dated = col("t_date")
        .is_not_null()
        .and(col("t_date").gt_eq(fr.clone()));
    let confirmed_window = t_window.clone().and(fr.clone().lt_eq(close.clone()));
    let late = (col("t_date")
        .is_not_null()
        .and(col("t_date").lt(fr.clone())))
    .or(t_window.and(fr.clone().gt(close.clone())));
    let elsewhere_dated = col("e_date").is_not_null();
    let is_closed = lit(as_of).gt_eq(closed_on.clone());
    items
        .with_columns([
            when(confirmed_dated.clone())
                .then(col("t_date"))
                .when(confirmed_window.clone())
                .then(after_close.clone())
                .when(late.clone())
                .then(coalesce(&[col("t_date"), after_close.clone()]))
                .when(elsewhere_dated.clone())
                // A move elsewhere before the report refutes it as of the report.
                .then(
                    when(col("e_date").gt(fr.clone()))
                        .then(col("e_date"))
                        .otherwise(fr.clone()),
                )
                .when(e_window.clone())
                .then(after_close.clone())
                .when(is_closed.clone())
                .then(closed_on)
                .otherwise(lit(NULL).cast(DataType::Int32))
                .alias("resolved_on"),
            when(confirmed_dated.or(confirmed_window))
                .then(lit(outcome::CONFIRMED))
                .when(late)
                .then(lit(outcome::LATE))
                .when(elsewhere_dated.or(e_window).or(is_closed))
                .then(lit(outcome::REFUTED))
                .otherwise(lit(outcome::OPEN))
                .cast(DataType::UInt32)
                .alias("outcome"),
        ])
        .with_column(
            // Refuted before anyone reported it: the window had closed.
            when(
                col("outcome")
                    .eq(lit(outcome::REFUTED))
                    .and(col("resolved_on").lt(fr)),
            )
            .then(lit(outcome::LATE))
            .otherwise(col("outcome"))
            .cast(DataType::UInt32)
            .alias("outcome"),
        )
        .drop(cols(["t_date", "t_window", "e_date", "e_window"]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::windows::{days_since_epoch, Window, WindowCalendar};
    use chrono::NaiveDate;

    fn with_deal(items: DataFrame) -> DataFrame {
        let key = DealKey::new(100, 100, 4000, 4100).expect("key");
        items
            .lazy()
            .with_column(
                key.pack(col("player"), col("to_club"), col("window"))
                    .alias("deal"),
            )
            .collect()
            .expect("deal")
    }

    fn day(s: &str) -> i32 {
        days_since_epoch(NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("date"))
    }

    /// Player 1 (window 2026-summer): moved to club 10 on 2026-07-10 (dated).
    /// Player 2: moved to club 20 in 2026-summer (window only).
    /// Player 3: moved to club 31 on 2026-07-01 (elsewhere for a rumour about club 30).
    /// Player 4: never moved.
    fn world() -> (DataFrame, LazyFrame, DataFrame) {
        let summer = Window::parse("2026-summer").expect("w").ordinal();
        let windows = WindowCalendar::default().table(&[summer]).expect("table");
        let moves = df!(
            "player" => [1u32, 2, 3],
            "to_club" => [10u32, 20, 31],
            "date" => [Some(day("2026-07-10")), None, Some(day("2026-07-01"))],
            "window" => [summer, summer, summer],
            "known_on" => [day("2026-07-10"), day("2026-09-02"), day("2026-07-01")],
        )
        .expect("moves");
        // Items: (player, to_club, first_report)
        let items = df!(
            "player" => [1u32, 1, 1, 2, 2, 3, 3, 4, 4],
            "to_club" => [10u32, 10, 11, 20, 20, 30, 30, 40, 40],
            "window" => [summer; 9],
            "first_report" => [
                day("2026-06-01"), day("2026-07-20"), day("2026-06-01"), day("2026-05-01"),
                day("2026-09-03"), day("2026-06-15"), day("2026-07-05"), day("2026-06-01"), day("2026-09-20"),
            ],
        )
        .expect("items");
        (items, moves.lazy(), windows)
    }

    fn resolve_at(as_of: &str) -> Vec<(u32, Option<i32>)> {
        let (items, moves, windows) = world();
        let config = OutcomesConfig::default();
        let items = with_deal(items);
        let dm = deal_moves(items.clone().lazy(), moves, &windows, &config)
            .collect()
            .expect("deal moves");
        let out = resolve_outcomes(items.lazy(), &dm, &windows, &config, day(as_of))
            .collect()
            .expect("resolve");
        let o = out
            .column("outcome")
            .expect("o")
            .u32()
            .expect("u32")
            .clone();
        let r = out
            .column("resolved_on")
            .expect("r")
            .i32()
            .expect("i32")
            .clone();
        (0..out.height())
            .map(|i| (o.get(i).expect("outcome"), r.get(i)))
            .collect()
    }

    #[test]
    fn outcomes_by_hand() {
        let got = resolve_at("2026-10-01");
        let want = vec![
            (outcome::CONFIRMED, Some(day("2026-07-10"))), // reported before the move
            (outcome::LATE, Some(day("2026-07-10"))),      // reported after the move
            (outcome::REFUTED, Some(day("2026-07-10"))),   // moved to club 10, not 11
            (outcome::CONFIRMED, Some(day("2026-09-02"))), // window-only move: known after the close
            (outcome::LATE, Some(day("2026-09-02"))),      // first report after the close
            (outcome::REFUTED, Some(day("2026-07-01"))),   // moved elsewhere after the report
            (outcome::REFUTED, Some(day("2026-07-05"))), // moved elsewhere before it: as of the report
            (outcome::REFUTED, Some(day("2026-09-09"))), // window closed (1 Sep + 7 days grace)
            (outcome::LATE, Some(day("2026-09-09"))),    // reported after the window had closed
        ];
        assert_eq!(got, want);
    }

    #[test]
    fn later_moves_of_the_same_player_do_not_interfere() {
        let cal = WindowCalendar::default();
        let w2020 = Window::parse("2020-summer").expect("w").ordinal();
        let w2022 = Window::parse("2022-summer").expect("w").ordinal();
        let w2024 = Window::parse("2024-summer").expect("w").ordinal();
        let windows = cal.table(&[w2020, w2022, w2024]).expect("table");
        let moves = df!(
            "player" => [1u32, 1, 1],
            "to_club" => [10u32, 20, 30],
            "date" => [Some(day("2020-07-25")), None, Some(day("2024-06-24"))],
            "window" => [w2020, w2022, w2024],
            "known_on" => [day("2020-07-25"), day("2022-09-01"), day("2024-06-24")],
        )
        .expect("moves");
        let items = df!(
            "player" => [1u32, 1],
            "to_club" => [10u32, 20],
            "window" => [w2020, w2022],
            "first_report" => [day("2020-07-07"), day("2022-06-12")],
        )
        .expect("items");
        let config = OutcomesConfig::default();
        let items = with_deal(items);
        let dm = deal_moves(items.clone().lazy(), moves.lazy(), &windows, &config)
            .collect()
            .expect("dm");
        let out = resolve_outcomes(items.lazy(), &dm, &windows, &config, day("2026-01-01"))
            .collect()
            .expect("resolve");
        let o: Vec<Option<u32>> = out
            .column("outcome")
            .expect("o")
            .u32()
            .expect("u")
            .iter()
            .collect();
        assert_eq!(
            o,
            vec![Some(outcome::CONFIRMED), Some(outcome::CONFIRMED)],
            "{dm:?}\n{out:?}"
        );
    }

    #[test]
    fn open_until_known() {
        // On 2026-07-05 player 1's move is not yet known... but the moves table is already
        // filtered to what is known by the as-of date, so only the close matters here.
        let got = resolve_at("2026-09-08");
        assert_eq!(got[7], (outcome::OPEN, None), "grace period not over");
        let got = resolve_at("2026-09-09");
        assert_eq!(got[7], (outcome::REFUTED, Some(day("2026-09-09"))));
    }
}
