//! Integration tests: the real server on a random port, against a fresh database —
//! a temporary SQLite file, and a fresh PostgreSQL database when
//! `HAMKOR_TEST_DATABASE_URL` points at a server. Every test runs on both (see `both!`).

mod support;

mod access;
mod attachments;
mod attacks;
mod auth;
mod backup;
mod binary;
mod browser;
mod bulk;
mod calendar;
mod conformance;
mod crash;
mod currencies;
mod custom_fields;
mod deals;
mod dedup;
mod documents;
mod durability;
mod export;
mod imports;
mod input;
mod interactions;
mod leads;
mod lists;
mod login_security;
mod needs;
mod ops;
mod oracle;
mod overload;
mod records;
mod regressions;
mod schema;
mod servers;
mod sharing;
mod smtp;
mod tasks;
mod ui;
mod upgrade;
