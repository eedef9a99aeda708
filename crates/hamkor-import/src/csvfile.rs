//! CSV: the encoding and the delimiter found from the first bytes, then a stream of rows.

use crate::{FileError, Row, Table};
use encoding_rs::{Encoding, UTF_8, UTF_16BE, UTF_16LE};
use std::io::{BufReader, Read};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, Ordering};

/// The encoding of a text file: its BOM; else UTF-16 if every other byte of the start is
/// zero; else UTF-8 if the bytes are valid UTF-8 (an incomplete character at the end of a
/// partial `bytes` is allowed); else the single-byte encoding chardetng judges likeliest.
pub(crate) fn detect_encoding(
    bytes: &[u8],
    complete: bool,
) -> Result<&'static Encoding, FileError> {
    if let Some((enc, _)) = Encoding::for_bom(bytes) {
        return Ok(enc);
    }
    if let Some(enc) = utf16_without_bom(bytes) {
        return Ok(enc);
    }
    match std::str::from_utf8(bytes) {
        Ok(_) => return Ok(UTF_8),
        Err(e) if !complete && e.error_len().is_none() => return Ok(UTF_8),
        Err(_) => {}
    }
    let mut detector = chardetng::EncodingDetector::new();
    detector.feed(bytes, complete);
    let enc = detector.guess(None, false);
    if enc == UTF_8 {
        return Err(FileError::Encoding);
    }
    Ok(enc)
}

/// UTF-16 without a BOM: ASCII text has a zero in every other byte.
fn utf16_without_bom(bytes: &[u8]) -> Option<&'static Encoding> {
    let head = &bytes[..bytes.len().min(512) & !1];
    if head.len() < 8 {
        return None;
    }
    let pairs = head.len() / 2;
    let zero_odd = head.chunks(2).filter(|p| p[1] == 0 && p[0] != 0).count();
    let zero_even = head.chunks(2).filter(|p| p[0] == 0 && p[1] != 0).count();
    if zero_odd * 10 >= pairs * 9 {
        Some(UTF_16LE)
    } else if zero_even * 10 >= pairs * 9 {
        Some(UTF_16BE)
    } else {
        None
    }
}

/// The start of a file as text, for recognising it (lossy).
pub(crate) fn head_text(bytes: &[u8]) -> String {
    let head = &bytes[..bytes.len().min(4096)];
    let enc = Encoding::for_bom(head)
        .map(|(e, _)| e)
        .or_else(|| utf16_without_bom(head))
        .unwrap_or(UTF_8);
    enc.decode(head).0.into_owned()
}

/// The delimiter the first lines agree on: of `,` `;` tab `|`, the one that occurs the
/// same number of times (outside quotes) in the most lines, and more often on a tie.
pub(crate) fn detect_delimiter(bytes: &[u8], enc: &'static Encoding) -> u8 {
    let head = &bytes[..bytes.len().min(64 * 1024)];
    let text = enc.decode(head).0;
    let lines = records(&text, 20);
    let mut best = (0usize, 0usize, b',');
    for d in [b',', b';', b'\t', b'|'] {
        let counts: Vec<usize> = lines
            .iter()
            .map(|l| l.iter().filter(|&&c| c == d).count())
            .collect();
        let Some(&first) = counts.first() else {
            continue;
        };
        if first == 0 {
            continue;
        }
        let agree = counts.iter().filter(|&&c| c == first).count();
        if (agree, first) > (best.0, best.1) {
            best = (agree, first, d);
        }
    }
    best.2
}

/// The delimiter candidates outside quotes of the first `max` records (a quoted field may
/// span lines); the last record may be cut.
fn records(text: &str, max: usize) -> Vec<Vec<u8>> {
    let mut out = vec![Vec::new()];
    let mut quoted = false;
    for c in text.bytes() {
        match c {
            b'"' => quoted = !quoted,
            b'\n' if !quoted => {
                if out.len() == max {
                    break;
                }
                out.push(Vec::new());
            }
            b',' | b';' | b'\t' | b'|' if !quoted => out.last_mut().unwrap().push(c),
            _ => {}
        }
    }
    // The last record may be cut short by the end of the sample.
    if out.len() > 1 {
        out.pop();
    }
    out
}

/// Turns a UTF-16 stream into UTF-8.
struct Utf8Reader<R> {
    inner: R,
    decoder: encoding_rs::Decoder,
    raw: Vec<u8>,
    raw_len: usize,
    out: Vec<u8>,
    out_pos: usize,
    eof: bool,
}

impl<R: Read> Read for Utf8Reader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.out_pos == self.out.len() {
            if self.eof {
                return Ok(0);
            }
            let n = self.inner.read(&mut self.raw[self.raw_len..])?;
            self.raw_len += n;
            let last = n == 0;
            self.eof = last;
            self.out.clear();
            self.out.resize(
                self.decoder
                    .max_utf8_buffer_length(self.raw_len)
                    .unwrap_or(self.raw_len * 3 + 16),
                0,
            );
            let (result, read, written) = self.decoder.decode_to_utf8_without_replacement(
                &self.raw[..self.raw_len],
                &mut self.out,
                last,
            );
            if let encoding_rs::DecoderResult::Malformed(..) = result {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    "the text is not valid UTF-16",
                ));
            }
            self.out.truncate(written);
            self.out_pos = 0;
            self.raw.copy_within(read..self.raw_len, 0);
            self.raw_len -= read;
        }
        let n = buf.len().min(self.out.len() - self.out_pos);
        buf[..n].copy_from_slice(&self.out[self.out_pos..self.out_pos + n]);
        self.out_pos += n;
        Ok(n)
    }
}

