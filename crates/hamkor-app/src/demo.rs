//! The demo company: users of every role in two teams, clients written in Latin and
//! Cyrillic, contacts linked to them. `serve --demo` fills an empty database with it so
//! a newcomer sees a living CRM at once.

use crate::users::UserRequest;
use crate::{App, AppResult};
use hamkor_domain::Id;
use hamkor_store::{Actor, settings};
use serde_json::json;

/// A demo user's login.
pub struct DemoLogin {
    pub email: String,
    pub role: String,
}

/// What `serve --demo` prints: everyone's e-mail and the shared demo password.
pub struct DemoCredentials {
    pub logins: Vec<DemoLogin>,
    pub password: String,
}

const USERS: &[(&str, &str, &str, Option<&str>, &str)] = &[
    (
        "admin@demo.hamkor.uz",
        "Dilshod Karimov",
        "administrator",
        None,
        "uz",
    ),
    (
        "head@demo.hamkor.uz",
        "Nodira Rahimova",
        "head",
        Some("Toshkent"),
        "uz",
    ),
    (
        "aziz@demo.hamkor.uz",
        "Aziz Tursunov",
        "sales",
        Some("Toshkent"),
        "uz",
    ),
    (
        "malika@demo.hamkor.uz",
        "Malika Yusupova",
        "sales",
        Some("Toshkent"),
        "uz",
    ),
    (
        "ivan@demo.hamkor.uz",
        "Иван Петров",
        "sales",
        Some("Москва"),
        "ru",
    ),
    (
        "marketing@demo.hamkor.uz",
        "Sevara Aliyeva",
        "marketer",
        None,
        "uz",
    ),
    (
        "support@demo.hamkor.uz",
        "Олег Смирнов",
        "support",
        None,
        "ru",
    ),
    (
        "viewer@demo.hamkor.uz",
        "Jasur Nazarov",
        "read_only",
        None,
        "en",
    ),
];

/// (owner index into USERS, name, kind, tax id, phone, e-mail, industry, address)
/// A demo row: an owner or account index, then seven text columns.
type DemoRow = (
    usize,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
);

const ACCOUNTS: &[DemoRow] = &[
    (
        2,
        "Bahor Textile MChJ",
        "client",
        "305123456",
        "+998 71 200-10-10",
        "info@bahor.uz",
        "Textile",
        "Toshkent, Chilonzor tumani, 7",
    ),
    (
        2,
        "Samarqand Non",
        "client",
        "302987654",
        "90 111 22 33",
        "sales@samnon.uz",
        "Food",
        "Samarqand, Registon ko'chasi, 12",
    ),
    (
        2,
        "Ипак Йўли Савдо",
        "prospect",
        "306555111",
        "+998 93 555 11 22",
        "office@ipakyoli.uz",
        "Retail",
        "Тошкент, Юнусобод, 4",
    ),
    (
        3,
        "Farg'ona Agro",
        "client",
        "301222333",
        "(91) 333-44-55",
        "agro@fergana.uz",
        "Agriculture",
        "Farg'ona, Mustaqillik 1",
    ),
    (
        3,
        "Toshkent Qurilish Invest",
        "prospect",
        "307111222",
        "+998 97 700 00 77",
        "invest@tqi.uz",
        "Construction",
        "Toshkent, Mirobod, 22",
    ),
    (
        3,
        "Navoiy Kon Servis",
        "partner",
        "308444555",
        "+998 79 223 45 67",
        "service@navoiykon.uz",
        "Mining",
        "Navoiy, Galaba 9",
    ),
    (
        4,
        "ООО «Северный Ветер»",
        "client",
        "7707083893",
        "+7 (495) 123-45-67",
        "info@sever-veter.ru",
        "Logistics",
        "Москва, ул. Тверская, 10",
    ),
    (
        4,
        "АО Уральские Станки",
        "prospect",
        "6661234560",
        "+7 343 200 30 40",
        "zakaz@uralstanki.ru",
        "Machinery",
        "Екатеринбург, пр. Ленина, 50",
    ),
    (
        4,
        "ИП Кузнецова Мария",
        "client",
        "500100732259",
        "+7 916 555 12 12",
        "maria.k@mail.ru",
        "Retail",
        "Подольск, ул. Садовая, 3",
    ),
    (
        1,
        "Buxoro Tilla",
        "client",
        "309876543",
        "+998 65 221 11 11",
        "gold@buxorotilla.uz",
        "Jewellery",
        "Buxoro, Naqshband 15",
    ),
    (
        5,
        "Media Plus Agency",
        "partner",
        "304567890",
        "+998 90 909 09 09",
        "hello@mediaplus.uz",
        "Advertising",
        "Toshkent, Shayxontohur 3",
    ),
    (0, "Raqobat Soft", "competitor", "", "", "", "Software", ""),
    (
        0,
        "Xorazm Paxta Supply",
        "supplier",
        "303030303",
        "+998 62 224 00 00",
        "supply@xorazmpaxta.uz",
        "Cotton",
        "Urganch, Al-Xorazmiy 20",
    ),
];

