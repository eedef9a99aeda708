//! The acting user and how their scope becomes SQL. Every record query calls
//! [`push_scope`]; there is no other way to reach a record.

use crate::db::Sql;
use hamkor_domain::{Action, Id, ObjectType, Role, Scope};
use std::collections::HashMap;
use std::sync::Arc;

/// Scopes an administrator changed from the role defaults.
#[derive(Debug, Clone, Default)]
pub struct PolicyOverrides(pub HashMap<(String, ObjectType, Action), Scope>);

/// The user on whose behalf a query runs, with their resolved rights.
#[derive(Debug, Clone)]
pub struct Actor {
    pub user_id: Id,
    pub team_id: Option<Id>,
    pub role: Role,
    pub overrides: Arc<PolicyOverrides>,
}

impl Actor {
    /// The scope this actor has for an action on an object type.
    pub fn scope(&self, object: ObjectType, action: Action) -> Scope {
        self.overrides
            .0
            .get(&(self.role.as_str().to_string(), object, action))
            .copied()
            .unwrap_or_else(|| self.role.default_scope(object, action))
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
                owner == self.user_id || (self.team_id.is_some() && owner_team == self.team_id)
            }
            Scope::All => true,
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
    match (actor.scope(object, action), actor.team_id) {
        (Scope::None, _) => {
            sql.push(" AND 1 = 0");
        }
        (Scope::All, _) => {
            sql.push(" AND ")
                .push_ident(owner_col)
                .push(" IN (SELECT id FROM users)");
        }
        (Scope::Team, Some(team)) => {
            sql.push(" AND ")
                .push_ident(owner_col)
                .push(" IN (SELECT id FROM users WHERE team_id = ")
                .bind(team)
                .push(" OR id = ")
                .bind(actor.user_id)
                .push(")");
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
            Some(team) => {
                sql.push(" AND (")
                    .push_ident(owner_col)
                    .push(" = ")
                    .bind(actor.user_id);
                sql.push(" OR ")
                    .push_ident(owner_col)
                    .push(" IN (SELECT id FROM users WHERE team_id = ")
                    .bind(team)
                    .push("))");
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
