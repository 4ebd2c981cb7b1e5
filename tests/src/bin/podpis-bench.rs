//! `podpis-bench`: the measurements of BENCHMARKS.md, on the real stack (pcscd + vpcd +
//! podpis-vcard + podpis-portal + podpis + the desktop app under Xvfb, SoftHSM2 and OpenSC's
//! pkcs11-tool). Prints a Markdown report. Run by `make bench`; timings vary with the machine, so
//! they live here and not in tests.

// signing's SoftHSM helpers (a token made with softhsm2-util and OpenSC's pkcs11-tool), shared
// with tests/tests/pkcs11.rs rather than written a third time.

use std::ffi::CString;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use podpis_tests::desktop::App;
use podpis_tests::memory;
use podpis_tests::portal::{Portal, Signer};
use podpis_tests::tokens::softhsm;
use podpis_tests::*;
use signing::token::Reader;
use signing::{KeyAlgorithm, LastTry, Pin};

fn stats(mut samples: Vec<Duration>) -> String {
    samples.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let at = |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize];
    format!(
        "median {:.2} ms, p10 {:.2}, p90 {:.2}, min {:.2}, max {:.2} (n={})",
        ms(at(0.5)),
        ms(at(0.1)),
        ms(at(0.9)),
        ms(samples[0]),
        ms(samples[samples.len() - 1]),
        samples.len()
    )
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn apdus_in(trace: &str) -> usize {
    trace
        .lines()
        .filter(|l| l.starts_with("vpcd → ") && l.len() > "vpcd → 00".len())
        .count()
}

/// The sections of the report; `podpis-bench portal app` runs only those (all by default).
const SECTIONS: [(&str, fn()); 7] = [
    ("card", card_path),
    ("pkcs11", pkcs11_tier),
    ("confirm", whole_confirmation),
    ("portal", portal_throughput),
    ("app", desktop_app),
    ("memory", memory_against_empty_app),
    ("host", browser_host),
];

fn main() {
    if let Some(runs) = std::env::var_os(IN_PROCESS_CHILD) {
        pkcs11_in_process(&runs.to_string_lossy());
        return;
    }
    let wanted: Vec<String> = std::env::args().skip(1).collect();
    let names: Vec<&str> = SECTIONS.iter().map(|(n, _)| *n).collect();
    for name in &wanted {
        assert!(
            names.contains(&name.as_str()),
            "unknown section {name}; the sections are {}",
            names.join(", ")
        );
    }
    for (name, section) in SECTIONS {
        if wanted.is_empty() || wanted.iter().any(|w| w == name) {
            section();
        }
    }
}

