//! Attachments: checked by content, stored safely, downloadable only by those who may
//! see the record.

use crate::both;
use crate::support::TestApp;
use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use serde_json::{Value, json};

const PDF: &[u8] = b"%PDF-1.7\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n";
const EXE: &[u8] = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00\xb8\x00\x00\x00";
const SVG: &[u8] = b"<svg xmlns=\"http://www.w3.org/2000/svg\" onload=\"alert(1)\"><script>alert(2)</script></svg>";

async fn upload(
    t: &TestApp,
    who: &str,
    path: &str,
    name: &str,
    bytes: &[u8],
) -> (StatusCode, Value) {
    let part = reqwest::multipart::Part::bytes(bytes.to_vec())
        .file_name(name.to_string())
        .mime_str("application/pdf")
        .unwrap();
    let form = reqwest::multipart::Form::new().part("file", part);
    let resp = t
        .client
        .post(format!("{}{path}", t.base))
        .bearer_auth(&t.tokens[who])
        .multipart(form)
        .send()
        .await
        .unwrap();
    let s = resp.status();
    let text = resp.text().await.unwrap();
    (
        s,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

async fn download(t: &TestApp, who: &str, id: &str) -> (StatusCode, HeaderMap, Vec<u8>) {
    let resp = t
        .client
        .get(format!("{}/api/v1/attachments/{id}", t.base))
        .bearer_auth(&t.tokens[who])
        .send()
        .await
        .unwrap();
    let s = resp.status();
    let h = resp.headers().clone();
    (s, h, resp.bytes().await.unwrap().to_vec())
}

async fn attachments_follow_the_record(t: TestApp) {
    let acc = t.account("sales_a1", "sales_a1", "With files").await;
    let path = format!("/api/v1/accounts/{acc}/attachments");
    let (s, v) = upload(&t, "sales_a1", &path, "../../Offer <2027>.pdf", PDF).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(v["name"], "Offer 2027.pdf");
    assert_eq!(v["content_type"], "application/pdf");
    assert_eq!(v["size"], PDF.len());
    let file = v["id"].as_str().unwrap().to_string();

    let (s, h, body) = download(&t, "sales_a1", &file).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(body, PDF);
    assert_eq!(h["content-type"], "application/pdf");
    assert!(
        h["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment;")
    );
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert!(
        h["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("sandbox")
    );
    let (_, v) = t.get("sales_a1", &path).await;
    assert_eq!(v["items"][0]["id"], file.as_str());
    let (_, v) = t
        .get("sales_a1", &format!("/api/v1/accounts/{acc}/history"))
        .await;
    assert_eq!(v["items"][0]["action"], "attach", "{v}");

    // Disguised, scripted, oversize and empty files are refused; nothing is stored.
    for (name, bytes, code) in [
        ("invoice.pdf", EXE, "file-type"),
        ("setup.exe", EXE, "file-type"),
        ("logo.svg", SVG, "file-type"),
        ("notes.txt", SVG, "file-type"),
        (
            "photo.pdf",
            &[
                0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 0x0D, b'I', b'H', b'D',
                b'R',
            ][..],
            "file-mismatch",
        ),
        ("empty.pdf", b"", "file-empty"),
    ] {
        let (s, v) = upload(&t, "sales_a1", &path, name, bytes).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{name}: {v}");
        assert_eq!(v["errors"][0]["code"], code, "{name}: {v}");
    }
    let mut big = PDF.to_vec();
    big.resize(150_000, b' ');
    let (s, v) = upload(&t, "sales_a1", &path, "big.pdf", &big).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(v["errors"][0]["code"], "file-too-large");
    let (_, v) = t.get("sales_a1", &path).await;
    assert_eq!(v["items"].as_array().unwrap().len(), 1);

    // Someone who cannot see the account: no list, no download, no upload, no delete.
    let (s, _) = t.get("sales_b", &path).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _, body) = download(&t, "sales_b", &file).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert!(!body.starts_with(b"%PDF"));
    let (s, _) = upload(&t, "sales_b", &path, "x.pdf", PDF).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert_eq!(
        t.delete("sales_b", &format!("/api/v1/attachments/{file}"))
            .await,
        StatusCode::NOT_FOUND
    );
    // The marketer sees every account but may not change this one: no upload, no delete.
    let (s, _) = upload(&t, "marketer", &path, "x.pdf", PDF).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert_eq!(
        t.delete("marketer", &format!("/api/v1/attachments/{file}"))
            .await,
        StatusCode::FORBIDDEN
    );
    let (s, _, _) = download(&t, "marketer", &file).await;
    assert_eq!(s, StatusCode::OK);
    let (_, v) = t.get("sales_a1", &path).await;
    assert_eq!(v["items"].as_array().unwrap().len(), 1);

    // Files on an interaction follow the interaction's client.
    let (_, call) = t
        .post(
            "sales_a1",
            "/api/v1/interactions",
            json!({"kind": "call", "account_id": acc}),
        )
        .await;
    let call = call["id"].as_str().unwrap().to_string();
    let (s, v) = upload(
        &t,
        "sales_a1",
        &format!("/api/v1/interactions/{call}/attachments"),
        "record.txt",
        "Qo'ng'iroq matni".as_bytes(),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let note = v["id"].as_str().unwrap().to_string();
    let (s, _, _) = download(&t, "sales_b", &note).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, h, _) = download(&t, "head_a", &note).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(h["content-type"], "text/plain");
    // Trashing the account hides its files too.
    assert_eq!(
        t.delete("sales_a1", &format!("/api/v1/accounts/{acc}"))
            .await,
        StatusCode::NO_CONTENT
    );
    let (s, _, _) = download(&t, "sales_a1", &file).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}
both!(attachments_follow_the_record);
