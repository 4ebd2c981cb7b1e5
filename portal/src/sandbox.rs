//! The sandbox portal inside another program (the desktop app): its database in a directory of
//! the program's, its test accounts seeded, the virtual card's test PKI trusted, on loopback. And
//! Debian's GOST engine loaded in-process, which the portal's verification needs.

use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::path::{Path, PathBuf};

use crate::{Config, Limits, Retention, Running, StartError};

// The engine's setup lives with the verification it serves; re-exported for the app.
pub use ::verify::engine::{gost_engine_config, prepare_gost_engine, GOST_ENGINE};

/// The sandbox's usual address, which the CLI also assumes (`client::SANDBOX_PORTAL`).
pub const ADDRESS: SocketAddr = SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::LOCALHOST, 8780));

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SandboxError {
    /// The test PKI has not been made (`podpis-vcard pki init`) or lives elsewhere.
    #[error("no test PKI in {}: root.pem is missing", .0.display())]
    NoTestPki(PathBuf),
    #[error("cannot create the sandbox directory {}: {source}", .path.display())]
    Directory {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot seed the sandbox's test accounts: {0}")]
    Seed(String),
    #[error(transparent)]
    Start(#[from] StartError),
}

/// Starts a sandbox portal with its database in `dir` (created when missing), its test accounts
/// seeded, trusting the test PKI in `pki` (root.pem, ca.pem and their CRLs crl.pem and
/// root-crl.pem, as `podpis-vcard pki init` makes them). It listens on [`ADDRESS`], or on any
/// free loopback port when that is taken.
pub async fn start(dir: &Path, pki: &Path) -> Result<Running, SandboxError> {
    if !pki.join("root.pem").exists() {
        return Err(SandboxError::NoTestPki(pki.to_path_buf()));
    }
    std::fs::create_dir_all(dir).map_err(|source| SandboxError::Directory {
        path: dir.to_path_buf(),
        source,
    })?;
    let database = dir.join("portal.db");
    // Seeded before it listens, so that no one can find the portal without its accounts.
    let db = crate::store::open(&database)
        .await
        .map_err(|e| StartError::Database(database.display().to_string(), e))?;
    let seeded = crate::seed::seed(&db).await;
    db.close().await;
    seeded.map_err(SandboxError::Seed)?;

    let config = |listen: SocketAddr| Config {
        listen,
        database: database.clone(),
        trust: vec![pki.join("root.pem"), pki.join("ca.pem")],
        crls: vec![pki.join("crl.pem"), pki.join("root-crl.pem")],
        origin: None,
        limits: Limits::default(),
        retention: Retention::default(),
    };
    match crate::start(config(ADDRESS)).await {
        Err(StartError::Listen(..)) => {
            let any_port = SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::LOCALHOST, 0));
            Ok(crate::start(config(any_port)).await?)
        }
        other => Ok(other?),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_its_test_pki_the_sandbox_does_not_start() {
        let dir = tempfile::tempdir().expect("tmp");
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let pki = dir.path().join("nowhere");
        let error = runtime
            .block_on(start(&dir.path().join("sandbox"), &pki))
            .expect_err("no PKI");
        assert!(matches!(&error, SandboxError::NoTestPki(p) if *p == pki));
        // Nothing was made on the way.
        assert!(!dir.path().join("sandbox").exists());
    }
}
