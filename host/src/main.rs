//! `podpis-host`: started by the browser for Podpis's extension (one process per page that has
//! the content script), serving the page protocol on stdin and stdout until the browser closes
//! the stream. See the library's documentation and docs/host.md.

use std::process::ExitCode;

use client::messages::{phrase, Phrase};
use host::consent::InApp;
use host::keys::TokenKeys;
use host::{Ended, Host};

fn main() -> ExitCode {
    // A PKCS#11 module is probed in a child process of this program first: in that child, this
    // call loads the module, reports and exits.
    signing::pkcs11::probe::serve_if_asked();
    // The browser names the caller in the arguments; only Podpis's own extension is served, and
    // nothing is read from the stream for anyone else.
    let args: Vec<std::ffi::OsString> = std::env::args_os().skip(1).collect();
    if let Err(refused) = host::caller::check(&args) {
        let language = std::env::var("PODPIS_LANG")
            .ok()
            .and_then(|l| l.parse().ok())
            .unwrap_or_default();
        let words = match &refused {
            host::caller::CallerError::NotFromBrowser => Phrase::HostNotFromBrowser,
            host::caller::CallerError::Foreign(caller) => Phrase::HostForeignCaller { caller },
        };
        eprintln!("podpis-host: {}", phrase(words, language));
        return ExitCode::from(refused.exit_code());
    }
    let data_dir = client::default_data_dir();
    let deadline = signing::token::Reader::DEFAULT_DEADLINE;
    let keys = TokenKeys::new(data_dir.clone(), deadline);
    // Every listing to a new origin and every signature is asked in Podpis's window.
    let consent = InApp::new(data_dir, keys.tier(), deadline);
    let mut host = Host::new(keys, consent);
    let stdin = std::io::stdin();
    let stdout = std::io::stdout();
    match host::serve(&mut host, &mut stdin.lock(), &mut stdout.lock()) {
        Ok(Ended::Closed) => ExitCode::SUCCESS,
        Ok(Ended::Truncated) => {
            eprintln!("podpis-host: the stream ended inside a message");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("podpis-host: {e}");
            ExitCode::FAILURE
        }
    }
}
