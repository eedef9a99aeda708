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
        let mut columns = sales::board(&mut db, actor, &chosen, limit).await?;
        if actor.hides(ObjectType::Deal, "amount") {
            // The deals' amounts are hidden from the role (the cards come without them).
            for c in &mut columns {
                c.sums.clear();
            }
        }
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
        sales::set_step_done(&mut tx, actor, deal, step, done).await?;
        tx.commit().await?;
        self.deal_script(actor, deal).await
    }
}

/// A line of a deal as a user sends it: a product from the catalog (which fills the name,
/// unit, price and VAT rate not given) or free text.
#[derive(Debug, Clone, Default)]
pub struct LineRequest {
    pub product_id: Option<Id>,
    pub name: Option<String>,
    pub unit: Option<String>,
    pub quantity: String,
    pub unit_price: Option<String>,
    /// `"7.5%"` or a fixed amount for the line (`"1000"`).
    pub discount: Option<String>,
    /// A percentage (`"12"`).
    pub vat_rate: Option<String>,
}

/// A deal's lines with their computed amounts and the totals.
#[derive(Debug, Clone)]
pub struct DealLines {
    pub currency: &'static hamkor_domain::money::Currency,
    pub vat_included: bool,
    pub lines: Vec<hamkor_store::sales::Line>,
    pub totals: hamkor_domain::money::DocumentTotals,
}

impl App {
    /// A deal's lines and totals.
    pub async fn deal_lines(&self, actor: &Actor, deal: Id) -> AppResult<DealLines> {
        self.record_lines(actor, &DEAL, deal).await
    }

    /// The lines and totals of a deal or a sales document.
    pub async fn record_lines(
        &self,
        actor: &Actor,
        def: &'static hamkor_domain::objects::ObjectDef,
        id: Id,
    ) -> AppResult<DealLines> {
        use hamkor_domain::money::{self, Discount, LineInput, Quantity, VatMode};
        let mut db = self.db.clone();
        let d = records::get(&mut db, actor, def, id).await?;
        let currency = record_currency(&d);
        let (vat_included, lines) = sales::lines(&mut db, line_owner(def), id).await?;
        let inputs: Vec<LineInput> = lines
            .iter()
            .map(|l| LineInput {
                quantity: Quantity(l.quantity),
                unit_price: l.unit_price,
                discount: match (l.discount_bp, l.discount_amount) {
                    (Some(bp), _) => Discount::Percent(bp as u32),
                    (_, Some(a)) => Discount::Amount(a),
                    _ => Discount::None,
                },
                vat_rate_bp: l.vat_rate_bp as u32,
            })
            .collect();
        let mode = if vat_included {
            VatMode::Included
        } else {
            VatMode::Excluded
        };
        let (_, totals) = money::document_totals(&inputs, mode, currency)?;
        Ok(DealLines {
            currency,
            vat_included,
            lines,
            totals,
        })
    }

    /// Replaces a deal's lines, computes them exactly and makes their total the deal's
    /// amount, all in one transaction; any bad line refuses the whole change.
    pub async fn set_deal_lines(
        &self,
        actor: &Actor,
        deal: Id,
        vat_included: bool,
        requests: &[LineRequest],
    ) -> AppResult<DealLines> {
        self.set_record_lines(actor, &DEAL, deal, vat_included, requests)
            .await
    }

