//! Fonts, shaping and line breaking.
//!
//! Text is shaped here with rustybuzz (the engine krilla itself uses) and handed to krilla as
//! ready glyphs, so the width a line is measured at is exactly the width it is drawn at. The
//! fonts are DejaVu Sans and DejaVu Sans Bold from the `dejavu` crate, parsed once per
//! process.

use std::ops::Range;
use std::sync::OnceLock;

use krilla::text::{Font, GlyphId, KrillaGlyph};
use rustybuzz::{Direction, Script, ShapePlan, UnicodeBuffer};

use crate::PdfError;

/// Which of the two faces a piece of text is set in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Weight {
    Regular,
    Bold,
}

/// One parsed face: the krilla font to embed and the rustybuzz face to shape with.
pub(crate) struct Face {
    pub(crate) font: Font,
    shaper: rustybuzz::Face<'static>,
    units_per_em: f32,
    /// Ascender and descender (positive, below the baseline) in em.
    pub(crate) ascent: f32,
    pub(crate) descent: f32,
}

fn load(data: &'static [u8]) -> Option<Face> {
    let shaper = rustybuzz::Face::from_slice(data, 0)?;
    let units_per_em = shaper.units_per_em() as f32;
    if units_per_em <= 0.0 {
        return None;
    }
    let ascent = f32::from(shaper.ascender()) / units_per_em;
    let descent = -f32::from(shaper.descender()) / units_per_em;
    let font = Font::new(data.into(), 0)?;
    Some(Face {
        font,
        shaper,
        units_per_em,
        ascent,
        descent,
    })
}

/// The face for a weight, parsed on first use and kept for the life of the process.
pub(crate) fn face(weight: Weight) -> Result<&'static Face, PdfError> {
    static REGULAR: OnceLock<Option<Face>> = OnceLock::new();
    static BOLD: OnceLock<Option<Face>> = OnceLock::new();
    let cell = match weight {
        Weight::Regular => &REGULAR,
        Weight::Bold => &BOLD,
    };
    cell.get_or_init(|| {
        load(match weight {
            Weight::Regular => dejavu::sans::regular(),
            Weight::Bold => dejavu::sans::bold(),
        })
    })
    .as_ref()
    .ok_or_else(|| PdfError::Pdf("the bundled DejaVu font could not be read".into()))
}

/// A line ready to draw: its text, its glyphs (advances in em, text ranges into `text`) and
/// its width in em.
#[derive(Clone, Debug)]
pub(crate) struct ShapedLine {
    pub(crate) text: String,
    pub(crate) glyphs: Vec<KrillaGlyph>,
    pub(crate) width_em: f32,
}

impl ShapedLine {
    pub(crate) fn width(&self, size: f32) -> f32 {
        self.width_em * size
    }
}

/// One glyph as shaped: id, advance and offsets in em, and the byte range of its cluster.
#[derive(Clone, Debug)]
struct Shaped {
    id: u32,
    advance: f32,
    x_offset: f32,
    y_offset: f32,
    range: Range<usize>,
}

/// A shaper for one render: keeps the shaping plans per face and script, and a buffer.
pub(crate) struct Shaper {
    plans: Vec<(Weight, Script, ShapePlan)>,
    buffer: Option<UnicodeBuffer>,
}

/// Replaces tabs by spaces and drops control characters other than the newline, which a
/// font cannot draw.
fn clean(text: &str) -> std::borrow::Cow<'_, str> {
    if text.chars().all(|c| c == '\n' || !c.is_control()) {
        return std::borrow::Cow::Borrowed(text);
    }
    std::borrow::Cow::Owned(
        text.chars()
            .filter_map(|c| match c {
                '\t' => Some(' '),
                '\n' => Some('\n'),
                c if c.is_control() => None,
                c => Some(c),
            })
            .collect(),
    )
}

impl Shaper {
    pub(crate) fn new() -> Self {
        Shaper {
            plans: Vec::new(),
            buffer: None,
        }
    }

