//! The report tables of a scored run, built from ids and named at the end (see
//! [`super::labels`]): `sources`, `authors`, `source_stages`, `clubs`, `stories`, `deals`,
//! `rejects`, `unmatched`. Every table is sorted, so the same inputs give the same bytes.

use std::collections::BTreeMap;

use polars::prelude::*;

use super::labels::{as_date, code_names, with_names};
use super::summary::{summary, Unmatched};
use super::{ScoreRun, StoriesReport};
use crate::column_values::left_join_in_order;
use crate::ingest::Reject;
use crate::prepared::{Display, Prepared};
use crate::schema::deal_cols;
use crate::schema::Stage;
use crate::score::likelihood::OpenDeals;
use crate::score::model::{Model, Prediction};
use crate::score::reliability::{story_hit, Reliabilities, Reliability};

/// What the scoring stages produced, for the report tables.
pub struct Scoring {
    pub reliabilities: Reliabilities,
    /// Fraction of eligible training deals kept.
    pub sample_fraction: f64,
    /// One model per distance from the close among the open deals.
    pub models: BTreeMap<i64, Model>,
    pub open: OpenDeals,
    /// `player, to_club, window, source_list` of the open deals.
    pub source_lists: DataFrame,
    /// The claims' extra columns per open deal ([`carried_deal_extras`]).
    pub carried_deals: Option<DataFrame>,
    /// The stories' outcome counts ([`counts`]), taken before the stories table is freed.
    pub story_counts: super::summary::OutcomeCounts,
}

/// Every report table of a scored run but `stories`, which [`stories_report`] makes from its
/// own share of the tables (on a thread of its own, see [`crate::pipeline::score_into`]).
pub struct ReportTables {
    pub sources: DataFrame,
    pub authors: DataFrame,
    pub clubs: DataFrame,
    pub source_stages: DataFrame,
    pub deals: DataFrame,
    pub rejects: DataFrame,
    pub unmatched: DataFrame,
    pub summary: super::Summary,
    pub interval: f64,
}

impl ReportTables {
    /// The run's reports, with the stories report.
    pub fn with_stories(self, stories: StoriesReport) -> ScoreRun {
        ScoreRun {
            sources: self.sources,
            authors: self.authors,
            clubs: self.clubs,
            source_stages: self.source_stages,
            stories,
            deals: self.deals,
            rejects: self.rejects,
            unmatched: self.unmatched,
            summary: self.summary,
            interval: self.interval,
        }
    }
}

/// The report tables of a scored run but `stories`.
///
/// # Errors
/// Only from polars.
pub fn build_reports(s: &Prepared, scoring: Scoring) -> PolarsResult<ReportTables> {
    let display: &Display = &s.display;
    let Scoring {
        reliabilities,
        sample_fraction,
        models,
        open,
        source_lists,
        carried_deals,
        story_counts,
    } = scoring;
    let reliability = reliability_reports(&reliabilities, display)?;
    // The two largest tables, independent of each other: side by side (at ten million claims
    // the unmatched names are 0.6-0.75 s of sorting and gathering millions of players).
    let predictions = &open.predictions;
    let (unmatched, deals) = rayon::join(
        || unmatched_names(s),
        || {
            deals_report(
                s,
                display,
                source_lists,
                open.rows,
                predictions,
                carried_deals,
            )
        },
    );
    let ((unmatched, players, clubs), deals) = (unmatched?, deals?);
    let summary = summary(
        s,
        &reliabilities,
        &models,
        sample_fraction,
        predictions,
        Unmatched { players, clubs },
        story_counts,
    )?;
    let rejects = rejects_frame(&s.rejects)?;
    Ok(ReportTables {
        sources: reliability.sources,
        authors: reliability.authors,
        clubs: reliability.clubs,
        source_stages: reliability.source_stages,
        deals,
        rejects,
        unmatched,
        summary,
        interval: s.config.reliability.interval,
    })
}

/// The four reliability reports.
struct ReliabilityReports {
    sources: DataFrame,
    authors: DataFrame,
    source_stages: DataFrame,
    clubs: DataFrame,
}

