//! `podpis verify` as a person runs it: signatures made by `podpis sign` on a virtual card and by
//! OpenSSL (GOST 2012 256 and 512, GOST 2001, ECDSA, RSA), and the ways one goes wrong (a byte
//! flipped in the content or in the signature, an expired or revoked signer, an untrusted root,
//! a detached signature with another document, no revocation source, no GOST engine). Each is
//! checked for its exit code, its reason in JSON, and its words in Russian and in English.

use std::fs;
use std::path::{Path, PathBuf};

use client::messages::{self, Language};
use podpis_tests::portal::{OwnPki, Signer};
use podpis_tests::{ensure_pki, openssl_output, pki_dir, podpis, podpis_with_stdin, scratch};
use verify::Reason;

const VALID: i32 = 0;
const INVALID: i32 = 11;
const COULD_NOT_CHECK: i32 = 12;

fn dir() -> PathBuf {
    tempfile::Builder::new()
        .prefix("verify-")
        .tempdir_in(scratch())
        .expect("dir")
        .keep()
}

fn s(path: &Path) -> String {
    path.display().to_string()
}

/// Runs `podpis verify` with `args` in JSON and in both languages' text; checks the exit code,
/// the reasons of the first signer (or of the file) and that the words of each reason are said.
/// Returns the JSON report.
fn check(args: &[String], exit: i32, reasons: &[Reason]) -> serde_json::Value {
    let mut full = vec!["verify".to_owned()];
    full.extend(args.iter().cloned());
    let run = |extra: &[&str]| {
        let mut all: Vec<&str> = extra.to_vec();
        all.extend(full.iter().map(String::as_str));
        podpis(&all)
    };
    let (code, out, err) = run(&["--json"]);
    assert_eq!(code, exit, "{args:?}: {out}\n{err}");
    let report: serde_json::Value = serde_json::from_str(&out).expect("json");
    let found: Vec<&str> = report["reasons"]
        .as_array()
        .into_iter()
        .flatten()
        .chain(
            report["signers"]
                .as_array()
                .and_then(|s| s.first())
                .and_then(|s| s["reasons"].as_array())
                .into_iter()
                .flatten(),
        )
        .filter_map(|r| r.as_str())
        .collect();
    let expected: Vec<&str> = reasons.iter().map(|r| r.as_str()).collect();
    assert_eq!(found, expected, "{args:?}: {out}");
    let verdict = match exit {
        VALID => verify::Verdict::Valid,
        INVALID => verify::Verdict::Invalid,
        _ => verify::Verdict::CouldNotCheck,
    };
    for (language, flag) in [(Language::Russian, "ru"), (Language::English, "en")] {
        let (code, out, err) = run(&["--lang", flag]);
        assert_eq!(code, exit, "{flag}: {out}\n{err}");
        assert!(
            out.starts_with(messages::verify_verdict(verdict, language)),
            "{flag}: {out}"
        );
        for reason in reasons {
            assert!(
                out.contains(messages::verify_reason(*reason, language)),
                "{flag}: the words of {} are not said:\n{out}",
                reason.as_str()
            );
        }
        // Which roots were trusted is always said.
        let heading = messages::verify_phrase(messages::VerifyPhrase::TrustedRoots, language);
        assert!(out.contains(&heading), "{flag}: {out}");
    }
    report
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    fs::write(&path, bytes).expect("write");
    path
}

/// The sandbox's PKI and CRLs, as sandbox mode trusts them.
fn sandbox() -> Vec<String> {
    ensure_pki();
    vec!["--sandbox".into(), s(&pki_dir())]
}

fn args(file: &Path, extra: &[String]) -> Vec<String> {
    let mut all = vec![s(file)];
    all.extend(extra.iter().cloned());
    all
}

