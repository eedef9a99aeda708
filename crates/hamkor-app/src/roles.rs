//! What each role may do: administrators change the scopes of the built-in roles per
//! object type and action; the change reaches every server within the policy cache time.

use crate::{App, AppError, AppResult};
use hamkor_domain::{Action, FieldError, ObjectType, Role, Scope, ValidationErrors};
use hamkor_store::Actor;
use hamkor_store::access::FieldMode;

/// One role's scopes: for each object type, read / write / delete.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RolePermissions {
    pub role: Role,
    pub permissions:
        std::collections::BTreeMap<&'static str, std::collections::BTreeMap<&'static str, Scope>>,
    /// Fields hidden or read-only for the role: object, field, `hidden` or `read_only`.
    pub fields:
        std::collections::BTreeMap<&'static str, std::collections::BTreeMap<String, &'static str>>,
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
                    origin: Default::default(),
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
                let mut fields: std::collections::BTreeMap<
                    &'static str,
                    std::collections::BTreeMap<String, &'static str>,
                > = Default::default();
                for ((r, o), m) in &overrides.fields {
                    if r == role.as_str() && !m.is_empty() {
                        fields.insert(
                            o.as_str(),
                            m.iter()
                                .map(|(f, mode)| (f.clone(), mode.as_str()))
                                .collect(),
                        );
                    }
                }
                RolePermissions {
                    role,
                    permissions,
                    fields,
                }
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
        let before = self.policy().await?;
        let mut tx = self.db.begin().await?;
        let mut changes = serde_json::Map::new();
        for (role, o, a, s) in parsed {
            let probe = Actor {
                user_id: actor.user_id,
                team_id: None,
                role,
                overrides: before.clone(),
                origin: Default::default(),
            };
            let was = probe.scope(o, a);
            if was != s {
                changes.insert(
                    format!("{}.{}.{}", role.as_str(), o.as_str(), a.as_str()),
                    serde_json::json!([was.as_str(), s.as_str()]),
                );
            }
            hamkor_store::users::set_policy(&mut tx, role, o, a, s).await?;
        }
        if !changes.is_empty() {
            hamkor_store::audit::event(
                &mut tx,
                "role",
                "permissions_changed",
                Some(actor.user_id),
                None,
                &actor.origin,
                changes,
            )
            .await?;
        }
        tx.commit().await?;
        self.invalidate_policy();
        Ok(())
    }
}

impl App {
    /// Hides fields or makes them read-only for a role: `(object, field, mode)` with mode
    /// `hidden`, `read_only` or `visible` (no rule), all or nothing. Fields are the object
    /// type's own or its custom fields (`custom.key`); the administrator role sees and sets
    /// everything.
    pub async fn set_field_rules(
        &self,
        actor: &Actor,
        role: &str,
        changes: &[(String, String, String)],
    ) -> AppResult<()> {
        if !actor.is_admin() {
            return Err(AppError::Forbidden);
        }
        let Ok(role) = role.parse::<Role>() else {
            return Err(AppError::NotFound);
        };
        let mut errors = ValidationErrors::default();
        if role == Role::Administrator {
            errors.push(FieldError::new("role", "error-admin-fixed"));
        }
        let mut parsed = Vec::new();
        // Each object type's custom fields, read once however many rules name them.
        let mut customs = std::collections::HashMap::new();
        for (object, field, mode) in changes {
            let key = format!("fields.{object}.{field}");
            let Some(o) = ObjectType::parse(object) else {
                errors.push(FieldError::new(key, "error-unknown-field"));
                continue;
            };
            let def = hamkor_domain::objects::ObjectDef::get(o);
            let name = match field.strip_prefix("custom.") {
                Some(k) => {
                    if let std::collections::hash_map::Entry::Vacant(e) = customs.entry(o) {
                        e.insert(self.custom_fields(o).await?);
                    }
                    if !customs[&o].iter().any(|d| d.key == k) {
                        errors.push(FieldError::new(key, "error-unknown-field"));
                        continue;
                    }
                    field.clone()
                }
                None => match def.field(field) {
                    Some(f) => f.name.to_string(),
                    None => {
                        errors.push(FieldError::new(key, "error-unknown-field"));
                        continue;
                    }
                },
            };
            let m = match mode.as_str() {
                "visible" => None,
                other => match FieldMode::parse(other) {
                    Some(m) => Some(m),
                    None => {
                        errors.push(
                            FieldError::new(key, "error-choice")
                                .with("options", "hidden, read_only, visible"),
                        );
                        continue;
                    }
                },
            };
            parsed.push((o, name, m));
        }
        errors.into_result()?;
        let mut tx = self.db.begin().await?;
        let mut details = serde_json::Map::new();
        for (o, f, m) in &parsed {
            hamkor_store::users::set_field_rule(&mut tx, role, *o, f, *m).await?;
            details.insert(
                format!("{}.{}.{}", role.as_str(), o.as_str(), f),
                serde_json::json!(m.map(|m| m.as_str()).unwrap_or("visible")),
            );
        }
        if !details.is_empty() {
            hamkor_store::audit::event(
                &mut tx,
                "role",
                "field_rules_changed",
                Some(actor.user_id),
                None,
                &actor.origin,
                details,
            )
            .await?;
        }
        tx.commit().await?;
        self.invalidate_policy();
        Ok(())
    }
}
