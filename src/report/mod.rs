//! Reports: the tables of a scored run ([`tables`]), the names they show ([`labels`]),
//! `summary.json` ([`summary`]), `report.html` ([`html`]), the atomic set they are written as
//! ([`output`]), each file of it written in large blocks ([`file`]), and the CSV text of the
//! largest, `stories.csv`, made cell by cell ([`csv_text`]).

use std::path::PathBuf;

use polars::prelude::*;

use crate::error::{Error, Result};

pub mod csv_text;
pub mod file;
pub mod html;
pub mod labels;
pub mod output;
pub mod summary;
pub mod tables;

pub use labels::StoriesReport;
pub use output::{install_signal_handler, Format, OutputSet};
pub use summary::Summary;

/// Every table of a run but `stories`, by its file name, from a struct with the report
/// tables' fields ([`ScoreRun`] or [`tables::ReportTables`]).
macro_rules! named_tables {
    ($run:expr) => {
        [
            ("sources", &mut $run.sources),
            ("authors", &mut $run.authors),
            ("clubs", &mut $run.clubs),
            ("source_stages", &mut $run.source_stages),
            ("deals", &mut $run.deals),
            ("rejects", &mut $run.rejects),
            ("unmatched", &mut $run.unmatched),
        ]
    };
}

/// The [`PageParts`] of a struct with the report tables' fields.
macro_rules! page_parts {
    ($run:expr) => {
        PageParts {
            sources: &$run.sources,
            clubs: &$run.clubs,
            deals: &$run.deals,
            summary: &$run.summary,
            interval: $run.interval,
        }
    };
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

/// Writes the stories report as `stories.<ext>`, in parts of 262,144 rows.
///
/// # Errors
/// [`Error::Output`] when the file cannot be written.
pub fn write_stories(set: &OutputSet, stories: &StoriesReport, format: Format) -> Result<()> {
    let rows = stories.height();
    let batch = 1 << 18;
    let cells = (format == Format::Csv)
        .then(|| stories.csv_cells(set.guards_formulas()))
        .flatten();
    match cells {
        // The largest report: its CSV text made straight from the codes.
        Some(cells) => set.csv_lines_in_batches(
            "stories",
            &stories.render(0, 0)?,
            rows.div_ceil(batch),
            |i| stories.csv_rows(&cells, i * batch, batch),
        ),
        None => set.table_in_batches("stories", format, rows.div_ceil(batch).max(1), |i| {
            stories.render(i * batch, batch)
        }),
    }
}

/// Writes every table but `stories`, each into its own file, side by side (at a million
/// claims of 30,000 sources and 60,000 clubs, the seven took 0.15 s one after the other).
/// The first failure in table order is the one reported.
fn write_tables(
    set: &OutputSet,
    tables: [(&'static str, &mut DataFrame); 7],
    format: Format,
) -> Result<()> {
    use rayon::prelude::*;
    let written: Vec<Result<()>> = tables
        .into_par_iter()
        .map(|(name, df)| set.table(name, df, format))
        .collect();
    written.into_iter().collect()
}

impl ScoreRun {
    /// Writes every report into `out` as one atomic set.
    ///
    /// # Errors
    /// [`Error::Output`] when a file cannot be written, [`Error::Usage`] when `out` holds
    /// files rumour did not write.
    pub fn write(&mut self, out: &std::path::Path, format: Format) -> Result<PathBuf> {
        self.write_into(OutputSet::begin(out)?, format)
    }

    /// Writes every report into an output set begun earlier (the command line begins it before
    /// the run, so that a bad `--out` fails at once) and commits it.
    ///
    /// # Errors
    /// [`Error::Output`] when a file cannot be written.
    pub fn write_into(&mut self, set: OutputSet, format: Format) -> Result<PathBuf> {
        // `stories` (by far the largest, its text made on other threads) is written beside the
        // other tables: at ten million claims the two take 0.85 and 0.47 s one after the other.
        let (stories, tables) = self.split();
        let (written, stories_written) = std::thread::scope(|scope| {
            let set = &set;
            let beside = scope.spawn(move || write_stories(set, stories, format));
            let written = write_tables(set, tables, format);
            let stories_written = beside
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            (written, stories_written)
        });
        written?;
        stories_written?;
        self.write_summary_and_commit(set)
    }

    /// The stories report, and every other table by its file name.
    fn split(&mut self) -> (&StoriesReport, [(&'static str, &mut DataFrame); 7]) {
        (&self.stories, named_tables!(self))
    }

    /// `summary.json` and `report.html`, then the set committed.
    fn write_summary_and_commit(&self, set: OutputSet) -> Result<PathBuf> {
        write_summary(&set, &self.parts())?;
        set.commit()
    }

    /// What `summary.json` and `report.html` read of the run.
    fn parts(&self) -> PageParts<'_> {
        page_parts!(self)
    }

    /// The run as `report.html` shows it, with the reliability diagram of `calibration` (a
    /// backtest's `calibration` table) when given.
    ///
    /// # Errors
    /// Only from polars.
    pub fn page(&self, calibration: Option<&DataFrame>) -> PolarsResult<html::Page> {
        self.parts().page(calibration)
    }
}

impl tables::ReportTables {
    /// Writes every report of the run but `stories` into `set` (the tables, `summary.json`
    /// and `report.html`), without committing it: the command line writes them while the
    /// stories report is still being written beside, and commits the set once both are done
    /// (see [`crate::pipeline::score_into`]).
    ///
    /// # Errors
    /// [`Error::Output`] when a file cannot be written.
    pub fn write_into(&mut self, set: &OutputSet, format: Format) -> Result<()> {
        write_tables(set, named_tables!(self), format)?;
        write_summary(set, &page_parts!(self))
    }
}

/// What `summary.json` and `report.html` read of a run: its summary and three of its tables.
struct PageParts<'a> {
    sources: &'a DataFrame,
    clubs: &'a DataFrame,
    deals: &'a DataFrame,
    summary: &'a Summary,
    interval: f64,
}

/// Writes `summary.json` and `report.html` into `set`.
fn write_summary(set: &OutputSet, parts: &PageParts) -> Result<()> {
    let json =
        serde_json::to_string_pretty(parts.summary).map_err(|e| Error::Usage(e.to_string()))?;
    set.bytes("summary.json", format!("{json}\n").as_bytes())?;
    let page = parts.page(set.previous_calibration().as_ref())?;
    set.bytes("report.html", html::render(&page).as_bytes())
}

impl PageParts<'_> {
    fn page(&self, calibration: Option<&DataFrame>) -> PolarsResult<html::Page> {
        use html::{FileRow, Page};
        let s = self.summary;
        let mut page = Page::from_tables(self.sources, self.clubs, self.deals, calibration)?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::{score, ScoreOptions};
    use crate::progress::Progress;
    use crate::settings::Settings;

    fn run(claims: &str, as_of: &str) -> ScoreRun {
        let root = env!("CARGO_MANIFEST_DIR");
        let opts = ScoreOptions::new(
            claims,
            &format!("{root}/tests/fixtures/tiny/transfers.csv"),
            None,
            as_of,
        )
        .expect("options");
        score(&opts, &Settings::default(), &Progress::hidden()).expect("score")
    }

    /// `stories.csv` as the encoder writes it and as polars' writer writes the rendered
    /// table, both in batches of three rows.
    fn both_ways(run: &ScoreRun, guard: bool) -> (String, String) {
        let tmp = tempfile::tempdir().expect("tmp");
        let (stories, batch) = (&run.stories, 3);
        let n = stories.height().div_ceil(batch);
        let ours = tmp.path().join("ours");
        let set = OutputSet::begin(&ours).expect("set").with_raw_csv(!guard);
        let cells = stories.csv_cells(set.guards_formulas()).expect("encodable");
        let header = stories.render(0, 0).expect("header");
        set.csv_lines_in_batches("stories", &header, n, |i| {
            stories.csv_rows(&cells, i * batch, batch)
        })
        .expect("write");
        set.commit().expect("commit");
        let theirs = tmp.path().join("polars");
        let set = OutputSet::begin(&theirs).expect("set").with_raw_csv(!guard);
        set.table_in_batches("stories", Format::Csv, n, |i| {
            stories.render(i * batch, batch)
        })
        .expect("write");
        set.commit().expect("commit");
        let read = |dir: &std::path::Path| {
            std::fs::read_to_string(dir.join("stories.csv")).expect("stories")
        };
        (read(&ours), read(&theirs))
    }

    #[test]
    fn the_stories_encoder_writes_the_bytes_polars_writes_with_and_without_the_guard() {
        let root = env!("CARGO_MANIFEST_DIR");
        // Names with quotes, commas and formulas.
        let formulas = run(
            &format!("{root}/tests/fixtures/broken/formulas.csv"),
            "2025-10-01",
        );
        for guard in [true, false] {
            let (ours, theirs) = both_ways(&formulas, guard);
            assert_eq!(ours, theirs);
            assert_eq!(ours.contains("\"'=HYPERLINK("), guard, "{ours}");
        }
        // Extra claim columns (text, some empty, one without a name) carried into stories.
        let tmp = tempfile::tempdir().expect("tmp");
        let text = std::fs::read_to_string(format!("{root}/tests/fixtures/tiny/rumours.csv"))
            .expect("read");
        let (header, body) = text.split_once('\n').expect("header");
        let rows: String = body
            .lines()
            .map(|l| format!("{l},\"=x, {}\",mine,\n", l.len()))
            .collect();
        let path = tmp.path().join("extras.csv");
        std::fs::write(&path, format!("{header},league,-Likelihood,\n{rows}")).expect("write");
        let extras = run(&path.to_string_lossy(), "2025-06-25");
        assert!(extras.stories.render(0, 0).expect("header").width() > 12);
        for guard in [true, false] {
            let (ours, theirs) = both_ways(&extras, guard);
            assert_eq!(ours, theirs);
            assert!(ours.lines().count() > 3, "{ours}");
        }
    }
}