/// (account index, first, middle, last, position, phone, e-mail, birthday)
const CONTACTS: &[DemoRow] = &[
    (
        0,
        "Rustam",
        "",
        "Ismoilov",
        "Direktor",
        "+998 90 123 45 67",
        "r.ismoilov@bahor.uz",
        "1978-03-14",
    ),
    (
        0,
        "Gulnora",
        "",
        "Saidova",
        "Bosh hisobchi",
        "+998 91 765 43 21",
        "g.saidova@bahor.uz",
        "1985-09-02",
    ),
    (
        1,
        "Otabek",
        "",
        "Umarov",
        "Ta'minot bo'limi boshlig'i",
        "93 222 33 44",
        "otabek@samnon.uz",
        "1990-11-20",
    ),
    (
        2,
        "Шерзод",
        "",
        "Холматов",
        "Директор",
        "+998 94 100 20 30",
        "sherzod@ipakyoli.uz",
        "1982-06-08",
    ),
    (
        3,
        "Ulug'bek",
        "",
        "G'ulomov",
        "Agronom",
        "+998 99 876 54 32",
        "ulugbek@fergana.uz",
        "",
    ),
    (
        4,
        "Kamola",
        "",
        "Mirzayeva",
        "Moliya direktori",
        "+998 97 111 22 33",
        "kamola@tqi.uz",
        "1988-01-30",
    ),
    (
        5,
        "Bobur",
        "",
        "Xolmatov",
        "Texnik direktor",
        "+998 79 555 66 77",
        "bobur@navoiykon.uz",
        "",
    ),
    (
        6,
        "Алексей",
        "Сергеевич",
        "Иванов",
        "Генеральный директор",
        "+7 495 765 43 21",
        "a.ivanov@sever-veter.ru",
        "1975-12-01",
    ),
    (
        6,
        "Ольга",
        "Николаевна",
        "Соколова",
        "Менеджер по закупкам",
        "+7 926 111 22 33",
        "o.sokolova@sever-veter.ru",
        "1991-04-17",
    ),
    (
        7,
        "Дмитрий",
        "Павлович",
        "Журавлёв",
        "Главный инженер",
        "+7 343 200 30 41",
        "zhuravlev@uralstanki.ru",
        "",
    ),
    (
        8,
        "Мария",
        "Ивановна",
        "Кузнецова",
        "Владелец",
        "+7 916 555 12 12",
        "maria.k@mail.ru",
        "1980-07-25",
    ),
    (
        9,
        "Farrux",
        "",
        "Nazarov",
        "Sotuv menejeri",
        "+998 65 221 11 12",
        "farrux@buxorotilla.uz",
        "",
    ),
    (
        10,
        "Dilnoza",
        "",
        "Qodirova",
        "Account manager",
        "+998 90 909 09 10",
        "dilnoza@mediaplus.uz",
        "1993-02-11",
    ),
    (
        12,
        "Sardor",
        "",
        "Yo'ldoshev",
        "Logist",
        "+998 62 224 00 01",
        "sardor@xorazmpaxta.uz",
        "",
    ),
];