    /// Replaces the lines of a deal or a draft document, computes them exactly and keeps
    /// their totals on the record (a deal's amount; a document's net, VAT and total), all
    /// in one transaction; any bad line refuses the whole change.
    pub async fn set_record_lines(
        &self,
        actor: &Actor,
        def: &'static hamkor_domain::objects::ObjectDef,
        deal: Id,
        vat_included: bool,
        requests: &[LineRequest],
    ) -> AppResult<DealLines> {
        use hamkor_domain::money::{self, Discount, LineInput, Quantity, VatMode};
        use hamkor_domain::objects::PRODUCT;
        use serde_json::Value;
        let mut db = self.db.clone();
        let d = records::get(&mut db, actor, def, deal).await?;
        if !d.allows(actor, Action::Write) {
            return Err(AppError::Forbidden);
        }
        let currency = record_currency(&d);
        let mut errors = ValidationErrors::default();
        if requests.len() > money::MAX_LINES {
            errors.push(FieldError::new("lines", "error-too-many").with("max", money::MAX_LINES));
            return Err(errors.into());
        }
        let mut stored = Vec::new();
        let mut inputs = Vec::new();
        for (i, r) in requests.iter().enumerate() {
            let field = |f: &str| format!("lines[{i}].{f}");
            let product = match r.product_id {
                Some(p) => match records::get(&mut db, actor, &PRODUCT, p).await {
                    Ok(p) => Some(p),
                    Err(_) => {
                        errors.push(FieldError::new(field("product_id"), "error-unknown-record"));
                        None
                    }
                },
                None => None,
            };
            let from_product = |k: &str| {
                product
                    .as_ref()
                    .and_then(|p| p.fields.get(k))
                    .and_then(Value::as_str)
                    .map(str::to_string)
            };
            let name = r
                .name
                .clone()
                .map(|n| n.trim().to_string())
                .filter(|n| !n.is_empty())
                .or_else(|| from_product("name"));
            match &name {
                None => errors.push(FieldError::new(field("name"), "error-required")),
                Some(n) if n.chars().count() > 300 => {
                    errors.push(FieldError::new(field("name"), "error-too-long").with("max", 300))
                }
                Some(n) if n.chars().any(char::is_control) => {
                    errors.push(FieldError::new(field("name"), "error-control-chars"))
                }
                _ => {}
            }
            let quantity = Quantity::parse(&r.quantity, &field("quantity"));
            // A product's price: the price list valid today in the deal's currency, else
            // the catalog's price when it is in that currency.
            let listed = match (&r.unit_price, r.product_id, &product) {
                (None, Some(p), Some(_)) => {
                    sales::list_price(&mut db, p, currency.code, chrono::Utc::now().date_naive())
                        .await?
                }
                _ => None,
            };
            let price_text = match &r.unit_price {
                None if listed.is_some() => None,
                Some(p) => Some(p.clone()),
                None => match from_product("price") {
                    Some(p) if from_product("currency").as_deref() == Some(currency.code) => {
                        Some(p)
                    }
                    Some(_) => {
                        errors.push(FieldError::new(field("unit_price"), "error-price-currency"));
                        None
                    }
                    None => {
                        errors.push(FieldError::new(field("unit_price"), "error-required"));
                        None
                    }
                },
            };
            let price = match listed {
                Some(minor) => Some(Ok(minor)),
                None => price_text.map(|p| money::parse_amount(&p, currency, &field("unit_price"))),
            };
            let discount =
                match r
                    .discount
                    .as_deref()
                    .map(str::trim)
                    .filter(|x| !x.is_empty())
                {
                    None => Ok(Discount::None),
                    Some(x) => match x.strip_suffix('%') {
                        Some(pct) => money::parse_percent(pct.trim(), &field("discount"))
                            .map(Discount::Percent),
                        None => money::parse_amount(x, currency, &field("discount"))
                            .map(Discount::Amount),
                    },
                };
            let vat = match r.vat_rate.clone().or_else(|| from_product("vat_rate")) {
                Some(v) => money::parse_percent(v.trim().trim_end_matches('%'), &field("vat_rate")),
                None => Ok(0),
            };
            match (quantity, price, discount, vat) {
                (Ok(q), Some(Ok(p)), Ok(disc), Ok(v)) => {
                    inputs.push(LineInput {
                        quantity: q,
                        unit_price: p,
                        discount: disc,
                        vat_rate_bp: v,
                    });
                    stored.push((
                        name.clone().unwrap_or_default(),
                        r,
                        product.as_ref().map(|p| p.id),
                        disc,
                        from_product("unit"),
                    ));
                }
                (q, p, disc, v) => {
                    for e in [q.err(), p.and_then(Result::err), disc.err(), v.err()]
                        .into_iter()
                        .flatten()
                    {
                        errors.push(e);
                    }
                }
            }
        }
        errors.into_result()?;
        let mode = if vat_included {
            VatMode::Included
        } else {
            VatMode::Excluded
        };
        let (line_totals, totals) = money::document_totals(&inputs, mode, currency)?;
        let lines: Vec<sales::Line> = stored
            .iter()
            .zip(inputs.iter().zip(line_totals.iter()))
            .map(|((name, r, product, disc, unit), (input, t))| sales::Line {
                product_id: *product,
                name: name.clone(),
                unit: r
                    .unit
                    .clone()
                    .filter(|u| !u.trim().is_empty())
                    .or_else(|| unit.clone()),
                quantity: input.quantity.0,
                unit_price: input.unit_price,
                discount_bp: match disc {
                    Discount::Percent(bp) => Some(i64::from(*bp)),
                    _ => None,
                },
                discount_amount: match disc {
                    Discount::Amount(a) => Some(*a),
                    _ => None,
                },
                vat_rate_bp: i64::from(input.vat_rate_bp),
                gross: t.gross,
                discount: t.discount,
                net: t.net,
                vat: t.vat,
                total: t.total,
            })
            .collect();
        let customs = self.custom_fields(def.object).await?;
        let mut tx = self.db.begin().await?;
        sales::set_lines(&mut tx, actor, line_owner(def), deal, vat_included, &lines).await?;
        let amount =
            |minor: i64| serde_json::json!(money::format_amount(minor, currency.minor_digits));
        let mut input = hamkor_domain::input::RecordInput::default();
        if def.object == ObjectType::Document {
            input.fields.insert("net_total".into(), amount(totals.net));
            input.fields.insert("vat_total".into(), amount(totals.vat));
            input.fields.insert("total".into(), amount(totals.total));
            input
                .fields
                .insert("vat_included".into(), serde_json::json!(vat_included));
        } else if !lines.is_empty() {
            input.fields.insert("amount".into(), amount(totals.total));
        }
        if !input.fields.is_empty() {
            input
                .fields
                .insert("currency".into(), serde_json::json!(currency.code));
            records::update(&mut tx, actor, def, deal, input, &customs, None).await?;
        }
        tx.commit().await?;
        self.record_lines(actor, def, deal).await
    }
}

