//! How a portal is started: a plain struct, so the desktop app can start one in sandbox mode
//! without a command line.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct Config {
    pub listen: SocketAddr,
    pub database: PathBuf,
    /// PEM files of trusted roots and of the accredited CAs under them.
    pub trust: Vec<PathBuf>,
    /// PEM CRLs; with any, every certificate of a chain is checked against its CA's CRL, so each
    /// trusted certificate's own CRL must be among them (the portal does not start otherwise).
    pub crls: Vec<PathBuf>,
    /// The origin documents must name; defaults to `http://<listen>`.
    pub origin: Option<String>,
    pub limits: Limits,
    pub retention: Retention,
}

#[derive(Debug, Clone)]
pub struct Limits {
    /// Largest request body: a signed request is a few KiB.
    pub max_body: usize,
    pub session_ttl: Duration,
    pub challenge_ttl: Duration,
    /// Logins per minute, per login name and per remote address.
    pub logins_per_minute: u32,
    /// Challenges per minute per account (and six times as many per remote address).
    pub challenges_per_minute: u32,
    /// Confirmation requests per minute per account.
    pub confirmations_per_minute: u32,
    /// How long one OCSP responder may take to answer.
    pub ocsp_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_body: 64 * 1024,
            session_ttl: Duration::from_secs(3600),
            challenge_ttl: Duration::from_secs(300),
            logins_per_minute: 10,
            challenges_per_minute: 30,
            confirmations_per_minute: 30,
            ocsp_timeout: Duration::from_secs(5),
        }
    }
}

/// How long what the portal stores is kept, and how often the old is swept away.
#[derive(Debug, Clone)]
pub struct Retention {
    /// How long an expired challenge is kept, so that a request signed for it is still told
    /// `nonce-expired` rather than `nonce-unknown`. (A used one stays as long as the request
    /// that used it.)
    pub expired_challenges: Duration,
    /// How long the audit trail is kept.
    pub audit: Duration,
    /// How often expired challenges and sessions and old audit rows are deleted.
    pub sweep_interval: Duration,
}

impl Default for Retention {
    fn default() -> Self {
        Self {
            expired_challenges: Duration::from_secs(3600),
            audit: Duration::from_secs(90 * 86_400),
            sweep_interval: Duration::from_secs(60),
        }
    }
}

impl Config {
    pub fn origin(&self) -> String {
        self.origin
            .clone()
            .unwrap_or_else(|| format!("http://{}", self.listen))
    }
}
