//! Shared input plumbing for the trace loaders: opening (optionally gzip-compressed) files,
//! reading CSV records with line numbers, typed field parsers that produce
//! [`TraceError::Parse`], and lenient-mode bookkeeping.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::Path;

use csv::{ByteRecord, ReaderBuilder};
use flate2::bufread::MultiGzDecoder;

use super::TraceError;

/// Bytes of read buffer per file.
const BUFFER_BYTES: usize = 256 * 1024;

/// Opens `path` for streaming reads, decompressing it if it starts with the gzip magic.
pub(crate) fn open(path: &Path) -> Result<Box<dyn Read + Send>, TraceError> {
    let file = File::open(path).map_err(|source| TraceError::Io {
        file: path.display().to_string(),
        source,
    })?;
    let mut reader = BufReader::with_capacity(BUFFER_BYTES, file);
    let head = reader.fill_buf().map_err(|source| TraceError::Io {
        file: path.display().to_string(),
        source,
    })?;
    if head.starts_with(&[0x1f, 0x8b]) {
        Ok(Box::new(BufReader::with_capacity(
            BUFFER_BYTES,
            MultiGzDecoder::new(reader),
        )))
    } else {
        Ok(Box::new(reader))
    }
}

/// The names of the files directly in folder `dir`, sorted.
pub(crate) fn dir_file_names(dir: &Path) -> Result<Vec<String>, TraceError> {
    let io_err = |source| TraceError::Io {
        file: dir.display().to_string(),
        source,
    };
    let mut names = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io_err)? {
        let entry = entry.map_err(io_err)?;
        if entry.path().is_file() {
            names.push(entry.file_name().to_string_lossy().into_owned());
        }
    }
    names.sort();
    Ok(names)
}

/// The first line of a (possibly gzip-compressed) file, lossily decoded.
pub(crate) fn first_line(path: &Path) -> Result<String, TraceError> {
    let mut reader = BufReader::new(open(path)?);
    let mut line = Vec::new();
    reader
        .read_until(b'\n', &mut line)
        .map_err(|e| io_error(path, e, 0))?;
    Ok(String::from_utf8_lossy(&line).trim_end().to_owned())
}

/// Maps a read error to [`TraceError::Truncated`] when the gzip stream was cut short.
pub(crate) fn io_error(path: &Path, source: io::Error, line: u64) -> TraceError {
    let file = path.display().to_string();
    if source.kind() == io::ErrorKind::UnexpectedEof {
        TraceError::Truncated { file, line }
    } else {
        TraceError::Io { file, source }
    }
}

/// A CSV file read record by record, with its name and line numbers for errors.
pub(crate) struct CsvRecords<R: Read> {
    reader: csv::Reader<R>,
    /// The file's name as errors show it.
    pub(crate) file: String,
    record: ByteRecord,
    last_line: u64,
}

impl<R: Read> CsvRecords<R> {
    /// Reads CSV from `reader` (no header handling: the caller reads the first record).
    pub(crate) fn new(reader: R, file: String) -> Self {
        let reader = ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .buffer_capacity(BUFFER_BYTES)
            .from_reader(reader);
        Self {
            reader,
            file,
            record: ByteRecord::new(),
            last_line: 0,
        }
    }

    /// The record the last [`next_record`](Self::next_record) read.
    pub(crate) fn current(&self) -> &ByteRecord {
        &self.record
    }

    /// The next record and its 1-based line, or `None` at the end.
    pub(crate) fn next_record(&mut self) -> Result<Option<(u64, &ByteRecord)>, TraceError> {
        match self.reader.read_byte_record(&mut self.record) {
            Ok(true) => {
                let line = self
                    .record
                    .position()
                    .map_or(self.last_line + 1, |p| p.line());
                self.last_line = line;
                Ok(Some((line, &self.record)))
            }
            Ok(false) => Ok(None),
            Err(e) => {
                let line = e.position().map_or(self.last_line, |p| p.line());
                match e.into_kind() {
                    csv::ErrorKind::Io(source) => {
                        let file = self.file.clone();
                        Err(if source.kind() == io::ErrorKind::UnexpectedEof {
                            TraceError::Truncated {
                                file,
                                line: self.last_line,
                            }
                        } else {
                            TraceError::Io { file, source }
                        })
                    }
                    other => Err(TraceError::Parse {
                        file: self.file.clone(),
                        line,
                        column: 0,
                        expected: "a CSV record".to_owned(),
                        found: format!("{other:?}"),
                    }),
                }
            }
        }
    }
}

