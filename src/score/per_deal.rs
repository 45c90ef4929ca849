//! Per deal at a snapshot: what its claims add up to.
//!
//! [`crate::score::features`] pairs every eligible deal at a snapshot with the claims known
//! by then (one row per claim and snapshot, carrying the number of its eligible row) and
//! needs, per eligible row, a dozen aggregates, the seller named most often, the strongest
//! stage of each origin, and the origins' evidence summed with the most informative origin's
//! record. The rows are grouped once, by a counting sort on the dense row number, and each
//! group is read in one pass: at a million claims (some 420 thousand claim-snapshots) this
//! replaced five hash group-bys and a sort of polars (BENCHMARKS.md). Every value is the one
//! those group-bys gave, with their rules for nulls (property tests compare the two).

use polars::prelude::*;

use crate::column_values::{max_id, opt_f64, opt_i32, opt_u32, Groups};
use crate::schema::Stage;

/// The claims of each row of `rows` (`player, to_club, window, t`; rows numbered by position)
/// known on its day: the pairs `(claim, row)` of a claim (`player, to_club, window,
/// published`) about the row's deal published by the row's `t` (a null matches nothing), in
/// claim order, then row order.
///
/// The rows are grouped by player (a counting sort), and each player's rows ordered by club
/// and window (row order kept within a deal): a claim finds its deal's rows by a binary search
/// among its player's. The cost grows with the claims and the rows, not with their product: a
/// player with hundreds of rows (a few players in many deals, each seen on several days) would
/// otherwise have every row of theirs read for each of their claims.
///
/// # Errors
/// Missing columns.
pub fn claims_at_rows(
    claims: &DataFrame,
    rows: &DataFrame,
) -> PolarsResult<(Vec<IdxSize>, Vec<IdxSize>)> {
    let (player, club) = (opt_u32(claims, "player")?, opt_u32(claims, "to_club")?);
    let (window, published) = (opt_i32(claims, "window")?, opt_i32(claims, "published")?);
    let (r_player, r_club) = (opt_u32(rows, "player")?, opt_u32(rows, "to_club")?);
    let (r_window, r_t) = (opt_i32(rows, "window")?, opt_i32(rows, "t")?);
    let by_player = Groups::of(r_player.iter().copied(), max_id(&r_player));
    let deal = |r: &u32| (r_club[*r as usize], r_window[*r as usize]);
    // Each player's rows by deal: the groups' rows, each group sorted by its deal (a stable
    // sort: table order within a deal).
    let mut by_deal: Vec<u32> = Vec::with_capacity(rows.height());
    let mut starts: Vec<usize> = Vec::new();
    for (p, members) in by_player.iter() {
        let p = p as usize;
        if starts.len() <= p + 1 {
            let last = by_deal.len();
            starts.resize(p + 2, last);
        }
        let from = by_deal.len();
        by_deal.extend_from_slice(members);
        by_deal[from..].sort_by_key(deal);
        starts[p + 1] = by_deal.len();
    }
    let rows_of = |p: u32| -> &[u32] {
        let p = p as usize;
        match (starts.get(p), starts.get(p + 1)) {
            (Some(from), Some(to)) => &by_deal[*from..*to],
            _ => &[],
        }
    };
    let (mut claim_of, mut row_of) = (Vec::new(), Vec::new());
    for i in 0..claims.height() {
        let (Some(p), Some(c), Some(w), Some(d)) = (player[i], club[i], window[i], published[i])
        else {
            continue;
        };
        let mine = rows_of(p);
        let key = (Some(c), Some(w));
        let from = mine.partition_point(|r| deal(r) < key);
        for r in mine[from..].iter().take_while(|r| deal(r) == key) {
            if r_t[*r as usize].is_some_and(|t| d <= t) {
                claim_of.push(i as IdxSize);
                row_of.push(*r as IdxSize);
            }
        }
    }
    Ok((claim_of, row_of))
}

/// The values of `column` at `rows`.
fn pick<'a, T: Copy>(
    column: &'a [Option<T>],
    rows: &'a [u32],
) -> impl Iterator<Item = Option<T>> + 'a {
    rows.iter().map(|i| column[*i as usize])
}

/// The greatest of the non-null values (`None` when there are none).
fn max_of<T: Copy + PartialOrd>(values: impl Iterator<Item = Option<T>>) -> Option<T> {
    values.flatten().fold(None, |best, v| match best {
        Some(b) if b >= v => Some(b),
        _ => Some(v),
    })
}

