//! Files shaped like the ones people bring, made here rather than shipped as fixtures.

use super::*;
use std::io::Write;

/// What a file was found to be, its header and its rows.
type Read = (Inspection, Vec<String>, Vec<Result<Row, FileError>>);

fn read(name: &str, bytes: &[u8]) -> Result<Read, FileError> {
    read_sheet(name, bytes, None, &Limits::default())
}

fn read_sheet(
    name: &str,
    bytes: &[u8],
    sheet: Option<&str>,
    limits: &Limits,
) -> Result<Read, FileError> {
    let head = &bytes[..bytes.len().min(64 * 1024)];
    let whole = if matches!(
        Format::from_name(name),
        Some(Format::Xlsx | Format::Xls | Format::Ods)
    ) {
        bytes
    } else {
        head
    };
    let inspection = inspect(name, whole, bytes.len() as u64, limits)?;
    let table = open(
        Box::new(std::io::Cursor::new(bytes.to_vec())),
        &inspection,
        sheet,
        limits,
    )?;
    let rows = table.rows.collect();
    Ok((inspection, table.headers, rows))
}

fn ok_rows(rows: Vec<Result<Row, FileError>>) -> Vec<Row> {
    rows.into_iter().map(Result::unwrap).collect()
}

#[test]
fn outlook_csv_with_bom_and_quoted_lines() {
    let csv = "\u{feff}First Name,Middle Name,Last Name,Company,Job Title,Business Phone,Mobile Phone,E-mail Address,Notes\r\n\
Aziz,,Karimov,\"Orient Trade, MChJ\",Director,+998 71 200-00-01,+998 90 123 45 67,aziz@orient.uz,\"Met at the fair\r\nCall in May\"\r\n\
Иван,Петрович,Иванов,ООО \"Север\",,8 (495) 123-45-67,,ivan@sever.ru,\r\n";
    let (ins, headers, rows) = read("contacts.csv", csv.as_bytes()).unwrap();
    assert_eq!(ins.format, Format::Csv);
    assert_eq!(ins.encoding, Some("UTF-8"));
    assert_eq!(ins.delimiter, Some(b','));
    assert_eq!(headers[0], "First Name");
    assert_eq!(origin(&headers), Some(Origin::Outlook));
    let rows = ok_rows(rows);
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0].number, 2);
    assert_eq!(rows[0].cells[3], "Orient Trade, MChJ");
    assert_eq!(rows[0].cells[8], "Met at the fair\nCall in May");
    assert_eq!(rows[1].number, 4);
    assert_eq!(rows[1].cells[2], "Иванов");
    assert_eq!(rows[1].cells[3], "ООО \"Север\"");
}

#[test]
fn google_contacts_csv() {
    let csv = "First Name,Middle Name,Last Name,Organization Name,Organization Title,Birthday,E-mail 1 - Label,E-mail 1 - Value,Phone 1 - Label,Phone 1 - Value\n\
Dilnoza,,Rashidova,Samarkand Foods,Manager,1990-03-08,* Work,dilnoza@samfoods.uz,Mobile,+998 91 555 44 33 ::: +998 66 233 11 22\n";
    let (_, headers, rows) = read("google.csv", csv.as_bytes()).unwrap();
    assert_eq!(origin(&headers), Some(Origin::Google));
    let rows = ok_rows(rows);
    assert_eq!(rows[0].cells[7], "dilnoza@samfoods.uz");
}

#[test]
fn windows_1251_with_semicolons() {
    let text = "Фамилия;Имя;Телефон;Компания\r\nИванов;Иван;+7 495 123 45 67;ООО «Ромашка»\r\nТошматов;Ўткир;90 123 45 67;Хамкор\r\n";
    let (bytes, _, _) = encoding_rs::WINDOWS_1251.encode(text);
    assert!(std::str::from_utf8(&bytes).is_err());
    let (ins, headers, rows) = read("база.csv", &bytes).unwrap();
    assert_eq!(ins.encoding, Some("windows-1251"));
    assert_eq!(ins.delimiter, Some(b';'));
    assert_eq!(headers, ["Фамилия", "Имя", "Телефон", "Компания"]);
    let rows = ok_rows(rows);
    assert_eq!(rows[0].cells[3], "ООО «Ромашка»");
    assert_eq!(rows[1].cells[1], "Ўткир");
}

