//! Crash test: `kill -9` of the real `hamkor serve` at random moments while it runs a large
//! contacts import and while API clients write, on each backend.
//!
//! After every kill: on SQLite `PRAGMA integrity_check` is ok, `PRAGMA foreign_key_check`
//! finds nothing and the search indexes agree with their tables; the database holds the
//! import's committed batches exactly (a contact per row done, an account per company met,
//! one batch note per batch, the job's counters agreeing); the server comes back on the same
//! database and every write the API acknowledged is there with the values it acknowledged.
//! A write the kill cut off may be there or not, but whole; nothing else is there. At the
//! end the import, resumed after every kill, is done with exactly the file's rows and no
//! e-mail twice.
//!
//! By default 20 kills during a 20,000-row import. `HAMKOR_CRASH_CYCLES` and
//! `HAMKOR_CRASH_ROWS` change them (the full run: 100 and 100,000); the run prints its seed
//! and `HAMKOR_CRASH_SEED` replays its random choices. See docs/operations.md, "Crash test".

use crate::binary::{free_port, hamkor, stop};
use crate::support::{Backend, PASSWORD, fresh_database};
use hamkor_domain::Id;
use hamkor_store::{Db, Exec, Sql};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Child;
use tokio::sync::watch;

/// Rows the importer writes in one transaction.
const BATCH: i64 = hamkor_app::imports::BATCH as i64;
/// API clients writing while the import runs.
const WRITERS: usize = 3;
/// How long a server's claim on an import lasts without being renewed (production: 60 s).
const LEASE_SECS: i64 = 2;
/// Companies the file's contacts work at: each becomes one account, which a resumed run
/// must find again by name rather than make twice.
const COMPANIES: i64 = 500;

/// How big a run is, and its random choices.
#[derive(Debug, Clone, Copy)]
struct Plan {
    kills: usize,
    rows: i64,
    seed: u64,
}

impl Plan {
    fn from_env() -> Plan {
        let number = |name: &str| -> Option<u64> {
            let v = std::env::var(name).ok()?;
            Some(
                v.trim()
                    .replace('_', "")
                    .parse()
                    .unwrap_or_else(|_| panic!("{name} must be a whole number, not {v:?}")),
            )
        };
        let plan = Plan {
            kills: number("HAMKOR_CRASH_CYCLES").unwrap_or(20) as usize,
            rows: number("HAMKOR_CRASH_ROWS").unwrap_or(20_000) as i64,
            seed: number("HAMKOR_CRASH_SEED").unwrap_or_else(|| rand::rng().random()),
        };
        assert!(
            plan.rows >= 3 * BATCH,
            "HAMKOR_CRASH_ROWS must be at least {}",
            3 * BATCH
        );
        assert!(plan.kills >= 1, "HAMKOR_CRASH_CYCLES must be at least 1");
        plan
    }

    /// The rows done after which kill `k` (from 0) comes, at a random moment of the
    /// import's work that follows: the targets are spread evenly from the end of the first
    /// batch to the start of the last, so the kills fall all through the import and not
    /// only at its start (with more kills than batches, a batch is cut off more than once
    /// before it gets written).
    fn target(&self, k: usize) -> i64 {
        let span = self.rows - 2 * BATCH;
        let at = BATCH + span * k as i64 / self.kills as i64;
        at / BATCH * BATCH
    }
}

/// The fields a writer sets, as it sent them; [`signature`] reads the same shape back
/// from the API.
#[derive(Debug, Clone, PartialEq)]
enum Fields {
    Contact {
        first: String,
        last: String,
        email: String,
        phone: String,
        /// The account linked (its id) and the position there.
        account: Option<(String, String)>,
    },
    Account {
        name: String,
        legal: String,
        industry: String,
    },
}

impl Fields {
    fn plural(&self) -> &'static str {
        match self {
            Fields::Contact { .. } => "contacts",
            Fields::Account { .. } => "accounts",
        }
    }

    fn signature(&self) -> Value {
        match self {
            Fields::Contact {
                first,
                last,
                email,
                phone,
                account,
            } => json!({
                "first_name": first,
                "last_name": last,
                "emails": [email],
                "phones": [phone],
                "accounts": account.iter().map(|(a, p)| json!([a, p])).collect::<Vec<_>>(),
            }),
            Fields::Account {
                name,
                legal,
                industry,
            } => json!({"name": name, "legal_name": legal, "industry": industry}),
        }
    }

    fn links(account: &Option<(String, String)>) -> Value {
        json!(
            account
                .iter()
                .map(|(a, p)| json!({"account_id": a, "position": p}))
                .collect::<Vec<_>>()
        )
    }

    /// The body that creates the record.
    fn create_body(&self) -> Value {
        match self {
            Fields::Contact {
                first,
                last,
                email,
                phone,
                account,
            } => json!({
                "first_name": first,
                "last_name": last,
                "emails": [{"address": email}],
                "phones": [{"number": phone}],
                "accounts": Self::links(account),
            }),
            Fields::Account {
                name,
                legal,
                industry,
            } => json!({"name": name, "kind": "client", "legal_name": legal, "industry": industry}),
        }
    }

    /// The body of a `PATCH` that changes the fields a change changes (for a contact, its
    /// own row and its links to accounts together).
    fn patch_body(&self) -> Value {
        match self {
            Fields::Contact {
                last,
                phone,
                account,
                ..
            } => json!({
                "last_name": last,
                "phones": [{"number": phone}],
                "accounts": Self::links(account),
            }),
            Fields::Account {
                legal, industry, ..
            } => json!({"legal_name": legal, "industry": industry}),
        }
    }
}