/// The least of the non-null values (`None` when there are none).
fn min_of<T: Copy + PartialOrd>(values: impl Iterator<Item = Option<T>>) -> Option<T> {
    values.flatten().fold(None, |best, v| match best {
        Some(b) if b <= v => Some(b),
        _ => Some(v),
    })
}

/// Per group of `c` (column `row`): `reports` (rows), `n_sources` (distinct `source`, null
/// counted as one), `stage_max`, `any_denial`, `first_report` and `last_report` (of
/// `published`), `recent` and `previous` (rows published in `(t − m, t]` and in
/// `(t − 2m, t − m]`), the greatest `market_value_eur`, `contract_until` and `player_age`, the
/// group's `t`, and with `claim_ids` the group's `claim_id`s sorted and joined by `;`.
///
/// # Errors
/// Missing columns.
pub fn claim_aggregates(
    c: &DataFrame,
    groups: &Groups,
    row: &str,
    m: i32,
    claim_ids: bool,
) -> PolarsResult<DataFrame> {
    let (source, stage) = (opt_u32(c, "source")?, opt_u32(c, "stage")?);
    let (published, t) = (opt_i32(c, "published")?, opt_i32(c, "t")?);
    let (value, age) = (opt_f64(c, "market_value_eur")?, opt_f64(c, "player_age")?);
    let contract = opt_i32(c, "contract_until")?;
    let ids = if claim_ids {
        Some(c.column("claim_id")?.str()?.rechunk())
    } else {
        None
    };
    let denied = Some(Stage::Denied.rank());
    let n = groups.count();
    let mut out = Aggregates::with_capacity(n);
    let mut seen: Vec<Option<u32>> = Vec::new();
    let mut texts: Vec<&str> = Vec::new();
    let mut joined = String::new();
    for (g, rows) in groups.iter() {
        seen.clear();
        seen.extend(rows.iter().map(|i| source[*i as usize]));
        seen.sort_unstable();
        seen.dedup();
        let (mut recent, mut previous) = (0u32, 0u32);
        for i in rows {
            let i = *i as usize;
            if let (Some(p), Some(t)) = (published[i], t[i]) {
                recent += u32::from(p > t.wrapping_sub(m));
                previous +=
                    u32::from(p > t.wrapping_sub(m.wrapping_mul(2)) && p <= t.wrapping_sub(m));
            }
        }
        out.row.push(g);
        out.reports.push(rows.len() as u32);
        out.n_sources.push(seen.len() as u32);
        out.stage_max.push(max_of(pick(&stage, rows)));
        out.any_denial
            .push(rows.iter().any(|i| stage[*i as usize] == denied));
        out.first_report.push(min_of(pick(&published, rows)));
        out.last_report.push(max_of(pick(&published, rows)));
        out.recent.push(recent);
        out.previous.push(previous);
        out.value.push(max_of(pick(&value, rows)));
        out.contract.push(max_of(pick(&contract, rows)));
        out.age.push(max_of(pick(&age, rows)));
        out.t.push(t[rows[0] as usize]);
        if let Some(ids) = &ids {
            texts.clear();
            texts.extend(rows.iter().filter_map(|i| ids.get(*i as usize)));
            texts.sort_unstable();
            joined.clear();
            for (k, text) in texts.iter().enumerate() {
                if k > 0 {
                    joined.push(';');
                }
                joined.push_str(text);
            }
            out.claim_ids.push(joined.clone());
        }
    }
    out.frame(row, claim_ids)
}

/// The columns of [`claim_aggregates`], one value per group.
#[derive(Default)]
struct Aggregates {
    row: Vec<u32>,
    reports: Vec<u32>,
    n_sources: Vec<u32>,
    stage_max: Vec<Option<u32>>,
    any_denial: Vec<bool>,
    first_report: Vec<Option<i32>>,
    last_report: Vec<Option<i32>>,
    recent: Vec<u32>,
    previous: Vec<u32>,
    value: Vec<Option<f64>>,
    contract: Vec<Option<i32>>,
    age: Vec<Option<f64>>,
    t: Vec<Option<i32>>,
    claim_ids: Vec<String>,
}

impl Aggregates {
    fn with_capacity(n: usize) -> Aggregates {
        Aggregates {
            row: Vec::with_capacity(n),
            reports: Vec::with_capacity(n),
            ..Aggregates::default()
        }
    }

