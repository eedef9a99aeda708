//! Repeating tasks: "every month on the 31st", "every 2 weeks on Mon and Thu". A rule is
//! kept as JSON in the task; when one occurrence is closed, [`Recurrence::next`] gives the
//! deadline of the next one. Everything works on local date-times (the user's time zone):
//! "the last day of the month at 18:00" is a local notion, so the caller converts to and
//! from UTC around these functions.
//!
//! Month ends follow what accountants expect: a series anchored on the 31st falls on the
//! last day of shorter months and returns to the 31st when it can. Nothing here loops
//! more than a week's worth of days, and no input panics.

use chrono::{Datelike, Days, NaiveDate, NaiveDateTime, Weekday};
use serde::{Deserialize, Serialize};

use crate::validation::FieldError;

/// The field name used in errors.
const FIELD: &str = "recurrence";
/// The largest `interval` accepted: a year's worth of days.
pub const MAX_INTERVAL: u32 = 366;

/// The unit a series repeats in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Every {
    Day,
    Week,
    Month,
    Year,
}

/// A repeat rule, as stored in the task, e.g.
/// `{"every":"week","interval":2,"weekdays":["mon","thu"],"until":"2027-06-30"}`.
///
/// Build it from user input with [`Recurrence::parse`], then [`Recurrence::anchor`] it to
/// the first deadline before storing it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Recurrence {
    pub every: Every,
    /// Repeat every `interval` units (1..=366).
    #[serde(default = "one")]
    pub interval: u32,
    /// Only for [`Every::Week`]: the days the task falls on; `"mon"`..`"sun"` in JSON.
    #[serde(default, skip_serializing_if = "Vec::is_empty", with = "weekday_names")]
    pub weekdays: Vec<Weekday>,
    /// The day of the month the series keeps to (1..=31), taken from the first deadline; set by `anchor`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub day: Option<u32>,
    /// For Year: the month (1..=12), taken from the first deadline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub month: Option<u32>,
    /// The last date an occurrence may fall on (inclusive).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<NaiveDate>,
    /// Stop after this many occurrences in all (optional).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u32>,
}

fn one() -> u32 {
    1
}

fn invalid(reason: impl ToString) -> FieldError {
    FieldError::new(FIELD, "error-recurrence-invalid").with("reason", reason)
}

fn never(reason: impl ToString) -> FieldError {
    FieldError::new(FIELD, "error-recurrence-never").with("reason", reason)
}

