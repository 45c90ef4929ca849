//! The CSV reader under every input: header resolution and record-level checks.
//!
//! It finds the columns (case-insensitively, through the user's column mapping), strips a
//! UTF-8 byte-order mark, refuses missing or duplicated known columns with a message that
//! suggests the fix, and then yields records as [`Row`]s with their line number. Records that
//! cannot be read as a row at all (wrong number of fields, bytes that are not UTF-8, a field
//! over the size limit) are returned as [`RowProblem`]s; typed parsing is the caller's.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::BufReader;
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

/// An open CSV file with its columns resolved.
pub struct CsvTable {
    path: PathBuf,
    reader: csv::Reader<BufReader<File>>,
    header: Vec<String>,
    /// Known column name → index in the record.
    index: BTreeMap<&'static str, usize>,
    extra: Vec<String>,
    record: csv::ByteRecord,
    max_field_bytes: usize,
    file_bytes: u64,
}

/// One readable record.
pub struct Row<'a> {
    pub line: u64,
    fields: Vec<&'a str>,
    index: &'a BTreeMap<&'static str, usize>,
}

impl<'a> Row<'a> {
    /// The trimmed value of a known column, `None` when the column is absent or the value empty.
    pub fn get(&self, column: &str) -> Option<&'a str> {
        let i = *self.index.get(column)?;
        let v = self.fields.get(i)?.trim();
        (!v.is_empty()).then_some(v)
    }

    /// Like [`Row::get`] but a missing value is a problem.
    pub fn required(&self, column: &str) -> Result<&'a str, RowProblem> {
        self.get(column).ok_or_else(|| {
            RowProblem::new(column, "", format!("required field `{column}` is empty"))
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
        specs: &[ColumnSpec],
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
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(BufReader::with_capacity(1 << 20, file));
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
                None => extra.push(name.clone()),
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
        Ok(CsvTable {
            path: path.to_path_buf(),
            reader,
            header,
            index,
            extra,
            record: csv::ByteRecord::new(),
            max_field_bytes,
            file_bytes: meta.len(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Columns that are not known; they are not used.
    pub fn extra_columns(&self) -> &[String] {
        &self.extra
    }

    pub fn has_column(&self, column: &str) -> bool {
        self.index.contains_key(column)
    }

    /// Bytes read so far and the file size, for progress.
    pub fn progress(&self) -> (u64, u64) {
        (self.reader.position().byte(), self.file_bytes)
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
        let line = self.record.position().map_or(0, |p| p.line());
        let rec = &self.record;
        let column_name = |i: usize| {
            self.header
                .get(i)
                .cloned()
                .unwrap_or_else(|| format!("field {}", i + 1))
        };
        if rec.len() != self.header.len() {
            return Ok(Next::Problem {
                line,
                problem: RowProblem::new(
                    "",
                    &String::from_utf8_lossy(rec.as_slice()),
                    format!(
                        "the row has {} fields, the header has {}",
                        rec.len(),
                        self.header.len()
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
        let mut fields = Vec::with_capacity(rec.len());
        for (i, f) in rec.iter().enumerate() {
            match std::str::from_utf8(f) {
                Ok(s) => fields.push(s),
                Err(e) => {
                    return Ok(Next::Problem {
                        line,
                        problem: RowProblem::new(
                            &column_name(i),
                            &String::from_utf8_lossy(f),
                            format!("not valid UTF-8 (bad byte at offset {} of the field); save the file as UTF-8", e.valid_up_to()),
                        ),
                    })
                }
            }
        }
        Ok(Next::Row(Row {
            line,
            fields,
            index: &self.index,
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
