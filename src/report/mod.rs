//! Reports: the tables of a scored run ([`tables`]), the names they show ([`labels`]),
//! `summary.json` ([`summary`]), `report.html` ([`html`]) and the atomic set they are written
//! as ([`output`]).

use std::path::PathBuf;

use polars::prelude::*;

use crate::error::{Error, Result};

pub mod html;
pub mod labels;
pub mod output;
pub mod summary;
pub mod tables;

pub use labels::StoriesReport;
pub use output::{install_signal_handler, Format, OutputSet};
pub use summary::Summary;

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
        set.bytes("report.html", html::render(&page).as_bytes())?;
        set.commit()
    }

    /// The run as `report.html` shows it, with the reliability diagram of `calibration` (a
    /// backtest's `calibration` table) when given.
    ///
    /// # Errors
    /// Only from polars.
    pub fn page(&self, calibration: Option<&DataFrame>) -> PolarsResult<html::Page> {
        use html::{FileRow, Page};
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