/// Where the lines of records of this kind are kept.
fn line_owner(def: &hamkor_domain::objects::ObjectDef) -> sales::LineOwner {
    if def.object == ObjectType::Document {
        sales::LineOwner::Document
    } else {
        sales::LineOwner::Deal
    }
}

/// The currency of a deal's or document's amounts (UZS when it has none).
pub fn record_currency(
    d: &hamkor_store::records::Record,
) -> &'static hamkor_domain::money::Currency {
    d.fields
        .get("currency")
        .and_then(serde_json::Value::as_str)
        .and_then(hamkor_domain::money::currency)
        .or_else(|| hamkor_domain::money::currency("UZS"))
        .expect("UZS is a known currency")
}

/// A price list as an administrator or head sends it.
#[derive(Debug, Clone, Default)]
pub struct PriceListRequest {
    pub name: String,
    pub currency: String,
    pub valid_from: Option<String>,
    pub valid_to: Option<String>,
    /// (product, price as text)
    pub items: Vec<(Option<Id>, String)>,
}

impl App {
    /// Every price list.
    pub async fn price_lists(&self) -> AppResult<Vec<sales::PriceList>> {
        let mut db = self.db.clone();
        Ok(sales::price_lists(&mut db).await?)
    }

    /// Creates a price list with its prices (heads and administrators, who keep the
    /// catalog).
    pub async fn create_price_list(
        &self,
        actor: &Actor,
        req: &PriceListRequest,
    ) -> AppResult<sales::PriceList> {
        use hamkor_domain::money;
        use hamkor_domain::objects::PRODUCT;
        if actor.scope(ObjectType::Product, Action::Write) == Scope::None {
            return Err(AppError::Forbidden);
        }
        let mut errors = ValidationErrors::default();
        let name = req.name.trim();
        if name.is_empty() {
            errors.push(FieldError::new("name", "error-required"));
        } else if name.chars().count() > 100 || name.chars().any(char::is_control) {
            errors.push(FieldError::new("name", "error-too-long").with("max", 100));
        }
        let currency = money::parse_currency(&req.currency, "currency");
        let date = |v: &Option<String>, f: &'static str, errors: &mut ValidationErrors| {
            v.as_deref()
                .map(str::trim)
                .filter(|x| !x.is_empty())
                .and_then(|x| match chrono::NaiveDate::parse_from_str(x, "%Y-%m-%d") {
                    Ok(d) => Some(d),
                    Err(_) => {
                        errors.push(FieldError::new(f, "error-type-date"));
                        None
                    }
                })
        };
        let from = date(&req.valid_from, "valid_from", &mut errors);
        let to = date(&req.valid_to, "valid_to", &mut errors);
        if let (Some(f), Some(t)) = (from, to)
            && t < f
        {
            errors.push(FieldError::new("valid_to", "error-end-before-start"));
        }
        if req.items.len() > 10_000 {
            errors.push(FieldError::new("items", "error-too-many").with("max", 10_000));
        }
        let mut items: Vec<(Id, i64)> = Vec::new();
        let mut db = self.db.clone();
        match &currency {
            Err(e) => errors.push(e.clone()),
            Ok(cur) => {
                for (i, (product, price)) in req.items.iter().enumerate() {
                    let Some(p) = product else {
                        errors.push(FieldError::new(
                            format!("items[{i}].product_id"),
                            "error-required",
                        ));
                        continue;
                    };
                    if records::get(&mut db, actor, &PRODUCT, *p).await.is_err() {
                        errors.push(FieldError::new(
                            format!("items[{i}].product_id"),
                            "error-unknown-record",
                        ));
                        continue;
                    }
                    if items.iter().any(|(x, _)| x == p) {
                        errors.push(FieldError::new(
                            format!("items[{i}].product_id"),
                            "error-product-twice",
                        ));
                        continue;
                    }
                    match money::parse_amount(price, cur, &format!("items[{i}].price")) {
                        Ok(minor) if minor < 0 => errors.push(FieldError::new(
                            format!("items[{i}].price"),
                            "error-negative",
                        )),
                        Ok(minor) => items.push((*p, minor)),
                        Err(e) => errors.push(e),
                    }
                }
            }
        }
        errors.into_result()?;
        let code = currency.map(|c| c.code).unwrap_or("UZS");
        let mut tx = self.db.begin().await?;
        let id = sales::create_price_list(&mut tx, name, code, from, to, &items).await?;
        tx.commit().await?;
        self.price_lists()
            .await?
            .into_iter()
            .find(|l| l.id == id)
            .ok_or(AppError::NotFound)
    }
}

