//! The C side of the module: `C_GetFunctionList`, the function list, and one `extern "C"` function
//! per PKCS#11 call, each turning the caller's pointers into values for [`crate::token::Module`]
//! and its answer back into what the caller's pointers receive.
//!
//! A PKCS#11 module is a C ABI by definition: its functions receive raw pointers that only the
//! caller can vouch for. This file is therefore the crate's only unsafe code; each unsafe block is
//! one pointer read or write, with the promise PKCS#11 makes about that pointer.

#![allow(unsafe_code)]

use std::ffi::c_void;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Mutex, MutexGuard, PoisonError};

use cryptoki_sys::*;

use crate::objects::AttributeValue;
use crate::token::{Module, Rv, SLOT_ID};

/// The module between `C_Initialize` and `C_Finalize`. PKCS#11 lets several threads call in at
/// once (`CKF_OS_LOCKING_OK`); one lock serialises them, which is all a test token needs.
static MODULE: Mutex<Option<Module>> = Mutex::new(None);

const VERSION: CK_VERSION = CK_VERSION {
    major: 2,
    minor: 40,
};
const MODULE_VERSION: CK_VERSION = CK_VERSION { major: 0, minor: 1 };
const MANUFACTURER: &str = "Podpis tests";

fn module() -> MutexGuard<'static, Option<Module>> {
    // A panic while the lock was held is already reported as CKR_GENERAL_ERROR; the state it
    // left is still the best there is.
    MODULE.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Runs one call on the initialised module. A panic must not unwind into C: it becomes
/// `CKR_GENERAL_ERROR`.
fn call(body: impl FnOnce(&mut Module) -> Rv<()>) -> CK_RV {
    catch_unwind(AssertUnwindSafe(|| match module().as_mut() {
        None => CKR_CRYPTOKI_NOT_INITIALIZED,
        Some(module) => body(module).err().unwrap_or(CKR_OK),
    }))
    .unwrap_or(CKR_GENERAL_ERROR)
}

/// `text` in a blank-padded, not NUL-terminated field, as PKCS#11 strings are.
fn padded<const N: usize>(text: &str) -> [CK_UTF8CHAR; N] {
    let mut field = [b' '; N];
    let bytes = text.as_bytes();
    let n = bytes.len().min(N);
    field[..n].copy_from_slice(&bytes[..n]);
    field
}

fn count(n: usize) -> CK_ULONG {
    CK_ULONG::try_from(n).unwrap_or(CK_ULONG::MAX)
}

/// Writes `value` where the caller asked for it.
///
/// # Safety
/// `out`, when not null, points at a writable `T` (PKCS#11: output arguments are the caller's).
unsafe fn put<T>(out: *mut T, value: T) -> Rv<()> {
    if out.is_null() {
        return Err(CKR_ARGUMENTS_BAD);
    }
    // SAFETY: non-null, and by the caller's contract a valid place for a T.
    unsafe { out.write(value) };
    Ok(())
}

/// Reads a value the caller passed by pointer.
///
/// # Safety
/// `from`, when not null, points at a readable, initialised `T`.
unsafe fn get<T: Copy>(from: *const T) -> Rv<T> {
    if from.is_null() {
        return Err(CKR_ARGUMENTS_BAD);
    }
    // SAFETY: non-null, and by the caller's contract an initialised T.
    Ok(unsafe { from.read() })
}

/// The caller's `len` bytes at `data`; `None` for a null pointer (no bytes given).
///
/// # Safety
/// `data`, when not null, points at `len` readable bytes that stay put during the call.
unsafe fn bytes<'a>(data: *const CK_BYTE, len: CK_ULONG) -> Option<&'a [u8]> {
    if data.is_null() {
        return None;
    }
    // SAFETY: non-null, and by the caller's contract `len` readable bytes.
    Some(unsafe { std::slice::from_raw_parts(data, len as usize) })
}

/// The caller's array of `n` items at `items` (empty when `n` is 0).
///
/// # Safety
/// `items`, when not null, points at `n` initialised `T` that only this call uses meanwhile.
unsafe fn array<'a, T>(items: *mut T, n: CK_ULONG) -> Rv<&'a mut [T]> {
    if n == 0 {
        return Ok(&mut []);
    }
    if items.is_null() {
        return Err(CKR_ARGUMENTS_BAD);
    }
    // SAFETY: non-null, and by the caller's contract `n` items for this call alone.
    Ok(unsafe { std::slice::from_raw_parts_mut(items, n as usize) })
}

