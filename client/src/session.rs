//! The session: the access token in the OS keyring (kernel keyutils on Linux, Keychain on macOS,
//! the Credential Manager on Windows), and beside it, in a file, only what is not secret: which
//! portal and which account.

use crate::durable::write_atomically;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use thiserror::Error;
use zeroize::Zeroizing;

use crate::keystore::{self, KeystoreError};

fn keyring_error(e: KeystoreError) -> SessionError {
    SessionError::Keyring(e.to_string())
}

const SERVICE: &str = "podpis";

#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum SessionError {
    #[error("not logged in to {0}")]
    NotLoggedIn(String),
    #[error("the OS keyring is not usable: {0}")]
    Keyring(String),
    #[error("{0}")]
    Io(String),
}

/// What is remembered of a login, without the token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionInfo {
    pub portal: String,
    pub account: String,
    pub expires_at: String,
}

pub struct Sessions {
    file: PathBuf,
}

impl Sessions {
    pub fn new(data_dir: &Path) -> Self {
        Self {
            file: data_dir.join("session.json"),
        }
    }

    /// Keeps the token in the keyring and the rest in the data directory.
    pub fn save(&self, info: &SessionInfo, token: &str) -> Result<(), SessionError> {
        keystore::set(SERVICE, &info.portal, token.as_bytes()).map_err(keyring_error)?;
        if let Some(dir) = self.file.parent() {
            std::fs::create_dir_all(dir)
                .map_err(|e| SessionError::Io(format!("{}: {e}", dir.display())))?;
        }
        let text =
            serde_json::to_string_pretty(info).map_err(|e| SessionError::Io(e.to_string()))?;
        write_atomically(&self.file, text.as_bytes())
            .map_err(|e| SessionError::Io(format!("{}: {e}", self.file.display())))
    }

    /// The last session, if any.
    pub fn current(&self) -> Option<SessionInfo> {
        let text = std::fs::read_to_string(&self.file).ok()?;
        serde_json::from_str(&text).ok()
    }

    /// The token for `portal`, from the keyring.
    pub fn token(&self, portal: &str) -> Result<Zeroizing<String>, SessionError> {
        match keystore::get(SERVICE, portal) {
            Ok(bytes) => {
                let bytes = Zeroizing::new(bytes);
                String::from_utf8(bytes.to_vec())
                    .map(Zeroizing::new)
                    .map_err(|_| SessionError::Keyring("the stored token is not text".into()))
            }
            Err(KeystoreError::Missing) => Err(SessionError::NotLoggedIn(portal.to_owned())),
            Err(e) => Err(keyring_error(e)),
        }
    }

    /// Forgets the token and the session file.
    pub fn clear(&self, portal: &str) -> Result<(), SessionError> {
        keystore::delete(SERVICE, portal).map_err(keyring_error)?;
        if self.current().is_some_and(|s| s.portal == portal) {
            let _ = std::fs::remove_file(&self.file);
        }
        Ok(())
    }

    /// Writes, reads and deletes a probe entry: whether the keyring works here.
    pub fn probe() -> Result<(), SessionError> {
        let name = "podpis-diagnostics-probe";
        keystore::set(SERVICE, name, b"probe").map_err(keyring_error)?;
        let read = keystore::get(SERVICE, name).map_err(keyring_error)?;
        let _ = keystore::delete(SERVICE, name);
        if read == b"probe" {
            Ok(())
        } else {
            Err(SessionError::Keyring(
                "the probe read back differently".into(),
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A portal address no real login uses, so the test never touches a real session's token.
    fn test_portal(what: &str) -> String {
        format!("https://{what}-{}.podpis.invalid", std::process::id())
    }

    /// Forgets the test's token however the test ends: the keyring outlives the test.
    struct ForgetOnDrop<'a>(&'a str);

    impl Drop for ForgetOnDrop<'_> {
        fn drop(&mut self) {
            let _ = keystore::delete(SERVICE, self.0);
        }
    }

    #[test]
    fn a_saved_token_is_read_back_and_cleared() {
        let dir = tempfile::tempdir().expect("dir");
        let sessions = Sessions::new(dir.path());
        let info = SessionInfo {
            portal: test_portal("save"),
            account: "account-1".into(),
            expires_at: "2030-01-01T00:00:00Z".into(),
        };
        let _forget = ForgetOnDrop(&info.portal);
        sessions.save(&info, "token-value").expect("save");
        assert_eq!(sessions.current(), Some(info.clone()));
        assert_eq!(
            sessions.token(&info.portal).expect("token").as_str(),
            "token-value"
        );
        let file = std::fs::read_to_string(dir.path().join("session.json")).expect("file");
        assert!(!file.contains("token-value"), "the token is in the file");

        sessions.clear(&info.portal).expect("clear");
        assert_eq!(sessions.current(), None);
        assert_eq!(
            sessions.token(&info.portal),
            Err(SessionError::NotLoggedIn(info.portal.clone()))
        );
    }

    #[test]
    fn no_token_means_not_logged_in() {
        let dir = tempfile::tempdir().expect("dir");
        let portal = test_portal("never");
        assert_eq!(
            Sessions::new(dir.path()).token(&portal),
            Err(SessionError::NotLoggedIn(portal.clone()))
        );
    }

    #[test]
    fn the_keyring_probe_passes_here() {
        Sessions::probe().expect("the keyring works on this machine");
    }
}
