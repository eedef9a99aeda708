//! One stored value, whichever engine it came from: how it is written to a backup file,
//! read back, and put in the canonical text form the checksums are computed over.
//!
//! The engines store the same thing differently: an id is `uuid` on PostgreSQL and text on
//! SQLite, a flag `boolean` or 0/1, a moment `timestamptz` or fixed-width text, a JSON
//! value `jsonb` (keys reordered, spaces added) or the text the program wrote. The
//! canonical form irons that out, so a row has the same checksum on both.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use chrono::{DateTime, NaiveDate, NaiveDateTime, SubsecRound, Utc};
use serde_json::Value as Json;
use sha2::{Digest, Sha256};

/// What a column holds, the same on both engines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Text,
    Int,
    Float,
    Bool,
    Uuid,
    /// A moment in UTC, to the microsecond.
    Timestamp,
    Date,
    Json,
    Bytes,
}

impl Kind {
    /// The name used in backup files.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Text => "text",
            Kind::Int => "int",
            Kind::Float => "float",
            Kind::Bool => "bool",
            Kind::Uuid => "uuid",
            Kind::Timestamp => "timestamp",
            Kind::Date => "date",
            Kind::Json => "json",
            Kind::Bytes => "bytes",
        }
    }

    pub fn parse(s: &str) -> Option<Kind> {
        Some(match s {
            "text" => Kind::Text,
            "int" => Kind::Int,
            "float" => Kind::Float,
            "bool" => Kind::Bool,
            "uuid" => Kind::Uuid,
            "timestamp" => Kind::Timestamp,
            "date" => Kind::Date,
            "json" => Kind::Json,
            "bytes" => Kind::Bytes,
            _ => return None,
        })
    }

    /// The kind of a PostgreSQL column by its type name (`udt_name`), or `None` for a
    /// type backups do not know.
    pub fn of_postgres(udt: &str) -> Option<Kind> {
        Some(match udt {
            "text" | "varchar" | "bpchar" | "citext" | "name" => Kind::Text,
            "int8" | "int4" | "int2" => Kind::Int,
            "float8" | "float4" => Kind::Float,
            "bool" => Kind::Bool,
            "uuid" => Kind::Uuid,
            "timestamptz" => Kind::Timestamp,
            "date" => Kind::Date,
            "jsonb" | "json" => Kind::Json,
            "bytea" => Kind::Bytes,
            _ => return None,
        })
    }

    /// The kind a SQLite declared type gives by itself (its affinity).
    pub fn of_sqlite_declared(declared: &str) -> Kind {
        // SQLite's affinity rules, in its order.
        let t = declared.to_ascii_uppercase();
        if t.contains("INT") {
            Kind::Int
        } else if t.contains("CHAR") || t.contains("CLOB") || t.contains("TEXT") {
            Kind::Text
        } else if t.contains("BLOB") || t.is_empty() {
            Kind::Bytes
        } else {
            Kind::Float
        }
    }
}

/// A value as read from a database or a backup file. Ids, moments, dates and JSON are
/// [`Val::Text`]: the text SQLite stores, or PostgreSQL's value in that form.
#[derive(Debug, Clone, PartialEq)]
pub enum Val {
    Null,
    Int(i64),
    Float(f64),
    Bool(bool),
    Text(String),
    Bytes(Vec<u8>),
}

impl Val {
    /// Roughly how many bytes the value takes, to keep insert batches small in memory.
    pub fn size(&self) -> usize {
        match self {
            Val::Text(s) => s.len() + 8,
            Val::Bytes(b) => b.len() + 8,
            _ => 8,
        }
    }

    /// The value in a backup file: JSON `null`, a boolean, a number, or a string (bytes
    /// in base64; a float that is not finite as "NaN", "Infinity" or "-Infinity").
    pub fn to_json(&self, kind: Kind) -> Json {
        match (self, kind) {
            (Val::Null, _) => Json::Null,
            // SQLite keeps flags as 0/1.
            (Val::Int(i), Kind::Bool) => Json::Bool(*i != 0),
            (Val::Bool(b), _) => Json::Bool(*b),
            (Val::Int(i), _) => Json::from(*i),
            (Val::Float(f), _) => match serde_json::Number::from_f64(*f) {
                Some(n) => Json::Number(n),
                None => Json::String(float_text(*f)),
            },
            (Val::Text(s), _) => Json::String(s.clone()),
            (Val::Bytes(b), _) => Json::String(BASE64.encode(b)),
        }
    }

