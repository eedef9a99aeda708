//! The objects of the CRM described as data: which fields each has, of what kind, which
//! may be filtered and sorted. The storage layer builds its SQL from these descriptions
//! (so a column name never comes from a request), the API validates input against them,
//! and the web UI draws forms and list columns from them.

use crate::access::ObjectType;

/// What a core field holds, and so how it is validated, stored and shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldKind {
    /// One line of text, at most `max` characters.
    Text { max: usize },
    /// Free text over several lines.
    LongText,
    /// One of a fixed list of values.
    Choice(&'static [&'static str]),
    /// A web address.
    Url,
    /// A tax id (STIR, INN): digits only.
    TaxId,
    /// A calendar date `YYYY-MM-DD`.
    Date,
    /// A link to another record of the given type.
    Ref(ObjectType),
    /// A list of `{number, kind}` phones; each is also kept in E.164.
    Phones,
    /// A list of `{address, kind}` e-mails.
    Emails,
    /// A list of short labels.
    Tags,
    /// A list of `{address, kind}` postal addresses.
    Addresses,
    /// A list of `{handle, kind}` messenger accounts (Telegram, WhatsApp …).
    Messengers,
    /// A moment in time, RFC 3339 with its offset; stored in UTC.
    DateTime,
    /// A length of time in whole seconds (`"m:ss"` and `"h:mm:ss"` are accepted too).
    Duration,
    /// A list of ids of active users.
    Users,
    /// A list of ids of records of the given type.
    Refs(ObjectType),
    /// A list of values from the managed list of that name (see the picklists store).
    Picklist(&'static str),
    /// An amount of money with at most two decimals, shown as a decimal string
    /// (`"1500.00"`) and stored as integer minor units; its currency is another field.
    Amount,
    /// Yes or no.
    Bool,
    /// A whole number (set by the system: a task's place in its series).
    Count,
    /// A list of `{text, done}` steps.
    Checklist,
    /// How a task repeats (see `recurrence::Recurrence`), as JSON.
    Recurrence,
    /// A link to one record of any client-side type: `{type, id}`.
    Related,
    /// The id of a row of a settings table (a team, a pipeline, a stage).
    Lookup(Lookup),
}

/// A settings table a field points into: not a record with an owner, but something an
/// administrator defines (teams, sales pipelines and their stages).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lookup {
    Team,
    Pipeline,
    Stage,
}

impl Lookup {
    /// The table holding the rows.
    pub fn table(&self) -> &'static str {
        match self {
            Lookup::Team => "teams",
            Lookup::Pipeline => "pipelines",
            Lookup::Stage => "stages",
        }
    }
    /// The error of an id that is not there.
    pub fn unknown(&self) -> &'static str {
        match self {
            Lookup::Team => "error-unknown-team",
            Lookup::Pipeline => "error-unknown-pipeline",
            Lookup::Stage => "error-unknown-stage",
        }
    }
}

impl FieldKind {
    /// Kept as JSON in the database (lists).
    pub fn is_json(&self) -> bool {
        matches!(
            self,
            FieldKind::Phones
                | FieldKind::Emails
                | FieldKind::Tags
                | FieldKind::Addresses
                | FieldKind::Messengers
                | FieldKind::Users
                | FieldKind::Refs(_)
                | FieldKind::Picklist(_)
                | FieldKind::Checklist
                | FieldKind::Recurrence
                | FieldKind::Related
        )
    }
}

/// The record types a task or a meeting may be about (`related.type`).
pub const RELATED_TYPES: &[ObjectType] = &[
    ObjectType::Lead,
    ObjectType::Account,
    ObjectType::Contact,
    ObjectType::Deal,
    ObjectType::Need,
    ObjectType::Interaction,
];

/// One core field of an object.
#[derive(Debug, Clone, Copy)]
pub struct FieldDef {
    /// API name, also the column name.
    pub name: &'static str,
    pub kind: FieldKind,
    pub required: bool,
    /// May be used in `?field=` filters and `?sort=`.
    pub filterable: bool,
    /// Set by the system only (a request that sends it is refused).
    pub read_only: bool,
    /// Always has a value in the database (required, or filled by the system), so lists
    /// sort by the bare column and its index serves the order.
    pub not_null: bool,
    /// Shown as a list column when the user has chosen none.
    pub default_column: bool,
}