impl App {
    /// Fills an empty database with the demo company and returns the logins.
    /// On a database that already has the demo, returns its logins again.
    pub async fn ensure_demo(&self) -> AppResult<Option<DemoCredentials>> {
        let mut db = self.db.clone();
        if let Some(password) = settings::get(&mut db, "demo_password").await? {
            return Ok(Some(credentials(password)));
        }
        if !self.is_empty().await? {
            return Ok(None);
        }
        let password = format!("demo-{}", &crate::auth::random_secret()[..10]);
        let mut ids = Vec::new();
        for (email, name, role, team, lang) in USERS {
            let team = match team {
                Some(t) => Some(self.ensure_team(t).await?.name),
                None => None,
            };
            let user = self
                .create_user(
                    None,
                    UserRequest {
                        email: email.to_string(),
                        name: name.to_string(),
                        role: role.to_string(),
                        team,
                        language: Some(lang.to_string()),
                        password: Some(password.clone()),
                    },
                )
                .await?;
            ids.push(user);
        }
        let mut actors = Vec::new();
        for u in &ids {
            actors.push(self.actor(u).await?);
        }
        let admin = &actors[0];
        let mut account_ids = Vec::new();
        for (owner, name, kind, tax, phone, email, industry, address) in ACCOUNTS {
            let mut body = json!({"name": name, "kind": kind, "industry": industry, "owner_id": ids[*owner].id.to_string()});
            if !tax.is_empty() {
                body["tax_id"] = json!(tax);
            }
            if !phone.is_empty() {
                body["phones"] = json!([{"number": phone, "kind": "work"}]);
            }
            if !email.is_empty() {
                body["emails"] = json!([{"address": email, "kind": "work"}]);
            }
            if !address.is_empty() {
                body["addresses"] = json!([{"address": address, "kind": "legal"}]);
            }
            let rec = self
                .create_record(admin, &hamkor_domain::objects::ACCOUNT, &body)
                .await?;
            account_ids.push((rec.id, *owner));
        }
        let mut contact_ids = Vec::new();
        for (acc, first, middle, last, position, phone, email, birthday) in CONTACTS {
            let (account_id, owner) = account_ids[*acc];
            let mut body = json!({
                "first_name": first, "last_name": last,
                "phones": [{"number": phone, "kind": "mobile"}],
                "emails": [{"address": email, "kind": "work"}],
                "accounts": [{"account_id": account_id.to_string(), "position": position}],
                "owner_id": ids[owner].id.to_string(),
            });
            if !middle.is_empty() {
                body["middle_name"] = json!(middle);
            }
            if !birthday.is_empty() {
                body["birthday"] = json!(birthday);
            }
            let rec = self
                .create_record(admin, &hamkor_domain::objects::CONTACT, &body)
                .await?;
            contact_ids.push(rec.id);
        }
        // A few weeks of history on the first clients, logged by their owners.
        for (acc, contact, kind, days_ago, subject, body) in INTERACTIONS {
            let (account_id, owner) = account_ids[*acc];
            let at = hamkor_domain::Timestamp::from_datetime(
                chrono::Utc::now() - chrono::Duration::hours(i64::from(*days_ago) * 24 + 3),
            );
            let mut body = json!({"kind": kind, "account_id": account_id.to_string(),
                "subject": subject, "body": body, "occurred_at": at.to_rfc3339(),
                "owner_id": ids[owner].id.to_string()});
            if let Some(c) = contact {
                body["contact_id"] = json!(contact_ids[*c].to_string());
            }
            if *kind == "call" {
                body["direction"] = json!("outgoing");
                body["result"] = json!("reached");
                body["duration"] = json!(60 + days_ago * 37 % 400);
            }
            self.create_record(admin, &hamkor_domain::objects::INTERACTION, &body)
                .await?;
        }
        // Interests from the managed list, and what the first clients need.
        for value in [
            "Paxta mato",
            "Ip-kalava",
            "Qadoqlash",
            "Логистика",
            "Оборудование",
        ] {
            self.add_picklist_value(admin, "interests", value).await?;
        }
        for (acc, interests) in [
            (0, &["Paxta mato", "Ip-kalava"][..]),
            (1, &["Qadoqlash"][..]),
            (2, &["Логистика", "Оборудование"][..]),
        ] {
            let (account_id, _) = account_ids[acc];
            self.update_record(
                admin,
                &hamkor_domain::objects::ACCOUNT,
                account_id,
                &json!({ "interests": interests }),
                None,
            )
            .await?;
        }
        for (acc, title, budget, currency, status, days) in [
            (
                0,
                "Cotton fabric, 2,000 m a month",
                "18000.00",
                "USD",
                "open",
                45,
            ),
            (
                0,
                "Dyeing of finished fabric",
                "95000000.00",
                "UZS",
                "in_progress",
                20,
            ),
            (
                1,
                "Printed boxes for bread, 10,000 a month",
                "42000000.00",
                "UZS",
                "open",
                30,
            ),
        ] {
            let (account_id, owner) = account_ids[acc];
            let needed_by = (chrono::Utc::now() + chrono::Duration::days(days))
                .format("%Y-%m-%d")
                .to_string();
            self.create_record(
                admin,
                &hamkor_domain::objects::NEED,
                &json!({"title": title, "account_id": account_id.to_string(), "budget": budget,
                    "currency": currency, "status": status, "needed_by": needed_by,
                    "owner_id": ids[owner].id.to_string()}),
            )
            .await?;
        }
        self.demo_planning(&ids, &actors, &account_ids).await?;
        self.demo_deals(&actors, &account_ids).await?;
        self.demo_leads_and_documents(&actors, &account_ids).await?;
        let mut tx = self.db.begin().await?;
        settings::set(&mut tx, "demo_password", &password).await?;
        tx.commit().await?;
        Ok(Some(credentials(password)))
    }
}

