//! Stories and deals: claims grouped into the units that are judged.
//!
//! A *deal* is (player, to_club, window). A *story* is one reporter's reports of one deal:
//! a source is judged on its stories, not on how often it repeats itself. A story's stage is
//! the strongest stage the reporter used before the outcome was known; reports published
//! after it are kept out of the judgement (they are news, not prediction).

use polars::prelude::*;

use crate::deal::{DealKey, IdDealKey};
use crate::resolve::{deal_moves, resolve_outcomes};
use crate::schema::Stage;
use crate::settings::Config;
use crate::wording::StageInference;

/// Claims with every `stage` filled in (from `text` where the file had none) and `text`
/// dropped. Adds `stage_inferred` (`Boolean`) and `deal`, the packed key of (player, to_club,
/// window) (see the `deal` module).
pub fn prepare_claims(mut claims: DataFrame, config: &Config) -> PolarsResult<DataFrame> {
    let key = deal_key(&claims)?;
    // Inferred row by row, and only where the stage is missing (a few percent of claims): a
    // column expression would match every phrase pattern against every row.
    let inference = StageInference::new(&config.stage_keywords)
        .map_err(|e| PolarsError::ComputeError(format!("stage phrases: {e}").into()))?;
    let text = claims.drop_in_place("text")?;
    let given = claims.column("stage")?.cast(&DataType::UInt32)?;
    let given = given.u32()?;
    let inferred = given.is_null().with_name("stage_inferred".into());
    let stage = inference.fill(given, text.str()?);
    drop(text);
    // As the column expressions did: `stage` replaced where it is, the other two appended.
    claims.with_column(stage.into_column())?;
    claims.with_column(inferred.into_column())?;
    let deal = claims
        .clone()
        .lazy()
        .select([key
            .pack(col("player"), col("to_club"), col("window"))
            .alias("deal")])
        .collect()?;
    claims.with_column(deal.column("deal")?.clone())?;
    Ok(claims)
}

/// Collects a query over all claims on polars' streaming engine, which runs these large
/// group-bys about a third faster than the in-memory one (measured: 3.5 s → 2.7 s on 3M claims).
pub(crate) fn collect_streaming(lf: LazyFrame) -> PolarsResult<DataFrame> {
    lf.collect_with_engine(Engine::Streaming)
        .map(|r| r.unwrap_single())
}

/// Aggregates of a group of claims: `first_report`, `last_report`, `reports`, `stage`
/// (strongest) and `denied` (any denial).
fn claim_aggregates() -> [Expr; 5] {
    [
        col("published").min().alias("first_report"),
        col("published").max().alias("last_report"),
        len().cast(DataType::UInt32).alias("reports"),
        col("stage").max().alias("stage"),
        col("stage")
            .eq(lit(Stage::Denied.rank()))
            .any(true)
            .alias("denied"),
    ]
}

/// Stories (by source and by author) and deals, resolved. Each also has `deal`, the packed
/// key of (player, to_club, window).
pub struct Resolved {
    /// `source, player, to_club, window, first_report, last_report, reports, stage, denied,
    /// window_close, resolved_on, outcome`.
    pub stories: DataFrame,
    /// Stories by author, judged as the source stories are, with only what the authors'
    /// reliabilities read: [`AUTHOR_STORY_COLUMNS`].
    pub author_stories: DataFrame,
    /// `player, to_club, window, from_club, first_report, last_report, reports, sources,
    /// stage, denied, window_close, resolved_on, outcome`. `from_club` is the club most claims
    /// name as the player's (the seller).
    pub deals: DataFrame,
}

/// The columns of [`Resolved::author_stories`].
pub const AUTHOR_STORY_COLUMNS: [&str; 4] = ["author", "stage", "outcome", "resolved_on"];

