//! The OS keyring, through one small interface. On Linux, the kernel's keyutils user keyring
//! (works without a desktop session or D-Bus, keeps the secret in kernel memory until logout or
//! reboot); on macOS and Windows, the native stores through the `keyring` crate.

/// Why the keyring refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeystoreError {
    Missing,
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