/// What the API shows of the fields [`Fields`] sets.
fn signature(plural: &str, v: &Value) -> Value {
    let each = |list: &Value, key: &str| -> Vec<Value> {
        list.as_array()
            .map(|a| a.iter().map(|x| x[key].clone()).collect())
            .unwrap_or_default()
    };
    if plural == "contacts" {
        json!({
            "first_name": v["first_name"],
            "last_name": v["last_name"],
            "emails": each(&v["emails"], "address"),
            "phones": each(&v["phones"], "e164"),
            "accounts": v["accounts"].as_array().map(|a| a.iter().map(|l| json!([l["account_id"], l["position"]])).collect::<Vec<_>>()).unwrap_or_default(),
        })
    } else {
        json!({"name": v["name"], "legal_name": v["legal_name"], "industry": v["industry"]})
    }
}

/// A record as acknowledged (or as a write cut off by a kill would leave it).
#[derive(Debug, Clone, PartialEq)]
struct Version {
    fields: Fields,
    version: i64,
}

/// A record a writer made: what the API last acknowledged, and a change sent whose answer
/// never came (the server died, or was too busy to say).
#[derive(Debug)]
struct Entry {
    acked: Version,
    pending: Option<Version>,
}

/// One writer's records and the creations it sent without an answer.
#[derive(Debug, Default)]
struct Ledger {
    records: BTreeMap<String, Entry>,
    /// The accounts among the records, for contacts to be linked to.
    accounts: Vec<String>,
    unanswered: Vec<Fields>,
}

impl Ledger {
    fn acknowledged(&mut self, id: String, fields: Fields) {
        if matches!(fields, Fields::Account { .. }) {
            self.accounts.push(id.clone());
        }
        self.records.insert(
            id,
            Entry {
                acked: Version { fields, version: 1 },
                pending: None,
            },
        );
    }
}

/// Counts for the report.
#[derive(Debug, Default)]
struct Counts {
    /// Creations and changes the API acknowledged.
    created: AtomicU64,
    changed: AtomicU64,
    /// Writes the server answered 503 (too busy), not done.
    busy: AtomicU64,
    /// Writes cut off by a kill (or unanswered) found done afterwards, or not done.
    cut_off_done: AtomicU64,
    cut_off_not_done: AtomicU64,
}

impl Counts {
    fn add(n: &AtomicU64) {
        n.fetch_add(1, Ordering::SeqCst);
    }
    fn get(n: &AtomicU64) -> u64 {
        n.load(Ordering::SeqCst)
    }
}

/// The server the writers talk to: `None` while it is down (killed, the checks running).
#[derive(Debug, Clone)]
struct Live {
    generation: u64,
    base: Option<String>,
    stop: bool,
}

/// A request's fate from the client's side.
enum Sent {
    Answered(StatusCode, Value),
    /// No (whole) answer: the server died.
    Gone,
}

async fn send(
    http: &reqwest::Client,
    method: Method,
    url: String,
    token: &str,
    body: Option<Value>,
    if_match: Option<i64>,
) -> Sent {
    let mut req = http.request(method, url).bearer_auth(token);
    if let Some(b) = body {
        req = req.json(&b);
    }
    if let Some(v) = if_match {
        req = req.header("if-match", format!("\"{v}\""));
    }
    let Ok(resp) = req.send().await else {
        return Sent::Gone;
    };
    let status = resp.status();
    match resp.bytes().await {
        Ok(bytes) => Sent::Answered(
            status,
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into())),
        ),
        Err(_) => Sent::Gone,
    }
}

/// One API client: creates contacts (linked to its accounts) and accounts, and changes
/// them with `If-Match`, recording what the server acknowledged. When the server dies it
/// waits for the next one, which the test brings up only after checking its records.
#[allow(clippy::too_many_arguments)]
async fn writer(
    c: usize,
    seed: u64,
    http: reqwest::Client,
    token: String,
    mut live: watch::Receiver<Live>,
    parked: Arc<AtomicU64>,
    ledger: Arc<Mutex<Ledger>>,
    counts: Arc<Counts>,
) -> Result<(), String> {
    let mut rng =
        StdRng::seed_from_u64(seed ^ (0x9E37_79B9_7F4A_7C15u64.wrapping_mul(c as u64 + 1)));
    let mut n: u64 = 0;
    loop {
        let now = live.borrow_and_update().clone();
        if now.stop {
            return Ok(());
        }
        let Some(base) = now.base else {
            parked.store(now.generation, Ordering::SeqCst);
            if live.changed().await.is_err() {
                return Ok(());
            }
            continue;
        };
        n += 1;
        let lock = || ledger.lock().unwrap_or_else(|e| e.into_inner());
        // What to write: a new contact, a new account, or a change of an acknowledged
        // record that has no unanswered change.
        let dice: f64 = rng.random();
        let changeable = (dice >= 0.5)
            .then(|| {
                let l = lock();
                let open = || l.records.iter().filter(|(_, e)| e.pending.is_none());
                let n = open().count();
                (n > 0)
                    .then(|| open().nth(rng.random_range(0..n)))
                    .flatten()
                    .map(|(id, e)| (id.clone(), e.acked.clone()))
            })
            .flatten();
        let link = |rng: &mut StdRng, position: String| {
            let l = lock();
            (!l.accounts.is_empty() && rng.random_bool(0.7)).then(|| {
                (
                    l.accounts[rng.random_range(0..l.accounts.len())].clone(),
                    position,
                )
            })
        };
        let sent = if dice < 0.35 || (dice >= 0.5 && changeable.is_none()) {
            let fields = Fields::Contact {
                first: format!("Yozuvchi{c}"),
                last: format!("Familiya {n}"),
                email: format!("w{c}.{n}@api.example.uz"),
                phone: format!("+99891{c}{n:06}"),
                account: link(&mut rng, "Menejer".into()),
            };
            create(&http, &base, &token, fields, &ledger, &counts).await?
        } else if dice < 0.5 {
            let fields = Fields::Account {
                name: format!("API {c}-{n} MChJ"),
                legal: format!("API {c}-{n} mas'uliyati cheklangan jamiyati"),
                industry: "Savdo".into(),
            };
            create(&http, &base, &token, fields, &ledger, &counts).await?
        } else if let Some((id, acked)) = changeable {
            let fields = match acked.fields.clone() {
                Fields::Contact {
                    first,
                    email,
                    account,
                    ..
                } => Fields::Contact {
                    first,
                    email,
                    last: format!("Familiya {n} (o'zgardi)"),
                    phone: format!("+99891{c}{n:06}"),
                    account: if rng.random_bool(0.5) {
                        link(&mut rng, format!("Lavozim {n}"))
                    } else {
                        account
                    },
                },
                Fields::Account { name, .. } => Fields::Account {
                    name,
                    legal: format!("{n}-tahrir"),
                    industry: format!("Sanoat {n}"),
                },
            };
            change(&http, &base, &token, &id, acked, fields, &ledger, &counts).await?
        } else {
            unreachable!("a change is chosen only with a record to change")
        };
        if sent {
            tokio::time::sleep(Duration::from_millis(rng.random_range(0..20))).await;
        } else {
            // The server is gone: wait for the next one.
            parked.store(now.generation, Ordering::SeqCst);
            loop {
                if live.changed().await.is_err() {
                    return Ok(());
                }
                let l = live.borrow();
                if l.stop || (l.generation > now.generation && l.base.is_some()) {
                    break;
                }
            }
        }
    }
}

