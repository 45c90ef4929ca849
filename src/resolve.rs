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
//! The moves are matched once per deal ([`deal_facts`]); stories, which differ only in their
//! first report, then resolve with column arithmetic.

use polars::prelude::*;

use crate::ingest::TransferKind;
use crate::schema::outcome;
use crate::settings::OutcomesConfig;

/// The transfers that count as moves: permanent and free always, loans and returns from loan
/// as configured. Columns `player, to_club, date, window`. A move listed twice is kept
/// twice: the facts read from the moves (the first date, whether any) do not change, and at
/// ten million claims finding the distinct rows took 0.1 s of the 0.4 s the facts took.
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
    transfers.clone().lazy().filter(keep).select([
        col("player"),
        col("to_club"),
        col("date"),
        col("window"),
    ])
}

/// A move as [`deal_facts`] reads it: to which club, on which day (when dated), in which
/// window.
#[derive(Debug, Clone, Copy)]
struct Move {
    to_club: u32,
    date: Option<i32>,
    window: Option<i32>,
}

/// What the moves say about each row of `deals` (`player`, `to_club`, `window`), in its order:
/// `window_close` (from `windows`, [`crate::windows::WindowCalendar::table`]); `t_date`, the
/// first dated move of the player to the club after the previous window's close and by this
/// window's close plus grace; `t_window`, whether an undated move to the club is known for
/// this window; `e_date` and `e_window`, the same for moves to any other club (null and false
/// where there are none).
///
/// The moves are put in player order once (a counting sort on the player id: ids are
/// interned, so dense) and each deal reads its player's few moves, on every thread: at ten
/// million claims (2.5 million deals) where polars' two joins and group-bys took 0.95 s
/// (BENCHMARKS.md). The facts are those of the deal, so every row of a deal gets the same.
pub fn deal_facts(
    deals: &DataFrame,
    moves: &DataFrame,
    windows: &DataFrame,
    config: &OutcomesConfig,
) -> PolarsResult<DataFrame> {
    use std::collections::HashMap;
    let grace = config.grace_days as i32;
    // window → (close, previous close).
    let spans: HashMap<i32, (Option<i32>, Option<i32>), foldhash::fast::FixedState> = {
        let w = windows.column("window")?.i32()?;
        let close = windows.column("window_close")?.i32()?;
        let prev = windows.column("prev_close")?.i32()?;
        w.iter()
            .zip(close.iter().zip(prev.iter()))
            .filter_map(|(w, span)| Some((w?, span)))
            .collect()
    };
    let by_player = moves_by_player(moves)?;
    let (offsets, sorted) = (&by_player.0, &by_player.1);
    let narrow = deals.select(["player", "to_club", "window"])?;
    type Facts = (Option<i32>, Option<i32>, bool, Option<i32>, bool);
    // Each piece's facts become its five columns on its own thread; the pieces are then
    // stacked (at ten million wide claims, 2.7 million deals: the columns made one after the
    // other from all the facts took 0.2 s with the other core idle).
    let parts = crate::column_values::per_piece(&narrow, |part| -> PolarsResult<DataFrame> {
        let player = part.column("player")?.u32()?;
        let to_club = part.column("to_club")?.u32()?;
        let window = part.column("window")?.i32()?;
        let rows = player.iter().zip(to_club.iter()).zip(window.iter());
        let facts: Vec<Facts> = rows
            .map(|((p, to), w)| {
                let (close, prev) = w.and_then(|w| spans.get(&w).copied()).unwrap_or_default();
                let mut facts: Facts = (close, None, false, None, false);
                let (Some(p), Some(to), Some(w)) = (p, to, w) else {
                    return facts;
                };
                let Some(range) = offsets.get(p as usize..p as usize + 2) else {
                    return facts;
                };
                let deadline = close.map(|c| c + grace);
                for m in &sorted[range[0] as usize..range[1] as usize] {
                    let in_span = match (m.date, prev, deadline) {
                        (Some(d), Some(prev), Some(deadline)) if d > prev && d <= deadline => {
                            Some(d)
                        }
                        _ => None,
                    };
                    let undated_here = m.date.is_none() && m.window == Some(w);
                    let (date, window) = if m.to_club == to {
                        (&mut facts.1, &mut facts.2)
                    } else {
                        (&mut facts.3, &mut facts.4)
                    };
                    if let Some(d) = in_span {
                        *date = Some(date.map_or(d, |first| first.min(d)));
                    }
                    *window |= undated_here;
                }
                facts
            })
            .collect();
        let dates = |name: &str, f: fn(&Facts) -> Option<i32>| {
            Int32Chunked::from_iter_options(name.into(), facts.iter().map(f)).into_column()
        };
        let flags = |name: &str, f: fn(&Facts) -> bool| {
            BooleanChunked::from_iter_values(name.into(), facts.iter().map(f)).into_column()
        };
        DataFrame::new_infer_height(vec![
            dates("window_close", |f| f.0),
            dates("t_date", |f| f.1),
            flags("t_window", |f| f.2),
            dates("e_date", |f| f.3),
            flags("e_window", |f| f.4),
        ])
    })?;
    let mut parts = parts.into_iter();
    let mut facts = match parts.next() {
        Some(first) => first,
        // No deals: the five columns, empty.
        None => DataFrame::new_infer_height(vec![
            Column::new_empty("window_close".into(), &DataType::Int32),
            Column::new_empty("t_date".into(), &DataType::Int32),
            Column::new_empty("t_window".into(), &DataType::Boolean),
            Column::new_empty("e_date".into(), &DataType::Int32),
            Column::new_empty("e_window".into(), &DataType::Boolean),
        ])?,
    };
    for part in parts {
        facts.vstack_mut_owned(part)?;
    }
    facts.rechunk_mut_par();
    Ok(facts)
}

