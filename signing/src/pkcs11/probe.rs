//! The first load of a module happens in a child process. A vendor module is foreign code: if it
//! crashes in `C_Initialize`, hangs there, or refuses, the child dies or is killed or says so,
//! and Podpis reports the module by name instead of going down with it.
//!
//! `signing` is a library and has no process of its own to spawn, so the child is the calling
//! program itself: [`run`] starts `std::env::current_exe()` with [`PROBE_VARIABLE`] naming the
//! module, and every binary that probes calls [`serve_if_asked`] first thing in `main()`; with the
//! variable set, that loads the module, prints one report line and exits. Test binaries do the
//! same from a test function ([`Probe::args`] picks it).

use std::ffi::OsString;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use cryptoki::context::Pkcs11;
use cryptoki::mechanism::MechanismType;
use cryptoki::slot::Slot;
use serde::{Deserialize, Serialize};

use super::mechanism::{
    CKM_GOSTR3410_512, CKM_GOSTR3410_WITH_GOSTR3411_12_256, CKM_GOSTR3410_WITH_GOSTR3411_12_512,
};
use super::{module, session, Pkcs11Error, Token};
use crate::drivers::TokenError;

/// The environment variable that turns a Podpis binary into a probe of the module it names.
pub const PROBE_VARIABLE: &str = "PODPIS_PKCS11_PROBE";

/// The report line starts with this: a module may print to stdout too.
const REPORT_MARKER: &str = "podpis-pkcs11-probe-report:";

/// How long a module gets to load, initialise and list its slots, by default. Vendor modules
/// talk to pcscd and to their tokens in `C_Initialize`; a few seconds is normal.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(20);

/// At most this much of the child's output is kept: a report is a few KiB.
const MAX_OUTPUT: usize = 1024 * 1024;
/// The end of the child's stderr kept for the report (an abort message, a loader's complaint).
const STDERR_TAIL: usize = 2048;

/// What probing a module found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProbeReport {
    pub module: PathBuf,
    pub outcome: ProbeOutcome,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "kebab-case")]
pub enum ProbeOutcome {
    /// Loaded and initialised; its slots as it lists them.
    Loaded {
        library: LibraryInfo,
        slots: Vec<SlotReport>,
    },
    /// No file at that path.
    Missing,
    /// Not a library this system loads, or not a PKCS#11 one.
    NotLoadable { reason: String },
    /// `C_Initialize` returned this `CKR_…`.
    InitializeFailed { rv: String },
    /// Loaded, but listing its slots failed.
    CallFailed { function: String, rv: String },
    /// The child died: killed by `signal` (Unix), or exited with `exit_code` without a report.
    Crashed {
        signal: Option<i32>,
        exit_code: Option<i32>,
        stderr: String,
    },
    /// Still running at the deadline: killed.
    TimedOut { after_ms: u64 },
    /// The child ended normally but gave no report Podpis could read.
    NoReport { detail: String },
    /// The child could not be started.
    CannotStart { reason: String },
}

/// `C_GetInfo`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LibraryInfo {
    pub manufacturer: String,
    pub description: String,
    pub library_version: String,
    pub cryptoki_version: String,
}

/// A slot and the token in it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlotReport {
    pub id: u64,
    pub description: String,
    pub token: Option<Token>,
    /// Of the signing mechanisms the tier uses, those the token offers for signing.
    pub mechanisms: Vec<String>,
}

impl ProbeReport {
    /// Whether the module may be loaded in-process ([`super::Module::open`]).
    pub fn is_usable(&self) -> bool {
        matches!(self.outcome, ProbeOutcome::Loaded { .. })
    }

    /// The failure as the error the rest of the tier reports, or `None` when the module loaded.
    pub fn error(&self) -> Option<TokenError> {
        let module = self.module.clone();
        let error = match &self.outcome {
            ProbeOutcome::Loaded { .. } => return None,
            ProbeOutcome::Missing => Pkcs11Error::ModuleMissing { module },
            ProbeOutcome::NotLoadable { reason } => Pkcs11Error::ModuleNotLoadable {
                module,
                reason: reason.clone(),
            },
            ProbeOutcome::InitializeFailed { rv } => Pkcs11Error::ModuleInitFailed {
                module,
                rv: rv.clone(),
            },
            ProbeOutcome::CallFailed { function, rv } => Pkcs11Error::Call {
                function: function.clone(),
                rv: rv.clone(),
            },
            ProbeOutcome::Crashed {
                signal, exit_code, ..
            } => Pkcs11Error::ModuleCrashed {
                module,
                how: match (signal, exit_code) {
                    (Some(signal), _) => format!("signal {signal}"),
                    (None, Some(code)) => format!("exit code {code}"),
                    (None, None) => "no status".into(),
                },
            },
            ProbeOutcome::TimedOut { .. } => Pkcs11Error::ModuleTimedOut { module },
            ProbeOutcome::NoReport { detail } | ProbeOutcome::CannotStart { reason: detail } => {
                Pkcs11Error::ModuleNotLoadable {
                    module,
                    reason: detail.clone(),
                }
            }
        };
        Some(error.into())
    }
}

