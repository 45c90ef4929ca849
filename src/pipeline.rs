//! The run, stage by stage: [`prepare`] (ingest → normalise → wording stages → stories and
//! deals → outcomes), then [`score`] (reliabilities → training history → models → open deals
//! → report tables, with the stories report made beside the last three; [`score_into`] writes
//! it there too, and the other reports beside it) or [`backtest`]. Each stage is a function of
//! typed tables; this module only calls them in order and times them.
//!
//! The stage functions are public here too, so that `benches/` can time each one.

use std::collections::BTreeMap;
use std::path::PathBuf;

use chrono::NaiveDate;
use polars::prelude::*;

use crate::column_values::distinct_i32;
use crate::error::{Error, Result};
use crate::progress::Progress;
use crate::report::summary::counts;
use crate::report::tables::{
    build_reports, carried_deal_extras, open_deal_sources, stories_report, ReportTables, Scoring,
    StoriesInputs,
};
use crate::score::likelihood::score_open_deals;
use crate::score::model::{Model, Namer};
use crate::score::reliability::reliabilities;
use crate::settings::Settings;

// What the run takes and returns, and each stage's entry point, for benches and for library
// users who run part of the batch.
pub use crate::backtest::{BacktestOptions, BacktestRun, Scores};
pub use crate::ingest::{ingest, AliasTable, FileStats, IngestOptions, InputPaths, Inputs};
pub use crate::normalise::{key, Aliases, NameKind};
pub use crate::pool::on_polars_pool;
pub use crate::prepared::{Display, Prepared};
pub use crate::report::{Format, OutputSet, ScoreRun, StoriesReport, Summary};
pub use crate::resolve::counted_moves;
pub use crate::score::likelihood::{
    history, history_for_models, model_for_day, open_leads, History, PreparedTables,
};
pub use crate::score::reliability::{reliability, story_hit, Reliability};
pub use crate::stories::{prepare_claims, stories_and_deals};
pub use crate::windows::{date_from_days, days_since_epoch, Window, WindowCalendar};

/// What to score.
#[derive(Debug, Clone)]
pub struct ScoreOptions {
    pub inputs: InputPaths,
    pub as_of: NaiveDate,
    pub strict: bool,
}

impl ScoreOptions {
    /// Options from paths and an as-of date (`YYYY-MM-DD`).
    ///
    /// # Errors
    /// [`Error::Usage`] when the date does not parse.
    pub fn new(
        claims: &str,
        transfers: &str,
        aliases: Option<&str>,
        as_of: &str,
    ) -> Result<ScoreOptions> {
        let as_of = NaiveDate::parse_from_str(as_of, "%Y-%m-%d")
            .map_err(|_| Error::Usage(format!("as-of date `{as_of}` is not YYYY-MM-DD")))?;
        Ok(ScoreOptions {
            inputs: InputPaths {
                claims: claims.into(),
                transfers: transfers.into(),
                aliases: aliases.map(|a| AliasTable::File(PathBuf::from(a))),
            },
            as_of,
            strict: false,
        })
    }
}

/// Ingest, normalise, wording stages, stories, deals and outcomes: the tables scoring and the
/// backtest start from.
///
/// # Errors
/// [`Error::Input`] for unreadable inputs (or the first bad row under `strict`).
pub fn prepare(opts: &ScoreOptions, settings: &Settings, progress: &Progress) -> Result<Prepared> {
    let config = settings.config();
    let calendar = &settings.calendar;
    let as_of = days_since_epoch(opts.as_of);
    let Inputs {
        claims,
        transfers,
        names,
        rejects,
        files,
        aliases,
        claim_extras,
    } = progress.stage("ingest", || {
        ingest(
            &opts.inputs,
            settings,
            &IngestOptions {
                strict: opts.strict,
                as_of: opts.as_of,
            },
            progress,
        )
    })?;
    let claims = progress.stage("stages", || prepare_claims(claims, config))?;
    let mut ordinals = distinct_i32(&claims, "window")?;
    ordinals.extend(distinct_i32(&transfers, "window")?);
    let windows = calendar.table(&ordinals)?;
    let claims_stage_inferred = claims.column("stage_inferred")?.bool()?.sum().unwrap_or(0) as u64;
    let claims_window_inferred =
        claims.column("window_inferred")?.bool()?.sum().unwrap_or(0) as u64;
    // Columns no later stage reads, dropped before the largest tables are built (at ten
    // million claims, 120 MB), in place: a shadowed copy would keep them alive to the end of
    // `prepare`.
    let mut claims = claims;
    for name in ["line", "fee_eur", "stage_inferred", "window_inferred"] {
        claims.drop_in_place(name)?;
    }
    // One chunk per column (each reading thread gave one): the later stages gather and join
    // whole columns, and would otherwise each make their own copy (at ten million claims, a
    // peak 0.3 GiB higher in scoring the open deals). A column per thread at a time, each
    // freed as its copy is made: at ten million claims 0.53 s on one thread outside any stage.
    claims.rechunk_mut_par();
    let moves = counted_moves(&transfers, &config.outcomes);
    let resolved = progress.stage("stories and deals", || {
        stories_and_deals(&claims, moves, &windows, config, as_of)
    })?;
    // The packed deal key has grouped the claims; later stages join on its three parts.
    claims.drop_in_place("deal")?;
    Ok(Prepared {
        config: config.clone(),
        as_of,
        inputs_files: files,
        rejects,
        aliases,
        display: std::sync::Arc::new(Display {
            players: names.players.display_names(),
            clubs: names.clubs.display_names(),
            sources: names.sources.display_names(),
            authors: names.authors.display_names(),
        }),
        names,
        claims_stage_inferred,
        claims_window_inferred,
        claims,
        transfers,
        windows,
        stories: resolved.stories,
        author_stories: resolved.author_stories,
        deals: resolved.deals,
        claim_extras,
    })
}

