//! `hamkor generate`: a deterministic, realistic synthetic company for benchmarks and load
//! tests — sales teams, accounts and contacts with Uzbek and Russian names in Latin and
//! Cyrillic, phones in mixed formats, e-mails, and contacts linked to accounts; on request
//! also tasks and meetings around the current month, and one very busy salesperson. The
//! same seed and size always give the same data (ids aside, which are time-ordered, and
//! dates, which are placed around the day it runs).

use crate::users::UserRequest;
use crate::{App, AppError, AppResult};
use chrono::{Datelike, Duration, NaiveDate, TimeZone};
use hamkor_domain::input::AccountLink;
use hamkor_domain::objects::{ACCOUNT, CONTACT, DEAL, EVENT, INTERACTION, ObjectDef, TASK};
use hamkor_domain::phone::normalize_phone;
use hamkor_domain::{Id, ObjectType, Timestamp};
use hamkor_store::records::{BatchRecord, IndexEntries, insert_batch, insert_batch_staged};
use hamkor_store::reminders::kind as reminder_kind;
use hamkor_store::{Arg, bulk};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Map, json};

const FIRST_UZ: &[&str] = &[
    "Aziz", "Bobur", "Dilshod", "Farrux", "Jasur", "Otabek", "Rustam", "Sardor", "Sherzod",
    "Ulug'bek", "Gulnora", "Dilnoza", "Kamola", "Malika", "Nodira", "Sevara", "Zarina", "Madina",
];
const LAST_UZ: &[&str] = &[
    "Karimov",
    "Tursunov",
    "Yusupov",
    "Rahimov",
    "Ismoilov",
    "Umarov",
    "Nazarov",
    "Aliyev",
    "Xolmatov",
    "Qodirov",
    "G'ulomov",
    "Mirzayev",
    "Saidov",
    "Yo'ldoshev",
];
const FIRST_RU: &[&str] = &[
    "Алексей",
    "Дмитрий",
    "Иван",
    "Сергей",
    "Андрей",
    "Михаил",
    "Ольга",
    "Мария",
    "Анна",
    "Елена",
    "Татьяна",
    "Наталья",
];
const LAST_RU: &[&str] = &[
    "Иванов",
    "Петров",
    "Смирнов",
    "Кузнецов",
    "Соколов",
    "Попов",
    "Лебедев",
    "Козлов",
    "Новиков",
    "Морозов",
    "Волков",
    "Журавлёв",
];
const FIRST_UZ_CYR: &[&str] = &[
    "Азиз",
    "Бобур",
    "Шерзод",
    "Ғайрат",
    "Ўткир",
    "Гулнора",
    "Дилноза",
    "Малика",
];
const LAST_UZ_CYR: &[&str] = &[
    "Каримов",
    "Турсунов",
    "Холматов",
    "Ғуломов",
    "Юсупов",
    "Рахимов",
];
const COMPANY_WORDS: &[&str] = &[
    "Bahor",
    "Samarqand",
    "Toshkent",
    "Farg'ona",
    "Navoiy",
    "Ipak Yo'li",
    "Buxoro",
    "Orient",
    "Silk Road",
    "Север",
    "Восток",
    "Урал",
    "Тошкент",
    "Самарқанд",
];
const COMPANY_KINDS: &[&str] = &[
    "Savdo",
    "Textile",
    "Agro",
    "Invest",
    "Servis",
    "Qurilish",
    "Логистик",
    "Трейд",
    "Group",
    "Pharm",
];
const LEGAL: &[&str] = &["MChJ", "AJ", "ООО", "АО", "LLC", "ИП", "XK"];
const INDUSTRIES: &[&str] = &[
    "Textile",
    "Food",
    "Retail",
    "Agriculture",
    "Construction",
    "Mining",
    "Logistics",
    "Software",
    "Pharma",
    "Cotton",
];
const KINDS: &[&str] = &[
    "client",
    "client",
    "client",
    "prospect",
    "prospect",
    "partner",
    "supplier",
    "competitor",
];
const POSITIONS: &[&str] = &[
    "Direktor",
    "Bosh hisobchi",
    "Менеджер по закупкам",
    "Генеральный директор",
    "Sotuv menejeri",
    "Logist",
    "Главный инженер",
];

/// How much to generate.
#[derive(Debug, Clone, Copy)]
pub struct Sizes {
    pub contacts: usize,
    /// Default: a fifth of the contacts.
    pub accounts: Option<usize>,
    /// Default: five per contact.
    pub interactions: Option<usize>,
}

/// The people, tasks and meetings to generate besides what [`Sizes`] asks for. The
/// default adds nothing: the generator as it always was.
#[derive(Debug, Clone, Default)]
pub struct PlanningSizes {
    /// Salespeople, in teams of five whose first member heads the team (default 10: the
    /// Toshkent and Samarqand teams). Records are spread over them.
    pub salespeople: Option<usize>,
    /// Tasks spread over the salespeople: open, in progress, done, accepted and a few
    /// returned or cancelled; deadlines from the start of last month to the end of the
    /// next, some without one; some given by a colleague or the head of the team.
    pub tasks: usize,
    /// Meetings in this month and the next, working hours mostly, each with one to
    /// three of the salespeople (so some overlap) and often a contact.
    pub events: usize,
    /// One existing user (by e-mail) who also gets `busy_tasks` unfinished tasks and
    /// `busy_events` meetings in the current month: the "my day" and calendar benchmarks.
    pub busy_user: Option<String>,
    pub busy_tasks: usize,
    pub busy_events: usize,
    /// Deals spread over the pipelines (a second one, "Projects", is added when there is
    /// only one), the salespeople, and the accounts and contacts, with their stage history.
    pub deals: usize,
}

/// What was generated.
pub struct Generated {
    pub users: usize,
    pub accounts: usize,
    pub contacts: usize,
    pub interactions: usize,
    /// The account with the longest history (for timeline benchmarks), if any.
    pub busiest_account: Option<Id>,
    /// Tasks and meetings, the busy user's included.
    pub tasks: usize,
    pub events: usize,
    /// Reminder rows written with them: pending for what is ahead, already sent for
    /// what has passed, as the application would have left them.
    pub reminders: usize,
    /// The busy user, when one was asked for.
    pub busy_user: Option<Id>,
    /// Deals, and the rows of their stage history.
    pub deals: usize,
    pub deal_stages: usize,
}

/// Rows per transaction, and rows per INSERT statement on each engine. SQLite's driver
/// looks up every parameter's name by a linear search over the statement's parameters,
/// so a statement with n parameters costs n² — small statements are much faster there.
const ROWS_PER_TX: usize = 10_000;

/// The tables the generator fills by the hundred thousand, whose indexes it builds at the
/// end.
const GENERATED_TABLES: &[&str] = &[
    "accounts",
    "contacts",
    "interactions",
    "contact_accounts",
    "interaction_contacts",
    "search_numbers",
    "dup_keys",
    "tasks",
    "events",
    "event_users",
    "reminders",
    "deals",
    "deal_stages",
];

const SUBJECTS: &[&str] = &[
    "Narx bo'yicha savol",
    "Yetkazib berish muddati",
    "Shartnoma loyihasi",
    "Tijorat taklifi",
    "To'lov bo'yicha",
    "Обсуждение скидки",
    "Согласование договора",
    "Вопрос по доставке",
    "Price list request",
    "Follow-up after the exhibition",
    "Sample delivery",
    "Invoice question",
];
const BODIES: &[&str] = &[
    "Mijoz 500 dona buyurtma berishni rejalashtirmoqda, chegirma so'radi.",
    "Keyingi hafta omborga tashrif buyurishga kelishildi.",
    "Shartnoma matnini yuristlar ko'rib chiqmoqda.",
    "Клиент просит отсрочку платежа на 30 дней.",
    "Договорились о пробной поставке в Самарканд.",
    "Нужен расчёт стоимости с учётом НДС.",
    "They compare our offer with two competitors.",
    "Asked to call back after the board meeting.",
    "Sent the updated price list and delivery terms.",
    "Paxta mato namunalari yuborildi, javob kutilmoqda.",
];
const INTERACTION_KIND_WEIGHTS: &[(&str, u32)] = &[
    ("call", 40),
    ("email", 20),
    ("note", 15),
    ("meeting", 10),
    ("sms", 7),
    ("visit", 5),
    ("letter", 3),
];

/// Teams of salespeople, in order; beyond these, numbered teams.
const TEAMS: &[&str] = &[
    "Toshkent",
    "Samarqand",
    "Buxoro",
    "Namangan",
    "Andijon",
    "Navoiy",
    "Xorazm",
    "Qarshi",
    "Nukus",
    "Termiz",
    "Jizzax",
    "Guliston",
];
const TEAM_SIZE: usize = 5;

