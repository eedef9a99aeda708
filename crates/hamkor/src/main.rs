//! `hamkor`: the CRM in one binary. `hamkor serve` runs it; the other commands
//! administer it from the shell. Settings come from flags, then `HAMKOR_*` variables,
//! then `hamkor.toml`, then defaults.

use anyhow::{Context, Result, bail};
use clap::{Args, Parser, Subcommand};
use hamkor_app::App;
use hamkor_app::mail::{Mail, Mailer, SmtpSecurity, SmtpSettings};
use hamkor_app::users::UserRequest;
use hamkor_store::Db;
use std::io::Read;

#[derive(Parser)]
#[command(name = "hamkor", version, about = "Hamkor — a fast self-hosted CRM")]
struct Cli {
    #[command(flatten)]
    settings: Settings,
    #[command(subcommand)]
    command: Command,
}

#[derive(Args, Clone, Default)]
struct Settings {
    /// Address to listen on.
    #[arg(long, env = "HAMKOR_LISTEN", global = true)]
    listen: Option<String>,
    /// sqlite://path/to/file.db or postgres://user:password@host/db
    #[arg(long, env = "HAMKOR_DATABASE_URL", global = true)]
    database: Option<String>,
    /// The address users reach Hamkor at; used in links and e-mails.
    #[arg(long, env = "HAMKOR_BASE_URL", global = true)]
    base_url: Option<String>,
    /// The largest file users may attach to a record, in MiB (default 10).
    #[arg(long, env = "HAMKOR_MAX_UPLOAD_MB", global = true)]
    max_upload_mb: Option<u32>,
    /// The SMTP server that sends Hamkor's e-mail; without it, no mail is sent. The
    /// password comes from HAMKOR_SMTP_PASSWORD or `smtp_password` in the settings file.
    #[arg(long, env = "HAMKOR_SMTP_HOST", global = true)]
    smtp_host: Option<String>,
    /// SMTP port (default 587; 465 for tls, 25 for none).
    #[arg(long, env = "HAMKOR_SMTP_PORT", global = true)]
    smtp_port: Option<u16>,
    /// starttls (default), tls, or none (only for a relay on this machine).
    #[arg(long, env = "HAMKOR_SMTP_SECURITY", global = true)]
    smtp_security: Option<String>,
    /// SMTP login, if the server wants one.
    #[arg(long, env = "HAMKOR_SMTP_USERNAME", global = true)]
    smtp_username: Option<String>,
    /// The sender of Hamkor's e-mail (default "Hamkor <hamkor@localhost>").
    #[arg(long, env = "HAMKOR_MAIL_FROM", global = true)]
    mail_from: Option<String>,
    /// How often the scheduler looks for due reminders, in seconds (default 5).
    #[arg(long, env = "HAMKOR_SCHEDULER_SECONDS", global = true)]
    scheduler_seconds: Option<u64>,
    /// Failed logins per account within the window before further attempts are refused
    /// (default 5).
    #[arg(long, env = "HAMKOR_LOGIN_MAX_FAILURES", global = true)]
    login_max_failures: Option<i64>,
    /// Failed logins per client address within the window (default 20).
    #[arg(long, env = "HAMKOR_LOGIN_MAX_FAILURES_PER_IP", global = true)]
    login_max_failures_per_ip: Option<i64>,
    /// The window failed logins are counted in, in minutes (default 15).
    #[arg(long, env = "HAMKOR_LOGIN_WINDOW_MINUTES", global = true)]
    login_window_minutes: Option<i64>,
    /// Reverse proxies whose X-Forwarded-For is believed: addresses or CIDR ranges,
    /// separated by commas (default: none, the TCP peer is the client).
    #[arg(long, env = "HAMKOR_TRUSTED_PROXIES", global = true)]
    trusted_proxies: Option<String>,
    /// SQLite only: normal (default; a commit survives an application crash) or full (it
    /// also survives a power loss, at a disk flush per commit).
    #[arg(long, env = "HAMKOR_SQLITE_SYNCHRONOUS", global = true)]
    sqlite_synchronous: Option<String>,
    /// Requests served at once (default 128); one more is answered 503 with Retry-After.
    #[arg(long, env = "HAMKOR_MAX_CONCURRENT_REQUESTS", global = true)]
    max_concurrent_requests: Option<usize>,
    /// Settings file (optional).
    #[arg(
        long,
        env = "HAMKOR_CONFIG",
        global = true,
        default_value = "hamkor.toml"
    )]
    config: String,
}

#[derive(serde::Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct FileSettings {
    listen: Option<String>,
    database: Option<String>,
    base_url: Option<String>,
    max_upload_mb: Option<u32>,
    smtp_host: Option<String>,
    smtp_port: Option<u16>,
    smtp_security: Option<String>,
    smtp_username: Option<String>,
    smtp_password: Option<String>,
    mail_from: Option<String>,
    scheduler_seconds: Option<u64>,
    login_max_failures: Option<i64>,
    login_max_failures_per_ip: Option<i64>,
    login_window_minutes: Option<i64>,
    trusted_proxies: Option<String>,
    sqlite_synchronous: Option<String>,
    max_concurrent_requests: Option<usize>,
}

/// How long connecting to the SMTP server, or one send, may take.
const SMTP_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// The resolved settings.
struct Config {
    listen: String,
    database: String,
    base_url: String,
    max_upload_mb: u32,
    /// `None`: no `smtp_host`, mail is off.
    smtp: Option<SmtpSettings>,
    /// How often the scheduler looks for due reminders.
    scheduler_every: std::time::Duration,
    login_limits: hamkor_app::auth::LoginLimits,
    trusted_proxies: Vec<ipnet::IpNet>,
    /// SQLite's `synchronous` pragma.
    sqlite_synchronous: hamkor_store::Synchronous,
    /// Requests served at once before 503.
    max_concurrent_requests: usize,
}

