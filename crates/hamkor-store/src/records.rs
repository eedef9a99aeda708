//! Accounts, contacts and every later object with fields: one repository driven by the
//! object descriptions in `hamkor_domain::objects`. Every function takes the acting user
//! and applies their scope inside the statement: a record they may not read is
//! `NotFound`, one they may read but not change is `Forbidden`.

use crate::access::{Actor, ShareAccess, push_record_scope, push_scope, push_team_in};
use crate::audit::{self, AuditEntry};
use crate::db::{Arg, Exec, Row, Sql};
use crate::list::ListQuery;
use crate::{Db, StoreError, dialect, planning};
use hamkor_domain::custom::{CustomFieldDef, CustomKind};
use hamkor_domain::input::{AccountLink, RecordInput};
use hamkor_domain::objects::{FieldKind, ObjectDef, Sharing};
use hamkor_domain::{Action, FieldError, Id, ObjectType, Timestamp, ValidationErrors, names};
use serde::Serialize;
use serde_json::{Map, Value};

/// A contact's link to an account, as shown.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct LinkedAccount {
    pub account_id: Id,
    pub position: Option<String>,
    pub name: String,
}

/// A contact as seen from one of its accounts.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LinkedContact {
    pub contact_id: Id,
    pub position: Option<String>,
    pub name: String,
}

/// One record of any object type.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    pub object: ObjectType,
    pub id: Id,
    /// Core fields by name; missing or `Null` when empty.
    pub fields: Map<String, Value>,
    pub custom: Map<String, Value>,
    pub owner_id: Id,
    pub created_by: Id,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub version: i64,
    pub deleted_at: Option<Timestamp>,
    /// Contacts only: the accounts the actor may see that this contact belongs to.
    pub accounts: Vec<LinkedAccount>,
    owner_team: Option<Id>,
    /// How the record is shared with the actor or their team, if it is.
    pub share: Option<ShareAccess>,
}

impl Record {
    /// May the actor do `action` to this record (by its owner and the owner's team, and
    /// for tasks and meetings by the part they play in it)?
    pub fn allows(&self, actor: &Actor, action: Action) -> bool {
        if actor.allows(self.object, action, self.owner_id, self.owner_team) {
            return true;
        }
        let me = actor.user_id;
        match (ObjectDef::get(self.object).sharing, action) {
            (Sharing::Scope, Action::Read) => self.share.is_some(),
            (Sharing::Scope, Action::Write) => self.share == Some(ShareAccess::Edit),
            (Sharing::Scope, _) => false,
            // The author may change and delete their task; a task given to a team may be
            // changed (taken) by its members.
            (Sharing::AuthorAndTeam, Action::Delete) => self.created_by == me,
            (Sharing::AuthorAndTeam, _) => {
                self.created_by == me || self.team().is_some_and(|t| actor.teams().contains(&t))
            }
            (Sharing::Participants, Action::Read) => self.participants().contains(&me),
            (Sharing::Participants, _) => false,
        }
    }

    /// May the actor do `action` to this record by its ownership alone (their scope, the
    /// owner and the owner's team), leaving shares aside?
    pub fn allows_by_owner(&self, actor: &Actor, action: Action) -> bool {
        actor.allows(self.object, action, self.owner_id, self.owner_team)
    }

    /// A text field's value ("" when empty or not text).
    pub fn text(&self, field: &str) -> &str {
        self.fields.get(field).and_then(Value::as_str).unwrap_or("")
    }

    /// The id a link field holds.
    pub fn link(&self, field: &str) -> Option<Id> {
        self.fields
            .get(field)
            .and_then(Value::as_str)
            .and_then(|s| s.parse().ok())
    }

    /// The team a task is given to.
    pub fn team(&self) -> Option<Id> {
        self.link("team_id")
    }

    /// A meeting's participating users.
    pub fn participants(&self) -> Vec<Id> {
        self.fields
            .get("user_ids")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|v| v.as_str()?.parse().ok())
            .collect()
    }

    /// The team of the record's owner.
    pub fn owner_team(&self) -> Option<Id> {
        self.owner_team
    }

    /// The name people know the record by.
    pub fn title(&self) -> String {
        let get = |k: &str| self.fields.get(k).and_then(Value::as_str).unwrap_or("");
        match self.object {
            ObjectType::Account => get("name").to_string(),
            ObjectType::Contact => [get("last_name"), get("first_name"), get("middle_name")]
                .into_iter()
                .filter(|s| !s.is_empty())
                .collect::<Vec<_>>()
                .join(" "),
            ObjectType::Interaction => get("subject").to_string(),
            ObjectType::Product => format!("{} · {}", get("code"), get("name")),
            ObjectType::Document => get("number").to_string(),
            ObjectType::Lead => {
                let person = [get("last_name"), get("first_name")]
                    .into_iter()
                    .filter(|s| !s.is_empty())
                    .collect::<Vec<_>>()
                    .join(" ");
                match (person.is_empty(), get("company")) {
                    (true, company) => company.to_string(),
                    (false, "") => person,
                    (false, company) => format!("{person} ({company})"),
                }
            }
            ObjectType::Need | ObjectType::Task | ObjectType::Event | ObjectType::Deal => {
                get("title").to_string()
            }
        }
    }
}

/// One page of a list.
#[derive(Debug, Clone)]
pub struct Page {
    pub items: Vec<Record>,
    pub next_cursor: Option<String>,
    pub total: Option<i64>,
}

pub(crate) fn push_columns(sql: &mut Sql, def: &ObjectDef, actor: &Actor, b: crate::Backend) {
    push_columns_hiding(sql, def, actor, b, true)
}

/// [`push_columns`]; without `hide`, fields hidden from the actor are read too (for a
/// write's own view of the current record, never returned to the actor).
fn push_columns_hiding(
    sql: &mut Sql,
    def: &ObjectDef,
    actor: &Actor,
    b: crate::Backend,
    hide: bool,
) {
    sql.push("t.id");
    for f in def.fields {
        if hide && actor.hides(def.object, f.name) {
            // A field hidden from the actor's role never leaves the database.
            sql.push(", NULL AS ").push_ident(f.name);
        } else {
            sql.push(", t.").push_ident(f.name);
        }
    }
    // Hidden custom fields never leave the database either: their keys are taken out of
    // the record's custom values.
    sql.push(", ");
    let hidden = if hide {
        actor.hidden_custom(def.object)
    } else {
        Vec::new()
    };
    dialect::push_json_without_keys(sql, b, "t.custom", &hidden);
    sql.push(
        " AS custom, t.owner_id, t.created_by, t.created_at, t.updated_at, t.version, t.deleted_at",
    );
    sql.push(", (SELECT u.team_id FROM users u WHERE u.id = t.owner_id) AS owner_team");
    if actor.has_shares(def.object) {
        // 'edit' sorts before 'read': the strongest share of the actor's.
        sql.push(", (SELECT MIN(s.access) FROM record_shares s WHERE s.object = ")
            .bind(def.object.as_str())
            .push(" AND s.record_id = t.id AND (s.user_id = ")
            .bind(actor.user_id);
        if let Some(team) = actor.team_id {
            sql.push(" OR s.team_id = ").bind(team);
        }
        sql.push(")) AS share_access");
    } else {
        sql.push(", CAST(NULL AS TEXT) AS share_access");
    }
    if def.object == ObjectType::Contact {
        // The accounts the actor may see, in the same statement (one round trip per page).
        sql.push(", ");
        dialect::push_linked_accounts(sql, b, |sql| {
            push_record_scope(
                sql,
                actor,
                ObjectType::Account,
                Action::Read,
                "a.id",
                "a.owner_id",
            )
        });
        sql.push(" AS linked");
    }
}

pub(crate) fn from_row(def: &ObjectDef, r: &Row) -> Result<Record, StoreError> {
    let mut fields = Map::new();
    for f in def.fields {
        let v = match f.kind {
            FieldKind::Date => r
                .date(f.name)?
                .map(|d| Value::String(d.format("%Y-%m-%d").to_string())),
            FieldKind::Ref(_) => r.id(f.name)?.map(|id| Value::String(id.to_string())),
            FieldKind::DateTime => r.ts(f.name)?.map(|t| Value::String(t.to_rfc3339())),
            FieldKind::Duration | FieldKind::Count => r.int(f.name)?.map(Value::from),
            FieldKind::Amount => r
                .int(f.name)?
                .map(|m| Value::String(hamkor_domain::custom::format_minor(m))),
            FieldKind::Bool => r.opt_bool(f.name)?.map(Value::Bool),
            FieldKind::Lookup(_) => r.id(f.name)?.map(|id| Value::String(id.to_string())),
            k if k.is_json() => r.json(f.name)?,
            _ => r.text(f.name)?.map(Value::String),
        };
        fields.insert(f.name.to_string(), v.unwrap_or(Value::Null));
    }
    let custom = match r.json("custom")? {
        Some(Value::Object(m)) => m,
        _ => Map::new(),
    };
    Ok(Record {
        object: def.object,
        id: r.req_id("id")?,
        fields,
        custom,
        owner_id: r.req_id("owner_id")?,
        created_by: r.req_id("created_by")?,
        created_at: r.req_ts("created_at")?,
        updated_at: r.req_ts("updated_at")?,
        version: r.req_int("version")?,
        deleted_at: r.ts("deleted_at")?,
        accounts: if def.object == ObjectType::Contact {
            r.json("linked")?
                .and_then(|v| serde_json::from_value(v).ok())
                .unwrap_or_default()
        } else {
            Vec::new()
        },
        owner_team: r.id("owner_team")?,
        share: r
            .text("share_access")?
            .as_deref()
            .and_then(ShareAccess::parse),
    })
}

fn field_arg(kind: FieldKind, v: &Value) -> Arg {
    match kind {
        FieldKind::Date => Arg::Date(
            v.as_str()
                .and_then(|s| chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()),
        ),
        FieldKind::Ref(_) | FieldKind::Lookup(_) => {
            Arg::Id(v.as_str().and_then(|s| s.parse().ok()))
        }
        FieldKind::Bool => Arg::Bool(v.as_bool()),
        FieldKind::DateTime => Arg::Ts(v.as_str().and_then(Timestamp::parse_rfc3339)),
        FieldKind::Duration | FieldKind::Count => Arg::Int(v.as_i64()),
        FieldKind::Amount => Arg::Int(
            v.as_str()
                .and_then(hamkor_domain::custom::parse_money_minor),
        ),
        k if k.is_json() => Arg::Json((!v.is_null()).then(|| v.clone())),
        _ => Arg::Text(v.as_str().map(str::to_string)),
    }
}

