//! The card layer through the whole real stack: pcscd + vpcd + podpis-vcard, read and driven by
//! `signing` and the `podpis` CLI, signatures checked by OpenSSL's GOST engine.

use std::sync::mpsc;
use std::time::{Duration, Instant};

use podpis_tests::*;
use signing::card::monitor::{Monitor, ReaderEvent};
use signing::certificate::CertificateInfo;
use signing::token::Reader;
use signing::{CardError, CardKind, KeyAlgorithm, LastTry, Pin, PinStatus, TokenError};
use streebog::{Digest, Streebog256, Streebog512};

fn pin(text: &str) -> Pin {
    Pin::new(text.to_owned()).expect("pin")
}

#[test]
fn both_vpcd_readers_are_listed() {
    ensure_pcscd();
    let (code, out, _) = podpis(&["readers", "--json"]);
    assert_eq!(code, 0);
    let readers: serde_json::Value = serde_json::from_str(&out).expect("json");
    for (name, _) in READERS {
        assert!(
            readers
                .as_array()
                .expect("array")
                .iter()
                .any(|r| r["reader"] == name),
            "{name} not in {out}"
        );
    }
}

/// Reads every profile through the CLI and checks what a user would: the kind of card and the
/// person's numbers, against the persons file.
#[test]
fn every_profile_is_recognised_and_its_certificate_read() {
    let expectations = [
        ("entrepreneur", CardKind::GostToken, "gost2012-256"),
        ("legal-entity", CardKind::GostToken, "gost2012-512"),
        (
            "legal-entity-without-snils",
            CardKind::GostToken,
            "gost2012-256",
        ),
        ("expired", CardKind::GostToken, "gost2012-256"),
        ("untrusted-ca", CardKind::GostToken, "gost2012-256"),
        ("blocked-pin", CardKind::GostToken, "gost2012-256"),
        ("uec", CardKind::Uec, "gost2001"),
    ];
    for (name, kind, algorithm) in expectations {
        let card = VirtualCard::start(name);
        let (code, out, err) = podpis(&["readers", "--json"]);
        assert_eq!(code, 0, "{err}");
        let readers: serde_json::Value = serde_json::from_str(&out).expect("json");
        let mine = readers
            .as_array()
            .expect("array")
            .iter()
            .find(|r| r["reader"] == card.reader())
            .expect("my reader");
        assert_eq!(mine["card"]["kind"], kind.as_str(), "{name}");

        let (code, out, err) = podpis(&["certs", "--json", "--reader", card.reader()]);
        assert_eq!(code, 0, "{name}: {err}");
        let certs: serde_json::Value = serde_json::from_str(&out).expect("json");
        let certs = certs.as_array().expect("array");
        assert_eq!(certs.len(), 1, "{name}: {out}");
        let cert = &certs[0];
        let profile = profile(name);
        let person = &profile.person;
        assert_eq!(cert["kind"], kind.as_str());
        assert_eq!(cert["algorithm"], algorithm, "{name}");
        assert_eq!(
            cert["surname"].as_str(),
            Some(person.surname.as_str()),
            "{name}"
        );
        assert_eq!(
            cert["given_names"].as_str(),
            Some(person.given_names.as_str()),
            "{name}"
        );
        assert_eq!(cert["inn"].as_str(), Some(person.inn.as_str()), "{name}");
        if profile.certificate_without_snils {
            assert!(cert["snils"].is_null(), "{name} must carry no SNILS");
        } else {
            assert_eq!(
                cert["snils"].as_str(),
                Some(person.snils.as_str()),
                "{name}"
            );
        }
        assert_eq!(cert["ogrnip"].as_str(), person.ogrnip.as_deref(), "{name}");
        let org = profile.organisation.as_ref();
        assert_eq!(
            cert["ogrn"].as_str(),
            org.map(|o| o.ogrn.as_str()),
            "{name}"
        );
        assert_eq!(
            cert["inn_le"].as_str(),
            org.map(|o| o.inn.as_str()),
            "{name}"
        );
        assert_eq!(
            cert["organisation"].as_str(),
            org.map(|o| o.name.as_str()),
            "{name}"
        );
        // The certificate on the card is the one the PKI issued into the card's state.
        let der = card.certificate();
        assert_eq!(
            cert["sha256"].as_str(),
            Some(CertificateInfo::parse(&der).expect("parse").sha256.as_str())
        );
        for field in ["not_before", "not_after"] {
            let value = cert[field].as_str().expect(field);
            assert!(
                value.len() == 20 && value.ends_with('Z') && value.as_bytes()[10] == b'T',
                "{value}"
            );
        }
    }
}

