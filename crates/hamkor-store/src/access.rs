//! The acting user and how their scope becomes SQL. Every record query calls
//! [`push_scope`]; there is no other way to reach a record.

use crate::db::Sql;
use hamkor_domain::{Action, Id, ObjectType, Role, Scope};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

/// What an administrator set beyond the role defaults: changed scopes, the tree of teams,
/// and which object types have records shared one by one.
#[derive(Debug, Clone, Default)]
pub struct PolicyOverrides {
    /// Scopes changed from the role defaults.
    pub scopes: HashMap<(String, ObjectType, Action), Scope>,
    /// For each team, the team itself and every team below it.
    pub subtrees: HashMap<Id, Arc<[Id]>>,
    /// (object type, user or team) pairs with at least one record of that type shared with
    /// that user or team: only their lists and reads carry the share condition.
    pub shared: HashSet<(ObjectType, Id)>,
    /// Fields hidden or read-only per role and object type.
    pub fields: HashMap<(String, ObjectType), HashMap<String, FieldMode>>,
}

/// How a field is restricted for a role.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldMode {
    /// Not shown anywhere (pages, API, exports, reports), not settable.
    Hidden,
    /// Shown, not settable.
    ReadOnly,
}

impl FieldMode {
    pub fn as_str(self) -> &'static str {
        match self {
            FieldMode::Hidden => "hidden",
            FieldMode::ReadOnly => "read_only",
        }
    }
    pub fn parse(s: &str) -> Option<FieldMode> {
        match s {
            "hidden" => Some(FieldMode::Hidden),
            "read_only" => Some(FieldMode::ReadOnly),
            _ => None,
        }
    }
}

impl PolicyOverrides {
    /// The subtrees of a team tree given as `(team, parent)` pairs. A parent that is not
    /// a team, or a loop (which the store refuses to make), ends the climb.
    pub fn subtrees_of(parents: &[(Id, Option<Id>)]) -> HashMap<Id, Arc<[Id]>> {
        let parent: HashMap<Id, Id> = parents
            .iter()
            .filter_map(|(t, p)| p.map(|p| (*t, p)))
            .collect();
        let mut below: HashMap<Id, Vec<Id>> = parents.iter().map(|(t, _)| (*t, vec![*t])).collect();
        for (team, _) in parents {
            let mut seen = HashSet::from([*team]);
            let mut at = *team;
            while let Some(p) = parent.get(&at).copied() {
                if !seen.insert(p) {
                    break;
                }
                if let Some(list) = below.get_mut(&p) {
                    list.push(*team);
                }
                at = p;
            }
        }
        below
            .into_iter()
            .map(|(t, mut list)| {
                list[1..].sort();
                (t, Arc::from(list))
            })
            .collect()
    }
}

/// How a record is shared with someone: to read it, or to read and edit it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ShareAccess {
    Read,
    Edit,
}

impl ShareAccess {
    pub fn as_str(self) -> &'static str {
        match self {
            ShareAccess::Read => "read",
            ShareAccess::Edit => "edit",
        }
    }
    pub fn parse(s: &str) -> Option<ShareAccess> {
        match s {
            "read" => Some(ShareAccess::Read),
            "edit" => Some(ShareAccess::Edit),
            _ => None,
        }
    }
}

/// Object types whose records can be shared one by one with a user or a team. (Products
/// are the company's; interactions and needs follow their client; tasks and meetings
/// have their own participants.)
pub fn shareable(object: ObjectType) -> bool {
    matches!(
        object,
        ObjectType::Account
            | ObjectType::Contact
            | ObjectType::Deal
            | ObjectType::Lead
            | ObjectType::Document
    )
}

/// The user on whose behalf a query runs, with their resolved rights.
#[derive(Debug, Clone)]
pub struct Actor {
    pub user_id: Id,
    pub team_id: Option<Id>,
    pub role: Role,
    pub overrides: Arc<PolicyOverrides>,
    /// Where the request acting for this user came from (none from the shell or a job):
    /// written with the audit entries the actor causes.
    pub origin: Arc<crate::audit::Origin>,
}

impl Actor {
    /// The scope this actor has for an action on an object type.
    /// The scope this actor has for an action on an object type: as an administrator set
    /// it, or as the action it follows (creating and bulk editing follow writing, exporting
    /// reading) has it, or the role's default.
    pub fn scope(&self, object: ObjectType, action: Action) -> Scope {
        if let Some(s) =
            self.overrides
                .scopes
                .get(&(self.role.as_str().to_string(), object, action))
        {
            return *s;
        }
        match action.follows() {
            Some(base) => self.scope(object, base),
            None => self.role.default_scope(object, action),
        }
    }

