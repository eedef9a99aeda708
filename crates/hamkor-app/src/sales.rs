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

/// A step of a stage's script as an administrator sends it: an existing step's id (to
/// keep what deals had done), its text, whether it is required, and in how many days its
/// task is due (none: no task).
#[derive(Debug, Clone, Default)]
pub struct StepRequest {
    pub id: Option<Id>,
    pub text: String,
    pub required: bool,
    pub task_days: Option<i64>,
}

/// The most steps a stage's script holds.
pub const MAX_STEPS: usize = 30;

/// A deal's current stage script, with which steps it has done.
#[derive(Debug, Clone, serde::Serialize)]
pub struct DealScript {
    pub stage_id: Id,
    pub text: Option<String>,
    pub steps: Vec<(sales::Step, bool)>,
}

impl App {
    /// A stage's script (whoever may read deals).
    pub async fn stage_script(&self, actor: &Actor, stage: Id) -> AppResult<sales::Script> {
        if actor.scope(ObjectType::Deal, Action::Read) == Scope::None {
            return Err(AppError::Forbidden);
        }
        let mut db = self.db.clone();
        Ok(sales::script(&mut db, stage).await?)
    }

    /// Replaces a stage's script (administrators only).
    pub async fn set_stage_script(
        &self,
        actor: &Actor,
        stage: Id,
        text: Option<&str>,
        steps: &[StepRequest],
    ) -> AppResult<sales::Script> {
        if !actor.is_admin() {
            return Err(AppError::Forbidden);
        }
        let mut errors = ValidationErrors::default();
        let text = text.map(str::trim).filter(|t| !t.is_empty());
        if text.is_some_and(|t| t.chars().count() > 10_000) {
            errors.push(FieldError::new("text", "error-too-long").with("max", 10_000));
        }
        if steps.len() > MAX_STEPS {
            errors.push(FieldError::new("steps", "error-too-many").with("max", MAX_STEPS));
        }
        let mut clean = Vec::new();
        for (i, s) in steps.iter().enumerate() {
            let t = s.text.trim();
            if t.is_empty() {
                errors.push(FieldError::new(
                    format!("steps[{i}].text"),
                    "error-required",
                ));
            } else if t.chars().count() > 200 {
                errors.push(
                    FieldError::new(format!("steps[{i}].text"), "error-too-long").with("max", 200),
                );
            } else if t.chars().any(char::is_control) {
                errors.push(FieldError::new(
                    format!("steps[{i}].text"),
                    "error-control-chars",
                ));
            }
            if s.task_days.is_some_and(|d| !(0..=365).contains(&d)) {
                errors.push(
                    FieldError::new(format!("steps[{i}].task_days"), "error-task-days")
                        .with("max", 365),
                );
            }
            clean.push((s.id, t.to_string(), s.required, s.task_days));
        }
        errors.into_result()?;
        let mut tx = self.db.begin().await?;
        sales::set_script(&mut tx, stage, text, &clean).await?;
        let script = sales::script(&mut tx, stage).await?;
        tx.commit().await?;
        Ok(script)
    }

    /// The script of the stage a deal is at, with its steps done or not.
    pub async fn deal_script(&self, actor: &Actor, deal: Id) -> AppResult<DealScript> {
        let mut db = self.db.clone();
        let d = records::get(&mut db, actor, &DEAL, deal).await?;
        let stage: Id = d
            .fields
            .get("stage_id")
            .and_then(serde_json::Value::as_str)
            .and_then(|s| s.parse().ok())
            .ok_or(AppError::NotFound)?;
        let script = sales::script(&mut db, stage).await?;
        let done = sales::done_steps(&mut db, deal).await?;
        Ok(DealScript {
            stage_id: stage,
            text: script.text,
            steps: script
                .steps
                .into_iter()
                .map(|s| {
                    let d = done.contains(&s.id);
                    (s, d)
                })
                .collect(),
        })
    }

    /// Ticks or unticks a step of the deal's current stage, by whoever may change the deal.
    pub async fn set_deal_step(
        &self,
        actor: &Actor,
        deal: Id,
        step: Id,
        done: bool,
    ) -> AppResult<DealScript> {
        let mut tx = self.db.begin().await?;
        let d = records::get(&mut tx, actor, &DEAL, deal).await?;
        if !d.allows(actor, Action::Write) {
            return Err(AppError::Forbidden);
        }
        let stage: Option<Id> = d
            .fields
            .get("stage_id")
            .and_then(serde_json::Value::as_str)
            .and_then(|s| s.parse().ok());
        let steps = match stage {
            Some(s) => sales::script(&mut tx, s).await?.steps,
            None => Vec::new(),
        };
        if !steps.iter().any(|s| s.id == step) {
            return Err(FieldError::new("step", "error-step-stage").into());
        }
        sales::set_step_done(&mut tx, deal, step, done, actor.user_id).await?;
        tx.commit().await?;
        self.deal_script(actor, deal).await
    }
}