#[test]
fn signatures_made_by_openssl_with_gost_keys_are_valid_and_show_their_signer() {
    let dir = dir();
    for (profile, algorithm) in [
        ("entrepreneur", "gost2012-256"),
        ("legal-entity", "gost2012-512"),
    ] {
        let signer = Signer::for_profile(profile);
        let p7s = write(&dir, &format!("{profile}.p7s"), &signer.sign(b"a document"));
        let report = check(&args(&p7s, &sandbox()), VALID, &[]);
        let first = &report["signers"][0];
        assert_eq!(first["certificate"]["algorithm"], algorithm);
        assert_eq!(
            first["certificate"]["snils"],
            signer.info.snils.as_deref().unwrap_or("")
        );
        assert_eq!(first["qualified"], true);
        assert_eq!(report["form"]["kind"], "cades-bes");
        // Signer, issuing CA, root: each below the root found not revoked on its CA's CRL.
        let chain = first["chain"].as_array().expect("chain");
        assert_eq!(chain.len(), 3, "{report}");
        assert_eq!(chain[0]["revocation"]["status"], "good");
        assert_eq!(chain[1]["revocation"]["status"], "good");
        assert_eq!(chain[2]["revocation"]["status"], "trust-anchor");
        assert_eq!(chain[2]["trusted_root"]["kind"], "sandbox");
        assert_eq!(report["trust"]["roots"][0]["source"]["kind"], "sandbox");
    }
}

#[test]
fn a_gost_2001_signature_is_checked_and_marked_deprecated() {
    let dir = dir();
    let signer = Signer::for_profile("uec");
    let p7s = write(&dir, "uec.p7s", &signer.sign(b"old"));
    let report = check(&args(&p7s, &sandbox()), VALID, &[]);
    let first = &report["signers"][0];
    assert_eq!(first["certificate"]["algorithm"], "gost2001");
    assert!(
        first["findings"]
            .as_array()
            .expect("findings")
            .contains(&serde_json::json!("algorithm-deprecated")),
        "{report}"
    );
    let (_, out, _) = podpis(&[
        "--lang",
        "en",
        "verify",
        &s(&p7s),
        "--sandbox",
        &s(&pki_dir()),
    ]);
    assert!(out.contains(messages::finding(
        signing::certificate::FindingCode::AlgorithmDeprecated,
        Language::English
    )));
}

#[test]
fn an_ecdsa_signature_by_openssl_is_valid() {
    let dir = dir();
    // The PIV profile's key is ECDSA P-256, its certificate from the test PKI.
    let signer = Signer::for_profile("piv");
    assert_eq!(signer.info.algorithm, "ecdsa");
    let p7s = write(&dir, "piv.p7s", &signer.sign(b"ecdsa"));
    check(&args(&p7s, &sandbox()), VALID, &[]);
}

/// An RSA root of its own with a CRL, made with the `openssl` command as a small CA would.
struct RsaPki {
    dir: PathBuf,
}

impl RsaPki {
    fn new() -> Self {
        Self::with_distribution_point(None)
    }