/// The numbers a record is found by in number searches: its phones and messenger numbers
/// (E.164 digits) and its tax id.
pub(crate) fn record_numbers(def: &ObjectDef, fields: &Map<String, Value>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for f in def.fields {
        let Some(v) = fields.get(f.name) else {
            continue;
        };
        match f.kind {
            FieldKind::Phones | FieldKind::Messengers => {
                for p in v.as_array().into_iter().flatten() {
                    if let Some(e) = p.get("e164").and_then(Value::as_str) {
                        out.push(e.trim_start_matches('+').to_string());
                    }
                }
            }
            FieldKind::TaxId => {
                if let Some(t) = v.as_str() {
                    out.push(t.to_string());
                }
            }
            _ => {}
        }
    }
    out.retain(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()));
    out.sort();
    out.dedup();
    out
}

/// Does this object have numbers to search by?
pub(crate) fn has_numbers(def: &ObjectDef) -> bool {
    def.fields.iter().any(|f| {
        matches!(
            f.kind,
            FieldKind::Phones | FieldKind::Messengers | FieldKind::TaxId
        )
    })
}

/// Shortest piece of a number that number searches look up.
pub const NUMBER_PIECE: usize = 7;

/// The index keys of a number: each of its endings of `NUMBER_PIECE` or more digits, so
/// any piece of it that long is the beginning of a key (one index range).
fn number_keys(n: &str) -> Vec<String> {
    if n.len() <= NUMBER_PIECE {
        return vec![format!("f{n}")];
    }
    (0..=n.len() - NUMBER_PIECE)
        .map(|i| format!("f{}", &n[i..]))
        .collect()
}

/// Whether a record's side rows (its number keys, duplicate keys and participant links)
/// replace earlier ones, or are its first: a new record has none to delete.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SideRows {
    First,
    Replace,
}

/// Writes a record's rows in `search_numbers`.
async fn write_numbers(
    tx: &mut impl Exec,
    def: &ObjectDef,
    id: Id,
    fields: &Map<String, Value>,
    rows: SideRows,
) -> Result<(), StoreError> {
    if !has_numbers(def) {
        return Ok(());
    }
    if rows == SideRows::Replace {
        tx.execute(&Sql::new("DELETE FROM search_numbers WHERE record_id = $1").arg(id))
            .await?;
    }
    insert_numbers(
        tx,
        def,
        &[(id, &record_numbers(def, fields))],
        "search_numbers",
    )
    .await
}

async fn insert_numbers(
    tx: &mut impl Exec,
    def: &ObjectDef,
    rows: &[(Id, &[String])],
    table: &'static str,
) -> Result<(), StoreError> {
    let keys: Vec<(Id, String)> = rows
        .iter()
        .flat_map(|(id, nums)| {
            nums.iter()
                .flat_map(|n| number_keys(n))
                .map(move |k| (*id, k))
        })
        .collect();
    let mut keys = keys;
    // In index order: neighbouring rows land on the same pages.
    keys.sort_by(|a, b| a.1.cmp(&b.1).then(a.0.cmp(&b.0)));
    let values: Vec<Vec<Arg>> = keys
        .into_iter()
        .map(|(id, k)| vec![Arg::from(def.object.as_str()), Arg::from(k), Arg::from(id)])
        .collect();
    crate::bulk::insert_rows(
        tx,
        table,
        &["object", "key", "record_id"],
        &values,
        " ON CONFLICT DO NOTHING",
    )
    .await?;
    Ok(())
}

/// The text searched by `?q=` and the global search box: names folded across scripts,
/// e-mails, phone digits and tax ids.
fn search_text(def: &ObjectDef, fields: &Map<String, Value>) -> String {
    let mut parts: Vec<String> = Vec::new();
    for f in def.fields {
        let Some(v) = fields.get(f.name) else {
            continue;
        };
        match f.kind {
            FieldKind::Text { .. } | FieldKind::TaxId => {
                if let Some(s) = v.as_str() {
                    parts.push(names::fold(s));
                }
            }
            FieldKind::LongText => {
                // Notes and letters can be long: their beginning is what people search for.
                if let Some(s) = v.as_str() {
                    parts.push(names::fold(&s.chars().take(4000).collect::<String>()));
                }
            }
            FieldKind::Phones => {
                for p in v.as_array().into_iter().flatten() {
                    if let Some(e) = p.get("e164").and_then(Value::as_str) {
                        parts.push(e.trim_start_matches('+').to_string());
                    }
                }
            }
            FieldKind::Emails => {
                for e in v.as_array().into_iter().flatten() {
                    if let Some(a) = e.get("address").and_then(Value::as_str) {
                        parts.push(a.to_lowercase());
                    }
                }
            }
            FieldKind::Messengers => {
                for m in v.as_array().into_iter().flatten() {
                    match m.get("e164").and_then(Value::as_str) {
                        Some(e) => parts.push(e.trim_start_matches('+').to_string()),
                        None => {
                            if let Some(h) = m.get("handle").and_then(Value::as_str) {
                                parts.push(names::fold(h));
                            }
                        }
                    }
                }
            }
            _ => {}
        }
    }
    parts.join(" ")
}

/// Limits `t` to the records the actor may read: by the record's owner, and for objects
/// read through their parents (interactions), by every linked parent being a live record
/// the actor may read.
pub fn push_read_scope(sql: &mut Sql, actor: &Actor, def: &ObjectDef) {
    push_read_scope_as(sql, actor, def, "t.id")
}

/// [`push_read_scope`] for a `t` whose record id is `id_col` (a funnel reads the stage
/// visits of deals, `t.deal_id`, with the deal's owner beside it).
pub fn push_read_scope_as(sql: &mut Sql, actor: &Actor, def: &ObjectDef, id_col: &'static str) {
    match def.sharing {
        Sharing::Scope => {
            push_record_scope(sql, actor, def.object, Action::Read, id_col, "t.owner_id")
        }
        Sharing::AuthorAndTeam => {
            sql.push(" AND ((1 = 1");
            push_scope(sql, actor, def.object, Action::Read, "t.owner_id");
            sql.push(") OR t.created_by = ").bind(actor.user_id);
            if actor.team_id.is_some() {
                sql.push(" OR ");
                push_team_in(sql, "t.team_id", actor.teams());
            }
            sql.push(")");
        }
        Sharing::Participants => {
            sql.push(" AND ((1 = 1");
            push_scope(sql, actor, def.object, Action::Read, "t.owner_id");
            sql.push(
                ") OR EXISTS (SELECT 1 FROM event_users eu WHERE eu.event_id = t.id AND eu.user_id = ",
            )
            .bind(actor.user_id)
            .push("))");
        }
    }
    push_parent_scopes(sql, actor, def);
}

/// Appends the conditions of `def`'s parents (an interaction's account and contact): a
/// record under a parent the actor may not see is not theirs to see either.
///
/// Written as a lookup of the parent by its key (`(SELECT 1 … LIMIT 1) IS NOT NULL`), not
/// `EXISTS`: under the `OR`, PostgreSQL turns an `EXISTS` into a hashed subplan that reads
/// every live account into a hash for each query (230 ms for a first page of interactions
/// at 200,000 accounts, where the page needs 51 lookups: 7 ms).
fn push_parent_scopes(sql: &mut Sql, actor: &Actor, def: &ObjectDef) {
    for name in def.parents {
        let Some(FieldKind::Ref(target)) = def.field(name).map(|f| f.kind) else {
            continue;
        };
        sql.push(" AND (t.")
            .push_ident(name)
            .push(" IS NULL OR (SELECT 1 FROM ")
            .push_ident(ObjectDef::get(target).plural)
            .push(" p WHERE p.id = t.")
            .push_ident(name)
            .push(" AND p.deleted_at IS NULL");
        push_record_scope(sql, actor, target, Action::Read, "p.id", "p.owner_id");
        sql.push(" LIMIT 1) IS NOT NULL)");
    }
}

/// Reads one live record the actor may see.
pub async fn get(
    ex: &mut impl Exec,
    actor: &Actor,
    def: &ObjectDef,
    id: Id,
) -> Result<Record, StoreError> {
    fetch(ex, actor, def, id, false, false).await
}

/// Reads one live record the actor may see and locks its row until the transaction ends
/// (on PostgreSQL; SQLite's writer already holds the database).
pub async fn get_for_update(
    ex: &mut impl Exec,
    actor: &Actor,
    def: &ObjectDef,
    id: Id,
) -> Result<Record, StoreError> {
    fetch(ex, actor, def, id, false, true).await
}

async fn fetch(
    ex: &mut impl Exec,
    actor: &Actor,
    def: &ObjectDef,
    id: Id,
    trashed: bool,
    lock: bool,
) -> Result<Record, StoreError> {
    fetch_as(ex, actor, def, id, trashed, lock, true).await
}

/// The current state of a record the actor may see, to change it: locked, and with the
/// fields hidden from the actor, which the write must keep (its search text and number
/// keys are made from every field). Never returned to the actor as it is.
async fn current_for_write(
    ex: &mut impl Exec,
    actor: &Actor,
    def: &ObjectDef,
    id: Id,
    trashed: bool,
) -> Result<Record, StoreError> {
    read_record(ex, actor, def, id, trashed, true, true, false).await
}

/// A record the actor has just written, returned to them even where their role writes
/// further than it reads (linked accounts are still limited to what they may read).
async fn written(
    ex: &mut impl Exec,
    actor: &Actor,
    def: &ObjectDef,
    id: Id,
) -> Result<Record, StoreError> {
    fetch_as(ex, actor, def, id, false, false, false).await
}

/// A live record whatever the actor's scope (for what the system does on their behalf,
/// such as the tasks a deal's stage creates).
pub(crate) async fn get_unscoped(
    ex: &mut impl Exec,
    actor: &Actor,
    def: &ObjectDef,
    id: Id,
) -> Result<Record, StoreError> {
    fetch_as(ex, actor, def, id, false, false, false).await
}

async fn fetch_as(
    ex: &mut impl Exec,
    actor: &Actor,
    def: &ObjectDef,
    id: Id,
    trashed: bool,
    lock: bool,
    scoped: bool,
) -> Result<Record, StoreError> {
    read_record(ex, actor, def, id, trashed, lock, scoped, true).await
}

