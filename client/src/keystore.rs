//! The OS keyring, through one small interface. On macOS and Windows, the native stores through
//! the `keyring` crate. On Linux, the kernel's keyutils *user* keyring through `linux-keyutils`:
//! shared by every process of the user, with or without a desktop session, D-Bus or a PAM login
//! session keyring, and kept in kernel memory until reboot.
//!
//! Why Linux does not go through the `keyring` crate too (measured, docs/architecture.md, "The
//! keyring"): its keyutils store (keyring 3.6.3 `linux-native`, and linux-keyutils-keyring-store
//! 1.0.0 under keyring 4) files the secret in the *session* keyring and links it into the
//! persistent keyring. A process without a session keyring of its own (a container, CI, cron, a
//! service) gets the user-session keyring instead, where the kernel does not count the key as
//! possessed: the link, the read and the search all fail with EACCES (keyring 3 reports it as
//! `NoEntry` on the very first `set_secret`). Keyring 4's default Linux store and keyring 3's
//! Secret Service stores need a D-Bus session, which a headless machine has not. The user keyring
//! needs none of that: a secret one `podpis login` stores, the next `podpis confirm` reads.

use thiserror::Error;

/// Why the keyring refused.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum KeystoreError {
    #[error("no such entry")]
    Missing,
    /// The store's own error, which never contains the secret.
    #[error("{0}")]
    Unusable(String),
}

#[cfg(target_os = "linux")]
mod imp {
    use super::KeystoreError;
    use linux_keyutils::{KeyError, KeyRing, KeyRingIdentifier};

    fn ring() -> Result<KeyRing, KeystoreError> {
        KeyRing::from_special_id(KeyRingIdentifier::User, true)
            .map_err(|e| KeystoreError::Unusable(format!("{e:?}")))
    }

    fn description(service: &str, name: &str) -> String {
        format!("{service}:{name}")
    }

    pub fn set(service: &str, name: &str, secret: &[u8]) -> Result<(), KeystoreError> {
        ring()?
            .add_key(&description(service, name), secret)
            .map(|_| ())
            .map_err(|e| KeystoreError::Unusable(format!("{e:?}")))
    }

    pub fn get(service: &str, name: &str) -> Result<Vec<u8>, KeystoreError> {
        let key = match ring()?.search(&description(service, name)) {
            Ok(key) => key,
            Err(KeyError::KeyDoesNotExist | KeyError::KeyExpired | KeyError::KeyRevoked) => {
                return Err(KeystoreError::Missing)
            }
            Err(e) => return Err(KeystoreError::Unusable(format!("{e:?}"))),
        };
        key.read_to_vec()
            .map_err(|e| KeystoreError::Unusable(format!("{e:?}")))
    }

    pub fn delete(service: &str, name: &str) -> Result<(), KeystoreError> {
        match ring()?.search(&description(service, name)) {
            Ok(key) => key
                .invalidate()
                .map_err(|e| KeystoreError::Unusable(format!("{e:?}"))),
            Err(KeyError::KeyDoesNotExist | KeyError::KeyExpired | KeyError::KeyRevoked) => Ok(()),
            Err(e) => Err(KeystoreError::Unusable(format!("{e:?}"))),
        }
    }
}

#[cfg(not(target_os = "linux"))]
mod imp {
    use super::KeystoreError;

    fn entry(service: &str, name: &str) -> Result<keyring::Entry, KeystoreError> {
        keyring::Entry::new(service, name).map_err(|e| KeystoreError::Unusable(e.to_string()))
    }

    pub fn set(service: &str, name: &str, secret: &[u8]) -> Result<(), KeystoreError> {
        entry(service, name)?
            .set_secret(secret)
            .map_err(|e| KeystoreError::Unusable(e.to_string()))
    }

    pub fn get(service: &str, name: &str) -> Result<Vec<u8>, KeystoreError> {
        match entry(service, name)?.get_secret() {
            Ok(secret) => Ok(secret),
            Err(keyring::Error::NoEntry) => Err(KeystoreError::Missing),
            Err(e) => Err(KeystoreError::Unusable(e.to_string())),
        }
    }

