//! The app's Sign screen in a real window under Xvfb (tauri-driver + WebKitWebDriver): files
//! signed in one batch with one PIN, a wrong PIN stopping at the first file, a card pulled
//! mid-batch, and the certificate chosen last preselected. The files come from the debug-only
//! PODPIS_TEST_SIGN_FILES in place of the native dialog, which WebDriver cannot answer.
//! Signatures are checked by OpenSSL with the GOST engine; screenshots are kept with the others.

use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use podpis_tests::desktop::App;
use podpis_tests::*;

const WAIT: Duration = Duration::from_secs(30);
const TEST_FILES: &str = "PODPIS_TEST_SIGN_FILES";

/// A folder with `names`, each holding its own text, and their paths joined for the app.
fn documents(names: &[&str]) -> (tempfile::TempDir, Vec<PathBuf>, OsString) {
    let dir = tempfile::tempdir_in(scratch()).expect("tmp");
    let paths: Vec<PathBuf> = names
        .iter()
        .map(|name| {
            let path = dir.path().join(name);
            fs::write(&path, format!("Документ {name}\n")).expect("doc");
            path
        })
        .collect();
    let joined = std::env::join_paths(&paths).expect("paths");
    (dir, paths, joined)
}

fn app_with_files(language: &str, files: &OsString) -> App {
    App::start_with(language, &[(TEST_FILES, files.as_os_str())])
}

fn sha256_hex(path: &Path) -> String {
    hex::encode(openssl::sha::sha256(&fs::read(path).expect("read")))
}

fn verifies(p7s: &Path) -> (bool, String) {
    let chain = chain_file();
    let (p7s, chain) = (p7s.to_string_lossy(), chain.to_string_lossy());
    let (ok, _, err) = openssl_output(&[
        "cms",
        "-verify",
        "-cades",
        "-binary",
        "-inform",
        "DER",
        "-in",
        &p7s,
        "-CAfile",
        &chain,
        "-out",
        "/dev/null",
    ]);
    (ok, err)
}

fn verifies_sent(card: &VirtualCard) -> usize {
    card.trace()
        .lines()
        .filter(|l| l.starts_with("vpcd → 0020"))
        .count()
}

/// Opens the Sign screen, lists the test's files and chooses the certificate of the card in
/// `reader` (the other virtual reader may hold another test's card).
fn open_with_files(app: &App, reader: &str, count: usize) {
    app.click("#nav-sign");
    // The card is read when the screen opens: on a busy machine (other tests' apps and cards)
    // that can take more than the harness's usual 20 s.
    let certificate = format!("#sign-certificates input[data-reader='{reader}']");
    if app
        .wait_for(&certificate, Duration::from_secs(60))
        .is_none()
    {
        app.find(&certificate);
    }
    app.click("#sign-pick");
    app.find(&format!("#sign-files[data-count='{count}']"));
    app.click(&format!("#sign-certificates input[data-reader='{reader}']"));
    app.find("#sign-pin");
}

fn checked(app: &App, selector: &str) -> bool {
    app.script(&format!(
        "return document.querySelector(\"{selector}\")?.checked === true;"
    ))
    .as_bool()
    .unwrap_or(false)
}

fn status(app: &App, index: usize) -> (String, String) {
    let selector = format!("#sign-results li[data-index='{index}']");
    (
        app.attribute(&selector, "data-status").unwrap_or_default(),
        app.attribute(&selector, "data-code").unwrap_or_default(),
    )
}

#[test]
fn three_files_are_signed_with_one_pin_by_clicks() {
    let card = VirtualCard::start("entrepreneur");
    let (_dir, paths, joined) = documents(&["act.txt", "contract.txt", "invoice.txt"]);
    let app = app_with_files("en", &joined);
    open_with_files(&app, card.reader(), 3);
    // Each file's name, size and digest before the PIN.
    let table = app.text("#sign-files");
    for path in &paths {
        let name = path
            .file_name()
            .expect("name")
            .to_string_lossy()
            .into_owned();
        assert!(table.contains(&name), "{table}");
        assert!(table.contains(&sha256_hex(path)), "{table}");
        assert!(table.contains(&format!("{name}.p7s")), "{table}");
        let size = fs::metadata(path).expect("size").len();
        assert!(table.contains(&format!("{size} bytes")), "{table}");
    }
    app.screenshot("en-sign-01-files");
    // Enter in the PIN field signs, as the button does.
    app.type_into("#sign-pin", &format!("{PIN}\u{E007}"));
    app.find("#sign-summary[data-signed='3'][data-total='3']");
    assert_eq!(
        app.attribute("#sign-progress", "value").as_deref(),
        Some("3")
    );
    for index in 0..3 {
        assert_eq!(status(&app, index).0, "signed");
    }
    assert_eq!(app.value("#sign-pin"), "", "the PIN field is emptied");
    app.screenshot("en-sign-02-signed");
    for path in &paths {
        let (ok, why) = verifies(&PathBuf::from(format!("{}.p7s", path.display())));
        assert!(ok, "{}: {why}", path.display());
    }
    // One PIN typed, a VERIFY per signature (docs/cards.md): three.
    assert_eq!(verifies_sent(&card), 3, "{}", card.trace());
}

