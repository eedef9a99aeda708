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

/// The latest moment a sort key can hold: an empty timestamp sorts as this, after every
/// real one, on both engines.
pub const TS_LAST: &str = "9999-12-31T00:00:00.000000Z";

/// Appends a nullable timestamp column as a sort key with its NULLs last.
pub fn push_ts_nulls_last(sql: &mut Sql, b: Backend, column: &'static str) {
    match b {
        Backend::Sqlite => {
            sql.push("COALESCE(")
                .push_ident(column)
                .push(", '")
                .push(TS_LAST)
                .push("')");
        }
        Backend::Postgres => {
            sql.push("COALESCE(")
                .push_ident(column)
                .push(", TIMESTAMPTZ '9999-12-31 00:00:00+00')");
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

/// How a list searches on SQLite: through the FTS5 trigram index when the terms are rare
/// enough for its answer to be small, or by scanning in list order (which stops as soon as
/// the page is full, the quick way for common terms). PostgreSQL's planner makes the same
/// choice itself.
#[derive(Debug, Clone)]
pub struct SearchPlan {
    /// The object's FTS5 table.
    pub index: &'static str,
    /// The index holds words (matched by prefix) rather than trigrams (matched anywhere);
    /// the scan then matches word starts too, so both ways find the same records.
    pub words: bool,
    /// The rowids the FTS5 query found, or `None` to scan. The probe that chose the index
    /// already read them, so the list does not ask the index again.
    pub hits: Option<Vec<i64>>,
    /// `hits` are only the first of more matches, read because any will do
    /// ([`crate::list::ListQuery::any_matches`]).
    pub first_hits: bool,
    /// With `first_hits`: the FTS5 query when the probe stopped at the first hits without
    /// counting up to [`INDEX_HITS`] (the search box's quick probe), to ask again when
    /// those hits do not fill the page.
    pub recount: Option<String>,
    /// A number search through `search_numbers` for this object (see `ListQuery::numeric`).
    pub numbers: Option<&'static str>,
}

impl SearchPlan {
    /// The index holds none of the words: the list has nothing to read.
    pub fn finds_nothing(&self) -> bool {
        self.hits.as_ref().is_some_and(Vec::is_empty)
    }
}

/// At most this many index hits make the index the better way on SQLite.
pub const INDEX_HITS: i64 = 2000;

/// Longest word a trigram query looks up as it is; a longer one is looked up by its last
/// `TRIGRAM_WORD` characters (the leading "998" of a phone number is in every phone) and
/// checked whole with `LIKE`.
const TRIGRAM_WORD: usize = 9;

/// The part of a word a trigram query looks up, or `None` if it is too short for one.
fn trigram_part(w: &str) -> Option<String> {
    let n = w.chars().count();
    if n < 3 {
        return None;
    }
    Some(w.chars().skip(n.saturating_sub(TRIGRAM_WORD)).collect())
}

/// The most words an FTS5 query looks up; the list checks the others with `LIKE`.
const FTS_WORDS: usize = 2;

/// Which of the words the index looks up: those it can (for a trigram index, three
/// characters or more), the longest [`FTS_WORDS`] of them, in the query's order. The
/// longest are the rarest as a rule, and each word costs the index a list of matches to
/// walk: in "nodira.xolmatov@mail.uz" the word "mail" is in nearly every contact's
/// e-mail, and looking it up made the query six times slower while ruling out nothing.
fn fts_words(words: &[String], word_index: bool) -> Vec<usize> {
    let mut usable: Vec<usize> = (0..words.len())
        .filter(|&i| word_index || trigram_part(&words[i]).is_some())
        .collect();
    // A stable sort: of words as long, the first ones.
    usable.sort_by_key(|&i| std::cmp::Reverse(words[i].chars().count()));
    usable.truncate(FTS_WORDS);
    usable.sort_unstable();
    usable
}

/// The FTS5 query for the words (see [`fts_words`]): for a trigram index, each word's
/// trigram part (see `trigram_part`); for a word index, word prefixes (`exact`: whole
/// words, a cheap first probe). `None` when no word can use the index. Words hold only
/// letters, digits and spaces, so quoting them is safe.
pub fn fts_query(words: &[String], word_index: bool, exact: bool) -> Option<String> {
    let star = if exact { "" } else { "*" };
    let terms: Vec<String> = fts_words(words, word_index)
        .into_iter()
        .filter_map(|i| {
            let w = &words[i];
            if word_index {
                Some(format!("\"{w}\"{star}"))
            } else {
                trigram_part(w).map(|w| format!("\"{w}\""))
            }
        })
        .collect();
    (!terms.is_empty()).then(|| terms.join(" AND "))
}

/// `t.search LIKE '%w%'`, or for word-indexed objects, a word of it starts with `w`.
fn push_like(sql: &mut Sql, words: bool, w: &str) {
    if words {
        // Two patterns on the bare column, so PostgreSQL's trigram index serves both.
        sql.push("(t.search LIKE ")
            .bind(format!("{w}%"))
            .push(" OR t.search LIKE ")
            .bind(format!("% {w}%"))
            .push(")");
    } else {
        sql.push("t.search LIKE ").bind(format!("%{w}%"));
    }
}

/// Appends the search condition: every word occurs in the record's folded `search` text.
pub fn push_search(sql: &mut Sql, b: Backend, plan: &SearchPlan, words: &[String]) {
    if let (Some(object), Some(number)) = (plan.numbers, words.first()) {
        // Every ending of a stored number is a key, so a piece from anywhere in it is the
        // beginning of one: one range of the index. ':' follows '9', so "f123" ≤ key <
        // "f123:" are the keys starting with "f123".
        sql.push(" AND t.id IN (SELECT record_id FROM search_numbers WHERE object = ")
            .bind(object)
            .push(" AND key >= ")
            .bind(format!("f{number}"))
            .push(" AND key < ")
            .bind(format!("f{number}:"))
            .push(")");
        return;
    }
    if let (Backend::Sqlite, Some(hits)) = (b, &plan.hits) {
        sql.push(" AND t.rowid");
        push_in(
            sql,
            b,
            hits.iter().map(|&r| crate::Arg::Int(Some(r))).collect(),
        );
        // Words the index did not look up whole are checked here.
        let looked_up = fts_words(words, plan.words);
        for (i, w) in words.iter().enumerate() {
            let whole = looked_up.contains(&i)
                && (plan.words || trigram_part(w).as_deref() == Some(w.as_str()));
            if !whole {
                sql.push(" AND ");
                push_like(sql, plan.words, w);
            }
        }
        return;
    }
    sql.push(" AND (");
    if words.is_empty() {
        sql.push("1 = 0");
    }
    for (i, w) in words.iter().enumerate() {
        if i > 0 {
            sql.push(" AND ");
        }
        push_like(sql, plan.words, w);
    }
    sql.push(")");
}

/// "A contact's `t.emails` list holds this address".
pub fn push_json_list_contains_email(sql: &mut Sql, b: Backend, address: String) {
    match b {
        Backend::Sqlite => {
            sql.push("EXISTS (SELECT 1 FROM json_each(t.emails) WHERE json_extract(value, '$.address') = ")
                .bind(address)
                .push(")");
        }
        Backend::Postgres => {
            sql.push("t.emails @> jsonb_build_array(jsonb_build_object('address', ")
                .bind(address)
                .push("::text))");
        }
    }
}

/// Appends "the `id` member of the JSON object column" as text (a task's `related`).
pub fn push_json_id(sql: &mut Sql, b: Backend, column: &'static str) {
    match b {
        Backend::Sqlite => {
            sql.push("json_extract(")
                .push_ident(column)
                .push(", '$.id')");
        }
        Backend::Postgres => {
            sql.push("(").push_ident(column).push("->>'id')");
        }
    }
}

/// `IN (…)` over many values (keys, ids): on SQLite one JSON parameter unpacked by
/// `json_each` (the driver finds each bound parameter by a linear search, so hundreds of
/// them cost their square); on PostgreSQL one parameter each. Values of one kind: texts,
/// numbers or ids.
pub fn push_in(sql: &mut Sql, b: Backend, values: Vec<crate::Arg>) {
    match b {
        Backend::Sqlite => {
            let list: Vec<serde_json::Value> = values
                .iter()
                .map(|v| crate::bulk::json_value(v).unwrap_or(serde_json::Value::Null))
                .collect();
            sql.push(" IN (SELECT value FROM json_each(")
                .bind(serde_json::Value::from(list).to_string())
                .push("))");
        }
        Backend::Postgres => {
            sql.push(" IN (");
            for (i, v) in values.into_iter().enumerate() {
                if i > 0 {
                    sql.push(", ");
                }
                sql.bind(v);
            }
            sql.push(")");
        }
    }
}

/// `column` (a JSON object) without `keys`: SQLite's `json_remove`, PostgreSQL's `-`. The
/// keys are bound, never written into the statement.
pub fn push_json_without_keys(sql: &mut Sql, b: Backend, column: &'static str, keys: &[&str]) {
    if keys.is_empty() {
        sql.push(column);
        return;
    }
    match b {
        Backend::Sqlite => {
            sql.push("json_remove(").push(column);
            for k in keys {
                // A quoted path: a key is taken as it is, whatever its characters.
                sql.push(", ").bind(format!("$.\"{}\"", k.replace('"', "")));
            }
            sql.push(")");
        }
        Backend::Postgres => {
            sql.push("(").push(column);
            for k in keys {
                sql.push(" - CAST(").bind(k.to_string()).push(" AS TEXT)");
            }
            sql.push(")");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::fts_query;

    fn w(s: &str) -> Vec<String> {
        s.split(' ').map(str::to_string).collect()
    }

    #[test]
    fn trigram_queries_skip_short_words_and_trim_long_ones() {
        assert_eq!(
            fts_query(&w("rustam ismoilov"), false, false).as_deref(),
            Some("\"rustam\" AND \"ismoilov\"")
        );
        assert_eq!(
            fts_query(&w("a ivanov"), false, false).as_deref(),
            Some("\"ivanov\"")
        );
        assert_eq!(fts_query(&w("ab"), false, false), None);
        // The leading 998 of a phone number is in every phone: the last nine digits look up.
        assert_eq!(
            fts_query(&w("998901234567"), false, false).as_deref(),
            Some("\"901234567\"")
        );
    }

    #[test]
    fn the_longest_two_words_are_looked_up() {
        // An e-mail address: "mail" and "uz" are in nearly every contact.
        assert_eq!(
            fts_query(&w("nodira xolmatov4999 mail uz"), false, false).as_deref(),
            Some("\"nodira\" AND \"matov4999\"")
        );
        // Of words as long, the first ones; the query's order is kept.
        assert_eq!(
            fts_query(&w("anvar aziz karim"), false, false).as_deref(),
            Some("\"anvar\" AND \"karim\"")
        );
        assert_eq!(
            fts_query(&w("ab muzokara shartnoma uz"), true, false).as_deref(),
            Some("\"muzokara\"* AND \"shartnoma\"*")
        );
    }

    #[test]
    fn word_queries_match_prefixes_or_whole_words() {
        assert_eq!(
            fts_query(&w("muzok ab"), true, false).as_deref(),
            Some("\"muzok\"* AND \"ab\"*")
        );
        assert_eq!(
            fts_query(&w("muzokara"), true, true).as_deref(),
            Some("\"muzokara\"")
        );
    }
}
