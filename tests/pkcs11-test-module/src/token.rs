//! The module's state and PKCS#11 semantics, in safe Rust: one slot, its token, the sessions, who
//! is logged in, and the find and sign operations. [`crate::ffi`] only turns C pointers into these
//! calls and back; every error here is the `CK_RV` the function returns.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use cryptoki_sys::*;
use openssl::pkey::PKey;
use openssl::pkey_ctx::PkeyCtx;
use streebog::{Digest, Streebog256, Streebog512};

use crate::objects::{objects_for, parse_certificate, CertificateError, GostKey, Object};
use crate::store::{self, PinState, StoreError, TokenFile, MAX_PIN_LEN, MIN_PIN_LEN};
use crate::tc26;

/// A PKCS#11 result: the error is the `CK_RV` to return.
pub type Rv<T> = Result<T, CK_RV>;

/// The module's only slot.
pub const SLOT_ID: CK_SLOT_ID = 0;

/// The mechanisms of the token: signing a precomputed digest (single-part, as PKCS#11 defines
/// them) and signing data the token hashes with Streebog (single- or multi-part), 256 and 512 bits.
pub const MECHANISMS: [CK_MECHANISM_TYPE; 4] = [
    CKM_GOSTR3410,
    tc26::CKM_GOSTR3410_512,
    tc26::CKM_GOSTR3410_WITH_GOSTR3411_12_256,
    tc26::CKM_GOSTR3410_WITH_GOSTR3411_12_512,
];

/// The most data a multi-part signature gathers: signed attributes are a few KiB.
const MAX_SIGNED_DATA: usize = 1 << 20;

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0}: {1}")]
    Io(String, std::io::Error),
    #[error("{0}: {1}")]
    Certificate(String, CertificateError),
}

#[derive(Debug, thiserror::Error)]
enum SignError {
    #[error("{0}: {1}")]
    Io(String, std::io::Error),
    #[error("OpenSSL cannot sign with {0} (is the GOST engine loaded through OPENSSL_CONF?): {1}")]
    OpenSsl(String, openssl::error::ErrorStack),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Login {
    Nobody,
    User,
    SecurityOfficer,
}

/// Which PIN a check is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Who {
    User,
    SecurityOfficer,
}

struct Token {
    dir: PathBuf,
    file: TokenFile,
    objects: Vec<Object>,
    /// Private key handle → what signs with it.
    keys: BTreeMap<CK_OBJECT_HANDLE, SigningKey>,
}

#[derive(Clone)]
struct SigningKey {
    pem: PathBuf,
    kind: GostKey,
    always_authenticate: bool,
}

#[derive(Default)]
struct Session {
    read_write: bool,
    find: Option<Vec<CK_OBJECT_HANDLE>>,
    sign: Option<SignOperation>,
}

struct SignOperation {
    key: SigningKey,
    mechanism: SignMechanism,
    /// For a key with `CKA_ALWAYS_AUTHENTICATE`: the context-specific login of this operation.
    context_login: bool,
    /// The data of a multi-part signature so far (`C_SignUpdate`).
    parts: Option<Vec<u8>>,
}

/// A signing mechanism of the token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SignMechanism {
    /// `CKM_GOSTR3410` / `CKM_GOSTR3410_512`: the input is the digest.
    Digest(GostKey),
    /// `CKM_GOSTR3410_WITH_GOSTR3411_12_256` / `_512`: the token hashes the input with Streebog.
    Streebog(GostKey),
}

impl SignMechanism {
    fn from_type(mechanism: CK_MECHANISM_TYPE) -> Rv<Self> {
        match mechanism {
            CKM_GOSTR3410 => Ok(Self::Digest(GostKey::Gost2012_256)),
            tc26::CKM_GOSTR3410_512 => Ok(Self::Digest(GostKey::Gost2012_512)),
            tc26::CKM_GOSTR3410_WITH_GOSTR3411_12_256 => Ok(Self::Streebog(GostKey::Gost2012_256)),
            tc26::CKM_GOSTR3410_WITH_GOSTR3411_12_512 => Ok(Self::Streebog(GostKey::Gost2012_512)),
            _ => Err(CKR_MECHANISM_INVALID),
        }
    }

    fn key_size(self) -> GostKey {
        match self {
            Self::Digest(size) | Self::Streebog(size) => size,
        }
    }

    /// The digest the key signs, from what the caller gave.
    fn digest(self, input: &[u8]) -> Rv<Vec<u8>> {
        match self {
            Self::Digest(size) if input.len() == size.digest_len() => Ok(input.to_vec()),
            Self::Digest(_) => Err(CKR_DATA_LEN_RANGE),
            Self::Streebog(GostKey::Gost2012_512) => Ok(Streebog512::digest(input).to_vec()),
            Self::Streebog(_) => Ok(Streebog256::digest(input).to_vec()),
        }
    }
}

/// What `C_GetTokenInfo` reports that changes.
pub struct TokenInfo {
    pub label: String,
    pub serial: String,
    pub flags: CK_FLAGS,
    pub sessions: usize,
    pub rw_sessions: usize,
}

