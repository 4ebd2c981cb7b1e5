//! The token's files, in the directory named by [`DIR_VARIABLE`]:
//!
//! - `token.json` ([`TokenFile`]): what is on the token (label, serial, the key/certificate pairs
//!   and where their files are). Written by whoever sets the token up; the module only reads it.
//! - `state.json` ([`PinState`]): the user PIN and the SO PIN with their try counters. The module
//!   rewrites it after every check, through a temporary file and a rename, so that a try spent in
//!   one process is spent for the next, as on a real token. Like the virtual card's `card.json`, it
//!   is the token's own memory, so it holds the PINs themselves.
//!
//! Key and certificate paths in `token.json` are relative to the directory or absolute, so a token
//! can use the key and certificate that the virtual card's state directory already holds.

use std::fs;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// The environment variable that names the token's directory. Without it the module has a slot
/// and no token in it.
pub const DIR_VARIABLE: &str = "PODPIS_TEST_P11_DIR";

pub const TOKEN_FILE: &str = "token.json";
pub const STATE_FILE: &str = "state.json";

/// PIN lengths the token accepts (`ulMinPinLen`, `ulMaxPinLen`).
pub const MIN_PIN_LEN: usize = 4;
pub const MAX_PIN_LEN: usize = 32;

/// Try counters of a token set up without saying otherwise.
pub const DEFAULT_MAX_TRIES: u8 = 3;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{0}: {1}")]
    Io(String, std::io::Error),
    #[error("{0} is not what the test module reads: {1}")]
    Format(String, serde_json::Error),
    #[error("{file}: {what}")]
    Invalid { file: String, what: String },
}

/// `token.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenFile {
    /// `CK_TOKEN_INFO.label`, at most 32 bytes of UTF-8.
    pub label: String,
    /// `CK_TOKEN_INFO.serialNumber`, at most 16 bytes.
    pub serial: String,
    #[serde(default = "default_max_tries")]
    pub user_pin_max_tries: u8,
    #[serde(default = "default_max_tries")]
    pub so_pin_max_tries: u8,
    /// Present: the token has a PIN pad (`CKF_PROTECTED_AUTHENTICATION_PATH`), and this is what the
    /// person types on it whenever `C_Login` comes without a PIN.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pin_pad_entry: Option<String>,
    pub objects: Vec<ObjectFile>,
}

/// One certificate on the token, with its key pair when `key` is given.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ObjectFile {
    /// `CKA_ID` of the certificate and of its keys, in hex.
    pub id: String,
    /// `CKA_LABEL` of the certificate and of its keys.
    pub label: String,
    /// The certificate, DER.
    pub certificate: PathBuf,
    /// The private key, PEM, readable by OpenSSL with the GOST engine loaded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<PathBuf>,
    /// `CKA_ALWAYS_AUTHENTICATE` of the private key: each signature then needs its own
    /// `C_Login(CKU_CONTEXT_SPECIFIC)`.
    #[serde(default)]
    pub always_authenticate: bool,
}

/// `state.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PinState {
    pub user_pin: String,
    /// Absent: all tries left.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_tries_left: Option<u8>,
    pub so_pin: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub so_tries_left: Option<u8>,
}

fn default_max_tries() -> u8 {
    DEFAULT_MAX_TRIES
}

impl TokenFile {
    pub fn load(dir: &Path) -> Result<Self, StoreError> {
        let path = dir.join(TOKEN_FILE);
        let token: Self = read_json(&path)?;
        let invalid = |what: String| StoreError::Invalid {
            file: path.display().to_string(),
            what,
        };
        if token.label.len() > 32 {
            return Err(invalid("the label is longer than 32 bytes".into()));
        }
        if token.serial.len() > 16 {
            return Err(invalid("the serial is longer than 16 bytes".into()));
        }
        if token.user_pin_max_tries == 0 || token.so_pin_max_tries == 0 {
            return Err(invalid("a PIN needs at least one try".into()));
        }
        for object in &token.objects {
            if hex::decode(&object.id).map_or(true, |id| id.is_empty()) {
                return Err(invalid(format!("the id {:?} is not hex", object.id)));
            }
        }
        Ok(token)
    }

    pub fn save(&self, dir: &Path) -> Result<(), StoreError> {
        write_json(&dir.join(TOKEN_FILE), self)
    }
}

