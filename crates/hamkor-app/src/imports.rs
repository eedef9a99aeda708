//! The import wizard's engine, shared by the web UI, the REST API and `hamkor import`.
//!
//! 1. **Upload**: the file is recognised (`hamkor-import`) and stored in the database in
//!    1 MiB chunks, so it is read back as a stream and any server can resume the job.
//! 2. **Preview**: the header, the first rows, a suggested field for each column (from
//!    header words in English, Russian and Uzbek, and the headers Outlook and Google
//!    Contacts write) and the saved mappings.
//! 3. **Check** (a dry run) and **run** are one background job over the file: each row
//!    becomes *new*, *update* (its `id` names a record; which fields change), *duplicate*
//!    (of an existing record or of an earlier row, with the reason) or *error* (which
//!    cell, why). The user chooses per class: skip, update, create anyway. A check writes
//!    nothing but its report; a run writes in batches, each batch in one transaction
//!    together with the job's progress and a note of what it created and what it changed
//!    (with the values before). A server that stops mid-run leaves the job at a batch
//!    boundary; the next start (of any server) takes it up from there, so no row is
//!    written twice.
//! 4. **Undo**: the batches are walked back: what the import created goes to the trash,
//!    what it changed gets its earlier values back. Recorded in the audit log.

use crate::{App, AppError, AppResult};
use hamkor_domain::custom::{CustomFieldDef, CustomKind};
use hamkor_domain::input::{AccountLink, Mode, RecordInput, parse_record_input};
use hamkor_domain::objects::{FieldKind, ObjectDef};
use hamkor_domain::{
    Action, FieldError, Id, ObjectType, Scope, Timestamp, ValidationErrors, names,
};
use hamkor_import::{FileError, Format, Inspection, Limits};
use hamkor_store::imports::{self, Import, Mapping, Progress};
use hamkor_store::records::{self, BatchRecord};
use hamkor_store::{Actor, Arg, Exec, Sql, audit, settings, users};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use std::collections::HashMap;
use std::hash::BuildHasher;
use std::io::Read;

/// The objects a file can be imported into.
pub const OBJECTS: &[ObjectType] = &[
    ObjectType::Account,
    ObjectType::Contact,
    ObjectType::Lead,
    ObjectType::Product,
    ObjectType::Interaction,
];

/// The imports this process is running now (never two runs of one import here).
static DRIVING: std::sync::LazyLock<std::sync::Mutex<std::collections::HashSet<Id>>> =
    std::sync::LazyLock::new(Default::default);

/// What a run that lost its claim to another stops with.
const LOST: &str = "the import is held by another run";

/// The size of the pieces a file is stored in.
pub const CHUNK: usize = 1 << 20;
/// Rows written in one transaction.
pub const BATCH: usize = 2_000;
/// Examples of each class a check keeps for the user to see.
const EXAMPLES: usize = 20;
/// How long a server holds a running job without renewing its claim (each batch renews
/// it): after a crash, another server (or the next start) takes the job up after this.
/// `HAMKOR_IMPORT_LEASE_SECS` changes it (tests).
fn lease_secs() -> i64 {
    std::env::var("HAMKOR_IMPORT_LEASE_SECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|v| *v > 0)
        .unwrap_or(60)
}

/// What to do with the rows of a class.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Choice {
    #[default]
    Skip,
    Update,
    Create,
}

/// The user's choices for a check or a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Settings {
    /// The sheet of a spreadsheet (the first by default).
    #[serde(default)]
    pub sheet: Option<String>,
    /// For each column, the field it fills (`first_name`, `phones`, `custom.budget`, the
    /// record's `id` to update it, `owner` as a user's e-mail, for contacts `account`
    /// and `position`), or nothing to leave it out.
    #[serde(default)]
    pub columns: Vec<Option<String>>,
    /// Rows like an existing record (or an earlier row): skip them, update that record,
    /// or create a new one anyway.
    #[serde(default)]
    pub on_duplicate: Choice,
    /// Rows whose `id` names an existing record: update it or skip the row.
    #[serde(default = "update")]
    pub on_update: Choice,
    /// Import the good rows when some are bad; otherwise a run with a bad row writes
    /// nothing.
    #[serde(default = "yes")]
    pub skip_bad_rows: bool,
    /// Read `01/02/2024` as 1 February (true, the default here) or as 2 January.
    #[serde(default = "yes")]
    pub day_first: bool,
}

fn update() -> Choice {
    Choice::Update
}
fn yes() -> bool {
    true
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            sheet: None,
            columns: Vec::new(),
            on_duplicate: Choice::Skip,
            on_update: Choice::Update,
            skip_bad_rows: true,
            day_first: true,
        }
    }
}

/// A field a column can fill.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Target {
    /// `first_name`, `custom.budget`, `id`, `owner`, `account`, `position`.
    pub key: String,
    /// Several columns may fill it (phones, e-mails, tags …).
    pub list: bool,
    /// A custom field's label.
    pub label: Option<String>,
}

/// The fields a column of an import into `def` can fill.
pub fn targets(def: &ObjectDef, customs: &[CustomFieldDef]) -> Vec<Target> {
    let t = |key: &str, list: bool| Target {
        key: key.to_string(),
        list,
        label: None,
    };
    let mut out = vec![t("id", false), t("owner", false)];
    for f in def.fields {
        if f.read_only
            || matches!(
                f.kind,
                FieldKind::Users | FieldKind::Refs(_) | FieldKind::Lookup(_)
            )
        {
            continue;
        }
        if def.object == ObjectType::Account && f.name == "parent_id" {
            continue;
        }
        let list = matches!(
            f.kind,
            FieldKind::Phones
                | FieldKind::Emails
                | FieldKind::Tags
                | FieldKind::Addresses
                | FieldKind::Messengers
                | FieldKind::Picklist(_)
        );
        out.push(t(f.name, list));
    }
    if def.object == ObjectType::Contact {
        out.push(t("account", false));
        out.push(t("position", false));
    }
    for c in customs {
        if matches!(c.kind, CustomKind::User | CustomKind::Link) {
            continue;
        }
        out.push(Target {
            key: format!("custom.{}", c.key),
            list: c.kind == CustomKind::MultiPicklist,
            label: Some(c.label.clone()),
        });
    }
    out
}

/// Header words for each field, in English, Russian and Uzbek, and as Outlook and Google
/// Contacts write them. Compared folded (case and script ignored).
const WORDS: &[(&str, &[&str])] = &[
    ("id", &["id", "hamkor id"]),
    (
        "owner",
        &[
            "owner",
            "responsible",
            "ответственный",
            "владелец",
            "masʼul",
            "mas'ul",
        ],
    ),
    (
        "first_name",
        &[
            "first name",
            "given name",
            "firstname",
            "имя",
            "ism",
            "ismi",
        ],
    ),
    (
        "middle_name",
        &[
            "middle name",
            "additional name",
            "отчество",
            "otasining ismi",
            "sharif",
        ],
    ),
    (
        "last_name",
        &[
            "last name",
            "surname",
            "family name",
            "lastname",
            "фамилия",
            "familiya",
        ],
    ),
    (
        "name",
        &[
            "name",
            "company name",
            "account name",
            "название",
            "наименование",
            "nomi",
            "nom",
        ],
    ),
    (
        "account",
        &[
            "company",
            "organization",
            "organization name",
            "organization 1 - name",
            "account",
            "компания",
            "организация",
            "kompaniya",
            "tashkilot",
        ],
    ),
    (
        "company",
        &[
            "company",
            "organization",
            "компания",
            "организация",
            "kompaniya",
            "tashkilot",
        ],
    ),
    (
        "position",
        &[
            "job title",
            "title",
            "position",
            "organization title",
            "organization 1 - title",
            "должность",
            "lavozim",
            "lavozimi",
        ],
    ),
    (
        "job_title",
        &["job title", "title", "position", "должность", "lavozim"],
    ),
    (
        "legal_name",
        &[
            "legal name",
            "full legal name",
            "юридическое название",
            "полное наименование",
            "yuridik nomi",
        ],
    ),
    ("tax_id", &["tax id", "tin", "inn", "инн", "stir", "стир"]),
    (
        "phones",
        &[
            "phone",
            "phones",
            "telephone",
            "mobile",
            "mobile phone",
            "cell",
            "business phone",
            "business phone 2",
            "home phone",
            "home phone 2",
            "other phone",
            "primary phone",
            "company main phone",
            "work phone",
            "phone 1 - value",
            "phone 2 - value",
            "phone 3 - value",
            "телефон",
            "мобильный",
            "мобильный телефон",
            "рабочий телефон",
            "телефоны",
            "telefon",
            "mobil telefon",
            "telefonlar",
        ],
    ),
    (
        "emails",
        &[
            "email",
            "e-mail",
            "emails",
            "e-mail address",
            "e-mail 2 address",
            "e-mail 3 address",
            "email address",
            "work e-mail",
            "home e-mail",
            "e-mail 1 - value",
            "e-mail 2 - value",
            "почта",
            "эл. почта",
            "электронная почта",
            "e-pochta",
            "elektron pochta",
        ],
    ),
    (
        "website",
        &[
            "website", "web page", "web site", "url", "сайт", "veb-sayt", "sayt",
        ],
    ),
    ("industry", &["industry", "отрасль", "soha", "tarmoq"]),
    (
        "birthday",
        &[
            "birthday",
            "date of birth",
            "дата рождения",
            "день рождения",
            "tug'ilgan kun",
            "tugʻilgan sana",
        ],
    ),
    (
        "tags",
        &[
            "tags",
            "categories",
            "labels",
            "теги",
            "метки",
            "категории",
            "teglar",
        ],
    ),
    ("source", &["source", "источник", "manba"]),
    ("campaign", &["campaign", "кампания", "kampaniya"]),
    (
        "interest",
        &[
            "interest",
            "interested in",
            "интерес",
            "интересует",
            "qiziqish",
        ],
    ),
    (
        "notes",
        &[
            "notes",
            "note",
            "comment",
            "заметки",
            "примечание",
            "комментарий",
            "izoh",
            "izohlar",
        ],
    ),
    (
        "description",
        &["description", "notes", "описание", "tavsif"],
    ),
    (
        "addresses",
        &[
            "address",
            "business address",
            "home address",
            "адрес",
            "manzil",
        ],
    ),
    (
        "code",
        &["code", "sku", "article", "код", "артикул", "kod", "artikul"],
    ),
    (
        "unit",
        &[
            "unit",
            "unit of measure",
            "uom",
            "единица",
            "единица измерения",
            "ед.",
            "ед",
            "ед. изм.",
            "ед.изм.",
            "birlik",
            "o'lchov birligi",
        ],
    ),
    ("price", &["price", "цена", "narx", "narxi"]),
    ("currency", &["currency", "валюта", "valyuta"]),
    ("vat_rate", &["vat", "vat rate", "ндс", "ставка ндс", "qqs"]),
    (
        "category",
        &["category", "категория", "kategoriya", "toifa"],
    ),
    ("kind", &["kind", "type", "тип", "вид", "turi"]),
    ("subject", &["subject", "тема", "mavzu"]),
    (
        "occurred_at",
        &["date", "when", "occurred at", "дата", "sana", "vaqt"],
    ),
    (
        "body",
        &["text", "body", "description", "текст", "описание", "matn"],
    ),
    (
        "account_id",
        &[
            "account",
            "company",
            "client",
            "клиент",
            "компания",
            "mijoz",
            "kompaniya",
        ],
    ),
    (
        "contact_id",
        &["contact", "contact e-mail", "контакт", "kontakt"],
    ),
    ("direction", &["direction", "направление", "yo'nalish"]),
    (
        "outcome",
        &["outcome", "result", "итог", "результат", "natija"],
    ),
];

/// The field a header names, among `targets`.
fn suggest_one(header: &str, targets: &[Target]) -> Option<String> {
    let h = names::fold(header.trim());
    if h.is_empty() {
        return None;
    }
    let has = |k: &str| targets.iter().any(|t| t.key == k);
    // The field's own name, then a custom field's label.
    for t in targets {
        if names::fold(&t.key) == h || t.label.as_deref().is_some_and(|l| names::fold(l) == h) {
            return Some(t.key.clone());
        }
    }
    for (key, words) in WORDS {
        if has(key) && words.iter().any(|w| names::fold(w) == h) {
            return Some(key.to_string());
        }
    }
    None
}

/// The screens' names of the choices, in the three languages (the locale files'
/// `choice-<value> = <name>` messages), by their folded name: a spreadsheet says "шт",
/// "Звонок" or "Yuqori" where Hamkor stores `pcs`, `call` or `high`.
static CHOICE_LABELS: std::sync::LazyLock<HashMap<String, Vec<&'static str>>> =
    std::sync::LazyLock::new(|| {
        let mut by_label: HashMap<String, Vec<&'static str>> = HashMap::new();
        for file in [
            include_str!("../../hamkor-web/locales/en/main.ftl"),
            include_str!("../../hamkor-web/locales/ru/main.ftl"),
            include_str!("../../hamkor-web/locales/uz/main.ftl"),
        ] {
            for line in file.lines() {
                let Some((key, label)) = line.split_once(" = ") else {
                    continue;
                };
                let Some(value) = key.trim().strip_prefix("choice-") else {
                    continue;
                };
                let label = names::fold(label.trim());
                if label.is_empty() {
                    continue;
                }
                let values = by_label.entry(label).or_default();
                if !values.contains(&value) {
                    values.push(value);
                }
            }
        }
        by_label
    });

