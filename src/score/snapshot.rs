//! Point-in-time rates: what was known of every source, club and season on given days.
//!
//! The likelihood model sees each past deal as it looked some days before its window closed,
//! and the backtest replays the model at past dates; both need, for a group (a source at a
//! stage, a club) on a day `t`, the reliability computed from the items resolved by `t` only.
//!
//! Nothing is computed per group and day. Each group keeps its resolved items as sorted
//! cumulative counts — one point per day on which some of its items resolved — so the record
//! of a group on any day is an as-of lookup (a binary search). The empirical-Bayes priors
//! ([`crate::score::reliability`]) are fitted once per snapshot day, and a rate (with its
//! credible interval only when asked) is computed only for the (group, day) pairs a query
//! asks for: the cost grows with the items and the lookups, not with groups × days.

use std::collections::{BTreeMap, HashMap};

use polars::prelude::*;

use crate::schema::Stage;
use crate::score::reliability::stage_centres;
use crate::settings::ReliabilityConfig;
use crate::stats::beta_binomial::{
    fit_prior_towards, posterior, posterior_mean, BetaPrior, FitOptions,
};

/// Stages get a prior each: the key column holding the stage rank, and the log-odds step
/// of [`stage_centres`] for stages with too little data.
#[derive(Debug, Clone, Copy)]
pub struct StagePriors<'a> {
    pub column: &'a str,
    pub step: f64,
}

/// A group's key: one or two `u32` key columns packed into a `u64` (first key high), which
/// sorts like the pair. A null key is `u32::MAX`.
type GroupKey = u64;

fn pack(keys: &[u32]) -> GroupKey {
    keys.iter().fold(0u64, |acc, k| (acc << 32) | u64::from(*k))
}

/// One group's record: `(day, hits, trials)` cumulated over the items resolved by `day`, one
/// point per day on which some resolved, sorted by day.
type Record = Vec<(i32, f64, f64)>;

/// Everything needed to give the rate of any group on any snapshot day.
#[derive(Debug, Clone)]
pub struct RatesAt {
    key_names: Vec<String>,
    /// Position of the stage among the keys, when there is one prior per stage.
    family: Option<usize>,
    records: HashMap<GroupKey, Record, foldhash::fast::FixedState>,
    /// The prior of each (snapshot day, stage rank or 0).
    fitted: BTreeMap<(i32, u32), BetaPrior>,
    interval: f64,
    /// `t, [stage], prior_rate, prior_low, prior_high`: the value (and the prior's credible
    /// interval) for a group with no record yet.
    pub priors: DataFrame,
}

impl RatesAt {
    /// Hits and trials of group `key` resolved by day `t` (`None`: no record by then).
    pub fn record_at(&self, key: &[u32], t: i32) -> Option<(f64, f64)> {
        let points = self.records.get(&pack(key))?;
        let i = points.partition_point(|p| p.0 <= t);
        (i > 0).then(|| (points[i - 1].1, points[i - 1].2))
    }

    /// The prior in force on day `t` for a group of stage `family` (0 without stages): the
    /// one fitted on the last snapshot day on or before `t`.
    fn prior_at(&self, t: i32, family: u32) -> Option<&BetaPrior> {
        self.fitted
            .range(..=(t, family))
            .rev()
            .find(|((_, f), _)| *f == family)
            .map(|(_, p)| p)
    }