/// Probes `module` in a child process of this program, killed at `timeout`. The program must
/// call [`serve_if_asked`] first thing in `main()`.
pub fn run(module: &Path, timeout: Duration) -> ProbeReport {
    match Probe::current_exe() {
        Ok(probe) => probe.timeout(timeout).run(module),
        Err(reason) => ProbeReport {
            module: module.to_path_buf(),
            outcome: ProbeOutcome::CannotStart { reason },
        },
    }
}

/// How the child is started: which program, with which arguments and environment.
#[derive(Debug, Clone)]
pub struct Probe {
    program: PathBuf,
    args: Vec<OsString>,
    envs: Vec<(OsString, OsString)>,
    timeout: Duration,
}

impl Probe {
    /// This program, without arguments.
    pub fn current_exe() -> Result<Self, String> {
        let program = std::env::current_exe().map_err(|e| e.to_string())?;
        Ok(Self::program(program))
    }

    /// Another program that calls [`serve_if_asked`] (a test binary, a helper).
    pub fn program(program: impl Into<PathBuf>) -> Self {
        Self {
            program: program.into(),
            args: Vec::new(),
            envs: Vec::new(),
            timeout: DEFAULT_TIMEOUT,
        }
    }

    /// Arguments for the child: a test binary needs the name of the test that serves
    /// (`["--exact", "serve_probe", "--nocapture"]`).
    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<OsString>,
    {
        self.args = args.into_iter().map(Into::into).collect();
        self
    }

    /// An environment variable for the child only (a module's configuration, such as
    /// `SOFTHSM2_CONF`), leaving this process's environment alone.
    pub fn env(mut self, key: impl Into<OsString>, value: impl Into<OsString>) -> Self {
        self.envs.push((key.into(), value.into()));
        self
    }

    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    pub fn run(&self, module: &Path) -> ProbeReport {
        let report = |outcome| ProbeReport {
            module: module.to_path_buf(),
            outcome,
        };
        if !module.is_file() {
            return report(ProbeOutcome::Missing);
        }
        // A child that probes again is a program that does not serve (a test binary whose
        // harness ran every test instead): each of its probes would start another child, and
        // so on, a fork bomb. One level only: a probe child never starts a probe.
        if std::env::var_os(PROBE_VARIABLE).is_some() {
            return report(ProbeOutcome::CannotStart {
                reason: format!("{PROBE_VARIABLE} is set: this process is a probe child itself"),
            });
        }
        let child = Command::new(&self.program)
            .args(&self.args)
            .envs(self.envs.iter().map(|(k, v)| (k, v)))
            .env(PROBE_VARIABLE, module)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn();
        let mut child = match child {
            Ok(child) => child,
            Err(e) => {
                return report(ProbeOutcome::CannotStart {
                    reason: e.to_string(),
                })
            }
        };
        let stdout = collect(child.stdout.take());
        let stderr = collect(child.stderr.take());
        let started = Instant::now();
        let Some(status) = wait(&mut child, self.timeout) else {
            // Killing a child that has just exited by itself fails: it is gone either way.
            let _ = child.kill();
            let _ = child.wait();
            return report(ProbeOutcome::TimedOut {
                after_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
            });
        };
        // The pipes close when the child exits, unless something it started holds them: give
        // the readers a moment, not more.
        let out = stdout.finish(Duration::from_millis(500));
        let err = stderr.finish(Duration::from_millis(200));
        report(outcome(status, &out, &err, module))
    }
}

/// What a finished child's status and output say.
fn outcome(status: ExitStatus, out: &[u8], err: &[u8], module: &Path) -> ProbeOutcome {
    let text = String::from_utf8_lossy(out);
    let parsed = text
        .lines()
        .rev()
        .find_map(|line| line.strip_prefix(REPORT_MARKER))
        .map(serde_json::from_str::<ProbeReport>);
    match parsed {
        Some(Ok(child)) if status.success() && child.module == module => child.outcome,
        Some(Ok(_)) if status.success() => ProbeOutcome::NoReport {
            detail: "the child reported on another module".into(),
        },
        Some(Err(e)) if status.success() => ProbeOutcome::NoReport {
            detail: format!("unreadable report: {e}"),
        },
        _ if status.success() => ProbeOutcome::NoReport {
            detail: "no report: does this program call serve_if_asked() first in main()?".into(),
        },
        // A report followed by a failure (a crash in C_Finalize, at exit) is still a crash:
        // the module is not safe to load in-process.
        _ => ProbeOutcome::Crashed {
            signal: signal_of(status),
            exit_code: status.code(),
            stderr: tail(err),
        },
    }
}