/// The one of `values` a cell names by its name on the screens, in any of the three
/// languages; `None` when it names none or more than one.
fn choice_by_label(values: &[&'static str], cell: &str) -> Option<&'static str> {
    let named = CHOICE_LABELS.get(&names::fold(cell.trim()))?;
    let mut found = values.iter().filter(|v| named.contains(v));
    match (found.next(), found.next()) {
        (Some(v), None) => Some(v),
        _ => None,
    }
}

/// A field for each column: each scalar field once (the first column naming it), list
/// fields from every column that names them.
pub fn suggest(headers: &[String], targets: &[Target]) -> Vec<Option<String>> {
    let mut used: Vec<String> = Vec::new();
    headers
        .iter()
        .map(|h| {
            let key = suggest_one(h, targets)?;
            let list = targets.iter().any(|t| t.key == key && t.list);
            if !list && used.contains(&key) {
                return None;
            }
            used.push(key.clone());
            Some(key)
        })
        .collect()
}

/// A saved mapping applied to a file's header: each header it names gets its field.
pub fn apply_mapping(headers: &[String], mapping: &Value) -> Vec<Option<String>> {
    headers
        .iter()
        .map(|h| {
            mapping
                .get(h.as_str())
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
        })
        .collect()
}

/// What the wizard shows after the upload.
#[derive(Debug, Clone, Serialize)]
pub struct Preview {
    pub headers: Vec<String>,
    /// The first rows, as read.
    pub rows: Vec<Vec<String>>,
    /// A field for each column.
    pub suggested: Vec<Option<String>>,
    pub targets: Vec<Target>,
    /// `outlook` or `google` when the header says so.
    pub origin: Option<&'static str>,
    pub mappings: Vec<Mapping>,
}

/// The file's data rows seen so far that could not be read, checked or written.
#[derive(Debug, Clone, Serialize)]
pub struct RowError {
    /// The column's header, when one cell is at fault.
    pub column: Option<String>,
    /// The field as the check named it (`phones[0]`, `custom.budget`).
    pub field: String,
    pub key: String,
    pub args: Map<String, Value>,
}

impl RowError {
    fn from_field(e: &FieldError, column: Option<String>) -> RowError {
        RowError {
            column,
            field: e.field.clone(),
            key: e.key.to_string(),
            args: e
                .args
                .iter()
                .map(|(k, v)| (k.to_string(), Value::String(v.clone())))
                .collect(),
        }
    }

    fn file(e: &FileError) -> RowError {
        let mut args = Map::new();
        if let FileError::Row { reason, .. } = e {
            args.insert("reason".into(), Value::String(reason.clone()));
        }
        RowError {
            column: None,
            field: String::new(),
            key: e.key().to_string(),
            args,
        }
    }

    fn plain(key: &str, column: Option<String>) -> RowError {
        RowError {
            column,
            field: String::new(),
            key: key.to_string(),
            args: Map::new(),
        }
    }
}

fn file_error(e: FileError) -> AppError {
    let mut fe = FieldError::new("file", e.key());
    match &e {
        FileError::TooLarge { max } => fe = fe.with("max", format!("{} MiB", max >> 20)),
        FileError::NotWhatNameSays { named, found } => {
            fe = fe
                .with("named", named.to_string())
                .with("found", found.to_string())
        }
        FileError::ZipBomb { max } => fe = fe.with("max", format!("{} MiB", max >> 20)),
        FileError::Row { row, reason } => {
            fe = fe
                .with("row", row.to_string())
                .with("reason", reason.clone())
        }
        FileError::Spreadsheet(r) => fe = fe.with("reason", r.clone()),
        FileError::NoSuchSheet(s) => fe = fe.with("name", s.clone()),
        _ => {}
    }
    AppError::Invalid(fe.into())
}

/// The object an import into `plural` (`contacts`) fills, if it is one we import.
pub fn importable(plural: &str) -> Option<&'static ObjectDef> {
    OBJECTS
        .iter()
        .map(|o| ObjectDef::get(*o))
        .find(|d| d.plural == plural)
}

/// The import's object, which the caller must be able to create.
fn object_of(import: &Import) -> AppResult<&'static ObjectDef> {
    importable(&import.object)
        .ok_or_else(|| AppError::Internal(format!("import of unknown object {}", import.object)))
}

/// Reads a stored file back, chunk by chunk, on a blocking thread.
struct ChunkReader {
    db: hamkor_store::Db,
    id: Id,
    seq: i64,
    buf: Vec<u8>,
    pos: usize,
    handle: tokio::runtime::Handle,
}

impl Read for ChunkReader {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        if self.pos == self.buf.len() {
            let mut db = self.db.clone();
            let (id, seq) = (self.id, self.seq);
            let next = self
                .handle
                .block_on(async move { imports::chunk(&mut db, id, seq).await })
                .map_err(|e| std::io::Error::other(e.to_string()))?;
            match next {
                Some(data) => {
                    self.buf = data;
                    self.pos = 0;
                    self.seq += 1;
                }
                None => return Ok(0),
            }
        }
        let n = out.len().min(self.buf.len() - self.pos);
        out[..n].copy_from_slice(&self.buf[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

/// A row turned into a record's input, with what must be looked up in the database.
#[derive(Debug, Clone)]
struct Candidate {
    input: RecordInput,
    /// The record to update, from the `id` column.
    id: Option<Id>,
    /// A user's e-mail from the `owner` column.
    owner: Option<String>,
    /// Contacts: the account's name and the contact's position there.
    account: Option<String>,
    position: Option<String>,
    /// Interactions: an account's name or id, a contact's e-mail or id.
    account_ref: Option<String>,
    contact_ref: Option<String>,
    /// Keys another record with the same value is a duplicate by: `("email", "a@b.uz")`.
    keys: Vec<(&'static str, String)>,
    /// A new account's or contact's search and duplicate index entries, worked out on the
    /// reading thread (see [`records::IndexEntries`]).
    index: Option<records::IndexEntries>,
}

/// One data row after the check.
struct Prepared {
    /// The row's place among the data rows (from 0).
    index: i64,
    /// Its number in the file.
    number: i64,
    cells: Vec<String>,
    outcome: Result<Candidate, Vec<RowError>>,
}

/// An object's own checks of a record about to be written that need no database.
type Prepare = fn(
    Option<&records::Record>,
    &mut hamkor_domain::input::RecordInput,
) -> Result<(), hamkor_store::StoreError>;

/// What the pure part of the check needs.
struct Checker {
    def: &'static ObjectDef,
    customs: Vec<CustomFieldDef>,
    cc: String,
    headers: Vec<String>,
    columns: Vec<Option<String>>,
    day_first: bool,
    /// The kind of phone and of e-mail each column's header tells, worked out once.
    phone_kinds: Vec<&'static str>,
    email_kinds: Vec<&'static str>,
}

/// A date as `YYYY-MM-DD` from the ways people write one: `2024-02-29`, `29.02.2024`,
/// `29/02/2024` (or `02/29/2024`, decided by the day being over 12, else by
/// `day_first`), `20240229`, and a spreadsheet's date with a time.
pub fn parse_date(s: &str, day_first: bool) -> Option<String> {
    let s = s.trim();
    let s = s.split(['T', ' ']).next().unwrap_or(s);
    let ok = |y: i32, m: u32, d: u32| {
        chrono::NaiveDate::from_ymd_opt(y, m, d).map(|d| d.format("%Y-%m-%d").to_string())
    };
    let year = |y: &str| -> Option<i32> {
        let v: i32 = y.parse().ok()?;
        match y.len() {
            4 => Some(v),
            2 => Some(if v > 50 { 1900 + v } else { 2000 + v }),
            _ => None,
        }
    };
    if s.len() == 8 && s.chars().all(|c| c.is_ascii_digit()) {
        return ok(
            s[..4].parse().ok()?,
            s[4..6].parse().ok()?,
            s[6..].parse().ok()?,
        );
    }
    let parts: Vec<&str> = s.split(['-', '.', '/']).collect();
    if parts.len() != 3
        || parts
            .iter()
            .any(|p| p.is_empty() || !p.chars().all(|c| c.is_ascii_digit()))
    {
        return None;
    }
    let n = |i: usize| parts[i].parse::<u32>().ok();
    if parts[0].len() == 4 {
        return ok(year(parts[0])?, n(1)?, n(2)?);
    }
    let (a, b, y) = (n(0)?, n(1)?, year(parts[2])?);
    if s.contains('.') || s.contains('-') {
        return ok(y, b, a);
    }
    // Slashes: the day is whichever is over 12, else as the user said.
    if a > 12 {
        ok(y, b, a)
    } else if b > 12 || !day_first {
        ok(y, a, b)
    } else {
        ok(y, b, a)
    }
}

/// An amount as a plain decimal: `1 234,50` → `1234.50`.
fn parse_decimal(s: &str) -> String {
    let t: String = s
        .trim()
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '\u{a0}' && *c != '\'')
        .collect();
    if t.contains(',') && t.contains('.') {
        // The last one is the decimal mark.
        if t.rfind(',') > t.rfind('.') {
            t.replace('.', "").replace(',', ".")
        } else {
            t.replace(',', "")
        }
    } else {
        t.replace(',', ".")
    }
}

fn parse_bool(s: &str) -> Option<bool> {
    match names::fold(s.trim()).as_str() {
        "1" | "true" | "yes" | "y" | "x" | "da" | "ha" | "on" | "+" => Some(true),
        "0" | "false" | "no" | "n" | "net" | "yoq" | "yo'q" | "off" | "-" => Some(false),
        _ => None,
    }
}

/// The parts of a cell that holds several values (`a; b`, `a, b`, Google's `a ::: b`).
fn split_list(s: &str) -> impl Iterator<Item = &str> {
    s.split([';', '\n'])
        .flat_map(|p| p.split(":::"))
        .map(str::trim)
        .filter(|p| !p.is_empty())
}

/// The kind of a phone or e-mail that its column's header tells.
fn kind_from_header(header: &str, phone: bool) -> &'static str {
    let h = names::fold(header);
    let any = |words: &[&str]| words.iter().any(|w| h.contains(&names::fold(w)));
    if phone {
        if any(&["fax", "факс", "faks"]) {
            "fax"
        } else if any(&["mobile", "cell", "моб", "mobil"]) {
            "mobile"
        } else if any(&["business", "work", "company", "рабоч", "служеб", "ish"]) {
            "work"
        } else if any(&["home", "домаш", "uy"]) {
            "home"
        } else {
            "mobile"
        }
    } else if any(&["home", "personal", "домаш", "личн", "shaxsiy"]) {
        "personal"
    } else {
        "work"
    }
}

impl Checker {
    fn new(
        def: &'static ObjectDef,
        customs: Vec<CustomFieldDef>,
        cc: String,
        headers: Vec<String>,
        columns: Vec<Option<String>>,
        day_first: bool,
    ) -> Checker {
        let phone_kinds = headers.iter().map(|h| kind_from_header(h, true)).collect();
        let email_kinds = headers.iter().map(|h| kind_from_header(h, false)).collect();
        Checker {
            def,
            customs,
            cc,
            headers,
            columns,
            day_first,
            phone_kinds,
            email_kinds,
        }
    }

    fn column_of(&self, field: &str) -> Option<String> {
        let base = field.split(['[', '.']).next().unwrap_or(field);
        let want = if field.starts_with("custom.") {
            field.split('[').next().unwrap_or(field).to_string()
        } else {
            base.to_string()
        };
        self.columns
            .iter()
            .position(|c| c.as_deref() == Some(want.as_str()))
            .and_then(|i| self.headers.get(i).cloned())
    }

    fn check(&self, cells: &[String]) -> Result<Candidate, Vec<RowError>> {
        let mut body = Map::new();
        let mut custom = Map::new();
        let mut errors = Vec::new();
        // For list fields filled from several columns: the column of each item.
        let mut origins: HashMap<String, Vec<String>> = HashMap::new();
        let column_of = |field: &str, origins: &HashMap<String, Vec<String>>| -> Option<String> {
            let (base, rest) = field.split_once('[').unwrap_or((field, ""));
            let n: Option<usize> = rest.split(']').next().and_then(|x| x.parse().ok());
            n.and_then(|n| origins.get(base)?.get(n).cloned())
                .or_else(|| self.column_of(field))
        };
        let mut cand = Candidate {
            input: RecordInput::default(),
            id: None,
            owner: None,
            account: None,
            position: None,
            account_ref: None,
            contact_ref: None,
            keys: Vec::new(),
            index: None,
        };
        for (i, target) in self.columns.iter().enumerate() {
            let Some(target) = target.as_deref() else {
                continue;
            };
            let cell = cells.get(i).map(String::as_str).unwrap_or("").trim();
            if cell.is_empty() {
                continue;
            }
            let header = self.headers.get(i).cloned().unwrap_or_default();
            match target {
                "id" => match cell.parse::<Id>() {
                    Ok(id) => cand.id = Some(id),
                    Err(_) => errors.push(RowError::plain("error-id", Some(header))),
                },
                "owner" => cand.owner = Some(cell.to_lowercase()),
                "account" if self.def.object == ObjectType::Contact => {
                    cand.account = Some(cell.to_string())
                }
                "position" if self.def.object == ObjectType::Contact => {
                    cand.position = Some(cell.to_string())
                }
                "account_id" if self.def.object == ObjectType::Interaction => {
                    cand.account_ref = Some(cell.to_string())
                }
                "contact_id" if self.def.object == ObjectType::Interaction => {
                    cand.contact_ref = Some(cell.to_string())
                }
                t if t.starts_with("custom.") => {
                    let key = &t["custom.".len()..];
                    let Some(def) = self.customs.iter().find(|c| c.key == key) else {
                        continue;
                    };
                    let value = match def.kind {
                        CustomKind::Number => json!(parse_decimal(cell)),
                        CustomKind::Money => {
                            let (amount, currency): (String, String) = {
                                let letters: String =
                                    cell.chars().filter(|c| c.is_ascii_alphabetic()).collect();
                                let digits: String =
                                    cell.chars().filter(|c| !c.is_ascii_alphabetic()).collect();
                                (parse_decimal(&digits), letters.to_ascii_uppercase())
                            };
                            json!({"amount": amount, "currency": currency})
                        }
                        CustomKind::Date => json!(
                            parse_date(cell, self.day_first).unwrap_or_else(|| cell.to_string())
                        ),
                        CustomKind::Checkbox => match parse_bool(cell) {
                            Some(b) => json!(b),
                            None => json!(cell),
                        },
                        CustomKind::MultiPicklist => json!(split_list(cell).collect::<Vec<_>>()),
                        _ => json!(cell),
                    };
                    custom.insert(key.to_string(), value);
                }
                field => {
                    let Some(f) = self.def.field(field) else {
                        continue;
                    };
                    let value = match f.kind {
                        FieldKind::Phones => {
                            let kind = self.phone_kinds.get(i).copied().unwrap_or("mobile");
                            Value::Array(
                                split_list(cell)
                                    .map(|p| json!({"number": p, "kind": kind}))
                                    .collect(),
                            )
                        }
                        FieldKind::Emails => {
                            let kind = self.email_kinds.get(i).copied().unwrap_or("work");
                            Value::Array(
                                split_list(cell)
                                    .flat_map(|p| p.split(','))
                                    .map(str::trim)
                                    .filter(|p| !p.is_empty())
                                    .map(|p| json!({"address": p, "kind": kind}))
                                    .collect(),
                            )
                        }
                        FieldKind::Addresses => {
                            Value::Array(vec![json!({"address": cell, "kind": "actual"})])
                        }
                        FieldKind::Messengers => Value::Array(vec![json!({"handle": cell})]),
                        FieldKind::Tags | FieldKind::Picklist(_) => Value::Array(
                            split_list(cell)
                                .flat_map(|p| p.split(','))
                                .map(str::trim)
                                .filter(|p| !p.is_empty())
                                .map(|p| json!(p))
                                .collect(),
                        ),
                        FieldKind::Date => json!(
                            parse_date(cell, self.day_first).unwrap_or_else(|| cell.to_string())
                        ),
                        FieldKind::DateTime => {
                            let date_only =
                                parse_date(cell, self.day_first).filter(|_| !cell.contains(':'));
                            match date_only {
                                Some(d) => json!(format!("{d}T00:00:00Z")),
                                None => json!(cell.replace(' ', "T")),
                            }
                        }
                        FieldKind::Amount => json!(parse_decimal(cell)),
                        FieldKind::Bool => match parse_bool(cell) {
                            Some(b) => json!(b),
                            None => json!(cell),
                        },
                        FieldKind::Choice(values) => {
                            let v = cell.to_lowercase().replace([' ', '-'], "_");
                            if values.contains(&v.as_str()) {
                                json!(v)
                            } else if let Some(code) = choice_by_label(values, cell) {
                                json!(code)
                            } else if !values.iter().any(|x| x.eq_ignore_ascii_case(cell)) {
                                json!(v)
                            } else {
                                json!(cell)
                            }
                        }
                        _ => json!(cell),
                    };
                    if let Value::Array(items) = &value {
                        origins
                            .entry(field.to_string())
                            .or_default()
                            .extend(std::iter::repeat_n(header.clone(), items.len()));
                    }
                    match (body.get_mut(field), value) {
                        (Some(Value::Array(have)), Value::Array(more)) => have.extend(more),
                        (_, v) => {
                            body.insert(field.to_string(), v);
                        }
                    }
                }
            }
        }
        if !custom.is_empty() {
            body.insert("custom".into(), Value::Object(custom));
        }
        let body = Value::Object(body);
        let mode = if cand.id.is_some() {
            Mode::Patch
        } else {
            Mode::Create
        };
        match parse_record_input(self.def, &self.customs, &body, mode, &self.cc) {
            Ok(input) => cand.input = input,
            Err(v) => {
                for e in &v.0 {
                    errors.push(RowError::from_field(e, column_of(&e.field, &origins)));
                }
            }
        }
        if errors.is_empty() && cand.id.is_none() {
            if let Err(AppError::Invalid(v)) = crate::records::object_rules(self.def, &body, None) {
                for e in &v.0 {
                    errors.push(RowError::from_field(e, self.column_of(&e.field)));
                }
            }
            // The rules a lead or a product is checked by as it is written, so that the
            // check says what the run will do.
            let prepare = match self.def.object {
                ObjectType::Lead => Some(hamkor_store::leads::prepare_lead as Prepare),
                ObjectType::Product => Some(hamkor_store::sales::prepare_product as Prepare),
                _ => None,
            };
            if let Some(prepare) = prepare {
                let mut probe = cand.input.clone();
                if let Err(hamkor_store::StoreError::Invalid(v)) = prepare(None, &mut probe) {
                    for e in &v.0 {
                        errors.push(RowError::from_field(e, self.column_of(&e.field)));
                    }
                }
            }
            if self.def.object == ObjectType::Interaction
                && cand.account_ref.is_none()
                && cand.contact_ref.is_none()
            {
                errors.push(RowError::plain("error-import-no-client", None));
            }
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        cand.keys = keys_of(self.def, &cand.input, &self.cc);
        if cand.id.is_none() && matches!(self.def.object, ObjectType::Account | ObjectType::Contact)
        {
            cand.index = Some(records::IndexEntries::of(self.def, &cand.input.fields));
        }
        Ok(cand)
    }
}

/// What a row is judged a duplicate by. Accounts and contacts: the strong keys of the
/// duplicate index (phones, e-mails with Gmail's rules, tax ids); a name alone is too
/// common to judge a row by, and the full scan finds those. Others: e-mails, phones, a
/// product's code.
fn keys_of(def: &ObjectDef, input: &RecordInput, cc: &str) -> Vec<(&'static str, String)> {
    if hamkor_domain::dedup::applies(def.object) {
        let mut keys: Vec<(&'static str, String)> =
            hamkor_domain::dedup::Profile::of(def.object, &input.fields, cc)
                .keys()
                .into_iter()
                .filter(|k| !k.kind.is_name())
                .map(|k| (k.kind.as_str(), k.key))
                .collect();
        keys.sort();
        keys.dedup();
        return keys;
    }
    duplicate_keys(def, input)
}

/// What a record is recognised by: its e-mails, its phones (E.164), its tax id, a
/// product's code.
fn duplicate_keys(def: &ObjectDef, input: &RecordInput) -> Vec<(&'static str, String)> {
    let mut keys = Vec::new();
    for e in input
        .fields
        .get("emails")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if let Some(a) = e.get("address").and_then(Value::as_str) {
            keys.push(("email", a.to_lowercase()));
        }
    }
    for p in input
        .fields
        .get("phones")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if let Some(n) = p.get("e164").and_then(Value::as_str) {
            keys.push(("phone", n.trim_start_matches('+').to_string()));
        }
    }
    if let Some(t) = input.fields.get("tax_id").and_then(Value::as_str) {
        keys.push(("tax_id", t.to_string()));
    }
    if def.object == ObjectType::Product
        && let Some(c) = input.fields.get("code").and_then(Value::as_str)
    {
        keys.push(("code", c.to_lowercase()));
    }
    keys.sort();
    keys.dedup();
    keys
}

/// The class a row falls in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    New,
    Update,
    Duplicate,
    Error,
}

impl Class {
    fn as_str(self) -> &'static str {
        match self {
            Class::New => "new",
            Class::Update => "update",
            Class::Duplicate => "duplicate",
            Class::Error => "error",
        }
    }
}

