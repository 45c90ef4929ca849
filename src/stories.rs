//! Stories and deals: claims grouped into the units that are judged.
//!
//! A *deal* is (player, to_club, window). A *story* is one reporter's reports of one deal:
//! a source is judged on its stories, not on how often it repeats itself. A story's stage is
//! the strongest stage the reporter used before the outcome was known; reports published
//! after it are kept out of the judgement (they are news, not prediction).

use polars::prelude::*;

use crate::deal::DealKey;
use crate::resolve::{deal_facts, outcomes_from_facts};
use crate::schema::Stage;
use crate::settings::Config;
use crate::wording::StageInference;

/// Claims with every `stage` filled in (from `text` where the file had none) and `text`
/// dropped. Adds `stage_inferred` (`Boolean`) and `deal`, the packed key of (player, to_club,
/// window) (see the `deal` module).
pub fn prepare_claims(mut claims: DataFrame, config: &Config) -> PolarsResult<DataFrame> {
    let key = deal_key(&claims)?;
    // Inferred row by row, and only where the stage is missing (3–20% of the claims of the
    // generated worlds): a column expression would match every pattern against every row.
    let inference = StageInference::new(&config.stage_keywords)
        .map_err(|e| PolarsError::ComputeError(format!("stage phrases: {e}").into()))?;
    let text = claims.drop_in_place("text")?;
    let given = claims.column("stage")?.cast(&DataType::UInt32)?;
    let given = given.u32()?;
    let inferred = given.is_null().with_name("stage_inferred".into());
    let stage = inference.fill(given, text.str()?);
    drop(text);
    // As the column expressions did: `stage` replaced where it is, the other two appended.
    claims.with_column(stage.into_column())?;
    claims.with_column(inferred.into_column())?;
    let deal = key.pack_columns(
        claims.column("player")?.u32()?,
        claims.column("to_club")?.u32()?,
        claims.column("window")?.i32()?,
    );
    claims.with_column(deal.into_column())?;
    Ok(claims)
}

/// Collects a query over all claims on polars' streaming engine, which runs these large
/// group-bys about a third faster than the in-memory one (measured: 3.5 s → 2.7 s on 3M claims).
pub(crate) fn collect_streaming(lf: LazyFrame) -> PolarsResult<DataFrame> {
    lf.collect_with_engine(Engine::Streaming)
        .map(|r| r.unwrap_single())
}

/// Aggregates of a group of claims: `first_report`, `last_report`, `reports`, `stage`
/// (strongest) and `denied` (any denial), as the walk of [`group_claims`] and
/// [`judged_again`] make them: the oracle of their tests.
#[cfg(test)]
fn claim_aggregates() -> [Expr; 5] {
    [
        col("published").min().alias("first_report"),
        col("published").max().alias("last_report"),
        len().cast(DataType::UInt32).alias("reports"),
        col("stage").max().alias("stage"),
        col("stage")
            .eq(lit(Stage::Denied.rank()))
            .any(true)
            .alias("denied"),
    ]
}

/// Stories (by source and by author) and deals, resolved. Each also has `deal`, the packed
/// key of (player, to_club, window).
pub struct Resolved {
    /// `source, player, to_club, window, first_report, last_report, reports, stage, denied,
    /// window_close, resolved_on, outcome`.
    pub stories: DataFrame,
    /// Stories by author, judged as the source stories are, with only what the authors'
    /// reliabilities read: [`AUTHOR_STORY_COLUMNS`].
    pub author_stories: DataFrame,
    /// `player, to_club, window, from_club, first_report, last_report, reports, sources,
    /// stage, denied, window_close, resolved_on, outcome`. `from_club` is the club most claims
    /// name as the player's (the seller).
    pub deals: DataFrame,
}

/// The columns of [`Resolved::author_stories`].
pub const AUTHOR_STORY_COLUMNS: [&str; 4] = ["author", "stage", "outcome", "resolved_on"];

/// Groups claims into stories and deals and resolves them against `moves`.
pub fn stories_and_deals(
    claims: &DataFrame,
    moves: LazyFrame,
    windows: &DataFrame,
    config: &Config,
    as_of: i32,
) -> PolarsResult<Resolved> {
    let key = deal_key(claims)?;
    // The packed `deal` stays beside the unpacked columns: it sorts and joins faster.
    let unpack = |mut df: DataFrame| -> PolarsResult<DataFrame> {
        let [player, to_club, window] = key.unpack_columns(df.column("deal")?.u64()?);
        // As `with_columns` would: `window` replaced where it is, the other two appended.
        df.with_column(window)?;
        df.with_column(player)?;
        df.with_column(to_club)?;
        Ok(df)
    };
    let Grouped {
        by_source,
        by_author,
        deals,
    } = group_claims(claims, &key)?;
    let deals = unpack(deals)?;
    // The facts each deal's outcome is read from, in the deals' order: the deals take them
    // side by side and the stories by their deal's row, instead of each joining the moves
    // and the windows (at ten million claims, 9 million source stories: 0.5 s less).
    let facts = deal_facts(&deals, &moves.collect()?, windows, &config.outcomes)?;
    let outcomes = |items: DataFrame| outcomes_from_facts(items.lazy(), &config.outcomes, as_of);
    let by_deal_row = |mut items: DataFrame| -> PolarsResult<LazyFrame> {
        let rows = items.drop_in_place(DEAL_ROW)?;
        items.hstack_mut(facts.take(rows.idx()?)?.columns())?;
        Ok(outcomes(items))
    };
    let mut deal_items = deals.drop_many(["player", "to_club"]);
    deal_items.hstack_mut(facts.columns())?;
    let deals = unpack(outcomes(deal_items).collect()?)?;
    // Only the authors' reliabilities read these: the four columns they need, not the eleven
    // the source stories carry (at ten million claims, 190 MB less held after this stage).
    // Made before the source stories are judged: their group-by then runs beside the grouped
    // source stories rather than the larger judged table.
    let author_stories = judge_before_outcome(
        claims,
        &key,
        "author",
        collect_streaming(by_deal_row(by_author)?)?,
    )?
    .select(AUTHOR_STORY_COLUMNS)?;
    let resolved = rechunked(collect_streaming(by_deal_row(by_source)?)?)?;
    drop(facts);
    let stories = unpack(judge_before_outcome(claims, &key, "source", resolved)?)?;
    Ok(Resolved {
        stories,
        author_stories,
        deals,
    })
}

