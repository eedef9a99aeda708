//! Moving what belongs to merged accounts or contacts onto the survivor, and back. Every
//! change is returned as a [`Move`] that holds what was there before, and the merge log
//! (`merges`) keeps them, so an undo puts back exactly what was moved.
//!
//! What points at an account or a contact: the link columns of interactions, needs,
//! deals, leads and documents (and an account's branches' `parent_id`), a task's or a
//! meeting's `related`, the `contact_ids` of interactions and meetings, link custom fields
//! of any object, attachments, comments, the rows of `contact_accounts` and
//! `interaction_contacts`, and users' recent items.

use crate::db::{Arg, Exec, Sql};
use crate::dialect::{self, JsonAs};
use crate::{Backend, StoreError};
use hamkor_domain::objects::{OBJECTS, ObjectDef};
use hamkor_domain::{Id, ObjectType, Timestamp};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Link columns holding an account's id: (table, column).
const ACCOUNT_COLUMNS: &[(&str, &str)] = &[
    ("interactions", "account_id"),
    ("needs", "account_id"),
    ("deals", "account_id"),
    ("leads", "account_id"),
    ("documents", "account_id"),
    ("accounts", "parent_id"),
];
/// Link columns holding a contact's id.
const CONTACT_COLUMNS: &[(&str, &str)] = &[
    ("interactions", "contact_id"),
    ("needs", "contact_id"),
    ("deals", "contact_id"),
    ("leads", "contact_id"),
    ("documents", "contact_id"),
];
/// Tables of rows that belong to a record by `(object, record_id)`.
const OWNED_ROWS: &[(&str, &str)] = &[("attachments", "record_id"), ("comments", "record_id")];
/// JSON columns naming records: lists of contact ids, and `{type, id}`.
const CONTACT_LISTS: &[(&str, &str)] =
    &[("interactions", "contact_ids"), ("events", "contact_ids")];
const RELATED: &[(&str, &str)] = &[("tasks", "related"), ("events", "related")];

/// The `'static` name of a table and column a stored move names (never a string from the
/// log spliced into SQL).
fn known(table: &str, column: &str) -> Option<(&'static str, &'static str)> {
    ACCOUNT_COLUMNS
        .iter()
        .chain(CONTACT_COLUMNS)
        .chain(OWNED_ROWS)
        .chain(CONTACT_LISTS)
        .chain(RELATED)
        .find(|(t, c)| *t == table && *c == column)
        .copied()
        .or_else(|| {
            (column == "custom")
                .then(|| OBJECTS.iter().find(|d| d.plural == table))
                .flatten()
                .map(|d| (d.plural, "custom"))
        })
}

/// Records carry a version that every change raises; attachments and comments do not.
fn versioned(table: &str) -> bool {
    ObjectDef::by_plural(table).is_some()
}

/// A row of a link table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "table", rename_all = "snake_case")]
pub enum LinkRow {
    ContactAccounts {
        contact_id: Id,
        account_id: Id,
        position: Option<String>,
    },
    InteractionContacts {
        contact_id: Id,
        interaction_id: Id,
    },
    RecentItems {
        user_id: Id,
        object: String,
        record_id: Id,
        viewed_at: Timestamp,
    },
}

/// One change a merge made, with what was there before.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Move {
    /// `table.column` of these rows held `from` and now holds the survivor.
    Column {
        table: String,
        column: String,
        rows: Vec<Id>,
        from: Id,
    },
    /// A JSON column of one row, as it was.
    Json {
        table: String,
        column: String,
        row: Id,
        old: Value,
    },
    /// A link row taken away.
    Removed(LinkRow),
    /// A link row added.
    Added(LinkRow),
}

async fn ids(ex: &mut impl Exec, sql: &Sql) -> Result<Vec<Id>, StoreError> {
    ex.fetch_all(sql)
        .await?
        .iter()
        .map(|r| r.req_id("id"))
        .collect()
}

