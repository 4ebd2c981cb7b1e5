//! The work done inside a module: on the module's own thread (`Module`) or in the probe's child
//! process. Each operation opens its own session and closes it; a login is logged out before
//! the session closes, so that no later caller inherits it.

use std::collections::BTreeMap;
use std::path::Path;

use cryptoki::context::{Function, Pkcs11};
use cryptoki::error::{Error as CkError, RvError};
use cryptoki::mechanism::vendor_defined::VendorDefinedMechanism;
use cryptoki::mechanism::{Mechanism, MechanismType};
use cryptoki::object::{Attribute, AttributeType, CertificateType, KeyType, ObjectClass};
use cryptoki::session::{Session, UserType};
use cryptoki::slot::{Slot, TokenInfo as CkTokenInfo};
use cryptoki::types::{AuthPin, RawAuthPin};

use super::mechanism::{self, Mech, Plan, CKK_GOSTR3410_512};
use super::{Key, PinEntry, PinState, Pkcs11Error, ToSign, Token, TokenContents, TokenId};
use crate::card::CardError;
use crate::drivers::{KeyAlgorithm, TokenError};
use crate::pin::{LastTry, Pin, PinCondition};

/// A token holds a handful of objects; more than this is not a token Podpis reads.
const MAX_OBJECTS: usize = 256;
/// A certificate is a few KiB; a `CKA_VALUE` larger than this is not one.
const MAX_CERTIFICATE: usize = 64 * 1024;

/// The `CKR_…` name of a return code, as the standard spells it.
pub(crate) fn rv_name(rv: RvError) -> String {
    match rv {
        RvError::VendorDefined(code) => format!("CKR_VENDOR_DEFINED+0x{:X}", code - 0x8000_0000),
        RvError::UnknownErrorCode(code) => format!("CKR_0x{code:08X}"),
        other => {
            let camel = format!("{other:?}");
            let mut name = String::from("CKR_");
            for (i, c) in camel.chars().enumerate() {
                if c.is_ascii_uppercase() && i > 0 {
                    name.push('_');
                }
                name.push(c.to_ascii_uppercase());
            }
            name
        }
    }
}

fn function_name(function: Function) -> String {
    format!("C_{function:?}")
}

/// A cryptoki error as the caller hears it. The PIN errors of a login are mapped where the login
/// is made ([`login`]), which also reads the flags after a refusal.
pub(crate) fn map_error(e: CkError, module: &Path) -> TokenError {
    match e {
        CkError::Pkcs11(rv, function) => map_rv(rv, function),
        CkError::LibraryLoading(e) => Pkcs11Error::ModuleNotLoadable {
            module: module.to_path_buf(),
            reason: e.to_string(),
        }
        .into(),
        CkError::MissingSymbol(symbol) => Pkcs11Error::ModuleNotLoadable {
            module: module.to_path_buf(),
            reason: format!("no {symbol}"),
        }
        .into(),
        other => Pkcs11Error::Call {
            function: "cryptoki".into(),
            rv: other.to_string(),
        }
        .into(),
    }
}

fn map_rv(rv: RvError, function: Function) -> TokenError {
    match rv {
        RvError::PinLocked => TokenError::PinBlocked,
        RvError::PinLenRange => TokenError::PinLengthRefused,
        RvError::PinIncorrect => TokenError::PinIncorrectUncounted {
            condition: PinCondition::NoWarning,
        },
        RvError::PinExpired => Pkcs11Error::PinExpired.into(),
        RvError::TokenNotPresent | RvError::DeviceRemoved => CardError::Removed.into(),
        // The session vanished under the call (the token was pulled and put back, or the module
        // closed its sessions): nothing was signed, and trying again starts afresh.
        RvError::SessionHandleInvalid | RvError::SessionClosed => CardError::Reset.into(),
        RvError::FunctionCanceled | RvError::FunctionRejected => Pkcs11Error::Cancelled.into(),
        other => Pkcs11Error::Call {
            function: function_name(function),
            rv: rv_name(other),
        }
        .into(),
    }
}

