//! The backtest: for each past window, fit on what was known `lead_days` before it closed,
//! predict that window's open deals, and compare with what happened — for the model and two
//! baselines.
//!
//! Baselines, both fitted on the same training rows as the model:
//! * `base_rate`: the share of training deals (at the same lead) that happened;
//! * `stage`: that share per strongest stage reached, smoothed towards the base rate with
//!   two pseudo-deals.
//!
//! Metrics per window and pooled: Brier score, Brier skill against the base-rate baseline,
//! log loss, ROC AUC, expected calibration error, and a reliability table.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use polars::prelude::*;
use serde::Serialize;

use crate::column_values::{bool_or, f64_or, u32_or};
use crate::error::{Error, Result};
use crate::prepared::Prepared;
use crate::progress::Progress;
use crate::score::likelihood::{history, model_for_day, rows_known_by, History};
use crate::score::model::{predict, Namer};
use crate::settings::Config;
use crate::stats::logistic::{logit, sigmoid};
use crate::stats::metrics::{
    brier, brier_skill, expected_calibration_error, log_loss, reliability_table, roc_auc, Bin,
};
use crate::windows::Window;

/// Options of a backtest.
#[derive(Debug, Clone, Default)]
pub struct BacktestOptions {
    /// First window to test (default: every closed window).
    pub from: Option<Window>,
    /// Days before each window's close at which the model is fitted and predicts (default:
    /// `backtest.lead_days` of the config); every window is tested at each.
    pub lead_days: Vec<i64>,
}

/// The predictors compared.
pub const PREDICTORS: [&str; 4] = ["model", "base_rate", "stage", "sources"];

/// Scores of one predictor on a set of deals.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Scores {
    pub deals: usize,
    pub happened: usize,
    /// Mean predicted likelihood (compare with `happened / deals`: calibration in the large).
    pub mean_predicted: f64,
    pub brier: f64,
    /// Against the base-rate baseline (the share of the training deals that happened).
    pub brier_skill: f64,
    /// Against always saying the share of these deals that happened (known only afterwards).
    pub brier_skill_own: f64,
    pub log_loss: f64,
    pub auc: f64,
    pub ece: f64,
}

/// Scores the predictions `p` of outcomes `y` against the base-rate predictions `base`.
pub fn scores(p: &[f64], base: &[f64], y: &[bool], bins: usize) -> Scores {
    let b = brier(p, y);
    let happened = y.iter().filter(|v| **v).count();
    let own = if y.is_empty() {
        f64::NAN
    } else {
        happened as f64 / y.len() as f64
    };
    Scores {
        deals: y.len(),
        happened,
        mean_predicted: if p.is_empty() {
            f64::NAN
        } else {
            p.iter().sum::<f64>() / p.len() as f64
        },
        brier: b,
        brier_skill: brier_skill(b, brier(base, y)),
        brier_skill_own: brier_skill(b, brier(&vec![own; y.len()], y)),
        log_loss: log_loss(p, y),
        auc: roc_auc(p, y),
        ece: expected_calibration_error(p, y, bins),
    }
}

/// A backtest's results.
pub struct BacktestRun {
    /// `window, lead_days, model, predictor, deals, happened, mean_predicted, brier,
    /// brier_skill, brier_skill_own, log_loss, auc, ece` (per lead, the last rows are
    /// `window = overall`).
    pub table: DataFrame,
    /// `predictor, bin, lower, upper, count, mean_predicted, observed_rate` (pooled over
    /// windows and leads).
    pub calibration: DataFrame,
    /// A reliability diagram.
    pub svg: String,
    /// Pooled scores by lead and predictor.
    pub overall: BTreeMap<(i64, String), Scores>,
    pub lead_days: Vec<i64>,
    /// Windows tested (at one lead at least).
    pub windows_tested: usize,
    /// Windows not tested because no earlier window had closed by their cut-off.
    pub windows_skipped: Vec<String>,
}

