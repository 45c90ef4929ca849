//! Deal likelihood: training history from past windows, the fitted model, and today's open
//! deals scored with it. Shared by `score` and `backtest`.
//!
//! History: every past window `w` is looked at `L` days before its close for each lead `L` in
//! `likelihood.training_leads_days` (snapshot day `t = close(w) − L`). Its deals still open
//! on `t` become training rows, with features as of `t` and the final outcome as label.
//! A model used on day `T` is trained only on windows whose close plus grace period is
//! before `T`: their outcomes were known by then, and every feature of theirs is older.

use std::collections::BTreeMap;

use polars::prelude::*;

use crate::column_values::{left_join_in_order, opt_i32, opt_i64, opt_u32};
use crate::schema::outcome;
use crate::score::features::{
    deal_features, lookups, model_matrix_columns, resolved_for_training, training_eligible,
    training_rows, Lookups,
};
use crate::score::model::{
    fit_model, pools_other_leads, predict, Model, Namer, Prediction, TargetRows,
};
use crate::settings::Config;

/// The prepared tables the history is built from.
#[derive(Clone, Copy)]
pub struct PreparedTables<'a> {
    pub claims: &'a DataFrame,
    pub transfers: &'a DataFrame,
    pub stories: &'a DataFrame,
    pub deals: &'a DataFrame,
    pub windows: &'a DataFrame,
}

/// Past snapshots and their feature rows.
pub struct History {
    /// `snap, window, t, lead`.
    pub requests: DataFrame,
    /// Feature rows with model inputs, `label`, `t`, `lead` (sorted by snapshot and deal).
    pub rows: DataFrame,
    /// Point-in-time rates at every snapshot day and at the as-of date.
    pub lookups: Lookups,
    /// Fraction of eligible deals kept (1 unless `max_training_rows` capped them).
    pub sample_fraction: f64,
}

/// Deals with their window's `summer` flag (for the season lookups).
pub fn deals_with_season(deals: &DataFrame, windows: &DataFrame) -> PolarsResult<DataFrame> {
    deals
        .clone()
        .lazy()
        .join(
            windows
                .clone()
                .lazy()
                .select([col("window"), col("summer")]),
            [col("window")],
            [col("window")],
            left_join_in_order(),
        )
        .collect()
}

/// Snapshot requests: every window in `windows` at each lead (`snap` numbers them).
pub fn past_requests(windows: &DataFrame, leads: &[i64], as_of: i32) -> PolarsResult<DataFrame> {
    let w = windows.column("window")?.i32()?;
    let close = windows.column("window_close")?.i32()?;
    let mut leads = leads.to_vec();
    leads.sort_unstable();
    leads.dedup();
    let (mut snap, mut win, mut t, mut lead) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for i in 0..windows.height() {
        let (Some(wv), Some(c)) = (w.get(i), close.get(i)) else {
            continue;
        };
        for l in &leads {
            let day = c - *l as i32;
            if day > as_of {
                continue;
            }
            snap.push(snap.len() as u32);
            win.push(wv);
            t.push(day);
            lead.push(*l);
        }
    }
    DataFrame::new_infer_height(vec![
        Column::new("snap".into(), snap),
        Column::new("window".into(), win),
        Column::new("t".into(), t),
        Column::new("lead".into(), lead),
    ])
}

/// A deterministic hash of a deal in `[0, 1_000_003)`, as an expression.
fn deal_hash() -> Expr {
    let u = |c: &str| col(c).cast(DataType::UInt64);
    ((u("player") * lit(2_654_435_761u64)
        + u("to_club") * lit(97_531u64)
        + (col("window").cast(DataType::Int64) + lit(100_000i64)).cast(DataType::UInt64)
            * lit(1_299_709u64))
        % lit(1_000_003u64))
    .cast(DataType::Float64)
}

/// Builds the training history: lookups at every snapshot day (and `as_of`), and feature rows
/// of the deals open at each past snapshot. `leads` are the snapshot leads. Every row is made:
/// the backtest fits models on many days, each from the rows known by then.
pub fn history(
    tables: &PreparedTables,
    config: &Config,
    leads: &[i64],
    as_of: i32,
) -> PolarsResult<History> {
    build_history(tables, config, leads, as_of, None)
}