fn card_path() {
    println!("## Card path (virtual GOST token, entrepreneur profile, through pcscd + vpcd)\n");
    let card = VirtualCard::start("entrepreneur");

    // APDU round trip: GET DATA (PIN status) in one transaction, raw.
    let ctx = pcsc::Context::establish(pcsc::Scope::User).expect("pcsc");
    let name = CString::new(card.reader()).expect("name");
    let mut pcsc_card = ctx
        .connect(&name, pcsc::ShareMode::Shared, pcsc::Protocols::ANY)
        .expect("connect");
    let mut samples = Vec::new();
    {
        let tx = pcsc_card.transaction().expect("transaction");
        let mut buf = [0u8; 300];
        tx.transmit(
            &hex::decode("00A4040C0AF0504F44504953475401").expect("hex"),
            &mut buf,
        )
        .expect("select");
        for _ in 0..500 {
            let t = Instant::now();
            tx.transmit(&[0x00, 0xCA, 0x01, 0x03, 0x00], &mut buf)
                .expect("get data");
            samples.push(t.elapsed());
        }
    }
    drop(pcsc_card);
    println!(
        "- APDU round trip (GET DATA, raw PC/SC): {}",
        stats(samples)
    );

    let reader = Reader::new(card.reader());
    let mut reads = Vec::new();
    let before = apdus_in(&card.trace());
    for _ in 0..30 {
        let t = Instant::now();
        reader.read().expect("read");
        reads.push(t.elapsed());
    }
    let read_apdus = (apdus_in(&card.trace()) - before) / 30;
    println!("- read token (serial, label, PIN status, key directory, certificate): {}; {read_apdus} APDUs per read, floor 8 (ratio {:.2})", stats(reads.clone()), read_apdus as f64 / 8.0);

    let mut signs = Vec::new();
    let before = apdus_in(&card.trace());
    for _ in 0..30 {
        let t = Instant::now();
        reader
            .sign(
                1,
                KeyAlgorithm::Gost2012_256,
                vec![0x5A; 32],
                Pin::new(PIN.to_owned()).expect("pin"),
                LastTry::NotConfirmed,
            )
            .expect("sign");
        signs.push(t.elapsed());
    }
    let sign_apdus = (apdus_in(&card.trace()) - before) / 30;
    println!("- verify PIN + sign (SELECT, PIN status, VERIFY, MSE, PSO; GOST 2012-256 in the card's OpenSSL): {}; {sign_apdus} APDUs, floor 5 (ratio {:.2})", stats(signs.clone()), sign_apdus as f64 / 5.0);
    println!(
        "- read + verify + sign, cold, as one confirmation does it: median {:.2} ms",
        (median(reads.clone()) + median(signs.clone())).as_secs_f64() * 1000.0
    );

    // Warm: the certificate comes from the cache (keyed by the digest the card's key directory
    // announces), as `podpis` and the app read a card they have seen before.
    let cache_dir = tempfile::tempdir_in(scratch()).expect("cache");
    let cache = client::certificates::CertificateCache::in_data_dir(cache_dir.path());
    cache
        .read_card(&reader)
        .expect("first read fills the cache");
    let mut warm = Vec::new();
    let before = apdus_in(&card.trace());
    let certificate_reads = card.trace().matches("vpcd → 00A4020402C001").count();
    for _ in 0..30 {
        let t = Instant::now();
        cache.read_card(&reader).expect("warm read");
        warm.push(t.elapsed());
    }
    let warm_apdus = (apdus_in(&card.trace()) - before) / 30;
    assert_eq!(
        card.trace().matches("vpcd → 00A4020402C001").count(),
        certificate_reads,
        "a warm read selected the certificate file"
    );
    println!("- read token, warm (the certificate from the cache by its digest in EF.KEYS; the file is not selected nor read): {}; {warm_apdus} APDUs, floor 6 (ratio {:.2})", stats(warm.clone()), warm_apdus as f64 / 6.0);
    println!(
        "- read + verify + sign, warm: median {:.2} ms ({:.2}× the cold one)",
        (median(warm.clone()) + median(signs.clone())).as_secs_f64() * 1000.0,
        (median(warm) + median(signs.clone())).as_secs_f64()
            / (median(reads.clone()) + median(signs.clone())).as_secs_f64()
    );

    // The peer: OpenSC on the same reader. It has no driver for this profile (pkcs15-tool and
    // pkcs11-tool cannot read it), so the nearest operation is opensc-tool sending the same
    // eight APDUs of a token read.
    let read_script = [
        "00A4040C0AF0504F44504953475401",
        "00CA010100",
        "00CA010200",
        "00CA010300",
        "00A4020402C00000",
        "00B0000000",
        "00A4020402C00100",
        "00B0000000",
    ];
    let mut opensc = Vec::new();
    for _ in 0..10 {
        let mut cmd = Command::new("opensc-tool");
        cmd.args(["-r", card.reader()]);
        for apdu in read_script {
            cmd.args(["-s", apdu]);
        }
        let t = Instant::now();
        let ok = cmd
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        opensc.push(t.elapsed());
        assert!(ok, "opensc-tool failed");
    }
    println!(
        "- peer, OpenSC `opensc-tool -s` × the 8 read APDUs (process start, context, card detection included): {}; ratio to Podpis's read {:.1}",
        stats(opensc.clone()),
        median(opensc).as_secs_f64() / median(reads).as_secs_f64()
    );
}

/// Set on the bench's own child process that loads SoftHSM2 in-process, to the number of
/// signatures it makes. SoftHSM2 reads `SOFTHSM2_CONF` when it is loaded; the variable goes on
/// that child's environment alone, since setting it in this process, which runs threads, races
/// with their reads of the environment.
const IN_PROCESS_CHILD: &str = "PODPIS_BENCH_PKCS11_CHILD";

/// Runs of each program, interleaved: both take tens of milliseconds here, so the section stays
/// within a few seconds.
const PKCS11_RUNS: usize = 100;
/// First runs of `podpis sign` (each with a fresh data directory, so the module is probed).
const PKCS11_COLD_RUNS: usize = 10;

/// The `piv` profile's P-256 key and its qualified certificate imported into a SoftHSM2 token,
/// as tests/tests/pkcs11.rs makes it (`podpis sign` refuses a certificate with error findings,
/// so a throwaway one would not do). Returns the token and the certificate, DER.
fn softhsm_with_piv_key(dir: &Path) -> (softhsm::SoftHsm, Vec<u8>) {
    let hsm = podpis_tests::tokens::softhsm_with_profile_key(dir);
    let certificate = std::fs::read(dir.join("cert.der")).expect("cert");
    (hsm, certificate)
}

/// How a timed `podpis sign` ended.
#[derive(PartialEq)]
enum Ended {
    Cleanly,
    /// The CMS was written and the answer printed, then the process died of a signal on its
    /// way out: SoftHSM2's exit handlers, run by the main thread in `exit()`, racing the module
    /// thread's `C_Finalize` and `dlclose` of the module (seen in gdb; reported with the
    /// section). Counted, not hidden.
    DiedAtExit,
}

