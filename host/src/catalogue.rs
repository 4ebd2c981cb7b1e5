//! Podpis's tokens and keys as the protocol's crypto objects and certificate list items
//! (ifc-protocol.md 3.1, 3.2, 5): the cryptoId and containerId mapping.
//!
//! Every token is one crypto object of `type` `"pkcs11"`, the only type whose ids the library
//! computes from fields we control (`alias + "/" + num`) and the type the library's PKCS#11
//! listing keeps:
//! - `alias`: `podpis` for a card an APDU driver reads (the card tier); `podpis-p11-<module>` for
//!   a token behind a PKCS#11 module, `<module>` being the module file's name without its
//!   extension (`podpis-p11-librtpkcs11ecp`, `podpis-p11-opensc-pkcs11`).
//! - `num`: the token's serial number. Not a slot or reader index: those shift when a reader or
//!   token comes or goes, and a containerId the page kept from the listing would then name
//!   another token's key. Only when two tokens under one alias show the same serial does each get
//!   `-` and 8 hex digits of the SHA-256 of where it is (reader, or module and slot) appended.
//! - the key's `id`: the hex of its key reference (a card) or of its `CKA_ID` (PKCS#11).
//!
//! So `cryptoId` is `podpis/<serial>` or `podpis-p11-<module>/<serial>`, and `containerId` is
//! `<cryptoId>/<key id hex>`. Every part is lower-case and of `[a-z0-9._-]` (anything else in a
//! serial becomes `_`): no `/` inside a part, and none of `CryptoPro`, `VIPNet`, `SignalCom`,
//! `LISSI-CSP` anywhere, which would make the library cut a containerId at its first `/`.

use std::path::Path;

use client::tokens::{FoundKey, KeySource};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::ifc_error::IfcError;
use crate::x509::Certificate;

/// The alias of the card tier.
pub const CARD_ALIAS: &str = "podpis";
/// The alias prefix of PKCS#11 modules.
pub const PKCS11_ALIAS_PREFIX: &str = "podpis-p11-";

/// One token as a crypto object of `get_list_info`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Crypto {
    pub alias: String,
    pub num: String,
    pub name: String,
    pub path: String,
    pub description: String,
    pub serial_number: String,
    pub model: String,
}

impl Crypto {
    /// `alias + "/" + num`, as the library computes it for type `pkcs11`.
    pub fn crypto_id(&self) -> String {
        format!("{}/{}", self.alias, self.num)
    }

    /// The `ifc_list` item.
    pub fn to_json(&self) -> Value {
        json!({
            "type": "pkcs11",
            "alias": self.alias,
            "name": self.name,
            "path": self.path,
            "num": self.num,
            "description": self.description,
            "serial_number": self.serial_number,
            "model": self.model,
            // The library overwrites it for type pkcs11; sent so that a reader of the reply sees
            // the id every other call uses.
            "crypto_id": self.crypto_id(),
        })
    }
}

/// A key with its certificate, named as the page names it.
#[derive(Debug, Clone)]
pub struct Entry {
    pub crypto_id: String,
    /// The `id` of the certificate list item.
    pub key_id: String,
    pub key: FoundKey,
    pub certificate: Certificate,
}

impl Entry {
    pub fn container_id(&self) -> String {
        format!("{}/{}", self.crypto_id, self.key_id)
    }
}

/// The tokens and keys of one listing.
#[derive(Debug, Clone, Default)]
pub struct Catalogue {
    pub cryptos: Vec<Crypto>,
    pub entries: Vec<Entry>,
}

/// Where a token is, for grouping its keys and for telling apart tokens with one serial.
fn place(key: &FoundKey) -> String {
    match &key.source {
        KeySource::Card { reader, .. } => format!("card:{reader}"),
        KeySource::Pkcs11 { token, .. } => {
            format!(
                "pkcs11:{}:{}:{}",
                token.module.display(),
                token.slot,
                token.serial
            )
        }
    }
}