const fn f(name: &'static str, kind: FieldKind) -> FieldDef {
    FieldDef {
        name,
        kind,
        required: false,
        filterable: true,
        read_only: false,
        not_null: false,
        default_column: false,
    }
}

impl FieldDef {
    const fn required(mut self) -> Self {
        self.required = true;
        self.not_null = true;
        self
    }
    const fn not_null(mut self) -> Self {
        self.not_null = true;
        self
    }
    const fn column(mut self) -> Self {
        self.default_column = true;
        self
    }
    const fn no_filter(mut self) -> Self {
        self.filterable = false;
        self
    }
    const fn read_only(mut self) -> Self {
        self.read_only = true;
        self
    }
}

/// The kinds an account may be.
pub const ACCOUNT_KINDS: &[&str] = &[
    "client",
    "prospect",
    "partner",
    "agent",
    "competitor",
    "supplier",
];
/// The kinds of a phone number.
pub const PHONE_KINDS: &[&str] = &["mobile", "work", "home", "fax", "other"];
/// The kinds of an e-mail address.
pub const EMAIL_KINDS: &[&str] = &["work", "personal", "other"];

/// Company sizes, by number of employees.
pub const ACCOUNT_SIZES: &[&str] = &["micro", "small", "medium", "large", "enterprise"];
/// Where a client came from.
pub const SOURCES: &[&str] = &[
    "website",
    "referral",
    "cold_call",
    "exhibition",
    "advertising",
    "social_media",
    "partner",
    "other",
];
/// The kinds of a postal address.
pub const ADDRESS_KINDS: &[&str] = &["legal", "actual", "postal", "delivery", "other"];
/// The messengers a contact can be reached on.
pub const MESSENGER_KINDS: &[&str] = &["telegram", "whatsapp", "viber", "signal", "other"];
/// How a contact prefers to be reached.
pub const CHANNELS: &[&str] = &["phone", "email", "sms", "telegram", "whatsapp", "meeting"];
/// Consent to be contacted through a channel.
pub const CONSENT: &[&str] = &["granted", "withdrawn"];

/// The kinds of interaction with a client.
pub const INTERACTION_KINDS: &[&str] =
    &["call", "meeting", "visit", "email", "sms", "letter", "note"];
/// Which way a call, e-mail or letter went.
pub const DIRECTIONS: &[&str] = &["incoming", "outgoing"];
/// How a call ended.
pub const CALL_RESULTS: &[&str] = &[
    "reached",
    "no_answer",
    "busy",
    "voicemail",
    "wrong_number",
    "callback",
];

/// Where a client's need stands.
pub const NEED_STATUSES: &[&str] = &["open", "in_progress", "satisfied", "dropped"];
/// Currencies amounts are entered in (exchange rates come with the sales catalog).
pub const CURRENCIES: &[&str] = &["UZS", "USD", "EUR", "RUB", "KZT", "CNY"];

/// Where a task stands: the assignee works it `open → in_progress → done`, the author
/// checks the result and `accepted` or `returned` it (see `tasks`); `cancelled` by the
/// author.
pub const TASK_STATUSES: &[&str] = &[
    "open",
    "in_progress",
    "done",
    "accepted",
    "returned",
    "cancelled",
];
/// How urgent a task is.
pub const PRIORITIES: &[&str] = &["low", "normal", "high", "urgent"];
/// Where a meeting stands.
pub const EVENT_STATUSES: &[&str] = &["planned", "held", "cancelled"];
/// Units a product is sold in.
pub const UNITS: &[&str] = &[
    "pcs", "kg", "g", "t", "m", "m2", "m3", "l", "pack", "set", "hour", "day", "month", "service",
];
/// Where a lead stands: worked (`new → contacted → qualified | unqualified`) until it is
/// converted into an account, a contact and a deal (only conversion sets `converted`).
pub const LEAD_STATUSES: &[&str] = &["new", "contacted", "qualified", "unqualified", "converted"];
/// The sales documents: a quote (an offer), an order (what the client ordered), an
/// invoice (what the client is to pay).
pub const DOCUMENT_KINDS: &[&str] = &["quote", "order", "invoice"];
/// Where a document stands; which apply to which kind is in `document_statuses`.
/// `partly_paid` and `paid` follow from the payments recorded, `shipped` from shipments.
pub const DOCUMENT_STATUSES: &[&str] = &[
    "draft",
    "sent",
    "accepted",
    "rejected",
    "confirmed",
    "shipped",
    "issued",
    "partly_paid",
    "paid",
    "cancelled",
];

