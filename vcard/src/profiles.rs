//! The profiles of the virtual card and the people behind them, from `persons.toml`.

use serde::Deserialize;

/// The persons file, compiled in so that the binary works from any directory.
pub const PERSONS_TOML: &str = include_str!("../persons.toml");

#[derive(Debug, Clone, Deserialize)]
pub struct PersonsFile {
    pub profile: Vec<Profile>,
}

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
    #[serde(default = "default_tries")]
    pub pin_tries_left: u8,
    #[serde(default)]
    pub certificate_without_snils: bool,
    pub person: Person,
    #[serde(default)]
    pub organisation: Option<Organisation>,
}

fn default_tries() -> u8 {
    MAX_PIN_TRIES
}

pub const DEFAULT_PIN: &str = "12345678";
pub const MAX_PIN_TRIES: u8 = 3;

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
    /// The sandbox portal's test password for this person (read by the portal's seed).
    #[allow(dead_code)]
    pub password: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Organisation {
    pub name: String,
    pub ogrn: String,
    pub inn: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Application {
    GostToken,
    Uec,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum KeyKind {
    #[serde(rename = "gost2012-256")]
    Gost2012_256,
    #[serde(rename = "gost2012-512")]
    Gost2012_512,
    Gost2001,
}

impl KeyKind {
    /// The `openssl genpkey -algorithm` name (GOST engine).
    pub fn openssl_algorithm(self) -> &'static str {
        match self {
            Self::Gost2012_256 => "gost2012_256",
            Self::Gost2012_512 => "gost2012_512",
            Self::Gost2001 => "gost2001",
        }
    }

    /// The algorithm reference byte of docs/cards.md.
    pub fn reference(self) -> u8 {
        match self {
            Self::Gost2012_256 => 0x01,
            Self::Gost2012_512 => 0x02,
            Self::Gost2001 => 0x03,
        }
    }

    pub fn hash_len(self) -> usize {
        match self {
            Self::Gost2012_512 => 64,
            _ => 32,
        }
    }
}

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

pub fn all() -> Vec<Profile> {
    // The file is part of the binary and covered by a test: it always parses.
    match toml::from_str::<PersonsFile>(PERSONS_TOML) {
        Ok(file) => file.profile,
        Err(e) => panic!("vcard/persons.toml is invalid: {e}"),
    }
}

pub fn find(name: &str) -> Option<Profile> {
    all().into_iter().find(|p| p.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_persons_file_has_every_profile_the_docs_promise() {
        let names: Vec<_> = all().into_iter().map(|p| p.name).collect();
        for expected in [
            "entrepreneur",
            "legal-entity",
            "legal-entity-without-snils",
            "expired",
            "untrusted-ca",
            "blocked-pin",
            "uec",
        ] {
            assert!(names.iter().any(|n| n == expected), "{expected} missing");
        }
    }

    #[test]
    fn every_number_has_a_valid_checksum() {
        for p in all() {
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
        s.len() == 11 && check == d[9] * 10 + d[10]
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
