//! Error types of the library.
//!
//! Every error that comes from a user's file names the file and, where it can, the line,
//! the column and the offending value, so that the message alone is enough to fix the input.
//! The binary maps [`Error::exit_code`] to the process exit code; nothing else in the
//! library knows about exit codes.

use std::path::PathBuf;

/// Result alias used across the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can stop a run.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The input is wrong in a way that stops the run (missing file, missing column, not CSV,
    /// or a row-level problem under `--strict`).
    #[error(transparent)]
    Input(#[from] InputError),

    /// A configuration file or a command-line value is wrong.
    #[error("{0}")]
    Usage(String),

    /// A command-line usage error that the argument parser has already printed.
    #[error("usage error")]
    UsageReported,

    /// Writing reports failed (disk full, permissions).
    #[error("cannot write {path}")]
    Output {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// The run was interrupted (SIGINT/SIGTERM); temporary files were removed.
    #[error("interrupted; no report was changed")]
    Interrupted,

    /// A table operation failed. This is a bug in rumour, not a problem with the input. Only
    /// the head of polars' message is kept: its full text repeats the query plan at every level.
    #[error("internal table error (please report): {0}")]
    Table(String),

    /// A worker thread panicked: a bug in rumour, not a problem with the input.
    #[error("internal error (please report): {0}")]
    Internal(String),
}

impl Error {
    /// Process exit code: 1 bad input, 2 usage, 3 output, 130 interrupted, 70 internal.
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Input(_) => 1,
            Error::Usage(_) | Error::UsageReported => 2,
            Error::Output { .. } => 3,
            Error::Interrupted => 130,
            Error::Table(_) | Error::Internal(_) => 70,
        }
    }
}

impl From<polars::error::PolarsError> for Error {
    fn from(e: polars::error::PolarsError) -> Self {
        let text = e.to_string();
        Error::Table(text.lines().next().unwrap_or_default().to_string())
    }
}

/// A problem with an input file.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    #[error("{file}: cannot read")]
    Unreadable {
        file: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("{file}: the file is empty; expected a header row with the columns {expected}")]
    Empty { file: PathBuf, expected: String },

    #[error("{file}: line {line}: not valid CSV: {message}")]
    NotCsv {
        file: PathBuf,
        line: u64,
        message: String,
    },

    #[error("{file}: line {line}: the file is not UTF-8 text; it reads as {label}: pass --encoding {label} (or set `encoding` in the config's [input] table), or save it as UTF-8")]
    Encoding {
        file: PathBuf,
        line: u64,
        label: String,
    },

    #[error("{file}: missing required column `{column}`{hint}")]
    MissingColumn {
        file: PathBuf,
        column: String,
        /// e.g. " (did you mean `published`? found `publised`)"
        hint: String,
    },

    #[error("{file}: column `{column}` appears {count} times in the header (columns {positions})")]
    DuplicateColumn {
        file: PathBuf,
        column: String,
        count: usize,
        positions: String,
    },

    #[error("{file}: {message}")]
    Header { file: PathBuf, message: String },

    /// A row-level problem made fatal by `--strict`.
    #[error("{file}: line {line}, column `{column}`: {reason} (value: {value:?})")]
    Row {
        file: PathBuf,
        line: u64,
        column: String,
        value: String,
        reason: String,
    },
}
