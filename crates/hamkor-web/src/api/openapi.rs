//! `/api/v1/openapi.json`: the OpenAPI 3.1 description, generated from the object
//! descriptions (fields, kinds) and the route table below, which the router tests check
//! against the real routes.

use crate::AppState;
use axum::Router;
use axum::routing::get;
use hamkor_domain::ObjectType;
use hamkor_domain::objects::{FieldKind, OBJECTS, ObjectDef};
use serde_json::{Map, Value, json};

pub fn routes() -> Router<AppState> {
    Router::new().route("/api/v1/openapi.json", get(|| async { axum::Json(spec()) }))
}

/// The schema of a field's value, `null` excluded (see [`or_null`]).
fn field_schema(kind: FieldKind) -> Value {
    match kind {
        FieldKind::Text { max } => json!({"type": "string", "maxLength": max}),
        FieldKind::LongText => json!({"type": "string", "maxLength": 20000}),
        FieldKind::Choice(options) => json!({"type": "string", "enum": options}),
        FieldKind::Url => json!({"type": "string", "format": "uri"}),
        FieldKind::TaxId => json!({"type": "string",
            "description": "STIR (9 digits, Uzbekistan) or INN (10 or 12 digits with check digits, Russia); spaces and dashes are dropped"}),
        FieldKind::Date => json!({"type": "string", "format": "date"}),
        FieldKind::Ref(_) => {
            json!({"type": "string", "description": "id of the linked record"})
        }
        FieldKind::Phones => {
            json!({"type": "array", "items": {"type": "object", "properties": {
            "number": {"type": "string"}, "kind": {"type": "string", "enum": hamkor_domain::objects::PHONE_KINDS},
            "e164": {"type": "string", "readOnly": true}}}})
        }
        FieldKind::Emails => {
            json!({"type": "array", "items": {"type": "object", "properties": {
            "address": {"type": "string", "format": "email"}, "kind": {"type": "string", "enum": hamkor_domain::objects::EMAIL_KINDS}}}})
        }
        FieldKind::Tags => {
            json!({"type": "array", "items": {"type": "string", "maxLength": 50}})
        }
        FieldKind::DateTime => json!({"type": "string", "format": "date-time",
            "description": "RFC 3339 with an offset; shown in UTC"}),
        FieldKind::Duration => json!({"type": ["integer", "string"], "minimum": 0,
            "description": "seconds, or \"m:ss\" / \"h:mm:ss\"; shown as seconds"}),
        FieldKind::Users => json!({"type": "array", "items": {"type": "string"},
            "description": "ids of active users"}),
        FieldKind::Refs(_) => json!({"type": "array", "items": {"type": "string"},
            "description": "ids of linked records"}),
        FieldKind::Picklist(list) => json!({"type": "array", "items": {"type": "string"},
            "description": format!("values of the managed list {list:?} (GET /api/v1/picklists/{list})")}),
        FieldKind::Bool => json!({"type": "boolean"}),
        FieldKind::Count => json!({"type": "integer", "minimum": 0}),
        FieldKind::Checklist => {
            json!({"type": "array", "maxItems": hamkor_domain::input::MAX_CHECKLIST,
            "items": {"type": "object", "properties": {"text": {"type": "string", "maxLength": 300}, "done": {"type": "boolean"}}, "required": ["text"]}})
        }
        FieldKind::Recurrence => json!({"type": "object", "properties": {
            "every": {"type": "string", "enum": ["day", "week", "month", "year"]},
            "interval": {"type": "integer", "minimum": 1, "maximum": hamkor_domain::recurrence::MAX_INTERVAL},
            "weekdays": {"type": "array", "items": {"type": "string", "enum": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]}},
            "until": {"type": "string", "format": "date"},
            "count": {"type": "integer", "minimum": 2},
            "day": {"type": "integer", "readOnly": true}, "month": {"type": "integer", "readOnly": true}},
            "required": ["every"],
            "description": "how the task repeats; the next occurrence is created when one is closed"}),
        FieldKind::Related => json!({"type": "object", "properties": {
            "type": {"type": "string", "enum": hamkor_domain::objects::RELATED_TYPES.iter().map(|o| o.as_str()).collect::<Vec<_>>()},
            "id": {"type": "string"}}, "required": ["type", "id"],
            "description": "the record this is about"}),
        FieldKind::Lookup(l) => {
            json!({"type": "string", "description": format!("id of a row of {}", l.table())})
        }
        FieldKind::Amount => {
            json!({"type": "string", "pattern": "^[0-9]+([.,][0-9]{1,2})?$",
            "description": "a decimal amount with at most two decimals"})
        }
        FieldKind::Addresses => {
            json!({"type": "array", "items": {"type": "object", "properties": {
            "address": {"type": "string", "maxLength": 500}, "kind": {"type": "string", "enum": hamkor_domain::objects::ADDRESS_KINDS}}}})
        }
        FieldKind::Messengers => {
            json!({"type": "array", "items": {"type": "object", "properties": {
            "handle": {"type": "string", "description": "Telegram @username or a phone number"},
            "kind": {"type": "string", "enum": hamkor_domain::objects::MESSENGER_KINDS},
            "e164": {"type": "string", "readOnly": true}}}})
        }
    }
}

/// `schema` that also takes `null` (an empty field).
fn or_null(mut schema: Value) -> Value {
    match schema.get("type").cloned() {
        Some(Value::String(t)) => schema["type"] = json!([t, "null"]),
        Some(Value::Array(mut ts)) => {
            ts.push(json!("null"));
            schema["type"] = Value::Array(ts);
        }
        _ => {}
    }
    if let Some(Value::Array(options)) = schema.get_mut("enum") {
        options.push(Value::Null);
    }
    schema
}