/// Lower case, and only `[a-z0-9._-]`.
fn id_part(text: &str) -> String {
    text.chars()
        .map(|c| c.to_ascii_lowercase())
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

fn module_alias(module: &Path) -> String {
    let stem = module
        .file_name()
        .and_then(|n| n.to_str())
        .map(|n| n.split('.').next().unwrap_or(n))
        .filter(|n| !n.is_empty())
        .unwrap_or("module");
    format!("{PKCS11_ALIAS_PREFIX}{}", id_part(stem))
}

fn crypto_of(key: &FoundKey) -> Crypto {
    let serial = match id_part(key.token_serial.trim()) {
        s if s.is_empty() => "token".to_owned(),
        s => s,
    };
    match &key.source {
        KeySource::Card { reader, kind, .. } => Crypto {
            alias: CARD_ALIAS.into(),
            num: serial,
            name: "Podpis".into(),
            path: String::new(),
            description: reader.clone(),
            serial_number: key.token_serial.clone(),
            model: kind.as_str().into(),
        },
        KeySource::Pkcs11 {
            token, token_label, ..
        } => Crypto {
            alias: module_alias(&token.module),
            num: serial,
            name: token_label.clone(),
            path: token.module.display().to_string(),
            description: token_label.clone(),
            serial_number: key.token_serial.clone(),
            model: String::new(),
        },
    }
}

fn key_id(key: &FoundKey) -> String {
    match &key.source {
        KeySource::Card { reference, .. } => hex::encode([*reference]),
        KeySource::Pkcs11 { id, .. } => hex::encode(id),
    }
}

impl Catalogue {
    /// Names every key whose certificate parses; keys of one token share one crypto object.
    pub fn from_keys(keys: Vec<FoundKey>) -> Self {
        // (place, crypto) per token, in the order met.
        let mut tokens: Vec<(String, Crypto)> = Vec::new();
        for key in &keys {
            let here = place(key);
            if !tokens.iter().any(|(p, _)| *p == here) {
                tokens.push((here, crypto_of(key)));
            }
        }
        // Two tokens with one alias and serial: each is told apart by where it is.
        let duplicated: Vec<String> = tokens
            .iter()
            .filter(|(_, c)| {
                tokens
                    .iter()
                    .filter(|(_, other)| other.crypto_id() == c.crypto_id())
                    .count()
                    > 1
            })
            .map(|(p, _)| p.clone())
            .collect();
        for (here, crypto) in &mut tokens {
            if duplicated.contains(here) {
                let digest = hex::encode(&Sha256::digest(here.as_bytes())[..4]);
                crypto.num = format!("{}-{digest}", crypto.num);
            }
        }
        let mut entries = Vec::new();
        for key in keys {
            let Ok(certificate) = Certificate::from_der(&key.certificate) else {
                continue;
            };
            let here = place(&key);
            let Some((_, crypto)) = tokens.iter().find(|(p, _)| *p == here) else {
                continue;
            };
            entries.push(Entry {
                crypto_id: crypto.crypto_id(),
                key_id: key_id(&key),
                key,
                certificate,
            });
        }
        let mut cryptos: Vec<Crypto> = tokens
            .into_iter()
            .map(|(_, c)| c)
            .filter(|c| entries.iter().any(|e| e.crypto_id == c.crypto_id()))
            .collect();
        // The card tier first (`podpis` sorts before `podpis-p11-…`), then by serial.
        cryptos.sort_by(|a, b| (&a.alias, &a.num).cmp(&(&b.alias, &b.num)));
        entries.sort_by(|a, b| (&a.crypto_id, &a.key_id).cmp(&(&b.crypto_id, &b.key_id)));
        Self { cryptos, entries }
    }

    pub fn crypto(&self, crypto_id: &str) -> Option<&Crypto> {
        self.cryptos.iter().find(|c| c.crypto_id() == crypto_id)
    }

    /// `cert_list` of a crypto object; `None` when no listed crypto has that id.
    pub fn cert_list(&self, crypto_id: &str) -> Option<Vec<Value>> {
        self.crypto(crypto_id)?;
        Some(
            self.entries
                .iter()
                .filter(|e| e.crypto_id == crypto_id)
                .map(|e| e.certificate.list_item(&e.key_id))
                .collect(),
        )
    }

    /// The key a containerId names. The cryptoId is everything before the last `/`, as the
    /// library derives it for PKCS#11: no listed crypto with it is
    /// [`IfcError::CryptoNotFound`]; no key (or, never expected, two) with the id after it is
    /// [`IfcError::ContainerNotFound`].
    pub fn find(&self, container_id: &str) -> Result<&Entry, IfcError> {
        let (crypto_id, key_id) = container_id
            .rsplit_once('/')
            .ok_or(IfcError::CryptoNotFound)?;
        self.crypto(crypto_id).ok_or(IfcError::CryptoNotFound)?;
        let mut found = self
            .entries
            .iter()
            .filter(|e| e.crypto_id == crypto_id && e.key_id == key_id);
        match (found.next(), found.next()) {
            (Some(entry), None) => Ok(entry),
            _ => Err(IfcError::ContainerNotFound),
        }
    }
}

/// The cryptoId the library derives from a containerId (ifc-protocol.md 5), for tests of the
/// mapping against the library's rule.
pub fn library_crypto_id(container_id: &str) -> &str {
    if container_id.is_empty() {
        return "";
    }
    let capi = ["CryptoPro", "VIPNet", "SignalCom", "LISSI-CSP"]
        .iter()
        .any(|s| container_id.contains(s));
    let cut = if capi {
        container_id.find('/')
    } else {
        container_id.rfind('/')
    };
    cut.map_or(container_id, |i| &container_id[..i])
}
