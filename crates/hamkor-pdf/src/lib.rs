//! Renders a sales document (a quote, an order, an invoice) to an A4 PDF.
//!
//! Plain data in, bytes out: the caller passes every string already formatted and
//! translated (amounts, dates, column titles, "Page {page} of {pages}"), and [`render`]
//! lays it out and returns the PDF. Nothing here reads a file, a database or the system's
//! fonts: the text is set in DejaVu Sans (compiled in from the `dejavu` crate, subset into
//! the PDF), which covers Latin with the Uzbek marks (oʻ gʻ ʼ), Cyrillic, and the usual
//! quotes and dashes; krilla writes ToUnicode maps, so the text can be searched and copied.
//!
//! The layout, top to bottom: the logo (scaled into a 45 × 22 mm box, aspect kept) with
//! the company's name and detail lines beside it, a rule in the accent colour, the header
//! text, the title, the meta pairs, the party blocks side by side (three to a row), the
//! table, the totals (right-aligned, kept together) and the notes. The table's header row is
//! repeated on every page the table runs over; cells wrap (a word wider than its column is
//! broken) and page breaks fall between rows unless a single row is taller than a page.
//! Every page has the footer text and the page label at the bottom; pages after the first
//! repeat the header text at the top. Right-to-left scripts are not supported.

mod layout;
mod template;
mod text;

use std::collections::BTreeMap;

/// At most this many table rows; a longer document is refused with [`PdfError::TooManyRows`].
pub const MAX_ROWS: usize = 10_000;
/// At most this many pages; a longer document is refused with [`PdfError::TooManyPages`].
pub const MAX_PAGES: usize = 500;
/// At most this many lines each for the header and the footer text, after wrapping.
pub const MAX_HEADER_LINES: usize = 8;
/// The logo may be at most this many pixels on a side.
pub const MAX_LOGO_SIDE: u32 = 4096;
/// The logo file may be at most this many bytes.
pub const MAX_LOGO_BYTES: usize = 10 * 1024 * 1024;

/// The company issuing the document.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Company {
    /// Shown in bold beside the logo.
    pub name: String,
    /// Lines under the name: legal name, address, tax id, bank account, phone, e-mail.
    pub details: Vec<String>,
    /// A PNG or JPEG file's bytes.
    pub logo: Option<Vec<u8>>,
}

/// A block such as the seller or the buyer: a heading and its lines.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Party {
    /// For example "Bill to".
    pub heading: String,
    pub lines: Vec<String>,
}

/// A column of the lines table.
#[derive(Clone, Debug, PartialEq)]
pub struct Column {
    pub title: String,
    /// Right-align the column's cells (and title), as for amounts.
    pub align_right: bool,
    /// The column's share of the table's width, relative to the others; must be positive.
    pub width: f32,
}

/// The document itself; every string is shown as given.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Document {
    /// For example "Invoice No. 2026-000017".
    pub title: String,
    /// Label and value pairs under the title: ("Date", "28.11.2026"), ("Currency", "UZS").
    pub meta: Vec<(String, String)>,
    /// Seller and buyer blocks, side by side.
    pub parties: Vec<Party>,
    /// The table's header; may be empty for a document without a table.
    pub columns: Vec<Column>,
    /// The table's cells, each row with one cell per column. A cell may hold several lines.
    pub rows: Vec<Vec<String>>,
    /// Label and value pairs after the table; the last is set in bold.
    pub totals: Vec<(String, String)>,
    /// Free text after the totals; may be several lines.
    pub notes: String,
    /// Shown on every page with `{page}` and `{pages}` replaced, e.g. "Page {page} of {pages}".
    pub page_label: String,
}

/// The company's editable look: header and footer text with placeholders, and the accent
/// colour.
///
/// In `header` and `footer`, `{name}` is replaced by the value the caller passes for `name`
/// (a name is ASCII letters, digits, `_`, `.` and `-`, such as `company.name`); `{{` and
/// `}}` are literal braces. Values are inserted as plain text.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Template {
    /// Under the company block on the first page, at the top of every later page.
    pub header: String,
    /// At the bottom of every page.
    pub footer: String,
    /// `#rrggbb`, for the rules, the title and the table's header row.
    pub accent: String,
}

