//! The records of a CSV byte stream: each record's fields and where it starts.
//!
//! Most records of most files are one line whose fields are plain or simply quoted (no quote
//! inside, no line feed inside). Such a line is split with `memchr` where it lies in the read
//! buffer, its fields handed out as ranges of it, several times faster than a byte-at-a-time
//! parser that copies every field. Any other record (a doubled quote, a line feed inside
//! quotes, text after a closing quote, a quote never closed) is parsed by `csv_core`, the
//! parser under the `csv` crate, so quoting follows RFC 4180 as it always did. The records are
//! the ones `csv::Reader` gives with the settings rumour read with (`\n` ends a record and a
//! `\r` before it stays in the last field; blank lines are skipped), and so are their
//! positions: a record's position is where the reader stood when asked for it, before the
//! blank lines it skipped (the tests check both against the csv crate). Each record also
//! tells the line of its own first byte, past those blank lines: the line a person finds it
//! on.

use std::io::{self, Read};
use std::ops::Range;

use csv_core::ReadRecordResult;

/// Bytes read from the source at a time (the buffer grows for a longer record).
const BUFFER: usize = 1 << 16;

/// One record: its fields are ranges of `bytes`.
pub(super) struct Record<'a> {
    bytes: &'a [u8],
    fields: &'a [Range<usize>],
    /// Offset in the stream and line number (from 1) where the reader stood when asked for
    /// this record.
    pub byte: u64,
    pub line: u64,
    /// The line (from 1) of the record's first byte: `line` plus the blank lines skipped
    /// before it.
    pub first_line: u64,
}

impl<'a> Record<'a> {
    /// The bytes the fields are ranges of (with any delimiters and quotes between them).
    pub fn bytes(&self) -> &'a [u8] {
        self.bytes
    }

    pub fn len(&self) -> usize {
        self.fields.len()
    }

    /// The byte range of field `i` in [`Record::bytes`].
    pub fn range(&self, i: usize) -> Option<Range<usize>> {
        self.fields.get(i).cloned()
    }

    pub fn iter(&self) -> impl Iterator<Item = &'a [u8]> + '_ {
        let bytes = self.bytes;
        self.fields.iter().map(move |r| &bytes[r.clone()])
    }
}

/// Where the last record's bytes are.
#[derive(Clone, Copy)]
enum Held {
    /// `buf[start..end]`: a line split in place.
    Line(usize, usize),
    /// `out[..len]`: the parser's output (bytes after it are an earlier record's).
    Parsed(usize),
}

/// Bytes that lie in memory already (a memory-mapped file), lent a window at a time.
pub(super) trait Lend: Send {
    /// A window that holds the bytes from `offset` (counted from the source's start) to
    /// `offset + want`, or to the end of the source if that comes first, with where `offset`
    /// lies in it and where the source's bytes in it end; `None` from the end of the source
    /// on.
    fn lend(&mut self, offset: u64, want: usize) -> io::Result<Option<Lent>>;
}

/// A window lent by [`Lend::lend`]: the source's bytes are `bytes[..end]`.
pub(super) struct Lent {
    pub bytes: Box<dyn AsRef<[u8]> + Send>,
    pub at: usize,
    pub end: usize,
}

/// Where a reader's bytes come from, and where they lie.
enum Source {
    /// Read into a buffer of the reader's own.
    Read {
        from: Box<dyn Read + Send>,
        buf: Vec<u8>,
    },
    /// Lent where they lie: records are split there, never copied.
    Lent {
        from: Box<dyn Lend>,
        window: Option<Box<dyn AsRef<[u8]> + Send>>,
    },
}

impl Source {
    /// The bytes the positions of [`Records`] count in.
    fn bytes(&self) -> &[u8] {
        match self {
            Source::Read { buf, .. } => buf,
            Source::Lent { window, .. } => window.as_deref().map_or(&[], |w| w.as_ref()),
        }
    }
}

/// A reader of records.
pub(super) struct Records {
    source: Source,
    /// The unread bytes are `source.bytes()[pos..filled]` (`buf` below).
    pos: usize,
    filled: usize,
    eof: bool,
    /// Offset in the stream and line number (from 1) of `buf[pos]`.
    byte: u64,
    line: u64,
    /// The line of the last record's first byte.
    record_line: u64,
    delimiter: u8,
    /// The fields of the last record.
    fields: Vec<Range<usize>>,
    held: Held,
    /// The parser of the other records, and its output: field bytes and each field's end.
    core: csv_core::Reader,
    out: Vec<u8>,
    ends: Vec<usize>,
}

impl Records {
    /// A reader of the records of a byte stream, read into a buffer of its own.
    pub(super) fn new(source: Box<dyn Read + Send>, delimiter: u8) -> Records {
        Records::of(
            Source::Read {
                from: source,
                buf: vec![0; BUFFER],
            },
            delimiter,
        )
    }

