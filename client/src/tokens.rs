//! Every place a key can be: a card over PC/SC that one of `signing`'s APDU drivers knows, or a
//! token behind a PKCS#11 module (a vendor's: Rutoken, JaCarta…, OpenSC's for PIV cards, SoftHSM).
//! The flow chooses among the keys of both tiers alike; this module lists them, says where each
//! one is, and has the right tier sign.
//!
//! PKCS#11 modules are foreign code. Each is probed once in a child process
//! (`signing::pkcs11::probe`) before this process loads it, and the verdict is remembered in the
//! data directory by the module file's size and modification time, so a module that crashed once
//! is not loaded into Podpis until the file changes.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use signing::cades::Prepared as CadesPrepared;
use signing::drivers::KeyAlgorithm;
use signing::pkcs11::probe::{self, ProbeReport};
use signing::pkcs11::{self, Module, ToSign, TokenId};
use signing::token::{self, Reader};
use signing::{CardKind, LastTry, Pin, PinCondition, PinStatus, TokenError};

use crate::certificates::CertificateCache;

/// Where a key is, and how it is named there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    /// A card an APDU driver knows, in a PC/SC reader; the key by its one-byte reference.
    Card {
        reader: String,
        kind: CardKind,
        reference: u8,
    },
    /// A token behind a PKCS#11 module; the key by its `CKA_ID`.
    Pkcs11 {
        token: TokenId,
        token_label: String,
        id: Vec<u8>,
    },
}

impl KeySource {
    /// Where the key is, as a person recognises it: the reader's name, or the token's label.
    pub fn place(&self) -> String {
        match self {
            Self::Card { reader, .. } => reader.clone(),
            Self::Pkcs11 { token_label, .. } => token_label.clone(),
        }
    }

    /// `apdu` or `pkcs11`, as `podpis certs --json` says it.
    pub fn tier(&self) -> &'static str {
        match self {
            Self::Card { .. } => "apdu",
            Self::Pkcs11 { .. } => "pkcs11",
        }
    }
}

/// What the token says of its PIN: a count of tries (the card tier), or the flags of a PKCS#11
/// token, which never give a number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum PinInfo {
    Counted {
        tries_left: u8,
        max_tries: u8,
    },
    Flags {
        condition: PinCondition,
        /// The PIN is entered on the reader's PIN pad, not typed into Podpis.
        on_reader: bool,
    },
}

impl From<PinStatus> for PinInfo {
    fn from(status: PinStatus) -> Self {
        Self::Counted {
            tries_left: status.tries_left,
            max_tries: status.max_tries,
        }
    }
}

impl From<pkcs11::PinState> for PinInfo {
    fn from(state: pkcs11::PinState) -> Self {
        Self::Flags {
            condition: state.condition,
            on_reader: !state.needs_typed_pin(),
        }
    }
}

impl PinInfo {
    pub fn is_blocked(&self) -> bool {
        match self {
            Self::Counted { tries_left, .. } => *tries_left == 0,
            Self::Flags { condition, .. } => condition.is_blocked(),
        }
    }

    /// The next wrong PIN blocks it: the person is warned and asked first.
    pub fn is_last_try(&self) -> bool {
        match self {
            Self::Counted { tries_left, .. } => *tries_left == 1,
            Self::Flags { condition, .. } => condition.is_last_try(),
        }
    }

    /// The tries left, where the token counts them.
    pub fn tries_left(&self) -> Option<u8> {
        match self {
            Self::Counted { tries_left, .. } => Some(*tries_left),
            Self::Flags { .. } => None,
        }
    }

    pub fn max_tries(&self) -> Option<u8> {
        match self {
            Self::Counted { max_tries, .. } => Some(*max_tries),
            Self::Flags { .. } => None,
        }
    }

    /// Whether Podpis asks for the PIN (false for a PIN pad).
    pub fn needs_typed_pin(&self) -> bool {
        !matches!(
            self,
            Self::Flags {
                on_reader: true,
                ..
            }
        )
    }
}

/// A key with its certificate, wherever it is.
#[derive(Debug, Clone)]
pub struct FoundKey {
    pub source: KeySource,
    pub algorithm: KeyAlgorithm,
    pub certificate: Vec<u8>,
    pub pin: PinInfo,
    /// The token's serial number.
    pub token_serial: String,
}

/// The PKCS#11 side of a process: which modules to use, and the ones that loaded.
#[derive(Debug, Clone, Default)]
pub struct Pkcs11Settings {
    /// Modules the person added (settings, `--pkcs11-module`), tried first.
    pub modules: Vec<PathBuf>,
    /// Also the modules the system registers (p11-kit) and the vendors' default paths.
    pub discover: bool,
}

impl Pkcs11Settings {
    /// Discovery on, unless `PODPIS_PKCS11_DISCOVERY=0`: a tester who wants only the modules
    /// named, or a machine where OpenSC's module must not touch the cards.
    pub fn from_env(modules: Vec<PathBuf>) -> Self {
        let discover = std::env::var("PODPIS_PKCS11_DISCOVERY").map_or(true, |v| v != "0");
        Self { modules, discover }
    }
}

