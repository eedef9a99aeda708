//! Pipelines, their stages, and the rules deals add to the generic record repository: a
//! deal sits at a stage of its own pipeline, a lost deal says why (from the managed list
//! `lost_reasons`), a closed deal does not move, and every stage a deal enters and leaves
//! is kept with who moved it and when — in the same transaction as the write.

use crate::StoreError;
use crate::access::Actor;
use crate::db::{Exec, Sql};
use crate::records::Record;
use hamkor_domain::input::RecordInput;
use hamkor_domain::{FieldError, Id, Timestamp, ValidationErrors};
use serde::Serialize;
use serde_json::{Value, json};

/// A stage of a pipeline.
#[derive(Debug, Clone, Serialize)]
pub struct Stage {
    pub id: Id,
    pub pipeline_id: Id,
    pub name: String,
    pub position: i64,
    pub probability: i64,
}

/// A pipeline with its stages in order.
#[derive(Debug, Clone, Serialize)]
pub struct Pipeline {
    pub id: Id,
    pub name: String,
    pub position: i64,
    pub enforce_steps: bool,
    pub active: bool,
    pub stages: Vec<Stage>,
}

/// Every pipeline (active ones first, in order) with its active stages.
pub async fn pipelines(ex: &mut impl Exec) -> Result<Vec<Pipeline>, StoreError> {
    let rows = ex
        .fetch_all(&Sql::new(
            "SELECT id, name, position, enforce_steps, active FROM pipelines ORDER BY active DESC, position, name",
        ))
        .await?;
    let mut out = Vec::new();
    for r in rows {
        out.push(Pipeline {
            id: r.req_id("id")?,
            name: r.req_text("name")?,
            position: r.req_int("position")?,
            enforce_steps: r.bool("enforce_steps")?,
            active: r.bool("active")?,
            stages: Vec::new(),
        });
    }
    let stages = ex
        .fetch_all(&Sql::new(
            "SELECT id, pipeline_id, name, position, probability FROM stages WHERE active = $1 ORDER BY position",
        ).arg(true))
        .await?;
    for r in stages {
        let s = Stage {
            id: r.req_id("id")?,
            pipeline_id: r.req_id("pipeline_id")?,
            name: r.req_text("name")?,
            position: r.req_int("position")?,
            probability: r.req_int("probability")?,
        };
        if let Some(p) = out.iter_mut().find(|p| p.id == s.pipeline_id) {
            p.stages.push(s);
        }
    }
    Ok(out)
}

