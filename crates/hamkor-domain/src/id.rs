//! Record ids: UUIDv7, made by the application so that ids sort by creation time and
//! never depend on the database's sequence. Shown to the outside as opaque strings.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;
use uuid::Uuid;

/// The id of any record. Ordered by creation time (UUIDv7).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Id(pub Uuid);

impl Id {
    /// A fresh, time-ordered id.
    pub fn new() -> Self {
        Id(Uuid::now_v7())
    }
    pub fn as_uuid(&self) -> Uuid {
        self.0
    }
}

impl Default for Id {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Display for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.hyphenated().fmt(f)
    }
}

impl fmt::Debug for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Id({})", self.0.hyphenated())
    }
}

/// The text was not an id this application made.
#[derive(Debug, thiserror::Error)]
#[error("not a valid id")]
pub struct BadId;

impl FromStr for Id {
    type Err = BadId;
    fn from_str(s: &str) -> Result<Self, BadId> {
        // Only the hyphenated form we hand out is accepted, so one record has one URL.
        if s.len() != 36 {
            return Err(BadId);
        }
        Uuid::parse_str(s).map(Id).map_err(|_| BadId)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_and_sort_by_creation() {
        let a = Id::new();
        let b = Id::new();
        assert!(a < b);
        assert_eq!(a.to_string().parse::<Id>().unwrap(), a);
    }

    #[test]
    fn foreign_spellings_are_refused() {
        assert!("not-an-id".parse::<Id>().is_err());
        let simple = Id::new().0.simple().to_string();
        assert!(simple.parse::<Id>().is_err());
        assert!("'; DROP TABLE accounts; --".parse::<Id>().is_err());
    }
}