/// The PIN state a token's flags give.
pub(crate) fn pin_state(info: &CkTokenInfo) -> PinState {
    PinState {
        condition: PinCondition::from_flags(
            info.user_pin_count_low(),
            info.user_pin_final_try(),
            info.user_pin_locked(),
        ),
        entry: if info.protected_authentication_path() {
            PinEntry::Reader
        } else {
            PinEntry::Keyboard
        },
        to_be_changed: info.user_pin_to_be_changed(),
        initialized: info.user_pin_initialized(),
        min_len: info.min_pin_length(),
        max_len: info.max_pin_length(),
        so_condition: PinCondition::from_flags(
            info.so_pin_count_low(),
            info.so_pin_final_try(),
            info.so_pin_locked(),
        ),
    }
}

pub(crate) fn token(module: &Path, slot: Slot, info: &CkTokenInfo) -> Token {
    Token {
        id: TokenId {
            module: module.to_path_buf(),
            slot: slot.id(),
            serial: info.serial_number().trim().to_owned(),
        },
        label: info.label().trim().to_owned(),
        manufacturer: info.manufacturer_id().trim().to_owned(),
        model: info.model().trim().to_owned(),
        pin: pin_state(info),
    }
}

/// The initialised tokens present in the module's slots. A token never initialised
/// (`CKF_TOKEN_INITIALIZED` clear, as SoftHSM's spare slot) holds nothing to sign with; the probe
/// report still shows it.
pub(crate) fn tokens(ctx: &Pkcs11, module: &Path) -> Result<Vec<Token>, TokenError> {
    let slots = ctx
        .get_slots_with_token()
        .map_err(|e| map_error(e, module))?;
    let mut tokens = Vec::new();
    for slot in slots {
        match ctx.get_token_info(slot) {
            Ok(info) if info.token_initialized() => tokens.push(token(module, slot, &info)),
            Ok(_) => {}
            // Pulled between the two calls: not there.
            Err(CkError::Pkcs11(RvError::TokenNotPresent | RvError::DeviceRemoved, _)) => {}
            Err(e) => return Err(map_error(e, module)),
        }
    }
    Ok(tokens)
}

/// The slot of `id`, after checking that the token in it is still the one named.
fn check_token(ctx: &Pkcs11, id: &TokenId) -> Result<(Slot, CkTokenInfo), TokenError> {
    let slot = Slot::try_from(id.slot).map_err(|e| map_error(e, &id.module))?;
    let info = ctx.get_token_info(slot).map_err(|e| match e {
        CkError::Pkcs11(RvError::SlotIdInvalid, _) => CardError::Removed.into(),
        e => map_error(e, &id.module),
    })?;
    if info.serial_number().trim() != id.serial {
        return Err(CardError::Removed.into());
    }
    Ok((slot, info))
}

/// The PIN state of `id`, read from its flags without touching them.
pub(crate) fn pin_status(ctx: &Pkcs11, id: &TokenId) -> Result<PinState, TokenError> {
    check_token(ctx, id).map(|(_, info)| pin_state(&info))
}