#[test]
fn certificates_chain_to_the_test_root_except_the_untrusted_one() {
    let card = VirtualCard::start("entrepreneur");
    assert!(openssl_chain_verifies(&card.certificate()));
    drop(card);
    let card = VirtualCard::start("untrusted-ca");
    assert!(!openssl_chain_verifies(&card.certificate()));
}

fn sign_and_verify(profile: &str, algorithm: KeyAlgorithm) {
    let card = VirtualCard::start(profile);
    let reader = card.signing_reader();
    let (kind, contents) = reader.read().expect("read");
    assert_ne!(kind, CardKind::Unknown);
    let key = &contents.keys[0];
    assert_eq!(key.algorithm, algorithm);
    let message = format!("Podpis test message for {profile}");
    let hash = match algorithm {
        KeyAlgorithm::Gost2012_512 => Streebog512::digest(message.as_bytes()).to_vec(),
        _ => Streebog256::digest(message.as_bytes()).to_vec(),
    };
    let signature = reader
        .sign(
            key.reference,
            algorithm,
            hash.clone(),
            pin(PIN),
            LastTry::NotConfirmed,
        )
        .expect("sign");
    assert_eq!(signature.len(), algorithm.signature_len());
    assert_openssl_verifies(profile, &key.certificate, &hash, &signature);
}

#[test]
fn a_256_bit_signature_made_by_the_card_verifies_with_openssl() {
    sign_and_verify("entrepreneur", KeyAlgorithm::Gost2012_256);
}

#[test]
fn a_512_bit_signature_made_by_the_card_verifies_with_openssl() {
    sign_and_verify("legal-entity", KeyAlgorithm::Gost2012_512);
}

#[test]
fn the_uec_signs_with_its_2001_key_through_get_response() {
    sign_and_verify("uec", KeyAlgorithm::Gost2001);
    // (GOST R 34.10-2001 signs a GOST R 34.11-94 hash; the card signs any 32 bytes, so a Streebog
    // hash stands in here: what is checked is the card's key and the s ‖ r layout.)
}

/// Has the card sign `hash` with the 256-bit key 01 after `pin_text`.
fn sign_256(
    reader: &Reader,
    hash: &[u8],
    pin_text: &str,
    last_try: LastTry,
) -> Result<Vec<u8>, TokenError> {
    reader.sign(
        1,
        KeyAlgorithm::Gost2012_256,
        hash.to_vec(),
        pin(pin_text),
        last_try,
    )
}

#[test]
fn wrong_pin_reports_tries_left_and_decrements_then_right_pin_restores() {
    let card = VirtualCard::start("entrepreneur");
    let reader = card.signing_reader();
    assert_eq!(
        reader.pin_status().expect("status"),
        PinStatus {
            tries_left: 3,
            max_tries: 3
        }
    );
    let hash = vec![7u8; 32];
    let err = sign_256(&reader, &hash, "87654321", LastTry::NotConfirmed).unwrap_err();
    assert_eq!(err, TokenError::PinIncorrect { tries_left: 2 });
    assert_eq!(reader.pin_status().expect("status").tries_left, 2);
    let err = sign_256(&reader, &hash, "00000000", LastTry::NotConfirmed).unwrap_err();
    assert_eq!(err, TokenError::PinIncorrect { tries_left: 1 });
    assert!(reader.pin_status().expect("status").is_last_try());
    // One try left: without consent the card is not sent the PIN, and keeps its one try.
    let err = sign_256(&reader, &hash, PIN, LastTry::NotConfirmed).unwrap_err();
    assert_eq!(err, TokenError::LastTryNotConfirmed);
    assert!(reader.pin_status().expect("status").is_last_try());
    sign_256(&reader, &hash, PIN, LastTry::Confirmed).expect("right PIN signs");
    assert_eq!(reader.pin_status().expect("status").tries_left, 3);
    // The card never saw a PIN in the clear in its trace, and neither did the error texts.
    assert!(!card.trace().contains("3132333435363738"));
    assert!(!card.trace().contains("3837363534333231"));
}

