//! Duplicate detection, without IO. A record (account or contact) is reduced to a
//! [`Profile`] of normalised values: phones in E.164, e-mails in a canonical form (Gmail's
//! dots and `+tags` dropped), names folded across Cyrillic and Latin with word order and
//! (for companies) legal forms removed, tax ids as digits. A profile gives **blocking
//! keys**: two records are compared only when they share one, so a check reads a handful
//! of index entries instead of the whole base. [`score`] then says how alike two profiles
//! are and why ("same phone", "name 94% similar").

use crate::access::ObjectType;
use crate::names::fold;
use crate::objects::FieldKind;
use crate::phone::normalize_phone;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// What a blocking key is made of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyKind {
    Phone,
    Email,
    TaxId,
    /// The normalised name, exactly.
    Name,
    /// A rough sound of the name (vowels and doubled letters dropped, near letters
    /// merged), so names a typo apart still meet and are then scored.
    Sound,
}

impl KeyKind {
    pub const ALL: [KeyKind; 5] = [
        KeyKind::Phone,
        KeyKind::Email,
        KeyKind::TaxId,
        KeyKind::Name,
        KeyKind::Sound,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            KeyKind::Phone => "phone",
            KeyKind::Email => "email",
            KeyKind::TaxId => "tax_id",
            KeyKind::Name => "name",
            KeyKind::Sound => "sound",
        }
    }
    /// The first characters of every key of this kind: keys of different kinds never
    /// collide, so one index on the key serves every kind.
    fn prefix(self) -> &'static str {
        match self {
            KeyKind::Phone => "p:",
            KeyKind::Email => "e:",
            KeyKind::TaxId => "t:",
            KeyKind::Name => "n:",
            KeyKind::Sound => "s:",
        }
    }
    /// Identifies keys (names and sounds) so common that they say little.
    pub fn is_name(self) -> bool {
        matches!(self, KeyKind::Name | KeyKind::Sound)
    }
    /// The kind of a stored key.
    pub fn of_key(key: &str) -> Option<KeyKind> {
        KeyKind::ALL
            .into_iter()
            .find(|k| key.starts_with(k.prefix()))
    }
}

/// One blocking key of a record.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Key {
    pub kind: KeyKind,
    /// The kind's prefix and the normalised value (`p:998901234567`).
    pub key: String,
}

impl Key {
    fn new(kind: KeyKind, value: &str) -> Key {
        Key {
            kind,
            key: format!("{}{value}", kind.prefix()),
        }
    }
}

/// An e-mail address in the form two spellings of one mailbox share: lower-cased, and
/// for Gmail without the dots and the `+tag` of the local part (`googlemail.com` is
/// `gmail.com`). `None` for what is not an address.
pub fn canonical_email(address: &str) -> Option<String> {
    let a = address.trim().to_lowercase();
    let (local, domain) = a.rsplit_once('@')?;
    if local.is_empty() || domain.is_empty() {
        return None;
    }
    if domain == "gmail.com" || domain == "googlemail.com" {
        let local = local.split('+').next().unwrap_or("").replace('.', "");
        if local.is_empty() {
            return None;
        }
        return Some(format!("{local}@gmail.com"));
    }
    Some(format!("{local}@{domain}"))
}

/// Field kinds a merge can take from every record at once ([`combine_lists`]).
pub fn combinable(kind: FieldKind) -> bool {
    matches!(
        kind,
        FieldKind::Phones
            | FieldKind::Emails
            | FieldKind::Addresses
            | FieldKind::Messengers
            | FieldKind::Tags
    )
}

