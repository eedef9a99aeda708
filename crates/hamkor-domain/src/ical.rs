//! iCalendar (RFC 5545): the calendar feed people subscribe to from Outlook, Google
//! Calendar and Apple Calendar ([`write_feed`]), and the reader of an uploaded `.ics`
//! file ([`parse_ics`]).
//!
//! Both are written by hand: content lines are simple, and doing it ourselves keeps the
//! folding (75 octets, never inside a UTF-8 character) and the error messages (which
//! line, and why) under our control. The tests check the feed with an independent
//! parser, the `ical` crate.

use chrono::{DateTime, Days, Duration, NaiveDate, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;

use crate::time::Timestamp;
use crate::validation::{FieldError, ValidationErrors};

/// When an event happens: a moment, or a whole day in whatever zone the reader is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FeedTime {
    /// Written in UTC, `YYYYMMDDTHHMMSSZ`.
    At(Timestamp),
    /// Written as `VALUE=DATE`; as an end, the day after the last day (exclusive).
    AllDay(NaiveDate),
}

/// One event of a calendar feed.
#[derive(Debug, Clone, PartialEq)]
pub struct FeedEvent {
    /// Stable across feeds, e.g. `"<id>@hamkor"`: calendars match updates by it.
    pub uid: String,
    pub start: FeedTime,
    /// Must be of the same kind as `start` and after it; otherwise the feed shows one hour
    /// (one day for all-day events) rather than an event calendars refuse.
    pub end: FeedTime,
    pub summary: String,
    pub description: Option<String>,
    pub location: Option<String>,
    /// A link back to the record in Hamkor.
    pub url: Option<String>,
    /// Also written as `DTSTAMP`, so the feed is the same text until something changes.
    pub updated: Timestamp,
    pub created: Timestamp,
    /// The record version: calendars take the higher `SEQUENCE` as the newer event.
    pub sequence: i64,
    /// Name and e-mail; written only when the e-mail is known.
    pub organizer: Option<(String, Option<String>)>,
    /// Names and e-mails; those without an e-mail are left out.
    pub attendees: Vec<(String, Option<String>)>,
    pub cancelled: bool,
}

/// The whole feed as text (CRLF line ends, lines folded at 75 octets). Costs one pass
/// over the events; the text is about 1 kB per event.
pub fn write_feed(calendar_name: &str, events: &[FeedEvent]) -> String {
    let mut out = String::with_capacity(256 + events.len() * 1024);
    let mut line = |text: &str| push_folded(&mut out, text);
    line("BEGIN:VCALENDAR");
    line("VERSION:2.0");
    line("PRODID:-//Hamkor//Hamkor CRM//EN");
    line("CALSCALE:GREGORIAN");
    line("METHOD:PUBLISH");
    line(&format!("X-WR-CALNAME:{}", escape_text(calendar_name)));
    // How often subscribers should fetch the feed again (Outlook, then Apple).
    line("X-PUBLISHED-TTL:PT1H");
    line("REFRESH-INTERVAL;VALUE=DURATION:PT1H");
    for e in events {
        let (start, end) = sane_span(e.start, e.end);
        line("BEGIN:VEVENT");
        line(&format!("UID:{}", escape_text(&e.uid)));
        line(&format!("DTSTAMP:{}", utc_text(e.updated)));
        line(&format!("DTSTART{}", time_text(start)));
        line(&format!("DTEND{}", time_text(end)));
        line(&format!("SUMMARY:{}", escape_text(&e.summary)));
        if let Some(d) = &e.description {
            line(&format!("DESCRIPTION:{}", escape_text(d)));
        }
        if let Some(l) = &e.location {
            line(&format!("LOCATION:{}", escape_text(l)));
        }
        if let Some(u) = &e.url {
            let u = uri_text(u);
            if !u.is_empty() {
                line(&format!("URL:{u}"));
            }
        }
        line(&format!(
            "SEQUENCE:{}",
            e.sequence.clamp(0, i64::from(i32::MAX))
        ));
        line(&format!("CREATED:{}", utc_text(e.created)));
        line(&format!("LAST-MODIFIED:{}", utc_text(e.updated)));
        line(if e.cancelled {
            "STATUS:CANCELLED"
        } else {
            "STATUS:CONFIRMED"
        });
        if let Some(p) = e.organizer.as_ref().and_then(|(n, m)| person(n, m)) {
            line(&format!("ORGANIZER{p}"));
        }
        for p in e.attendees.iter().filter_map(|(n, m)| person(n, m)) {
            line(&format!("ATTENDEE{p}"));
        }
        line("END:VEVENT");
    }
    line("END:VCALENDAR");
    out
}

/// Start and end as calendars accept them: same kind, end after start.
fn sane_span(start: FeedTime, end: FeedTime) -> (FeedTime, FeedTime) {
    match (start, end) {
        (FeedTime::At(s), FeedTime::At(e)) if e >= s => (start, end),
        (FeedTime::AllDay(s), FeedTime::AllDay(e)) if e > s => (start, end),
        (FeedTime::At(s), _) => {
            let e =
                s.0.checked_add_signed(Duration::hours(1))
                    .map(Timestamp)
                    .unwrap_or(s);
            (start, FeedTime::At(e))
        }
        (FeedTime::AllDay(s), _) => (start, FeedTime::AllDay(s.succ_opt().unwrap_or(s))),
    }
}

fn utc_text(t: Timestamp) -> String {
    t.0.format("%Y%m%dT%H%M%SZ").to_string()
}

/// The parameters and value of DTSTART/DTEND, from the `;` or `:` on.
fn time_text(t: FeedTime) -> String {
    match t {
        FeedTime::At(ts) => format!(":{}", utc_text(ts)),
        FeedTime::AllDay(d) => format!(";VALUE=DATE:{}", d.format("%Y%m%d")),
    }
}

/// TEXT escaping (RFC 5545 §3.3.11); other control characters are dropped.
fn escape_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\r' => {
                if chars.peek() == Some(&'\n') {
                    chars.next();
                }
                out.push_str("\\n");
            }
            '\n' => out.push_str("\\n"),
            '\t' => out.push('\t'),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// A URI value: no escaping exists for these, so controls go and spaces are encoded.