/// The keys of `id` that have a certificate with the same `CKA_ID`, read in a public session.
pub(crate) fn read(ctx: &Pkcs11, id: &TokenId) -> Result<TokenContents, TokenError> {
    let module = id.module.as_path();
    let (slot, info) = check_token(ctx, id)?;
    let session = ctx
        .open_ro_session(slot)
        .map_err(|e| map_error(e, module))?;
    let err = |e| map_error(e, module);

    let mut certificates: BTreeMap<Vec<u8>, (Vec<u8>, Option<String>)> = BTreeMap::new();
    for handle in find(&session, ObjectClass::CERTIFICATE, module)? {
        let attributes = session
            .get_attributes(
                handle,
                &[
                    AttributeType::CertificateType,
                    AttributeType::Id,
                    AttributeType::Value,
                    AttributeType::Label,
                ],
            )
            .map_err(err)?;
        let mut x509 = false;
        let (mut cka_id, mut value, mut label) = (None, None, None);
        for attribute in attributes {
            match attribute {
                Attribute::CertificateType(t) => x509 = t == CertificateType::X_509,
                Attribute::Id(v) if !v.is_empty() => cka_id = Some(v),
                Attribute::Value(v) if v.len() <= MAX_CERTIFICATE => value = Some(v),
                Attribute::Label(v) => label = text(&v),
                _ => {}
            }
        }
        if let (true, Some(cka_id), Some(value)) = (x509, cka_id, value) {
            certificates.entry(cka_id).or_insert((value, label));
        }
    }

    // Private keys are usually hidden until the login (CKA_PRIVATE): the public key with the
    // same CKA_ID stands for the key pair until then.
    let private = key_objects(&session, ObjectClass::PRIVATE_KEY, module)?;
    let public = key_objects(&session, ObjectClass::PUBLIC_KEY, module)?;
    let mut keys = Vec::new();
    for (cka_id, (certificate, cert_label)) in certificates {
        let Some(algorithm) = crate::certificate::signing_algorithm(&certificate) else {
            continue;
        };
        let (key_type, key_label, always_authenticate) = match private.get(&cka_id) {
            Some(key) => (key.key_type, key.label.clone(), key.always_authenticate),
            None => match public.get(&cka_id) {
                Some(key) => (key.key_type, key.label.clone(), None),
                None => continue,
            },
        };
        if !key_type.is_some_and(|t| fits(t, algorithm)) {
            continue;
        }
        keys.push(Key {
            id: cka_id,
            label: cert_label.or(key_label),
            algorithm,
            certificate,
            always_authenticate,
        });
    }
    Ok(TokenContents {
        token: token(module, slot, &info),
        keys,
    })
}

struct KeyObject {
    key_type: Option<KeyType>,
    label: Option<String>,
    always_authenticate: Option<bool>,
}

fn find(
    session: &Session,
    class: ObjectClass,
    module: &Path,
) -> Result<Vec<cryptoki::object::ObjectHandle>, TokenError> {
    let mut handles = Vec::new();
    let iter = session
        .iter_objects(&[Attribute::Class(class)])
        .map_err(|e| map_error(e, module))?;
    for handle in iter.take(MAX_OBJECTS) {
        handles.push(handle.map_err(|e| map_error(e, module))?);
    }
    Ok(handles)
}

fn key_objects(
    session: &Session,
    class: ObjectClass,
    module: &Path,
) -> Result<BTreeMap<Vec<u8>, KeyObject>, TokenError> {
    let mut keys = BTreeMap::new();
    for handle in find(session, class, module)? {
        let attributes = session
            .get_attributes(
                handle,
                &[
                    AttributeType::Id,
                    AttributeType::KeyType,
                    AttributeType::Label,
                    AttributeType::AlwaysAuthenticate,
                ],
            )
            .map_err(|e| map_error(e, module))?;
        let mut cka_id = None;
        let mut key = KeyObject {
            key_type: None,
            label: None,
            always_authenticate: (class == ObjectClass::PRIVATE_KEY).then_some(false),
        };
        for attribute in attributes {
            match attribute {
                Attribute::Id(v) if !v.is_empty() => cka_id = Some(v),
                Attribute::KeyType(t) => key.key_type = Some(t),
                Attribute::Label(v) => key.label = text(&v),
                Attribute::AlwaysAuthenticate(b) if class == ObjectClass::PRIVATE_KEY => {
                    key.always_authenticate = Some(b)
                }
                _ => {}
            }
        }
        if let Some(cka_id) = cka_id {
            keys.entry(cka_id).or_insert(key);
        }
    }
    Ok(keys)
}

