//! Which card is this, and what is missing (issue 14), through the real stack: pcscd, vpcd and a
//! virtual card that answers to reset with a vendor token's ATR (`podpis-vcard --atr`).
//! `podpis diagnose --json` names the token from its ATR alone and says which PKCS#11 module is
//! missing and where to get it. What the card would answer to an APDU does not matter: Podpis
//! sends none to a card whose ATR no driver of its own knows.
//!
//! Each test holds both vpcd readers, so that `diagnose`, which reads every reader, meets no card
//! of another test meanwhile.

use client::known_tokens::{KnownTokens, ModuleSearch};
use client::messages::{describe, Language};
use podpis_tests::user::User;
use podpis_tests::*;
use serde_json::Value;

/// smartcard_list.txt, "Aktiv Rutoken ECP"; OpenSC card-rtecp.c, "Rutoken ECP".
const RUTOKEN_ECP: &str = "3B8B015275746F6B656E20454350A0";
/// smartcard_list.txt, "JaCarta (PKI)"; OpenSC pull request #3423, "JaCarta PKI".
const JACARTA: &str = "3BDC18FF8191FE1FC38073C821136601061159000128";
/// smartcard_list.txt, "Aktiv Rutoken Lite": a store of CSP key containers, no signing.
const RUTOKEN_LITE: &str = "3B8B015275746F6B656E6C697465C2";
/// smartcard_list.txt, "Yubico YubiKey 5 NFC (PKI)": a card only pcsc-tools' database knows.
const YUBIKEY: &str = "3BFD1300008131FE158073C021C057597562694B657940";

/// A virtual card of the entrepreneur's profile (fresh state) answering to reset with `atr`.
fn card_with_atr(lease: ReaderLease, atr: &str) -> VirtualCard {
    let state = tempfile::Builder::new()
        .prefix("card-known-token-")
        .tempdir_in(scratch())
        .expect("state dir")
        .keep();
    VirtualCard::insert(lease, "entrepreneur", &state, &["--atr", atr])
}

/// `podpis diagnose --json` (Russian, the default), with no portal to reach.
fn diagnose() -> (i32, Vec<Value>) {
    let user = User::for_url("http://127.0.0.1:9");
    let (code, out, err) = user.run(&["diagnose", "--json"], "");
    let checks: Vec<Value> =
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out} {err}"));
    (code, checks)
}

fn named<'a>(checks: &'a [Value], name: &str) -> Vec<&'a Value> {
    checks.iter().filter(|c| c["check"] == name).collect()
}

fn text<'a>(check: &'a Value, field: &str) -> &'a str {
    check[field].as_str().unwrap_or_default()
}

/// The token check of the card in `reader`.
fn token_in<'a>(checks: &'a [Value], reader: &str) -> &'a Value {
    named(checks, "token")
        .into_iter()
        .find(|c| text(c, "detail").starts_with(&format!("{reader}: ")))
        .unwrap_or_else(|| panic!("no token check for {reader}: {checks:#?}"))
}

fn atr(hex_text: &str) -> Vec<u8> {
    hex::decode(hex_text).expect("hex")
}

#[test]
fn diagnose_names_a_rutoken_ecp_and_a_jacarta_by_their_atrs_and_the_modules_they_miss() {
    // The premise: no vendor module is installed on this machine, as on a fresh user's.
    let table = KnownTokens::builtin();
    for card in [RUTOKEN_ECP, JACARTA] {
        let found = table.identify(&atr(card)).expect("in the table");
        let module = found.module.expect("a module");
        assert_eq!(
            ModuleSearch::system().locate(module),
            None,
            "{} is installed here: this test expects a machine without it",
            module.name
        );
    }

    let _queue = podpis_tests::two_reader_queue();
    let rutoken = card_with_atr(ReaderLease::acquire(), RUTOKEN_ECP);
    let jacarta = card_with_atr(ReaderLease::acquire(), JACARTA);
    let (code, checks) = diagnose();
    assert_eq!(code, 1, "a missing module is a failed check: {checks:#?}");

    let cards = named(&checks, "cards");
    assert_eq!(cards.len(), 1, "{checks:#?}");
    let listed = text(cards[0], "detail");
    assert!(
        listed.contains(&format!(
            "{}: Aktiv Rutoken ECP ({RUTOKEN_ECP})",
            rutoken.reader()
        )),
        "{listed}"
    );
    assert!(
        listed.contains(&format!(
            "{}: Aladdin R.D. JaCarta PKI ({JACARTA})",
            jacarta.reader()
        )),
        "{listed}"
    );
    // Both are recognised; what is wrong is said by each token's own check, not "unknown card".
    assert_eq!(cards[0]["status"], "warn");
    assert_eq!(text(cards[0], "hint"), "");

    let missing = describe("token-module-missing", Language::Russian);
    for (card, name, card_atr, library, download) in [
        (
            &rutoken,
            "Aktiv Rutoken ECP",
            RUTOKEN_ECP,
            "librtpkcs11ecp.so",
            "https://www.rutoken.ru/support/download/pkcs/",
        ),
        (
            &jacarta,
            "Aladdin R.D. JaCarta PKI",
            JACARTA,
            "libjcPKCS11-2.so",
            "https://www.aladdin-rd.ru/support/downloads/jacarta/",
        ),
    ] {
        let check = token_in(&checks, card.reader());
        assert_eq!(check["status"], "fail", "{check}");
        assert_eq!(
            text(check, "detail"),
            format!(
                "{}: {name}; ATR {card_atr}; {library}; {download}",
                card.reader()
            )
        );
        assert_eq!(text(check, "hint"), missing, "{check}");
    }
    // Podpis read no certificate from either: no driver of its own speaks to them.
    assert!(named(&checks, "certificate").is_empty(), "{checks:#?}");
}

#[test]
fn diagnose_names_other_cards_from_pcsc_tools_and_says_a_storage_token_cannot_sign() {
    assert!(
        client::known_tokens::installed_database().is_some(),
        "pcsc-tools' smartcard_list.txt is missing: run `make setup`"
    );
    let _queue = podpis_tests::two_reader_queue();
    let yubikey = card_with_atr(ReaderLease::acquire(), YUBIKEY);
    let lite = card_with_atr(ReaderLease::acquire(), RUTOKEN_LITE);
    let (_, checks) = diagnose();

    let cards = named(&checks, "cards");
    assert_eq!(cards.len(), 1, "{checks:#?}");
    let listed = text(cards[0], "detail");
    // Not in Podpis's table: named from the database instead of "unknown".
    assert!(
        listed.contains(&format!(
            "{}: Yubico YubiKey 5 NFC (PKI) ({YUBIKEY})",
            yubikey.reader()
        )),
        "{listed}"
    );
    assert!(
        listed.contains(&format!(
            "{}: Aktiv Rutoken Lite ({RUTOKEN_LITE})",
            lite.reader()
        )),
        "{listed}"
    );
    assert_eq!(
        text(cards[0], "hint"),
        describe("card-unknown", Language::Russian),
        "a card Podpis cannot use is not a token it knows"
    );

    // Only the Rutoken Lite has a token check: it keeps CSP containers, so no module helps.
    assert_eq!(named(&checks, "token").len(), 1, "{checks:#?}");
    let check = token_in(&checks, lite.reader());
    assert_eq!(check["status"], "warn", "{check}");
    assert_eq!(
        text(check, "detail"),
        format!("{}: Aktiv Rutoken Lite; ATR {RUTOKEN_LITE}", lite.reader())
    );
    assert_eq!(
        text(check, "hint"),
        describe("token-csp-containers", Language::Russian)
    );
}