/// The statuses a document of a kind may have.
pub fn document_statuses(kind: &str) -> &'static [&'static str] {
    match kind {
        "quote" => &["draft", "sent", "accepted", "rejected", "cancelled"],
        "order" => &["draft", "confirmed", "sent", "shipped", "cancelled"],
        "invoice" => &[
            "draft",
            "issued",
            "sent",
            "partly_paid",
            "paid",
            "cancelled",
        ],
        _ => &[],
    }
}

/// Where a deal stands: still being worked (in a stage of its pipeline), won or lost.
pub const DEAL_STATUSES: &[&str] = &["open", "won", "lost"];

/// Who besides those the role's scope reaches may see (and partly change) a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sharing {
    /// The scope alone.
    Scope,
    /// Tasks: also the author and, for a task given to a team, the team's members.
    AuthorAndTeam,
    /// Meetings: also every participating user.
    Participants,
}

/// An object type with its fields.
#[derive(Debug)]
pub struct ObjectDef {
    pub object: ObjectType,
    /// Plural noun used in URLs and as the table name.
    pub plural: &'static str,
    pub fields: &'static [FieldDef],
    /// Link fields whose records must be readable for this record to be: an interaction
    /// is seen by whoever may see its account and its contact, and by no one else.
    pub parents: &'static [&'static str],
    /// The order of a list that asks for none (`-field` for descending); empty: by id,
    /// which is creation order.
    pub default_sort: &'static str,
    /// Who else may see the record.
    pub sharing: Sharing,
    /// The API name of `owner_id` where the object has a better word for it (a task's
    /// `assignee_id`); both names are accepted and both are shown.
    pub owner_alias: Option<&'static str>,
}

pub static ACCOUNT: ObjectDef = ObjectDef {
    object: ObjectType::Account,
    plural: "accounts",
    fields: &[
        f("name", FieldKind::Text { max: 200 }).required().column(),
        f("kind", FieldKind::Choice(ACCOUNT_KINDS)).column(),
        f("legal_name", FieldKind::Text { max: 300 }),
        f("tax_id", FieldKind::TaxId).column(),
        f("parent_id", FieldKind::Ref(ObjectType::Account)),
        f("phones", FieldKind::Phones).column(),
        f("emails", FieldKind::Emails).column(),
        f("website", FieldKind::Url),
        f("industry", FieldKind::Text { max: 100 }).column(),
        f("size", FieldKind::Choice(ACCOUNT_SIZES)),
        f("source", FieldKind::Choice(SOURCES)),
        f("addresses", FieldKind::Addresses).no_filter(),
        f("interests", FieldKind::Picklist("interests")),
        f("tags", FieldKind::Tags),
    ],
    parents: &[],
    default_sort: "",
    sharing: Sharing::Scope,
    owner_alias: None,
};

pub static CONTACT: ObjectDef = ObjectDef {
    object: ObjectType::Contact,
    plural: "contacts",
    fields: &[
        f("first_name", FieldKind::Text { max: 100 }).column(),
        f("middle_name", FieldKind::Text { max: 100 }),
        f("last_name", FieldKind::Text { max: 100 }).column(),
        f("phones", FieldKind::Phones).column(),
        f("emails", FieldKind::Emails).column(),
        f("messengers", FieldKind::Messengers).no_filter(),
        f("birthday", FieldKind::Date),
        f("preferred_channel", FieldKind::Choice(CHANNELS)),
        f("email_consent", FieldKind::Choice(CONSENT)),
        f("email_consent_at", FieldKind::Date),
        f("sms_consent", FieldKind::Choice(CONSENT)),
        f("sms_consent_at", FieldKind::Date),
        f("interests", FieldKind::Picklist("interests")),
        f("tags", FieldKind::Tags),
        f("source", FieldKind::Choice(SOURCES)),
    ],
    parents: &[],
    default_sort: "",
    sharing: Sharing::Scope,
    owner_alias: None,
};

