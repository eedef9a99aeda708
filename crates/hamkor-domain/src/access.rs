//! The access policy: for each role, object type and action, how far a user reaches —
//! `none`, `own` (records they own), `team` (records owned by their team) or `all`.
//! These are the defaults until an administrator changes them; the storage layer turns a
//! scope into a condition on every query, so no handler can forget it.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// How far an action reaches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    None,
    Own,
    Team,
    All,
}

impl Scope {
    pub fn as_str(&self) -> &'static str {
        match self {
            Scope::None => "none",
            Scope::Own => "own",
            Scope::Team => "team",
            Scope::All => "all",
        }
    }
}

impl FromStr for Scope {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        Ok(match s {
            "none" => Scope::None,
            "own" => Scope::Own,
            "team" => Scope::Team,
            "all" => Scope::All,
            _ => return Err(()),
        })
    }
}

/// What a user does to a record. `Create`'s scope says whom a new record may be given
/// to; `Export` and `BulkEdit` are rights of their own over what the user may read and
/// change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Read,
    Create,
    Write,
    Delete,
    Export,
    BulkEdit,
}

impl Action {
    pub const ALL: [Action; 6] = [
        Action::Read,
        Action::Create,
        Action::Write,
        Action::Delete,
        Action::Export,
        Action::BulkEdit,
    ];
    pub fn as_str(&self) -> &'static str {
        match self {
            Action::Read => "read",
            Action::Create => "create",
            Action::Write => "write",
            Action::Delete => "delete",
            Action::Export => "export",
            Action::BulkEdit => "bulk_edit",
        }
    }

    /// The action whose scope this one has unless an administrator sets it apart:
    /// creating and bulk editing follow writing, exporting follows reading.
    pub fn follows(&self) -> Option<Action> {
        match self {
            Action::Create | Action::BulkEdit => Some(Action::Write),
            Action::Export => Some(Action::Read),
            _ => None,
        }
    }
}

/// The kinds of records the policy speaks of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ObjectType {
    Account,
    Contact,
    Interaction,
    Need,
    Task,
    Event,
    Deal,
    Product,
    Lead,
    Document,
}

impl ObjectType {
    pub const ALL: [ObjectType; 10] = [
        ObjectType::Account,
        ObjectType::Contact,
        ObjectType::Interaction,
        ObjectType::Need,
        ObjectType::Task,
        ObjectType::Event,
        ObjectType::Deal,
        ObjectType::Product,
        ObjectType::Lead,
        ObjectType::Document,
    ];
    pub fn as_str(&self) -> &'static str {
        match self {
            ObjectType::Account => "account",
            ObjectType::Contact => "contact",
            ObjectType::Interaction => "interaction",
            ObjectType::Need => "need",
            ObjectType::Task => "task",
            ObjectType::Event => "event",
            ObjectType::Deal => "deal",
            ObjectType::Product => "product",
            ObjectType::Lead => "lead",
            ObjectType::Document => "document",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        ObjectType::ALL.into_iter().find(|o| o.as_str() == s)
    }
}

/// The built-in roles. An administrator may define more later; these always exist.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Administrator,
    Head,
    Sales,
    Marketer,
    Support,
    ReadOnly,
}

