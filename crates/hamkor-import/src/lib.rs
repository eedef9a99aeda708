//! Reads the files people bring to a CRM into rows of text. It knows nothing of the CRM:
//! bytes in, a table (a header and rows of cells) out.
//!
//! - CSV in UTF-8 (with or without a BOM), UTF-16 (with a BOM) or a legacy single-byte
//!   encoding guessed from the bytes (Windows-1251 is what Excel in the CIS saves); the
//!   delimiter (`,` `;` tab `|`) is found from the first lines.
//! - XLSX, XLS and ODS, any sheet, the header row found among the first rows (a title
//!   above it or header cells merged across columns are handled).
//! - vCard 2.1, 3.0 and 4.0 (Outlook, Google and Apple exports), as one row a card.
//!
//! A file is recognised by its bytes, and they must agree with its name's extension. A
//! spreadsheet's zip directory is read before the spreadsheet is, so a zip bomb is refused
//! before anything is inflated; the XML readers never expand entities.

mod csvfile;
mod sheet;
mod vcard;

use std::io::Read;

/// The formats we read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    Xlsx,
    Xls,
    Ods,
    VCard,
}

impl Format {
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Xlsx => "xlsx",
            Format::Xls => "xls",
            Format::Ods => "ods",
            Format::VCard => "vcf",
        }
    }

    pub fn parse(s: &str) -> Option<Format> {
        Some(match s {
            "csv" => Format::Csv,
            "xlsx" => Format::Xlsx,
            "xls" => Format::Xls,
            "ods" => Format::Ods,
            "vcf" => Format::VCard,
            _ => return None,
        })
    }

    /// The format a file name's extension promises (`.txt` and `.tsv` are CSV too).
    pub fn from_name(name: &str) -> Option<Format> {
        let ext = name.rsplit_once('.')?.1.to_ascii_lowercase();
        Some(match ext.as_str() {
            "csv" | "txt" | "tsv" => Format::Csv,
            "xlsx" | "xlsm" => Format::Xlsx,
            "xls" => Format::Xls,
            "ods" => Format::Ods,
            "vcf" | "vcard" => Format::VCard,
            _ => return None,
        })
    }
}

/// Why a file cannot be read. `key()` names the message for the user.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FileError {
    #[error("the file is empty")]
    Empty,
    #[error("the file is larger than {max} bytes")]
    TooLarge { max: u64 },
    #[error("the file's name says {named} but its content is {found}")]
    NotWhatNameSays {
        named: &'static str,
        found: &'static str,
    },
    #[error("not a file we can read (CSV, XLSX, XLS, ODS or vCard)")]
    Unknown,
    #[error("the spreadsheet would unpack to more than {max} bytes")]
    ZipBomb { max: u64 },
    #[error("the text is not in an encoding we recognise")]
    Encoding,
    #[error("row {row}: {reason}")]
    Row { row: u64, reason: String },
    #[error("the spreadsheet cannot be read: {0}")]
    Spreadsheet(String),
    #[error("there is no sheet named {0}")]
    NoSuchSheet(String),
    #[error("the file has no header row")]
    NoHeader,
}

impl FileError {
    /// The translation key of the message.
    pub fn key(&self) -> &'static str {
        match self {
            FileError::Empty => "error-import-empty",
            FileError::TooLarge { .. } => "error-file-too-large",
            FileError::NotWhatNameSays { .. } => "error-import-mismatch",
            FileError::Unknown => "error-import-format",
            FileError::ZipBomb { .. } => "error-import-zip-bomb",
            FileError::Encoding => "error-import-encoding",
            FileError::Row { .. } => "error-import-row",
            FileError::Spreadsheet(_) => "error-import-spreadsheet",
            FileError::NoSuchSheet(_) => "error-import-sheet",
            FileError::NoHeader => "error-import-no-header",
        }
    }
}

/// Limits on what we open.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// The largest file.
    pub max_bytes: u64,
    /// The most a spreadsheet's zip may unpack to.
    pub max_unpacked: u64,
    /// The highest ratio of unpacked to packed size of one zip entry.
    pub max_ratio: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_bytes: 512 * 1024 * 1024,
            max_unpacked: 1024 * 1024 * 1024,
            max_ratio: 200,
        }
    }
}

/// Where a file of contacts came from, when its header says so.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    Outlook,
    Google,
}

/// What a first look at a file found.
#[derive(Debug, Clone, PartialEq)]
pub struct Inspection {
    pub format: Format,
    /// The text encoding (CSV and vCard).
    pub encoding: Option<&'static str>,
    /// The CSV delimiter.
    pub delimiter: Option<u8>,
    /// The sheets of a spreadsheet, in order.
    pub sheets: Vec<String>,
}

/// One row of a table: where it is in the file (1-based, the header is row 1 of a CSV)
/// and its cells, as text, trimmed.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub number: u64,
    pub cells: Vec<String>,
}