#[test]
fn the_pin_counter_survives_a_reinsertion() {
    let card = VirtualCard::start("entrepreneur");
    let err = sign_256(
        &card.signing_reader(),
        &[0; 32],
        "11111111",
        LastTry::NotConfirmed,
    );
    assert_eq!(err.unwrap_err(), TokenError::PinIncorrect { tries_left: 2 });
    let state = card.state.clone();
    let lease = card.remove();
    let card = VirtualCard::insert(lease, "entrepreneur", &state, &[]);
    assert_eq!(
        card.signing_reader()
            .pin_status()
            .expect("status")
            .tries_left,
        2
    );
}

#[test]
fn a_blocked_pin_is_reported_and_never_sent_a_verify() {
    let card = VirtualCard::start("blocked-pin");
    let reader = card.signing_reader();
    let status = reader.pin_status().expect("status");
    assert!(status.is_blocked());
    // Even with consent to a last try: a blocked PIN has none.
    let err = sign_256(&reader, &[1; 32], PIN, LastTry::Confirmed).unwrap_err();
    assert_eq!(err, TokenError::PinBlocked);
    let trace = card.trace();
    assert!(
        trace.contains("00CA010300"),
        "the counter was read: {trace}"
    );
    assert!(
        !trace.lines().any(|l| l.starts_with("vpcd → 0020")),
        "a VERIFY reached the card:\n{trace}"
    );
}

#[test]
fn a_card_pulled_mid_read_gives_card_removed() {
    // SELECT, three GET DATA, then the card goes while the key directory is being selected.
    let mut card = VirtualCard::start_with("entrepreneur", &["--vanish-after", "4"]);
    let err = card.signing_reader().read().unwrap_err();
    assert_eq!(err, TokenError::Card(CardError::Removed), "{err}");
    assert!(card.wait_exit(Duration::from_secs(5)));
}

#[test]
fn a_card_pulled_mid_signature_gives_card_removed_and_nothing_else() {
    // SELECT, GET DATA (PIN status), VERIFY, MSE: the card goes on the PSO.
    let card = VirtualCard::start_with("legal-entity", &["--vanish-after", "4"]);
    let err = card
        .signing_reader()
        .sign(
            1,
            KeyAlgorithm::Gost2012_512,
            vec![3; 64],
            pin(PIN),
            LastTry::NotConfirmed,
        )
        .unwrap_err();
    assert_eq!(err, TokenError::Card(CardError::Removed), "{err}");
}

