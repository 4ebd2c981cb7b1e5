//! Certificates read from cards, kept on disk by their SHA-256 so that the next read of the same
//! card can skip the certificate file (docs/cards.md: a GOST token announces each certificate's
//! digest in its key directory).
//!
//! The cache is keyed by the digest and not by the card's serial alone: a token keeps its serial
//! when its key and certificate are re-issued, and a cache by serial would then hand out the old
//! certificate. The driver takes a cached certificate only if its bytes hash to the digest the
//! card announces, so a damaged or planted file here is ignored, never used.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use sha2::{Digest, Sha256};
use signing::drivers::TokenContents;
use signing::token::Reader;
use signing::{CardKind, KnownCertificates, TokenError};

/// At most this many certificates are kept; the least recently used go first. A person has a
/// handful of cards, and the app also reads cards of other people put in the reader.
const CAPACITY: usize = 32;

#[derive(Debug, Clone)]
pub struct CertificateCache {
    dir: PathBuf,
}

impl CertificateCache {
    /// The cache of the data directory (`<data>/cache/certificates`).
    pub fn in_data_dir(data_dir: &Path) -> Self {
        Self {
            dir: data_dir.join("cache").join("certificates"),
        }
    }

    fn path(&self, sha256: &[u8]) -> PathBuf {
        self.dir.join(format!("{}.der", hex::encode(sha256)))
    }

    /// Reads the card in `reader`, taking the certificates this cache holds instead of reading
    /// their files again, and keeps the ones it had to read. (Blocks: the card is talked to.)
    pub fn read_card(&self, reader: &Reader) -> Result<(CardKind, TokenContents), TokenError> {
        let (kind, contents) = reader.read_knowing(Arc::new(self.clone()))?;
        // The cache only saves the next read some time: a full disk must not stop the work.
        let _ = self.remember(&contents);
        Ok((kind, contents))
    }

    /// Keeps the certificates of a card just read. (A cache that cannot be written costs only
    /// speed: callers may go on after an error.)
    pub fn remember(&self, contents: &TokenContents) -> std::io::Result<()> {
        let mut written = false;
        for key in &contents.keys {
            let path = self.path(&Sha256::digest(&key.certificate));
            if !path.exists() {
                std::fs::create_dir_all(&self.dir)?;
                crate::durable::write_atomically(&path, &key.certificate)?;
                written = true;
            }
        }
        // Every card read passes here (the app reads each card it sees): the directory is
        // listed only when it has grown.
        if written {
            self.prune()?;
        }
        Ok(())
    }

    /// Removes the least recently used certificates beyond the capacity.
    fn prune(&self) -> std::io::Result<()> {
        let mut entries: Vec<_> = std::fs::read_dir(&self.dir)?
            .flatten()
            .filter(|e| e.path().extension().is_some_and(|x| x == "der"))
            .filter_map(|e| Some((e.metadata().ok()?.modified().ok()?, e.path())))
            .collect();
        if entries.len() <= CAPACITY {
            return Ok(());
        }
        entries.sort();
        for (_, path) in &entries[..entries.len() - CAPACITY] {
            std::fs::remove_file(path)?;
        }
        Ok(())
    }

    /// How many certificates the cache holds.
    pub fn len(&self) -> usize {
        std::fs::read_dir(&self.dir)
            .map(|d| {
                d.flatten()
                    .filter(|e| e.path().extension().is_some_and(|x| x == "der"))
                    .count()
            })
            .unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl KnownCertificates for CertificateCache {
    fn find(&self, sha256: &[u8; 32]) -> Option<Vec<u8>> {
        let path = self.path(sha256);
        let bytes = std::fs::read(&path).ok()?;
        // Touch it: the pruning keeps the recently used ones.
        if let Ok(file) = std::fs::File::options().append(true).open(&path) {
            let _ = file.set_modified(std::time::SystemTime::now());
        }
        Some(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use signing::drivers::CardKey;
    use signing::{KeyAlgorithm, PinStatus};

    fn contents(certificates: &[&[u8]]) -> TokenContents {
        TokenContents {
            serial: "0001".into(),
            label: None,
            pin: PinStatus {
                tries_left: 3,
                max_tries: 3,
            },
            keys: certificates
                .iter()
                .enumerate()
                .map(|(i, c)| CardKey {
                    reference: i as u8 + 1,
                    algorithm: KeyAlgorithm::Gost2012_256,
                    label: None,
                    certificate: c.to_vec(),
                })
                .collect(),
        }
    }

    #[test]
    fn a_remembered_certificate_is_found_by_its_digest_and_only_by_it() {
        let dir = tempfile::tempdir().expect("dir");
        let cache = CertificateCache::in_data_dir(dir.path());
        assert!(cache.is_empty());
        cache
            .remember(&contents(&[b"first certificate", b"second"]))
            .expect("written");
        assert_eq!(cache.len(), 2);
        let digest: [u8; 32] = Sha256::digest(b"first certificate").into();
        assert_eq!(
            cache.find(&digest).as_deref(),
            Some(&b"first certificate"[..])
        );
        let other: [u8; 32] = Sha256::digest(b"never seen").into();
        assert_eq!(cache.find(&other), None);
    }

    #[test]
    fn the_cache_keeps_at_most_its_capacity() {
        let dir = tempfile::tempdir().expect("dir");
        let cache = CertificateCache::in_data_dir(dir.path());
        for i in 0..CAPACITY + 5 {
            cache
                .remember(&contents(&[format!("certificate {i}").as_bytes()]))
                .expect("written");
        }
        assert_eq!(cache.len(), CAPACITY);
    }
}