impl App {
    /// Deals of the demo company at every stage of the default pipeline, one won and one
    /// lost, with a script on the first stage.
    async fn demo_deals(&self, actors: &[Actor], accounts: &[(Id, usize)]) -> AppResult<()> {
        use hamkor_domain::objects::DEAL;
        let pipeline = self.pipelines().await?.into_iter().find(|p| p.active);
        let Some(pipeline) = pipeline else {
            return Ok(());
        };
        let stage = |i: usize| pipeline.stages.get(i).map(|s| s.id.to_string());
        if let Some(first) = pipeline.stages.first() {
            self.set_stage_script(
                &actors[0],
                first.id,
                Some("Salom! Introduce yourself, ask what they buy today and who decides."),
                &[
                    crate::sales::StepRequest {
                        text: "Find the decision maker".into(),
                        required: true,
                        ..Default::default()
                    },
                    crate::sales::StepRequest {
                        text: "Send the company profile".into(),
                        task_days: Some(1),
                        ..Default::default()
                    },
                ],
            )
            .await?;
        }
        let deals: &[DemoDeal] = &[
            (
                0,
                "Cotton fabric, 2027 contract",
                "1800000000",
                "UZS",
                2,
                40,
                None,
            ),
            (0, "Dyeing service", "95000000", "UZS", 0, 60, None),
            (
                1,
                "Bread boxes, 10,000 a month",
                "42000000",
                "UZS",
                3,
                20,
                None,
            ),
            (2, "Поставка в Ташкент", "15000", "USD", 1, 30, None),
            (3, "Irrigation equipment", "250000000", "UZS", 4, 10, None),
            (4, "Office fit-out", "38000", "USD", 1, 90, Some("won")),
            (
                5,
                "Spare parts tender",
                "120000000",
                "UZS",
                2,
                15,
                Some("lost"),
            ),
            (6, "Станки, первая партия", "4500000", "RUB", 0, 45, None),
        ];
        for (acc, title, amount, currency, st, days, end) in deals {
            let (account, owner) = accounts[*acc];
            let close = (chrono::Utc::now() + chrono::Duration::days(*days))
                .format("%Y-%m-%d")
                .to_string();
            let d = self
                .create_record(
                    &actors[owner],
                    &DEAL,
                    &json!({"title": title, "account_id": account.to_string(), "amount": amount,
                        "currency": currency, "expected_close": close}),
                )
                .await?;
            if *st > 0 {
                // The demo skips the first stage's steps as a manager who ticked them would.
                if let Ok(script) = self.deal_script(&actors[owner], d.id).await {
                    for (step, _) in script.steps {
                        self.set_deal_step(&actors[owner], d.id, step.id, true)
                            .await?;
                    }
                }
                self.update_record(
                    &actors[owner],
                    &DEAL,
                    d.id,
                    &json!({"stage_id": stage(*st)}),
                    None,
                )
                .await?;
            }
            match end {
                Some("won") => {
                    self.update_record(
                        &actors[owner],
                        &DEAL,
                        d.id,
                        &json!({"status": "won"}),
                        None,
                    )
                    .await?;
                }
                Some(_) => {
                    self.update_record(
                        &actors[owner],
                        &DEAL,
                        d.id,
                        &json!({"status": "lost", "lost_reason": "Chose a competitor"}),
                        None,
                    )
                    .await?;
                }
                None => {}
            }
        }
        Ok(())
    }
}