/// A record of `def` as the API shows it and takes it. `for_patch`: no field is required
/// (a PATCH sends only what changes).
fn object_schema(def: &ObjectDef, for_patch: bool) -> Value {
    let mut props = Map::new();
    props.insert("id".into(), json!({"type": "string", "readOnly": true}));
    for f in def.fields {
        let mut schema = field_schema(f.kind);
        if !f.not_null {
            schema = or_null(schema);
        }
        if f.read_only {
            schema["readOnly"] = json!(true);
        }
        props.insert(f.name.into(), schema);
    }
    if def.plural == "contacts" {
        props.insert(
            "accounts".into(),
            json!({"type": "array", "items": {"type": "object", "properties": {"account_id": {"type": "string"}, "position": {"type": ["string", "null"]}, "name": {"type": "string", "readOnly": true}}, "required": ["account_id"]}}),
        );
    }
    props.insert(
        "custom".into(),
        json!({"type": "object", "description": "custom field values by key"}),
    );
    props.insert("owner_id".into(), json!({"type": "string"}));
    if let Some(alias) = def.owner_alias {
        props.insert(
            alias.into(),
            json!({"type": "string", "description": "the same as owner_id"}),
        );
    }
    for k in ["created_by", "created_at", "updated_at"] {
        props.insert(k.into(), json!({"type": "string", "readOnly": true}));
    }
    props.insert(
        "version".into(),
        json!({"type": "integer", "readOnly": true}),
    );
    props.insert(
        "deleted_at".into(),
        json!({"type": "string", "readOnly": true, "description": "when it went to the trash; only on a record in the trash"}),
    );
    if hamkor_domain::dedup::applies(def.object) {
        props.insert(
            "duplicates".into(),
            json!({"type": "array", "readOnly": true, "description": "after a create or a change: records that may be the same client",
                "items": {"type": "object", "properties": {"id": {"type": "string"}, "title": {"type": "string"}, "score": {"type": "number"}, "reasons": {"type": "array", "items": {"type": "object", "properties": {"reason": {"type": "string"}, "percent": {"type": "integer"}}, "required": ["reason"]}}}}}),
        );
    }
    let required: Vec<&str> = if for_patch {
        Vec::new()
    } else {
        def.fields
            .iter()
            .filter(|f| f.required)
            .map(|f| f.name)
            .collect()
    };
    json!({"type": "object", "properties": props, "required": required})
}