/// Several records' lists of one [`combinable`] kind as one list, for a merge: the first
/// list's entries, then each other entry that names something not yet listed (the same
/// number in another format, the same mailbox in another spelling, the same handle or tag
/// in other letter case is listed once, as first seen). An empty result is `Null`, as an
/// empty list is stored; `None` for a kind that is not such a list.
pub fn combine_lists(kind: FieldKind, lists: &[&Value], default_cc: &str) -> Option<Value> {
    if !combinable(kind) {
        return None;
    }
    let text = |item: &Value, key: &str| -> String {
        item.get(key)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .trim()
            .to_string()
    };
    let key_of = |item: &Value| -> String {
        match kind {
            FieldKind::Phones => item
                .get("e164")
                .and_then(Value::as_str)
                .map(|e| e.trim_start_matches('+').to_string())
                .or_else(|| phone_key(&text(item, "number"), default_cc))
                .unwrap_or_else(|| text(item, "number")),
            FieldKind::Emails => {
                let a = text(item, "address");
                canonical_email(&a).unwrap_or_else(|| a.to_lowercase())
            }
            FieldKind::Addresses => text(item, "address")
                .to_lowercase()
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" "),
            FieldKind::Messengers => format!(
                "{}:{}",
                text(item, "kind"),
                text(item, "handle").trim_start_matches('@').to_lowercase()
            ),
            _ => item
                .as_str()
                .map(|t| t.trim().to_lowercase())
                .unwrap_or_else(|| item.to_string()),
        }
    };
    let mut seen: Vec<String> = Vec::new();
    let mut out: Vec<Value> = Vec::new();
    for item in lists.iter().filter_map(|l| l.as_array()).flatten() {
        let key = key_of(item);
        if !seen.contains(&key) {
            seen.push(key);
            out.push(item.clone());
        }
    }
    Some(if out.is_empty() {
        Value::Null
    } else {
        Value::Array(out)
    })
}

/// A phone number in E.164 digits (no `+`); `None` for what is not a number.
pub fn phone_key(number: &str, default_cc: &str) -> Option<String> {
    normalize_phone(number, default_cc)
        .ok()
        .map(|e| e.trim_start_matches('+').to_string())
}

/// Legal forms written as one word (folded: ООО is `ooo`, МЧЖ `mchj`, ҲК `hk`).
const LEGAL_WORDS: &[&str] = &[
    "llc", "ltd", "limited", "inc", "corp", "co", "jsc", "ojsc", "cjsc", "pjsc", "plc", "gmbh",
    "llp", "ooo", "mchj", "aj", "ao", "zao", "oao", "pao", "chp", "ip", "xk", "hk", "qk", "tov",
];
/// Legal forms written out (folded).
const LEGAL_PHRASES: &[&[&str]] = &[
    &["masuliyati", "cheklangan", "jamiyati"],
    &["masuliyati", "cheklangan", "jamiyat"],
    &["aksiyadorlik", "jamiyati"],
    &["aksiyadorlik", "jamiyat"],
    &["xususiy", "korxona"],
    &["xususiy", "korxonasi"],
    &["qoshma", "korxona"],
    &["qoshma", "korxonasi"],
    &["obshestvo", "s", "ogranichennoy", "otvetstvennostyu"],
    &["aktsionernoe", "obshestvo"],
    &["zakritoe", "aktsionernoe", "obshestvo"],
    &["otkritoe", "aktsionernoe", "obshestvo"],
    &["publichnoe", "aktsionernoe", "obshestvo"],
    &["chastnoe", "predpriyatie"],
    &["individualniy", "predprinimatel"],
    &["limited", "liability", "company"],
    &["joint", "stock", "company"],
];

fn sorted_words(mut words: Vec<String>) -> String {
    words.sort();
    words.join(" ")
}

/// A company's name as duplicates are compared: folded across scripts, quotes and
/// punctuation gone, legal forms (LLC, OOO/ООО, MChJ, AJ, АО, ЧП, ИП …, also written out)
/// dropped wherever they stand, words in alphabetical order.
pub fn company_name(name: &str) -> String {
    let mut words: Vec<String> = fold(name).split(' ').map(str::to_string).collect();
    words.retain(|w| !w.is_empty());
    for phrase in LEGAL_PHRASES {
        let n = phrase.len();
        let mut i = 0;
        while i + n <= words.len() {
            if words[i..i + n]
                .iter()
                .zip(phrase.iter())
                .all(|(a, b)| a == b)
            {
                words.drain(i..i + n);
            } else {
                i += 1;
            }
        }
    }
    words.retain(|w| !LEGAL_WORDS.contains(&w.as_str()));
    sorted_words(words)
}

/// A person's name as duplicates are compared: the parts folded across scripts, in
/// alphabetical order of their words (so "Иванов Иван" is "Ivan Ivanov").
pub fn person_name(parts: &[&str]) -> String {
    let words: Vec<String> = parts
        .iter()
        .flat_map(|p| fold(p).split(' ').map(str::to_string).collect::<Vec<_>>())
        .filter(|w| !w.is_empty())
        .collect();
    sorted_words(words)
}

