//! The desktop app in a real window under Xvfb, driven through tauri-driver and WebKitWebDriver:
//! what a person does with the mouse and keyboard, with screenshots of each screen kept in
//! target/<profile>/podpis-tests/screenshots.

use std::time::{Duration, Instant};

use podpis_tests::desktop::App;
use podpis_tests::*;

const WAIT: Duration = Duration::from_secs(30);

/// Logs in through the login screen as the person of `profile`.
fn log_in(app: &App, profile: &str) {
    let person = &podpis_tests::profile(profile).person;
    app.find("#login-name");
    // The sandbox starts with the app (PODPIS_SANDBOX=1); the login waits for it.
    app.wait_text("#portal-line", "http://127.0.0.1:", WAIT);
    app.type_into("#login-name", &person.phone);
    app.type_into("#login-password", &person.password);
    app.click("#login-submit");
    app.find("#account-level");
}

/// Chooses the certificate on the card in `reader` (the other virtual reader may hold another
/// test's card) and waits for the PIN field.
fn choose_certificate(app: &App, reader: &str) {
    // Other tests' cards come and go in the other reader; a click that lands on an element the
    // live list just replaced is repeated.
    for _ in 0..3 {
        app.click(&format!(
            "#certificates .certificate[data-reader='{reader}'] button"
        ));
        if app.wait_for("#pin", Duration::from_secs(5)).is_some() {
            return;
        }
    }
    app.find("#pin");
}

#[test]
fn the_whole_confirmation_by_clicks_ends_confirmed() {
    let card = VirtualCard::start("entrepreneur");
    let app = App::start("ru");
    let window_after = app.started.elapsed();
    app.find("#login-title");
    app.screenshot("ru-01-login");
    log_in(&app, "entrepreneur");
    assert_eq!(
        app.attribute("#account-level", "data-level").as_deref(),
        Some("standard")
    );
    app.screenshot("ru-02-account-standard");

    app.click("#nav-confirm");
    // The list fills in as the app reads the readers: wait for this card's line.
    app.find(&format!(
        "#readers li[data-reader='{}'][data-card='gost-token']",
        card.reader()
    ));
    let readers = app.text("#readers");
    assert!(
        readers.contains(card.reader()) && readers.contains("токен ГОСТ"),
        "{readers}"
    );
    let certificate = app.text(&format!(
        "#certificates .certificate[data-reader='{}']",
        card.reader()
    ));
    assert!(
        certificate.contains("54771278218") && certificate.contains("Иванов"),
        "{certificate}"
    );
    app.screenshot("ru-03-certificates");
    choose_certificate(&app, card.reader());
    let document = app.text("#document");
    assert!(
        document.contains("\"confirm-identity\"") && document.contains("54771278218"),
        "{document}"
    );
    assert!(app.text("#pin-tries").contains("3"));
    app.screenshot("ru-04-document-and-pin");
    app.type_into("#pin", PIN);
    app.click("#sign");
    let result = app.wait_text("#result", "подтверждена", WAIT);
    assert!(result.contains("Учётная запись подтверждена"), "{result}");
    app.screenshot("ru-05-result");
    app.click("#nav-account");
    app.wait_text("#account-level", "подтверждённая", WAIT);
    assert_eq!(
        app.attribute("#account-level", "data-level").as_deref(),
        Some("confirmed")
    );
    eprintln!("window up and driven in {window_after:?}");
}

#[test]
fn a_wrong_pin_shows_the_tries_left_and_the_right_one_succeeds() {
    let card = VirtualCard::start("entrepreneur");
    let app = App::start("en");
    app.find("#login-title");
    app.screenshot("en-00-login");
    log_in(&app, "entrepreneur");
    app.screenshot("en-01-account");
    app.click("#nav-confirm");
    choose_certificate(&app, card.reader());
    app.type_into("#pin", "87654321");
    app.click("#sign");
    let error = app.wait_text("#error", "Tries left: 2", WAIT);
    assert!(error.contains("Wrong PIN"), "{error}");
    app.screenshot("en-02-wrong-pin");
    app.click("#again");
    choose_certificate(&app, card.reader());
    assert!(
        app.text("#pin-tries").contains("2 of 3"),
        "{}",
        app.text("#pin-tries")
    );
    app.type_into("#pin", PIN);
    app.click("#sign");
    app.wait_text("#result", "The account is confirmed", WAIT);
    app.screenshot("en-03-result");
    // Every other screen, in English.
    for (nav, ready, name) in [
        ("#nav-register", "#certificates", "en-04-register"),
        ("#nav-history", "#history-title", "en-05-outbox"),
        (
            "#nav-diagnostics",
            "#diagnostics tr[data-check='keyring']",
            "en-06-diagnostics",
        ),
        ("#nav-settings", "#settings-portal", "en-07-settings"),
        ("#nav-account", "#account-level", "en-08-account-confirmed"),
    ] {
        app.click(nav);
        app.find(ready);
        app.screenshot(name);
    }
    assert_eq!(app.text("#nav-settings"), "Settings");
}