/// One `podpis sign` of `doc` with the token's key, timed from spawn to exit. Neither program
/// gets the GOST engine (neither needs it for ECDSA): both run as a user starts them.
fn podpis_sign(conf: &Path, data_dir: &Path, doc: &Path, out: &Path) -> (Duration, Ended) {
    use std::os::unix::process::ExitStatusExt;
    let _ = std::fs::remove_file(out);
    let t = Instant::now();
    let mut child = Command::new(bin("podpis"))
        .env("SOFTHSM2_CONF", conf)
        .env("PODPIS_DATA_DIR", data_dir)
        .env("PODPIS_PKCS11_DISCOVERY", "0")
        .env_remove("OPENSSL_CONF")
        .args(["sign", "--json", "--pkcs11-module", softhsm::SOFTHSM])
        .args(["--reader", softhsm::LABEL, "--pin-stdin", "--in"])
        .arg(doc)
        .arg("--out")
        .arg(out)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("podpis");
    let mut stdin = child.stdin.take().expect("stdin");
    stdin
        .write_all(format!("{}\n", softhsm::USER_PIN).as_bytes())
        .expect("pin");
    drop(stdin);
    let done = child.wait_with_output().expect("podpis");
    let elapsed = t.elapsed();
    if done.status.success() {
        return (elapsed, Ended::Cleanly);
    }
    let answered = String::from_utf8_lossy(&done.stdout).contains("\"bytes\":") && out.exists();
    assert!(
        done.status.signal().is_some() && answered,
        "podpis sign ({}): {}{}",
        done.status,
        String::from_utf8_lossy(&done.stdout),
        String::from_utf8_lossy(&done.stderr)
    );
    (elapsed, Ended::DiedAtExit)
}

/// One `pkcs11-tool --sign` of `digest` with the same key, timed from spawn to exit.
fn pkcs11_tool_sign(conf: &Path, digest: &Path, out: &Path) -> Duration {
    let t = Instant::now();
    let done = Command::new("pkcs11-tool")
        .env("SOFTHSM2_CONF", conf)
        .env_remove("OPENSSL_CONF")
        .args([
            "--module",
            softhsm::SOFTHSM,
            "--login",
            "--pin",
            softhsm::USER_PIN,
        ])
        .args([
            "--sign",
            "--mechanism",
            "ECDSA",
            "--id",
            "01",
            "--input-file",
        ])
        .arg(digest)
        .arg("--output-file")
        .arg(out)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .expect("pkcs11-tool");
    let elapsed = t.elapsed();
    assert!(
        done.status.success(),
        "pkcs11-tool --sign: {}",
        String::from_utf8_lossy(&done.stderr)
    );
    elapsed
}

/// pkcs11-tool's raw r ‖ s over `digest` verifies with the certificate's key (OpenSSL).
fn ecdsa_verifies(certificate: &[u8], digest: &[u8], signature: &[u8]) -> bool {
    let key = openssl::x509::X509::from_der(certificate)
        .and_then(|c| c.public_key())
        .and_then(|k| k.ec_key())
        .expect("an EC certificate");
    let (r, s) = signature.split_at(signature.len() / 2);
    let signature = openssl::bn::BigNum::from_slice(r)
        .and_then(|r| Ok((r, openssl::bn::BigNum::from_slice(s)?)))
        .and_then(|(r, s)| openssl::ecdsa::EcdsaSig::from_private_components(r, s))
        .expect("r ‖ s");
    signature.verify(digest, &key).unwrap_or(false)
}

/// The first line a program prints about its version, or "?".
fn version_of(program: &str, args: &[&str]) -> String {
    Command::new(program)
        .args(args)
        .output()
        .ok()
        .and_then(|o| {
            let text = String::from_utf8_lossy(&o.stdout).into_owned();
            // "OpenSC 0.23.0 [gcc  12.2.0]": the compiler is not the program's version.
            let first = text.lines().next()?;
            Some(first.split(" [").next().unwrap_or(first).trim().to_owned())
        })
        .filter(|l| !l.is_empty())
        .unwrap_or_else(|| "?".to_owned())
}