/// The training history of the models `score` fits on `as_of`, one for each lead of
/// `fitted`: [`history`] at those leads and `likelihood.training_leads_days`, without the
/// rows none of those models is fitted on. A model whose own rows hold both outcomes and
/// `likelihood.pool_below_deals` deals or more is fitted on them alone
/// (`score::model::pools_other_leads`); when every model is, the rows at the other leads are
/// not made (three quarters of the rows of a million claims; BENCHMARKS.md). The deals are
/// sampled as [`history`] samples them, and the lookups made at every snapshot day, so each
/// model is the one [`history`] gives, to the bit.
pub fn history_for_models(
    tables: &PreparedTables,
    config: &Config,
    fitted: &[i64],
    as_of: i32,
) -> PolarsResult<History> {
    let mut leads = config.likelihood.training_leads_days.clone();
    leads.extend(fitted);
    build_history(tables, config, &leads, as_of, Some(fitted))
}

fn build_history(
    tables: &PreparedTables,
    config: &Config,
    leads: &[i64],
    as_of: i32,
    fitted: Option<&[i64]>,
) -> PolarsResult<History> {
    let PreparedTables {
        claims,
        transfers,
        stories,
        deals,
        windows,
    } = *tables;
    let requests = past_requests(windows, leads, as_of)?;
    let deals = deals_with_season(deals, windows)?;

    // The rows are counted before they are made, and the deals sampled before they are
    // joined with their snapshots: the hash depends on the deal alone.
    let resolved = resolved_for_training(&deals).collect()?;
    let rows = training_rows(&resolved, &requests)?;
    let max = config.likelihood.max_training_rows.max(1);
    let sample_fraction = if rows > max {
        max as f64 / rows as f64
    } else {
        1.0
    };
    let resolved = if sample_fraction < 1.0 {
        resolved
            .lazy()
            .filter(deal_hash().lt(lit(sample_fraction * 1_000_003.0)))
    } else {
        resolved.lazy()
    };
    let mut eligible = training_eligible(resolved, &requests).collect()?;
    // Lookups at every snapshot day, kept or not: each day's priors are fitted from the day
    // before's, so the same days give the same rates, to the bit, as [`history`] gives.
    let mut times: Vec<i32> = requests.column("t")?.i32()?.iter().flatten().collect();
    times.push(as_of);
    times.sort_unstable();
    times.dedup();
    let lookups = lookups(stories, &deals, transfers, &times, config)?;
    let mut requests = requests;
    if let Some(fitted) = fitted {
        let grace = config.outcomes.grace_days;
        if let Some(kept) =
            leads_fitted(&eligible, &requests, windows, grace, as_of, fitted, config)?
        {
            let keep: BooleanChunked = opt_i64(&requests, "lead")?
                .iter()
                .map(|l| l.is_some_and(|l| kept.contains(&l)))
                .collect();
            requests = requests.filter(&keep)?;
            let snaps: std::collections::HashSet<u32> =
                opt_u32(&requests, "snap")?.into_iter().flatten().collect();
            let keep: BooleanChunked = opt_u32(&eligible, "snap")?
                .iter()
                .map(|s| s.is_some_and(|s| snaps.contains(&s)))
                .collect();
            eligible = eligible.filter(&keep)?;
        }
    }
    let features = deal_features(
        claims,
        &requests,
        eligible.lazy(),
        windows,
        &lookups,
        config,
        false,
    )?;
    let rows = model_matrix_columns(features.lazy())
        .join(
            requests.clone().lazy().select([col("snap"), col("lead")]),
            [col("snap")],
            [col("snap")],
            left_join_in_order(),
        )
        .collect()?;
    Ok(History {
        requests,
        rows,
        lookups,
        sample_fraction,
    })
}

