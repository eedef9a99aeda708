//! Many rows into one table with few statements: the data generator, imports and the
//! side tables of a batch of records.
//!
//! On SQLite every row of a chunk travels in one JSON parameter that the statement
//! unpacks with `jsonb_each`. That matters twice over. SQLite opens a statement savepoint
//! for each statement that writes a virtual table (the search index, through its
//! triggers), and FTS5 writes its pending terms to disk at every savepoint: ten rows per
//! statement meant a tiny index segment, and merges, every ten rows. And the driver looks
//! each bound parameter up by name with a linear search, so a statement with n
//! parameters costs n². One parameter per chunk avoids both. PostgreSQL takes ordinary
//! multi-row `VALUES`.

use crate::StoreError;
use crate::db::{Arg, Backend, Exec, Sql};
use serde_json::Value;

/// Rows per statement on SQLite (one JSON text each; a few MB at most).
const SQLITE_ROWS: usize = 5000;
/// Parameters per statement on PostgreSQL (its limit is 65,535).
const POSTGRES_PARAMS: usize = 8000;

/// Inserts `rows` (each with one value per column, in order) into `table`. `tail` ends
/// each statement, e.g. `" ON CONFLICT DO NOTHING"`.
pub async fn insert_rows(
    ex: &mut impl Exec,
    table: &'static str,
    columns: &[&'static str],
    rows: &[Vec<Arg>],
    tail: &'static str,
) -> Result<(), StoreError> {
    if rows.is_empty() {
        return Ok(());
    }
    match ex.backend() {
        Backend::Sqlite => {
            for chunk in rows.chunks(SQLITE_ROWS) {
                match json_rows(chunk) {
                    Some(json) => {
                        let mut sql = Sql::new("INSERT INTO ");
                        sql.push_ident(table).push(" (");
                        push_columns(&mut sql, columns);
                        sql.push(") SELECT ");
                        for i in 0..columns.len() {
                            if i > 0 {
                                sql.push(", ");
                            }
                            sql.push("j.value ->> ").push_number(i);
                        }
                        // `WHERE true` keeps an `ON CONFLICT` tail from being read as
                        // part of the SELECT's join.
                        sql.push(" FROM jsonb_each(")
                            .bind(json)
                            .push(") AS j WHERE true")
                            .push(tail);
                        ex.execute(&sql).await?;
                    }
                    // A value JSON cannot carry as is (a blob, a float that is not a
                    // number): a few rows per statement.
                    None => values(ex, table, columns, chunk, tail, 10).await?,
                }
            }
            Ok(())
        }
        Backend::Postgres => {
            let per = (POSTGRES_PARAMS / columns.len().max(1)).max(1);
            values(ex, table, columns, rows, tail, per).await
        }
    }
}

fn push_columns(sql: &mut Sql, columns: &[&'static str]) {
    for (i, c) in columns.iter().enumerate() {
        if i > 0 {
            sql.push(", ");
        }
        sql.push_ident(c);
    }
}

async fn values(
    ex: &mut impl Exec,
    table: &'static str,
    columns: &[&'static str],
    rows: &[Vec<Arg>],
    tail: &'static str,
    per: usize,
) -> Result<(), StoreError> {
    for chunk in rows.chunks(per) {
        let mut sql = Sql::new("INSERT INTO ");
        sql.push_ident(table).push(" (");
        push_columns(&mut sql, columns);
        sql.push(") VALUES ");
        for (i, row) in chunk.iter().enumerate() {
            sql.push(if i == 0 { "(" } else { ", (" });
            for (k, v) in row.iter().enumerate() {
                if k > 0 {
                    sql.push(", ");
                }
                sql.bind(v.clone());
            }
            sql.push(")");
        }
        sql.push(tail);
        ex.execute(&sql).await?;
    }
    Ok(())
}

/// The rows as one JSON array of arrays, each value in the form `->>` gives back as the
/// same SQLite value the driver would have bound; `None` if a value has no such form.
/// Written straight into the text, without a `Value` tree: an import spends a tenth of its
/// time here otherwise.
fn json_rows(rows: &[Vec<Arg>]) -> Option<String> {
    use std::io::Write;
    let mut out: Vec<u8> =
        Vec::with_capacity(rows.len() * rows.first().map_or(0, |r| r.len()) * 16);
    // A batch's rows mostly share their timestamps: each is formatted once.
    let mut last_ts: Option<(hamkor_domain::Timestamp, String)> = None;
    // Writing into a `Vec` cannot fail; `ok()?` only satisfies the types.
    out.push(b'[');
    for (i, row) in rows.iter().enumerate() {
        out.extend_from_slice(if i == 0 { b"[" } else { b",[" });
        for (k, v) in row.iter().enumerate() {
            if k > 0 {
                out.push(b',');
            }
            match v {
                Arg::Text(Some(s)) => serde_json::to_writer(&mut out, s).ok()?,
                Arg::Int(Some(n)) => write!(out, "{n}").ok()?,
                Arg::Float(Some(f)) => {
                    serde_json::to_writer(&mut out, &serde_json::Number::from_f64(*f)?).ok()?
                }
                // The driver binds a boolean as the integer 0 or 1.
                Arg::Bool(Some(b)) => out.push(if *b { b'1' } else { b'0' }),
                Arg::Id(Some(id)) => write!(out, "\"{id}\"").ok()?,
                Arg::Ts(Some(ts)) => {
                    if last_ts.as_ref().is_none_or(|(t, _)| t != ts) {
                        last_ts = Some((*ts, ts.to_storage()));
                    }
                    let text = last_ts.as_ref().map_or("", |(_, s)| s.as_str());
                    serde_json::to_writer(&mut out, text).ok()?
                }
                Arg::Date(Some(d)) => write!(out, "\"{}\"", d.format("%Y-%m-%d")).ok()?,
                // Stored as its text, as the driver binds it.
                Arg::Json(Some(j)) => serde_json::to_writer(&mut out, &j.to_string()).ok()?,
                Arg::Bytes(Some(_)) => return None,
                Arg::Text(None)
                | Arg::Int(None)
                | Arg::Float(None)
                | Arg::Bool(None)
                | Arg::Id(None)
                | Arg::Ts(None)
                | Arg::Date(None)
                | Arg::Json(None)
                | Arg::Bytes(None) => out.extend_from_slice(b"null"),
            }
        }
        out.push(b']');
    }
    out.push(b']');
    String::from_utf8(out).ok()
}

pub(crate) fn json_value(v: &Arg) -> Option<Value> {
    Some(match v {
        Arg::Text(v) => v.clone().map(Value::String).unwrap_or(Value::Null),
        Arg::Int(v) => v.map(Value::from).unwrap_or(Value::Null),
        Arg::Float(None) => Value::Null,
        Arg::Float(Some(f)) => Value::Number(serde_json::Number::from_f64(*f)?),
        // The driver binds a boolean as the integer 0 or 1.
        Arg::Bool(v) => v.map(|b| Value::from(b as i64)).unwrap_or(Value::Null),
        Arg::Id(v) => v
            .map(|v| Value::String(v.to_string()))
            .unwrap_or(Value::Null),
        Arg::Ts(v) => v
            .map(|v| Value::String(v.to_storage()))
            .unwrap_or(Value::Null),
        Arg::Date(v) => v
            .map(|d| Value::String(d.format("%Y-%m-%d").to_string()))
            .unwrap_or(Value::Null),
        Arg::Json(v) => v
            .as_ref()
            .map(|v| Value::String(v.to_string()))
            .unwrap_or(Value::Null),
        Arg::Bytes(None) => Value::Null,
        Arg::Bytes(Some(_)) => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Db;
    use hamkor_domain::{Id, Timestamp};

    /// Rows written through `jsonb_each` are stored exactly as bound rows are: the same
    /// values with the same storage classes, in columns with and without a type.
    #[tokio::test]
    async fn json_rows_store_what_bound_rows_store() {
        let path = std::env::temp_dir().join(format!("hamkor-bulk-{}.db", Id::new()));
        let db = Db::connect(&format!("sqlite://{}", path.display()))
            .await
            .unwrap();
        let mut ex = db.clone();
        ex.execute(&Sql::new(
            "CREATE TABLE t (n INTEGER, k TEXT, a TEXT, b INTEGER, c REAL, d, e, f, g, h, i, j, l)",
        ))
        .await
        .unwrap();
        let ts = Timestamp::now();
        let row = |n: i64| {
            vec![
                Arg::Int(Some(n)),
                Arg::Text(Some("O'Brien \"Ким\" \\ \u{1F600}".into())),
                Arg::Text(None),
                Arg::Int(Some(-9_007_199_254_740_993)),
                Arg::Float(Some(1.5)),
                Arg::Bool(Some(true)),
                Arg::Id(Some(Id::new())),
                Arg::Ts(Some(ts)),
                Arg::Date(chrono::NaiveDate::from_ymd_opt(2024, 2, 29)),
                Arg::Json(Some(serde_json::json!([{"value": "+998 90", "n": 1}]))),
                Arg::Text(Some("12".into())),
                Arg::Int(Some(7)),
                Arg::Float(Some(2.0)),
            ]
        };
        let columns = [
            "n", "k", "a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "l",
        ];
        let mut bound = row(1);
        let mut json = row(2);
        // Same id in both rows, so the rows compare equal but for `n`.
        json[6] = bound[6].clone();
        bound[0] = Arg::Int(Some(1));
        values(&mut ex, "t", &columns, &[bound], "", 10)
            .await
            .unwrap();
        insert_rows(&mut ex, "t", &columns, &[json], "")
            .await
            .unwrap();
        let mut q = Sql::new("SELECT n");
        for c in &columns[1..] {
            q.push(", typeof(")
                .push_ident(c)
                .push(") || ':' || quote(")
                .push_ident(c)
                .push(") AS ")
                .push_ident(c);
        }
        q.push(" FROM t ORDER BY n");
        let rows = ex.fetch_all(&q).await.unwrap();
        assert_eq!(rows.len(), 2);
        for c in &columns[1..] {
            let a = rows[0].req_text(c).unwrap();
            let b = rows[1].req_text(c).unwrap();
            assert_eq!(a, b, "column {c}");
        }
        assert_eq!(rows[0].req_text("d").unwrap(), "integer:1");
        assert_eq!(rows[0].req_text("i").unwrap(), "text:'12'");
        drop(ex);
        db.close().await;
        let _ = std::fs::remove_file(&path);
    }
}