async fn set_column(
    tx: &mut impl Exec,
    table: &'static str,
    column: &'static str,
    rows: &[Id],
    value: Id,
) -> Result<(), StoreError> {
    for chunk in rows.chunks(200) {
        let mut sql = Sql::new("UPDATE ");
        sql.push_ident(table)
            .push(" SET ")
            .push_ident(column)
            .push(" = ")
            .bind(value);
        if versioned(table) {
            sql.push(", version = version + 1");
        }
        sql.push(" WHERE id IN (");
        for (i, id) in chunk.iter().enumerate() {
            if i > 0 {
                sql.push(", ");
            }
            sql.bind(*id);
        }
        sql.push(")");
        tx.execute(&sql).await?;
    }
    Ok(())
}

async fn set_json(
    tx: &mut impl Exec,
    table: &'static str,
    column: &'static str,
    row: Id,
    value: Value,
) -> Result<(), StoreError> {
    let mut sql = Sql::new("UPDATE ");
    sql.push_ident(table)
        .push(" SET ")
        .push_ident(column)
        .push(" = ")
        .bind(Arg::Json((!value.is_null()).then_some(value)));
    if versioned(table) {
        sql.push(", version = version + 1");
    }
    sql.push(" WHERE id = ").bind(row);
    tx.execute(&sql).await?;
    Ok(())
}

async fn link_exists(tx: &mut impl Exec, row: &LinkRow) -> Result<bool, StoreError> {
    let sql = match row {
        LinkRow::ContactAccounts {
            contact_id,
            account_id,
            ..
        } => Sql::new(
            "SELECT 1 AS x FROM contact_accounts WHERE contact_id = $1 AND account_id = $2",
        )
        .arg(*contact_id)
        .arg(*account_id),
        LinkRow::InteractionContacts {
            contact_id,
            interaction_id,
        } => Sql::new(
            "SELECT 1 AS x FROM interaction_contacts WHERE contact_id = $1 AND interaction_id = $2",
        )
        .arg(*contact_id)
        .arg(*interaction_id),
        LinkRow::RecentItems {
            user_id,
            object,
            record_id,
            ..
        } => Sql::new(
            "SELECT 1 AS x FROM recent_items WHERE user_id = $1 AND object = $2 AND record_id = $3",
        )
        .arg(*user_id)
        .arg(object.clone())
        .arg(*record_id),
    };
    Ok(tx.fetch_optional(&sql).await?.is_some())
}

async fn link_insert(tx: &mut impl Exec, row: &LinkRow) -> Result<(), StoreError> {
    let sql = match row {
        LinkRow::ContactAccounts {
            contact_id,
            account_id,
            position,
        } => Sql::new(
            "INSERT INTO contact_accounts (contact_id, account_id, position) VALUES ($1, $2, $3)",
        )
        .arg(*contact_id)
        .arg(*account_id)
        .arg(position.clone()),
        LinkRow::InteractionContacts {
            contact_id,
            interaction_id,
        } => Sql::new(
            "INSERT INTO interaction_contacts (contact_id, interaction_id) VALUES ($1, $2)",
        )
        .arg(*contact_id)
        .arg(*interaction_id),
        LinkRow::RecentItems {
            user_id,
            object,
            record_id,
            viewed_at,
        } => Sql::new(
            "INSERT INTO recent_items (user_id, object, record_id, viewed_at) VALUES ($1, $2, $3, $4)",
        )
        .arg(*user_id)
        .arg(object.clone())
        .arg(*record_id)
        .arg(*viewed_at),
    };
    tx.execute(&sql).await?;
    Ok(())
}

async fn link_delete(tx: &mut impl Exec, row: &LinkRow) -> Result<(), StoreError> {
    let sql = match row {
        LinkRow::ContactAccounts {
            contact_id,
            account_id,
            ..
        } => Sql::new("DELETE FROM contact_accounts WHERE contact_id = $1 AND account_id = $2")
            .arg(*contact_id)
            .arg(*account_id),
        LinkRow::InteractionContacts {
            contact_id,
            interaction_id,
        } => Sql::new(
            "DELETE FROM interaction_contacts WHERE contact_id = $1 AND interaction_id = $2",
        )
        .arg(*contact_id)
        .arg(*interaction_id),
        LinkRow::RecentItems {
            user_id,
            object,
            record_id,
            ..
        } => Sql::new(
            "DELETE FROM recent_items WHERE user_id = $1 AND object = $2 AND record_id = $3",
        )
        .arg(*user_id)
        .arg(object.clone())
        .arg(*record_id),
    };
    tx.execute(&sql).await?;
    Ok(())
}

