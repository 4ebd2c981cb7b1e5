//! The sandbox portal as a real process on loopback, with its own SQLite file, and the pieces a
//! test needs to talk to it: logins, challenges, request documents signed by `openssl cms -sign`
//! (a second implementation, independent of the client's CMS builder).

use std::fs;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use protocol::{Challenge, Purpose, RequestDocument};
use signing::certificate::CertificateInfo;

use crate::{bin, gost_conf, openssl_output, pki_dir, scratch};

pub struct Portal {
    child: Option<Child>,
    pub url: String,
    pub db: PathBuf,
    args: Vec<String>,
    pub dir: PathBuf,
}

impl Portal {
    /// The portal process's id while it runs (to read its CPU time, say).
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// A seeded portal on a free port, trusting the test PKI's root and CA, with their CRLs.
    pub fn start(extra: &[&str]) -> Self {
        crate::ensure_pki();
        Self::start_with(&pki_dir(), &["crl.pem", "root-crl.pem"], extra)
    }

    /// A seeded portal on a free port, trusting the root and CA of the PKI in `pki`, with the
    /// CRLs of that directory named in `crls` (none: revocation by OCSP alone).
    pub fn start_with(pki: &Path, crls: &[&str], extra: &[&str]) -> Self {
        let dir = tempfile::Builder::new()
            .prefix("portal-")
            .tempdir_in(scratch())
            .expect("dir")
            .keep();
        let db = dir.join("portal.db");
        let seed = Command::new(bin("podpis-portal"))
            .arg("seed")
            .arg("--db")
            .arg(&db)
            .output()
            .expect("seed");
        assert!(
            seed.status.success(),
            "seed: {}",
            String::from_utf8_lossy(&seed.stderr)
        );
        let mut args: Vec<String> = vec!["serve".into(), "--listen".into(), "127.0.0.1:0".into()];
        for trust in ["root.pem", "ca.pem"] {
            args.extend(["--trust".into(), pki.join(trust).display().to_string()]);
        }
        for crl in crls {
            args.extend(["--crl".into(), pki.join(crl).display().to_string()]);
        }
        args.extend(extra.iter().map(|s| s.to_string()));
        let mut portal = Self {
            child: None,
            url: String::new(),
            db,
            args,
            dir,
        };
        portal.launch(None);
        portal
    }

