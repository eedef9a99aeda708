//! E-mail addresses: checked for the shape a mail server accepts, stored trimmed with the
//! domain lower-cased (the local part is the owner's, RFC 5321 says it may be case-sensitive).

/// Why an e-mail address was refused; the key of the message in the translation files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EmailError {
    Empty,
    TooLong,
    Malformed,
}

impl EmailError {
    pub fn message_key(&self) -> &'static str {
        match self {
            EmailError::Empty => "error-required",
            EmailError::TooLong => "error-too-long",
            EmailError::Malformed => "error-email",
        }
    }
}

/// Checks an address and returns it in its stored form.
pub fn normalize_email(input: &str) -> Result<String, EmailError> {
    let s = input.trim();
    if s.is_empty() {
        return Err(EmailError::Empty);
    }
    if s.len() > 254 {
        return Err(EmailError::TooLong);
    }
    let (local, domain) = s.rsplit_once('@').ok_or(EmailError::Malformed)?;
    if local.is_empty() || local.len() > 64 || local.contains('@') {
        return Err(EmailError::Malformed);
    }
    let local_ok = local
        .chars()
        .all(|c| c.is_alphanumeric() || "!#$%&'*+-/=?^_`{|}~.".contains(c))
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..");
    if !local_ok {
        return Err(EmailError::Malformed);
    }
    let domain = domain.to_lowercase();
    let labels: Vec<&str> = domain.split('.').collect();
    if labels.len() < 2 {
        return Err(EmailError::Malformed);
    }
    for label in &labels {
        if label.is_empty()
            || label.len() > 63
            || label.starts_with('-')
            || label.ends_with('-')
            || !label.chars().all(|c| c.is_alphanumeric() || c == '-')
        {
            return Err(EmailError::Malformed);
        }
    }
    Ok(format!("{local}@{domain}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_real_addresses() {
        assert_eq!(
            normalize_email(" Aziz.K@Mail.UZ ").unwrap(),
            "Aziz.K@mail.uz"
        );
        assert!(normalize_email("sales+crm@firma.co.uz").is_ok());
        assert!(normalize_email("иван@почта.рф").is_ok());
    }

    #[test]
    fn refuses_what_no_server_accepts() {
        for bad in [
            "",
            "plain",
            "a@b",
            "a@@b.uz",
            "a b@c.uz",
            "<script>@x.uz",
            ".a@b.uz",
            "a@-b.uz",
            "a@b..uz",
        ] {
            assert!(normalize_email(bad).is_err(), "{bad} accepted");
        }
    }
}
