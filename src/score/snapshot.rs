//! Point-in-time rates: what was known of every source, club and season on given days.
//!
//! The likelihood model sees each past deal as it looked some days before its window closed,
//! and the backtest replays the model at past dates; both need, for each such day `t`, the
//! reliabilities computed from the items resolved by `t` only. Rather than recompute them
//! per day, resolved items are counted into buckets — bucket `b` holds the items resolved
//! after `t[b-1]` and by `t[b]` — and cumulated: the counts at `t[b]` are the sum of buckets
//! `0..=b`. The empirical-Bayes shrinkage of [`crate::score::reliability`] is then applied per
//! day (without time decay).

use std::collections::BTreeMap;

use polars::prelude::*;

use crate::config::ReliabilityConfig;
use crate::resolve::outcome;
use crate::score::reliability::stage_centres;
use crate::stage::Stage;
use crate::stats::beta_binomial::{fit_prior_towards, posterior, FitOptions};

/// Stages get a prior each: the key column holding the stage rank, and the log-odds step
/// of [`stage_centres`] for stages with too little data.
#[derive(Debug, Clone, Copy)]
pub struct StagePriors<'a> {
    pub column: &'a str,
    pub step: f64,
}

/// Rates of groups at each snapshot day.
#[derive(Debug, Clone)]
pub struct RatesAt {
    /// `t, <keys…>, rate, rate_low, rate_high` for every group with a resolved item by `t`.
    pub rates: DataFrame,
    /// `t, [prior_by], prior_rate, prior_low, prior_high`: the value (and the prior's credible
    /// interval) for a group with no record yet.
    pub priors: DataFrame,
}

