//! What the subcommands print on the terminal: pure functions from results to text.

use std::fmt::Write as _;
use std::path::Path;

use polars::prelude::{col, IntoLazy, SortMultipleOptions};

use crate::error::Result;
use crate::extract::ExtractSummary;
use crate::generate::GenerateSummary;
use crate::import::ImportSummary;
use crate::pipeline::{BacktestRun, Prepared, ScoreRun};
use crate::progress::Progress;

/// The one-screen summary printed after `score`.
pub(super) fn score(run: &ScoreRun, progress: &Progress, out: &Path) -> String {
    let s = &run.summary;
    let mut t = String::new();
    let _ = writeln!(t, "rumour {} — as of {}", s.rumour_version, s.as_of);
    for f in &s.files {
        let _ = writeln!(
            t,
            "  {:<40} {:>10} read = {:>10} used + {:>8} rejected",
            f.file, f.rows_read, f.rows_used, f.rows_rejected
        );
    }
    let _ = writeln!(
        t,
        "  stories {}: {} confirmed, {} refuted, {} open, {} late",
        s.stories.total, s.stories.confirmed, s.stories.refuted, s.stories.open, s.stories.late
    );
    let _ = writeln!(
        t,
        "  deals   {}: {} confirmed, {} refuted, {} open, {} late",
        s.deals.total, s.deals.confirmed, s.deals.refuted, s.deals.open, s.deals.late
    );
    if s.likelihood.is_empty() {
        let _ = writeln!(t, "  no open deals to rate");
    }
    for w in &s.warnings {
        let _ = writeln!(t, "  warning: {w}");
    }
    for m in &s.likelihood {
        let _ = writeln!(
            t,
            "  likelihood model for deals {} days from the close: {}{}",
            m.lead_days,
            m.model,
            m.fallback_reason
                .as_ref()
                .map(|r| format!(" ({r})"))
                .unwrap_or_default()
        );
    }
    // Top sources by posterior mean among those with enough resolved stories.
    if let Ok(top) = run
        .sources
        .clone()
        .lazy()
        .filter(col("insufficient").not())
        .sort(
            ["posterior_mean"],
            SortMultipleOptions::default().with_order_descending(true),
        )
        .limit(5)
        .collect()
    {
        if top.height() > 0 {
            let _ = writeln!(t, "  most reliable sources:");
            let names = top
                .column("source")
                .ok()
                .and_then(|c| c.str().ok().cloned());
            let means = top
                .column("posterior_mean")
                .ok()
                .and_then(|c| c.f64().ok().cloned());
            let res = top
                .column("resolved")
                .ok()
                .and_then(|c| c.u32().ok().cloned());
            if let (Some(n), Some(m), Some(r)) = (names, means, res) {
                for i in 0..top.height() {
                    let _ = writeln!(
                        t,
                        "    {:<32} {:>5.1}% of {} resolved stories",
                        n.get(i).unwrap_or("?"),
                        100.0 * m.get(i).unwrap_or(0.0),
                        r.get(i).unwrap_or(0)
                    );
                }
            }
        }
    }
    let list = |timings: Vec<(String, f64)>| -> String {
        let timings: Vec<String> = timings
            .iter()
            .map(|(l, s)| format!("{l} {s:.2}s"))
            .collect();
        timings.join(", ")
    };
    let beside = progress.beside_timings();
    if beside.is_empty() {
        let _ = writeln!(t, "  time: {}", list(progress.timings()));
    } else {
        let _ = writeln!(
            t,
            "  time: {}; beside them: {}",
            list(progress.timings()),
            list(beside)
        );
    }
    let _ = writeln!(t, "  reports in {}", out.display());
    t
}

/// The backtest's table of scores per lead and predictor.
pub(super) fn backtest(result: &BacktestRun, out: &Path) -> String {
    let mut t = String::new();
    let _ = writeln!(
        t,
        "backtest: {} window(s), {} days before close; reports in {}",
        result.windows_tested,
        result
            .lead_days
            .iter()
            .map(|l| l.to_string())
            .collect::<Vec<_>>()
            .join(", "),
        out.display()
    );
    if !result.windows_skipped.is_empty() {
        let _ = writeln!(
            t,
            "not tested (no earlier window had closed): {}",
            result.windows_skipped.join(", ")
        );
    }
    let _ = writeln!(
        t,
        "{:>4} {:<10} {:>7} {:>7} {:>8} {:>8} {:>8} {:>8} {:>7} {:>7}",
        "lead",
        "predictor",
        "deals",
        "happen",
        "brier",
        "skill",
        "skill_own",
        "logloss",
        "auc",
        "ece"
    );
    for ((lead, name), s) in &result.overall {
        let _ = writeln!(
            t,
            "{:>4} {:<10} {:>7} {:>7} {:>8.4} {:>8.4} {:>8.4} {:>8.4} {:>7.3} {:>7.4}",
            lead,
            name,
            s.deals,
            s.happened,
            s.brier,
            s.brier_skill,
            s.brier_skill_own,
            s.log_loss,
            s.auc,
            s.ece
        );
    }
    t
}