/// Moves a link row to the survivor: removed, and added unless the survivor has it.
async fn move_link(
    tx: &mut impl Exec,
    old: LinkRow,
    new: LinkRow,
    moves: &mut Vec<Move>,
) -> Result<(), StoreError> {
    link_delete(tx, &old).await?;
    moves.push(Move::Removed(old));
    if !link_exists(tx, &new).await? {
        link_insert(tx, &new).await?;
        moves.push(Move::Added(new));
    }
    Ok(())
}

/// Replaces `from` with `to` in a list of ids, once.
fn replace_in_list(list: &Value, from: &str, to: &str) -> Value {
    let mut out: Vec<Value> = Vec::new();
    for v in list.as_array().into_iter().flatten() {
        let v = if v.as_str() == Some(from) {
            Value::String(to.to_string())
        } else {
            v.clone()
        };
        if !out.contains(&v) {
            out.push(v);
        }
    }
    Value::Array(out)
}

/// Moves everything that points at `from` (an account or a contact) to `to`, returning
/// each change. `merged` are the other records merged away, whose own links to each
/// other are left alone (they go to the trash).
pub async fn move_related(
    tx: &mut impl Exec,
    object: ObjectType,
    from: Id,
    to: Id,
    merged: &[Id],
) -> Result<Vec<Move>, StoreError> {
    let b = tx.backend();
    let mut moves = Vec::new();
    let columns = match object {
        ObjectType::Account => ACCOUNT_COLUMNS,
        _ => CONTACT_COLUMNS,
    };
    for &(table, column) in columns {
        let mut sql = Sql::new("SELECT id FROM ");
        sql.push_ident(table)
            .push(" WHERE ")
            .push_ident(column)
            .push(" = ")
            .bind(from);
        if table == "accounts" {
            // The survivor and the other merged accounts are not their own branches.
            sql.push(" AND id <> ").bind(to);
            for m in merged {
                sql.push(" AND id <> ").bind(*m);
            }
        }
        let rows = ids(tx, &sql).await?;
        if rows.is_empty() {
            continue;
        }
        set_column(tx, table, column, &rows, to).await?;
        moves.push(Move::Column {
            table: table.into(),
            column: column.into(),
            rows,
            from,
        });
    }
    for &(table, column) in OWNED_ROWS {
        let mut sql = Sql::new("SELECT id FROM ");
        sql.push_ident(table)
            .push(" WHERE object = ")
            .bind(object.as_str())
            .push(" AND ")
            .push_ident(column)
            .push(" = ")
            .bind(from);
        let rows = ids(tx, &sql).await?;
        if rows.is_empty() {
            continue;
        }
        set_column(tx, table, column, &rows, to).await?;
        moves.push(Move::Column {
            table: table.into(),
            column: column.into(),
            rows,
            from,
        });
    }
    let (from_s, to_s) = (from.to_string(), to.to_string());
    // Tasks and meetings about it.
    for &(table, column) in RELATED {
        let mut sql = Sql::new("SELECT id, ");
        sql.push_ident(column)
            .push(" AS v FROM ")
            .push_ident(table)
            .push(" WHERE ")
            .push_ident(column)
            .push(" IS NOT NULL AND ");
        dialect::push_json_id(&mut sql, b, column);
        sql.push(" = ").bind(from_s.clone());
        for r in tx.fetch_all(&sql).await? {
            let row = r.req_id("id")?;
            let old = r.json("v")?.unwrap_or(Value::Null);
            if old.get("type").and_then(Value::as_str) != Some(object.as_str()) {
                continue;
            }
            let mut new = old.clone();
            new["id"] = Value::String(to_s.clone());
            set_json(tx, table, column, row, new).await?;
            moves.push(Move::Json {
                table: table.into(),
                column: column.into(),
                row,
                old,
            });
        }
    }
    if object == ObjectType::Contact {
        for &(table, column) in CONTACT_LISTS {
            let mut sql = Sql::new("SELECT id, ");
            sql.push_ident(column)
                .push(" AS v FROM ")
                .push_ident(table)
                .push(" WHERE ")
                .push_ident(column)
                .push(" IS NOT NULL AND ");
            dialect::push_json_list_contains(&mut sql, b, column, from_s.clone());
            for r in tx.fetch_all(&sql).await? {
                let row = r.req_id("id")?;
                let old = r.json("v")?.unwrap_or(Value::Null);
                let new = replace_in_list(&old, &from_s, &to_s);
                set_json(tx, table, column, row, new).await?;
                moves.push(Move::Json {
                    table: table.into(),
                    column: column.into(),
                    row,
                    old,
                });
            }
        }
    }
    // Link custom fields of any object pointing at it.
    let fields = tx
        .fetch_all(
            &Sql::new(
                "SELECT object, key FROM custom_fields WHERE kind = 'link' AND link_object = $1",
            )
            .arg(object.as_str()),
        )
        .await?;
    for f in fields {
        let Some(owner) = f
            .text("object")?
            .and_then(|o| ObjectType::parse(&o))
            .map(ObjectDef::get)
        else {
            continue;
        };
        let key = f.req_text("key")?;
        let mut sql = Sql::new("SELECT id, custom AS v FROM ");
        sql.push_ident(owner.plural).push(" WHERE ");
        dialect::push_custom_value(&mut sql, b, &key, JsonAs::Text);
        sql.push(" = ").bind(from_s.clone());
        for r in tx.fetch_all(&sql).await? {
            let row = r.req_id("id")?;
            let old = r.json("v")?.unwrap_or(Value::Null);
            let mut new = old.clone();
            new[key.as_str()] = Value::String(to_s.clone());
            set_json(tx, owner.plural, "custom", row, new).await?;
            moves.push(Move::Json {
                table: owner.plural.into(),
                column: "custom".into(),
                row,
                old,
            });
        }
    }
    // Link rows.
    if object == ObjectType::Contact {
        for r in tx
            .fetch_all(
                &Sql::new(
                    "SELECT account_id, position FROM contact_accounts WHERE contact_id = $1",
                )
                .arg(from),
            )
            .await?
        {
            let (account_id, position) = (r.req_id("account_id")?, r.text("position")?);
            let old = LinkRow::ContactAccounts {
                contact_id: from,
                account_id,
                position: position.clone(),
            };
            let new = LinkRow::ContactAccounts {
                contact_id: to,
                account_id,
                position,
            };
            move_link(tx, old, new, &mut moves).await?;
        }
        for r in tx
            .fetch_all(
                &Sql::new("SELECT interaction_id FROM interaction_contacts WHERE contact_id = $1")
                    .arg(from),
            )
            .await?
        {
            let interaction_id = r.req_id("interaction_id")?;
            let old = LinkRow::InteractionContacts {
                contact_id: from,
                interaction_id,
            };
            let new = LinkRow::InteractionContacts {
                contact_id: to,
                interaction_id,
            };
            move_link(tx, old, new, &mut moves).await?;
        }
    } else {
        for r in tx
            .fetch_all(
                &Sql::new(
                    "SELECT contact_id, position FROM contact_accounts WHERE account_id = $1",
                )
                .arg(from),
            )
            .await?
        {
            let (contact_id, position) = (r.req_id("contact_id")?, r.text("position")?);
            let old = LinkRow::ContactAccounts {
                contact_id,
                account_id: from,
                position: position.clone(),
            };
            let new = LinkRow::ContactAccounts {
                contact_id,
                account_id: to,
                position,
            };
            move_link(tx, old, new, &mut moves).await?;
        }
    }
    for r in tx
        .fetch_all(
            &Sql::new(
                "SELECT user_id, viewed_at FROM recent_items WHERE object = $1 AND record_id = $2",
            )
            .arg(object.as_str())
            .arg(from),
        )
        .await?
    {
        let (user_id, viewed_at) = (r.req_id("user_id")?, r.req_ts("viewed_at")?);
        let row = |record_id| LinkRow::RecentItems {
            user_id,
            object: object.as_str().to_string(),
            record_id,
            viewed_at,
        };
        move_link(tx, row(from), row(to), &mut moves).await?;
    }
    Ok(moves)
}