/// Creates a pipeline with its stages `(name, probability)` in order.
pub async fn create_pipeline(
    tx: &mut impl Exec,
    name: &str,
    enforce_steps: bool,
    stages: &[(String, i64)],
) -> Result<Id, StoreError> {
    let id = Id::new();
    let now = Timestamp::now();
    let position = tx
        .fetch_optional(&Sql::new("SELECT COUNT(*) AS n FROM pipelines"))
        .await?
        .map(|r| r.req_int("n"))
        .transpose()?
        .unwrap_or(0);
    tx.execute(
        &Sql::new(
            "INSERT INTO pipelines (id, name, position, enforce_steps, active, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .arg(id)
        .arg(name.to_string())
        .arg(position)
        .arg(enforce_steps)
        .arg(true)
        .arg(now)
        .arg(now),
    )
    .await?;
    for (i, (stage, probability)) in stages.iter().enumerate() {
        tx.execute(
            &Sql::new(
                "INSERT INTO stages (id, pipeline_id, name, position, probability, active, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .arg(Id::new())
            .arg(id)
            .arg(stage.clone())
            .arg(i as i64)
            .arg(*probability)
            .arg(true)
            .arg(now),
        )
        .await?;
    }
    Ok(id)
}

async fn stage(ex: &mut impl Exec, id: Id) -> Result<Option<Stage>, StoreError> {
    ex.fetch_optional(
        &Sql::new("SELECT id, pipeline_id, name, position, probability FROM stages WHERE id = $1")
            .arg(id),
    )
    .await?
    .map(|r| {
        Ok(Stage {
            id: r.req_id("id")?,
            pipeline_id: r.req_id("pipeline_id")?,
            name: r.req_text("name")?,
            position: r.req_int("position")?,
            probability: r.req_int("probability")?,
        })
    })
    .transpose()
}

/// The first stage of a pipeline, or of the first active pipeline.
async fn first_stage(
    ex: &mut impl Exec,
    pipeline: Option<Id>,
) -> Result<Option<Stage>, StoreError> {
    let mut sql = Sql::new(
        "SELECT s.id FROM stages s JOIN pipelines p ON p.id = s.pipeline_id WHERE s.active = $1",
    )
    .arg(true);
    match pipeline {
        Some(p) => {
            sql.push(" AND s.pipeline_id = ").bind(p);
        }
        None => {
            sql.push(" AND p.active = ").bind(true);
        }
    }
    sql.push(" ORDER BY p.position, s.position LIMIT 1");
    let Some(id) = ex
        .fetch_optional(&sql)
        .await?
        .map(|r| r.req_id("id"))
        .transpose()?
    else {
        return Ok(None);
    };
    stage(ex, id).await
}

fn id_field(input: &RecordInput, current: Option<&Record>, name: &str) -> Option<Id> {
    input
        .fields
        .get(name)
        .or_else(|| current.and_then(|c| c.fields.get(name)))
        .and_then(Value::as_str)
        .and_then(|s| s.parse().ok())
}

fn text<'a>(input: &'a RecordInput, current: Option<&'a Record>, name: &str) -> Option<&'a str> {
    input
        .fields
        .get(name)
        .or_else(|| current.and_then(|c| c.fields.get(name)))
        .and_then(Value::as_str)
}

/// Checks a deal before it is written and fills what the system sets: its pipeline and
/// stage (the first of the default pipeline when none is given), the stage's probability,
/// when it entered the stage, and when it closed.
pub async fn prepare_deal(
    tx: &mut impl Exec,
    current: Option<&Record>,
    input: &mut RecordInput,
) -> Result<(), StoreError> {
    let mut errors = ValidationErrors::default();
    let now = Timestamp::now();
    let status_before = current
        .and_then(|c| c.fields.get("status"))
        .and_then(Value::as_str)
        .unwrap_or("open");
    let status = text(input, current, "status").unwrap_or("open").to_string();
    if current.is_none() {
        if status != "open" {
            errors.push(FieldError::new("status", "error-deal-starts-open"));
        }
        input.fields.insert("status".into(), json!("open"));
    }
    // Pipeline and stage: the stage must be one of the pipeline's.
    let pipeline_given = input
        .fields
        .get("pipeline_id")
        .filter(|v| !v.is_null())
        .is_some();
    let stage_given = input
        .fields
        .get("stage_id")
        .filter(|v| !v.is_null())
        .is_some();
    let moves = current.is_none() || pipeline_given || stage_given;
    if moves {
        let pipeline = id_field(input, current, "pipeline_id");
        let chosen = if stage_given {
            match id_field(input, None, "stage_id") {
                Some(s) => stage(tx, s).await?,
                None => None,
            }
        } else if pipeline_given
            && current
                .is_some_and(|c| c.fields.get("pipeline_id") != input.fields.get("pipeline_id"))
        {
            first_stage(tx, pipeline).await?
        } else if current.is_none() {
            first_stage(tx, if pipeline_given { pipeline } else { None }).await?
        } else {
            None
        };
        match chosen {
            Some(s)
                if pipeline.is_some_and(|p| p != s.pipeline_id)
                    && (pipeline_given || current.is_some()) =>
            {
                errors.push(FieldError::new("stage_id", "error-stage-pipeline"));
            }
            Some(s) => {
                let changed = current.is_none_or(|c| {
                    c.fields.get("stage_id").and_then(Value::as_str)
                        != Some(s.id.to_string().as_str())
                });
                if changed {
                    if current.is_some() && status_before != "open" && status == status_before {
                        errors.push(FieldError::new("stage_id", "error-deal-closed"));
                    }
                    input
                        .fields
                        .insert("pipeline_id".into(), json!(s.pipeline_id.to_string()));
                    input
                        .fields
                        .insert("stage_id".into(), json!(s.id.to_string()));
                    input
                        .fields
                        .insert("stage_entered_at".into(), json!(now.to_rfc3339()));
                    if !input.fields.contains_key("probability") {
                        input
                            .fields
                            .insert("probability".into(), json!(s.probability));
                    }
                }
            }
            None if stage_given => errors.push(FieldError::new("stage_id", "error-unknown-stage")),
            None if current.is_none() => {
                errors.push(FieldError::new("pipeline_id", "error-unknown-pipeline"))
            }
            None => {}
        }
    }
    // Leaving a stage forward (to a later stage, or winning) needs its required steps
    // done; the pipeline may make that a warning instead.
    if let Some(deal) = current
        && status_before == "open"
        && let Some(from) = deal
            .fields
            .get("stage_id")
            .and_then(Value::as_str)
            .and_then(|s| s.parse::<Id>().ok())
    {
        let to = id_field(input, None, "stage_id");
        let forward = match to.filter(|t| *t != from) {
            Some(t) => match (stage(tx, from).await?, stage(tx, t).await?) {
                (Some(a), Some(b)) => a.pipeline_id == b.pipeline_id && b.position > a.position,
                _ => false,
            },
            None => status == "won",
        };
        if forward {
            let missing = missing_steps(tx, deal.id, from).await?;
            let pipeline = id_field(input, current, "pipeline_id");
            if !missing.is_empty()
                && match pipeline {
                    Some(p) => enforces_steps(tx, p).await?,
                    None => true,
                }
            {
                errors.push(
                    FieldError::new(
                        if status == "won" && to.is_none() {
                            "status"
                        } else {
                            "stage_id"
                        },
                        "error-steps-required",
                    )
                    .with("steps", missing.join("; ")),
                );
            }
        }
    }
    if let Some(p) = input.fields.get("probability").and_then(Value::as_i64)
        && p > 100
    {
        errors.push(FieldError::new("probability", "error-probability").with("max", 100));
    }
    if input.fields.get("amount").is_some_and(|v| !v.is_null())
        && text(input, current, "currency").is_none()
    {
        input.fields.insert("currency".into(), json!("UZS"));
    }
    // Closing and reopening.
    if status != status_before && current.is_some() {
        match status.as_str() {
            "lost" => {
                match text(input, current, "lost_reason") {
                    None => {
                        errors.push(FieldError::new("lost_reason", "error-lost-reason-required"))
                    }
                    Some(reason) => {
                        let allowed = crate::picklists::values(tx, "lost_reasons").await?;
                        if !allowed.iter().any(|v| v.active && v.value == reason) {
                            let options: Vec<String> = allowed
                                .iter()
                                .filter(|v| v.active)
                                .map(|v| v.value.clone())
                                .collect();
                            errors.push(
                                FieldError::new("lost_reason", "error-choice")
                                    .with("options", options.join(", ")),
                            );
                        }
                    }
                }
                input
                    .fields
                    .insert("closed_at".into(), json!(now.to_rfc3339()));
                input.fields.insert("probability".into(), json!(0));
            }
            "won" => {
                input
                    .fields
                    .insert("closed_at".into(), json!(now.to_rfc3339()));
                input.fields.insert("probability".into(), json!(100));
            }
            _ => {
                input.fields.insert("closed_at".into(), Value::Null);
                input.fields.insert("lost_reason".into(), Value::Null);
            }
        }
    }
    // A deal always has a status, a pipeline and a stage: a `null` the rules above did not
    // replace (a new pipeline's first stage) does not empty them (the columns are NOT NULL).
    if current.is_some() {
        for k in ["status", "pipeline_id", "stage_id"] {
            if input.fields.get(k).is_some_and(Value::is_null) {
                errors.push(FieldError::new(k, "error-required"));
            }
        }
    }
    errors.into_result().map_err(StoreError::Invalid)
}

/// A moment as the funnel's columns of `deal_stages` hold it: microseconds since 1970.
pub fn micros(t: Timestamp) -> i64 {
    t.0.timestamp_micros()
}

/// Keeps the deal's stage history: the stage it left closes, the one it entered opens.
pub async fn after_write(
    tx: &mut impl Exec,
    actor: &Actor,
    deal: &Record,
    previous: Option<&Record>,
) -> Result<(), StoreError> {
    let stage_of = |r: &Record| {
        r.fields
            .get("stage_id")
            .and_then(Value::as_str)
            .and_then(|s| s.parse::<Id>().ok())
    };
    let Some(now_at) = stage_of(deal) else {
        return Ok(());
    };
    let before = previous.and_then(stage_of);
    if before == Some(now_at) {
        return Ok(());
    }
    let at = deal
        .fields
        .get("stage_entered_at")
        .and_then(Value::as_str)
        .and_then(Timestamp::parse_rfc3339)
        .unwrap_or_else(Timestamp::now);
    // The visit that ends. Then the one that begins, with the facts the funnel counts it
    // by (migration 0022): the deal's own (read back from the row just written), its time
    // in microseconds, when it was last at this stage, and when it first reached a later
    // one; and the visits to earlier stages, which it has now gone beyond.
    let at_us = micros(at);
    tx.execute(
        &Sql::new(
            "UPDATE deal_stages SET left_at = $1, left_by = $2, left_us = $3 WHERE deal_id = $4 AND left_at IS NULL",
        )
        .arg(at)
        .arg(actor.user_id)
        .arg(at_us)
        .arg(deal.id),
    )
    .await?;
    let entered = stage(tx, now_at).await?.ok_or(StoreError::NotFound)?;
    let prev = tx
        .fetch_optional(
            &Sql::new(
                "SELECT MAX(entered_us) AS at FROM deal_stages WHERE deal_id = $1 AND stage_id = $2",
            )
            .arg(deal.id)
            .arg(now_at),
        )
        .await?
        .map(|r| r.int("at"))
        .transpose()?
        .flatten();
    let further = tx
        .fetch_optional(
            &Sql::new(
                "SELECT MIN(h.entered_us) AS at FROM deal_stages h JOIN stages s ON s.id = h.stage_id \
                 WHERE h.deal_id = $1 AND s.pipeline_id = $2 AND s.position > $3",
            )
            .arg(deal.id)
            .arg(entered.pipeline_id)
            .arg(entered.position),
        )
        .await?
        .map(|r| r.int("at"))
        .transpose()?
        .flatten();
    tx.execute(
        &Sql::new(
            "INSERT INTO deal_stages (id, deal_id, stage_id, entered_at, entered_by, entered_us, prev_entered_us, \
             further_us, live, owner_id, status, amount, currency) \
             SELECT $1, t.id, $2, $3, $4, $5, $6, $7, (t.deleted_at IS NULL AND t.pipeline_id = $8), \
             t.owner_id, t.status, t.amount, t.currency FROM deals t WHERE t.id = $9",
        )
        .arg(Id::new())
        .arg(now_at)
        .arg(at)
        .arg(actor.user_id)
        .arg(at_us)
        .arg(crate::db::Arg::Int(prev))
        .arg(crate::db::Arg::Int(further))
        .arg(entered.pipeline_id)
        .arg(deal.id),
    )
    .await?;
    tx.execute(
        &Sql::new(
            "UPDATE deal_stages SET further_us = $1 WHERE deal_id = $2 \
             AND (further_us IS NULL OR further_us > $1) \
             AND stage_id IN (SELECT id FROM stages WHERE pipeline_id = $3 AND position < $4)",
        )
        .arg(at_us)
        .arg(deal.id)
        .arg(entered.pipeline_id)
        .arg(entered.position),
    )
    .await?;
    if deal.deleted_at.is_none() {
        create_stage_tasks(tx, actor, deal, now_at).await?;
    }
    Ok(())
}

/// One stage a deal went through.
#[derive(Debug, Clone, Serialize)]
pub struct StageVisit {
    pub stage_id: Id,
    pub stage: String,
    pub entered_at: Timestamp,
    pub entered_by: Option<Id>,
    pub left_at: Option<Timestamp>,
    pub left_by: Option<Id>,
}

/// A deal's stage history, oldest first (the caller has checked the actor may see it).
pub async fn stage_history(ex: &mut impl Exec, deal: Id) -> Result<Vec<StageVisit>, StoreError> {
    let rows = ex
        .fetch_all(
            &Sql::new(
                "SELECT h.stage_id, s.name, h.entered_at, h.entered_by, h.left_at, h.left_by \
                 FROM deal_stages h JOIN stages s ON s.id = h.stage_id WHERE h.deal_id = $1 \
                 ORDER BY h.entered_at, h.id",
            )
            .arg(deal),
        )
        .await?;
    rows.iter()
        .map(|r| {
            Ok(StageVisit {
                stage_id: r.req_id("stage_id")?,
                stage: r.req_text("name")?,
                entered_at: r.req_ts("entered_at")?,
                entered_by: r.id("entered_by")?,
                left_at: r.ts("left_at")?,
                left_by: r.id("left_by")?,
            })
        })
        .collect()
}

/// One column of a pipeline's board.
#[derive(Debug, Clone)]
pub struct Column {
    pub stage: Stage,
    pub count: i64,
    /// Sums of the open deals' amounts, per currency (minor units).
    pub sums: Vec<(String, i64)>,
    pub deals: Vec<Record>,
}

/// A pipeline's board: per stage, the open deals the actor may see (the first `limit`,
/// by expected close), how many there are and what they add up to.
pub async fn board(
    ex: &mut impl Exec,
    actor: &Actor,
    pipeline: &Pipeline,
    limit: i64,
) -> Result<Vec<Column>, StoreError> {
    use hamkor_domain::objects::DEAL;
    let b = ex.backend();
    let close = match b {
        crate::Backend::Sqlite => "COALESCE(t.expected_close, '9999-12-31')",
        crate::Backend::Postgres => "COALESCE(t.expected_close, DATE '9999-12-31')",
    };
    let mut out = Vec::new();
    for stage in &pipeline.stages {
        // The partial index `deals_board` (migration 0016) answers this: its condition is
        // repeated word for word.
        let mut sql = Sql::new("SELECT ");
        crate::records::push_columns(&mut sql, &DEAL, actor, b);
        sql.push(" FROM deals t WHERE t.stage_id = ")
            .bind(stage.id)
            .push(" AND t.status = 'open' AND t.deleted_at IS NULL");
        crate::records::push_read_scope(&mut sql, actor, &DEAL);
        sql.push(" ORDER BY ")
            .push(close)
            .push(", t.id LIMIT ")
            .bind(limit);
        let deals = ex
            .fetch_all(&sql)
            .await?
            .iter()
            .map(|r| crate::records::from_row(&DEAL, r))
            .collect::<Result<Vec<_>, _>>()?;
        let mut sums_sql = Sql::new(
            "SELECT COALESCE(t.currency, '') AS currency, COUNT(*) AS n, CAST(COALESCE(SUM(t.amount), 0) AS BIGINT) AS total \
             FROM deals t WHERE t.stage_id = ",
        );
        sums_sql
            .bind(stage.id)
            .push(" AND t.status = 'open' AND t.deleted_at IS NULL");
        crate::records::push_read_scope(&mut sums_sql, actor, &DEAL);
        sums_sql.push(" GROUP BY COALESCE(t.currency, '') ORDER BY 1");
        let mut count = 0;
        let mut sums = Vec::new();
        for r in ex.fetch_all(&sums_sql).await? {
            count += r.req_int("n")?;
            let currency = r.req_text("currency")?;
            let total = r.req_int("total")?;
            if !currency.is_empty() && total != 0 {
                sums.push((currency, total));
            }
        }
        out.push(Column {
            stage: stage.clone(),
            count,
            sums,
            deals,
        });
    }
    Ok(out)
}

/// One step of a stage's script.
#[derive(Debug, Clone, Serialize)]
pub struct Step {
    pub id: Id,
    pub stage_id: Id,
    pub text: String,
    pub required: bool,
    /// Entering the stage gives the deal's owner a task due this many days later.
    pub task_days: Option<i64>,
}

/// A stage's script: what to say and what to do.
#[derive(Debug, Clone, Serialize)]
pub struct Script {
    pub stage_id: Id,
    pub text: Option<String>,
    pub steps: Vec<Step>,
}

/// The script of a stage.
pub async fn script(ex: &mut impl Exec, stage_id: Id) -> Result<Script, StoreError> {
    let text = ex
        .fetch_optional(&Sql::new("SELECT script FROM stages WHERE id = $1").arg(stage_id))
        .await?
        .ok_or(StoreError::NotFound)?
        .text("script")?;
    let rows = ex
        .fetch_all(
            &Sql::new(
                "SELECT id, stage_id, text, required, task_days FROM stage_steps WHERE stage_id = $1 ORDER BY position",
            )
            .arg(stage_id),
        )
        .await?;
    let steps = rows
        .iter()
        .map(|r| {
            Ok(Step {
                id: r.req_id("id")?,
                stage_id: r.req_id("stage_id")?,
                text: r.req_text("text")?,
                required: r.bool("required")?,
                task_days: r.int("task_days")?,
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    Ok(Script {
        stage_id,
        text,
        steps,
    })
}

/// Replaces a stage's script text and steps. Deals keep the steps they had done only
/// where a step is kept (the same id sent back).
pub async fn set_script(
    tx: &mut impl Exec,
    stage_id: Id,
    text: Option<&str>,
    steps: &[(Option<Id>, String, bool, Option<i64>)],
) -> Result<(), StoreError> {
    let n = tx
        .execute(
            &Sql::new("UPDATE stages SET script = $1 WHERE id = $2")
                .arg(text.map(str::to_string))
                .arg(stage_id),
        )
        .await?;
    if n == 0 {
        return Err(StoreError::NotFound);
    }
    let existing = script(tx, stage_id).await?.steps;
    let keep: Vec<Id> = steps.iter().filter_map(|(id, ..)| *id).collect();
    for old in existing.iter().filter(|s| !keep.contains(&s.id)) {
        tx.execute(&Sql::new("DELETE FROM deal_steps WHERE step_id = $1").arg(old.id))
            .await?;
        tx.execute(&Sql::new("DELETE FROM stage_steps WHERE id = $1").arg(old.id))
            .await?;
    }
    for (i, (id, step, required, task_days)) in steps.iter().enumerate() {
        match id.filter(|id| existing.iter().any(|s| s.id == *id)) {
            Some(id) => {
                tx.execute(
                    &Sql::new(
                        "UPDATE stage_steps SET position = $1, text = $2, required = $3, task_days = $4 WHERE id = $5",
                    )
                    .arg(i as i64)
                    .arg(step.clone())
                    .arg(*required)
                    .arg(crate::db::Arg::Int(*task_days))
                    .arg(id),
                )
                .await?;
            }
            None => {
                tx.execute(
                    &Sql::new(
                        "INSERT INTO stage_steps (id, stage_id, position, text, required, task_days, created_at) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7)",
                    )
                    .arg(Id::new())
                    .arg(stage_id)
                    .arg(i as i64)
                    .arg(step.clone())
                    .arg(*required)
                    .arg(crate::db::Arg::Int(*task_days))
                    .arg(Timestamp::now()),
                )
                .await?;
            }
        }
    }
    Ok(())
}

/// The steps of a deal's current stage that it has done.
pub async fn done_steps(ex: &mut impl Exec, deal: Id) -> Result<Vec<Id>, StoreError> {
    ex.fetch_all(&Sql::new("SELECT step_id FROM deal_steps WHERE deal_id = $1").arg(deal))
        .await?
        .iter()
        .map(|r| r.req_id("step_id"))
        .collect()
}

/// Ticks or unticks a step of the deal's current stage, by someone who may change the
/// deal (one they cannot see is `NotFound`; a step of another stage is refused).
pub async fn set_step_done(
    tx: &mut impl Exec,
    actor: &Actor,
    deal: Id,
    step: Id,
    done: bool,
) -> Result<(), StoreError> {
    let d = crate::records::get(tx, actor, &hamkor_domain::objects::DEAL, deal).await?;
    if !d.allows(actor, hamkor_domain::Action::Write) {
        return Err(StoreError::Forbidden);
    }
    let stage = d
        .fields
        .get("stage_id")
        .and_then(Value::as_str)
        .and_then(|s| s.parse::<Id>().ok());
    let steps = match stage {
        Some(s) => script(tx, s).await?.steps,
        None => Vec::new(),
    };
    if !steps.iter().any(|s| s.id == step) {
        return Err(FieldError::new("step", "error-step-stage").into());
    }
    let by = actor.user_id;
    tx.execute(
        &Sql::new("DELETE FROM deal_steps WHERE deal_id = $1 AND step_id = $2")
            .arg(deal)
            .arg(step),
    )
    .await?;
    if done {
        tx.execute(
            &Sql::new("INSERT INTO deal_steps (deal_id, step_id, done_at, done_by) VALUES ($1, $2, $3, $4)")
                .arg(deal)
                .arg(step)
                .arg(Timestamp::now())
                .arg(by),
        )
        .await?;
    }
    Ok(())
}

/// The required steps of `stage` a deal has not done.
pub(crate) async fn missing_steps(
    ex: &mut impl Exec,
    deal: Id,
    stage: Id,
) -> Result<Vec<String>, StoreError> {
    let rows = ex
        .fetch_all(
            &Sql::new(
                "SELECT s.text FROM stage_steps s WHERE s.stage_id = $1 AND s.required = $2 \
                 AND NOT EXISTS (SELECT 1 FROM deal_steps d WHERE d.deal_id = $3 AND d.step_id = s.id) \
                 ORDER BY s.position",
            )
            .arg(stage)
            .arg(true)
            .arg(deal),
        )
        .await?;
    rows.iter().map(|r| r.req_text("text")).collect()
}

/// Whether the pipeline blocks moves past unfinished required steps (else it warns).
pub(crate) async fn enforces_steps(ex: &mut impl Exec, pipeline: Id) -> Result<bool, StoreError> {
    Ok(ex
        .fetch_optional(
            &Sql::new("SELECT enforce_steps FROM pipelines WHERE id = $1").arg(pipeline),
        )
        .await?
        .map(|r| r.bool("enforce_steps"))
        .transpose()?
        .unwrap_or(true))
}

/// Gives the deal's owner the tasks of the stage it has just entered.
pub(crate) async fn create_stage_tasks(
    tx: &mut impl Exec,
    actor: &Actor,
    deal: &Record,
    stage: Id,
) -> Result<(), StoreError> {
    use hamkor_domain::objects::TASK;
    for step in script(tx, stage).await?.steps {
        let Some(days) = step.task_days else {
            continue;
        };
        let due =
            Timestamp::from_datetime(Timestamp::now().0 + chrono::Duration::days(days.max(0)));
        let mut input = RecordInput::default();
        input.fields.insert(
            "title".into(),
            json!(step.text.chars().take(200).collect::<String>()),
        );
        input.fields.insert("status".into(), json!("open"));
        input.fields.insert(
            "priority".into(),
            json!(if step.required { "high" } else { "normal" }),
        );
        input
            .fields
            .insert("due_at".into(), json!(due.to_rfc3339()));
        input.fields.insert(
            "related".into(),
            json!({"type": "deal", "id": deal.id.to_string()}),
        );
        let id = Id::new();
        crate::records::insert_row(tx, &TASK, id, &input, deal.owner_id, actor.user_id, actor)
            .await?;
        let task = crate::records::get_unscoped(tx, actor, &TASK, id).await?;
        crate::reminders::sync_task(tx, &task).await?;
    }
    Ok(())
}

/// A product's rules: a VAT rate of at most 100 %, a currency with a price (UZS unless
/// given), active unless said otherwise.
pub fn prepare_product(
    current: Option<&Record>,
    input: &mut RecordInput,
) -> Result<(), StoreError> {
    let mut errors = ValidationErrors::default();
    if let Some(v) = input.fields.get("vat_rate").and_then(Value::as_str)
        && hamkor_domain::custom::parse_money_minor(v).is_some_and(|bp| bp > 10_000)
    {
        errors.push(FieldError::new("vat_rate", "error-vat-rate").with("max", 100));
    }
    if current.is_none() && input.fields.get("active").is_none_or(Value::is_null) {
        input.fields.insert("active".into(), json!(true));
    }
    if input.fields.get("price").is_some_and(|v| !v.is_null())
        && text(input, current, "currency").is_none()
    {
        input.fields.insert("currency".into(), json!("UZS"));
    }
    if let Some(code) = input.fields.get("code").and_then(Value::as_str)
        && code.chars().any(char::is_whitespace)
    {
        errors.push(FieldError::new("code", "error-product-code"));
    }
    errors.into_result().map_err(StoreError::Invalid)
}

/// One stored line of a deal.
#[derive(Debug, Clone, Serialize)]
pub struct Line {
    pub product_id: Option<Id>,
    pub name: String,
    pub unit: Option<String>,
    /// Thousandths.
    pub quantity: i64,
    pub unit_price: i64,
    pub discount_bp: Option<i64>,
    pub discount_amount: Option<i64>,
    pub vat_rate_bp: i64,
    pub gross: i64,
    pub discount: i64,
    pub net: i64,
    pub vat: i64,
    pub total: i64,
}

/// What has lines: a deal (its products) or a sales document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineOwner {
    Deal,
    Document,
}

impl LineOwner {
    /// (lines table, its column naming the owner, the owner's table)
    fn tables(self) -> (&'static str, &'static str, &'static str) {
        match self {
            LineOwner::Deal => ("deal_lines", "deal_id", "deals"),
            LineOwner::Document => ("document_lines", "document_id", "documents"),
        }
    }
}

/// Replaces the lines of a deal or document (checked by the caller) for an actor who may
/// change the record; a document's lines only while it is a draft. The record is locked
/// until the transaction ends.
pub async fn set_lines(
    tx: &mut impl Exec,
    actor: &Actor,
    owner: LineOwner,
    id: Id,
    vat_included: bool,
    lines: &[Line],
) -> Result<(), StoreError> {
    let def = match owner {
        LineOwner::Deal => &hamkor_domain::objects::DEAL,
        LineOwner::Document => &hamkor_domain::objects::DOCUMENT,
    };
    let record = crate::records::get_for_update(tx, actor, def, id).await?;
    if !record.allows(actor, hamkor_domain::Action::Write) {
        return Err(StoreError::Forbidden);
    }
    if owner == LineOwner::Document && record.text("status") != "draft" {
        return Err(FieldError::new("lines", "error-document-locked").into());
    }
    let (table, column, parent) = owner.tables();
    let mut del = Sql::new("DELETE FROM ");
    del.push_ident(table)
        .push(" WHERE ")
        .push_ident(column)
        .push(" = ")
        .bind(id);
    tx.execute(&del).await?;
    let mut up = Sql::new("UPDATE ");
    up.push_ident(parent)
        .push(" SET vat_included = ")
        .bind(vat_included)
        .push(" WHERE id = ")
        .bind(id);
    tx.execute(&up).await?;
    for (i, l) in lines.iter().enumerate() {
        let mut ins = Sql::new("INSERT INTO ");
        ins.push_ident(table)
            .push(" (id, ")
            .push_ident(column)
            .push(
                ", position, product_id, name, unit, quantity, unit_price, \
                 discount_bp, discount_amount, vat_rate_bp, gross, discount, net, vat, total) VALUES (",
            )
            .bind(Id::new());
        for a in [
            crate::db::Arg::from(id),
            crate::db::Arg::from(i as i64),
            crate::db::Arg::Id(l.product_id),
            crate::db::Arg::from(l.name.clone()),
            crate::db::Arg::from(l.unit.clone()),
            crate::db::Arg::from(l.quantity),
            crate::db::Arg::from(l.unit_price),
            crate::db::Arg::Int(l.discount_bp),
            crate::db::Arg::Int(l.discount_amount),
            crate::db::Arg::from(l.vat_rate_bp),
            crate::db::Arg::from(l.gross),
            crate::db::Arg::from(l.discount),
            crate::db::Arg::from(l.net),
            crate::db::Arg::from(l.vat),
            crate::db::Arg::from(l.total),
        ] {
            ins.push(", ").bind(a);
        }
        ins.push(")");
        tx.execute(&ins).await?;
    }
    Ok(())
}

/// The lines of a deal or document in order, and whether their prices include VAT.
pub async fn lines(
    ex: &mut impl Exec,
    owner: LineOwner,
    id: Id,
) -> Result<(bool, Vec<Line>), StoreError> {
    let (table, column, parent) = owner.tables();
    let mut q = Sql::new("SELECT vat_included FROM ");
    q.push_ident(parent).push(" WHERE id = ").bind(id);
    let vat_included = ex
        .fetch_optional(&q)
        .await?
        .map(|r| r.opt_bool("vat_included"))
        .transpose()?
        .flatten()
        .unwrap_or(false);
    let mut q = Sql::new(
        "SELECT product_id, name, unit, quantity, unit_price, discount_bp, discount_amount, vat_rate_bp, \
         gross, discount, net, vat, total FROM ",
    );
    q.push_ident(table)
        .push(" WHERE ")
        .push_ident(column)
        .push(" = ")
        .bind(id)
        .push(" ORDER BY position");
    let rows = ex.fetch_all(&q).await?;
    let lines = rows
        .iter()
        .map(|r| {
            Ok(Line {
                product_id: r.id("product_id")?,
                name: r.req_text("name")?,
                unit: r.text("unit")?,
                quantity: r.req_int("quantity")?,
                unit_price: r.req_int("unit_price")?,
                discount_bp: r.int("discount_bp")?,
                discount_amount: r.int("discount_amount")?,
                vat_rate_bp: r.req_int("vat_rate_bp")?,
                gross: r.req_int("gross")?,
                discount: r.req_int("discount")?,
                net: r.req_int("net")?,
                vat: r.req_int("vat")?,
                total: r.req_int("total")?,
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    Ok((vat_included, lines))
}

/// A price list.
#[derive(Debug, Clone, Serialize)]
pub struct PriceList {
    pub id: Id,
    pub name: String,
    pub currency: String,
    pub valid_from: Option<chrono::NaiveDate>,
    pub valid_to: Option<chrono::NaiveDate>,
    pub active: bool,
    /// (product, price in minor units)
    pub items: Vec<(Id, i64)>,
}

/// Every price list, newest validity first, with its items.
pub async fn price_lists(ex: &mut impl Exec) -> Result<Vec<PriceList>, StoreError> {
    let rows = ex
        .fetch_all(&Sql::new(
            "SELECT id, name, currency, valid_from, valid_to, active FROM price_lists \
             ORDER BY active DESC, valid_from IS NULL, valid_from DESC, name",
        ))
        .await?;
    let mut out = Vec::new();
    for r in rows {
        out.push(PriceList {
            id: r.req_id("id")?,
            name: r.req_text("name")?,
            currency: r.req_text("currency")?,
            valid_from: r.date("valid_from")?,
            valid_to: r.date("valid_to")?,
            active: r.bool("active")?,
            items: Vec::new(),
        });
    }
    for r in ex
        .fetch_all(&Sql::new(
            "SELECT price_list_id, product_id, price FROM price_list_items ORDER BY price_list_id, product_id",
        ))
        .await?
    {
        let list = r.req_id("price_list_id")?;
        if let Some(l) = out.iter_mut().find(|l| l.id == list) {
            l.items.push((r.req_id("product_id")?, r.req_int("price")?));
        }
    }
    Ok(out)
}

/// Creates a price list and its items (checked by the caller).
pub async fn create_price_list(
    tx: &mut impl Exec,
    name: &str,
    currency: &str,
    valid_from: Option<chrono::NaiveDate>,
    valid_to: Option<chrono::NaiveDate>,
    items: &[(Id, i64)],
) -> Result<Id, StoreError> {
    let id = Id::new();
    let now = Timestamp::now();
    tx.execute(
        &Sql::new(
            "INSERT INTO price_lists (id, name, currency, valid_from, valid_to, active, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .arg(id)
        .arg(name.to_string())
        .arg(currency.to_string())
        .arg(crate::db::Arg::Date(valid_from))
        .arg(crate::db::Arg::Date(valid_to))
        .arg(true)
        .arg(now)
        .arg(now),
    )
    .await?;
    for (product, price) in items {
        tx.execute(
            &Sql::new(
                "INSERT INTO price_list_items (price_list_id, product_id, price) VALUES ($1, $2, $3)",
            )
            .arg(id)
            .arg(*product)
            .arg(*price),
        )
        .await?;
    }
    Ok(id)
}

/// A product's price on `date` in `currency` from the active price list valid then (the
/// one that started latest, when several are).
pub async fn list_price(
    ex: &mut impl Exec,
    product: Id,
    currency: &str,
    date: chrono::NaiveDate,
) -> Result<Option<i64>, StoreError> {
    ex.fetch_optional(
        &Sql::new(
            "SELECT i.price FROM price_list_items i JOIN price_lists l ON l.id = i.price_list_id \
             WHERE i.product_id = $1 AND l.currency = $2 AND l.active = $3 \
             AND (l.valid_from IS NULL OR l.valid_from <= $4) AND (l.valid_to IS NULL OR l.valid_to >= $4) \
             ORDER BY l.valid_from IS NULL, l.valid_from DESC LIMIT 1",
        )
        .arg(product)
        .arg(currency.to_string())
        .arg(true)
        .arg(crate::db::Arg::Date(Some(date))),
    )
    .await?
    .map(|r| r.req_int("price"))
    .transpose()
}

/// Which deals a funnel counts, besides the actor's scope and the pipeline.
#[derive(Debug, Clone, Copy, Default)]
pub struct FunnelFilter {
    /// One salesperson's deals.
    pub owner: Option<Id>,
    /// The deals of a team's members.
    pub team: Option<Id>,
    /// Deals with a line of this product.
    pub product: Option<Id>,
}

/// Appends the filter to a query over `deals t` (`deal` = `t.id`) or over `deal_stages t`
/// (`deal` = `t.deal_id`), whose `owner_id` is the deal's in both.
fn push_funnel_filter(sql: &mut Sql, f: &FunnelFilter, deal: &'static str) {
    if let Some(o) = f.owner {
        sql.push(" AND t.owner_id = ").bind(o);
    }
    if let Some(team) = f.team {
        sql.push(" AND t.owner_id IN (SELECT id FROM users WHERE team_id = ")
            .bind(team)
            .push(")");
    }
    if let Some(p) = f.product {
        sql.push(" AND EXISTS (SELECT 1 FROM deal_lines l WHERE l.deal_id = ")
            .push_ident(deal)
            .push(" AND l.product_id = ")
            .bind(p)
            .push(")");
    }
}

/// The distinct values of `expr` in the rows of `table t` that `cond` picks, one index seek
/// each (a loose index scan): for an index that starts with the columns `cond` fixes and
/// then `expr`. A handful of seeks instead of reading every row to group them.
async fn distinct_values(
    ex: &mut impl Exec,
    table: &'static str,
    expr: &'static str,
    cond: impl Fn(&mut Sql),
) -> Result<Vec<String>, StoreError> {
    let mut sql = Sql::new("WITH RECURSIVE v(x) AS (SELECT MIN(");
    sql.push(expr)
        .push(") FROM ")
        .push_ident(table)
        .push(" t WHERE ");
    cond(&mut sql);
    sql.push(" UNION ALL SELECT (SELECT MIN(")
        .push(expr)
        .push(") FROM ")
        .push_ident(table)
        .push(" t WHERE ");
    cond(&mut sql);
    sql.push(" AND ")
        .push(expr)
        .push(" > v.x) FROM v WHERE v.x IS NOT NULL) SELECT x FROM v WHERE x IS NOT NULL");
    ex.fetch_all(&sql)
        .await?
        .iter()
        .map(|r| r.req_text("x"))
        .collect()
}

/// The deals that entered one stage in a period (each once, however often it came back),
/// over the deals of its pipeline the actor may see.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Entered {
    pub deals: i64,
    /// Their amounts per currency (minor units), by currency code.
    pub amounts: Vec<(String, i64)>,
    /// Of them, those that reached a later stage before the period ended, or were won.
    pub went_on: i64,
}

/// The owners of the visits a funnel reads, as ranges of the indexes `deal_stages_entered`
/// and `deal_stages_left`, which have the owner right after the columns the query fixes:
/// a salesperson's funnel reads their visits alone, a head's their team's.
fn push_owner_seek(sql: &mut Sql, actor: &Actor) {
    crate::access::push_owner_seek(
        sql,
        actor,
        hamkor_domain::ObjectType::Deal,
        hamkor_domain::Action::Read,
        "t.owner_id",
    );
}

/// [`Entered`] for `stage` between `from` and `to`, read from the index
/// `deal_stages_entered` (migration 0022): one query per currency of the stage's visits,
/// each one range per owner, so nothing is grouped row by row.
pub async fn funnel_entered(
    ex: &mut impl Exec,
    actor: &Actor,
    stage: Id,
    filter: &FunnelFilter,
    from: Timestamp,
    to: Timestamp,
) -> Result<Entered, StoreError> {
    use hamkor_domain::objects::DEAL;
    let currencies = distinct_values(ex, "deal_stages", "COALESCE(t.currency, '')", |sql| {
        sql.push("t.stage_id = ")
            .bind(stage)
            .push(" AND t.live = ")
            .bind(true);
    })
    .await?;
    let mut out = Entered::default();
    for currency in currencies {
        // Went on: reached a later stage before the end (most that did so went on), or won.
        let mut sql = Sql::new(
            "SELECT COUNT(*) AS n, CAST(SUM(t.amount) AS BIGINT) AS total, \
             COUNT(CASE WHEN t.further_us < ",
        );
        sql.bind(micros(to))
            .push(" OR t.status = 'won' THEN 1 END) AS went_on FROM deal_stages t WHERE t.stage_id = ")
            .bind(stage)
            .push(" AND t.live = ")
            .bind(true)
            .push(" AND COALESCE(t.currency, '') = ")
            .bind(currency.clone())
            .push(" AND t.entered_us >= ")
            .bind(micros(from))
            .push(" AND t.entered_us < ")
            .bind(micros(to))
            // The first time in the period it entered the stage.
            .push(" AND (t.prev_entered_us IS NULL OR t.prev_entered_us < ")
            .bind(micros(from))
            .push(")");
        push_funnel_filter(&mut sql, filter, "t.deal_id");
        crate::records::push_read_scope_as(&mut sql, actor, &DEAL, "t.deal_id");
        push_owner_seek(&mut sql, actor);
        let r = ex.fetch_optional(&sql).await?.ok_or(StoreError::NotFound)?;
        let n = r.req_int("n")?;
        if n == 0 {
            continue;
        }
        out.deals += n;
        out.went_on += r.req_int("went_on")?;
        if let (false, Some(total)) = (currency.is_empty(), r.int("total")?) {
            out.amounts.push((currency, total));
        }
    }
    out.amounts.sort();
    Ok(out)
}

/// The visits of `stage` that ended between `from` and `to` (of deals of its pipeline the
/// actor may see): how many, and their whole seconds in the stage together.
pub async fn funnel_left(
    ex: &mut impl Exec,
    actor: &Actor,
    stage: Id,
    filter: &FunnelFilter,
    from: Timestamp,
    to: Timestamp,
) -> Result<(i64, i64), StoreError> {
    use hamkor_domain::objects::DEAL;
    // Integer division truncates towards zero on both engines, as whole seconds of a
    // duration do.
    let mut sql = Sql::new(
        "SELECT COUNT(*) AS n, CAST(COALESCE(SUM((t.left_us - t.entered_us) / 1000000), 0) AS BIGINT) AS secs \
         FROM deal_stages t WHERE t.stage_id = ",
    );
    sql.bind(stage)
        .push(" AND t.live = ")
        .bind(true)
        .push(" AND t.left_us >= ")
        .bind(micros(from))
        .push(" AND t.left_us < ")
        .bind(micros(to))
        .push(" AND t.entered_us < ")
        .bind(micros(to));
    push_funnel_filter(&mut sql, filter, "t.deal_id");
    crate::records::push_read_scope_as(&mut sql, actor, &DEAL, "t.deal_id");
    push_owner_seek(&mut sql, actor);
    let r = ex.fetch_optional(&sql).await?.ok_or(StoreError::NotFound)?;
    Ok((r.req_int("n")?, r.req_int("secs")?))
}

/// The deals of a pipeline (that the actor may see) closed between `from` and `to`: how
/// many were won, how many lost, and the lost ones per reason (`""` for none), by reason.
pub async fn funnel_closed(
    ex: &mut impl Exec,
    actor: &Actor,
    pipeline: Id,
    filter: &FunnelFilter,
    from: Timestamp,
    to: Timestamp,
) -> Result<(i64, i64, Vec<(String, i64)>), StoreError> {
    use hamkor_domain::objects::DEAL;
    let (mut won, mut lost, mut reasons) = (0, 0, Vec::new());
    for status in ["won", "lost"] {
        // The index `deals_closed` is ordered by reason within a status: the reasons
        // first, then a range of closing times per reason.
        let values = distinct_values(ex, "deals", "COALESCE(t.lost_reason, '')", |sql| {
            sql.push("t.pipeline_id = ")
                .bind(pipeline)
                .push(" AND t.status = ")
                .bind(status)
                .push(" AND t.closed_at IS NOT NULL");
        })
        .await?;
        if values.is_empty() {
            continue;
        }
        let mut sql = Sql::new(
            "SELECT COALESCE(t.lost_reason, '') AS reason, COUNT(*) AS n FROM deals t WHERE t.pipeline_id = ",
        );
        sql.bind(pipeline)
            .push(" AND t.status = ")
            .bind(status)
            .push(" AND COALESCE(t.lost_reason, '') IN (");
        for (i, v) in values.into_iter().enumerate() {
            if i > 0 {
                sql.push(", ");
            }
            sql.bind(v);
        }
        sql.push(") AND t.closed_at >= ")
            .bind(from)
            .push(" AND t.closed_at < ")
            .bind(to)
            .push(" AND t.deleted_at IS NULL");
        push_funnel_filter(&mut sql, filter, "t.id");
        crate::records::push_read_scope(&mut sql, actor, &DEAL);
        sql.push(" GROUP BY COALESCE(t.lost_reason, '')");
        for r in ex.fetch_all(&sql).await? {
            let n = r.req_int("n")?;
            if status == "won" {
                won += n;
            } else {
                lost += n;
                reasons.push((r.req_text("reason")?, n));
            }
        }
    }
    Ok((won, lost, reasons))
}

/// A pipeline's open deals (that the actor may see) with an amount, a currency and an
/// expected close: per close day and currency, the amounts weighted by probability, each
/// rounded half up to a minor unit, added up.
pub async fn funnel_forecast(
    ex: &mut impl Exec,
    actor: &Actor,
    pipeline: Id,
    filter: &FunnelFilter,
) -> Result<Vec<(chrono::NaiveDate, String, i64)>, StoreError> {
    use hamkor_domain::objects::DEAL;
    // (a × p + 50) / 100 without overflowing for any amount: a = 100q + r gives
    // q × p + (r × p + 50) / 100, exactly, for a, p ≥ 0 (probability is 0–100).
    let mut sql = Sql::new(
        "SELECT t.expected_close, t.currency, CAST(SUM((t.amount / 100) * COALESCE(t.probability, 0) \
         + ((t.amount % 100) * COALESCE(t.probability, 0) + 50) / 100) AS BIGINT) AS weighted \
         FROM deals t WHERE t.pipeline_id = ",
    );
    // The partial index `deals_forecast` answers this: its condition is repeated word for
    // word, and its order is the grouping's.
    sql.bind(pipeline).push(
        " AND t.status = 'open' AND t.deleted_at IS NULL AND t.expected_close IS NOT NULL \
         AND t.amount IS NOT NULL AND t.currency IS NOT NULL",
    );
    push_funnel_filter(&mut sql, filter, "t.id");
    crate::records::push_read_scope(&mut sql, actor, &DEAL);
    sql.push(" GROUP BY t.expected_close, t.currency");
    ex.fetch_all(&sql)
        .await?
        .iter()
        .map(|r| {
            Ok((
                r.date("expected_close")?.ok_or(StoreError::NotFound)?,
                r.req_text("currency")?,
                r.req_int("weighted")?,
            ))
        })
        .collect()
}
