//! What each role may do: administrators change the scopes of the built-in roles per
//! object type and action; the change reaches every server within the policy cache time.

use crate::{App, AppError, AppResult};
use hamkor_domain::{Action, FieldError, ObjectType, Role, Scope, ValidationErrors};
use hamkor_store::Actor;

/// One role's scopes: for each object type, read / write / delete.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RolePermissions {
    pub role: Role,
    pub permissions:
        std::collections::BTreeMap<&'static str, std::collections::BTreeMap<&'static str, Scope>>,
}

impl App {
    /// The scopes of every role as they are now.
    pub async fn role_permissions(&self, actor: &Actor) -> AppResult<Vec<RolePermissions>> {
        if !actor.is_admin() {
            return Err(AppError::Forbidden);
        }
        let overrides = self.policy().await?;
        Ok(Role::ALL
            .into_iter()
            .map(|role| {
                let probe = Actor {
                    user_id: actor.user_id,
                    team_id: None,
                    role,
                    overrides: overrides.clone(),
                };
                let permissions = ObjectType::ALL
                    .into_iter()
                    .map(|o| {
                        (
                            o.as_str(),
                            Action::ALL
                                .into_iter()
                                .map(|a| (a.as_str(), probe.scope(o, a)))
                                .collect(),
                        )
                    })
                    .collect();
                RolePermissions { role, permissions }
            })
            .collect())
    }

    /// Sets scopes of one role: `(object, action, scope)` as text, checked here. The
    /// administrator role always has everything, so nobody locks the company out.
    pub async fn set_role_permissions(
        &self,
        actor: &Actor,
        role: &str,
        changes: &[(String, String, String)],
    ) -> AppResult<()> {
        let all: Vec<(String, String, String, String)> = changes
            .iter()
            .map(|(o, a, s)| (role.to_string(), o.clone(), a.clone(), s.clone()))
            .collect();
        if role.parse::<Role>().is_err() {
            return Err(AppError::NotFound);
        }
        self.set_roles_permissions(actor, &all).await
    }

    /// Sets scopes of several roles, `(role, object, action, scope)`, all or nothing.
    pub async fn set_roles_permissions(
        &self,
        actor: &Actor,
        changes: &[(String, String, String, String)],
    ) -> AppResult<()> {
        if !actor.is_admin() {
            return Err(AppError::Forbidden);
        }
        let mut errors = ValidationErrors::default();
        let mut parsed = Vec::new();
        for (role, object, action, scope) in changes {
            let Ok(role) = role.parse::<Role>() else {
                errors.push(FieldError::new(
                    format!("{role}.{object}.{action}"),
                    "error-unknown-field",
                ));
                continue;
            };
            if role == Role::Administrator {
                if !errors.0.iter().any(|e| e.key == "error-admin-fixed") {
                    errors.push(FieldError::new("role", "error-admin-fixed"));
                }
                continue;
            }
            let field = format!("permissions.{object}.{action}");
            let o = ObjectType::parse(object);
            let a = Action::ALL.into_iter().find(|a| a.as_str() == action);
            let s = scope.parse::<Scope>().ok();
            match (o, a, s) {
                (Some(o), Some(a), Some(s)) => parsed.push((role, o, a, s)),
                (None, _, _) | (_, None, _) => {
                    errors.push(FieldError::new(field, "error-unknown-field"))
                }
                (_, _, None) => errors.push(
                    FieldError::new(field, "error-choice").with("options", "none, own, team, all"),
                ),
            }
        }
        errors.into_result()?;
        let mut tx = self.db.begin().await?;
        for (role, o, a, s) in parsed {
            hamkor_store::users::set_policy(&mut tx, role, o, a, s).await?;
        }
        tx.commit().await?;
        self.invalidate_policy();
        Ok(())
    }
}