impl Settings {
    fn resolve(&self) -> Result<Config> {
        let file: FileSettings = match std::fs::read_to_string(&self.config) {
            Ok(text) => {
                toml::from_str(&text).with_context(|| format!("{} is not valid", self.config))?
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => FileSettings::default(),
            Err(e) => return Err(e).with_context(|| format!("cannot read {}", self.config)),
        };
        let smtp = self.smtp(&file)?;
        let listen = self
            .listen
            .clone()
            .or(file.listen)
            .unwrap_or_else(|| "127.0.0.1:8080".into());
        let database = self
            .database
            .clone()
            .or(file.database)
            .unwrap_or_else(|| "sqlite://hamkor-data/hamkor.db".into());
        let base_url = self
            .base_url
            .clone()
            .or(file.base_url)
            .unwrap_or_else(|| format!("http://{listen}"));
        let max_upload_mb = self.max_upload_mb.or(file.max_upload_mb).unwrap_or(10);
        if !(1..=1024).contains(&max_upload_mb) {
            anyhow::bail!("max_upload_mb must be between 1 and 1024, not {max_upload_mb}");
        }
        let scheduler_seconds = self
            .scheduler_seconds
            .or(file.scheduler_seconds)
            .unwrap_or(5);
        if !(1..=3600).contains(&scheduler_seconds) {
            anyhow::bail!("scheduler_seconds must be between 1 and 3600, not {scheduler_seconds}");
        }
        let defaults = hamkor_app::auth::LoginLimits::default();
        let login_limits = hamkor_app::auth::LoginLimits {
            per_account: self
                .login_max_failures
                .or(file.login_max_failures)
                .unwrap_or(defaults.per_account),
            per_ip: self
                .login_max_failures_per_ip
                .or(file.login_max_failures_per_ip)
                .unwrap_or(defaults.per_ip),
            window_minutes: self
                .login_window_minutes
                .or(file.login_window_minutes)
                .unwrap_or(defaults.window_minutes),
        };
        if !(1..=1000).contains(&login_limits.per_account)
            || !(1..=100_000).contains(&login_limits.per_ip)
        {
            anyhow::bail!(
                "login_max_failures must be between 1 and 1000 and login_max_failures_per_ip between 1 and 100000"
            );
        }
        if !(1..=1440).contains(&login_limits.window_minutes) {
            anyhow::bail!("login_window_minutes must be between 1 and 1440");
        }
        let trusted_proxies = hamkor_app::security::parse_networks(
            &self
                .trusted_proxies
                .clone()
                .or(file.trusted_proxies)
                .unwrap_or_default(),
        )
        .map_err(|bad| {
            anyhow::anyhow!("trusted_proxies: {bad:?} is not an address or a CIDR range")
        })?;
        let sqlite_synchronous = match self
            .sqlite_synchronous
            .clone()
            .or(file.sqlite_synchronous.clone())
        {
            Some(v) => v.parse()?,
            None => hamkor_store::Synchronous::Normal,
        };
        let max_concurrent_requests = self
            .max_concurrent_requests
            .or(file.max_concurrent_requests)
            .unwrap_or(hamkor_web::overload::DEFAULT_MAX_CONCURRENT_REQUESTS);
        if !(1..=100_000).contains(&max_concurrent_requests) {
            anyhow::bail!(
                "max_concurrent_requests must be between 1 and 100000, not {max_concurrent_requests}"
            );
        }
        Ok(Config {
            max_concurrent_requests,
            login_limits,
            trusted_proxies,
            sqlite_synchronous,
            listen,
            database,
            base_url: base_url.trim_end_matches('/').to_string(),
            max_upload_mb,
            smtp,
            scheduler_every: std::time::Duration::from_secs(scheduler_seconds),
        })
    }

    /// The SMTP settings, or `None` when no `smtp_host` is set. The password is read
    /// from the environment or the file only: a flag would show it in `ps`.
    fn smtp(&self, file: &FileSettings) -> Result<Option<SmtpSettings>> {
        let nonempty = |v: Option<String>| v.filter(|v| !v.trim().is_empty());
        let Some(host) = nonempty(self.smtp_host.clone().or(file.smtp_host.clone())) else {
            return Ok(None);
        };
        let security = match nonempty(self.smtp_security.clone().or(file.smtp_security.clone())) {
            Some(s) => s.parse::<SmtpSecurity>()?,
            None => SmtpSecurity::StartTls,
        };
        let password =
            nonempty(std::env::var("HAMKOR_SMTP_PASSWORD").ok()).or(file.smtp_password.clone());
        let smtp = SmtpSettings {
            host: host.trim().to_string(),
            port: self
                .smtp_port
                .or(file.smtp_port)
                .unwrap_or(security.default_port()),
            security,
            username: nonempty(self.smtp_username.clone().or(file.smtp_username.clone())),
            password,
            from: nonempty(self.mail_from.clone().or(file.mail_from.clone()))
                .unwrap_or_else(|| "Hamkor <hamkor@localhost>".into()),
            timeout: SMTP_TIMEOUT,
        };
        smtp.validate()?;
        Ok(Some(smtp))
    }
}

#[derive(Subcommand)]
enum Command {
    /// Migrate the database if needed and serve the web UI and the API.
    Serve {
        /// Fill an empty database with a demo company.
        #[arg(long)]
        demo: bool,
    },
    /// Bring the database to the current schema and exit.
    Migrate,
    /// Fill the database with deterministic synthetic data for benchmarks and load tests.
    Generate {
        /// How many contacts.
        #[arg(long, default_value_t = 10_000)]
        contacts: usize,
        /// How many accounts (default: a fifth of the contacts).
        #[arg(long)]
        accounts: Option<usize>,
        /// How many interactions (default: five per contact; the first account gets
        /// 10,000 of them when there are 20,000 or more).
        #[arg(long)]
        interactions: Option<usize>,
        /// The same seed gives the same data.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Salespeople, in teams of five (default 10: two teams).
        #[arg(long)]
        users: Option<usize>,
        /// Tasks spread over the salespeople: open, in progress, done, accepted…;
        /// deadlines from last month to next month, some without one.
        #[arg(long, default_value_t = 0)]
        tasks: usize,
        /// Meetings in this month and the next, each with one to three salespeople.
        #[arg(long, default_value_t = 0)]
        events: usize,
        /// Also give this user (e.g. toshkent.2@hamkor.local) --busy-tasks unfinished
        /// tasks and --busy-events meetings this month.
        #[arg(long, value_name = "EMAIL")]
        busy_user: Option<String>,
        /// The busy user's unfinished tasks.
        #[arg(long, default_value_t = 10_000, requires = "busy_user")]
        busy_tasks: usize,
        /// The busy user's meetings this month.
        #[arg(long, default_value_t = 2_000, requires = "busy_user")]
        busy_events: usize,
        /// Deals over the pipelines (a second one, "Projects", is added when there is
        /// only one), created over the last two years, open, won or lost, with their
        /// stage history.
        #[arg(long, default_value_t = 0)]
        deals: usize,
        /// Write the accounts and contacts as CSV files for the importer into DIR
        /// (accounts.csv, contacts.csv) instead of into the database.
        #[arg(long, value_name = "DIR")]
        csv: Option<std::path::PathBuf>,
    },
    /// Import a file (CSV, XLSX, XLS, ODS, vCard) into accounts, contacts, leads,
    /// products or interactions: the same importer as the web UI. Columns are mapped by
    /// their headers (or a saved mapping); rows the check rejects are written to
    /// FILE.rejected.csv.
    Import(ImportArgs),
    /// User administration.
    #[command(subcommand)]
    User(UserCommand),
    /// API tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Export a list to a file: the same exporter as the web UI and the API, with the
    /// rights of --user (default: the first active administrator). Logged in the audit.
    Export(ExportArgs),
    /// Write a consistent copy of the whole database to FILE while the server runs and
    /// users work: one gzip file of JSON lines that either engine can restore. `-` writes
    /// to standard output.
    Backup {
        /// Where to write the backup (written as FILE.part, renamed when complete).
        file: std::path::PathBuf,
    },
    /// Restore a backup into a new, empty database of either engine (so SQLite can move
    /// to PostgreSQL), check every table against the backup's checksums, and exit with 1
    /// if any differs; then nothing is kept. Run it before the first `serve`.
    Restore {
        /// The backup file; `-` reads standard input.
        file: std::path::PathBuf,
        /// Only read the file and check it against its checksums; touch no database.
        #[arg(long)]
        check: bool,
    },
    /// Send a test e-mail with the SMTP settings; exits with 1 if it cannot be sent.
    CheckMail {
        /// Who gets the test message.
        #[arg(long)]
        to: String,
    },
}

#[derive(Args)]
struct ImportArgs {
    /// accounts, contacts, leads, products or interactions.
    object: String,
    /// The file.
    file: std::path::PathBuf,
    /// Check every row and report what would happen; write nothing.
    #[arg(long)]
    dry_run: bool,
    /// Whose rights apply and who owns the new records (default: the first active
    /// administrator).
    #[arg(long, value_name = "EMAIL")]
    user: Option<String>,
    /// Rows like an existing record or an earlier row: skip, update or create.
    #[arg(long, default_value = "skip")]
    on_duplicate: String,
    /// Rows whose `id` column names a record: update or skip.
    #[arg(long, default_value = "update")]
    on_update: String,
    /// A spreadsheet's sheet (default: the first).
    #[arg(long)]
    sheet: Option<String>,
    /// A mapping saved in the web UI or the API, by name (default: from the headers).
    #[arg(long)]
    mapping: Option<String>,
    /// Write nothing if any row is bad (default: import the good rows).
    #[arg(long)]
    all_or_nothing: bool,
    /// Read 01/02/2024 as 2 January (default: as 1 February).
    #[arg(long)]
    month_first: bool,
}

#[derive(Args)]
struct ExportArgs {
    /// What to export: accounts, contacts, interactions, needs, tasks, events, deals,
    /// products, leads or documents (singular names work too).
    object: String,
    /// Where to write it; `-` for standard output. The format follows the extension
    /// (.csv, .xlsx, .vcf) unless --format says otherwise.
    file: String,
    /// The user (e-mail) whose rights and language apply: only what they may see is
    /// exported. Default: the first active administrator.
    #[arg(long, value_name = "EMAIL")]
    user: Option<String>,
    /// csv, xlsx or vcf (contacts only).
    #[arg(long)]
    format: Option<String>,
    /// A list filter as the API takes it: `kind=client`, `created_at[gte]=2026-01-01`,
    /// `custom.budget[gt]=1000`. Repeat for more; all must hold.
    #[arg(long = "filter", value_name = "FIELD=VALUE")]
    filters: Vec<String>,
    /// Search text, as the list's search box.
    #[arg(long)]
    q: Option<String>,
    /// Sort, as the list takes it: `name`, `-created_at`, `last_name,first_name`.
    #[arg(long, allow_hyphen_values = true)]
    sort: Option<String>,
    /// Comma-separated columns (field names, custom.<key>, owner_id, created_at,
    /// updated_at, id; contacts also name and accounts). Default: every field.
    #[arg(long)]
    columns: Option<String>,
    /// CSV only: comma (default), semicolon or tab.
    #[arg(long)]
    delimiter: Option<String>,
}

#[derive(Subcommand)]
enum UserCommand {
    /// Create a user; without --password-stdin, prints a one-time setup link.
    Create {
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: String,
        #[arg(long)]
        role: String,
        #[arg(long)]
        team: Option<String>,
        #[arg(long)]
        language: Option<String>,
        #[arg(long)]
        password_stdin: bool,
    },
    /// List users.
    List,
    /// Set a user's password (read from standard input); their sessions end.
    SetPassword { email: String },
    /// Disable a user; their sessions and tokens stop working at once.
    Disable { email: String },
    /// Turn a user's two-factor authentication off (a lost phone); their sessions end.
    #[command(name = "reset-2fa")]
    ResetTwoFactor { email: String },
}

#[derive(Subcommand)]
enum TokenCommand {
    /// Create an API token; it is printed once, as the last line.
    Create {
        #[arg(long)]
        user: String,
        #[arg(long)]
        name: String,
    },
}

/// Keeps glibc's malloc from raising its mmap threshold. By default each big block freed
/// raises the threshold to its size (up to 32 MiB), so later blocks of that size (an
/// import's batch statements and checked batches, several MiB each) come from the heap,
/// where freed space is reused piecemeal and stays resident: a 1,000,000-row import peaked
/// at 301 MB with the moving threshold and at 287 MB with this fixed one. Blocks of 1 MiB
/// or more get mappings of their own, given back whole when freed.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn fix_malloc_threshold() {
    // SAFETY: mallopt only sets a malloc parameter (under malloc's own lock), and this runs
    // before the runtime starts any other thread.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 20);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn fix_malloc_threshold() {}

fn main() -> Result<()> {
    fix_malloc_threshold();
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(run())
}

async fn run() -> Result<()> {
    let cli = Cli::parse();
    // A backup or restore reads and writes whole tables, the generator builds whole
    // indexes: sqlx's "slow statement" warning would fire on every large one, so it is left
    // out there unless HAMKOR_LOG asks.
    init_logging(matches!(
        cli.command,
        Command::Backup { .. } | Command::Restore { .. } | Command::Generate { .. }
    ));
    let config = cli.settings.resolve()?;
    if let Command::Generate {
        csv: Some(dir),
        contacts,
        accounts,
        seed,
        ..
    } = &cli.command
    {
        // Needs no database.
        let sizes = hamkor_app::generate::Sizes {
            contacts: *contacts,
            accounts: *accounts,
            interactions: Some(0),
        };
        let (dir, seed) = (dir.clone(), *seed);
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("cannot create {}", dir.display()))?;
        let started = std::time::Instant::now();
        let (a, c) = tokio::task::spawn_blocking(move || {
            hamkor_app::generate::generate_csv(sizes, seed, &dir, |_, _| {})
        })
        .await?
        .map_err(|e| anyhow::anyhow!(e))?;
        println!(
            "Wrote {a} accounts and {c} contacts as CSV in {:.1} s.",
            started.elapsed().as_secs_f64()
        );
        return Ok(());
    }
    if let Command::CheckMail { to } = &cli.command {
        // Needs no database. One line on failure, whatever RUST_BACKTRACE says.
        if let Err(e) = check_mail(&config, to).await {
            eprintln!("Error: {e}");
            std::process::exit(1);
        }
        return Ok(());
    }
    if let Command::Restore { file, check: true } = &cli.command {
        let m = hamkor_store::backup::check_file(file)
            .await
            .with_context(|| format!("{} cannot be restored", file.display()))?;
        print_manifest(&m);
        println!(
            "{}: every table matches its checksum ({} rows).",
            file.display(),
            m.rows
        );
        return Ok(());
    }
    let db = Db::connect_with(&config.database, config.sqlite_synchronous)
        .await
        .with_context(|| format!("cannot open the database {}", redact(&config.database)))?;
    if let Command::Restore { file, .. } = &cli.command {
        restore_command(&db, file).await?;
        db.close().await;
        return Ok(());
    }
    db.migrate().await.context("database migration failed")?;
    if let Command::Backup { file } = &cli.command {
        backup_command(&db, file).await?;
        db.close().await;
        return Ok(());
    }
    let app = App::new(db.clone());
    app.refresh_search_keys()
        .await
        .map_err(|e| anyhow::anyhow!("refreshing the search index failed: {e:?}"))?;
    app.refresh_dup_keys()
        .await
        .map_err(|e| anyhow::anyhow!("refreshing the duplicate keys failed: {e:?}"))?;
    match cli.command {
        Command::Migrate => println!("The database is at the current schema."),
        Command::Generate {
            contacts,
            accounts,
            interactions,
            seed,
            users,
            tasks,
            events,
            busy_user,
            busy_tasks,
            busy_events,
            deals,
            csv: _,
        } => {
            let started = std::time::Instant::now();
            let sizes = hamkor_app::generate::Sizes {
                contacts,
                accounts,
                interactions,
            };
            let planning = hamkor_app::generate::PlanningSizes {
                salespeople: users,
                tasks,
                events,
                busy_user,
                busy_tasks,
                busy_events,
                deals,
            };
            let mut last = std::time::Instant::now();
            let done = app
                .generate_with(sizes, &planning, seed, |what, n| {
                    if what == "indexes" {
                        eprintln!("  building the indexes");
                    } else if last.elapsed().as_secs() >= 5 {
                        eprintln!("  {n} {what}");
                        last = std::time::Instant::now();
                    }
                })
                .await
                .map_err(|e| anyhow::anyhow!("{e:?}"))?;
            let secs = started.elapsed().as_secs_f64();
            let records = done.accounts
                + done.contacts
                + done.interactions
                + done.tasks
                + done.events
                + done.deals;
            println!(
                "Generated {} users, {} accounts, {} contacts and {} interactions in {secs:.1} s ({:.0} records/s).",
                done.users,
                done.accounts,
                done.contacts,
                done.interactions,
                records as f64 / secs
            );
            if let Some(id) = done.busiest_account {
                println!("Busiest account (10,000 interactions): {id}");
            }
            if done.tasks + done.events > 0 {
                println!(
                    "Also {} tasks and {} meetings, with {} reminders.",
                    done.tasks, done.events, done.reminders
                );
            }
            if done.deals > 0 {
                println!(
                    "Also {} deals, with {} stage history rows.",
                    done.deals, done.deal_stages
                );
            }
            if let Some(id) = done.busy_user {
                println!(
                    "Busy user ({busy_tasks} unfinished tasks, {busy_events} meetings this month): {id}"
                );
            }
        }
        Command::Serve { demo } => serve(app, &config, demo).await?,
        Command::Import(args) => import(app, args).await?,
        Command::CheckMail { .. } => unreachable!("handled before the database is opened"),
        Command::Backup { .. } | Command::Restore { .. } => {
            unreachable!("handled before the search keys are refreshed")
        }
        Command::User(cmd) => user_command(&app, &config, cmd).await?,
        Command::Export(args) => export_command(&app, args).await?,
        Command::Token(TokenCommand::Create { user, name }) => {
            let u = app
                .user_by_email(&user)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?
                .with_context(|| format!("no user {user}"))?;
            let secret = app
                .create_token(u.id, &name)
                .await
                .map_err(|e| anyhow::anyhow!("{e:?}"))?;
            println!(
                "API token for {} ({}); it is shown only now:",
                u.email, name
            );
            println!("{secret}");
        }
    }
    db.close().await;
    Ok(())
}

