//! Writing reports: formats, and the atomic replacement of the whole output set.
//!
//! Reports are written into a staging directory beside `--out`; only when every file is
//! written is the staging directory exchanged with `--out` in one `renameat2(RENAME_EXCHANGE)`
//! (Linux), so a reader sees either the previous set or the new one, never a mix. Where the
//! exchange is not supported, two renames are used. A failed or interrupted run removes its
//! staging directory and leaves `--out` as it was.
//!
//! `--out` may only hold files rumour writes: the exchange replaces the directory, and other
//! files in it would be lost, so the run refuses to start instead.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use polars::prelude::*;

use super::file::ReportFile;
use crate::error::{Error, Result};

/// File names rumour may write into `--out` (every format).
pub const REPORT_NAMES: &[&str] = &[
    "sources",
    "authors",
    "clubs",
    "source_stages",
    "stories",
    "deals",
    "rejects",
    "unmatched",
    "backtest",
    "calibration",
];

/// Output format of tabular reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    #[default]
    Csv,
    Parquet,
}

impl Format {
    pub fn extension(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Parquet => "parquet",
        }
    }
}

/// Whether a spreadsheet would read this cell text as a formula (OWASP's CSV injection): it
/// starts with `=`, `+`, `@`, a tab or a carriage return, or with `-` not followed by a number.
pub fn is_formula_like(text: &str) -> bool {
    match text.as_bytes().first() {
        Some(b'=' | b'+' | b'@' | b'\t' | b'\r') => true,
        Some(b'-') => text.len() > 1 && text[1..].parse::<f64>().is_err(),
        _ => false,
    }
}

/// The text a CSV report writes for `text`: with a leading `'` when it looks like a formula,
/// the usual neutralising prefix (the spreadsheet shows the text, and runs nothing).
pub fn csv_safe(text: &str) -> std::borrow::Cow<'_, str> {
    if is_formula_like(text) {
        std::borrow::Cow::Owned(format!("'{text}"))
    } else {
        std::borrow::Cow::Borrowed(text)
    }
}

/// `df` with every text cell and column name that looks like a formula prefixed with `'`
/// ([`csv_safe`]); columns with no such cell are kept as they are (no copy).
///
/// # Errors
/// Only from polars (a column that cannot be replaced).
pub fn neutralise_formulas(df: &DataFrame) -> PolarsResult<DataFrame> {
    let mut out = df.clone();
    for name in df.get_column_names_owned() {
        let column = df.column(&name)?;
        if let Ok(ca) = column.str() {
            if ca.iter().flatten().any(is_formula_like) {
                let safe: StringChunked = ca
                    .iter()
                    .map(|v| v.map(|t| csv_safe(t).into_owned()))
                    .collect();
                out.replace(&name, safe.with_name(name.clone()).into_column())?;
            }
        }
        if is_formula_like(&name) {
            out.rename(&name, csv_safe(&name).as_ref().into())?;
        }
    }
    Ok(out)
}

/// `consume(part(i))` for `i` in `0..n`, in order, each part made on another thread while the
/// one before it is consumed (at most one waiting). The first error stops both.
fn pipelined<T: Send>(
    n: usize,
    part: impl Fn(usize) -> PolarsResult<T> + Sync,
    mut consume: impl FnMut(T) -> PolarsResult<()>,
) -> PolarsResult<()> {
    std::thread::scope(|scope| {
        let (tx, rx) = std::sync::mpsc::sync_channel::<PolarsResult<T>>(1);
        let part = &part;
        scope.spawn(move || {
            for i in 0..n {
                // A closed channel means the consumer stopped (an error): stop too.
                if tx.send(part(i)).is_err() {
                    break;
                }
            }
        });
        for next in rx.iter() {
            consume(next?)?;
        }
        Ok(())
    })
}

/// The staging directory of the run in progress, for the signal handler.
static STAGING: Mutex<Option<PathBuf>> = Mutex::new(None);

/// Installs the SIGINT/SIGTERM handler: it removes the staging directory of the run in
/// progress (unless the set is being committed, which takes microseconds and is let finish)
/// and exits with code 130.
pub fn install_signal_handler() {
    let _ = ctrlc::set_handler(|| {
        let guard = STAGING.lock();
        if let Ok(staging) = guard {
            if let Some(dir) = staging.as_ref() {
                let _ = fs::remove_dir_all(dir);
            }
        }
        eprintln!("rumour: interrupted; no report was changed");
        std::process::exit(130);
    });
}

