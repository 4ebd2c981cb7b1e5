//! `podpis-bench`: the measurements of BENCHMARKS.md, on the real stack (pcscd + vpcd +
//! podpis-vcard + podpis-portal + podpis + the desktop app under Xvfb). Prints a Markdown report.
//! Run by `make bench`; timings vary with the machine, so they live here and not in tests.

use std::ffi::CString;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use podpis_tests::desktop::App;
use podpis_tests::portal::{Portal, Signer};
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
const SECTIONS: [(&str, fn()); 4] = [
    ("card", card_path),
    ("confirm", whole_confirmation),
    ("portal", portal_throughput),
    ("app", desktop_app),
];

fn main() {
    let wanted: Vec<String> = std::env::args().skip(1).collect();
    for name in &wanted {
        assert!(
            SECTIONS.iter().any(|(n, _)| n == name),
            "unknown section {name}; the sections are card, confirm, portal, app"
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