/// One row of `backtest.csv`.
struct Row {
    window: String,
    lead: i64,
    model: String,
    predictor: &'static str,
    scores: Scores,
}

/// Runs the backtest.
pub fn backtest(
    s: &Prepared,
    config: &Config,
    bt: &BacktestOptions,
    progress: &Progress,
) -> Result<BacktestRun> {
    let mut test_leads = if bt.lead_days.is_empty() {
        config.backtest.lead_days.clone()
    } else {
        bt.lead_days.clone()
    };
    test_leads.sort_unstable();
    test_leads.dedup();
    if test_leads.iter().any(|l| *l < 0) {
        return Err(Error::Usage("backtest lead days must be >= 0".into()));
    }
    let mut leads = config.likelihood.training_leads_days.clone();
    leads.extend(&test_leads);
    let hist = progress.stage("history", || history(&s.tables(), config, &leads, s.as_of))?;
    let (source_names, club_names) = (&s.display.sources, &s.display.clubs);
    let namer = Namer {
        sources: source_names,
        clubs: club_names,
    };
    let grace = config.outcomes.grace_days as i32;
    let bins = config.backtest.bins;

    let win = s.windows.column("window")?.i32()?.clone();
    let close = s.windows.column("window_close")?.i32()?.clone();
    let label = s.windows.column("window_label")?.str()?.clone();
    let mut rows_out: Vec<Row> = Vec::new();
    let mut pooled: BTreeMap<&'static str, (Vec<f64>, Vec<bool>)> = BTreeMap::new();
    let mut tested = std::collections::BTreeSet::new();
    let mut skipped = std::collections::BTreeSet::new();
    let mut overall = BTreeMap::new();
    // Windows that have deals (the transfers may reach back decades further).
    let with_deals: std::collections::BTreeSet<i32> =
        s.deals.column("window")?.i32()?.iter().flatten().collect();
    progress.stage("backtest", || -> PolarsResult<()> {
        for &lead in &test_leads {
            let mut by_lead: BTreeMap<&'static str, (Vec<f64>, Vec<bool>)> = BTreeMap::new();
            let mut base_of_lead: Vec<f64> = Vec::new();
            for i in 0..s.windows.height() {
                let (Some(w), Some(c), Some(name)) = (win.get(i), close.get(i), label.get(i))
                else {
                    continue;
                };
                if !with_deals.contains(&w)
                    || c + grace + 1 > s.as_of
                    || bt.from.is_some_and(|f| w < f.ordinal())
                {
                    continue;
                }
                let day = c - lead as i32;
                let t = match test_window(s, &hist, config, &namer, (w, day, lead))? {
                    Tested::Skipped => {
                        skipped.insert((w, name.to_string()));
                        continue;
                    }
                    Tested::Empty => continue,
                    Tested::Deals(t) => t,
                };
                tested.insert(w);
                let (y, p_base) = (&t.happened, &t.predictions[1].1);
                for (predictor, p) in &t.predictions {
                    let predictor = *predictor;
                    rows_out.push(Row {
                        window: name.to_string(),
                        lead,
                        model: t.model.clone(),
                        predictor,
                        scores: scores(p, p_base, y, bins),
                    });
                    for e in [
                        by_lead.entry(predictor).or_default(),
                        pooled.entry(predictor).or_default(),
                    ] {
                        e.0.extend_from_slice(p);
                        e.1.extend_from_slice(y);
                    }
                }
                base_of_lead.extend_from_slice(p_base);
            }
            for predictor in PREDICTORS {
                if let Some((p, y)) = by_lead.get(predictor) {
                    let sc = scores(p, &base_of_lead, y, bins);
                    rows_out.push(Row {
                        window: "overall".into(),
                        lead,
                        model: String::new(),
                        predictor,
                        scores: sc.clone(),
                    });
                    overall.insert((lead, predictor.to_string()), sc);
                }
            }
        }
        Ok(())
    })?;

    let table = backtest_table(&rows_out)?;
    let (calibration, svg) = calibration_outputs(&pooled, bins, &test_leads)?;
    Ok(BacktestRun {
        table,
        calibration,
        svg,
        overall,
        lead_days: test_leads,
        windows_tested: tested.len(),
        windows_skipped: skipped.into_iter().map(|(_, n)| n).collect(),
    })
}

