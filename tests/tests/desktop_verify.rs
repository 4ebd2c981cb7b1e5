//! The app's Verify screen in a real window under Xvfb (tauri-driver + WebKitWebDriver): a
//! signature file chosen (through the debug-only PODPIS_TEST_VERIFY_FILES in place of the native
//! dialog, which WebDriver cannot answer) and the same report as `podpis verify`: a valid GOST
//! signature with its signer, qualified certificate and chain to the sandbox's root; a detached
//! one that cannot be checked without its document, then is invalid with another document. In
//! Russian and in English, with screenshots kept with the others.

use std::ffi::OsString;
use std::fs;
use std::time::Duration;

use client::messages::{self, Language};
use podpis_tests::desktop::App;
use podpis_tests::portal::Signer;
use podpis_tests::*;

const WAIT: Duration = Duration::from_secs(30);
const TEST_FILES: &str = "PODPIS_TEST_VERIFY_FILES";

fn files(paths: &[&std::path::Path]) -> OsString {
    std::env::join_paths(paths).expect("paths")
}

#[test]
fn a_valid_signature_shows_its_signer_chain_and_trusted_root_in_russian() {
    let dir = tempfile::tempdir_in(scratch()).expect("tmp");
    let signer = Signer::for_profile("entrepreneur");
    let p7s = dir.path().join("договор.p7s");
    fs::write(&p7s, signer.sign("Договор № 7".as_bytes())).expect("write");
    let app = App::start_with("ru", &[(TEST_FILES, files(&[&p7s]).as_os_str())]);
    app.click("#nav-verify");
    app.find("#verify-none");
    app.click("#verify-pick");
    app.find("#verify-verdict[data-verdict='valid']");
    let verdict = app.text("#verify-verdict");
    assert_eq!(
        verdict,
        messages::verify_verdict(verify::Verdict::Valid, Language::Russian)
    );
    let signer_text = app.text("#verify-signer-1");
    let snils = signer.info.snils.clone().expect("snils");
    assert!(signer_text.contains(&snils), "{signer_text}");
    assert!(
        signer_text.contains("Квалифицированный сертификат"),
        "{signer_text}"
    );
    assert!(signer_text.contains("доверенный корень"), "{signer_text}");
    assert!(signer_text.contains("не отозван"), "{signer_text}");
    let trusted = app.text("#verify-trusted");
    assert!(trusted.contains("тестовый УЦ песочницы"), "{trusted}");
    app.screenshot("ru-20-verify-valid");
}

#[test]
fn a_detached_signature_needs_its_document_and_another_document_is_invalid_in_english() {
    let dir = tempfile::tempdir_in(scratch()).expect("tmp");
    let document = dir.path().join("contract.txt");
    let other = dir.path().join("other.txt");
    fs::write(&document, "Contract 7").expect("write");
    fs::write(&other, "Contract 8").expect("write");
    let p7s = dir.path().join("contract.txt.sig");
    let signer = Signer::for_profile("legal-entity");
    let (ok, _, err) = openssl_output(&[
        "cms",
        "-sign",
        "-cades",
        "-binary",
        "-md",
        "md_gost12_512",
        "-outform",
        "DER",
        "-signer",
        &signer.cert_pem.to_string_lossy(),
        "-inkey",
        &signer.key.to_string_lossy(),
        "-in",
        &document.to_string_lossy(),
        "-out",
        &p7s.to_string_lossy(),
    ]);
    assert!(ok, "{err}");
    let app = App::start_with("en", &[(TEST_FILES, files(&[&p7s, &other]).as_os_str())]);
    app.click("#nav-verify");
    app.click("#verify-pick");
    app.find("#verify-verdict[data-verdict='could-not-check']");
    let reasons = app.text("#verify-reasons");
    assert!(
        reasons.contains(messages::verify_reason(
            verify::Reason::ContentMissing,
            Language::English
        )),
        "{reasons}"
    );
    app.screenshot("en-20-verify-detached-without-document");
    app.click("#verify-pick-document");
    app.find("#verify-verdict[data-verdict='invalid']");
    let signer_text = app.wait_text(
        "#verify-signer-1",
        messages::verify_reason(verify::Reason::ContentChanged, Language::English),
        WAIT,
    );
    assert!(signer_text.contains("gost2012-512"), "{signer_text}");
    let files = app.text("#verify-files");
    assert!(files.contains("other.txt"), "{files}");
    app.screenshot("en-21-verify-another-document");
}

/// A root the person added for verifying (the app's copy in its data directory, as the native
/// dialogs leave it; WebDriver cannot answer those) is listed and trusted: a signature under
/// another PKI is untrusted before, and its chain ends at the added root after.
#[test]
fn a_root_added_for_verifying_is_listed_and_ends_the_chain() {
    let pki = podpis_tests::portal::OwnPki::new();
    let signer = pki.signer("entrepreneur");
    let ca = fs::read(pki.ca_certificate()).expect("ca");
    let ca_der = openssl::x509::X509::from_pem(&ca)
        .and_then(|c| c.to_der())
        .expect("ca der");
    let dir = tempfile::tempdir_in(scratch()).expect("tmp");
    let p7s = dir.path().join("other-pki.p7s");
    fs::write(
        &p7s,
        signer.sign_with_certificates(b"other PKI", &[&ca_der]),
    )
    .expect("write");
    let app = App::start_with("en", &[(TEST_FILES, files(&[&p7s]).as_os_str())]);
    app.click("#nav-verify");
    app.find("#verify-roots-list[data-count='0']");
    app.click("#verify-pick");
    app.find("#verify-verdict[data-verdict='invalid']");
    let reasons = app.text("#verify-signer-1");
    assert!(
        reasons.contains(messages::verify_reason(
            verify::Reason::CertificateUntrusted,
            Language::English
        )),
        "{reasons}"
    );

    let kept = app.data.join("trust").join("verify-roots");
    fs::create_dir_all(&kept).expect("dir");
    fs::copy(pki.dir.join("root.pem"), kept.join("root.pem")).expect("copy");
    app.click("#nav-sign");
    app.click("#nav-verify");
    app.find("#verify-roots-list[data-count='1']");
    app.click("#verify-pick");
    // No CRL for this PKI's CAs: the chain is trusted, whether it is revoked cannot be said.
    app.find("#verify-verdict[data-verdict='could-not-check']");
    let signer_text = app.text("#verify-signer-1");
    assert!(signer_text.contains("added by you"), "{signer_text}");
    assert!(
        signer_text.contains(messages::verify_reason(
            verify::Reason::RevocationUnavailable,
            Language::English
        )),
        "{signer_text}"
    );
    app.screenshot("en-22-verify-root-added");
}
