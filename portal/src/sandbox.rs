//! The sandbox portal inside another program (the desktop app): its database in a directory of
//! the program's, its test accounts seeded, the virtual card's test PKI trusted, on loopback. And
//! Debian's GOST engine loaded in-process, which the portal's verification needs.

use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::path::{Path, PathBuf};

use crate::{Config, Limits, Retention, Running, StartError};

/// Where Debian's OpenSSL 3 GOST engine lives (package `libengine-gost-openssl`).
pub const GOST_ENGINE: &str = "/usr/lib/x86_64-linux-gnu/engines-3/gost.so";

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

/// The OpenSSL configuration that loads the GOST engine at `engine` for every algorithm.
pub fn gost_engine_config(engine: &Path) -> String {
    format!(
        "openssl_conf = openssl_init\n[openssl_init]\nengines = engine_section\n[engine_section]\ngost = gost_section\n\
         [gost_section]\nengine_id = gost\ndynamic_path = {}\ndefault_algorithms = ALL\n",
        engine.display()
    )
}

/// OpenSSL loads engines from the configuration named by OPENSSL_CONF when it initialises, once.
/// So call this first thing in `main`: before anything touches OpenSSL, and before any thread
/// exists (changing the environment races with threads reading it). It writes the configuration
/// into `data_dir` and points OPENSSL_CONF at it, unless OPENSSL_CONF is set already or the
/// engine is not installed; then the sandbox will report that the engine is missing.
pub fn prepare_gost_engine(data_dir: &Path) {
    if std::env::var_os("OPENSSL_CONF").is_some() || !Path::new(GOST_ENGINE).exists() {
        return;
    }
    let path = data_dir.join("openssl-gost.cnf");
    let config = gost_engine_config(Path::new(GOST_ENGINE));
    if std::fs::create_dir_all(data_dir).is_ok() && std::fs::write(&path, config).is_ok() {
        std::env::set_var("OPENSSL_CONF", &path);
    }
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
    fn the_engine_configuration_names_the_engine_for_all_algorithms() {
        let config = gost_engine_config(Path::new("/opt/engines/gost.so"));
        assert!(config.starts_with("openssl_conf = openssl_init\n"));
        assert!(config.contains("\nengine_id = gost\n"));
        assert!(config.contains("\ndynamic_path = /opt/engines/gost.so\n"));
        assert!(config.contains("\ndefault_algorithms = ALL\n"));
    }

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