/// The job's running totals and examples.
#[derive(Debug, Default)]
struct Tally {
    counts: HashMap<&'static str, i64>,
    examples: HashMap<&'static str, Vec<Value>>,
    created: i64,
    updated: i64,
    skipped: i64,
    rejected: i64,
    started: Option<std::time::Instant>,
}

impl Tally {
    fn note(&mut self, class: Class, example: impl FnOnce() -> Value) {
        *self.counts.entry(class.as_str()).or_default() += 1;
        let list = self.examples.entry(class.as_str()).or_default();
        if list.len() < EXAMPLES {
            list.push(example());
        }
    }

    fn report(&self, rows: i64) -> Value {
        let secs = self
            .started
            .map(|s| s.elapsed().as_secs_f64())
            .unwrap_or(0.0);
        json!({
            "counts": self.counts,
            "examples": self.examples,
            "rows": rows,
            "rate": if secs > 0.0 { (rows as f64 / secs).round() } else { 0.0 },
        })
    }

    fn from_report(report: &Value, import: &Import) -> Tally {
        fn classes<T>(
            report: &Value,
            part: &str,
            f: impl Fn(&Value) -> T,
        ) -> HashMap<&'static str, T> {
            report
                .get(part)
                .and_then(Value::as_object)
                .into_iter()
                .flatten()
                .filter_map(|(k, v)| {
                    let class = [Class::New, Class::Update, Class::Duplicate, Class::Error]
                        .into_iter()
                        .find(|c| c.as_str() == k)?;
                    Some((class.as_str(), f(v)))
                })
                .collect()
        }
        let counts = classes(report, "counts", |v| v.as_i64().unwrap_or(0));
        let examples = classes(report, "examples", |v| {
            v.as_array().cloned().unwrap_or_default()
        });
        Tally {
            counts,
            examples,
            created: import.created,
            updated: import.updated,
            skipped: import.skipped,
            rejected: import.rejected,
            started: Some(std::time::Instant::now()),
        }
    }
}

impl App {
    fn may_import(actor: &Actor, def: &ObjectDef) -> AppResult<()> {
        if actor.scope(def.object, Action::Create) == Scope::None {
            return Err(AppError::Forbidden);
        }
        Ok(())
    }

    /// An import the actor may see: their own, or any for an administrator.
    pub async fn import(&self, actor: &Actor, id: Id) -> AppResult<Import> {
        let mut db = self.db.clone();
        let import = imports::get(&mut db, id).await?.ok_or(AppError::NotFound)?;
        if import.owner_id != actor.user_id && actor.role != hamkor_domain::Role::Administrator {
            return Err(AppError::NotFound);
        }
        Ok(import)
    }

    /// The actor's imports, newest first (an administrator sees everyone's).
    pub async fn imports(&self, actor: &Actor) -> AppResult<Vec<Import>> {
        let mut db = self.db.clone();
        let owner = (actor.role != hamkor_domain::Role::Administrator).then_some(actor.user_id);
        Ok(imports::list(&mut db, owner, 100).await?)
    }

    /// Takes a file for an import into `object` (a plural: `contacts`): recognises it
    /// and stores it. `head` is the file's start; `rest` yields the remaining pieces.
    pub async fn upload_import(
        &self,
        actor: &Actor,
        object: &str,
        file_name: &str,
        mut next: impl AsyncChunks,
    ) -> AppResult<Import> {
        let def = importable(object)
            .ok_or_else(|| AppError::from(FieldError::new("object", "error-import-object")))?;
        Self::may_import(actor, def)?;
        let limits = Limits::default();
        let file_name: String = file_name
            .rsplit(['/', '\\'])
            .next()
            .unwrap_or("")
            .chars()
            .filter(|c| !c.is_control())
            .take(200)
            .collect();
        // Read enough to recognise the file: 64 KiB of text, or a spreadsheet whole.
        let mut pieces: Vec<Vec<u8>> = Vec::new();
        let mut size: u64 = 0;
        let spreadsheet = |name: &str| {
            matches!(
                Format::from_name(name),
                Some(Format::Xlsx | Format::Xls | Format::Ods)
            )
        };
        let mut head: Vec<u8> = Vec::new();
        let mut done = false;
        while !done
            && (head.len() < 64 * 1024
                || spreadsheet(&file_name)
                || head.starts_with(b"PK")
                || head.starts_with(&[0xD0, 0xCF]))
        {
            match next.next_chunk().await? {
                Some(piece) => {
                    size += piece.len() as u64;
                    if size > limits.max_bytes {
                        return Err(file_error(FileError::TooLarge {
                            max: limits.max_bytes,
                        }));
                    }
                    head.extend_from_slice(&piece);
                }
                None => done = true,
            }
        }
        let inspection = hamkor_import::inspect(
            &file_name,
            &head,
            if done {
                size
            } else {
                size.max(head.len() as u64 + 1)
            },
            &limits,
        )
        .map_err(file_error)?;
        pieces.push(head);
        let id = Id::new();
        let mut tx = self.db.begin().await?;
        imports::insert(
            &mut tx,
            &imports::NewImport {
                id,
                object: def.plural,
                file_name: &file_name,
                format: inspection.format.as_str(),
                encoding: inspection.encoding,
                delimiter: inspection.delimiter.map(|d| (d as char).to_string()),
                sheets: &inspection.sheets,
                size: 0,
                owner_id: actor.user_id,
            },
        )
        .await?;
        let mut seq = 0i64;
        let mut pending: Vec<u8> = pieces.pop().unwrap_or_default();
        loop {
            while pending.len() >= CHUNK {
                let rest = pending.split_off(CHUNK);
                imports::add_chunk(&mut tx, id, seq, std::mem::replace(&mut pending, rest)).await?;
                seq += 1;
            }
            if done {
                break;
            }
            match next.next_chunk().await? {
                Some(piece) => {
                    size += piece.len() as u64;
                    if size > limits.max_bytes {
                        return Err(file_error(FileError::TooLarge {
                            max: limits.max_bytes,
                        }));
                    }
                    pending.extend_from_slice(&piece);
                }
                None => done = true,
            }
        }
        if !pending.is_empty() {
            imports::add_chunk(&mut tx, id, seq, pending).await?;
        }
        tx.execute(
            &Sql::new("UPDATE imports SET size = $1 WHERE id = $2")
                .arg(size as i64)
                .arg(id),
        )
        .await?;
        tx.commit().await?;
        self.import(actor, id).await
    }