/// Claims grouped three ways: stories by source, stories by author and deals.
struct Grouped {
    /// `window, first_report, last_report, reports, stage, denied, source, deal`.
    by_source: DataFrame,
    /// The same columns with `author` for `source`, for claims that name an author.
    by_author: DataFrame,
    /// `deal, window, first_report, last_report, reports, stage, denied, sources, from_club`:
    /// `sources` counts the deal's source stories, `from_club` is the club most of its claims
    /// name as the seller (ties: the smaller id; null when none names one).
    deals: DataFrame,
}

/// Groups the claims (`deal, source, author, from_club, published, stage, window`) into
/// [`Grouped`] with one sort of (deal, source, row) and one walk over it: a deal's claims are
/// then adjacent, its source stories are runs within it, and its few authors and sellers are
/// sorted in place. Three hash group-bys over every claim (source stories, author stories,
/// sellers) and a fourth over the stories (deals) cost four times the memory traffic.
///
/// The walk runs in parts split at deal boundaries, in parallel; every table comes out in
/// (deal, reporter) order whatever the thread count.
fn group_claims(claims: &DataFrame, key: &DealKey) -> PolarsResult<Grouped> {
    use rayon::prelude::*;

    let deal = claims.column("deal")?.u64()?.rechunk();
    let source = claims.column("source")?.u32()?.rechunk();
    let author = claims.column("author")?.u32()?.rechunk();
    let from_club = claims.column("from_club")?.u32()?.rechunk();
    let published = claims.column("published")?.i32()?.rechunk();
    let stage = claims.column("stage")?.u32()?.rechunk();
    let n = claims.height();
    let (deal, source) = (no_nulls(&deal, "deal", n)?, no_nulls(&source, "source", n)?);
    let (published, stage) = (
        no_nulls(&published, "published", n)?,
        no_nulls(&stage, "stage", n)?,
    );
    // One chunk each (or none when there are no claims); `get` reads the validity.
    let author = author.downcast_iter().next();
    let from_club = from_club.downcast_iter().next();

    let rows =
        u32::try_from(n).map_err(|_| PolarsError::ComputeError("over 4 billion claims".into()))?;
    // Each claim is sorted with what the walk reads of it, so that the walk reads the sorted
    // claims in order instead of four columns at a random row per claim (at ten million
    // claims, the walk took 1.1 s of this function's 1.5 s that way). `NONE` marks a missing
    // author or seller, so no id may be `NONE` itself.
    let max_id = |c: &UInt32Chunked| c.max().is_some_and(|m| m == NONE);
    if max_id(claims.column("author")?.u32()?) || max_id(claims.column("from_club")?.u32()?) {
        return Err(PolarsError::ComputeError(
            "a name id reaches u32::MAX".into(),
        ));
    }
    let mut order: Vec<SortedClaim> = (0..rows)
        .into_par_iter()
        .map(|r| {
            let i = r as usize;
            SortedClaim {
                deal: deal[i],
                source: source[i],
                row: r,
                published: published[i],
                stage: stage[i],
                author: author.and_then(|c| c.get(i)).unwrap_or(NONE),
                seller: from_club.and_then(|c| c.get(i)).unwrap_or(NONE),
            }
        })
        .collect();
    // (deal, source, row) is unique: one order whatever the thread count. Compared as one
    // `u128` (deal, then source, then row), which orders exactly like the triple.
    order.par_sort_unstable_by_key(|c| {
        (u128::from(c.deal) << 64) | (u128::from(c.source) << 32) | u128::from(c.row)
    });

    // Parts of about equal size, each starting at the first claim of a deal.
    let parts = (rayon::current_num_threads() * 4).max(1);
    let mut bounds = vec![0usize];
    for p in 1..parts {
        let mut at = (n * p / parts).max(*bounds.last().unwrap_or(&0));
        while at > 0 && at < n && order[at].deal == order[at - 1].deal {
            at += 1;
        }
        if at > *bounds.last().unwrap_or(&0) && at < n {
            bounds.push(at);
        }
    }
    bounds.push(n);
    let denied = Stage::Denied.rank();
    let mut walked: Vec<Walked> = bounds
        .par_windows(2)
        .map(|span| walk(&order[span[0]..span[1]], key, denied))
        .collect();
    drop(order);
    // The parts' deal rows, made rows of the whole deals table.
    let mut offset = 0u32;
    for w in &mut walked {
        for rows in [&mut w.by_source.deal_row, &mut w.by_author.deal_row] {
            rows.iter_mut().for_each(|r| *r += offset);
        }
        offset += w.deals.deal.len() as u32;
    }

    let mut by_source = Vec::with_capacity(walked.len());
    let mut by_author = Vec::with_capacity(walked.len());
    let mut deals = Vec::with_capacity(walked.len());
    for w in walked {
        by_source.push(w.by_source);
        by_author.push(w.by_author);
        deals.push(w.deals);
    }
    Ok(Grouped {
        by_source: StoryColumns::frame(by_source, "source")?,
        by_author: StoryColumns::frame(by_author, "author")?,
        deals: DealColumns::frame(deals)?,
    })
}

/// The column of a story's deal's row in the deals table, while outcomes are resolved.
const DEAL_ROW: &str = "__deal_row";

