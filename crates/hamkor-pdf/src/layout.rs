//! Lays the document out into pages of drawing operations, then draws them with krilla.
//!
//! Layout comes first and drawing second so that the page count is known when the page
//! labels ("Page 3 of 10") are drawn. All lengths are in PDF points, y grows downwards.

use std::collections::BTreeMap;
use std::sync::{Mutex, PoisonError};

use krilla::color::rgb;
use krilla::geom::{PathBuilder, Point, Rect, Size, Transform};
use krilla::image::Image;
use krilla::num::NormalizedF32;
use krilla::page::PageSettings;
use krilla::paint::Fill;
use krilla::{Document as PdfDocument, metadata::Metadata};

use crate::text::{ShapedLine, Shaper, Weight, face};
use crate::{
    Company, Document, MAX_HEADER_LINES, MAX_LOGO_BYTES, MAX_LOGO_SIDE, MAX_PAGES, PdfError, Rgb,
    template,
};

const MM: f32 = 72.0 / 25.4;
const PAGE_W: f32 = 210.0 * MM;
const PAGE_H: f32 = 297.0 * MM;
const MARGIN_X: f32 = 15.0 * MM;
const MARGIN_TOP: f32 = 14.0 * MM;
const MARGIN_BOTTOM: f32 = 10.0 * MM;
const CONTENT_W: f32 = PAGE_W - 2.0 * MARGIN_X;
const LOGO_W: f32 = 45.0 * MM;
const LOGO_H: f32 = 22.0 * MM;
/// Space kept free on the right of the footer for the page label.
const LABEL_W: f32 = 40.0 * MM;
/// A column narrower than this (inside its padding) is refused.
const MIN_CELL_W: f32 = 14.0;
const CELL_PAD_X: f32 = 1.6 * MM;

const DARK: Rgb = Rgb(0x1f, 0x23, 0x28);
const GREY: Rgb = Rgb(0x59, 0x63, 0x6e);
const RULE: Rgb = Rgb(0xd0, 0xd7, 0xde);
const WHITE: Rgb = Rgb(0xff, 0xff, 0xff);

fn line_height(size: f32) -> f32 {
    size * 1.3
}

/// What [`crate::render`] has checked and prepared.
pub(crate) struct Input<'a> {
    pub(crate) company: &'a Company,
    pub(crate) doc: &'a Document,
    pub(crate) header: &'a str,
    pub(crate) footer: &'a str,
    pub(crate) accent: Rgb,
    pub(crate) logo: Option<Image>,
}

/// Checks the logo's format and size and prepares it for embedding. The pixels are decoded
/// when the PDF is written; a decoding failure then is reported as [`PdfError::BadLogo`] too.
///
/// The last few logos are kept, so a company's logo is decoded and compressed once rather than
/// on every render (krilla does that work once per [`Image`]).
pub(crate) fn read_logo(bytes: &[u8]) -> Result<Image, PdfError> {
    const KEPT: usize = 4;
    static KEPT_LOGOS: Mutex<Vec<(Vec<u8>, Image)>> = Mutex::new(Vec::new());
    let mut kept = KEPT_LOGOS.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(i) = kept.iter().position(|(b, _)| b == bytes) {
        let entry = kept.remove(i);
        let image = entry.1.clone();
        kept.insert(0, entry);
        return Ok(image);
    }
    let image = prepare_logo(bytes)?;
    kept.truncate(KEPT - 1);
    kept.insert(0, (bytes.to_vec(), image.clone()));
    Ok(image)
}