fn text(bytes: &[u8]) -> Option<String> {
    let s = String::from_utf8_lossy(bytes).trim().to_owned();
    (!s.is_empty()).then_some(s)
}

/// Whether a key of `key_type` can be the key of a certificate for `algorithm`.
fn fits(key_type: KeyType, algorithm: KeyAlgorithm) -> bool {
    let gost_512 = KeyType::new_vendor_defined(CKK_GOSTR3410_512).ok();
    match algorithm {
        KeyAlgorithm::EcdsaP256 | KeyAlgorithm::EcdsaP384 => key_type == KeyType::EC,
        KeyAlgorithm::Rsa { .. } => key_type == KeyType::RSA,
        KeyAlgorithm::Gost2012_256 | KeyAlgorithm::Gost2001 => key_type == KeyType::GOSTR3410,
        // Some modules file 512-bit keys under CKK_GOSTR3410 with 512-bit parameters.
        KeyAlgorithm::Gost2012_512 => key_type == KeyType::GOSTR3410 || Some(key_type) == gost_512,
    }
}

/// What is checked before a login, from the flags read just before it: no login to a blocked
/// PIN, none on the final try without consent, and a PIN from the keyboard only where there
/// is no PIN pad. The login is then made once; Podpis never repeats it.
pub(crate) fn before_login(
    condition: PinCondition,
    last_try: LastTry,
    blocked: TokenError,
) -> Result<(), TokenError> {
    if condition.is_blocked() {
        return Err(blocked);
    }
    if condition.is_last_try() && last_try != LastTry::Confirmed {
        return Err(TokenError::LastTryNotConfirmed);
    }
    Ok(())
}

/// Which PIN a login presents, for the words of its refusal.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Role {
    User,
    SecurityOfficer,
}

/// One `C_Login`. A refusal is reported with the flags the token shows right after it; it is
/// never tried again.
fn login(
    ctx: &Pkcs11,
    session: &Session,
    id: &TokenId,
    slot: Slot,
    user: UserType,
    pin: Option<&Pin>,
) -> Result<(), TokenError> {
    let role = if matches!(user, UserType::So) {
        Role::SecurityOfficer
    } else {
        Role::User
    };
    let result = match pin {
        Some(pin) => {
            session.login_with_raw(user, &RawAuthPin::new(Box::new(pin.expose().to_vec())))
        }
        None => session.login(user, None),
    };
    match result {
        Ok(()) => Ok(()),
        Err(CkError::Pkcs11(RvError::PinIncorrect, _)) => {
            let after = ctx.get_token_info(slot).ok().map(|info| pin_state(&info));
            Err(match (role, after) {
                (Role::User, Some(state)) if state.condition.is_blocked() => TokenError::PinBlocked,
                (Role::User, state) => TokenError::PinIncorrectUncounted {
                    condition: state.map_or(PinCondition::NoWarning, |s| s.condition),
                },
                (Role::SecurityOfficer, Some(state)) if state.so_condition.is_blocked() => {
                    TokenError::PukBlocked
                }
                (Role::SecurityOfficer, state) => TokenError::PukIncorrectUncounted {
                    condition: state.map_or(PinCondition::NoWarning, |s| s.so_condition),
                },
            })
        }
        Err(CkError::Pkcs11(RvError::PinLocked, _)) if role == Role::SecurityOfficer => {
            Err(TokenError::PukBlocked)
        }
        Err(e) => Err(map_error(e, &id.module)),
    }
}

/// Logs out, whatever the outcome of the operation: the login state belongs to the whole
/// application on that token, and no later operation may inherit it.
fn logout(session: &Session) {
    // Not logged in (a failed login) is the usual reason this fails; nothing to undo then.
    let _ = session.logout();
}