#[cfg(unix)]
fn signal_of(status: ExitStatus) -> Option<i32> {
    use std::os::unix::process::ExitStatusExt;
    status.signal()
}

#[cfg(not(unix))]
fn signal_of(_: ExitStatus) -> Option<i32> {
    None
}

fn tail(bytes: &[u8]) -> String {
    let start = bytes.len().saturating_sub(STDERR_TAIL);
    String::from_utf8_lossy(&bytes[start..]).trim().to_owned()
}

/// Waits for the child at most `timeout`. `std` has no wait with a timeout, so the status is
/// polled; the poll is short and ends at the deadline.
fn wait(child: &mut Child, timeout: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + timeout;
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Some(status),
            Ok(None) => {}
            Err(_) => return None,
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return None;
        }
        std::thread::sleep(left.min(Duration::from_millis(10)));
    }
}

/// A pipe read to its end (bounded) on a thread of its own, so that a child writing a lot cannot
/// block on a full pipe while the parent waits for it.
struct Collector {
    buffer: Arc<Mutex<Vec<u8>>>,
    done: std::sync::mpsc::Receiver<()>,
}

fn collect(pipe: Option<impl Read + Send + 'static>) -> Collector {
    let buffer = Arc::new(Mutex::new(Vec::new()));
    let (tx, done) = std::sync::mpsc::sync_channel(1);
    if let Some(mut pipe) = pipe {
        let sink = Arc::clone(&buffer);
        let _ = std::thread::Builder::new()
            .name("podpis-probe-pipe".into())
            .spawn(move || {
                let mut chunk = [0u8; 8192];
                loop {
                    match pipe.read(&mut chunk) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => {
                            if let Ok(mut buffer) = sink.lock() {
                                // Past the bound, keep draining so the child never blocks.
                                let room = MAX_OUTPUT.saturating_sub(buffer.len());
                                buffer.extend_from_slice(&chunk[..n.min(room)]);
                            }
                        }
                    }
                }
                let _ = tx.send(());
            });
    }
    Collector { buffer, done }
}

impl Collector {
    fn finish(self, grace: Duration) -> Vec<u8> {
        let _ = self.done.recv_timeout(grace);
        self.buffer
            .lock()
            .map(|buffer| buffer.clone())
            .unwrap_or_default()
    }
}

/// In the child: when [`PROBE_VARIABLE`] is set, load the module it names, print the report line
/// and exit; otherwise return at once. Call it first thing in `main()` of every program that
/// probes (and from a test function in test binaries that do).
pub fn serve_if_asked() {
    let Some(module) = std::env::var_os(PROBE_VARIABLE) else {
        return;
    };
    let module = PathBuf::from(module);
    let report = ProbeReport {
        outcome: examine(&module),
        module,
    };
    let mut stdout = std::io::stdout().lock();
    // Nothing can be reported if this fails: the parent sees no report and says so.
    if let Ok(json) = serde_json::to_string(&report) {
        let _ = writeln!(stdout, "\n{REPORT_MARKER}{json}");
        let _ = stdout.flush();
    }
    std::process::exit(0);
}

/// Loads, initialises and lists the module: what the child does.
fn examine(module: &Path) -> ProbeOutcome {
    if !module.is_file() {
        return ProbeOutcome::Missing;
    }
    let ctx = match module::load(module) {
        Ok(ctx) => ctx,
        Err(TokenError::Pkcs11(Pkcs11Error::ModuleInitFailed { rv, .. })) => {
            return ProbeOutcome::InitializeFailed { rv }
        }
        Err(TokenError::Pkcs11(Pkcs11Error::ModuleNotLoadable { reason, .. })) => {
            return ProbeOutcome::NotLoadable { reason }
        }
        Err(e) => {
            return ProbeOutcome::NotLoadable {
                reason: e.to_string(),
            }
        }
    };
    let outcome = list(&ctx, module);
    let _ = ctx.finalize();
    outcome
}

