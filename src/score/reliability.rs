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

use crate::column_values::{aligned_keys_and, per_piece, sum_maps, KeyPairs};
use crate::schema::outcome;
use crate::schema::Stage;
use crate::settings::ReliabilityConfig;
use crate::stats::beta_binomial::{fit_prior_towards, posterior, BetaPrior, FitOptions};

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

/// The five reliability tables of a run.
#[derive(Debug, Clone)]
pub struct Reliabilities {
    /// Per source, over its stories.
    pub sources: Reliability,
    /// Per author, over their stories.
    pub authors: Reliability,
    /// Per source and wording stage, one prior per stage.
    pub source_stages: Reliability,
    /// Per club as the buyer of a deal.
    pub buyers: Reliability,
    /// Per club as the seller of a deal (deals naming one).
    pub sellers: Reliability,
}

/// Every reliability table: stories by source, by author and by source and stage; deals by
/// buying and by selling club. `stories` and `author_stories` need `outcome`, `resolved_on`,
/// `stage` and their key; `deals` needs `outcome`, `resolved_on`, `to_club` and `from_club`.
pub fn reliabilities(
    stories: &DataFrame,
    author_stories: &DataFrame,
    deals: &DataFrame,
    config: &ReliabilityConfig,
    as_of: i32,
) -> PolarsResult<Reliabilities> {
    let stage_label = |v: &AnyValue| match v {
        AnyValue::UInt32(r) => {
            Stage::from_rank(*r).map_or_else(|| r.to_string(), |s| s.name().to_string())
        }
        other => other.to_string(),
    };
    let any_label = |v: &AnyValue| v.to_string();
    let by = |items: &DataFrame, key: &str, hit: Expr| {
        reliability(
            items.clone().lazy(),
            &[key],
            None,
            hit,
            config,
            as_of,
            &any_label,
        )
    };
    // A source's counts are the sums of its counts at each stage (whole numbers and
    // fixed-point weights): one pass over the stories gives both tables.
    let stage_counts = counts_table(
        stories.clone().lazy(),
        &["source", "stage"],
        story_hit(),
        config,
        as_of,
    )?;
    let source_counts = counts_by(&stage_counts, "source")?;
    // The five tables are independent (each the same whatever runs beside it), and each
    // prior's fit runs on one thread: side by side.
    let ((sources, source_stages), (authors, (buyers, sellers))) = rayon::join(
        || {
            rayon::join(
                || shrink(source_counts, None, config, &any_label),
                || shrink(stage_counts, Some("stage"), config, &stage_label),
            )
        },
        || {
            rayon::join(
                || by(author_stories, "author", story_hit()),
                || {
                    rayon::join(
                        || by(deals, "to_club", deal_hit()),
                        || {
                            reliability(
                                deals.clone().lazy().filter(col("from_club").is_not_null()),
                                &["from_club"],
                                None,
                                deal_hit(),
                                config,
                                as_of,
                                &any_label,
                            )
                        },
                    )
                },
            )
        },
    );
    Ok(Reliabilities {
        sources: sources?,
        authors: authors?,
        source_stages: source_stages?,
        buyers: buyers?,
        sellers: sellers?,
    })
}

/// A story is right when it was confirmed, or — for a denial — refuted.
pub fn story_hit() -> Expr {
    let denied = col("stage").eq(lit(Stage::Denied.rank()));
    (col("outcome")
        .eq(lit(outcome::CONFIRMED))
        .and(denied.clone().not()))
    .or(col("outcome").eq(lit(outcome::REFUTED)).and(denied))
}

/// A deal is a hit for its clubs when it was confirmed.
pub fn deal_hit() -> Expr {
    col("outcome").eq(lit(outcome::CONFIRMED))
}

