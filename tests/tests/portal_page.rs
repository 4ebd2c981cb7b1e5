//! The sandbox portal's confirmation page in Chromium, in Russian, by keyboard: what a person sees
//! when the extension is not active on the site (Podpis missing, "check again"), and, once it is,
//! the certificates listed through the extension and `podpis-host` and one chosen with the
//! keyboard. (Signing through the app's consent window is tests/tests/browser.rs's.)

use std::time::Duration;

use podpis_tests::browser::Browser;
use podpis_tests::portal::Portal;
use podpis_tests::{profile, VirtualCard};
use serde_json::json;

const ENTER: &str = "\u{E007}";

fn has_cyrillic(text: &str) -> bool {
    text.chars().any(|c| ('\u{0400}'..='\u{04FF}').contains(&c))
}

fn log_in(browser: &Browser, portal: &Portal) {
    let person = &profile("entrepreneur").person;
    browser.goto(&format!("{}/login?lang=ru", portal.url));
    browser.type_into("#login", &person.phone);
    browser.type_into("#password", &person.password);
    browser.type_into("#password", ENTER);
    browser.find("#confirm-form");
}

#[test]
fn the_page_says_podpis_is_missing_then_lists_and_is_used_by_keyboard() {
    let _card = VirtualCard::start("entrepreneur");
    let portal = Portal::start(&[]);
    let browser = Browser::start();
    // The extension is installed but not active on loopback pages: no markers.
    browser.set_sandbox_mode(false);
    log_in(&browser, &portal);
    assert_eq!(
        browser.script("return document.documentElement.lang;", json!([])),
        "ru"
    );
    // While it waits for the markers, it says so.
    let waiting = browser.text("#status");
    assert!(has_cyrillic(&waiting), "{waiting}");
    let state = browser.wait_attribute(
        "#status",
        "data-state",
        &["plugin-missing", "ready", "error"],
        Duration::from_secs(20),
    );
    assert_eq!(state, "plugin-missing");
    assert_eq!(browser.attribute("#plugin-missing", "hidden"), None);
    assert!(has_cyrillic(&browser.text("#plugin-missing")));
    // The way on has the focus, and Enter takes it: the page waits and looks again.
    assert_eq!(
        browser.script("return document.activeElement.id;", json!([])),
        "retry"
    );
    browser.screenshot("portal-page-plugin-missing-ru");
    browser.type_into("#retry", ENTER);
    browser.wait_attribute(
        "#status",
        "data-state",
        &["waiting"],
        Duration::from_secs(5),
    );
    browser.wait_attribute(
        "#status",
        "data-state",
        &["plugin-missing"],
        Duration::from_secs(20),
    );

    // With the extension active on the site and the origin allowed, the page lists.
    browser.set_sandbox_mode(true);
    browser.allow_origin(&portal.url);
    browser.goto(&format!("{}/confirm?lang=ru", portal.url));
    let state = browser.wait_attribute(
        "#status",
        "data-state",
        &["ready", "no-certificates", "plugin-missing", "error"],
        Duration::from_secs(30),
    );
    assert_eq!(
        state,
        "ready",
        "{}: {:?}",
        browser.text("#status"),
        browser.attribute("#error", "data-code")
    );
    assert!(has_cyrillic(&browser.text("#status")));
    assert_eq!(
        browser.attribute("#sign", "disabled").as_deref(),
        Some("true")
    );
    // Every certificate is a radio with a name a screen reader reads (its label).
    let labels = browser.script(
        "return [...document.querySelectorAll('input[name=certificate]')].map(r => \
           (r.labels[0] || {}).textContent || '');",
        json!([]),
    );
    let labels = labels.as_array().expect("labels");
    assert!(!labels.is_empty());
    for label in labels {
        // The holder's name and the issuer's, whoever's card is in the other reader.
        assert!(label.as_str().is_some_and(has_cyrillic), "{label}");
    }
    // Chosen with the space bar: the plugin's details of it appear, and signing is possible.
    browser.type_into("#cert-0", " ");
    let details = wait_text(&browser, "#cert-details");
    assert!(has_cyrillic(&details), "{details}");
    assert_eq!(browser.attribute("#sign", "disabled"), None);
    browser.screenshot("portal-page-keyboard-ru");
}

/// The element's text once it has some.
fn wait_text(browser: &Browser, selector: &str) -> String {
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let text = browser.text(selector);
        if !text.trim().is_empty() {
            return text;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{selector} stayed empty"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}