    /// May this actor do `action` to a record owned by `owner` (whose team is `owner_team`)?
    pub fn allows(
        &self,
        object: ObjectType,
        action: Action,
        owner: Id,
        owner_team: Option<Id>,
    ) -> bool {
        match self.scope(object, action) {
            Scope::None => false,
            Scope::Own => owner == self.user_id,
            Scope::Team => {
                owner == self.user_id || owner_team.is_some_and(|t| self.teams().contains(&t))
            }
            Scope::All => true,
        }
    }

    /// The actor's team and every team below it (a "team" scope reaches them all); empty
    /// without a team.
    pub fn teams(&self) -> &[Id] {
        match &self.team_id {
            None => &[],
            Some(t) => self
                .overrides
                .subtrees
                .get(t)
                .map(|s| &s[..])
                .unwrap_or(std::slice::from_ref(t)),
        }
    }

    /// Is any record of `object` shared with this actor or their team?
    pub fn has_shares(&self, object: ObjectType) -> bool {
        shareable(object)
            && (self.overrides.shared.contains(&(object, self.user_id))
                || self
                    .team_id
                    .is_some_and(|t| self.overrides.shared.contains(&(object, t))))
    }

    /// How a field of `object` is restricted for this actor (never for administrators).
    pub fn field_mode(&self, object: ObjectType, field: &str) -> Option<FieldMode> {
        if self.is_admin() {
            return None;
        }
        self.overrides
            .fields
            .get(&(self.role.as_str().to_string(), object))
            .and_then(|m| m.get(field))
            .copied()
    }

    /// Is this field of `object` hidden from the actor? Custom fields are named
    /// `custom.key`.
    pub fn hides(&self, object: ObjectType, field: &str) -> bool {
        self.field_mode(object, field) == Some(FieldMode::Hidden)
    }

    /// The keys of `object`'s custom fields hidden from the actor.
    pub fn hidden_custom(&self, object: ObjectType) -> Vec<&str> {
        if self.is_admin() {
            return Vec::new();
        }
        let mut keys: Vec<&str> = self
            .overrides
            .fields
            .get(&(self.role.as_str().to_string(), object))
            .into_iter()
            .flatten()
            .filter(|(_, m)| **m == FieldMode::Hidden)
            .filter_map(|(f, _)| f.strip_prefix("custom."))
            .collect();
        keys.sort_unstable();
        keys
    }

    /// May this actor list records of `object` at all: their role reads some, or some are
    /// shared with them or their team.
    pub fn may_list(&self, object: ObjectType) -> bool {
        self.scope(object, Action::Read) != Scope::None || self.has_shares(object)
    }

    /// This actor with their read scope of `object` narrowed to their scope for `action`
    /// (an export lists what the user may both read and export).
    pub fn reading_as(&self, object: ObjectType, action: Action) -> Actor {
        let read = self.scope(object, Action::Read);
        let other = self.scope(object, action);
        if other >= read {
            return self.clone();
        }
        let mut policy = (*self.overrides).clone();
        policy.scopes.insert(
            (self.role.as_str().to_string(), object, Action::Read),
            other,
        );
        Actor {
            overrides: Arc::new(policy),
            ..self.clone()
        }
    }

    pub fn is_admin(&self) -> bool {
        self.role.is_admin()
    }
}

/// Appends ` AND owner_col IN (…)`: the owners [`push_scope`] admits, written as a set an
/// index that has the owner after the columns a query fixes can be searched by, one range
/// per owner. It narrows nothing — the query carries `push_scope` too, the rule itself —
/// and lets an aggregate over many rows seek a salesperson's or a team's rows instead of
/// reading everyone's and filtering them (the funnel, `sales::funnel_entered`). Every owner
/// is a user, so `All` is every user.
pub fn push_owner_seek(
    sql: &mut Sql,
    actor: &Actor,
    object: ObjectType,
    action: Action,
    owner_col: &'static str,
) {
    if action != Action::Delete && actor.has_shares(object) {
        // Records shared one by one may have any owner: no seek narrows them.
        return;
    }
    match (actor.scope(object, action), actor.team_id) {
        (Scope::None, _) => {
            sql.push(" AND 1 = 0");
        }
        (Scope::All, _) => {
            sql.push(" AND ")
                .push_ident(owner_col)
                .push(" IN (SELECT id FROM users)");
        }
        (Scope::Team, Some(_)) => {
            sql.push(" AND ")
                .push_ident(owner_col)
                .push(" IN (SELECT id FROM users WHERE ");
            push_team_in(sql, "team_id", actor.teams());
            sql.push(" OR id = ").bind(actor.user_id).push(")");
        }
        (Scope::Own | Scope::Team, _) => {
            sql.push(" AND ")
                .push_ident(owner_col)
                .push(" = ")
                .bind(actor.user_id);
        }
    }
}

