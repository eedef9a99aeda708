//! Exchange rates: entered by administrators and heads, or imported from the Central Bank
//! of Uzbekistan's daily feed or a CSV; read by everyone; used to convert amounts into
//! the company's base currency at the rate of the day.
//!
//! # Files
//!
//! The format is recognised from the content, whatever the content type says:
//!
//! - **The central bank's JSON** (<https://cbu.uz/uz/arkhiv-kursov-valyut/json/>): an
//!   array of objects such as `{"Ccy": "USD", "Rate": "12650.45", "Date": "28.11.2026",
//!   "Nominal": "1", …}`. `Rate` is the price of `Nominal` units in UZS, so it is divided
//!   by `Nominal` (rounded half away from zero to six decimals). Currencies Hamkor does
//!   not keep are skipped and named in the answer; other fields are ignored. The rates
//!   are in UZS, so this file is refused while the base currency is another one.
//! - **CSV** with the header `currency,date,rate` (`;` also separates, quotes as in
//!   RFC 4180), dates as `YYYY-MM-DD` or `DD.MM.YYYY`, the rate in the base currency.
//!   Here an unknown currency is an error: the file was written for us.
//!
//! All or nothing: one bad row refuses the file and writes no rate. Errors name the row
//! as `rows[i].Field`, `i` counting data rows from 0 (the header is not a row; in a CSV
//! row `i` is therefore usually on line `i + 2`). At most [`MAX_IMPORT_BYTES`] and
//! [`MAX_IMPORT_ROWS`]; reading stops after [`MAX_ERRORS`] problems.

use crate::{App, AppError, AppResult};
use chrono::{Duration, NaiveDate, Utc};
use hamkor_domain::money::{self, Currency, Rate};
use hamkor_domain::{FieldError, Role, Timestamp, ValidationErrors};
use hamkor_store::Actor;
use hamkor_store::currencies::{self, Converted, CurrencyRate, NewRate, RateFilter, RateSource};
use serde_json::Value;
use std::collections::{BTreeSet, HashSet};

/// The largest rates file accepted (2 MiB).
pub const MAX_IMPORT_BYTES: usize = 2 * 1024 * 1024;
/// The most rows a rates file may have.
pub const MAX_IMPORT_ROWS: usize = 10_000;
/// Past this many problems a file is not read further.
pub const MAX_ERRORS: usize = 20;
/// The most rates one listing returns.
pub const MAX_LIST: i64 = 500;
/// The largest `Nominal` of the central bank's feed (it uses 1, 10, 100 and 1000).
const MAX_NOMINAL: i64 = 1_000_000;

/// What an import did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Imported {
    /// Rates written (new or replacing the rate of that currency and day).
    pub imported: usize,
    /// Codes of the central bank's currencies Hamkor does not keep, sorted, each once.
    pub skipped: Vec<String>,
}

/// May this actor enter and import rates? Administrators and heads.
fn may_set_rates(actor: &Actor) -> bool {
    actor.is_admin() || actor.role == Role::Head
}

/// The latest date a rate may have: tomorrow wherever it is already tomorrow (UTC+14),
/// so the central bank's rate for the next day, published the evening before, is
/// accepted in every time zone. Anything later is a typo.
fn latest_rate_date() -> NaiveDate {
    (Utc::now() + Duration::hours(14)).date_naive() + Duration::days(1)
}

/// Reads a date as `YYYY-MM-DD` or, as the central bank and 1C write it, `DD.MM.YYYY`.
pub fn parse_date(text: &str, field: &str) -> Result<NaiveDate, FieldError> {
    let text = text.trim();
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .or_else(|_| NaiveDate::parse_from_str(text, "%d.%m.%Y"))
        .map_err(|_| FieldError::new(field, "error-type-date"))
}

/// A currency a rate may be set for: one Hamkor keeps, other than the base currency.
fn rate_currency(
    code: &str,
    base: &Currency,
    field: &str,
) -> Result<&'static Currency, FieldError> {
    let currency = money::parse_currency(code, field)?;
    if currency.code == base.code {
        return Err(FieldError::new(field, "error-base-currency").with("currency", base.code));
    }
    Ok(currency)
}

