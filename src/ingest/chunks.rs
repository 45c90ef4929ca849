//! Reading a file in parallel chunks and merging them in file order: each chunk interns its
//! own names, and the merge maps them to the file's ids.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use polars::prelude::*;

use super::fields::line_u32;
use super::reader::{ColumnSpec, CsvTable, Next, Parts, Row, RowProblem};
use super::rejects::{log_problems, note_problem, RejectLog};
use super::{stats_for, FileStats, IdMaps, Names, ReadContext};
use crate::error::{Error, Result};
use crate::normalise::{NameKind, NameTable};
use crate::progress::Progress;
use crate::settings::{ColumnsConfig, Reading};

/// Rows of one chunk of a file, parsed with the chunk's own name tables.
pub(super) struct Chunk {
    /// The rows, with a `UInt32` column `line`.
    pub(super) frame: DataFrame,
    pub(super) names: Names,
    /// `(line, problem)` in line order.
    pub(super) problems: Vec<(u64, RowProblem)>,
    pub(super) read: u64,
    pub(super) used: u64,
    /// Where the chunk's reader stopped ([`CsvTable::stopped_at`]).
    pub(super) stopped: Option<(u64, u64)>,
}

/// Reads `table` in parallel chunks with `parse`, and hands each chunk, its line numbers now
/// the file's, to `lines_known`; the chunks, in file order.
///
/// The chunks are cut where a record most likely starts ([`CsvTable::split_guessed`]): every
/// chunk's reader starts at once, and those after the first number their lines from their own
/// start. Each chunk but the last must then have stopped exactly where the next one started,
/// and its line count there gives the next chunk's first line. If one did not (a line feed
/// inside a quoted field at a cut), or a chunk after the first failed (its error would name a
/// line of its own), the file is read again from its first row, split exactly by counting
/// quotes and line feeds ([`CsvTable::split`]): the rows, lines and errors are always those of
/// reading the file in one piece.
pub(super) fn parse_chunks(
    table: CsvTable,
    reading: Reading,
    parse: &(dyn Fn(CsvTable) -> Result<Chunk> + Sync),
    lines_known: fn(&mut Chunk) -> Result<()>,
) -> Result<Vec<Chunk>> {
    let threads = reading.threads.max(1);
    let path = table.path().to_path_buf();
    let mut chunks = match table.split_guessed(threads, reading.split_min_bytes)? {
        Parts::Exact(parts) => each_on_its_thread(parts, parse)
            .into_iter()
            .collect::<Result<Vec<_>>>()?,
        Parts::Guessed { parts, again } => {
            let starts: Vec<u64> = parts.iter().map(|p| p.range().0).collect();
            let mut chunks = each_on_its_thread(parts, parse);
            match lines_before_chunks(&chunks, &starts) {
                Some(offsets) => {
                    for (chunk, offset) in chunks.iter_mut().zip(offsets) {
                        if let Ok(chunk) = chunk {
                            shift_lines(chunk, offset, &path)?;
                        }
                    }
                    chunks.into_iter().collect::<Result<Vec<_>>>()?
                }
                None => {
                    drop(chunks);
                    let parts = again.split(threads, reading.split_min_bytes)?;
                    each_on_its_thread(parts, parse)
                        .into_iter()
                        .collect::<Result<Vec<_>>>()?
                }
            }
        }
    };
    // Each chunk on a thread of its own, as it was read (at ten million claims without a
    // `claim_id`, ten million ids to make); the first failure in file order is reported.
    let known = each_on_its_thread(chunks.iter_mut().collect(), &|chunk| lines_known(chunk));
    known.into_iter().collect::<Result<()>>()?;
    Ok(chunks)
}

