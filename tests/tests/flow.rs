//! The confirmation flow through the real binaries: pcscd + vpcd + podpis-vcard + podpis-portal +
//! podpis. What a user runs, and what they must be able to rely on.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use podpis_tests::portal::Portal;
use podpis_tests::user::User;
use podpis_tests::*;

fn verifies_reached_the_card(card: &VirtualCard) -> usize {
    card.trace()
        .lines()
        .filter(|l| l.starts_with("vpcd → 0020"))
        .count()
}

#[test]
fn the_entrepreneur_confirms_and_no_secret_is_left_anywhere() {
    let portal = Portal::start(&[]);
    let card = VirtualCard::start("entrepreneur");
    let user = User::new(&portal);
    user.login("entrepreneur");
    assert_eq!(user.level(), "standard");
    let (code, out, err) = user.confirm(&card, &[], PIN);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("подтверждена"), "{out}");
    assert_eq!(user.level(), "confirmed");
    assert_eq!(user.outbox_len(), 0);

    // The token is in the kernel keyring, not in any file of the data directory.
    let origin = portal.url.clone();
    let token = client::keystore::get("podpis", &origin).expect("token in the keyring");
    let token = String::from_utf8(token).expect("utf8");
    assert!(token.len() >= 40);
    for file in files_under(&user.data) {
        let bytes = std::fs::read(&file).expect("read");
        assert!(
            !contains(&bytes, token.as_bytes()),
            "the token is in {}",
            file.display()
        );
        assert!(
            !contains(&bytes, b"ivanov-sandbox-1"),
            "the password is in {}",
            file.display()
        );
        assert!(
            !contains(&bytes, PIN.as_bytes()),
            "the PIN is in {}",
            file.display()
        );
    }
    // Nor in anything printed, nor in the portal's log, nor in the card's trace.
    let printed = user.outputs.borrow().clone();
    for secret in [token.as_str(), "ivanov-sandbox-1", PIN] {
        assert!(!printed.contains(secret), "a secret was printed");
        assert!(
            !portal.log().contains(secret),
            "a secret is in the portal log"
        );
    }
    assert!(
        !card.trace().contains(&hex::encode_upper(PIN)),
        "the PIN is in the card trace"
    );

    // Logging out removes it.
    let (code, _, _) = user.run(&["logout"], "");
    assert_eq!(code, 0);
    assert!(client::keystore::get("podpis", &origin).is_err());
    let (code, _, err) = user.run(&["status"], "");
    assert_eq!(code, 9, "{err}");
}

#[test]
fn the_legal_entity_registers_its_organisation() {
    let portal = Portal::start(&[]);
    let card = VirtualCard::start("legal-entity");
    let user = User::new(&portal);
    user.login("legal-entity");
    let (code, out, err) = user.run(
        &[
            "register-org",
            "--reader",
            card.reader(),
            "--pin-stdin",
            "--json",
        ],
        &format!("{PIN}\n"),
    );
    assert_eq!(code, 0, "{out}\n{err}");
    let result: serde_json::Value = serde_json::from_str(&out).expect("json");
    assert_eq!(result["organisation"]["ogrn"], "1027716290722");
    let (_, out, _) = user.run(&["status", "--json"], "");
    let status: serde_json::Value = serde_json::from_str(&out).expect("json");
    assert_eq!(status["organisations"][0]["name"], "ООО «Ромашка»");
}

#[test]
fn a_legal_entity_certificate_without_snils_is_stopped_before_the_pin() {
    let portal = Portal::start(&[]);
    let card = VirtualCard::start("legal-entity-without-snils");
    let user = User::new(&portal);
    user.login("legal-entity-without-snils");
    let (code, out, err) = user.run(
        &[
            "register-org",
            "--reader",
            card.reader(),
            "--pin-stdin",
            "--json",
        ],
        &format!("{PIN}\n"),
    );
    assert_eq!(code, 6, "{out}\n{err}");
    assert!(out.contains("legal-entity-without-person-snils"), "{out}");
    assert_eq!(verifies_reached_the_card(&card), 0);
    assert_eq!(
        portal.query_count("SELECT COUNT(*) FROM challenges"),
        0,
        "stopped before asking the portal"
    );
}