    fn inspection(import: &Import) -> AppResult<Inspection> {
        Ok(Inspection {
            format: Format::parse(&import.format)
                .ok_or_else(|| AppError::Internal("unknown format".into()))?,
            encoding: import.encoding.as_deref().and_then(|e| encoding_name(e)),
            delimiter: import.delimiter.as_deref().and_then(|d| d.bytes().next()),
            sheets: import.sheets.clone(),
        })
    }

    /// Opens the stored file as a table on a blocking thread and hands it to `f`.
    async fn with_table<T: Send + 'static>(
        &self,
        import: &Import,
        sheet: Option<String>,
        f: impl FnOnce(hamkor_import::Table) -> T + Send + 'static,
    ) -> AppResult<T> {
        let inspection = Self::inspection(import)?;
        let reader = ChunkReader {
            db: self.db.clone(),
            id: import.id,
            seq: 0,
            buf: Vec::new(),
            pos: 0,
            handle: tokio::runtime::Handle::current(),
        };
        tokio::task::spawn_blocking(move || {
            let table = hamkor_import::open(
                Box::new(reader),
                &inspection,
                sheet.as_deref(),
                &Limits::default(),
            )?;
            Ok::<T, FileError>(f(table))
        })
        .await
        .map_err(|e| AppError::Internal(e.to_string()))?
        .map_err(file_error)
    }

    /// The header, the first rows and suggestions for the wizard's mapping step.
    pub async fn import_preview(
        &self,
        actor: &Actor,
        id: Id,
        sheet: Option<String>,
    ) -> AppResult<Preview> {
        let import = self.import(actor, id).await?;
        let def = object_of(&import)?;
        let (headers, rows) = self
            .with_table(&import, sheet, |table| {
                let rows: Vec<Vec<String>> = table
                    .rows
                    .take(10)
                    .filter_map(Result::ok)
                    .map(|r| r.cells)
                    .collect();
                (table.headers, rows)
            })
            .await?;
        let customs = self.custom_fields(def.object).await?;
        let targets = targets(def, &customs);
        let mut db = self.db.clone();
        let mappings = imports::mappings(&mut db, def.plural).await?;
        Ok(Preview {
            suggested: suggest(&headers, &targets),
            origin: hamkor_import::origin(&headers).map(|o| match o {
                hamkor_import::Origin::Outlook => "outlook",
                hamkor_import::Origin::Google => "google",
            }),
            headers,
            rows,
            targets,
            mappings,
        })
    }

    /// The saved mappings of imports into `object`.
    pub async fn import_mappings(&self, actor: &Actor, object: &str) -> AppResult<Vec<Mapping>> {
        let def = importable(object)
            .ok_or_else(|| AppError::from(FieldError::new("object", "error-import-object")))?;
        Self::may_import(actor, def)?;
        let mut db = self.db.clone();
        Ok(imports::mappings(&mut db, def.plural).await?)
    }

    /// Saves a mapping (header → field) under a name, for the next import of the same
    /// kind of file.
    pub async fn save_import_mapping(
        &self,
        actor: &Actor,
        object: &str,
        name: &str,
        headers: &[String],
        columns: &[Option<String>],
    ) -> AppResult<()> {
        let def = importable(object)
            .ok_or_else(|| AppError::from(FieldError::new("object", "error-import-object")))?;
        Self::may_import(actor, def)?;
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
            return Err(FieldError::new("mapping_name", "error-too-long")
                .with("max", "100")
                .into());
        }
        let map: Map<String, Value> = headers
            .iter()
            .zip(columns)
            .filter_map(|(h, c)| Some((h.clone(), Value::String(c.clone()?))))
            .collect();
        let mut db = self.db.clone();
        imports::save_mapping(
            &mut db,
            &Mapping {
                id: Id::new(),
                object: def.plural.to_string(),
                name: name.to_string(),
                columns: Value::Object(map),
                owner_id: actor.user_id,
            },
        )
        .await?;
        Ok(())
    }

    /// Checks the user's choices: a known field for each column, each scalar field once.
    async fn check_settings(&self, def: &ObjectDef, s: &Settings, width: usize) -> AppResult<()> {
        let customs = self.custom_fields(def.object).await?;
        let targets = targets(def, &customs);
        let mut errors = ValidationErrors::default();
        if s.columns.len() > width {
            errors.push(
                FieldError::new("columns", "error-import-columns").with("max", width.to_string()),
            );
        }
        let mut seen: Vec<&str> = Vec::new();
        for (i, c) in s.columns.iter().enumerate() {
            let Some(c) = c.as_deref() else {
                continue;
            };
            match targets.iter().find(|t| t.key == c) {
                None => errors.push(
                    FieldError::new(format!("columns[{i}]"), "error-import-target")
                        .with("name", c.to_string()),
                ),
                Some(t) if !t.list && seen.contains(&c) => errors.push(
                    FieldError::new(format!("columns[{i}]"), "error-import-column-twice")
                        .with("name", c.to_string()),
                ),
                Some(_) => seen.push(c),
            }
        }
        if s.columns.iter().all(Option::is_none) {
            errors.push(FieldError::new("columns", "error-import-nothing"));
        }
        if s.on_update == Choice::Create {
            errors.push(FieldError::new("on_update", "error-choice"));
        }
        Ok(errors.into_result()?)
    }

    /// Starts a check (`dry_run`) or a run of an uploaded import with these choices, in
    /// the background. Answers at once; the import's status tells how it goes.
    pub async fn start_import(
        &self,
        actor: &Actor,
        id: Id,
        settings: Settings,
        dry_run: bool,
    ) -> AppResult<Import> {
        let import = self.import(actor, id).await?;
        let def = object_of(&import)?;
        Self::may_import(actor, def)?;
        if !matches!(
            import.status.as_str(),
            "uploaded" | "checked" | "cancelled" | "failed"
        ) {
            return Err(AppError::Conflict(format!(
                "the import is {}",
                import.status
            )));
        }
        if let Some(s) = &settings.sheet
            && !import.sheets.is_empty()
            && !import.sheets.contains(s)
        {
            return Err(FieldError::new("sheet", "error-import-sheet")
                .with("name", s.clone())
                .into());
        }
        let headers = self
            .with_table(&import, settings.sheet.clone(), |t| t.headers)
            .await?;
        self.check_settings(def, &settings, headers.len()).await?;
        let mut db = self.db.clone();
        // A run that stopped after writing some batches (stopped, or failed) goes on from
        // where it stopped, with the same choices; starting it over would write its first
        // rows twice. Undo it first to start afresh.
        let written = !imports::batches(&mut db, id).await?.is_empty();
        if written {
            let saved: Settings =
                serde_json::from_value(import.settings.clone()).unwrap_or_default();
            if dry_run || saved != settings {
                return Err(AppError::Conflict(
                    "the import has written rows: run it on with the same choices, or undo it"
                        .into(),
                ));
            }
            imports::resume(&mut db, id, "running").await?;
        } else {
            let status = if dry_run { "checking" } else { "running" };
            imports::start(
                &mut db,
                id,
                &serde_json::to_value(&settings).unwrap_or_default(),
                status,
            )
            .await?;
        }
        let app = self.clone();
        tokio::spawn(async move {
            app.drive_import(id).await;
        });
        self.import(actor, id).await
    }

    /// Asks a running check or run to stop after its current batch.
    pub async fn cancel_import(&self, actor: &Actor, id: Id) -> AppResult<Import> {
        let import = self.import(actor, id).await?;
        if !matches!(import.status.as_str(), "checking" | "running") {
            return Err(AppError::Conflict(format!(
                "the import is {}",
                import.status
            )));
        }
        let mut db = self.db.clone();
        imports::request_cancel(&mut db, id).await?;
        self.import(actor, id).await
    }

    /// Takes up every job that should be running and that no server holds: on start, and
    /// now and then, so a job whose server died is finished by another.
    pub async fn resume_imports(&self) -> AppResult<usize> {
        let mut db = self.db.clone();
        let ids = imports::orphans(&mut db).await?;
        let n = ids.len();
        for id in ids {
            let app = self.clone();
            tokio::spawn(async move { app.drive_import(id).await });
        }
        Ok(n)
    }

    /// Runs a job to its end (or until cancelled), if this server can claim it. While it
    /// runs, a heartbeat renews the claim, so a slow batch is not mistaken for a dead
    /// server; every batch is written only if the claim is still this run's.
    pub async fn drive_import(&self, id: Id) {
        {
            let mut driving = DRIVING.lock().unwrap_or_else(|e| e.into_inner());
            if !driving.insert(id) {
                return;
            }
        }
        let owner = Id::new().to_string();
        let mut db = self.db.clone();
        match imports::claim(&mut db, id, lease(), &owner).await {
            Ok(true) => {
                let heartbeat = {
                    let db = self.db.clone();
                    let owner = owner.clone();
                    tokio::spawn(async move {
                        let every = std::time::Duration::from_millis(
                            (lease_secs() * 1000 / 3).max(200) as u64,
                        );
                        loop {
                            tokio::time::sleep(every).await;
                            let mut db = db.clone();
                            if !matches!(
                                imports::renew(&mut db, id, lease(), &owner).await,
                                Ok(true)
                            ) {
                                break;
                            }
                        }
                    })
                };
                let result = self.run_job(id, &owner).await;
                heartbeat.abort();
                match result {
                    Err(AppError::Conflict(c)) if c == LOST => {
                        tracing::info!(import = %id, "another run holds the import now");
                    }
                    Err(AppError::Unavailable(_)) => {
                        // Not the import's fault: its claim runs out and a scheduler
                        // takes it up again from its last written batch.
                        tracing::warn!(import = %id, "the database is busy; the import goes on later");
                    }
                    Err(e) => {
                        tracing::warn!(import = %id, error = ?e, "import failed");
                        let message = match &e {
                            AppError::Invalid(v) => {
                                v.0.first().map(|f| f.key.to_string()).unwrap_or_default()
                            }
                            other => other.to_string(),
                        };
                        if !matches!(
                            imports::finish(&mut db, id, "failed", None, Some(&message), &owner)
                                .await,
                            Ok(true)
                        ) {
                            tracing::info!(import = %id, "another run holds the import now");
                        }
                    }
                    Ok(()) => {}
                }
            }
            Ok(false) => {}
            Err(e) => tracing::warn!(error = ?e, "claiming an import failed"),
        }
        DRIVING
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&id);
    }

    async fn job_actor(&self, import: &Import) -> AppResult<Actor> {
        let mut db = self.db.clone();
        let user = users::by_id(&mut db, import.owner_id)
            .await?
            .ok_or(AppError::NotFound)?;
        if user.disabled {
            return Err(AppError::Forbidden);
        }
        self.actor(&user).await
    }

    async fn run_job(&self, id: Id, owner: &str) -> AppResult<()> {
        let mut db = self.db.clone();
        let import = imports::get(&mut db, id).await?.ok_or(AppError::NotFound)?;
        // Its batches, one after another, leave SQLite no moment to start the WAL again:
        // keep it short while it runs.
        let _bulk = self.db.bulk_writes();
        if import.status == "undoing" {
            return self.undo_job(&import, owner).await;
        }
        let dry_run = import.status == "checking";
        let actor = self.job_actor(&import).await?;
        let def = object_of(&import)?;
        let settings: Settings =
            serde_json::from_value(import.settings.clone()).unwrap_or_default();
        let customs = self.custom_fields(def.object).await?;
        let cc = settings::default_country_code(&mut db).await?;
        // A run that may not leave bad rows out checks the whole file first.
        if !dry_run && !settings.skip_bad_rows && import.next_row == 0 {
            let bad = self
                .count_bad_rows(&import, def, &settings, &customs, &cc)
                .await?;
            if bad > 0 {
                return Err(FieldError::new("file", "error-import-bad-rows")
                    .with("count", bad.to_string())
                    .into());
            }
        }
        // Checked batches wait here for the writer. It is the slower of the two, so more
        // room would only hold more rows in memory (a checked batch is a few megabytes).
        let (tx_rows, mut rx) = tokio::sync::mpsc::channel::<Vec<Prepared>>(1);
        let start = import.next_row;
        let settings2 = settings.clone();
        let customs2 = customs.clone();
        let cc2 = cc.clone();
        let reader = self.with_table(&import, settings.sheet.clone(), move |table| {
            let checker = Checker::new(
                def,
                customs2,
                cc2,
                table.headers.clone(),
                settings2.columns.clone(),
                settings2.day_first,
            );
            let mut batch = Vec::with_capacity(BATCH);
            let mut index: i64 = 0;
            for row in table.rows {
                if index < start {
                    index += 1;
                    continue;
                }
                let prepared = match row {
                    Ok(r) => Prepared {
                        index,
                        number: r.number as i64,
                        outcome: checker.check(&r.cells),
                        cells: r.cells,
                    },
                    Err(e) => Prepared {
                        index,
                        number: match &e {
                            FileError::Row { row, .. } => *row as i64,
                            _ => 0,
                        },
                        cells: Vec::new(),
                        outcome: Err(vec![RowError::file(&e)]),
                    },
                };
                index += 1;
                batch.push(prepared);
                if batch.len() == BATCH
                    && tx_rows
                        .blocking_send(std::mem::replace(&mut batch, Vec::with_capacity(BATCH)))
                        .is_err()
                {
                    return index;
                }
            }
            if !batch.is_empty() {
                let _ = tx_rows.blocking_send(batch);
            }
            index
        });
        let writer = async {
            let mut tally = Tally::from_report(&import.report, &import);
            let mut seen = self.seen_keys(&import).await?;
            // Accounts found or made by name, for the whole run.
            let mut names: HashMap<String, Id> = HashMap::new();
            let mut next_row = start;
            while let Some(batch) = rx.recv().await {
                let mut db = self.db.clone();
                if imports::cancel_requested(&mut db, id).await? {
                    if !imports::finish(&mut db, id, "cancelled", None, None, owner).await? {
                        return Err(AppError::Conflict(LOST.into()));
                    }
                    return Ok::<bool, AppError>(false);
                }
                next_row = batch.last().map(|p| p.index + 1).unwrap_or(next_row);
                self.write_batch(
                    &actor, def, &customs, &import, &settings, batch, dry_run, &mut tally,
                    &mut seen, next_row, owner, &mut names,
                )
                .await?;
            }
            Ok(true)
        };
        let (rows, finished) = tokio::join!(reader, writer);
        let finished = finished?;
        let rows = rows?;
        if finished {
            let mut db = self.db.clone();
            if dry_run {
                if !imports::finish(&mut db, id, "checked", Some(rows), None, owner).await? {
                    return Err(AppError::Conflict(LOST.into()));
                }
            } else {
                let mut tx = self.db.begin().await?;
                // Only the run holding the job ends it, and writes its audit entry once.
                if !imports::finish(&mut tx, id, "done", Some(rows), None, owner).await? {
                    return Err(AppError::Conflict(LOST.into()));
                }
                let done = imports::get(&mut tx, id).await?.ok_or(AppError::NotFound)?;
                let mut changes = Map::new();
                changes.insert("file".into(), json!([Value::Null, import.file_name]));
                changes.insert("created".into(), json!([Value::Null, done.created]));
                changes.insert("updated".into(), json!([Value::Null, done.updated]));
                changes.insert("rejected".into(), json!([Value::Null, done.rejected]));
                audit::record(
                    &mut tx,
                    def.object,
                    id,
                    "import",
                    Some(import.owner_id),
                    changes,
                )
                .await?;
                tx.commit().await?;
            }
        }
        Ok(())
    }

    /// The number of rows of the file that fail the check (a run that may not skip them).
    async fn count_bad_rows(
        &self,
        import: &Import,
        def: &'static ObjectDef,
        settings: &Settings,
        customs: &[CustomFieldDef],
        cc: &str,
    ) -> AppResult<i64> {
        let customs = customs.to_vec();
        let cc = cc.to_string();
        let columns = settings.columns.clone();
        let day_first = settings.day_first;
        self.with_table(import, settings.sheet.clone(), move |table| {
            let checker = Checker::new(def, customs, cc, table.headers.clone(), columns, day_first);
            table
                .rows
                .filter(|r| match r {
                    Ok(r) => checker.check(&r.cells).is_err(),
                    Err(_) => true,
                })
                .count() as i64
        })
        .await
    }

    /// The duplicate keys of the rows an interrupted run already wrote, so a resumed run
    /// still knows them: read back from the records it created.
    async fn seen_keys(&self, import: &Import) -> AppResult<SeenKeys> {
        let mut out = SeenKeys::new();
        if import.next_row == 0 || import.status == "checking" {
            return Ok(out);
        }
        let def = object_of(import)?;
        let mut db = self.db.clone();
        let cc = settings::default_country_code(&mut db).await?;
        for (_, created, _) in imports::batches(&mut db, import.id).await? {
            let objects: Vec<(Id, bool)> = created
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|v| {
                    Some((
                        v.get("id")?.as_str()?.parse().ok()?,
                        v.get("object")?.as_str()? == def.plural,
                    ))
                })
                .collect();
            let mine: Vec<Id> = objects
                .into_iter()
                .filter(|(_, m)| *m)
                .map(|(id, _)| id)
                .collect();
            for chunk in mine.chunks(500) {
                let mut q = Sql::new("SELECT id");
                for f in def.fields {
                    if matches!(
                        f.kind,
                        FieldKind::Emails | FieldKind::Phones | FieldKind::TaxId
                    ) || f.name == "code"
                    {
                        q.push(", ").push_ident(f.name);
                    }
                }
                q.push(" FROM ")
                    .push_ident(def.plural)
                    .push(" WHERE id IN (");
                for (i, id) in chunk.iter().enumerate() {
                    if i > 0 {
                        q.push(", ");
                    }
                    q.bind(*id);
                }
                q.push(")");
                for row in db.fetch_all(&q).await? {
                    let id = row.req_id("id")?;
                    let mut input = RecordInput::default();
                    for f in def.fields {
                        match f.kind {
                            FieldKind::Emails | FieldKind::Phones => {
                                if let Some(v) = row.json(f.name)? {
                                    input.fields.insert(f.name.to_string(), v);
                                }
                            }
                            FieldKind::TaxId | FieldKind::Text { .. }
                                if f.kind == FieldKind::TaxId || f.name == "code" =>
                            {
                                if let Some(v) = row.text(f.name)? {
                                    input.fields.insert(f.name.to_string(), Value::String(v));
                                }
                            }
                            _ => {}
                        }
                    }
                    out.set(
                        &keys_of(def, &input, &cc),
                        Seen {
                            row: 0,
                            id: Some(id),
                        },
                    )?;
                }
            }
        }
        Ok(out)
    }

    /// Existing records (that the actor may see) sharing a key with a row: for each key,
    /// one record.
    async fn existing_by_keys(
        &self,
        ex: &mut impl Exec,
        actor: &Actor,
        def: &ObjectDef,
        keys: &[(&'static str, String)],
    ) -> AppResult<HashMap<(&'static str, String), Id>> {
        let mut out = HashMap::new();
        if hamkor_domain::dedup::applies(def.object) {
            // Two index lookups, whatever the planner knows of the tables: the keys, then
            // which of their records the actor may see.
            for chunk in keys.chunks(400) {
                let mut q = Sql::new("SELECT d.key, d.record_id FROM dup_keys d WHERE d.object = ");
                q.bind(def.object.as_str()).push(" AND d.key");
                hamkor_store::dialect::push_in(
                    &mut q,
                    ex.backend(),
                    chunk.iter().map(|(_, k)| Arg::from(k.clone())).collect(),
                );
                let pairs: Vec<(String, Id)> = ex
                    .fetch_all(&q)
                    .await?
                    .iter()
                    .map(|r| Ok((r.req_text("key")?, r.req_id("record_id")?)))
                    .collect::<Result<_, hamkor_store::StoreError>>()?;
                if pairs.is_empty() {
                    continue;
                }
                let mut ids: Vec<Id> = pairs.iter().map(|(_, id)| *id).collect();
                ids.sort();
                ids.dedup();
                let mut visible = std::collections::HashSet::new();
                for part in ids.chunks(400) {
                    let mut q = Sql::new("SELECT t.id FROM ");
                    q.push_ident(def.plural)
                        .push(" t WHERE t.deleted_at IS NULL AND t.id");
                    hamkor_store::dialect::push_in(
                        &mut q,
                        ex.backend(),
                        part.iter().map(|id| Arg::from(*id)).collect(),
                    );
                    records::push_read_scope(&mut q, actor, def);
                    for r in ex.fetch_all(&q).await? {
                        visible.insert(r.req_id("id")?);
                    }
                }
                let found: HashMap<&str, Id> = pairs
                    .iter()
                    .filter(|(_, id)| visible.contains(id))
                    .map(|(k, id)| (k.as_str(), *id))
                    .collect();
                for (kind, k) in chunk {
                    if let Some(id) = found.get(k.as_str()) {
                        out.insert((*kind, k.clone()), *id);
                    }
                }
            }
            return Ok(out);
        }
        // Phones and tax ids are in the number index; e-mails and codes are looked up in
        // the records' search text, which holds them.
        let numbers: Vec<&(&str, String)> = keys
            .iter()
            .filter(|(k, _)| *k == "phone" || *k == "tax_id")
            .collect();
        for chunk in numbers.chunks(400) {
            let mut q = Sql::new("SELECT n.key, n.record_id FROM search_numbers n JOIN ");
            q.push_ident(def.plural)
                .push(" t ON t.id = n.record_id WHERE t.deleted_at IS NULL AND n.object = ")
                .bind(def.object.as_str())
                .push(" AND n.key");
            hamkor_store::dialect::push_in(
                &mut q,
                ex.backend(),
                chunk
                    .iter()
                    .map(|(_, k)| Arg::from(format!("f{k}")))
                    .collect(),
            );
            records::push_read_scope(&mut q, actor, def);
            // The number index holds every suffix of a number as `f<digits>`: the whole
            // number is the one as long as the key.
            let mut kinds: HashMap<&str, Vec<&'static str>> = HashMap::new();
            for (kind, k) in chunk.iter() {
                kinds.entry(k.as_str()).or_default().push(*kind);
            }
            for row in ex.fetch_all(&q).await? {
                let key = row.req_text("key")?;
                let key = key.strip_prefix('f').unwrap_or(&key);
                let id = row.req_id("record_id")?;
                for kind in kinds.get(key).into_iter().flatten() {
                    out.entry((*kind, key.to_string())).or_insert(id);
                }
            }
        }
        // Product codes are matched whatever their case, in any script. Neither engine's
        // `lower` folds like Rust's (SQLite's folds ASCII only) and no index holds codes
        // folded, so the catalog's codes are read once a batch and folded here: one
        // statement instead of a scan of the catalog for every row.
        let codes: std::collections::HashSet<&str> = keys
            .iter()
            .filter(|(kind, _)| *kind == "code")
            .map(|(_, k)| k.as_str())
            .collect();
        if def.object == ObjectType::Product && !codes.is_empty() {
            let mut q = Sql::new("SELECT t.id, t.code FROM products t WHERE t.deleted_at IS NULL");
            records::push_read_scope(&mut q, actor, def);
            // Of codes alike but for their case, the oldest product's.
            q.push(" ORDER BY t.created_at, t.id");
            for row in ex.fetch_all(&q).await? {
                let code = row.req_text("code")?.to_lowercase();
                if codes.contains(code.as_str()) {
                    out.entry(("code", code)).or_insert(row.req_id("id")?);
                }
            }
        }
        Ok(out)
    }
}

impl App {
    /// Classifies a batch of checked rows and, in a run, writes them in one transaction
    /// with the job's progress and a note of what was written.
    #[allow(clippy::too_many_arguments)]
    async fn write_batch(
        &self,
        actor: &Actor,
        def: &'static ObjectDef,
        customs: &[CustomFieldDef],
        import: &Import,
        settings: &Settings,
        batch: Vec<Prepared>,
        dry_run: bool,
        tally: &mut Tally,
        seen: &mut SeenKeys,
        next_row: i64,
        owner: &str,
        names: &mut HashMap<String, Id>,
    ) -> AppResult<()> {
        let first_row = batch.first().map(|p| p.index).unwrap_or(next_row);
        let mut db = self.db.clone();
        let keys: Vec<(&'static str, String)> = {
            let mut k: Vec<_> = batch
                .iter()
                .filter_map(|p| p.outcome.as_ref().ok())
                .flat_map(|c| c.keys.iter().cloned())
                .collect();
            k.sort();
            k.dedup();
            k
        };
        let existing = self.existing_by_keys(&mut db, actor, def, &keys).await?;
        let mut tx = if dry_run {
            None
        } else {
            Some(self.db.begin().await?)
        };
        let mut rejects: Vec<(i64, Value, Value)> = Vec::new();
        let mut creates: Vec<(i64, Vec<String>, Candidate)> = Vec::new();
        // Duplicates of earlier rows of this batch, to update what those rows make.
        let mut later: Vec<(i64, Vec<String>, Candidate)> = Vec::new();
        let mut created_note: Vec<Value> = Vec::new();
        let mut updated_note: Vec<Value> = Vec::new();
        let reject = |rejects: &mut Vec<(i64, Value, Value)>,
                      tally: &mut Tally,
                      p: &Prepared,
                      errors: &[RowError]| {
            tally.note(Class::Error, || json!({"row": p.number, "errors": errors}));
            reject_written(rejects, tally, p.number, p.cells.clone(), errors);
        };
        for mut p in batch {
            let cand = match std::mem::replace(&mut p.outcome, Err(Vec::new())) {
                Err(errors) => {
                    reject(&mut rejects, tally, &p, &errors);
                    continue;
                }
                Ok(c) => c,
            };
            // A row naming its record by id is an update of that record.
            if let Some(id) = cand.id {
                let current = records::get(&mut db, actor, def, id).await;
                let Ok(current) = current else {
                    reject(
                        &mut rejects,
                        tally,
                        &p,
                        &[RowError::plain("error-import-no-record", None)],
                    );
                    continue;
                };
                let changes = changed_fields(&current, &cand.input);
                tally.note(
                    Class::Update,
                    || json!({"row": p.number, "id": id, "changes": changes}),
                );
                if settings.on_update != Choice::Update || changes.is_empty() {
                    tally.skipped += 1;
                    continue;
                }
                if let Some(tx) = tx.as_mut() {
                    match self
                        .update_from_row(tx, actor, def, customs, &current, cand)
                        .await
                    {
                        Ok(note) => {
                            updated_note.push(note);
                            tally.updated += 1;
                        }
                        Err(errors) => reject(&mut rejects, tally, &p, &errors),
                    }
                } else {
                    tally.updated += 1;
                }
                continue;
            }
            // Like an existing record, or like an earlier row of the file?
            let mut like: Option<(Option<Id>, Option<i64>, &'static str)> = None;
            for k in &cand.keys {
                if let Some(id) = existing.get(k) {
                    like = Some((Some(*id), None, k.0));
                    break;
                }
                if let Some(s) = seen.get(k)? {
                    like = Some((s.id, Some(i64::from(s.row)), k.0));
                    break;
                }
            }
            if let Some((id, row, why)) = like {
                // The row's other keys lead to the same record (or row) from now on.
                seen.note(&cand.keys, Seen::at_row(row.unwrap_or(p.number), id)?)?;
                tally.note(Class::Duplicate, || json!({"row": p.number, "id": id, "of_row": row, "reason": format!("same_{why}")}));
                match (settings.on_duplicate, id) {
                    (Choice::Skip, _) => {
                        tally.skipped += 1;
                        continue;
                    }
                    (Choice::Update, Some(id)) => {
                        if let Some(tx) = tx.as_mut() {
                            match self.update_found(tx, actor, def, customs, id, cand).await {
                                Ok(note) => {
                                    updated_note.push(note);
                                    tally.updated += 1;
                                }
                                Err(errors) => reject(&mut rejects, tally, &p, &errors),
                            }
                        } else {
                            tally.updated += 1;
                        }
                        continue;
                    }
                    // An earlier row not written yet: a check counts it as an update; a run
                    // updates the record that row makes, once this batch has made it.
                    (Choice::Update, None) => {
                        if tx.is_some() {
                            later.push((p.number, std::mem::take(&mut p.cells), cand));
                        } else {
                            tally.updated += 1;
                        }
                        continue;
                    }
                    (Choice::Create, _) => {}
                }
            } else {
                tally.note(Class::New, || json!({"row": p.number}));
            }
            seen.note(&cand.keys, Seen::at_row(p.number, None)?)?;
            creates.push((p.number, std::mem::take(&mut p.cells), cand));
        }
        if let Some(mut tx) = tx {
            let made = self
                .create_rows(
                    &mut tx,
                    actor,
                    def,
                    customs,
                    import,
                    creates,
                    &mut rejects,
                    tally,
                    names,
                )
                .await?;
            for (object, id, keys) in made {
                created_note.push(json!({"object": object, "id": id}));
                seen.set(
                    &keys,
                    Seen {
                        row: 0,
                        id: Some(id),
                    },
                )?;
            }
            for (row, cells, cand) in later {
                let mut made_by = None;
                for k in &cand.keys {
                    if let Some(id) = seen.get(k)?.and_then(|s| s.id) {
                        made_by = Some(id);
                        break;
                    }
                }
                // The earlier row was refused as it was written: nothing to update.
                let Some(id) = made_by else {
                    reject_written(
                        &mut rejects,
                        tally,
                        row,
                        cells,
                        &[RowError::plain("error-import-no-record", None)],
                    );
                    continue;
                };
                match self
                    .update_found(&mut tx, actor, def, customs, id, cand)
                    .await
                {
                    Ok(note) => {
                        updated_note.push(note);
                        tally.updated += 1;
                    }
                    Err(errors) => reject_written(&mut rejects, tally, row, cells, &errors),
                }
            }
            imports::add_batch(
                &mut tx,
                import.id,
                first_row,
                Value::Array(created_note),
                Value::Array(updated_note),
            )
            .await?;
            imports::add_rejects(&mut tx, import.id, &rejects).await?;
            let progress = Progress {
                next_row,
                created: tally.created,
                updated: tally.updated,
                skipped: tally.skipped,
                rejected: tally.rejected,
                report: tally.report(next_row),
            };
            if !imports::progress(&mut tx, import.id, &progress, lease(), owner).await? {
                // Another run has the job: this batch is rolled back, unwritten.
                return Err(AppError::Conflict(LOST.into()));
            }
            tx.commit().await?;
        } else {
            tally.created += creates.len() as i64;
            let mut db = self.db.clone();
            imports::add_rejects(&mut db, import.id, &rejects).await?;
            let progress = Progress {
                next_row,
                created: tally.created,
                updated: tally.updated,
                skipped: tally.skipped,
                rejected: tally.rejected,
                report: tally.report(next_row),
            };
            if !imports::progress(&mut db, import.id, &progress, lease(), owner).await? {
                return Err(AppError::Conflict(LOST.into()));
            }
        }
        Ok(())
    }

    /// Updates the record a row was found to be a duplicate of (see `update_from_row`).
    async fn update_found(
        &self,
        tx: &mut hamkor_store::Tx,
        actor: &Actor,
        def: &ObjectDef,
        customs: &[CustomFieldDef],
        id: Id,
        cand: Candidate,
    ) -> Result<Value, Vec<RowError>> {
        let Ok(current) = records::get(&mut *tx, actor, def, id).await else {
            return Err(vec![RowError::plain("error-import-no-record", None)]);
        };
        self.update_from_row(tx, actor, def, customs, &current, cand)
            .await
    }

    /// Updates a record from a row's values, through the same path as any edit (rights,
    /// audit). Returns the undo note: the changed fields' values before.
    async fn update_from_row(
        &self,
        tx: &mut hamkor_store::Tx,
        actor: &Actor,
        def: &ObjectDef,
        customs: &[CustomFieldDef],
        current: &records::Record,
        mut cand: Candidate,
    ) -> Result<Value, Vec<RowError>> {
        // A product found by its code keeps its code as it is spelled, whatever the case
        // of the row's.
        if def.object == ObjectType::Product
            && let (Some(Value::String(row)), Some(Value::String(kept))) =
                (cand.input.fields.get("code"), current.fields.get("code"))
            && row.to_lowercase() == kept.to_lowercase()
        {
            cand.input.fields.remove("code");
        }
        let mut before_fields = Map::new();
        for k in cand.input.fields.keys() {
            before_fields.insert(
                k.clone(),
                current.fields.get(k).cloned().unwrap_or(Value::Null),
            );
        }
        let mut before_custom = Map::new();
        for k in cand.input.custom.keys() {
            before_custom.insert(
                k.clone(),
                current.custom.get(k).cloned().unwrap_or(Value::Null),
            );
        }
        let input = cand.input;
        let updated = tx
            .atomically(async |tx| {
                records::update(tx, actor, def, current.id, input, customs, None).await
            })
            .await
            .map_err(store_row_errors)?;
        match updated {
            Ok(r) => Ok(
                json!({"object": def.plural, "id": r.id, "version": r.version, "before": {"fields": before_fields, "custom": before_custom}}),
            ),
            Err(e) => Err(store_row_errors(e)),
        }
    }

    /// Writes the new records of a batch: accounts and contacts many to a statement
    /// (with their owners' rights checked once per owner), the others one by one through
    /// the path every new record takes. Returns what was made, with the made records'
    /// duplicate keys.
    #[allow(clippy::too_many_arguments)]
    async fn create_rows(
        &self,
        tx: &mut hamkor_store::Tx,
        actor: &Actor,
        def: &'static ObjectDef,
        customs: &[CustomFieldDef],
        import: &Import,
        creates: Vec<(i64, Vec<String>, Candidate)>,
        rejects: &mut Vec<(i64, Value, Value)>,
        tally: &mut Tally,
        names: &mut HashMap<String, Id>,
    ) -> AppResult<Vec<(&'static str, Id, Vec<(&'static str, String)>)>> {
        let mut made = Vec::new();
        let mut owners: HashMap<String, Result<Id, &'static str>> = HashMap::new();
        let mut resolved: Vec<(i64, Vec<String>, Candidate, Id)> = Vec::new();
        for (row, cells, cand) in creates {
            let owner = match &cand.owner {
                None => actor.user_id,
                Some(email) => {
                    if !owners.contains_key(email) {
                        let r = match users::by_email(&mut *tx, email).await? {
                            Some(u) if !u.disabled => {
                                match records::check_owner_for(
                                    &mut *tx,
                                    actor,
                                    def.object,
                                    Action::Create,
                                    u.id,
                                )
                                .await
                                {
                                    Ok(()) => Ok(u.id),
                                    Err(_) => Err("error-owner-forbidden"),
                                }
                            }
                            _ => Err("error-import-no-user"),
                        };
                        owners.insert(email.clone(), r);
                    }
                    match owners[email] {
                        Ok(id) => id,
                        Err(key) => {
                            reject_written(
                                rejects,
                                tally,
                                row,
                                cells,
                                &[RowError::plain(key, None)],
                            );
                            continue;
                        }
                    }
                }
            };
            resolved.push((row, cells, cand, owner));
        }
        let now = Timestamp::now();
        if matches!(def.object, ObjectType::Account | ObjectType::Contact) {
            // The companies this batch names that the run has not met yet, looked up in one
            // statement (one by one, a file naming 5,000 companies spent a second here).
            let unknown: Vec<String> = {
                let mut n: Vec<String> = resolved
                    .iter()
                    .filter_map(|(_, _, cand, _)| account_name(cand))
                    .filter(|name| !names.contains_key(&names::fold(name)))
                    .collect();
                n.sort();
                n.dedup();
                n
            };
            let found = self.accounts_by_name(&mut *tx, actor, unknown).await?;
            let mut accounts: Vec<BatchRecord> = Vec::new();
            let mut rows: Vec<BatchRecord> = Vec::new();
            for (_, _, cand, owner) in resolved {
                let mut links = Vec::new();
                if let Some(name) = account_name(&cand) {
                    let key = names::fold(&name);
                    let account = match names.get(&key) {
                        Some(id) => *id,
                        None => {
                            let id = match found.get(&name) {
                                Some(id) => *id,
                                None => {
                                    let id = Id::new();
                                    let mut fields = Map::new();
                                    fields.insert("name".into(), Value::String(name.clone()));
                                    accounts.push(BatchRecord {
                                        id,
                                        fields,
                                        owner_id: owner,
                                        created_at: now,
                                        account_links: vec![],
                                        custom: Map::new(),
                                        index: None,
                                    });
                                    made.push(("accounts", id, Vec::new()));
                                    id
                                }
                            };
                            names.insert(key, id);
                            id
                        }
                    };
                    links.push(AccountLink {
                        account_id: account,
                        position: cand.position.clone().map(|p| p.chars().take(100).collect()),
                    });
                }
                let id = Id::new();
                made.push((def.plural, id, cand.keys.clone()));
                let custom: Map<String, Value> = cand
                    .input
                    .custom
                    .into_iter()
                    .filter(|(_, v)| !v.is_null())
                    .collect();
                rows.push(BatchRecord {
                    id,
                    fields: cand.input.fields,
                    owner_id: owner,
                    created_at: now,
                    account_links: links,
                    custom,
                    index: cand.index,
                });
            }
            records::insert_batch(
                &mut *tx,
                &hamkor_domain::objects::ACCOUNT,
                actor.user_id,
                &accounts,
            )
            .await?;
            records::insert_batch(&mut *tx, def, actor.user_id, &rows).await?;
            tally.created += made.len() as i64;
            return Ok(made);
        }
        let rules = if def.object == ObjectType::Lead {
            hamkor_store::leads::rules(&mut *tx).await?
        } else {
            Vec::new()
        };
        for (row, cells, mut cand, owner) in resolved {
            if def.object == ObjectType::Interaction {
                match self.resolve_client(&mut *tx, actor, &cand).await? {
                    Ok((account, contact)) => {
                        if let Some(a) = account {
                            cand.input
                                .fields
                                .insert("account_id".into(), json!(a.to_string()));
                        }
                        if let Some(c) = contact {
                            cand.input
                                .fields
                                .insert("contact_id".into(), json!(c.to_string()));
                        }
                        if let Err(e) = self
                            .prepare_client_record(actor, def, &mut cand.input, None)
                            .await
                        {
                            reject_written(rejects, tally, row, cells, &app_row_errors(e));
                            continue;
                        }
                    }
                    Err(key) => {
                        reject_written(rejects, tally, row, cells, &[RowError::plain(key, None)]);
                        continue;
                    }
                }
            }
            if owner != actor.user_id {
                cand.input.owner_id = Some(owner);
            } else if def.object == ObjectType::Lead
                && let Some((o, team)) =
                    hamkor_store::leads::assign(&mut *tx, &rules, &cand.input.fields).await?
                && records::check_owner_for(&mut *tx, actor, def.object, Action::Create, o)
                    .await
                    .is_ok()
            {
                cand.input.owner_id = Some(o);
                if let Some(t) = team {
                    cand.input
                        .fields
                        .insert("team_id".into(), json!(t.to_string()));
                }
            }
            if def.object == ObjectType::Lead
                && cand.input.fields.get("source").is_none_or(Value::is_null)
            {
                cand.input.fields.insert("source".into(), json!("other"));
            }
            let keys = cand.keys.clone();
            let input = cand.input;
            let created = tx
                .atomically(async |tx| records::create(tx, actor, def, input, customs).await)
                .await?;
            match created {
                Ok(r) => {
                    tally.created += 1;
                    made.push((def.plural, r.id, keys));
                }
                Err(hamkor_store::StoreError::Db(e)) => {
                    return Err(AppError::Internal(e.to_string()));
                }
                // Not the row's fault: the batch stops and is tried again.
                Err(e @ hamkor_store::StoreError::Busy(_)) => return Err(e.into()),
                Err(e) => reject_written(rejects, tally, row, cells, &store_row_errors(e)),
            }
        }
        let _ = import;
        Ok(made)
    }

    /// An account the actor may see with exactly this name (the oldest of several).
    async fn account_by_name(
        &self,
        ex: &mut impl Exec,
        actor: &Actor,
        name: &str,
    ) -> AppResult<Option<Id>> {
        Ok(self
            .accounts_by_name(ex, actor, vec![name.to_string()])
            .await?
            .remove(name))
    }

    /// Accounts the actor may see with exactly these names (of several with one name, the
    /// oldest), in one statement.
    async fn accounts_by_name(
        &self,
        ex: &mut impl Exec,
        actor: &Actor,
        wanted: Vec<String>,
    ) -> AppResult<HashMap<String, Id>> {
        let mut found = HashMap::new();
        if wanted.is_empty() {
            return Ok(found);
        }
        let def = &hamkor_domain::objects::ACCOUNT;
        // `COALESCE(t.name, '')`, the expression `accounts_name` is built on (the names
        // looked for are never empty): a bare `t.name` read the whole table, 430 ms a
        // batch at two million accounts.
        let mut q = Sql::new(
            "SELECT t.name AS name, t.id AS id FROM accounts t WHERE t.deleted_at IS NULL \
             AND COALESCE(t.name, '')",
        );
        hamkor_store::dialect::push_in(
            &mut q,
            ex.backend(),
            wanted.into_iter().map(|n| Arg::Text(Some(n))).collect(),
        );
        records::push_read_scope(&mut q, actor, def);
        // No ORDER BY: SQLite would walk the id index instead of seeking by name.
        for r in ex.fetch_all(&q).await? {
            let id = r.req_id("id")?;
            found
                .entry(r.req_text("name")?)
                .and_modify(|old: &mut Id| *old = (*old).min(id))
                .or_insert(id);
        }
        Ok(found)
    }

    /// An interaction's client from the row: ids, an account's name, a contact's e-mail.
    async fn resolve_client(
        &self,
        ex: &mut impl Exec,
        actor: &Actor,
        cand: &Candidate,
    ) -> AppResult<Result<(Option<Id>, Option<Id>), &'static str>> {
        let mut account = None;
        if let Some(a) = &cand.account_ref {
            account = match a.parse::<Id>() {
                Ok(id) => Some(id),
                Err(_) => match self.account_by_name(ex, actor, a).await? {
                    Some(id) => Some(id),
                    None => return Ok(Err("error-import-no-account")),
                },
            };
        }
        let mut contact = None;
        if let Some(c) = &cand.contact_ref {
            contact = match c.parse::<Id>() {
                Ok(id) => Some(id),
                Err(_) => {
                    let def = &hamkor_domain::objects::CONTACT;
                    let Ok(email) = hamkor_domain::email::normalize_email(c) else {
                        return Ok(Err("error-import-no-contact"));
                    };
                    let mut q =
                        Sql::new("SELECT t.id FROM contacts t WHERE t.deleted_at IS NULL AND ");
                    hamkor_store::dialect::push_json_list_contains_email(
                        &mut q,
                        self.db.backend(),
                        email,
                    );
                    records::push_read_scope(&mut q, actor, def);
                    q.push(" LIMIT 1");
                    match ex.fetch_optional(&q).await? {
                        Some(r) => Some(r.req_id("id")?),
                        None => return Ok(Err("error-import-no-contact")),
                    }
                }
            };
        }
        Ok(Ok((account, contact)))
    }

    /// Undoes a finished (or stopped) run in the background: see `undo_job`.
    pub async fn undo_import(&self, actor: &Actor, id: Id) -> AppResult<Import> {
        let import = self.import(actor, id).await?;
        let def = object_of(&import)?;
        Self::may_import(actor, def)?;
        if !matches!(import.status.as_str(), "done" | "cancelled" | "failed")
            || import.next_row == 0 && import.created == 0 && import.updated == 0
        {
            return Err(AppError::Conflict(format!(
                "the import is {}",
                import.status
            )));
        }
        let mut db = self.db.clone();
        imports::set_status(&mut db, id, "undoing").await?;
        let app = self.clone();
        tokio::spawn(async move { app.drive_import(id).await });
        self.import(actor, id).await
    }

    /// Walks the batches back, last first, each in one transaction: records the import
    /// created go to the trash, records it changed get their values before (through the
    /// normal update path, so the history shows it). Resumable like a run.
    async fn undo_job(&self, import: &Import, owner: &str) -> AppResult<()> {
        let actor = self.job_actor(import).await?;
        let mut db = self.db.clone();
        let mut trashed = 0i64;
        let mut restored = 0i64;
        for (first_row, created, updated) in imports::batches(&mut db, import.id).await? {
            let mut tx = self.db.begin().await?;
            for u in updated.as_array().into_iter().flatten().rev() {
                let (Some(object), Some(id)) = (
                    u.get("object").and_then(Value::as_str),
                    u.get("id")
                        .and_then(Value::as_str)
                        .and_then(|s| s.parse::<Id>().ok()),
                ) else {
                    continue;
                };
                let Some(def) = importable(object) else {
                    continue;
                };
                let customs = self.custom_fields(def.object).await?;
                let before = u.get("before").cloned().unwrap_or_default();
                let input = RecordInput {
                    fields: before
                        .get("fields")
                        .and_then(Value::as_object)
                        .cloned()
                        .unwrap_or_default(),
                    custom: before
                        .get("custom")
                        .and_then(Value::as_object)
                        .cloned()
                        .unwrap_or_default(),
                    owner_id: None,
                    account_links: None,
                };
                match records::update(&mut tx, &actor, def, id, input, &customs, None).await {
                    Ok(_) => restored += 1,
                    Err(hamkor_store::StoreError::NotFound) => {}
                    Err(e) => return Err(e.into()),
                }
            }
            let mut by_object: HashMap<&str, Vec<Id>> = HashMap::new();
            for c in created.as_array().into_iter().flatten() {
                if let (Some(o), Some(id)) = (
                    c.get("object").and_then(Value::as_str),
                    c.get("id")
                        .and_then(Value::as_str)
                        .and_then(|s| s.parse::<Id>().ok()),
                ) {
                    by_object.entry(o).or_default().push(id);
                }
            }
            for (object, ids) in by_object {
                if let Some(def) = importable(object) {
                    trashed += records::trash_many(&mut tx, def, &ids).await? as i64;
                }
            }
            imports::delete_batch(&mut tx, import.id, first_row).await?;
            if !imports::renew(&mut tx, import.id, lease(), owner).await? {
                return Err(AppError::Conflict(LOST.into()));
            }
            tx.commit().await?;
        }
        let def = object_of(import)?;
        let mut tx = self.db.begin().await?;
        if !imports::finish(&mut tx, import.id, "undone", None, None, owner).await? {
            return Err(AppError::Conflict(LOST.into()));
        }
        let mut changes = Map::new();
        changes.insert("file".into(), json!([Value::Null, import.file_name]));
        changes.insert("trashed".into(), json!([Value::Null, trashed]));
        changes.insert("restored".into(), json!([Value::Null, restored]));
        audit::record(
            &mut tx,
            def.object,
            import.id,
            "import-undo",
            Some(import.owner_id),
            changes,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The rejected rows as a CSV to fix and import again: the file's header and the
    /// rows as they were, with the row's number and the reasons (`describe` turns an
    /// error into words) in two more columns.
    pub async fn import_rejects_csv(
        &self,
        actor: &Actor,
        id: Id,
        describe: impl Fn(&Value) -> String,
    ) -> AppResult<Vec<u8>> {
        let import = self.import(actor, id).await?;
        let settings: Settings =
            serde_json::from_value(import.settings.clone()).unwrap_or_default();
        let headers = self
            .with_table(&import, settings.sheet.clone(), |t| t.headers)
            .await?;
        let mut out = csv::Writer::from_writer(b"\xef\xbb\xbf".to_vec());
        let mut head: Vec<String> = headers.clone();
        head.push("row".into());
        head.push("errors".into());
        out.write_record(&head)
            .map_err(|e| AppError::Internal(e.to_string()))?;
        let mut db = self.db.clone();
        let mut after = -1;
        loop {
            let page = imports::rejects(&mut db, id, after, 1000).await?;
            if page.is_empty() {
                break;
            }
            for (row, cells, errors) in &page {
                let mut record: Vec<String> = cells
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .map(|c| c.as_str().unwrap_or("").to_string())
                            .collect()
                    })
                    .unwrap_or_default();
                record.resize(headers.len(), String::new());
                record.push(row.to_string());
                let why: Vec<String> = errors
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(&describe)
                    .collect();
                record.push(why.join("; "));
                out.write_record(&record)
                    .map_err(|e| AppError::Internal(e.to_string()))?;
                after = *row;
            }
        }
        out.into_inner()
            .map_err(|e| AppError::Internal(e.to_string()))
    }
}

