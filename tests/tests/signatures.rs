//! CAdES-BES signatures made by the card through `podpis sign`, read and verified by OpenSSL with
//! the GOST engine in CAdES mode (which checks signingCertificateV2) against the test root; and the
//! certificate findings `podpis certs` reports for each profile.

use std::fs;
use std::path::Path;

use podpis_tests::*;
use signing::certificate::CertificateInfo;

fn verify(p7s: &Path, detached_content: Option<&Path>, out: &Path) -> (bool, String) {
    let chain = chain_file();
    let mut args = vec!["cms", "-verify", "-cades", "-binary", "-inform", "DER"];
    let p7s = p7s.to_string_lossy().into_owned();
    let chain = chain.to_string_lossy().into_owned();
    let out = out.to_string_lossy().into_owned();
    args.extend(["-in", &p7s, "-CAfile", &chain, "-out", &out]);
    let content;
    if let Some(c) = detached_content {
        content = c.to_string_lossy().into_owned();
        args.extend(["-content", &content]);
    }
    let (ok, _, err) = openssl_output(&args);
    (ok, err)
}

fn sign_and_check(profile: &str, digest_name: &str) {
    let card = VirtualCard::start(profile);
    let dir = tempfile::tempdir_in(scratch()).expect("tmp");
    let doc = dir.path().join("заявление.txt");
    let text = format!("Прошу подтвердить учётную запись ({profile}).\n");
    fs::write(&doc, &text).expect("write");
    for detached in [false, true] {
        let p7s = dir.path().join(if detached {
            "detached.p7s"
        } else {
            "attached.p7s"
        });
        let mut args = vec!["sign", "--reader", card.reader(), "--pin-stdin", "--json"];
        let (doc_s, p7s_s) = (
            doc.to_string_lossy().into_owned(),
            p7s.to_string_lossy().into_owned(),
        );
        args.extend(["--in", &doc_s, "--out", &p7s_s]);
        if detached {
            args.push("--detached");
        }
        let (code, out, err) = podpis_with_stdin(&args, &format!("{PIN}\n"));
        assert_eq!(code, 0, "{profile}: {out} {err}");
        let reply: serde_json::Value = serde_json::from_str(&out).expect("json");
        assert_eq!(reply["detached"], detached);

        // OpenSSL verifies it against the trusted root, in CAdES mode.
        let recovered = dir.path().join("recovered.txt");
        let (ok, err) = verify(&p7s, detached.then_some(doc.as_path()), &recovered);
        assert!(ok, "{profile} detached={detached}: {err}");
        assert_eq!(fs::read_to_string(&recovered).expect("content"), text);

        // The four signed attributes and the GOST algorithms are there.
        let (ok, printed, _) =
            openssl_output(&["cms", "-cmsout", "-print", "-inform", "DER", "-in", &p7s_s]);
        assert!(ok);
        for attribute in [
            "contentType",
            "signingTime",
            "messageDigest",
            "signingCertificateV2",
        ] {
            assert!(
                printed.contains(attribute),
                "{attribute} missing:\n{printed}"
            );
        }
        assert!(printed.contains(digest_name), "{digest_name} missing");

        // One changed byte of content and it no longer verifies.
        let der = fs::read(&p7s).expect("p7s");
        if detached {
            let changed = dir.path().join("changed.txt");
            let mut bytes = text.clone().into_bytes();
            bytes[0] ^= 0x01;
            fs::write(&changed, bytes).expect("write");
            let (ok, _) = verify(&p7s, Some(&changed), &recovered);
            assert!(!ok, "{profile}: a changed document still verifies");
        } else {
            let at = der
                .windows(text.len())
                .position(|w| w == text.as_bytes())
                .expect("content in CMS");
            let mut tampered = der.clone();
            tampered[at + 3] ^= 0x01;
            let bad = dir.path().join("tampered.p7s");
            fs::write(&bad, tampered).expect("write");
            let (ok, _) = verify(&bad, None, &recovered);
            assert!(!ok, "{profile}: a changed attached document still verifies");
        }
    }
}

#[test]
fn cades_256_attached_and_detached_verify_with_openssl() {
    sign_and_check("entrepreneur", "1.2.643.7.1.1.2.2");
}

