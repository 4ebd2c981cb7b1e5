//! The desktop app in a real window: Xvfb, tauri-driver, WebKitWebDriver (Debian's
//! webkit2gtk-driver), and a small W3C WebDriver client.

use std::ffi::OsStr;
use std::fs;
use std::path::PathBuf;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::screen::{free_port, screenshot, start_xvfb};
use crate::{bin, pki_dir, scratch};

const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// The PKCS#11 modules a debug build of the app loads at start-up without asking (paths joined
/// as in `PATH`): the tests cannot answer the native dialogs through which a person adds one. A
/// release build does not read it (src-tauri/src/modules.rs).
pub const TEST_MODULES: &str = "PODPIS_TEST_PKCS11_MODULES";

/// Where tauri-driver is: on PATH or in cargo's bin directory.
fn tauri_driver() -> PathBuf {
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_default();
    let candidates = [
        home.join(".cargo/bin/tauri-driver"),
        PathBuf::from("/usr/local/bin/tauri-driver"),
    ];
    candidates
        .into_iter()
        .find(|p| p.exists())
        .unwrap_or_else(|| PathBuf::from("tauri-driver"))
}

/// The app under WebDriver, on its own X display, with its own data directory.
pub struct App {
    xvfb: Child,
    /// The X display the app runs on (`:N`), for looking at windows that are not the webview's.
    pub display: String,
    driver: Child,
    http: reqwest::blocking::Client,
    base: String,
    session: String,
    pub data: PathBuf,
    pub started: Instant,
}

impl App {
    /// Starts the app in sandbox mode (its portal inside, trusting the test PKI), in Russian
    /// unless `language` says otherwise.
    pub fn start(language: &str) -> Self {
        Self::start_with(language, &[])
    }

