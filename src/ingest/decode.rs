//! Files as spreadsheet programs save them: the field separator and the text encoding.
//!
//! * **Separator**: `,`, `;` (spreadsheets in most of Europe) or tab, detected from the header
//!   line — the one of them that occurs most often outside quotes (`,` on a tie or when none
//!   occurs) — unless `[input] delimiter` / `--delimiter` says which.
//! * **Encoding**: UTF-8, with or without a byte-order mark; UTF-16 with a byte-order mark
//!   ("Unicode text"); any other encoding `encoding_rs` knows by its WHATWG label when
//!   `[input] encoding` / `--encoding` names it (`windows-1252`, `latin1`, `iso-8859-15`, …).
//!   A file that is not UTF-8 is decoded once into a UTF-8 copy in the temporary directory,
//!   removed when the file has been read. A file with bytes that are not UTF-8 and no valid
//!   UTF-8 beyond ASCII was saved in a legacy encoding: reading it as UTF-8 would reject every
//!   row with an accent, so it stops with a hint naming `--encoding` ([`legacy_encoding`]).

use std::io::Write as _;
use std::path::{Path, PathBuf};

use encoding_rs::Encoding;

use crate::error::InputError;
pub use crate::settings::InputFormat;

pub fn delimiter_name(d: u8) -> &'static str {
    match d {
        b',' => ",",
        b';' => ";",
        b'\t' => "tab",
        b'|' => "|",
        _ => "?",
    }
}

/// The separator of a header line: the most frequent of `,`, `;` and tab outside quotes; `,`
/// on a tie or when none occurs.
pub fn detect_delimiter(head: &[u8]) -> u8 {
    let line = head
        .iter()
        .position(|b| *b == b'\n')
        .map_or(head, |n| &head[..n]);
    let (mut counts, mut quoted) = ([0usize; 3], false);
    for b in line {
        match b {
            b'"' => quoted = !quoted,
            b',' if !quoted => counts[0] += 1,
            b';' if !quoted => counts[1] += 1,
            b'\t' if !quoted => counts[2] += 1,
            _ => {}
        }
    }
    let best = (0..3)
        .max_by_key(|i| (counts[*i], std::cmp::Reverse(*i)))
        .unwrap_or(0);
    if counts[best] == 0 {
        b','
    } else {
        [b',', b';', b'\t'][best]
    }
}

/// The encoding a byte-order mark at the start of `head` announces, other than UTF-8 (whose
/// mark is simply skipped).
pub fn bom_encoding(head: &[u8]) -> Option<&'static Encoding> {
    match Encoding::for_bom(head) {
        Some((e, _)) if e != encoding_rs::UTF_8 => Some(e),
        _ => None,
    }
}

/// A decoded copy of an input file, removed when dropped.
#[derive(Debug)]
pub struct Transcoded {
    path: PathBuf,
}

impl Transcoded {
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A temporary copy of `bytes`, named after `name`.
    ///
    /// # Errors
    /// The temporary directory cannot be written.
    pub fn write(bytes: &[u8], name: &str) -> Result<Transcoded, InputError> {
        static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let copy = Transcoded {
            path: std::env::temp_dir().join(format!("rumour-{}-{n}-{name}", std::process::id())),
        };
        let unwritable = |source| InputError::Unreadable {
            file: copy.path.clone(),
            source,
        };
        let mut out = std::fs::File::create(&copy.path).map_err(unwritable)?;
        out.write_all(bytes).map_err(unwritable)?;
        out.flush().map_err(unwritable)?;
        Ok(copy)
    }
}