fn init_logging(whole_tables: bool) {
    use tracing_subscriber::EnvFilter;
    let default = if whole_tables {
        "info,sqlx=error,tower_http=info"
    } else {
        "info,sqlx=warn,tower_http=info"
    };
    let filter = EnvFilter::try_from_env("HAMKOR_LOG").unwrap_or_else(|_| EnvFilter::new(default));
    let json = std::env::var("HAMKOR_LOG_FORMAT").is_ok_and(|v| v == "json");
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if json {
        let _ = builder.json().try_init();
    } else {
        let _ = builder.try_init();
    }
}

/// A database URL without its password, for messages.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            let user = creds.split(':').next().unwrap_or("");
            format!("{}{}:***{}", &url[..s + 3], user, &url[at..])
        }
        _ => url.to_string(),
    }
}

async fn serve(app: App, config: &Config, demo: bool) -> Result<()> {
    if demo {
        if let Some(creds) = app
            .ensure_demo()
            .await
            .map_err(|e| anyhow::anyhow!("demo data: {e:?}"))?
        {
            println!(
                "Demo company ready. Log in at {}/login with any of:",
                config.base_url
            );
            for l in &creds.logins {
                println!("  {:<28} ({})", l.email, l.role);
            }
            println!("Password for all demo users: {}", creds.password);
        } else {
            println!(
                "The database already has data that is not the demo company; --demo adds nothing."
            );
        }
    } else if let Some((admin, token)) = app
        .first_start()
        .await
        .map_err(|e| anyhow::anyhow!("{e:?}"))?
    {
        println!(
            "First start: an administrator account was created ({}).",
            admin.email
        );
        println!(
            "Set its password within {} hours here (shown once):",
            hamkor_app::auth::SETUP_HOURS
        );
        println!("  {}/setup/{token}", config.base_url);
    }
    log_mail_settings(config);
    let mailer = match &config.smtp {
        Some(smtp) => Some(Mailer::new(smtp).map_err(|e| anyhow::anyhow!("{e}"))?),
        None => None,
    };
    let app = app
        .with_mail(mailer, &config.base_url)
        .with_login_limits(config.login_limits);
    // Each server delivers reminders; the database makes sure each goes out once.
    let server_id = format!(
        "{}-{}-{}",
        std::env::var("HOSTNAME").unwrap_or_else(|_| "hamkor".into()),
        std::process::id(),
        uuid::Uuid::now_v7().simple()
    );
    let scheduler = tokio::spawn(app.clone().run_scheduler(server_id, config.scheduler_every));
    let listener = tokio::net::TcpListener::bind(&config.listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.listen))?;
    let addr = listener.local_addr()?;
    let router = hamkor_web::router(
        app.clone(),
        hamkor_web::WebConfig {
            base_url: config.base_url.clone(),
            max_upload_bytes: config.max_upload_mb as usize * 1024 * 1024,
            trusted_proxies: config.trusted_proxies.clone(),
            max_concurrent_requests: config.max_concurrent_requests,
            refusals_audited_per_minute: hamkor_web::refusals::PER_MINUTE,
        },
    );
    // Listen for the stop signals before announcing readiness, so a stop sent right
    // after the announcement is never missed.
    let stop = shutdown_signal()?;
    tracing::info!(%addr, "Hamkor is listening");
    println!("Hamkor is listening on http://{addr}");
    axum::serve(
        listener,
        router.into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(stop)
    .await?;
    // What the scheduler had claimed and not delivered is due again when its claim ends.
    scheduler.abort();
    tracing::info!("stopped");
    Ok(())
}

