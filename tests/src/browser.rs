//! Chromium with Podpis's extension, for the browser bridge's end-to-end tests: Debian's
//! `chromium` and `chromium-driver` on an Xvfb display of the test's own, a profile directory of
//! the test's own holding the native-messaging host manifest (pointing at the built
//! `podpis-host`), the unpacked `extension/` loaded, and a small W3C WebDriver client.
//! Also a tiny HTTP server for the test's own pages and the page-side library they use.

use std::ffi::OsStr;
use std::fs;
use std::io::{Read, Write};
use std::net::{IpAddr, SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::screen::{free_port, screenshot, start_xvfb};
use crate::{bin, repo, scratch};

const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// The extension's id, fixed by the `key` in extension/manifest.json.
pub const EXTENSION_ID: &str = "heccbomkgkkfobheiepjmdhophngobhm";
/// The native-messaging host's name (the extension connects to it).
pub const HOST_NAME: &str = "org.podpis.host";

/// The page-side library of the tests' pages (ifc-protocol.md §1.2), as `window.ifc`.
pub const PAGE_LIBRARY: &str = include_str!("ifc-page.js");

/// Whether this process runs as root (Chromium's own sandbox refuses to start as root).
fn is_root() -> bool {
    use std::os::unix::fs::MetadataExt as _;
    fs::metadata("/proc/self")
        .map(|m| m.uid() == 0)
        .unwrap_or(false)
}

/// Chromium under chromedriver with the extension loaded.
pub struct Browser {
    xvfb: Child,
    pub display: String,
    driver: Child,
    http: reqwest::blocking::Client,
    base: String,
    session: String,
    /// The profile (`--user-data-dir`), with NativeMessagingHosts/org.podpis.host.json in it.
    pub profile: PathBuf,
    /// `PODPIS_DATA_DIR` of the hosts this browser starts (browser-origins.json lives here).
    pub data: PathBuf,
}

impl Browser {
    pub fn start() -> Self {
        Self::start_with(&[])
    }

    /// As [`start`](Self::start), with `envs` in the environment chromedriver passes to
    /// Chromium, and Chromium to every `podpis-host` it starts.
    pub fn start_with(envs: &[(&str, &OsStr)]) -> Self {
        Self::start_in(None, envs)
    }

    /// As [`start_with`](Self::start_with); the hosts' `PODPIS_DATA_DIR` is `data` when given
    /// (the desktop app's, so that a host finds the app's consent socket), else a new folder.
    pub fn start_in(data: Option<&Path>, envs: &[(&str, &OsStr)]) -> Self {
        Self::start_full(data, envs, &[])
    }

    /// As [`start_in`](Self::start_in), with extra Chromium switches (`--lang=ru`, say).
    pub fn start_full(data: Option<&Path>, envs: &[(&str, &OsStr)], switches: &[&str]) -> Self {
        let (xvfb, display) = start_xvfb();
        let dir = tempfile::Builder::new()
            .prefix("browser-")
            .tempdir_in(scratch())
            .expect("dir")
            .keep();
        let profile = dir.join("profile");
        let data = data.map_or_else(|| dir.join("data"), Path::to_path_buf);
        fs::create_dir_all(profile.join("NativeMessagingHosts")).expect("profile");
        fs::create_dir_all(&data).expect("data");
        // Chromium reads a per-profile host manifest from <user-data-dir>/NativeMessagingHosts
        // (ifc-protocol.md §1.6): the test needs nothing outside its own folder.
        fs::write(
            profile
                .join("NativeMessagingHosts")
                .join(format!("{HOST_NAME}.json")),
            serde_json::to_vec_pretty(&json!({
                "name": HOST_NAME,
                "description": "Podpis (tests)",
                "path": bin("podpis-host"),
                "type": "stdio",
                "allowed_origins": [format!("chrome-extension://{EXTENSION_ID}/")],
            }))
            .expect("json"),
        )
        .expect("host manifest");
        let port = free_port();
        let log = fs::File::create(dir.join("chromedriver.log")).expect("log");
        let driver = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .env("DISPLAY", display.as_str())
            .env("PODPIS_DATA_DIR", &data)
            // Only the modules a test names: a system module (OpenSC's) would talk to the
            // virtual cards of other tests.
            .env("PODPIS_PKCS11_DISCOVERY", "0")
            .env_remove("OPENSSL_CONF")
            .envs(envs.iter().copied())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("chromedriver (apt-get install chromium-driver)");
        let base = format!("http://127.0.0.1:{port}");
        let http = reqwest::blocking::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
            .expect("client");
        let deadline = Instant::now() + Duration::from_secs(20);
        while http.get(format!("{base}/status")).send().is_err() {
            assert!(Instant::now() < deadline, "chromedriver did not start");
            std::thread::sleep(Duration::from_millis(100));
        }
        let extension = repo().join("extension");
        let mut args = vec![
            format!("--user-data-dir={}", profile.display()),
            format!("--load-extension={}", extension.display()),
            format!("--disable-extensions-except={}", extension.display()),
            "--no-first-run".to_owned(),
            "--no-default-browser-check".to_owned(),
            "--window-size=1280,900".to_owned(),
        ];
        if is_root() {
            args.push("--no-sandbox".to_owned());
        }
        args.extend(switches.iter().map(|s| (*s).to_owned()));
        let capabilities = json!({ "capabilities": { "alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": { "binary": "/usr/bin/chromium", "args": args },
        } } });
        let reply: Value = http
            .post(format!("{base}/session"))
            .json(&capabilities)
            .send()
            .expect("new session")
            .json()
            .expect("json");
        let session = reply["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no session: {reply}"))
            .to_owned();
        Self {
            xvfb,
            display,
            driver,
            http,
            base,
            session,
            profile,
            data,
        }
    }

    fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let url = format!("{}/session/{}{}", self.base, self.session, path);
        let mut request = self.http.request(method, url);
        if let Some(body) = body {
            request = request.json(&body);
        }
        request
            .send()
            .expect("webdriver")
            .json()
            .expect("webdriver json")
    }

    /// Opens `url` in the tab and waits for the page to load.
    pub fn goto(&self, url: &str) {
        let reply = self.call(reqwest::Method::POST, "/url", Some(json!({ "url": url })));
        assert!(
            reply["value"].is_null(),
            "navigation to {url} failed: {reply}"
        );
    }

    /// Reloads the page, as the person pressing F5.
    pub fn reload(&self) {
        let reply = self.call(reqwest::Method::POST, "/refresh", Some(json!({})));
        assert!(reply["value"].is_null(), "reload failed: {reply}");
    }

    /// Runs a script in the page and returns its value.
    pub fn script(&self, script: &str, args: Value) -> Value {
        let reply = self.call(
            reqwest::Method::POST,
            "/execute/sync",
            Some(json!({ "script": script, "args": args })),
        );
        if reply["value"].get("error").is_some() {
            panic!("script failed: {reply}");
        }
        reply["value"].clone()
    }

    /// Sends `request` through the page library (`window.ifc.call`) and returns the reply the
    /// page got, waiting for it at most the script timeout (30 s).
    pub fn ifc(&self, request: Value) -> Value {
        let reply = self.call(
            reqwest::Method::POST,
            "/execute/async",
            Some(json!({
                "script": "const [request, done] = arguments; window.ifc.call(request).then(done);",
                "args": [request],
            })),
        );
        if reply["value"].get("error").is_some() {
            self.try_screenshot("ifc-call-failed");
            panic!("the page's call {request} did not finish: {reply}");
        }
        reply["value"].clone()
    }

    /// The page library's view of the extension: `{extensionIsInstalled, pluginIsRunning,
    /// connected}` (the two DOM markers and whether a disconnect came).
    pub fn plugin_status(&self) -> Value {
        self.script("return window.ifc.status();", json!([]))
    }

    /// Waits until `predicate` holds for the value of `script`, or panics after `timeout`.
    pub fn wait_script(
        &self,
        script: &str,
        timeout: Duration,
        predicate: impl Fn(&Value) -> bool,
    ) -> Value {
        let deadline = Instant::now() + timeout;
        loop {
            let value = self.script(script, json!([]));
            if predicate(&value) {
                return value;
            }
            if Instant::now() > deadline {
                self.try_screenshot("wait-script");
                panic!("{script} never became what the test waits for; last: {value}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The element for a CSS selector, waiting up to `timeout` for it to appear.
    pub fn wait_for(&self, selector: &str, timeout: Duration) -> Option<String> {
        let deadline = Instant::now() + timeout;
        loop {
            let reply = self.call(
                reqwest::Method::POST,
                "/element",
                Some(json!({ "using": "css selector", "value": selector })),
            );
            if let Some(id) = reply["value"][ELEMENT].as_str() {
                return Some(id.to_owned());
            }
            if Instant::now() > deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub fn find(&self, selector: &str) -> String {
        self.wait_for(selector, Duration::from_secs(20))
            .unwrap_or_else(|| {
                self.try_screenshot("missing-element");
                panic!("no element {selector} in the page")
            })
    }

    pub fn click(&self, selector: &str) {
        let id = self.find(selector);
        self.call(
            reqwest::Method::POST,
            &format!("/element/{id}/click"),
            Some(json!({})),
        );
    }

    pub fn text(&self, selector: &str) -> String {
        let id = self.find(selector);
        self.call(reqwest::Method::GET, &format!("/element/{id}/text"), None)["value"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    pub fn type_into(&self, selector: &str, text: &str) {
        let id = self.find(selector);
        self.call(
            reqwest::Method::POST,
            &format!("/element/{id}/value"),
            Some(json!({ "text": text })),
        );
    }

    pub fn attribute(&self, selector: &str, name: &str) -> Option<String> {
        let id = self.find(selector);
        self.call(
            reqwest::Method::GET,
            &format!("/element/{id}/attribute/{name}"),
            None,
        )["value"]
            .as_str()
            .map(str::to_owned)
    }

    /// Waits until the element's attribute `name` is one of `wanted`, and returns it.
    pub fn wait_attribute(
        &self,
        selector: &str,
        name: &str,
        wanted: &[&str],
        timeout: Duration,
    ) -> String {
        let deadline = Instant::now() + timeout;
        loop {
            let now = self.attribute(selector, name).unwrap_or_default();
            if wanted.contains(&now.as_str()) {
                return now;
            }
            if Instant::now() > deadline {
                self.try_screenshot("wait-attribute");
                panic!("{selector}[{name}] never became one of {wanted:?}; last: {now:?}");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Presses keys on whatever has the focus (W3C key actions: `"\u{E004}"` is Tab, `" "`
    /// Space).
    pub fn press(&self, keys: &str) {
        let actions: Vec<Value> = keys
            .chars()
            .flat_map(|key| {
                [
                    json!({ "type": "keyDown", "value": key.to_string() }),
                    json!({ "type": "keyUp", "value": key.to_string() }),
                ]
            })
            .collect();
        self.call(
            reqwest::Method::POST,
            "/actions",
            Some(json!({ "actions": [{ "type": "key", "id": "keyboard", "actions": actions }] })),
        );
        self.call(reqwest::Method::DELETE, "/actions", None);
    }

    /// The accessible name the browser computes for an element (what a screen reader says).
    pub fn accessible_name(&self, selector: &str) -> String {
        let id = self.find(selector);
        self.call(
            reqwest::Method::GET,
            &format!("/element/{id}/computedlabel"),
            None,
        )["value"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// Turns the extension's sandbox mode on or off through its options page, as a person does
    /// (a click on the checkbox), and waits until the page says the browser applied it.
    pub fn set_sandbox_mode(&self, on: bool) {
        self.goto(&format!("chrome-extension://{EXTENSION_ID}/options.html"));
        let state = || {
            self.script(
                "return document.getElementById('status').dataset.state;",
                json!([]),
            )
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut clicked = false;
        loop {
            let now = state();
            let want = if on { "on" } else { "off" };
            match now.as_str() {
                Some(s) if s == want => return,
                Some("on" | "off") if !clicked => {
                    self.click("#sandbox");
                    clicked = true;
                }
                Some("failed") => {
                    panic!(
                        "the options page could not apply sandbox mode: {}",
                        self.text("#status")
                    )
                }
                _ => {}
            }
            assert!(
                Instant::now() < deadline,
                "sandbox mode never became {want} (state {now})"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Allows `origin` to list certificates, as the consent window remembers an origin the
    /// person allowed (`browser-origins.json` in the hosts' data directory).
    pub fn allow_origin(&self, origin: &str) {
        fs::write(
            self.data.join("browser-origins.json"),
            json!({ "origins": [origin] }).to_string(),
        )
        .expect("browser-origins.json");
    }

    /// The `podpis-host` processes this browser started (told apart from other tests' by their
    /// `PODPIS_DATA_DIR`).
    pub fn hosts(&self) -> Vec<u32> {
        let exe = bin("podpis-host");
        let wanted = {
            let mut bytes = b"PODPIS_DATA_DIR=".to_vec();
            bytes.extend_from_slice(self.data.as_os_str().as_encoded_bytes());
            bytes
        };
        let mut pids = Vec::new();
        for entry in fs::read_dir("/proc").expect("/proc").flatten() {
            let Some(pid) = entry
                .file_name()
                .to_str()
                .and_then(|n| n.parse::<u32>().ok())
            else {
                continue;
            };
            if fs::read_link(entry.path().join("exe")).ok().as_deref() != Some(exe.as_path()) {
                continue;
            }
            let environ = fs::read(entry.path().join("environ")).unwrap_or_default();
            if environ.split(|b| *b == 0).any(|var| var == wanted) {
                pids.push(pid);
            }
        }
        pids
    }

    /// The one host of the one open page, waiting for the browser to have started it.
    pub fn the_host(&self) -> u32 {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let hosts = self.hosts();
            if hosts.len() == 1 {
                return hosts[0];
            }
            assert!(
                Instant::now() < deadline,
                "expected one podpis-host, found {hosts:?}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Saves a screenshot of the tab into the test run's screenshot folder.
    pub fn screenshot(&self, name: &str) -> PathBuf {
        self.try_screenshot(name)
            .unwrap_or_else(|| panic!("no screenshot {name}"))
    }

    fn try_screenshot(&self, name: &str) -> Option<PathBuf> {
        screenshot(
            &self.http,
            &self.base,
            &self.session,
            &format!("browser-{name}"),
        )
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let name = std::thread::current()
                .name()
                .unwrap_or("test")
                .replace("::", "-");
            match self.try_screenshot(&format!("failed-{name}")) {
                Some(path) => eprintln!("screen at the failure: {}", path.display()),
                None => eprintln!("no screenshot at the failure"),
            }
        }
        // Closing the session closes Chromium, which closes every host's stdin (they exit).
        let _ = self
            .http
            .delete(format!("{}/session/{}", self.base, self.session))
            .send();
        let _ = self.driver.kill();
        let _ = self.driver.wait();
        let _ = self.xvfb.kill();
        let _ = self.xvfb.wait();
    }
}

/// A tiny HTTP server answering every GET with one page: the tests' stand-in for a portal page
/// (any path, so a page's favicon request costs nothing). Runs until the test process ends.
pub struct PageServer {
    pub addr: SocketAddr,
}

impl PageServer {
    /// Serves `html` on `ip` (any 127.x.y.z works on Linux's loopback) on a free port.
    pub fn start(ip: IpAddr, html: String) -> Self {
        let listener = TcpListener::bind((ip, 0)).expect("bind the page server");
        let addr = listener.local_addr().expect("addr");
        let html = std::sync::Arc::new(html);
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let html = html.clone();
                // A connection per thread: Chromium opens connections it may never use.
                std::thread::spawn(move || serve_one(stream, &html));
            }
        });
        Self { addr }
    }

    /// The page's origin as the browser serialises it (`http://127.0.0.1:PORT`).
    pub fn origin(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn url(&self) -> String {
        format!("{}/", self.origin())
    }
}

fn serve_one(mut stream: std::net::TcpStream, html: &str) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(30)));
    let mut request = Vec::new();
    let mut buffer = [0u8; 4096];
    while !request.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut buffer) {
            Ok(0) | Err(_) => return,
            Ok(n) => request.extend_from_slice(&buffer[..n]),
        }
    }
    let response = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\n\
         Cache-Control: no-store\r\nConnection: close\r\n\r\n{html}",
        html.len()
    );
    let _ = stream.write_all(response.as_bytes());
}

/// A page with the page-side library, standing in for a portal page.
pub fn test_page(title: &str) -> String {
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title}</title>\
         </head><body><h1>{title}</h1><p id=\"note\">A page of the browser tests.</p>\
         <pre id=\"log\" style=\"white-space: pre-wrap\"></pre><script>{PAGE_LIBRARY}</script></body></html>"
    )
}

/// Stops (`STOP`) or kills (`KILL`) a process the test started through the browser.
pub fn signal(pid: u32, signal: &str) {
    let status = Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(pid.to_string())
        .status()
        .expect("kill");
    assert!(status.success(), "kill -{signal} {pid} failed");
}

/// Whether a process is still there (not yet reaped by its parent counts as gone: a zombie).
pub fn alive(pid: u32) -> bool {
    let stat = fs::read_to_string(Path::new("/proc").join(pid.to_string()).join("stat"));
    match stat {
        Ok(stat) => !stat
            .rsplit(')')
            .next()
            .is_some_and(|rest| rest.trim_start().starts_with('Z')),
        Err(_) => false,
    }
}
