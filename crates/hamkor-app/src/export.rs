//! Export (F6): a list — its filters, search, sort and columns — to CSV or XLSX, and
//! contacts to vCard 4.0. The web UI, the REST API and `hamkor export` all call
//! [`App::prepare_export`] then [`App::export`].
//!
//! - **What is exported** is exactly what the list shows the actor: the rows come from the
//!   same `records::list` (so the same read scope, filters and search) walked to the end
//!   with keyset pages of [`PAGE`] rows. Only one page is in memory at a time; CSV and
//!   vCard bytes go out page by page, XLSX rows go to the worksheet's temporary file
//!   (rust_xlsxwriter's constant-memory mode) and the workbook is zipped straight into
//!   the output at the end.
//! - **Values** are what the list page shows, typed: choices as their label in the
//!   actor's language, links as the linked record's name (empty when the actor may not
//!   see it), users by name, phones and e-mails as typed with their kind; picklist values
//!   and tags as stored (they have no translations). Numbers and money stay numbers,
//!   dates stay dates (`YYYY-MM-DD` in CSV, date cells in XLSX), times are in the
//!   actor's time zone. The header row holds the columns' labels in the actor's language.
//! - **Formula injection**: every text cell that starts with `=`, `+`, `-`, `@`, a tab,
//!   a carriage return, a line feed, `|` or `%` (or the full-width `＝＋－＠`) gets a `'`
//!   in front ([`neutralise`]), in CSV and XLSX alike; XLSX text is always written as a
//!   string cell, never a formula. Numbers are numbers and need none.
//! - **Audit**: every export writes one `export` entry in `audit_log` — who, the object,
//!   the list parameters, the columns, the format, the row count, whether it finished
//!   and where it was asked for (`api`, `ui`, `shell`)
//!   — under its own id (`record_id` is the export's id, not a record's). It is written
//!   once every row is read and before the last bytes are sent, so whoever holds the
//!   whole file has an entry; an export that stops early is logged with
//!   `complete: false` and the rows written so far.

use crate::{App, AppError, AppResult};
use hamkor_domain::custom::{CustomFieldDef, CustomKind};
use hamkor_domain::objects::{FieldDef, FieldKind, ObjectDef};
use hamkor_domain::{Action, FieldError, Id, ObjectType, Scope, Timestamp, ValidationErrors};
use hamkor_store::Actor;
use hamkor_store::audit;
use hamkor_store::list::ListQuery;
use hamkor_store::records::{self, Record};
use serde_json::{Map, Value, json};
use std::borrow::Cow;
use std::collections::HashMap;

/// Rows read per keyset page.
pub const PAGE: u32 = 1000;
/// Bytes handed to the output at a time.
const CHUNK: usize = 64 * 1024;
/// The most columns an export may ask for.
const MAX_COLUMNS: usize = 100;
/// Excel's longest text cell.
const XLSX_MAX_TEXT: usize = 32_767;
/// Excel's last row (0-based), the header taking the first.
const XLSX_MAX_ROW: u32 = 1_048_575;

/// Where an export's bytes go: chunks in order, or an error that ends it.
pub type Chunks = tokio::sync::mpsc::Sender<std::io::Result<Vec<u8>>>;

/// The file formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    Csv,
    Xlsx,
    /// vCard 4.0, contacts only.
    Vcard,
}

impl ExportFormat {
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s.trim().to_ascii_lowercase().as_str() {
            "csv" => ExportFormat::Csv,
            "xlsx" => ExportFormat::Xlsx,
            "vcf" | "vcard" => ExportFormat::Vcard,
            _ => return None,
        })
    }

    /// The format a file name's extension names (`contacts.vcf`).
    pub fn from_file_name(name: &str) -> Option<Self> {
        name.rsplit_once('.').and_then(|(_, ext)| Self::parse(ext))
    }

    /// `csv`, `xlsx` or `vcf`: the name in the API and the file extension.
    pub fn as_str(&self) -> &'static str {
        match self {
            ExportFormat::Csv => "csv",
            ExportFormat::Xlsx => "xlsx",
            ExportFormat::Vcard => "vcf",
        }
    }

    pub fn content_type(&self) -> &'static str {
        match self {
            ExportFormat::Csv => "text/csv; charset=utf-8",
            ExportFormat::Xlsx => {
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
            }
            ExportFormat::Vcard => "text/vcard; charset=utf-8",
        }
    }
}