#[test]
fn cades_512_attached_and_detached_verify_with_openssl() {
    sign_and_check("legal-entity", "1.2.643.7.1.1.2.3");
}

#[test]
fn cades_with_the_uec_2001_key_verifies_with_openssl() {
    sign_and_check("uec", "1.2.643.2.2.9");
}

#[test]
fn certs_reports_each_profiles_findings() {
    for (profile, expected) in [
        ("entrepreneur", vec![]),
        ("legal-entity", vec![]),
        (
            "legal-entity-without-snils",
            vec!["legal-entity-without-person-snils"],
        ),
        ("expired", vec!["expired"]),
        ("untrusted-ca", vec![]),
        ("uec", vec!["algorithm-deprecated"]),
    ] {
        let card = VirtualCard::start(profile);
        let (code, out, err) = podpis(&["certs", "--json", "--reader", card.reader()]);
        assert_eq!(code, 0, "{err}");
        let certs: serde_json::Value = serde_json::from_str(&out).expect("json");
        let findings = certs[0]["findings"].as_array().expect("findings");
        let codes: Vec<_> = findings
            .iter()
            .map(|f| f["code"].as_str().expect("code"))
            .collect();
        assert_eq!(codes, expected, "{profile}");
        for f in findings {
            let message = f["message"].as_str().expect("message");
            assert!(
                message.chars().any(|c| ('а'..='я').contains(&c)),
                "Russian by default: {message}"
            );
        }
        if profile == "expired" {
            let (_, out, _) =
                podpis(&["certs", "--json", "--lang", "en", "--reader", card.reader()]);
            let certs: serde_json::Value = serde_json::from_str(&out).expect("json");
            assert!(certs[0]["findings"][0]["message"]
                .as_str()
                .expect("msg")
                .contains("expired"));
        }
    }
}