/// The centre each wording stage's prior falls back towards when the stage has too little
/// data of its own (see [`fit_prior_towards`]): the pooled rate `m` of every stage but the
/// denials, moved by `step` log-odds per stage from their data-weighted mean stage `r̄`:
/// `sigmoid(logit(m) + step (r − r̄))`; denials, right when the deal does not happen, get one
/// minus the rate of the mean stage, `1 − m`. With no data at all, one half for every stage.
///
/// `counts` are `(stage rank, hits, trials)`, in any number per stage.
pub fn stage_centres(counts: &[(u32, f64, f64)], step: f64) -> [f64; 7] {
    use crate::schema::Stage;
    use crate::stats::logistic::{logit, sigmoid};
    let denied = Stage::Denied.rank();
    let (k, n, rn) = counts
        .iter()
        .filter(|(r, _, _)| *r != denied)
        .fold((0.0, 0.0, 0.0), |(k, n, rn), (r, h, t)| {
            (k + h, n + t, rn + f64::from(*r) * t)
        });
    let pooled = (k + 0.5) / (n + 1.0);
    // With no data there is no rate to order the stages around: one half for every stage.
    if n <= 0.0 {
        return [0.5; 7];
    }
    let mean_rank = rn / n;
    let mut out = [0.0; 7];
    for (r, slot) in out.iter_mut().enumerate() {
        *slot = if r as u32 == denied {
            1.0 - pooled
        } else {
            sigmoid(logit(pooled) + step * (r as f64 - mean_rank))
        };
    }
    out
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
    let table = counts_table(items, keys, hit, config, as_of)?;
    shrink(table, prior_by, config, prior_label)
}

/// The counts of a reliability table (`keys…, stories, resolved, hits, open, late, w_trials,
/// w_hits, misses`, in key order, nulls last), before the priors.
fn counts_table(
    items: LazyFrame,
    keys: &[&str],
    hit: Expr,
    config: &ReliabilityConfig,
    as_of: i32,
) -> PolarsResult<DataFrame> {
    let resolved = crate::schema::is_resolved(col("outcome"));
    let mut select: Vec<Expr> = keys.iter().map(|k| col(*k)).collect();
    select.extend([
        col("resolved_on").cast(DataType::Int32).alias("__day"),
        resolved.clone().alias("__resolved"),
        hit.and(resolved).alias("__hit"),
        col("outcome").eq(lit(outcome::OPEN)).alias("__open"),
        col("outcome").eq(lit(outcome::LATE)).alias("__late"),
    ]);
    let narrow = items.select(select).collect()?;
    let weights = day_weights(&narrow, config, as_of)?;
    group_counts(&narrow, keys, &weights)
}

/// A counts table ([`counts_table`]) summed to one of its keys: the sums are of whole numbers
/// and fixed-point weights, so they equal the counts made from the items by that key.
fn counts_by(table: &DataFrame, key: &str) -> PolarsResult<DataFrame> {
    let sum = |c: &str, dtype: DataType| col(c).sum().cast(dtype).alias(c);
    table
        .clone()
        .lazy()
        .group_by([col(key)])
        .agg([
            sum("stories", DataType::UInt32),
            sum("resolved", DataType::UInt32),
            sum("hits", DataType::UInt32),
            sum("open", DataType::UInt32),
            sum("late", DataType::UInt32),
            sum("w_trials", DataType::Int64),
            sum("w_hits", DataType::Int64),
            sum("misses", DataType::UInt32),
        ])
        .sort([key], SortMultipleOptions::default().with_nulls_last(true))
        .collect()
}

/// A group's counts ([`group_counts`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Counts {
    stories: u32,
    resolved: u32,
    hits: u32,
    open: u32,
    late: u32,
    w_trials: i64,
    w_hits: i64,
}

impl Counts {
    /// Counts one item: its flags `[resolved, hit, open, late]` (a null is false) and its day's
    /// weight, if any.
    fn count(&mut self, flags: [Option<bool>; 4], weight: Option<i64>) {
        let [r, h, o, l] = flags.map(|f| f == Some(true));
        self.stories += 1;
        self.resolved += u32::from(r);
        self.hits += u32::from(h);
        self.open += u32::from(o);
        self.late += u32::from(l);
        if let Some(w) = weight {
            self.w_trials += if r { w } else { 0 };
            self.w_hits += if h { w } else { 0 };
        }
    }

    fn add(&mut self, other: &Counts) {
        self.stories += other.stories;
        self.resolved += other.resolved;
        self.hits += other.hits;
        self.open += other.open;
        self.late += other.late;
        self.w_trials += other.w_trials;
        self.w_hits += other.w_hits;
    }
}

