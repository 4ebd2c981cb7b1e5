//! `sign`: its parameters (ifc-protocol.md 2.2, 2.3, 4.1) read and checked, what is to be signed
//! (the data, or the digest the page gives), and the signature of each sign type made over a
//! [`Signer`], which is the token once the person has allowed it (`consent`), or a software key
//! in tests.
//!
//! Sign types:
//! - 1 SIMPLE: the raw signature over the digest, as the CMS SignerInfo would carry it (GOST
//!   s ‖ r big-endian, which is also what `openssl pkeyutl` makes and verifies; RSA's block;
//!   ECDSA's DER `ECDSA-Sig-Value`).
//! - 2 SIMPLE_REVERSE: the same bytes in reverse order (CryptoAPI's little-endian order). Not
//!   for ECDSA, whose DER form has no reverse: [`IfcError::BadSignType`].
//! - 3 CMS_ATTACHED, 4 CMS_DETACHED, 5 CADES_BES_ATTACHED, 6 CADES_BES_DETACHED: one CAdES-BES
//!   (`signing::cades`) for both families. A CAdES-BES is a CMS SignedData whose signed
//!   attributes include signingCertificateV2; a CMS reader takes it, and which attributes the
//!   official plugin puts in its CMS types is not known.
//!
//! Input data types: 1 DATA is the string's UTF-8 bytes; 2 DATA_BASE64 the decoded bytes; 4
//! HASH_BASE64 a digest made with the key's hash, for the simple and the detached types only. 3
//! (HASH, raw) is refused as not supported (no caller sends it and its encoding in a JSON string
//! is unknown); 5 (FILENAME) as a bad input type: a page never names a file for the host to read.

use std::time::SystemTime;

use client::tokens::FoundKey;
use signing::cades::{self, Content};
use signing::{KeyAlgorithm, Pin, TokenError};
use zeroize::Zeroizing;

use crate::ifc_error::IfcError;
use crate::message::Params;
use crate::origin::Origin;
use crate::x509::decode_base64;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignType {
    Simple,
    SimpleReverse,
    CmsAttached,
    CmsDetached,
    CadesBesAttached,
    CadesBesDetached,
}

impl SignType {
    pub fn from_code(code: i64) -> Result<Self, IfcError> {
        Ok(match code {
            1 => Self::Simple,
            2 => Self::SimpleReverse,
            3 => Self::CmsAttached,
            4 => Self::CmsDetached,
            5 => Self::CadesBesAttached,
            6 => Self::CadesBesDetached,
            _ => return Err(IfcError::BadSignType),
        })
    }

    pub fn code(self) -> i64 {
        match self {
            Self::Simple => 1,
            Self::SimpleReverse => 2,
            Self::CmsAttached => 3,
            Self::CmsDetached => 4,
            Self::CadesBesAttached => 5,
            Self::CadesBesDetached => 6,
        }
    }

    fn is_attached(self) -> bool {
        matches!(self, Self::CmsAttached | Self::CadesBesAttached)
    }
}

/// What the page gives to be signed.
#[derive(Clone, PartialEq, Eq)]
pub enum Input {
    /// The content itself (`inDataType` 1 or 2).
    Data(Vec<u8>),
    /// A digest of the content made with the key's hash (`inDataType` 4).
    Hash(Vec<u8>),
}

impl std::fmt::Debug for Input {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Data(d) => write!(f, "Data({} bytes)", d.len()),
            Self::Hash(h) => write!(f, "Hash({})", hex::encode(h)),
        }
    }
}

/// A checked `sign` request, without its PIN (see [`SignRequest::parse`]).
#[derive(Debug, Clone)]
pub struct SignRequest {
    /// The origin the browser gave, which the consent window shows.
    pub origin: Origin,
    pub container_id: String,
    pub input: Input,
    pub sign_type: SignType,
}

/// What the consent window shows as "what will be signed".
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Shown {
    /// The data is text a person can read, of at most `client::bridge::MAX_SHOWN_TEXT` bytes.
    Text(String),
    /// The data is not text: its size and its digest with the key's hash, in hex.
    Bytes { length: usize, digest: String },
    /// Only a digest was given (`inDataType` 4), in hex.
    Digest(String),
}