    fn launch(&mut self, port: Option<u16>) {
        let mut args = self.args.clone();
        if let Some(port) = port {
            args[2] = format!("127.0.0.1:{port}");
        }
        let log = fs::File::options()
            .create(true)
            .append(true)
            .open(self.dir.join("portal.log"))
            .expect("log");
        let mut child = Command::new(bin("podpis-portal"))
            .env("OPENSSL_CONF", gost_conf())
            .args(&args)
            .arg("--db")
            .arg(&self.db)
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .expect("start podpis-portal");
        let stdout = child.stdout.take().expect("stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("portal start line");
        let url = line
            .trim()
            .strip_prefix("podpis-portal listening on ")
            .unwrap_or_else(|| panic!("the portal did not start: {line:?}; log: {}", self.log()));
        self.url = url.to_owned();
        self.child = Some(child);
    }

    pub fn log(&self) -> String {
        fs::read_to_string(self.dir.join("portal.log")).unwrap_or_default()
    }

    /// Kills the process (no graceful shutdown: a crash).
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts again on the same database and port.
    pub fn restart(&mut self) {
        self.kill();
        let port: u16 = self
            .url
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .expect("port");
        self.launch(Some(port));
    }

    pub fn http() -> reqwest::blocking::Client {
        reqwest::blocking::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
            .expect("client")
    }

    /// Logs in; returns the bearer token and the account id.
    pub fn login(&self, login: &str, password: &str) -> (String, String) {
        let response = Self::http()
            .post(format!("{}/api/v1/sessions", self.url))
            .json(&serde_json::json!({ "login": login, "password": password }))
            .send()
            .expect("login");
        assert_eq!(
            response.status(),
            201,
            "login {login}: {}",
            response.text().unwrap_or_default()
        );
        let body: protocol::LoginResponse = response.json().expect("login json");
        (body.token, body.account)
    }

    /// Logs in as the person of a virtual card profile (from the persons file).
    pub fn login_as(&self, profile: &str) -> (String, String) {
        let person = &crate::profile(profile).person;
        self.login(&person.phone, &person.password)
    }

    pub fn challenge(&self, token: &str, purpose: Purpose) -> Challenge {
        self.challenge_over(&Self::http(), token, purpose)
    }

    /// [`Portal::challenge`] over a client of the caller's, whose connections are kept (a load
    /// of thousands then measures the portal, not the making of clients and connections).
    pub fn challenge_over(
        &self,
        http: &reqwest::blocking::Client,
        token: &str,
        purpose: Purpose,
    ) -> Challenge {
        let response = http
            .post(format!("{}/api/v1/challenges", self.url))
            .bearer_auth(token)
            .json(&serde_json::json!({ "purpose": purpose }))
            .send()
            .expect("challenge");
        assert_eq!(response.status(), 201);
        response.json().expect("challenge json")
    }

    /// Sends a signed request; returns the HTTP status and the JSON answer.
    pub fn submit(&self, token: &str, cms: &[u8]) -> (u16, serde_json::Value) {
        let response = Self::http()
            .post(format!("{}/api/v1/confirmations", self.url))
            .bearer_auth(token)
            .header("content-type", protocol::CMS_CONTENT_TYPE)
            .body(cms.to_vec())
            .send()
            .expect("submit");
        let status = response.status().as_u16();
        (status, response.json().unwrap_or(serde_json::Value::Null))
    }

    pub fn account(&self, token: &str) -> protocol::Account {
        Self::http()
            .get(format!("{}/api/v1/account", self.url))
            .bearer_auth(token)
            .send()
            .expect("account")
            .json()
            .expect("account json")
    }

    /// Runs a query on the portal's database (read-only use in tests).
    pub fn query_count(&self, sql: &str) -> i64 {
        let db = self.db.clone();
        let sql = sql.to_owned();
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("rt")
            .block_on(async move {
                let pool = portal::store::open(&db).await.expect("open db");
                let count: i64 = sqlx::query_scalar(&sql)
                    .fetch_one(&pool)
                    .await
                    .expect("query");
                pool.close().await;
                count
            })
    }
}

impl Drop for Portal {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A profile's key and certificate, made by the virtual card into a state directory of its own
/// (`podpis-vcard --prepare-only`): what `openssl cms -sign` signs with in place of the card.
pub struct Signer {
    pub key: PathBuf,
    pub cert_pem: PathBuf,
    pub cert_der: Vec<u8>,
    pub info: CertificateInfo,
}

impl Signer {
    /// The profile's key and a certificate of its own from the shared test PKI.
    pub fn for_profile(profile: &str) -> Self {
        crate::ensure_pki();
        Self::for_profile_in(profile, &pki_dir())
    }

    /// The profile's key and a certificate of its own from the PKI in `pki`.
    pub fn for_profile_in(profile: &str, pki: &Path) -> Self {
        let state = tempfile::Builder::new()
            .prefix(&format!("signer-{profile}-"))
            .tempdir_in(scratch())
            .expect("dir")
            .keep();
        let out = Command::new(bin("podpis-vcard"))
            .env("OPENSSL_CONF", gost_conf())
            .args(["--profile", profile, "--prepare-only", "--pki"])
            .arg(pki)
            .arg("--state")
            .arg(&state)
            .output()
            .expect("vcard prepare");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        Self::from_files(&state.join("key-01.pem"), &state.join("cert-01.der"))
    }

    pub fn from_files(key: &Path, cert_der: &Path) -> Self {
        let der = fs::read(cert_der).expect("cert");
        let cert_pem = cert_der.with_extension("pem");
        let (ok, _, err) = openssl_output(&[
            "x509",
            "-inform",
            "DER",
            "-in",
            &cert_der.to_string_lossy(),
            "-out",
            &cert_pem.to_string_lossy(),
        ]);
        assert!(ok, "{err}");
        let info = CertificateInfo::parse(&der).expect("certificate");
        Self {
            key: key.to_path_buf(),
            cert_pem,
            cert_der: der,
            info,
        }
    }

