//! The sandbox portal's browser page as a real process, driven over HTTP as the page's script
//! drives it (form login, session cookie, CSRF header, the challenge text, `sign_value`): an
//! attached CAdES of the challenge made by `openssl cms -sign` with the GOST engine, or by the
//! virtual card through `podpis sign`, raises the account's level; every other signature is
//! refused with the code of docs/protocol.md. (The page itself in Chromium, with the extension
//! and podpis-host, is the browser tests'.)

use std::collections::HashMap;
use std::fs;

use base64::Engine as _;
use podpis_tests::portal::{Portal, Signer};
use podpis_tests::{podpis_with_stdin, profile, scratch, VirtualCard};
use serde_json::{json, Value};

/// A browser of one person: its cookies, and the page's CSRF token once the page is loaded.
struct Browser {
    http: reqwest::blocking::Client,
    url: String,
    cookies: HashMap<String, String>,
    csrf: String,
}

impl Browser {
    fn new(portal: &Portal) -> Self {
        Self {
            http: reqwest::blocking::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("client"),
            url: portal.url.clone(),
            cookies: HashMap::new(),
            csrf: String::new(),
        }
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    fn keep_cookies(&mut self, response: &reqwest::blocking::Response) {
        for value in response.headers().get_all("set-cookie") {
            let value = value.to_str().expect("cookie");
            let pair = value.split(';').next().expect("pair");
            let (name, value) = pair.split_once('=').expect("name=value");
            if value.is_empty() {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.to_owned(), value.to_owned());
            }
        }
    }

    fn get(&mut self, path: &str) -> (u16, String) {
        let response = self
            .http
            .get(format!("{}{path}", self.url))
            .header("cookie", self.cookie_header())
            .send()
            .expect("get");
        self.keep_cookies(&response);
        (response.status().as_u16(), response.text().expect("text"))
    }

    /// Logs in through the login page's form, then loads the confirmation page.
    fn log_in(&mut self, login: &str, password: &str) {
        let (_, page) = self.get("/login");
        let csrf = attribute(&page, "name=\"csrf\" value=\"");
        let response = self
            .http
            .post(format!("{}/login", self.url))
            .header("cookie", self.cookie_header())
            .header("origin", &self.url)
            .form(&[("login", login), ("password", password), ("csrf", &csrf)])
            .send()
            .expect("login");
        assert_eq!(response.status(), 303, "login {login}");
        self.keep_cookies(&response);
        assert!(self.cookies.contains_key("podpis_session"));
        let (status, page) = self.get("/confirm");
        assert_eq!(status, 200);
        self.csrf = attribute(&page, "name=\"csrf-token\" content=\"");
    }

    fn log_in_as(&mut self, name: &str) {
        let person = &profile(name).person;
        self.log_in(&person.phone, &person.password);
    }

    fn post(&self, path: &str, body: &Value) -> (u16, Value) {
        let response = self
            .http
            .post(format!("{}{path}", self.url))
            .header("cookie", self.cookie_header())
            .header("origin", &self.url)
            .header("x-csrf-token", &self.csrf)
            .json(body)
            .send()
            .expect("post");
        let status = response.status().as_u16();
        (status, response.json().unwrap_or(Value::Null))
    }

    /// The portal's challenge text, as the page gets it.
    fn challenge(&self) -> String {
        let (status, body) = self.post("/confirm/challenge", &json!({}));
        assert_eq!(status, 201, "{body}");
        body["challenge"].as_str().expect("challenge").to_owned()
    }

    /// Sends a signature as the page sends the plugin's `sign_value`.
    fn send_signature(&self, cms: &[u8]) -> (u16, Value) {
        let sign_value = base64::engine::general_purpose::STANDARD.encode(cms);
        self.post("/confirm/signature", &json!({ "sign_value": sign_value }))
    }

    /// The level the confirmation page shows (`#level`'s `data-level`).
    fn shown_level(&mut self) -> String {
        let (_, page) = self.get("/confirm");
        attribute(&page, "id=\"level\" data-level=\"")
    }
}

