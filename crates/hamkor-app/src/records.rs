//! Record use cases (accounts, contacts, and later objects): validate the input against
//! the object's fields and custom fields, then write in one transaction with its audit.

use crate::{App, AppError, AppResult};
use hamkor_domain::custom::CustomFieldDef;
use hamkor_domain::input::{Mode, RecordInput, parse_record_input};
use hamkor_domain::objects::{CONTACT, INTERACTION_KINDS, ObjectDef};
use hamkor_domain::{FieldError, Id, ObjectType, Timestamp, ValidationErrors};
use hamkor_store::audit::AuditEntry;
use hamkor_store::list::ListQuery;
use hamkor_store::records::{self, LinkedContact, Page, Record};
use hamkor_store::timeline::{self, Subject, TimelineQuery};
use hamkor_store::{Actor, custom_fields, settings};
use serde_json::Value;

/// See `App::write_context`.
pub(crate) struct WriteContext {
    customs: Vec<CustomFieldDef>,
    cc: String,
}

/// Extra checks an object needs beyond its field descriptions.
pub(crate) fn object_rules(
    def: &ObjectDef,
    body: &Value,
    current: Option<&Record>,
) -> AppResult<()> {
    if def.object == ObjectType::Contact {
        let name = |k: &str| match body.get(k) {
            Some(v) => v.as_str().is_some_and(|s| !s.trim().is_empty()),
            None => current.is_some_and(|r| r.fields.get(k).and_then(Value::as_str).is_some()),
        };
        if !name("first_name") && !name("last_name") {
            return Err(FieldError::new("last_name", "error-contact-name").into());
        }
    }
    Ok(())
}

/// Reads timeline parameters: `kind` (comma-separated, repeatable), `user`, `from` and
/// `to` (dates, both included, or RFC 3339 times), `cursor`, `limit` (at most 200).
pub fn parse_timeline_query(
    params: &[(String, String)],
) -> Result<TimelineQuery, ValidationErrors> {
    let mut q = TimelineQuery {
        limit: 50,
        ..TimelineQuery::default()
    };
    let mut errors = ValidationErrors::default();
    let moment = |raw: &str, end: bool| {
        Timestamp::parse_rfc3339(raw).or_else(|| {
            let d = chrono::NaiveDate::parse_from_str(raw, "%Y-%m-%d").ok()?;
            let d = if end { d.succ_opt()? } else { d };
            Some(Timestamp::from_datetime(d.and_hms_opt(0, 0, 0)?.and_utc()))
        })
    };
    for (k, v) in params {
        let v = v.trim();
        match k.as_str() {
            "kind" => {
                for kind in v.split(',').map(str::trim).filter(|x| !x.is_empty()) {
                    if INTERACTION_KINDS.contains(&kind) {
                        if !q.kinds.iter().any(|x| x == kind) {
                            q.kinds.push(kind.to_string());
                        }
                    } else {
                        errors.push(
                            FieldError::new("kind", "error-choice")
                                .with("options", INTERACTION_KINDS.join(", ")),
                        );
                    }
                }
            }
            "user" if v.is_empty() => {}
            "user" => match v.parse::<Id>() {
                Ok(id) => q.user = Some(id),
                Err(_) => errors.push(FieldError::new("user", "error-id")),
            },
            "from" | "to" if v.is_empty() => {}
            "from" => match moment(v, false) {
                Some(t) => q.from = Some(t),
                None => errors.push(FieldError::new("from", "error-type-date")),
            },
            "to" => match moment(v, true) {
                Some(t) => q.to = Some(t),
                None => errors.push(FieldError::new("to", "error-type-date")),
            },
            "cursor" => match timeline::decode_cursor(v) {
                Some(c) => q.cursor = Some(c),
                None => errors.push(FieldError::new("cursor", "error-cursor")),
            },
            "limit" => match v.parse::<u32>() {
                Ok(n) if (1..=200).contains(&n) => q.limit = n,
                _ => errors.push(FieldError::new("limit", "error-limit").with("max", 200)),
            },
            "branches" => {}
            other => errors.push(FieldError::new(other.to_string(), "error-unknown-field")),
        }
    }
    if let (Some(f), Some(t)) = (q.from, q.to)
        && t <= f
    {
        errors.push(FieldError::new("to", "error-period"));
    }
    errors.into_result().map(|_| q)
}

