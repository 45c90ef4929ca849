//! The CSV reader under every input: header resolution and record-level checks.
//!
//! It finds the columns (case-insensitively, through the user's column mapping), strips a
//! UTF-8 byte-order mark, refuses missing or duplicated known columns with a message that
//! suggests the fix, and then yields records as [`Row`]s with their line number. Records that
//! cannot be read as a row at all (wrong number of fields, bytes that are not UTF-8, a field
//! over the size limit) are returned as [`RowProblem`]s; typed parsing is the caller's.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use crate::error::InputError;

/// A column the caller knows.
#[derive(Debug, Clone, Copy)]
pub struct ColumnSpec {
    pub name: &'static str,
    pub required: bool,
}

/// What is wrong with one row.
#[derive(Debug, Clone, PartialEq)]
pub struct RowProblem {
    pub column: String,
    pub value: String,
    pub reason: String,
}

impl RowProblem {
    pub fn new(column: &str, value: &str, reason: impl Into<String>) -> RowProblem {
        RowProblem {
            column: column.to_string(),
            value: clip(value),
            reason: reason.into(),
        }
    }
}

/// A value as shown in messages and rejects: at most 120 characters.
pub fn clip(value: &str) -> String {
    const MAX: usize = 120;
    if value.chars().count() <= MAX {
        value.to_string()
    } else {
        let head: String = value.chars().take(MAX).collect();
        format!("{head}… ({} bytes)", value.len())
    }
}

/// The resolved header of a file: shared by every chunk reader of it.
#[derive(Debug, Clone)]
struct Layout {
    header: Vec<String>,
    /// Known column name → index in the record.
    index: BTreeMap<&'static str, usize>,
    /// Per column of the spec (same order): its index in the record.
    positions: Vec<Option<usize>>,
    specs: &'static [ColumnSpec],
    extra: Vec<String>,
    /// Index in the record of each column of `extra`.
    extra_positions: Vec<usize>,
}

/// An open CSV file (or a byte range of it) with its columns resolved.
pub struct CsvTable {
    path: PathBuf,
    layout: std::sync::Arc<Layout>,
    reader: csv::Reader<Box<dyn Read + Send>>,
    record: csv::ByteRecord,
    max_field_bytes: usize,
    /// Byte offset where this reader starts, and its end (exclusive).
    start: u64,
    end: u64,
    /// Lines before `start` (so that line numbers are the file's).
    lines_before: u64,
    /// File offset and line count of the underlying reader's own start (0 for the reader that
    /// read the header, the range start for the others).
    base_offset: u64,
    base_lines: u64,
}

/// One readable record. Columns are addressed by their position in the spec the table was
/// opened with (an array lookup per field: this runs for every field of every row).
pub struct Row<'a> {
    pub line: u64,
    /// The record's bytes as text (checked UTF-8); fields are ranges of it.
    text: &'a str,
    record: &'a csv::ByteRecord,
    positions: &'a [Option<usize>],
    specs: &'static [ColumnSpec],
    extra_positions: &'a [usize],
}

impl<'a> Row<'a> {
    /// The trimmed value of spec column `col`, `None` when the column is absent or the value
    /// empty.
    pub fn get(&self, col: usize) -> Option<&'a str> {
        let i = (*self.positions.get(col)?)?;
        let v = self.text.get(self.record.range(i)?)?.trim();
        (!v.is_empty()).then_some(v)
    }

    /// The trimmed value of the `k`-th column the spec does not know (in header order), `None`
    /// when empty.
    pub fn extra(&self, k: usize) -> Option<&'a str> {
        let i = *self.extra_positions.get(k)?;
        let v = self.text.get(self.record.range(i)?)?.trim();
        (!v.is_empty()).then_some(v)
    }

    /// The name of spec column `col`.
    pub fn name(&self, col: usize) -> &'static str {
        self.specs.get(col).map_or("", |s| s.name)
    }

    /// Like [`Row::get`] but a missing value is a problem.
    pub fn required(&self, col: usize) -> Result<&'a str, RowProblem> {
        self.get(col).ok_or_else(|| {
            let name = self.name(col);
            RowProblem::new(name, "", format!("required field `{name}` is empty"))
        })
    }
}

