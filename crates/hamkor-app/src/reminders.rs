//! The scheduler: delivers due reminders (a banner in the web UI, and an e-mail when
//! mail is configured) and once an hour creates the reminders of coming birthdays and
//! key dates. Its jobs live in the database (see `hamkor_store::reminders`), so a
//! restart loses nothing and several servers on one database deliver each reminder
//! once. The banner is exactly once; an e-mail is sent before the reminder is marked
//! delivered, so a server that dies in between may leave it to be sent again (at least
//! once), never lost.

use crate::mail::{Mail, Mailer};
use crate::{App, AppResult};
use chrono::Duration;
use hamkor_domain::{Id, Timestamp};
use hamkor_store::reminders::{self, Due, Notification};
use hamkor_store::users::User;
use std::collections::HashMap;

/// How long a server holds the reminders it claimed before others may take them.
pub const CLAIM: Duration = Duration::minutes(2);
/// How many reminders one claim takes.
pub const BATCH: i64 = 500;
/// How many e-mails go out at once.
pub const MAIL_CONCURRENCY: usize = 16;
/// Attempts at e-mail before the reminder is shown without it.
pub const MAX_ATTEMPTS: i64 = 5;

/// What one round of delivery did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Delivered {
    pub shown: usize,
    pub emailed: usize,
    pub retried: usize,
}

/// A reminder as an e-mail in the user's language.
fn reminder_mail(user: &User, due: &Due, base_url: &str) -> Mail {
    let lang = user.language.as_deref().unwrap_or("en");
    let tz = hamkor_domain::time::user_zone(Some(&user.time_zone));
    let (word, when_word) = match lang {
        "ru" => ("Напоминание", "Когда"),
        "uz" => ("Eslatma", "Qachon"),
        _ => ("Reminder", "When"),
    };
    let what = match (lang, due.kind.as_str()) {
        ("ru", reminders::kind::TASK_DUE) => "Срок задачи",
        ("ru", reminders::kind::EVENT_START) => "Встреча",
        ("ru", reminders::kind::BIRTHDAY) => "День рождения",
        ("ru", _) => "Ключевая дата",
        ("uz", reminders::kind::TASK_DUE) => "Vazifa muddati",
        ("uz", reminders::kind::EVENT_START) => "Uchrashuv",
        ("uz", reminders::kind::BIRTHDAY) => "Tugʻilgan kun",
        ("uz", _) => "Muhim sana",
        (_, reminders::kind::TASK_DUE) => "Task due",
        (_, reminders::kind::EVENT_START) => "Meeting",
        (_, reminders::kind::BIRTHDAY) => "Birthday",
        _ => "Key date",
    };
    let plural = hamkor_domain::objects::ObjectDef::get(due.object).plural;
    let link = format!("{base_url}/{plural}/{}", due.record_id);
    let when = due
        .at
        .map(|t| {
            format!(
                "\n{when_word}: {}",
                t.0.with_timezone(&tz).format("%Y-%m-%d %H:%M")
            )
        })
        .unwrap_or_default();
    Mail {
        to: user.email.clone(),
        to_name: Some(user.name.clone()),
        subject: format!("{word}: {} — {}", what, due.title),
        text: format!("{what}: {}{when}\n\n{link}\n", due.title),
        html: None,
        attachments: Vec::new(),
    }
}

/// How often the scheduler merges what piled up in SQLite's search indexes (see
/// `hamkor_store::fts`).
const SEARCH_TIDY_EVERY: std::time::Duration = std::time::Duration::from_secs(60);

/// Date reminders written in one transaction by the sweep: other writes get the writer
/// between them.
const DATE_REMINDERS_PER_TRANSACTION: usize = 500;

impl App {
    /// Delivers every reminder due now, in batches, as `server`. Returns what it did.
    pub async fn deliver_reminders(&self, server: &str) -> AppResult<Delivered> {
        let mut total = Delivered::default();
        let users: HashMap<Id, User> = self.users().await?.into_iter().map(|u| (u.id, u)).collect();
        loop {
            let now = Timestamp::now();
            let until = Timestamp::from_datetime(now.0 + CLAIM);
            let claimed = {
                let mut tx = self.db.begin().await?;
                let c = reminders::claim_due(&mut tx, server, now, until, BATCH).await?;
                tx.commit().await?;
                c
            };
            if claimed.is_empty() {
                break;
            }
            let full = claimed.len() as i64 == BATCH;
            // Mail first, all at once up to MAIL_CONCURRENCY.
            let outcomes = self.mail_reminders(&users, &claimed).await;
            let mut tx = self.db.begin().await?;
            let mut retry: Vec<(usize, String)> = Vec::new();
            for (i, due) in claimed.iter().enumerate() {
                let (emailed, error) = match &outcomes[i] {
                    MailOutcome::Sent => (true, None),
                    MailOutcome::NotSent => (false, None),
                    MailOutcome::Failed { error, permanent } => {
                        if !permanent && due.attempts < MAX_ATTEMPTS {
                            retry.push((i, error.clone()));
                            continue;
                        }
                        (false, Some(error.as_str()))
                    }
                };
                if reminders::mark_sent(&mut tx, server, due, emailed, error).await? {
                    total.shown += 1;
                    if emailed {
                        total.emailed += 1;
                    }
                }
            }
            for (i, error) in &retry {
                let due = &claimed[*i];
                // Back off: a minute, two, four …
                let wait = Duration::minutes(1 << due.attempts.clamp(0, 6));
                let at = Timestamp::from_datetime(Timestamp::now().0 + wait);
                reminders::retry_later(&mut tx, server, due, at, error).await?;
                total.retried += 1;
            }
            tx.commit().await?;
            if !full {
                break;
            }
        }
        Ok(total)
    }