/// Days in a month of a leap year: the most a yearly rule may ask for.
fn max_day_of_month(month: u32) -> u32 {
    match month {
        2 => 29,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// `day` of the month, or the month's last day when the month is shorter.
fn clamped_date(year: i32, month: u32, day: u32) -> Option<NaiveDate> {
    let day = day.clamp(1, 31);
    (28.min(day)..=day)
        .rev()
        .find_map(|d| NaiveDate::from_ymd_opt(year, month, d))
}

const MONTH_NAMES: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

impl Recurrence {
    /// Parses the JSON value a user sent (field name for errors is "recurrence"): unknown
    /// keys, a bad `every`, interval 0 or >366, weekdays given for a non-weekly rule, a bad
    /// weekday name, duplicate weekdays, a day or month that no calendar has ->
    /// `FieldError("recurrence", "error-recurrence-invalid")` with a `reason` argument in
    /// English naming the problem. Weekdays come back sorted Monday first.
    pub fn parse(v: &serde_json::Value) -> Result<Recurrence, FieldError> {
        // chrono's own message ("input is out of range") would not say which field.
        if let Some(until) = v.get("until").filter(|u| !u.is_null()) {
            let valid = until
                .as_str()
                .is_some_and(|u| NaiveDate::parse_from_str(u, "%Y-%m-%d").is_ok());
            if !valid {
                return Err(invalid(format!(
                    "until must be a date written YYYY-MM-DD, not {until}"
                )));
            }
        }
        let mut rule = Recurrence::deserialize(v).map_err(invalid)?;
        if rule.interval == 0 || rule.interval > MAX_INTERVAL {
            return Err(invalid(format!(
                "interval must be between 1 and {MAX_INTERVAL}, not {}",
                rule.interval
            )));
        }
        if rule.every != Every::Week && !rule.weekdays.is_empty() {
            return Err(invalid("weekdays are only for weekly rules"));
        }
        let mut seen = [false; 7];
        for wd in &rule.weekdays {
            let i = wd.num_days_from_monday() as usize;
            if seen[i] {
                return Err(invalid(format!(
                    "weekday `{}` is given twice",
                    weekday_names::name(*wd)
                )));
            }
            seen[i] = true;
        }
        rule.weekdays.sort_by_key(|wd| wd.num_days_from_monday());
        if let Some(day) = rule.day {
            if !matches!(rule.every, Every::Month | Every::Year) {
                return Err(invalid("day is only for monthly and yearly rules"));
            }
            if !(1..=31).contains(&day) {
                return Err(invalid(format!("day must be between 1 and 31, not {day}")));
            }
        }
        if let Some(month) = rule.month {
            if rule.every != Every::Year {
                return Err(invalid("month is only for yearly rules"));
            }
            if !(1..=12).contains(&month) {
                return Err(invalid(format!(
                    "month must be between 1 and 12, not {month}"
                )));
            }
            if let Some(day) = rule.day
                && day > max_day_of_month(month)
            {
                return Err(invalid(format!("month {month} has no day {day}")));
            }
        }
        Ok(rule)
    }

    /// Validates against the first deadline (a local date-time in the user's time zone)
    /// and fills the `day`/`month`/`weekdays` defaults from it (weekly with no weekdays ->
    /// the deadline's weekday). Values already set are kept, so anchoring a stored rule
    /// again does not lose a 31st moved to the 30th. A rule that never fires again
    /// (`count` below 2, `until` before the first deadline or before the second
    /// occurrence) -> `FieldError("recurrence", "error-recurrence-never")`.
    pub fn anchor(mut self, first: NaiveDateTime) -> Result<Recurrence, FieldError> {
        match self.every {
            Every::Day => {}
            Every::Week => {
                if self.weekdays.is_empty() {
                    self.weekdays.push(first.weekday());
                }
                self.weekdays.sort_by_key(|wd| wd.num_days_from_monday());
                self.weekdays.dedup();
            }
            Every::Month => {
                self.day.get_or_insert(first.day());
            }
            Every::Year => {
                self.day.get_or_insert(first.day());
                self.month.get_or_insert(first.month());
            }
        }
        if let Some(count) = self.count
            && count < 2
        {
            return Err(never(format!(
                "a series of {count} occurrence(s) never repeats"
            )));
        }
        if let Some(until) = self.until
            && until < first.date()
        {
            return Err(never(format!(
                "until {until} is before the first deadline {}",
                first.date()
            )));
        }
        if self.next(first, 1).is_none() {
            return Err(never("the series ends before its second occurrence"));
        }
        Ok(self)
    }

    /// The next deadline after `current` (local date-time; the time of day is kept), or
    /// `None` when the series has ended: the next date is after `until`, `occurrence` (the
    /// 1-based number of `current` in the series) has reached `count`, or the date would
    /// leave the calendar chrono knows.
    pub fn next(&self, current: NaiveDateTime, occurrence: u32) -> Option<NaiveDateTime> {
        if let Some(count) = self.count
            && occurrence >= count
        {
            return None;
        }
        // A hand-built rule may carry 0; treat it as 1 so the series always moves forward.
        let interval = self.interval.max(1);
        let date = current.date();
        let next = match self.every {
            Every::Day => date.checked_add_days(Days::new(u64::from(interval)))?,
            Every::Week => next_weekly(date, interval, &self.weekdays)?,
            Every::Month => {
                let months =
                    i64::from(date.year()) * 12 + i64::from(date.month0()) + i64::from(interval);
                let year = i32::try_from(months.div_euclid(12)).ok()?;
                let month = u32::try_from(months.rem_euclid(12)).ok()? + 1;
                clamped_date(year, month, self.day.unwrap_or(date.day()))?
            }
            Every::Year => {
                let year = date.year().checked_add(i32::try_from(interval).ok()?)?;
                let month = self.month.unwrap_or(date.month()).clamp(1, 12);
                clamped_date(year, month, self.day.unwrap_or(date.day()))?
            }
        };
        if let Some(until) = self.until
            && next > until
        {
            return None;
        }
        Some(next.and_time(current.time()))
    }

    /// A short English description for logs and tests, e.g.
    /// "every 2 weeks on Mon, Thu until 2027-06-30".
    pub fn describe(&self) -> String {
        let n = self.interval;
        let unit = match self.every {
            Every::Day => "day",
            Every::Week => "week",
            Every::Month => "month",
            Every::Year => "year",
        };
        let mut s = if n == 1 {
            format!("every {unit}")
        } else {
            format!("every {n} {unit}s")
        };
        match self.every {
            Every::Day => {}
            Every::Week => {
                if !self.weekdays.is_empty() {
                    let days: Vec<String> = self.weekdays.iter().map(|wd| wd.to_string()).collect();
                    s.push_str(&format!(" on {}", days.join(", ")));
                }
            }
            Every::Month => {
                if let Some(day) = self.day {
                    s.push_str(&format!(" on day {day}"));
                }
            }
            Every::Year => {
                let month = self
                    .month
                    .and_then(|m| MONTH_NAMES.get((m as usize).wrapping_sub(1)));
                match (month, self.day) {
                    (Some(m), Some(d)) => s.push_str(&format!(" on {m} {d}")),
                    (Some(m), None) => s.push_str(&format!(" in {m}")),
                    (None, Some(d)) => s.push_str(&format!(" on day {d}")),
                    (None, None) => {}
                }
            }
        }
        if let Some(until) = self.until {
            s.push_str(&format!(" until {until}"));
        }
        if let Some(count) = self.count {
            s.push_str(&format!(", {count} times"));
        }
        s
    }
}

/// The next chosen weekday after `date`; after the week's last chosen day, the first
/// chosen day `interval` weeks after the start (Monday) of `date`'s week.
fn next_weekly(date: NaiveDate, interval: u32, weekdays: &[Weekday]) -> Option<NaiveDate> {
    let mut chosen = [false; 7];
    for wd in weekdays {
        chosen[wd.num_days_from_monday() as usize] = true;
    }
    if weekdays.is_empty() {
        chosen[date.weekday().num_days_from_monday() as usize] = true;
    }
    let today = date.weekday().num_days_from_monday() as usize;
    if let Some(later) = (today + 1..7).find(|&d| chosen[d]) {
        return date.checked_add_days(Days::new((later - today) as u64));
    }
    let first = (0..7).find(|&d| chosen[d])?;
    let monday = date.checked_sub_days(Days::new(today as u64))?;
    monday.checked_add_days(Days::new(7 * u64::from(interval) + first as u64))
}

/// Weekdays as `"mon"`..`"sun"` in JSON.
mod weekday_names {
    use chrono::Weekday;
    use serde::{Deserialize, Deserializer, Serializer, de::Error, ser::SerializeSeq};

    const NAMES: [(&str, Weekday); 7] = [
        ("mon", Weekday::Mon),
        ("tue", Weekday::Tue),
        ("wed", Weekday::Wed),
        ("thu", Weekday::Thu),
        ("fri", Weekday::Fri),
        ("sat", Weekday::Sat),
        ("sun", Weekday::Sun),
    ];

    pub fn name(wd: Weekday) -> &'static str {
        NAMES[wd.num_days_from_monday() as usize].0
    }

    pub fn serialize<S: Serializer>(days: &[Weekday], s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(days.len()))?;
        for wd in days {
            seq.serialize_element(name(*wd))?;
        }
        seq.end()
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Weekday>, D::Error> {
        let names = Vec::<String>::deserialize(d)?;
        if names.len() > 7 {
            return Err(D::Error::custom("there are only 7 weekdays"));
        }
        names
            .iter()
            .map(|n| {
                NAMES
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case(n))
                    .map(|(_, wd)| *wd)
                    .ok_or_else(|| {
                        D::Error::custom(format!(
                            "unknown weekday `{n}`, expected one of mon, tue, wed, thu, fri, sat, sun"
                        ))
                    })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn at(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap()
    }

    fn date(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    /// The first `n` deadlines of the series starting at `first`.
    fn series(rule: &Recurrence, first: &str, n: usize) -> Vec<String> {
        let mut out = vec![];
        let mut cur = at(first);
        out.push(cur.format("%Y-%m-%d %H:%M").to_string());
        for occurrence in 1..n as u32 {
            match rule.next(cur, occurrence) {
                Some(next) => {
                    assert!(next > cur, "{next} must come after {cur}");
                    cur = next;
                    out.push(cur.format("%Y-%m-%d %H:%M").to_string());
                }
                None => break,
            }
        }
        out
    }

    fn rule(v: serde_json::Value, first: &str) -> Recurrence {
        Recurrence::parse(&v).unwrap().anchor(at(first)).unwrap()
    }

    fn reason(e: &FieldError) -> &str {
        e.args
            .iter()
            .find(|(k, _)| *k == "reason")
            .map(|(_, v)| v.as_str())
            .unwrap_or("")
    }

    #[test]
    fn monthly_on_the_31st_uses_month_ends_and_returns_to_the_31st() {
        let r = rule(json!({"every": "month"}), "2027-01-31 18:00");
        assert_eq!(r.day, Some(31));
        let got = series(&r, "2027-01-31 18:00", 16);
        let dates: Vec<&str> = got.iter().map(|s| &s[..10]).collect();
        assert_eq!(
            dates,
            [
                "2027-01-31",
                "2027-02-28",
                "2027-03-31",
                "2027-04-30",
                "2027-05-31",
                "2027-06-30",
                "2027-07-31",
                "2027-08-31",
                "2027-09-30",
                "2027-10-31",
                "2027-11-30",
                "2027-12-31",
                "2028-01-31",
                "2028-02-29",
                "2028-03-31",
                "2028-04-30",
            ]
        );
        assert!(got.iter().all(|s| s.ends_with("18:00")), "time of day kept");
    }

    #[test]
    fn monthly_on_the_30th_and_29th_keep_their_day() {
        let r = rule(json!({"every": "month"}), "2028-01-30 09:00");
        let got = series(&r, "2028-01-30 09:00", 4);
        assert_eq!(got[1], "2028-02-29 09:00");
        assert_eq!(got[2], "2028-03-30 09:00");
        let r = rule(json!({"every": "month"}), "2027-01-29 09:00");
        let got = series(&r, "2027-01-29 09:00", 3);
        assert_eq!(got[1], "2027-02-28 09:00");
        assert_eq!(got[2], "2027-03-29 09:00");
    }

    #[test]
    fn monthly_interval_skips_months_across_the_year_end() {
        let r = rule(json!({"every": "month", "interval": 3}), "2026-11-30 10:00");
        let got = series(&r, "2026-11-30 10:00", 4);
        assert_eq!(
            got,
            [
                "2026-11-30 10:00",
                "2027-02-28 10:00",
                "2027-05-30 10:00",
                "2027-08-30 10:00"
            ]
        );
        let r = rule(
            json!({"every": "month", "interval": 12}),
            "2026-01-15 10:00",
        );
        assert_eq!(
            r.next(at("2026-01-15 10:00"), 1),
            Some(at("2027-01-15 10:00"))
        );
    }

    #[test]
    fn yearly_on_february_29_over_eight_years() {
        let r = rule(json!({"every": "year"}), "2024-02-29 12:00");
        assert_eq!((r.month, r.day), (Some(2), Some(29)));
        let got = series(&r, "2024-02-29 12:00", 9);
        assert_eq!(
            got,
            [
                "2024-02-29 12:00",
                "2025-02-28 12:00",
                "2026-02-28 12:00",
                "2027-02-28 12:00",
                "2028-02-29 12:00",
                "2029-02-28 12:00",
                "2030-02-28 12:00",
                "2031-02-28 12:00",
                "2032-02-29 12:00",
            ]
        );
        let r = rule(json!({"every": "year", "interval": 4}), "2024-02-29 12:00");
        assert_eq!(
            r.next(at("2024-02-29 12:00"), 1),
            Some(at("2028-02-29 12:00"))
        );
    }

    #[test]
    fn weekly_on_several_days_every_two_weeks() {
        // 2026-06-01 is a Monday.
        let r = rule(
            json!({"every": "week", "interval": 2, "weekdays": ["thu", "mon", "fri"]}),
            "2026-06-01 08:30",
        );
        assert_eq!(r.weekdays, [Weekday::Mon, Weekday::Thu, Weekday::Fri]);
        let got = series(&r, "2026-06-01 08:30", 7);
        assert_eq!(
            got,
            [
                "2026-06-01 08:30",
                "2026-06-04 08:30",
                "2026-06-05 08:30",
                "2026-06-15 08:30",
                "2026-06-18 08:30",
                "2026-06-19 08:30",
                "2026-06-29 08:30",
            ]
        );
    }

    #[test]
    fn weekly_from_a_day_that_is_not_chosen_and_over_sunday() {
        let r = Recurrence {
            every: Every::Week,
            interval: 1,
            weekdays: vec![Weekday::Tue],
            day: None,
            month: None,
            until: None,
            count: None,
        };
        // Wednesday 2026-06-03 -> Tuesday next week.
        assert_eq!(
            r.next(at("2026-06-03 10:00"), 1),
            Some(at("2026-06-09 10:00"))
        );
        let r = rule(
            json!({"every": "week", "weekdays": ["sun", "mon"]}),
            "2026-06-07 10:00",
        );
        let got = series(&r, "2026-06-07 10:00", 4);
        assert_eq!(
            got,
            [
                "2026-06-07 10:00",
                "2026-06-08 10:00",
                "2026-06-14 10:00",
                "2026-06-15 10:00"
            ]
        );
    }

    #[test]
    fn weekly_without_weekdays_takes_the_first_deadlines_day() {
        // 2026-06-04 is a Thursday.
        let r = rule(json!({"every": "week", "interval": 3}), "2026-06-04 10:00");
        assert_eq!(r.weekdays, [Weekday::Thu]);
        assert_eq!(
            r.next(at("2026-06-04 10:00"), 1),
            Some(at("2026-06-25 10:00"))
        );
    }

    #[test]
    fn daily_adds_the_interval() {
        let r = rule(json!({"every": "day", "interval": 10}), "2026-12-25 23:59");
        assert_eq!(
            r.next(at("2026-12-25 23:59"), 1),
            Some(at("2027-01-04 23:59"))
        );
    }

    #[test]
    fn until_is_inclusive_and_ends_the_series() {
        let r = rule(
            json!({"every": "day", "until": "2026-06-03"}),
            "2026-06-01 09:00",
        );
        assert_eq!(
            series(&r, "2026-06-01 09:00", 10),
            ["2026-06-01 09:00", "2026-06-02 09:00", "2026-06-03 09:00"]
        );
    }

    #[test]
    fn count_ends_the_series() {
        let r = rule(json!({"every": "month", "count": 3}), "2026-01-31 09:00");
        assert_eq!(
            series(&r, "2026-01-31 09:00", 10),
            ["2026-01-31 09:00", "2026-02-28 09:00", "2026-03-31 09:00"]
        );
        assert_eq!(r.next(at("2026-03-31 09:00"), 3), None);
        assert_eq!(r.next(at("2026-03-31 09:00"), 4), None);
    }

    #[test]
    fn parse_refuses_bad_input_naming_the_problem() {
        let cases = [
            (json!({"every": "month", "colour": "red"}), "unknown field"),
            (json!({"every": "fortnight"}), "unknown variant"),
            (json!({"interval": 2}), "missing field `every`"),
            (json!({"every": "day", "interval": 0}), "interval"),
            (json!({"every": "day", "interval": 367}), "interval"),
            (json!({"every": "day", "interval": -1}), "invalid value"),
            (json!({"every": "day", "interval": "2"}), "invalid type"),
            (
                json!({"every": "month", "weekdays": ["mon"]}),
                "only for weekly",
            ),
            (
                json!({"every": "week", "weekdays": ["monday"]}),
                "unknown weekday",
            ),
            (
                json!({"every": "week", "weekdays": ["mon", "tue", "mon"]}),
                "twice",
            ),
            (json!({"every": "week", "weekdays": "mon"}), "invalid type"),
            (json!({"every": "month", "day": 32}), "day must be"),
            (json!({"every": "month", "day": 0}), "day must be"),
            (json!({"every": "week", "day": 3}), "monthly and yearly"),
            (json!({"every": "month", "month": 3}), "only for yearly"),
            (json!({"every": "year", "month": 13}), "month must be"),
            (json!({"every": "year", "month": 2, "day": 30}), "no day 30"),
            (json!({"every": "year", "month": 4, "day": 31}), "no day 31"),
            (json!({"every": "day", "until": "2027-02-30"}), "until"),
            (json!({"every": "day", "until": "tomorrow"}), "until"),
            (json!("monthly"), "invalid type"),
            (json!(null), "invalid type"),
        ];
        for (input, why) in cases {
            let err = Recurrence::parse(&input).unwrap_err();
            assert_eq!(err.field, "recurrence", "{input}");
            assert_eq!(err.key, "error-recurrence-invalid", "{input}");
            assert!(
                reason(&err).contains(why),
                "{input}: reason {:?} should mention {why:?}",
                reason(&err)
            );
        }
    }

    #[test]
    fn parse_accepts_the_documented_forms() {
        let r = Recurrence::parse(&json!({"every": "month", "interval": 1})).unwrap();
        assert_eq!(r.every, Every::Month);
        let r = Recurrence::parse(&json!({
            "every": "week", "interval": 2, "weekdays": ["mon", "thu"], "until": "2027-06-30"
        }))
        .unwrap();
        assert_eq!(r.interval, 2);
        assert_eq!(r.until, Some(date("2027-06-30")));
        let r = Recurrence::parse(&json!({"every": "year", "month": 2, "day": 29})).unwrap();
        assert_eq!((r.month, r.day), (Some(2), Some(29)));
        assert_eq!(
            Recurrence::parse(&json!({"every": "day"}))
                .unwrap()
                .interval,
            1
        );
    }

    #[test]
    fn anchor_refuses_rules_that_never_fire_again() {
        let first = "2026-06-10 09:00";
        let cases = [
            json!({"every": "day", "count": 1}),
            json!({"every": "day", "count": 0}),
            json!({"every": "day", "until": "2026-06-09"}),
            json!({"every": "day", "until": "2026-06-10"}),
            json!({"every": "week", "until": "2026-06-16"}),
            json!({"every": "month", "until": "2026-07-09"}),
            json!({"every": "year", "until": "2027-01-01"}),
        ];
        for input in cases {
            let err = Recurrence::parse(&input)
                .unwrap()
                .anchor(at(first))
                .unwrap_err();
            assert_eq!(
                (err.field.as_str(), err.key),
                ("recurrence", "error-recurrence-never"),
                "{input}"
            );
        }
        // Just enough to fire once more.
        for input in [
            json!({"every": "day", "count": 2}),
            json!({"every": "day", "until": "2026-06-11"}),
            json!({"every": "week", "until": "2026-06-17"}),
        ] {
            assert!(
                Recurrence::parse(&input).unwrap().anchor(at(first)).is_ok(),
                "{input}"
            );
        }
    }

    #[test]
    fn anchor_keeps_a_day_already_set() {
        let r = Recurrence::parse(&json!({"every": "month", "day": 31}))
            .unwrap()
            .anchor(at("2027-04-30 09:00"))
            .unwrap();
        assert_eq!(r.day, Some(31));
        assert_eq!(
            r.next(at("2027-04-30 09:00"), 1),
            Some(at("2027-05-31 09:00"))
        );
    }

    #[test]
    fn json_round_trip() {
        let r = rule(
            json!({"every": "week", "interval": 2, "weekdays": ["thu", "mon"], "until": "2027-06-30"}),
            "2026-06-01 09:00",
        );
        let v = serde_json::to_value(&r).unwrap();
        assert_eq!(
            v,
            json!({"every": "week", "interval": 2, "weekdays": ["mon", "thu"], "until": "2027-06-30"})
        );
        assert_eq!(Recurrence::parse(&v).unwrap(), r);
        let r = rule(json!({"every": "year", "count": 5}), "2024-02-29 09:00");
        let v = serde_json::to_value(&r).unwrap();
        assert_eq!(
            v,
            json!({"every": "year", "interval": 1, "day": 29, "month": 2, "count": 5})
        );
        let back: Recurrence = serde_json::from_str(&v.to_string()).unwrap();
        assert_eq!(back, r);
    }

    #[test]
    fn describe_reads_like_english() {
        let r = rule(
            json!({"every": "week", "interval": 2, "weekdays": ["mon", "thu"], "until": "2027-06-30"}),
            "2026-06-01 09:00",
        );
        assert_eq!(r.describe(), "every 2 weeks on Mon, Thu until 2027-06-30");
        let r = rule(json!({"every": "month"}), "2026-01-31 09:00");
        assert_eq!(r.describe(), "every month on day 31");
        let r = rule(json!({"every": "year", "count": 3}), "2024-02-29 09:00");
        assert_eq!(r.describe(), "every year on Feb 29, 3 times");
        let r = rule(json!({"every": "day", "interval": 3}), "2026-01-31 09:00");
        assert_eq!(r.describe(), "every 3 days");
    }

    #[test]
    fn next_never_panics_at_the_edges_of_the_calendar() {
        let last = NaiveDate::MAX.and_hms_opt(23, 0, 0).unwrap();
        let first = NaiveDate::MIN.and_hms_opt(0, 0, 0).unwrap();
        for every in [Every::Day, Every::Week, Every::Month, Every::Year] {
            for interval in [0, 1, 366, u32::MAX] {
                let r = Recurrence {
                    every: every.clone(),
                    interval,
                    weekdays: vec![],
                    day: Some(u32::MAX),
                    month: Some(0),
                    until: None,
                    count: None,
                };
                assert_eq!(r.next(last, 1), None, "{every:?} {interval}");
                if let Some(next) = r.next(first, 1) {
                    assert!(next > first);
                }
                let _ = r.describe();
            }
        }
    }
}