/// The fixed-point weight `round(0.5^((as_of − day) / half_life) · FIXED)` of each distinct
/// `__day` of `narrow` (null where the weight is). A weight depends on the day alone, so it
/// is computed once per day, not once per item: the same polars expression on the distinct
/// days gives the same numbers.
fn day_weights(
    narrow: &DataFrame,
    config: &ReliabilityConfig,
    as_of: i32,
) -> PolarsResult<DayWeights> {
    let weight = if config.half_life_days > 0.0 {
        lit(0.5)
            .pow((lit(as_of) - col("__day")).cast(DataType::Float64) / lit(config.half_life_days))
    } else {
        lit(1.0)
    };
    let days = narrow
        .clone()
        .lazy()
        .select([col("__day")])
        .unique(None, UniqueKeepStrategy::Any)
        .drop_nulls(None)
        .with_column(
            (weight * lit(FIXED))
                .round(0, RoundMode::HalfToEven)
                .cast(DataType::Int64)
                .alias("__w"),
        )
        .collect()?;
    let day = days.column("__day")?.i32()?;
    let w = days.column("__w")?.i64()?;
    Ok(day
        .iter()
        .zip(w.iter())
        .filter_map(|(d, w)| Some((d?, w)))
        .collect())
}

/// Per group of `keys` (one or two key columns of `narrow`, in key order, nulls last): its
/// stories, resolved, hits, open and late items, and the fixed-point weighted resolved items
/// and hits. One pass over the items, in an array with a slot per key where the ids are dense
/// ([`counts_by_slots`]), else in a hash map per piece on every thread ([`counts_by_hash`]):
/// whole numbers, so the same either way, where a polars group-by computed a power per item
/// (at ten million stories 0.2–0.4 s less per table; BENCHMARKS.md).
fn group_counts(
    narrow: &DataFrame,
    keys: &[&str],
    weights: &DayWeights,
) -> PolarsResult<DataFrame> {
    let rows = match counts_by_slots(narrow, keys, weights)? {
        Some(rows) => rows,
        None => counts_by_hash(narrow, keys, weights)?,
    };
    let mut columns = Vec::with_capacity(keys.len() + 8);
    for (j, k) in keys.iter().enumerate() {
        let values: UInt32Chunked = rows
            .iter()
            .map(|((a, b), _)| if j == 0 { *a } else { *b })
            .collect();
        let dtype = narrow.column(k)?.dtype().clone();
        columns.push(values.with_name((*k).into()).into_column().cast(&dtype)?);
    }
    let u32_column = |name: &str, f: fn(&Counts) -> u32| {
        Column::new(
            name.into(),
            rows.iter().map(|(_, c)| f(c)).collect::<Vec<u32>>(),
        )
    };
    let i64_column = |name: &str, f: fn(&Counts) -> i64| {
        Column::new(
            name.into(),
            rows.iter().map(|(_, c)| f(c)).collect::<Vec<i64>>(),
        )
    };
    columns.extend([
        u32_column("stories", |c| c.stories),
        u32_column("resolved", |c| c.resolved),
        u32_column("hits", |c| c.hits),
        u32_column("open", |c| c.open),
        u32_column("late", |c| c.late),
        i64_column("w_trials", |c| c.w_trials),
        i64_column("w_hits", |c| c.w_hits),
        u32_column("misses", |c| c.resolved - c.hits),
    ]);
    DataFrame::new_infer_height(columns)
}

/// A group's keys (the second `None` with one key column).
type GroupKey = (Option<u32>, Option<u32>);

/// The fixed-point weight of each distinct day ([`day_weights`]).
type DayWeights = std::collections::HashMap<i32, Option<i64>, foldhash::fast::FixedState>;