    /// Rates of the distinct `(t, keys…)` rows of `requests` (columns `t` and `key_columns`,
    /// castable to `i32` and `u32`) for groups with a record by `t`: `t`, the key columns,
    /// `__rate` and, with `bounds`, `__rate_low`, `__rate_high`.
    pub fn rates_for(
        &self,
        requests: &DataFrame,
        key_columns: &[&str],
        bounds: bool,
    ) -> PolarsResult<DataFrame> {
        let mut select = vec![col("t").cast(DataType::Int32)];
        select.extend(key_columns.iter().map(|k| col(*k).cast(DataType::UInt32)));
        let pairs = requests
            .clone()
            .lazy()
            .select(select)
            .unique_stable(None, UniqueKeepStrategy::First)
            .collect()?;
        let t = pairs.column("t")?.i32()?;
        let keys: Vec<&UInt32Chunked> = key_columns
            .iter()
            .map(|k| pairs.column(k).and_then(|c| c.u32()))
            .collect::<PolarsResult<_>>()?;
        let mut keep = Vec::with_capacity(pairs.height());
        let (mut rate, mut low, mut high) = (Vec::new(), Vec::new(), Vec::new());
        let mut key = vec![0u32; keys.len()];
        for i in 0..pairs.height() {
            let Some(day) = t.get(i) else {
                keep.push(false);
                continue;
            };
            for (j, c) in keys.iter().enumerate() {
                key[j] = c.get(i).unwrap_or(u32::MAX);
            }
            let family = self.family.map_or(0, |f| key[f]);
            let found = self
                .record_at(&key, day)
                .filter(|(_, n)| *n > 0.0)
                .zip(self.prior_at(day, family));
            let Some(((hits, trials), prior)) = found else {
                keep.push(false);
                continue;
            };
            keep.push(true);
            if bounds {
                let post = posterior(prior, hits, trials, self.interval);
                rate.push(post.mean);
                low.push(post.low);
                high.push(post.high);
            } else {
                rate.push(posterior_mean(prior, hits, trials));
            }
        }
        let mask = BooleanChunked::from_slice("keep".into(), &keep);
        let mut out = pairs.filter(&mask)?;
        out.with_column(Column::new("__rate".into(), rate))?;
        if bounds {
            out.with_column(Column::new("__rate_low".into(), low))?;
            out.with_column(Column::new("__rate_high".into(), high))?;
        }
        Ok(out)
    }

    /// The names of the key columns, in order.
    pub fn key_names(&self) -> &[String] {
        &self.key_names
    }
}

/// Counts `items` (with `keys` — one or two `u32`-castable columns —, `outcome`,
/// `resolved_on` and the `hit` expression) into each group's record, and fits the priors at
/// each day of `times` (sorted, unique).
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
    if keys.is_empty() || keys.len() > 2 {
        return Err(PolarsError::ComputeError(
            "point-in-time rates take one or two key columns".into(),
        ));
    }
    let groups = cumulative_records(items, keys, hit, times)?;
    let family_pos = stages.and_then(|f| keys.iter().position(|k| *k == f.column));
    let family_of = |g: GroupKey| -> u32 {
        match family_pos {
            // Two keys: the first is the high half.
            Some(p) if keys.len() == 2 => {
                if p == 0 {
                    (g >> 32) as u32
                } else {
                    g as u32
                }
            }
            Some(_) => g as u32,
            None => 0,
        }
    };
    let opts = FitOptions {
        min_groups: config.min_groups_for_fit,
        fallback_strength: config.fallback_strength,
        max_strength: config.max_strength,
        min_strength: config.min_strength,
    };
    // Families: every stage (with data or not), or one.
    let mut families: Vec<u32> = match family_pos {
        Some(_) => groups
            .iter()
            .map(|(g, _)| family_of(*g))
            .chain(Stage::ALL.iter().map(|s| s.rank()))
            .collect(),
        None => vec![0],
    };
    families.sort_unstable();
    families.dedup();
    // The groups of each family, in key order.
    let mut members_of: BTreeMap<u32, Vec<&Record>> = BTreeMap::new();
    for (g, points) in &groups {
        members_of.entry(family_of(*g)).or_default().push(points);
    }
    let days = days_of(times, &families, &members_of, family_pos.and(stages));
    let chains = fit_chains(&families, &days, opts);
    let mut fitted = BTreeMap::new();
    let (mut prior_t, mut prior_key, mut prior_rate) = (Vec::new(), Vec::new(), Vec::new());
    let (mut prior_low, mut prior_high) = (Vec::new(), Vec::new());
    for (d, t) in times.iter().enumerate() {
        for (f, chain) in families.iter().zip(&chains) {
            let prior = chain[d].clone();
            prior_t.push(*t);
            prior_key.push(*f);
            prior_rate.push(prior.mean());
            // A group without a record of its own: the prior's interval.
            let none = posterior(&prior, 0.0, 0.0, config.interval);
            prior_low.push(none.low);
            prior_high.push(none.high);
            fitted.insert((*t, *f), prior);
        }
    }
    let mut prior_columns = vec![Column::new("t".into(), prior_t)];
    if let Some(f) = stages {
        prior_columns.push(Column::new(f.column.into(), prior_key));
    }
    prior_columns.push(Column::new("prior_rate".into(), prior_rate));
    prior_columns.push(Column::new("prior_low".into(), prior_low));
    prior_columns.push(Column::new("prior_high".into(), prior_high));
    let priors = DataFrame::new_infer_height(prior_columns)?;
    let mut records =
        HashMap::with_capacity_and_hasher(groups.len(), foldhash::fast::FixedState::default());
    records.extend(groups);
    Ok(RatesAt {
        key_names: keys.iter().map(|k| k.to_string()).collect(),
        family: family_pos,
        records,
        fitted,
        interval: config.interval,
        priors,
    })
}