fn uri_text(s: &str) -> String {
    s.trim()
        .chars()
        .filter(|c| !c.is_control())
        .map(|c| {
            if c == ' ' {
                "%20".to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// `;CN=...:mailto:...` for ORGANIZER/ATTENDEE, or `None` without a usable e-mail: an
/// invented address would make calendars offer to write to it.
fn person(name: &str, email: &Option<String>) -> Option<String> {
    let email = email.as_deref()?.trim();
    let usable = email.contains('@')
        && !email
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || matches!(c, '"' | '<' | '>'));
    if !usable {
        return None;
    }
    // A parameter value cannot hold a double quote or a control, even quoted.
    let name: String = name
        .trim()
        .chars()
        .map(|c| match c {
            '"' => '\'',
            c if c.is_control() => ' ',
            c => c,
        })
        .collect();
    if name.is_empty() {
        return Some(format!(":mailto:{email}"));
    }
    let cn = if name.contains([';', ':', ',']) {
        format!("\"{name}\"")
    } else {
        name
    };
    Some(format!(";CN={cn}:mailto:{email}"))
}

/// Appends one content line, folded so no physical line exceeds 75 octets (the CRLF
/// not counted), never inside a UTF-8 character and never right after a space (some
/// readers trim line ends, which would eat it).
fn push_folded(out: &mut String, line: &str) {
    const MAX: usize = 75;
    let mut rest = line;
    // Continuation lines start with a space, which counts.
    let mut room = MAX;
    while rest.len() > room {
        let mut cut = room;
        while !rest.is_char_boundary(cut) {
            cut -= 1;
        }
        let trimmed = rest[..cut].trim_end_matches([' ', '\t']).len();
        if trimmed > 0 {
            cut = trimmed;
        }
        out.push_str(&rest[..cut]);
        out.push_str("\r\n ");
        rest = &rest[cut..];
        room = MAX - 1;
    }
    out.push_str(rest);
    out.push_str("\r\n");
}

// ---------------------------------------------------------------------------------------
// Import
// ---------------------------------------------------------------------------------------

/// An event read from an uploaded `.ics` file.
#[derive(Debug, Clone, PartialEq)]
pub struct ImportedEvent {
    pub uid: Option<String>,
    /// Empty when the event has no SUMMARY.
    pub summary: String,
    pub start: FeedTime,
    /// Same kind as `start`, never before it; all-day ends are exclusive.
    pub end: FeedTime,
    pub description: Option<String>,
    pub location: Option<String>,
    /// The line where its `BEGIN:VEVENT` is, 1-based.
    pub line: usize,
}

/// The largest file [`parse_ics`] reads.
pub const MAX_ICS_BYTES: usize = 5 * 1024 * 1024;
/// The most events one file may hold.
pub const MAX_ICS_EVENTS: usize = 5_000;
/// The longest content line, after unfolding.
pub const MAX_ICS_LINE_BYTES: usize = 100 * 1024;
/// Components inside components (VCALENDAR > VEVENT > VALARM is 3).
const MAX_DEPTH: usize = 8;
/// Past this many problems, stop reading: the file is not worth more.
const MAX_ERRORS: usize = 20;
const FIELD: &str = "file";

fn malformed(line: usize, reason: impl ToString) -> FieldError {
    FieldError::new(FIELD, "error-ics-malformed")
        .with("line", line)
        .with("reason", reason)
}

/// Reads the events of an iCalendar file, all or nothing: any problem gives errors on
/// field `file` (`error-ics-too-large`, `error-ics-malformed` with `line` and `reason`,
/// `error-ics-too-many`, `error-ics-empty`, `error-ics-end-before-start` with `line`)
/// and no events.
///
/// - Text is UTF-8, with or without a BOM; folded lines are unfolded (also when a
///   careless writer folded inside a UTF-8 character) and TEXT values unescaped.
/// - Times: UTC (`...Z`), floating (read in `default_tz`), `TZID=` with an IANA name,
///   a common Windows name (as Outlook writes) or a `(UTC+05:00) ...` label; any other
///   TZID is read in `default_tz`. `VALUE=DATE` gives all-day events. The VTIMEZONE
///   definitions of the file are not read: zones come from the tz database.
/// - The end is DTEND, or DTSTART + DURATION, or one hour (one day for all-day events).
/// - Recurring events (RRULE, RDATE, EXDATE): only the first occurrence is imported.
///   Changed single occurrences of a series (events with RECURRENCE-ID) are skipped.
/// - VTODO, VJOURNAL, VFREEBUSY, VTIMEZONE and VALARM are skipped without error.
///
/// Costs one pass over the input and memory about twice its size; the input is capped at
/// [`MAX_ICS_BYTES`], lines at [`MAX_ICS_LINE_BYTES`], events at [`MAX_ICS_EVENTS`].
pub fn parse_ics(bytes: &[u8], default_tz: Tz) -> Result<Vec<ImportedEvent>, ValidationErrors> {
    if bytes.len() > MAX_ICS_BYTES {
        return Err(FieldError::new(FIELD, "error-ics-too-large")
            .with("max_mb", MAX_ICS_BYTES / (1024 * 1024))
            .into());
    }
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let mut reader = Reader {
        default_tz,
        stack: Vec::new(),
        event: None,
        events: Vec::new(),
        errors: ValidationErrors::default(),
        seen_calendar: false,
        vevents: 0,
    };
    let mut pending: Option<(usize, Vec<u8>)> = None;
    for (i, raw) in bytes.split(|b| *b == b'\n').enumerate() {
        let number = i + 1;
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        if raw.len() > MAX_ICS_LINE_BYTES {
            return Err(malformed(number, "the line is longer than 100 kB").into());
        }
        if let (Some(b' ' | b'\t'), Some((_, text))) = (raw.first(), pending.as_mut()) {
            text.extend_from_slice(&raw[1..]);
            if text.len() > MAX_ICS_LINE_BYTES {
                let start = pending.as_ref().map_or(number, |(n, _)| *n);
                return Err(malformed(start, "the line is longer than 100 kB").into());
            }
            continue;
        }
        if let Some((n, text)) = pending.take() {
            reader.content_line(n, &text)?;
        }
        if raw.iter().all(|b| b.is_ascii_whitespace()) {
            continue;
        }
        pending = Some((number, raw.to_vec()));
    }
    if let Some((n, text)) = pending.take() {
        reader.content_line(n, &text)?;
    }
    reader.finish()
}

/// Why reading stopped early: the errors so far.
type Stop = ValidationErrors;

struct Reader {
    default_tz: Tz,
    /// Open components and the lines they began on.
    stack: Vec<(String, usize)>,
    /// The VEVENT being read, when the innermost component is one.
    event: Option<EventDraft>,
    events: Vec<ImportedEvent>,
    errors: ValidationErrors,
    seen_calendar: bool,
    vevents: usize,
}

impl Reader {
    /// Notes a problem and reads on, unless there are already too many.
    fn problem(&mut self, e: FieldError) -> Result<(), Stop> {
        self.errors.push(e);
        if self.errors.0.len() >= MAX_ERRORS {
            return Err(std::mem::take(&mut self.errors));
        }
        Ok(())
    }

    /// A problem after which the rest of the file cannot be understood.
    fn fatal(&mut self, e: FieldError) -> Stop {
        let mut errors = std::mem::take(&mut self.errors);
        errors.push(e);
        errors
    }

    fn content_line(&mut self, line: usize, bytes: &[u8]) -> Result<(), Stop> {
        let text = match std::str::from_utf8(bytes) {
            Ok(t) => t,
            Err(_) => return Err(self.fatal(malformed(line, "the file is not UTF-8 text"))),
        };
        let prop = match Property::parse(text) {
            Ok(p) => p,
            Err(reason) if self.stack.is_empty() => {
                return Err(
                    self.fatal(malformed(line, format!("not an iCalendar file ({reason})")))
                );
            }
            Err(reason) => return self.problem(malformed(line, reason)),
        };
        match prop.name.as_str() {
            "BEGIN" => self.begin(line, prop.value.trim()),
            "END" => self.end(line, prop.value.trim()),
            _ if self.stack.is_empty() => Err(self.fatal(malformed(
                line,
                "not an iCalendar file: it must start with BEGIN:VCALENDAR",
            ))),
            _ => {
                // Only the event's own properties, not those of its VALARMs.
                if self.stack.len() == 2
                    && let Some(draft) = self.event.as_mut()
                    && let Err(e) = draft.add(line, prop, self.default_tz)
                {
                    // Reported once: the event is not checked any further.
                    draft.broken = true;
                    return self.problem(e);
                }
                Ok(())
            }
        }
    }

    fn begin(&mut self, line: usize, name: &str) -> Result<(), Stop> {
        let name = name.to_ascii_uppercase();
        if self.stack.is_empty() && name != "VCALENDAR" {
            return Err(self.fatal(malformed(
                line,
                "not an iCalendar file: it must start with BEGIN:VCALENDAR",
            )));
        }
        if !self.stack.is_empty() && name == "VCALENDAR" {
            return Err(self.fatal(malformed(line, "BEGIN:VCALENDAR inside a component")));
        }
        if self.stack.len() >= MAX_DEPTH {
            return Err(self.fatal(malformed(line, "components are nested too deep")));
        }
        if name == "VEVENT" && self.stack.len() == 1 {
            self.vevents += 1;
            if self.vevents > MAX_ICS_EVENTS {
                return Err(self.fatal(
                    FieldError::new(FIELD, "error-ics-too-many").with("max", MAX_ICS_EVENTS),
                ));
            }
            self.event = Some(EventDraft::new(line));
        }
        self.seen_calendar = true;
        self.stack.push((name, line));
        Ok(())
    }

    fn end(&mut self, line: usize, name: &str) -> Result<(), Stop> {
        let name = name.to_ascii_uppercase();
        let Some((open, open_line)) = self.stack.pop() else {
            return Err(self.fatal(malformed(line, format!("END:{name} without BEGIN"))));
        };
        if open != name {
            return Err(self.fatal(malformed(
                line,
                format!("END:{name} does not close BEGIN:{open} of line {open_line}"),
            )));
        }
        if name == "VEVENT"
            && self.stack.len() == 1
            && let Some(draft) = self.event.take()
        {
            match draft.finish() {
                Ok(Some(event)) => self.events.push(event),
                Ok(None) => {}
                Err(e) => return self.problem(e),
            }
        }
        Ok(())
    }

    fn finish(mut self) -> Result<Vec<ImportedEvent>, ValidationErrors> {
        if let Some((open, line)) = self.stack.last() {
            let e = malformed(*line, format!("BEGIN:{open} is never closed"));
            return Err(self.fatal(e));
        }
        if !self.seen_calendar {
            let e = malformed(1, "not an iCalendar file: there is no BEGIN:VCALENDAR");
            return Err(self.fatal(e));
        }
        self.errors.into_result()?;
        if self.events.is_empty() {
            return Err(FieldError::new(FIELD, "error-ics-empty").into());
        }
        Ok(self.events)
    }
}

/// One content line: `NAME;PARAM=a,b;PARAM="q":value`.
struct Property<'a> {
    /// Upper-cased.
    name: String,
    /// Names upper-cased; values as written, quotes removed.
    params: Vec<(String, Vec<&'a str>)>,
    value: &'a str,
}

impl<'a> Property<'a> {
    fn parse(line: &'a str) -> Result<Property<'a>, String> {
        fn is_name_char(c: char) -> bool {
            c.is_ascii_alphanumeric() || c == '-'
        }
        let name_len = line.find(|c| !is_name_char(c)).unwrap_or(line.len());
        if name_len == 0 {
            return Err("a line must start with a property name".into());
        }
        let name = line[..name_len].to_ascii_uppercase();
        let mut rest = &line[name_len..];
        let mut params = Vec::new();
        while let Some(after) = rest.strip_prefix(';') {
            let len = after.find(|c| !is_name_char(c)).unwrap_or(after.len());
            let pname = &after[..len];
            let Some(mut values_text) = after[len..].strip_prefix('=').filter(|_| len > 0) else {
                return Err(format!("a parameter of {name} has no name=value form"));
            };
            let mut values = Vec::new();
            loop {
                if let Some(quoted) = values_text.strip_prefix('"') {
                    let Some(close) = quoted.find('"') else {
                        return Err(format!("a quote in a parameter of {name} is never closed"));
                    };
                    values.push(&quoted[..close]);
                    values_text = &quoted[close + 1..];
                } else {
                    let end = values_text
                        .find([',', ';', ':'])
                        .unwrap_or(values_text.len());
                    values.push(&values_text[..end]);
                    values_text = &values_text[end..];
                }
                match values_text.strip_prefix(',') {
                    Some(more) => values_text = more,
                    None => break,
                }
            }
            params.push((pname.to_ascii_uppercase(), values));
            rest = values_text;
        }
        let Some(value) = rest.strip_prefix(':') else {
            return Err(format!("expected `:` after {name}"));
        };
        Ok(Property {
            name,
            params,
            value,
        })
    }

    /// A parameter's values joined back with commas (a TZID label may hold one).
    fn param(&self, name: &str) -> Option<String> {
        self.params
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.join(","))
    }
}

/// A start or end as read, with the line it came from.
#[derive(Clone, Copy)]
struct When {
    line: usize,
    time: FeedTime,
}

struct EventDraft {
    line: usize,
    uid: Option<String>,
    summary: Option<String>,
    description: Option<String>,
    location: Option<String>,
    start: Option<When>,
    end: Option<When>,
    duration: Option<(usize, Span)>,
    /// A changed occurrence of a recurring series.
    recurrence_id: bool,
    /// A problem in it was already reported.
    broken: bool,
}

impl EventDraft {
    fn new(line: usize) -> Self {
        EventDraft {
            line,
            uid: None,
            summary: None,
            description: None,
            location: None,
            start: None,
            end: None,
            duration: None,
            recurrence_id: false,
            broken: false,
        }
    }

    fn add(&mut self, line: usize, prop: Property<'_>, tz: Tz) -> Result<(), FieldError> {
        fn once<T>(
            slot: &mut Option<T>,
            value: T,
            line: usize,
            name: &str,
        ) -> Result<(), FieldError> {
            if slot.is_some() {
                return Err(malformed(
                    line,
                    format!("{name} appears twice in one event"),
                ));
            }
            *slot = Some(value);
            Ok(())
        }
        let name = prop.name.as_str();
        match name {
            "UID" => once(&mut self.uid, unescape_text(prop.value), line, name),
            "SUMMARY" => once(&mut self.summary, unescape_text(prop.value), line, name),
            "DESCRIPTION" => once(&mut self.description, unescape_text(prop.value), line, name),
            "LOCATION" => once(&mut self.location, unescape_text(prop.value), line, name),
            "DTSTART" | "DTEND" => {
                let time = parse_time(&prop, tz).map_err(|r| malformed(line, r))?;
                let slot = if name == "DTSTART" {
                    &mut self.start
                } else {
                    &mut self.end
                };
                once(slot, When { line, time }, line, name)
            }
            "DURATION" => {
                let span = parse_duration(prop.value.trim()).ok_or_else(|| {
                    malformed(
                        line,
                        format!("`{}` is not a duration such as PT1H30M", prop.value.trim()),
                    )
                })?;
                once(&mut self.duration, (line, span), line, name)
            }
            "RECURRENCE-ID" => {
                self.recurrence_id = true;
                Ok(())
            }
            _ => Ok(()),
        }
    }

    /// The event, `None` when it is skipped on purpose.
    fn finish(self) -> Result<Option<ImportedEvent>, FieldError> {
        if self.broken {
            return Ok(None);
        }
        let Some(start) = self.start else {
            return Err(malformed(self.line, "the event has no DTSTART"));
        };
        if self.recurrence_id {
            return Ok(None);
        }
        let end = match (self.end, self.duration) {
            (Some(_), Some((line, _))) => {
                return Err(malformed(line, "an event has DTEND or DURATION, not both"));
            }
            (Some(end), None) => match (start.time, end.time) {
                (FeedTime::At(_), FeedTime::At(_)) | (FeedTime::AllDay(_), FeedTime::AllDay(_)) => {
                    end.time
                }
                _ => {
                    return Err(malformed(
                        end.line,
                        "DTSTART and DTEND must both be dates or both date-times",
                    ));
                }
            },
            (None, Some((line, span))) => {
                add_span(start.time, span).map_err(|reason| malformed(line, reason))?
            }
            (None, None) => {
                let default = match start.time {
                    FeedTime::At(_) => Span {
                        seconds: 3600,
                        ..Span::default()
                    },
                    FeedTime::AllDay(_) => Span {
                        days: 1,
                        ..Span::default()
                    },
                };
                add_span(start.time, default).map_err(|reason| malformed(start.line, reason))?
            }
        };
        let end = match (start.time, end) {
            (FeedTime::At(s), FeedTime::At(e)) if e < s => None,
            (FeedTime::AllDay(s), FeedTime::AllDay(e)) if e < s => None,
            // Some writers give a one-day event DTEND equal to DTSTART.
            (FeedTime::AllDay(s), FeedTime::AllDay(e)) if e == s => {
                Some(FeedTime::AllDay(s.succ_opt().unwrap_or(s)))
            }
            (_, end) => Some(end),
        };
        let Some(end) = end else {
            return Err(
                FieldError::new(FIELD, "error-ics-end-before-start").with("line", self.line)
            );
        };
        Ok(Some(ImportedEvent {
            uid: self.uid.filter(|u| !u.trim().is_empty()),
            summary: self.summary.unwrap_or_default(),
            start: start.time,
            end,
            description: self.description,
            location: self.location,
            line: self.line,
        }))
    }
}

/// Reverses TEXT escaping; unknown escapes are kept as written, and control characters
/// other than newline and tab (a NUL would not even fit in a database text) are dropped.
fn unescape_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some('n' | 'N') => out.push('\n'),
                Some(c @ ('\\' | ';' | ',' | ':' | '"')) => out.push(c),
                Some(c) => {
                    out.push('\\');
                    if !c.is_control() {
                        out.push(c);
                    }
                }
                None => out.push('\\'),
            },
            '\n' | '\t' => out.push(c),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// DTSTART/DTEND: `VALUE=DATE` `YYYYMMDD`, or `YYYYMMDDTHHMMSS` in UTC (`Z`), in a
/// `TZID`, or floating (read in `default_tz`).
fn parse_time(prop: &Property<'_>, default_tz: Tz) -> Result<FeedTime, String> {
    let v = prop.value.trim();
    let kind = prop.param("VALUE").map(|k| k.to_ascii_uppercase());
    let bad = || format!("`{v}` is not a valid {}", prop.name);
    match kind.as_deref() {
        Some("DATE") => parse_date(v).map(FeedTime::AllDay).ok_or_else(bad),
        None if v.len() == 8 => parse_date(v).map(FeedTime::AllDay).ok_or_else(bad),
        None | Some("DATE-TIME") => {
            let (local, utc) = match v.strip_suffix(['Z', 'z']) {
                Some(local) => (local, true),
                None => (v, false),
            };
            let naive = parse_date_time(local).ok_or_else(bad)?;
            let at = if utc {
                Some(naive.and_utc())
            } else {
                let tz = match prop.param("TZID") {
                    Some(name) => zone(&name).unwrap_or(default_tz),
                    None => default_tz,
                };
                local_to_utc(tz, naive)
            };
            at.map(|t| FeedTime::At(Timestamp::from_datetime(t)))
                .ok_or_else(bad)
        }
        Some(other) => Err(format!("{} cannot be VALUE={other}", prop.name)),
    }
}

fn digits(s: &str) -> Option<u32> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

fn parse_date(s: &str) -> Option<NaiveDate> {
    if s.len() != 8 || !s.is_ascii() {
        return None;
    }
    let year = i32::try_from(digits(&s[..4])?).ok()?;
    NaiveDate::from_ymd_opt(year, digits(&s[4..6])?, digits(&s[6..8])?)
}

fn parse_date_time(s: &str) -> Option<NaiveDateTime> {
    if s.len() != 15 || !s.is_ascii() || !s[8..9].eq_ignore_ascii_case("T") {
        return None;
    }
    // A leap second (60) is read as the second before it.
    let second = digits(&s[13..15])?;
    let second = if second == 60 { 59 } else { second };
    parse_date(&s[..8])?.and_hms_opt(digits(&s[9..11])?, digits(&s[11..13])?, second)
}

/// A local time in `tz` as UTC. Of two readings (clocks going back) the earlier is taken;
/// a time the clocks skipped is read an hour later, as a wall clock would show it.
fn local_to_utc(tz: Tz, naive: NaiveDateTime) -> Option<DateTime<Utc>> {
    let local = tz.from_local_datetime(&naive).earliest().or_else(|| {
        let later = naive.checked_add_signed(Duration::hours(1))?;
        tz.from_local_datetime(&later).earliest()
    })?;
    Some(local.with_timezone(&Utc))
}

/// Windows zone names (Outlook's TZID) for the region we serve and its partners.
const WINDOWS_ZONES: &[(&str, Tz)] = &[
    ("West Asia Standard Time", Tz::Asia__Tashkent),
    ("Russian Standard Time", Tz::Europe__Moscow),
    ("Central Asia Standard Time", Tz::Asia__Almaty),
    ("Qyzylorda Standard Time", Tz::Asia__Qyzylorda),
    ("Ekaterinburg Standard Time", Tz::Asia__Yekaterinburg),
    ("N. Central Asia Standard Time", Tz::Asia__Novosibirsk),
    ("Omsk Standard Time", Tz::Asia__Omsk),
    ("Kaliningrad Standard Time", Tz::Europe__Kaliningrad),
    ("Russia Time Zone 3", Tz::Europe__Samara),
    ("Volgograd Standard Time", Tz::Europe__Volgograd),
    ("Belarus Standard Time", Tz::Europe__Minsk),
    ("Azerbaijan Standard Time", Tz::Asia__Baku),
    ("Georgian Standard Time", Tz::Asia__Tbilisi),
    ("Caucasus Standard Time", Tz::Asia__Yerevan),
    ("Afghanistan Standard Time", Tz::Asia__Kabul),
    ("Pakistan Standard Time", Tz::Asia__Karachi),
    ("India Standard Time", Tz::Asia__Kolkata),
    ("Arabian Standard Time", Tz::Asia__Dubai),
    ("Arab Standard Time", Tz::Asia__Riyadh),
    ("Iran Standard Time", Tz::Asia__Tehran),
    ("Turkey Standard Time", Tz::Europe__Istanbul),
    ("FLE Standard Time", Tz::Europe__Kyiv),
    ("GTB Standard Time", Tz::Europe__Bucharest),
    ("E. Europe Standard Time", Tz::Europe__Chisinau),
    ("Central European Standard Time", Tz::Europe__Warsaw),
    ("Central Europe Standard Time", Tz::Europe__Budapest),
    ("Romance Standard Time", Tz::Europe__Paris),
    ("W. Europe Standard Time", Tz::Europe__Berlin),
    ("GMT Standard Time", Tz::Europe__London),
    ("China Standard Time", Tz::Asia__Shanghai),
    ("Korea Standard Time", Tz::Asia__Seoul),
    ("Tokyo Standard Time", Tz::Asia__Tokyo),
    ("Singapore Standard Time", Tz::Asia__Singapore),
    ("Eastern Standard Time", Tz::America__New_York),
    ("Central Standard Time", Tz::America__Chicago),
    ("Pacific Standard Time", Tz::America__Los_Angeles),
    ("UTC", Tz::UTC),
    ("Coordinated Universal Time", Tz::UTC),
];

/// The zone a TZID names, if we can tell.
fn zone(tzid: &str) -> Option<Tz> {
    let name = tzid.trim();
    if let Ok(tz) = name.parse::<Tz>() {
        return Some(tz);
    }
    if let Some((_, tz)) = WINDOWS_ZONES
        .iter()
        .find(|(w, _)| w.eq_ignore_ascii_case(name))
    {
        return Some(*tz);
    }
    // Prefixed Olson names: "/mozilla.org/20070129_1/Europe/Moscow".
    let parts: Vec<&str> = name.split('/').filter(|p| !p.is_empty()).collect();
    for take in [3, 2, 1] {
        if parts.len() >= take
            && let Ok(tz) = parts[parts.len() - take..].join("/").parse::<Tz>()
        {
            return Some(tz);
        }
    }
    offset_label(name)
}

/// Older Outlook labels, "(UTC+05:00) Ashgabat, Tashkent": a fixed offset, when whole
/// hours (the tz database only has those as `Etc/GMT-5`, sign reversed).
fn offset_label(name: &str) -> Option<Tz> {
    let rest = name.trim_start_matches('(');
    let rest = rest
        .strip_prefix("UTC")
        .or_else(|| rest.strip_prefix("GMT"))?;
    if rest.starts_with(')') {
        return Some(Tz::UTC);
    }
    let sign = match rest.as_bytes().first()? {
        b'+' => "-",
        b'-' => "+",
        _ => return None,
    };
    let hours = digits(rest.get(1..3)?)?;
    if rest.get(3..6)? != ":00" || hours > 14 {
        return None;
    }
    if hours == 0 {
        return Some(Tz::UTC);
    }
    format!("Etc/GMT{sign}{hours}").parse().ok()
}

/// A DURATION: calendar days (weeks included) and seconds, with a sign.
#[derive(Clone, Copy, Default)]
struct Span {
    negative: bool,
    days: i64,
    seconds: i64,
}

/// `P1D`, `PT1H30M`, `-PT15M`, `P1W`, `P1DT2H`. Numbers longer than 9 digits are refused.
fn parse_duration(s: &str) -> Option<Span> {
    let mut span = Span::default();
    let mut rest = s;
    if let Some(r) = rest.strip_prefix('-') {
        span.negative = true;
        rest = r;
    } else if let Some(r) = rest.strip_prefix('+') {
        rest = r;
    }
    rest = rest.strip_prefix(['P', 'p'])?;
    let mut in_time = false;
    let mut parts = 0;
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix(['T', 't']) {
            if in_time {
                return None;
            }
            in_time = true;
            rest = r;
            continue;
        }
        let len = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        if len == 0 || len > 9 {
            return None;
        }
        let n = i64::from(digits(&rest[..len])?);
        let unit = rest[len..].chars().next()?.to_ascii_uppercase();
        match (in_time, unit) {
            (false, 'W') => span.days += n * 7,
            (false, 'D') => span.days += n,
            (true, 'H') => span.seconds += n * 3600,
            (true, 'M') => span.seconds += n * 60,
            (true, 'S') => span.seconds += n,
            _ => return None,
        }
        parts += 1;
        rest = &rest[len + 1..];
    }
    (parts > 0).then_some(span)
}

/// `start` moved by `span`; all-day events take whole days only.
fn add_span(start: FeedTime, span: Span) -> Result<FeedTime, String> {
    let too_far = || "the duration goes beyond the calendar".to_string();
    match start {
        FeedTime::At(t) => {
            let d = Duration::try_days(span.days)
                .and_then(|d| d.checked_add(&Duration::try_seconds(span.seconds)?))
                .ok_or_else(too_far)?;
            let d = if span.negative { -d } else { d };
            t.0.checked_add_signed(d)
                .map(|t| FeedTime::At(Timestamp(t)))
                .ok_or_else(too_far)
        }
        FeedTime::AllDay(date) => {
            if span.seconds != 0 {
                return Err("an all-day event lasts whole days".into());
            }
            let days = Days::new(span.days.unsigned_abs());
            let end = if span.negative {
                date.checked_sub_days(days)
            } else {
                date.checked_add_days(days)
            };
            end.map(FeedTime::AllDay).ok_or_else(too_far)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::BufReader;

    fn ts(s: &str) -> Timestamp {
        Timestamp::parse_rfc3339(s).unwrap()
    }

    fn date(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    const TASHKENT: Tz = Tz::Asia__Tashkent;

    const LONG_SUMMARY: &str = "Встреча с ООО «Ромашка», обсудить договор; цены, сроки \
        и условия поставки\nВторая строка: Oʻzbekiston, Gʻalaba koʻchasi 5; \
        backslash \\ и ещё текст, чтобы строка была длиннее 75 октетов";

    fn sample_events() -> Vec<FeedEvent> {
        vec![
            FeedEvent {
                uid: "0190f3a2-1b2c-7d3e-8f40-123456789abc@hamkor".into(),
                start: FeedTime::At(ts("2026-06-01T05:00:00Z")),
                end: FeedTime::At(ts("2026-06-01T06:30:00Z")),
                summary: LONG_SUMMARY.into(),
                description: Some("Line one\r\nLine two, with comma; and semicolon\nʻ".into()),
                location: Some("Toshkent, Amir Temur koʻchasi 1".into()),
                url: Some("https://crm.example.uz/deals/0190f3a2".into()),
                updated: ts("2026-05-20T10:11:12Z"),
                created: ts("2026-05-01T08:00:00Z"),
                sequence: 7,
                organizer: Some(("Иванов, Иван".into(), Some("ivan@example.uz".into()))),
                attendees: vec![
                    ("Dilnoza Karimova".into(), Some("dilnoza@example.uz".into())),
                    ("Без почты".into(), None),
                    (
                        "Jamshid: \"boss\"".into(),
                        Some("jamshid@example.uz".into()),
                    ),
                ],
                cancelled: false,
            },
            FeedEvent {
                uid: "all-day@hamkor".into(),
                start: FeedTime::AllDay(date("2026-06-10")),
                end: FeedTime::AllDay(date("2026-06-12")),
                summary: "Navroʻz".into(),
                description: None,
                location: None,
                url: None,
                updated: ts("2026-05-20T10:11:12Z"),
                created: ts("2026-05-20T10:11:12Z"),
                sequence: 0,
                organizer: Some(("Nobody".into(), None)),
                attendees: vec![],
                cancelled: true,
            },
        ]
    }

    /// TEXT unescaping written for the test, apart from the importer's: `ical` keeps
    /// values as written.
    fn unescape(s: &str) -> String {
        let mut out = String::new();
        let mut chars = s.chars();
        while let Some(c) = chars.next() {
            if c != '\\' {
                out.push(c);
                continue;
            }
            match chars.next() {
                Some('n' | 'N') => out.push('\n'),
                Some(c) => out.push(c),
                None => {}
            }
        }
        out
    }

    fn prop<'a>(props: &'a [ical::property::Property], name: &str) -> &'a ical::property::Property {
        let found: Vec<_> = props.iter().filter(|p| p.name == name).collect();
        assert_eq!(found.len(), 1, "{name} once");
        found[0]
    }

    fn value(props: &[ical::property::Property], name: &str) -> String {
        prop(props, name).value.clone().unwrap_or_default()
    }

    fn param(p: &ical::property::Property, name: &str) -> Option<Vec<String>> {
        p.params
            .as_ref()?
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
    }

    #[test]
    fn feed_reads_back_with_an_independent_parser() {
        let feed = write_feed("Hamkor: задачи, встречи", &sample_events());
        let mut parser = ical::IcalParser::new(BufReader::new(feed.as_bytes()));
        let cal = parser.next().expect("a calendar").expect("parses");
        assert!(parser.next().is_none());
        let p = &cal.properties;
        assert_eq!(value(p, "VERSION"), "2.0");
        assert_eq!(value(p, "PRODID"), "-//Hamkor//Hamkor CRM//EN");
        assert_eq!(value(p, "CALSCALE"), "GREGORIAN");
        assert_eq!(value(p, "METHOD"), "PUBLISH");
        assert_eq!(
            unescape(&value(p, "X-WR-CALNAME")),
            "Hamkor: задачи, встречи"
        );
        assert_eq!(cal.events.len(), 2);

        let e = &cal.events[0].properties;
        assert_eq!(
            unescape(&value(e, "UID")),
            "0190f3a2-1b2c-7d3e-8f40-123456789abc@hamkor"
        );
        assert_eq!(value(e, "DTSTAMP"), "20260520T101112Z");
        assert_eq!(value(e, "DTSTART"), "20260601T050000Z");
        assert_eq!(value(e, "DTEND"), "20260601T063000Z");
        assert_eq!(unescape(&value(e, "SUMMARY")), LONG_SUMMARY);
        assert_eq!(
            unescape(&value(e, "DESCRIPTION")),
            "Line one\nLine two, with comma; and semicolon\nʻ"
        );
        assert_eq!(
            unescape(&value(e, "LOCATION")),
            "Toshkent, Amir Temur koʻchasi 1"
        );
        assert_eq!(value(e, "URL"), "https://crm.example.uz/deals/0190f3a2");
        assert_eq!(value(e, "SEQUENCE"), "7");
        assert_eq!(value(e, "CREATED"), "20260501T080000Z");
        assert_eq!(value(e, "LAST-MODIFIED"), "20260520T101112Z");
        assert_eq!(value(e, "STATUS"), "CONFIRMED");
        let organizer = prop(e, "ORGANIZER");
        assert_eq!(organizer.value.as_deref(), Some("mailto:ivan@example.uz"));
        assert_eq!(
            param(organizer, "CN"),
            Some(vec!["Иванов, Иван".to_string()])
        );
        let attendees: Vec<_> = e.iter().filter(|p| p.name == "ATTENDEE").collect();
        assert_eq!(attendees.len(), 2, "the one without an e-mail is left out");
        assert_eq!(
            param(attendees[0], "CN"),
            Some(vec!["Dilnoza Karimova".to_string()])
        );
        assert_eq!(
            attendees[0].value.as_deref(),
            Some("mailto:dilnoza@example.uz")
        );
        assert_eq!(
            param(attendees[1], "CN"),
            Some(vec!["Jamshid: 'boss'".to_string()])
        );
        assert_eq!(
            attendees[1].value.as_deref(),
            Some("mailto:jamshid@example.uz")
        );

        let e = &cal.events[1].properties;
        assert_eq!(value(e, "DTSTART"), "20260610");
        assert_eq!(
            param(prop(e, "DTSTART"), "VALUE"),
            Some(vec!["DATE".to_string()])
        );
        assert_eq!(value(e, "DTEND"), "20260612");
        assert_eq!(
            param(prop(e, "DTEND"), "VALUE"),
            Some(vec!["DATE".to_string()])
        );
        assert_eq!(value(e, "STATUS"), "CANCELLED");
        assert_eq!(unescape(&value(e, "SUMMARY")), "Navroʻz");
        for name in ["UID", "DTSTAMP", "SEQUENCE", "CREATED", "LAST-MODIFIED"] {
            prop(e, name);
        }
        assert!(
            e.iter().all(|p| p.name != "ORGANIZER"),
            "no invented address"
        );
    }

    #[test]
    fn feed_lines_end_in_crlf_and_fold_at_75_octets() {
        let feed = write_feed("Календарь", &sample_events());
        assert!(feed.ends_with("END:VCALENDAR\r\n"));
        let body = feed.strip_suffix("\r\n").unwrap();
        let mut folded = 0;
        for line in body.split("\r\n") {
            assert!(!line.contains(['\r', '\n']), "bare line break in {line:?}");
            assert!(line.len() <= 75, "{} octets: {line:?}", line.len());
            assert!(!line.ends_with(' '), "ends with a space: {line:?}");
            if line.starts_with(' ') {
                folded += 1;
            }
        }
        assert!(folded >= 3, "the long summary is folded");
        // Unfolding gives back whole lines.
        let unfolded = body.replace("\r\n ", "");
        assert!(unfolded.contains(&format!("SUMMARY:{}", escape_text(LONG_SUMMARY))));
    }

    #[test]
    fn folding_never_splits_a_character() {
        for text in [
            "ʻ".repeat(200),
            "я".repeat(301),
            "😀".repeat(99),
            "a😀".repeat(77),
        ] {
            for prefix in ["", "X", "XY", "XYZ"] {
                let mut out = String::new();
                let line = format!("SUMMARY:{prefix}{text}");
                push_folded(&mut out, &line);
                let body = out.strip_suffix("\r\n").unwrap();
                assert!(body.split("\r\n").all(|l| l.len() <= 75));
                assert_eq!(body.replace("\r\n ", ""), line);
            }
        }
        let mut out = String::new();
        push_folded(&mut out, &format!("SUMMARY:{}", "word ".repeat(40) + "end"));
        assert!(out.split("\r\n").all(|l| !l.ends_with(' ')));
    }

    #[test]
    fn feed_reads_back_with_our_importer() {
        let events = sample_events();
        let feed = write_feed("Hamkor", &events);
        let back = parse_ics(feed.as_bytes(), TASHKENT).unwrap();
        assert_eq!(back.len(), 2);
        assert_eq!(back[0].uid.as_deref(), Some(events[0].uid.as_str()));
        assert_eq!(back[0].summary, LONG_SUMMARY);
        assert_eq!(back[0].start, events[0].start);
        assert_eq!(back[0].end, events[0].end);
        assert_eq!(back[0].location, events[0].location);
        assert_eq!(back[1].start, FeedTime::AllDay(date("2026-06-10")));
        assert_eq!(back[1].end, FeedTime::AllDay(date("2026-06-12")));
    }

    #[test]
    fn feed_repairs_spans_calendars_would_refuse() {
        let mut e = sample_events().remove(0);
        e.start = FeedTime::At(ts("2026-06-01T05:00:00Z"));
        e.end = FeedTime::AllDay(date("2026-06-01"));
        e.sequence = -3;
        let feed = write_feed("x", &[e.clone()]);
        assert!(feed.contains("DTEND:20260601T060000Z\r\n"), "{feed}");
        assert!(feed.contains("SEQUENCE:0\r\n"));
        e.start = FeedTime::AllDay(date("2026-06-01"));
        e.end = FeedTime::AllDay(date("2026-05-30"));
        let feed = write_feed("x", &[e]);
        assert!(feed.contains("DTEND;VALUE=DATE:20260602\r\n"), "{feed}");
    }

    #[test]
    fn feed_quotes_cn_only_when_needed() {
        let mail = Some("a@b.uz".to_string());
        assert_eq!(
            person("Ali Valiyev", &mail).unwrap(),
            ";CN=Ali Valiyev:mailto:a@b.uz"
        );
        assert_eq!(
            person("Valiyev, Ali", &mail).unwrap(),
            ";CN=\"Valiyev, Ali\":mailto:a@b.uz"
        );
        assert_eq!(person("", &mail).unwrap(), ":mailto:a@b.uz");
        assert_eq!(person("Ali", &None), None);
        assert_eq!(person("Ali", &Some("not an address".into())), None);
    }

    // ----------------------------------------------------------------------------------
    // Import
    // ----------------------------------------------------------------------------------

    fn ics(body: &str) -> String {
        format!("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Test//EN\r\n{body}END:VCALENDAR\r\n")
    }

    fn event(props: &str) -> String {
        format!("BEGIN:VEVENT\r\nUID:1@test\r\n{props}END:VEVENT\r\n")
    }

    fn one(props: &str) -> ImportedEvent {
        let mut events = parse_ics(ics(&event(props)).as_bytes(), TASHKENT).unwrap();
        assert_eq!(events.len(), 1);
        events.remove(0)
    }

    /// The single error of a refused file: key, line and reason.
    fn refused(text: &[u8]) -> (&'static str, Option<String>, String) {
        let errors = parse_ics(text, TASHKENT).unwrap_err();
        assert_eq!(errors.0.len(), 1, "{errors:?}");
        let e = &errors.0[0];
        assert_eq!(e.field, "file");
        let arg = |name: &str| {
            e.args
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.clone())
        };
        (e.key, arg("line"), arg("reason").unwrap_or_default())
    }

    fn at(s: &str) -> FeedTime {
        FeedTime::At(ts(s))
    }

    #[test]
    fn reads_utc_floating_and_zoned_times() {
        let e = one("DTSTART:20260115T050000Z\r\nDTEND:20260115T060000Z\r\n");
        assert_eq!(
            (e.start, e.end),
            (at("2026-01-15T05:00:00Z"), at("2026-01-15T06:00:00Z"))
        );
        let e = one("DTSTART:20260115T100000\r\nDTEND:20260115T113000\r\n");
        assert_eq!(
            e.start,
            at("2026-01-15T05:00:00Z"),
            "floating is read in Tashkent"
        );
        assert_eq!(e.end, at("2026-01-15T06:30:00Z"));
        let e = one("DTSTART;TZID=Europe/Moscow:20260115T100000\r\n");
        assert_eq!(e.start, at("2026-01-15T07:00:00Z"));
        assert_eq!(e.end, at("2026-01-15T08:00:00Z"), "one hour without DTEND");
        let e = one("DTSTART;TZID=\"/mozilla.org/20070129_1/Europe/Moscow\":20260115T100000\r\n");
        assert_eq!(e.start, at("2026-01-15T07:00:00Z"));
    }

    #[test]
    fn reads_windows_zone_names_and_falls_back_to_the_default() {
        for (tzid, utc) in [
            ("\"West Asia Standard Time\"", "2026-01-15T05:00:00Z"),
            ("Russian Standard Time", "2026-01-15T07:00:00Z"),
            ("Central Asia Standard Time", "2026-01-15T05:00:00Z"),
            ("UTC", "2026-01-15T10:00:00Z"),
            (
                "\"(UTC+03:00) Moscow, St. Petersburg\"",
                "2026-01-15T07:00:00Z",
            ),
            ("\"(UTC+04:00) Baku\"", "2026-01-15T06:00:00Z"),
            ("Somewhere Standard Time", "2026-01-15T05:00:00Z"),
        ] {
            let e = one(&format!("DTSTART;TZID={tzid}:20260115T100000\r\n"));
            assert_eq!(e.start, at(utc), "{tzid}");
        }
    }

    #[test]
    fn reads_clock_changes_without_failing() {
        // Berlin skips 02:00-03:00 on 2026-03-29 and repeats 02:00-03:00 on 2026-10-25.
        let e = one("DTSTART;TZID=Europe/Berlin:20260329T023000\r\n");
        assert_eq!(e.start, at("2026-03-29T01:30:00Z"));
        let e = one("DTSTART;TZID=Europe/Berlin:20261025T023000\r\n");
        assert_eq!(e.start, at("2026-10-25T00:30:00Z"), "the earlier reading");
    }

    #[test]
    fn reads_all_day_events() {
        let e = one("DTSTART;VALUE=DATE:20260321\r\nDTEND;VALUE=DATE:20260323\r\n");
        assert_eq!(e.start, FeedTime::AllDay(date("2026-03-21")));
        assert_eq!(e.end, FeedTime::AllDay(date("2026-03-23")));
        let e = one("DTSTART;VALUE=DATE:20260321\r\n");
        assert_eq!(
            e.end,
            FeedTime::AllDay(date("2026-03-22")),
            "one day without DTEND"
        );
        let e = one("DTSTART;VALUE=DATE:20260321\r\nDTEND;VALUE=DATE:20260321\r\n");
        assert_eq!(
            e.end,
            FeedTime::AllDay(date("2026-03-22")),
            "equal end means one day"
        );
        let e = one("DTSTART:20260321\r\n");
        assert_eq!(
            e.start,
            FeedTime::AllDay(date("2026-03-21")),
            "8 digits are a date"
        );
    }

    #[test]
    fn reads_durations() {
        let e = one("DTSTART:20260115T050000Z\r\nDURATION:PT1H30M\r\n");
        assert_eq!(e.end, at("2026-01-15T06:30:00Z"));
        let e = one("DTSTART:20260115T050000Z\r\nDURATION:P1DT2H\r\n");
        assert_eq!(e.end, at("2026-01-16T07:00:00Z"));
        let e = one("DTSTART;VALUE=DATE:20260321\r\nDURATION:P1D\r\n");
        assert_eq!(e.end, FeedTime::AllDay(date("2026-03-22")));
        let e = one("DTSTART;VALUE=DATE:20260321\r\nDURATION:P1W\r\n");
        assert_eq!(e.end, FeedTime::AllDay(date("2026-03-28")));
        for bad in ["1H", "PT", "P1H", "PTD", "PT1H2", "P9999999999D", "PT1HT1M"] {
            let text = ics(&event(&format!(
                "DTSTART:20260115T050000Z\r\nDURATION:{bad}\r\n"
            )));
            let (key, line, _) = refused(text.as_bytes());
            assert_eq!(
                (key, line.as_deref()),
                ("error-ics-malformed", Some("7")),
                "{bad}"
            );
        }
        let text = ics(&event("DTSTART;VALUE=DATE:20260321\r\nDURATION:PT1H\r\n"));
        assert_eq!(refused(text.as_bytes()).0, "error-ics-malformed");
    }

    #[test]
    fn unfolds_lines_and_unescapes_text() {
        let text = "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nDTSTART:20260115T050000Z\r\n\
            SUMMARY:Встреча\\, обсудить\r\n  договор\\; цены\\nи сроки \\\\ конец\r\n\
            DESCRIPTION:a\r\n\tb\\Nc\\:d\r\nLOCATION:Oʻzbekiston\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";
        let e = parse_ics(text.as_bytes(), TASHKENT).unwrap().remove(0);
        assert_eq!(
            e.summary,
            "Встреча, обсудить договор; цены\nи сроки \\ конец"
        );
        assert_eq!(e.description.as_deref(), Some("ab\nc:d"));
        assert_eq!(e.location.as_deref(), Some("Oʻzbekiston"));
        assert_eq!(e.uid, None);
        assert_eq!(e.line, 2);
    }

    #[test]
    fn unfolds_a_line_folded_inside_a_character() {
        let mut text =
            b"BEGIN:VCALENDAR\nBEGIN:VEVENT\nDTSTART:20260115T050000Z\nSUMMARY:\xD0".to_vec();
        text.extend_from_slice(b"\n \x92\xD1\x8B\nEND:VEVENT\nEND:VCALENDAR\n");
        let e = parse_ics(&text, TASHKENT).unwrap().remove(0);
        assert_eq!(e.summary, "Вы");
    }

    #[test]
    fn accepts_a_bom_and_refuses_other_encodings() {
        let mut text = b"\xEF\xBB\xBF".to_vec();
        text.extend_from_slice(ics(&event("DTSTART:20260115T050000Z\r\n")).as_bytes());
        assert_eq!(parse_ics(&text, TASHKENT).unwrap().len(), 1);

        let text = ics(&event("DTSTART:20260115T050000Z\r\nSUMMARY:caf\u{e9}\r\n"));
        let latin1: Vec<u8> = text.chars().map(|c| c as u32 as u8).collect();
        let (key, line, reason) = refused(&latin1);
        assert_eq!((key, line.as_deref()), ("error-ics-malformed", Some("7")));
        assert!(reason.contains("UTF-8"), "{reason}");

        let utf16: Vec<u8> = ics("")
            .encode_utf16()
            .flat_map(|u| u.to_le_bytes())
            .collect();
        assert_eq!(refused(&utf16).0, "error-ics-malformed");
    }

    #[test]
    fn refuses_what_is_not_icalendar() {
        for text in [
            "name,email\nAli,ali@example.uz\n",
            "BEGIN:VCARD\nVERSION:3.0\nEND:VCARD\n",
            "\n\nVERSION:2.0\n",
        ] {
            let (key, line, reason) = refused(text.as_bytes());
            assert_eq!(key, "error-ics-malformed", "{text}");
            assert!(reason.contains("not an iCalendar file"), "{reason}");
            assert_eq!(
                line.as_deref(),
                Some(if text.starts_with('\n') { "3" } else { "1" })
            );
        }
        let (key, line, _) = refused(b"");
        assert_eq!((key, line.as_deref()), ("error-ics-malformed", Some("1")));
        let (key, _, _) = refused(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR");
        assert_eq!(key, "error-ics-malformed");
    }

    #[test]
    fn refuses_unbalanced_components() {
        let cases = [
            // A VEVENT never closed.
            (
                "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nDTSTART:20260115T050000Z\r\nEND:VCALENDAR\r\n",
                "4",
                "does not close",
            ),
            // The calendar never closed (a cut-off upload).
            (
                "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nDTSTART:20260115T050000Z\r\nEND:VEVENT\r\n",
                "1",
                "never closed",
            ),
            (
                "BEGIN:VCALENDAR\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
                "2",
                "does not close",
            ),
            (
                "BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\nEND:VCALENDAR\r\n",
                "3",
                "without BEGIN",
            ),
            ("BEGIN:VCALENDAR\r\nBEGIN:VCALENDAR\r\n", "2", "inside"),
        ];
        for (text, want_line, want_reason) in cases {
            let (key, line, reason) = refused(text.as_bytes());
            assert_eq!(key, "error-ics-malformed", "{text}");
            assert_eq!(line.as_deref(), Some(want_line), "{text}");
            assert!(reason.contains(want_reason), "{text}: {reason}");
        }
    }

    #[test]
    fn refuses_bad_events_with_their_line() {
        let text = ics(&event("SUMMARY:No start\r\n"));
        let (key, line, reason) = refused(text.as_bytes());
        assert_eq!((key, line.as_deref()), ("error-ics-malformed", Some("4")));
        assert!(reason.contains("DTSTART"));

        for bad in [
            "DTSTART:20260230T100000Z",
            "DTSTART:20260115T250000Z",
            "DTSTART:2026-01-15T10:00:00Z",
            "DTSTART:tomorrow",
            "DTSTART;VALUE=DATE:20260115T100000",
            "DTSTART;VALUE=PERIOD:20260115T100000Z/PT1H",
            "DTSTART:",
        ] {
            let text = ics(&event(&format!("SUMMARY:x\r\n{bad}\r\n")));
            let (key, line, _) = refused(text.as_bytes());
            assert_eq!(
                (key, line.as_deref()),
                ("error-ics-malformed", Some("7")),
                "{bad}"
            );
        }

        let text = ics(&event(
            "DTSTART:20260115T050000Z\r\nDTSTART:20260116T050000Z\r\n",
        ));
        assert!(refused(text.as_bytes()).2.contains("twice"));
        let text = ics(&event(
            "DTSTART:20260115T050000Z\r\nDTEND:20260115T060000Z\r\nDURATION:PT1H\r\n",
        ));
        assert!(refused(text.as_bytes()).2.contains("not both"));
        let text = ics(&event(
            "DTSTART;VALUE=DATE:20260115\r\nDTEND:20260115T060000Z\r\n",
        ));
        let (_, line, reason) = refused(text.as_bytes());
        assert_eq!(line.as_deref(), Some("7"));
        assert!(reason.contains("both be dates"), "{reason}");
        let text = ics(&event("DTSTART:20260115T050000Z\r\nSUMMARY\r\n"));
        assert!(refused(text.as_bytes()).2.contains("expected `:`"));
        let text = ics(&event(
            "DTSTART:20260115T050000Z\r\nLOCATION;ALTREP=\"cid:x:Office\r\n",
        ));
        assert!(refused(text.as_bytes()).2.contains("quote"));
    }

    #[test]
    fn reports_every_bad_event_and_imports_none() {
        let body = [
            event("DTSTART:20260115T050000Z\r\n"),
            event("DTSTART:20260230T050000Z\r\n"),
            event("DTSTART:20260115T050000Z\r\n"),
            event("DTSTART:20260115T050000Z\r\nDTEND:20260115T040000Z\r\n"),
        ]
        .concat();
        let errors = parse_ics(ics(&body).as_bytes(), TASHKENT).unwrap_err();
        let got: Vec<_> = errors
            .0
            .iter()
            .map(|e| {
                (
                    e.key,
                    e.args
                        .iter()
                        .find(|(k, _)| *k == "line")
                        .map(|(_, v)| v.clone()),
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                ("error-ics-malformed", Some("10".to_string())),
                ("error-ics-end-before-start", Some("16".to_string())),
            ]
        );
    }

    #[test]
    fn refuses_an_end_before_the_start() {
        let text = ics(&event(
            "DTSTART:20260115T050000Z\r\nDTEND:20260115T045959Z\r\n",
        ));
        let (key, line, _) = refused(text.as_bytes());
        assert_eq!(
            (key, line.as_deref()),
            ("error-ics-end-before-start", Some("4"))
        );
        let text = ics(&event(
            "DTSTART;VALUE=DATE:20260115\r\nDTEND;VALUE=DATE:20260114\r\n",
        ));
        assert_eq!(refused(text.as_bytes()).0, "error-ics-end-before-start");
        let text = ics(&event("DTSTART:20260115T050000Z\r\nDURATION:-PT1H\r\n"));
        assert_eq!(refused(text.as_bytes()).0, "error-ics-end-before-start");
        // Zero length is a point in time, not an error.
        let e = one("DTSTART:20260115T050000Z\r\nDTEND:20260115T050000Z\r\n");
        assert_eq!(e.start, e.end);
    }

    #[test]
    fn refuses_a_calendar_without_events() {
        let todo = "BEGIN:VTODO\r\nUID:t\r\nDTSTART:20260115T050000Z\r\nEND:VTODO\r\n";
        for text in [ics(""), ics(todo)] {
            assert_eq!(refused(text.as_bytes()).0, "error-ics-empty");
        }
    }

    #[test]
    fn skips_other_components() {
        let body = [
            "BEGIN:VTIMEZONE\r\nTZID:Asia/Tashkent\r\nBEGIN:STANDARD\r\nDTSTART:19700101T000000\r\n\
             TZOFFSETFROM:+0500\r\nTZOFFSETTO:+0500\r\nEND:STANDARD\r\nEND:VTIMEZONE\r\n",
            "BEGIN:VTODO\r\nSUMMARY:todo\r\nEND:VTODO\r\n",
            "BEGIN:VJOURNAL\r\nSUMMARY:journal\r\nDTSTART:bad\r\nEND:VJOURNAL\r\n",
            "BEGIN:VEVENT\r\nDTSTART:20260115T050000Z\r\nSUMMARY:event\r\nDESCRIPTION:mine\r\n\
             BEGIN:VALARM\r\nACTION:DISPLAY\r\nDESCRIPTION:Reminder\r\nSUMMARY:alarm\r\n\
             TRIGGER:-PT15M\r\nEND:VALARM\r\nEND:VEVENT\r\n",
            "BEGIN:X-SOMETHING\r\nFOO:bar\r\nEND:X-SOMETHING\r\n",
        ]
        .concat();
        let events = parse_ics(ics(&body).as_bytes(), TASHKENT).unwrap();
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].summary, "event");
        assert_eq!(events[0].description.as_deref(), Some("mine"));
    }

    #[test]
    fn imports_the_first_occurrence_of_a_recurring_event() {
        let body = [
            event("DTSTART:20260115T050000Z\r\nRRULE:FREQ=WEEKLY;BYDAY=TH;COUNT=10\r\nEXDATE:20260122T050000Z\r\n"),
            event("RECURRENCE-ID:20260129T050000Z\r\nDTSTART:20260129T070000Z\r\n"),
        ]
        .concat();
        let events = parse_ics(ics(&body).as_bytes(), TASHKENT).unwrap();
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].start, at("2026-01-15T05:00:00Z"));
    }

    #[test]
    fn limits_size_events_line_length_and_depth() {
        let big = vec![b' '; MAX_ICS_BYTES + 1];
        let errors = parse_ics(&big, TASHKENT).unwrap_err();
        assert_eq!(errors.0[0].key, "error-ics-too-large");
        assert_eq!(errors.0[0].args, [("max_mb", "5".to_string())]);

        let many = event("DTSTART:20260115T050000Z\r\n").repeat(MAX_ICS_EVENTS + 1);
        let (key, _, _) = refused(ics(&many).as_bytes());
        assert_eq!(key, "error-ics-too-many");
        let enough = event("DTSTART:20260115T050000Z\r\n").repeat(MAX_ICS_EVENTS);
        assert_eq!(
            parse_ics(ics(&enough).as_bytes(), TASHKENT).unwrap().len(),
            MAX_ICS_EVENTS
        );

        let long = ics(&event(&format!(
            "DTSTART:20260115T050000Z\r\nDESCRIPTION:{}\r\n",
            "x".repeat(MAX_ICS_LINE_BYTES)
        )));
        let (key, line, _) = refused(long.as_bytes());
        assert_eq!((key, line.as_deref()), ("error-ics-malformed", Some("7")));
        let folded = ics(&event(&format!(
            "DTSTART:20260115T050000Z\r\nDESCRIPTION:{}\r\n",
            vec!["x".repeat(70); 2000].join("\r\n ")
        )));
        let (key, line, _) = refused(folded.as_bytes());
        assert_eq!((key, line.as_deref()), ("error-ics-malformed", Some("7")));

        let deep = format!(
            "BEGIN:VCALENDAR\r\n{}{}END:VCALENDAR\r\n",
            "BEGIN:X\r\n".repeat(100),
            "END:X\r\n".repeat(100)
        );
        let (key, line, reason) = refused(deep.as_bytes());
        assert_eq!((key, line.as_deref()), ("error-ics-malformed", Some("9")));
        assert!(reason.contains("nested"));
    }

    #[test]
    fn stops_after_twenty_problems() {
        let many = event("DTSTART:bad\r\n").repeat(1000);
        let errors = parse_ics(ics(&many).as_bytes(), TASHKENT).unwrap_err();
        assert_eq!(errors.0.len(), MAX_ERRORS);
    }

    const OUTLOOK: &str = "BEGIN:VCALENDAR\r