#[test]
fn sign_stops_before_the_pin_on_an_error_finding() {
    let card = VirtualCard::start("expired");
    let dir = tempfile::tempdir_in(scratch()).expect("tmp");
    let doc = dir.path().join("doc.txt");
    fs::write(&doc, "x").expect("write");
    let out = dir.path().join("doc.p7s");
    let (code, stdout, err) = podpis_with_stdin(
        &[
            "sign",
            "--json",
            "--reader",
            card.reader(),
            "--pin-stdin",
            "--in",
            &doc.to_string_lossy(),
            "--out",
            &out.to_string_lossy(),
        ],
        &format!("{PIN}\n"),
    );
    assert_eq!(code, 6, "{stdout} {err}");
    // The same code as `podpis confirm` gives for the same stop: the finding's.
    assert!(stdout.contains(r#""code":"expired""#), "{stdout}");
    assert!(!out.exists());
    assert!(
        !card.trace().lines().any(|l| l.starts_with("vpcd → 0020")),
        "a VERIFY reached the card"
    );
}

#[test]
fn sign_with_a_wrong_pin_says_how_many_tries_are_left_and_writes_nothing() {
    let card = VirtualCard::start("entrepreneur");
    let dir = tempfile::tempdir_in(scratch()).expect("tmp");
    let doc = dir.path().join("doc.txt");
    fs::write(&doc, "x").expect("write");
    let out = dir.path().join("doc.p7s");
    let args = [
        "sign",
        "--reader",
        card.reader(),
        "--pin-stdin",
        "--in",
        &doc.to_string_lossy(),
        "--out",
        &out.to_string_lossy(),
    ];
    let (code, _, err) = podpis_with_stdin(&args, "11112222\n");
    assert_eq!(code, 5, "{err}");
    assert!(err.contains("Неверный PIN. Осталось попыток: 2."), "{err}");
    assert!(!err.contains("11112222"));
    assert!(!out.exists());
    // One more wrong PIN leaves one try: without --allow-last-try nothing is sent.
    let (code, _, _) = podpis_with_stdin(&args, "11112222\n");
    assert_eq!(code, 5);
    let verifies_before = card.trace().matches("vpcd → 0020").count();
    let (code, stdout, err) = podpis_with_stdin(&args, &format!("{PIN}\n"));
    assert_eq!(code, 5, "{stdout} {err}");
    assert!(err.contains("--allow-last-try"), "{err}");
    assert_eq!(card.trace().matches("vpcd → 0020").count(), verifies_before);
    let mut with_consent = args.to_vec();
    with_consent.push("--allow-last-try");
    let (code, _, err) = podpis_with_stdin(&with_consent, &format!("{PIN}\n"));
    assert_eq!(code, 0, "{err}");
    assert!(out.exists());
}

/// A certificate made by `openssl req` itself, with the Russian attributes added through an
/// OpenSSL configuration (the way CAs and testers make them), read field by field.
#[test]
fn the_parser_reads_a_certificate_made_by_openssl_with_a_config() {
    let dir = tempfile::tempdir_in(scratch()).expect("tmp");
    let config = dir.path().join("req.cnf");
    fs::write(
        &config,
        r#"oid_section = russian_oids
[russian_oids]
innLE = 1.2.643.100.4
[req]
distinguished_name = dn
prompt = no
utf8 = yes
string_mask = utf8only
x509_extensions = qualified
[dn]
C = RU
O = АО «Тест»
CN = АО «Тест»
SN = Сергеев
GN = Сергей Сергеевич
SNILS = 11223344595
INN = 773024663310
OGRN = 1027700132195
innLE = 7707083893
[qualified]
keyUsage = critical, digitalSignature, nonRepudiation
certificatePolicies = 1.2.643.100.113.2
subjectSignTool = СКЗИ «Проверка»
issuerSignTool = signTool:ПАК А, cATool:ПАК Б, signToolCert:СФ/1, cAToolCert:СФ/2
"#,
    )
    .expect("config");
    let key = dir.path().join("key.pem");
    let cert = dir.path().join("cert.der");
    let (ok, _, err) = openssl_output(&[
        "genpkey",
        "-algorithm",
        "gost2012_512",
        "-pkeyopt",
        "paramset:A",
        "-out",
        &key.to_string_lossy(),
    ]);
    assert!(ok, "{err}");
    let (ok, _, err) = openssl_output(&[
        "req",
        "-x509",
        "-new",
        "-config",
        &config.to_string_lossy(),
        "-key",
        &key.to_string_lossy(),
        "-days",
        "30",
        "-outform",
        "DER",
        "-out",
        &cert.to_string_lossy(),
    ]);
    assert!(ok, "{err}");
    let info = CertificateInfo::parse(&fs::read(&cert).expect("cert")).expect("parse");
    assert_eq!(info.subject.as_deref(), Some("АО «Тест»"));
    assert_eq!(info.organisation.as_deref(), Some("АО «Тест»"));
    assert_eq!(info.surname.as_deref(), Some("Сергеев"));
    assert_eq!(info.given_names.as_deref(), Some("Сергей Сергеевич"));
    assert_eq!(info.snils.as_deref(), Some("11223344595"));
    assert_eq!(info.inn.as_deref(), Some("773024663310"));
    assert_eq!(info.ogrn.as_deref(), Some("1027700132195"));
    assert_eq!(
        info.inn_le.as_deref(),
        Some("7707083893"),
        "INN of the legal entity as UTF8String"
    );
    assert_eq!(info.issuer, "АО «Тест»");
    assert_eq!(info.algorithm, "gost2012-512");
    assert_eq!(info.parameter_set.as_deref(), Some("TC26-512-A"));
    assert_eq!(info.policies, vec!["1.2.643.100.113.2".to_owned()]);
    assert_eq!(info.subject_sign_tool.as_deref(), Some("СКЗИ «Проверка»"));
    let ist = info.issuer_sign_tool.as_ref().expect("issuerSignTool");
    assert_eq!(
        (ist.sign_tool.as_str(), ist.ca_tool_cert.as_str()),
        ("ПАК А", "СФ/2")
    );
    assert!(info.key_usage.digital_signature && info.key_usage.non_repudiation);
    assert!(info.is_qualified());
    assert!(
        info.findings_at(std::time::SystemTime::now()).is_empty(),
        "{:?}",
        info.findings_at(std::time::SystemTime::now())
    );
}