    /// The request document this signer would send for `challenge` to `account`.
    pub fn document(&self, account: &str, challenge: &Challenge) -> RequestDocument {
        // The same rules as the client's (protocol defines them once).
        let organisation = match challenge.purpose {
            Purpose::RegisterOrganisation => protocol::Organisation::from_certificate(&self.info),
            Purpose::ConfirmIdentity => None,
        };
        RequestDocument {
            account: account.to_owned(),
            certificate_sha256: self.info.sha256.clone(),
            format: protocol::DOCUMENT_FORMAT.to_owned(),
            nonce: challenge.nonce.clone(),
            organisation,
            origin: challenge.origin.clone(),
            person: protocol::Person::from_certificate(&self.info),
            purpose: challenge.purpose,
            signing_time: protocol::timestamp_unix(portal::now()),
        }
    }

    /// Signs `content` with `openssl cms -sign` in CAdES mode, attached, DER.
    pub fn sign(&self, content: &[u8]) -> Vec<u8> {
        self.sign_with_certificates(content, &[])
    }

    /// [`Signer::sign`], with `extra` certificates (DER) added to the CMS's certificate set.
    pub fn sign_with_certificates(&self, content: &[u8], extra: &[&[u8]]) -> Vec<u8> {
        let dir = tempfile::tempdir_in(scratch()).expect("tmp");
        let input = dir.path().join("document.json");
        let output = dir.path().join("request.p7s");
        let certificates = dir.path().join("extra.pem");
        fs::write(&input, content).expect("write");
        let md = match self.info.algorithm.as_str() {
            "gost2012-512" => "md_gost12_512",
            "gost2001" => "md_gost94",
            "ecdsa" | "rsa" => "sha256",
            _ => "md_gost12_256",
        };
        let mut args = vec![
            "cms".to_owned(),
            "-sign".into(),
            "-cades".into(),
            "-binary".into(),
            "-nodetach".into(),
            "-md".into(),
            md.into(),
            "-outform".into(),
            "DER".into(),
            "-signer".into(),
            self.cert_pem.display().to_string(),
            "-inkey".into(),
            self.key.display().to_string(),
            "-in".into(),
            input.display().to_string(),
            "-out".into(),
            output.display().to_string(),
        ];
        if !extra.is_empty() {
            let pem: String = extra.iter().map(|der| pem_certificate(der)).collect();
            fs::write(&certificates, pem).expect("write");
            args.extend(["-certfile".into(), certificates.display().to_string()]);
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let (ok, _, err) = openssl_output(&args);
        assert!(ok, "openssl cms -sign: {err}");
        fs::read(output).expect("cms")
    }

    /// Signs `document` with its `signing_time` set to the signature's signingTime, as the client
    /// does: `openssl cms` takes the clock itself, so a signature that lands in the next second is
    /// made again.
    pub fn sign_document(&self, document: &RequestDocument) -> Vec<u8> {
        self.sign_document_with_certificates(document, &[])
    }

    /// [`Signer::sign_document`] with `extra` certificates in the CMS's certificate set.
    pub fn sign_document_with_certificates(
        &self,
        document: &RequestDocument,
        extra: &[&[u8]],
    ) -> Vec<u8> {
        let mut document = document.clone();
        for _ in 0..5 {
            document.signing_time = protocol::timestamp_unix(portal::now());
            let cms = self.sign_with_certificates(&document.to_canonical_json(), extra);
            if protocol::timestamp_unix(signing_time(&cms)) == document.signing_time {
                return cms;
            }
        }
        panic!("openssl cms never signed within the second the document names");
    }

    /// A full request for `challenge`: the canonical document, signed.
    pub fn request(&self, account: &str, challenge: &Challenge) -> Vec<u8> {
        self.sign_document(&self.document(account, challenge))
    }
}

/// The signingTime attribute of a signed request, in seconds since the Unix epoch.
pub fn signing_time(cms: &[u8]) -> i64 {
    signing::cades::read_attached(cms)
        .expect("a signed request")
        .signing_time
}

fn pem_certificate(der: &[u8]) -> String {
    use base64::Engine as _;
    let text = base64::engine::general_purpose::STANDARD.encode(der);
    let lines: Vec<&str> = text
        .as_bytes()
        .chunks(64)
        .map(|line| std::str::from_utf8(line).expect("base64 is ASCII"))
        .collect();
    format!(
        "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
        lines.join("\n")
    )
}

/// Byte surgery on DER for the attacks the portal must refuse: certificates and signed requests
/// changed in place, each change keeping every length, so that no encoder tidies them up.
pub mod surgery {
    /// One DER element: its tag, where it starts, where its value starts and where it ends.
    #[derive(Debug, Clone, Copy)]
    struct Element {
        tag: u8,
        start: usize,
        value: usize,
        end: usize,
    }