/// Says at startup where mail goes, and checks in the background that the server
/// answers, so a wrong setting shows in the log before the first reminder is due.
fn log_mail_settings(config: &Config) {
    let Some(smtp) = &config.smtp else {
        tracing::info!("mail: off (no smtp_host)");
        return;
    };
    tracing::info!(
        "mail: smtp {}:{} ({}), from {}",
        smtp.host,
        smtp.port,
        smtp.security,
        smtp.from
    );
    match Mailer::new(smtp) {
        Ok(mailer) => {
            tokio::spawn(async move {
                match mailer.check().await {
                    Ok(()) => tracing::info!("mail: {} answers", mailer.server()),
                    Err(e) => tracing::warn!("mail: {} cannot be used: {e}", mailer.server()),
                }
            });
        }
        Err(e) => tracing::warn!("mail: {e}"),
    }
}

/// `hamkor check-mail --to ADDRESS`: one test message through the configured server.
/// `hamkor import`: uploads the file into the database as the web UI does, maps the
/// columns, runs the check or the import on this process and reports.
async fn import(app: App, a: ImportArgs) -> Result<()> {
    use hamkor_app::imports::{Choice, FileChunks, Settings, apply_mapping};
    let choice = |s: &str| -> Result<Choice> {
        Ok(match s {
            "skip" => Choice::Skip,
            "update" => Choice::Update,
            "create" => Choice::Create,
            other => bail!("unknown choice {other:?}: skip, update or create"),
        })
    };
    let mut db = app.db.clone();
    let user = match &a.user {
        Some(email) => hamkor_store::users::by_email(&mut db, email)
            .await?
            .with_context(|| format!("no user {email}"))?,
        None => hamkor_store::users::list(&mut db)
            .await?
            .into_iter()
            .find(|u| u.role == hamkor_domain::Role::Administrator && !u.disabled)
            .context("no active administrator: name a user with --user")?,
    };
    if user.disabled {
        bail!("the user {} is disabled", user.email);
    }
    let actor = app.actor(&user).await.map_err(|e| anyhow::anyhow!("{e}"))?;
    let en = hamkor_web::i18n::Loc::new(hamkor_web::i18n::Lang::En);
    let explain = |e: hamkor_app::AppError| match e {
        hamkor_app::AppError::Invalid(v) => anyhow::anyhow!(
            "{}",
            v.0.iter()
                .map(|f| format!("{}: {}", f.field, en.field_error(f)))
                .collect::<Vec<_>>()
                .join("; ")
        ),
        other => anyhow::anyhow!("{other}"),
    };
    let name = a
        .file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let file = tokio::fs::File::open(&a.file)
        .await
        .with_context(|| format!("cannot open {}", a.file.display()))?;
    let upload = app
        .upload_import(&actor, &a.object, &name, FileChunks(file))
        .await
        .map_err(explain)?;
    let preview = app
        .import_preview(&actor, upload.id, a.sheet.clone())
        .await
        .map_err(explain)?;
    let columns = match &a.mapping {
        Some(m) => {
            let saved = preview
                .mappings
                .iter()
                .find(|x| &x.name == m)
                .with_context(|| format!("no saved mapping {m:?} for {}", a.object))?;
            apply_mapping(&preview.headers, &saved.columns)
        }
        None => preview.suggested.clone(),
    };
    eprintln!(
        "{} ({}{}), into {}:",
        name,
        upload.format,
        upload
            .encoding
            .as_deref()
            .map(|e| format!(", {e}"))
            .unwrap_or_default(),
        a.object
    );
    for (h, c) in preview.headers.iter().zip(&columns) {
        eprintln!("  {h:<30} → {}", c.as_deref().unwrap_or("(left out)"));
    }
    let settings = Settings {
        sheet: a.sheet.clone(),
        columns,
        on_duplicate: choice(&a.on_duplicate)?,
        on_update: choice(&a.on_update)?,
        skip_bad_rows: !a.all_or_nothing,
        day_first: !a.month_first,
    };
    app.start_import(&actor, upload.id, settings, a.dry_run)
        .await
        .map_err(explain)?;
    let started = std::time::Instant::now();
    let done = loop {
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
        let i = app.import(&actor, upload.id).await.map_err(explain)?;
        if !matches!(i.status.as_str(), "checking" | "running") {
            break i;
        }
        eprint!("\r  {} rows…", i.next_row);
    };
    let secs = started.elapsed().as_secs_f64();
    eprintln!();
    // A server merges the search indexes' new segments on its own; the shell does it
    // before it goes (see `hamkor_store::fts`).
    if done.status == "done" {
        hamkor_store::fts::tidy(&app.db).await?;
    }
    let counts = done.report.get("counts").cloned().unwrap_or_default();
    let count = |k: &str| {
        counts
            .get(k)
            .and_then(serde_json::Value::as_i64)
            .unwrap_or(0)
    };
    println!(
        "{}: {} rows in {:.1} s ({:.0} rows/s): {} new, {} updates, {} duplicates, {} errors; created {}, updated {}, skipped {}, rejected {}",
        done.status,
        done.total_rows.unwrap_or(done.next_row),
        secs,
        done.next_row as f64 / secs.max(0.001),
        count("new"),
        count("update"),
        count("duplicate"),
        count("error"),
        done.created,
        done.updated,
        done.skipped,
        done.rejected,
    );
    if done.rejected > 0 {
        let csv = app
            .import_rejects_csv(&actor, upload.id, |e| {
                hamkor_web::api::imports::describe(&en, e)
            })
            .await
            .map_err(explain)?;
        let mut path = a.file.clone().into_os_string();
        path.push(".rejected.csv");
        std::fs::write(&path, csv)?;
        println!("rejected rows: {}", std::path::Path::new(&path).display());
    }
    println!("import id: {}", done.id);
    match done.status.as_str() {
        "done" | "checked" => Ok(()),
        _ => bail!(
            "the import {}: {}",
            done.status,
            done.error.as_deref().map(|k| en.t(k)).unwrap_or_default()
        ),
    }
}