/// PKCS#11's two-call convention for lists: without `out`, the count; with it, the items when
/// `*len` says they fit, `CKR_BUFFER_TOO_SMALL` otherwise. `*len` receives the count either way.
///
/// # Safety
/// `len` points at a readable and writable `CK_ULONG`; `out`, when not null, at `*len` writable
/// items.
unsafe fn put_list<T: Copy>(items: &[T], out: *mut T, len: *mut CK_ULONG) -> Rv<()> {
    // SAFETY: the caller's contract for `len`.
    let capacity = unsafe { get(len) }?;
    // SAFETY: same pointer.
    unsafe { put(len, count(items.len())) }?;
    if out.is_null() {
        return Ok(());
    }
    if (capacity as usize) < items.len() {
        return Err(CKR_BUFFER_TOO_SMALL);
    }
    // SAFETY: `out` holds `capacity` >= `items.len()` writable items, and they cannot overlap a
    // Rust slice the caller never saw.
    unsafe { std::ptr::copy_nonoverlapping(items.as_ptr(), out, items.len()) };
    Ok(())
}

unsafe extern "C" fn c_initialize(args: *mut c_void) -> CK_RV {
    catch_unwind(|| {
        if !args.is_null() {
            // SAFETY: a non-null argument of C_Initialize is a CK_C_INITIALIZE_ARGS.
            let args = unsafe { (args as *const CK_C_INITIALIZE_ARGS).read() };
            if !args.pReserved.is_null() {
                return CKR_ARGUMENTS_BAD;
            }
            let locks = [
                args.CreateMutex.is_some(),
                args.DestroyMutex.is_some(),
                args.LockMutex.is_some(),
                args.UnlockMutex.is_some(),
            ];
            if locks.iter().any(|&l| l) && !locks.iter().all(|&l| l) {
                return CKR_ARGUMENTS_BAD;
            }
            // The application's own mutexes and no OS locking: this module locks only with the
            // OS's (std's Mutex), so it must say it cannot.
            if locks[0] && args.flags & CKF_OS_LOCKING_OK == 0 {
                return CKR_CANT_LOCK;
            }
        }
        let mut slot = module();
        if slot.is_some() {
            return CKR_CRYPTOKI_ALREADY_INITIALIZED;
        }
        match Module::load() {
            Ok(loaded) => {
                *slot = Some(loaded);
                CKR_OK
            }
            Err(e) => {
                eprintln!("pkcs11-test-module: {e}");
                CKR_GENERAL_ERROR
            }
        }
    })
    .unwrap_or(CKR_GENERAL_ERROR)
}

unsafe extern "C" fn c_finalize(reserved: *mut c_void) -> CK_RV {
    if !reserved.is_null() {
        return CKR_ARGUMENTS_BAD;
    }
    catch_unwind(|| match module().take() {
        Some(_) => CKR_OK,
        None => CKR_CRYPTOKI_NOT_INITIALIZED,
    })
    .unwrap_or(CKR_GENERAL_ERROR)
}

unsafe extern "C" fn c_get_info(info: *mut CK_INFO) -> CK_RV {
    call(|_| {
        let value = CK_INFO {
            cryptokiVersion: VERSION,
            manufacturerID: padded(MANUFACTURER),
            flags: 0,
            libraryDescription: padded("Podpis GOST test module"),
            libraryVersion: MODULE_VERSION,
        };
        // SAFETY: PKCS#11 — `info` receives a CK_INFO.
        unsafe { put(info, value) }
    })
}

unsafe extern "C" fn c_get_slot_list(
    token_present: CK_BBOOL,
    slots: *mut CK_SLOT_ID,
    len: *mut CK_ULONG,
) -> CK_RV {
    call(|m| {
        let list: &[CK_SLOT_ID] = if token_present != CK_FALSE && !m.token_present() {
            &[]
        } else {
            &[SLOT_ID]
        };
        // SAFETY: PKCS#11 — `len` in/out, `slots` room for `*len` slot IDs when not null.
        unsafe { put_list(list, slots, len) }
    })
}