    /// Reads a value of a column of `kind` back from a backup file.
    pub fn from_json(v: Json, kind: Kind) -> Result<Val, String> {
        Ok(match (v, kind) {
            (Json::Null, _) => Val::Null,
            (Json::Bool(b), Kind::Bool) => Val::Bool(b),
            (Json::Number(n), Kind::Bool) => Val::Bool(n.as_i64() != Some(0)),
            (Json::Number(n), Kind::Int) => Val::Int(
                n.as_i64()
                    .ok_or_else(|| format!("{n} is not a 64-bit integer"))?,
            ),
            (Json::Number(n), Kind::Float) => {
                Val::Float(n.as_f64().ok_or_else(|| format!("{n} is not a number"))?)
            }
            (Json::String(s), Kind::Float) => Val::Float(match s.as_str() {
                "NaN" => f64::NAN,
                "Infinity" => f64::INFINITY,
                "-Infinity" => f64::NEG_INFINITY,
                other => other
                    .parse()
                    .map_err(|_| format!("{other:?} is not a number"))?,
            }),
            (Json::String(s), Kind::Bytes) => Val::Bytes(
                BASE64
                    .decode(s.as_bytes())
                    .map_err(|e| format!("bad base64: {e}"))?,
            ),
            (Json::String(s), _) => Val::Text(s),
            // What SQLite may hold in a column of another declared type comes back as
            // it was written.
            (Json::Number(n), _) => match n.as_i64() {
                Some(i) => Val::Int(i),
                None => Val::Float(n.as_f64().unwrap_or(f64::NAN)),
            },
            (Json::Bool(b), _) => Val::Bool(b),
            (other, k) => return Err(format!("{other} is not a {} value", k.name())),
        })
    }

    /// The canonical text of the value in a column of `kind` (`None` for NULL): the same
    /// on both engines for the same stored value.
    pub fn canonical(&self, kind: Kind) -> Option<String> {
        Some(match (self, kind) {
            (Val::Null, _) => return None,
            (Val::Int(i), Kind::Bool) => (*i != 0).to_string(),
            (Val::Int(i), Kind::Float) => float_text(*i as f64),
            (Val::Int(i), _) => i.to_string(),
            (Val::Float(f), _) => float_text(*f),
            (Val::Bool(b), _) => b.to_string(),
            (Val::Bytes(b), _) => hex::encode(b),
            (Val::Text(s), Kind::Uuid) => match uuid::Uuid::parse_str(s) {
                Ok(u) => u.hyphenated().to_string(),
                Err(_) => s.clone(),
            },
            (Val::Text(s), Kind::Timestamp) => match parse_timestamp(s) {
                Some(t) => timestamp_text(t),
                None => s.clone(),
            },
            (Val::Text(s), Kind::Date) => match NaiveDate::parse_from_str(s, "%Y-%m-%d") {
                Ok(d) => d.format("%Y-%m-%d").to_string(),
                Err(_) => s.clone(),
            },
            (Val::Text(s), Kind::Json) => match serde_json::from_str::<Json>(s) {
                Ok(v) => {
                    let mut out = String::with_capacity(s.len());
                    canonical_json(&v, &mut out);
                    out
                }
                Err(_) => s.clone(),
            },
            (Val::Text(s), _) => s.clone(),
        })
    }
}

/// A float as text: Rust's shortest form that reads back to the same number.
fn float_text(f: f64) -> String {
    if f.is_nan() {
        "NaN".into()
    } else if f == f64::INFINITY {
        "Infinity".into()
    } else if f == f64::NEG_INFINITY {
        "-Infinity".into()
    } else {
        format!("{f:?}")
    }
}

/// A stored moment: Hamkor's fixed-width text, any RFC 3339 text, or SQLite's own
/// `YYYY-MM-DD HH:MM:SS[.fff]` (UTC), as older rows written by SQL may hold.
pub fn parse_timestamp(s: &str) -> Option<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc).trunc_subsecs(6));
    }
    NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%.f")
        .ok()
        .map(|t| t.and_utc().trunc_subsecs(6))
}

/// A moment as SQLite stores it (`hamkor_domain::time::STORAGE_FORMAT`).
pub fn timestamp_text(t: DateTime<Utc>) -> String {
    t.format(hamkor_domain::time::STORAGE_FORMAT).to_string()
}

/// JSON with object keys in byte order and no spaces; numbers as serde_json prints them
/// (PostgreSQL's `jsonb` reorders keys and changes spacing, but not values).
fn canonical_json(v: &Json, out: &mut String) {
    match v {
        Json::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Json::String(k.clone()).to_string());
                out.push(':');
                if let Some(v) = map.get(k) {
                    canonical_json(v, out);
                }
            }
            out.push('}');
        }
        Json::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                canonical_json(item, out);
            }
            out.push(']');
        }
        // Numbers that are not integers go through f64, so 1.50 and 1.5 agree, and
        // whole ones print as integers, so 100, 100.0 and 1e2 agree.
        Json::Number(n) if !n.is_i64() && !n.is_u64() => {
            let f = n.as_f64().unwrap_or(f64::NAN);
            if f.fract() == 0.0 && f.abs() < 9.0e15 {
                out.push_str(&(f as i64).to_string());
            } else {
                out.push_str(&float_text(f));
            }
        }
        other => out.push_str(&other.to_string()),
    }
}