/// A call, meeting, visit, e-mail, SMS, letter or note in a client's history. It belongs
/// to an account, a contact or both; the owner is the user who had it.
pub static INTERACTION: ObjectDef = ObjectDef {
    object: ObjectType::Interaction,
    plural: "interactions",
    fields: &[
        f("kind", FieldKind::Choice(INTERACTION_KINDS))
            .required()
            .column(),
        f("occurred_at", FieldKind::DateTime).not_null().column(),
        f("subject", FieldKind::Text { max: 200 }).column(),
        f("account_id", FieldKind::Ref(ObjectType::Account)).column(),
        f("contact_id", FieldKind::Ref(ObjectType::Contact)).column(),
        f("direction", FieldKind::Choice(DIRECTIONS)),
        f("duration", FieldKind::Duration),
        f("result", FieldKind::Choice(CALL_RESULTS)),
        f("recording_url", FieldKind::Url).no_filter(),
        f("body", FieldKind::LongText).no_filter(),
        f("outcome", FieldKind::Text { max: 500 }),
        f("user_ids", FieldKind::Users),
        f("contact_ids", FieldKind::Refs(ObjectType::Contact)),
    ],
    parents: &["account_id", "contact_id"],
    default_sort: "-occurred_at",
    sharing: Sharing::Scope,
    owner_alias: None,
};

/// What a client wants: a product or service, a budget, a date, and where it stands.
/// Seen by whoever may see the client.
pub static NEED: ObjectDef = ObjectDef {
    object: ObjectType::Need,
    plural: "needs",
    fields: &[
        f("title", FieldKind::Text { max: 200 }).required().column(),
        f("status", FieldKind::Choice(NEED_STATUSES)).column(),
        f("account_id", FieldKind::Ref(ObjectType::Account)).column(),
        f("contact_id", FieldKind::Ref(ObjectType::Contact)),
        f("budget", FieldKind::Amount).column(),
        f("currency", FieldKind::Choice(CURRENCIES)),
        f("needed_by", FieldKind::Date).column(),
        f("notes", FieldKind::LongText).no_filter(),
    ],
    parents: &["account_id", "contact_id"],
    default_sort: "",
    sharing: Sharing::Scope,
    owner_alias: None,
};

/// Something to be done by someone by a deadline. The owner is the assignee; the author
/// (`created_by`) accepts the result.
pub static TASK: ObjectDef = ObjectDef {
    object: ObjectType::Task,
    plural: "tasks",
    fields: &[
        f("title", FieldKind::Text { max: 200 }).required().column(),
        f("status", FieldKind::Choice(TASK_STATUSES)).column(),
        f("priority", FieldKind::Choice(PRIORITIES)).column(),
        f("due_at", FieldKind::DateTime).column(),
        f("remind_at", FieldKind::DateTime),
        f("team_id", FieldKind::Lookup(Lookup::Team)),
        f("related", FieldKind::Related).column(),
        f("description", FieldKind::LongText).no_filter(),
        f("checklist", FieldKind::Checklist).no_filter(),
        f("recurrence", FieldKind::Recurrence).no_filter(),
        f("series_id", FieldKind::Ref(ObjectType::Task)).read_only(),
        f("occurrence", FieldKind::Count).read_only().no_filter(),
        f("completed_at", FieldKind::DateTime).read_only(),
    ],
    parents: &[],
    default_sort: "due_at",
    sharing: Sharing::AuthorAndTeam,
    owner_alias: Some("assignee_id"),
};

