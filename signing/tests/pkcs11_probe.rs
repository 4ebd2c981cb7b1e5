//! Probing modules in a child process (this test binary re-run on `serve_probe`, which calls
//! `serve_if_asked` as a program's `main()` does), and the deadline of calls into a module loaded
//! in-process. The misbehaving modules are a few lines of C built here with the system's C
//! compiler: one aborts in `C_Initialize` (a real crash, SIGABRT), one never returns from it, one
//! refuses it, one starts but never returns from `C_GetSlotList`.

#[path = "support/pki.rs"]
mod pki;
#[path = "support/softhsm.rs"]
mod softhsm;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use signing::card::CardError;
use signing::pkcs11::probe::{self, Probe, ProbeOutcome};
use signing::pkcs11::{Module, Pkcs11Error};
use signing::TokenError;

/// The probe's child: with `PODPIS_PKCS11_PROBE` set it reports and exits; otherwise it passes.
#[test]
fn serve_probe() {
    probe::serve_if_asked();
}

fn prober() -> Probe {
    Probe::current_exe()
        .expect("current exe")
        .args(["--exact", "serve_probe", "--nocapture"])
        .timeout(Duration::from_secs(20))
}

/// A PKCS#11 module in C that needs no header: `CK_FUNCTION_LIST` is a version and 68 function
/// pointers, of which the first five are `C_Initialize`, `C_Finalize`, `C_GetInfo`,
/// `C_GetFunctionList` and `C_GetSlotList`.
const MODULE_C: &str = r#"
#include <stdlib.h>
#include <unistd.h>
struct list { unsigned char major, minor; void *f[68]; };
static struct list functions;
static unsigned long init(void *args) {
#if defined(MODE_ABORT)
    abort();
#elif defined(MODE_HANG)
    for (;;) sleep(60);
#elif defined(MODE_FAIL)
    return 0x05; /* CKR_GENERAL_ERROR */
#endif
    return 0;
}
static unsigned long finalize(void *reserved) { return 0; }
static unsigned long slots(unsigned char present, void *list, unsigned long *count) {
    for (;;) sleep(60);
    return 0;
}
unsigned long C_GetFunctionList(struct list **out) {
    functions.major = 2;
    functions.minor = 40;
    functions.f[0] = (void *)init;
    functions.f[1] = (void *)finalize;
    functions.f[4] = (void *)slots;
    *out = &functions;
    return 0;
}
"#;

fn build_module(dir: &Path, mode: &str) -> PathBuf {
    let source = dir.join("module.c");
    std::fs::write(&source, MODULE_C).expect("source");
    let library = dir.join(format!("lib{}.so", mode.to_lowercase()));
    let out = Command::new("cc")
        .args(["-shared", "-fPIC", "-o"])
        .arg(&library)
        .arg(format!("-DMODE_{mode}"))
        .arg(&source)
        .output()
        .expect("a C compiler (cc) is needed to build the test modules");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    library
}

#[test]
fn a_module_path_that_does_not_exist_is_reported_missing() {
    let path = Path::new("/nonexistent/librtpkcs11ecp.so");
    let report = prober().run(path);
    assert_eq!(report.module, path);
    assert_eq!(report.outcome, ProbeOutcome::Missing);
    assert!(!report.is_usable());
    assert_eq!(
        report.error(),
        Some(TokenError::Pkcs11(Pkcs11Error::ModuleMissing {
            module: path.into()
        }))
    );
    assert_eq!(
        Module::open(path).err(),
        Some(TokenError::Pkcs11(Pkcs11Error::ModuleMissing {
            module: path.into()
        }))
    );
}

#[test]
fn a_file_that_is_not_a_library_is_reported_not_loadable() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("notes.so");
    std::fs::write(&path, "this is a text file, not a PKCS#11 module\n").expect("write");
    let report = prober().run(&path);
    let ProbeOutcome::NotLoadable { reason } = &report.outcome else {
        panic!("{report:?}");
    };
    // The loader's own words, naming the file.
    assert!(reason.contains("notes.so"), "{reason}");
    assert!(matches!(
        report.error(),
        Some(TokenError::Pkcs11(Pkcs11Error::ModuleNotLoadable { .. }))
    ));
}

#[test]
fn a_module_that_aborts_in_c_initialize_is_a_crash_of_the_child_only() {
    let dir = tempfile::tempdir().expect("tempdir");
    let module = build_module(dir.path(), "ABORT");
    let report = prober().run(&module);
    assert!(
        matches!(
            report.outcome,
            ProbeOutcome::Crashed {
                signal: Some(6),
                ..
            }
        ),
        "{report:?}"
    );
    assert_eq!(
        report.error(),
        Some(TokenError::Pkcs11(Pkcs11Error::ModuleCrashed {
            module: module.clone(),
            how: "signal 6".into()
        }))
    );
}

