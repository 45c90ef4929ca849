//! The likelihood model: a regularised logistic regression on deal features, calibrated on
//! out-of-fold predictions, with a documented prior model when history is too thin.
//!
//! * Inputs are the [`MODEL_INPUTS`] columns, standardised with the training means and
//!   standard deviations (constant inputs are dropped).
//! * The regression is fitted by IRLS with an L2 penalty ([`crate::stats::logistic`]).
//! * Calibration: the training deals are split into folds by a hash of the deal, each fold is
//!   scored by a model fitted on the others, and a calibrator maps those out-of-fold scores
//!   to outcomes: isotonic regression with at least `isotonic_min_deals` deals, Platt scaling
//!   below. The final regression is then fitted on all rows.
//! * Band: the linear predictor `± z·se` (its standard error from the penalised Hessian),
//!   passed through the calibrator.
//! * Prior model (too few resolved deals, or only one outcome among them): the likelihood is
//!   the shrunk hit rate of the most informative independent report (its source at its stage;
//!   for a denial, one minus the denials' record), and the band its credible interval. Adding
//!   up several reports needs to know how they relate to each other, which only the fitted
//!   model learns from history.

use std::collections::HashSet;

use polars::prelude::*;
use statrs::distribution::{ContinuousCDF, Normal};

use crate::column_values::{bool_or, f64_or, i32_or, opt_f64, opt_i32, opt_u32, u32_or};
use crate::schema::Stage;
use crate::score::features::{in_snapshot_order, MODEL_INPUTS, SNAPSHOT_ORDER};
use crate::settings::LikelihoodConfig;
use crate::stats::isotonic::Isotonic;
use crate::stats::logistic::{self, LogisticFit, Platt};

/// How probabilities are calibrated.
#[derive(Debug, Clone)]
pub enum Calibrator {
    Platt(Platt),
    Isotonic(Isotonic),
}

/// Calibrated probabilities are kept within `[CLIP, 1 - CLIP]`: a step of the isotonic map
/// fitted on a handful of deals can be exactly 0 or 1, which no forecast of a transfer
/// should be.
pub const CLIP: f64 = 0.005;

impl Calibrator {
    /// The calibrated probability, squeezed linearly into `[CLIP, 1 - CLIP]`: a squeeze, not
    /// a clip, so that two scores that differ never meet at the bound.
    pub fn apply(&self, score: f64) -> f64 {
        let p = match self {
            Calibrator::Platt(p) => p.apply(score),
            Calibrator::Isotonic(i) => i.apply(score),
        };
        CLIP + (1.0 - 2.0 * CLIP) * p.clamp(0.0, 1.0)
    }

    pub fn name(&self) -> &'static str {
        match self {
            Calibrator::Platt(_) => "platt",
            Calibrator::Isotonic(_) => "isotonic",
        }
    }
}

/// A fitted likelihood model.
#[derive(Debug, Clone)]
pub enum Model {
    Logistic {
        inputs: Vec<&'static str>,
        means: Vec<f64>,
        sds: Vec<f64>,
        /// The range of each input in training.
        ranges: Vec<(f64, f64)>,
        /// Inputs left out because they were constant in training, with their value (NaN:
        /// a season input left out because training did not cover both seasons).
        constant: Vec<(&'static str, f64)>,
        fit: Box<LogisticFit>,
        calibrator: Calibrator,
        training: TrainingSummary,
        /// The weight of training rows at other distances from the close (see [`fit_model`]).
        pool_weight: f64,
        /// Set when no training deal was seen at the target distance from the close (or
        /// none with both outcomes): every distance is pooled, with the distance an input.
        lead_unseen: Option<i64>,
    },
    Prior {
        reason: String,
        training: TrainingSummary,
    },
}

/// What the model was fitted on.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct TrainingSummary {
    pub rows: usize,
    pub deals: usize,
    pub positives: usize,
}

impl Model {
    /// `"logistic+isotonic"`, `"logistic+platt"` or `"prior"`.
    pub fn name(&self) -> String {
        match self {
            Model::Logistic { calibrator, .. } => format!("logistic+{}", calibrator.name()),
            Model::Prior { .. } => "prior".into(),
        }
    }

    pub fn training(&self) -> &TrainingSummary {
        match self {
            Model::Logistic { training, .. } | Model::Prior { training, .. } => training,
        }
    }

    /// The weight of training rows at other distances from the close (logistic models).
    pub fn pool_weight(&self) -> Option<f64> {
        match self {
            Model::Logistic { pool_weight, .. } => Some(*pool_weight),
            Model::Prior { .. } => None,
        }
    }

    /// Why the prior model is used, if it is.
    pub fn fallback_reason(&self) -> Option<&str> {
        match self {
            Model::Prior { reason, .. } => Some(reason),
            Model::Logistic { .. } => None,
        }
    }

    /// Coefficients by input name (standardised scale), for the summary.
    pub fn coefficients(&self) -> Vec<(String, f64)> {
        match self {
            Model::Logistic { inputs, fit, .. } => {
                std::iter::once(("intercept".to_string(), fit.coef[0]))
                    .chain(
                        inputs
                            .iter()
                            .zip(&fit.coef[1..])
                            .map(|(n, c)| (n.to_string(), *c)),
                    )
                    .collect()
            }
            Model::Prior { .. } => Vec::new(),
        }
    }
}

/// A deterministic fold of a deal (the same deal's snapshots share a fold).
fn fold_of(player: u32, to_club: u32, window: i32, folds: usize) -> usize {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for v in [player as u64, to_club as u64, window as u32 as u64] {
        h ^= v;
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
        h ^= h >> 29;
    }
    (h % folds as u64) as usize
}

/// Row `i` of `columns`, standardised, after an intercept of 1, pushed onto `x`.
fn push_row(x: &mut Vec<f64>, columns: &[Vec<f64>], means: &[f64], sds: &[f64], i: usize) {
    x.push(1.0);
    for (j, c) in columns.iter().enumerate() {
        x.push((c[i] - means[j]) / sds[j]);
    }
}

