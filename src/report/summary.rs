//! `summary.json`: what was read, rejected, resolved and fitted, and the warnings a reader of
//! the reports should see. Everything but timings, so it is byte-identical across runs.

use std::collections::BTreeMap;

use polars::prelude::*;
use serde::Serialize;

use crate::ingest::{FileStats, Reject};
use crate::prepared::Prepared;
use crate::schema::outcome;
use crate::score::model::{Model, Prediction, TrainingSummary};
use crate::score::reliability::{Reliabilities, Reliability};

/// Counts by outcome.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct OutcomeCounts {
    pub total: u64,
    pub confirmed: u64,
    pub refuted: u64,
    pub open: u64,
    pub late: u64,
}

/// A fitted prior, for the summary.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct PriorSummary {
    pub group: String,
    pub alpha: f64,
    pub beta: f64,
    pub mean: f64,
    pub method: String,
}

/// A likelihood model, for the summary: one per distance from the close of the open deals.
#[derive(Debug, Clone, Serialize)]
pub struct ModelSummary {
    /// The open deals it scores are this many days before their window closes.
    pub lead_days: i64,
    pub model: String,
    pub fallback_reason: Option<String>,
    pub training: TrainingSummary,
    pub training_sample_fraction: f64,
    /// Weight of training rows seen at other distances from the close (0: this distance
    /// alone; 1: every distance alike, the distance an input), chosen out of fold.
    pub pool_weight: Option<f64>,
    pub coefficients: BTreeMap<String, f64>,
}

/// `summary.json`: everything about the run except timings (so it is byte-identical across
/// runs on the same inputs).
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub rumour_version: String,
    pub as_of: String,
    pub files: Vec<FileStats>,
    /// True when every file's `rows_read = rows_used + rows_rejected`.
    pub rows_add_up: bool,
    pub rejects_by_reason: BTreeMap<String, u64>,
    pub claims_stage_inferred: u64,
    pub claims_window_inferred: u64,
    pub aliases: usize,
    pub distinct_players: usize,
    pub distinct_clubs: usize,
    pub distinct_sources: usize,
    pub distinct_authors: usize,
    pub unmatched_players: u64,
    pub unmatched_clubs: u64,
    pub stories: OutcomeCounts,
    pub deals: OutcomeCounts,
    pub priors: BTreeMap<String, Vec<PriorSummary>>,
    pub likelihood: Vec<ModelSummary>,
    /// The day the latest transfer became known (`None`: no transfers).
    pub transfers_known_until: Option<String>,
    /// Things about the inputs a reader of the reports should know.
    pub warnings: Vec<String>,
}

/// The last day the transfers file knows of, and a warning when deals of windows that closed
/// after it are judged: with no moves to see, they all come out refuted — usually a transfers
/// file older than the claims, or a default as-of date (today) past the data.
pub fn coverage_warnings(s: &Prepared) -> PolarsResult<(Option<String>, Vec<String>)> {
    let last = s.transfers.column("known_on")?.i32()?.max();
    let closes = s.deals.column("window_close")?.i32()?;
    let closed = |c: i32| c <= s.as_of;
    let (beyond, label) = match last {
        Some(l) => (
            closes
                .iter()
                .flatten()
                .filter(|&c| c > l && closed(c))
                .count(),
            Some(crate::windows::date_from_days(l).to_string()),
        ),
        None => (closes.iter().flatten().filter(|&c| closed(c)).count(), None),
    };
    let mut warnings = Vec::new();
    if beyond > 0 {
        warnings.push(match &label {
            Some(l) => format!(
                "{beyond} deal(s) are about windows that closed after the last transfer the transfers file knows of ({l}): with no moves to see they are judged refuted; bring the transfers up to date, or pass --as-of {l}"
            ),
            None => format!(
                "the transfers file has no moves: the {beyond} deal(s) of closed windows are all judged refuted"
            ),
        });
    }
    Ok((label, warnings))
}

/// One warning per kind of note the open deals' predictions carry (how many deals, and the
/// note): the model met inputs it was not trained on, and said which rule it applied.
pub fn model_warnings(predictions: &[Prediction]) -> Vec<String> {
    let mut by_note: BTreeMap<&str, usize> = BTreeMap::new();
    for p in predictions {
        for note in &p.notes {
            // The kind is the part before the list of inputs.
            let kind = note.split(':').next().unwrap_or(note);
            *by_note.entry(kind).or_insert(0) += 1;
        }
    }
    by_note
        .into_iter()
        .map(|(kind, count)| {
            format!(
                "{count} of {} open deal(s): {kind} (deals.csv model_notes lists the inputs)",
                predictions.len()
            )
        })
        .collect()
}

pub fn counts(df: &DataFrame) -> PolarsResult<OutcomeCounts> {
    let o = df.column("outcome")?.u32()?;
    let mut c = OutcomeCounts {
        total: df.height() as u64,
        ..OutcomeCounts::default()
    };
    for v in o.iter().flatten() {
        match v {
            outcome::CONFIRMED => c.confirmed += 1,
            outcome::REFUTED => c.refuted += 1,
            outcome::LATE => c.late += 1,
            _ => c.open += 1,
        }
    }
    Ok(c)
}

pub fn prior_summaries(r: &Reliability) -> Vec<PriorSummary> {
    r.priors
        .iter()
        .map(|(g, p)| PriorSummary {
            group: g.clone(),
            alpha: p.alpha,
            beta: p.beta,
            mean: p.mean(),
            method: p.describe(),
        })
        .collect()
}