/// A set of reports being written.
pub struct OutputSet {
    /// CSV cells are written as they are, formulas and all (`--raw-csv`).
    raw_csv: bool,
    /// Large reports go past the page cache ([`ReportFile`]); off with `--buffered-writes`.
    direct_writes: bool,
    out: PathBuf,
    staging: PathBuf,
    committed: bool,
}

fn is_report_file(name: &str) -> bool {
    if name == "summary.json" || name == "calibration.svg" || name == "report.html" {
        return true;
    }
    match name.rsplit_once('.') {
        Some((stem, ext)) => REPORT_NAMES.contains(&stem) && (ext == "csv" || ext == "parquet"),
        None => false,
    }
}

fn stem(name: &str) -> String {
    name.rsplit_once('.').map_or(name, |(s, _)| s).to_string()
}

/// A writer's error: an I/O failure (a full disk, a file that cannot be written) is an
/// output error naming the file and the OS's reason; anything else is a table error.
fn write_error(path: &Path, e: PolarsError) -> Error {
    match e {
        PolarsError::IO { error, .. } => {
            output_error(path, std::io::Error::new(error.kind(), error.to_string()))
        }
        other => Error::from(other),
    }
}

fn output_error(path: &Path, source: std::io::Error) -> Error {
    Error::Output {
        path: path.to_path_buf(),
        source,
    }
}

impl OutputSet {
    /// Prepares to replace the reports in `out`.
    ///
    /// # Errors
    /// `out` holds files rumour did not write ([`Error::Usage`]), or the staging directory
    /// cannot be created ([`Error::Output`]).
    pub fn begin(out: &Path) -> Result<OutputSet> {
        let name = out
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .ok_or_else(|| {
                Error::Usage(format!(
                    "{}: not a directory name for the reports",
                    out.display()
                ))
            })?;
        if out.exists() {
            if !out.is_dir() {
                return Err(Error::Usage(format!(
                    "--out {}: exists and is not a directory",
                    out.display()
                )));
            }
            let mut foreign = Vec::new();
            for entry in fs::read_dir(out).map_err(|e| output_error(out, e))? {
                let entry = entry.map_err(|e| output_error(out, e))?;
                let file = entry.file_name().to_string_lossy().to_string();
                if !is_report_file(&file) || !entry.path().is_file() {
                    foreign.push(file);
                }
            }
            if !foreign.is_empty() {
                foreign.sort();
                return Err(Error::Usage(format!(
                    "--out {} holds files rumour did not write ({}); the report set replaces the whole directory, so choose an empty or rumour-only directory",
                    out.display(),
                    foreign.join(", ")
                )));
            }
        }
        let parent = match out.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        fs::create_dir_all(&parent).map_err(|e| output_error(&parent, e))?;
        // Staging directories left by a killed run (the process is gone) are removed.
        if let Ok(entries) = fs::read_dir(&parent) {
            for entry in entries.flatten() {
                let file = entry.file_name().to_string_lossy().to_string();
                if let Some(pid) = file
                    .strip_prefix(&format!(".{name}.rumour-"))
                    .and_then(|p| p.parse::<u32>().ok())
                {
                    if !Path::new(&format!("/proc/{pid}")).exists() {
                        let _ = fs::remove_dir_all(entry.path());
                    }
                }
            }
        }
        let staging = parent.join(format!(".{name}.rumour-{}", std::process::id()));
        let _ = fs::remove_dir_all(&staging);
        fs::create_dir(&staging).map_err(|e| output_error(&staging, e))?;
        if let Ok(mut s) = STAGING.lock() {
            *s = Some(staging.clone());
        }
        Ok(OutputSet {
            raw_csv: false,
            direct_writes: true,
            out: out.to_path_buf(),
            staging,
            committed: false,
        })
    }

    /// Writes CSV cells as they are, without the formula guard (`neutralise_formulas`).
    pub fn with_raw_csv(mut self, raw: bool) -> OutputSet {
        self.raw_csv = raw;
        self
    }

    /// Writes every report through the page cache (`--buffered-writes`) rather than the
    /// large ones straight to disk.
    pub fn with_buffered_writes(mut self, buffered: bool) -> OutputSet {
        self.direct_writes = !buffered;
        self
    }