    /// Shapes one paragraph (no line breaks in it) left to right.
    fn shape(&mut self, face: &Face, weight: Weight, text: &str) -> Vec<Shaped> {
        if text.is_empty() {
            return Vec::new();
        }
        let mut buffer = self.buffer.take().unwrap_or_default();
        buffer.push_str(text);
        buffer.set_direction(Direction::LeftToRight);
        buffer.guess_segment_properties();
        let script = buffer.script();
        let index = match self
            .plans
            .iter()
            .position(|(w, s, _)| *w == weight && *s == script)
        {
            Some(index) => index,
            None => {
                let plan = ShapePlan::new(
                    &face.shaper,
                    Direction::LeftToRight,
                    Some(script),
                    None,
                    &[],
                );
                self.plans.push((weight, script, plan));
                self.plans.len() - 1
            }
        };
        let output = rustybuzz::shape_with_plan(&face.shaper, &self.plans[index].2, buffer);
        let infos = output.glyph_infos();
        let positions = output.glyph_positions();
        let upem = face.units_per_em;
        let mut glyphs = Vec::with_capacity(infos.len());
        for (i, (info, pos)) in infos.iter().zip(positions).enumerate() {
            let start = (info.cluster as usize).min(text.len());
            // Left to right, clusters only grow: the cluster ends where the next one starts.
            let end = infos[i + 1..]
                .iter()
                .map(|next| next.cluster as usize)
                .find(|&c| c != info.cluster as usize)
                .unwrap_or(text.len())
                .clamp(start, text.len());
            glyphs.push(Shaped {
                id: info.glyph_id,
                advance: pos.x_advance as f32 / upem,
                x_offset: pos.x_offset as f32 / upem,
                y_offset: pos.y_offset as f32 / upem,
                range: start..end,
            });
        }
        self.buffer = Some(output.clear());
        glyphs
    }

    /// Shapes `text` as one line, however long.
    pub(crate) fn line(&mut self, weight: Weight, text: &str) -> Result<ShapedLine, PdfError> {
        let face = face(weight)?;
        let text = clean(text).replace('\n', " ");
        let glyphs = self.shape(face, weight, &text);
        Ok(to_line(&text, &glyphs, 0..glyphs.len()))
    }

    /// Breaks `text` into lines no wider than `max_width` points at `size`: at newlines, at
    /// spaces, after a hyphen or slash, and inside a word that is wider than a line by
    /// itself. An empty text gives no lines; an empty paragraph inside a text gives an empty
    /// line.
    pub(crate) fn wrap(
        &mut self,
        weight: Weight,
        text: &str,
        size: f32,
        max_width: f32,
    ) -> Result<Vec<ShapedLine>, PdfError> {
        let face = face(weight)?;
        let text = clean(text);
        let text = text.trim_end_matches('\n');
        let mut lines = Vec::new();
        if text.is_empty() {
            return Ok(lines);
        }
        // In em, so the comparisons below need no size.
        let max = (max_width / size).max(0.0);
        for paragraph in text.split('\n') {
            let paragraph = paragraph.trim_end();
            let glyphs = self.shape(face, weight, paragraph);
            if glyphs.is_empty() {
                lines.push(ShapedLine {
                    text: String::new(),
                    glyphs: Vec::new(),
                    width_em: 0.0,
                });
                continue;
            }
            for range in break_lines(paragraph, &glyphs, max) {
                lines.push(to_line(paragraph, &glyphs, range));
            }
        }
        Ok(lines)
    }
}

/// A space a line may break at: not a no-break space (U+00A0, U+2007, U+202F), which
/// keeps `1 234 567.89` on one line.
fn is_space(text: &str, glyph: &Shaped) -> bool {
    text[glyph.range.clone()]
        .chars()
        .all(|c| c.is_whitespace() && !matches!(c, '\u{a0}' | '\u{2007}' | '\u{202f}'))
        && !glyph.range.is_empty()
}