#[allow(clippy::too_many_arguments)]
async fn read_record(
    ex: &mut impl Exec,
    actor: &Actor,
    def: &ObjectDef,
    id: Id,
    trashed: bool,
    lock: bool,
    scoped: bool,
    hide: bool,
) -> Result<Record, StoreError> {
    let b = ex.backend();
    let mut sql = Sql::new("SELECT ");
    push_columns_hiding(&mut sql, def, actor, b, hide);
    sql.push(" FROM ")
        .push_ident(def.plural)
        .push(" t WHERE t.id = ")
        .bind(id);
    sql.push(if trashed {
        " AND t.deleted_at IS NOT NULL"
    } else {
        " AND t.deleted_at IS NULL"
    });
    if scoped {
        push_read_scope(&mut sql, actor, def);
    }
    if lock {
        sql.push(dialect::for_update(b));
    }
    match ex.fetch_optional(&sql).await? {
        Some(row) => from_row(def, &row),
        None => Err(StoreError::NotFound),
    }
}

/// The search index table of an object (SQLite's FTS5 table; see migration 0003).
pub(crate) fn search_index(def: &ObjectDef) -> &'static str {
    match def.object {
        ObjectType::Account => "accounts_search",
        ObjectType::Contact => "contacts_search",
        ObjectType::Interaction => "interactions_search",
        ObjectType::Need => "needs_search",
        ObjectType::Task => "tasks_search",
        ObjectType::Event => "events_search",
        ObjectType::Deal => "deals_search",
        ObjectType::Product => "products_search",
        ObjectType::Lead => "leads_search",
        ObjectType::Document => "documents_search",
    }
}

/// Appends the probe of an FTS index: the rowids of the records the FTS query matches,
/// no further than `limit`, as one text (a row per hit would cost more than the hits).
fn push_probe(sql: &mut Sql, index: &'static str, fts: &str, limit: i64) {
    sql.push("(SELECT COALESCE(group_concat(rowid), '') FROM (");
    push_matches(sql, index, fts, limit);
    sql.push("))");
}

/// Appends `SELECT rowid FROM <index> WHERE <index> MATCH <fts> LIMIT <limit>`.
fn push_matches(sql: &mut Sql, index: &'static str, fts: &str, limit: i64) {
    sql.push("SELECT rowid FROM ")
        .push_ident(index)
        .push(" WHERE ")
        .push_ident(index)
        .push(" MATCH ")
        .bind(fts.to_string())
        .push(" LIMIT ")
        .bind(limit);
}

/// The rowids of the records the FTS query matches, no further than `limit`.
async fn probe_hits(
    db: &mut Db,
    index: &'static str,
    fts: &str,
    limit: i64,
) -> Result<Vec<i64>, StoreError> {
    let mut probe = Sql::new("SELECT ");
    push_probe(&mut probe, index, fts, limit);
    probe.push(" AS hits");
    let Some(row) = db.fetch_optional(&probe).await? else {
        return Ok(Vec::new());
    };
    parse_hits(&row.req_text("hits")?)
}

/// The rowids of a probe's `group_concat`.
fn parse_hits(hits: &str) -> Result<Vec<i64>, StoreError> {
    hits.split(',')
        .filter(|r| !r.is_empty())
        .map(|r| {
            r.parse()
                .map_err(|_| StoreError::Decode(format!("a search index rowid {r:?}")))
        })
        .collect()
}

/// The plan for a probe's hits: the index when they are few; the first of them when
/// they are many and any matches will do; else a scan.
fn with_hits(
    mut plan: dialect::SearchPlan,
    mut hits: Vec<i64>,
    q: &ListQuery,
    short: Option<&str>,
) -> dialect::SearchPlan {
    if let Some(fts) = short {
        // The probe stopped just past the first hits: the rest are counted only if these
        // do not fill the page.
        if hits.len() > FIRST_HITS {
            hits.truncate(FIRST_HITS);
            plan.first_hits = true;
            plan.recount = Some(fts.to_string());
        }
        plan.hits = Some(hits);
        return plan;
    }
    if hits.len() as i64 <= dialect::INDEX_HITS {
        plan.hits = Some(hits);
    } else if q.any_matches && !q.count {
        // The first few: reading 2,000 rows (or 200) to show ten cost more than the scan
        // it saves when the word is spread through the table.
        hits.truncate(FIRST_HITS);
        plan.hits = Some(hits);
        plan.first_hits = true;
    }
    plan
}

/// The plan of a search before the index is asked, and the trigram query to ask it
/// (`None`: no probe, or not a plain trigram probe).
fn unprobed_plan(
    b: crate::Backend,
    def: &ObjectDef,
    q: &ListQuery,
) -> (dialect::SearchPlan, Option<String>) {
    let mut plan = dialect::SearchPlan {
        index: search_index(def),
        // Interactions are indexed by words (migration 0011), the others by trigrams.
        words: def.object == ObjectType::Interaction,
        hits: None,
        first_hits: false,
        recount: None,
        numbers: None,
    };
    if q.numeric && has_numbers(def) {
        plan.numbers = Some(def.object.as_str());
        return (plan, None);
    }
    let fts = match (q.search_terms(), b) {
        (Some(words), crate::Backend::Sqlite) if !plan.words => {
            dialect::fts_query(&words, false, false)
        }
        _ => None,
    };
    (plan, fts)
}

/// Plans the searches of several kinds of record at once (the search box): on SQLite the
/// trigram probes of them all go to their indexes in one statement, not one each (each
/// statement is a round trip to a connection's thread, and most kinds find nothing).
pub async fn search_plans(
    db: &mut Db,
    lists: &[(&ObjectDef, &ListQuery)],
) -> Result<Vec<dialect::SearchPlan>, StoreError> {
    let b = db.backend();
    // Each list's plan, with what its index is still to be asked.
    let mut staged = Vec::with_capacity(lists.len());
    for (def, q) in lists {
        let (plan, fts) = unprobed_plan(b, def, q);
        let probe = match fts {
            Some(fts) => Probe::Trigrams(fts),
            None => word_probe(b, &plan, q).unwrap_or(Probe::Nothing),
        };
        staged.push((plan, probe));
    }
    // The search box shows a few of each kind: its probes stop just past the first hits
    // (`with_hits`), where the rest cost the most to walk.
    let short = |q: &ListQuery| q.any_matches && !q.count;
    let mut sql = Sql::new("");
    let mut asked = 0;
    for (i, (plan, probe)) in staged.iter().enumerate() {
        if matches!(probe, Probe::Nothing) {
            continue;
        }
        asked += 1;
        sql.push(if asked == 1 {
            "SELECT "
        } else {
            " UNION ALL SELECT "
        })
        .bind(i as i64)
        .push(" AS i, ");
        match probe {
            Probe::Nothing => {}
            Probe::Trigrams(fts) => {
                let limit = if short(lists[i].1) {
                    FIRST_HITS as i64 + 1
                } else {
                    dialect::INDEX_HITS + 1
                };
                push_probe(&mut sql, plan.index, fts, limit);
            }
            Probe::Words { exact, prefix } => {
                // The prefix probe only for words that are not common (NULL: scan).
                // SQLite evaluates a CASE's branches only when taken.
                sql.push("CASE WHEN (SELECT count(*) FROM (");
                push_matches(&mut sql, plan.index, exact, dialect::INDEX_HITS + 1);
                sql.push(")) > ")
                    .bind(dialect::INDEX_HITS)
                    .push(" THEN NULL ELSE ");
                push_probe(&mut sql, plan.index, prefix, dialect::INDEX_HITS + 1);
                sql.push(" END");
            }
        }
        sql.push(" AS hits");
    }
    let mut answers: std::collections::HashMap<usize, Option<Vec<i64>>> = Default::default();
    if asked > 0 {
        for row in db.fetch_all(&sql).await? {
            let i = usize::try_from(row.req_int("i")?)
                .map_err(|_| StoreError::Decode("a probe's number".into()))?;
            let hits = match row.text("hits")? {
                Some(h) => Some(parse_hits(&h)?),
                None => None,
            };
            answers.insert(i, hits);
        }
    }
    staged
        .into_iter()
        .enumerate()
        .map(|(i, (plan, probe))| {
            if matches!(probe, Probe::Nothing) {
                return Ok(plan);
            }
            let hits = answers
                .remove(&i)
                .ok_or_else(|| StoreError::Decode("a probe without an answer".into()))?;
            let q = lists[i].1;
            Ok(match (probe, hits) {
                (Probe::Trigrams(fts), Some(hits)) => {
                    with_hits(plan, hits, q, Some(fts.as_str()).filter(|_| short(q)))
                }
                (Probe::Words { .. }, Some(hits)) => with_hits(plan, hits, q, None),
                // A common word: the list scans.
                _ => plan,
            })
        })
        .collect()
}

/// What the search box asks a kind's index (see [`search_plans`]).
enum Probe {
    /// Nothing: the kind is searched without its index (a number, PostgreSQL, no word).
    Nothing,
    /// The trigram query.
    Trigrams(String),
    /// A word index's two queries: whole words first, then word prefixes, only when the
    /// words are not common: a common word is found at once by scanning in list order,
    /// and its prefix query would make FTS5 gather every match (20 ms for a word in a
    /// tenth of five million interactions).
    Words { exact: String, prefix: String },
}

/// A word index's probe (SQLite).
fn word_probe(b: crate::Backend, plan: &dialect::SearchPlan, q: &ListQuery) -> Option<Probe> {
    if b != crate::Backend::Sqlite || !plan.words || plan.numbers.is_some() {
        return None;
    }
    let words = q.search_terms()?;
    Some(Probe::Words {
        exact: dialect::fts_query(&words, true, true)?,
        prefix: dialect::fts_query(&words, true, false)?,
    })
}

/// How many of a common word's hits the search box reads before it scans the table
/// (see [`ListQuery::any_matches`]).
const FIRST_HITS: usize = 50;

/// Decides how this list searches (see [`dialect::SearchPlan`]): on SQLite, one cheap
/// probe of the index says whether the terms are rare enough for it. The search box's
/// planning, for one list.
async fn search_plan(
    db: &mut Db,
    def: &ObjectDef,
    q: &ListQuery,
) -> Result<dialect::SearchPlan, StoreError> {
    search_plans(db, &[(def, q)])
        .await?
        .pop()
        .ok_or_else(|| StoreError::Decode("a search without a plan".into()))
}

/// Appends ` FROM <table> t WHERE 1 = 1` and the trash condition of a list: its live
/// records, or with `trashed` the ones in the trash.
fn push_from_listed(sql: &mut Sql, def: &ObjectDef, q: &ListQuery) {
    sql.push(" FROM ")
        .push_ident(def.plural)
        .push(" t WHERE 1 = 1");
    sql.push(if q.trashed {
        " AND t.deleted_at IS NOT NULL"
    } else {
        " AND t.deleted_at IS NULL"
    });
}