/// Every API route: (path, methods). The router test asserts each answers.
pub const API_ROUTES: &[(&str, &[&str])] = &[
    ("/api/v1/accounts", &["get", "post"]),
    ("/api/v1/accounts/{id}", &["get", "patch", "delete"]),
    ("/api/v1/accounts/{id}/restore", &["post"]),
    ("/api/v1/accounts/{id}/history", &["get"]),
    ("/api/v1/contacts", &["get", "post"]),
    ("/api/v1/contacts/{id}", &["get", "patch", "delete"]),
    ("/api/v1/contacts/{id}/restore", &["post"]),
    ("/api/v1/contacts/{id}/history", &["get"]),
    ("/api/v1/accounts/{id}/timeline", &["get"]),
    ("/api/v1/contacts/{id}/timeline", &["get"]),
    ("/api/v1/quick_entry", &["post"]),
    ("/api/v1/needs", &["get", "post"]),
    ("/api/v1/needs/{id}", &["get", "patch", "delete"]),
    ("/api/v1/needs/{id}/restore", &["post"]),
    ("/api/v1/needs/{id}/history", &["get"]),
    ("/api/v1/interactions", &["get", "post"]),
    ("/api/v1/interactions/{id}", &["get", "patch", "delete"]),
    ("/api/v1/interactions/{id}/restore", &["post"]),
    ("/api/v1/interactions/{id}/history", &["get"]),
    ("/api/v1/users", &["get", "post"]),
    ("/api/v1/users/me", &["get", "patch"]),
    ("/api/v1/users/{id}", &["get", "patch"]),
    ("/api/v1/search", &["get"]),
    ("/api/v1/recent", &["get"]),
    ("/api/v1/views", &["get", "post"]),
    ("/api/v1/views/{id}", &["delete"]),
    ("/api/v1/accounts/bulk", &["post"]),
    ("/api/v1/accounts/export", &["get"]),
    ("/api/v1/contacts/bulk", &["post"]),
    ("/api/v1/contacts/export", &["get"]),
    ("/api/v1/interactions/bulk", &["post"]),
    ("/api/v1/interactions/export", &["get"]),
    ("/api/v1/needs/bulk", &["post"]),
    ("/api/v1/needs/export", &["get"]),
    ("/api/v1/picklists/{list}", &["get", "post"]),
    ("/api/v1/picklists/{list}/{value}", &["patch"]),
    ("/api/v1/custom_fields", &["get", "post"]),
    ("/api/v1/custom_fields/{id}", &["delete"]),
    ("/api/v1/tokens", &["get", "post"]),
    ("/api/v1/tokens/{id}", &["delete"]),
    ("/api/v1/roles", &["get"]),
    ("/api/v1/roles/{role}", &["patch"]),
    ("/api/v1/login", &["post"]),
    ("/api/v1/audit", &["get"]),
    ("/api/v1/users/{id}/two_factor", &["delete"]),
    ("/api/v1/openapi.json", &["get"]),
    ("/api/v1/tasks", &["get", "post"]),
    ("/api/v1/tasks/{id}", &["get", "patch", "delete"]),
    ("/api/v1/tasks/{id}/restore", &["post"]),
    ("/api/v1/tasks/{id}/history", &["get"]),
    ("/api/v1/tasks/bulk", &["post"]),
    ("/api/v1/tasks/export", &["get"]),
    ("/api/v1/tasks/{id}/status", &["post"]),
    ("/api/v1/tasks/{id}/comments", &["get", "post"]),
    ("/api/v1/task_views/{view}", &["get"]),
    ("/api/v1/my_day", &["get"]),
    ("/api/v1/workload", &["get"]),
    ("/api/v1/events", &["get", "post"]),
    ("/api/v1/events/{id}", &["get", "patch", "delete"]),
    ("/api/v1/events/{id}/restore", &["post"]),
    ("/api/v1/events/{id}/history", &["get"]),
    ("/api/v1/events/bulk", &["post"]),
    ("/api/v1/events/export", &["get"]),
    ("/api/v1/events/{id}/comments", &["get", "post"]),
    ("/api/v1/calendar", &["get"]),
    ("/api/v1/calendar/import", &["post"]),
    ("/api/v1/calendar/feed", &["get", "post", "delete"]),
    ("/api/v1/notifications", &["get"]),
    ("/api/v1/notifications/read", &["post"]),
    ("/api/v1/notifications/{id}/read", &["post"]),
    ("/api/v1/deals", &["get", "post"]),
    ("/api/v1/deals/{id}", &["get", "patch", "delete"]),
    ("/api/v1/deals/{id}/restore", &["post"]),
    ("/api/v1/deals/{id}/history", &["get"]),
    ("/api/v1/deals/bulk", &["post"]),
    ("/api/v1/deals/export", &["get"]),
    ("/api/v1/deals/{id}/stages", &["get"]),
    ("/api/v1/deals/board", &["get"]),
    ("/api/v1/pipelines", &["get", "post"]),
    ("/api/v1/products", &["get", "post"]),
    ("/api/v1/products/{id}", &["get", "patch", "delete"]),
    ("/api/v1/products/{id}/restore", &["post"]),
    ("/api/v1/products/{id}/history", &["get"]),
    ("/api/v1/products/bulk", &["post"]),
    ("/api/v1/products/export", &["get"]),
    ("/api/v1/stages/{id}/script", &["get", "put"]),
    ("/api/v1/deals/{id}/script", &["get"]),
    ("/api/v1/deals/{id}/lines", &["get", "put"]),
    ("/api/v1/price_lists", &["get", "post"]),
    ("/api/v1/deals/funnel", &["get"]),
    ("/api/v1/deals/funnel.xlsx", &["get"]),
    ("/api/v1/deals/{id}/steps/{step}", &["post"]),
    ("/api/v1/currency_rates", &["get", "post"]),
    ("/api/v1/currency_rates/import", &["post"]),
    ("/api/v1/currency_rates/convert", &["get"]),
    ("/api/v1/leads", &["get", "post"]),
    ("/api/v1/leads/{id}", &["get", "patch", "delete"]),
    ("/api/v1/leads/{id}/restore", &["post"]),
    ("/api/v1/leads/{id}/history", &["get"]),
    ("/api/v1/leads/bulk", &["post"]),
    ("/api/v1/leads/export", &["get"]),
    ("/api/v1/leads/{id}/duplicates", &["get"]),
    ("/api/v1/leads/{id}/convert", &["post"]),
    ("/api/v1/leads/import", &["post"]),
    ("/api/v1/leads/{id}/assign", &["post"]),
    ("/api/v1/lead_rules", &["get", "put"]),
    ("/api/v1/web_forms", &["get", "post"]),
    ("/api/v1/web_forms/{id}", &["get", "patch", "delete"]),
    ("/api/v1/teams", &["get", "post"]),
    ("/api/v1/teams/{id}", &["patch"]),
    ("/api/v1/accounts/{id}/shares", &["get", "post"]),
    ("/api/v1/accounts/{id}/shares/{share}", &["delete"]),
    ("/api/v1/contacts/{id}/shares", &["get", "post"]),
    ("/api/v1/contacts/{id}/shares/{share}", &["delete"]),
    ("/api/v1/deals/{id}/shares", &["get", "post"]),
    ("/api/v1/deals/{id}/shares/{share}", &["delete"]),
    ("/api/v1/leads/{id}/shares", &["get", "post"]),
    ("/api/v1/leads/{id}/shares/{share}", &["delete"]),
    ("/api/v1/documents/{id}/shares", &["get", "post"]),
    ("/api/v1/documents/{id}/shares/{share}", &["delete"]),
    ("/api/v1/imports", &["get", "post"]),
    ("/api/v1/imports/{id}", &["get"]),
    ("/api/v1/imports/{id}/preview", &["get"]),
    ("/api/v1/imports/{id}/check", &["post"]),
    ("/api/v1/imports/{id}/run", &["post"]),
    ("/api/v1/imports/{id}/cancel", &["post"]),
    ("/api/v1/imports/{id}/undo", &["post"]),
    ("/api/v1/imports/{id}/rejected.csv", &["get"]),
    ("/api/v1/import_mappings", &["get", "post"]),
    ("/api/v1/documents", &["get", "post"]),
    ("/api/v1/documents/{id}", &["get", "patch", "delete"]),
    ("/api/v1/documents/{id}/restore", &["post"]),
    ("/api/v1/documents/{id}/history", &["get"]),
    ("/api/v1/documents/bulk", &["post"]),
    ("/api/v1/documents/export", &["get"]),
    ("/api/v1/documents/{id}/lines", &["get", "put"]),
    ("/api/v1/documents/{id}/documents", &["post"]),
    ("/api/v1/deals/{id}/documents", &["post"]),
    ("/api/v1/documents/{id}/payments", &["get", "post"]),
    ("/api/v1/documents/{id}/shipments", &["get", "post"]),
    ("/api/v1/documents/{id}/pdf", &["get"]),
    ("/api/v1/documents/{id}/send", &["post"]),
    ("/api/v1/accounts/{id}/balance", &["get"]),
    ("/api/v1/document_settings", &["get", "put"]),
    ("/api/v1/document_settings/logo", &["put", "delete"]),
    ("/api/v1/accounts/duplicates", &["get"]),
    ("/api/v1/contacts/duplicates", &["get"]),
    ("/api/v1/accounts/merge", &["post"]),
    ("/api/v1/contacts/merge", &["post"]),
    ("/api/v1/merges/{id}/undo", &["post"]),
    ("/api/v1/duplicates", &["get"]),
    ("/api/v1/duplicates/scan", &["post"]),
    ("/api/v1/accounts/{id}/attachments", &["get", "post"]),
    ("/api/v1/contacts/{id}/attachments", &["get", "post"]),
    ("/api/v1/leads/{id}/attachments", &["get", "post"]),
    ("/api/v1/deals/{id}/attachments", &["get", "post"]),
    ("/api/v1/documents/{id}/attachments", &["get", "post"]),
    ("/api/v1/products/{id}/attachments", &["get", "post"]),
    ("/api/v1/interactions/{id}/attachments", &["get", "post"]),
    ("/api/v1/needs/{id}/attachments", &["get", "post"]),
    ("/api/v1/tasks/{id}/attachments", &["get", "post"]),
    ("/api/v1/events/{id}/attachments", &["get", "post"]),
    ("/api/v1/attachments/{id}", &["get", "delete"]),
];