/// The checksum of a table: the sum, modulo 2^256, of the SHA-256 of each row's canonical
/// form. A sum does not depend on the order rows are read in, which differs between the
/// engines (text collation, NULL ordering), and counts a repeated row twice.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Checksum {
    sum: [u8; 32],
}

impl Checksum {
    /// Adds one row, its values in the order of `kinds`.
    pub fn add_row(&mut self, row: &[Val], kinds: &[Kind]) {
        let mut h = Sha256::new();
        for (v, k) in row.iter().zip(kinds) {
            match v.canonical(*k) {
                None => h.update([0u8]),
                Some(text) => {
                    h.update([1u8]);
                    h.update((text.len() as u64).to_le_bytes());
                    h.update(text.as_bytes());
                }
            }
        }
        let digest = h.finalize();
        // Big-endian addition with carry.
        let mut carry = 0u16;
        for i in (0..32).rev() {
            let s = self.sum[i] as u16 + digest[i] as u16 + carry;
            self.sum[i] = s as u8;
            carry = s >> 8;
        }
    }

    pub fn hex(&self) -> String {
        hex::encode(self.sum)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_forms_each_engine_stores_have_one_canonical_text() {
        let same = |a: Val, b: Val, k: Kind| {
            assert_eq!(a.canonical(k), b.canonical(k), "{a:?} vs {b:?} as {k:?}")
        };
        same(Val::Int(1), Val::Bool(true), Kind::Bool);
        same(Val::Int(0), Val::Bool(false), Kind::Bool);
        same(
            Val::Text("2026-05-09T10:00:00.120000Z".into()),
            Val::Text("2026-05-09 10:00:00.12".into()),
            Kind::Timestamp,
        );
        same(
            Val::Text("2026-05-09T10:00:00.120000Z".into()),
            Val::Text("2026-05-09T15:00:00.12+05:00".into()),
            Kind::Timestamp,
        );
        same(
            Val::Text(r#"{"b":[1,2.50,100.0],"a":{"y":null,"x":"é"}}"#.into()),
            Val::Text(r#"{"a": {"x": "\u00e9", "y": null}, "b": [1, 2.5, 1e2]}"#.into()),
            Kind::Json,
        );
        same(
            Val::Text("0196B0A2-7F5E-7C31-9A5B-1234567890AB".into()),
            Val::Text("0196b0a2-7f5e-7c31-9a5b-1234567890ab".into()),
            Kind::Uuid,
        );
        // NULL and the empty text differ.
        assert_ne!(
            Val::Null.canonical(Kind::Text),
            Val::Text(String::new()).canonical(Kind::Text)
        );
    }

    #[test]
    fn values_survive_the_file_form() {
        let cases = [
            (Val::Null, Kind::Text),
            (Val::Text("Алишер O‘g‘li".into()), Kind::Text),
            (Val::Int(i64::MIN), Kind::Int),
            (Val::Float(0.1), Kind::Float),
            (Val::Float(f64::INFINITY), Kind::Float),
            (Val::Bool(true), Kind::Bool),
            (Val::Bytes(vec![0, 255, 10, 13]), Kind::Bytes),
            (Val::Text("{\"a\":1}".into()), Kind::Json),
        ];
        for (v, k) in cases {
            let back = Val::from_json(v.to_json(k), k).unwrap();
            assert_eq!(back.canonical(k), v.canonical(k), "{v:?}");
        }
        assert!(Val::from_json(Json::String("***".into()), Kind::Bytes).is_err());
        assert!(Val::from_json(serde_json::json!(1.5), Kind::Int).is_err());
    }

    #[test]
    fn a_checksum_does_not_depend_on_row_order_but_on_every_value() {
        let kinds = [Kind::Int, Kind::Text];
        let rows = [
            vec![Val::Int(1), Val::Text("a".into())],
            vec![Val::Int(2), Val::Null],
            vec![Val::Int(2), Val::Null],
        ];
        let (mut a, mut b) = (Checksum::default(), Checksum::default());
        for r in &rows {
            a.add_row(r, &kinds);
        }
        for r in rows.iter().rev() {
            b.add_row(r, &kinds);
        }
        assert_eq!(a, b);
        let mut c = Checksum::default();
        c.add_row(&rows[0], &kinds);
        c.add_row(&rows[1], &kinds);
        assert_ne!(a, c, "a repeated row counts");
        let mut d = Checksum::default();
        d.add_row(&[Val::Int(1), Val::Text("b".into())], &kinds);
        d.add_row(&rows[1], &kinds);
        d.add_row(&rows[1], &kinds);
        assert_ne!(a, d);
    }
}
