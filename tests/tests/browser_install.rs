//! `podpis browser install/uninstall` as a person runs it: the built `podpis` with a home of its
//! own, writing the browsers' host manifests for the built `podpis-host`, and the browser's view
//! of them (the manifest's `path`, started with Chrome's argument, answers a frame).

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use podpis_tests::*;
use serde_json::{json, Value};

const ORIGIN: &str = "chrome-extension://heccbomkgkkfobheiepjmdhophngobhm/";
const ADDON: &str = "podpis-bridge@podpis";

/// `podpis` with `home` as HOME, and none of the variables that move Chrome's directories.
fn podpis_in(home: &Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(bin("podpis"))
        .args(args)
        .env("HOME", home)
        .env_remove("XDG_CONFIG_HOME")
        .env_remove("CHROME_CONFIG_HOME")
        .env("PODPIS_PKCS11_DISCOVERY", "0")
        .stdin(Stdio::null())
        .output()
        .expect("run podpis");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn manifests(home: &Path) -> [(PathBuf, &'static str); 3] {
    [
        (
            home.join(".config/chromium/NativeMessagingHosts/org.podpis.host.json"),
            "chromium",
        ),
        (
            home.join(".config/google-chrome/NativeMessagingHosts/org.podpis.host.json"),
            "chrome",
        ),
        (
            home.join(".mozilla/native-messaging-hosts/org.podpis.host.json"),
            "firefox",
        ),
    ]
}

fn read_json(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).expect("the manifest")).expect("valid JSON")
}

#[test]
fn install_registers_the_host_for_each_browser_and_uninstall_takes_only_that_back() {
    let home = tempfile::tempdir().expect("tmp");
    // Another program's host in the same directory: never touched.
    let foreign_dir = home.path().join(".config/chromium/NativeMessagingHosts");
    std::fs::create_dir_all(&foreign_dir).expect("dir");
    let foreign = foreign_dir.join("com.example.other.json");
    std::fs::write(&foreign, b"{\"name\": \"com.example.other\"}").expect("write");

    let (code, out, err) = podpis_in(home.path(), &["browser", "install", "--lang", "en"]);
    assert_eq!(code, 0, "{out}\n{err}");
    let host = bin("podpis-host").canonicalize().expect("host path");
    for (path, browser) in manifests(home.path()) {
        let manifest = read_json(&path);
        assert_eq!(manifest["name"], "org.podpis.host", "{browser}");
        assert_eq!(manifest["type"], "stdio", "{browser}");
        assert_eq!(manifest["path"], host.display().to_string(), "{browser}");
        if browser == "firefox" {
            assert_eq!(manifest["allowed_extensions"], json!([ADDON]));
            assert!(manifest.get("allowed_origins").is_none());
        } else {
            assert_eq!(manifest["allowed_origins"], json!([ORIGIN]), "{browser}");
            assert!(manifest.get("allowed_extensions").is_none());
        }
        assert!(out.contains(&path.display().to_string()), "{out}");
    }
    // Where the extension is: this checkout's extension/ directory.
    let extension = repo().join("extension").canonicalize().expect("extension/");
    assert!(
        out.contains(&format!("Load unpacked and choose {}", extension.display())),
        "{out}"
    );
    assert!(out.contains("firefox"), "{out}");

    // What the browser does with the manifest: start its `path` with Chrome's argument.
    let chromium = read_json(&manifests(home.path())[0].0);
    let mut child = Command::new(chromium["path"].as_str().expect("path"))
        .arg(chromium["allowed_origins"][0].as_str().expect("origin"))
        .env("PODPIS_DATA_DIR", home.path().join("data"))
        .env("PODPIS_PKCS11_DISCOVERY", "0")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the host starts");
    let body = serde_json::to_vec(&json!({
        "origin": "https://www.gosuslugi.ru",
        "msg_data": {"func_name": "version"},
    }))
    .expect("json");
    let mut input = u32::try_from(body.len())
        .expect("u32")
        .to_ne_bytes()
        .to_vec();
    input.extend(body);
    let mut stdin = child.stdin.take().expect("stdin");
    stdin.write_all(&input).expect("write");
    drop(stdin);
    let mut out = Vec::new();
    child
        .stdout
        .take()
        .expect("stdout")
        .read_to_end(&mut out)
        .expect("read");
    assert!(child.wait().expect("wait").success());
    assert!(out.len() > 4, "a reply frame");
    let reply: Value = serde_json::from_slice(&out[4..]).expect("a JSON reply");
    assert_eq!(reply["version"], "3.1.0");

    let (code, out, err) = podpis_in(home.path(), &["browser", "uninstall", "--json"]);
    assert_eq!(code, 0, "{out}\n{err}");
    let answer: Value = serde_json::from_str(&out).expect("one JSON answer");
    assert_eq!(answer["manifests"].as_array().map(Vec::len), Some(3));
    for (path, _) in manifests(home.path()) {
        assert!(!path.exists(), "{} is left", path.display());
    }
    assert!(foreign.exists(), "another host's manifest was removed");
    // Again: nothing to remove, still success.
    let (code, out, _) = podpis_in(home.path(), &["browser", "uninstall", "--json"]);
    assert_eq!(code, 0);
    let answer: Value = serde_json::from_str(&out).expect("one JSON answer");
    assert!(answer["manifests"]
        .as_array()
        .expect("array")
        .iter()
        .all(|m| m["changed"] == false));
}

