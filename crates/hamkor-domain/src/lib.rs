//! Pure types and rules of the Hamkor CRM. Nothing here touches a disk, a socket or a
//! database: ids, timestamps, e-mails, phones, names across scripts, the access policy and
//! the shape of validation errors. Every other crate builds on these.

pub mod access;
pub mod custom;
pub mod dedup;
pub mod email;
pub mod files;
pub mod ical;
pub mod id;
pub mod input;
pub mod money;
pub mod names;
pub mod objects;
pub mod phone;
pub mod recurrence;
pub mod tasks;
pub mod taxid;
pub mod time;
pub mod validation;

pub use access::{Action, ObjectType, Role, Scope};
pub use id::Id;
pub use time::Timestamp;
pub use validation::{FieldError, ValidationErrors};
