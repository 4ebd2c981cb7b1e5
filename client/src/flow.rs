//! The confirmation flow, one state machine for the CLI and the desktop app:
//! pick card and certificate → findings (stop on an error) → person check → PIN status →
//! challenge → request document (shown) → PIN → signature on the card → outbox → send → result.
//!
//! [`Confirmation::prepare`] runs everything up to the PIN; [`Confirmation::sign_and_send`] takes
//! the PIN and finishes. Each step is reported through the `on_event` callback.

use std::path::PathBuf;
use std::time::SystemTime;

use protocol::{Account, ConfirmationResult, Purpose, RequestDocument};
use serde::Serialize;
use sha2::Digest;
use signing::cades::{self, Content};
use signing::certificate::{CertificateInfo, Finding, FindingCode, Severity};
use signing::token::Reader;
use signing::{CardError, Pin, TokenError};
use thiserror::Error;

use crate::certificates::CertificateCache;
use crate::outbox::{Outbox, OutboxItem, RequestMeta};
use crate::portal::{PortalClient, PortalError};
use crate::remembered::RememberedChoice;
use crate::tokens::{self, FoundKey, PinInfo, Pkcs11Tier};

/// Where the flow is, for progress displays.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Step {
    ReadingCard,
    CheckingCertificate,
    RequestingChallenge,
    WaitingForPin,
    SigningOnCard,
    StoringRequest,
    Sending,
    PortalChecks,
    Done,
}

#[derive(Debug, Clone)]
pub enum FlowEvent {
    Step(Step),
    Findings(Vec<Finding>),
}

#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum FlowError {
    #[error(transparent)]
    Card(#[from] TokenError),
    #[error(transparent)]
    Portal(#[from] PortalError),
    /// A finding of severity error: the certificate cannot do the job, nothing is signed.
    #[error("the certificate cannot be used: {}", .0.as_str())]
    Finding(FindingCode),
    #[error("the certificate belongs to another person")]
    PersonMismatch,
    #[error("the certificate is not a legal entity's")]
    NotAnOrganisation,
    /// A GOST R 34.10-2001 key (old UECs): the portal refuses such signatures, so confirming
    /// with it is stopped before the PIN instead of being signed and refused.
    #[error("the portal refuses GOST R 34.10-2001 keys")]
    AlgorithmRefusedByPortal,
    /// An ECDSA or RSA key (a commodity token): it signs files, but the portal takes only GOST.
    #[error("the portal takes only GOST signatures")]
    PortalNeedsGost,
    #[error("no card Podpis knows is inserted")]
    NoCard,
    #[error("several cards are inserted")]
    SeveralCards,
    #[error("no suitable certificate on the card")]
    NoCertificate,
    #[error("several certificates on the card")]
    SeveralCertificates,
    #[error("one PIN try left and no consent to use it")]
    LastTryNotConfirmed,
    #[error("the signed request could not be stored: {0}")]
    Outbox(String),
    /// The portal's challenge names another portal than the one this client talks to: a portal
    /// relaying another portal's challenge would get a document for that other portal signed.
    #[error("the challenge names another portal ({named})")]
    ChallengeForAnotherPortal { named: String },
    /// Signed and stored, but the portal did not judge it (no answer, or a refusal that is not
    /// about the request, such as an expired session): the request waits in the outbox.
    #[error("the request is kept in the outbox ({cause})")]
    Kept { id: String, cause: PortalError },
}

impl FlowError {
    /// The code of the messages table.
    pub fn code(&self) -> String {
        match self {
            Self::Card(e) => card_code(e).to_owned(),
            Self::Portal(e) => e.code().to_owned(),
            Self::Finding(code) => code.as_str().to_owned(),
            Self::PersonMismatch => "person-mismatch".into(),
            Self::NotAnOrganisation => "not-an-organisation".into(),
            Self::AlgorithmRefusedByPortal => "algorithm-deprecated".into(),
            Self::PortalNeedsGost => "algorithm-not-gost".into(),
            Self::NoCard => "no-card".into(),
            Self::SeveralCards => "several-cards".into(),
            Self::NoCertificate => "no-certificate".into(),
            Self::SeveralCertificates => "several-certificates".into(),
            Self::LastTryNotConfirmed => "pin-last-try".into(),
            Self::Outbox(_) => "outbox".into(),
            Self::ChallengeForAnotherPortal { .. } => "challenge-origin".into(),
            Self::Kept { cause, .. } => cause.code().to_owned(),
        }
    }

    /// Whether the signed request is kept in the outbox, to be sent again later: the UI and the
    /// CLI say so instead of guessing it from the code.
    pub fn is_kept(&self) -> bool {
        matches!(self, Self::Kept { .. })
    }
}

/// The messages-table code of a card error.
pub fn card_code(e: &TokenError) -> &'static str {
    match e {
        TokenError::Card(CardError::NoService) => "pcsc-not-running",
        TokenError::Card(CardError::NoReaders | CardError::UnknownReader(_)) => "no-reader",
        TokenError::Card(CardError::NoCard) => "no-card",
        TokenError::Card(CardError::Removed) => "card-removed",
        TokenError::Card(CardError::NotResponding) => "card-not-responding",
        TokenError::UnknownCard { .. } => "card-unknown",
        TokenError::PinIncorrect { .. } => "pin-incorrect",
        TokenError::PinBlocked => "pin-blocked",
        TokenError::PinLengthRefused | TokenError::PinFormat(_) => "pin-format",
        TokenError::LastTryNotConfirmed => "pin-last-try",
        TokenError::PukIncorrect { .. } => "puk-incorrect",
        TokenError::PukBlocked => "puk-blocked",
        TokenError::NewPinRefused => "pin-new-refused",
        TokenError::PinManagementNotSupported => "pin-change-unsupported",
        TokenError::PinIncorrectUncounted { .. } => "pin-incorrect",
        TokenError::PukIncorrectUncounted { .. } => "puk-incorrect",
        TokenError::AlgorithmUnsupported { .. } => "algorithm-unsupported",
        TokenError::Pkcs11(e) => pkcs11_code(e),
        _ => "card-error",
    }
}