/// Notes a row refused as it was written (its owner, its client, a code in use): its
/// cells go into the report of rejected rows as they were, ready to fix and import again.
fn reject_written(
    rejects: &mut Vec<(i64, Value, Value)>,
    tally: &mut Tally,
    row: i64,
    cells: Vec<String>,
    errors: &[RowError],
) {
    tally.rejected += 1;
    let errors = serde_json::to_value(errors).unwrap_or_default();
    rejects.push((row, json!(cells), errors));
}

/// The company a contact row names, as an account's name is stored.
fn account_name(cand: &Candidate) -> Option<String> {
    cand.account
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map(|n| n.chars().take(200).collect())
}

/// When a claim taken now runs out.
fn lease() -> Timestamp {
    Timestamp(Timestamp::now().0 + chrono::Duration::seconds(lease_secs()))
}

/// The fields a row would change on a record, as `{field: [before, after]}`.
fn changed_fields(current: &records::Record, input: &RecordInput) -> Map<String, Value> {
    let mut out = Map::new();
    for (k, v) in &input.fields {
        let before = current.fields.get(k).cloned().unwrap_or(Value::Null);
        if before != *v {
            out.insert(k.clone(), json!([before, v]));
        }
    }
    for (k, v) in &input.custom {
        let before = current.custom.get(k).cloned().unwrap_or(Value::Null);
        if before != *v {
            out.insert(format!("custom.{k}"), json!([before, v]));
        }
    }
    out
}

