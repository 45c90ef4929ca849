//! The alias table (`kind, alias, canonical`): the user's file or the one built in.

use std::collections::BTreeMap;
use std::path::Path;

use super::chunks::read_rows;
use super::decode;
use super::reader::{ColumnSpec, CsvTable, Row, RowProblem};
use super::rejects::{log_problems, RejectLog};
use super::{stats_for, FileStats};
use crate::error::Result;
use crate::normalise::{Aliases, NameKind};

/// Columns of the aliases file.
pub const ALIAS_COLUMNS: &[ColumnSpec] = &[
    ColumnSpec {
        name: "kind",
        required: true,
    },
    ColumnSpec {
        name: "alias",
        required: true,
    },
    ColumnSpec {
        name: "canonical",
        required: true,
    },
];

/// Positions of the alias columns in [`ALIAS_COLUMNS`].
pub(super) mod alias_col {
    pub const KIND: usize = 0;
    pub const ALIAS: usize = 1;
    pub const CANONICAL: usize = 2;
}

/// The shipped alias table.
pub const BUILTIN_ALIASES: &str = include_str!("../../data/aliases.csv");

/// The name the built-in alias table has in the summary and in rejects.
pub const BUILTIN_ALIASES_NAME: &str = "<built-in aliases>";

/// Reads an alias table on its own (for `extract` and `import`): the file given, else the
/// built-in table. The first bad row is an error naming its line, column and value.
///
/// # Errors
/// [`Error::Input`] for an unreadable file or a bad row.
pub fn alias_table(path: Option<&Path>, input: decode::InputFormat) -> Result<Aliases> {
    let mut aliases = Aliases::default();
    let mut log = RejectLog {
        strict: true,
        rejects: Vec::new(),
    };
    match path {
        Some(path) => read_aliases(path, &mut aliases, &mut log, input)?,
        None => {
            let copy = decode::Transcoded::write(BUILTIN_ALIASES.as_bytes(), "aliases.csv")?;
            read_aliases(
                copy.path(),
                &mut aliases,
                &mut log,
                decode::InputFormat::default(),
            )?
        }
    };
    Ok(aliases)
}

/// Reads the alias table. A row naming an unknown kind, or mapping an alias already mapped to
/// another canonical name, is rejected.
pub(super) fn read_aliases(
    path: &Path,
    aliases: &mut Aliases,
    log: &mut RejectLog,
    input: decode::InputFormat,
) -> Result<FileStats> {
    let mut table = CsvTable::open(path, ALIAS_COLUMNS, &BTreeMap::new(), 65_536, input)?;
    let mut stats = stats_for(&table);
    let pass = read_rows(
        &mut table,
        log.strict,
        &indicatif::ProgressBar::hidden(),
        |row| Ok(parse_alias(row, aliases)),
    )?;
    log_problems(log, path, pass.problems, &mut stats, pass.read, pass.used)?;
    Ok(stats)
}

pub(super) fn parse_alias(row: &Row, aliases: &mut Aliases) -> Result<(), RowProblem> {
    let kind_raw = row.required(alias_col::KIND)?;
    let kind = NameKind::parse(kind_raw).ok_or_else(|| {
        RowProblem::new(
            "kind",
            kind_raw,
            "unknown kind; expected club, player, source or author",
        )
    })?;
    let alias = row.required(alias_col::ALIAS)?;
    let canonical = row.required(alias_col::CANONICAL)?;
    if let Some(existing) = aliases.insert(kind, alias, canonical) {
        return Err(RowProblem::new(
            "canonical",
            canonical,
            format!("alias `{alias}` already maps to `{existing}`"),
        ));
    }
    Ok(())
}