/// Creates a record; `Ok(false)` when the server did not answer.
async fn create(
    http: &reqwest::Client,
    base: &str,
    token: &str,
    fields: Fields,
    ledger: &Mutex<Ledger>,
    counts: &Counts,
) -> Result<bool, String> {
    let lock = || ledger.lock().unwrap_or_else(|e| e.into_inner());
    let plural = fields.plural();
    lock().unanswered.push(fields.clone());
    match send(
        http,
        Method::POST,
        format!("{base}/api/v1/{plural}"),
        token,
        Some(fields.create_body()),
        None,
    )
    .await
    {
        Sent::Gone => Ok(false),
        Sent::Answered(StatusCode::CREATED, body) => {
            if signature(plural, &body) != fields.signature() || body["version"] != 1 {
                return Err(format!(
                    "the API acknowledged other {plural} than sent: {} for {}",
                    body,
                    fields.signature()
                ));
            }
            let id = body["id"].as_str().unwrap_or_default().to_string();
            let mut l = lock();
            l.unanswered.retain(|f| *f != fields);
            l.acknowledged(id, fields);
            Counts::add(&counts.created);
            Ok(true)
        }
        Sent::Answered(StatusCode::SERVICE_UNAVAILABLE, _) => {
            // Not done, the server says; left among the unanswered, which the next check
            // settles like any other.
            Counts::add(&counts.busy);
            Ok(true)
        }
        Sent::Answered(status, body) => Err(format!("creating {plural} got {status}: {body}")),
    }
}

/// Changes a record with `If-Match`; `Ok(false)` when the server did not answer.
#[allow(clippy::too_many_arguments)]
async fn change(
    http: &reqwest::Client,
    base: &str,
    token: &str,
    id: &str,
    acked: Version,
    fields: Fields,
    ledger: &Mutex<Ledger>,
    counts: &Counts,
) -> Result<bool, String> {
    let lock = || ledger.lock().unwrap_or_else(|e| e.into_inner());
    let plural = fields.plural();
    let next = Version {
        fields: fields.clone(),
        version: acked.version + 1,
    };
    if let Some(e) = lock().records.get_mut(id) {
        e.pending = Some(next.clone());
    }
    match send(
        http,
        Method::PATCH,
        format!("{base}/api/v1/{plural}/{id}"),
        token,
        Some(fields.patch_body()),
        Some(acked.version),
    )
    .await
    {
        Sent::Gone => Ok(false),
        Sent::Answered(StatusCode::OK, body) => {
            if signature(plural, &body) != fields.signature()
                || body["version"] != json!(next.version)
            {
                return Err(format!(
                    "the API acknowledged another change of {plural} {id} than sent: {body} for {} (version {})",
                    fields.signature(),
                    next.version
                ));
            }
            if let Some(e) = lock().records.get_mut(id) {
                e.acked = next;
                e.pending = None;
            }
            Counts::add(&counts.changed);
            Ok(true)
        }
        Sent::Answered(StatusCode::SERVICE_UNAVAILABLE, _) => {
            Counts::add(&counts.busy);
            Ok(true)
        }
        // Only this writer changes its records, and every change it did not hear back
        // about was settled before it went on: a version other than the one it holds
        // means a write appeared or vanished.
        Sent::Answered(status, body) => Err(format!(
            "changing {plural} {id} (version {}) got {status}: {body}",
            acked.version
        )),
    }
}

