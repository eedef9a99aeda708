//! The backup file: a gzip stream of JSON lines.
//!
//! ```text
//! {"format":"hamkor-backup","format_version":1,"schema_version":27,"engine":"sqlite",…,"tables":[…]}
//! {"table":"accounts","columns":[["id","uuid"],["name","text"],…]}
//! ["0196…","Toshkent Savdo",…]                  one line per row
//! {"end":"accounts","rows":120,"checksum":"9f2c…"}
//! …                                              the next table
//! {"manifest":{…the header's fields…,"tables":[{"name":"accounts","rows":120,"checksum":"9f2c…"},…]}}
//! ```
//!
//! The manifest comes last because the checksums are known only once every row is read:
//! the file is written in one pass. A file that ends before its manifest is truncated.
//! Compression and decompression run on a thread of their own, beside the database work.

use super::BackupError;
use super::value::{Checksum, Kind, Val};
use serde::{Deserialize, Serialize};
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};

/// What the first line says the file is.
pub const FORMAT: &str = "hamkor-backup";
/// The version of this layout; a reader refuses files of a newer one.
pub const FORMAT_VERSION: u32 = 1;

/// The first line.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Header {
    pub format: String,
    pub format_version: u32,
    /// The Hamkor that wrote the file.
    pub hamkor_version: String,
    /// The last migration applied to the database it came from.
    pub schema_version: i64,
    /// `sqlite` or `postgres`.
    pub engine: String,
    /// When the snapshot was taken, RFC 3339 UTC.
    pub created_at: String,
    /// The tables that follow, in this order (parents before the tables that refer to them).
    pub tables: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct TableStart {
    table: String,
    columns: Vec<(String, String)>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct TableEnd {
    end: String,
    rows: u64,
    checksum: String,
}

/// One table's line in the manifest.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct TableSummary {
    pub name: String,
    pub rows: u64,
    pub checksum: String,
}

/// The last line: the header's facts and every table's row count and checksum.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Manifest {
    pub format: String,
    pub format_version: u32,
    pub hamkor_version: String,
    pub schema_version: i64,
    pub engine: String,
    pub created_at: String,
    pub tables: Vec<TableSummary>,
    /// All rows of all tables.
    pub rows: u64,
}

#[derive(Debug, Serialize, Deserialize)]
struct ManifestLine {
    manifest: Manifest,
}

/// A column as the file describes it.
#[derive(Debug, Clone)]
pub struct FileColumn {
    pub name: String,
    pub kind: Kind,
}

/// What the reader hands on, in file order. Every `End` has been checked against the
/// rows before it; `Manifest` against every `End`.
#[derive(Debug)]
pub enum Item {
    Header(Header),
    Start {
        table: String,
        columns: Vec<FileColumn>,
    },
    Rows(Vec<Vec<Val>>),
    End(TableSummary),
    Manifest(Manifest),
}

enum Chunk {
    Data(Vec<u8>),
    /// All written: finish the file and put it in place.
    Done,
}

/// Writes a backup file on a thread of its own. Dropped without [`FileWriter::finish`],
/// it removes what it wrote.
pub struct FileWriter {
    tx: tokio::sync::mpsc::Sender<Chunk>,
    buf: Vec<u8>,
    thread: Option<std::thread::JoinHandle<Result<u64, BackupError>>>,
    /// Uncompressed bytes so far.
    pub raw_bytes: u64,
}

/// Lines are sent to the compressing thread in pieces of about this size.
const CHUNK: usize = 256 * 1024;