fn list(ctx: &Pkcs11, module: &Path) -> ProbeOutcome {
    let failed = |e: cryptoki::error::Error| match e {
        cryptoki::error::Error::Pkcs11(rv, function) => ProbeOutcome::CallFailed {
            function: format!("C_{function:?}"),
            rv: session::rv_name(rv),
        },
        other => ProbeOutcome::CallFailed {
            function: "cryptoki".into(),
            rv: other.to_string(),
        },
    };
    let info = match ctx.get_library_info() {
        Ok(info) => info,
        Err(e) => return failed(e),
    };
    let library = LibraryInfo {
        manufacturer: info.manufacturer_id().trim().to_owned(),
        description: info.library_description().trim().to_owned(),
        library_version: info.library_version().to_string(),
        cryptoki_version: info.cryptoki_version().to_string(),
    };
    let slots = match ctx.get_all_slots() {
        Ok(slots) => slots,
        Err(e) => return failed(e),
    };
    let slots = slots
        .into_iter()
        .map(|slot| {
            let description = ctx
                .get_slot_info(slot)
                .map(|i| i.slot_description().trim().to_owned())
                .unwrap_or_default();
            let token = ctx
                .get_token_info(slot)
                .ok()
                .map(|info| session::token(module, slot, &info));
            let mechanisms = if token.is_some() {
                signing_mechanisms(ctx, slot)
            } else {
                Vec::new()
            };
            SlotReport {
                id: slot.id(),
                description,
                token,
                mechanisms,
            }
        })
        .collect();
    ProbeOutcome::Loaded { library, slots }
}

/// The signing mechanisms of the tier that the token offers (`C_GetMechanismInfo` with
/// `CKF_SIGN`). `C_GetMechanismList` is not used: `cryptoki` drops the GOST numbers from it.
fn signing_mechanisms(ctx: &Pkcs11, slot: Slot) -> Vec<String> {
    let mut candidates = vec![
        ("CKM_ECDSA", MechanismType::ECDSA),
        ("CKM_ECDSA_SHA256", MechanismType::ECDSA_SHA256),
        ("CKM_ECDSA_SHA384", MechanismType::ECDSA_SHA384),
        ("CKM_RSA_PKCS", MechanismType::RSA_PKCS),
        ("CKM_SHA256_RSA_PKCS", MechanismType::SHA256_RSA_PKCS),
    ];
    for (name, number) in [
        ("CKM_GOSTR3410_512", CKM_GOSTR3410_512),
        (
            "CKM_GOSTR3410_WITH_GOSTR3411_12_256",
            CKM_GOSTR3410_WITH_GOSTR3411_12_256,
        ),
        (
            "CKM_GOSTR3410_WITH_GOSTR3411_12_512",
            CKM_GOSTR3410_WITH_GOSTR3411_12_512,
        ),
    ] {
        if let Ok(mechanism) = MechanismType::new_vendor_defined(number) {
            candidates.push((name, mechanism));
        }
    }
    candidates
        .into_iter()
        .filter(|(_, mechanism)| {
            ctx.get_mechanism_info(slot, *mechanism)
                .is_ok_and(|info| info.sign())
        })
        .map(|(name, _)| name.to_owned())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    fn status(raw: i32) -> ExitStatus {
        use std::os::unix::process::ExitStatusExt;
        ExitStatus::from_raw(raw)
    }

    #[cfg(unix)]
    #[test]
    fn a_report_line_is_found_among_other_output_and_a_signal_is_a_crash() {
        let module = Path::new("/m.so");
        let report = ProbeReport {
            module: module.into(),
            outcome: ProbeOutcome::InitializeFailed {
                rv: "CKR_GENERAL_ERROR".into(),
            },
        };
        let out = format!(
            "running 1 test\nvendor banner\n{REPORT_MARKER}{}\n",
            serde_json::to_string(&report).expect("json")
        );
        assert_eq!(
            outcome(status(0), out.as_bytes(), b"", module),
            report.outcome
        );
        // Killed by SIGABRT (6): the raw wait status is the signal number.
        assert_eq!(
            outcome(
                status(6),
                out.as_bytes(),
                b"abort in C_Initialize\n",
                module
            ),
            ProbeOutcome::Crashed {
                signal: Some(6),
                exit_code: None,
                stderr: "abort in C_Initialize".into()
            }
        );
        // Exit code 3 (status 3 << 8) without a report.
        assert!(matches!(
            outcome(status(3 << 8), b"", b"", module),
            ProbeOutcome::Crashed {
                signal: None,
                exit_code: Some(3),
                ..
            }
        ));
        assert!(matches!(
            outcome(status(0), b"hello\n", b"", module),
            ProbeOutcome::NoReport { .. }
        ));
    }

    #[test]
    fn the_report_names_the_outcome_in_json() {
        let report = ProbeReport {
            module: "/x.so".into(),
            outcome: ProbeOutcome::TimedOut { after_ms: 5000 },
        };
        assert_eq!(
            serde_json::to_value(&report).expect("json"),
            serde_json::json!({"module": "/x.so", "outcome": {"status": "timed-out", "after_ms": 5000}})
        );
        assert_eq!(
            report.error(),
            Some(TokenError::Pkcs11(Pkcs11Error::ModuleTimedOut {
                module: "/x.so".into()
            }))
        );
    }
}