/// Lists records the actor may see, one page at a time.
pub async fn list(
    db: &mut Db,
    actor: &Actor,
    def: &ObjectDef,
    q: &ListQuery,
) -> Result<Page, StoreError> {
    let plan = search_plan(db, def, q).await?;
    list_with_plan(db, actor, def, q, plan).await
}

/// [`list`] with its search planned already (see [`search_plans`]).
pub async fn list_with_plan(
    db: &mut Db,
    actor: &Actor,
    def: &ObjectDef,
    q: &ListQuery,
    mut plan: dialect::SearchPlan,
) -> Result<Page, StoreError> {
    if plan.finds_nothing() {
        // The index holds none of the words: nothing to read (a search of every kind of
        // record asks each kind, and most have nothing).
        return Ok(Page {
            items: Vec::new(),
            next_cursor: None,
            total: q.count.then_some(0),
        });
    }
    if plan.first_hits {
        // A common word, and any matches will do: its first hits usually hold a page.
        // The scan in list order stops at a full page too, but reads the whole table when
        // the matches are all among the last records (a word that only new records have).
        let page = list_planned(db, actor, def, q, &plan).await?;
        if page.items.len() >= q.limit as usize {
            return Ok(Page {
                items: page.items,
                // Pages after it would continue within the first hits only.
                next_cursor: None,
                total: None,
            });
        }
        plan.first_hits = false;
        plan.hits = None;
        // Counted on: few enough matches for the index after all (the caller sees a few
        // of many, say), or a scan.
        if let Some(fts) = plan.recount.take() {
            let hits = probe_hits(db, plan.index, &fts, dialect::INDEX_HITS + 1).await?;
            if hits.len() as i64 <= dialect::INDEX_HITS {
                plan.hits = Some(hits);
            }
        }
    }
    list_planned(db, actor, def, q, &plan).await
}

/// [`list`] once its search is planned.
async fn list_planned(
    db: &mut Db,
    actor: &Actor,
    def: &ObjectDef,
    q: &ListQuery,
    plan: &dialect::SearchPlan,
) -> Result<Page, StoreError> {
    let b = db.backend();
    let mut sql = Sql::new("SELECT ");
    push_columns(&mut sql, def, actor, b);
    q.push_sort_columns(&mut sql, b);
    push_from_listed(&mut sql, def, q);
    push_read_scope(&mut sql, actor, def);
    q.push_conditions(&mut sql, b, plan);
    if let Some(words) = hidden_search(actor, def, q) {
        return list_rechecked(db, def, q, sql, &words).await;
    }
    if matches!(def.sharing, Sharing::Scope) {
        let shares = crate::access::shares_widen(actor, def.object, Action::Read);
        let owners = match q.search {
            // A search's candidates come from its index: one query reads them.
            None => crate::access::team_owners(db, actor, def.object, Action::Read).await?,
            Some(_) => None,
        };
        if shares || owners.is_some() {
            return list_merged(db, actor, def, q, plan, owners.as_deref(), shares).await;
        }
    }
    let mut count_sql = None;
    if q.count {
        let mut c = Sql::new(if q.count_cap.is_some() {
            "SELECT COUNT(*) AS n FROM (SELECT 1"
        } else {
            "SELECT COUNT(*) AS n"
        });
        push_from_listed(&mut c, def, q);
        push_read_scope(&mut c, actor, def);
        q.push_conditions(&mut c, b, plan);
        if let Some(cap) = q.count_cap {
            c.push(" LIMIT ").bind(cap).push(") capped");
        }
        count_sql = Some(c);
    }
    q.push_cursor(&mut sql, b)
        .map_err(|e| StoreError::Invalid(e.into()))?;
    q.push_order(&mut sql, b);
    sql.push(" LIMIT ").bind(i64::from(q.limit) + 1);
    let rows = db.fetch_all(&sql).await?;
    let (items, next_cursor) = page_rows(def, q, &rows)?;
    let total = match count_sql {
        Some(c) => db
            .fetch_optional(&c)
            .await?
            .map(|r| r.req_int("n"))
            .transpose()?,
        None => None,
    };
    Ok(Page {
        items,
        next_cursor,
        total,
    })
}

/// The count of [`list_rechecked`]: candidates that match what the actor may see, counted
/// no further than the query's cap.
async fn count_rechecked(
    db: &mut Db,
    def: &ObjectDef,
    q: &ListQuery,
    sql: Sql,
    words: &[String],
) -> Result<i64, StoreError> {
    let b = db.backend();
    let cap = q.count_cap.unwrap_or(i64::MAX);
    let mut at = q.clone();
    at.clear_cursor();
    let mut n = 0;
    loop {
        let mut chunk = sql.clone();
        at.push_cursor(&mut chunk, b)
            .map_err(|e| StoreError::Invalid(e.into()))?;
        at.push_order(&mut chunk, b);
        chunk.push(" LIMIT 1000");
        let rows = db.fetch_all(&chunk).await?;
        for row in &rows {
            if matches_visible(def, q, &from_row(def, row)?.fields, words) {
                n += 1;
                if n >= cap {
                    return Ok(n);
                }
            }
        }
        match rows.last() {
            Some(last) if rows.len() == 1000 => at.set_cursor_after(last)?,
            _ => return Ok(n),
        }
    }
}

/// [`list`] as the ordered merge of index-friendly queries, each limited to the page:
/// - with `owners` (a team's members, [`crate::access::team_owners`]), one query per owner
///   instead of one over the team's `owner IN (…)`, which SQLite answers by reading and
///   sorting every record of the team (2 s for a head's first page of a million contacts,
///   3 ms merged);
/// - with `shares`, the records shared with the actor that their scope does not reach, as
///   one more query, instead of `scope OR shared`, which keeps the database from reading
///   the first in index order (300 ms and more for a salesperson with one record shared
///   with them).
async fn list_merged(
    db: &mut Db,
    actor: &Actor,
    def: &ObjectDef,
    q: &ListQuery,
    plan: &dialect::SearchPlan,
    owners: Option<&[Id]>,
    shares: bool,
) -> Result<Page, StoreError> {
    use crate::access::{push_scope, push_shared_ids};
    #[derive(Clone, Copy)]
    enum Branch {
        /// Every record the actor's scope reaches.
        Scope,
        /// The records of one owner the actor's scope reaches.
        Owner(Id),
        /// The records shared with the actor that their scope does not reach.
        Shared,
    }
    let b = db.backend();
    let limit = i64::from(q.limit) + 1;
    // A branch reads its first rows' ids and sort keys only (`count`: just counts); the
    // page's records are read whole once the merge has chosen them, not once per branch
    // (each record's linked accounts are a query of their own).
    let branch = |which: Branch, count: bool| -> Result<Sql, StoreError> {
        let mut sql = Sql::new("SELECT ");
        if count {
            sql.push("1");
        } else {
            sql.push("t.id AS k");
            q.push_sort_columns(&mut sql, b);
        }
        push_from_listed(&mut sql, def, q);
        match which {
            Branch::Scope => push_scope(&mut sql, actor, def.object, Action::Read, "t.owner_id"),
            Branch::Owner(owner) => {
                // `owner` is one of the owners the scope admits (`team_owners` read them
                // with the scope's own condition).
                sql.push(" AND t.owner_id = ").bind(owner);
            }
            Branch::Shared => {
                sql.push(" AND t.id IN (");
                push_shared_ids(&mut sql, actor, def.object, false);
                sql.push(") AND NOT (1 = 1");
                push_scope(&mut sql, actor, def.object, Action::Read, "t.owner_id");
                sql.push(")");
            }
        }
        push_parent_scopes(&mut sql, actor, def);
        q.push_conditions(&mut sql, b, plan);
        if !count {
            q.push_cursor(&mut sql, b)
                .map_err(|e| StoreError::Invalid(e.into()))?;
            q.push_order(&mut sql, b);
            sql.push(" LIMIT ").bind(limit);
        }
        Ok(sql)
    };
    let mut branches: Vec<Branch> = match owners {
        Some(owners) => owners.iter().map(|o| Branch::Owner(*o)).collect(),
        None => vec![Branch::Scope],
    };
    if shares {
        branches.push(Branch::Shared);
    }
    let mut keys = Sql::new("SELECT k FROM (");
    for (i, which) in branches.iter().enumerate() {
        if i > 0 {
            keys.push(" UNION ALL ");
        }
        keys.push("SELECT * FROM (");
        keys.append(branch(*which, false)?);
        keys.push(") b").push_number(i);
    }
    keys.push(") merged");
    q.push_order_by_aliases(&mut keys);
    keys.push(" LIMIT ").bind(limit);
    let mut sql = Sql::new("SELECT ");
    push_columns(&mut sql, def, actor, b);
    q.push_sort_columns(&mut sql, b);
    sql.push(" FROM ")
        .push_ident(def.plural)
        .push(" t WHERE t.id IN (");
    sql.append(keys);
    sql.push(")");
    q.push_order(&mut sql, b);
    let rows = db.fetch_all(&sql).await?;
    let (items, next_cursor) = page_rows(def, q, &rows)?;
    let total = if q.count {
        // Counted over the scope as one query (an index range per owner), and the shared.
        let mut n = 0;
        let counted: &[Branch] = if shares {
            &[Branch::Scope, Branch::Shared]
        } else {
            &[Branch::Scope]
        };
        for which in counted {
            let mut c = Sql::new("SELECT COUNT(*) AS n FROM (");
            c.append(branch(*which, true)?);
            if let Some(cap) = q.count_cap {
                c.push(" LIMIT ").bind(cap);
            }
            c.push(") part");
            n += db
                .fetch_optional(&c)
                .await?
                .map(|r| r.req_int("n"))
                .transpose()?
                .unwrap_or(0);
        }
        Some(q.count_cap.map_or(n, |cap| n.min(cap)))
    } else {
        None
    };
    Ok(Page {
        items,
        next_cursor,
        total,
    })
}

/// A page's records from up to `limit + 1` rows in list order, and the cursor after its
/// last one when there was one row more.
fn page_rows(
    def: &ObjectDef,
    q: &ListQuery,
    rows: &[Row],
) -> Result<(Vec<Record>, Option<String>), StoreError> {
    let limit = q.limit as usize;
    let mut items = Vec::with_capacity(rows.len().min(limit));
    let mut next_cursor = None;
    for (i, row) in rows.iter().enumerate().take(limit) {
        items.push(from_row(def, row)?);
        if rows.len() > limit && i + 1 == limit {
            next_cursor = Some(q.cursor_after(row)?);
        }
    }
    Ok((items, next_cursor))
}