/// Translations and the time zone an export is written in (the actor's). The web layer
/// implements it with its fluent files; the shell uses the same.
pub trait ExportText: Send + Sync {
    fn t(&self, key: &str) -> String;
    fn t_args(&self, key: &str, args: &[(&'static str, String)]) -> String;
    fn tz(&self) -> chrono_tz::Tz;
}

/// What to export, as the API, the UI and the shell give it: the export's own parameters
/// taken out of the list parameters.
#[derive(Debug, Clone)]
pub struct ExportRequest {
    pub format: ExportFormat,
    /// CSV only: `,` (the default), `;` or a tab.
    pub delimiter: u8,
    /// Column names; empty means every field.
    pub columns: Vec<String>,
    /// Filters, `q` and `sort`, as the list takes them.
    pub list: Vec<(String, String)>,
}

impl ExportRequest {
    /// Reads `format` (else `default`), `delimiter`, `columns` (comma-separated) or
    /// repeated `col` (as the list page sends them); every other parameter is the list's,
    /// except `cursor`, `limit` and `count`, which are dropped: an export is the whole list.
    pub fn parse(
        params: &[(String, String)],
        default: Option<ExportFormat>,
    ) -> Result<ExportRequest, ValidationErrors> {
        let mut errors = ValidationErrors::default();
        let mut format = None;
        let mut delimiter = b',';
        let mut columns: Vec<String> = Vec::new();
        let mut list = Vec::new();
        for (k, v) in params {
            match k.as_str() {
                "format" => match ExportFormat::parse(v) {
                    Some(f) => format = Some(f),
                    None => errors.push(
                        FieldError::new("format", "error-choice").with("options", "csv, xlsx, vcf"),
                    ),
                },
                "delimiter" => match v.as_str() {
                    "," | "comma" => delimiter = b',',
                    ";" | "semicolon" => delimiter = b';',
                    "\t" | "tab" => delimiter = b'\t',
                    _ => errors.push(
                        FieldError::new("delimiter", "error-choice")
                            .with("options", "comma, semicolon, tab"),
                    ),
                },
                "columns" => columns.extend(
                    v.split(',')
                        .map(str::trim)
                        .filter(|c| !c.is_empty())
                        .map(str::to_string),
                ),
                "col" if !v.trim().is_empty() => columns.push(v.trim().to_string()),
                "col" | "cursor" | "limit" | "count" => {}
                _ => list.push((k.clone(), v.clone())),
            }
        }
        let format = format.or(default);
        if format.is_none() && errors.0.is_empty() {
            errors.push(FieldError::new("format", "error-required"));
        }
        errors.into_result()?;
        Ok(ExportRequest {
            format: format.unwrap_or(ExportFormat::Csv),
            delimiter,
            columns,
            list,
        })
    }
}

/// Where a column's value comes from.
#[derive(Debug, Clone)]
enum Source {
    Id,
    /// A contact's full name.
    Name,
    /// A contact's accounts (those the actor may see), with positions.
    Accounts,
    Core(&'static FieldDef),
    Owner,
    Created,
    Updated,
    Custom(CustomFieldDef),
}

/// One column of an export.
#[derive(Debug, Clone)]
pub struct ExportColumn {
    /// The name asked for (`name`, `custom.budget`).
    pub name: String,
    source: Source,
}

impl ExportColumn {
    fn label(&self, def: &ObjectDef, text: &dyn ExportText) -> String {
        let o = def.object.as_str();
        match &self.source {
            Source::Id => text.t("export-id"),
            Source::Name => text.t("field-contact-name"),
            Source::Accounts => text.t("field-contact-accounts"),
            Source::Core(f) => text.t(&format!("field-{o}-{}", f.name)),
            Source::Owner => text.t(&format!("field-{o}-owner_id")),
            Source::Created => text.t("field-any-created_at"),
            Source::Updated => text.t("field-any-updated_at"),
            Source::Custom(d) => d.label.clone(),
        }
    }
}

fn resolve_column(def: &ObjectDef, customs: &[CustomFieldDef], name: &str) -> Option<Source> {
    let contact = def.object == ObjectType::Contact;
    Some(match name {
        "id" => Source::Id,
        "name" if contact => Source::Name,
        "accounts" if contact => Source::Accounts,
        "owner_id" => Source::Owner,
        "created_at" => Source::Created,
        "updated_at" => Source::Updated,
        n if def.owner_alias == Some(n) => Source::Owner,
        n => match n.strip_prefix("custom.") {
            Some(key) => Source::Custom(customs.iter().find(|d| d.key == key)?.clone()),
            None => Source::Core(def.field(n)?),
        },
    })
}

/// Every column: the id, each core field (and a contact's accounts), the owner, the
/// times and the custom fields.
fn all_columns(def: &ObjectDef, customs: &[CustomFieldDef]) -> Vec<ExportColumn> {
    let mut names: Vec<String> = vec!["id".into()];
    names.extend(def.fields.iter().map(|f| f.name.to_string()));
    if def.object == ObjectType::Contact {
        names.push("accounts".into());
    }
    names.extend(["owner_id", "created_at", "updated_at"].map(String::from));
    names.extend(customs.iter().map(|d| format!("custom.{}", d.key)));
    names
        .into_iter()
        .filter_map(|n| {
            resolve_column(def, customs, &n).map(|source| ExportColumn { name: n, source })
        })
        .collect()
}

/// A checked export, ready to run.
#[derive(Debug, Clone)]
pub struct ExportPlan {
    /// The export's own id (its audit entry's `record_id`).
    pub id: Id,
    pub def: &'static ObjectDef,
    pub format: ExportFormat,
    delimiter: u8,
    query: ListQuery,
    pub columns: Vec<ExportColumn>,
    /// The list parameters, for the audit entry.
    list: Vec<(String, String)>,
    /// Where it was asked for (`api`, `ui`, `shell`), for the audit entry.
    pub via: &'static str,
}

impl ExportPlan {
    /// `contacts-20261128-1405.csv`, the time in the actor's zone.
    pub fn file_name(&self, tz: chrono_tz::Tz) -> String {
        format!(
            "{}-{}.{}",
            self.def.plural,
            chrono::Utc::now().with_timezone(&tz).format("%Y%m%d-%H%M"),
            self.format.as_str()
        )
    }
}

/// How an export ended.
#[derive(Debug, Clone, PartialEq)]
pub struct ExportSummary {
    pub id: Id,
    pub rows: u64,
}

/// A value as it goes into a file.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Empty,
    Text(String),
    Int(i64),
    /// A number and its text as stored (`5`, `2.5`).
    Number(f64, String),
    /// An amount: its decimal text, its value, and its currency when the value carries
    /// one (a custom money field; a core amount's currency is a column of its own).
    Money(String, f64, Option<String>),
    Date(chrono::NaiveDate),
    /// A time in the actor's zone.
    DateTime(chrono::NaiveDateTime),
    /// Seconds.
    Duration(i64),
}

/// Makes text safe to open in a spreadsheet: a cell starting with a character that
/// Excel, LibreOffice or Google Sheets would read as the start of a formula (or a DDE
/// call) gets a `'` in front, which they show as text.
pub fn neutralise(s: &str) -> Cow<'_, str> {
    match s.chars().next() {
        Some(
            '=' | '+' | '-' | '@' | '\t' | '\r' | '\n' | '|' | '%' | '\u{FF1D}' | '\u{FF0B}'
            | '\u{FF0D}' | '\u{FF20}',
        ) => Cow::Owned(format!("'{s}")),
        _ => Cow::Borrowed(s),
    }
}

/// A JSON number as a cell: `1200`, not `1200.0`.
fn number(n: &serde_json::Number) -> Cell {
    let x = n.as_f64().unwrap_or(0.0);
    Cell::Number(x, format!("{x}"))
}

fn duration_text(secs: i64) -> String {
    if secs >= 3600 {
        format!("{}:{:02}:{:02}", secs / 3600, secs % 3600 / 60, secs % 60)
    } else {
        format!("{}:{:02}", secs / 60, secs % 60)
    }
}

impl Cell {
    /// The cell as CSV text: numbers, dates and times as plain machine-readable text,
    /// everything else neutralised.
    pub fn csv_text(&self) -> Cow<'_, str> {
        match self {
            Cell::Empty => Cow::Borrowed(""),
            Cell::Text(s) => neutralise(s),
            Cell::Int(i) => Cow::Owned(i.to_string()),
            Cell::Number(_, s) => Cow::Borrowed(s),
            Cell::Money(a, _, None) => Cow::Borrowed(a),
            Cell::Money(a, _, Some(c)) => Cow::Owned(neutralise(&format!("{a} {c}")).into_owned()),
            Cell::Date(d) => Cow::Owned(d.format("%Y-%m-%d").to_string()),
            Cell::DateTime(t) => Cow::Owned(t.format("%Y-%m-%d %H:%M").to_string()),
            Cell::Duration(s) => Cow::Owned(duration_text(*s)),
        }
    }
}

/// The kinds of `{value, kind}` lists: the key of the value and the default kind.
fn list_kind(kind: FieldKind) -> Option<(&'static str, &'static str)> {
    match kind {
        FieldKind::Phones => Some(("number", "mobile")),
        FieldKind::Emails => Some(("address", "work")),
        FieldKind::Addresses => Some(("address", "actual")),
        FieldKind::Messengers => Some(("handle", "telegram")),
        _ => None,
    }
}

/// Names the values of one page need: users, settings rows (teams, pipelines, stages)
/// and the linked records the actor may see.
#[derive(Default)]
struct Names {
    users: HashMap<Id, String>,
    lookups: HashMap<Id, String>,
    records: HashMap<Id, String>,
}

impl Names {
    fn user(&self, s: &str) -> String {
        s.parse::<Id>()
            .ok()
            .and_then(|id| self.users.get(&id).cloned())
            .unwrap_or_default()
    }
    fn record(&self, s: &str) -> String {
        s.parse::<Id>()
            .ok()
            .and_then(|id| self.records.get(&id).cloned())
            .unwrap_or_default()
    }
}

fn strings(v: &Value) -> impl Iterator<Item = &str> {
    v.as_array().into_iter().flatten().filter_map(Value::as_str)
}

fn core_cell(f: &FieldDef, v: &Value, names: &Names, text: &dyn ExportText) -> Cell {
    let joined = |items: Vec<String>| {
        let items: Vec<String> = items.into_iter().filter(|s| !s.is_empty()).collect();
        if items.is_empty() {
            Cell::Empty
        } else {
            Cell::Text(items.join(", "))
        }
    };
    match (f.kind, v) {
        (_, Value::Null) => Cell::Empty,
        (k, Value::Array(items)) if list_kind(k).is_some() => {
            let (main, default) = list_kind(k).unwrap_or(("", ""));
            let sep = if k == FieldKind::Addresses {
                "\n"
            } else {
                ", "
            };
            let parts: Vec<String> = items
                .iter()
                .filter_map(|p| {
                    let v = p.get(main).and_then(Value::as_str)?;
                    Some(match p.get("kind").and_then(Value::as_str) {
                        Some(kind) if kind != default => {
                            format!("{v} ({})", text.t(&format!("choice-{kind}")))
                        }
                        _ => v.to_string(),
                    })
                })
                .collect();
            if parts.is_empty() {
                Cell::Empty
            } else {
                Cell::Text(parts.join(sep))
            }
        }
        (FieldKind::Choice(_), Value::String(s)) => Cell::Text(text.t(&format!("choice-{s}"))),
        (FieldKind::Date, Value::String(s)) => {
            match chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d") {
                Ok(d) => Cell::Date(d),
                Err(_) => Cell::Text(s.clone()),
            }
        }
        (FieldKind::DateTime, Value::String(s)) => match Timestamp::parse_rfc3339(s) {
            Some(t) => Cell::DateTime(t.0.with_timezone(&text.tz()).naive_local()),
            None => Cell::Text(s.clone()),
        },
        (FieldKind::Duration, Value::Number(n)) => Cell::Duration(n.as_i64().unwrap_or(0)),
        (FieldKind::Amount, Value::String(a)) => match a.parse::<f64>() {
            Ok(x) => Cell::Money(a.clone(), x, None),
            Err(_) => Cell::Text(a.clone()),
        },
        (FieldKind::Ref(_), Value::String(s)) => joined(vec![names.record(s)]),
        (FieldKind::Refs(_), Value::Array(_)) => {
            joined(strings(v).map(|s| names.record(s)).collect())
        }
        (FieldKind::Users, Value::Array(_)) => joined(strings(v).map(|s| names.user(s)).collect()),
        (FieldKind::Related, Value::Object(o)) => {
            let id = o.get("id").and_then(Value::as_str).unwrap_or("");
            let ty = o.get("type").and_then(Value::as_str).unwrap_or("");
            let title = names.record(id);
            if title.is_empty() {
                Cell::Empty
            } else {
                Cell::Text(format!("{}: {title}", text.t(&format!("object-{ty}"))))
            }
        }
        (FieldKind::Lookup(_), Value::String(s)) => Cell::Text(
            s.parse::<Id>()
                .ok()
                .and_then(|id| names.lookups.get(&id).cloned())
                .unwrap_or_default(),
        ),
        (FieldKind::Checklist, Value::Array(items)) => {
            let done = items
                .iter()
                .filter(|i| i.get("done").and_then(Value::as_bool) == Some(true))
                .count();
            Cell::Text(format!("{done}/{}", items.len()))
        }
        (FieldKind::Recurrence, Value::Object(o)) => {
            let every = o.get("every").and_then(Value::as_str).unwrap_or("");
            let n = o.get("interval").and_then(Value::as_i64).unwrap_or(1);
            Cell::Text(text.t_args(&format!("repeat-{every}"), &[("n", n.to_string())]))
        }
        (_, Value::Array(_)) => joined(strings(v).map(str::to_string).collect()),
        (_, Value::String(s)) => Cell::Text(s.clone()),
        (_, Value::Bool(b)) => Cell::Text(text.t(if *b { "yes" } else { "no" })),
        (FieldKind::Count, Value::Number(n)) if n.is_i64() => Cell::Int(n.as_i64().unwrap_or(0)),
        (_, Value::Number(n)) => number(n),
        (_, other) => Cell::Text(other.to_string()),
    }
}

