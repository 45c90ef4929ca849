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

use super::records::{Lend, Lent, Record, Records};
use crate::error::InputError;
use crate::ingest::decode::{
    bom_encoding, delimiter_name, detect_delimiter, legacy_encoding, transcode, InputFormat,
    Transcoded,
};

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

/// The header's names: UTF-8 (a byte-order mark dropped), trimmed. A header that is not UTF-8
/// names the legacy encoding it looks like, unless an encoding was given.
fn header_names(
    first: &Record,
    path: &Path,
    encoding_given: bool,
) -> Result<Vec<String>, InputError> {
    let mut header = Vec::with_capacity(first.len());
    for (i, field) in first.iter().enumerate() {
        let field = if i == 0 {
            field.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(field)
        } else {
            field
        };
        let name = std::str::from_utf8(field).map_err(|_| {
            match (!encoding_given).then(|| legacy_encoding(path)).flatten() {
                Some(label) => InputError::Encoding {
                    file: path.to_path_buf(),
                    line: 1,
                    label: label.to_string(),
                },
                None => InputError::Header {
                    file: path.to_path_buf(),
                    message: format!("header field {} is not valid UTF-8", i + 1),
                },
            }
        })?;
        header.push(name.trim().to_string());
    }
    Ok(header)
}

impl Layout {
    /// Places the spec's columns in `header` (through the user's `mapping`); the rest are
    /// extra columns. A duplicated or missing required column, or a mapping onto a header
    /// that is not there, is an error.
    fn new(
        path: &Path,
        header: Vec<String>,
        specs: &'static [ColumnSpec],
        mapping: &BTreeMap<String, String>,
    ) -> Result<Layout, InputError> {
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
        Ok(Layout {
            header,
            index,
            positions,
            specs,
            extra,
            extra_positions,
        })
    }
}

/// How a file was read, shared by the readers of its parts.
struct Source {
    /// The file read: the input itself, or its UTF-8 copy.
    read_path: PathBuf,
    delimiter: u8,
    encoding: &'static str,
    /// The decoded copy, removed when the last reader is dropped.
    _transcoded: Option<Transcoded>,
    /// The encoding was given: bytes that are not UTF-8 reject their row, with no hint.
    encoding_given: bool,
    /// Whether the file looks like a legacy 8-bit encoding (checked at the first row whose
    /// bytes are not UTF-8).
    legacy: std::sync::OnceLock<Option<&'static str>>,
}

/// An open CSV file (or a byte range of it) with its columns resolved.
pub struct CsvTable {
    path: PathBuf,
    source: std::sync::Arc<Source>,
    layout: std::sync::Arc<Layout>,
    /// The file mapped into memory, when it can be (a regular, non-empty file): readers and
    /// the boundary scan then see the page cache directly instead of copying it through
    /// `read` calls. `None`: read through a buffer (pipes, special files).
    mapped: Option<Mapped>,
    reader: Records,
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
    /// Where reading stopped, once [`CsvTable::next_row`] has said `End`: see
    /// [`CsvTable::stopped_at`].
    stopped: Option<(u64, u64)>,
    /// The reader met the end of the file.
    at_eof: bool,
}

/// How [`CsvTable::split_guessed`] cut a file into readers.
pub enum Parts {
    /// Readers whose rows, in order, and line numbers are the file's (one reader when the
    /// file is not split).
    Exact(Vec<CsvTable>),
    /// Readers whose ranges start after a line feed that ends a non-blank line: a record
    /// starts there unless that line feed is inside a quoted field. Each reader after the
    /// first numbers its lines from its own start, and reads past its end to the record
    /// that stops it, which tells whether the guess held ([`CsvTable::stopped_at`]). When it
    /// did not, `again` reads the file from the first row, to be split exactly.
    Guessed {
        parts: Vec<CsvTable>,
        again: Box<CsvTable>,
    },
}

/// One readable record. Columns are addressed by their position in the spec the table was
/// opened with (an array lookup per field: this runs for every field of every row).
pub struct Row<'a> {
    pub line: u64,
    /// The record's bytes as text (checked UTF-8); fields are ranges of it.
    text: &'a str,
    record: Record<'a>,
    positions: &'a [Option<usize>],
    specs: &'static [ColumnSpec],
    extra_positions: &'a [usize],
}