fn check_date(text: &str, field: &str, latest: NaiveDate) -> Result<NaiveDate, FieldError> {
    let date = parse_date(text, field)?;
    if date > latest {
        return Err(FieldError::new(field, "error-rate-date-future"));
    }
    Ok(date)
}

impl App {
    /// The company's base currency, into which reports convert.
    pub async fn base_currency(&self) -> AppResult<&'static Currency> {
        let mut db = self.db.clone();
        Ok(currencies::base_currency(&mut db).await?)
    }

    /// Sets the rate of `currency` from `date` on (administrators and heads): how many
    /// units of the base currency one unit costs, with at most six decimals. Replaces the
    /// rate of that day if there was one. Errors name `currency`, `date` and `rate`.
    pub async fn set_rate(
        &self,
        actor: &Actor,
        currency: &str,
        date: &str,
        rate: &str,
    ) -> AppResult<CurrencyRate> {
        if !may_set_rates(actor) {
            return Err(AppError::Forbidden);
        }
        let base = self.base_currency().await?;
        let mut errors = ValidationErrors::default();
        let required = |text: &str, field: &str| {
            if text.trim().is_empty() {
                Err(FieldError::new(field, "error-required"))
            } else {
                Ok(())
            }
        };
        let currency = required(currency, "currency")
            .and_then(|()| rate_currency(currency, base, "currency"))
            .map_err(|e| errors.push(e));
        let date = required(date, "date")
            .and_then(|()| check_date(date, "date", latest_rate_date()))
            .map_err(|e| errors.push(e));
        let rate = required(rate, "rate")
            .and_then(|()| Rate::parse(rate, "rate"))
            .map_err(|e| errors.push(e));
        let (Ok(currency), Ok(date), Ok(rate)) = (currency, date, rate) else {
            return Err(AppError::Invalid(errors));
        };
        let mut tx = self.db.begin().await?;
        let stored = currencies::upsert(
            &mut tx,
            NewRate {
                currency,
                date,
                rate,
            },
            RateSource::Manual,
            actor.user_id,
        )
        .await?;
        tx.commit().await?;
        Ok(stored)
    }

    /// Imports a rates file (see the module doc for the formats), all or nothing
    /// (administrators and heads). Costs one pass over the file and one statement per
    /// 200 rates, in one transaction.
    pub async fn import_rates(&self, actor: &Actor, bytes: &[u8]) -> AppResult<Imported> {
        if !may_set_rates(actor) {
            return Err(AppError::Forbidden);
        }
        let base = self.base_currency().await?;
        let (rates, skipped) = read_rates_file(bytes, base, latest_rate_date())?;
        let mut tx = self.db.begin().await?;
        currencies::upsert_many(
            &mut tx,
            &rates,
            RateSource::Import,
            actor.user_id,
            Timestamp::now(),
        )
        .await?;
        tx.commit().await?;
        Ok(Imported {
            imported: rates.len(),
            skipped,
        })
    }

    /// Rates newest first. Everyone who is logged in may read them. `to` before `from` is
    /// `error-period`; the limit is 1 to [`MAX_LIST`] (`error-limit`).
    pub async fn rates(&self, filter: RateFilter) -> AppResult<Vec<CurrencyRate>> {
        let mut errors = ValidationErrors::default();
        if let (Some(from), Some(to)) = (filter.from, filter.to)
            && to < from
        {
            errors.push(FieldError::new("to", "error-period"));
        }
        if !(1..=MAX_LIST).contains(&filter.limit) {
            errors.push(FieldError::new("limit", "error-limit").with("max", MAX_LIST));
        }
        errors.into_result()?;
        let mut db = self.db.clone();
        Ok(currencies::list(&mut db, &filter).await?)
    }

    /// `amount_minor` of `currency` in the base currency at the rate of `date` (the latest
    /// rate on or before it). Without such a rate: `error-no-rate` on `date`, naming the
    /// currency and the date.
    pub async fn convert_to_base(
        &self,
        amount_minor: i64,
        currency: &Currency,
        date: NaiveDate,
    ) -> AppResult<Converted> {
        let mut db = self.db.clone();
        currencies::convert_to_base(&mut db, amount_minor, currency, date)
            .await?
            .ok_or_else(|| {
                FieldError::new("date", "error-no-rate")
                    .with("currency", currency.code)
                    .with("date", date.format("%Y-%m-%d"))
                    .into()
            })
    }
}