/// Counts `items` (with `keys` as `u32`-castable columns, `outcome`, `resolved_on` and the
/// `hit` expression) at each day of `times` (sorted, unique) and shrinks them.
///
/// With `stages`, one prior is fitted per stage (every stage gets one, with data or not), and a
/// stage with too little data falls back towards [`stage_centres`].
pub fn rates_at(
    items: LazyFrame,
    keys: &[&str],
    stages: Option<StagePriors>,
    hit: Expr,
    times: &[i32],
    config: &ReliabilityConfig,
) -> PolarsResult<RatesAt> {
    let key_exprs: Vec<Expr> = keys
        .iter()
        .map(|k| col(*k).cast(DataType::UInt32))
        .collect();
    let resolved = col("outcome")
        .eq(lit(outcome::CONFIRMED))
        .or(col("outcome").eq(lit(outcome::REFUTED)));
    let max_t = times.last().copied().unwrap_or(i32::MIN);
    let daily = items
        .filter(resolved.and(col("resolved_on").lt_eq(lit(max_t))))
        .with_column(hit.alias("is_hit"))
        .group_by(
            key_exprs
                .iter()
                .cloned()
                .chain([col("resolved_on")])
                .collect::<Vec<_>>(),
        )
        .agg([
            len().cast(DataType::UInt32).alias("n"),
            col("is_hit").cast(DataType::UInt32).sum().alias("k"),
        ])
        .collect()?;

    // Bucket counts per group: (keys) -> per bucket (hits, trials).
    let nb = times.len();
    let key_cols: Vec<Vec<u32>> = keys
        .iter()
        .map(|k| {
            daily.column(k).and_then(|c| {
                c.u32()
                    .map(|ca| ca.iter().map(|v| v.unwrap_or(u32::MAX)).collect())
            })
        })
        .collect::<PolarsResult<_>>()?;
    let day = daily.column("resolved_on")?.i32()?;
    let n = daily.column("n")?.u32()?;
    let k = daily.column("k")?.u32()?;
    let mut buckets: BTreeMap<Vec<u32>, Vec<(f64, f64)>> = BTreeMap::new();
    for i in 0..daily.height() {
        let (Some(d), Some(n), Some(k)) = (day.get(i), n.get(i), k.get(i)) else {
            continue;
        };
        let b = times.partition_point(|t| *t < d);
        if b >= nb {
            continue;
        }
        let key: Vec<u32> = key_cols.iter().map(|c| c[i]).collect();
        let entry = buckets.entry(key).or_insert_with(|| vec![(0.0, 0.0); nb]);
        entry[b].0 += k as f64;
        entry[b].1 += n as f64;
    }
    for counts in buckets.values_mut() {
        for b in 1..nb {
            counts[b].0 += counts[b - 1].0;
            counts[b].1 += counts[b - 1].1;
        }
    }
    let prior_pos = stages.and_then(|f| keys.iter().position(|k| *k == f.column));
    let opts = FitOptions {
        min_groups: config.min_groups_for_fit,
        fallback_strength: config.fallback_strength,
        max_strength: config.max_strength,
        min_strength: config.min_strength,
    };

    let mut out_t = Vec::new();
    let mut out_keys: Vec<Vec<u32>> = vec![Vec::new(); keys.len()];
    let (mut out_rate, mut out_low, mut out_high) = (Vec::new(), Vec::new(), Vec::new());
    let (mut prior_t, mut prior_key, mut prior_rate) = (Vec::new(), Vec::new(), Vec::new());
    let (mut prior_low, mut prior_high) = (Vec::new(), Vec::new());
    // Prior groups: every value of prior_by seen (or one group).
    let mut prior_values: Vec<u32> = match prior_pos {
        Some(p) => buckets
            .keys()
            .map(|k| k[p])
            .chain(Stage::ALL.iter().map(|s| s.rank()))
            .collect(),
        None => vec![0],
    };
    prior_values.sort_unstable();
    prior_values.dedup();
    let mut previous: BTreeMap<u32, (f64, f64)> = BTreeMap::new();
    for (b, t) in times.iter().enumerate() {
        let centres = prior_pos.zip(stages).map(|(p, st)| {
            let counts: Vec<(u32, f64, f64)> = buckets
                .iter()
                .map(|(key, c)| (key[p], c[b].0, c[b].1))
                .collect();
            stage_centres(&counts, st.step)
        });
        for pv in &prior_values {
            let centre = centres.and_then(|c| c.get(*pv as usize).copied());
            let members: Vec<(&Vec<u32>, (f64, f64))> = buckets
                .iter()
                .filter(|(key, counts)| {
                    prior_pos.is_none_or(|p| key[p] == *pv) && counts[b].1 > 0.0
                })
                .map(|(key, counts)| (key, counts[b]))
                .collect();
            let data: Vec<(f64, f64)> = members.iter().map(|m| m.1).collect();
            // Counts only grow from one day to the next: start from the previous day's fit.
            let prior = fit_prior_towards(&data, opts, previous.get(pv).copied(), centre);
            previous.insert(*pv, (prior.alpha, prior.beta));
            prior_t.push(*t);
            prior_key.push(*pv);
            prior_rate.push(prior.mean());
            // A group without a record of its own: the prior's interval.
            let none = posterior(&prior, 0.0, 0.0, config.interval);
            prior_low.push(none.low);
            prior_high.push(none.high);
            for (key, (hits, trials)) in members {
                let post = posterior(&prior, hits, trials, config.interval);
                out_t.push(*t);
                for (j, v) in key.iter().enumerate() {
                    out_keys[j].push(*v);
                }
                out_rate.push(post.mean);
                out_low.push(post.low);
                out_high.push(post.high);
            }
        }
    }
    let mut columns = vec![Column::new("t".into(), out_t)];
    for (j, k) in keys.iter().enumerate() {
        columns.push(Column::new((*k).into(), std::mem::take(&mut out_keys[j])));
    }
    columns.push(Column::new("rate".into(), out_rate));
    columns.push(Column::new("rate_low".into(), out_low));
    columns.push(Column::new("rate_high".into(), out_high));
    let rates = DataFrame::new_infer_height(columns)?;
    let mut prior_columns = vec![Column::new("t".into(), prior_t)];
    if let Some(f) = stages {
        prior_columns.push(Column::new(f.column.into(), prior_key));
    }
    prior_columns.push(Column::new("prior_rate".into(), prior_rate));
    prior_columns.push(Column::new("prior_low".into(), prior_low));
    prior_columns.push(Column::new("prior_high".into(), prior_high));
    let priors = DataFrame::new_infer_height(prior_columns)?;
    Ok(RatesAt { rates, priors })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ReliabilityConfig;

    #[test]
    fn counts_only_what_was_resolved_by_each_day() {
        // Source 7: a hit resolved on day 10, a miss on day 20, a hit on day 30.
        let items = df!(
            "source" => [7u32, 7, 7, 7],
            "outcome" => [outcome::CONFIRMED, outcome::REFUTED, outcome::CONFIRMED, outcome::OPEN],
            "resolved_on" => [Some(10i32), Some(20), Some(30), None],
        )
        .expect("df");
        let cfg = ReliabilityConfig {
            min_groups_for_fit: 5,
            fallback_strength: 2.0,
            ..ReliabilityConfig::default()
        };
        let r = rates_at(
            items.lazy(),
            &["source"],
            None,
            col("outcome").eq(lit(outcome::CONFIRMED)),
            &[5, 15, 25, 35],
            &cfg,
        )
        .expect("rates");
        // Day 5: nothing resolved. Day 15: 1/1. Day 25: 1/2. Day 35: 2/3.
        // One group only: fallback prior, mean (k + 0.5) / (n + 1), strength 2.
        let t: Vec<i32> = r
            .rates
            .column("t")
            .expect("t")
            .i32()
            .expect("i")
            .iter()
            .flatten()
            .collect();
        assert_eq!(t, vec![15, 25, 35]);
        let rate: Vec<f64> = r
            .rates
            .column("rate")
            .expect("r")
            .f64()
            .expect("f")
            .iter()
            .flatten()
            .collect();
        // Day 15: prior mean 0.75, Beta(1.5, 0.5) + 1/1 -> 2.5/3.
        assert!((rate[0] - 2.5 / 3.0).abs() < 1e-12, "{rate:?}");
        // Day 25: prior mean 1.5/3 = 0.5 -> Beta(1,1) + 1/2 -> 2/4.
        assert!((rate[1] - 0.5).abs() < 1e-12, "{rate:?}");
        // Day 35: prior mean 2.5/4 -> Beta(1.25, 0.75) + 2/3 -> 3.25/5.
        assert!((rate[2] - 3.25 / 5.0).abs() < 1e-12, "{rate:?}");
        assert_eq!(r.priors.height(), 4);
    }
}
