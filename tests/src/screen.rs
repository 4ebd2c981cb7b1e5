//! What the window-driving harnesses share (the desktop app's, Chromium's, the memory bench's):
//! an X display of the test's own, a free loopback port for a driver, and a W3C WebDriver
//! screenshot kept with the test run's others.

use std::fs;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use base64::Engine as _;
use serde_json::Value;

use crate::scratch;

/// A loopback port free now (for a driver or server the test starts).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .port()
}

/// An Xvfb server and its display name (`:N`). Xvfb picks a free display itself and writes its
/// number once it accepts clients: a display chosen by the test could collide with another
/// test's or a stale server, and a fixed sleep could start a window before the server is up.
pub fn start_xvfb() -> (Child, String) {
    let mut xvfb = Command::new("Xvfb")
        .args([
            "-displayfd",
            "1",
            "-screen",
            "0",
            "1280x900x24",
            "-nolisten",
            "tcp",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("Xvfb (apt-get install xvfb)");
    let mut number = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(xvfb.stdout.take().expect("Xvfb stdout")),
        &mut number,
    )
    .expect("Xvfb display number");
    assert!(!number.trim().is_empty(), "Xvfb did not start");
    (xvfb, format!(":{}", number.trim()))
}

/// The WebDriver session's screenshot, saved as `<file>.png` in the run's screenshot folder.
/// Never panics: it is also taken while a failing test unwinds.
pub fn screenshot(
    http: &reqwest::blocking::Client,
    base: &str,
    session: &str,
    file: &str,
) -> Option<PathBuf> {
    let dir = scratch().join("screenshots");
    fs::create_dir_all(&dir).ok()?;
    let url = format!("{base}/session/{session}/screenshot");
    let reply: Value = http.get(url).send().ok()?.json().ok()?;
    let png = base64::engine::general_purpose::STANDARD
        .decode(reply["value"].as_str()?)
        .ok()?;
    let path = dir.join(format!("{file}.png"));
    fs::write(&path, png).ok()?;
    Some(path)
}