/// The search words to check again against what the actor may see, when a field the
/// search text or the number index is made from is hidden from them: a hidden value must
/// not find the record (a tax id typed into the search box would say whose it is).
fn hidden_search(actor: &Actor, def: &ObjectDef, q: &ListQuery) -> Option<Vec<String>> {
    q.search.as_ref()?;
    let searched = def.fields.iter().any(|f| {
        matches!(
            f.kind,
            FieldKind::Text { .. }
                | FieldKind::TaxId
                | FieldKind::LongText
                | FieldKind::Phones
                | FieldKind::Emails
                | FieldKind::Messengers
        ) && actor.hides(def.object, f.name)
    });
    if !searched {
        return None;
    }
    q.search_terms()
}

/// Does a record as the actor sees it (hidden fields empty) match the search the way the
/// database matches it: every word in its search text, or the digits in one of its
/// numbers?
fn matches_visible(
    def: &ObjectDef,
    q: &ListQuery,
    fields: &Map<String, Value>,
    words: &[String],
) -> bool {
    if q.numeric && has_numbers(def) {
        let numbers = record_numbers(def, fields);
        return words
            .first()
            .is_some_and(|n| numbers.iter().any(|x| x.contains(n.as_str())));
    }
    let text = search_text(def, fields);
    let word_index = def.object == ObjectType::Interaction;
    words.iter().all(|w| {
        if word_index {
            text.starts_with(w.as_str()) || text.contains(&format!(" {w}"))
        } else {
            text.contains(w.as_str())
        }
    })
}

/// Rows read per round by [`list_rechecked`], and the rounds one page may take before it
/// is returned short (with its cursor): a search whose words are mostly in hidden fields
/// still answers quickly.
const RECHECK_CHUNK: u32 = 200;
const RECHECK_ROUNDS: usize = 25;

/// [`list`] for an actor some of whose searched fields are hidden: the database finds the
/// candidates by the whole search text, and each is kept only if it matches what the
/// actor may see. `sql` is the candidates' statement up to its conditions.
async fn list_rechecked(
    db: &mut Db,
    def: &ObjectDef,
    q: &ListQuery,
    sql: Sql,
    words: &[String],
) -> Result<Page, StoreError> {
    let b = db.backend();
    let limit = q.limit as usize;
    let mut items = Vec::with_capacity(limit);
    let mut next_cursor = None;
    let mut last_kept = None;
    let mut at = q.clone();
    let mut rounds = 0;
    'pages: loop {
        rounds += 1;
        let mut chunk = sql.clone();
        at.push_cursor(&mut chunk, b)
            .map_err(|e| StoreError::Invalid(e.into()))?;
        at.push_order(&mut chunk, b);
        chunk.push(" LIMIT ").bind(i64::from(RECHECK_CHUNK));
        let rows = db.fetch_all(&chunk).await?;
        let exhausted = rows.len() < RECHECK_CHUNK as usize;
        for row in &rows {
            let record = from_row(def, row)?;
            if !matches_visible(def, q, &record.fields, words) {
                continue;
            }
            if items.len() == limit {
                // One more match: the page is full and there is a next one.
                next_cursor = last_kept.take();
                break 'pages;
            }
            items.push(record);
            last_kept = Some(q.cursor_after(row)?);
        }
        let Some(last) = rows.last() else { break };
        if exhausted {
            break;
        }
        at.set_cursor_after(last)?;
        if rounds >= RECHECK_ROUNDS {
            // Enough read for one answer: what was found, and where to go on.
            next_cursor = Some(q.cursor_after(last)?);
            break;
        }
    }
    let total = if q.count {
        Some(count_rechecked(db, def, q, sql, words).await?)
    } else {
        None
    };
    Ok(Page {
        items,
        next_cursor,
        total,
    })
}

/// The contacts of an account that the actor may see.
pub async fn account_contacts(
    ex: &mut impl Exec,
    actor: &Actor,
    account: Id,
) -> Result<Vec<LinkedContact>, StoreError> {
    let mut sql = Sql::new(
        "SELECT c.id, c.first_name, c.middle_name, c.last_name, ca.position FROM contact_accounts ca \
         JOIN contacts c ON c.id = ca.contact_id WHERE c.deleted_at IS NULL AND ca.account_id = $1",
    )
    .arg(account);
    push_record_scope(
        &mut sql,
        actor,
        ObjectType::Contact,
        Action::Read,
        "c.id",
        "c.owner_id",
    );
    sql.push(" ORDER BY c.last_name, c.first_name LIMIT 200");
    ex.fetch_all(&sql)
        .await?
        .iter()
        .map(|r| {
            let name = [
                r.text("last_name")?,
                r.text("first_name")?,
                r.text("middle_name")?,
            ]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" ");
            Ok(LinkedContact {
                contact_id: r.req_id("id")?,
                position: r.text("position")?,
                name,
            })
        })
        .collect()
}

/// The branches (child accounts) of an account that the actor may see.
pub async fn account_branches(
    ex: &mut impl Exec,
    actor: &Actor,
    account: Id,
) -> Result<Vec<(Id, String)>, StoreError> {
    let mut sql = Sql::new(
        "SELECT t.id, t.name FROM accounts t WHERE t.deleted_at IS NULL AND t.parent_id = $1",
    )
    .arg(account);
    push_record_scope(
        &mut sql,
        actor,
        ObjectType::Account,
        Action::Read,
        "t.id",
        "t.owner_id",
    );
    sql.push(" ORDER BY t.name LIMIT 200");
    ex.fetch_all(&sql)
        .await?
        .iter()
        .map(|r| Ok((r.req_id("id")?, r.req_text("name")?)))
        .collect()
}

/// The names of records the actor may see, for showing links (ids of records they may
/// not see are left out).
pub async fn titles(
    ex: &mut impl Exec,
    actor: &Actor,
    def: &ObjectDef,
    ids: &[Id],
) -> Result<Vec<(Id, String)>, StoreError> {
    Ok(records_by_ids(ex, actor, def, ids)
        .await?
        .into_iter()
        .map(|r| (r.id, r.title()))
        .collect())
}

/// The live records among `ids` that the actor may see, in no particular order.
pub async fn records_by_ids(
    ex: &mut impl Exec,
    actor: &Actor,
    def: &ObjectDef,
    ids: &[Id],
) -> Result<Vec<Record>, StoreError> {
    let mut out = Vec::new();
    let b = ex.backend();
    for chunk in ids.chunks(200) {
        let mut sql = Sql::new("SELECT ");
        push_columns(&mut sql, def, actor, b);
        sql.push(" FROM ")
            .push_ident(def.plural)
            .push(" t WHERE t.deleted_at IS NULL AND t.id IN (");
        for (i, id) in chunk.iter().enumerate() {
            if i > 0 {
                sql.push(", ");
            }
            sql.bind(*id);
        }
        sql.push(")");
        push_read_scope(&mut sql, actor, def);
        for row in ex.fetch_all(&sql).await? {
            out.push(from_row(def, &row)?);
        }
    }
    Ok(out)
}

/// Checks that `owner` is an active user the actor may give a record to.
pub async fn check_owner(
    ex: &mut impl Exec,
    actor: &Actor,
    object: ObjectType,
    owner: Id,
) -> Result<(), StoreError> {
    check_owner_for(ex, actor, object, Action::Write, owner).await
}

/// [`check_owner`] for an action: `Create` checks a new record's owner against the create
/// scope, `Write` a new owner of an existing record against the write scope.
pub async fn check_owner_for(
    ex: &mut impl Exec,
    actor: &Actor,
    object: ObjectType,
    action: Action,
    owner: Id,
) -> Result<(), StoreError> {
    let row = ex
        .fetch_optional(&Sql::new("SELECT team_id, disabled FROM users WHERE id = $1").arg(owner))
        .await?;
    let field = ObjectDef::get(object).owner_alias.unwrap_or("owner_id");
    let Some(row) = row else {
        return Err(FieldError::new(field, "error-unknown-user").into());
    };
    if row.bool("disabled")? {
        return Err(FieldError::new(field, "error-user-disabled").into());
    }
    // A task may be given to any active colleague: that is what tasks are for.
    if object != ObjectType::Task && !actor.allows(object, action, owner, row.id("team_id")?) {
        return Err(FieldError::new("owner_id", "error-owner-forbidden").into());
    }
    Ok(())
}

/// Checks links to other records: parent accounts (no cycles), linked accounts, and
/// user and link custom fields. A record the actor cannot see is reported as unknown.
/// Refuses a write that sets a field the actor's role may not set (hidden or read-only),
/// naming the field.
fn check_field_rules(
    actor: &Actor,
    def: &ObjectDef,
    input: &RecordInput,
) -> Result<(), StoreError> {
    let mut errors = ValidationErrors::default();
    for name in input.fields.keys() {
        if actor.field_mode(def.object, name).is_some() {
            errors.push(FieldError::new(name.clone(), "error-field-read-only"));
        }
    }
    for key in input.custom.keys() {
        let name = format!("custom.{key}");
        if actor.field_mode(def.object, &name).is_some() {
            errors.push(FieldError::new(name, "error-field-read-only"));
        }
    }
    if errors.0.is_empty() {
        Ok(())
    } else {
        Err(errors.into())
    }
}