/// Groups claims into stories and deals and resolves them against `moves`.
pub fn stories_and_deals(
    claims: &DataFrame,
    moves: LazyFrame,
    windows: &DataFrame,
    config: &Config,
    as_of: i32,
) -> PolarsResult<Resolved> {
    let key = deal_key(claims)?;
    // `deal` was added by `prepare_claims`; the projection is lazy, so no copy of the claims.
    let claims_lf = claims.clone().lazy().select([
        col("deal"),
        col("window"),
        col("source"),
        col("author"),
        col("from_club"),
        col("published"),
        col("stage"),
    ]);
    let source_key = story_key(claims, "source", &key)?;
    let author_key = story_key(claims, "author", &key)?;
    let by_source = collect_streaming(group_stories(&claims_lf, "source", source_key))?;
    // Deals from the source stories: one story per source and deal.
    // The seller: the from_club most claims of the deal name (ties: the smaller id). Plain
    // aggregations only: a per-group sort costs a second per million deals.
    let with_seller = claims_lf.clone().filter(col("from_club").is_not_null());
    let counts = match story_key(claims, "from_club", &key)? {
        Some(pair) => with_seller
            .select([pair.pack(col("from_club"), col("deal")).alias("__k")])
            .group_by([col("__k")])
            .agg([len().alias("n")])
            .with_columns(pair.unpack(col("__k"), "from_club"))
            .drop(cols(["__k"])),
        None => with_seller
            .group_by([col("deal"), col("from_club")])
            .agg([len().alias("n")]),
    };
    let seller = seller_by_deal(counts);
    let deals = by_source
        .clone()
        .lazy()
        .group_by([col("deal")])
        .agg([
            col("window").first(),
            col("first_report").min(),
            col("last_report").max(),
            col("reports").sum(),
            col("stage").max(),
            col("denied").any(true),
            len().cast(DataType::UInt32).alias("sources"),
        ])
        .join(
            seller,
            [col("deal")],
            [col("deal")],
            JoinArgs::new(JoinType::Left),
        )
        .with_columns(key.unpack(col("deal")));
    let deals = collect_streaming(deals)?;
    let moves_by_deal =
        deal_moves(deals.clone().lazy(), moves, windows, &config.outcomes).collect()?;
    let resolve = |items: LazyFrame| {
        resolve_outcomes(items, &moves_by_deal, windows, &config.outcomes, as_of)
    };
    // The packed `deal` stays beside the unpacked columns: it sorts and joins faster.
    let unpack = |mut df: DataFrame| -> PolarsResult<DataFrame> {
        let [player, to_club, window] = key.unpack_columns(df.column("deal")?.u64()?);
        // As `with_columns` would: `window` replaced where it is, the other two appended.
        df.with_column(window)?;
        df.with_column(player)?;
        df.with_column(to_club)?;
        Ok(df)
    };
    let deals = unpack(resolve(deals.drop_many(["player", "to_club"]).lazy()).collect()?)?;
    let by_author = group_stories(
        &claims_lf.clone().filter(col("author").is_not_null()),
        "author",
        author_key,
    );
    // Only the authors' reliabilities read these: the four columns they need, not the eleven
    // the source stories carry (at ten million claims, 190 MB less held after this stage).
    // Made before the source stories are judged: their group-by then runs beside the grouped
    // source stories rather than the larger judged table.
    let author_stories =
        judge_before_outcome(&claims_lf, "author", collect_streaming(resolve(by_author))?)?
            .select(AUTHOR_STORY_COLUMNS)?;
    let resolved = rechunked(collect_streaming(resolve(by_source.lazy()))?)?;
    let stories = unpack(judge_before_outcome(&claims_lf, "source", resolved)?)?;
    Ok(Resolved {
        stories,
        author_stories,
        deals,
    })
}

/// `df` in one chunk per column (the streaming engine returns a table in many), made one
/// column at a time so that the table is never held twice: later gathers and joins read
/// whole columns.
fn rechunked(mut df: DataFrame) -> PolarsResult<DataFrame> {
    let order = df.get_column_names_owned();
    for name in &order {
        let column = df.drop_in_place(name)?.rechunk();
        df.with_column(column)?;
    }
    df.select(order)
}

/// The seller of each deal from `deal, from_club, n` (claims naming that club): the club
/// most claims name, ties to the smaller id.
fn seller_by_deal(counts: LazyFrame) -> LazyFrame {
    most_counted(counts, vec![col("deal")], "from_club")
}