const TASK_TITLES: &[&str] = &[
    "Mijozga qo'ng'iroq qilish",
    "Tijorat taklifini yuborish",
    "Shartnoma loyihasini tayyorlash",
    "To'lovni tekshirish",
    "Namunalarni jo'natish",
    "Перезвонить клиенту",
    "Подготовить коммерческое предложение",
    "Согласовать договор с юристами",
    "Выставить счёт",
    "Уточнить сроки поставки",
    "Send the updated price list",
    "Follow up on the overdue payment",
    "Book a product demo",
    "Prepare the quarterly report",
];
/// Task statuses of the background, weighted: most work is open or finished.
const TASK_STATUS_WEIGHTS: &[(&str, u32)] = &[
    ("open", 40),
    ("in_progress", 15),
    ("done", 15),
    ("accepted", 22),
    ("returned", 3),
    ("cancelled", 5),
];
/// The busy user's tasks are all unfinished.
const ACTIVE_STATUS_WEIGHTS: &[(&str, u32)] = &[("open", 75), ("in_progress", 20), ("returned", 5)];
const PRIORITY_WEIGHTS: &[(&str, u32)] =
    &[("low", 20), ("normal", 55), ("high", 20), ("urgent", 5)];
const MEETING_TITLES: &[&str] = &[
    "Uchrashuv: narxlar muhokamasi",
    "Shartnoma imzolash",
    "Omborga tashrif",
    "Haftalik savdo yig'ilishi",
    "Встреча с клиентом",
    "Переговоры по поставке",
    "Презентация продукта",
    "Product demo",
    "Quarterly review",
    "Kick-off with the new distributor",
];
const LOCATIONS: &[&str] = &[
    "Ofis, 3-qavat",
    "Mijoz ofisi",
    "Samarqand filiali",
    "Zoom",
    "Офис клиента, Ташкент",
    "Переговорная 2",
];
/// Meeting lengths in minutes.
const MEETING_MINUTES: &[i64] = &[30, 45, 60, 60, 60, 90, 120];
/// A meeting's reminder, seconds before it starts (the application's default).
const REMIND_BEFORE: i64 = hamkor_store::planning::DEFAULT_REMIND_BEFORE;

/// What deals sell.
const DEAL_TITLES: &[&str] = &[
    "Paxta mato yetkazib berish",
    "Ombor uskunalari",
    "Yillik servis shartnomasi",
    "Qadoqlash liniyasi",
    "Поставка оборудования",
    "Годовой контракт на обслуживание",
    "Партия удобрений",
    "Лицензии на ПО",
    "Office fit-out",
    "Fleet tracking rollout",
    "Solar panels for the warehouse",
    "Cold storage upgrade",
];
/// The pipeline the generator adds beside the default one: longer projects.
const PROJECTS: &str = "Projects";
const PROJECT_STAGES: &[(&str, i64)] = &[
    ("Brief", 10),
    ("Site survey", 20),
    ("Design", 40),
    ("Estimate", 60),
    ("Approval", 80),
    ("Contract", 95),
];
/// Deal outcomes: with seven in ten deals in the first pipeline, 500,000 deals leave it
/// about 100,000 open.
const DEAL_STATUS_WEIGHTS: &[(&str, u32)] = &[("open", 29), ("won", 31), ("lost", 40)];
/// Why deals are lost when the database has no `lost_reasons` list.
const LOST_REASONS: &[&str] = &["Price too high", "Chose a competitor", "No budget"];

fn weighted<'a>(rng: &mut StdRng, weights: &[(&'a str, u32)]) -> &'a str {
    let total: u32 = weights.iter().map(|(_, w)| w).sum();
    let mut roll = rng.random_range(0..total);
    for (v, w) in weights {
        if roll < *w {
            return v;
        }
        roll -= w;
    }
    weights[0].0
}

/// A moment of a local day in `tz` (the earliest, should the hour be ambiguous).
fn local_moment(tz: chrono_tz::Tz, day: NaiveDate, hour: u32, minute: u32) -> Timestamp {
    let naive = day.and_hms_opt(hour, minute, 0).unwrap_or_default();
    let utc = tz
        .from_local_datetime(&naive)
        .earliest()
        .map(|t| t.with_timezone(&chrono::Utc))
        .unwrap_or_else(|| naive.and_utc());
    Timestamp::from_datetime(utc)
}

/// The first day of the month `delta` months from the one `day` is in.
fn month_start(day: NaiveDate, delta: i32) -> NaiveDate {
    let months = day.year() * 12 + day.month0() as i32 + delta;
    NaiveDate::from_ymd_opt(months.div_euclid(12), months.rem_euclid(12) as u32 + 1, 1)
        .unwrap_or(day)
}

/// A salesperson, for spreading tasks and meetings.
#[derive(Debug, Clone, Copy)]
struct Person {
    id: Id,
    team: Option<Id>,
    /// The head of their team (themselves for a head).
    head: Id,
}

/// A reminder row as the application would have left it.
struct PlannedReminder {
    key: String,
    user: Id,
    object: ObjectType,
    record: Id,
    kind: &'static str,
    due: Timestamp,
    title: String,
    at: Option<Timestamp>,
    /// Delivered already (its moment has passed).
    sent: bool,
}

/// Tasks or meetings with what goes with them, written in one transaction.
#[derive(Default)]
struct PlannedBatch {
    /// Each record with its author.
    records: Vec<(Id, BatchRecord)>,
    /// A meeting's calendar rows: (meeting, user, start, end).
    event_users: Vec<(Id, Id, Timestamp, Timestamp)>,
    reminders: Vec<PlannedReminder>,
    /// A deal's stage history.
    deal_stages: Vec<StageRow>,
}

/// One stage a generated deal went through, as `deal_stages` keeps it, with the deal's
/// facts the funnel reads from it (migration 0022).
struct StageRow {
    deal: Id,
    stage: Id,
    entered_at: Timestamp,
    entered_by: Id,
    /// When and by whom it moved on; `None` for the stage it is at.
    left: Option<(Timestamp, Id)>,
    /// When it entered the next stage (they go through them in order): `left` too.
    further_at: Option<Timestamp>,
    owner: Id,
    status: &'static str,
    amount: Option<i64>,
    currency: Option<&'static str>,
}

/// A pipeline as deals are spread over it: its id and its stages (id, probability) in
/// order.
struct DealPipeline {
    id: Id,
    stages: Vec<(Id, i64)>,
}

/// What tasks and meetings are spread over.
struct PlanningWorld<'a> {
    people: &'a [Person],
    accounts: &'a [Id],
    /// Each contact with the index of its account.
    contacts: &'a [(Id, usize)],
    tz: chrono_tz::Tz,
    now: Timestamp,
    today: NaiveDate,
}