/// The object whose own record routes `path` is one of: the list, a record, its restore
/// and its history.
fn record_object(path: &str) -> Option<&'static ObjectDef> {
    OBJECTS.into_iter().find(|d| {
        let base = format!("/api/v1/{}", d.plural);
        path == base
            || path == format!("{base}/{{id}}")
            || path == format!("{base}/{{id}}/restore")
            || path == format!("{base}/{{id}}/history")
    })
}

fn schema_ref(name: &str) -> Value {
    json!({"$ref": format!("#/components/schemas/{name}")})
}

fn json_response(description: &str, schema: Value) -> Value {
    json!({"description": description, "content": {"application/json": {"schema": schema}}})
}

/// A record in the answer, with its version as the `ETag`.
fn record_response(def: &ObjectDef, description: &str) -> Value {
    let mut r = json_response(description, schema_ref(def.object.as_str()));
    r["headers"] = json!({"ETag": {"schema": {"type": "string"}, "description": "the record's version, for If-Match"}});
    r
}

/// Operations that answer 204 No Content.
const NO_CONTENT: &[(&str, &str)] = &[
    ("/api/v1/users/{id}/two_factor", "delete"),
    ("/api/v1/views/{id}", "delete"),
    ("/api/v1/custom_fields/{id}", "delete"),
    ("/api/v1/tokens/{id}", "delete"),
    ("/api/v1/calendar/feed", "delete"),
    ("/api/v1/web_forms/{id}", "delete"),
    ("/api/v1/document_settings/logo", "delete"),
    ("/api/v1/attachments/{id}", "delete"),
    ("/api/v1/notifications/{id}/read", "post"),
    ("/api/v1/notifications/read", "post"),
    ("/api/v1/import_mappings", "post"),
    ("/api/v1/accounts/{id}/shares/{share}", "delete"),
    ("/api/v1/contacts/{id}/shares/{share}", "delete"),
    ("/api/v1/deals/{id}/shares/{share}", "delete"),
    ("/api/v1/leads/{id}/shares/{share}", "delete"),
    ("/api/v1/documents/{id}/shares/{share}", "delete"),
];

/// Operations that start work in the background: 202 Accepted.
const ACCEPTED: &[&str] = &[
    "/api/v1/duplicates/scan",
    "/api/v1/imports/{id}/check",
    "/api/v1/imports/{id}/run",
    "/api/v1/imports/{id}/cancel",
    "/api/v1/imports/{id}/undo",
];

/// POST operations that answer 200 (they change or act on something that exists); every
/// other POST makes something and answers 201.
const POST_OK: &[&str] = &[
    "/api/v1/login",
    "/api/v1/tasks/{id}/status",
    "/api/v1/deals/{id}/steps/{step}",
    "/api/v1/leads/{id}/convert",
    "/api/v1/leads/{id}/assign",
    "/api/v1/documents/{id}/send",
    "/api/v1/accounts/merge",
    "/api/v1/contacts/merge",
    "/api/v1/merges/{id}/undo",
];

/// POST, PUT and PATCH operations that read no body.
const NO_BODY: &[&str] = &[
    "/api/v1/calendar/feed",
    "/api/v1/notifications/read",
    "/api/v1/notifications/{id}/read",
    "/api/v1/leads/{id}/assign",
    "/api/v1/duplicates/scan",
    "/api/v1/imports/{id}/cancel",
    "/api/v1/imports/{id}/undo",
    "/api/v1/merges/{id}/undo",
];

/// A query parameter: name, whether it is required, schema, description.
fn query(name: &str, required: bool, schema: Value, description: &str) -> Value {
    let mut p = json!({"name": name, "in": "query", "schema": schema});
    if required {
        p["required"] = json!(true);
    }
    if !description.is_empty() {
        p["description"] = json!(description);
    }
    p
}