/// The standardised design of some training rows: row-major, the intercept column first,
/// with the position of each training row in it (`None`: not in the design).
struct Design {
    x: Vec<f64>,
    d: usize,
    at: Vec<Option<usize>>,
}

impl Design {
    /// The rows `rows` (training row numbers, ascending) of `inputs`, made once for every fit
    /// (each fit copies its rows out of it: the copy is the same values, made faster).
    fn of(inputs: &Standardised, n: usize, rows: impl Iterator<Item = usize>) -> Design {
        let (columns, means, sds) = (&inputs.columns, &inputs.means, &inputs.sds);
        let d = columns.len() + 1;
        let mut x = Vec::new();
        let mut at = vec![None; n];
        for (k, i) in rows.enumerate() {
            at[i] = Some(k);
            push_row(&mut x, columns, means, sds, i);
        }
        Design { x, d, at }
    }

    /// Training row `i`'s inputs, if it is in the design.
    fn row(&self, i: usize) -> Option<&[f64]> {
        let k = self.at[i]?;
        Some(&self.x[k * self.d..(k + 1) * self.d])
    }

    /// The rows `rows`, one after another. Every row asked is in the design (the fits ask
    /// only for rows of a weight the design was made for); one that is not would leave `x`
    /// short, which `fit_from` refuses, so it is caught here in tests.
    fn rows(&self, rows: &[usize]) -> Vec<f64> {
        let mut x = Vec::with_capacity(rows.len() * self.d);
        for &i in rows {
            debug_assert!(
                self.at[i].is_some(),
                "training row {i} is not in the design"
            );
            x.extend_from_slice(self.row(i).unwrap_or_default());
        }
        x
    }
}

/// Weights tried for training rows seen at another distance from the close than the deals
/// to predict (1 for rows at the same distance). 0 is a model of that distance alone; 1 pools
/// every distance, with the distance as an input.
pub const POOL_WEIGHTS: [f64; 3] = [0.0, 0.25, 1.0];

/// Fits the model on training rows (the [`MODEL_INPUTS`] columns, `label`, `lead`, and the
/// deal keys `player, to_club, window`) for deals `lead` days before their close (`None`:
/// every row alike).
///
/// Which deals are still open, and how they look, depends on the distance from the close, so
/// rows at the target distance weigh 1 and the others `w`, chosen among [`POOL_WEIGHTS`] by
/// the out-of-fold log loss (after calibration) on the target rows: a model of that distance
/// alone where it has history enough, partial pooling where it has little. With
/// `pool_below_deals` target deals or more, the distance alone, without the search.
///
/// The model is described by the rows it is fitted on (with `w = 0` alone, those at the
/// target distance): its training counts, its inputs' means, sds and ranges, and its folds
/// are theirs, so rows at other distances that it does not fit leave it unchanged, to the bit
/// (and the training history of `score` need not make them).
pub fn fit_model(
    train: &DataFrame,
    config: &LikelihoodConfig,
    lead: Option<i64>,
) -> PolarsResult<Model> {
    // A fixed row order makes the fit (its floating-point sums) the same on every run. The
    // training history comes in that order already: then it is only checked.
    let train = &if in_snapshot_order(train)? {
        train.clone()
    } else {
        train.sort(SNAPSHOT_ORDER, SortMultipleOptions::default())?
    };
    let n = train.height();
    let labels = bool_or(train, "label", false)?;
    let players = u32_or(train, "player", 0)?;
    let clubs = u32_or(train, "to_club", 0)?;
    let windows = i32_or(train, "window", 0)?;
    let row_leads = if train.get_column_index("lead").is_some() {
        i32_or(train, "lead", 0)?
    } else {
        vec![0; n]
    };
    let at_target: Vec<bool> = match lead {
        Some(l) => row_leads.iter().map(|r| i64::from(*r) == l).collect(),
        None => vec![true; n],
    };
    let counts_of = |rows: &[usize]| -> TargetRows {
        let deals: HashSet<(u32, u32, i32), foldhash::fast::FixedState> = rows
            .iter()
            .map(|i| (players[*i], clubs[*i], windows[*i]))
            .collect();
        TargetRows {
            rows: rows.len(),
            positives: rows.iter().filter(|i| labels[**i]).count(),
            deals: deals.len(),
        }
    };
    // The rows at the target distance, when they hold both outcomes, are where the
    // calibration is fitted and the pooling judged; else every row.
    let target_rows: Vec<usize> = (0..n).filter(|i| at_target[*i]).collect();
    let target = counts_of(&target_rows);
    let lead_unseen = lead.filter(|_| !target.both_outcomes());
    let (at_target, weights_tried) = pooling(at_target, &target, config);
    // Rows away from the target distance are fitted only when some weight tried pools them:
    // the model is described (its training, its inputs' scales and ranges, its folds) by the
    // rows it is fitted on, whatever other rows the history holds.
    let pooled = weights_tried.iter().any(|w| *w > 0.0);
    let used: Vec<usize> = (0..n).filter(|i| at_target[*i] || pooled).collect();
    let fitted = counts_of(&used);
    let training = TrainingSummary {
        rows: fitted.rows,
        deals: fitted.deals,
        positives: fitted.positives,
    };
    if let Some(reason) = too_little(&training, config) {
        return Ok(Model::Prior { reason, training });
    }
    let inputs = standardised(train, &windows, &used)?;
    let y: Vec<f64> = labels.iter().map(|l| f64::from(u8::from(*l))).collect();
    // Out-of-fold scores should look like predictions for a window the model has not seen, so
    // folds are whole windows when there are enough of them (else deals, by a hash).
    let folds = config.calibration_folds.max(2);
    let fold = folds_of(&players, &clubs, &windows, &used, folds);
    let dm = Design::of(&inputs, n, used.iter().copied());
    let fit_rows = |rows: &[usize], pool: f64, start: Option<&[f64]>| -> Option<LogisticFit> {
        let rows: Vec<usize> = rows
            .iter()
            .copied()
            .filter(|i| at_target[*i] || pool > 0.0)
            .collect();
        let x = dm.rows(&rows);
        let yy: Vec<f64> = rows.iter().map(|i| y[*i]).collect();
        let w: Vec<f64> = rows
            .iter()
            .map(|i| if at_target[*i] { 1.0 } else { pool })
            .collect();
        // A fit that did not converge is not a model: its coefficients are wherever the
        // iterations stopped.
        logistic::fit_from(&x, dm.d, &yy, Some(&w), config.ridge, start).filter(|f| f.converged)
    };
    let (full_fits, fold_fits) = fit_all(weights_tried, folds, &fold, &fit_rows);
    let best = choose_pool(
        &fold_fits,
        (&fold, folds),
        &dm,
        (&labels, &at_target),
        target.deals,
        config,
    );
    let Some((_, chosen, calibrator)) = best else {
        return Ok(Model::Prior {
            reason: "the regression's out-of-fold scores do not rank the training deals".into(),
            training,
        });
    };
    let pool_weight = weights_tried[chosen];
    let Some(fit) = full_fits.into_iter().nth(chosen).flatten() else {
        return Ok(Model::Prior {
            reason: "the logistic regression did not converge".into(),
            training,
        });
    };
    let Standardised {
        inputs,
        columns: _,
        means,
        sds,
        ranges,
        constant,
    } = inputs;
    Ok(Model::Logistic {
        inputs,
        means,
        sds,
        ranges,
        constant,
        fit: Box::new(fit),
        calibrator,
        training,
        pool_weight,
        lead_unseen,
    })
}