pub struct Module {
    token: Option<Token>,
    sessions: BTreeMap<CK_SESSION_HANDLE, Session>,
    next_session: CK_SESSION_HANDLE,
    login: Login,
}

impl Module {
    /// The token of the directory named by `PODPIS_TEST_P11_DIR`; without it, an empty slot.
    pub fn load() -> Result<Self, LoadError> {
        let dir = std::env::var_os(store::DIR_VARIABLE).map(PathBuf::from);
        Self::with_token_dir(dir.as_deref())
    }

    pub fn with_token_dir(dir: Option<&Path>) -> Result<Self, LoadError> {
        Ok(Self {
            token: dir.map(Token::load).transpose()?,
            sessions: BTreeMap::new(),
            next_session: 1,
            login: Login::Nobody,
        })
    }

    pub fn token_present(&self) -> bool {
        self.token.is_some()
    }

    pub fn check_slot(&self, slot: CK_SLOT_ID) -> Rv<()> {
        if slot == SLOT_ID {
            Ok(())
        } else {
            Err(CKR_SLOT_ID_INVALID)
        }
    }

    fn token(&self, slot: CK_SLOT_ID) -> Rv<&Token> {
        self.check_slot(slot)?;
        self.token.as_ref().ok_or(CKR_TOKEN_NOT_PRESENT)
    }

    /// The token of an open session (a session exists only while the token does).
    fn session_token(&self) -> Rv<&Token> {
        self.token.as_ref().ok_or(CKR_DEVICE_REMOVED)
    }

    pub fn token_info(&self, slot: CK_SLOT_ID) -> Rv<TokenInfo> {
        let token = self.token(slot)?;
        let pins = token.pin_state()?;
        let mut flags = CKF_LOGIN_REQUIRED | CKF_USER_PIN_INITIALIZED | CKF_TOKEN_INITIALIZED;
        if token.file.pin_pad_entry.is_some() {
            flags |= CKF_PROTECTED_AUTHENTICATION_PATH;
        }
        flags |= pin_flags(
            token.tries_left(&pins, Who::User),
            token.file.user_pin_max_tries,
            [
                CKF_USER_PIN_COUNT_LOW,
                CKF_USER_PIN_FINAL_TRY,
                CKF_USER_PIN_LOCKED,
            ],
        );
        flags |= pin_flags(
            token.tries_left(&pins, Who::SecurityOfficer),
            token.file.so_pin_max_tries,
            [
                CKF_SO_PIN_COUNT_LOW,
                CKF_SO_PIN_FINAL_TRY,
                CKF_SO_PIN_LOCKED,
            ],
        );
        Ok(TokenInfo {
            label: token.file.label.clone(),
            serial: token.file.serial.clone(),
            flags,
            sessions: self.sessions.len(),
            rw_sessions: self.sessions.values().filter(|s| s.read_write).count(),
        })
    }

    pub fn mechanisms(&self, slot: CK_SLOT_ID) -> Rv<Vec<CK_MECHANISM_TYPE>> {
        self.token(slot)?;
        Ok(MECHANISMS.to_vec())
    }

    pub fn mechanism_info(
        &self,
        slot: CK_SLOT_ID,
        mechanism: CK_MECHANISM_TYPE,
    ) -> Rv<CK_MECHANISM_INFO> {
        self.token(slot)?;
        let key = SignMechanism::from_type(mechanism)?.key_size();
        Ok(CK_MECHANISM_INFO {
            ulMinKeySize: key.bits(),
            ulMaxKeySize: key.bits(),
            flags: CKF_HW | CKF_SIGN,
        })
    }

    pub fn open_session(&mut self, slot: CK_SLOT_ID, flags: CK_FLAGS) -> Rv<CK_SESSION_HANDLE> {
        self.token(slot)?;
        if flags & CKF_SERIAL_SESSION == 0 {
            return Err(CKR_SESSION_PARALLEL_NOT_SUPPORTED);
        }
        let read_write = flags & CKF_RW_SESSION != 0;
        if self.login == Login::SecurityOfficer && !read_write {
            return Err(CKR_SESSION_READ_WRITE_SO_EXISTS);
        }
        let handle = self.next_session;
        self.next_session += 1;
        self.sessions.insert(
            handle,
            Session {
                read_write,
                ..Session::default()
            },
        );
        Ok(handle)
    }

    pub fn close_session(&mut self, handle: CK_SESSION_HANDLE) -> Rv<()> {
        self.sessions
            .remove(&handle)
            .ok_or(CKR_SESSION_HANDLE_INVALID)?;
        // PKCS#11: the login belongs to the application and ends with its last session.
        if self.sessions.is_empty() {
            self.login = Login::Nobody;
        }
        Ok(())
    }

    pub fn close_all_sessions(&mut self, slot: CK_SLOT_ID) -> Rv<()> {
        self.token(slot)?;
        self.sessions.clear();
        self.login = Login::Nobody;
        Ok(())
    }

