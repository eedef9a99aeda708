//! E-mail through a real SMTP server started by the test (`mailin-embedded` on
//! 127.0.0.1): what arrives is what a mail program would get, decoded by a real MIME
//! parser. Covers UTF-8 subjects, HTML mail, refused and unreachable servers, a burst
//! through one pooled `Mailer`, and `hamkor check-mail`.

use hamkor_app::mail::{Mail, MailError, Mailer, SmtpSecurity, SmtpSettings};
use mail_parser::MimeHeaders;
use mailin_embedded::{Handler, Response, Server, response};
use std::collections::BTreeSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// One message as the server took it.
#[derive(Debug, Clone)]
pub struct Received {
    /// The envelope sender (`MAIL FROM`).
    pub from: String,
    /// The envelope recipients (`RCPT TO`).
    pub to: Vec<String>,
    /// The message as sent after `DATA`, dot-unstuffed.
    pub data: String,
}

/// An SMTP server on 127.0.0.1 that keeps every message it accepts. Recipients whose
/// address starts with `reject` are refused with 550 and `later` with 451, as a real
/// server refuses an unknown or a full mailbox.
pub struct SmtpSink {
    pub port: u16,
    inbox: Arc<Mutex<Vec<Received>>>,
    sessions: Arc<AtomicUsize>,
}

#[derive(Clone)]
struct Collector {
    inbox: Arc<Mutex<Vec<Received>>>,
    sessions: Arc<AtomicUsize>,
    current: Option<Received>,
}

impl Handler for Collector {
    fn helo(&mut self, _ip: std::net::IpAddr, _domain: &str) -> Response {
        self.sessions.fetch_add(1, Ordering::SeqCst);
        response::OK
    }

    fn rcpt(&mut self, to: &str) -> Response {
        let local = to.trim_start_matches('<');
        if local.starts_with("reject") {
            response::NO_MAILBOX
        } else if local.starts_with("later") {
            Response::custom(451, "Mailbox busy, try again later".into())
        } else {
            response::OK
        }
    }

    fn data_start(&mut self, _domain: &str, from: &str, _is8bit: bool, to: &[String]) -> Response {
        self.current = Some(Received {
            from: from.to_string(),
            to: to.to_vec(),
            data: String::new(),
        });
        response::OK
    }

    fn data(&mut self, buf: &[u8]) -> std::io::Result<()> {
        if let Some(m) = self.current.as_mut() {
            m.data.push_str(&String::from_utf8_lossy(buf));
        }
        Ok(())
    }

    fn data_end(&mut self) -> Response {
        if let Some(m) = self.current.take() {
            self.inbox.lock().unwrap().push(m);
        }
        response::OK
    }
}

impl SmtpSink {
    /// Starts the server on a free port of 127.0.0.1; it runs until the tests end.
    pub fn start() -> SmtpSink {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind the SMTP sink");
        let port = listener.local_addr().expect("address").port();
        let inbox = Arc::new(Mutex::new(Vec::new()));
        let sessions = Arc::new(AtomicUsize::new(0));
        let mut server = Server::new(Collector {
            inbox: inbox.clone(),
            sessions: sessions.clone(),
            current: None,
        });
        // One thread per session: more than the connections one Mailer opens, so its
        // idle pooled connections never keep a new one from being greeted.
        server
            .with_name("sink.test.local")
            .with_num_threads(32)
            .with_tcp_listener(listener);
        std::thread::spawn(move || {
            let _ = server.serve();
        });
        SmtpSink {
            port,
            inbox,
            sessions,
        }
    }

    /// The messages received so far, oldest first.
    pub fn messages(&self) -> Vec<Received> {
        self.inbox.lock().unwrap().clone()
    }

    /// How many SMTP sessions (EHLO or HELO) clients opened.
    pub fn sessions(&self) -> usize {
        self.sessions.load(Ordering::SeqCst)
    }

