//! `podpis browser install/uninstall`: registers `podpis-host` with the browsers through their
//! native-messaging host manifests (`client::browser` has their places and contents) and says
//! where Podpis's extension is to be added.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use client::browser::{self, Browser, ExtensionFiles, InstallError, Locations, Scope};
use client::messages::{phrase, Phrase};

use crate::failure::Failure;
use crate::Common;

/// Which browsers, and for whom: the options both commands share.
#[derive(clap::Args)]
pub struct BrowserOptions {
    /// For every user of this machine (the browsers' system directories; needs root) instead
    /// of only for you.
    #[arg(long)]
    pub system: bool,
    /// chromium, chrome, firefox or all.
    #[arg(long, value_name = "BROWSER", default_value = "all", value_parser = browsers)]
    pub browser: Browsers,
    /// With --system: the system directories under DIR instead of / (a package's staging tree).
    #[arg(long, value_name = "DIR", requires = "system")]
    pub root: Option<PathBuf>,
}

/// The browsers chosen on the command line.
#[derive(Clone)]
pub struct Browsers(Vec<Browser>);

fn browsers(value: &str) -> Result<Browsers, String> {
    if value == "all" {
        return Ok(Browsers(Browser::ALL.to_vec()));
    }
    value.parse::<Browser>().map(|b| Browsers(vec![b]))
}

impl BrowserOptions {
    fn scope(&self) -> Scope {
        if self.system {
            Scope::System
        } else {
            Scope::User
        }
    }

    fn locations(&self) -> Result<Locations, Failure> {
        let mut locations = match Locations::from_env() {
            Some(locations) => locations,
            // System directories need no home; the person's own do.
            None if self.system => Locations::under_home(Path::new("/")),
            None => {
                return Err(Failure::with_detail("browser-manifest-write", "HOME"));
            }
        };
        if let Some(root) = &self.root {
            locations.system_root = absolute(root);
        }
        Ok(locations)
    }
}

fn absolute(path: &Path) -> PathBuf {
    let joined = std::env::current_dir()
        .map(|dir| dir.join(path))
        .unwrap_or_else(|_| path.to_owned());
    joined.canonicalize().unwrap_or(joined)
}

fn failure(e: InstallError) -> Failure {
    Failure::with_detail(e.code(), e.to_string())
}

pub fn install(
    common: &Common,
    options: &BrowserOptions,
    host: Option<&Path>,
) -> Result<ExitCode, Failure> {
    let locations = options.locations()?;
    let host = match host {
        // Inside a staging tree the path is the installed system's, kept as given.
        Some(host) if options.root.is_some() => host.to_owned(),
        Some(host) => absolute(host),
        None => browser::host_beside_current_exe()
            .ok_or_else(|| Failure::local("browser-host-missing"))?,
    };
    let changes = browser::install(&locations, options.scope(), &options.browser.0, &host)
        .map_err(failure)?;
    let extension = ExtensionFiles::find();
    if common.json {
        crate::print_json(&serde_json::json!({
            "host": host,
            "manifests": changes,
            "extension": extension,
        }));
        return Ok(ExitCode::SUCCESS);
    }
    let l = common.language;
    let host_text = host.display().to_string();
    println!(
        "{}",
        phrase(Phrase::BrowserRegistered { host: &host_text }, l)
    );
    for change in &changes {
        println!(
            "  {}: {}",
            change.browser.product(),
            change.manifest.display()
        );
    }
    let chromium = options
        .browser
        .0
        .iter()
        .any(|b| matches!(b, Browser::Chromium | Browser::Chrome));
    let firefox = options.browser.0.contains(&Browser::Firefox);
    match &extension.unpacked {
        None => println!("{}", phrase(Phrase::ExtensionNotFound, l)),
        Some(dir) => {
            if chromium {
                let dir = dir.display().to_string();
                println!("{}", phrase(Phrase::LoadExtensionChromium { dir: &dir }, l));
            }
            if firefox {
                match (&extension.firefox, &extension.firefox_script) {
                    (Some(file), _) => {
                        let file = file.display().to_string();
                        println!(
                            "{}",
                            phrase(Phrase::LoadExtensionFirefox { file: &file }, l)
                        );
                    }
                    (None, Some(script)) => {
                        let script = script.display().to_string();
                        println!(
                            "{}",
                            phrase(Phrase::BuildExtensionFirefox { script: &script }, l)
                        );
                    }
                    (None, None) => println!("{}", phrase(Phrase::ExtensionNotFound, l)),
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub fn uninstall(common: &Common, options: &BrowserOptions) -> Result<ExitCode, Failure> {
    let locations = options.locations()?;
    let changes =
        browser::uninstall(&locations, options.scope(), &options.browser.0).map_err(failure)?;
    if common.json {
        crate::print_json(&serde_json::json!({ "manifests": changes }));
        return Ok(ExitCode::SUCCESS);
    }
    for change in &changes {
        let path = change.manifest.display().to_string();
        let words = if change.changed {
            Phrase::ManifestRemoved { path: &path }
        } else {
            Phrase::ManifestAbsent { path: &path }
        };
        println!("{}", phrase(words, common.language));
    }
    Ok(ExitCode::SUCCESS)
}