/// What a call to [`CsvTable::next_row`] produced.
pub enum Next<'a> {
    Row(Row<'a>),
    Problem { line: u64, problem: RowProblem },
    End,
}

impl CsvTable {
    /// Opens `path` and resolves its header against `specs`. `mapping` maps a canonical column
    /// name to the user's header name.
    ///
    /// # Errors
    /// Unreadable or empty file, a header that is not UTF-8, a known column present twice,
    /// a required column missing (with a "did you mean" hint).
    pub fn open(
        path: &Path,
        specs: &'static [ColumnSpec],
        mapping: &BTreeMap<String, String>,
        max_field_bytes: usize,
    ) -> Result<CsvTable, InputError> {
        let unreadable = |source| InputError::Unreadable {
            file: path.to_path_buf(),
            source,
        };
        let file = File::open(path).map_err(unreadable)?;
        let meta = file.metadata().map_err(unreadable)?;
        if meta.is_dir() {
            return Err(unreadable(std::io::Error::other("is a directory")));
        }
        let file_bytes = meta.len();
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            // Records end at `\n` only (a `\r` before it is trimmed with the field): with the
            // default CRLF terminator the csv crate reports the line of a record that follows a
            // `\r\n` one too low, and its start one byte early.
            .terminator(csv::Terminator::Any(b'\n'))
            .from_reader(Box::new(BufReader::with_capacity(1 << 20, file)) as Box<dyn Read + Send>);
        let mut first = csv::ByteRecord::new();
        let expected = specs
            .iter()
            .filter(|s| s.required)
            .map(|s| s.name)
            .collect::<Vec<_>>()
            .join(", ");
        let got = reader
            .read_byte_record(&mut first)
            .map_err(|e| csv_error(path, e))?;
        if !got
            || (first.len() == 1
                && first[0]
                    .iter()
                    .all(|b| b.is_ascii_whitespace() || *b == 0xEF || *b == 0xBB || *b == 0xBF))
        {
            return Err(InputError::Empty {
                file: path.to_path_buf(),
                expected,
            });
        }
        let mut header = Vec::with_capacity(first.len());
        for (i, field) in first.iter().enumerate() {
            let field = if i == 0 {
                field.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(field)
            } else {
                field
            };
            let name = std::str::from_utf8(field).map_err(|_| InputError::Header {
                file: path.to_path_buf(),
                message: format!("header field {} is not valid UTF-8", i + 1),
            })?;
            header.push(name.trim().to_string());
        }

        // User mapping: their header (lower case) -> canonical name.
        let mut reverse: BTreeMap<String, &'static str> = BTreeMap::new();
        for spec in specs {
            if let Some(theirs) = mapping.get(spec.name) {
                reverse.insert(theirs.trim().to_lowercase(), spec.name);
            }
        }
        let mut index: BTreeMap<&'static str, usize> = BTreeMap::new();
        let mut positions: BTreeMap<&'static str, Vec<usize>> = BTreeMap::new();
        let mut extra = Vec::new();
        let mut extra_positions = Vec::new();
        for (i, name) in header.iter().enumerate() {
            let lower = name.to_lowercase();
            let canonical = reverse.get(&lower).copied().or_else(|| {
                // A header that is itself a canonical name counts, unless the user mapped
                // another header onto that name.
                specs
                    .iter()
                    .find(|s| s.name == lower && !mapping.contains_key(s.name))
                    .map(|s| s.name)
            });
            match canonical {
                Some(c) => {
                    positions.entry(c).or_default().push(i);
                    index.entry(c).or_insert(i);
                }
                None => {
                    extra.push(name.clone());
                    extra_positions.push(i);
                }
            }
        }
        for (column, pos) in &positions {
            if pos.len() > 1 {
                return Err(InputError::DuplicateColumn {
                    file: path.to_path_buf(),
                    column: column.to_string(),
                    count: pos.len(),
                    positions: pos
                        .iter()
                        .map(|p| (p + 1).to_string())
                        .collect::<Vec<_>>()
                        .join(", "),
                });
            }
        }
        for spec in specs.iter().filter(|s| s.required) {
            if !index.contains_key(spec.name) {
                return Err(InputError::MissingColumn {
                    file: path.to_path_buf(),
                    column: spec.name.to_string(),
                    hint: missing_hint(spec.name, &extra, mapping.get(spec.name)),
                });
            }
        }
        for (canonical, theirs) in mapping {
            if specs.iter().any(|s| s.name == canonical) && !index.contains_key(canonical.as_str())
            {
                return Err(InputError::Header {
                    file: path.to_path_buf(),
                    message: format!(
                        "the column mapping reads `{canonical}` from `{theirs}`, but the header has no `{theirs}` (header: {})",
                        header.join(", ")
                    ),
                });
            }
        }
        let positions = specs.iter().map(|s| index.get(s.name).copied()).collect();
        let start = reader.position().byte();
        let lines_before = reader.position().line().saturating_sub(1);
        Ok(CsvTable {
            path: path.to_path_buf(),
            layout: std::sync::Arc::new(Layout {
                header,
                index,
                positions,
                specs,
                extra,
                extra_positions,
            }),
            reader,
            record: csv::ByteRecord::new(),
            max_field_bytes,
            start,
            end: file_bytes,
            lines_before,
            base_offset: 0,
            base_lines: 0,
        })
    }

