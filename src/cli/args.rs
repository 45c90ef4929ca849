//! The flags of every subcommand, and how they become typed options and checked settings.

use std::collections::BTreeMap;
use std::path::PathBuf;

use chrono::NaiveDate;
use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::error::{Error, Result};
use crate::ingest::{AliasTable, InputPaths};
use crate::pipeline::ScoreOptions;
use crate::report::{Format, OutputSet};
use crate::settings::{Config, Settings};
use crate::windows::Window;

#[derive(Debug, Parser)]
#[command(
    name = "rumour",
    version,
    about = "How far can football transfer rumours be trusted?",
    long_about = "Reads transfer rumours (claims) and completed transfers, and writes reliability tables for \
sources, authors and clubs, every story's outcome, and a calibrated likelihood for every open deal.",
    after_help = "Exit codes: 0 success, 1 bad input, 2 usage error, 3 cannot write reports, 130 interrupted.\n\
Example: rumour score --rumours data/rumours.csv --transfers data/transfers.csv --out reports"
)]
pub(super) struct Cli {
    /// No progress bars and no summary on the terminal.
    #[arg(long, short, global = true)]
    pub(super) quiet: bool,
    #[command(subcommand)]
    pub(super) command: Command,
}

#[derive(Debug, Subcommand)]
pub(super) enum Command {
    /// Score sources, authors and clubs, resolve stories and rate open deals; write reports.
    #[command(
        after_help = "Example:\n  rumour score --as-of 2021-08-01 --rumours claims.csv --transfers transfers.csv --out reports"
    )]
    Score(ScoreArgs),
    /// Replay the likelihood model on past windows and compare it with baselines.
    #[command(
        after_help = "Example:\n  rumour backtest --lead-days 30 --from 2021-summer --out reports"
    )]
    Backtest(BacktestArgs),
    /// Check the inputs and print what `score` would reject, without writing reports.
    #[command(
        after_help = "Example:\n  rumour validate --rumours claims.csv --transfers transfers.csv"
    )]
    Validate(InputArgs),
    /// Write a synthetic world (claims, transfers, truth) for tests and benchmarks.
    #[command(
        after_help = "Example:\n  rumour generate --claims 100000 --seed 7 --out /tmp/world\n  rumour score --rumours /tmp/world/rumours.csv --transfers /tmp/world/transfers.csv --aliases /tmp/world/aliases.csv --as-of 2026-11-20"
    )]
    Generate(GenerateArgs),
    /// Turn third-party data into rumour's inputs.
    #[command(subcommand)]
    Import(ImportCommand),
    /// Read claims out of articles (CSV rows or `.txt` files) into a claims file to review
    /// and score.
    #[command(
        after_help = "Example:\n  rumour extract data/articles/*.txt --transfers data/transfers.csv --out claims.csv\n  rumour score --rumours claims.csv --transfers data/transfers.csv --out reports"
    )]
    Extract(ExtractArgs),
    /// Print the default configuration as TOML.
    #[command(after_help = "Example:\n  rumour config > rumour.toml")]
    Config,
}

