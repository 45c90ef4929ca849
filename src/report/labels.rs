//! Ids and codes as text: one mechanism per kind of column. Reports keep ids while they are
//! built and sorted (sorting ids is cheaper than sorting names, and the order is the names'
//! key order), then turn them into names here: [`with_names`] gathers from the display names
//! by id, [`Labels`] gathers from a text table by code, [`code_names`] maps the few codes of an
//! enum.

use polars::prelude::*;

use super::csv_text::{self, CellKind, CodeCells};
use crate::prepared::Display;
use crate::schema::outcome;
use crate::schema::Stage;

/// Day numbers (`Int32`) as dates in reports.
pub fn as_date(name: &str) -> Expr {
    col(name).cast(DataType::Date).alias(name)
}

/// Replaces the id column `id_col` of `df` by its display names, in its place and row order:
/// `names[id]` (ids are positions in their name table), null for a null id or one past the
/// table. A gather rather than a join on a table of every name (the deals report names its
/// players from millions; BENCHMARKS.md).
pub fn with_names(mut df: DataFrame, id_col: &str, names: &[String]) -> PolarsResult<DataFrame> {
    let ids = df.column(id_col)?.cast(&DataType::UInt32)?;
    let named: StringChunked = ids
        .u32()?
        .iter()
        .map(|id| id.and_then(|id| names.get(id as usize)).map(String::as_str))
        .collect();
    df.replace(id_col, named.with_name(id_col.into()).into_column())?;
    Ok(df)
}

/// Text for a column of codes: `text[code - first]` (ids from 0, window ordinals and day
/// numbers from their smallest), built once and gathered for every batch of the report.
pub struct Labels {
    first: i32,
    text: StringChunked,
}

impl Labels {
    pub fn new(first: i32, text: impl IntoIterator<Item = String>) -> Labels {
        let text: Vec<String> = text.into_iter().collect();
        Labels {
            first,
            text: StringChunked::from_iter_values(
                PlSmallStr::EMPTY,
                text.iter().map(String::as_str),
            ),
        }
    }

    /// The labels of codes `0..`: `names` as they are, without a copy of each first (at ten
    /// million claims, millions of player names).
    pub fn names(names: &[String]) -> Labels {
        Labels {
            first: 0,
            text: StringChunked::from_iter_values(
                PlSmallStr::EMPTY,
                names.iter().map(String::as_str),
            ),
        }
    }

