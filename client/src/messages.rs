//! The one table that turns a code into words for people, in Russian and English: what happened
//! and what to do. Certificate findings keep their words beside their checks in `signing`; this
//! table hands them through.

use signing::certificate::FindingCode;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Language {
    #[default]
    Russian,
    English,
}

impl Language {
    fn finding(self) -> signing::certificate::Language {
        match self {
            Self::Russian => signing::certificate::Language::Russian,
            Self::English => signing::certificate::Language::English,
        }
    }
}

const FINDINGS: [FindingCode; 10] = [
    FindingCode::Expired,
    FindingCode::NotYetValid,
    FindingCode::SnilsMissing,
    FindingCode::SnilsChecksum,
    FindingCode::NotQualified,
    FindingCode::KeyUsage,
    FindingCode::LegalEntityWithoutPersonSnils,
    FindingCode::AlgorithmDeprecated,
    FindingCode::InnChecksum,
    FindingCode::OgrnChecksum,
];

/// Words for `code` (a protocol code, a client code or a finding code).
pub fn describe(code: &str, language: Language) -> String {
    if let Some(finding) = FINDINGS.iter().find(|f| f.as_str() == code) {
        return finding.message(language.finding()).to_owned();
    }
    let (ru, en) = words(code);
    match language {
        Language::Russian => ru.to_owned(),
        Language::English => en.to_owned(),
    }
}

fn words(code: &str) -> (&'static str, &'static str) {
    match code {
        // The portal's refusals (docs/protocol.md).
        "malformed" => ("Портал не смог прочитать запрос. Обновите Подпись и повторите.", "The portal could not read the request. Update Podpis and try again."),
        "too-large" => ("Запрос слишком велик для портала.", "The request is too large for the portal."),
        "signature-invalid" => ("Подпись не прошла проверку на портале. Повторите подписание; если не поможет — обратитесь в удостоверяющий центр.", "The portal could not verify the signature. Sign again; if that fails, contact your certification authority."),
        "certificate-untrusted" => ("Сертификат выдан удостоверяющим центром, которому портал не доверяет. Нужен сертификат аккредитованного УЦ.", "The certificate was issued by a CA the portal does not trust. You need one from an accredited CA."),
        "certificate-expired" => ("Сертификат не действовал в момент подписания. Получите новый сертификат.", "The certificate was not valid at the time of signing. Get a new one."),
        "certificate-revoked" => ("Сертификат отозван удостоверяющим центром. Получите новый сертификат.", "The certificate has been revoked by its CA. Get a new one."),
        "certificate-not-qualified" => ("Сертификат не квалифицированный — портал такой не принимает.", "The certificate is not qualified; the portal does not accept it."),
        "key-usage" => ("Ключ сертификата не предназначен для подписи документов. Выберите другой сертификат.", "The certificate's key is not for signing documents. Choose another certificate."),
        "algorithm-deprecated" => ("Портал больше не принимает подписи по ГОСТ Р 34.10-2001. Получите сертификат по ГОСТ Р 34.10-2012.", "The portal no longer accepts GOST R 34.10-2001 signatures. Get a GOST R 34.10-2012 certificate."),
        "nonce-unknown" => ("Портал не узнал запрос на подтверждение. Начните заново.", "The portal did not recognise the confirmation request. Start again."),
        "nonce-expired" => ("Время на подписание истекло (5 минут). Начните заново.", "The time to sign ran out (5 minutes). Start again."),
        "nonce-used" => ("Этот запрос уже был использован. Начните заново.", "This request has been used already. Start again."),
        "purpose-mismatch" => ("Запрос был выдан для другого действия. Начните заново.", "The request was issued for another action. Start again."),
        "origin-mismatch" => ("Документ подписан для другого портала. Проверьте адрес портала в настройках.", "The document was signed for another portal. Check the portal address in the settings."),
        "account-not-standard" => ("Сначала подтвердите паспорт и СНИЛС: учётная запись должна быть стандартной.", "Have your passport and SNILS checked first: the account must be standard."),
        "already-confirmed" => ("Учётная запись уже подтверждена.", "The account is already confirmed."),
        "snils-missing" => ("В сертификате нет СНИЛС владельца — портал его не примет. Получите сертификат с СНИЛС.", "The certificate carries no SNILS of its holder; the portal will not accept it. Get one with your SNILS."),
        "snils-mismatch" => ("СНИЛС в сертификате не совпадает со СНИЛС учётной записи: сертификат другого человека.", "The certificate's SNILS is not the account's: it belongs to another person."),
        "name-mismatch" => ("ФИО в сертификате не совпадает с учётной записью. Исправьте данные в профиле или получите новый сертификат.", "The name in the certificate differs from the account's. Correct the profile or get a new certificate."),
        "organisation-data-missing" => ("В сертификате нет ОГРН или ИНН организации: нужен сертификат юридического лица.", "The certificate lacks the organisation's OGRN or INN: a legal-entity certificate is needed."),
        "organisation-exists" => ("Организация уже зарегистрирована на портале.", "The organisation is already registered on the portal."),
        "rate-limited" => ("Слишком много попыток. Подождите минуту и повторите.", "Too many attempts. Wait a minute and try again."),
        "unauthorised" => ("Неверный логин или пароль, или сеанс истёк. Войдите снова.", "Wrong login or password, or the session has expired. Log in again."),
        "internal" => ("Портал не смог обработать запрос. Повторите позже — запрос сохранён.", "The portal failed to process the request. Try again later; the request is kept."),
        "not-found" => ("Портал не знает такого запроса. Проверьте адрес портала.", "The portal does not know this request. Check the portal address."),
        // The client's own.
        "portal-unreachable" => ("Портал недоступен. Проверьте подключение; подписанный запрос сохранён и будет отправлен позже.", "The portal cannot be reached. Check the connection; the signed request is kept and will be sent later."),
        "portal-timeout" => ("Портал не ответил вовремя. Подписанный запрос сохранён и будет отправлен позже.", "The portal did not answer in time. The signed request is kept and will be sent later."),
        "portal-garbled" => ("Портал ответил непонятно. Подписанный запрос сохранён; повторите позже.", "The portal answered with something unreadable. The signed request is kept; try later."),
        "portal-address" => ("Адрес портала неверен или небезопасен (HTTP разрешён только к этому компьютеру).", "The portal address is wrong or insecure (plain HTTP only to this computer)."),
        "ca-file" => ("Не удалось прочитать файл корневого сертификата.", "Cannot read the CA certificate file."),
        "not-logged-in" => ("Вы не вошли на портал. Выполните вход.", "You are not logged in to the portal. Log in first."),
        "keyring" => ("Хранилище паролей системы недоступно: сеанс негде сохранить.", "The system keyring is not usable: the session cannot be kept."),
        "pcsc-not-running" => ("Служба смарт-карт (pcscd) не запущена. Запустите её.", "The smart card service (pcscd) is not running. Start it."),
        "no-reader" => ("Считыватель смарт-карт не найден. Подключите считыватель или токен.", "No smart card reader found. Connect a reader or token."),
        "no-card" => ("Карта или токен не вставлены. Вставьте носитель с подписью.", "No card or token is inserted. Insert the one with your signature."),
        "several-cards" => ("Вставлено несколько носителей: выберите считыватель.", "Several cards are inserted: choose a reader."),
        "card-removed" => ("Носитель извлечён во время работы. Ничего не отправлено; вставьте его и повторите.", "The card was removed during the operation. Nothing was sent; insert it and try again."),
        "card-not-responding" => ("Носитель не отвечает. Извлеките его и вставьте снова.", "The card does not answer. Remove it and insert it again."),
        "card-unknown" => ("Этот носитель Подписи незнаком.", "Podpis does not know this card."),
        "card-error" => ("Ошибка при работе с носителем. Извлеките его, вставьте снова и повторите.", "The card failed. Remove it, insert it again and retry."),
        "no-certificate" => ("На носителе нет подходящего сертификата.", "There is no suitable certificate on the card."),
        "several-certificates" => ("На носителе несколько сертификатов: выберите один.", "There are several certificates on the card: choose one."),
        "pin-incorrect" => ("Неверный PIN.", "Wrong PIN."),
        "pin-blocked" => ("PIN заблокирован. Разблокируйте носитель PUK-кодом или обратитесь в удостоверяющий центр.", "The PIN is blocked. Unblock the card with its PUK or contact your certification authority."),
        "pin-format" => ("PIN не подходит по длине или содержит недопустимые символы.", "The PIN has the wrong length or characters."),
        "pin-last-try" => ("Осталась последняя попытка ввода PIN: нужно явное подтверждение.", "One PIN try is left: explicit confirmation is needed."),
        "person-mismatch" => ("Сертификат принадлежит другому человеку (СНИЛС не совпадает с учётной записью). Вставьте свой носитель.", "The certificate belongs to another person (its SNILS is not the account's). Insert your own card."),
        "not-an-organisation" => ("Для регистрации организации нужен сертификат юридического лица (с ОГРН).", "Registering an organisation needs a legal-entity certificate (with OGRN)."),
        "cancelled" => ("Отменено.", "Cancelled."),
        "sandbox-pki" => ("Не найден тестовый УЦ песочницы. Создайте его: podpis-vcard pki init --dir <каталог> и укажите каталог в настройках.", "The sandbox's test CA is missing. Create it with podpis-vcard pki init --dir <dir> and set the directory in the settings."),
        "sandbox" => ("Не удалось запустить песочницу.", "The sandbox could not be started."),
        "settings" => ("Не удалось сохранить настройки.", "The settings could not be saved."),
        "outbox" => ("Не удалось сохранить подписанный запрос на диск. Ничего не отправлено.", "The signed request could not be saved to disk. Nothing was sent."),
        _ => ("Непредвиденная ошибка.", "Unexpected error."),
    }
}