/// Checks every writer's records through the API while the writers wait: each record is
/// as last acknowledged, or as the change cut off left it (whole); a record nobody got an
/// answer for must be one a writer sent; anything else is an error. Settles the cut-off
/// writes and returns the number of records checked.
async fn check_writes(
    http: &reqwest::Client,
    base: &str,
    token: &str,
    owner: Id,
    ledgers: &[Arc<Mutex<Ledger>>],
    counts: &Counts,
) -> Result<usize, String> {
    let mut found: HashMap<String, (&'static str, Value)> = HashMap::new();
    for plural in ["accounts", "contacts"] {
        let mut cursor: Option<String> = None;
        loop {
            let mut url = format!("{base}/api/v1/{plural}?owner_id={owner}&limit=500");
            if let Some(c) = &cursor {
                url.push_str(&format!("&cursor={}", urlencoding::encode(c)));
            }
            let page = match send(http, Method::GET, url, token, None, None).await {
                Sent::Answered(StatusCode::OK, page) => page,
                Sent::Answered(s, v) => return Err(format!("listing {plural} got {s}: {v}")),
                Sent::Gone => return Err(format!("listing {plural}: no answer")),
            };
            for r in page["items"].as_array().into_iter().flatten() {
                let id = r["id"].as_str().unwrap_or_default().to_string();
                found.insert(id, (plural, r.clone()));
            }
            match page["next_cursor"].as_str() {
                Some(c) => cursor = Some(c.to_string()),
                None => break,
            }
        }
    }
    let checked = found.len();
    for ledger in ledgers {
        let mut l = ledger.lock().unwrap_or_else(|e| e.into_inner());
        for (id, e) in l.records.iter_mut() {
            let plural = e.acked.fields.plural();
            let Some((_, record)) = found.remove(id) else {
                return Err(format!(
                    "{plural} {id}, acknowledged as {} (version {}), is gone",
                    e.acked.fields.signature(),
                    e.acked.version
                ));
            };
            let now = (signature(plural, &record), record["version"].clone());
            let is = |v: &Version| now == (v.fields.signature(), json!(v.version));
            if is(&e.acked) {
                if e.pending.take().is_some() {
                    Counts::add(&counts.cut_off_not_done);
                }
            } else if let Some(p) = e.pending.clone().filter(|p| is(p)) {
                e.acked = p;
                e.pending = None;
                Counts::add(&counts.cut_off_done);
            } else {
                return Err(format!(
                    "{plural} {id} is {} (version {}); acknowledged as {} (version {}), cut off as {:?}",
                    now.0,
                    now.1,
                    e.acked.fields.signature(),
                    e.acked.version,
                    e.pending
                ));
            }
        }
    }
    // What is left was created without an answer: one of the creations sent, whole.
    for (id, (plural, record)) in found {
        let sig = signature(plural, &record);
        let sent = record["version"] == 1
            && ledgers.iter().any(|ledger| {
                let mut l = ledger.lock().unwrap_or_else(|e| e.into_inner());
                let Some(i) = l
                    .unanswered
                    .iter()
                    .position(|f| f.plural() == plural && f.signature() == sig)
                else {
                    return false;
                };
                let fields = l.unanswered.remove(i);
                l.acknowledged(id.clone(), fields);
                true
            });
        if !sent {
            return Err(format!(
                "{plural} {id} is there, but no writer sent it so: {record}"
            ));
        }
        Counts::add(&counts.cut_off_done);
    }
    for ledger in ledgers {
        let mut l = ledger.lock().unwrap_or_else(|e| e.into_inner());
        for _ in l.unanswered.drain(..) {
            Counts::add(&counts.cut_off_not_done);
        }
    }
    Ok(checked)
}

/// The import's state on disk, read in one statement (one snapshot).
#[derive(Debug, Clone)]
struct Snapshot {
    status: String,
    next_row: i64,
    created: i64,
    skipped: i64,
    rejected: i64,
    contacts: i64,
    accounts: i64,
    batches: i64,
}

/// An error's text, saying what failed.
fn failed<E: std::fmt::Debug>(what: &str) -> impl FnOnce(E) -> String + '_ {
    move |e| format!("{what}: {e:?}")
}

/// A copy of a SQLite database's files as a kill left them (the database, its write-ahead
/// log and the log's index), and its URL. The checks recover the copy's log; the restarted
/// server recovers the original's itself, from the same bytes, and need not wait for them.
fn copy_files(url: &str) -> Result<(tempfile::TempDir, String), String> {
    let path = url.strip_prefix("sqlite://").ok_or("not a SQLite URL")?;
    let copy = tempfile::tempdir().map_err(failed("a directory for the copy"))?;
    for suffix in ["", "-wal", "-shm"] {
        let from = format!("{path}{suffix}");
        if std::path::Path::new(&from).exists() {
            std::fs::copy(&from, copy.path().join(format!("copy.db{suffix}")))
                .map_err(failed(&from))?;
        }
    }
    let url = format!("sqlite://{}/copy.db", copy.path().display());
    Ok((copy, url))
}

