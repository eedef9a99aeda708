//! Renders documents and reads the PDFs back with lopdf, an independent reader.

use std::collections::BTreeMap;

use hamkor_pdf::{
    Column, Company, Document, MAX_PAGES, MAX_ROWS, Party, PdfError, Template, check_template,
    render,
};

/// A small RGBA gradient PNG, made here rather than shipped as a file.
fn logo_png(width: u32, height: u32) -> Vec<u8> {
    let mut out = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut out, width, height);
        encoder.set_color(png::ColorType::Rgba);
        encoder.set_depth(png::BitDepth::Eight);
        let mut writer = encoder.write_header().unwrap();
        let pixels: Vec<u8> = (0..width * height)
            .flat_map(|i| {
                let (x, y) = (i % width, i / width);
                [
                    (x * 255 / width) as u8,
                    (y * 255 / height) as u8,
                    0x90,
                    0xff,
                ]
            })
            .collect();
        writer.write_image_data(&pixels).unwrap();
    }
    out
}

fn company() -> Company {
    Company {
        name: "«Hamkor Savdo» MChJ".into(),
        details: vec![
            "Toshkent sh., Chilonzor tumani, Bunyodkor koʻchasi 12".into(),
            "STIR 301234567 · H/r 2020 8000 9051 2345 6789".into(),
            "+998 71 200 00 00 · info@hamkor.example".into(),
        ],
        logo: Some(logo_png(120, 60)),
    }
}

fn template() -> Template {
    Template {
        header: "{company.name} — {document.number}".into(),
        footer: "Hujjat {document.number}, mijoz {client.name}. Rahmat! {{copy}}".into(),
        accent: "#1f6feb".into(),
    }
}

