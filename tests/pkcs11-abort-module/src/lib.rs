//! What a broken vendor module looks like to its host: `C_GetFunctionList` answers, and
//! `C_Initialize` takes the whole process down (`abort`, SIGABRT), as a vendor library that trips
//! over something on the user's machine does. Podpis must meet such a module only in a child
//! process that it can watch die, and report it there instead of dying with it.
//!
//! Every function other than `C_Initialize` and `C_GetFunctionList` is absent (a null entry), as in
//! a list that nobody gets past the first call of.

// A PKCS#11 module is a C ABI by definition: exporting `C_GetFunctionList` is `no_mangle`, and
// PKCS#11 hands it a raw pointer to write through.
#![allow(unsafe_code)]

use std::ffi::c_void;
use std::sync::OnceLock;

use cryptoki_sys::{CKR_ARGUMENTS_BAD, CKR_OK, CK_FUNCTION_LIST, CK_RV, CK_VERSION};

unsafe extern "C" fn c_initialize(_args: *mut c_void) -> CK_RV {
    std::process::abort()
}

fn function_list() -> &'static CK_FUNCTION_LIST {
    static LIST: OnceLock<CK_FUNCTION_LIST> = OnceLock::new();
    LIST.get_or_init(|| CK_FUNCTION_LIST {
        version: CK_VERSION {
            major: 2,
            minor: 40,
        },
        C_Initialize: Some(c_initialize),
        C_GetFunctionList: Some(C_GetFunctionList),
        ..CK_FUNCTION_LIST::default()
    })
}

/// # Safety
/// `list` is null (refused) or points at a writable `CK_FUNCTION_LIST_PTR`; the list it receives
/// must not be written through.
#[no_mangle]
#[allow(non_snake_case)]
pub unsafe extern "C" fn C_GetFunctionList(list: *mut *mut CK_FUNCTION_LIST) -> CK_RV {
    if list.is_null() {
        return CKR_ARGUMENTS_BAD;
    }
    let pointer = std::ptr::from_ref(function_list()).cast_mut();
    // SAFETY: non-null, and PKCS#11 makes `list` the caller's place for the pointer.
    unsafe { list.write(pointer) };
    CKR_OK
}