    pub fn delete(service: &str, name: &str) -> Result<(), KeystoreError> {
        match entry(service, name)?.delete_credential() {
            Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
            Err(e) => Err(KeystoreError::Unusable(e.to_string())),
        }
    }
}

pub use imp::{delete, get, set};

#[cfg(test)]
mod tests {
    use super::*;

    const SERVICE: &str = "podpis-tests";
    /// Set for the child process of the cross-process test: the entry name it must read.
    const CHILD_ENTRY: &str = "PODPIS_KEYSTORE_TEST_ENTRY";

    fn unique_name(what: &str) -> String {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("clock after 1970")
            .subsec_nanos();
        format!("{what}-{}-{nanos}", std::process::id())
    }

    #[test]
    fn a_secret_is_stored_read_and_deleted() {
        let name = unique_name("round-trip");
        let _cleanup = DeleteOnDrop(&name);
        set(SERVICE, &name, b"first").expect("set");
        assert_eq!(get(SERVICE, &name).expect("get"), b"first");
        set(SERVICE, &name, b"second").expect("overwrite");
        assert_eq!(get(SERVICE, &name).expect("get"), b"second");
        delete(SERVICE, &name).expect("delete");
        assert_eq!(get(SERVICE, &name), Err(KeystoreError::Missing));
    }

    #[test]
    fn a_missing_entry_is_missing_and_deleting_it_is_no_error() {
        let name = unique_name("never-stored");
        assert_eq!(get(SERVICE, &name), Err(KeystoreError::Missing));
        assert_eq!(delete(SERVICE, &name), Ok(()));
    }

    /// What the client needs: `podpis login` stores the token and exits, the next `podpis
    /// confirm` (another process) reads it. The test stores a secret, then runs this test binary
    /// again to read it from a child process; the secret is deleted by a third process.
    #[test]
    fn a_secret_stored_by_one_process_is_read_by_the_next() {
        let name = unique_name("cross-process");
        let _cleanup = DeleteOnDrop(&name);
        set(SERVICE, &name, b"stored by the parent").expect("set");
        let read = run_child(&name, "read");
        let deleted = run_child(&name, "delete");
        let after = get(SERVICE, &name);
        assert_eq!(read, "stored by the parent");
        assert_eq!(deleted, "deleted");
        assert_eq!(after, Err(KeystoreError::Missing));
    }

    /// Deletes the test's entry however the test ends: the user keyring outlives the test.
    struct DeleteOnDrop<'a>(&'a str);

    impl Drop for DeleteOnDrop<'_> {
        fn drop(&mut self) {
            let _ = delete(SERVICE, self.0);
        }
    }

    fn run_child(name: &str, action: &str) -> String {
        let exe = std::env::current_exe().expect("test binary");
        let output = std::process::Command::new(exe)
            .args([
                "--exact",
                "keystore::tests::child_process_side",
                "--ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD_ENTRY, format!("{action}:{name}"))
            .output()
            .expect("run the test binary");
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(output.status.success(), "child failed: {stdout}");
        stdout
            .lines()
            .find_map(|line| line.split_once("child: ").map(|(_, answer)| answer))
            .unwrap_or_else(|| panic!("no answer from the child: {stdout}"))
            .to_owned()
    }

    /// The child half of the cross-process test; it does nothing when run on its own.
    #[test]
    #[ignore = "run by a_secret_stored_by_one_process_is_read_by_the_next in a child process"]
    fn child_process_side() {
        let Ok(task) = std::env::var(CHILD_ENTRY) else {
            return;
        };
        let (action, name) = task.split_once(':').expect("action:name");
        let answer = match action {
            "read" => String::from_utf8(get(SERVICE, name).expect("get")).expect("text"),
            "delete" => {
                delete(SERVICE, name).expect("delete");
                "deleted".to_owned()
            }
            other => panic!("unknown action {other}"),
        };
        println!("child: {answer}");
    }
}