/// The rough sound of a normalised name: each word keeps its first letter, loses its
/// vowels and repeated letters, and near letters merge (q/k, w/f/v, h/x, z/s, c/k), so
/// "Yo'ldoshev" and "Yuldashev", "Aliyev" and "Aliev" meet.
pub fn sound_key(name: &str) -> String {
    let map = |c: char| match c {
        'q' | 'c' => 'k',
        'w' | 'f' => 'v',
        'h' => 'x',
        'z' => 's',
        other => other,
    };
    let mut words: Vec<String> = name
        .split(' ')
        .filter(|w| !w.is_empty())
        .map(|w| {
            let mut out = String::new();
            let mut last = None;
            for (i, c) in w.chars().enumerate() {
                let c = map(c);
                if i > 0 && "aeiouy".contains(c) {
                    continue;
                }
                // Numbers are kept whole: "55" and "5" are different shops.
                if last != Some(c) || c.is_ascii_digit() {
                    out.push(c);
                }
                last = Some(c);
            }
            out
        })
        .collect();
    words.sort();
    words.join(" ")
}

/// What duplicates of one record are looked for by.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Profile {
    /// Normalised names (an account's name and legal name).
    pub names: Vec<String>,
    /// E.164 digits.
    pub phones: Vec<String>,
    /// Canonical e-mails.
    pub emails: Vec<String>,
    pub tax_id: Option<String>,
}

/// The fields of an object that its profile is made of (a change to any of them changes
/// the record's keys).
pub fn profile_fields(object: ObjectType) -> &'static [&'static str] {
    match object {
        ObjectType::Account => &["name", "legal_name", "tax_id", "phones", "emails"],
        ObjectType::Contact => &["first_name", "last_name", "phones", "emails"],
        _ => &[],
    }
}

/// Do duplicates of this object get looked for?
pub fn applies(object: ObjectType) -> bool {
    matches!(object, ObjectType::Account | ObjectType::Contact)
}

fn push_unique(list: &mut Vec<String>, v: String) {
    if !v.is_empty() && !list.contains(&v) {
        list.push(v);
    }
}

impl Profile {
    /// The profile of an account's or contact's fields (as stored or as entered: a phone
    /// without its `e164` is normalised with `default_cc`). A contact's middle name is
    /// left out: people are entered with and without it.
    pub fn of(object: ObjectType, fields: &Map<String, Value>, default_cc: &str) -> Profile {
        let text = |k: &str| fields.get(k).and_then(Value::as_str).unwrap_or("");
        let mut p = Profile::default();
        match object {
            ObjectType::Account => {
                push_unique(&mut p.names, company_name(text("name")));
                push_unique(&mut p.names, company_name(text("legal_name")));
                let digits: String = text("tax_id")
                    .chars()
                    .filter(char::is_ascii_digit)
                    .collect();
                if digits.len() >= 9 {
                    p.tax_id = Some(digits);
                }
            }
            ObjectType::Contact => {
                push_unique(
                    &mut p.names,
                    person_name(&[text("first_name"), text("last_name")]),
                );
            }
            _ => return p,
        }
        for ph in fields
            .get("phones")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let e164 = ph
                .get("e164")
                .and_then(Value::as_str)
                .map(|e| e.trim_start_matches('+').to_string())
                .or_else(|| {
                    ph.get("number")
                        .or(Some(ph))
                        .and_then(Value::as_str)
                        .and_then(|n| phone_key(n, default_cc))
                });
            if let Some(e) = e164 {
                push_unique(&mut p.phones, e);
            }
        }
        for e in fields
            .get("emails")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(c) = e
                .get("address")
                .or(Some(e))
                .and_then(Value::as_str)
                .and_then(canonical_email)
            {
                push_unique(&mut p.emails, c);
            }
        }
        p
    }

    /// Nothing to look for duplicates by.
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
            && self.phones.is_empty()
            && self.emails.is_empty()
            && self.tax_id.is_none()
    }

    /// The blocking keys: every phone, e-mail and the tax id, and each name and its sound.
    pub fn keys(&self) -> Vec<Key> {
        let mut out: Vec<Key> = Vec::new();
        for p in &self.phones {
            out.push(Key::new(KeyKind::Phone, p));
        }
        for e in &self.emails {
            out.push(Key::new(KeyKind::Email, e));
        }
        if let Some(t) = &self.tax_id {
            out.push(Key::new(KeyKind::TaxId, t));
        }
        for n in &self.names {
            out.push(Key::new(KeyKind::Name, n));
            let s = sound_key(n);
            if s.chars().filter(|c| *c != ' ').count() >= 3 {
                out.push(Key::new(KeyKind::Sound, &s));
            }
        }
        out.sort();
        out.dedup();
        out
    }
}

