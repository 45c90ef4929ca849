//! One function per subcommand: options in, work done by the library, a screen summary out.

use std::path::{Path, PathBuf};

use super::args::{
    format_of, options, read_settings, BacktestArgs, ExtractArgs, GenerateArgs, InputArgs,
    ScoreArgs,
};
use super::screen;
use crate::error::{Error, Result};
use crate::generate::{generate as generate_world, GenerateOptions, Shape};
use crate::ingest::alias_table;
use crate::normalise::Aliases;
use crate::pipeline::{backtest as run_backtest, prepare, score_into, BacktestOptions};
use crate::progress::Progress;
use crate::settings::{Config, InputFormat};

/// `rumour config`: the defaults as TOML.
pub(super) fn config() -> Result<()> {
    print!("{}", Config::default_toml());
    Ok(())
}

/// `rumour score`.
pub(super) fn score(args: &ScoreArgs, progress: &Progress, quiet: bool) -> Result<()> {
    let (opts, settings) = options(&args.inputs)?;
    let set = args.output.begin()?;
    let (run, out) = score_into(
        &opts,
        &settings,
        progress,
        set,
        format_of(args.output.format),
    )?;
    if !quiet {
        print!("{}", screen::score(&run, progress, &out));
    }
    Ok(())
}

/// `rumour backtest`.
pub(super) fn backtest(args: &BacktestArgs, progress: &Progress, quiet: bool) -> Result<()> {
    let (opts, settings) = options(&args.inputs)?;
    if args.lead_days.iter().any(|l| *l < 0) {
        return Err(Error::Usage("--lead-days must be >= 0".into()));
    }
    let bt = BacktestOptions {
        from: args.from,
        lead_days: args.lead_days.clone(),
    };
    let set = args.output.begin()?;
    let mut result = run_backtest(&opts, &settings, &bt, progress)?;
    let format = format_of(args.output.format);
    set.table("backtest", &mut result.table, format)?;
    set.table("calibration", &mut result.calibration, format)?;
    set.bytes("calibration.svg", result.svg.as_bytes())?;
    let out = set.commit()?;
    if !quiet {
        print!("{}", screen::backtest(&result, &out));
    }
    Ok(())
}

/// `rumour validate`: what `score` would read and reject.
pub(super) fn validate(args: &InputArgs, progress: &Progress) -> Result<()> {
    let (opts, settings) = options(args)?;
    let prepared = prepare(&opts, &settings, progress)?;
    print!("{}", screen::validate(&prepared, &opts.inputs.claims)?);
    Ok(())
}

/// `rumour generate`.
pub(super) fn generate(args: &GenerateArgs, progress: &Progress, quiet: bool) -> Result<()> {
    if args.claims == 0 {
        return Err(Error::Usage("--claims must be at least 1".into()));
    }
    let summary = progress.stage("generate", || {
        generate_world(&GenerateOptions {
            shape: Shape {
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
    if !quiet {
        println!("{}", screen::generate(&summary, &args.out));
    }
    Ok(())
}

/// `rumour extract`.
pub(super) fn extract(args: ExtractArgs, progress: &Progress, quiet: bool) -> Result<()> {
    let settings = read_settings(&args.read)?;
    let aliases = if args.no_aliases {
        Aliases::default()
    } else {
        alias_table(args.aliases.as_deref(), settings.input)?
    };
    let out = args.out.clone();
    let opts = crate::extract::ExtractOptions {
        articles: args.articles,
        transfers: args.transfers,
        known_names: args.known_names,
        source: args.source,
        out: args.out,
        input: settings.input,
        date_format: settings.config().input.date_format().map(str::to_string),
    };
    let summary = progress.stage("extract", || {
        crate::extract::extract(&opts, &aliases, &settings)
    })?;
    if !quiet {
        println!("{}", screen::extract(&summary, &out));
    }
    Ok(())
}

/// `rumour import transfermarkt`.
pub(super) fn import_transfermarkt(
    files: &[PathBuf],
    out: &Path,
    aliases: Option<&Path>,
    delimiter: &str,
    encoding: &str,
    quiet: bool,
) -> Result<()> {
    let input = InputFormat::parse(delimiter, encoding).map_err(Error::Usage)?;
    let table = alias_table(aliases, input)?;
    let summary = crate::import::import_transfermarkt(files, &table, out, input)?;
    for r in &summary.rejects {
        eprintln!("rejected: {r}");
    }
    if !quiet {
        println!("{}", screen::import(&summary, out));
    }
    Ok(())
}