/// The version of the search key (`names::fold`, what `search` holds, and the numbers in
/// `search_numbers`). Raise it when any changes: the next start recomputes them for every
/// record.
pub const SEARCH_KEY_VERSION: &str = "4";

impl App {
    /// Brings every record's search text up to [`SEARCH_KEY_VERSION`], in small
    /// transactions so the server stays responsive; returns how many batches ran.
    pub async fn refresh_search_keys(&self) -> AppResult<usize> {
        let mut db = self.db.clone();
        if settings::get(&mut db, "search_key_version")
            .await?
            .as_deref()
            == Some(SEARCH_KEY_VERSION)
        {
            return Ok(0);
        }
        let mut batches = 0;
        for def in hamkor_domain::objects::OBJECTS {
            let mut after = None;
            loop {
                let mut tx = self.db.begin().await?;
                let next = records::refresh_search_batch(&mut tx, def, after, 2000).await?;
                tx.commit().await?;
                batches += 1;
                match next {
                    Some(id) => after = Some(id),
                    None => break,
                }
            }
        }
        let mut tx = self.db.begin().await?;
        settings::set(&mut tx, "search_key_version", SEARCH_KEY_VERSION).await?;
        tx.commit().await?;
        Ok(batches)
    }

    /// Records read through their client (interactions, needs) belong to an account, a
    /// contact or both; a contact who works at exactly one account the actor can see
    /// brings it along. An interaction's time defaults to now.
    pub(crate) async fn prepare_client_record(
        &self,
        actor: &Actor,
        def: &ObjectDef,
        input: &mut RecordInput,
        current: Option<&Record>,
    ) -> AppResult<()> {
        if def.parents.is_empty() {
            return Ok(());
        }
        let get = |input: &RecordInput, k: &str| match input.fields.get(k) {
            Some(v) => v.clone(),
            None => current
                .and_then(|r| r.fields.get(k).cloned())
                .unwrap_or(Value::Null),
        };
        let timed = def.field("occurred_at").is_some();
        if timed && current.is_none() && get(input, "occurred_at").is_null() {
            input.fields.insert(
                "occurred_at".into(),
                Value::String(Timestamp::now().to_rfc3339()),
            );
        }
        if timed && current.is_some() && input.fields.get("occurred_at") == Some(&Value::Null) {
            return Err(FieldError::new("occurred_at", "error-required").into());
        }
        if current.is_none()
            && get(input, "account_id").is_null()
            && let Some(contact) = get(input, "contact_id")
                .as_str()
                .and_then(|s| s.parse::<Id>().ok())
            && let Ok(c) = self.get_record(actor, &CONTACT, contact).await
            && c.accounts.len() == 1
        {
            input.fields.insert(
                "account_id".into(),
                Value::String(c.accounts[0].account_id.to_string()),
            );
        }
        if get(input, "account_id").is_null() && get(input, "contact_id").is_null() {
            return Err(FieldError::new("account_id", "error-client-required").into());
        }
        Ok(())
    }

    /// One page of an account's or a contact's timeline (see `parse_timeline_query`).
    pub async fn timeline(
        &self,
        actor: &Actor,
        subject: Subject,
        params: &[(String, String)],
    ) -> AppResult<Page> {
        let q = parse_timeline_query(params)?;
        let mut db = self.db.clone();
        Ok(timeline::timeline(&mut db, actor, subject, &q).await?)
    }