    /// With `url`, the signer's certificate names it as its CRL distribution point.
    fn with_distribution_point(url: Option<&str>) -> Self {
        let dir = dir();
        let run = |args: &[&str]| {
            let (ok, _, err) = openssl_output(args);
            assert!(ok, "openssl {args:?}: {err}");
        };
        let p = |name: &str| s(&dir.join(name));
        fs::write(dir.join("index.txt"), "").expect("index");
        fs::write(dir.join("crlnumber"), "01\n").expect("crlnumber");
        fs::write(
            dir.join("ca.cnf"),
            format!(
                "[ca]\ndefault_ca = own\n[own]\ndatabase = {}\ncrlnumber = {}\ndefault_md = sha256\ndefault_crl_days = 30\n\
                 [leaf]\nkeyUsage = critical, digitalSignature, nonRepudiation\nbasicConstraints = CA:FALSE\n{}",
                p("index.txt"),
                p("crlnumber"),
                url.map(|u| format!("crlDistributionPoints = URI:{u}\n"))
                    .unwrap_or_default()
            ),
        )
        .expect("cnf");
        run(&[
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:2048",
            "-out",
            &p("root.key"),
        ]);
        run(&[
            "req",
            "-x509",
            "-new",
            "-key",
            &p("root.key"),
            "-subj",
            "/CN=RSA test root",
            "-days",
            "30",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
            "-out",
            &p("root.pem"),
        ]);
        run(&[
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:2048",
            "-out",
            &p("leaf.key"),
        ]);
        run(&[
            "req",
            "-new",
            "-key",
            &p("leaf.key"),
            "-subj",
            "/CN=RSA signer",
            "-out",
            &p("leaf.csr"),
        ]);
        run(&[
            "x509",
            "-req",
            "-in",
            &p("leaf.csr"),
            "-CA",
            &p("root.pem"),
            "-CAkey",
            &p("root.key"),
            "-CAcreateserial",
            "-days",
            "30",
            "-extfile",
            &p("ca.cnf"),
            "-extensions",
            "leaf",
            "-out",
            &p("leaf.pem"),
        ]);
        run(&[
            "ca",
            "-gencrl",
            "-config",
            &p("ca.cnf"),
            "-keyfile",
            &p("root.key"),
            "-cert",
            &p("root.pem"),
            "-out",
            &p("crl.pem"),
        ]);
        Self { dir }
    }

    fn sign(&self, content: &Path, out: &Path) {
        let p = |name: &str| s(&self.dir.join(name));
        let (ok, _, err) = openssl_output(&[
            "cms",
            "-sign",
            "-binary",
            "-nodetach",
            "-md",
            "sha256",
            "-outform",
            "DER",
            "-signer",
            &p("leaf.pem"),
            "-inkey",
            &p("leaf.key"),
            "-in",
            &s(content),
            "-out",
            &s(out),
        ]);
        assert!(ok, "{err}");
    }
}

#[test]
fn an_rsa_signature_by_openssl_is_valid_with_its_root_and_crl_and_unjudged_without_the_crl() {
    let pki = RsaPki::new();
    let dir = dir();
    let doc = write(&dir, "doc.txt", b"rsa document");
    let p7s = dir.join("rsa.p7s");
    pki.sign(&doc, &p7s);
    let root = s(&pki.dir.join("root.pem"));
    let crl = s(&pki.dir.join("crl.pem"));
    let report = check(
        &args(&p7s, &["--trust".into(), root.clone(), "--crl".into(), crl]),
        VALID,
        &[],
    );
    assert_eq!(
        report["form"]["kind"], "cms",
        "no signingCertificate attribute"
    );
    assert_eq!(report["signers"][0]["certificate"]["algorithm"], "rsa");
    assert_eq!(report["signers"][0]["qualified"], false);
    assert_eq!(
        report["signers"][0]["chain"][1]["trusted_root"]["kind"],
        "user"
    );
    // Offline and no CRL: whether it is revoked cannot be said.
    check(
        &args(&p7s, &["--trust".into(), root, "--offline".into()]),
        COULD_NOT_CHECK,
        &[Reason::RevocationUnavailable],
    );
}