async fn check_mail(config: &Config, to: &str) -> Result<()> {
    let Some(smtp) = &config.smtp else {
        bail!("mail is off: set smtp_host (--smtp-host, HAMKOR_SMTP_HOST or hamkor.toml)");
    };
    let mailer = Mailer::new(smtp)?;
    let server = mailer.server();
    let sent = mailer
        .send(&Mail {
            to: to.to_string(),
            to_name: None,
            // Uzbek and Russian, so the test also shows that such subjects arrive intact.
            subject: "Hamkor: sinov xati — тестовое письмо — test message".into(),
            text: format!(
                "This is a test message from Hamkor ({}), sent by `hamkor check-mail`.\n\
                 If you can read it, e-mail from Hamkor works.\n",
                config.base_url
            ),
            html: None,
            attachments: Vec::new(),
        })
        .await;
    match sent {
        Ok(()) => {
            println!(
                "Sent a test message to {to} through {server} ({}).",
                smtp.security
            );
            Ok(())
        }
        Err(e) => bail!("could not send a test message to {to} through {server}: {e}"),
    }
}

/// Resolves on Ctrl-C or SIGTERM; the handlers are installed when this is called.
fn shutdown_signal() -> Result<impl std::future::Future<Output = ()>> {
    #[cfg(unix)]
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .context("cannot listen for SIGTERM")?;
    let ctrl_c = tokio::signal::ctrl_c();
    Ok(async move {
        #[cfg(unix)]
        tokio::select! { _ = ctrl_c => {}, _ = term.recv() => {} }
        #[cfg(not(unix))]
        let _ = ctrl_c.await;
    })
}