impl App {
    /// Leads in every status (one from the site's form), the web form and its rule, the
    /// company's document details, and a quote and a part-paid invoice for a demo deal.
    async fn demo_leads_and_documents(
        &self,
        actors: &[Actor],
        accounts: &[(Id, usize)],
    ) -> AppResult<()> {
        use hamkor_domain::objects::{DEAL, LEAD};
        let admin = &actors[0];
        let owner_of = |i: usize| actors[accounts[i % accounts.len()].1].clone();
        let form = self
            .create_web_form(
                admin,
                &json!({"name": "Website: contact us", "fields": ["first_name", "company", "phones", "emails", "interest"],
                        "required": ["phones"], "campaign": "Autumn 2026", "owner_id": owner_of(0).user_id.to_string()}),
            )
            .await?;
        let leads: &[(&str, &str, &str, &str, &str, &str)] = &[
            (
                "Jasur",
                "Toshmatov",
                "Navbahor Mebel",
                "+998 90 321 45 67",
                "website",
                "new",
            ),
            (
                "Ольга",
                "Ким",
                "ООО «Восток Трейд»",
                "+998 71 200 10 20",
                "exhibition",
                "contacted",
            ),
            (
                "Malika",
                "Rahimova",
                "Samarqand Ipak",
                "+998 66 233 44 55",
                "referral",
                "qualified",
            ),
            (
                "Bekzod",
                "Aliyev",
                "",
                "+998 93 555 12 12",
                "cold_call",
                "unqualified",
            ),
        ];
        for (i, (first, last, company, phone, source, status)) in leads.iter().enumerate() {
            let mut body = json!({"first_name": first, "last_name": last, "company": company,
                "phones": [{"number": phone}], "source": source, "status": status,
                "owner_id": owner_of(i).user_id.to_string(), "interest": "Prices for 2027"});
            if *status == "unqualified" {
                body["status_reason"] = json!("Only wanted a price list");
            }
            self.create_record(admin, &LEAD, &body).await?;
        }
        let ip = "192.0.2.10";
        self.submit_web_form(
            &form.token,
            ip,
            &[
                ("first_name".into(), "Nodira".into()),
                ("company".into(), "Farg'ona Agro".into()),
                ("phones".into(), "+998 73 244 00 11".into()),
                ("interest".into(), "Drip irrigation for 20 ha".into()),
            ],
        )
        .await?;
        let mut settings = self.document_settings().await?;
        settings.company = "Hamkor Demo MChJ".into();
        settings.details = "STIR 301 234 567\nToshkent sh., Amir Temur ko'chasi, 1\nH/r 2020 8000 1234 5678 9001, \"Kapitalbank\" ATB, MFO 01018\n+998 71 200 00 00".into();
        settings.footer = "{company.name} · {document.number} · Rahmat! Спасибо! Thank you!".into();
        self.set_document_settings(admin, settings, false, |_| Ok(()))
            .await?;
        // A quote and an invoice for the first open deal with a client.
        let params = vec![("status".to_string(), "open".to_string())];
        let deals = self.list_records(admin, &DEAL, &params).await?;
        let Some(deal) = deals
            .items
            .iter()
            .find(|d| d.fields.get("account_id").is_some_and(|a| !a.is_null()))
        else {
            return Ok(());
        };
        self.set_deal_lines(
            admin,
            deal.id,
            false,
            &[
                crate::sales::LineRequest {
                    name: Some("Cotton fabric, 150 g/m², roll 100 m".into()),
                    quantity: "40".into(),
                    unit: Some("pcs".into()),
                    unit_price: Some("3850000".into()),
                    vat_rate: Some("12".into()),
                    ..Default::default()
                },
                crate::sales::LineRequest {
                    name: Some("Delivery to Chirchiq".into()),
                    quantity: "1".into(),
                    unit_price: Some("1200000".into()),
                    discount: Some("10%".into()),
                    vat_rate: Some("12".into()),
                    ..Default::default()
                },
            ],
        )
        .await?;
        self.document_from_deal(admin, deal.id, "quote").await?;
        let invoice = self.document_from_deal(admin, deal.id, "invoice").await?;
        self.update_record(
            admin,
            &hamkor_domain::objects::DOCUMENT,
            invoice.id,
            &json!({"status": "issued"}),
            None,
        )
        .await?;
        self.add_movement(
            admin,
            hamkor_store::documents::MovementKind::Payment,
            invoice.id,
            &json!({"amount": "50000000", "method": "bank", "reference": "PP 118"}),
        )
        .await?;
        Ok(())
    }
}

