//! What the card keeps between power cycles: its keys, certificates, PIN and PIN counter, in the
//! state directory. The private keys are PEM files that the card process loads into OpenSSL.

use std::fs;
use std::path::{Path, PathBuf};

use openssl::pkey::{PKey, Private};
use serde::{Deserialize, Serialize};

use testdata::{KeyKind, Profile, MAX_PIN_TRIES, MAX_PUK_TRIES, PIN, PUK};

use crate::applet::CardAlgorithm;
use crate::pki::{self, Pki, PkiError};

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("{0}: {1}")]
    Io(String, std::io::Error),
    #[error(transparent)]
    Pki(#[from] PkiError),
    #[error("the state directory holds profile {found:?}, not {wanted:?}; use another directory")]
    OtherProfile { found: String, wanted: String },
    #[error("the state file is damaged: {0}")]
    Damaged(String),
    #[error(
        "cannot load the card's key {0} (is the GOST engine loaded through OPENSSL_CONF?): {1}"
    )]
    Key(String, String),
}

/// The persistent part of the card.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Persisted {
    pub profile: String,
    pub serial: String,
    pub pin: String,
    pub pin_tries_left: u8,
    pub pin_max_tries: u8,
    /// The PUK that unblocks the PIN, and its own counter (cards made before it existed get the
    /// test PUK with every try).
    #[serde(default = "default_puk")]
    pub puk: String,
    #[serde(default = "default_puk_tries")]
    pub puk_tries_left: u8,
    pub keys: Vec<PersistedKey>,
}

fn default_puk() -> String {
    PUK.to_owned()
}

fn default_puk_tries() -> u8 {
    MAX_PUK_TRIES
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PersistedKey {
    pub reference: u8,
    pub kind: KeyKind,
    pub certificate_fid: [u8; 2],
}

/// A key the card can sign with.
pub struct CardKey {
    pub reference: u8,
    pub kind: KeyKind,
    pub certificate_fid: [u8; 2],
    pub certificate: Vec<u8>,
    pub private: PKey<Private>,
}

pub struct CardState {
    dir: PathBuf,
    pub data: Persisted,
    pub keys: Vec<CardKey>,
}

impl CardState {
    /// Loads the card from `dir`, or creates it there for `profile`: generates the key and has the
    /// test PKI issue its certificate.
    pub fn open_or_create(dir: &Path, profile: &Profile, pki: &Pki) -> Result<Self, StateError> {
        fs::create_dir_all(dir).map_err(|e| StateError::Io(dir.display().to_string(), e))?;
        let file = dir.join("card.json");
        if !file.exists() {
            Self::create(dir, profile, pki)?;
        }
        let text =
            fs::read_to_string(&file).map_err(|e| StateError::Io(file.display().to_string(), e))?;
        let data: Persisted =
            serde_json::from_str(&text).map_err(|e| StateError::Damaged(e.to_string()))?;
        if data.profile != profile.name {
            return Err(StateError::OtherProfile {
                found: data.profile,
                wanted: profile.name.clone(),
            });
        }
        let mut keys = Vec::new();
        for k in &data.keys {
            let key_path = dir.join(format!("key-{:02X}.pem", k.reference));
            let pem = fs::read(&key_path)
                .map_err(|e| StateError::Io(key_path.display().to_string(), e))?;
            let private = PKey::private_key_from_pem(&pem)
                .map_err(|e| StateError::Key(key_path.display().to_string(), e.to_string()))?;
            let cert_path = dir.join(format!("cert-{:02X}.der", k.reference));
            let certificate = fs::read(&cert_path)
                .map_err(|e| StateError::Io(cert_path.display().to_string(), e))?;
            keys.push(CardKey {
                reference: k.reference,
                kind: k.kind,
                certificate_fid: k.certificate_fid,
                certificate,
                private,
            });
        }
        Ok(Self {
            dir: dir.to_path_buf(),
            data,
            keys,
        })
    }

    fn create(dir: &Path, profile: &Profile, pki: &Pki) -> Result<(), StateError> {
        let reference = 0x01;
        let key_path = dir.join(format!("key-{reference:02X}.pem"));
        pki::genpkey(profile.key.openssl_algorithm(), &key_path)?;
        let der = pki.issue(profile, &key_path, dir)?;
        let cert_path = dir.join(format!("cert-{reference:02X}.der"));
        fs::write(&cert_path, der)
            .map_err(|e| StateError::Io(cert_path.display().to_string(), e))?;
        let data = Persisted {
            profile: profile.name.clone(),
            serial: profile.serial.clone(),
            pin: PIN.to_owned(),
            pin_tries_left: profile.pin_tries_left.min(MAX_PIN_TRIES),
            pin_max_tries: MAX_PIN_TRIES,
            puk: PUK.to_owned(),
            puk_tries_left: MAX_PUK_TRIES,
            keys: vec![PersistedKey {
                reference,
                kind: profile.key,
                certificate_fid: [0xC0, reference],
            }],
        };
        // card.json is written last: its presence means the card is complete.
        write_json(dir, &data)
    }

    /// Writes the PIN counter (and the rest) through a temporary file and a rename, so that a
    /// card killed mid-write never loses its counter.
    pub fn save(&self) -> Result<(), StateError> {
        write_json(&self.dir, &self.data)
    }
}

fn write_json(dir: &Path, data: &Persisted) -> Result<(), StateError> {
    let tmp = dir.join("card.json.tmp");
    let text =
        serde_json::to_string_pretty(data).map_err(|e| StateError::Damaged(e.to_string()))?;
    fs::write(&tmp, text).map_err(|e| StateError::Io(tmp.display().to_string(), e))?;
    fs::rename(&tmp, dir.join("card.json"))
        .map_err(|e| StateError::Io(tmp.display().to_string(), e))
}