/// The value that follows `marker` up to the next quote.
fn attribute(page: &str, marker: &str) -> String {
    page.split(marker)
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or_else(|| panic!("{marker} not in the page"))
        .to_owned()
}

fn level_in_db(portal: &Portal, account: &str) -> String {
    for level in ["simplified", "standard", "confirmed"] {
        let sql =
            format!("SELECT COUNT(*) FROM accounts WHERE id = '{account}' AND level = '{level}'");
        if portal.query_count(&sql) == 1 {
            return level.to_owned();
        }
    }
    panic!("no account {account}");
}

fn assert_refused(answer: (u16, Value), status: u16, code: &str) {
    assert_eq!(answer.1["code"], code, "expected {code}: {}", answer.1);
    assert_eq!(answer.0, status, "{}", answer.1);
}

#[test]
fn an_openssl_signature_of_the_challenge_confirms_the_account_once() {
    let portal = Portal::start(&[]);
    let mut browser = Browser::new(&portal);
    browser.log_in_as("entrepreneur");
    assert_eq!(browser.shown_level(), "standard");
    let signer = Signer::for_profile("entrepreneur");
    let challenge = browser.challenge();
    let cms = signer.sign(challenge.as_bytes());

    let (status, answer) = browser.send_signature(&cms);
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["level"], "confirmed");
    assert_eq!(level_in_db(&portal, "acc-entrepreneur"), "confirmed");
    assert_eq!(browser.shown_level(), "confirmed");
    assert_eq!(
        portal.query_count(
            "SELECT COUNT(*) FROM confirmations WHERE account_id = 'acc-entrepreneur'"
        ),
        1
    );

    // The same bytes again (an answer lost on the way): the first answer, nothing applied twice.
    let (status, again) = browser.send_signature(&cms);
    assert_eq!(status, 200);
    assert_eq!(again, answer);
    // A new signature of the used challenge: replayed.
    let replay = signer.sign(challenge.as_bytes());
    assert_ne!(replay, cms);
    assert_refused(browser.send_signature(&replay), 409, "nonce-used");
    assert_eq!(
        portal.query_count(
            "SELECT COUNT(*) FROM confirmations WHERE account_id = 'acc-entrepreneur'"
        ),
        1
    );
}

/// The virtual card signs the challenge through `podpis sign` (the CAdES builder podpis-host
/// uses for the page's `sign`), with a 512-bit key.
#[test]
fn a_virtual_card_signature_of_the_challenge_confirms_the_account() {
    let portal = Portal::start(&[]);
    let mut browser = Browser::new(&portal);
    browser.log_in_as("legal-entity");
    let card = VirtualCard::start("legal-entity");
    let dir = tempfile::tempdir_in(scratch()).expect("tmp");
    let text = dir.path().join("challenge.txt");
    let p7s = dir.path().join("challenge.p7s");
    fs::write(&text, browser.challenge()).expect("write");
    let (text_s, p7s_s) = (text.display().to_string(), p7s.display().to_string());
    let args = [
        "sign",
        "--reader",
        card.reader(),
        "--pin-stdin",
        "--json",
        "--in",
        &text_s,
        "--out",
        &p7s_s,
    ];
    let (code, out, err) = podpis_with_stdin(&args, "12345678\n");
    assert_eq!(code, 0, "{out} {err}");
    let (status, answer) = browser.send_signature(&fs::read(&p7s).expect("p7s"));
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["level"], "confirmed");
    assert_eq!(level_in_db(&portal, "acc-legal-entity"), "confirmed");
    assert_eq!(browser.shown_level(), "confirmed");
}

