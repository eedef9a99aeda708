//! Users, teams, login sessions and API tokens. Secrets are never stored: sessions and
//! tokens are kept as SHA-256 hashes of the random values handed out, passwords as
//! Argon2id hashes made by the app layer.

use crate::StoreError;
use crate::access::{Actor, FieldMode, PolicyOverrides};
use crate::db::{Exec, Row, Sql};
use hamkor_domain::{Action, Id, ObjectType, Role, Scope, Timestamp};
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::sync::Arc;

/// A user as others see them (no secrets).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct User {
    pub id: Id,
    pub email: String,
    pub name: String,
    pub role: Role,
    pub team_id: Option<Id>,
    pub language: Option<String>,
    pub time_zone: String,
    pub disabled: bool,
    /// Whether the user logs in with a second factor (TOTP).
    pub two_factor: bool,
    /// Where the user may log in from: `role` (as their role says), `any`, `office` or
    /// `internet`.
    pub login_network: String,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub version: i64,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Team {
    pub id: Id,
    pub name: String,
    /// The team above this one: its head's "team" scope reaches this team too.
    pub parent_id: Option<Id>,
}

/// SHA-256 of a secret, hex: how sessions, tokens and setup links are stored.
pub fn hash_secret(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

const USER_COLUMNS: &str = "id, email, name, role, team_id, language, time_zone, disabled, \
     (totp_secret IS NOT NULL) AS two_factor, login_network, created_at, updated_at, version";

/// [`USER_COLUMNS`] of a table called `u`.
const U_COLUMNS: &str = "u.id, u.email, u.name, u.role, u.team_id, u.language, u.time_zone, u.disabled, \
     (u.totp_secret IS NOT NULL) AS two_factor, u.login_network, u.created_at, u.updated_at, u.version";

fn user_from_row(r: &crate::Row) -> Result<User, StoreError> {
    let role = r.req_text("role")?;
    Ok(User {
        id: r.req_id("id")?,
        email: r.req_text("email")?,
        name: r.req_text("name")?,
        role: role
            .parse()
            .map_err(|_| StoreError::Decode(format!("role {role}")))?,
        team_id: r.id("team_id")?,
        language: r.text("language")?,
        time_zone: r.req_text("time_zone")?,
        disabled: r.bool("disabled")?,
        two_factor: r.bool("two_factor")?,
        login_network: r.req_text("login_network")?,
        created_at: r.req_ts("created_at")?,
        updated_at: r.req_ts("updated_at")?,
        version: r.req_int("version")?,
    })
}

/// A new user's details.
#[derive(Debug, Clone)]
pub struct NewUser {
    pub email: String,
    pub name: String,
    pub role: Role,
    pub team_id: Option<Id>,
    pub language: Option<String>,
    pub password_hash: Option<String>,
}

pub async fn insert(ex: &mut impl Exec, u: &NewUser) -> Result<User, StoreError> {
    let id = Id::new();
    let now = Timestamp::now();
    ex.execute(
        &Sql::new(
            "INSERT INTO users (id, email, name, role, team_id, language, password_hash, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .arg(id)
        .arg(u.email.clone())
        .arg(u.name.clone())
        .arg(u.role.as_str())
        .arg(u.team_id)
        .arg(u.language.clone())
        .arg(u.password_hash.clone())
        .arg(now)
        .arg(now),
    )
    .await?;
    by_id(ex, id).await?.ok_or(StoreError::NotFound)
}

pub async fn count(ex: &mut impl Exec) -> Result<i64, StoreError> {
    let row = ex
        .fetch_optional(&Sql::new("SELECT COUNT(*) AS n FROM users"))
        .await?;
    Ok(row.map(|r| r.req_int("n")).transpose()?.unwrap_or(0))
}

pub async fn by_id(ex: &mut impl Exec, id: Id) -> Result<Option<User>, StoreError> {
    let mut sql = Sql::new("SELECT ");
    sql.push(USER_COLUMNS)
        .push(" FROM users WHERE id = ")
        .bind(id);
    ex.fetch_optional(&sql)
        .await?
        .map(|r| user_from_row(&r))
        .transpose()
}

pub async fn by_email(ex: &mut impl Exec, email: &str) -> Result<Option<User>, StoreError> {
    let mut sql = Sql::new("SELECT ");
    sql.push(USER_COLUMNS)
        .push(" FROM users WHERE email = ")
        .bind(email.trim().to_lowercase());
    ex.fetch_optional(&sql)
        .await?
        .map(|r| user_from_row(&r))
        .transpose()
}

/// All users, by name. Every signed-in user may see colleagues' names (to assign work).
pub async fn list(ex: &mut impl Exec) -> Result<Vec<User>, StoreError> {
    let mut sql = Sql::new("SELECT ");
    sql.push(USER_COLUMNS)
        .push(" FROM users ORDER BY name, id LIMIT 5000");
    ex.fetch_all(&sql)
        .await?
        .iter()
        .map(user_from_row)
        .collect()
}

/// The stored password hash of an active user, for login.
pub async fn password_hash(ex: &mut impl Exec, id: Id) -> Result<Option<String>, StoreError> {
    let row = ex
        .fetch_optional(
            &Sql::new("SELECT password_hash FROM users WHERE id = $1 AND disabled = $2")
                .arg(id)
                .arg(false),
        )
        .await?;
    Ok(row.map(|r| r.text("password_hash")).transpose()?.flatten())
}

/// Sets a new password and ends the pending setup link and every session of the user but
/// `keep` (the session of a user changing their own password).
pub async fn set_password_hash(
    ex: &mut impl Exec,
    id: Id,
    hash: &str,
    keep: Option<&str>,
) -> Result<(), StoreError> {
    let n = ex
        .execute(
            &Sql::new(
                "UPDATE users SET password_hash = $1, setup_token_hash = NULL, setup_expires_at = NULL, \
                 updated_at = $2, version = version + 1 WHERE id = $3",
            )
            .arg(hash)
            .arg(Timestamp::now())
            .arg(id),
        )
        .await?;
    if n == 0 {
        return Err(StoreError::NotFound);
    }
    delete_sessions(ex, id, keep).await
}

/// Disables a user: their sessions end and their API tokens stop working at once.
pub async fn set_disabled(ex: &mut impl Exec, id: Id, disabled: bool) -> Result<(), StoreError> {
    let n = ex
        .execute(
            &Sql::new("UPDATE users SET disabled = $1, updated_at = $2, version = version + 1 WHERE id = $3")
                .arg(disabled)
                .arg(Timestamp::now())
                .arg(id),
        )
        .await?;
    if n == 0 {
        return Err(StoreError::NotFound);
    }
    if disabled {
        ex.execute(&Sql::new("DELETE FROM sessions WHERE user_id = $1").arg(id))
            .await?;
    }
    Ok(())
}

/// Sets a user's role and team (an administrator's change; the caller checks and audits).
pub async fn set_role_and_team(
    ex: &mut impl Exec,
    id: Id,
    role: Role,
    team_id: Option<Id>,
) -> Result<(), StoreError> {
    let n = ex
        .execute(
            &Sql::new(
                "UPDATE users SET role = $1, team_id = $2, updated_at = $3, version = version + 1 WHERE id = $4",
            )
            .arg(role.as_str())
            .arg(team_id)
            .arg(Timestamp::now())
            .arg(id),
        )
        .await?;
    if n == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

/// Changes the user's own preferences.
pub async fn set_preferences(
    ex: &mut impl Exec,
    id: Id,
    language: Option<&str>,
    time_zone: Option<&str>,
) -> Result<(), StoreError> {
    ex.execute(
        &Sql::new(
            "UPDATE users SET language = COALESCE($1, language), time_zone = COALESCE($2, time_zone), \
             updated_at = $3, version = version + 1 WHERE id = $4",
        )
        .arg(language.map(str::to_string))
        .arg(time_zone.map(str::to_string))
        .arg(Timestamp::now())
        .arg(id),
    )
    .await?;
    Ok(())
}

/// Stores a one-time setup link (its hash) valid until `expires`.
pub async fn set_setup_token(
    ex: &mut impl Exec,
    id: Id,
    token: &str,
    expires: Timestamp,
) -> Result<(), StoreError> {
    ex.execute(
        &Sql::new("UPDATE users SET setup_token_hash = $1, setup_expires_at = $2 WHERE id = $3")
            .arg(hash_secret(token))
            .arg(expires)
            .arg(id),
    )
    .await?;
    Ok(())
}

/// The user a live setup link belongs to.
pub async fn by_setup_token(ex: &mut impl Exec, token: &str) -> Result<Option<User>, StoreError> {
    let mut sql = Sql::new("SELECT ");
    sql.push(USER_COLUMNS)
        .push(" FROM users WHERE setup_token_hash = ")
        .bind(hash_secret(token))
        .push(" AND setup_expires_at > ")
        .bind(Timestamp::now())
        .push(" AND disabled = ")
        .bind(false);
    ex.fetch_optional(&sql)
        .await?
        .map(|r| user_from_row(&r))
        .transpose()
}

pub async fn insert_team(ex: &mut impl Exec, name: &str) -> Result<Team, StoreError> {
    let id = Id::new();
    let now = Timestamp::now();
    ex.execute(
        &Sql::new("INSERT INTO teams (id, name, created_at, updated_at) VALUES ($1, $2, $3, $4)")
            .arg(id)
            .arg(name)
            .arg(now)
            .arg(now),
    )
    .await?;
    Ok(Team {
        id,
        name: name.to_string(),
        parent_id: None,
    })
}

fn team_from_row(r: &Row) -> Result<Team, StoreError> {
    Ok(Team {
        id: r.req_id("id")?,
        name: r.req_text("name")?,
        parent_id: r.id("parent_id")?,
    })
}

pub async fn teams(ex: &mut impl Exec) -> Result<Vec<Team>, StoreError> {
    ex.fetch_all(&Sql::new(
        "SELECT id, name, parent_id FROM teams ORDER BY name",
    ))
    .await?
    .iter()
    .map(team_from_row)
    .collect()
}

pub async fn team(ex: &mut impl Exec, id: Id) -> Result<Option<Team>, StoreError> {
    ex.fetch_optional(&Sql::new("SELECT id, name, parent_id FROM teams WHERE id = $1").arg(id))
        .await?
        .map(|r| team_from_row(&r))
        .transpose()
}

/// Renames a team and sets the team above it. Refuses a parent below the team itself (a
/// loop) with `Conflict`, a name another team has with `Conflict` too.
pub async fn update_team(
    ex: &mut impl Exec,
    id: Id,
    name: &str,
    parent_id: Option<Id>,
) -> Result<(), StoreError> {
    if let Some(parent) = parent_id {
        // Climb from the new parent: meeting this team means a loop.
        let mut at = Some(parent);
        let mut steps = 0;
        while let Some(t) = at {
            if t == id || steps > 1000 {
                return Err(StoreError::Conflict("team-loop".into()));
            }
            at = team(ex, t).await?.ok_or(StoreError::NotFound)?.parent_id;
            steps += 1;
        }
    }
    let done = ex
        .execute(
            &Sql::new("UPDATE teams SET name = $1, parent_id = $2, updated_at = $3 WHERE id = $4")
                .arg(name)
                .arg(parent_id)
                .arg(Timestamp::now())
                .arg(id),
        )
        .await?;
    if done == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

pub async fn team_by_name(ex: &mut impl Exec, name: &str) -> Result<Option<Team>, StoreError> {
    ex.fetch_optional(&Sql::new("SELECT id, name, parent_id FROM teams WHERE name = $1").arg(name))
        .await?
        .map(|r| team_from_row(&r))
        .transpose()
}

/// The scopes administrators changed from the role defaults.
pub async fn policy_overrides(ex: &mut impl Exec) -> Result<PolicyOverrides, StoreError> {
    let mut map = std::collections::HashMap::new();
    for r in ex
        .fetch_all(&Sql::new(
            "SELECT role, object, action, scope FROM role_permissions",
        ))
        .await?
    {
        let action = r.req_text("action")?;
        let (Some(object), Some(action), Ok(scope)) = (
            ObjectType::parse(&r.req_text("object")?),
            Action::ALL.into_iter().find(|a| a.as_str() == action),
            r.req_text("scope")?.parse::<Scope>(),
        ) else {
            continue;
        };
        map.insert((r.req_text("role")?, object, action), scope);
    }
    let parents: Vec<(Id, Option<Id>)> = ex
        .fetch_all(&Sql::new("SELECT id, parent_id FROM teams"))
        .await?
        .iter()
        .map(|r| Ok((r.req_id("id")?, r.id("parent_id")?)))
        .collect::<Result<_, StoreError>>()?;
    let mut shared = std::collections::HashSet::new();
    for r in ex
        .fetch_all(&Sql::new(
            "SELECT DISTINCT object, COALESCE(user_id, team_id) AS who FROM record_shares",
        ))
        .await?
    {
        if let (Some(o), Some(who)) = (ObjectType::parse(&r.req_text("object")?), r.id("who")?) {
            shared.insert((o, who));
        }
    }
    let mut fields: std::collections::HashMap<
        (String, ObjectType),
        std::collections::HashMap<String, FieldMode>,
    > = std::collections::HashMap::new();
    for r in ex
        .fetch_all(&Sql::new(
            "SELECT role, object, field, mode FROM field_rules",
        ))
        .await?
    {
        if let (Some(o), Some(m)) = (
            ObjectType::parse(&r.req_text("object")?),
            FieldMode::parse(&r.req_text("mode")?),
        ) {
            fields
                .entry((r.req_text("role")?, o))
                .or_default()
                .insert(r.req_text("field")?, m);
        }
    }
    Ok(PolicyOverrides {
        scopes: map,
        subtrees: PolicyOverrides::subtrees_of(&parents),
        shared,
        fields,
    })
}

/// Hides a field or makes it read-only for a role (`None`: shown and settable again).
pub async fn set_field_rule(
    ex: &mut impl Exec,
    role: Role,
    object: ObjectType,
    field: &str,
    mode: Option<FieldMode>,
) -> Result<(), StoreError> {
    ex.execute(
        &Sql::new("DELETE FROM field_rules WHERE role = $1 AND object = $2 AND field = $3")
            .arg(role.as_str())
            .arg(object.as_str())
            .arg(field),
    )
    .await?;
    if let Some(m) = mode {
        ex.execute(
            &Sql::new(
                "INSERT INTO field_rules (role, object, field, mode) VALUES ($1, $2, $3, $4)",
            )
            .arg(role.as_str())
            .arg(object.as_str())
            .arg(field)
            .arg(m.as_str()),
        )
        .await?;
    }
    Ok(())
}

/// Sets one role's scope for an action on an object type.
pub async fn set_policy(
    ex: &mut impl Exec,
    role: Role,
    object: ObjectType,
    action: Action,
    scope: Scope,
) -> Result<(), StoreError> {
    ex.execute(
        &Sql::new(
            "INSERT INTO role_permissions (role, object, action, scope) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (role, object, action) DO UPDATE SET scope = excluded.scope",
        )
        .arg(role.as_str())
        .arg(object.as_str())
        .arg(action.as_str())
        .arg(scope.as_str()),
    )
    .await?;
    Ok(())
}

/// The actor for an active user, with the current policy.
pub fn actor_for(user: &User, overrides: Arc<PolicyOverrides>) -> Actor {
    Actor {
        user_id: user.id,
        team_id: user.team_id,
        role: user.role,
        overrides,
        origin: Arc::default(),
    }
}

/// A login session as found from its cookie.
#[derive(Debug, Clone)]
pub struct Session {
    pub user: User,
    pub csrf_token: String,
}

/// What a session allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// A logged-in user.
    Full,
    /// The password was right; the second factor is awaited. Grants nothing else.
    SecondFactor,
    /// The password was right; the role requires 2FA and the user must enrol first.
    /// Grants nothing else.
    Enrol,
}

impl Stage {
    pub fn as_str(&self) -> &'static str {
        match self {
            Stage::Full => "full",
            Stage::SecondFactor => "second_factor",
            Stage::Enrol => "enrol",
        }
    }
}

pub async fn insert_session(
    ex: &mut impl Exec,
    token: &str,
    user: Id,
    csrf: &str,
    expires: Timestamp,
    stage: Stage,
) -> Result<(), StoreError> {
    ex.execute(
        &Sql::new("INSERT INTO sessions (token_hash, user_id, csrf_token, created_at, expires_at, stage) VALUES ($1, $2, $3, $4, $5, $6)")
            .arg(hash_secret(token))
            .arg(user)
            .arg(csrf)
            .arg(Timestamp::now())
            .arg(expires)
            .arg(stage.as_str()),
    )
    .await?;
    Ok(())
}

/// The live session of an active user for a cookie value, if it is at `stage` (a
/// half-finished login is never taken for a full one).
pub async fn session_at(
    ex: &mut impl Exec,
    token: &str,
    stage: Stage,
) -> Result<Option<Session>, StoreError> {
    let mut sql = Sql::new("SELECT ");
    sql.push(U_COLUMNS)
        .push(
            ", s.csrf_token FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.token_hash = ",
        )
        .bind(hash_secret(token))
        .push(" AND s.expires_at > ")
        .bind(Timestamp::now())
        .push(" AND u.disabled = ")
        .bind(false)
        .push(" AND s.stage = ")
        .bind(stage.as_str());
    match ex.fetch_optional(&sql).await? {
        Some(r) => Ok(Some(Session {
            user: user_from_row(&r)?,
            csrf_token: r.req_text("csrf_token")?,
        })),
        None => Ok(None),
    }
}

/// The live, full session of an active user for a cookie value.
pub async fn session(ex: &mut impl Exec, token: &str) -> Result<Option<Session>, StoreError> {
    session_at(ex, token, Stage::Full).await
}

/// Ends every session of a user but `keep`.
pub async fn delete_sessions(
    ex: &mut impl Exec,
    user: Id,
    keep: Option<&str>,
) -> Result<(), StoreError> {
    ex.execute(
        &Sql::new("DELETE FROM sessions WHERE user_id = $1 AND token_hash <> $2")
            .arg(user)
            .arg(keep.map(hash_secret).unwrap_or_default()),
    )
    .await?;
    Ok(())
}

pub async fn delete_session(ex: &mut impl Exec, token: &str) -> Result<(), StoreError> {
    ex.execute(&Sql::new("DELETE FROM sessions WHERE token_hash = $1").arg(hash_secret(token)))
        .await?;
    Ok(())
}

/// An API token as listed (never the secret itself).
#[derive(Debug, Clone, Serialize)]
pub struct ApiToken {
    pub id: Id,
    pub name: String,
    pub created_at: Timestamp,
    pub revoked_at: Option<Timestamp>,
}

pub async fn insert_token(
    ex: &mut impl Exec,
    user: Id,
    name: &str,
    token: &str,
) -> Result<ApiToken, StoreError> {
    let id = Id::new();
    let now = Timestamp::now();
    ex.execute(
        &Sql::new("INSERT INTO api_tokens (id, user_id, name, token_hash, created_at) VALUES ($1, $2, $3, $4, $5)")
            .arg(id)
            .arg(user)
            .arg(name)
            .arg(hash_secret(token))
            .arg(now),
    )
    .await?;
    Ok(ApiToken {
        id,
        name: name.to_string(),
        created_at: now,
        revoked_at: None,
    })
}

/// The active user an unrevoked API token belongs to.
pub async fn user_by_token(ex: &mut impl Exec, token: &str) -> Result<Option<User>, StoreError> {
    let mut sql = Sql::new("SELECT ");
    sql.push(U_COLUMNS)
        .push(" FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE t.token_hash = ")
        .bind(hash_secret(token))
        .push(" AND t.revoked_at IS NULL AND u.disabled = ")
        .bind(false);
    ex.fetch_optional(&sql)
        .await?
        .map(|r| user_from_row(&r))
        .transpose()
}

pub async fn revoke_token(ex: &mut impl Exec, user: Id, id: Id) -> Result<bool, StoreError> {
    Ok(ex
        .execute(
            &Sql::new("UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND user_id = $3 AND revoked_at IS NULL")
                .arg(Timestamp::now())
                .arg(id)
                .arg(user),
        )
        .await?
        > 0)
}

pub async fn tokens(ex: &mut impl Exec, user: Id) -> Result<Vec<ApiToken>, StoreError> {
    ex.fetch_all(&Sql::new("SELECT id, name, created_at, revoked_at FROM api_tokens WHERE user_id = $1 ORDER BY created_at").arg(user))
        .await?
        .iter()
        .map(|r| Ok(ApiToken { id: r.req_id("id")?, name: r.req_text("name")?, created_at: r.req_ts("created_at")?, revoked_at: r.ts("revoked_at")? }))
        .collect()
}