fn pkcs11_tier() {
    println!("\n## PKCS#11 tier (SoftHSM2, ECDSA P-256: `podpis sign` against OpenSC's `pkcs11-tool --sign`)\n");
    let dir = tempfile::tempdir_in(scratch()).expect("dir");
    let (hsm, certificate) = softhsm_with_piv_key(dir.path());
    let conf = hsm.conf();
    println!(
        "Produced by `OPENSSL_CONF=config/openssl-gost.cnf target/release/podpis-bench pkcs11` \
         (part of `make bench`): SoftHSM2 {} (`libsofthsm2.so`, file object store), {}. One token, \
         one key (the `piv` profile's P-256 key and qualified certificate, imported with \
         `softhsm2-util --import` and `pkcs11-tool --write-object`), PIN {} digits. Both programs \
         run without the GOST engine, as a user starts them; {PKCS11_RUNS} runs of each, \
         interleaved (the order swapped every run).\n",
        version_of("softhsm2-util", &["--version"]),
        version_of("opensc-tool", &["--info"]),
        softhsm::USER_PIN.len(),
    );

    let doc = dir.path().join("invoice.txt");
    std::fs::write(&doc, "Счёт № 17 от 30.11.2026\n").expect("doc");
    let p7s = dir.path().join("invoice.txt.p7s");
    let digest = {
        use sha2::Digest;
        sha2::Sha256::digest(std::fs::read(&doc).expect("doc")).to_vec()
    };
    let digest_file = dir.path().join("invoice.sha256");
    std::fs::write(&digest_file, &digest).expect("digest");
    let raw = dir.path().join("invoice.sig");

    // One run of each before timing, checked: the CMS by `openssl cms -verify -cades`, the raw
    // signature against the certificate. Podpis's run also probes the module and remembers the
    // verdict in its data directory, as a user's first run does.
    let data_dir = dir.path().join("data");
    let (mut podpis_runs, mut died_at_exit) = (0, 0);
    let mut podpis_run = |samples: &mut Vec<Duration>, data_dir: &Path| {
        let (elapsed, ended) = podpis_sign(&conf, data_dir, &doc, &p7s);
        podpis_runs += 1;
        if ended == Ended::DiedAtExit {
            died_at_exit += 1;
        }
        samples.push(elapsed);
    };
    podpis_run(&mut Vec::new(), &data_dir);
    let chain = chain_file();
    let (ok, _, why) = openssl_output(&[
        "cms",
        "-verify",
        "-cades",
        "-binary",
        "-inform",
        "DER",
        "-in",
        &p7s.to_string_lossy(),
        "-CAfile",
        &chain.to_string_lossy(),
        "-out",
        "/dev/null",
    ]);
    assert!(ok, "OpenSSL rejects podpis's CMS: {why}");
    let cms_len = std::fs::metadata(&p7s).expect("p7s").len();
    pkcs11_tool_sign(&conf, &digest_file, &raw);
    let signature = std::fs::read(&raw).expect("signature");
    assert!(
        ecdsa_verifies(&certificate, &digest, &signature),
        "OpenSSL rejects pkcs11-tool's signature"
    );

    let (mut ours, mut theirs) = (Vec::new(), Vec::new());
    for i in 0..PKCS11_RUNS {
        if i % 2 == 0 {
            podpis_run(&mut ours, &data_dir);
            theirs.push(pkcs11_tool_sign(&conf, &digest_file, &raw));
        } else {
            theirs.push(pkcs11_tool_sign(&conf, &digest_file, &raw));
            podpis_run(&mut ours, &data_dir);
        }
    }
    let (ours_median, theirs_median) = (median(ours.clone()), median(theirs.clone()));
    println!(
        "- `podpis sign` end to end (process start, module verdict recalled from the data \
         directory, module load, PC/SC readers and token listed, certificate read and its \
         findings, C_Login, C_Sign, CAdES-BES of {cms_len} bytes written with two fsyncs): {}",
        stats(ours)
    );
    println!(
        "- OpenSC `pkcs11-tool --login --sign --mechanism ECDSA --id 01` end to end (process \
         start, module load, C_Login, C_Sign over the document's SHA-256 digest, 64-byte r ‖ s \
         written): {}",
        stats(theirs)
    );
    println!(
        "- **ratio podpis / pkcs11-tool (medians, same run, same token and key): {:.2}**",
        ours_median.as_secs_f64() / theirs_median.as_secs_f64()
    );

    let mut cold = Vec::new();
    for _ in 0..PKCS11_COLD_RUNS {
        let fresh = tempfile::tempdir_in(scratch()).expect("data dir");
        podpis_run(&mut cold, fresh.path());
    }
    println!(
        "- `podpis sign`, first run (a fresh data directory: the module is probed in a child \
         process before it is loaded, the certificate cache is empty): {}; {:.2}× pkcs11-tool",
        stats(cold.clone()),
        median(cold).as_secs_f64() / theirs_median.as_secs_f64()
    );

    println!(
        "- `podpis sign` runs that wrote the CMS and printed their answer, then died of a signal \
         on their way out (SoftHSM2's exit handlers racing Podpis's module thread as it \
         finalizes and unloads the module; timed like the others): {died_at_exit} of {podpis_runs}"
    );

    // Where Podpis's time goes, in parts that have no pkcs11-tool counterpart (it has no
    // in-process form): the tier's own calls with the module loaded once, and the durable write.
    let child = Command::new(std::env::current_exe().expect("current exe"))
        .env(IN_PROCESS_CHILD, PKCS11_RUNS.to_string())
        .env("SOFTHSM2_CONF", &conf)
        .env_remove("OPENSSL_CONF")
        .output()
        .expect("in-process child");
    let measured = String::from_utf8_lossy(&child.stdout);
    // The child drops its module at the end, so it can die on its way out as podpis does; its
    // figures are printed by then.
    assert!(
        child.status.success() || (child.status.code().is_none() && measured.ends_with(")\n")),
        "in-process child ({}): {measured}{}",
        child.status,
        String::from_utf8_lossy(&child.stderr)
    );
    print!("{measured}");
    if !child.status.success() {
        println!("  (this child too died of a signal on its way out, after measuring)");
    }
    let cms = std::fs::read(&p7s).expect("p7s");
    let written = dir.path().join("written.p7s");
    let mut writes = Vec::new();
    for _ in 0..PKCS11_RUNS {
        let t = Instant::now();
        client::durable::write_atomically(&written, &cms).expect("write");
        writes.push(t.elapsed());
    }
    println!(
        "- in-process, the CMS written as podpis writes it (`client::durable::write_atomically`: \
         file fsynced, renamed, directory fsynced), in the scratch directory under target/: {}",
        stats(writes)
    );
    drop(hsm);
}