/// What the priors of one snapshot day are fitted from.
struct Day {
    /// Per family: the `(hits, trials)` of its groups with a record by the day.
    data: BTreeMap<u32, Vec<(f64, f64)>>,
    /// The stages' centres (which read every family's data), with stage priors.
    centres: Option<[f64; 7]>,
}

/// Each day of `times`, from the families' member records.
fn days_of(
    times: &[i32],
    families: &[u32],
    members_of: &BTreeMap<u32, Vec<&Record>>,
    stages: Option<StagePriors>,
) -> Vec<Day> {
    let at = |points: &Record, t: i32| -> Option<(f64, f64)> {
        let i = points.partition_point(|p| p.0 <= t);
        (i > 0).then(|| (points[i - 1].1, points[i - 1].2))
    };
    times
        .iter()
        .map(|t| {
            let data: BTreeMap<u32, Vec<(f64, f64)>> = families
                .iter()
                .map(|f| {
                    let members = members_of
                        .get(f)
                        .map(|m| {
                            m.iter()
                                .filter_map(|points| at(points, *t))
                                .filter(|c| c.1 > 0.0)
                                .collect()
                        })
                        .unwrap_or_default();
                    (*f, members)
                })
                .collect();
            let centres = stages.map(|st| {
                let counts: Vec<(u32, f64, f64)> = data
                    .iter()
                    .flat_map(|(f, m)| m.iter().map(move |(k, n)| (*f, *k, *n)))
                    .collect();
                stage_centres(&counts, st.step)
            });
            Day { data, centres }
        })
        .collect()
}

/// Per family (in order), its prior on each of `days`. A family's fits form a chain over the
/// days (counts only grow from one day to the next: each fit starts from the previous day's);
/// the families' chains are independent, so they run in parallel and give the same numbers
/// whatever the thread count.
fn fit_chains(families: &[u32], days: &[Day], opts: FitOptions) -> Vec<Vec<BetaPrior>> {
    use rayon::prelude::*;
    families
        .par_iter()
        .map(|f| {
            let mut previous: Option<(f64, f64)> = None;
            days.iter()
                .map(|day| {
                    let centre = day.centres.and_then(|c| c.get(*f as usize).copied());
                    let prior = fit_prior_towards(&day.data[f], opts, previous, centre);
                    previous = Some((prior.alpha, prior.beta));
                    prior
                })
                .collect()
        })
        .collect()
}

