//! A PKCS#11 module for tests: one slot with a GOST R 34.10-2012 token whose keys and certificates
//! are files, signing a precomputed digest with `CKM_GOSTR3410` (256-bit keys) and the TC 26
//! vendor-defined `CKM_GOSTR3410_512` (512-bit keys) through OpenSSL's GOST engine.
//!
//! No vendor module or GOST token was available to write Podpis's PKCS#11 tier against; this module
//! stands in for one. It follows what docs/pkcs11.md ("GOST through PKCS#11") found in open code that
//! talks to real tokens: the constants, the signature `C_Sign` returns (s ‖ r, big-endian halves,
//! which is the CMS signatureValue unchanged), the digest taken as the hash function returns it, and
//! the public `CKA_VALUE` laid out as X ‖ Y little-endian.
//!
//! Its token lives in the directory named by `PODPIS_TEST_P11_DIR` ([`store`]). OpenSSL's GOST
//! engine is needed only to sign, and it loads from `OPENSSL_CONF` set by whoever loads the module
//! (config/openssl-gost.cnf); listing the token's objects needs neither.
//!
//! Implemented: `C_GetFunctionList`, `C_Initialize`/`C_Finalize`, `C_GetInfo`, `C_GetSlotList`,
//! `C_GetSlotInfo`, `C_GetTokenInfo`, `C_GetMechanismList`/`Info`, `C_OpenSession`,
//! `C_CloseSession`, `C_CloseAllSessions`, `C_GetSessionInfo`, `C_Login`/`C_Logout` (user, SO,
//! context-specific), `C_InitPIN`, `C_SetPIN`, `C_FindObjects*`, `C_GetAttributeValue`,
//! `C_SignInit`/`C_Sign`. Every other function answers `CKR_FUNCTION_NOT_SUPPORTED`.

pub mod ffi;
pub mod objects;
pub mod store;
pub mod token;

/// The TC 26 vendor-defined values for GOST R 34.10-2012 512-bit keys and GOST R 34.11-2012, which
/// `cryptoki-sys` does not carry (docs/pkcs11.md, "Constants": OpenSC `src/pkcs11/pkcs11.h`, p11-kit
/// `pkcs11x.h`).
pub mod tc26 {
    use cryptoki_sys::{CK_KEY_TYPE, CK_MECHANISM_TYPE, CK_ULONG};

    /// `NSSCK_VENDOR_PKCS11_RU_TEAM` = `CKK_VENDOR_DEFINED | 0x54321000`.
    pub const VENDOR_PKCS11_RU_TEAM: CK_ULONG = 0x8000_0000 | 0x5432_1000;
    pub const CKK_GOSTR3410_512: CK_KEY_TYPE = VENDOR_PKCS11_RU_TEAM | 0x003;
    pub const CKM_GOSTR3410_512_KEY_PAIR_GEN: CK_MECHANISM_TYPE = VENDOR_PKCS11_RU_TEAM | 0x005;
    pub const CKM_GOSTR3410_512: CK_MECHANISM_TYPE = VENDOR_PKCS11_RU_TEAM | 0x006;
    pub const CKM_GOSTR3410_WITH_GOSTR3411_12_256: CK_MECHANISM_TYPE =
        VENDOR_PKCS11_RU_TEAM | 0x008;
    pub const CKM_GOSTR3410_WITH_GOSTR3411_12_512: CK_MECHANISM_TYPE =
        VENDOR_PKCS11_RU_TEAM | 0x009;
    pub const CKM_GOSTR3411_12_256: CK_MECHANISM_TYPE = VENDOR_PKCS11_RU_TEAM | 0x012;
    pub const CKM_GOSTR3411_12_512: CK_MECHANISM_TYPE = VENDOR_PKCS11_RU_TEAM | 0x013;

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn the_values_are_those_of_the_headers() {
            assert_eq!(VENDOR_PKCS11_RU_TEAM, 0xD432_1000);
            assert_eq!(CKK_GOSTR3410_512, 0xD432_1003);
            assert_eq!(CKM_GOSTR3410_512, 0xD432_1006);
            assert_eq!(CKM_GOSTR3411_12_256, 0xD432_1012);
        }
    }
}
