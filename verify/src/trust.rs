//! What a verification trusts: the system's roots, the roots a person added (`--trust`, the
//! app's settings), and the sandbox's test PKI only when asked for. Every root keeps where it
//! came from, so that a report can say which roots it trusted.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use openssl::ssl::SslFiletype;
use openssl::x509::store::{X509Lookup, X509Store, X509StoreBuilder};
use openssl::x509::verify::X509VerifyParam;
use openssl::x509::{X509Crl, X509NameRef, X509VerifyResult, X509};
use serde::Serialize;
use sha2::{Digest, Sha256};

/// Where the system keeps its roots (Debian and Ubuntu, Fedora and RHEL, openSUSE, Alpine):
/// the first that exists is read, unless SSL_CERT_FILE names another.
const SYSTEM_BUNDLES: &[&str] = &[
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/ssl/ca-bundle.pem",
    "/etc/ssl/cert.pem",
];

/// Where Debian (and most systems) keep the roots by subject hash (`<hash>.0` links).
const SYSTEM_HASHED_DIR: &str = "/etc/ssl/certs";

/// Whether `dir` holds OpenSSL's `<8 hex digits>.<n>` links.
fn has_hash_links(dir: &Path) -> bool {
    std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .any(|e| {
            let name = e.file_name();
            let name = name.to_string_lossy();
            name.len() == 10
                && name.as_bytes()[8] == b'.'
                && name[..8].bytes().all(|b| b.is_ascii_hexdigit())
        })
}

/// A file of certificates or CRLs larger than this is not one a person chose for this.
const MAX_FILE: u64 = 16 * 1024 * 1024;

/// Where a trusted certificate came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", content = "path", rename_all = "kebab-case")]
pub enum Source {
    /// The system's store (the bundle file).
    System(PathBuf),
    /// A file the person named (`--trust`, or the app's settings).
    User(PathBuf),
    /// The sandbox's test PKI (sandbox mode only).
    Sandbox(PathBuf),
}

/// One certificate a verification trusts (a root), or may build chains with (an intermediate
/// given beside the roots: it is used, never trusted by itself).
#[derive(Debug, Clone)]
pub struct Anchor {
    pub certificate: X509,
    pub source: Source,
    pub subject: String,
    pub sha256: String,
}

/// What a report says of the roots it trusted: the system store by its file and count (it holds
/// a hundred or more), the others one by one.
#[derive(Debug, Clone, Serialize)]
pub struct TrustSummary {
    pub system: Option<SystemStore>,
    pub roots: Vec<AnchorView>,
    pub intermediates: Vec<AnchorView>,
    /// The CRL files given (`--crl`, or the sandbox's).
    pub crls: Vec<PathBuf>,
}