/// `validate`: rows read, used and rejected per file, every reject, and the warnings.
///
/// # Errors
/// Only from polars.
pub(super) fn validate(s: &Prepared, claims: &Path) -> Result<String> {
    let mut t = String::new();
    for f in &s.inputs_files {
        let _ = writeln!(
            t,
            "{}: {} rows read, {} used, {} rejected",
            f.file, f.rows_read, f.rows_used, f.rows_rejected
        );
        if !f.extra_columns.is_empty() {
            let what = if f.file == claims.display().to_string() {
                "columns carried through to stories.csv and deals.csv"
            } else {
                "columns not used"
            };
            let _ = writeln!(t, "  {what}: {}", f.extra_columns.join(", "));
        }
    }
    for r in &s.rejects {
        let _ = writeln!(
            t,
            "{}:{}: column `{}`: {} (value: {:?})",
            r.file, r.line, r.column, r.reason, r.value
        );
    }
    if s.rejects.is_empty() {
        let _ = writeln!(t, "no rejects");
    }
    for w in crate::report::summary::coverage_warnings(s)?.1 {
        let _ = writeln!(t, "warning: {w}");
    }
    Ok(t)
}

/// `generate`: what was written.
pub(super) fn generate(summary: &GenerateSummary, out: &Path) -> String {
    format!(
        "wrote {} claims, {} transfers ({} deals, {} sources, {} players) to {}; score it with --as-of {}",
        summary.claims,
        summary.transfers,
        summary.deals,
        summary.sources,
        summary.players,
        out.display(),
        summary.as_of
    )
}

/// `extract`: claims found, articles without them, rejects and names to review.
pub(super) fn extract(summary: &ExtractSummary, out: &Path) -> String {
    let (rejects, json) = crate::extract::companions(out);
    format!(
        "{} articles: {} claims from {} articles written to {}; {} articles with no player, {} without a source; {} rows rejected ({}); {} ambiguous names, {} club-like names unmatched (see {})",
        summary.articles,
        summary.claims,
        summary.articles_with_claims,
        out.display(),
        summary.articles_without_player,
        summary.articles_without_source,
        summary.files.iter().map(|f| f.rows_rejected).sum::<u64>(),
        rejects.display(),
        summary.ambiguous_names.len(),
        summary.unmatched_clubs.len(),
        json.display()
    )
}

/// `import transfermarkt`: rows read, written and dropped.
pub(super) fn import(summary: &ImportSummary, out: &Path) -> String {
    format!(
        "{} rows read: {} moves written to {}, {} duplicates removed, {} not between clubs, {} rejected",
        summary.rows_read,
        summary.written,
        out.display(),
        summary.duplicates,
        summary.skipped_not_a_club,
        summary.rejected
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_generate_line_says_what_was_written_and_how_to_score_it() {
        let summary = GenerateSummary {
            claims: 100,
            transfers: 12,
            deals: 40,
            sources: 15,
            players: 200,
            clubs: 80,
            as_of: "2026-11-20",
        };
        assert_eq!(
            generate(&summary, Path::new("w")),
            "wrote 100 claims, 12 transfers (40 deals, 15 sources, 200 players) to w; score it with --as-of 2026-11-20"
        );
    }

    #[test]
    fn the_import_line_accounts_for_every_row() {
        let summary = ImportSummary {
            rows_read: 5,
            written: 3,
            duplicates: 1,
            skipped_not_a_club: 1,
            rejected: 0,
            ..ImportSummary::default()
        };
        assert_eq!(
            import(&summary, Path::new("t.csv")),
            "5 rows read: 3 moves written to t.csv, 1 duplicates removed, 1 not between clubs, 0 rejected"
        );
    }
}