    /// `(state, flags)` of `CK_SESSION_INFO`.
    pub fn session_info(&self, handle: CK_SESSION_HANDLE) -> Rv<(CK_STATE, CK_FLAGS)> {
        let session = self.session(handle)?;
        let state = match (self.login, session.read_write) {
            (Login::Nobody, false) => CKS_RO_PUBLIC_SESSION,
            (Login::Nobody, true) => CKS_RW_PUBLIC_SESSION,
            (Login::User, false) => CKS_RO_USER_FUNCTIONS,
            (Login::User, true) => CKS_RW_USER_FUNCTIONS,
            (Login::SecurityOfficer, _) => CKS_RW_SO_FUNCTIONS,
        };
        let mut flags = CKF_SERIAL_SESSION;
        if session.read_write {
            flags |= CKF_RW_SESSION;
        }
        Ok((state, flags))
    }

    /// `pin` is `None` when the caller leaves the PIN to the token's PIN pad.
    pub fn login(
        &mut self,
        handle: CK_SESSION_HANDLE,
        user_type: CK_USER_TYPE,
        pin: Option<&[u8]>,
    ) -> Rv<()> {
        self.session(handle)?;
        let token = self.session_token()?;
        match user_type {
            CKU_USER => {
                match self.login {
                    Login::User => return Err(CKR_USER_ALREADY_LOGGED_IN),
                    Login::SecurityOfficer => return Err(CKR_USER_ANOTHER_ALREADY_LOGGED_IN),
                    Login::Nobody => {}
                }
                token.check_pin(Who::User, pin)?;
                self.login = Login::User;
            }
            CKU_SO => {
                match self.login {
                    Login::SecurityOfficer => return Err(CKR_USER_ALREADY_LOGGED_IN),
                    Login::User => return Err(CKR_USER_ANOTHER_ALREADY_LOGGED_IN),
                    Login::Nobody => {}
                }
                if self.sessions.values().any(|s| !s.read_write) {
                    return Err(CKR_SESSION_READ_ONLY_EXISTS);
                }
                token.check_pin(Who::SecurityOfficer, pin)?;
                self.login = Login::SecurityOfficer;
            }
            CKU_CONTEXT_SPECIFIC => {
                if self.login != Login::User {
                    return Err(CKR_USER_NOT_LOGGED_IN);
                }
                let needs_it = self
                    .session(handle)?
                    .sign
                    .as_ref()
                    .is_some_and(|op| op.key.always_authenticate);
                if !needs_it {
                    return Err(CKR_OPERATION_NOT_INITIALIZED);
                }
                token.check_pin(Who::User, pin)?;
                if let Some(op) = self.session_mut(handle)?.sign.as_mut() {
                    op.context_login = true;
                }
            }
            _ => return Err(CKR_USER_TYPE_INVALID),
        }
        Ok(())
    }

    pub fn logout(&mut self, handle: CK_SESSION_HANDLE) -> Rv<()> {
        self.session(handle)?;
        if self.login == Login::Nobody {
            return Err(CKR_USER_NOT_LOGGED_IN);
        }
        self.login = Login::Nobody;
        // Operations with private keys do not outlive the login.
        for session in self.sessions.values_mut() {
            session.sign = None;
        }
        Ok(())
    }

    /// `C_SetPIN`: the SO's PIN when the SO is logged in, the user's otherwise.
    pub fn set_pin(&mut self, handle: CK_SESSION_HANDLE, old: &[u8], new: &[u8]) -> Rv<()> {
        let session = self.session(handle)?;
        if !session.read_write {
            return Err(CKR_SESSION_READ_ONLY);
        }
        let who = match self.login {
            Login::SecurityOfficer => Who::SecurityOfficer,
            Login::User | Login::Nobody => Who::User,
        };
        let token = self.session_token()?;
        // The new PIN's form is checked before the old one is compared, so a PIN the token would
        // refuse anyway costs no try.
        let new = valid_new_pin(new)?;
        token.check_pin(who, Some(old))?;
        let mut pins = token.pin_state()?;
        match who {
            Who::User => pins.user_pin = new,
            Who::SecurityOfficer => pins.so_pin = new,
        }
        token.save_pin_state(&pins)
    }

    /// `C_InitPIN`: the SO sets a new user PIN, which also unblocks it.
    pub fn init_pin(&mut self, handle: CK_SESSION_HANDLE, pin: &[u8]) -> Rv<()> {
        let session = self.session(handle)?;
        if self.login != Login::SecurityOfficer {
            return Err(CKR_USER_NOT_LOGGED_IN);
        }
        if !session.read_write {
            return Err(CKR_SESSION_READ_ONLY);
        }
        let token = self.session_token()?;
        let pin = valid_new_pin(pin)?;
        let mut pins = token.pin_state()?;
        pins.user_pin = pin;
        pins.user_tries_left = Some(token.file.user_pin_max_tries);
        token.save_pin_state(&pins)
    }

    pub fn find_init(
        &mut self,
        handle: CK_SESSION_HANDLE,
        template: &[(CK_ATTRIBUTE_TYPE, Vec<u8>)],
    ) -> Rv<()> {
        if self.session(handle)?.find.is_some() {
            return Err(CKR_OPERATION_ACTIVE);
        }
        let login = self.login;
        let found = self
            .session_token()?
            .objects
            .iter()
            .filter(|o| visible(o, login) && o.matches(template))
            .map(|o| o.handle)
            .collect();
        self.session_mut(handle)?.find = Some(found);
        Ok(())
    }

