//! The interface's languages: Uzbek (Latin), Russian and English. Every user-facing
//! string comes from `locales/<lang>/main.ftl`, compiled into the binary; dates and
//! numbers are formatted per language.

use fluent_templates::fluent_bundle::FluentValue;
use fluent_templates::{Loader, static_loader};
use hamkor_domain::FieldError;
use std::borrow::Cow;
use std::collections::HashMap;
use unic_langid::{LanguageIdentifier, langid};

static_loader! {
    static LOCALES = {
        locales: "./locales",
        fallback_language: "en",
        customise: |bundle| bundle.set_use_isolating(false),
    };
}

/// A language the interface speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Uz,
    Ru,
    En,
}

impl Lang {
    pub const ALL: [Lang; 3] = [Lang::Uz, Lang::Ru, Lang::En];
    pub fn code(&self) -> &'static str {
        match self {
            Lang::Uz => "uz",
            Lang::Ru => "ru",
            Lang::En => "en",
        }
    }
    pub fn parse(s: &str) -> Option<Lang> {
        match s.trim().to_ascii_lowercase().split(['-', '_']).next()? {
            "uz" => Some(Lang::Uz),
            "ru" => Some(Lang::Ru),
            "en" => Some(Lang::En),
            _ => None,
        }
    }
    /// The best language for an `Accept-Language` header (English when none fits).
    pub fn from_accept_language(header: &str) -> Lang {
        let mut best: Option<(f32, Lang)> = None;
        for part in header.split(',') {
            let mut it = part.split(';');
            let tag = it.next().unwrap_or("");
            let q = it
                .find_map(|p| {
                    p.trim()
                        .strip_prefix("q=")
                        .and_then(|q| q.parse::<f32>().ok())
                })
                .unwrap_or(1.0);
            if let Some(l) = Lang::parse(tag)
                && best.is_none_or(|(bq, _)| q > bq)
            {
                best = Some((q, l));
            }
        }
        best.map(|(_, l)| l).unwrap_or(Lang::En)
    }
    fn id(&self) -> LanguageIdentifier {
        match self {
            Lang::Uz => langid!("uz"),
            Lang::Ru => langid!("ru"),
            Lang::En => langid!("en"),
        }
    }
    /// The language's own name, for the language switch.
    pub fn native_name(&self) -> &'static str {
        match self {
            Lang::Uz => "O'zbekcha",
            Lang::Ru => "Русский",
            Lang::En => "English",
        }
    }
}

/// Translations and formats for one request, with the user's time zone.
#[derive(Debug, Clone, Copy)]
pub struct Loc {
    pub lang: Lang,
    pub tz: chrono_tz::Tz,
}