unsafe extern "C" fn c_get_slot_info(slot: CK_SLOT_ID, info: *mut CK_SLOT_INFO) -> CK_RV {
    call(|m| {
        m.check_slot(slot)?;
        let mut flags = CKF_REMOVABLE_DEVICE | CKF_HW_SLOT;
        if m.token_present() {
            flags |= CKF_TOKEN_PRESENT;
        }
        let value = CK_SLOT_INFO {
            slotDescription: padded("Podpis test GOST token slot"),
            manufacturerID: padded(MANUFACTURER),
            flags,
            hardwareVersion: MODULE_VERSION,
            firmwareVersion: MODULE_VERSION,
        };
        // SAFETY: PKCS#11 — `info` receives a CK_SLOT_INFO.
        unsafe { put(info, value) }
    })
}

unsafe extern "C" fn c_get_token_info(slot: CK_SLOT_ID, info: *mut CK_TOKEN_INFO) -> CK_RV {
    call(|m| {
        let token = m.token_info(slot)?;
        let value = CK_TOKEN_INFO {
            label: padded(&token.label),
            manufacturerID: padded(MANUFACTURER),
            model: padded("GOST test token"),
            serialNumber: padded(&token.serial),
            flags: token.flags,
            ulMaxSessionCount: CK_EFFECTIVELY_INFINITE,
            ulSessionCount: count(token.sessions),
            ulMaxRwSessionCount: CK_EFFECTIVELY_INFINITE,
            ulRwSessionCount: count(token.rw_sessions),
            ulMaxPinLen: count(crate::store::MAX_PIN_LEN),
            ulMinPinLen: count(crate::store::MIN_PIN_LEN),
            ulTotalPublicMemory: CK_UNAVAILABLE_INFORMATION,
            ulFreePublicMemory: CK_UNAVAILABLE_INFORMATION,
            ulTotalPrivateMemory: CK_UNAVAILABLE_INFORMATION,
            ulFreePrivateMemory: CK_UNAVAILABLE_INFORMATION,
            hardwareVersion: MODULE_VERSION,
            firmwareVersion: MODULE_VERSION,
            // No CKF_CLOCK_ON_TOKEN: the field is not read.
            utcTime: [b' '; 16],
        };
        // SAFETY: PKCS#11 — `info` receives a CK_TOKEN_INFO.
        unsafe { put(info, value) }
    })
}

unsafe extern "C" fn c_get_mechanism_list(
    slot: CK_SLOT_ID,
    list: *mut CK_MECHANISM_TYPE,
    len: *mut CK_ULONG,
) -> CK_RV {
    call(|m| {
        let mechanisms = m.mechanisms(slot)?;
        // SAFETY: PKCS#11 — `len` in/out, `list` room for `*len` mechanisms when not null.
        unsafe { put_list(&mechanisms, list, len) }
    })
}

unsafe extern "C" fn c_get_mechanism_info(
    slot: CK_SLOT_ID,
    mechanism: CK_MECHANISM_TYPE,
    info: *mut CK_MECHANISM_INFO,
) -> CK_RV {
    call(|m| {
        let value = m.mechanism_info(slot, mechanism)?;
        // SAFETY: PKCS#11 — `info` receives a CK_MECHANISM_INFO.
        unsafe { put(info, value) }
    })
}

unsafe extern "C" fn c_open_session(
    slot: CK_SLOT_ID,
    flags: CK_FLAGS,
    _application: *mut c_void,
    // Notification callbacks are optional for a module; this one never calls back.
    _notify: CK_NOTIFY,
    session: *mut CK_SESSION_HANDLE,
) -> CK_RV {
    call(|m| {
        if session.is_null() {
            return Err(CKR_ARGUMENTS_BAD);
        }
        let handle = m.open_session(slot, flags)?;
        // SAFETY: PKCS#11 — `session` receives the handle (checked non-null above, before the
        // session was opened, so that no session leaks).
        unsafe { put(session, handle) }
    })
}

unsafe extern "C" fn c_close_session(session: CK_SESSION_HANDLE) -> CK_RV {
    call(|m| m.close_session(session))
}

