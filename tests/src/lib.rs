//! Harness for the end-to-end tests: real pcscd with vsmartcard's vpcd readers, the real
//! `podpis-vcard` and `podpis` binaries, and OpenSSL with the GOST engine as the independent
//! verifier. Nothing here is a mock.
//!
//! Debian's vpcd driver gives pcscd exactly two readers (its sockets are kept per slot, so more
//! reader.conf entries overwrite each other: measured). Tests therefore lease a reader under a
//! file lock, across the processes nextest runs them in, and wait their turn.

use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub use signing;

pub mod browser;
pub mod desktop;
pub mod in_process;
pub mod memory;
pub mod portal;
pub mod proxy;
pub mod screen;
pub mod tokens;
pub mod user;

/// vpcd's two readers and the ports their cards connect to.
pub const READERS: [(&str, u16); 2] = [("Virtual PCD 00 00", 35963), ("Virtual PCD 00 01", 35964)];

/// The PIN of every virtual card profile.
pub const PIN: &str = testdata::PIN;

pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("repo root")
        .to_path_buf()
}

/// `target/<profile>` of the running test or bench binary.
pub fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("current exe");
    let dir = exe.parent().expect("target dir");
    // Test binaries live in target/<profile>/deps, other binaries in target/<profile>.
    match dir.file_name() {
        Some(name) if name == "deps" => dir.parent().expect("target dir").to_path_buf(),
        _ => dir.to_path_buf(),
    }
}

/// A binary of the workspace, built before the tests (`make test` builds them).
pub fn bin(name: &str) -> PathBuf {
    let path = target_dir().join(name);
    assert!(
        path.exists(),
        "{} is missing: build the binaries first (`cargo build --workspace --bins`, done by `make test`)",
        path.display()
    );
    path
}

/// The OpenSSL configuration that loads the GOST engine, for child processes only.
pub fn gost_conf() -> PathBuf {
    repo().join("config/openssl-gost.cnf")
}

/// Scratch space of the test run, under the target directory.
pub fn scratch() -> PathBuf {
    let dir = target_dir().join("podpis-tests");
    fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

/// The test PKI shared by all tests of a run (the virtual card creates it under a lock).
pub fn pki_dir() -> PathBuf {
    scratch().join("pki")
}

/// One virtual card profile and its person, from the test persons (the `testdata` crate).
pub fn profile(name: &str) -> &'static testdata::Profile {
    testdata::profile(name).unwrap_or_else(|| panic!("no profile {name}"))
}

/// One sandbox portal account (a profile's person, or an account without a card).
pub fn account(name: &str) -> testdata::Account {
    testdata::account(name).unwrap_or_else(|| panic!("no account {name}"))
}

/// A vpcd reader held by this test until dropped.
pub struct ReaderLease {
    pub name: &'static str,
    pub port: u16,
    _lock: File,
}