/// For each group of `keys` in `counts` (`keys…, value, n`), the `value` (a `UInt32` id) with
/// the largest `n`, ties to the smaller id. One maximum of `n · 2^32 + (2^32 − 1 − value)` per
/// group, instead of a sort per group (which cost a second per million deals) or a maximum, a
/// join back and a minimum.
fn most_counted(counts: LazyFrame, keys: Vec<Expr>, value: &str) -> LazyFrame {
    let low = lit(u32::MAX as u64);
    counts
        .group_by(keys)
        .agg([(col("n").cast(DataType::UInt64) * lit(1u64 << 32)
            + (low.clone() - col(value).cast(DataType::UInt64)))
        .max()
        .alias("__best")])
        .with_column(
            (low - col("__best") % lit(1u64 << 32))
                .cast(DataType::UInt32)
                .alias(value),
        )
        .drop(cols(["__best"]))
}

/// The deal key for the claims' players, clubs and windows.
fn deal_key(claims: &DataFrame) -> PolarsResult<DealKey> {
    let max = |c: &str| {
        claims
            .column(c)
            .ok()
            .and_then(|c| c.u32().ok().and_then(|v| v.max()))
            .unwrap_or(0)
    };
    let window = claims.column("window")?.i32()?;
    let (wmin, wmax) = (window.min().unwrap_or(0), window.max().unwrap_or(0));
    DealKey::new(max("player"), max("to_club"), wmin, wmax)
        .map_err(|e| PolarsError::ComputeError(e.into()))
}

fn group_stories(claims: &LazyFrame, reporter: &str, pair: Option<IdDealKey>) -> LazyFrame {
    let aggs: Vec<Expr> = [col("window").first()]
        .into_iter()
        .chain(claim_aggregates())
        .collect();
    let lf = claims.clone().select([
        col(reporter),
        col("deal"),
        col("window"),
        col("published"),
        col("stage"),
    ]);
    match pair {
        Some(pair) => lf
            .with_column(pair.pack(col(reporter), col("deal")).alias("__story"))
            .group_by([col("__story")])
            .agg(aggs)
            .with_columns(pair.unpack(col("__story"), reporter))
            .drop(cols(["__story"])),
        None => lf.group_by([col(reporter), col("deal")]).agg(aggs),
    }
}

/// The packed (reporter, deal) key for `reporter`'s ids, when there is room in 63 bits.
fn story_key(claims: &DataFrame, reporter: &str, key: &DealKey) -> PolarsResult<Option<IdDealKey>> {
    let max = claims.column(reporter)?.u32()?.max().unwrap_or(0);
    Ok(key.with_id(max))
}