/// The moves (`player, to_club, date, window`) with a player and a club, by player: the
/// offsets of each player id's moves (player `p`'s are `offsets[p]..offsets[p + 1]`) and the
/// moves, in file order within a player.
fn moves_by_player(moves: &DataFrame) -> PolarsResult<(Vec<u32>, Vec<Move>)> {
    let player = moves.column("player")?.u32()?;
    let to_club = moves.column("to_club")?.u32()?;
    let date = moves.column("date")?.i32()?;
    let window = moves.column("window")?.i32()?;
    let known: Vec<(u32, Move)> = player
        .iter()
        .zip(to_club.iter())
        .zip(date.iter().zip(window.iter()))
        .filter_map(|((p, to), (date, window))| {
            let to_club = to?;
            Some((
                p?,
                Move {
                    to_club,
                    date,
                    window,
                },
            ))
        })
        .collect();
    let players = known
        .iter()
        .map(|(p, _)| *p as usize + 1)
        .max()
        .unwrap_or(0);
    let mut offsets = vec![0u32; players + 1];
    for (p, _) in &known {
        offsets[*p as usize + 1] += 1;
    }
    for i in 1..offsets.len() {
        offsets[i] += offsets[i - 1];
    }
    let mut next = offsets.clone();
    let mut sorted = vec![
        Move {
            to_club: 0,
            date: None,
            window: None,
        };
        known.len()
    ];
    for (p, m) in known {
        sorted[next[p as usize] as usize] = m;
        next[p as usize] += 1;
    }
    Ok((offsets, sorted))
}

