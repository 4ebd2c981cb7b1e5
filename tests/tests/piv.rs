//! The virtual PIV card (docs/cards.md, "PIV") read by OpenSC, the third-party middleware that is
//! tested against real PIV cards: `opensc-tool`, `pkcs15-tool` and `pkcs11-tool` over
//! `opensc-pkcs11.so`, through real pcscd. That OpenSC's own PIV driver recognises the card, finds
//! its certificate and key, logs in and signs is how we know the emulation is faithful; the
//! signatures are checked by OpenSSL against the certificate the test PKI issued.

use std::ffi::CString;
use std::path::{Path, PathBuf};
use std::process::Command;

use openssl::x509::X509;
use podpis_tests::*;
use tempfile::TempDir;

const MODULE: &str = "/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so";
/// The PKCS#15 / PKCS#11 id OpenSC gives the digital signature key (9C) and its certificate.
const KEY_ID: &str = "02";
const GUID: &str = "50440000000040008000000000000008";

/// OpenSC with its file cache off, so that every run sees the card as it is now and not as an
/// earlier card of the same serial was: its configuration and cache directory for one test.
struct OpenSc {
    dir: TempDir,
}

impl OpenSc {
    fn new() -> Self {
        let dir = tempfile::tempdir_in(scratch()).expect("opensc dir");
        std::fs::write(
            dir.path().join("opensc.conf"),
            "app default {\n\tframework pkcs15 {\n\t\tuse_file_caching = false;\n\t}\n}\n",
        )
        .expect("opensc.conf");
        Self { dir }
    }