fn reliability_reports(r: &Reliabilities, names: &Display) -> PolarsResult<ReliabilityReports> {
    let sources = reliability_report(&r.sources, vec![col("source")], vec!["source"])?;
    let sources = with_names(sources, "source", &names.sources)?
        .lazy()
        .sort(["source"], SortMultipleOptions::default())
        .collect()?;
    let authors = reliability_report(&r.authors, vec![col("author")], vec!["author"])?;
    let authors = with_names(authors, "author", &names.authors)?
        .lazy()
        .sort(["author"], SortMultipleOptions::default())
        .collect()?;
    let source_stages = reliability_report(
        &r.source_stages,
        vec![col("source"), col("stage")],
        vec!["source", "stage"],
    )?;
    let source_stages = with_names(source_stages, "source", &names.sources)?
        .lazy()
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
        Ok(with_names(t, "club", &names.clubs)?
            .lazy()
            .with_column(lit(role).alias("role")))
    };
    let clubs = concat(
        [
            club_table(&r.buyers, "to_club", "buyer")?,
            club_table(&r.sellers, "from_club", "seller")?,
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

    Ok(ReliabilityReports {
        sources,
        authors,
        source_stages,
        clubs,
    })
}

/// The columns that name a story.
const STORY_KEYS: [&str; 4] = ["source", "player", "to_club", "window"];

/// What the stories report is made of: the prepared tables it reads, shared (polars columns
/// are reference-counted, so this copies no data), so that it can be made on a thread of its
/// own while the prepared tables are freed stage by stage.
pub struct StoriesInputs {
    stories: DataFrame,
    /// `source, player, to_club, window` and the extra columns of every claim, when the claims
    /// file has extra columns.
    claims: Option<DataFrame>,
    display: std::sync::Arc<crate::prepared::Display>,
    windows: DataFrame,
    claim_extras: Vec<String>,
}

impl StoriesInputs {
    /// The stories report's share of the prepared tables.
    ///
    /// # Errors
    /// Only from polars (a missing column).
    pub fn of(s: &Prepared) -> PolarsResult<StoriesInputs> {
        let claims = if s.claim_extras.is_empty() {
            None
        } else {
            let mut columns: Vec<String> = STORY_KEYS.iter().map(|k| k.to_string()).collect();
            columns.extend((0..s.claim_extras.len()).map(crate::ingest::extra_column));
            Some(s.claims.select(columns)?)
        };
        Ok(StoriesInputs {
            stories: s.stories.clone(),
            claims,
            display: s.display.clone(),
            windows: s.windows.clone(),
            claim_extras: s.claim_extras.clone(),
        })
    }
}

/// Stories, sorted by ids (key order: the order of the names' folded keys), with the claims'
/// extra columns, rendered to names slice by slice when written. Takes the stories table apart
/// as it goes.
///
/// # Errors
/// Only from polars.
pub fn stories_report(inputs: StoriesInputs) -> PolarsResult<StoriesReport> {
    let StoriesInputs {
        stories,
        claims,
        display,
        windows,
        claim_extras,
    } = inputs;
    let carried_stories = match claims {
        Some(claims) => {
            Some(extra_values(claims.lazy(), &STORY_KEYS, claim_extras.len()).collect()?)
        }
        None => None,
    };
    let resolved = crate::schema::is_resolved(col("outcome"));
    let keep = [
        "source",
        "player",
        "to_club",
        "window",
        "first_report",
        "last_report",
        "reports",
        "stage",
        "denied",
        "outcome",
        "resolved_on",
    ];
    // `deal` orders like (player, to_club, window).
    let sorted = match places_by_source_from_deal_order(&stories)? {
        Some(places) => scatter_taking(stories, &places, &keep)?,
        None => {
            let rows = sorted_rows(&stories, story_order(&stories)?)?;
            gather_taking(stories, rows, &keep)?
        }
    };
    let story_ids = sorted.lazy().with_column(
        when(resolved)
            .then(story_hit())
            .otherwise(lit(NULL).cast(DataType::Boolean))
            .alias("correct"),
    );
    let story_ids = if let Some(extras) = carried_stories {
        let on: Vec<Expr> = STORY_KEYS.iter().map(|k| col(*k)).collect();
        let mut df = story_ids
            .join(extras.lazy(), on.clone(), on, left_join_in_order())
            .collect()?;
        name_extras(&mut df, &claim_extras)?;
        df
    } else {
        story_ids.collect()?
    };
    StoriesReport::new(story_ids, &display, &windows)
}

/// The rows of `df` in the order of the sort key `by` (unique per row, so the order is total).
fn sorted_rows(df: &DataFrame, by: Vec<Expr>) -> PolarsResult<IdxCa> {
    let keys: Vec<Expr> = by
        .into_iter()
        .enumerate()
        .map(|(i, e)| e.alias(format!("__k{i}")))
        .collect();
    let key_names: Vec<PlSmallStr> = (0..keys.len()).map(|i| format!("__k{i}").into()).collect();
    let mut exprs = keys;
    exprs.push(col("__row"));
    let order = df
        .clone()
        .lazy()
        .with_row_index("__row", None)
        .select(exprs)
        .sort(key_names, SortMultipleOptions::default())
        .select([col("__row")])
        .collect()?;
    Ok(order.column("__row")?.idx()?.clone())
}

/// The place of each story in (source, deal) order when the table is in (deal, source) order,
/// as [`crate::stories`] makes it: a stable counting sort by source, two passes over the
/// sources (at ten million stories, the sort and gather of the stories report took 1.9 s with
/// a sort of the packed key). `None` for any other order (or missing values): sort the key.
fn places_by_source_from_deal_order(stories: &DataFrame) -> PolarsResult<Option<Vec<IdxSize>>> {
    let deal = stories.column("deal")?.u64()?.rechunk();
    let source = stories.column("source")?.u32()?.rechunk();
    let (Ok(deal), Ok(source)) = (deal.cont_slice(), source.cont_slice()) else {
        return Ok(None);
    };
    let in_deal_order = deal
        .windows(2)
        .zip(source.windows(2))
        .all(|(d, s)| (d[0], s[0]) < (d[1], s[1]));
    let Some(&max) = source.iter().max() else {
        return Ok(Some(Vec::new()));
    };
    if !in_deal_order || max as usize > source.len() {
        return Ok(None);
    }
    // Where each source's rows start, then each row at its source's next place: rows of
    // one source keep their (deal) order.
    let mut next = vec![0 as IdxSize; max as usize + 2];
    for s in source {
        next[*s as usize + 1] += 1;
    }
    for i in 1..next.len() {
        next[i] += next[i - 1];
    }
    let places = source
        .iter()
        .map(|s| {
            let at = &mut next[*s as usize];
            *at += 1;
            *at - 1
        })
        .collect();
    Ok(Some(places))
}

/// The columns `keep` of `df` with each row moved to its place in `places` (a permutation of
/// the rows), a column per thread at a time, each source column freed once moved.
///
/// Each column is read in order and written at the places, not gathered from a list of rows:
/// a source's stories are spread over the (deal-ordered) table, so gathering one source's
/// rows reads a new cache line and page for nearly every value, while writing them, in their
/// order, fills the source's run of the output line by line. At ten million stories of two
/// thousand sources (timing build, two threads) the eleven columns were gathered in 0.51 s
/// and are moved in 0.34 s.
fn scatter_taking(mut df: DataFrame, places: &[IdxSize], keep: &[&str]) -> PolarsResult<DataFrame> {
    use rayon::prelude::*;
    let n = df.height();
    let taken: Vec<Column> = keep
        .iter()
        .map(|name| df.drop_in_place(name))
        .collect::<PolarsResult<_>>()?;
    drop(df);
    if places.len() != n {
        return Err(PolarsError::ShapeMismatch(
            format!("{} places for {n} rows", places.len()).into(),
        ));
    }
    let columns = taken
        .into_par_iter()
        .with_max_len(1)
        .map(|column| moved(&column, places))
        .collect::<PolarsResult<Vec<_>>>()?;
    DataFrame::new(n, columns)
}

/// `column` with row `r` at `places[r]`.
fn moved(column: &Column, places: &[IdxSize]) -> PolarsResult<Column> {
    let name = column.name().clone();
    let numeric = |moved: Column| moved.with_name(name.clone());
    Ok(match column.dtype() {
        DataType::Int32 => numeric(moved_values(column.i32()?, places).into_column()),
        DataType::UInt32 => numeric(moved_values(column.u32()?, places).into_column()),
        DataType::Int64 => numeric(moved_values(column.i64()?, places).into_column()),
        DataType::UInt64 => numeric(moved_values(column.u64()?, places).into_column()),
        DataType::Float64 => numeric(moved_values(column.f64()?, places).into_column()),
        DataType::Boolean => {
            let mut values = vec![None; places.len()];
            for (v, p) in column.bool()?.iter().zip(places) {
                values[*p as usize] = v;
            }
            values
                .into_iter()
                .collect::<BooleanChunked>()
                .with_name(name)
                .into_column()
        }
        _ => {
            // Other types are gathered: the rows in output order are the inverse of the places.
            let mut rows = vec![0 as IdxSize; places.len()];
            for (r, p) in places.iter().enumerate() {
                rows[*p as usize] = r as IdxSize;
            }
            column.take(&IdxCa::from_vec(PlSmallStr::EMPTY, rows))?
        }
    })
}

/// The values of `ca` with row `r` at `places[r]`, their validity moved with them.
fn moved_values<T: PolarsNumericType>(ca: &ChunkedArray<T>, places: &[IdxSize]) -> ChunkedArray<T> {
    let mut values = vec![T::Native::default(); places.len()];
    let mut valid = (ca.null_count() > 0).then(|| vec![false; places.len()]);
    let mut r = 0;
    for array in ca.downcast_iter() {
        let validity = array.validity();
        for (i, v) in array.values().iter().enumerate() {
            let p = places[r] as usize;
            values[p] = *v;
            if let Some(valid) = valid.as_mut() {
                valid[p] = validity.is_none_or(|b| b.get_bit(i));
            }
            r += 1;
        }
    }
    // The validity as a bitmap: the values of a boolean column made of it (one chunk).
    let validity = valid.and_then(|v| {
        BooleanChunked::from_slice(PlSmallStr::EMPTY, &v)
            .downcast_iter()
            .next()
            .map(|a| a.values().clone())
    });
    ChunkedArray::from_vec_validity(PlSmallStr::EMPTY, values, validity)
}

/// The columns `keep` of `df` in the order of `idx`, gathered a column per thread at a time
/// with each source column freed once gathered (and the others at once): the table is never
/// held twice, as a sort of the whole frame would hold it (at ten million stories, 0.4 GB).
fn gather_taking(mut df: DataFrame, idx: IdxCa, keep: &[&str]) -> PolarsResult<DataFrame> {
    use rayon::prelude::*;
    let taken: Vec<Column> = keep
        .iter()
        .map(|name| df.drop_in_place(name))
        .collect::<PolarsResult<_>>()?;
    drop(df);
    // In `keep`'s order.
    let columns = taken
        .into_par_iter()
        .with_max_len(1)
        .map(|column| column.take(&idx))
        .collect::<PolarsResult<Vec<_>>>()?;
    DataFrame::new(idx.len(), columns)
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

/// The claims' extra columns gathered per open deal: `player, to_club, window` and the
/// extras (`None` without extras).
pub fn carried_deal_extras(s: &Prepared, open_rows: &DataFrame) -> PolarsResult<Option<DataFrame>> {
    let extras = s.claim_extras.len();
    if extras == 0 {
        return Ok(None);
    }
    let deal = deal_cols();
    let open_claims = s.claims.clone().lazy().join(
        open_rows.clone().lazy().select(deal.clone()),
        deal.clone(),
        deal,
        JoinArgs::new(JoinType::Semi),
    );
    Ok(Some(
        extra_values(open_claims, &["player", "to_club", "window"], extras).collect()?,
    ))
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
fn unmatched_names(s: &Prepared) -> PolarsResult<(DataFrame, u64, u64)> {
    // Counted on deals (a few per player) rather than claims: the same numbers, a fraction of
    // the rows. A club counts the claims of the deals naming it as buyer or (main) seller.
    // Ids are dense, so each kind's counts are a slot per id (at ten million claims, 0.4 s
    // less than group-bys and anti-joins of the same columns).
    let reports = s.deals.column("reports")?.cast(&DataType::UInt32)?;
    let reports = reports.u32()?;
    let players = unmatched_counts(
        s.display.players.len(),
        &[s.deals.column("player")?],
        reports,
        &[s.transfers.column("player")?],
    )?;
    let clubs = unmatched_counts(
        s.display.clubs.len(),
        &[s.deals.column("to_club")?, s.deals.column("from_club")?],
        reports,
        &[
            s.transfers.column("to_club")?,
            s.transfers.column("from_club")?,
        ],
    )?;
    use rayon::prelude::*;
    // Per kind, `(claims, id)` in the report's order: most claims first, then by name (names
    // are unique within a kind).
    let ordered = |display: &[String], rows: Vec<(u32, u32)>| -> Vec<(u32, u32)> {
        // Millions of rows when most players never move (five million players at ten million
        // claims): sorted on every thread, on the names' first 16 bytes as a number beside the
        // count, whole names compared only where those tie (a comparison of two names chased
        // two pointers into the name table on nearly every step: 0.5 s of this function's
        // 1.2 s at ten million rush claims). Keys are unique, so the order is the one order.
        let mut keyed: Vec<(u32, u128, u32)> = rows
            .into_iter()
            .map(|(n, id)| (n, crate::normalise::key_prefix(&display[id as usize]), id))
            .collect();
        keyed.par_sort_unstable_by(|a, b| {
            b.0.cmp(&a.0)
                .then(a.1.cmp(&b.1))
                .then_with(|| display[a.2 as usize].cmp(&display[b.2 as usize]))
        });
        keyed.into_iter().map(|(n, _, id)| (n, id)).collect()
    };
    let club_rows = ordered(&s.display.clubs, clubs);
    let player_rows = ordered(&s.display.players, players);
    let (np, nc) = (player_rows.len(), club_rows.len());
    let mut kind: Vec<&str> = Vec::with_capacity(np + nc);
    let mut name: Vec<&str> = Vec::with_capacity(np + nc);
    let mut spellings: Vec<String> = Vec::with_capacity(np + nc);
    let mut claims: Vec<u32> = Vec::with_capacity(np + nc);
    // By kind in byte order: clubs, then players; each row's spellings joined on every thread.
    for (label, table, display, rows) in [
        ("club", &s.names.clubs, &s.display.clubs, &club_rows),
        ("player", &s.names.players, &s.display.players, &player_rows),
    ] {
        let ids: Vec<u32> = rows.iter().map(|r| r.1).collect();
        let spelt = table.spellings_of(&ids);
        kind.extend(std::iter::repeat_n(label, rows.len()));
        name.extend(rows.iter().map(|(_, id)| display[*id as usize].as_str()));
        spellings.par_extend(
            (0..rows.len())
                .into_par_iter()
                .map(|i| spelt.of(i).join(";")),
        );
        claims.extend(rows.iter().map(|(n, _)| *n));
    }
    let df = DataFrame::new_infer_height(vec![
        Column::new("kind".into(), kind),
        Column::new("name".into(), name),
        Column::new("spellings".into(), spellings),
        Column::new("claims".into(), claims),
    ])?;
    Ok((df, np as u64, nc as u64))
}

/// `(claims, id)` of the ids (below `ids`) named in any of `named` but in none of `known`:
/// per id, the sum of `reports` over the rows naming it (a row naming it in two columns
/// counts twice). Nulls name nothing.
fn unmatched_counts(
    ids: usize,
    named: &[&Column],
    reports: &UInt32Chunked,
    known: &[&Column],
) -> PolarsResult<Vec<(u32, u32)>> {
    let mut claims: Vec<Option<u32>> = vec![None; ids];
    for column in named {
        let column = column.cast(&DataType::UInt32)?;
        for (id, n) in column.u32()?.iter().zip(reports.iter()) {
            if let Some(slot) = id.and_then(|id| claims.get_mut(id as usize)) {
                *slot = Some(slot.unwrap_or(0).wrapping_add(n.unwrap_or(0)));
            }
        }
    }
    for column in known {
        let column = column.cast(&DataType::UInt32)?;
        for id in column.u32()?.iter().flatten() {
            if let Some(slot) = claims.get_mut(id as usize) {
                *slot = None;
            }
        }
    }
    Ok(claims
        .into_iter()
        .enumerate()
        .filter_map(|(id, n)| n.map(|n| (n, id as u32)))
        .collect())
}

/// `player, to_club, window, source_list`: the sources reporting each open deal, by name,
/// `;`-separated; a row per open deal with a claim. Made by hand from the claims of the open
/// deals' players: each claim's deal looked up by key, every (deal, source's place in name
/// order) sorted once as integers (a semi-join, `unique`, join, sort and group-by in polars
/// took 0.32-0.49 s of this at ten million claims, BENCHMARKS.md).
pub fn open_deal_sources(
    claims: &DataFrame,
    open_rows: &DataFrame,
    sources: &[String],
) -> PolarsResult<DataFrame> {
    use crate::column_values::{opt_i32, opt_u32};
    type Key = (u32, u32, i32);
    let deal_key = |df: &DataFrame| -> PolarsResult<Vec<Option<Key>>> {
        let (player, to, window) = (
            opt_u32(df, "player")?,
            opt_u32(df, "to_club")?,
            opt_i32(df, "window")?,
        );
        Ok((0..df.height())
            .map(|i| Some((player[i]?, to[i]?, window[i]?)))
            .collect())
    };
    // Each open deal's first row, by its key (a key with a null matches nothing, as in a join).
    let mut deal_at: std::collections::HashMap<Key, u32, foldhash::fast::FixedState> =
        std::collections::HashMap::with_capacity_and_hasher(open_rows.height(), Default::default());
    for (i, key) in deal_key(open_rows)?.into_iter().enumerate() {
        if let Some(key) = key {
            deal_at.entry(key).or_insert(i as u32);
        }
    }
    // Each source's place in name order (bytes, as polars sorts text), and its name there.
    let mut by_name: Vec<(&str, u32)> = sources
        .iter()
        .enumerate()
        .map(|(id, name)| (name.as_str(), id as u32))
        .collect();
    by_name.sort_unstable();
    let mut place = vec![0u32; sources.len()];
    for (k, (_, id)) in by_name.iter().enumerate() {
        place[*id as usize] = k as u32;
    }
    // Every (open deal, source place) once, from the claims of the open deals' players.
    let claims = crate::deal::rows_with_ids_in(
        claims,
        &["player", "to_club", "window", "source"],
        "player",
        open_rows,
    )?;
    let source = opt_u32(&claims, "source")?;
    let mut pairs: Vec<(u32, u32)> = deal_key(&claims)?
        .into_iter()
        .zip(source)
        .filter_map(|(key, source)| Some((*deal_at.get(&key?)?, *place.get(source? as usize)?)))
        .collect();
    pairs.sort_unstable();
    pairs.dedup();
    // One row per open deal with a source: its names joined in name order.
    let mut rows: Vec<IdxSize> = Vec::new();
    let mut lists: Vec<String> = Vec::new();
    for group in pairs.chunk_by(|a, b| a.0 == b.0) {
        rows.push(group[0].0 as IdxSize);
        let names: Vec<&str> = group.iter().map(|(_, k)| by_name[*k as usize].0).collect();
        lists.push(names.join(";"));
    }
    let mut out = open_rows
        .select(crate::schema::DEAL)?
        .take(&IdxCa::from_vec(PlSmallStr::EMPTY, rows))?;
    out.with_column(Column::new("source_list".into(), lists))?;
    Ok(out)
}

/// The open deals' rows with their predictions: likelihood, band, model, reasons and notes.
fn with_predictions(mut rows: DataFrame, predictions: &[Prediction]) -> PolarsResult<DataFrame> {
    let reason = |k: usize| {
        predictions
            .iter()
            .map(|p| p.reasons.get(k).cloned().unwrap_or_default())
            .collect::<Vec<_>>()
    };
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
    Ok(rows)
}

/// The columns of `deals.csv` before the carried extras, from the scored rows.
fn deals_columns() -> Vec<Expr> {
    vec![
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
}

fn deals_report(
    s: &Prepared,
    names: &Display,
    source_lists: DataFrame,
    rows: DataFrame,
    predictions: &[Prediction],
    carried_deals: Option<DataFrame>,
) -> PolarsResult<DataFrame> {
    let rows = with_predictions(rows, predictions)?;
    let deal = deal_cols();
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
    let mut df = lf
        .with_column(col("key_origin").alias("key_source"))
        .collect()?;
    for (column, names) in [
        ("player", &names.players),
        ("to_club", &names.clubs),
        ("from_club", &names.clubs),
        ("key_source", &names.sources),
    ] {
        df = with_names(df, column, names)?;
    }
    let mut df = df
        .lazy()
        .select(
            deals_columns()
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

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn unmatched_counts_sum_the_reports_of_ids_never_in_a_transfer() {
        // Four deals: buyers 0, 1, 1, 3; sellers 1, none, 4, 3; reports 2, 3, 4, 5.
        let to = Column::new("to_club".into(), [0u32, 1, 1, 3]);
        let from = Column::new("from_club".into(), [Some(1u32), None, Some(4), Some(3)]);
        let reports = UInt32Chunked::from_slice("reports".into(), &[2, 3, 4, 5]);
        // Club 4 moved a player; a transfer without a seller names nothing.
        let known_to = Column::new("to_club".into(), [4u32]);
        let known_from = Column::new("from_club".into(), [None::<u32>]);
        let got = unmatched_counts(6, &[&to, &from], &reports, &[&known_to, &known_from])
            .expect("counts");
        // Club 0: 2; club 1: 2 as seller + 3 + 4 as buyer; club 3: 5 as buyer and 5 as
        // seller; club 4 is known; clubs 2 and 5 are never named.
        assert_eq!(got, vec![(2, 0), (9, 1), (10, 3)]);
    }

    /// The polars plan [`open_deal_sources`] replaced, kept as its oracle: the open deals'
    /// claims (semi-join), each (deal, source) once, named, sorted by name and joined.
    fn source_lists_by_polars(
        claims: &DataFrame,
        open_rows: &DataFrame,
        sources: &[String],
    ) -> DataFrame {
        let deal = deal_cols();
        let by_name = df!(
            "id" => (0..sources.len() as u32).collect::<Vec<_>>(),
            "name" => sources,
        )
        .expect("names")
        .lazy()
        .sort(["name"], SortMultipleOptions::default())
        .with_row_index("__by_name", None)
        .select([col("id"), col("name"), col("__by_name")]);
        let mut order = deal.clone();
        order.push(col("__by_name"));
        claims
            .clone()
            .lazy()
            .select([col("player"), col("to_club"), col("window"), col("source")])
            .join(
                open_rows.clone().lazy().select(deal.clone()),
                deal.clone(),
                deal.clone(),
                JoinArgs::new(JoinType::Semi),
            )
            .unique(None, UniqueKeepStrategy::Any)
            .join(
                by_name,
                [col("source")],
                [col("id")],
                JoinArgs::new(JoinType::Left),
            )
            .sort_by_exprs(order, SortMultipleOptions::default())
            .group_by_stable(deal.clone())
            .agg([col("name").str().join(";", true).alias("source_list")])
            .sort_by_exprs(deal, SortMultipleOptions::default())
            .collect()
            .expect("oracle")
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        /// Any claims, open deals (some repeated, some without claims) and source names
        /// (capitals, accents, a name shared by two ids): the lists the polars plan makes.
        #[test]
        fn source_lists_are_those_of_the_polars_plan(
            claims in proptest::collection::vec((0u32..6, 0u32..4, 0i32..3, 0u32..7), 0..80),
            open in proptest::collection::vec((0u32..7, 0u32..4, 0i32..3), 0..20),
        ) {
            let sources: Vec<String> =
                ["Zeta", "alpha", "Beta", "Élan", "beta", "Beta", "z"].map(String::from).into();
            let claims = df!(
                "player" => claims.iter().map(|c| c.0).collect::<Vec<_>>(),
                "to_club" => claims.iter().map(|c| c.1).collect::<Vec<_>>(),
                "window" => claims.iter().map(|c| c.2).collect::<Vec<_>>(),
                "source" => claims.iter().map(|c| c.3).collect::<Vec<_>>(),
            ).expect("claims");
            let open = df!(
                "player" => open.iter().map(|o| o.0).collect::<Vec<_>>(),
                "to_club" => open.iter().map(|o| o.1).collect::<Vec<_>>(),
                "window" => open.iter().map(|o| o.2).collect::<Vec<_>>(),
            ).expect("open");
            let ours = open_deal_sources(&claims, &open, &sources)
                .expect("lists")
                .sort(["player", "to_club", "window"], SortMultipleOptions::default())
                .expect("sorted");
            let theirs = source_lists_by_polars(&claims, &open, &sources);
            prop_assert!(ours.equals(&theirs), "{ours:?}\n{theirs:?}");
        }
    }

    #[test]
    fn source_lists_name_each_open_deals_sources_once_in_name_order() {
        // Ids not in name order: 0 "Zeta", 1 "alpha" (after the capitals), 2 "Beta".
        let sources: Vec<String> = ["Zeta", "alpha", "Beta"].map(String::from).into();
        // Deal (7, 1, 30) by sources 0, 1, 2 and 0 again; deal (7, 2, 30) by 1; deal
        // (8, 1, 30) is not open; player 9's deal has no claims.
        let claims = df!(
            "player" => [7u32, 7, 7, 7, 7, 8],
            "to_club" => [1u32, 1, 1, 1, 2, 1],
            "window" => [30i32, 30, 30, 30, 30, 30],
            "source" => [0u32, 1, 2, 0, 1, 2],
        )
        .expect("claims");
        let open = df!(
            "player" => [7u32, 7, 9],
            "to_club" => [2u32, 1, 1],
            "window" => [30i32, 30, 30],
        )
        .expect("open");
        let lists = open_deal_sources(&claims, &open, &sources)
            .expect("lists")
            .sort(["to_club"], SortMultipleOptions::default())
            .expect("sorted");
        let expected = df!(
            "player" => [7u32, 7],
            "to_club" => [1u32, 2],
            "window" => [30i32, 30],
            "source_list" => ["Beta;Zeta;alpha", "alpha"],
        )
        .expect("expected");
        assert!(lists.equals(&expected), "{lists:?}");
    }

    #[test]
    fn gathering_column_by_column_gives_the_sorted_table() {
        let df = df!(
            "source" => [2u32, 1, 2, 1],
            "deal" => [5u64, 9, 3, 1],
            "reports" => [10u32, 20, 30, 40],
            "window_close" => [1i32, 2, 3, 4],
        )
        .expect("df");
        let rows = sorted_rows(&df, vec![col("source"), col("deal")]).expect("rows");
        let out = gather_taking(df, rows, &["deal", "reports", "source"]).expect("gather");
        let expected = df!(
            "deal" => [1u64, 9, 3, 5],
            "reports" => [40u32, 20, 30, 10],
            "source" => [1u32, 1, 2, 2],
        )
        .expect("df");
        assert!(out.equals(&expected), "{out:?}");
    }

    proptest::proptest! {
        /// Columns of every type the stories have (and two they do not), with nulls, in one
        /// or two chunks, each row moved to its place: the table gathered by the inverse.
        #[test]
        fn rows_moved_to_their_places_are_the_rows_gathered(
            rows in proptest::collection::vec(
                (
                    proptest::option::of(proptest::num::i32::ANY),
                    proptest::num::u32::ANY,
                    proptest::option::of(proptest::num::u64::ANY),
                    proptest::option::of(proptest::bool::ANY),
                    proptest::bool::ANY,
                    proptest::option::of("[a-c]{0,2}"),
                    proptest::num::f64::ANY,
                    0u32..1000,
                ),
                0..80,
            ),
            cut in 0usize..80,
        ) {
            let mut df = df!(
                "i" => rows.iter().map(|r| r.0).collect::<Vec<_>>(),
                "u" => rows.iter().map(|r| r.1).collect::<Vec<_>>(),
                "w" => rows.iter().map(|r| r.2).collect::<Vec<_>>(),
                "b" => rows.iter().map(|r| r.3).collect::<Vec<_>>(),
                "c" => rows.iter().map(|r| r.4).collect::<Vec<_>>(),
                "s" => rows.iter().map(|r| r.5.clone()).collect::<Vec<_>>(),
                "f" => rows.iter().map(|r| r.6).collect::<Vec<_>>(),
                "x" => rows.iter().map(|r| Some(r.7)).collect::<Vec<_>>(),
            )
            .expect("df");
            let cut = cut.min(rows.len());
            let mut pieces = df.slice(0, cut);
            pieces.vstack_mut(&df.slice(cut as i64, rows.len())).expect("vstack");
            df = pieces;
            // A permutation: rows ordered by their random key, ties by row.
            let mut order: Vec<usize> = (0..rows.len()).collect();
            order.sort_by_key(|r| (rows[*r].7, *r));
            let mut places = vec![0 as IdxSize; rows.len()];
            for (p, r) in order.iter().enumerate() {
                places[*r] = p as IdxSize;
            }
            let gathered: Vec<IdxSize> = order.iter().map(|r| *r as IdxSize).collect();
            // Some columns, in another order; then every column.
            let some = ["s", "w", "i", "b", "u", "c", "f"];
            let every = ["x", "s", "w", "i", "b", "u", "c", "f"];
            for keep in [&some[..], &every[..]] {
                let moved = scatter_taking(df.clone(), &places, keep).expect("moved");
                let rows = IdxCa::from_vec("".into(), gathered.clone());
                let want = gather_taking(df.clone(), rows, keep).expect("gathered");
                proptest::prop_assert!(moved.equals_missing(&want), "{moved:?} {want:?}");
                for (a, b) in moved.columns().iter().zip(want.columns()) {
                    proptest::prop_assert_eq!(a.dtype(), b.dtype());
                    proptest::prop_assert_eq!(a.name(), b.name());
                }
            }
        }
    }

    #[test]
    fn stories_in_deal_order_are_put_in_source_order_as_the_sort_puts_them() {
        // Six stories in (deal, source) order.
        let df = df!(
            "deal" => [1u64, 1, 2, 2, 2, 4],
            "source" => [1u32, 3, 1, 2, 3, 1],
        )
        .expect("df");
        let places = places_by_source_from_deal_order(&df)
            .expect("places")
            .expect("in deal order");
        assert_eq!(places, [0, 4, 1, 3, 5, 2]);
        // The rows in their places are the rows the sort gives.
        let mut rows = vec![0; places.len()];
        for (r, p) in places.iter().enumerate() {
            rows[*p as usize] = r as IdxSize;
        }
        let sorted = sorted_rows(&df, vec![col("source"), col("deal")]).expect("sorted");
        assert_eq!(rows, [0, 2, 5, 3, 1, 4]);
        assert_eq!(rows, sorted.into_no_null_iter().collect::<Vec<_>>());
        // Any other order (here: deal 2's sources swapped) is sorted instead.
        let swapped = df!(
            "deal" => [1u64, 1, 2, 2, 2, 4],
            "source" => [1u32, 3, 2, 1, 3, 1],
        )
        .expect("df");
        assert!(places_by_source_from_deal_order(&swapped)
            .expect("places")
            .is_none());
    }

    #[test]
    fn carried_columns_take_their_header_names_without_clashing() {
        let mut df = DataFrame::new_infer_height(vec![
            Column::new("player".into(), ["p"]),
            Column::new(crate::ingest::extra_column(0).as_str().into(), ["a"]),
            Column::new(crate::ingest::extra_column(1).as_str().into(), ["b"]),
            Column::new(crate::ingest::extra_column(2).as_str().into(), ["c"]),
            Column::new(crate::ingest::extra_column(3).as_str().into(), ["d"]),
        ])
        .expect("frame");
        // `Player` clashes with `player` (without case), and `claims_Player` then with the
        // first rename; an empty header gets a number.
        let extras = ["league", "Player", "", "Player"].map(String::from);
        name_extras(&mut df, &extras).expect("names");
        let names: Vec<String> = df
            .get_column_names()
            .iter()
            .map(|n| n.to_string())
            .collect();
        assert_eq!(
            names,
            vec![
                "player",
                "league",
                "claims_Player",
                "claims_extra_3",
                "claims_Player_2"
            ]
        );
    }

    #[test]
    fn rejects_frame_has_one_row_per_reject_in_order() {
        let r = |line: u64| Reject {
            file: "claims.csv".into(),
            line,
            column: "window".into(),
            value: "2026-autumn".into(),
            reason: "not a window".into(),
        };
        let df = rejects_frame(&[r(7), r(3)]).expect("frame");
        assert_eq!(
            df.get_column_names(),
            ["file", "line", "column", "value", "reason"]
        );
        let lines: Vec<u64> = df
            .column("line")
            .expect("line")
            .u64()
            .expect("u64")
            .iter()
            .flatten()
            .collect();
        assert_eq!(lines, vec![7, 3]);
    }
}
