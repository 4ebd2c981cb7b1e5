//! The sandbox portal as a real process, with requests signed by `openssl cms -sign` (not by our
//! client): each error code of docs/protocol.md earned by a request made to earn exactly it, the
//! two successful journeys, idempotency, concurrency, and a crash mid-load.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use podpis_tests::portal::{issue_custom, signing_time, surgery, OwnPki, Portal, Signer};
use protocol::Purpose;
use signing::certificate::CertificateInfo;

/// The extensions of a qualified leaf certificate of the test CA, for custom certificates.
const QUALIFIED: &str = "basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, nonRepudiation
certificatePolicies = 1.2.643.100.113.1
subjectSignTool = СКЗИ «Тест»
issuerSignTool = signTool:ПАК А, cATool:ПАК Б, signToolCert:СФ/1, cAToolCert:СФ/2";

const IVANOV: &str =
    "/C=RU/CN=Иванов Иван Иванович/SN=Иванов/GN=Иван Иванович/SNILS=54771278218/INN=773024663310";

fn assert_code(answer: (u16, serde_json::Value), status: u16, code: &str) {
    let (got_status, body) = answer;
    assert_eq!(body["code"], code, "expected {code}, got {body}");
    assert_eq!(got_status, status, "{body}");
    assert!(
        body["message"].as_str().is_some_and(|m| m.len() > 10),
        "a sentence: {body}"
    );
}

/// The refusal of a request whose certificate set names the signer twice.
fn assert_signer_ambiguous(answer: (u16, serde_json::Value)) {
    let message = answer.1["message"].as_str().unwrap_or_default().to_owned();
    assert_code(answer, 400, "malformed");
    assert!(
        message.contains("more than one certificate carries the signer's issuer and serial"),
        "{message}"
    );
}

/// Logs in as `profile`, asks a challenge for `purpose`, signs the request with `signer`.
fn request(portal: &Portal, profile: &str, purpose: Purpose, signer: &Signer) -> (String, Vec<u8>) {
    let (token, account) = portal.login_as(profile);
    let challenge = portal.challenge(&token, purpose);
    (token.clone(), signer.request(&account, &challenge))
}

#[test]
fn entrepreneur_is_confirmed_and_a_repeated_request_gets_the_first_answer() {
    let portal = Portal::start(&[]);
    let signer = Signer::for_profile("entrepreneur");
    let (token, cms) = request(&portal, "entrepreneur", Purpose::ConfirmIdentity, &signer);
    assert_eq!(portal.account(&token).level, protocol::Level::Standard);
    let (status, first) = portal.submit(&token, &cms);
    assert_eq!(status, 200, "{first}");
    assert_eq!(first["level"], "confirmed");
    assert_eq!(portal.account(&token).level, protocol::Level::Confirmed);
    // The same bytes again (an answer lost on the way): the same answer, no second effect.
    let (status, again) = portal.submit(&token, &cms);
    assert_eq!((status, &again), (200, &first));
    assert_eq!(portal.query_count("SELECT COUNT(*) FROM confirmations"), 1);
    // Every attempt is in the audit table.
    assert!(
        portal.query_count("SELECT COUNT(*) FROM audit_events WHERE action = 'confirmation'") >= 2
    );
}

#[test]
fn legal_entity_registers_its_organisation_with_the_person_as_representative() {
    let portal = Portal::start(&[]);
    let signer = Signer::for_profile("legal-entity");
    let (token, cms) = request(
        &portal,
        "legal-entity",
        Purpose::RegisterOrganisation,
        &signer,
    );
    let (status, body) = portal.submit(&token, &cms);
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["organisation"]["ogrn"], "1027716290722");
    let account = portal.account(&token);
    assert_eq!(account.organisations.len(), 1);
    assert_eq!(account.organisations[0].organisation.inn, "7724419550");
    assert_eq!(account.organisations[0].role, "representative");
    // Registering the same organisation again.
    let (token, cms) = request(
        &portal,
        "legal-entity",
        Purpose::RegisterOrganisation,
        &signer,
    );
    assert_code(portal.submit(&token, &cms), 409, "organisation-exists");
}