PRODID:-//Microsoft Corporation//Outlook 16.0 MIMEDIR//EN\r
VERSION:2.0\r
METHOD:PUBLISH\r
X-MS-OLK-FORCEINSPECTOROPEN:TRUE\r
BEGIN:VTIMEZONE\r
TZID:West Asia Standard Time\r
BEGIN:STANDARD\r
DTSTART:16010101T000000\r
TZOFFSETFROM:+0500\r
TZOFFSETTO:+0500\r
END:STANDARD\r
END:VTIMEZONE\r
BEGIN:VEVENT\r
CLASS:PUBLIC\r
CREATED:20260110T091500Z\r
DESCRIPTION:Обсудить договор\\, цены\\; сроки поставки.\\n\\nС уважением\\, Ди\r
 лноза\\n\r
DTEND;TZID=\"West Asia Standard Time\":20260120T113000\r
DTSTAMP:20260110T091500Z\r
DTSTART;TZID=\"West Asia Standard Time\":20260120T100000\r
LAST-MODIFIED:20260110T091500Z\r
LOCATION:Офис\\, 3 этаж\r
PRIORITY:5\r
SEQUENCE:0\r
SUMMARY;LANGUAGE=ru:Встреча с клиентом\r
TRANSP:OPAQUE\r
UID:040000008200E00074C5B7101A82E0080000000050D1B6A3F780DC01000000000000000\r
 0100000008C6A6C1F0B2D4A4F9E4E2A4B3C5D6E7F\r