fn custom_cell(d: &CustomFieldDef, v: &Value, names: &Names, text: &dyn ExportText) -> Cell {
    match (d.kind, v) {
        (_, Value::Null) => Cell::Empty,
        (CustomKind::Number, Value::Number(n)) => number(n),
        (CustomKind::Money, Value::Object(o)) => {
            let a = o.get("amount").and_then(Value::as_str).unwrap_or("");
            let c = o
                .get("currency")
                .and_then(Value::as_str)
                .map(str::to_string);
            match a.parse::<f64>() {
                Ok(x) => Cell::Money(a.to_string(), x, c),
                Err(_) => Cell::Text(a.to_string()),
            }
        }
        (CustomKind::Date, Value::String(s)) => {
            match chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d") {
                Ok(d) => Cell::Date(d),
                Err(_) => Cell::Text(s.clone()),
            }
        }
        (_, Value::Bool(b)) => Cell::Text(text.t(if *b { "yes" } else { "no" })),
        (CustomKind::User, Value::String(s)) => Cell::Text(names.user(s)),
        (CustomKind::Link, Value::String(s)) => Cell::Text(names.record(s)),
        (_, Value::Array(_)) => Cell::Text(strings(v).collect::<Vec<_>>().join(", ")),
        (_, Value::String(s)) => Cell::Text(s.clone()),
        (_, Value::Number(n)) => number(n),
        (_, other) => Cell::Text(other.to_string()),
    }
}