/// Runs the whole batch and returns the reports (not yet written).
///
/// # Errors
/// [`Error::Input`] for unreadable inputs, [`Error::Usage`] for unusable options.
pub fn score(opts: &ScoreOptions, settings: &Settings, progress: &Progress) -> Result<ScoreRun> {
    score_with(opts, settings, progress, Ok, |_| Ok(()))
}

/// Runs the whole batch and writes its reports into `set` (begun before the run, so that a
/// bad `--out` fails at once), then commits it. The stories report, by far the largest, is made
/// and written on a thread of its own once the training history is built, beside the stages
/// after it (which leave part of the machine idle while they wait on each other); the other
/// reports are written as soon as scoring is done, while the stories may still be being
/// written, and the set is committed once both are. Returns the run and the directory written.
///
/// # Errors
/// As [`score`], and [`Error::Output`] when a report cannot be written.
pub fn score_into(
    opts: &ScoreOptions,
    settings: &Settings,
    progress: &Progress,
    set: OutputSet,
    format: Format,
) -> Result<(ScoreRun, PathBuf)> {
    let run = score_with(
        opts,
        settings,
        progress,
        |stories| {
            progress.beside("write stories", || {
                crate::report::write_stories(&set, &stories, format)
            })?;
            Ok(stories)
        },
        |tables| progress.stage("write reports", || tables.write_into(&set, format)),
    )?;
    let out = set.commit()?;
    Ok((run, out))
}

/// The batch, with `stories_made` called on the stories report (on a thread of its own) as
/// soon as it is made, and `others_made` on the other reports (on this thread) as soon as they
/// are, before the stories report is waited for.
fn score_with(
    opts: &ScoreOptions,
    settings: &Settings,
    progress: &Progress,
    stories_made: impl FnOnce(StoriesReport) -> Result<StoriesReport> + Send,
    others_made: impl FnOnce(&mut ReportTables) -> Result<()>,
) -> Result<ScoreRun> {
    let config = settings.config();
    let mut s = prepare(opts, settings, progress)?;
    let reliabilities = progress.stage("reliability", || {
        reliabilities(
            &s.stories,
            &s.author_stories,
            &s.deals,
            &config.reliability,
            s.as_of,
        )
    })?;
    // Author stories have given their table; at ten million claims they are worth freeing.
    s.author_stories = DataFrame::empty();
    let hist = progress.stage("training history", || -> PolarsResult<_> {
        let fitted = open_leads(&s.deals, &s.windows, s.as_of)?;
        history_for_models(&s.tables(), config, &fitted, s.as_of)
    })?;
    // The stories have served every scoring stage: the stories report takes them (and their
    // memory, as it goes), and is made beside the stages left, which leave part of the machine
    // idle (one model fit is single-threaded; the reports wait on each other). Started any
    // earlier, it slows the training history as much as it gains, and adds its sorted copy of
    // the stories to the history's memory.
    let story_counts = counts(&s.stories)?;
    let stories_inputs = StoriesInputs::of(&s)?;
    s.stories = DataFrame::empty();
    std::thread::scope(|scope| {
        let stories = scope.spawn(|| {
            let report = progress.beside("stories report", || stories_report(stories_inputs))?;
            stories_made(report)
        });
        let scoring = Scored {
            reliabilities,
            hist,
            story_counts,
        };
        let mut tables = score_rest(&mut s, config, progress, scoring)?;
        others_made(&mut tables)?;
        let stories = stories
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))?;
        Ok(tables.with_stories(stories))
    })
}

/// What the first scoring stages leave for the rest.
struct Scored {
    reliabilities: crate::score::reliability::Reliabilities,
    hist: History,
    story_counts: crate::report::summary::OutcomeCounts,
}