impl FileWriter {
    /// Starts writing `path` (`-`: standard output). A file is written as `path.part` and
    /// renamed when complete, so a failed backup never leaves a file under the real name.
    pub fn create(path: &Path, level: u32) -> Result<FileWriter, BackupError> {
        let (out, part): (Box<dyn Write + Send>, Option<(PathBuf, PathBuf)>) =
            if path.as_os_str() == "-" {
                (Box::new(std::io::stdout()), None)
            } else {
                let mut part = path.as_os_str().to_owned();
                part.push(".part");
                let part = PathBuf::from(part);
                let file = std::fs::File::create(&part).map_err(|e| BackupError::Io {
                    path: part.display().to_string(),
                    source: e,
                })?;
                (Box::new(file), Some((part, path.to_path_buf())))
            };
        let (tx, mut rx) = tokio::sync::mpsc::channel::<Chunk>(8);
        let thread = std::thread::spawn(move || {
            let io = |e: std::io::Error, p: &Option<(PathBuf, PathBuf)>| BackupError::Io {
                path: p
                    .as_ref()
                    .map(|(part, _)| part.display().to_string())
                    .unwrap_or_else(|| "standard output".into()),
                source: e,
            };
            let counted = CountingWriter {
                inner: std::io::BufWriter::with_capacity(1 << 20, out),
                bytes: 0,
            };
            let mut gz = flate2::write::GzEncoder::new(counted, flate2::Compression::new(level));
            let mut done = false;
            while let Some(chunk) = rx.blocking_recv() {
                match chunk {
                    Chunk::Data(d) => {
                        if let Err(e) = gz.write_all(&d) {
                            if let Some((p, _)) = &part {
                                let _ = std::fs::remove_file(p);
                            }
                            return Err(io(e, &part));
                        }
                    }
                    Chunk::Done => {
                        done = true;
                        break;
                    }
                }
            }
            let finished = if done {
                gz.finish()
                    .and_then(|mut w| {
                        w.flush()?;
                        Ok(w)
                    })
                    .and_then(|w| {
                        let bytes = w.bytes;
                        let inner = w.inner.into_inner().map_err(|e| e.into_error())?;
                        drop(inner);
                        Ok(bytes)
                    })
            } else {
                Err(std::io::Error::other("the backup stopped before its end"))
            };
            match (finished, &part) {
                (Ok(bytes), Some((p, real))) => {
                    // On disk before it takes the real name.
                    std::fs::File::open(p)
                        .and_then(|f| f.sync_all())
                        .and_then(|_| std::fs::rename(p, real))
                        .map_err(|e| io(e, &part))?;
                    Ok(bytes)
                }
                (Ok(bytes), None) => Ok(bytes),
                (Err(e), _) => {
                    if let Some((p, _)) = &part {
                        let _ = std::fs::remove_file(p);
                    }
                    Err(io(e, &part))
                }
            }
        });
        Ok(FileWriter {
            tx,
            buf: Vec::with_capacity(CHUNK + 4096),
            thread: Some(thread),
            raw_bytes: 0,
        })
    }

    async fn line(&mut self, v: &impl Serialize) -> Result<(), BackupError> {
        serde_json::to_writer(&mut self.buf, v)
            .map_err(|e| BackupError::Damaged(format!("cannot write a line: {e}")))?;
        self.buf.push(b'\n');
        if self.buf.len() >= CHUNK {
            self.flush().await?;
        }
        Ok(())
    }

    async fn flush(&mut self) -> Result<(), BackupError> {
        self.raw_bytes += self.buf.len() as u64;
        let data = std::mem::replace(&mut self.buf, Vec::with_capacity(CHUNK + 4096));
        if self.tx.send(Chunk::Data(data)).await.is_err() {
            // The thread stopped: its error says why.
            return Err(self
                .join()
                .unwrap_or_else(|| BackupError::Damaged("the writing thread stopped".into())));
        }
        Ok(())
    }

    fn join(&mut self) -> Option<BackupError> {
        let t = self.thread.take()?;
        match t.join() {
            Ok(Err(e)) => Some(e),
            Ok(Ok(_)) => None,
            Err(_) => Some(BackupError::Damaged("the writing thread failed".into())),
        }
    }

    pub async fn header(&mut self, h: &Header) -> Result<(), BackupError> {
        self.line(h).await
    }

