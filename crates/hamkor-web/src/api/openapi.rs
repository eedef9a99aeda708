//! `/api/v1/openapi.json`: the OpenAPI 3.1 description, generated from the object
//! descriptions (fields, kinds) and the route table below, which the router tests check
//! against the real routes.

use crate::AppState;
use axum::Router;
use axum::routing::get;
use hamkor_domain::objects::{ACCOUNT, CONTACT, FieldKind, INTERACTION, OBJECTS, ObjectDef};
use serde_json::{Map, Value, json};

pub fn routes() -> Router<AppState> {
    Router::new().route("/api/v1/openapi.json", get(|| async { axum::Json(spec()) }))
}

fn field_schema(kind: FieldKind) -> Value {
    match kind {
        FieldKind::Text { max } => json!({"type": ["string", "null"], "maxLength": max}),
        FieldKind::LongText => json!({"type": ["string", "null"], "maxLength": 20000}),
        FieldKind::Choice(options) => json!({"type": ["string", "null"], "enum": options}),
        FieldKind::Url => json!({"type": ["string", "null"], "format": "uri"}),
        FieldKind::TaxId => json!({"type": ["string", "null"],
            "description": "STIR (9 digits, Uzbekistan) or INN (10 or 12 digits with check digits, Russia); spaces and dashes are dropped"}),
        FieldKind::Date => json!({"type": ["string", "null"], "format": "date"}),
        FieldKind::Ref(_) => {
            json!({"type": ["string", "null"], "description": "id of the linked record"})
        }
        FieldKind::Phones => {
            json!({"type": ["array", "null"], "items": {"type": "object", "properties": {
            "number": {"type": "string"}, "kind": {"type": "string", "enum": hamkor_domain::objects::PHONE_KINDS},
            "e164": {"type": "string", "readOnly": true}}}})
        }
        FieldKind::Emails => {
            json!({"type": ["array", "null"], "items": {"type": "object", "properties": {
            "address": {"type": "string", "format": "email"}, "kind": {"type": "string", "enum": hamkor_domain::objects::EMAIL_KINDS}}}})
        }
        FieldKind::Tags => {
            json!({"type": ["array", "null"], "items": {"type": "string", "maxLength": 50}})
        }
        FieldKind::DateTime => json!({"type": ["string", "null"], "format": "date-time",
            "description": "RFC 3339 with an offset; shown in UTC"}),
        FieldKind::Duration => json!({"type": ["integer", "string", "null"], "minimum": 0,
            "description": "seconds, or \"m:ss\" / \"h:mm:ss\"; shown as seconds"}),
        FieldKind::Users => json!({"type": ["array", "null"], "items": {"type": "string"},
            "description": "ids of active users"}),
        FieldKind::Refs(_) => json!({"type": ["array", "null"], "items": {"type": "string"},
            "description": "ids of linked records"}),
        FieldKind::Picklist(list) => json!({"type": ["array", "null"], "items": {"type": "string"},
            "description": format!("values of the managed list {list:?} (GET /api/v1/picklists/{list})")}),
        FieldKind::Bool => json!({"type": ["boolean", "null"]}),
        FieldKind::Count => json!({"type": ["integer", "null"], "minimum": 0}),
        FieldKind::Checklist => {
            json!({"type": ["array", "null"], "maxItems": hamkor_domain::input::MAX_CHECKLIST,
            "items": {"type": "object", "properties": {"text": {"type": "string", "maxLength": 300}, "done": {"type": "boolean"}}, "required": ["text"]}})
        }
        FieldKind::Recurrence => json!({"type": ["object", "null"], "properties": {
            "every": {"type": "string", "enum": ["day", "week", "month", "year"]},
            "interval": {"type": "integer", "minimum": 1, "maximum": hamkor_domain::recurrence::MAX_INTERVAL},
            "weekdays": {"type": "array", "items": {"type": "string", "enum": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]}},
            "until": {"type": "string", "format": "date"},
            "count": {"type": "integer", "minimum": 2},
            "day": {"type": "integer", "readOnly": true}, "month": {"type": "integer", "readOnly": true}},
            "required": ["every"],
            "description": "how the task repeats; the next occurrence is created when one is closed"}),
        FieldKind::Related => json!({"type": ["object", "null"], "properties": {
            "type": {"type": "string", "enum": hamkor_domain::objects::RELATED_TYPES.iter().map(|o| o.as_str()).collect::<Vec<_>>()},
            "id": {"type": "string"}}, "required": ["type", "id"],
            "description": "the record this is about"}),
        FieldKind::Lookup(l) => {
            json!({"type": ["string", "null"], "description": format!("id of a row of {}", l.table())})
        }
        FieldKind::Amount => {
            json!({"type": ["string", "null"], "pattern": "^[0-9]+([.,][0-9]{1,2})?$",
            "description": "a decimal amount with at most two decimals"})
        }
        FieldKind::Addresses => {
            json!({"type": ["array", "null"], "items": {"type": "object", "properties": {
            "address": {"type": "string", "maxLength": 500}, "kind": {"type": "string", "enum": hamkor_domain::objects::ADDRESS_KINDS}}}})
        }
        FieldKind::Messengers => {
            json!({"type": ["array", "null"], "items": {"type": "object", "properties": {
            "handle": {"type": "string", "description": "Telegram @username or a phone number"},
            "kind": {"type": "string", "enum": hamkor_domain::objects::MESSENGER_KINDS},
            "e164": {"type": "string", "readOnly": true}}}})
        }
    }
}

