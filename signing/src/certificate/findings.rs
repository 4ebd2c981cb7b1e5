//! What is wrong with a certificate for the job, found before anything is signed, each with a
//! stable code and a severity. The words a person reads for each code live in the client's one
//! table of words (`client::messages`), not here: this crate returns codes and data.

use serde::Serialize;

use super::{checksums, CertificateInfo};

/// Declares the finding codes once: the enum, its stable strings and the list of all of them
/// come from the same lines, so a new finding cannot be left out of the list.
macro_rules! finding_codes {
    ($($variant:ident => $code:literal,)*) => {
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
        #[serde(rename_all = "kebab-case")]
        pub enum FindingCode {
            $($variant,)*
        }

        impl FindingCode {
            /// Every finding there is.
            pub const ALL: &'static [FindingCode] = &[$(Self::$variant,)*];

            /// The stable code, as in `podpis certs --json` and the words table.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $code,)*
                }
            }
        }
    };
}

finding_codes! {
    Expired => "expired",
    NotYetValid => "not-yet-valid",
    SnilsMissing => "snils-missing",
    SnilsChecksum => "snils-checksum",
    NotQualified => "not-qualified",
    KeyUsage => "key-usage",
    LegalEntityWithoutPersonSnils => "legal-entity-without-person-snils",
    AlgorithmDeprecated => "algorithm-deprecated",
    InnChecksum => "inn-checksum",
    OgrnChecksum => "ogrn-checksum",
}

/// An error finding stops the signing; a warning is shown and the portal decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Severity {
    Error,
    Warning,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Finding {
    pub code: FindingCode,
    pub severity: Severity,
}

impl FindingCode {
    pub fn severity(self) -> Severity {
        match self {
            // A UEC with a GOST R 34.10-2001 key can still sign: the portal applies its own rule
            // and says why it refuses.
            Self::AlgorithmDeprecated => Severity::Warning,
            _ => Severity::Error,
        }
    }
}

impl Finding {
    fn of(code: FindingCode) -> Self {
        Self {
            code,
            severity: code.severity(),
        }
    }
}

/// The findings of a certificate at time `now` (seconds since the Unix epoch).
pub fn check(info: &CertificateInfo, now: i64) -> Vec<Finding> {
    let mut out = Vec::new();
    if now > info.validity.1 {
        out.push(Finding::of(FindingCode::Expired));
    }
    if now < info.validity.0 {
        out.push(Finding::of(FindingCode::NotYetValid));
    }
    let legal_entity = info.ogrn.is_some() || info.inn_le.is_some();
    match &info.snils {
        None if legal_entity => out.push(Finding::of(FindingCode::LegalEntityWithoutPersonSnils)),
        None => out.push(Finding::of(FindingCode::SnilsMissing)),
        Some(snils) if !checksums::snils(snils) => {
            out.push(Finding::of(FindingCode::SnilsChecksum))
        }
        Some(_) => {}
    }
    if !info.is_qualified() {
        out.push(Finding::of(FindingCode::NotQualified));
    }
    if !(info.key_usage.digital_signature && info.key_usage.non_repudiation) {
        out.push(Finding::of(FindingCode::KeyUsage));
    }
    if info.algorithm == "gost2001" {
        out.push(Finding::of(FindingCode::AlgorithmDeprecated));
    }
    let inn_ok = info.inn.as_deref().is_none_or(checksums::inn)
        && info.inn_le.as_deref().is_none_or(checksums::inn);
    if !inn_ok {
        out.push(Finding::of(FindingCode::InnChecksum));
    }
    let ogrn_ok = info.ogrn.as_deref().is_none_or(checksums::ogrn)
        && info.ogrnip.as_deref().is_none_or(checksums::ogrnip);
    if !ogrn_ok {
        out.push(Finding::of(FindingCode::OgrnChecksum));
    }
    out
}
