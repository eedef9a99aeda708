//! Exchange rates by date: entering them, the rate of a day (the latest on or before
//! it), conversion into the base currency to the tiyin, imports of the central bank's
//! feed and of CSV files (all or nothing), and who may change rates.

use crate::both;
use crate::support::TestApp;
use reqwest::StatusCode;
use serde_json::{Value, json};

const RATES: &str = "/api/v1/currency_rates";

async fn set(
    t: &TestApp,
    who: &str,
    currency: &str,
    date: &str,
    rate: &str,
) -> (StatusCode, Value) {
    t.post(
        who,
        RATES,
        json!({"currency": currency, "date": date, "rate": rate}),
    )
    .await
}

async fn convert(t: &TestApp, query: &str) -> (StatusCode, Value) {
    t.get("sales_a1", &format!("{RATES}/convert?{query}")).await
}

async fn import(t: &TestApp, who: &str, content_type: &str, body: &str) -> (StatusCode, Value) {
    let resp = t
        .client
        .post(format!("{}{RATES}/import", t.base))
        .bearer_auth(&t.tokens[who])
        .header("content-type", content_type)
        .body(body.to_string())
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

/// `(currency, date, rate, source)` of every rate, newest first.
async fn all_rates(t: &TestApp) -> Vec<(String, String, String, String)> {
    let (s, v) = t.get("admin", &format!("{RATES}?limit=500")).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    v["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let f = |k: &str| r[k].as_str().unwrap().to_string();
            (f("currency"), f("date"), f("rate"), f("source"))
        })
        .collect()
}

fn first_error(v: &Value) -> (Option<&str>, Option<&str>) {
    (
        v["errors"][0]["field"].as_str(),
        v["errors"][0]["code"].as_str(),
    )
}

fn row(c: &str, d: &str, r: &str, s: &str) -> (String, String, String, String) {
    (c.into(), d.into(), r.into(), s.into())
}

