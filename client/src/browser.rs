//! How the browsers find `podpis-host`: the native-messaging host manifests, their places and
//! contents, written and removed by `podpis browser install/uninstall` and read by diagnostics.
//! Everything about them lives here, so the CLI, the diagnostics and the package agree.
//!
//! Places (docs/host.md, "Installation", cites the browsers' documentation):
//!
//! | browser | per user | system-wide |
//! |---|---|---|
//! | Chromium | `~/.config/chromium/NativeMessagingHosts/` | `/etc/chromium/native-messaging-hosts/` |
//! | Google Chrome | `~/.config/google-chrome/NativeMessagingHosts/` | `/etc/opt/chrome/native-messaging-hosts/` |
//! | Firefox | `~/.mozilla/native-messaging-hosts/` | `/usr/lib/mozilla/native-messaging-hosts/` |

use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::{json, Value};

/// The name the extension passes to `runtime.connectNative`, and the manifest's file name.
pub const HOST_NAME: &str = "org.podpis.host";
pub const MANIFEST_FILE: &str = "org.podpis.host.json";
/// Podpis's extension in Chromium and Chrome: the id its manifest's `key` gives.
pub const CHROMIUM_EXTENSION_ID: &str = "heccbomkgkkfobheiepjmdhophngobhm";
/// The caller's origin as Chrome passes it to the host, and as `allowed_origins` lists it.
pub const CHROMIUM_ORIGIN: &str = "chrome-extension://heccbomkgkkfobheiepjmdhophngobhm/";
/// Podpis's add-on in Firefox (`browser_specific_settings.gecko.id`).
pub const FIREFOX_ADDON_ID: &str = "podpis-bridge@podpis";
/// The host binary's file name, beside `podpis` and `podpis-desktop`.
pub const HOST_BINARY: &str = "podpis-host";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Browser {
    Chromium,
    Chrome,
    Firefox,
}

impl Browser {
    pub const ALL: [Browser; 3] = [Self::Chromium, Self::Chrome, Self::Firefox];

    /// The code on the command line and in JSON.
    pub fn code(self) -> &'static str {
        match self {
            Self::Chromium => "chromium",
            Self::Chrome => "chrome",
            Self::Firefox => "firefox",
        }
    }

    /// The product's own name (a proper name, the same in every language).
    pub fn product(self) -> &'static str {
        match self {
            Self::Chromium => "Chromium",
            Self::Chrome => "Google Chrome",
            Self::Firefox => "Firefox",
        }
    }

    /// The system-wide directory, from `/`.
    fn system_dir(self) -> &'static str {
        match self {
            Self::Chromium => "etc/chromium/native-messaging-hosts",
            Self::Chrome => "etc/opt/chrome/native-messaging-hosts",
            Self::Firefox => "usr/lib/mozilla/native-messaging-hosts",
        }
    }

    /// The manifest for this browser with `host` as the program it starts. Chromium's
    /// `allowed_origins` and Firefox's `allowed_extensions` name Podpis's extension only.
    pub fn manifest(self, host: &Path) -> Value {
        let mut manifest = json!({
            "name": HOST_NAME,
            "description": "Podpis: the Gosuslugi plugin's page protocol over Podpis's tokens",
            "path": host,
            "type": "stdio",
        });
        match self {
            Self::Chromium | Self::Chrome => {
                manifest["allowed_origins"] = json!([CHROMIUM_ORIGIN]);
            }
            Self::Firefox => manifest["allowed_extensions"] = json!([FIREFOX_ADDON_ID]),
        }
        manifest
    }

    /// Whether a manifest's allowed list names Podpis's extension for this browser.
    fn allows_podpis(self, manifest: &Value) -> bool {
        let (key, id) = match self {
            Self::Chromium | Self::Chrome => ("allowed_origins", CHROMIUM_ORIGIN),
            Self::Firefox => ("allowed_extensions", FIREFOX_ADDON_ID),
        };
        manifest[key]
            .as_array()
            .is_some_and(|ids| ids.iter().any(|i| i == id))
    }
}

impl std::str::FromStr for Browser {
    type Err = String;

    fn from_str(code: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|b| b.code() == code)
            .ok_or_else(|| format!("unknown browser {code:?}: chromium, chrome or firefox"))
    }
}

/// For one person, or for every user of the machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    User,
    System,
}