X-ALT-DESC;FMTTYPE=text/html:<!DOCTYPE HTML PUBLIC \"-//W3C//DTD HTML 3.2//E\r
 N\">\\n<HTML>\\n<BODY>\\n<P>Обсудить договор</P>\\n</BODY>\\n</HTML>\r
X-MICROSOFT-CDO-BUSYSTATUS:BUSY\r
X-MICROSOFT-CDO-IMPORTANCE:1\r
X-MICROSOFT-DISALLOW-COUNTER:FALSE\r
X-MS-OLK-AUTOFILLLOCATION:FALSE\r
X-MS-OLK-CONFTYPE:0\r
BEGIN:VALARM\r
TRIGGER:-PT15M\r
ACTION:DISPLAY\r
DESCRIPTION:Reminder\r
END:VALARM\r
END:VEVENT\r
BEGIN:VEVENT\r
CLASS:PUBLIC\r
CREATED:20260110T091600Z\r
DTEND;VALUE=DATE:20260322\r
DTSTAMP:20260110T091600Z\r
DTSTART;VALUE=DATE:20260321\r
SEQUENCE:0\r
SUMMARY;LANGUAGE=uz:Navroʻz bayrami\r
TRANSP:TRANSPARENT\r
UID:040000008200E00074C5B7101A82E00800000000A0B1C2D3E4F5A601000000000000000\r
 01000000011223344556677889900AABBCCDDEEFF\r