    fn frame(self, row: &str, claim_ids: bool) -> PolarsResult<DataFrame> {
        let mut columns = vec![
            Column::new(row.into(), self.row),
            Column::new("reports".into(), self.reports),
            Column::new("n_sources".into(), self.n_sources),
            Column::new("stage_max".into(), self.stage_max),
            Column::new("any_denial".into(), self.any_denial),
            Column::new("first_report".into(), self.first_report),
            Column::new("last_report".into(), self.last_report),
            Column::new("recent".into(), self.recent),
            Column::new("previous".into(), self.previous),
            Column::new("market_value_eur".into(), self.value),
            Column::new("contract_until".into(), self.contract),
            Column::new("player_age".into(), self.age),
            Column::new("t".into(), self.t),
        ];
        if claim_ids {
            columns.push(Column::new("claim_ids".into(), self.claim_ids));
        }
        DataFrame::new_infer_height(columns)
    }
}

/// Per group of `c` with a non-null `from_club`: the one named most often (ties to the
/// smaller id). Columns `row`, `from_club`.
///
/// # Errors
/// A missing column.
pub fn sellers(c: &DataFrame, groups: &Groups, row: &str) -> PolarsResult<DataFrame> {
    let from = opt_u32(c, "from_club")?;
    let (mut rows, mut clubs) = (Vec::new(), Vec::new());
    let mut named: Vec<u32> = Vec::new();
    for (g, members) in groups.iter() {
        named.clear();
        named.extend(members.iter().filter_map(|i| from[*i as usize]));
        named.sort_unstable();
        // Runs of equal ids in increasing order: a later run wins only with more names.
        let mut best: Option<(usize, u32)> = None;
        for run in named.chunk_by(|a, b| a == b) {
            if best.is_none_or(|(n, _)| run.len() > n) {
                best = Some((run.len(), run[0]));
            }
        }
        if let Some((_, club)) = best {
            rows.push(g);
            clubs.push(club);
        }
    }
    DataFrame::new_infer_height(vec![
        Column::new(row.into(), rows),
        Column::new("from_club".into(), clubs),
    ])
}

/// Per group of `c` and `origin` (null is an origin of its own): the strongest `stage`
/// reported (`o_stage`, null when none) and the group's `t`. Columns `row`, `origin`,
/// `o_stage`, `t`.
///
/// # Errors
/// Missing columns.
pub fn origins(c: &DataFrame, groups: &Groups, row: &str) -> PolarsResult<DataFrame> {
    let (origin, stage, t) = (
        opt_u32(c, "origin")?,
        opt_u32(c, "stage")?,
        opt_i32(c, "t")?,
    );
    let (mut rows, mut origins, mut stages, mut days) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut pairs: Vec<(Option<u32>, Option<u32>)> = Vec::new();
    for (g, members) in groups.iter() {
        pairs.clear();
        pairs.extend(
            members
                .iter()
                .map(|i| (origin[*i as usize], stage[*i as usize])),
        );
        pairs.sort_unstable();
        let day = t[members[0] as usize];
        for run in pairs.chunk_by(|a, b| a.0 == b.0) {
            rows.push(g);
            origins.push(run[0].0);
            // Sorted by stage within the origin, nulls first: the last is the strongest.
            stages.push(run[run.len() - 1].1);
            days.push(day);
        }
    }
    DataFrame::new_infer_height(vec![
        Column::new(row.into(), rows),
        Column::new("origin".into(), origins),
        Column::new("o_stage".into(), stages),
        Column::new("t".into(), days),
    ])
}

/// `ln(p / (1 − p))` with `p` clipped to `[1e-4, 1 − 1e-4]`, as
/// [`crate::score::features::logit_expr`] computes it.
pub fn logit(p: f64) -> f64 {
    let p = p.clamp(1e-4, 1.0 - 1e-4);
    (p / (1.0 - p)).log(std::f64::consts::E)
}

/// A term of an order-free sum: rounded to 1e-9 and made an integer (`None`, like a failed
/// cast, outside the range of `i64`).
fn fixed(e: f64) -> Option<i64> {
    let v = (e * 1e9).round_ties_even();
    // 2^63 is the first value out of range; NaN is in no range.
    let limit = 2f64.powi(63);
    (-limit..limit).contains(&v).then_some(v as i64)
}

/// A sum of floats that does not depend on row order: the [`fixed`] terms summed as integers
/// (nulls skipped; none gives 0), then scaled back by `1 / 1e9`. (The polars expression
/// this replaced divided by 1e9, which polars does as that multiplication, but as a true
/// division, a last bit apart at times, when the frame had a single group.)
fn fixed_sum(terms: impl Iterator<Item = Option<f64>>) -> f64 {
    let sum = terms
        .flatten()
        .filter_map(fixed)
        .fold(0i64, i64::wrapping_add);
    sum as f64 * (1.0 / 1e9)
}