    pub fn find_next(
        &mut self,
        handle: CK_SESSION_HANDLE,
        max: usize,
    ) -> Rv<Vec<CK_OBJECT_HANDLE>> {
        let found = self
            .session_mut(handle)?
            .find
            .as_mut()
            .ok_or(CKR_OPERATION_NOT_INITIALIZED)?;
        let n = max.min(found.len());
        Ok(found.drain(..n).collect())
    }

    pub fn find_final(&mut self, handle: CK_SESSION_HANDLE) -> Rv<()> {
        self.session_mut(handle)?
            .find
            .take()
            .map(|_| ())
            .ok_or(CKR_OPERATION_NOT_INITIALIZED)
    }

    /// An object the session may see.
    pub fn object(&self, handle: CK_SESSION_HANDLE, object: CK_OBJECT_HANDLE) -> Rv<&Object> {
        self.session(handle)?;
        self.session_token()?
            .objects
            .iter()
            .find(|o| o.handle == object && visible(o, self.login))
            .ok_or(CKR_OBJECT_HANDLE_INVALID)
    }

    pub fn sign_init(
        &mut self,
        handle: CK_SESSION_HANDLE,
        mechanism: CK_MECHANISM_TYPE,
        key: CK_OBJECT_HANDLE,
    ) -> Rv<()> {
        if self.session(handle)?.sign.is_some() {
            return Err(CKR_OPERATION_ACTIVE);
        }
        let wanted = SignMechanism::from_type(mechanism)?;
        if self.login != Login::User {
            return Err(CKR_USER_NOT_LOGGED_IN);
        }
        let key = self
            .session_token()?
            .keys
            .get(&key)
            .cloned()
            .ok_or(CKR_KEY_HANDLE_INVALID)?;
        // CKM_GOSTR3410 signs with 256-bit keys (2012, and 2001 as the spec first defined it);
        // a 512-bit key needs CKM_GOSTR3410_512; the Streebog ones want 2012 keys of their size.
        if !key.kind.mechanisms().contains(&mechanism) {
            return Err(CKR_KEY_TYPE_INCONSISTENT);
        }
        self.session_mut(handle)?.sign = Some(SignOperation {
            key,
            mechanism: wanted,
            context_login: false,
            parts: None,
        });
        Ok(())
    }

    /// Bytes the pending signature will have (`C_Sign` with no buffer); the operation goes on.
    pub fn signature_len(&self, handle: CK_SESSION_HANDLE) -> Rv<usize> {
        self.session(handle)?
            .sign
            .as_ref()
            .map(|op| op.key.kind.signature_len())
            .ok_or(CKR_OPERATION_NOT_INITIALIZED)
    }

    /// `C_Sign`: signs `input` (the digest, or the data to hash) and ends the operation, whatever
    /// the outcome.
    pub fn sign(&mut self, handle: CK_SESSION_HANDLE, input: &[u8]) -> Rv<Vec<u8>> {
        let op = self
            .session_mut(handle)?
            .sign
            .take()
            .ok_or(CKR_OPERATION_NOT_INITIALIZED)?;
        if op.parts.is_some() {
            // C_Sign after C_SignUpdate: the caller lost track of its own operation.
            return Err(CKR_OPERATION_ACTIVE);
        }
        let digest = op.mechanism.digest(input)?;
        finish(&op, &digest)
    }

    /// `C_SignUpdate`: only the Streebog mechanisms are multi-part; the digest ones are
    /// single-part by the standard, and an error ends the operation.
    pub fn sign_update(&mut self, handle: CK_SESSION_HANDLE, part: &[u8]) -> Rv<()> {
        let session = self.session_mut(handle)?;
        let op = session.sign.as_mut().ok_or(CKR_OPERATION_NOT_INITIALIZED)?;
        let failure = match op.mechanism {
            SignMechanism::Digest(_) => Some(CKR_FUNCTION_NOT_SUPPORTED),
            SignMechanism::Streebog(_) => {
                let parts = op.parts.get_or_insert_with(Vec::new);
                parts.extend_from_slice(part);
                (parts.len() > MAX_SIGNED_DATA).then_some(CKR_DATA_LEN_RANGE)
            }
        };
        match failure {
            Some(rv) => {
                session.sign = None;
                Err(rv)
            }
            None => Ok(()),
        }
    }

    /// `C_SignFinal`: signs what `C_SignUpdate` gathered and ends the operation.
    pub fn sign_final(&mut self, handle: CK_SESSION_HANDLE) -> Rv<Vec<u8>> {
        let op = self
            .session_mut(handle)?
            .sign
            .take()
            .ok_or(CKR_OPERATION_NOT_INITIALIZED)?;
        let digest = match op.mechanism {
            SignMechanism::Digest(_) => return Err(CKR_FUNCTION_NOT_SUPPORTED),
            SignMechanism::Streebog(_) => {
                op.mechanism.digest(op.parts.as_deref().unwrap_or(&[]))?
            }
        };
        finish(&op, &digest)
    }

    fn session(&self, handle: CK_SESSION_HANDLE) -> Rv<&Session> {
        self.sessions.get(&handle).ok_or(CKR_SESSION_HANDLE_INVALID)
    }