fn store_row_errors(e: hamkor_store::StoreError) -> Vec<RowError> {
    match e {
        hamkor_store::StoreError::Invalid(v) => {
            v.0.iter().map(|f| RowError::from_field(f, None)).collect()
        }
        hamkor_store::StoreError::Forbidden => {
            vec![RowError::plain("error-import-forbidden", None)]
        }
        hamkor_store::StoreError::NotFound => vec![RowError::plain("error-import-no-record", None)],
        hamkor_store::StoreError::Stale { .. } => vec![RowError::plain("error-import-stale", None)],
        hamkor_store::StoreError::Conflict(_) => {
            vec![RowError::plain("error-import-exists", None)]
        }
        other => vec![RowError::plain("error-import-internal", None)]
            .into_iter()
            .inspect(|_| tracing::warn!(error = ?other, "import row failed"))
            .collect(),
    }
}

fn app_row_errors(e: AppError) -> Vec<RowError> {
    match e {
        AppError::Invalid(v) => v.0.iter().map(|f| RowError::from_field(f, None)).collect(),
        AppError::Forbidden => vec![RowError::plain("error-import-forbidden", None)],
        AppError::NotFound => vec![RowError::plain("error-import-no-record", None)],
        _ => vec![RowError::plain("error-import-internal", None)],
    }
}