impl<'a> Row<'a> {
    /// The trimmed value of spec column `col`, `None` when the column is absent or the value
    /// empty.
    pub fn get(&self, col: usize) -> Option<&'a str> {
        let i = (*self.positions.get(col)?)?;
        let v = trimmed(self.text.get(self.record.range(i)?)?);
        (!v.is_empty()).then_some(v)
    }

    /// The trimmed value of the `k`-th column the spec does not know (in header order), `None`
    /// when empty.
    pub fn extra(&self, k: usize) -> Option<&'a str> {
        let i = *self.extra_positions.get(k)?;
        let v = trimmed(self.text.get(self.record.range(i)?)?);
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

/// `s.trim()`, without decoding a character when both ends are visible ASCII (most fields:
/// every Unicode white space is either ASCII below `!` or not ASCII).
fn trimmed(s: &str) -> &str {
    match (s.as_bytes().first(), s.as_bytes().last()) {
        (Some(a), Some(z)) if a.is_ascii_graphic() && z.is_ascii_graphic() => s,
        _ => s.trim(),
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
        input: InputFormat,
    ) -> Result<CsvTable, InputError> {
        let unreadable = |source| InputError::Unreadable {
            file: path.to_path_buf(),
            source,
        };
        let mut file = File::open(path).map_err(unreadable)?;
        let meta = file.metadata().map_err(unreadable)?;
        if meta.is_dir() {
            return Err(unreadable(std::io::Error::other("is a directory")));
        }
        // The encoding: as given, else UTF-16 when its byte-order mark says so, else UTF-8.
        let mut head = Vec::with_capacity(1 << 16);
        (&mut file)
            .take(1 << 16)
            .read_to_end(&mut head)
            .map_err(unreadable)?;
        let encoding = input.encoding.or_else(|| bom_encoding(&head));
        let (file, meta, transcoded) = match encoding {
            Some(e) if e != encoding_rs::UTF_8 => {
                let copy = transcode(path, e)?;
                let file = File::open(copy.path()).map_err(unreadable)?;
                let meta = file.metadata().map_err(unreadable)?;
                head.clear();
                (&file)
                    .take(1 << 16)
                    .read_to_end(&mut head)
                    .map_err(unreadable)?;
                (file, meta, Some(copy))
            }
            _ => (file, meta, None),
        };
        let delimiter = input.delimiter.unwrap_or_else(|| {
            detect_delimiter(head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&head))
        });
        let source_info = std::sync::Arc::new(Source {
            read_path: transcoded
                .as_ref()
                .map_or_else(|| path.to_path_buf(), |t| t.path().to_path_buf()),
            delimiter,
            encoding: encoding.map_or("UTF-8", |e| e.name()),
            _transcoded: transcoded,
            encoding_given: input.encoding.is_some(),
            legacy: std::sync::OnceLock::new(),
        });
        let file_bytes = meta.len();
        let mapped = Mapped::new(&file, &meta);
        let mut reader = match &mapped {
            Some(m) => Records::lent(m.range(0, file_bytes), delimiter),
            None => Records::new(Box::new(BufReader::with_capacity(1 << 20, file)), delimiter),
        };
        let expected = specs
            .iter()
            .filter(|s| s.required)
            .map(|s| s.name)
            .collect::<Vec<_>>()
            .join(", ");
        let first = reader.read().map_err(unreadable)?;
        // One field of only spaces or a byte-order mark's bytes.
        let blank = |first: &Record| {
            first.len() == 1
                && first.iter().all(|field| {
                    field
                        .iter()
                        .all(|b| b.is_ascii_whitespace() || *b == 0xEF || *b == 0xBB || *b == 0xBF)
                })
        };
        let header = match first {
            Some(first) if !blank(&first) => {
                header_names(&first, path, source_info.encoding_given)?
            }
            _ => {
                return Err(InputError::Empty {
                    file: path.to_path_buf(),
                    expected,
                })
            }
        };
        let layout = Layout::new(path, header, specs, mapping)?;
        let (start, line) = reader.position();
        let lines_before = line.saturating_sub(1);
        Ok(CsvTable {
            path: path.to_path_buf(),
            source: source_info,
            layout: std::sync::Arc::new(layout),
            mapped,
            reader,
            max_field_bytes,
            start,
            end: file_bytes,
            lines_before,
            base_offset: 0,
            base_lines: 0,
            stopped: None,
            at_eof: false,
        })
    }

    /// Splits the rest of the file into up to `parts` readers without reading it first: each
    /// range starts at the first line feed at or after an even share of the bytes that ends a
    /// non-blank line ([`Parts::Guessed`]). A line feed inside a quoted field can fool the
    /// guess; the readers find out when they stop, and the caller then reads `again`, split
    /// exactly by [`CsvTable::split`]. The exact split counts every quote and line feed up to
    /// its last boundary before any row is read (at ten million claims, 0.4 s on both cores
    /// before the reading threads start). A file that is not mapped into memory, or too small
    /// to split, gets [`Parts::Exact`].
    ///
    /// # Errors
    /// The file cannot be read again.
    pub fn split_guessed(self, parts: usize, min_part_bytes: u64) -> Result<Parts, InputError> {
        let total = self.end.saturating_sub(self.start);
        if parts <= 1 || total < (parts as u64) * min_part_bytes.max(1) {
            return Ok(Parts::Exact(vec![self]));
        }
        let Some(map) = self.mapped.clone() else {
            return self.split(parts, min_part_bytes).map(Parts::Exact);
        };
        let unreadable = |source| InputError::Unreadable {
            file: self.path.clone(),
            source,
        };
        let mut bounds: Vec<u64> = Vec::with_capacity(parts - 1);
        for k in 1..parts as u64 {
            let target = self.start + total * k / parts as u64;
            let at = bounds.last().map_or(target, |b| target.max(b + 1));
            match map.after_line_end(self.start, at).map_err(unreadable)? {
                Some(b) if b < self.end => bounds.push(b),
                _ => break,
            }
        }
        if bounds.is_empty() {
            return Ok(Parts::Exact(vec![self]));
        }
        let again = Box::new(self.reader_over(&map, self.start, self.end, self.lines_before));
        let mut out = Vec::with_capacity(bounds.len() + 1);
        for (k, start) in bounds.iter().enumerate() {
            let stop = bounds.get(k + 1).copied().unwrap_or(self.end);
            out.push(self.reader_over(&map, *start, stop, 0));
        }
        let mut first = self;
        first.end = bounds[0];
        out.insert(0, first);
        Ok(Parts::Guessed { parts: out, again })
    }

    /// A reader of this file's rows from byte `start` (a record start) to `end`, with
    /// `lines_before` lines before `start`. It reads on past `end` to the record that stops
    /// it.
    fn reader_over(&self, map: &Mapped, start: u64, end: u64, lines_before: u64) -> CsvTable {
        CsvTable {
            path: self.path.clone(),
            source: self.source.clone(),
            layout: self.layout.clone(),
            mapped: Some(map.clone()),
            reader: Records::lent(map.range(start, map.len), self.source.delimiter),
            max_field_bytes: self.max_field_bytes,
            start,
            end,
            lines_before,
            base_offset: start,
            base_lines: lines_before,
            stopped: None,
            at_eof: false,
        }
    }

    /// Once [`CsvTable::next_row`] has said `End`: the byte offset where the record that
    /// stopped this reader starts (blank lines before it included) and the line number it
    /// would have, or the end of the file and the line after the last. `None` before.
    pub fn stopped_at(&self) -> Option<(u64, u64)> {
        if self.at_eof {
            let (byte, line) = self.reader.position();
            return Some((self.base_offset + byte, self.base_lines + line));
        }
        self.stopped
    }

    /// The byte range this reader's rows start in.
    pub fn range(&self) -> (u64, u64) {
        (self.start, self.end)
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
        let targets: Vec<u64> = (1..parts as u64)
            .map(|k| self.start + total * k / parts as u64)
            .collect();
        let mut scan = BoundaryScan::new(self.start, self.lines_before, targets);
        match &self.mapped {
            Some(m) => m
                .scan(self.start, |buf| scan.feed(buf))
                .map_err(unreadable)?,
            None => {
                let mut file = File::open(&self.source.read_path).map_err(unreadable)?;
                file.seek(SeekFrom::Start(self.start)).map_err(unreadable)?;
                let mut reader = BufReader::with_capacity(1 << 22, file);
                loop {
                    let buf = reader.fill_buf().map_err(unreadable)?;
                    if buf.is_empty() {
                        break;
                    }
                    let n = buf.len();
                    if scan.feed(buf) {
                        break;
                    }
                    reader.consume(n);
                }
            }
        }
        let bounds = scan.bounds;
        let mut out = Vec::with_capacity(bounds.len() + 1);
        let layout = self.layout.clone();
        let (path, max_field_bytes, end) = (self.path.clone(), self.max_field_bytes, self.end);
        let first_end = bounds.first().map_or(end, |b| b.0);
        let mapped = self.mapped.clone();
        let source_info = self.source.clone();
        let mut first = self;
        first.end = first_end;
        // The first reader is already past the header: limit it to its range.
        out.push(first);
        for (k, (start, lines_before)) in bounds.iter().enumerate() {
            let stop = bounds.get(k + 1).map_or(end, |b| b.0);
            let reader = match &mapped {
                Some(m) => Records::lent(m.range(*start, stop), source_info.delimiter),
                None => {
                    let unreadable = |source| InputError::Unreadable {
                        file: path.clone(),
                        source,
                    };
                    let mut file = File::open(&source_info.read_path).map_err(unreadable)?;
                    file.seek(SeekFrom::Start(*start)).map_err(unreadable)?;
                    Records::new(
                        Box::new(BufReader::with_capacity(1 << 20, file.take(stop - start))),
                        source_info.delimiter,
                    )
                }
            };
            out.push(CsvTable {
                path: path.clone(),
                source: source_info.clone(),
                layout: layout.clone(),
                mapped: mapped.clone(),
                reader,
                max_field_bytes,
                start: *start,
                end: stop,
                lines_before: *lines_before,
                base_offset: *start,
                base_lines: *lines_before,
                stopped: None,
                at_eof: false,
            });
        }
        Ok(out)
    }

    /// The field separator read, for the summary (`,`, `;`, `tab`, `|`).
    pub fn delimiter(&self) -> &'static str {
        delimiter_name(self.source.delimiter)
    }

    /// The encoding the file was read in (`UTF-8`, `UTF-16LE`, `windows-1252`, …).
    pub fn encoding(&self) -> &'static str {
        self.source.encoding
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

    /// Bytes read so far in this reader's range, and the range's length, for progress.
    pub fn progress(&self) -> (u64, u64) {
        let at = self.base_offset + self.reader.position().0;
        let len = self.end - self.start;
        // A reader may read on past its end, to the record that stops it.
        (at.saturating_sub(self.start).min(len), len)
    }

    /// The next record.
    ///
    /// # Errors
    /// An I/O error while reading (the file changed or the disk failed).
    pub fn next_row(&mut self) -> Result<Next<'_>, InputError> {
        let path = &self.path;
        let read = self
            .reader
            .read()
            .map_err(|source| InputError::Unreadable {
                file: path.clone(),
                source,
            })?;
        let Some(rec) = read else {
            self.at_eof = true;
            return Ok(Next::End);
        };
        if self.base_offset + rec.byte >= self.end {
            self.stopped = Some((self.base_offset + rec.byte, self.base_lines + rec.line));
            return Ok(Next::End);
        }
        // The line of the row itself, past any blank lines before it.
        let line = self.base_lines + rec.first_line;
        let header = &self.layout.header;
        let column_name = |i: usize| {
            header
                .get(i)
                .cloned()
                .unwrap_or_else(|| format!("field {}", i + 1))
        };
        if rec.len() != header.len() {
            // The row as written: its fields joined by the file's separator.
            let separator = [self.source.delimiter];
            let row = rec.iter().collect::<Vec<_>>().join(&separator[..]);
            return Ok(Next::Problem {
                line,
                problem: RowProblem::new(
                    "",
                    &String::from_utf8_lossy(&row),
                    format!(
                        "the row has {} fields, the header has {}",
                        rec.len(),
                        header.len()
                    ),
                ),
            });
        }
        if rec.bytes().len() > self.max_field_bytes {
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
        // One UTF-8 check for the whole record: fields are separated by ASCII delimiters and
        // quotes, so every field of valid text is valid text. Only a failure looks field by
        // field, for the message.
        let checked = simdutf8::basic::from_utf8(rec.bytes()).map_err(|_| ());
        let text = match checked.or_else(|()| std::str::from_utf8(rec.bytes())) {
            Ok(text) => text,
            Err(whole) => {
                let bad = rec.iter().enumerate().find_map(|(i, f)| {
                    std::str::from_utf8(f)
                        .err()
                        .map(|e| (i, f, e.valid_up_to()))
                });
                let (i, f, offset) = bad.unwrap_or((0, rec.bytes(), whole.valid_up_to()));
                // A file in a legacy encoding stops here with the fix, instead of losing every
                // row with an accent one by one.
                if !self.source.encoding_given {
                    let path = &self.path;
                    if let Some(label) = self.source.legacy.get_or_init(|| legacy_encoding(path)) {
                        return Err(InputError::Encoding {
                            file: self.path.clone(),
                            line,
                            label: label.to_string(),
                        });
                    }
                }
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

/// Bytes mapped at a time (a multiple of the page size): one such window per reader is mapped
/// (two for a moment as a reader moves on, and more only for a record longer than a window),
/// so mapped file pages add little more than this to a reader's resident memory.
#[cfg(not(test))]
const MAP_WINDOW: u64 = 1 << 26;
/// Small windows in unit tests, so that records and boundary scans cross window edges.
#[cfg(test)]
const MAP_WINDOW: u64 = 1 << 16;

/// A file read through read-only memory maps, a window at a time (polars' own mapping, which
/// its CSV reader uses too): the bytes come from the page cache without a copy per `read`.
#[derive(Clone)]
struct Mapped {
    file: std::sync::Arc<File>,
    len: u64,
}

type Window = polars::polars_utils::mmap::MMapSemaphore;

impl Mapped {
    /// `None` when the file cannot be mapped (not a regular file, empty, or the OS says no).
    fn new(file: &File, meta: &std::fs::Metadata) -> Option<Mapped> {
        if !meta.is_file() || meta.len() == 0 {
            return None;
        }
        let mapped = Mapped {
            file: std::sync::Arc::new(file.try_clone().ok()?),
            len: meta.len(),
        };
        mapped.window(0).ok()?;
        Some(mapped)
    }

    /// The window that holds byte `at` and the offset where it starts.
    fn window(&self, at: u64) -> std::io::Result<(u64, Window)> {
        let start = at - at % MAP_WINDOW;
        self.window_from(start, MAP_WINDOW)
    }

    /// The window of `len` bytes from `start` (a multiple of the page size), cut at the end
    /// of the file, and `start`.
    fn window_from(&self, start: u64, len: u64) -> std::io::Result<(u64, Window)> {
        let len = (self.len - start).min(len);
        let mut options = memmap2::MmapOptions::new();
        options
            .offset(start)
            .len(usize::try_from(len).map_err(std::io::Error::other)?);
        Window::new_from_file_with_options(&self.file, options)
            .map(|w| (start, w))
            .map_err(std::io::Error::other)
    }

    /// The bytes `start..end` of the file, to be lent to a reader of records.
    fn range(&self, start: u64, end: u64) -> Box<MappedRange> {
        Box::new(MappedRange {
            map: self.clone(),
            start: start.min(self.len),
            end: end.min(self.len),
        })
    }

    /// The first offset `b >= at` that follows a line feed ending a non-blank line which
    /// starts at or after `floor` (`b - 2 >= floor`, the byte at `b - 2` not a line feed):
    /// where a record starts, unless that line feed is inside a quoted field. `None` when no
    /// line feed after `at` qualifies.
    fn after_line_end(&self, floor: u64, at: u64) -> std::io::Result<Option<u64>> {
        let first = at.max(floor + 2);
        // From the byte before the first candidate line feed: its predecessor is in view.
        let from = first - 2;
        let (mut pos, mut prev, mut found) = (from, None::<u8>, None);
        self.scan(from, |buf| {
            for i in memchr::memchr_iter(b'\n', buf) {
                let b = pos + i as u64 + 1;
                let before = if i == 0 { prev } else { Some(buf[i - 1]) };
                if b >= first && before.is_some_and(|c| c != b'\n') {
                    found = Some(b);
                    return true;
                }
            }
            prev = buf.last().copied();
            pos += buf.len() as u64;
            false
        })?;
        Ok(found)
    }

    /// Feeds the bytes from `start` to the end of the file to `f`, a window at a time, until
    /// it returns true.
    fn scan(&self, start: u64, mut f: impl FnMut(&[u8]) -> bool) -> std::io::Result<()> {
        let mut at = start;
        while at < self.len {
            let (from, window) = self.window(at)?;
            let bytes: &[u8] = window.as_ref();
            let skip = usize::try_from(at - from)
                .unwrap_or(bytes.len())
                .min(bytes.len());
            if f(&bytes[skip..]) {
                break;
            }
            at = from + bytes.len() as u64;
        }
        Ok(())
    }
}

/// A byte range of a mapped file, lent a window at a time.
struct MappedRange {
    map: Mapped,
    start: u64,
    end: u64,
}

/// Where lent windows start: a multiple of every usual page size (4, 16 and 64 KiB).
const WINDOW_ALIGN: u64 = 1 << 16;

impl Lend for MappedRange {
    fn lend(&mut self, offset: u64, want: usize) -> std::io::Result<Option<Lent>> {
        let at = self.start.saturating_add(offset);
        if at >= self.end {
            return Ok(None);
        }
        let from = at - at % WINDOW_ALIGN;
        let need = at.saturating_add(want as u64).min(self.end) - from;
        let (from, window) = self.map.window_from(from, need.max(MAP_WINDOW))?;
        let len = <Window as AsRef<[u8]>>::as_ref(&window).len() as u64;
        let cut = |b: u64| usize::try_from(b - from).map_err(std::io::Error::other);
        Ok(Some(Lent {
            at: cut(at)?,
            end: cut((from + len).min(self.end))?,
            bytes: Box::new(window),
        }))
    }
}

/// Finds record boundaries near byte targets (see [`CsvTable::split`]), fed the bytes from a
/// start position in consecutive buffers.
struct BoundaryScan {
    targets: Vec<u64>,
    /// `(byte offset, lines before it)` of each boundary found.
    bounds: Vec<(u64, u64)>,
    pos: u64,
    quotes: u64,
    lines: u64,
    seeking: bool,
    /// The byte before the next buffer (a line feed before the first: the header's).
    last: u8,
}

impl BoundaryScan {
    fn new(start: u64, lines_before: u64, targets: Vec<u64>) -> BoundaryScan {
        BoundaryScan {
            targets,
            bounds: Vec::new(),
            pos: start,
            quotes: 0,
            lines: lines_before,
            seeking: false,
            last: b'\n',
        }
    }

    /// Adds the quotes and line feeds of `buf` to the counts: in pieces that stay in the
    /// cache for both counts, on every thread (the scan runs before the reading threads
    /// start; on one thread, the two counts over half of a 2.3 GB file took 0.4–1.0 s).
    fn count(&mut self, buf: &[u8]) {
        use rayon::prelude::*;
        let (quotes, lines) = buf
            .par_chunks(1 << 20)
            .map(|piece| {
                (
                    memchr::memchr_iter(b'"', piece).count() as u64,
                    memchr::memchr_iter(b'\n', piece).count() as u64,
                )
            })
            .reduce(|| (0, 0), |a, b| (a.0 + b.0, a.1 + b.1));
        self.quotes += quotes;
        self.lines += lines;
    }

    /// Scans the next buffer; true when every boundary has been found.
    fn feed(&mut self, buf: &[u8]) -> bool {
        let n = buf.len();
        // Far from the next boundary only the counts matter: count both bytes at memchr
        // speed instead of visiting every line.
        let next_target = self.targets.get(self.bounds.len()).copied();
        let far = |t: u64, pos: u64| pos + (n as u64) < t;
        if !self.seeking && next_target.is_some_and(|t| far(t, self.pos)) {
            self.count(buf);
            self.pos += n as u64;
            self.last = buf.last().copied().unwrap_or(self.last);
            return false;
        }
        let mut from = 0;
        if !self.seeking {
            // Count up to the last line feed before the target at memchr speed.
            if let Some(t) = next_target {
                let near = usize::try_from(t.saturating_sub(self.pos))
                    .unwrap_or(n)
                    .min(n);
                if let Some(cut) = memchr::memrchr(b'\n', &buf[..near]) {
                    self.count(&buf[..cut]);
                    from = cut;
                }
            }
        }
        for i in memchr::memchr2_iter(b'"', b'\n', &buf[from..]).map(|i| i + from) {
            if buf[i] == b'"' {
                self.quotes += 1;
                continue;
            }
            self.lines += 1;
            let here = self.pos + i as u64 + 1;
            if !self.seeking {
                if let Some(t) = self.targets.get(self.bounds.len()) {
                    if here >= *t {
                        self.seeking = true;
                    }
                }
            }
            // A record starts after a line feed outside quotes that ends a non-blank line
            // (a reader skips blank lines before a record, counting them as its own).
            let before = if i == 0 { self.last } else { buf[i - 1] };
            if self.seeking && self.quotes % 2 == 0 && before != b'\n' {
                self.bounds.push((here, self.lines));
                self.seeking = false;
                if self.bounds.len() == self.targets.len() {
                    return true;
                }
                // The next target may be far again: count up to it at memchr speed.
                if let Some(&t) = self.targets.get(self.bounds.len()) {
                    let rest = &buf[i + 1..];
                    let near = usize::try_from(t.saturating_sub(here))
                        .unwrap_or(rest.len())
                        .min(rest.len());
                    if near > 0 {
                        if let Some(cut) = memchr::memrchr(b'\n', &rest[..near]) {
                            // Recurse on the remainder: counts to `cut`, then seeks.
                            self.count(&rest[..cut]);
                            self.pos = here + cut as u64;
                            self.last = if cut == 0 { buf[i] } else { rest[cut - 1] };
                            return self.feed(&rest[cut..]);
                        }
                    }
                }
            }
        }
        self.pos += n as u64;
        self.last = buf.last().copied().unwrap_or(self.last);
        false
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
pub(super) mod tests {
    use super::*;

    #[test]
    fn fields_are_trimmed_as_str_trim_trims_them() {
        // Every character at either end (white space or not, ASCII or not) around a plain
        // middle, and the empty and one-character fields.
        let mut cases = vec![String::new()];
        for c in (0..=0x3000u32)
            .chain([0xfeff, 0x205f, 0x10ffff])
            .filter_map(char::from_u32)
        {
            cases.push(c.to_string());
            cases.push(format!("{c}ab{c}"));
            cases.push(format!("{c}a b"));
            cases.push(format!("a b{c}"));
        }
        for s in &cases {
            assert_eq!(trimmed(s), s.trim(), "{s:?}");
        }
    }

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

    /// `path` opened with the columns `a` and `b`.
    pub(in crate::ingest) fn open_test_file(path: &Path) -> CsvTable {
        CsvTable::open(
            path,
            SPECS,
            &BTreeMap::new(),
            1 << 16,
            InputFormat::default(),
        )
        .expect("open")
    }

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

    #[test]
    fn a_blank_first_record_is_an_empty_file_quoted_or_not() {
        let dir = tempfile::tempdir().expect("tmp");
        let files = [
            "",
            "\n\n",
            "   \n1,2\n",
            "\u{feff}\n1,2\n",
            "\"  \"\n1,2\n",
            "\" \r\n\"\n1,2\n",
        ];
        for (i, text) in files.iter().enumerate() {
            let path = dir.path().join(format!("e{i}.csv"));
            std::fs::write(&path, text).expect("write");
            let opened = CsvTable::open(
                &path,
                SPECS,
                &BTreeMap::new(),
                1 << 16,
                InputFormat::default(),
            );
            assert!(
                matches!(opened, Err(InputError::Empty { .. })),
                "{text:?}: {:?}",
                opened.err().map(|e| e.to_string())
            );
        }
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
        let open = || open_test_file(&path);
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
    fn split_readers_agree_where_blank_lines_lie_between_rows() {
        // Every row followed by one to three blank lines: many cuts fall among them.
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("t.csv");
        let mut text = String::from("a,b\n");
        for i in 0..300 {
            text.push_str(&format!("{i},v\n{}", "\n".repeat(1 + i % 3)));
        }
        std::fs::write(&path, text).expect("write");
        let open = || open_test_file(&path);
        let whole = rows(open());
        assert_eq!(whole.len(), 300);
        for parts in [2, 3, 5, 8, 13] {
            let joined: Vec<_> = open()
                .split(parts, 1)
                .expect("split")
                .into_iter()
                .flat_map(rows)
                .collect();
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