/// The messages-table code of what only the PKCS#11 tier meets.
fn pkcs11_code(e: &signing::pkcs11::Pkcs11Error) -> &'static str {
    use signing::pkcs11::Pkcs11Error as E;
    match e {
        E::ModuleMissing { .. } => "pkcs11-module-missing",
        E::ModuleNotLoadable { .. } => "pkcs11-module-not-loadable",
        E::ModuleInitFailed { .. } => "pkcs11-module-init-failed",
        E::ModuleCrashed { .. } => "pkcs11-module-crashed",
        E::ModuleTimedOut { .. } => "pkcs11-module-timed-out",
        E::ModuleUnusable { .. } => "pkcs11-module-unusable",
        E::KeyMissing { .. } => "pkcs11-key-missing",
        E::MechanismUnsupported { .. } => "algorithm-unsupported",
        E::PinExpired => "pin-expired",
        E::PinRequired => "pin-required",
        E::Cancelled => "pin-pad-cancelled",
        _ => "pkcs11-call-failed",
    }
}

/// Which card and certificate to use: none named means the only one there is.
#[derive(Debug, Clone, Default)]
pub struct CardChoice {
    pub reader: Option<String>,
    /// SHA-256 of the certificate, or a prefix of it.
    pub certificate: Option<String>,
}

/// Everything up to the PIN: what the person sees before signing.
pub struct Prepared {
    /// The card, key and certificate, with the certificate's findings and the PIN counter.
    pub chosen: ChosenKey,
    pub document: RequestDocument,
    /// The exact bytes that are signed (canonical JSON).
    pub document_bytes: Vec<u8>,
    pub expires_at: String,
    cades: cades::Prepared,
}