/// Where the manifests go: the person's home and configuration directory, and the root of the
/// system directories (`/`, or a package's staging tree).
#[derive(Debug, Clone)]
pub struct Locations {
    pub home: PathBuf,
    /// Chrome's and Chromium's parent of their user data directories: `~/.config` unless
    /// `CHROME_CONFIG_HOME` or `XDG_CONFIG_HOME` says otherwise.
    pub config_home: PathBuf,
    pub system_root: PathBuf,
}

impl Locations {
    /// The running person's places; `None` without `HOME`.
    pub fn from_env() -> Option<Self> {
        let home = std::env::var_os("HOME")
            .map(PathBuf::from)
            .filter(|h| h.is_absolute())?;
        let config_home = ["CHROME_CONFIG_HOME", "XDG_CONFIG_HOME"]
            .iter()
            .filter_map(std::env::var_os)
            .map(PathBuf::from)
            .find(|p| p.is_absolute())
            .unwrap_or_else(|| home.join(".config"));
        Some(Self {
            home,
            config_home,
            system_root: PathBuf::from("/"),
        })
    }

    /// The places under `home` alone (`~/.config` for Chrome), system directories from `/`.
    pub fn under_home(home: &Path) -> Self {
        Self {
            home: home.to_owned(),
            config_home: home.join(".config"),
            system_root: PathBuf::from("/"),
        }
    }

    pub fn dir(&self, browser: Browser, scope: Scope) -> PathBuf {
        match (scope, browser) {
            (Scope::System, _) => self.system_root.join(browser.system_dir()),
            (Scope::User, Browser::Chromium) => {
                self.config_home.join("chromium/NativeMessagingHosts")
            }
            (Scope::User, Browser::Chrome) => {
                self.config_home.join("google-chrome/NativeMessagingHosts")
            }
            (Scope::User, Browser::Firefox) => self.home.join(".mozilla/native-messaging-hosts"),
        }
    }

    pub fn manifest_path(&self, browser: Browser, scope: Scope) -> PathBuf {
        self.dir(browser, scope).join(MANIFEST_FILE)
    }

    /// Where a host path named in a system manifest is on this machine: under the staging
    /// root when there is one.
    fn on_disk(&self, scope: Scope, host: &Path) -> PathBuf {
        match scope {
            Scope::System => self
                .system_root
                .join(host.strip_prefix("/").unwrap_or(host)),
            Scope::User => host.to_owned(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum InstallError {
    /// The host program is not there (or not executable): nothing would answer the browser.
    #[error("{0}: not an executable file")]
    HostMissing(PathBuf),
    /// A system directory that only root may write.
    #[error("{0}: permission denied")]
    NeedsRoot(PathBuf),
    #[error("{path}: {reason}")]
    Write { path: PathBuf, reason: String },
}

impl InstallError {
    /// Its code in `client::messages::CLIENT_CODES`.
    pub fn code(&self) -> &'static str {
        match self {
            Self::HostMissing(_) => "browser-host-missing",
            Self::NeedsRoot(_) => "browser-needs-root",
            Self::Write { .. } => "browser-manifest-write",
        }
    }

    fn at(path: &Path, e: &std::io::Error) -> Self {
        if e.kind() == ErrorKind::PermissionDenied {
            Self::NeedsRoot(path.to_owned())
        } else {
            Self::Write {
                path: path.to_owned(),
                reason: e.to_string(),
            }
        }
    }
}

/// One manifest written or removed.
#[derive(Debug, Clone, Serialize)]
pub struct Change {
    pub browser: Browser,
    pub scope: Scope,
    pub manifest: PathBuf,
    /// Install: always true. Uninstall: whether there was a file to remove.
    pub changed: bool,
}

/// Whether `path` is a regular file someone may execute.
pub fn is_executable(path: &Path) -> bool {
    let Ok(meta) = std::fs::metadata(path) else {
        return false;
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        meta.is_file() && meta.permissions().mode() & 0o111 != 0
    }
    #[cfg(not(unix))]
    meta.is_file()
}

/// The host beside the running program (`podpis`, `podpis-desktop`), as an absolute path.
pub fn host_beside_current_exe() -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    let host = exe.parent()?.join(HOST_BINARY);
    Some(host.canonicalize().unwrap_or(host))
}

/// Writes the manifest of each browser for `host`, each file atomically (a browser reading it
/// meanwhile sees the old file or the new one). `host` must be absolute (the browsers require
/// it on Linux) and executable where the manifest will find it. Directories are created;
/// nothing else in them is touched.
pub fn install(
    locations: &Locations,
    scope: Scope,
    browsers: &[Browser],
    host: &Path,
) -> Result<Vec<Change>, InstallError> {
    if !host.is_absolute() || !is_executable(&locations.on_disk(scope, host)) {
        return Err(InstallError::HostMissing(host.to_owned()));
    }
    let mut changes = Vec::new();
    for &browser in browsers {
        let dir = locations.dir(browser, scope);
        std::fs::create_dir_all(&dir).map_err(|e| InstallError::at(&dir, &e))?;
        let path = dir.join(MANIFEST_FILE);
        let mut text = serde_json::to_vec_pretty(&browser.manifest(host)).unwrap_or_default();
        text.push(b'\n');
        crate::durable::write_atomically(&path, &text).map_err(|e| InstallError::at(&path, &e))?;
        // Readable by the browser of every user (a system manifest is written by root).
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644))
                .map_err(|e| InstallError::at(&path, &e))?;
        }
        changes.push(Change {
            browser,
            scope,
            manifest: path,
            changed: true,
        });
    }
    Ok(changes)
}

