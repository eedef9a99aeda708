//! Money and the exact arithmetic of quotes, orders and invoices.
//!
//! An amount is an integer count of a currency's minor units (tiyin, kopecks, cents; yen
//! have none, Kuwaiti dinars have three) plus its ISO 4217 code. Nothing here uses floating
//! point: every computation runs in `i128` and is checked back into `i64`, so an amount that
//! does not fit is an `error-amount-overflow` naming the field, never a panic or a wrap.
//!
//! # Rounding
//!
//! Half away from zero ("commercial" rounding: 0.5 → 1, −0.5 → −1), once per line at the
//! end of each step, as accountants and 1C do:
//!
//! 1. `gross = round(quantity × unit_price)`;
//! 2. `discount = round(gross × percent)` for a percentage, or the fixed amount as given;
//! 3. `after discount = gross − discount`;
//! 4. prices without VAT ([`VatMode::Excluded`]): `net = after discount`,
//!    `vat = round(net × rate)`, `total = net + vat`;
//!    prices with VAT ([`VatMode::Included`], usual in Russian and Uzbek retail):
//!    `total = after discount`, `vat = round(total × rate / (1 + rate))`, `net = total − vat`.
//!
//! So `gross` and `discount` are on the same footing as the prices (with VAT when prices
//! include it), and `total == net + vat` always holds on each line. Document totals are the
//! sums of the rounded lines, so the printed invoice adds up to the last tiyin; the VAT of
//! the document may therefore differ by a few minor units from the VAT of its rounded total.
//! The breakdown per rate is what 1C prints as "В том числе НДС 12%".
//!
//! Exchange ([`convert`], [`convert_inverse`]) rounds half away from zero once, at the end.
//!
//! # Limits
//!
//! A quantity is at most 1,000,000,000.000, a unit price at most 10^15 minor units, a
//! document at most 1,000 lines; every result must fit in `i64` minor units.
//!
//! # Errors
//!
//! Each names its field (`lines[3].quantity`; the caller names plain amounts):
//! `error-negative`, `error-quantity-zero`, `error-discount-too-large` (with `max` for a
//! percentage), `error-vat-rate` (with `max`), `error-currency` (with `options`),
//! `error-amount-decimals` (with `max`, and `currency` for amounts), `error-type-amount`
//! (a malformed amount), `error-type-number` (a malformed quantity or percentage),
//! `error-amount-overflow` (with `max` where a limit was passed), `error-too-many` (with
//! `max`), `error-exchange-rate` (a rate of zero).
//!
//! `custom::parse_money_minor` and `custom::format_minor` are the two-decimal special case
//! of [`parse_amount`] and [`format_amount`]; a test keeps them in agreement.

use std::collections::BTreeMap;
use std::fmt;

use serde::de::Error as _;
use serde::ser::SerializeStruct;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::validation::{FieldError, ValidationErrors};

/// A currency we accept: its ISO 4217 code and how many decimals its minor unit has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Currency {
    /// Upper-case ISO 4217 code, e.g. `UZS`.
    pub code: &'static str,
    /// Decimals of the minor unit: 2 for UZS (tiyin), 0 for JPY, 3 for KWD.
    pub minor_digits: u8,
}

/// The currencies Hamkor accepts, in the order a picker shows them.
pub const CURRENCIES: &[Currency] = &[
    Currency {
        code: "UZS",
        minor_digits: 2,
    },
    Currency {
        code: "RUB",
        minor_digits: 2,
    },
    Currency {
        code: "KZT",
        minor_digits: 2,
    },
    Currency {
        code: "USD",
        minor_digits: 2,
    },
    Currency {
        code: "EUR",
        minor_digits: 2,
    },
    Currency {
        code: "CNY",
        minor_digits: 2,
    },
    Currency {
        code: "JPY",
        minor_digits: 0,
    },
    Currency {
        code: "KWD",
        minor_digits: 3,
    },
];

/// The currency with this code (surrounding spaces and case ignored), if we accept it.
pub fn currency(code: &str) -> Option<&'static Currency> {
    let code = code.trim();
    CURRENCIES
        .iter()
        .find(|c| c.code.eq_ignore_ascii_case(code))
}

/// [`currency`] for input: an unknown code is `error-currency` on `field`, listing the
/// accepted codes as `options`.
pub fn parse_currency(code: &str, field: &str) -> Result<&'static Currency, FieldError> {
    currency(code).ok_or_else(|| {
        let options: Vec<&str> = CURRENCIES.iter().map(|c| c.code).collect();
        FieldError::new(field, "error-currency").with("options", options.join(", "))
    })
}

/// Most quantity a line may have, in thousandths (1,000,000,000.000 units).
pub const MAX_QUANTITY: Quantity = Quantity(1_000_000_000_000);
/// Most unit price a line may have, in minor units.
pub const MAX_UNIT_PRICE: i64 = 1_000_000_000_000_000;
/// Most lines a quote, order or invoice may have.
pub const MAX_LINES: usize = 1_000;

/// An amount in minor units of a currency.
///
/// Serialised as `{"amount": "1500.50", "currency": "UZS"}`; read from the same shape, the
/// amount as text (`"1 500,50"`) or a JSON number. Ordering is by currency, then amount:
/// it serves sorted maps, since amounts of different currencies do not compare.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Money {
    /// The currency, one of [`CURRENCIES`].
    pub currency: &'static Currency,
    /// The amount in minor units (tiyin for UZS).
    pub minor: i64,
}

impl Money {
    /// `minor` units of `currency`.
    pub fn new(minor: i64, currency: &'static Currency) -> Money {
        Money { currency, minor }
    }

    /// Reads an amount as people type it (`"1 500,50"`, `"1500.5"`, `"-3"`) in the currency
    /// with this code. All errors name `field`: see [`parse_amount`] and [`parse_currency`].
    pub fn parse(amount: &str, currency: &str, field: &str) -> Result<Money, FieldError> {
        let currency = parse_currency(currency, field)?;
        Ok(Money::new(parse_amount(amount, currency, field)?, currency))
    }

    /// The amount as the API shows it, with exactly the currency's decimals: `"1500.50"`.
    pub fn format(&self) -> String {
        format_amount(self.minor, self.currency.minor_digits)
    }

    /// The sum, or `None` when the currencies differ or the sum does not fit.
    pub fn checked_add(self, other: Money) -> Option<Money> {
        if self.currency != other.currency {
            return None;
        }
        Some(Money::new(
            self.minor.checked_add(other.minor)?,
            self.currency,
        ))
    }

    /// The difference, or `None` when the currencies differ or it does not fit.
    pub fn checked_sub(self, other: Money) -> Option<Money> {
        if self.currency != other.currency {
            return None;
        }
        Some(Money::new(
            self.minor.checked_sub(other.minor)?,
            self.currency,
        ))
    }

