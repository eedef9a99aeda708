//! Phone numbers: kept as the user typed them and also normalised to E.164, so that
//! `90 123 45 67`, `+998901234567` and `998 90 123-45-67` are one number.

/// Why a phone number was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PhoneError {
    Empty,
    BadCharacters,
    WrongLength,
}

impl PhoneError {
    pub fn message_key(&self) -> &'static str {
        match self {
            PhoneError::Empty => "error-required",
            PhoneError::BadCharacters | PhoneError::WrongLength => "error-phone",
        }
    }
}

/// National number lengths of the countries whose numbers are commonly written without
/// their country code. `default_cc` fills the missing code.
fn national_length(cc: &str) -> Option<usize> {
    match cc {
        "998" => Some(9), // Uzbekistan
        "7" => Some(10),  // Russia, Kazakhstan
        "996" => Some(9), // Kyrgyzstan
        "992" => Some(9), // Tajikistan
        "993" => Some(8), // Turkmenistan
        "1" => Some(10),
        "44" => Some(10),
        _ => None,
    }
}

/// Normalises a number to E.164 (`+` and up to 15 digits). `default_cc` is the
/// organisation's country calling code, used when the number has none.
pub fn normalize_phone(input: &str, default_cc: &str) -> Result<String, PhoneError> {
    let s = input.trim();
    if s.is_empty() {
        return Err(PhoneError::Empty);
    }
    let mut digits = String::with_capacity(16);
    let mut plus = false;
    for (i, c) in s.chars().enumerate() {
        match c {
            '0'..='9' => digits.push(c),
            '+' if i == 0 => plus = true,
            ' ' | '-' | '(' | ')' | '.' | '\u{a0}' => {}
            _ => return Err(PhoneError::BadCharacters),
        }
    }
    // "00" international prefix, and Russia's domestic trunk prefix "8".
    if !plus && digits.starts_with("00") {
        digits.drain(..2);
        plus = true;
    }
    if !plus && default_cc == "7" && digits.len() == 11 && digits.starts_with('8') {
        digits.replace_range(..1, "7");
        plus = true;
    }
    // Uzbekistan's old domestic trunk prefix "8": "8 (90) 123-45-67".
    if !plus && default_cc == "998" && digits.len() == 10 && digits.starts_with('8') {
        digits.drain(..1);
    }
    if !plus {
        let stripped = digits.trim_start_matches('0');
        if let Some(len) = national_length(default_cc) {
            if stripped.len() == len {
                digits = format!("{default_cc}{stripped}");
            } else if !(digits.starts_with(default_cc) && digits.len() == len + default_cc.len()) {
                // Neither a national number nor one with our code: take it as international.
                if digits.len() < 8 {
                    return Err(PhoneError::WrongLength);
                }
            }
        }
    }
    if digits.len() < 8 || digits.len() > 15 || digits.starts_with('0') {
        return Err(PhoneError::WrongLength);
    }
    if let Some(len) = national_length_for(&digits)
        && digits.len() != len
    {
        return Err(PhoneError::WrongLength);
    }
    Ok(format!("+{digits}"))
}

/// Full E.164 length for numbers whose country we know well enough to check.
fn national_length_for(digits: &str) -> Option<usize> {
    for cc in ["998", "996", "992", "993", "7"] {
        if digits.starts_with(cc) {
            return national_length(cc).map(|n| n + cc.len());
        }
    }
    None
}

/// The digits of a search query, if it looks like a phone number (for phone search).
pub fn phone_search_digits(q: &str) -> Option<String> {
    let q = q.trim();
    if q.is_empty()
        || !q
            .chars()
            .all(|c| c.is_ascii_digit() || " +-().".contains(c))
    {
        return None;
    }
    let digits: String = q.chars().filter(|c| c.is_ascii_digit()).collect();
    (digits.len() >= 5).then_some(digits)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_number_in_every_spelling() {
        for s in [
            "90 123 45 67",
            "+998901234567",
            "998 90 123-45-67",
            "(90) 123-45-67",
            "00998901234567",
            "8 (90) 1234567",
            "8 90 123 45 67",
        ] {
            assert_eq!(normalize_phone(s, "998").unwrap(), "+998901234567", "{s}");
        }
        assert_eq!(
            normalize_phone("8 (916) 123-45-67", "7").unwrap(),
            "+79161234567"
        );
        assert_eq!(
            normalize_phone("+7 916 123 45 67", "998").unwrap(),
            "+79161234567"
        );
    }

    #[test]
    fn refuses_what_is_not_a_number() {
        for bad in [
            "",
            "abc",
            "12",
            "+998 90 123",
            "<b>901234567</b>",
            "+99890123456789",
        ] {
            assert!(normalize_phone(bad, "998").is_err(), "{bad} accepted");
        }
    }
}
