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

use crate::columns::{bool_or, f64_or, i32_or, opt_f64, opt_i32, opt_u32, u32_or};
use crate::config::LikelihoodConfig;
use crate::score::features::MODEL_INPUTS;
use crate::stage::Stage;
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

struct Design {
    x: Vec<f64>,
    d: usize,
}

fn design(columns: &[Vec<f64>], means: &[f64], sds: &[f64], rows: &[usize]) -> Design {
    let d = columns.len() + 1;
    let mut x = Vec::with_capacity(rows.len() * d);
    for &i in rows {
        x.push(1.0);
        for (j, c) in columns.iter().enumerate() {
            x.push((c[i] - means[j]) / sds[j]);
        }
    }
    Design { x, d }
}

/// Fits the model on training rows (the [`MODEL_INPUTS`] columns, `label`, and the deal keys
/// `player, to_club, window`).
pub fn fit_model(train: &DataFrame, config: &LikelihoodConfig) -> PolarsResult<Model> {
    // A fixed row order makes the fit (its floating-point sums) the same on every run.
    let train = &train.sort(
        ["snap", "player", "to_club", "window"],
        SortMultipleOptions::default(),
    )?;
    let n = train.height();
    let labels = bool_or(train, "label", false)?;
    let players = u32_or(train, "player", 0)?;
    let clubs = u32_or(train, "to_club", 0)?;
    let windows = i32_or(train, "window", 0)?;
    let deals: HashSet<(u32, u32, i32)> =
        (0..n).map(|i| (players[i], clubs[i], windows[i])).collect();
    let positives = labels.iter().filter(|l| **l).count();
    let training = TrainingSummary {
        rows: n,
        deals: deals.len(),
        positives,
    };
    if deals.len() < config.min_training_deals {
        return Ok(Model::Prior {
            reason: format!(
                "{} resolved training deals, fewer than likelihood.min_training_deals = {}",
                deals.len(),
                config.min_training_deals
            ),
            training,
        });
    }
    if positives == 0 || positives == n {
        return Ok(Model::Prior {
            reason: "every training deal has the same outcome".into(),
            training,
        });
    }
    // Inputs, standardised; constant ones dropped.
    let mut inputs = Vec::new();
    let mut columns = Vec::new();
    let (mut means, mut sds, mut ranges, mut constant) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    // Season inputs are the same for every deal of a window: with fewer than two windows of
    // each season in training they would only tell those windows apart.
    let winter = f64_or(train, "x_winter", 0.0)?;
    let mut season_windows: [Vec<i32>; 2] = [Vec::new(), Vec::new()];
    for i in 0..n {
        season_windows[usize::from(winter[i] > 0.5)].push(windows[i]);
    }
    let seasons_covered = season_windows.iter_mut().all(|w| {
        w.sort_unstable();
        w.dedup();
        w.len() >= 2
    });
    for name in MODEL_INPUTS {
        let v = f64_or(train, name, 0.0)?;
        if !seasons_covered && SEASON_INPUTS.contains(&name) {
            constant.push((name, f64::NAN));
            continue;
        }
        let mean = v.iter().sum::<f64>() / n as f64;
        let var = v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n as f64;
        if var > 1e-12 {
            let lo = v.iter().copied().fold(f64::INFINITY, f64::min);
            let hi = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            inputs.push(name);
            means.push(mean);
            sds.push(var.sqrt());
            ranges.push((lo, hi));
            columns.push(v);
        } else {
            constant.push((name, mean));
        }
    }
    let y: Vec<f64> = labels.iter().map(|l| f64::from(u8::from(*l))).collect();
    // Out-of-fold scores should look like predictions for a window the model has not seen, so
    // folds are whole windows when there are enough of them (else deals, by a hash).
    let folds = config.calibration_folds.max(2);
    let mut distinct_windows: Vec<i32> = windows.clone();
    distinct_windows.sort_unstable();
    distinct_windows.dedup();
    let fold: Vec<usize> = if distinct_windows.len() >= folds {
        (0..n)
            .map(|i| distinct_windows.partition_point(|w| *w < windows[i]) % folds)
            .collect()
    } else {
        (0..n)
            .map(|i| fold_of(players[i], clubs[i], windows[i], folds))
            .collect()
    };

    // Out-of-fold scores, folds fitted in parallel.
    let fit_rows = |rows: &[usize]| -> Option<LogisticFit> {
        let dm = design(&columns, &means, &sds, rows);
        let yy: Vec<f64> = rows.iter().map(|i| y[*i]).collect();
        // A fit that did not converge is not a model: its coefficients are wherever the
        // iterations stopped.
        logistic::fit(&dm.x, dm.d, &yy, None, config.ridge).filter(|f| f.converged)
    };
    let fold_fits: Vec<Option<LogisticFit>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..folds)
            .map(|f| {
                let fold = &fold;
                let fit_rows = &fit_rows;
                s.spawn(move || {
                    let rows: Vec<usize> = (0..n).filter(|i| fold[*i] != f).collect();
                    fit_rows(&rows)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().ok().flatten())
            .collect()
    });
    let mut oof = Vec::with_capacity(n);
    for i in 0..n {
        if let Some(fit) = &fold_fits[fold[i]] {
            let row = design(&columns, &means, &sds, &[i]);
            oof.push((fit.linear(&row.x), labels[i]));
        }
    }
    let all: Vec<usize> = (0..n).collect();
    let Some(fit) = fit_rows(&all) else {
        return Ok(Model::Prior {
            reason: "the logistic regression did not converge".into(),
            training,
        });
    };
    let calibrator = if deals.len() >= config.isotonic_min_deals {
        let pts: Vec<(f64, f64, f64)> = oof
            .iter()
            .map(|(s, l)| (*s, f64::from(u8::from(*l)), 1.0))
            .collect();
        Isotonic::fit(&pts).map(Calibrator::Isotonic)
    } else {
        let (s, l): (Vec<f64>, Vec<bool>) = oof.iter().cloned().unzip();
        Platt::fit(&s, &l).map(Calibrator::Platt)
    };
    let Some(calibrator) = calibrator else {
        return Ok(Model::Prior {
            reason: "calibration failed (no out-of-fold scores)".into(),
            training,
        });
    };
    if let Calibrator::Platt(p) = &calibrator {
        // Out-of-fold scores that rank deals backwards: the regression learnt nothing that
        // holds on deals it has not seen, and a falling calibration map would invert it.
        if p.a.is_nan() || p.a <= 0.0 {
            return Ok(Model::Prior {
                reason: "the regression's out-of-fold scores do not rank the training deals".into(),
                training,
            });
        }
    }
    Ok(Model::Logistic {
        inputs,
        means,
        sds,
        ranges,
        constant,
        fit: Box::new(fit),
        calibrator,
        training,
    })
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
            "base" => format!(
                "{} of resolved deals happened",
                Self::pct(self.base_rate[i])
            ),
            _ => group.to_string(),
        }
    }
}

