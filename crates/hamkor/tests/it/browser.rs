//! The key journeys in a real headless Chromium (when `HAMKOR_BROWSER_TESTS=1`; `.ci/run`
//! installs Chromium and sets it): log in, add custom fields, create an account and a
//! contact with custom values, find the contact with the search box across scripts,
//! switch the language to Uzbek and Russian, and use the lists on a 360-px phone screen.

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