    fn element(der: &[u8], start: usize) -> Element {
        let tag = der[start];
        let first = der[start + 1];
        let (length, header) = if first < 0x80 {
            (usize::from(first), 2)
        } else {
            let n = usize::from(first & 0x7F);
            let length = der[start + 2..start + 2 + n]
                .iter()
                .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
            (length, 2 + n)
        };
        Element {
            tag,
            start,
            value: start + header,
            end: start + header + length,
        }
    }

    fn children(der: &[u8], parent: Element) -> Vec<Element> {
        let mut out = Vec::new();
        let mut at = parent.value;
        while at < parent.end {
            let child = element(der, at);
            at = child.end;
            out.push(child);
        }
        out
    }

    /// The certificate set ([0] of SignedData) and the first SignerInfo's sid.
    fn signed_data_parts(cms: &[u8]) -> (Element, Element) {
        let content_info = element(cms, 0);
        let explicit = children(cms, content_info)[1];
        let signed_data = children(cms, explicit)[0];
        let parts = children(cms, signed_data);
        let certificates = *parts
            .iter()
            .find(|e| e.tag == 0xA0)
            .expect("a certificate set");
        let signer_infos = *parts.last().expect("signer infos");
        let signer_info = children(cms, signer_infos)[0];
        let sid = children(cms, signer_info)[1];
        (certificates, sid)
    }

    /// The serial number and issuer elements of a certificate.
    fn serial_and_issuer(certificate: &[u8]) -> (Element, Element) {
        let tbs = children(certificate, element(certificate, 0))[0];
        let fields = children(certificate, tbs);
        // version [0], serialNumber, signature, issuer
        (fields[1], fields[3])
    }

    /// `C=RU` as a PrintableString, and the same country in lower case: OpenSSL compares names
    /// in a canonical form (case and spaces folded), so the two are the same name to it and
    /// different bytes to anything comparing DER.
    const COUNTRY: [u8; 4] = [0x13, 0x02, b'R', b'U'];
    const COUNTRY_FOLDED: [u8; 4] = [0x13, 0x02, b'r', b'u'];

    fn fold_country(der: &mut [u8], within: (usize, usize)) {
        let at = der[within.0..within.1]
            .windows(COUNTRY.len())
            .position(|w| w == COUNTRY)
            .expect("C=RU in the name")
            + within.0;
        der[at..at + COUNTRY.len()].copy_from_slice(&COUNTRY_FOLDED);
    }

    /// A forged certificate: `victim`'s (its subject, SNILS, key) with `signer`'s serial number,
    /// and the issuer's country in lower case when `folded_issuer` (the same issuer to OpenSSL).
    /// Its signature no longer matches: nothing but a careless reader would look at it.
    pub fn decoy(victim: &[u8], signer: &[u8], folded_issuer: bool) -> Vec<u8> {
        let mut decoy = victim.to_vec();
        let (victim_serial, victim_issuer) = serial_and_issuer(victim);
        let (signer_serial, _) = serial_and_issuer(signer);
        let serial = &signer[signer_serial.start..signer_serial.end];
        assert_eq!(
            victim_serial.end - victim_serial.start,
            serial.len(),
            "the two certificates' serial numbers must have the same length"
        );
        decoy[victim_serial.start..victim_serial.end].copy_from_slice(serial);
        if folded_issuer {
            fold_country(&mut decoy, (victim_issuer.value, victim_issuer.end));
        }
        decoy
    }

    /// The signed request with the signer's issuer in its SignerInfo (which the signature does
    /// not cover) written with the country in lower case.
    pub fn fold_signer_issuer(cms: &[u8]) -> Vec<u8> {
        let mut cms = cms.to_vec();
        let (_, sid) = signed_data_parts(&cms);
        let issuer = children(&cms, sid)[0];
        fold_country(&mut cms, (issuer.value, issuer.end));
        cms
    }