unsafe extern "C" fn c_close_all_sessions(slot: CK_SLOT_ID) -> CK_RV {
    call(|m| m.close_all_sessions(slot))
}

unsafe extern "C" fn c_get_session_info(
    session: CK_SESSION_HANDLE,
    info: *mut CK_SESSION_INFO,
) -> CK_RV {
    call(|m| {
        let (state, flags) = m.session_info(session)?;
        let value = CK_SESSION_INFO {
            slotID: SLOT_ID,
            state,
            flags,
            ulDeviceError: 0,
        };
        // SAFETY: PKCS#11 — `info` receives a CK_SESSION_INFO.
        unsafe { put(info, value) }
    })
}

unsafe extern "C" fn c_login(
    session: CK_SESSION_HANDLE,
    user_type: CK_USER_TYPE,
    pin: *mut CK_UTF8CHAR,
    pin_len: CK_ULONG,
) -> CK_RV {
    call(|m| {
        // SAFETY: PKCS#11 — `pin` is `pin_len` bytes, or null for the token's PIN pad.
        let pin = unsafe { bytes(pin, pin_len) };
        m.login(session, user_type, pin)
    })
}

unsafe extern "C" fn c_logout(session: CK_SESSION_HANDLE) -> CK_RV {
    call(|m| m.logout(session))
}

unsafe extern "C" fn c_init_pin(
    session: CK_SESSION_HANDLE,
    pin: *mut CK_UTF8CHAR,
    pin_len: CK_ULONG,
) -> CK_RV {
    call(|m| {
        // SAFETY: PKCS#11 — `pin` is `pin_len` bytes.
        let pin = unsafe { bytes(pin, pin_len) }.ok_or(CKR_ARGUMENTS_BAD)?;
        m.init_pin(session, pin)
    })
}

unsafe extern "C" fn c_set_pin(
    session: CK_SESSION_HANDLE,
    old: *mut CK_UTF8CHAR,
    old_len: CK_ULONG,
    new: *mut CK_UTF8CHAR,
    new_len: CK_ULONG,
) -> CK_RV {
    call(|m| {
        // SAFETY: PKCS#11 — each PIN is its length in bytes.
        let old = unsafe { bytes(old, old_len) }.ok_or(CKR_ARGUMENTS_BAD)?;
        // SAFETY: as above.
        let new = unsafe { bytes(new, new_len) }.ok_or(CKR_ARGUMENTS_BAD)?;
        m.set_pin(session, old, new)
    })
}

unsafe extern "C" fn c_find_objects_init(
    session: CK_SESSION_HANDLE,
    template: *mut CK_ATTRIBUTE,
    n: CK_ULONG,
) -> CK_RV {
    call(|m| {
        // SAFETY: PKCS#11 — `template` is `n` attributes, each value `ulValueLen` bytes.
        let attributes = unsafe { array(template, n) }?;
        let mut wanted = Vec::with_capacity(attributes.len());
        for attribute in attributes.iter() {
            // SAFETY: as above, for this attribute's value.
            let value = unsafe { bytes(attribute.pValue.cast::<CK_BYTE>(), attribute.ulValueLen) };
            if value.is_none() && attribute.ulValueLen != 0 {
                return Err(CKR_ARGUMENTS_BAD);
            }
            wanted.push((attribute.type_, value.unwrap_or_default().to_vec()));
        }
        m.find_init(session, &wanted)
    })
}

unsafe extern "C" fn c_find_objects(
    session: CK_SESSION_HANDLE,
    objects: *mut CK_OBJECT_HANDLE,
    max: CK_ULONG,
    found: *mut CK_ULONG,
) -> CK_RV {
    call(|m| {
        if found.is_null() || (objects.is_null() && max != 0) {
            return Err(CKR_ARGUMENTS_BAD);
        }
        let next = m.find_next(session, max as usize)?;
        // SAFETY: PKCS#11 — `objects` has room for `max` handles, and `next` holds at most `max`.
        let out = unsafe { array(objects, count(next.len())) }?;
        out.copy_from_slice(&next);
        // SAFETY: PKCS#11 — `found` receives the count (checked non-null above).
        unsafe { put(found, count(next.len())) }
    })
}