    fn session_mut(&mut self, handle: CK_SESSION_HANDLE) -> Rv<&mut Session> {
        self.sessions
            .get_mut(&handle)
            .ok_or(CKR_SESSION_HANDLE_INVALID)
    }
}

impl Token {
    fn load(dir: &Path) -> Result<Self, LoadError> {
        let file = TokenFile::load(dir)?;
        // Read now so that a token without its PIN file fails at C_Initialize, not at login.
        PinState::load(dir)?;
        let mut objects = Vec::new();
        let mut keys = BTreeMap::new();
        for (i, entry) in file.objects.iter().enumerate() {
            let first = 3 * i as CK_OBJECT_HANDLE + 1;
            let cert_path = store::resolve(dir, &entry.certificate);
            let der = fs::read(&cert_path)
                .map_err(|e| LoadError::Io(cert_path.display().to_string(), e))?;
            let cert = parse_certificate(&der)
                .map_err(|e| LoadError::Certificate(cert_path.display().to_string(), e))?;
            if let Some(key) = &entry.key {
                let pem = store::resolve(dir, key);
                fs::metadata(&pem).map_err(|e| LoadError::Io(pem.display().to_string(), e))?;
                keys.insert(
                    first + 2,
                    SigningKey {
                        pem,
                        kind: cert.key,
                        always_authenticate: entry.always_authenticate,
                    },
                );
            }
            objects.extend(objects_for(
                first,
                &entry.id_bytes(),
                &entry.label,
                &cert,
                entry.key.is_some(),
                entry.always_authenticate,
            ));
        }
        Ok(Self {
            dir: dir.to_path_buf(),
            file,
            objects,
            keys,
        })
    }

    /// Read again at each use: another process may have spent a try since.
    fn pin_state(&self) -> Rv<PinState> {
        PinState::load(&self.dir).map_err(|e| {
            eprintln!("pkcs11-test-module: {e}");
            CKR_DEVICE_ERROR
        })
    }

    fn save_pin_state(&self, pins: &PinState) -> Rv<()> {
        pins.save(&self.dir).map_err(|e| {
            eprintln!("pkcs11-test-module: {e}");
            CKR_DEVICE_ERROR
        })
    }

    fn max_tries(&self, who: Who) -> u8 {
        match who {
            Who::User => self.file.user_pin_max_tries,
            Who::SecurityOfficer => self.file.so_pin_max_tries,
        }
    }

    fn tries_left(&self, pins: &PinState, who: Who) -> u8 {
        let left = match who {
            Who::User => pins.user_tries_left,
            Who::SecurityOfficer => pins.so_tries_left,
        };
        let max = self.max_tries(who);
        left.unwrap_or(max).min(max)
    }

    /// One PIN check, as a token counts it: a blocked PIN is not compared, a PIN of impossible
    /// length costs no try, a wrong one costs one, a right one restores them all.
    fn check_pin(&self, who: Who, pin: Option<&[u8]>) -> Rv<()> {
        let pin = match (pin, &self.file.pin_pad_entry) {
            (Some(pin), _) => pin,
            (None, Some(typed_on_the_pad)) => typed_on_the_pad.as_bytes(),
            (None, None) => return Err(CKR_ARGUMENTS_BAD),
        };
        let mut pins = self.pin_state()?;
        let left = self.tries_left(&pins, who);
        if left == 0 {
            return Err(CKR_PIN_LOCKED);
        }
        if !(MIN_PIN_LEN..=MAX_PIN_LEN).contains(&pin.len()) {
            return Err(CKR_PIN_LEN_RANGE);
        }
        let expected = match who {
            Who::User => pins.user_pin.as_bytes(),
            Who::SecurityOfficer => pins.so_pin.as_bytes(),
        };
        let right = pin.len() == expected.len() && openssl::memcmp::eq(pin, expected);
        let after = if right { self.max_tries(who) } else { left - 1 };
        if after != left {
            match who {
                Who::User => pins.user_tries_left = Some(after),
                Who::SecurityOfficer => pins.so_tries_left = Some(after),
            }
            self.save_pin_state(&pins)?;
        }
        if right {
            Ok(())
        } else {
            Err(CKR_PIN_INCORRECT)
        }
    }
}

/// `CKF_*_PIN_COUNT_LOW`, `_FINAL_TRY`, `_LOCKED` from the tries left: low once a wrong PIN has
/// been entered since the last right one, final with one try left, locked with none.
fn pin_flags(left: u8, max: u8, [count_low, final_try, locked]: [CK_FLAGS; 3]) -> CK_FLAGS {
    match left {
        0 => locked,
        1 if max > 1 => count_low | final_try,
        1 => final_try,
        left if left < max => count_low,
        _ => 0,
    }
}

fn visible(object: &Object, login: Login) -> bool {
    !object.private || login == Login::User
}