X-MICROSOFT-CDO-ALLDAYEVENT:TRUE\r
END:VEVENT\r
END:VCALENDAR\r
";

    #[test]
    fn reads_an_outlook_export() {
        let events = parse_ics(OUTLOOK.as_bytes(), Tz::Europe__Moscow).unwrap();
        assert_eq!(events.len(), 2);
        let e = &events[0];
        assert_eq!(e.summary, "Встреча с клиентом");
        assert_eq!(
            e.start,
            at("2026-01-20T05:00:00Z"),
            "West Asia is Tashkent, +05"
        );
        assert_eq!(e.end, at("2026-01-20T06:30:00Z"));
        assert_eq!(
            e.description.as_deref(),
            Some("Обсудить договор, цены; сроки поставки.\n\nС уважением, Дилноза\n")
        );
        assert_eq!(e.location.as_deref(), Some("Офис, 3 этаж"));
        assert_eq!(
            e.uid.as_deref(),
            Some(
                "040000008200E00074C5B7101A82E0080000000050D1B6A3F780DC010000000000000000100000008C6A6C1F0B2D4A4F9E4E2A4B3C5D6E7F"
            )
        );
        assert_eq!(e.line, 14);
        let e = &events[1];
        assert_eq!(e.summary, "Navroʻz bayrami");
        assert_eq!(e.start, FeedTime::AllDay(date("2026-03-21")));
        assert_eq!(e.end, FeedTime::AllDay(date("2026-03-22")));
        assert_eq!(e.line, 43);
    }

    const GOOGLE: &str = "BEGIN:VCALENDAR\r
