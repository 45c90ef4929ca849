//! Reliability tables: how often a group's stories (or deals) come true, raw and shrunk.
//!
//! For each group (a source, an author, a club in a role, a source at a stage) the resolved
//! items are counted — optionally weighted by `0.5^(age / half_life)` with age counted from
//! the day the outcome was known to the as-of date — and an empirical-Bayes Beta prior is
//! fitted across the groups ([`crate::stats::beta_binomial`]). Each group gets its posterior
//! mean and credible interval. When `prior_by` is given (e.g. `stage`), one prior is fitted per
//! value of it, so that a source's done-stage record is shrunk towards other sources'
//! done-stage records, not towards their gossip.

use polars::prelude::*;

use crate::config::ReliabilityConfig;
use crate::resolve::outcome;
use crate::stats::beta_binomial::{fit_prior, posterior, BetaPrior, FitOptions};

/// Fixed-point scale for weighted sums: integer sums do not depend on summation order, so
/// reports are identical whatever the thread count or row order.
const FIXED: f64 = 1e6;

/// A reliability table and the priors it used.
#[derive(Debug, Clone)]
pub struct Reliability {
    /// `keys…, stories, resolved, hits, misses, open, late, weighted_resolved, raw_rate,
    /// posterior_mean, ci_low, ci_high, insufficient`.
    pub table: DataFrame,
    /// `(value of prior_by or "all", prior)`.
    pub priors: Vec<(String, BetaPrior)>,
}

/// A story is right when it was confirmed, or — for a denial — refuted.
pub fn story_hit() -> Expr {
    let denied = col("stage").eq(lit(crate::stage::Stage::Denied.rank()));
    (col("outcome")
        .eq(lit(outcome::CONFIRMED))
        .and(denied.clone().not()))
    .or(col("outcome").eq(lit(outcome::REFUTED)).and(denied))
}

/// A deal is a hit for its clubs when it was confirmed.
pub fn deal_hit() -> Expr {
    col("outcome").eq(lit(outcome::CONFIRMED))
}

/// Builds the reliability table of `items` grouped by `keys`. `items` needs `outcome`,
/// `resolved_on` and whatever `hit` reads. `prior_label` names the values of `prior_by`
/// (e.g. stage ranks → names) in the returned priors.
pub fn reliability(
    items: LazyFrame,
    keys: &[&str],
    prior_by: Option<&str>,
    hit: Expr,
    config: &ReliabilityConfig,
    as_of: i32,
    prior_label: &dyn Fn(&AnyValue) -> String,
) -> PolarsResult<Reliability> {
    let resolved = col("outcome")
        .eq(lit(outcome::CONFIRMED))
        .or(col("outcome").eq(lit(outcome::REFUTED)));
    let weight = if config.half_life_days > 0.0 {
        lit(0.5).pow(
            (lit(as_of) - col("resolved_on")).cast(DataType::Float64) / lit(config.half_life_days),
        )
    } else {
        lit(1.0)
    };
    let fixed_weight = (weight * lit(FIXED))
        .round(0, RoundMode::HalfToEven)
        .cast(DataType::Int64);
    let key_exprs: Vec<Expr> = keys.iter().map(|k| col(*k)).collect();
    let table = items
        .with_columns([resolved.alias("is_resolved"), hit.alias("is_hit")])
        .with_columns([
            when(col("is_resolved"))
                .then(fixed_weight)
                .otherwise(lit(0i64))
                .alias("w_trial"),
            col("is_hit").and(col("is_resolved")).alias("is_hit"),
        ])
        .group_by(key_exprs.clone())
        .agg([
            len().cast(DataType::UInt32).alias("stories"),
            col("is_resolved")
                .cast(DataType::UInt32)
                .sum()
                .alias("resolved"),
            col("is_hit").cast(DataType::UInt32).sum().alias("hits"),
            col("outcome")
                .eq(lit(outcome::OPEN))
                .cast(DataType::UInt32)
                .sum()
                .alias("open"),
            col("outcome")
                .eq(lit(outcome::LATE))
                .cast(DataType::UInt32)
                .sum()
                .alias("late"),
            col("w_trial").sum().alias("w_trials"),
            when(col("is_hit"))
                .then(col("w_trial"))
                .otherwise(lit(0i64))
                .sum()
                .alias("w_hits"),
        ])
        .with_column((col("resolved") - col("hits")).alias("misses"))
        .sort_by_exprs(
            key_exprs,
            SortMultipleOptions::default().with_nulls_last(true),
        )
        .collect()?;
    shrink(table, prior_by, config, prior_label)
}