    /// As [`start`](Self::start), with `envs` in the app's environment (and its module probes'):
    /// a PKCS#11 module's configuration (`SOFTHSM2_CONF`, `PODPIS_TEST_P11_DIR`), and the modules
    /// a debug build loads without a dialog ([`TEST_MODULES`]).
    pub fn start_with(language: &str, envs: &[(&str, &OsStr)]) -> Self {
        crate::ensure_pki();
        let (xvfb, display) = start_xvfb();
        let data = tempfile::Builder::new()
            .prefix("app-")
            .tempdir_in(scratch())
            .expect("dir")
            .keep();
        fs::write(
            data.join("settings.json"),
            json!({ "language": language, "portal": null, "extra_ca": null, "sandbox_pki": null })
                .to_string(),
        )
        .expect("settings");
        let (port, native) = (free_port(), free_port());
        let log = fs::File::create(data.join("driver.log")).expect("log");
        let driver = Command::new(tauri_driver())
            .args([
                "--port",
                &port.to_string(),
                "--native-port",
                &native.to_string(),
                "--native-driver",
                "/usr/bin/WebKitWebDriver",
            ])
            .env("DISPLAY", display.as_str())
            .env("PODPIS_DATA_DIR", &data)
            // Only the modules a test names: a system module (OpenSC's) would talk to the
            // virtual cards of other tests.
            .env("PODPIS_PKCS11_DISCOVERY", "0")
            .env("PODPIS_SANDBOX", "1")
            .env("PODPIS_SANDBOX_PKI", pki_dir())
            .env_remove("OPENSSL_CONF")
            .envs(envs.iter().copied())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("tauri-driver (cargo install tauri-driver)");
        let base = format!("http://127.0.0.1:{port}");
        let http = reqwest::blocking::Client::builder()
            // A browser that died leaves WebKitWebDriver silent: a call fails in this time
            // with a message instead of the whole test running into nextest's timeout.
            .timeout(Duration::from_secs(30))
            .build()
            .expect("client");
        let deadline = Instant::now() + Duration::from_secs(20);
        while http.get(format!("{base}/status")).send().is_err() {
            assert!(Instant::now() < deadline, "tauri-driver did not start");
            std::thread::sleep(Duration::from_millis(100));
        }
        let started = Instant::now();
        let capabilities = json!({ "capabilities": { "alwaysMatch": { "tauri:options": { "application": bin("podpis-desktop") } } } });
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
            data,
            started,
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
                self.try_screenshot(&format!(
                    "missing-{}",
                    selector.replace(|c: char| !c.is_alphanumeric(), "_")
                ));
                panic!("no element {selector} on the screen")
            })
    }

    pub fn exists(&self, selector: &str) -> bool {
        self.wait_for(selector, Duration::ZERO).is_some()
    }

    pub fn click(&self, selector: &str) {
        let id = self.find(selector);
        self.call(
            reqwest::Method::POST,
            &format!("/element/{id}/click"),
            Some(json!({})),
        );
    }

    pub fn type_into(&self, selector: &str, text: &str) {
        let id = self.find(selector);
        self.call(
            reqwest::Method::POST,
            &format!("/element/{id}/value"),
            Some(json!({ "text": text })),
        );
    }

    pub fn text(&self, selector: &str) -> String {
        let id = self.find(selector);
        self.call(reqwest::Method::GET, &format!("/element/{id}/text"), None)["value"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
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

    /// Waits until the element's text contains `needle`.
    pub fn wait_text(&self, selector: &str, needle: &str, timeout: Duration) -> String {
        let deadline = Instant::now() + timeout;
        loop {
            let text = if self.exists(selector) {
                self.text(selector)
            } else {
                String::new()
            };
            if text.contains(needle) {
                return text;
            }
            if Instant::now() > deadline {
                self.try_screenshot("timeout");
                panic!("{selector} never said {needle:?}; last: {text:?}");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Presses keys on whatever has the focus, as a person at the keyboard does (W3C key
    /// actions: `"\u{E004}"` is Tab, `"\u{E007}"` Enter, `" "` Space).
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

    /// The id of the element that has the keyboard focus ("" for none).
    pub fn focused(&self) -> String {
        self.script("return document.activeElement ? document.activeElement.id : ''")
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// What an input holds now (its live value, not the attribute it was created with).
    pub fn value(&self, selector: &str) -> String {
        let id = self.find(selector);
        self.call(
            reqwest::Method::GET,
            &format!("/element/{id}/property/value"),
            None,
        )["value"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// Runs a script in the page (to read the focused element, say).
    pub fn script(&self, script: &str) -> Value {
        self.call(
            reqwest::Method::POST,
            "/execute/sync",
            Some(json!({ "script": script, "args": [] })),
        )["value"]
            .clone()
    }

    /// Calls a Tauri command from the page, as any script running there could: `Ok` with the
    /// command's answer, or `Err` with the rejection (the app's `{code, message}`, or Tauri's
    /// words when its access control refused the call).
    pub fn invoke(&self, command: &str, args: Value) -> Result<Value, Value> {
        let script = "const [command, args, done] = arguments; \
            window.__TAURI_INTERNALS__.invoke(command, args).then( \
              (value) => done({ ok: value === undefined ? null : value }), \
              (error) => done({ err: error === undefined ? null : error }));";
        let reply = self.call(
            reqwest::Method::POST,
            "/execute/async",
            Some(json!({ "script": script, "args": [command, args] })),
        );
        let answer = &reply["value"];
        match (answer.get("ok"), answer.get("err")) {
            (Some(ok), None) => Ok(ok.clone()),
            (None, Some(err)) => Err(err.clone()),
            _ => panic!("{command}: no answer from the page: {reply}"),
        }
    }

    /// The names of the top-level windows on the app's display (native dialogs included, which
    /// WebDriver does not see).
    pub fn window_names(&self) -> String {
        Command::new("xwininfo")
            .args(["-root", "-tree", "-display", &self.display])
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .expect("xwininfo (apt-get install x11-utils)")
    }

    /// Saves a screenshot of the window into the test run's screenshot folder.
    pub fn screenshot(&self, name: &str) -> PathBuf {
        self.try_screenshot(name)
            .unwrap_or_else(|| panic!("no screenshot {name}"))
    }

    /// A screenshot that never panics (it is also taken while a failing test unwinds).
    fn try_screenshot(&self, name: &str) -> Option<PathBuf> {
        screenshot(&self.http, &self.base, &self.session, name)
    }
}

impl Drop for App {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let name = std::thread::current()
                .name()
                .unwrap_or("test")
                .replace("::", "-");
            match self.try_screenshot(&format!("failed-{name}")) {
                Some(path) => eprintln!("screen at the failure: {}", path.display()),
                None => eprintln!("no screenshot at the failure: the window is gone"),
            }
        }
        let _ = self
            .http
            .delete(format!("{}/session/{}", self.base, self.session))
            .send();
        // SIGTERM first, not Child::kill's SIGKILL alone: tauri-driver stops its
        // WebKitWebDriver when terminated, while a killed one left it running (over a hundred
        // of them, each mapping WebKit, after a day of desktop tests).
        let _ = Command::new("kill")
            .arg(self.driver.id().to_string())
            .status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline && matches!(self.driver.try_wait(), Ok(None)) {
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
        let _ = self.xvfb.kill();
        let _ = self.xvfb.wait();
    }
}