fn mechanism(mech: Mech) -> Result<Mechanism<'static>, TokenError> {
    Ok(match mech {
        Mech::Ecdsa => Mechanism::Ecdsa,
        Mech::EcdsaSha256 => Mechanism::EcdsaSha256,
        Mech::EcdsaSha384 => Mechanism::EcdsaSha384,
        Mech::RsaPkcs => Mechanism::RsaPkcs,
        Mech::Sha256RsaPkcs => Mechanism::Sha256RsaPkcs,
        Mech::Vendor(number) => {
            let mechanism_type =
                MechanismType::new_vendor_defined(number).map_err(|e| Pkcs11Error::Call {
                    function: "cryptoki".into(),
                    rv: e.to_string(),
                })?;
            Mechanism::VendorDefined(VendorDefinedMechanism::new::<()>(mechanism_type, None))
        }
    })
}

/// Whether the token lists `mech` as a signing mechanism.
fn offers(ctx: &Pkcs11, slot: Slot, mech: Mech) -> bool {
    mechanism(mech).is_ok_and(|m| {
        ctx.get_mechanism_info(slot, m.mechanism_type())
            .is_ok_and(|info| info.sign())
    })
}

/// Logs in once, finds the private key by `CKA_ID`, signs, logs out. See
/// [`super::Module::sign`] for the contract.
pub(crate) fn sign(
    ctx: &Pkcs11,
    id: &TokenId,
    key_id: &[u8],
    algorithm: KeyAlgorithm,
    to_sign: &ToSign,
    pin: Option<&Pin>,
    last_try: LastTry,
) -> Result<Vec<u8>, TokenError> {
    let (session, slot) = logged_in_session(ctx, id, pin, last_try)?;
    let result = sign_logged_in(ctx, &session, id, slot, key_id, algorithm, to_sign, pin);
    logout(&session);
    result
}

/// The checks before a signing login (a blocked or expired PIN, none given where it must be
/// typed, its length), then a new read-only session logged in as the user: for one signature
/// ([`sign`]) and for a batch ([`sign_batch`]) alike.
fn logged_in_session(
    ctx: &Pkcs11,
    id: &TokenId,
    pin: Option<&Pin>,
    last_try: LastTry,
) -> Result<(Session, Slot), TokenError> {
    let (slot, info) = check_token(ctx, id)?;
    let state = pin_state(&info);
    before_login(state.condition, last_try, TokenError::PinBlocked)?;
    // Such a PIN logs in, and every signature then fails with CKR_PIN_EXPIRED: say so first.
    if state.to_be_changed {
        return Err(Pkcs11Error::PinExpired.into());
    }
    if pin.is_none() && state.entry == PinEntry::Keyboard {
        return Err(Pkcs11Error::PinRequired.into());
    }
    if let Some(pin) = pin {
        check_length(pin, &state, TokenError::PinFormat)?;
    }
    let session = ctx
        .open_ro_session(slot)
        .map_err(|e| map_error(e, id.module.as_path()))?;
    // A login left by a call that passed its deadline would let this one sign without the PIN
    // being checked: start logged out.
    logout(&session);
    login(ctx, &session, id, slot, UserType::User, pin)?;
    Ok((session, slot))
}

#[allow(clippy::too_many_arguments)]
fn sign_logged_in(
    ctx: &Pkcs11,
    session: &Session,
    id: &TokenId,
    slot: Slot,
    key_id: &[u8],
    algorithm: KeyAlgorithm,
    to_sign: &ToSign,
    pin: Option<&Pin>,
) -> Result<Vec<u8>, TokenError> {
    let key = private_key(session, id, key_id)?;
    sign_with_key(ctx, session, id, slot, &key, algorithm, to_sign, pin)
}

/// The private key with `CKA_ID` `key_id`, visible once logged in, and whether it demands the PIN
/// again for every signature.
struct PrivateKey {
    handle: cryptoki::object::ObjectHandle,
    always_authenticate: bool,
}

