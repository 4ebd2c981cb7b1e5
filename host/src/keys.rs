//! Where the host's keys come from: the keys of both token tiers, listed as the CLI lists them
//! (`client::flow::candidate_keys` over the cards of the APDU drivers and a
//! `client::tokens::Pkcs11Tier` loaded as `podpis` loads it), behind a trait so that tests list
//! software keys instead.

use std::cell::OnceCell;
use std::path::PathBuf;
use std::rc::Rc;
use std::time::Duration;

use client::certificates::CertificateCache;
use client::flow::{self, CardChoice, FlowError};
use client::tokens::{FoundKey, Pkcs11Settings, Pkcs11Tier};
use signing::{CardError, TokenError};

use crate::ifc_error::IfcError;

/// The keys there are now. Every call reads the tokens again: a page lists, then signs seconds
/// or minutes later, and the token must be the one that is there then.
pub trait Keys {
    fn list(&mut self) -> Result<Vec<FoundKey>, IfcError>;
}

/// The real tokens: cards over PC/SC through the APDU drivers, and PKCS#11 modules.
pub struct TokenKeys {
    deadline: Duration,
    certificates: CertificateCache,
    tier: LazyTier,
}

/// The host's PKCS#11 tier, loaded on the first call that needs a key, not at start: the browser
/// starts a host for every page that has the content script, most of which never ask for a key,
/// and loading probes every module in a child process. Shared (cloned) by the keys and the
/// consent, whose signer signs through the same modules.
#[derive(Clone)]
pub struct LazyTier {
    cell: Rc<OnceCell<Pkcs11Tier>>,
    data_dir: PathBuf,
    deadline: Duration,
}

impl LazyTier {
    pub fn new(data_dir: PathBuf, deadline: Duration) -> Self {
        Self {
            cell: Rc::new(OnceCell::new()),
            data_dir,
            deadline,
        }
    }

    /// The tier, loaded now if it was not yet.
    pub fn get(&self) -> &Pkcs11Tier {
        self.cell.get_or_init(|| {
            Pkcs11Tier::load(
                &Pkcs11Settings::from_env(Vec::new()),
                &self.data_dir,
                self.deadline,
            )
        })
    }
}

impl TokenKeys {
    /// The keys as `podpis` finds them, with its data directory (`PODPIS_DATA_DIR` or the OS
    /// one) for the certificate cache and the probes of PKCS#11 modules, and the modules the
    /// system registers (unless `PODPIS_PKCS11_DISCOVERY=0`).
    pub fn new(data_dir: PathBuf, deadline: Duration) -> Self {
        Self {
            certificates: CertificateCache::in_data_dir(&data_dir),
            tier: LazyTier::new(data_dir, deadline),
            deadline,
        }
    }

    /// The PKCS#11 tier these keys are listed through, for the signer of a key of it.
    pub fn tier(&self) -> LazyTier {
        self.tier.clone()
    }
}

impl Keys for TokenKeys {
    fn list(&mut self) -> Result<Vec<FoundKey>, IfcError> {
        let tier = self.tier.get().clone();
        // A certificate named (the empty prefix, which every certificate has) makes
        // candidate_keys list every card and token rather than ask for the only one.
        let every = CardChoice {
            reader: None,
            certificate: Some(String::new()),
        };
        match flow::candidate_keys(&every, &self.certificates, self.deadline, &tier) {
            Ok(keys) => Ok(keys),
            // No PC/SC service: the PKCS#11 tokens that need none (SoftHSM, a vendor's USB
            // token with its own transport) are still there.
            Err(FlowError::Card(TokenError::Card(CardError::NoService))) => {
                let (keys, errors) = tier.keys();
                if keys.is_empty() && tier.modules.is_empty() {
                    return Err(IfcError::ScError);
                }
                if keys.is_empty() && !errors.is_empty() {
                    return Err(IfcError::P11Error);
                }
                Ok(keys)
            }
            Err(e) => Err(listing_error(&e)),
        }
    }
}

/// The IFCError of a failed listing: the smart-card subsystem for the card tier, the PKCS#11
/// error for a module's.
pub fn listing_error(e: &FlowError) -> IfcError {
    match e {
        FlowError::Card(TokenError::Pkcs11(_)) => IfcError::P11Error,
        FlowError::Card(_) | FlowError::NoCard => IfcError::ScError,
        _ => IfcError::ErrorUnknown,
    }
}

/// A fixed list of keys (tests, and the fuzz target: no token is touched).
#[derive(Debug, Clone, Default)]
pub struct FixedKeys(pub Vec<FoundKey>);

impl Keys for FixedKeys {
    fn list(&mut self) -> Result<Vec<FoundKey>, IfcError> {
        Ok(self.0.clone())
    }
}
