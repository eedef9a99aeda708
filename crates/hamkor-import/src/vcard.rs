//! vCard 2.1, 3.0 and 4.0, one row a card. Handles folded lines, quoted-printable values
//! with their charset (2.1, as Outlook writes them), bare 2.1 type parameters (`TEL;CELL`),
//! grouped properties (`item1.EMAIL`) and escaped `\,` `\;` `\n`.

use crate::{FileError, Row, Table};
use encoding_rs::{Encoding, UTF_8};

/// The columns of a vCard table.
pub const HEADERS: &[&str] = &[
    "First name",
    "Middle name",
    "Last name",
    "Full name",
    "Mobile phone",
    "Work phone",
    "Home phone",
    "Phone",
    "Work e-mail",
    "Home e-mail",
    "E-mail",
    "Organization",
    "Job title",
    "Birthday",
    "Notes",
    "Address",
    "Web page",
    "Categories",
];

fn col(name: &str) -> usize {
    HEADERS
        .iter()
        .position(|h| *h == name)
        .expect("a vCard column")
}

pub(crate) fn open(bytes: &[u8]) -> Result<Table, FileError> {
    let enc = crate::csvfile::detect_encoding(bytes, true)?;
    let (text, _, bad) = enc.decode(bytes);
    if bad {
        return Err(FileError::Encoding);
    }
    let rows = parse(&text)?;
    Ok(Table {
        headers: HEADERS.iter().map(|h| h.to_string()).collect(),
        rows: Box::new(rows.into_iter()),
    })
}

/// Logical lines with their first physical line number.
fn unfold(text: &str) -> Vec<(u64, String)> {
    let mut out: Vec<(u64, String)> = Vec::new();
    let mut qp_continues = false;
    for (i, raw) in text.split('\n').enumerate() {
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        let n = i as u64 + 1;
        if qp_continues && let Some(last) = out.last_mut() {
            // A quoted-printable soft line break: `=` at the end joins the next line.
            last.1.pop();
            last.1.push_str(line.trim_start());
        } else if (line.starts_with(' ') || line.starts_with('\t')) && !out.is_empty() {
            out.last_mut().unwrap().1.push_str(&line[1..]);
        } else if !line.trim().is_empty() {
            out.push((n, line.to_string()));
        }
        qp_continues = out.last().is_some_and(|(_, l)| {
            l.ends_with('=') && {
                let head = l.split(':').next().unwrap_or("").to_ascii_uppercase();
                head.contains("QUOTED-PRINTABLE")
            }
        });
    }
    out
}

/// Splits at `sep` outside double quotes.
fn split_outside_quotes(s: &str, sep: char) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut quoted = false;
    for (i, c) in s.char_indices() {
        if c == '"' {
            quoted = !quoted;
        } else if c == sep && !quoted {
            out.push(&s[start..i]);
            start = i + 1;
        }
    }
    out.push(&s[start..]);
    out
}

struct Property {
    name: String,
    types: Vec<String>,
    value: String,
}

fn property(line: &str) -> Option<Property> {
    // The value starts at the first ':' outside quotes.
    let mut quoted = false;
    let colon = line.char_indices().find_map(|(i, c)| {
        if c == '"' {
            quoted = !quoted;
        }
        (c == ':' && !quoted).then_some(i)
    })?;
    let (head, raw) = (&line[..colon], &line[colon + 1..]);
    let mut parts = split_outside_quotes(head, ';').into_iter();
    let name = parts.next()?;
    let name = name.rsplit('.').next().unwrap_or(name).to_ascii_uppercase();
    let mut types = Vec::new();
    let mut qp = false;
    let mut base64 = false;
    let mut charset: &'static Encoding = UTF_8;
    for p in parts {
        let (k, v) = match p.split_once('=') {
            Some((k, v)) => (k.trim().to_ascii_uppercase(), v.trim().trim_matches('"')),
            None => ("TYPE".to_string(), p.trim()),
        };
        match k.as_str() {
            "ENCODING" => {
                let v = v.to_ascii_uppercase();
                qp |= v == "QUOTED-PRINTABLE";
                base64 |= v == "B" || v == "BASE64";
            }
            "CHARSET" => charset = Encoding::for_label(v.as_bytes()).unwrap_or(UTF_8),
            "TYPE" => {
                for t in v.split(',') {
                    let t = t.trim().to_ascii_uppercase();
                    qp |= t == "QUOTED-PRINTABLE";
                    base64 |= t == "BASE64";
                    types.push(t);
                }
            }
            _ => {}
        }
    }
    if base64 {
        return None;
    }
    let value = if qp {
        let bytes = quoted_printable(raw);
        charset.decode_without_bom_handling(&bytes).0.into_owned()
    } else {
        raw.to_string()
    };
    Some(Property { name, types, value })
}

fn quoted_printable(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'=' {
            let hex = b
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok());
            if let Some(v) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    out
}