/// Each group's cumulative record `(day, hits, trials)` by the day outcomes became known, up
/// to the last of `times`; groups in key order.
fn cumulative_records(
    items: LazyFrame,
    keys: &[&str],
    hit: Expr,
    times: &[i32],
) -> PolarsResult<Vec<(GroupKey, Record)>> {
    let key_exprs: Vec<Expr> = keys
        .iter()
        .map(|k| col(*k).cast(DataType::UInt32))
        .collect();
    let resolved = crate::schema::is_resolved(col("outcome"));
    let max_t = times.last().copied().unwrap_or(i32::MIN);
    let mut order: Vec<&str> = keys.to_vec();
    order.push("resolved_on");
    // Streaming: the group-by reads the items in morsels instead of copying the filtered
    // columns whole (at ten million stories, 0.4 GiB less live at the lookups' peak). The
    // keys are unique after the group-by, so the sort fixes the order.
    let daily = crate::stories::collect_streaming(
        items
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
            .sort(order, SortMultipleOptions::default()),
    )?;
    let key_cols: Vec<&UInt32Chunked> = keys
        .iter()
        .map(|k| daily.column(k).and_then(|c| c.u32()))
        .collect::<PolarsResult<_>>()?;
    let day = daily.column("resolved_on")?.i32()?;
    let n = daily.column("n")?.u32()?;
    let k = daily.column("k")?.u32()?;
    let mut groups: Vec<(GroupKey, Record)> = Vec::new();
    let mut key = vec![0u32; keys.len()];
    for i in 0..daily.height() {
        let (Some(d), Some(n), Some(k)) = (day.get(i), n.get(i), k.get(i)) else {
            continue;
        };
        for (j, c) in key_cols.iter().enumerate() {
            key[j] = c.get(i).unwrap_or(u32::MAX);
        }
        let packed = pack(&key);
        match groups.last_mut() {
            Some((g, points)) if *g == packed => {
                let (_, hk, hn) = points.last().copied().unwrap_or((d, 0.0, 0.0));
                points.push((d, hk + f64::from(k), hn + f64::from(n)));
            }
            _ => groups.push((packed, vec![(d, f64::from(k), f64::from(n))])),
        }
    }
    Ok(groups)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::outcome;
    use crate::settings::ReliabilityConfig;

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
        // The record: nothing by day 9, 1/1 from day 10, 1/2 from 20, 2/3 from 30.
        assert_eq!(r.record_at(&[7], 9), None);
        assert_eq!(r.record_at(&[7], 10), Some((1.0, 1.0)));
        assert_eq!(r.record_at(&[7], 29), Some((1.0, 2.0)));
        assert_eq!(r.record_at(&[7], 1000), Some((2.0, 3.0)));
        assert_eq!(r.record_at(&[8], 1000), None);
        // Day 5: nothing resolved. Day 15: 1/1. Day 25: 1/2. Day 35: 2/3.
        // One group only: fallback prior, mean (k + 0.5) / (n + 1), strength 2.
        let requests = df!(
            "t" => [5i32, 15, 25, 35, 35],
            "source" => [7u32, 7, 7, 7, 7],
        )
        .expect("df");
        let rates = r.rates_for(&requests, &["source"], true).expect("rates");
        let t: Vec<i32> = rates
            .column("t")
            .expect("t")
            .i32()
            .expect("i")
            .into_no_null_iter()
            .collect();
        // Asked twice for day 35, answered once; day 5 has no record.
        assert_eq!(t, vec![15, 25, 35]);
        let rate: Vec<f64> = rates
            .column("__rate")
            .expect("r")
            .f64()
            .expect("f")
            .into_no_null_iter()
            .collect();
        // Day 15: prior mean 0.75, Beta(1.5, 0.5) + 1/1 -> 2.5/3.
        assert!((rate[0] - 2.5 / 3.0).abs() < 1e-12, "{rate:?}");
        // Day 25: prior mean 1.5/3 = 0.5 -> Beta(1,1) + 1/2 -> 2/4.
        assert!((rate[1] - 0.5).abs() < 1e-12, "{rate:?}");
        // Day 35: prior mean 2.5/4 -> Beta(1.25, 0.75) + 2/3 -> 3.25/5.
        assert!((rate[2] - 3.25 / 5.0).abs() < 1e-12, "{rate:?}");
        let low = rates.column("__rate_low").expect("l").f64().expect("f");
        assert!(low.get(2).is_some_and(|l| l < rate[2]));
        // Without bounds: the same means, no interval columns.
        let plain = r.rates_for(&requests, &["source"], false).expect("rates");
        assert!(plain.column("__rate_low").is_err());
        assert_eq!(
            plain.column("__rate").expect("r").f64().expect("f").get(2),
            Some(rate[2])
        );
        assert_eq!(r.priors.height(), 4);
    }

    #[test]
    fn one_prior_per_stage_and_two_keys_packed() {
        // Sources 1 and 2 at stages 2 and 5.
        let items = df!(
            "source" => [1u32, 1, 2, 2],
            "stage" => [2u32, 5, 2, 5],
            "outcome" => [outcome::CONFIRMED, outcome::REFUTED, outcome::REFUTED, outcome::CONFIRMED],
            "resolved_on" => [Some(1i32), Some(1), Some(2), Some(2)],
        )
        .expect("df");
        let r = rates_at(
            items.lazy(),
            &["source", "stage"],
            Some(StagePriors {
                column: "stage",
                step: 0.5,
            }),
            col("outcome").eq(lit(outcome::CONFIRMED)),
            &[3],
            &ReliabilityConfig::default(),
        )
        .expect("rates");
        assert_eq!(r.record_at(&[1, 2], 3), Some((1.0, 1.0)));
        assert_eq!(r.record_at(&[2, 5], 3), Some((1.0, 1.0)));
        assert_eq!(r.record_at(&[1, 5], 3), Some((0.0, 1.0)));
        // A prior for every stage on the day, with data or not.
        assert_eq!(r.priors.height(), 7);
    }
}