/// Why training rows cannot fit a regression, if they cannot: too few deals, or one outcome.
fn too_little(training: &TrainingSummary, config: &LikelihoodConfig) -> Option<String> {
    if training.deals < config.min_training_deals {
        return Some(format!(
            "{} resolved training deals, fewer than likelihood.min_training_deals = {}",
            training.deals, config.min_training_deals
        ));
    }
    (training.positives == 0 || training.positives == training.rows)
        .then(|| "every training deal has the same outcome".into())
}

/// The training rows at a model's own distance from the close: how many, how many of them
/// came true, and how many deals they are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TargetRows {
    pub rows: usize,
    pub positives: usize,
    pub deals: usize,
}

impl TargetRows {
    /// Whether the rows hold both outcomes.
    fn both_outcomes(&self) -> bool {
        self.positives > 0 && self.positives < self.rows
    }
}

/// Whether a model with `target` rows at its own distance from the close is fitted on rows
/// at other distances too: unless its own rows hold both outcomes and `pool_below_deals`
/// deals or more ([`pooling`]; the training history leaves out the rows no model fits).
pub fn pools_other_leads(target: &TargetRows, config: &LikelihoodConfig) -> bool {
    !(target.both_outcomes() && target.deals >= config.pool_below_deals)
}

/// The rows the calibration is fitted and the pooling judged on, and the pooling weights to
/// try: the rows at the target distance when they hold both outcomes (with the weights their
/// number of deals allows: 0 alone, a model of that distance, when every row is at it or
/// [`pools_other_leads`] says no), else every row, pooled alike.
fn pooling(
    at_target: Vec<bool>,
    target: &TargetRows,
    config: &LikelihoodConfig,
) -> (Vec<bool>, &'static [f64]) {
    let n = at_target.len();
    if !target.both_outcomes() {
        return (vec![true; n], &POOL_WEIGHTS[2..]);
    }
    let tried: &[f64] = if target.rows == n || !pools_other_leads(target, config) {
        &POOL_WEIGHTS[..1]
    } else if target.deals >= config.min_training_deals {
        &POOL_WEIGHTS
    } else {
        &POOL_WEIGHTS[1..]
    };
    (at_target, tried)
}

/// The pooling weight whose fold fits, calibrated, give the lowest out-of-fold log loss on the
/// rows at the target distance: `(loss, weight index, calibrator)`; `None` when no weight's
/// scores rank the deals.
fn choose_pool(
    fold_fits: &[Option<LogisticFit>],
    (fold, folds): (&[usize], usize),
    design: &Design,
    (labels, at_target): (&[bool], &[bool]),
    target_deals: usize,
    config: &LikelihoodConfig,
) -> Option<(f64, usize, Calibrator)> {
    let n = labels.len();
    let mut best: Option<(f64, usize, Calibrator)> = None;
    for w in 0..fold_fits.len() / folds {
        let mut oof = Vec::with_capacity(n);
        for i in (0..n).filter(|i| at_target[*i]) {
            if let (Some(fit), Some(row)) = (&fold_fits[w * folds + fold[i]], design.row(i)) {
                oof.push((fit.linear(row), labels[i]));
            }
        }
        let Some(calibrator) = calibrate(&oof, target_deals, config) else {
            continue;
        };
        if let Calibrator::Platt(p) = &calibrator {
            // Out-of-fold scores that rank deals backwards: the regression learnt nothing
            // that holds on deals it has not seen, and a falling map would invert it.
            if p.a.is_nan() || p.a <= 0.0 {
                continue;
            }
        }
        let loss = oof
            .iter()
            .map(|(s, l)| {
                let p = calibrator.apply(*s);
                -if *l { p.ln() } else { (1.0 - p).ln() }
            })
            .sum::<f64>()
            / oof.len().max(1) as f64;
        if best.as_ref().is_none_or(|b| loss < b.0 - 1e-9) {
            best = Some((loss, w, calibrator));
        }
    }
    best
}

