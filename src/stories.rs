//! Stories and deals: claims grouped into the units that are judged.
//!
//! A *deal* is (player, to_club, window). A *story* is one reporter's reports of one deal:
//! a source is judged on its stories, not on how often it repeats itself. A story's stage is
//! the strongest stage the reporter used before the outcome was known; reports published
//! after it are kept out of the judgement (they are news, not prediction).

use polars::prelude::*;

use crate::config::Config;
use crate::resolve::{outcome, resolve_outcomes};
use crate::stage::{infer_rank_expr, Stage};

/// Claims with every `stage` filled in (from `text` where the file had none) and `text`
/// dropped. Adds `stage_inferred` (`Boolean`).
pub fn prepare_claims(claims: DataFrame, config: &Config) -> PolarsResult<DataFrame> {
    claims
        .lazy()
        .with_columns([
            col("stage").is_null().alias("stage_inferred"),
            when(col("stage").is_null())
                .then(infer_rank_expr(col("text"), &config.stage_keywords))
                .otherwise(col("stage"))
                .cast(DataType::UInt32)
                .alias("stage"),
        ])
        .drop(cols(["text"]))
        .collect()
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

/// Stories of one kind of reporter (`source` or `author`), resolved:
/// `<reporter>, player, to_club, window, first_report, last_report, reports, stage, denied,
/// window_close, resolved_on, outcome`.
pub fn stories(
    claims: &DataFrame,
    reporter: &str,
    moves: LazyFrame,
    windows: &DataFrame,
    config: &Config,
    as_of: i32,
) -> PolarsResult<DataFrame> {
    let keys = [reporter, "player", "to_club", "window"];
    let key_exprs: Vec<Expr> = keys.iter().map(|k| col(*k)).collect();
    let claims_lf = claims
        .clone()
        .lazy()
        .filter(col(reporter).is_not_null())
        .select([
            col(reporter),
            col("player"),
            col("to_club"),
            col("window"),
            col("published"),
            col("stage"),
        ]);
    let grouped = claims_lf
        .clone()
        .group_by(key_exprs.clone())
        .agg(claim_aggregates());
    let resolved =
        resolve_outcomes(grouped, &keys, moves, windows, &config.outcomes, as_of).collect()?;

    // Stories with reports after their outcome was known: judge them on the earlier reports.
    let judged = col("outcome")
        .eq(lit(outcome::CONFIRMED))
        .or(col("outcome").eq(lit(outcome::REFUTED)));
    let stale = resolved
        .clone()
        .lazy()
        .filter(judged.and(col("last_report").gt(col("resolved_on"))))
        .select(
            key_exprs
                .iter()
                .cloned()
                .chain([col("resolved_on")])
                .collect::<Vec<_>>(),
        )
        .collect()?;
    if stale.height() == 0 {
        return Ok(resolved);
    }
    let refined = claims_lf
        .join(
            stale.lazy(),
            key_exprs.clone(),
            key_exprs.clone(),
            JoinArgs::new(JoinType::Inner),
        )
        .filter(col("published").lt_eq(col("resolved_on")))
        .group_by(key_exprs.clone())
        .agg(claim_aggregates())
        .select(
            key_exprs
                .iter()
                .cloned()
                .chain([
                    col("last_report").alias("r_last_report"),
                    col("reports").alias("r_reports"),
                    col("stage").alias("r_stage"),
                    col("denied").alias("r_denied"),
                ])
                .collect::<Vec<_>>(),
        );
    resolved
        .lazy()
        .join(
            refined,
            key_exprs.clone(),
            key_exprs,
            JoinArgs::new(JoinType::Left),
        )
        .with_columns([
            coalesce(&[col("r_last_report"), col("last_report")]).alias("last_report"),
            coalesce(&[col("r_reports"), col("reports")]).alias("reports"),
            coalesce(&[col("r_stage"), col("stage")]).alias("stage"),
            coalesce(&[col("r_denied"), col("denied")]).alias("denied"),
        ])
        .drop(cols(["r_last_report", "r_reports", "r_stage", "r_denied"]))
        .collect()
}

/// For each group of `keys`, the most frequent non-null `value` (ties: the smallest id).
pub fn mode_by(lf: LazyFrame, keys: &[&str], value: &str) -> LazyFrame {
    let key_exprs: Vec<Expr> = keys.iter().map(|k| col(*k)).collect();
    let mut with_value = key_exprs.clone();
    with_value.push(col(value));
    lf.filter(col(value).is_not_null())
        .group_by(with_value.clone())
        .agg([len().alias("n")])
        .group_by(key_exprs)
        .agg([col(value)
            .sort_by(
                [col("n"), col(value)],
                SortMultipleOptions::default().with_order_descending_multi([true, false]),
            )
            .first()])
}

/// Deals, resolved: `player, to_club, window, from_club, first_report, last_report, reports,
/// sources, stage, denied, window_close, resolved_on, outcome`. `from_club` is the club most
/// claims name as the player's (the seller).
pub fn deals(
    claims: &DataFrame,
    moves: LazyFrame,
    windows: &DataFrame,
    config: &Config,
    as_of: i32,
) -> PolarsResult<DataFrame> {
    let keys = ["player", "to_club", "window"];
    let key_exprs: Vec<Expr> = keys.iter().map(|k| col(*k)).collect();
    let lf = claims.clone().lazy();
    let mut aggs = claim_aggregates().to_vec();
    aggs.push(
        col("source")
            .n_unique()
            .cast(DataType::UInt32)
            .alias("sources"),
    );
    let grouped = lf.clone().group_by(key_exprs.clone()).agg(aggs).join(
        mode_by(lf, &keys, "from_club"),
        key_exprs.clone(),
        key_exprs,
        JoinArgs::new(JoinType::Left),
    );
    resolve_outcomes(grouped, &keys, moves, windows, &config.outcomes, as_of).collect()
}