impl SignRequest {
    /// Reads and checks the parameters. The PIN the page passed (`userPin`, empty for none) is
    /// returned apart, so that it moves on to be used once and wiped, and never travels with the
    /// request: a PIN that is not printable ASCII is [`IfcError::BadTypePin`] (the code the
    /// portal's widget meets with asking for the PIN again).
    pub fn parse(origin: Origin, params: &mut Params) -> Result<(Self, Option<Pin>), IfcError> {
        // Taken out first, so that it is wiped whichever parameter below is refused.
        let mut pin_text = Zeroizing::new(params.optional_string("userPin")?.unwrap_or_default());
        let container_id = params.string("containerId")?;
        let in_type = params.integer("inDataType")?;
        let data = params.string("data")?;
        let sign_type = SignType::from_code(params.integer("signType")?)?;
        // Ignored by the plugin since 3.1.0 (the library's comment), and by Podpis: the key
        // decides the hash. Still a number when given.
        let _hash_type = params.optional_integer("hashType")?;
        // Podpis always shows its own window; the CSP's UI does not exist here.
        let _csp_ui = params.optional_integer("cspUI")?;
        match params.optional_integer("outDataType")? {
            None | Some(1) => {}
            Some(0) => return Err(IfcError::UnsupportedFormat),
            Some(_) => return Err(IfcError::BadParams),
        }
        let input = match in_type {
            1 => Input::Data(data.into_bytes()),
            2 => Input::Data(decode_base64(&data)?),
            3 => return Err(IfcError::NotSupported),
            4 => Input::Hash(decode_base64(&data)?),
            _ => return Err(IfcError::BadInType),
        };
        if matches!(input, Input::Hash(_)) && sign_type.is_attached() {
            // Nothing to attach: only the digest came.
            return Err(IfcError::BadSignType);
        }
        let pin = if pin_text.is_empty() {
            None
        } else {
            // Pin::new wipes the String it is given.
            Some(Pin::new(std::mem::take(&mut *pin_text)).map_err(|_| IfcError::BadTypePin)?)
        };
        Ok((
            Self {
                origin,
                container_id,
                input,
                sign_type,
            },
            pin,
        ))
    }

    /// What the key itself rules out: a digest of another size than the key's hash
    /// ([`IfcError::BadParams`]), a reversed ECDSA signature ([`IfcError::BadSignType`]).
    pub fn check_key(&self, algorithm: KeyAlgorithm) -> Result<(), IfcError> {
        if let Input::Hash(hash) = &self.input {
            if hash.len() != algorithm.hash_len() {
                return Err(IfcError::BadParams);
            }
        }
        if self.sign_type == SignType::SimpleReverse
            && matches!(algorithm, KeyAlgorithm::EcdsaP256 | KeyAlgorithm::EcdsaP384)
        {
            return Err(IfcError::BadSignType);
        }
        Ok(())
    }

    /// What will be signed, for the person to see before the click.
    pub fn shown(&self, algorithm: KeyAlgorithm) -> Shown {
        match &self.input {
            Input::Hash(hash) => Shown::Digest(hex::encode(hash)),
            Input::Data(data) => match std::str::from_utf8(data) {
                // Longer text than the window shows whole is shown as data.
                Ok(text) if is_readable(text) && text.len() <= client::bridge::MAX_SHOWN_TEXT => {
                    Shown::Text(text.to_owned())
                }
                _ => Shown::Bytes {
                    length: data.len(),
                    digest: hex::encode(algorithm.digest(data)),
                },
            },
        }
    }
}

/// Text without control characters other than line breaks and tabs.
fn is_readable(text: &str) -> bool {
    text.chars()
        .all(|c| !c.is_control() || matches!(c, '\n' | '\r' | '\t'))
}