    /// Splits the rest of the file into up to `parts` readers over consecutive byte ranges that
    /// start at record boundaries, to be read in parallel; their rows, in order, are this
    /// reader's rows. Files smaller than `parts * min_part_bytes` are not split.
    ///
    /// A boundary is the byte after a line feed outside quotes. Quotes are counted from the
    /// start of the data (where no field is open): with RFC 4180 quoting (`""` inside a quoted
    /// field) an even count means "outside a field", so a line feed seen at even parity ends a
    /// record.
    ///
    /// # Errors
    /// The file cannot be read again.
    pub fn split(self, parts: usize, min_part_bytes: u64) -> Result<Vec<CsvTable>, InputError> {
        let total = self.end.saturating_sub(self.start);
        if parts <= 1 || total < (parts as u64) * min_part_bytes.max(1) {
            return Ok(vec![self]);
        }
        let unreadable = |source| InputError::Unreadable {
            file: self.path.clone(),
            source,
        };
        let mut file = File::open(&self.path).map_err(unreadable)?;
        file.seek(SeekFrom::Start(self.start)).map_err(unreadable)?;
        let targets: Vec<u64> = (1..parts as u64)
            .map(|k| self.start + total * k / parts as u64)
            .collect();
        // (byte offset, lines before it) of each boundary.
        let mut bounds: Vec<(u64, u64)> = Vec::new();
        let mut reader = BufReader::with_capacity(1 << 22, file);
        let (mut pos, mut quotes, mut lines) = (self.start, 0u64, self.lines_before);
        let mut seeking = false;
        'scan: loop {
            let buf = reader.fill_buf().map_err(unreadable)?;
            if buf.is_empty() {
                break;
            }
            let n = buf.len();
            // Far from the next boundary only the counts matter: count both bytes at memchr
            // speed instead of visiting every line.
            let next_target = targets.get(bounds.len()).copied();
            if !seeking && next_target.is_some_and(|t| pos + (n as u64) < t) {
                quotes += memchr::memchr_iter(b'"', buf).count() as u64;
                lines += memchr::memchr_iter(b'\n', buf).count() as u64;
                pos += n as u64;
                reader.consume(n);
                continue;
            }
            for i in memchr::memchr2_iter(b'"', b'\n', buf) {
                if buf[i] == b'"' {
                    quotes += 1;
                    continue;
                }
                lines += 1;
                let here = pos + i as u64 + 1;
                let next_target = targets.get(bounds.len()).copied();
                if !seeking {
                    if let Some(t) = next_target {
                        if here >= t {
                            seeking = true;
                        }
                    }
                }
                if seeking && quotes % 2 == 0 {
                    bounds.push((here, lines));
                    seeking = false;
                    if bounds.len() == targets.len() {
                        break 'scan;
                    }
                }
            }
            pos += n as u64;
            reader.consume(n);
        }
        let mut out = Vec::with_capacity(bounds.len() + 1);
        let layout = self.layout.clone();
        let (path, max_field_bytes, end) = (self.path.clone(), self.max_field_bytes, self.end);
        let first_end = bounds.first().map_or(end, |b| b.0);
        let mut first = self;
        first.end = first_end;
        // The first reader is already past the header: limit it to its range.
        out.push(first);
        for (k, (start, lines_before)) in bounds.iter().enumerate() {
            let stop = bounds.get(k + 1).map_or(end, |b| b.0);
            let mut file = File::open(&path).map_err(|source| InputError::Unreadable {
                file: path.clone(),
                source,
            })?;
            file.seek(SeekFrom::Start(*start))
                .map_err(|source| InputError::Unreadable {
                    file: path.clone(),
                    source,
                })?;
            let reader = csv::ReaderBuilder::new()
                .has_headers(false)
                .flexible(true)
                .terminator(csv::Terminator::Any(b'\n'))
                .from_reader(
                    Box::new(BufReader::with_capacity(1 << 20, file.take(stop - start)))
                        as Box<dyn Read + Send>,
                );
            out.push(CsvTable {
                path: path.clone(),
                layout: layout.clone(),
                reader,
                record: csv::ByteRecord::new(),
                max_field_bytes,
                start: *start,
                end: stop,
                lines_before: *lines_before,
                base_offset: *start,
                base_lines: *lines_before,
            });
        }
        Ok(out)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Columns that are not known; they are not used.
    pub fn extra_columns(&self) -> &[String] {
        &self.layout.extra
    }