/// Words for a step of the flow, for progress displays.
pub fn step(step: crate::flow::Step, language: Language) -> &'static str {
    use crate::flow::Step::*;
    let (ru, en) = match step {
        ReadingCard => ("Чтение носителя…", "Reading the card…"),
        CheckingCertificate => ("Проверка сертификата…", "Checking the certificate…"),
        RequestingChallenge => ("Запрос к порталу…", "Asking the portal for a challenge…"),
        WaitingForPin => ("Ожидание PIN…", "Waiting for the PIN…"),
        SigningOnCard => ("Подписание на носителе…", "Signing on the card…"),
        StoringRequest => ("Сохранение запроса…", "Storing the request…"),
        Sending => ("Отправка на портал…", "Sending to the portal…"),
        PortalChecks => (
            "Портал проверяет подпись…",
            "The portal checks the signature…",
        ),
        Done => ("Готово.", "Done."),
    };
    match language {
        Language::Russian => ru,
        Language::English => en,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_protocol_code_has_its_own_words_in_both_languages() {
        for code in protocol::codes::ALL {
            let (ru, en) = words(code);
            assert_ne!(en, "Unexpected error.", "{code} has no words");
            assert!(ru.chars().any(|c| ('а'..='я').contains(&c)), "{code}");
            assert!(en.is_ascii(), "{code}");
        }
    }

    #[test]
    fn findings_come_through_the_same_table() {
        assert!(describe("snils-missing", Language::English).contains("SNILS"));
        assert!(describe("legal-entity-without-person-snils", Language::Russian).contains("СНИЛС"));
    }
}
