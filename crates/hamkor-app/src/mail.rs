//! E-mail: reminders now, invoices later, sent through the SMTP server named in the
//! settings (`smtp_host`, `smtp_port`, `smtp_security`, `smtp_username`,
//! `smtp_password`, `mail_from`).
//!
//! One [`Mailer`] per process: it keeps a few SMTP connections open and reuses them, so
//! a burst of reminders costs one TLS handshake and login per connection, not per mail.

use lettre::message::{Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::authentication::Mechanism;
use lettre::transport::smtp::client::{AsyncSmtpConnection, Tls, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use lettre::transport::smtp::{AsyncSmtpTransportBuilder, PoolConfig};
use lettre::{Address, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use std::fmt;
use std::str::FromStr;
use std::sync::{Arc, RwLock};
use std::time::Duration;

/// How many SMTP connections one [`Mailer`] opens at once. Mail servers limit
/// connections per client (often to 10 or fewer) and answer more with errors, so a
/// burst of sends queues for these instead of opening a connection each.
const MAX_CONNECTIONS: usize = 8;

/// How the connection to the SMTP server is protected.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SmtpSecurity {
    /// Plain text. Only sensible for a relay on the same machine (`localhost`).
    None,
    /// Plain connection upgraded with STARTTLS, refused if the server cannot (port 587).
    #[serde(rename = "starttls", alias = "start_tls")]
    StartTls,
    /// TLS from the first byte, "implicit TLS" or "SMTPS" (port 465).
    Tls,
}

impl SmtpSecurity {
    /// The usual port for this kind of connection: 25, 587 or 465.
    pub fn default_port(&self) -> u16 {
        match self {
            SmtpSecurity::None => 25,
            SmtpSecurity::StartTls => 587,
            SmtpSecurity::Tls => 465,
        }
    }

    /// The name used in the settings.
    pub fn as_str(&self) -> &'static str {
        match self {
            SmtpSecurity::None => "none",
            SmtpSecurity::StartTls => "starttls",
            SmtpSecurity::Tls => "tls",
        }
    }
}

impl fmt::Display for SmtpSecurity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for SmtpSecurity {
    type Err = MailError;

    /// `none`, `starttls` or `tls`, in any case.
    fn from_str(s: &str) -> Result<Self, MailError> {
        match s.trim().to_ascii_lowercase().as_str() {
            "none" => Ok(SmtpSecurity::None),
            "starttls" | "start_tls" => Ok(SmtpSecurity::StartTls),
            "tls" => Ok(SmtpSecurity::Tls),
            _ => Err(MailError::Settings(format!(
                "smtp_security must be none, starttls or tls, not {s:?}"
            ))),
        }
    }
}

/// Where and how to send mail.
#[derive(Clone)]
pub struct SmtpSettings {
    pub host: String,
    pub port: u16,
    pub security: SmtpSecurity,
    pub username: Option<String>,
    pub password: Option<String>,
    /// The sender, with or without a name: `Hamkor <crm@example.uz>`.
    pub from: String,
    /// How long connecting, or one whole send or check, may take.
    pub timeout: Duration,
}

/// Written by hand so that the password never reaches a log.
impl fmt::Debug for SmtpSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpSettings")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("security", &self.security)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "***"))
            .field("from", &self.from)
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl SmtpSettings {
    /// Checks the settings without connecting; the error names the setting at fault.
    pub fn validate(&self) -> Result<(), MailError> {
        self.sender()?;
        let host = self.host.trim();
        if host.is_empty() {
            return Err(MailError::Settings("smtp_host is empty".into()));
        }
        if host.contains("://") || host.contains(char::is_whitespace) || host.contains('/') {
            return Err(MailError::Settings(format!(
                "smtp_host must be a host name such as smtp.example.uz, not {host:?}"
            )));
        }
        if host.contains(':') && host.parse::<std::net::Ipv6Addr>().is_err() {
            return Err(MailError::Settings(format!(
                "smtp_host takes the host name only, not {host:?}; put the port in smtp_port"
            )));
        }
        if self.port == 0 {
            return Err(MailError::Settings(
                "smtp_port must be between 1 and 65535".into(),
            ));
        }
        if self.timeout.is_zero() {
            return Err(MailError::Settings(
                "the SMTP timeout must not be zero".into(),
            ));
        }
        match (&self.username, &self.password) {
            (Some(_), None) => {
                return Err(MailError::Settings(
                    "smtp_username is set but smtp_password is not".into(),
                ));
            }
            (None, Some(_)) => {
                return Err(MailError::Settings(
                    "smtp_password is set but smtp_username is not".into(),
                ));
            }
            (Some(_), Some(_)) if self.security == SmtpSecurity::None && !is_loopback(host) => {
                return Err(MailError::Settings(format!(
                    "smtp_security = none would send smtp_password unencrypted to {host}; \
                     use starttls or tls"
                )));
            }
            _ => {}
        }
        Ok(())
    }

    fn sender(&self) -> Result<Mailbox, MailError> {
        self.from.trim().parse::<Mailbox>().map_err(|e| {
            MailError::Settings(format!(
                "mail_from must be an address such as \"Hamkor <crm@example.uz>\", \
                 not {:?} ({e})",
                self.from
            ))
        })
    }
}

fn is_loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// One message to one person.
#[derive(Debug, Clone)]
pub struct Mail {
    /// The address alone: `aziza@example.uz`.
    pub to: String,
    /// The person's name, shown by their mail program.
    pub to_name: Option<String>,
    pub subject: String,
    /// The plain-text body; always sent, so every mail program can show the message.
    pub text: String,
    /// An HTML version; with it the mail is `multipart/alternative`.
    pub html: Option<String>,
    /// Files sent along: (file name, content type, bytes).
    pub attachments: Vec<(String, String, Vec<u8>)>,
}

/// Why mail could not be sent.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    /// The SMTP settings are unusable; the message names the setting.
    #[error("mail settings: {0}")]
    Settings(String),
    /// The recipient's address is malformed; sending again will not help.
    #[error("bad e-mail address: {0}")]
    Address(String),
    /// The server refused the mail (`code` is its reply code) or could not be reached
    /// (`code` is `None`). See [`MailError::is_permanent`].
    #[error("{}", describe_send(*.code, .message))]
    Send { code: Option<u16>, message: String },
}