    /// Waits until `n` messages arrived or `timeout` passed; returns those received.
    pub async fn wait_for(&self, n: usize, timeout: Duration) -> Vec<Received> {
        let deadline = Instant::now() + timeout;
        loop {
            let got = self.messages();
            if got.len() >= n || Instant::now() >= deadline {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Settings that send to this server: plain text, no login.
    pub fn settings(&self) -> SmtpSettings {
        SmtpSettings {
            host: "127.0.0.1".into(),
            port: self.port,
            security: SmtpSecurity::None,
            username: None,
            password: None,
            from: "Hamkor <crm@test.local>".into(),
            timeout: Duration::from_secs(10),
        }
    }
}

const SUBJECT: &str = "Eslatma: Oʻzbekiston — Напоминание";

fn reminder(to: &str) -> Mail {
    Mail {
        to: to.into(),
        to_name: Some("Азиза Каримова".into()),
        subject: SUBJECT.into(),
        // The second line starts with a dot: SMTP must stuff and unstuff it.
        text: "Salom, Aziza!\n.Bugun soat 15:00 da qoʻngʻiroq qiling.\nПозвоните клиенту.\n".into(),
        html: None,
        attachments: Vec::new(),
    }
}

fn parse(raw: &str) -> mail_parser::Message<'_> {
    mail_parser::MessageParser::default()
        .parse(raw.as_bytes())
        .expect("a parsable message")
}

/// The header lines before the body, as sent.
fn head(raw: &str) -> &str {
    raw.split("\r\n\r\n").next().unwrap_or("")
}

#[tokio::test]
async fn plain_mail_arrives_with_its_utf8_subject() {
    let sink = SmtpSink::start();
    let mailer = Mailer::new(&sink.settings()).unwrap();
    mailer.send(&reminder("aziza@example.uz")).await.unwrap();

    let got = sink.wait_for(1, Duration::from_secs(10)).await;
    assert_eq!(got.len(), 1);
    let m = &got[0];
    assert!(
        m.from.contains("crm@test.local"),
        "envelope from {:?}",
        m.from
    );
    assert_eq!(m.to.len(), 1);
    assert!(
        m.to[0].contains("aziza@example.uz"),
        "envelope to {:?}",
        m.to
    );
    // Headers are ASCII; the subject travels as RFC 2047 encoded words.
    assert!(head(&m.data).is_ascii(), "{}", m.data);
    assert!(head(&m.data).contains("=?utf-8?"), "{}", m.data);
    assert!(head(&m.data).contains("MIME-Version: 1.0"), "{}", m.data);

    let parsed = parse(&m.data);
    assert_eq!(parsed.subject(), Some(SUBJECT));
    let to = parsed.to().and_then(|a| a.first()).expect("a To header");
    assert_eq!(to.address(), Some("aziza@example.uz"));
    assert_eq!(to.name(), Some("Азиза Каримова"));
    let from = parsed
        .from()
        .and_then(|a| a.first())
        .expect("a From header");
    assert_eq!(from.address(), Some("crm@test.local"));
    assert_eq!(from.name(), Some("Hamkor"));
    assert!(parsed.date().is_some(), "a Date header");
    assert!(
        parsed
            .message_id()
            .is_some_and(|id| id.ends_with("@test.local")),
        "Message-ID on the sender's domain: {:?}",
        parsed.message_id()
    );
    assert_eq!(
        parsed.content_type().map(|c| (c.ctype(), c.subtype())),
        Some(("text", Some("plain")))
    );
    let body = parsed.body_text(0).expect("a text body");
    assert_eq!(
        body.replace("\r\n", "\n"),
        "Salom, Aziza!\n.Bugun soat 15:00 da qoʻngʻiroq qiling.\nПозвоните клиенту.\n"
    );
}

#[tokio::test]
async fn lines_of_dots_arrive_unchanged() {
    // ASCII text travels as it is (7bit), so these lines meet SMTP's dot-stuffing: a
    // line holding only "." would otherwise end the message there.
    let sink = SmtpSink::start();
    let mailer = Mailer::new(&sink.settings()).unwrap();
    let text = "Agenda:\n.\n..\n.Call back at 15:00\nEnd\n";
    mailer
        .send(&Mail {
            text: text.into(),
            ..reminder("aziza@example.uz")
        })
        .await
        .unwrap();
    let got = sink.wait_for(1, Duration::from_secs(10)).await;
    assert_eq!(got.len(), 1);
    assert!(
        got[0].data.contains("\r\n.\r\n..\r\n.Call back"),
        "{}",
        got[0].data
    );
    // The message ends with a line break of its own after the text.
    let parsed = parse(&got[0].data);
    let body = parsed
        .body_text(0)
        .expect("a text body")
        .replace("\r\n", "\n");
    assert_eq!(body.trim_end(), text.trim_end());
}

#[tokio::test]
async fn html_mail_is_multipart_alternative() {
    let sink = SmtpSink::start();
    let mailer = Mailer::new(&sink.settings()).unwrap();
    let html = "<p>Salom, <b>Aziza</b>!</p><p>Позвоните клиенту.</p>";
    mailer
        .send(&Mail {
            html: Some(html.into()),
            ..reminder("aziza@example.uz")
        })
        .await
        .unwrap();

    let got = sink.wait_for(1, Duration::from_secs(10)).await;
    assert_eq!(got.len(), 1);
    let parsed = parse(&got[0].data);
    assert_eq!(parsed.subject(), Some(SUBJECT));
    assert_eq!(
        parsed.content_type().map(|c| (c.ctype(), c.subtype())),
        Some(("multipart", Some("alternative")))
    );
    assert_eq!(parsed.text_body.len(), 1);
    assert_eq!(parsed.html_body.len(), 1);
    assert!(
        parsed
            .body_text(0)
            .is_some_and(|t| t.contains("Позвоните клиенту.") && !t.contains('<')),
        "{:?}",
        parsed.body_text(0)
    );
    assert_eq!(parsed.body_html(0).as_deref().map(str::trim), Some(html));
}

#[tokio::test]
async fn a_malformed_address_is_refused_before_sending() {
    let sink = SmtpSink::start();
    let mailer = Mailer::new(&sink.settings()).unwrap();
    for to in ["aziza", "aziza@", "aziza@example.uz>, spy@example.com", ""] {
        let e = mailer.send(&reminder(to)).await.unwrap_err();
        assert!(matches!(e, MailError::Address(_)), "{to:?}: {e:?}");
        assert!(e.is_permanent(), "{to:?}");
    }
    // A good mail afterwards still goes, and nothing else was sent.
    mailer.send(&reminder("aziza@example.uz")).await.unwrap();
    let got = sink.wait_for(1, Duration::from_secs(10)).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(sink.messages().len(), 1, "{got:?}");
}

#[tokio::test]
async fn refusals_keep_the_server_reply_and_say_whether_to_retry() {
    let sink = SmtpSink::start();
    let mailer = Mailer::new(&sink.settings()).unwrap();

    let e = mailer
        .send(&reminder("reject@example.uz"))
        .await
        .unwrap_err();
    match &e {
        MailError::Send { code, message } => {
            assert_eq!(*code, Some(550));
            assert!(message.contains("Mailbox unavailable"), "{message}");
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    assert!(e.is_permanent());
    assert!(e.to_string().contains("550"), "{e}");

    let e = mailer
        .send(&reminder("later@example.uz"))
        .await
        .unwrap_err();
    assert!(
        matches!(
            &e,
            MailError::Send {
                code: Some(451),
                ..
            }
        ),
        "{e:?}"
    );
    assert!(!e.is_permanent());

    // The refusals did not spoil the pooled connections for the next mail.
    mailer.send(&reminder("aziza@example.uz")).await.unwrap();
    let got = sink.wait_for(1, Duration::from_secs(10)).await;
    assert_eq!(got.len(), 1);
    assert!(got[0].to[0].contains("aziza@example.uz"));
}

#[tokio::test]
async fn an_unreachable_server_is_a_temporary_error_within_the_timeout() {
    // A port that was free a moment ago: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let settings = SmtpSettings {
        port,
        timeout: Duration::from_secs(3),
        ..SmtpSink::start().settings()
    };
    let mailer = Mailer::new(&settings).unwrap();
    let started = Instant::now();
    let e = mailer
        .send(&reminder("aziza@example.uz"))
        .await
        .unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );
    assert!(matches!(&e, MailError::Send { code: None, .. }), "{e:?}");
    assert!(!e.is_permanent(), "{e}");
    assert!(mailer.check().await.is_err());
}

#[tokio::test]
async fn a_silent_server_times_out() {
    // Accepts connections and never greets: the send gives up after the timeout.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let held = tokio::spawn(async move {
        let mut open = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            open.push(socket);
        }
    });
    let settings = SmtpSettings {
        port,
        timeout: Duration::from_secs(1),
        ..SmtpSink::start().settings()
    };
    let mailer = Mailer::new(&settings).unwrap();
    let started = Instant::now();
    let e = mailer
        .send(&reminder("aziza@example.uz"))
        .await
        .unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    assert!(!e.is_permanent(), "{e}");
    assert!(e.to_string().contains("did not answer"), "{e}");
    held.abort();
}