async fn check_references(
    ex: &mut impl Exec,
    actor: &Actor,
    def: &ObjectDef,
    id: Id,
    input: &RecordInput,
    customs: &[CustomFieldDef],
    current: Option<&Record>,
) -> Result<(), StoreError> {
    // Only what changes is checked: a link that already stands (to a head office since
    // trashed, or owned by someone else) does not stop an unrelated edit.
    let unchanged_field =
        |name: &str| current.is_some_and(|r| r.fields.get(name) == input.fields.get(name));
    let unchanged_custom =
        |key: &str| current.is_some_and(|r| r.custom.get(key) == input.custom.get(key));
    let mut errors = ValidationErrors::default();
    for f in def.fields {
        if unchanged_field(f.name) {
            continue;
        }
        if let (FieldKind::Ref(target), Some(Value::String(s))) = (f.kind, input.fields.get(f.name))
        {
            let Ok(ref_id) = s.parse::<Id>() else {
                continue;
            };
            if ref_id == id {
                errors.push(FieldError::new(f.name, "error-self-reference"));
                continue;
            }
            if fetch(ex, actor, ObjectDef::get(target), ref_id, false, false)
                .await
                .is_err()
            {
                errors.push(FieldError::new(f.name, "error-unknown-record"));
                continue;
            }
            if f.name == "parent_id" && creates_cycle(ex, id, ref_id).await? {
                errors.push(FieldError::new(f.name, "error-cycle"));
            }
        }
        if let (FieldKind::Related, Some(Value::Object(link))) = (f.kind, input.fields.get(f.name))
        {
            let target = link
                .get("type")
                .and_then(Value::as_str)
                .and_then(ObjectType::parse);
            let ref_id = link
                .get("id")
                .and_then(Value::as_str)
                .and_then(|s| s.parse::<Id>().ok());
            let ok = match (target, ref_id) {
                (Some(t), Some(r)) => fetch(ex, actor, ObjectDef::get(t), r, false, false)
                    .await
                    .is_ok(),
                _ => false,
            };
            if !ok {
                errors.push(FieldError::new(f.name, "error-unknown-record"));
            }
        }
        if let (FieldKind::Lookup(lookup), Some(Value::String(s))) =
            (f.kind, input.fields.get(f.name))
        {
            let known = match s.parse::<Id>() {
                Ok(row) => {
                    let mut q = Sql::new("SELECT id FROM ");
                    q.push_ident(lookup.table()).push(" WHERE id = ").bind(row);
                    ex.fetch_optional(&q).await?.is_some()
                }
                Err(_) => false,
            };
            if !known {
                errors.push(FieldError::new(f.name, lookup.unknown()));
            }
        }
        if let (FieldKind::Picklist(list), Some(Value::Array(chosen))) =
            (f.kind, input.fields.get(f.name))
        {
            let before = current
                .and_then(|r| r.fields.get(f.name))
                .and_then(Value::as_array);
            let allowed = crate::picklists::values(ex, list).await?;
            for (i, v) in chosen.iter().enumerate() {
                if before.is_some_and(|b| b.contains(v)) {
                    continue;
                }
                let ok = v
                    .as_str()
                    .is_some_and(|s| allowed.iter().any(|a| a.active && a.value == s));
                if !ok {
                    let options: Vec<&str> = allowed
                        .iter()
                        .filter(|a| a.active)
                        .map(|a| a.value.as_str())
                        .collect();
                    errors.push(
                        FieldError::new(format!("{}[{i}]", f.name), "error-choice")
                            .with("options", options.join(", ")),
                    );
                }
            }
        }
        if let (FieldKind::Users | FieldKind::Refs(_), Some(Value::Array(ids))) =
            (f.kind, input.fields.get(f.name))
        {
            let before = current
                .and_then(|r| r.fields.get(f.name))
                .and_then(Value::as_array);
            for (i, v) in ids.iter().enumerate() {
                if before.is_some_and(|b| b.contains(v)) {
                    continue;
                }
                let Some(ref_id) = v.as_str().and_then(|s| s.parse::<Id>().ok()) else {
                    continue;
                };
                let ok = match f.kind {
                    FieldKind::Refs(target) => {
                        fetch(ex, actor, ObjectDef::get(target), ref_id, false, false)
                            .await
                            .is_ok()
                    }
                    _ => ex
                        .fetch_optional(
                            &Sql::new("SELECT disabled FROM users WHERE id = $1").arg(ref_id),
                        )
                        .await?
                        .map(|r| r.bool("disabled"))
                        .transpose()?
                        .is_some_and(|disabled| !disabled),
                };
                if !ok {
                    errors.push(FieldError::new(
                        format!("{}[{i}]", f.name),
                        if f.kind == FieldKind::Users {
                            "error-unknown-user"
                        } else {
                            "error-unknown-record"
                        },
                    ));
                }
            }
        }
    }
    if let Some(links) = &input.account_links {
        for (i, l) in links.iter().enumerate() {
            if current.is_some_and(|r| r.accounts.iter().any(|a| a.account_id == l.account_id)) {
                continue;
            }
            if fetch(
                ex,
                actor,
                &hamkor_domain::objects::ACCOUNT,
                l.account_id,
                false,
                false,
            )
            .await
            .is_err()
            {
                errors.push(FieldError::new(
                    format!("accounts[{i}].account_id"),
                    "error-unknown-record",
                ));
            }
        }
    }
    for cdef in customs {
        if unchanged_custom(&cdef.key) {
            continue;
        }
        let Some(Value::String(s)) = input.custom.get(&cdef.key) else {
            continue;
        };
        let Ok(ref_id) = s.parse::<Id>() else {
            continue;
        };
        let ok = match cdef.kind {
            CustomKind::User => ex
                .fetch_optional(&Sql::new("SELECT id FROM users WHERE id = $1").arg(ref_id))
                .await?
                .is_some(),
            CustomKind::Link => match cdef.link_object {
                Some(obj) => fetch(ex, actor, ObjectDef::get(obj), ref_id, false, false)
                    .await
                    .is_ok(),
                None => false,
            },
            _ => true,
        };
        if !ok {
            errors.push(FieldError::new(
                format!("custom.{}", cdef.key),
                "error-unknown-record",
            ));
        }
    }
    errors.into_result().map_err(StoreError::Invalid)
}

async fn creates_cycle(ex: &mut impl Exec, id: Id, parent: Id) -> Result<bool, StoreError> {
    let mut current = Some(parent);
    for _ in 0..64 {
        let Some(c) = current else { return Ok(false) };
        if c == id {
            return Ok(true);
        }
        current = ex
            .fetch_optional(&Sql::new("SELECT parent_id FROM accounts WHERE id = $1").arg(c))
            .await?
            .map(|r| r.id("parent_id"))
            .transpose()?
            .flatten();
    }
    Ok(true)
}

async fn write_links(
    tx: &mut impl Exec,
    contact: Id,
    links: &[AccountLink],
) -> Result<(), StoreError> {
    tx.execute(&Sql::new("DELETE FROM contact_accounts WHERE contact_id = $1").arg(contact))
        .await?;
    for l in links {
        tx.execute(
            &Sql::new("INSERT INTO contact_accounts (contact_id, account_id, position) VALUES ($1, $2, $3)")
                .arg(contact)
                .arg(l.account_id)
                .arg(l.position.clone()),
        )
        .await?;
    }
    Ok(())
}

/// Keeps `interaction_contacts` (every contact who took part: the main contact and the
/// others) in step with an interaction's fields, for contacts' timelines.
async fn write_participants(
    tx: &mut impl Exec,
    def: &ObjectDef,
    id: Id,
    fields: &Map<String, Value>,
    rows: SideRows,
) -> Result<(), StoreError> {
    if def.object != ObjectType::Interaction {
        return Ok(());
    }
    if rows == SideRows::Replace {
        tx.execute(&Sql::new("DELETE FROM interaction_contacts WHERE interaction_id = $1").arg(id))
            .await?;
    }
    for contact in participant_contacts(fields) {
        tx.execute(
            &Sql::new(
                "INSERT INTO interaction_contacts (contact_id, interaction_id) VALUES ($1, $2)",
            )
            .arg(contact)
            .arg(id),
        )
        .await?;
    }
    Ok(())
}

fn participant_contacts(fields: &Map<String, Value>) -> Vec<Id> {
    let mut out: Vec<Id> = Vec::new();
    let main = fields.get("contact_id").and_then(Value::as_str);
    let others = fields
        .get("contact_ids")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str);
    for c in main.into_iter().chain(others) {
        if let Ok(c) = c.parse::<Id>()
            && !out.contains(&c)
        {
            out.push(c);
        }
    }
    out
}

fn links_value(links: &[AccountLink]) -> Value {
    Value::Array(
        links
            .iter()
            .map(|l| serde_json::json!({"account_id": l.account_id.to_string(), "position": l.position}))
            .collect(),
    )
}

/// Creates a record owned by `input.owner_id` (or the actor), checking rights and
/// references, and writes the audit entry, all in the caller's transaction.
pub async fn create(
    tx: &mut impl Exec,
    actor: &Actor,
    def: &ObjectDef,
    input: RecordInput,
    customs: &[CustomFieldDef],
) -> Result<Record, StoreError> {
    if actor.scope(def.object, Action::Create) == hamkor_domain::Scope::None {
        return Err(StoreError::Forbidden);
    }
    check_field_rules(actor, def, &input)?;
    let mut input = input;
    hamkor_domain::input::date_consents(def, None, &mut input.fields);
    planning::prepare(tx, actor, def.object, None, &mut input, None).await?;
    let id = Id::new();
    let owner = input.owner_id.unwrap_or(actor.user_id);
    check_owner_for(tx, actor, def.object, Action::Create, owner).await?;
    check_references(tx, actor, def, id, &input, customs, None).await?;
    insert_row(tx, def, id, &input, owner, actor.user_id, actor).await?;
    let record = written(tx, actor, def, id).await?;
    planning::after_write(tx, actor, &record, None).await?;
    Ok(record)
}

/// Inserts a checked record with its side rows and its audit entry (by `audit_by`).
pub(crate) async fn insert_row(
    tx: &mut impl Exec,
    def: &ObjectDef,
    id: Id,
    input: &RecordInput,
    owner: Id,
    created_by: Id,
    audit_by: &Actor,
) -> Result<(), StoreError> {
    let now = Timestamp::now();
    let custom: Map<String, Value> = input
        .custom
        .iter()
        .filter(|(_, v)| !v.is_null())
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let mut sql = Sql::new("INSERT INTO ");
    sql.push_ident(def.plural).push(" (id");
    for f in def.fields {
        sql.push(", ").push_ident(f.name);
    }
    sql.push(", custom, search, owner_id, created_by, created_at, updated_at, version) VALUES (")
        .bind(id);
    for f in def.fields {
        sql.push(", ").bind(field_arg(
            f.kind,
            input.fields.get(f.name).unwrap_or(&Value::Null),
        ));
    }
    sql.push(", ")
        .bind(Arg::Json(Some(Value::Object(custom.clone()))));
    sql.push(", ").bind(search_text(def, &input.fields));
    sql.push(", ")
        .bind(owner)
        .push(", ")
        .bind(created_by)
        .push(", ")
        .bind(now)
        .push(", ")
        .bind(now)
        .push(", 1)");
    tx.execute(&sql).await?;
    write_participants(tx, def, id, &input.fields, SideRows::First).await?;
    write_numbers(tx, def, id, &input.fields, SideRows::First).await?;
    crate::dedup::write_keys(tx, def, id, &input.fields, SideRows::First).await?;
    let mut changes = Map::new();
    for (k, v) in &input.fields {
        if !v.is_null() {
            changes.insert(k.clone(), Value::Array(vec![Value::Null, v.clone()]));
        }
    }
    for (k, v) in &custom {
        changes.insert(
            format!("custom.{k}"),
            Value::Array(vec![Value::Null, v.clone()]),
        );
    }
    changes.insert(
        "owner_id".into(),
        Value::Array(vec![Value::Null, Value::String(owner.to_string())]),
    );
    if let Some(links) = &input.account_links {
        write_links(tx, id, links).await?;
        if !links.is_empty() {
            changes.insert(
                "accounts".into(),
                Value::Array(vec![Value::Null, links_value(links)]),
            );
        }
    }
    audit::record(tx, def.object, id, "create", audit_by, changes).await
}