#[derive(Debug, Subcommand)]
pub(super) enum ImportCommand {
    /// Transfermarkt-style scrapes (one file per league) into a transfers file, without the
    /// duplicate rows of moves between two scraped clubs.
    #[command(
        after_help = "Example:\n  rumour import transfermarkt raw/*.csv --out data/transfers.csv"
    )]
    Transfermarkt {
        /// Scrape files (`club_name, player_name, club_involved_name, transfer_movement, transfer_period, year`, …).
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Transfers file to write.
        #[arg(long)]
        out: PathBuf,
        /// Alias table used to recognise the two spellings of one move (default: the
        /// built-in table).
        #[arg(long)]
        aliases: Option<PathBuf>,
        /// Field separator of the scrapes: `auto` (from the header line), `,`, `;`, `tab`, `|`.
        #[arg(long, default_value = "auto")]
        delimiter: String,
        /// Text encoding of the scrapes: `auto` (UTF-8, or UTF-16 with its byte-order mark),
        /// or a label such as `windows-1252`.
        #[arg(long, default_value = "auto")]
        encoding: String,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub(super) enum FormatArg {
    Csv,
    Parquet,
}

#[derive(Debug, Args)]
pub(super) struct InputArgs {
    /// Claims file.
    #[arg(long, default_value = "data/rumours.csv")]
    pub(super) rumours: PathBuf,
    /// Completed transfers file.
    #[arg(long, default_value = "data/transfers.csv")]
    pub(super) transfers: PathBuf,
    /// Alias table (`kind, alias, canonical`); default: the table built into rumour (the
    /// project's data/aliases.csv).
    #[arg(long)]
    pub(super) aliases: Option<PathBuf>,
    /// Do not read an alias table, not even the built-in one.
    #[arg(long, conflicts_with = "aliases")]
    pub(super) no_aliases: bool,
    /// Score the world as known on this date (YYYY-MM-DD); default today.
    #[arg(long, value_parser = parse_date)]
    pub(super) as_of: Option<NaiveDate>,
    /// Stop at the first row-level problem instead of rejecting the row.
    #[arg(long)]
    pub(super) strict: bool,
    /// Read claims columns from your own headers: `published=date,source=outlet`.
    #[arg(long, value_parser = parse_map)]
    pub(super) map: Option<BTreeMap<String, String>>,
    /// Same for the transfers file.
    #[arg(long, value_parser = parse_map)]
    pub(super) map_transfers: Option<BTreeMap<String, String>>,
    #[command(flatten)]
    pub(super) read: ReadArgs,
}

/// The configuration file and the `[input]` keys the command line can override.
#[derive(Debug, Args)]
pub(super) struct ReadArgs {
    /// TOML configuration (see `rumour config`): stage phrases, window calendar, `[input]`, ….
    #[arg(long)]
    pub(super) config: Option<PathBuf>,
    /// Field separator of the input files: `auto` (from the header line), `,`, `;`, `tab`, `|`.
    #[arg(long)]
    pub(super) delimiter: Option<String>,
    /// Text encoding of the input files: `auto` (UTF-8, or UTF-16 with its byte-order mark), or
    /// a label such as `windows-1252`, `latin1`, `utf-16le`.
    #[arg(long)]
    pub(super) encoding: Option<String>,
    /// Format of dates that are not YYYY-MM-DD, e.g. `%d/%m/%Y`.
    #[arg(long)]
    pub(super) date_format: Option<String>,
}

#[derive(Debug, Args)]
pub(super) struct ExtractArgs {
    /// Article files: CSV (`published`, `source`, `text`; `article_id`, `author`, `url`
    /// optional) or `.txt` files that start with `date YYYY-MM-DD`.
    #[arg(required = true)]
    pub(super) articles: Vec<PathBuf>,
    /// Completed transfers: the players' names and their clubs on each day.
    #[arg(long, default_value = "data/transfers.csv")]
    pub(super) transfers: PathBuf,
    /// Alias table (`kind, alias, canonical`); default: the table built into rumour.
    #[arg(long)]
    pub(super) aliases: Option<PathBuf>,
    /// Do not read an alias table, not even the built-in one.
    #[arg(long, conflicts_with = "aliases")]
    pub(super) no_aliases: bool,
    /// More names: any CSV with `player`, `from_club`, `to_club` columns (earlier claims).
    #[arg(long)]
    pub(super) known_names: Option<PathBuf>,
    /// Source of the articles that do not name theirs (no `source` column or line).
    #[arg(long)]
    pub(super) source: Option<String>,
    /// Claims file to write; `<stem>.rejects.csv` and `<stem>.summary.json` go beside it.
    #[arg(long)]
    pub(super) out: PathBuf,
    #[command(flatten)]
    pub(super) read: ReadArgs,
}

#[derive(Debug, Args)]
pub(super) struct ScoreArgs {
    #[command(flatten)]
    pub(super) inputs: InputArgs,
    #[command(flatten)]
    pub(super) output: OutputArgs,
}

/// Where and how the reports of `score` and `backtest` are written.
#[derive(Debug, Args)]
pub(super) struct OutputArgs {
    /// Directory of the reports (replaced as one set).
    #[arg(long, default_value = "reports")]
    pub(super) out: PathBuf,
    /// Format of the tabular reports (`summary.json` and the SVG are always written).
    #[arg(long, value_enum, default_value = "csv")]
    pub(super) format: FormatArg,
    /// Write CSV cells as they are: no `'` before text a spreadsheet would run as a formula.
    #[arg(long)]
    pub(super) raw_csv: bool,
    /// Write the large reports through the page cache, not straight to disk (`O_DIRECT`):
    /// on a slow spinning disk the run then ends before the bytes reach the disk.
    #[arg(long)]
    pub(super) buffered_writes: bool,
}

impl OutputArgs {
    /// The output set, begun: a bad `--out` fails before the work, and an interrupt from
    /// here on removes the staging directory.
    pub(super) fn begin(&self) -> Result<OutputSet> {
        Ok(OutputSet::begin(&self.out)?
            .with_raw_csv(self.raw_csv)
            .with_buffered_writes(self.buffered_writes))
    }
}

#[derive(Debug, Args)]
pub(super) struct BacktestArgs {
    #[command(flatten)]
    pub(super) inputs: InputArgs,
    #[command(flatten)]
    pub(super) output: OutputArgs,
    /// First window to test, e.g. `2021-summer`.
    #[arg(long, value_parser = parse_window)]
    pub(super) from: Option<Window>,
    /// Days before each window's close at which the model predicts, comma-separated (default
    /// `1,7,30,60`, from the config's `backtest.lead_days`; 0 = the close itself).
    #[arg(long, value_delimiter = ',')]
    pub(super) lead_days: Vec<i64>,
}

#[derive(Debug, Args)]
pub(super) struct GenerateArgs {
    /// Number of claims.
    #[arg(long)]
    pub(super) claims: u64,
    /// Random seed (the same seed gives the same files).
    #[arg(long, default_value_t = 42)]
    pub(super) seed: u64,
    /// Directory to write `rumours.csv`, `transfers.csv`, `truth.csv` and `aliases.csv` into.
    #[arg(long)]
    pub(super) out: PathBuf,
    /// Number of sources (default: grows with the claims, 15 to 400; 1 = a single-source world).
    #[arg(long)]
    pub(super) sources: Option<usize>,
    /// Number of clubs (default: the 80-odd real clubs; more are named `Club N`).
    #[arg(long)]
    pub(super) clubs: Option<usize>,
    /// Number of players (default: claims / 8).
    #[arg(long)]
    pub(super) players: Option<usize>,
    /// First summer window's year (default 2019); the world ends with 2027-winter open.
    #[arg(long, default_value_t = 2019)]
    pub(super) first_year: i32,
    /// Share of claims with an empty stage (default 0.2).
    #[arg(long, default_value_t = 0.2)]
    pub(super) without_stage: f64,
    /// Share of claims without wording (default 0; with --without-stage 1, no stage at all).
    #[arg(long, default_value_t = 0.0)]
    pub(super) without_text: f64,
    /// Share of claims whose window is left empty (when their date gives it; default 0.3).
    #[arg(long, default_value_t = 0.3)]
    pub(super) without_window: f64,
    /// Share of transfers with a date (default 0.6; the others are known by window only).
    #[arg(long, default_value_t = 0.6)]
    pub(super) dated_share: f64,
    /// Share of each window's claims published in the two days before its close.
    #[arg(long, default_value_t = 0.0)]
    pub(super) deadline_share: f64,
    /// Added to every stage's hit-rate logit (-2: few rumoured deals happen; +1.5: many do).
    #[arg(long, default_value_t = 0.0, allow_hyphen_values = true)]
    pub(super) hit_shift: f64,
}

fn parse_date(s: &str) -> std::result::Result<NaiveDate, String> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|_| format!("`{s}` is not a date YYYY-MM-DD"))
}