impl ReaderLease {
    /// Waits for a free reader. Each test holds one for seconds, so the wait is bounded.
    pub fn acquire() -> Self {
        ensure_pcscd();
        let deadline = Instant::now() + Duration::from_secs(600);
        loop {
            for (name, port) in READERS {
                let path = std::env::temp_dir().join(format!("podpis-test-reader-{port}.lock"));
                let file = File::create(&path).expect("lock file");
                if file.try_lock().is_ok() {
                    let lease = Self {
                        name,
                        port,
                        _lock: file,
                    };
                    // A card left behind by a killed test run must not confuse this one.
                    wait_for_card(name, false, Duration::from_secs(10))
                        .unwrap_or_else(|_| panic!("{name} still has a card from someone else"));
                    return lease;
                }
            }
            assert!(
                Instant::now() < deadline,
                "no vpcd reader became free in 10 minutes"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// Held while a test takes both readers. Every test that takes two readers queues here first, so
/// that two of them cannot each hold one reader and wait for the other; tests that take one reader
/// do not wait for more, so they cannot hold this up for long.
pub fn two_reader_queue() -> File {
    let path = std::env::temp_dir().join("podpis-test-two-readers.lock");
    let file = File::create(&path).expect("lock file");
    file.lock().expect("lock");
    file
}

/// A virtual card alone on the readers: the other reader is held empty, so that a program that
/// talks to every card it sees (OpenSC's PKCS#11 module, `opensc-tool`) meets only this one and
/// never another test's card.
pub struct Alone {
    pub card: VirtualCard,
    _other: ReaderLease,
    _queue: File,
}

impl Alone {
    pub fn start(profile: &str) -> Self {
        let queue = two_reader_queue();
        let (first, other) = (ReaderLease::acquire(), ReaderLease::acquire());
        let state = tempfile::Builder::new()
            .prefix(&format!("card-{profile}-"))
            .tempdir_in(scratch())
            .expect("state dir")
            .keep();
        Self {
            card: VirtualCard::insert(first, profile, &state, &[]),
            _other: other,
            _queue: queue,
        }
    }
}

/// Fails the test with a useful message when pcscd or the vpcd readers are missing.
pub fn ensure_pcscd() {
    match signing::token::list_readers() {
        Ok(readers) => {
            for (name, _) in READERS {
                assert!(
                    readers.iter().any(|r| r.reader == name),
                    "reader {name} is missing: is vsmartcard-vpcd installed? Run `make setup`."
                );
            }
        }
        Err(e) => panic!("pcscd is not usable ({e}): run `make setup` to install and start it"),
    }
}

/// Waits until `reader` has a working card (`present`), or no card at all. A card pcscd could
/// not power up (MUTE) is no working card, but it is not gone either: a card inserted before pcscd
/// saw the previous one leave would inherit that state and never be powered up.
pub fn wait_for_card(reader: &str, present: bool, timeout: Duration) -> Result<(), String> {
    let deadline = Instant::now() + timeout;
    let ctx = pcsc::Context::establish(pcsc::Scope::User).map_err(|e| e.to_string())?;
    let name = std::ffi::CString::new(reader).map_err(|e| e.to_string())?;
    loop {
        let mut state = [pcsc::ReaderState::new(name.clone(), pcsc::State::UNAWARE)];
        ctx.get_status_change(Some(Duration::ZERO), &mut state)
            .map_err(|e| e.to_string())?;
        let event = state[0].event_state();
        let done = if present {
            event.contains(pcsc::State::PRESENT) && !event.contains(pcsc::State::MUTE)
        } else {
            !event.contains(pcsc::State::PRESENT)
        };
        if done {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(format!("{reader}: state {event:?} after {timeout:?}"));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A running `podpis-vcard` in a leased reader.
pub struct VirtualCard {
    child: Option<Child>,
    pub lease: Option<ReaderLease>,
    pub profile: String,
    pub state: PathBuf,
    log: PathBuf,
}

impl VirtualCard {
    /// Inserts a new card of `profile` (fresh state) into a free reader.
    pub fn start(profile: &str) -> Self {
        Self::start_with(profile, &[])
    }

    /// As [`start`](Self::start), with extra `podpis-vcard` options (faults, say).
    pub fn start_with(profile: &str, extra: &[&str]) -> Self {
        let state = tempfile::Builder::new()
            .prefix(&format!("card-{profile}-"))
            .tempdir_in(scratch())
            .expect("state dir")
            .keep();
        Self::insert(ReaderLease::acquire(), profile, &state, extra)
    }

    /// Inserts a card with an existing state directory into the leased reader.
    pub fn insert(lease: ReaderLease, profile: &str, state: &Path, extra: &[&str]) -> Self {
        let log = state.join(format!("vcard-{}.log", std::process::id()));
        let stderr = File::options()
            .create(true)
            .append(true)
            .open(&log)
            .expect("log");
        let child = Command::new(bin("podpis-vcard"))
            .env("OPENSSL_CONF", gost_conf())
            .args([
                "--profile",
                profile,
                "--port",
                &lease.port.to_string(),
                "--trace",
            ])
            .arg("--pki")
            .arg(pki_dir())
            .arg("--state")
            .arg(state)
            .args(extra)
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .expect("start podpis-vcard");
        let mut card = Self {
            child: Some(child),
            lease: Some(lease),
            profile: profile.to_owned(),
            state: state.to_path_buf(),
            log,
        };
        // Up when the reader sees it; a card process that exits (bad profile, no engine) fails
        // the test at once with its own words.
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if wait_for_card(card.reader(), true, Duration::from_millis(100)).is_ok() {
                break;
            }
            let exited = card
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten());
            if exited.is_some() || Instant::now() > deadline {
                panic!(
                    "the virtual card did not come up (exit {exited:?}); log:\n{}",
                    card.trace()
                );
            }
        }
        card
    }

    pub fn reader(&self) -> &'static str {
        self.lease.as_ref().expect("lease").name
    }

    pub fn signing_reader(&self) -> signing::token::Reader {
        signing::token::Reader::new(self.reader())
    }

    /// The card's certificate (key 01), as issued into its state directory.
    pub fn certificate(&self) -> Vec<u8> {
        fs::read(self.state.join("cert-01.der")).expect("certificate")
    }

    /// What the card saw and answered (`--trace`; PINs are masked by the card).
    pub fn trace(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Pulls the card: stops the process and waits until the reader sees it gone. Returns the
    /// reader, still leased, for a reinsertion.
    pub fn remove(mut self) -> ReaderLease {
        self.stop();
        self.lease.take().expect("lease")
    }

    /// Waits for the card process to end by itself (after `--vanish-after`).
    pub fn wait_exit(&mut self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Some(child) = self.child.as_mut() {
                if child.try_wait().ok().flatten().is_some() {
                    return true;
                }
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }

    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        if let Some(lease) = &self.lease {
            let _ = wait_for_card(lease.name, false, Duration::from_secs(10));
        }
    }
}

impl Drop for VirtualCard {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Verifies a raw GOST signature (s ‖ r, as the card returns it) over `hash` with the public key
/// of `certificate`, using the `openssl` command and the GOST engine: an implementation that
/// shares nothing with ours.
pub fn openssl_verifies(certificate: &[u8], hash: &[u8], signature: &[u8]) -> bool {
    let dir = tempfile::tempdir_in(scratch()).expect("tmp");
    let cert = dir.path().join("cert.der");
    let key = dir.path().join("pub.pem");
    let hash_file = dir.path().join("hash.bin");
    let sig_file = dir.path().join("sig.bin");
    fs::write(&cert, certificate).expect("write");
    fs::write(&hash_file, hash).expect("write");
    fs::write(&sig_file, signature).expect("write");
    let ok = openssl(
        &["x509", "-inform", "DER", "-noout", "-pubkey", "-in"],
        &[&cert],
        Some(&key),
    );
    assert!(ok, "openssl could not read the card's certificate");
    openssl(
        &["pkeyutl", "-verify", "-pubin", "-inkey"],
        &[
            &key,
            Path::new("-in"),
            &hash_file,
            Path::new("-sigfile"),
            &sig_file,
        ],
        None,
    )
}

/// Checks a card's signature as a verifier would: OpenSSL accepts it over `hash` with the key of
/// `certificate`, and refuses it over a hash changed in one bit.
pub fn assert_openssl_verifies(what: &str, certificate: &[u8], hash: &[u8], signature: &[u8]) {
    assert!(
        openssl_verifies(certificate, hash, signature),
        "{what}: OpenSSL rejects the card's signature"
    );
    let mut other = hash.to_vec();
    other[0] ^= 1;
    assert!(
        !openssl_verifies(certificate, &other, signature),
        "{what}: a changed hash still verifies"
    );
}

/// Whether `openssl verify` accepts `certificate` under the test PKI's trusted root.
pub fn openssl_chain_verifies(certificate: &[u8]) -> bool {
    let dir = tempfile::tempdir_in(scratch()).expect("tmp");
    let der = dir.path().join("leaf.der");
    let pem = dir.path().join("leaf.pem");
    fs::write(&der, certificate).expect("write");
    assert!(openssl(
        &["x509", "-inform", "DER", "-in"],
        &[&der, Path::new("-out"), &pem],
        None
    ));
    let root = pki_dir().join("root.pem");
    let ca = pki_dir().join("ca.pem");
    openssl(
        &["verify", "-CAfile"],
        &[&root, Path::new("-untrusted"), &ca, &pem],
        None,
    )
}

/// Runs `openssl` with the GOST engine; true when it exits 0. `stdout_to` captures stdout.
pub fn openssl(args: &[&str], paths: &[&Path], stdout_to: Option<&Path>) -> bool {
    let mut cmd = Command::new("openssl");
    cmd.env("OPENSSL_CONF", gost_conf())
        .args(args)
        .args(paths)
        .stderr(Stdio::null());
    match stdout_to {
        Some(path) => {
            cmd.stdout(File::create(path).expect("out"));
        }
        None => {
            cmd.stdout(Stdio::null());
        }
    }
    cmd.status().map(|s| s.success()).unwrap_or(false)
}

/// Runs the `podpis` CLI; returns exit code and stdout.
pub fn podpis(args: &[&str]) -> (i32, String, String) {
    podpis_with_stdin(args, "")
}

/// Runs the `podpis` CLI with `stdin` as its standard input (a PIN for `--pin-stdin`, say).
pub fn podpis_with_stdin(args: &[&str], stdin: &str) -> (i32, String, String) {
    use std::io::Write;
    let mut child = Command::new(bin("podpis"))
        // Only the PKCS#11 modules a test names (`--pkcs11-module`): a system module (OpenSC's)
        // would talk to the virtual cards of other tests.
        .env("PODPIS_PKCS11_DISCOVERY", "0")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run podpis");
    let mut input = child.stdin.take().expect("stdin");
    input.write_all(stdin.as_bytes()).expect("write stdin");
    drop(input);
    let out = child.wait_with_output().expect("podpis output");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The trusted root and the issuing CA in one file, for `openssl cms -verify -CAfile`
/// (`-certfile` only finds signers; it does not build chains).
pub fn chain_file() -> PathBuf {
    let path = scratch().join("chain.pem");
    let mut chain = fs::read(pki_dir().join("root.pem")).expect("root");
    chain.extend(fs::read(pki_dir().join("ca.pem")).expect("ca"));
    fs::write(&path, chain).expect("chain");
    path
}

/// Runs `openssl` with the GOST engine and returns (success, stdout, stderr).
pub fn openssl_output(args: &[&str]) -> (bool, String, String) {
    let out = Command::new("openssl")
        .env("OPENSSL_CONF", gost_conf())
        .args(args)
        .output()
        .expect("run openssl");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Creates the shared test PKI if no card has yet (`podpis-vcard pki init` is idempotent).
pub fn ensure_pki() {
    let out = Command::new(bin("podpis-vcard"))
        .env("OPENSSL_CONF", gost_conf())
        .args(["pki", "init", "--dir"])
        .arg(pki_dir())
        .output()
        .expect("pki init");
    assert!(
        out.status.success(),
        "pki init: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}