#[test]
fn malformed_bodies() {
    let portal = Portal::start(&[]);
    let (token, _) = portal.login_as("entrepreneur");
    assert_code(portal.submit(&token, b"not a CMS at all"), 400, "malformed");
    // The right bytes with the wrong content type.
    let response = Portal::http()
        .post(format!("{}/api/v1/confirmations", portal.url))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body("{}")
        .send()
        .expect("send");
    assert_eq!(response.status(), 400);
    // A signed document that is not a request document.
    let signer = Signer::for_profile("entrepreneur");
    assert_code(
        portal.submit(&token, &signer.sign(b"{\"hello\":1}")),
        400,
        "malformed",
    );
}

#[test]
fn too_large() {
    let portal = Portal::start(&[]);
    let (token, _) = portal.login_as("entrepreneur");
    assert_code(
        portal.submit(&token, &vec![0x30; 200 * 1024]),
        413,
        "too-large",
    );
}

#[test]
fn signature_invalid() {
    let portal = Portal::start(&[]);
    let signer = Signer::for_profile("entrepreneur");
    let (token, mut cms) = request(&portal, "entrepreneur", Purpose::ConfirmIdentity, &signer);
    // The signature value is the last element of the SignerInfo, at the end of the DER.
    let last = cms.len() - 1;
    cms[last] ^= 0x01;
    assert_code(portal.submit(&token, &cms), 422, "signature-invalid");
}

/// A commodity key (ECDSA P-256, the PIV profile's) with a perfectly good signature: the portal
/// takes only GOST.
#[test]
fn algorithm_not_gost() {
    let portal = Portal::start(&[]);
    let signer = Signer::for_profile("piv");
    let (token, cms) = request(&portal, "piv", Purpose::ConfirmIdentity, &signer);
    assert_code(portal.submit(&token, &cms), 422, "algorithm-not-gost");
}

/// A second certificate with the signer's issuer and serial in the set: which one is the signer's
/// would depend on who looks, so the request is refused whatever the order.
#[test]
fn two_certificates_with_the_signers_issuer_and_serial_are_malformed() {
    let portal = Portal::start(&[]);
    let signer = Signer::for_profile("entrepreneur");
    let other = Signer::for_profile("blocked-pin");
    let decoy = surgery::decoy(&other.cert_der, &signer.cert_der, false);
    let (token, account) = portal.login_as("entrepreneur");
    let challenge = portal.challenge(&token, Purpose::ConfirmIdentity);
    let document = signer.document(&account, &challenge);
    let cms = signer.sign_document_with_certificates(&document, &[&decoy]);
    assert_eq!(surgery::certificates(&cms).len(), 2);
    for first in [&signer.cert_der, &decoy] {
        let cms = surgery::with_certificate_first(&cms, first);
        assert_signer_ambiguous(portal.submit(&token, &cms));
    }
    assert_eq!(portal.account(&token).level, protocol::Level::Standard);
}

/// An account hijack: someone who holds another person's password signs with their own
/// qualified certificate and adds a decoy: the other person's certificate under the signer's
/// serial, its issuer's country in lower case, the SignerInfo naming that spelling. OpenSSL
/// matches names in canonical form and verifies with the real certificate, which comes first; a
/// reader comparing bytes finds the decoy, and with it the other person's name and SNILS.
#[test]
fn a_decoy_certificate_cannot_lend_its_person_to_another_signature() {
    let portal = Portal::start(&[]);
    let attacker = Signer::for_profile("entrepreneur");
    let victim = Signer::for_profile("blocked-pin");
    let decoy = surgery::decoy(&victim.cert_der, &attacker.cert_der, true);
    let decoy_info = CertificateInfo::parse(&decoy).expect("the decoy parses");
    let (token, account) = portal.login_as("blocked-pin");
    let challenge = portal.challenge(&token, Purpose::ConfirmIdentity);
    let mut document = attacker.document(&account, &challenge);
    document.certificate_sha256 = decoy_info.sha256.clone();
    document.person = protocol::Person::from_certificate(&decoy_info);
    let cms = attacker.sign_document_with_certificates(&document, &[&decoy]);
    let cms = surgery::fold_signer_issuer(&cms);
    let cms = surgery::with_certificate_first(&cms, &attacker.cert_der);
    assert_signer_ambiguous(portal.submit(&token, &cms));
    assert_eq!(portal.account(&token).level, protocol::Level::Standard);
}