fn private_key(session: &Session, id: &TokenId, key_id: &[u8]) -> Result<PrivateKey, TokenError> {
    let err = |e| map_error(e, id.module.as_path());
    let handle = session
        .find_objects(&[
            Attribute::Class(ObjectClass::PRIVATE_KEY),
            Attribute::Id(key_id.to_vec()),
        ])
        .map_err(err)?
        .into_iter()
        .next()
        .ok_or_else(|| Pkcs11Error::KeyMissing {
            id: hex::encode(key_id),
        })?;
    let always_authenticate = session
        .get_attributes(handle, &[AttributeType::AlwaysAuthenticate])
        .map_err(err)?
        .into_iter()
        .any(|a| a == Attribute::AlwaysAuthenticate(true));
    Ok(PrivateKey {
        handle,
        always_authenticate,
    })
}

/// What a batch's job on the module thread tells its caller: first the login's outcome (with
/// whether the key asks for the PIN at every signature), then one answer per signature asked.
pub(crate) enum BatchAnswer {
    LoggedIn { always_authenticate: bool },
    Signature(Vec<u8>),
}

/// One `C_Login` for many signatures: the checks and the login of [`sign`], then a signature for
/// each item received until the caller closes `items` (or one fails: the batch stops there),
/// then the logout. A key with `CKA_ALWAYS_AUTHENTICATE` still gets its context-specific login
/// before each signature, with the same PIN; the caller hears so with the login's outcome.
#[allow(clippy::too_many_arguments)]
pub(crate) fn sign_batch(
    ctx: &Pkcs11,
    id: &TokenId,
    key_id: &[u8],
    algorithm: KeyAlgorithm,
    pin: Option<&Pin>,
    last_try: LastTry,
    items: &std::sync::mpsc::Receiver<ToSign>,
    answers: &std::sync::mpsc::Sender<Result<BatchAnswer, TokenError>>,
) {
    let logged_in = logged_in_session(ctx, id, pin, last_try).and_then(|(session, slot)| {
        match private_key(&session, id, key_id) {
            Ok(key) => Ok((session, slot, key)),
            Err(e) => {
                logout(&session);
                Err(e)
            }
        }
    });
    let (session, slot, key) = match logged_in {
        Ok(done) => done,
        Err(e) => {
            let _ = answers.send(Err(e));
            return;
        }
    };
    let told = answers.send(Ok(BatchAnswer::LoggedIn {
        always_authenticate: key.always_authenticate,
    }));
    if told.is_ok() {
        // The caller waits for each answer before it sends the next item.
        while let Ok(item) = items.recv() {
            let signed = sign_with_key(ctx, &session, id, slot, &key, algorithm, &item, pin);
            let failed = signed.is_err();
            if answers.send(signed.map(BatchAnswer::Signature)).is_err() || failed {
                break;
            }
        }
    }
    logout(&session);
}