/// A meeting or other event in the calendar. The owner organises it; participating users
/// see it in their calendars.
pub static EVENT: ObjectDef = ObjectDef {
    object: ObjectType::Event,
    plural: "events",
    fields: &[
        f("title", FieldKind::Text { max: 200 }).required().column(),
        f("starts_at", FieldKind::DateTime).required().column(),
        f("ends_at", FieldKind::DateTime).required().column(),
        f("all_day", FieldKind::Bool),
        f("location", FieldKind::Text { max: 300 }).column(),
        f("status", FieldKind::Choice(EVENT_STATUSES)),
        f("related", FieldKind::Related).column(),
        f("user_ids", FieldKind::Users),
        f("contact_ids", FieldKind::Refs(ObjectType::Contact)),
        f("remind_before", FieldKind::Duration),
        f("description", FieldKind::LongText).no_filter(),
    ],
    parents: &[],
    default_sort: "starts_at",
    sharing: Sharing::Participants,
    owner_alias: None,
};

/// A sale being worked: in a pipeline, at a stage, for an amount, until it is won or
/// lost. The owner is the salesperson.
pub static DEAL: ObjectDef = ObjectDef {
    object: ObjectType::Deal,
    plural: "deals",
    fields: &[
        f("title", FieldKind::Text { max: 200 }).required().column(),
        f("account_id", FieldKind::Ref(ObjectType::Account)).column(),
        f("contact_id", FieldKind::Ref(ObjectType::Contact)),
        f("pipeline_id", FieldKind::Lookup(Lookup::Pipeline)).not_null(),
        f("stage_id", FieldKind::Lookup(Lookup::Stage))
            .not_null()
            .column(),
        f("status", FieldKind::Choice(DEAL_STATUSES))
            .not_null()
            .column(),
        f("amount", FieldKind::Amount).column(),
        f("currency", FieldKind::Choice(CURRENCIES)),
        f("probability", FieldKind::Count),
        f("expected_close", FieldKind::Date).column(),
        f("lost_reason", FieldKind::Text { max: 100 }),
        f("source", FieldKind::Choice(SOURCES)),
        f("lead_id", FieldKind::Ref(ObjectType::Lead)).read_only(),
        f("description", FieldKind::LongText).no_filter(),
        f("stage_entered_at", FieldKind::DateTime).read_only(),
        f("closed_at", FieldKind::DateTime).read_only(),
    ],
    parents: &[],
    default_sort: "",
    sharing: Sharing::Scope,
    owner_alias: None,
};

/// A product or service of the catalog. Its code is unique; prices in price lists and
/// documents refer to it. The VAT rate is a percentage with two decimals ("12.00").
pub static PRODUCT: ObjectDef = ObjectDef {
    object: ObjectType::Product,
    plural: "products",
    fields: &[
        f("code", FieldKind::Text { max: 50 }).required().column(),
        f("name", FieldKind::Text { max: 300 }).required().column(),
        f("unit", FieldKind::Choice(UNITS)).column(),
        f("price", FieldKind::Amount).column(),
        f("currency", FieldKind::Choice(CURRENCIES)).column(),
        f("vat_rate", FieldKind::Amount).column(),
        f("active", FieldKind::Bool),
        f("category", FieldKind::Text { max: 100 }),
        f("description", FieldKind::LongText).no_filter(),
    ],
    parents: &[],
    default_sort: "code",
    sharing: Sharing::Scope,
    owner_alias: None,
};

/// A prospect not yet qualified: a person and/or a company, where they came from and what
/// they want. Conversion turns it into an account, a contact and a deal (the ids it
/// became are kept, read-only). The owner works it; `team_id` is the team a rule gave
/// it to.
pub static LEAD: ObjectDef = ObjectDef {
    object: ObjectType::Lead,
    plural: "leads",
    fields: &[
        f("first_name", FieldKind::Text { max: 100 }).column(),
        f("last_name", FieldKind::Text { max: 100 }).column(),
        f("company", FieldKind::Text { max: 200 }).column(),
        f("job_title", FieldKind::Text { max: 100 }),
        f("phones", FieldKind::Phones).column(),
        f("emails", FieldKind::Emails).column(),
        f("source", FieldKind::Choice(SOURCES)).column(),
        f("campaign", FieldKind::Text { max: 200 }).column(),
        f("interest", FieldKind::Text { max: 500 }),
        f("status", FieldKind::Choice(LEAD_STATUSES))
            .not_null()
            .column(),
        f("status_reason", FieldKind::Text { max: 200 }),
        f("team_id", FieldKind::Lookup(Lookup::Team)),
        f("notes", FieldKind::LongText).no_filter(),
        f("web_form", FieldKind::Text { max: 200 }).read_only(),
        f("converted_at", FieldKind::DateTime).read_only(),
        f("account_id", FieldKind::Ref(ObjectType::Account)).read_only(),
        f("contact_id", FieldKind::Ref(ObjectType::Contact)).read_only(),
        f("deal_id", FieldKind::Ref(ObjectType::Deal)).read_only(),
    ],
    parents: &[],
    default_sort: "-created_at",
    sharing: Sharing::Scope,
    owner_alias: None,
};