/// Stories with reports after their outcome was known are judged on the earlier reports.
/// Only those stories (a fraction of a percent) are joined back to their claims, and only
/// their rows of the four judged columns are rewritten; the table keeps its rows and order.
fn judge_before_outcome(
    claims: &LazyFrame,
    reporter: &str,
    resolved: DataFrame,
) -> PolarsResult<DataFrame> {
    let key_exprs = vec![col(reporter), col("deal")];
    let judged = crate::schema::is_resolved(col("outcome"));
    let is_stale = judged
        .and(col("last_report").gt(col("resolved_on")))
        .fill_null(lit(false));
    let stale = resolved
        .clone()
        .lazy()
        .select([
            col(reporter),
            col("deal"),
            col("resolved_on"),
            is_stale.alias("__stale"),
        ])
        .with_row_index("__row", None)
        .filter(col("__stale"))
        .drop(cols(["__stale"]))
        .collect()?;
    if stale.height() == 0 {
        return Ok(resolved);
    }
    // Their claims: a semi-join on the one-column deal key first, so that the two-column
    // join runs on a few rows rather than every claim.
    let refined = crate::deal::rows_with_keys_in(
        claims
            .clone()
            .select([col(reporter), col("deal"), col("published"), col("stage")]),
        "deal",
        &stale,
    )
    .join(
        stale.clone().lazy().drop(cols(["__row"])),
        key_exprs.clone(),
        key_exprs.clone(),
        JoinArgs::new(JoinType::Inner),
    )
    .filter(col("published").lt_eq(col("resolved_on")))
    .group_by(key_exprs.clone())
    .agg(claim_aggregates());
    // Every stale story has a report by its outcome (its first report counts), so each gets
    // its row back: the new values, by row of the table.
    let patch = stale
        .lazy()
        .join(
            refined,
            key_exprs.clone(),
            key_exprs,
            JoinArgs::new(JoinType::Inner),
        )
        .select([
            col("__row"),
            col("last_report"),
            col("reports"),
            col("stage"),
            col("denied"),
        ])
        .collect()?;
    let rows: Vec<IdxSize> = patch.column("__row")?.idx()?.into_no_null_iter().collect();
    let order: Vec<PlSmallStr> = resolved.get_column_names_owned();
    let mut out = resolved;
    for name in ["last_report", "reports", "stage", "denied"] {
        let values = patch.column(name)?.as_materialized_series();
        // Taken out of the table and unwrapped, so that the scatter writes in place.
        let column = out.drop_in_place(name)?.take_materialized_series();
        let patched = match column.dtype() {
            DataType::Int32 => {
                let mut ca = column.i32()?.clone();
                drop(column);
                (&mut ca).scatter(&rows, values.i32()?.iter())?
            }
            DataType::UInt32 => {
                let mut ca = column.u32()?.clone();
                drop(column);
                (&mut ca).scatter(&rows, values.u32()?.iter())?
            }
            DataType::Boolean => {
                let mut ca = column.bool()?.clone();
                drop(column);
                (&mut ca).scatter(&rows, values.bool()?.iter())?
            }
            other => {
                return Err(PolarsError::ComputeError(
                    format!("judged column `{name}` has an unexpected type {other}").into(),
                ))
            }
        };
        out.with_column(patched.with_name(name.into()).into_column())?;
    }
    out.select(order)
}