#[test]
fn our_own_signatures_attached_and_detached_are_valid() {
    let card = podpis_tests::VirtualCard::start("entrepreneur");
    let dir = dir();
    let doc = write(&dir, "doc.txt", "Договор № 1".as_bytes());
    for detached in [false, true] {
        let p7s = dir.join(format!("doc-{detached}.p7s"));
        let (doc_s, p7s_s) = (s(&doc), s(&p7s));
        let mut sign = vec![
            "sign",
            "--reader",
            card.reader(),
            "--pin-stdin",
            "--in",
            &doc_s,
            "--out",
            &p7s_s,
        ];
        if detached {
            sign.push("--detached");
        }
        let (code, out, err) = podpis_with_stdin(&sign, &format!("{}\n", podpis_tests::PIN));
        assert_eq!(code, 0, "{out}{err}");
        let mut extra = sandbox();
        if detached {
            extra.extend(["--content".into(), doc_s.clone()]);
        }
        let report = check(&args(&p7s, &extra), VALID, &[]);
        assert_eq!(report["form"]["attached"], !detached);
        assert_eq!(report["form"]["kind"], "cades-bes");
        if detached {
            // Another document beside our detached signature.
            let other = write(&dir, "other.txt", "Договор № 2".as_bytes());
            let mut extra = sandbox();
            extra.extend(["--content".into(), s(&other)]);
            check(&args(&p7s, &extra), INVALID, &[Reason::ContentChanged]);
            // And none at all.
            check(
                &args(&p7s, &sandbox()),
                COULD_NOT_CHECK,
                &[Reason::ContentMissing, Reason::ContentMissing],
            );
        }
    }
}

#[test]
fn a_byte_flipped_in_the_content_or_in_the_signature_makes_it_invalid() {
    let dir = dir();
    let signer = Signer::for_profile("entrepreneur");
    let good = signer.sign(b"pay 100 roubles");
    let mut content = good.clone();
    let at = content
        .windows(15)
        .position(|w| w == b"pay 100 roubles")
        .expect("content inside");
    content[at + 4] ^= 0x01;
    let p7s = write(&dir, "content.p7s", &content);
    check(&args(&p7s, &sandbox()), INVALID, &[Reason::ContentChanged]);

    // The signature value is the last field of the last SignerInfo.
    let mut signature = good;
    let last = signature.len() - 1;
    signature[last] ^= 0x01;
    let p7s = write(&dir, "signature.p7s", &signature);
    check(
        &args(&p7s, &sandbox()),
        INVALID,
        &[Reason::SignatureInvalid],
    );

    let p7s = write(&dir, "garbage.p7s", b"not a signature at all");
    check(&args(&p7s, &sandbox()), INVALID, &[Reason::Malformed]);
}

#[test]
fn an_expired_signer_is_invalid() {
    let dir = dir();
    let signer = Signer::for_profile("expired");
    let p7s = write(&dir, "expired.p7s", &signer.sign(b"late"));
    check(
        &args(&p7s, &sandbox()),
        INVALID,
        &[Reason::CertificateExpired],
    );
}

#[test]
fn a_revoked_signer_is_invalid_and_a_root_not_trusted_is_said() {
    let pki = OwnPki::new();
    let dir = dir();
    let signer = pki.signer("entrepreneur");
    let p7s = write(&dir, "revoked.p7s", &signer.sign(b"revoked"));
    let trust = vec!["--sandbox".to_owned(), s(&pki.dir)];
    check(&args(&p7s, &trust), VALID, &[]);
    pki.revoke(&signer.cert_pem);
    let report = check(&args(&p7s, &trust), INVALID, &[Reason::CertificateRevoked]);
    assert_eq!(
        report["signers"][0]["chain"][0]["revocation"]["status"],
        "revoked"
    );

    // The same signature where only the system's roots are trusted.
    let report = check(&args(&p7s, &[]), INVALID, &[Reason::CertificateUntrusted]);
    assert!(report["trust"]["roots"]
        .as_array()
        .expect("roots")
        .is_empty());
}

#[test]
fn a_signer_under_an_untrusted_root_is_invalid() {
    let dir = dir();
    let signer = Signer::for_profile("untrusted-ca");
    let p7s = write(&dir, "untrusted.p7s", &signer.sign(b"who?"));
    check(
        &args(&p7s, &sandbox()),
        INVALID,
        &[Reason::CertificateUntrusted],
    );
}

