//! The shape of a refusal: which field, and why (a key into the translation files, with
//! arguments), so the web UI, the API and the importers all say the same thing.

use serde::Serialize;

/// One field's problem.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FieldError {
    /// The field as the caller named it (`name`, `emails[1].address`, `custom.budget`).
    pub field: String,
    /// Translation key of the message, e.g. `error-required`.
    pub key: &'static str,
    /// Arguments of the message, e.g. `("max", "200")`.
    pub args: Vec<(&'static str, String)>,
}

impl FieldError {
    pub fn new(field: impl Into<String>, key: &'static str) -> Self {
        FieldError {
            field: field.into(),
            key,
            args: Vec::new(),
        }
    }
    pub fn with(mut self, name: &'static str, value: impl ToString) -> Self {
        self.args.push((name, value.to_string()));
        self
    }
}

/// All problems found in one input; empty means valid.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ValidationErrors(pub Vec<FieldError>);

impl ValidationErrors {
    pub fn push(&mut self, e: FieldError) {
        self.0.push(e);
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    /// `Ok(())` when nothing was found.
    pub fn into_result(self) -> Result<(), ValidationErrors> {
        if self.0.is_empty() { Ok(()) } else { Err(self) }
    }
}

impl From<FieldError> for ValidationErrors {
    fn from(e: FieldError) -> Self {
        ValidationErrors(vec![e])
    }
}
