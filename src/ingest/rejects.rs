//! Rejected rows: where, which column, which value and why; under `--strict` the first one
//! stops the run.

use std::path::Path;

use super::reader::RowProblem;
use super::FileStats;
use crate::error::{Error, InputError, Result};

/// A row that was not used, and why.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
pub struct Reject {
    pub file: String,
    pub line: u64,
    pub column: String,
    pub value: String,
    pub reason: String,
}

/// Collects rejects; under `strict` the first one is an error.
pub(super) struct RejectLog {
    pub(super) strict: bool,
    pub(super) rejects: Vec<Reject>,
}

impl RejectLog {
    pub(super) fn push(&mut self, file: &Path, line: u64, p: RowProblem) -> Result<(), InputError> {
        if self.strict {
            return Err(InputError::Row {
                file: file.to_path_buf(),
                line,
                column: p.column,
                value: p.value,
                reason: p.reason,
            });
        }
        self.rejects.push(Reject {
            file: file.display().to_string(),
            line,
            column: p.column,
            value: p.value,
            reason: p.reason,
        });
        Ok(())
    }
}

/// Records a chunk's row problem: under `strict` it ends the chunk with an error.
pub(super) fn note_problem(
    problems: &mut Vec<(u64, RowProblem)>,
    strict: bool,
    file: &Path,
    line: u64,
    p: RowProblem,
) -> Result<()> {
    if strict {
        return Err(Error::Input(InputError::Row {
            file: file.to_path_buf(),
            line,
            column: p.column,
            value: p.value,
            reason: p.reason,
        }));
    }
    problems.push((line, p));
    Ok(())
}

/// Moves a file's problems into the reject log and fills its row counts.
pub(super) fn log_problems(
    log: &mut RejectLog,
    path: &Path,
    problems: Vec<(u64, RowProblem)>,
    stats: &mut FileStats,
    read: u64,
    used: u64,
) -> Result<()> {
    stats.rows_read = read;
    stats.rows_used = used;
    stats.rows_rejected = problems.len() as u64;
    for (line, p) in problems {
        log.push(path, line, p)?;
    }
    Ok(())
}
