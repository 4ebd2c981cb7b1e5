//! The PKCS#11 tier through the real `podpis` and third-party middleware, as a user with a
//! vendor's token has it: SoftHSM2 holding an ECDSA key, OpenSC's own `opensc-pkcs11.so` reading
//! the virtual PIV card through pcscd, the GOST test module of tests/pkcs11-test-module holding a
//! virtual card's GOST key (no vendor module or hardware was available here), and a module that
//! aborts in `C_Initialize`. Signatures are checked by OpenSSL.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use podpis_tests::portal::Portal;
use podpis_tests::tokens::softhsm::{self, SOFTHSM, SPY, USER_PIN};
use podpis_tests::tokens::{built_module, gost_token, softhsm_with_profile_key};
use podpis_tests::user::User;
use podpis_tests::*;
use serde_json::Value;

const OPENSC: &str = "/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so";

/// `podpis` with `envs` on its process (and so on its module probes), discovery off.
fn podpis_env(args: &[&str], stdin: &str, envs: &[(&str, &Path)]) -> (i32, String, String) {
    let mut cmd = Command::new(bin("podpis"));
    cmd.env("PODPIS_PKCS11_DISCOVERY", "0")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (key, value) in envs {
        cmd.env(key, value);
    }
    let mut child = cmd.spawn().expect("podpis");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_bytes())
        .expect("stdin");
    let out = child.wait_with_output().expect("output");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `openssl cms -verify -cades` with the GOST engine against the test root (whose issuing CA,
/// a GOST one, signed every certificate here).
fn cms_verifies(p7s: &Path) -> (bool, String) {
    let chain = chain_file();
    let (p7s, chain) = (p7s.to_string_lossy(), chain.to_string_lossy());
    let args = [
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
    ];
    let (ok, _, err) = openssl_output(&args);
    (ok, err)
}

struct Signed {
    code: i32,
    stdout: String,
    stderr: String,
    p7s: PathBuf,
}

fn sign(dir: &Path, args: &[&str], pin: &str, envs: &[(&str, &Path)]) -> Signed {
    let doc = dir.join("invoice.txt");
    fs::write(&doc, "Счёт № 17 от 30.11.2026\n").expect("doc");
    let p7s = dir.join("invoice.txt.p7s");
    let _ = fs::remove_file(&p7s);
    let (doc_s, p7s_s) = (doc.to_string_lossy(), p7s.to_string_lossy());
    let mut all = vec![
        "sign",
        "--json",
        "--pin-stdin",
        "--in",
        &doc_s,
        "--out",
        &p7s_s,
    ];
    all.extend_from_slice(args);
    let (code, stdout, stderr) = podpis_env(&all, &format!("{pin}\n"), envs);
    Signed {
        code,
        stdout,
        stderr,
        p7s,
    }
}

#[test]
fn softhsm_lists_signs_refuses_a_wrong_pin_once_and_changes_the_pin() {
    let dir = tempfile::tempdir_in(scratch()).expect("tmp");
    let hsm = softhsm_with_profile_key(dir.path());
    let conf = hsm.conf();
    let envs: [(&str, &Path); 1] = [("SOFTHSM2_CONF", &conf)];

    // Listed with its tier, module, slot and serial, the key by its CKA_ID.
    // Named by its label: the cards in the readers are other tests'.
    let (code, out, err) = podpis_env(
        &[
            "certs",
            "--json",
            "--pkcs11-module",
            SOFTHSM,
            "--reader",
            softhsm::LABEL,
        ],
        "",
        &envs,
    );
    assert_eq!(code, 0, "{out}\n{err}");
    let certs: Value = serde_json::from_str(&out).expect("json");
    let cert = &certs.as_array().expect("array")[0];
    assert_eq!(cert["tier"], "pkcs11", "{out}");
    assert_eq!(cert["module"], SOFTHSM);
    assert!(cert["slot"].is_u64());
    assert!(!cert["token_serial"].as_str().unwrap_or("").is_empty());
    assert_eq!(cert["key_id"], "01");
    assert_eq!(cert["reader"], softhsm::LABEL);
    let person = &profile("piv").person;
    assert_eq!(cert["snils"], person.snils.as_str());
    assert_eq!(cert["algorithm"], "ecdsa");

    // A CAdES-BES that OpenSSL accepts.
    let module = ["--pkcs11-module", SOFTHSM, "--reader", softhsm::LABEL];
    let signed = sign(dir.path(), &module, USER_PIN, &envs);
    assert_eq!(signed.code, 0, "{}\n{}", signed.stdout, signed.stderr);
    let (ok, why) = cms_verifies(&signed.p7s);
    assert!(ok, "{why}");

    // A wrong PIN: reported with what the token says, and C_Login called exactly once (counted
    // by OpenSC's pkcs11-spy between podpis and SoftHSM).
    let spy_log = dir.path().join("spy.log");
    let spying: [(&str, &Path); 3] = [
        ("SOFTHSM2_CONF", &conf),
        ("PKCS11SPY", Path::new(SOFTHSM)),
        ("PKCS11SPY_OUTPUT", &spy_log),
    ];
    let spied = ["--pkcs11-module", SPY, "--reader", softhsm::LABEL];
    let wrong = sign(dir.path(), &spied, "000000", &spying);
    assert_eq!(wrong.code, 5, "{}\n{}", wrong.stdout, wrong.stderr);
    assert!(wrong.stdout.contains("pin-incorrect"), "{}", wrong.stdout);
    assert!(!wrong.p7s.exists(), "nothing is written after a wrong PIN");
    let log = fs::read_to_string(&spy_log).expect("spy log");
    assert_eq!(log.matches("C_Login").count(), 1, "the PIN was tried again");
    assert_eq!(log.matches("C_Sign").count(), 0);

    // The PIN changed, then the new one signs and the old one does not.
    let (code, out, err) = podpis_env(
        &[
            "pin",
            "change",
            "--json",
            "--pin-stdin",
            "--pkcs11-module",
            SOFTHSM,
            "--reader",
            softhsm::LABEL,
        ],
        &format!("{USER_PIN}\n654321\n654321\n"),
        &envs,
    );
    assert_eq!(code, 0, "{out}\n{err}");
    let signed = sign(dir.path(), &module, "654321", &envs);
    assert_eq!(signed.code, 0, "{}\n{}", signed.stdout, signed.stderr);
    assert!(cms_verifies(&signed.p7s).0);
    assert_eq!(sign(dir.path(), &module, USER_PIN, &envs).code, 5);
}

#[test]
fn openscs_own_module_signs_with_the_virtual_piv_card() {
    let alone = Alone::start("piv");
    let dir = tempfile::tempdir_in(scratch()).expect("tmp");
    let opensc_conf = dir.path().join("opensc.conf");
    fs::write(
        &opensc_conf,
        "app default {\n\tframework pkcs15 {\n\t\tuse_file_caching = false;\n\t}\n}\n",
    )
    .expect("opensc.conf");
    let cache = dir.path().join("cache");
    let envs: [(&str, &Path); 2] = [("OPENSC_CONF", &opensc_conf), ("XDG_CACHE_HOME", &cache)];
    let (code, out, err) = podpis_env(&["certs", "--json", "--pkcs11-module", OPENSC], "", &envs);
    assert_eq!(code, 0, "{out}\n{err}");
    let certs: Value = serde_json::from_str(&out).expect("json");
    let certs = certs.as_array().expect("array");
    let piv = certs
        .iter()
        .find(|c| c["tier"] == "pkcs11")
        .unwrap_or_else(|| panic!("no PKCS#11 certificate: {out}"));
    assert_eq!(piv["module"], OPENSC);
    assert_eq!(piv["snils"], profile("piv").person.snils.as_str());
    let sha = piv["sha256"].as_str().expect("sha256").to_owned();
    let signed = sign(
        dir.path(),
        &["--pkcs11-module", OPENSC, "--cert", &sha],
        PIN,
        &envs,
    );
    assert_eq!(signed.code, 0, "{}\n{}", signed.stdout, signed.stderr);
    let (ok, why) = cms_verifies(&signed.p7s);
    assert!(ok, "{why}");
    // The card saw the PIN (VERIFY) and the signature (GENERAL AUTHENTICATE).
    let trace = alone.card.trace();
    assert!(trace.contains("vpcd → 00200080"), "{trace}");
    assert!(trace.contains("vpcd → 0087119C"), "{trace}");
}

#[test]
fn the_account_is_confirmed_through_a_gost_pkcs11_module() {
    let dir = tempfile::tempdir_in(scratch()).expect("tmp");
    let token = gost_token("entrepreneur", "GOST token", false, dir.path());
    let module = built_module("pkcs11_test_module");
    let gost = gost_conf();
    let envs: [(&str, &Path); 2] = [("PODPIS_TEST_P11_DIR", &token), ("OPENSSL_CONF", &gost)];

    // A file first: a CAdES-BES with GOST R 34.10-2012 that OpenSSL accepts.
    let module_s = module.to_string_lossy().into_owned();
    let args = [
        "--pkcs11-module",
        module_s.as_str(),
        "--reader",
        "GOST token",
    ];
    let signed = sign(dir.path(), &args, PIN, &envs);
    assert_eq!(signed.code, 0, "{}\n{}", signed.stdout, signed.stderr);
    let (ok, why) = cms_verifies(&signed.p7s);
    assert!(ok, "{why}");

    // Then the whole confirmation: the portal verifies the request the module signed.
    let portal = Portal::start(&[]);
    let user = User::new(&portal);
    user.login("entrepreneur");
    let mut cmd = user.command(&[
        "confirm",
        "--json",
        "--pin-stdin",
        "--pkcs11-module",
        &module_s,
        "--reader",
        "GOST token",
    ]);
    for (key, value) in envs {
        cmd.env(key, value);
    }
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("confirm");
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
        Some(0),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(user.level(), "confirmed");
}

#[test]
fn a_module_that_aborts_is_reported_and_podpis_goes_on() {
    let module = built_module("pkcs11_abort_module");
    let data = tempfile::tempdir_in(scratch()).expect("data");
    let module_s = module.to_string_lossy().into_owned();
    let envs: [(&str, &Path); 1] = [("PODPIS_DATA_DIR", data.path())];
    for round in ["first", "recalled"] {
        let (code, out, err) = podpis_env(
            &[
                "diagnose",
                "--json",
                "--lang",
                "en",
                "--pkcs11-module",
                &module_s,
            ],
            "",
            &envs,
        );
        // diagnose fails (exit 1), it does not crash (a signal, or 101 for a panic).
        assert_eq!(code, 1, "{round}: {out}\n{err}");
        let checks: Value = serde_json::from_str(&out).expect("json");
        let check = checks
            .as_array()
            .expect("array")
            .iter()
            .find(|c| c["check"] == "pkcs11")
            .unwrap_or_else(|| panic!("{round}: no pkcs11 check: {out}"));
        assert_eq!(check["status"], "fail");
        let detail = check["detail"].as_str().unwrap_or_default();
        assert!(
            detail.contains(&module_s) && detail.contains("signal 6"),
            "{detail}"
        );
        assert!(
            check["hint"]
                .as_str()
                .unwrap_or_default()
                .contains("crashed"),
            "{check}"
        );
    }
}