async fn user_command(app: &App, config: &Config, cmd: UserCommand) -> Result<()> {
    match cmd {
        UserCommand::Create {
            email,
            name,
            role,
            team,
            language,
            password_stdin,
        } => {
            let password = if password_stdin {
                Some(read_password()?)
            } else {
                None
            };
            let has_password = password.is_some();
            let u = app
                .create_user(
                    None,
                    UserRequest {
                        email,
                        name,
                        role,
                        team,
                        language,
                        password,
                    },
                )
                .await
                .map_err(|e| anyhow::anyhow!("{}", describe(e)))?;
            println!("Created {} ({}) with id {}", u.email, u.role, u.id);
            if !has_password {
                let token = app
                    .issue_setup_token(u.id)
                    .await
                    .map_err(|e| anyhow::anyhow!("{e:?}"))?;
                println!("One-time setup link: {}/setup/{token}", config.base_url);
            }
        }
        UserCommand::List => {
            for u in app.users().await.map_err(|e| anyhow::anyhow!("{e:?}"))? {
                println!(
                    "{}\t{}\t{}\t{}{}",
                    u.id,
                    u.email,
                    u.role,
                    u.name,
                    if u.disabled { "\t(disabled)" } else { "" }
                );
            }
        }
        UserCommand::SetPassword { email } => {
            let u = app
                .user_by_email(&email)
                .await
                .map_err(|e| anyhow::anyhow!("{e:?}"))?
                .with_context(|| format!("no user {email}"))?;
            let pw = read_password()?;
            app.set_password(u.id, &pw)
                .await
                .map_err(|e| anyhow::anyhow!("{}", describe(e)))?;
            println!(
                "Password set for {}; their other sessions have ended.",
                u.email
            );
        }
        UserCommand::Disable { email } => {
            let u = app
                .user_by_email(&email)
                .await
                .map_err(|e| anyhow::anyhow!("{e:?}"))?
                .with_context(|| format!("no user {email}"))?;
            app.set_user_disabled(None, u.id, true)
                .await
                .map_err(|e| anyhow::anyhow!("{e:?}"))?;
            println!("Disabled {}.", u.email);
        }
        UserCommand::ResetTwoFactor { email } => {
            let u = app
                .user_by_email(&email)
                .await
                .map_err(|e| anyhow::anyhow!("{e:?}"))?
                .with_context(|| format!("no user {email}"))?;
            app.reset_two_factor(None, u.id, &Default::default())
                .await
                .map_err(|e| anyhow::anyhow!("{e:?}"))?;
            println!(
                "Two-factor authentication is off for {}; their sessions ended.",
                u.email
            );
        }
    }
    Ok(())
}