    /// The amount times a quantity, rounded half away from zero to a minor unit, or `None`
    /// when it does not fit.
    pub fn checked_mul_qty(self, quantity: Quantity) -> Option<Money> {
        let product = div_round(
            i128::from(self.minor) * i128::from(quantity.0),
            i128::from(Quantity::SCALE),
        );
        Some(Money::new(i64::try_from(product).ok()?, self.currency))
    }
}

/// `1500.50 UZS`.
impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.format(), self.currency.code)
    }
}

impl Serialize for Money {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut s = serializer.serialize_struct("Money", 2)?;
        s.serialize_field("amount", &self.format())?;
        s.serialize_field("currency", self.currency.code)?;
        s.end()
    }
}

impl<'de> Deserialize<'de> for Money {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Money, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Amount {
            Text(String),
            Integer(i64),
            // Printed back in its shortest exact form, so 0.1 reads as "0.1".
            Float(f64),
        }
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Raw {
            amount: Amount,
            currency: String,
        }
        let raw = Raw::deserialize(deserializer)?;
        let amount = match raw.amount {
            Amount::Text(s) => s,
            Amount::Integer(i) => i.to_string(),
            Amount::Float(f) => f.to_string(),
        };
        Money::parse(&amount, &raw.currency, "amount").map_err(|e| D::Error::custom(e.key))
    }
}

/// Reads an amount of `currency` into minor units: digits with an optional leading minus,
/// spaces (also no-break ones) between thousands, `.` or `,` before the decimals.
///
/// Trailing zeros beyond the currency's decimals are accepted (`"1500.000"` UZS,
/// `"1980.00"` JPY), other extra decimals are not: `"10.005"` UZS is
/// `error-amount-decimals`, not silently rounded. Anything else is `error-type-amount`;
/// more than fits in `i64` is `error-amount-overflow`. Negative amounts are read (a refund);
/// [`line_totals`] refuses them on lines.
pub fn parse_amount(text: &str, currency: &Currency, field: &str) -> Result<i64, FieldError> {
    parse_decimal(text, currency.minor_digits).map_err(|e| match e {
        DecimalError::Malformed => FieldError::new(field, "error-type-amount"),
        DecimalError::TooManyDecimals => FieldError::new(field, "error-amount-decimals")
            .with("max", currency.minor_digits)
            .with("currency", currency.code),
        DecimalError::Overflow => FieldError::new(field, "error-amount-overflow"),
    })
}

/// Minor units as a plain decimal with exactly `minor_digits` decimals: `150050` with 2
/// gives `"1500.50"`, `1980` with 0 gives `"1980"`, `-5` with 3 gives `"-0.005"`.
pub fn format_amount(minor: i64, minor_digits: u8) -> String {
    format_scaled(minor, minor_digits, false)
}

/// Minor units of the currency `code` as a plain decimal with that currency's digits (two
/// for a code Hamkor does not keep).
pub fn format_in(minor: i64, code: &str) -> String {
    format_amount(minor, digits_of(code))
}

/// Minor units of the currency `code` as a number of whole units, for spreadsheets.
pub fn units_in(minor: i64, code: &str) -> f64 {
    minor as f64 / 10f64.powi(i32::from(digits_of(code)))
}

fn digits_of(code: &str) -> u8 {
    currency(code).map(|c| c.minor_digits).unwrap_or(2)
}

/// A quantity with up to three decimals (kilograms, metres, hours), in thousandths.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Quantity(pub i64);

impl Quantity {
    /// Thousandths in one unit.
    pub const SCALE: i64 = 1000;
    /// Decimals a quantity may have.
    pub const DIGITS: u8 = 3;

    /// A whole number of units (`None` if it does not fit).
    pub fn units(n: i64) -> Option<Quantity> {
        n.checked_mul(Quantity::SCALE).map(Quantity)
    }

    /// Reads `"2.345"`, `"2,5"`, `"1 000"`. More than three decimals is
    /// `error-amount-decimals` (with `max`), anything not a number `error-type-number`,
    /// more than fits `error-amount-overflow`. Signs and limits are checked by
    /// [`line_totals`], where the line's field name is known.
    pub fn parse(text: &str, field: &str) -> Result<Quantity, FieldError> {
        parse_decimal(text, Quantity::DIGITS)
            .map(Quantity)
            .map_err(|e| match e {
                DecimalError::Malformed => FieldError::new(field, "error-type-number"),
                DecimalError::TooManyDecimals => {
                    FieldError::new(field, "error-amount-decimals").with("max", Quantity::DIGITS)
                }
                DecimalError::Overflow => FieldError::new(field, "error-amount-overflow"),
            })
    }

    /// The quantity without needless zeros: `"2.345"`, `"2.5"`, `"3"`.
    pub fn format(&self) -> String {
        format_scaled(self.0, Quantity::DIGITS, true)
    }
}

/// Reads a percentage with up to two decimals into basis points: `"12"` is 1200,
/// `"7,5"` is 750. A negative value is `error-negative`; upper bounds depend on use
/// (a discount, a VAT rate) and are checked by [`line_totals`].
pub fn parse_percent(text: &str, field: &str) -> Result<u32, FieldError> {
    let bp = parse_decimal(text, 2).map_err(|e| match e {
        DecimalError::Malformed => FieldError::new(field, "error-type-number"),
        DecimalError::TooManyDecimals => {
            FieldError::new(field, "error-amount-decimals").with("max", 2)
        }
        DecimalError::Overflow => FieldError::new(field, "error-amount-overflow"),
    })?;
    if bp < 0 {
        return Err(FieldError::new(field, "error-negative"));
    }
    u32::try_from(bp).map_err(|_| FieldError::new(field, "error-amount-overflow"))
}

/// A line's discount.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Discount {
    /// No discount.
    #[default]
    None,
    /// A percentage in basis points (750 = 7.5%), at most 10000.
    Percent(u32),
    /// A fixed amount in minor units for the whole line, at most the line's gross; with
    /// VAT when prices include VAT.
    Amount(i64),
}

/// Whether unit prices include VAT.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum VatMode {
    /// Prices are without VAT; VAT is added on top (usual between companies).
    Excluded,
    /// Prices include VAT, which is then extracted from them (usual in retail).
    Included,
}

/// One line of a quote, order or invoice, as the arithmetic needs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineInput {
    /// How many units, in thousandths.
    pub quantity: Quantity,
    /// Price of one unit in minor units (with VAT under [`VatMode::Included`]).
    pub unit_price: i64,
    /// The line's discount.
    pub discount: Discount,
    /// VAT rate in basis points: 1200 is 12%, 0 is a zero rate.
    pub vat_rate_bp: u32,
}

/// The computed amounts of one line, in minor units.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LineTotals {
    /// Quantity × unit price, before the discount (with VAT when prices include it).
    pub gross: i64,
    /// The discount taken off `gross`.
    pub discount: i64,
    /// Without VAT.
    pub net: i64,
    /// The VAT.
    pub vat: i64,
    /// With VAT: `net + vat`.
    pub total: i64,
}