/// The models, the open deals and the report tables but `stories`; the claims are freed once
/// used.
fn score_rest(
    s: &mut Prepared,
    config: &crate::settings::Config,
    progress: &Progress,
    scored: Scored,
) -> Result<ReportTables> {
    let Scored {
        reliabilities,
        hist,
        story_counts,
    } = scored;
    let display = s.display.clone();
    let namer = Namer {
        sources: &display.sources,
        clubs: &display.clubs,
    };
    // One model per distance from the close among the open deals.
    let models = progress.stage("model fit", || -> PolarsResult<BTreeMap<i64, Model>> {
        open_leads(&s.deals, &s.windows, s.as_of)?
            .into_iter()
            .map(|lead| {
                Ok((
                    lead,
                    model_for_day(&hist, &s.windows, config, s.as_of, Some(lead))?,
                ))
            })
            .collect()
    })?;
    let open = progress.stage("open deals", || {
        score_open_deals(
            &s.claims,
            &s.deals,
            &s.windows,
            &hist.lookups,
            &models,
            config,
            s.as_of,
            &namer,
        )
    })?;
    let source_lists = open_deal_sources(&s.claims, &open.rows, &display.sources)?;
    let carried_deals = carried_deal_extras(s, &open.rows)?;
    // The claims have served every stage; the reports need only what was derived from them.
    s.claims = DataFrame::empty();

    let scoring = Scoring {
        reliabilities,
        sample_fraction: hist.sample_fraction,
        models,
        open,
        source_lists,
        carried_deals,
        story_counts,
    };
    progress
        .stage("report tables", || build_reports(s, scoring))
        .map_err(Error::from)
}

/// Replays the likelihood model on past windows of the prepared inputs.
///
/// # Errors
/// [`Error::Input`] for unreadable inputs, [`Error::Usage`] for a negative lead.
pub fn backtest(
    opts: &ScoreOptions,
    settings: &Settings,
    bt: &BacktestOptions,
    progress: &Progress,
) -> Result<BacktestRun> {
    let prepared = prepare(opts, settings, progress)?;
    crate::backtest::backtest(&prepared, settings.config(), bt, progress)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tiny() -> ScoreOptions {
        let root = env!("CARGO_MANIFEST_DIR");
        ScoreOptions::new(
            &format!("{root}/tests/fixtures/tiny/rumours.csv"),
            &format!("{root}/tests/fixtures/tiny/transfers.csv"),
            None,
            "2026-11-24",
        )
        .expect("options")
    }

    #[test]
    fn scoring_into_a_set_writes_the_bytes_of_scoring_then_writing() {
        let settings = Settings::default();
        let progress = Progress::hidden();
        let dir = tempfile::tempdir().expect("tempdir");
        let (first, second) = (dir.path().join("into"), dir.path().join("then"));
        let set = OutputSet::begin(&first).expect("begin");
        let timed = Progress::hidden();
        let (run, out) =
            score_into(&tiny(), &settings, &timed, set, Format::Csv).expect("score into");
        assert_eq!(out, first);
        let mut then = score(&tiny(), &settings, &progress).expect("score");
        then.write(&second, Format::Csv).expect("write");
        assert_eq!(run.stories.height(), then.stories.height());
        let names = |d: &std::path::Path| -> Vec<String> {
            let mut n: Vec<String> = std::fs::read_dir(d)
                .expect("read dir")
                .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
                .collect();
            n.sort();
            n
        };
        assert_eq!(names(&first), names(&second));
        assert!(names(&first).contains(&"stories.csv".to_string()));
        for name in names(&first) {
            let a = std::fs::read(first.join(&name)).expect("first");
            let b = std::fs::read(second.join(&name)).expect("second");
            assert!(a == b, "{name} differs");
        }
        // The stories report and its writing were timed, beside the other stages.
        let beside: Vec<String> = timed.beside_timings().into_iter().map(|(s, _)| s).collect();
        assert_eq!(beside, ["stories report", "write stories"]);
        let stages: Vec<String> = timed.timings().into_iter().map(|(s, _)| s).collect();
        assert!(stages.ends_with(&["report tables".to_string(), "write reports".to_string()]));
    }

    #[test]
    fn options_refuse_a_date_that_is_not_iso() {
        let err = ScoreOptions::new("c.csv", "t.csv", None, "24/11/2026").err();
        assert!(matches!(err, Some(Error::Usage(m)) if m.contains("24/11/2026")));
    }

    #[test]
    fn prepare_accounts_for_every_row_and_score_rates_every_open_deal() {
        let settings = Settings::default();
        let progress = Progress::hidden();
        let prepared = prepare(&tiny(), &settings, &progress).expect("prepare");
        let claims = &prepared.inputs_files[0];
        assert_eq!(claims.rows_read, claims.rows_used + claims.rows_rejected);
        assert_eq!(prepared.claims.height() as u64, claims.rows_used);
        assert!(prepared.stories.height() > 0 && prepared.deals.height() > 0);
        let run = score(&tiny(), &settings, &progress).expect("score");
        assert!(run.summary.rows_add_up);
        assert_eq!(run.deals.height() as u64, run.summary.deals.open);
        assert_eq!(run.stories.height() as u64, run.summary.stories.total);
        // The stages ran in order, each timed once.
        let stages: Vec<String> = progress
            .timings()
            .iter()
            .map(|(s, _)| s.to_string())
            .collect();
        assert!(stages.starts_with(&["ingest".to_string(), "stages".to_string()]));
        assert!(stages.contains(&"report tables".to_string()));
    }
}