/// May a line end after this glyph (which is not a space)?
fn breaks_after(text: &str, glyph: &Shaped) -> bool {
    matches!(text[glyph.range.clone()].chars().last(), Some('-' | '/'))
}

/// Greedy line breaking over shaped glyphs; returns glyph ranges, trailing spaces dropped.
fn break_lines(text: &str, glyphs: &[Shaped], max: f32) -> Vec<Range<usize>> {
    let mut lines = Vec::new();
    let n = glyphs.len();
    let mut i = 0;
    // Leading spaces of a paragraph are kept (they may be deliberate indentation).
    let mut line_start = 0;
    let mut line_end = 0; // end of the glyphs accepted on the current line (no trailing spaces)
    let mut width = 0.0f32; // width of glyphs line_start..line_end
    while i < n {
        // Spaces after the accepted part of the line: they count only if a word follows.
        let mut spaces = 0.0;
        let mut j = i;
        while j < n && is_space(text, &glyphs[j]) {
            spaces += glyphs[j].advance;
            j += 1;
        }
        if j == n {
            break;
        }
        // The next word: up to and including a glyph after which a line may end.
        let word_start = j;
        let mut word = 0.0;
        while j < n && !is_space(text, &glyphs[j]) {
            word += glyphs[j].advance;
            j += 1;
            if breaks_after(text, &glyphs[j - 1]) && j < n && !is_space(text, &glyphs[j]) {
                break;
            }
        }
        let empty_line = line_end == line_start;
        if empty_line && spaces + word > max {
            // Leading spaces that do not fit with the word are dropped.
            line_start = word_start;
            spaces = 0.0;
        }
        if width + spaces + word <= max {
            width += spaces + word;
            line_end = j;
            i = j;
            continue;
        }
        if empty_line {
            // A word wider than a line on its own: break it between clusters, keeping a
            // modifier letter with the letter before it.
            let mut start = word_start;
            let mut w = 0.0;
            let mut k = word_start;
            let (mut prev, mut prev_w) = (word_start, 0.0);
            while k < j {
                let end = cluster_end(glyphs, k);
                let cw: f32 = glyphs[k..end].iter().map(|g| g.advance).sum();
                if w + cw > max && k > start {
                    if is_modifier(text, &glyphs[k]) && prev > start {
                        lines.push(start..prev);
                        start = prev;
                        w = prev_w;
                    } else {
                        lines.push(start..k);
                        start = k;
                        w = 0.0;
                    }
                }
                w += cw;
                (prev, prev_w) = (k, cw);
                k = end;
            }
            line_start = start;
            line_end = j;
            width = w;
            i = j;
            continue;
        }
        // Does not fit: close this line, the word starts the next one.
        lines.push(line_start..line_end);
        line_start = word_start;
        line_end = word_start;
        width = 0.0;
        i = word_start;
    }
    if line_end > line_start || lines.is_empty() {
        lines.push(line_start..line_end);
    }
    lines
}

/// A spacing modifier letter such as the Uzbek ʻ and ʼ, which stays with the letter before
/// it when a word is broken.
fn is_modifier(text: &str, glyph: &Shaped) -> bool {
    matches!(
        text[glyph.range.clone()].chars().next(),
        Some('\u{02b0}'..='\u{02ff}')
    )
}

/// The end of the cluster that glyph `k` starts (combining marks stay with their base).
fn cluster_end(glyphs: &[Shaped], k: usize) -> usize {
    let mut end = k + 1;
    while end < glyphs.len() && glyphs[end].range.start == glyphs[k].range.start {
        end += 1;
    }
    end
}