/// The VAT of one rate across a document ("В том числе НДС 12%").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VatBreakdown {
    /// The rate in basis points.
    pub rate_bp: u32,
    /// Sum of the lines' `net` at this rate.
    pub net: i64,
    /// Sum of the lines' `vat` at this rate.
    pub vat: i64,
    /// Sum of the lines' `total` at this rate.
    pub total: i64,
}

/// The totals of a document: sums of its rounded lines.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DocumentTotals {
    /// Sum of the lines' `gross`.
    pub gross: i64,
    /// Sum of the lines' discounts.
    pub discount: i64,
    /// Sum of the lines' `net` (without VAT).
    pub net: i64,
    /// Sum of the lines' VAT.
    pub vat: i64,
    /// Sum of the lines' `total` (with VAT); equals `net + vat`.
    pub total: i64,
    /// The same per VAT rate, lowest rate first; only rates that occur.
    pub by_rate: Vec<VatBreakdown>,
}

/// Computes one line (see the module doc for the rounding), the `index`-th of its document
/// (from 0): errors name `lines[{index}].quantity`, `.unit_price`, `.discount`, `.vat_rate`,
/// or `lines[{index}]` when a computed amount overflows. All problems of the line's input
/// are reported together. `currency` only shapes the messages (the `max` of a price).
pub fn line_totals(
    line: &LineInput,
    index: usize,
    mode: VatMode,
    currency: &Currency,
) -> Result<LineTotals, ValidationErrors> {
    let field = |name: &str| format!("lines[{index}].{name}");
    let mut errors = ValidationErrors::default();

    let quantity = line.quantity.0;
    if quantity < 0 {
        errors.push(FieldError::new(field("quantity"), "error-negative"));
    } else if quantity == 0 {
        errors.push(FieldError::new(field("quantity"), "error-quantity-zero"));
    } else if quantity > MAX_QUANTITY.0 {
        errors.push(
            FieldError::new(field("quantity"), "error-amount-overflow")
                .with("max", MAX_QUANTITY.format()),
        );
    }
    if line.unit_price < 0 {
        errors.push(FieldError::new(field("unit_price"), "error-negative"));
    } else if line.unit_price > MAX_UNIT_PRICE {
        errors.push(
            FieldError::new(field("unit_price"), "error-amount-overflow")
                .with("max", format_amount(MAX_UNIT_PRICE, currency.minor_digits)),
        );
    }
    match line.discount {
        Discount::Percent(bp) if bp > 10_000 => errors.push(
            FieldError::new(field("discount"), "error-discount-too-large").with("max", "100"),
        ),
        Discount::Amount(a) if a < 0 => {
            errors.push(FieldError::new(field("discount"), "error-negative"))
        }
        _ => {}
    }
    if line.vat_rate_bp > 10_000 {
        errors.push(FieldError::new(field("vat_rate"), "error-vat-rate").with("max", "100"));
    }
    if !errors.is_empty() {
        return Err(errors);
    }

    let overflow = || {
        ValidationErrors::from(FieldError::new(
            format!("lines[{index}]"),
            "error-amount-overflow",
        ))
    };
    let fit = |v: i128| i64::try_from(v).map_err(|_| overflow());

    let gross = fit(div_round(
        i128::from(quantity) * i128::from(line.unit_price),
        i128::from(Quantity::SCALE),
    ))?;
    let discount = match line.discount {
        Discount::None => 0,
        Discount::Percent(bp) => fit(div_round(i128::from(gross) * i128::from(bp), 10_000))?,
        Discount::Amount(a) if a > gross => {
            return Err(FieldError::new(field("discount"), "error-discount-too-large").into());
        }
        Discount::Amount(a) => a,
    };
    // Both are non-negative and discount ≤ gross, so this cannot overflow.
    let after_discount = gross - discount;
    let rate = i128::from(line.vat_rate_bp);
    let (net, vat, total) = match mode {
        VatMode::Excluded => {
            let vat = fit(div_round(i128::from(after_discount) * rate, 10_000))?;
            let total = after_discount.checked_add(vat).ok_or_else(overflow)?;
            (after_discount, vat, total)
        }
        VatMode::Included => {
            // vat ≤ total, so net stays within 0..=total.
            let vat = fit(div_round(i128::from(after_discount) * rate, 10_000 + rate))?;
            (after_discount - vat, vat, after_discount)
        }
    };
    Ok(LineTotals {
        gross,
        discount,
        net,
        vat,
        total,
    })
}

/// Computes every line and the document's totals. All lines' errors are reported at once;
/// more than [`MAX_LINES`] lines is `error-too-many` on `lines`, a sum that does not fit is
/// `error-amount-overflow` on `total`. No lines give zero totals.
pub fn document_totals(
    lines: &[LineInput],
    mode: VatMode,
    currency: &Currency,
) -> Result<(Vec<LineTotals>, DocumentTotals), ValidationErrors> {
    if lines.len() > MAX_LINES {
        return Err(FieldError::new("lines", "error-too-many")
            .with("max", MAX_LINES)
            .into());
    }
    let mut errors = ValidationErrors::default();
    let mut computed = Vec::with_capacity(lines.len());
    for (index, line) in lines.iter().enumerate() {
        match line_totals(line, index, mode, currency) {
            Ok(t) => computed.push(t),
            Err(e) => errors.0.extend(e.0),
        }
    }
    errors.into_result()?;

    // i128 sums cannot overflow: at most 1,000 terms of at most i64::MAX each.
    #[derive(Default)]
    struct Sums {
        gross: i128,
        discount: i128,
        net: i128,
        vat: i128,
        total: i128,
    }
    let mut all = Sums::default();
    let mut by_rate: BTreeMap<u32, Sums> = BTreeMap::new();
    for (line, t) in lines.iter().zip(&computed) {
        for sums in [&mut all, by_rate.entry(line.vat_rate_bp).or_default()] {
            sums.gross += i128::from(t.gross);
            sums.discount += i128::from(t.discount);
            sums.net += i128::from(t.net);
            sums.vat += i128::from(t.vat);
            sums.total += i128::from(t.total);
        }
    }
    let fit =
        |v: i128| i64::try_from(v).map_err(|_| FieldError::new("total", "error-amount-overflow"));
    let totals = DocumentTotals {
        gross: fit(all.gross)?,
        discount: fit(all.discount)?,
        net: fit(all.net)?,
        vat: fit(all.vat)?,
        total: fit(all.total)?,
        by_rate: by_rate
            .into_iter()
            .map(|(rate_bp, s)| {
                Ok(VatBreakdown {
                    rate_bp,
                    net: fit(s.net)?,
                    vat: fit(s.vat)?,
                    total: fit(s.total)?,
                })
            })
            .collect::<Result<_, FieldError>>()?,
    };
    Ok((computed, totals))
}

