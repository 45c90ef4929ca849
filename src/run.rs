//! The scoring batch, stage by stage, and the report tables it produces.

use std::collections::BTreeMap;
use std::path::PathBuf;

use chrono::NaiveDate;
use polars::prelude::*;
use serde::Serialize;

use crate::config::Config;
use crate::error::{Error, Result};
use crate::ingest::{
    ingest, AliasTable, FileStats, IngestOptions, InputPaths, Inputs, Names, Reject,
};
use crate::progress::Progress;
use crate::report::{as_date, with_names};
use crate::resolve::{counted_moves, outcome};
use crate::score::likelihood::{
    history, model_for_day, open_leads, score_open_deals, History, PreparedTables,
};
use crate::score::model::{Model, Namer, Prediction, TrainingSummary};
use crate::score::reliability::{deal_hit, reliability, story_hit, Reliability};
use crate::stage::Stage;
use crate::stories::{prepare_claims, stories_and_deals};
use crate::windows::{days_since_epoch, WindowCalendar};

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

/// Every report of a run, as tables.
pub struct ScoreRun {
    pub sources: DataFrame,
    pub authors: DataFrame,
    pub clubs: DataFrame,
    pub source_stages: DataFrame,
    pub stories: StoriesReport,
    pub deals: DataFrame,
    pub rejects: DataFrame,
    pub unmatched: DataFrame,
    pub summary: Summary,
    /// Mass of the credible intervals (`reliability.interval`), for `report.html`.
    pub interval: f64,
}

/// Display names by id of every kind.
pub struct Display {
    pub players: Vec<String>,
    pub clubs: Vec<String>,
    pub sources: Vec<String>,
    pub authors: Vec<String>,
}

/// Everything computed before reporting; the backtest starts from here too.
pub struct Scored {
    pub config: Config,
    pub as_of: i32,
    pub inputs_files: Vec<FileStats>,
    pub rejects: Vec<Reject>,
    pub aliases: usize,
    pub names: Names,
    /// Display names by id, computed once.
    pub display: std::sync::Arc<Display>,
    pub claims: DataFrame,
    /// Claims whose stage came from their wording, and whose window from their date.
    pub claims_stage_inferred: u64,
    pub claims_window_inferred: u64,
    pub transfers: DataFrame,
    pub windows: DataFrame,
    pub stories: DataFrame,
    pub author_stories: DataFrame,
    pub deals: DataFrame,
    /// Header names of the claims file's columns rumour does not know; carried through to
    /// `stories` and `deals` (see [`crate::ingest::extra_column`]).
    pub claim_extras: Vec<String>,
}

/// Ingest, stages, stories, deals and outcomes.
pub fn prepare(opts: &ScoreOptions, config: &Config, progress: &Progress) -> Result<Scored> {
    config.validate().map_err(Error::Usage)?;
    let calendar = WindowCalendar::from_config(config).map_err(Error::Usage)?;
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
            config,
            &IngestOptions {
                strict: opts.strict,
                as_of: opts.as_of,
            },
            progress,
        )
    })?;
    let claims = progress.stage("stages", || prepare_claims(claims, config))?;
    let mut ordinals: Vec<i32> = claims
        .column("window")?
        .i32()?
        .unique()?
        .iter()
        .flatten()
        .collect();
    ordinals.extend(
        transfers
            .column("window")?
            .i32()?
            .unique()?
            .iter()
            .flatten(),
    );
    let windows = calendar.table(&ordinals)?;
    let moves = counted_moves(&transfers, &config.outcomes);
    let resolved = progress.stage("stories and deals", || {
        stories_and_deals(&claims, moves, &windows, config, as_of)
    })?;
    Ok(Scored {
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
        claims_stage_inferred: claims.column("stage_inferred")?.bool()?.sum().unwrap_or(0) as u64,
        claims_window_inferred: claims.column("window_inferred")?.bool()?.sum().unwrap_or(0) as u64,
        claims,
        transfers,
        windows,
        stories: resolved.stories,
        author_stories: resolved.author_stories,
        deals: resolved.deals,
        claim_extras,
    })
}

/// The claims' extra columns gathered by the id columns `keys`: per group, the distinct
/// non-empty values, sorted and `;`-separated, under their claims-table names.
fn extra_values(claims: LazyFrame, keys: &[&str], extras: usize) -> LazyFrame {
    let keys: Vec<Expr> = keys.iter().map(|k| col(*k)).collect();
    claims.group_by(keys).agg(
        (0..extras)
            .map(|k| {
                let name = crate::ingest::extra_column(k);
                col(name.as_str())
                    .drop_nulls()
                    .unique()
                    .sort(SortOptions::default())
                    .str()
                    .join(";", true)
                    .alias(name.as_str())
            })
            .collect::<Vec<_>>(),
    )
}

