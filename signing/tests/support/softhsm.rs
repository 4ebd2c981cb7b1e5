//! A SoftHSM2 token of the test's own (its configuration and token directory in a temporary
//! directory), set up with OpenSC's `pkcs11-tool` and `softhsm2-util` as a user would, and the
//! child process that loads it.
//!
//! SoftHSM2 reads `SOFTHSM2_CONF` from the environment when it is loaded. Setting a variable in a
//! test process that runs threads is racy (and `unsafe` from Rust 2024 on), so a test that loads
//! the module runs twice: the parent sets up the token and re-runs the same test binary on that
//! one test with the variable in the child's environment only ([`SoftHsm::run_in_child`]); the
//! child does the work and its exit status is the test's result.

#![allow(dead_code)]

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Debian's SoftHSM2 module (package `softhsm2`).
pub const SOFTHSM: &str = "/usr/lib/softhsm/libsofthsm2.so";
/// OpenSC's logging module: loads the module named by `PKCS11SPY` and writes every call, with its
/// arguments and return code, to `PKCS11SPY_OUTPUT`.
pub const SPY: &str = "/usr/lib/x86_64-linux-gnu/pkcs11/pkcs11-spy.so";

pub const USER_PIN: &str = "123456";
pub const SO_PIN: &str = "87654321";
pub const LABEL: &str = "podpis-test";

/// Set in the child: the test's directory (configuration, CA, spy log).
const CHILD_VARIABLE: &str = "PODPIS_TEST_SOFTHSM_DIR";

pub struct SoftHsm {
    _dir: Option<tempfile::TempDir>,
    pub root: PathBuf,
}

impl SoftHsm {
    /// In the child: the parent's token. `None` in the parent.
    pub fn in_child() -> Option<Self> {
        std::env::var_os(CHILD_VARIABLE).map(|root| Self {
            _dir: None,
            root: PathBuf::from(root),
        })
    }

    /// A fresh configuration and token directory, and an initialised token.
    pub fn new() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path().to_path_buf();
        std::fs::create_dir(root.join("tokens")).expect("tokens");
        std::fs::write(
            root.join("softhsm2.conf"),
            format!(
                "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\n",
                root.join("tokens").display()
            ),
        )
        .expect("conf");
        let hsm = Self {
            _dir: Some(dir),
            root,
        };
        hsm.run(Command::new("softhsm2-util").args([
            "--init-token",
            "--free",
            "--label",
            LABEL,
            "--so-pin",
            SO_PIN,
            "--pin",
            USER_PIN,
        ]));
        hsm
    }

    pub fn conf(&self) -> PathBuf {
        self.root.join("softhsm2.conf")
    }

    pub fn spy_log(&self) -> PathBuf {
        self.root.join("spy.log")
    }

    fn run(&self, cmd: &mut Command) -> Vec<u8> {
        let out = cmd
            .env("SOFTHSM2_CONF", self.conf())
            .output()
            .unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
        assert!(
            out.status.success(),
            "{cmd:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    }

    fn tool(&self) -> Command {
        let mut cmd = Command::new("pkcs11-tool");
        cmd.args(["--module", SOFTHSM]);
        cmd
    }

    /// A key pair made inside the token (`--keypairgen`), its public key read back, and a
    /// certificate for it from `ca` written beside it under the same `CKA_ID`.
    pub fn key_with_certificate(
        &self,
        ca: &super::pki::Ca,
        key_type: &str,
        id: &str,
        label: &str,
        always_authenticate: bool,
    ) -> Vec<u8> {
        let mut gen = self.tool();
        gen.args(["--login", "--pin", USER_PIN, "--keypairgen", "--key-type"])
            .args([key_type, "--id", id, "--label", label]);
        if always_authenticate {
            gen.arg("--always-auth");
        }
        self.run(&mut gen);
        let public = self.root.join(format!("{id}.pub.der"));
        self.run(
            self.tool()
                .args(["--read-object", "--type", "pubkey", "--id", id, "-o"])
                .arg(&public),
        );
        let certificate = ca.issue(label, &std::fs::read(&public).expect("public key"));
        let cert_path = self.root.join(format!("{id}.cert.der"));
        std::fs::write(&cert_path, &certificate).expect("cert");
        self.run(
            self.tool()
                .args(["--login", "--pin", USER_PIN, "--write-object"])
                .arg(&cert_path)
                .args(["--type", "cert", "--id", id, "--label", label]),
        );
        certificate
    }

    /// Re-runs this test binary on the test `name`, with `SOFTHSM2_CONF` (and the spy's
    /// variables) in the child's environment only, and fails if the child fails.
    pub fn run_in_child(&self, name: &str) {
        let exe = std::env::current_exe().expect("current exe");
        let envs: Vec<(&str, OsString)> = vec![
            (CHILD_VARIABLE, self.root.clone().into()),
            ("SOFTHSM2_CONF", self.conf().into()),
            ("PKCS11SPY", SOFTHSM.into()),
            ("PKCS11SPY_OUTPUT", self.spy_log().into()),
        ];
        let out = Command::new(exe)
            .args(["--exact", name, "--nocapture", "--test-threads", "1"])
            .envs(envs)
            .env_remove("OPENSSL_CONF")
            .output()
            .expect("child");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.status.success(), "child {name} failed:\n{text}");
        assert!(
            text.contains("1 passed"),
            "the child ran no test named {name}:\n{text}"
        );
    }

    /// The functions the spy saw called, in order.
    pub fn spy_functions(&self) -> Vec<String> {
        let log = std::fs::read_to_string(self.spy_log()).unwrap_or_default();
        log.lines()
            .filter_map(|line| {
                line.split_once(": ")
                    .filter(|(n, _)| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()))
                    .map(|(_, f)| f.trim().to_owned())
            })
            .collect()
    }

    /// How many times the spy saw `function` called.
    pub fn spy_calls(&self, function: &str) -> usize {
        self.spy_functions()
            .iter()
            .filter(|f| *f == function)
            .count()
    }

    /// The `userType` of every `C_Login` the spy saw, in order.
    pub fn spy_login_types(&self) -> Vec<String> {
        let log = std::fs::read_to_string(self.spy_log()).unwrap_or_default();
        let mut types = Vec::new();
        let mut in_login = false;
        for line in log.lines() {
            if let Some((n, f)) = line.split_once(": ") {
                if n.chars().all(|c| c.is_ascii_digit()) {
                    in_login = f == "C_Login";
                    continue;
                }
            }
            if in_login {
                if let Some(t) = line.strip_prefix("[in] userType = ") {
                    types.push(t.trim().to_owned());
                }
            }
        }
        types
    }

    pub fn ca_pem(&self) -> PathBuf {
        self.root.join("ca.pem")
    }
}

pub fn exists() -> bool {
    Path::new(SOFTHSM).exists() && Path::new(SPY).exists()
}