#[test]
fn an_expired_certificate_is_stopped_before_the_pin() {
    let portal = Portal::start(&[]);
    let card = VirtualCard::start("expired");
    let user = User::new(&portal);
    user.login("expired");
    let (code, out, err) = user.confirm(&card, &["--json"], PIN);
    assert_eq!(code, 6, "{out}\n{err}");
    assert!(out.contains("\"expired\""), "{out}");
    assert_eq!(verifies_reached_the_card(&card), 0);
}

#[test]
fn another_persons_card_reaches_the_portal_only_when_forced() {
    let portal = Portal::start(&[]);
    let card = VirtualCard::start("legal-entity");
    let user = User::new(&portal);
    user.login("entrepreneur");
    let (code, out, err) = user.confirm(&card, &["--json"], PIN);
    assert_eq!(code, 6, "{out}\n{err}");
    assert!(out.contains("person-mismatch"), "{out}");
    assert_eq!(verifies_reached_the_card(&card), 0);
    assert_eq!(portal.query_count("SELECT COUNT(*) FROM challenges"), 0);

    let (code, out, err) = user.confirm(&card, &["--json", "--force"], PIN);
    assert_eq!(code, 7, "{out}\n{err}");
    assert!(out.contains("snils-mismatch"), "{out}");
    assert_eq!(user.level(), "standard");
}

#[test]
fn a_wrong_pin_then_the_right_one() {
    let portal = Portal::start(&[]);
    let card = VirtualCard::start("entrepreneur");
    let user = User::new(&portal);
    user.login("entrepreneur");
    let (code, out, err) = user.confirm(&card, &[], "87654321");
    assert_eq!(code, 5, "{out}\n{err}");
    assert!(
        err.contains("Неверный PIN") && err.contains("Осталось попыток: 2"),
        "{err}"
    );
    assert_eq!(user.outbox_len(), 0);
    let (code, out, err) = user.confirm(&card, &["--lang", "en"], PIN);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(
        err.contains("Signing on the card"),
        "English on request: {err}"
    );
    assert_eq!(user.level(), "confirmed");
    assert_eq!(
        card.signing_reader()
            .pin_status()
            .expect("status")
            .tries_left,
        3
    );
}

#[test]
fn a_card_pulled_during_signing_sends_nothing() {
    let portal = Portal::start(&[]);
    // The card goes when the signature command (PSO, INS 2A) arrives: after VERIFY and MSE.
    let mut card = VirtualCard::start_with("entrepreneur", &["--vanish-on-ins", "2A"]);
    let user = User::new(&portal);
    user.login("entrepreneur");
    let (code, out, err) = user.confirm(&card, &["--json"], PIN);
    assert_eq!(code, 4, "{out}\n{err}\n{}", card.trace());
    assert!(out.contains("card-removed"), "{out}");
    assert!(card.wait_exit(Duration::from_secs(5)));
    assert!(
        card.trace().contains("vpcd → 002241B6"),
        "it went during signing:\n{}",
        card.trace()
    );
    assert_eq!(user.outbox_len(), 0);
    assert_eq!(
        portal.query_count("SELECT COUNT(*) FROM audit_events WHERE action = 'confirmation'"),
        0
    );
    assert_eq!(user.level(), "standard");
}

