//! Point-in-time rates: what was known of every source, club and season on given days.
//!
//! The likelihood model sees each past deal as it looked some days before its window closed,
//! and the backtest replays the model at past dates; both need, for a group (a source at a
//! stage, a club) on a day `t`, the reliability computed from the items resolved by `t` only.
//!
//! Nothing is computed per group and day. Each group keeps its resolved items as sorted
//! cumulative counts — one point per day on which some of its items resolved — so the record
//! of a group on any day is an as-of lookup (a binary search). The empirical-Bayes priors
//! ([`crate::score::reliability`]) are fitted once per snapshot day on which some counts
//! changed (a day with nothing newly resolved keeps the day before's), and a rate (with its
//! credible interval only when asked) is computed only for the (group, day) pairs a query
//! asks for: the cost grows with the items and the lookups, not with groups × days.

use std::collections::{BTreeMap, HashMap};

use polars::prelude::*;

use crate::column_values::{
    aligned_keys_and, opt_f64, opt_i32, opt_u32, per_piece, sum_maps, KeyPairs,
};
use crate::schema::Stage;
use crate::score::reliability::stage_centres;
use crate::settings::ReliabilityConfig;
use crate::stats::beta_binomial::{
    fit_counts, posterior, posterior_mean, usable, BetaPrior, FitOptions, GroupCounts,
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
    // One or two keys: the packed value fits.
    crate::column_values::packed(keys) as GroupKey
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

/// A rate's mean and credible interval.
type RateValues = (f64, f64, f64);

/// A prior's mean and credible interval (for a group with no record).
type PriorValues = (Option<f64>, Option<f64>, Option<f64>);

/// Priors by `(t, stage rank or 0)`, looked up once per row (a fast hash, not SipHash).
type PriorTable = HashMap<(i32, u32), PriorValues, foldhash::fast::FixedState>;

/// Per row, a group's rate on a day and the prior for a group without a record
/// ([`RatesAt::rates_of_rows`]). `low` and `high` are empty unless bounds were asked.
#[derive(Debug, Default, PartialEq)]
pub struct RowRates {
    pub rate: Vec<Option<f64>>,
    pub low: Vec<Option<f64>>,
    pub high: Vec<Option<f64>>,
    pub prior: Vec<Option<f64>>,
    pub prior_low: Vec<Option<f64>>,
    pub prior_high: Vec<Option<f64>>,
}

impl RowRates {
    fn with_capacity(n: usize, bounds: bool) -> RowRates {
        let bounded = if bounds { n } else { 0 };
        RowRates {
            rate: Vec::with_capacity(n),
            low: Vec::with_capacity(bounded),
            high: Vec::with_capacity(bounded),
            prior: Vec::with_capacity(n),
            prior_low: Vec::with_capacity(n),
            prior_high: Vec::with_capacity(n),
        }
    }

    fn push(&mut self, rate: Option<RateValues>, prior: Option<PriorValues>, bounds: bool) {
        self.rate.push(rate.map(|r| r.0));
        if bounds {
            self.low.push(rate.map(|r| r.1));
            self.high.push(rate.map(|r| r.2));
        }
        let (p, low, high) = prior.unwrap_or((None, None, None));
        self.prior.push(p);
        self.prior_low.push(low);
        self.prior_high.push(high);
    }
}

impl RatesAt {
    /// Hits and trials of group `key` resolved by day `t` (`None`: no record by then).
    pub fn record_at(&self, key: &[u32], t: i32) -> Option<(f64, f64)> {
        record_at(self.records.get(&pack(key))?, t)
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

    /// For each row `i` (day `t[i]`, group `keys[…][i]`, stage `family[i]` for the prior):
    /// the group's rate on that day (`None` without a record by then, or with a null key),
    /// with its credible interval when `bounds`, and the prior in force that day for a group
    /// with no record (per stage when `family` is given; `None` for a day or stage without
    /// one). Each distinct `(day, group)` is computed once.
    ///
    /// # Errors
    /// A key column count other than the lookup's, or an unreadable prior table.
    pub fn rates_of_rows(
        &self,
        t: &[Option<i32>],
        keys: &[Vec<Option<u32>>],
        family: Option<&[Option<u32>]>,
        bounds: bool,
    ) -> PolarsResult<RowRates> {
        let width = self.key_names.len();
        // The overall lookup is asked with no key and keeps its one group under key 0.
        polars_ensure!(
            keys.len() == width || (keys.is_empty() && width == 1),
            ComputeError: "{} key columns for a lookup by {:?}", keys.len(), self.key_names
        );
        let priors = self.prior_table()?;
        let mut cache: HashMap<(i32, GroupKey), Option<RateValues>, foldhash::fast::FixedState> =
            HashMap::with_hasher(foldhash::fast::FixedState::default());
        let mut out = RowRates::with_capacity(t.len(), bounds);
        let mut key = vec![0u32; keys.len()];
        for (i, day) in t.iter().enumerate() {
            let rate = day.and_then(|day| {
                for (k, column) in key.iter_mut().zip(keys) {
                    *k = column[i]?;
                }
                *cache
                    .entry((day, pack(&key)))
                    .or_insert_with(|| self.rate(&key, day, bounds))
            });
            let prior = day.and_then(|day| {
                let f = match family {
                    Some(f) => f[i]?,
                    None => 0,
                };
                priors.get(&(day, f)).copied()
            });
            out.push(rate, prior, bounds);
        }
        Ok(out)
    }

    /// The rate of the group `key` on day `t` (mean, low, high; the interval only when
    /// `bounds`, else the mean thrice): `None` without a record by then or a prior that day.
    fn rate(&self, key: &[u32], t: i32, bounds: bool) -> Option<RateValues> {
        let family = self
            .family
            .map_or(0, |f| key.get(f).copied().unwrap_or(u32::MAX));
        let ((hits, trials), prior) = self
            .record_at(key, t)
            .filter(|(_, n)| *n > 0.0)
            .zip(self.prior_at(t, family))?;
        Some(if bounds {
            let post = posterior(prior, hits, trials, self.interval);
            (post.mean, post.low, post.high)
        } else {
            let mean = posterior_mean(prior, hits, trials);
            (mean, mean, mean)
        })
    }

    /// The prior table ([`RatesAt::priors`]) by `(t, stage rank or 0)`: rate, low, high.
    fn prior_table(&self) -> PolarsResult<PriorTable> {
        let p = &self.priors;
        let t = opt_i32(p, "t")?;
        let family = match self.family {
            Some(f) => opt_u32(p, &self.key_names[f])?,
            None => vec![Some(0); p.height()],
        };
        let (rate, low, high) = (
            opt_f64(p, "prior_rate")?,
            opt_f64(p, "prior_low")?,
            opt_f64(p, "prior_high")?,
        );
        Ok((0..p.height())
            .filter_map(|i| Some(((t[i]?, family[i]?), (rate[i], low[i], high[i]))))
            .collect())
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
    let chains = fit_chains(times, &families, &members_of, family_pos.and(stages), opts);
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

/// A group's record as of day `t`: the last point on or before `t`.
fn record_at(points: &Record, t: i32) -> Option<(f64, f64)> {
    let i = points.partition_point(|p| p.0 <= t);
    (i > 0).then(|| (points[i - 1].1, points[i - 1].2))
}

/// A count as a key that orders like `f64::total_cmp` (the order [`GroupCounts::of`] sorts in).
fn total_order(x: f64) -> i64 {
    let bits = x.to_bits() as i64;
    bits ^ ((((bits >> 63) as u64) >> 1) as i64)
}

/// The [`GroupCounts`] of one family's groups on each day of `times` (sorted), from one sweep
/// of their records' points in day order: on the day of a point the group's new record
/// replaces its earlier one in the family's tally of distinct records. The cost is the
/// points, plus per day the distinct records (a few thousand at most): not groups × days.
/// Totals are kept by adding and taking away counts, exact for whole numbers (counts of
/// stories), so they equal the sums over the groups.
fn family_counts(times: &[i32], members: &[&Record]) -> Vec<GroupCounts> {
    // `(day, member, hits, trials)` of every point, by day.
    let mut points: Vec<(i32, usize, f64, f64)> = members
        .iter()
        .enumerate()
        .flat_map(|(g, record)| record.iter().map(move |p| (p.0, g, p.1, p.2)))
        .collect();
    points.sort_by_key(|p| p.0);
    let mut current: Vec<Option<(f64, f64)>> = vec![None; members.len()];
    type Tally = BTreeMap<(i64, i64), (f64, f64, u32)>;
    let mut tally: Tally = BTreeMap::new();
    let (mut groups, mut total_k, mut total_n) = (0usize, 0.0, 0.0);
    let mut next = 0;
    times
        .iter()
        .map(|&t| {
            while let Some(&(_, g, k, n)) = points.get(next).filter(|p| p.0 <= t) {
                next += 1;
                if let Some((k0, n0)) = current[g].take() {
                    let key = (total_order(k0), total_order(n0));
                    if let Some(entry) = tally.get_mut(&key) {
                        entry.2 -= 1;
                        if entry.2 == 0 {
                            tally.remove(&key);
                        }
                    }
                    groups -= 1;
                    total_k -= k0;
                    total_n -= n0;
                }
                // As [`usable`] keeps and clamps them.
                if n > 0.0 && k.is_finite() && n.is_finite() {
                    let k = k.clamp(0.0, n);
                    tally
                        .entry((total_order(k), total_order(n)))
                        .or_insert((k, n, 0))
                        .2 += 1;
                    current[g] = Some((k, n));
                    groups += 1;
                    total_k += k;
                    total_n += n;
                }
            }
            GroupCounts {
                distinct: tally
                    .values()
                    .map(|&(k, n, c)| (k, n, f64::from(c)))
                    .collect(),
                groups,
                total_k,
                total_n,
            }
        })
        .collect()
}

/// Per family (in order), its prior on each day of `times`. A family's fits form a chain over
/// the days (counts only grow from one day to the next: each fit starts from the previous
/// day's); the families' chains are independent, so they run in parallel and give the same
/// numbers whatever the thread count. With `stages`, each day's stage centres are read from
/// every family's totals that day. A day whose counts and centre equal the day before's keeps
/// that day's prior (the same data, the same prior; no refit).
fn fit_chains(
    times: &[i32],
    families: &[u32],
    members_of: &BTreeMap<u32, Vec<&Record>>,
    stages: Option<StagePriors>,
    opts: FitOptions,
) -> Vec<Vec<BetaPrior>> {
    use rayon::prelude::*;
    let no_members = Vec::new();
    let members = |f: &u32| members_of.get(f).unwrap_or(&no_members);
    let counts: Vec<Vec<GroupCounts>> = families
        .par_iter()
        .map(|f| family_counts(times, members(f)))
        .collect();
    let centres: Vec<Option<[f64; 7]>> = (0..times.len())
        .map(|d| {
            stages.map(|st| {
                let totals: Vec<(u32, f64, f64)> = families
                    .iter()
                    .zip(&counts)
                    .map(|(f, c)| (*f, c[d].total_k, c[d].total_n))
                    .collect();
                stage_centres(&totals, st.step)
            })
        })
        .collect();
    families
        .par_iter()
        .zip(&counts)
        .map(|(f, days)| {
            // The last day's counts, centre and prior.
            let mut previous: Option<(&GroupCounts, Option<f64>, BetaPrior)> = None;
            days.iter()
                .zip(times)
                .zip(&centres)
                .map(|((day, t), centres)| {
                    let centre = centres.and_then(|c| c.get(*f as usize).copied());
                    // Nothing resolved since the last day (most snapshot days: outcomes
                    // become known at the windows' settling days): the same counts and
                    // centre are the same fit. Refitting from its optimum would only move
                    // it by the last step's rounding.
                    if let Some((_, _, prior)) = previous
                        .as_ref()
                        .filter(|(counts, c, _)| *counts == day && *c == centre)
                    {
                        return prior.clone();
                    }
                    // The groups in key order, for a start by the method of moments.
                    let data = || {
                        let records: Vec<(f64, f64)> = members(f)
                            .iter()
                            .filter_map(|points| record_at(points, *t))
                            .collect();
                        usable(&records)
                    };
                    let start = previous.as_ref().map(|(_, _, p)| (p.alpha, p.beta));
                    let prior = fit_counts(day, opts, start, centre, &data);
                    previous = Some((day, centre, prior.clone()));
                    prior
                })
                .collect()
        })
        .collect()
}

/// A group's keys (the second `None` with one key) and a day.
type DayKey = (Option<u32>, Option<u32>, i32);

/// `(rows, hits)` per group and day.
type Daily = Vec<(DayKey, (u32, u32))>;

/// The counted rows of `narrow` (`keys…, __day, __counted, __hit`) tallied per group and day,
/// sorted by group (nulls first) and day: in hash maps, one per piece of the table, summed.
fn daily_by_hash(narrow: &DataFrame, keys: &[&str]) -> PolarsResult<Daily> {
    type Counts = HashMap<DayKey, (u32, u32), foldhash::fast::FixedState>;
    let maps = per_piece(narrow, |part| -> PolarsResult<Counts> {
        let groups = KeyPairs::of(part, keys)?;
        let day = part.column("__day")?.i32()?;
        let counted = part.column("__counted")?.bool()?;
        let is_hit = part.column("__hit")?.bool()?;
        let mut counts = Counts::default();
        let rows = groups
            .iter()
            .zip(day.iter())
            .zip(counted.iter().zip(is_hit.iter()));
        for (((a, b), d), (c, h)) in rows {
            let (Some(true), Some(d)) = (c, d) else {
                continue;
            };
            let entry = counts.entry((a, b, d)).or_insert((0, 0));
            entry.0 += 1;
            entry.1 += u32::from(h == Some(true));
        }
        Ok(counts)
    })?;
    let total = sum_maps(maps, |sum, (n, k)| {
        sum.0 += n;
        sum.1 += k;
    });
    let mut daily: Daily = total.into_iter().collect();
    daily.sort_unstable_by_key(|(key, _)| *key);
    Ok(daily)
}

/// [`daily_by_hash`]'s tally when the keys are dense ids (names, stages): each group gets a
/// slot (its keys' ids, a null before every id), the counted rows are grouped by slot with a
/// counting sort and each group's days sorted on its own, the groups in parallel. Where a
/// table of millions of (group, day) entries missed the cache on nearly every row (at ten
/// million wide claims, the buyers' records took 0.9 s of the lookups' 1.1 s). `None` when the
/// slots would outnumber the rows by far (sparse keys): the hash maps then.
fn daily_by_slots(narrow: &DataFrame, keys: &[&str]) -> PolarsResult<Option<Daily>> {
    use rayon::prelude::*;
    if keys.is_empty() || keys.len() > 2 {
        return Err(PolarsError::ComputeError(
            "a group is keyed by one or two columns".into(),
        ));
    }
    let (table, key_columns) = aligned_keys_and(narrow, keys, &["__day", "__counted", "__hit"])?;
    let day = table.column("__day")?.i32()?.clone();
    let counted = table.column("__counted")?.bool()?.clone();
    let is_hit = table.column("__hit")?.bool()?.clone();
    let a_pieces: Vec<_> = key_columns[0].downcast_iter().collect();
    let b_pieces: Option<Vec<_>> = key_columns.get(1).map(|b| b.downcast_iter().collect());
    let day_pieces: Vec<_> = day.downcast_iter().collect();
    let counted_pieces: Vec<_> = counted.downcast_iter().collect();
    let hit_pieces: Vec<_> = is_hit.downcast_iter().collect();
    let n = narrow.height();
    // Slot of a key: 0 for a null, id + 1 otherwise.
    let slot = |key: Option<u32>| key.map_or(0, |k| u64::from(k) + 1);
    let (mut width_a, mut width_b) = (1u64, 1u64);
    // Piece `p` of each column (all there but in an empty table, which has no rows to read).
    let piece = |p: usize| {
        let b = match &b_pieces {
            Some(b) => Some(*b.get(p)?),
            None => None,
        };
        Some((
            *a_pieces.get(p)?,
            b,
            *day_pieces.get(p)?,
            *counted_pieces.get(p)?,
            *hit_pieces.get(p)?,
        ))
    };
    for (a, b, ..) in (0..day_pieces.len()).filter_map(piece) {
        for i in 0..a.len() {
            width_a = width_a.max(slot(a.get(i)) + 1);
            if let Some(b) = b {
                width_b = width_b.max(slot(b.get(i)) + 1);
            }
        }
    }
    let slots = width_a * width_b;
    if slots > 2 * n as u64 + (1 << 16) || slots >= u64::from(u32::MAX) {
        return Ok(None);
    }
    // The counted rows (with a day) bucketed by slot with a counting sort, each as one number
    // `day · 2 + hit` (which sorts by day): two passes over the columns (the slots counted,
    // then the numbers placed) and one array of the counted rows, where a slot and a fact per
    // row, the rows' order and a list per group touched four times the memory (at ten million
    // claims, some 260 MB faulted in for the source stages' records alone).
    // A row's slot from its keys (no second key: slot 0 of it, as a null).
    let slot_of = |a: Option<u32>, b: Option<u32>| (slot(a) * width_b + slot(b)) as usize;
    let mut starts = vec![0usize; slots as usize + 1];
    for (a, b, day, counted, _) in (0..day_pieces.len()).filter_map(piece) {
        for i in 0..day.len() {
            if let (Some(true), Some(_)) = (counted.get(i), day.get(i)) {
                starts[slot_of(a.get(i), b.and_then(|b| b.get(i))) + 1] += 1;
            }
        }
    }
    for s in 0..slots as usize {
        starts[s + 1] += starts[s];
    }
    let mut next = starts.clone();
    let mut facts = vec![0i64; starts[slots as usize]];
    for (a, b, day, counted, is_hit) in (0..day_pieces.len()).filter_map(piece) {
        for i in 0..day.len() {
            if let (Some(true), Some(d)) = (counted.get(i), day.get(i)) {
                let s = slot_of(a.get(i), b.and_then(|b| b.get(i)));
                facts[next[s]] = i64::from(d) * 2 + i64::from(is_hit.get(i) == Some(true));
                next[s] += 1;
            }
        }
    }
    // Each slot's bucket, apart, to be sorted on every thread.
    let mut buckets: Vec<(usize, &mut [i64])> = Vec::new();
    let mut rest = facts.as_mut_slice();
    for (s, w) in starts.windows(2).enumerate() {
        let (bucket, tail) = rest.split_at_mut(w[1] - w[0]);
        rest = tail;
        if !bucket.is_empty() {
            buckets.push((s, bucket));
        }
    }
    let key_of = |slot: usize| -> (Option<u32>, Option<u32>) {
        let k = |s: u64| s.checked_sub(1).map(|k| k as u32);
        (k(slot as u64 / width_b), k(slot as u64 % width_b))
    };
    let per_slot: Vec<Daily> = buckets
        .into_par_iter()
        .map(|(slot, days)| {
            days.sort_unstable();
            let (a, b) = key_of(slot);
            days.chunk_by(|x, y| x >> 1 == y >> 1)
                .map(|run| {
                    let hits = run.iter().filter(|d| *d & 1 == 1).count() as u32;
                    ((a, b, (run[0] >> 1) as i32), (run.len() as u32, hits))
                })
                .collect()
        })
        .collect();
    Ok(Some(per_slot.into_iter().flatten().collect()))
}

/// Each group's cumulative record `(day, hits, trials)` by the day outcomes became known, up
/// to the last of `times`; groups in key order (a null key first, as polars sorts it).
///
/// Polars projects the few columns read (the keys, the day, whether the item is resolved
/// by the last day and whether it is a hit); the counts per `(group, day)` are then made in
/// a hash map per piece of the rows on every thread and summed (whole numbers: the same
/// counts whatever the pieces), and only the distinct `(group, day)` pairs are sorted. At
/// a million stories of two thousand sources this took a third of the time of polars'
/// streaming group-by and sort (BENCHMARKS.md).
fn cumulative_records(
    items: LazyFrame,
    keys: &[&str],
    hit: Expr,
    times: &[i32],
) -> PolarsResult<Vec<(GroupKey, Record)>> {
    let resolved = crate::schema::is_resolved(col("outcome"));
    let max_t = times.last().copied().unwrap_or(i32::MIN);
    let mut select: Vec<Expr> = keys
        .iter()
        .map(|k| col(*k).cast(DataType::UInt32))
        .collect();
    select.extend([
        col("resolved_on").cast(DataType::Int32).alias("__day"),
        resolved
            .and(col("resolved_on").lt_eq(lit(max_t)))
            .alias("__counted"),
        hit.alias("__hit"),
    ]);
    let narrow = items.select(select).collect()?;
    let daily = match daily_by_slots(&narrow, keys)? {
        Some(daily) => daily,
        None => daily_by_hash(&narrow, keys)?,
    };
    let mut groups: Vec<(GroupKey, Record)> = Vec::new();
    let mut key = vec![0u32; keys.len()];
    for ((a, b, d), (n, k)) in daily {
        key[0] = a.unwrap_or(u32::MAX);
        if let Some(slot) = key.get_mut(1) {
            *slot = b.unwrap_or(u32::MAX);
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
    use crate::stats::beta_binomial::PriorMethod;

    proptest::proptest! {
        #[test]
        fn the_slot_tally_is_the_hash_tally(
            rows in proptest::collection::vec(
                (
                    proptest::option::weighted(0.9, 0u32..6),
                    proptest::option::weighted(0.9, 0u32..4),
                    proptest::option::weighted(0.9, 0i32..9),
                    proptest::option::weighted(0.9, proptest::bool::ANY),
                    proptest::option::weighted(0.9, proptest::bool::ANY),
                ),
                0..60,
            ),
            split in 0i64..60,
        ) {
            let narrow = df!(
                "a" => rows.iter().map(|r| r.0).collect::<Vec<_>>(),
                "b" => rows.iter().map(|r| r.1).collect::<Vec<_>>(),
                "__day" => rows.iter().map(|r| r.2).collect::<Vec<_>>(),
                "__counted" => rows.iter().map(|r| r.3).collect::<Vec<_>>(),
                "__hit" => rows.iter().map(|r| r.4).collect::<Vec<_>>(),
            )
            .expect("narrow");
            // In one piece; in two pieces whose bounds every column shares; and with one
            // column in one piece and the others in two (read each in one piece).
            let cut = split.min(rows.len() as i64);
            let mut pieces = narrow.slice(0, cut as usize);
            pieces.vstack_mut(&narrow.slice(cut, rows.len())).expect("vstack");
            let mut mixed = pieces.clone();
            let day = mixed.column("__day").expect("day").i32().expect("i32").rechunk();
            mixed.with_column(day.into_owned().into_column()).expect("day");
            for table in [&narrow, &pieces, &mixed] {
                for keys in [&["a"][..], &["a", "b"][..], &["b", "a"][..]] {
                    let slots = daily_by_slots(table, keys).expect("slots").expect("dense");
                    proptest::prop_assert_eq!(&slots, &daily_by_hash(&narrow, keys).expect("hash"));
                }
            }
        }
    }

    #[test]
    fn sparse_keys_are_tallied_by_hash() {
        // Two rows with ids far apart: more slots than rows allow.
        let narrow = df!(
            "a" => [1u32, 4_000_000],
            "__day" => [3i32, 3],
            "__counted" => [true, true],
            "__hit" => [true, false],
        )
        .expect("narrow");
        assert!(daily_by_slots(&narrow, &["a"]).expect("slots").is_none());
        let daily = daily_by_hash(&narrow, &["a"]).expect("hash");
        assert_eq!(
            daily,
            vec![
                ((Some(1), None, 3), (1, 1)),
                ((Some(4_000_000), None, 3), (1, 0))
            ]
        );
    }

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
        let t = [Some(5), Some(15), Some(25), Some(35), Some(35), None];
        let keys = vec![vec![
            Some(7u32),
            Some(7),
            Some(7),
            Some(7),
            Some(7),
            Some(7),
        ]];
        let rates = r.rates_of_rows(&t, &keys, None, true).expect("rates");
        // Day 5 has no record (nor a day-less row); day 35, asked twice, the same twice.
        assert_eq!(rates.rate[0], None);
        assert_eq!(rates.rate[5], None);
        assert_eq!(rates.rate[3], rates.rate[4]);
        let rate: Vec<f64> = rates.rate[1..4].iter().flatten().copied().collect();
        // Day 15: prior mean 0.75, Beta(1.5, 0.5) + 1/1 -> 2.5/3.
        assert!((rate[0] - 2.5 / 3.0).abs() < 1e-12, "{rate:?}");
        // Day 25: prior mean 1.5/3 = 0.5 -> Beta(1,1) + 1/2 -> 2/4.
        assert!((rate[1] - 0.5).abs() < 1e-12, "{rate:?}");
        // Day 35: prior mean 2.5/4 -> Beta(1.25, 0.75) + 2/3 -> 3.25/5.
        assert!((rate[2] - 3.25 / 5.0).abs() < 1e-12, "{rate:?}");
        assert!(rates.low[3].is_some_and(|l| l < rate[2]));
        assert!(rates.high[3].is_some_and(|h| h > rate[2]));
        // The prior of day 5 (nothing resolved: the fallback, mean 0.5) for the group without
        // a record; none for the day-less row.
        assert_eq!(rates.prior[0], Some(0.5));
        assert!(rates.prior_low[0].is_some_and(|l| l < 0.5));
        assert_eq!(rates.prior[5], None);
        // Without bounds: the same means, no interval.
        let plain = r.rates_of_rows(&t, &keys, None, false).expect("rates");
        assert!(plain.low.is_empty() && plain.high.is_empty());
        assert_eq!(plain.rate, rates.rate);
        // A null key has no rate, but the day's prior.
        let null = r
            .rates_of_rows(&[Some(35)], &[vec![None]], None, false)
            .expect("rates");
        assert_eq!(null.rate, vec![None]);
        assert!(null.prior[0].is_some());
        // Two key columns for a lookup by one: refused.
        let two = vec![vec![Some(7u32)], vec![Some(1u32)]];
        assert!(r.rates_of_rows(&[Some(35)], &two, None, false).is_err());
        assert_eq!(r.priors.height(), 4);
    }

    #[test]
    fn a_day_with_nothing_newly_resolved_keeps_the_fitted_prior_to_the_bit() {
        // Twelve sources of varied records resolved on day 10, one more story on day 30.
        let (mut source, mut out, mut day) = (Vec::new(), Vec::new(), Vec::new());
        for s in 0..12u32 {
            for i in 0..(3 + s % 5) {
                source.push(s);
                out.push(if (i + s) % 3 == 0 {
                    outcome::CONFIRMED
                } else {
                    outcome::REFUTED
                });
                day.push(Some(10i32));
            }
        }
        source.push(0);
        out.push(outcome::CONFIRMED);
        day.push(Some(30));
        let items = df!("source" => source, "outcome" => out, "resolved_on" => day).expect("df");
        let r = rates_at(
            items.lazy(),
            &["source"],
            None,
            col("outcome").eq(lit(outcome::CONFIRMED)),
            &[15, 20, 25, 35],
            &ReliabilityConfig::default(),
        )
        .expect("rates");
        let prior = |t: i32| r.prior_at(t, 0).cloned().expect("prior");
        assert!(
            matches!(prior(15).method, PriorMethod::Fitted { .. }),
            "{:?}",
            prior(15)
        );
        // Days 20 and 25 have the counts of day 15: its prior, not a refit from it.
        assert_eq!(prior(20), prior(15));
        assert_eq!(prior(25), prior(15));
        // Day 35 has one more story: fitted again.
        assert_ne!(prior(35), prior(15));
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

    /// The priors of every (family, day) fitted the plain way: each day, every group's record
    /// as of that day (a walk of groups × days), fitted from the day before's prior.
    fn chains_day_by_day(
        times: &[i32],
        families: &[u32],
        members_of: &BTreeMap<u32, Vec<&Record>>,
        stages: Option<StagePriors>,
        opts: FitOptions,
    ) -> Vec<Vec<BetaPrior>> {
        use crate::stats::beta_binomial::fit_prior_towards;
        let data = |f: &u32, t: i32| -> Vec<(f64, f64)> {
            members_of
                .get(f)
                .map(|m| {
                    m.iter()
                        .filter_map(|points| record_at(points, t))
                        .filter(|c| c.1 > 0.0)
                        .collect()
                })
                .unwrap_or_default()
        };
        let mut chains: Vec<Vec<BetaPrior>> = vec![Vec::new(); families.len()];
        // Per family, the last day's counts and centre.
        let mut seen: Vec<Option<(GroupCounts, Option<f64>)>> = vec![None; families.len()];
        for &t in times {
            let centres = stages.map(|st| {
                let all: Vec<(u32, f64, f64)> = families
                    .iter()
                    .flat_map(|f| data(f, t).into_iter().map(move |(k, n)| (*f, k, n)))
                    .collect();
                stage_centres(&all, st.step)
            });
            for (i, f) in families.iter().enumerate() {
                let centre = centres.and_then(|c| c.get(*f as usize).copied());
                let counts = GroupCounts::of(&usable(&data(f, t)));
                let last = chains[i].last().cloned();
                let prior = match (&seen[i], last) {
                    // The same counts and centre as the day before: the same prior.
                    (Some((c, ce)), Some(p)) if *c == counts && *ce == centre => p,
                    (_, last) => fit_prior_towards(
                        &data(f, t),
                        opts,
                        last.map(|p| (p.alpha, p.beta)),
                        centre,
                    ),
                };
                seen[i] = Some((counts, centre));
                chains[i].push(prior);
            }
        }
        chains
    }

    proptest::proptest! {
        /// The sweep over the records' points gives, to the last bit, the priors of fitting
        /// every day from every group's record as of that day.
        #[test]
        fn swept_fits_are_the_day_by_day_fits(
            steps in proptest::collection::vec(
                proptest::collection::vec((0u32..7, 0i32..40, 0u32..4, 1u32..4), 1..12),
                0..40,
            ),
            times in proptest::collection::btree_set(0i32..60, 1..8),
            with_stages in proptest::bool::ANY,
        ) {
            // Each group: a family and a few (day step, hits, trials) increments, cumulated.
            let mut records: Vec<(u32, Record)> = Vec::new();
            for group in &steps {
                let family = if with_stages { group[0].0 } else { 0 };
                let (mut day, mut k, mut n) = (0i32, 0.0, 0.0);
                let mut record = Record::new();
                for &(_, step, hits, trials) in group {
                    day += step + 1;
                    k += f64::from(hits.min(trials));
                    n += f64::from(trials);
                    record.push((day, k, n));
                }
                records.push((family, record));
            }
            let mut members_of: BTreeMap<u32, Vec<&Record>> = BTreeMap::new();
            for (f, r) in &records {
                members_of.entry(*f).or_default().push(r);
            }
            let families: Vec<u32> = if with_stages {
                Stage::ALL.iter().map(|s| s.rank()).collect()
            } else {
                vec![0]
            };
            let stages = with_stages.then_some(StagePriors { column: "stage", step: 0.3 });
            let times: Vec<i32> = times.into_iter().collect();
            let opts = FitOptions { min_groups: 3, ..FitOptions::default() };
            proptest::prop_assert_eq!(
                fit_chains(&times, &families, &members_of, stages, opts),
                chains_day_by_day(&times, &families, &members_of, stages, opts)
            );
        }
    }
}
