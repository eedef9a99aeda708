//! Tax ids of the countries our clients trade in, told apart by length: Uzbekistan's
//! STIR has 9 digits; Russia's INN has 10 (organisations) or 12 (individuals and sole
//! traders) with check digits. Spaces and dashes people type are dropped.

/// Why a tax id was refused, as a message key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaxIdError {
    /// Not 9, 10 or 12 digits.
    Format,
    /// An INN whose check digits do not match: a typo.
    Checksum,
}

impl TaxIdError {
    pub fn message_key(&self) -> &'static str {
        match self {
            TaxIdError::Format => "error-tax-id",
            TaxIdError::Checksum => "error-tax-id-checksum",
        }
    }
}

/// The country whose rules a valid tax id followed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaxIdKind {
    /// Uzbekistan, 9 digits.
    Stir,
    /// Russia, 10 digits.
    InnOrganisation,
    /// Russia, 12 digits.
    InnPerson,
}

fn check_digit(digits: &[u32], weights: &[u32]) -> u32 {
    let sum: u32 = digits.iter().zip(weights).map(|(d, w)| d * w).sum();
    sum % 11 % 10
}

/// Checks a tax id and returns it as digits only.
pub fn normalize_tax_id(input: &str) -> Result<(String, TaxIdKind), TaxIdError> {
    let cleaned: String = input
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .collect();
    if cleaned.is_empty() || !cleaned.chars().all(|c| c.is_ascii_digit()) {
        return Err(TaxIdError::Format);
    }
    let d: Vec<u32> = cleaned.chars().filter_map(|c| c.to_digit(10)).collect();
    let kind = match d.len() {
        9 => {
            // A STIR never starts with 0; it has no published check digit.
            if d[0] == 0 {
                return Err(TaxIdError::Format);
            }
            TaxIdKind::Stir
        }
        10 => {
            if check_digit(&d[..9], &[2, 4, 10, 3, 5, 9, 4, 6, 8]) != d[9] {
                return Err(TaxIdError::Checksum);
            }
            TaxIdKind::InnOrganisation
        }
        12 => {
            let n11 = check_digit(&d[..10], &[7, 2, 4, 10, 3, 5, 9, 4, 6, 8]);
            let n12 = check_digit(&d[..11], &[3, 7, 2, 4, 10, 3, 5, 9, 4, 6, 8]);
            if n11 != d[10] || n12 != d[11] {
                return Err(TaxIdError::Checksum);
            }
            TaxIdKind::InnPerson
        }
        _ => return Err(TaxIdError::Format),
    };
    Ok((cleaned, kind))
}

/// Appends check digits to the first 9 (or 10) digits of an INN: used by the data
/// generator and by tests to make valid numbers.
pub fn complete_inn(prefix: &[u32]) -> String {
    let mut d = prefix.to_vec();
    match d.len() {
        9 => d.push(check_digit(&d, &[2, 4, 10, 3, 5, 9, 4, 6, 8])),
        10 => {
            d.push(check_digit(&d, &[7, 2, 4, 10, 3, 5, 9, 4, 6, 8]));
            d.push(check_digit(&d, &[3, 7, 2, 4, 10, 3, 5, 9, 4, 6, 8]));
        }
        _ => {}
    }
    d.iter()
        .map(|x| char::from_digit(*x, 10).unwrap_or('0'))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stir_is_nine_digits() {
        assert_eq!(
            normalize_tax_id("301 234 567"),
            Ok(("301234567".into(), TaxIdKind::Stir))
        );
        assert_eq!(normalize_tax_id("012345678"), Err(TaxIdError::Format));
        assert_eq!(normalize_tax_id("30123456"), Err(TaxIdError::Format));
        assert_eq!(normalize_tax_id("30123456x"), Err(TaxIdError::Format));
        assert_eq!(normalize_tax_id("30123456789"), Err(TaxIdError::Format));
    }

    #[test]
    fn inn_check_digits_are_verified() {
        // Published INNs of well-known Russian organisations and a person.
        assert_eq!(
            normalize_tax_id("7707083893").map(|x| x.1),
            Ok(TaxIdKind::InnOrganisation)
        );
        assert_eq!(
            normalize_tax_id("7736207543").map(|x| x.1),
            Ok(TaxIdKind::InnOrganisation)
        );
        assert_eq!(
            normalize_tax_id("500100732259").map(|x| x.1),
            Ok(TaxIdKind::InnPerson)
        );
        assert_eq!(normalize_tax_id("7707083894"), Err(TaxIdError::Checksum));
        assert_eq!(normalize_tax_id("500100732258"), Err(TaxIdError::Checksum));
        assert_eq!(normalize_tax_id("500100732269"), Err(TaxIdError::Checksum));
    }

    #[test]
    fn completed_inns_pass() {
        let org = complete_inn(&[7, 7, 0, 7, 0, 8, 3, 8, 9]);
        assert_eq!(org, "7707083893");
        let person = complete_inn(&[5, 0, 0, 1, 0, 0, 7, 3, 2, 2]);
        assert_eq!(person, "500100732259");
    }
}
