//! The outbox: each signed request is written to disk before it is sent, and stays there until
//! the portal has answered. A request whose answer was lost is sent again later with the same
//! bytes; the portal answers a repetition with its first answer, so nothing is lost and nothing
//! is applied twice.

use std::path::{Path, PathBuf};

use base64::Engine as _;
use protocol::Purpose;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::durable::{sync_directory_of, write_atomically};

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

    /// The requests waiting for an answer, oldest first. A file that cannot be read as a request
    /// does not hide the others: it is moved aside to `outbox/unreadable/` (never deleted: it
    /// may be the only copy of a signed request) and listed by [`Outbox::unreadable`].
    pub fn pending(&self) -> Result<Vec<OutboxItem>, String> {
        let mut items = Vec::new();
        let entries =
            std::fs::read_dir(&self.dir).map_err(|e| format!("{}: {e}", self.dir.display()))?;
        for entry in entries.flatten() {
            let path = entry.path();
            if path.extension().is_none_or(|e| e != "json") {
                continue;
            }
            let item = std::fs::read(&path)
                .map_err(|e| e.to_string())
                .and_then(|text| {
                    serde_json::from_slice::<OutboxItem>(&text).map_err(|e| e.to_string())
                });
            match item {
                Ok(item) => items.push(item),
                Err(_) => self.set_aside(&path)?,
            }
        }
        items.sort_by(|a, b| a.meta.created_at.cmp(&b.meta.created_at));
        Ok(items)
    }

    fn unreadable_dir(&self) -> PathBuf {
        self.dir.join("unreadable")
    }

    fn set_aside(&self, path: &Path) -> Result<(), String> {
        let aside = self.unreadable_dir();
        std::fs::create_dir_all(&aside).map_err(|e| format!("{}: {e}", aside.display()))?;
        let name = path.file_name().unwrap_or_default();
        let target = aside.join(name);
        std::fs::rename(path, &target).map_err(|e| format!("{}: {e}", path.display()))?;
        sync_directory_of(path).map_err(|e| e.to_string())
    }

    /// The files set aside because they could not be read as requests: for the user to look at
    /// (`podpis outbox`, diagnostics), never sent.
    pub fn unreadable(&self) -> Vec<PathBuf> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(self.unreadable_dir())
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.path())
            .collect();
        files.sort();
        files
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
            Ok(()) => sync_directory_of(&self.path(id)).map_err(|e| e.to_string()),
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

    #[test]
    fn an_unreadable_file_is_set_aside_and_hides_no_other_request() {
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
        let item = OutboxItem::new(meta, "{}", &[0x30, 0x00]);
        outbox.store(&item).expect("store");
        let broken = dir.path().join("outbox").join("0000.json");
        std::fs::write(&broken, b"{ half a requ").expect("write");
        assert_eq!(outbox.pending().expect("pending"), vec![item]);
        assert!(!broken.exists());
        let aside = outbox.unreadable();
        assert_eq!(aside.len(), 1);
        assert_eq!(std::fs::read(&aside[0]).expect("kept"), b"{ half a requ");
        // Set aside once, it no longer stands in the way.
        assert_eq!(outbox.pending().expect("pending").len(), 1);
    }
}
