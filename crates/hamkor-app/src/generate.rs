//! `hamkor generate`: a deterministic, realistic synthetic company for benchmarks and load
//! tests — sales teams, accounts and contacts with Uzbek and Russian names in Latin and
//! Cyrillic, phones in mixed formats, e-mails, and contacts linked to accounts. The same
//! seed and size always give the same data (ids aside, which are time-ordered).

use crate::users::UserRequest;
use crate::{App, AppError, AppResult};
use hamkor_domain::input::AccountLink;
use hamkor_domain::objects::{ACCOUNT, CONTACT, INTERACTION};
use hamkor_domain::phone::normalize_phone;
use hamkor_domain::{Id, Timestamp};
use hamkor_store::records::{BatchRecord, insert_batch};
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

/// What was generated.
pub struct Generated {
    pub users: usize,
    pub accounts: usize,
    pub contacts: usize,
    pub interactions: usize,
    /// The account with the longest history (for timeline benchmarks), if any.
    pub busiest_account: Option<Id>,
}

/// Rows per transaction, and rows per INSERT statement on each engine. SQLite's driver
/// looks up every parameter's name by a linear search over the statement's parameters,
/// so a statement with n parameters costs n² — small statements are much faster there.
const ROWS_PER_TX: usize = 10_000;
const SQLITE_ROWS_PER_INSERT: usize = 10;
const POSTGRES_ROWS_PER_INSERT: usize = 400;

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

impl App {
    /// Writes generated rows, many statements per transaction.
    async fn write_batches(
        &self,
        def: &hamkor_domain::objects::ObjectDef,
        by: Id,
        rows: &[BatchRecord],
    ) -> AppResult<()> {
        let per_insert = match hamkor_store::Exec::backend(&self.db) {
            hamkor_store::Backend::Sqlite => SQLITE_ROWS_PER_INSERT,
            hamkor_store::Backend::Postgres => POSTGRES_ROWS_PER_INSERT,
        };
        for group in rows.chunks(ROWS_PER_TX) {
            let mut tx = self.db.begin().await?;
            for chunk in group.chunks(per_insert) {
                insert_batch(&mut tx, def, by, chunk).await?;
            }
            tx.commit().await?;
        }
        Ok(())
    }

    /// Generates accounts, contacts and their interactions for `seed`. `progress` hears
    /// the number of records written so far.
    pub async fn generate(
        &self,
        sizes: Sizes,
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
        let mut rng = StdRng::seed_from_u64(seed);
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
        for team in ["Toshkent", "Samarqand"] {
            for i in 1..=5 {
                let email = format!("{}.{i}@hamkor.local", team.to_lowercase());
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
                                team: Some(team.into()),
                                language: Some("uz".into()),
                                password: None,
                            },
                        )
                        .await?
                    }
                };
                owners.push(u.id);
            }
        }
        let accounts = sizes.accounts.unwrap_or(contacts / 5).max(1);
        let interactions = sizes.interactions.unwrap_or(contacts * 5);
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
                let e164 = normalize_phone(&p, "998")
                    .map_err(|_| AppError::Internal(format!("generated phone {p}")))?;
                f.insert(
                    "phones".into(),
                    json!([{"number": p, "kind": "work", "e164": e164}]),
                );
                f.insert("emails".into(), json!([{"address": format!("info{k}@{}.uz", translit_ascii(pick(&mut rng, COMPANY_WORDS))), "kind": "work"}]));
                if k > 10 && rng.random_range(0..10) == 0 {
                    f.insert(
                        "parent_id".into(),
                        json!(
                            account_ids[rng.random_range(0..account_ids.len().min(k))].to_string()
                        ),
                    );
                }
                let created = start + chrono::Duration::minutes((k as i64) * 3);
                let id = Id::new();
                account_ids.push(id);
                rows.push(BatchRecord {
                    id,
                    fields: f,
                    owner_id: owners[rng.random_range(0..owners.len())],
                    created_at: Timestamp::from_datetime(created),
                    account_links: vec![],
                });
            }
            self.write_batches(&ACCOUNT, admin.id, &rows).await?;
            done += n;
            progress("accounts", done);
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
                let e164 = normalize_phone(&p, "998")
                    .map_err(|_| AppError::Internal(format!("generated phone {p}")))?;
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
                    fields: f,
                    owner_id: owners[rng.random_range(0..owners.len())],
                    created_at: Timestamp::from_datetime(created),
                    account_links: vec![AccountLink {
                        account_id: account,
                        position: Some(pick(&mut rng, POSITIONS).to_string()),
                    }],
                });
            }
            self.write_batches(&CONTACT, admin.id, &rows).await?;
            done += n;
            progress("contacts", done);
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
                    fields: f,
                    owner_id: owners[rng.random_range(0..owners.len())],
                    created_at: Timestamp::from_datetime(at),
                    account_links: vec![],
                });
            }
            self.write_batches(&INTERACTION, admin.id, &rows).await?;
            done += n;
            progress("interactions", done);
        }
        Ok(Generated {
            users: owners.len() + 1,
            accounts,
            contacts,
            interactions,
            busiest_account: (busy > 0).then(|| account_ids[0]),
        })
    }
}
