//! Uploaded files: what may be stored and under which name. The type is read from the
//! content itself, never trusted from the browser, and must agree with the file name's
//! extension: an `.exe` renamed `.pdf` is refused, and so is anything that can carry a
//! script when opened in a browser (SVG, HTML, XML).

/// Why an upload was refused, as a message key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileError {
    Empty,
    TooLarge,
    /// The content is of a kind we do not keep (programs, scripts, unknown binaries).
    TypeNotAllowed,
    /// The content is allowed but is not what the name says.
    NameMismatch,
    BadName,
}

impl FileError {
    pub fn message_key(&self) -> &'static str {
        match self {
            FileError::Empty => "error-file-empty",
            FileError::TooLarge => "error-file-too-large",
            FileError::TypeNotAllowed => "error-file-type",
            FileError::NameMismatch => "error-file-mismatch",
            FileError::BadName => "error-file-name",
        }
    }
}

/// A checked upload: the name to show and the content type to serve it with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedFile {
    pub name: String,
    pub content_type: &'static str,
}

/// The kinds we keep: content type and the extensions that name it.
const ALLOWED: &[(&str, &[&str])] = &[
    ("application/pdf", &["pdf"]),
    ("image/png", &["png"]),
    ("image/jpeg", &["jpg", "jpeg"]),
    ("image/gif", &["gif"]),
    ("image/webp", &["webp"]),
    ("image/heic", &["heic"]),
    (
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        &["docx"],
    ),
    (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        &["xlsx"],
    ),
    (
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        &["pptx"],
    ),
    ("application/msword", &["doc"]),
    ("application/vnd.ms-excel", &["xls"]),
    ("application/vnd.ms-powerpoint", &["ppt"]),
    ("application/x-ole-storage", &["doc", "xls", "ppt", "msg"]),
    ("application/vnd.oasis.opendocument.text", &["odt"]),
    ("application/vnd.oasis.opendocument.spreadsheet", &["ods"]),
    ("application/zip", &["zip"]),
    ("audio/mpeg", &["mp3"]),
    ("audio/x-wav", &["wav"]),
    ("audio/ogg", &["ogg", "oga"]),
    ("audio/m4a", &["m4a"]),
    ("audio/amr", &["amr"]),
    ("video/mp4", &["mp4"]),
];

/// Plain text kinds (no magic number): accepted when the content is UTF-8 text.
const TEXT: &[(&str, &[&str])] = &[("text/plain", &["txt", "log"]), ("text/csv", &["csv"])];

/// Makes a name safe to show and to send in a header: the last path component, no
/// control or reserved characters, at most 150 characters (keeping the extension).
pub fn safe_name(raw: &str) -> Result<String, FileError> {
    let last = raw.rsplit(['/', '\\']).next().unwrap_or("");
    let cleaned: String = last
        .chars()
        .filter(|c| !c.is_control() && !matches!(c, '<' | '>' | ':' | '"' | '|' | '?' | '*'))
        .collect();
    let cleaned = cleaned.trim().trim_start_matches('.').trim().to_string();
    if cleaned.is_empty() {
        return Err(FileError::BadName);
    }
    if cleaned.chars().count() <= 150 {
        return Ok(cleaned);
    }
    let (stem, ext) = match cleaned.rsplit_once('.') {
        Some((s, e)) if e.len() <= 10 => (s.to_string(), format!(".{e}")),
        _ => (cleaned.clone(), String::new()),
    };
    let keep = 150 - ext.chars().count();
    Ok(format!(
        "{}{ext}",
        stem.chars().take(keep).collect::<String>()
    ))
}

fn extension(name: &str) -> Option<String> {
    name.rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .filter(|e| !e.is_empty())
}