    /// Runs an OpenSC tool; returns (success, stdout, stderr).
    fn run(&self, tool: &str, args: &[&str]) -> (bool, String, String) {
        let out = Command::new(tool)
            .env("OPENSC_CONF", self.dir.path().join("opensc.conf"))
            .env("XDG_CACHE_HOME", self.dir.path().join("cache"))
            .args(args)
            .output()
            .unwrap_or_else(|e| panic!("{tool} (OpenSC, installed by `make setup`): {e}"));
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    /// `pkcs11-tool` on the slot of `reader`, with `args`.
    fn pkcs11(&self, reader: &str, args: &[&str]) -> (bool, String, String) {
        let mut all = vec!["--module", MODULE, "--slot-description", reader];
        all.extend_from_slice(args);
        self.run("pkcs11-tool", &all)
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

/// The block of `pkcs15-tool -D` that starts with `heading`, up to the next blank line.
fn block<'a>(dump: &'a str, heading: &str) -> &'a str {
    let start = dump
        .find(heading)
        .unwrap_or_else(|| panic!("no {heading:?} in:\n{dump}"));
    let rest = &dump[start..];
    &rest[..rest.find("\n\n").unwrap_or(rest.len())]
}

/// A name as `pkcs11-tool` prints a subject: bytes outside ASCII as `\xHH`.
fn escaped(name: &str) -> String {
    name.bytes()
        .map(|b| {
            if b.is_ascii() {
                char::from(b).to_string()
            } else {
                format!("\\x{b:02X}")
            }
        })
        .collect()
}

/// The PIN try counter the card keeps in its state directory.
fn tries_left(state: &Path) -> u64 {
    let text = std::fs::read_to_string(state.join("card.json")).expect("card.json");
    let json: serde_json::Value = serde_json::from_str(&text).expect("json");
    json["pin_tries_left"].as_u64().expect("pin_tries_left")
}

fn common_name() -> String {
    let person = &profile("piv").person;
    format!("{} {}", person.surname, person.given_names)
}

#[test]
fn opensc_recognises_the_virtual_card_as_piv() {
    // OpenSC talks to every card it sees: this one is alone on the readers.
    let alone = Alone::start("piv");
    let card = &alone.card;
    let opensc = OpenSc::new();
    let (ok, out, err) = opensc.run(
        "opensc-tool",
        &["--reader", card.reader(), "--atr", "--name"],
    );
    assert!(ok, "{out}{err}");
    assert!(
        out.contains("3b:8f:80:01:80:f9:a0:00:00:03:08:00:00:10:00:73:00:00:00:bf"),
        "{out}"
    );
    // The name of OpenSC's PIV-II driver: no other driver took the card.
    assert!(out.contains("Personal Identity Verification Card"), "{out}");
    // OpenSC found the application by reading the Discovery Object, without a SELECT.
    let trace = card.trace();
    assert!(trace.contains("vpcd → 00CB3FFF035C017E"), "{trace}");
    assert!(
        !trace.contains("vpcd → 00A4040009A00000030800001000"),
        "{trace}"
    );
}

#[test]
fn pkcs15_tool_lists_the_certificate_and_the_key() {
    // OpenSC talks to every card it sees: this one is alone on the readers.
    let alone = Alone::start("piv");
    let card = &alone.card;
    let opensc = OpenSc::new();
    let (ok, dump, err) = opensc.run("pkcs15-tool", &["--reader", card.reader(), "-D"]);
    assert!(ok, "{dump}{err}");
    // The token is named after the certificate's subject and numbered by the CHUID's GUID.
    assert!(
        dump.contains(&format!("PKCS#15 Card [{}]", common_name())),
        "{dump}"
    );
    assert!(dump.contains(&format!("Serial number  : {GUID}")), "{dump}");
    let key = block(&dump, "Private EC Key [SIGN key]");
    for line in [
        "Usage          : [0x204], sign, nonRepudiation",
        "FieldLength    : 256",
        "Key ref        : 156 (0x9C)",
        "Auth ID        : 01",
        "ID             : 02",
    ] {
        assert!(key.contains(line), "{line:?} not in:\n{key}");
    }
    let certificate = block(
        &dump,
        "X.509 Certificate [Certificate for Digital Signature]",
    );
    assert!(certificate.contains("ID             : 02"), "{certificate}");
    let pin = block(&dump, "PIN [PIN]");
    assert!(pin.contains("Reference      : 128 (0x80)"), "{pin}");
    assert!(pin.contains("Pad char       : 0xFF"), "{pin}");

    // The certificate OpenSC reads is the one the test PKI issued, byte for byte.
    let (ok, pem, err) = opensc.run(
        "pkcs15-tool",
        &["--reader", card.reader(), "--read-certificate", KEY_ID],
    );
    assert!(ok, "{pem}{err}");
    let read = X509::from_pem(pem.as_bytes()).expect("PEM certificate");
    assert_eq!(read.to_der().expect("der"), card.certificate());
    let cn = read
        .subject_name()
        .entries_by_nid(openssl::nid::Nid::COMMONNAME)
        .next()
        .expect("CN")
        .data()
        .to_string()
        .expect("utf8");
    assert_eq!(cn, common_name());
}

#[test]
fn pkcs11_tool_lists_the_certificate_and_the_private_key() {
    // OpenSC talks to every card it sees: this one is alone on the readers.
    let alone = Alone::start("piv");
    let card = &alone.card;
    let opensc = OpenSc::new();
    let (ok, slots, err) = opensc.pkcs11(card.reader(), &["-L"]);
    assert!(ok, "{slots}{err}");
    // PKCS#11's serial number field holds the last 16 hex digits of the GUID.
    assert!(
        slots.contains(&format!("serial num         : {}", &GUID[16..])),
        "{slots}"
    );
    assert!(slots.contains("token manufacturer : piv_II"), "{slots}");

    let (ok, objects, err) = opensc.pkcs11(card.reader(), &["--login", "--pin", PIN, "-O"]);
    assert!(ok, "{objects}{err}");
    let private = block(&objects, "Private Key Object; EC");
    for line in [
        "label:      SIGN key",
        "ID:         02",
        "Usage:      sign, non-repudiation",
        "always authenticate",
    ] {
        assert!(private.contains(line), "{line:?} not in:\n{private}");
    }
    let certificate = block(&objects, "Certificate Object; type = X.509 cert");
    let person = &profile("piv").person;
    for line in [
        "label:      Certificate for Digital Signature".to_owned(),
        "ID:         02".to_owned(),
        format!("CN={}", escaped(&common_name())),
        format!("SNILS={}", person.snils),
        format!("INN={}", person.inn),
    ] {
        assert!(
            certificate.contains(&line),
            "{line:?} not in:\n{certificate}"
        );
    }
    // The key's public half, from the certificate: the P-256 curve.
    let public = block(&objects, "Public Key Object; EC  EC_POINT 256 bits");
    assert!(
        public.contains("EC_PARAMS:  06082a8648ce3d030107"),
        "{public}"
    );
}

#[test]
fn pkcs11_tool_signs_a_digest_and_openssl_verifies_it_with_the_certificate() {
    // OpenSC talks to every card it sees: this one is alone on the readers.
    let alone = Alone::start("piv");
    let card = &alone.card;
    let opensc = OpenSc::new();
    let digest = openssl::sha::sha256(b"a document signed on the PIV card");
    let input = opensc.path("digest.bin");
    let output = opensc.path("signature.der");
    std::fs::write(&input, digest).expect("digest");
    let (ok, out, err) = opensc.pkcs11(
        card.reader(),
        &[
            "--login",
            "--pin",
            PIN,
            "--sign",
            "--mechanism",
            "ECDSA",
            "--id",
            KEY_ID,
            "--signature-format",
            "openssl",
            "--input-file",
            &input.to_string_lossy(),
            "--output-file",
            &output.to_string_lossy(),
        ],
    );
    assert!(ok, "{out}{err}");
    let signature = std::fs::read(&output).expect("signature");
    assert_eq!(signature[0], 0x30, "a DER Ecdsa-Sig-Value");
    assert_openssl_verifies(
        "pkcs11-tool --sign",
        &card.certificate(),
        &digest,
        &signature,
    );

    // PIN Always, as OpenSC honours it: the signature came right after its own VERIFY.
    let trace = card.trace();
    let commands: Vec<&str> = trace
        .lines()
        .filter_map(|l| l.strip_prefix("vpcd → "))
        .collect();
    let sign = commands
        .iter()
        .position(|c| c.starts_with("0087119C"))
        .unwrap_or_else(|| panic!("no GENERAL AUTHENTICATE in:\n{trace}"));
    assert_eq!(commands[sign - 1], "00200080 **", "{trace}");
    assert!(
        commands[sign].contains(&hex::encode_upper(digest)),
        "the card signs the digest as given"
    );
    assert_eq!(tries_left(&card.state), 3);
}

#[test]
fn a_wrong_pin_through_pkcs11_tool_is_refused_and_costs_one_try() {
    // OpenSC talks to every card it sees: this one is alone on the readers.
    let alone = Alone::start("piv");
    let card = &alone.card;
    let opensc = OpenSc::new();
    assert_eq!(tries_left(&card.state), 3);
    let (ok, out, err) = opensc.pkcs11(card.reader(), &["--login", "--pin", "87654321", "-O"]);
    assert!(!ok, "a wrong PIN was accepted:\n{out}");
    assert!(err.contains("CKR_PIN_INCORRECT"), "{err}");
    assert_eq!(tries_left(&card.state), 2);
    assert!(card.trace().contains("vpcd ← 63C2"), "{}", card.trace());
    // The right PIN restores the tries.
    let (ok, out, err) = opensc.pkcs11(card.reader(), &["--login", "--pin", PIN, "-O"]);
    assert!(ok, "{out}{err}");
    assert_eq!(tries_left(&card.state), 3);
}

/// Sends hex through pcscd, as card_profile.rs does: (data, SW) in hex.
fn transmit(card: &pcsc::Card, apdu: &str) -> (String, String) {
    let apdu = hex::decode(apdu.replace(' ', "")).expect("hex");
    let mut buf = vec![0u8; pcsc::MAX_BUFFER_SIZE_EXTENDED];
    let r = card.transmit(&apdu, &mut buf).expect("transmit");
    let (data, sw) = r.split_at(r.len() - 2);
    (hex::encode_upper(data), hex::encode_upper(sw))
}

#[test]
fn the_documented_exchange_signs_through_pcscd() {
    // docs/cards.md, PIV, "Reading and signing, as a driver does it".
    let card = VirtualCard::start("piv");
    let ctx = pcsc::Context::establish(pcsc::Scope::User).expect("context");
    let name = CString::new(card.reader()).expect("name");
    let raw = ctx
        .connect(&name, pcsc::ShareMode::Shared, pcsc::Protocols::ANY)
        .expect("connect");
    let (template, sw) = transmit(&raw, "00 A4 04 00 09 A0 00 00 03 08 00 00 10 00 00");
    assert_eq!(sw, "9000");
    assert!(
        template.starts_with("612C4F060000100001007907"),
        "{template}"
    );
    assert_eq!(transmit(&raw, "00 20 00 80").1, "63C3");
    let digest = openssl::sha::sha256(b"the documented exchange");
    let sign = format!(
        "00 87 11 9C 26 7C 24 82 00 81 20 {} 00",
        hex::encode(digest)
    );
    assert_eq!(transmit(&raw, &sign).1, "6982", "PIN Always");
    assert_eq!(
        transmit(&raw, "00 20 00 80 08 31 32 33 34 35 36 37 38").1,
        "9000"
    );
    let (answer, sw) = transmit(&raw, &sign);
    assert_eq!(sw, "9000");
    let answer = hex::decode(answer).expect("hex");
    // 7C L 82 L Ecdsa-Sig-Value, all lengths short.
    assert_eq!((answer[0], answer[2]), (0x7C, 0x82));
    assert_eq!(usize::from(answer[1]), answer.len() - 2);
    assert_eq!(usize::from(answer[3]), answer.len() - 4);
    assert_openssl_verifies(
        "GENERAL AUTHENTICATE",
        &card.certificate(),
        &digest,
        &answer[4..],
    );
    // The certificate through GET DATA, in parts through GET RESPONSE, as pcscd passes them.
    let (mut object, mut sw) = transmit(&raw, "00 CB 3F FF 05 5C 03 5F C1 0A 00");
    for _ in 0..16 {
        let Some(left) = sw.strip_prefix("61") else {
            break;
        };
        let (more, next) = transmit(&raw, &format!("00 C0 00 00 {left}"));
        object.push_str(&more);
        sw = next;
    }
    assert_eq!(sw, "9000");
    let der = card.certificate();
    assert!(
        object.contains(&hex::encode_upper(&der)),
        "the 70 element carries the certificate"
    );
    assert!(object.ends_with("710100FE00"), "{object}");
}