    pub fn has_column(&self, column: &str) -> bool {
        self.layout.index.contains_key(column)
    }

    /// Bytes read so far and the file size, for progress.
    /// Bytes read so far in this reader's range, and the range's length, for progress.
    pub fn progress(&self) -> (u64, u64) {
        let at = self.base_offset + self.reader.position().byte();
        (at.saturating_sub(self.start), self.end - self.start)
    }

    /// The next record.
    ///
    /// # Errors
    /// An I/O error while reading (the file changed or the disk failed).
    pub fn next_row(&mut self) -> Result<Next<'_>, InputError> {
        let got = self
            .reader
            .read_byte_record(&mut self.record)
            .map_err(|e| csv_error(&self.path, e))?;
        if !got {
            return Ok(Next::End);
        }
        let (byte, line) = self
            .record
            .position()
            .map_or((0, 0), |p| (p.byte(), p.line()));
        if self.base_offset + byte >= self.end {
            return Ok(Next::End);
        }
        let line = self.base_lines + line;
        let rec = &self.record;
        let header = &self.layout.header;
        let column_name = |i: usize| {
            header
                .get(i)
                .cloned()
                .unwrap_or_else(|| format!("field {}", i + 1))
        };
        if rec.len() != header.len() {
            return Ok(Next::Problem {
                line,
                problem: RowProblem::new(
                    "",
                    &String::from_utf8_lossy(rec.as_slice()),
                    format!(
                        "the row has {} fields, the header has {}",
                        rec.len(),
                        header.len()
                    ),
                ),
            });
        }
        if rec.as_slice().len() > self.max_field_bytes {
            if let Some((i, f)) = rec
                .iter()
                .enumerate()
                .find(|(_, f)| f.len() > self.max_field_bytes)
            {
                return Ok(Next::Problem {
                    line,
                    problem: RowProblem::new(
                        &column_name(i),
                        &String::from_utf8_lossy(f),
                        format!(
                            "field is {} bytes, over the limit of {} (limits.max_field_bytes)",
                            f.len(),
                            self.max_field_bytes
                        ),
                    ),
                });
            }
        }
        // One UTF-8 check for the whole record: fields split at ASCII delimiters, so every field
        // of valid text is valid text. Only a failure looks field by field, for the message.
        let text = match std::str::from_utf8(rec.as_slice()) {
            Ok(text) => text,
            Err(whole) => {
                let bad = rec.iter().enumerate().find_map(|(i, f)| {
                    std::str::from_utf8(f)
                        .err()
                        .map(|e| (i, f, e.valid_up_to()))
                });
                let (i, f, offset) = bad.unwrap_or((0, rec.as_slice(), whole.valid_up_to()));
                return Ok(Next::Problem {
                    line,
                    problem: RowProblem::new(
                        &column_name(i),
                        &String::from_utf8_lossy(f),
                        format!("not valid UTF-8 (bad byte at offset {offset} of the field); save the file as UTF-8"),
                    ),
                });
            }
        };
        Ok(Next::Row(Row {
            line,
            text,
            record: rec,
            positions: &self.layout.positions,
            specs: self.layout.specs,
            extra_positions: &self.layout.extra_positions,
        }))
    }
}