/// The leads whose rows the models fitted on `day`, one per lead of `fitted`, are fitted on:
/// `fitted` alone when none of them pools other leads ([`pools_other_leads`], counted on the
/// eligible rows known by `day` as [`rows_known_by`] keeps them), else `None` (every lead).
fn leads_fitted(
    eligible: &DataFrame,
    requests: &DataFrame,
    windows: &DataFrame,
    grace_days: i64,
    day: i32,
    fitted: &[i64],
    config: &Config,
) -> PolarsResult<Option<Vec<i64>>> {
    use std::collections::{HashMap, HashSet};
    let lead_of: HashMap<u32, i64> = opt_u32(requests, "snap")?
        .into_iter()
        .zip(opt_i64(requests, "lead")?)
        .filter_map(|(s, l)| Some((s?, l?)))
        .collect();
    let known = windows_known_by(windows, grace_days, day)?;
    let (snap, window) = (opt_u32(eligible, "snap")?, opt_i32(eligible, "window")?);
    let (player, club) = (opt_u32(eligible, "player")?, opt_u32(eligible, "to_club")?);
    let label = eligible.column("label")?.bool()?;
    for &lead in fitted {
        let mut deals = HashSet::new();
        let (mut rows, mut positives) = (0, 0);
        for i in 0..eligible.height() {
            let at_lead = snap[i].and_then(|s| lead_of.get(&s)) == Some(&lead);
            if at_lead && window[i].is_some_and(|w| known.contains(&w)) {
                rows += 1;
                positives += usize::from(label.get(i) == Some(true));
                deals.insert((player[i], club[i], window[i]));
            }
        }
        let target = TargetRows {
            rows,
            positives,
            deals: deals.len(),
        };
        if pools_other_leads(&target, &config.likelihood) {
            return Ok(None);
        }
    }
    Ok(Some(fitted.to_vec()))
}

/// Days from `as_of` to the close of each window that has open deals: the model is trained
/// on past windows seen at these same distances from their close.
pub fn open_leads(deals: &DataFrame, windows: &DataFrame, as_of: i32) -> PolarsResult<Vec<i64>> {
    let open = deals
        .clone()
        .lazy()
        .filter(col("outcome").eq(lit(outcome::OPEN)))
        .select([col("window")])
        .unique(None, UniqueKeepStrategy::Any)
        .join(
            windows
                .clone()
                .lazy()
                .select([col("window"), col("window_close")]),
            [col("window")],
            [col("window")],
            JoinArgs::new(JoinType::Inner),
        )
        .collect()?;
    let mut leads: Vec<i64> = open
        .column("window_close")?
        .i32()?
        .iter()
        .flatten()
        .map(|c| (c - as_of).max(0) as i64)
        .collect();
    leads.sort_unstable();
    leads.dedup();
    Ok(leads)
}

/// Training rows usable on day `day`: windows closed, grace included, before it. The rows
/// keep their order; each is kept or not by its window alone (a set of the few windows closed
/// by then, where a join of every row with the windows did the same).
pub fn rows_known_by(
    history: &History,
    windows: &DataFrame,
    grace_days: i64,
    day: i32,
) -> PolarsResult<DataFrame> {
    let closed = windows_known_by(windows, grace_days, day)?;
    let known: BooleanChunked = history
        .rows
        .column("window")?
        .cast(&DataType::Int32)?
        .i32()?
        .iter()
        .map(|w| w.is_some_and(|w| closed.contains(&w)))
        .collect();
    history.rows.filter(&known)
}

/// The windows closed, grace included, before `day`: their outcomes are known on it.
fn windows_known_by(
    windows: &DataFrame,
    grace_days: i64,
    day: i32,
) -> PolarsResult<std::collections::BTreeSet<i32>> {
    Ok(opt_i32(windows, "window")?
        .into_iter()
        .zip(opt_i32(windows, "window_close")?)
        .filter_map(|(window, close)| {
            let settled = i64::from(close?) + grace_days + 1;
            (settled <= i64::from(day)).then_some(window?)
        })
        .collect())
}

/// Open deals at `as_of`, with features, model inputs and predictions.
pub struct OpenDeals {
    pub rows: DataFrame,
    pub predictions: Vec<Prediction>,
}