/// A confirmation or an organisation registration against one portal, for one logged-in account.
pub struct Confirmation {
    pub portal: PortalClient,
    token: zeroize::Zeroizing<String>,
    pub account: Account,
    outbox: Outbox,
    certificates: CertificateCache,
    card_deadline: std::time::Duration,
    pkcs11: Pkcs11Tier,
    remembered: RememberedChoice,
}

impl Confirmation {
    pub async fn new(
        portal: PortalClient,
        token: zeroize::Zeroizing<String>,
        data_dir: PathBuf,
    ) -> Result<Self, FlowError> {
        let account = portal.account(&token).await?;
        let outbox = Outbox::open(&data_dir).map_err(FlowError::Outbox)?;
        Ok(Self {
            portal,
            token,
            account,
            outbox,
            certificates: CertificateCache::in_data_dir(&data_dir),
            card_deadline: Reader::DEFAULT_DEADLINE,
            pkcs11: Pkcs11Tier::default(),
            remembered: RememberedChoice::in_data_dir(&data_dir),
        })
    }

    /// The PKCS#11 modules whose tokens count as well as the cards.
    pub fn with_pkcs11(mut self, tier: Pkcs11Tier) -> Self {
        self.pkcs11 = tier;
        self
    }

    /// How long one card operation may take before the card counts as not responding.
    pub fn with_card_deadline(mut self, deadline: std::time::Duration) -> Self {
        self.card_deadline = deadline;
        self
    }

    /// Reads the card, checks the certificate, asks the portal for a challenge and builds the
    /// document. Stops before the PIN on an error finding, on a blocked PIN, and (unless `force`)
    /// on a certificate of another person.
    pub async fn prepare(
        &self,
        choice: &CardChoice,
        purpose: Purpose,
        force: bool,
        on_event: &(dyn Fn(FlowEvent) + Send + Sync),
    ) -> Result<Prepared, FlowError> {
        on_event(FlowEvent::Step(Step::ReadingCard));
        let choice = choice.clone();
        let certificates = self.certificates.clone();
        let deadline = self.card_deadline;
        let tier = self.pkcs11.clone();
        let remembered = self.remembered.certificate();
        let chosen = blocking(move || {
            choose_key_remembering(&choice, &certificates, deadline, &tier, remembered)
        })
        .await??;
        on_event(FlowEvent::Step(Step::CheckingCertificate));
        on_event(FlowEvent::Findings(chosen.findings.clone()));
        // An error finding stops here; a blocked card is never sent VERIFY.
        if let Some(refusal) = chosen.refusal() {
            return Err(refusal);
        }
        let certificate = &chosen.certificate;
        if !force
            && self.account.person.snils.is_some()
            && certificate.snils != self.account.person.snils
        {
            return Err(FlowError::PersonMismatch);
        }
        if let Some(unfit) = unfit_for(certificate, purpose).filter(|_| !force) {
            return Err(unfit);
        }

        on_event(FlowEvent::Step(Step::RequestingChallenge));
        let challenge = self.portal.challenge(&self.token, purpose).await?;
        let origin = document_origin(&self.portal.origin(), &challenge)?;
        let signing_time = SystemTime::now();
        let document = RequestDocument {
            account: self.account.id.clone(),
            certificate_sha256: certificate.sha256.clone(),
            format: protocol::DOCUMENT_FORMAT.to_owned(),
            nonce: challenge.nonce.clone(),
            organisation: match purpose {
                Purpose::RegisterOrganisation => {
                    protocol::Organisation::from_certificate(certificate)
                }
                Purpose::ConfirmIdentity => None,
            },
            origin,
            person: protocol::Person::from_certificate(certificate),
            purpose,
            signing_time: protocol::timestamp(signing_time),
        };
        let document_bytes = document.to_canonical_json();
        let cades = cades::prepare(
            &document_bytes,
            &chosen.key.certificate,
            chosen.key.algorithm,
            signing_time,
            Content::Attached,
        )
        .map_err(|e| FlowError::Card(TokenError::Malformed(e.to_string())))?;
        on_event(FlowEvent::Step(Step::WaitingForPin));
        Ok(Prepared {
            chosen,
            document,
            document_bytes,
            expires_at: challenge.expires_at,
            cades,
        })
    }