fn parse_window(s: &str) -> std::result::Result<Window, String> {
    Window::parse(s).ok_or_else(|| format!("`{s}` is not a window like 2026-summer or 2027-winter"))
}

fn parse_map(s: &str) -> std::result::Result<BTreeMap<String, String>, String> {
    let mut map = BTreeMap::new();
    for pair in s.split(',').filter(|p| !p.trim().is_empty()) {
        let (k, v) = pair
            .split_once('=')
            .ok_or_else(|| format!("`{pair}` is not column=header"))?;
        map.insert(k.trim().to_string(), v.trim().to_string());
    }
    Ok(map)
}

pub(super) fn format_of(f: FormatArg) -> Format {
    match f {
        FormatArg::Csv => Format::Csv,
        FormatArg::Parquet => Format::Parquet,
    }
}

impl ReadArgs {
    /// The configuration file (or the defaults) with the flags' overrides.
    fn config(&self) -> Result<Config> {
        let mut config = match &self.config {
            Some(path) => Config::from_file(path)?,
            None => Config::default(),
        };
        if let Some(d) = &self.delimiter {
            config.input.delimiter = d.clone();
        }
        if let Some(e) = &self.encoding {
            config.input.encoding = e.clone();
        }
        if let Some(f) = &self.date_format {
            config.input.date_format = f.clone();
        }
        Ok(config)
    }
}