/// Puts back what `moves` changed, last change first.
pub async fn undo_moves(tx: &mut impl Exec, moves: &[Move]) -> Result<(), StoreError> {
    let bad = |t: &str, c: &str| StoreError::Decode(format!("unknown merge move {t}.{c}"));
    for m in moves.iter().rev() {
        match m {
            Move::Column {
                table,
                column,
                rows,
                from,
            } => {
                let (t, c) = known(table, column).ok_or_else(|| bad(table, column))?;
                set_column(tx, t, c, rows, *from).await?;
            }
            Move::Json {
                table,
                column,
                row,
                old,
            } => {
                let (t, c) = known(table, column).ok_or_else(|| bad(table, column))?;
                set_json(tx, t, c, *row, old.clone()).await?;
            }
            Move::Added(row) => link_delete(tx, row).await?,
            Move::Removed(row) => {
                if !link_exists(tx, row).await? {
                    link_insert(tx, row).await?;
                }
            }
        }
    }
    Ok(())
}

/// One merge as logged.
#[derive(Debug, Clone, Serialize)]
pub struct MergeLog {
    pub id: Id,
    pub object: ObjectType,
    pub survivor_id: Id,
    pub merged_ids: Vec<Id>,
    pub user_id: Id,
    pub created_at: Timestamp,
    /// What the survivor's changed fields held before, and every move.
    #[serde(skip)]
    pub undo: Value,
    pub undone_at: Option<Timestamp>,
}