    /// Has the card sign (the PIN is sent once, never retried), stores the request, sends it.
    /// On the last try the caller must pass `last_try_confirmed`. `pin` is `None` only for a
    /// token whose PIN is entered on the reader.
    pub async fn sign_and_send(
        &self,
        prepared: Prepared,
        pin: Option<Pin>,
        last_try_confirmed: bool,
        on_event: &(dyn Fn(FlowEvent) + Send + Sync),
    ) -> Result<ConfirmationResult, FlowError> {
        if prepared.chosen.key.pin.is_last_try() && !last_try_confirmed {
            return Err(FlowError::LastTryNotConfirmed);
        }
        on_event(FlowEvent::Step(Step::SigningOnCard));
        let (key, deadline, tier) = (
            prepared.chosen.key.clone(),
            self.card_deadline,
            self.pkcs11.clone(),
        );
        // The token checks the consent again against the state it reads right before the PIN.
        let last_try = signing::LastTry::from_confirmed(last_try_confirmed);
        let (signature, cades) = blocking(move || {
            let signature = tokens::sign(&key, &prepared.cades, pin, last_try, deadline, &tier);
            (signature, prepared)
        })
        .await?;
        let prepared = cades;
        let signature = signature.map_err(card_error)?;
        // Signed with it: the person's choice, taken again next time.
        self.remembered
            .remember(&prepared.chosen.certificate.sha256);
        let cms = prepared
            .cades
            .finish(&signature)
            .map_err(|e| FlowError::Card(TokenError::Malformed(e.to_string())))?;

        on_event(FlowEvent::Step(Step::StoringRequest));
        let document = String::from_utf8_lossy(&prepared.document_bytes).into_owned();
        let meta = RequestMeta {
            portal: self.portal.origin(),
            account: self.account.id.clone(),
            purpose: prepared.document.purpose,
            nonce: prepared.document.nonce.clone(),
            expires_at: prepared.expires_at.clone(),
            created_at: protocol::timestamp(SystemTime::now()),
        };
        let item = OutboxItem::new(meta, &document, &cms);
        self.outbox.store(&item).map_err(FlowError::Outbox)?;
        self.deliver(&item, on_event).await
    }

    /// Sends a stored request; removes it once the portal has judged it (accepted, or refused for
    /// a reason about the request), keeps it otherwise (see `PortalError::judged_the_request`).
    pub async fn deliver(
        &self,
        item: &OutboxItem,
        on_event: &(dyn Fn(FlowEvent) + Send + Sync),
    ) -> Result<ConfirmationResult, FlowError> {
        on_event(FlowEvent::Step(Step::Sending));
        let cms = item.cms().map_err(FlowError::Outbox)?;
        on_event(FlowEvent::Step(Step::PortalChecks));
        match self.portal.submit(&self.token, &cms).await {
            Ok(result) => {
                self.outbox.remove(&item.id).map_err(FlowError::Outbox)?;
                on_event(FlowEvent::Step(Step::Done));
                Ok(result)
            }
            Err(e) if e.judged_the_request() => {
                self.outbox.remove(&item.id).map_err(FlowError::Outbox)?;
                Err(e.into())
            }
            Err(e) => Err(FlowError::Kept {
                id: item.id.clone(),
                cause: e,
            }),
        }
    }

    /// The requests of this account on this portal still waiting for an answer.
    pub fn pending(&self) -> Result<Vec<OutboxItem>, FlowError> {
        self.outbox
            .pending_for(&self.portal.origin(), &self.account.id)
            .map_err(FlowError::Outbox)
    }
}