    /// The certificates of a signed request, in the order of its bytes.
    pub fn certificates(cms: &[u8]) -> Vec<Vec<u8>> {
        let (set, _) = signed_data_parts(cms);
        children(cms, set)
            .into_iter()
            .map(|c| cms[c.start..c.end].to_vec())
            .collect()
    }

    /// The signed request with `first` moved to the front of its certificate set (OpenSSL takes
    /// the first certificate that matches the signer).
    pub fn with_certificate_first(cms: &[u8], first: &[u8]) -> Vec<u8> {
        let (set, _) = signed_data_parts(cms);
        let mut ordered = Vec::new();
        let mut rest = Vec::new();
        for certificate in certificates(cms) {
            if certificate == first {
                ordered.extend(certificate);
            } else {
                rest.extend(certificate);
            }
        }
        assert!(!ordered.is_empty(), "the certificate is not in the set");
        ordered.extend(rest);
        let mut out = cms.to_vec();
        out[set.value..set.end].copy_from_slice(&ordered);
        out
    }
}

/// Revokes `certificate` in the PKI in `pki` (`podpis-vcard pki revoke`): a card's certificate,
/// or the issuing CA's own; the CRLs are written again.
pub fn revoke(pki: &Path, certificate: &Path) {
    let out = Command::new(bin("podpis-vcard"))
        .env("OPENSSL_CONF", gost_conf())
        .args(["pki", "revoke", "--dir"])
        .arg(pki)
        .arg("--cert")
        .arg(certificate)
        .output()
        .expect("revoke");
    assert!(
        out.status.success(),
        "revoke: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A free TCP port on loopback, as the kernel hands them out. It is free when this returns, not
/// reserved: the responder binds it a few milliseconds later.
/// A test PKI of a test's own, in a fresh directory, so that revoking its issuing CA disturbs no
/// other test. With OCSP, its certificates name a responder for each CA on loopback, and it runs
/// them (`podpis-vcard pki ocsp`, which becomes `openssl ocsp`) for as long as it lives.
///
/// The responders' ports are chosen before the PKI is made, because the URLs go into its
/// certificates and the issuing CA's certificate is made with the PKI: free ports the kernel
/// picks (never a fixed one, which parallel tests and other programs would fight over), then
/// handed to `pki init` and to `openssl ocsp -port`, which cannot be given a bound socket.
/// (OpenSSL 3.0's responder takes no address either: it listens on every interface, `[::]`,
/// while the certificates name 127.0.0.1.)
pub struct OwnPki {
    pub dir: PathBuf,
    responders: Vec<Responder>,
}

struct Responder {
    ca: &'static str,
    port: u16,
    process: Option<(Child, std::process::ChildStdout)>,
}

impl OwnPki {
    pub fn new() -> Self {
        Self::make(false)
    }

    pub fn with_ocsp() -> Self {
        Self::make(true)
    }

    fn make(ocsp: bool) -> Self {
        let dir = tempfile::Builder::new()
            .prefix("own-pki-")
            .tempdir_in(scratch())
            .expect("dir")
            .keep();
        let mut responders = Vec::new();
        let mut init = Command::new(bin("podpis-vcard"));
        init.env("OPENSSL_CONF", gost_conf())
            .args(["pki", "init", "--dir"])
            .arg(&dir);
        if ocsp {
            for ca in ["root", "issuing"] {
                let port = crate::screen::free_port();
                let option = if ca == "root" {
                    "--root-ocsp"
                } else {
                    "--ca-ocsp"
                };
                init.args([option, &format!("http://127.0.0.1:{port}")]);
                responders.push(Responder {
                    ca,
                    port,
                    process: None,
                });
            }
        }
        let out = init.output().expect("pki init");
        assert!(
            out.status.success(),
            "pki init: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let mut pki = Self { dir, responders };
        pki.start_responders();
        pki
    }

    /// Starts the responders that are not running, and waits until each listens.
    pub fn start_responders(&mut self) {
        for responder in &mut self.responders {
            if responder.process.is_some() {
                continue;
            }
            let mut child = Command::new(bin("podpis-vcard"))
                .env("OPENSSL_CONF", gost_conf())
                .args(["pki", "ocsp", "--dir"])
                .arg(&self.dir)
                .args(["--ca", responder.ca, "--port", &responder.port.to_string()])
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()
                .expect("start the OCSP responder");
            let stdout = child.stdout.take().expect("stdout");
            let mut reader = BufReader::new(stdout);
            let mut line = String::new();
            reader
                .read_line(&mut line)
                .expect("the responder's first line");
            // openssl ocsp says `ACCEPT [::]:PORT PID=...` once it listens.
            assert!(
                line.starts_with("ACCEPT ") && line.contains(&format!(":{} ", responder.port)),
                "the {} responder did not start on port {}: {line:?}",
                responder.ca,
                responder.port
            );
            responder.process = Some((child, reader.into_inner()));
        }
    }

    /// Stops the responders: their CAs' status can no longer be asked.
    pub fn stop_responders(&mut self) {
        for responder in &mut self.responders {
            if let Some((mut child, _)) = responder.process.take() {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
    }

    /// Has each running responder read its CA's database again, after a certificate was issued
    /// or revoked: `openssl ocsp` notices a changed database only between two requests (see
    /// `vcard::pki::Pki::ocsp_responder`), so one throwaway request each makes the next answer
    /// current.
    pub fn refresh_responders(&self) {
        use std::io::{Read, Write};
        for responder in &self.responders {
            if responder.process.is_none() {
                continue;
            }
            let mut stream =
                std::net::TcpStream::connect(("127.0.0.1", responder.port)).expect("connect");
            stream
                .set_read_timeout(Some(Duration::from_secs(10)))
                .expect("timeout");
            stream.write_all(b"GET / HTTP/1.0\r\n\r\n").expect("write");
            let mut answer = Vec::new();
            let _ = stream.read_to_end(&mut answer);
        }
    }

    /// The profile's key and a certificate of its own from this PKI (the responders told).
    pub fn signer(&self, profile: &str) -> Signer {
        let signer = Signer::for_profile_in(profile, &self.dir);
        self.refresh_responders();
        signer
    }

    pub fn ca_certificate(&self) -> PathBuf {
        self.dir.join("ca.pem")
    }

    pub fn revoke(&self, certificate: &Path) {
        revoke(&self.dir, certificate);
        self.refresh_responders();
    }
}

impl Default for OwnPki {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for OwnPki {
    fn drop(&mut self) {
        self.stop_responders();
    }
}

/// Issues a certificate from the test CA with custom subject and extensions (for the portal's
/// refusals that no card profile earns), under the PKI's lock.
pub fn issue_custom(subject: &str, extensions: &str) -> Signer {
    crate::ensure_pki();
    let dir = tempfile::Builder::new()
        .prefix("custom-")
        .tempdir_in(scratch())
        .expect("dir")
        .keep();
    let key = dir.join("key.pem");
    let csr = dir.join("req.csr");
    let pem = dir.join("cert.pem");
    let der = dir.join("cert.der");
    let ext = dir.join("ext.cnf");
    fs::write(&ext, format!("[custom]\n{extensions}\n")).expect("ext");
    let run = |args: &[&str]| {
        let (ok, _, err) = openssl_output(args);
        assert!(ok, "openssl {args:?}: {err}");
    };
    run(&[
        "genpkey",
        "-algorithm",
        "gost2012_256",
        "-pkeyopt",
        "paramset:A",
        "-out",
        &key.to_string_lossy(),
    ]);
    run(&[
        "req",
        "-new",
        "-utf8",
        "-key",
        &key.to_string_lossy(),
        "-subj",
        subject,
        "-out",
        &csr.to_string_lossy(),
        "-config",
        &pki_dir().join("openssl.cnf").to_string_lossy(),
    ]);
    let lock = fs::File::create(pki_dir().join(".lock")).expect("lock");
    lock.lock().expect("pki lock");
    run(&[
        "ca",
        "-batch",
        "-utf8",
        "-preserveDN",
        "-notext",
        "-config",
        &pki_dir().join("openssl.cnf").to_string_lossy(),
        "-name",
        "issuing_ca",
        "-extfile",
        &ext.to_string_lossy(),
        "-extensions",
        "custom",
        "-days",
        "30",
        "-in",
        &csr.to_string_lossy(),
        "-out",
        &pem.to_string_lossy(),
    ]);
    drop(lock);
    run(&[
        "x509",
        "-in",
        &pem.to_string_lossy(),
        "-outform",
        "DER",
        "-out",
        &der.to_string_lossy(),
    ]);
    Signer::from_files(&key, &der)
}