/// Writes the log of a merge.
pub async fn log(tx: &mut impl Exec, m: &MergeLog) -> Result<(), StoreError> {
    tx.execute(
        &Sql::new(
            "INSERT INTO merges (id, object, survivor_id, merged_ids, user_id, created_at, undo) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .arg(m.id)
        .arg(m.object.as_str())
        .arg(m.survivor_id)
        .arg(Arg::Json(Some(
            serde_json::to_value(&m.merged_ids).unwrap_or_default(),
        )))
        .arg(m.user_id)
        .arg(m.created_at)
        .arg(Arg::Json(Some(m.undo.clone()))),
    )
    .await?;
    Ok(())
}

/// A merge from the log, its row locked (PostgreSQL) until the transaction ends.
pub async fn get(tx: &mut impl Exec, id: Id) -> Result<MergeLog, StoreError> {
    let b = tx.backend();
    let mut sql = Sql::new("SELECT * FROM merges WHERE id = $1").arg(id);
    if b == Backend::Postgres {
        sql.push(dialect::for_update(b));
    }
    let r = tx.fetch_optional(&sql).await?.ok_or(StoreError::NotFound)?;
    Ok(MergeLog {
        id,
        object: r
            .text("object")?
            .and_then(|o| ObjectType::parse(&o))
            .ok_or_else(|| StoreError::Decode("merge object".into()))?,
        survivor_id: r.req_id("survivor_id")?,
        merged_ids: serde_json::from_value(r.json("merged_ids")?.unwrap_or_default())
            .map_err(|e| StoreError::Decode(e.to_string()))?,
        user_id: r.req_id("user_id")?,
        created_at: r.req_ts("created_at")?,
        undo: r.json("undo")?.unwrap_or_default(),
        undone_at: r.ts("undone_at")?,
    })
}

/// Marks a merge undone.
pub async fn mark_undone(tx: &mut impl Exec, id: Id, user: Id) -> Result<(), StoreError> {
    tx.execute(
        &Sql::new("UPDATE merges SET undone_at = $2, undone_by = $3 WHERE id = $1")
            .arg(id)
            .arg(Timestamp::now())
            .arg(user),
    )
    .await?;
    Ok(())
}

/// The merges into a record, newest first.
pub async fn for_survivor(ex: &mut impl Exec, survivor: Id) -> Result<Vec<Id>, StoreError> {
    ids(
        ex,
        &Sql::new("SELECT id FROM merges WHERE survivor_id = $1 ORDER BY created_at DESC LIMIT 20")
            .arg(survivor),
    )
    .await
}
