//! Reading a file in parallel chunks and merging them in file order: each chunk interns its
//! own names, and the merge maps them to the file's ids.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use polars::prelude::*;

use super::reader::{ColumnSpec, CsvTable, Next, Row, RowProblem};
use super::rejects::{log_problems, note_problem, RejectLog};
use super::{stats_for, FileStats, IdMaps, Names, ReadContext};
use crate::error::{Error, Result};
use crate::normalise::{NameKind, NameTable};
use crate::progress::Progress;
use crate::settings::{ColumnsConfig, Reading};

/// Rows of one chunk of a file, parsed with the chunk's own name tables.
pub(super) struct Chunk {
    pub(super) frame: DataFrame,
    pub(super) names: Names,
    /// `(line, problem)` in line order.
    pub(super) problems: Vec<(u64, RowProblem)>,
    pub(super) read: u64,
    pub(super) used: u64,
}

/// Reads `table` in parallel chunks with `parse`; the chunks, in file order.
pub(super) fn parse_chunks(
    table: CsvTable,
    reading: Reading,
    parse: &(dyn Fn(CsvTable) -> Result<Chunk> + Sync),
) -> Result<Vec<Chunk>> {
    let parts = table.split(reading.threads.max(1), reading.split_min_bytes)?;
    std::thread::scope(|scope| {
        let handles: Vec<_> = parts
            .into_iter()
            .map(|part| scope.spawn(move || parse(part)))
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(Error::Internal("a reading thread panicked".into())))
            })
            .collect()
    })
}

/// Merges the chunks' names into `names` (renumbering the `id_columns` later, in
/// [`ChunkedFrame::finish`]) and their counts, in file order.
pub(super) fn merge_chunks(
    chunks: Vec<Chunk>,
    names: &mut Names,
    id_columns: &[(&'static str, NameKind)],
) -> (ChunkedFrame, Pass) {
    let mut frames = Vec::with_capacity(chunks.len());
    let mut pass = Pass::default();
    for mut chunk in chunks {
        // Each kind of name is merged once, in file order; the map renumbers the chunk's ids.
        let mut maps: Vec<(NameKind, Vec<u32>)> = Vec::new();
        for (_, kind) in id_columns {
            if !maps.iter().any(|(k, _)| k == kind) {
                let other = std::mem::replace(chunk.names.table_mut(*kind), NameTable::new(*kind));
                maps.push((*kind, names.table_mut(*kind).absorb(other)));
            }
        }
        frames.push((chunk.frame, maps));
        pass.problems.append(&mut chunk.problems);
        pass.read += chunk.read;
        pass.used += chunk.used;
    }
    (
        ChunkedFrame {
            chunks: frames,
            id_columns: id_columns.to_vec(),
        },
        pass,
    )
}

/// What tells one kind of input file from another for [`read_file`].
pub(super) struct FileKind {
    /// Shown on the progress bar: `reading {label}`.
    pub(super) label: &'static str,
    pub(super) columns: &'static [ColumnSpec],
    /// The user's mapping of their headers for this kind of file.
    pub(super) mapping: fn(&ColumnsConfig) -> &BTreeMap<String, String>,
    /// The name columns, and the kind of name each holds.
    pub(super) id_columns: &'static [(&'static str, NameKind)],
}

/// Opens `path` with `kind`'s columns (through the user's `mapping`), lets `check` refuse its
/// header, and parses it in parallel chunks with `parse`.
///
/// # Errors
/// An unreadable file, a header without a required column, what `check` returns, or a
/// chunk's error.
pub(super) fn read_file(
    path: &Path,
    kind: &FileKind,
    ctx: ReadContext,
    progress: &Progress,
    check: &dyn Fn(&CsvTable) -> Result<()>,
    parse: &(dyn Fn(CsvTable, ReadContext, &indicatif::ProgressBar) -> Result<Chunk> + Sync),
) -> Result<Parsed> {
    let config = ctx.config;
    let table = CsvTable::open(
        path,
        kind.columns,
        (kind.mapping)(&config.columns),
        config.limits.max_field_bytes,
        ctx.input,
    )?;
    check(&table)?;
    let stats = stats_for(&table);
    let bar = progress.bytes(&format!("reading {}", kind.label), table.progress().1);
    let chunks = parse_chunks(table, ctx.reading, &|part| parse(part, ctx, &bar))?;
    bar.finish_and_clear();
    Ok(Parsed {
        path: path.to_path_buf(),
        stats,
        chunks,
        id_columns: kind.id_columns,
    })
}

/// A file read in parallel chunks whose names are not merged yet.
pub(super) struct Parsed {
    pub(super) path: PathBuf,
    pub(super) stats: FileStats,
    pub(super) chunks: Vec<Chunk>,
    pub(super) id_columns: &'static [(&'static str, NameKind)],
}