#[test]
fn a_request_stored_while_the_portal_is_down_is_delivered_exactly_once_later() {
    let mut portal = Portal::start(&[]);
    let card = VirtualCard::start("entrepreneur");
    let user = User::new(&portal);
    user.login("entrepreneur");
    // Start the confirmation; once the portal has issued the challenge (the PIN is being asked
    // for), the portal dies. Then the PIN is typed.
    let mut child = user
        .command(&[
            "confirm",
            "--reader",
            card.reader(),
            "--pin-stdin",
            "--json",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("confirm");
    let deadline = Instant::now() + Duration::from_secs(30);
    while portal.query_count("SELECT COUNT(*) FROM challenges") == 0 {
        assert!(Instant::now() < deadline, "no challenge was asked for");
        std::thread::sleep(Duration::from_millis(50));
    }
    portal.kill();
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(format!("{PIN}\n").as_bytes())
        .expect("pin");
    let out = child.wait_with_output().expect("output");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(8),
        "{stdout} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("portal-unreachable"), "{stdout}");
    assert_eq!(
        user.outbox_len(),
        1,
        "the signed request waits in the outbox"
    );

    portal.restart();
    let (code, out, err) = user.run(&["outbox", "send", "--json"], "");
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("\"level\":\"confirmed\""), "{out}");
    assert_eq!(user.outbox_len(), 0);
    let (code, out, _) = user.run(&["outbox", "send", "--json"], "");
    assert_eq!((code, out.trim()), (0, "[]"));
    assert_eq!(portal.query_count("SELECT COUNT(*) FROM confirmations"), 1);
    assert_eq!(user.level(), "confirmed");
}

/// A portal that relays another portal's challenge (here: a proxy in front of a portal that names
/// its own origin, not the proxy's) must not get a document for that other portal signed.
#[test]
fn a_challenge_naming_another_portal_is_refused_before_the_pin() {
    let portal = Portal::start(&[]);
    let relay = podpis_tests::proxy::FaultProxy::start(&portal.url);
    let card = VirtualCard::start("entrepreneur");
    let user = User::for_url(&relay.url);
    user.login("entrepreneur");
    let (code, out, err) = user.confirm(&card, &["--json"], PIN);
    assert_eq!(code, 7, "{out}\n{err}");
    assert!(out.contains("challenge-origin"), "{out}");
    assert!(
        out.contains(&portal.url),
        "the message names the other portal: {out}"
    );
    assert_eq!(verifies_reached_the_card(&card), 0, "a PIN was sent");
    assert_eq!(user.outbox_len(), 0);
    assert_eq!(
        portal.query_count("SELECT COUNT(*) FROM audit_events WHERE action = 'confirmation'"),
        0
    );
    assert_eq!(user.level(), "standard");
}

#[test]
fn diagnose_reports_each_part() {
    let portal = Portal::start(&[]);
    let card = VirtualCard::start("expired");
    let user = User::new(&portal);
    let (_, out, err) = user.run(&["diagnose", "--json"], "");
    let checks: serde_json::Value =
        serde_json::from_str(&out).unwrap_or_else(|_| panic!("{out} {err}"));
    let status = |name: &str| {
        checks
            .as_array()
            .expect("array")
            .iter()
            .filter(|c| c["check"] == name)
            .map(|c| c["status"].as_str().unwrap_or("").to_owned())
            .collect::<Vec<_>>()
    };
    assert_eq!(status("pcscd"), vec!["ok"]);
    assert_eq!(status("portal"), vec!["ok"]);
    assert_eq!(status("keyring"), vec!["ok"]);
    assert!(
        status("certificate").contains(&"fail".to_owned()),
        "the expired card fails: {out}"
    );
    // With the finding's own words, what to do included.
    let hint = checks
        .as_array()
        .expect("array")
        .iter()
        // Its own reader's line: the other reader may hold another test's card, coming or going.
        .find(|c| {
            c["check"] == "certificate"
                && c["detail"]
                    .as_str()
                    .is_some_and(|d| d.starts_with(card.reader()))
        })
        .and_then(|c| c["hint"].as_str())
        .unwrap_or_default()
        .to_owned();
    assert!(hint.contains("Срок действия сертификата истёк"), "{hint}");
    drop(card);
    let dead = User {
        data: user.data.clone(),
        portal: "http://127.0.0.1:9".into(),
        outputs: Default::default(),
    };
    let (code, out, _) = dead.run(&["diagnose", "--json"], "");
    assert_eq!(code, 1);
    let checks: serde_json::Value = serde_json::from_str(&out).expect("json");
    let portal_check = checks
        .as_array()
        .expect("array")
        .iter()
        .find(|c| c["check"] == "portal")
        .expect("portal check");
    assert_eq!(portal_check["status"], "fail", "{out}");
    assert!(
        portal_check["hint"]
            .as_str()
            .is_some_and(|h| h.contains("Портал недоступен")),
        "{out}"
    );
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).expect("dir").flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(files_under(&path));
        } else {
            out.push(path);
        }
    }
    out
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}