/// Which reason group an input belongs to.
fn group_of(input: &str) -> &'static str {
    match input {
        "x_evidence" | "x_skill" | "x_key_skill" => "evidence",
        "x_origins_log" => "origins",
        "x_reports_log" => "reports",
        s if s.starts_with("x_stage_") => "stage",
        "x_any_denial" => "denial",
        "x_buyer_rel" => "buyer",
        "x_seller_rel" | "x_seller_missing" => "seller",
        "x_season_rel" | "x_winter" | "x_evidence_winter" => "season",
        "x_days_to_close_log" | "x_lead_log" => "timing",
        "x_momentum" => "momentum",
        "x_value_log" | "x_value_missing" => "value",
        "x_contract_months" | "x_contract_missing" => "contract",
        "x_age" | "x_age_missing" => "age",
        _ => "other",
    }
}

/// Predicts every row of `rows` (a frame of [`crate::score::features::model_matrix_columns`]).
pub fn predict(
    model: &Model,
    rows: &DataFrame,
    band: f64,
    names: &Namer,
) -> PolarsResult<Vec<Prediction>> {
    let n = rows.height();
    let explain = Explain::read(rows)?;
    let z = Normal::new(0.0, 1.0)
        .map(|d| d.inverse_cdf(0.5 + band / 2.0))
        .unwrap_or(1.645);
    let sign = |c: f64| if c >= 0.0 { "+" } else { "−" };
    match model {
        Model::Prior { .. } => {
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
                        vec![
                            "no resolved deal of this season yet: not centred on a season rate"
                                .into(),
                        ]
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
        Model::Logistic {
            inputs,
            means,
            sds,
            ranges,
            constant,
            fit,
            calibrator,
            ..
        } => {
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
            let mut out = Vec::with_capacity(n);
            for (i, notes) in notes.iter_mut().enumerate() {
                let row = design(&columns, means, sds, &[i]);
                let eta = fit.linear(&row.x);
                let se = fit.linear_se(&row.x);
                let (p, low, high) = (
                    calibrator.apply(eta),
                    calibrator.apply(eta - z * se),
                    calibrator.apply(eta + z * se),
                );
                // Contributions on the logit scale, summed by reason group.
                let mut groups: Vec<(&'static str, f64)> = Vec::new();
                for (j, name) in inputs.iter().enumerate() {
                    let c = fit.coef[j + 1] * row.x[j + 1];
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
                out.push(Prediction {
                    model: model.name(),
                    likelihood: p,
                    low: low.min(p),
                    high: high.max(p),
                    reasons,
                    notes: std::mem::take(notes),
                });
            }
            Ok(out)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

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
        for name in ["days_to_close", "lead"] {
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
            let model = fit_model(&train, &LikelihoodConfig::default()).expect("fit");
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