impl Role {
    pub const ALL: [Role; 6] = [
        Role::Administrator,
        Role::Head,
        Role::Sales,
        Role::Marketer,
        Role::Support,
        Role::ReadOnly,
    ];
    pub fn as_str(&self) -> &'static str {
        match self {
            Role::Administrator => "administrator",
            Role::Head => "head",
            Role::Sales => "sales",
            Role::Marketer => "marketer",
            Role::Support => "support",
            Role::ReadOnly => "read_only",
        }
    }
    pub fn is_admin(&self) -> bool {
        matches!(self, Role::Administrator)
    }

    /// The default scope of this role for an action on an object type.
    pub fn default_scope(&self, object: ObjectType, action: Action) -> Scope {
        use Action::*;
        use ObjectType::*;
        if let Some(base) = action.follows() {
            return self.default_scope(object, base);
        }
        match (self, object, action) {
            (Role::Administrator, _, _) => Scope::All,
            // The catalog is the company's: everyone reads it, heads keep it.
            (_, Product, Read) => Scope::All,
            (Role::Head, Product, _) => Scope::All,
            (_, Product, _) => Scope::None,
            // Interactions are read through the client they belong to: whoever may see
            // the account or contact sees its history (the store adds that condition).
            (_, Interaction | Need, Read) => Scope::All,
            (Role::Head, Interaction | Need, _) => Scope::Team,
            (Role::Sales | Role::Marketer | Role::Support, Interaction | Need, _) => Scope::Own,
            // Tasks and meetings: everyone plans their own work; a head plans the team's.
            // Authors, assignees and participants reach a task or meeting whatever their
            // scope (the store adds that condition).
            (Role::Head, Task | Event, _) => Scope::Team,
            (Role::ReadOnly, Task | Event, Read) => Scope::All,
            (Role::ReadOnly, Task | Event, _) => Scope::None,
            (_, Task | Event, _) => Scope::Own,
            (Role::Head, _, _) => Scope::Team,
            (Role::Sales, _, _) => Scope::Own,
            // Marketing reads deals (what campaigns brought in); support has no part in them.
            (Role::Marketer, Deal, Read) => Scope::All,
            // Marketing brings leads in (campaigns, forms) and follows what became of them.
            (Role::Marketer, Lead, Read) => Scope::All,
            (Role::Marketer, Lead, _) => Scope::Own,
            (Role::Marketer, Deal, _) => Scope::None,
            (Role::Marketer, Document, _) => Scope::None,
            (Role::Marketer, Account | Contact, Read) => Scope::All,
            (Role::Marketer, Account | Contact, _) => Scope::Own,
            (Role::Support, Account | Contact, Read) => Scope::All,
            (Role::Support, _, _) => Scope::None,
            (Role::ReadOnly, _, Read) => Scope::All,
            (Role::ReadOnly, _, _) => Scope::None,
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = UnknownRole;
    fn from_str(s: &str) -> Result<Self, UnknownRole> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| UnknownRole(s.to_string()))
    }
}

#[derive(Debug, thiserror::Error)]
#[error("unknown role {0:?}: use administrator, head, sales, marketer, support or read_only")]
pub struct UnknownRole(pub String);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_match_the_policy() {
        use Action::*;
        use ObjectType::*;
        assert_eq!(
            Role::Administrator.default_scope(Contact, Delete),
            Scope::All
        );
        assert_eq!(Role::Head.default_scope(Account, Write), Scope::Team);
        assert_eq!(Role::Sales.default_scope(Contact, Read), Scope::Own);
        assert_eq!(Role::Marketer.default_scope(Account, Read), Scope::All);
        assert_eq!(Role::Marketer.default_scope(Account, Write), Scope::Own);
        assert_eq!(Role::Support.default_scope(Contact, Read), Scope::All);
        assert_eq!(Role::Support.default_scope(Contact, Write), Scope::None);
        assert_eq!(Role::ReadOnly.default_scope(Account, Read), Scope::All);
        assert_eq!(Role::ReadOnly.default_scope(Account, Delete), Scope::None);
        assert_eq!(Role::Support.default_scope(Interaction, Write), Scope::Own);
        assert_eq!(Role::ReadOnly.default_scope(Interaction, Read), Scope::All);
        assert_eq!(
            Role::ReadOnly.default_scope(Interaction, Write),
            Scope::None
        );
    }

    #[test]
    fn roles_parse_by_their_api_names() {
        for r in Role::ALL {
            assert_eq!(r.as_str().parse::<Role>().unwrap(), r);
        }
        assert!("root".parse::<Role>().is_err());
    }
}
