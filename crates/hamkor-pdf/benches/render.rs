//! Renders invoices with long item names and a logo: one of ten pages (250 lines) and one of
//! 400 lines (16 pages).
//! Run with `cargo bench -p hamkor-pdf`.

use std::collections::BTreeMap;
use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use hamkor_pdf::{Column, Company, Document, Party, Template, render};

fn logo() -> Vec<u8> {
    let (w, h) = (320u32, 128u32);
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
        .expect("the logo encodes");
    out
}

const NAMES: [&str; 6] = [
    "Oʻrindiq “Comfort” qora rang, metall karkas, ekokoja",
    "Кабель-канал 100×60 мм белый, партия поставки",
    "Gʻildirakli stul, aylanma, balandligi sozlanadigan",
    "Стол письменный «Лидер» с тумбой, дуб сонома",
    "Qogʻoz A4, 80 g/m², 500 varaq, «Svetocopy»",
    "Монитор 27\" IPS, 2560×1440, подставка с регулировкой",
];

fn invoice(rows: usize) -> (Company, Document, Template, BTreeMap<String, String>) {
    let company = Company {
        name: "«Hamkor Savdo» MChJ".into(),
        details: vec![
            "Toshkent sh., Chilonzor tumani, Bunyodkor koʻchasi 12".into(),
            "STIR 301234567 · H/r 2020 8000 9051 2345 6789 · MFO 00873".into(),
            "+998 71 200 00 00 · info@hamkor.example".into(),
        ],
        logo: Some(logo()),
    };
    let column = |title: &str, align_right, width| Column {
        title: title.into(),
        align_right,
        width,
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
                lines: vec!["«Hamkor Savdo» MChJ".into(), "STIR 301234567".into()],
            },
            Party {
                heading: "Покупатель".into(),
                lines: vec!["ООО «Рога и копыта»".into(), "ИНН 309876543".into()],
            },
        ],
        columns: vec![
            column("№", true, 0.6),
            column("Nomi / Наименование", false, 5.0),
            column("Miqdori", true, 1.2),
            column("Narxi", true, 1.8),
            column("Summa", true, 2.0),
        ],
        rows: (1..=rows)
            .map(|i| {
                vec![
                    i.to_string(),
                    format!("{} {i}", NAMES[i % NAMES.len()]),
                    (i % 9 + 1).to_string(),
                    "1 250 000.00".into(),
                    format!("{} 250 000.00", i % 9 + 1),
                ]
            })
            .collect(),
        totals: vec![
            ("QQSsiz jami".into(), "2 500 000 000.00".into()),
            ("QQS 12%".into(), "300 000 000.00".into()),
            ("Jami toʻlov".into(), "2 800 000 000.00".into()),
        ],
        notes: "Toʻlov bank oʻtkazmasi orqali 7 kun ichida.\nОплата в течение 7 дней.".into(),
        page_label: "Sahifa {page} / {pages}".into(),
    };
    let template = Template {
        header: "{company.name} — hisob-faktura {document.number}".into(),
        footer: "Hujjat {document.number}. Mijoz: {client.name}.".into(),
        accent: "#1f6feb".into(),
    };
    let values = [
        ("company.name", "«Hamkor Savdo» MChJ"),
        ("document.number", "2026-000017"),
        ("client.name", "ООО «Рога и копыта»"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    (company, doc, template, values)
}

fn bench(c: &mut Criterion) {
    for (rows, name) in [
        (250, "render 10-page invoice (250 lines)"),
        (400, "render 400-line invoice"),
    ] {
        let (company, doc, template, values) = invoice(rows);
        let pdf = render(&company, &doc, &template, &values).expect("the invoice renders");
        let pages = lopdf::Document::load_mem(&pdf)
            .expect("the PDF parses")
            .get_pages()
            .len();
        eprintln!("{rows}-line invoice: {pages} pages, {} bytes", pdf.len());
        c.bench_function(name, |b| {
            b.iter(|| render(black_box(&company), black_box(&doc), &template, &values).unwrap())
        });
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