unsafe extern "C" fn c_find_objects_final(session: CK_SESSION_HANDLE) -> CK_RV {
    call(|m| m.find_final(session))
}

unsafe extern "C" fn c_get_attribute_value(
    session: CK_SESSION_HANDLE,
    object: CK_OBJECT_HANDLE,
    template: *mut CK_ATTRIBUTE,
    n: CK_ULONG,
) -> CK_RV {
    call(|m| {
        let object = m.object(session, object)?;
        // SAFETY: PKCS#11 — `template` is `n` attributes the caller lets us fill.
        let attributes = unsafe { array(template, n) }?;
        // Every attribute is answered; the return value is the first problem met.
        let mut outcome = Ok(());
        let mut fail = |rv| outcome = outcome.and(Err(rv));
        for attribute in attributes.iter_mut() {
            match object.attribute(attribute.type_) {
                AttributeValue::Value(value) if attribute.pValue.is_null() => {
                    attribute.ulValueLen = count(value.len());
                }
                AttributeValue::Value(value) if (attribute.ulValueLen as usize) < value.len() => {
                    attribute.ulValueLen = CK_UNAVAILABLE_INFORMATION;
                    fail(CKR_BUFFER_TOO_SMALL);
                }
                AttributeValue::Value(value) => {
                    // SAFETY: PKCS#11 — `pValue` has room for `ulValueLen` bytes, checked to be
                    // at least `value.len()` above.
                    let out = unsafe { array(attribute.pValue.cast::<u8>(), count(value.len())) }?;
                    out.copy_from_slice(value);
                    attribute.ulValueLen = count(value.len());
                }
                AttributeValue::Sensitive => {
                    attribute.ulValueLen = CK_UNAVAILABLE_INFORMATION;
                    fail(CKR_ATTRIBUTE_SENSITIVE);
                }
                AttributeValue::Invalid => {
                    attribute.ulValueLen = CK_UNAVAILABLE_INFORMATION;
                    fail(CKR_ATTRIBUTE_TYPE_INVALID);
                }
            }
        }
        outcome
    })
}

unsafe extern "C" fn c_sign_init(
    session: CK_SESSION_HANDLE,
    mechanism: *mut CK_MECHANISM,
    key: CK_OBJECT_HANDLE,
) -> CK_RV {
    call(|m| {
        // SAFETY: PKCS#11 — `mechanism` points at a CK_MECHANISM. Its parameter is not read: the
        // GOST mechanisms over a digest have none.
        let mechanism = unsafe { get(mechanism) }?;
        m.sign_init(session, mechanism.mechanism, key)
    })
}

/// The output side of `C_Sign` and `C_SignFinal`: asking for the length, or offering too little
/// room, leaves the operation active; otherwise `make` signs, which ends it.
///
/// # Safety
/// `signature_len` points at a readable and writable `CK_ULONG`; `signature`, when not null, at
/// `*signature_len` writable bytes.
unsafe fn put_signature(
    m: &mut Module,
    session: CK_SESSION_HANDLE,
    signature: *mut CK_BYTE,
    signature_len: *mut CK_ULONG,
    make: impl FnOnce(&mut Module) -> Rv<Vec<u8>>,
) -> Rv<()> {
    let needed = m.signature_len(session)?;
    // SAFETY: the caller's contract for `signature_len`.
    let capacity = unsafe { get(signature_len) }?;
    // SAFETY: same pointer.
    unsafe { put(signature_len, count(needed)) }?;
    if signature.is_null() {
        return Ok(());
    }
    if (capacity as usize) < needed {
        return Err(CKR_BUFFER_TOO_SMALL);
    }
    let value = make(m)?;
    // SAFETY: the caller's contract: room for `capacity` >= `needed` = `value.len()` bytes.
    let out = unsafe { array(signature, count(value.len())) }?;
    out.copy_from_slice(&value);
    Ok(())
}