#[test]
fn a_signature_of_anything_but_the_issued_challenge_is_refused() {
    let portal = Portal::start(&[]);
    let mut browser = Browser::new(&portal);
    browser.log_in_as("entrepreneur");
    let signer = Signer::for_profile("entrepreneur");
    let challenge = browser.challenge();
    let nonce = challenge.rsplit("nonce=").next().expect("nonce").to_owned();
    let others = [
        format!("{challenge}\n"),
        challenge.replace("acc-entrepreneur", "acc-legal-entity"),
        challenge.replace("confirm-identity", "register-organisation"),
        nonce.clone(),
        format!("podpis-browser-challenge/1 nonce={nonce}"),
    ];
    for content in &others {
        assert_refused(
            browser.send_signature(&signer.sign(content.as_bytes())),
            400,
            "malformed",
        );
    }
    // A challenge made up by the page names no challenge the portal issued.
    let made_up = challenge.replace(&nonce, "bm90LWlzc3VlZA");
    assert_refused(
        browser.send_signature(&signer.sign(made_up.as_bytes())),
        404,
        "nonce-unknown",
    );
    assert_eq!(level_in_db(&portal, "acc-entrepreneur"), "standard");
    // The challenge itself is still good.
    let (status, answer) = browser.send_signature(&signer.sign(challenge.as_bytes()));
    assert_eq!(status, 200, "{answer}");
}

#[test]
fn an_expired_challenge_is_refused() {
    let portal = Portal::start(&["--challenge-ttl-secs", "1"]);
    let mut browser = Browser::new(&portal);
    browser.log_in_as("entrepreneur");
    let challenge = browser.challenge();
    std::thread::sleep(std::time::Duration::from_millis(2100));
    let cms = Signer::for_profile("entrepreneur").sign(challenge.as_bytes());
    assert_refused(browser.send_signature(&cms), 410, "nonce-expired");
    assert_eq!(level_in_db(&portal, "acc-entrepreneur"), "standard");
}

#[test]
fn another_persons_certificate_and_a_non_gost_key_are_refused() {
    let portal = Portal::start(&[]);
    let mut browser = Browser::new(&portal);
    browser.log_in_as("entrepreneur");
    let challenge = browser.challenge();
    let someone_else = Signer::for_profile("legal-entity").sign(challenge.as_bytes());
    assert_refused(browser.send_signature(&someone_else), 422, "snils-mismatch");

    let mut piv = Browser::new(&portal);
    piv.log_in_as("piv");
    let challenge = piv.challenge();
    let ecdsa = Signer::for_profile("piv").sign(challenge.as_bytes());
    assert_refused(piv.send_signature(&ecdsa), 422, "algorithm-not-gost");
    assert_eq!(level_in_db(&portal, "acc-entrepreneur"), "standard");
    assert_eq!(level_in_db(&portal, "acc-piv"), "standard");
}

#[test]
fn without_the_session_or_its_csrf_token_nothing_is_applied() {
    let portal = Portal::start(&[]);
    let mut browser = Browser::new(&portal);
    browser.log_in_as("entrepreneur");
    let challenge = browser.challenge();
    let cms = Signer::for_profile("entrepreneur").sign(challenge.as_bytes());

    let mut forged = Browser::new(&portal);
    forged.csrf = browser.csrf.clone();
    assert_refused(forged.send_signature(&cms), 401, "unauthorised");
    let mut wrong_token = Browser::new(&portal);
    wrong_token.cookies = browser.cookies.clone();
    wrong_token.csrf = "0".repeat(64);
    assert_refused(wrong_token.send_signature(&cms), 403, "forbidden");
    // A bearer token does not open the page's calls.
    let (token, _) = portal.login_as("entrepreneur");
    let response = Portal::http()
        .post(format!("{}/confirm/signature", portal.url))
        .bearer_auth(token)
        .json(&json!({ "sign_value": "MA==" }))
        .send()
        .expect("post");
    assert_eq!(response.status(), 401);
    assert_eq!(level_in_db(&portal, "acc-entrepreneur"), "standard");

    // The page's own session and token still work afterwards.
    let (status, answer) = browser.send_signature(&cms);
    assert_eq!(status, 200, "{answer}");
}