fn to_line(text: &str, glyphs: &[Shaped], range: Range<usize>) -> ShapedLine {
    let glyphs = &glyphs[range];
    let (Some(first), Some(last)) = (glyphs.first(), glyphs.last()) else {
        return ShapedLine {
            text: String::new(),
            glyphs: Vec::new(),
            width_em: 0.0,
        };
    };
    let start = first.range.start;
    let end = glyphs
        .iter()
        .map(|g| g.range.end)
        .max()
        .unwrap_or(last.range.end)
        .max(start);
    let mut width_em = 0.0;
    let out = glyphs
        .iter()
        .map(|g| {
            width_em += g.advance;
            KrillaGlyph::new(
                GlyphId::new(g.id),
                g.advance,
                g.x_offset,
                g.y_offset,
                0.0,
                g.range.start - start..g.range.end - start,
                None,
            )
        })
        .collect();
    ShapedLine {
        text: text[start..end].to_string(),
        glyphs: out,
        width_em,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wrap(text: &str, size: f32, max: f32) -> Vec<ShapedLine> {
        Shaper::new()
            .wrap(Weight::Regular, text, size, max)
            .unwrap()
    }

    fn texts(lines: &[ShapedLine]) -> Vec<&str> {
        lines.iter().map(|l| l.text.as_str()).collect()
    }

    #[test]
    fn breaks_at_spaces_and_keeps_every_word() {
        let text = "Oʻrindiq “Comfort” qora rang, Счёт на оплату № 17 — «Рога и копыта»";
        for max in [40.0, 60.0, 90.0, 150.0, 400.0] {
            let lines = wrap(text, 9.0, max);
            for line in &lines {
                assert!(
                    line.width(9.0) <= max + 1e-3,
                    "{:?} wider than {max}",
                    line.text
                );
                assert!(!line.text.starts_with(' ') && !line.text.ends_with(' '));
            }
            // Nothing is lost; where no word is wider than the line, words stay whole.
            let squash = |s: &str| s.replace(' ', "");
            assert_eq!(squash(&texts(&lines).concat()), squash(text));
            if max >= 90.0 {
                assert_eq!(texts(&lines).join(" "), text);
            }
        }
        assert_eq!(texts(&wrap(text, 9.0, 1000.0)), vec![text]);
    }

    #[test]
    fn no_break_spaces_keep_a_number_whole() {
        let amount = "3\u{a0}850\u{a0}000.00 2\u{202f}500";
        let whole = wrap(amount, 9.0, 1000.0)[0].width(9.0);
        // Room for the first number but not both: it stays whole on its line.
        let lines = wrap(amount, 9.0, whole - 1.0);
        assert_eq!(
            texts(&lines),
            vec!["3\u{a0}850\u{a0}000.00", "2\u{202f}500"]
        );
    }

    #[test]
    fn long_words_are_broken_within_the_width() {
        let word = "Oʻzbekistonning".repeat(6);
        let lines = wrap(&word, 9.0, 50.0);
        assert!(lines.len() > 5);
        for line in &lines {
            assert!(line.width(9.0) <= 50.0 + 1e-3);
            assert!(!line.text.starts_with('ʻ'), "ʻ split from its letter");
        }
        assert_eq!(texts(&lines).concat(), word);
    }

    #[test]
    fn hyphens_and_slashes_are_break_points() {
        let lines = wrap("aaaa-bbbb/cccc", 10.0, 40.0);
        assert_eq!(texts(&lines), vec!["aaaa-", "bbbb/", "cccc"]);
    }

    #[test]
    fn newlines_empty_paragraphs_and_control_characters() {
        assert!(wrap("", 9.0, 100.0).is_empty());
        assert!(wrap("\n", 9.0, 100.0).is_empty());
        assert_eq!(
            texts(&wrap("one\n\ntwo\tthree\u{7}\r", 9.0, 300.0)),
            vec!["one", "", "two three"]
        );
    }

    #[test]
    fn ranges_point_into_the_line_text() {
        for line in wrap("Gʻalla «Oʻzbekiston» ёлка", 9.0, 60.0) {
            for g in &line.glyphs {
                assert!(g.text_range.end <= line.text.len());
                assert!(line.text.is_char_boundary(g.text_range.start));
                assert!(line.text.is_char_boundary(g.text_range.end));
            }
        }
    }
}