fn cells(r: &Record, columns: &[ExportColumn], names: &Names, text: &dyn ExportText) -> Vec<Cell> {
    let local = |t: &Timestamp| Cell::DateTime(t.0.with_timezone(&text.tz()).naive_local());
    columns
        .iter()
        .map(|c| match &c.source {
            Source::Id => Cell::Text(r.id.to_string()),
            Source::Name => Cell::Text(r.title()),
            Source::Accounts => Cell::Text(
                r.accounts
                    .iter()
                    .map(|a| match a.position.as_deref().filter(|p| !p.is_empty()) {
                        Some(p) => format!("{} ({p})", a.name),
                        None => a.name.clone(),
                    })
                    .collect::<Vec<_>>()
                    .join(", "),
            ),
            Source::Core(f) => {
                core_cell(f, r.fields.get(f.name).unwrap_or(&Value::Null), names, text)
            }
            Source::Owner => Cell::Text(names.users.get(&r.owner_id).cloned().unwrap_or_default()),
            Source::Created => local(&r.created_at),
            Source::Updated => local(&r.updated_at),
            Source::Custom(d) => {
                custom_cell(d, r.custom.get(&d.key).unwrap_or(&Value::Null), names, text)
            }
        })
        .collect()
}

// --- vCard 4.0 (RFC 6350) ---

/// Escapes a text value: `\`, `,`, `;` and line breaks; other control characters go.
fn vcard_escape(s: &str) -> String {
    let s = s.replace("\r\n", "\n");
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            ',' => out.push_str("\\,"),
            ';' => out.push_str("\\;"),
            '\n' | '\r' => out.push_str("\\n"),
            c if c.is_control() && c != '\t' => {}
            c => out.push(c),
        }
    }
    out
}

/// Appends one content line folded at 75 octets (never inside a character), CRLF-ended.
fn vcard_line(out: &mut String, line: &str) {
    let mut used = 0;
    for c in line.chars() {
        let n = c.len_utf8();
        if used + n > 75 {
            out.push_str("\r\n ");
            used = 1;
        }
        out.push(c);
        used += n;
    }
    out.push_str("\r\n");
}