    /// A table as it is written in `format`: CSV text is guarded against formulas unless
    /// `--raw-csv`; Parquet keeps the text as it is.
    fn guarded(&self, df: &DataFrame, format: Format) -> PolarsResult<Option<DataFrame>> {
        if format == Format::Csv && !self.raw_csv {
            neutralise_formulas(df).map(Some)
        } else {
            Ok(None)
        }
    }

    /// Writes a table as `<name>.<ext>`.
    pub fn table(&self, name: &str, df: &mut DataFrame, format: Format) -> Result<()> {
        let path = self.staging.join(format!("{name}.{}", format.extension()));
        let mut w = ReportFile::create(&path, self.direct_writes);
        let mut safe = self.guarded(df, format)?;
        let df = safe.as_mut().unwrap_or(df);
        let written = match format {
            Format::Csv => CsvWriter::new(&mut w)
                .include_header(true)
                .with_float_precision(Some(6))
                .finish(df),
            Format::Parquet => ParquetWriter::new(&mut w).finish(df).map(|_| ()),
        };
        written.map_err(|e| write_error(&path, e))?;
        w.finish().map_err(|e| output_error(&path, e))?;
        Ok(())
    }

    /// Whether CSV text cells are guarded against formulas (`csv_safe`): unless `--raw-csv`.
    pub fn guards_formulas(&self) -> bool {
        !self.raw_csv
    }

    /// Writes a table produced in `batches` parts (`part(i)` for `i` in `0..batches`) as one
    /// `<name>.<ext>`, so that only a couple of parts are in memory at a time. The next part is
    /// produced on another thread while the current one is written.
    pub fn table_in_batches(
        &self,
        name: &str,
        format: Format,
        batches: usize,
        part: impl Fn(usize) -> PolarsResult<DataFrame> + Sync,
    ) -> Result<()> {
        let path = self.staging.join(format!("{name}.{}", format.extension()));
        let mut w = ReportFile::create(&path, self.direct_writes);
        let guard = |df: DataFrame| -> PolarsResult<DataFrame> {
            Ok(self.guarded(&df, format)?.unwrap_or(df))
        };
        let first = guard(part(0)?)?;
        let schema = first.schema().clone();
        let rest = |i: usize| part(i + 1).and_then(guard);
        let written = match format {
            Format::Csv => {
                let mut writer = CsvWriter::new(&mut w)
                    .include_header(true)
                    .with_float_precision(Some(6))
                    .batched(&schema)?;
                writer.write_batch(&first)?;
                pipelined(batches.saturating_sub(1), rest, |df| {
                    writer.write_batch(&df)
                })
                .and_then(|()| writer.finish())
            }
            Format::Parquet => {
                let mut writer = ParquetWriter::new(&mut w).batched(&schema)?;
                writer.write_batch(&first)?;
                pipelined(batches.saturating_sub(1), rest, |df| {
                    writer.write_batch(&df)
                })
                .and_then(|()| writer.finish().map(|_| ()))
            }
        };
        written.map_err(|e| write_error(&path, e))?;
        w.finish().map_err(|e| output_error(&path, e))?;
        Ok(())
    }

    /// Writes `<name>.csv` as the header polars writes for `header` (a table with the report's
    /// columns, guarded like every CSV report), then the lines of `batches` parts of CSV text
    /// (`part(i)`, in blocks), the next made on another thread while the current one is written.
    pub fn csv_lines_in_batches(
        &self,
        name: &str,
        header: &DataFrame,
        batches: usize,
        part: impl Fn(usize) -> PolarsResult<Vec<Vec<u8>>> + Sync,
    ) -> Result<()> {
        let path = self.staging.join(format!("{name}.csv"));
        let mut w = ReportFile::create(&path, self.direct_writes);
        let mut header = header.head(Some(0));
        let mut safe = self.guarded(&header, Format::Csv)?;
        CsvWriter::new(&mut w)
            .include_header(true)
            .finish(safe.as_mut().unwrap_or(&mut header))
            .map_err(|e| write_error(&path, e))?;
        pipelined(batches, part, |blocks| {
            blocks
                .iter()
                .try_for_each(|b| w.write_all(b))
                .map_err(PolarsError::from)
        })
        .map_err(|e| write_error(&path, e))?;
        w.finish().map_err(|e| output_error(&path, e))?;
        Ok(())
    }