/// The components of a structured value (`N`, `ADR`, `ORG`), unescaped.
fn components(v: &str) -> Vec<String> {
    let mut out = vec![String::new()];
    let mut chars = v.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some('n' | 'N') => out.last_mut().unwrap().push('\n'),
                Some(o) => out.last_mut().unwrap().push(o),
                None => {}
            },
            ';' => out.push(String::new()),
            c => out.last_mut().unwrap().push(c),
        }
    }
    out.into_iter().map(|s| s.trim().to_string()).collect()
}

fn unescape(v: &str) -> String {
    components(&v.replace(';', "\\;")).concat()
}

/// A birthday as `YYYY-MM-DD` when it has a year (`19850412`, `1985-04-12`,
/// `1985-04-12T00:00:00Z`); as written otherwise.
fn birthday(v: &str) -> String {
    let v = v.trim();
    let digits: String = v
        .split('T')
        .next()
        .unwrap_or(v)
        .chars()
        .filter(char::is_ascii_digit)
        .collect();
    if digits.len() == 8 && !v.starts_with("--") {
        format!("{}-{}-{}", &digits[..4], &digits[4..6], &digits[6..])
    } else {
        v.to_string()
    }
}

fn push(cells: &mut [String], column: &str, value: &str) {
    let value = value.trim();
    if value.is_empty() {
        return;
    }
    let cell = &mut cells[col(column)];
    if !cell.is_empty() {
        cell.push_str("; ");
    }
    cell.push_str(value);
}

fn parse(text: &str) -> Result<Vec<Result<Row, FileError>>, FileError> {
    let mut rows = Vec::new();
    let mut card: Option<(u64, Vec<String>)> = None;
    let mut any = false;
    for (n, line) in unfold(text) {
        let upper = line.trim().to_ascii_uppercase();
        if upper == "BEGIN:VCARD" {
            if let Some((start, _)) = card.take() {
                rows.push(Err(FileError::Row {
                    row: start,
                    reason: "a card without END:VCARD".into(),
                }));
            }
            card = Some((n, vec![String::new(); HEADERS.len()]));
            any = true;
            continue;
        }
        if upper == "END:VCARD" {
            if let Some((start, cells)) = card.take()
                && cells.iter().any(|c| !c.is_empty())
            {
                rows.push(Ok(Row {
                    number: start,
                    cells,
                }));
            }
            continue;
        }
        let Some((_, cells)) = card.as_mut() else {
            continue;
        };
        let Some(p) = property(&line) else {
            continue;
        };
        let has = |t: &str| p.types.iter().any(|x| x == t);
        match p.name.as_str() {
            "N" => {
                let c = components(&p.value);
                let get = |i: usize| c.get(i).map(String::as_str).unwrap_or("");
                push(cells, "Last name", get(0));
                push(cells, "First name", get(1));
                push(cells, "Middle name", get(2));
            }
            "FN" => push(cells, "Full name", &unescape(&p.value)),
            "TEL" => {
                let v = p.value.trim().trim_start_matches("tel:");
                let column = if has("CELL") || has("MOBILE") {
                    "Mobile phone"
                } else if has("WORK") {
                    "Work phone"
                } else if has("HOME") {
                    "Home phone"
                } else {
                    "Phone"
                };
                push(cells, column, v);
            }
            "EMAIL" => {
                let v = p.value.trim().trim_start_matches("mailto:");
                let column = if has("WORK") {
                    "Work e-mail"
                } else if has("HOME") {
                    "Home e-mail"
                } else {
                    "E-mail"
                };
                push(cells, column, v);
            }
            "ORG" => {
                let c = components(&p.value);
                push(
                    cells,
                    "Organization",
                    c.first().map(String::as_str).unwrap_or(""),
                );
            }
            "TITLE" => push(cells, "Job title", &unescape(&p.value)),
            "BDAY" => push(cells, "Birthday", &birthday(&p.value)),
            "NOTE" => push(cells, "Notes", &unescape(&p.value)),
            "ADR" => {
                let parts: Vec<String> = components(&p.value)
                    .into_iter()
                    .filter(|s| !s.is_empty())
                    .collect();
                push(cells, "Address", &parts.join(", "));
            }
            "URL" => push(cells, "Web page", &unescape(&p.value)),
            "CATEGORIES" => push(cells, "Categories", &unescape(&p.value)),
            _ => {}
        }
    }
    if let Some((start, _)) = card {
        rows.push(Err(FileError::Row {
            row: start,
            reason: "a card without END:VCARD".into(),
        }));
    }
    if !any {
        return Err(FileError::Unknown);
    }
    // A card with only a full name: split it into first and last names.
    for row in rows.iter_mut().flatten() {
        let (first, last, full) = (col("First name"), col("Last name"), col("Full name"));
        if row.cells[first].is_empty() && row.cells[last].is_empty() && !row.cells[full].is_empty()
        {
            let full_name = row.cells[full].clone();
            match full_name.rsplit_once(' ') {
                Some((f, l)) => {
                    row.cells[first] = f.trim().to_string();
                    row.cells[last] = l.trim().to_string();
                }
                None => row.cells[last] = full_name,
            }
        }
    }
    Ok(rows)
}
