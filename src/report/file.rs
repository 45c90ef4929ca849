//! One report file being written: held in a block-aligned buffer, and once it outgrows the
//! buffer, written past the page cache (`O_DIRECT`, Linux) in whole blocks.
//!
//! A report of ten million stories is 0.85 GB. Written through the page cache, each of its
//! pages must first be given memory by the kernel; on the virtual machine rumour is timed on,
//! `dd` wrote 0.9 GB that way in 0.24–6.2 s (4 of 8 runs over 4 s), and with `O_DIRECT` from
//! memory already in use in 0.59–0.68 s (4 runs; BENCHMARKS.md, "Writing past the page
//! cache"). Files that fit in the buffer (most reports) are written plainly. Where `O_DIRECT`
//! is refused (tmpfs before Linux 6.6, some network file systems) or a direct write fails on
//! alignment, the file goes on through the page cache: the bytes are the same either way.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// Alignment of the buffer's address, of every direct write's length and of its file offset
/// (the largest logical block size of common disks).
const BLOCK: usize = 4096;
/// The buffer: a file larger than this is written directly, this many bytes at a time.
const BUFFER: usize = 4 << 20;

/// A report file being written; [`ReportFile::finish`] writes what is left.
pub struct ReportFile {
    path: PathBuf,
    /// Opened at the first full buffer, or at [`ReportFile::finish`] for a small file.
    file: Option<File>,
    /// Whether `file` is open with `O_DIRECT`.
    direct: bool,
    /// `BUFFER + BLOCK` bytes, of which `start..start + BUFFER` is block-aligned.
    memory: Vec<u8>,
    start: usize,
    /// Bytes held in the buffer.
    held: usize,
    /// Bytes written to the file.
    written: u64,
    /// Whether to try `O_DIRECT` at all.
    allow_direct: bool,
}

impl ReportFile {
    /// A new (empty) file at `path`, created when the first bytes are written out; with
    /// `direct`, written past the page cache once it outgrows the buffer (Linux).
    pub fn create(path: &Path, direct: bool) -> ReportFile {
        let allow_direct = direct && cfg!(target_os = "linux");
        let memory = vec![0u8; BUFFER + BLOCK];
        let start = memory.as_ptr().align_offset(BLOCK).min(BLOCK);
        ReportFile {
            path: path.to_path_buf(),
            file: None,
            direct: false,
            memory,
            start,
            held: 0,
            written: 0,
            allow_direct,
        }
    }

    /// Whether the file is being written with `O_DIRECT`.
    #[cfg(test)]
    fn is_direct(&self) -> bool {
        self.direct
    }

    /// Opens the file: with `O_DIRECT` when `large` and allowed, else (or if refused) plainly.
    fn open(&mut self, large: bool) -> io::Result<()> {
        if self.file.is_some() {
            return Ok(());
        }
        if large && self.allow_direct {
            if let Some(file) = open_direct(&self.path) {
                self.file = Some(file);
                self.direct = true;
                return Ok(());
            }
        }
        self.file = Some(File::create(&self.path)?);
        Ok(())
    }

    /// Writes the first `len` bytes of the buffer (a multiple of [`BLOCK`] when direct).
    fn write_out(&mut self, len: usize) -> io::Result<()> {
        let (start, direct) = (self.start, self.direct);
        let Some(file) = self.file.as_mut() else {
            return Err(io::Error::other("report file not open"));
        };
        let bytes = &self.memory[start..start + len];
        let mut done = 0;
        while done < bytes.len() {
            match file.write(&bytes[done..]) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => done += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                // A direct write the file system will not take (EINVAL: alignment): go on
                // through the page cache from where it stopped.
                Err(e) if direct && e.kind() == io::ErrorKind::InvalidInput => {
                    clear_direct(file)?;
                    self.direct = false;
                    file.write_all(&bytes[done..])?;
                    done = bytes.len();
                }
                Err(e) => return Err(e),
            }
            // A short direct write leaves the next one unaligned; the EINVAL path takes it.
        }
        self.written += len as u64;
        Ok(())
    }

    /// Writes what the buffer holds and closes the file.
    ///
    /// # Errors
    /// The file cannot be created or written.
    pub fn finish(mut self) -> io::Result<()> {
        self.open(false)?;
        let held = self.held;
        if self.direct {
            // The last block goes out whole, zero-padded, and the file is cut to its length.
            let padded = held.div_ceil(BLOCK) * BLOCK;
            let start = self.start;
            self.memory[start + held..start + padded].fill(0);
            self.write_out(padded)?;
            let length = self.written - (padded - held) as u64;
            if let Some(file) = self.file.as_ref() {
                file.set_len(length)?;
            }
        } else {
            self.write_out(held)?;
        }
        Ok(())
    }
}