/// [`group_counts`]' groups in key order (nulls last), counted in a hash map per piece of the
/// rows on every thread and summed.
fn counts_by_hash(
    narrow: &DataFrame,
    keys: &[&str],
    weights: &DayWeights,
) -> PolarsResult<Vec<(GroupKey, Counts)>> {
    type Groups = std::collections::HashMap<GroupKey, Counts, foldhash::fast::FixedState>;
    let maps = per_piece(narrow, |part| -> PolarsResult<Groups> {
        let flag =
            |c: &str| -> PolarsResult<BooleanChunked> { Ok(part.column(c)?.bool()?.clone()) };
        let keys = KeyPairs::of(part, keys)?;
        let (resolved, hit) = (flag("__resolved")?, flag("__hit")?);
        let (open, late) = (flag("__open")?, flag("__late")?);
        let day = part.column("__day")?.i32()?;
        let mut groups = Groups::default();
        let rows = keys.iter().zip(day.iter()).zip(
            resolved
                .iter()
                .zip(hit.iter())
                .zip(open.iter().zip(late.iter())),
        );
        for ((key, d), ((r, h), (o, l))) in rows {
            let w = d.and_then(|d| weights.get(&d).copied().flatten());
            groups.entry(key).or_default().count([r, h, o, l], w);
        }
        Ok(groups)
    })?;
    let total = sum_maps(maps, |sum, counts| sum.add(&counts));
    let mut rows: Vec<(GroupKey, Counts)> = total.into_iter().collect();
    // Nulls last, as the table has always been sorted.
    let last = |k: Option<u32>| (k.is_none(), k.unwrap_or(0));
    rows.sort_unstable_by_key(|((a, b), _)| (last(*a), last(*b)));
    Ok(rows)
}