fn csv_error(path: &Path, e: csv::Error) -> InputError {
    let line = e.position().map_or(0, |p| p.line());
    match e.into_kind() {
        csv::ErrorKind::Io(source) => InputError::Unreadable {
            file: path.to_path_buf(),
            source,
        },
        other => InputError::NotCsv {
            file: path.to_path_buf(),
            line,
            message: format!("{other:?}"),
        },
    }
}

fn missing_hint(column: &str, extra: &[String], mapped_from: Option<&String>) -> String {
    if let Some(theirs) = mapped_from {
        return format!(" (mapped from `{theirs}`, which the header does not have)");
    }
    let best = extra
        .iter()
        .map(|h| (strsim::jaro_winkler(&h.to_lowercase(), column), h))
        .filter(|(score, _)| *score >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0).then_with(|| b.1.cmp(a.1)));
    match best {
        Some((_, h)) => format!(
            " (did you mean `{column}`? the header has `{h}`: rename it, or pass --map {column}={h})"
        ),
        None if extra.is_empty() => String::new(),
        None => format!(
            " (the header has: {}; map one with --map {column}=<header>)",
            extra.iter().map(|h| format!("`{h}`")).collect::<Vec<_>>().join(", ")
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPECS: &[ColumnSpec] = &[
        ColumnSpec {
            name: "a",
            required: true,
        },
        ColumnSpec {
            name: "b",
            required: false,
        },
    ];

    fn rows(mut t: CsvTable) -> Vec<(u64, Option<String>, Option<String>)> {
        let mut out = Vec::new();
        loop {
            match t.next_row().expect("read") {
                Next::End => break,
                Next::Problem { line, problem } => {
                    out.push((line, Some(format!("problem: {}", problem.reason)), None))
                }
                Next::Row(r) => out.push((
                    r.line,
                    r.get(0).map(str::to_string),
                    r.get(1).map(str::to_string),
                )),
            }
        }
        out
    }

    /// A file of `n` rows with quoted newlines, escaped quotes and commas, CRLF and ragged
    /// rows (`pad` bytes of filler in the plain ones); its rows read whole and split.
    fn check_split(n: usize, pad: usize, parts_list: &[usize]) {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("t.csv");
        let filler = "p".repeat(pad);
        let mut text = String::from("\u{feff}a,b\r\n");
        for i in 0..n {
            match i % 5 {
                0 => text.push_str(&format!("{i},\"multi\nline \"\"quoted\"\", value\"\r\n")),
                1 => text.push_str(&format!("{i},plain{filler}\n")),
                2 => text.push_str(&format!("\"{i}\",\"x\"\"\"\n")),
                3 => text.push_str(&format!("{i}\n")),
                _ => text.push_str(&format!("{i},\"\n\n\"\n")),
            }
        }
        std::fs::write(&path, text).expect("write");
        let open = || CsvTable::open(&path, SPECS, &BTreeMap::new(), 1 << 16).expect("open");
        let whole = rows(open());
        assert_eq!(whole.len(), n);
        assert_eq!(whole[0].0, 2, "line numbers count the header");
        assert_eq!(
            whole[1].0, 4,
            "a record with a quoted newline spans two lines"
        );
        for &parts in parts_list {
            let split = open().split(parts, 1).expect("split");
            assert!(split.len() > 1, "the file is split in {parts}");
            let joined: Vec<_> = split.into_iter().flat_map(rows).collect();
            assert!(
                joined == whole,
                "{parts} parts: the rows or their lines differ"
            );
        }
    }

    #[test]
    fn split_readers_see_the_same_rows_and_lines() {
        check_split(300, 0, &[2, 3, 7]);
    }

    #[test]
    fn split_readers_agree_on_files_larger_than_the_scan_buffer() {
        // ~10 MB: the boundary scan counts whole 4 MiB buffers before it reaches a boundary.
        check_split(100_000, 400, &[2, 3]);
    }
}