/// Appends ` AND <condition>` limiting `owner_col` to what the actor may reach.
pub fn push_scope(
    sql: &mut Sql,
    actor: &Actor,
    object: ObjectType,
    action: Action,
    owner_col: &'static str,
) {
    match actor.scope(object, action) {
        Scope::All => {}
        Scope::None => {
            sql.push(" AND 1 = 0");
        }
        Scope::Own => {
            sql.push(" AND ")
                .push_ident(owner_col)
                .push(" = ")
                .bind(actor.user_id);
        }
        Scope::Team => match actor.team_id {
            Some(_) => {
                // One IN over the owners, not "owner = me OR owner IN (…)": with the OR,
                // SQLite reads and sorts every row of the team before the first page (2.8 s
                // on 1,000,000 contacts); with one IN it walks the owner index (0.6 ms).
                sql.push(" AND ")
                    .push_ident(owner_col)
                    .push(" IN (SELECT id FROM users WHERE ");
                push_team_in(sql, "team_id", actor.teams());
                sql.push(" OR id = ").bind(actor.user_id).push(")");
            }
            None => {
                sql.push(" AND ")
                    .push_ident(owner_col)
                    .push(" = ")
                    .bind(actor.user_id);
            }
        },
    }
}

/// The most owners a list reads one query each (`records::list_merged`); the records of a
/// larger team are read with one query over all of them.
pub const OWNER_BRANCHES: usize = 32;

/// The users whose records `actor`'s scope for `action` on `object` reaches, when it is a
/// team scope of at most [`OWNER_BRANCHES`] of them (disabled users included: they still
/// own records). They are read with [`push_scope`]'s own condition.
pub async fn team_owners(
    db: &mut crate::Db,
    actor: &Actor,
    object: ObjectType,
    action: Action,
) -> Result<Option<Vec<Id>>, crate::StoreError> {
    use crate::Exec;
    if actor.scope(object, action) != Scope::Team || actor.team_id.is_none() {
        return Ok(None);
    }
    let mut sql = Sql::new("SELECT u.id FROM users u WHERE 1 = 1");
    push_scope(&mut sql, actor, object, action, "u.id");
    sql.push(" ORDER BY u.id LIMIT ")
        .bind(OWNER_BRANCHES as i64 + 1);
    let rows = db.fetch_all(&sql).await?;
    if rows.len() > OWNER_BRANCHES {
        return Ok(None);
    }
    rows.iter()
        .map(|r| r.req_id("id"))
        .collect::<Result<_, _>>()
        .map(Some)
}

/// Appends `col = team` or `col IN (team, …)` for a non-empty list of teams.
pub fn push_team_in(sql: &mut Sql, col: &'static str, teams: &[Id]) {
    sql.push_ident(col);
    if let [one] = teams {
        sql.push(" = ").bind(*one);
        return;
    }
    sql.push(" IN (");
    for (i, t) in teams.iter().enumerate() {
        if i > 0 {
            sql.push(", ");
        }
        sql.bind(*t);
    }
    sql.push(")");
}

/// Appends ` AND <condition>` limiting records (their `id_col` and `owner_col`, such as
/// `t.id`, `t.owner_id`) to what the actor may reach for `action`: by their owner
/// ([`push_scope`]) or, for reading and editing, because the record is shared with the
/// actor or their team.
pub fn push_record_scope(
    sql: &mut Sql,
    actor: &Actor,
    object: ObjectType,
    action: Action,
    id_col: &'static str,
    owner_col: &'static str,
) {
    if !shares_widen(actor, object, action) {
        push_scope(sql, actor, object, action, owner_col);
        return;
    }
    sql.push(" AND ((1 = 1");
    push_scope(sql, actor, object, action, owner_col);
    sql.push(") OR ").push_ident(id_col).push(" IN (");
    push_shared_ids(sql, actor, object, action == Action::Write);
    sql.push("))");
}

/// Do shares reach further than the actor's scope for `action` on `object`: some records
/// are shared with them, the scope is not `all`, and the action is one a share gives?
pub fn shares_widen(actor: &Actor, object: ObjectType, action: Action) -> bool {
    action != Action::Delete
        && actor.scope(object, action) != Scope::All
        && actor.has_shares(object)
}

/// `SELECT record_id FROM record_shares …`: the records of `object` shared with the actor
/// or a team of theirs (to edit, if `edit`).
pub(crate) fn push_shared_ids(sql: &mut Sql, actor: &Actor, object: ObjectType, edit: bool) {
    sql.push("SELECT s.record_id FROM record_shares s WHERE s.object = ")
        .bind(object.as_str())
        .push(" AND (s.user_id = ")
        .bind(actor.user_id);
    if let Some(team) = actor.team_id {
        // A record shared with a team reaches that team's members.
        sql.push(" OR s.team_id = ").bind(team);
    }
    sql.push(")");
    if edit {
        sql.push(" AND s.access = ")
            .bind(ShareAccess::Edit.as_str());
    }
}
