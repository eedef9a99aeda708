//! The key journeys in a real headless Chromium (when `HAMKOR_BROWSER_TESTS=1`; `.ci/run`
//! installs Chromium and sets it): log in, add custom fields, create an account and a
//! contact with custom values, find the contact with the search box across scripts,
//! switch the language to Uzbek and Russian, use the lists on a 360-px phone screen, and
//! drag a deal across the board of a pipeline that enforces its stage steps.

use crate::both;
use crate::support::{PASSWORD, TestApp};
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;
use std::process::Stdio;
use std::time::{Duration, Instant};
use tokio::process::{Child, Command};

fn enabled() -> bool {
    let on = std::env::var("HAMKOR_BROWSER_TESTS").is_ok_and(|v| v == "1");
    if !on {
        assert!(
            std::env::var("CI").is_err(),
            "CI must set HAMKOR_BROWSER_TESTS=1"
        );
        eprintln!("skipped: set HAMKOR_BROWSER_TESTS=1 to run the browser tests");
    }
    on
}

struct Browser {
    client: Client,
    _driver: Child,
    _profile: tempfile::TempDir,
}

async fn browser() -> Browser {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let driver = Command::new("chromedriver")
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("chromedriver is installed (Debian package chromium-driver)");
    let profile = tempfile::tempdir().unwrap();
    let caps = json!({"goog:chromeOptions": {"binary": "/usr/bin/chromium", "args": [
        "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run", "--window-size=1280,900",
        format!("--user-data-dir={}", profile.path().display()), "--lang=en-US"]}});
    let caps = caps.as_object().unwrap().clone().into_iter().collect();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let attempt = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(caps_clone(&caps))
            .connect(&format!("http://127.0.0.1:{port}"))
            .await;
        match attempt {
            Ok(client) => {
                return Browser {
                    client,
                    _driver: driver,
                    _profile: profile,
                };
            }
            Err(e) if Instant::now() > deadline => {
                panic!("cannot start Chromium through chromedriver: {e}")
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
}

/// Saves a screenshot when `HAMKOR_SCREENSHOTS` names a folder (for looking at the pages).
async fn shot(c: &Client, name: &str) {
    if let Ok(dir) = std::env::var("HAMKOR_SCREENSHOTS") {
        match c.screenshot().await {
            Ok(png) => {
                let _ = std::fs::write(format!("{dir}/{name}.png"), png);
            }
            Err(e) => eprintln!("screenshot {name}: {e}"),
        }
    }
}

fn caps_clone(
    c: &serde_json::Map<String, serde_json::Value>,
) -> serde_json::Map<String, serde_json::Value> {
    c.clone()
}

/// Waits for an element to appear (pages load after clicks).
async fn wait(c: &Client, css: &str) -> fantoccini::elements::Element {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match c.find(Locator::Css(css)).await {
            Ok(e) => return e,
            Err(_) if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(100)).await
            }
            Err(e) => panic!(
                "{css} did not appear on {:?}: {e}",
                c.current_url().await.ok()
            ),
        }
    }
}