/// [`group_counts`]' groups in key order (nulls last), counted in one array with a slot per
/// possible key (`None` when there would be more than a slot per four rows, or the days span
/// many more days than there are rows): the key ids are dense, and a slot per key, read in
/// order, needs neither a hash per row nor a sort. The same counts as [`counts_by_hash`].
fn counts_by_slots(
    narrow: &DataFrame,
    keys: &[&str],
    weights: &DayWeights,
) -> PolarsResult<Option<Vec<(GroupKey, Counts)>>> {
    if keys.is_empty() || keys.len() > 2 {
        return Err(PolarsError::ComputeError(
            "a group is keyed by one or two columns".into(),
        ));
    }
    let n = narrow.height() as u64;
    let (table, key_columns) = aligned_keys_and(
        narrow,
        keys,
        &["__day", "__resolved", "__hit", "__open", "__late"],
    )?;
    // A key's slot: its id, or the last slot for a null (nulls sort last).
    let width = |c: &UInt32Chunked| c.max().map_or(1, |m| u64::from(m) + 2);
    let width_a = width(&key_columns[0]);
    let width_b = key_columns.get(1).map_or(1, width);
    let slots = width_a.saturating_mul(width_b);
    // An array of slots at most a quarter of the rows long (40 bytes a slot: at ten million
    // stories, 100 MB at most, and far less for the keys reliabilities group by).
    if slots > n / 4 + (1 << 16) || slots >= u64::from(u32::MAX) {
        return Ok(None);
    }
    // The weights by day, in an array from the first day.
    let first_day = weights.keys().min().copied().unwrap_or(0);
    let last_day = weights.keys().max().copied().unwrap_or(0);
    let days = i64::from(last_day) - i64::from(first_day) + 1;
    if days > n as i64 + (1 << 16) {
        return Ok(None);
    }
    let mut weight_of_day = vec![None; days.max(0) as usize];
    for (d, w) in weights {
        weight_of_day[(i64::from(*d) - i64::from(first_day)) as usize] = *w;
    }
    let flag =
        |name: &str| -> PolarsResult<BooleanChunked> { Ok(table.column(name)?.bool()?.clone()) };
    let (resolved, hit) = (flag("__resolved")?, flag("__hit")?);
    let (open, late) = (flag("__open")?, flag("__late")?);
    let day = table.column("__day")?.i32()?.clone();
    let a_pieces: Vec<_> = key_columns[0].downcast_iter().collect();
    let b_pieces: Option<Vec<_>> = key_columns.get(1).map(|b| b.downcast_iter().collect());
    let day_pieces: Vec<_> = day.downcast_iter().collect();
    let resolved_pieces: Vec<_> = resolved.downcast_iter().collect();
    let hit_pieces: Vec<_> = hit.downcast_iter().collect();
    let open_pieces: Vec<_> = open.downcast_iter().collect();
    let late_pieces: Vec<_> = late.downcast_iter().collect();
    let slot = |k: Option<u32>, width: u64| k.map_or(width - 1, u64::from);
    let mut counts = vec![Counts::default(); slots as usize];
    for p in 0..day_pieces.len() {
        let (a, day) = (a_pieces[p], day_pieces[p]);
        let b = b_pieces.as_ref().map(|b| b[p]);
        let (resolved, hit) = (resolved_pieces[p], hit_pieces[p]);
        let (open, late) = (open_pieces[p], late_pieces[p]);
        for i in 0..day.len() {
            let s = slot(a.get(i), width_a) * width_b + slot(b.and_then(|b| b.get(i)), width_b);
            let w = day.get(i).and_then(|d| {
                let at = usize::try_from(i64::from(d) - i64::from(first_day)).ok()?;
                weight_of_day.get(at).copied().flatten()
            });
            let flags = [resolved.get(i), hit.get(i), open.get(i), late.get(i)];
            counts[s as usize].count(flags, w);
        }
    }
    let key = |s: u64, width: u64| (s != width - 1).then_some(s as u32);
    Ok(Some(
        counts
            .into_iter()
            .enumerate()
            .filter(|(_, c)| c.stories > 0)
            .map(|(s, c)| {
                let s = s as u64;
                ((key(s / width_b, width_a), key(s % width_b, width_b)), c)
            })
            .collect(),
    ))
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
    // A stage with too little data of its own (one few sources reached) falls back towards
    // the pooled rate of every stage, ordered by stage (see [`stage_centres`]).
    let centres: Option<(Vec<String>, [f64; 7])> = match prior_by {
        Some("stage") => {
            let ranks: Vec<u32> = table
                .column("stage")?
                .u32()?
                .iter()
                .map(|v| v.unwrap_or(0))
                .collect();
            let counts: Vec<(u32, f64, f64)> =
                (0..n).map(|i| (ranks[i], w_hits[i], w_trials[i])).collect();
            let names = crate::schema::Stage::ALL
                .iter()
                .map(|s| prior_label(&AnyValue::UInt32(s.rank())))
                .collect();
            Some((names, stage_centres(&counts, config.stage_step_logit)))
        }
        _ => None,
    };
    let mut priors = Vec::new();
    let (mut mean, mut low, mut high) = (vec![0.0; n], vec![0.0; n], vec![0.0; n]);
    for label in labels {
        let rows: Vec<usize> = (0..n).filter(|i| group_of[*i] == label).collect();
        let data: Vec<(f64, f64)> = rows.iter().map(|i| (w_hits[*i], w_trials[*i])).collect();
        let towards = centres
            .as_ref()
            .and_then(|(names, c)| names.iter().position(|l| *l == label).map(|r| c[r]));
        let prior = fit_prior_towards(&data, opts, None, towards);
        // Each row's interval is two Beta quantiles (at 20,000 sources with their stages, a
        // few hundred thousand), the same for rows of the same counts under one prior (most
        // groups with a short record share theirs: at a million claims of 6,000 sources, some
        // 48,000 source-stage rows): computed once per distinct counts, on every thread.
        let mut distinct: Vec<(f64, f64)> = Vec::new();
        let mut seen: std::collections::HashMap<(u64, u64), usize, foldhash::fast::FixedState> =
            std::collections::HashMap::default();
        let slot: Vec<usize> = rows
            .iter()
            .map(|i| {
                let (k, n) = (w_hits[*i], w_trials[*i]);
                *seen.entry((k.to_bits(), n.to_bits())).or_insert_with(|| {
                    distinct.push((k, n));
                    distinct.len() - 1
                })
            })
            .collect();
        let posteriors: Vec<_> = {
            use rayon::prelude::*;
            distinct
                .par_iter()
                .map(|(k, n)| posterior(&prior, *k, *n, config.interval))
                .collect()
        };
        for (i, s) in rows.into_iter().zip(slot) {
            let p = &posteriors[s];
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

    #[test]
    fn examples_of_stage_centres() {
        // 10 of 100 right at `interest` (2), none elsewhere; a step of 0.5.
        let c = stage_centres(&[(2, 10.0, 100.0)], 0.5);
        assert!((c[2] - 10.5 / 101.0).abs() < 1e-12); // the pooled rate (k + ½) / (n + 1)
        assert!(c[4] > c[3] && c[3] > c[2] && c[2] > c[1]); // ordered by stage
        assert!((c[0] - (1.0 - c[2])).abs() < 1e-12); // denials: the complement
    }

    #[test]
    fn stage_centres_by_hand() {
        use crate::stats::logistic::{logit, sigmoid};
        // speculation (1): 1 of 10; talks (3): 3 of 10; a denial (0): 5 of 5, left out.
        let c = stage_centres(&[(1, 1.0, 10.0), (3, 3.0, 10.0), (0, 5.0, 5.0)], 0.5);
        // Pooled (4 + 0.5) / (20 + 1) = 3/14; mean stage (10 + 30) / 20 = 2.
        let m: f64 = 4.5 / 21.0;
        assert!((c[2] - m).abs() < 1e-12, "{c:?}");
        assert!((c[3] - sigmoid(logit(m) + 0.5)).abs() < 1e-12);
        assert!((c[6] - sigmoid(logit(m) + 2.0)).abs() < 1e-12);
        assert!((c[1] - sigmoid(logit(m) - 0.5)).abs() < 1e-12);
        assert!((c[0] - (1.0 - m)).abs() < 1e-12);
        // No order assumed with a step of 0; no data at all: one half.
        assert!((stage_centres(&[(1, 1.0, 10.0)], 0.0)[6] - 1.5 / 11.0).abs() < 1e-12);
        assert_eq!(stage_centres(&[], 0.5), [0.5; 7]);
    }

    proptest::proptest! {
        #[test]
        fn the_slot_counts_are_the_hash_counts(
            rows in proptest::collection::vec(
                (
                    proptest::option::weighted(0.9, 0u32..6),
                    proptest::option::weighted(0.9, 0u32..4),
                    proptest::option::weighted(0.8, -3i32..9),
                    (
                        proptest::option::weighted(0.9, proptest::bool::ANY),
                        proptest::option::weighted(0.9, proptest::bool::ANY),
                        proptest::option::weighted(0.9, proptest::bool::ANY),
                        proptest::option::weighted(0.9, proptest::bool::ANY),
                    ),
                ),
                0..60,
            ),
            split in 0i64..60,
            weight_seed in proptest::collection::vec(proptest::option::weighted(0.8, 0i64..1000), 12),
        ) {
            let flags = |k: usize| -> Vec<Option<bool>> {
                rows.iter().map(|r| [r.3 .0, r.3 .1, r.3 .2, r.3 .3][k]).collect()
            };
            let narrow = df!(
                "a" => rows.iter().map(|r| r.0).collect::<Vec<_>>(),
                "b" => rows.iter().map(|r| r.1).collect::<Vec<_>>(),
                "__day" => rows.iter().map(|r| r.2).collect::<Vec<_>>(),
                "__resolved" => flags(0),
                "__hit" => flags(1),
                "__open" => flags(2),
                "__late" => flags(3),
            )
            .expect("narrow");
            // Every distinct day has a weight (some null), as `day_weights` gives.
            let weights: DayWeights = rows
                .iter()
                .filter_map(|r| r.2)
                .map(|d| (d, weight_seed[(d + 3) as usize]))
                .collect();
            // In one piece, and in two pieces whose bounds every column shares.
            let cut = split.min(rows.len() as i64);
            let mut pieces = narrow.slice(0, cut as usize);
            pieces.vstack_mut(&narrow.slice(cut, rows.len())).expect("vstack");
            for table in [&narrow, &pieces] {
                for keys in [&["a"][..], &["a", "b"][..], &["b", "a"][..]] {
                    let slots = counts_by_slots(table, keys, &weights).expect("slots").expect("dense");
                    proptest::prop_assert_eq!(&slots, &counts_by_hash(&narrow, keys, &weights).expect("hash"));
                }
            }
        }
    }

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

    #[test]
    fn counts_by_hand_and_a_source_is_the_sum_of_its_stages() {
        use outcome::{CONFIRMED, LATE, OPEN, REFUTED};
        // As of day 20 with a 10-day half-life, days 0, 10 and 20 weigh 0.25, 0.5 and 1.
        let config = ReliabilityConfig {
            half_life_days: 10.0,
            ..ReliabilityConfig::default()
        };
        let denied = Stage::Denied.rank();
        let items = df!(
            "source" => [Some(2u32), Some(1), Some(1), Some(1), Some(2), None],
            "stage" => [Some(3u32), Some(3), Some(denied), None, Some(3), Some(3)],
            "outcome" => [CONFIRMED, REFUTED, REFUTED, CONFIRMED, LATE, OPEN],
            "resolved_on" => [Some(10i32), Some(0), Some(10), Some(20), None, None],
        )
        .expect("df");
        let t = counts_table(
            items.clone().lazy(),
            &["source", "stage"],
            story_hit(),
            &config,
            20,
        )
        .expect("counts");
        // Rows by (source, stage), nulls last. A refuted denial is a hit; a confirmed story
        // without a stage is resolved but not a hit; the late one is not resolved.
        let expected = df!(
            "source" => [Some(1u32), Some(1), Some(1), Some(2), None],
            "stage" => [Some(denied), Some(3), None, Some(3), Some(3)],
            "stories" => [1u32, 1, 1, 2, 1],
            "resolved" => [1u32, 1, 1, 1, 0],
            "hits" => [1u32, 0, 0, 1, 0],
            "open" => [0u32, 0, 0, 0, 1],
            "late" => [0u32, 0, 0, 1, 0],
            "w_trials" => [500_000i64, 250_000, 1_000_000, 500_000, 0],
            "w_hits" => [500_000i64, 0, 0, 500_000, 0],
            "misses" => [0u32, 1, 1, 0, 0],
        )
        .expect("df");
        assert!(t.equals_missing(&expected), "{t:?}");
        // Summed to the source, the same table as counted from the items by source.
        let by_source = counts_by(&t, "source").expect("sum");
        let direct =
            counts_table(items.lazy(), &["source"], story_hit(), &config, 20).expect("counts");
        assert!(
            by_source.equals_missing(&direct),
            "{by_source:?}\n{direct:?}"
        );
        let stories: Vec<Option<u32>> = direct
            .column("stories")
            .expect("c")
            .u32()
            .expect("u")
            .iter()
            .collect();
        assert_eq!(stories, [Some(3), Some(2), Some(1)]);
        let w: Vec<Option<i64>> = direct
            .column("w_trials")
            .expect("c")
            .i64()
            .expect("i")
            .iter()
            .collect();
        assert_eq!(w, [Some(1_750_000), Some(500_000), Some(0)]);
    }

    #[test]
    fn rows_of_the_same_counts_get_their_own_priors_interval_to_the_bit() {
        // Twelve sources at two stages; many rows share their counts, within a stage and
        // across the two (whose priors differ), and some share their hits but not their trials.
        let fixed = |x: f64| (x * FIXED) as i64;
        let (mut stage, mut w_hits, mut w_trials) = (Vec::new(), Vec::new(), Vec::new());
        for s in 0..12u32 {
            for (rank, hits, trials) in [(2u32, s % 3, 4 + s % 2), (3, s % 2 + 1, 4)] {
                stage.push(rank);
                w_hits.push(fixed(f64::from(hits)));
                w_trials.push(fixed(f64::from(trials)));
            }
        }
        let n = stage.len();
        let table = df!(
            "stage" => stage.clone(),
            "hits" => vec![0u32; n],
            "resolved" => vec![0u32; n],
            "w_hits" => w_hits.clone(),
            "w_trials" => w_trials.clone(),
        )
        .expect("df");
        let config = ReliabilityConfig {
            min_groups_for_fit: 3,
            ..ReliabilityConfig::default()
        };
        let label = |v: &AnyValue| v.to_string();
        let r = shrink(table, Some("stage"), &config, &label).expect("shrink");
        let prior_of = |rank: u32| {
            r.priors
                .iter()
                .find(|(l, _)| *l == rank.to_string())
                .map(|(_, p)| p.clone())
                .expect("prior")
        };
        assert_ne!(prior_of(2).alpha, prior_of(3).alpha);
        let column = |c: &str| -> Vec<f64> {
            r.table
                .column(c)
                .expect("c")
                .f64()
                .expect("f")
                .iter()
                .flatten()
                .collect()
        };
        let (mean, low, high) = (
            column("posterior_mean"),
            column("ci_low"),
            column("ci_high"),
        );
        for i in 0..n {
            let (k, t) = (w_hits[i] as f64 / FIXED, w_trials[i] as f64 / FIXED);
            let p = posterior(&prior_of(stage[i]), k, t, config.interval);
            assert_eq!(
                (mean[i].to_bits(), low[i].to_bits(), high[i].to_bits()),
                (p.mean.to_bits(), p.low.to_bits(), p.high.to_bits()),
                "row {i}"
            );
        }
    }
}
