//! The team tree and records shared one by one: administrators arrange teams (a head's
//! "team" scope reaches every team below theirs); whoever may edit a record by its
//! ownership may share it with a colleague or a team, to read or to edit.

use crate::{App, AppError, AppResult};
use hamkor_domain::objects::ObjectDef;
use hamkor_domain::{Action, FieldError, Id};
use hamkor_store::access::{ShareAccess, shareable};
use hamkor_store::audit;
use hamkor_store::shares::{self, Share, ShareTarget};
use hamkor_store::users::{self, Team};
use hamkor_store::{Actor, StoreError};
use serde_json::{Map, Value, json};

fn details(pairs: &[(&str, Value)]) -> Map<String, Value> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect()
}

impl App {
    /// The shares of a record the actor may read (`NotFound` otherwise), and whether the
    /// actor may change them, from one read of the record.
    pub async fn record_shares(
        &self,
        actor: &Actor,
        def: &ObjectDef,
        id: Id,
    ) -> AppResult<(Vec<Share>, bool)> {
        if !shareable(def.object) {
            return Err(AppError::NotFound);
        }
        let record = self.get_record(actor, def, id).await?;
        let mut db = self.db.clone();
        let list = shares::list(&mut db, def.object, record.id).await?;
        Ok((list, record.allows_by_owner(actor, Action::Write)))
    }

    /// May the actor share this record (and end its shares)? Those who may edit it by
    /// its ownership may; a share does not pass on the right to share.
    pub async fn may_share(&self, actor: &Actor, def: &ObjectDef, id: Id) -> AppResult<bool> {
        if !shareable(def.object) {
            return Ok(false);
        }
        let record = self.get_record(actor, def, id).await?;
        Ok(record.allows_by_owner(actor, Action::Write))
    }

    /// Shares a record with a user or a team (or changes the access of their share).
    /// `NotFound` for a record the actor cannot read, `Forbidden` for one they may not
    /// share, a field error for an unknown or disabled user or an unknown team.
    pub async fn share_record(
        &self,
        actor: &Actor,
        def: &ObjectDef,
        id: Id,
        target: ShareTarget,
        access: ShareAccess,
    ) -> AppResult<Id> {
        if !self.may_share(actor, def, id).await? {
            return Err(AppError::Forbidden);
        }
        let mut db = self.db.clone();
        let name = match target {
            ShareTarget::User(u) => match users::by_id(&mut db, u).await? {
                Some(user) if !user.disabled => user.name,
                Some(_) => return Err(FieldError::new("user_id", "error-user-disabled").into()),
                None => return Err(FieldError::new("user_id", "error-unknown-user").into()),
            },
            ShareTarget::Team(t) => match users::team(&mut db, t).await? {
                Some(team) => team.name,
                None => return Err(FieldError::new("team_id", "error-unknown-team").into()),
            },
        };
        let mut tx = self.db.begin().await?;
        let share = shares::put(&mut tx, def.object, id, target, access, actor.user_id).await?;
        let (key, who) = match target {
            ShareTarget::User(u) => ("user_id", u),
            ShareTarget::Team(t) => ("team_id", t),
        };
        let mut changes = Map::new();
        changes.insert(
            "shared_with".into(),
            json!([Value::Null, {key: who.to_string(), "name": name, "access": access.as_str()}]),
        );
        audit::record(&mut tx, def.object, id, "share", actor, changes).await?;
        tx.commit().await?;
        self.invalidate_policy();
        Ok(share)
    }

    /// Ends a share of a record (same rights as sharing it).
    pub async fn unshare_record(
        &self,
        actor: &Actor,
        def: &ObjectDef,
        id: Id,
        share: Id,
    ) -> AppResult<()> {
        if !self.may_share(actor, def, id).await? {
            return Err(AppError::Forbidden);
        }
        let mut tx = self.db.begin().await?;
        let before = shares::list(&mut tx, def.object, id)
            .await?
            .into_iter()
            .find(|s| s.id == share)
            .ok_or(AppError::NotFound)?;
        shares::remove(&mut tx, def.object, id, share).await?;
        let mut changes = Map::new();
        changes.insert(
            "shared_with".into(),
            json!([{"user_id": before.user_id, "team_id": before.team_id, "name": before.name, "access": before.access}, Value::Null]),
        );
        audit::record(&mut tx, def.object, id, "unshare", actor, changes).await?;
        tx.commit().await?;
        self.invalidate_policy();
        Ok(())
    }

    /// Creates a team under `parent` (administrators).
    pub async fn create_team(
        &self,
        actor: &Actor,
        name: &str,
        parent: Option<Id>,
    ) -> AppResult<Team> {
        if !actor.is_admin() {
            return Err(AppError::Forbidden);
        }
        let name = check_team_name(name)?;
        let mut tx = self.db.begin().await?;
        if users::team_by_name(&mut tx, &name).await?.is_some() {
            return Err(FieldError::new("name", "error-team-taken").into());
        }
        if let Some(p) = parent
            && users::team(&mut tx, p).await?.is_none()
        {
            return Err(FieldError::new("parent_id", "error-unknown-team").into());
        }
        let team = users::insert_team(&mut tx, &name).await?;
        if parent.is_some() {
            users::update_team(&mut tx, team.id, &name, parent).await?;
        }
        audit::event(
            &mut tx,
            "team",
            "team_created",
            Some(actor.user_id),
            Some(team.id),
            &actor.origin,
            details(&[("name", json!(name)), ("parent_id", json!(parent))]),
        )
        .await?;
        tx.commit().await?;
        self.invalidate_policy();
        Ok(Team {
            parent_id: parent,
            ..team
        })
    }

    /// Renames a team and moves it under another (administrators). A team cannot go
    /// under itself or a team below it.
    pub async fn update_team(
        &self,
        actor: &Actor,
        id: Id,
        name: &str,
        parent: Option<Id>,
    ) -> AppResult<Team> {
        if !actor.is_admin() {
            return Err(AppError::Forbidden);
        }
        let name = check_team_name(name)?;
        let mut tx = self.db.begin().await?;
        let before = users::team(&mut tx, id).await?.ok_or(AppError::NotFound)?;
        if let Some(other) = users::team_by_name(&mut tx, &name).await?
            && other.id != id
        {
            return Err(FieldError::new("name", "error-team-taken").into());
        }
        if let Some(p) = parent
            && users::team(&mut tx, p).await?.is_none()
        {
            return Err(FieldError::new("parent_id", "error-unknown-team").into());
        }
        match users::update_team(&mut tx, id, &name, parent).await {
            Err(StoreError::Conflict(_)) => {
                return Err(FieldError::new("parent_id", "error-team-loop").into());
            }
            other => other?,
        }
        audit::event(
            &mut tx,
            "team",
            "team_changed",
            Some(actor.user_id),
            Some(id),
            &actor.origin,
            details(&[
                ("name", json!([before.name, name])),
                ("parent_id", json!([before.parent_id, parent])),
            ]),
        )
        .await?;
        tx.commit().await?;
        self.invalidate_policy();
        Ok(Team {
            id,
            name,
            parent_id: parent,
        })
    }
}

fn check_team_name(name: &str) -> AppResult<String> {
    let name = name.trim();
    if name.is_empty() {
        return Err(FieldError::new("name", "error-required").into());
    }
    if name.chars().count() > 100 {
        return Err(FieldError::new("name", "error-too-long")
            .with("max", 100)
            .into());
    }
    Ok(name.to_string())
}