/// One origin of a deal, read for its evidence.
struct OriginRow {
    origin: Option<u32>,
    stage: Option<u32>,
    h: Option<f64>,
    h_low: Option<f64>,
    h_high: Option<f64>,
    skill: Option<f64>,
    ev: Option<f64>,
}

impl OriginRow {
    /// Sorted first: the largest `|ev|` (null before any value, as polars sorts nulls
    /// first), ties to the smaller origin (null first).
    fn key_order(a: &OriginRow, b: &OriginRow) -> std::cmp::Ordering {
        let abs = |r: &OriginRow| r.ev.map(f64::abs);
        match (abs(a), abs(b)) {
            (None, None) => std::cmp::Ordering::Equal,
            (None, Some(_)) => std::cmp::Ordering::Less,
            (Some(_), None) => std::cmp::Ordering::Greater,
            (Some(x), Some(y)) => y.total_cmp(&x),
        }
        .then(a.origin.cmp(&b.origin))
    }
}

/// Per group of `per_origin` (rows of [`origins`] with `rel`, `rel_prior`, `base_rate` and,
/// with `bounds`, `rel_low`, `rel_high` joined on): `evidence` (Σ of `logit(h) −
/// logit(base_rate)`, `h` the origin's rate at its stage, turned round for a denial),
/// `origins`, `skill` (Σ of `logit(h) − logit(h at the prior)`), and the most informative
/// origin's `key_skill`, `key_rate` (`h`), `key_rate_low`, `key_rate_high`, `key_origin`,
/// `key_stage`. Without `bounds` the rate's interval is the rate itself.
///
/// # Errors
/// Missing columns or row numbers not below `n`.
pub fn evidence(
    per_origin: &DataFrame,
    row: &str,
    n: usize,
    bounds: bool,
) -> PolarsResult<DataFrame> {
    let groups = Groups::by(per_origin, row, n)?;
    let (origin, stage) = (
        opt_u32(per_origin, "origin")?,
        opt_u32(per_origin, "o_stage")?,
    );
    let (rel, rel_prior) = (
        opt_f64(per_origin, "rel")?,
        opt_f64(per_origin, "rel_prior")?,
    );
    let base = opt_f64(per_origin, "base_rate")?;
    // Without bounds the interval is the rate itself: read, not copied.
    let bounded = if bounds {
        Some((
            opt_f64(per_origin, "rel_low")?,
            opt_f64(per_origin, "rel_high")?,
        ))
    } else {
        None
    };
    let (rel_low, rel_high): (&[Option<f64>], &[Option<f64>]) = match &bounded {
        Some((low, high)) => (low, high),
        None => (&rel, &rel),
    };
    let denied = Some(Stage::Denied.rank());
    let read = |i: usize| -> OriginRow {
        let denial = stage[i] == denied;
        let flip = |e: Option<f64>| e.map(|e| if denial { 1.0 - e } else { e });
        let h = flip(rel[i]);
        let (h_low, h_high) = if denial {
            (rel_high[i].map(|e| 1.0 - e), rel_low[i].map(|e| 1.0 - e))
        } else {
            (rel_low[i], rel_high[i])
        };
        let skill = h.zip(flip(rel_prior[i])).map(|(a, b)| logit(a) - logit(b));
        let ev = h.zip(base[i]).map(|(a, b)| logit(a) - logit(b));
        OriginRow {
            origin: origin[i],
            stage: stage[i],
            h,
            h_low,
            h_high,
            skill,
            ev,
        }
    };
    let mut out = Evidence::default();
    let mut members: Vec<OriginRow> = Vec::new();
    for (g, rows) in groups.iter() {
        members.clear();
        members.extend(rows.iter().map(|i| read(*i as usize)));
        let Some(key) = members.iter().min_by(|a, b| OriginRow::key_order(a, b)) else {
            continue;
        };
        out.row.push(g);
        out.evidence.push(fixed_sum(members.iter().map(|m| m.ev)));
        out.origins.push(members.len() as u32);
        out.skill.push(fixed_sum(members.iter().map(|m| m.skill)));
        out.key_skill.push(key.skill);
        out.key_rate.push(key.h);
        out.key_rate_low.push(key.h_low);
        out.key_rate_high.push(key.h_high);
        out.key_origin.push(key.origin);
        out.key_stage.push(key.stage);
    }
    DataFrame::new_infer_height(vec![
        Column::new(row.into(), out.row),
        Column::new("evidence".into(), out.evidence),
        Column::new("origins".into(), out.origins),
        Column::new("skill".into(), out.skill),
        Column::new("key_skill".into(), out.key_skill),
        Column::new("key_rate".into(), out.key_rate),
        Column::new("key_rate_low".into(), out.key_rate_low),
        Column::new("key_rate_high".into(), out.key_rate_high),
        Column::new("key_origin".into(), out.key_origin),
        Column::new("key_stage".into(), out.key_stage),
    ])
}