impl Loc {
    pub fn new(lang: Lang) -> Self {
        Loc {
            lang,
            tz: chrono_tz::Asia::Tashkent,
        }
    }
    /// The same, showing times in the named zone (unknown names keep Tashkent's).
    pub fn in_zone(mut self, zone: &str) -> Self {
        if let Ok(tz) = zone.parse() {
            self.tz = tz;
        }
        self
    }
    /// A moment as a `datetime-local` form value in the user's zone.
    pub fn local_input(&self, t: &hamkor_domain::Timestamp) -> String {
        t.0.with_timezone(&self.tz)
            .format("%Y-%m-%dT%H:%M")
            .to_string()
    }
    /// A `datetime-local` form value (the user's zone) as RFC 3339; other text is passed
    /// on unchanged for the validator to refuse or accept.
    pub fn from_local_input(&self, s: &str) -> String {
        use chrono::TimeZone;
        let naive = chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M")
            .or_else(|_| chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S"));
        match naive.map(|n| self.tz.from_local_datetime(&n).earliest()) {
            Ok(Some(local)) => local.with_timezone(&chrono::Utc).to_rfc3339(),
            _ => s.to_string(),
        }
    }
    /// The message for `key`.
    pub fn t(&self, key: &str) -> String {
        LOCALES.lookup(&self.lang.id(), key)
    }
    /// The message for `key` with arguments.
    pub fn t_args(&self, key: &str, args: &[(&'static str, String)]) -> String {
        let map: HashMap<Cow<'static, str>, FluentValue> = args
            .iter()
            .map(|(k, v)| (Cow::Borrowed(*k), FluentValue::from(v.clone())))
            .collect();
        LOCALES.lookup_with_args(&self.lang.id(), key, &map)
    }
    /// The message for `key` with arguments named at run time (stored errors).
    pub fn t_args_owned(&self, key: &str, args: &[(String, String)]) -> String {
        let map: HashMap<Cow<'static, str>, FluentValue> = args
            .iter()
            .map(|(k, v)| (Cow::Owned(k.clone()), FluentValue::from(v.clone())))
            .collect();
        LOCALES.lookup_with_args(&self.lang.id(), key, &map)
    }
    /// A field error as a sentence in this language.
    pub fn field_error(&self, e: &FieldError) -> String {
        self.t_args(e.key, &e.args)
    }
    /// Every problem of an input as one sentence list ("a; b"), without field names.
    pub fn errors(&self, errors: &hamkor_domain::ValidationErrors) -> String {
        errors
            .0
            .iter()
            .map(|e| self.field_error(e))
            .collect::<Vec<_>>()
            .join("; ")
    }

    /// Every problem of an input, each prefixed by its field: "name: required; …".
    pub fn errors_by_field(&self, errors: &hamkor_domain::ValidationErrors) -> String {
        errors
            .0
            .iter()
            .map(|e| format!("{}: {}", e.field, self.field_error(e)))
            .collect::<Vec<_>>()
            .join("; ")
    }

    /// A date as people of this language write it.
    pub fn date(&self, d: chrono::NaiveDate) -> String {
        match self.lang {
            Lang::En => d.format("%b %-d, %Y").to_string(),
            Lang::Ru | Lang::Uz => d.format("%d.%m.%Y").to_string(),
        }
    }
    /// A moment in the user's time zone.
    pub fn datetime(&self, t: &hamkor_domain::Timestamp) -> String {
        let local = t.0.with_timezone(&self.tz);
        match self.lang {
            Lang::En => local.format("%b %-d, %Y %H:%M").to_string(),
            Lang::Ru | Lang::Uz => local.format("%d.%m.%Y %H:%M").to_string(),
        }
    }
    /// A number with this language's grouping and decimal mark.
    pub fn number(&self, n: f64, decimals: usize) -> String {
        let (group, mark) = self.marks();
        group_digits(&format!("{:.*}", decimals, n), group, mark)
    }
    /// An amount of money given in minor units (`digits` decimals), exactly, with this
    /// language's grouping and decimal mark.
    pub fn amount(&self, minor: i64, digits: u8) -> String {
        let (group, mark) = self.marks();
        group_digits(
            &hamkor_domain::money::format_amount(minor, digits),
            group,
            mark,
        )
    }
    fn marks(&self) -> (&'static str, &'static str) {
        match self.lang {
            Lang::En => (",", "."),
            Lang::Ru | Lang::Uz => ("\u{a0}", ","),
        }
    }
}

/// A plain decimal (`-1234567.89`) with its thousands apart by `group` and `mark` for the
/// decimal point.
pub fn group_digits(decimal: &str, group: &str, mark: &str) -> String {
    let (sign, rest) = decimal
        .strip_prefix('-')
        .map_or(("", decimal), |r| ("-", r));
    let (int, frac) = rest
        .split_once('.')
        .map_or((rest, None), |(a, b)| (a, Some(b)));
    let mut out = String::from(sign);
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            out.push_str(group);
        }
        out.push(c);
    }
    if let Some(f) = frac {
        out.push_str(mark);
        out.push_str(f);
    }
    out
}

/// Every message key of a language file, for the completeness test.
pub fn keys_of(ftl: &str) -> Vec<String> {
    ftl.lines()
        .filter(|l| l.chars().next().is_some_and(|c| c.is_ascii_lowercase()))
        .filter_map(|l| l.split_once('=').map(|(k, _)| k.trim().to_string()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_is_in_every_language() {
        let en = keys_of(include_str!("../locales/en/main.ftl"));
        for (name, file) in [
            ("ru", include_str!("../locales/ru/main.ftl")),
            ("uz", include_str!("../locales/uz/main.ftl")),
        ] {
            let keys = keys_of(file);
            let missing: Vec<_> = en.iter().filter(|k| !keys.contains(k)).collect();
            let extra: Vec<_> = keys.iter().filter(|k| !en.contains(k)).collect();
            assert!(missing.is_empty(), "{name} lacks {missing:?}");
            assert!(extra.is_empty(), "{name} has keys English lacks: {extra:?}");
        }
    }

    #[test]
    fn every_key_used_in_code_exists() {
        let en = keys_of(include_str!("../locales/en/main.ftl"));
        let sources = [
            include_str!("../../hamkor-domain/src/input.rs"),
            include_str!("../../hamkor-domain/src/custom.rs"),
            include_str!("../../hamkor-domain/src/email.rs"),
            include_str!("../../hamkor-domain/src/phone.rs"),
            include_str!("../../hamkor-store/src/list.rs"),
            include_str!("../../hamkor-store/src/records.rs"),
            include_str!("../../hamkor-app/src/records.rs"),
            include_str!("../../hamkor-app/src/users.rs"),
            include_str!("../../hamkor-app/src/auth.rs"),
            include_str!("../../hamkor-app/src/custom_fields.rs"),
            include_str!("../../hamkor-app/src/roles.rs"),
            include_str!("../../hamkor-web/src/api/users.rs"),
            include_str!("../../hamkor-domain/src/tasks.rs"),
            include_str!("../../hamkor-domain/src/recurrence.rs"),
            include_str!("../../hamkor-domain/src/ical.rs"),
            include_str!("../../hamkor-store/src/planning.rs"),
            include_str!("../../hamkor-app/src/tasks.rs"),
            include_str!("../../hamkor-web/src/api/planning.rs"),
            include_str!("../../hamkor-domain/src/money.rs"),
            include_str!("../../hamkor-store/src/sales.rs"),
            include_str!("../../hamkor-app/src/sales.rs"),
            include_str!("../../hamkor-web/src/api/sales.rs"),
            include_str!("../../hamkor-store/src/currencies.rs"),
            include_str!("../../hamkor-app/src/currencies.rs"),
            include_str!("../../hamkor-web/src/api/currencies.rs"),
            include_str!("../../hamkor-store/src/leads.rs"),
            include_str!("../../hamkor-app/src/leads.rs"),
            include_str!("../../hamkor-web/src/api/leads.rs"),
            include_str!("../../hamkor-web/src/ui/leads.rs"),
            include_str!("../../hamkor-store/src/documents.rs"),
            include_str!("../../hamkor-app/src/documents.rs"),
            include_str!("../../hamkor-web/src/api/documents.rs"),
            include_str!("../../hamkor-web/src/ui/documents.rs"),
            include_str!("../../hamkor-app/src/imports.rs"),
            include_str!("../../hamkor-web/src/api/imports.rs"),
            include_str!("../../hamkor-web/src/ui/imports.rs"),
            include_str!("../templates/import.html"),
            include_str!("../templates/imports.html"),
            include_str!("../../hamkor-import/src/lib.rs"),
            include_str!("../../hamkor-app/src/export.rs"),
            include_str!("../../hamkor-app/src/lists.rs"),
            include_str!("../../hamkor-domain/src/dedup.rs"),
            include_str!("../../hamkor-app/src/dedup.rs"),
            include_str!("../../hamkor-web/src/api/dedup.rs"),
            include_str!("../../hamkor-web/src/ui/dedup.rs"),
            include_str!("../../hamkor-app/src/two_factor.rs"),
            include_str!("../../hamkor-app/src/security.rs"),
            include_str!("../../hamkor-web/src/api/security.rs"),
            include_str!("../../hamkor-web/src/ui/security.rs"),
            include_str!("../../hamkor-web/src/ui/login.rs"),
            include_str!("../templates/login_code.html"),
            include_str!("../templates/two_factor_setup.html"),
            include_str!("../templates/recovery_codes.html"),
            include_str!("../templates/forgot.html"),
            include_str!("../templates/reset.html"),
            include_str!("../templates/security.html"),
            include_str!("../templates/audit.html"),
        ];
        for src in sources {
            for part in src.split('"').skip(1).step_by(2) {
                if part.starts_with("error-")
                    && part.len() > 6
                    && part.chars().all(|c| c.is_ascii_lowercase() || c == '-')
                {
                    assert!(
                        en.contains(&part.to_string()),
                        "key {part} is used but not translated"
                    );
                }
            }
        }
    }

    /// Every key the pages ask for, by literal or built from the object descriptions, roles
    /// and the like, is in the English file (and so, by the test above, in all three).
    #[test]
    fn every_key_the_pages_use_exists() {
        let en = keys_of(include_str!("../locales/en/main.ftl"));
        let dir = env!("CARGO_MANIFEST_DIR");
        let mut files = Vec::new();
        for sub in ["templates", "src", "src/ui", "src/api"] {
            for entry in std::fs::read_dir(format!("{dir}/{sub}")).unwrap() {
                let path = entry.unwrap().path();
                if path.is_file() {
                    files.push(std::fs::read_to_string(path).unwrap());
                }
            }
        }
        let mut wanted: Vec<String> = Vec::new();
        for text in &files {
            for part in text.split("loc.t(\"").skip(1) {
                let key: String = part
                    .chars()
                    .take_while(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-')
                    .collect();
                if part[key.len()..].starts_with('"') && !key.is_empty() {
                    wanted.push(key);
                }
            }
        }
        use hamkor_domain::objects::{FieldKind, OBJECTS};
        for def in OBJECTS {
            let o = def.object.as_str();
            wanted.push(format!("nav-{}", def.plural));
            wanted.push(format!("kind-{o}"));
            for f in def
                .fields
                .iter()
                .map(|f| f.name)
                .chain(["owner_id", "deleted_at"])
            {
                wanted.push(format!("field-{o}-{f}"));
            }
            for f in def.fields {
                if let FieldKind::Choice(options) = f.kind {
                    wanted.extend(options.iter().map(|c| format!("choice-{c}")));
                }
            }
        }
        use hamkor_domain::objects::{ADDRESS_KINDS, EMAIL_KINDS, MESSENGER_KINDS, PHONE_KINDS};
        for kinds in [PHONE_KINDS, EMAIL_KINDS, ADDRESS_KINDS, MESSENGER_KINDS] {
            wanted.extend(kinds.iter().map(|k| format!("choice-{k}")));
        }
        wanted.extend(["field-contact-name", "field-contact-accounts"].map(String::from));
        wanted.extend(
            hamkor_domain::Role::ALL
                .iter()
                .map(|r| format!("role-{}", r.as_str())),
        );
        wanted.extend(
            hamkor_domain::Action::ALL
                .iter()
                .map(|a| format!("action-{}", a.as_str())),
        );
        wanted.extend(["none", "own", "team", "all"].map(|s| format!("scope-{s}")));
        wanted.extend(
            hamkor_domain::custom::CustomKind::ALL
                .iter()
                .map(|k| format!("custom-kind-{}", k.as_str())),
        );
        wanted.extend(
            ["eq", "ne", "like", "lt", "lte", "gt", "gte", "in", "null"].map(|o| format!("op-{o}")),
        );
        wanted.extend(["create", "update", "delete", "restore"].map(|a| format!("audit-{a}")));
        wanted.extend(["created_at", "updated_at"].map(|f| format!("field-any-{f}")));
        let missing: Vec<_> = wanted.iter().filter(|k| !en.contains(k)).collect();
        assert!(missing.is_empty(), "not translated: {missing:?}");
    }

    #[test]
    fn languages_are_negotiated_and_formatted() {
        assert_eq!(
            Lang::from_accept_language("ru-RU,ru;q=0.9,en;q=0.8"),
            Lang::Ru
        );
        assert_eq!(Lang::from_accept_language("de-DE, uz;q=0.5"), Lang::Uz);
        assert_eq!(Lang::from_accept_language("fr"), Lang::En);
        assert_eq!(Loc::new(Lang::En).number(1234567.5, 2), "1,234,567.50");
        assert_eq!(Loc::new(Lang::Ru).number(1234.5, 1), "1\u{a0}234,5");
        let d = chrono::NaiveDate::from_ymd_opt(2026, 11, 28).unwrap();
        assert_eq!(Loc::new(Lang::Uz).date(d), "28.11.2026");
        assert_eq!(Loc::new(Lang::Ru).t("nav-accounts"), "Контрагенты");
        let t = hamkor_domain::Timestamp::parse_rfc3339("2026-11-28T04:05:00Z").unwrap();
        assert_eq!(Loc::new(Lang::Ru).datetime(&t), "28.11.2026 09:05");
        let moscow = Loc::new(Lang::En).in_zone("Europe/Moscow");
        assert_eq!(moscow.datetime(&t), "Nov 28, 2026 07:05");
        assert_eq!(moscow.local_input(&t), "2026-11-28T07:05");
        assert_eq!(
            moscow.from_local_input("2026-11-28T07:05"),
            "2026-11-28T04:05:00+00:00"
        );
        assert_eq!(moscow.from_local_input("junk"), "junk");
    }
}