#[test]
fn utf16_with_tabs() {
    let text = "Name\tPhone\r\nAli Valiyev\t+998 90 000 00 01\r\n";
    let mut bytes = vec![0xFF, 0xFE];
    for u in text.encode_utf16() {
        bytes.extend_from_slice(&u.to_le_bytes());
    }
    let (ins, headers, rows) = read("export.txt", &bytes).unwrap();
    assert_eq!(ins.encoding, Some("UTF-16LE"));
    assert_eq!(ins.delimiter, Some(b'\t'));
    assert_eq!(headers, ["Name", "Phone"]);
    assert_eq!(ok_rows(rows)[0].cells, ["Ali Valiyev", "+998 90 000 00 01"]);
}

#[test]
fn ragged_and_broken_rows_are_named_and_the_rest_read() {
    let csv = "a,b,c\n1,2,3\n4,5,6,7\n8,9\n10,11,12,,\n\n13,14,15\n";
    let (_, _, rows) = read("x.csv", csv.as_bytes()).unwrap();
    assert_eq!(rows.len(), 5);
    assert!(rows[0].is_ok());
    match &rows[1] {
        Err(FileError::Row { row, reason }) => {
            assert_eq!(*row, 3);
            assert!(reason.contains("4 cells"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
    // Short rows are padded; trailing empty cells are not a problem.
    assert_eq!(rows[2].as_ref().unwrap().cells, ["8", "9", ""]);
    assert_eq!(rows[3].as_ref().unwrap().cells, ["10", "11", "12"]);
    assert_eq!(rows[4].as_ref().unwrap().number, 7);
}

#[test]
fn invalid_utf8_in_a_utf8_file_names_the_row() {
    let mut bytes = "name,phone\nAli,1\n".as_bytes().to_vec();
    // 70 KiB of valid text, so the start is judged UTF-8, then a broken row.
    for i in 0..7000 {
        bytes.extend_from_slice(format!("Name{i},123\n").as_bytes());
    }
    bytes.extend_from_slice(b"Bad\xff\xfe,9\nLast,1\n");
    let (ins, _, rows) = read("big.csv", &bytes).unwrap();
    assert_eq!(ins.encoding, Some("UTF-8"));
    let errors: Vec<_> = rows.iter().filter(|r| r.is_err()).collect();
    assert_eq!(errors.len(), 1);
    assert!(
        matches!(errors[0], Err(FileError::Row { row: 7003, .. })),
        "{errors:?}"
    );
    assert_eq!(rows.last().unwrap().as_ref().unwrap().cells[0], "Last");
}

#[test]
fn vcard_21_from_outlook_with_quoted_printable_cp1251() {
    let mut card =
        b"BEGIN:VCARD\r\nVERSION:2.1\r\nN;CHARSET=Windows-1251;ENCODING=QUOTED-PRINTABLE:".to_vec();
    let (last, _, _) = encoding_rs::WINDOWS_1251.encode("Иванов;Иван");
    for b in last.iter() {
        if *b == b';' {
            card.push(b';');
        } else {
            card.extend_from_slice(format!("={b:02X}").as_bytes());
        }
    }
    card.extend_from_slice(
        b"\r\nTEL;CELL;VOICE:+7 916 000-00-01\r\nTEL;WORK;VOICE:+7 495 000-00-02\r\nEMAIL;PREF;INTERNET:ivan@example.ru\r\n\
NOTE;ENCODING=QUOTED-PRINTABLE:First line=0D=0A=\r\nsecond line\r\nPHOTO;TYPE=JPEG;ENCODING=BASE64:\r\n /9j/4AAQSkZJRg==\r\n\r\nEND:VCARD\r\n",
    );
    let (ins, headers, rows) = read("contacts.vcf", &card).unwrap();
    assert_eq!(ins.format, Format::VCard);
    let row = &ok_rows(rows)[0];
    let get = |h: &str| row.cells[headers.iter().position(|x| x == h).unwrap()].as_str();
    assert_eq!(get("Last name"), "Иванов");
    assert_eq!(get("First name"), "Иван");
    assert_eq!(get("Mobile phone"), "+7 916 000-00-01");
    assert_eq!(get("Work phone"), "+7 495 000-00-02");
    assert_eq!(get("E-mail"), "ivan@example.ru");
    assert_eq!(get("Notes"), "First line\r\nsecond line");
}

#[test]
fn vcard_30_and_40_from_google_and_apple() {
    let text = "BEGIN:VCARD\nVERSION:3.0\nFN:Aziza Karimova\nN:Karimova;Aziza;;;\nitem1.EMAIL;TYPE=INTERNET:aziza@example.uz\nitem1.X-ABLabel:\nTEL;TYPE=CELL:+998 90 111 22 33\nTEL;TYPE=WORK,VOICE:+998 71 222 33 44\nORG:Hamkor\\, Inc.;Sales\nTITLE:Head of sales\nBDAY:1988-11-02\nADR;TYPE=WORK:;;Amir Temur 1;Toshkent;;100000;Uzbekistan\nNOTE:A long note that is folded\n  across two lines\\, with a comma\nEND:VCARD\n\
BEGIN:VCARD\nVERSION:4.0\nFN:Олег Ким\nN:Ким;Олег;;;\nTEL;VALUE=uri;TYPE=\"cell,voice\":tel:+998-93-000-00-00\nEMAIL;TYPE=home:oleg@example.com\nBDAY:--0412\nEND:VCARD\n\
BEGIN:VCARD\nVERSION:3.0\nFN:Only Fullname\nEND:VCARD\n";
    let (_, headers, rows) = read("google.vcf", text.as_bytes()).unwrap();
    let rows = ok_rows(rows);
    assert_eq!(rows.len(), 3);
    let get =
        |r: usize, h: &str| rows[r].cells[headers.iter().position(|x| x == h).unwrap()].clone();
    assert_eq!(get(0, "Last name"), "Karimova");
    assert_eq!(get(0, "E-mail"), "aziza@example.uz");
    assert_eq!(get(0, "Mobile phone"), "+998 90 111 22 33");
    assert_eq!(get(0, "Work phone"), "+998 71 222 33 44");
    assert_eq!(get(0, "Organization"), "Hamkor, Inc.");
    assert_eq!(get(0, "Birthday"), "1988-11-02");
    assert_eq!(
        get(0, "Address"),
        "Amir Temur 1, Toshkent, 100000, Uzbekistan"
    );
    assert_eq!(
        get(0, "Notes"),
        "A long note that is folded across two lines, with a comma"
    );
    assert_eq!(get(1, "Mobile phone"), "+998-93-000-00-00");
    assert_eq!(get(1, "Home e-mail"), "oleg@example.com");
    assert_eq!(get(1, "Birthday"), "--0412");
    assert_eq!(get(2, "First name"), "Only");
    assert_eq!(get(2, "Last name"), "Fullname");
    assert_eq!(rows[1].number, 16);
}

#[test]
fn vcard_without_end_is_named() {
    let text =
        "BEGIN:VCARD\nVERSION:3.0\nN:A;B;;;\nBEGIN:VCARD\nVERSION:3.0\nN:C;D;;;\nEND:VCARD\n";
    let (_, _, rows) = read("x.vcf", text.as_bytes()).unwrap();
    assert!(matches!(rows[0], Err(FileError::Row { row: 1, .. })));
    assert!(rows[1].is_ok());
}

fn workbook() -> Vec<u8> {
    use rust_xlsxwriter::{ExcelDateTime, Format as F, Workbook};
    let mut book = Workbook::new();
    let first = book.add_worksheet();
    first.set_name("Notes").unwrap();
    first.write_string(0, 0, "nothing here").unwrap();
    let sheet = book.add_worksheet();
    sheet.set_name("Clients").unwrap();
    // A title above the header, and a header cell merged across two columns.
    sheet
        .merge_range(0, 0, 0, 4, "Client list 2026", &F::new())
        .unwrap();
    sheet.write_string(1, 0, "Name").unwrap();
    sheet.write_string(1, 1, "Company").unwrap();
    sheet.merge_range(1, 2, 1, 3, "Phone", &F::new()).unwrap();
    sheet.write_string(1, 4, "Since").unwrap();
    sheet.write_string(2, 0, "Aziz Karimov").unwrap();
    sheet.write_string(2, 1, "Orient Trade").unwrap();
    sheet.write_string(2, 2, "+998 90 123 45 67").unwrap();
    sheet.write_number(2, 3, 998712000001.0).unwrap();
    let date = ExcelDateTime::from_ymd(2024, 2, 29).unwrap();
    sheet
        .write_datetime_with_format(2, 4, &date, &F::new().set_num_format("dd.mm.yyyy"))
        .unwrap();
    sheet.write_string(4, 0, "Olga Kim").unwrap();
    sheet.write_number(4, 1, 12.5).unwrap();
    book.save_to_buffer().unwrap()
}

#[test]
fn xlsx_sheets_title_and_merged_header() {
    let bytes = workbook();
    let (ins, headers, rows) =
        read_sheet("clients.xlsx", &bytes, Some("Clients"), &Limits::default()).unwrap();
    assert_eq!(ins.format, Format::Xlsx);
    assert_eq!(ins.sheets, ["Notes", "Clients"]);
    assert_eq!(headers, ["Name", "Company", "Phone", "Phone", "Since"]);
    let rows = ok_rows(rows);
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0].number, 3);
    assert_eq!(
        rows[0].cells,
        [
            "Aziz Karimov",
            "Orient Trade",
            "+998 90 123 45 67",
            "998712000001",
            "2024-02-29"
        ]
    );
    assert_eq!(rows[1].number, 5);
    assert_eq!(rows[1].cells[1], "12.5");
    // The first sheet by default.
    let (_, headers, _) = read("clients.xlsx", &bytes).unwrap();
    assert_eq!(headers, ["nothing here"]);
    assert_eq!(
        read_sheet("clients.xlsx", &bytes, Some("Nope"), &Limits::default()).err(),
        Some(FileError::NoSuchSheet("Nope".into()))
    );
}

/// A zip written entry by entry (stored or deflated), for ODS files and hostile archives.
fn zip_of(entries: &[(&str, &[u8], bool)]) -> Vec<u8> {
    let mut out = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (name, data, deflate) in entries {
        let method = if *deflate {
            zip::CompressionMethod::Deflated
        } else {
            zip::CompressionMethod::Stored
        };
        out.start_file(
            *name,
            zip::write::SimpleFileOptions::default().compression_method(method),
        )
        .unwrap();
        out.write_all(data).unwrap();
    }
    out.finish().unwrap().into_inner()
}

#[test]
fn ods_is_read() {
    let content = r#"<?xml version="1.0" encoding="UTF-8"?>
<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2">
<office:body><office:spreadsheet>
<table:table table:name="Mijozlar">
<table:table-row><table:table-cell office:value-type="string"><text:p>Ism</text:p></table:table-cell><table:table-cell office:value-type="string"><text:p>Familiya</text:p></table:table-cell></table:table-row>
<table:table-row><table:table-cell office:value-type="string"><text:p>Oʻtkir</text:p></table:table-cell><table:table-cell office:value-type="string"><text:p>Hoshimov</text:p></table:table-cell></table:table-row>
</table:table>
</office:spreadsheet></office:body></office:document-content>"#
        .as_bytes();
    let manifest = br#"<?xml version="1.0" encoding="UTF-8"?>
<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2">
<manifest:file-entry manifest:full-path="/" manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/>
<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>
</manifest:manifest>"#;
    let bytes = zip_of(&[
        (
            "mimetype",
            b"application/vnd.oasis.opendocument.spreadsheet",
            false,
        ),
        ("content.xml", content, true),
        ("META-INF/manifest.xml", manifest, true),
    ]);
    let (ins, headers, rows) = read("mijozlar.ods", &bytes).unwrap();
    assert_eq!(ins.format, Format::Ods);
    assert_eq!(ins.sheets, ["Mijozlar"]);
    assert_eq!(headers, ["Ism", "Familiya"]);
    assert_eq!(ok_rows(rows)[0].cells, ["Oʻtkir", "Hoshimov"]);
}

#[test]
fn a_file_that_is_not_what_its_name_says() {
    let exe = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00";
    assert_eq!(read("clients.csv", exe).err(), Some(FileError::Unknown));
    assert_eq!(
        read("clients.xlsx", b"name,phone\nA,1\n").err(),
        Some(FileError::NotWhatNameSays {
            named: "xlsx",
            found: "csv"
        })
    );
    assert_eq!(
        read("clients.csv", &workbook()).err(),
        Some(FileError::NotWhatNameSays {
            named: "csv",
            found: "xlsx"
        })
    );
    // A zip that is not a spreadsheet.
    let zip = zip_of(&[("readme.txt", b"hello", true)]);
    assert!(matches!(
        read("x.xlsx", &zip),
        Err(FileError::Spreadsheet(_))
    ));
    assert_eq!(read("empty.csv", b"").err(), Some(FileError::Empty));
    let small = Limits {
        max_bytes: 10,
        ..Limits::default()
    };
    assert_eq!(
        read_sheet("big.csv", b"name,phone\nA,1\n", None, &small).err(),
        Some(FileError::TooLarge { max: 10 })
    );
}

#[test]
fn a_zip_bomb_is_refused_before_it_is_inflated() {
    let zeros = vec![0u8; 8 << 20];
    let bomb = zip_of(&[
        ("[Content_Types].xml", b"<Types/>", true),
        ("xl/worksheets/sheet1.xml", &zeros, true),
    ]);
    assert!(bomb.len() < 100_000);
    assert!(matches!(
        read("bomb.xlsx", &bomb),
        Err(FileError::ZipBomb { .. })
    ));
    let small = Limits {
        max_unpacked: 1000,
        ..Limits::default()
    };
    assert!(matches!(
        read_sheet("clients.xlsx", &workbook(), None, &small),
        Err(FileError::ZipBomb { .. })
    ));
}

#[test]
fn xml_entities_are_not_expanded() {
    // The workbook with its shared strings replaced by ones that declare external and
    // recursive entities.
    let original = workbook();
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(original)).unwrap();
    let mut entries = Vec::new();
    for i in 0..zip.len() {
        let mut f = zip.by_index(i).unwrap();
        let name = f.name().unwrap().to_string();
        let mut data = Vec::new();
        std::io::Read::read_to_end(&mut f, &mut data).unwrap();
        if name == "xl/sharedStrings.xml" {
            let text = String::from_utf8(data).unwrap();
            let evil = text.replacen(
                "<sst",
                "<!DOCTYPE sst [<!ENTITY xxe SYSTEM \"file:///etc/passwd\"><!ENTITY a \"aaaaaaaaaa\"><!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;\">]><sst",
                1,
            );
            let evil = evil.replacen("Aziz Karimov", "&xxe;&b;", 1);
            data = evil.into_bytes();
        }
        entries.push((name, data));
    }
    let refs: Vec<(&str, &[u8], bool)> = entries
        .iter()
        .map(|(n, d)| (n.as_str(), d.as_slice(), true))
        .collect();
    let bytes = zip_of(&refs);
    match read_sheet("evil.xlsx", &bytes, Some("Clients"), &Limits::default()) {
        Err(_) => {}
        Ok((_, _, rows)) => {
            for r in rows.into_iter().flatten() {
                for c in r.cells {
                    assert!(!c.contains("root:"), "{c}");
                    assert!(!c.contains("aaaaaaaaaaaaaaaaaaaa"), "{c}");
                }
            }
        }
    }
}