/// A contact as a vCard: names, phones, e-mails, its first account (that the actor may
/// see) as ORG with the position as TITLE (the others in NOTE), birthday and tags.
pub fn vcard(r: &Record) -> String {
    let text = |k: &str| r.fields.get(k).and_then(Value::as_str).unwrap_or("");
    let mut out = String::new();
    vcard_line(&mut out, "BEGIN:VCARD");
    vcard_line(&mut out, "VERSION:4.0");
    vcard_line(&mut out, &format!("UID:urn:uuid:{}", r.id));
    vcard_line(&mut out, &format!("FN:{}", vcard_escape(&r.title())));
    vcard_line(
        &mut out,
        &format!(
            "N:{};{};{};;",
            vcard_escape(text("last_name")),
            vcard_escape(text("first_name")),
            vcard_escape(text("middle_name"))
        ),
    );
    if let Some(first) = r.accounts.first() {
        vcard_line(&mut out, &format!("ORG:{}", vcard_escape(&first.name)));
        if let Some(p) = first.position.as_deref().filter(|p| !p.is_empty()) {
            vcard_line(&mut out, &format!("TITLE:{}", vcard_escape(p)));
        }
    }
    for p in r
        .fields
        .get("phones")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let ty = match p.get("kind").and_then(Value::as_str).unwrap_or("mobile") {
            "mobile" => "cell",
            "work" => "work,voice",
            "home" => "home,voice",
            "fax" => "fax",
            _ => "voice",
        };
        match (
            p.get("e164").and_then(Value::as_str),
            p.get("number").and_then(Value::as_str),
        ) {
            (Some(e), _) if e.starts_with('+') && e[1..].chars().all(|c| c.is_ascii_digit()) => {
                vcard_line(&mut out, &format!("TEL;VALUE=uri;TYPE=\"{ty}\":tel:{e}"))
            }
            (_, Some(n)) => vcard_line(&mut out, &format!("TEL;TYPE=\"{ty}\":{}", vcard_escape(n))),
            _ => {}
        }
    }
    for e in r
        .fields
        .get("emails")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let Some(a) = e.get("address").and_then(Value::as_str) else {
            continue;
        };
        let line = match e.get("kind").and_then(Value::as_str) {
            Some("work") | None => format!("EMAIL;TYPE=work:{}", vcard_escape(a)),
            Some("personal") => format!("EMAIL;TYPE=home:{}", vcard_escape(a)),
            Some(_) => format!("EMAIL:{}", vcard_escape(a)),
        };
        vcard_line(&mut out, &line);
    }
    if let Ok(d) = chrono::NaiveDate::parse_from_str(text("birthday"), "%Y-%m-%d") {
        vcard_line(&mut out, &format!("BDAY:{}", d.format("%Y%m%d")));
    }
    let tags: Vec<String> = r
        .fields
        .get("tags")
        .map(|v| strings(v).map(vcard_escape).collect())
        .unwrap_or_default();
    if !tags.is_empty() {
        vcard_line(&mut out, &format!("CATEGORIES:{}", tags.join(",")));
    }
    if r.accounts.len() > 1 {
        let others: Vec<String> = r.accounts[1..]
            .iter()
            .map(|a| match a.position.as_deref().filter(|p| !p.is_empty()) {
                Some(p) => format!("{} ({p})", a.name),
                None => a.name.clone(),
            })
            .collect();
        vcard_line(
            &mut out,
            &format!("NOTE:{}", vcard_escape(&others.join("\n"))),
        );
    }
    vcard_line(
        &mut out,
        &format!("REV:{}", r.updated_at.0.format("%Y%m%dT%H%M%SZ")),
    );
    vcard_line(&mut out, "END:VCARD");
    out
}

// --- XLSX ---

/// Days since Excel's epoch (1899-12-30), with the time of day as the fraction.
fn excel_serial(t: chrono::NaiveDateTime) -> f64 {
    let epoch = chrono::NaiveDate::from_ymd_opt(1899, 12, 30)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .unwrap_or_default();
    (t - epoch).num_milliseconds() as f64 / 86_400_000.0
}

/// A worksheet written row by row to its temporary file (constant memory).
struct Xlsx {
    book: rust_xlsxwriter::Workbook,
    row: u32,
    bold: rust_xlsxwriter::Format,
    date: rust_xlsxwriter::Format,
    datetime: rust_xlsxwriter::Format,
    duration: rust_xlsxwriter::Format,
    money: HashMap<String, rust_xlsxwriter::Format>,
}

fn xlsx_error(e: rust_xlsxwriter::XlsxError) -> AppError {
    AppError::Internal(format!("xlsx: {e}"))
}

impl Xlsx {
    fn new(sheet: &str) -> AppResult<Xlsx> {
        use rust_xlsxwriter::{Format, Workbook};
        let mut book = Workbook::new();
        let ws = book
            .add_worksheet_with_constant_memory()
            .map_err(xlsx_error)?;
        // Sheet names are at most 31 characters and cannot hold []:*?/\.
        let name: String = sheet
            .chars()
            .filter(|c| !"[]:*?/\\".contains(*c))
            .take(31)
            .collect();
        if !name.is_empty() {
            ws.set_name(&name).map_err(xlsx_error)?;
        }
        Ok(Xlsx {
            book,
            row: 0,
            bold: Format::new().set_bold(),
            date: Format::new().set_num_format("yyyy-mm-dd"),
            datetime: Format::new().set_num_format("yyyy-mm-dd hh:mm"),
            duration: Format::new().set_num_format("[h]:mm:ss"),
            money: HashMap::new(),
        })
    }

    fn header(&mut self, labels: &[String]) -> AppResult<()> {
        let bold = self.bold.clone();
        let ws = self.book.worksheet_from_index(0).map_err(xlsx_error)?;
        for (i, l) in labels.iter().enumerate() {
            let col = i as u16;
            ws.set_column_width(col, 20).map_err(xlsx_error)?;
            ws.write_string_with_format(0, col, neutralise(l).as_ref(), &bold)
                .map_err(xlsx_error)?;
        }
        ws.set_freeze_panes(1, 0).map_err(xlsx_error)?;
        Ok(())
    }