/// The three tables of the sorted claims of whole deals (one part of [`group_claims`]' walk);
/// `deal_row` counts this part's deals.
fn walk(order: &[SortedClaim], key: &DealKey, denied: u32) -> Walked {
    let n = order.len();
    let mut out = Walked::default();
    // Room for a story and a deal per claim, the most there can be: reserved, not touched
    // (so not resident), it spares the copies of growing (0.17 s at ten million claims).
    out.by_source.reserve(n);
    out.deals.reserve(n);
    let mut authors: Vec<(u32, u32, i32, u32)> = Vec::new();
    let mut sellers: Vec<u32> = Vec::new();
    let mut i = 0;
    while i < n {
        let d = order[i].deal;
        let mut j = i;
        while j < n && order[j].deal == d {
            j += 1;
        }
        // The window is part of the deal's key (no read of the claim's row).
        let w = key.window_of(d);
        // The deal's row in this part's deals (`group_claims` makes it a row of the whole table).
        let deal_row = out.deals.deal.len() as u32;
        let mut whole = Story::default();
        let mut stories = 0u32;
        let mut k = i;
        while k < j {
            let s = order[k].source;
            let mut story = Story::default();
            while k < j && order[k].source == s {
                story.add(order[k].published, order[k].stage, denied);
                k += 1;
            }
            whole.merge(&story);
            stories += 1;
            out.by_source.push(w, &story, s, d, deal_row);
        }
        authors.clear();
        sellers.clear();
        for c in &order[i..j] {
            if c.author != NONE {
                authors.push((c.author, c.row, c.published, c.stage));
            }
            if c.seller != NONE {
                sellers.push(c.seller);
            }
        }
        authors.sort_unstable();
        let mut a = 0;
        while a < authors.len() {
            let id = authors[a].0;
            let mut story = Story::default();
            while a < authors.len() && authors[a].0 == id {
                story.add(authors[a].2, authors[a].3, denied);
                a += 1;
            }
            out.by_author.push(w, &story, id, d, deal_row);
        }
        sellers.sort_unstable();
        out.deals
            .push(w, &whole, stories, d, most_frequent(&sellers));
        i = j;
    }
    out
}

/// An absent author or seller in [`SortedClaim`] (ids are below the number of names).
const NONE: u32 = u32::MAX;

/// A claim as [`group_claims`] sorts and walks it: its keys and the values the walk reads.
#[derive(Clone, Copy)]
struct SortedClaim {
    deal: u64,
    source: u32,
    row: u32,
    published: i32,
    stage: u32,
    /// [`NONE`] when the claim names none.
    author: u32,
    seller: u32,
}

/// The values of a column that must have no missing ones, as one slice.
fn no_nulls<'a, T: PolarsNumericType>(
    ca: &'a ChunkedArray<T>,
    name: &str,
    n: usize,
) -> PolarsResult<&'a [T::Native]> {
    if n == 0 {
        return Ok(&[]);
    }
    ca.cont_slice().map_err(|_| {
        PolarsError::ComputeError(format!("claims column `{name}` has missing values").into())
    })
}

/// The most frequent value of sorted `values`, ties to the smallest; `None` when empty.
fn most_frequent(sorted: &[u32]) -> Option<u32> {
    let mut best: Option<(u32, usize)> = None;
    let mut i = 0;
    while i < sorted.len() {
        let v = sorted[i];
        let mut j = i;
        while j < sorted.len() && sorted[j] == v {
            j += 1;
        }
        if best.is_none_or(|(_, n)| j - i > n) {
            best = Some((v, j - i));
        }
        i = j;
    }
    best.map(|(v, _)| v)
}

/// The aggregates of a group of claims (see [`claim_aggregates`]).
#[derive(Clone, Copy)]
struct Story {
    first: i32,
    last: i32,
    reports: u32,
    stage: u32,
    denied: bool,
}

impl Default for Story {
    fn default() -> Story {
        Story {
            first: i32::MAX,
            last: i32::MIN,
            reports: 0,
            stage: 0,
            denied: false,
        }
    }
}

impl Story {
    fn add(&mut self, published: i32, stage: u32, denied: u32) {
        self.first = self.first.min(published);
        self.last = self.last.max(published);
        self.reports += 1;
        self.stage = self.stage.max(stage);
        self.denied |= stage == denied;
    }

    fn merge(&mut self, other: &Story) {
        self.first = self.first.min(other.first);
        self.last = self.last.max(other.last);
        self.reports += other.reports;
        self.stage = self.stage.max(other.stage);
        self.denied |= other.denied;
    }
}

/// One part's rows of the three tables.
#[derive(Default)]
struct Walked {
    by_source: StoryColumns,
    by_author: StoryColumns,
    deals: DealColumns,
}

/// The columns of a group's aggregates ([`Story`]) and its window, as rows are pushed.
#[derive(Default)]
struct AggregateColumns {
    window: Vec<i32>,
    first: Vec<i32>,
    last: Vec<i32>,
    reports: Vec<u32>,
    stage: Vec<u32>,
    denied: Vec<bool>,
}

impl AggregateColumns {
    /// The names of the six columns, in order.
    const NAMES: [&'static str; 6] = [
        "window",
        "first_report",
        "last_report",
        "reports",
        "stage",
        "denied",
    ];

    fn reserve(&mut self, n: usize) {
        self.window.reserve(n);
        self.first.reserve(n);
        self.last.reserve(n);
        self.reports.reserve(n);
        self.stage.reserve(n);
        self.denied.reserve(n);
    }

    fn push(&mut self, window: i32, s: &Story) {
        self.window.push(window);
        self.first.push(s.first);
        self.last.push(s.last);
        self.reports.push(s.reports);
        self.stage.push(s.stage);
        self.denied.push(s.denied);
    }

    /// The six columns as the next chunks of columns `at..at + 6` of `c`.
    fn add_to(self, c: &mut Chunks, at: usize) {
        c.i32(at, self.window);
        c.i32(at + 1, self.first);
        c.i32(at + 2, self.last);
        c.u32(at + 3, self.reports);
        c.u32(at + 4, self.stage);
        c.bool(at + 5, &self.denied);
    }
}

/// Stories: the aggregates, then the reporter and the deal.
#[derive(Default)]
struct StoryColumns {
    aggregates: AggregateColumns,
    reporter: Vec<u32>,
    deal: Vec<u64>,
    /// The row of the story's deal in the deals table ([`DEAL_ROW`]).
    deal_row: Vec<u32>,
}

