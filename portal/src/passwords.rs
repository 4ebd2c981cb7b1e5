//! Password hashes: Argon2id with the crate's default parameters (OWASP's minimum).

use argon2::password_hash::{
    rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString,
};
use argon2::Argon2;

pub fn hash(password: &str) -> Result<String, argon2::password_hash::Error> {
    let salt = SaltString::generate(&mut OsRng);
    Ok(Argon2::default()
        .hash_password(password.as_bytes(), &salt)?
        .to_string())
}

/// What a login that names no account is checked against, so that it costs the Argon2 work a
/// known login costs and its refusal takes as long (timing must not tell which logins exist).
/// The hash of a phrase no password equals, with [`hash`]'s parameters (a test holds them
/// equal); it never verifies anything a client sends, as the login is refused either way.
pub const UNKNOWN_LOGIN: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$xCMiPINbVM2wY58ZtjuSNQ$HIAPKnBpY2ZCDROaGERjaQy4JeplEgNx5UmdFmijtdw";

pub fn verify(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|parsed| {
        Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_unknown_logins_hash_costs_what_a_real_one_costs() {
        let real = hash("ivanov-sandbox-1").expect("hash");
        let real = PasswordHash::new(&real).expect("parse");
        let dummy = PasswordHash::new(UNKNOWN_LOGIN).expect("parse");
        assert_eq!(dummy.algorithm, real.algorithm);
        assert_eq!(dummy.version, real.version);
        assert_eq!(dummy.params, real.params);
        assert_eq!(
            dummy.hash.map(|h| h.len()),
            real.hash.map(|h| h.len()),
            "the same output length"
        );
        assert!(!verify("", UNKNOWN_LOGIN));
        assert!(!verify("ivanov-sandbox-1", UNKNOWN_LOGIN));
    }
}
