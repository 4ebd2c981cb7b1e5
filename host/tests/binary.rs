//! The built `podpis-host` as the browser runs it: a child process, frames written to its stdin,
//! replies read from its stdout, and the end of its stdin ending it. Only calls that touch no
//! token are sent (and listing from an origin that is not allowed, refused before any token):
//! the virtual readers belong to the end-to-end tests, which take them under a lock.

use std::io::{Read, Write};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

const PORTAL: &str = "https://www.gosuslugi.ru";

fn frame(body: &[u8]) -> Vec<u8> {
    let mut out = u32::try_from(body.len())
        .expect("short")
        .to_ne_bytes()
        .to_vec();
    out.extend_from_slice(body);
    out
}

fn message(func_name: &str, params: Option<Value>) -> Vec<u8> {
    let mut request = json!({ "func_name": func_name });
    if let Some(params) = params {
        request["params"] = params;
    }
    frame(&serde_json::to_vec(&json!({"origin": PORTAL, "msg_data": request})).expect("json"))
}

/// What Chrome passes when Podpis's extension calls: the caller's origin.
const PODPIS_ORIGIN: &str = "chrome-extension://heccbomkgkkfobheiepjmdhophngobhm/";

fn start(data_dir: &std::path::Path) -> Child {
    start_with(data_dir, &[PODPIS_ORIGIN])
}

fn start_with(data_dir: &std::path::Path, args: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_podpis-host"))
        .args(args)
        .env("PODPIS_DATA_DIR", data_dir)
        // No module of the system is probed or loaded by this test.
        .env("PODPIS_PKCS11_DISCOVERY", "0")
        // A listing refused here asks the app, which the host starts when none runs: without a
        // display that app cannot open its window and exits at once, so the refusal comes at
        // once wherever the tests run (never a real window waiting for a person).
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("podpis-host starts")
}

/// Reads one reply frame, as the browser does.
fn read_reply(out: &mut impl Read) -> Option<Value> {
    let mut header = [0u8; 4];
    if out.read_exact(&mut header).is_err() {
        return None;
    }
    let length = u32::from_ne_bytes(header) as usize;
    assert!(length <= 1024 * 1024, "a reply over Chrome's limit");
    let mut body = vec![0; length];
    out.read_exact(&mut body).expect("the whole reply");
    Some(serde_json::from_slice(&body).expect("the reply is JSON"))
}

