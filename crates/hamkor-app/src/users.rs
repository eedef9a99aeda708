//! User administration, from the web UI, the API and the shell alike.

use crate::{App, AppError, AppResult};
use hamkor_domain::email::normalize_email;
use hamkor_domain::{FieldError, Id, Role, ValidationErrors};
use hamkor_store::users::{self, NewUser, Team, User};
use hamkor_store::{Actor, Exec};

/// The languages the interface speaks.
pub const LANGUAGES: [&str; 3] = ["uz", "ru", "en"];

/// Details for a new user, as given by an administrator or the shell.
#[derive(Debug, Clone)]
pub struct UserRequest {
    pub email: String,
    pub name: String,
    pub role: String,
    pub team: Option<String>,
    pub language: Option<String>,
    pub password: Option<String>,
}

impl App {
    /// Creates a user. `actor` is `None` only for the shell and first start.
    pub async fn create_user(&self, actor: Option<&Actor>, req: UserRequest) -> AppResult<User> {
        if let Some(a) = actor
            && !a.is_admin()
        {
            return Err(AppError::Forbidden);
        }
        let mut errors = ValidationErrors::default();
        let email = match normalize_email(&req.email) {
            Ok(e) => e.to_lowercase(),
            Err(e) => {
                errors.push(FieldError::new("email", e.message_key()));
                String::new()
            }
        };
        let name = req.name.trim().to_string();
        if name.is_empty() {
            errors.push(FieldError::new("name", "error-required"));
        } else if name.chars().count() > 100 {
            errors.push(FieldError::new("name", "error-too-long").with("max", 100));
        }
        let role = match req.role.parse::<Role>() {
            Ok(r) => Some(r),
            Err(_) => {
                errors.push(FieldError::new("role", "error-choice").with(
                    "options",
                    "administrator, head, sales, marketer, support, read_only",
                ));
                None
            }
        };
        if let Some(l) = &req.language
            && !LANGUAGES.contains(&l.as_str())
        {
            errors.push(FieldError::new("language", "error-choice").with("options", "uz, ru, en"));
        }
        if let Some(p) = &req.password
            && let Err(AppError::Invalid(v)) = crate::auth::check_password_rules(p)
        {
            errors.0.extend(v.0);
        }
        let mut db = self.db.clone();
        // A team named that does not exist yet is created, once the rest is valid.
        let mut new_team = None;
        let mut team_id = match req.team.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
            None => None,
            Some(t) => match users::team_by_name(&mut db, t).await? {
                Some(team) => Some(team.id),
                None => match t.parse::<Id>() {
                    Ok(id) if users::teams(&mut db).await?.iter().any(|x| x.id == id) => Some(id),
                    Ok(_) => {
                        errors.push(FieldError::new("team", "error-unknown-team"));
                        None
                    }
                    Err(_) if t.chars().count() > 100 => {
                        errors.push(FieldError::new("team", "error-too-long").with("max", 100));
                        None
                    }
                    Err(_) => {
                        new_team = Some(t.to_string());
                        None
                    }
                },
            },
        };
        errors.into_result()?;
        let password_hash = match req.password {
            Some(p) => Some(
                tokio::task::spawn_blocking(move || crate::auth::hash_password(&p))
                    .await
                    .map_err(|e| AppError::Internal(e.to_string()))??,
            ),
            None => None,
        };
        // The new team and the user are one change: a refused user leaves no team behind.
        let mut tx = self.db.begin().await?;
        if let Some(name) = new_team {
            team_id = Some(users::insert_team(&mut tx, &name).await?.id);
        }
        let user = users::insert(
            &mut tx,
            &NewUser {
                email,
                name,
                role: role.unwrap_or(Role::ReadOnly),
                team_id,
                language: req.language,
                password_hash,
            },
        )
        .await
        .map_err(|e| match e {
            hamkor_store::StoreError::Conflict(_) => {
                AppError::Invalid(FieldError::new("email", "error-email-taken").into())
            }
            other => other.into(),
        })?;
        tx.commit().await?;
        Ok(user)
    }

    /// Creates a team (or returns the one with that name).
    pub async fn ensure_team(&self, name: &str) -> AppResult<Team> {
        let mut db = self.db.clone();
        if let Some(t) = users::team_by_name(&mut db, name).await? {
            return Ok(t);
        }
        let mut tx = self.db.begin().await?;
        let t = users::insert_team(&mut tx, name).await?;
        tx.commit().await?;
        Ok(t)
    }

    pub async fn users(&self) -> AppResult<Vec<User>> {
        let mut db = self.db.clone();
        Ok(users::list(&mut db).await?)
    }

    pub async fn teams(&self) -> AppResult<Vec<Team>> {
        let mut db = self.db.clone();
        Ok(users::teams(&mut db).await?)
    }

    pub async fn user_by_email(&self, email: &str) -> AppResult<Option<User>> {
        let mut db = self.db.clone();
        Ok(users::by_email(&mut db, email).await?)
    }

    pub async fn user_by_id(&self, id: Id) -> AppResult<Option<User>> {
        let mut db = self.db.clone();
        Ok(users::by_id(&mut db, id).await?)
    }

    /// Gives a user another role or team (administrators only); audited as
    /// `user_access_change` with each value before and after. It takes effect with the
    /// user's next request. An administrator cannot take their own administrator role
    /// (someone must be left to give it back).
    pub async fn set_user_access(
        &self,
        actor: &Actor,
        id: Id,
        role: Option<&str>,
        team: Option<Option<Id>>,
    ) -> AppResult<User> {
        if !actor.is_admin() {
            return Err(AppError::Forbidden);
        }
        let mut tx = self.db.begin().await?;
        let Some(user) = users::by_id(&mut tx, id).await? else {
            return Err(AppError::NotFound);
        };
        let mut errors = ValidationErrors::default();
        let role = match role {
            None => user.role,
            Some(r) => match r.parse::<Role>() {
                Ok(r) => r,
                Err(_) => {
                    errors.push(FieldError::new("role", "error-choice").with(
                        "options",
                        "administrator, head, sales, marketer, support, read_only",
                    ));
                    user.role
                }
            },
        };
        if actor.user_id == id && !role.is_admin() {
            errors.push(FieldError::new("role", "error-demote-self"));
        }
        let team_id = match team {
            None => user.team_id,
            Some(None) => None,
            Some(Some(t)) => {
                if users::team(&mut tx, t).await?.is_none() {
                    errors.push(FieldError::new("team_id", "error-unknown-team"));
                }
                Some(t)
            }
        };
        errors.into_result()?;
        if role == user.role && team_id == user.team_id {
            return Ok(user);
        }
        users::set_role_and_team(&mut tx, id, role, team_id).await?;
        let mut details = serde_json::Map::new();
        if role != user.role {
            details.insert(
                "role".into(),
                serde_json::json!([user.role.as_str(), role.as_str()]),
            );
        }
        if team_id != user.team_id {
            details.insert("team_id".into(), serde_json::json!([user.team_id, team_id]));
        }
        hamkor_store::audit::security(
            &mut tx,
            "user_access_change",
            Some(actor.user_id),
            Some(id),
            &actor.origin,
            details,
        )
        .await?;
        tx.commit().await?;
        self.forget_user_tokens(id);
        let mut db = self.db.clone();
        users::by_id(&mut db, id).await?.ok_or(AppError::NotFound)
    }

    /// Disables or enables a user; a disabled user's sessions and tokens stop at once.
    pub async fn set_user_disabled(
        &self,
        actor: Option<&Actor>,
        id: Id,
        disabled: bool,
    ) -> AppResult<()> {
        if let Some(a) = actor {
            if !a.is_admin() {
                return Err(AppError::Forbidden);
            }
            if a.user_id == id && disabled {
                return Err(FieldError::new("disabled", "error-disable-self").into());
            }
        }
        let mut tx = self.db.begin().await?;
        users::set_disabled(&mut tx, id, disabled).await?;
        hamkor_store::audit::security(
            &mut tx,
            if disabled {
                "user_disable"
            } else {
                "user_enable"
            },
            actor.map(|a| a.user_id),
            Some(id),
            &actor.map(|a| (*a.origin).clone()).unwrap_or_default(),
            Default::default(),
        )
        .await?;
        tx.commit().await?;
        self.forget_user_tokens(id);
        Ok(())
    }

    /// Changes the caller's own language and time zone.
    pub async fn set_preferences(
        &self,
        user: Id,
        language: Option<&str>,
        time_zone: Option<&str>,
    ) -> AppResult<()> {
        if let Some(l) = language
            && !LANGUAGES.contains(&l)
        {
            return Err(FieldError::new("language", "error-choice")
                .with("options", "uz, ru, en")
                .into());
        }
        if let Some(tz) = time_zone
            && tz.parse::<chrono_tz::Tz>().is_err()
        {
            return Err(FieldError::new("time_zone", "error-time-zone").into());
        }
        let mut tx = self.db.begin().await?;
        users::set_preferences(&mut tx, user, language, time_zone).await?;
        tx.commit().await?;
        self.forget_user_tokens(user);
        Ok(())
    }

    /// `true` if the database answers a trivial query through the pool.
    pub async fn db_ok(&self) -> bool {
        let mut db = self.db.clone();
        db.fetch_optional(&hamkor_store::Sql::new("SELECT 1 AS one"))
            .await
            .is_ok()
    }
}