/// A module that could not be used, with why (a probe report).
pub type ModuleFailure = ProbeReport;

/// The modules of this process: opened once, after a probe in a child process said they load.
#[derive(Clone, Default)]
pub struct Pkcs11Tier {
    pub modules: Vec<Module>,
    pub failures: Vec<ModuleFailure>,
}

impl std::fmt::Debug for Pkcs11Tier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pkcs11Tier")
            .field("modules", &self.modules.len())
            .field("failures", &self.failures.len())
            .finish()
    }
}

/// How long a module's first load may take in its probe.
const PROBE_TIMEOUT: Duration = Duration::from_secs(10);

impl Pkcs11Tier {
    /// Finds, probes (or recalls the probe of) and opens the modules. A module that failed its
    /// probe is listed in `failures` and never loaded here. Blocks: call it off the async runtime.
    pub fn load(settings: &Pkcs11Settings, data_dir: &Path, deadline: Duration) -> Self {
        let paths: Vec<PathBuf> = if settings.discover {
            pkcs11::discovery::discover(&settings.modules)
                .into_iter()
                .map(|m| m.path)
                .collect()
        } else {
            settings.modules.clone()
        };
        let mut probes = ProbeMemory::open(data_dir);
        let mut tier = Self::default();
        for path in paths {
            let report = probes.probe(&path, |path| probe::run(path, PROBE_TIMEOUT));
            if !report.is_usable() {
                tier.failures.push(report);
                continue;
            }
            match Module::open_with_deadlines(&path, deadline, deadline.max(PIN_PAD_DEADLINE)) {
                Ok(module) => tier.modules.push(module),
                Err(_) => tier.failures.push(report),
            }
        }
        probes.save();
        tier
    }

    pub(crate) fn module(&self, path: &Path) -> Result<&Module, TokenError> {
        self.modules
            .iter()
            .find(|m| m.path() == path)
            .ok_or_else(|| {
                TokenError::Pkcs11(pkcs11::Pkcs11Error::ModuleMissing {
                    module: path.to_path_buf(),
                })
            })
    }

    /// The keys of every token of every module, with the failures met on the way (a token that
    /// could not be read does not hide the others).
    pub fn keys(&self) -> (Vec<FoundKey>, Vec<TokenError>) {
        let mut keys = Vec::new();
        let mut errors = Vec::new();
        for module in &self.modules {
            let tokens = match module.tokens() {
                Ok(tokens) => tokens,
                Err(e) => {
                    errors.push(e);
                    continue;
                }
            };
            for token in tokens {
                match module.read(&token.id) {
                    Ok(contents) => {
                        let pin = PinInfo::from(contents.token.pin);
                        for key in contents.keys {
                            keys.push(FoundKey {
                                source: KeySource::Pkcs11 {
                                    token: contents.token.id.clone(),
                                    token_label: contents.token.label.clone(),
                                    id: key.id.clone(),
                                },
                                algorithm: key.algorithm,
                                certificate: key.certificate,
                                pin,
                                token_serial: contents.token.id.serial.clone(),
                            });
                        }
                    }
                    Err(e) => errors.push(e),
                }
            }
        }
        (keys, errors)
    }
}

/// A fresh probe of `path` in a child process (what a person is shown before they add a module),
/// kept as the module's verdict, so that the next load decides by it and not by an older one.
pub fn probe_and_remember(path: &Path, data_dir: &Path) -> ProbeReport {
    let mut probes = ProbeMemory::open(data_dir);
    probes.entries.remove(&path.display().to_string());
    let report = probes.probe(path, |path| probe::run(path, PROBE_TIMEOUT));
    probes.save();
    report
}

/// A PIN pad waits for a person at the reader: longer than a card's answer.
const PIN_PAD_DEADLINE: Duration = Duration::from_secs(120);

/// The keys of the card in `reader` (an APDU driver's), certificates through the cache.
pub fn card_keys(
    reader: &str,
    certificates: &CertificateCache,
    deadline: Duration,
) -> Result<Vec<FoundKey>, TokenError> {
    let (kind, contents) = certificates.read_card(&Reader::new(reader).with_deadline(deadline))?;
    let pin = PinInfo::from(contents.pin);
    Ok(contents
        .keys
        .into_iter()
        .map(|key| FoundKey {
            source: KeySource::Card {
                reader: reader.to_owned(),
                kind,
                reference: key.reference,
            },
            algorithm: key.algorithm,
            certificate: key.certificate,
            pin,
            token_serial: contents.serial.clone(),
        })
        .collect())
}

/// The readers holding a card an APDU driver knows.
pub fn known_card_readers() -> Result<Vec<String>, TokenError> {
    Ok(token::list_readers()?
        .into_iter()
        .filter(|r| r.card.as_ref().is_some_and(|c| c.kind != CardKind::Unknown))
        .map(|r| r.reader)
        .collect())
}