/// `f` of each item on a thread of its own; the outcomes in the items' order.
fn each_on_its_thread<T: Send, R: Send>(
    items: Vec<T>,
    f: &(dyn Fn(T) -> Result<R> + Sync),
) -> Vec<Result<R>> {
    std::thread::scope(|scope| {
        let handles: Vec<_> = items
            .into_iter()
            .map(|item| scope.spawn(move || f(item)))
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

/// The lines of the file before each chunk of a guessed split (chunks after the first
/// number their lines from 1 at their start), when every chunk but the last stopped exactly
/// where the next one starts (`starts`) and every chunk after the first was read without an
/// error (the first numbers its lines as the file does, so its error stands); `None`
/// otherwise. An error of the first chunk leaves the offsets of the others unknown: `Some`
/// with zeros after it, the error kept.
fn lines_before_chunks(chunks: &[Result<Chunk>], starts: &[u64]) -> Option<Vec<u64>> {
    let mut offsets = vec![0u64; chunks.len()];
    for k in 1..chunks.len() {
        let previous = match &chunks[k - 1] {
            Ok(c) => c,
            // The first chunk's error is the one reading in one piece would meet first.
            Err(_) if k == 1 => return Some(offsets),
            Err(_) => return None,
        };
        if chunks[k].is_err() {
            return None;
        }
        let (byte, line) = previous.stopped?;
        if byte != starts[k] {
            return None;
        }
        // `line` is the line of the record at `starts[k]` in the previous chunk's numbering.
        offsets[k] = (line + offsets[k - 1]).checked_sub(1)?;
    }
    Some(offsets)
}

/// Adds `offset` to the line numbers of `chunk`: its problems' and its `line` column.
fn shift_lines(chunk: &mut Chunk, offset: u64, path: &Path) -> Result<()> {
    if offset == 0 {
        return Ok(());
    }
    for (line, _) in &mut chunk.problems {
        *line += offset;
    }
    if let Ok(column) = chunk.frame.column("line") {
        let lines = column.u32()?;
        // The same refusal as a row's own line past the limit.
        line_u32(path, u64::from(lines.max().unwrap_or(0)) + offset)?;
        let offset = line_u32(path, offset)?;
        let shifted = lines.apply_values(|l| l + offset).into_column();
        chunk.frame.replace("line", shifted)?;
    }
    Ok(())
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
    /// What a chunk's rows gain once their line numbers are the file's.
    pub(super) lines_known: fn(&mut Chunk) -> Result<()>,
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
    let chunks = parse_chunks(
        table,
        ctx.reading,
        &|part| parse(part, ctx, &bar),
        kind.lines_known,
    )?;
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
    /// Where the reader stopped ([`CsvTable::stopped_at`]).
    pub(super) stopped: Option<(u64, u64)>,
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
    pass.stopped = table.stopped_at();
    Ok(pass)
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;
    use crate::ingest::reader::tests::open_test_file;

    /// Reads `path` in up to `threads` chunks: every row as `line: a|b` and every problem as
    /// `line: problem`, in file order, and how many chunks were parsed in all.
    fn read(path: &Path, threads: usize) -> (Vec<String>, Vec<String>, usize) {
        let table = open_test_file(path);
        let parsed = AtomicUsize::new(0);
        let parse = |mut table: CsvTable| -> Result<Chunk> {
            parsed.fetch_add(1, Ordering::Relaxed);
            let (mut lines, mut texts) = (Vec::new(), Vec::new());
            let bar = indicatif::ProgressBar::hidden();
            let pass = read_rows(&mut table, false, &bar, |row| {
                lines.push(u32::try_from(row.line).expect("line"));
                texts.push(format!(
                    "{}|{}",
                    row.get(0).unwrap_or_default(),
                    row.get(1).unwrap_or_default()
                ));
                Ok(Ok(()))
            })?;
            Ok(Chunk {
                frame: df!("line" => lines, "text" => texts)?,
                names: Names::default(),
                problems: pass.problems,
                read: pass.read,
                used: pass.used,
                stopped: pass.stopped,
            })
        };
        let reading = Reading {
            threads,
            split_min_bytes: 1,
        };
        let chunks = parse_chunks(table, reading, &parse, |_| Ok(())).expect("parse");
        let (mut rows, mut problems) = (Vec::new(), Vec::new());
        for chunk in &chunks {
            let lines = chunk.frame.column("line").expect("line");
            let texts = chunk.frame.column("text").expect("text");
            for (line, text) in lines
                .u32()
                .expect("u32")
                .iter()
                .zip(texts.str().expect("str").iter())
            {
                rows.push(format!("{}: {}", line.expect("line"), text.expect("text")));
            }
            for (line, p) in &chunk.problems {
                problems.push(format!("{line}: {}", p.reason));
            }
        }
        (rows, problems, parsed.into_inner())
    }

    fn write(text: &str) -> (tempfile::TempDir, std::path::PathBuf) {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("t.csv");
        std::fs::write(&path, text).expect("write");
        (dir, path)
    }

    #[test]
    fn chunks_cut_at_guesses_give_the_rows_lines_and_problems_of_one_piece() {
        // Quoted line feeds (some at line starts, some doubled), escaped quotes, CRLF, blank
        // lines between rows, ragged rows: cuts fall on each kind of line feed.
        let mut text = String::from("a,b\r\n");
        for i in 0..400 {
            match i % 7 {
                0 => text.push_str(&format!("{i},\"multi\nline \"\"quoted\"\", value\"\r\n")),
                1 => text.push_str(&format!("{i},plain\n\n")),
                2 => text.push_str(&format!("\"{i}\",\"x\"\"\"\n")),
                3 => text.push_str(&format!("{i}\n")),
                4 => text.push_str(&format!("{i},\"\n\n\"\n\n\n")),
                5 => text.push_str(&format!("{i},a,b\n")),
                _ => text.push_str(&format!("{i},\"\nx\n\n\ny\"\n")),
            }
        }
        let (_dir, path) = write(&text);
        let (rows, problems, _) = read(&path, 1);
        assert_eq!(rows.len() + problems.len(), 400);
        assert_eq!(rows[0], "2: 0|multi\nline \"quoted\", value");
        assert_eq!(rows[1], "4: 1|plain");
        assert_eq!(problems[0], "7: the row has 1 fields, the header has 2");
        let mut fell_back = 0;
        for threads in [2, 3, 4, 5, 7, 16, 64] {
            let (r, p, parsed) = read(&path, threads);
            assert!(
                r == rows,
                "{threads} chunks: the rows or their lines differ"
            );
            assert_eq!(p, problems, "{threads} chunks: the problems differ");
            fell_back += usize::from(parsed > threads);
        }
        // Some cuts fell inside quoted fields and were read again, split exactly.
        assert!(fell_back > 0);
    }

    #[test]
    fn a_cut_inside_a_quoted_field_reads_the_file_again() {
        // One long quoted field of many lines holds the middle of the file.
        let long = "word\n".repeat(2_000);
        let text = format!("a,b\n1,x\n2,\"{long}\"\n3,y\n4,z\n");
        let (_dir, path) = write(&text);
        let (rows, _, parsed) = read(&path, 2);
        assert_eq!(parsed, 2 + 2, "two guessed chunks, then two exact ones");
        assert_eq!(rows.len(), 4);
        assert_eq!(rows[2], "2004: 3|y");
        assert_eq!(rows, read(&path, 1).0);
    }

    #[test]
    fn a_file_without_quoted_line_feeds_is_read_once() {
        // Blank lines too: a cut is never guessed among them.
        let text: String = std::iter::once("a,b\n".to_string())
            .chain((0..1_000).map(|i| format!("{i},v{i}\n{}", "\n".repeat(20 * (i % 2)))))
            .collect();
        let (_dir, path) = write(&text);
        for threads in [2, 3, 4, 7] {
            let (rows, _, parsed) = read(&path, threads);
            assert_eq!(parsed, threads);
            assert_eq!(rows[999], "10981: 999|v999");
            assert_eq!(rows, read(&path, 1).0);
        }
    }
}