    pub async fn start_table(
        &mut self,
        table: &str,
        columns: &[(String, Kind)],
    ) -> Result<(), BackupError> {
        let columns = columns
            .iter()
            .map(|(n, k)| (n.clone(), k.name().to_string()))
            .collect();
        self.line(&TableStart {
            table: table.to_string(),
            columns,
        })
        .await
    }

    pub async fn row(&mut self, row: &[Val], kinds: &[Kind]) -> Result<(), BackupError> {
        let values: Vec<serde_json::Value> =
            row.iter().zip(kinds).map(|(v, k)| v.to_json(*k)).collect();
        self.line(&values).await
    }

    pub async fn end_table(&mut self, s: &TableSummary) -> Result<(), BackupError> {
        self.line(&TableEnd {
            end: s.name.clone(),
            rows: s.rows,
            checksum: s.checksum.clone(),
        })
        .await
    }

    /// Writes the manifest, completes the file and returns its size in bytes.
    pub async fn finish(mut self, m: Manifest) -> Result<u64, BackupError> {
        self.line(&ManifestLine { manifest: m }).await?;
        self.flush().await?;
        let _ = self.tx.send(Chunk::Done).await;
        let t = self
            .thread
            .take()
            .ok_or_else(|| BackupError::Damaged("the writing thread is gone".into()))?;
        tokio::task::spawn_blocking(move || t.join())
            .await
            .map_err(|e| BackupError::Damaged(format!("the writing thread failed: {e}")))?
            .map_err(|_| BackupError::Damaged("the writing thread failed".into()))?
    }
}

impl Drop for FileWriter {
    /// A backup that stopped early: the thread sees the channel close without the end,
    /// removes the part file, and is waited for, so no `.part` outlives the process.
    fn drop(&mut self) {
        if let Some(t) = self.thread.take() {
            let (closed, _) = tokio::sync::mpsc::channel(1);
            drop(std::mem::replace(&mut self.tx, closed));
            let _ = t.join();
        }
    }
}

struct CountingWriter<W> {
    inner: W,
    bytes: u64,
}

impl<W: Write> Write for CountingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.bytes += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// Rows are handed on in batches of at most this many, or about [`BATCH_BYTES`].
const BATCH_ROWS: usize = 500;
const BATCH_BYTES: usize = 4 * 1024 * 1024;

/// Reads a backup file on a thread of its own and hands on its [`Item`]s, checking as it
/// goes that each table's rows add up to the row count and checksum written after them,
/// and that the manifest agrees. The first error ends the stream.
pub fn read(
    path: &Path,
) -> Result<tokio::sync::mpsc::Receiver<Result<Item, BackupError>>, BackupError> {
    let input: Box<dyn std::io::Read + Send> = if path.as_os_str() == "-" {
        Box::new(std::io::stdin())
    } else {
        Box::new(std::fs::File::open(path).map_err(|e| BackupError::Io {
            path: path.display().to_string(),
            source: e,
        })?)
    };
    let (tx, rx) = tokio::sync::mpsc::channel(16);
    std::thread::spawn(move || {
        let mut reader = Reader {
            input: std::io::BufReader::with_capacity(
                1 << 20,
                flate2::read::GzDecoder::new(std::io::BufReader::with_capacity(1 << 20, input)),
            ),
            line_no: 0,
            line: Vec::new(),
        };
        // A bug must not pass for a short file: a panic is reported as what it is.
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| reader.run(&tx)));
        let error = match result {
            Ok(Ok(())) => return,
            Ok(Err(e)) => e,
            Err(_) => BackupError::Damaged("reading it failed unexpectedly".into()),
        };
        let _ = tx.blocking_send(Err(error));
    });
    Ok(rx)
}

type Input =
    std::io::BufReader<flate2::read::GzDecoder<std::io::BufReader<Box<dyn std::io::Read + Send>>>>;

