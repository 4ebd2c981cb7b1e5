//! `podpis-host`: started by the browser for Podpis's extension (one process per page that has
//! the content script), serving the page protocol on stdin and stdout until the browser closes
//! the stream. See the library's documentation and docs/host.md.

use std::process::ExitCode;

use host::consent::InApp;
use host::keys::TokenKeys;
use host::{Ended, Host};

fn main() -> ExitCode {
    // A PKCS#11 module is probed in a child process of this program first: in that child, this
    // call loads the module, reports and exits.
    signing::pkcs11::probe::serve_if_asked();
    // The browser passes the caller (the extension's origin, or the Firefox manifest and add-on
    // id) as arguments; checking them against Podpis's own extension comes with the extension.
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