/// The columns of [`evidence`], one value per group.
#[derive(Default)]
struct Evidence {
    row: Vec<u32>,
    evidence: Vec<f64>,
    origins: Vec<u32>,
    skill: Vec<f64>,
    key_skill: Vec<Option<f64>>,
    key_rate: Vec<Option<f64>>,
    key_rate_low: Vec<Option<f64>>,
    key_rate_high: Vec<Option<f64>>,
    key_origin: Vec<Option<u32>>,
    key_stage: Vec<Option<u32>>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::score::features::logit_expr;
    use proptest::prelude::*;

    const ROW: &str = "__row";

    // The polars group-bys these functions replaced, kept as their oracles.

    fn fixed_sum_expr(e: Expr) -> Expr {
        (e * lit(1e9))
            .round(0, RoundMode::HalfToEven)
            .cast(DataType::Int64)
            .sum()
            .cast(DataType::Float64)
            * lit(1.0 / 1e9)
    }

    fn aggregates_by_polars(c: &DataFrame, m: i32, claim_ids: bool) -> DataFrame {
        let mut aggs = vec![
            len().cast(DataType::UInt32).alias("reports"),
            col("source")
                .n_unique()
                .cast(DataType::UInt32)
                .alias("n_sources"),
            col("stage").max().alias("stage_max"),
            col("stage")
                .eq(lit(Stage::Denied.rank()))
                .any(true)
                .alias("any_denial"),
            col("published").min().alias("first_report"),
            col("published").max().alias("last_report"),
            col("published")
                .gt(col("t") - lit(m))
                .cast(DataType::UInt32)
                .sum()
                .alias("recent"),
            (col("published")
                .gt(col("t") - lit(2 * m))
                .and(col("published").lt_eq(col("t") - lit(m))))
            .cast(DataType::UInt32)
            .sum()
            .alias("previous"),
            col("market_value_eur").max().alias("market_value_eur"),
            col("contract_until").max().alias("contract_until"),
            col("player_age").max().alias("player_age"),
            col("t").first(),
        ];
        if claim_ids {
            aggs.push(
                col("claim_id")
                    .sort(SortOptions::default())
                    .str()
                    .join(";", true)
                    .alias("claim_ids"),
            );
        }
        c.clone()
            .lazy()
            .group_by([col(ROW)])
            .agg(aggs)
            .sort([ROW], SortMultipleOptions::default())
            .collect()
            .expect("aggregates")
    }

    fn origins_by_polars(c: &DataFrame) -> DataFrame {
        c.clone()
            .lazy()
            .group_by([col(ROW), col("origin")])
            .agg([col("stage").max().alias("o_stage"), col("t").first()])
            .sort([ROW, "origin"], SortMultipleOptions::default())
            .collect()
            .expect("origins")
    }

    fn evidence_by_polars(per_origin: &DataFrame, bounds: bool) -> DataFrame {
        let (rel_low, rel_high) = if bounds {
            (col("rel_low"), col("rel_high"))
        } else {
            (col("rel"), col("rel"))
        };
        let denial = col("o_stage").eq(lit(Stage::Denied.rank()));
        let flip = |e: Expr| when(denial.clone()).then(lit(1.0) - e.clone()).otherwise(e);
        let by_origin = per_origin
            .clone()
            .lazy()
            .with_columns([
                flip(col("rel")).alias("h"),
                when(denial.clone())
                    .then(lit(1.0) - rel_high.clone())
                    .otherwise(rel_low.clone())
                    .alias("h_low"),
                when(denial.clone())
                    .then(lit(1.0) - rel_low)
                    .otherwise(rel_high)
                    .alias("h_high"),
            ])
            .with_columns([
                (logit_expr(flip(col("rel"))) - logit_expr(flip(col("rel_prior")))).alias("skill"),
                (logit_expr(col("h")) - logit_expr(col("base_rate"))).alias("ev"),
            ]);
        by_origin
            .sort_by_exprs(
                [col(ROW), col("ev").abs(), col("origin")],
                SortMultipleOptions::default().with_order_descending_multi([false, true, false]),
            )
            .group_by_stable([col(ROW)])
            .agg([
                fixed_sum_expr(col("ev")).alias("evidence"),
                len().cast(DataType::UInt32).alias("origins"),
                fixed_sum_expr(col("skill")).alias("skill"),
                col("skill").first().alias("key_skill"),
                col("h").first().alias("key_rate"),
                col("h_low").first().alias("key_rate_low"),
                col("h_high").first().alias("key_rate_high"),
                col("origin").first().alias("key_origin"),
                col("o_stage").first().alias("key_stage"),
            ])
            .sort([ROW], SortMultipleOptions::default())
            .collect()
            .expect("evidence")
    }

