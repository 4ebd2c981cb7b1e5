//! What the person allowed (design.md, "The browser bridge"): no certificate is listed to an
//! origin the person has not allowed, and no signature is made without a click in Podpis's own
//! window. The host asks through [`Consent`]; the window that answers is a later part of issue 15
//! (the desktop app's consent screen). Until it exists, [`WithoutWindow`] answers:
//! - listing: allowed only to the origins in `<data dir>/browser-origins.json`, the file where
//!   the window will remember an origin the person allowed once;
//! - signing: always refused, since nobody can have clicked.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use client::tokens::FoundKey;
use serde::{Deserialize, Serialize};
use signing::Pin;

use crate::origin::Origin;
use crate::sign::{SignRequest, Signer};

/// The person's answer was no, or there was nobody to ask.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the person did not allow it")]
pub struct Refused;

/// Who answers for the person.
pub trait Consent {
    /// Whether `origin` may see the person's tokens and certificates (list them, load a
    /// certificate from a container, hash with a container's algorithm).
    fn may_list(&mut self, origin: &Origin) -> Result<(), Refused>;

    /// Whether `request` may be signed with `key`: the answer is the signer to use (the token,
    /// with the PIN the page gave, `page_pin`, or one the person typed in Podpis; used once).
    /// Only a click in Podpis's window may answer yes. A PIN not used is wiped when dropped.
    fn may_sign(
        &mut self,
        request: &SignRequest,
        key: &FoundKey,
        page_pin: Option<Pin>,
    ) -> Result<Box<dyn Signer>, Refused>;
}

/// The origins the person allowed to list certificates, as the window will keep them.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct AllowedOrigins {
    pub origins: BTreeSet<String>,
}

impl AllowedOrigins {
    pub fn file(data_dir: &Path) -> PathBuf {
        data_dir.join("browser-origins.json")
    }

    /// The remembered origins; a missing or unreadable file allows none.
    pub fn read(data_dir: &Path) -> Self {
        std::fs::read(Self::file(data_dir))
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .unwrap_or_default()
    }

    pub fn allows(&self, origin: &Origin) -> bool {
        self.origins.contains(origin.as_str())
    }
}

/// The consent of a host with no window to ask in (see the module comment).
#[derive(Debug)]
pub struct WithoutWindow {
    pub data_dir: PathBuf,
}

impl Consent for WithoutWindow {
    fn may_list(&mut self, origin: &Origin) -> Result<(), Refused> {
        // Read on every call: the window may have added the origin since the last one.
        if AllowedOrigins::read(&self.data_dir).allows(origin) {
            Ok(())
        } else {
            Err(Refused)
        }
    }

    fn may_sign(
        &mut self,
        _request: &SignRequest,
        _key: &FoundKey,
        _page_pin: Option<Pin>,
    ) -> Result<Box<dyn Signer>, Refused> {
        // Nobody clicked: the page's PIN, if any, is wiped as it is dropped here.
        Err(Refused)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_remembered_origins_may_list() {
        let dir = tempfile::tempdir().unwrap();
        let mut consent = WithoutWindow {
            data_dir: dir.path().to_path_buf(),
        };
        let portal = Origin::parse("https://www.gosuslugi.ru").unwrap();
        let other = Origin::parse("https://evil.example").unwrap();
        assert_eq!(consent.may_list(&portal), Err(Refused), "no file: nobody");
        std::fs::write(AllowedOrigins::file(dir.path()), b"not json").unwrap();
        assert_eq!(consent.may_list(&portal), Err(Refused), "bad file: nobody");
        std::fs::write(
            AllowedOrigins::file(dir.path()),
            br#"{"origins":["https://www.gosuslugi.ru"]}"#,
        )
        .unwrap();
        assert_eq!(consent.may_list(&portal), Ok(()));
        assert_eq!(consent.may_list(&other), Err(Refused));
    }
}
