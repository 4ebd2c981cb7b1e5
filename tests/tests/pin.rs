//! `podpis pin change` and `podpis pin unblock` through real pcscd and the virtual card: what a
//! person with a token checks afterwards is that the new PIN signs and the old one does not.

use std::fs;

use podpis_tests::*;

const NEW_PIN: &str = "87654321";

/// Signs a small file with `pin`; returns the exit code and the JSON printed.
fn sign_with(card: &VirtualCard, pin: &str) -> (i32, String) {
    let dir = tempfile::tempdir_in(scratch()).expect("tmp");
    let doc = dir.path().join("doc.txt");
    fs::write(&doc, "x").expect("write");
    let out = dir.path().join("doc.p7s");
    let (code, stdout, _) = podpis_with_stdin(
        &[
            "sign",
            "--json",
            "--reader",
            card.reader(),
            "--pin-stdin",
            "--allow-last-try",
            "--in",
            &doc.to_string_lossy(),
            "--out",
            &out.to_string_lossy(),
        ],
        &format!("{pin}\n"),
    );
    (code, stdout)
}

fn pin(card: &VirtualCard, action: &str, lines: &str) -> (i32, String, String) {
    podpis_with_stdin(
        &[
            "pin",
            action,
            "--json",
            "--reader",
            card.reader(),
            "--pin-stdin",
        ],
        lines,
    )
}

#[test]
fn a_changed_pin_signs_and_the_old_one_no_longer_does() {
    let card = VirtualCard::start("entrepreneur");
    let (code, out, err) = pin(&card, "change", &format!("{PIN}\n{NEW_PIN}\n{NEW_PIN}\n"));
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("changed"), "{out}");
    assert!(!out.contains(NEW_PIN) && !err.contains(NEW_PIN) && !out.contains(PIN));
    assert!(
        !card.trace().contains(&hex::encode_upper(NEW_PIN)),
        "the new PIN is in the card trace"
    );
    assert_eq!(sign_with(&card, NEW_PIN).0, 0);
    let (code, out) = sign_with(&card, PIN);
    assert_eq!(code, 5, "{out}");
    assert!(out.contains("pin-incorrect"), "{out}");
}

#[test]
fn a_wrong_current_pin_spends_a_try_and_changes_nothing() {
    let card = VirtualCard::start("entrepreneur");
    let (code, out, _) = pin(
        &card,
        "change",
        &format!("11112222\n{NEW_PIN}\n{NEW_PIN}\n"),
    );
    assert_eq!(code, 5, "{out}");
    assert!(out.contains("pin-incorrect"), "{out}");
    assert!(out.contains('2'), "tries left: {out}");
    assert_eq!(sign_with(&card, PIN).0, 0, "the PIN is still the old one");
}

#[test]
fn a_mistyped_repetition_sends_nothing() {
    let card = VirtualCard::start("entrepreneur");
    let (code, out, _) = pin(&card, "change", &format!("{PIN}\n{NEW_PIN}\n{NEW_PIN}9\n"));
    assert_eq!(code, 5, "{out}");
    assert!(out.contains("pin-mismatch"), "{out}");
    assert!(
        !card.trace().contains("vpcd → 0024"),
        "a CHANGE REFERENCE DATA reached the card"
    );
}

#[test]
fn a_blocked_pin_is_unblocked_with_the_puk() {
    let card = VirtualCard::start("blocked-pin");
    let (code, out, _) = pin(&card, "change", &format!("{PIN}\n{NEW_PIN}\n{NEW_PIN}\n"));
    assert_eq!(code, 5, "{out}");
    assert!(out.contains("pin-blocked"), "{out}");
    // A wrong PUK costs one of its own tries and says how many are left.
    let (code, out, _) = pin(
        &card,
        "unblock",
        &format!("00000000\n{NEW_PIN}\n{NEW_PIN}\n"),
    );
    assert_eq!(code, 5, "{out}");
    assert!(out.contains("puk-incorrect") && out.contains('9'), "{out}");
    let (code, out, err) = pin(
        &card,
        "unblock",
        &format!("{}\n{NEW_PIN}\n{NEW_PIN}\n", testdata::PUK),
    );
    assert_eq!(code, 0, "{out}\n{err}");
    assert_eq!(sign_with(&card, NEW_PIN).0, 0);
}

#[test]
fn the_uec_says_its_pin_is_not_managed_here() {
    let card = VirtualCard::start("uec");
    let (code, out, _) = pin(&card, "change", &format!("{PIN}\n{NEW_PIN}\n{NEW_PIN}\n"));
    assert_eq!(code, 4, "{out}");
    assert!(out.contains("pin-change-unsupported"), "{out}");
}
