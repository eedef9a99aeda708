//! Placeholders in the editable header and footer: `{name}` is replaced by a value, `{{`
//! and `}}` stand for literal braces. Values are inserted as plain text and never read again
//! as a template.

use std::collections::BTreeMap;

use crate::PdfError;

#[derive(Debug, PartialEq, Eq)]
enum Piece<'a> {
    Text(String),
    Placeholder(&'a str),
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
}

/// Splits a template into text and placeholders; `field` names the template in errors.
fn parse<'a>(field: &'static str, template: &'a str) -> Result<Vec<Piece<'a>>, PdfError> {
    let mut pieces = Vec::new();
    let mut text = String::new();
    let mut chars = template.char_indices().enumerate().peekable();
    while let Some((position, (at, c))) = chars.next() {
        match c {
            '{' if matches!(chars.peek(), Some((_, (_, '{')))) => {
                chars.next();
                text.push('{');
            }
            '}' if matches!(chars.peek(), Some((_, (_, '}')))) => {
                chars.next();
                text.push('}');
            }
            '{' => {
                let rest = &template[at + 1..];
                let Some(close) = rest
                    .find(['{', '}'])
                    .filter(|&i| rest[i..].starts_with('}'))
                else {
                    return Err(PdfError::UnbalancedBrace {
                        field,
                        position: position + 1,
                    });
                };
                let name = &rest[..close];
                if !valid_name(name) {
                    return Err(PdfError::BadPlaceholder {
                        field,
                        name: name.to_string(),
                    });
                }
                // Skip the name and the closing brace.
                for _ in 0..name.chars().count() + 1 {
                    chars.next();
                }
                if !text.is_empty() {
                    pieces.push(Piece::Text(std::mem::take(&mut text)));
                }
                pieces.push(Piece::Placeholder(name));
            }
            '}' => {
                return Err(PdfError::UnbalancedBrace {
                    field,
                    position: position + 1,
                });
            }
            c => text.push(c),
        }
    }
    if !text.is_empty() {
        pieces.push(Piece::Text(text));
    }
    Ok(pieces)
}

/// Checks that a template is well formed and uses only the names in `known`.
pub(crate) fn check(field: &'static str, template: &str, known: &[&str]) -> Result<(), PdfError> {
    for piece in parse(field, template)? {
        if let Piece::Placeholder(name) = piece
            && !known.contains(&name)
        {
            return Err(PdfError::UnknownPlaceholder {
                field,
                name: name.to_string(),
            });
        }
    }
    Ok(())
}

/// Fills a template with `values`; a placeholder without a value is an error.
pub(crate) fn fill(
    field: &'static str,
    template: &str,
    values: &BTreeMap<String, String>,
) -> Result<String, PdfError> {
    let mut out = String::with_capacity(template.len());
    for piece in parse(field, template)? {
        match piece {
            Piece::Text(text) => out.push_str(&text),
            Piece::Placeholder(name) => match values.get(name) {
                Some(value) => out.push_str(value),
                None => {
                    return Err(PdfError::UnknownPlaceholder {
                        field,
                        name: name.to_string(),
                    });
                }
            },
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pieces() {
        assert_eq!(
            parse("header", "a {x.y} {{b}} c").unwrap(),
            vec![
                Piece::Text("a ".into()),
                Piece::Placeholder("x.y"),
                Piece::Text(" {b} c".into()),
            ]
        );
        assert_eq!(parse("header", "").unwrap(), vec![]);
        assert_eq!(
            parse("header", "{{{a}}}").unwrap(),
            vec![
                Piece::Text("{".into()),
                Piece::Placeholder("a"),
                Piece::Text("}".into())
            ]
        );
    }

    #[test]
    fn positions_count_characters() {
        assert_eq!(
            parse("footer", "Счёт {").unwrap_err(),
            PdfError::UnbalancedBrace {
                field: "footer",
                position: 6
            }
        );
        assert_eq!(
            parse("footer", "ab}c").unwrap_err(),
            PdfError::UnbalancedBrace {
                field: "footer",
                position: 3
            }
        );
        assert_eq!(
            parse("footer", "{a{b}").unwrap_err(),
            PdfError::UnbalancedBrace {
                field: "footer",
                position: 1
            }
        );
    }
}