PRODID:-//Google Inc//Google Calendar 70.9054//EN\r
VERSION:2.0\r
CALSCALE:GREGORIAN\r
METHOD:PUBLISH\r
X-WR-CALNAME:Ish\r
X-WR-TIMEZONE:Asia/Tashkent\r
BEGIN:VTIMEZONE\r
TZID:Asia/Tashkent\r
X-LIC-LOCATION:Asia/Tashkent\r
BEGIN:STANDARD\r
TZOFFSETFROM:+0500\r
TZOFFSETTO:+0500\r
TZNAME:+05\r
DTSTART:19700101T000000\r
END:STANDARD\r
END:VTIMEZONE\r
BEGIN:VEVENT\r
DTSTART;TZID=Asia/Tashkent:20260115T100000\r
DTEND;TZID=Asia/Tashkent:20260115T110000\r
RRULE:FREQ=WEEKLY;BYDAY=TH\r
DTSTAMP:20260201T120000Z\r
UID:5k2j3h4g5f6d7s8a9q0w1e2r3t@google.com\r
CREATED:20260110T080000Z\r
DESCRIPTION:Haftalik yigʻilish. Havola: https://meet.google.com/abc-defg-hi\r
 j\r
LAST-MODIFIED:20260110T080000Z\r
LOCATION:Toshkent\\, Amir Temur koʻchasi 1\r
SEQUENCE:0\r
STATUS:CONFIRMED\r
SUMMARY:Haftalik yigʻilish\r
TRANSP:OPAQUE\r
BEGIN:VALARM\r
ACTION:DISPLAY\r
DESCRIPTION:This is an event reminder\r
TRIGGER:-P0DT0H30M0S\r
END:VALARM\r
END:VEVENT\r
BEGIN:VEVENT\r
DTSTART:20260205T070000Z\r
DTEND:20260205T080000Z\r
DTSTAMP:20260201T120000Z\r
ORGANIZER;CN=ali@example.uz:mailto:ali@example.uz\r
UID:7h8j9k0l@google.com\r
ATTENDEE;CUTYPE=INDIVIDUAL;ROLE=REQ-PARTICIPANT;PARTSTAT=ACCEPTED;CN=Dilnoza\r
  Karimova;X-NUM-GUESTS=0:mailto:dilnoza@example.uz\r
