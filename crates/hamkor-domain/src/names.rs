//! Names across scripts. Clients arrive written in Cyrillic and in Latin (Uzbek Latin
//! with `o'`, `g'`, `sh`, `ch`; Russian transliterated several ways). `fold` maps any
//! spelling to one lower-case Latin key, so that "Иванов" and "Ivanov", "Тошкент" and
//! "Toshkent", "Ўзбекистон" and "O'zbekiston" meet in search and duplicate checks.

/// Cyrillic letter (lower-case) to its Latin spelling, Uzbek conventions first.
fn cyrillic_to_latin(c: char) -> Option<&'static str> {
    Some(match c {
        'а' => "a",
        'б' => "b",
        'в' => "v",
        'г' => "g",
        'д' => "d",
        'е' => "e",
        'ё' => "yo",
        'ж' => "j",
        'з' => "z",
        'и' => "i",
        'й' => "y",
        'к' => "k",
        'л' => "l",
        'м' => "m",
        'н' => "n",
        'о' => "o",
        'п' => "p",
        'р' => "r",
        'с' => "s",
        'т' => "t",
        'у' => "u",
        'ф' => "f",
        'х' => "x",
        'ц' => "ts",
        'ч' => "ch",
        'ш' => "sh",
        'щ' => "sh",
        'ъ' | 'ь' => "",
        'ы' => "i",
        'э' => "e",
        'ю' => "yu",
        'я' => "ya",
        'ў' => "o",
        'қ' => "q",
        'ғ' => "g",
        'ҳ' => "h",
        'і' => "i",
        'ї' => "yi",
        'є' => "ye",
        'ә' => "a",
        'ө' => "o",
        'ү' => "u",
        'ң' => "n",
        _ => return None,
    })
}

/// Folds text to the search key: lower-case Latin letters and digits, words separated by
/// one space, apostrophes of Uzbek Latin dropped, common transliteration variants unified.
pub fn fold(input: &str) -> String {
    let mut latin = String::with_capacity(input.len());
    for ch in input.chars() {
        for c in ch.to_lowercase() {
            if let Some(l) = cyrillic_to_latin(c) {
                latin.push_str(l);
            } else if matches!(
                c,
                '\'' | '`' | '\u{2018}' | '\u{2019}' | '\u{02bb}' | '\u{02bc}'
            ) {
                // o' g' (and their typographic twins) are one letter: drop the mark. The
                // official ʻ (U+02BB) counts as a letter in Unicode, so this comes first.
            } else if c.is_alphanumeric() {
                latin.push(match c {
                    'ä' | 'á' | 'à' | 'â' => 'a',
                    'ö' | 'ó' | 'ò' | 'ô' => 'o',
                    'ü' | 'ú' | 'ù' | 'û' => 'u',
                    'é' | 'è' | 'ê' | 'ë' => 'e',
                    'ı' | 'í' | 'ì' | 'î' => 'i',
                    'ş' => 's',
                    'ç' => 'c',
                    'ğ' => 'g',
                    other => other,
                });
            } else if !latin.ends_with(' ') && !latin.is_empty() {
                latin.push(' ');
            }
        }
    }
    let trimmed = latin.trim_end();
    // Russian names reach Latin as "kh"/"zh"; Uzbek writes them "x"/"j".
    trimmed.replace("kh", "x").replace("zh", "j")
}

#[cfg(test)]
mod tests {
    use super::fold;

    #[test]
    fn scripts_meet() {
        assert_eq!(fold("Иванов"), fold("Ivanov"));
        assert_eq!(fold("Тошкент"), fold("Toshkent"));
        assert_eq!(fold("Ўзбекистон"), fold("O'zbekiston"));
        assert_eq!(fold("Ғайрат"), fold("G‘ayrat"));
        assert_eq!(fold("Oʻzodov"), fold("Ozodov"));
        assert_eq!(fold("Gʼulomov"), fold("Ғуломов"));
        assert_eq!(fold("Чори Шукуров"), fold("Chori  Shukurov"));
        assert_eq!(fold("Хасанов"), fold("Khasanov"));
        assert_eq!(fold("Журавлёв"), "juravlyov");
    }

    #[test]
    fn punctuation_separates_words() {
        assert_eq!(fold("OOO \"Bahor-Trade\", Ltd."), "ooo bahor trade ltd");
    }
}