/// Fits the priors and appends the posterior columns.
fn shrink(
    table: DataFrame,
    prior_by: Option<&str>,
    config: &ReliabilityConfig,
    prior_label: &dyn Fn(&AnyValue) -> String,
) -> PolarsResult<Reliability> {
    let n = table.height();
    let w_hits: Vec<f64> = table
        .column("w_hits")?
        .i64()?
        .iter()
        .map(|v| v.unwrap_or(0) as f64 / FIXED)
        .collect();
    let w_trials: Vec<f64> = table
        .column("w_trials")?
        .i64()?
        .iter()
        .map(|v| v.unwrap_or(0) as f64 / FIXED)
        .collect();
    let hits: Vec<u32> = table
        .column("hits")?
        .u32()?
        .iter()
        .map(|v| v.unwrap_or(0))
        .collect();
    let resolved: Vec<u32> = table
        .column("resolved")?
        .u32()?
        .iter()
        .map(|v| v.unwrap_or(0))
        .collect();
    // Group rows by the prior they share.
    let group_of: Vec<String> = match prior_by {
        Some(c) => {
            let column = table.column(c)?;
            (0..n)
                .map(|i| column.get(i).map(|v| prior_label(&v)).unwrap_or_default())
                .collect()
        }
        None => vec!["all".to_string(); n],
    };
    let mut labels: Vec<String> = group_of.clone();
    labels.sort();
    labels.dedup();
    let opts = FitOptions {
        min_groups: config.min_groups_for_fit,
        fallback_strength: config.fallback_strength,
        max_strength: config.max_strength,
        min_strength: config.min_strength,
    };
    let mut priors = Vec::new();
    let (mut mean, mut low, mut high) = (vec![0.0; n], vec![0.0; n], vec![0.0; n]);
    for label in labels {
        let rows: Vec<usize> = (0..n).filter(|i| group_of[*i] == label).collect();
        let data: Vec<(f64, f64)> = rows.iter().map(|i| (w_hits[*i], w_trials[*i])).collect();
        let prior = fit_prior(&data, opts);
        for i in rows {
            let p = posterior(&prior, w_hits[i], w_trials[i], config.interval);
            mean[i] = p.mean;
            low[i] = p.low;
            high[i] = p.high;
        }
        priors.push((label, prior));
    }
    let raw: Vec<Option<f64>> = (0..n)
        .map(|i| (resolved[i] > 0).then(|| hits[i] as f64 / resolved[i] as f64))
        .collect();
    let insufficient: Vec<bool> = resolved
        .iter()
        .map(|r| (*r as u64) < config.min_resolved)
        .collect();
    let mut table = table;
    table.with_column(Column::new("weighted_resolved".into(), w_trials))?;
    table.with_column(Column::new("raw_rate".into(), raw))?;
    table.with_column(Column::new("posterior_mean".into(), mean))?;
    table.with_column(Column::new("ci_low".into(), low))?;
    table.with_column(Column::new("ci_high".into(), high))?;
    table.with_column(Column::new("insufficient".into(), insufficient))?;
    let table = table.drop_many(["w_hits", "w_trials"]);
    Ok(Reliability { table, priors })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn items() -> DataFrame {
        // Source 1: right on day 0, wrong on day 10; source 2: right on day 10; one open.
        df!(
            "source" => [1u32, 1, 2, 2],
            "stage" => [2u32, 2, 2, 2],
            "outcome" => [outcome::CONFIRMED, outcome::REFUTED, outcome::CONFIRMED, outcome::OPEN],
            "resolved_on" => [Some(0i32), Some(10), Some(10), None],
        )
        .expect("df")
    }

    #[test]
    fn counts_and_decay_weights() {
        let config = ReliabilityConfig {
            half_life_days: 10.0,
            ..ReliabilityConfig::default()
        };
        let r = reliability(
            items().lazy(),
            &["source"],
            None,
            story_hit(),
            &config,
            20,
            &|v| v.to_string(),
        )
        .expect("table");
        let t = &r.table;
        let col = |c: &str| {
            t.column(c)
                .expect("col")
                .cast(&DataType::Float64)
                .expect("f64")
                .f64()
                .expect("f64")
                .iter()
                .flatten()
                .collect::<Vec<f64>>()
        };
        assert_eq!(col("stories"), vec![2.0, 2.0]);
        assert_eq!(col("resolved"), vec![2.0, 1.0]);
        assert_eq!(col("open"), vec![0.0, 1.0]);
        // Ages 20 and 10 days with a 10-day half-life: weights 0.25 and 0.5.
        assert_eq!(col("weighted_resolved"), vec![0.75, 0.5]);
        assert_eq!(col("raw_rate"), vec![0.5, 1.0]);
        // Two groups: fallback prior, pooled weighted rate (0.25 + 0.5 + 0.5) / (1.25 + 1) = 5/9
        // with strength 2; source 1: (10/9 + 0.25) / (2 + 0.75).
        let mean = col("posterior_mean");
        assert!(
            (mean[0] - (10.0 / 9.0 + 0.25) / 2.75).abs() < 1e-9,
            "{mean:?}"
        );
        let insufficient: Vec<bool> = t
            .column("insufficient")
            .expect("c")
            .bool()
            .expect("b")
            .iter()
            .flatten()
            .collect();
        assert_eq!(insufficient, vec![true, true]);
    }
}