#[test]
fn a_card_that_answers_too_slowly_is_reported_within_the_deadline() {
    let card = VirtualCard::start_with("entrepreneur", &["--delay-ms", "3000"]);
    let reader = Reader::new(card.reader()).with_deadline(Duration::from_millis(800));
    let started = Instant::now();
    let err = reader.pin_status().unwrap_err();
    assert_eq!(err, TokenError::Card(CardError::NotResponding));
    assert!(
        started.elapsed() < Duration::from_millis(2500),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn a_card_that_answers_garbage_gives_a_clear_error() {
    let card = VirtualCard::start_with("entrepreneur", &["--garble-after", "1"]);
    let err = card.signing_reader().read().unwrap_err();
    assert!(
        matches!(err, TokenError::Card(CardError::MalformedResponse(_))),
        "{err:?}"
    );
}

#[test]
fn the_monitor_reports_insertion_and_removal() {
    let lease = ReaderLease::acquire();
    let reader = lease.name;
    let (tx, rx) = mpsc::channel();
    let mut monitor = Monitor::new().expect("monitor");
    let handle = monitor.handle();
    let thread = std::thread::spawn(move || {
        monitor
            .run(|event| tx.send(event).is_ok())
            .expect("monitor runs");
    });
    let next_for_me = |what: &str| loop {
        match rx.recv_timeout(Duration::from_secs(5)) {
            Ok(event @ (ReaderEvent::CardInserted { .. } | ReaderEvent::CardRemoved { .. })) => {
                let r = match &event {
                    ReaderEvent::CardInserted { reader, .. }
                    | ReaderEvent::CardRemoved { reader } => reader.clone(),
                    _ => unreachable!(),
                };
                if r == reader {
                    return event;
                }
            }
            Ok(_) => {}
            Err(_) => panic!("no {what} event within 5 s"),
        }
    };
    let state = tempfile::tempdir_in(scratch()).expect("state");
    let card = VirtualCard::insert(lease, "uec", state.path(), &[]);
    match next_for_me("insertion") {
        ReaderEvent::CardInserted { atr, .. } => {
            let atr = hex::decode(atr).expect("hex");
            assert_eq!(signing::drivers::registry::kind_of(&atr), CardKind::Uec);
        }
        other => panic!("expected insertion, got {other:?}"),
    }
    let started = Instant::now();
    let _lease = card.remove();
    assert!(matches!(
        next_for_me("removal"),
        ReaderEvent::CardRemoved { .. }
    ));
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "removal took {:?}",
        started.elapsed()
    );
    handle.stop();
    thread.join().expect("monitor thread");
}

#[test]
fn readers_watch_prints_json_events() {
    let lease = ReaderLease::acquire();
    let reader = lease.name;
    let mut watch = std::process::Command::new(bin("podpis"))
        .args(["readers", "--watch", "--json"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("watch");
    let stdout = watch.stdout.take().expect("stdout");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    // The watch starts by listing the readers that are there.
    let first = rx
        .recv_timeout(Duration::from_secs(5))
        .expect("first event");
    assert!(first.contains("reader-added"), "{first}");
    let state = tempfile::tempdir_in(scratch()).expect("state");
    let card = VirtualCard::insert(lease, "entrepreneur", state.path(), &[]);
    let inserted = loop {
        let line = rx
            .recv_timeout(Duration::from_secs(5))
            .expect("insert event");
        let v: serde_json::Value = serde_json::from_str(&line).expect("json line");
        if v["event"] == "card-inserted" && v["reader"] == reader {
            break v;
        }
    };
    assert_eq!(inserted["kind"], "gost-token");
    drop(card);
    loop {
        let line = rx
            .recv_timeout(Duration::from_secs(5))
            .expect("removal event");
        let v: serde_json::Value = serde_json::from_str(&line).expect("json line");
        if v["event"] == "card-removed" && v["reader"] == reader {
            break;
        }
    }
    let _ = watch.kill();
    let _ = watch.wait();
}

#[test]
fn streebog_agrees_with_openssl_dgst() {
    let dir = tempfile::tempdir_in(scratch()).expect("tmp");
    let file = dir.path().join("m.txt");
    std::fs::write(&file, "Подпись: проверка хэша").expect("write");
    for (flag, ours) in [
        (
            "-md_gost12_256",
            hex::encode(Streebog256::digest("Подпись: проверка хэша".as_bytes())),
        ),
        (
            "-md_gost12_512",
            hex::encode(Streebog512::digest("Подпись: проверка хэша".as_bytes())),
        ),
    ] {
        let out = std::process::Command::new("openssl")
            .env("OPENSSL_CONF", gost_conf())
            .args(["dgst", flag, "-r"])
            .arg(&file)
            .output()
            .expect("openssl dgst");
        let text = String::from_utf8_lossy(&out.stdout);
        assert_eq!(
            text.split_whitespace().next(),
            Some(ours.as_str()),
            "{flag}"
        );
    }
}

#[test]
fn a_second_read_takes_the_certificate_from_the_cache_not_from_the_card() {
    let card = VirtualCard::start("entrepreneur");
    let data = tempfile::tempdir_in(scratch()).expect("data");
    let data_dir = data.path().to_str().expect("utf-8");
    let certs = || {
        let (code, out, err) = podpis(&[
            "--data-dir",
            data_dir,
            "certs",
            "--reader",
            card.reader(),
            "--json",
        ]);
        assert_eq!(code, 0, "{err}");
        out
    };
    // SELECT EF.CERT of key 1, as docs/cards.md writes it.
    let certificate_reads = || card.trace().matches("vpcd → 00A4020402C001").count();
    let first = certs();
    assert!(first.contains("54771278218"), "{first}");
    assert_eq!(certificate_reads(), 1);
    let second = certs();
    assert_eq!(second, first, "the cached certificate is the card's");
    assert_eq!(
        certificate_reads(),
        1,
        "the second read selected the certificate file again"
    );
    // A damaged cache file does not match the card's digest: it is passed over, and the card
    // is read again.
    let cached: Vec<_> = std::fs::read_dir(data.path().join("cache/certificates"))
        .expect("cache")
        .flatten()
        .collect();
    assert_eq!(cached.len(), 1);
    std::fs::write(cached[0].path(), b"not the certificate").expect("damage");
    assert_eq!(certs(), first);
    assert_eq!(certificate_reads(), 2);
}