/// A key chosen on a card or token, with what was read with it: its certificate, the
/// certificate's findings now, and the PIN state.
#[derive(Debug, Clone)]
pub struct ChosenKey {
    pub key: FoundKey,
    pub certificate: CertificateInfo,
    pub findings: Vec<Finding>,
}

impl ChosenKey {
    /// Where the key is, as a person recognises it (the reader, or the token's label).
    pub fn place(&self) -> String {
        self.key.source.place()
    }

    pub fn pin(&self) -> PinInfo {
        self.key.pin
    }

    /// Why this key must not be used to sign at all, before any PIN: an error finding, or a
    /// blocked PIN (a blocked card is never sent VERIFY).
    pub fn refusal(&self) -> Option<FlowError> {
        if let Some(stop) = self.findings.iter().find(|f| f.severity == Severity::Error) {
            return Some(FlowError::Finding(stop.code));
        }
        self.key
            .pin
            .is_blocked()
            .then_some(FlowError::Card(TokenError::PinBlocked))
    }
}

/// A card's or token's failure, where the last-try refusal is the flow's own error.
fn card_error(e: TokenError) -> FlowError {
    match e {
        TokenError::LastTryNotConfirmed => FlowError::LastTryNotConfirmed,
        e => FlowError::Card(e),
    }
}

