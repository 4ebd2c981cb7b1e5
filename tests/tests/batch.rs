//! `podpis sign` with several files (client::batch): one PIN for the batch, the card's VERIFY per
//! signature counted in the virtual card's trace and the PKCS#11 logins counted by OpenSC's
//! pkcs11-spy; a wrong PIN stops at the first file; a card pulled mid-batch leaves the signed
//! files' signatures whole and nothing half-written; an existing signature is never replaced
//! unasked. Every signature is checked by OpenSSL with the GOST engine in CAdES mode.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use podpis_tests::tokens::softhsm::{self, SOFTHSM, SPY, USER_PIN};
use podpis_tests::tokens::softhsm_with_profile_key;
use podpis_tests::*;
use serde_json::Value;

/// A fresh folder with `names`, each holding its own text; and a data directory beside it (no
/// certificate cache, nothing remembered).
fn folder(names: &[&str]) -> (tempfile::TempDir, PathBuf, PathBuf) {
    let dir = tempfile::tempdir_in(scratch()).expect("tmp");
    let docs = dir.path().join("docs");
    fs::create_dir(&docs).expect("docs");
    for name in names {
        fs::write(docs.join(name), format!("Документ {name}\n")).expect("doc");
    }
    let data = dir.path().join("data");
    (dir, docs, data)
}