/// What the document says of its signature must be what the signature says: its signing time
/// (to the second) and its certificate's SHA-256.
#[test]
fn a_document_that_disagrees_with_its_signature_is_malformed() {
    let portal = Portal::start(&[]);
    let signer = Signer::for_profile("entrepreneur");
    let (token, account) = portal.login_as("entrepreneur");
    for earlier in [1, 120] {
        let challenge = portal.challenge(&token, Purpose::ConfirmIdentity);
        let mut document = signer.document(&account, &challenge);
        let named = portal::now() - earlier;
        document.signing_time = protocol::timestamp_unix(named);
        let cms = signer.sign(&document.to_canonical_json());
        assert!(signing_time(&cms) >= named + earlier);
        let answer = portal.submit(&token, &cms);
        assert_eq!(
            answer.1["message"], "The document's signing time does not match.",
            "{earlier} s"
        );
        assert_code(answer, 400, "malformed");
    }
    let other = Signer::for_profile("blocked-pin");
    let challenge = portal.challenge(&token, Purpose::ConfirmIdentity);
    let mut document = signer.document(&account, &challenge);
    document.certificate_sha256 = other.info.sha256.clone();
    let answer = portal.submit(&token, &signer.sign_document(&document));
    assert_eq!(
        answer.1["message"],
        "The document's certificate does not match."
    );
    assert_code(answer, 400, "malformed");
    assert_eq!(portal.account(&token).level, protocol::Level::Standard);
}

#[test]
fn certificate_untrusted() {
    let portal = Portal::start(&[]);
    let signer = Signer::for_profile("untrusted-ca");
    let (token, cms) = request(&portal, "untrusted-ca", Purpose::ConfirmIdentity, &signer);
    assert_code(portal.submit(&token, &cms), 422, "certificate-untrusted");
}

#[test]
fn certificate_expired() {
    let portal = Portal::start(&[]);
    let signer = Signer::for_profile("expired");
    let (token, cms) = request(&portal, "expired", Purpose::ConfirmIdentity, &signer);
    assert_code(portal.submit(&token, &cms), 422, "certificate-expired");
}

#[test]
fn certificate_revoked() {
    let signer = Signer::for_profile("entrepreneur");
    podpis_tests::portal::revoke(&podpis_tests::pki_dir(), &signer.cert_pem);
    // A portal started after the revocation reads the new CRL.
    let portal = Portal::start(&[]);
    let (token, cms) = request(&portal, "entrepreneur", Purpose::ConfirmIdentity, &signer);
    assert_code(portal.submit(&token, &cms), 422, "certificate-revoked");
}

/// The issuing CA revoked by the root: its certificates go with it. The root's CRL lists it, and
/// the portal checks every certificate of the chain, not only the signer's.
#[test]
fn an_issuing_ca_revoked_on_the_roots_crl_takes_its_certificates_with_it() {
    let pki = OwnPki::new();
    let portal = Portal::start_with(&pki.dir, &["crl.pem", "root-crl.pem"], &[]);
    let before = pki.signer("legal-entity");
    let (token, cms) = request(&portal, "legal-entity", Purpose::ConfirmIdentity, &before);
    assert_eq!(portal.submit(&token, &cms).0, 200, "the PKI works");

    let signer = pki.signer("entrepreneur");
    pki.revoke(&pki.ca_certificate());
    let (token, cms) = request(&portal, "entrepreneur", Purpose::ConfirmIdentity, &signer);
    assert_code(portal.submit(&token, &cms), 422, "certificate-revoked");
}

