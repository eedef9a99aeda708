//! The reminder delivery benchmark (run by `bench/reminders.sh`): many reminders due at
//! the same moment, delivered by `App::deliver_reminders` as the scheduler does, timed
//! until every one is sent.
//!
//!   bench_reminders sink 127.0.0.1:2525
//!       An SMTP server that accepts every message and throws it away (counting).
//!   bench_reminders deliver --database sqlite://bench.db --reminders 10000 [--smtp 127.0.0.1:2525]
//!       Writes the reminders for the first unfinished tasks of a generated database
//!       (`hamkor generate --tasks N`), all due now, then delivers them: banners only,
//!       or banners and e-mail through the SMTP server.

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};
use hamkor_app::App;
use hamkor_app::mail::{Mailer, SmtpSecurity, SmtpSettings};
use hamkor_domain::{Id, Timestamp};
use hamkor_store::{Backend, Db, Exec, Sql};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

#[derive(Parser)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run an SMTP sink until killed.
    Sink {
        #[arg(default_value = "127.0.0.1:2525")]
        addr: String,
    },
    /// Write reminders due now and deliver them; prints one table row.
    Deliver {
        #[arg(long)]
        database: String,
        #[arg(long, default_value_t = 10_000)]
        reminders: usize,
        /// host:port of an SMTP server taking mail without TLS or login.
        #[arg(long)]
        smtp: Option<String>,
    },
}

#[derive(Clone)]
struct Counter {
    received: Arc<AtomicUsize>,
}

impl mailin_embedded::Handler for Counter {
    fn data_end(&mut self) -> mailin_embedded::Response {
        let n = self.received.fetch_add(1, Ordering::Relaxed) + 1;
        if n.is_multiple_of(1000) {
            println!("received {n}");
        }
        mailin_embedded::response::OK
    }
}

fn sink(addr: &str) -> Result<()> {
    let mut server = mailin_embedded::Server::new(Counter {
        received: Arc::new(AtomicUsize::new(0)),
    });
    // A thread per session, more than the connections one Mailer opens.
    server
        .with_name("sink.bench.local")
        .with_num_threads(32)
        .with_addr(addr)
        .map_err(|e| anyhow::anyhow!("cannot listen on {addr}: {e}"))?;
    println!("smtp sink on {addr}");
    server
        .serve()
        .map_err(|e| anyhow::anyhow!("smtp sink: {e}"))
}

async fn deliver(database: &str, count: usize, smtp: Option<String>) -> Result<()> {
    let db = Db::connect(database).await?;
    db.migrate().await?;
    let mut ex = db.clone();
    // The first unfinished tasks, one reminder each, all due at this moment.
    let tasks = ex
        .fetch_all(
            &Sql::new(
                "SELECT id, owner_id, title, due_at FROM tasks \
                 WHERE status IN ('open', 'in_progress', 'returned') AND deleted_at IS NULL \
                 ORDER BY id LIMIT $1",
            )
            .arg(count as i64),
        )
        .await?;
    if tasks.len() < count {
        bail!(
            "{database} has {} unfinished tasks, {count} wanted: generate more with hamkor generate --tasks",
            tasks.len()
        );
    }
    let due = Timestamp::now();
    let run = due.0.timestamp_micros();
    let per_insert = if db.backend() == Backend::Sqlite {
        10
    } else {
        400
    };
    let mut tx = db.begin().await?;
    for chunk in tasks.chunks(per_insert) {
        let mut sql = Sql::new(
            "INSERT INTO reminders (id, key, user_id, object, record_id, kind, due_at, title, at) VALUES ",
        );
        for (i, t) in chunk.iter().enumerate() {
            let task: Id = t.req_id("id")?;
            sql.push(if i == 0 { "(" } else { ", (" })
                .bind(Id::new())
                .push(", ")
                .bind(format!("bench:{run}:{task}"))
                .push(", ")
                .bind(t.req_id("owner_id")?)
                .push(", 'task', ")
                .bind(task)
                .push(", 'task_due', ")
                .bind(due)
                .push(", ")
                .bind(t.req_text("title")?)
                .push(", ")
                .bind(t.ts("due_at")?)
                .push(")");
        }
        tx.execute(&sql).await?;
    }
    tx.commit().await?;

    let mailer = match &smtp {
        None => None,
        Some(addr) => {
            let (host, port) = addr.rsplit_once(':').context("--smtp takes host:port")?;
            Some(Mailer::new(&SmtpSettings {
                host: host.to_string(),
                port: port.parse().context("--smtp port")?,
                security: SmtpSecurity::None,
                username: None,
                password: None,
                from: "Hamkor <hamkor@localhost>".into(),
                timeout: std::time::Duration::from_secs(30),
            })?)
        }
    };
    let app = App::new(db.clone()).with_mail(mailer, "http://127.0.0.1:8080");
    let started = Instant::now();
    let (mut shown, mut emailed, mut retried) = (0, 0, 0);
    loop {
        let d = app
            .deliver_reminders("bench")
            .await
            .map_err(|e| anyhow::anyhow!("{e:?}"))?;
        shown += d.shown;
        emailed += d.emailed;
        retried += d.retried;
        if d.shown + d.retried == 0 {
            break;
        }
    }
    let secs = started.elapsed().as_secs_f64();
    let left = ex
        .fetch_optional(
            &Sql::new("SELECT COUNT(*) AS n FROM reminders WHERE key LIKE $1 AND sent_at IS NULL")
                .arg(format!("bench:{run}:%")),
        )
        .await?
        .map(|r| r.req_int("n"))
        .transpose()?
        .unwrap_or(-1);
    let mode = match &smtp {
        None => "banners only (no mail)".to_string(),
        Some(_) => "banners + e-mail (SMTP on this machine)".to_string(),
    };
    println!(
        "| {mode:<40} | {count:>9} | {secs:>7.2} s | {:>11.0} | {emailed:>9} | {retried:>7} | {left:>7} | {shown:>7} |",
        count as f64 / secs
    );
    db.close().await;
    Ok(())
}

#[tokio::main]
async fn main() -> Result<()> {
    match Cli::parse().command {
        Command::Sink { addr } => sink(&addr),
        Command::Deliver {
            database,
            reminders,
            smtp,
        } => deliver(&database, reminders, smtp).await,
    }
}
