//! Spreadsheets (XLSX, XLS, ODS) through calamine.

use crate::{FileError, Format, Limits, Row, Table};
use calamine::{Data, Dimensions, Reader, Sheets, open_workbook_auto_from_rs};
use std::io::Cursor;

/// Reads the zip directory and refuses an archive that would unpack to more than the
/// limit, or an entry packed more tightly than real spreadsheets are: nothing is inflated.
pub(crate) fn check_zip(bytes: &[u8], limits: &Limits) -> Result<(), FileError> {
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes))
        .map_err(|e| FileError::Spreadsheet(e.to_string()))?;
    let mut total: u64 = 0;
    for i in 0..zip.len() {
        let entry = zip
            .by_index_raw(i)
            .map_err(|e| FileError::Spreadsheet(e.to_string()))?;
        let size = entry.size();
        total = total.saturating_add(size);
        let packed = entry.compressed_size().max(1);
        if total > limits.max_unpacked || (size > 1 << 20 && size / packed > limits.max_ratio) {
            return Err(FileError::ZipBomb {
                max: limits.max_unpacked,
            });
        }
    }
    Ok(())
}

fn workbook(bytes: Vec<u8>) -> Result<Sheets<Cursor<Vec<u8>>>, FileError> {
    open_workbook_auto_from_rs(Cursor::new(bytes))
        .map_err(|e| FileError::Spreadsheet(e.to_string()))
}

pub(crate) fn sheet_names(format: Format, bytes: &[u8]) -> Result<Vec<String>, FileError> {
    let _ = format;
    Ok(workbook(bytes.to_vec())?.sheet_names())
}

/// A cell as text: whole numbers without a fraction, dates as `YYYY-MM-DD` (with the time
/// when there is one).
fn text(cell: &Data) -> String {
    match cell {
        Data::Empty | Data::Error(_) => String::new(),
        Data::String(s) => crate::csvfile::clean(s),
        Data::Int(i) => i.to_string(),
        Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", *f as i64),
        Data::Float(f) => f.to_string(),
        Data::Bool(b) => b.to_string(),
        Data::DateTime(d) => match d.as_datetime() {
            Some(dt) if d.is_datetime() => {
                if dt.time() == chrono::NaiveTime::MIN {
                    dt.date().format("%Y-%m-%d").to_string()
                } else {
                    dt.format("%Y-%m-%dT%H:%M:%S").to_string()
                }
            }
            _ => d.as_f64().to_string(),
        },
        Data::DateTimeIso(s) | Data::DurationIso(s) => s.clone(),
    }
}

pub(crate) fn open(
    format: Format,
    bytes: Vec<u8>,
    sheet: Option<&str>,
    limits: &Limits,
) -> Result<Table, FileError> {
    if format != Format::Xls {
        check_zip(&bytes, limits)?;
    }
    let mut book = workbook(bytes)?;
    let names = book.sheet_names();
    let name = match sheet {
        Some(s) => names
            .iter()
            .find(|n| n.as_str() == s)
            .cloned()
            .ok_or_else(|| FileError::NoSuchSheet(s.to_string()))?,
        None => names.first().cloned().ok_or(FileError::NoHeader)?,
    };
    let merged: Vec<Dimensions> = match &mut book {
        Sheets::Xlsx(x) => x.merge_cells_by_sheet_name(&name).unwrap_or_default(),
        Sheets::Xls(x) => x.merge_cells_by_sheet_name(&name).unwrap_or_default(),
        _ => Vec::new(),
    };
    let range = book
        .worksheet_range(&name)
        .map_err(|e| FileError::Spreadsheet(e.to_string()))?;
    let (row0, col0) = range.start().unwrap_or((0, 0));
    let grid: Vec<Vec<String>> = range.rows().map(|r| r.iter().map(text).collect()).collect();
    // The header: of the first ten rows, the first with at least two different values
    // (a title merged across the columns above it has one) filling at least half as many
    // columns as the fullest row does, counting merged cells as filled.
    let merged_cols = |i: usize| -> usize {
        let abs = row0 + i as u32;
        merged
            .iter()
            .filter(|m| m.start.0 <= abs && abs <= m.end.0)
            .map(|m| (m.end.1 - m.start.1) as usize)
            .sum()
    };
    let shape: Vec<(usize, usize)> = grid
        .iter()
        .take(10)
        .enumerate()
        .map(|(i, r)| {
            let filled = r.iter().filter(|c| !c.is_empty()).count();
            let mut values: Vec<&String> = r.iter().filter(|c| !c.is_empty()).collect();
            values.sort();
            values.dedup();
            (filled + merged_cols(i), values.len())
        })
        .collect();
    let widest = shape.iter().map(|s| s.0).max().unwrap_or(0);
    if widest == 0 {
        return Err(FileError::NoHeader);
    }
    let h = shape
        .iter()
        .position(|&(filled, distinct)| distinct >= 2 && filled * 2 >= widest)
        .or_else(|| shape.iter().position(|s| s.0 > 0))
        .unwrap_or(0);
    let mut headers = grid[h].clone();
    // A header cell merged across columns names each of them.
    let abs_row = row0 + h as u32;
    for m in &merged {
        if m.start.0 <= abs_row && abs_row <= m.end.0 {
            let first = m.start.1.saturating_sub(col0) as usize;
            let value = grid
                .get(m.start.0.saturating_sub(row0) as usize)
                .and_then(|r| r.get(first))
                .cloned()
                .unwrap_or_default();
            for c in m.start.1..=m.end.1 {
                let c = c.saturating_sub(col0) as usize;
                if let Some(cell) = headers.get_mut(c)
                    && cell.is_empty()
                {
                    *cell = value.clone();
                }
            }
        }
    }
    while headers.last().is_some_and(String::is_empty) {
        headers.pop();
    }
    let width = headers.len();
    let rows: Vec<Row> = grid
        .into_iter()
        .enumerate()
        .skip(h + 1)
        .filter(|(_, r)| r.iter().any(|c| !c.is_empty()))
        .map(|(i, mut cells)| {
            cells.resize(width.max(cells.len()), String::new());
            Row {
                number: u64::from(row0) + i as u64 + 1,
                cells,
            }
        })
        .collect();
    let rows = rows.into_iter().map(move |mut r| {
        while r.cells.len() > width && r.cells.last().is_some_and(String::is_empty) {
            r.cells.pop();
        }
        if r.cells.len() > width {
            return Err(FileError::Row {
                row: r.number,
                reason: format!("{} cells, the header has {width}", r.cells.len()),
            });
        }
        Ok(r)
    });
    Ok(Table {
        headers,
        rows: Box::new(rows),
    })
}
