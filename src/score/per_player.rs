//! Per player at a snapshot: the competition for them and their mobility.
//!
//! For every `(snap, player, window)` of the deals looked at, with the snapshot's day `t`:
//! how many clubs were linked with the player in that window by `t` (`player_links`), and how
//! many of the player's moves were known by `t`, with the day the latest became known
//! (`player_moves`, `last_move_known`). Players are dense ids, so the claims and the moves
//! are grouped by player with a counting sort and each snapshot reads only its player's
//! rows: no join of every claim with every snapshot of its player (at a million claims that
//! join and its group-by took a third of the deal features, BENCHMARKS.md). The values are
//! those of the join, filter and group-by they replace (property tests compare the two).

use polars::prelude::*;

use crate::column_values::{opt_i32, opt_u32, packed};

/// Per row of `rows` (`player, window, t`): `player_links`, the distinct `to_club`s (a null
/// counted as one) among the `claims` (`player, window, to_club, published`) of the player
/// in the window published by `t`; null when there are none.
///
/// A club is among them when its first claim in the player's window was published by `t`:
/// so each `(player, window)` keeps the sorted first days of its clubs, and a row counts those
/// on or before its day with a binary search. The cost grows with the claims and the rows, not
/// with their product (a player named in thousands of claims, with a row per deal and
/// snapshot, would otherwise read every claim of theirs for every row).
///
/// # Errors
/// Missing columns.
pub fn links(claims: &DataFrame, rows: &DataFrame) -> PolarsResult<Vec<Option<u32>>> {
    use rayon::prelude::*;
    let player = opt_u32(claims, "player")?;
    let (window, published) = (opt_i32(claims, "window")?, opt_i32(claims, "published")?);
    let to_club = opt_u32(claims, "to_club")?;
    // `(player, window, club, day)` of every claim that can be counted, packed into one
    // integer that sorts as the tuple would (a null club first), and sorted: the first of each
    // `(player, window, club)` is the day the club was first linked. Integers sort several
    // times faster than tuples holding an `Option` (at a million claims of a few thousand
    // players, 0.11 s on two threads).
    let mut named: Vec<u128> = Vec::with_capacity(claims.height());
    for c in 0..claims.height() {
        let (Some(p), Some(w), Some(d)) = (player[c], window[c], published[c]) else {
            continue;
        };
        let club = match to_club[c] {
            None => 0,
            Some(k) => k.checked_add(1).ok_or_else(|| {
                PolarsError::ComputeError(format!("club id {k} beyond the clubs read").into())
            })?,
        };
        named.push(packed(&[p, ordered(w), club, ordered(d)]));
    }
    named.par_sort_unstable();
    // `(player, window, first day)` of each club, packed, sorted by day within the player's
    // window.
    let mut first: Vec<u128> = Vec::new();
    let mut last_group = None;
    for n in &named {
        let group = n >> 32;
        if last_group != Some(group) {
            first.push(((n >> 64) << 32) | (n & 0xffff_ffff));
            last_group = Some(group);
        }
    }
    drop(named);
    first.par_sort_unstable();
    let (r_player, r_window, t) = (
        opt_u32(rows, "player")?,
        opt_i32(rows, "window")?,
        opt_i32(rows, "t")?,
    );
    Ok((0..rows.height())
        .into_par_iter()
        .map(|i| {
            let (p, w, t) = (r_player[i]?, r_window[i]?, t[i]?);
            let key = packed(&[p, ordered(w)]);
            let from = first.partition_point(|f| (f >> 32) < key);
            let linked = first[from..].partition_point(|f| {
                (f >> 32) == key && (f & 0xffff_ffff) <= u128::from(ordered(t))
            });
            (linked > 0).then_some(linked as u32)
        })
        .collect())
}

/// An `i32` as a `u32` in the same order.
fn ordered(x: i32) -> u32 {
    (x as u32) ^ 0x8000_0000
}

/// Per row: how many moves were known, and the day the latest became known.
pub type Mobility = (Vec<Option<u32>>, Vec<Option<i32>>);

