//! `podpis-bench-verify`: `podpis verify` against `openssl cms -verify` on the same signature
//! file, with the same trust (the test PKI's root and issuing CA) and the same CRLs, both with
//! the GOST engine, started as a user starts them. Runs interleaved (the order swapped every
//! round); prints the medians and their ratio as Markdown for BENCHMARKS.md.
//!
//! Usage: `cargo build --release -p cli && podpis-bench-verify [RUNS]` (100 by default). The
//! `podpis` measured is target/release/podpis (PODPIS_BIN names another).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use podpis_tests::portal::Signer;
use podpis_tests::{ensure_pki, gost_conf, pki_dir, repo, scratch};

fn stats(mut samples: Vec<Duration>) -> (Duration, String) {
    samples.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let at = |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize];
    let median = at(0.5);
    (
        median,
        format!(
            "median {:.2} ms, p10 {:.2}, p90 {:.2}, min {:.2}, max {:.2} (n={})",
            ms(median),
            ms(at(0.1)),
            ms(at(0.9)),
            ms(samples[0]),
            ms(samples[samples.len() - 1]),
            samples.len()
        ),
    )
}

/// Runs `command` once; its time from spawn to exit. It must exit 0.
fn timed(command: &mut Command) -> Duration {
    let started = Instant::now();
    let status = command
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("start");
    let took = started.elapsed();
    assert!(status.success(), "{command:?} failed: {status}");
    took
}

fn main() {
    let runs: usize = std::env::args()
        .nth(1)
        .map(|n| n.parse().expect("RUNS is a number"))
        .unwrap_or(100);
    let podpis = std::env::var_os("PODPIS_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join("target/release/podpis"));
    assert!(
        podpis.exists(),
        "{} is missing: cargo build --release -p cli",
        podpis.display()
    );
    ensure_pki();
    let pki = pki_dir();
    let dir = tempfile::Builder::new()
        .prefix("bench-verify-")
        .tempdir_in(scratch())
        .expect("dir");
    // A document of 100 KiB signed by OpenSSL (GOST R 34.10-2012 256, attached CAdES-BES) with
    // the entrepreneur's key and a certificate of the test PKI.
    let document: Vec<u8> = (0..100 * 1024).map(|i| b"podpis "[i % 7]).collect();
    let signer = Signer::for_profile("entrepreneur");
    let p7s = dir.path().join("document.p7s");
    fs::write(&p7s, signer.sign(&document)).expect("write");
    // OpenSSL's trust: the root and the issuing CA, and both CRLs, in the one -CAfile.
    let bundle = dir.path().join("trust.pem");
    let mut pem = Vec::new();
    for name in ["root.pem", "ca.pem", "crl.pem", "root-crl.pem"] {
        pem.extend(fs::read(pki.join(name)).expect("pki file"));
    }
    fs::write(&bundle, pem).expect("bundle");
    let data = dir.path().join("data");

    let podpis_run = || {
        let mut c = Command::new(&podpis);
        c.env("OPENSSL_CONF", gost_conf())
            .env("PODPIS_DATA_DIR", &data)
            .arg("verify")
            .arg(&p7s)
            .arg("--sandbox")
            .arg(&pki)
            .arg("--offline");
        c
    };
    let openssl_run = || {
        let mut c = Command::new("openssl");
        c.env("OPENSSL_CONF", gost_conf())
            .args([
                "cms", "-verify", "-cades", "-binary", "-inform", "DER", "-in",
            ])
            .arg(&p7s)
            .arg("-CAfile")
            .arg(&bundle)
            .args(["-crl_check_all", "-out", "/dev/null"]);
        c
    };
    check_both_refuse_a_changed_document(
        &p7s,
        &dir.path().join("changed.p7s"),
        &podpis,
        &pki,
        &bundle,
    );

    // One of each first, unmeasured: the page cache holds the binaries and files for both.
    timed(&mut podpis_run());
    timed(&mut openssl_run());
    let (mut ours, mut theirs) = (Vec::new(), Vec::new());
    for round in 0..runs {
        if round % 2 == 0 {
            ours.push(timed(&mut podpis_run()));
            theirs.push(timed(&mut openssl_run()));
        } else {
            theirs.push(timed(&mut openssl_run()));
            ours.push(timed(&mut podpis_run()));
        }
    }
    let (our_median, our_text) = stats(ours);
    let (their_median, their_text) = stats(theirs);
    println!("## Verification (`podpis verify` against `openssl cms -verify`, the same file)\n");
    println!(
        "- `podpis verify FILE --sandbox PKI --offline` (release build; process start, the GOST \
         engine, the system's {} roots and the test PKI read, CRLs read, the signature, chain, \
         CRL lookups of signer and CA, CAdES signingCertificateV2, the report printed): {our_text}",
        system_roots()
    );
    println!(
        "- `openssl cms -verify -cades -binary -CAfile root+CA+CRLs -crl_check_all -out /dev/null` \
         (signature, chain, CRLs of both, CAdES): {their_text}"
    );
    println!(
        "- **ratio podpis / openssl (medians, same run, same file, {runs} interleaved runs each): {:.2}**",
        our_median.as_secs_f64() / their_median.as_secs_f64()
    );
}

/// How many certificates the system's bundle holds (podpis reads them all; openssl here does not).
fn system_roots() -> usize {
    fs::read_to_string("/etc/ssl/certs/ca-certificates.crt")
        .map(|t| t.matches("BEGIN CERTIFICATE").count())
        .unwrap_or(0)
}

/// Both tools must be doing the work: each refuses the same file with a byte of the document
/// changed (a bench of two programs that accept anything would measure nothing).
fn check_both_refuse_a_changed_document(
    good: &Path,
    changed: &Path,
    podpis: &Path,
    pki: &Path,
    bundle: &Path,
) {
    let mut bytes = fs::read(good).expect("read");
    let at = bytes
        .windows(14)
        .position(|w| w == b"podpis podpis ")
        .expect("document inside");
    bytes[at] ^= 1;
    fs::write(changed, bytes).expect("write");
    let ours = Command::new(podpis)
        .env("OPENSSL_CONF", gost_conf())
        .arg("verify")
        .arg(changed)
        .arg("--sandbox")
        .arg(pki)
        .arg("--offline")
        .stdout(Stdio::null())
        .status()
        .expect("podpis");
    assert_eq!(ours.code(), Some(11), "podpis verify must call it invalid");
    let theirs = Command::new("openssl")
        .env("OPENSSL_CONF", gost_conf())
        .args([
            "cms", "-verify", "-cades", "-binary", "-inform", "DER", "-in",
        ])
        .arg(changed)
        .arg("-CAfile")
        .arg(bundle)
        .args(["-crl_check_all", "-out", "/dev/null"])
        .stderr(Stdio::null())
        .status()
        .expect("openssl");
    assert!(!theirs.success(), "openssl cms -verify must refuse it");
}