/// Collects a file's problems, up to [`MAX_ERRORS`].
struct Problems(ValidationErrors);

impl Problems {
    fn push(&mut self, e: FieldError) {
        self.0.push(e);
    }
    fn full(&self) -> bool {
        self.0.0.len() >= MAX_ERRORS
    }
}

/// Reads a rates file into rates to write and the codes skipped; see the module doc.
fn read_rates_file(
    bytes: &[u8],
    base: &'static Currency,
    latest: NaiveDate,
) -> Result<(Vec<NewRate>, Vec<String>), ValidationErrors> {
    if bytes.len() > MAX_IMPORT_BYTES {
        return Err(FieldError::new("file", "error-file-too-large")
            .with("max", format!("{} MiB", MAX_IMPORT_BYTES / (1024 * 1024)))
            .into());
    }
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let Ok(text) = std::str::from_utf8(bytes) else {
        return Err(FieldError::new("file", "error-rates-file").into());
    };
    let (rates, skipped) = match text.trim_start().chars().next() {
        None => return Err(FieldError::new("file", "error-file-empty").into()),
        Some('[' | '{') => {
            if base.code != "UZS" {
                return Err(FieldError::new("file", "error-rates-cbu-base")
                    .with("currency", base.code)
                    .into());
            }
            read_cbu(text, base, latest)?
        }
        Some(_) => (read_csv(text, base, latest)?, Vec::new()),
    };
    if rates.is_empty() && skipped.is_empty() {
        return Err(FieldError::new("file", "error-file-empty").into());
    }
    Ok((rates, skipped))
}