async fn wait_text(c: &Client, text: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let src = c.source().await.unwrap_or_default();
        if src.contains(text) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{text:?} did not appear on {:?}",
            c.current_url().await.ok()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn journeys(t: TestApp) {
    if !enabled() {
        return;
    }
    let b = browser().await;
    let c = &b.client;
    let base = &t.base;

    // Log in.
    c.goto(&format!("{base}/accounts")).await.unwrap();
    submit_login(c, "admin@test.hamkor.uz").await;
    wait_text(c, "Accounts").await;
    assert!(
        c.current_url()
            .await
            .unwrap()
            .path()
            .starts_with("/accounts"),
        "back where the login began"
    );

    // Add a custom field to accounts and one to contacts, from the settings page.
    for (object, label, key, kind, options) in [
        ("account", "Segment", "segment", "picklist", "gold\nsilver"),
        ("contact", "Source", "source", "text", ""),
    ] {
        c.goto(&format!("{base}/settings/fields")).await.unwrap();
        wait(c, "#add-field select[name=object]")
            .await
            .select_by_value(object)
            .await
            .unwrap();
        c.find(Locator::Css("#add-field input[name=label]"))
            .await
            .unwrap()
            .send_keys(label)
            .await
            .unwrap();
        c.find(Locator::Css("#add-field input[name=key]"))
            .await
            .unwrap()
            .send_keys(key)
            .await
            .unwrap();
        c.find(Locator::Css("#add-field select[name=kind]"))
            .await
            .unwrap()
            .select_by_value(kind)
            .await
            .unwrap();
        if !options.is_empty() {
            c.find(Locator::Css("#add-field textarea[name=options]"))
                .await
                .unwrap()
                .send_keys(options)
                .await
                .unwrap();
        }
        c.find(Locator::Css("#add-field button[type=submit]"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        wait_text(c, &format!("custom.{key}")).await;
    }

    // Create an account with the custom field.
    c.goto(&format!("{base}/accounts/new")).await.unwrap();
    wait(c, "input[name=name]")
        .await
        .send_keys("Chromium Savdo MChJ")
        .await
        .unwrap();
    c.find(Locator::Css("select[name=kind]"))
        .await
        .unwrap()
        .select_by_value("client")
        .await
        .unwrap();
    c.find(Locator::Css("input[name=phones]"))
        .await
        .unwrap()
        .send_keys("90 765 43 21")
        .await
        .unwrap();
    c.find(Locator::Css("select[name='custom.segment']"))
        .await
        .unwrap()
        .select_by_value("gold")
        .await
        .unwrap();
    c.find(Locator::Css("form.record-form button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait(c, "dl.fields").await;
    let page = c.source().await.unwrap();
    assert!(
        page.contains("Chromium Savdo MChJ")
            && page.contains("gold")
            && page.contains("90 765 43 21")
    );
    let account_id = c
        .current_url()
        .await
        .unwrap()
        .path()
        .rsplit('/')
        .next()
        .unwrap()
        .to_string();

    // A bad value shows the error next to the field, in the user's language.
    c.goto(&format!("{base}/contacts/new")).await.unwrap();
    wait(c, "input[name=last_name]")
        .await
        .send_keys("Браузеров")
        .await
        .unwrap();
    c.find(Locator::Css("input[name=emails]"))
        .await
        .unwrap()
        .send_keys("not an e-mail")
        .await
        .unwrap();
    c.find(Locator::Css("form.record-form button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait(c, ".field-error").await;
    wait_text(c, "Not a valid e-mail address.").await;

    // Then the contact, with its custom field and its account.
    let email = c.find(Locator::Css("input[name=emails]")).await.unwrap();
    email.clear().await.unwrap();
    email.send_keys("b.brauzerov@chromium.uz").await.unwrap();
    c.find(Locator::Css("input[name=first_name]"))
        .await
        .unwrap()
        .send_keys("Тимур")
        .await
        .unwrap();
    c.find(Locator::Css("input[name='custom.source']"))
        .await
        .unwrap()
        .send_keys("Exhibition")
        .await
        .unwrap();
    let acc = c
        .find(Locator::Css("input[name=account_id]"))
        .await
        .unwrap();
    acc.clear().await.unwrap();
    acc.send_keys(&account_id).await.unwrap();
    c.find(Locator::Css("input[name=position]"))
        .await
        .unwrap()
        .send_keys("Director")
        .await
        .unwrap();
    c.find(Locator::Css("form.record-form button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait(c, "dl.fields").await;
    let page = c.source().await.unwrap();
    assert!(
        page.contains("Браузеров Тимур")
            && page.contains("Exhibition")
            && page.contains("Chromium Savdo MChJ"),
        "{page}"
    );

    // Find the contact with the search box, typing in Latin.
    let search = wait(c, "#global-search").await;
    search.send_keys("brauzerov\n").await.unwrap();
    wait(c, "ul.results").await;
    c.find(Locator::LinkText("Браузеров Тимур"))
        .await
        .expect("found across scripts")
        .click()
        .await
        .unwrap();
    wait(c, "dl.fields").await;
    wait_text(c, "b.brauzerov@chromium.uz").await;

    // Switch the language to Uzbek, then Russian.
    c.find(Locator::Css("form.lang select"))
        .await
        .unwrap()
        .select_by_value("uz")
        .await
        .unwrap();
    wait_text(c, "Kontragentlar").await;
    wait_text(c, "Aloqa shaxslari").await;
    c.find(Locator::Css("form.lang select"))
        .await
        .unwrap()
        .select_by_value("ru")
        .await
        .unwrap();
    wait_text(c, "Контрагенты").await;
    shot(c, "desktop-contact-ru").await;
    let html = c.source().await.unwrap();
    assert!(html.contains("lang=\"ru\""));

    // On a 360-px-wide phone the list fits the screen: no sideways scrolling.
    c.set_window_size(360, 780).await.unwrap();
    for (page, name) in [
        ("/accounts", "phone-accounts"),
        ("/contacts?col=name&col=phones&col=emails", "phone-contacts"),
        ("/accounts/new", "phone-form"),
    ] {
        c.goto(&format!("{base}{page}")).await.unwrap();
        wait(c, "main h1").await;
        shot(c, name).await;
        let width = c
            .execute("return document.documentElement.scrollWidth;", vec![])
            .await
            .unwrap();
        assert!(
            width.as_i64().unwrap() <= 360,
            "{page} is {width} px wide on a 360-px screen"
        );
    }
    let _ = b.client.close().await;
}
both!(journeys);

/// Fills in and sends the login form shown on the current page.
async fn submit_login(c: &Client, email: &str) {
    wait(c, "input[name=email]")
        .await
        .send_keys(email)
        .await
        .unwrap();
    c.find(Locator::Css("input[name=password]"))
        .await
        .unwrap()
        .send_keys(PASSWORD)
        .await
        .unwrap();
    c.find(Locator::Css("form button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
}

async fn log_in(c: &Client, base: &str, email: &str) {
    c.goto(&format!("{base}/login")).await.unwrap();
    submit_login(c, email).await;
    wait(c, "#global-search").await;
}

/// A manager types part of a phone number, picks the client from the suggestions, logs
/// a call in one click from the client's page and sees it on the timeline.
async fn find_by_phone_and_log_a_call(t: TestApp) {
    if !enabled() {
        return;
    }
    let acc = t.account("sales_a1", "sales_a1", "Qo'qon Savdo").await;
    let contact = t
        .contact(
            "sales_a1",
            "sales_a1",
            json!({"first_name": "Шерзод", "last_name": "Ғуломов", "phones": ["+998 93 777-12-34"],
                "accounts": [{"account_id": acc, "position": "Direktor"}]}),
        )
        .await;
    let b = browser().await;
    let c = &b.client;
    log_in(c, &t.base, "sales_a1@test.hamkor.uz").await;

    // Part of the number, typed as people do: suggestions appear while typing.
    let box_ = wait(c, "#global-search").await;
    box_.send_keys("93 777 12").await.unwrap();
    let option = wait(
        c,
        "#search-suggestions li[role=option] a[href^='/contacts/']",
    )
    .await;
    assert_eq!(
        option.attr("href").await.unwrap().as_deref(),
        Some(format!("/contacts/{contact}").as_str())
    );
    let text = option.text().await.unwrap();
    assert!(text.contains("Ғуломов"), "{text}");
    shot(c, "search-as-you-type").await;
    // The keyboard picks it.
    box_.send_keys("\u{E015}").await.unwrap(); // arrow down
    box_.send_keys("\u{E007}").await.unwrap(); // enter
    wait(c, "#log-call summary").await;
    assert_eq!(
        c.current_url().await.unwrap().path(),
        format!("/contacts/{contact}")
    );

    // One click opens the call form; save it; it is on the timeline.
    c.find(Locator::Css("#log-call summary"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    c.find(Locator::Css("#log-call input[name=subject]"))
        .await
        .unwrap()
        .send_keys("Asked for a quote")
        .await
        .unwrap();
    c.find(Locator::Css("#log-call input[name=duration]"))
        .await
        .unwrap()
        .send_keys("3:20")
        .await
        .unwrap();
    c.find(Locator::Css("#log-call button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let item = wait(c, "ol.timeline-items li.tl-call").await;
    let text = item.text().await.unwrap();
    assert!(
        text.contains("Asked for a quote") && text.contains("3:20"),
        "{text}"
    );
    assert_eq!(
        c.current_url().await.unwrap().path(),
        format!("/contacts/{contact}")
    );
    shot(c, "timeline-after-call").await;
    // The call is filed under the contact's account too.
    let (_, v) = t
        .get("sales_a1", &format!("/api/v1/accounts/{acc}/timeline"))
        .await;
    assert_eq!(v["items"][0]["subject"], "Asked for a quote");
    assert_eq!(v["items"][0]["contact_id"], contact.as_str());
    let _ = c.clone().close().await;
}
both!(find_by_phone_and_log_a_call);

/// Sends the "Log out" form in the page header and waits for the login page.
async fn log_out(c: &Client) {
    c.find(Locator::Css("form[action='/logout'] button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait(c, "input[name=email]").await;
    assert_eq!(c.current_url().await.unwrap().path(), "/login");
}

/// Waits until the browser is on `path` (after a form's redirect).
async fn wait_path(c: &Client, path: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let url = c.current_url().await.unwrap();
        if url.path() == path {
            return;
        }
        assert!(Instant::now() < deadline, "still on {url}, not {path}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The button of a task page's status form that moves the task to `status`.
fn status_button(status: &str) -> String {
    format!("#status form[action$='/status']:has(input[name=status][value={status}]) button")
}

/// Waits until the task page's status heading reads "Status: {label}" and the page is
/// complete.
async fn wait_status(c: &Client, label: &str) {
    let want = format!("Status: {label}");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let text = match c.find(Locator::Css("#status h2")).await {
            Ok(h) => h.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        };
        // The comments come last: once they are there, so are the status forms.
        if text.trim() == want && c.find(Locator::Css("#comments form")).await.is_ok() {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the status heading is {text:?}, not {want:?}, on {:?}",
            c.current_url().await.ok()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Clicks a status button of the task page and waits for the new status.
async fn move_task(c: &Client, status: &str, label: &str) {
    c.find(Locator::Css(&status_button(status)))
        .await
        .unwrap_or_else(|e| panic!("no {status} button: {e}"))
        .click()
        .await
        .unwrap();
    wait_status(c, label).await;
}

/// The status moves the task page offers (the `status` values of its forms).
async fn offered_moves(c: &Client) -> Vec<String> {
    let mut out = Vec::new();
    for input in c
        .find_all(Locator::Css("#status form input[name=status]"))
        .await
        .unwrap()
    {
        out.push(input.attr("value").await.unwrap().unwrap_or_default());
    }
    out
}

/// A manager gives a colleague a task from "my day"; the colleague finds it on their
/// day, starts it, ticks a step and marks it done; the manager finds it waiting for
/// acceptance and accepts it. All through the pages; the API only checks the end.
async fn a_task_for_a_colleague_is_done_and_accepted(t: TestApp) {
    if !enabled() {
        return;
    }
    let title = "Narxlar roʻyxatini yuborish — прайс";
    // Tomorrow at 10:00 in the personas' time zone (Asia/Tashkent, UTC+5, no DST).
    let tashkent = chrono::FixedOffset::east_opt(5 * 3600).unwrap();
    let tomorrow = chrono::Utc::now().with_timezone(&tashkent).date_naive() + chrono::Days::new(1);
    let b = browser().await;
    let c = &b.client;
    let base = &t.base;

    // 1. sales_a1 writes the task from their day, for sales_a2.
    log_in(c, base, "sales_a1@test.hamkor.uz").await;
    c.goto(&format!("{base}/my-day")).await.unwrap();
    wait(c, "a[href='/tasks/new?return_to=/my-day']")
        .await
        .click()
        .await
        .unwrap();
    wait(c, "form.record-form input[name=title]")
        .await
        .send_keys(title)
        .await
        .unwrap();
    let assignee = c
        .find(Locator::Css(
            "form.record-form label:has(select[name=owner_id])",
        ))
        .await
        .unwrap();
    let label = assignee.text().await.unwrap();
    assert!(label.starts_with("Assignee"), "{label}");
    c.find(Locator::Css("form.record-form select[name=owner_id]"))
        .await
        .unwrap()
        .select_by_value(&t.id("sales_a2"))
        .await
        .unwrap();
    // Typing into a date-time input depends on the browser's locale; set it as a picker does.
    let due = c
        .find(Locator::Css("form.record-form input[name=due_at]"))
        .await
        .unwrap();
    assert_eq!(
        due.attr("type").await.unwrap().as_deref(),
        Some("datetime-local")
    );
    c.execute(
        "arguments[0].value = arguments[1];
         arguments[0].dispatchEvent(new Event('input', {bubbles: true}));
         arguments[0].dispatchEvent(new Event('change', {bubbles: true}));",
        vec![
            serde_json::to_value(&due).unwrap(),
            json!(format!("{tomorrow}T10:00")),
        ],
    )
    .await
    .unwrap();
    c.find(Locator::Css("form.record-form textarea[name=checklist]"))
        .await
        .unwrap()
        .send_keys("Narxlarni tekshirish\nОтправить клиенту")
        .await
        .unwrap();
    shot(c, "task-new").await;
    c.find(Locator::Css("form.record-form button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    // Saved, it goes back to the day it came from; the task is in the task list.
    wait_path(c, "/my-day").await;
    wait(c, "a[href='/tasks/new?return_to=/my-day']").await;
    shot(c, "task-saved-my-day").await;
    c.find(Locator::Css("header nav a[href='/tasks']"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait(c, "table.list").await;
    let link = c
        .find(Locator::LinkText(title))
        .await
        .expect("the new task is in the task list");
    let href = link.attr("href").await.unwrap().unwrap();
    let id = href.trim_start_matches("/tasks/").to_string();
    link.click().await.unwrap();
    wait_status(c, "Open").await;
    assert_eq!(c.current_url().await.unwrap().path(), href);
    let page = c.source().await.unwrap();
    assert!(
        page.contains(title) && page.contains("sales_a2"),
        "the task page shows the title and the assignee"
    );
    // The author cannot work the task for the assignee.
    let moves = offered_moves(c).await;
    assert!(
        !moves.iter().any(|m| m == "in_progress" || m == "done"),
        "{moves:?}"
    );
    log_out(c).await;

    // 2. sales_a2 finds it on their day, starts it, ticks a step and does it.
    log_in(c, base, "sales_a2@test.hamkor.uz").await;
    c.goto(&format!("{base}/my-day")).await.unwrap();
    let link = wait(c, &format!("#upcoming a[href='{href}']")).await;
    assert_eq!(link.text().await.unwrap(), title);
    let row = c
        .find(Locator::Css(&format!("#upcoming tr:has(a[href='{href}'])")))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(row.contains("sales_a1") && row.contains("Open"), "{row}");
    shot(c, "task-my-day-assignee").await;
    link.click().await.unwrap();
    wait_status(c, "Open").await;
    assert!(
        !offered_moves(c).await.iter().any(|m| m == "accepted"),
        "only the author accepts"
    );
    move_task(c, "in_progress", "In progress").await;
    c.find(Locator::Css(
        "#checklist form[action$='/checklist']:has(input[name=item][value='0']) button",
    ))
    .await
    .unwrap()
    .click()
    .await
    .unwrap();
    wait(
        c,
        "#checklist form:has(input[name=item][value='0']) button[aria-pressed=true]",
    )
    .await;
    move_task(c, "done", "Done").await;
    wait_text(c, "Waiting for the author to accept or return it.").await;
    let moves = offered_moves(c).await;
    assert!(
        !moves.iter().any(|m| m == "accepted" || m == "returned"),
        "the assignee can neither accept nor return: {moves:?}"
    );
    shot(c, "task-done-assignee").await;
    log_out(c).await;

    // 3. sales_a1 finds it waiting for acceptance and accepts it.
    log_in(c, base, "sales_a1@test.hamkor.uz").await;
    c.goto(&format!("{base}/my-day")).await.unwrap();
    let link = wait(c, &format!("#waiting a[href='{href}']")).await;
    let row = c
        .find(Locator::Css(&format!("#waiting tr:has(a[href='{href}'])")))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(row.contains("sales_a2") && row.contains("Done"), "{row}");
    shot(c, "task-my-day-waiting").await;
    link.click().await.unwrap();
    wait_status(c, "Done").await;
    // Returning it needs a reason: the browser does not send the form without one.
    let comment = "#status form:has(input[name=status][value=returned]) textarea[name=comment]";
    let required = wait(c, comment).await.attr("required").await.unwrap();
    assert!(required.is_some(), "the reason for returning is required");
    let valid = c
        .execute(
            "return document.querySelector(arguments[0]).form.checkValidity();",
            vec![json!(comment)],
        )
        .await
        .unwrap();
    assert_eq!(
        valid,
        json!(false),
        "an empty reason blocks the Return form"
    );
    move_task(c, "accepted", "Accepted").await;
    assert!(offered_moves(c).await.is_empty(), "nothing left to do");
    shot(c, "task-accepted").await;
    c.goto(&format!("{base}/my-day")).await.unwrap();
    wait(c, "#waiting").await;
    assert!(
        c.find(Locator::Css(&format!("a[href='{href}']")))
            .await
            .is_err(),
        "an accepted task leaves the day"
    );

    // The stored task, through the API.
    let (s, v) = t.get("admin", &format!("/api/v1/tasks/{id}")).await;
    assert_eq!(s, reqwest::StatusCode::OK, "{v}");
    assert_eq!(v["title"], title);
    assert_eq!(v["status"], "accepted");
    assert_eq!(v["owner_id"], t.id("sales_a2").as_str());
    assert_eq!(v["created_by"], t.id("sales_a1").as_str());
    assert!(v["completed_at"].is_string(), "{v}");
    assert_eq!(v["due_at"], format!("{tomorrow}T05:00:00.000000Z"));
    assert_eq!(v["checklist"][0]["text"], "Narxlarni tekshirish");
    assert_eq!(v["checklist"][0]["done"], true);
    assert_eq!(v["checklist"][1]["text"], "Отправить клиенту");
    assert_eq!(v["checklist"][1]["done"], false);
    let _ = c.clone().close().await;
}
both!(a_task_for_a_colleague_is_done_and_accepted);

/// Waits until `script` (run in the page, with `args`) returns something other than
/// `null`, `false` or `undefined`, and returns that.
async fn wait_js(
    c: &Client,
    what: &str,
    script: &str,
    args: Vec<serde_json::Value>,
) -> serde_json::Value {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let v = c
            .execute(script, args.clone())
            .await
            .unwrap_or(serde_json::Value::Null);
        if !v.is_null() && v != json!(false) {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "{what}: not so on {:?}",
            c.current_url().await.ok()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Drags a card onto a board column. WebDriver's pointer actions do not start an HTML5
/// drag in Chromium, so the drag's events are dispatched on the real elements (sharing
/// one DataTransfer, at the elements' centres, the drop on whatever lies at the column's
/// centre as a hand's drop would be) and the page's own handlers do the rest.
async fn drag_card(c: &Client, deal: &str, stage: &str) {
    c.execute(
        r#"const card = document.getElementById("deal-" + arguments[0]);
        const col = document.querySelector(".board-column[data-stage='" + arguments[1] + "']");
        if (!card || !col) { throw new Error("no card or no column"); }
        col.scrollIntoView({block: "nearest", inline: "nearest"});
        const dt = new DataTransfer();
        const centre = (el) => { const r = el.getBoundingClientRect();
            return {clientX: r.left + r.width / 2, clientY: r.top + Math.min(r.height / 2, 60)}; };
        const fire = (el, type, at) => el.dispatchEvent(new DragEvent(type,
            Object.assign({bubbles: true, cancelable: true, composed: true, dataTransfer: dt}, at)));
        const to = centre(col);
        const under = document.elementFromPoint(to.clientX, to.clientY);
        const target = under && col.contains(under) ? under : col;
        fire(card, "dragstart", centre(card));
        fire(target, "dragenter", to);
        fire(target, "dragover", to);
        fire(target, "drop", to);
        fire(card, "dragend", to);"#,
        vec![json!(deal), json!(stage)],
    )
    .await
    .unwrap();
}

/// A column of the board as the page shows it: the count, the sums line, the cards.
async fn board_column(c: &Client, stage: &str) -> serde_json::Value {
    c.execute(
        r#"const col = document.querySelector(".board-column[data-stage='" + arguments[0] + "']");
        return {count: col.querySelector(".column-sum .count").textContent.trim(),
            sums: col.querySelector(".column-sum").textContent.replace(/\s+/g, " ").trim(),
            cards: Array.from(col.querySelectorAll(".deal-card")).map((c) => c.dataset.deal)};"#,
        vec![json!(stage)],
    )
    .await
    .unwrap()
}

/// Waits until the board has answered a move: nothing pending, and the card is where
/// the server says it is.
async fn wait_board_settled(c: &Client) {
    wait_js(
        c,
        "the board settles",
        "const b = document.getElementById('board');
         return !!b && !b.hasAttribute('aria-busy') && !b.querySelector('.pending');",
        vec![],
    )
    .await;
}

/// The counts the funnel chart labels each stage with ("Offer: 2"), by stage name.
async fn funnel_labels(c: &Client) -> Vec<String> {
    wait(c, "figure.funnel-chart svg").await;
    let v = c
        .execute(
            "return Array.from(document.querySelectorAll('figure.funnel-chart svg text'))
                .map((t) => t.textContent.trim());",
            vec![],
        )
        .await
        .unwrap();
    serde_json::from_value(v).unwrap()
}

/// The deal's stage as the server has it.
async fn stage_of(t: &TestApp, deal: &str) -> String {
    let (s, v) = t.get("admin", &format!("/api/v1/deals/{deal}")).await;
    assert_eq!(s, reqwest::StatusCode::OK, "{v}");
    v["stage_id"].as_str().unwrap().to_string()
}

/// Moves a card with its own move form (no dragging): picks the stage, presses "Move".
async fn move_with_form(c: &Client, deal: &str, stage: &str) {
    wait(c, &format!("#deal-{deal} form.move select"))
        .await
        .select_by_value(stage)
        .await
        .unwrap();
    c.find(Locator::Css(&format!("#deal-{deal} form.move button")))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
}

/// On the deal page, ticks a step of the script panel and waits for it to be ticked.
async fn tick_deal_step(c: &Client, step: &str) {
    let form = format!("#script form[action$='/steps/{step}']");
    wait(c, &format!("{form} button[aria-pressed=false]"))
        .await
        .click()
        .await
        .unwrap();
    wait(c, &format!("{form} button[aria-pressed=true]")).await;
}

/// A salesperson drags a deal to the next stage of a pipeline that enforces its steps:
/// the board refuses, naming the required step, and the card stays; they tick the step on
/// the deal's page, drag again and the deal moves, the columns add up anew, the deal's
/// stage history names them, and the funnel counts it. Then the same on a 360-px phone,
/// with the card's move form instead of dragging.
async fn a_deal_is_dragged_across_the_board(t: TestApp) {
    if !enabled() {
        return;
    }
    // An administrator's pipeline: leaving "Lead" needs its required step done.
    let (s, p) = t
        .post(
            "admin",
            "/api/v1/pipelines",
            json!({"name": "Ulgurji savdo", "enforce_steps": true, "stages": [
                {"name": "Lead", "probability": 10}, {"name": "Offer", "probability": 40},
                {"name": "Contract", "probability": 80}]}),
        )
        .await;
    assert_eq!(s, reqwest::StatusCode::CREATED, "{p}");
    let pipeline = p["id"].as_str().unwrap().to_string();
    let stage = |i: usize| p["stages"][i]["id"].as_str().unwrap().to_string();
    let (lead, offer) = (stage(0), stage(1));
    let mut steps = Vec::new();
    for (st, script) in [
        (
            &lead,
            json!({"text": "Ask who decides and by when.", "steps": [
                {"text": "Call the buyer", "required": true},
                {"text": "Send the catalogue", "required": false}]}),
        ),
        (
            &offer,
            json!({"text": "Send the offer within a day.", "steps": [
                {"text": "Agree the price", "required": true}]}),
        ),
    ] {
        let (s, _, v) = t
            .request(
                "admin",
                reqwest::Method::PUT,
                &format!("/api/v1/stages/{st}/script"),
                Some(&script),
                &[],
            )
            .await;
        assert_eq!(s, reqwest::StatusCode::OK, "{v}");
        steps.push(v["steps"][0]["id"].as_str().unwrap().to_string());
    }
    let call_the_buyer = steps[0].clone();
    // Deals of sales_a1: two in "Lead", one already in "Offer".
    let mut deals = Vec::new();
    for (title, amount, st) in [
        ("Paxta tolasi 2027", "2500000", &lead),
        ("Телефон: ткань", "500000", &lead),
        ("Ip-kalava", "1000000", &offer),
    ] {
        let (s, v) = t
            .post(
                "admin",
                "/api/v1/deals",
                json!({"title": title, "amount": amount, "currency": "UZS",
                    "pipeline_id": pipeline, "stage_id": st, "owner_id": t.id("sales_a1")}),
            )
            .await;
        assert_eq!(s, reqwest::StatusCode::CREATED, "{v}");
        assert_eq!(v["owner_id"], t.id("sales_a1").as_str());
        deals.push(v["id"].as_str().unwrap().to_string());
    }
    let (deal, phone_deal) = (deals[0].clone(), deals[1].clone());

    let b = browser().await;
    let c = &b.client;
    let base = &t.base;
    log_in(c, base, "sales_a1@test.hamkor.uz").await;
    // The funnel before: one deal entered "Offer".
    c.goto(&format!("{base}/deals/funnel?pipeline={pipeline}"))
        .await
        .unwrap();
    let labels = funnel_labels(c).await;
    assert!(
        labels.contains(&"Lead: 2".to_string()) && labels.contains(&"Offer: 1".to_string()),
        "{labels:?}"
    );

    // The board, from the menu; the pipeline is picked from the filter.
    c.find(Locator::Css("header nav a[href='/deals/board']"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait(c, "form.filters select[name=pipeline]")
        .await
        .select_by_value(&pipeline)
        .await
        .unwrap();
    c.find(Locator::Css("form.filters button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait(
        c,
        &format!(".board-column[data-stage='{lead}'] #deal-{deal}"),
    )
    .await;
    let col = board_column(c, &lead).await;
    assert_eq!(col["count"], "2", "{col}");
    assert!(
        col["sums"].as_str().unwrap().contains("3,000,000.00 UZS"),
        "{col}"
    );
    shot(c, "board-before").await;

    // 1. Dragged to "Offer" before the required step is done: refused, naming the step.
    drag_card(c, &deal, &offer).await;
    wait_board_settled(c).await;
    let alert = wait(c, "#board-error:not([hidden])").await;
    let text = alert.text().await.unwrap();
    assert!(
        text.contains("The deal was not moved") && text.contains("Call the buyer"),
        "{text}"
    );
    shot(c, "board-refused").await;
    assert!(
        board_column(c, &lead).await["cards"]
            .as_array()
            .unwrap()
            .contains(&json!(deal)),
        "the card is back in its column"
    );
    assert!(
        !board_column(c, &offer).await["cards"]
            .as_array()
            .unwrap()
            .contains(&json!(deal))
    );
    wait(c, &format!("#deal-{deal}.refused")).await;
    assert_eq!(c.current_url().await.unwrap().path(), "/deals/board");
    assert_eq!(
        stage_of(&t, &deal).await,
        lead,
        "the server did not move it"
    );

    // 2. The step is ticked on the deal's page; back on the board, dragged again.
    c.find(Locator::Css(&format!(
        "#deal-{deal} a[href='/deals/{deal}']"
    )))
    .await
    .unwrap()
    .click()
    .await
    .unwrap();
    wait(c, "#script").await;
    wait_text(c, "Ask who decides and by when.").await;
    tick_deal_step(c, &call_the_buyer).await;
    shot(c, "deal-step-ticked").await;
    // The stage history leads back to the deal's own board.
    c.find(Locator::Css(&format!(
        "a[href='/deals/board?pipeline={pipeline}#deal-{deal}']"
    )))
    .await
    .expect("the stage history links to the deal's board")
    .click()
    .await
    .unwrap();
    wait(
        c,
        &format!(".board-column[data-stage='{lead}'] #deal-{deal}"),
    )
    .await;
    assert!(
        c.find(Locator::Css("#board-error:not([hidden])"))
            .await
            .is_err(),
        "no refusal left over"
    );
    drag_card(c, &deal, &offer).await;
    wait_board_settled(c).await;
    wait(
        c,
        &format!(".board-column[data-stage='{offer}'] #deal-{deal}"),
    )
    .await;
    shot(c, "board-moved").await;
    assert!(
        c.find(Locator::Css("#board-error:not([hidden])"))
            .await
            .is_err(),
        "no refusal"
    );
    let from = board_column(c, &lead).await;
    let to = board_column(c, &offer).await;
    assert_eq!(from["count"], "1", "{from}");
    assert!(
        from["sums"].as_str().unwrap().contains("500,000.00 UZS")
            && !from["sums"].as_str().unwrap().contains("3,000,000"),
        "{from}"
    );
    assert_eq!(to["count"], "2", "{to}");
    assert!(
        to["sums"].as_str().unwrap().contains("3,500,000.00 UZS"),
        "{to}"
    );
    assert_eq!(c.current_url().await.unwrap().path(), "/deals/board");
    assert_eq!(stage_of(&t, &deal).await, offer);

    // 3. The deal's page: the new stage's script, and the move in its stage history.
    c.find(Locator::Css(&format!(
        "#deal-{deal} a[href='/deals/{deal}']"
    )))
    .await
    .unwrap()
    .click()
    .await
    .unwrap();
    wait(c, "#script").await;
    wait_text(c, "Agree the price").await;
    let visits = c
        .execute(
            "return Array.from(document.querySelectorAll(\"section.related li:has(a[href^='/deals/board'])\"))
                .map((li) => li.textContent.replace(/\\s+/g, ' ').trim());",
            vec![],
        )
        .await
        .unwrap();
    let visits: Vec<String> = serde_json::from_value(visits).unwrap();
    assert_eq!(visits.len(), 2, "{visits:?}");
    assert!(
        visits[0].starts_with("Lead") && visits[0].contains('→'),
        "{visits:?}"
    );
    assert!(
        visits[1].starts_with("Offer")
            && visits[1].contains("sales_a1")
            && !visits[1].contains('→'),
        "{visits:?}"
    );
    let (_, h) = t
        .get("admin", &format!("/api/v1/deals/{deal}/stages"))
        .await;
    assert_eq!(
        h["items"][1]["entered_by"],
        t.id("sales_a1").as_str(),
        "{h}"
    );

    // 4. The funnel: one more deal entered "Offer".
    c.goto(&format!("{base}/deals/board?pipeline={pipeline}"))
        .await
        .unwrap();
    wait(c, &format!("a[href='/deals/funnel?pipeline={pipeline}']"))
        .await
        .click()
        .await
        .unwrap();
    let labels = funnel_labels(c).await;
    assert!(
        labels.contains(&"Lead: 2".to_string()) && labels.contains(&"Offer: 2".to_string()),
        "{labels:?}"
    );
    shot(c, "funnel-after").await;

    // 5. On a 360-px phone, with the card's move form (a plain form post): refused with
    // the reason on the board, then moved once the step is done.
    c.set_window_size(360, 780).await.unwrap();
    c.goto(&format!("{base}/deals/board?pipeline={pipeline}"))
        .await
        .unwrap();
    wait(c, &format!("#deal-{phone_deal}")).await;
    move_with_form(c, &phone_deal, &offer).await;
    let alert = wait(c, "#board-error:not([hidden])").await;
    let text = alert.text().await.unwrap();
    assert!(text.contains("Call the buyer"), "{text}");
    wait(
        c,
        &format!(".board-column[data-stage='{lead}'] #deal-{phone_deal}.refused"),
    )
    .await;
    shot(c, "phone-board-refused").await;
    assert_eq!(stage_of(&t, &phone_deal).await, lead);
    let width = c
        .execute("return document.documentElement.scrollWidth;", vec![])
        .await
        .unwrap();
    assert!(
        width.as_i64().unwrap() <= 360,
        "the board is {width} px wide"
    );
    c.find(Locator::Css(&format!(
        "#deal-{phone_deal} a[href='/deals/{phone_deal}']"
    )))
    .await
    .unwrap()
    .click()
    .await
    .unwrap();
    tick_deal_step(c, &call_the_buyer).await;
    c.find(Locator::Css(&format!(
        "a[href='/deals/board?pipeline={pipeline}#deal-{phone_deal}']"
    )))
    .await
    .unwrap()
    .click()
    .await
    .unwrap();
    wait(c, &format!("#deal-{phone_deal}")).await;
    move_with_form(c, &phone_deal, &offer).await;
    wait(
        c,
        &format!(".board-column[data-stage='{offer}'] #deal-{phone_deal}"),
    )
    .await;
    assert_eq!(c.current_url().await.unwrap().path(), "/deals/board");
    assert_eq!(board_column(c, &lead).await["count"], "0");
    assert_eq!(board_column(c, &offer).await["count"], "3");
    shot(c, "phone-board-moved").await;
    assert_eq!(stage_of(&t, &phone_deal).await, offer);
    let width = c
        .execute("return document.documentElement.scrollWidth;", vec![])
        .await
        .unwrap();
    assert!(
        width.as_i64().unwrap() <= 360,
        "the board is {width} px wide"
    );
    let _ = c.clone().close().await;
}
both!(a_deal_is_dragged_across_the_board);