/// In the child of [`pkcs11_tier`]: Podpis's PKCS#11 tier alone, SoftHSM2 loaded once.
fn pkcs11_in_process(runs: &str) {
    use signing::pkcs11::{Module, ToSign};
    let runs: usize = runs.parse().expect("runs");
    let t = Instant::now();
    let module = Module::open(softhsm::SOFTHSM).expect("open SoftHSM2");
    let opened = t.elapsed();
    let token = module
        .tokens()
        .expect("tokens")
        .into_iter()
        .find(|t| t.label.trim() == softhsm::LABEL)
        .expect("the token");
    let mut reads = Vec::new();
    let mut contents = None;
    for _ in 0..runs {
        let t = Instant::now();
        contents = Some(module.read(&token.id).expect("read"));
        reads.push(t.elapsed());
    }
    let contents = contents.expect("read at least once");
    let key = contents.keys.first().expect("a key with a certificate");
    let mut signs = Vec::new();
    for _ in 0..runs {
        let pin = Pin::new(softhsm::USER_PIN.to_owned()).expect("pin");
        let to_sign = ToSign::digest(vec![0x5A; 32]);
        let t = Instant::now();
        let signature = module
            .sign(
                &token.id,
                &key.id,
                key.algorithm,
                to_sign,
                Some(pin),
                LastTry::NotConfirmed,
            )
            .expect("sign");
        signs.push(t.elapsed());
        assert_eq!(signature.len(), 64, "r ‖ s of P-256");
    }
    println!(
        "- in-process, Podpis's tier alone (`signing::pkcs11::Module`, SoftHSM2 loaded once in a \
         child of the bench; these have no pkcs11-tool counterpart, which has no in-process form, \
         and are not set against it): load + C_Initialize once {:.2} ms; read the token \
         (certificates and keys by CKA_ID) {}; login + sign + logout {}",
        opened.as_secs_f64() * 1000.0,
        stats(reads),
        stats(signs)
    );
}

fn whole_confirmation() {
    println!("\n## Whole confirmation (`podpis confirm`, sandbox portal on loopback)\n");
    let mut runs = Vec::new();
    for _ in 0..8 {
        let portal = Portal::start(&[]);
        let card = VirtualCard::start("entrepreneur");
        let data = tempfile::tempdir_in(scratch()).expect("dir");
        let podpis_cmd = |args: &[&str], stdin: &str| {
            use std::io::Write;
            let mut child = Command::new(bin("podpis"))
                .env("PODPIS_DATA_DIR", data.path())
                .env("PODPIS_PKCS11_DISCOVERY", "0")
                .args(["--portal", &portal.url])
                .args(args)
                .stdin(Stdio::piped())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("podpis");
            child
                .stdin
                .take()
                .expect("stdin")
                .write_all(stdin.as_bytes())
                .expect("stdin");
            child.wait().expect("wait").success()
        };
        assert!(podpis_cmd(
            &["login", "+79990000001", "--password-stdin"],
            "ivanov-sandbox-1\n"
        ));
        let t = Instant::now();
        assert!(podpis_cmd(
            &["confirm", "--reader", card.reader(), "--pin-stdin"],
            &format!("{PIN}\n")
        ));
        runs.push(t.elapsed());
    }
    println!("- `podpis confirm` (read card, findings, challenge, sign on the card, outbox, send, portal checks): {}", stats(runs));
}

fn desktop_app() {
    println!("\n## Desktop app (podpis-desktop, under Xvfb through tauri-driver)\n");
    let _card = VirtualCard::start("entrepreneur");
    let mut first = Vec::new();
    let mut rss = String::new();
    for i in 0..3 {
        let app = App::start("ru");
        app.find("#login-title");
        first.push(app.started.elapsed());
        if i == 0 {
            app.wait_text("#portal-line", "http://127.0.0.1:", Duration::from_secs(30));
            app.type_into("#login-name", "+79990000001");
            app.type_into("#login-password", "ivanov-sandbox-1");
            app.click("#login-submit");
            app.find("#account-level");
            app.click("#nav-confirm");
            app.find("#certificates .certificate");
            std::thread::sleep(Duration::from_millis(500));
            rss = resident_memory();
        }
    }
    println!(
        "- WebDriver session created → first screen rendered (window up, UI loaded): {}",
        stats(first)
    );
    println!("- resident memory at the confirmation screen: {rss}");
}

/// Runs of each app in the memory section (`PODPIS_BENCH_MEMORY_RUNS` changes it for an
/// experiment): each takes a few seconds to settle.
const MEMORY_RUNS: usize = 5;