#[test]
fn a_wrong_pin_stops_the_batch_at_the_first_file() {
    let card = VirtualCard::start("entrepreneur");
    let (dir, _paths, joined) = documents(&["1.txt", "2.txt", "3.txt"]);
    let app = app_with_files("ru", &joined);
    open_with_files(&app, card.reader(), 3);
    app.type_into("#sign-pin", "87654321");
    app.click("#sign-start");
    let error = app.wait_text("#error", "Осталось попыток: 2", WAIT);
    assert!(error.contains("Неверный PIN"), "{error}");
    app.find("#sign-summary[data-signed='0']");
    assert_eq!(
        status(&app, 0),
        ("failed".to_owned(), "pin-incorrect".to_owned())
    );
    assert_eq!(status(&app, 1).0, "not-signed");
    assert_eq!(status(&app, 2).0, "not-signed");
    app.screenshot("ru-sign-01-wrong-pin");
    assert_eq!(verifies_sent(&card), 1, "no second VERIFY");
    let mut names: Vec<String> = fs::read_dir(dir.path())
        .expect("dir")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["1.txt", "2.txt", "3.txt"], "nothing written");
}

#[test]
fn a_card_pulled_mid_batch_keeps_the_signed_files_and_lists_the_rest() {
    // Every answer 300 ms late: a signature takes 1.5 s, time to pull the card during the second.
    let card = VirtualCard::start_with("entrepreneur", &["--delay-ms", "300"]);
    let (dir, paths, joined) = documents(&["1.txt", "2.txt", "3.txt"]);
    let app = app_with_files("en", &joined);
    open_with_files(&app, card.reader(), 3);
    app.type_into("#sign-pin", PIN);
    app.click("#sign-start");
    app.find("#sign-results li[data-index='0'][data-status='signed']");
    let _lease = card.remove();
    app.find("#sign-summary[data-signed='1'][data-total='3']");
    assert_eq!(
        status(&app, 1),
        ("failed".to_owned(), "card-removed".to_owned())
    );
    assert_eq!(status(&app, 2).0, "not-signed");
    app.wait_text("#error", "removed", WAIT);
    app.screenshot("en-sign-03-card-pulled");
    let (ok, why) = verifies(&PathBuf::from(format!("{}.p7s", paths[0].display())));
    assert!(ok, "{why}");
    let mut names: Vec<String> = fs::read_dir(dir.path())
        .expect("dir")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["1.txt", "1.txt.p7s", "2.txt", "3.txt"]);
}

#[test]
fn the_certificate_chosen_last_is_preselected_and_a_click_overrides() {
    let _queue = two_reader_queue();
    let entrepreneur = VirtualCard::start("entrepreneur");
    let legal = VirtualCard::start("legal-entity");
    let (_dir, paths, joined) = documents(&["report.txt"]);
    let app = app_with_files("en", &joined);
    let radio =
        |card: &VirtualCard| format!("#sign-certificates input[data-reader='{}']", card.reader());
    app.click("#nav-sign");
    // Both cards are read when the screen opens (slowly on a busy machine).
    for card in [&entrepreneur, &legal] {
        if app
            .wait_for(&radio(card), Duration::from_secs(60))
            .is_none()
        {
            app.find(&radio(card));
        }
    }
    // Nothing chosen before, two certificates: none is taken for the person.
    assert!(!checked(&app, &radio(&entrepreneur)) && !checked(&app, &radio(&legal)));
    app.click("#sign-pick");
    app.find("#sign-files[data-count='1']");
    app.click(&radio(&legal));
    app.type_into("#sign-pin", PIN);
    app.click("#sign-start");
    app.find("#sign-summary[data-signed='1']");

    // Next time, the legal entity's certificate is preselected and says so.
    // Away and back (the other screen drawn first: a screen still loading could be drawn last).
    app.click("#nav-settings");
    app.find("#settings-title");
    app.click("#nav-sign");
    app.find(&format!(
        "#sign-certificates label[data-reader='{}'] .remembered",
        legal.reader()
    ));
    assert!(checked(&app, &radio(&legal)));
    assert!(!checked(&app, &radio(&entrepreneur)));
    app.screenshot("en-sign-04-preselected");

    // A click chooses the other one (detached this time, beside the first signature).
    app.click(&radio(&entrepreneur));
    app.click("#sign-detached");
    app.type_into("#sign-pin", PIN);
    app.click("#sign-start");
    app.find("#sign-summary[data-signed='1']");
    let sig = PathBuf::from(format!("{}.sig", paths[0].display()));
    assert!(sig.exists());
    // Away and back (the other screen drawn first: a screen still loading could be drawn last).
    app.click("#nav-settings");
    app.find("#settings-title");
    app.click("#nav-sign");
    app.find(&format!(
        "#sign-certificates label[data-reader='{}'] .remembered",
        entrepreneur.reader()
    ));
    assert!(checked(&app, &radio(&entrepreneur)));
    assert!(!checked(&app, &radio(&legal)));
    // The same memory as podpis's: the digest of the entrepreneur's certificate.
    let kept = fs::read_to_string(app.data.join("last-certificate")).expect("remembered");
    assert_eq!(
        kept.trim(),
        hex::encode(openssl::sha::sha256(&entrepreneur.certificate()))
    );
}
