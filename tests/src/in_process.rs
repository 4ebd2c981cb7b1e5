//! The virtual card in-process: `vcard`'s applets behind `signing`'s [`Transport`] trait, so that
//! the drivers meet the card without pcscd (the house style's third level of tests, between the
//! scripted transport and the whole stack). The adapter lives here, in the one crate that uses
//! both: the card must not depend on `signing`, so that the two cannot share a misreading of
//! docs/cards.md.
//!
//! The card signs with OpenSSL's GOST engine, which OpenSSL loads from `OPENSSL_CONF` once, when
//! the process first initialises it. Setting the variable from inside a running test would race
//! with every other thread of the test harness (and with an OpenSSL already initialised), so a test
//! that drives the card runs its body in a child process of its own binary, started with
//! `OPENSSL_CONF` set: [`with_gost_engine`].

use std::path::PathBuf;
use std::process::Command;

use signing::card::atr::Atr;
use signing::card::{CardError, Transport};
use tempfile::TempDir;

use crate::{gost_conf, pki_dir, scratch};

/// Set in the child process that runs a test's body with the GOST engine loaded.
const CHILD: &str = "PODPIS_TESTS_GOST_ENGINE_CHILD";

/// Runs `body` with the GOST engine loaded in the process: in a child process of this test binary
/// that runs only the test `test` (its exact name), with `OPENSSL_CONF` set. The parent checks
/// that the child ran exactly that test and that it passed, and shows the child's output when not.
pub fn with_gost_engine(test: &str, body: impl FnOnce()) {
    if std::env::var_os(CHILD).is_some() {
        body();
        return;
    }
    let exe = std::env::current_exe().expect("current test binary");
    let out = Command::new(&exe)
        .args([test, "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD, "1")
        .env("OPENSSL_CONF", gost_conf())
        .output()
        .expect("run the test in a child process");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stdout.contains("test result: ok. 1 passed"),
        "{test} failed in its child process ({}):\n{stdout}\n{stderr}",
        out.status
    );
}

/// A virtual card in this process: a fresh card of a profile, its state in a directory of its
/// own, its certificate from the test PKI the pcscd tests share.
pub struct InProcessCard {
    applet: Box<dyn vcard::Applet>,
    extended: bool,
    state: TempDir,
    /// CLA INS P1 P2 of every command the card received (never the data: no PIN is kept).
    headers: Vec<[u8; 4]>,
}

impl InProcessCard {
    /// Needs the GOST engine in this process: call it inside [`with_gost_engine`].
    pub fn new(profile: &str) -> Self {
        let profile = crate::profile(profile);
        let state = tempfile::Builder::new()
            .prefix(&format!("in-process-{}-", profile.name))
            .tempdir_in(scratch())
            .expect("state dir");
        let card = vcard::open(profile, &pki_dir(), state.path())
            .unwrap_or_else(|e| panic!("the virtual card {}: {e}", profile.name));
        let applet = vcard::applet(profile, card);
        // As the PC/SC transport does: extended length only when the ATR announces it.
        let extended = Atr::parse(&applet.atr()).is_ok_and(|atr| atr.supports_extended_length());
        Self {
            applet,
            extended,
            state,
            headers: Vec::new(),
        }
    }

    pub fn atr(&self) -> Vec<u8> {
        self.applet.atr()
    }

    /// The card's certificate (key 01), as the test PKI issued it into the card's state.
    pub fn certificate(&self) -> Vec<u8> {
        std::fs::read(self.state_dir().join("cert-01.der")).expect("certificate")
    }

    pub fn state_dir(&self) -> PathBuf {
        self.state.path().to_path_buf()
    }

    /// Power off and on: the security state goes, the PIN counter stays.
    pub fn reset(&mut self) {
        self.applet.reset();
    }

    /// The instruction bytes the card received, in order.
    pub fn instructions(&self) -> Vec<u8> {
        self.headers.iter().map(|h| h[1]).collect()
    }
}

impl Transport for InProcessCard {
    fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, CardError> {
        if let Some(header) = apdu.first_chunk::<4>() {
            self.headers.push(*header);
        }
        Ok(self.applet.process(apdu))
    }

    fn supports_extended(&self) -> bool {
        self.extended
    }
}