fn prepare_logo(bytes: &[u8]) -> Result<Image, PdfError> {
    if bytes.len() > MAX_LOGO_BYTES {
        return Err(PdfError::BadLogo(format!(
            "the file has {} bytes, at most {MAX_LOGO_BYTES}",
            bytes.len()
        )));
    }
    let data = krilla::Data::from(bytes.to_vec());
    let image = if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Image::from_png(data, true)
    } else if bytes.starts_with(&[0xff, 0xd8, 0xff]) {
        Image::from_jpeg(data, true)
    } else {
        return Err(PdfError::BadLogo("neither a PNG nor a JPEG file".into()));
    }
    .map_err(PdfError::BadLogo)?;
    let (w, h) = image.size();
    if w == 0 || h == 0 || w > MAX_LOGO_SIDE || h > MAX_LOGO_SIDE {
        return Err(PdfError::BadLogo(format!(
            "{w}×{h} pixels; each side must be 1 to {MAX_LOGO_SIDE}"
        )));
    }
    Ok(image)
}

/// One thing to draw on a page.
enum Op {
    Text {
        x: f32,
        baseline: f32,
        /// The box the line was laid out to stay inside, left and right (read by the tests).
        #[cfg_attr(not(test), allow(dead_code))]
        bounds: (f32, f32),
        line: ShapedLine,
        weight: Weight,
        size: f32,
        colour: Rgb,
    },
    Rect {
        x: f32,
        y: f32,
        w: f32,
        h: f32,
        colour: Rgb,
    },
    Logo {
        x: f32,
        y: f32,
        w: f32,
        h: f32,
    },
}

/// A line of text with its style and the height it takes.
#[derive(Clone)]
struct TextLine {
    line: ShapedLine,
    weight: Weight,
    size: f32,
    colour: Rgb,
    height: f32,
}

/// A box of lines in a row: `x` and `width` are the text area, inside any padding.
#[derive(Clone)]
struct Cell {
    x: f32,
    width: f32,
    right: bool,
    lines: Vec<TextLine>,
}

impl Cell {
    fn height(&self) -> f32 {
        self.lines.iter().map(|l| l.height).sum()
    }
}

/// A row of cells side by side, with its padding and decoration.
#[derive(Clone)]
struct Row {
    cells: Vec<Cell>,
    pad_top: f32,
    pad_bottom: f32,
    /// Filled behind the row (the table header).
    background: Option<Rgb>,
    /// A hairline under the row across the table.
    rule_below: bool,
}

impl Row {
    fn height(&self) -> f32 {
        let content = self.cells.iter().map(Cell::height).fold(0.0, f32::max);
        self.pad_top + content + self.pad_bottom
    }
}

struct Layout {
    shaper: Shaper,
    pages: Vec<Vec<Op>>,
    y: f32,
    /// Where content must stop, above the footer.
    bottom: f32,
    /// Nothing but furniture (running header, table header) on the current page yet.
    fresh: bool,
    /// The header text, repeated at the top of every page after the first.
    running_header: Vec<TextLine>,
    /// The table's header row while the table is being laid out.
    table_header: Option<Row>,
    accent: Rgb,
}

impl Layout {
    fn ops(&mut self) -> &mut Vec<Op> {
        // There is always a page: `render` starts one before anything is placed.
        if self.pages.is_empty() {
            self.pages.push(Vec::new());
        }
        let last = self.pages.len() - 1;
        &mut self.pages[last]
    }

    fn styled(
        &mut self,
        text: &str,
        weight: Weight,
        size: f32,
        colour: Rgb,
        width: f32,
    ) -> Result<Vec<TextLine>, PdfError> {
        Ok(self
            .shaper
            .wrap(weight, text, size, width)?
            .into_iter()
            .map(|line| TextLine {
                line,
                weight,
                size,
                colour,
                height: line_height(size),
            })
            .collect())
    }

    fn rect(&mut self, x: f32, y: f32, w: f32, h: f32, colour: Rgb) {
        self.ops().push(Op::Rect { x, y, w, h, colour });
    }

    fn running_header_height(&self) -> f32 {
        if self.running_header.is_empty() {
            0.0
        } else {
            self.running_header.iter().map(|l| l.height).sum::<f32>() + 4.0 * MM
        }
    }

    /// The room a new page has for content.
    fn fresh_room(&self) -> f32 {
        let table = self.table_header.as_ref().map_or(0.0, Row::height);
        self.bottom - MARGIN_TOP - self.running_header_height() - table
    }