/// `backtest.csv`: one row per window, lead and predictor, and the overall rows.
fn backtest_table(rows_out: &[Row]) -> PolarsResult<DataFrame> {
    let num =
        |f: &dyn Fn(&Scores) -> f64| rows_out.iter().map(|r| f(&r.scores)).collect::<Vec<_>>();
    DataFrame::new_infer_height(vec![
        Column::new(
            "window".into(),
            rows_out
                .iter()
                .map(|r| r.window.clone())
                .collect::<Vec<_>>(),
        ),
        Column::new(
            "lead_days".into(),
            rows_out.iter().map(|r| r.lead).collect::<Vec<_>>(),
        ),
        Column::new(
            "model".into(),
            rows_out.iter().map(|r| r.model.clone()).collect::<Vec<_>>(),
        ),
        Column::new(
            "predictor".into(),
            rows_out.iter().map(|r| r.predictor).collect::<Vec<_>>(),
        ),
        Column::new(
            "deals".into(),
            rows_out
                .iter()
                .map(|r| r.scores.deals as u64)
                .collect::<Vec<_>>(),
        ),
        Column::new(
            "happened".into(),
            rows_out
                .iter()
                .map(|r| r.scores.happened as u64)
                .collect::<Vec<_>>(),
        ),
        Column::new("mean_predicted".into(), num(&|s| s.mean_predicted)),
        Column::new("brier".into(), num(&|s| s.brier)),
        Column::new("brier_skill".into(), num(&|s| s.brier_skill)),
        Column::new("brier_skill_own".into(), num(&|s| s.brier_skill_own)),
        Column::new("log_loss".into(), num(&|s| s.log_loss)),
        Column::new("auc".into(), num(&|s| s.auc)),
        Column::new("ece".into(), num(&|s| s.ece)),
    ])
}