/// A quote, order or invoice: numbered per kind and year when it is made (without gaps),
/// for a client, in a currency, with lines (see the documents store) whose totals are kept
/// here. Only a draft's contents change; payments and shipments recorded against it set
/// `paid`, `shipped` and the payment status.
pub static DOCUMENT: ObjectDef = ObjectDef {
    object: ObjectType::Document,
    plural: "documents",
    fields: &[
        f("kind", FieldKind::Choice(DOCUMENT_KINDS))
            .required()
            .column(),
        f("number", FieldKind::Text { max: 50 })
            .read_only()
            .column(),
        f("issued_on", FieldKind::Date).not_null().column(),
        f("due_on", FieldKind::Date).column(),
        f("status", FieldKind::Choice(DOCUMENT_STATUSES))
            .not_null()
            .column(),
        f("account_id", FieldKind::Ref(ObjectType::Account)).column(),
        f("contact_id", FieldKind::Ref(ObjectType::Contact)),
        f("deal_id", FieldKind::Ref(ObjectType::Deal)).column(),
        f("source_id", FieldKind::Ref(ObjectType::Document)).read_only(),
        f("currency", FieldKind::Choice(CURRENCIES)).column(),
        f("vat_included", FieldKind::Bool),
        f("net_total", FieldKind::Amount).read_only(),
        f("vat_total", FieldKind::Amount).read_only(),
        f("total", FieldKind::Amount).read_only().column(),
        f("paid", FieldKind::Amount).read_only().column(),
        f("shipped", FieldKind::Amount).read_only(),
        f("notes", FieldKind::LongText).no_filter(),
        f("sent_at", FieldKind::DateTime).read_only(),
    ],
    parents: &[],
    default_sort: "-issued_on",
    sharing: Sharing::Scope,
    owner_alias: None,
};

/// Every object described here, in menu order.
pub static OBJECTS: [&ObjectDef; 10] = [
    &ACCOUNT,
    &CONTACT,
    &LEAD,
    &DEAL,
    &DOCUMENT,
    &PRODUCT,
    &INTERACTION,
    &NEED,
    &TASK,
    &EVENT,
];

impl ObjectDef {
    pub fn get(object: ObjectType) -> &'static ObjectDef {
        match object {
            ObjectType::Account => &ACCOUNT,
            ObjectType::Contact => &CONTACT,
            ObjectType::Interaction => &INTERACTION,
            ObjectType::Need => &NEED,
            ObjectType::Task => &TASK,
            ObjectType::Event => &EVENT,
            ObjectType::Deal => &DEAL,
            ObjectType::Product => &PRODUCT,
            ObjectType::Lead => &LEAD,
            ObjectType::Document => &DOCUMENT,
        }
    }
    pub fn by_plural(plural: &str) -> Option<&'static ObjectDef> {
        OBJECTS.into_iter().find(|d| d.plural == plural)
    }
    pub fn field(&self, name: &str) -> Option<&'static FieldDef> {
        self.fields.iter().find(|f| f.name == name)
    }
}

/// Fields every record has, set by the system. Sortable and filterable where it makes sense.
pub const SYSTEM_FIELDS: &[&str] = &[
    "id",
    "created_at",
    "updated_at",
    "created_by",
    "owner_id",
    "version",
];
