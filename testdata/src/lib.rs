//! The test persons of Podpis, from `persons.toml`: the virtual card profiles and the people
//! behind them, and the sandbox portal's accounts. The virtual card, the portal's seed and the
//! end-to-end tests all read the file through this one parser, so they cannot disagree on it, and
//! none of them reaches into another's folder for it.
//!
//! Test data only: nothing here belongs in a user's build.

use std::sync::LazyLock;

use serde::{Deserialize, Serialize};

/// The persons file, compiled in so that every binary works from any directory.
pub const PERSONS_TOML: &str = include_str!("../persons.toml");

/// The PIN of every virtual card.
pub const PIN: &str = "12345678";

/// A card's PIN try counter starts here, and a right PIN restores it (docs/cards.md).
pub const MAX_PIN_TRIES: u8 = 3;
/// Every GOST token's PUK (docs/cards.md, RESET RETRY COUNTER), and the tries it allows.
pub const PUK: &str = "87654321";
pub const MAX_PUK_TRIES: u8 = 10;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PersonsFile {
    pub profile: Vec<Profile>,
    /// Portal accounts without a card.
    #[serde(default)]
    pub account: Vec<Account>,
}

/// A virtual card profile: the card, its key and certificate, and the person it belongs to.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    pub name: String,
    pub description: String,
    pub application: Application,
    pub key: KeyKind,
    pub serial: String,
    #[serde(default)]
    pub label: Option<String>,
    #[serde(default)]
    pub issuer: Issuer,
    #[serde(default)]
    pub validity: Validity,
    #[serde(default = "max_pin_tries")]
    pub pin_tries_left: u8,
    #[serde(default)]
    pub certificate_without_snils: bool,
    pub person: Person,
    #[serde(default)]
    pub organisation: Option<Organisation>,
}

fn max_pin_tries() -> u8 {
    MAX_PIN_TRIES
}

/// The person of a card profile, with a standard account on the sandbox portal.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Person {
    pub surname: String,
    pub given_names: String,
    pub snils: String,
    pub inn: String,
    #[serde(default)]
    pub ogrnip: Option<String>,
    pub phone: String,
    pub email: String,
    /// The sandbox portal's test password for this person.
    pub password: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Organisation {
    pub name: String,
    pub ogrn: String,
    pub inn: String,
}

/// The card application a profile runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Application {
    GostToken,
    Uec,
    /// The PIV Card Application of NIST SP 800-73-4 (docs/cards.md, "PIV").
    Piv,
}

/// The profile's key. Serialised too: the virtual card keeps it in its state file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
pub enum KeyKind {
    #[serde(rename = "gost2012-256")]
    Gost2012_256,
    #[serde(rename = "gost2012-512")]
    Gost2012_512,
    #[serde(rename = "gost2001")]
    Gost2001,
    /// ECDSA on NIST P-256: the PIV card's key (PIV algorithm identifier 11).
    #[serde(rename = "ecdsa-p256")]
    EcdsaP256,
}

/// Which CA of the test PKI issues the profile's certificate.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Issuer {
    #[default]
    Trusted,
    Untrusted,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Validity {
    #[default]
    Current,
    Expired,
}

/// A sandbox portal account: each profile's person at the standard level, and the accounts of
/// the file's `[[account]]` tables, which have no card.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Account {
    /// The profile's name, or the account's own for one without a card.
    pub name: String,
    pub level: Level,
    pub surname: String,
    pub given_names: String,
    #[serde(default)]
    pub snils: Option<String>,
    #[serde(default)]
    pub inn: Option<String>,
    pub phone: String,
    pub email: String,
    pub password: String,
}

/// The portal's account levels, as its database writes them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Level {
    Simplified,
    Standard,
    Confirmed,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Simplified => "simplified",
            Self::Standard => "standard",
            Self::Confirmed => "confirmed",
        }
    }
}

static FILE: LazyLock<PersonsFile> = LazyLock::new(|| {
    // The file is compiled in and a test parses it: it always parses.
    match toml::from_str(PERSONS_TOML) {
        Ok(file) => file,
        Err(e) => panic!("testdata/persons.toml is invalid: {e}"),
    }
});

/// Every card profile, in the file's order.
pub fn profiles() -> &'static [Profile] {
    &FILE.profile
}

/// The card profile `name`.
pub fn profile(name: &str) -> Option<&'static Profile> {
    profiles().iter().find(|p| p.name == name)
}

