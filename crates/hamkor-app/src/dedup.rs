//! Duplicate accounts and contacts: the check while a record is typed or saved, the full
//! scan that lists duplicate groups for review (a background task whose state and result
//! are kept in the database), and merging two or more records into one with an undo.

use crate::{App, AppError, AppResult};
use hamkor_domain::dedup::{self, Profile, Reason};
use hamkor_domain::input::RecordInput;
use hamkor_domain::objects::{ACCOUNT, CONTACT, ObjectDef};
use hamkor_domain::{Action, FieldError, Id, ObjectType, Timestamp, ValidationErrors};
use hamkor_store::dedup::{self as store, Candidate, Group, Pair, ScanState};
use hamkor_store::merge::{self, MergeLog, Move};
use hamkor_store::records::{self, Record};
use hamkor_store::{Actor, audit, settings};
use serde::Serialize;
use serde_json::{Map, Value, json};
use std::collections::{HashMap, HashSet};

/// The version of the blocking keys (`hamkor_domain::dedup`). Raise it when they change:
/// the next start recomputes them for every account and contact.
pub const DUP_KEY_VERSION: &str = "2";
/// Candidates a check answers with.
pub const CHECK_LIMIT: usize = 10;
/// The value of a merge's `fields` entry that takes a list from every record.
pub const COMBINE: &str = "all";
/// A key shared by more records than this is left out of a scan (a common name says
/// nothing; such records still meet through their phones, e-mails and tax ids).
pub const SCAN_BLOCK_CAP: i64 = 50;
/// The most records one merge takes in (besides the survivor).
pub const MAX_MERGED: usize = 10;

/// The objects duplicates are looked for in.
pub fn dedup_def(plural: &str) -> Option<&'static ObjectDef> {
    match plural {
        "accounts" => Some(&ACCOUNT),
        "contacts" => Some(&CONTACT),
        _ => None,
    }
}

/// A group of a scan as one user sees it: only the records they may read.
#[derive(Debug, Clone, Serialize)]
pub struct GroupView {
    pub id: Id,
    pub score: u8,
    pub records: Vec<GroupRecord>,
    /// Every reason between any two of its records (the best name similarity).
    pub reasons: Vec<Reason>,
    pub pairs: Vec<Pair>,
}

#[derive(Debug, Clone, Serialize)]
pub struct GroupRecord {
    pub id: Id,
    pub title: String,
}

/// What a merge did.
#[derive(Debug, Clone, Serialize)]
pub struct Merged {
    pub merge_id: Id,
    #[serde(skip)]
    pub survivor: Record,
    pub moved: usize,
}

/// The fields a merge may take from any of the records (`custom.<key>` for custom ones,
/// and `owner_id`).
pub fn mergeable_fields(def: &ObjectDef) -> Vec<&'static str> {
    def.fields
        .iter()
        .filter(|f| !f.read_only)
        .map(|f| f.name)
        .collect()
}

fn union_reasons(pairs: &[Pair]) -> Vec<Reason> {
    let mut out: Vec<Reason> = Vec::new();
    let mut name = 0u8;
    for p in pairs {
        for r in &p.reasons {
            match r {
                Reason::NameSimilar { percent } => name = name.max(*percent),
                other if !out.contains(other) => out.push(*other),
                _ => {}
            }
        }
    }
    if name > 0 {
        out.push(Reason::NameSimilar { percent: name });
    }
    out
}