#[derive(Debug, Clone, Serialize)]
pub struct SystemStore {
    pub path: PathBuf,
    pub roots: usize,
    /// The directory of the same roots by subject hash, which OpenSSL reads from on demand.
    #[serde(skip)]
    hashed_dir: Option<PathBuf>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AnchorView {
    pub subject: String,
    pub sha256: String,
    pub source: Source,
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TrustError {
    #[error("{}: {source}", .path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{} is too large to be a certificate or CRL file", .0.display())]
    TooLarge(PathBuf),
    #[error("{} holds no certificate (PEM or DER): {reason}", .path.display())]
    NotCertificates { path: PathBuf, reason: String },
    #[error("{} holds no CRL (PEM or DER): {reason}", .path.display())]
    NotCrl { path: PathBuf, reason: String },
    #[error("the sandbox's test PKI is not in {}: root.pem is missing", .0.display())]
    NoSandboxPki(PathBuf),
    #[error("OpenSSL: {0}")]
    OpenSsl(#[from] openssl::error::ErrorStack),
}

/// The roots, intermediates and CRLs of one verification.
#[derive(Clone, Default)]
pub struct Trust {
    pub(crate) roots: Vec<Anchor>,
    pub(crate) intermediates: Vec<Anchor>,
    pub(crate) crls: Vec<(Arc<X509Crl>, PathBuf)>,
    system: Option<SystemStore>,
}

impl Trust {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds the system's roots (none, and no error, when the system has no bundle). Where the
    /// system keeps them hashed by subject too (/etc/ssl/certs, SSL_CERT_DIR), OpenSSL reads only
    /// the ones a chain asks for: parsing the whole bundle cost `podpis verify` some 25 ms of
    /// its 35 (BENCHMARKS.md). The bundle is then only counted, for the report.
    pub fn add_system(&mut self) -> Result<(), TrustError> {
        let named = std::env::var_os("SSL_CERT_FILE").map(PathBuf::from);
        let Some(path) = named
            .into_iter()
            .chain(SYSTEM_BUNDLES.iter().map(PathBuf::from))
            .find(|p| p.is_file())
        else {
            return Ok(());
        };
        let hashed = std::env::var_os("SSL_CERT_DIR")
            .map(PathBuf::from)
            .or_else(|| Some(PathBuf::from(SYSTEM_HASHED_DIR)))
            .filter(|dir| has_hash_links(dir));
        if let Some(dir) = hashed {
            let text = read_bounded(&path)?;
            let roots = text
                .windows(27)
                .filter(|w| w == b"-----BEGIN CERTIFICATE-----")
                .count();
            self.system = Some(SystemStore {
                path,
                roots,
                hashed_dir: Some(dir),
            });
            return Ok(());
        }
        let before = self.roots.len();
        self.add_file(&path, Source::System(path.clone()))?;
        self.system = Some(SystemStore {
            roots: self.roots.len() - before,
            path,
            hashed_dir: None,
        });
        Ok(())
    }

    /// Adds the certificates of a file (PEM with one or more, or one DER): self-signed ones as
    /// roots, the others as intermediates for building chains. Returns how many it read.
    pub fn add_file(&mut self, path: &Path, source: Source) -> Result<usize, TrustError> {
        let bytes = read_bounded(path)?;
        let certificates = if bytes.starts_with(b"\x30") {
            vec![
                X509::from_der(&bytes).map_err(|e| TrustError::NotCertificates {
                    path: path.to_path_buf(),
                    reason: e.to_string(),
                })?,
            ]
        } else {
            X509::stack_from_pem(&bytes).map_err(|e| TrustError::NotCertificates {
                path: path.to_path_buf(),
                reason: e.to_string(),
            })?
        };
        if certificates.is_empty() {
            return Err(TrustError::NotCertificates {
                path: path.to_path_buf(),
                reason: "empty".into(),
            });
        }
        let count = certificates.len();
        for certificate in certificates {
            self.add(certificate, source.clone())?;
        }
        Ok(count)
    }

    /// Adds one certificate: a root when it is self-issued, else an intermediate.
    pub fn add(&mut self, certificate: X509, source: Source) -> Result<(), TrustError> {
        let anchor = Anchor {
            subject: name_text(certificate.subject_name()),
            sha256: hex::encode(Sha256::digest(certificate.to_der()?)),
            certificate,
            source,
        };
        let list = if anchor.certificate.issued(&anchor.certificate) == X509VerifyResult::OK {
            &mut self.roots
        } else {
            &mut self.intermediates
        };
        if !list.iter().any(|a| a.sha256 == anchor.sha256) {
            list.push(anchor);
        }
        Ok(())
    }

    /// Adds a CRL file (PEM or DER) to check certificates against.
    pub fn add_crl_file(&mut self, path: &Path) -> Result<(), TrustError> {
        let bytes = read_bounded(path)?;
        let crl = if bytes.starts_with(b"\x30") {
            X509Crl::from_der(&bytes)
        } else {
            X509Crl::from_pem(&bytes)
        }
        .map_err(|e| TrustError::NotCrl {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
        self.crls.push((Arc::new(crl), path.to_path_buf()));
        Ok(())
    }

    /// Sandbox mode: the test PKI in `dir` as `podpis-vcard pki init` makes it (root.pem
    /// trusted, ca.pem to build chains with, crl.pem and root-crl.pem).
    pub fn add_sandbox(&mut self, dir: &Path) -> Result<(), TrustError> {
        let root = dir.join("root.pem");
        if !root.is_file() {
            return Err(TrustError::NoSandboxPki(dir.to_path_buf()));
        }
        for name in ["root.pem", "ca.pem"] {
            let path = dir.join(name);
            if path.is_file() {
                self.add_file(&path, Source::Sandbox(path.clone()))?;
            }
        }
        for name in ["crl.pem", "root-crl.pem"] {
            let path = dir.join(name);
            if path.is_file() {
                self.add_crl_file(&path)?;
            }
        }
        Ok(())
    }

    pub fn summary(&self) -> TrustSummary {
        let view = |a: &Anchor| AnchorView {
            subject: a.subject.clone(),
            sha256: a.sha256.clone(),
            source: a.source.clone(),
        };
        TrustSummary {
            system: self.system.clone(),
            roots: self
                .roots
                .iter()
                .filter(|a| !matches!(a.source, Source::System(_)))
                .map(view)
                .collect(),
            intermediates: self.intermediates.iter().map(view).collect(),
            crls: self.crls.iter().map(|(_, p)| p.clone()).collect(),
        }
    }

    /// Where the root a chain ended in came from: a root given by file, else (self-signed, in
    /// a chain OpenSSL built) the system store read on demand.
    pub(crate) fn root_source(&self, certificate: &X509) -> Option<Source> {
        let der = certificate.to_der().ok()?;
        let sha = hex::encode(Sha256::digest(der));
        if let Some(anchor) = self.roots.iter().find(|a| a.sha256 == sha) {
            return Some(anchor.source.clone());
        }
        let system = self.system.as_ref().filter(|s| s.hashed_dir.is_some())?;
        (certificate.issued(certificate) == X509VerifyResult::OK)
            .then(|| Source::System(system.path.clone()))
    }

    /// A store of the roots and intermediates (an intermediate in a store is a step to a root,
    /// not a root: without PARTIAL_CHAIN a chain must still end in a self-signed root), as of
    /// `time` when given.
    pub(crate) fn store(&self, time: Option<i64>) -> Result<X509Store, TrustError> {
        let mut builder = X509StoreBuilder::new()?;
        for anchor in self.roots.iter().chain(&self.intermediates) {
            builder.add_cert(anchor.certificate.clone())?;
        }
        if let Some(dir) = self.system.as_ref().and_then(|s| s.hashed_dir.as_ref()) {
            builder
                .add_lookup(X509Lookup::hash_dir())?
                .add_dir(&dir.to_string_lossy(), SslFiletype::PEM)?;
        }
        if let Some(time) = time {
            let mut param = X509VerifyParam::new()?;
            param.set_time(time);
            builder.set_param(&param)?;
        }
        Ok(builder.build())
    }
}

fn read_bounded(path: &Path) -> Result<Vec<u8>, TrustError> {
    let io = |source| TrustError::Io {
        path: path.to_path_buf(),
        source,
    };
    let size = std::fs::metadata(path).map_err(io)?.len();
    if size > MAX_FILE {
        return Err(TrustError::TooLarge(path.to_path_buf()));
    }
    std::fs::read(path).map_err(io)
}

/// A name as OpenSSL prints it in one line.
pub fn name_text(name: &X509NameRef) -> String {
    name.entries()
        .map(|entry| {
            let field = entry.object().nid().short_name().unwrap_or("?");
            let value = entry.data().to_string().unwrap_or_default();
            format!("{field}={value}")
        })
        .collect::<Vec<_>>()
        .join(", ")
}