/// Why a signer could not sign.
#[derive(Debug, thiserror::Error)]
pub enum SignerError {
    #[error(transparent)]
    Token(#[from] TokenError),
    /// The person stopped it (closed the window, cancelled the PIN).
    #[error("cancelled")]
    Cancelled,
    #[error("{0}")]
    Failed(String),
}

/// The private-key operation: a digest in, the raw signature out (GOST s ‖ r, ECDSA r ‖ s, the
/// RSA block), as `client::tokens::sign` gets it from a card or a PKCS#11 module. `data` is what
/// the digest was taken over, when the host has it, for a token whose mechanism hashes itself.
pub trait Signer {
    fn sign(&mut self, digest: &[u8], data: Option<&[u8]>) -> Result<Vec<u8>, SignerError>;
}

#[derive(Debug, thiserror::Error)]
pub enum SignError {
    #[error(transparent)]
    Signer(#[from] SignerError),
    #[error(transparent)]
    Cades(#[from] cades::CadesError),
    #[error("the request does not fit the key")]
    Request(IfcError),
}

impl SignError {
    /// The IFCError the page gets.
    pub fn ifc(&self) -> IfcError {
        match self {
            Self::Signer(SignerError::Cancelled) => IfcError::GeneralError,
            Self::Signer(SignerError::Token(e)) => token_error(e),
            Self::Request(e) => *e,
            _ => IfcError::ErrorUnknown,
        }
    }
}

/// A token's failure as the page library knows them: a wrong PIN is IFC_P11_LOGIN_ERROR (on
/// which the portal's widget asks again), a PIN of the wrong form IFC_BAD_TYPE_PIN, a PKCS#11
/// module's failure IFC_P11_ERROR, anything else the smart-card subsystem's.
pub fn token_error(e: &TokenError) -> IfcError {
    match e {
        TokenError::PinIncorrect { .. } | TokenError::PinIncorrectUncounted { .. } => {
            IfcError::P11LoginError
        }
        TokenError::PinFormat(_) | TokenError::PinLengthRefused => IfcError::BadTypePin,
        TokenError::Pkcs11(_) => IfcError::P11Error,
        _ => IfcError::ScError,
    }
}

/// The signature `request` asks for, made by `signer` with the key of `certificate_der`: the
/// bytes that go base64 into `sign_value`.
pub fn make_signature(
    request: &SignRequest,
    certificate_der: &[u8],
    algorithm: KeyAlgorithm,
    signer: &mut dyn Signer,
    signing_time: SystemTime,
) -> Result<Vec<u8>, SignError> {
    request.check_key(algorithm).map_err(SignError::Request)?;
    match (request.sign_type, &request.input) {
        (SignType::Simple | SignType::SimpleReverse, input) => {
            let (digest, data) = match input {
                Input::Data(data) => (algorithm.digest(data), Some(data.as_slice())),
                Input::Hash(hash) => (hash.clone(), None),
            };
            let raw = signer.sign(&digest, data)?;
            check_length(algorithm, &raw)?;
            let mut value = algorithm.signature_value(&raw)?;
            if request.sign_type == SignType::SimpleReverse {
                value.reverse();
            }
            Ok(value)
        }
        (sign_type, Input::Data(data)) => {
            let form = if sign_type.is_attached() {
                Content::Attached
            } else {
                Content::Detached
            };
            let prepared = cades::prepare(data, certificate_der, algorithm, signing_time, form)?;
            let raw = signer.sign(
                prepared.digest_to_sign(),
                Some(prepared.signed_attributes()),
            )?;
            Ok(prepared.finish(&raw)?)
        }
        (_, Input::Hash(hash)) => {
            // Only the detached types come here (parse refuses the attached ones).
            let prepared = cades::prepare_digest(hash, certificate_der, algorithm, signing_time)?;
            let raw = signer.sign(
                prepared.digest_to_sign(),
                Some(prepared.signed_attributes()),
            )?;
            Ok(prepared.finish(&raw)?)
        }
    }
}

fn check_length(algorithm: KeyAlgorithm, raw: &[u8]) -> Result<(), SignError> {
    if raw.len() == algorithm.signature_len() {
        Ok(())
    } else {
        Err(SignError::Cades(cades::CadesError::SignatureLength {
            algorithm,
            expected: algorithm.signature_len(),
            actual: raw.len(),
        }))
    }
}

/// A signer over the token of a key, with the PIN the person allowed (the consent window's to
/// build: it is here so that the signing path is one with the app's).
pub struct TokenSigner {
    pub key: FoundKey,
    pub pin: Option<Pin>,
    pub last_try: signing::LastTry,
    pub deadline: std::time::Duration,
    pub tier: client::tokens::Pkcs11Tier,
}

impl Signer for TokenSigner {
    fn sign(&mut self, digest: &[u8], data: Option<&[u8]>) -> Result<Vec<u8>, SignerError> {
        use client::tokens::KeySource;
        // The PIN is used once: taken out here, wiped when the call drops it.
        let pin = self.pin.take();
        let algorithm = self.key.algorithm;
        match &self.key.source {
            KeySource::Card {
                reader, reference, ..
            } => {
                let pin = pin.ok_or(SignerError::Token(TokenError::Pkcs11(
                    signing::pkcs11::Pkcs11Error::PinRequired,
                )))?;
                Ok(signing::token::Reader::new(reader)
                    .with_deadline(self.deadline)
                    .sign(*reference, algorithm, digest.to_vec(), pin, self.last_try)?)
            }
            KeySource::Pkcs11 { token, id, .. } => {
                let to_sign = match data {
                    Some(data) => signing::pkcs11::ToSign::data(algorithm, data.to_vec()),
                    None => signing::pkcs11::ToSign::digest(digest.to_vec()),
                };
                let module = self
                    .tier
                    .modules
                    .iter()
                    .find(|m| m.path() == token.module.as_path())
                    .ok_or_else(|| {
                        SignerError::Token(TokenError::Pkcs11(
                            signing::pkcs11::Pkcs11Error::ModuleMissing {
                                module: token.module.clone(),
                            },
                        ))
                    })?;
                Ok(module.sign(token, id, algorithm, to_sign, pin, self.last_try)?)
            }
        }
    }
}