    fn new_page(&mut self) -> Result<(), PdfError> {
        if self.pages.len() >= MAX_PAGES {
            return Err(PdfError::TooManyPages { max: MAX_PAGES });
        }
        self.pages.push(Vec::new());
        self.y = MARGIN_TOP;
        if !self.running_header.is_empty() {
            let lines = self.running_header.clone();
            let mut y = self.y;
            for line in lines {
                self.text_line(MARGIN_X, CONTENT_W, false, y, line.clone());
                y += line.height;
            }
            self.rect(MARGIN_X, y + 1.5 * MM, CONTENT_W, 0.5, RULE);
            self.y += self.running_header_height();
        }
        if let Some(header) = self.table_header.clone() {
            self.fresh = true;
            self.place(&header)?;
        }
        self.fresh = true;
        Ok(())
    }

    /// Starts a new page unless `height` fits on this one (or would not fit on any page).
    fn keep(&mut self, height: f32) -> Result<(), PdfError> {
        if !self.fresh && self.y + height > self.bottom && height <= self.fresh_room() {
            self.new_page()?;
        }
        Ok(())
    }

    fn text_line(&mut self, x: f32, width: f32, right: bool, top: f32, line: TextLine) {
        let Ok(face) = face(line.weight) else { return };
        let size = line.size;
        let baseline =
            top + (line.height - size * (face.ascent + face.descent)) / 2.0 + size * face.ascent;
        let x0 = x;
        let x = if right {
            x + width - line.line.width(size)
        } else {
            x
        };
        if line.line.glyphs.is_empty() {
            return;
        }
        self.ops().push(Op::Text {
            x,
            baseline,
            bounds: (x0, x0 + width),
            line: line.line,
            weight: line.weight,
            size,
            colour: line.colour,
        });
    }

    /// Places a row at the current position, carrying on over pages if it is taller than
    /// the room left; callers that want it whole call [`Layout::keep`] first.
    fn place(&mut self, row: &Row) -> Result<(), PdfError> {
        let mut next = vec![0usize; row.cells.len()];
        loop {
            let room = self.bottom - self.y - row.pad_top - row.pad_bottom;
            // How many more lines of each cell fit, and how tall they are.
            let mut take = vec![0usize; row.cells.len()];
            let mut used = 0.0f32;
            for (i, cell) in row.cells.iter().enumerate() {
                let mut h = 0.0;
                for line in &cell.lines[next[i]..] {
                    if h + line.height > room {
                        break;
                    }
                    h += line.height;
                    take[i] += 1;
                }
                used = used.max(h);
            }
            let remaining = row
                .cells
                .iter()
                .enumerate()
                .any(|(i, c)| next[i] < c.lines.len());
            if remaining && take.iter().all(|&t| t == 0) {
                if self.fresh {
                    return Err(PdfError::DoesNotFit("content"));
                }
                self.new_page()?;
                continue;
            }
            let height = row.pad_top + used + row.pad_bottom;
            let left = row
                .cells
                .first()
                .map_or(MARGIN_X, |c| c.x - CELL_PAD_X)
                .max(MARGIN_X);
            let right = row
                .cells
                .last()
                .map_or(MARGIN_X + CONTENT_W, |c| c.x + c.width + CELL_PAD_X)
                .min(MARGIN_X + CONTENT_W);
            if let Some(colour) = row.background {
                self.rect(left, self.y, right - left, height, colour);
            }
            for (i, cell) in row.cells.iter().enumerate() {
                let mut top = self.y + row.pad_top;
                for line in &cell.lines[next[i]..next[i] + take[i]] {
                    self.text_line(cell.x, cell.width, cell.right, top, line.clone());
                    top += line.height;
                }
                next[i] += take[i];
            }
            if row.rule_below {
                self.rect(left, self.y + height - 0.25, right - left, 0.5, RULE);
            }
            self.y += height;
            self.fresh = false;
            let done = row
                .cells
                .iter()
                .enumerate()
                .all(|(i, c)| next[i] >= c.lines.len());
            if done {
                return Ok(());
            }
            self.new_page()?;
        }
    }