    fn money_format(&mut self, currency: Option<&str>) -> rust_xlsxwriter::Format {
        let key = currency.unwrap_or("").to_string();
        self.money
            .entry(key.clone())
            .or_insert_with(|| {
                // Currency codes are three capital letters (checked when stored); anything
                // else is left out of the format rather than quoted into it.
                let code = (key.len() == 3 && key.chars().all(|c| c.is_ascii_uppercase()))
                    .then_some(key.as_str());
                let pattern = match code {
                    Some(c) => format!("#,##0.00 \"{c}\""),
                    None => "#,##0.00".to_string(),
                };
                rust_xlsxwriter::Format::new().set_num_format(&pattern)
            })
            .clone()
    }

    fn row(&mut self, cells: &[Cell]) -> AppResult<()> {
        if self.row >= XLSX_MAX_ROW {
            return Err(FieldError::new("format", "error-export-xlsx-rows")
                .with("max", XLSX_MAX_ROW)
                .into());
        }
        self.row += 1;
        let row = self.row;
        for (i, cell) in cells.iter().enumerate() {
            let col = i as u16;
            let fmt = match cell {
                Cell::Money(_, _, c) => Some(self.money_format(c.as_deref())),
                Cell::Date(_) => Some(self.date.clone()),
                Cell::DateTime(_) => Some(self.datetime.clone()),
                Cell::Duration(_) => Some(self.duration.clone()),
                _ => None,
            };
            let ws = self.book.worksheet_from_index(0).map_err(xlsx_error)?;
            let done = match (cell, fmt) {
                (Cell::Empty, _) => continue,
                (Cell::Text(s), _) => {
                    let safe = neutralise(s);
                    let cut: Cow<str> = if safe.chars().count() > XLSX_MAX_TEXT {
                        Cow::Owned(safe.chars().take(XLSX_MAX_TEXT).collect())
                    } else {
                        safe
                    };
                    ws.write_string(row, col, cut.as_ref())
                }
                (Cell::Int(n), _) => ws.write_number(row, col, *n as f64),
                (Cell::Number(x, _), _) => ws.write_number(row, col, *x),
                (Cell::Money(_, x, _), Some(f)) => ws.write_number_with_format(row, col, *x, &f),
                (Cell::Date(d), Some(f)) => ws.write_number_with_format(
                    row,
                    col,
                    excel_serial(d.and_hms_opt(0, 0, 0).unwrap_or_default()),
                    &f,
                ),
                (Cell::DateTime(t), Some(f)) => {
                    ws.write_number_with_format(row, col, excel_serial(*t), &f)
                }
                (Cell::Duration(s), Some(f)) => {
                    ws.write_number_with_format(row, col, *s as f64 / 86_400.0, &f)
                }
                (_, None) => continue,
            };
            done.map_err(xlsx_error)?;
        }
        Ok(())
    }
}

/// Hands what the workbook writes to the output in chunks (used on a blocking thread).
struct ChunkWriter {
    out: Chunks,
    buf: Vec<u8>,
}

impl std::io::Write for ChunkWriter {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(data);
        if self.buf.len() >= CHUNK {
            let chunk = std::mem::take(&mut self.buf);
            self.out
                .blocking_send(Ok(chunk))
                .map_err(|_| std::io::Error::from(std::io::ErrorKind::BrokenPipe))?;
        }
        Ok(data.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The output of an export while its rows are written.
enum Out {
    /// CSV or vCard text waiting to be sent.
    Text(Vec<u8>),
    Xlsx(Box<Xlsx>),
}

/// Sends a chunk; an output nobody reads any more ends the export.
async fn send(out: &Chunks, chunk: Vec<u8>) -> AppResult<()> {
    if chunk.is_empty() {
        return Ok(());
    }
    out.send(Ok(chunk))
        .await
        .map_err(|_| AppError::Internal("the export's reader went away".into()))
}

fn csv_row<'a>(delimiter: u8, fields: impl IntoIterator<Item = Cow<'a, str>>) -> Vec<u8> {
    let mut w = csv::WriterBuilder::new()
        .delimiter(delimiter)
        .from_writer(Vec::new());
    let row: Vec<Cow<str>> = fields.into_iter().collect();
    // Writing to memory cannot fail.
    let _ = w.write_record(row.iter().map(|c| c.as_bytes()));
    w.into_inner().unwrap_or_default()
}

impl App {
    /// Checks an export before anything is written: the actor may read the object, the
    /// list parameters and columns are valid, vCard is asked only of contacts.
    pub async fn prepare_export(
        &self,
        actor: &Actor,
        def: &'static ObjectDef,
        req: &ExportRequest,
    ) -> AppResult<ExportPlan> {
        if actor.scope(def.object, Action::Read) == Scope::None
            || actor.scope(def.object, Action::Export) == Scope::None
        {
            return Err(AppError::Forbidden);
        }
        let mut errors = ValidationErrors::default();
        if req.format == ExportFormat::Vcard && def.object != ObjectType::Contact {
            errors.push(FieldError::new("format", "error-export-vcard"));
        }
        let customs = self.custom_fields(def.object).await?;
        let query = match ListQuery::parse(def, &customs, &req.list).and_then(|q| {
            crate::records::hidden_in_query(actor, def, &q)
                .map(|()| q)
                .map_err(|e| match e {
                    AppError::Invalid(v) => v,
                    _ => ValidationErrors::default(),
                })
        }) {
            Ok(mut q) => {
                q.limit = PAGE;
                Some(q)
            }
            Err(e) => {
                errors.0.extend(e.0);
                None
            }
        };
        let hidden = |source: &Source| match source {
            Source::Core(f) => actor.hides(def.object, f.name),
            Source::Custom(d) => actor.hides(def.object, &format!("custom.{}", d.key)),
            _ => false,
        };
        let columns = if req.columns.is_empty() {
            all_columns(def, &customs)
                .into_iter()
                .filter(|c| !hidden(&c.source))
                .collect()
        } else {
            if req.columns.len() > MAX_COLUMNS {
                errors.push(FieldError::new("columns", "error-too-many").with("max", MAX_COLUMNS));
            }
            let mut out = Vec::new();
            for name in &req.columns {
                match resolve_column(def, &customs, name).filter(|s| !hidden(s)) {
                    Some(source) => out.push(ExportColumn {
                        name: name.clone(),
                        source,
                    }),
                    None => errors.push(
                        FieldError::new("columns", "error-export-column").with("column", name),
                    ),
                }
            }
            out
        };
        errors.into_result()?;
        Ok(ExportPlan {
            id: Id::new(),
            def,
            format: req.format,
            delimiter: req.delimiter,
            query: query.unwrap_or_default(),
            columns,
            list: req.list.clone(),
            via: "api",
        })
    }