/// (account, title, amount, currency, stage, days to close, won or lost) of a demo deal.
type DemoDeal = (
    usize,
    &'static str,
    &'static str,
    &'static str,
    usize,
    i64,
    Option<&'static str>,
);

/// (author, assignee, title, hours to the deadline, priority, account) of a demo task.
type DemoTask = (usize, usize, &'static str, i64, &'static str, Option<usize>);
/// A moment of a demo meeting: (days from today, hour, minute) in Tashkent.
type DemoAt = (i64, u32, u32);
/// (organiser, title, start, end, place, other participants, account) of a demo meeting.
type DemoMeeting = (
    usize,
    &'static str,
    DemoAt,
    DemoAt,
    &'static str,
    Vec<usize>,
    Option<usize>,
);

impl App {
    /// Tasks (some late, some waiting for acceptance, one repeating) and meetings (two of
    /// them overlapping) of the demo company, so "my day" and the calendar are alive.
    async fn demo_planning(
        &self,
        users: &[hamkor_store::users::User],
        actors: &[Actor],
        accounts: &[(Id, usize)],
    ) -> AppResult<()> {
        use hamkor_domain::objects::{EVENT, TASK};
        let at = |hours: i64| (chrono::Utc::now() + chrono::Duration::hours(hours)).to_rfc3339();
        let (head, aziz, malika, ivan) = (1, 2, 3, 4);
        let tasks: &[DemoTask] = &[
            (
                head,
                aziz,
                "Send the 2027 price list to Bahor Textile",
                3,
                "high",
                Some(0),
            ),
            (
                aziz,
                aziz,
                "Call back about the 5% discount",
                26,
                "normal",
                Some(0),
            ),
            (
                head,
                malika,
                "Prepare the packaging offer",
                50,
                "urgent",
                Some(1),
            ),
            (
                malika,
                malika,
                "Check Farg'ona Agro's payment",
                5,
                "normal",
                Some(3),
            ),
            (head, ivan, "Согласовать сроки поставки", 30, "normal", None),
            (
                ivan,
                ivan,
                "Отправить договор на подпись",
                120,
                "low",
                Some(6),
            ),
            (
                head,
                aziz,
                "Visit the exhibition stand",
                170,
                "normal",
                None,
            ),
        ];
        let mut created = Vec::new();
        for (author, assignee, title, hours, priority, account) in tasks {
            let mut body = json!({"title": title, "assignee_id": users[*assignee].id.to_string(),
                "due_at": at(*hours), "priority": priority});
            if let Some(a) = account {
                body["related"] = json!({"type": "account", "id": accounts[*a].0.to_string()});
            }
            created.push(self.create_record(&actors[*author], &TASK, &body).await?);
        }
        // A checklist and a weekly report that repeats.
        self.update_record(
            &actors[head],
            &TASK,
            created[2].id,
            &json!({"checklist": [{"text": "Sizes and print", "done": true}, "Price for 10,000 boxes", "Delivery terms"]}),
            None,
        )
        .await?;
        self.create_record(
            &actors[head],
            &TASK,
            &json!({"title": "Weekly sales report", "due_at": at(72), "recurrence": {"every": "week"}}),
        )
        .await?;
        // Malika has done one for her head, who has yet to accept it; a late one.
        self.set_task_status(&actors[malika], created[2].id, "done", None, None)
            .await?;
        let late = (chrono::Utc::now() - chrono::Duration::minutes(3)).to_rfc3339();
        self.create_record(
            &actors[aziz],
            &TASK,
            &json!({"title": "Confirm tomorrow's visit", "due_at": late, "priority": "high"}),
        )
        .await?;
        // Meetings: today, tomorrow (two overlap), and a team meeting next week.
        let day = |d: i64, h: u32, m: u32| {
            let date = (chrono::Utc::now() + chrono::Duration::days(d)).date_naive();
            format!("{}T{h:02}:{m:02}:00+05:00", date.format("%Y-%m-%d"))
        };
        let meetings: &[DemoMeeting] = &[
            (
                aziz,
                "Meeting at Bahor Textile",
                (1, 10, 0),
                (1, 11, 30),
                "Chilonzor, 7",
                vec![head],
                Some(0),
            ),
            (
                aziz,
                "Call with the bank",
                (1, 11, 0),
                (1, 11, 30),
                "",
                vec![],
                None,
            ),
            (
                malika,
                "Visit to Farg'ona Agro",
                (2, 15, 0),
                (2, 16, 0),
                "Farg'ona, Mustaqillik 1",
                vec![],
                Some(3),
            ),
            (
                head,
                "Sales team meeting",
                (7, 9, 0),
                (7, 10, 0),
                "Office, room 2",
                vec![aziz, malika],
                None,
            ),
            (
                ivan,
                "Встреча с логистами",
                (3, 14, 0),
                (3, 15, 0),
                "Москва, офис",
                vec![],
                Some(6),
            ),
        ];
        for (owner, title, s, e, place, with, account) in meetings {
            let mut body = json!({"title": title, "starts_at": day(s.0, s.1, s.2), "ends_at": day(e.0, e.1, e.2),
                "user_ids": with.iter().map(|u| users[*u].id.to_string()).collect::<Vec<_>>()});
            if !place.is_empty() {
                body["location"] = json!(place);
            }
            if let Some(a) = account {
                body["related"] = json!({"type": "account", "id": accounts[*a].0.to_string()});
            }
            self.create_record(&actors[*owner], &EVENT, &body).await?;
        }
        Ok(())
    }
}