/// Removes what [`install`] wrote: `org.podpis.host.json` in each browser's directory, and
/// nothing else (the directories may hold other hosts' manifests, and may be the browser's).
pub fn uninstall(
    locations: &Locations,
    scope: Scope,
    browsers: &[Browser],
) -> Result<Vec<Change>, InstallError> {
    let mut changes = Vec::new();
    for &browser in browsers {
        let path = locations.manifest_path(browser, scope);
        let changed = match std::fs::remove_file(&path) {
            Ok(()) => {
                crate::durable::sync_directory_of(&path)
                    .map_err(|e| InstallError::at(&path, &e))?;
                true
            }
            Err(e) if e.kind() == ErrorKind::NotFound => false,
            Err(e) => return Err(InstallError::at(&path, &e)),
        };
        changes.push(Change {
            browser,
            scope,
            manifest: path,
            changed,
        });
    }
    Ok(changes)
}

/// What a manifest found on disk says, for diagnostics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Registration {
    /// Valid, naming Podpis's extension, and its host is an executable file.
    Ready { host: PathBuf },
    /// Its `path` is not an executable file (Podpis moved or removed).
    HostMissing { host: PathBuf },
    /// Not JSON, not for this host, or without Podpis's extension in its allowed list.
    Invalid,
}

/// The manifests of `browser` that exist, per user first, then system-wide, with what each says.
pub fn registrations(locations: &Locations, browser: Browser) -> Vec<(PathBuf, Registration)> {
    let mut found = Vec::new();
    for scope in [Scope::User, Scope::System] {
        let path = locations.manifest_path(browser, scope);
        let Ok(text) = std::fs::read(&path) else {
            continue;
        };
        let registration = match serde_json::from_slice::<Value>(&text) {
            Ok(manifest)
                if manifest["name"] == HOST_NAME
                    && manifest["type"] == "stdio"
                    && browser.allows_podpis(&manifest) =>
            {
                match manifest["path"].as_str().map(PathBuf::from) {
                    Some(host)
                        if host.is_absolute()
                            && is_executable(&locations.on_disk(scope, &host)) =>
                    {
                        Registration::Ready { host }
                    }
                    Some(host) => Registration::HostMissing { host },
                    None => Registration::Invalid,
                }
            }
            _ => Registration::Invalid,
        };
        found.push((path, registration));
    }
    found
}

/// Where Podpis's extension is for a person to add: the package's `/usr/share/podpis`
/// (beside `<prefix>/bin/podpis`), with the unpacked extension for Chromium and the Firefox
/// package (`.xpi`); else the `extension/` of the source checkout the running program was built
/// in, whose Firefox build `extension/firefox.sh` makes.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ExtensionFiles {
    /// The directory Chromium's "Load unpacked" takes.
    pub unpacked: Option<PathBuf>,
    /// What Firefox's "Load Temporary Add-on" takes: the package's `.xpi`, or the checkout's
    /// Firefox build once made.
    pub firefox: Option<PathBuf>,
    /// In a checkout without that build: the script that makes it.
    pub firefox_script: Option<PathBuf>,
}

pub const XPI_FILE: &str = "podpis-bridge.xpi";

impl ExtensionFiles {
    pub fn find() -> Self {
        let found = std::env::current_exe()
            .map(|exe| Self::find_from(&exe.canonicalize().unwrap_or(exe)))
            .unwrap_or_default();
        if found.unpacked.is_some() {
            return found;
        }
        // A checkout built into a target directory outside it (CARGO_TARGET_DIR): the sources
        // this program was built from, when they are still there.
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .and_then(Self::checkout)
            .unwrap_or_default()
    }