    /// The custom fields of an object type.
    pub async fn custom_fields(&self, object: ObjectType) -> AppResult<Vec<CustomFieldDef>> {
        let mut db = self.db.clone();
        Ok(custom_fields::list(&mut db, object).await?)
    }

    pub async fn get_record(&self, actor: &Actor, def: &ObjectDef, id: Id) -> AppResult<Record> {
        let mut db = self.db.clone();
        Ok(records::get(&mut db, actor, def, id).await?)
    }

    /// Parses list parameters against the whitelist; a role that may read none of this
    /// object type is refused outright.
    pub async fn list_records(
        &self,
        actor: &Actor,
        def: &ObjectDef,
        params: &[(String, String)],
    ) -> AppResult<Page> {
        if !actor.may_list(def.object) {
            return Err(AppError::Forbidden);
        }
        self.list_records_counting_to(actor, def, params, None)
            .await
    }

    /// As `list_records`, but a count (`count=true`) stops at `cap` records: the total
    /// is then at most `cap`, and `cap` means "this many or more".
    pub async fn list_records_counting_to(
        &self,
        actor: &Actor,
        def: &ObjectDef,
        params: &[(String, String)],
        cap: Option<i64>,
    ) -> AppResult<Page> {
        if !actor.may_list(def.object) {
            return Err(AppError::Forbidden);
        }
        let customs = self.custom_fields(def.object).await?;
        let mut q = ListQuery::parse(def, &customs, params)?;
        hidden_in_query(actor, def, &q)?;
        q.count_cap = cap;
        let mut db = self.db.clone();
        Ok(records::list(&mut db, actor, def, &q).await?)
    }

    pub async fn create_record(
        &self,
        actor: &Actor,
        def: &ObjectDef,
        body: &Value,
    ) -> AppResult<Record> {
        let customs = self.custom_fields(def.object).await?;
        let mut db = self.db.clone();
        let cc = settings::default_country_code(&mut db).await?;
        let mut input = parse_record_input(def, &customs, body, Mode::Create, &cc)?;
        object_rules(def, body, None)?;
        self.prepare_client_record(actor, def, &mut input, None)
            .await?;
        let mut tx = self.db.begin().await?;
        let record = records::create(&mut tx, actor, def, input, &customs).await?;
        tx.commit().await?;
        Ok(record)
    }

    pub async fn update_record(
        &self,
        actor: &Actor,
        def: &ObjectDef,
        id: Id,
        body: &Value,
        if_version: Option<i64>,
    ) -> AppResult<Record> {
        let ctx = self.write_context(def).await?;
        self.update_record_in(actor, def, id, body, if_version, &ctx)
            .await
    }

    /// What checking a write needs besides the record: the object's custom fields and
    /// the default country code. Read once for many writes (bulk actions).
    pub(crate) async fn write_context(&self, def: &ObjectDef) -> AppResult<WriteContext> {
        let customs = self.custom_fields(def.object).await?;
        let mut db = self.db.clone();
        let cc = settings::default_country_code(&mut db).await?;
        Ok(WriteContext { customs, cc })
    }

    /// `update_record` with its context already read.
    pub(crate) async fn update_record_in(
        &self,
        actor: &Actor,
        def: &ObjectDef,
        id: Id,
        body: &Value,
        if_version: Option<i64>,
        ctx: &WriteContext,
    ) -> AppResult<Record> {
        let (customs, cc) = (&ctx.customs, &ctx.cc);
        let mut db = self.db.clone();
        // Seeing the record comes before judging the input: an unseen id is 404 whatever is sent.
        let current = records::get(&mut db, actor, def, id).await?;
        let mut input = parse_record_input(def, customs, body, Mode::Patch, cc)?;
        object_rules(def, body, Some(&current))?;
        self.prepare_client_record(actor, def, &mut input, Some(&current))
            .await?;
        let mut tx = self.db.begin().await?;
        let record = records::update(&mut tx, actor, def, id, input, customs, if_version).await?;
        tx.commit().await?;
        Ok(record)
    }