impl StoryColumns {
    fn reserve(&mut self, n: usize) {
        self.aggregates.reserve(n);
        self.reporter.reserve(n);
        self.deal.reserve(n);
        self.deal_row.reserve(n);
    }

    fn push(&mut self, window: i32, s: &Story, reporter: u32, deal: u64, deal_row: u32) {
        self.aggregates.push(window, s);
        self.reporter.push(reporter);
        self.deal.push(deal);
        self.deal_row.push(deal_row);
    }

    /// The parts as one table, a chunk per part (no copy of the values).
    fn frame(parts: Vec<StoryColumns>, reporter: &str) -> PolarsResult<DataFrame> {
        let mut c = Chunks::default();
        for p in parts {
            p.aggregates.add_to(&mut c, 0);
            c.u32(6, p.reporter);
            c.u64(7, p.deal);
            c.u32(8, p.deal_row);
        }
        let mut names = AggregateColumns::NAMES.to_vec();
        names.extend([reporter, "deal", DEAL_ROW]);
        c.frame(&names)
    }
}

/// Deals: the deal, the aggregates, the number of source stories and the seller.
#[derive(Default)]
struct DealColumns {
    deal: Vec<u64>,
    aggregates: AggregateColumns,
    sources: Vec<u32>,
    seller: Vec<Option<u32>>,
}

impl DealColumns {
    fn reserve(&mut self, n: usize) {
        self.aggregates.reserve(n);
        self.deal.reserve(n);
        self.sources.reserve(n);
        self.seller.reserve(n);
    }

    fn push(&mut self, window: i32, s: &Story, sources: u32, deal: u64, seller: Option<u32>) {
        self.deal.push(deal);
        self.aggregates.push(window, s);
        self.sources.push(sources);
        self.seller.push(seller);
    }

    fn frame(parts: Vec<DealColumns>) -> PolarsResult<DataFrame> {
        let mut c = Chunks::default();
        for p in parts {
            c.u64(0, p.deal);
            p.aggregates.add_to(&mut c, 1);
            c.u32(7, p.sources);
            c.opt_u32(8, &p.seller);
        }
        let mut names = vec!["deal"];
        names.extend(AggregateColumns::NAMES);
        names.extend(["sources", "from_club"]);
        c.frame(&names)
    }
}

/// Columns assembled from parts, each part a chunk.
#[derive(Default)]
struct Chunks {
    /// Per column, its parts in order.
    columns: Vec<Vec<Series>>,
}

impl Chunks {
    fn add(&mut self, at: usize, part: Series) {
        if self.columns.len() <= at {
            self.columns.resize_with(at + 1, Vec::new);
        }
        self.columns[at].push(part);
    }

    fn i32(&mut self, at: usize, v: Vec<i32>) {
        self.add(
            at,
            Int32Chunked::from_vec(PlSmallStr::EMPTY, v).into_series(),
        );
    }

    fn u32(&mut self, at: usize, v: Vec<u32>) {
        self.add(
            at,
            UInt32Chunked::from_vec(PlSmallStr::EMPTY, v).into_series(),
        );
    }

    fn u64(&mut self, at: usize, v: Vec<u64>) {
        self.add(
            at,
            UInt64Chunked::from_vec(PlSmallStr::EMPTY, v).into_series(),
        );
    }

    fn bool(&mut self, at: usize, v: &[bool]) {
        self.add(
            at,
            BooleanChunked::from_slice(PlSmallStr::EMPTY, v).into_series(),
        );
    }

    fn opt_u32(&mut self, at: usize, v: &[Option<u32>]) {
        self.add(
            at,
            UInt32Chunked::from_slice_options(PlSmallStr::EMPTY, v).into_series(),
        );
    }

    /// The columns named `names`, each its parts linked as chunks (no copy of the values).
    fn frame(self, names: &[&str]) -> PolarsResult<DataFrame> {
        let mut columns = Vec::with_capacity(names.len());
        for (parts, name) in self.columns.into_iter().zip(names) {
            let mut parts = parts.into_iter();
            let mut column = parts
                .next()
                .ok_or_else(|| PolarsError::ComputeError("no parts".into()))?;
            for part in parts {
                column.append_owned(part)?;
            }
            columns.push(column.with_name((*name).into()).into_column());
        }
        DataFrame::new_infer_height(columns)
    }
}

/// `df` in one chunk per column (the streaming engine returns a table in many), a column per
/// thread at a time, each freed as its copy is made, so that the table is never held twice:
/// later gathers and joins read whole columns.
fn rechunked(mut df: DataFrame) -> PolarsResult<DataFrame> {
    df.rechunk_mut_par();
    Ok(df)
}

/// For each group of `keys` in `counts` (`keys…, value, n`), the `value` (a `UInt32` id) with
/// the largest `n`, ties to the smaller id. One maximum of `n · 2^32 + (2^32 − 1 − value)` per
/// group, instead of a sort per group (which cost a second per million deals) or a maximum, a
/// join back and a minimum. The oracle of the tests' modes (the features count by hand).
#[cfg(test)]
fn most_counted(counts: LazyFrame, keys: Vec<Expr>, value: &str) -> LazyFrame {
    let low = lit(u32::MAX as u64);
    counts
        .group_by(keys)
        .agg([(col("n").cast(DataType::UInt64) * lit(1u64 << 32)
            + (low.clone() - col(value).cast(DataType::UInt64)))
        .max()
        .alias("__best")])
        .with_column(
            (low - col("__best") % lit(1u64 << 32))
                .cast(DataType::UInt32)
                .alias(value),
        )
        .drop(cols(["__best"]))
}

/// The deal key for the claims' players, clubs and windows.
fn deal_key(claims: &DataFrame) -> PolarsResult<DealKey> {
    let max = |c: &str| {
        claims
            .column(c)
            .ok()
            .and_then(|c| c.u32().ok().and_then(|v| v.max()))
            .unwrap_or(0)
    };
    let window = claims.column("window")?.i32()?;
    let (wmin, wmax) = (window.min().unwrap_or(0), window.max().unwrap_or(0));
    DealKey::new(max("player"), max("to_club"), wmin, wmax)
        .map_err(|e| PolarsError::ComputeError(e.into()))
}