fn describe_send(code: Option<u16>, message: &str) -> String {
    match code {
        Some(code) => format!("the SMTP server answered {code}: {message}"),
        None => format!("sending mail failed: {message}"),
    }
}

impl MailError {
    /// Whether sending the same mail again is pointless: a malformed address, or a
    /// 5xx reply to the mail (no such mailbox, rejected as spam...). Connection
    /// failures, time-outs and 4xx replies are temporary. So are failed logins
    /// (530, 534, 535, 538) and bad settings: they are fixed in the settings, after
    /// which the same mail goes through.
    pub fn is_permanent(&self) -> bool {
        match self {
            MailError::Address(_) => true,
            MailError::Settings(_) => false,
            MailError::Send {
                code: Some(code), ..
            } => (500..600).contains(code) && !matches!(code, 530 | 534 | 535 | 538),
            MailError::Send { code: None, .. } => false,
        }
    }
}

impl From<lettre::transport::smtp::Error> for MailError {
    fn from(e: lettre::transport::smtp::Error) -> Self {
        let code = e.status().map(u16::from);
        // lettre's own text ("permanent error (550): ...") with its causes, which
        // carry the server's words or the operating system's ("Connection refused").
        let mut message = e.to_string();
        let mut source = std::error::Error::source(&e);
        while let Some(cause) = source {
            let text = cause.to_string();
            if !message.contains(&text) {
                message.push_str(": ");
                message.push_str(&text);
            }
            source = cause.source();
        }
        MailError::Send { code, message }
    }
}

/// Sends mail through one SMTP server. Cheap to clone: clones share the connections.
#[derive(Clone)]
pub struct Mailer {
    inner: Arc<Inner>,
}