    /// Runs a prepared export into `out`, then logs it (see the module's notes). On an
    /// error the output gets nothing more; the caller passes the error on to its reader.
    pub async fn export(
        &self,
        actor: &Actor,
        plan: &ExportPlan,
        text: &dyn ExportText,
        out: &Chunks,
    ) -> AppResult<ExportSummary> {
        let mut rows = 0u64;
        let result = self.export_rows(actor, plan, text, out, &mut rows).await;
        let complete = result.is_ok();
        let mut changes = Map::new();
        changes.insert("format".into(), json!(plan.format.as_str()));
        changes.insert(
            "params".into(),
            Value::Array(plan.list.iter().map(|(k, v)| json!([k, v])).collect()),
        );
        changes.insert(
            "columns".into(),
            json!(
                plan.columns
                    .iter()
                    .map(|c| c.name.as_str())
                    .collect::<Vec<_>>()
            ),
        );
        changes.insert("rows".into(), json!(rows));
        changes.insert("complete".into(), json!(complete));
        changes.insert("via".into(), json!(plan.via));
        let mut tx = self.db.begin().await?;
        audit::record(&mut tx, plan.def.object, plan.id, "export", actor, changes).await?;
        tx.commit().await?;
        let tail = result?;
        match tail {
            Out::Text(bytes) => send(out, bytes).await?,
            Out::Xlsx(x) => {
                let out = out.clone();
                tokio::task::spawn_blocking(move || {
                    let mut x = x;
                    let mut w = ChunkWriter {
                        out,
                        buf: Vec::with_capacity(CHUNK),
                    };
                    x.book.save_to_writer(&mut w).map_err(xlsx_error)?;
                    let rest = std::mem::take(&mut w.buf);
                    if !rest.is_empty() {
                        w.out.blocking_send(Ok(rest)).map_err(|_| {
                            AppError::Internal("the export's reader went away".into())
                        })?;
                    }
                    Ok::<(), AppError>(())
                })
                .await
                .map_err(|e| AppError::Internal(e.to_string()))??;
            }
        }
        Ok(ExportSummary { id: plan.id, rows })
    }

    /// Writes every row, sending text as it fills; returns what is still to be sent (the
    /// last text, or the workbook to zip).
    async fn export_rows(
        &self,
        actor: &Actor,
        plan: &ExportPlan,
        text: &dyn ExportText,
        out: &Chunks,
        rows: &mut u64,
    ) -> AppResult<Out> {
        let def = plan.def;
        // The rows: what the actor may both read and export.
        let exporter = actor.reading_as(def.object, Action::Export);
        let mut names = Names::default();
        let wants_users = plan.columns.iter().any(|c| match &c.source {
            Source::Owner => true,
            Source::Core(f) => f.kind == FieldKind::Users,
            Source::Custom(d) => d.kind == CustomKind::User,
            _ => false,
        });
        if wants_users {
            names.users = self
                .users()
                .await?
                .into_iter()
                .map(|u| (u.id, u.name))
                .collect();
        }
        for c in &plan.columns {
            if let Source::Core(FieldDef {
                kind: FieldKind::Lookup(l),
                ..
            }) = &c.source
            {
                names.lookups.extend(self.lookup_names(*l).await?);
            }
        }
        let labels: Vec<String> = plan.columns.iter().map(|c| c.label(def, text)).collect();
        let mut output = match plan.format {
            ExportFormat::Csv => {
                let mut buf = "\u{FEFF}".as_bytes().to_vec();
                buf.extend(csv_row(
                    plan.delimiter,
                    labels.iter().map(|l| neutralise(l)),
                ));
                Out::Text(buf)
            }
            ExportFormat::Vcard => Out::Text(Vec::new()),
            ExportFormat::Xlsx => {
                let mut x = Xlsx::new(&text.t(&format!("nav-{}", def.plural)))?;
                x.header(&labels)?;
                Out::Xlsx(Box::new(x))
            }
        };
        let mut q = plan.query.clone();
        loop {
            let mut db = self.db.clone();
            let page = records::list(&mut db, &exporter, def, &q).await?;
            if plan.format != ExportFormat::Vcard {
                names.records = self
                    .linked_titles(actor, &plan.columns, &page.items)
                    .await?;
            }
            for r in &page.items {
                match &mut output {
                    Out::Text(buf) if plan.format == ExportFormat::Vcard => {
                        buf.extend_from_slice(vcard(r).as_bytes());
                    }
                    Out::Text(buf) => {
                        let row = cells(r, &plan.columns, &names, text);
                        buf.extend(csv_row(plan.delimiter, row.iter().map(Cell::csv_text)));
                    }
                    Out::Xlsx(x) => x.row(&cells(r, &plan.columns, &names, text))?,
                }
                *rows += 1;
            }
            let Some(cursor) = page.next_cursor else {
                break;
            };
            if let Out::Text(buf) = &mut output
                && buf.len() >= CHUNK
            {
                send(out, std::mem::take(buf)).await?;
            }
            if !q.continue_after(&cursor) {
                return Err(AppError::Internal("bad cursor".into()));
            }
        }
        Ok(output)
    }