impl ObjectFile {
    pub fn id_bytes(&self) -> Vec<u8> {
        // Checked by TokenFile::load.
        hex::decode(&self.id).unwrap_or_default()
    }
}

impl PinState {
    pub fn load(dir: &Path) -> Result<Self, StoreError> {
        read_json(&dir.join(STATE_FILE))
    }

    /// Through a temporary file and a rename: a process killed mid-write never loses a counter.
    pub fn save(&self, dir: &Path) -> Result<(), StoreError> {
        write_json(&dir.join(STATE_FILE), self)
    }
}

/// Resolves a path from `token.json` against the token's directory.
pub fn resolve(dir: &Path, path: &Path) -> PathBuf {
    if path.is_absolute() {
        path.to_path_buf()
    } else {
        dir.join(path)
    }
}

fn read_json<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<T, StoreError> {
    let text =
        fs::read_to_string(path).map_err(|e| StoreError::Io(path.display().to_string(), e))?;
    serde_json::from_str(&text).map_err(|e| StoreError::Format(path.display().to_string(), e))
}

fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<(), StoreError> {
    let text = serde_json::to_string_pretty(value)
        .map_err(|e| StoreError::Format(path.display().to_string(), e))?;
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    fs::write(&tmp, text).map_err(|e| StoreError::Io(tmp.display().to_string(), e))?;
    fs::rename(&tmp, path).map_err(|e| StoreError::Io(path.display().to_string(), e))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token() -> TokenFile {
        TokenFile {
            label: "GOST test".into(),
            serial: "0001".into(),
            user_pin_max_tries: 3,
            so_pin_max_tries: 3,
            pin_pad_entry: None,
            objects: vec![ObjectFile {
                id: "a1".into(),
                label: "key".into(),
                certificate: "c.der".into(),
                key: Some("k.pem".into()),
                always_authenticate: false,
            }],
        }
    }

    #[test]
    fn a_saved_token_loads_back() {
        let dir = tempfile::tempdir().expect("tmp");
        token().save(dir.path()).expect("save");
        let loaded = TokenFile::load(dir.path()).expect("load");
        assert_eq!(loaded.objects[0].id_bytes(), vec![0xA1]);
        assert_eq!(loaded.user_pin_max_tries, 3);
    }

    #[test]
    fn fields_the_module_does_not_know_are_refused() {
        let dir = tempfile::tempdir().expect("tmp");
        fs::write(
            dir.path().join(TOKEN_FILE),
            r#"{"label":"x","serial":"1","objects":[],"pin":"1234"}"#,
        )
        .expect("write");
        assert!(matches!(
            TokenFile::load(dir.path()),
            Err(StoreError::Format(..))
        ));
    }

    #[test]
    fn labels_and_ids_must_fit_the_token_info() {
        let dir = tempfile::tempdir().expect("tmp");
        let mut long = token();
        long.label = "x".repeat(33);
        long.save(dir.path()).expect("save");
        assert!(matches!(
            TokenFile::load(dir.path()),
            Err(StoreError::Invalid { .. })
        ));
        let mut bad_id = token();
        bad_id.objects[0].id = "zz".into();
        bad_id.save(dir.path()).expect("save");
        assert!(matches!(
            TokenFile::load(dir.path()),
            Err(StoreError::Invalid { .. })
        ));
    }

    #[test]
    fn the_pin_state_survives_a_save() {
        let dir = tempfile::tempdir().expect("tmp");
        let state = PinState {
            user_pin: "12345678".into(),
            user_tries_left: Some(1),
            so_pin: "87654321".into(),
            so_tries_left: None,
        };
        state.save(dir.path()).expect("save");
        let loaded = PinState::load(dir.path()).expect("load");
        assert_eq!(loaded.user_tries_left, Some(1));
        assert_eq!(loaded.so_tries_left, None);
        assert!(!dir.path().join("state.json.tmp").exists());
    }

    #[test]
    fn relative_paths_are_the_token_directory_s() {
        let dir = Path::new("/t");
        assert_eq!(resolve(dir, Path::new("k.pem")), PathBuf::from("/t/k.pem"));
        assert_eq!(
            resolve(dir, Path::new("/a/k.pem")),
            PathBuf::from("/a/k.pem")
        );
    }
}