    /// `YYYY-MM-DD` of the days from the smallest to the largest in `columns` of `df`.
    pub fn days(df: &DataFrame, columns: &[&str]) -> PolarsResult<Labels> {
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
    pub fn replace(&self, df: &mut DataFrame, column: &str) -> PolarsResult<()> {
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

/// One thing per kind of code a row of the stories report holds: its [`Labels`], or its CSV
/// cells ([`StoryCells`]).
struct PerLabel<T> {
    sources: T,
    players: T,
    clubs: T,
    windows: T,
    /// Dates as text from a table of the days that occur: the CSV writer formats text several
    /// times faster than dates, and this is the largest report.
    days: T,
    stages: T,
    outcomes: T,
}

impl<T> PerLabel<T> {
    /// The one for the code column `column` (`None`: a column shown as it is).
    fn of(&self, column: &str) -> Option<&T> {
        Some(match column {
            "source" => &self.sources,
            "player" => &self.players,
            "to_club" => &self.clubs,
            "window" => &self.windows,
            "first_report" | "last_report" | "resolved_on" => &self.days,
            "stage" => &self.stages,
            "outcome" => &self.outcomes,
            _ => return None,
        })
    }

    fn map<U>(&self, f: impl Fn(&T) -> U) -> PerLabel<U> {
        PerLabel {
            sources: f(&self.sources),
            players: f(&self.players),
            clubs: f(&self.clubs),
            windows: f(&self.windows),
            days: f(&self.days),
            stages: f(&self.stages),
            outcomes: f(&self.outcomes),
        }
    }
}

/// The text of every code a row of the stories report holds.
type StoryLabels = PerLabel<Labels>;

/// The CSV cells of every code of the stories report, encoded once per write.
pub struct StoryCells {
    cells: PerLabel<CodeCells>,
    guard: bool,
}

impl StoriesReport {
    pub fn new(
        ids: DataFrame,
        display: &Display,
        windows: &DataFrame,
    ) -> PolarsResult<StoriesReport> {
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
        for name in self.ids.get_column_names_owned() {
            if let Some(labels) = self.labels.of(&name) {
                labels.replace(&mut df, &name)?;
            }
        }
        Ok(df)
    }

    /// The CSV text of every code (guarded against formulas when `guard`), for
    /// [`StoriesReport::csv_rows`]; `None` when a column is of a type only polars' writer
    /// writes (the caller then renders and writes with polars).
    pub fn csv_cells(&self, guard: bool) -> Option<StoryCells> {
        let cells = self
            .labels
            .map(|l| CodeCells::new(i64::from(l.first), l.text.iter(), guard));
        let kinds = self.kinds(&cells);
        csv_text::supported(&self.ids, &kinds).then_some(StoryCells { cells, guard })
    }

    fn kinds<'a>(&self, cells: &'a PerLabel<CodeCells>) -> Vec<CellKind<'a>> {
        self.ids
            .get_column_names()
            .iter()
            .map(|name| cells.of(name).map_or(CellKind::Plain, CellKind::Coded))
            .collect()
    }

    /// Rows `offset..offset + len` as lines of `stories.csv` (no header): the bytes
    /// [`StoriesReport::render`] and polars' CSV writer make, written from the codes without
    /// building text columns.
    ///
    /// # Errors
    /// A code without a label.
    pub fn csv_rows(
        &self,
        cells: &StoryCells,
        offset: usize,
        len: usize,
    ) -> PolarsResult<Vec<Vec<u8>>> {
        let df = self.ids.slice(offset as i64, len);
        csv_text::encode_rows(&df, &self.kinds(&cells.cells), cells.guard)
    }

    /// The whole report as one table.
    pub fn to_frame(&self) -> PolarsResult<DataFrame> {
        self.render(0, self.height())
    }
}

/// Maps a `UInt32` code column to names.
pub fn code_names(e: Expr, names: &[&str]) -> Expr {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(df: &DataFrame, c: &str) -> Vec<Option<String>> {
        df.column(c)
            .expect("column")
            .str()
            .expect("str")
            .iter()
            .map(|v| v.map(str::to_string))
            .collect()
    }

    #[test]
    fn labels_replace_codes_by_text_from_their_first_code() {
        let mut df = df!("window" => [Some(101i32), None, Some(100)]).expect("frame");
        Labels::new(100, ["a".to_string(), "b".to_string()])
            .replace(&mut df, "window")
            .expect("replace");
        assert_eq!(
            texts(&df, "window"),
            vec![Some("b".into()), None, Some("a".into())]
        );
    }

    #[test]
    fn day_labels_cover_the_days_of_every_column() {
        // Day 0 is 1970-01-01.
        let mut df = df!("a" => [2i32, 0], "b" => [Some(1i32), None]).expect("frame");
        let days = Labels::days(&df, &["a", "b"]).expect("days");
        days.replace(&mut df, "a").expect("a");
        days.replace(&mut df, "b").expect("b");
        assert_eq!(
            texts(&df, "a"),
            vec![Some("1970-01-03".into()), Some("1970-01-01".into())]
        );
        assert_eq!(texts(&df, "b"), vec![Some("1970-01-02".into()), None]);
    }

    #[test]
    fn code_names_maps_known_codes_and_nulls_the_rest() {
        let df = df!("stage" => [6u32, 0, 9]).expect("frame");
        let out = df
            .lazy()
            .select([code_names(col("stage"), &Stage::NAMES).alias("stage")])
            .collect()
            .expect("collect");
        assert_eq!(
            texts(&out, "stage"),
            vec![Some("done".into()), Some("denied".into()), None]
        );
    }

    #[test]
    fn with_names_replaces_ids_and_keeps_the_row_order() {
        let names: Vec<String> = ["Zed", "Amy", "Bob"].map(String::from).into();
        // A null id and one past the table name nothing.
        let rows = df!(
            "source" => [Some(2u32), Some(0), Some(1), Some(2), None, Some(3)],
            "n" => [1i32, 2, 3, 4, 5, 6],
        )
        .expect("rows");
        let out = with_names(rows, "source", &names).expect("names");
        assert_eq!(
            texts(&out, "source"),
            vec![
                Some("Bob".into()),
                Some("Zed".into()),
                Some("Amy".into()),
                Some("Bob".into()),
                None,
                None
            ]
        );
        assert_eq!(out.get_column_names(), ["source", "n"]);
    }
}