/// Per row of `rows` (`player, t`): `player_moves`, how many of the `moves` (`player,
/// known_on`, sorted by player) of the player were known by `t`, and `last_move_known`, the
/// latest of their days; both null when none was.
///
/// # Errors
/// Missing columns.
pub fn mobility(moves: &DataFrame, rows: &DataFrame) -> PolarsResult<Mobility> {
    let (player, known_on) = (opt_u32(moves, "player")?, opt_i32(moves, "known_on")?);
    polars_ensure!(
        player.is_sorted(),
        ComputeError: "the players' moves are not sorted by player"
    );
    let (r_player, t) = (opt_u32(rows, "player")?, opt_i32(rows, "t")?);
    let (mut counts, mut last) = (Vec::with_capacity(rows.height()), Vec::new());
    for i in 0..rows.height() {
        let known = r_player[i].zip(t[i]).map(|(p, t)| {
            let from = player.partition_point(|q| *q < Some(p));
            let to = from + player[from..].partition_point(|q| *q == Some(p));
            known_on[from..to]
                .iter()
                .flatten()
                .filter(|d| **d <= t)
                .fold((0u32, None::<i32>), |(n, latest), d| {
                    (n + 1, Some(latest.map_or(*d, |l| l.max(*d))))
                })
        });
        match known {
            Some((n, latest)) if n > 0 => {
                counts.push(Some(n));
                last.push(latest);
            }
            _ => {
                counts.push(None);
                last.push(None);
            }
        }
    }
    Ok((counts, last))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    // The join, filter and group-by these functions replaced, kept as their oracles: per row
    // of `rows` (numbered), the values for its player, window and day.

    /// The per-row values `counted` (by row number `i`) beside every row of `numbered`, in
    /// row order (null where a row has none).
    fn in_row_order(numbered: LazyFrame, counted: LazyFrame) -> DataFrame {
        numbered
            .join(
                counted,
                [col("i")],
                [col("i")],
                JoinArgs::new(JoinType::Left),
            )
            .sort(["i"], SortMultipleOptions::default())
            .collect()
            .expect("in row order")
    }

    fn links_by_polars(claims: &DataFrame, rows: &DataFrame) -> Vec<Option<u32>> {
        let numbered = rows.clone().lazy().with_row_index("i", None);
        let counted = claims
            .clone()
            .lazy()
            .join(
                numbered.clone(),
                [col("player"), col("window")],
                [col("player"), col("window")],
                JoinArgs::new(JoinType::Inner),
            )
            .filter(col("published").lt_eq(col("t")))
            .group_by([col("i")])
            .agg([col("to_club").n_unique().cast(DataType::UInt32).alias("n")]);
        let out = in_row_order(numbered, counted);
        opt_u32(&out, "n").expect("n")
    }

    fn mobility_by_polars(moves: &DataFrame, rows: &DataFrame) -> Mobility {
        let numbered = rows.clone().lazy().with_row_index("i", None);
        let counted = numbered
            .clone()
            .join(
                moves.clone().lazy(),
                [col("player")],
                [col("player")],
                JoinArgs::new(JoinType::Inner),
            )
            .filter(col("known_on").lt_eq(col("t")))
            .group_by([col("i")])
            .agg([
                len().cast(DataType::UInt32).alias("n"),
                col("known_on").max().alias("last"),
            ]);
        let out = in_row_order(numbered, counted);
        (
            opt_u32(&out, "n").expect("n"),
            opt_i32(&out, "last").expect("last"),
        )
    }

    fn opt<T: std::fmt::Debug + Clone>(
        weight: f64,
        s: impl Strategy<Value = T>,
    ) -> impl Strategy<Value = Option<T>> {
        proptest::option::weighted(weight, s)
    }

    proptest! {
        #[test]
        fn links_and_mobility_are_those_of_the_join_and_group_by(
            claims in proptest::collection::vec(
                // Windows and days before 1970 too (negative).
                (opt(0.95, 0u32..5), opt(0.9, -2i32..3), opt(0.9, 0u32..6), opt(0.9, -25i32..50)),
                0..40,
            ),
            moves in proptest::collection::vec((opt(0.95, 0u32..5), opt(0.9, 0i32..50)), 0..15),
            rows in proptest::collection::vec(
                (opt(0.95, 0u32..7), opt(0.95, -2i32..3), opt(0.95, -25i32..50)),
                1..20,
            ),
        ) {
            let claims = df!(
                "player" => claims.iter().map(|c| c.0).collect::<Vec<_>>(),
                "window" => claims.iter().map(|c| c.1).collect::<Vec<_>>(),
                "to_club" => claims.iter().map(|c| c.2).collect::<Vec<_>>(),
                "published" => claims.iter().map(|c| c.3).collect::<Vec<_>>(),
            )
            .expect("claims");
            let moves = df!(
                "player" => moves.iter().map(|m| m.0).collect::<Vec<_>>(),
                "known_on" => moves.iter().map(|m| m.1).collect::<Vec<_>>(),
            )
            .expect("moves")
            .sort(["player", "known_on"], SortMultipleOptions::default())
            .expect("sorted");
            let rows = df!(
                "player" => rows.iter().map(|r| r.0).collect::<Vec<_>>(),
                "window" => rows.iter().map(|r| r.1).collect::<Vec<_>>(),
                "t" => rows.iter().map(|r| r.2).collect::<Vec<_>>(),
            )
            .expect("rows");
            prop_assert_eq!(
                links(&claims, &rows).expect("links"),
                links_by_polars(&claims, &rows)
            );
            prop_assert_eq!(
                mobility(&moves, &rows).expect("mobility"),
                mobility_by_polars(&moves, &rows)
            );
        }
    }

    #[test]
    fn links_count_the_clubs_named_by_the_day_in_the_window() {
        // Player 1 in window 5: clubs 10 (days 3 and 8), 11 (day 9), 12 (day 20); club 13 in
        // window 6. By day 9: 10 and 11. By day 2: none.
        let claims = df!(
            "player" => [1u32, 1, 1, 1, 1],
            "window" => [5i32, 5, 5, 5, 6],
            "to_club" => [10u32, 10, 11, 12, 13],
            "published" => [3i32, 8, 9, 20, 1],
        )
        .expect("claims");
        let rows = df!("player" => [1u32, 1, 2], "window" => [5i32, 5, 5], "t" => [9i32, 2, 9])
            .expect("rows");
        assert_eq!(
            links(&claims, &rows).expect("links"),
            vec![Some(2), None, None]
        );
        // Moves of player 1 known on days 4 and 30: by day 9, one, the latest on day 4.
        let moves = df!("player" => [1u32, 1], "known_on" => [4i32, 30]).expect("moves");
        assert_eq!(
            mobility(&moves, &rows).expect("mobility"),
            (vec![Some(1), None, None], vec![Some(4), None, None])
        );
        let unsorted = df!("player" => [2u32, 1], "known_on" => [4i32, 30]).expect("moves");
        assert!(mobility(&unsorted, &rows).is_err());
    }
}