/// `hamkor export OBJECT FILE …`: runs the web UI's exporter as the chosen user and
/// writes the file (through `FILE.part`, renamed when complete, so a failed export
/// leaves no half file under the real name).
async fn export_command(app: &App, args: ExportArgs) -> Result<()> {
    use hamkor_app::export::{ExportFormat, ExportRequest};
    use hamkor_web::i18n::{Lang, Loc};
    use tokio::io::AsyncWriteExt;
    let def = hamkor_domain::objects::OBJECTS
        .into_iter()
        .find(|d| d.plural == args.object || d.object.as_str() == args.object)
        .with_context(|| {
            let names: Vec<&str> = hamkor_domain::objects::OBJECTS
                .iter()
                .map(|d| d.plural)
                .collect();
            format!("no object {:?}; one of {}", args.object, names.join(", "))
        })?;
    let users = app.users().await.map_err(|e| anyhow::anyhow!("{e:?}"))?;
    let user = match &args.user {
        Some(email) => app
            .user_by_email(email)
            .await
            .map_err(|e| anyhow::anyhow!("{e:?}"))?
            .with_context(|| format!("no user {email}"))?,
        None => users
            .iter()
            .filter(|u| u.role.is_admin() && !u.disabled)
            .min_by_key(|u| (u.created_at, u.id))
            .cloned()
            .context("no active administrator; name a user with --user")?,
    };
    if user.disabled {
        bail!("{} is disabled", user.email);
    }
    let actor = app
        .actor(&user)
        .await
        .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    let mut params: Vec<(String, String)> = Vec::new();
    for f in &args.filters {
        let (k, v) = f
            .split_once('=')
            .with_context(|| format!("--filter {f:?}: write it as FIELD=VALUE"))?;
        params.push((k.trim().to_string(), v.to_string()));
    }
    for (k, v) in [
        ("q", &args.q),
        ("sort", &args.sort),
        ("columns", &args.columns),
        ("delimiter", &args.delimiter),
        ("format", &args.format),
    ] {
        if let Some(v) = v {
            params.push((k.to_string(), v.clone()));
        }
    }
    let loc = Loc::new(
        user.language
            .as_deref()
            .and_then(Lang::parse)
            .unwrap_or(Lang::En),
    )
    .in_zone(&user.time_zone);
    let req = ExportRequest::parse(&params, ExportFormat::from_file_name(&args.file))
        .map_err(|e| anyhow::anyhow!("{}", describe(hamkor_app::AppError::Invalid(e))))?;
    let mut plan = app
        .prepare_export(&actor, def, &req)
        .await
        .map_err(|e| anyhow::anyhow!("{}", describe(e)))?;
    plan.via = "shell";
    let to_stdout = args.file == "-";
    let part = format!("{}.part", args.file);
    let mut file: Box<dyn tokio::io::AsyncWrite + Unpin + Send> = if to_stdout {
        Box::new(tokio::io::stdout())
    } else {
        Box::new(
            tokio::fs::File::create(&part)
                .await
                .with_context(|| format!("cannot write {part}"))?,
        )
    };
    let (tx, mut rx) = tokio::sync::mpsc::channel::<std::io::Result<Vec<u8>>>(4);
    let write = async move {
        while let Some(chunk) = rx.recv().await {
            file.write_all(&chunk?).await?;
        }
        file.flush().await?;
        Ok::<(), std::io::Error>(())
    };
    let run = async {
        let r = app.export(&actor, &plan, &loc, &tx).await;
        drop(tx);
        r
    };
    let (done, written) = tokio::join!(run, write);
    let result = done
        .map_err(|e| anyhow::anyhow!("{}", describe(e)))
        .and_then(|d| written.map(|_| d).context("writing the export failed"));
    let done = match result {
        Ok(d) => d,
        Err(e) => {
            if !to_stdout {
                let _ = tokio::fs::remove_file(&part).await;
            }
            return Err(e);
        }
    };
    if !to_stdout {
        tokio::fs::rename(&part, &args.file)
            .await
            .with_context(|| format!("cannot rename {part} to {}", args.file))?;
    }
    eprintln!(
        "Exported {} {} as {} to {} (export {}, logged in the audit).",
        done.rows, def.plural, user.email, args.file, done.id
    );
    Ok(())
}