impl App {
    /// Gives every account and contact its blocking keys when [`DUP_KEY_VERSION`]
    /// changed (or the keys are new), in transactions of 5,000 records; returns how many
    /// batches ran. A database made after the keys existed needs none.
    pub async fn refresh_dup_keys(&self) -> AppResult<usize> {
        let mut db = self.db.clone();
        store::scans_interrupted(&mut db).await?;
        if settings::get(&mut db, "dup_key_version").await?.as_deref() == Some(DUP_KEY_VERSION) {
            return Ok(0);
        }
        let mut batches = 0;
        for def in [&ACCOUNT, &CONTACT] {
            let mut tx = self.db.begin().await?;
            store::clear_keys(&mut tx, def.object).await?;
            tx.commit().await?;
            let mut after = None;
            loop {
                let mut tx = self.db.begin().await?;
                let next = store::backfill_batch(&mut tx, def, after, 5000).await?;
                tx.commit().await?;
                batches += 1;
                match next {
                    Some(id) => after = Some(id),
                    None => break,
                }
            }
        }
        let mut tx = self.db.begin().await?;
        settings::set(&mut tx, "dup_key_version", DUP_KEY_VERSION).await?;
        tx.commit().await?;
        Ok(batches)
    }

    /// Likely duplicates of what is being typed into a form: `params` are the object's
    /// fields (`name`, `legal_name`, `tax_id`, `first_name`, `last_name`, `phone` or
    /// `phones`, `email` or `emails`, each repeatable where a list) and `id`, a record to
    /// leave out (the one being edited).
    pub async fn check_duplicates(
        &self,
        actor: &Actor,
        def: &'static ObjectDef,
        params: &[(String, String)],
    ) -> AppResult<Vec<Candidate>> {
        if actor.scope(def.object, Action::Read) == hamkor_domain::Scope::None {
            return Err(AppError::Forbidden);
        }
        let mut fields = Map::new();
        let mut phones = Vec::new();
        let mut emails = Vec::new();
        let mut exclude = Vec::new();
        let mut errors = ValidationErrors::default();
        let texts: &[&str] = match def.object {
            ObjectType::Account => &["name", "legal_name", "tax_id"],
            _ => &["first_name", "middle_name", "last_name"],
        };
        for (k, v) in params {
            let v = v.trim();
            match k.as_str() {
                "phone" | "phones" if !v.is_empty() => phones.push(json!({"number": v})),
                "email" | "emails" if !v.is_empty() => emails.push(json!({"address": v})),
                "phone" | "phones" | "email" | "emails" => {}
                "id" if v.is_empty() => {}
                "id" => match v.parse::<Id>() {
                    Ok(id) => exclude.push(id),
                    Err(_) => errors.push(FieldError::new("id", "error-id")),
                },
                k if texts.contains(&k) => {
                    fields.insert(k.to_string(), Value::String(v.to_string()));
                }
                other => errors.push(FieldError::new(other.to_string(), "error-unknown-field")),
            }
        }
        errors.into_result()?;
        fields.insert("phones".into(), Value::Array(phones));
        fields.insert("emails".into(), Value::Array(emails));
        let mut db = self.db.clone();
        let cc = settings::default_country_code(&mut db).await?;
        let profile = Profile::of(def.object, &fields, &cc);
        Ok(store::candidates(&mut db, actor, def, &profile, &exclude, CHECK_LIMIT).await?)
    }

    /// The country code a number written without one is read in (a setting).
    pub async fn default_country_code(&self) -> AppResult<String> {
        let mut db = self.db.clone();
        Ok(settings::default_country_code(&mut db).await?)
    }

    /// Likely duplicates of a saved account or contact (for the answer to a create or an
    /// update, and the record page); none for other objects.
    pub async fn record_duplicates(&self, actor: &Actor, r: &Record) -> AppResult<Vec<Candidate>> {
        let def = ObjectDef::get(r.object);
        if !hamkor_domain::dedup::applies(r.object) {
            return Ok(Vec::new());
        }
        let profile = Profile::of(r.object, &r.fields, "998");
        let mut db = self.db.clone();
        Ok(store::candidates(&mut db, actor, def, &profile, &[r.id], CHECK_LIMIT).await?)
    }