/// A file read as a table.
pub struct Table {
    pub headers: Vec<String>,
    /// The file's rows after the header; a row that cannot be read is an error naming it,
    /// and reading goes on with the next.
    pub rows: Box<dyn Iterator<Item = Result<Row, FileError>> + Send>,
}

/// Recognises a file from its first bytes (at least 64 KiB when the file is longer) and
/// its name, and for a spreadsheet lists its sheets (which needs the whole file: pass it
/// whole for XLSX, XLS and ODS).
pub fn inspect(
    name: &str,
    bytes: &[u8],
    total_len: u64,
    limits: &Limits,
) -> Result<Inspection, FileError> {
    if total_len == 0 {
        return Err(FileError::Empty);
    }
    if total_len > limits.max_bytes {
        return Err(FileError::TooLarge {
            max: limits.max_bytes,
        });
    }
    let found = sniff(bytes)?;
    if let Some(named) = Format::from_name(name)
        && named != found
    {
        return Err(FileError::NotWhatNameSays {
            named: named.as_str(),
            found: found.as_str(),
        });
    }
    let mut inspection = Inspection {
        format: found,
        encoding: None,
        delimiter: None,
        sheets: Vec::new(),
    };
    match found {
        Format::Csv => {
            let enc = csvfile::detect_encoding(bytes, total_len as usize == bytes.len())?;
            inspection.encoding = Some(enc.name());
            inspection.delimiter = Some(csvfile::detect_delimiter(bytes, enc));
        }
        Format::VCard => {
            let enc = csvfile::detect_encoding(bytes, true)?;
            inspection.encoding = Some(enc.name());
        }
        Format::Xlsx | Format::Ods | Format::Xls => {
            if found != Format::Xls {
                sheet::check_zip(bytes, limits)?;
            }
            inspection.sheets = sheet::sheet_names(found, bytes)?;
        }
    }
    Ok(inspection)
}

/// What the bytes are.
fn sniff(bytes: &[u8]) -> Result<Format, FileError> {
    if bytes.starts_with(b"PK\x03\x04") {
        // ODS stores its media type uncompressed as the first entry.
        let head = &bytes[..bytes.len().min(200)];
        if head
            .windows(46)
            .any(|w| w == b"application/vnd.oasis.opendocument.spreadsheet")
        {
            return Ok(Format::Ods);
        }
        if head.windows(8).any(|w| w == b"mimetype") {
            return Err(FileError::Unknown);
        }
        return Ok(Format::Xlsx);
    }
    if bytes.starts_with(&[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1]) {
        return Ok(Format::Xls);
    }
    // Text: a vCard begins with BEGIN:VCARD (in any of the encodings we read).
    let text = csvfile::head_text(bytes);
    if text
        .trim_start_matches('\u{feff}')
        .trim_start()
        .get(..11)
        .is_some_and(|s| s.eq_ignore_ascii_case("begin:vcard"))
    {
        return Ok(Format::VCard);
    }
    // Anything else with control bytes that text does not have is not a CSV.
    let binary = if bytes.starts_with(&[0xFF, 0xFE]) || bytes.starts_with(&[0xFE, 0xFF]) {
        false
    } else {
        bytes
            .iter()
            .take(8192)
            .any(|&b| b == 0 || (b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r' | 0x0c)))
    };
    if binary {
        return Err(FileError::Unknown);
    }
    Ok(Format::Csv)
}

/// Opens a file as a table. A CSV is read as a stream (`input` can be a file of any size
/// within the limits); the other formats are read whole. `sheet` chooses a spreadsheet's
/// sheet (the first by default).
pub fn open(
    input: Box<dyn Read + Send>,
    inspection: &Inspection,
    sheet: Option<&str>,
    limits: &Limits,
) -> Result<Table, FileError> {
    match inspection.format {
        Format::Csv => csvfile::open(
            input,
            inspection.encoding.unwrap_or("UTF-8"),
            inspection.delimiter.unwrap_or(b','),
        ),
        other => {
            let mut bytes = Vec::new();
            input
                .take(limits.max_bytes + 1)
                .read_to_end(&mut bytes)
                .map_err(|e| FileError::Spreadsheet(e.to_string()))?;
            if bytes.len() as u64 > limits.max_bytes {
                return Err(FileError::TooLarge {
                    max: limits.max_bytes,
                });
            }
            match other {
                Format::VCard => vcard::open(&bytes),
                _ => sheet::open(other, bytes, sheet, limits),
            }
        }
    }
}

/// Which exporter wrote a contacts CSV, judged by its header.
pub fn origin(headers: &[String]) -> Option<Origin> {
    let has = |h: &str| headers.iter().any(|x| x.eq_ignore_ascii_case(h));
    if has("E-mail Address") && (has("Business Phone") || has("Mobile Phone")) {
        return Some(Origin::Outlook);
    }
    if has("E-mail 1 - Value") || has("Phone 1 - Value") || has("Given Name") {
        return Some(Origin::Google);
    }
    None
}

#[cfg(test)]
mod tests;