#[test]
fn a_module_that_hangs_in_c_initialize_is_killed_at_the_timeout() {
    let dir = tempfile::tempdir().expect("tempdir");
    let module = build_module(dir.path(), "HANG");
    let started = Instant::now();
    let report = prober().timeout(Duration::from_secs(2)).run(&module);
    let took = started.elapsed();
    assert!(
        matches!(report.outcome, ProbeOutcome::TimedOut { after_ms } if after_ms >= 2000),
        "{report:?}"
    );
    assert!(took < Duration::from_secs(5), "{took:?}");

    // Loaded in-process anyway (what the probe is there to prevent), the deadline still holds.
    let started = Instant::now();
    let opened = Module::open_with_deadlines(
        &module,
        Duration::from_millis(500),
        Duration::from_millis(500),
    );
    assert_eq!(
        opened.err(),
        Some(TokenError::Card(CardError::NotResponding))
    );
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[test]
fn a_refused_c_initialize_is_reported_with_its_return_code() {
    let dir = tempfile::tempdir().expect("tempdir");
    let module = build_module(dir.path(), "FAIL");
    let report = prober().run(&module);
    assert_eq!(
        report.outcome,
        ProbeOutcome::InitializeFailed {
            rv: "CKR_GENERAL_ERROR".into()
        }
    );
    assert_eq!(
        Module::open(&module).err(),
        Some(TokenError::Pkcs11(Pkcs11Error::ModuleInitFailed {
            module,
            rv: "CKR_GENERAL_ERROR".into()
        }))
    );
}

#[test]
fn a_call_past_its_deadline_makes_the_module_unusable() {
    let dir = tempfile::tempdir().expect("tempdir");
    let module = build_module(dir.path(), "SLOTS_HANG");
    let loaded = Module::open_with_deadlines(
        &module,
        Duration::from_millis(500),
        Duration::from_millis(500),
    )
    .expect("C_Initialize answers");
    let started = Instant::now();
    assert_eq!(
        loaded.tokens(),
        Err(TokenError::Card(CardError::NotResponding))
    );
    assert!(started.elapsed() < Duration::from_secs(2));
    assert!(loaded.is_unusable());
    // The next call does not queue behind the stuck one.
    let started = Instant::now();
    assert_eq!(
        loaded.clone().tokens(),
        Err(TokenError::Pkcs11(Pkcs11Error::ModuleUnusable {
            module: module.clone()
        }))
    );
    assert!(started.elapsed() < Duration::from_millis(100));
}

#[test]
fn softhsm_is_probed_with_its_token_and_mechanisms() {
    assert!(
        softhsm::exists(),
        "SoftHSM2 is needed: run scripts/setup.sh"
    );
    let hsm = softhsm::SoftHsm::new();
    let report = prober()
        .env("SOFTHSM2_CONF", hsm.conf())
        .run(Path::new(softhsm::SOFTHSM));
    let ProbeOutcome::Loaded { library, slots } = &report.outcome else {
        panic!("{report:?}");
    };
    assert_eq!(library.manufacturer, "SoftHSM");
    let token = slots.iter().find_map(|s| {
        s.token
            .as_ref()
            .filter(|t| t.label == softhsm::LABEL)
            .map(|t| (s, t))
    });
    let (slot, token) = token.expect("the initialised token");
    assert_eq!(token.id.slot, slot.id);
    assert!(!token.id.serial.is_empty());
    for mechanism in ["CKM_ECDSA", "CKM_RSA_PKCS", "CKM_SHA256_RSA_PKCS"] {
        assert!(
            slot.mechanisms.iter().any(|m| m == mechanism),
            "{mechanism}: {:?}",
            slot.mechanisms
        );
    }
    // SoftHSM has no GOST.
    assert!(!slot.mechanisms.iter().any(|m| m.contains("GOST")));
    assert!(report.is_usable() && report.error().is_none());
}

/// In a probe child (`PODPIS_PKCS11_PROBE` set) that is not serving, a probe it starts is
/// refused instead of starting another child: a test binary re-run without `serve_probe` runs
/// every test, whose probes would otherwise re-run it again, without end (seen: hundreds of
/// test processes).
#[test]
fn probe_child_starts_no_probe() {
    if std::env::var_os(probe::PROBE_VARIABLE).is_some() {
        let report = prober().run(Path::new("/bin/sh"));
        match report.outcome {
            ProbeOutcome::CannotStart { reason } => println!("refused: {reason}"),
            other => panic!("a probe child started a probe: {other:?}"),
        }
        return;
    }
    let out = Command::new(std::env::current_exe().expect("current exe"))
        .args(["--exact", "probe_child_starts_no_probe", "--nocapture"])
        .env(probe::PROBE_VARIABLE, "/bin/sh")
        .output()
        .expect("the test binary as a probe child");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "child failed: {stdout}");
    assert!(stdout.contains("refused: "), "child output: {stdout}");
}