    /// The names of the records a page's linked-record columns point to, as far as the
    /// actor may see them.
    async fn linked_titles(
        &self,
        actor: &Actor,
        columns: &[ExportColumn],
        items: &[Record],
    ) -> AppResult<HashMap<Id, String>> {
        let mut wanted: HashMap<ObjectType, Vec<Id>> = HashMap::new();
        let mut add = |t: ObjectType, v: Option<&str>| {
            if let Some(id) = v.and_then(|s| s.parse::<Id>().ok()) {
                wanted.entry(t).or_default().push(id);
            }
        };
        for c in columns {
            for r in items {
                match &c.source {
                    Source::Core(f) => {
                        let v = r.fields.get(f.name).unwrap_or(&Value::Null);
                        match f.kind {
                            FieldKind::Ref(t) => add(t, v.as_str()),
                            FieldKind::Refs(t) => strings(v).for_each(|s| add(t, Some(s))),
                            FieldKind::Related => {
                                if let Some(t) = v
                                    .get("type")
                                    .and_then(Value::as_str)
                                    .and_then(ObjectType::parse)
                                {
                                    add(t, v.get("id").and_then(Value::as_str));
                                }
                            }
                            _ => {}
                        }
                    }
                    Source::Custom(d) if d.kind == CustomKind::Link => {
                        if let Some(t) = d.link_object {
                            add(t, r.custom.get(&d.key).and_then(Value::as_str));
                        }
                    }
                    _ => {}
                }
            }
        }
        let mut found = HashMap::new();
        for (t, mut ids) in wanted {
            ids.sort();
            ids.dedup();
            for (id, title) in self.record_titles(actor, ObjectDef::get(t), &ids).await? {
                found.insert(id, title);
            }
        }
        Ok(found)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_text_is_neutralised() {
        for bad in [
            "=HYPERLINK(\"http://evil\",\"x\")",
            "+1",
            "-2+3",
            "@SUM(A1:A2)",
            "\tcmd",
            "\rcmd",
            "|calc",
            "%0A",
            "＝1+1",
        ] {
            assert_eq!(neutralise(bad), format!("'{bad}"), "{bad:?}");
        }
        for ok in ["Ivanov", "O'zbekiston", "1+1", " =1", ""] {
            assert_eq!(neutralise(ok), ok);
        }
        // Numbers stay numbers; money with a currency is text and is neutralised.
        assert_eq!(Cell::Number(-2.0, "-2".into()).csv_text(), "-2");
        assert_eq!(Cell::Int(-5).csv_text(), "-5");
        assert_eq!(
            Cell::Money("-1.50".into(), -1.5, Some("UZS".into())).csv_text(),
            "'-1.50 UZS"
        );
        assert_eq!(Cell::Text("+998 90".into()).csv_text(), "'+998 90");
    }

    #[test]
    fn csv_rows_quote_what_needs_it() {
        let row = csv_row(
            b';',
            ["a;b", "c\"d", "plain", "x\ny"]
                .into_iter()
                .map(Cow::Borrowed),
        );
        assert_eq!(
            String::from_utf8(row).unwrap(),
            "\"a;b\";\"c\"\"d\";plain;\"x\ny\"\n"
        );
    }

    #[test]
    fn vcard_lines_are_escaped_and_folded() {
        assert_eq!(vcard_escape("a,b;c\\d\r\ne\u{7}"), "a\\,b\\;c\\\\d\\ne");
        let mut out = String::new();
        let long = format!("NOTE:{}", "ж".repeat(60));
        vcard_line(&mut out, &long);
        for line in out.split("\r\n").filter(|l| !l.is_empty()) {
            assert!(line.len() <= 75, "{} octets", line.len());
        }
        // Unfolding gives the line back.
        assert_eq!(out.replace("\r\n ", "").trim_end(), long);
    }

    #[test]
    fn excel_serials() {
        let d = chrono::NaiveDate::from_ymd_opt(2024, 1, 31)
            .unwrap()
            .and_hms_opt(12, 0, 0)
            .unwrap();
        assert_eq!(excel_serial(d), 45322.5);
    }

    #[test]
    fn export_parameters() {
        let p = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        let r = ExportRequest::parse(
            &p(&[
                ("format", "xlsx"),
                ("columns", "name, phones"),
                ("col", "tags"),
                ("kind", "client"),
                ("cursor", "x"),
                ("limit", "5"),
                ("delimiter", ";"),
            ]),
            None,
        )
        .unwrap();
        assert_eq!(r.format, ExportFormat::Xlsx);
        assert_eq!(r.columns, ["name", "phones", "tags"]);
        assert_eq!(r.list, p(&[("kind", "client")]));
        assert_eq!(r.delimiter, b';');
        assert!(ExportRequest::parse(&p(&[]), None).is_err());
        assert!(ExportRequest::parse(&p(&[("format", "pdf")]), None).is_err());
        assert_eq!(
            ExportFormat::from_file_name("/tmp/a.VCF"),
            Some(ExportFormat::Vcard)
        );
    }
}