    fn gap(&mut self, h: f32) {
        if !self.fresh {
            self.y = (self.y + h).min(self.bottom);
        }
    }

    /// A full-width block of text that may break anywhere between lines.
    fn paragraph(
        &mut self,
        text: &str,
        weight: Weight,
        size: f32,
        colour: Rgb,
    ) -> Result<(), PdfError> {
        let lines = self.styled(text, weight, size, colour, CONTENT_W)?;
        if lines.is_empty() {
            return Ok(());
        }
        self.place(&Row {
            cells: vec![Cell {
                x: MARGIN_X,
                width: CONTENT_W,
                right: false,
                lines,
            }],
            pad_top: 0.0,
            pad_bottom: 0.0,
            background: None,
            rule_below: false,
        })
    }
}

/// Relative luminance above which white text would be hard to read on the colour.
fn is_light(c: Rgb) -> bool {
    let l = 0.2126 * f32::from(c.0) + 0.7152 * f32::from(c.1) + 0.0722 * f32::from(c.2);
    l > 160.0
}

pub(crate) fn render(input: &Input<'_>) -> Result<Vec<u8>, PdfError> {
    let laid = lay_out(input)?;
    draw(&laid, input)
}

/// The pages laid out, with the footer that goes on each.
struct LaidOut {
    pages: Vec<Vec<Op>>,
    footer: Vec<TextLine>,
    footer_top: f32,
    /// Where content stops on each page (read by the tests).
    #[cfg_attr(not(test), allow(dead_code))]
    bottom: f32,
}