/// The checked settings of `config`, with the reading threads from the environment: the
/// one place below `main` that reads it.
pub(super) fn settings(config: Config) -> Result<Settings> {
    let mut settings = Settings::new(config)?;
    if let Some(threads) = env_number("POLARS_MAX_THREADS") {
        settings.reading.threads = (threads as usize).max(1);
    }
    // Tests lower it to exercise the split of small files.
    if let Some(bytes) = env_number("RUMOUR_SPLIT_MIN_BYTES") {
        settings.reading.split_min_bytes = bytes;
    }
    Ok(settings)
}

fn env_number(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|v| v.parse().ok())
}

/// The settings of `read` (for `extract`).
pub(super) fn read_settings(read: &ReadArgs) -> Result<Settings> {
    settings(read.config()?)
}

/// Builds the score options and the settings from flags.
pub(super) fn options(args: &InputArgs) -> Result<(ScoreOptions, Settings)> {
    let mut config = args.read.config()?;
    if let Some(m) = &args.map {
        config.columns.claims.extend(m.clone());
    }
    if let Some(m) = &args.map_transfers {
        config.columns.transfers.extend(m.clone());
    }
    for (table, map, known) in [
        (
            "claims",
            &config.columns.claims,
            crate::ingest::CLAIM_COLUMNS,
        ),
        (
            "transfers",
            &config.columns.transfers,
            crate::ingest::TRANSFER_COLUMNS,
        ),
    ] {
        for k in map.keys() {
            if !known.iter().any(|c| c.name == k) {
                let names: Vec<&str> = known.iter().map(|c| c.name).collect();
                let hint = names
                    .iter()
                    .max_by(|a, b| {
                        strsim::jaro_winkler(k, a).total_cmp(&strsim::jaro_winkler(k, b))
                    })
                    .copied()
                    .unwrap_or("");
                return Err(Error::Usage(format!("column mapping for {table}: `{k}` is not a column rumour reads (did you mean `{hint}`?)")));
            }
        }
    }
    let aliases = match (&args.aliases, args.no_aliases) {
        (_, true) => None,
        (Some(path), false) => Some(AliasTable::File(path.clone())),
        (None, false) => Some(AliasTable::BuiltIn),
    };
    let as_of = args
        .as_of
        .unwrap_or_else(|| chrono::Local::now().date_naive());
    Ok((
        ScoreOptions {
            inputs: InputPaths {
                claims: args.rumours.clone(),
                transfers: args.transfers.clone(),
                aliases,
            },
            as_of,
            strict: args.strict,
        },
        settings(config)?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn column_mappings_read_as_pairs() {
        let m = parse_map("published=date, source = outlet,").expect("map");
        assert_eq!(m.get("published").map(String::as_str), Some("date"));
        assert_eq!(m.get("source").map(String::as_str), Some("outlet"));
        assert!(parse_map("published").is_err());
    }

    #[test]
    fn dates_and_windows_are_checked_by_the_parser() {
        assert!(parse_date("2026-11-24").is_ok());
        assert!(parse_date("24/11/2026").is_err());
        assert_eq!(
            parse_window("2027-winter").map(|w| w.to_string()),
            Ok("2027-winter".into())
        );
        assert!(parse_window("2027-spring").is_err());
    }

    #[test]
    fn every_subcommand_parses_its_example() {
        for line in [
            "rumour score --as-of 2021-08-01 --rumours c.csv --transfers t.csv --out reports",
            "rumour backtest --lead-days 30,7 --from 2021-summer --out reports",
            "rumour validate --rumours c.csv --transfers t.csv --map published=date",
            "rumour generate --claims 100 --seed 7 --out w",
            "rumour import transfermarkt a.csv b.csv --out t.csv",
            "rumour extract a.txt --transfers t.csv --out c.csv --delimiter ;",
            "rumour config",
        ] {
            let parsed = Cli::try_parse_from(line.split(' '));
            assert!(parsed.is_ok(), "{line}: {:?}", parsed.err());
        }
        // A misspelt flag is a usage error, not a panic.
        assert!(Cli::try_parse_from(["rumour", "score", "--rumor", "x"]).is_err());
    }
}