#[allow(clippy::too_many_arguments)]
fn sign_with_key(
    ctx: &Pkcs11,
    session: &Session,
    id: &TokenId,
    slot: Slot,
    key: &PrivateKey,
    algorithm: KeyAlgorithm,
    to_sign: &ToSign,
    pin: Option<&Pin>,
) -> Result<Vec<u8>, TokenError> {
    let module = id.module.as_path();
    let err = |e| map_error(e, module);
    let PrivateKey {
        handle: key,
        always_authenticate,
    } = *key;
    let mut plan = mechanism::plan(algorithm, to_sign, always_authenticate)?;
    // The hash-and-sign mechanism chosen for a key that always authenticates may be missing
    // (SoftHSM 2.6 has no CKM_ECDSA_SHA256): the raw one, through C_SignUpdate, is the other way.
    if always_authenticate && !plan.single_part && !offers(ctx, slot, plan.mechanism) {
        if let Ok(raw) = mechanism::plan(algorithm, &ToSign::digest(to_sign.digest.clone()), true) {
            plan = raw;
        }
    }
    let Plan {
        mechanism: mech,
        input,
        ..
    } = plan;
    let mechanism = mechanism(mech)?;
    let unsupported = |e: CkError| match e {
        CkError::Pkcs11(RvError::MechanismInvalid | RvError::KeyTypeInconsistent, _) => {
            Pkcs11Error::MechanismUnsupported { algorithm }.into()
        }
        e => map_error(e, module),
    };
    let signature = if always_authenticate {
        // C_SignInit, the context-specific login with the same PIN, then the signature. cryptoki
        // has no C_Sign without its own C_SignInit, so the signature is taken through
        // C_SignUpdate / C_SignFinal.
        session.sign_init(&mechanism, key).map_err(unsupported)?;
        login(ctx, session, id, slot, UserType::ContextSpecific, pin)?;
        session.sign_update(&input).map_err(err)?;
        session.sign_final().map_err(err)?
    } else {
        session.sign(&mechanism, key, &input).map_err(unsupported)?
    };
    if signature.len() != algorithm.signature_len() {
        return Err(TokenError::Malformed(format!(
            "a {} signature of {} bytes, expected {}",
            algorithm.name(),
            signature.len(),
            algorithm.signature_len()
        )));
    }
    Ok(signature)
}

/// A PIN outside the lengths the token announces is refused before it reaches the token, so
/// that it spends no try. A token announcing nothing sensible (0, or min over max) is not
/// second-guessed.
fn check_length(
    pin: &Pin,
    state: &PinState,
    refuse: impl FnOnce(crate::pin::PinFormatError) -> TokenError,
) -> Result<(), TokenError> {
    if state.max_len == 0 || state.min_len > state.max_len {
        return Ok(());
    }
    pin.check_length(state.min_len, state.max_len)
        .map_err(refuse)
}

fn auth_pin(pin: &Pin) -> Result<AuthPin, TokenError> {
    // Pin holds printable ASCII only (Pin::new), so this is never lossy.
    let text = String::from_utf8(pin.expose().to_vec())
        .map_err(|_| TokenError::PinFormat(crate::pin::PinFormatError::Characters))?;
    Ok(AuthPin::from(text))
}

fn set_pin_error(e: CkError, module: &Path) -> TokenError {
    match e {
        CkError::Pkcs11(RvError::PinLenRange | RvError::PinInvalid | RvError::PinTooWeak, _) => {
            TokenError::NewPinRefused
        }
        e => map_error(e, module),
    }
}

/// `C_SetPIN` in a read-write public session: the token checks `old` itself (a wrong one is a
/// failed login and spends a try), with the last-try rule of signing.
pub(crate) fn change_pin(
    ctx: &Pkcs11,
    id: &TokenId,
    old: &Pin,
    new: &Pin,
    last_try: LastTry,
) -> Result<(), TokenError> {
    let module = id.module.as_path();
    let (slot, info) = check_token(ctx, id)?;
    let state = pin_state(&info);
    before_login(state.condition, last_try, TokenError::PinBlocked)?;
    check_length(old, &state, TokenError::PinFormat)?;
    check_length(new, &state, |_| TokenError::NewPinRefused)?;
    let session = ctx
        .open_rw_session(slot)
        .map_err(|e| map_error(e, module))?;
    logout(&session);
    match session.set_pin(&auth_pin(old)?, &auth_pin(new)?) {
        Ok(()) => Ok(()),
        Err(CkError::Pkcs11(RvError::PinIncorrect, _)) => {
            let after = ctx.get_token_info(slot).ok().map(|info| pin_state(&info));
            Err(match after {
                Some(state) if state.condition.is_blocked() => TokenError::PinBlocked,
                state => TokenError::PinIncorrectUncounted {
                    condition: state.map_or(PinCondition::NoWarning, |s| s.condition),
                },
            })
        }
        Err(e) => Err(set_pin_error(e, module)),
    }
}