/// The model's inputs on the training rows, with their means, sds and ranges; constant ones
/// (and the season inputs, when training lacks two windows of each season) left out.
struct Standardised {
    inputs: Vec<&'static str>,
    columns: Vec<Vec<f64>>,
    means: Vec<f64>,
    sds: Vec<f64>,
    ranges: Vec<(f64, f64)>,
    constant: Vec<(&'static str, f64)>,
}

/// The inputs of the training rows `used` (row numbers, ascending): their means, sds and
/// ranges are those rows' (the columns keep every row, for the design to be taken from).
fn standardised(train: &DataFrame, windows: &[i32], used: &[usize]) -> PolarsResult<Standardised> {
    let n = used.len();
    let mut inputs = Vec::new();
    let mut columns = Vec::new();
    let (mut means, mut sds, mut ranges, mut constant) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    // Season inputs are the same for every deal of a window: with fewer than two windows of
    // each season in training they would only tell those windows apart.
    let winter = f64_or(train, "x_winter", 0.0)?;
    let mut season_windows: [Vec<i32>; 2] = [Vec::new(), Vec::new()];
    for &i in used {
        season_windows[usize::from(winter[i] > 0.5)].push(windows[i]);
    }
    let seasons_covered = season_windows.iter_mut().all(|w| {
        w.sort_unstable();
        w.dedup();
        w.len() >= 2
    });
    // Every row is used, or the few in a history made for other models too.
    let all = n == train.height();
    for name in MODEL_INPUTS {
        let column = f64_or(train, name, 0.0)?;
        if !seasons_covered && SEASON_INPUTS.contains(&name) {
            constant.push((name, f64::NAN));
            continue;
        }
        let picked: Vec<f64>;
        let v = if all {
            &column
        } else {
            picked = used.iter().map(|i| column[*i]).collect();
            &picked
        };
        let mean = v.iter().sum::<f64>() / n as f64;
        let var = v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n as f64;
        if var > 1e-12 {
            let lo = v.iter().copied().fold(f64::INFINITY, f64::min);
            let hi = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            inputs.push(name);
            means.push(mean);
            sds.push(var.sqrt());
            ranges.push((lo, hi));
            columns.push(column);
        } else {
            constant.push((name, mean));
        }
    }
    Ok(Standardised {
        inputs,
        columns,
        means,
        sds,
        ranges,
        constant,
    })
}

/// Each training row's fold: whole windows when the rows `used` cover at least `folds` of
/// them (numbered in order among those), else deals by a hash. Rows not used get one too.
fn folds_of(
    players: &[u32],
    clubs: &[u32],
    windows: &[i32],
    used: &[usize],
    folds: usize,
) -> Vec<usize> {
    let n = windows.len();
    let mut distinct_windows: Vec<i32> = used.iter().map(|i| windows[*i]).collect();
    distinct_windows.sort_unstable();
    distinct_windows.dedup();
    if distinct_windows.len() >= folds {
        (0..n)
            .map(|i| distinct_windows.partition_point(|w| *w < windows[i]) % folds)
            .collect()
    } else {
        (0..n)
            .map(|i| fold_of(players[i], clubs[i], windows[i], folds))
            .collect()
    }
}

/// A fit of rows for a pooling weight, from a start.
type FitRows<'a> = dyn Fn(&[usize], f64, Option<&[f64]>) -> Option<LogisticFit> + Sync + 'a;

/// The fit on every row for each pooling weight, then the fold fits started from it (a fold
/// holds most of the rows: its optimum is near), all in parallel. Fold fits are indexed
/// `weight * folds + fold`.
fn fit_all(
    weights_tried: &[f64],
    folds: usize,
    fold: &[usize],
    fit_rows: &FitRows,
) -> (Vec<Option<LogisticFit>>, Vec<Option<LogisticFit>>) {
    let n = fold.len();
    let all: Vec<usize> = (0..n).collect();
    let full_fits: Vec<Option<LogisticFit>> = std::thread::scope(|s| {
        let handles: Vec<_> = weights_tried
            .iter()
            .map(|&pool| {
                let (all, fit_rows) = (&all, &fit_rows);
                s.spawn(move || fit_rows(all, pool, None))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().ok().flatten())
            .collect()
    });
    let jobs: Vec<(usize, usize)> = (0..weights_tried.len())
        .filter(|w| full_fits[*w].is_some())
        .flat_map(|w| (0..folds).map(move |f| (w, f)))
        .collect();
    let mut fold_fits: Vec<Option<LogisticFit>> = vec![None; weights_tried.len() * folds];
    let done: Vec<Option<LogisticFit>> = std::thread::scope(|s| {
        let handles: Vec<_> = jobs
            .iter()
            .map(|&(w, f)| {
                let fit_rows = &fit_rows;
                let start = full_fits[w].as_ref().map(|fit| fit.coef.as_slice());
                s.spawn(move || {
                    let rows: Vec<usize> = (0..n).filter(|i| fold[*i] != f).collect();
                    fit_rows(&rows, weights_tried[w], start)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().ok().flatten())
            .collect()
    });
    for (&(w, f), fit) in jobs.iter().zip(done) {
        fold_fits[w * folds + f] = fit;
    }
    (full_fits, fold_fits)
}

/// The calibration map of out-of-fold scores: isotonic with `isotonic_min_deals` deals or
/// more, Platt scaling below.
fn calibrate(oof: &[(f64, bool)], deals: usize, config: &LikelihoodConfig) -> Option<Calibrator> {
    if deals >= config.isotonic_min_deals {
        let pts: Vec<(f64, f64, f64)> = oof
            .iter()
            .map(|(s, l)| (*s, f64::from(u8::from(*l)), 1.0))
            .collect();
        Isotonic::fit(&pts).map(Calibrator::Isotonic)
    } else {
        let (s, l): (Vec<f64>, Vec<bool>) = oof.iter().cloned().unzip();
        Platt::fit(&s, &l).map(Calibrator::Platt)
    }
}

/// Inputs that are the same for every deal of a window's season.
const SEASON_INPUTS: [&str; 3] = ["x_winter", "x_evidence_winter", "x_season_rel"];

/// Display names for reasons.
pub struct Namer<'a> {
    pub sources: &'a [String],
    pub clubs: &'a [String],
}

/// A deal's likelihood.
#[derive(Debug, Clone, PartialEq)]
pub struct Prediction {
    /// Name of the model that made it.
    pub model: String,
    pub likelihood: f64,
    pub low: f64,
    pub high: f64,
    pub reasons: Vec<String>,
    /// Where the deal lies outside what the model was trained on, and the rule applied.
    pub notes: Vec<String>,
}

/// Holds an input beyond its training range `[lo, hi]` within one standard deviation of it:
/// `hi + sd·u/(1 + u)` with `u = (x − hi)/sd` above, likewise below. Strictly increasing (and
/// slow to saturate in floating point, unlike `tanh`), so deals that differ keep their order;
/// bounded, so a value the model never saw cannot push every prediction to a bound.
pub fn hold_in_range(x: f64, lo: f64, hi: f64, sd: f64) -> f64 {
    let squash = |excess: f64| {
        let u = excess / sd;
        sd * u / (1.0 + u)
    };
    if x > hi {
        hi + squash(x - hi)
    } else if x < lo {
        lo - squash(lo - x)
    } else {
        x
    }
}

/// The name of an input without its `x_` prefix, for notes.
fn input_label(name: &str) -> &str {
    name.strip_prefix("x_").unwrap_or(name)
}

/// Row values needed to explain a prediction.
struct Explain {
    key_origin: Vec<Option<u32>>,
    key_stage: Vec<Option<u32>>,
    key_rate: Vec<Option<f64>>,
    origins: Vec<Option<u32>>,
    reports: Vec<Option<u32>>,
    stage_max: Vec<Option<u32>>,
    to_club: Vec<Option<u32>>,
    from_club: Vec<Option<u32>>,
    buyer_rate: Vec<Option<f64>>,
    seller_rate: Vec<Option<f64>>,
    season_rate: Vec<Option<f64>>,
    summer: Vec<Option<u32>>,
    base_rate: Vec<Option<f64>>,
    days_to_close: Vec<Option<i32>>,
    lead: Vec<Option<i32>>,
    recent: Vec<Option<u32>>,
    previous: Vec<Option<u32>>,
    value: Vec<Option<f64>>,
    contract: Vec<Option<f64>>,
    age: Vec<Option<f64>>,
    player_links: Vec<Option<u32>>,
    player_moves: Vec<Option<u32>>,
    days_since_move: Vec<Option<i32>>,
}

impl Explain {
    fn read(df: &DataFrame) -> PolarsResult<Explain> {
        Ok(Explain {
            key_origin: opt_u32(df, "key_origin")?,
            key_stage: opt_u32(df, "key_stage")?,
            key_rate: opt_f64(df, "key_rate")?,
            origins: opt_u32(df, "origins")?,
            reports: opt_u32(df, "reports")?,
            stage_max: opt_u32(df, "stage_max")?,
            to_club: opt_u32(df, "to_club")?,
            from_club: opt_u32(df, "from_club")?,
            buyer_rate: opt_f64(df, "buyer_rate")?,
            seller_rate: opt_f64(df, "seller_rate")?,
            season_rate: opt_f64(df, "season_rate")?,
            summer: opt_u32(df, "summer")?,
            base_rate: opt_f64(df, "base_rate")?,
            days_to_close: opt_i32(df, "days_to_close")?,
            lead: opt_i32(df, "lead")?,
            recent: opt_u32(df, "recent")?,
            previous: opt_u32(df, "previous")?,
            value: opt_f64(df, "market_value_eur")?,
            contract: opt_f64(df, "contract_months")?,
            age: opt_f64(df, "player_age")?,
            player_links: opt_u32(df, "player_links")?,
            player_moves: opt_u32(df, "player_moves")?,
            days_since_move: opt_i32(df, "days_since_move")?,
        })
    }

    fn pct(v: Option<f64>) -> String {
        v.map_or_else(|| "?".into(), |p| format!("{:.0}%", 100.0 * p))
    }

    /// Words for one group of inputs at row `i`.
    fn words(&self, group: &str, i: usize, names: &Namer) -> String {
        let club = |id: Option<u32>| {
            id.and_then(|c| names.clubs.get(c as usize))
                .cloned()
                .unwrap_or_else(|| "unknown club".into())
        };
        match group {
            "evidence" => {
                let source = self.key_origin[i]
                    .and_then(|s| names.sources.get(s as usize))
                    .cloned()
                    .unwrap_or_else(|| "?".into());
                let stage = self.key_stage[i]
                    .and_then(Stage::from_rank)
                    .map_or("?", Stage::name);
                if self.key_stage[i] == Some(Stage::Denied.rank()) {
                    // key_rate is the chance the deal happens; the denials' record is its complement.
                    format!(
                        "denial by {source}, whose denials hold {} of the time",
                        Self::pct(self.key_rate[i].map(|r| 1.0 - r))
                    )
                } else {
                    format!(
                        "{stage}-stage report by {source}, right {} of the time",
                        Self::pct(self.key_rate[i])
                    )
                }
            }
            "origins" => format!("{} independent source(s)", self.origins[i].unwrap_or(0)),
            "reports" => format!("{} report(s)", self.reports[i].unwrap_or(0)),
            "stage" => format!(
                "strongest wording: {}",
                self.stage_max[i]
                    .and_then(Stage::from_rank)
                    .map_or("?", Stage::name)
            ),
            "denial" => "a report denies it".into(),
            "buyer" => format!(
                "{} completes {} of its links as buyer",
                club(self.to_club[i]),
                Self::pct(self.buyer_rate[i])
            ),
            "seller" => match self.from_club[i] {
                Some(_) => format!(
                    "{} sells {} of the players it is linked with",
                    club(self.from_club[i]),
                    Self::pct(self.seller_rate[i])
                ),
                None => "selling club unknown".into(),
            },
            "season" => format!(
                "{} windows: {} of rumoured deals happen",
                if self.summer[i] == Some(1) {
                    "summer"
                } else {
                    "winter"
                },
                Self::pct(self.season_rate[i])
            ),
            "timing" => format!(
                "last report {} days before the window closes; {} days to go",
                self.days_to_close[i].unwrap_or(0),
                self.lead[i].unwrap_or(0)
            ),
            "momentum" => format!(
                "{} report(s) in the last period against {} before",
                self.recent[i].unwrap_or(0),
                self.previous[i].unwrap_or(0)
            ),
            "value" => self.value[i].map_or_else(
                || "market value unknown".into(),
                |v| format!("market value €{:.1}m", v / 1e6),
            ),
            "contract" => self.contract[i].map_or_else(
                || "contract end unknown".into(),
                |m| format!("{m:.0} months left on contract"),
            ),
            "age" => self.age[i].map_or_else(|| "age unknown".into(), |a| format!("age {a:.0}")),
            "links" => format!(
                "the player is linked with {} club(s) this window",
                self.player_links[i].unwrap_or(1)
            ),
            "mobility" => match (self.player_moves[i], self.days_since_move[i]) {
                (Some(n), Some(d)) if n > 0 => {
                    format!("{n} earlier move(s) known, the last {d} days ago")
                }
                _ => "no earlier move of the player known".into(),
            },
            "base" => format!(
                "{} of resolved deals happened",
                Self::pct(self.base_rate[i])
            ),
            _ => group.to_string(),
        }
    }
}

/// Which reason group an input belongs to (from [`MODEL_INPUTS`]' table).
fn group_of(input: &str) -> &'static str {
    crate::score::features::input_group(input).unwrap_or("other")
}

/// Predicts every row of `rows` (a frame of [`crate::score::features::model_matrix_columns`]).
pub fn predict(
    model: &Model,
    rows: &DataFrame,
    band: f64,
    names: &Namer,
) -> PolarsResult<Vec<Prediction>> {
    let explain = Explain::read(rows)?;
    let z = Normal::new(0.0, 1.0)
        .map(|d| d.inverse_cdf(0.5 + band / 2.0))
        .unwrap_or(1.645);
    let sign = |c: f64| if c >= 0.0 { "+" } else { "−" };
    match model {
        Model::Prior { .. } => predict_prior(rows, &explain, names),
        Model::Logistic {
            inputs,
            means,
            sds,
            ranges,
            constant,
            fit,
            calibrator,
            lead_unseen,
            ..
        } => {
            use rayon::prelude::*;
            let (columns, mut notes) =
                held_inputs(rows, inputs, sds, ranges, constant, *lead_unseen)?;
            // Each deal on its own (its reasons' text is most of the work), in parallel; in
            // row order whatever the thread count.
            let out = notes.par_iter_mut().enumerate().map(|(i, notes)| {
                let mut row = Vec::with_capacity(columns.len() + 1);
                push_row(&mut row, &columns, means, sds, i);
                let eta = fit.linear(&row);
                let se = fit.linear_se(&row);
                let (p, low, high) = (
                    calibrator.apply(eta),
                    calibrator.apply(eta - z * se),
                    calibrator.apply(eta + z * se),
                );
                // Contributions on the logit scale, summed by reason group.
                let mut groups: Vec<(&'static str, f64)> = Vec::new();
                for (j, name) in inputs.iter().enumerate() {
                    let c = fit.coef[j + 1] * row[j + 1];
                    let g = group_of(name);
                    match groups.iter_mut().find(|(n, _)| *n == g) {
                        Some(slot) => slot.1 += c,
                        None => groups.push((g, c)),
                    }
                }
                groups.sort_by(|a, b| b.1.abs().total_cmp(&a.1.abs()).then(a.0.cmp(b.0)));
                let reasons = groups
                    .iter()
                    .take(3)
                    .map(|(g, c)| format!("{} {}", sign(*c), explain.words(g, i, names)))
                    .collect();
                Prediction {
                    model: model.name(),
                    likelihood: p,
                    low: low.min(p),
                    high: high.max(p),
                    reasons,
                    notes: std::mem::take(notes),
                }
            });
            Ok(out.collect())
        }
    }
}

/// The prior model's predictions: the most informative independent report decides, its
/// source's record at its stage.
fn predict_prior(
    rows: &DataFrame,
    explain: &Explain,
    names: &Namer,
) -> PolarsResult<Vec<Prediction>> {
    let n = rows.height();
    let sign = |c: f64| if c >= 0.0 { "+" } else { "−" };
    // The most informative independent report decides: its source's record at its stage.
    // Centred on the deal's season: the report's record relative to the base rate of
    // all deals, added to the season's own rate (a source's record may have been
    // learnt in the other season, whose deals complete at another rate).
    let key = f64_or(rows, "key_rate", 0.0)?;
    let key_lo = f64_or(rows, "key_rate_low", 0.0)?;
    let key_hi = f64_or(rows, "key_rate_high", 0.0)?;
    let base = f64_or(rows, "base_rate", 0.0)?;
    let season = f64_or(rows, "season_rate", 0.0)?;
    let season_known = bool_or(rows, "season_rate_known", false)?;
    let centred = |r: f64, i: usize| {
        if season_known[i] && base[i] > 0.0 && season[i] > 0.0 {
            logistic::sigmoid(
                logistic::logit(season[i]) + logistic::logit(r) - logistic::logit(base[i]),
            )
        } else {
            r
        }
    };
    let rate: Vec<f64> = (0..n).map(|i| centred(key[i], i)).collect();
    let lo: Vec<f64> = (0..n).map(|i| centred(key_lo[i], i)).collect();
    let hi: Vec<f64> = (0..n).map(|i| centred(key_hi[i], i)).collect();
    Ok((0..n)
        .map(|i| Prediction {
            model: "prior".into(),
            likelihood: rate[i],
            low: lo[i].min(rate[i]),
            high: hi[i].max(rate[i]),
            notes: if season_known[i] {
                Vec::new()
            } else {
                vec!["no resolved deal of this season yet: not centred on a season rate".into()]
            },
            reasons: vec![
                format!(
                    "{} {}",
                    sign(rate[i] - base[i]),
                    explain.words("evidence", i, names)
                ),
                explain.words("origins", i, names),
                explain.words("base", i, names),
            ],
        })
        .collect())
}

/// Input columns, and notes per row.
type HeldInputs = (Vec<Vec<f64>>, Vec<Vec<String>>);

/// The logistic model's inputs for `rows`, each held within one sd of its training range, and
/// per row the notes saying where the model met what it was not trained on.
fn held_inputs(
    rows: &DataFrame,
    inputs: &[&'static str],
    sds: &[f64],
    ranges: &[(f64, f64)],
    constant: &[(&'static str, f64)],
    lead_unseen: Option<i64>,
) -> PolarsResult<HeldInputs> {
    let n = rows.height();
    let mut columns: Vec<Vec<f64>> = inputs
        .iter()
        .map(|c| f64_or(rows, c, 0.0))
        .collect::<PolarsResult<_>>()?;
    let mut notes: Vec<Vec<String>> = vec![Vec::new(); n];
    let mut outside: Vec<Vec<&str>> = vec![Vec::new(); n];
    for (j, c) in columns.iter_mut().enumerate() {
        let (lo, hi) = ranges[j];
        for (i, v) in c.iter_mut().enumerate() {
            if *v < lo || *v > hi {
                outside[i].push(input_label(inputs[j]));
                *v = hold_in_range(*v, lo, hi, sds[j]);
            }
        }
    }
    let mut unseen: Vec<Vec<&str>> = vec![Vec::new(); n];
    let mut season_unused = false;
    for (name, value) in constant {
        if value.is_nan() {
            season_unused = true;
            continue;
        }
        let v = f64_or(rows, name, 0.0)?;
        for (i, x) in v.iter().enumerate() {
            if (x - value).abs() > 1e-9 {
                unseen[i].push(input_label(name));
            }
        }
    }
    for i in 0..n {
        if !outside[i].is_empty() {
            notes[i].push(format!(
                "outside the training range, held within one sd of it: {}",
                outside[i].join(", ")
            ));
        }
        if let Some(l) = lead_unseen {
            notes[i].push(format!(
                "no training deal with both outcomes {l} days before its close: every distance pooled, the distance an input"
            ));
        }
        if season_unused {
            notes[i].push(
                "season inputs not used: training holds fewer than two windows of each season"
                    .into(),
            );
        }
        if !unseen[i].is_empty() {
            notes[i].push(format!(
                "constant in training, so not used: {}",
                unseen[i].join(", ")
            ));
        }
    }
    Ok((columns, notes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn rows_in_deal_order_are_told_from_others() {
        let rows = |snap: &[Option<u32>], player: &[u32], window: &[i32]| {
            df!(
                "snap" => snap,
                "player" => player,
                "to_club" => vec![1u32; player.len()],
                "window" => window,
            )
            .expect("rows")
        };
        let ordered = rows(
            &[None, Some(0), Some(0), Some(1)],
            &[5, 1, 2, 0],
            &[3, 3, 3, 2],
        );
        assert!(in_snapshot_order(&ordered).expect("check"));
        // A later window of the same deal at the same snapshot still counts as after.
        let by_window = rows(&[Some(0), Some(0)], &[1, 1], &[3, 4]);
        assert!(in_snapshot_order(&by_window).expect("check"));
        // Out of order, a null after a value, or two rows with the same keys: sorted instead.
        for unsorted in [
            rows(&[Some(1), Some(0)], &[0, 0], &[1, 1]),
            rows(&[Some(0), None], &[0, 0], &[1, 1]),
            rows(&[Some(0), Some(0)], &[2, 2], &[1, 1]),
        ] {
            assert!(!in_snapshot_order(&unsorted).expect("check"));
        }
        assert!(in_snapshot_order(&rows(&[], &[], &[])).expect("check"));
    }

    #[test]
    fn inputs_beyond_the_training_range_are_held_within_one_sd() {
        // Inside the range: unchanged. Above: u = (2 - 1) / 0.5 = 2, 1 + 0.5 * 2/3 = 4/3.
        assert_eq!(hold_in_range(0.3, 0.0, 1.0, 0.5), 0.3);
        let above = hold_in_range(2.0, 0.0, 1.0, 0.5);
        assert!((above - 4.0 / 3.0).abs() < 1e-15, "{above}");
        // Below: u = 0.5, 0 - 0.5 * 1/3.
        let below = hold_in_range(-0.25, 0.0, 1.0, 0.5);
        assert!((below + 0.5 / 3.0).abs() < 1e-15, "{below}");
        // Bounded, and strictly increasing.
        assert!(hold_in_range(1e9, 0.0, 1.0, 0.5) <= 1.5);
        assert!(hold_in_range(3.0, 0.0, 1.0, 0.5) > hold_in_range(2.9, 0.0, 1.0, 0.5));
    }

    #[test]
    fn the_calibrated_value_is_squeezed_not_clipped() {
        let c = Calibrator::Platt(Platt { a: 1.0, b: 0.0 });
        // sigmoid(-40) and sigmoid(-30) both round to the clip, but stay apart.
        assert!(c.apply(-40.0) < c.apply(-30.0));
        assert!(c.apply(-40.0) >= CLIP && c.apply(40.0) <= 1.0 - CLIP);
        assert!((c.apply(0.0) - 0.5).abs() < 1e-15);
    }

    #[test]
    fn few_rows_at_the_target_distance_borrow_from_the_others() {
        let mut train = training(3000, 11);
        // 150 deals at 30 days (fewer than min_training_deals), the rest at 60.
        let lead: Vec<i32> = (0..3000)
            .map(|i| if i % 20 == 0 { 30 } else { 60 })
            .collect();
        train
            .with_column(Column::new("lead".into(), lead))
            .expect("lead");
        let config = LikelihoodConfig::default();
        let thin = fit_model(&train, &config, Some(30)).expect("fit");
        // The distance alone is not tried with so few deals: some pooling is chosen.
        assert!(thin.pool_weight().is_some_and(|w| w > 0.0), "{thin:?}");
        let Model::Logistic { lead_unseen, .. } = &thin else {
            panic!("{thin:?}")
        };
        assert_eq!(*lead_unseen, None);
        // A distance with no training row: every row alike, and said.
        let unseen = fit_model(&train, &config, Some(7)).expect("fit");
        assert_eq!(unseen.pool_weight(), Some(1.0));
        let Model::Logistic { lead_unseen, .. } = &unseen else {
            panic!("{unseen:?}")
        };
        assert_eq!(*lead_unseen, Some(7));
        let mut rows = training(5, 12);
        explain_columns(&mut rows);
        let names = Namer {
            sources: &[],
            clubs: &[],
        };
        let p = predict(&unseen, &rows, 0.9, &names).expect("predict");
        assert!(
            p[0].notes.iter().any(|n| n.starts_with("no training deal")),
            "{:?}",
            p[0].notes
        );
    }

    #[test]
    fn a_model_of_its_own_distance_is_the_same_whatever_other_rows_the_history_holds() {
        // 3,000 rows: every fourth at 30 days from the close (750 deals), the rest at 60,
        // whose inputs are shifted: they must not move the model of 30 days.
        let mut train = training(3000, 13);
        let lead: Vec<i32> = (0..3000)
            .map(|i| if i % 4 == 0 { 30 } else { 60 })
            .collect();
        let shifted: Vec<f64> = f64_or(&train, MODEL_INPUTS[1], 0.0)
            .expect("input")
            .iter()
            .zip(&lead)
            .map(|(x, l)| if *l == 60 { x + 5.0 } else { *x })
            .collect();
        train
            .with_column(Column::new("lead".into(), lead))
            .expect("lead");
        train
            .with_column(Column::new(MODEL_INPUTS[1].into(), shifted))
            .expect("shifted");
        let config = LikelihoodConfig {
            pool_below_deals: 500,
            ..LikelihoodConfig::default()
        };
        let at_30 = train
            .column("lead")
            .expect("lead")
            .i32()
            .expect("i32")
            .equal(30);
        let alone = fit_model(&train.filter(&at_30).expect("filter"), &config, Some(30))
            .expect("fit alone");
        let with_others = fit_model(&train, &config, Some(30)).expect("fit");
        // 750 deals at the distance, 500 needed: that distance alone, in both.
        assert_eq!(alone.pool_weight(), Some(0.0));
        assert_eq!(alone.training().rows, 750);
        assert_eq!(alone.training().deals, 750);
        // Everything the model holds (coefficients, scales, ranges, calibration, training
        // summary) to the last bit.
        assert_eq!(format!("{with_others:?}"), format!("{alone:?}"));
        // With fewer deals than that the other distances are pooled, and described.
        let pooled = fit_model(
            &train,
            &LikelihoodConfig {
                pool_below_deals: 1000,
                ..config
            },
            Some(30),
        )
        .expect("fit");
        assert!(pooled.pool_weight().is_some_and(|w| w > 0.0), "{pooled:?}");
        assert_eq!(pooled.training().rows, 3000);
    }

    /// Training rows: the model inputs drawn from `seed`, a label from a known logit.
    fn training(n: usize, seed: u64) -> DataFrame {
        let mut state = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 11) as f64 / (1u64 << 53) as f64
        };
        let mut columns: Vec<Column> = Vec::new();
        let mut logit = vec![-2.0; n];
        for (j, name) in MODEL_INPUTS.iter().enumerate() {
            let v: Vec<f64> = (0..n)
                .map(|_| {
                    let u = next();
                    // Half the inputs binary, half continuous.
                    if j % 2 == 0 {
                        f64::from(u8::from(u < 0.3))
                    } else {
                        4.0 * u - 2.0
                    }
                })
                .collect();
            for i in 0..n {
                logit[i] += 0.3 * v[i] * if j % 3 == 0 { 1.0 } else { -0.5 };
            }
            columns.push(Column::new((*name).into(), v));
        }
        let label: Vec<bool> = logit
            .iter()
            .map(|z| next() < 1.0 / (1.0 + (-z).exp()))
            .collect();
        columns.push(Column::new("label".into(), label));
        columns.push(Column::new("snap".into(), vec![0u32; n]));
        columns.push(Column::new(
            "player".into(),
            (0..n as u32).collect::<Vec<_>>(),
        ));
        columns.push(Column::new("to_club".into(), vec![1u32; n]));
        columns.push(Column::new("window".into(), vec![7i32; n]));
        DataFrame::new_infer_height(columns).expect("frame")
    }

    fn explain_columns(df: &mut DataFrame) {
        let n = df.height();
        for name in [
            "key_origin",
            "key_stage",
            "origins",
            "reports",
            "stage_max",
            "to_club",
            "from_club",
            "summer",
            "recent",
            "previous",
            "player_links",
            "player_moves",
        ] {
            if df.column(name).is_err() {
                df.with_column(Column::new(name.into(), vec![1u32; n]))
                    .expect("col");
            }
        }
        for name in [
            "key_rate",
            "buyer_rate",
            "seller_rate",
            "season_rate",
            "base_rate",
            "market_value_eur",
            "contract_months",
            "player_age",
        ] {
            df.with_column(Column::new(name.into(), vec![0.2f64; n]))
                .expect("col");
        }
        for name in ["days_to_close", "lead", "days_since_move"] {
            df.with_column(Column::new(name.into(), vec![3i32; n]))
                .expect("col");
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(12))]

        /// A fitted logistic model never gives one value to deals whose inputs differ: every
        /// step from inputs to likelihood (standardising, holding in range, the linear
        /// predictor, the calibration map, the squeeze) is strictly monotone in it.
        #[test]
        fn deals_that_differ_get_different_likelihoods(
            seed in 1u64..1_000_000,
            input in 0usize..MODEL_INPUTS.len(),
            a in -50.0f64..50.0,
            delta in 0.001f64..40.0,
        ) {
            let train = training(600, seed);
            let model = fit_model(&train, &LikelihoodConfig::default(), None).expect("fit");
            let Model::Logistic { inputs, fit, .. } = &model else {
                return Err(TestCaseError::fail(format!("not fitted: {:?}", model.fallback_reason())));
            };
            let Some(j) = inputs.iter().position(|n| *n == MODEL_INPUTS[input]) else {
                return Ok(());
            };
            prop_assume!(fit.coef[j + 1].abs() > 1e-9);
            // Two copies of the first training row that differ in one input, far outside the
            // training range or not.
            let mut rows = train.slice(0, 1).vstack(&train.slice(0, 1)).expect("rows");
            rows.with_column(Column::new(MODEL_INPUTS[input].into(), vec![a, a + delta]))
                .expect("col");
            explain_columns(&mut rows);
            let names = Namer { sources: &[], clubs: &[] };
            let p = predict(&model, &rows, 0.9, &names).expect("predict");
            prop_assert!(p[0].likelihood != p[1].likelihood, "{} == {}", p[0].likelihood, p[1].likelihood);
            prop_assert!(p.iter().all(|q| q.likelihood > 0.0 && q.likelihood < 1.0));
        }
    }
}