#[test]
fn revocation_is_asked_at_the_ocsp_responder_and_unjudged_when_it_is_down() {
    let mut pki = OwnPki::with_ocsp();
    let dir = dir();
    let signer = pki.signer("entrepreneur");
    let p7s = write(&dir, "ocsp.p7s", &signer.sign(b"ocsp"));
    // The roots of this PKI, and no CRL: OCSP alone answers.
    let trust = vec![
        "--trust".to_owned(),
        s(&pki.dir.join("root.pem")),
        "--trust".into(),
        s(&pki.dir.join("ca.pem")),
    ];
    let report = check(&args(&p7s, &trust), VALID, &[]);
    assert_eq!(
        report["signers"][0]["chain"][0]["revocation"]["checked"][0]["source"],
        "ocsp"
    );
    pki.stop_responders();
    check(
        &args(&p7s, &trust),
        COULD_NOT_CHECK,
        &[Reason::RevocationUnavailable],
    );
}

#[test]
fn without_the_gost_engine_a_gost_signature_could_not_be_checked_and_is_not_called_invalid() {
    let dir = dir();
    let signer = Signer::for_profile("entrepreneur");
    let p7s = write(&dir, "gost.p7s", &signer.sign(b"gost"));
    // OPENSSL_CONF already set (to a configuration without the engine): podpis leaves it alone.
    let conf = write(&dir, "plain.cnf", b"# no engine\n");
    let out = std::process::Command::new(podpis_tests::bin("podpis"))
        .env("OPENSSL_CONF", &conf)
        .args(["--json", "verify", &s(&p7s), "--sandbox", &s(&pki_dir())])
        .output()
        .expect("podpis");
    assert_eq!(out.status.code(), Some(COULD_NOT_CHECK));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(report["signers"][0]["reasons"][0], "gost-unavailable");
    assert_eq!(report["gost_available"], false);
}

#[test]
fn a_crl_at_the_certificates_distribution_point_is_fetched_and_not_when_offline() {
    // The port is known before the certificate is made: the CRL is served once the PKI exists.
    let body = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!(
        "http://{}/root.crl",
        listener.local_addr().expect("address")
    );
    let pki = RsaPki::with_distribution_point(Some(&url));
    let (ok, crl_der, err) = openssl_output(&[
        "crl",
        "-in",
        &s(&pki.dir.join("crl.pem")),
        "-outform",
        "DER",
        "-out",
        &s(&pki.dir.join("crl.der")),
    ]);
    assert!(ok, "{crl_der}{err}");
    *body.lock().expect("body") = fs::read(pki.dir.join("crl.der")).expect("der");
    let served = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    {
        use std::io::{Read, Write};
        let (body, count) = (body.clone(), served.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let mut request = [0u8; 4096];
                let _ = stream.read(&mut request);
                let body = body.lock().expect("body").clone();
                let head = format!("HTTP/1.0 200 OK\r\nContent-Length: {}\r\n\r\n", body.len());
                let _ = stream.write_all(head.as_bytes());
                let _ = stream.write_all(&body);
                count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            }
        });
    }
    let dir = dir();
    let doc = write(&dir, "doc.txt", b"distribution point");
    let p7s = dir.join("dp.p7s");
    pki.sign(&doc, &p7s);
    let root = s(&pki.dir.join("root.pem"));
    let report = check(&args(&p7s, &["--trust".into(), root.clone()]), VALID, &[]);
    let checked = &report["signers"][0]["chain"][0]["revocation"]["checked"][0];
    assert_eq!(checked["source"], "crl-url", "{report}");
    assert_eq!(checked["place"], url.as_str());
    assert!(served.load(std::sync::atomic::Ordering::SeqCst) >= 1);

    let before = served.load(std::sync::atomic::Ordering::SeqCst);
    check(
        &args(&p7s, &["--trust".into(), root, "--offline".into()]),
        COULD_NOT_CHECK,
        &[Reason::RevocationUnavailable],
    );
    assert_eq!(
        served.load(std::sync::atomic::Ordering::SeqCst),
        before,
        "offline, nothing is fetched"
    );
}