/// Reads a CSV as a table: the first non-empty record is the header.
pub(crate) fn open(
    input: Box<dyn Read + Send>,
    encoding: &str,
    delimiter: u8,
) -> Result<Table, FileError> {
    let enc = Encoding::for_label(encoding.as_bytes()).ok_or(FileError::Encoding)?;
    let (input, enc): (Box<dyn Read + Send>, &'static Encoding) =
        if enc == UTF_16LE || enc == UTF_16BE {
            (
                Box::new(Utf8Reader {
                    inner: input,
                    decoder: enc.new_decoder_with_bom_removal(),
                    raw: vec![0; 64 * 1024],
                    raw_len: 0,
                    out: Vec::new(),
                    out_pos: 0,
                    eof: false,
                }),
                UTF_8,
            )
        } else {
            (input, enc)
        };
    let tail = Arc::new(Tail::default());
    let input = Tracked {
        inner: input,
        tail: tail.clone(),
    };
    // Records end at `\n` only (a `\r` before it is trimmed from the last cell), so where
    // a record ends tells on which line it started.
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .flexible(true)
        .has_headers(false)
        .terminator(csv::Terminator::Any(b'\n'))
        .from_reader(BufReader::with_capacity(256 * 1024, input));
    let mut record = csv::ByteRecord::new();
    let headers = loop {
        match reader.read_byte_record(&mut record) {
            Ok(false) => return Err(FileError::NoHeader),
            Ok(true) => {}
            Err(e) => {
                return Err(FileError::Row {
                    row: 1,
                    reason: e.to_string(),
                });
            }
        }
        let line = start_line(&record, reader.position(), &tail);
        let cells = decode(&record, enc, line)?;
        if cells.iter().any(|c| !c.is_empty()) {
            let mut cells = cells;
            if let Some(first) = cells.first_mut() {
                *first = first.trim_start_matches('\u{feff}').trim().to_string();
            }
            while cells.last().is_some_and(String::is_empty) {
                cells.pop();
            }
            break cells;
        }
    };
    let width = headers.len();
    let mut done = false;
    let rows = std::iter::from_fn(move || {
        loop {
            if done {
                return None;
            }
            let mut record = csv::ByteRecord::new();
            match reader.read_byte_record(&mut record) {
                Ok(false) => return None,
                Ok(true) => {}
                Err(e) => {
                    let row = e.position().map_or(0, |p| p.line());
                    // A broken stream ends the file; a malformed record is skipped.
                    done = matches!(e.kind(), csv::ErrorKind::Io(_));
                    return Some(Err(FileError::Row {
                        row,
                        reason: e.to_string(),
                    }));
                }
            }
            let line = start_line(&record, reader.position(), &tail);
            let mut cells = match decode(&record, enc, line) {
                Ok(c) => c,
                Err(e) => return Some(Err(e)),
            };
            if cells.iter().all(String::is_empty) {
                continue;
            }
            while cells.len() > width && cells.last().is_some_and(String::is_empty) {
                cells.pop();
            }
            if cells.len() > width {
                return Some(Err(FileError::Row {
                    row: line,
                    reason: format!("{} cells, the header has {width}", cells.len()),
                }));
            }
            cells.resize(width, String::new());
            return Some(Ok(Row {
                number: line,
                cells,
            }));
        }
    });
    Ok(Table {
        headers,
        rows: Box::new(rows),
    })
}

/// What the CSV reader has read of the file: how much, its last byte, and whether it hit
/// the end.
#[derive(Default)]
struct Tail {
    total: AtomicU64,
    last: AtomicU8,
    eof: AtomicBool,
}

struct Tracked<R> {
    inner: R,
    tail: Arc<Tail>,
}

impl<R: Read> Read for Tracked<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n == 0 {
            self.tail.eof.store(true, Ordering::Relaxed);
        } else {
            self.tail.total.fetch_add(n as u64, Ordering::Relaxed);
            self.tail.last.store(buf[n - 1], Ordering::Relaxed);
        }
        Ok(n)
    }
}

/// The line a record started on, from where the reader stands after it: back over the
/// line ends inside its quoted cells and over its own `\n` (which the last line of a file
/// may lack). Blank lines before it, which the reader skips, do not mislead this.
fn start_line(record: &csv::ByteRecord, after: &csv::Position, tail: &Tail) -> u64 {
    let inside = record
        .iter()
        .map(|f| f.iter().filter(|&&b| b == b'\n').count() as u64)
        .sum::<u64>();
    let at_end =
        tail.eof.load(Ordering::Relaxed) && after.byte() == tail.total.load(Ordering::Relaxed);
    let own = u64::from(!(at_end && tail.last.load(Ordering::Relaxed) != b'\n'));
    after.line().saturating_sub(inside + own).max(1)
}

fn decode(
    record: &csv::ByteRecord,
    enc: &'static Encoding,
    line: u64,
) -> Result<Vec<String>, FileError> {
    record
        .iter()
        .map(|field| {
            let text = if enc == UTF_8 {
                std::str::from_utf8(field)
                    .map(std::borrow::Cow::Borrowed)
                    .ok()
            } else {
                enc.decode_without_bom_handling_and_without_replacement(field)
            };
            match text {
                Some(t) => Ok(clean(&t)),
                None => Err(FileError::Row {
                    row: line,
                    reason: format!("the text is not valid {}", enc.name()),
                }),
            }
        })
        .collect()
}

/// A cell's text trimmed, with Windows line ends made plain.
pub(crate) fn clean(s: &str) -> String {
    let t = s.trim();
    if t.contains('\r') {
        t.replace("\r\n", "\n").replace('\r', "\n")
    } else {
        t.to_string()
    }
}
