//! The outbox: each signed request is written to disk before it is sent, and stays there until
//! the portal has answered. A request whose answer was lost is sent again later with the same
//! bytes; the portal answers a repetition with its first answer, so nothing is lost and nothing
//! is applied twice.

use std::path::{Path, PathBuf};

use base64::Engine as _;
use protocol::Purpose;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::session::write_atomically;

/// What a stored request is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestMeta {
    pub portal: String,
    pub account: String,
    pub purpose: Purpose,
    pub nonce: String,
    pub expires_at: String,
    pub created_at: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxItem {
    /// SHA-256 of the CMS, hex: the same request is the same item.
    pub id: String,
    #[serde(flatten)]
    pub meta: RequestMeta,
    /// The signed document, for people to read.
    pub document: String,
    cms: String,
}

impl OutboxItem {
    pub fn new(meta: RequestMeta, document: &str, cms: &[u8]) -> Self {
        Self {
            id: hex::encode(Sha256::digest(cms)),
            meta,
            document: document.to_owned(),
            cms: base64::engine::general_purpose::STANDARD.encode(cms),
        }
    }

    pub fn cms(&self) -> Result<Vec<u8>, String> {
        base64::engine::general_purpose::STANDARD
            .decode(&self.cms)
            .map_err(|e| e.to_string())
    }
}

pub struct Outbox {
    dir: PathBuf,
}

impl Outbox {
    pub fn open(data_dir: &Path) -> Result<Self, String> {
        let dir = data_dir.join("outbox");
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        Ok(Self { dir })
    }

    fn path(&self, id: &str) -> PathBuf {
        self.dir.join(format!("{id}.json"))
    }

    /// Stores a request durably (fsync) before it is sent.
    pub fn store(&self, item: &OutboxItem) -> Result<(), String> {
        let text = serde_json::to_vec_pretty(item).map_err(|e| e.to_string())?;
        write_atomically(&self.path(&item.id), &text)
            .map_err(|e| format!("cannot store the request: {e}"))
    }

    /// The requests waiting for an answer, oldest first. Unreadable files are reported, not lost.
    pub fn pending(&self) -> Result<Vec<OutboxItem>, String> {
        let mut items = Vec::new();
        let entries =
            std::fs::read_dir(&self.dir).map_err(|e| format!("{}: {e}", self.dir.display()))?;
        for entry in entries.flatten() {
            let path = entry.path();
            if path.extension().is_some_and(|e| e == "json") {
                let text = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
                let item: OutboxItem = serde_json::from_slice(&text)
                    .map_err(|e| format!("{}: {e}", path.display()))?;
                items.push(item);
            }
        }
        items.sort_by(|a, b| a.meta.created_at.cmp(&b.meta.created_at));
        Ok(items)
    }

    /// The requests of one account on one portal: the only ones that portal can be asked about
    /// with that account's session.
    pub fn pending_for(&self, portal: &str, account: &str) -> Result<Vec<OutboxItem>, String> {
        let mut items = self.pending()?;
        items.retain(|i| i.meta.portal == portal && i.meta.account == account);
        Ok(items)
    }

    /// Removes a request once the portal has answered it.
    pub fn remove(&self, id: &str) -> Result<(), String> {
        match std::fs::remove_file(self.path(id)) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_requests_come_back_byte_for_byte_until_removed() {
        let dir = tempfile::tempdir().expect("tmp");
        let outbox = Outbox::open(dir.path()).expect("open");
        let meta = RequestMeta {
            portal: "http://127.0.0.1:1".into(),
            account: "acc".into(),
            purpose: Purpose::ConfirmIdentity,
            nonce: "n".into(),
            expires_at: "2026-01-01T00:00:00Z".into(),
            created_at: "2026-01-01T00:00:00Z".into(),
        };
        let item = OutboxItem::new(meta, "{}", &[0x30, 0x82, 1, 2]);
        outbox.store(&item).expect("store");
        outbox.store(&item).expect("storing twice is one item");
        let pending = outbox.pending().expect("pending");
        assert_eq!(pending, vec![item.clone()]);
        assert_eq!(pending[0].cms().expect("cms"), vec![0x30, 0x82, 1, 2]);
        outbox.remove(&item.id).expect("remove");
        assert!(outbox.pending().expect("pending").is_empty());
        outbox.remove(&item.id).expect("removing twice is fine");
    }
}
