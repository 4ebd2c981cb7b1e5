//! The Podpis virtual smart card: the GOST token, UEC and PIV applications of docs/cards.md, their
//! state between power cycles, the test PKI that issues their certificates, and the vpcd
//! connection that puts them in pcscd's virtual reader. `podpis-vcard` is a thin command line over
//! this library; the end-to-end tests also drive the applets in-process, through an adapter of
//! their own, so that drivers meet the card without pcscd.
//!
//! The card is written from docs/cards.md and does not use `signing`: where the two meet, a
//! misreading of the document on one side fails a test instead of being shared.
//!
//! Key operations go through OpenSSL with the GOST engine, which OpenSSL loads from the
//! configuration named by `OPENSSL_CONF` when it initialises (config/openssl-gost.cnf in the
//! repository). A process using this library must therefore have `OPENSSL_CONF` set before its
//! first OpenSSL call: set it on the process from outside, never from within.

pub mod apdu;
pub mod applet;
pub mod gost_token;
pub mod piv;
pub mod pki;
pub mod state;
pub mod uec;
pub mod vpcd;

pub use applet::Applet;
pub use testdata::{self, Application, Profile};

use std::path::Path;

use pki::{Pki, PkiError};
use state::{CardState, StateError};

/// The application of `profile` over the card state `state`.
pub fn applet(profile: &Profile, state: CardState) -> Box<dyn Applet> {
    match profile.application {
        Application::GostToken => Box::new(gost_token::GostTokenApplet::new(
            state,
            profile.label.clone().unwrap_or_default(),
        )),
        Application::Uec => Box::new(uec::UecApplet::new(state, &profile.person)),
        Application::Piv => Box::new(piv::PivApplet::new(state)),
    }
}

/// A card of `profile`: opens the test PKI in `pki_dir` (creating it when missing) and the card's
/// state in `state_dir` (creating its key and certificate when missing).
pub fn open(profile: &Profile, pki_dir: &Path, state_dir: &Path) -> Result<CardState, OpenError> {
    let pki = Pki::open(pki_dir)?;
    Ok(CardState::open_or_create(state_dir, profile, &pki)?)
}

#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error(transparent)]
    Pki(#[from] PkiError),
    #[error(transparent)]
    State(#[from] StateError),
}

/// `inner` behind another ATR: a card that answers to reset as `atr` says (a vendor token's,
/// say) and to every APDU as `inner` does (`podpis-vcard --atr`).
pub struct WithAtr {
    inner: Box<dyn Applet>,
    atr: Vec<u8>,
}

impl WithAtr {
    pub fn new(inner: Box<dyn Applet>, atr: Vec<u8>) -> Self {
        Self { inner, atr }
    }
}

impl Applet for WithAtr {
    fn atr(&self) -> Vec<u8> {
        self.atr.clone()
    }

    fn reset(&mut self) {
        self.inner.reset();
    }

    fn process(&mut self, apdu: &[u8]) -> Vec<u8> {
        self.inner.process(apdu)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_persons_file_has_every_profile_the_docs_promise() {
        // docs/cards.md, "The virtual card": the table of profiles.
        let names: Vec<_> = testdata::profiles().iter().map(|p| &p.name).collect();
        for expected in [
            "entrepreneur",
            "legal-entity",
            "legal-entity-without-snils",
            "expired",
            "untrusted-ca",
            "blocked-pin",
            "uec",
            "piv",
        ] {
            assert!(names.iter().any(|n| *n == expected), "{expected} missing");
        }
    }
}