fn lay_out(input: &Input<'_>) -> Result<LaidOut, PdfError> {
    let mut l = Layout {
        shaper: Shaper::new(),
        pages: vec![Vec::new()],
        y: MARGIN_TOP,
        bottom: PAGE_H,
        fresh: true,
        running_header: Vec::new(),
        table_header: None,
        accent: input.accent,
    };
    let doc = input.doc;

    // The footer's height fixes where content stops on every page.
    let footer = l.styled(
        input.footer,
        Weight::Regular,
        7.5,
        GREY,
        CONTENT_W - LABEL_W,
    )?;
    if footer.len() > MAX_HEADER_LINES {
        return Err(PdfError::TooLong {
            what: "footer",
            lines: footer.len(),
            max: MAX_HEADER_LINES,
        });
    }
    let footer_h = footer
        .iter()
        .map(|f| f.height)
        .sum::<f32>()
        .max(line_height(7.5));
    let footer_top = PAGE_H - MARGIN_BOTTOM - footer_h;
    l.bottom = footer_top - 5.0 * MM;

    let header = l.styled(input.header, Weight::Regular, 8.5, GREY, CONTENT_W)?;
    if header.len() > MAX_HEADER_LINES {
        return Err(PdfError::TooLong {
            what: "header",
            lines: header.len(),
            max: MAX_HEADER_LINES,
        });
    }

    // The logo and the company block beside it.
    let top = l.y;
    let mut company_x = MARGIN_X;
    let mut logo_bottom = top;
    if let Some(image) = &input.logo {
        let (pw, ph) = image.size();
        let scale = (LOGO_W / pw as f32).min(LOGO_H / ph as f32);
        let (w, h) = (pw as f32 * scale, ph as f32 * scale);
        l.ops().push(Op::Logo {
            x: MARGIN_X,
            y: top,
            w,
            h,
        });
        company_x = MARGIN_X + w + 6.0 * MM;
        logo_bottom = top + h;
    }
    let company_w = MARGIN_X + CONTENT_W - company_x;
    let mut lines = l.styled(&input.company.name, Weight::Bold, 13.0, DARK, company_w)?;
    for detail in &input.company.details {
        lines.extend(l.styled(detail, Weight::Regular, 8.5, GREY, company_w)?);
    }
    if !lines.is_empty() {
        l.place(&Row {
            cells: vec![Cell {
                x: company_x,
                width: company_w,
                right: false,
                lines,
            }],
            pad_top: 0.0,
            pad_bottom: 0.0,
            background: None,
            rule_below: false,
        })?;
    }
    if l.pages.len() == 1 {
        l.y = l.y.max(logo_bottom);
    }
    l.fresh = false;
    l.gap(4.0 * MM);
    let accent = l.accent;
    let y = l.y;
    l.rect(MARGIN_X, y, CONTENT_W, 1.0, accent);
    l.gap(5.0 * MM);

    // The header text here on the first page, at the top of the later ones.
    if !header.is_empty() {
        l.place(&Row {
            cells: vec![Cell {
                x: MARGIN_X,
                width: CONTENT_W,
                right: false,
                lines: header.clone(),
            }],
            pad_top: 0.0,
            pad_bottom: 0.0,
            background: None,
            rule_below: false,
        })?;
        l.gap(4.0 * MM);
    }
    l.running_header = header;

    // The title and the meta pairs.
    let title = l.styled(&doc.title, Weight::Bold, 16.0, accent, CONTENT_W)?;
    if !title.is_empty() {
        let row = Row {
            cells: vec![Cell {
                x: MARGIN_X,
                width: CONTENT_W,
                right: false,
                lines: title,
            }],
            pad_top: 0.0,
            pad_bottom: 2.0 * MM,
            background: None,
            rule_below: false,
        };
        // With room for a line after it, so the title does not end a page.
        l.keep(row.height() + 12.0)?;
        l.place(&row)?;
    }
    if !doc.meta.is_empty() {
        let mut label_w: f32 = 0.0;
        for (label, _) in &doc.meta {
            let w = l.shaper.line(Weight::Regular, label)?.width(9.0);
            label_w = label_w.max(w);
        }
        let label_w = (label_w + 1.0).min(CONTENT_W * 0.4);
        let value_x = MARGIN_X + label_w + 4.0 * MM;
        let value_w = MARGIN_X + CONTENT_W - value_x;
        for (label, value) in &doc.meta {
            let row = Row {
                cells: vec![
                    Cell {
                        x: MARGIN_X,
                        width: label_w,
                        right: false,
                        lines: l.styled(label, Weight::Regular, 9.0, GREY, label_w)?,
                    },
                    Cell {
                        x: value_x,
                        width: value_w,
                        right: false,
                        lines: l.styled(value, Weight::Regular, 9.0, DARK, value_w)?,
                    },
                ],
                pad_top: 0.4 * MM,
                pad_bottom: 0.4 * MM,
                background: None,
                rule_below: false,
            };
            l.keep(row.height())?;
            l.place(&row)?;
        }
    }
    l.gap(5.0 * MM);

    // The parties, three to a row.
    for group in doc.parties.chunks(3) {
        let gap = 6.0 * MM;
        let n = group.len().max(1) as f32;
        let w = (CONTENT_W - gap * (n - 1.0)) / n;
        let mut cells = Vec::new();
        for (i, party) in group.iter().enumerate() {
            let x = MARGIN_X + i as f32 * (w + gap);
            let mut lines = l.styled(&party.heading, Weight::Bold, 8.5, accent, w)?;
            for line in &party.lines {
                lines.extend(l.styled(line, Weight::Regular, 9.0, DARK, w)?);
            }
            cells.push(Cell {
                x,
                width: w,
                right: false,
                lines,
            });
        }
        let row = Row {
            cells,
            pad_top: 0.0,
            pad_bottom: 0.0,
            background: None,
            rule_below: false,
        };
        l.keep(row.height())?;
        l.place(&row)?;
        l.gap(5.0 * MM);
    }

    // The table.
    if !doc.columns.is_empty() {
        let total: f32 = doc.columns.iter().map(|c| c.width).sum();
        let mut x = MARGIN_X;
        let mut geometry = Vec::with_capacity(doc.columns.len());
        for (i, column) in doc.columns.iter().enumerate() {
            let w = CONTENT_W * (column.width / total);
            let inner = w - 2.0 * CELL_PAD_X;
            if inner.is_nan() || inner < MIN_CELL_W {
                return Err(PdfError::ColumnTooNarrow {
                    column: i + 1,
                    title: column.title.clone(),
                });
            }
            geometry.push((x + CELL_PAD_X, inner, column.align_right));
            x += w;
        }
        let head_colour = if is_light(accent) { DARK } else { WHITE };
        let mut cells = Vec::with_capacity(doc.columns.len());
        for (column, &(x, w, right)) in doc.columns.iter().zip(&geometry) {
            cells.push(Cell {
                x,
                width: w,
                right,
                lines: l.styled(&column.title, Weight::Bold, 8.0, head_colour, w)?,
            });
        }
        let head = Row {
            cells,
            pad_top: 1.6 * MM,
            pad_bottom: 1.6 * MM,
            background: Some(accent),
            rule_below: false,
        };
        if head.height() > (l.bottom - MARGIN_TOP - l.running_header_height()) / 3.0 {
            return Err(PdfError::DoesNotFit("table header"));
        }
        let mut first = true;
        for cells_text in &doc.rows {
            let mut cells = Vec::with_capacity(cells_text.len());
            for (text, &(x, w, right)) in cells_text.iter().zip(&geometry) {
                cells.push(Cell {
                    x,
                    width: w,
                    right,
                    lines: l.styled(text, Weight::Regular, 8.5, DARK, w)?,
                });
            }
            let row = Row {
                cells,
                pad_top: 1.3 * MM,
                pad_bottom: 1.3 * MM,
                background: None,
                rule_below: true,
            };
            if first {
                // The header stays with the first row.
                l.keep(head.height() + row.height())?;
                l.place(&head)?;
                l.table_header = Some(head.clone());
                first = false;
            }
            l.keep(row.height())?;
            l.place(&row)?;
        }
        if first {
            l.keep(head.height())?;
            l.place(&head)?;
        }
        l.table_header = None;
        l.gap(4.0 * MM);
    }

    // The totals, right-aligned and kept together.
    if !doc.totals.is_empty() {
        let block_x = MARGIN_X + CONTENT_W * 0.45;
        let block_w = CONTENT_W * 0.55;
        let label_w = block_w * 0.6 - CELL_PAD_X * 2.0;
        let value_w = block_w * 0.4 - CELL_PAD_X * 2.0;
        let mut rows = Vec::with_capacity(doc.totals.len());
        for (i, (label, value)) in doc.totals.iter().enumerate() {
            let last = i + 1 == doc.totals.len();
            let (weight, size, colour) = if last {
                (Weight::Bold, 10.0, DARK)
            } else {
                (Weight::Regular, 9.0, DARK)
            };
            let label_colour = if last { DARK } else { GREY };
            rows.push(Row {
                cells: vec![
                    Cell {
                        x: block_x + CELL_PAD_X,
                        width: label_w,
                        right: true,
                        lines: l.styled(label, weight, size, label_colour, label_w)?,
                    },
                    Cell {
                        x: block_x + block_w * 0.6 + CELL_PAD_X,
                        width: value_w,
                        right: true,
                        lines: l.styled(value, weight, size, colour, value_w)?,
                    },
                ],
                pad_top: if last { 1.6 * MM } else { 0.6 * MM },
                pad_bottom: 0.6 * MM,
                background: None,
                rule_below: false,
            });
        }
        let height: f32 = rows.iter().map(Row::height).sum();
        l.keep(height)?;
        let count = rows.len();
        for (i, row) in rows.iter().enumerate() {
            if i + 1 == count {
                l.keep(row.height())?;
                let y = l.y + 0.6 * MM;
                l.rect(block_x, y, block_w, 1.0, accent);
            }
            l.place(row)?;
        }
        l.gap(6.0 * MM);
    }

    // The notes.
    l.paragraph(&doc.notes, Weight::Regular, 9.0, DARK)?;

    Ok(LaidOut {
        pages: l.pages,
        footer,
        footer_top,
        bottom: l.bottom,
    })
}