/// Why two records are thought to be one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum Reason {
    SamePhone,
    SameEmail,
    SameTaxId,
    /// Jaro-Winkler similarity of the normalised names, in percent (floored, so only
    /// equal names are 100).
    NameSimilar {
        percent: u8,
    },
}

impl Reason {
    /// The translation key of the reason (`dedup-reason-name_similar` takes `$percent`).
    pub fn message_key(&self) -> &'static str {
        match self {
            Reason::SamePhone => "dedup-reason-same_phone",
            Reason::SameEmail => "dedup-reason-same_email",
            Reason::SameTaxId => "dedup-reason-same_tax_id",
            Reason::NameSimilar { .. } => "dedup-reason-name_similar",
        }
    }
}

/// How alike two records are.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Match {
    /// 0–100: the chance, roughly, that they are one client.
    pub score: u8,
    pub reasons: Vec<Reason>,
}

/// Names at least this similar (Jaro-Winkler) count as a reason.
pub const NAME_THRESHOLD: f64 = 0.85;

/// Jaro-Winkler similarity of two normalised names, whatever the order of their words:
/// for short names every order of `b`'s words is tried.
pub fn name_similarity(a: &str, b: &str) -> f64 {
    if a == b {
        return 1.0;
    }
    let mut best = strsim::jaro_winkler(a, b);
    let words: Vec<&str> = b.split(' ').collect();
    if (2..=4).contains(&words.len()) {
        let mut idx: Vec<usize> = (0..words.len()).collect();
        // Heap's algorithm over the word order.
        let mut c = vec![0usize; idx.len()];
        let mut i = 0;
        while i < idx.len() {
            if c[i] < i {
                if i % 2 == 0 {
                    idx.swap(0, i);
                } else {
                    idx.swap(c[i], i);
                }
                let s = idx.iter().map(|&k| words[k]).collect::<Vec<_>>().join(" ");
                best = best.max(strsim::jaro_winkler(a, &s));
                c[i] += 1;
                i = 0;
            } else {
                c[i] = 0;
                i += 1;
            }
        }
    }
    best
}