#[test]
fn a_card_removed_disappears_from_the_list_and_comes_back() {
    let card = VirtualCard::start("uec");
    let reader = card.reader();
    let app = App::start("ru");
    log_in(&app, "uec");
    app.click("#nav-confirm");
    app.wait_text("#readers", "УЭК", WAIT);
    let state = card.state.clone();
    let removed_at = Instant::now();
    let lease = card.remove();
    let selector = format!("#readers li[data-reader='{reader}'][data-card='none']");
    assert!(
        app.wait_for(&selector, Duration::from_secs(2)).is_some(),
        "the card was still listed 2 s after removal"
    );
    eprintln!("removal shown after {:?}", removed_at.elapsed());
    app.screenshot("ru-06-card-removed");
    let _card = VirtualCard::insert(lease, "uec", &state, &[]);
    let selector = format!("#readers li[data-reader='{reader}'][data-card='uec']");
    assert!(
        app.wait_for(&selector, Duration::from_secs(2)).is_some(),
        "the card did not come back within 2 s"
    );
}

#[test]
fn the_legal_entity_registers_its_organisation_by_clicks() {
    let card = VirtualCard::start("legal-entity");
    let app = App::start("ru");
    log_in(&app, "legal-entity");
    app.click("#nav-register");
    choose_certificate(&app, card.reader());
    assert!(app.text("#document").contains("1027716290722"));
    app.type_into("#pin", PIN);
    app.click("#sign");
    app.wait_text("#result", "зарегистрирована", WAIT);
    app.screenshot("ru-07-organisation-registered");
    app.click("#nav-account");
    app.wait_text("#account-organisations", "Ромашка", WAIT);
}

#[test]
fn a_certificate_without_snils_shows_its_finding_and_no_pin_field() {
    let card = VirtualCard::start("legal-entity-without-snils");
    let app = App::start("ru");
    log_in(&app, "legal-entity-without-snils");
    app.click("#nav-register");
    let mine = format!(
        "#certificates .certificate[data-reader='{}']",
        card.reader()
    );
    app.find(&mine);
    let finding = app.text(&format!(
        "{mine} [data-finding='legal-entity-without-person-snils']"
    ));
    assert!(finding.contains("СНИЛС"), "{finding}");
    assert!(
        !app.exists(&format!("{mine} button")),
        "a certificate with an error finding cannot be chosen"
    );
    assert!(!app.exists("#pin"));
    app.screenshot("ru-08-finding");
    // Keyboard: Tab moves through the navigation, every control has a name.
    let unnamed = app.script(
        "return [...document.querySelectorAll('button, input, select')].filter(e => !(e.labels && e.labels.length) && !e.textContent.trim() && !e.getAttribute('aria-label')).length",
    );
    assert_eq!(
        unnamed,
        serde_json::json!(0),
        "controls without an accessible name"
    );
    app.click("#nav-diagnostics");
    app.find("#diagnostics tr[data-check='keyring']");
    app.screenshot("ru-09-diagnostics");
    app.click("#nav-settings");
    app.find("#settings-portal");
    app.screenshot("ru-10-settings");
    app.click("#nav-history");
    app.find("#outbox-empty");
    app.screenshot("ru-11-outbox");
}

#[test]
fn a_script_in_the_window_cannot_change_what_the_app_trusts() {
    let app = App::start("en");
    app.find("#login-title");
    let settings = app.data.join("settings.json");
    let before = std::fs::read(&settings).expect("settings");
    let evil = app.data.join("evil-root.pem");
    for attempt in [
        serde_json::json!({ "language": "en", "portal": null, "extra_ca": evil, "sandbox_pki": null }),
        serde_json::json!({ "language": "en", "portal": null, "sandbox_pki": app.data }),
        serde_json::json!({ "language": "en", "extra_ca": null }),
    ] {
        let refusal = app
            .invoke("settings_set", serde_json::json!({ "settings": attempt }))
            .expect_err("a trust field from the page is refused");
        assert_eq!(refusal["code"], "settings-trust", "{refusal}");
        assert_eq!(
            std::fs::read(&settings).expect("settings"),
            before,
            "the settings file changed"
        );
    }
    // What the page may change still changes, through the UI: the language.
    app.click("#language option[value='ru']");
    app.wait_text("#nav-settings", "Настройки", WAIT);
    let saved: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&settings).expect("settings")).expect("json");
    assert_eq!(saved["language"], "ru");
    assert_eq!(saved["extra_ca"], serde_json::Value::Null);
    // The settings screen shows what is trusted, with buttons that open Rust's dialogs: no field
    // the page could type a path into.
    app.click("#nav-settings");
    app.find("#trust-ca-choose");
    assert!(app.exists("#trust-pki-choose"));
    assert!(!app.exists("#settings-ca") && !app.exists("#settings-pki"));
    app.wait_text("#trust-pki-root", "SHA-256", WAIT);
    app.screenshot("ru-12-settings-trust");
}