    /// A frame's columns and values, for failure messages (no `fmt` feature).
    fn show(df: &DataFrame) -> String {
        df.columns()
            .iter()
            .map(|c| {
                let values: Vec<String> = c
                    .as_materialized_series()
                    .iter()
                    .map(|v| match v {
                        AnyValue::Float64(x) => format!("{x:?}"),
                        v => format!("{v}"),
                    })
                    .collect();
                format!("{}: {:?} [{}]", c.name(), c.dtype(), values.join(", "))
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    fn sorted(df: DataFrame, by: &[&str]) -> DataFrame {
        df.lazy()
            .sort(by.to_vec(), SortMultipleOptions::default())
            .collect()
            .expect("sort")
    }

    /// Claim-snapshot rows: `(row, source, stage, published, value, origin, from_club,
    /// claim_id)`, with `t` a function of the row, nulls here and there.
    type Claim = (
        u32,
        Option<u32>,
        Option<u32>,
        Option<i32>,
        Option<f64>,
        Option<u32>,
        Option<u32>,
        Option<u8>,
    );

    fn claims_frame(rows: &[Claim]) -> DataFrame {
        let t = |r: u32| 40 + (r as i32 % 3) * 10;
        df!(
            ROW => rows.iter().map(|c| c.0).collect::<Vec<_>>(),
            "source" => rows.iter().map(|c| c.1).collect::<Vec<_>>(),
            "stage" => rows.iter().map(|c| c.2).collect::<Vec<_>>(),
            "published" => rows.iter().map(|c| c.3).collect::<Vec<_>>(),
            "market_value_eur" => rows.iter().map(|c| c.4).collect::<Vec<_>>(),
            "contract_until" => rows.iter().map(|c| c.3.map(|p| p * 7 % 50)).collect::<Vec<_>>(),
            "player_age" => rows.iter().map(|c| c.4.map(|v| 40.0 - v)).collect::<Vec<_>>(),
            "t" => rows.iter().map(|c| Some(t(c.0))).collect::<Vec<_>>(),
            "origin" => rows.iter().map(|c| c.5).collect::<Vec<_>>(),
            "from_club" => rows.iter().map(|c| c.6).collect::<Vec<_>>(),
            "claim_id" => rows.iter().map(|c| c.7.map(|i| format!("c{i}"))).collect::<Vec<_>>(),
        )
        .expect("claims")
    }

    fn claim() -> impl Strategy<Value = Claim> {
        (
            0u32..6,
            proptest::option::weighted(0.9, 0u32..4),
            proptest::option::weighted(0.8, 0u32..7),
            proptest::option::weighted(0.9, 0i32..60),
            proptest::option::weighted(0.7, (0u32..8).prop_map(|v| f64::from(v) * 1.5)),
            proptest::option::weighted(0.9, 0u32..4),
            proptest::option::weighted(0.6, 0u32..3),
            proptest::option::weighted(0.9, 0u8..30),
        )
    }

    proptest! {
        #[test]
        fn the_claims_add_up_as_the_group_bys_did(
            rows in proptest::collection::vec(claim(), 1..40),
            m in 0i32..20,
        ) {
            let c = claims_frame(&rows);
            let groups = Groups::by(&c, ROW, 6).expect("groups");
            for ids in [false, true] {
                let got = claim_aggregates(&c, &groups, ROW, m, ids).expect("aggregates");
                let want = aggregates_by_polars(&c, m, ids);
                prop_assert!(got.equals_missing(&want), "{}\n--\n{}", show(&got), show(&want));
            }
            let got = sorted(sellers(&c, &groups, ROW).expect("sellers"), &[ROW]);
            let want = sorted(
                crate::stories::mode_by(c.clone().lazy(), &[ROW], "from_club")
                    .collect()
                    .expect("mode"),
                &[ROW],
            );
            prop_assert!(got.equals_missing(&want), "{}\n--\n{}", show(&got), show(&want));
            let got = origins(&c, &groups, ROW).expect("origins");
            prop_assert!(got.equals_missing(&origins_by_polars(&c)), "{}", show(&got));
        }

        #[test]
        fn the_evidence_sums_and_picks_as_the_sort_and_group_by_did(
            rows in proptest::collection::vec(
                (
                    0u32..5,
                    proptest::option::weighted(0.9, 0u32..6),
                    proptest::option::weighted(0.9, 0u32..7),
                    proptest::collection::vec(proptest::option::weighted(0.9, 0.0..1.0f64), 5),
                ),
                1..30,
            ),
        ) {
            // One row per (row, origin), as `origins` makes them.
            let mut seen = std::collections::HashSet::new();
            let rows: Vec<_> = rows.into_iter().filter(|r| seen.insert((r.0, r.1))).collect();
            let f = |k: usize| rows.iter().map(|r| r.3[k]).collect::<Vec<_>>();
            let per_origin = df!(
                ROW => rows.iter().map(|r| r.0).collect::<Vec<_>>(),
                "origin" => rows.iter().map(|r| r.1).collect::<Vec<_>>(),
                "o_stage" => rows.iter().map(|r| r.2).collect::<Vec<_>>(),
                "rel" => f(0),
                "rel_prior" => f(1),
                "base_rate" => f(2),
                "rel_low" => f(3),
                "rel_high" => f(4),
            )
            .expect("per origin");
            for bounds in [false, true] {
                let got = evidence(&per_origin, ROW, 5, bounds).expect("evidence");
                let want = evidence_by_polars(&per_origin, bounds);
                prop_assert!(got.equals_missing(&want), "{}\n--\n{}", show(&got), show(&want));
            }
        }
    }

    proptest! {
        #[test]
        fn claims_pair_with_the_rows_of_their_deal_as_the_joins_did(
            claims in proptest::collection::vec(
                (
                    proptest::option::weighted(0.95, 0u32..4),
                    proptest::option::weighted(0.95, 0u32..3),
                    proptest::option::weighted(0.95, 0i32..2),
                    proptest::option::weighted(0.9, 0i32..40),
                ),
                0..40,
            ),
            rows in proptest::collection::vec(
                (
                    proptest::option::weighted(0.95, 0u32..5),
                    proptest::option::weighted(0.95, 0u32..3),
                    proptest::option::weighted(0.95, 0i32..2),
                    proptest::option::weighted(0.95, 0i32..40),
                ),
                0..20,
            ),
        ) {
            let claims = df!(
                "player" => claims.iter().map(|c| c.0).collect::<Vec<_>>(),
                "to_club" => claims.iter().map(|c| c.1).collect::<Vec<_>>(),
                "window" => claims.iter().map(|c| c.2).collect::<Vec<_>>(),
                "published" => claims.iter().map(|c| c.3).collect::<Vec<_>>(),
            )
            .expect("claims");
            let rows = df!(
                "player" => rows.iter().map(|r| r.0).collect::<Vec<_>>(),
                "to_club" => rows.iter().map(|r| r.1).collect::<Vec<_>>(),
                "window" => rows.iter().map(|r| r.2).collect::<Vec<_>>(),
                "t" => rows.iter().map(|r| r.3).collect::<Vec<_>>(),
            )
            .expect("rows");
            let (claim, row) = claims_at_rows(&claims, &rows).expect("pairs");
            let got: Vec<(u32, u32)> = claim.into_iter().zip(row).collect();
            let keys = || [col("player"), col("to_club"), col("window")];
            let joined = claims
                .clone()
                .lazy()
                .with_row_index("claim", None)
                .join(
                    rows.clone().lazy().with_row_index("row", None),
                    keys(),
                    keys(),
                    JoinArgs::new(JoinType::Inner),
                )
                .filter(col("published").lt_eq(col("t")))
                .sort(["claim", "row"], SortMultipleOptions::default())
                .collect()
                .expect("joined");
            let want: Vec<(u32, u32)> = opt_u32(&joined, "claim")
                .expect("claim")
                .into_iter()
                .zip(opt_u32(&joined, "row").expect("row"))
                .map(|(c, r)| (c.unwrap_or(u32::MAX), r.unwrap_or(u32::MAX)))
                .collect();
            prop_assert_eq!(got, want);
        }
    }

    #[test]
    fn claims_pair_with_the_rows_of_their_deal_known_by_the_rows_day() {
        // Claims 0 and 1 about deal (1, 10, 5) on days 3 and 9; claim 2 about (1, 11, 5).
        // Row 0: deal (1, 10, 5) on day 5 → claim 0. Row 1: the same deal on day 9 → 0 and
        // 1. Row 2: (1, 11, 5) on day 2 → none (claim 2 came on day 4).
        let claims = df!(
            "player" => [1u32, 1, 1],
            "to_club" => [10u32, 10, 11],
            "window" => [5i32, 5, 5],
            "published" => [3i32, 9, 4],
        )
        .expect("claims");
        let rows = df!(
            "player" => [1u32, 1, 1],
            "to_club" => [10u32, 10, 11],
            "window" => [5i32, 5, 5],
            "t" => [5i32, 9, 2],
        )
        .expect("rows");
        let (claim, row) = claims_at_rows(&claims, &rows).expect("pairs");
        assert_eq!((claim, row), (vec![0, 0, 1], vec![0, 1, 1]));
    }

    #[test]
    fn groups_list_each_rows_members_in_table_order() {
        let df = df!(ROW => [2u32, 0, 2, 2, 0]).expect("df");
        let groups = Groups::by(&df, ROW, 4).expect("groups");
        let got: Vec<(u32, Vec<u32>)> = groups.iter().map(|(g, r)| (g, r.to_vec())).collect();
        assert_eq!(got, vec![(0, vec![1, 4]), (2, vec![0, 2, 3])]);
        assert_eq!(groups.count(), 2);
        assert!(Groups::by(&df, ROW, 2).is_err());
        let null = df!(ROW => [Some(0u32), None]).expect("df");
        assert!(Groups::by(&null, ROW, 4).is_err());
        // By ids: nulls and ids beyond the room left out; rows of any id, none beyond.
        let ids = [Some(1u32), None, Some(1), Some(7), Some(0)];
        let groups = Groups::of(ids.iter().copied(), 2);
        assert_eq!(groups.rows(1), &[0, 2]);
        assert_eq!(groups.rows(0), &[4]);
        assert!(groups.rows(7).is_empty());
        assert_eq!(max_id(&ids), 8);
        assert_eq!(max_id(&[None]), 0);
    }

    #[test]
    fn the_seller_is_the_club_named_most_ties_to_the_smaller_id() {
        // Row 0: 7 twice, 4 once, null thrice → 7. Row 1: 9 and 3 once each → 3. Row 2: only
        // nulls → no row.
        let c = df!(
            ROW => [0u32, 0, 0, 0, 0, 0, 1, 1, 2],
            "from_club" => [Some(7u32), Some(4), Some(7), None, None, None, Some(9), Some(3), None],
        )
        .expect("claims");
        let groups = Groups::by(&c, ROW, 3).expect("groups");
        let got = sellers(&c, &groups, ROW).expect("sellers");
        let want = df!(ROW => [0u32, 1], "from_club" => [7u32, 3]).expect("want");
        assert!(got.equals(&want), "{got:?}");
    }

    #[test]
    fn evidence_by_hand() {
        // Row 0: origin 1 at "talks" (rate 0.8, crowd 0.6), origin 2 denied (rate 0.7, so
        // 0.3 once turned round); base rate 0.5. ev: logit(0.8) = 1.386294361, logit(0.3) =
        // −0.847297860; |1.386| is the larger, so origin 1 is the key.
        let per_origin = df!(
            ROW => [0u32, 0],
            "origin" => [1u32, 2],
            "o_stage" => [Stage::Talks.rank(), Stage::Denied.rank()],
            "rel" => [0.8, 0.7],
            "rel_prior" => [0.6, 0.7],
            "base_rate" => [0.5, 0.5],
        )
        .expect("per origin");
        let got = evidence(&per_origin, ROW, 1, false).expect("evidence");
        let value = |c: &str| {
            got.column(c)
                .expect(c)
                .f64()
                .expect("f64")
                .get(0)
                .expect("value")
        };
        assert!((value("evidence") - (1.386294361 - 0.847297860)).abs() < 1e-9);
        // Skill: logit(0.8) − logit(0.6) = 0.980829253; the denial's own prior is its rate.
        assert!((value("skill") - 0.980829253).abs() < 1e-9);
        assert!((value("key_rate") - 0.8).abs() < 1e-12);
        let key = got
            .column("key_origin")
            .expect("key")
            .u32()
            .expect("u32")
            .get(0);
        assert_eq!(key, Some(1));
    }
}