impl PlanningWorld<'_> {
    /// A deadline in working hours between the start of last month and the end of the
    /// next.
    fn deadline(&self, rng: &mut StdRng) -> Timestamp {
        let first = month_start(self.today, -1);
        let days = (month_start(self.today, 2) - first).num_days();
        let day = first + Duration::days(rng.random_range(0..days));
        local_moment(
            self.tz,
            day,
            rng.random_range(9..19),
            15 * rng.random_range(0..4),
        )
    }

    /// A meeting on one of `days` days from `first`: weekdays mostly, in working hours;
    /// a few last all day. (start, end, all day)
    fn meeting_time(
        &self,
        rng: &mut StdRng,
        first: NaiveDate,
        days: i64,
    ) -> (Timestamp, Timestamp, bool) {
        let mut day = first + Duration::days(rng.random_range(0..days));
        if day.weekday().number_from_monday() > 5 {
            day = first + Duration::days(rng.random_range(0..days));
        }
        if rng.random_range(0..100) < 3 {
            let start = local_moment(self.tz, day, 0, 0);
            let end = local_moment(self.tz, day + Duration::days(1), 0, 0);
            return (start, end, true);
        }
        let start = local_moment(
            self.tz,
            day,
            rng.random_range(8..18),
            30 * rng.random_range(0..2),
        );
        let minutes = MEETING_MINUTES[rng.random_range(0..MEETING_MINUTES.len())];
        let end = Timestamp::from_datetime(start.0 + Duration::minutes(minutes));
        (start, end, false)
    }

    /// Someone other than `not`, when there is anyone else.
    fn other(&self, rng: &mut StdRng, not: Id) -> Option<Person> {
        if self.people.iter().all(|p| p.id == not) {
            return None;
        }
        loop {
            let p = self.people[rng.random_range(0..self.people.len())];
            if p.id != not {
                return Some(p);
            }
        }
    }

    /// A related account (and one of its contacts), some of the time.
    fn related(&self, rng: &mut StdRng, percent: u32) -> Option<(Id, Option<Id>)> {
        if self.accounts.is_empty() || rng.random_range(0..100) >= percent {
            return None;
        }
        if !self.contacts.is_empty() && rng.random_range(0..3) > 0 {
            let (c, a) = self.contacts[rng.random_range(0..self.contacts.len())];
            return Some((self.accounts[a], Some(c)));
        }
        Some((
            self.accounts[rng.random_range(0..self.accounts.len())],
            None,
        ))
    }

    /// One task assigned to `assignee` by `author`, with its reminder.
    fn task(
        &self,
        rng: &mut StdRng,
        batch: &mut PlannedBatch,
        assignee: Person,
        author: Id,
        statuses: &[(&str, u32)],
    ) {
        let id = Id::new();
        let status = weighted(rng, statuses);
        let title = pick(rng, TASK_TITLES);
        let due = (rng.random_range(0..100) >= 12).then(|| self.deadline(rng));
        let remind = match due {
            Some(d) if rng.random_range(0..4) == 0 => {
                let lead = [15, 60, 24 * 60][rng.random_range(0..3)];
                Some(Timestamp::from_datetime(d.0 - Duration::minutes(lead)))
            }
            _ => None,
        };
        let latest = due.map_or(self.now, |d| d.min(self.now));
        let created = Timestamp::from_datetime(
            latest.0 - Duration::minutes(rng.random_range(60..40 * 24 * 60)),
        );
        let mut f = Map::new();
        f.insert("title".into(), json!(title));
        f.insert("status".into(), json!(status));
        f.insert("priority".into(), json!(weighted(rng, PRIORITY_WEIGHTS)));
        if let Some(d) = due {
            f.insert("due_at".into(), json!(d.to_rfc3339()));
        }
        if let Some(r) = remind {
            f.insert("remind_at".into(), json!(r.to_rfc3339()));
        }
        if let Some(team) = assignee.team.filter(|_| rng.random_range(0..20) == 0) {
            f.insert("team_id".into(), json!(team.to_string()));
        }
        if let Some((account, _)) = self.related(rng, 60) {
            f.insert(
                "related".into(),
                json!({"type": "account", "id": account.to_string()}),
            );
        }
        if rng.random_range(0..3) == 0 {
            f.insert("description".into(), json!(pick(rng, BODIES)));
        }
        if ["done", "accepted", "cancelled"].contains(&status) {
            let span = (self.now.0 - created.0).num_seconds().max(1);
            let done = created.0 + Duration::seconds(rng.random_range(0..span));
            f.insert(
                "completed_at".into(),
                json!(Timestamp::from_datetime(done).to_rfc3339()),
            );
        }
        if hamkor_domain::tasks::ACTIVE.contains(&status)
            && let Some(when) = remind.or(due)
        {
            batch.reminders.push(PlannedReminder {
                key: format!("task:{id}:{}:{}", assignee.id, when.to_storage()),
                user: assignee.id,
                object: ObjectType::Task,
                record: id,
                kind: reminder_kind::TASK_DUE,
                due: when,
                title: title.to_string(),
                at: due,
                sent: when <= self.now,
            });
        }
        batch.records.push((
            author,
            BatchRecord {
                id,
                fields: f,
                owner_id: assignee.id,
                created_at: created,
                account_links: vec![],
                custom: Map::new(),
                index: None,
            },
        ));
    }

    /// One meeting organised by `organiser` with `others`, on one of `days` days from
    /// `first`, with its calendar rows and reminders.
    fn meeting(
        &self,
        rng: &mut StdRng,
        batch: &mut PlannedBatch,
        organiser: Id,
        others: &[Id],
        first: NaiveDate,
        days: i64,
    ) {
        let id = Id::new();
        let (start, end, all_day) = self.meeting_time(rng, first, days);
        let title = pick(rng, MEETING_TITLES);
        let status = if start > self.now {
            if rng.random_range(0..20) == 0 {
                "cancelled"
            } else {
                "planned"
            }
        } else {
            weighted(rng, &[("held", 85), ("planned", 10), ("cancelled", 5)])
        };
        let created = Timestamp::from_datetime(
            start.0.min(self.now.0) - Duration::minutes(rng.random_range(60..21 * 24 * 60)),
        );
        let mut f = Map::new();
        f.insert("title".into(), json!(title));
        f.insert("starts_at".into(), json!(start.to_rfc3339()));
        f.insert("ends_at".into(), json!(end.to_rfc3339()));
        f.insert("all_day".into(), json!(all_day));
        if rng.random_range(0..3) > 0 {
            f.insert("location".into(), json!(pick(rng, LOCATIONS)));
        }
        f.insert("status".into(), json!(status));
        if let Some((account, contact)) = self.related(rng, 70) {
            f.insert(
                "related".into(),
                json!({"type": "account", "id": account.to_string()}),
            );
            if let Some(c) = contact {
                f.insert("contact_ids".into(), json!([c.to_string()]));
            }
        }
        f.insert(
            "user_ids".into(),
            json!(others.iter().map(Id::to_string).collect::<Vec<_>>()),
        );
        f.insert("remind_before".into(), json!(REMIND_BEFORE));
        let due = Timestamp::from_datetime(start.0 - Duration::seconds(REMIND_BEFORE));
        for u in std::iter::once(organiser).chain(others.iter().copied()) {
            batch.event_users.push((id, u, start, end));
            if status != "cancelled" {
                batch.reminders.push(PlannedReminder {
                    key: format!("event:{id}:{u}:{}", due.to_storage()),
                    user: u,
                    object: ObjectType::Event,
                    record: id,
                    kind: reminder_kind::EVENT_START,
                    due,
                    title: title.to_string(),
                    at: Some(start),
                    sent: start <= self.now,
                });
            }
        }
        batch.records.push((
            organiser,
            BatchRecord {
                id,
                fields: f,
                owner_id: organiser,
                created_at: created,
                account_links: vec![],
                custom: Map::new(),
                index: None,
            },
        ));
    }
}

impl PlanningWorld<'_> {
    /// Whoever moved a deal of `owner`'s: themselves mostly, sometimes their head.
    fn mover(&self, rng: &mut StdRng, owner: Person) -> Id {
        if rng.random_range(0..100) < 15 {
            owner.head
        } else {
            owner.id
        }
    }

    /// One deal created in the last two years, with the stages it went through in order
    /// (the one it is at still open) and, for a closed one, when and why it closed.
    fn deal(
        &self,
        rng: &mut StdRng,
        batch: &mut PlannedBatch,
        pipeline: &DealPipeline,
        lost_reasons: &[String],
    ) {
        const DAY: i64 = 86_400;
        let id = Id::new();
        let owner = self.people[rng.random_range(0..self.people.len())];
        let author = if rng.random_range(0..10) == 0 {
            owner.head
        } else {
            owner.id
        };
        let status = weighted(rng, DEAL_STATUS_WEIGHTS);
        let n = pipeline.stages.len();
        // The stage reached: early ones are more common; a won deal got to the end.
        let reached = match status {
            "won" if n > 1 && rng.random_range(0..100) < 15 => n - 2,
            "won" => n - 1,
            _ => {
                let total = n * (n + 1) / 2;
                let mut roll = rng.random_range(0..total);
                let mut k = 0;
                while roll >= n - k {
                    roll -= n - k;
                    k += 1;
                }
                k
            }
        };
        // Open deals are younger on the whole; closed ones spread over the two years.
        let u: f64 = rng.random_range(0.0..1.0);
        let age = if status == "open" {
            (730.0 * u * u * DAY as f64) as i64
        } else {
            (730.0 * u * DAY as f64) as i64
        }
        .max(3600);
        let created = self.now.0 - Duration::seconds(age);
        // Time in each stage (hours to weeks), and before closing; squeezed into its age.
        let mut spans: Vec<i64> = (0..reached + usize::from(status != "open"))
            .map(|_| {
                let v: f64 = rng.random_range(0.0..1.0);
                3600 + (v * v * 40.0 * DAY as f64) as i64
            })
            .collect();
        let total: i64 = spans.iter().sum();
        let room = age * 95 / 100;
        if total > room {
            for s in &mut spans {
                *s = (*s as i128 * room as i128 / total as i128) as i64;
            }
        }
        let mut at = created;
        let mut by = author;
        let mut visits = Vec::with_capacity(reached + 1);
        for (i, (stage, _)) in pipeline.stages.iter().take(reached + 1).enumerate() {
            let entered = (Timestamp::from_datetime(at), by);
            let left = (i < reached).then(|| {
                at += Duration::seconds(spans[i]);
                by = self.mover(rng, owner);
                (Timestamp::from_datetime(at), by)
            });
            visits.push((*stage, entered, left));
        }
        let (stage, stage_probability) = pipeline.stages[reached];
        let entered_stage = Timestamp::from_datetime(at);
        let closed = (status != "open")
            .then(|| Timestamp::from_datetime(at + Duration::seconds(spans[reached])));
        let today = self.today;
        let expected = match closed {
            Some(c) => Some(c.0.date_naive() + Duration::days(rng.random_range(-20..21))),
            None if rng.random_range(0..100) < 5 => None,
            None => Some(today + Duration::days(rng.random_range(-60..365))),
        }
        .map(|d| d.clamp(today - Duration::days(365), today + Duration::days(365)));
        let mut f = Map::new();
        f.insert(
            "title".into(),
            json!(format!(
                "{} #{}",
                pick(rng, DEAL_TITLES),
                rng.random_range(100..100_000)
            )),
        );
        if let Some((account, contact)) = self.related(rng, 95) {
            f.insert("account_id".into(), json!(account.to_string()));
            if let Some(c) = contact {
                f.insert("contact_id".into(), json!(c.to_string()));
            }
        }
        f.insert("pipeline_id".into(), json!(pipeline.id.to_string()));
        f.insert("stage_id".into(), json!(stage.to_string()));
        f.insert("status".into(), json!(status));
        let money = (rng.random_range(0..100) < 97).then(|| {
            if rng.random_range(0..100) < 88 {
                ("UZS", rng.random_range(5_000..2_000_000_i64) * 1_000)
            } else {
                ("USD", rng.random_range(500..250_000_i64))
            }
        });
        if let Some((currency, whole)) = money {
            f.insert("amount".into(), json!(format!("{whole}.00")));
            f.insert("currency".into(), json!(currency));
        }
        let probability = match status {
            "won" => 100,
            "lost" => 0,
            _ => stage_probability,
        };
        f.insert("probability".into(), json!(probability));
        if let Some(d) = expected {
            f.insert(
                "expected_close".into(),
                json!(d.format("%Y-%m-%d").to_string()),
            );
        }
        if status == "lost" && !lost_reasons.is_empty() {
            // The first reasons of the list are the common ones.
            let i = rng
                .random_range(0..lost_reasons.len())
                .min(rng.random_range(0..lost_reasons.len()));
            f.insert("lost_reason".into(), json!(lost_reasons[i]));
        }
        if rng.random_range(0..10) < 7 {
            f.insert(
                "source".into(),
                json!(pick(rng, hamkor_domain::objects::SOURCES)),
            );
        }
        if rng.random_range(0..4) == 0 {
            f.insert("description".into(), json!(pick(rng, BODIES)));
        }
        f.insert("stage_entered_at".into(), json!(entered_stage.to_rfc3339()));
        if let Some(c) = closed {
            f.insert("closed_at".into(), json!(c.to_rfc3339()));
        }
        for (stage, entered, left) in visits {
            batch.deal_stages.push(StageRow {
                deal: id,
                stage,
                entered_at: entered.0,
                entered_by: entered.1,
                left,
                further_at: left.map(|l| l.0),
                owner: owner.id,
                status,
                amount: money.map(|(_, whole)| whole * 100),
                currency: money.map(|(c, _)| c),
            });
        }
        batch.records.push((
            author,
            BatchRecord {
                id,
                fields: f,
                owner_id: owner.id,
                created_at: Timestamp::from_datetime(created),
                account_links: vec![],
                custom: Map::new(),
                index: None,
            },
        ));
    }
}