/// The deals of one window at one lead, scored by the four predictors.
struct WindowTest {
    /// Name of the model that scored them.
    model: String,
    happened: Vec<bool>,
    /// `(predictor, probabilities)` in [`PREDICTORS`] order.
    predictions: [(&'static str, Vec<f64>); 4],
}

enum Tested {
    /// No window had closed by the cut-off: nothing to learn from.
    Skipped,
    /// No deal of the window was open at the cut-off.
    Empty,
    Deals(Box<WindowTest>),
}

/// Tests window `w` on day `day` (its close minus `lead`): the model trained on what was known
/// that day, and the baselines, on the deals open then.
fn test_window(
    s: &Prepared,
    hist: &History,
    config: &Config,
    namer: &Namer,
    (w, day, lead): (i32, i32, i64),
) -> PolarsResult<Tested> {
    let known = rows_known_by(hist, &s.windows, config.outcomes.grace_days, day)?;
    // A window before any other had closed has nothing to learn from: not tested.
    if known.height() == 0 {
        return Ok(Tested::Skipped);
    }
    let test = hist
        .rows
        .clone()
        .lazy()
        .filter(col("window").eq(lit(w)).and(col("lead").eq(lit(lead))))
        .sort(["player", "to_club"], SortMultipleOptions::default())
        .collect()?;
    if test.height() == 0 {
        return Ok(Tested::Empty);
    }
    let y = bool_or(&test, "label", false)?;
    let model = model_for_day(hist, &s.windows, config, day, Some(lead))?;
    let p_model: Vec<f64> = predict(&model, &test, config.likelihood.band, namer)?
        .iter()
        .map(|p| p.likelihood)
        .collect();
    let train = known.lazy().filter(col("lead").eq(lit(lead))).collect()?;
    let (p_base, p_stage) = baselines(&train, &test)?;
    let p_sources = sources_vote(&test)?;
    Ok(Tested::Deals(Box::new(WindowTest {
        model: model.name(),
        happened: y,
        predictions: [
            ("model", p_model),
            ("base_rate", p_base),
            ("stage", p_stage),
            ("sources", p_sources),
        ],
    })))
}

/// The sources' vote: the mean, on the log-odds scale, of the deal's independent origins'
/// records (each at the strongest stage it reported; a denial's record turned round),
/// around the base rate: `sigmoid(logit(base) + evidence / origins)`.
fn sources_vote(test: &DataFrame) -> PolarsResult<Vec<f64>> {
    let base = f64_or(test, "base_rate", 0.5)?;
    let evidence = f64_or(test, "evidence", 0.0)?;
    let origins = f64_or(test, "origins", 0.0)?;
    Ok((0..test.height())
        .map(|i| {
            let mean = if origins[i] > 0.0 {
                evidence[i] / origins[i]
            } else {
                0.0
            };
            sigmoid(logit(base[i]) + mean)
        })
        .collect())
}

/// Base-rate and stage baselines for `test`, from `train` rows (`label`, `stage_max`);
/// without training rows, the point-in-time `base_rate` of the test rows.
fn baselines(train: &DataFrame, test: &DataFrame) -> PolarsResult<(Vec<f64>, Vec<f64>)> {
    let n = test.height();
    let test_base = f64_or(test, "base_rate", 0.5)?;
    let test_stage = u32_or(test, "stage_max", 0)?;
    if train.height() == 0 {
        return Ok((test_base.clone(), test_base));
    }
    let labels = bool_or(train, "label", false)?;
    let stages = u32_or(train, "stage_max", 0)?;
    let base = labels.iter().filter(|v| **v).count() as f64 / labels.len() as f64;
    let mut by_stage: BTreeMap<u32, (f64, f64)> = BTreeMap::new();
    for (l, s) in labels.iter().zip(&stages) {
        let e = by_stage.entry(*s).or_default();
        e.0 += f64::from(u8::from(*l));
        e.1 += 1.0;
    }
    let stage_p: Vec<f64> = test_stage
        .iter()
        .map(|s| {
            let (k, m) = by_stage.get(s).copied().unwrap_or((0.0, 0.0));
            (k + 2.0 * base) / (m + 2.0)
        })
        .collect();
    Ok((vec![base; n], stage_p))
}

fn fmt(v: f64) -> String {
    if v.is_finite() {
        format!("{v:.3}")
    } else {
        "–".into()
    }
}

/// `calibration.csv` (per predictor, the pooled deals binned by their probability) and the
/// reliability diagram.
fn calibration_outputs(
    pooled: &BTreeMap<&'static str, (Vec<f64>, Vec<bool>)>,
    bins: usize,
    leads: &[i64],
) -> PolarsResult<(DataFrame, String)> {
    let lead = leads
        .iter()
        .map(|l| l.to_string())
        .collect::<Vec<_>>()
        .join(", ");
    let mut tables = BTreeMap::new();
    for predictor in PREDICTORS {
        if let Some((p, y)) = pooled.get(predictor) {
            tables.insert(
                predictor,
                (reliability_table(p, y, bins), scores(p, p, y, bins)),
            );
        }
    }
    Ok((calibration_table(&tables)?, calibration_svg(&tables, &lead)))
}

/// Per predictor, its reliability bins and its scores.
type Binned = BTreeMap<&'static str, (Vec<Bin>, Scores)>;

/// `calibration.csv`: predictor, bin, lower, upper, count, mean predicted, observed rate.
fn calibration_table(tables: &Binned) -> PolarsResult<DataFrame> {
    let rows: Vec<(&'static str, usize, &Bin)> = PREDICTORS
        .iter()
        .filter_map(|p| tables.get(p).map(|(t, _)| (*p, t)))
        .flat_map(|(p, t)| t.iter().enumerate().map(move |(i, b)| (p, i, b)))
        .collect();
    let finite = |v: f64| v.is_finite().then_some(v);
    DataFrame::new_infer_height(vec![
        Column::new(
            "predictor".into(),
            rows.iter().map(|r| r.0).collect::<Vec<_>>(),
        ),
        Column::new(
            "bin".into(),
            rows.iter().map(|r| r.1 as u32).collect::<Vec<_>>(),
        ),
        Column::new(
            "lower".into(),
            rows.iter().map(|r| r.2.lower).collect::<Vec<_>>(),
        ),
        Column::new(
            "upper".into(),
            rows.iter().map(|r| r.2.upper).collect::<Vec<_>>(),
        ),
        Column::new(
            "count".into(),
            rows.iter().map(|r| r.2.count as u64).collect::<Vec<_>>(),
        ),
        Column::new(
            "mean_predicted".into(),
            rows.iter()
                .map(|r| finite(r.2.mean_predicted))
                .collect::<Vec<_>>(),
        ),
        Column::new(
            "observed_rate".into(),
            rows.iter()
                .map(|r| finite(r.2.observed_rate))
                .collect::<Vec<_>>(),
        ),
    ])
}

/// Size and margin of the reliability diagram, and its scales.
const SVG_SIZE: (f64, f64, f64) = (560.0, 560.0, 60.0);

fn svg_x(v: f64) -> f64 {
    let (w, _, m) = SVG_SIZE;
    m + v * (w - 2.0 * m)
}

fn svg_y(v: f64) -> f64 {
    let (w, h, m) = SVG_SIZE;
    h - m - v * (w - 2.0 * m)
}

/// The reliability diagram: predicted (x) against observed (y); point area ~ count.
fn calibration_svg(tables: &Binned, lead: &str) -> String {
    let mut svg = svg_axes(lead);
    calibration_series(&mut svg, tables);
    let _ = writeln!(svg, "</svg>");
    svg
}

/// The diagram's frame: title, grid, diagonal and axis labels.
fn svg_axes(lead: &str) -> String {
    let (w, h, _) = SVG_SIZE;
    let (x, yv) = (svg_x, svg_y);
    let mut svg = String::new();
    let _ = writeln!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{}" viewBox="0 0 {w} {}" font-family="sans-serif" font-size="12">"#,
        h + 40.0,
        h + 40.0
    );
    let _ = writeln!(svg, r#"<rect width="100%" height="100%" fill="white"/>"#);
    let _ = writeln!(
        svg,
        r#"<text x="{}" y="24" text-anchor="middle" font-size="15">Reliability of deal likelihoods ({lead} days before close)</text>"#,
        w / 2.0
    );
    for i in 0..=10 {
        let v = i as f64 / 10.0;
        let _ = writeln!(
            svg,
            r##"<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="#eee"/>"##,
            x(v),
            yv(0.0),
            x(v),
            yv(1.0)
        );
        let _ = writeln!(
            svg,
            r##"<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="#eee"/>"##,
            x(0.0),
            yv(v),
            x(1.0),
            yv(v)
        );
        let _ = writeln!(
            svg,
            r#"<text x="{}" y="{}" text-anchor="middle">{v:.1}</text>"#,
            x(v),
            yv(0.0) + 16.0
        );
        let _ = writeln!(
            svg,
            r#"<text x="{}" y="{}" text-anchor="end">{v:.1}</text>"#,
            x(0.0) - 6.0,
            yv(v) + 4.0
        );
    }
    let _ = writeln!(
        svg,
        r##"<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="#999" stroke-dasharray="4 4"/>"##,
        x(0.0),
        yv(0.0),
        x(1.0),
        yv(1.0)
    );
    let _ = writeln!(
        svg,
        r#"<text x="{}" y="{}" text-anchor="middle">predicted likelihood</text>"#,
        w / 2.0,
        h - 18.0
    );
    let _ = writeln!(
        svg,
        r#"<text x="16" y="{}" text-anchor="middle" transform="rotate(-90 16 {})">observed share that happened</text>"#,
        h / 2.0,
        h / 2.0
    );
    svg
}

/// Each predictor's bins as dots (and a line), with its scores in the legend.
fn calibration_series(svg: &mut String, tables: &Binned) {
    let m = SVG_SIZE.2;
    let (x, yv) = (svg_x, svg_y);
    let colours = [
        ("model", "#d62728"),
        ("base_rate", "#7f7f7f"),
        ("stage", "#1f77b4"),
        ("sources", "#2ca02c"),
    ];
    let max_count = tables
        .values()
        .flat_map(|(t, _)| t.iter().map(|b| b.count))
        .max()
        .unwrap_or(1)
        .max(1) as f64;
    for (k, (predictor, colour)) in colours.iter().enumerate() {
        let Some((t, sc)) = tables.get(predictor) else {
            continue;
        };
        let pts: Vec<(f64, f64, usize)> = t
            .iter()
            .filter(|b| b.count > 0)
            .map(|b| (b.mean_predicted, b.observed_rate, b.count))
            .collect();
        let path: Vec<String> = pts
            .iter()
            .map(|(p, o, _)| format!("{:.1},{:.1}", x(*p), yv(*o)))
            .collect();
        if path.len() > 1 {
            let _ = writeln!(
                svg,
                r#"<polyline points="{}" fill="none" stroke="{colour}" stroke-width="{}"/>"#,
                path.join(" "),
                if *predictor == "model" { 2.5 } else { 1.2 }
            );
        }
        for (p, o, n) in &pts {
            let r = 3.0 + 9.0 * (*n as f64 / max_count).sqrt();
            let _ = writeln!(
                svg,
                r#"<circle cx="{:.1}" cy="{:.1}" r="{r:.1}" fill="{colour}" fill-opacity="0.35" stroke="{colour}"><title>{predictor}: predicted {p:.3}, observed {o:.3}, {n} deals</title></circle>"#,
                x(*p),
                yv(*o)
            );
            if *predictor == "model" {
                let _ = writeln!(
                    svg,
                    r#"<text x="{:.1}" y="{:.1}" font-size="10" fill="{colour}">{n}</text>"#,
                    x(*p) + r + 2.0,
                    yv(*o) - 2.0
                );
            }
        }
        let ly = m + 14.0 + 18.0 * k as f64;
        let _ = writeln!(
            svg,
            r#"<rect x="{}" y="{}" width="12" height="12" fill="{colour}"/>"#,
            m + 8.0,
            ly - 10.0
        );
        let _ = writeln!(
            svg,
            r#"<text x="{}" y="{ly}">{predictor}: Brier {}, ECE {}, AUC {} ({} deals)</text>"#,
            m + 26.0,
            fmt(sc.brier),
            fmt(sc.ece),
            fmt(sc.auc),
            sc.deals
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn baselines_from_training_rows() {
        let train = df!("label" => [true, false, false, false, true, true], "stage_max" => [6u32, 2, 2, 2, 6, 2]).expect("df");
        let test = df!("base_rate" => [0.1, 0.1], "stage_max" => [6u32, 4]).expect("df");
        let (base, stage) = baselines(&train, &test).expect("baselines");
        assert_eq!(base, vec![0.5, 0.5]);
        // done: (2 + 2*0.5) / (2 + 2) = 0.75; advanced unseen: (0 + 1) / 2 = 0.5.
        assert_eq!(stage, vec![0.75, 0.5]);
        let empty =
            df!("label" => Vec::<bool>::new(), "stage_max" => Vec::<u32>::new()).expect("df");
        assert_eq!(baselines(&empty, &test).expect("b").0, vec![0.1, 0.1]);
    }
}