/// Where a duplicate key was first seen in this import: the row and, after a run wrote
/// it, the record.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Seen {
    /// A row number (a file of at most `MAX_UPLOAD` bytes has fewer rows than this holds):
    /// 24 bytes a row here rather than 32 with an `i64`.
    row: u32,
    id: Option<Id>,
}

impl Seen {
    fn at_row(row: i64, id: Option<Id>) -> AppResult<Seen> {
        let row = u32::try_from(row).map_err(|_| {
            AppError::Internal(format!("row {row} is past the last an import takes"))
        })?;
        Ok(Seen { row, id })
    }
}

/// The duplicate keys of the rows a run has met so far, each with where it was first
/// seen. A file of a million contacts brings two or three million keys: kept as a map of
/// `(kind, String)` keys they took over 400 MB, so the key bytes live in one buffer and
/// the table holds only their numbers (about 40 bytes a key in all).
struct SeenKeys {
    /// Numbers of entries of `keys`, found by the hash of their bytes.
    table: hashbrown::HashTable<u32>,
    /// Each key: where its bytes (its kind's number, then the key) start in `bytes`, and
    /// which of `seen` it leads to. Keys are stored in the order they come, so a key's
    /// bytes end where the next one's start: 8 bytes a key here.
    keys: Vec<(u32, u32)>,
    bytes: Vec<u8>,
    /// The kinds of key met ("phone", "email" …): a key's first byte is its kind's place
    /// here.
    kinds: Vec<&'static str>,
    seen: Vec<Seen>,
    /// How many keys lead to each of `seen`.
    links: Vec<u32>,
    hasher: std::hash::RandomState,
    /// The bytes of the key being looked up.
    probe: Vec<u8>,
}