/// Checks a database no server writes to (PostgreSQL's after a kill, or a copy of SQLite's
/// files): on SQLite its integrity, its foreign keys and its search indexes; on both, that
/// it holds exactly the import's committed batches, and never fewer rows than the last
/// time.
async fn check_database(
    url: &str,
    backend: Backend,
    import: Id,
    importer: Id,
    rows: i64,
    before: i64,
) -> Result<Snapshot, String> {
    let err = failed::<hamkor_store::StoreError>;
    let mut db = Db::connect(url)
        .await
        .map_err(err("opening the database"))?;
    let result: Result<Snapshot, String> = async {
        if backend == Backend::Sqlite {
            let rows = db
                .fetch_all(&Sql::new("PRAGMA integrity_check"))
                .await
                .map_err(err("integrity_check"))?;
            let said: Vec<String> = rows
                .iter()
                .map(|r| r.req_text("integrity_check").unwrap_or_default())
                .collect();
            if said != ["ok"] {
                return Err(format!("integrity_check: {said:?}"));
            }
            let broken = db
                .fetch_all(&Sql::new("PRAGMA foreign_key_check"))
                .await
                .map_err(err("foreign_key_check"))?;
            if !broken.is_empty() {
                return Err(format!(
                    "foreign_key_check: {} rows refer to rows that are not there",
                    broken.len()
                ));
            }
            // The full-text indexes against their tables (rank 1: the content too).
            for check in [
                "INSERT INTO contacts_search(contacts_search, rank) VALUES ('integrity-check', 1)",
                "INSERT INTO accounts_search(accounts_search, rank) VALUES ('integrity-check', 1)",
            ] {
                db.execute(&Sql::new(check)).await.map_err(err(check))?;
            }
        }
        let row = db
            .fetch_optional(
                &Sql::new(
                    "SELECT status, next_row, created, skipped, rejected, \
                     (SELECT COUNT(*) FROM contacts WHERE owner_id = $2) AS contacts, \
                     (SELECT COUNT(*) FROM accounts WHERE owner_id = $2) AS accounts, \
                     (SELECT COUNT(*) FROM import_batches WHERE import_id = $1) AS batches \
                     FROM imports WHERE id = $1",
                )
                .arg(import)
                .arg(importer),
            )
            .await
            .map_err(err("reading the import"))?
            .ok_or("the import is gone")?;
        let int = |c: &str| row.req_int(c).map_err(err(c));
        let s = Snapshot {
            status: row.req_text("status").map_err(err("status"))?,
            next_row: int("next_row")?,
            created: int("created")?,
            skipped: int("skipped")?,
            rejected: int("rejected")?,
            contacts: int("contacts")?,
            accounts: int("accounts")?,
            batches: int("batches")?,
        };
        let whole_batches = s.next_row % BATCH == 0 || s.next_row == rows;
        let ok = matches!(s.status.as_str(), "running" | "done")
            && (s.status == "running" || s.next_row == rows)
            && whole_batches
            && s.next_row >= before
            && s.contacts == s.next_row
            && s.accounts == s.next_row.min(COMPANIES)
            && s.created == s.contacts + s.accounts
            && (s.skipped, s.rejected) == (0, 0)
            && s.batches == (s.next_row + BATCH - 1) / BATCH;
        if ok {
            Ok(s)
        } else {
            Err(format!(
                "the import on disk is not its committed batches (before: {before} rows): {s:?}"
            ))
        }
    }
    .await;
    db.close().await;
    result
}

/// `hamkor serve` on `db` with its default durability settings, a one-second scheduler and
/// a two-second import claim (production: 5 and 60 seconds), so that a killed server's
/// import is taken up within seconds of the next start.
async fn serve(db: &str) -> (Child, String) {
    let listen = format!("127.0.0.1:{}", free_port());
    let mut child = hamkor(db)
        .env("HAMKOR_IMPORT_LEASE_SECS", LEASE_SECS.to_string())
        .env_remove("HAMKOR_SQLITE_SYNCHRONOUS")
        .arg("serve")
        .arg("--scheduler-seconds")
        .arg("1")
        .arg("--listen")
        .arg(&listen)
        .spawn()
        .expect("spawn hamkor");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let mut out = Vec::new();
    let up = tokio::time::timeout(Duration::from_secs(120), async {
        while let Ok(Some(line)) = lines.next_line().await {
            let up = line.contains("listening");
            out.push(line);
            if up {
                return true;
            }
        }
        false
    })
    .await;
    assert!(
        matches!(up, Ok(true)),
        "the server came up after a kill; it printed {out:?}"
    );
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    (child, format!("http://{listen}"))
}

/// `kill -9`, and the exit it causes.
async fn kill(child: &mut Child) {
    use std::os::unix::process::ExitStatusExt;
    child.start_kill().expect("SIGKILL");
    let status = child.wait().await.expect("wait for the killed server");
    assert_eq!(status.signal(), Some(9), "{status:?}");
}

/// The file: `rows` contacts, each with its own e-mail, phone and first name, at one of
/// [`COMPANIES`] companies.
fn contacts_file(rows: i64) -> Vec<u8> {
    let mut csv =
        String::from("First Name,Last Name,E-mail Address,Mobile Phone,Company,Job Title\n");
    for i in 0..rows {
        csv.push_str(&format!(
            "Ism{i},Familiya{},crash.{i}@import.example.uz,+998 90 {i:07},Firma {},Menejer\n",
            i % 97,
            i % COMPANIES
        ));
    }
    csv.into_bytes()
}

/// The import's state through the API.
async fn import_state(http: &reqwest::Client, base: &str, token: &str, id: Id) -> Option<Value> {
    match send(
        http,
        Method::GET,
        format!("{base}/api/v1/imports/{id}"),
        token,
        None,
        None,
    )
    .await
    {
        Sent::Answered(StatusCode::OK, v) => Some(v),
        _ => None,
    }
}

/// The window a kill's moment is drawn from, after the target is reached. It starts as the
/// first batch's time and then keeps the import on the kills' schedule whatever the
/// machine's load: narrower when a kill came after a batch past its target had been
/// written (the import running ahead, which would end it before the last kills), wider
/// when not (so that kills also come late in a batch, not only while a restarted server
/// reads back what the runs before it wrote).
struct Pace {
    window: Duration,
}

impl Pace {
    fn learn(&mut self, ahead: bool) {
        let w = if ahead {
            self.window * 3 / 4
        } else {
            self.window * 11 / 10
        };
        self.window = w.clamp(Duration::from_millis(50), Duration::from_secs(60));
    }
}

