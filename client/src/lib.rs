//! The confirmation protocol client and the flow that drives a confirmation, used alike by the
//! `podpis` command-line tool and the desktop app.
//!
//! - [`portal`]: the HTTP client of docs/protocol.md, with typed errors for every code;
//! - [`certificates`]: certificates read from cards, kept by digest so a card is read faster;
//! - [`session`]: the access token in the OS keyring, never in a file;
//! - [`outbox`]: each signed request on disk before it is sent, until the portal has answered;
//! - [`flow`]: the steps of a confirmation, reported as events;
//! - [`batch`]: files signed one or many at a time with one PIN (the CLI's `sign`, the app's Sign screen);
//! - [`browser`]: the browsers' host manifests that let Podpis's extension start `podpis-host`;
//! - [`messages`]: the one table of words (Russian and English) for every error and finding;
//! - [`bridge`]: the local channel through which `podpis-host` asks the person in the app.

pub mod batch;
pub mod bridge;
pub mod browser;
pub mod certificates;
pub mod diagnose;
pub mod durable;
pub mod flow;
pub mod keystore;
pub mod known_tokens;
pub mod messages;
pub mod outbox;
pub mod pin;
pub mod portal;
pub mod remembered;
pub mod session;
pub mod tokens;

pub use messages::Language;

/// Where the app keeps its files: `PODPIS_DATA_DIR`, or the OS data directory.
pub fn default_data_dir() -> std::path::PathBuf {
    if let Some(dir) = std::env::var_os("PODPIS_DATA_DIR") {
        return dir.into();
    }
    dirs::data_dir()
        .unwrap_or_else(std::env::temp_dir)
        .join("podpis")
}

/// The sandbox portal is the default until a portal address is set.
pub const SANDBOX_PORTAL: &str = "http://127.0.0.1:8780";