/// Stories with reports after their outcome was known are judged on the earlier reports.
/// Only those stories (a fraction of a percent) are joined back to their claims, and only
/// their rows of the four judged columns are rewritten; the table keeps its rows and order.
fn judge_before_outcome(
    claims: &DataFrame,
    key: &DealKey,
    reporter: &str,
    resolved: DataFrame,
) -> PolarsResult<DataFrame> {
    // The stale stories, `__row, reporter, deal, resolved_on`: found by one scan of three
    // columns, a piece of the rows per thread (at ten million stories, 0.08 s as a query).
    let rows = stale_rows(&resolved)?;
    let mut stale = resolved
        .select([reporter, "deal", "resolved_on"])?
        .take(&rows)?;
    stale.insert_column(0, rows.with_name("__row".into()).into_column())?;
    if stale.height() == 0 {
        return Ok(resolved);
    }
    // Their claims: those of their players (ids, marked in a table by id), so that only
    // those are looked up among the stale stories (at ten million claims of the default world,
    // a few of every claim).
    let [players, ..] = key.unpack_columns(stale.column("deal")?.u64()?);
    let of_players = crate::deal::rows_with_ids_in(
        claims,
        &[reporter, "deal", "published", "stage"],
        "player",
        &DataFrame::new_infer_height(vec![players])?,
    )?;
    let patch = judged_again(&of_players, reporter, &stale)?;
    let rows: Vec<IdxSize> = patch.column("__row")?.idx()?.into_no_null_iter().collect();
    let order: Vec<PlSmallStr> = resolved.get_column_names_owned();
    let mut out = resolved;
    for name in ["last_report", "reports", "stage", "denied"] {
        let values = patch.column(name)?.as_materialized_series();
        // Taken out of the table and unwrapped, so that the scatter writes in place.
        let column = out.drop_in_place(name)?.take_materialized_series();
        let patched = match column.dtype() {
            DataType::Int32 => {
                let mut ca = column.i32()?.clone();
                drop(column);
                (&mut ca).scatter(&rows, values.i32()?.iter())?
            }
            DataType::UInt32 => {
                let mut ca = column.u32()?.clone();
                drop(column);
                (&mut ca).scatter(&rows, values.u32()?.iter())?
            }
            DataType::Boolean => {
                let mut ca = column.bool()?.clone();
                drop(column);
                (&mut ca).scatter(&rows, values.bool()?.iter())?
            }
            other => {
                return Err(PolarsError::ComputeError(
                    format!("judged column `{name}` has an unexpected type {other}").into(),
                ))
            }
        };
        out.with_column(patched.with_name(name.into()).into_column())?;
    }
    out.select(order)
}

/// A claim of a stale story, by its outcome: the story's place, the claim's day and stage.
type StaleClaim = (usize, i32, Option<u32>);

/// `__row, last_report, reports, stage, denied` of each stale story (`__row, <reporter>, deal,
/// resolved_on`) over its claims among `claims` (`<reporter>, deal, published, stage`)
/// published by the day it was resolved on; a story without such a claim is left out (a null
/// key or day matches nothing). One pass over the claims, in pieces on every thread, each
/// claim's story found in a hash table of the stale stories: the semi-join, join, filter and
/// group-by it replaces took about 0.1 s a call at a million claims of 5,000 players, most of
/// whose stories had reports after their outcome (property tests compare the two).
fn judged_again(claims: &DataFrame, reporter: &str, stale: &DataFrame) -> PolarsResult<DataFrame> {
    use rayon::prelude::*;
    let n = stale.height();
    let mut index: std::collections::HashMap<(u32, u64), usize, foldhash::fast::FixedState> =
        std::collections::HashMap::with_capacity_and_hasher(n, Default::default());
    let keys = stale
        .column(reporter)?
        .u32()?
        .iter()
        .zip(stale.column("deal")?.u64()?.iter());
    for (s, key) in keys.enumerate() {
        if let (Some(r), Some(d)) = key {
            index.insert((r, d), s);
        }
    }
    let day: Vec<Option<i32>> = stale.column("resolved_on")?.i32()?.iter().collect();
    let mut last: Vec<Option<i32>> = vec![None; n];
    let mut reports = vec![0u32; n];
    let mut stage: Vec<Option<u32>> = vec![None; n];
    let mut denied = vec![false; n];
    let denial = Stage::Denied.rank();
    // Each piece of the claims lists its claims' stories, days and stages (a few threads'
    // worth of pieces, in order); the aggregates are then summed in claim order.
    let pieces = (rayon::current_num_threads() * 4).max(1);
    let size = claims.height().div_ceil(pieces).max(1);
    let found: Vec<PolarsResult<Vec<StaleClaim>>> = (0..claims.height())
        .step_by(size)
        .collect::<Vec<_>>()
        .into_par_iter()
        .map(|from| {
            let piece = claims.slice(from as i64, size);
            let rows = piece
                .column(reporter)?
                .u32()?
                .iter()
                .zip(piece.column("deal")?.u64()?.iter())
                .zip(piece.column("published")?.i32()?.iter())
                .zip(piece.column("stage")?.u32()?.iter());
            let mut found = Vec::new();
            for (((r, d), published), st) in rows {
                let (Some(r), Some(d), Some(p)) = (r, d, published) else {
                    continue;
                };
                let Some(&s) = index.get(&(r, d)) else {
                    continue;
                };
                if day[s].is_some_and(|on| p <= on) {
                    found.push((s, p, st));
                }
            }
            Ok(found)
        })
        .collect();
    for piece in found {
        for (s, p, st) in piece? {
            last[s] = Some(last[s].map_or(p, |l| l.max(p)));
            reports[s] += 1;
            if let Some(st) = st {
                stage[s] = Some(stage[s].map_or(st, |m| m.max(st)));
            }
            denied[s] |= st == Some(denial);
        }
    }
    let kept: Vec<IdxSize> = (0..n)
        .filter(|s| reports[*s] > 0)
        .map(|s| s as IdxSize)
        .collect();
    let pick = |s: &IdxSize| *s as usize;
    DataFrame::new_infer_height(vec![
        stale
            .column("__row")?
            .take(&IdxCa::from_vec(PlSmallStr::EMPTY, kept.clone()))?,
        Column::new(
            "last_report".into(),
            kept.iter().map(|s| last[pick(s)]).collect::<Vec<_>>(),
        ),
        Column::new(
            "reports".into(),
            kept.iter().map(|s| reports[pick(s)]).collect::<Vec<_>>(),
        ),
        Column::new(
            "stage".into(),
            kept.iter().map(|s| stage[pick(s)]).collect::<Vec<_>>(),
        ),
        Column::new(
            "denied".into(),
            kept.iter().map(|s| denied[pick(s)]).collect::<Vec<_>>(),
        ),
    ])
}