/// The SO login, then `C_InitPIN` with the new user PIN, then logout. The SO PIN's own flags
/// decide the last-try rule.
pub(crate) fn unblock(
    ctx: &Pkcs11,
    id: &TokenId,
    so_pin: &Pin,
    new: &Pin,
    last_try: LastTry,
) -> Result<(), TokenError> {
    let module = id.module.as_path();
    let (slot, info) = check_token(ctx, id)?;
    let state = pin_state(&info);
    before_login(state.so_condition, last_try, TokenError::PukBlocked)?;
    check_length(new, &state, |_| TokenError::NewPinRefused)?;
    let session = ctx
        .open_rw_session(slot)
        .map_err(|e| map_error(e, module))?;
    logout(&session);
    login(ctx, &session, id, slot, UserType::So, Some(so_pin))?;
    let result = session
        .init_pin(&auth_pin(new)?)
        .map_err(|e| set_pin_error(e, module));
    logout(&session);
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn return_codes_are_named_as_the_standard_names_them() {
        assert_eq!(rv_name(RvError::PinIncorrect), "CKR_PIN_INCORRECT");
        assert_eq!(rv_name(RvError::PinLenRange), "CKR_PIN_LEN_RANGE");
        assert_eq!(
            rv_name(RvError::CryptokiNotInitialized),
            "CKR_CRYPTOKI_NOT_INITIALIZED"
        );
        assert_eq!(rv_name(RvError::GeneralError), "CKR_GENERAL_ERROR");
        assert_eq!(
            rv_name(RvError::VendorDefined(0x8000_0101)),
            "CKR_VENDOR_DEFINED+0x101"
        );
    }

    #[test]
    fn pin_and_token_codes_map_to_the_card_tiers_errors() {
        let f = Function::Login;
        assert_eq!(map_rv(RvError::PinLocked, f), TokenError::PinBlocked);
        assert_eq!(
            map_rv(RvError::PinLenRange, f),
            TokenError::PinLengthRefused
        );
        assert_eq!(
            map_rv(RvError::TokenNotPresent, f),
            TokenError::Card(CardError::Removed)
        );
        assert_eq!(
            map_rv(RvError::DeviceRemoved, Function::Sign),
            TokenError::Card(CardError::Removed)
        );
        assert_eq!(
            map_rv(RvError::SessionHandleInvalid, Function::Sign),
            TokenError::Card(CardError::Reset)
        );
        assert_eq!(
            map_rv(RvError::PinExpired, Function::Sign),
            TokenError::Pkcs11(Pkcs11Error::PinExpired)
        );
        assert_eq!(
            map_rv(RvError::FunctionFailed, Function::Sign),
            TokenError::Pkcs11(Pkcs11Error::Call {
                function: "C_Sign".into(),
                rv: "CKR_FUNCTION_FAILED".into()
            })
        );
    }

    #[test]
    fn no_login_to_a_locked_pin_nor_on_the_final_try_without_consent() {
        let blocked = || TokenError::PinBlocked;
        assert_eq!(
            before_login(PinCondition::Locked, LastTry::Confirmed, blocked()),
            Err(TokenError::PinBlocked)
        );
        assert_eq!(
            before_login(PinCondition::FinalTry, LastTry::NotConfirmed, blocked()),
            Err(TokenError::LastTryNotConfirmed)
        );
        assert_eq!(
            before_login(PinCondition::FinalTry, LastTry::Confirmed, blocked()),
            Ok(())
        );
        assert_eq!(
            before_login(PinCondition::CountLow, LastTry::NotConfirmed, blocked()),
            Ok(())
        );
        assert_eq!(
            before_login(
                PinCondition::Locked,
                LastTry::Confirmed,
                TokenError::PukBlocked
            ),
            Err(TokenError::PukBlocked)
        );
    }
}