    /// The `calibration` table of the last backtest written into `--out` (CSV or Parquet),
    /// if there is one and it can be read.
    pub fn previous_calibration(&self) -> Option<DataFrame> {
        let csv = self.out.join("calibration.csv");
        if csv.is_file() {
            return CsvReadOptions::default()
                .with_has_header(true)
                .try_into_reader_with_file_path(Some(csv))
                .ok()?
                .finish()
                .ok();
        }
        let parquet = self.out.join("calibration.parquet");
        let file = fs::File::open(parquet).ok()?;
        ParquetReader::new(file).finish().ok()
    }

    /// Writes raw bytes as `name`.
    pub fn bytes(&self, name: &str, bytes: &[u8]) -> Result<()> {
        let path = self.staging.join(name);
        fs::write(&path, bytes).map_err(|e| output_error(&path, e))
    }

    /// Replaces `--out` with the staged set. Reports of the previous set that this run does
    /// not write (say, `sources.csv` when a backtest writes `backtest.csv`) are carried over.
    pub fn commit(mut self) -> Result<PathBuf> {
        if self.out.is_dir() {
            let written: Vec<String> = fs::read_dir(&self.staging)
                .map_err(|e| output_error(&self.staging, e))?
                .flatten()
                .map(|e| stem(&e.file_name().to_string_lossy()))
                .collect();
            for entry in fs::read_dir(&self.out)
                .map_err(|e| output_error(&self.out, e))?
                .flatten()
            {
                let name = entry.file_name().to_string_lossy().to_string();
                if is_report_file(&name) && !written.contains(&stem(&name)) {
                    let target = self.staging.join(&name);
                    if fs::hard_link(entry.path(), &target).is_err() {
                        fs::copy(entry.path(), &target).map_err(|e| output_error(&target, e))?;
                    }
                }
            }
        }
        let lock = STAGING.lock();
        if self.out.exists() {
            if rustix::fs::renameat_with(
                rustix::fs::CWD,
                &self.staging,
                rustix::fs::CWD,
                &self.out,
                rustix::fs::RenameFlags::EXCHANGE,
            )
            .is_err()
            {
                // No atomic exchange here: move the old set aside, then the new one in.
                let old = self.staging.with_extension("old");
                fs::rename(&self.out, &old).map_err(|e| output_error(&self.out, e))?;
                fs::rename(&self.staging, &self.out).map_err(|e| output_error(&self.out, e))?;
                let _ = fs::remove_dir_all(&old);
            }
            // After the exchange the staging path holds the previous set.
            let _ = fs::remove_dir_all(&self.staging);
        } else {
            fs::rename(&self.staging, &self.out).map_err(|e| output_error(&self.out, e))?;
        }
        self.committed = true;
        if let Ok(mut s) = lock {
            *s = None;
        }
        Ok(self.out.clone())
    }
}

impl Drop for OutputSet {
    fn drop(&mut self) {
        if !self.committed {
            let _ = fs::remove_dir_all(&self.staging);
            if let Ok(mut s) = STAGING.lock() {
                *s = None;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn examples_of_is_formula_like() {
        assert!(is_formula_like("=HYPERLINK(\"http://x\",\"y\")"));
        assert!(is_formula_like("+cmd|calc"));
        assert!(is_formula_like("@evil"));
        assert!(is_formula_like("-2+3"));
        assert!(!is_formula_like("-0.25"));
        assert!(!is_formula_like("Juventus"));
    }

    #[test]
    fn formulas_are_prefixed_and_the_rest_kept() {
        let df = df!(
            "source" => ["=1+1", "Juventus", "-3", "-x", "\tTab"],
            "@name" => ["a", "b", "c", "d", "e"],
            "n" => [1u32, 2, 3, 4, 5],
        )
        .expect("df");
        let out = neutralise_formulas(&df).expect("safe");
        let source: Vec<&str> = out
            .column("source")
            .expect("source")
            .str()
            .expect("str")
            .iter()
            .flatten()
            .collect();
        assert_eq!(source, ["'=1+1", "Juventus", "-3", "'-x", "'\tTab"]);
        assert!(out.column("'@name").is_ok());
        assert_eq!(out.column("n").expect("n"), df.column("n").expect("n"));
    }

    #[test]
    fn a_full_disk_is_an_output_error() {
        let io = std::io::Error::from_raw_os_error(28);
        let e = write_error(
            Path::new("/out/x.csv"),
            PolarsError::IO {
                error: std::sync::Arc::new(io),
                msg: None,
            },
        );
        assert_eq!(e.exit_code(), 3);
        assert!(e.to_string().contains("/out/x.csv"), "{e}");
    }
}