fn values() -> BTreeMap<String, String> {
    [
        ("company.name", "«Hamkor Savdo» MChJ"),
        ("document.number", "2026-000017"),
        ("client.name", "ООО «Рога и копыта»"),
        ("document.date", "28.11.2026"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

fn columns() -> Vec<Column> {
    vec![
        Column {
            title: "№".into(),
            align_right: true,
            width: 0.6,
        },
        Column {
            title: "Наименование".into(),
            align_right: false,
            width: 5.0,
        },
        Column {
            title: "Кол-во".into(),
            align_right: true,
            width: 1.2,
        },
        Column {
            title: "Цена".into(),
            align_right: true,
            width: 1.8,
        },
        Column {
            title: "Сумма".into(),
            align_right: true,
            width: 2.0,
        },
    ]
}

fn invoice(rows: usize) -> Document {
    Document {
        title: "Счёт № 2026-000017".into(),
        meta: vec![
            ("Дата".into(), "28.11.2026".into()),
            ("Toʻlov muddati".into(), "05.12.2026".into()),
            ("Валюта".into(), "UZS".into()),
        ],
        parties: vec![
            Party {
                heading: "Sotuvchi".into(),
                lines: vec!["«Hamkor Savdo» MChJ".into(), "Gʻijduvon koʻchasi 5".into()],
            },
            Party {
                heading: "Покупатель".into(),
                lines: vec![
                    "ООО «Рога и копыта»".into(),
                    "г. Ташкент, ул. Навои, 1".into(),
                ],
            },
        ],
        columns: columns(),
        rows: (1..=rows)
            .map(|i| {
                vec![
                    i.to_string(),
                    format!("Item {i:03} — Oʻrindiq “Comfort” qora rang"),
                    "2".into(),
                    "600 000.00".into(),
                    "1 200 000.00".into(),
                ]
            })
            .collect(),
        totals: vec![
            ("Итого без НДС".into(), "1 200 000.00".into()),
            ("НДС 12%".into(), "144 000.00".into()),
            ("Jami toʻlov".into(), "1 344 000.00".into()),
        ],
        notes: "Toʻlov bank oʻtkazmasi orqali.\nОплата в течение 7 дней.".into(),
        page_label: "Sahifa {page} / {pages}".into(),
    }
}

struct Read {
    pages: Vec<String>,
}

/// Parses the PDF with lopdf and extracts each page's text.
fn read(pdf: &[u8]) -> Read {
    assert!(pdf.starts_with(b"%PDF-"));
    let doc = lopdf::Document::load_mem(pdf).expect("lopdf parses the PDF");
    let numbers: Vec<u32> = doc.get_pages().keys().copied().collect();
    let pages = numbers
        .iter()
        .map(|&n| doc.extract_text(&[n]).expect("text extracts"))
        .collect();
    Read { pages }
}

/// Text with the line breaks the extractor puts between pieces removed.
fn squash(s: &str) -> String {
    s.replace('\n', "")
}

#[test]
fn small_invoice_with_cyrillic_uzbek_latin_and_logo() {
    let doc = invoice(3);
    let pdf = render(&company(), &doc, &template(), &values()).unwrap();
    let read = read(&pdf);
    assert_eq!(read.pages.len(), 1);
    let text = squash(&read.pages[0]);
    for expected in [
        "Счёт № 2026-000017",
        "«Hamkor Savdo» MChJ",
        "Bunyodkor koʻchasi 12",
        "Gʻijduvon koʻchasi 5",
        "Toʻlov muddati",
        "ООО «Рога и копыта»",
        "Наименование",
        "Oʻrindiq “Comfort” qora rang",
        "НДС 12%",
        "1 344 000.00",
        "Jami toʻlov",
        "Оплата в течение 7 дней.",
        // Header and footer with their placeholders filled, braces unescaped.
        "«Hamkor Savdo» MChJ — 2026-000017",
        "Hujjat 2026-000017, mijoz ООО «Рога и копыта». Rahmat! {copy}",
        "Sahifa 1 / 1",
    ] {
        assert!(text.contains(expected), "{expected:?} missing from {text}");
    }
    // The logo is embedded as an image XObject.
    let parsed = lopdf::Document::load_mem(&pdf).unwrap();
    let images = parsed
        .objects
        .values()
        .filter(|o| {
            o.as_stream().is_ok_and(|s| {
                s.dict
                    .get(b"Subtype")
                    .is_ok_and(|t| t.as_name().is_ok_and(|n| n == b"Image"))
            })
        })
        .count();
    assert!(images >= 1, "no image in the PDF");
    // The same input gives the same bytes (the logo comes from the kept ones the second time).
    assert_eq!(
        render(&company(), &doc, &template(), &values()).unwrap(),
        pdf
    );
}

#[test]
fn jpeg_logo_and_no_logo() {
    // A document renders without a logo, and a logo with the JPEG signature but nothing
    // readable after it is refused.
    let mut c = company();
    c.logo = None;
    assert!(render(&c, &invoice(1), &template(), &values()).is_ok());
    c.logo = Some(vec![0xff, 0xd8, 0xff, 0xe0, 0, 0, 1, 2, 3]);
    assert!(matches!(
        render(&c, &invoice(1), &template(), &values()),
        Err(PdfError::BadLogo(_))
    ));
}

#[test]
fn three_hundred_rows_run_over_pages_with_header_and_labels() {
    let doc = invoice(300);
    let pdf = render(&company(), &doc, &template(), &values()).unwrap();
    let read = read(&pdf);
    let n = read.pages.len();
    assert!(n >= 5, "only {n} pages for 300 rows");
    let mut seen = vec![0usize; 301];
    for (i, page) in read.pages.iter().enumerate() {
        let text = squash(page);
        assert!(
            text.contains(&format!("Sahifa {} / {n}", i + 1)),
            "page {} label missing: {text}",
            i + 1
        );
        assert!(
            text.contains("Наименование"),
            "page {} lacks the table header",
            i + 1
        );
        assert!(
            text.contains("Hujjat 2026-000017"),
            "page {} lacks the footer",
            i + 1
        );
        if i > 0 {
            assert!(
                text.contains("«Hamkor Savdo» MChJ — 2026-000017"),
                "page {} lacks the running header",
                i + 1
            );
        }
        for (row, count) in seen.iter_mut().enumerate().skip(1) {
            if text.contains(&format!("Item {row:03} ")) {
                *count += 1;
            }
        }
        let has_totals = text.contains("Jami toʻlov");
        assert_eq!(has_totals, i + 1 == n, "totals on page {}", i + 1);
    }
    // Every row is on exactly one page: page breaks fall between rows.
    assert!(
        seen[1..].iter().all(|&c| c == 1),
        "rows not once each: {seen:?}"
    );
}

#[test]
fn long_words_wrap_and_all_text_survives() {
    let mut doc = invoice(1);
    let word = "Oʻzbekistonning".repeat(12);
    doc.rows[0][1] = format!("Start {word} end");
    doc.rows[0][3] = "9".repeat(40);
    let pdf = render(&company(), &doc, &template(), &values()).unwrap();
    let read = read(&pdf);
    // The broken word is all there, in pieces on consecutive lines (which the extractor
    // joins with spaces), and the Uzbek ʻ stays with its letter.
    let text = read.pages.join("");
    assert!(
        text.replace([' ', '\n'], "").contains(&word),
        "the long word is not all there: {text}"
    );
    assert!(!text.contains("O ʻ") && !text.contains("O\nʻ"), "{text}");
    assert!(text.replace([' ', '\n'], "").contains(&"9".repeat(40)));
}

#[test]
fn a_cell_taller_than_a_page_continues_on_the_next() {
    let mut doc = invoice(2);
    doc.rows[0][1] = (1..=150)
        .map(|i| format!("Satr {i}"))
        .collect::<Vec<_>>()
        .join("\n");
    let pdf = render(&company(), &doc, &template(), &values()).unwrap();
    let read = read(&pdf);
    assert!(read.pages.len() >= 2);
    let all = read.pages.join("\n");
    for i in [1, 75, 150] {
        assert!(all.contains(&format!("Satr {i}")), "line {i} lost");
    }
}

#[test]
fn errors_name_the_problem() {
    let (c, t, v) = (company(), template(), values());

    // A logo that is not an image, and one that is a broken PNG.
    let mut bad = company();
    bad.logo = Some(b"GIF89a not really".to_vec());
    let err = render(&bad, &invoice(1), &t, &v).unwrap_err();
    assert!(matches!(err, PdfError::BadLogo(_)), "{err:?}");
    assert!(err.to_string().contains("logo"));
    let mut broken = logo_png(40, 20);
    broken.truncate(60);
    bad.logo = Some(broken);
    assert!(matches!(
        render(&bad, &invoice(1), &t, &v),
        Err(PdfError::BadLogo(_))
    ));
    let mut corrupt = logo_png(40, 20);
    let len = corrupt.len();
    // Damage the compressed pixels but keep the header readable.
    for b in &mut corrupt[len - 40..len - 16] {
        *b = 0x55;
    }
    assert!(matches!(
        render(&bad_logo(corrupt), &invoice(1), &t, &v),
        Err(PdfError::BadLogo(_))
    ));

    // A row with the wrong number of cells.
    let mut doc = invoice(3);
    doc.rows[1].pop();
    let err = render(&c, &doc, &t, &v).unwrap_err();
    assert_eq!(
        err,
        PdfError::RowCells {
            row: 2,
            expected: 5,
            found: 4
        }
    );
    assert_eq!(
        err.to_string(),
        "row 2 has 4 cells, but the table has 5 columns"
    );

    // Unknown placeholders, in the header, the footer and the page label.
    let mut t2 = template();
    t2.footer = "{company.name} {client.inn}".into();
    let err = render(&c, &invoice(1), &t2, &v).unwrap_err();
    assert_eq!(
        err,
        PdfError::UnknownPlaceholder {
            field: "footer",
            name: "client.inn".into()
        }
    );
    assert_eq!(
        err.to_string(),
        "unknown placeholder {client.inn} in the footer"
    );
    let mut doc = invoice(1);
    doc.page_label = "Page {page} of {total}".into();
    assert_eq!(
        render(&c, &doc, &t, &v).unwrap_err(),
        PdfError::UnknownPlaceholder {
            field: "page label",
            name: "total".into()
        }
    );

    // Bad colours.
    for colour in ["", "blue", "#12345", "#12345g", "1f6feb", "#1f6feb "] {
        let mut t3 = template();
        t3.accent = colour.into();
        let err = render(&c, &invoice(1), &t3, &v).unwrap_err();
        assert_eq!(err, PdfError::BadColour(colour.into()));
        assert!(err.to_string().contains("#rrggbb"));
    }

    // Column widths.
    let mut doc = invoice(1);
    doc.columns[2].width = 0.0;
    assert!(matches!(
        render(&c, &doc, &t, &v),
        Err(PdfError::BadColumnWidth { column: 3, .. })
    ));
    doc.columns[2].width = f32::NAN;
    assert!(matches!(
        render(&c, &doc, &t, &v),
        Err(PdfError::BadColumnWidth { column: 3, .. })
    ));
    doc.columns[2].width = 1000.0;
    assert!(matches!(
        render(&c, &doc, &t, &v),
        Err(PdfError::ColumnTooNarrow { column: 1, .. })
    ));

    // Absurd sizes: too many rows, too many pages, a footer that would fill the page.
    let mut doc = invoice(0);
    doc.rows = vec![vec![String::new(); 5]; MAX_ROWS + 1];
    assert_eq!(
        render(&c, &doc, &t, &v).unwrap_err(),
        PdfError::TooManyRows {
            rows: MAX_ROWS + 1,
            max: MAX_ROWS
        }
    );
    let mut doc = invoice(0);
    doc.notes = "x\n".repeat(40_000);
    assert_eq!(
        render(&c, &doc, &t, &v).err(),
        Some(PdfError::TooManyPages { max: MAX_PAGES })
    );
    let mut t4 = template();
    t4.footer = "line\n".repeat(20);
    assert!(matches!(
        render(&c, &invoice(1), &t4, &v),
        Err(PdfError::TooLong { what: "footer", .. })
    ));
}

fn bad_logo(bytes: Vec<u8>) -> Company {
    Company {
        logo: Some(bytes),
        ..company()
    }
}

#[test]
fn odd_input_does_not_panic() {
    let (c, t, v) = (company(), template(), values());
    // Empty everything.
    let empty = Document::default();
    let pdf = render(&Company::default(), &empty, &t, &v).unwrap();
    assert_eq!(read(&pdf).pages.len(), 1);
    // Control characters, tabs, empty cells, stray spaces, glyphs the font lacks.
    let mut doc = invoice(2);
    doc.rows[0] = vec![
        String::new(),
        "\tTab\u{0}bed\r\n\n  spaced  ".into(),
        " ".into(),
        "🦀 中文".into(),
        "\u{202f}1\u{00a0}000".into(),
    ];
    doc.notes = "\n\n".into();
    assert!(render(&c, &doc, &t, &v).is_ok());
    // A huge logo in pixels is refused before it is decoded.
    let mut big = logo_png(1, 1);
    // IHDR width lives at bytes 16..20; claim 100 000 pixels.
    big[16..20].copy_from_slice(&100_000u32.to_be_bytes());
    assert!(matches!(
        render(&bad_logo(big), &doc, &t, &v),
        Err(PdfError::BadLogo(_))
    ));
}

#[test]
fn check_template_cases() {
    let known = [
        "company.name",
        "document.number",
        "client.name",
        "document.date",
    ];
    let ok = |header: &str, footer: &str| Template {
        header: header.into(),
        footer: footer.into(),
        accent: "#1f6feb".into(),
    };
    assert_eq!(check_template(&template(), &known), Ok(()));
    assert_eq!(check_template(&ok("", ""), &known), Ok(()));
    assert_eq!(
        check_template(&ok("{{literal}} {document.date}", "}}{{"), &known),
        Ok(())
    );
    assert_eq!(
        check_template(&ok("{document.total}", ""), &known),
        Err(PdfError::UnknownPlaceholder {
            field: "header",
            name: "document.total".into()
        })
    );
    assert_eq!(
        check_template(&ok("", "Счёт {document.number"), &known),
        Err(PdfError::UnbalancedBrace {
            field: "footer",
            position: 6
        })
    );
    assert_eq!(
        check_template(&ok("a } b", ""), &known),
        Err(PdfError::UnbalancedBrace {
            field: "header",
            position: 3
        })
    );
    assert_eq!(
        check_template(&ok("{}", ""), &known),
        Err(PdfError::BadPlaceholder {
            field: "header",
            name: String::new()
        })
    );
    assert_eq!(
        check_template(&ok("{ company.name }", ""), &known),
        Err(PdfError::BadPlaceholder {
            field: "header",
            name: " company.name ".into()
        })
    );
    let err = check_template(&ok("{a{b}}", ""), &known).unwrap_err();
    assert!(matches!(err, PdfError::UnbalancedBrace { position: 1, .. }));
    assert!(err.to_string().contains("{{"), "{err}");
    let mut t = template();
    t.accent = "red".into();
    assert_eq!(
        check_template(&t, &known),
        Err(PdfError::BadColour("red".into()))
    );
    // Substituted values are plain text: braces in a value are not read again.
    let mut v = values();
    v.insert("client.name".into(), "{company.name} }{".into());
    let pdf = render(&company(), &invoice(1), &template(), &v).unwrap();
    assert!(squash(&read(&pdf).pages[0]).contains("mijoz {company.name} }{."));
}