impl Parsed {
    /// Merges the names into `names` and the row problems into `log`.
    pub(super) fn merge(
        self,
        names: &mut Names,
        log: &mut RejectLog,
    ) -> Result<(ChunkedFrame, FileStats)> {
        let Parsed {
            path,
            mut stats,
            chunks,
            id_columns,
        } = self;
        let (frame, pass) = merge_chunks(chunks, names, id_columns);
        log_problems(log, &path, pass.problems, &mut stats, pass.read, pass.used)?;
        Ok((frame, stats))
    }
}

/// A file read in parallel chunks whose name ids are still each chunk's own: they are
/// renumbered once, when the final (canonical) numbering is known.
pub(super) struct ChunkedFrame {
    /// Per chunk, in file order: its rows and, per kind of name, the map from its ids to
    /// the merged name table's.
    pub(super) chunks: Vec<(DataFrame, IdMaps)>,
    pub(super) id_columns: Vec<(&'static str, NameKind)>,
}

impl ChunkedFrame {
    /// The `UInt64` column `name` of every chunk, in file order, as one column of their
    /// chunks (the values are not copied; empty without chunks). For a column that is not an
    /// id (ids are renumbered only in [`ChunkedFrame::finish`]).
    pub(super) fn stacked_u64(&self, name: &str) -> Result<UInt64Chunked> {
        let mut stacked = UInt64Chunked::from_vec(name.into(), Vec::new());
        for (df, _) in &self.chunks {
            stacked.append(df.column(name)?.u64()?)?;
        }
        Ok(stacked)
    }

    /// Renumbers every id column through the chunk's map and then `then` (merged id →
    /// final id), in one pass per column, the chunks on every thread (a pass outside any
    /// other work: at ten million claims, five columns of lookups in maps of millions of
    /// ids), and stacks the chunks in file order.
    pub(super) fn finish<'a>(
        self,
        then: impl Fn(NameKind) -> &'a [u32] + Sync,
    ) -> Result<DataFrame> {
        use rayon::prelude::*;
        let id_columns = &self.id_columns;
        let renumbered = self
            .chunks
            .into_par_iter()
            .map(|(mut df, maps)| -> Result<DataFrame> {
                for (kind, map) in &maps {
                    let last = then(*kind);
                    let composed: Vec<u32> = map
                        .iter()
                        .map(|m| last.get(*m as usize).copied().unwrap_or(*m))
                        .collect();
                    for (column, _) in id_columns.iter().filter(|(_, k)| k == kind) {
                        crate::normalise::remap_ids(&mut df, column, &composed)?;
                    }
                }
                Ok(df)
            })
            .collect::<Result<Vec<DataFrame>>>()?;
        let mut frame: Option<DataFrame> = None;
        for df in renumbered {
            match frame.as_mut() {
                None => frame = Some(df),
                Some(f) => {
                    f.vstack_mut_owned(df)?;
                }
            }
        }
        Ok(frame.unwrap_or_default())
    }
}

/// Counts of one pass over a file (or chunk).
#[derive(Default)]
pub(super) struct Pass {
    pub(super) read: u64,
    pub(super) used: u64,
    /// `(line, problem)` in line order.
    pub(super) problems: Vec<(u64, RowProblem)>,
}

/// Reads every record of `table`: `use_row` gets each readable one and returns `Ok(Ok(()))`
/// when the row is used, `Ok(Err(problem))` when it is rejected (or `Err` to stop the run).
/// Records the reader cannot make a row of are rejected too. Advances `bar` as it goes.
pub(super) fn read_rows(
    table: &mut CsvTable,
    strict: bool,
    bar: &indicatif::ProgressBar,
    mut use_row: impl FnMut(&Row) -> Result<Result<(), RowProblem>>,
) -> Result<Pass> {
    let path = table.path().to_path_buf();
    let mut pass = Pass::default();
    let mut reported = 0u64;
    loop {
        if pass.read % 65_536 == 0 {
            let at = table.progress().0;
            bar.inc(at.saturating_sub(reported));
            reported = at;
        }
        let (line, outcome) = match table.next_row()? {
            Next::End => break,
            Next::Problem { line, problem } => (line, Err(problem)),
            Next::Row(row) => (row.line, use_row(&row)?),
        };
        pass.read += 1;
        match outcome {
            Ok(()) => pass.used += 1,
            Err(p) => note_problem(&mut pass.problems, strict, &path, line, p)?,
        }
    }
    bar.inc(table.progress().0.saturating_sub(reported));
    Ok(pass)
}