impl Drop for Transcoded {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// An input file made ready for a CSV reader that expects UTF-8: the path to read (a decoded
/// copy when the file is in another encoding), and its delimiter.
#[derive(Debug)]
pub struct Readable {
    pub read_path: PathBuf,
    pub delimiter: u8,
    _copy: Option<Transcoded>,
}

/// Makes `path` readable as UTF-8 CSV under `input` (for the readers that do not stream
/// through [`crate::ingest`]: `import`). The encoding is `input`'s, else UTF-16 by its
/// byte-order mark, else UTF-8 — and a file that is not UTF-8 but reads as a legacy 8-bit
/// encoding stops with the `--encoding` hint, as the claims reader does. The delimiter is
/// `input`'s or detected from the header line.
///
/// # Errors
/// The file cannot be read, a copy cannot be written, or the file is in a legacy encoding
/// nobody named ([`InputError::Encoding`]).
pub fn readable(path: &Path, input: InputFormat) -> Result<Readable, InputError> {
    let unreadable = |source| InputError::Unreadable {
        file: path.to_path_buf(),
        source,
    };
    let bytes = std::fs::read(path).map_err(unreadable)?;
    let encoding = input.encoding.or_else(|| bom_encoding(&bytes));
    if encoding.is_none() && std::str::from_utf8(&bytes).is_err() {
        if let Some(label) = legacy_encoding(path) {
            let bad = std::str::from_utf8(&bytes)
                .err()
                .map_or(0, |e| e.valid_up_to());
            let line = 1 + bytes[..bad].iter().filter(|&&b| b == b'\n').count() as u64;
            return Err(InputError::Encoding {
                file: path.to_path_buf(),
                line,
                label: label.to_string(),
            });
        }
    }
    let (read_path, copy, head) = match encoding {
        Some(e) if e != encoding_rs::UTF_8 => {
            let (text, _, _) = e.decode(&bytes);
            let name = path
                .file_name()
                .map_or_else(String::new, |f| f.to_string_lossy().to_string());
            let copy = Transcoded::write(text.as_bytes(), &name)?;
            let head: Vec<u8> = text.as_bytes().iter().take(1 << 16).copied().collect();
            (copy.path().to_path_buf(), Some(copy), head)
        }
        _ => (
            path.to_path_buf(),
            None,
            bytes.iter().take(1 << 16).copied().collect(),
        ),
    };
    let delimiter = input
        .delimiter
        .unwrap_or_else(|| detect_delimiter(head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&head)));
    Ok(Readable {
        read_path,
        delimiter,
        _copy: copy,
    })
}

/// A CSV reader over `path` read as `input` says ([`readable`]), with its header. The
/// returned [`Readable`] owns the decoded copy, if any: keep it while reading.
///
/// # Errors
/// As [`readable`]; a file the CSV reader cannot open ([`InputError::Unreadable`]) or whose
/// header is not a CSV record ([`InputError::NotCsv`]).
pub fn csv_reader(
    path: &Path,
    input: InputFormat,
    flexible: bool,
) -> Result<(csv::Reader<std::fs::File>, csv::StringRecord, Readable), InputError> {
    let r = readable(path, input)?;
    let mut rdr = csv::ReaderBuilder::new()
        .delimiter(r.delimiter)
        .flexible(flexible)
        .from_path(&r.read_path)
        .map_err(|e| InputError::Unreadable {
            file: path.to_path_buf(),
            source: std::io::Error::other(e.to_string()),
        })?;
    let header = rdr
        .headers()
        .map_err(|e| InputError::NotCsv {
            file: path.to_path_buf(),
            line: 1,
            message: e.to_string(),
        })?
        .clone();
    Ok((rdr, header, r))
}

/// The position of column `name` in `header`, compared without case, spaces or a byte-order
/// mark.
pub fn header_position(header: &csv::StringRecord, name: &str) -> Option<usize> {
    header.iter().position(|h| {
        h.trim_start_matches('\u{feff}')
            .trim()
            .eq_ignore_ascii_case(name)
    })
}

/// Decodes `path` from `encoding` into a UTF-8 copy in the temporary directory (a byte-order
/// mark is honoured and removed). Bytes the encoding cannot map become U+FFFD.
///
/// # Errors
/// The file cannot be read or the copy cannot be written.
pub fn transcode(path: &Path, encoding: &'static Encoding) -> Result<Transcoded, InputError> {
    let unreadable = |source| InputError::Unreadable {
        file: path.to_path_buf(),
        source,
    };
    let bytes = std::fs::read(path).map_err(unreadable)?;
    let (text, _, _) = encoding.decode(&bytes);
    let name = path
        .file_name()
        .map_or_else(String::new, |f| f.to_string_lossy().to_string());
    Transcoded::write(text.as_bytes(), &name)
}