    async fn mail_reminders(&self, users: &HashMap<Id, User>, claimed: &[Due]) -> Vec<MailOutcome> {
        use futures_util::StreamExt;
        let Some(mailer) = self.mailer.clone() else {
            return claimed.iter().map(|_| MailOutcome::NotSent).collect();
        };
        // Each send owns what it needs, so the stream is `Send` for the scheduler task.
        let jobs: Vec<(Mailer, Option<Mail>, Id)> = claimed
            .iter()
            .map(|due| {
                let mail = users
                    .get(&due.user_id)
                    .filter(|u| !u.disabled)
                    .map(|u| reminder_mail(u, due, &self.base_url));
                (mailer.clone(), mail, due.id)
            })
            .collect();
        futures_util::stream::iter(jobs)
            .map(|(mailer, mail, id)| async move {
                let Some(mail) = mail else {
                    return MailOutcome::NotSent;
                };
                match mailer.send(&mail).await {
                    Ok(()) => MailOutcome::Sent,
                    Err(e) => {
                        tracing::warn!(reminder = %id, error = %e, "reminder e-mail failed");
                        MailOutcome::Failed {
                            permanent: e.is_permanent(),
                            error: e.to_string(),
                        }
                    }
                }
            })
            .buffered(MAIL_CONCURRENCY)
            .collect()
            .await
    }

    /// Creates the reminders of birthdays and key dates of the next three days, if no
    /// server did so in the last hour. Returns how many it wrote (`None`: not its turn).
    ///
    /// The turn is claimed first, in a transaction of its own; the dates are read outside
    /// any transaction, and the reminders written in short ones, so writers never wait
    /// for the sweep's reads (at a million contacts these read thousands of rows). A
    /// server stopped half way leaves the rest to the next sweep, an hour later: the
    /// days overlap, and a reminder already written is not written twice.
    pub async fn sweep_dates(&self) -> AppResult<Option<u64>> {
        let now = Timestamp::now();
        let next = Timestamp::from_datetime(now.0 + Duration::hours(1));
        let mut tx = self.db.begin().await?;
        let mine = reminders::claim_schedule(&mut tx, "date_reminders", now, next).await?;
        tx.commit().await?;
        if !mine {
            return Ok(None);
        }
        let today = now.0.date_naive();
        // Yesterday too: in zones ahead of UTC, the local day has already begun.
        let from = today.pred_opt().unwrap_or(today);
        let to = today + Duration::days(3);
        let due = reminders::dates_due(&mut self.db.clone(), from, to).await?;
        let mut written = 0;
        for part in due.chunks(DATE_REMINDERS_PER_TRANSACTION) {
            let mut tx = self.db.begin().await?;
            written += reminders::insert_dates(&mut tx, part).await?;
            tx.commit().await?;
        }
        Ok(Some(written))
    }

    /// The user's notifications (unread only, or the latest of all).
    pub async fn notifications(&self, user: Id, unread_only: bool) -> AppResult<Vec<Notification>> {
        let mut db = self.db.clone();
        Ok(reminders::notifications(&mut db, user, unread_only, 50).await?)
    }

    /// Marks one of the user's notifications read, or all of them.
    pub async fn mark_notifications_read(&self, user: Id, id: Option<Id>) -> AppResult<u64> {
        let mut db = self.db.clone();
        Ok(reminders::mark_read(&mut db, user, id).await?)
    }

    /// Runs the scheduler until the process ends: every `every`, the date sweep (when it
    /// is this server's turn) and the delivery of what is due.
    pub async fn run_scheduler(self, server: String, every: std::time::Duration) {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut tidied: Option<std::time::Instant> = None;
        loop {
            tick.tick().await;
            if tidied.is_none_or(|t| t.elapsed() >= SEARCH_TIDY_EVERY) {
                tidied = Some(std::time::Instant::now());
                match hamkor_store::fts::tidy(&self.db).await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(steps = n, "search indexes merged"),
                    Err(e) => tracing::warn!(error = %e, "merging the search indexes failed"),
                }
            }
            // Imports whose server stopped are taken up here (on start, and from a
            // server that died, by any other).
            if let Err(e) = self.resume_imports().await {
                tracing::warn!(error = ?e, "resuming imports failed");
            }
            if let Err(e) = self.sweep_dates().await {
                tracing::warn!(error = ?e, "date reminders sweep failed");
            }
            match self.deliver_reminders(&server).await {
                Ok(d) if d.shown + d.retried > 0 => {
                    tracing::info!(
                        shown = d.shown,
                        emailed = d.emailed,
                        retried = d.retried,
                        "reminders delivered"
                    );
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = ?e, "reminder delivery failed"),
            }
        }
    }
}

enum MailOutcome {
    Sent,
    NotSent,
    Failed { error: String, permanent: bool },
}