    /// Starts a full scan of an object in the background (administrators only). A scan
    /// already running is `Conflict`.
    pub async fn start_scan(&self, actor: &Actor, def: &'static ObjectDef) -> AppResult<ScanState> {
        if !actor.is_admin() {
            return Err(AppError::Forbidden);
        }
        let mut tx = self.db.begin().await?;
        let started = store::scan_begin(&mut tx, def.object, actor.user_id).await?;
        tx.commit().await?;
        if !started {
            return Err(AppError::Conflict("dup_scans".into()));
        }
        let app = self.clone();
        tokio::spawn(async move {
            if let Err(e) = app.run_scan(def).await {
                tracing::error!(error = ?e, object = def.plural, "duplicate scan failed");
                let mut db = app.db.clone();
                let _ = store::scan_failed(&mut db, def.object, &format!("{e:?}")).await;
            }
        });
        let mut db = self.db.clone();
        store::scan_state(&mut db, def.object)
            .await?
            .ok_or_else(|| AppError::Internal("scan state".into()))
    }

    /// The scan itself: the blocks of records sharing a key (grouped by the database),
    /// every pair inside a block scored, and pairs that match joined into groups.
    pub async fn run_scan(&self, def: &'static ObjectDef) -> AppResult<()> {
        let mut db = self.db.clone();
        let records = store::keyed_records(&mut db, def).await?;
        let blocks = store::blocks(&mut db, def.object, SCAN_BLOCK_CAP).await?;
        let mut pairs: HashSet<(Id, Id)> = HashSet::new();
        for b in &blocks {
            for (i, x) in b.iter().enumerate() {
                for y in &b[i + 1..] {
                    pairs.insert(if x < y { (*x, *y) } else { (*y, *x) });
                }
            }
        }
        let mut ids: Vec<Id> = pairs.iter().flat_map(|(a, b)| [*a, *b]).collect();
        ids.sort();
        ids.dedup();
        let profiles: HashMap<Id, Profile> = store::profiles(&mut db, None, def, &ids)
            .await?
            .into_iter()
            .map(|p| (p.id, p.profile))
            .collect();
        // Union-find over the matching pairs.
        let index: HashMap<Id, usize> = ids.iter().enumerate().map(|(i, id)| (*id, i)).collect();
        let mut parent: Vec<usize> = (0..ids.len()).collect();
        fn root(parent: &mut [usize], mut i: usize) -> usize {
            while parent[i] != i {
                parent[i] = parent[parent[i]];
                i = parent[i];
            }
            i
        }
        let mut matched: Vec<Pair> = Vec::new();
        let mut sorted: Vec<&(Id, Id)> = pairs.iter().collect();
        sorted.sort();
        for (a, b) in sorted {
            let (Some(pa), Some(pb)) = (profiles.get(a), profiles.get(b)) else {
                continue;
            };
            let Some(m) = hamkor_domain::dedup::score(def.object, pa, pb) else {
                continue;
            };
            let (ra, rb) = (root(&mut parent, index[a]), root(&mut parent, index[b]));
            if ra != rb {
                parent[ra] = rb;
            }
            matched.push(Pair {
                a: *a,
                b: *b,
                score: m.score,
                reasons: m.reasons,
            });
        }
        let mut by_root: HashMap<usize, Group> = HashMap::new();
        for p in &matched {
            let r = root(&mut parent, index[&p.a]);
            let g = by_root.entry(r).or_insert_with(|| Group {
                id: Id::new(),
                score: 0,
                record_ids: Vec::new(),
                pairs: Vec::new(),
            });
            g.score = g.score.max(p.score);
            for id in [p.a, p.b] {
                if !g.record_ids.contains(&id) {
                    g.record_ids.push(id);
                }
            }
            g.pairs.push(p.clone());
        }
        let mut groups: Vec<Group> = by_root.into_values().collect();
        groups.sort_by(|a, b| b.score.cmp(&a.score).then(a.record_ids.cmp(&b.record_ids)));
        let mut tx = self.db.begin().await?;
        store::scan_done(&mut tx, def.object, records, matched.len() as i64, &groups).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The last scan's state and its groups, limited to the records the actor may read
    /// (a group of which they see fewer than two is left out).
    pub async fn duplicate_groups(
        &self,
        actor: &Actor,
        def: &'static ObjectDef,
        limit: i64,
        offset: i64,
    ) -> AppResult<(Option<ScanState>, Vec<GroupView>)> {
        if actor.scope(def.object, Action::Read) == hamkor_domain::Scope::None {
            return Err(AppError::Forbidden);
        }
        let mut db = self.db.clone();
        let state = store::scan_state(&mut db, def.object).await?;
        let groups = store::groups(&mut db, def.object, limit, offset).await?;
        let ids: Vec<Id> = groups.iter().flat_map(|g| g.record_ids.clone()).collect();
        let titles: HashMap<Id, String> = records::titles(&mut db, actor, def, &ids)
            .await?
            .into_iter()
            .collect();
        let views = groups
            .into_iter()
            .filter_map(|g| {
                let records: Vec<GroupRecord> = g
                    .record_ids
                    .iter()
                    .filter_map(|id| {
                        titles.get(id).map(|t| GroupRecord {
                            id: *id,
                            title: t.clone(),
                        })
                    })
                    .collect();
                if records.len() < 2 {
                    return None;
                }
                let pairs: Vec<Pair> = g
                    .pairs
                    .into_iter()
                    .filter(|p| titles.contains_key(&p.a) && titles.contains_key(&p.b))
                    .collect();
                Some(GroupView {
                    id: g.id,
                    score: pairs.iter().map(|p| p.score).max().unwrap_or(g.score),
                    reasons: union_reasons(&pairs),
                    records,
                    pairs,
                })
            })
            .collect();
        Ok((state, views))
    }

    /// Merges `merged` into `survivor` in one transaction: the survivor takes, field by
    /// field, the value of the record `fields` names (`{"phones": "<id>"}`; unnamed
    /// fields keep the survivor's) or, for a list of phones, e-mails, addresses,
    /// messengers or tags, every record's entries (`"all"`, each named once), everything
    /// linked to the merged records moves to it,
    /// and they go to the trash. The actor must be able to change the survivor and
    /// delete the others (else `Forbidden`, or `NotFound` for what they cannot see, and
    /// nothing changes). The log allows [`App::undo_merge`].
    pub async fn merge_records(
        &self,
        actor: &Actor,
        def: &'static ObjectDef,
        survivor_id: Id,
        merged_ids: &[Id],
        fields: &Map<String, Value>,
    ) -> AppResult<Merged> {
        let mut errors = ValidationErrors::default();
        if merged_ids.is_empty() {
            errors.push(FieldError::new("merged_ids", "error-required"));
        }
        if merged_ids.len() > MAX_MERGED {
            errors.push(FieldError::new("merged_ids", "error-too-many").with("max", MAX_MERGED));
        }
        let mut seen = vec![survivor_id];
        for (i, m) in merged_ids.iter().enumerate() {
            if seen.contains(m) {
                errors.push(FieldError::new(
                    format!("merged_ids[{i}]"),
                    "error-duplicate",
                ));
            }
            seen.push(*m);
        }
        errors.into_result()?;
        let customs = self.custom_fields(def.object).await?;
        let mut tx = self.db.begin().await?;
        let survivor = records::get_for_update(&mut tx, actor, def, survivor_id).await?;
        if !survivor.allows(actor, Action::Write) {
            return Err(AppError::Forbidden);
        }
        let mut others: Vec<Record> = Vec::new();
        for m in merged_ids {
            let r = records::get_for_update(&mut tx, actor, def, *m).await?;
            if !r.allows(actor, Action::Delete) {
                return Err(AppError::Forbidden);
            }
            others.push(r);
        }
        // The values chosen.
        let allowed = mergeable_fields(def);
        let mut input = RecordInput::default();
        let mut before = Map::new();
        let mut before_custom = Map::new();
        let mut before_owner = None;
        let mut errors = ValidationErrors::default();
        let cc = settings::default_country_code(&mut tx).await?;
        for (field, from) in fields {
            if from.as_str() == Some(COMBINE) {
                // Every record's phones (e-mails, addresses …), each named once.
                let kind = def
                    .field(field)
                    .filter(|_| allowed.contains(&field.as_str()))
                    .map(|f| f.kind);
                let lists: Vec<&Value> = std::iter::once(&survivor)
                    .chain(others.iter())
                    .map(|r| r.fields.get(field).unwrap_or(&Value::Null))
                    .collect();
                match kind.and_then(|k| dedup::combine_lists(k, &lists, &cc)) {
                    Some(new) => {
                        let old = survivor.fields.get(field).cloned().unwrap_or(Value::Null);
                        if new != old {
                            before.insert(field.clone(), old);
                            input.fields.insert(field.clone(), new);
                        }
                    }
                    None => errors.push(FieldError::new(
                        format!("fields.{field}"),
                        "error-merge-source",
                    )),
                }
                continue;
            }
            let Some(source) = from
                .as_str()
                .and_then(|s| s.parse::<Id>().ok())
                .and_then(|id| {
                    std::iter::once(&survivor)
                        .chain(others.iter())
                        .find(|r| r.id == id)
                })
            else {
                errors.push(FieldError::new(
                    format!("fields.{field}"),
                    "error-merge-source",
                ));
                continue;
            };
            if let Some(key) = field.strip_prefix("custom.") {
                if !customs.iter().any(|c| c.key == key) {
                    errors.push(FieldError::new(
                        format!("fields.{field}"),
                        "error-unknown-field",
                    ));
                    continue;
                }
                let new = source.custom.get(key).cloned().unwrap_or(Value::Null);
                let old = survivor.custom.get(key).cloned().unwrap_or(Value::Null);
                if new != old {
                    before_custom.insert(key.to_string(), old);
                    input.custom.insert(key.to_string(), new);
                }
            } else if field == "owner_id" {
                if source.owner_id != survivor.owner_id {
                    before_owner = Some(survivor.owner_id);
                    input.owner_id = Some(source.owner_id);
                }
            } else if allowed.contains(&field.as_str()) {
                let mut new = source.fields.get(field).cloned().unwrap_or(Value::Null);
                let old = survivor.fields.get(field).cloned().unwrap_or(Value::Null);
                if field == "parent_id"
                    && new
                        .as_str()
                        .and_then(|s| s.parse::<Id>().ok())
                        .is_some_and(|p| seen.contains(&p))
                {
                    // A record merged into itself is no parent.
                    new = Value::Null;
                }
                if new != old {
                    before.insert(field.clone(), old);
                    input.fields.insert(field.clone(), new);
                }
            } else {
                errors.push(FieldError::new(
                    format!("fields.{field}"),
                    "error-unknown-field",
                ));
            }
        }
        // The survivor's own parent may be among the merged.
        if def.object == ObjectType::Account
            && !input.fields.contains_key("parent_id")
            && survivor
                .link("parent_id")
                .is_some_and(|p| merged_ids.contains(&p))
        {
            before.insert(
                "parent_id".into(),
                survivor
                    .fields
                    .get("parent_id")
                    .cloned()
                    .unwrap_or(Value::Null),
            );
            input.fields.insert("parent_id".into(), Value::Null);
        }
        errors.into_result()?;
        if !input.fields.is_empty() || !input.custom.is_empty() || input.owner_id.is_some() {
            records::update(&mut tx, actor, def, survivor_id, input, &customs, None).await?;
        }
        let mut moves: Vec<Move> = Vec::new();
        for m in merged_ids {
            moves.extend(
                merge::move_related(&mut tx, def.object, *m, survivor_id, merged_ids).await?,
            );
        }
        for m in merged_ids {
            records::delete(&mut tx, actor, def, *m, None).await?;
        }
        let merge_id = Id::new();
        let log = MergeLog {
            id: merge_id,
            object: def.object,
            survivor_id,
            merged_ids: merged_ids.to_vec(),
            user_id: actor.user_id,
            created_at: Timestamp::now(),
            undo: json!({
                "fields": before,
                "custom": before_custom,
                "owner_id": before_owner,
                "moves": moves,
            }),
            undone_at: None,
        };
        merge::log(&mut tx, &log).await?;
        let ids: Vec<Value> = merged_ids.iter().map(|m| json!(m.to_string())).collect();
        let mut changes = Map::new();
        changes.insert("merged_ids".into(), json!([null, ids]));
        changes.insert("merge_id".into(), json!([null, merge_id.to_string()]));
        audit::record(&mut tx, def.object, survivor_id, "merge", actor, changes).await?;
        for m in merged_ids {
            let mut changes = Map::new();
            changes.insert("merged_into".into(), json!([null, survivor_id.to_string()]));
            changes.insert("merge_id".into(), json!([null, merge_id.to_string()]));
            audit::record(&mut tx, def.object, *m, "merge", actor, changes).await?;
        }
        let survivor = records::get(&mut tx, actor, def, survivor_id).await?;
        tx.commit().await?;
        Ok(Merged {
            merge_id,
            survivor,
            moved: moves.len(),
        })
    }

    /// Undoes a merge: the merged records come back from the trash, everything moved goes
    /// back where it was, and the survivor gets back the values it had. The actor must be
    /// able to change the survivor and restore the merged records; a merge already undone,
    /// or whose records left the trash since, is `Conflict`.
    pub async fn undo_merge(&self, actor: &Actor, id: Id) -> AppResult<Record> {
        let mut tx = self.db.begin().await?;
        let log = merge::get(&mut tx, id).await?;
        let def = ObjectDef::get(log.object);
        // Someone who cannot see the survivor does not learn the merge exists.
        let survivor = records::get_for_update(&mut tx, actor, def, log.survivor_id).await?;
        if !survivor.allows(actor, Action::Write) {
            return Err(AppError::Forbidden);
        }
        if log.undone_at.is_some() {
            return Err(AppError::Conflict("merge_undone".into()));
        }
        for m in &log.merged_ids {
            match records::restore(&mut tx, actor, def, *m).await {
                Ok(_) => {}
                Err(hamkor_store::StoreError::NotFound) => {
                    return Err(AppError::Conflict("merge_restored".into()));
                }
                Err(e) => return Err(e.into()),
            }
        }
        let moves: Vec<Move> =
            serde_json::from_value(log.undo.get("moves").cloned().unwrap_or(json!([])))
                .map_err(|e| AppError::Internal(format!("merge log: {e}")))?;
        merge::undo_moves(&mut tx, &moves).await?;
        let mut input = RecordInput::default();
        if let Some(Value::Object(f)) = log.undo.get("fields") {
            input.fields = f.clone();
        }
        if let Some(Value::Object(c)) = log.undo.get("custom") {
            input.custom = c.clone();
        }
        input.owner_id = log
            .undo
            .get("owner_id")
            .and_then(Value::as_str)
            .and_then(|s| s.parse().ok());
        if !input.fields.is_empty() || !input.custom.is_empty() || input.owner_id.is_some() {
            let customs = self.custom_fields(def.object).await?;
            records::update(&mut tx, actor, def, log.survivor_id, input, &customs, None).await?;
        }
        merge::mark_undone(&mut tx, id, actor.user_id).await?;
        let ids: Vec<Value> = log
            .merged_ids
            .iter()
            .map(|m| json!(m.to_string()))
            .collect();
        let mut changes = Map::new();
        changes.insert("merged_ids".into(), json!([ids, null]));
        changes.insert("merge_id".into(), json!([id.to_string(), null]));
        audit::record(
            &mut tx,
            def.object,
            log.survivor_id,
            "merge_undo",
            actor,
            changes,
        )
        .await?;
        let survivor = records::get(&mut tx, actor, def, log.survivor_id).await?;
        tx.commit().await?;
        Ok(survivor)
    }
}