/// Why a document could not be rendered.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum PdfError {
    /// The logo is not a PNG or JPEG that can be read, or is too large.
    #[error("the logo is not a readable PNG or JPEG image: {0}")]
    BadLogo(String),
    /// A table row has more or fewer cells than there are columns (`row` counts from 1).
    #[error("row {row} has {found} cells, but the table has {expected} columns")]
    RowCells {
        row: usize,
        expected: usize,
        found: usize,
    },
    /// A column's relative width is not a positive number (`column` counts from 1).
    #[error("column {column} ({title:?}) has width {width}; a width must be a positive number")]
    BadColumnWidth {
        column: usize,
        title: String,
        width: f32,
    },
    /// A column would be too narrow to hold text (`column` counts from 1).
    #[error("column {column} ({title:?}) is too narrow to hold text: use fewer or wider columns")]
    ColumnTooNarrow { column: usize, title: String },
    /// A placeholder that is not one of the known names.
    #[error("unknown placeholder {{{name}}} in the {field}")]
    UnknownPlaceholder { field: &'static str, name: String },
    /// A `{` without its `}` or a `}` without its `{` (`position` counts characters from 1).
    #[error(
        "unbalanced brace at character {position} of the {field} (write {{{{ or }}}} for a literal brace)"
    )]
    UnbalancedBrace {
        field: &'static str,
        position: usize,
    },
    /// A placeholder whose name is empty or has characters a name may not have.
    #[error(
        "bad placeholder {{{name}}} in the {field}: a name is letters, digits, '_', '.' and '-'"
    )]
    BadPlaceholder { field: &'static str, name: String },
    /// The accent colour is not `#rrggbb`.
    #[error("bad accent colour {0:?}: expected #rrggbb, such as #1f6feb")]
    BadColour(String),
    /// More than [`MAX_ROWS`] rows.
    #[error("too many rows: {rows}, at most {max}")]
    TooManyRows { rows: usize, max: usize },
    /// The document would run over [`MAX_PAGES`] pages.
    #[error("the document would have more than {max} pages")]
    TooManyPages { max: usize },
    /// The header or footer text is longer than [`MAX_HEADER_LINES`] lines after wrapping.
    #[error("the {what} text is too long: {lines} lines, at most {max}")]
    TooLong {
        what: &'static str,
        lines: usize,
        max: usize,
    },
    /// Something in the document cannot be placed on a page at all (for example a table
    /// header row taller than the page).
    #[error("the {0} does not fit on a page")]
    DoesNotFit(&'static str),
    /// The PDF writer failed (not expected for any input; reported rather than panicking).
    #[error("the PDF could not be written: {0}")]
    Pdf(String),
}

/// An RGB colour.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Rgb(pub u8, pub u8, pub u8);

/// Reads `#rrggbb`.
fn parse_colour(s: &str) -> Result<Rgb, PdfError> {
    let bad = || PdfError::BadColour(s.to_string());
    let hex = s.strip_prefix('#').ok_or_else(bad)?;
    if hex.len() != 6 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(bad());
    }
    let byte = |i: usize| u8::from_str_radix(&hex[i..i + 2], 16).map_err(|_| bad());
    Ok(Rgb(byte(0)?, byte(2)?, byte(4)?))
}

/// Checks a template before it is saved: the header and footer are well formed and use
/// only the placeholder names in `known`, and the accent colour is `#rrggbb`.
pub fn check_template(t: &Template, known: &[&str]) -> Result<(), PdfError> {
    template::check("header", &t.header, known)?;
    template::check("footer", &t.footer, known)?;
    parse_colour(&t.accent)?;
    Ok(())
}

/// Renders the document to PDF bytes.
///
/// `values` gives the text for each placeholder in the template's header and footer; a
/// placeholder without a value is refused as unknown. Errors name what is wrong; no input
/// makes this panic.
pub fn render(
    company: &Company,
    doc: &Document,
    template: &Template,
    values: &BTreeMap<String, String>,
) -> Result<Vec<u8>, PdfError> {
    let accent = parse_colour(&template.accent)?;
    if doc.rows.len() > MAX_ROWS {
        return Err(PdfError::TooManyRows {
            rows: doc.rows.len(),
            max: MAX_ROWS,
        });
    }
    for (i, row) in doc.rows.iter().enumerate() {
        if row.len() != doc.columns.len() {
            return Err(PdfError::RowCells {
                row: i + 1,
                expected: doc.columns.len(),
                found: row.len(),
            });
        }
    }
    for (i, column) in doc.columns.iter().enumerate() {
        if !(column.width.is_finite() && column.width > 0.0) {
            return Err(PdfError::BadColumnWidth {
                column: i + 1,
                title: column.title.clone(),
                width: column.width,
            });
        }
    }
    let header = template::fill("header", &template.header, values)?;
    let footer = template::fill("footer", &template.footer, values)?;
    template::check("page label", &doc.page_label, &["page", "pages"])?;
    let logo = company.logo.as_deref().map(layout::read_logo).transpose()?;
    layout::render(&layout::Input {
        company,
        doc,
        header: &header,
        footer: &footer,
        accent,
        logo,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colours() {
        assert_eq!(parse_colour("#1f6feb"), Ok(Rgb(0x1f, 0x6f, 0xeb)));
        assert_eq!(parse_colour("#FFFFFF"), Ok(Rgb(255, 255, 255)));
        for bad in [
            "", "#", "1f6feb", "#1f6fe", "#1f6febb", "#1g6feb", "#+1+1+1", "#ééé",
        ] {
            assert_eq!(
                parse_colour(bad),
                Err(PdfError::BadColour(bad.into())),
                "{bad}"
            );
        }
    }
}