/// Waits, reading the database as a monitoring tool would, until the import has done
/// `target` rows and, when `taken_up`, the server started at `since` holds it: its claim
/// runs past `since` plus the claim's length, which the killed server's cannot. Returns
/// the rows done and whether that server held the import.
async fn await_moment(
    url: &str,
    id: Id,
    target: i64,
    taken_up: bool,
    since: chrono::DateTime<chrono::Utc>,
) -> Result<(i64, bool), String> {
    let mut db = Db::connect(url)
        .await
        .map_err(failed("opening the database"))?;
    let held_after = since + chrono::Duration::seconds(LEASE_SECS);
    let result = async {
        let mut last = (-1, Instant::now());
        loop {
            let row = db
                .fetch_optional(
                    &Sql::new("SELECT status, next_row, lease_until FROM imports WHERE id = $1")
                        .arg(id),
                )
                .await
                .map_err(failed("reading the import"))?
                .ok_or("the import is gone")?;
            let status = row.req_text("status").map_err(failed("status"))?;
            let rows = row.req_int("next_row").map_err(failed("next_row"))?;
            let lease = row.ts("lease_until").map_err(failed("lease_until"))?;
            if status != "running" && status != "done" {
                return Err(format!("the import is {status}"));
            }
            let held = lease.is_some_and(|t| t.0 >= held_after);
            if status == "done" || (rows >= target && (held || !taken_up)) {
                return Ok((rows, held));
            }
            if rows > last.0 {
                last = (rows, Instant::now());
            }
            if last.1.elapsed() > Duration::from_secs(600) {
                return Err(format!(
                    "the import made no progress for ten minutes (at {rows} rows)"
                ));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    .await;
    db.close().await;
    result
}

/// Makes the import's owner and the writers' user with their API tokens.
async fn users(url: &str) -> ((Id, String), (Id, String)) {
    let db = Db::connect(url).await.expect("open the database");
    db.migrate().await.expect("migrate");
    let app = hamkor_app::App::new(db.clone());
    let mut made = Vec::new();
    for (email, role) in [
        ("importer@crash.hamkor.uz", "administrator"),
        ("writer@crash.hamkor.uz", "sales"),
    ] {
        let user = app
            .create_user(
                None,
                hamkor_app::users::UserRequest {
                    email: email.into(),
                    name: email.into(),
                    role: role.into(),
                    team: None,
                    language: Some("en".into()),
                    password: Some(PASSWORD.into()),
                },
            )
            .await
            .expect("create user");
        let token = app.create_token(user.id, "crash").await.expect("token");
        made.push((user.id, token));
    }
    db.close().await;
    let writer = made.pop().expect("writer");
    (made.pop().expect("importer"), writer)
}

async fn crash_test(backend: Backend) {
    let plan = Plan::from_env();
    let Some((url, _dir)) = fresh_database(backend).await else {
        eprintln!("skipped: set HAMKOR_TEST_DATABASE_URL to run on PostgreSQL");
        return;
    };
    println!(
        "crash test on {backend:?}: {} kills during a {}-row import, {WRITERS} API writers; \
         seed {} (HAMKOR_CRASH_SEED={} replays it)",
        plan.kills, plan.rows, plan.seed, plan.seed
    );
    if let Err(e) = run(backend, plan, &url).await {
        panic!(
            "crash test on {backend:?} (HAMKOR_CRASH_SEED={} HAMKOR_CRASH_CYCLES={} HAMKOR_CRASH_ROWS={}): {e}",
            plan.seed, plan.kills, plan.rows
        );
    }
}

/// The API clients: their records, the server they talk to, and whether they have
/// stopped to wait for the next one.
struct Writers {
    live: watch::Sender<Live>,
    parked: Vec<Arc<AtomicU64>>,
    ledgers: Vec<Arc<Mutex<Ledger>>>,
    tasks: Vec<tokio::task::JoinHandle<Result<(), String>>>,
    counts: Arc<Counts>,
}

impl Writers {
    fn start(plan: &Plan, http: &reqwest::Client, token: &str, base: &str) -> Writers {
        let counts = Arc::new(Counts::default());
        let (live, watching) = watch::channel(Live {
            generation: 0,
            base: Some(base.to_string()),
            stop: false,
        });
        let mut w = Writers {
            live,
            parked: Vec::new(),
            ledgers: Vec::new(),
            tasks: Vec::new(),
            counts,
        };
        for c in 0..WRITERS {
            let ledger = Arc::new(Mutex::new(Ledger::default()));
            let parked = Arc::new(AtomicU64::new(u64::MAX));
            w.tasks.push(tokio::spawn(writer(
                c,
                plan.seed,
                http.clone(),
                token.to_string(),
                watching.clone(),
                parked.clone(),
                ledger.clone(),
                w.counts.clone(),
            )));
            w.ledgers.push(ledger);
            w.parked.push(parked);
        }
        w
    }

    /// After a kill: every writer has noticed and waits (its unanswered writes noted).
    async fn wait_parked(&mut self) -> Result<(), String> {
        let generation = self.live.borrow().generation;
        self.live.send_modify(|l| l.base = None);
        let since = Instant::now();
        while self
            .parked
            .iter()
            .any(|p| p.load(Ordering::SeqCst) != generation)
        {
            if let Some(i) = self.tasks.iter().position(|t| t.is_finished()) {
                return Err(match self.tasks.swap_remove(i).await {
                    Ok(Err(e)) => e,
                    Ok(Ok(())) => "a writer stopped".into(),
                    Err(e) => format!("a writer panicked: {e}"),
                });
            }
            if since.elapsed() > Duration::from_secs(180) {
                return Err("the writers did not notice the kill".into());
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        Ok(())
    }

    fn resume(&self, base: &str) {
        let generation = self.live.borrow().generation + 1;
        self.live.send_replace(Live {
            generation,
            base: Some(base.to_string()),
            stop: false,
        });
    }

    async fn stop(self) -> Result<(Vec<Arc<Mutex<Ledger>>>, Arc<Counts>), String> {
        self.live.send_modify(|l| l.stop = true);
        for t in self.tasks {
            t.await.map_err(|e| format!("a writer panicked: {e}"))??;
        }
        Ok((self.ledgers, self.counts))
    }

    fn acknowledged(&self) -> u64 {
        Counts::get(&self.counts.created) + Counts::get(&self.counts.changed)
    }
}

/// Uploads the file and runs the import: every row a new contact. Rows like an earlier
/// one are created anyway (not skipped), so a batch written twice would show as a second
/// contact with the same e-mail instead of hiding behind the duplicate check.
async fn start_import(
    http: &reqwest::Client,
    base: &str,
    token: &str,
    rows: i64,
) -> Result<Id, String> {
    let upload = http
        .post(format!(
            "{base}/api/v1/imports?object=contacts&file_name=crash.csv"
        ))
        .bearer_auth(token)
        .body(contacts_file(rows))
        .send()
        .await
        .map_err(|e| format!("uploading: {e}"))?;
    let status = upload.status();
    let v: Value = upload.json().await.map_err(|e| format!("uploading: {e}"))?;
    if status != StatusCode::CREATED {
        return Err(format!("uploading got {status}: {v}"));
    }
    let import: Id = v["id"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .ok_or(format!("no import id in {v}"))?;
    match send(
        http,
        Method::POST,
        format!("{base}/api/v1/imports/{import}/run"),
        token,
        Some(json!({
            "columns": ["first_name", "last_name", "emails", "phones", "account", "position"],
            "on_duplicate": "create",
        })),
        None,
    )
    .await
    {
        Sent::Answered(StatusCode::ACCEPTED, _) => Ok(import),
        Sent::Answered(s, v) => Err(format!("starting the import got {s}: {v}")),
        Sent::Gone => Err("starting the import: no answer".into()),
    }
}

/// What a run counted, for its closing line.
#[derive(Debug, Default)]
struct Tally {
    kills: usize,
    /// Kills that came while the import was running, and among them those after the
    /// restarted server had taken it up again.
    during_import: usize,
    taken_up: usize,
    /// Checks of the database after a kill (and at the end), on SQLite with
    /// `integrity_check`, `foreign_key_check` and the search indexes' own check.
    database_checks: usize,
    records_checked: usize,
}

async fn run(backend: Backend, plan: Plan, url: &str) -> Result<(), String> {
    let started = Instant::now();
    let mut rng = StdRng::seed_from_u64(plan.seed);
    let ((importer, import_token), (writer_id, write_token)) = users(url).await;
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(120))
        .build()
        .expect("client");
    let mut since = chrono::Utc::now();
    let (mut server, mut base) = serve(url).await;
    // The writers start first, so the whole import runs among their writes.
    let mut writers = Writers::start(&plan, &http, &write_token, &base);
    let run_at = Instant::now();
    let import = start_import(&http, &base, &import_token, plan.rows).await?;
    // The first batch gives the pace the kills are timed by.
    await_moment(url, import, BATCH, true, since).await?;
    let mut pace = Pace {
        window: run_at.elapsed(),
    };
    println!(
        "first batch of {BATCH} rows in {:.1} s",
        pace.window.as_secs_f64()
    );

    let mut tally = Tally::default();
    let mut checking: Option<tokio::task::JoinHandle<Result<i64, String>>> = None;
    for k in 0..plan.kills {
        // Mostly after the restarted server has taken the import up again (reading back
        // what was written, skipping those rows, writing); now and then before, while it
        // starts and waits for the dead server's claim to run out.
        let taken_up = !rng.random_ratio(1, 4);
        let target = plan.target(k);
        let (done, held) = await_moment(url, import, target, taken_up, since).await?;
        let wait = Duration::from_millis(rng.random_range(0..=pace.window.as_millis() as u64));
        tokio::time::sleep(wait).await;
        let state = import_state(&http, &base, &import_token, import).await;
        kill(&mut server).await;
        let at_kill = state
            .as_ref()
            .and_then(|v| v["rows_done"].as_i64())
            .unwrap_or(done);
        if state.is_some_and(|v| v["status"] == "running") {
            tally.during_import += 1;
            tally.taken_up += usize::from(held);
        }
        pace.learn(at_kill >= target + BATCH);
        tally.kills += 1;
        writers.wait_parked().await?;
        // The database as the kill left it is checked before the server comes back: on
        // PostgreSQL at once, on SQLite in a copy, beside the next round (the checks of
        // 100,000 rows take seconds, in which the import would run on unkilled).
        let before = match checking.take() {
            Some(c) => c.await.map_err(|e| format!("a check panicked: {e}"))??,
            None => 0,
        };
        tally.database_checks += 1;
        let rows = plan.rows;
        checking = Some(if backend == Backend::Sqlite {
            let (dir, copy) = copy_files(url)?;
            tokio::spawn(async move {
                let s = check_database(&copy, backend, import, importer, rows, before).await;
                drop(dir);
                s.map(|s| s.next_row)
            })
        } else {
            let s = check_database(url, backend, import, importer, rows, before).await?;
            tokio::spawn(async move { Ok(s.next_row) })
        });
        since = chrono::Utc::now();
        (server, base) = serve(url).await;
        tally.records_checked += check_writes(
            &http,
            &base,
            &write_token,
            writer_id,
            &writers.ledgers,
            &writers.counts,
        )
        .await?;
        writers.resume(&base);
        println!(
            "kill {}/{}: target {target} rows, {done} done, killed {} ms later ({}) at {} rows; {} writes acknowledged so far",
            k + 1,
            plan.kills,
            wait.as_millis(),
            if held {
                "the import taken up again"
            } else {
                "the import not yet taken up again"
            },
            at_kill,
            writers.acknowledged(),
        );
    }

    // The import goes on to its end; then the writers stop and everything is checked once
    // more, through the API and in the database.
    await_moment(url, import, plan.rows + 1, false, since).await?;
    let (ledgers, counts) = writers.stop().await?;
    tally.records_checked +=
        check_writes(&http, &base, &write_token, writer_id, &ledgers, &counts).await?;
    check_import(&http, &base, &import_token, import, importer, plan.rows).await?;
    stop(server).await;
    let before = match checking {
        Some(c) => c.await.map_err(|e| format!("a check panicked: {e}"))??,
        None => 0,
    };
    let s = check_database(url, backend, import, importer, plan.rows, before).await?;
    tally.database_checks += 1;
    check_counts(url, import, importer, plan.rows).await?;
    println!(
        "crash test on {backend:?} passed in {:.0} s: {} kills ({} while the import was \
         running, {} of them after the restarted server had taken it up); {} database \
         checks ok{}; import done with {} contacts and {} accounts in {} batches, \
         0 duplicate e-mails; {} creations and {} changes acknowledged by the API, all present \
         ({} record checks); of the writes cut off by a kill {} were done, {} not; {} \
         answered 503",
        started.elapsed().as_secs_f64(),
        tally.kills,
        tally.during_import,
        tally.taken_up,
        tally.database_checks,
        if backend == Backend::Sqlite {
            " (integrity_check, foreign_key_check, search indexes)"
        } else {
            ""
        },
        s.contacts,
        s.accounts,
        s.batches,
        Counts::get(&counts.created),
        Counts::get(&counts.changed),
        tally.records_checked,
        Counts::get(&counts.cut_off_done),
        Counts::get(&counts.cut_off_not_done),
        Counts::get(&counts.busy),
    );
    Ok(())
}

/// The finished import through the API: done with every row of the file, each a new
/// contact, and the API lists exactly that many.
async fn check_import(
    http: &reqwest::Client,
    base: &str,
    token: &str,
    import: Id,
    importer: Id,
    rows: i64,
) -> Result<(), String> {
    let job = import_state(http, base, token, import)
        .await
        .ok_or("reading the import")?;
    let fields = [
        "status",
        "rows_done",
        "total_rows",
        "created",
        "updated",
        "skipped",
        "rejected",
    ];
    let got: Vec<&Value> = fields.iter().map(|f| &job[*f]).collect();
    let expected = [
        json!("done"),
        json!(rows),
        json!(rows),
        json!(rows + COMPANIES),
        json!(0),
        json!(0),
        json!(0),
    ];
    if got != expected.iter().collect::<Vec<_>>() {
        return Err(format!("the import ended as {job}"));
    }
    let total = match send(
        http,
        Method::GET,
        format!("{base}/api/v1/contacts?owner_id={importer}&count=true&limit=1"),
        token,
        None,
        None,
    )
    .await
    {
        Sent::Answered(StatusCode::OK, v) => v["total"].as_i64(),
        _ => None,
    };
    if total != Some(rows) {
        return Err(format!(
            "the API lists {total:?} imported contacts, not {rows}"
        ));
    }
    Ok(())
}

/// The imported records in the database: one contact per row, no e-mail or name twice,
/// one account per company, each contact linked to its company, one audit entry.
async fn check_counts(url: &str, import: Id, importer: Id, rows: i64) -> Result<(), String> {
    let mut db = Db::connect(url)
        .await
        .map_err(failed("opening the database"))?;
    let row = db
        .fetch_optional(
            &Sql::new(
                "SELECT COUNT(*) AS n, COUNT(DISTINCT emails) AS emails, \
                 COUNT(DISTINCT first_name) AS names, \
                 (SELECT COUNT(DISTINCT name) FROM accounts WHERE owner_id = $1) AS companies, \
                 (SELECT COUNT(*) FROM contact_accounts l JOIN contacts c ON c.id = l.contact_id \
                  WHERE c.owner_id = $1) AS links, \
                 (SELECT COUNT(*) FROM audit_log WHERE action = 'import' AND record_id = $2) AS audits \
                 FROM contacts WHERE owner_id = $1",
            )
            .arg(importer)
            .arg(import),
        )
        .await;
    db.close().await;
    let row = row.map_err(failed("counting"))?.ok_or("no counts")?;
    let counted: Vec<i64> = ["n", "emails", "names", "companies", "links", "audits"]
        .iter()
        .map(|c| row.req_int(c).unwrap_or(-1))
        .collect();
    if counted != [rows, rows, rows, COMPANIES, rows, 1] {
        return Err(format!(
            "(contacts, distinct e-mails, distinct first names, distinct companies, links, \
             audit entries) = {counted:?}, not ({rows}, {rows}, {rows}, {COMPANIES}, {rows}, 1)"
        ));
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_during_an_import_and_api_writes_sqlite() {
    crash_test(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_during_an_import_and_api_writes_postgres() {
    crash_test(Backend::Postgres).await;
}