/// Scores the deals still open at `as_of` with `model`.
#[allow(clippy::too_many_arguments)]
pub fn score_open_deals(
    claims: &DataFrame,
    deals: &DataFrame,
    windows: &DataFrame,
    lookups: &Lookups,
    models: &BTreeMap<i64, Model>,
    config: &Config,
    as_of: i32,
    names: &Namer,
) -> PolarsResult<OpenDeals> {
    let open = deals
        .clone()
        .lazy()
        .filter(col("outcome").eq(lit(outcome::OPEN)))
        .select(crate::schema::deal_cols());
    let requests = DataFrame::new_infer_height(vec![
        Column::new("snap".into(), [0u32]),
        Column::new("t".into(), [as_of]),
    ])?;
    let eligible = open.with_column(lit(0u32).alias("snap"));
    let features = deal_features(claims, &requests, eligible, windows, lookups, config, true)?;
    let rows = model_matrix_columns(features.lazy()).collect()?;
    // Each deal is scored by the model of its distance from the close.
    let leads: Vec<i64> = rows
        .column("lead")?
        .cast(&DataType::Int64)?
        .i64()?
        .iter()
        .map(|v| v.unwrap_or(0))
        .collect();
    let mut predictions: Vec<Option<Prediction>> = vec![None; rows.height()];
    for (lead, model) in models {
        let mask: BooleanChunked = leads.iter().map(|l| l == lead).collect();
        if !mask.any() {
            continue;
        }
        let part = rows.filter(&mask)?;
        let idx = leads
            .iter()
            .enumerate()
            .filter(|(_, l)| *l == lead)
            .map(|(i, _)| i);
        for (i, p) in idx.zip(predict(model, &part, config.likelihood.band, names)?) {
            predictions[i] = Some(p);
        }
    }
    let predictions = predictions
        .into_iter()
        .map(|p| {
            p.ok_or_else(|| {
                PolarsError::ComputeError("an open deal without a model for its lead".into())
            })
        })
        .collect::<PolarsResult<Vec<_>>>()?;
    Ok(OpenDeals { rows, predictions })
}