/// An exchange rate: how many units of the quote currency one unit of the base currency is
/// worth, with up to six decimals ("1 USD = 12 650.45 UZS" is 12650.45 with base USD,
/// quote UZS). Always positive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Rate(i64);

impl Rate {
    /// Millionths in one unit of a rate.
    pub const SCALE: i64 = 1_000_000;
    /// Decimals a rate may have.
    pub const DIGITS: u8 = 6;

    /// A rate from millionths (`12_650_450_000` is 12650.45); `None` unless positive.
    pub fn from_micros(micros: i64) -> Option<Rate> {
        (micros > 0).then_some(Rate(micros))
    }

    /// The rate in millionths.
    pub fn micros(self) -> i64 {
        self.0
    }

    /// Reads `"12 650,45"` or `"0.000079"`. Negative is `error-negative`, zero
    /// `error-exchange-rate`, more than six decimals `error-amount-decimals`, anything not
    /// a number `error-type-number`.
    pub fn parse(text: &str, field: &str) -> Result<Rate, FieldError> {
        let micros = parse_decimal(text, Rate::DIGITS).map_err(|e| match e {
            DecimalError::Malformed => FieldError::new(field, "error-type-number"),
            DecimalError::TooManyDecimals => {
                FieldError::new(field, "error-amount-decimals").with("max", Rate::DIGITS)
            }
            DecimalError::Overflow => FieldError::new(field, "error-amount-overflow"),
        })?;
        if micros < 0 {
            return Err(FieldError::new(field, "error-negative"));
        }
        Rate::from_micros(micros).ok_or_else(|| FieldError::new(field, "error-exchange-rate"))
    }

    /// The rate as a plain decimal without needless zeros: `"12650.45"`.
    pub fn format(&self) -> String {
        format_scaled(self.0, Rate::DIGITS, true)
    }
}

/// Converts an amount of the rate's base currency (with `from_digits` minor digits) into
/// its quote currency (`to_digits`): amount × rate, rounded half away from zero to the
/// quote currency's minor unit. `None` when the result does not fit in `i64`.
pub fn convert(amount_minor: i64, from_digits: u8, rate: Rate, to_digits: u8) -> Option<i64> {
    // amount × rate × 10^to / (10^from × 10^6)
    scale_ratio(
        i128::from(amount_minor).checked_mul(i128::from(rate.0))?,
        i32::from(to_digits) - i32::from(from_digits) - i32::from(Rate::DIGITS),
        1,
    )
}

/// The other way: converts an amount of the rate's quote currency (`from_digits`) into its
/// base currency (`to_digits`): amount ÷ rate, rounded half away from zero once. With the
/// central bank's "1 USD = 12 650.45 UZS" this turns UZS into USD without the precision an
/// inverted six-decimal rate would lose. `None` when the result does not fit in `i64`.
pub fn convert_inverse(
    amount_minor: i64,
    from_digits: u8,
    rate: Rate,
    to_digits: u8,
) -> Option<i64> {
    // amount × 10^6 × 10^to / (10^from × rate)
    scale_ratio(
        i128::from(amount_minor),
        i32::from(to_digits) + i32::from(Rate::DIGITS) - i32::from(from_digits),
        i128::from(rate.0),
    )
}

/// `n × 10^exp / d`, rounded half away from zero, if it fits in `i64`; `d` is positive.
fn scale_ratio(n: i128, exp: i32, d: i128) -> Option<i64> {
    let power = 10i128.checked_pow(exp.unsigned_abs())?;
    let value = if exp >= 0 {
        div_round(n.checked_mul(power)?, d)
    } else {
        div_round(n, d.checked_mul(power)?)
    };
    i64::try_from(value).ok()
}

/// `n / d` rounded half away from zero; `d` must be positive.
fn div_round(n: i128, d: i128) -> i128 {
    debug_assert!(d > 0);
    let (q, r) = (n / d, n % d);
    // |r| < d, so comparing |r| with d − |r| is "at least half" without overflow.
    if r.abs() >= d - r.abs() {
        q + n.signum()
    } else {
        q
    }
}

/// Why a decimal could not be read.
enum DecimalError {
    Malformed,
    TooManyDecimals,
    Overflow,
}