/// Changes only the fields in `input`. `if_version` (from `If-Match`) makes a stale
/// write fail with `Stale` instead of overwriting a colleague's edit.
pub async fn update(
    tx: &mut impl Exec,
    actor: &Actor,
    def: &ObjectDef,
    id: Id,
    input: RecordInput,
    customs: &[CustomFieldDef],
    if_version: Option<i64>,
) -> Result<Record, StoreError> {
    update_with(tx, actor, def, id, input, customs, if_version, None).await
}

/// [`update`], with the comment a user wrote with the change (a task returned to its
/// assignee needs one).
#[allow(clippy::too_many_arguments)]
pub async fn update_with(
    tx: &mut impl Exec,
    actor: &Actor,
    def: &ObjectDef,
    id: Id,
    input: RecordInput,
    customs: &[CustomFieldDef],
    if_version: Option<i64>,
    comment: Option<&str>,
) -> Result<Record, StoreError> {
    let current = current_for_write(tx, actor, def, id, false).await?;
    // Moving a task along is decided by the part the actor plays in it (the task rules),
    // everything else by the write scope.
    if !planning::status_only(def.object, &input) && !current.allows(actor, Action::Write) {
        return Err(StoreError::Forbidden);
    }
    if let Some(v) = if_version
        && v != current.version
    {
        return Err(StoreError::Stale {
            current: current.version,
        });
    }
    check_field_rules(actor, def, &input)?;
    let mut input = input;
    planning::prepare(tx, actor, def.object, Some(&current), &mut input, comment).await?;
    if let Some(owner) = input.owner_id
        && owner != current.owner_id
    {
        // A record shared to edit is edited, not taken: giving it to someone else takes
        // the right to edit it by its ownership.
        if def.object != ObjectType::Task && !current.allows_by_owner(actor, Action::Write) {
            return Err(FieldError::new("owner_id", "error-owner-forbidden").into());
        }
        check_owner(tx, actor, def.object, owner).await?;
    }
    check_references(tx, actor, def, id, &input, customs, Some(&current)).await?;
    hamkor_domain::input::date_consents(def, Some(&current.fields), &mut input.fields);
    let mut changes = Map::new();
    let mut fields = current.fields.clone();
    let mut set = Sql::default();
    for f in def.fields {
        let Some(new) = input.fields.get(f.name) else {
            continue;
        };
        let old = current.fields.get(f.name).cloned().unwrap_or(Value::Null);
        if &old != new {
            changes.insert(f.name.to_string(), Value::Array(vec![old, new.clone()]));
            fields.insert(f.name.to_string(), new.clone());
            set.push(", ")
                .push_ident(f.name)
                .push(" = ")
                .bind(field_arg(f.kind, new));
        }
    }
    let mut custom = current.custom.clone();
    for (k, new) in &input.custom {
        let old = current.custom.get(k).cloned().unwrap_or(Value::Null);
        if &old != new {
            changes.insert(format!("custom.{k}"), Value::Array(vec![old, new.clone()]));
            if new.is_null() {
                custom.remove(k);
            } else {
                custom.insert(k.clone(), new.clone());
            }
        }
    }
    if custom != current.custom {
        set.push(", custom = ")
            .bind(Arg::Json(Some(Value::Object(custom))));
    }
    if let Some(owner) = input.owner_id
        && owner != current.owner_id
    {
        changes.insert(
            "owner_id".into(),
            Value::Array(vec![
                Value::String(current.owner_id.to_string()),
                Value::String(owner.to_string()),
            ]),
        );
        set.push(", owner_id = ").bind(owner);
    }
    if let Some(links) = &input.account_links {
        let old: Vec<AccountLink> = current
            .accounts
            .iter()
            .map(|l| AccountLink {
                account_id: l.account_id,
                position: l.position.clone(),
            })
            .collect();
        if &old != links {
            // Links to accounts the actor cannot see are kept: they are not the actor's to drop.
            let mut keep = links.clone();
            let hidden = hidden_links(tx, id, &old).await?;
            keep.extend(hidden);
            write_links(tx, id, &keep).await?;
            changes.insert(
                "accounts".into(),
                Value::Array(vec![links_value(&old), links_value(links)]),
            );
        }
    }
    if changes.is_empty() {
        return written(tx, actor, def, id).await;
    }
    if changes.keys().any(|k| def.field(k).is_some()) {
        set.push(", search = ").bind(search_text(def, &fields));
    }
    // Build "UPDATE t SET version = version + 1, updated_at = $n<set> WHERE id = $m".
    let mut sql = Sql::new("UPDATE ");
    sql.push_ident(def.plural)
        .push(" SET version = version + 1, updated_at = ")
        .bind(Timestamp::now());
    sql.append(set);
    sql.push(" WHERE id = ")
        .bind(id)
        .push(" AND version = ")
        .bind(current.version);
    if tx.execute(&sql).await? == 0 {
        return Err(StoreError::Stale {
            current: current.version,
        });
    }
    if changes.contains_key("contact_id") || changes.contains_key("contact_ids") {
        write_participants(tx, def, id, &fields, SideRows::Replace).await?;
    }
    if ["phones", "messengers", "tax_id"]
        .iter()
        .any(|k| changes.contains_key(*k))
    {
        write_numbers(tx, def, id, &fields, SideRows::Replace).await?;
    }
    if hamkor_domain::dedup::profile_fields(def.object)
        .iter()
        .any(|k| changes.contains_key(*k))
    {
        crate::dedup::write_keys(tx, def, id, &fields, SideRows::Replace).await?;
    }
    audit::record(tx, def.object, id, "update", actor, changes).await?;
    let record = written(tx, actor, def, id).await?;
    planning::after_write(tx, actor, &record, Some(&current)).await?;
    if record.fields.get("status") != current.fields.get("status")
        && let Some((next, author)) = planning::next_occurrence(tx, &record).await?
    {
        let next_id = Id::new();
        let owner = next.owner_id.unwrap_or(record.owner_id);
        insert_row(tx, def, next_id, &next, owner, author, actor).await?;
        let created = fetch_as(tx, actor, def, next_id, false, false, false).await?;
        planning::after_write(tx, actor, &created, None).await?;
    }
    Ok(record)
}

/// Links of a contact to accounts that exist in the table but were not in `visible`.
async fn hidden_links(
    tx: &mut impl Exec,
    contact: Id,
    visible: &[AccountLink],
) -> Result<Vec<AccountLink>, StoreError> {
    let rows = tx
        .fetch_all(
            &Sql::new("SELECT account_id, position FROM contact_accounts WHERE contact_id = $1")
                .arg(contact),
        )
        .await?;
    let mut out = Vec::new();
    for r in rows {
        let account_id = r.req_id("account_id")?;
        if !visible.iter().any(|l| l.account_id == account_id) {
            out.push(AccountLink {
                account_id,
                position: r.text("position")?,
            });
        }
    }
    Ok(out)
}

/// Moves a record to the trash.
pub async fn delete(
    tx: &mut impl Exec,
    actor: &Actor,
    def: &ObjectDef,
    id: Id,
    if_version: Option<i64>,
) -> Result<(), StoreError> {
    let current = current_for_write(tx, actor, def, id, false).await?;
    if !current.allows(actor, Action::Delete) {
        return Err(StoreError::Forbidden);
    }
    if let Some(v) = if_version
        && v != current.version
    {
        return Err(StoreError::Stale {
            current: current.version,
        });
    }
    let now = Timestamp::now();
    let mut sql = Sql::new("UPDATE ");
    sql.push_ident(def.plural)
        .push(" SET deleted_at = ")
        .bind(now)
        .push(", updated_at = ")
        .bind(now)
        .push(", version = version + 1 WHERE id = ")
        .bind(id)
        .push(" AND version = ")
        .bind(current.version);
    if tx.execute(&sql).await? == 0 {
        return Err(StoreError::Stale {
            current: current.version,
        });
    }
    let mut changes = Map::new();
    changes.insert(
        "deleted_at".into(),
        Value::Array(vec![Value::Null, Value::String(now.to_rfc3339())]),
    );
    crate::dedup::delete_keys(tx, def, id).await?;
    audit::record(tx, def.object, id, "delete", actor, changes).await?;
    let trashed = fetch_as(tx, actor, def, id, true, false, false).await?;
    planning::after_write(tx, actor, &trashed, Some(&current)).await
}

/// Brings a record back from the trash.
pub async fn restore(
    tx: &mut impl Exec,
    actor: &Actor,
    def: &ObjectDef,
    id: Id,
) -> Result<Record, StoreError> {
    let current = current_for_write(tx, actor, def, id, true).await?;
    if !current.allows(actor, Action::Delete) {
        return Err(StoreError::Forbidden);
    }
    let mut sql = Sql::new("UPDATE ");
    sql.push_ident(def.plural)
        .push(" SET deleted_at = NULL, updated_at = ")
        .bind(Timestamp::now())
        .push(", version = version + 1 WHERE id = ")
        .bind(id);
    tx.execute(&sql).await?;
    let mut changes = Map::new();
    let was = current
        .deleted_at
        .map(|t| Value::String(t.to_rfc3339()))
        .unwrap_or(Value::Null);
    changes.insert("deleted_at".into(), Value::Array(vec![was, Value::Null]));
    crate::dedup::write_keys(tx, def, id, &current.fields, SideRows::Replace).await?;
    audit::record(tx, def.object, id, "restore", actor, changes).await?;
    let record = get(tx, actor, def, id).await?;
    planning::after_write(tx, actor, &record, Some(&current)).await?;
    Ok(record)
}