/// Checks an upload's name, size and content.
pub fn check_upload(raw_name: &str, bytes: &[u8], max: usize) -> Result<CheckedFile, FileError> {
    let name = safe_name(raw_name)?;
    if bytes.is_empty() {
        return Err(FileError::Empty);
    }
    if bytes.len() > max {
        return Err(FileError::TooLarge);
    }
    let ext = extension(&name).ok_or(FileError::NameMismatch)?;
    match infer::get(bytes) {
        Some(kind) => {
            let mime = kind.mime_type();
            // Office files are zip or OLE containers: the extension tells which one.
            let found = ALLOWED.iter().find(|(m, _)| *m == mime);
            let Some((mime, exts)) = found else {
                return Err(FileError::TypeNotAllowed);
            };
            if exts.contains(&ext.as_str()) {
                return Ok(CheckedFile {
                    name,
                    content_type: if *mime == "application/x-ole-storage" {
                        "application/octet-stream"
                    } else {
                        mime
                    },
                });
            }
            // A zip holding an office document is named for the document.
            if *mime == "application/zip"
                && let Some((m, _)) = ALLOWED.iter().find(|(_, e)| {
                    e.contains(&ext.as_str())
                        && matches!(*e, ["docx"] | ["xlsx"] | ["pptx"] | ["odt"] | ["ods"])
                })
            {
                return Ok(CheckedFile {
                    name,
                    content_type: m,
                });
            }
            Err(FileError::NameMismatch)
        }
        None => {
            // No magic number: only plain text, and never markup that a browser would run.
            let text = std::str::from_utf8(bytes).map_err(|_| FileError::TypeNotAllowed)?;
            let head = text
                .trim_start()
                .get(..256.min(text.trim_start().len()))
                .unwrap_or("");
            let lower = head.to_ascii_lowercase();
            if text.contains('\0')
                || lower.starts_with('<')
                || lower.contains("<script")
                || lower.contains("<svg")
                || lower.contains("<html")
            {
                return Err(FileError::TypeNotAllowed);
            }
            match TEXT.iter().find(|(_, e)| e.contains(&ext.as_str())) {
                Some((mime, _)) => Ok(CheckedFile {
                    name,
                    content_type: mime,
                }),
                None => Err(FileError::NameMismatch),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PDF: &[u8] = b"%PDF-1.7\n1 0 obj\n<<>>\nendobj\n";
    const PNG: &[u8] = &[
        0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 0x0D, b'I', b'H', b'D', b'R',
    ];
    const EXE: &[u8] = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00";
    const ELF: &[u8] = b"\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00";

    #[test]
    fn content_decides_and_must_match_the_name() {
        assert_eq!(
            check_upload("offer.pdf", PDF, 1000).unwrap().content_type,
            "application/pdf"
        );
        assert_eq!(
            check_upload("photo.PNG", PNG, 1000).unwrap().content_type,
            "image/png"
        );
        assert_eq!(
            check_upload("invoice.pdf", EXE, 1000),
            Err(FileError::TypeNotAllowed)
        );
        assert_eq!(
            check_upload("tool.exe", EXE, 1000),
            Err(FileError::TypeNotAllowed)
        );
        assert_eq!(
            check_upload("run.pdf", ELF, 1000),
            Err(FileError::TypeNotAllowed)
        );
        assert_eq!(
            check_upload("photo.pdf", PNG, 1000),
            Err(FileError::NameMismatch)
        );
        assert_eq!(
            check_upload("offer", PDF, 1000),
            Err(FileError::NameMismatch)
        );
        assert_eq!(check_upload("big.pdf", PDF, 10), Err(FileError::TooLarge));
        assert_eq!(check_upload("empty.pdf", b"", 10), Err(FileError::Empty));
    }

    #[test]
    fn scripts_in_disguise_are_refused() {
        let svg = b"<?xml version=\"1.0\"?><svg xmlns=\"http://www.w3.org/2000/svg\"><script>alert(1)</script></svg>";
        assert!(check_upload("logo.svg", svg, 1000).is_err());
        assert!(check_upload("notes.txt", svg, 1000).is_err());
        assert!(check_upload("page.txt", b"<html><body>hi</body></html>", 1000).is_err());
        assert_eq!(
            check_upload("notes.txt", "Salom, dunyo! Привет".as_bytes(), 1000)
                .unwrap()
                .content_type,
            "text/plain"
        );
        assert_eq!(
            check_upload("list.csv", b"name;phone\nA;1\n", 1000)
                .unwrap()
                .content_type,
            "text/csv"
        );
        assert!(check_upload("data.bin", &[0u8, 159, 146, 150], 1000).is_err());
    }

    #[test]
    fn names_are_made_safe() {
        assert_eq!(safe_name("../../etc/passwd").unwrap(), "passwd");
        assert_eq!(
            safe_name("C:\\Users\\a\\Отчёт 2026.pdf").unwrap(),
            "Отчёт 2026.pdf"
        );
        assert_eq!(safe_name("a\"<b>\u{7}.pdf").unwrap(), "ab.pdf");
        assert_eq!(safe_name("...").unwrap_err(), FileError::BadName);
        let long = format!("{}.pdf", "x".repeat(400));
        let s = safe_name(&long).unwrap();
        assert_eq!(s.chars().count(), 150);
        assert!(s.ends_with(".pdf"));
    }
}