/// The text of a JSON field the central bank writes as a string (numbers accepted too).
fn json_text(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// `rate ÷ nominal`, rounded half away from zero to a millionth (both are positive).
fn per_unit(rate: Rate, nominal: i64, field: &str) -> Result<Rate, FieldError> {
    let micros = (rate.micros() + nominal / 2) / nominal;
    Rate::from_micros(micros).ok_or_else(|| FieldError::new(field, "error-exchange-rate"))
}

/// The central bank's feed; see the module doc.
fn read_cbu(
    text: &str,
    base: &'static Currency,
    latest: NaiveDate,
) -> Result<(Vec<NewRate>, Vec<String>), ValidationErrors> {
    let value: Value = serde_json::from_str(text)
        .map_err(|_| ValidationErrors::from(FieldError::new("file", "error-malformed-json")))?;
    let Value::Array(items) = value else {
        return Err(FieldError::new("file", "error-type-list").into());
    };
    if items.len() > MAX_IMPORT_ROWS {
        return Err(FieldError::new("rows", "error-too-many")
            .with("max", MAX_IMPORT_ROWS)
            .into());
    }
    let mut problems = Problems(ValidationErrors::default());
    let mut rates = Vec::new();
    let mut skipped = BTreeSet::new();
    let mut seen = HashSet::new();
    for (i, item) in items.iter().enumerate() {
        if problems.full() {
            break;
        }
        let Some(obj) = item.as_object() else {
            problems.push(FieldError::new(format!("rows[{i}]"), "error-not-object"));
            continue;
        };
        let field = |name: &str| format!("rows[{i}].{name}");
        let Some(code) = json_text(obj.get("Ccy")) else {
            problems.push(FieldError::new(field("Ccy"), "error-required"));
            continue;
        };
        let currency = match money::currency(&code) {
            Some(c) if c.code != base.code => c,
            _ => {
                // Theirs, not ours: say which, without echoing anything odd back.
                let code = code.trim().to_ascii_uppercase();
                if code.len() <= 8 && code.chars().all(|c| c.is_ascii_alphanumeric()) {
                    skipped.insert(code);
                }
                continue;
            }
        };
        let rate = match json_text(obj.get("Rate")) {
            None => Err(FieldError::new(field("Rate"), "error-required")),
            Some(t) => Rate::parse(&t, &field("Rate")),
        };
        let nominal = match json_text(obj.get("Nominal")) {
            None => Ok(1),
            Some(t) => t
                .trim()
                .parse::<i64>()
                .ok()
                .filter(|n| (1..=MAX_NOMINAL).contains(n))
                .ok_or_else(|| FieldError::new(field("Nominal"), "error-type-number")),
        };
        let date = match json_text(obj.get("Date")) {
            None => Err(FieldError::new(field("Date"), "error-required")),
            Some(t) => check_date(&t, &field("Date"), latest),
        };
        match (rate, nominal, date) {
            (Ok(rate), Ok(nominal), Ok(date)) => match per_unit(rate, nominal, &field("Rate")) {
                Ok(rate) if seen.insert((currency.code, date)) => rates.push(NewRate {
                    currency,
                    date,
                    rate,
                }),
                Ok(_) => problems.push(FieldError::new(field("Ccy"), "error-duplicate")),
                Err(e) => problems.push(e),
            },
            (rate, nominal, date) => {
                for e in [rate.err(), nominal.err(), date.err()]
                    .into_iter()
                    .flatten()
                {
                    problems.push(e);
                }
            }
        }
    }
    problems.0.into_result()?;
    Ok((rates, skipped.into_iter().collect()))
}

/// Splits one CSV line into fields: `sep` between them, `"` around a field that holds
/// the separator, `""` for a quote inside one.
fn csv_fields(line: &str, sep: char) -> Option<Vec<String>> {
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut chars = line.chars().peekable();
    let mut quoted = false;
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') if field.trim().is_empty() => {
                field.clear();
                quoted = true;
            }
            (false, c) if c == sep => fields.push(std::mem::take(&mut field)),
            (false, c) => field.push(c),
        }
    }
    if quoted {
        return None;
    }
    fields.push(field);
    Some(fields)
}