fn pick<'a>(rng: &mut StdRng, list: &[&'a str]) -> &'a str {
    list[rng.random_range(0..list.len())]
}

/// A phone number written the way people type them.
fn phone(rng: &mut StdRng) -> String {
    let op = pick(rng, &["90", "91", "93", "94", "97", "99", "33", "88"]);
    let n: u32 = rng.random_range(1_000_000..10_000_000);
    let (a, b, c) = (n / 10000, (n / 100) % 100, n % 100);
    match rng.random_range(0..5) {
        0 => format!("+998 {op} {a:03} {b:02} {c:02}"),
        1 => format!("{op} {a:03}-{b:02}-{c:02}"),
        2 => format!("998{op}{a:03}{b:02}{c:02}"),
        3 => format!("({op}) {a:03}-{b:02}-{c:02}"),
        _ => format!("+998{op}{a:03}{b:02}{c:02}"),
    }
}

fn translit_ascii(s: &str) -> String {
    hamkor_domain::names::fold(s).replace(' ', ".")
}

/// Which table a batch of generated rows goes to.
enum Rows {
    Accounts,
    Contacts,
    Interactions,
}

/// A batch of generated rows: the table, how many of its rows are made so far, the rows;
/// or why making them stopped.
type RowBatch = Result<(Rows, usize, Vec<BatchRecord>), String>;

/// What [`make_rows`] needs.
struct RowWorld {
    rng: StdRng,
    owners: Vec<Id>,
    accounts: usize,
    contacts: usize,
    interactions: usize,
}

/// What [`make_rows`] leaves for the rest of the generator.
struct MadeRows {
    rng: StdRng,
    account_ids: Vec<Id>,
    /// Each contact and the index of their account.
    contact_of: Vec<(Id, usize)>,
    /// How many interactions went to the busiest (first) account.
    busy: usize,
}

/// Makes the accounts, contacts and interactions, a transaction's worth at a time, into
/// `out`. `None` when the writer stopped listening or a row could not be made.
fn make_rows(world: RowWorld, out: tokio::sync::mpsc::Sender<RowBatch>) -> Option<MadeRows> {
    let RowWorld {
        mut rng,
        owners,
        accounts,
        contacts,
        interactions,
    } = world;
    let start = chrono::Utc::now() - chrono::Duration::days(3 * 365);
    let mut account_ids: Vec<Id> = Vec::with_capacity(accounts);
    let chunk = ROWS_PER_TX;
    let mut done = 0;
    while done < accounts {
        let n = chunk.min(accounts - done);
        let mut rows = Vec::with_capacity(n);
        for i in 0..n {
            let k = done + i;
            let mut f = Map::new();
            let name = format!(
                "{} {} {}",
                pick(&mut rng, COMPANY_WORDS),
                pick(&mut rng, COMPANY_KINDS),
                pick(&mut rng, LEGAL)
            );
            f.insert("name".into(), json!(format!("{name} {k}")));
            f.insert("kind".into(), json!(pick(&mut rng, KINDS)));
            f.insert(
                "tax_id".into(),
                json!(format!("{:09}", 300_000_000 + k as u64)),
            );
            f.insert("industry".into(), json!(pick(&mut rng, INDUSTRIES)));
            let p = phone(&mut rng);
            let Ok(e164) = normalize_phone(&p, "998") else {
                let _ = out.blocking_send(Err(format!("generated phone {p}")));
                return None;
            };
            f.insert(
                "phones".into(),
                json!([{"number": p, "kind": "work", "e164": e164}]),
            );
            f.insert("emails".into(), json!([{"address": format!("info{k}@{}.uz", translit_ascii(pick(&mut rng, COMPANY_WORDS))), "kind": "work"}]));
            if k > 10 && rng.random_range(0..10) == 0 {
                f.insert(
                    "parent_id".into(),
                    json!(account_ids[rng.random_range(0..account_ids.len().min(k))].to_string()),
                );
            }
            let created = start + chrono::Duration::minutes((k as i64) * 3);
            let id = Id::new();
            account_ids.push(id);
            rows.push(BatchRecord {
                id,
                index: Some(IndexEntries::of(&ACCOUNT, &f)),
                fields: f,
                owner_id: owners[rng.random_range(0..owners.len())],
                created_at: Timestamp::from_datetime(created),
                account_links: vec![],
                custom: Map::new(),
            });
        }
        done += n;
        if out.blocking_send(Ok((Rows::Accounts, done, rows))).is_err() {
            return None;
        }
    }
    // Each contact's account, for their interactions.
    let mut contact_of: Vec<(Id, usize)> = Vec::with_capacity(contacts);
    let mut done = 0;
    while done < contacts {
        let n = chunk.min(contacts - done);
        let mut rows = Vec::with_capacity(n);
        for i in 0..n {
            let k = done + i;
            let (first, last) = match rng.random_range(0..10) {
                0..=4 => (pick(&mut rng, FIRST_UZ), pick(&mut rng, LAST_UZ)),
                5..=7 => (pick(&mut rng, FIRST_RU), pick(&mut rng, LAST_RU)),
                _ => (pick(&mut rng, FIRST_UZ_CYR), pick(&mut rng, LAST_UZ_CYR)),
            };
            let mut f = Map::new();
            f.insert("first_name".into(), json!(first));
            f.insert("last_name".into(), json!(last));
            let p = phone(&mut rng);
            let Ok(e164) = normalize_phone(&p, "998") else {
                let _ = out.blocking_send(Err(format!("generated phone {p}")));
                return None;
            };
            f.insert(
                "phones".into(),
                json!([{"number": p, "kind": "mobile", "e164": e164}]),
            );
            f.insert("emails".into(), json!([{"address": format!("{}.{}{k}@mail.uz", translit_ascii(first), translit_ascii(last)), "kind": "work"}]));
            if rng.random_range(0..3) == 0 {
                f.insert(
                    "birthday".into(),
                    json!(format!(
                        "{}-{:02}-{:02}",
                        rng.random_range(1960..2004),
                        rng.random_range(1..13),
                        rng.random_range(1..29)
                    )),
                );
            }
            let account_idx = rng.random_range(0..account_ids.len());
            let account = account_ids[account_idx];
            let created = start + chrono::Duration::seconds((k as i64) * 40);
            let id = Id::new();
            contact_of.push((id, account_idx));
            rows.push(BatchRecord {
                id,
                index: Some(IndexEntries::of(&CONTACT, &f)),
                fields: f,
                owner_id: owners[rng.random_range(0..owners.len())],
                created_at: Timestamp::from_datetime(created),
                account_links: vec![AccountLink {
                    account_id: account,
                    position: Some(pick(&mut rng, POSITIONS).to_string()),
                }],
                custom: Map::new(),
            });
        }
        done += n;
        if out.blocking_send(Ok((Rows::Contacts, done, rows))).is_err() {
            return None;
        }
    }
    // Interactions over three years. The first account is the busiest: it gets the
    // first 10,000 (when there are enough), the history a timeline benchmark reads.
    let busy = if interactions >= 20_000 { 10_000 } else { 0 };
    let busy_contacts: Vec<Id> = contact_of
        .iter()
        .filter(|(_, a)| *a == 0)
        .map(|(c, _)| *c)
        .collect();
    let total_weight: u32 = INTERACTION_KIND_WEIGHTS.iter().map(|(_, w)| w).sum();
    let span = (chrono::Utc::now() - start).num_seconds().max(1);
    let mut done = 0;
    while done < interactions {
        let n = chunk.min(interactions - done);
        let mut rows = Vec::with_capacity(n);
        for i in 0..n {
            let k = done + i;
            let (account_idx, contact) = if k < busy {
                let c = (!busy_contacts.is_empty() && rng.random_range(0..3) > 0)
                    .then(|| busy_contacts[rng.random_range(0..busy_contacts.len())]);
                (0, c)
            } else if !contact_of.is_empty() && rng.random_range(0..3) > 0 {
                let (c, a) = contact_of[rng.random_range(0..contact_of.len())];
                (a, Some(c))
            } else {
                (rng.random_range(0..account_ids.len()), None)
            };
            let mut roll = rng.random_range(0..total_weight);
            let mut kind = "note";
            for (kd, w) in INTERACTION_KIND_WEIGHTS {
                if roll < *w {
                    kind = kd;
                    break;
                }
                roll -= w;
            }
            let at = start + chrono::Duration::seconds(rng.random_range(0..span));
            let mut f = Map::new();
            f.insert("kind".into(), json!(kind));
            f.insert(
                "occurred_at".into(),
                json!(Timestamp::from_datetime(at).to_rfc3339()),
            );
            f.insert("subject".into(), json!(pick(&mut rng, SUBJECTS)));
            f.insert("body".into(), json!(pick(&mut rng, BODIES)));
            f.insert(
                "account_id".into(),
                json!(account_ids[account_idx].to_string()),
            );
            if let Some(c) = contact {
                f.insert("contact_id".into(), json!(c.to_string()));
            }
            if kind == "call" {
                f.insert(
                    "direction".into(),
                    json!(pick(&mut rng, &["incoming", "outgoing"])),
                );
                f.insert("duration".into(), json!(rng.random_range(10..1800)));
                f.insert(
                    "result".into(),
                    json!(pick(
                        &mut rng,
                        &["reached", "reached", "no_answer", "busy", "callback"]
                    )),
                );
            }
            rows.push(BatchRecord {
                id: Id::new(),
                index: Some(IndexEntries::of(&INTERACTION, &f)),
                fields: f,
                owner_id: owners[rng.random_range(0..owners.len())],
                created_at: Timestamp::from_datetime(at),
                account_links: vec![],
                custom: Map::new(),
            });
        }
        done += n;
        if out
            .blocking_send(Ok((Rows::Interactions, done, rows)))
            .is_err()
        {
            return None;
        }
    }
    Some(MadeRows {
        rng,
        account_ids,
        contact_of,
        busy,
    })
}

