//! What the tests share: the built modules, a token made with `openssl` and the GOST engine, and
//! the third-party programs (OpenSC's `pkcs11-tool`, `openssl`) run as child processes, with
//! `OPENSSL_CONF` set on the child only.

#![allow(dead_code)] // Each test file uses its own part.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use pkcs11_test_module::store::{ObjectFile, PinState, TokenFile, DIR_VARIABLE};

pub const PIN: &str = "12345678";
pub const SO_PIN: &str = "87654321";
pub const LABEL: &str = "Podpis GOST test";
pub const SERIAL: &str = "P11TEST0001";

pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("repo root")
}

/// The OpenSSL configuration that loads the GOST engine, for child processes only.
pub fn gost_conf() -> PathBuf {
    repo().join("config/openssl-gost.cnf")
}

/// `target/<profile>` of the running test binary (which lives in its `deps/`).
pub fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("current exe");
    let deps = exe.parent().expect("deps dir");
    deps.parent().expect("target dir").to_path_buf()
}

/// A module built by this test run: `deps/` has the one the test build just made (a cdylib has no
/// hash in its name); `target/<profile>/` the one of the last `cargo build`.
fn built_module(crate_name: &str) -> PathBuf {
    let file = format!("lib{crate_name}.so");
    let target = target_dir();
    [target.join("deps").join(&file), target.join(&file)]
        .into_iter()
        .find(|path| path.exists())
        .unwrap_or_else(|| {
            panic!("{file} is missing: `cargo build -p pkcs11-test-module` builds it")
        })
}

pub fn test_module() -> PathBuf {
    built_module("pkcs11_test_module")
}

pub fn abort_module() -> PathBuf {
    built_module("pkcs11_abort_module")
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Size {
    Gost256,
    Gost512,
}

impl Size {
    pub fn digest_name(self) -> &'static str {
        match self {
            Self::Gost256 => "-md_gost12_256",
            Self::Gost512 => "-md_gost12_512",
        }
    }
}

/// One key pair of the token, its certificate self-signed by the key.
pub struct TokenKey {
    pub id: &'static str,
    pub label: &'static str,
    pub size: Size,
    pub certificate: PathBuf,
    pub key: PathBuf,
}

/// A token directory: GOST 2012-256 (id 01) and 2012-512 (id 02) keys with their certificates,
/// the PINs of [`PIN`] and [`SO_PIN`], three tries each.
pub struct Token {
    dir: tempfile::TempDir,
    pub keys: Vec<TokenKey>,
}

impl Token {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().expect("token dir");
        let keys = vec![
            make_key(dir.path(), "01", "GOST 2012-256", Size::Gost256),
            make_key(dir.path(), "02", "GOST 2012-512", Size::Gost512),
        ];
        let token = Self { dir, keys };
        token.write(|_| {});
        PinState {
            user_pin: PIN.into(),
            user_tries_left: None,
            so_pin: SO_PIN.into(),
            so_tries_left: None,
        }
        .save(token.path())
        .expect("state.json");
        token
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn key(&self, size: Size) -> &TokenKey {
        self.keys.iter().find(|k| k.size == size).expect("key")
    }

    /// Rewrites `token.json`, changed by `change`.
    pub fn write(&self, change: impl FnOnce(&mut TokenFile)) {
        let mut file = TokenFile {
            label: LABEL.into(),
            serial: SERIAL.into(),
            user_pin_max_tries: 3,
            so_pin_max_tries: 3,
            pin_pad_entry: None,
            objects: self
                .keys
                .iter()
                .map(|k| ObjectFile {
                    id: k.id.into(),
                    label: k.label.into(),
                    certificate: k.certificate.file_name().expect("name").into(),
                    key: Some(k.key.file_name().expect("name").into()),
                    always_authenticate: false,
                })
                .collect(),
        };
        change(&mut file);
        file.save(self.path()).expect("token.json");
    }

    pub fn pin_state(&self) -> PinState {
        PinState::load(self.path()).expect("state.json")
    }

    /// A scratch file in the token's directory.
    pub fn file(&self, name: &str, contents: &[u8]) -> PathBuf {
        let path = self.path().join(name);
        fs::write(&path, contents).expect("write");
        path
    }
}

fn make_key(dir: &Path, id: &'static str, label: &'static str, size: Size) -> TokenKey {
    let (algorithm, digest) = match size {
        Size::Gost256 => ("gost2012_256", "-md_gost12_256"),
        Size::Gost512 => ("gost2012_512", "-md_gost12_512"),
    };
    let key = dir.join(format!("key-{id}.pem"));
    let certificate = dir.join(format!("cert-{id}.der"));
    let out = openssl()
        .args([
            "req",
            "-x509",
            "-newkey",
            algorithm,
            "-pkeyopt",
            "paramset:A",
            "-nodes",
        ])
        .arg("-keyout")
        .arg(&key)
        .args([
            "-subj",
            &format!("/CN=pkcs11-test-module {label}"),
            "-days",
            "30",
            digest,
        ])
        .args(["-outform", "DER", "-out"])
        .arg(&certificate)
        .output()
        .expect("run openssl");
    assert!(out.status.success(), "openssl req: {}", stderr(&out));
    TokenKey {
        id,
        label,
        size,
        certificate,
        key,
    }
}

/// `openssl` with the GOST engine.
pub fn openssl() -> Command {
    let mut command = Command::new("openssl");
    command.env("OPENSSL_CONF", gost_conf());
    command
}

/// OpenSC's `pkcs11-tool` on the test module, with the token of `token` (none: an empty slot) and
/// the GOST engine for the module's signatures.
pub fn pkcs11_tool(token: Option<&Token>, args: &[&str]) -> Output {
    let mut command = Command::new("pkcs11-tool");
    command
        .arg("--module")
        .arg(test_module())
        .args(args)
        .env("OPENSSL_CONF", gost_conf());
    match token {
        Some(token) => command.env(DIR_VARIABLE, token.path()),
        None => command.env_remove(DIR_VARIABLE),
    };
    command.output().expect("run pkcs11-tool (OpenSC)")
}

pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The digest OpenSSL computes over `data` (`openssl dgst -binary`).
pub fn openssl_digest(size: Size, data: &Path) -> Vec<u8> {
    let out = openssl()
        .args(["dgst", size.digest_name(), "-binary"])
        .arg(data)
        .output()
        .expect("openssl dgst");
    assert!(out.status.success(), "openssl dgst: {}", stderr(&out));
    out.stdout
}

/// Whether OpenSSL accepts `signature` as the signature of `data` by the certificate's key:
/// `openssl dgst -verify`, the check OpenSSL makes of a CMS or certificate signatureValue (s ‖ r).
pub fn openssl_verifies(key: &TokenKey, data: &Path, signature: &[u8]) -> bool {
    let dir = tempfile::tempdir().expect("tmp");
    let public = dir.path().join("pub.pem");
    let sig = dir.path().join("sig");
    fs::write(&sig, signature).expect("write");
    let out = openssl()
        .args(["x509", "-inform", "DER", "-noout", "-pubkey", "-in"])
        .arg(&key.certificate)
        .arg("-out")
        .arg(&public)
        .output()
        .expect("openssl x509");
    assert!(out.status.success(), "openssl x509: {}", stderr(&out));
    openssl()
        .args(["dgst", key.size.digest_name(), "-verify"])
        .arg(&public)
        .arg("-signature")
        .arg(&sig)
        .arg(data)
        .output()
        .expect("openssl dgst -verify")
        .status
        .success()
}