    /// From the program at `exe`: its `../share/podpis`, else the nearest ancestor with an
    /// `extension/manifest.json` (a checkout's `target/<profile>/podpis`).
    pub fn find_from(exe: &Path) -> Self {
        let share = exe
            .parent()
            .and_then(Path::parent)
            .map(|prefix| prefix.join("share/podpis"));
        if let Some(share) = share.filter(|s| s.join("extension/manifest.json").is_file()) {
            let xpi = share.join(XPI_FILE);
            return Self {
                unpacked: Some(share.join("extension")),
                firefox: xpi.is_file().then_some(xpi),
                firefox_script: None,
            };
        }
        exe.ancestors()
            .skip(1)
            .find_map(Self::checkout)
            .unwrap_or_default()
    }

    /// A source checkout at `dir`: its `extension/`, and Firefox's build or the script for it.
    fn checkout(dir: &Path) -> Option<Self> {
        let extension = dir.join("extension");
        if !(extension.join("manifest.json").is_file() && dir.join("Cargo.toml").is_file()) {
            return None;
        }
        let built = extension.join("build/firefox/manifest.json");
        let script = extension.join("firefox.sh");
        Some(Self {
            firefox: built.is_file().then_some(built),
            firefox_script: script.is_file().then_some(script),
            unpacked: Some(extension),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn executable(path: &Path) {
        std::fs::create_dir_all(path.parent().expect("parent")).expect("dir");
        std::fs::write(path, b"#!/bin/sh\n").expect("write");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        }
    }

    #[test]
    fn the_places_are_the_browsers_documented_ones() {
        let loc = Locations::under_home(Path::new("/home/p"));
        let place = |b, s| loc.manifest_path(b, s).display().to_string();
        assert_eq!(
            place(Browser::Chromium, Scope::User),
            "/home/p/.config/chromium/NativeMessagingHosts/org.podpis.host.json"
        );
        assert_eq!(
            place(Browser::Chrome, Scope::User),
            "/home/p/.config/google-chrome/NativeMessagingHosts/org.podpis.host.json"
        );
        assert_eq!(
            place(Browser::Firefox, Scope::User),
            "/home/p/.mozilla/native-messaging-hosts/org.podpis.host.json"
        );
        assert_eq!(
            place(Browser::Chromium, Scope::System),
            "/etc/chromium/native-messaging-hosts/org.podpis.host.json"
        );
        assert_eq!(
            place(Browser::Chrome, Scope::System),
            "/etc/opt/chrome/native-messaging-hosts/org.podpis.host.json"
        );
        assert_eq!(
            place(Browser::Firefox, Scope::System),
            "/usr/lib/mozilla/native-messaging-hosts/org.podpis.host.json"
        );
    }

    #[test]
    fn the_origin_is_the_extension_id_as_chrome_writes_it() {
        assert_eq!(
            CHROMIUM_ORIGIN,
            format!("chrome-extension://{CHROMIUM_EXTENSION_ID}/")
        );
        assert_eq!(MANIFEST_FILE, format!("{HOST_NAME}.json"));
    }

    #[test]
    fn install_writes_each_manifest_and_diagnostics_read_them_back() {
        let home = tempfile::tempdir().expect("tmp");
        let host = home.path().join("bin/podpis-host");
        executable(&host);
        let loc = Locations::under_home(home.path());
        let changes = install(&loc, Scope::User, &Browser::ALL, &host).expect("install");
        assert_eq!(changes.len(), 3);
        for browser in Browser::ALL {
            let path = loc.manifest_path(browser, Scope::User);
            let manifest: Value =
                serde_json::from_slice(&std::fs::read(&path).expect("read")).expect("JSON");
            assert_eq!(manifest["name"], HOST_NAME);
            assert_eq!(manifest["type"], "stdio");
            assert_eq!(manifest["path"], host.display().to_string());
            assert_eq!(
                registrations(&loc, browser),
                vec![(path, Registration::Ready { host: host.clone() })]
            );
        }
        std::fs::remove_file(&host).expect("rm");
        assert!(matches!(
            registrations(&loc, Browser::Firefox)[0].1,
            Registration::HostMissing { .. }
        ));
    }

    #[test]
    fn a_manifest_for_another_extension_is_not_podpis_s() {
        let home = tempfile::tempdir().expect("tmp");
        let loc = Locations::under_home(home.path());
        let path = loc.manifest_path(Browser::Chromium, Scope::User);
        std::fs::create_dir_all(path.parent().expect("dir")).expect("dir");
        let mut manifest = Browser::Chromium.manifest(Path::new("/bin/sh"));
        manifest["allowed_origins"] =
            json!(["chrome-extension://abcdefghijklmnopabcdefghijklmnop/"]);
        std::fs::write(&path, manifest.to_string()).expect("write");
        assert_eq!(
            registrations(&loc, Browser::Chromium),
            vec![(path, Registration::Invalid)]
        );
    }

    #[test]
    fn a_relative_or_missing_host_is_refused_before_anything_is_written() {
        let home = tempfile::tempdir().expect("tmp");
        let loc = Locations::under_home(home.path());
        for host in ["podpis-host", "/nonexistent/podpis-host"] {
            let e = install(&loc, Scope::User, &Browser::ALL, Path::new(host)).expect_err(host);
            assert_eq!(e.code(), "browser-host-missing");
        }
        assert!(!home.path().join(".config").exists());
        assert!(!home.path().join(".mozilla").exists());
    }

    #[test]
    fn a_staging_root_takes_the_system_manifests_and_finds_the_host_under_it() {
        let root = tempfile::tempdir().expect("tmp");
        executable(&root.path().join("usr/bin/podpis-host"));
        let mut loc = Locations::under_home(Path::new("/nonexistent"));
        loc.system_root = root.path().to_owned();
        let host = Path::new("/usr/bin/podpis-host");
        install(&loc, Scope::System, &Browser::ALL, host).expect("install");
        let firefox = root
            .path()
            .join("usr/lib/mozilla/native-messaging-hosts/org.podpis.host.json");
        let manifest: Value =
            serde_json::from_slice(&std::fs::read(&firefox).expect("read")).expect("JSON");
        assert_eq!(manifest["path"], "/usr/bin/podpis-host");
        assert_eq!(manifest["allowed_extensions"], json!([FIREFOX_ADDON_ID]));
        assert!(manifest.get("allowed_origins").is_none());
        assert_eq!(
            registrations(&loc, Browser::Chrome)[0].1,
            Registration::Ready {
                host: host.to_owned()
            }
        );
        let removed = uninstall(&loc, Scope::System, &Browser::ALL).expect("uninstall");
        assert!(removed.iter().all(|c| c.changed));
        assert!(!firefox.exists());
        let again = uninstall(&loc, Scope::System, &Browser::ALL).expect("uninstall");
        assert!(again.iter().all(|c| !c.changed));
    }

    #[test]
    fn the_extension_is_found_in_the_package_or_the_checkout() {
        let tmp = tempfile::tempdir().expect("tmp");
        let share = tmp.path().join("usr/share/podpis");
        std::fs::create_dir_all(share.join("extension")).expect("dir");
        std::fs::write(share.join("extension/manifest.json"), b"{}").expect("write");
        std::fs::write(share.join(XPI_FILE), b"PK").expect("write");
        let found = ExtensionFiles::find_from(&tmp.path().join("usr/bin/podpis"));
        assert_eq!(found.unpacked, Some(share.join("extension")));
        assert_eq!(found.firefox, Some(share.join(XPI_FILE)));

        let repo = tmp.path().join("repo");
        std::fs::create_dir_all(repo.join("extension")).expect("dir");
        std::fs::create_dir_all(repo.join("target/debug")).expect("dir");
        std::fs::write(repo.join("Cargo.toml"), b"").expect("write");
        std::fs::write(repo.join("extension/manifest.json"), b"{}").expect("write");
        std::fs::write(repo.join("extension/firefox.sh"), b"").expect("write");
        let found = ExtensionFiles::find_from(&repo.join("target/debug/podpis"));
        assert_eq!(found.unpacked, Some(repo.join("extension")));
        assert_eq!(found.firefox, None);
        assert_eq!(
            found.firefox_script,
            Some(repo.join("extension/firefox.sh"))
        );
        let built = repo.join("extension/build/firefox/manifest.json");
        std::fs::create_dir_all(built.parent().expect("dir")).expect("dir");
        std::fs::write(&built, b"{}").expect("write");
        let found = ExtensionFiles::find_from(&repo.join("target/debug/podpis"));
        assert_eq!(found.firefox, Some(built));
    }
}
