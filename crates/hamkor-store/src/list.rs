//! List requests: filters, sort, keyset pagination and search, parsed from query
//! parameters against a whitelist (the object's fields, the system fields and the custom
//! fields) and turned into SQL. A name that is not on the list is refused, never spliced.

use crate::db::{Arg, Backend, Sql};
use crate::dialect::{self, JsonAs};
use base64::Engine as _;
use hamkor_domain::custom::{CustomFieldDef, CustomKind};
use hamkor_domain::objects::{FieldDef, FieldKind, ObjectDef};
use hamkor_domain::{FieldError, Id, Timestamp, ValidationErrors, names};
use serde_json::Value;

pub const DEFAULT_LIMIT: u32 = 50;
pub const MAX_LIMIT: u32 = 500;

/// A field a list can filter or sort by.
#[derive(Debug, Clone)]
pub enum FieldRef {
    Core(&'static FieldDef),
    /// `id`, `owner_id`, `created_by` (ids) or `created_at`, `updated_at` (timestamps), `version`.
    System(&'static str),
    Custom(CustomFieldDef),
}

/// How a field's value compares: decides the bound type and the sort expression.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ValueType {
    Text,
    Date,
    Id,
    Ts,
    Int,
    Number,
    Bool,
    /// A JSON list of strings, matched by membership.
    List,
    /// A decimal amount stored as integer minor units.
    Money,
}

impl FieldRef {
    fn value_type(&self) -> ValueType {
        match self {
            FieldRef::Core(f) => match f.kind {
                FieldKind::Date => ValueType::Date,
                FieldKind::Ref(_) => ValueType::Id,
                FieldKind::DateTime => ValueType::Ts,
                FieldKind::Duration | FieldKind::Count => ValueType::Int,
                FieldKind::Amount => ValueType::Money,
                FieldKind::Tags
                | FieldKind::Users
                | FieldKind::Refs(_)
                | FieldKind::Picklist(_) => ValueType::List,
                _ => ValueType::Text,
            },
            FieldRef::System(name) => match *name {
                "created_at" | "updated_at" => ValueType::Ts,
                "version" => ValueType::Int,
                _ => ValueType::Id,
            },
            FieldRef::Custom(def) => match def.kind {
                CustomKind::Number | CustomKind::Money => ValueType::Number,
                CustomKind::Checkbox => ValueType::Bool,
                _ => ValueType::Text,
            },
        }
    }

    fn not_null(&self) -> bool {
        matches!(self, FieldRef::Core(f) if f.not_null)
    }

    fn sortable(&self) -> bool {
        !matches!(self.value_type(), ValueType::List | ValueType::Bool)
            && !matches!(self, FieldRef::Custom(d) if d.kind == CustomKind::MultiPicklist)
            && !matches!(self, FieldRef::Core(f) if matches!(f.kind, FieldKind::Ref(_)))
    }

    pub fn name(&self) -> String {
        match self {
            FieldRef::Core(FieldDef { name: n, .. }) | FieldRef::System(n) => n.to_string(),
            FieldRef::Custom(d) => format!("custom.{}", d.key),
        }
    }

    /// The expression a filter compares: as for sorting, except that an empty number is
    /// NULL, so `custom.x[lt]=5` does not match records without a value.
    fn push_filter_expr(&self, sql: &mut Sql, b: Backend) {
        match self {
            FieldRef::Custom(def) if def.kind.is_numeric() => {
                let path_key = def.key.clone();
                match (b, def.kind) {
                    (Backend::Sqlite, CustomKind::Money) => sql
                        .push("CAST(json_extract(custom, ")
                        .bind(format!("$.\"{path_key}\".amount"))
                        .push(") AS REAL)"),
                    (Backend::Sqlite, _) => sql
                        .push("CAST(json_extract(custom, ")
                        .bind(format!("$.\"{path_key}\""))
                        .push(") AS REAL)"),
                    (Backend::Postgres, CustomKind::Money) => sql
                        .push("(custom->")
                        .bind(path_key)
                        .push("->>'amount')::float8"),
                    (Backend::Postgres, _) => {
                        sql.push("(custom->>").bind(path_key).push(")::float8")
                    }
                };
            }
            _ => self.push_expr(sql, b),
        }
    }