/// (account, contact, kind, days ago, subject, text) of the demo history.
type DemoInteraction = (
    usize,
    Option<usize>,
    &'static str,
    u32,
    &'static str,
    &'static str,
);

const INTERACTIONS: &[DemoInteraction] = &[
    (
        0,
        Some(0),
        "call",
        21,
        "First call",
        "Interested in 2,000 m of cotton fabric per month.",
    ),
    (
        0,
        Some(0),
        "meeting",
        14,
        "Meeting at the factory",
        "Showed samples; they want a price for 6 months.",
    ),
    (
        0,
        None,
        "email",
        10,
        "Price list sent",
        "Sent the 2027 price list and delivery terms.",
    ),
    (
        0,
        Some(1),
        "call",
        3,
        "Follow-up on the price",
        "Asks for a 5% discount for prepayment.",
    ),
    (
        0,
        None,
        "note",
        1,
        "Decision next week",
        "The director decides after the board meeting.",
    ),
    (
        1,
        None,
        "visit",
        7,
        "Visit to the bakery",
        "Met the owner, tasted the products, discussed packaging.",
    ),
    (
        1,
        None,
        "call",
        2,
        "Packaging order",
        "Wants 10,000 boxes by the end of the month.",
    ),
    (
        2,
        None,
        "call",
        5,
        "Звонок по поставке",
        "Обсудили сроки поставки в Ташкент.",
    ),
    (
        2,
        None,
        "letter",
        4,
        "Коммерческое предложение",
        "Отправили КП на 3 позиции.",
    ),
];

fn credentials(password: String) -> DemoCredentials {
    DemoCredentials {
        logins: USERS
            .iter()
            .map(|(e, _, r, _, _)| DemoLogin {
                email: e.to_string(),
                role: r.to_string(),
            })
            .collect(),
        password,
    }
}
