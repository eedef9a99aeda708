//! Exchange rates by date and the company's base currency.
//!
//! A rate says how many units of the base currency (the setting `base_currency`, UZS
//! unless set) one unit of a currency costs from its date on; it holds until the next
//! one. Amounts stay in integer minor units of their own currency and are converted only
//! when a report asks, at the rate of the day ([`rate_on`], [`to_base`]).

use crate::StoreError;
use crate::db::{Arg, Exec, Sql};
use chrono::NaiveDate;
use hamkor_domain::money::{self, Currency, Rate};
use hamkor_domain::{FieldError, Id, Timestamp};

/// The settings key of the base currency.
const BASE_KEY: &str = "base_currency";
/// The base currency of a database where none was chosen.
pub const DEFAULT_BASE: &str = "UZS";
/// Rows per `INSERT` when writing many rates: 7 values each keeps a statement far below
/// both engines' limits on bound values.
const BATCH: usize = 200;

/// Where a rate came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RateSource {
    /// Typed in by a person.
    Manual,
    /// Read from a file (the central bank's feed, a CSV).
    Import,
}

impl RateSource {
    pub fn as_str(self) -> &'static str {
        match self {
            RateSource::Manual => "manual",
            RateSource::Import => "import",
        }
    }

    fn parse(s: &str) -> Option<RateSource> {
        match s {
            "manual" => Some(RateSource::Manual),
            "import" => Some(RateSource::Import),
            _ => None,
        }
    }
}

/// A rate to write: one unit of `currency` costs `rate` units of the base currency from
/// `date` on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NewRate {
    pub currency: &'static Currency,
    pub date: NaiveDate,
    pub rate: Rate,
}

/// A stored rate, with who wrote it last and when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CurrencyRate {
    pub currency: &'static Currency,
    pub date: NaiveDate,
    pub rate: Rate,
    pub source: RateSource,
    pub created_by: Id,
    pub created_at: Timestamp,
}

/// Which rates [`list`] returns; every condition is optional except the limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateFilter {
    pub currency: Option<&'static Currency>,
    /// Included.
    pub from: Option<NaiveDate>,
    /// Included.
    pub to: Option<NaiveDate>,
    pub limit: i64,
}

/// An amount converted into the base currency, with the rate used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Converted {
    /// In minor units of `currency`.
    pub amount_minor: i64,
    /// The base currency.
    pub currency: &'static Currency,
    /// 1 for the base currency itself.
    pub rate: Rate,
    /// The date of the rate used; `None` for the base currency itself, which needs none.
    pub rate_date: Option<NaiveDate>,
}

/// The company's base currency: the setting `base_currency`, [`DEFAULT_BASE`] when unset.
/// A stored code Hamkor does not know is a configuration error, not a silent default.
pub async fn base_currency(ex: &mut impl Exec) -> Result<&'static Currency, StoreError> {
    let code = crate::settings::get(ex, BASE_KEY)
        .await?
        .unwrap_or_else(|| DEFAULT_BASE.to_string());
    money::currency(&code)
        .ok_or_else(|| StoreError::Config(format!("unknown base currency {code:?} in settings")))
}

/// Writes one rate, replacing the rate of that currency and day if there was one.
pub async fn upsert(
    ex: &mut impl Exec,
    rate: NewRate,
    source: RateSource,
    by: Id,
) -> Result<CurrencyRate, StoreError> {
    let now = Timestamp::now();
    upsert_many(ex, &[rate], source, by, now).await?;
    Ok(CurrencyRate {
        currency: rate.currency,
        date: rate.date,
        rate: rate.rate,
        source,
        created_by: by,
        created_at: now,
    })
}

/// Writes many rates, a few hundred per statement; run it in a transaction so a failure
/// leaves none. Each (currency, date) must occur once: PostgreSQL refuses to update the
/// same row twice in one statement.
pub async fn upsert_many(
    ex: &mut impl Exec,
    rates: &[NewRate],
    source: RateSource,
    by: Id,
    at: Timestamp,
) -> Result<(), StoreError> {
    for chunk in rates.chunks(BATCH) {
        let mut sql = Sql::new(
            "INSERT INTO currency_rates (currency, on_date, rate_micros, source, created_by, created_at) VALUES ",
        );
        for (i, r) in chunk.iter().enumerate() {
            sql.push(if i == 0 { "(" } else { ", (" })
                .bind(r.currency.code)
                .push(", ")
                .bind(Arg::Date(Some(r.date)))
                .push(", ")
                .bind(r.rate.micros())
                .push(", ")
                .bind(source.as_str())
                .push(", ")
                .bind(by)
                .push(", ")
                .bind(at)
                .push(")");
        }
        sql.push(
            " ON CONFLICT (currency, on_date) DO UPDATE SET rate_micros = excluded.rate_micros, \
             source = excluded.source, created_by = excluded.created_by, created_at = excluded.created_at",
        );
        ex.execute(&sql).await?;
    }
    Ok(())
}

