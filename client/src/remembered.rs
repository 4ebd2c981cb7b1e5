//! The certificate the person chose last, by its SHA-256: with several cards or certificates, it
//! is taken again next time unless another is named (`--cert`, a click). Only a digest is kept: a
//! certificate is public, and nothing else about the person is written.

use std::path::{Path, PathBuf};

#[derive(Debug, Clone)]
pub struct RememberedChoice {
    file: PathBuf,
}

impl RememberedChoice {
    pub fn in_data_dir(data_dir: &Path) -> Self {
        Self {
            file: data_dir.join("last-certificate"),
        }
    }

    /// The digest chosen last, if one was kept and reads as a SHA-256 in hex.
    pub fn certificate(&self) -> Option<String> {
        let text = std::fs::read_to_string(&self.file).ok()?;
        let digest = text.trim();
        (digest.len() == 64 && digest.bytes().all(|b| b.is_ascii_hexdigit()))
            .then(|| digest.to_ascii_lowercase())
    }

    /// Keeps `sha256` as the last choice. Remembering is a convenience: a failure to write is
    /// no error of the signature it follows.
    pub fn remember(&self, sha256: &str) {
        if let Some(dir) = self.file.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        let _ = crate::durable::write_atomically(&self.file, sha256.as_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_choice_is_kept_and_nonsense_is_ignored() {
        let dir = tempfile::tempdir().expect("tmp");
        let memory = RememberedChoice::in_data_dir(dir.path());
        assert_eq!(memory.certificate(), None);
        let digest = "AB".repeat(32);
        memory.remember(&digest);
        assert_eq!(memory.certificate(), Some("ab".repeat(32)));
        std::fs::write(dir.path().join("last-certificate"), "not a digest").expect("write");
        assert_eq!(memory.certificate(), None);
    }
}
