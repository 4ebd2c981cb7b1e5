//! What is wrong with a certificate for the job, found before anything is signed, each with a
//! stable code, a severity and words in Russian and English saying what it means and what to do.
//! This table is the one place where these words live.

use serde::Serialize;

use super::{checksums, CertificateInfo};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FindingCode {
    Expired,
    NotYetValid,
    SnilsMissing,
    SnilsChecksum,
    NotQualified,
    KeyUsage,
    LegalEntityWithoutPersonSnils,
    AlgorithmDeprecated,
    InnChecksum,
    OgrnChecksum,
}

/// An error finding stops the signing; a warning is shown and the portal decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Severity {
    Error,
    Warning,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Language {
    Russian,
    English,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Finding {
    pub code: FindingCode,
    pub severity: Severity,
}

impl FindingCode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Expired => "expired",
            Self::NotYetValid => "not-yet-valid",
            Self::SnilsMissing => "snils-missing",
            Self::SnilsChecksum => "snils-checksum",
            Self::NotQualified => "not-qualified",
            Self::KeyUsage => "key-usage",
            Self::LegalEntityWithoutPersonSnils => "legal-entity-without-person-snils",
            Self::AlgorithmDeprecated => "algorithm-deprecated",
            Self::InnChecksum => "inn-checksum",
            Self::OgrnChecksum => "ogrn-checksum",
        }
    }

    pub fn severity(self) -> Severity {
        match self {
            // A UEC with a GOST R 34.10-2001 key can still sign: the portal applies its own rule
            // and says why it refuses.
            Self::AlgorithmDeprecated => Severity::Warning,
            _ => Severity::Error,
        }
    }

    /// What it means and what to do.
    pub fn message(self, language: Language) -> &'static str {
        use Language::*;
        match (self, language) {
            (Self::Expired, Russian) => "Срок действия сертификата истёк. Получите новый сертификат в аккредитованном удостоверяющем центре.",
            (Self::Expired, English) => "The certificate has expired. Get a new one from an accredited certification authority.",
            (Self::NotYetValid, Russian) => "Сертификат ещё не начал действовать. Проверьте дату и время на компьютере или дождитесь начала срока действия.",
            (Self::NotYetValid, English) => "The certificate is not valid yet. Check the computer's date and time, or wait until its validity starts.",
            (Self::SnilsMissing, Russian) => "В сертификате нет СНИЛС — такой сертификат портал не примет. Получите сертификат с СНИЛС в аккредитованном удостоверяющем центре.",
            (Self::SnilsMissing, English) => "The certificate has no SNILS, so the portal will not accept it. Get a certificate with your SNILS from an accredited certification authority.",
            (Self::SnilsChecksum, Russian) => "СНИЛС в сертификате записан с ошибкой (не сходится контрольное число). Обратитесь в удостоверяющий центр, выдавший сертификат.",
            (Self::SnilsChecksum, English) => "The SNILS in the certificate is wrong (its check digits do not match). Contact the certification authority that issued it.",
            (Self::NotQualified, Russian) => "Сертификат не квалифицированный: в нём нет сведений о средствах электронной подписи или класса средства. Для портала нужен квалифицированный сертификат.",
            (Self::NotQualified, English) => "The certificate is not qualified: it lacks the signing tool or signing tool class details. The portal needs a qualified certificate.",
            (Self::KeyUsage, Russian) => "Ключ этого сертификата не предназначен для электронной подписи документов. Выберите другой сертификат.",
            (Self::KeyUsage, English) => "This certificate's key is not meant for signing documents (digital signature and non-repudiation). Choose another certificate.",
            (Self::LegalEntityWithoutPersonSnils, Russian) => "В сертификате организации нет СНИЛС её представителя — портал его не примет. Получите сертификат с СНИЛС представителя.",
            (Self::LegalEntityWithoutPersonSnils, English) => "The organisation's certificate does not include its representative's SNILS, so the portal will not accept it. Get one that includes it.",
            (Self::AlgorithmDeprecated, Russian) => "Ключ использует устаревший алгоритм ГОСТ Р 34.10-2001; портал может отказать в проверке подписи. Получите сертификат по ГОСТ Р 34.10-2012.",
            (Self::AlgorithmDeprecated, English) => "The key uses the deprecated GOST R 34.10-2001 algorithm; the portal may refuse it. Get a GOST R 34.10-2012 certificate.",
            (Self::InnChecksum, Russian) => "ИНН в сертификате записан с ошибкой (не сходится контрольное число). Обратитесь в удостоверяющий центр, выдавший сертификат.",
            (Self::InnChecksum, English) => "The INN in the certificate is wrong (its check digits do not match). Contact the certification authority that issued it.",
            (Self::OgrnChecksum, Russian) => "ОГРН или ОГРНИП в сертификате записан с ошибкой (не сходится контрольное число). Обратитесь в удостоверяющий центр, выдавший сертификат.",
            (Self::OgrnChecksum, English) => "The OGRN or OGRNIP in the certificate is wrong (its check digit does not match). Contact the certification authority that issued it.",
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
