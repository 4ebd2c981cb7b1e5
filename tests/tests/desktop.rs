//! The desktop app in a real window under Xvfb, driven through tauri-driver and WebKitWebDriver:
//! what a person does with the mouse and keyboard, with screenshots of each screen kept in
//! target/<profile>/podpis-tests/screenshots.

// signing's SoftHSM helpers (a token made with softhsm2-util and OpenSC's pkcs11-tool), shared
// rather than written twice.

use std::path::Path;
use std::time::{Duration, Instant};

use podpis_tests::desktop::{App, TEST_MODULES};
use podpis_tests::tokens::{built_module, gost_token, softhsm, softhsm_with_profile_key};
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
    choose_certificate_then(app, reader, "#pin");
}

/// Chooses the certificate on the card in `reader` and waits for `next` to appear.
fn choose_certificate_then(app: &App, reader: &str, next: &str) {
    // Other tests' cards come and go in the other reader; a click that lands on an element the
    // live list just replaced is repeated.
    for _ in 0..3 {
        app.click(&format!(
            "#certificates .certificate[data-reader='{reader}'] button"
        ));
        if app.wait_for(next, Duration::from_secs(5)).is_some() {
            return;
        }
    }
    app.find(next);
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

/// The certificate a confirmation was signed with is offered first next time: marked, and its
/// button focused so that Enter takes it again (a click on another still chooses that one).
#[test]
fn the_certificate_signed_with_last_is_offered_first_for_a_confirmation() {
    let _queue = two_reader_queue();
    let entrepreneur = VirtualCard::start("entrepreneur");
    let legal = VirtualCard::start("legal-entity");
    let app = App::start("en");
    app.find("#login-title");
    log_in(&app, "legal-entity");
    let certificate = |card: &VirtualCard| {
        format!(
            "#certificates .certificate[data-reader='{}']",
            card.reader()
        )
    };
    let open_confirm = || {
        app.click("#nav-confirm");
        for card in [&entrepreneur, &legal] {
            let choice = format!("{} button", certificate(card));
            if app.wait_for(&choice, Duration::from_secs(60)).is_none() {
                app.find(&choice);
            }
        }
    };
    open_confirm();
    // Nothing chosen before: nothing is marked and no choice is focused for the person.
    assert!(!app.exists("#certificates .remembered"));
    assert!(!app.focused().starts_with("choose-"), "{}", app.focused());

    choose_certificate(&app, legal.reader());
    app.type_into("#pin", PIN);
    app.click("#sign");
    app.wait_text("#result", "confirmed", WAIT);

    app.click("#nav-account");
    app.find("#account-level");
    open_confirm();
    app.find(&format!("{} .remembered", certificate(&legal)));
    assert!(!app.exists(&format!("{} .remembered", certificate(&entrepreneur))));
    let button = app
        .attribute(&format!("{} button", certificate(&legal)), "id")
        .expect("the choice's id");
    let deadline = Instant::now() + WAIT;
    while app.focused() != button && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(app.focused(), button, "the remembered choice has the focus");
    app.screenshot("en-07-confirm-remembered");
    let kept = std::fs::read_to_string(app.data.join("last-certificate")).expect("remembered");
    assert_eq!(
        kept.trim(),
        hex::encode(openssl::sha::sha256(&legal.certificate()))
    );
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
    // Both readers: queued with every test that takes two, so none holds one and waits.
    let _queue = two_reader_queue();
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

/// The PIN the PIN-screen tests set.
const NEW_PIN: &str = "87654321";

/// On the PIN screen: chooses the card in `reader` and the `action` ("change" or "unblock") and
/// continues; returns when the form for them, with the tries left, is shown. (Only the form: an
/// error still on the screen from the step before must not pass for an answer.)
fn pin_choose(app: &App, reader: &str, action: &str) {
    let form =
        format!("#pin-form .card[data-reader='{reader}'][data-action='{action}'] #pin-tries");
    // Other tests' cards come and go in the other reader and redraw the choice: a click that
    // lands on an element just replaced is repeated.
    for _ in 0..3 {
        pin_continue(app, reader, action);
        if app.wait_for(&form, Duration::from_secs(5)).is_some() {
            return;
        }
    }
    app.find(&form);
}

/// As [`pin_choose`], for a choice the card refuses: returns when its error, with `code`, is
/// shown.
fn pin_choose_refused(app: &App, reader: &str, action: &str, code: &str) {
    let refused = format!("#error[data-code='{code}']:not([hidden])");
    for _ in 0..3 {
        pin_continue(app, reader, action);
        if app.wait_for(&refused, Duration::from_secs(5)).is_some() {
            return;
        }
    }
    app.find(&refused);
}

fn pin_continue(app: &App, reader: &str, action: &str) {
    app.click(&format!("#pin-reader option[value='{reader}']"));
    app.click(&format!("#pin-action-{action}"));
    app.click("#pin-continue");
}

/// Types the three codes of the PIN form and presses its button.
fn pin_submit(app: &App, code: &str, new: &str, again: &str) {
    app.type_into("#pin-code", code);
    app.type_into("#pin-new", new);
    app.type_into("#pin-new-again", again);
    app.click("#pin-submit");
}

fn pin_fields_are_empty(app: &App) {
    for field in ["#pin-code", "#pin-new", "#pin-new-again"] {
        assert_eq!(app.value(field), "", "{field} kept what was typed");
    }
}

fn unnamed_controls(app: &App) -> serde_json::Value {
    app.script(
        "return [...document.querySelectorAll('button, input, select')].filter(e => !(e.labels && e.labels.length) && !e.textContent.trim() && !e.getAttribute('aria-label')).length",
    )
}

/// CHANGE REFERENCE DATA commands the card has seen.
fn pin_changes_sent(card: &VirtualCard) -> usize {
    card.trace().matches("vpcd → 0024").count()
}

#[test]
fn the_pin_is_changed_by_clicks_and_the_new_one_confirms_the_account() {
    let card = VirtualCard::start("entrepreneur");
    let app = App::start("ru");
    log_in(&app, "entrepreneur");
    app.click("#nav-pin");
    pin_choose(&app, card.reader(), "change");
    // The tries left are shown before anything is typed.
    assert_eq!(app.text("#pin-tries"), "Осталось попыток ввода PIN: 3 из 3");
    assert!(!app.exists("#pin-last-try"), "a consent box with 3 tries");
    assert_eq!(app.focused(), "pin-code");
    assert_eq!(
        unnamed_controls(&app),
        serde_json::json!(0),
        "controls without an accessible name"
    );
    app.screenshot("ru-15-pin-change");

    // A repetition that differs is said at once, and nothing reaches the card.
    pin_submit(&app, PIN, NEW_PIN, "87654320");
    let problem = app.wait_text("#pin-problem", "не совпадают", WAIT);
    assert!(problem.contains("ничего не отправлено"), "{problem}");
    assert_eq!(app.value("#pin-new"), "");
    assert_eq!(app.value("#pin-new-again"), "");
    assert_eq!(app.focused(), "pin-new");
    assert_eq!(
        pin_changes_sent(&card),
        0,
        "a CHANGE REFERENCE DATA reached the card"
    );
    app.screenshot("ru-16-pin-mismatch");

    // Typed alike, the PIN changes; the codes are gone from the page and the card's trace.
    app.type_into("#pin-new", NEW_PIN);
    app.type_into("#pin-new-again", NEW_PIN);
    app.click("#pin-submit");
    let result = app.wait_text("#pin-result", "PIN изменён", WAIT);
    assert!(result.contains("новым PIN"), "{result}");
    assert!(!app.exists("#pin-code"));
    assert_eq!(pin_changes_sent(&card), 1);
    let trace = card.trace();
    assert!(
        !trace.contains(&hex::encode_upper(NEW_PIN)) && !trace.contains(&hex::encode_upper(PIN)),
        "a PIN is in the card trace"
    );
    let page = app.script("return document.documentElement.outerHTML");
    assert!(
        !page.to_string().contains(NEW_PIN),
        "the new PIN stayed in the page"
    );
    app.screenshot("ru-17-pin-changed");

    // The old PIN no longer works: refused with the tries left, and the form, asking again,
    // shows the tries that are left with its fields empty.
    app.click("#pin-back");
    pin_choose(&app, card.reader(), "change");
    pin_submit(&app, PIN, "11223344", "11223344");
    let error = app.wait_text("#error", "Осталось попыток: 2", WAIT);
    assert!(error.contains("Неверный PIN"), "{error}");
    assert_eq!(
        app.attribute("#error", "data-code").as_deref(),
        Some("pin-incorrect")
    );
    app.wait_text("#pin-tries", "2 из 3", WAIT);
    pin_fields_are_empty(&app);
    app.screenshot("ru-18-pin-old-refused");

    // The new one signs: the account is confirmed with it.
    app.click("#nav-confirm");
    choose_certificate(&app, card.reader());
    assert!(
        app.text("#pin-tries").contains("2"),
        "{}",
        app.text("#pin-tries")
    );
    app.type_into("#pin", NEW_PIN);
    app.click("#sign");
    app.wait_text("#result", "Учётная запись подтверждена", WAIT);
    app.click("#nav-account");
    app.wait_text("#account-level", "подтверждённая", WAIT);
}

#[test]
fn a_blocked_pin_is_unblocked_with_the_puk_and_then_confirms_the_account() {
    let card = VirtualCard::start("blocked-pin");
    let reader = card.reader();
    let app = App::start("en");
    log_in(&app, "blocked-pin");
    // The confirmation stops at the blocked PIN, and offers to unblock it.
    app.click("#nav-confirm");
    choose_certificate_then(&app, reader, "#confirm-unblock");
    let error = app.wait_text("#error", "The PIN is blocked", WAIT);
    assert!(error.contains("PUK"), "{error}");
    assert!(!app.exists("#pin"), "a PIN field for a blocked PIN");
    app.screenshot("en-10-confirm-pin-blocked");

    // The PIN screen opens on that card, ready to unblock: the PUK's tries come first.
    app.click("#confirm-unblock");
    app.wait_text("#pin-tries", "PUK tries left: 10 of 10", WAIT);
    assert!(app.exists(&format!(
        "#pin-form .card[data-reader='{reader}'][data-action='unblock']"
    )));
    assert_eq!(app.text("label[for='pin-code']"), "PUK");
    assert_eq!(app.focused(), "pin-code");
    app.screenshot("en-11-pin-unblock");

    // A change is refused while the PIN is blocked, in the card layer's words.
    pin_choose_refused(&app, reader, "change", "pin-blocked");
    app.wait_text("#error", "The PIN is blocked", WAIT);
    assert_eq!(
        app.attribute("#error", "data-code").as_deref(),
        Some("pin-blocked")
    );
    assert!(
        !app.exists("#pin-code"),
        "a blocked PIN offered for a change"
    );
    app.screenshot("en-12-pin-change-blocked");

    // A wrong PUK costs one of its own tries; the form shows what is left.
    pin_choose(&app, reader, "unblock");
    pin_submit(&app, "00000000", NEW_PIN, NEW_PIN);
    let error = app.wait_text("#error", "Wrong PUK. Tries left: 9", WAIT);
    assert!(!error.contains("00000000"), "{error}");
    app.wait_text("#pin-tries", "9 of 10", WAIT);
    pin_fields_are_empty(&app);
    app.screenshot("en-13-pin-wrong-puk");

    pin_submit(&app, testdata::PUK, NEW_PIN, NEW_PIN);
    app.wait_text("#pin-result", "The PIN is unblocked", WAIT);
    assert!(
        !card.trace().contains(&hex::encode_upper(testdata::PUK)),
        "the PUK is in the card trace"
    );
    app.screenshot("en-14-pin-unblocked");

    // The PIN has its tries back, and the new one confirms the account.
    app.click("#nav-confirm");
    choose_certificate(&app, reader);
    assert!(
        app.text("#pin-tries").contains("3 of 3"),
        "{}",
        app.text("#pin-tries")
    );
    app.type_into("#pin", NEW_PIN);
    app.click("#sign");
    app.wait_text("#result", "The account is confirmed", WAIT);
}

#[test]
fn the_last_pin_try_is_warned_and_asked_for_and_the_form_works_by_keyboard() {
    let card = VirtualCard::start("entrepreneur");
    let app = App::start("en");
    app.find("#login-title");
    app.click("#nav-pin");
    app.click(&format!("#pin-reader option[value='{}']", card.reader()));
    // Tab goes from the reader to the action and on to the button; Enter reads the card.
    app.script("document.getElementById('pin-reader').focus()");
    let mut visited = Vec::new();
    for _ in 0..4 {
        app.press("\u{E004}");
        visited.push(app.focused());
        if visited.last().is_some_and(|id| id == "pin-continue") {
            break;
        }
    }
    assert_eq!(visited, ["pin-action-change", "pin-continue"]);
    app.press("\u{E007}");
    app.wait_text("#pin-tries", "PIN tries left: 3 of 3", WAIT);
    assert_eq!(app.focused(), "pin-code");
    // A wrong current PIN, typed and sent from the keyboard.
    app.press(&format!(
        "11112222\u{E004}{NEW_PIN}\u{E004}{NEW_PIN}\u{E007}"
    ));
    app.wait_text("#error", "Tries left: 2", WAIT);
    app.wait_text("#pin-tries", "2 of 3", WAIT);
    pin_fields_are_empty(&app);

    pin_submit(&app, "11112222", NEW_PIN, NEW_PIN);
    app.wait_text("#error", "Tries left: 1", WAIT);
    app.wait_text("#pin-tries", "1 of 3", WAIT);
    // One try left: a warning and a box to tick, before anything is sent.
    let warning = app.text("#pin-last-try-warning");
    assert!(warning.contains("One try left"), "{warning}");
    assert_eq!(
        app.text("label[for='pin-last-try']"),
        "I understand, use the last try"
    );
    assert_eq!(
        unnamed_controls(&app),
        serde_json::json!(0),
        "controls without an accessible name"
    );
    app.screenshot("en-15-pin-last-try");
    let sent = pin_changes_sent(&card);
    pin_submit(&app, PIN, NEW_PIN, NEW_PIN);
    let problem = app.wait_text("#pin-problem", "Tick the box", WAIT);
    assert!(problem.contains("last try"), "{problem}");
    assert_eq!(app.focused(), "pin-last-try");
    assert_eq!(
        pin_changes_sent(&card),
        sent,
        "the last try was spent unasked"
    );
    app.screenshot("en-16-pin-last-try-unticked");
    // Ticked with Space, the right PIN changes it.
    app.press(" ");
    assert_eq!(
        app.script("return document.getElementById('pin-last-try').checked"),
        serde_json::json!(true)
    );
    app.click("#pin-submit");
    app.wait_text("#pin-result", "The PIN is changed", WAIT);
    assert_eq!(app.focused(), "pin-back");
    app.screenshot("en-17-pin-changed");
}

// PKCS#11 tokens in the app. A debug build loads the modules named by `TEST_MODULES` at start-up
// (a person adds one through native dialogs, which WebDriver cannot answer); discovery is off
// (`PODPIS_PKCS11_DISCOVERY=0`), so only these modules are used.

#[test]
fn a_softhsm_token_is_listed_with_its_place_and_a_module_that_aborts_leaves_the_app_running() {
    let dir = tempfile::tempdir_in(scratch()).expect("tmp");
    let hsm = softhsm_with_profile_key(dir.path());
    let aborts = built_module("pkcs11_abort_module");
    let modules =
        std::env::join_paths([Path::new(softhsm::SOFTHSM), aborts.as_path()]).expect("paths");
    let conf = hsm.conf();
    let app = App::start_with(
        "en",
        &[
            ("SOFTHSM2_CONF", conf.as_os_str()),
            (TEST_MODULES, modules.as_os_str()),
        ],
    );
    log_in(&app, "piv");

    // The token beside the readers, and its certificate saying where it is.
    app.click("#nav-confirm");
    let line = app.wait_text(
        &format!("#tokens li[data-token='{}']", softhsm::LABEL),
        "PKCS#11 token",
        WAIT,
    );
    assert!(line.contains(softhsm::SOFTHSM), "{line}");
    let mine = format!(
        "#certificates .certificate[data-tier='pkcs11'][data-reader='{}']",
        softhsm::LABEL
    );
    let text = app.wait_text(&mine, softhsm::SOFTHSM, WAIT);
    let person = &profile("piv").person;
    for shown in [
        "PKCS#11 token",
        "PKCS#11 module",
        softhsm::LABEL,
        person.snils.as_str(),
    ] {
        assert!(text.contains(shown), "{shown:?} not in {text}");
    }
    app.screenshot("en-18-confirm-pkcs11-token");

    // An ECDSA key signs files, not the portal's request: shown with the reason, not offered.
    assert!(
        text.contains("accepts only GOST R 34.10-2012"),
        "the reason is not shown: {text}"
    );
    assert!(
        !app.exists(&format!("{mine} button")),
        "a certificate the portal refuses can be chosen"
    );
    app.screenshot("en-20-pkcs11-ecdsa-refused");

    // The settings: each module in use with its state, the one that aborted with its words.
    app.click("#nav-settings");
    let softhsm_module = format!(
        "#pkcs11-modules li[data-module='{}'][data-state='loaded']",
        softhsm::SOFTHSM
    );
    let loaded = app.wait_text(&softhsm_module, "loaded, tokens: 1", WAIT);
    assert!(loaded.contains("named by the test variable"), "{loaded}");
    assert!(loaded.contains(softhsm::LABEL), "{loaded}");
    let failed = app.text(&format!(
        "#pkcs11-modules li[data-module='{}'][data-state='failed']",
        aborts.display()
    ));
    assert!(failed.contains("crashed"), "{failed}");
    assert!(app.exists("#pkcs11-discovery-off"));
    // Modules from the test variable are not the person's to remove here.
    assert!(!app.exists("#pkcs11-modules button"));
    assert_eq!(unnamed_controls(&app), serde_json::json!(0));
    app.script("document.getElementById('pkcs11-add').scrollIntoView({block: 'end'})");
    app.screenshot("en-21-settings-pkcs11-modules");

    // Diagnostics: a check per module, the crash named, and the app still running.
    app.click("#nav-diagnostics");
    let ok = app.wait_text(
        "#diagnostics tr[data-check='pkcs11'][data-status='ok']",
        softhsm::SOFTHSM,
        WAIT,
    );
    assert!(ok.contains("PKCS#11 module"), "{ok}");
    let crashed = app.text("#diagnostics tr[data-check='pkcs11'][data-status='fail']");
    assert!(
        crashed.contains(&aborts.display().to_string()) && crashed.contains("signal 6"),
        "{crashed}"
    );
    app.screenshot("en-22-diagnostics-pkcs11");
}

#[test]
fn a_script_in_the_window_cannot_add_a_pkcs11_module() {
    let app = App::start("en");
    app.find("#login-title");
    let settings = app.data.join("settings.json");
    let before = std::fs::read(&settings).expect("settings");
    let evil = app.data.join("libevil.so");
    for attempt in [
        serde_json::json!({ "language": "en", "portal": null, "pkcs11_modules": [evil] }),
        serde_json::json!({ "language": "en", "pkcs11_modules": [] }),
    ] {
        let refusal = app
            .invoke("settings_set", serde_json::json!({ "settings": attempt }))
            .expect_err("a module from the page is refused");
        assert_eq!(refusal["code"], "settings-trust", "{refusal}");
        assert_eq!(std::fs::read(&settings).expect("settings"), before);
    }
    // Removing is asked for by path, but only the person's modules are removed, after a native
    // confirmation: a path that is not one of them changes nothing.
    let view = app
        .invoke(
            "pkcs11_remove_module",
            serde_json::json!({ "path": "/usr/lib/softhsm/libsofthsm2.so" }),
        )
        .expect("answered");
    assert_eq!(view["modules"], serde_json::json!([]), "{view}");
    // Adding opens the system's file dialog, titled in the app's words: a window of its own that
    // neither WebDriver nor a script in the page can reach into.
    app.click("#nav-settings");
    app.wait_text("#pkcs11-modules", "No modules", WAIT);
    app.screenshot("en-23-settings-no-pkcs11-modules");
    app.click("#pkcs11-add");
    let title = "Choose your token's PKCS#11 module";
    let deadline = Instant::now() + WAIT;
    while !app.window_names().contains(title) {
        assert!(
            Instant::now() < deadline,
            "no dialog: {}",
            app.window_names()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    // While it waits for the person, a script asking again gets the list as it is, at once.
    let view = app
        .invoke("pkcs11_add_module", serde_json::json!({}))
        .expect("answered");
    assert_eq!(view["modules"], serde_json::json!([]), "{view}");
    assert_eq!(std::fs::read(&settings).expect("settings"), before);
    assert_eq!(app.window_names().matches(title).count(), 1);
}

#[test]
fn the_entrepreneur_changes_the_tokens_pin_and_confirms_through_the_gost_module() {
    let dir = tempfile::tempdir_in(scratch()).expect("tmp");
    let label = "GOST token";
    let token = gost_token("entrepreneur", label, false, dir.path());
    let module = built_module("pkcs11_test_module");
    let app = App::start_with(
        "ru",
        &[
            ("PODPIS_TEST_P11_DIR", token.as_os_str()),
            (TEST_MODULES, module.as_os_str()),
        ],
    );
    log_in(&app, "entrepreneur");

    // The PIN screen offers the token beside the cards; the token gives no count of tries.
    app.click("#nav-pin");
    app.find(&format!(
        "#pin-reader option[value='{label}'][data-tier='pkcs11']"
    ));
    pin_choose(&app, label, "change");
    assert_eq!(
        app.text("#pin-tries"),
        "Носитель не сообщает, сколько попыток осталось."
    );
    assert_eq!(app.focused(), "pin-code");
    app.screenshot("ru-19-pin-pkcs11-token");
    pin_submit(&app, PIN, NEW_PIN, NEW_PIN);
    app.wait_text("#pin-result", "PIN изменён", WAIT);
    let state = std::fs::read_to_string(token.join("state.json")).expect("state");
    assert!(state.contains(NEW_PIN), "C_SetPIN did not reach the token");

    // The confirmation lists the token's certificate with where it is, and signs through it.
    app.click("#nav-confirm");
    let mine = format!("#certificates .certificate[data-tier='pkcs11'][data-reader='{label}']");
    let text = app.wait_text(&mine, "54771278218", WAIT);
    for shown in [
        "Носитель PKCS#11",
        "Модуль PKCS#11",
        label,
        &module.display().to_string(),
        "Иванов",
    ] {
        assert!(text.contains(shown), "{shown:?} not in {text}");
    }
    app.wait_text(
        &format!("#tokens li[data-token='{label}']"),
        "носитель PKCS#11",
        WAIT,
    );
    app.screenshot("ru-20-confirm-pkcs11-gost");
    choose_certificate(&app, label);
    assert_eq!(
        app.text("#pin-tries"),
        "Носитель не сообщает, сколько попыток осталось."
    );
    assert!(app.text("#document").contains("54771278218"));
    app.type_into("#pin", NEW_PIN);
    app.click("#sign");
    app.wait_text("#result", "Учётная запись подтверждена", WAIT);
    app.screenshot("ru-21-confirmed-pkcs11-gost");
    app.click("#nav-account");
    app.wait_text("#account-level", "подтверждённая", WAIT);
}

#[test]
fn on_a_pin_pad_the_pin_is_entered_on_the_reader_and_the_organisation_registers() {
    let dir = tempfile::tempdir_in(scratch()).expect("tmp");
    let label = "GOST PIN pad";
    let token = gost_token("legal-entity", label, true, dir.path());
    let module = built_module("pkcs11_test_module");
    let app = App::start_with(
        "en",
        &[
            ("PODPIS_TEST_P11_DIR", token.as_os_str()),
            (TEST_MODULES, module.as_os_str()),
        ],
    );
    log_in(&app, "legal-entity");
    app.click("#nav-register");
    let mine = format!("#certificates .certificate[data-tier='pkcs11'][data-reader='{label}']");
    let text = app.wait_text(&mine, "1027716290722", WAIT);
    assert!(text.contains("on the reader's keypad"), "{text}");
    // No PIN field: a step that says to enter it on the reader, and the button signs without one.
    choose_certificate_then(&app, label, "#pin-pad");
    assert!(!app.exists("#pin"), "a PIN field for a PIN pad");
    let step = app.text("#pin-pad");
    assert!(step.contains("enter the PIN on the reader"), "{step}");
    assert_eq!(app.focused(), "sign");
    assert_eq!(unnamed_controls(&app), serde_json::json!(0));
    app.screenshot("en-24-pin-pad");
    app.click("#sign");
    app.wait_text("#result", "is registered", WAIT);
    app.screenshot("en-25-registered-pin-pad");
    app.click("#nav-account");
    app.wait_text("#account-organisations", "Ромашка", WAIT);
}