struct Reader {
    input: Input,
    line_no: u64,
    line: Vec<u8>,
}

/// The table being read.
struct Current {
    name: String,
    kinds: Vec<Kind>,
    rows: u64,
    checksum: Checksum,
    batch: Vec<Vec<Val>>,
    batch_bytes: usize,
}

impl Reader {
    /// The next line, or `None` at the end of the stream.
    fn next_line(&mut self) -> Result<Option<&[u8]>, BackupError> {
        self.line.clear();
        let n = self.input.read_until(b'\n', &mut self.line).map_err(|e| {
            if self.input.get_ref().header().is_none() {
                BackupError::NotABackup(format!("it is not a gzip stream ({e})"))
            } else if e.kind() == std::io::ErrorKind::UnexpectedEof {
                BackupError::Truncated(format!(
                    "the compressed stream ends early, after line {}",
                    self.line_no
                ))
            } else {
                BackupError::Damaged(format!("after line {}: {e}", self.line_no))
            }
        })?;
        if n == 0 {
            return Ok(None);
        }
        self.line_no += 1;
        if self.line.last() != Some(&b'\n') {
            return Err(BackupError::Truncated(format!(
                "line {} is cut off",
                self.line_no
            )));
        }
        self.line.pop();
        Ok(Some(&self.line))
    }

    fn damaged(&self, what: impl std::fmt::Display) -> BackupError {
        BackupError::Damaged(format!("line {}: {what}", self.line_no))
    }

    fn send(
        tx: &tokio::sync::mpsc::Sender<Result<Item, BackupError>>,
        item: Item,
    ) -> Result<(), BackupError> {
        // A closed channel: the restore stopped and no longer listens.
        tx.blocking_send(Ok(item))
            .map_err(|_| BackupError::Damaged("reading stopped".into()))
    }