/// Fits the model used on day `day` for deals `lead` days before their close, from the
/// history.
pub fn model_for_day(
    history: &History,
    windows: &DataFrame,
    config: &Config,
    day: i32,
    lead: Option<i64>,
) -> PolarsResult<Model> {
    let train = rows_known_by(history, windows, config.outcomes.grace_days, day)?;
    fit_model(&train, &config.likelihood, lead)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn windows() -> DataFrame {
        // Windows 10 and 11 closing on days 100 and 280.
        df!(
            "window" => [10i32, 11],
            "window_close" => [100i32, 280],
            "summer" => [false, true],
        )
        .expect("windows")
    }

    #[test]
    fn past_requests_are_every_window_at_every_lead_known_by_the_as_of_day() {
        // Day 250: window 10 at leads 1 and 30 (days 99, 70); window 11 at lead 30 (day 250)
        // only, since lead 1 (day 279) is after the as-of day. Leads are deduplicated.
        let r = past_requests(&windows(), &[30, 1, 30], 250).expect("requests");
        let col_i = |c: &str| -> Vec<i64> {
            r.column(c)
                .expect("c")
                .cast(&DataType::Int64)
                .expect("cast")
                .i64()
                .expect("i64")
                .iter()
                .flatten()
                .collect()
        };
        assert_eq!(col_i("window"), vec![10, 10, 11]);
        assert_eq!(col_i("t"), vec![99, 70, 250]);
        assert_eq!(col_i("lead"), vec![1, 30, 30]);
        assert_eq!(col_i("snap"), vec![0, 1, 2]);
    }

    #[test]
    fn open_leads_are_the_distinct_days_to_the_close_of_windows_with_open_deals() {
        let deals = df!(
            "window" => [10i32, 11, 11, 10],
            "outcome" => [outcome::CONFIRMED, outcome::OPEN, outcome::OPEN, outcome::REFUTED],
        )
        .expect("deals");
        assert_eq!(
            open_leads(&deals, &windows(), 250).expect("leads"),
            vec![30]
        );
        // Past the close: lead 0, never negative.
        assert_eq!(open_leads(&deals, &windows(), 300).expect("leads"), vec![0]);
    }

    /// A generated world of 3,000 claims, prepared as of 2026-11-24 (its directory, kept
    /// while it is used, and the prepared tables).
    fn generated_world() -> (tempfile::TempDir, crate::pipeline::Prepared) {
        let dir = tempfile::tempdir().expect("tempdir");
        crate::generate::generate(&crate::generate::GenerateOptions {
            claims: 3000,
            seed: 5,
            out: dir.path().to_path_buf(),
            shape: crate::generate::Shape::default(),
        })
        .expect("generate");
        let file = |f: &str| dir.path().join(f).to_string_lossy().into_owned();
        let opts = crate::pipeline::ScoreOptions::new(
            &file("rumours.csv"),
            &file("transfers.csv"),
            None,
            "2026-11-24",
        )
        .expect("options");
        let settings = crate::settings::Settings::default();
        let s = crate::pipeline::prepare(&opts, &settings, &crate::progress::Progress::hidden())
            .expect("prepare");
        (dir, s)
    }

    #[test]
    fn features_come_in_snapshot_order_whatever_the_order_of_the_eligible_deals() {
        let (_dir, s) = generated_world();
        let settings = crate::settings::Settings::default();
        let config = settings.config();
        let leads = config.likelihood.training_leads_days.clone();
        let hist = history(&s.tables(), config, &leads, s.as_of).expect("history");
        assert!(hist.rows.height() > 100, "{} rows", hist.rows.height());
        assert!(crate::score::features::in_snapshot_order(&hist.rows).expect("order"));
        // The same eligible rows in snapshot order and reversed give the same features, in
        // snapshot order.
        let deals = deals_with_season(&s.deals, &s.windows).expect("season");
        let resolved = resolved_for_training(&deals).collect().expect("resolved");
        let eligible = training_eligible(resolved.lazy(), &hist.requests)
            .collect()
            .expect("eligible")
            .sort(
                crate::score::features::SNAPSHOT_ORDER,
                SortMultipleOptions::default(),
            )
            .expect("sorted");
        let features = |rows: DataFrame| {
            deal_features(
                &s.claims,
                &hist.requests,
                rows.lazy(),
                &s.windows,
                &hist.lookups,
                config,
                false,
            )
            .expect("features")
        };
        let in_order = features(eligible.clone());
        let from_reversed = features(eligible.reverse());
        assert!(in_order.height() > 100);
        assert!(crate::score::features::in_snapshot_order(&in_order).expect("order"));
        assert!(in_order.equals_missing(&from_reversed));
    }

    #[test]
    fn the_models_history_leaves_out_only_the_rows_no_model_is_fitted_on() {
        let (_dir, s) = generated_world();
        let settings = crate::settings::Settings::default();
        let fitted = open_leads(&s.deals, &s.windows, s.as_of).expect("leads");
        assert!(!fitted.is_empty());
        let models = |hist: &History, config: &Config| -> Vec<String> {
            fitted
                .iter()
                .map(|lead| {
                    let m = model_for_day(hist, &s.windows, config, s.as_of, Some(*lead));
                    format!("{:?}", m.expect("model"))
                })
                .collect()
        };
        let leads_of = |hist: &History| -> Vec<i64> {
            let mut l: Vec<i64> = opt_i64(&hist.rows, "lead")
                .expect("lead")
                .into_iter()
                .flatten()
                .collect();
            l.sort_unstable();
            l.dedup();
            l
        };
        let mut config = settings.config().clone();
        let mut all_leads = config.likelihood.training_leads_days.clone();
        all_leads.extend(&fitted);
        // Each open lead's own deals suffice (a few dozen): its model is of that distance
        // alone, and the rows at the training leads are not made.
        config.likelihood.pool_below_deals = 20;
        config.likelihood.min_training_deals = 20;
        let every = history(&s.tables(), &config, &all_leads, s.as_of).expect("history");
        let lean = history_for_models(&s.tables(), &config, &fitted, s.as_of).expect("history");
        assert!(
            leads_of(&every).len() > fitted.len(),
            "{:?}",
            leads_of(&every)
        );
        assert_eq!(leads_of(&lean), fitted);
        assert!(lean.rows.height() < every.rows.height() / 2);
        assert_eq!(lean.sample_fraction, every.sample_fraction);
        let lean_models = models(&lean, &config);
        assert!(lean_models.iter().all(|m| m.contains("pool_weight: 0.0")));
        // The same models, to the bit.
        assert_eq!(lean_models, models(&every, &config));
        // With too few deals at a distance every row may be pooled: every row is made.
        config.likelihood.pool_below_deals = 1_000_000;
        let every = history(&s.tables(), &config, &all_leads, s.as_of).expect("history");
        let lean = history_for_models(&s.tables(), &config, &fitted, s.as_of).expect("history");
        assert!(lean.rows.equals_missing(&every.rows));
        assert_eq!(models(&lean, &config), models(&every, &config));
    }

    #[test]
    fn deals_with_season_adds_the_summer_flag_by_window() {
        let deals = df!("window" => [11i32, 10]).expect("deals");
        let d = deals_with_season(&deals, &windows()).expect("season");
        let summer: Vec<Option<bool>> = d
            .column("summer")
            .expect("c")
            .bool()
            .expect("b")
            .iter()
            .collect();
        assert_eq!(summer, vec![Some(true), Some(false)]);
    }
}