async fn the_rate_of_a_day_is_the_latest_before_it(t: TestApp) {
    let (s, v) = set(&t, "admin", "USD", "2026-11-02", "12500").await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(
        (&v["currency"], &v["date"], &v["rate"], &v["source"]),
        (
            &json!("USD"),
            &json!("2026-11-02"),
            &json!("12500"),
            &json!("manual")
        )
    );
    assert_eq!(v["created_by"], t.id("admin"));
    // Heads enter rates too; "12 650,45" is read as people type it.
    let (s, v) = set(&t, "head_a", "usd", "2026-11-20", "12 650,45").await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(v["rate"], "12650.45");

    // 1 500.00 USD × 12 650.45 = 18 975 675.00 UZS, at the rate of 20 November, which
    // still holds on the 28th.
    let (s, v) = convert(&t, "amount=1500.00&currency=USD&date=2026-11-28").await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(
        v,
        json!({"amount": "18975675.00", "currency": "UZS", "rate": "12650.45", "rate_date": "2026-11-20"})
    );
    // A day between two rates takes the earlier: 1 500 × 12 500 = 18 750 000.00.
    for date in ["2026-11-02", "2026-11-10", "2026-11-19"] {
        let (_, v) = convert(&t, &format!("amount=1500&currency=USD&date={date}")).await;
        assert_eq!(
            (&v["amount"], &v["rate_date"]),
            (&json!("18750000.00"), &json!("2026-11-02")),
            "{date}"
        );
    }
    // Before the first rate there is none: refused, naming the currency and the day.
    let (s, v) = convert(&t, "amount=1500&currency=USD&date=2026-11-01").await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(first_error(&v), (Some("date"), Some("no-rate")));
    let (s, v) = convert(&t, "amount=1&currency=EUR&date=2026-11-28").await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(first_error(&v), (Some("date"), Some("no-rate")));

    // Rounding once, half away from zero, to the base currency's tiyin:
    // 0.01 USD × 12 650.45 = 126.5045 → 126.50; 0.01 EUR × 13 050.5 = 130.505 → 130.51,
    // and a refund the same way down: −130.51.
    let (s, v) = set(&t, "admin", "EUR", "2026-11-27", "13050.5").await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    for (query, amount) in [
        ("amount=0.01&currency=USD&date=2026-11-28", "126.50"),
        ("amount=0.01&currency=EUR&date=2026-11-28", "130.51"),
        ("amount=-0.01&currency=EUR&date=2026-11-28", "-130.51"),
    ] {
        let (s, v) = convert(&t, query).await;
        assert_eq!(
            (s, &v["amount"]),
            (StatusCode::OK, &json!(amount)),
            "{query}: {v}"
        );
    }
    // Currencies without tiyin-like cents: 1 000 yen at 84.317 = 84 317.00;
    // 1.234 dinars at 41 234.5 = 50 883.373 → 50 883.37.
    set(&t, "admin", "JPY", "2026-11-27", "84.317").await;
    set(&t, "admin", "KWD", "2026-11-27", "41234.5").await;
    for (query, amount) in [
        ("amount=1000&currency=JPY&date=2026-11-27", "84317.00"),
        ("amount=1.234&currency=KWD&date=2026-11-27", "50883.37"),
    ] {
        let (s, v) = convert(&t, query).await;
        assert_eq!(
            (s, &v["amount"]),
            (StatusCode::OK, &json!(amount)),
            "{query}: {v}"
        );
    }
    // The base currency needs no rate.
    let (_, v) = convert(&t, "amount=1500.50&currency=UZS&date=2000-01-01").await;
    assert_eq!(
        v,
        json!({"amount": "1500.50", "currency": "UZS", "rate": "1", "rate_date": null})
    );

    // Setting a day's rate again replaces it.
    let (s, v) = set(&t, "admin", "USD", "2026-11-20", "12651").await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let (s, v) = t
        .get(
            "viewer",
            &format!("{RATES}?currency=USD&from=2026-11-01&to=2026-11-30"),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["base_currency"], "UZS");
    let usd: Vec<_> = v["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["date"].as_str().unwrap(), r["rate"].as_str().unwrap()))
        .collect();
    assert_eq!(usd, [("2026-11-20", "12651"), ("2026-11-02", "12500")]);
    let (_, v) = t
        .get("viewer", &format!("{RATES}?from=2026-11-21&limit=2"))
        .await;
    let recent: Vec<_> = v["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["currency"].as_str().unwrap(), r["date"].as_str().unwrap()))
        .collect();
    assert_eq!(recent, [("EUR", "2026-11-27"), ("JPY", "2026-11-27")]);

    // Bad input is refused, names the field, and changes nothing.
    let before = all_rates(&t).await;
    let ahead = (chrono::Utc::now() + chrono::Duration::days(3))
        .format("%Y-%m-%d")
        .to_string();
    for (body, field, code) in [
        (
            json!({"currency": "XAU", "date": "2026-11-28", "rate": "1"}),
            "currency",
            "currency",
        ),
        (
            json!({"currency": "UZS", "date": "2026-11-28", "rate": "1"}),
            "currency",
            "base-currency",
        ),
        (
            json!({"currency": "USD", "date": "2026-11-28", "rate": "0"}),
            "rate",
            "exchange-rate",
        ),
        (
            json!({"currency": "USD", "date": "2026-11-28", "rate": "-12650"}),
            "rate",
            "negative",
        ),
        (
            json!({"currency": "USD", "date": "2026-11-28", "rate": "12650.4500001"}),
            "rate",
            "amount-decimals",
        ),
        (
            json!({"currency": "USD", "date": "2026-11-28", "rate": "a lot"}),
            "rate",
            "type-number",
        ),
        (
            json!({"currency": "USD", "date": ahead, "rate": "1"}),
            "date",
            "rate-date-future",
        ),
        (
            json!({"currency": "USD", "date": "2026-02-30", "rate": "1"}),
            "date",
            "type-date",
        ),
        (json!({"currency": "USD", "rate": "1"}), "date", "required"),
        (
            json!({"currency": "USD", "date": "2026-11-28", "rate": "1", "by": "me"}),
            "by",
            "unknown-field",
        ),
        (
            json!({"currency": ["USD"], "date": "2026-11-28", "rate": "1"}),
            "currency",
            "type-text",
        ),
    ] {
        let (s, v) = t.post("admin", RATES, body.clone()).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {v}");
        assert_eq!(first_error(&v), (Some(field), Some(code)), "{body}: {v}");
    }
    assert_eq!(all_rates(&t).await, before);
    for (query, field, code) in [
        ("amount=1&currency=XAU", "currency", "currency"),
        ("amount=1.234&currency=USD", "amount", "amount-decimals"),
        ("amount=lots&currency=USD", "amount", "type-amount"),
        ("currency=USD", "amount", "required"),
        ("amount=1&currency=USD&date=28/11/2026", "date", "type-date"),
    ] {
        let (s, v) = convert(&t, query).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{query}: {v}");
        assert_eq!(first_error(&v), (Some(field), Some(code)), "{query}: {v}");
    }
    for (query, field, code) in [
        ("currency=XAU", "currency", "currency"),
        ("from=2026-11-20&to=2026-11-01", "to", "period"),
        ("limit=0", "limit", "limit"),
        ("limit=501", "limit", "limit"),
        ("from=yesterday", "from", "type-date"),
    ] {
        let (s, v) = t.get("sales_a1", &format!("{RATES}?{query}")).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{query}: {v}");
        assert_eq!(first_error(&v), (Some(field), Some(code)), "{query}: {v}");
    }
}
both!(the_rate_of_a_day_is_the_latest_before_it);

/// The central bank's feed as https://cbu.uz/uz/arkhiv-kursov-valyut/json/ serves it
/// (shortened): yen come ten at a time, and it lists currencies Hamkor does not keep.
const CBU_FEED: &str = r#"[
 {"id":69,"Code":"840","Ccy":"USD","CcyNm_RU":"Доллар США","CcyNm_UZ":"AQSH dollari","CcyNm_UZC":"АҚШ доллари","CcyNm_EN":"US Dollar","Nominal":"1","Rate":"12650.45","Diff":"-8.91","Date":"27.11.2026"},
 {"id":21,"Code":"978","Ccy":"EUR","CcyNm_RU":"Евро","CcyNm_UZ":"EVRO","CcyNm_UZC":"ЕВРО","CcyNm_EN":"Euro","Nominal":"1","Rate":"13050.12","Diff":"12.4","Date":"27.11.2026"},
 {"id":29,"Code":"392","Ccy":"JPY","CcyNm_RU":"Иена","CcyNm_UZ":"Iyena","CcyNm_UZC":"Иена","CcyNm_EN":"Japan Yen","Nominal":"10","Rate":"843.17","Diff":"0.52","Date":"27.11.2026"},
 {"id":22,"Code":"826","Ccy":"GBP","CcyNm_RU":"Фунт стерлингов","CcyNm_UZ":"Angliya funt sterlingi","CcyNm_UZC":"Англия фунт стерлинги","CcyNm_EN":"Pound Sterling","Nominal":"1","Rate":"15911.02","Diff":"-3.1","Date":"27.11.2026"},
 {"id":75,"Code":"960","Ccy":"XDR","CcyNm_RU":"СДР","CcyNm_UZ":"SDR","CcyNm_UZC":"СДР","CcyNm_EN":"SDR","Nominal":"1","Rate":"17113.50","Diff":"2.2","Date":"27.11.2026"}
]"#;

async fn the_central_banks_feed_imports_per_unit(t: TestApp) {
    let (s, v) = import(&t, "head_b", "application/json", CBU_FEED).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(v, json!({"imported": 3, "skipped": ["GBP", "XDR"]}));
    assert_eq!(
        all_rates(&t).await,
        [
            row("EUR", "2026-11-27", "13050.12", "import"),
            // 843.17 sum for 10 yen: 84.317 for one.
            row("JPY", "2026-11-27", "84.317", "import"),
            row("USD", "2026-11-27", "12650.45", "import"),
        ]
    );
    // 1 000 yen at 84.317 = 84 317.00 sum.
    let (_, v) = convert(&t, "amount=1000&currency=JPY&date=2026-11-28").await;
    assert_eq!(
        (&v["amount"], &v["rate"]),
        (&json!("84317.00"), &json!("84.317"))
    );
    // The next day's feed, fetched twice, writes each rate once.
    let next = CBU_FEED
        .replace("27.11.2026", "28.11.2026")
        .replace("12650.45", "12660");
    for _ in 0..2 {
        let (s, v) = import(&t, "admin", "application/json", &next).await;
        assert_eq!((s, &v["imported"]), (StatusCode::CREATED, &json!(3)), "{v}");
    }
    let rates = all_rates(&t).await;
    assert_eq!(rates.len(), 6, "{rates:?}");
    assert_eq!(rates[2], row("USD", "2026-11-28", "12660", "import"));
    // A manual correction replaces the imported rate of that day.
    set(&t, "admin", "USD", "2026-11-28", "12661.5").await;
    assert_eq!(
        all_rates(&t).await[2],
        row("USD", "2026-11-28", "12661.5", "manual")
    );

    // A broken feed writes nothing and names the row and the field.
    let before = all_rates(&t).await;
    let broken = CBU_FEED
        .replace("27.11.2026", "26.11.2026")
        .replace("\"843.17\"", "\"8,43,17\"");
    let (s, v) = import(&t, "admin", "application/json", &broken).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(first_error(&v), (Some("rows[2].Rate"), Some("type-number")));
    let (s, v) = import(&t, "admin", "application/json", "[{\"Ccy\": \"USD\"").await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(first_error(&v), (Some("file"), Some("malformed-json")));
    assert_eq!(all_rates(&t).await, before);
}
both!(the_central_banks_feed_imports_per_unit);

async fn a_csv_with_one_bad_row_imports_nothing(t: TestApp) {
    let bad = "currency,date,rate\r\nUSD,2026-11-26,12640.10\r\nEUR,26.11.2026,1304O.5\r\nRUB,2026-11-26,158.01\r\n";
    let (s, v) = import(&t, "admin", "text/csv", bad).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(first_error(&v), (Some("rows[1].rate"), Some("type-number")));
    assert_eq!(v["errors"].as_array().unwrap().len(), 1, "{v}");
    assert!(all_rates(&t).await.is_empty());
    // In a CSV written for us an unknown currency is a mistake, not something to skip.
    let unknown = "currency,date,rate\nGBP,2026-11-26,15900\n";
    let (s, v) = import(&t, "admin", "text/csv", unknown).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(
        first_error(&v),
        (Some("rows[0].currency"), Some("currency"))
    );
    let (s, v) = import(&t, "admin", "text/csv", "USD,2026-11-26,1\n").await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(first_error(&v), (Some("file"), Some("rates-file")));
    assert!(all_rates(&t).await.is_empty());
    // Fixed, the same file imports whole.
    let (s, v) = import(&t, "head_a", "text/csv", &bad.replace("1304O.5", "13040.5")).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(v, json!({"imported": 3, "skipped": []}));
    assert_eq!(
        all_rates(&t).await,
        [
            row("EUR", "2026-11-26", "13040.5", "import"),
            row("RUB", "2026-11-26", "158.01", "import"),
            row("USD", "2026-11-26", "12640.1", "import"),
        ]
    );
}
both!(a_csv_with_one_bad_row_imports_nothing);

async fn only_administrators_and_heads_change_rates(t: TestApp) {
    let (s, v) = set(&t, "admin", "USD", "2026-11-27", "12650.45").await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let before = all_rates(&t).await;
    for who in ["sales_a1", "viewer", "marketer", "support"] {
        let (s, v) = set(&t, who, "USD", "2026-11-27", "1").await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{who}: {v}");
        let (s, v) = import(&t, who, "application/json", CBU_FEED).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{who}: {v}");
        let (s, v) = import(
            &t,
            who,
            "text/csv",
            "currency,date,rate\nEUR,2026-11-27,2\n",
        )
        .await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{who}: {v}");
        // Reading and converting is for everyone.
        let (s, v) = t.get(who, RATES).await;
        assert_eq!(
            (s, v["items"].as_array().map(Vec::len)),
            (StatusCode::OK, Some(1))
        );
        let (s, v) = t
            .get(
                who,
                &format!("{RATES}/convert?amount=2&currency=USD&date=2026-11-28"),
            )
            .await;
        assert_eq!(
            (s, &v["amount"]),
            (StatusCode::OK, &json!("25300.90")),
            "{v}"
        );
    }
    assert_eq!(all_rates(&t).await, before);
    // Without credentials: nothing at all.
    for (method, path) in [
        (reqwest::Method::GET, RATES.to_string()),
        (reqwest::Method::POST, RATES.to_string()),
        (reqwest::Method::POST, format!("{RATES}/import")),
        (
            reqwest::Method::GET,
            format!("{RATES}/convert?amount=1&currency=USD"),
        ),
    ] {
        let body = json!({"currency": "USD", "date": "2026-11-27", "rate": "1"});
        let (s, _, v) = t
            .request("nobody", method.clone(), &path, Some(&body), &[])
            .await;
        assert_eq!(s, StatusCode::UNAUTHORIZED, "{method} {path}: {v}");
    }
    assert_eq!(all_rates(&t).await, before);
}
both!(only_administrators_and_heads_change_rates);