/// The query parameters of operations that are not record lists.
fn query_params(path: &str, method: &str) -> Vec<Value> {
    let text = || json!({"type": "string"});
    let types = |objects: &[ObjectType]| json!({"type": "string", "enum": objects.iter().map(|o| o.as_str()).collect::<Vec<_>>()});
    let date = "a date (YYYY-MM-DD)";
    match (path, method) {
        ("/api/v1/custom_fields", "get") => vec![query(
            "object",
            true,
            types(&[
                ObjectType::Account,
                ObjectType::Contact,
                ObjectType::Interaction,
                ObjectType::Need,
            ]),
            "",
        )],
        ("/api/v1/views", "get") => vec![query("object", true, types(&ObjectType::ALL), "")],
        ("/api/v1/import_mappings", "get") => vec![query(
            "object",
            true,
            json!({"type": "string", "enum": ["accounts", "contacts", "leads", "products", "interactions"]}),
            "",
        )],
        ("/api/v1/duplicates", "get") => vec![
            query(
                "object",
                true,
                json!({"type": "string", "enum": ["accounts", "contacts"]}),
                "",
            ),
            query(
                "limit",
                false,
                json!({"type": "integer", "minimum": 1, "maximum": 500}),
                "",
            ),
            query(
                "offset",
                false,
                json!({"type": "integer", "minimum": 0}),
                "",
            ),
        ],
        ("/api/v1/duplicates/scan", "post") => vec![query(
            "object",
            true,
            json!({"type": "string", "enum": ["accounts", "contacts"]}),
            "",
        )],
        ("/api/v1/accounts/duplicates" | "/api/v1/contacts/duplicates", "get") => [
            "name",
            "first_name",
            "last_name",
            "legal_name",
            "tax_id",
            "phone",
            "email",
            "id",
        ]
        .iter()
        .map(|n| query(n, false, text(), ""))
        .collect(),
        ("/api/v1/currency_rates", "get") => vec![
            query("currency", false, text(), ""),
            query("from", false, text(), date),
            query("to", false, text(), date),
        ],
        ("/api/v1/currency_rates/convert", "get") => vec![
            query(
                "amount",
                true,
                json!({"type": "string", "pattern": "^[0-9]+([.,][0-9]{1,2})?$"}),
                "",
            ),
            query(
                "currency",
                true,
                json!({"type": "string", "enum": hamkor_domain::objects::CURRENCIES}),
                "",
            ),
            query(
                "date",
                false,
                json!({"type": "string", "format": "date"}),
                "default: today",
            ),
        ],
        ("/api/v1/search", "get") => vec![query("q", true, text(), "")],
        ("/api/v1/notifications", "get") => {
            vec![query("unread", false, json!({"type": "boolean"}), "")]
        }
        ("/api/v1/workload", "get") => vec![query("team", false, text(), "a team id")],
        ("/api/v1/deals/board", "get") => vec![
            query(
                "pipeline",
                false,
                text(),
                "a pipeline id; default the first",
            ),
            query(
                "limit",
                false,
                json!({"type": "integer", "minimum": 1}),
                "deals per stage",
            ),
        ],
        ("/api/v1/deals/funnel" | "/api/v1/deals/funnel.xlsx", "get") => vec![
            query(
                "pipeline",
                false,
                text(),
                "a pipeline id; default the first",
            ),
            query("from", false, text(), date),
            query("to", false, text(), date),
            query("owner", false, text(), "a user id"),
            query("team", false, text(), "a team id"),
            query("product", false, text(), "a product id"),
        ],
        ("/api/v1/task_views/{view}", "get") => vec![query(
            "limit",
            false,
            json!({"type": "integer", "minimum": 1}),
            "",
        )],
        ("/api/v1/imports/{id}/preview", "get") => vec![query("sheet", false, text(), "")],
        _ => Vec::new(),
    }
}

/// `{"items": [...]}`, perhaps with a `next_cursor`.
fn items(item: Value) -> Value {
    json!({"type": "object", "properties": {"items": {"type": "array", "items": item},
        "next_cursor": {"type": ["string", "null"]}}, "required": ["items"]})
}

/// What `method path` answers when it succeeds: the status and the response.
fn success(path: &str, method: &str) -> (&'static str, Value) {
    if let Some(def) = record_object(path) {
        let base = format!("/api/v1/{}", def.plural);
        return match method {
            "get" if path == base => (
                "200",
                json_response(
                    "A page of records",
                    schema_ref(&format!("{}_page", def.object.as_str())),
                ),
            ),
            "post" if path == base => {
                let mut r = record_response(def, "Created");
                r["headers"]["Location"] = json!({"schema": {"type": "string"}, "description": "the new record's address"});
                ("201", r)
            }
            "delete" => ("204", json!({"description": "Moved to the trash"})),
            "get" if path.ends_with("/history") => (
                "200",
                json_response("The audit trail, newest first", schema_ref("history")),
            ),
            _ => ("200", record_response(def, "The record")),
        };
    }
    if NO_CONTENT.contains(&(path, method)) {
        return ("204", json!({"description": "Done"}));
    }
    if method == "post" && ACCEPTED.contains(&path) {
        return (
            "202",
            json_response("Started; its state", json!({"type": "object"})),
        );
    }
    let file = |types: &[&str]| {
        let content: Map<String, Value> = types
            .iter()
            .map(|t| {
                (
                    t.to_string(),
                    json!({"schema": {"type": "string", "format": "binary"}}),
                )
            })
            .collect();
        json!({"description": "The file", "content": content})
    };
    if path.ends_with("/export") {
        return (
            "200",
            file(&[
                "text/csv",
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                "text/vcard",
            ]),
        );
    }
    match (path, method) {
        ("/api/v1/deals/funnel.xlsx", _) => {
            return (
                "200",
                file(&["application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"]),
            );
        }
        ("/api/v1/documents/{id}/pdf", _) => return ("200", file(&["application/pdf"])),
        ("/api/v1/imports/{id}/rejected.csv", _) => return ("200", file(&["text/csv"])),
        ("/api/v1/attachments/{id}", "get") => return ("200", file(&["*/*"])),
        ("/api/v1/openapi.json", _) => {
            return (
                "200",
                json_response("This description", json!({"type": "object"})),
            );
        }
        _ => {}
    }
    let created = method == "post" && !POST_OK.contains(&path) && !path.ends_with("/bulk");
    let status = if created { "201" } else { "200" };
    let schema = if path.ends_with("/{id}/attachments") && method == "get" {
        json!({"type": "object", "properties": {"items": {"type": "array", "items": schema_ref("attachment")}}, "required": ["items"]})
    } else if path.ends_with("/{id}/attachments") {
        schema_ref("attachment")
    } else if path.ends_with("/bulk") {
        json!({"type": "object", "properties": {
            "done": {"type": "integer", "minimum": 0},
            "refused": {"type": "array", "items": {"type": "object"}, "description": "the first 1,000 refused, with why"},
            "refused_count": {"type": "integer", "minimum": 0}},
            "required": ["done", "refused", "refused_count"]})
    } else if path.ends_with("/timeline") {
        schema_ref("interaction_page")
    } else if matches!(path, "/api/v1/users/me" | "/api/v1/users/{id}")
        || (path, method) == ("/api/v1/users", "post")
    {
        schema_ref("user")
    } else if (path, method) == ("/api/v1/users", "get") {
        items(schema_ref("user"))
    } else if method == "get"
        && [
            "/api/v1/accounts/duplicates",
            "/api/v1/contacts/duplicates",
            "/api/v1/audit",
            "/api/v1/imports",
            "/api/v1/lead_rules",
            "/api/v1/notifications",
            "/api/v1/pipelines",
            "/api/v1/price_lists",
            "/api/v1/recent",
            "/api/v1/roles",
            "/api/v1/search",
            "/api/v1/teams",
            "/api/v1/tokens",
            "/api/v1/web_forms",
            "/api/v1/workload",
            "/api/v1/custom_fields",
            "/api/v1/views",
            "/api/v1/import_mappings",
            "/api/v1/picklists/{list}",
        ]
        .contains(&path)
    {
        items(json!({"type": "object"}))
    } else {
        json!({"type": "object"})
    };
    (
        status,
        json_response(if created { "Created" } else { "OK" }, schema),
    )
}