/// With CRLs, each trusted certificate's own CRL is needed: a portal given only the issuing CA's
/// would refuse every chain (OpenSSL finds no CRL for the CA certificate), so it does not start,
/// and says which CRL is missing.
#[test]
fn a_portal_without_the_roots_crl_does_not_start() {
    podpis_tests::ensure_pki();
    let pki = podpis_tests::pki_dir();
    let dir = tempfile::tempdir_in(podpis_tests::scratch()).expect("dir");
    let mut child = std::process::Command::new(podpis_tests::bin("podpis-portal"))
        .env("OPENSSL_CONF", podpis_tests::gost_conf())
        .args(["serve", "--listen", "127.0.0.1:0", "--db"])
        .arg(dir.path().join("portal.db"))
        .arg("--trust")
        .arg(pki.join("root.pem"))
        .arg("--trust")
        .arg(pki.join("ca.pem"))
        .arg("--crl")
        .arg(pki.join("crl.pem"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("podpis-portal");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("the portal started without the root's CRL");
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    let mut stderr = String::new();
    use std::io::Read;
    child
        .stderr
        .take()
        .expect("stderr")
        .read_to_string(&mut stderr)
        .expect("read");
    assert!(!status.success());
    assert!(
        stderr.contains(
            "no CRL issued by C=RU, O=Подпись (тестовый УЦ), CN=Подпись: тестовый корневой УЦ"
        ),
        "{stderr}"
    );
}

/// Certificates that name an OCSP responder are asked about there: the signer's at the issuing
/// CA's responder, the issuing CA's at the root's. No CRL here: OCSP alone answers.
#[test]
fn a_certificate_revoked_at_its_cas_ocsp_responder_is_refused() {
    let pki = OwnPki::with_ocsp();
    let portal = Portal::start_with(&pki.dir, &[], &[]);
    let good = pki.signer("legal-entity");
    let (token, cms) = request(&portal, "legal-entity", Purpose::ConfirmIdentity, &good);
    let (status, body) = portal.submit(&token, &cms);
    assert_eq!(status, 200, "both responders say good: {body}");

    let signer = pki.signer("entrepreneur");
    pki.revoke(&signer.cert_pem);
    let (token, cms) = request(&portal, "entrepreneur", Purpose::ConfirmIdentity, &signer);
    assert_code(portal.submit(&token, &cms), 422, "certificate-revoked");
}

#[test]
fn an_issuing_ca_revoked_at_the_roots_ocsp_responder_is_refused() {
    let pki = OwnPki::with_ocsp();
    let portal = Portal::start_with(&pki.dir, &[], &[]);
    let signer = pki.signer("entrepreneur");
    pki.revoke(&pki.ca_certificate());
    let (token, cms) = request(&portal, "entrepreneur", Purpose::ConfirmIdentity, &signer);
    assert_code(portal.submit(&token, &cms), 422, "certificate-revoked");
}

/// A responder that does not answer: the portal cannot tell whether the certificate is revoked,
/// refuses it as such (503, nothing applied), and the same request sent once the responder is
/// back is accepted.
#[test]
fn a_responder_that_is_down_leaves_the_status_unavailable_until_it_is_back() {
    let mut pki = OwnPki::with_ocsp();
    let portal = Portal::start_with(&pki.dir, &[], &[]);
    let signer = pki.signer("entrepreneur");
    let (token, cms) = request(&portal, "entrepreneur", Purpose::ConfirmIdentity, &signer);
    pki.stop_responders();
    assert_code(portal.submit(&token, &cms), 503, "revocation-unavailable");
    assert_eq!(portal.account(&token).level, protocol::Level::Standard);
    pki.start_responders();
    let (status, body) = portal.submit(&token, &cms);
    assert_eq!(status, 200, "{body}");
}

#[test]
fn certificate_not_qualified() {
    let portal = Portal::start(&[]);
    let signer = issue_custom(
        IVANOV,
        "keyUsage = critical, digitalSignature, nonRepudiation",
    );
    let (token, cms) = request(&portal, "entrepreneur", Purpose::ConfirmIdentity, &signer);
    assert_code(
        portal.submit(&token, &cms),
        422,
        "certificate-not-qualified",
    );
}

#[test]
fn key_usage() {
    let portal = Portal::start(&[]);
    let extensions = QUALIFIED.replace("digitalSignature, nonRepudiation", "keyEncipherment");
    let signer = issue_custom(IVANOV, &extensions);
    let (token, cms) = request(&portal, "entrepreneur", Purpose::ConfirmIdentity, &signer);
    assert_code(portal.submit(&token, &cms), 422, "key-usage");
}

#[test]
fn algorithm_deprecated() {
    let portal = Portal::start(&[]);
    let signer = Signer::for_profile("uec");
    let (token, cms) = request(&portal, "uec", Purpose::ConfirmIdentity, &signer);
    assert_code(portal.submit(&token, &cms), 422, "algorithm-deprecated");
}

#[test]
fn nonce_unknown_expired_used() {
    let portal = Portal::start(&["--challenge-ttl-secs", "1"]);
    let signer = Signer::for_profile("entrepreneur");
    let (token, account) = portal.login_as("entrepreneur");

    let mut challenge = portal.challenge(&token, Purpose::ConfirmIdentity);
    challenge.nonce = "bm90LWEtbm9uY2UtdGhlLXBvcnRhbC1pc3N1ZWQ".into();
    assert_code(
        portal.submit(&token, &signer.request(&account, &challenge)),
        404,
        "nonce-unknown",
    );

    let challenge = portal.challenge(&token, Purpose::ConfirmIdentity);
    std::thread::sleep(std::time::Duration::from_millis(2100));
    assert_code(
        portal.submit(&token, &signer.request(&account, &challenge)),
        410,
        "nonce-expired",
    );

    // A nonce of another account is unknown to this one.
    let (other_token, _) = portal.login_as("legal-entity");
    let foreign = portal.challenge(&other_token, Purpose::ConfirmIdentity);
    assert_code(
        portal.submit(&token, &signer.request(&account, &foreign)),
        404,
        "nonce-unknown",
    );
}

#[test]
fn nonce_used_by_a_different_request() {
    let portal = Portal::start(&[]);
    let signer = Signer::for_profile("entrepreneur");
    let (token, account) = portal.login_as("entrepreneur");
    let challenge = portal.challenge(&token, Purpose::ConfirmIdentity);
    let first = signer.request(&account, &challenge);
    assert_eq!(portal.submit(&token, &first).0, 200);
    // Same nonce, other bytes (signed a second later): not a repetition, a reuse.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let second = signer.request(&account, &challenge);
    assert_ne!(first, second);
    assert_code(portal.submit(&token, &second), 409, "nonce-used");
}

#[test]
fn purpose_mismatch_and_origin_mismatch() {
    let portal = Portal::start(&[]);
    let signer = Signer::for_profile("entrepreneur");
    let (token, account) = portal.login_as("entrepreneur");
    let challenge = portal.challenge(&token, Purpose::RegisterOrganisation);
    let mut document = signer.document(&account, &challenge);
    document.purpose = Purpose::ConfirmIdentity;
    assert_code(
        portal.submit(&token, &signer.sign_document(&document)),
        422,
        "purpose-mismatch",
    );

    let challenge = portal.challenge(&token, Purpose::ConfirmIdentity);
    let mut document = signer.document(&account, &challenge);
    document.origin = "https://portal.example".into();
    assert_code(
        portal.submit(&token, &signer.sign_document(&document)),
        422,
        "origin-mismatch",
    );
}

#[test]
fn account_not_standard() {
    let portal = Portal::start(&[]);
    let signer = Signer::for_profile("entrepreneur");
    let simplified = podpis_tests::account("simplified");
    let (token, account) = portal.login(&simplified.phone, &simplified.password);
    let challenge = portal.challenge(&token, Purpose::ConfirmIdentity);
    assert_code(
        portal.submit(&token, &signer.request(&account, &challenge)),
        403,
        "account-not-standard",
    );
}

#[test]
fn already_confirmed() {
    let portal = Portal::start(&[]);
    let signer = Signer::for_profile("entrepreneur");
    let (token, cms) = request(&portal, "entrepreneur", Purpose::ConfirmIdentity, &signer);
    assert_eq!(portal.submit(&token, &cms).0, 200);
    let (token, cms) = request(&portal, "entrepreneur", Purpose::ConfirmIdentity, &signer);
    assert_code(portal.submit(&token, &cms), 409, "already-confirmed");
}

#[test]
fn snils_missing_for_a_legal_entity_certificate_without_the_persons_snils() {
    let portal = Portal::start(&[]);
    let signer = Signer::for_profile("legal-entity-without-snils");
    let (token, cms) = request(
        &portal,
        "legal-entity-without-snils",
        Purpose::RegisterOrganisation,
        &signer,
    );
    assert_code(portal.submit(&token, &cms), 422, "snils-missing");
    assert_eq!(portal.query_count("SELECT COUNT(*) FROM organisations"), 0);
}

#[test]
fn snils_mismatch_for_another_persons_card() {
    let portal = Portal::start(&[]);
    let signer = Signer::for_profile("blocked-pin");
    let (token, cms) = request(&portal, "entrepreneur", Purpose::ConfirmIdentity, &signer);
    assert_code(portal.submit(&token, &cms), 422, "snils-mismatch");
}

#[test]
fn name_mismatch() {
    let portal = Portal::start(&[]);
    let subject = IVANOV
        .replace("SN=Иванов", "SN=Петров")
        .replace("CN=Иванов", "CN=Петров");
    let signer = issue_custom(&subject, QUALIFIED);
    let (token, cms) = request(&portal, "entrepreneur", Purpose::ConfirmIdentity, &signer);
    assert_code(portal.submit(&token, &cms), 422, "name-mismatch");
}

#[test]
fn organisation_data_missing() {
    let portal = Portal::start(&[]);
    let signer = Signer::for_profile("entrepreneur");
    let (token, cms) = request(
        &portal,
        "entrepreneur",
        Purpose::RegisterOrganisation,
        &signer,
    );
    assert_code(
        portal.submit(&token, &cms),
        422,
        "organisation-data-missing",
    );
}

#[test]
fn rate_limited_and_unauthorised() {
    let portal = Portal::start(&["--logins-per-minute", "2"]);
    let send = |password: &str| {
        let r = Portal::http()
            .post(format!("{}/api/v1/sessions", portal.url))
            .json(&serde_json::json!({ "login": "+79990000001", "password": password }))
            .send()
            .expect("login");
        (
            r.status().as_u16(),
            r.json::<serde_json::Value>().unwrap_or_default(),
        )
    };
    assert_code(send("wrong-password"), 401, "unauthorised");
    let (status, _) = send("ivanov-sandbox-1");
    assert_eq!(status, 201);
    assert_code(send("ivanov-sandbox-1"), 429, "rate-limited");
    // No token, a made-up token.
    assert_code(portal.submit("", b"x"), 401, "unauthorised");
    assert_code(portal.submit("made-up", b"x"), 401, "unauthorised");
}

/// A bounded load on loopback: two thousand challenges and eighty logins in a few seconds.
/// With lifetimes of a second or two and a sweep every second, the rows they leave (challenges,
/// sessions, audit events) are deleted: the database holds what is live, not all that ever was.
#[test]
fn under_load_the_database_stays_bounded() {
    const ROUNDS: usize = 2;
    const THREADS: usize = 4;
    const CHALLENGES: usize = 250;
    const LOGINS: usize = 10;
    let portal = Arc::new(Portal::start(&[
        "--challenge-ttl-secs",
        "1",
        "--expired-challenges-kept-secs",
        "1",
        "--session-ttl-secs",
        "3",
        "--audit-retention-secs",
        "2",
        "--sweep-interval-secs",
        "1",
        "--challenges-per-minute",
        "1000000",
        "--logins-per-minute",
        "1000000",
    ]));
    let rows = |portal: &Portal| {
        [
            "SELECT COUNT(*) FROM sessions",
            "SELECT COUNT(*) FROM challenges",
            "SELECT COUNT(*) FROM audit_events",
        ]
        .map(|sql| portal.query_count(sql))
    };
    let started = std::time::Instant::now();
    let mut peak = [0; 3];
    for _ in 0..ROUNDS {
        let threads: Vec<_> = (0..THREADS)
            .map(|_| {
                let portal = Arc::clone(&portal);
                std::thread::spawn(move || {
                    let http = Portal::http();
                    // A new session every few challenges: each lives two to three seconds.
                    // On a machine busy enough that a session ends before its few challenges
                    // are asked, the client logs in again, as any client would (the rows it
                    // leaves are what is measured, not the speed).
                    let mut token = String::new();
                    for i in 0..CHALLENGES {
                        if i % (CHALLENGES / LOGINS) == 0 {
                            token = portal.login_as("entrepreneur").0;
                        }
                        let ask = |token: &str| {
                            http.post(format!("{}/api/v1/challenges", portal.url))
                                .bearer_auth(token)
                                .json(&serde_json::json!({ "purpose": Purpose::ConfirmIdentity }))
                                .send()
                                .expect("challenge")
                                .status()
                        };
                        let mut status = ask(&token);
                        if status == 401 {
                            token = portal.login_as("entrepreneur").0;
                            status = ask(&token);
                        }
                        assert_eq!(status, 201, "challenge {i}");
                    }
                })
            })
            .collect();
        for thread in threads {
            thread.join().expect("load thread");
        }
        for (peak, now) in peak.iter_mut().zip(rows(&portal)) {
            *peak = (*peak).max(now);
        }
    }
    let issued = ROUNDS * THREADS * CHALLENGES;
    let load = started.elapsed();
    // Everything issued expires within two seconds of the last request; a sweep follows within one.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let mut left = rows(&portal);
    while left != [0, 0, 0] && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(250));
        left = rows(&portal);
    }
    println!(
        "{issued} challenges and {} logins in {load:?}; rows at the end of a round at most \
         (sessions, challenges, audit) {peak:?}; {:?} after the load, then {left:?}",
        ROUNDS * THREADS * LOGINS,
        started.elapsed() - load,
    );
    assert_eq!(left, [0, 0, 0], "the sweep left rows behind");
    assert!(peak[1] > 0, "the load was seen");
}

