//! Sales: pipelines and their stages (administrators define them; everyone reads them),
//! deals' stage history, and the kanban board of a pipeline.

use crate::{App, AppError, AppResult};
use hamkor_domain::objects::{DEAL, Lookup};
use hamkor_domain::{Action, FieldError, Id, ObjectType, Scope, ValidationErrors};
use hamkor_store::Actor;
use hamkor_store::records;
use hamkor_store::sales::{self, Column, Pipeline, StageVisit};

/// The most stages a pipeline may have.
pub const MAX_STAGES: usize = 30;

impl App {
    /// Every pipeline with its stages.
    pub async fn pipelines(&self) -> AppResult<Vec<Pipeline>> {
        let mut db = self.db.clone();
        Ok(sales::pipelines(&mut db).await?)
    }

    /// Creates a pipeline with its stages `(name, probability %)` (administrators only).
    pub async fn create_pipeline(
        &self,
        actor: &Actor,
        name: &str,
        enforce_steps: bool,
        stages: &[(String, i64)],
    ) -> AppResult<Pipeline> {
        if !actor.is_admin() {
            return Err(AppError::Forbidden);
        }
        let mut errors = ValidationErrors::default();
        let name = name.trim();
        if name.is_empty() {
            errors.push(FieldError::new("name", "error-required"));
        } else if name.chars().count() > 100 {
            errors.push(FieldError::new("name", "error-too-long").with("max", 100));
        }
        if stages.is_empty() {
            errors.push(FieldError::new("stages", "error-required"));
        }
        if stages.len() > MAX_STAGES {
            errors.push(FieldError::new("stages", "error-too-many").with("max", MAX_STAGES));
        }
        let mut clean = Vec::new();
        for (i, (stage, probability)) in stages.iter().enumerate() {
            let stage = stage.trim();
            if stage.is_empty()
                || stage.chars().count() > 100
                || stage.chars().any(char::is_control)
            {
                errors.push(FieldError::new(
                    format!("stages[{i}].name"),
                    "error-required",
                ));
            }
            if !(0..=100).contains(probability) {
                errors.push(
                    FieldError::new(format!("stages[{i}].probability"), "error-probability")
                        .with("max", 100),
                );
            }
            if clean.iter().any(|(s, _): &(String, i64)| s == stage) {
                errors.push(FieldError::new(
                    format!("stages[{i}].name"),
                    "error-stage-twice",
                ));
            }
            clean.push((stage.to_string(), *probability));
        }
        errors.into_result()?;
        let mut tx = self.db.begin().await?;
        let id = sales::create_pipeline(&mut tx, name, enforce_steps, &clean).await?;
        tx.commit().await?;
        self.pipelines()
            .await?
            .into_iter()
            .find(|p| p.id == id)
            .ok_or(AppError::NotFound)
    }

    /// The stages a deal the actor may see went through.
    pub async fn deal_stages(&self, actor: &Actor, id: Id) -> AppResult<Vec<StageVisit>> {
        let mut db = self.db.clone();
        records::get(&mut db, actor, &DEAL, id).await?;
        Ok(sales::stage_history(&mut db, id).await?)
    }

    /// The board of a pipeline (the first active one when `None`): per stage the first
    /// `limit` open deals the actor may see, their count and sums.
    pub async fn board(
        &self,
        actor: &Actor,
        pipeline: Option<Id>,
        limit: i64,
    ) -> AppResult<(Pipeline, Vec<Column>)> {
        if actor.scope(ObjectType::Deal, Action::Read) == Scope::None {
            return Err(AppError::Forbidden);
        }
        let all = self.pipelines().await?;
        let chosen = match pipeline {
            Some(id) => all.into_iter().find(|p| p.id == id),
            None => all.into_iter().find(|p| p.active),
        }
        .ok_or(AppError::NotFound)?;
        let mut db = self.db.clone();
        let columns = sales::board(&mut db, actor, &chosen, limit).await?;
        Ok((chosen, columns))
    }

    /// Names of the rows of a settings table, for forms and pages: teams, pipelines,
    /// and stages as "pipeline · stage".
    pub async fn lookup_names(&self, lookup: Lookup) -> AppResult<Vec<(Id, String)>> {
        Ok(match lookup {
            Lookup::Team => self
                .teams()
                .await?
                .into_iter()
                .map(|t| (t.id, t.name))
                .collect(),
            Lookup::Pipeline => self
                .pipelines()
                .await?
                .into_iter()
                .map(|p| (p.id, p.name))
                .collect(),
            Lookup::Stage => self
                .pipelines()
                .await?
                .into_iter()
                .flat_map(|p| {
                    let name = p.name.clone();
                    p.stages
                        .into_iter()
                        .map(move |s| (s.id, format!("{name} · {}", s.name)))
                })
                .collect(),
        })
    }
}