/// One stage of the funnel.
#[derive(Debug, Clone, serde::Serialize)]
pub struct FunnelStage {
    pub stage_id: Id,
    pub name: String,
    /// Deals that entered the stage in the period.
    pub entered: i64,
    /// Their amounts per currency (minor units).
    pub amounts: Vec<(String, i64)>,
    /// Of those, how many went on to a later stage (at any time), in percent.
    pub conversion: Option<f64>,
    /// The average time a deal spent in the stage, for visits that ended in the period.
    pub avg_days: Option<f64>,
}

/// The funnel of a pipeline for a period, and its forecast.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Funnel {
    pub pipeline_id: Id,
    pub stages: Vec<FunnelStage>,
    pub won: i64,
    pub lost: i64,
    /// Won out of closed in the period, in percent.
    pub win_rate: Option<f64>,
    /// Why deals closed in the period were lost, most frequent first.
    pub lost_reasons: Vec<(String, i64)>,
    /// Open deals by expected close month: (`YYYY-MM`, currency, weighted amount in minor
    /// units = amount × probability).
    pub forecast: Vec<(String, String, i64)>,
}

impl App {
    /// The funnel of a pipeline between two moments, over the deals the actor may see
    /// (optionally one salesperson's, one team's, or those with a product).
    ///
    /// Each part is an aggregate the database computes from an index (migration 0022):
    /// per stage the deals that entered it and the visits that ended, the deals closed,
    /// the forecast. They run at the same time, each on a connection of its own.
    pub async fn funnel(
        &self,
        actor: &Actor,
        pipeline: Option<Id>,
        filter: &sales::FunnelFilter,
        from: hamkor_domain::Timestamp,
        to: hamkor_domain::Timestamp,
    ) -> AppResult<Funnel> {
        use futures_util::future::try_join_all;
        use std::collections::{BTreeMap, HashMap};
        if actor.scope(ObjectType::Deal, Action::Read) == Scope::None {
            return Err(AppError::Forbidden);
        }
        if to <= from {
            return Err(FieldError::new("to", "error-end-before-start").into());
        }
        let all = self.pipelines().await?;
        let p = match pipeline {
            Some(id) => all.into_iter().find(|p| p.id == id),
            None => all.into_iter().find(|p| p.active),
        }
        .ok_or(AppError::NotFound)?;
        let entered = try_join_all(p.stages.iter().map(|s| {
            let mut db = self.db.clone();
            async move { sales::funnel_entered(&mut db, actor, s.id, filter, from, to).await }
        }));
        let left = try_join_all(p.stages.iter().map(|s| {
            let mut db = self.db.clone();
            async move { sales::funnel_left(&mut db, actor, s.id, filter, from, to).await }
        }));
        let (mut db1, mut db2) = (self.db.clone(), self.db.clone());
        let closed = sales::funnel_closed(&mut db1, actor, p.id, filter, from, to);
        let forecast = sales::funnel_forecast(&mut db2, actor, p.id, filter);
        let (entered, left, (won, lost, reasons), open) =
            tokio::try_join!(entered, left, closed, forecast)?;
        let stages = p
            .stages
            .iter()
            .zip(entered)
            .zip(left)
            .enumerate()
            .map(|(i, ((s, e), (visits, secs)))| FunnelStage {
                stage_id: s.id,
                name: s.name.clone(),
                entered: e.deals,
                amounts: e.amounts,
                conversion: (i + 1 < p.stages.len() && e.deals > 0)
                    .then(|| (e.went_on as f64 * 1000.0 / e.deals as f64).round() / 10.0),
                avg_days: (visits > 0)
                    .then(|| (secs as f64 / 86_400.0 / visits as f64 * 10.0).round() / 10.0),
            })
            .collect();
        // No reason and an empty one are the same reason.
        let mut by_reason: HashMap<String, i64> = HashMap::new();
        for (reason, n) in reasons {
            *by_reason.entry(reason).or_default() += n;
        }
        let mut lost_reasons: Vec<(String, i64)> = by_reason.into_iter().collect();
        lost_reasons.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        let mut forecast: BTreeMap<(String, String), i64> = BTreeMap::new();
        for (close, currency, weighted) in open {
            *forecast
                .entry((close.format("%Y-%m").to_string(), currency))
                .or_default() += weighted;
        }
        let mut funnel = Funnel {
            pipeline_id: p.id,
            stages,
            won,
            lost,
            win_rate: (won + lost > 0)
                .then(|| (won as f64 * 1000.0 / (won + lost) as f64).round() / 10.0),
            lost_reasons,
            forecast: forecast.into_iter().map(|((m, c), v)| (m, c, v)).collect(),
        };
        if actor.hides(ObjectType::Deal, "amount") {
            // Amounts hidden from the role are hidden from its reports too.
            for s in &mut funnel.stages {
                s.amounts.clear();
            }
            funnel.forecast.clear();
        }
        Ok(funnel)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generate::{PlanningSizes, Sizes};
    use crate::testing::{fresh, remove};
    use hamkor_domain::Timestamp;
    use hamkor_domain::objects::PRODUCT;
    use hamkor_store::{Exec, Sql};
    use serde_json::json;
    use std::collections::{BTreeMap, HashMap, HashSet};

    /// The filter as the funnel applied it before migration 0022, on `deals t`.
    fn push_filter(sql: &mut Sql, f: &sales::FunnelFilter) {
        if let Some(o) = f.owner {
            sql.push(" AND t.owner_id = ").bind(o);
        }
        if let Some(team) = f.team {
            sql.push(" AND t.owner_id IN (SELECT id FROM users WHERE team_id = ")
                .bind(team)
                .push(")");
        }
        if let Some(p) = f.product {
            sql.push(
                " AND EXISTS (SELECT 1 FROM deal_lines l WHERE l.deal_id = t.id AND l.product_id = ",
            )
            .bind(p)
            .push(")");
        }
    }

    /// The funnel as it was computed before migration 0022: every deal of the pipeline
    /// and every visit of theirs read into memory and counted there. What the aggregates
    /// must still answer, to the digit.
    async fn reference(
        app: &App,
        actor: &Actor,
        p: &Pipeline,
        filter: &sales::FunnelFilter,
        from: Timestamp,
        to: Timestamp,
    ) -> Funnel {
        struct Deal {
            status: String,
            amount: Option<i64>,
            currency: Option<String>,
            probability: Option<i64>,
            expected_close: Option<chrono::NaiveDate>,
            closed_at: Option<Timestamp>,
            lost_reason: Option<String>,
        }
        let mut db = app.db.clone();
        let mut sql = Sql::new(
            "SELECT t.id, t.status, t.amount, t.currency, t.probability, t.expected_close, t.closed_at, t.lost_reason \
             FROM deals t WHERE t.deleted_at IS NULL AND t.pipeline_id = ",
        );
        sql.bind(p.id);
        push_filter(&mut sql, filter);
        records::push_read_scope(&mut sql, actor, &DEAL);
        let mut by_id: HashMap<Id, Deal> = HashMap::new();
        for r in db.fetch_all(&sql).await.unwrap() {
            by_id.insert(
                r.req_id("id").unwrap(),
                Deal {
                    status: r.req_text("status").unwrap(),
                    amount: r.int("amount").unwrap(),
                    currency: r.text("currency").unwrap(),
                    probability: r.int("probability").unwrap(),
                    expected_close: r.date("expected_close").unwrap(),
                    closed_at: r.ts("closed_at").unwrap(),
                    lost_reason: r.text("lost_reason").unwrap(),
                },
            );
        }
        let mut sql = Sql::new(
            "SELECT h.deal_id, h.stage_id, h.entered_at, h.left_at FROM deal_stages h \
             JOIN deals t ON t.id = h.deal_id WHERE t.deleted_at IS NULL AND t.pipeline_id = ",
        );
        sql.bind(p.id).push(" AND h.entered_at < ").bind(to);
        push_filter(&mut sql, filter);
        records::push_read_scope(&mut sql, actor, &DEAL);
        let visits: Vec<(Id, Id, Timestamp, Option<Timestamp>)> = db
            .fetch_all(&sql)
            .await
            .unwrap()
            .iter()
            .map(|r| {
                (
                    r.req_id("deal_id").unwrap(),
                    r.req_id("stage_id").unwrap(),
                    r.req_ts("entered_at").unwrap(),
                    r.ts("left_at").unwrap(),
                )
            })
            .collect();
        let position: HashMap<Id, usize> = p
            .stages
            .iter()
            .enumerate()
            .map(|(i, s)| (s.id, i))
            .collect();
        let mut furthest: HashMap<Id, usize> = HashMap::new();
        for (deal, stage, ..) in &visits {
            if let Some(&i) = position.get(stage) {
                let f = furthest.entry(*deal).or_insert(i);
                *f = (*f).max(i);
            }
        }
        let mut stages = Vec::new();
        for (i, s) in p.stages.iter().enumerate() {
            let here: Vec<_> = visits.iter().filter(|v| v.1 == s.id).collect();
            let entered: HashSet<Id> = here
                .iter()
                .filter(|v| v.2 >= from && v.2 < to)
                .map(|v| v.0)
                .collect();
            let mut amounts: BTreeMap<String, i64> = BTreeMap::new();
            for d in entered.iter().filter_map(|id| by_id.get(id)) {
                if let (Some(a), Some(c)) = (d.amount, &d.currency) {
                    *amounts.entry(c.clone()).or_default() += a;
                }
            }
            let went_on = entered
                .iter()
                .filter(|d| {
                    furthest.get(d).is_some_and(|f| *f > i)
                        || by_id.get(d).is_some_and(|x| x.status == "won")
                })
                .count();
            let durations: Vec<f64> = here
                .iter()
                .filter_map(|v| {
                    let left = v.3?;
                    (left >= from && left < to)
                        .then(|| (left.0 - v.2.0).num_seconds() as f64 / 86_400.0)
                })
                .collect();
            stages.push(FunnelStage {
                stage_id: s.id,
                name: s.name.clone(),
                entered: entered.len() as i64,
                amounts: amounts.into_iter().collect(),
                conversion: (i + 1 < p.stages.len() && !entered.is_empty())
                    .then(|| (went_on as f64 * 1000.0 / entered.len() as f64).round() / 10.0),
                avg_days: (!durations.is_empty()).then(|| {
                    (durations.iter().sum::<f64>() / durations.len() as f64 * 10.0).round() / 10.0
                }),
            });
        }
        let closed: Vec<&Deal> = by_id
            .values()
            .filter(|d| d.closed_at.is_some_and(|c| c >= from && c < to))
            .collect();
        let won = closed.iter().filter(|d| d.status == "won").count() as i64;
        let lost = closed.iter().filter(|d| d.status == "lost").count() as i64;
        let mut reasons: HashMap<String, i64> = HashMap::new();
        for d in closed.iter().filter(|d| d.status == "lost") {
            *reasons
                .entry(d.lost_reason.clone().unwrap_or_default())
                .or_default() += 1;
        }
        let mut lost_reasons: Vec<(String, i64)> = reasons.into_iter().collect();
        lost_reasons.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        let mut forecast: BTreeMap<(String, String), i64> = BTreeMap::new();
        for d in by_id.values().filter(|d| d.status == "open") {
            if let (Some(a), Some(c), Some(close)) = (d.amount, &d.currency, d.expected_close) {
                let weighted = (i128::from(a) * i128::from(d.probability.unwrap_or(0)) + 50) / 100;
                *forecast
                    .entry((close.format("%Y-%m").to_string(), c.clone()))
                    .or_default() += i64::try_from(weighted).unwrap_or(i64::MAX);
            }
        }
        Funnel {
            pipeline_id: p.id,
            stages,
            won,
            lost,
            win_rate: (won + lost > 0)
                .then(|| (won as f64 * 1000.0 / (won + lost) as f64).round() / 10.0),
            lost_reasons,
            forecast: forecast.into_iter().map(|((m, c), v)| (m, c, v)).collect(),
        }
    }

    async fn actor(app: &App, email: &str) -> Actor {
        let u = app.user_by_email(email).await.unwrap().unwrap();
        app.actor(&u).await.unwrap()
    }

    /// The funnel computed by the database equals the one counted in memory before, for
    /// every viewer, period and filter, over two years of generated deals and the moves
    /// people make on top of them: back to an earlier stage and on again (a stage entered
    /// twice), to another pipeline and back, a new owner, a new amount, won, lost,
    /// reopened, trashed and restored. And each visit keeps its deal's facts.
    #[tokio::test]
    async fn the_funnel_in_sql_counts_as_the_funnel_in_memory() {
        for pg in [false, true] {
            let Some((db, url, admin_url)) = fresh(pg).await else {
                continue;
            };
            let app = App::new(db.clone());
            let sizes = Sizes {
                contacts: 150,
                accounts: None,
                interactions: Some(0),
            };
            let planning = PlanningSizes {
                salespeople: Some(12),
                deals: 400,
                ..PlanningSizes::default()
            };
            app.generate_with(sizes, &planning, 7, |_, _| {})
                .await
                .unwrap();
            let admin = actor(&app, "generator@hamkor.local").await;
            let rep = actor(&app, "toshkent.2@hamkor.local").await;
            let viewers = [
                admin.clone(),
                actor(&app, "toshkent.1@hamkor.local").await,
                rep.clone(),
                actor(&app, "samarqand.1@hamkor.local").await,
            ];
            let other_owner = actor(&app, "samarqand.3@hamkor.local").await.user_id;
            let pipelines = app.pipelines().await.unwrap();
            let (sales_p, projects) = (&pipelines[0], &pipelines[1]);
            let mut db2 = app.db.clone();
            let deals: Vec<(Id, String)> = db2
                .fetch_all(&Sql::new(
                    "SELECT id, status FROM deals WHERE pipeline_id = $1 ORDER BY created_at DESC",
                ).arg(sales_p.id))
                .await
                .unwrap()
                .iter()
                .map(|r| (r.req_id("id").unwrap(), r.req_text("status").unwrap()))
                .collect();
            let open: Vec<Id> = deals
                .iter()
                .filter(|d| d.1 == "open")
                .map(|d| d.0)
                .collect();
            let lost: Vec<Id> = deals
                .iter()
                .filter(|d| d.1 == "lost")
                .map(|d| d.0)
                .collect();
            let patch = |id: Id, body: serde_json::Value| {
                let (app, admin) = (&app, &admin);
                async move {
                    app.update_record(admin, &DEAL, id, &body, None)
                        .await
                        .unwrap_or_else(|e| panic!("{body}: {e:?}"));
                }
            };
            let st = |i: usize| json!(sales_p.stages[i].id.to_string());
            for &d in &open[0..6] {
                patch(d, json!({"stage_id": st(0)})).await;
                patch(d, json!({"stage_id": st(2)})).await;
                patch(d, json!({"stage_id": st(1)})).await;
            }
            for &d in &open[6..9] {
                patch(d, json!({"pipeline_id": projects.id.to_string()})).await;
                patch(d, json!({"pipeline_id": sales_p.id.to_string()})).await;
                patch(d, json!({"stage_id": st(3)})).await;
            }
            for &d in &open[9..14] {
                patch(d, json!({"owner_id": other_owner.to_string(), "amount": "1234.56", "currency": "EUR"})).await;
            }
            patch(open[14], json!({"status": "won"})).await;
            patch(
                open[15],
                json!({"status": "lost", "lost_reason": "No budget"}),
            )
            .await;
            patch(open[16], json!({"stage_id": st(4)})).await;
            patch(open[16], json!({"status": "won"})).await;
            for &d in &lost[0..4] {
                patch(d, json!({"status": "open"})).await;
                patch(d, json!({"stage_id": st(0)})).await;
            }
            patch(lost[4], json!({"status": "open"})).await;
            patch(lost[4], json!({"status": "lost", "lost_reason": "Other"})).await;
            app.delete_record(&admin, &DEAL, open[17], None)
                .await
                .unwrap();
            app.delete_record(&admin, &DEAL, open[18], None)
                .await
                .unwrap();
            app.restore_record(&admin, &DEAL, open[18]).await.unwrap();
            // Deals of today from a salesperson, one with a product.
            let product = app
                .create_record(
                    &admin,
                    &PRODUCT,
                    &json!({"code": "F-1", "name": "Funnel", "price": "10"}),
                )
                .await
                .unwrap()
                .id;
            for k in 0..4 {
                let d = app
                    .create_record(&rep, &DEAL, &json!({"title": format!("Today {k}"), "amount": "500", "currency": "USD", "expected_close": "2031-05-01"}))
                    .await
                    .unwrap()
                    .id;
                app.update_record(&rep, &DEAL, d, &json!({"stage_id": st(k)}), None)
                    .await
                    .unwrap();
                if k % 2 == 0 {
                    let line = LineRequest {
                        product_id: Some(product),
                        quantity: "3".into(),
                        unit_price: Some("10".into()),
                        ..LineRequest::default()
                    };
                    app.set_deal_lines(&rep, d, false, &[line]).await.unwrap();
                }
            }
            app.set_deal_lines(
                &admin,
                open[20],
                false,
                &[LineRequest {
                    product_id: Some(product),
                    quantity: "1".into(),
                    unit_price: Some("7".into()),
                    ..LineRequest::default()
                }],
            )
            .await
            .unwrap();
            // Every visit still carries its deal's facts.
            let rows = db2
                .fetch_all(&Sql::new(
                    "SELECT h.owner_id AS a1, d.owner_id AS b1, h.status AS a2, d.status AS b2, \
                     h.amount AS a3, d.amount AS b3, h.currency AS a4, d.currency AS b4, h.live, \
                     d.deleted_at, d.pipeline_id, s.pipeline_id AS stage_pipeline, h.prev_entered_us, \
                     h.entered_at, h.entered_us, h.left_at, h.left_us \
                     FROM deal_stages h JOIN deals d ON d.id = h.deal_id JOIN stages s ON s.id = h.stage_id",
                ))
                .await
                .unwrap();
            let mut again = 0;
            for r in &rows {
                assert_eq!(r.id("a1").unwrap(), r.id("b1").unwrap());
                assert_eq!(r.text("a2").unwrap(), r.text("b2").unwrap());
                assert_eq!(r.int("a3").unwrap(), r.int("b3").unwrap());
                assert_eq!(r.text("a4").unwrap(), r.text("b4").unwrap());
                assert_eq!(
                    r.bool("live").unwrap(),
                    r.ts("deleted_at").unwrap().is_none()
                        && r.id("pipeline_id").unwrap() == r.id("stage_pipeline").unwrap()
                );
                let us = |c: &str| r.ts(c).unwrap().map(hamkor_store::sales::micros);
                assert_eq!(r.int("entered_us").unwrap(), us("entered_at"));
                assert_eq!(r.int("left_us").unwrap(), us("left_at"));
                again += usize::from(r.int("prev_entered_us").unwrap().is_some());
            }
            assert!(again >= 6, "stages entered twice: {again}");
            let now = Timestamp::now();
            let days = |n: i64| Timestamp::from_datetime(now.0 + chrono::Duration::days(n));
            let periods = [
                (days(-365), days(1)),
                (days(-730), days(-365)),
                (days(-90), days(-30)),
                (days(-3 * 365), days(365)),
                (days(-1), days(1)),
            ];
            let team = viewers[1].team_id;
            let filters = [
                sales::FunnelFilter::default(),
                sales::FunnelFilter {
                    owner: Some(rep.user_id),
                    ..Default::default()
                },
                sales::FunnelFilter {
                    team,
                    ..Default::default()
                },
                sales::FunnelFilter {
                    product: Some(product),
                    ..Default::default()
                },
            ];
            let mut seen = 0;
            for viewer in &viewers {
                for p in [sales_p, projects] {
                    for (from, to) in periods {
                        for filter in &filters {
                            let got = app
                                .funnel(viewer, Some(p.id), filter, from, to)
                                .await
                                .unwrap();
                            let want = reference(&app, viewer, p, filter, from, to).await;
                            assert_eq!(
                                serde_json::to_value(&got).unwrap(),
                                serde_json::to_value(&want).unwrap(),
                                "pg {pg}, {} {}, {from:?}..{to:?}, {filter:?}",
                                viewer.role.as_str(),
                                p.name
                            );
                            seen += got.stages.iter().map(|s| s.entered).sum::<i64>();
                        }
                    }
                }
            }
            assert!(seen > 1000, "{seen}");
            remove(db, &url, &admin_url).await;
        }
    }
}
