//! `hamkor generate`: a deterministic, realistic synthetic company for benchmarks and load
//! tests — sales teams, accounts and contacts with Uzbek and Russian names in Latin and
//! Cyrillic, phones in mixed formats, e-mails, and contacts linked to accounts. The same
//! seed and size always give the same data (ids aside, which are time-ordered).

use crate::users::UserRequest;
use crate::{App, AppError, AppResult};
use hamkor_domain::input::AccountLink;
use hamkor_domain::objects::{ACCOUNT, CONTACT};
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

/// What was generated.
pub struct Generated {
    pub users: usize,
    pub accounts: usize,
    pub contacts: usize,
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

impl App {
    /// Generates `contacts` contacts (and a fifth as many accounts) for `seed`.
    pub async fn generate(
        &self,
        contacts: usize,
        seed: u64,
        mut progress: impl FnMut(usize),
    ) -> AppResult<Generated> {
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
        let accounts = (contacts / 5).max(1);
        let start = chrono::Utc::now() - chrono::Duration::days(3 * 365);
        let mut account_ids: Vec<Id> = Vec::with_capacity(accounts);
        let batch = 400;
        let mut done = 0;
        while done < accounts {
            let n = batch.min(accounts - done);
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
            let mut tx = self.db.begin().await?;
            insert_batch(&mut tx, &ACCOUNT, admin.id, &rows).await?;
            tx.commit().await?;
            done += n;
        }
        let mut done = 0;
        while done < contacts {
            let n = batch.min(contacts - done);
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
                let account = account_ids[rng.random_range(0..account_ids.len())];
                let created = start + chrono::Duration::seconds((k as i64) * 40);
                rows.push(BatchRecord {
                    id: Id::new(),
                    fields: f,
                    owner_id: owners[rng.random_range(0..owners.len())],
                    created_at: Timestamp::from_datetime(created),
                    account_links: vec![AccountLink {
                        account_id: account,
                        position: Some(pick(&mut rng, POSITIONS).to_string()),
                    }],
                });
            }
            let mut tx = self.db.begin().await?;
            insert_batch(&mut tx, &CONTACT, admin.id, &rows).await?;
            tx.commit().await?;
            done += n;
            progress(done);
        }
        Ok(Generated {
            users: owners.len() + 1,
            accounts,
            contacts,
        })
    }
}