/// Adds `window_close`, `outcome` (`UInt32`, see [`outcome`]) and `resolved_on` (day number,
/// null while open) to `items` (`player`, `to_club`, `window`, `first_report`), from the
/// moves. The pipeline does the same in two steps ([`crate::stories`] takes the deals' facts
/// by deal row).
#[cfg(test)]
pub fn resolve_outcomes(
    items: &DataFrame,
    moves: &DataFrame,
    windows: &DataFrame,
    config: &OutcomesConfig,
    as_of: i32,
) -> PolarsResult<LazyFrame> {
    let mut with_facts = items.clone();
    with_facts.hstack_mut(deal_facts(items, moves, windows, config)?.columns())?;
    Ok(outcomes_from_facts(with_facts.lazy(), config, as_of))
}

/// [`resolve_outcomes`] for `items` that carry their deal's facts ([`deal_facts`]) after
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
    use crate::deal::DealKey;
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
        let moves = moves.collect().expect("moves");
        let out = resolve_outcomes(&items, &moves, &windows, &config, day(as_of))
            .expect("facts")
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
        let out = resolve_outcomes(&items, &moves, &windows, &config, day("2026-01-01"))
            .expect("facts")
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
            "{out:?}"
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

    #[test]
    fn deal_facts_by_hand() {
        // 2026-summer: previous close 2026-02-01 (winter), close 2026-09-01, grace 7 days.
        let summer = Window::parse("2026-summer").expect("w").ordinal();
        let winter = Window::parse("2027-winter").expect("w").ordinal();
        let windows = WindowCalendar::default().table(&[summer]).expect("table");
        let moves = df!(
            "player" => [Some(1u32), Some(1), Some(1), Some(1), Some(1), Some(2), None, Some(2)],
            "to_club" => [Some(10u32), Some(10), Some(11), Some(12), Some(10), Some(20), Some(10), None],
            "date" => [
                Some(day("2026-08-20")), Some(day("2026-07-02")), Some(day("2026-09-08")),
                Some(day("2026-09-09")), None, Some(day("2026-01-31")), Some(day("2026-07-01")),
                Some(day("2026-07-01")),
            ],
            "window" => [Some(summer), Some(summer), Some(summer), Some(winter), Some(summer), Some(summer), Some(summer), Some(summer)],
        )
        .expect("moves");
        // Player 1 to club 10 (twice), to club 11; player 2 to 20; player 7 (no moves); a
        // deal in a window the table does not have.
        let deals = df!(
            "player" => [1u32, 1, 1, 2, 7, 1],
            "to_club" => [10u32, 11, 10, 20, 10, 10],
            "window" => [summer, summer, summer, summer, summer, winter],
        )
        .expect("deals");
        let f = deal_facts(&deals, &moves, &windows, &OutcomesConfig::default()).expect("facts");
        let i32s = |c: &str| -> Vec<Option<i32>> {
            f.column(c).expect("c").i32().expect("i32").iter().collect()
        };
        let bools = |c: &str| -> Vec<Option<bool>> {
            f.column(c)
                .expect("c")
                .bool()
                .expect("bool")
                .iter()
                .collect()
        };
        let close = Some(day("2026-09-01"));
        assert_eq!(
            i32s("window_close"),
            [close, close, close, close, close, None]
        );
        // Club 10: the first of its two dated moves; its undated move in this window.
        // Club 11: its move on the last day of grace; the move to 12 after it does not count.
        // Player 2: a move before the previous close does not count; one without a club is
        // not a move. No span: no dated move counts, nor an undated one of another window.
        let (d0702, d0908) = (Some(day("2026-07-02")), Some(day("2026-09-08")));
        assert_eq!(i32s("t_date"), [d0702, d0908, d0702, None, None, None]);
        assert_eq!(
            bools("t_window")
                .iter()
                .map(|b| b.unwrap_or(false))
                .collect::<Vec<_>>(),
            [true, false, true, false, false, false]
        );
        assert_eq!(i32s("e_date"), [d0908, d0702, d0908, None, None, None]);
        assert_eq!(
            bools("e_window")
                .iter()
                .map(|b| b.unwrap_or(false))
                .collect::<Vec<_>>(),
            [false, true, false, false, false, false]
        );
    }
}