/// podpis-desktop against the floor of its framework, an empty Tauri 2 app (bench/empty-app, the
/// same tauri and features, one window of the same size, a blank page), both release builds
/// started alone on one Xvfb without WebDriver, interleaved, each measured once idle.
fn memory_against_empty_app() {
    println!("\n## Memory (PSS over each app's process tree, idle at its first window)\n");
    let runs = std::env::var("PODPIS_BENCH_MEMORY_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(MEMORY_RUNS);
    let logs = tempfile::Builder::new()
        .prefix("memory-")
        .tempdir_in(scratch())
        .expect("dir");
    // One data directory for every run, as a person's: the first run probes the PKCS#11 modules
    // and the later ones recall the verdicts.
    let data = logs.path().join("podpis-data");
    let subjects = [
        memory::Subject {
            name: "empty Tauri 2 app (bench/empty-app)".into(),
            program: bin("tauri-empty-app"),
            envs: Vec::new(),
        },
        // Most of the floor under Xvfb is WebKit's accelerated compositing (GL through Mesa's
        // LLVM rasteriser); the same floor without it shows what that part costs (Podpis keeps
        // it: src-tauri/src/webview.rs says why).
        memory::Subject {
            name: "empty Tauri 2 app, compositing off (`WEBKIT_DISABLE_COMPOSITING_MODE=1`)".into(),
            program: bin("tauri-empty-app"),
            envs: vec![("WEBKIT_DISABLE_COMPOSITING_MODE".into(), "1".into())],
        },
        memory::Subject {
            name: "podpis-desktop".into(),
            program: bin("podpis-desktop"),
            envs: vec![("PODPIS_DATA_DIR".into(), data.into_os_string())],
        },
    ];
    let totals = memory::report(&subjects, runs, logs.path());
    let ratio = |of: usize, to: usize, alone: bool| -> String {
        let pick = |i: usize| {
            if alone {
                totals[i].1
            } else {
                Some(totals[i].0)
            }
        };
        match (pick(of), pick(to)) {
            (Some(a), Some(b)) => format!("{:.2}", a as f64 / b as f64),
            _ => "(needs root)".into(),
        }
    };
    println!(
        "- **ratio podpis-desktop / empty app (median PSS totals, same run): {}**; {} to the empty app with compositing off",
        ratio(2, 0, false),
        ratio(2, 1, false)
    );
    println!(
        "- the same ratios of the totals if alone on the machine: {} and {}",
        ratio(2, 0, true),
        ratio(2, 1, true)
    );
    println!(
        "- executables: podpis-desktop {} MiB (UI bundle ui/dist {} KiB inside), tauri-empty-app {} MiB",
        memory::mib(memory::size_kib(&bin("podpis-desktop"))),
        memory::size_kib(&repo().join("ui/dist")),
        memory::mib(memory::size_kib(&bin("tauri-empty-app")))
    );
}

/// VmRSS of the app's process and of the WebKit processes it runs.
fn resident_memory() -> String {
    let mut parts = Vec::new();
    for entry in std::fs::read_dir("/proc").expect("proc").flatten() {
        let Ok(cmdline) = std::fs::read_to_string(entry.path().join("cmdline")) else {
            continue;
        };
        let name = cmdline
            .split('\0')
            .next()
            .unwrap_or("")
            .rsplit('/')
            .next()
            .unwrap_or("")
            .to_owned();
        if name == "podpis-desktop" || name == "WebKitWebProcess" || name == "WebKitNetworkProcess"
        {
            let status = std::fs::read_to_string(entry.path().join("status")).unwrap_or_default();
            if let Some(line) = status.lines().find(|l| l.starts_with("VmRSS:")) {
                let kb: u64 = line
                    .split_whitespace()
                    .nth(1)
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(0);
                parts.push((name, kb));
            }
        }
    }
    let total: u64 = parts.iter().map(|(_, kb)| kb).sum();
    let detail = parts
        .iter()
        .map(|(n, kb)| format!("{n} {:.1} MiB", *kb as f64 / 1024.0))
        .collect::<Vec<_>>()
        .join(", ");
    format!("{:.1} MiB in all ({detail})", total as f64 / 1024.0)
}

/// Requests that pass every check up to the nonce (signature, chain, CRL, CAdES, document) and are
/// refused there: each costs the portal a full verification and an audit row, and changes no
/// account.
fn portal_throughput() {
    println!("\n## Portal (sandbox, SQLite, loopback)\n");
    let signer = Signer::for_profile("entrepreneur");
    let portal = Portal::start(&["--confirmations-per-minute", "1000000"]);
    let (token, account) = portal.login_as("entrepreneur");
    let mut challenge = portal.challenge(&token, protocol::Purpose::ConfirmIdentity);
    challenge.nonce = "bm90LWEtbm9uY2UtdGhlLXBvcnRhbC1pc3N1ZWQ".into();
    let cms = signer.request(&account, &challenge);

    // The raw cost of one GOST CMS verification (signature and CAdES) in this process.
    let mut store = openssl::x509::store::X509StoreBuilder::new().expect("store");
    for pem in ["root.pem", "ca.pem"] {
        let bytes = std::fs::read(pki_dir().join(pem)).expect("pki");
        store
            .add_cert(openssl::x509::X509::from_pem(&bytes).expect("pem"))
            .expect("add");
    }
    let store = store.build();
    let mut raw = Vec::new();
    for _ in 0..200 {
        let t = Instant::now();
        let mut content = openssl::cms::CmsContentInfo::from_der(&cms).expect("cms");
        content
            .verify(
                None,
                Some(&store),
                None,
                None,
                openssl::cms::CMSOptions::BINARY
                    | openssl::cms::CMSOptions::from_bits_retain(0x100000),
            )
            .expect("verify");
        raw.push(t.elapsed());
    }
    let raw_median = median(raw.clone());
    println!("- one GOST R 34.10-2012-256 CAdES verification with chain (OpenSSL + GOST engine, in-process): {}", stats(raw));

    let threads = 8;
    let per_thread = 60;
    let url = format!("{}/api/v1/confirmations", portal.url);
    let portal_pid = portal.pid().expect("portal runs");
    let cpu_before = cpu_time(portal_pid);
    let started = Instant::now();
    let workers: Vec<_> = (0..threads)
        .map(|_| {
            let (url, token, cms) = (url.clone(), token.clone(), cms.clone());
            std::thread::spawn(move || {
                let http = Portal::http();
                let mut latencies = Vec::new();
                for _ in 0..per_thread {
                    let t = Instant::now();
                    let status = http
                        .post(&url)
                        .bearer_auth(&token)
                        .header("content-type", protocol::CMS_CONTENT_TYPE)
                        .body(cms.clone())
                        .send()
                        .expect("send")
                        .status();
                    assert_eq!(
                        status.as_u16(),
                        404,
                        "every request is verified, then refused at the nonce"
                    );
                    latencies.push(t.elapsed());
                }
                latencies
            })
        })
        .collect();
    let latencies: Vec<Duration> = workers
        .into_iter()
        .flat_map(|w| w.join().expect("worker"))
        .collect();
    let elapsed = started.elapsed();
    let cpu = cpu_time(portal_pid) - cpu_before;
    let rate = latencies.len() as f64 / elapsed.as_secs_f64();
    let raw_rate = 1.0 / raw_median.as_secs_f64();
    println!("- {} fully verified requests from {threads} concurrent clients in {:.2} s: {rate:.0} per second; latency {}", latencies.len(), elapsed.as_secs_f64(), stats(latencies));
    println!("- one core doing only raw verifications would do {raw_rate:.0} per second; the portal on this machine (HTTP, JSON, SQLite, audit row, its own parsing, and the clients on the same cores) does {:.2}× that", rate / raw_rate);
    let cpu_per_request = cpu / (threads * per_thread) as u32;
    println!(
        "- the portal's CPU time per request (user + system, from /proc, all its threads): {:.2} ms, {:.2}× one raw verification",
        cpu_per_request.as_secs_f64() * 1000.0,
        cpu_per_request.as_secs_f64() / raw_median.as_secs_f64()
    );
}

/// User + system CPU time of a process and all its threads so far (/proc/PID/stat, fields 14
/// and 15, in clock ticks of 1/100 s on Linux).
fn cpu_time(pid: u32) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("proc stat");
    // The command name may hold spaces; the fields after it are counted from its ')'.
    let after = &stat[stat.rfind(')').expect("stat") + 2..];
    let fields: Vec<u64> = after
        .split_whitespace()
        .map(|f| f.parse().unwrap_or(0))
        .collect();
    Duration::from_millis((fields[11] + fields[12]) * 10)
}