/// The keys among which a choice is made: those of the reader or token named; else of every
/// card and token there is when a certificate is named; else of the only card or token there is.
/// A key a PKCS#11 module also shows for a card an APDU driver reads is listed once, as the
/// card's. Blocks on the cards and modules.
pub fn candidate_keys(
    choice: &CardChoice,
    certificates: &CertificateCache,
    deadline: std::time::Duration,
    tier: &Pkcs11Tier,
) -> Result<Vec<FoundKey>, FlowError> {
    let readers = tokens::known_card_readers()?;
    if let Some(name) = &choice.reader {
        if readers.contains(name) {
            return Ok(tokens::card_keys(name, certificates, deadline)?);
        }
        let (keys, _) = tier.keys();
        let named: Vec<FoundKey> = keys
            .into_iter()
            .filter(|k| &k.source.place() == name)
            .collect();
        if named.is_empty() {
            // Not a token either: a reader without a known card, or no such reader at all.
            return Ok(tokens::card_keys(name, certificates, deadline)?);
        }
        return Ok(named);
    }
    let (pkcs11_keys, pkcs11_errors) = if tier.modules.is_empty() {
        (Vec::new(), Vec::new())
    } else {
        tier.keys()
    };
    let mut places: Vec<String> = readers.clone();
    for key in &pkcs11_keys {
        if !places.contains(&key.source.place()) {
            places.push(key.source.place());
        }
    }
    if choice.certificate.is_none() {
        match places.len() {
            0 => {
                return Err(match pkcs11_errors.into_iter().next() {
                    Some(e) => FlowError::Card(e),
                    None => FlowError::NoCard,
                })
            }
            1 => {}
            _ => return Err(FlowError::SeveralCards),
        }
    }
    let mut keys = Vec::new();
    let mut first_error = None;
    for reader in &readers {
        match tokens::card_keys(reader, certificates, deadline) {
            Ok(found) => keys.extend(found),
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    let on_cards: Vec<Vec<u8>> = keys
        .iter()
        .map(|k| sha2::Sha256::digest(&k.certificate).to_vec())
        .collect();
    keys.extend(
        pkcs11_keys
            .into_iter()
            .filter(|k| !on_cards.contains(&sha2::Sha256::digest(&k.certificate).to_vec())),
    );
    match (keys.is_empty(), first_error) {
        (true, Some(e)) => Err(FlowError::Card(e)),
        _ => Ok(keys),
    }
}

/// Picks the key: the reader or token and the certificate named, or the only ones there are.
/// Blocks on the cards and modules (with `deadline` per operation): call it off the async
/// runtime.
pub fn choose_key(
    choice: &CardChoice,
    certificates: &CertificateCache,
    deadline: std::time::Duration,
    tier: &Pkcs11Tier,
) -> Result<ChosenKey, FlowError> {
    let mut keys: Vec<_> = candidate_keys(choice, certificates, deadline, tier)?
        .into_iter()
        .filter_map(|k| {
            CertificateInfo::parse(&k.certificate)
                .ok()
                .map(|info| (k, info))
        })
        .filter(|(_, info)| {
            choice
                .certificate
                .as_deref()
                .is_none_or(|c| info.sha256.starts_with(&c.to_lowercase()))
        })
        .collect();
    match keys.len() {
        0 => Err(FlowError::NoCertificate),
        1 => {
            let (key, certificate) = keys.remove(0);
            let findings = certificate.findings_at(SystemTime::now());
            Ok(ChosenKey {
                key,
                certificate,
                findings,
            })
        }
        _ => Err(FlowError::SeveralCertificates),
    }
}

/// As [`choose_key`], but when no certificate is named and the person chose one before
/// (`remembered`), that one is taken if it is there; if it is not, the choice is made as if
/// nothing had been remembered.
pub fn choose_key_remembering(
    choice: &CardChoice,
    certificates: &CertificateCache,
    deadline: std::time::Duration,
    tier: &Pkcs11Tier,
    remembered: Option<String>,
) -> Result<ChosenKey, FlowError> {
    if let (None, Some(sha256)) = (&choice.certificate, remembered) {
        let again = CardChoice {
            reader: choice.reader.clone(),
            certificate: Some(sha256),
        };
        match choose_key(&again, certificates, deadline, tier) {
            Err(FlowError::NoCertificate) => {}
            other => return other,
        }
    }
    choose_key(choice, certificates, deadline, tier)
}

/// The reader named, or the only one holding a card Podpis knows.
pub fn choose_reader(choice: &CardChoice) -> Result<String, FlowError> {
    if let Some(name) = &choice.reader {
        return Ok(name.clone());
    }
    match tokens::known_card_readers()?.as_slice() {
        [] => Err(FlowError::NoCard),
        [one] => Ok(one.clone()),
        _ => Err(FlowError::SeveralCards),
    }
}

/// Signs `content` with the chosen key as CAdES-BES (attached or detached): the PIN is sent once,
/// never retried. On the last try the caller must pass `last_try_confirmed`. `pin` is `None` only
/// for a token whose PIN is entered on the reader. Blocks on the card or module.
pub fn sign_content(
    chosen: &ChosenKey,
    content: &[u8],
    form: Content,
    pin: Option<Pin>,
    last_try_confirmed: bool,
    deadline: std::time::Duration,
    tier: &Pkcs11Tier,
) -> Result<Vec<u8>, FlowError> {
    if let Some(refusal) = chosen.refusal() {
        return Err(refusal);
    }
    if chosen.key.pin.is_last_try() && !last_try_confirmed {
        return Err(FlowError::LastTryNotConfirmed);
    }
    let prepared = cades::prepare(
        content,
        &chosen.key.certificate,
        chosen.key.algorithm,
        SystemTime::now(),
        form,
    )
    .map_err(|e| FlowError::Card(TokenError::Malformed(e.to_string())))?;
    // The token checks the consent again against the state it reads right before the PIN.
    let signature = tokens::sign(
        &chosen.key,
        &prepared,
        pin,
        signing::LastTry::from_confirmed(last_try_confirmed),
        deadline,
        tier,
    )
    .map_err(card_error)?;
    prepared
        .finish(&signature)
        .map_err(|e| FlowError::Card(TokenError::Malformed(e.to_string())))
}

/// Why a certificate cannot do `purpose` on the portal whatever the PIN: registering an
/// organisation needs a legal entity's certificate (OGRN), and the portal refuses GOST R
/// 34.10-2001 keys. The app shows this reason beside the certificate and offers no choice of it;
/// the flow stops on it before the PIN (unless forced, to see the portal's own refusal).
pub fn unfit_for(certificate: &CertificateInfo, purpose: Purpose) -> Option<FlowError> {
    match certificate.algorithm.as_str() {
        "gost2001" => return Some(FlowError::AlgorithmRefusedByPortal),
        "gost2012-256" | "gost2012-512" => {}
        _ => return Some(FlowError::PortalNeedsGost),
    }
    if purpose == Purpose::RegisterOrganisation && certificate.ogrn.is_none() {
        return Some(FlowError::NotAnOrganisation);
    }
    None
}

/// The origin the document names: always the portal this client talks to. A challenge that
/// names another is refused before anything is signed.
fn document_origin(portal: &str, challenge: &protocol::Challenge) -> Result<String, FlowError> {
    if challenge.origin == portal {
        Ok(portal.to_owned())
    } else {
        Err(FlowError::ChallengeForAnotherPortal {
            named: challenge.origin.clone(),
        })
    }
}

/// Card work blocks its thread (with its own deadline): keep it off the async runtime.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, FlowError> {
    tokio::task::spawn_blocking(f).await.map_err(|e| {
        FlowError::Card(TokenError::Card(CardError::Pcsc(format!(
            "card task failed: {e}"
        ))))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn challenge(origin: &str) -> protocol::Challenge {
        protocol::Challenge {
            nonce: "bm9uY2U".into(),
            expires_at: "2026-11-30T12:00:00Z".into(),
            origin: origin.into(),
            purpose: Purpose::ConfirmIdentity,
        }
    }

    #[test]
    fn the_document_names_the_portal_the_client_talks_to() {
        let ours = "https://esia.example";
        assert_eq!(document_origin(ours, &challenge(ours)).expect("ours"), ours);
        // A portal relaying another portal's challenge: refused, nothing to sign.
        assert_eq!(
            document_origin(ours, &challenge("https://other.example")),
            Err(FlowError::ChallengeForAnotherPortal {
                named: "https://other.example".into()
            })
        );
    }

    fn certificate(algorithm: &str, ogrn: Option<&str>) -> CertificateInfo {
        CertificateInfo {
            subject: Some("Test".into()),
            surname: Some("Test".into()),
            given_names: Some("Test".into()),
            snils: Some("54771278218".into()),
            inn: None,
            inn_le: ogrn.map(|_| "7701234567".into()),
            ogrn: ogrn.map(str::to_owned),
            ogrnip: None,
            organisation: None,
            issuer: "Test CA".into(),
            serial: "01".into(),
            not_before: "2026-01-01T00:00:00Z".into(),
            not_after: "2027-01-01T00:00:00Z".into(),
            algorithm: algorithm.into(),
            parameter_set: None,
            key_usage: signing::certificate::KeyUsage::default(),
            policies: Vec::new(),
            subject_sign_tool: None,
            issuer_sign_tool: None,
            sha256: "ab".into(),
            validity: (0, 0),
        }
    }

    #[test]
    fn a_certificate_unfit_for_the_job_is_known_before_the_pin() {
        let person = certificate("gost2012-256", None);
        let organisation = certificate("gost2012-512", Some("1027700132195"));
        let old_uec = certificate("gost2001", None);
        assert_eq!(unfit_for(&person, Purpose::ConfirmIdentity), None);
        assert_eq!(
            unfit_for(&person, Purpose::RegisterOrganisation),
            Some(FlowError::NotAnOrganisation)
        );
        assert_eq!(
            unfit_for(&organisation, Purpose::RegisterOrganisation),
            None
        );
        for purpose in [Purpose::ConfirmIdentity, Purpose::RegisterOrganisation] {
            assert_eq!(
                unfit_for(&old_uec, purpose),
                Some(FlowError::AlgorithmRefusedByPortal)
            );
        }
    }
}