    fn run(
        &mut self,
        tx: &tokio::sync::mpsc::Sender<Result<Item, BackupError>>,
    ) -> Result<(), BackupError> {
        let first = self
            .next_line()?
            .ok_or_else(|| BackupError::NotABackup("it is empty".into()))?;
        let header: Header = match serde_json::from_slice::<serde_json::Value>(first) {
            Ok(v) if v.get("format").and_then(|f| f.as_str()) == Some(FORMAT) => {
                let version = v
                    .get("format_version")
                    .and_then(|f| f.as_u64())
                    .unwrap_or(0);
                if version > FORMAT_VERSION as u64 {
                    return Err(BackupError::NewerFormat(version));
                }
                serde_json::from_value(v).map_err(|e| self.damaged(format!("bad header: {e}")))?
            }
            _ => {
                return Err(BackupError::NotABackup(
                    "its first line is not a Hamkor backup header".into(),
                ));
            }
        };
        let expected_tables = header.tables.clone();
        Self::send(tx, Item::Header(header.clone()))?;
        let mut done: Vec<TableSummary> = Vec::new();
        let mut current: Option<Current> = None;
        loop {
            let Some(line) = self.next_line()? else {
                return Err(BackupError::Truncated(match &current {
                    Some(c) => format!(
                        "it ends in table {} after {} rows, without the manifest",
                        c.name, c.rows
                    ),
                    None => format!(
                        "it ends after {} of {} tables, without the manifest",
                        done.len(),
                        expected_tables.len()
                    ),
                }));
            };
            if line.first() == Some(&b'[') {
                let values: Vec<serde_json::Value> =
                    serde_json::from_slice(line).map_err(|e| self.damaged(e))?;
                let line_no = self.line_no;
                let c = current.as_mut().ok_or_else(|| {
                    BackupError::Damaged(format!("line {line_no}: a row outside a table"))
                })?;
                if values.len() != c.kinds.len() {
                    return Err(BackupError::Damaged(format!(
                        "line {line_no}: a row of table {} has {} values, not {}",
                        c.name,
                        values.len(),
                        c.kinds.len()
                    )));
                }
                let mut row = Vec::with_capacity(values.len());
                for (v, k) in values.into_iter().zip(&c.kinds) {
                    let val = Val::from_json(v, *k).map_err(|e| {
                        BackupError::Damaged(format!("line {line_no} (table {}): {e}", c.name))
                    })?;
                    c.batch_bytes += val.size();
                    row.push(val);
                }
                c.checksum.add_row(&row, &c.kinds);
                c.rows += 1;
                c.batch.push(row);
                if c.batch.len() >= BATCH_ROWS || c.batch_bytes >= BATCH_BYTES {
                    c.batch_bytes = 0;
                    Self::send(tx, Item::Rows(std::mem::take(&mut c.batch)))?;
                }
                continue;
            }
            let v: serde_json::Value = serde_json::from_slice(line).map_err(|e| self.damaged(e))?;
            if v.get("table").is_some() {
                let start: TableStart = serde_json::from_value(v).map_err(|e| self.damaged(e))?;
                if let Some(c) = &current {
                    return Err(self.damaged(format!("table {} has no end", c.name)));
                }
                if expected_tables.get(done.len()) != Some(&start.table) {
                    return Err(self.damaged(format!(
                        "table {} is not the one the header announces next",
                        start.table
                    )));
                }
                let mut columns = Vec::new();
                for (name, kind) in start.columns {
                    let kind = Kind::parse(&kind).ok_or_else(|| {
                        self.damaged(format!("column {name} has an unknown type {kind}"))
                    })?;
                    columns.push(FileColumn { name, kind });
                }
                current = Some(Current {
                    name: start.table.clone(),
                    kinds: columns.iter().map(|c| c.kind).collect(),
                    rows: 0,
                    checksum: Checksum::default(),
                    batch: Vec::new(),
                    batch_bytes: 0,
                });
                Self::send(
                    tx,
                    Item::Start {
                        table: start.table,
                        columns,
                    },
                )?;
            } else if v.get("end").is_some() {
                let end: TableEnd = serde_json::from_value(v).map_err(|e| self.damaged(e))?;
                let mut c = current
                    .take()
                    .ok_or_else(|| self.damaged("a table end outside a table"))?;
                if c.name != end.end {
                    return Err(
                        self.damaged(format!("the end of {} closes table {}", end.end, c.name))
                    );
                }
                if c.rows != end.rows {
                    return Err(self.damaged(format!(
                        "table {} has {} rows, but its end says {}",
                        c.name, c.rows, end.rows
                    )));
                }
                if c.checksum.hex() != end.checksum {
                    return Err(self.damaged(format!(
                        "the rows of table {} do not add up to the checksum written after them",
                        c.name
                    )));
                }
                if !c.batch.is_empty() {
                    Self::send(tx, Item::Rows(std::mem::take(&mut c.batch)))?;
                }
                let summary = TableSummary {
                    name: c.name,
                    rows: c.rows,
                    checksum: end.checksum,
                };
                done.push(summary.clone());
                Self::send(tx, Item::End(summary))?;
            } else if v.get("manifest").is_some() {
                let m: ManifestLine = serde_json::from_value(v).map_err(|e| self.damaged(e))?;
                let m = m.manifest;
                if let Some(c) = &current {
                    return Err(self.damaged(format!("table {} has no end", c.name)));
                }
                if m.tables != done || done.len() != expected_tables.len() {
                    return Err(self.damaged(
                        "the manifest's tables, row counts or checksums differ from the tables in the file",
                    ));
                }
                if m.schema_version != header.schema_version || m.engine != header.engine {
                    return Err(self.damaged("the manifest does not match the header"));
                }
                if self.next_line()?.is_some() {
                    return Err(self.damaged("there is more after the manifest"));
                }
                Self::send(tx, Item::Manifest(m))?;
                return Ok(());
            } else {
                return Err(self.damaged("a line of unknown kind"));
            }
        }
    }
}