/// Reads a decimal into an integer count of 10^-`digits` (`"1 500,5"` with 2 is 150050).
/// Spaces may group the whole part; `.` or `,` starts the decimals; trailing zeros beyond
/// `digits` are fine, other decimals are not.
fn parse_decimal(text: &str, digits: u8) -> Result<i64, DecimalError> {
    let text = text.trim();
    let (negative, rest) = match text.strip_prefix(['-', '\u{2212}']) {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let mut value: i128 = 0;
    let mut whole_digits = 0usize;
    let mut fraction: Option<&str> = None;
    for (at, c) in rest.char_indices() {
        match c {
            '0'..='9' => {
                value = value
                    .checked_mul(10)
                    .and_then(|v| v.checked_add(i128::from(c as u8 - b'0')))
                    .ok_or(DecimalError::Overflow)?;
                whole_digits += 1;
            }
            ' ' | '\u{a0}' | '\u{202f}' | '\u{2009}' if whole_digits > 0 => {}
            '.' | ',' => {
                fraction = Some(&rest[at + c.len_utf8()..]);
                break;
            }
            _ => return Err(DecimalError::Malformed),
        }
    }
    if whole_digits == 0 {
        return Err(DecimalError::Malformed);
    }
    let mut fraction_value: i128 = 0;
    if let Some(fraction) = fraction {
        if fraction.is_empty() || !fraction.bytes().all(|b| b.is_ascii_digit()) {
            return Err(DecimalError::Malformed);
        }
        let significant = fraction.trim_end_matches('0');
        if significant.len() > usize::from(digits) {
            return Err(DecimalError::TooManyDecimals);
        }
        for b in significant.bytes() {
            fraction_value = fraction_value * 10 + i128::from(b - b'0');
        }
        // `significant` has at most `digits` digits; pad it to exactly that many.
        fraction_value = 10i128
            .checked_pow(u32::from(digits) - significant.len() as u32)
            .and_then(|p| fraction_value.checked_mul(p))
            .ok_or(DecimalError::Overflow)?;
    }
    let scaled = 10i128
        .checked_pow(u32::from(digits))
        .and_then(|p| value.checked_mul(p))
        .and_then(|v| v.checked_add(fraction_value))
        .ok_or(DecimalError::Overflow)?;
    let signed = if negative { -scaled } else { scaled };
    i64::try_from(signed).map_err(|_| DecimalError::Overflow)
}

/// `value` × 10^-`digits` as a plain decimal; `trim` drops needless trailing zeros.
fn format_scaled(value: i64, digits: u8, trim: bool) -> String {
    let sign = if value < 0 { "-" } else { "" };
    let magnitude = value.unsigned_abs();
    if digits == 0 {
        return format!("{sign}{magnitude}");
    }
    // Beyond 19 digits every i64 is a fraction of one unit.
    let (whole, fraction) = match 10u64.checked_pow(u32::from(digits)) {
        Some(power) => (magnitude / power, magnitude % power),
        None => (0, magnitude),
    };
    let fraction = format!("{fraction:0width$}", width = usize::from(digits));
    let fraction = if trim {
        fraction.trim_end_matches('0')
    } else {
        &fraction
    };
    if fraction.is_empty() {
        format!("{sign}{whole}")
    } else {
        format!("{sign}{whole}.{fraction}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn uzs() -> &'static Currency {
        currency("UZS").unwrap()
    }

    fn qty(text: &str) -> Quantity {
        Quantity::parse(text, "q").unwrap()
    }

    fn line(quantity: &str, unit_price: i64, discount: Discount, vat_rate_bp: u32) -> LineInput {
        LineInput {
            quantity: qty(quantity),
            unit_price,
            discount,
            vat_rate_bp,
        }
    }

    fn t(gross: i64, discount: i64, net: i64, vat: i64, total: i64) -> LineTotals {
        LineTotals {
            gross,
            discount,
            net,
            vat,
            total,
        }
    }

    /// The (field, key) pairs of a refusal.
    fn keys(e: &ValidationErrors) -> Vec<(String, &'static str)> {
        e.0.iter().map(|e| (e.field.clone(), e.key)).collect()
    }

    fn refused(
        lines: &[LineInput],
        mode: VatMode,
        currency: &Currency,
    ) -> Vec<(String, &'static str)> {
        keys(&document_totals(lines, mode, currency).unwrap_err())
    }

    fn arg(e: &FieldError, name: &str) -> String {
        e.args
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    }

    // The same three lines in UZS, read as prices without and with 12% VAT.
    fn uzs_lines() -> Vec<LineInput> {
        vec![
            // Coffee by weight: 2.345 kg at 1 234.57 so'm.
            line("2.345", 123_457, Discount::None, 1200),
            // 3 at 3 333.33 so'm, 7.5% off.
            line("3", 333_333, Discount::Percent(750), 1200),
            // 7 at 12.34 so'm.
            line("7", 1_234, Discount::None, 1200),
        ]
    }

    #[test]
    fn uzs_invoice_vat_excluded_rounds_per_line() {
        let (lines, doc) = document_totals(&uzs_lines(), VatMode::Excluded, uzs()).unwrap();
        assert_eq!(
            lines,
            [
                // 2345 × 123457 / 1000 = 289 506.665 → 289 507; × 12% = 34 740.84 → 34 741
                t(289_507, 0, 289_507, 34_741, 324_248),
                // 3 × 333 333 = 999 999; × 7.5% = 74 999.925 → 75 000; 924 999 × 12% =
                // 110 999.88 → 111 000
                t(999_999, 75_000, 924_999, 111_000, 1_035_999),
                // 7 × 1 234 = 8 638; × 12% = 1 036.56 → 1 037
                t(8_638, 0, 8_638, 1_037, 9_675),
            ]
        );
        // net 289 507 + 924 999 + 8 638 = 1 223 144; vat 34 741 + 111 000 + 1 037 = 146 778;
        // total 324 248 + 1 035 999 + 9 675 = 1 369 922 = 1 223 144 + 146 778.
        assert_eq!(
            doc,
            DocumentTotals {
                gross: 1_298_144,
                discount: 75_000,
                net: 1_223_144,
                vat: 146_778,
                total: 1_369_922,
                by_rate: vec![VatBreakdown {
                    rate_bp: 1200,
                    net: 1_223_144,
                    vat: 146_778,
                    total: 1_369_922,
                }],
            }
        );
        // 12% of the rounded net total would be 146 777.28 → 146 777: one tiyin less than
        // the invoice's lines add up to, which is why we sum the lines.
        assert_eq!(div_round(1_223_144 * 1200, 10_000), 146_777);
        assert_eq!(Money::new(doc.total, uzs()).to_string(), "13699.22 UZS");
    }

    #[test]
    fn uzs_invoice_vat_included_extracts_per_line() {
        let (lines, doc) = document_totals(&uzs_lines(), VatMode::Included, uzs()).unwrap();
        assert_eq!(
            lines,
            [
                // total 289 507; vat = 289 507 × 12/112 = 868 521/28 = 31 018.607 → 31 019
                t(289_507, 0, 258_488, 31_019, 289_507),
                // total 924 999; vat = 2 774 997/28 = 99 107.036 → 99 107
                t(999_999, 75_000, 825_892, 99_107, 924_999),
                // total 8 638; vat = 25 914/28 = 925.5 exactly → 926 (half away from zero)
                t(8_638, 0, 7_712, 926, 8_638),
            ]
        );
        // vat 31 019 + 99 107 + 926 = 131 052; net 258 488 + 825 892 + 7 712 = 1 092 092;
        // 1 092 092 + 131 052 = 1 223 144.
        assert_eq!(
            (doc.net, doc.vat, doc.total, doc.discount, doc.gross),
            (1_092_092, 131_052, 1_223_144, 75_000, 1_298_144)
        );
        // Extracting from the total instead: 1 223 144 × 3/28 = 131 051.14 → 131 051.
        assert_eq!(div_round(1_223_144 * 1200, 11_200), 131_051);
    }

    #[test]
    fn rub_invoice_breaks_vat_down_by_rate() {
        let rub = currency("rub").unwrap();
        let input = [
            // Consulting 1.5 h at 2 499.99 ₽, 20%.
            line("1.5", 249_999, Discount::None, 2000),
            // Food 12 at 87.45 ₽, 5% off, 10%.
            line("12", 8_745, Discount::Percent(500), 1000),
            // 2 at 333.33 ₽, 0.66 ₽ off the line, 20%.
            line("2", 33_333, Discount::Amount(66), 2000),
            // Export at 0%.
            line("1", 5_000_000, Discount::None, 0),
        ];
        let (lines, doc) = document_totals(&input, VatMode::Excluded, rub).unwrap();
        assert_eq!(
            lines,
            [
                // 1500 × 249 999 / 1000 = 374 998.5 → 374 999; × 20% = 74 999.8 → 75 000
                t(374_999, 0, 374_999, 75_000, 449_999),
                // 12 × 8 745 = 104 940; 5% = 5 247; 99 693 × 10% = 9 969.3 → 9 969
                t(104_940, 5_247, 99_693, 9_969, 109_662),
                // 2 × 33 333 = 66 666; − 66 = 66 600; × 20% = 13 320
                t(66_666, 66, 66_600, 13_320, 79_920),
                t(5_000_000, 0, 5_000_000, 0, 5_000_000),
            ]
        );
        assert_eq!(
            doc.by_rate,
            [
                VatBreakdown {
                    rate_bp: 0,
                    net: 5_000_000,
                    vat: 0,
                    total: 5_000_000,
                },
                VatBreakdown {
                    rate_bp: 1000,
                    net: 99_693,
                    vat: 9_969,
                    total: 109_662,
                },
                // 374 999 + 66 600 = 441 599; 75 000 + 13 320 = 88 320
                VatBreakdown {
                    rate_bp: 2000,
                    net: 441_599,
                    vat: 88_320,
                    total: 529_919,
                },
            ]
        );
        // gross 374 999 + 104 940 + 66 666 + 5 000 000 = 5 546 605; discount 5 247 + 66;
        // net 5 541 292; vat 98 289; total 5 639 581.
        assert_eq!(
            (doc.gross, doc.discount, doc.net, doc.vat, doc.total),
            (5_546_605, 5_313, 5_541_292, 98_289, 5_639_581)
        );
    }

    #[test]
    fn yen_have_no_minor_unit() {
        let jpy = currency("JPY").unwrap();
        let price = parse_amount("1 980", jpy, "price").unwrap();
        assert_eq!(price, 1_980);
        // 3 × ¥1 980 = 5 940; 10% off = 594; 5 346 × 10% = 534.6 → 535
        let input = [line("3", price, Discount::Percent(1000), 1000)];
        let (lines, doc) = document_totals(&input, VatMode::Excluded, jpy).unwrap();
        assert_eq!(lines, [t(5_940, 594, 5_346, 535, 5_881)]);
        assert_eq!(Money::new(doc.total, jpy).format(), "5881");
        let e = parse_amount("1.5", jpy, "price").unwrap_err();
        assert_eq!(
            (e.key, arg(&e, "max")),
            ("error-amount-decimals", "0".into())
        );
        assert_eq!(parse_amount("1980.00", jpy, "price"), Ok(1_980));
    }

    #[test]
    fn amounts_follow_the_currency_digits() {
        let kwd = currency("kwd").unwrap();
        assert_eq!(parse_amount("1.234", kwd, "a"), Ok(1_234));
        assert_eq!(format_amount(1_234, kwd.minor_digits), "1.234");
        assert_eq!(format_amount(-5, 3), "-0.005");
        assert_eq!(
            Money::parse("1 500,5", "uzs", "a").unwrap(),
            Money::new(150_050, uzs())
        );
        assert_eq!(
            Money::parse("1500", "UZS", "a").unwrap().format(),
            "1500.00"
        );
        assert_eq!(Money::parse("\u{a0}-0,05 ", "UZS", "a").unwrap().minor, -5);
        assert_eq!(
            Money::parse("12\u{202f}650.45", "UZS", "a").unwrap().minor,
            1_265_045
        );
        assert_eq!(Money::parse("10.500", "UZS", "a").unwrap().minor, 1_050);
        let e = Money::parse("10.005", "UZS", "price").unwrap_err();
        assert_eq!(
            (e.field.as_str(), e.key),
            ("price", "error-amount-decimals")
        );
        assert_eq!(
            (arg(&e, "max"), arg(&e, "currency")),
            ("2".into(), "UZS".into())
        );
        for bad in [
            "",
            "-",
            "abc",
            "1e5",
            "1.2.3",
            "12.",
            ".5",
            "+5",
            "1 000,5,0",
            "5 -",
        ] {
            let e = Money::parse(bad, "UZS", "price").unwrap_err();
            assert_eq!(e.key, "error-type-amount", "{bad:?}");
        }
        let e = Money::parse("92233720368547758.08", "UZS", "price").unwrap_err();
        assert_eq!(e.key, "error-amount-overflow");
        assert_eq!(
            Money::parse("92233720368547758.07", "UZS", "price")
                .unwrap()
                .minor,
            i64::MAX
        );
        let e = Money::parse("999999999999999999999999999999999999999999", "UZS", "p").unwrap_err();
        assert_eq!(e.key, "error-amount-overflow");
    }

    #[test]
    fn unknown_currency_lists_the_options() {
        assert_eq!(currency(" usd ").map(|c| c.code), Some("USD"));
        assert!(currency("XXX").is_none());
        let e = Money::parse("1", "UZD", "budget").unwrap_err();
        assert_eq!((e.field.as_str(), e.key), ("budget", "error-currency"));
        assert_eq!(arg(&e, "options"), "UZS, RUB, KZT, USD, EUR, CNY, JPY, KWD");
    }

    #[test]
    fn money_arithmetic_is_checked() {
        let usd = currency("USD").unwrap();
        let a = Money::new(150, uzs());
        assert_eq!(a.checked_add(a), Some(Money::new(300, uzs())));
        assert_eq!(
            a.checked_sub(Money::new(200, uzs())),
            Some(Money::new(-50, uzs()))
        );
        assert_eq!(a.checked_add(Money::new(1, usd)), None);
        assert_eq!(
            Money::new(i64::MAX, uzs()).checked_add(Money::new(1, uzs())),
            None
        );
        assert_eq!(
            Money::new(i64::MIN, uzs()).checked_sub(Money::new(1, uzs())),
            None
        );
        // 2.345 × 0.05 = 0.11725 → 0.12; −0.05 × 0.5 = −0.025 → −0.03
        assert_eq!(a.checked_mul_qty(qty("0")).map(|m| m.minor), Some(0));
        assert_eq!(
            Money::new(5, uzs())
                .checked_mul_qty(qty("2.345"))
                .map(|m| m.minor),
            Some(12)
        );
        assert_eq!(
            Money::new(-5, uzs())
                .checked_mul_qty(qty("0.5"))
                .map(|m| m.minor),
            Some(-3)
        );
        assert_eq!(Money::new(i64::MAX, uzs()).checked_mul_qty(qty("2")), None);
    }

    #[test]
    fn money_serialises_as_amount_and_code() {
        let m = Money::new(150_050, uzs());
        let json = serde_json::to_value(m).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"amount": "1500.50", "currency": "UZS"})
        );
        assert_eq!(serde_json::from_value::<Money>(json).unwrap(), m);
        let read = |v: serde_json::Value| serde_json::from_value::<Money>(v);
        assert_eq!(
            read(serde_json::json!({"amount": "1 500,5", "currency": "uzs"})).unwrap(),
            m
        );
        assert_eq!(
            read(serde_json::json!({"amount": 1500.5, "currency": "UZS"})).unwrap(),
            m
        );
        assert_eq!(
            read(serde_json::json!({"amount": 0.1, "currency": "USD"}))
                .unwrap()
                .minor,
            10
        );
        assert_eq!(
            read(serde_json::json!({"amount": 3, "currency": "JPY"}))
                .unwrap()
                .minor,
            3
        );
        assert!(read(serde_json::json!({"amount": "1.005", "currency": "UZS"})).is_err());
        assert!(read(serde_json::json!({"amount": "1", "currency": "XXX"})).is_err());
        assert!(read(serde_json::json!({"amount": "1"})).is_err());
        assert!(read(serde_json::json!({"amount": "1", "currency": "UZS", "x": 1})).is_err());
    }

    #[test]
    fn quantities_have_three_decimals() {
        assert_eq!(qty("2.345"), Quantity(2_345));
        assert_eq!(qty("2,5"), Quantity(2_500));
        assert_eq!(qty("1 000"), Quantity::units(1_000).unwrap());
        assert_eq!(Quantity(2_345).format(), "2.345");
        assert_eq!(Quantity(2_500).format(), "2.5");
        assert_eq!(Quantity(3_000).format(), "3");
        assert_eq!(Quantity(-1_500).format(), "-1.5");
        assert_eq!(MAX_QUANTITY.format(), "1000000000");
        let e = Quantity::parse("1.2345", "lines[0].quantity").unwrap_err();
        assert_eq!(
            (e.key, arg(&e, "max")),
            ("error-amount-decimals", "3".into())
        );
        assert_eq!(
            Quantity::parse("two", "q").unwrap_err().key,
            "error-type-number"
        );
        assert_eq!(
            Quantity::parse("99999999999999999999", "q")
                .unwrap_err()
                .key,
            "error-amount-overflow"
        );
    }

    #[test]
    fn percentages_are_basis_points() {
        assert_eq!(parse_percent("12", "vat"), Ok(1_200));
        assert_eq!(parse_percent("7,5", "d"), Ok(750));
        assert_eq!(parse_percent("0.01", "d"), Ok(1));
        assert_eq!(parse_percent("-5", "d").unwrap_err().key, "error-negative");
        assert_eq!(
            parse_percent("7.555", "d").unwrap_err().key,
            "error-amount-decimals"
        );
        assert_eq!(
            parse_percent("%", "d").unwrap_err().key,
            "error-type-number"
        );
        assert_eq!(
            parse_percent("50000000", "d").unwrap_err().key,
            "error-amount-overflow"
        );
    }

    #[test]
    fn conversion_at_a_six_decimal_rate() {
        let rate = Rate::parse("12 650,453217", "rate").unwrap();
        assert_eq!(rate.micros(), 12_650_453_217);
        assert_eq!(rate.format(), "12650.453217");
        // USD → UZS: 1 234.56 USD × 12 650.453217 = 123 456 × 12 650 453 217 / 10^6 tiyin
        // = 1 561 774 352 357 952 / 10^6 = 1 561 774 352.357952 → 1 561 774 352
        assert_eq!(convert(123_456, 2, rate, 2), Some(1_561_774_352));
        // UZS → USD: 1 000 000.00 UZS ÷ 12 650.453217 = 10^8 × 10^6 / 12 650 453 217 cents
        // = 7 904.855… → 7 905 (79.05 USD)
        assert_eq!(convert_inverse(100_000_000, 2, rate, 2), Some(7_905));
        // Into yen and dinars: 1.00 USD at 151.5 JPY = 151.5 → 152; at 0.307 KWD = 307 fils.
        assert_eq!(
            convert(100, 2, Rate::parse("151.5", "r").unwrap(), 0),
            Some(152)
        );
        assert_eq!(
            convert(100, 2, Rate::parse("0.307", "r").unwrap(), 3),
            Some(307)
        );
        // Halves go away from zero on both sides: 0.01 × 0.5 = 0.005 → ±0.01.
        let half = Rate::parse("0.5", "r").unwrap();
        assert_eq!(convert(1, 2, half, 2), Some(1));
        assert_eq!(convert(-1, 2, half, 2), Some(-1));
        assert_eq!(
            convert(1, 2, Rate::parse("0.499999", "r").unwrap(), 2),
            Some(0)
        );
        // Overflow is None, not a wrap.
        assert_eq!(
            convert(i64::MAX, 2, Rate::parse("2", "r").unwrap(), 2),
            None
        );
        assert_eq!(
            convert_inverse(i64::MAX, 2, Rate::parse("0.000001", "r").unwrap(), 2),
            None
        );
        assert_eq!(
            Rate::parse("0", "rate").unwrap_err().key,
            "error-exchange-rate"
        );
        assert_eq!(Rate::parse("-1", "rate").unwrap_err().key, "error-negative");
        assert_eq!(
            Rate::parse("1.0000001", "rate").unwrap_err().key,
            "error-amount-decimals"
        );
        assert_eq!(Rate::from_micros(0), None);
    }

    #[test]
    fn limits_are_exact_and_overflow_is_an_error() {
        // At the quantity limit a price of 9 000 000 000 tiyin gives a gross of 9 × 10^18,
        // which fits i64 (max ≈ 9.22 × 10^18) …
        let at_limit = LineInput {
            quantity: MAX_QUANTITY,
            unit_price: 9_000_000_000,
            discount: Discount::None,
            vat_rate_bp: 0,
        };
        let t = line_totals(&at_limit, 0, VatMode::Excluded, uzs()).unwrap();
        assert_eq!(t.total, 9_000_000_000_000_000_000);
        // … but adding 12% VAT (1.008 × 10^19) does not.
        let with_vat = LineInput {
            vat_rate_bp: 1200,
            ..at_limit
        };
        assert_eq!(
            refused(&[with_vat], VatMode::Excluded, uzs()),
            [("lines[0]".to_string(), "error-amount-overflow")]
        );
        // Extracting VAT from a price that includes it cannot overflow.
        assert!(line_totals(&with_vat, 0, VatMode::Included, uzs()).is_ok());
        // Largest quantity × largest price = 10^24 tiyin.
        let both_max = LineInput {
            quantity: MAX_QUANTITY,
            unit_price: MAX_UNIT_PRICE,
            discount: Discount::Percent(10_000),
            vat_rate_bp: 0,
        };
        assert_eq!(
            refused(&[both_max], VatMode::Excluded, uzs()),
            [("lines[0]".to_string(), "error-amount-overflow")]
        );
        // One thousandth or one tiyin over the limits, named with the limit.
        let over = LineInput {
            quantity: Quantity(MAX_QUANTITY.0 + 1),
            unit_price: MAX_UNIT_PRICE + 1,
            discount: Discount::None,
            vat_rate_bp: 0,
        };
        let e = document_totals(&[over], VatMode::Excluded, uzs()).unwrap_err();
        assert_eq!(
            keys(&e),
            [
                ("lines[0].quantity".to_string(), "error-amount-overflow"),
                ("lines[0].unit_price".to_string(), "error-amount-overflow"),
            ]
        );
        assert_eq!(arg(&e.0[0], "max"), "1000000000");
        assert_eq!(arg(&e.0[1], "max"), "10000000000000.00");
        // Two lines of 5 × 10^18 each fit, their sum does not.
        let half = LineInput {
            unit_price: 5_000_000_000,
            ..at_limit
        };
        assert_eq!(
            refused(&[half, half], VatMode::Excluded, uzs()),
            [("total".to_string(), "error-amount-overflow")]
        );
        // 1 000 lines are fine, 1 001 are not.
        let small = line("1", 100, Discount::None, 1200);
        let (_, doc) = document_totals(&vec![small; MAX_LINES], VatMode::Excluded, uzs()).unwrap();
        assert_eq!(doc.total, 112_000);
        let e = document_totals(&vec![small; MAX_LINES + 1], VatMode::Excluded, uzs()).unwrap_err();
        assert_eq!(keys(&e), [("lines".to_string(), "error-too-many")]);
        assert_eq!(arg(&e.0[0], "max"), "1000");
    }

    #[test]
    fn every_bad_line_is_named_at_once() {
        let ok = line("1", 100, Discount::None, 1200);
        let input = [
            ok,
            LineInput {
                quantity: Quantity(-1),
                unit_price: -1,
                ..ok
            },
            LineInput {
                quantity: Quantity(0),
                ..ok
            },
            LineInput {
                discount: Discount::Percent(10_001),
                vat_rate_bp: 10_001,
                ..ok
            },
            LineInput {
                discount: Discount::Amount(-1),
                ..ok
            },
            // A fixed discount of 1.01 on a line of 1.00.
            LineInput {
                discount: Discount::Amount(101),
                ..ok
            },
        ];
        let e = document_totals(&input, VatMode::Excluded, uzs()).unwrap_err();
        let f = |s: &str| s.to_string();
        assert_eq!(
            keys(&e),
            [
                (f("lines[1].quantity"), "error-negative"),
                (f("lines[1].unit_price"), "error-negative"),
                (f("lines[2].quantity"), "error-quantity-zero"),
                (f("lines[3].discount"), "error-discount-too-large"),
                (f("lines[3].vat_rate"), "error-vat-rate"),
                (f("lines[4].discount"), "error-negative"),
                (f("lines[5].discount"), "error-discount-too-large"),
            ]
        );
        // The edges themselves are allowed: 100% off, a fixed discount of the whole line,
        // a free item, a 100% rate.
        for fine in [
            LineInput {
                discount: Discount::Percent(10_000),
                ..ok
            },
            LineInput {
                discount: Discount::Amount(100),
                ..ok
            },
            LineInput {
                unit_price: 0,
                ..ok
            },
            LineInput {
                vat_rate_bp: 10_000,
                ..ok
            },
        ] {
            assert!(
                line_totals(&fine, 0, VatMode::Included, uzs()).is_ok(),
                "{fine:?}"
            );
        }
        assert_eq!(
            document_totals(&[], VatMode::Excluded, uzs()).unwrap().1,
            DocumentTotals::default()
        );
    }

    #[test]
    fn two_decimal_helpers_agree_with_custom_fields() {
        use crate::custom::{format_minor, parse_money_minor};
        for minor in [
            0,
            5,
            -5,
            99,
            100,
            150_050,
            -1_234_567,
            i64::MAX,
            i64::MIN + 1,
        ] {
            assert_eq!(format_amount(minor, 2), format_minor(minor));
        }
        for text in [
            "0.1", "-12,34", "1 500,50", "1500", "7", "1e5", "", "1.234", "abc",
        ] {
            assert_eq!(
                parse_amount(text, uzs(), "a").ok(),
                parse_money_minor(text),
                "{text:?}"
            );
        }
    }

    /// A small deterministic generator (xorshift64*), so the checks below need no crate.
    struct Numbers(u64);

    impl Numbers {
        fn next(&mut self, below: u64) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) % below
        }
    }

    #[test]
    fn generated_invoices_add_up() {
        let mut n = Numbers(0x9e37_79b9_7f4a_7c15);
        for round in 0..400 {
            let mode = if round % 2 == 0 {
                VatMode::Excluded
            } else {
                VatMode::Included
            };
            let count = 1 + n.next(12) as usize;
            let lines: Vec<LineInput> = (0..count)
                .map(|_| {
                    let quantity = Quantity(1 + n.next(5_000_000) as i64);
                    let unit_price = n.next(2_000_000_000) as i64;
                    let discount = match n.next(3) {
                        0 => Discount::None,
                        1 => Discount::Percent(n.next(10_001) as u32),
                        _ => Discount::Amount(n.next(1_000) as i64),
                    };
                    let vat_rate_bp = [0, 1000, 1200, 2000][n.next(4) as usize];
                    LineInput {
                        quantity,
                        unit_price,
                        discount,
                        vat_rate_bp,
                    }
                })
                .collect();
            let (totals, doc) = match document_totals(&lines, mode, uzs()) {
                Ok(computed) => computed,
                Err(e) => {
                    // Only a fixed discount larger than a tiny line may be refused.
                    assert!(e.0.iter().all(|e| e.key == "error-discount-too-large"));
                    continue;
                }
            };
            let mut sum_total = 0;
            for (line, t) in lines.iter().zip(&totals) {
                assert_eq!(t.total, t.net + t.vat, "{line:?}");
                assert!(0 <= t.discount && t.discount <= t.gross, "{line:?}");
                assert!(t.vat >= 0 && t.net >= 0, "{line:?}");
                let (base, rate) = (i128::from(t.gross), i128::from(line.vat_rate_bp));
                // gross is within half a tiyin of quantity × price.
                let exact = i128::from(line.quantity.0) * i128::from(line.unit_price);
                assert!(2 * (base * 1000 - exact).abs() <= 1000, "{line:?}");
                // VAT is within half a tiyin of the exact VAT of what it is taken on.
                match mode {
                    VatMode::Excluded => {
                        assert_eq!(t.net, t.gross - t.discount);
                        let off = i128::from(t.vat) * 10_000 - i128::from(t.net) * rate;
                        assert!(2 * off.abs() <= 10_000, "{line:?}");
                    }
                    VatMode::Included => {
                        assert_eq!(t.total, t.gross - t.discount);
                        let off = i128::from(t.vat) * (10_000 + rate) - i128::from(t.total) * rate;
                        assert!(2 * off.abs() <= 10_000 + rate, "{line:?}");
                    }
                }
                sum_total += t.total;
            }
            assert_eq!(doc.total, sum_total);
            assert_eq!(doc.total, doc.net + doc.vat);
            assert_eq!(
                doc.gross - doc.discount,
                match mode {
                    VatMode::Excluded => doc.net,
                    VatMode::Included => doc.total,
                }
            );
            let by_rate = doc.by_rate.iter().fold((0, 0, 0), |(n, v, t), r| {
                (n + r.net, v + r.vat, t + r.total)
            });
            assert_eq!(by_rate, (doc.net, doc.vat, doc.total));
        }
    }

    #[test]
    fn generated_amounts_read_back_as_written() {
        let mut n = Numbers(42);
        for currency in CURRENCIES {
            for _ in 0..200 {
                let minor = n.next(u64::MAX) as i64;
                let m = Money::new(minor, currency);
                assert_eq!(Money::parse(&m.format(), currency.code, "a"), Ok(m));
            }
        }
    }
}