#[test]
fn one_browser_a_chosen_host_and_refusals() {
    let home = tempfile::tempdir().expect("tmp");
    let host = bin("podpis-host");
    let (code, out, err) = podpis_in(
        home.path(),
        &[
            "browser",
            "install",
            "--browser",
            "firefox",
            "--host",
            host.to_str().expect("utf-8"),
            "--json",
        ],
    );
    assert_eq!(code, 0, "{out}\n{err}");
    let answer: Value = serde_json::from_str(&out).expect("one JSON answer");
    assert_eq!(answer["manifests"][0]["browser"], "firefox");
    let [chromium, chrome, firefox] = manifests(home.path());
    assert!(firefox.0.is_file());
    assert!(!chromium.0.exists() && !chrome.0.exists());

    // A host that is not there: refused, nothing written.
    let other = tempfile::tempdir().expect("tmp");
    let (code, out, _) = podpis_in(
        other.path(),
        &[
            "browser",
            "install",
            "--host",
            "/nonexistent/podpis-host",
            "--json",
        ],
    );
    assert_eq!(code, 1, "{out}");
    let answer: Value = serde_json::from_str(&out).expect("one JSON answer");
    assert_eq!(answer["error"]["code"], "browser-host-missing");
    assert!(std::fs::read_dir(other.path())
        .expect("dir")
        .next()
        .is_none());

    let (code, _, err) = podpis_in(home.path(), &["browser", "install", "--browser", "opera"]);
    assert_eq!(code, 2, "{err}");
}

#[test]
fn a_staging_root_takes_the_system_manifests_for_a_package() {
    let root = tempfile::tempdir().expect("tmp");
    let staged_host = root.path().join("usr/bin/podpis-host");
    std::fs::create_dir_all(staged_host.parent().expect("dir")).expect("dir");
    std::fs::copy(bin("podpis-host"), &staged_host).expect("copy");
    let (code, out, err) = podpis_in(
        Path::new("/nonexistent"),
        &[
            "browser",
            "install",
            "--system",
            "--root",
            root.path().to_str().expect("utf-8"),
            "--host",
            "/usr/bin/podpis-host",
        ],
    );
    assert_eq!(code, 0, "{out}\n{err}");
    for dir in [
        "etc/chromium/native-messaging-hosts",
        "etc/opt/chrome/native-messaging-hosts",
        "usr/lib/mozilla/native-messaging-hosts",
    ] {
        let manifest = read_json(&root.path().join(dir).join("org.podpis.host.json"));
        assert_eq!(manifest["path"], "/usr/bin/podpis-host", "{dir}");
    }
}

/// Runs `podpis` as the unprivileged user `nobody` when the tests run as root (CI does), so the
/// system directories are as closed to it as to any person without sudo.
#[test]
fn system_mode_without_root_is_a_clear_error() {
    let home = tempfile::tempdir().expect("tmp");
    let running_as_root = Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false);
    let mut cmd = if running_as_root {
        let mut c = Command::new("setpriv");
        c.args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(bin("podpis"));
        c
    } else {
        Command::new(bin("podpis"))
    };
    let out = cmd
        .args([
            "browser",
            "install",
            "--system",
            "--browser",
            "chromium",
            "--host",
            bin("podpis-host").to_str().expect("utf-8"),
            "--lang",
            "en",
        ])
        .env("HOME", home.path())
        .output()
        .expect("run podpis");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("Only root may change"), "{err}");
    assert!(err.contains("/etc/chromium"), "{err}");
    assert!(!Path::new("/etc/chromium/native-messaging-hosts/org.podpis.host.json").exists());
}
