//! The command line: flags become typed options here, and only here.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use clap::{Args, Parser, Subcommand, ValueEnum};
use polars::prelude::IntoLazy;

use crate::backtest::{backtest, BacktestOptions};
use crate::config::Config;
use crate::error::{Error, Result};
use crate::generate::{generate, GenerateOptions};
use crate::ingest::{AliasTable, InputPaths};
use crate::progress::Progress;
use crate::report::{Format, OutputSet};
use crate::run::{prepare, score, ScoreOptions, ScoreRun};
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
struct Cli {
    /// No progress bars and no summary on the terminal.
    #[arg(long, short, global = true)]
    quiet: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
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
enum ImportCommand {
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
enum FormatArg {
    Csv,
    Parquet,
}

#[derive(Debug, Args)]
struct InputArgs {
    /// Claims file.
    #[arg(long, default_value = "data/rumours.csv")]
    rumours: PathBuf,
    /// Completed transfers file.
    #[arg(long, default_value = "data/transfers.csv")]
    transfers: PathBuf,
    /// Alias table (`kind, alias, canonical`); default: the table built into rumour (the
    /// project's data/aliases.csv).
    #[arg(long)]
    aliases: Option<PathBuf>,
    /// Do not read an alias table, not even the built-in one.
    #[arg(long, conflicts_with = "aliases")]
    no_aliases: bool,
    /// Score the world as known on this date (YYYY-MM-DD); default today.
    #[arg(long, value_parser = parse_date)]
    as_of: Option<NaiveDate>,
    /// TOML configuration (see `rumour config`).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Stop at the first row-level problem instead of rejecting the row.
    #[arg(long)]
    strict: bool,
    /// Read claims columns from your own headers: `published=date,source=outlet`.
    #[arg(long, value_parser = parse_map)]
    map: Option<BTreeMap<String, String>>,
    /// Same for the transfers file.
    #[arg(long, value_parser = parse_map)]
    map_transfers: Option<BTreeMap<String, String>>,
    /// Field separator of the input files: `auto` (from the header line), `,`, `;`, `tab`, `|`.
    #[arg(long)]
    delimiter: Option<String>,
    /// Text encoding of the input files: `auto` (UTF-8, or UTF-16 with its byte-order mark), or
    /// a label such as `windows-1252`, `latin1`, `utf-16le`.
    #[arg(long)]
    encoding: Option<String>,
    /// Format of dates that are not YYYY-MM-DD, e.g. `%d/%m/%Y`.
    #[arg(long)]
    date_format: Option<String>,
}

#[derive(Debug, Args)]
struct ExtractArgs {
    /// Article files: CSV (`published`, `source`, `text`; `article_id`, `author`, `url`
    /// optional) or `.txt` files that start with `date YYYY-MM-DD`.
    #[arg(required = true)]
    articles: Vec<PathBuf>,
    /// Completed transfers: the players' names and their clubs on each day.
    #[arg(long, default_value = "data/transfers.csv")]
    transfers: PathBuf,
    /// Alias table (`kind, alias, canonical`); default: the table built into rumour.
    #[arg(long)]
    aliases: Option<PathBuf>,
    /// Do not read an alias table, not even the built-in one.
    #[arg(long, conflicts_with = "aliases")]
    no_aliases: bool,
    /// More names: any CSV with `player`, `from_club`, `to_club` columns (earlier claims).
    #[arg(long)]
    known_names: Option<PathBuf>,
    /// Source of the articles that do not name theirs (no `source` column or line).
    #[arg(long)]
    source: Option<String>,
    /// Claims file to write; `<stem>.rejects.csv` and `<stem>.summary.json` go beside it.
    #[arg(long)]
    out: PathBuf,
    /// TOML configuration (stage phrases, window calendar, `[input]`).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Field separator of the CSV inputs: `auto`, `,`, `;`, `tab`, `|`.
    #[arg(long)]
    delimiter: Option<String>,
    /// Text encoding of the inputs: `auto`, or a label such as `windows-1252`.
    #[arg(long)]
    encoding: Option<String>,
    /// Format of dates that are not YYYY-MM-DD, e.g. `%d/%m/%Y`.
    #[arg(long)]
    date_format: Option<String>,
}

#[derive(Debug, Args)]
struct ScoreArgs {
    #[command(flatten)]
    inputs: InputArgs,
    /// Directory of the reports (replaced as one set).
    #[arg(long, default_value = "reports")]
    out: PathBuf,
    /// Format of the tabular reports (`summary.json` is always written).
    #[arg(long, value_enum, default_value = "csv")]
    format: FormatArg,
    /// Write CSV cells as they are: no `'` before text a spreadsheet would run as a formula.
    #[arg(long)]
    raw_csv: bool,
}

#[derive(Debug, Args)]
struct BacktestArgs {
    #[command(flatten)]
    inputs: InputArgs,
    /// Directory of the reports (`backtest`, `calibration`, `calibration.svg`).
    #[arg(long, default_value = "reports")]
    out: PathBuf,
    /// First window to test, e.g. `2021-summer`.
    #[arg(long, value_parser = parse_window)]
    from: Option<Window>,
    /// Days before each window's close at which the model predicts, comma-separated (default
    /// `1,7,30,60`, from the config's `backtest.lead_days`; 0 = the close itself).
    #[arg(long, value_delimiter = ',')]
    lead_days: Vec<i64>,
    #[arg(long, value_enum, default_value = "csv")]
    format: FormatArg,
    /// Write CSV cells as they are: no `'` before text a spreadsheet would run as a formula.
    #[arg(long)]
    raw_csv: bool,
}

#[derive(Debug, Args)]
struct GenerateArgs {
    /// Number of claims.
    #[arg(long)]
    claims: u64,
    /// Random seed (the same seed gives the same files).
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Directory to write `rumours.csv`, `transfers.csv`, `truth.csv` and `aliases.csv` into.
    #[arg(long)]
    out: PathBuf,
    /// Number of sources (default: grows with the claims, 15 to 400; 1 = a single-source world).
    #[arg(long)]
    sources: Option<usize>,
    /// Number of clubs (default: the 80-odd real clubs; more are named `Club N`).
    #[arg(long)]
    clubs: Option<usize>,
    /// Number of players (default: claims / 8).
    #[arg(long)]
    players: Option<usize>,
    /// First summer window's year (default 2019); the world ends with 2027-winter open.
    #[arg(long, default_value_t = 2019)]
    first_year: i32,
    /// Share of claims with an empty stage (default 0.2).
    #[arg(long, default_value_t = 0.2)]
    without_stage: f64,
    /// Share of claims without wording (default 0; with --without-stage 1, no stage at all).
    #[arg(long, default_value_t = 0.0)]
    without_text: f64,
    /// Share of claims whose window is left empty (when their date gives it; default 0.3).
    #[arg(long, default_value_t = 0.3)]
    without_window: f64,
    /// Share of transfers with a date (default 0.6; the others are known by window only).
    #[arg(long, default_value_t = 0.6)]
    dated_share: f64,
    /// Share of each window's claims published in the two days before its close.
    #[arg(long, default_value_t = 0.0)]
    deadline_share: f64,
    /// Added to every stage's hit-rate logit (-2: few rumoured deals happen; +1.5: many do).
    #[arg(long, default_value_t = 0.0, allow_hyphen_values = true)]
    hit_shift: f64,
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

fn format_of(f: FormatArg) -> Format {
    match f {
        FormatArg::Csv => Format::Csv,
        FormatArg::Parquet => Format::Parquet,
    }
}

/// Runs the command line `args` (the first is the program name).
///
/// # Errors
/// Whatever the command fails with; usage errors are printed by the parser and returned as
/// [`Error::UsageReported`].
pub fn run<I, T>(args: I) -> Result<()>
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            let code = e.exit_code();
            let _ = e.print();
            return if code == 0 {
                Ok(())
            } else {
                Err(Error::UsageReported)
            };
        }
    };
    crate::report::install_signal_handler();
    let progress = Progress::new(cli.quiet);
    match cli.command {
        Command::Config => {
            print!("{}", Config::default_toml());
            Ok(())
        }
        Command::Score(args) => {
            let (opts, config) = options(&args.inputs)?;
            // Begun first: a bad --out fails before the work, and an interrupt from here on
            // removes the staging directory.
            let set = OutputSet::begin(&args.out)?.with_raw_csv(args.raw_csv);
            let mut run = score(&opts, &config, &progress)?;
            let out = progress.stage("write reports", || {
                run.write_into(set, format_of(args.format))
            })?;
            if !cli.quiet {
                print!("{}", screen_summary(&run, &progress, &out));
            }
            Ok(())
        }
        Command::Backtest(args) => {
            let (opts, config) = options(&args.inputs)?;
            let bt = BacktestOptions {
                from: args.from,
                lead_days: args.lead_days,
            };
            let set = OutputSet::begin(&args.out)?.with_raw_csv(args.raw_csv);
            let mut result = backtest(&opts, &config, &bt, &progress)?;
            let format = format_of(args.format);
            set.table("backtest", &mut result.table, format)?;
            set.table("calibration", &mut result.calibration, format)?;
            set.bytes("calibration.svg", result.svg.as_bytes())?;
            let out = set.commit()?;
            if !cli.quiet {
                println!(
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
                    println!(
                        "not tested (no earlier window had closed): {}",
                        result.windows_skipped.join(", ")
                    );
                }
                println!(
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
                    println!(
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
            }
            Ok(())
        }
        Command::Validate(args) => {
            let (opts, config) = options(&args)?;
            let s = prepare(&opts, &config, &progress)?;
            for f in &s.inputs_files {
                println!(
                    "{}: {} rows read, {} used, {} rejected",
                    f.file, f.rows_read, f.rows_used, f.rows_rejected
                );
                if !f.extra_columns.is_empty() {
                    let what = if f.file == opts.inputs.claims.display().to_string() {
                        "columns carried through to stories.csv and deals.csv"
                    } else {
                        "columns not used"
                    };
                    println!("  {what}: {}", f.extra_columns.join(", "));
                }
            }
            for r in &s.rejects {
                println!(
                    "{}:{}: column `{}`: {} (value: {:?})",
                    r.file, r.line, r.column, r.reason, r.value
                );
            }
            if s.rejects.is_empty() {
                println!("no rejects");
            }
            for w in crate::run::coverage_warnings(&s)?.1 {
                println!("warning: {w}");
            }
            Ok(())
        }
        Command::Generate(args) => {
            let summary = progress.stage("generate", || {
                generate(&GenerateOptions {
                    shape: crate::generate::Shape {
                        sources: args.sources,
                        clubs: args.clubs,
                        players: args.players,
                        first_year: args.first_year,
                        without_stage: args.without_stage,
                        without_text: args.without_text,
                        without_window: args.without_window,
                        dated_share: args.dated_share,
                        deadline_share: args.deadline_share,
                        hit_shift: args.hit_shift,
                    },
                    claims: args.claims,
                    seed: args.seed,
                    out: args.out.clone(),
                })
            })?;
            if !cli.quiet {
                println!(
                    "wrote {} claims, {} transfers ({} deals, {} sources, {} players) to {}; score it with --as-of {}",
                    summary.claims,
                    summary.transfers,
                    summary.deals,
                    summary.sources,
                    summary.players,
                    args.out.display(),
                    summary.as_of
                );
            }
            Ok(())
        }
        Command::Extract(args) => {
            let mut config = match &args.config {
                Some(path) => Config::from_file(path)?,
                None => Config::default(),
            };
            if let Some(d) = &args.delimiter {
                config.input.delimiter = d.clone();
            }
            if let Some(e) = &args.encoding {
                config.input.encoding = e.clone();
            }
            if let Some(f) = &args.date_format {
                config.input.date_format = f.clone();
            }
            let input = config.input.format().map_err(Error::Usage)?;
            let aliases = if args.no_aliases {
                crate::normalise::Aliases::default()
            } else {
                read_alias_table(args.aliases.as_deref())?
            };
            let opts = crate::extract::ExtractOptions {
                articles: args.articles,
                transfers: args.transfers,
                known_names: args.known_names,
                source: args.source,
                out: args.out.clone(),
                input,
                date_format: Some(config.input.date_format.clone()).filter(|f| !f.is_empty()),
            };
            let summary = progress.stage("extract", || {
                crate::extract::extract(&opts, &aliases, &config)
            })?;
            if !cli.quiet {
                let (rejects, json) = crate::extract::companions(&args.out);
                println!(
                    "{} articles: {} claims from {} articles written to {}; {} articles with no player, {} without a source; {} rows rejected ({}); {} ambiguous names, {} club-like names unmatched (see {})",
                    summary.articles,
                    summary.claims,
                    summary.articles_with_claims,
                    args.out.display(),
                    summary.articles_without_player,
                    summary.articles_without_source,
                    summary.files.iter().map(|f| f.rows_rejected).sum::<u64>(),
                    rejects.display(),
                    summary.ambiguous_names.len(),
                    summary.unmatched_clubs.len(),
                    json.display()
                );
            }
            Ok(())
        }
        Command::Import(ImportCommand::Transfermarkt {
            files,
            out,
            aliases,
            delimiter,
            encoding,
        }) => {
            let input = crate::ingest::decode::InputFormat::parse(&delimiter, &encoding)
                .map_err(Error::Usage)?;
            let table = read_alias_table(aliases.as_deref())?;
            let summary = crate::import::import_transfermarkt(&files, &table, &out, input)?;
            for r in &summary.rejects {
                eprintln!("rejected: {r}");
            }
            if !cli.quiet {
                println!(
                    "{} rows read: {} moves written to {}, {} duplicates removed, {} not between clubs, {} rejected",
                    summary.rows_read,
                    summary.written,
                    out.display(),
                    summary.duplicates,
                    summary.skipped_not_a_club,
                    summary.rejected
                );
            }
            Ok(())
        }
    }
}

/// Reads an alias table strictly (for import): the file given, else the built-in one.
fn read_alias_table(path: Option<&Path>) -> Result<crate::normalise::Aliases> {
    let mut aliases = crate::normalise::Aliases::default();
    let name = path.map_or_else(
        || crate::ingest::BUILTIN_ALIASES_NAME.to_string(),
        |p| p.display().to_string(),
    );
    let source: Box<dyn std::io::Read> = match path {
        Some(p) => {
            Box::new(std::fs::File::open(p).map_err(|e| Error::Usage(format!("{name}: {e}")))?)
        }
        None => Box::new(crate::ingest::BUILTIN_ALIASES.as_bytes()),
    };
    let mut rdr = csv::Reader::from_reader(source);
    for (i, rec) in rdr.records().enumerate() {
        let rec = rec.map_err(|e| Error::Usage(format!("{name}: {e}")))?;
        if let (Some(kind), Some(alias), Some(canonical)) = (
            rec.get(0).and_then(crate::normalise::NameKind::parse),
            rec.get(1),
            rec.get(2),
        ) {
            aliases.insert(kind, alias, canonical);
        } else {
            return Err(Error::Usage(format!(
                "{name}: line {}: expected kind,alias,canonical",
                i + 2
            )));
        }
    }
    Ok(aliases)
}

/// Builds the score options and configuration from flags.
fn options(args: &InputArgs) -> Result<(ScoreOptions, Config)> {
    let mut config = match &args.config {
        Some(path) => Config::from_file(path)?,
        None => Config::default(),
    };
    if let Some(m) = &args.map {
        config.columns.claims.extend(m.clone());
    }
    if let Some(m) = &args.map_transfers {
        config.columns.transfers.extend(m.clone());
    }
    if let Some(d) = &args.delimiter {
        config.input.delimiter = d.clone();
    }
    if let Some(e) = &args.encoding {
        config.input.encoding = e.clone();
    }
    if let Some(f) = &args.date_format {
        config.input.date_format = f.clone();
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
        config,
    ))
}

/// The one-screen summary printed after `score`.
pub fn screen_summary(run: &ScoreRun, progress: &Progress, out: &Path) -> String {
    use std::fmt::Write as _;
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
        .filter(polars::prelude::col("insufficient").not())
        .sort(
            ["posterior_mean"],
            polars::prelude::SortMultipleOptions::default().with_order_descending(true),
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
    let timings: Vec<String> = progress
        .timings()
        .iter()
        .map(|(l, s)| format!("{l} {s:.2}s"))
        .collect();
    let _ = writeln!(t, "  time: {}", timings.join(", "));
    let _ = writeln!(t, "  reports in {}", out.display());
    t
}