/// The last day the transfers file knows of, and a warning when deals of windows that closed
/// after it are judged: with no moves to see, they all come out refuted — usually a transfers
/// file older than the claims, or a default as-of date (today) past the data.
pub fn coverage_warnings(s: &Scored) -> PolarsResult<(Option<String>, Vec<String>)> {
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

/// The sort key of stories, (source, deal): one packed `u64` ([`crate::deal::IdDealKey`]) when
/// it fits, which sorts ten million stories several times faster than two columns, in the same
/// order (the pairs are unique).
fn story_order(stories: &DataFrame) -> PolarsResult<Vec<Expr>> {
    let max_deal = stories.column("deal")?.u64()?.max().unwrap_or(0);
    let max_source = stories.column("source")?.u32()?.max().unwrap_or(0);
    Ok(
        match crate::deal::IdDealKey::for_max_deal(max_deal, max_source) {
            Some(pair) => vec![pair.pack(col("source"), col("deal"))],
            None => vec![col("source"), col("deal")],
        },
    )
}

/// The claims' extra columns gathered per story and per open deal (`None` without extras).
#[derive(Default)]
struct Carried {
    /// `source, player, to_club, window` and the extras.
    stories: Option<DataFrame>,
    /// `player, to_club, window` and the extras.
    deals: Option<DataFrame>,
}

fn carried_extras(s: &Scored, open_rows: &DataFrame) -> PolarsResult<Carried> {
    let extras = s.claim_extras.len();
    if extras == 0 {
        return Ok(Carried::default());
    }
    let deal = [col("player"), col("to_club"), col("window")];
    let open_claims = s.claims.clone().lazy().join(
        open_rows.clone().lazy().select(deal.clone()),
        deal.clone(),
        deal,
        JoinArgs::new(JoinType::Semi),
    );
    Ok(Carried {
        stories: Some(
            extra_values(
                s.claims.clone().lazy(),
                &["source", "player", "to_club", "window"],
                extras,
            )
            .collect()?,
        ),
        deals: Some(extra_values(open_claims, &["player", "to_club", "window"], extras).collect()?),
    })
}

/// Renames the carried extra columns of a report to the file's header names; a name the
/// report already uses (or an empty one) gets a `claims_` prefix (and a number if needed).
fn name_extras(df: &mut DataFrame, extras: &[String]) -> PolarsResult<()> {
    // Compared without case: DuckDB and spreadsheets do not tell `Stage` from `stage`.
    let mut taken: std::collections::BTreeSet<String> = df
        .get_column_names()
        .iter()
        .map(|c| c.to_lowercase())
        .filter(|c| !c.starts_with("extra:"))
        .collect();
    for (k, header) in extras.iter().enumerate() {
        let header = header.trim();
        let mut name = header.to_string();
        if name.is_empty() {
            name = format!("claims_extra_{}", k + 1);
        } else if taken.contains(&name.to_lowercase()) {
            name = format!("claims_{header}");
        }
        let base = name.clone();
        let mut n = 2;
        while taken.contains(&name.to_lowercase()) {
            name = format!("{base}_{n}");
            n += 1;
        }
        df.rename(&crate::ingest::extra_column(k), name.as_str().into())?;
        taken.insert(name.to_lowercase());
    }
    Ok(())
}

/// Runs the whole batch and returns the reports (not yet written).
pub fn score(opts: &ScoreOptions, config: &Config, progress: &Progress) -> Result<ScoreRun> {
    let mut s = prepare(opts, config, progress)?;
    let rc = &config.reliability;
    let stage_label = |v: &AnyValue| match v {
        AnyValue::UInt32(r) => {
            Stage::from_rank(*r).map_or_else(|| r.to_string(), |s| s.name().to_string())
        }
        other => other.to_string(),
    };
    let any_label = |v: &AnyValue| v.to_string();
    let (src, auth, src_stage, buyer, seller) =
        progress.stage("reliability", || -> PolarsResult<_> {
            Ok((
                reliability(
                    s.stories.clone().lazy(),
                    &["source"],
                    None,
                    story_hit(),
                    rc,
                    s.as_of,
                    &any_label,
                )?,
                reliability(
                    s.author_stories.clone().lazy(),
                    &["author"],
                    None,
                    story_hit(),
                    rc,
                    s.as_of,
                    &any_label,
                )?,
                reliability(
                    s.stories.clone().lazy(),
                    &["source", "stage"],
                    Some("stage"),
                    story_hit(),
                    rc,
                    s.as_of,
                    &stage_label,
                )?,
                reliability(
                    s.deals.clone().lazy(),
                    &["to_club"],
                    None,
                    deal_hit(),
                    rc,
                    s.as_of,
                    &any_label,
                )?,
                reliability(
                    s.deals
                        .clone()
                        .lazy()
                        .filter(col("from_club").is_not_null()),
                    &["from_club"],
                    None,
                    deal_hit(),
                    rc,
                    s.as_of,
                    &any_label,
                )?,
            ))
        })?;
    // Author stories have given their table; at ten million claims they are worth freeing.
    s.author_stories = DataFrame::empty();

    let display = s.display.clone();
    let namer = Namer {
        sources: &display.sources,
        clubs: &display.clubs,
    };
    let hist = progress.stage("training history", || -> PolarsResult<_> {
        let mut leads = config.likelihood.training_leads_days.clone();
        leads.extend(open_leads(&s.deals, &s.windows, s.as_of)?);
        history(
            &PreparedTables {
                claims: &s.claims,
                transfers: &s.transfers,
                stories: &s.stories,
                deals: &s.deals,
                windows: &s.windows,
            },
            config,
            &leads,
            s.as_of,
        )
    })?;
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
    let source_lists = open_deal_sources(
        &s.claims,
        &open.rows,
        &s.names.sources.display_frame("id", "name")?,
    )?;
    let carried = carried_extras(&s, &open.rows)?;
    // The claims have served every stage; the reports need only what was derived from them.
    s.claims = DataFrame::empty();

    progress
        .stage("report tables", || {
            build_reports(
                &s,
                src,
                auth,
                src_stage,
                buyer,
                seller,
                &hist,
                &models,
                open.rows,
                source_lists,
                open.predictions,
                carried,
            )
        })
        .map_err(Error::from)
}

/// Text for a column of codes: `text[code - first]` (ids from 0, window ordinals and day
/// numbers from their smallest), built once and gathered for every batch of the report.
struct Labels {
    first: i32,
    text: StringChunked,
}

impl Labels {
    fn new(first: i32, text: impl IntoIterator<Item = String>) -> Labels {
        let text: Vec<String> = text.into_iter().collect();
        Labels {
            first,
            text: StringChunked::from_iter_values(
                PlSmallStr::EMPTY,
                text.iter().map(String::as_str),
            ),
        }
    }

    fn names(names: &[String]) -> Labels {
        Labels::new(0, names.iter().cloned())
    }

    /// `YYYY-MM-DD` of the days from the smallest to the largest in `columns` of `df`.
    fn days(df: &DataFrame, columns: &[&str]) -> PolarsResult<Labels> {
        let (mut first, mut last) = (i32::MAX, i32::MIN);
        for c in columns {
            let days = df.column(c)?.i32()?;
            if let (Some(lo), Some(hi)) = (days.min(), days.max()) {
                first = first.min(lo);
                last = last.max(hi);
            }
        }
        if first > last {
            return Ok(Labels::new(0, []));
        }
        Ok(Labels::new(
            first,
            (first..=last).map(|d| crate::windows::date_from_days(d).to_string()),
        ))
    }

    /// Replaces the code column `column` of `df` by its text (null stays null).
    fn replace(&self, df: &mut DataFrame, column: &str) -> PolarsResult<()> {
        let codes = df.column(column)?;
        let idx = match codes.dtype() {
            DataType::UInt32 if self.first == 0 => codes.u32()?.clone(),
            _ => (codes.i32()?.clone() - self.first)
                .cast(&DataType::UInt32)?
                .u32()?
                .clone(),
        };
        let text = self.text.take(&idx)?;
        df.with_column(text.with_name(column.into()).into_column())?;
        Ok(())
    }
}

/// The stories report, kept at id level (sorted) and rendered with names slice by slice: at
/// ten million stories the rendered table would be the largest thing in memory.
pub struct StoriesReport {
    ids: DataFrame,
    labels: StoryLabels,
}

/// The text of every code a row of the stories report holds.
struct StoryLabels {
    sources: Labels,
    players: Labels,
    clubs: Labels,
    windows: Labels,
    /// Dates as text from a table of the days that occur: the CSV writer formats text several
    /// times faster than dates, and this is the largest report.
    days: Labels,
    stages: Labels,
    outcomes: Labels,
}

impl StoriesReport {
    fn new(ids: DataFrame, display: &Display, windows: &DataFrame) -> PolarsResult<StoriesReport> {
        let ordinals: Vec<i32> = windows.column("window")?.i32()?.iter().flatten().collect();
        let first = ordinals.iter().copied().min().unwrap_or(0);
        let last = ordinals.iter().copied().max().unwrap_or(0);
        let labels = StoryLabels {
            sources: Labels::names(&display.sources),
            players: Labels::names(&display.players),
            clubs: Labels::names(&display.clubs),
            windows: Labels::new(
                first,
                (first..=last).map(|o| crate::windows::Window::from_ordinal(o).to_string()),
            ),
            days: Labels::days(&ids, &["first_report", "last_report", "resolved_on"])?,
            stages: Labels::new(0, Stage::NAMES.map(String::from)),
            outcomes: Labels::new(0, outcome::NAMES.map(String::from)),
        };
        Ok(StoriesReport { ids, labels })
    }

    /// Number of stories.
    pub fn height(&self) -> usize {
        self.ids.height()
    }

    /// Rows `offset..offset + len` as they appear in `stories.csv`.
    pub fn render(&self, offset: usize, len: usize) -> PolarsResult<DataFrame> {
        let mut df = self.ids.slice(offset as i64, len);
        let l = &self.labels;
        l.sources.replace(&mut df, "source")?;
        l.players.replace(&mut df, "player")?;
        l.clubs.replace(&mut df, "to_club")?;
        l.windows.replace(&mut df, "window")?;
        for column in ["first_report", "last_report", "resolved_on"] {
            l.days.replace(&mut df, column)?;
        }
        l.stages.replace(&mut df, "stage")?;
        l.outcomes.replace(&mut df, "outcome")?;
        Ok(df)
    }

    /// The whole report as one table.
    pub fn to_frame(&self) -> PolarsResult<DataFrame> {
        self.render(0, self.height())
    }
}

/// Name tables as frames `id, name`.
struct NameFrames {
    players: DataFrame,
    clubs: DataFrame,
    sources: DataFrame,
    authors: DataFrame,
}

fn name_frames(names: &Names) -> PolarsResult<NameFrames> {
    Ok(NameFrames {
        players: names.players.display_frame("id", "name")?,
        clubs: names.clubs.display_frame("id", "name")?,
        sources: names.sources.display_frame("id", "name")?,
        authors: names.authors.display_frame("id", "name")?,
    })
}

/// Maps a `UInt32` code column to names.
fn code_names(e: Expr, names: &[&str]) -> Expr {
    let mut chain: Option<ChainedThen> = None;
    let mut first: Option<Then> = None;
    for (i, n) in names.iter().enumerate() {
        let cond = e.clone().eq(lit(i as u32));
        match (first.take(), chain.take()) {
            (None, None) => first = Some(when(cond).then(lit(*n))),
            (Some(t), None) => chain = Some(t.when(cond).then(lit(*n))),
            (None, Some(c)) => chain = Some(c.when(cond).then(lit(*n))),
            (Some(_), Some(_)) => unreachable!("one builder at a time"),
        }
    }
    match (first, chain) {
        (_, Some(c)) => c.otherwise(lit(NULL).cast(DataType::String)),
        (Some(t), None) => t.otherwise(lit(NULL).cast(DataType::String)),
        (None, None) => lit(NULL).cast(DataType::String),
    }
}

const RELIABILITY_COLUMNS: [&str; 12] = [
    "stories",
    "resolved",
    "hits",
    "misses",
    "open",
    "late",
    "weighted_resolved",
    "raw_rate",
    "posterior_mean",
    "ci_low",
    "ci_high",
    "insufficient",
];

fn reliability_report(
    r: &Reliability,
    key_cols: Vec<Expr>,
    sort: Vec<&str>,
) -> PolarsResult<DataFrame> {
    let mut select = key_cols;
    select.extend(RELIABILITY_COLUMNS.iter().map(|c| col(*c)));
    r.table
        .clone()
        .lazy()
        .select(select)
        .sort(sort, SortMultipleOptions::default().with_nulls_last(true))
        .collect()
}

fn counts(df: &DataFrame) -> PolarsResult<OutcomeCounts> {
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

fn prior_summaries(r: &Reliability) -> Vec<PriorSummary> {
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

#[allow(clippy::too_many_arguments)]
fn build_reports(
    s: &Scored,
    src: Reliability,
    auth: Reliability,
    src_stage: Reliability,
    buyer: Reliability,
    seller: Reliability,
    hist: &History,
    models: &BTreeMap<i64, Model>,
    open_rows: DataFrame,
    source_lists: DataFrame,
    predictions: Vec<Prediction>,
    carried: Carried,
) -> PolarsResult<ScoreRun> {
    let nf = name_frames(&s.names)?;

    let sources = reliability_report(&src, vec![col("source")], vec!["source"])?;
    let sources = with_names(sources.lazy(), "source", &nf.sources)
        .sort(["source"], SortMultipleOptions::default())
        .collect()?;
    let authors = reliability_report(&auth, vec![col("author")], vec!["author"])?;
    let authors = with_names(authors.lazy(), "author", &nf.authors)
        .sort(["author"], SortMultipleOptions::default())
        .collect()?;
    let source_stages = reliability_report(
        &src_stage,
        vec![col("source"), col("stage")],
        vec!["source", "stage"],
    )?;
    let source_stages = with_names(source_stages.lazy(), "source", &nf.sources)
        .with_column(code_names(col("stage"), &Stage::NAMES).alias("stage_name"))
        .sort_by_exprs(
            [col("source"), col("stage")],
            SortMultipleOptions::default(),
        )
        .with_column(col("stage_name").alias("stage"))
        .drop(cols(["stage_name"]))
        .collect()?;
    let club_table = |r: &Reliability, key: &str, role: &str| -> PolarsResult<LazyFrame> {
        let t = reliability_report(r, vec![col(key).alias("club")], vec!["club"])?;
        Ok(with_names(t.lazy(), "club", &nf.clubs).with_column(lit(role).alias("role")))
    };
    let clubs = concat(
        [
            club_table(&buyer, "to_club", "buyer")?,
            club_table(&seller, "from_club", "seller")?,
        ],
        UnionArgs::default(),
    )?
    .select(
        [col("club"), col("role")]
            .into_iter()
            .chain([
                col("stories").alias("deals"),
                col("resolved"),
                col("hits").alias("confirmed"),
                col("misses").alias("refuted"),
                col("open"),
                col("late"),
                col("weighted_resolved"),
                col("raw_rate"),
                col("posterior_mean"),
                col("ci_low"),
                col("ci_high"),
                col("insufficient"),
            ])
            .collect::<Vec<_>>(),
    )
    .sort(["club", "role"], SortMultipleOptions::default())
    .collect()?;

    // Stories, sorted by ids (key order: the order of the names' folded keys), rendered to
    // names slice by slice when written.
    let resolved = col("outcome")
        .eq(lit(outcome::CONFIRMED))
        .or(col("outcome").eq(lit(outcome::REFUTED)));
    let story_ids = s
        .stories
        .clone()
        .lazy()
        // `deal` orders like (player, to_club, window).
        .sort_by_exprs(story_order(&s.stories)?, SortMultipleOptions::default())
        .select([
            col("source"),
            col("player"),
            col("to_club"),
            col("window"),
            col("first_report"),
            col("last_report"),
            col("reports"),
            col("stage"),
            col("denied"),
            col("outcome"),
            col("resolved_on"),
            when(resolved)
                .then(story_hit())
                .otherwise(lit(NULL).cast(DataType::Boolean))
                .alias("correct"),
        ]);
    let story_ids = if let Some(extras) = carried.stories {
        let keys = ["source", "player", "to_club", "window"];
        let on: Vec<Expr> = keys.iter().map(|k| col(*k)).collect();
        let mut df = story_ids
            .join(
                extras.lazy(),
                on.clone(),
                on,
                crate::report::left_join_in_order(),
            )
            .collect()?;
        name_extras(&mut df, &s.claim_extras)?;
        df
    } else {
        story_ids.collect()?
    };
    let stories_report = StoriesReport::new(story_ids, &s.display, &s.windows)?;

    // Open deals with their likelihoods.
    let deals_report = deals_report(s, &nf, source_lists, open_rows, &predictions, carried.deals)?;

    let rejects = rejects_frame(&s.rejects)?;
    let (unmatched, unmatched_players, unmatched_clubs) = unmatched_names(s)?;

    let (claims_stage_inferred, claims_window_inferred) =
        (s.claims_stage_inferred, s.claims_window_inferred);
    let mut rejects_by_reason = BTreeMap::new();
    for r in &s.rejects {
        *rejects_by_reason
            .entry(reason_class(&r.reason))
            .or_insert(0u64) += 1;
    }
    let mut priors = BTreeMap::new();
    priors.insert("sources".to_string(), prior_summaries(&src));
    priors.insert("authors".to_string(), prior_summaries(&auth));
    priors.insert("source_stages".to_string(), prior_summaries(&src_stage));
    priors.insert("clubs_buyer".to_string(), prior_summaries(&buyer));
    priors.insert("clubs_seller".to_string(), prior_summaries(&seller));
    let (transfers_known_until, mut warnings) = coverage_warnings(s)?;
    warnings.extend(model_warnings(&predictions));
    let summary = Summary {
        rumour_version: env!("CARGO_PKG_VERSION").to_string(),
        as_of: crate::windows::date_from_days(s.as_of).to_string(),
        rows_add_up: s
            .inputs_files
            .iter()
            .all(|f| f.rows_read == f.rows_used + f.rows_rejected),
        files: s.inputs_files.clone(),
        rejects_by_reason,
        claims_stage_inferred,
        claims_window_inferred,
        aliases: s.aliases,
        distinct_players: s.names.players.len(),
        distinct_clubs: s.names.clubs.len(),
        distinct_sources: s.names.sources.len(),
        distinct_authors: s.names.authors.len(),
        unmatched_players,
        unmatched_clubs,
        stories: counts(&s.stories)?,
        deals: counts(&s.deals)?,
        priors,
        likelihood: models
            .iter()
            .map(|(lead, model)| ModelSummary {
                lead_days: *lead,
                model: model.name(),
                fallback_reason: model.fallback_reason().map(str::to_string),
                training: model.training().clone(),
                training_sample_fraction: hist.sample_fraction,
                pool_weight: model.pool_weight(),
                coefficients: model.coefficients().into_iter().collect(),
            })
            .collect(),
        transfers_known_until,
        warnings,
    };
    Ok(ScoreRun {
        sources,
        authors,
        clubs,
        source_stages,
        stories: stories_report,
        deals: deals_report,
        rejects,
        unmatched,
        summary,
        interval: s.config.reliability.interval,
    })
}

/// A reject reason without its specifics (for counting).
fn reason_class(reason: &str) -> String {
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

fn rejects_frame(rejects: &[Reject]) -> PolarsResult<DataFrame> {
    DataFrame::new_infer_height(vec![
        Column::new(
            "file".into(),
            rejects.iter().map(|r| r.file.clone()).collect::<Vec<_>>(),
        ),
        Column::new(
            "line".into(),
            rejects.iter().map(|r| r.line).collect::<Vec<_>>(),
        ),
        Column::new(
            "column".into(),
            rejects.iter().map(|r| r.column.clone()).collect::<Vec<_>>(),
        ),
        Column::new(
            "value".into(),
            rejects.iter().map(|r| r.value.clone()).collect::<Vec<_>>(),
        ),
        Column::new(
            "reason".into(),
            rejects.iter().map(|r| r.reason.clone()).collect::<Vec<_>>(),
        ),
    ])
}

/// Players and clubs named in claims that no transfer names.
fn unmatched_names(s: &Scored) -> PolarsResult<(DataFrame, u64, u64)> {
    // Counted on deals (a few per player) rather than claims: the same numbers, a fraction of
    // the rows. A club counts the claims of the deals naming it as buyer or (main) seller.
    let claim_players = s
        .deals
        .clone()
        .lazy()
        .group_by([col("player").alias("id")])
        .agg([col("reports").sum().cast(DataType::UInt32).alias("claims")]);
    let transfer_players = s
        .transfers
        .clone()
        .lazy()
        .select([col("player").alias("id")])
        .unique(None, UniqueKeepStrategy::Any);
    let players = claim_players
        .join(
            transfer_players,
            [col("id")],
            [col("id")],
            JoinArgs::new(JoinType::Anti),
        )
        .collect()?;
    let claim_clubs = concat(
        [
            s.deals
                .clone()
                .lazy()
                .select([col("to_club").alias("id"), col("reports")]),
            s.deals
                .clone()
                .lazy()
                .select([col("from_club").alias("id"), col("reports")])
                .filter(col("id").is_not_null()),
        ],
        UnionArgs::default(),
    )?
    .group_by([col("id")])
    .agg([col("reports").sum().cast(DataType::UInt32).alias("claims")]);
    let transfer_clubs = concat(
        [
            s.transfers
                .clone()
                .lazy()
                .select([col("to_club").alias("id")]),
            s.transfers
                .clone()
                .lazy()
                .select([col("from_club").alias("id")]),
        ],
        UnionArgs::default(),
    )?
    .unique(None, UniqueKeepStrategy::Any);
    let clubs = claim_clubs
        .join(
            transfer_clubs,
            [col("id")],
            [col("id")],
            JoinArgs::new(JoinType::Anti),
        )
        .collect()?;
    let spell = |table: &crate::normalise::NameTable,
                 display: &[String],
                 ids: &DataFrame|
     -> PolarsResult<(Vec<String>, Vec<String>, Vec<u32>)> {
        let id: Vec<u32> = ids.column("id")?.u32()?.iter().flatten().collect();
        let n: Vec<u32> = ids
            .column("claims")?
            .u32()?
            .iter()
            .map(|v| v.unwrap_or(0))
            .collect();
        let spellings = table.spellings_of(&id);
        Ok((
            id.iter().map(|i| display[*i as usize].clone()).collect(),
            spellings.iter().map(|v| v.join(";")).collect(),
            n,
        ))
    };
    let (pn, ps, pc) = spell(&s.names.players, &s.display.players, &players)?;
    let (cn, cs, cc) = spell(&s.names.clubs, &s.display.clubs, &clubs)?;
    let np = pn.len();
    let nc = cn.len();
    let kind: Vec<&str> = std::iter::repeat_n("player", np)
        .chain(std::iter::repeat_n("club", nc))
        .collect();
    let df = DataFrame::new_infer_height(vec![
        Column::new("kind".into(), kind),
        Column::new("name".into(), [pn, cn].concat()),
        Column::new("spellings".into(), [ps, cs].concat()),
        Column::new("claims".into(), [pc, cc].concat()),
    ])?
    .lazy()
    .sort_by_exprs(
        [col("kind"), col("claims"), col("name")],
        SortMultipleOptions::default().with_order_descending_multi([false, true, false]),
    )
    .collect()?;
    Ok((df, np as u64, nc as u64))
}

/// `player, to_club, window, source_list`: the sources reporting each open deal, by name,
/// `;`-separated.
fn open_deal_sources(
    claims: &DataFrame,
    open_rows: &DataFrame,
    sources: &DataFrame,
) -> PolarsResult<DataFrame> {
    let deal = [col("player"), col("to_club"), col("window")];
    let lists = claims
        .clone()
        .lazy()
        .select([col("player"), col("to_club"), col("window"), col("source")])
        .join(
            open_rows.clone().lazy().select(deal.clone()),
            deal.clone(),
            deal.clone(),
            JoinArgs::new(JoinType::Semi),
        )
        .unique(None, UniqueKeepStrategy::Any);
    with_names(lists, "source", sources)
        .group_by(deal)
        .agg([col("source")
            .sort(SortOptions::default())
            .str()
            .join(";", true)
            .alias("source_list")])
        .collect()
}

fn deals_report(
    s: &Scored,
    nf: &NameFrames,
    source_lists: DataFrame,
    rows: DataFrame,
    predictions: &[Prediction],
    carried_deals: Option<DataFrame>,
) -> PolarsResult<DataFrame> {
    let reason = |k: usize| {
        predictions
            .iter()
            .map(|p| p.reasons.get(k).cloned().unwrap_or_default())
            .collect::<Vec<_>>()
    };
    let mut rows = rows;
    rows.with_column(Column::new(
        "likelihood".into(),
        predictions.iter().map(|p| p.likelihood).collect::<Vec<_>>(),
    ))?;
    rows.with_column(Column::new(
        "likelihood_low".into(),
        predictions.iter().map(|p| p.low).collect::<Vec<_>>(),
    ))?;
    rows.with_column(Column::new(
        "likelihood_high".into(),
        predictions.iter().map(|p| p.high).collect::<Vec<_>>(),
    ))?;
    rows.with_column(Column::new(
        "model".into(),
        predictions
            .iter()
            .map(|p| p.model.clone())
            .collect::<Vec<_>>(),
    ))?;
    rows.with_column(Column::new("reason_1".into(), reason(0)))?;
    rows.with_column(Column::new("reason_2".into(), reason(1)))?;
    rows.with_column(Column::new("reason_3".into(), reason(2)))?;
    rows.with_column(Column::new(
        "model_notes".into(),
        predictions
            .iter()
            .map(|p| p.notes.join("; "))
            .collect::<Vec<_>>(),
    ))?;
    let deal = [col("player"), col("to_club"), col("window")];
    let extras = s.claim_extras.len();
    let mut lf = rows.lazy().join(
        source_lists.lazy(),
        deal.clone(),
        deal.clone(),
        JoinArgs::new(JoinType::Left),
    );
    if let Some(extras) = carried_deals {
        lf = lf.join(
            extras.lazy(),
            deal.clone(),
            deal,
            JoinArgs::new(JoinType::Left),
        );
    }
    let lf = lf.join(
        s.windows
            .clone()
            .lazy()
            .select([col("window"), col("window_label")]),
        [col("window")],
        [col("window")],
        JoinArgs::new(JoinType::Left),
    );
    let lf = with_names(
        with_names(with_names(lf, "player", &nf.players), "to_club", &nf.clubs),
        "from_club",
        &nf.clubs,
    );
    let lf = with_names(
        lf.with_column(col("key_origin").alias("key_source")),
        "key_source",
        &nf.sources,
    );
    let mut df = lf
        .select(
            [
                col("player"),
                col("from_club"),
                col("to_club"),
                col("window_label").alias("window"),
                as_date("window_close"),
                col("likelihood"),
                col("likelihood_low"),
                col("likelihood_high"),
                col("model"),
                col("reason_1"),
                col("reason_2"),
                col("reason_3"),
                col("model_notes"),
                code_names(col("stage_max"), &Stage::NAMES).alias("stage"),
                col("any_denial").alias("denied"),
                as_date("first_report"),
                as_date("last_report"),
                col("reports"),
                col("n_sources").alias("sources"),
                col("origins").alias("independent_sources"),
                col("source_list"),
                col("key_source"),
                code_names(col("key_stage"), &Stage::NAMES).alias("key_stage"),
                col("key_rate").alias("key_source_rate"),
                col("evidence"),
                col("buyer_rate"),
                col("seller_rate"),
                col("season_rate"),
                col("base_rate"),
                col("days_to_close"),
                col("recent").alias("reports_recent"),
                col("previous").alias("reports_previous"),
                col("market_value_eur"),
                col("contract_months"),
                col("player_age"),
                col("claim_ids"),
            ]
            .into_iter()
            .chain((0..extras).map(|k| col(crate::ingest::extra_column(k).as_str())))
            .collect::<Vec<_>>(),
        )
        .sort_by_exprs(
            [
                col("likelihood"),
                col("player"),
                col("to_club"),
                col("window"),
            ],
            SortMultipleOptions::default().with_order_descending_multi([true, false, false, false]),
        )
        .collect()?;
    name_extras(&mut df, &s.claim_extras)?;
    Ok(df)
}

impl ScoreRun {
    /// Writes every report into `out` as one atomic set.
    ///
    /// # Errors
    /// [`Error::Output`] when a file cannot be written, [`Error::Usage`] when `out` holds
    /// files rumour did not write.
    pub fn write(
        &mut self,
        out: &std::path::Path,
        format: crate::report::Format,
    ) -> Result<PathBuf> {
        self.write_into(crate::report::OutputSet::begin(out)?, format)
    }

    /// Writes every report into an output set begun earlier (the command line begins it before
    /// the run, so that a bad `--out` fails at once) and commits it.
    ///
    /// # Errors
    /// [`Error::Output`] when a file cannot be written.
    pub fn write_into(
        &mut self,
        set: crate::report::OutputSet,
        format: crate::report::Format,
    ) -> Result<PathBuf> {
        for (name, df) in [
            ("sources", &mut self.sources),
            ("authors", &mut self.authors),
            ("clubs", &mut self.clubs),
            ("source_stages", &mut self.source_stages),
            ("deals", &mut self.deals),
            ("rejects", &mut self.rejects),
            ("unmatched", &mut self.unmatched),
        ] {
            set.table(name, df, format)?;
        }
        let (stories, rows) = (&self.stories, self.stories.height());
        let batch = 1 << 20;
        set.table_in_batches("stories", format, rows.div_ceil(batch), |i| {
            stories.render(i * batch, batch)
        })?;
        let json =
            serde_json::to_string_pretty(&self.summary).map_err(|e| Error::Usage(e.to_string()))?;
        set.bytes("summary.json", format!("{json}\n").as_bytes())?;
        let page = self.page(set.previous_calibration().as_ref())?;
        set.bytes("report.html", crate::html::render(&page).as_bytes())?;
        set.commit()
    }

    /// The run as `report.html` shows it, with the reliability diagram of `calibration` (a
    /// backtest's `calibration` table) when given.
    ///
    /// # Errors
    /// Only from polars.
    pub fn page(&self, calibration: Option<&DataFrame>) -> PolarsResult<crate::html::Page> {
        use crate::html::{FileRow, Page};
        let s = &self.summary;
        let mut page = Page::from_tables(&self.sources, &self.clubs, &self.deals, calibration)?;
        page.as_of = s.as_of.clone();
        page.version = s.rumour_version.clone();
        page.interval = self.interval;
        page.crowd_rate = s
            .priors
            .get("sources")
            .and_then(|p| p.iter().find(|g| g.group == "all"))
            .map(|g| g.mean);
        page.deals_total = self.deals.height();
        page.files = s
            .files
            .iter()
            .map(|f| FileRow {
                file: f.file.clone(),
                read: f.rows_read,
                used: f.rows_used,
                rejected: f.rows_rejected,
                delimiter: f.delimiter.clone(),
                encoding: f.encoding.clone(),
            })
            .collect();
        page.rows_add_up = s.rows_add_up;
        page.rejects_by_reason = s
            .rejects_by_reason
            .iter()
            .map(|(k, v)| (k.clone(), *v))
            .collect();
        page.warnings = s.warnings.clone();
        page.counts = vec![
            ("sources".into(), s.distinct_sources.to_string()),
            ("clubs".into(), s.distinct_clubs.to_string()),
            ("players".into(), s.distinct_players.to_string()),
            ("stories".into(), s.stories.total.to_string()),
            ("deals".into(), s.deals.total.to_string()),
            ("open deals".into(), s.deals.open.to_string()),
        ];
        Ok(page)
    }
}
