//! Timestamps: UTC, microsecond precision. SQLite keeps them as text in one fixed format
//! so that text order is time order; PostgreSQL keeps them as `timestamptz`.

use chrono::{DateTime, NaiveDateTime, SubsecRound, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;

/// A moment in UTC, truncated to microseconds (what both databases keep).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Timestamp(pub DateTime<Utc>);

/// A user's time zone, by its IANA name; Tashkent, the default, when the name is missing
/// or names no zone.
pub fn user_zone(name: Option<&str>) -> chrono_tz::Tz {
    name.and_then(|n| n.parse().ok())
        .unwrap_or(chrono_tz::Asia::Tashkent)
}

/// The one text format SQLite stores: fixed width, so text order is time order.
pub const STORAGE_FORMAT: &str = "%Y-%m-%dT%H:%M:%S%.6fZ";

impl Timestamp {
    pub fn now() -> Self {
        Timestamp(Utc::now().trunc_subsecs(6))
    }
    pub fn from_datetime(dt: DateTime<Utc>) -> Self {
        Timestamp(dt.trunc_subsecs(6))
    }
    /// The fixed-width text stored by SQLite.
    pub fn to_storage(&self) -> String {
        self.0.format(STORAGE_FORMAT).to_string()
    }
    /// Reads the stored text back; also accepts any RFC 3339 text.
    pub fn parse_storage(s: &str) -> Option<Self> {
        if let Ok(dt) = NaiveDateTime::parse_from_str(s, STORAGE_FORMAT) {
            return Some(Timestamp(dt.and_utc()));
        }
        Self::parse_rfc3339(s)
    }
    /// Parses RFC 3339 input from the outside (any offset), normalised to UTC.
    pub fn parse_rfc3339(s: &str) -> Option<Self> {
        DateTime::parse_from_rfc3339(s)
            .ok()
            .map(|d| Self::from_datetime(d.with_timezone(&Utc)))
    }
    /// RFC 3339 in UTC with a `Z`, as the API shows it.
    pub fn to_rfc3339(&self) -> String {
        self.0.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
    }
}

impl fmt::Debug for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_rfc3339())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_user_zone_falls_back_to_tashkent() {
        assert_eq!(user_zone(Some("Europe/Moscow")), chrono_tz::Europe::Moscow);
        assert_eq!(user_zone(Some("Mars/Olympus")), chrono_tz::Asia::Tashkent);
        assert_eq!(user_zone(None), chrono_tz::Asia::Tashkent);
    }

    #[test]
    fn storage_text_sorts_like_time() {
        let a = Timestamp::parse_rfc3339("2026-01-01T10:00:00Z").unwrap();
        let b = Timestamp::parse_rfc3339("2026-01-01T10:00:00.5+00:00").unwrap();
        let c = Timestamp::parse_rfc3339("2026-01-01T15:00:00.25+05:00").unwrap();
        assert!(a.to_storage() < b.to_storage());
        assert!(c.to_storage() < b.to_storage(), "15:00+05 is 10:00Z");
        assert_eq!(Timestamp::parse_storage(&b.to_storage()), Some(b));
    }
}