    /// The expression compared and sorted (NULLs folded to a low value so keysets work).
    fn push_expr(&self, sql: &mut Sql, b: Backend) {
        match self {
            FieldRef::Core(FieldDef { name, kind, .. }) => match kind {
                FieldKind::Date => dialect::push_date_text(sql, b, name),
                // Timestamps that are always set (the time an interaction happened) have
                // no NULLs to fold, and their bare column lets the timeline indexes serve
                // the order. Others (a task's deadline) sort their NULLs last.
                FieldKind::DateTime if !self.not_null() => {
                    dialect::push_ts_nulls_last(sql, b, name)
                }
                FieldKind::Ref(_)
                | FieldKind::Tags
                | FieldKind::Users
                | FieldKind::Refs(_)
                | FieldKind::Picklist(_)
                | FieldKind::DateTime => {
                    sql.push_ident(name);
                }
                FieldKind::Duration | FieldKind::Count | FieldKind::Amount => {
                    sql.push("COALESCE(").push_ident(name).push(", 0)");
                }
                _ => {
                    sql.push("COALESCE(").push_ident(name).push(", '')");
                }
            },
            FieldRef::System(name) => {
                sql.push_ident(name);
            }
            FieldRef::Custom(def) => {
                let as_ = match def.kind {
                    CustomKind::Number => JsonAs::Number,
                    CustomKind::Money => JsonAs::MoneyAmount,
                    CustomKind::Checkbox => JsonAs::Bool,
                    _ => JsonAs::Text,
                };
                dialect::push_custom_value(sql, b, &def.key, as_);
            }
        }
    }
}

/// Filter operators of the REST conventions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Eq,
    Ne,
    Lt,
    Lte,
    Gt,
    Gte,
    In,
    Like,
    Null,
}