/// For each group of `keys`, the most frequent non-null `value` (a `UInt32` id; ties: the
/// smallest id).
pub fn mode_by(lf: LazyFrame, keys: &[&str], value: &str) -> LazyFrame {
    let key_exprs: Vec<Expr> = keys.iter().map(|k| col(*k)).collect();
    let mut with_value = key_exprs.clone();
    with_value.push(col(value));
    let counts = lf
        .filter(col(value).is_not_null())
        .group_by(with_value)
        .agg([len().alias("n")]);
    most_counted(counts, key_exprs, value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mode_by_two_keys_is_the_most_frequent_value_ties_to_the_smaller() {
        // (1, 1): 7 twice, 4 once, null thrice → 7. (1, 2): 9 and 3 once each → 3.
        // (2, 1): only nulls → no row.
        let rows = df!(
            "a" => [1u32, 1, 1, 1, 1, 1, 1, 1, 2],
            "b" => [1u32, 1, 1, 1, 1, 1, 2, 2, 1],
            "v" => [Some(7u32), Some(4), Some(7), None, None, None, Some(9), Some(3), None],
        )
        .expect("df");
        let out = mode_by(rows.lazy(), &["a", "b"], "v")
            .sort(["a", "b"], SortMultipleOptions::default())
            .collect()
            .expect("collect");
        let expected = df!("a" => [1u32, 1], "b" => [1u32, 2], "v" => [7u32, 3]).expect("df");
        assert!(out.equals(&expected), "{out:?}");
    }

    #[test]
    fn the_seller_is_the_club_most_claims_name_ties_to_the_smaller_id() {
        let counts = df!(
            "deal" => [1u64, 1, 1, 2, 3, 3],
            "from_club" => [5u32, 3, 9, 7, 2, 4],
            "n" => [2u32, 2, 1, 1, 1, 3],
        )
        .expect("df");
        let out = seller_by_deal(counts.lazy())
            .sort(["deal"], SortMultipleOptions::default())
            .collect()
            .expect("collect");
        let expected = df!("deal" => [1u64, 2, 3], "from_club" => [3u32, 7, 4]).expect("df");
        assert!(out.equals(&expected), "{out:?}");
    }

    #[test]
    fn stories_are_judged_on_the_reports_before_their_outcome() {
        use crate::schema::outcome::{CONFIRMED, OPEN, REFUTED};
        // (source, deal): (1, 10) confirmed on day 20 with a "done" report on day 25 after it;
        // (2, 10) reported before the outcome only; (1, 11) open; (3, 12) refuted on day 40,
        // with a denial on day 45 after it.
        let resolved = df!(
            "source" => [1u32, 2, 1, 3],
            "deal" => [10u64, 10, 11, 12],
            "outcome" => [CONFIRMED, CONFIRMED, OPEN, REFUTED],
            "resolved_on" => [Some(20i32), Some(20), None, Some(40)],
            "first_report" => [5i32, 18, 30, 30],
            "last_report" => [25i32, 18, 30, 45],
            "reports" => [3u32, 1, 1, 2],
            "stage" => [6u32, 2, 1, 1],
            "denied" => [false, false, false, true],
        )
        .expect("df");
        let claims = df!(
            "source" => [1u32, 1, 1, 2, 1, 3, 3],
            "deal" => [10u64, 10, 10, 10, 11, 12, 12],
            "published" => [5i32, 15, 25, 18, 30, 30, 45],
            "stage" => [2u32, 3, 6, 2, 1, 1, 0],
        )
        .expect("df");
        let out = judge_before_outcome(&claims.lazy(), "source", resolved.clone())
            .expect("judge")
            .lazy()
            .sort(["source", "deal"], SortMultipleOptions::default())
            .collect()
            .expect("sort");
        let expected = df!(
            "source" => [1u32, 1, 2, 3],
            "deal" => [10u64, 11, 10, 12],
            "outcome" => [CONFIRMED, OPEN, CONFIRMED, REFUTED],
            "resolved_on" => [Some(20i32), None, Some(20), Some(40)],
            "first_report" => [5i32, 30, 18, 30],
            // The stale stories keep only their earlier reports.
            "last_report" => [15i32, 30, 18, 30],
            "reports" => [2u32, 1, 1, 1],
            "stage" => [3u32, 1, 2, 1],
            "denied" => [false, false, false, false],
        )
        .expect("df");
        assert!(out.equals_missing(&expected), "{out:?}");
    }

    #[test]
    fn packed_and_two_column_story_keys_group_alike() {
        let key = DealKey::new(40, 9, 4050, 4052).expect("fits");
        let deal = |p: u64, c: u64, w: u64| (p << (key.bits() - 6)) + (c << 2) + w;
        let claims = df!(
            "source" => [3u32, 3, 3, 7, 7, 0],
            "deal" => [deal(1, 2, 0), deal(1, 2, 0), deal(5, 9, 2), deal(1, 2, 0), deal(40, 0, 1), deal(1, 2, 0)],
            "window" => [4050i32, 4050, 4052, 4050, 4051, 4050],
            "published" => [10i32, 12, 11, 30, 5, 7],
            "stage" => [2u32, 4, 0, 1, 6, 3],
        )
        .expect("df");
        let group = |pair| {
            group_stories(&claims.clone().lazy(), "source", pair)
                .sort(["source", "deal"], SortMultipleOptions::default())
                .select([
                    col("source"),
                    col("deal"),
                    col("window"),
                    col("first_report"),
                    col("last_report"),
                    col("reports"),
                    col("stage"),
                    col("denied"),
                ])
                .collect()
                .expect("collect")
        };
        let packed = group(key.with_id(7));
        assert!(packed.equals(&group(None)), "{packed:?}");
        assert_eq!(packed.height(), 5);
        // Source 3's story of the first deal: two reports, days 10 and 12, strongest stage 4.
        let reports = packed.column("reports").expect("col").u32().expect("u32");
        let last = packed
            .column("last_report")
            .expect("col")
            .i32()
            .expect("i32");
        let at = (0..packed.height())
            .find(|i| {
                packed
                    .column("source")
                    .expect("c")
                    .u32()
                    .expect("u")
                    .get(*i)
                    == Some(3)
                    && reports.get(*i) == Some(2)
            })
            .expect("the story");
        assert_eq!(last.get(at), Some(12));
    }
}