impl Write for ReportFile {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        let mut rest = data;
        while !rest.is_empty() {
            let room = BUFFER - self.held;
            let n = room.min(rest.len());
            let at = self.start + self.held;
            self.memory[at..at + n].copy_from_slice(&rest[..n]);
            self.held += n;
            rest = &rest[n..];
            if self.held == BUFFER {
                self.open(true)?;
                self.write_out(BUFFER)?;
                self.held = 0;
            }
        }
        Ok(data.len())
    }

    /// Nothing: bytes stay in the buffer until it is full or the file is finished (a direct
    /// write must be whole blocks).
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(target_os = "linux")]
fn open_direct(path: &Path) -> Option<File> {
    use std::os::unix::fs::OpenOptionsExt;
    OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .custom_flags(rustix::fs::OFlags::DIRECT.bits() as i32)
        .open(path)
        .ok()
}

#[cfg(not(target_os = "linux"))]
fn open_direct(_path: &Path) -> Option<File> {
    None
}

#[cfg(target_os = "linux")]
fn clear_direct(file: &File) -> io::Result<()> {
    let flags = rustix::fs::fcntl_getfl(file)?;
    rustix::fs::fcntl_setfl(file, flags - rustix::fs::OFlags::DIRECT)?;
    Ok(())
}

#[cfg(not(target_os = "linux"))]
fn clear_direct(_file: &File) -> io::Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Bytes `0, 1, …` of length `n`, written in pieces of `piece` bytes.
    fn write_pattern(path: &Path, n: usize, piece: usize, allow_direct: bool) -> bool {
        let data: Vec<u8> = (0..n).map(|i| (i % 251) as u8).collect();
        let mut f = ReportFile::create(path, allow_direct);
        for chunk in data.chunks(piece) {
            f.write_all(chunk).expect("test io");
        }
        let direct = f.is_direct();
        f.finish().expect("test io");
        assert_eq!(std::fs::read(path).expect("test io"), data, "{n} bytes");
        direct
    }

    #[test]
    fn every_length_reads_back_as_written() {
        let dir = tempfile::tempdir().expect("test io");
        let path = dir.path().join("t.csv");
        // Whether this file system takes direct writes (tmpfs before Linux 6.6 does not).
        let takes_direct = open_direct(&dir.path().join("probe")).is_some();
        for n in [
            0,
            1,
            BLOCK - 1,
            BLOCK,
            BUFFER - 1,
            BUFFER,
            BUFFER + 1,
            2 * BUFFER + BLOCK + 17,
        ] {
            for allow in [true, false] {
                let direct = write_pattern(&path, n, 100_003, allow);
                // Only a file that fills the buffer is opened for direct writes.
                let expected = allow && takes_direct && n >= BUFFER;
                assert_eq!(direct, expected, "{n} bytes, allowed {allow}");
            }
        }
    }

    #[test]
    fn a_direct_write_refused_goes_on_through_the_page_cache() {
        let dir = tempfile::tempdir().expect("test io");
        let path = dir.path().join("t.csv");
        let data: Vec<u8> = (0..2 * BUFFER + 5).map(|i| (i % 253) as u8).collect();
        let mut f = ReportFile::create(&path, true);
        // An unaligned buffer: a file system that takes direct writes refuses this one.
        f.start += 1;
        f.write_all(&data).expect("test io");
        assert!(
            !f.is_direct(),
            "after the refusal the file is written plainly"
        );
        f.finish().expect("test io");
        assert_eq!(std::fs::read(&path).expect("test io"), data);
    }

    #[test]
    fn a_file_is_created_even_when_nothing_is_written() {
        let dir = tempfile::tempdir().expect("test io");
        let path = dir.path().join("empty.csv");
        ReportFile::create(&path, true).finish().expect("test io");
        assert_eq!(std::fs::metadata(&path).expect("test io").len(), 0);
    }

    #[test]
    fn an_unwritable_place_is_an_error() {
        let dir = tempfile::tempdir().expect("test io");
        let path = dir.path().join("missing").join("t.csv");
        let mut f = ReportFile::create(&path, true);
        assert!(f.write_all(&vec![1u8; BUFFER + 1]).is_err());
    }
}