/// Writes the accounts and contacts [`App::generate`] would make for `seed` as CSV files for
/// the importer, into `dir`: `accounts.csv` (name, kind, tax id, industry, phone, e-mail)
/// and `contacts.csv`, shaped like an Outlook export (first and last name, mobile phone,
/// e-mail, the account's name as company, job title, birthday). Headers are the ones the
/// import wizard recognises. Returns the accounts and contacts written.
pub fn generate_csv(
    sizes: Sizes,
    seed: u64,
    dir: &std::path::Path,
    mut progress: impl FnMut(&str, usize),
) -> Result<(usize, usize), String> {
    let contacts = sizes.contacts;
    let world = RowWorld {
        rng: StdRng::seed_from_u64(seed),
        owners: vec![Id::new()],
        accounts: sizes.accounts.unwrap_or(contacts / 5).max(1),
        contacts,
        interactions: 0,
    };
    let (out, mut batches) = tokio::sync::mpsc::channel(2);
    let producer = std::thread::spawn(move || make_rows(world, out));
    let open = |name: &str| {
        let path = dir.join(name);
        csv::Writer::from_path(&path).map_err(|e| format!("{}: {e}", path.display()))
    };
    let mut accounts_csv = open("accounts.csv")?;
    let mut contacts_csv = open("contacts.csv")?;
    let io = |e: csv::Error| e.to_string();
    accounts_csv
        .write_record(["Name", "Kind", "Tax ID", "Industry", "Phone", "E-mail"])
        .map_err(io)?;
    contacts_csv
        .write_record([
            "First Name",
            "Last Name",
            "Mobile Phone",
            "E-mail Address",
            "Company",
            "Job Title",
            "Birthday",
        ])
        .map_err(io)?;
    let text = |f: &Map<String, serde_json::Value>, key: &str| -> String {
        f.get(key)
            .and_then(|v| v.as_str())
            .unwrap_or_default()
            .to_string()
    };
    let first = |f: &Map<String, serde_json::Value>, key: &str, inner: &str| -> String {
        f.get(key)
            .and_then(|v| v.get(0))
            .and_then(|v| v.get(inner))
            .and_then(|v| v.as_str())
            .unwrap_or_default()
            .to_string()
    };
    let mut names: std::collections::HashMap<Id, String> = std::collections::HashMap::new();
    let (mut n_accounts, mut n_contacts) = (0, 0);
    while let Some(batch) = batches.blocking_recv() {
        let (which, done, rows) = batch?;
        match which {
            Rows::Accounts => {
                for r in &rows {
                    let name = text(&r.fields, "name");
                    accounts_csv
                        .write_record([
                            name.clone(),
                            text(&r.fields, "kind"),
                            text(&r.fields, "tax_id"),
                            text(&r.fields, "industry"),
                            first(&r.fields, "phones", "number"),
                            first(&r.fields, "emails", "address"),
                        ])
                        .map_err(io)?;
                    names.insert(r.id, name);
                }
                n_accounts = done;
                progress("accounts", done);
            }
            Rows::Contacts => {
                for r in &rows {
                    let link = r.account_links.first();
                    contacts_csv
                        .write_record([
                            text(&r.fields, "first_name"),
                            text(&r.fields, "last_name"),
                            first(&r.fields, "phones", "number"),
                            first(&r.fields, "emails", "address"),
                            link.and_then(|l| names.get(&l.account_id))
                                .cloned()
                                .unwrap_or_default(),
                            link.and_then(|l| l.position.clone()).unwrap_or_default(),
                            text(&r.fields, "birthday"),
                        ])
                        .map_err(io)?;
                }
                n_contacts = done;
                progress("contacts", done);
            }
            Rows::Interactions => {}
        }
    }
    producer
        .join()
        .map_err(|_| "making rows failed".to_string())?
        .ok_or("the rows stopped short")?;
    accounts_csv.flush().map_err(|e| e.to_string())?;
    contacts_csv.flush().map_err(|e| e.to_string())?;
    Ok((n_accounts, n_contacts))
}

impl App {
    /// Writes generated rows, many statements per transaction.
    async fn write_batches(
        &self,
        def: &hamkor_domain::objects::ObjectDef,
        by: Id,
        rows: &[BatchRecord],
    ) -> AppResult<()> {
        for group in rows.chunks(ROWS_PER_TX) {
            let mut tx = self.db.begin().await?;
            insert_batch_staged(&mut tx, def, by, group).await?;
            tx.commit().await?;
        }
        Ok(())
    }