/// How alike two profiles of `object` are, or `None` when nothing links them. Shared
/// identifiers weigh most (a tax id, then an e-mail, then a phone, which families and
/// offices share); a similar name adds to them, and alone counts less for people, whose
/// names repeat, than for companies.
pub fn score(object: ObjectType, a: &Profile, b: &Profile) -> Option<Match> {
    let mut reasons = Vec::new();
    let mut miss = 1.0f64;
    if a.tax_id.is_some() && a.tax_id == b.tax_id {
        reasons.push(Reason::SameTaxId);
        miss *= 0.05;
    }
    if a.emails.iter().any(|e| b.emails.contains(e)) {
        reasons.push(Reason::SameEmail);
        miss *= 0.1;
    }
    if a.phones.iter().any(|p| b.phones.contains(p)) {
        reasons.push(Reason::SamePhone);
        miss *= 0.2;
    }
    let mut sim = 0.0f64;
    for x in &a.names {
        for y in &b.names {
            // Names that differ in their numbers ("Filial 1", "Filial 2") are not alike.
            let numbers = |n: &str| -> Vec<String> {
                n.split(' ')
                    .filter(|w| w.chars().any(|c| c.is_ascii_digit()))
                    .map(str::to_string)
                    .collect()
            };
            let (nx, ny) = (numbers(x), numbers(y));
            if !nx.is_empty() && !ny.is_empty() && nx != ny {
                continue;
            }
            sim = sim.max(name_similarity(x, y));
        }
    }
    if sim >= NAME_THRESHOLD {
        let top = if object == ObjectType::Account {
            0.8
        } else {
            0.6
        };
        let strength = top * (0.5 + 0.5 * (sim - NAME_THRESHOLD) / (1.0 - NAME_THRESHOLD));
        miss *= 1.0 - strength.min(top);
        let percent = ((sim * 100.0) + 1e-9).floor().min(100.0) as u8;
        reasons.push(Reason::NameSimilar { percent });
    }
    if reasons.is_empty() {
        return None;
    }
    let score = ((1.0 - miss) * 100.0).round().clamp(1.0, 100.0) as u8;
    Some(Match { score, reasons })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn contact(v: Value) -> Profile {
        Profile::of(ObjectType::Contact, v.as_object().unwrap(), "998")
    }
    fn account(v: Value) -> Profile {
        Profile::of(ObjectType::Account, v.as_object().unwrap(), "998")
    }

    /// A merge's combined lists name each number, mailbox, handle and tag once, as the
    /// first record has it, then the others' in order; other kinds are not combined.
    #[test]
    fn combined_lists_name_each_thing_once() {
        let a = json!([{"number": "90 123 45 67", "kind": "mobile", "e164": "+998901234567"}]);
        let b = json!([
            {"number": "+998 (90) 123-45-67", "kind": "work", "e164": "+998901234567"},
            {"number": "71 200 00 00", "kind": "work", "e164": "+998712000000"}
        ]);
        assert_eq!(
            combine_lists(FieldKind::Phones, &[&a, &Value::Null, &b], "998"),
            Some(json!([
                {"number": "90 123 45 67", "kind": "mobile", "e164": "+998901234567"},
                {"number": "71 200 00 00", "kind": "work", "e164": "+998712000000"}
            ]))
        );
        let a = json!([{"address": "ivan.ivanov@gmail.com", "kind": "work"}]);
        let b = json!([
            {"address": "ivanivanov+crm@gmail.com", "kind": "home"},
            {"address": "Ivan@Savdo.uz", "kind": "work"}
        ]);
        let c = json!([{"address": "ivan@savdo.uz", "kind": "home"}]);
        assert_eq!(
            combine_lists(FieldKind::Emails, &[&a, &b, &c], "998"),
            Some(json!([
                {"address": "ivan.ivanov@gmail.com", "kind": "work"},
                {"address": "Ivan@Savdo.uz", "kind": "work"}
            ]))
        );
        let a = json!([{"handle": "@Aziz", "kind": "telegram"}]);
        let b = json!([{"handle": "aziz", "kind": "telegram"}, {"handle": "aziz", "kind": "instagram"}]);
        assert_eq!(
            combine_lists(FieldKind::Messengers, &[&a, &b], "998"),
            Some(
                json!([{"handle": "@Aziz", "kind": "telegram"}, {"handle": "aziz", "kind": "instagram"}])
            )
        );
        let a = json!([{"address": "Toshkent,  Navoiy 1", "kind": "actual"}]);
        let b = json!([{"address": "toshkent, navoiy 1", "kind": "legal"}]);
        assert_eq!(
            combine_lists(FieldKind::Addresses, &[&a, &b], "998"),
            Some(a.clone())
        );
        assert_eq!(
            combine_lists(
                FieldKind::Tags,
                &[&json!(["VIP", "opt"]), &json!(["vip", "new"])],
                "998"
            ),
            Some(json!(["VIP", "opt", "new"]))
        );
        assert_eq!(
            combine_lists(FieldKind::Phones, &[&Value::Null, &Value::Null], "998"),
            Some(Value::Null)
        );
        assert_eq!(
            combine_lists(
                FieldKind::Text { max: 10 },
                &[&json!("a"), &json!("b")],
                "998"
            ),
            None
        );
    }

    #[test]
    fn emails_in_their_canonical_form() {
        for (a, b) in [
            ("Aziz.Karimov@Gmail.com", "azizkarimov@gmail.com"),
            ("aziz.karimov+crm@gmail.com", "azizkarimov@gmail.com"),
            ("a.z.i.z+x+y@googlemail.com", "aziz@gmail.com"),
            ("Info@Bahor.UZ", "info@bahor.uz"),
            // Dots and tags matter elsewhere.
            ("aziz.karimov+crm@mail.ru", "aziz.karimov+crm@mail.ru"),
        ] {
            assert_eq!(canonical_email(a).as_deref(), Some(b), "{a}");
        }
        assert_eq!(canonical_email("no-at-sign"), None);
        assert_eq!(canonical_email("+tag@gmail.com"), None);
    }

    #[test]
    fn phones_in_every_format_meet() {
        for s in [
            "+998 90 123-45-67",
            "8 (90) 1234567",
            "998901234567",
            "90 123 45 67",
            "(90) 123-45-67",
            "00998901234567",
            "+998901234567",
            "8 90 123 45 67",
        ] {
            assert_eq!(phone_key(s, "998").as_deref(), Some("998901234567"), "{s}");
        }
        assert_eq!(
            phone_key("8 (916) 123-45-67", "7").as_deref(),
            Some("79161234567")
        );
        assert_eq!(
            phone_key("+7 916 123 45 67", "998").as_deref(),
            Some("79161234567")
        );
        assert_eq!(phone_key("12", "998"), None);
    }

    #[test]
    fn legal_forms_are_dropped_anywhere() {
        let bahor = "bahor savdo";
        for s in [
            "Bahor Savdo",
            "OOO \"Bahor Savdo\"",
            "ООО «Баҳор Савдо»",
            "Bahor Savdo MChJ",
            "\"Bahor Savdo\" МЧЖ",
            "Bahor Savdo LLC",
            "Bahor Savdo, Ltd.",
            "Bahor Savdo Inc.",
            "AJ Bahor Savdo",
            "АЖ «Баҳор Савдо»",
            "АО Баҳор Савдо",
            "ZAO Bahor Savdo",
            "ЗАО «Баҳор Савдо»",
            "ОАО Баҳор Савдо",
            "PAO Bahor Savdo",
            "ПАО «Баҳор Савдо»",
            "ЧП Баҳор Савдо",
            "ИП Баҳор Савдо",
            "Bahor Savdo XK",
            "Баҳор Савдо ҲК",
            "Bahor Savdo QK",
            "Savdo Bahor MChJ",
            "Bahor Savdo mas'uliyati cheklangan jamiyati",
            "Баҳор Савдо масъулияти чекланган жамияти",
            "Общество с ограниченной ответственностью «Баҳор Савдо»",
            "Bahor Savdo Limited Liability Company",
        ] {
            assert_eq!(company_name(s), bahor, "{s}");
        }
        assert_eq!(
            company_name("Тошкент Текстиль"),
            company_name("Toshkent Tekstil")
        );
        assert_eq!(company_name("LLC"), "");
    }

    #[test]
    fn person_names_across_scripts_and_orders() {
        for (a, b) in [
            (["Иван", "Иванов"], ["Ivan", "Ivanov"]),
            (["Ivanov", "Ivan"], ["Ivan", "Ivanov"]),
            (["Ғайрат", "Ўткиров"], ["G'ayrat", "O'tkirov"]),
            (["Шерзод", "Холматов"], ["Sherzod", "Xolmatov"]),
            (["Ўзбек", ""], ["O'zbek", ""]),
            (["Тошкент", ""], ["Toshkent", ""]),
            (["Дмитрий", "Хасанов"], ["Dmitriy", "Khasanov"]),
        ] {
            assert_eq!(person_name(&a), person_name(&b), "{a:?} {b:?}");
        }
        assert_eq!(sound_key("yoldoshev"), sound_key("yuldashev"));
        assert_eq!(sound_key("aliyev"), sound_key("aliev"));
        assert_eq!(sound_key("holmatov"), sound_key("xolmatov"));
        // Russian writes Uzbek ҳ as х: the names differ, their sounds do not.
        assert_eq!(
            sound_key(&company_name("ООО Бахор")),
            sound_key(&company_name("Bahor MChJ"))
        );
    }

    #[test]
    fn keys_of_a_contact_and_an_account() {
        let c = contact(json!({
            "first_name": "Иван", "last_name": "Иванов",
            "phones": [{"number": "+998 90 123-45-67"}, {"number": "90 123 45 67"}],
            "emails": [{"address": "Ivan.Ivanov+crm@gmail.com"}],
        }));
        let keys: Vec<String> = c.keys().into_iter().map(|k| k.key).collect();
        assert_eq!(
            keys,
            [
                "p:998901234567",
                "e:ivanivanov@gmail.com",
                "n:ivan ivanov",
                "s:ivn ivnv"
            ]
        );
        let a = account(json!({"name": "OOO Bahor", "tax_id": "301 234 567",
            "phones": [{"number": "x", "e164": "+998712345678"}]}));
        let keys: Vec<(KeyKind, String)> = a.keys().into_iter().map(|k| (k.kind, k.key)).collect();
        assert_eq!(
            keys,
            [
                (KeyKind::Phone, "p:998712345678".to_string()),
                (KeyKind::TaxId, "t:301234567".to_string()),
                (KeyKind::Name, "n:bahor".to_string()),
                (KeyKind::Sound, "s:bxr".to_string()),
            ]
        );
        for k in a.keys() {
            assert_eq!(KeyKind::of_key(&k.key), Some(k.kind));
        }
    }

    #[test]
    fn scores_with_reasons() {
        // (a, b, expected reasons, lowest score, highest score)
        type Case = (Value, Value, Vec<Reason>, u8, u8);
        let cases: Vec<Case> = vec![
            (
                json!({"first_name": "Иван", "last_name": "Иванов", "phones": [{"number": "8 (90) 1234567"}]}),
                json!({"first_name": "Ivan", "last_name": "Ivanov", "phones": [{"number": "+998 90 123-45-67"}]}),
                vec![Reason::SamePhone, Reason::NameSimilar { percent: 100 }],
                90,
                100,
            ),
            (
                json!({"last_name": "Karimov", "first_name": "Aziz", "emails": [{"address": "a.karimov@gmail.com"}]}),
                json!({"last_name": "Boboyev", "first_name": "Sardor", "emails": [{"address": "akarimov+work@googlemail.com"}]}),
                vec![Reason::SameEmail],
                90,
                90,
            ),
            (
                json!({"last_name": "Yo'ldoshev", "first_name": "Ulug'bek"}),
                json!({"last_name": "Yuldashev", "first_name": "Ulugbek"}),
                vec![Reason::NameSimilar { percent: 95 }],
                30,
                60,
            ),
            (
                json!({"last_name": "Karimov", "first_name": "Aziz"}),
                json!({"last_name": "Tursunov", "first_name": "Malika"}),
                vec![],
                0,
                0,
            ),
        ];
        for (a, b, reasons, lo, hi) in cases {
            let m = score(
                ObjectType::Contact,
                &contact(a.clone()),
                &contact(b.clone()),
            );
            match m {
                None => assert!(reasons.is_empty(), "{a} {b}: no match"),
                Some(m) => {
                    assert_eq!(m.reasons, reasons, "{a} {b}");
                    assert!((lo..=hi).contains(&m.score), "{a} {b}: {}", m.score);
                }
            }
        }
        let a = account(json!({"name": "ООО «Тошкент Савдо»", "tax_id": "301234567"}));
        let b = account(json!({"name": "Toshkent Savdo MChJ", "tax_id": "301 234 567"}));
        let m = score(ObjectType::Account, &a, &b).unwrap();
        assert_eq!(
            m.reasons,
            [Reason::SameTaxId, Reason::NameSimilar { percent: 100 }]
        );
        assert!(m.score >= 99);
        // Names that differ in their numbers are different companies.
        assert_eq!(
            score(
                ObjectType::Account,
                &account(json!({"name": "Toshkent Servis MChJ 55861"})),
                &account(json!({"name": "Тошкент Servis AJ 58861"}))
            ),
            None
        );
        assert_ne!(sound_key("servis 55861"), sound_key("servis 5861"));
        // A name alone: a company's counts more than a person's.
        let same_name = score(
            ObjectType::Account,
            &a,
            &account(json!({"name": "Toshkent Savdo"})),
        )
        .unwrap()
        .score;
        let person = score(
            ObjectType::Contact,
            &contact(json!({"first_name": "Aziz"})),
            &contact(json!({"first_name": "Aziz"})),
        )
        .unwrap()
        .score;
        assert!(same_name > person, "{same_name} {person}");
    }

    #[test]
    fn word_order_and_a_typo() {
        assert_eq!(name_similarity("ivan ivanov", "ivan ivanov"), 1.0);
        // A typo in the first letter of one word reorders the sorted words.
        let s = name_similarity(
            &person_name(&["Ivan", "Ivanov"]),
            &person_name(&["Yvan", "Ivanov"]),
        );
        assert!(s > 0.9, "{s}");
        let json = serde_json::to_value(Reason::NameSimilar { percent: 94 }).unwrap();
        assert_eq!(json, json!({"reason": "name_similar", "percent": 94}));
        assert_eq!(
            serde_json::to_value(Reason::SamePhone).unwrap(),
            json!({"reason": "same_phone"})
        );
    }
}
