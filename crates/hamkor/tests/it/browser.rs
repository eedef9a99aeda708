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