    /// Writes tasks or meetings (`def`) with their authors, calendar rows and reminders
    /// in one transaction, many rows per statement.
    async fn write_planned(&self, def: &ObjectDef, mut batch: PlannedBatch) -> AppResult<()> {
        // One statement writes one author's records: group them.
        batch.records.sort_by_key(|(author, _)| *author);
        let (authors, records): (Vec<Id>, Vec<BatchRecord>) = batch.records.into_iter().unzip();
        let mut tx = self.db.begin().await?;
        let mut from = 0;
        while from < records.len() {
            let author = authors[from];
            let mut to = from;
            while to < records.len() && authors[to] == author {
                to += 1;
            }
            insert_batch(&mut tx, def, author, &records[from..to]).await?;
            from = to;
        }
        let rows: Vec<Vec<Arg>> = batch
            .event_users
            .iter()
            .map(|(event, user, start, end)| {
                vec![
                    Arg::from(*event),
                    Arg::from(*user),
                    Arg::from(*start),
                    Arg::from(*end),
                ]
            })
            .collect();
        bulk::insert_rows(
            &mut tx,
            "event_users",
            &["event_id", "user_id", "starts_at", "ends_at"],
            &rows,
            "",
        )
        .await?;
        let us = |t: Option<Timestamp>| Arg::Int(t.map(hamkor_store::sales::micros));
        let rows: Vec<Vec<Arg>> = batch
            .deal_stages
            .iter()
            .map(|r| {
                vec![
                    Arg::from(Id::new()),
                    Arg::from(r.deal),
                    Arg::from(r.stage),
                    Arg::from(r.entered_at),
                    Arg::from(r.entered_by),
                    Arg::Ts(r.left.map(|l| l.0)),
                    Arg::Id(r.left.map(|l| l.1)),
                    us(Some(r.entered_at)),
                    us(r.left.map(|l| l.0)),
                    us(r.further_at),
                    Arg::Bool(Some(true)),
                    Arg::from(r.owner),
                    Arg::from(r.status),
                    Arg::Int(r.amount),
                    Arg::Text(r.currency.map(str::to_string)),
                ]
            })
            .collect();
        bulk::insert_rows(
            &mut tx,
            "deal_stages",
            &[
                "id",
                "deal_id",
                "stage_id",
                "entered_at",
                "entered_by",
                "left_at",
                "left_by",
                "entered_us",
                "left_us",
                "further_us",
                "live",
                "owner_id",
                "status",
                "amount",
                "currency",
            ],
            &rows,
            "",
        )
        .await?;
        let rows: Vec<Vec<Arg>> = batch
            .reminders
            .iter()
            .map(|r| {
                vec![
                    Arg::from(Id::new()),
                    Arg::from(r.key.clone()),
                    Arg::from(r.user),
                    Arg::from(r.object.as_str()),
                    Arg::from(r.record),
                    Arg::from(r.kind),
                    Arg::from(r.due),
                    Arg::from(r.title.clone()),
                    Arg::from(r.at),
                    Arg::Text(r.sent.then(|| "generator".to_string())),
                    Arg::Int(Some(i64::from(r.sent))),
                    Arg::Ts(r.sent.then_some(r.due)),
                ]
            })
            .collect();
        bulk::insert_rows(
            &mut tx,
            "reminders",
            &[
                "id",
                "key",
                "user_id",
                "object",
                "record_id",
                "kind",
                "due_at",
                "title",
                "at",
                "claimed_by",
                "attempts",
                "sent_at",
            ],
            &rows,
            "",
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Generates accounts, contacts and their interactions for `seed`. `progress` hears
    /// the number of records written so far.
    pub async fn generate(
        &self,
        sizes: Sizes,
        seed: u64,
        progress: impl FnMut(&str, usize),
    ) -> AppResult<Generated> {
        self.generate_with(sizes, &PlanningSizes::default(), seed, progress)
            .await
    }

    /// Like [`App::generate`], then the salespeople, tasks and meetings of `planning`.
    /// Tasks and meetings are written straight to their tables with their calendar rows
    /// and reminders, about 10,000 a transaction: a few seconds per 100,000 tasks.
    pub async fn generate_with(
        &self,
        sizes: Sizes,
        planning: &PlanningSizes,
        seed: u64,
        mut progress: impl FnMut(&str, usize),
    ) -> AppResult<Generated> {
        // The tables' indexes are built once at the end, from the whole tables; a run that
        // fails or dies half-way has them built by the next start (`hamkor_store::deferred`).
        hamkor_store::deferred::defer_indexes(&self.db, GENERATED_TABLES).await?;
        let generated = self
            .generate_rows(sizes, planning, seed, &mut progress)
            .await;
        progress("indexes", 0);
        hamkor_store::deferred::restore_deferred(&self.db).await?;
        generated
    }

    async fn generate_rows(
        &self,
        sizes: Sizes,
        planning: &PlanningSizes,
        seed: u64,
        mut progress: impl FnMut(&str, usize),
    ) -> AppResult<Generated> {
        let contacts = sizes.contacts;
        if hamkor_store::Exec::backend(&self.db) == hamkor_store::Backend::Sqlite {
            // A bulk load touches index pages all over the file: give this process's
            // writer a large page cache (256 MiB) so they are read once.
            let mut tx = self.db.begin().await?;
            hamkor_store::Exec::execute(
                &mut tx,
                &hamkor_store::Sql::new("PRAGMA cache_size = -262144"),
            )
            .await?;
            tx.commit().await?;
        }
        let rng = StdRng::seed_from_u64(seed);
        // Owners: two teams of salespeople with their heads, and an administrator.
        let mut owners = Vec::new();
        let admin = match self.user_by_email("generator@hamkor.local").await? {
            Some(u) => u,
            None => {
                self.create_user(
                    None,
                    UserRequest {
                        email: "generator@hamkor.local".into(),
                        name: "Generator".into(),
                        role: "administrator".into(),
                        team: None,
                        language: Some("en".into()),
                        password: None,
                    },
                )
                .await?
            }
        };
        let mut people: Vec<Person> = Vec::new();
        let salespeople = planning.salespeople.unwrap_or(2 * TEAM_SIZE).max(1);
        for k in 0..salespeople.div_ceil(TEAM_SIZE) {
            let team = TEAMS
                .get(k)
                .map_or_else(|| format!("Jamoa {}", k + 1), |t| t.to_string());
            let mut head = None;
            for i in 1..=TEAM_SIZE.min(salespeople - k * TEAM_SIZE) {
                let email = format!("{}.{i}@hamkor.local", team.to_lowercase().replace(' ', "-"));
                let role = if i == 1 { "head" } else { "sales" };
                let u = match self.user_by_email(&email).await? {
                    Some(u) => u,
                    None => {
                        self.create_user(
                            None,
                            UserRequest {
                                email,
                                name: format!("{team} {i}"),
                                role: role.into(),
                                team: Some(team.clone()),
                                language: Some("uz".into()),
                                password: None,
                            },
                        )
                        .await?
                    }
                };
                owners.push(u.id);
                let head = *head.get_or_insert(u.id);
                people.push(Person {
                    id: u.id,
                    team: u.team_id,
                    head,
                });
            }
        }
        let accounts = sizes.accounts.unwrap_or(contacts / 5).max(1);
        let interactions = sizes.interactions.unwrap_or(contacts * 5);
        // The rows are made on a thread of their own while the database writes the ones
        // before: making them is a third of the work.
        let (out, mut batches) = tokio::sync::mpsc::channel(2);
        let world = RowWorld {
            rng,
            owners: owners.clone(),
            accounts,
            contacts,
            interactions,
        };
        let producer = tokio::task::spawn_blocking(move || make_rows(world, out));
        while let Some(batch) = batches.recv().await {
            let (which, done, rows) = batch.map_err(AppError::Internal)?;
            let (def, what) = match which {
                Rows::Accounts => (&ACCOUNT, "accounts"),
                Rows::Contacts => (&CONTACT, "contacts"),
                Rows::Interactions => (&INTERACTION, "interactions"),
            };
            self.write_batches(def, admin.id, &rows).await?;
            progress(what, done);
        }
        let Some(made) = producer
            .await
            .map_err(|e| AppError::Internal(format!("making rows: {e}")))?
        else {
            return Err(AppError::Internal("the rows stopped short".into()));
        };
        let MadeRows {
            mut rng,
            account_ids,
            contact_of,
            busy,
        } = made;
        let mut generated = Generated {
            users: owners.len() + 1,
            accounts,
            contacts,
            interactions,
            busiest_account: (busy > 0).then(|| account_ids[0]),
            tasks: 0,
            events: 0,
            reminders: 0,
            busy_user: None,
            deals: 0,
            deal_stages: 0,
        };
        if planning.tasks > 0
            || planning.events > 0
            || planning.busy_user.is_some()
            || planning.deals > 0
        {
            let world = PlanningWorld {
                people: &people,
                accounts: &account_ids,
                contacts: &contact_of,
                tz: chrono_tz::Asia::Tashkent,
                now: Timestamp::now(),
                today: chrono::Utc::now()
                    .with_timezone(&chrono_tz::Asia::Tashkent)
                    .date_naive(),
            };
            self.generate_planning(&world, planning, &mut rng, &mut progress, &mut generated)
                .await?;
            if planning.deals > 0 {
                self.generate_deals(
                    &world,
                    planning.deals,
                    &mut rng,
                    &mut progress,
                    &mut generated,
                )
                .await?;
            }
        }
        Ok(generated)
    }

    /// The tasks and meetings of `planning`, then the busy user's.
    async fn generate_planning(
        &self,
        world: &PlanningWorld<'_>,
        planning: &PlanningSizes,
        rng: &mut StdRng,
        progress: &mut impl FnMut(&str, usize),
        generated: &mut Generated,
    ) -> AppResult<()> {
        let busy = match &planning.busy_user {
            None => None,
            Some(email) => {
                let u = self.user_by_email(email).await?.ok_or_else(|| {
                    AppError::Internal(format!(
                        "no user {email} for the busy user: name one of the generated \
                         salespeople, such as toshkent.2@hamkor.local"
                    ))
                })?;
                let head = world
                    .people
                    .iter()
                    .find(|p| p.id == u.id)
                    .map_or(u.id, |p| p.head);
                Some(Person {
                    id: u.id,
                    team: u.team_id,
                    head,
                })
            }
        };
        generated.busy_user = busy.map(|p| p.id);
        let people = world.people;
        // Tasks: the background, then the busy user's.
        let busy_tasks = if busy.is_some() {
            planning.busy_tasks
        } else {
            0
        };
        let total = planning.tasks + busy_tasks;
        let mut done = 0;
        while done < total {
            let n = ROWS_PER_TX.min(total - done);
            let mut batch = PlannedBatch::default();
            for k in done..done + n {
                match busy.filter(|_| k >= planning.tasks) {
                    Some(p) => {
                        let author = match rng.random_range(0..10) {
                            0 | 1 if p.head != p.id => p.head,
                            0 | 1 => world.other(rng, p.id).map_or(p.id, |o| o.id),
                            _ => p.id,
                        };
                        world.task(rng, &mut batch, p, author, ACTIVE_STATUS_WEIGHTS);
                    }
                    None => {
                        let p = people[rng.random_range(0..people.len())];
                        let author = match rng.random_range(0..20) {
                            0..=3 => p.head,
                            4..=6 => world.other(rng, p.id).map_or(p.id, |o| o.id),
                            _ => p.id,
                        };
                        world.task(rng, &mut batch, p, author, TASK_STATUS_WEIGHTS);
                    }
                }
            }
            generated.reminders += batch.reminders.len();
            self.write_planned(&TASK, batch).await?;
            done += n;
            progress("tasks", done);
        }
        generated.tasks = total;
        // Meetings: the background over this month and the next, then the busy user's
        // in this month, which they organise or are invited to.
        let this_month = month_start(world.today, 0);
        let two_months = (month_start(world.today, 2) - this_month).num_days();
        let one_month = (month_start(world.today, 1) - this_month).num_days();
        let busy_events = if busy.is_some() {
            planning.busy_events
        } else {
            0
        };
        let total = planning.events + busy_events;
        let mut done = 0;
        while done < total {
            let n = ROWS_PER_TX.min(total - done);
            let mut batch = PlannedBatch::default();
            for k in done..done + n {
                let (organiser, mut others, days) = match busy.filter(|_| k >= planning.events) {
                    Some(p) if rng.random_range(0..10) < 6 => (p.id, vec![], one_month),
                    Some(p) => {
                        let o = world.other(rng, p.id).map_or(p.id, |o| o.id);
                        let others = if o == p.id { vec![] } else { vec![p.id] };
                        (o, others, one_month)
                    }
                    None => (
                        people[rng.random_range(0..people.len())].id,
                        vec![],
                        two_months,
                    ),
                };
                // One to three people in all.
                let wanted = match rng.random_range(0..100) {
                    0..30 => 1,
                    30..75 => 2,
                    _ => 3,
                };
                for _ in 0..4 {
                    if others.len() + 1 >= wanted {
                        break;
                    }
                    if let Some(o) = world.other(rng, organiser)
                        && !others.contains(&o.id)
                    {
                        others.push(o.id);
                    }
                }
                world.meeting(rng, &mut batch, organiser, &others, this_month, days);
            }
            generated.reminders += batch.reminders.len();
            self.write_planned(&EVENT, batch).await?;
            done += n;
            progress("events", done);
        }
        generated.events = total;
        Ok(())
    }

    /// `n` deals over the active pipelines: seven in ten in the first, the rest spread
    /// over the others. When there is only one, the pipeline "Projects" is added first.
    async fn generate_deals(
        &self,
        world: &PlanningWorld<'_>,
        n: usize,
        rng: &mut StdRng,
        progress: &mut impl FnMut(&str, usize),
        generated: &mut Generated,
    ) -> AppResult<()> {
        let mut active: Vec<_> = self
            .pipelines()
            .await?
            .into_iter()
            .filter(|p| p.active && !p.stages.is_empty())
            .collect();
        if active.len() < 2 {
            let stages: Vec<(String, i64)> = PROJECT_STAGES
                .iter()
                .map(|(s, p)| (s.to_string(), *p))
                .collect();
            let mut tx = self.db.begin().await?;
            hamkor_store::sales::create_pipeline(&mut tx, PROJECTS, false, &stages).await?;
            tx.commit().await?;
            active = self
                .pipelines()
                .await?
                .into_iter()
                .filter(|p| p.active && !p.stages.is_empty())
                .collect();
        }
        let pipelines: Vec<DealPipeline> = active
            .iter()
            .map(|p| DealPipeline {
                id: p.id,
                stages: p.stages.iter().map(|s| (s.id, s.probability)).collect(),
            })
            .collect();
        let mut db = self.db.clone();
        let mut lost_reasons: Vec<String> =
            hamkor_store::picklists::values(&mut db, "lost_reasons")
                .await?
                .into_iter()
                .filter(|v| v.active)
                .map(|v| v.value)
                .collect();
        if lost_reasons.is_empty() {
            lost_reasons = LOST_REASONS.iter().map(|r| r.to_string()).collect();
        }
        let mut done = 0;
        while done < n {
            let k = ROWS_PER_TX.min(n - done);
            let mut batch = PlannedBatch::default();
            for _ in 0..k {
                let p = if pipelines.len() == 1 || rng.random_range(0..10) < 7 {
                    &pipelines[0]
                } else {
                    &pipelines[rng.random_range(1..pipelines.len())]
                };
                world.deal(rng, &mut batch, p, &lost_reasons);
            }
            generated.deal_stages += batch.deal_stages.len();
            self.write_planned(&DEAL, batch).await?;
            done += k;
            progress("deals", done);
        }
        generated.deals = n;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{fresh, remove};
    use hamkor_store::{Exec, Sql};

    #[test]
    fn month_start_crosses_years() {
        let d = |y, m, day| NaiveDate::from_ymd_opt(y, m, day).unwrap();
        assert_eq!(month_start(d(2026, 12, 31), 1), d(2027, 1, 1));
        assert_eq!(month_start(d(2026, 1, 15), -1), d(2025, 12, 1));
        assert_eq!(month_start(d(2026, 11, 28), 2), d(2027, 1, 1));
        assert_eq!(month_start(d(2026, 3, 31), 0), d(2026, 3, 1));
    }

    async fn count(app: &App, sql: &'static str, arg: Option<Id>) -> i64 {
        let mut db = app.db.clone();
        let mut q = Sql::new(sql);
        if let Some(a) = arg {
            q = q.arg(a);
        }
        db.fetch_optional(&q)
            .await
            .unwrap()
            .unwrap()
            .req_int("n")
            .unwrap()
    }

    /// Tasks and meetings land where the benchmarks look for them: the busy user's
    /// unfinished tasks and this month's meetings, a calendar row per participant, the
    /// reminders of what lies ahead; and without the new sizes nothing of the kind.
    #[tokio::test]
    async fn tasks_and_meetings_for_a_busy_user() {
        let path = std::env::temp_dir().join(format!("hamkor-generate-{}.db", Id::new()));
        let db = hamkor_store::Db::connect(&format!("sqlite://{}", path.display()))
            .await
            .unwrap();
        db.migrate().await.unwrap();
        let app = App::new(db.clone());
        let sizes = Sizes {
            contacts: 200,
            accounts: None,
            interactions: Some(0),
        };
        let plain = app.generate(sizes, 3, |_, _| {}).await.unwrap();
        assert_eq!((plain.tasks, plain.events, plain.reminders), (0, 0, 0));
        assert_eq!(
            count(&app, "SELECT COUNT(*) AS n FROM tasks", None).await,
            0
        );
        let planning = PlanningSizes {
            salespeople: Some(12),
            tasks: 1_500,
            events: 300,
            busy_user: Some("samarqand.3@hamkor.local".into()),
            busy_tasks: 400,
            busy_events: 120,
            deals: 0,
        };
        let g = app
            .generate_with(sizes, &planning, 3, |_, _| {})
            .await
            .unwrap();
        assert_eq!((g.users, g.tasks, g.events), (13, 1_900, 420));
        let busy = g.busy_user.unwrap();
        let active = count(
            &app,
            "SELECT COUNT(*) AS n FROM tasks WHERE owner_id = $1 \
             AND status IN ('open', 'in_progress', 'returned') AND deleted_at IS NULL",
            Some(busy),
        )
        .await;
        assert!(active >= 400, "{active}");
        let tz = chrono_tz::Asia::Tashkent;
        let today = chrono::Utc::now().with_timezone(&tz).date_naive();
        let (from, to) = (
            local_moment(tz, month_start(today, 0), 0, 0),
            local_moment(tz, month_start(today, 1), 0, 0),
        );
        let mut db2 = app.db.clone();
        let in_month = db2
            .fetch_optional(
                &Sql::new(
                    "SELECT COUNT(*) AS n FROM event_users WHERE user_id = $1 \
                     AND starts_at >= $2 AND starts_at < $3",
                )
                .arg(busy)
                .arg(from)
                .arg(to),
            )
            .await
            .unwrap()
            .unwrap()
            .req_int("n")
            .unwrap();
        assert!(in_month >= 120, "{in_month}");
        // Every meeting has its organiser and participants in `event_users`, no one else.
        let rows = count(&app, "SELECT COUNT(*) AS n FROM event_users", None).await;
        let people = count(
            &app,
            "SELECT SUM(1 + json_array_length(user_ids)) AS n FROM events",
            None,
        )
        .await;
        assert_eq!(rows, people);
        assert_eq!(
            count(
                &app,
                "SELECT COUNT(*) AS n FROM (SELECT event_id FROM event_users GROUP BY event_id \
                 HAVING COUNT(*) > 3)",
                None
            )
            .await,
            0
        );
        let pending = count(
            &app,
            "SELECT COUNT(*) AS n FROM reminders WHERE sent_at IS NULL",
            None,
        )
        .await;
        assert!(pending > 0 && pending < g.reminders as i64, "{pending}");
        db.close().await;
        let _ = std::fs::remove_file(&path);
    }
    /// What the deals generated for `seed` are, in the order they were written: title,
    /// status, amount, currency, probability, lost reason.
    async fn deal_facts(app: &App) -> Vec<String> {
        let mut db = app.db.clone();
        db.fetch_all(&Sql::new(
            "SELECT title, status, amount, currency, probability, lost_reason FROM deals ORDER BY rowid",
        ))
        .await
        .unwrap()
        .iter()
        .map(|r| {
            format!(
                "{} {} {:?} {:?} {:?} {:?}",
                r.req_text("title").unwrap(),
                r.req_text("status").unwrap(),
                r.int("amount").unwrap(),
                r.text("currency").unwrap(),
                r.int("probability").unwrap(),
                r.text("lost_reason").unwrap()
            )
        })
        .collect()
    }

    /// Deals spread over two pipelines with a consistent stage history: each went
    /// through its pipeline's stages in order from the first, each visit ends where the
    /// next begins, the stage it is at is its one open visit, and a closed deal closed
    /// after it got there (a lost one for a reason of the list). On both engines.
    #[tokio::test]
    async fn deals_with_their_stage_history() {
        let sizes = Sizes {
            contacts: 200,
            accounts: None,
            interactions: Some(0),
        };
        let planning = PlanningSizes {
            salespeople: Some(12),
            deals: 600,
            ..PlanningSizes::default()
        };
        for pg in [false, true] {
            let Some((db, url, admin)) = fresh(pg).await else {
                continue;
            };
            let app = App::new(db.clone());
            let g = app
                .generate_with(sizes, &planning, 5, |_, _| {})
                .await
                .unwrap();
            assert_eq!(g.deals, 600);
            assert_eq!(
                count(&app, "SELECT COUNT(*) AS n FROM deals", None).await,
                600
            );
            assert_eq!(
                count(&app, "SELECT COUNT(*) AS n FROM deal_stages", None).await,
                g.deal_stages as i64
            );
            assert!(g.deal_stages > 600, "{}", g.deal_stages);
            let pipelines = app.pipelines().await.unwrap();
            assert_eq!(pipelines.len(), 2);
            assert_eq!(pipelines[1].name, PROJECTS);
            let mut db2 = app.db.clone();
            let deals = db2
                .fetch_all(&Sql::new(
                    "SELECT d.id, d.pipeline_id, d.stage_id, d.status, d.closed_at, d.lost_reason, \
                     d.probability, d.stage_entered_at, d.created_at, d.created_by, d.owner_id, \
                     d.account_id, d.amount, d.currency, u.team_id FROM deals d JOIN users u ON u.id = d.owner_id",
                ))
                .await
                .unwrap();
            let history = db2
                .fetch_all(&Sql::new(
                    "SELECT h.deal_id, h.stage_id, s.pipeline_id, s.position, h.entered_at, \
                     h.entered_by, h.left_at, h.left_by, h.live, h.owner_id, h.status, h.amount, \
                     h.currency, h.entered_us, h.left_us, h.prev_entered_us, h.further_us FROM deal_stages h \
                     JOIN stages s ON s.id = h.stage_id ORDER BY h.deal_id, h.entered_at",
                ))
                .await
                .unwrap();
            let reasons: Vec<String> = hamkor_store::picklists::values(&mut db2, "lost_reasons")
                .await
                .unwrap()
                .into_iter()
                .map(|v| v.value)
                .collect();
            let mut by_deal: std::collections::HashMap<Id, Vec<&hamkor_store::Row>> =
                std::collections::HashMap::new();
            for h in &history {
                by_deal
                    .entry(h.req_id("deal_id").unwrap())
                    .or_default()
                    .push(h);
            }
            let mut per_pipeline = std::collections::HashMap::new();
            let mut statuses = std::collections::HashMap::new();
            for d in &deals {
                let id = d.req_id("id").unwrap();
                let pipeline = d.req_id("pipeline_id").unwrap();
                let status = d.req_text("status").unwrap();
                *per_pipeline.entry(pipeline).or_insert(0) += 1;
                *statuses.entry(status.clone()).or_insert(0) += 1;
                let visits = &by_deal[&id];
                for (i, v) in visits.iter().enumerate() {
                    // In pipeline order from the first stage, in the deal's pipeline.
                    assert_eq!(v.req_id("pipeline_id").unwrap(), pipeline);
                    assert_eq!(v.req_int("position").unwrap(), i as i64, "{id}");
                    let entered = v.req_ts("entered_at").unwrap();
                    // The deal's facts the funnel reads from its visits (migration 0022).
                    assert!(v.bool("live").unwrap());
                    assert_eq!(v.id("owner_id").unwrap(), d.id("owner_id").unwrap());
                    assert_eq!(v.text("status").unwrap(), Some(status.clone()));
                    assert_eq!(v.int("amount").unwrap(), d.int("amount").unwrap());
                    assert_eq!(v.text("currency").unwrap(), d.text("currency").unwrap());
                    assert_eq!(v.int("prev_entered_us").unwrap(), None);
                    let us = |t: Timestamp| Some(hamkor_store::sales::micros(t));
                    assert_eq!(v.int("entered_us").unwrap(), us(entered));
                    match v.ts("left_at").unwrap() {
                        Some(left) => {
                            assert!(entered <= left, "{id}");
                            let next = visits[i + 1];
                            assert_eq!(next.req_ts("entered_at").unwrap(), left);
                            assert_eq!(next.id("entered_by").unwrap(), v.id("left_by").unwrap());
                            assert_eq!(v.int("further_us").unwrap(), us(left));
                            assert_eq!(v.int("left_us").unwrap(), us(left));
                        }
                        // The open visit is the last, and the deal's stage.
                        None => {
                            assert_eq!(i + 1, visits.len(), "{id}");
                            assert_eq!(v.int("further_us").unwrap(), None);
                            assert_eq!(v.int("left_us").unwrap(), None);
                            assert_eq!(
                                v.req_id("stage_id").unwrap(),
                                d.req_id("stage_id").unwrap()
                            );
                            assert_eq!(Some(entered), d.ts("stage_entered_at").unwrap());
                        }
                    }
                }
                assert_eq!(
                    visits[0].req_ts("entered_at").unwrap(),
                    d.req_ts("created_at").unwrap()
                );
                assert_eq!(
                    visits[0].id("entered_by").unwrap(),
                    d.id("created_by").unwrap()
                );
                assert!(d.id("team_id").unwrap().is_some());
                let closed = d.ts("closed_at").unwrap();
                match status.as_str() {
                    "open" => assert!(closed.is_none() && d.text("lost_reason").unwrap().is_none()),
                    s => {
                        let c = closed.expect("a closed deal has closed_at");
                        assert!(c >= d.ts("stage_entered_at").unwrap().unwrap());
                        assert!(c <= Timestamp::now());
                        let reason = d.text("lost_reason").unwrap();
                        if s == "lost" {
                            assert!(reasons.contains(&reason.unwrap()));
                            assert_eq!(d.int("probability").unwrap(), Some(0));
                        } else {
                            assert_eq!(s, "won");
                            assert!(reason.is_none());
                            assert_eq!(d.int("probability").unwrap(), Some(100));
                        }
                    }
                }
            }
            assert_eq!(per_pipeline.len(), 2, "{per_pipeline:?}");
            assert_eq!(statuses.len(), 3, "{statuses:?}");
            let linked = count(
                &app,
                "SELECT COUNT(*) AS n FROM deals WHERE account_id IS NOT NULL",
                None,
            )
            .await;
            assert!(linked > 500, "{linked}");
            // The same seed gives the same deals.
            if !pg {
                let (db3, url3, _) = fresh(false).await.unwrap();
                let again = App::new(db3.clone());
                again
                    .generate_with(sizes, &planning, 5, |_, _| {})
                    .await
                    .unwrap();
                assert_eq!(deal_facts(&app).await, deal_facts(&again).await);
                remove(db3, &url3, "").await;
            }
            remove(db, &url, &admin).await;
        }
    }
}