unsafe extern "C" fn c_sign(
    session: CK_SESSION_HANDLE,
    data: *mut CK_BYTE,
    data_len: CK_ULONG,
    signature: *mut CK_BYTE,
    signature_len: *mut CK_ULONG,
) -> CK_RV {
    call(|m| {
        // SAFETY: PKCS#11 — `data` is `data_len` bytes.
        let input = unsafe { bytes(data, data_len) }.unwrap_or_default();
        // SAFETY: PKCS#11 — `signature_len` in/out, `signature` room for `*signature_len` bytes.
        unsafe {
            put_signature(m, session, signature, signature_len, |m| {
                m.sign(session, input)
            })
        }
    })
}

unsafe extern "C" fn c_sign_update(
    session: CK_SESSION_HANDLE,
    part: *mut CK_BYTE,
    part_len: CK_ULONG,
) -> CK_RV {
    call(|m| {
        // SAFETY: PKCS#11 — `part` is `part_len` bytes.
        let part = unsafe { bytes(part, part_len) }.unwrap_or_default();
        m.sign_update(session, part)
    })
}

unsafe extern "C" fn c_sign_final(
    session: CK_SESSION_HANDLE,
    signature: *mut CK_BYTE,
    signature_len: *mut CK_ULONG,
) -> CK_RV {
    call(|m| {
        // SAFETY: PKCS#11 — `signature_len` in/out, `signature` room for `*signature_len` bytes.
        unsafe {
            put_signature(m, session, signature, signature_len, |m| {
                m.sign_final(session)
            })
        }
    })
}

/// Functions the module does not offer: each answers `CKR_FUNCTION_NOT_SUPPORTED`, so that the
/// function list has no null entry for a client to call.
macro_rules! not_supported {
    ($($name:ident($($arg:ty),*);)*) => {
        $(
            unsafe extern "C" fn $name($(_: $arg),*) -> CK_RV {
                CKR_FUNCTION_NOT_SUPPORTED
            }
        )*
    };
}

type H = CK_SESSION_HANDLE;
type Bytes = *mut CK_BYTE;
type Len = *mut CK_ULONG;
type Mech = *mut CK_MECHANISM;
type Attrs = *mut CK_ATTRIBUTE;
type Obj = CK_OBJECT_HANDLE;
type ObjOut = *mut CK_OBJECT_HANDLE;

not_supported! {
    c_init_token(CK_SLOT_ID, *mut CK_UTF8CHAR, CK_ULONG, *mut CK_UTF8CHAR);
    c_get_operation_state(H, Bytes, Len);
    c_set_operation_state(H, Bytes, CK_ULONG, Obj, Obj);
    c_create_object(H, Attrs, CK_ULONG, ObjOut);
    c_copy_object(H, Obj, Attrs, CK_ULONG, ObjOut);
    c_destroy_object(H, Obj);
    c_get_object_size(H, Obj, Len);
    c_set_attribute_value(H, Obj, Attrs, CK_ULONG);
    c_crypt_init(H, Mech, Obj);
    c_crypt(H, Bytes, CK_ULONG, Bytes, Len);
    c_crypt_final(H, Bytes, Len);
    c_digest_init(H, Mech);
    c_data_update(H, Bytes, CK_ULONG);
    c_digest_key(H, Obj);
    c_verify(H, Bytes, CK_ULONG, Bytes, CK_ULONG);
    c_generate_key(H, Mech, Attrs, CK_ULONG, ObjOut);
    c_generate_key_pair(H, Mech, Attrs, CK_ULONG, Attrs, CK_ULONG, ObjOut, ObjOut);
    c_wrap_key(H, Mech, Obj, Obj, Bytes, Len);
    c_unwrap_key(H, Mech, Obj, Bytes, CK_ULONG, Attrs, CK_ULONG, ObjOut);
    c_derive_key(H, Mech, Obj, Attrs, CK_ULONG, ObjOut);
    c_session_only(H);
    c_wait_for_slot_event(CK_FLAGS, *mut CK_SLOT_ID, *mut c_void);
}