/// One native-messaging frame: a 32-bit length in native order, then the JSON.
fn host_frame(message: &serde_json::Value) -> Vec<u8> {
    let body = serde_json::to_vec(message).expect("json");
    let mut frame = u32::try_from(body.len())
        .expect("u32")
        .to_ne_bytes()
        .to_vec();
    frame.extend(body);
    frame
}

fn host_reply(out: &mut impl std::io::Read) -> serde_json::Value {
    let mut length = [0u8; 4];
    out.read_exact(&mut length).expect("reply length");
    let mut body = vec![0u8; u32::from_ne_bytes(length) as usize];
    out.read_exact(&mut body).expect("reply body");
    serde_json::from_slice(&body).expect("reply json")
}

/// A process's resident and proportional memory, in MiB, from /proc.
fn rss_and_pss(pid: u32) -> (f64, f64) {
    let field = |file: &str, name: &str| -> f64 {
        let text = std::fs::read_to_string(format!("/proc/{pid}/{file}")).expect("proc");
        let line = text
            .lines()
            .find(|l| l.starts_with(name))
            .unwrap_or_else(|| panic!("{name} in /proc/{pid}/{file}"));
        let kib: f64 = line
            .split_whitespace()
            .nth(1)
            .and_then(|v| v.parse().ok())
            .expect("kB");
        kib / 1024.0
    };
    (field("status", "VmRSS:"), field("smaps_rollup", "Pss:"))
}