impl Op {
    fn parse(s: &str) -> Option<Op> {
        Some(match s {
            "eq" => Op::Eq,
            "ne" => Op::Ne,
            "lt" => Op::Lt,
            "lte" => Op::Lte,
            "gt" => Op::Gt,
            "gte" => Op::Gte,
            "in" => Op::In,
            "like" => Op::Like,
            "null" => Op::Null,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone)]
pub struct Filter {
    pub field: FieldRef,
    pub op: Op,
    values: Vec<Arg>,
    is_null: bool,
}

#[derive(Debug, Clone)]
pub struct SortKey {
    pub field: FieldRef,
    pub desc: bool,
}

/// A parsed, whitelisted list request.
#[derive(Debug, Clone)]
pub struct ListQuery {
    pub filters: Vec<Filter>,
    pub sort: Vec<SortKey>,
    pub limit: u32,
    cursor: Option<Vec<Value>>,
    /// Folded search text (see `names::fold`), or a phone-like query's digits, if `q`
    /// was given.
    pub search: Option<String>,
    /// The query is a number of seven or more digits (a phone, a tax id): objects with
    /// numbers find it anywhere in their numbers through `search_numbers`.
    pub numeric: bool,
    /// List the trash instead of the live records.
    pub trashed: bool,
    pub count: bool,
    /// Count at most this many (the web UI shows "10,000+" rather than waiting for an
    /// exact count of millions); `None` counts exactly.
    pub count_cap: Option<i64>,
    /// Any page of matching records will do (the search box, which shows a few of each
    /// kind and has no next page): on SQLite a common word's matches are first looked for
    /// among the index's first hits, and the table is scanned only if those fall short.
    pub any_matches: bool,
}

impl Default for ListQuery {
    fn default() -> Self {
        ListQuery {
            filters: Vec::new(),
            sort: Vec::new(),
            limit: DEFAULT_LIMIT,
            cursor: None,
            search: None,
            numeric: false,
            trashed: false,
            count: false,
            count_cap: None,
            any_matches: false,
        }
    }
}

fn resolve(def: &ObjectDef, customs: &[CustomFieldDef], name: &str) -> Option<FieldRef> {
    if let Some(key) = name.strip_prefix("custom.") {
        return customs
            .iter()
            .find(|d| d.key == key)
            .cloned()
            .map(FieldRef::Custom);
    }
    if let Some(f) = def.field(name) {
        // Phones and e-mails are lists of objects: they are found through `q`, not filtered.
        let listy = matches!(f.kind, FieldKind::Phones | FieldKind::Emails);
        return (f.filterable && !listy).then_some(FieldRef::Core(f));
    }
    [
        "id",
        "owner_id",
        "created_by",
        "created_at",
        "updated_at",
        "version",
    ]
    .into_iter()
    .find(|s| *s == name)
    .map(FieldRef::System)
}

fn parse_value(field: &FieldRef, param: &str, raw: &str) -> Result<Arg, FieldError> {
    let bad = |key: &'static str| FieldError::new(param.to_string(), key);
    Ok(match field.value_type() {
        ValueType::Text | ValueType::List => {
            if raw.chars().count() > 200 {
                return Err(bad("error-too-long").with("max", 200));
            }
            Arg::Text(Some(raw.to_string()))
        }
        // Compared as `YYYY-MM-DD` text, like the sort expression, on both engines.
        ValueType::Date => Arg::Text(Some(
            chrono::NaiveDate::parse_from_str(raw, "%Y-%m-%d")
                .map_err(|_| bad("error-type-date"))?
                .format("%Y-%m-%d")
                .to_string(),
        )),
        ValueType::Id => Arg::Id(Some(raw.parse::<Id>().map_err(|_| bad("error-id"))?)),
        ValueType::Ts => Arg::Ts(Some(
            Timestamp::parse_rfc3339(raw)
                .or_else(|| {
                    chrono::NaiveDate::parse_from_str(raw, "%Y-%m-%d")
                        .ok()
                        .and_then(|d| d.and_hms_opt(0, 0, 0))
                        .map(|d| Timestamp::from_datetime(d.and_utc()))
                })
                .ok_or_else(|| bad("error-type-datetime"))?,
        )),
        ValueType::Int => Arg::Int(Some(raw.parse().map_err(|_| bad("error-type-number"))?)),
        ValueType::Money => Arg::Int(Some(
            hamkor_domain::custom::parse_money_minor(raw)
                .ok_or_else(|| bad("error-type-amount"))?,
        )),
        ValueType::Number => Arg::Float(Some(
            raw.parse::<f64>()
                .ok()
                .filter(|f| f.is_finite())
                .ok_or_else(|| bad("error-type-number"))?,
        )),
        ValueType::Bool => Arg::Bool(Some(match raw {
            "true" | "1" => true,
            "false" | "0" => false,
            _ => return Err(bad("error-type-checkbox")),
        })),
    })
}

impl ListQuery {
    /// Parses list query parameters. Unknown fields, operators and values are refused,
    /// each naming its parameter.
    pub fn parse(
        def: &ObjectDef,
        customs: &[CustomFieldDef],
        params: &[(String, String)],
    ) -> Result<ListQuery, ValidationErrors> {
        let mut q = ListQuery::default();
        let mut errors = ValidationErrors::default();
        for (key, raw) in params {
            match key.as_str() {
                "limit" => match raw.parse::<u32>() {
                    Ok(n) if (1..=MAX_LIMIT).contains(&n) => q.limit = n,
                    _ => {
                        errors.push(FieldError::new("limit", "error-limit").with("max", MAX_LIMIT))
                    }
                },
                "cursor" => match decode_cursor(raw) {
                    Some(c) => q.cursor = Some(c),
                    None => errors.push(FieldError::new("cursor", "error-cursor")),
                },
                "q" => {
                    let text = raw.trim();
                    if text.chars().count() > 200 {
                        errors.push(FieldError::new("q", "error-too-long").with("max", 200));
                    } else if !text.is_empty() {
                        // A phone-like query ("+998 90 123-45-67", a tax id) is one number,
                        // not words: it is searched as its digits alone.
                        let digits = hamkor_domain::phone::phone_search_digits(text);
                        q.numeric = digits
                            .as_ref()
                            .is_some_and(|d| d.len() >= crate::records::NUMBER_PIECE);
                        q.search = Some(digits.unwrap_or_else(|| names::fold(text)));
                    }
                }
                "count" => q.count = matches!(raw.as_str(), "true" | "1"),
                "trashed" => q.trashed = matches!(raw.as_str(), "true" | "1"),
                "sort" => {
                    for part in raw.split(',').map(str::trim).filter(|p| !p.is_empty()) {
                        let (desc, name) = match part.strip_prefix('-') {
                            Some(n) => (true, n),
                            None => (false, part),
                        };
                        match resolve(def, customs, name).filter(FieldRef::sortable) {
                            Some(field) if q.sort.len() < 3 => q.sort.push(SortKey { field, desc }),
                            Some(_) => errors.push(FieldError::new("sort", "error-sort-too-many")),
                            None => errors.push(
                                FieldError::new("sort", "error-sort-field").with("field", name),
                            ),
                        }
                    }
                }
                _ => {
                    let (name, op) = match key.split_once('[') {
                        Some((n, rest)) => match rest.strip_suffix(']').and_then(Op::parse) {
                            Some(op) => (n, op),
                            None => {
                                errors.push(FieldError::new(key.clone(), "error-filter-op"));
                                continue;
                            }
                        },
                        None => (key.as_str(), Op::Eq),
                    };
                    let Some(field) = resolve(def, customs, name) else {
                        errors.push(FieldError::new(key.clone(), "error-unknown-field"));
                        continue;
                    };
                    // Lists match by membership and checkboxes are true or false: only
                    // eq, (ne for checkboxes) and null make sense for them.
                    let list_like = field.value_type() == ValueType::List;
                    let boolean = field.value_type() == ValueType::Bool;
                    if (list_like && op != Op::Eq && op != Op::Null)
                        || (boolean && !matches!(op, Op::Eq | Op::Ne | Op::Null))
                    {
                        errors.push(FieldError::new(key.clone(), "error-filter-op"));
                        continue;
                    }
                    let mut filter = Filter {
                        field,
                        op,
                        values: Vec::new(),
                        is_null: false,
                    };
                    match op {
                        Op::Null => match raw.as_str() {
                            "true" | "1" => filter.is_null = true,
                            "false" | "0" => filter.is_null = false,
                            _ => {
                                errors.push(FieldError::new(key.clone(), "error-type-checkbox"));
                                continue;
                            }
                        },
                        Op::In => {
                            let parts: Vec<&str> = raw.split(',').collect();
                            if parts.len() > 100 {
                                errors.push(
                                    FieldError::new(key.clone(), "error-too-many").with("max", 100),
                                );
                                continue;
                            }
                            for p in parts {
                                match parse_value(&filter.field, key, p.trim()) {
                                    Ok(v) => filter.values.push(v),
                                    Err(e) => errors.push(e),
                                }
                            }
                        }
                        Op::Like if filter.field.value_type() != ValueType::Text => {
                            errors.push(FieldError::new(key.clone(), "error-filter-op"));
                            continue;
                        }
                        Op::Like => filter
                            .values
                            .push(Arg::Text(Some(format!("%{}%", escape_like(raw))))),
                        _ => match parse_value(&filter.field, key, raw) {
                            Ok(v) => filter.values.push(v),
                            Err(e) => {
                                errors.push(e);
                                continue;
                            }
                        },
                    }
                    if q.filters.len() >= 20 {
                        errors.push(FieldError::new(key.clone(), "error-too-many").with("max", 20));
                        continue;
                    }
                    q.filters.push(filter);
                }
            }
        }
        if q.sort.is_empty()
            && let Some(name) = def
                .default_sort
                .strip_prefix('-')
                .or(Some(def.default_sort))
            && let Some(field) = resolve(def, customs, name).filter(FieldRef::sortable)
        {
            q.sort.push(SortKey {
                field,
                desc: def.default_sort.starts_with('-'),
            });
        }
        if let Some(c) = &q.cursor
            && c.len() != q.keys().len()
        {
            errors.push(FieldError::new("cursor", "error-cursor"));
        }
        errors.into_result().map(|_| q)
    }

    /// Continues after `cursor` (a page's `next_cursor`), as `cursor=` would; `false` if
    /// it does not fit this query.
    pub fn continue_after(&mut self, cursor: &str) -> bool {
        match decode_cursor(cursor) {
            Some(c) if c.len() == self.keys().len() => {
                self.cursor = Some(c);
                true
            }
            _ => false,
        }
    }

    /// Walks the list by id alone (creation order), from the start: the one order a
    /// change to the records cannot move them in, so a walk that changes them meets each
    /// once.
    pub fn order_by_id(&mut self) {
        self.sort.clear();
        self.cursor = None;
    }

    /// Appends the filter and search conditions (each starting with ` AND `).
    /// `plan` says how to search (see [`ListQuery::search_plan`]).
    pub(crate) fn push_conditions(&self, sql: &mut Sql, b: Backend, plan: &dialect::SearchPlan) {
        for f in &self.filters {
            sql.push(" AND ");
            if f.op == Op::Null {
                match &f.field {
                    FieldRef::Custom(d) => {
                        let path = d.key.clone();
                        match b {
                            Backend::Sqlite => sql
                                .push("json_extract(custom, ")
                                .bind(format!("$.\"{path}\""))
                                .push(")"),
                            Backend::Postgres => sql.push("(custom->").bind(path).push(")"),
                        };
                    }
                    FieldRef::Core(FieldDef { name: n, .. }) | FieldRef::System(n) => {
                        sql.push_ident(n);
                    }
                }
                sql.push(if f.is_null {
                    " IS NULL"
                } else {
                    " IS NOT NULL"
                });
                continue;
            }
            if f.field.value_type() == ValueType::List {
                if let (FieldRef::Core(FieldDef { name, .. }), Some(Arg::Text(Some(v)))) =
                    (&f.field, f.values.first())
                {
                    dialect::push_json_list_contains(sql, b, name, v.clone());
                }
                continue;
            }
            if f.field.value_type() == ValueType::Bool {
                // Custom checkbox: the expression is already a boolean test.
                let want = matches!(f.values.first(), Some(Arg::Bool(Some(true))));
                let negate = (f.op == Op::Ne) == want;
                if negate {
                    sql.push("NOT ");
                }
                sql.push("(");
                f.field.push_expr(sql, b);
                sql.push(")");
                continue;
            }
            f.field.push_filter_expr(sql, b);
            match f.op {
                Op::Eq => sql.push(" = "),
                Op::Ne => sql.push(" <> "),
                Op::Lt => sql.push(" < "),
                Op::Lte => sql.push(" <= "),
                Op::Gt => sql.push(" > "),
                Op::Gte => sql.push(" >= "),
                Op::Like => sql.push(dialect::ilike(b)),
                Op::In => sql.push(" IN ("),
                Op::Null => unreachable!("handled above"),
            };
            for (i, v) in f.values.iter().enumerate() {
                if i > 0 {
                    sql.push(", ");
                }
                sql.bind(v.clone());
            }
            if f.op == Op::Like {
                sql.push(" ESCAPE '\\'");
            }
            if f.op == Op::In {
                sql.push(")");
            }
        }
        // Every word must occur (in any order). Folded words hold only letters, digits
        // and spaces, so they need no escaping.
        if let Some(words) = self.search_terms() {
            dialect::push_search(sql, b, plan, &words);
        }
    }

    /// Words of the search (folded, at most eight), if searching.
    pub(crate) fn search_terms(&self) -> Option<Vec<String>> {
        self.search.as_ref().map(|folded| {
            folded
                .split(' ')
                .filter(|w| !w.is_empty())
                .take(8)
                .map(str::to_string)
                .collect()
        })
    }

    /// The sort keys, always ending with the id so the order is total.
    fn keys(&self) -> Vec<(FieldRef, bool)> {
        let mut keys: Vec<(FieldRef, bool)> = self
            .sort
            .iter()
            .map(|k| (k.field.clone(), k.desc))
            .collect();
        let last_desc = self.sort.last().map(|k| k.desc).unwrap_or(false);
        if !keys
            .iter()
            .any(|(f, _)| matches!(f, FieldRef::System("id")))
        {
            keys.push((FieldRef::System("id"), last_desc));
        }
        keys
    }

    /// Appends the sort expressions as selected columns `s0, s1, …` (read back for the cursor).
    pub(crate) fn push_sort_columns(&self, sql: &mut Sql, b: Backend) {
        for (i, (f, _)) in self.keys().iter().enumerate() {
            sql.push(", ");
            f.push_expr(sql, b);
            sql.push(SORT_ALIASES[i]);
        }
    }

    /// Appends the keyset condition that continues after the cursor.
    pub(crate) fn push_cursor(&self, sql: &mut Sql, b: Backend) -> Result<(), FieldError> {
        let Some(cursor) = &self.cursor else {
            return Ok(());
        };
        let keys = self.keys();
        let mut args = Vec::with_capacity(keys.len());
        for ((f, _), v) in keys.iter().zip(cursor) {
            args.push(cursor_arg(f, v).ok_or_else(|| FieldError::new("cursor", "error-cursor"))?);
        }
        // One direction for every key (the usual case): a row comparison, which both
        // engines answer with an index range. Mixed directions: the expanded form.
        if keys.iter().all(|(_, d)| *d == keys[0].1) {
            // SQLite does not seek an index by a row comparison, only scan it from the
            // start and test each entry: page n would read n pages first (an export of
            // 200,000 contacts by name took 69 s instead of 12). A bound on the first key
            // alone, implied by the row comparison, lets it seek.
            if keys.len() > 1 {
                sql.push(" AND ");
                keys[0].0.push_expr(sql, b);
                sql.push(if keys[0].1 { " <= " } else { " >= " });
                sql.bind(args[0].clone());
            }
            sql.push(" AND (");
            for (j, (f, _)) in keys.iter().enumerate() {
                if j > 0 {
                    sql.push(", ");
                }
                f.push_expr(sql, b);
            }
            sql.push(if keys[0].1 { ") < (" } else { ") > (" });
            for (j, a) in args.iter().enumerate() {
                if j > 0 {
                    sql.push(", ");
                }
                sql.bind(a.clone());
            }
            sql.push(")");
            return Ok(());
        }
        sql.push(" AND (");
        for i in 0..keys.len() {
            if i > 0 {
                sql.push(" OR ");
            }
            sql.push("(");
            for (j, (f, desc)) in keys.iter().enumerate().take(i + 1) {
                if j > 0 {
                    sql.push(" AND ");
                }
                f.push_expr(sql, b);
                sql.push(if j < i {
                    " = "
                } else if *desc {
                    " < "
                } else {
                    " > "
                });
                sql.bind(args[j].clone());
            }
            sql.push(")");
        }
        sql.push(")");
        Ok(())
    }

    pub(crate) fn push_order(&self, sql: &mut Sql, b: Backend) {
        sql.push(" ORDER BY ");
        for (i, (f, desc)) in self.keys().iter().enumerate() {
            if i > 0 {
                sql.push(", ");
            }
            f.push_expr(sql, b);
            sql.push(if *desc { " DESC" } else { " ASC" });
        }
    }

    /// `ORDER BY s0, s1, …`: the order of [`push_order`](Self::push_order) by the selected
    /// sort columns (for a query over the union of two ordered queries).
    pub(crate) fn push_order_by_aliases(&self, sql: &mut Sql) {
        sql.push(" ORDER BY ");
        for (i, (_, desc)) in self.keys().iter().enumerate() {
            if i > 0 {
                sql.push(", ");
            }
            sql.push(SORT_COLUMNS[i]);
            sql.push(if *desc { " DESC" } else { " ASC" });
        }
    }

    /// The cursor continuing after `row`.
    pub(crate) fn cursor_after(&self, row: &crate::db::Row) -> Result<String, crate::StoreError> {
        let values = self.cursor_values(row)?;
        let bytes =
            serde_json::to_vec(&values).map_err(|e| crate::StoreError::Decode(e.to_string()))?;
        Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
    }

    /// Continues this query after `row` (a list reading on past rows it did not keep).
    pub(crate) fn set_cursor_after(
        &mut self,
        row: &crate::db::Row,
    ) -> Result<(), crate::StoreError> {
        self.cursor = Some(self.cursor_values(row)?);
        Ok(())
    }

    /// Starts this query from its first row.
    pub(crate) fn clear_cursor(&mut self) {
        self.cursor = None;
    }

    /// The sort keys' values of `row`, as a cursor holds them.
    fn cursor_values(&self, row: &crate::db::Row) -> Result<Vec<Value>, crate::StoreError> {
        let mut values = Vec::new();
        for (i, (f, _)) in self.keys().iter().enumerate() {
            let col = SORT_COLUMNS[i];
            values.push(match f.value_type() {
                ValueType::Id => row
                    .id(col)?
                    .map(|v| Value::String(v.to_string()))
                    .unwrap_or(Value::Null),
                ValueType::Ts => row
                    .ts(col)?
                    .map(|v| Value::String(v.to_rfc3339()))
                    .unwrap_or(Value::Null),
                ValueType::Int | ValueType::Money => {
                    row.int(col)?.map(Value::from).unwrap_or(Value::Null)
                }
                ValueType::Number => row.float(col)?.map(Value::from).unwrap_or(Value::Null),
                _ => row.text(col)?.map(Value::String).unwrap_or(Value::Null),
            });
        }
        Ok(values)
    }
}

const SORT_ALIASES: [&str; 4] = [" AS s0", " AS s1", " AS s2", " AS s3"];
const SORT_COLUMNS: [&str; 4] = ["s0", "s1", "s2", "s3"];

fn cursor_arg(f: &FieldRef, v: &Value) -> Option<Arg> {
    Some(match f.value_type() {
        ValueType::Id => Arg::Id(Some(v.as_str()?.parse().ok()?)),
        ValueType::Ts => Arg::Ts(Some(Timestamp::parse_rfc3339(v.as_str()?)?)),
        ValueType::Int | ValueType::Money => Arg::Int(Some(v.as_i64()?)),
        ValueType::Number => Arg::Float(Some(v.as_f64()?)),
        _ => Arg::Text(Some(v.as_str()?.to_string())),
    })
}

fn decode_cursor(raw: &str) -> Option<Vec<Value>> {
    if raw.len() > 2000 {
        return None;
    }
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(raw)
        .ok()?;
    let values: Vec<Value> = serde_json::from_slice(&bytes).ok()?;
    (!values.is_empty() && values.len() <= 4).then_some(values)
}

/// Escapes `%`, `_` and `\` so user text matches literally inside LIKE.
pub fn escape_like(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}