/// The end of every signature: the context-specific login where the key wants one, then the key.
fn finish(op: &SignOperation, digest: &[u8]) -> Rv<Vec<u8>> {
    if op.key.always_authenticate && !op.context_login {
        return Err(CKR_USER_NOT_LOGGED_IN);
    }
    let signature = sign_digest(&op.key.pem, digest).map_err(|e| {
        eprintln!("pkcs11-test-module: {e}");
        CKR_FUNCTION_FAILED
    })?;
    if signature.len() != op.key.kind.signature_len() {
        eprintln!(
            "pkcs11-test-module: {} gave a {}-byte signature, not {}: the key is not the \
             certificate's size",
            op.key.pem.display(),
            signature.len(),
            op.key.kind.signature_len()
        );
        return Err(CKR_FUNCTION_FAILED);
    }
    Ok(signature)
}

fn valid_new_pin(pin: &[u8]) -> Rv<String> {
    if !(MIN_PIN_LEN..=MAX_PIN_LEN).contains(&pin.len()) {
        return Err(CKR_PIN_LEN_RANGE);
    }
    String::from_utf8(pin.to_vec()).map_err(|_| CKR_PIN_INVALID)
}

/// The digest goes to the engine as it came: the engine reads it as the standard does
/// (docs/pkcs11.md), and returns s ‖ r, big-endian halves, which is what `C_Sign` returns.
fn sign_digest(pem_path: &Path, digest: &[u8]) -> Result<Vec<u8>, SignError> {
    let name = pem_path.display().to_string();
    let pem = fs::read(pem_path).map_err(|e| SignError::Io(name.clone(), e))?;
    let openssl_error = |e| SignError::OpenSsl(name.clone(), e);
    let key = PKey::private_key_from_pem(&pem).map_err(openssl_error)?;
    let mut ctx = PkeyCtx::new(&key).map_err(openssl_error)?;
    ctx.sign_init().map_err(openssl_error)?;
    let mut signature = Vec::new();
    ctx.sign_to_vec(digest, &mut signature)
        .map_err(openssl_error)?;
    Ok(signature)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::objects::ulong;
    use crate::store::ObjectFile;

    const PIN: &[u8] = b"12345678";
    const SO_PIN: &[u8] = b"87654321";

    /// A token with the unit-test certificate and a key file that is never read here (signing
    /// needs the GOST engine, which only the integration tests load, in pkcs11-tool's process).
    fn token_dir(pin_pad: bool) -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("tmp");
        let der = hex::decode(include_str!("../tests/data/gost256.cert.hex").trim()).expect("hex");
        fs::write(dir.path().join("c.der"), der).expect("cert");
        fs::write(dir.path().join("k.pem"), "not read by these tests").expect("key");
        TokenFile {
            label: "unit".into(),
            serial: "42".into(),
            user_pin_max_tries: 3,
            so_pin_max_tries: 2,
            pin_pad_entry: pin_pad.then(|| "12345678".into()),
            objects: vec![ObjectFile {
                id: "01".into(),
                label: "GOST".into(),
                certificate: "c.der".into(),
                key: Some("k.pem".into()),
                always_authenticate: false,
            }],
        }
        .save(dir.path())
        .expect("token");
        PinState {
            user_pin: "12345678".into(),
            user_tries_left: None,
            so_pin: "87654321".into(),
            so_tries_left: None,
        }
        .save(dir.path())
        .expect("state");
        dir
    }

    fn module(dir: &Path) -> (Module, CK_SESSION_HANDLE) {
        let mut module = Module::with_token_dir(Some(dir)).expect("load");
        let session = module
            .open_session(SLOT_ID, CKF_SERIAL_SESSION | CKF_RW_SESSION)
            .expect("session");
        (module, session)
    }

    fn user_flags(module: &Module) -> CK_FLAGS {
        module.token_info(SLOT_ID).expect("info").flags
            & (CKF_USER_PIN_COUNT_LOW | CKF_USER_PIN_FINAL_TRY | CKF_USER_PIN_LOCKED)
    }

    #[test]
    fn wrong_pins_count_down_to_locked_and_the_count_survives_the_process() {
        let dir = token_dir(false);
        let (mut m, s) = module(dir.path());
        assert_eq!(user_flags(&m), 0);
        assert_eq!(
            m.login(s, CKU_USER, Some(b"00000000")),
            Err(CKR_PIN_INCORRECT)
        );
        assert_eq!(user_flags(&m), CKF_USER_PIN_COUNT_LOW);
        // A PIN of impossible length costs no try.
        assert_eq!(m.login(s, CKU_USER, Some(b"1")), Err(CKR_PIN_LEN_RANGE));
        // Another process sees the spent try.
        let (mut other, s2) = module(dir.path());
        assert_eq!(user_flags(&other), CKF_USER_PIN_COUNT_LOW);
        assert_eq!(
            other.login(s2, CKU_USER, Some(b"00000000")),
            Err(CKR_PIN_INCORRECT)
        );
        assert_eq!(
            user_flags(&m),
            CKF_USER_PIN_COUNT_LOW | CKF_USER_PIN_FINAL_TRY
        );
        assert_eq!(
            m.login(s, CKU_USER, Some(b"00000000")),
            Err(CKR_PIN_INCORRECT)
        );
        assert_eq!(user_flags(&m), CKF_USER_PIN_LOCKED);
        // Locked: even the right PIN is not compared.
        assert_eq!(m.login(s, CKU_USER, Some(PIN)), Err(CKR_PIN_LOCKED));
    }

    #[test]
    fn the_right_pin_restores_the_tries_and_logs_in_once() {
        let dir = token_dir(false);
        let (mut m, s) = module(dir.path());
        assert_eq!(
            m.login(s, CKU_USER, Some(b"00000000")),
            Err(CKR_PIN_INCORRECT)
        );
        assert_eq!(m.login(s, CKU_USER, Some(PIN)), Ok(()));
        assert_eq!(user_flags(&m), 0);
        assert_eq!(m.session_info(s).expect("info").0, CKS_RW_USER_FUNCTIONS);
        assert_eq!(
            m.login(s, CKU_USER, Some(PIN)),
            Err(CKR_USER_ALREADY_LOGGED_IN)
        );
        assert_eq!(m.logout(s), Ok(()));
        assert_eq!(m.logout(s), Err(CKR_USER_NOT_LOGGED_IN));
    }

    #[test]
    fn the_private_key_shows_only_after_login() {
        let dir = token_dir(false);
        let (mut m, s) = module(dir.path());
        let private_keys = [(CKA_CLASS, ulong(CKO_PRIVATE_KEY))];
        m.find_init(s, &private_keys).expect("find");
        assert_eq!(m.find_next(s, 10), Ok(vec![]));
        assert_eq!(m.find_init(s, &[]), Err(CKR_OPERATION_ACTIVE));
        m.find_final(s).expect("final");
        assert_eq!(m.object(s, 3).err(), Some(CKR_OBJECT_HANDLE_INVALID));
        assert_eq!(
            m.sign_init(s, CKM_GOSTR3410, 3),
            Err(CKR_USER_NOT_LOGGED_IN)
        );

        m.login(s, CKU_USER, Some(PIN)).expect("login");
        m.find_init(s, &private_keys).expect("find");
        assert_eq!(m.find_next(s, 10), Ok(vec![3]));
        m.find_final(s).expect("final");
        m.find_init(s, &[]).expect("find all");
        assert_eq!(m.find_next(s, 2), Ok(vec![1, 2]));
        assert_eq!(m.find_next(s, 2), Ok(vec![3]));
        m.find_final(s).expect("final");
    }

    #[test]
    fn sign_checks_mechanism_key_and_digest_length_before_openssl() {
        let dir = token_dir(false);
        let (mut m, s) = module(dir.path());
        m.login(s, CKU_USER, Some(PIN)).expect("login");
        assert_eq!(
            m.sign_init(s, tc26::CKM_GOSTR3410_512, 3),
            Err(CKR_KEY_TYPE_INCONSISTENT)
        );
        assert_eq!(m.sign_init(s, CKM_ECDSA, 3), Err(CKR_MECHANISM_INVALID));
        assert_eq!(
            m.sign_init(s, CKM_GOSTR3410, 2),
            Err(CKR_KEY_HANDLE_INVALID)
        );
        m.sign_init(s, CKM_GOSTR3410, 3).expect("init");
        assert_eq!(m.sign_init(s, CKM_GOSTR3410, 3), Err(CKR_OPERATION_ACTIVE));
        assert_eq!(m.signature_len(s), Ok(64));
        assert_eq!(m.sign(s, &[0; 64]), Err(CKR_DATA_LEN_RANGE));
        // The failed C_Sign ended the operation.
        assert_eq!(m.sign(s, &[0; 32]), Err(CKR_OPERATION_NOT_INITIALIZED));
        assert_eq!(
            m.sign_init(s, tc26::CKM_GOSTR3410_WITH_GOSTR3411_12_512, 3),
            Err(CKR_KEY_TYPE_INCONSISTENT)
        );
    }

    #[test]
    fn only_the_streebog_mechanisms_sign_in_parts() {
        let dir = token_dir(false);
        let (mut m, s) = module(dir.path());
        m.login(s, CKU_USER, Some(PIN)).expect("login");
        // Over a digest: single-part, as the standard defines it; the refusal ends the operation.
        m.sign_init(s, CKM_GOSTR3410, 3).expect("init");
        assert_eq!(m.sign_update(s, &[0; 32]), Err(CKR_FUNCTION_NOT_SUPPORTED));
        assert_eq!(m.signature_len(s), Err(CKR_OPERATION_NOT_INITIALIZED));
        // Over data: the parts are gathered, within a bound.
        m.sign_init(s, tc26::CKM_GOSTR3410_WITH_GOSTR3411_12_256, 3)
            .expect("init");
        m.sign_update(s, b"signed attributes").expect("update");
        assert_eq!(m.sign(s, b"more"), Err(CKR_OPERATION_ACTIVE));
        m.sign_init(s, tc26::CKM_GOSTR3410_WITH_GOSTR3411_12_256, 3)
            .expect("init");
        assert_eq!(
            m.sign_update(s, &vec![0; MAX_SIGNED_DATA + 1]),
            Err(CKR_DATA_LEN_RANGE)
        );
        assert_eq!(m.sign_final(s), Err(CKR_OPERATION_NOT_INITIALIZED));
    }

    #[test]
    fn the_streebog_mechanisms_hash_as_the_streebog_crate_does() {
        let data = b"the signed attributes";
        let mech =
            SignMechanism::from_type(tc26::CKM_GOSTR3410_WITH_GOSTR3411_12_256).expect("mech");
        assert_eq!(mech.digest(data), Ok(Streebog256::digest(data).to_vec()));
        let mech =
            SignMechanism::from_type(tc26::CKM_GOSTR3410_WITH_GOSTR3411_12_512).expect("mech");
        assert_eq!(mech.digest(data).map(|d| d.len()), Ok(64));
        let raw = SignMechanism::from_type(tc26::CKM_GOSTR3410_512).expect("mech");
        assert_eq!(raw.digest(&[1; 64]), Ok(vec![1; 64]));
        assert_eq!(raw.digest(&[1; 32]), Err(CKR_DATA_LEN_RANGE));
    }

    #[test]
    fn set_pin_checks_the_new_pin_first_and_then_the_old() {
        let dir = token_dir(false);
        let (mut m, s) = module(dir.path());
        assert_eq!(m.set_pin(s, PIN, b"12"), Err(CKR_PIN_LEN_RANGE));
        assert_eq!(user_flags(&m), 0);
        assert_eq!(
            m.set_pin(s, b"00000000", b"11112222"),
            Err(CKR_PIN_INCORRECT)
        );
        assert_eq!(m.set_pin(s, PIN, b"11112222"), Ok(()));
        assert_eq!(m.login(s, CKU_USER, Some(PIN)), Err(CKR_PIN_INCORRECT));
        assert_eq!(m.login(s, CKU_USER, Some(b"11112222")), Ok(()));
        let ro = m.open_session(SLOT_ID, CKF_SERIAL_SESSION).expect("ro");
        assert_eq!(m.set_pin(ro, b"11112222", PIN), Err(CKR_SESSION_READ_ONLY));
    }

    #[test]
    fn the_so_unblocks_the_user_pin() {
        let dir = token_dir(false);
        let (mut m, s) = module(dir.path());
        for _ in 0..3 {
            assert_eq!(
                m.login(s, CKU_USER, Some(b"00000000")),
                Err(CKR_PIN_INCORRECT)
            );
        }
        assert_eq!(user_flags(&m), CKF_USER_PIN_LOCKED);
        assert_eq!(m.init_pin(s, b"24682468"), Err(CKR_USER_NOT_LOGGED_IN));
        m.login(s, CKU_SO, Some(SO_PIN)).expect("so login");
        m.init_pin(s, b"24682468").expect("init pin");
        m.logout(s).expect("logout");
        assert_eq!(user_flags(&m), 0);
        assert_eq!(m.login(s, CKU_USER, Some(b"24682468")), Ok(()));
    }

    #[test]
    fn a_pin_pad_token_logs_in_without_a_pin_from_the_host() {
        let dir = token_dir(true);
        let (mut m, s) = module(dir.path());
        let info = m.token_info(SLOT_ID).expect("info");
        assert_ne!(info.flags & CKF_PROTECTED_AUTHENTICATION_PATH, 0);
        assert_eq!(m.login(s, CKU_USER, None), Ok(()));
        let plain = token_dir(false);
        let (mut m, s) = module(plain.path());
        assert_eq!(m.login(s, CKU_USER, None), Err(CKR_ARGUMENTS_BAD));
    }

    #[test]
    fn the_login_ends_with_the_last_session() {
        let dir = token_dir(false);
        let (mut m, s) = module(dir.path());
        let other = m.open_session(SLOT_ID, CKF_SERIAL_SESSION).expect("other");
        assert_eq!(
            m.login(s, CKU_SO, Some(SO_PIN)),
            Err(CKR_SESSION_READ_ONLY_EXISTS)
        );
        m.login(s, CKU_USER, Some(PIN)).expect("login");
        m.close_session(s).expect("close");
        assert_eq!(
            m.session_info(other).expect("info").0,
            CKS_RO_USER_FUNCTIONS
        );
        m.close_session(other).expect("close");
        let s = m.open_session(SLOT_ID, CKF_SERIAL_SESSION).expect("again");
        assert_eq!(m.session_info(s).expect("info").0, CKS_RO_PUBLIC_SESSION);
        assert_eq!(m.close_session(99), Err(CKR_SESSION_HANDLE_INVALID));
    }

    #[test]
    fn without_a_directory_the_slot_is_empty() {
        let mut m = Module::with_token_dir(None).expect("load");
        assert!(!m.token_present());
        assert_eq!(m.token_info(SLOT_ID).err(), Some(CKR_TOKEN_NOT_PRESENT));
        assert_eq!(
            m.open_session(SLOT_ID, CKF_SERIAL_SESSION),
            Err(CKR_TOKEN_NOT_PRESENT)
        );
        assert_eq!(m.token_info(7).err(), Some(CKR_SLOT_ID_INVALID));
    }

    #[test]
    fn pin_flags_follow_the_tries_left() {
        let f = [1, 2, 4];
        assert_eq!(pin_flags(3, 3, f), 0);
        assert_eq!(pin_flags(2, 3, f), 1);
        assert_eq!(pin_flags(1, 3, f), 1 | 2);
        assert_eq!(pin_flags(0, 3, f), 4);
        assert_eq!(pin_flags(1, 1, f), 2);
    }
}