/// Has the key sign the CAdES signed attributes of `prepared`: a card through its driver (the
/// digest), a PKCS#11 token through its module (the digest, or the attributes for a mechanism
/// that hashes itself). `pin` is `None` only for a PIN pad.
pub fn sign(
    found: &FoundKey,
    prepared: &CadesPrepared,
    pin: Option<Pin>,
    last_try: LastTry,
    deadline: Duration,
    tier: &Pkcs11Tier,
) -> Result<Vec<u8>, TokenError> {
    match &found.source {
        KeySource::Card {
            reader, reference, ..
        } => {
            let pin = pin.ok_or(TokenError::Pkcs11(pkcs11::Pkcs11Error::PinRequired))?;
            Reader::new(reader).with_deadline(deadline).sign(
                *reference,
                found.algorithm,
                prepared.digest_to_sign().to_vec(),
                pin,
                last_try,
            )
        }
        KeySource::Pkcs11 { token, id, .. } => tier.module(&token.module)?.sign(
            token,
            id,
            found.algorithm,
            ToSign::data(prepared.algorithm(), prepared.signed_attributes().to_vec()),
            pin,
            last_try,
        ),
    }
}

/// Probe verdicts kept between runs, by module path, size and modification time.
struct ProbeMemory {
    file: PathBuf,
    entries: BTreeMap<String, Remembered>,
    changed: bool,
}

#[derive(Serialize, Deserialize, Clone)]
struct Remembered {
    fingerprint: String,
    report: ProbeReport,
}

impl ProbeMemory {
    fn open(data_dir: &Path) -> Self {
        let file = data_dir.join("pkcs11-probes.json");
        let entries = std::fs::read(&file)
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .unwrap_or_default();
        Self {
            file,
            entries,
            changed: false,
        }
    }

    /// The file's size and modification time, hashed: a module updated in place is probed again.
    fn fingerprint(path: &Path) -> Option<String> {
        let meta = std::fs::metadata(path).ok()?;
        let modified = meta
            .modified()
            .ok()?
            .duration_since(SystemTime::UNIX_EPOCH)
            .ok()?;
        let text = format!(
            "{}:{}:{}",
            meta.len(),
            modified.as_secs(),
            modified.subsec_nanos()
        );
        Some(hex::encode(Sha256::digest(text.as_bytes())))
    }

    /// The remembered verdict, or `run`'s (a probe in a child process).
    fn probe(&mut self, path: &Path, run: impl FnOnce(&Path) -> ProbeReport) -> ProbeReport {
        let key = path.display().to_string();
        let fingerprint = Self::fingerprint(path);
        if let (Some(fingerprint), Some(known)) = (&fingerprint, self.entries.get(&key)) {
            if &known.fingerprint == fingerprint {
                return known.report.clone();
            }
        }
        let report = run(path);
        if let Some(fingerprint) = fingerprint {
            self.entries.insert(
                key,
                Remembered {
                    fingerprint,
                    report: report.clone(),
                },
            );
            self.changed = true;
        }
        report
    }

    /// Remembering only saves time: a data directory that cannot be written is no error.
    fn save(&self) {
        if !self.changed {
            return;
        }
        if let Ok(text) = serde_json::to_vec_pretty(&self.entries) {
            if let Some(dir) = self.file.parent() {
                let _ = std::fs::create_dir_all(dir);
            }
            let _ = crate::durable::write_atomically(&self.file, &text);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pin_info_says_what_each_tier_knows() {
        let counted = PinInfo::from(PinStatus {
            tries_left: 1,
            max_tries: 3,
        });
        assert!(counted.is_last_try() && !counted.is_blocked());
        assert_eq!(counted.tries_left(), Some(1));
        let flags = PinInfo::Flags {
            condition: PinCondition::FinalTry,
            on_reader: true,
        };
        assert!(flags.is_last_try());
        assert_eq!(flags.tries_left(), None, "PKCS#11 never gives a count");
        assert!(!flags.needs_typed_pin());
    }

    #[test]
    fn a_probe_is_remembered_until_the_module_file_changes() {
        let dir = tempfile::tempdir().expect("tmp");
        let module = dir.path().join("libcrashes.so");
        std::fs::write(&module, b"a module").expect("write");
        let crashed = |path: &Path| ProbeReport {
            module: path.to_path_buf(),
            outcome: probe::ProbeOutcome::Crashed {
                signal: Some(6),
                exit_code: None,
                stderr: String::new(),
            },
        };
        let mut memory = ProbeMemory::open(dir.path());
        let first = memory.probe(&module, crashed);
        assert!(!first.is_usable());
        memory.save();
        // The next process recalls the verdict and does not probe (nor load) the module again.
        let mut again = ProbeMemory::open(dir.path());
        let recalled = again.probe(&module, |_| panic!("probed again"));
        assert_eq!(recalled, first);
        // A module file that changed is probed again.
        std::fs::write(&module, b"a new version of the module").expect("write");
        let mut probed = false;
        let _ = again.probe(&module, |path| {
            probed = true;
            crashed(path)
        });
        assert!(probed);
    }
}