/// Rates newest first (then by currency), at most `filter.limit`.
pub async fn list(
    ex: &mut impl Exec,
    filter: &RateFilter,
) -> Result<Vec<CurrencyRate>, StoreError> {
    let mut sql = Sql::new(
        "SELECT currency, on_date, rate_micros, source, created_by, created_at FROM currency_rates WHERE 1 = 1",
    );
    if let Some(c) = filter.currency {
        sql.push(" AND currency = ").bind(c.code);
    }
    if let Some(d) = filter.from {
        sql.push(" AND on_date >= ").bind(Arg::Date(Some(d)));
    }
    if let Some(d) = filter.to {
        sql.push(" AND on_date <= ").bind(Arg::Date(Some(d)));
    }
    sql.push(" ORDER BY on_date DESC, currency LIMIT ")
        .bind(filter.limit);
    let mut out = Vec::new();
    for r in ex.fetch_all(&sql).await? {
        let code = r.req_text("currency")?;
        let source = r.req_text("source")?;
        out.push(CurrencyRate {
            currency: money::currency(&code).ok_or_else(|| {
                StoreError::Decode(format!("column currency: unknown currency {code:?}"))
            })?,
            date: required_date(&r)?,
            rate: stored_rate(&r)?,
            source: RateSource::parse(&source).ok_or_else(|| {
                StoreError::Decode(format!("column source: unknown source {source:?}"))
            })?,
            created_by: r.req_id("created_by")?,
            created_at: r.req_ts("created_at")?,
        });
    }
    Ok(out)
}

fn required_date(r: &crate::Row) -> Result<NaiveDate, StoreError> {
    r.date("on_date")?
        .ok_or_else(|| StoreError::Decode("column on_date: unexpected NULL".into()))
}

fn stored_rate(r: &crate::Row) -> Result<Rate, StoreError> {
    let micros = r.req_int("rate_micros")?;
    Rate::from_micros(micros)
        .ok_or_else(|| StoreError::Decode(format!("column rate_micros: {micros} is not positive")))
}

/// The rate of `currency` on `date`: the latest one on or before it, with its own date.
/// One seek backwards in the primary key.
pub async fn rate_on(
    ex: &mut impl Exec,
    currency: &Currency,
    date: NaiveDate,
) -> Result<Option<(NaiveDate, Rate)>, StoreError> {
    let row = ex
        .fetch_optional(
            &Sql::new(
                "SELECT on_date, rate_micros FROM currency_rates WHERE currency = $1 AND on_date <= $2 \
                 ORDER BY on_date DESC LIMIT 1",
            )
            .arg(currency.code)
            .arg(Arg::Date(Some(date))),
        )
        .await?;
    row.map(|r| Ok((required_date(&r)?, stored_rate(&r)?)))
        .transpose()
}

/// `amount_minor` of `currency` in the base currency at the rate of `date`, with the rate
/// used; `None` when the currency has no rate on or before that day. The base currency
/// converts to itself. A result too large for `i64` is `error-amount-overflow` on `amount`.
pub async fn convert_to_base(
    ex: &mut impl Exec,
    amount_minor: i64,
    currency: &Currency,
    date: NaiveDate,
) -> Result<Option<Converted>, StoreError> {
    let base = base_currency(ex).await?;
    if base.code == currency.code {
        return Ok(Some(Converted {
            amount_minor,
            currency: base,
            rate: Rate::from_micros(Rate::SCALE)
                .ok_or_else(|| StoreError::Config("the unit rate is not positive".into()))?,
            rate_date: None,
        }));
    }
    let Some((rate_date, rate)) = rate_on(ex, currency, date).await? else {
        return Ok(None);
    };
    let amount_minor = money::convert(amount_minor, currency.minor_digits, rate, base.minor_digits)
        .ok_or_else(|| FieldError::new("amount", "error-amount-overflow"))?;
    Ok(Some(Converted {
        amount_minor,
        currency: base,
        rate,
        rate_date: Some(rate_date),
    }))
}

/// [`convert_to_base`] for reports that need only the figure: the amount in minor units
/// of the base currency, `None` without a rate.
pub async fn to_base(
    ex: &mut impl Exec,
    amount_minor: i64,
    currency: &Currency,
    date: NaiveDate,
) -> Result<Option<i64>, StoreError> {
    Ok(convert_to_base(ex, amount_minor, currency, date)
        .await?
        .map(|c| c.amount_minor))
}