/// 50 copies of one signed request at once: exactly one effect, the same answer for all.
#[test]
fn fifty_concurrent_copies_have_one_effect_and_one_answer() {
    let portal = Arc::new(Portal::start(&["--confirmations-per-minute", "1000"]));
    let signer = Signer::for_profile("legal-entity");
    let (token, cms) = request(
        &portal,
        "legal-entity",
        Purpose::RegisterOrganisation,
        &signer,
    );
    let (token, cms) = (Arc::new(token), Arc::new(cms));
    let threads: Vec<_> = (0..50)
        .map(|_| {
            let (portal, token, cms) = (Arc::clone(&portal), Arc::clone(&token), Arc::clone(&cms));
            std::thread::spawn(move || portal.submit(&token, &cms))
        })
        .collect();
    let answers: Vec<_> = threads
        .into_iter()
        .map(|t| t.join().expect("thread"))
        .collect();
    let distinct: HashSet<String> = answers.iter().map(|(s, b)| format!("{s} {b}")).collect();
    assert_eq!(distinct.len(), 1, "answers differ: {distinct:?}");
    assert_eq!(answers[0].0, 200, "{}", answers[0].1);
    assert_eq!(portal.query_count("SELECT COUNT(*) FROM organisations"), 1);
    assert_eq!(portal.query_count("SELECT COUNT(*) FROM confirmations"), 1);
}