/// The browser bridge without the browser: `podpis-host` (release) started as Chromium starts
/// it, frames written and read as the extension does, the page library's own sequence. The
/// person's consent is answered at once by this program, listening on the app's socket in the
/// host's data directory (the app's part is measured by tests/tests/browser.rs with a click).
fn browser_host() {
    use client::bridge::{socket_dir_from, Answer, Listening, Question, Secret};
    use serde_json::{json, Value};

    println!("\n## Browser bridge: podpis-host (release), virtual GOST token, consent answered at once\n");
    let card = VirtualCard::start("entrepreneur");
    let data = tempfile::tempdir_in(scratch()).expect("data dir");
    let listening = Listening::bind(&socket_dir_from(Some(data.path().into()), None))
        .expect("socket")
        .expect("no other app listens in a fresh directory");
    let sign_questions = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = sign_questions.clone();
    // Ends with this program: it blocks in accept once the host is gone.
    std::thread::spawn(move || {
        while let Ok(mut asker) = listening.accept() {
            let answer = match asker.question() {
                Ok(Question::List { .. }) => Answer::Allow,
                Ok(Question::Sign(_)) => {
                    counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    Answer::Sign {
                        pin: Some(Secret::new(PIN.to_owned())),
                        last_try_confirmed: false,
                    }
                }
                Err(_) => break,
            };
            if asker.answer(&answer).is_err() {
                break;
            }
        }
    });
    let mut host = Command::new(bin("podpis-host"))
        .arg("chrome-extension://heccbomkgkkfobheiepjmdhophngobhm/")
        .env("PODPIS_DATA_DIR", data.path())
        .env("PODPIS_PKCS11_DISCOVERY", "0")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("podpis-host");
    let pid = host.id();
    let mut to_host = host.stdin.take().expect("stdin");
    let mut from_host = host.stdout.take().expect("stdout");
    let mut call = |msg: Value| -> Value {
        let envelope = json!({"origin": "https://www.gosuslugi.ru", "msg_data": msg});
        to_host.write_all(&host_frame(&envelope)).expect("write");
        to_host.flush().expect("flush");
        let reply = host_reply(&mut from_host);
        assert_eq!(reply["error_code"], 0, "{msg}: {reply}");
        reply
    };
    call(
        json!({"func_name": "create", "params": {"file_config": "", "config_string": "", "log_file_location": "", "plugin_log_level": ""}}),
    );
    call(json!({"func_name": "version"}));
    let (idle_rss, idle_pss) = rss_and_pss(pid);
    let list = call(json!({"func_name": "get_list_info", "params": {"cryptoType": null}}));
    let ours = list["ifc_list"]
        .as_array()
        .expect("ifc_list")
        .iter()
        .find(|c| c["description"] == card.reader())
        .expect("the virtual card listed");
    let crypto_id = format!(
        "{}/{}",
        ours["alias"].as_str().expect("alias"),
        ours["num"].as_str().expect("num")
    );
    let certs = call(
        json!({"func_name": "get_list_certs_by_cryptoid_array", "params": {"cryptoID_array": [crypto_id], "show_progress": 0}}),
    );
    let key_id = certs["result_array"][0]["cert_list"][0]["id"]
        .as_str()
        .expect("certificate id")
        .to_owned();
    let container = format!("{crypto_id}/{key_id}");

    const RUNS: usize = 30;
    let (mut signs, mut library_signs) = (Vec::new(), Vec::new());
    for i in 0..RUNS {
        let sign = json!({"func_name": "sign", "params": {
            "containerId": container, "userPin": "", "inDataType": 1,
            "data": format!("podpis-browser-challenge/1 nonce=bench{i}"),
            "hashType": 1, "signType": 5, "cspUI": 1, "outDataType": 1}});
        // The page library's sign: get_list_info first (its check of the cryptoId), then sign.
        let started = Instant::now();
        call(json!({"func_name": "get_list_info", "params": {"cryptoType": null}}));
        let t = Instant::now();
        let reply = call(sign);
        signs.push(t.elapsed());
        library_signs.push(started.elapsed());
        assert!(
            reply["sign_value"].as_str().is_some_and(|v| v.len() > 100),
            "{reply}"
        );
    }
    let (busy_rss, busy_pss) = rss_and_pss(pid);
    drop(to_host);
    let status = host.wait().expect("host exit");
    assert!(status.success(), "podpis-host ended with {status}");
    assert_eq!(
        sign_questions.load(std::sync::atomic::Ordering::SeqCst),
        RUNS,
        "every signature was asked for on the consent socket"
    );

    println!("Command: `OPENSSL_CONF=config/openssl-gost.cnf target/release/podpis-bench host` (after `cargo build --release --workspace --bins`).\n");
    println!("- `sign` frame written → reply read (CAdES-BES attached, signType 5, DATA; the host reads the token again, asks the consent socket, VERIFY and PSO on the card, builds the CMS): {}", stats(signs));
    println!(
        "- the page library's sign (`get_list_info`, then `sign`, as the library sends them): {}",
        stats(library_signs)
    );
    println!("- podpis-host memory after `create` and `version`: RSS {idle_rss:.1} MiB, PSS {idle_pss:.1} MiB; after listing and {RUNS} signatures: RSS {busy_rss:.1} MiB, PSS {busy_pss:.1} MiB");
}