/// The bytes of key `i`: from its start to the next key's (or the end).
fn bytes_of<'a>(keys: &[(u32, u32)], bytes: &'a [u8], i: u32) -> &'a [u8] {
    let start = keys[i as usize].0 as usize;
    let end = keys
        .get(i as usize + 1)
        .map_or(bytes.len(), |next| next.0 as usize);
    &bytes[start..end]
}

impl SeenKeys {
    fn new() -> SeenKeys {
        SeenKeys {
            table: hashbrown::HashTable::new(),
            keys: Vec::new(),
            bytes: Vec::new(),
            kinds: Vec::new(),
            seen: Vec::new(),
            links: Vec::new(),
            hasher: std::hash::RandomState::new(),
            probe: Vec::new(),
        }
    }

    fn bytes_of(&self, i: u32) -> &[u8] {
        bytes_of(&self.keys, &self.bytes, i)
    }

    /// Hashes `k` into `probe`'s bytes, returning the hash.
    fn probe(&mut self, k: &(&'static str, String)) -> AppResult<u64> {
        let kind = match self.kinds.iter().position(|x| *x == k.0) {
            Some(n) => n,
            None => {
                self.kinds.push(k.0);
                self.kinds.len() - 1
            }
        };
        let kind = u8::try_from(kind)
            .map_err(|_| AppError::Internal("too many kinds of duplicate key".into()))?;
        self.probe.clear();
        self.probe.push(kind);
        self.probe.extend_from_slice(k.1.as_bytes());
        Ok(self.hasher.hash_one(self.probe.as_slice()))
    }

    /// Hashes `k` into `probe` and looks it up: the hash, and the number of `k`'s entry
    /// if it has one.
    fn locate(&mut self, k: &(&'static str, String)) -> AppResult<(u64, Option<u32>)> {
        let hash = self.probe(k)?;
        let found = self
            .table
            .find(hash, |&i| self.bytes_of(i) == self.probe.as_slice())
            .copied();
        Ok((hash, found))
    }

    /// The number of `k`'s entry, if it has one.
    fn find(&mut self, k: &(&'static str, String)) -> AppResult<Option<u32>> {
        Ok(self.locate(k)?.1)
    }

    fn get(&mut self, k: &(&'static str, String)) -> AppResult<Option<Seen>> {
        Ok(self
            .find(k)?
            .map(|i| self.seen[self.keys[i as usize].1 as usize]))
    }

    /// Where the keys of one row lead: a new entry of `seen`, for [`SeenKeys::link`].
    fn place(&mut self, seen: Seen) -> AppResult<u32> {
        let n = u32::try_from(self.seen.len())
            .map_err(|_| AppError::Internal("too many rows in one import".into()))?;
        self.seen.push(seen);
        self.links.push(0);
        Ok(n)
    }

    /// Makes `k` lead to `place`: always if `replace`, else only if `k` is new.
    fn link(&mut self, k: &(&'static str, String), place: u32, replace: bool) -> AppResult<()> {
        let (hash, found) = self.locate(k)?;
        if let Some(i) = found {
            let old = self.keys[i as usize].1;
            if replace && old != place {
                self.keys[i as usize].1 = place;
                self.links[old as usize] -= 1;
                self.links[place as usize] += 1;
            }
            return Ok(());
        }
        self.add_probe(hash, place)
    }

    /// Adds the key in `probe` (hashed to `hash`, not yet in the table), leading to `place`.
    fn add_probe(&mut self, hash: u64, place: u32) -> AppResult<()> {
        let n = u32::try_from(self.keys.len())
            .map_err(|_| AppError::Internal("too many keys in one import".into()))?;
        // An upload is at most MAX_UPLOAD bytes, and its keys are shorter than its cells.
        let start = u32::try_from(self.bytes.len())
            .map_err(|_| AppError::Internal("too many duplicate keys in one import".into()))?;
        self.keys.push((start, place));
        self.links[place as usize] += 1;
        self.bytes.extend_from_slice(&self.probe);
        let SeenKeys {
            table,
            keys,
            bytes,
            hasher,
            ..
        } = self;
        table.insert_unique(hash, n, |&i| hasher.hash_one(bytes_of(keys, bytes, i)));
        Ok(())
    }

    /// Makes each of `keys` that is new lead to `seen`.
    fn note(&mut self, keys: &[(&'static str, String)], seen: Seen) -> AppResult<()> {
        let mut place = None;
        for k in keys {
            let (hash, found) = self.locate(k)?;
            if found.is_some() {
                continue;
            }
            let p = match place {
                Some(p) => p,
                None => {
                    let p = self.place(seen)?;
                    place = Some(p);
                    p
                }
            };
            self.add_probe(hash, p)?;
        }
        Ok(())
    }

    /// Makes every one of `keys` lead to `seen`.
    fn set(&mut self, keys: &[(&'static str, String)], seen: Seen) -> AppResult<()> {
        if keys.is_empty() {
            return Ok(());
        }
        // Usually these are the keys of a row just written, which lead to that row and
        // nothing else does: its place is changed where it is.
        let mut places: Vec<Option<u32>> = Vec::with_capacity(keys.len());
        for k in keys {
            places.push(self.find(k)?.map(|i| self.keys[i as usize].1));
        }
        let distinct = keys.iter().collect::<std::collections::HashSet<_>>().len();
        if let Some(Some(p)) = places.first().copied()
            && places.iter().all(|x| *x == Some(p))
            && self.links[p as usize] as usize == distinct
        {
            self.seen[p as usize] = seen;
            return Ok(());
        }
        let p = self.place(seen)?;
        for k in keys {
            self.link(k, p, true)?;
        }
        Ok(())
    }
}

/// The pieces of an upload, as they arrive.
pub trait AsyncChunks: Send {
    fn next_chunk(&mut self) -> impl Future<Output = AppResult<Option<Vec<u8>>>> + Send;
}

/// A file already in memory, handed over in pieces.
pub struct BytesChunks(pub Option<Vec<u8>>);

impl AsyncChunks for BytesChunks {
    async fn next_chunk(&mut self) -> AppResult<Option<Vec<u8>>> {
        Ok(self.0.take())
    }
}

/// A file on disk (`hamkor import`), read in pieces.
pub struct FileChunks(pub tokio::fs::File);

impl AsyncChunks for FileChunks {
    async fn next_chunk(&mut self) -> AppResult<Option<Vec<u8>>> {
        use tokio::io::AsyncReadExt;
        let mut buf = vec![0u8; CHUNK];
        let mut filled = 0;
        while filled < buf.len() {
            let n = self
                .0
                .read(&mut buf[filled..])
                .await
                .map_err(|e| AppError::Internal(e.to_string()))?;
            if n == 0 {
                break;
            }
            filled += n;
        }
        if filled == 0 {
            return Ok(None);
        }
        buf.truncate(filled);
        Ok(Some(buf))
    }
}

fn encoding_name(e: &str) -> Option<&'static str> {
    encoding_rs::Encoding::for_label(e.as_bytes()).map(|e| e.name())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The compact table of keys seen answers as a map of keys would, through every way
    /// the import changes it (a new row's keys, a duplicate's, a written row's), with
    /// keys of every kind and keys that share their bytes but not their kind.
    #[test]
    fn seen_keys_answer_as_a_map_would() {
        let mut table = SeenKeys::new();
        let mut model: HashMap<(&'static str, String), Seen> = HashMap::new();
        let kinds = ["phone", "email", "tax_id", "code"];
        // A small deterministic generator: keys repeat often, as duplicates do.
        let mut state: u64 = 7;
        let mut next = move |n: u64| {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (state >> 33) % n
        };
        for step in 0..20_000i64 {
            let keys: Vec<(&'static str, String)> = (0..1 + next(3))
                .map(|_| (kinds[next(4) as usize], format!("{}", next(3000))))
                .collect();
            let seen = Seen::at_row(step, (next(2) == 0).then(Id::new)).unwrap();
            for k in &keys {
                assert_eq!(
                    table.get(k).unwrap(),
                    model.get(k).copied(),
                    "{k:?} at {step}"
                );
            }
            if next(3) == 0 {
                table.set(&keys, seen).unwrap();
                for k in &keys {
                    model.insert(k.clone(), seen);
                }
            } else {
                table.note(&keys, seen).unwrap();
                for k in &keys {
                    model.entry(k.clone()).or_insert(seen);
                }
            }
        }
        for (k, v) in &model {
            assert_eq!(table.get(k).unwrap(), Some(*v), "{k:?}");
        }
        assert_eq!(table.get(&("phone", "no such key".into())).unwrap(), None);
    }

    #[test]
    fn dates_in_the_ways_people_write_them() {
        for (input, day_first, want) in [
            ("2024-02-29", true, Some("2024-02-29")),
            ("29.02.2024", true, Some("2024-02-29")),
            ("29/02/2024", true, Some("2024-02-29")),
            ("02/29/2024", true, Some("2024-02-29")),
            ("01/02/2024", true, Some("2024-02-01")),
            ("01/02/2024", false, Some("2024-01-02")),
            ("1.2.85", true, Some("1985-02-01")),
            ("20240229", true, Some("2024-02-29")),
            ("2024-02-29T00:00:00", true, Some("2024-02-29")),
            ("30.02.2024", true, None),
            ("yesterday", true, None),
            ("12/13/14/15", true, None),
        ] {
            assert_eq!(parse_date(input, day_first).as_deref(), want, "{input}");
        }
    }

    #[test]
    fn amounts_with_either_decimal_mark() {
        for (input, want) in [
            ("1 234,50", "1234.50"),
            ("1,234.50", "1234.50"),
            ("1.234,50", "1234.50"),
            ("1234", "1234"),
            ("12,5", "12.5"),
        ] {
            assert_eq!(parse_decimal(input), want, "{input}");
        }
    }

    #[test]
    fn suggestions_from_headers_in_three_languages_and_outlook() {
        let customs = vec![];
        let t = targets(&hamkor_domain::objects::CONTACT, &customs);
        let headers: Vec<String> = [
            "First Name",
            "Фамилия",
            "Otasining ismi",
            "Mobile Phone",
            "Business Phone",
            "E-mail Address",
            "Company",
            "Job Title",
            "Unknown",
            "Имя",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let s = suggest(&headers, &t);
        assert_eq!(
            s,
            [
                Some("first_name"),
                Some("last_name"),
                Some("middle_name"),
                Some("phones"),
                Some("phones"),
                Some("emails"),
                Some("account"),
                Some("position"),
                None,
                None,
            ]
            .map(|o| o.map(str::to_string))
        );
        assert_eq!(kind_from_header("Business Phone", true), "work");
        // Choices are known by their names on the screens too, in each language.
        let units = hamkor_domain::objects::UNITS;
        assert_eq!(choice_by_label(units, "шт"), Some("pcs"));
        assert_eq!(choice_by_label(units, "dona"), Some("pcs"));
        assert_eq!(choice_by_label(units, " КГ "), Some("kg"));
        assert_eq!(choice_by_label(units, "м"), Some("m"));
        assert_eq!(choice_by_label(units, "parsecs"), None);
        assert_eq!(kind_from_header("Мобильный телефон", true), "mobile");
        assert_eq!(kind_from_header("Home e-mail", false), "personal");
    }
}