static FUNCTION_LIST: CK_FUNCTION_LIST = CK_FUNCTION_LIST {
    version: VERSION,
    C_Initialize: Some(c_initialize),
    C_Finalize: Some(c_finalize),
    C_GetInfo: Some(c_get_info),
    C_GetFunctionList: Some(C_GetFunctionList),
    C_GetSlotList: Some(c_get_slot_list),
    C_GetSlotInfo: Some(c_get_slot_info),
    C_GetTokenInfo: Some(c_get_token_info),
    C_GetMechanismList: Some(c_get_mechanism_list),
    C_GetMechanismInfo: Some(c_get_mechanism_info),
    C_InitToken: Some(c_init_token),
    C_InitPIN: Some(c_init_pin),
    C_SetPIN: Some(c_set_pin),
    C_OpenSession: Some(c_open_session),
    C_CloseSession: Some(c_close_session),
    C_CloseAllSessions: Some(c_close_all_sessions),
    C_GetSessionInfo: Some(c_get_session_info),
    C_GetOperationState: Some(c_get_operation_state),
    C_SetOperationState: Some(c_set_operation_state),
    C_Login: Some(c_login),
    C_Logout: Some(c_logout),
    C_CreateObject: Some(c_create_object),
    C_CopyObject: Some(c_copy_object),
    C_DestroyObject: Some(c_destroy_object),
    C_GetObjectSize: Some(c_get_object_size),
    C_GetAttributeValue: Some(c_get_attribute_value),
    C_SetAttributeValue: Some(c_set_attribute_value),
    C_FindObjectsInit: Some(c_find_objects_init),
    C_FindObjects: Some(c_find_objects),
    C_FindObjectsFinal: Some(c_find_objects_final),
    C_EncryptInit: Some(c_crypt_init),
    C_Encrypt: Some(c_crypt),
    C_EncryptUpdate: Some(c_crypt),
    C_EncryptFinal: Some(c_crypt_final),
    C_DecryptInit: Some(c_crypt_init),
    C_Decrypt: Some(c_crypt),
    C_DecryptUpdate: Some(c_crypt),
    C_DecryptFinal: Some(c_crypt_final),
    C_DigestInit: Some(c_digest_init),
    C_Digest: Some(c_crypt),
    C_DigestUpdate: Some(c_data_update),
    C_DigestKey: Some(c_digest_key),
    C_DigestFinal: Some(c_crypt_final),
    C_SignInit: Some(c_sign_init),
    C_Sign: Some(c_sign),
    C_SignUpdate: Some(c_sign_update),
    C_SignFinal: Some(c_sign_final),
    C_SignRecoverInit: Some(c_crypt_init),
    C_SignRecover: Some(c_crypt),
    C_VerifyInit: Some(c_crypt_init),
    C_Verify: Some(c_verify),
    C_VerifyUpdate: Some(c_data_update),
    C_VerifyFinal: Some(c_data_update),
    C_VerifyRecoverInit: Some(c_crypt_init),
    C_VerifyRecover: Some(c_crypt),
    C_DigestEncryptUpdate: Some(c_crypt),
    C_DecryptDigestUpdate: Some(c_crypt),
    C_SignEncryptUpdate: Some(c_crypt),
    C_DecryptVerifyUpdate: Some(c_crypt),
    C_GenerateKey: Some(c_generate_key),
    C_GenerateKeyPair: Some(c_generate_key_pair),
    C_WrapKey: Some(c_wrap_key),
    C_UnwrapKey: Some(c_unwrap_key),
    C_DeriveKey: Some(c_derive_key),
    C_SeedRandom: Some(c_data_update),
    C_GenerateRandom: Some(c_data_update),
    C_GetFunctionStatus: Some(c_session_only),
    C_CancelFunction: Some(c_session_only),
    C_WaitForSlotEvent: Some(c_wait_for_slot_event),
};

/// The module's only exported symbol: where every PKCS#11 client starts.
///
/// # Safety
/// `list` is null (refused) or points at a writable `CK_FUNCTION_LIST_PTR`. The list it receives is
/// static and must not be written through.
#[no_mangle]
#[allow(non_snake_case)]
pub unsafe extern "C" fn C_GetFunctionList(list: *mut *mut CK_FUNCTION_LIST) -> CK_RV {
    let pointer = std::ptr::addr_of!(FUNCTION_LIST).cast_mut();
    // SAFETY: PKCS#11 — `list` receives the pointer; `put` refuses a null one.
    match unsafe { put(list, pointer) } {
        Ok(()) => CKR_OK,
        Err(rv) => rv,
    }
}