/// Requests of four journeys, ten copies each, sent while the portal is killed and started again
/// on the same database; everything is then sent again. Nothing is lost, nothing doubled, and
/// every copy of a request gets the same answer.
#[test]
fn a_crash_mid_load_loses_and_doubles_nothing() {
    let mut portal = Portal::start(&["--confirmations-per-minute", "1000"]);
    let journeys = [
        ("entrepreneur", "entrepreneur", Purpose::ConfirmIdentity),
        ("legal-entity", "legal-entity", Purpose::ConfirmIdentity),
        (
            "legal-entity",
            "legal-entity",
            Purpose::RegisterOrganisation,
        ),
        ("blocked-pin", "blocked-pin", Purpose::ConfirmIdentity),
    ];
    let mut requests = Vec::new();
    for (profile, card, purpose) in journeys {
        let signer = Signer::for_profile(card);
        let (token, cms) = request(&portal, profile, purpose, &signer);
        requests.push((token, cms));
    }
    let requests = Arc::new(requests);
    let url = Arc::new(std::sync::Mutex::new(portal.url.clone()));
    let fire = |requests: &Arc<Vec<(String, Vec<u8>)>>| {
        let mut threads = Vec::new();
        for copy in 0..10 {
            for i in 0..requests.len() {
                let (requests, url) = (Arc::clone(requests), Arc::clone(&url));
                threads.push(std::thread::spawn(move || {
                    std::thread::sleep(std::time::Duration::from_millis(copy * 15));
                    let base = url.lock().expect("url").clone();
                    let (token, cms) = &requests[i];
                    let answer = Portal::http()
                        .post(format!("{base}/api/v1/confirmations"))
                        .bearer_auth(token)
                        .header("content-type", protocol::CMS_CONTENT_TYPE)
                        .body(cms.clone())
                        .send()
                        .ok()
                        .map(|r| (r.status().as_u16(), r.text().unwrap_or_default()));
                    (i, answer)
                }));
            }
        }
        threads
    };
    let during = fire(&requests);
    std::thread::sleep(std::time::Duration::from_millis(60));
    portal.restart();
    let during: Vec<_> = during
        .into_iter()
        .map(|t| t.join().expect("thread"))
        .collect();
    let after: Vec<_> = fire(&requests)
        .into_iter()
        .map(|t| t.join().expect("thread"))
        .collect();

    // After the restart every copy is answered, each request with one answer, all successes.
    let mut answers: HashMap<usize, HashSet<String>> = HashMap::new();
    for (i, answer) in after {
        let (status, body) = answer.expect("answered after the restart");
        assert_eq!(status, 200, "request {i}: {body}");
        answers.entry(i).or_default().insert(body);
    }
    for (i, set) in &answers {
        assert_eq!(set.len(), 1, "request {i} got different answers: {set:?}");
    }
    // What was answered before the crash is what is answered after it.
    for (i, answer) in during {
        if let Some((200, body)) = answer {
            assert!(
                answers[&i].contains(&body),
                "request {i} answered differently after the crash"
            );
        }
    }
    assert_eq!(portal.query_count("SELECT COUNT(*) FROM confirmations"), 4);
    assert_eq!(portal.query_count("SELECT COUNT(*) FROM organisations"), 1);
    assert_eq!(
        portal.query_count("SELECT COUNT(*) FROM accounts WHERE level = 'confirmed'"),
        3
    );
    assert_eq!(
        portal.query_count("SELECT COUNT(*) FROM challenges WHERE used_at IS NOT NULL"),
        4
    );
}
