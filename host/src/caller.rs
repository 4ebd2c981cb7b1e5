//! Who started the host. The browser names the extension that called it in the host's
//! arguments (docs/host.md, "The caller"): Chrome and Chromium pass the caller's origin
//! `chrome-extension://<id>/` first (and on Windows `--parent-window=<handle>` after it);
//! Firefox passes the path of the manifest it read and the add-on's id. The host serves only
//! Podpis's own extension: a manifest that also allows another extension (written by someone
//! else, or edited) must not hand that extension the person's tokens.

use std::ffi::OsString;
use std::path::Path;

use client::browser::{CHROMIUM_ORIGIN, FIREFOX_ADDON_ID, MANIFEST_FILE};

/// The browser that started the host for Podpis's extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Caller {
    Chromium,
    Firefox,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallerError {
    /// Not the arguments of a browser at all: a person in a terminal, or a script.
    #[error("not started by a browser")]
    NotFromBrowser,
    /// A browser started it for another extension: its origin, or its add-on id.
    #[error("started for {0}, not for Podpis's extension")]
    Foreign(String),
}

impl CallerError {
    /// The host's exit status for this refusal (docs/host.md).
    pub fn exit_code(&self) -> u8 {
        match self {
            Self::NotFromBrowser => 2,
            Self::Foreign(_) => 3,
        }
    }
}

/// Checks the host's arguments (without the program's own name).
pub fn check(args: &[OsString]) -> Result<Caller, CallerError> {
    let text = |i: usize| args.get(i).and_then(|a| a.to_str());
    match (text(0), text(1)) {
        // Chrome: the origin; on Windows a window handle follows, which the host does not use.
        (Some(origin), _) if origin.starts_with("chrome-extension://") => {
            if origin == CHROMIUM_ORIGIN {
                Ok(Caller::Chromium)
            } else {
                Err(CallerError::Foreign(origin.to_owned()))
            }
        }
        // Firefox: the manifest's path (it is named after the host, or Firefox would not have
        // read it) and the add-on id.
        (Some(manifest), Some(addon))
            if args.len() == 2
                && Path::new(manifest).is_absolute()
                && Path::new(manifest)
                    .file_name()
                    .is_some_and(|n| n == MANIFEST_FILE) =>
        {
            if addon == FIREFOX_ADDON_ID {
                Ok(Caller::Firefox)
            } else {
                Err(CallerError::Foreign(addon.to_owned()))
            }
        }
        _ => Err(CallerError::NotFromBrowser),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<OsString> {
        list.iter().map(OsString::from).collect()
    }

    const FIREFOX_MANIFEST: &str = "/usr/lib/mozilla/native-messaging-hosts/org.podpis.host.json";

    #[test]
    fn podpis_s_extension_is_served_in_each_browser() {
        assert_eq!(check(&args(&[CHROMIUM_ORIGIN])), Ok(Caller::Chromium));
        // Windows: the window handle after the origin (0 from a service worker).
        assert_eq!(
            check(&args(&[CHROMIUM_ORIGIN, "--parent-window=0"])),
            Ok(Caller::Chromium)
        );
        assert_eq!(
            check(&args(&[FIREFOX_MANIFEST, FIREFOX_ADDON_ID])),
            Ok(Caller::Firefox)
        );
    }

    #[test]
    fn another_extension_is_refused_and_named() {
        let other = "chrome-extension://abcdefghijklmnopabcdefghijklmnop/";
        assert_eq!(
            check(&args(&[other])),
            Err(CallerError::Foreign(other.into()))
        );
        // Podpis's id without the trailing slash Chrome always writes is not Chrome's form.
        let bare = "chrome-extension://heccbomkgkkfobheiepjmdhophngobhm";
        assert_eq!(
            check(&args(&[bare])),
            Err(CallerError::Foreign(bare.into()))
        );
        // The official plugin's Firefox add-on.
        let official = "pbafkdcnd@ngodfeigfdgiodgnmbgcfha.ru";
        assert_eq!(
            check(&args(&[FIREFOX_MANIFEST, official])),
            Err(CallerError::Foreign(official.into()))
        );
    }

    #[test]
    fn anything_else_is_not_a_browser() {
        for list in [
            &[][..],
            &["--help"],
            &["https://www.gosuslugi.ru"],
            // Firefox's form, but not Podpis's manifest, or a relative path.
            &["/tmp/other.json", FIREFOX_ADDON_ID],
            &["org.podpis.host.json", FIREFOX_ADDON_ID],
            &[FIREFOX_MANIFEST, FIREFOX_ADDON_ID, "extra"],
            // The add-on id alone.
            &[FIREFOX_ADDON_ID],
        ] {
            assert_eq!(
                check(&args(list)),
                Err(CallerError::NotFromBrowser),
                "{list:?}"
            );
        }
        assert_eq!(CallerError::NotFromBrowser.exit_code(), 2);
        assert_eq!(CallerError::Foreign("x".into()).exit_code(), 3);
    }
}