    pub async fn delete_record(
        &self,
        actor: &Actor,
        def: &ObjectDef,
        id: Id,
        if_version: Option<i64>,
    ) -> AppResult<()> {
        let mut tx = self.db.begin().await?;
        records::delete(&mut tx, actor, def, id, if_version).await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn restore_record(
        &self,
        actor: &Actor,
        def: &ObjectDef,
        id: Id,
    ) -> AppResult<Record> {
        let mut tx = self.db.begin().await?;
        let record = records::restore(&mut tx, actor, def, id).await?;
        tx.commit().await?;
        Ok(record)
    }

    pub async fn record_history(
        &self,
        actor: &Actor,
        def: &ObjectDef,
        id: Id,
    ) -> AppResult<Vec<AuditEntry>> {
        let mut db = self.db.clone();
        let mut entries = records::history(&mut db, actor, def, id).await?;
        // Changes of fields hidden from the role are left out of what it is shown.
        for e in &mut entries {
            if let Some(m) = e.changes.as_object_mut() {
                m.retain(|k, _| !actor.hides(def.object, k));
            }
        }
        Ok(entries)
    }

    /// Notes that the actor opened a record (for their recent items). A failure here
    /// must not stop the page: it is logged and forgotten.
    pub async fn note_visit(&self, actor: &Actor, object: ObjectType, id: Id) {
        if self
            .last_visit
            .read()
            .is_ok_and(|m| m.get(&actor.user_id) == Some(&(object, id)))
        {
            return;
        }
        let result = async {
            let mut tx = self.db.begin().await?;
            hamkor_store::recent::touch(&mut tx, actor.user_id, object, id).await?;
            tx.commit().await?;
            Ok::<(), hamkor_store::StoreError>(())
        }
        .await;
        match result {
            Ok(()) => {
                if let Ok(mut m) = self.last_visit.write() {
                    m.insert(actor.user_id, (object, id));
                }
            }
            Err(e) => tracing::warn!(error = %e, "could not note a recent item"),
        }
    }

    /// The records the actor opened last and may still see, newest first.
    pub async fn recent(&self, actor: &Actor) -> AppResult<Vec<(ObjectType, Record)>> {
        let mut db = self.db.clone();
        let items = hamkor_store::recent::list(&mut db, actor.user_id).await?;
        let mut found: Vec<(ObjectType, Record)> = Vec::new();
        for def in hamkor_domain::objects::OBJECTS {
            let ids: Vec<Id> = items
                .iter()
                .filter(|(o, _)| *o == def.object)
                .map(|(_, id)| *id)
                .collect();
            if ids.is_empty() {
                continue;
            }
            for r in records::records_by_ids(&mut db, actor, def, &ids).await? {
                found.push((def.object, r));
            }
        }
        // Back in the order they were opened.
        let mut out = Vec::new();
        for (o, id) in items {
            if let Some(pos) = found.iter().position(|(fo, r)| *fo == o && r.id == id) {
                out.push(found.swap_remove(pos));
            }
        }
        Ok(out)
    }

    /// Names of the records the actor may see among `ids`.
    pub async fn record_titles(
        &self,
        actor: &Actor,
        def: &ObjectDef,
        ids: &[Id],
    ) -> AppResult<Vec<(Id, String)>> {
        let mut db = self.db.clone();
        Ok(records::titles(&mut db, actor, def, ids).await?)
    }

    pub async fn account_contacts(&self, actor: &Actor, id: Id) -> AppResult<Vec<LinkedContact>> {
        let mut db = self.db.clone();
        Ok(records::account_contacts(&mut db, actor, id).await?)
    }

    pub async fn account_branches(&self, actor: &Actor, id: Id) -> AppResult<Vec<(Id, String)>> {
        let mut db = self.db.clone();
        Ok(records::account_branches(&mut db, actor, id).await?)
    }

    /// Searches every object the actor may read, best matches first: names that start
    /// with the query before names that merely contain it.
    pub async fn search(
        &self,
        actor: &Actor,
        q: &str,
        per_object: u32,
    ) -> AppResult<Vec<(ObjectType, Record)>> {
        let mut lists = Vec::new();
        for (i, def) in hamkor_domain::objects::OBJECTS.into_iter().enumerate() {
            if !actor.may_list(def.object) {
                continue;
            }
            let params = vec![
                ("q".to_string(), q.to_string()),
                ("limit".to_string(), per_object.to_string()),
            ];
            let mut q2 = ListQuery::parse(def, &[], &params)?;
            // A few of each kind are shown, with no next page: any matches will do.
            q2.any_matches = true;
            lists.push((i, def, q2));
        }
        // The indexes are asked about every kind at once; the kinds they find nothing of
        // are not read.
        let asked: Vec<_> = lists.iter().map(|(_, def, q2)| (*def, q2)).collect();
        let plans = records::search_plans(&mut self.db.clone(), &asked).await?;
        // The kinds with something to read are read at the same time, each on a reader.
        let mut tasks = tokio::task::JoinSet::new();
        for ((i, def, q2), plan) in lists.into_iter().zip(plans) {
            if plan.finds_nothing() {
                continue;
            }
            let mut db = self.db.clone();
            let actor = actor.clone();
            tasks.spawn(async move {
                records::list_with_plan(&mut db, &actor, def, &q2, plan)
                    .await
                    .map(|p| (i, def.object, p.items))
            });
        }
        let mut found = Vec::new();
        while let Some(done) = tasks.join_next().await {
            found.push(done.map_err(|e| AppError::Internal(e.to_string()))??);
        }
        found.sort_by_key(|(i, _, _)| *i);
        let mut out = Vec::new();
        for (_, object, items) in found {
            out.extend(items.into_iter().map(|r| (object, r)));
        }
        let needle = hamkor_domain::names::fold(q);
        out.sort_by_key(|(_, r)| {
            let t = hamkor_domain::names::fold(&r.title());
            (
                !t.starts_with(&needle),
                !t.split(' ').any(|w| w.starts_with(&needle)),
                t,
            )
        });
        Ok(out)
    }
}

/// Reads the version from an `If-Match` value (`"3"`, `W/"3"` or `3`).
pub fn parse_if_match(value: &str) -> Option<i64> {
    let v = value.trim().trim_start_matches("W/").trim_matches('"');
    v.parse().ok()
}

/// Refuses a list that filters or sorts by a field hidden from the actor's role (as if
/// it did not exist: its values must not be found out by narrowing a list).
pub(crate) fn hidden_in_query(actor: &Actor, def: &ObjectDef, q: &ListQuery) -> AppResult<()> {
    use hamkor_store::list::FieldRef;
    let mut errors = ValidationErrors::default();
    let named = q
        .filters
        .iter()
        .map(|f| &f.field)
        .chain(q.sort.iter().map(|k| &k.field));
    for field in named {
        let name = match field {
            FieldRef::Core(f) => f.name.to_string(),
            FieldRef::Custom(d) => format!("custom.{}", d.key),
            FieldRef::System(_) => continue,
        };
        if actor.hides(def.object, &name) && !errors.0.iter().any(|e| e.field == name) {
            errors.push(FieldError::new(name, "error-unknown-field"));
        }
    }
    errors.into_result().map_err(AppError::from)
}

#[cfg(test)]
mod tests {
    #[test]
    fn if_match_spellings() {
        assert_eq!(super::parse_if_match("\"3\""), Some(3));
        assert_eq!(super::parse_if_match("W/\"12\""), Some(12));
        assert_eq!(super::parse_if_match("*"), None);
    }
}