/// A CSV `currency,date,rate`; see the module doc.
fn read_csv(
    text: &str,
    base: &'static Currency,
    latest: NaiveDate,
) -> Result<Vec<NewRate>, ValidationErrors> {
    let mut lines = text
        .lines()
        .map(|l| l.trim_end_matches('\r'))
        .filter(|l| !l.trim().is_empty());
    let header = lines.next().unwrap_or("");
    let sep = if header.contains(';') && !header.contains(',') {
        ';'
    } else {
        ','
    };
    let names: Option<Vec<String>> =
        csv_fields(header, sep).map(|f| f.iter().map(|n| n.trim().to_ascii_lowercase()).collect());
    if names.as_deref() != Some(&["currency".to_string(), "date".into(), "rate".into()][..]) {
        return Err(FieldError::new("file", "error-rates-file").into());
    }
    let mut problems = Problems(ValidationErrors::default());
    let mut rates = Vec::new();
    let mut seen = HashSet::new();
    for (i, line) in lines.enumerate() {
        if i >= MAX_IMPORT_ROWS {
            return Err(FieldError::new("rows", "error-too-many")
                .with("max", MAX_IMPORT_ROWS)
                .into());
        }
        if problems.full() {
            continue;
        }
        let row = format!("rows[{i}]");
        let Some([currency, date, rate]) =
            csv_fields(line, sep).and_then(|f| <[String; 3]>::try_from(f).ok())
        else {
            problems.push(FieldError::new(row, "error-rates-row"));
            continue;
        };
        let currency = rate_currency(&currency, base, &format!("{row}.currency"));
        let date = check_date(&date, &format!("{row}.date"), latest);
        let rate = Rate::parse(&rate, &format!("{row}.rate"));
        match (currency, date, rate) {
            (Ok(currency), Ok(date), Ok(rate)) => {
                if seen.insert((currency.code, date)) {
                    rates.push(NewRate {
                        currency,
                        date,
                        rate,
                    });
                } else {
                    problems.push(FieldError::new(row, "error-duplicate"));
                }
            }
            (currency, date, rate) => {
                for e in [currency.err(), date.err(), rate.err()]
                    .into_iter()
                    .flatten()
                {
                    problems.push(e);
                }
            }
        }
    }
    problems.0.into_result()?;
    Ok(rates)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn uzs() -> &'static Currency {
        money::currency("UZS").unwrap()
    }

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn fields(e: &ValidationErrors) -> Vec<(&str, &str)> {
        e.0.iter().map(|e| (e.field.as_str(), e.key)).collect()
    }

    #[test]
    fn the_central_banks_feed_is_read_per_unit() {
        let feed = r#"[
            {"id":69,"Code":"840","Ccy":"USD","CcyNm_RU":"Доллар США","Nominal":"1","Rate":"12650.45","Diff":"-3.2","Date":"28.11.2026"},
            {"id":21,"Code":"392","Ccy":"JPY","Nominal":"10","Rate":"843.17","Date":"28.11.2026"},
            {"id":1,"Code":"784","Ccy":"AED","Nominal":"1","Rate":"3444.40","Date":"28.11.2026"},
            {"id":2,"Code":"960","Ccy":"XDR","Nominal":"1","Rate":"garbage","Date":"nonsense"},
            {"id":3,"Code":"643","Ccy":"RUB","Nominal":"1","Rate":"158.01","Date":"27.11.2026"}
        ]"#;
        let (rates, skipped) = read_rates_file(feed.as_bytes(), uzs(), day("2026-11-29")).unwrap();
        let got: Vec<_> = rates
            .iter()
            .map(|r| (r.currency.code, r.date, r.rate.format()))
            .collect();
        assert_eq!(
            got,
            [
                ("USD", day("2026-11-28"), "12650.45".to_string()),
                // 10 yen cost 843.17 sum: one costs 84.317.
                ("JPY", day("2026-11-28"), "84.317".to_string()),
                ("RUB", day("2026-11-27"), "158.01".to_string()),
            ]
        );
        assert_eq!(skipped, ["AED", "XDR"]);
        // Division rounds half away from zero to a millionth.
        let r = per_unit(Rate::parse("0.000015", "r").unwrap(), 10, "r").unwrap();
        assert_eq!(r.micros(), 2);
        assert_eq!(
            per_unit(Rate::parse("0.000004", "r").unwrap(), 10, "r")
                .unwrap_err()
                .key,
            "error-exchange-rate"
        );
    }

    #[test]
    fn a_bad_feed_names_each_row() {
        let feed = r#"[
            {"Ccy":"USD","Nominal":"1","Rate":"12650.45","Date":"28.11.2026"},
            {"Ccy":"EUR","Nominal":"0","Rate":"-1","Date":"31.11.2026"},
            7,
            {"Rate":"1"},
            {"Ccy":"USD","Nominal":"1","Rate":"12650.45","Date":"2026-11-28"},
            {"Ccy":"RUB","Rate":"158","Date":"01.12.2026"}
        ]"#;
        let e = read_rates_file(feed.as_bytes(), uzs(), day("2026-11-29")).unwrap_err();
        assert_eq!(
            fields(&e),
            [
                ("rows[1].Rate", "error-negative"),
                ("rows[1].Nominal", "error-type-number"),
                ("rows[1].Date", "error-type-date"),
                ("rows[2]", "error-not-object"),
                ("rows[3].Ccy", "error-required"),
                ("rows[4].Ccy", "error-duplicate"),
                ("rows[5].Date", "error-rate-date-future"),
            ]
        );
        let usd = money::currency("USD").unwrap();
        for (text, key) in [
            ("{", "error-malformed-json"),
            ("{}", "error-type-list"),
            ("[]", "error-file-empty"),
            ("   ", "error-file-empty"),
        ] {
            let e = read_rates_file(text.as_bytes(), uzs(), day("2026-11-29")).unwrap_err();
            assert_eq!(fields(&e), [("file", key)], "{text}");
        }
        let e = read_rates_file(b"[]", usd, day("2026-11-29")).unwrap_err();
        assert_eq!(fields(&e), [("file", "error-rates-cbu-base")]);
        let big = vec![b' '; MAX_IMPORT_BYTES + 1];
        let e = read_rates_file(&big, uzs(), day("2026-11-29")).unwrap_err();
        assert_eq!(fields(&e), [("file", "error-file-too-large")]);
    }

    #[test]
    fn csv_rows_are_read_or_named() {
        let csv = "\u{feff}Currency,Date,Rate\r\nUSD,2026-11-28,12650.45\r\n\r\neur,27.11.2026,\"13 120,5\"\r\n";
        let (rates, skipped) = read_rates_file(csv.as_bytes(), uzs(), day("2026-11-29")).unwrap();
        assert!(skipped.is_empty());
        let got: Vec<_> = rates
            .iter()
            .map(|r| (r.currency.code, r.date, r.rate.micros()))
            .collect();
        assert_eq!(
            got,
            [
                ("USD", day("2026-11-28"), 12_650_450_000),
                ("EUR", day("2026-11-27"), 13_120_500_000),
            ]
        );
        let semi = "currency;date;rate\nRUB;2026-11-28;158,01\n";
        let (rates, _) = read_rates_file(semi.as_bytes(), uzs(), day("2026-11-29")).unwrap();
        assert_eq!(rates[0].rate.micros(), 158_010_000);

        let bad = "currency,date,rate\nUSD,2026-11-28,12650.45\nXAU,2026-11-28,1\nUZS,2026-11-28,1\nEUR,2026-13-01,1.0000001\nUSD,2026-11-28,1\nUSD,2026-11-27\n\"USD,2026-11-27,1\n";
        let e = read_rates_file(bad.as_bytes(), uzs(), day("2026-11-29")).unwrap_err();
        assert_eq!(
            fields(&e),
            [
                ("rows[1].currency", "error-currency"),
                ("rows[2].currency", "error-base-currency"),
                ("rows[3].date", "error-type-date"),
                ("rows[3].rate", "error-amount-decimals"),
                ("rows[4]", "error-duplicate"),
                ("rows[5]", "error-rates-row"),
                ("rows[6]", "error-rates-row"),
            ]
        );
        for text in ["code,day,rate\nUSD,2026-11-28,1\n", "USD,2026-11-28,1\n"] {
            let e = read_rates_file(text.as_bytes(), uzs(), day("2026-11-29")).unwrap_err();
            assert_eq!(fields(&e), [("file", "error-rates-file")], "{text}");
        }
        let e = read_rates_file(b"currency,date,rate\n", uzs(), day("2026-11-29")).unwrap_err();
        assert_eq!(fields(&e), [("file", "error-file-empty")]);
        let mut many = String::from("currency,date,rate\n");
        for _ in 0..=MAX_IMPORT_ROWS {
            many.push_str("USD,2026-11-28,1\n");
        }
        let e = read_rates_file(many.as_bytes(), uzs(), day("2026-11-29")).unwrap_err();
        assert_eq!(fields(&e), [("rows", "error-too-many")]);
        // A file of nothing but bad rows stops at MAX_ERRORS problems.
        let mut bad = String::from("currency,date,rate\n");
        for _ in 0..100 {
            bad.push_str("XXX,2026-11-28,1\n");
        }
        let e = read_rates_file(bad.as_bytes(), uzs(), day("2026-11-29")).unwrap_err();
        assert_eq!(e.0.len(), MAX_ERRORS);
    }

    #[test]
    fn csv_fields_follow_rfc_4180() {
        assert_eq!(
            csv_fields(r#"a,"b,c","d""e",,"#, ',').unwrap(),
            ["a", "b,c", "d\"e", "", ""]
        );
        assert_eq!(csv_fields("\"open", ','), None);
    }
}