#[tokio::test]
async fn encryption_is_never_dropped_silently() {
    // The sink speaks plain SMTP only: starttls and tls must refuse to send rather than
    // fall back to plain text.
    let sink = SmtpSink::start();
    for security in [SmtpSecurity::StartTls, SmtpSecurity::Tls] {
        let settings = SmtpSettings {
            security: security.clone(),
            timeout: Duration::from_secs(3),
            ..sink.settings()
        };
        let mailer = Mailer::new(&settings).unwrap();
        let e = mailer
            .send(&reminder("aziza@example.uz"))
            .await
            .unwrap_err();
        assert!(!e.is_permanent(), "{security}: {e}");
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(sink.messages().is_empty());
}

#[tokio::test]
async fn check_connects() {
    let sink = SmtpSink::start();
    let mailer = Mailer::new(&sink.settings()).unwrap();
    mailer.check().await.unwrap();
    assert!(sink.messages().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_mails_at_once_through_one_mailer_all_arrive() {
    let sink = SmtpSink::start();
    let mailer = Mailer::new(&sink.settings()).unwrap();
    let sends = (0..200).map(|i| {
        let mailer = mailer.clone();
        tokio::spawn(async move {
            let m = Mail {
                subject: format!("{SUBJECT} #{i}"),
                ..reminder(&format!("user{i}@example.uz"))
            };
            mailer.send(&m).await
        })
    });
    let started = Instant::now();
    for send in sends.collect::<Vec<_>>() {
        send.await.unwrap().unwrap();
    }
    let got = sink.wait_for(200, Duration::from_secs(30)).await;
    assert_eq!(got.len(), 200, "after {:?}", started.elapsed());
    let recipients: BTreeSet<String> = got
        .iter()
        .map(|m| {
            assert_eq!(m.to.len(), 1);
            m.to[0].trim_matches(['<', '>']).to_string()
        })
        .collect();
    let expected: BTreeSet<String> = (0..200).map(|i| format!("user{i}@example.uz")).collect();
    assert_eq!(recipients, expected);
    let subjects: BTreeSet<String> = got
        .iter()
        .map(|m| parse(&m.data).subject().unwrap_or_default().to_string())
        .collect();
    assert_eq!(subjects.len(), 200, "every subject decoded and distinct");
    assert!(subjects.iter().all(|s| s.starts_with(SUBJECT)));
    // The connections were reused: a few sessions, not one per mail.
    assert!(
        sink.sessions() <= 50,
        "{} SMTP sessions for 200 mails",
        sink.sessions()
    );
}

fn check_mail_command(args: &[&str]) -> std::process::Command {
    let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_hamkor"));
    c.env("HAMKOR_CONFIG", "/nonexistent/hamkor.toml")
        .env("HAMKOR_LOG", "warn")
        .env_remove("HAMKOR_SMTP_HOST")
        .env_remove("HAMKOR_SMTP_PORT")
        .env_remove("HAMKOR_SMTP_SECURITY")
        .env_remove("HAMKOR_SMTP_USERNAME")
        .env_remove("HAMKOR_SMTP_PASSWORD")
        .env_remove("HAMKOR_MAIL_FROM")
        .arg("check-mail")
        .args(args);
    c
}

#[tokio::test]
async fn check_mail_command_sends_a_test_message() {
    let sink = SmtpSink::start();
    let port = sink.port.to_string();
    let out = check_mail_command(&[
        "--to",
        "admin@example.uz",
        "--smtp-host",
        "127.0.0.1",
        "--smtp-port",
        &port,
        "--smtp-security",
        "none",
        "--mail-from",
        "CRM <crm@example.uz>",
    ])
    .output()
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("admin@example.uz"), "{stdout}");
    let got = sink.wait_for(1, Duration::from_secs(10)).await;
    assert_eq!(got.len(), 1);
    let parsed = parse(&got[0].data);
    assert_eq!(
        parsed.subject(),
        Some("Hamkor: sinov xati — тестовое письмо — test message")
    );
    let from = parsed.from().and_then(|a| a.first()).expect("From");
    assert_eq!(from.address(), Some("crm@example.uz"));
}

#[tokio::test]
async fn check_mail_command_fails_clearly() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
        .to_string();
    let cases: &[(&[&str], &str)] = &[
        (&[], "smtp_host"),
        (
            &[
                "--smtp-host",
                "127.0.0.1",
                "--smtp-port",
                &closed,
                "--smtp-security",
                "none",
            ],
            "could not send",
        ),
        (
            &["--smtp-host", "127.0.0.1", "--smtp-security", "ssl"],
            "smtp_security",
        ),
        (&["--smtp-host", "smtp.example.uz:587"], "smtp_port"),
        (
            &["--smtp-host", "127.0.0.1", "--mail-from", "nobody"],
            "mail_from",
        ),
    ];
    for (args, expected) in cases {
        let out = check_mail_command(args)
            .args(["--to", "admin@example.uz"])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
    }
    // A password given to the settings never shows in an error.
    let out = check_mail_command(&[
        "--to",
        "admin@example.uz",
        "--smtp-host",
        "smtp.example.uz",
        "--smtp-security",
        "none",
        "--smtp-username",
        "crm",
    ])
    .env("HAMKOR_SMTP_PASSWORD", "hunter2-secret")
    .output()
    .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("unencrypted"), "{stderr}");
    assert!(!stderr.contains("hunter2"), "{stderr}");
}
