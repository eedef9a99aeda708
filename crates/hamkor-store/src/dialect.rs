//! The few places where SQLite and PostgreSQL SQL differ, one function each.

use crate::db::{Backend, Sql};

/// Case-insensitive LIKE.
pub fn ilike(b: Backend) -> &'static str {
    match b {
        Backend::Sqlite => " LIKE ",
        Backend::Postgres => " ILIKE ",
    }
}

/// Row lock for read-modify-write inside a transaction (SQLite's writer already holds
/// the database lock, since write transactions begin IMMEDIATE).
pub fn for_update(b: Backend) -> &'static str {
    match b {
        Backend::Sqlite => "",
        Backend::Postgres => " FOR UPDATE",
    }
}

/// How a custom field's value is read for comparing and sorting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JsonAs {
    Text,
    Number,
    /// `{amount, currency}`: compared by amount.
    MoneyAmount,
    Bool,
}

/// Appends an expression reading `custom.<key>` (the key is bound, never spliced).
pub fn push_custom_value(sql: &mut Sql, b: Backend, key: &str, as_: JsonAs) {
    match (b, as_) {
        (Backend::Sqlite, JsonAs::Text) => {
            sql.push("COALESCE(json_extract(custom, ")
                .bind(format!("$.\"{key}\""))
                .push("), '')");
        }
        (Backend::Sqlite, JsonAs::Number) => {
            sql.push("COALESCE(CAST(json_extract(custom, ")
                .bind(format!("$.\"{key}\""))
                .push(") AS REAL), -1e300)");
        }
        (Backend::Sqlite, JsonAs::MoneyAmount) => {
            sql.push("COALESCE(CAST(json_extract(custom, ")
                .bind(format!("$.\"{key}\".amount"))
                .push(") AS REAL), -1e300)");
        }
        (Backend::Sqlite, JsonAs::Bool) => {
            sql.push("COALESCE(json_extract(custom, ")
                .bind(format!("$.\"{key}\""))
                .push("), 0) = 1");
        }
        (Backend::Postgres, JsonAs::Text) => {
            sql.push("COALESCE(custom->>")
                .bind(key.to_string())
                .push(", '')");
        }
        (Backend::Postgres, JsonAs::Number) => {
            sql.push("COALESCE((custom->>")
                .bind(key.to_string())
                .push(")::float8, -1e300)");
        }
        (Backend::Postgres, JsonAs::MoneyAmount) => {
            sql.push("COALESCE((custom->")
                .bind(key.to_string())
                .push("->>'amount')::float8, -1e300)");
        }
        (Backend::Postgres, JsonAs::Bool) => {
            sql.push("COALESCE((custom->>")
                .bind(key.to_string())
                .push(")::boolean, FALSE)");
        }
    }
}

/// Appends "the JSON list column contains this string".
pub fn push_json_list_contains(sql: &mut Sql, b: Backend, column: &'static str, value: String) {
    match b {
        Backend::Sqlite => {
            sql.push("EXISTS (SELECT 1 FROM json_each(")
                .push_ident(column)
                .push(") WHERE value = ")
                .bind(value)
                .push(")");
        }
        Backend::Postgres => {
            sql.push(column)
                .push(" @> jsonb_build_array(")
                .bind(value)
                .push("::text)");
        }
    }
}

/// Appends a date column as `YYYY-MM-DD` text ('' when empty), for sorting and keysets.
pub fn push_date_text(sql: &mut Sql, b: Backend, column: &'static str) {
    match b {
        Backend::Sqlite => {
            sql.push("COALESCE(").push_ident(column).push(", '')");
        }
        Backend::Postgres => {
            sql.push("COALESCE(to_char(")
                .push_ident(column)
                .push(", 'YYYY-MM-DD'), '')");
        }
    }
}

/// Appends a scalar subquery giving a contact's (`t`) linked accounts as a JSON array of
/// `{account_id, position, name}`, ordered by name. `scope` appends the actor's read scope
/// on `a.owner_id`.
pub fn push_linked_accounts(sql: &mut Sql, b: Backend, scope: impl FnOnce(&mut Sql)) {
    match b {
        Backend::Sqlite => {
            sql.push(
                "(SELECT json_group_array(json_object('account_id', x.account_id, 'position', x.position, 'name', x.name)) \
                 FROM (SELECT ca.account_id, ca.position, a.name FROM contact_accounts ca JOIN accounts a ON a.id = ca.account_id \
                 WHERE ca.contact_id = t.id AND a.deleted_at IS NULL",
            );
            scope(sql);
            sql.push(" ORDER BY a.name) x)");
        }
        Backend::Postgres => {
            sql.push(
                "(SELECT COALESCE(json_agg(json_build_object('account_id', ca.account_id, 'position', ca.position, 'name', a.name) \
                 ORDER BY a.name), '[]'::json) FROM contact_accounts ca JOIN accounts a ON a.id = ca.account_id \
                 WHERE ca.contact_id = t.id AND a.deleted_at IS NULL",
            );
            scope(sql);
            sql.push(")");
        }
    }
}

/// Appends `, custom = <custom without key> WHERE <custom has key>` for an UPDATE.
pub fn push_custom_remove(sql: &mut Sql, b: Backend, key: &str) {
    match b {
        Backend::Sqlite => {
            let path = format!("$.\"{key}\"");
            sql.push(", custom = json_remove(custom, ")
                .bind(path.clone())
                .push(") WHERE json_type(custom, ")
                .bind(path)
                .push(") IS NOT NULL");
        }
        Backend::Postgres => {
            sql.push(", custom = custom - ")
                .bind(key.to_string())
                .push("::text WHERE custom ? ")
                .bind(key.to_string())
                .push("::text");
        }
    }
}

/// Appends the search condition: every word occurs in the record's folded `search` text,
/// or the digits do. SQLite asks its FTS5 trigram index (`index`, kept by triggers);
/// PostgreSQL's trigram GIN index serves `LIKE` on the column itself. Words of fewer than
/// three letters are still found, by a scan.
pub fn push_search(
    sql: &mut Sql,
    b: Backend,
    index: &'static str,
    words: &[String],
    digits: Option<&str>,
) {
    let column = match b {
        Backend::Sqlite => {
            sql.push(" AND t.rowid IN (SELECT rowid FROM ")
                .push_ident(index)
                .push(" WHERE ");
            "search"
        }
        Backend::Postgres => {
            sql.push(" AND ");
            "t.search"
        }
    };
    sql.push("((");
    if words.is_empty() {
        sql.push("1 = 0");
    }
    for (i, w) in words.iter().enumerate() {
        if i > 0 {
            sql.push(" AND ");
        }
        sql.push_ident(column).push(" LIKE ").bind(format!("%{w}%"));
    }
    sql.push(")");
    if let Some(d) = digits {
        sql.push(" OR ")
            .push_ident(column)
            .push(" LIKE ")
            .bind(format!("%{d}%"));
    }
    sql.push(")");
    if b == Backend::Sqlite {
        sql.push(")");
    }
}