/// A reject reason without its specifics (for counting).
pub fn reason_class(reason: &str) -> String {
    let cut = reason.find([';', '(', ':']).unwrap_or(reason.len());
    let mut class = reason[..cut].trim().to_string();
    if class.starts_with("published after the as-of date") {
        class = "published after the as-of date".into();
    } else if class.starts_with("not known by the as-of date") {
        class = "not known by the as-of date".into();
    } else if class.starts_with("required field") {
        class = "required field is empty".into();
    } else if class.starts_with("the row has") {
        class = "wrong number of fields".into();
    }
    class
}

/// The priors of every reliability table, by table.
pub fn priors(r: &Reliabilities) -> BTreeMap<String, Vec<PriorSummary>> {
    [
        ("sources", &r.sources),
        ("authors", &r.authors),
        ("source_stages", &r.source_stages),
        ("clubs_buyer", &r.buyers),
        ("clubs_seller", &r.sellers),
    ]
    .into_iter()
    .map(|(name, table)| (name.to_string(), prior_summaries(table)))
    .collect()
}

/// The likelihood models, one per distance from the close.
pub fn model_summaries(models: &BTreeMap<i64, Model>, sample_fraction: f64) -> Vec<ModelSummary> {
    models
        .iter()
        .map(|(lead, model)| ModelSummary {
            lead_days: *lead,
            model: model.name(),
            fallback_reason: model.fallback_reason().map(str::to_string),
            training: model.training().clone(),
            training_sample_fraction: sample_fraction,
            pool_weight: model.pool_weight(),
            coefficients: model.coefficients().into_iter().collect(),
        })
        .collect()
}

/// Rejects counted by reason class.
pub fn rejects_by_reason(rejects: &[Reject]) -> BTreeMap<String, u64> {
    let mut by_reason = BTreeMap::new();
    for r in rejects {
        *by_reason.entry(reason_class(&r.reason)).or_insert(0u64) += 1;
    }
    by_reason
}

/// Unmatched names, counted (players, clubs).
pub struct Unmatched {
    pub players: u64,
    pub clubs: u64,
}

/// The summary of a scored run; `stories` are the stories' outcome counts ([`counts`]), taken
/// before the stories report takes the table apart.
///
/// # Errors
/// Only from polars.
pub fn summary(
    s: &Prepared,
    reliabilities: &Reliabilities,
    models: &BTreeMap<i64, Model>,
    sample_fraction: f64,
    predictions: &[Prediction],
    unmatched: Unmatched,
    stories: OutcomeCounts,
) -> PolarsResult<Summary> {
    let (transfers_known_until, mut warnings) = coverage_warnings(s)?;
    warnings.extend(model_warnings(predictions));
    Ok(Summary {
        rumour_version: env!("CARGO_PKG_VERSION").to_string(),
        as_of: crate::windows::date_from_days(s.as_of).to_string(),
        rows_add_up: s
            .inputs_files
            .iter()
            .all(|f| f.rows_read == f.rows_used + f.rows_rejected),
        files: s.inputs_files.clone(),
        rejects_by_reason: rejects_by_reason(&s.rejects),
        claims_stage_inferred: s.claims_stage_inferred,
        claims_window_inferred: s.claims_window_inferred,
        aliases: s.aliases,
        distinct_players: s.names.players.len(),
        distinct_clubs: s.names.clubs.len(),
        distinct_sources: s.names.sources.len(),
        distinct_authors: s.names.authors.len(),
        unmatched_players: unmatched.players,
        unmatched_clubs: unmatched.clubs,
        stories,
        deals: counts(&s.deals)?,
        priors: priors(reliabilities),
        likelihood: model_summaries(models, sample_fraction),
        transfers_known_until,
        warnings,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prediction(notes: &[&str]) -> Prediction {
        Prediction {
            model: "logistic".into(),
            likelihood: 0.5,
            low: 0.4,
            high: 0.6,
            reasons: Vec::new(),
            notes: notes.iter().map(|n| n.to_string()).collect(),
        }
    }

    #[test]
    fn reject_reasons_are_counted_by_class_without_their_specifics() {
        assert_eq!(
            reason_class("published after the as-of date (2026-01-02)"),
            "published after the as-of date"
        );
        assert_eq!(
            reason_class("required field `player` is empty"),
            "required field is empty"
        );
        assert_eq!(
            reason_class("the row has 3 fields; the header has 11"),
            "wrong number of fields"
        );
        assert_eq!(reason_class("not a date: 2026-13-01"), "not a date");
        let reject = |reason: &str| Reject {
            file: "c.csv".into(),
            line: 2,
            column: "published".into(),
            value: "x".into(),
            reason: reason.into(),
        };
        let by = rejects_by_reason(&[
            reject("not a date: x"),
            reject("not a date: y"),
            reject("the row has 2 fields"),
        ]);
        assert_eq!(by.get("not a date"), Some(&2));
        assert_eq!(by.get("wrong number of fields"), Some(&1));
    }

    #[test]
    fn outcomes_are_counted_by_code() {
        let df = df!("outcome" => [
            outcome::CONFIRMED,
            outcome::REFUTED,
            outcome::REFUTED,
            outcome::OPEN,
            outcome::LATE
        ])
        .expect("frame");
        let c = counts(&df).expect("counts");
        assert_eq!(
            c,
            OutcomeCounts {
                total: 5,
                confirmed: 1,
                refuted: 2,
                open: 1,
                late: 1
            }
        );
    }

    #[test]
    fn model_warnings_count_deals_per_kind_of_note() {
        let p = [
            prediction(&["input beyond the training range: x_age"]),
            prediction(&["input beyond the training range: x_value_log"]),
            prediction(&[]),
        ];
        assert_eq!(
            model_warnings(&p),
            vec!["2 of 3 open deal(s): input beyond the training range (deals.csv model_notes lists the inputs)".to_string()]
        );
        assert!(model_warnings(&p[2..]).is_empty());
    }
}