fn sign_batch(
    card: &VirtualCard,
    data: &Path,
    inputs: &[&Path],
    extra: &[&str],
    pin: &str,
) -> (i32, Value, String) {
    let data_s = data.to_string_lossy().into_owned();
    let mut args: Vec<String> = [
        "sign",
        "--json",
        "--pin-stdin",
        "--reader",
        card.reader(),
        "--data-dir",
        &data_s,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    for input in inputs {
        args.push("--in".into());
        args.push(input.to_string_lossy().into_owned());
    }
    args.extend(extra.iter().map(|s| s.to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (code, out, err) = podpis_with_stdin(&args, &format!("{pin}\n"));
    let json: Value = serde_json::from_str(out.trim())
        .unwrap_or_else(|e| panic!("one JSON answer ({e}): {out}\n{err}"));
    (code, json, err)
}

/// OpenSSL's verdict on a signature, with the signed file for a detached one.
fn verifies(sig: &Path, content: Option<&Path>) -> (bool, String) {
    let chain = chain_file();
    let (sig, chain) = (sig.to_string_lossy(), chain.to_string_lossy());
    let mut args = vec![
        "cms",
        "-verify",
        "-cades",
        "-binary",
        "-inform",
        "DER",
        "-in",
        &sig,
        "-CAfile",
        &chain,
        "-out",
        "/dev/null",
    ];
    let content_s;
    if let Some(content) = content {
        content_s = content.to_string_lossy().into_owned();
        args.extend(["-content", &content_s]);
    }
    let (ok, _, err) = openssl_output(&args);
    (ok, err)
}

/// The APDUs with instruction byte `ins` the card received, from its trace.
fn commands(card: &VirtualCard, ins: &str) -> usize {
    card.trace()
        .lines()
        .filter(|l| l.strip_prefix("vpcd → ").and_then(|apdu| apdu.get(2..4)) == Some(ins))
        .count()
}

fn names_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .expect("dir")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn three_files_are_signed_with_one_pin_and_a_verify_each() {
    let card = VirtualCard::start("entrepreneur");
    let (_dir, docs, data) = folder(&["акт.txt", "договор.txt", "счёт.txt"]);
    // The folder as one --in: its three files, one PIN line on stdin for all of them.
    let (code, json, err) = sign_batch(&card, &data, &[&docs], &[], PIN);
    assert_eq!(code, 0, "{json}\n{err}");
    assert_eq!(json["signed"], 3, "{json}");
    assert_eq!(json["total"], 3);
    for name in ["акт.txt", "договор.txt", "счёт.txt"] {
        let sig = docs.join(format!("{name}.p7s"));
        let (ok, why) = verifies(&sig, None);
        assert!(ok, "{name}: {why}");
    }
    // The card forgets a VERIFY after each signature (docs/cards.md): three VERIFYs, three
    // signatures, all from the one PIN typed.
    assert_eq!(commands(&card, "20"), 3, "VERIFY count\n{}", card.trace());
    assert_eq!(commands(&card, "2A"), 3, "PSO count");
    assert!(!card.trace().contains(PIN), "the trace masks the PIN");

    // Detached, two files named one by one: FILE.sig beside each, verified with the file.
    let a = docs.join("акт.txt");
    let b = docs.join("счёт.txt");
    let (code, json, err) = sign_batch(&card, &data, &[&a, &b], &["--detached"], PIN);
    assert_eq!(code, 0, "{json}\n{err}");
    assert_eq!(json["detached"], true);
    for file in [&a, &b] {
        let sig = PathBuf::from(format!("{}.sig", file.display()));
        let (ok, why) = verifies(&sig, Some(file));
        assert!(ok, "{}: {why}", file.display());
    }
    assert_eq!(commands(&card, "20"), 5);
}

#[test]
fn a_wrong_pin_stops_the_batch_at_the_first_file_with_one_verify() {
    let card = VirtualCard::start("entrepreneur");
    let (_dir, docs, data) = folder(&["1.txt", "2.txt", "3.txt"]);
    let (code, json, err) = sign_batch(&card, &data, &[&docs], &["--lang", "en"], "11112222");
    assert_eq!(code, 5, "{json}\n{err}");
    assert_eq!(json["error"]["code"], "pin-incorrect", "{json}");
    assert_eq!(json["signed"], 0);
    let files = json["files"].as_array().expect("files");
    assert_eq!(files[0]["status"], "failed");
    assert_eq!(files[0]["code"], "pin-incorrect");
    assert!(
        files[0]["message"]
            .as_str()
            .unwrap_or("")
            .contains("Tries left: 2"),
        "{json}"
    );
    assert_eq!(files[1]["status"], "not-signed");
    assert_eq!(files[2]["status"], "not-signed");
    // One VERIFY, then nothing: no second try of the PIN on the next file.
    assert_eq!(commands(&card, "20"), 1, "{}", card.trace());
    assert_eq!(commands(&card, "2A"), 0);
    assert_eq!(
        names_in(&docs),
        ["1.txt", "2.txt", "3.txt"],
        "nothing written"
    );
    assert!(!json.to_string().contains("11112222"));
}

#[test]
fn a_card_pulled_mid_batch_leaves_the_signed_files_whole_and_reports_the_rest() {
    // The card reads in 8 APDUs (no cache in a fresh data directory) and signs in 5 (SELECT,
    // GET DATA of the counter, VERIFY, MSE SET, PSO): after 8 + 5 + 2 it goes away as the second
    // file's VERIFY arrives, as a card pulled in the middle of the batch.
    let mut card = VirtualCard::start_with("entrepreneur", &["--vanish-after", "15"]);
    let (_dir, docs, data) = folder(&["1.txt", "2.txt", "3.txt"]);
    let (code, json, err) = sign_batch(&card, &data, &[&docs], &[], PIN);
    assert_eq!(code, 10, "{json}\n{err}");
    assert_eq!(json["error"]["code"], "batch-partial", "{json}");
    assert_eq!(json["stopped"]["code"], "card-removed", "{json}");
    let files = json["files"].as_array().expect("files");
    let statuses: Vec<&str> = files
        .iter()
        .map(|f| f["status"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(statuses, ["signed", "failed", "not-signed"], "{json}");
    assert_eq!(files[1]["code"], "card-removed");
    // The first file's signature is whole; no signature, temporary or partial file of the others.
    let (ok, why) = verifies(&docs.join("1.txt.p7s"), None);
    assert!(ok, "{why}");
    assert_eq!(names_in(&docs), ["1.txt", "1.txt.p7s", "2.txt", "3.txt"]);
    assert!(card.wait_exit(std::time::Duration::from_secs(5)));
}

#[test]
fn an_existing_signature_is_never_replaced_unasked() {
    let card = VirtualCard::start("entrepreneur");
    let (_dir, docs, data) = folder(&["a.txt", "b.txt"]);
    let old = docs.join("a.txt.p7s");
    fs::write(&old, "an older signature").expect("old");
    // Refused before the PIN: no VERIFY, nothing written, the old file as it was.
    let (code, json, err) = sign_batch(
        &card,
        &data,
        &[&docs.join("a.txt"), &docs.join("b.txt")],
        &["--lang", "en"],
        PIN,
    );
    assert_eq!(code, 1, "{json}\n{err}");
    assert_eq!(json["error"]["code"], "file-exists", "{json}");
    let message = json["error"]["message"].as_str().unwrap_or("");
    assert!(
        message.contains("--overwrite") && message.contains("a.txt.p7s"),
        "{message}"
    );
    assert_eq!(commands(&card, "20"), 0);
    assert_eq!(fs::read_to_string(&old).expect("old"), "an older signature");
    assert!(!docs.join("b.txt.p7s").exists());
    // The same with --out naming the one file.
    let out = old.to_string_lossy().into_owned();
    let (code, json, _) = sign_batch(&card, &data, &[&docs.join("a.txt")], &["--out", &out], PIN);
    assert_eq!(
        (code, json["error"]["code"].as_str()),
        (1, Some("file-exists")),
        "{json}"
    );
    // Asked for with --overwrite: replaced, and a good signature.
    let (code, json, err) = sign_batch(
        &card,
        &data,
        &[&docs.join("a.txt"), &docs.join("b.txt")],
        &["--overwrite"],
        PIN,
    );
    assert_eq!(code, 0, "{json}\n{err}");
    let (ok, why) = verifies(&old, None);
    assert!(ok, "{why}");
    assert_eq!(commands(&card, "20"), 2);
}

/// `podpis` through pkcs11-spy over SoftHSM2 (discovery off), PIN on stdin.
fn podpis_spied(args: &[&str], pin: &str, conf: &Path, spy_log: &Path) -> (i32, String, String) {
    let mut child = Command::new(bin("podpis"))
        .env("PODPIS_PKCS11_DISCOVERY", "0")
        .env("SOFTHSM2_CONF", conf)
        .env("PKCS11SPY", SOFTHSM)
        .env("PKCS11SPY_OUTPUT", spy_log)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("podpis");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(format!("{pin}\n").as_bytes())
        .expect("pin");
    let out = child.wait_with_output().expect("output");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The calls named `function` exactly in a pkcs11-spy log (`C_Sign`, not `C_SignInit`).
fn calls(log: &str, function: &str) -> usize {
    log.lines()
        .filter(|l| l.split_whitespace().nth(1) == Some(function))
        .count()
}

#[test]
fn a_pkcs11_token_signs_a_batch_of_three_in_one_login() {
    let dir = tempfile::tempdir_in(scratch()).expect("tmp");
    let hsm = softhsm_with_profile_key(dir.path());
    let conf = hsm.conf();
    let docs = dir.path().join("docs");
    fs::create_dir(&docs).expect("docs");
    for name in ["1.txt", "2.txt", "3.txt"] {
        fs::write(docs.join(name), name).expect("doc");
    }
    let spy_log = dir.path().join("spy.log");
    let docs_s = docs.to_string_lossy().into_owned();
    let args = [
        "sign",
        "--json",
        "--pin-stdin",
        "--pkcs11-module",
        SPY,
        "--reader",
        softhsm::LABEL,
        "--in",
        &docs_s,
    ];
    let (code, out, err) = podpis_spied(&args, USER_PIN, &conf, &spy_log);
    assert_eq!(code, 0, "{out}\n{err}");
    let json: Value = serde_json::from_str(&out).expect("json");
    assert_eq!(json["signed"], 3, "{out}");
    assert_eq!(json["reauthenticated"], false);
    for name in ["1.txt", "2.txt", "3.txt"] {
        let (ok, why) = verifies(&docs.join(format!("{name}.p7s")), None);
        assert!(ok, "{name}: {why}");
    }
    let log = fs::read_to_string(&spy_log).expect("spy log");
    assert_eq!(calls(&log, "C_Login"), 1, "one login for the batch");
    // One signing operation per file (cryptoki calls C_Sign twice in each: for the length, then
    // for the signature).
    assert_eq!(calls(&log, "C_SignInit"), 3, "a signature per file");
    assert!(calls(&log, "C_Logout") >= 1, "logged out at the end");

    // A wrong PIN: one C_Login, no signature, nothing written.
    let _ = fs::remove_file(&spy_log);
    for name in ["1.txt", "2.txt", "3.txt"] {
        fs::remove_file(docs.join(format!("{name}.p7s"))).expect("rm");
    }
    let (code, out, err) = podpis_spied(&args, "000000", &conf, &spy_log);
    assert_eq!(code, 5, "{out}\n{err}");
    let log = fs::read_to_string(&spy_log).expect("spy log");
    assert_eq!(calls(&log, "C_Login"), 1);
    assert_eq!(calls(&log, "C_SignInit") + calls(&log, "C_Sign"), 0);
    assert_eq!(names_in(&docs), ["1.txt", "2.txt", "3.txt"]);
}
