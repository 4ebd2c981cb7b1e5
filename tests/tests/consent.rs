//! The browser bridge's consent end to end: the test plays the browser, writing native-messaging
//! frames to the built `podpis-host` (with the extension's envelope) while the desktop app runs
//! in a real window under Xvfb; every answer is a click in that window, driven through
//! WebDriver. The signatures the page gets back are verified by OpenSSL with the GOST engine.
//! Screenshots of the consent screen land in target/<profile>/podpis-tests/screenshots
//! (consent-*.png).

use std::fs;
use std::io::{Read, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

use base64::Engine as _;
use podpis_tests::desktop::App;
use podpis_tests::*;
use serde_json::{json, Value};

/// The page's origin, as the extension puts it in the envelope from the browser's sender.
const ORIGIN: &str = "https://www.gosuslugi.ru";
/// What Chrome passes to the host when Podpis's extension calls it.
const EXTENSION: &str = "chrome-extension://heccbomkgkkfobheiepjmdhophngobhm/";
const WAIT: Duration = Duration::from_secs(30);

/// `podpis-host` as the browser runs it, with the app's data directory (so its socket).
struct Browser {
    child: Child,
    stdin: ChildStdin,
    replies: Receiver<Value>,
    stderr: std::path::PathBuf,
}

impl Browser {
    fn start(data: &Path, envs: &[(&str, &str)]) -> Self {
        let stderr = data.join(format!("host-{}.log", std::process::id()));
        let mut child = Command::new(bin("podpis-host"))
            .arg(EXTENSION)
            .env("PODPIS_DATA_DIR", data)
            .env("PODPIS_PKCS11_DISCOVERY", "0")
            .env_remove("OPENSSL_CONF")
            .envs(envs.iter().copied())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(fs::File::create(&stderr).expect("log"))
            .spawn()
            .expect("podpis-host");
        let stdin = child.stdin.take().expect("stdin");
        let mut stdout = child.stdout.take().expect("stdout");
        let (send, replies) = mpsc::channel();
        // Replies are read on their own thread, so that a host that never answers fails the
        // test with a message instead of hanging it.
        std::thread::spawn(move || loop {
            let mut header = [0u8; 4];
            if stdout.read_exact(&mut header).is_err() {
                return;
            }
            let mut body = vec![0; u32::from_ne_bytes(header) as usize];
            if stdout.read_exact(&mut body).is_err() {
                return;
            }
            let reply = serde_json::from_slice(&body).expect("a reply is JSON");
            if send.send(reply).is_err() {
                return;
            }
        });
        Self {
            child,
            stdin,
            replies,
            stderr,
        }
    }

    /// Writes one call in the extension's envelope.
    fn send(&mut self, func_name: &str, params: Value) {
        let body = serde_json::to_vec(&json!({
            "origin": ORIGIN,
            "msg_data": {"func_name": func_name, "params": params},
        }))
        .expect("json");
        let mut frame = u32::try_from(body.len())
            .expect("short")
            .to_ne_bytes()
            .to_vec();
        frame.extend_from_slice(&body);
        self.stdin.write_all(&frame).expect("write frame");
        self.stdin.flush().expect("flush");
    }

    #[track_caller]
    fn reply(&self, timeout: Duration) -> Value {
        self.replies
            .recv_timeout(timeout)
            .unwrap_or_else(|_| panic!("no reply in {timeout:?}; host stderr:\n{}", self.log()))
    }

    /// Nothing came back (yet): the host is waiting for the person.
    fn no_reply_for(&self, time: Duration) {
        if let Ok(reply) = self.replies.recv_timeout(time) {
            panic!("the host answered before the click: {reply}");
        }
    }

    fn log(&self) -> String {
        fs::read_to_string(&self.stderr).unwrap_or_default()
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn sign_params(container: &str, data: &str, pin: &str) -> Value {
    json!({
        "containerId": container, "userPin": pin, "inDataType": 1, "data": data,
        "hashType": 1, "signType": 5, "cspUI": 1, "outDataType": 1,
    })
}

/// The VERIFY commands the card has seen.
fn verifies(card: &VirtualCard) -> usize {
    card.trace()
        .lines()
        .filter(|l| l.starts_with("vpcd → 0020"))
        .count()
}

/// `sign_value` as OpenSSL reads it: a CAdES-BES it verifies against the test root, with
/// `content` inside.
fn assert_verifies(reply: &Value, content: &str) {
    assert_eq!(reply["error_code"], 0, "{reply}");
    let der = base64::engine::general_purpose::STANDARD
        .decode(reply["sign_value"].as_str().expect("sign_value"))
        .expect("base64");
    let dir = tempfile::tempdir_in(scratch()).expect("tmp");
    let p7s = dir.path().join("page.p7s");
    let out = dir.path().join("content");
    fs::write(&p7s, der).expect("write");
    let chain = chain_file();
    let (ok, _, err) = openssl_output(&[
        "cms",
        "-verify",
        "-cades",
        "-binary",
        "-inform",
        "DER",
        "-in",
        &p7s.to_string_lossy(),
        "-CAfile",
        &chain.to_string_lossy(),
        "-out",
        &out.to_string_lossy(),
    ]);
    assert!(
        ok,
        "openssl cms -verify refused the page's signature: {err}"
    );
    assert_eq!(fs::read_to_string(&out).expect("content"), content);
}

/// Waits until the consent screen has left the window (the screen it interrupted is drawn again).
fn consent_gone(app: &App) {
    let deadline = Instant::now() + WAIT;
    while app.exists("#consent") {
        assert!(Instant::now() < deadline, "the consent screen stayed");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_page_lists_and_signs_only_after_clicks_in_the_app() {
    // The other reader is held empty: the host lists every card there is.
    let alone = Alone::start("entrepreneur");
    let card = &alone.card;
    let app = App::start("ru");
    app.find("#login-title");
    let mut browser = Browser::start(&app.data, &[]);

    // The page lists: the app asks whether this site may see the certificates.
    browser.send("get_list_info", json!({}));
    app.find("#consent[data-kind='list']");
    assert_eq!(app.text("#consent-origin"), ORIGIN);
    assert!(app.text("#consent-title").contains("сертификат"));
    browser.no_reply_for(Duration::from_millis(500));
    app.screenshot("consent-ru-01-list");
    app.click("#consent-allow");
    let listed = browser.reply(WAIT);
    assert_eq!(listed["error_code"], 0, "{listed}");
    consent_gone(&app);
    let crypto = listed["ifc_list"]
        .as_array()
        .expect("ifc_list")
        .iter()
        .find(|c| c["description"] == card.reader())
        .unwrap_or_else(|| panic!("the card is not listed: {listed}"))
        .clone();
    let crypto_id = crypto["crypto_id"].as_str().expect("crypto_id").to_owned();
    // Remembered: the next listing is not asked.
    let remembered = fs::read_to_string(app.data.join("browser-origins.json")).expect("file");
    assert!(remembered.contains(ORIGIN), "{remembered}");
    browser.send(
        "get_list_certs_by_cryptoid_array",
        json!({"cryptoID_array": [crypto_id], "show_progress": 0}),
    );
    let certs = browser.reply(WAIT);
    assert_eq!(certs["error_code"], 0, "{certs}");
    assert!(
        !app.exists("#consent"),
        "a remembered origin was asked again"
    );
    let item = &certs["result_array"][0]["cert_list"][0];
    assert!(
        item["cert_subject"]
            .as_str()
            .is_some_and(|s| s.contains("54771278218")),
        "{certs}"
    );
    let container = format!("{crypto_id}/{}", item["id"].as_str().expect("id"));

    // The page signs without a PIN: the app shows the site, the key and the text, and asks for
    // the PIN; nothing reaches the card before the click.
    let text = "Подписываю заявление № 42 на портале.";
    let before = verifies(card);
    browser.send("sign", sign_params(&container, text, ""));
    app.wait_text("#consent-text", text, WAIT);
    assert_eq!(app.text("#consent-origin"), ORIGIN);
    assert_eq!(app.text("#consent-text"), text);
    let certificate = app.text("#consent-certificate");
    for expected in ["Иванов", "54771278218", "773024663310", "321774638816302"] {
        assert!(certificate.contains(expected), "{expected}: {certificate}");
    }
    assert!(app.text("#consent-tries").contains('3'));
    assert!(app.text("#consent-sign-type").contains("CAdES-BES"));
    assert_eq!(
        app.focused(),
        "consent-pin",
        "the keyboard starts in the PIN field"
    );
    browser.no_reply_for(Duration::from_millis(500));
    assert_eq!(verifies(card), before, "a VERIFY before the click");
    app.screenshot("consent-ru-02-sign");
    app.type_into("#consent-pin", PIN);
    app.click("#consent-allow");
    let signed = browser.reply(WAIT);
    assert_verifies(&signed, text);
    assert_eq!(verifies(card), before + 1);
    consent_gone(&app);
    // The PIN went nowhere but the card: not in the host's log, not in the page.
    assert!(!browser.log().contains(PIN));

    // Refused: -1, and the card saw no VERIFY.
    let before = verifies(card);
    browser.send("sign", sign_params(&container, "Не подписывайте это.", ""));
    app.wait_text("#consent-text", "Не подписывайте это.", WAIT);
    app.type_into("#consent-pin", PIN);
    app.click("#consent-refuse");
    assert_eq!(browser.reply(WAIT), json!({"error_code": -1}));
    assert_eq!(
        verifies(card),
        before,
        "a refused signature reached the card"
    );

    // Going to another screen refuses too.
    browser.send("sign", sign_params(&container, "И это тоже нет.", ""));
    app.wait_text("#consent-text", "И это тоже нет.", WAIT);
    app.click("#nav-settings");
    assert_eq!(browser.reply(WAIT), json!({"error_code": -1}));
    assert_eq!(verifies(card), before);
    app.find("#settings-portal");

    // The page gave the PIN: no field, the click is still needed, and it is used once.
    let text = "Подписываю с PIN страницы.";
    browser.send("sign", sign_params(&container, text, PIN));
    app.wait_text("#consent-text", text, WAIT);
    app.find("#consent-page-pin");
    assert!(!app.exists("#consent-pin"));
    browser.no_reply_for(Duration::from_millis(500));
    assert_eq!(
        verifies(card),
        before,
        "the page's PIN was used before the click"
    );
    app.screenshot("consent-ru-03-page-pin");
    app.click("#consent-allow");
    assert_verifies(&browser.reply(WAIT), text);
    assert_eq!(verifies(card), before + 1);
}

#[test]
fn the_question_is_in_english_and_keyboard_usable() {
    let alone = Alone::start("entrepreneur");
    let card = &alone.card;
    let app = App::start("en");
    app.find("#login-title");
    let mut browser = Browser::start(&app.data, &[]);
    browser.send("get_list_info", json!({}));
    app.find("#consent[data-kind='list']");
    assert_eq!(
        app.text("#consent-title"),
        "A site asks to see your certificates"
    );
    // Nothing says yes by itself: the keyboard starts on the heading, Escape refuses.
    assert_eq!(app.focused(), "consent-title");
    app.screenshot("consent-en-01-list");
    app.press("\u{E00C}");
    assert_eq!(browser.reply(WAIT), json!({"error_code": -1}));
    assert!(!app.data.join("browser-origins.json").exists());
    // Asked again, allowed with Tab and Enter on the button.
    consent_gone(&app);
    browser.send("get_list_info", json!({}));
    app.find("#consent[data-kind='list']");
    assert_eq!(app.focused(), "consent-title");
    app.press("\u{E004}");
    assert_eq!(app.focused(), "consent-allow");
    assert_eq!(app.text("#consent-allow"), "Allow");
    app.press("\u{E007}");
    let listed = browser.reply(WAIT);
    assert_eq!(listed["error_code"], 0, "{listed}");
    assert!(listed.to_string().contains(card.reader()));
}

/// No app runs: the host starts `podpis-desktop --consent` from its own directory and waits for
/// its socket; the app that goes away unanswered leaves the call refused, with a line saying so.
#[test]
fn the_host_starts_the_app_and_a_vanished_app_is_a_refusal() {
    let data = tempfile::Builder::new()
        .prefix("consent-start-")
        .tempdir_in(scratch())
        .expect("dir");
    let mut xvfb = Command::new("Xvfb")
        .args([
            "-displayfd",
            "1",
            "-screen",
            "0",
            "1024x768x24",
            "-nolisten",
            "tcp",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("Xvfb");
    let mut number = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(xvfb.stdout.take().expect("stdout")),
        &mut number,
    )
    .expect("display");
    let display = format!(":{}", number.trim());
    let mut browser = Browser::start(data.path(), &[("DISPLAY", display.as_str())]);
    browser.send("get_list_info", json!({}));
    // The app the host started listens and holds the lock with its pid.
    let lock = data.path().join("run/consent.lock");
    let deadline = Instant::now() + Duration::from_secs(60);
    let pid = loop {
        let pid = fs::read_to_string(&lock).unwrap_or_default();
        if !pid.trim().is_empty() && data.path().join("run/consent.sock").exists() {
            break pid.trim().to_owned();
        }
        assert!(
            Instant::now() < deadline,
            "the app did not come up: {}",
            browser.log()
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    let cmdline = fs::read(format!("/proc/{pid}/cmdline")).expect("the app runs");
    let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
    assert!(
        cmdline.contains("podpis-desktop") && cmdline.contains("--consent"),
        "{cmdline}"
    );
    browser.no_reply_for(Duration::from_millis(500));
    // The person never answers: the app goes away (ended by this test, which knows its pid).
    let killed = Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill");
    assert!(killed.success());
    assert_eq!(browser.reply(WAIT), json!({"error_code": -1}));
    let log = browser.log();
    assert!(log.contains("podpis-host:"), "{log}");
    let _ = xvfb.kill();
    let _ = xvfb.wait();
}