/// Every account the sandbox portal seeds: a standard one for each profile's person, then the
/// accounts without a card.
pub fn accounts() -> Vec<Account> {
    profiles()
        .iter()
        .map(|p| Account {
            name: p.name.clone(),
            level: Level::Standard,
            surname: p.person.surname.clone(),
            given_names: p.person.given_names.clone(),
            snils: Some(p.person.snils.clone()),
            inn: Some(p.person.inn.clone()),
            phone: p.person.phone.clone(),
            email: p.person.email.clone(),
            password: p.person.password.clone(),
        })
        .chain(FILE.account.iter().cloned())
        .collect()
}

/// The account `name` (a profile's name, or a card-less account's).
pub fn account(name: &str) -> Option<Account> {
    accounts().into_iter().find(|a| a.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_file_parses_with_profiles_and_card_less_accounts() {
        let file: PersonsFile = toml::from_str(PERSONS_TOML).expect("persons.toml");
        assert!(!file.profile.is_empty());
        assert!(!file.account.is_empty());
        assert_eq!(
            account("simplified").map(|a| a.level),
            Some(Level::Simplified)
        );
        assert_eq!(
            profile("entrepreneur").map(|p| p.key),
            Some(KeyKind::Gost2012_256)
        );
        assert!(profile("nobody").is_none());
    }

    #[test]
    fn names_and_logins_are_unique() {
        let accounts = accounts();
        for (i, a) in accounts.iter().enumerate() {
            for b in &accounts[i + 1..] {
                assert_ne!(a.name, b.name);
                assert_ne!(a.phone, b.phone, "{} and {}", a.name, b.name);
                assert_ne!(a.email, b.email, "{} and {}", a.name, b.name);
            }
        }
    }

    #[test]
    fn accounts_above_simplified_have_a_snils() {
        // The portal's standard level means passport and SNILS checked.
        for a in accounts() {
            if a.level != Level::Simplified {
                assert!(a.snils.as_deref().is_some_and(snils_ok), "{}", a.name);
            }
        }
    }

    #[test]
    fn every_number_has_a_valid_checksum() {
        for p in profiles() {
            assert!(snils_ok(&p.person.snils), "{} SNILS", p.name);
            assert!(inn12_ok(&p.person.inn), "{} INN", p.name);
            if let Some(ogrnip) = &p.person.ogrnip {
                assert!(
                    ogrnip.len() == 15 && mod_check(ogrnip, 13),
                    "{} OGRNIP",
                    p.name
                );
            }
            if let Some(org) = &p.organisation {
                assert!(
                    org.ogrn.len() == 13 && mod_check(&org.ogrn, 11),
                    "{} OGRN",
                    p.name
                );
                assert!(inn10_ok(&org.inn), "{} INN LE", p.name);
            }
        }
    }

    // Written here from the official rules, independently of `signing`'s checks.
    fn digits(s: &str) -> Vec<u64> {
        s.bytes().map(|b| u64::from(b - b'0')).collect()
    }

    fn snils_ok(s: &str) -> bool {
        if s.len() != 11 || !s.bytes().all(|b| b.is_ascii_digit()) {
            return false;
        }
        let d = digits(s);
        let sum: u64 = (0..9).map(|i| d[i] * (9 - i as u64)).sum();
        let check = match sum {
            0..=99 => sum,
            100 | 101 => 0,
            _ => match sum % 101 {
                100 => 0,
                r => r,
            },
        };
        check == d[9] * 10 + d[10]
    }

    fn weighted(d: &[u64], w: &[u64]) -> u64 {
        d.iter().zip(w).map(|(a, b)| a * b).sum::<u64>() % 11 % 10
    }

    fn inn12_ok(s: &str) -> bool {
        let d = digits(s);
        s.len() == 12
            && weighted(&d, &[7, 2, 4, 10, 3, 5, 9, 4, 6, 8]) == d[10]
            && weighted(&d, &[3, 7, 2, 4, 10, 3, 5, 9, 4, 6, 8]) == d[11]
    }

    fn inn10_ok(s: &str) -> bool {
        let d = digits(s);
        s.len() == 10 && weighted(&d, &[2, 4, 10, 3, 5, 9, 4, 6, 8]) == d[9]
    }

    fn mod_check(s: &str, m: u64) -> bool {
        let n: u64 = s[..s.len() - 1].parse().unwrap_or(0);
        n % m % 10 == u64::from(s.as_bytes()[s.len() - 1] - b'0')
    }
}