/// The rows of `resolved` judged on reports after their outcome: resolved (confirmed or
/// refuted) with a last report after the day it was resolved on, in table order.
fn stale_rows(resolved: &DataFrame) -> PolarsResult<IdxCa> {
    use crate::schema::outcome::{CONFIRMED, REFUTED};
    let narrow = resolved.select(["outcome", "last_report", "resolved_on"])?;
    let rows = crate::column_values::rows_found(&narrow, |piece| {
        let outcome = piece.column("outcome")?.u32()?;
        let last = piece.column("last_report")?.i32()?;
        let on = piece.column("resolved_on")?.i32()?;
        let found: Vec<IdxSize> = outcome
            .iter()
            .zip(last.iter().zip(on.iter()))
            .enumerate()
            .filter(|(_, (o, (last, on)))| {
                matches!(o, Some(CONFIRMED | REFUTED))
                    && matches!((last, on), (Some(last), Some(on)) if last > on)
            })
            .map(|(i, _)| i as IdxSize)
            .collect();
        Ok(found)
    })?;
    Ok(IdxCa::from_vec(PlSmallStr::EMPTY, rows))
}

/// For each group of `keys`, the most frequent non-null `value` (a `UInt32` id; ties: the
/// smallest id).
#[cfg(test)]
pub fn mode_by(lf: LazyFrame, keys: &[&str], value: &str) -> LazyFrame {
    let key_exprs: Vec<Expr> = keys.iter().map(|k| col(*k)).collect();
    let mut with_value = key_exprs.clone();
    with_value.push(col(value));
    let counts = lf
        .filter(col(value).is_not_null())
        .group_by(with_value)
        .agg([len().alias("n")]);
    most_counted(counts, key_exprs, value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mode_by_two_keys_is_the_most_frequent_value_ties_to_the_smaller() {
        // (1, 1): 7 twice, 4 once, null thrice → 7. (1, 2): 9 and 3 once each → 3.
        // (2, 1): only nulls → no row.
        let rows = df!(
            "a" => [1u32, 1, 1, 1, 1, 1, 1, 1, 2],
            "b" => [1u32, 1, 1, 1, 1, 1, 2, 2, 1],
            "v" => [Some(7u32), Some(4), Some(7), None, None, None, Some(9), Some(3), None],
        )
        .expect("df");
        let out = mode_by(rows.lazy(), &["a", "b"], "v")
            .sort(["a", "b"], SortMultipleOptions::default())
            .collect()
            .expect("collect");
        let expected = df!("a" => [1u32, 1], "b" => [1u32, 2], "v" => [7u32, 3]).expect("df");
        assert!(out.equals(&expected), "{out:?}");
    }

    #[test]
    fn claims_group_into_source_stories_author_stories_and_deals() {
        use Stage::*;
        let r = |s: Stage| s.rank();
        // Deal 10 (window 4050): sources 3 and 1, authors 7 (twice) and 2, sellers 5 and 3
        // named twice each (the tie goes to 3). Deal 11: one claim, no author, no seller.
        // Rows out of order.
        let claims = df!(
            "deal" => [11u64, 10, 10, 10, 10],
            "source" => [3u32, 1, 3, 1, 3],
            "author" => [None, Some(7u32), Some(7), Some(2), None],
            "from_club" => [None, Some(5u32), Some(5), Some(3), Some(3)],
            "published" => [5i32, 30, 10, 7, 12],
            "stage" => [r(Done), r(Denied), r(Interest), r(Speculation), r(Advanced)],
            "window" => [4051i32, 4050, 4050, 4050, 4050],
        )
        .expect("df");
        // Windows 4050 and 4051 take one bit of the key: deal 10 is in 4050, 11 in 4051.
        let key = DealKey::new(100, 100, 4050, 4051).expect("key");
        let g = group_claims(&claims, &key).expect("grouped");
        let stories = |reporter: &str| {
            df!(
                "window" => [4050i32, 4050, 4051],
                "first_report" => [7i32, 10, 5],
                "last_report" => [30i32, 12, 5],
                "reports" => [2u32, 2, 1],
                "stage" => [r(Speculation), r(Advanced), r(Done)],
                "denied" => [true, false, false],
                reporter => [1u32, 3, 3],
                "deal" => [10u64, 10, 11],
                DEAL_ROW => [0u32, 0, 1],
            )
            .expect("df")
        };
        assert!(g.by_source.equals(&stories("source")), "{:?}", g.by_source);
        let by_author = df!(
            "window" => [4050i32, 4050],
            "first_report" => [7i32, 10],
            "last_report" => [7i32, 30],
            "reports" => [1u32, 2],
            "stage" => [r(Speculation), r(Interest)],
            "denied" => [false, true],
            "author" => [2u32, 7],
            "deal" => [10u64, 10],
            DEAL_ROW => [0u32, 0],
        )
        .expect("df");
        assert!(g.by_author.equals(&by_author), "{:?}", g.by_author);
        let deals = df!(
            "deal" => [10u64, 11],
            "window" => [4050i32, 4051],
            "first_report" => [7i32, 5],
            "last_report" => [30i32, 5],
            "reports" => [4u32, 1],
            "stage" => [r(Advanced), r(Done)],
            "denied" => [true, false],
            "sources" => [2u32, 1],
            "from_club" => [Some(3u32), None],
        )
        .expect("df");
        assert!(g.deals.equals_missing(&deals), "{:?}", g.deals);
        // No claims: three empty tables with the same columns.
        let none = group_claims(&claims.head(Some(0)), &key).expect("empty");
        assert_eq!(none.by_source.height(), 0);
        assert_eq!(
            none.by_source.get_column_names(),
            g.by_source.get_column_names()
        );
        assert_eq!(none.deals.get_column_names(), g.deals.get_column_names());
    }

    #[test]
    fn the_most_frequent_value_ties_to_the_smallest() {
        assert_eq!(most_frequent(&[]), None);
        assert_eq!(most_frequent(&[4]), Some(4));
        assert_eq!(most_frequent(&[3, 3, 5, 5, 9]), Some(3));
        assert_eq!(most_frequent(&[1, 3, 5, 5, 9, 9, 9]), Some(9));
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(24))]
        /// The one-sort walk gives the tables polars' group-bys give, whatever the split into
        /// parts (many deals, few deals, deals larger than a part).
        #[test]
        fn the_walk_agrees_with_polars_group_bys(
            rows in proptest::collection::vec(
                (0u64..40, 0u32..6, proptest::option::of(0u32..4), proptest::option::of(0u32..5), 0i32..100, 0u32..7),
                0..600,
            )
        ) {
            let claims = df!(
                "deal" => rows.iter().map(|r| r.0).collect::<Vec<_>>(),
                "source" => rows.iter().map(|r| r.1).collect::<Vec<_>>(),
                "author" => rows.iter().map(|r| r.2).collect::<Vec<_>>(),
                "from_club" => rows.iter().map(|r| r.3).collect::<Vec<_>>(),
                "published" => rows.iter().map(|r| r.4).collect::<Vec<_>>(),
                "stage" => rows.iter().map(|r| r.5).collect::<Vec<_>>(),
                "window" => rows.iter().map(|r| 4000 + (r.0 % 4) as i32).collect::<Vec<_>>(),
            )
            .expect("df");
            // Windows 4000-4003: the key's two lowest bits.
            let key = DealKey::new(100, 100, 4000, 4003).expect("key");
            let g = group_claims(&claims, &key).expect("grouped");
            let aggs = || {
                let mut a = vec![col("window").first()];
                a.extend(claim_aggregates());
                a
            };
            let by = |reporter: &str, lf: LazyFrame| {
                lf.group_by([col(reporter), col("deal")])
                    .agg(aggs())
                    .sort(["deal", reporter], SortMultipleOptions::default())
                    .select([
                        col("window"), col("first_report"), col("last_report"), col("reports"),
                        col("stage"), col("denied"), col(reporter), col("deal"),
                    ])
                    .collect()
                    .expect("group")
            };
            let lf = claims.clone().lazy();
            // A story's deal row is its deal's row in the deals table.
            let deal_of_row: Vec<u64> = g.deals.column("deal").expect("deal").u64().expect("u64")
                .into_no_null_iter().collect();
            for table in [&g.by_source, &g.by_author] {
                let deal = table.column("deal").expect("deal").u64().expect("u64");
                let row = table.column(DEAL_ROW).expect("row").u32().expect("u32");
                for (d, r) in deal.into_no_null_iter().zip(row.into_no_null_iter()) {
                    proptest::prop_assert_eq!(deal_of_row[r as usize], d);
                }
            }
            let without_row = |t: &DataFrame| t.drop(DEAL_ROW).expect("drop");
            proptest::prop_assert!(without_row(&g.by_source).equals(&by("source", lf.clone())));
            proptest::prop_assert!(without_row(&g.by_author)
                .equals(&by("author", lf.clone().filter(col("author").is_not_null()))));
            let seller = mode_by(lf.clone(), &["deal"], "from_club");
            let deals = by("source", lf)
                .lazy()
                .group_by([col("deal")])
                .agg([
                    col("window").first(),
                    col("first_report").min(),
                    col("last_report").max(),
                    col("reports").sum(),
                    col("stage").max(),
                    col("denied").any(true),
                    len().cast(DataType::UInt32).alias("sources"),
                ])
                .join(seller, [col("deal")], [col("deal")], JoinArgs::new(JoinType::Left))
                .sort(["deal"], SortMultipleOptions::default())
                .collect()
                .expect("deals");
            proptest::prop_assert!(g.deals.equals_missing(&deals), "{:?} {:?}", g.deals, deals);
        }
    }

    #[test]
    fn stale_rows_are_those_the_stale_expression_keeps() {
        use crate::schema::outcome::{CONFIRMED, LATE, OPEN, REFUTED};
        // Every outcome (and none), days on either side of the outcome, equal and missing;
        // two chunks of more rows than a piece.
        let make = |range: std::ops::Range<u32>| {
            let outcome: Vec<Option<u32>> = range
                .clone()
                .map(|r| {
                    [Some(OPEN), Some(CONFIRMED), Some(REFUTED), Some(LATE), None][(r % 5) as usize]
                })
                .collect();
            let last: Vec<Option<i32>> = range
                .clone()
                .map(|r| (r % 7 != 0).then_some((r % 11) as i32))
                .collect();
            let on: Vec<Option<i32>> = range
                .map(|r| (r % 13 != 0).then_some((r % 9) as i32))
                .collect();
            df!("outcome" => outcome, "last_report" => last, "resolved_on" => on).expect("df")
        };
        let mut stories = make(0..90_001);
        stories
            .vstack_mut_owned(make(90_001..150_000))
            .expect("stack");
        let is_stale = crate::schema::is_resolved(col("outcome"))
            .and(col("last_report").gt(col("resolved_on")))
            .fill_null(lit(false));
        let expected: Vec<IdxSize> = stories
            .clone()
            .lazy()
            .with_row_index("__row", None)
            .filter(is_stale)
            .collect()
            .expect("filter")
            .column("__row")
            .expect("row")
            .idx()
            .expect("idx")
            .into_no_null_iter()
            .collect();
        let got: Vec<IdxSize> = stale_rows(&stories)
            .expect("rows")
            .into_no_null_iter()
            .collect();
        assert!(!expected.is_empty());
        assert_eq!(got, expected);
    }

    #[test]
    fn stories_are_judged_on_the_reports_before_their_outcome() {
        use crate::schema::outcome::{CONFIRMED, OPEN, REFUTED};
        // (source, deal): (1, 10) confirmed on day 20 with a "done" report on day 25 after it;
        // (2, 10) reported before the outcome only; (1, 11) open; (3, 12) refuted on day 40,
        // with a denial on day 45 after it.
        // Deals 10 and 11 are player 1's (to clubs 2 and 3), deal 12 player 4's.
        let key = DealKey::new(7, 7, 0, 3).expect("key");
        let pack = |p: u32, c: u32, w: i32| {
            key.pack_columns(
                &UInt32Chunked::from_slice("player".into(), &[p]),
                &UInt32Chunked::from_slice("to_club".into(), &[c]),
                &Int32Chunked::from_slice("window".into(), &[w]),
            )
            .get(0)
            .expect("deal")
        };
        let (d10, d11, d12) = (pack(1, 2, 0), pack(1, 3, 0), pack(4, 2, 1));
        let resolved = df!(
            "source" => [1u32, 2, 1, 3],
            "deal" => [d10, d10, d11, d12],
            "outcome" => [CONFIRMED, CONFIRMED, OPEN, REFUTED],
            "resolved_on" => [Some(20i32), Some(20), None, Some(40)],
            "first_report" => [5i32, 18, 30, 30],
            "last_report" => [25i32, 18, 30, 45],
            "reports" => [3u32, 1, 1, 2],
            "stage" => [6u32, 2, 1, 1],
            "denied" => [false, false, false, true],
        )
        .expect("df");
        let claims = df!(
            "source" => [1u32, 1, 1, 2, 1, 3, 3],
            "player" => [1u32, 1, 1, 1, 1, 4, 4],
            "deal" => [d10, d10, d10, d10, d11, d12, d12],
            "published" => [5i32, 15, 25, 18, 30, 30, 45],
            "stage" => [2u32, 3, 6, 2, 1, 1, 0],
        )
        .expect("df");
        let out = judge_before_outcome(&claims, &key, "source", resolved.clone())
            .expect("judge")
            .lazy()
            .sort(["source", "deal"], SortMultipleOptions::default())
            .collect()
            .expect("sort");
        let expected = df!(
            "source" => [1u32, 1, 2, 3],
            "deal" => [d10, d11, d10, d12],
            "outcome" => [CONFIRMED, OPEN, CONFIRMED, REFUTED],
            "resolved_on" => [Some(20i32), None, Some(20), Some(40)],
            "first_report" => [5i32, 30, 18, 30],
            // The stale stories keep only their earlier reports.
            "last_report" => [15i32, 30, 18, 30],
            "reports" => [2u32, 1, 1, 1],
            "stage" => [3u32, 1, 2, 1],
            "denied" => [false, false, false, false],
        )
        .expect("df");
        assert!(out.equals_missing(&expected), "{out:?}");
    }

    /// The query [`judged_again`] replaced: the stale stories' claims joined on (reporter,
    /// deal), filtered by the day, grouped and joined back.
    fn judged_again_by_query(claims: &DataFrame, reporter: &str, stale: &DataFrame) -> DataFrame {
        let key_exprs = vec![col(reporter), col("deal")];
        let refined = claims
            .clone()
            .lazy()
            .join(
                stale.clone().lazy().drop(cols(["__row"])),
                key_exprs.clone(),
                key_exprs.clone(),
                JoinArgs::new(JoinType::Inner),
            )
            .filter(col("published").lt_eq(col("resolved_on")))
            .group_by(key_exprs.clone())
            .agg(claim_aggregates());
        stale
            .clone()
            .lazy()
            .join(
                refined,
                key_exprs.clone(),
                key_exprs,
                JoinArgs::new(JoinType::Inner),
            )
            .select([
                col("__row"),
                col("last_report"),
                col("reports"),
                col("stage"),
                col("denied"),
            ])
            .sort(["__row"], SortMultipleOptions::default())
            .collect()
            .expect("query")
    }

    proptest::proptest! {
        #[test]
        fn stale_stories_are_judged_again_as_the_query_did(
            claims in proptest::collection::vec(
                (
                    proptest::option::weighted(0.9, 0u32..3),
                    proptest::option::weighted(0.95, 0u64..4),
                    proptest::option::weighted(0.95, 0i32..30),
                    proptest::option::weighted(0.9, 0u32..7),
                ),
                0..60,
            ),
            stale in proptest::collection::btree_map(
                (0u32..3, 0u64..4),
                proptest::option::weighted(0.9, 0i32..30),
                0..8,
            ),
        ) {
            let claims = df!(
                "author" => claims.iter().map(|c| c.0).collect::<Vec<_>>(),
                "deal" => claims.iter().map(|c| c.1).collect::<Vec<_>>(),
                "published" => claims.iter().map(|c| c.2).collect::<Vec<_>>(),
                "stage" => claims.iter().map(|c| c.3).collect::<Vec<_>>(),
            )
            .expect("claims");
            // Stories in a shuffled order of rows (`__row` need not follow the table).
            let stale = df!(
                "__row" => (0..stale.len() as IdxSize).rev().map(|r| r * 3).collect::<Vec<_>>(),
                "author" => stale.keys().map(|k| k.0).collect::<Vec<_>>(),
                "deal" => stale.keys().map(|k| k.1).collect::<Vec<_>>(),
                "resolved_on" => stale.values().copied().collect::<Vec<_>>(),
            )
            .expect("stale");
            let got = judged_again(&claims, "author", &stale)
                .expect("judged")
                .sort(["__row"], SortMultipleOptions::default())
                .expect("sorted");
            let want = judged_again_by_query(&claims, "author", &stale);
            proptest::prop_assert!(got.equals_missing(&want), "{got:?}\n{want:?}");
        }
    }
}