#[test]
fn the_window_may_call_only_the_commands_granted_to_it() {
    let app = App::start("en");
    app.find("#login-title");
    // Granted: answered.
    let settings = app
        .invoke("settings_get", serde_json::json!({}))
        .expect("settings_get is granted");
    assert_eq!(settings["language"], "en");
    app.invoke("portal_info", serde_json::json!({}))
        .expect("portal_info is granted");
    // Not granted, or not a command of the app at all: Tauri refuses before the app runs any
    // code. The dialog plugin is there for Rust, not for the page; the core's window, app and
    // event-emitting commands are not the UI's.
    for command in [
        "plugin:dialog|open",
        "plugin:dialog|message",
        "plugin:app|version",
        "plugin:event|emit",
        "plugin:window|set_title",
        "plugin:path|resolve_directory",
        "settings_write",
    ] {
        let refusal = app
            .invoke(command, serde_json::json!({}))
            .expect_err(command);
        assert!(
            refusal.to_string().contains("not allowed"),
            "{command}: {refusal}"
        );
    }
    assert_eq!(app.text("#app-title"), "Podpis");
    app.screenshot("en-09-after-refused-commands");
}

#[test]
fn a_certificate_that_cannot_do_the_job_says_why_and_cannot_be_chosen() {
    // Both virtual readers: the entrepreneur's token and the old UEC.
    let entrepreneur = VirtualCard::start("entrepreneur");
    let uec = VirtualCard::start("uec");
    let app = App::start("ru");
    log_in(&app, "entrepreneur");
    let token = format!(
        "#certificates .certificate[data-reader='{}']",
        entrepreneur.reader()
    );
    let old = format!("#certificates .certificate[data-reader='{}']", uec.reader());

    app.click("#nav-confirm");
    app.find(&token);
    // The UEC's GOST R 34.10-2001 key: the reason in the flow's words, and no button.
    let reason = app.text(&format!("{old} [data-unfit='algorithm-deprecated']"));
    assert!(reason.contains("34.10-2001"), "{reason}");
    assert!(!app.exists(&format!("{old} button")), "a 2001 key offered");
    assert!(app.exists(&format!("{token} button")));
    // Each certificate says which reader it is in.
    for (selector, reader) in [(&token, entrepreneur.reader()), (&old, uec.reader())] {
        let text = app.text(selector);
        assert!(text.contains(reader), "{reader} not in {text}");
    }
    app.script(&format!(
        "document.querySelector(\"{old} [data-unfit]\").scrollIntoView({{block: 'end'}})"
    ));
    app.screenshot("ru-13-confirm-2001-key-unfit");

    // Registering an organisation: the entrepreneur's certificate has no OGRN.
    app.click("#nav-register");
    let reason = app.text(&format!("{token} [data-unfit='not-an-organisation']"));
    assert!(reason.contains("ОГРН"), "{reason}");
    assert!(
        !app.exists(&format!("{token} button")),
        "no OGRN, yet offered"
    );
    assert!(!app.exists(&format!("{old} button")));
    assert!(!app.exists("#pin"));
    app.script(&format!(
        "document.querySelector(\"{token} [data-unfit]\").scrollIntoView({{block: 'end'}})"
    ));
    let unnamed = app.script(
        "return [...document.querySelectorAll('button, input, select')].filter(e => !(e.labels && e.labels.length) && !e.textContent.trim() && !e.getAttribute('aria-label')).length",
    );
    assert_eq!(
        unnamed,
        serde_json::json!(0),
        "controls without an accessible name"
    );
    app.screenshot("ru-14-register-without-ogrn");
}

#[test]
fn choosing_a_trusted_root_opens_a_native_dialog_the_page_cannot_answer() {
    let app = App::start("en");
    app.find("#login-title");
    let settings = app.data.join("settings.json");
    let before = std::fs::read(&settings).expect("settings");
    app.click("#nav-settings");
    app.click("#trust-ca-choose");
    // The file dialog is a window of its own, titled in the app's words: WebDriver, and so a
    // script in the page, cannot reach into it.
    let title = "Choose the root certificate to trust";
    let deadline = Instant::now() + WAIT;
    while !app.window_names().contains(title) {
        assert!(
            Instant::now() < deadline,
            "no dialog: {}",
            app.window_names()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    // While it waits for the person, a script asking again gets the state as it is, at once.
    let view = app
        .invoke("trust_choose_ca", serde_json::json!({}))
        .expect("answered");
    assert_eq!(view["extra_ca"], serde_json::Value::Null, "{view}");
    assert_eq!(std::fs::read(&settings).expect("settings"), before);
    assert_eq!(app.window_names().matches(title).count(), 1);
}