fn object_schema(def: &ObjectDef) -> Value {
    let mut props = Map::new();
    props.insert("id".into(), json!({"type": "string", "readOnly": true}));
    for f in def.fields {
        props.insert(f.name.into(), field_schema(f.kind));
    }
    if def.plural == "contacts" {
        props.insert(
            "accounts".into(),
            json!({"type": "array", "items": {"type": "object", "properties": {"account_id": {"type": "string"}, "position": {"type": ["string", "null"]}, "name": {"type": "string", "readOnly": true}}}}),
        );
    }
    props.insert(
        "custom".into(),
        json!({"type": "object", "description": "custom field values by key"}),
    );
    props.insert("owner_id".into(), json!({"type": "string"}));
    for k in ["created_by", "created_at", "updated_at"] {
        props.insert(k.into(), json!({"type": "string", "readOnly": true}));
    }
    props.insert(
        "version".into(),
        json!({"type": "integer", "readOnly": true}),
    );
    let required: Vec<&str> = def
        .fields
        .iter()
        .filter(|f| f.required)
        .map(|f| f.name)
        .collect();
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
];

/// The OpenAPI document.
pub fn spec() -> Value {
    let mut paths = Map::new();
    for (path, methods) in API_ROUTES {
        let mut ops = Map::new();
        let object = OBJECTS
            .into_iter()
            .find(|d| path.starts_with(&format!("/api/v1/{}", d.plural)))
            .filter(|_| {
                ![
                    "/timeline",
                    "/bulk",
                    "/export",
                    "/status",
                    "/comments",
                    "/stages",
                    "/board",
                    "/script",
                    "/lines",
                    "/funnel",
                    "/funnel.xlsx",
                    "/steps/{step}",
                    "/duplicates",
                    "/merge",
                    "/convert",
                    "/assign",
                    "/import",
                    "/documents",
                    "/payments",
                    "/shipments",
                    "/pdf",
                    "/send",
                    "/balance",
                    "/shares",
                ]
                .iter()
                .any(|end| path.ends_with(end))
            });
        for m in *methods {
            let mut op = json!({
                "operationId": format!("{}_{}", m, path.trim_start_matches("/api/v1/").replace(['/', '{', '}', '.'], "_")),
                "responses": {
                    "200": {"description": "OK"}, "401": {"description": "Unauthorized"},
                    "403": {"description": "The role forbids this action"}, "404": {"description": "Not found or not visible"}, "412": {"description": "If-Match does not match the current version"}, "422": {"description": "Invalid input",
                    "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}}
                }
            });
            let path_params: Vec<Value> = ["id", "role", "list", "value", "view", "step", "share"]
                .iter()
                .filter(|p| path.contains(&format!("{{{p}}}")))
                .map(|p| json!({"name": p, "in": "path", "required": true, "schema": {"type": "string"}}))
                .collect();
            if !path_params.is_empty() {
                op["parameters"] = Value::Array(path_params);
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
            if *path == "/api/v1/login" {
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
            if *path == "/api/v1/quick_entry" {
                op["requestBody"] = json!({"content": {"application/json": {"schema": {"type": "object", "properties": {
                    "account": {"$ref": "#/components/schemas/account"},
                    "contact": {"$ref": "#/components/schemas/contact"},
                    "position": {"type": "string", "description": "the contact's position at the new account"},
                    "interaction": {"$ref": "#/components/schemas/interaction"}}}}}});
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
                op["responses"]["200"] = json!({"description": "The file", "content": {
                    "text/csv": {}, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {}, "text/vcard": {}}});
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
                let schema =
                    json!({"$ref": format!("#/components/schemas/{}", def.object.as_str())});
                if matches!(*m, "post" | "patch") && !path.ends_with("restore") {
                    op["requestBody"] =
                        json!({"content": {"application/json": {"schema": schema}}});
                }
                if *m == "get" && !path.contains("{id}") {
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
    json!({
        "openapi": "3.1.0",
        "info": {"title": "Hamkor CRM API", "version": env!("CARGO_PKG_VERSION")},
        "servers": [{"url": "/"}],
        "security": [{"bearer": []}],
        "paths": paths,
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "account": object_schema(&ACCOUNT),
                "contact": object_schema(&CONTACT),
                "interaction": object_schema(&INTERACTION),
                "need": object_schema(&hamkor_domain::objects::NEED),
                "Problem": {"type": "object", "properties": {
                    "type": {"type": "string"}, "title": {"type": "string"}, "status": {"type": "integer"},
                    "detail": {"type": "string"},
                    "errors": {"type": "array", "items": {"type": "object", "properties": {"field": {"type": "string"}, "message": {"type": "string"}, "code": {"type": "string"}}}}}}
            }
        }
    })
}