fn fill(colour: Rgb) -> Fill {
    Fill {
        paint: rgb::Color::new(colour.0, colour.1, colour.2).into(),
        opacity: NormalizedF32::ONE,
        rule: Default::default(),
    }
}

/// Draws the laid-out pages with the footer and the page label on each.
fn draw(laid: &LaidOut, input: &Input<'_>) -> Result<Vec<u8>, PdfError> {
    let LaidOut {
        pages: laid_pages,
        footer,
        footer_top,
        ..
    } = laid;
    let footer_top = *footer_top;
    let regular = face(Weight::Regular)?;
    let bold = face(Weight::Bold)?;
    let mut shaper = Shaper::new();
    let pages = laid_pages.len();
    let settings = PageSettings::from_wh(PAGE_W, PAGE_H)
        .ok_or_else(|| PdfError::Pdf("bad page size".into()))?;
    let mut pdf = PdfDocument::new();
    let mut metadata = Metadata::new().creator("Hamkor".to_string());
    if !input.doc.title.trim().is_empty() {
        metadata = metadata.title(input.doc.title.clone());
    }
    pdf.set_metadata(metadata);
    for (index, ops) in laid_pages.iter().enumerate() {
        let mut page = pdf.start_page_with(settings.clone());
        let mut surface = page.surface();
        let text = |surface: &mut krilla::surface::Surface<'_>,
                    x: f32,
                    baseline: f32,
                    line: &ShapedLine,
                    weight: Weight,
                    size: f32,
                    colour: Rgb| {
            let font = match weight {
                Weight::Regular => regular.font.clone(),
                Weight::Bold => bold.font.clone(),
            };
            surface.set_fill(Some(fill(colour)));
            surface.draw_glyphs(
                Point::from_xy(x, baseline),
                line.glyphs.as_slice(),
                font,
                &line.text,
                size,
                false,
            );
        };
        let rect = |surface: &mut krilla::surface::Surface<'_>, r: Option<Rect>, c: Rgb| {
            let Some(r) = r else { return };
            let mut path = PathBuilder::new();
            path.push_rect(r);
            if let Some(path) = path.finish() {
                surface.set_fill(Some(fill(c)));
                surface.draw_path(&path);
            }
        };
        for op in ops {
            match op {
                Op::Text {
                    x,
                    baseline,
                    line,
                    bounds: _,
                    weight,
                    size,
                    colour,
                } => text(&mut surface, *x, *baseline, line, *weight, *size, *colour),
                Op::Rect { x, y, w, h, colour } => {
                    rect(&mut surface, Rect::from_xywh(*x, *y, *w, *h), *colour)
                }
                Op::Logo { x, y, w, h } => {
                    if let (Some(image), Some(size)) = (&input.logo, Size::from_wh(*w, *h)) {
                        surface.push_transform(&Transform::from_translate(*x, *y));
                        surface.draw_image(image.clone(), size);
                        surface.pop();
                    }
                }
            }
        }

        // The footer: a rule, the text on the left, the page label on the right.
        rect(
            &mut surface,
            Rect::from_xywh(MARGIN_X, footer_top - 2.0 * MM, CONTENT_W, 0.5),
            RULE,
        );
        let mut top = footer_top;
        let mut first_baseline = None;
        for line in footer {
            let baseline = top
                + (line.height - line.size * (regular.ascent + regular.descent)) / 2.0
                + line.size * regular.ascent;
            first_baseline.get_or_insert(baseline);
            text(
                &mut surface,
                MARGIN_X,
                baseline,
                &line.line,
                line.weight,
                line.size,
                line.colour,
            );
            top += line.height;
        }
        if !input.doc.page_label.is_empty() {
            let values = BTreeMap::from([
                ("page".to_string(), (index + 1).to_string()),
                ("pages".to_string(), pages.to_string()),
            ]);
            let label = template::fill("page label", &input.doc.page_label, &values)?;
            let line = shaper.line(Weight::Regular, &label)?;
            let size = 7.5;
            let baseline = first_baseline.unwrap_or(
                footer_top
                    + (line_height(size) - size * (regular.ascent + regular.descent)) / 2.0
                    + size * regular.ascent,
            );
            let x = MARGIN_X + CONTENT_W - line.width(size);
            text(
                &mut surface,
                x,
                baseline,
                &line,
                Weight::Regular,
                size,
                GREY,
            );
        }
        surface.finish();
        page.finish();
    }
    pdf.finish().map_err(|e| match e {
        krilla::error::KrillaError::Image(_, _, message) => PdfError::BadLogo(message),
        other => PdfError::Pdf(other.to_string()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Column;

    fn input<'a>(company: &'a Company, doc: &'a Document) -> Input<'a> {
        Input {
            company,
            doc,
            header: "Header text {not a placeholder here}",
            footer: "Footer",
            accent: Rgb(0x1f, 0x6f, 0xeb),
            logo: None,
        }
    }

    fn doc(rows: Vec<Vec<String>>) -> Document {
        Document {
            title: "Invoice".into(),
            columns: vec![
                Column {
                    title: "Name".into(),
                    align_right: false,
                    width: 4.0,
                },
                Column {
                    title: "Amount".into(),
                    align_right: true,
                    width: 1.0,
                },
            ],
            rows,
            totals: vec![("Total".into(), "1.00".into())],
            notes: "Notes".into(),
            page_label: "{page}/{pages}".into(),
            ..Document::default()
        }
    }

    /// Every line of text stays inside its box, on the page and above the footer.
    fn check_bounds(laid: &LaidOut) {
        for ops in &laid.pages {
            for op in ops {
                if let Op::Text {
                    x,
                    baseline,
                    bounds,
                    line,
                    size,
                    ..
                } = op
                {
                    let right = x + line.width(*size);
                    assert!(
                        *x >= bounds.0 - 0.01,
                        "{:?} starts left of its box",
                        line.text
                    );
                    assert!(
                        right <= bounds.1 + 0.01,
                        "{:?} runs over its box",
                        line.text
                    );
                    assert!(*x >= MARGIN_X - 0.01 && right <= MARGIN_X + CONTENT_W + 0.01);
                    assert!(
                        *baseline <= laid.bottom,
                        "{:?} runs into the footer",
                        line.text
                    );
                }
            }
        }
    }

    #[test]
    fn long_cells_wrap_inside_their_columns() {
        let long = "Kabel-kanal 100×60 mm oq rangli, ".repeat(8) + &"Ш".repeat(120);
        let amount = "1234567890".repeat(6);
        let company = Company::default();
        let d = doc(vec![vec![long.clone(), amount.clone()]; 40]);
        let laid = lay_out(&input(&company, &d)).unwrap();
        assert!(laid.pages.len() > 1);
        check_bounds(&laid);
        // The amount column's lines are right-aligned: they end at the column's edge.
        let amount_lines: Vec<_> = laid.pages[0]
            .iter()
            .filter_map(|op| match op {
                Op::Text {
                    x,
                    bounds,
                    line,
                    size,
                    ..
                } if line.text.starts_with(char::is_numeric) && bounds.0 > MARGIN_X + 100.0 => {
                    Some((x + line.width(*size), bounds.1))
                }
                _ => None,
            })
            .collect();
        assert!(!amount_lines.is_empty());
        for (end, edge) in amount_lines {
            assert!((end - edge).abs() < 0.01);
        }
    }

    #[test]
    fn rows_taller_than_a_page_split_and_stay_in_bounds() {
        let tall = (0..200).map(|i| format!("line {i}")).collect::<Vec<_>>();
        let company = Company::default();
        let d = doc(vec![
            vec!["short".into(), "1".into()],
            vec![tall.join("\n"), "2".into()],
        ]);
        let laid = lay_out(&input(&company, &d)).unwrap();
        assert!(laid.pages.len() >= 3);
        check_bounds(&laid);
    }
}
