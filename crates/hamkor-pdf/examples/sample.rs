//! Writes a sample invoice to the path given (default `sample.pdf`), to look at:
//! `cargo run -p hamkor-pdf --example sample -- /tmp/sample.pdf [rows]`.

use std::collections::BTreeMap;

use hamkor_pdf::{Column, Company, Document, Party, Template, render};

fn logo() -> Vec<u8> {
    let (w, h) = (160u32, 64u32);
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, w, h);
    encoder.set_color(png::ColorType::Rgba);
    encoder.set_depth(png::BitDepth::Eight);
    let pixels: Vec<u8> = (0..w * h)
        .flat_map(|i| {
            let (x, y) = (i % w, i / w);
            [(x * 255 / w) as u8, 0x6f, (y * 255 / h) as u8, 0xff]
        })
        .collect();
    encoder
        .write_header()
        .and_then(|mut writer| writer.write_image_data(&pixels))
        .expect("the sample logo encodes");
    out
}

fn main() {
    let mut args = std::env::args().skip(1);
    let path = args.next().unwrap_or_else(|| "sample.pdf".into());
    let rows: usize = args.next().and_then(|n| n.parse().ok()).unwrap_or(24);
    let company = Company {
        name: "«Hamkor Savdo» MChJ".into(),
        details: vec![
            "Toshkent sh., Chilonzor tumani, Bunyodkor koʻchasi 12".into(),
            "STIR 301234567 · H/r 2020 8000 9051 2345 6789 · MFO 00873".into(),
            "+998 71 200 00 00 · info@hamkor.example".into(),
        ],
        logo: Some(logo()),
    };
    let doc = Document {
        title: "Hisob-faktura № 2026-000017".into(),
        meta: vec![
            ("Sana".into(), "28.11.2026".into()),
            ("Toʻlov muddati".into(), "05.12.2026".into()),
            ("Valyuta".into(), "UZS".into()),
        ],
        parties: vec![
            Party {
                heading: "Sotuvchi".into(),
                lines: vec![
                    "«Hamkor Savdo» MChJ".into(),
                    "Gʻijduvon koʻchasi 5, Toshkent".into(),
                    "STIR 301234567".into(),
                ],
            },
            Party {
                heading: "Покупатель".into(),
                lines: vec![
                    "ООО «Рога и копыта»".into(),
                    "г. Ташкент, ул. Навои, 1".into(),
                    "ИНН 309876543".into(),
                ],
            },
        ],
        columns: vec![
            Column { title: "№".into(), align_right: true, width: 0.6 },
            Column { title: "Nomi / Наименование".into(), align_right: false, width: 5.0 },
            Column { title: "Miqdori".into(), align_right: true, width: 1.2 },
            Column { title: "Narxi".into(), align_right: true, width: 1.8 },
            Column { title: "Summa".into(), align_right: true, width: 2.0 },
        ],
        rows: (1..=rows)
            .map(|i| {
                let name = if i % 5 == 0 {
                    format!("Oʻrindiq “Comfort” qora rang, metall karkas, ekokoja qoplama, {i}-partiya, kafolat 24 oy")
                } else if i % 7 == 0 {
                    "Суперконденсаторнаяустановкабесперебойногопитания".into()
                } else {
                    format!("Kabel-kanal 100×60 mm, oq (partiya {i})")
                };
                vec![i.to_string(), name, "2".into(), "600 000.00".into(), "1 200 000.00".into()]
            })
            .collect(),
        totals: vec![
            ("QQSsiz jami".into(), "28 800 000.00".into()),
            ("QQS 12%".into(), "3 456 000.00".into()),
            ("Jami toʻlov".into(), "32 256 000.00".into()),
        ],
        notes: "Toʻlov bank oʻtkazmasi orqali 7 kun ichida.\nОплата в течение 7 дней.".into(),
        page_label: "Sahifa {page} / {pages}".into(),
    };
    let template = Template {
        header: "{company.name} — hisob-faktura {document.number}, {document.date}".into(),
        footer: "Hujjat {document.number}. Mijoz: {client.name}. Rahmat! {{nusxa}}".into(),
        accent: "#1f6feb".into(),
    };
    let values: BTreeMap<String, String> = [
        ("company.name", "«Hamkor Savdo» MChJ"),
        ("document.number", "2026-000017"),
        ("document.date", "28.11.2026"),
        ("client.name", "ООО «Рога и копыта»"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    match render(&company, &doc, &template, &values) {
        Ok(pdf) => {
            std::fs::write(&path, pdf).expect("the PDF is written");
            eprintln!("wrote {path}");
        }
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(1);
        }
    }
}