    /// A reader of the records of bytes already in memory, split where they lie.
    pub(super) fn lent(source: Box<dyn Lend>, delimiter: u8) -> Records {
        Records::of(
            Source::Lent {
                from: source,
                window: None,
            },
            delimiter,
        )
    }

    fn of(source: Source, delimiter: u8) -> Records {
        Records {
            source,
            pos: 0,
            filled: 0,
            eof: false,
            byte: 0,
            line: 1,
            record_line: 1,
            delimiter,
            fields: Vec::with_capacity(32),
            held: Held::Parsed(0),
            core: csv_core::ReaderBuilder::new()
                .delimiter(delimiter)
                .terminator(csv_core::Terminator::Any(b'\n'))
                .build(),
            out: vec![0; 1 << 10],
            ends: vec![0; 64],
        }
    }

    /// Offset in the stream and line number (from 1) of the next unread byte.
    pub(super) fn position(&self) -> (u64, u64) {
        (self.byte, self.line)
    }

    /// Brings more of the source after the unread bytes: read in after them (moved to the
    /// front; the buffer doubles when they fill it), or a window lent that holds them and
    /// more (at least as many again). False at the end of the source.
    fn fill(&mut self) -> io::Result<bool> {
        if self.eof {
            return Ok(false);
        }
        match &mut self.source {
            Source::Read { from, buf } => {
                if self.pos > 0 {
                    buf.copy_within(self.pos..self.filled, 0);
                    self.filled -= self.pos;
                    self.pos = 0;
                }
                if self.filled == buf.len() {
                    buf.resize(buf.len() * 2, 0);
                }
                loop {
                    match from.read(&mut buf[self.filled..]) {
                        Ok(0) => {
                            self.eof = true;
                            return Ok(false);
                        }
                        Ok(n) => {
                            self.filled += n;
                            return Ok(true);
                        }
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                        Err(e) => return Err(e),
                    }
                }
            }
            Source::Lent { from, window } => {
                let unread = self.filled - self.pos;
                let want = unread.saturating_mul(2).max(unread + 1);
                match from.lend(self.byte, want)? {
                    Some(lent) if lent.end - lent.at > unread => {
                        // The old window goes as the new one comes.
                        *window = Some(lent.bytes);
                        self.pos = lent.at;
                        self.filled = lent.end;
                        Ok(true)
                    }
                    _ => {
                        self.eof = true;
                        Ok(false)
                    }
                }
            }
        }
    }

    /// Moves past `n` unread bytes holding `lines` line feeds.
    fn advance(&mut self, n: usize, lines: u64) {
        self.pos += n;
        self.byte += n as u64;
        self.line += lines;
    }

    /// The next record; `None` at the end.
    ///
    /// # Errors
    /// The source's read errors.
    pub(super) fn read(&mut self) -> io::Result<Option<Record<'_>>> {
        let (byte, line) = (self.byte, self.line);
        if !self.next()? {
            return Ok(None);
        }
        let first_line = self.record_line;
        let bytes = match self.held {
            Held::Line(start, end) => &self.source.bytes()[start..end],
            Held::Parsed(len) => &self.out[..len],
        };
        Ok(Some(Record {
            bytes,
            fields: &self.fields,
            byte,
            line,
            first_line,
        }))
    }

    /// Reads the next record into `fields` and `held`; false at the end.
    fn next(&mut self) -> io::Result<bool> {
        // Blank lines are skipped.
        loop {
            if self.pos == self.filled && !self.fill()? {
                return Ok(false);
            }
            if self.source.bytes()[self.pos] != b'\n' {
                break;
            }
            self.advance(1, 1);
        }
        self.record_line = self.line;
        // The line: up to the next line feed, or the end of the source.
        let mut searched = 0;
        let (end, newline) = loop {
            let from = self.pos + searched;
            match memchr::memchr(b'\n', &self.source.bytes()[from..self.filled]) {
                Some(i) => break (from + i, true),
                None => {
                    searched = self.filled - self.pos;
                    if !self.fill()? {
                        break (self.filled, false);
                    }
                }
            }
        };
        let start = self.pos;
        if !split_line(
            &self.source.bytes()[start..end],
            self.delimiter,
            &mut self.fields,
        ) {
            return self.parse();
        }
        self.held = Held::Line(start, end);
        self.advance(end - start + usize::from(newline), u64::from(newline));
        Ok(true)
    }

    /// A record that starts at the next unread byte, through `csv_core`.
    fn parse(&mut self) -> io::Result<bool> {
        let (mut out_len, mut ends_len) = (0, 0);
        loop {
            let input = &self.source.bytes()[self.pos..self.filled];
            let (result, read, written, ended) =
                self.core
                    .read_record(input, &mut self.out[out_len..], &mut self.ends[ends_len..]);
            let lines = memchr::memchr_iter(b'\n', &input[..read]).count() as u64;
            self.advance(read, lines);
            out_len += written;
            ends_len += ended;
            match result {
                // An empty input tells the parser the source has ended.
                ReadRecordResult::InputEmpty => {
                    self.fill()?;
                }
                ReadRecordResult::OutputFull => self.out.resize(self.out.len() * 2, 0),
                ReadRecordResult::OutputEndsFull => self.ends.resize(self.ends.len() * 2, 0),
                ReadRecordResult::Record => {
                    self.fields.clear();
                    let mut start = 0;
                    for &end in &self.ends[..ends_len] {
                        self.fields.push(start..end);
                        start = end;
                    }
                    self.held = Held::Parsed(out_len);
                    return Ok(true);
                }
                ReadRecordResult::End => return Ok(false),
            }
        }
    }
}