/// The OpenAPI document.
pub fn spec() -> Value {
    let problem = json!({"$ref": "#/components/responses/Problem"});
    let mut paths = Map::new();
    for (path, methods) in API_ROUTES {
        let mut ops = Map::new();
        let object = record_object(path);
        for m in *methods {
            let (ok, ok_response) = success(path, m);
            let mut responses = Map::new();
            responses.insert(ok.into(), ok_response);
            let public = *path == "/api/v1/openapi.json";
            let login = *path == "/api/v1/login";
            let takes_body = matches!(*m, "post" | "put" | "patch")
                && !NO_BODY.contains(path)
                && !path.ends_with("/restore");
            let mut errors: Vec<&str> = Vec::new();
            if !public {
                errors.extend(["401", "403", "422"]);
            }
            if path.contains('{') {
                errors.push("404");
            }
            if *m != "get" && !public {
                errors.push("409");
            }
            if takes_body {
                errors.extend(["400", "413", "415"]);
            }
            if object.is_some() && matches!(*m, "patch" | "delete") {
                errors.push("412");
            }
            if login {
                errors.push("429");
            }
            for code in errors {
                responses.insert(code.into(), problem.clone());
            }
            let mut op = json!({
                "operationId": format!("{}_{}", m, path.trim_start_matches("/api/v1/").replace(['/', '{', '}', '.'], "_")),
                "responses": responses,
            });
            if public {
                op["security"] = json!([]);
            }
            let path_params: Vec<Value> = ["id", "role", "list", "value", "view", "step", "share"]
                .iter()
                .filter(|p| path.contains(&format!("{{{p}}}")))
                .map(|p| {
                    let schema = match *p {
                        "role" => json!({"type": "string", "enum": hamkor_domain::Role::ALL.map(|r| r.as_str())}),
                        "view" => json!({"type": "string", "enum": hamkor_store::planning::TaskView::ALL.map(|v| v.as_str())}),
                        "list" => json!({"type": "string", "enum": ["interests"]}),
                        _ => json!({"type": "string"}),
                    };
                    json!({"name": p, "in": "path", "required": true, "schema": schema})
                })
                .collect();
            let params: Vec<Value> = path_params
                .into_iter()
                .chain(query_params(path, m))
                .collect();
            if !params.is_empty() {
                op["parameters"] = Value::Array(params);
            }
            if takes_body {
                op["requestBody"] =
                    json!({"content": {"application/json": {"schema": {"type": "object"}}}});
            }
            if *path == "/api/v1/tasks/{id}/status" {
                op["requestBody"] = json!({"content": {"application/json": {"schema": {"type": "object", "properties": {
                    "status": {"type": "string", "enum": hamkor_domain::objects::TASK_STATUSES},
                    "comment": {"type": "string", "maxLength": 5000, "description": "required to return a task"}},
                    "required": ["status"]}}},
                    "description": "The assignee starts and finishes; only the author accepts, returns (with a comment) or cancels."});
            }
            if path.ends_with("/shares") && *m == "post" {
                op["requestBody"] = json!({"content": {"application/json": {"schema": {"type": "object", "properties": {
                    "user_id": {"type": "string", "format": "uuid"}, "team_id": {"type": "string", "format": "uuid"},
                    "access": {"type": "string", "enum": ["read", "edit"]}}, "additionalProperties": false}}},
                    "description": "Shares the record with one user or one team (give one of user_id, team_id), to read or to edit; sharing again changes the access. Those who may edit the record by its ownership may share it."});
            }
            if path.starts_with("/api/v1/teams") && *m != "get" {
                op["requestBody"] = json!({"content": {"application/json": {"schema": {"type": "object", "properties": {
                    "name": {"type": "string", "maxLength": 100}, "parent_id": {"type": ["string", "null"], "format": "uuid"}},
                    "additionalProperties": false}}},
                    "description": "Administrators. parent_id: the team above; a head's team scope reaches every team below theirs."});
            }
            if path.ends_with("/comments") && *m == "post" {
                op["requestBody"] = json!({"content": {"application/json": {"schema": {"type": "object", "properties": {
                    "body": {"type": "string", "maxLength": 5000}}, "required": ["body"]}}}});
            }
            if *path == "/api/v1/calendar" {
                op["parameters"] = json!([
                    {"name": "from", "in": "query", "description": "a date in the caller's time zone (included) or an RFC 3339 time; default today", "schema": {"type": "string"}},
                    {"name": "to", "in": "query", "description": "a date (included) or an RFC 3339 time; at most 62 days after from", "schema": {"type": "string"}},
                    {"name": "users", "in": "query", "description": "comma-separated user ids (default: the caller); others' meetings the caller may not read come as busy time", "schema": {"type": "string"}},
                    {"name": "team", "in": "query", "description": "a team id: its members", "schema": {"type": "string"}},
                    {"name": "tasks", "in": "query", "description": "true: also tasks due in the period", "schema": {"type": "boolean"}}]);
            }
            if login {
                op["security"] = json!([]);
                op["requestBody"] = json!({"content": {"application/json": {"schema": {"type": "object", "properties": {
                    "email": {"type": "string"}, "password": {"type": "string"},
                    "code": {"type": "string", "description": "a TOTP code or a recovery code, for users with two-factor authentication"}},
                    "required": ["email", "password"]}}},
                    "description": "Answers the user and the session's CSRF token, and sets the session cookie. 401 for wrong credentials, 429 with Retry-After after too many failures."});
            }
            if *path == "/api/v1/audit" {
                op["parameters"] = json!([
                    {"name": "user_id", "in": "query", "description": "who acted", "schema": {"type": "string"}},
                    {"name": "action", "in": "query", "description": "create, update, delete, restore, export, login, login_failed, logout, password_change, two_factor_enable, …", "schema": {"type": "string"}},
                    {"name": "object", "in": "query", "description": "an object type, or user for account security events", "schema": {"type": "string"}},
                    {"name": "record_id", "in": "query", "schema": {"type": "string"}},
                    {"name": "from", "in": "query", "description": "a date in the caller's time zone or an RFC 3339 time (included)", "schema": {"type": "string"}},
                    {"name": "to", "in": "query", "description": "a date (included) or an RFC 3339 time (excluded)", "schema": {"type": "string"}},
                    {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 500, "default": 50}},
                    {"name": "cursor", "in": "query", "schema": {"type": "string"}}]);
            }
            if *path == "/api/v1/calendar/import" {
                op["requestBody"] = json!({"content": {"text/calendar": {"schema": {"type": "string"}}},
                    "description": "an .ics file of at most 5 MiB and 5,000 events; all are imported or none"});
            }
            if *path == "/api/v1/leads/import" {
                op["requestBody"] = json!({"content": {"text/csv": {"schema": {"type": "string"}}},
                    "description": "a CSV file with a header row; every row a lead, all or none"});
            }
            if *path == "/api/v1/currency_rates/import" {
                op["requestBody"] = json!({"content": {"application/json": {"schema": {}}, "text/csv": {"schema": {"type": "string"}}},
                    "description": "the central bank's JSON, or a CSV currency,date,rate"});
            }
            if *path == "/api/v1/imports" && *m == "post" {
                op["parameters"] = json!([
                    {"name": "object", "in": "query", "required": true, "schema": {"type": "string", "enum": ["accounts", "contacts", "leads", "products", "interactions"]}},
                    {"name": "file_name", "in": "query", "required": true, "schema": {"type": "string"}}]);
                op["requestBody"] = json!({"content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
                    "description": "the file: CSV, XLSX, XLS, ODS or vCard"});
            }
            if *path == "/api/v1/document_settings/logo" && *m == "put" {
                op["requestBody"] = json!({"content": {"image/png": {"schema": {"type": "string", "format": "binary"}}, "image/jpeg": {"schema": {"type": "string", "format": "binary"}}}});
            }
            if path.ends_with("/{id}/attachments") && *m == "post" {
                op["requestBody"] = json!({"content": {"multipart/form-data": {"schema": {"type": "object",
                    "properties": {"file": {"type": "string", "format": "binary"}}, "required": ["file"]}}}});
            }
            if *path == "/api/v1/quick_entry" {
                op["requestBody"] = json!({"content": {"application/json": {"schema": {"type": "object", "properties": {
                    "account": {"$ref": "#/components/schemas/account"},
                    "contact": {"$ref": "#/components/schemas/contact"},
                    "position": {"type": "string", "description": "the contact's position at the new account"},
                    "interaction": {"$ref": "#/components/schemas/interaction"}}}}}});
                op["responses"]["201"]["content"]["application/json"]["schema"] = json!({"type": "object", "properties": {
                    "account": {"anyOf": [schema_ref("account"), {"type": "null"}]},
                    "contact": {"anyOf": [schema_ref("contact"), {"type": "null"}]},
                    "interaction": {"anyOf": [schema_ref("interaction"), {"type": "null"}]}}});
            }
            if path.ends_with("/export") {
                op["parameters"] = json!([
                    {"name": "format", "in": "query", "description": "csv (the default), xlsx, or vcf (contacts only: vCard 4.0)", "schema": {"type": "string", "enum": ["csv", "xlsx", "vcf"]}},
                    {"name": "columns", "in": "query", "description": "comma-separated column names (fields, custom.<key>, owner_id, created_at, updated_at, id; for contacts also name and accounts); default every field", "schema": {"type": "string"}},
                    {"name": "delimiter", "in": "query", "description": "CSV only: comma (default), semicolon or tab", "schema": {"type": "string"}},
                    {"name": "q", "in": "query", "schema": {"type": "string"}},
                    {"name": "sort", "in": "query", "schema": {"type": "string"}},
                    {"name": "trashed", "in": "query", "schema": {"type": "boolean"}}
                ]);
                op["description"] = json!(
                    "The whole list the caller may see, with the same filters (field=value, field[op]=value), search and sort as the list, streamed as a file (Content-Disposition: attachment). Text cells that a spreadsheet would read as a formula start with ' . Each export is written to the audit log."
                );
            }
            if path.ends_with("/bulk") {
                op["requestBody"] = json!({"content": {"application/json": {"schema": {"type": "object", "properties": {
                    "action": {"type": "string", "enum": ["set_owner", "add_tag", "remove_tag", "set_field", "delete"]},
                    "owner_id": {"type": "string"}, "tag": {"type": "string"}, "field": {"type": "string"}, "value": {},
                    "ids": {"type": "array", "items": {"type": "string"}, "maxItems": hamkor_app::lists::BULK_MAX},
                    "matching": {"type": "object", "additionalProperties": {"type": ["string", "array"]},
                        "description": "instead of ids: list parameters (filters and q); the action applies to every record the list shows the caller"}},
                    "required": ["action"]}}},
                    "description": "Each record is changed on its own through the usual checks; the answer has done, refused (the first 1,000, with reasons) and refused_count."});
            }
            if path.ends_with("/timeline") {
                let mut params = vec![
                    json!({"name": "id", "in": "path", "required": true, "schema": {"type": "string"}}),
                    json!({"name": "kind", "in": "query", "description": "comma-separated interaction kinds", "schema": {"type": "string"}}),
                    json!({"name": "user", "in": "query", "description": "a user who had or took part in the interaction", "schema": {"type": "string"}}),
                    json!({"name": "from", "in": "query", "description": "a date (included) or an RFC 3339 time", "schema": {"type": "string"}}),
                    json!({"name": "to", "in": "query", "description": "a date (included) or an RFC 3339 time (excluded)", "schema": {"type": "string"}}),
                    json!({"name": "cursor", "in": "query", "schema": {"type": "string"}}),
                    json!({"name": "limit", "in": "query", "schema": {"type": "integer", "maximum": 200}}),
                ];
                if path.starts_with("/api/v1/accounts") {
                    params.push(json!({"name": "branches", "in": "query", "description": "include the branches' interactions", "schema": {"type": "boolean"}}));
                }
                op["parameters"] = Value::Array(params);
            }
            if let Some(def) = object {
                let base = format!("/api/v1/{}", def.plural);
                if *m == "post" && *path == base {
                    op["requestBody"] = json!({"content": {"application/json": {"schema": schema_ref(def.object.as_str())}}});
                }
                if *m == "patch" {
                    op["requestBody"] = json!({"content": {"application/json": {"schema": object_schema(def, true)}}});
                    op["parameters"].as_array_mut().expect("a record's path has its id").push(
                        json!({"name": "If-Match", "in": "header", "schema": {"type": "string"}, "description": "the ETag the change was based on"}),
                    );
                }
                if *m == "delete" {
                    op["parameters"].as_array_mut().expect("a record's path has its id").push(
                        json!({"name": "If-Match", "in": "header", "schema": {"type": "string"}}),
                    );
                }
                if *m == "get" && *path == base {
                    op["parameters"] = json!([
                        {"name": "limit", "in": "query", "schema": {"type": "integer", "maximum": 500}},
                        {"name": "cursor", "in": "query", "schema": {"type": "string"}},
                        {"name": "q", "in": "query", "schema": {"type": "string"}},
                        {"name": "sort", "in": "query", "schema": {"type": "string"}},
                        {"name": "count", "in": "query", "schema": {"type": "boolean"}},
                        {"name": "trashed", "in": "query", "schema": {"type": "boolean"}}
                    ]);
                }
            }
            ops.insert(m.to_string(), op);
        }
        paths.insert(path.to_string(), Value::Object(ops));
    }
    let mut schemas = Map::new();
    for def in OBJECTS {
        let name = def.object.as_str();
        schemas.insert(name.into(), object_schema(def, false));
        schemas.insert(
            format!("{name}_page"),
            json!({"type": "object", "properties": {
                "items": {"type": "array", "items": schema_ref(name)},
                "next_cursor": {"type": ["string", "null"], "description": "the cursor of the next page; null on the last"},
                "total": {"type": "integer", "minimum": 0, "description": "with count=true: how many records match"}},
                "required": ["items", "next_cursor"]}),
        );
    }
    schemas.insert(
        "history".into(),
        json!({"type": "object", "properties": {
            "items": {"type": "array", "items": {"type": "object", "properties": {
                "id": {"type": "string"}, "action": {"type": "string"}, "user_id": {"type": ["string", "null"]},
                "user_name": {"type": ["string", "null"]}, "at": {"type": "string", "format": "date-time"},
                "changes": {"description": "{field: [before, after]}"}},
                "required": ["id", "action", "at"]}},
            "next_cursor": {"type": "null"}},
            "required": ["items"]}),
    );
    schemas.insert(
        "user".into(),
        json!({"type": "object", "properties": {
            "id": {"type": "string"}, "email": {"type": "string"}, "name": {"type": "string"},
            "role": {"type": "string", "enum": hamkor_domain::Role::ALL.map(|r| r.as_str())},
            "team_id": {"type": ["string", "null"]}, "language": {"type": "string", "enum": ["uz", "ru", "en"]},
            "time_zone": {"type": "string"}, "disabled": {"type": "boolean"}, "two_factor": {"type": "boolean"},
            "login_network": {"type": "string"},
            "created_at": {"type": "string", "format": "date-time"}, "updated_at": {"type": "string", "format": "date-time"},
            "version": {"type": "integer"}},
            "required": ["id", "email", "name", "role", "team_id", "language", "time_zone", "disabled", "two_factor", "created_at", "updated_at", "version"]}),
    );
    schemas.insert(
        "attachment".into(),
        json!({"type": "object", "properties": {
            "id": {"type": "string"}, "object": {"type": "string"}, "record_id": {"type": "string"},
            "name": {"type": "string"}, "content_type": {"type": "string"}, "size": {"type": "integer", "minimum": 0},
            "sha256": {"type": "string"}, "uploaded_by": {"type": "string"},
            "created_at": {"type": "string", "format": "date-time"}, "href": {"type": "string"}},
            "required": ["id", "name", "size", "href"]}),
    );
    schemas.insert(
        "Problem".into(),
        json!({"type": "object", "properties": {
            "type": {"type": "string"}, "title": {"type": "string"}, "status": {"type": "integer"},
            "detail": {"type": "string"},
            "errors": {"type": "array", "items": {"type": "object", "properties": {"field": {"type": "string"}, "message": {"type": "string"}, "code": {"type": "string"}}, "required": ["field", "message", "code"]}}},
            "required": ["type", "title", "status", "detail"]}),
    );
    json!({
        "openapi": "3.1.0",
        "info": {"title": "Hamkor CRM API", "version": env!("CARGO_PKG_VERSION")},
        "servers": [{"url": "/"}],
        "security": [{"bearer": []}],
        "paths": paths,
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "responses": {
                "Problem": {"description": "Refused: RFC 9457 problem details (for 422, the fields and why)",
                    "content": {"application/problem+json": {"schema": schema_ref("Problem")}}}
            },
            "schemas": schemas
        }
    })
}