fn read_password() -> Result<String> {
    let mut s = String::new();
    std::io::stdin()
        .read_to_string(&mut s)
        .context("cannot read the password from standard input")?;
    let pw = s.trim_end_matches(['\n', '\r']).to_string();
    if pw.is_empty() {
        bail!("no password on standard input");
    }
    Ok(pw)
}

/// An app error as a sentence in English for the shell.
fn describe(e: hamkor_app::AppError) -> String {
    match e {
        hamkor_app::AppError::Invalid(v) => {
            v.0.iter()
                .map(|e| format!("{}: {}", e.field, e.key))
                .collect::<Vec<_>>()
                .join("; ")
        }
        other => other.to_string(),
    }
}

/// `hamkor backup FILE`: one snapshot of every table, streamed to the file.
async fn backup_command(db: &Db, file: &std::path::Path) -> Result<()> {
    let started = std::time::Instant::now();
    let mut progress = |table: &str, rows: u64| eprintln!("  {table}: {rows} rows…");
    let report = hamkor_store::backup::backup(db, file, &mut progress)
        .await
        .with_context(|| format!("the backup to {} failed", file.display()))?;
    let secs = started.elapsed().as_secs_f64();
    let m = &report.manifest;
    // On standard error: standard output may be the backup itself.
    eprintln!(
        "Backed up {} rows of {} tables (schema version {}, {}) to {} in {secs:.1} s: {} ({} before compression).",
        m.rows,
        m.tables.len(),
        m.schema_version,
        m.engine,
        file.display(),
        human_bytes(report.bytes),
        human_bytes(report.raw_bytes),
    );
    Ok(())
}

/// `hamkor restore FILE`: into an empty database; prints each table's check.
async fn restore_command(db: &Db, file: &std::path::Path) -> Result<()> {
    use hamkor_store::backup::{BackupError, restore};
    let started = std::time::Instant::now();
    let mut progress = |table: &str, rows: u64| eprintln!("  {table}: {rows} rows…");
    let report = match restore(db, file, &mut progress).await {
        Ok(r) => r,
        Err(BackupError::Mismatch(checks)) => {
            print_checks(&checks);
            bail!(
                "after restoring, {} of {} tables differ from the backup {}; nothing was kept",
                checks.iter().filter(|c| !c.ok()).count(),
                checks.len(),
                file.display()
            );
        }
        Err(e) => {
            return Err(anyhow::anyhow!(e)).with_context(|| {
                format!(
                    "{} was not restored; the database holds none of it",
                    file.display()
                )
            });
        }
    };
    print_checks(&report.tables);
    let app = App::new(db.clone());
    app.refresh_search_keys()
        .await
        .map_err(|e| anyhow::anyhow!("refreshing the search index failed: {e:?}"))?;
    app.refresh_dup_keys()
        .await
        .map_err(|e| anyhow::anyhow!("refreshing the duplicate keys failed: {e:?}"))?;
    let rows: u64 = report.tables.iter().map(|t| t.rows).sum();
    println!(
        "Restored {rows} rows of {} tables from {} ({}, schema version {}, taken {}) in {:.1} s; every table matches the backup's checksum. The database is at schema version {}.",
        report.tables.len(),
        file.display(),
        report.header.engine,
        report.header.schema_version,
        report.header.created_at,
        started.elapsed().as_secs_f64(),
        report.schema_version,
    );
    Ok(())
}

fn print_checks(checks: &[hamkor_store::backup::TableCheck]) {
    let width = checks
        .iter()
        .map(|c| c.name.len())
        .max()
        .unwrap_or(5)
        .max(5);
    println!("{:<width$}  {:>10}  checksum", "table", "rows");
    for c in checks {
        let rows = if c.rows == c.restored {
            c.rows.to_string()
        } else {
            format!("{} of {}", c.restored, c.rows)
        };
        let sum = if c.checksum_ok { "ok" } else { "DIFFERS" };
        println!("{:<width$}  {rows:>10}  {sum}", c.name);
    }
}

fn print_manifest(m: &hamkor_store::backup::format::Manifest) {
    println!(
        "Hamkor {} backup of a {} database at schema version {}, taken {}:",
        m.hamkor_version, m.engine, m.schema_version, m.created_at
    );
    let width = m
        .tables
        .iter()
        .map(|t| t.name.len())
        .max()
        .unwrap_or(5)
        .max(5);
    println!("{:<width$}  {:>10}  checksum", "table", "rows");
    for t in &m.tables {
        println!(
            "{:<width$}  {:>10}  {}",
            t.name,
            t.rows,
            t.checksum.get(..16).unwrap_or(&t.checksum)
        );
    }
}

/// 1234567 → "1.2 MB".
fn human_bytes(n: u64) -> String {
    let n = n as f64;
    if n >= 1e9 {
        format!("{:.2} GB", n / 1e9)
    } else if n >= 1e6 {
        format!("{:.1} MB", n / 1e6)
    } else if n >= 1e3 {
        format!("{:.1} kB", n / 1e3)
    } else {
        format!("{n} bytes")
    }
}
