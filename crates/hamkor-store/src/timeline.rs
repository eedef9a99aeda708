//! A client's timeline: the interactions of an account (and, if asked, of its branches)
//! or of a contact, newest first, filtered by kind, user and period, one page at a time.
//! The actor must be able to read the client; each interaction is then limited by the
//! same read scope as everywhere else (see `records::push_read_scope`).

use crate::access::Actor;
use crate::db::{Exec, Sql};
use crate::records::{self, Page, Record};
use crate::{Db, StoreError};
use base64::Engine as _;
use hamkor_domain::objects::{ACCOUNT, CONTACT, INTERACTION, ObjectDef};
use hamkor_domain::{Action, Id, ObjectType, Timestamp};

/// Whose timeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subject {
    Account { id: Id, branches: bool },
    Contact(Id),
}

/// What a timeline shows. All filters are optional.
#[derive(Debug, Clone, Default)]
pub struct TimelineQuery {
    pub kinds: Vec<String>,
    /// Interactions this user had (owned) or took part in.
    pub user: Option<Id>,
    pub from: Option<Timestamp>,
    /// Exclusive.
    pub to: Option<Timestamp>,
    pub cursor: Option<(Timestamp, Id)>,
    pub limit: u32,
}

/// The keyset cursor of a timeline page: the time and id of its last item.
pub fn encode_cursor(at: Timestamp, id: Id) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{}|{id}", at.to_rfc3339()))
}

pub fn decode_cursor(raw: &str) -> Option<(Timestamp, Id)> {
    if raw.len() > 200 {
        return None;
    }
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(raw)
        .ok()?;
    let text = String::from_utf8(bytes).ok()?;
    let (at, id) = text.split_once('|')?;
    Some((Timestamp::parse_rfc3339(at)?, id.parse().ok()?))
}

/// The ids of an account and of its branches at any depth that the actor may read (at
/// most 500, the head office first).
pub async fn group_accounts(
    ex: &mut impl Exec,
    actor: &Actor,
    account: Id,
) -> Result<Vec<Id>, StoreError> {
    let mut sql = Sql::new(
        "WITH RECURSIVE grp(id, depth) AS (SELECT id, 0 FROM accounts WHERE id = $1 \
         UNION SELECT a.id, g.depth + 1 FROM accounts a JOIN grp g ON a.parent_id = g.id WHERE g.depth < 16) \
         SELECT t.id FROM grp JOIN accounts t ON t.id = grp.id WHERE t.deleted_at IS NULL",
    )
    .arg(account);
    crate::access::push_record_scope(
        &mut sql,
        actor,
        ObjectType::Account,
        Action::Read,
        "t.id",
        "t.owner_id",
    );
    sql.push(" ORDER BY grp.depth, t.id LIMIT 500");
    ex.fetch_all(&sql)
        .await?
        .iter()
        .map(|r| r.req_id("id"))
        .collect()
}

/// One page of a client's timeline. `NotFound` if the actor cannot read the client.
pub async fn timeline(
    db: &mut Db,
    actor: &Actor,
    subject: Subject,
    q: &TimelineQuery,
) -> Result<Page, StoreError> {
    let def: &ObjectDef = &INTERACTION;
    let mut sql = Sql::new("SELECT ");
    records::push_columns(&mut sql, def, actor, db.backend());
    sql.push(" FROM interactions t WHERE t.deleted_at IS NULL");
    match subject {
        Subject::Account { id, branches } => {
            records::get(db, actor, &ACCOUNT, id).await?;
            let ids = if branches {
                group_accounts(db, actor, id).await?
            } else {
                vec![id]
            };
            sql.push(" AND t.account_id IN (");
            for (i, a) in ids.iter().enumerate() {
                if i > 0 {
                    sql.push(", ");
                }
                sql.bind(*a);
            }
            sql.push(")");
        }
        Subject::Contact(id) => {
            records::get(db, actor, &CONTACT, id).await?;
            sql.push(
                " AND t.id IN (SELECT interaction_id FROM interaction_contacts WHERE contact_id = ",
            )
            .bind(id)
            .push(")");
        }
    }
    records::push_read_scope(&mut sql, actor, def);
    if !q.kinds.is_empty() {
        sql.push(" AND t.kind IN (");
        for (i, k) in q.kinds.iter().enumerate() {
            if i > 0 {
                sql.push(", ");
            }
            sql.bind(k.clone());
        }
        sql.push(")");
    }
    if let Some(u) = q.user {
        sql.push(" AND (t.owner_id = ").bind(u).push(" OR ");
        crate::dialect::push_json_list_contains(
            &mut sql,
            db.backend(),
            "t.user_ids",
            u.to_string(),
        );
        sql.push(")");
    }
    if let Some(from) = q.from {
        sql.push(" AND t.occurred_at >= ").bind(from);
    }
    if let Some(to) = q.to {
        sql.push(" AND t.occurred_at < ").bind(to);
    }
    if let Some((at, id)) = q.cursor {
        sql.push(" AND (t.occurred_at, t.id) < (")
            .bind(at)
            .push(", ")
            .bind(id)
            .push(")");
    }
    sql.push(" ORDER BY t.occurred_at DESC, t.id DESC LIMIT ")
        .bind(i64::from(q.limit) + 1);
    let rows = db.fetch_all(&sql).await?;
    let more = rows.len() > q.limit as usize;
    let items: Vec<Record> = rows
        .iter()
        .take(q.limit as usize)
        .map(|r| records::from_row(def, r))
        .collect::<Result<_, _>>()?;
    let next_cursor = if more {
        items.last().and_then(|r| {
            let at = r
                .fields
                .get("occurred_at")
                .and_then(|v| v.as_str())
                .and_then(Timestamp::parse_rfc3339)?;
            Some(encode_cursor(at, r.id))
        })
    } else {
        None
    };
    Ok(Page {
        items,
        next_cursor,
        total: None,
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn cursors_round_trip_and_refuse_junk() {
        let at = hamkor_domain::Timestamp::parse_rfc3339("2026-11-28T10:00:00.5Z").unwrap();
        let id = hamkor_domain::Id::new();
        let c = super::encode_cursor(at, id);
        assert_eq!(super::decode_cursor(&c), Some((at, id)));
        assert_eq!(super::decode_cursor("not a cursor"), None);
        assert_eq!(super::decode_cursor(&"A".repeat(500)), None);
    }
}