/// Waits for the child to exit by itself, at most a few seconds.
fn wait_exit(child: &mut Child) -> std::process::ExitStatus {
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            return status;
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "the host did not end with its stdin"
        );
        thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn the_host_answers_frames_in_order_and_ends_with_its_stdin() {
    let dir = tempfile::tempdir().expect("tmp");
    let mut child = start(dir.path());
    let mut stdin = child.stdin.take().expect("stdin");
    let mut stdout = child.stdout.take().expect("stdout");

    let certificate = std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../fuzz/seeds/certificate/gost256.der"),
    )
    .expect("a GOST certificate");
    let cert_b64 = {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD.encode(&certificate)
    };

    // Written from another thread, as the browser writes while it reads.
    let over_limit = 64 * 1024 * 1024 + 1;
    let writer = thread::spawn(move || {
        let mut input = Vec::new();
        input.extend(message(
            "create",
            Some(json!({"file_config": "", "config_string": ""})),
        ));
        input.extend(message("version", None));
        input.extend(message(
            "load_x509_from_data",
            Some(json!({"cert": cert_b64, "cert_data_type": 0})),
        ));
        input.extend(message("get_x509_info", Some(json!({"x509Handle": 1}))));
        input.extend(message("free_x509", Some(json!({"x509Handle": 1}))));
        input.extend(message(
            "hash",
            Some(json!({"containerId": "", "inDataType": 1, "data": "", "outDataType": 1})),
        ));
        // Not allowed to list: refused before any token is read.
        input.extend(message("get_list_info", Some(json!({"cryptoType": null}))));
        input.extend(message(
            "key_gen",
            Some(json!({"containerId": "x", "userPin": ""})),
        ));
        input.extend(frame(b"{ this is not JSON"));
        input.extend(frame(&[0xC3, 0x28, 0xFF]));
        input.extend(frame(br#"{"msg_data":{"func_name":"version"}}"#));
        input.extend(message("get_list_certs", Some(json!({"cryptoID": 1}))));
        stdin.write_all(&input).expect("write");
        // Over the limit: read through by the host, answered, and the stream goes on.
        stdin
            .write_all(&u32::try_from(over_limit).expect("u32").to_ne_bytes())
            .expect("write");
        let chunk = vec![b' '; 1024 * 1024];
        let mut left = over_limit;
        while left > 0 {
            let n = left.min(chunk.len());
            stdin.write_all(&chunk[..n]).expect("write");
            left -= n;
        }
        stdin.write_all(&message("version", None)).expect("write");
        // Dropping stdin is the browser closing the port.
    });

    let mut replies = Vec::new();
    while let Some(reply) = read_reply(&mut stdout) {
        replies.push(reply);
    }
    writer.join().expect("writer");
    let status = wait_exit(&mut child);
    assert!(
        status.success(),
        "a clean exit at the end of stdin: {status}"
    );

    let codes: Vec<i64> = replies
        .iter()
        .map(|r| r["error_code"].as_i64().expect("a numeric error_code"))
        .collect();
    assert_eq!(
        codes,
        vec![0, 0, 0, 0, 0, 0, -1, 0x11, 5, 5, -1, 5, 6, 0],
        "{replies:#?}"
    );
    assert_eq!(replies[1]["version"], "3.1.0");
    assert_eq!(replies[2]["x509Handle"], 1);
    let info = &replies[3]["cert_info"];
    assert_eq!(info["cert_sign_alg"], "1.2.643.7.1.1.1.1");
    // OpenSSL reads this certificate as "Version: 1 (0x0)".
    assert_eq!(info["version"], "1");
    assert!(info["cert_subject"].as_str().is_some_and(|s| !s.is_empty()));
    assert!(info["cert_valid_to"]
        .as_str()
        .is_some_and(|s| s.ends_with(" GMT")));
    assert_eq!(
        replies[5]["hashValue"],
        "P1OaIT6XyALMIp1HTGqjKoJaNgsqkzqUn9klII2c4bs="
    );
    assert_eq!(replies[13]["version"], "3.1.0");
}

#[test]
fn a_frame_cut_short_ends_the_host_cleanly() {
    let dir = tempfile::tempdir().expect("tmp");
    let mut child = start(dir.path());
    let mut stdin = child.stdin.take().expect("stdin");
    let mut stdout = child.stdout.take().expect("stdout");
    let mut input = message("version", None);
    let next = message("version", None);
    input.extend(&next[..next.len() - 3]);
    stdin.write_all(&input).expect("write");
    drop(stdin);
    let first = read_reply(&mut stdout).expect("the whole message is answered");
    assert_eq!(first["error_code"], 0);
    assert!(
        read_reply(&mut stdout).is_none(),
        "nothing answers the cut one"
    );
    let status = wait_exit(&mut child);
    assert!(status.success(), "{status}");
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .expect("stderr")
        .read_to_string(&mut stderr)
        .expect("stderr");
    assert!(stderr.contains("ended inside a message"), "{stderr}");
}

#[test]
fn an_empty_stdin_ends_the_host_at_once() {
    let dir = tempfile::tempdir().expect("tmp");
    let mut child = start(dir.path());
    drop(child.stdin.take());
    let status = wait_exit(&mut child);
    assert!(status.success(), "{status}");
    let mut out = Vec::new();
    child
        .stdout
        .take()
        .expect("stdout")
        .read_to_end(&mut out)
        .expect("stdout");
    assert!(out.is_empty());
}

/// Everything the child wrote, once it has exited.
fn outputs(child: &mut Child) -> (Vec<u8>, String) {
    let mut out = Vec::new();
    let mut err = String::new();
    child
        .stdout
        .take()
        .expect("stdout")
        .read_to_end(&mut out)
        .expect("stdout");
    child
        .stderr
        .take()
        .expect("stderr")
        .read_to_string(&mut err)
        .expect("stderr");
    (out, err)
}

#[test]
fn firefox_starting_it_for_podpis_s_add_on_is_served() {
    let dir = tempfile::tempdir().expect("tmp");
    let manifest = "/root/.mozilla/native-messaging-hosts/org.podpis.host.json";
    let mut child = start_with(dir.path(), &[manifest, "podpis-bridge@podpis"]);
    let mut stdin = child.stdin.take().expect("stdin");
    stdin.write_all(&message("version", None)).expect("write");
    drop(stdin);
    let reply = read_reply(child.stdout.as_mut().expect("stdout")).expect("a reply");
    assert_eq!(reply["version"], "3.1.0");
    assert!(wait_exit(&mut child).success());
}

#[test]
fn another_caller_is_refused_before_any_frame_is_read() {
    let dir = tempfile::tempdir().expect("tmp");
    for (args, code, said) in [
        // Another Chrome extension that some manifest allowed.
        (
            &[
                "chrome-extension://abcdefghijklmnopabcdefghijklmnop/",
                "--parent-window=0",
            ][..],
            3,
            "chrome-extension://abcdefghijklmnopabcdefghijklmnop/",
        ),
        // Another Firefox add-on.
        (
            &[
                "/usr/lib/mozilla/native-messaging-hosts/org.podpis.host.json",
                "evil@example.org",
            ],
            3,
            "evil@example.org",
        ),
        // A person in a terminal: told what the program is for.
        (&[], 2, "podpis browser install"),
        (&["--help"], 2, "podpis browser install"),
    ] {
        let mut child = start_with(dir.path(), args);
        // A request waits on stdin; the refused host must not answer it.
        let mut stdin = child.stdin.take().expect("stdin");
        let _ = stdin.write_all(&message("version", None));
        let status = wait_exit(&mut child);
        drop(stdin);
        let (out, err) = outputs(&mut child);
        assert_eq!(status.code(), Some(code), "{args:?}: {err}");
        assert!(out.is_empty(), "{args:?}: nothing on stdout");
        assert!(
            err.starts_with("podpis-host: ") && err.contains(said),
            "{args:?}: {err}"
        );
        assert_eq!(err.lines().count(), 1, "one line: {err}");
    }
}

#[test]
fn the_refusal_speaks_the_language_asked_for() {
    let dir = tempfile::tempdir().expect("tmp");
    for (lang, words) in [("en", "not by hand"), ("ru", "запускает браузер")] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_podpis-host"))
            .env("PODPIS_LANG", lang)
            .env("PODPIS_DATA_DIR", dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("podpis-host starts");
        assert_eq!(wait_exit(&mut child).code(), Some(2));
        let (_, err) = outputs(&mut child);
        assert!(err.contains(words), "{lang}: {err}");
    }
}