struct Inner {
    host: String,
    port: u16,
    timeout: Duration,
    from: Mailbox,
    /// The part of `from` after the `@`, for Message-IDs.
    domain: String,
    builder: AsyncSmtpTransportBuilder,
    transport: RwLock<AsyncSmtpTransport<Tokio1Executor>>,
    slots: tokio::sync::Semaphore,
    /// Plain and STARTTLS servers: our own connections, with `TCP_NODELAY`. lettre 0.11
    /// leaves Nagle's algorithm on, so the end of every message waits for the server's
    /// delayed acknowledgement (40 ms): 200 mails a second at most, where these
    /// connections send thousands. Implicit TLS goes through lettre's pool.
    direct: Option<Direct>,
}

/// Connections we open ourselves (see `Inner::direct`).
struct Direct {
    starttls: Option<TlsParameters>,
    credentials: Option<Credentials>,
    idle: std::sync::Mutex<Vec<(std::time::Instant, AsyncSmtpConnection)>>,
}

/// An idle connection older than this is checked with NOOP before it is used again.
const IDLE_CHECK: Duration = Duration::from_secs(10);

impl Mailer {
    /// Checks the settings and prepares the connection pool; connects only when mail is
    /// sent (or [`Mailer::check`] is called). Must be called inside a Tokio runtime.
    pub fn new(s: &SmtpSettings) -> Result<Mailer, MailError> {
        s.validate()?;
        if tokio::runtime::Handle::try_current().is_err() {
            return Err(MailError::Settings(
                "the mailer needs a running Tokio runtime".into(),
            ));
        }
        let from = s.sender()?;
        let host = s.host.trim().to_string();
        let tls = match s.security {
            SmtpSecurity::None => Tls::None,
            SmtpSecurity::StartTls => Tls::Required(tls_parameters(&host)?),
            SmtpSecurity::Tls => Tls::Wrapper(tls_parameters(&host)?),
        };
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host.clone())
            .port(s.port)
            .tls(tls)
            .timeout(Some(s.timeout))
            .pool_config(PoolConfig::new().max_size(MAX_CONNECTIONS as u32));
        if let (Some(user), Some(password)) = (&s.username, &s.password) {
            builder = builder.credentials(Credentials::new(user.clone(), password.clone()));
        }
        let transport = builder.clone().build();
        let direct = match s.security {
            SmtpSecurity::None => Some(None),
            SmtpSecurity::StartTls => Some(Some(tls_parameters(&host)?)),
            SmtpSecurity::Tls => None,
        }
        .map(|starttls| Direct {
            starttls,
            credentials: match (&s.username, &s.password) {
                (Some(u), Some(p)) => Some(Credentials::new(u.clone(), p.clone())),
                _ => None,
            },
            idle: std::sync::Mutex::new(Vec::new()),
        });
        Ok(Mailer {
            inner: Arc::new(Inner {
                host,
                port: s.port,
                timeout: s.timeout,
                domain: from.email.domain().to_string(),
                from,
                builder,
                transport: RwLock::new(transport),
                slots: tokio::sync::Semaphore::new(MAX_CONNECTIONS),
                direct,
            }),
        })
    }

    /// `host:port` of the server, for messages.
    pub fn server(&self) -> String {
        format!("{}:{}", self.inner.host, self.inner.port)
    }

    /// Sends one mail. Waits for a free connection first (at most eight are open), then
    /// gives the server `timeout` to take it.
    pub async fn send(&self, m: &Mail) -> Result<(), MailError> {
        let message = self.message(m)?;
        let _slot = self.slot().await?;
        if let Some(direct) = &self.inner.direct {
            return self.send_direct(direct, &message).await;
        }
        let transport = self.transport();
        self.within_timeout(async move { transport.send(message).await.map(|_| ()) })
            .await
    }

    /// Connects (or takes an open connection) and checks that the server answers, with
    /// the login when one is configured.
    pub async fn check(&self) -> Result<(), MailError> {
        let _slot = self.slot().await?;
        let transport = self.transport();
        match self
            .within_timeout(async move { transport.test_connection().await })
            .await?
        {
            true => Ok(()),
            false => Err(MailError::Send {
                code: None,
                message: format!(
                    "{} accepted the connection but did not answer",
                    self.server()
                ),
            }),
        }
    }

    /// Sends over one of our own connections: an idle one if it still answers, else a
    /// new one. A connection that failed or ran out of time is dropped, never reused.
    async fn send_direct(&self, direct: &Direct, message: &Message) -> Result<(), MailError> {
        let envelope = message.envelope().clone();
        let bytes = message.formatted();
        let reused = direct.idle.lock().ok().and_then(|mut idle| idle.pop());
        let mut conn = match reused {
            Some((at, mut conn)) => {
                let alive = at.elapsed() < IDLE_CHECK
                    || self
                        .within_limit(async { Ok(conn.test_connected().await) })
                        .await
                        .unwrap_or(false);
                if alive {
                    conn
                } else {
                    self.connect_direct(direct).await?
                }
            }
            None => self.connect_direct(direct).await?,
        };
        let sent = self
            .within_limit(async { conn.send(&envelope, &bytes).await.map_err(MailError::from) })
            .await;
        match sent {
            Ok(_) => {
                if let Ok(mut idle) = direct.idle.lock() {
                    idle.push((std::time::Instant::now(), conn));
                }
                Ok(())
            }
            Err(e) => {
                // A refused mail (5xx) leaves the connection usable, but a fresh one is
                // cheap and certain.
                drop(conn);
                Err(e)
            }
        }
    }

    /// Opens a connection with `TCP_NODELAY`, upgrades it with STARTTLS when asked and
    /// logs in when credentials are set.
    async fn connect_direct(&self, direct: &Direct) -> Result<AsyncSmtpConnection, MailError> {
        let (host, port) = (self.inner.host.clone(), self.inner.port);
        self.within_limit(async move {
            let tcp = tokio::net::TcpStream::connect((host.as_str(), port))
                .await
                .map_err(|e| MailError::Send {
                    code: None,
                    message: format!("cannot connect to {host}:{port}: {e}"),
                })?;
            tcp.set_nodelay(true).map_err(|e| MailError::Send {
                code: None,
                message: format!("{host}:{port}: {e}"),
            })?;
            let hello = ClientId::default();
            let mut conn = AsyncSmtpConnection::connect_with_transport(Box::new(tcp), &hello)
                .await
                .map_err(MailError::from)?;
            if let Some(tls) = &direct.starttls {
                conn.starttls(tls.clone(), &hello)
                    .await
                    .map_err(MailError::from)?;
            }
            if let Some(credentials) = &direct.credentials {
                conn.auth(&[Mechanism::Plain, Mechanism::Login], credentials)
                    .await
                    .map_err(MailError::from)?;
            }
            Ok(conn)
        })
        .await
    }

    /// Runs one step of our own exchange with the time limit.
    async fn within_limit<T>(
        &self,
        step: impl Future<Output = Result<T, MailError>>,
    ) -> Result<T, MailError> {
        match tokio::time::timeout(self.inner.timeout, step).await {
            Ok(result) => result,
            Err(_) => Err(MailError::Send {
                code: None,
                message: format!(
                    "{} did not answer within {} s",
                    self.server(),
                    self.inner.timeout.as_secs_f32()
                ),
            }),
        }
    }

    /// Waits for one of the `MAX_CONNECTIONS` turns to use a connection.
    async fn slot(&self) -> Result<tokio::sync::SemaphorePermit<'_>, MailError> {
        // The semaphore is never closed; the error cannot happen.
        self.inner
            .slots
            .acquire()
            .await
            .map_err(|_| MailError::Send {
                code: None,
                message: "the mailer was closed".into(),
            })
    }

    fn transport(&self) -> AsyncSmtpTransport<Tokio1Executor> {
        match self.inner.transport.read() {
            Ok(t) => t.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Runs an SMTP exchange with the time limit. lettre bounds only the connect; a
    /// server that stops answering mid-exchange would hold the send forever.
    async fn within_timeout<T>(
        &self,
        exchange: impl Future<Output = Result<T, lettre::transport::smtp::Error>>,
    ) -> Result<T, MailError> {
        match tokio::time::timeout(self.inner.timeout, exchange).await {
            Ok(result) => result.map_err(MailError::from),
            Err(_) => {
                // The abandoned connection goes back to the pool mid-exchange, and a
                // late reply on it would be read as the answer to a later command: start
                // a fresh pool, and the old one closes its connections when released.
                let fresh = self.inner.builder.clone().build();
                match self.inner.transport.write() {
                    Ok(mut t) => *t = fresh,
                    Err(poisoned) => *poisoned.into_inner() = fresh,
                }
                tracing::warn!(server = %self.server(), "SMTP server did not answer in time");
                Err(MailError::Send {
                    code: None,
                    message: format!(
                        "{} did not answer within {} s",
                        self.server(),
                        self.inner.timeout.as_secs_f32()
                    ),
                })
            }
        }
    }

    fn message(&self, m: &Mail) -> Result<Message, MailError> {
        let address = m.to.trim();
        let email: Address = address
            .parse()
            .map_err(|e| MailError::Address(format!("{address:?}: {e}")))?;
        let name = m.to_name.as_deref().map(one_line).filter(|n| !n.is_empty());
        let builder = Message::builder()
            .from(self.inner.from.clone())
            .to(Mailbox::new(name, email))
            .subject(one_line(&m.subject))
            .message_id(Some(format!(
                "<{}@{}>",
                uuid::Uuid::now_v7().simple(),
                self.inner.domain
            )));
        let built = match (&m.html, m.attachments.is_empty()) {
            (Some(html), true) => builder.multipart(MultiPart::alternative_plain_html(
                m.text.clone(),
                html.clone(),
            )),
            (None, true) => builder.singlepart(SinglePart::plain(m.text.clone())),
            (html, false) => {
                let mut mixed = match html {
                    Some(html) => MultiPart::mixed().multipart(MultiPart::alternative_plain_html(
                        m.text.clone(),
                        html.clone(),
                    )),
                    None => MultiPart::mixed().singlepart(SinglePart::plain(m.text.clone())),
                };
                for (name, content_type, bytes) in &m.attachments {
                    let ct = lettre::message::header::ContentType::parse(content_type)
                        .map_err(|e| MailError::Address(format!("{content_type:?}: {e}")))?;
                    mixed = mixed.singlepart(
                        lettre::message::Attachment::new(one_line(name)).body(bytes.clone(), ct),
                    );
                }
                builder.multipart(mixed)
            }
        };
        built.map_err(|e| MailError::Address(format!("{address:?}: {e}")))
    }
}

/// A header value on one line, without control characters: a subject or name taken
/// from a record must not start a header of its own (and lettre panics on a line break
/// in a header).
fn one_line(s: &str) -> String {
    s.split(|c: char| c.is_control() || c.is_whitespace())
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

fn tls_parameters(host: &str) -> Result<TlsParameters, MailError> {
    TlsParameters::new(host.to_string())
        .map_err(|e| MailError::Settings(format!("smtp_host {host:?} cannot be used for TLS: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> SmtpSettings {
        SmtpSettings {
            host: "smtp.example.uz".into(),
            port: 587,
            security: SmtpSecurity::StartTls,
            username: Some("crm".into()),
            password: Some("hunter2-secret".into()),
            from: "Hamkor <crm@example.uz>".into(),
            timeout: Duration::from_secs(10),
        }
    }

    fn settings_error(s: SmtpSettings) -> String {
        match s.validate() {
            Err(MailError::Settings(m)) => m,
            other => panic!("expected a settings error, got {other:?}"),
        }
    }

    #[test]
    fn debug_hides_the_password() {
        let shown = format!("{:?}", settings());
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("smtp.example.uz"), "{shown}");
    }

    #[test]
    fn bad_settings_name_the_setting() {
        assert!(settings().validate().is_ok());
        let mut s = settings();
        s.from = "not an address".into();
        assert!(settings_error(s).contains("mail_from"));
        let mut s = settings();
        s.host = "smtp.example.uz:587".into();
        assert!(settings_error(s).contains("smtp_port"));
        let mut s = settings();
        s.host = "smtp://smtp.example.uz".into();
        assert!(settings_error(s).contains("smtp_host"));
        let mut s = settings();
        s.host = " ".into();
        assert!(settings_error(s).contains("smtp_host"));
        let mut s = settings();
        s.password = None;
        assert!(settings_error(s).contains("smtp_password"));
        let mut s = settings();
        s.security = SmtpSecurity::None;
        assert!(settings_error(s).contains("unencrypted"));
        // A local relay may take a login in plain text, and an IPv6 literal is a host.
        let mut s = settings();
        s.security = SmtpSecurity::None;
        s.host = "::1".into();
        assert!(s.validate().is_ok());
    }

    #[test]
    fn security_names() {
        assert_eq!(
            "STARTTLS".parse::<SmtpSecurity>().unwrap(),
            SmtpSecurity::StartTls
        );
        assert_eq!("tls".parse::<SmtpSecurity>().unwrap(), SmtpSecurity::Tls);
        assert_eq!("none".parse::<SmtpSecurity>().unwrap(), SmtpSecurity::None);
        let e = "ssl".parse::<SmtpSecurity>().unwrap_err().to_string();
        assert!(e.contains("smtp_security") && e.contains("ssl"), "{e}");
        assert_eq!(SmtpSecurity::Tls.default_port(), 465);
        assert_eq!(SmtpSecurity::StartTls.default_port(), 587);
        assert_eq!(SmtpSecurity::None.default_port(), 25);
    }

    #[test]
    fn permanence() {
        let send = |code| MailError::Send {
            code,
            message: String::new(),
        };
        assert!(send(Some(550)).is_permanent());
        assert!(send(Some(554)).is_permanent());
        assert!(!send(Some(451)).is_permanent());
        assert!(
            !send(Some(535)).is_permanent(),
            "a failed login is fixed in the settings"
        );
        assert!(!send(None).is_permanent());
        assert!(MailError::Address("x".into()).is_permanent());
    }

    #[tokio::test]
    async fn headers_cannot_be_injected() {
        let mailer = Mailer::new(&settings()).unwrap();
        let m = mailer
            .message(&Mail {
                to: "aziza@example.uz".into(),
                to_name: Some("Aziza\r\nBcc: spy@example.com".into()),
                subject: "Call back\r\nBcc: spy@example.com".into(),
                text: "Hello".into(),
                html: None,
                attachments: Vec::new(),
            })
            .unwrap();
        let raw = String::from_utf8(m.formatted()).unwrap();
        assert!(
            !raw.lines()
                .any(|l| l.to_ascii_lowercase().starts_with("bcc:")),
            "{raw}"
        );
        assert_eq!(m.envelope().to().len(), 1);
        for subject in [
            "tab\there",
            "nul\0byte",
            "esc\x1b[31m",
            "line\u{2028}sep",
            "\r\n",
            "",
        ] {
            let m = mailer
                .message(&Mail {
                    to: "aziza@example.uz".into(),
                    to_name: Some(subject.into()),
                    subject: subject.into(),
                    text: subject.into(),
                    html: Some(subject.into()),
                    attachments: Vec::new(),
                })
                .unwrap();
            let _ = m.formatted();
        }
        assert!(
            raw.contains("@example.uz>"),
            "Message-ID on the sender's domain: {raw}"
        );
    }

    #[tokio::test]
    async fn an_attachment_makes_a_multipart_mixed_message() {
        let mailer = Mailer::new(&settings()).unwrap();
        let pdf = b"%PDF-1.7\n\x00\xff binary".to_vec();
        let m = mailer
            .message(&Mail {
                to: "buh@client.uz".into(),
                to_name: None,
                subject: "Invoice INV-2026-00001".into(),
                text: "Please find the invoice attached.".into(),
                html: None,
                attachments: vec![(
                    "INV-2026-00001.pdf".into(),
                    "application/pdf".into(),
                    pdf.clone(),
                )],
            })
            .unwrap();
        let raw = String::from_utf8(m.formatted()).unwrap();
        let head = raw.split("\r\n\r\n").next().unwrap();
        assert!(head.contains("Content-Type: multipart/mixed;"), "{raw}");
        assert!(raw.contains("Content-Type: text/plain"), "{raw}");
        assert!(raw.contains("Please find the invoice attached."), "{raw}");
        assert!(raw.contains("Content-Type: application/pdf"), "{raw}");
        assert!(
            raw.contains("Content-Disposition: attachment; filename=\"INV-2026-00001.pdf\""),
            "{raw}"
        );
        // The binary travels as base64, whole.
        assert!(raw.contains("Content-Transfer-Encoding: base64"), "{raw}");
        use base64::Engine;
        let encoded = base64::engine::general_purpose::STANDARD.encode(&pdf);
        assert!(raw.contains(&encoded), "{raw}");

        // With an HTML version too, the text and HTML are alternatives inside the mix.
        let m = mailer
            .message(&Mail {
                to: "buh@client.uz".into(),
                to_name: None,
                subject: "s".into(),
                text: "t".into(),
                html: Some("<p>t</p>".into()),
                attachments: vec![("a.pdf".into(), "application/pdf".into(), pdf)],
            })
            .unwrap();
        let raw = String::from_utf8(m.formatted()).unwrap();
        assert!(raw.contains("multipart/mixed"), "{raw}");
        assert!(raw.contains("multipart/alternative"), "{raw}");
        assert!(raw.contains("text/html"), "{raw}");
    }

    #[tokio::test]
    async fn attachment_names_cannot_inject_headers() {
        let mailer = Mailer::new(&settings()).unwrap();
        for name in [
            "INV.pdf\r\nBcc: spy@example.com",
            "INV.pdf\nBcc: spy@example.com",
            "INV\".pdf\r\nBcc: spy@example.com\r\nX-Evil: \"1",
            "\"; filename=\"evil.exe",
            "Счёт №1.pdf\r\nBcc: spy@example.com",
        ] {
            let m = mailer
                .message(&Mail {
                    to: "buh@client.uz".into(),
                    to_name: None,
                    subject: "s".into(),
                    text: "t".into(),
                    html: None,
                    attachments: vec![(name.into(), "application/pdf".into(), b"%PDF-".to_vec())],
                })
                .unwrap();
            let raw = String::from_utf8(m.formatted()).unwrap();
            for line in raw.lines() {
                let l = line.to_ascii_lowercase();
                assert!(
                    !l.starts_with("bcc:") && !l.starts_with("x-evil:"),
                    "{name:?} made a header: {raw}"
                );
            }
            assert_eq!(m.envelope().to().len(), 1, "{name:?}");
            // The name stays one parameter: quotes inside it are escaped.
            let disposition: Vec<&str> = raw
                .split("\r\n")
                .skip_while(|l| !l.starts_with("Content-Disposition:"))
                .take_while(|l| l.starts_with("Content-Disposition:") || l.starts_with(' '))
                .collect();
            assert!(!disposition.is_empty(), "{raw}");
            let disposition = disposition.join("");
            assert!(
                !disposition.contains("filename=\"evil.exe\""),
                "{disposition}"
            );
            if name.contains('"') && name.is_ascii() {
                assert!(
                    disposition.contains("\\\""),
                    "quotes escaped: {disposition}"
                );
            }
        }
        // A content type with a line break is refused, not sent as two headers.
        let e = mailer
            .message(&Mail {
                to: "buh@client.uz".into(),
                to_name: None,
                subject: "s".into(),
                text: "t".into(),
                html: None,
                attachments: vec![(
                    "a.pdf".into(),
                    "application/pdf\r\nBcc: spy@example.com".into(),
                    Vec::new(),
                )],
            })
            .unwrap_err();
        assert!(e.is_permanent(), "{e}");
    }

    #[tokio::test]
    async fn bad_recipient_is_an_address_error() {
        let mailer = Mailer::new(&settings()).unwrap();
        for to in ["", "aziza", "aziza@", "@example.uz", "a b@example.uz"] {
            let e = mailer
                .send(&Mail {
                    to: to.into(),
                    to_name: None,
                    subject: "s".into(),
                    text: "t".into(),
                    html: None,
                    attachments: Vec::new(),
                })
                .await
                .unwrap_err();
            assert!(matches!(e, MailError::Address(_)), "{to:?}: {e:?}");
            assert!(e.is_permanent());
        }
    }
}