/// When the bytes of `path` are not UTF-8 and hold no valid UTF-8 beyond ASCII — the mark of a
/// legacy 8-bit encoding —, the encoding to suggest: Windows-1252 (a superset of Latin-1 for
/// text), or `None` for a UTF-8 file with a few damaged rows (those rows are rejected).
pub fn legacy_encoding(path: &Path) -> Option<&'static str> {
    let bytes = std::fs::read(path).ok()?;
    let (mut rest, mut invalid, mut multibyte) = (&bytes[..], 0usize, 0usize);
    loop {
        match std::str::from_utf8(rest) {
            Ok(valid) => {
                multibyte += valid.chars().filter(|c| !c.is_ascii()).count();
                break;
            }
            Err(e) => {
                let (valid, after) = rest.split_at(e.valid_up_to());
                // SAFETY-free: the prefix was just validated.
                multibyte += std::str::from_utf8(valid)
                    .map_or(0, |v| v.chars().filter(|c| !c.is_ascii()).count());
                invalid += 1;
                let skip = e.error_len().unwrap_or(after.len()).max(1);
                rest = &after[skip.min(after.len())..];
                if rest.is_empty() {
                    break;
                }
            }
        }
    }
    (invalid > 0 && multibyte == 0).then_some("windows-1252")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn examples_of_detect_delimiter() {
        assert_eq!(detect_delimiter(b"published;source;player;to_club\n"), b';');
        assert_eq!(detect_delimiter(b"published\tsource\tplayer\n"), b'\t');
        assert_eq!(detect_delimiter(b"\"a;b\",c,d\n"), b',');
        assert_eq!(detect_delimiter(b"published\n"), b',');
    }

    #[test]
    fn labels_and_delimiters() {
        let f = InputFormat::parse("tab", "latin1").expect("parse");
        assert_eq!(f.delimiter, Some(b'\t'));
        assert_eq!(f.encoding, Some(encoding_rs::WINDOWS_1252));
        assert_eq!(
            InputFormat::parse("auto", "auto"),
            Ok(InputFormat::default())
        );
        assert!(InputFormat::parse(":", "auto").is_err());
        assert!(InputFormat::parse("auto", "klingon").is_err());
    }

    #[test]
    fn boms() {
        assert_eq!(bom_encoding(b"\xFF\xFEp\0"), Some(encoding_rs::UTF_16LE));
        assert_eq!(bom_encoding(b"\xFE\xFF\0p"), Some(encoding_rs::UTF_16BE));
        assert_eq!(bom_encoding(b"\xEF\xBB\xBFp"), None);
        assert_eq!(bom_encoding(b"published"), None);
    }

    #[test]
    fn legacy_files_are_told_from_damaged_utf8() {
        let dir = tempfile::tempdir().expect("tmp");
        let latin = dir.path().join("latin.csv");
        // "L'Équipe,Atlético" in Windows-1252.
        std::fs::write(&latin, b"source,club\nL'\xC9quipe,Atl\xE9tico\n").expect("write");
        assert_eq!(legacy_encoding(&latin), Some("windows-1252"));
        let mixed = dir.path().join("mixed.csv");
        std::fs::write(
            &mixed,
            "source\nL'Équipe\n\u{0}"
                .as_bytes()
                .iter()
                .chain(b"\xE9\n")
                .copied()
                .collect::<Vec<u8>>(),
        )
        .expect("write");
        assert_eq!(legacy_encoding(&mixed), None);
        let clean = dir.path().join("clean.csv");
        std::fs::write(&clean, "source\nL'Équipe\n").expect("write");
        assert_eq!(legacy_encoding(&clean), None);
        let copy = transcode(&latin, encoding_rs::WINDOWS_1252).expect("transcode");
        let text = std::fs::read_to_string(copy.path()).expect("utf-8");
        assert_eq!(text, "source,club\nL'Équipe,Atlético\n");
        let kept = copy.path().to_path_buf();
        drop(copy);
        assert!(!kept.exists());
    }
}