/// Splits one line (without its line feed) into the ranges of its fields when every field is
/// plain (no quote at its start) or quoted without a quote or line feed inside and nothing
/// after the closing quote; false otherwise (the line is left to the parser).
fn split_line(line: &[u8], delimiter: u8, fields: &mut Vec<Range<usize>>) -> bool {
    fields.clear();
    let mut i = 0;
    loop {
        if line.get(i) == Some(&b'"') {
            let Some(q) = memchr::memchr(b'"', &line[i + 1..]) else {
                return false;
            };
            let close = i + 1 + q;
            fields.push(i + 1..close);
            match line.get(close + 1) {
                None => return true,
                Some(&b) if b == delimiter => i = close + 2,
                Some(_) => return false,
            }
        } else {
            match memchr::memchr(delimiter, &line[i..]) {
                Some(d) => {
                    fields.push(i..i + d);
                    i += d + 1;
                }
                None => {
                    fields.push(i..line.len());
                    return true;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every record with its fields and (byte, line) position, read through `Records` with a
    /// source that hands out at most `chunk` bytes per read.
    fn ours(data: &[u8], delimiter: u8, chunk: usize) -> Vec<(Vec<Vec<u8>>, u64, u64)> {
        struct Trickle(Vec<u8>, usize, usize);
        impl Read for Trickle {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                let n = (self.0.len() - self.1).min(self.2).min(buf.len());
                buf[..n].copy_from_slice(&self.0[self.1..self.1 + n]);
                self.1 += n;
                Ok(n)
            }
        }
        let r = Records::new(Box::new(Trickle(data.to_vec(), 0, chunk)), delimiter);
        records_of(r, data)
    }

    /// The same, the bytes lent in windows of at least `window` bytes that start at multiples
    /// of `align` (as a mapped file's do).
    fn lent(
        data: &[u8],
        delimiter: u8,
        window: usize,
        align: usize,
    ) -> Vec<(Vec<Vec<u8>>, u64, u64)> {
        struct Windows(Vec<u8>, usize, usize);
        impl Lend for Windows {
            fn lend(&mut self, offset: u64, want: usize) -> io::Result<Option<Lent>> {
                let Windows(data, window, align) = self;
                let at = usize::try_from(offset).map_err(io::Error::other)?;
                if at >= data.len() {
                    return Ok(None);
                }
                let from = at - at % *align;
                let end = (at + want).max(from + *window).min(data.len());
                // Bytes past the source's end in the window are not the source's.
                let mut bytes = data[from..end].to_vec();
                bytes.extend_from_slice(b"\n\"x");
                Ok(Some(Lent {
                    bytes: Box::new(bytes),
                    at: at - from,
                    end: end - from,
                }))
            }
        }
        let r = Records::lent(Box::new(Windows(data.to_vec(), window, align)), delimiter);
        records_of(r, data)
    }

    fn records_of(mut r: Records, data: &[u8]) -> Vec<(Vec<Vec<u8>>, u64, u64)> {
        let mut all = Vec::new();
        while let Some(rec) = r.read().expect("read") {
            // The record's own line is past the blank lines (one line feed each) skipped
            // before it, and its first byte is not one.
            let skipped = usize::try_from(rec.first_line - rec.line).expect("lines");
            let at = usize::try_from(rec.byte).expect("byte");
            assert!(data[at..at + skipped].iter().all(|b| *b == b'\n'));
            assert_ne!(data.get(at + skipped), Some(&b'\n'));
            // The reader checks a record's bytes as text once: they must be text exactly when
            // every field is.
            let fields_are_text = rec.iter().all(|f| std::str::from_utf8(f).is_ok());
            assert_eq!(
                std::str::from_utf8(rec.bytes()).is_ok(),
                fields_are_text,
                "{:?}",
                String::from_utf8_lossy(rec.bytes())
            );
            all.push((rec.iter().map(<[u8]>::to_vec).collect(), rec.byte, rec.line));
        }
        all
    }

    /// The same through `csv::Reader` with the settings rumour always read with.
    fn theirs(data: &[u8], delimiter: u8) -> Vec<(Vec<Vec<u8>>, u64, u64)> {
        let mut r = csv::ReaderBuilder::new()
            .delimiter(delimiter)
            .has_headers(false)
            .flexible(true)
            .terminator(csv::Terminator::Any(b'\n'))
            .from_reader(data);
        let mut rec = csv::ByteRecord::new();
        let mut all = Vec::new();
        while r.read_byte_record(&mut rec).expect("read") {
            let p = rec.position().expect("position");
            all.push((rec.iter().map(<[u8]>::to_vec).collect(), p.byte(), p.line()));
        }
        all
    }

    #[test]
    fn records_and_positions_are_the_csv_crates() {
        let cases: [&[u8]; 17] = [
            // A parsed record shorter than the one before: the earlier bytes after it (here
            // the second byte of `é`) are not part of it.
            "\"\u{e9}\"\"\",x\n\"\"\"\"\n".as_bytes(),
            b"a,\"b\",\"\"\n\"\",x\n",
            b"\"a\"\r\n\"b\" ,c\n \"d\",e\n",
            b"\"a\"\"\n\"\"\"\"\n",
            b"a,\"b\nc\",\"d\"",
            b"a,b,c\n1,2,3\n",
            b"a,b,c\n1,2,3",
            b"a,b\r\n1,2\r\n\r\n3,4\r\n",
            b"\n\na,b\n\n\n1,2\n\n",
            b"a,b,\n,,\n,\n",
            b"x,\"q,uoted\",y\n\"multi\nline\",2,3\n4,5,6\n",
            b"x,\"say \"\"hi\"\"\",y\nab\"c,d\n\"open quote never closed\n1,2\n",
            b"only\n",
            b"",
            b"\n\n",
            b"a;b;c\n\"1;2\";3\n",
            b"caf\xc3\xa9,\xff\xfe,z\n\"\xc3\xa9\",2\n",
        ];
        for data in cases {
            for delimiter in [b',', b';'] {
                let want = theirs(data, delimiter);
                for chunk in [1, 2, 3, 7, 64, 1 << 20] {
                    assert_eq!(
                        ours(data, delimiter, chunk),
                        want,
                        "{:?} delimiter {} chunk {chunk}",
                        String::from_utf8_lossy(data),
                        delimiter as char
                    );
                    for align in [1, 4] {
                        assert_eq!(
                            lent(data, delimiter, chunk, align),
                            want,
                            "{:?} delimiter {} window {chunk} align {align}",
                            String::from_utf8_lossy(data),
                            delimiter as char
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn a_record_longer_than_the_buffer_is_read_whole() {
        let long = "x".repeat(3 * BUFFER);
        let data = format!("a,b\n{long},\"{long}\"\n{long},2\n");
        let want = theirs(data.as_bytes(), b',');
        assert_eq!(want.len(), 3);
        assert_eq!(ours(data.as_bytes(), b',', 1 << 20), want);
        assert_eq!(ours(data.as_bytes(), b',', 5000), want);
        assert_eq!(lent(data.as_bytes(), b',', 5000, 4096), want);
        assert_eq!(lent(data.as_bytes(), b',', 1, 1), want);
    }

    proptest::proptest! {
        /// Any bytes of the characters that matter (delimiters, quotes, line ends, spaces,
        /// a multi-byte letter), read in any chunks: the csv crate's records and positions.
        #[test]
        fn any_bytes_read_as_the_csv_crate_reads_them(
            picks in proptest::collection::vec(0usize..10, 0..200),
            chunk in 1usize..50,
            align in proptest::sample::select(vec![1usize, 2, 8, 32]),
            semicolon in proptest::bool::ANY,
        ) {
            // The quote twice: quotes are what the fast path must get right.
            const PIECES: [&[u8]; 10] = [
                b"a", b"bc", b",", b";", b"\"", b"\"", b"\n", b"\r", b" ", "\u{e9}".as_bytes(),
            ];
            let data: Vec<u8> = picks.iter().flat_map(|&i| PIECES[i].iter().copied()).collect();
            let delimiter = if semicolon { b';' } else { b',' };
            let want = theirs(&data, delimiter);
            proptest::prop_assert_eq!(ours(&data, delimiter, chunk), want.clone());
            // Lent in windows: of at least `chunk` bytes, from multiples of `align`.
            proptest::prop_assert_eq!(lent(&data, delimiter, chunk, align), want);
        }
    }
}