CREATED:20260201T115900Z\r
LAST-MODIFIED:20260201T120000Z\r
SEQUENCE:1\r
STATUS:CONFIRMED\r
SUMMARY:\r
TRANSP:OPAQUE\r
END:VEVENT\r
END:VCALENDAR\r
";

    #[test]
    fn reads_a_google_export() {
        let events = parse_ics(GOOGLE.as_bytes(), Tz::Europe__Moscow).unwrap();
        assert_eq!(events.len(), 2);
        let e = &events[0];
        assert_eq!(e.summary, "Haftalik yigʻilish");
        assert_eq!(e.start, at("2026-01-15T05:00:00Z"));
        assert_eq!(e.end, at("2026-01-15T06:00:00Z"));
        assert_eq!(
            e.description.as_deref(),
            Some("Haftalik yigʻilish. Havola: https://meet.google.com/abc-defg-hij")
        );
        assert_eq!(
            e.location.as_deref(),
            Some("Toshkent, Amir Temur koʻchasi 1")
        );
        assert_eq!(
            e.uid.as_deref(),
            Some("5k2j3h4g5f6d7s8a9q0w1e2r3t@google.com")
        );
        let e = &events[1];
        assert_eq!(e.summary, "");
        assert_eq!(e.start, at("2026-02-05T07:00:00Z"));
        assert_eq!(e.line, 39);
    }

    #[test]
    fn accepts_bare_line_feeds_and_blank_lines() {
        let text = ics(&event("DTSTART:20260115T050000Z\r\n")).replace("\r\n", "\n\n");
        assert_eq!(parse_ics(text.as_bytes(), TASHKENT).unwrap().len(), 1);
    }

    /// Every cut and every flipped byte of real files gives events or errors, never a panic.
    #[test]
    fn damaged_files_never_panic() {
        for source in [OUTLOOK, GOOGLE] {
            let bytes = source.as_bytes();
            for cut in 0..bytes.len() {
                let _ = parse_ics(&bytes[..cut], TASHKENT);
            }
            for i in 0..bytes.len() {
                for flip in [b'\n', b':', b';', b'"', b' ', 0xFF, b'0'] {
                    let mut damaged = bytes.to_vec();
                    damaged[i] = flip;
                    let _ = parse_ics(&damaged, TASHKENT);
                }
            }
        }
    }
}
