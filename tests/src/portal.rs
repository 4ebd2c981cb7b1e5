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

    /// A seeded portal on a free port, trusting the test PKI's root and CA, with its CRL.
    pub fn start(extra: &[&str]) -> Self {
        crate::ensure_pki();
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
            args.extend([
                "--trust".into(),
                pki_dir().join(trust).display().to_string(),
            ]);
        }
        for crl in ["crl.pem", "root-crl.pem"] {
            args.extend(["--crl".into(), pki_dir().join(crl).display().to_string()]);
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
        let response = Self::http()
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
    pub fn for_profile(profile: &str) -> Self {
        crate::ensure_pki();
        let state = tempfile::Builder::new()
            .prefix(&format!("signer-{profile}-"))
            .tempdir_in(scratch())
            .expect("dir")
            .keep();
        let out = Command::new(bin("podpis-vcard"))
            .env("OPENSSL_CONF", gost_conf())
            .args(["--profile", profile, "--prepare-only", "--pki"])
            .arg(pki_dir())
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
        let dir = tempfile::tempdir_in(scratch()).expect("tmp");
        let input = dir.path().join("document.json");
        let output = dir.path().join("request.p7s");
        fs::write(&input, content).expect("write");
        let md = match self.info.algorithm.as_str() {
            "gost2012-512" => "md_gost12_512",
            "gost2001" => "md_gost94",
            _ => "md_gost12_256",
        };
        let (ok, _, err) = openssl_output(&[
            "cms",
            "-sign",
            "-cades",
            "-binary",
            "-nodetach",
            "-md",
            md,
            "-outform",
            "DER",
            "-signer",
            &self.cert_pem.to_string_lossy(),
            "-inkey",
            &self.key.to_string_lossy(),
            "-in",
            &input.to_string_lossy(),
            "-out",
            &output.to_string_lossy(),
        ]);
        assert!(ok, "openssl cms -sign: {err}");
        fs::read(output).expect("cms")
    }

    /// A full request for `challenge`: the canonical document, signed.
    pub fn request(&self, account: &str, challenge: &Challenge) -> Vec<u8> {
        self.sign(&self.document(account, challenge).to_canonical_json())
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