/// Where a field is, for error messages.
#[derive(Clone, Copy, Debug)]
pub(crate) struct At<'a> {
    pub(crate) file: &'a str,
    pub(crate) line: u64,
}

impl At<'_> {
    /// A parse error at `column` (1-based).
    pub(crate) fn err(
        &self,
        column: usize,
        expected: impl Into<String>,
        found: &[u8],
    ) -> TraceError {
        let mut found = String::from_utf8_lossy(found).into_owned();
        if found.chars().count() > 60 {
            found = found.chars().take(57).chain("...".chars()).collect();
        }
        TraceError::Parse {
            file: self.file.to_owned(),
            line: self.line,
            column,
            expected: expected.into(),
            found,
        }
    }

    /// Field `column` as a non-negative integer.
    pub(crate) fn u64(&self, raw: &[u8], column: usize, what: &str) -> Result<u64, TraceError> {
        parse_u64(raw).ok_or_else(|| self.err(column, what, raw))
    }

    /// Field `column` as a non-negative integer, or `None` if empty.
    pub(crate) fn opt_u64(
        &self,
        raw: &[u8],
        column: usize,
        what: &str,
    ) -> Result<Option<u64>, TraceError> {
        if raw.is_empty() {
            return Ok(None);
        }
        self.u64(raw, column, what).map(Some)
    }

    /// Field `column` as a non-negative, finite decimal, or `None` if empty.
    pub(crate) fn opt_fraction(
        &self,
        raw: &[u8],
        column: usize,
        what: &str,
    ) -> Result<Option<f64>, TraceError> {
        if raw.is_empty() {
            return Ok(None);
        }
        std::str::from_utf8(raw)
            .ok()
            .and_then(|s| s.parse::<f64>().ok())
            .filter(|v| v.is_finite() && *v >= 0.0)
            .map(Some)
            .ok_or_else(|| self.err(column, what, raw))
    }
}

/// Parses ASCII decimal digits into a `u64` (no sign, no spaces), or `None`.
pub(crate) fn parse_u64(raw: &[u8]) -> Option<u64> {
    if raw.is_empty() || raw.len() > 20 {
        return None;
    }
    let mut v: u64 = 0;
    for &b in raw {
        if !b.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add(u64::from(b - b'0'))?;
    }
    Some(v)
}

/// Parses an optionally signed ASCII decimal integer into an `i64`, or `None`.
pub(crate) fn parse_i64(raw: &[u8]) -> Option<i64> {
    match raw.split_first() {
        Some((b'-', rest)) => parse_u64(rest)
            .and_then(|v| i64::try_from(v).ok())
            .map(|v| -v),
        _ => parse_u64(raw).and_then(|v| i64::try_from(v).ok()),
    }
}

/// Lenient-mode bookkeeping: line errors are counted and swallowed, other errors pass.
#[derive(Debug, Default)]
pub(crate) struct Skips {
    pub(crate) lenient: bool,
    pub(crate) count: u64,
}

impl Skips {
    /// `Ok(Some(v))` for a good line, `Ok(None)` for a skipped one, `Err` otherwise.
    pub(crate) fn check<T>(
        &mut self,
        result: Result<T, TraceError>,
    ) -> Result<Option<T>, TraceError> {
        match result {
            Ok(v) => Ok(Some(v)),
            Err(e) if self.lenient && e.is_line_error() => {
                self.count += 1;
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }
}

/// Seconds (from a trace) to microseconds, or `None` on overflow.
pub(crate) fn secs_to_us(secs: u64) -> Option<u64> {
    secs.checked_mul(1_000_000)
}
