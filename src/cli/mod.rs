//! The command line: flags become typed options and checked settings here ([`args`]), each
//! subcommand is one function ([`commands`]), and what is printed on the terminal is built
//! apart ([`screen`]). The rest of the library never sees clap.

mod args;
mod commands;
mod screen;

use std::ffi::OsString;

use clap::Parser;

use crate::error::{Error, Result};
use crate::progress::Progress;
use args::{Cli, Command, ImportCommand};

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
    let quiet = cli.quiet;
    crate::pool::on_polars_pool(|| match cli.command {
        Command::Config => commands::config(),
        Command::Score(args) => commands::score(&args, &progress, quiet),
        Command::Backtest(args) => commands::backtest(&args, &progress, quiet),
        Command::Validate(args) => commands::validate(&args, &progress),
        Command::Generate(args) => commands::generate(&args, &progress, quiet),
        Command::Extract(args) => commands::extract(args, &progress, quiet),
        Command::Import(ImportCommand::Transfermarkt {
            files,
            out,
            aliases,
            delimiter,
            encoding,
        }) => commands::import_transfermarkt(
            &files,
            &out,
            aliases.as_deref(),
            &delimiter,
            &encoding,
            quiet,
        ),
    })
}