/// A record's history, newest first, if the actor may read the record. Links to accounts
/// the actor may not read are left out of the entries, as they are from the record.
pub async fn history(
    ex: &mut impl Exec,
    actor: &Actor,
    def: &ObjectDef,
    id: Id,
) -> Result<Vec<AuditEntry>, StoreError> {
    fetch(ex, actor, def, id, false, false).await?;
    let mut entries = audit::for_record(ex, def.object, id, 200).await?;
    let mut linked: Vec<Id> = Vec::new();
    for e in &entries {
        for side in e
            .changes
            .get("accounts")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            for l in side.as_array().into_iter().flatten() {
                if let Some(a) = l
                    .get("account_id")
                    .and_then(Value::as_str)
                    .and_then(|s| s.parse().ok())
                    && !linked.contains(&a)
                {
                    linked.push(a);
                }
            }
        }
    }
    if linked.is_empty() {
        return Ok(entries);
    }
    let mut visible: Vec<Id> = Vec::new();
    for chunk in linked.chunks(500) {
        let mut sql = Sql::new("SELECT t.id FROM accounts t WHERE t.id IN (");
        for (i, a) in chunk.iter().enumerate() {
            if i > 0 {
                sql.push(", ");
            }
            sql.bind(*a);
        }
        sql.push(")");
        push_record_scope(
            &mut sql,
            actor,
            ObjectType::Account,
            Action::Read,
            "t.id",
            "t.owner_id",
        );
        for r in ex.fetch_all(&sql).await? {
            visible.push(r.req_id("id")?);
        }
    }
    for e in &mut entries {
        if let Some(sides) = e.changes.get_mut("accounts").and_then(Value::as_array_mut) {
            for side in sides.iter_mut() {
                if let Some(links) = side.as_array_mut() {
                    links.retain(|l| {
                        l.get("account_id")
                            .and_then(Value::as_str)
                            .and_then(|s| s.parse::<Id>().ok())
                            .is_some_and(|a| visible.contains(&a))
                    });
                }
            }
        }
    }
    Ok(entries)
}

/// Recomputes the `search` text of up to `batch` records after `after` (in id order),
/// writing those that changed. Returns the last id seen, or `None` at the end. Used when
/// the way names are folded changes, so old records are found like new ones.
pub async fn refresh_search_batch(
    tx: &mut impl Exec,
    def: &ObjectDef,
    after: Option<Id>,
    batch: i64,
) -> Result<Option<Id>, StoreError> {
    let mut sql = Sql::new("SELECT t.id, t.search");
    for f in def.fields {
        sql.push(", t.").push_ident(f.name);
    }
    sql.push(" FROM ").push_ident(def.plural).push(" t");
    if let Some(a) = after {
        sql.push(" WHERE t.id > ").bind(a);
    }
    sql.push(" ORDER BY t.id LIMIT ").bind(batch);
    let rows = tx.fetch_all(&sql).await?;
    let mut last = None;
    for row in &rows {
        let id = row.req_id("id")?;
        let mut fields = Map::new();
        for f in def.fields {
            let v = match f.kind {
                k if k.is_json() => row.json(f.name)?,
                FieldKind::Text { .. } | FieldKind::TaxId | FieldKind::LongText => {
                    row.text(f.name)?.map(Value::String)
                }
                _ => None,
            };
            fields.insert(f.name.to_string(), v.unwrap_or(Value::Null));
        }
        write_numbers(tx, def, id, &fields, SideRows::Replace).await?;
        let text = search_text(def, &fields);
        if row.req_text("search")? != text {
            let mut up = Sql::new("UPDATE ");
            up.push_ident(def.plural)
                .push(" SET search = ")
                .bind(text)
                .push(" WHERE id = ")
                .bind(id);
            tx.execute(&up).await?;
        }
        last = Some(id);
    }
    Ok(if rows.len() as i64 == batch {
        last
    } else {
        None
    })
}

/// Moves records to the trash at once, without audit entries (the caller records the
/// whole, as undoing an import does). Records already trashed stay as they are.
pub async fn trash_many(
    tx: &mut impl Exec,
    def: &ObjectDef,
    ids: &[Id],
) -> Result<u64, StoreError> {
    let now = Timestamp::now();
    let mut done = 0;
    for chunk in ids.chunks(500) {
        let mut sql = Sql::new("UPDATE ");
        sql.push_ident(def.plural)
            .push(" SET deleted_at = ")
            .bind(now)
            .push(", updated_at = ")
            .bind(now)
            .push(", version = version + 1 WHERE deleted_at IS NULL AND id IN (");
        for (i, id) in chunk.iter().enumerate() {
            if i > 0 {
                sql.push(", ");
            }
            sql.bind(*id);
        }
        sql.push(")");
        done += tx.execute(&sql).await?;
    }
    Ok(done)
}

/// A record for [`insert_batch`]: checked field values and its owner.
pub struct BatchRecord {
    pub id: Id,
    pub fields: Map<String, Value>,
    pub owner_id: Id,
    pub created_at: Timestamp,
    pub account_links: Vec<AccountLink>,
    /// Custom field values, in stored form.
    pub custom: Map<String, Value>,
    /// What `fields` give the search and duplicate indexes, if the caller has worked it
    /// out already ([`IndexEntries::of`] on these `fields`); otherwise it is worked out here.
    pub index: Option<IndexEntries>,
}

/// What a record's values add to the search and duplicate indexes besides its row: its
/// search text, its numbers and its duplicate keys. Pure work on the values (folding
/// names across scripts, number endings, name sounds), so an importer does it on its
/// reading thread while the one writer writes the batch before.
#[derive(Debug, Clone, PartialEq)]
pub struct IndexEntries {
    search: String,
    numbers: Vec<String>,
    dup_keys: Vec<hamkor_domain::dedup::Key>,
}

impl IndexEntries {
    /// The entries of a record of `def` with these field values.
    pub fn of(def: &ObjectDef, fields: &Map<String, Value>) -> IndexEntries {
        IndexEntries {
            search: search_text(def, fields),
            numbers: if has_numbers(def) {
                record_numbers(def, fields)
            } else {
                Vec::new()
            },
            dup_keys: crate::dedup::record_keys(def, fields),
        }
    }
}

/// Inserts many already-validated records in one statement each for the records and
/// their links (the data generator and, later, the importer). Writes no audit entries:
/// the caller records the batch as a whole.
pub async fn insert_batch(
    tx: &mut impl Exec,
    def: &ObjectDef,
    created_by: Id,
    rows: &[BatchRecord],
) -> Result<(), StoreError> {
    insert_batch_to(tx, def, created_by, rows, false).await
}

/// [`insert_batch`] during a bulk load that staged the tables of numbers, duplicate keys
/// and interactions' contacts (`crate::deferred`): their rows go to the staged tables.
pub async fn insert_batch_staged(
    tx: &mut impl Exec,
    def: &ObjectDef,
    created_by: Id,
    rows: &[BatchRecord],
) -> Result<(), StoreError> {
    insert_batch_to(tx, def, created_by, rows, true).await
}

async fn insert_batch_to(
    tx: &mut impl Exec,
    def: &ObjectDef,
    created_by: Id,
    rows: &[BatchRecord],
    staged: bool,
) -> Result<(), StoreError> {
    let table = |t: &'static str| {
        if staged {
            crate::deferred::staged(t)
        } else {
            t
        }
    };
    if rows.is_empty() {
        return Ok(());
    }
    let mut columns: Vec<&'static str> = vec!["id"];
    columns.extend(def.fields.iter().map(|f| f.name));
    columns.extend([
        "custom",
        "search",
        "owner_id",
        "created_by",
        "created_at",
        "updated_at",
        "version",
    ]);
    let computed: Vec<Option<IndexEntries>> = rows
        .iter()
        .map(|r| match r.index {
            Some(_) => None,
            None => Some(IndexEntries::of(def, &r.fields)),
        })
        .collect();
    let entries: Vec<&IndexEntries> = rows
        .iter()
        .zip(&computed)
        .filter_map(|(r, c)| r.index.as_ref().or(c.as_ref()))
        .collect();
    let values: Vec<Vec<Arg>> = rows
        .iter()
        .zip(&entries)
        .map(|(r, entries)| {
            let mut v = Vec::with_capacity(columns.len());
            v.push(Arg::from(r.id));
            for f in def.fields {
                v.push(field_arg(
                    f.kind,
                    r.fields.get(f.name).unwrap_or(&Value::Null),
                ));
            }
            v.push(Arg::Json(Some(Value::Object(r.custom.clone()))));
            v.push(Arg::from(entries.search.clone()));
            v.push(Arg::from(r.owner_id));
            v.push(Arg::from(created_by));
            v.push(Arg::from(r.created_at));
            v.push(Arg::from(r.created_at));
            v.push(Arg::Int(Some(1)));
            v
        })
        .collect();
    crate::bulk::insert_rows(tx, def.plural, &columns, &values, "").await?;
    if has_numbers(def) {
        let numbers: Vec<(Id, &[String])> = rows
            .iter()
            .zip(&entries)
            .map(|(r, e)| (r.id, e.numbers.as_slice()))
            .collect();
        insert_numbers(tx, def, &numbers, table("search_numbers")).await?;
    }
    if hamkor_domain::dedup::applies(def.object) {
        let keys: Vec<(Id, &[hamkor_domain::dedup::Key])> = rows
            .iter()
            .zip(&entries)
            .map(|(r, e)| (r.id, e.dup_keys.as_slice()))
            .collect();
        crate::dedup::insert_keys(tx, def, &keys, table("dup_keys")).await?;
    }
    if def.object == ObjectType::Interaction {
        let pairs: Vec<(Id, Id)> = rows
            .iter()
            .flat_map(|r| {
                participant_contacts(&r.fields)
                    .into_iter()
                    .map(move |c| (c, r.id))
            })
            .collect();
        let values: Vec<Vec<Arg>> = pairs
            .iter()
            .map(|(c, r)| vec![Arg::from(*c), Arg::from(*r)])
            .collect();
        crate::bulk::insert_rows(
            tx,
            table("interaction_contacts"),
            &["contact_id", "interaction_id"],
            &values,
            "",
        )
        .await?;
    }
    let links: Vec<(Id, &AccountLink)> = rows
        .iter()
        .flat_map(|r| r.account_links.iter().map(move |l| (r.id, l)))
        .collect();
    let values: Vec<Vec<Arg>> = links
        .iter()
        .map(|(contact, l)| {
            vec![
                Arg::from(*contact),
                Arg::from(l.account_id),
                Arg::Text(l.position.clone()),
            ]
        })
        .collect();
    crate::bulk::insert_rows(
        tx,
        "contact_accounts",
        &["contact_id", "account_id", "position"],
        &values,
        "",
    )
    .await?;
    Ok(())
}
