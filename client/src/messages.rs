//! The one table of the words people read, in Russian and English: error codes (the portal's
//! and the client's own), certificate findings, card and PIN states, the steps of the flow,
//! prompts and the CLI's headings. Nothing else in the Rust code holds a sentence for people
//! (a test below scans the sources); `signing` and `protocol` give codes and data only.
//!
//! - [`describe`]: an error code (what happened and what to do);
//! - [`finding`]: a certificate finding (what it means and what to do);
//! - [`error`]: the one way from a flow error to words, with its details (tries left…);
//! - [`step`] and [`phrase`]: progress, prompts, headings and results.

use std::str::FromStr;

use signing::certificate::FindingCode;
use signing::{PinCondition, TokenError};

use crate::flow::{FlowError, Step};

/// The language of the words: Russian by default, English on request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Language {
    #[default]
    Russian,
    English,
}

impl Language {
    /// The code used in settings, on the command line and in the UI: `ru` or `en`.
    pub fn code(self) -> &'static str {
        match self {
            Self::Russian => "ru",
            Self::English => "en",
        }
    }

    fn pick<T>(self, ru: T, en: T) -> T {
        match self {
            Self::Russian => ru,
            Self::English => en,
        }
    }
}

impl FromStr for Language {
    type Err = String;

    fn from_str(code: &str) -> Result<Self, String> {
        match code.trim().to_ascii_lowercase().as_str() {
            "ru" | "rus" | "russian" => Ok(Self::Russian),
            "en" | "eng" | "english" => Ok(Self::English),
            other => Err(format!("unknown language {other:?}: use ru or en")),
        }
    }
}

/// The codes the client itself gives (beside the portal's, `protocol::codes::ALL`, and the
/// findings): each has words in both languages, which a test checks.
pub const CLIENT_CODES: &[&str] = &[
    "portal-unreachable",
    "portal-timeout",
    "portal-garbled",
    "portal-redirect",
    "challenge-origin",
    "portal-address",
    "ca-file",
    "not-logged-in",
    "keyring",
    "pcsc-not-running",
    "no-reader",
    "no-card",
    "several-cards",
    "card-removed",
    "card-not-responding",
    "card-unknown",
    "card-error",
    "no-certificate",
    "several-certificates",
    "pin-incorrect",
    "pin-blocked",
    "pin-format",
    "pin-last-try",
    "puk-incorrect",
    "puk-blocked",
    "pin-new-refused",
    "pin-change-unsupported",
    "pin-mismatch",
    "token-module-missing",
    "algorithm-unsupported",
    "pkcs11-module-missing",
    "pkcs11-module-not-loadable",
    "pkcs11-module-init-failed",
    "pkcs11-module-crashed",
    "pkcs11-module-timed-out",
    "pkcs11-module-unusable",
    "pkcs11-key-missing",
    "pkcs11-call-failed",
    "pin-expired",
    "pin-required",
    "pin-pad-cancelled",
    "token-csp-containers",
    "person-mismatch",
    "not-an-organisation",
    "cancelled",
    "sandbox-pki",
    "sandbox",
    "settings",
    "settings-trust",
    "consent-gone",
    "outbox",
    "file-read",
    "file-write",
    "input",
    "signature-build",
    "runtime",
    "file-exists",
    "file-changed",
    "file-twice",
    "batch-empty",
    "batch-partial",
    "browser-host-missing",
    "browser-needs-root",
    "browser-manifest-write",
    "browser-not-registered",
    "browser-host-gone",
    "browser-manifest-invalid",
];

/// Words for an error code: one of the portal's (docs/protocol.md) or of [`CLIENT_CODES`].
pub fn describe(code: &str, language: Language) -> String {
    let (ru, en) = error_words(code);
    language.pick(ru, en).to_owned()
}

/// Words for a certificate finding: what it means and what to do. These are a finding's words,
/// said *before* signing; the portal's refusal with a code of the same name has its own words in
/// [`describe`], said after the portal has refused.
pub fn finding(code: FindingCode, language: Language) -> &'static str {
    let (ru, en) = match code {
        FindingCode::Expired => ("Срок действия сертификата истёк. Получите новый сертификат в аккредитованном удостоверяющем центре.", "The certificate has expired. Get a new one from an accredited certification authority."),
        FindingCode::NotYetValid => ("Сертификат ещё не начал действовать. Проверьте дату и время на компьютере или дождитесь начала срока действия.", "The certificate is not valid yet. Check the computer's date and time, or wait until its validity starts."),
        FindingCode::SnilsMissing => ("В сертификате нет СНИЛС — такой сертификат портал не примет. Получите сертификат с СНИЛС в аккредитованном удостоверяющем центре.", "The certificate has no SNILS, so the portal will not accept it. Get a certificate with your SNILS from an accredited certification authority."),
        FindingCode::SnilsChecksum => ("СНИЛС в сертификате записан с ошибкой (не сходится контрольное число). Обратитесь в удостоверяющий центр, выдавший сертификат.", "The SNILS in the certificate is wrong (its check digits do not match). Contact the certification authority that issued it."),
        FindingCode::NotQualified => ("Сертификат не квалифицированный: в нём нет сведений о средствах электронной подписи или класса средства. Для портала нужен квалифицированный сертификат.", "The certificate is not qualified: it lacks the signing tool or signing tool class details. The portal needs a qualified certificate."),
        FindingCode::KeyUsage => ("Ключ этого сертификата не предназначен для электронной подписи документов. Выберите другой сертификат.", "This certificate's key is not meant for signing documents (digital signature and non-repudiation). Choose another certificate."),
        FindingCode::LegalEntityWithoutPersonSnils => ("В сертификате организации нет СНИЛС её представителя — портал его не примет. Получите сертификат с СНИЛС представителя.", "The organisation's certificate does not include its representative's SNILS, so the portal will not accept it. Get one that includes it."),
        FindingCode::AlgorithmDeprecated => ("Ключ использует устаревший алгоритм ГОСТ Р 34.10-2001: портал не принимает им подтверждение учётной записи, а получатели подписанных файлов могут не принять подпись. Получите сертификат по ГОСТ Р 34.10-2012.", "The key uses the deprecated GOST R 34.10-2001 algorithm: the portal does not accept it to confirm an account, and recipients of signed files may not accept it either. Get a GOST R 34.10-2012 certificate."),
        FindingCode::InnChecksum => ("ИНН в сертификате записан с ошибкой (не сходится контрольное число). Обратитесь в удостоверяющий центр, выдавший сертификат.", "The INN in the certificate is wrong (its check digits do not match). Contact the certification authority that issued it."),
        FindingCode::OgrnChecksum => ("ОГРН или ОГРНИП в сертификате записан с ошибкой (не сходится контрольное число). Обратитесь в удостоверяющий центр, выдавший сертификат.", "The OGRN or OGRNIP in the certificate is wrong (its check digit does not match). Contact the certification authority that issued it."),
    };
    language.pick(ru, en)
}

/// The one way from a flow error to the words a person reads: the code's words, then what the
/// error carries that helps (tries left, the card's technical answer).
pub fn error(e: &FlowError, language: Language) -> String {
    let base = match e {
        FlowError::Finding(code) => finding(*code, language).to_owned(),
        _ => describe(&e.code(), language),
    };
    match e {
        FlowError::Card(TokenError::PinIncorrect { tries_left }) => format!(
            "{base} {}",
            phrase(
                Phrase::TriesLeft {
                    tries_left: *tries_left
                },
                language
            )
        ),
        // The code's words say what to do; the detail is for whoever helps the user.
        FlowError::Card(
            TokenError::PinIncorrectUncounted { condition }
            | TokenError::PukIncorrectUncounted { condition },
        ) => format!(
            "{base} {}",
            phrase(
                Phrase::TriesUncounted {
                    condition: *condition
                },
                language
            )
        ),
        // Which module, and what it did: for whoever helps the person.
        FlowError::Card(card @ TokenError::Pkcs11(_)) => format!("{base} ({card})"),
        FlowError::Card(TokenError::PukIncorrect { tries_left }) => format!(
            "{base} {}",
            phrase(
                Phrase::TriesLeft {
                    tries_left: *tries_left
                },
                language
            )
        ),
        FlowError::Card(card) if e.code() == "card-error" => format!("{base} ({card})"),
        FlowError::ChallengeForAnotherPortal { named } => format!("{base} ({named})"),
        // Said for every kept request, and only for those: the same code (a portal that cannot
        // be reached) is also met before anything was signed, when nothing is kept.
        FlowError::Kept { .. } => format!("{base} {}", phrase(Phrase::RequestKept, language)),
        _ => base,
    }
}

fn error_words(code: &str) -> (&'static str, &'static str) {
    match code {
        // The portal's refusals (docs/protocol.md).
        "malformed" => ("Портал не смог прочитать запрос. Обновите Подпись и повторите.", "The portal could not read the request. Update Podpis and try again."),
        "too-large" => ("Запрос слишком велик для портала.", "The request is too large for the portal."),
        "signature-invalid" => ("Подпись не прошла проверку на портале. Повторите подписание; если не поможет — обратитесь в удостоверяющий центр.", "The portal could not verify the signature. Sign again; if that fails, contact your certification authority."),
        "certificate-untrusted" => ("Сертификат выдан удостоверяющим центром, которому портал не доверяет. Нужен сертификат аккредитованного УЦ.", "The certificate was issued by a CA the portal does not trust. You need one from an accredited CA."),
        "certificate-expired" => ("Сертификат не действовал в момент подписания. Получите новый сертификат.", "The certificate was not valid at the time of signing. Get a new one."),
        "certificate-revoked" => ("Сертификат отозван удостоверяющим центром. Получите новый сертификат.", "The certificate has been revoked by its CA. Get a new one."),
        "revocation-unavailable" => ("Портал не смог проверить, не отозван ли сертификат: служба проверки удостоверяющего центра недоступна. Повторите позже.", "The portal could not check whether the certificate is revoked: the CA's revocation service is unavailable. Try again later."),
        "certificate-not-qualified" => ("Сертификат не квалифицированный — портал такой не принимает.", "The certificate is not qualified; the portal does not accept it."),
        "key-usage" => ("Ключ сертификата не предназначен для подписи документов. Выберите другой сертификат.", "The certificate's key is not for signing documents. Choose another certificate."),
        "algorithm-not-gost" => ("Портал принимает только подписи по ГОСТ Р 34.10-2012: этим сертификатом можно подписывать файлы, но не подтверждать учётную запись на портале.", "The portal accepts only GOST R 34.10-2012 signatures: this certificate can sign files, but not confirm an account on the portal."),
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
        "internal" => ("Портал не смог обработать запрос. Повторите позже.", "The portal failed to process the request. Try again later."),
        "not-found" => ("Портал не знает такого запроса. Проверьте адрес портала.", "The portal does not know this request. Check the portal address."),
        // The client's own.
        "portal-unreachable" => ("Портал недоступен. Проверьте подключение.", "The portal cannot be reached. Check the connection."),
        "portal-timeout" => ("Портал не ответил вовремя.", "The portal did not answer in time."),
        "portal-garbled" => ("Портал ответил непонятно. Повторите позже.", "The portal answered with something unreadable. Try again later."),
        "portal-redirect" => ("Портал перенаправил запрос на другой адрес; Подпись не следует перенаправлениям. Проверьте адрес портала в настройках.", "The portal redirected the request to another address; Podpis follows no redirects. Check the portal address in the settings."),
        "challenge-origin" => ("Портал выдал запрос на подтверждение от имени другого портала. Ничего не подписано; проверьте адрес портала.", "The portal issued a challenge in another portal's name. Nothing was signed; check the portal address."),
        "portal-address" => ("Адрес портала неверен или небезопасен (HTTP разрешён только к этому компьютеру).", "The portal address is wrong or insecure (plain HTTP only to this computer)."),
        "ca-file" => ("Не удалось прочитать файл корневого сертификата.", "Cannot read the CA certificate file."),
        "not-logged-in" => ("Вы не вошли на портал. Выполните вход.", "You are not logged in to the portal. Log in first."),
        "keyring" => ("Хранилище паролей системы недоступно: сеанс негде сохранить.", "The system keyring is not usable: the session cannot be kept."),
        "pcsc-not-running" => ("Служба смарт-карт (pcscd) не запущена. Запустите её.", "The smart card service (pcscd) is not running. Start it."),
        "no-reader" => ("Считыватель смарт-карт не найден. Подключите считыватель или токен.", "No smart card reader found. Connect a reader or token."),
        "no-card" => ("Карта или токен не вставлены. Вставьте носитель с подписью.", "No card or token is inserted. Insert the one with your signature."),
        "several-cards" => ("Вставлено несколько носителей: выберите считыватель (--reader).", "Several cards are inserted: choose a reader (--reader)."),
        // Said of a confirmation, a PIN change and a batch of files alike: what was finished
        // before (a file already signed) stays, so the words promise nothing about it.
        "card-removed" => ("Носитель извлечён во время работы: начатое на нём не завершено. Вставьте его и повторите.", "The card was removed during the operation: what it was doing did not finish. Insert it and try again."),
        "card-not-responding" => ("Носитель не отвечает. Извлеките его и вставьте снова.", "The card does not answer. Remove it and insert it again."),
        "card-unknown" => ("Этот носитель Подписи незнаком.", "Podpis does not know this card."),
        "card-error" => ("Ошибка при работе с носителем. Извлеките его, вставьте снова и повторите.", "The card failed. Remove it, insert it again and retry."),
        "no-certificate" => ("На носителе нет подходящего сертификата.", "There is no suitable certificate on the card."),
        "several-certificates" => ("На носителе несколько сертификатов: выберите один (--cert).", "There are several certificates on the card: choose one (--cert)."),
        "pin-incorrect" => ("Неверный PIN.", "Wrong PIN."),
        "pin-blocked" => ("PIN заблокирован. Разблокируйте носитель PUK-кодом или обратитесь в удостоверяющий центр.", "The PIN is blocked. Unblock the card with its PUK or contact your certification authority."),
        "pin-format" => ("PIN не подходит по длине или содержит недопустимые символы.", "The PIN has the wrong length or characters."),
        "puk-incorrect" => ("Неверный PUK.", "Wrong PUK."),
        "puk-blocked" => ("PUK заблокирован: разблокировать носитель может только удостоверяющий центр, выдавший его.", "The PUK is blocked: only the certification authority that issued the card can unblock it."),
        "pin-new-refused" => ("Носитель не принял новый PIN: проверьте длину (4–16 символов) и символы (латиница, цифры, знаки). Ничего не изменено.", "The card refused the new PIN: check its length (4 to 16 characters) and its characters (Latin letters, digits, signs). Nothing was changed."),
        "pin-change-unsupported" => ("Этот носитель не позволяет сменить или разблокировать PIN здесь: обратитесь к его выпустившей организации.", "This card does not let its PIN be changed or unblocked here: ask whoever issued it."),
        "pin-mismatch" => ("Новый PIN и его повтор не совпадают. Ничего не изменено.", "The new PIN and its repetition differ. Nothing was changed."),
        "algorithm-unsupported" => ("Носитель не может подписать этим ключом так, как это нужно Подписи. Выберите другой сертификат.", "The token cannot sign with this key the way Podpis needs. Choose another certificate."),
        "pkcs11-module-missing" => ("Модуль PKCS#11 не найден по указанному пути. Проверьте путь в настройках.", "There is no PKCS#11 module at the given path. Check the path in the settings."),
        "pkcs11-module-not-loadable" => ("Модуль PKCS#11 не загружается: это не библиотека этой системы или ей не хватает зависимостей. Переустановите модуль производителя.", "The PKCS#11 module cannot be loaded: it is not a library of this system, or it lacks a dependency. Reinstall the vendor's module."),
        "pkcs11-module-init-failed" => ("Модуль PKCS#11 не запустился. Переустановите модуль производителя или обратитесь к нему.", "The PKCS#11 module failed to start. Reinstall the vendor's module or contact its vendor."),
        "pkcs11-module-crashed" => ("Модуль PKCS#11 аварийно завершился при проверке; Подпись его не использует, пока файл модуля не изменится. Обновите модуль производителя.", "The PKCS#11 module crashed when it was tried; Podpis does not use it until the module file changes. Update the vendor's module."),
        "pkcs11-module-timed-out" => ("Модуль PKCS#11 не ответил вовремя при проверке; Подпись его не использует. Извлеките и вставьте носитель или обновите модуль.", "The PKCS#11 module did not answer in time when it was tried; Podpis does not use it. Reinsert the token or update the module."),
        "pkcs11-module-unusable" => ("Модуль PKCS#11 перестал отвечать и не используется до перезапуска Подписи.", "The PKCS#11 module stopped answering and is not used until Podpis restarts."),
        "pkcs11-key-missing" => ("На носителе нет закрытого ключа для этого сертификата.", "The token has no private key for this certificate."),
        "pkcs11-call-failed" => ("Модуль PKCS#11 вернул ошибку. Извлеките и вставьте носитель и повторите.", "The PKCS#11 module returned an error. Reinsert the token and try again."),
        "pin-expired" => ("PIN носителя нужно сменить, прежде чем он будет подписывать: смените PIN (podpis pin change).", "The token's PIN must be changed before it signs: change the PIN (podpis pin change)."),
        "pin-required" => ("Этому носителю нужен PIN: введите его.", "This token needs its PIN: enter it."),
        "pin-pad-cancelled" => ("Операция отменена на считывателе.", "The operation was cancelled on the reader."),
        "token-module-missing" => ("Носитель распознан, но модуль PKCS#11 его производителя не установлен, и без него Подпись не может подписывать этим носителем. Установите модуль со страницы производителя, указанной в сведениях о проверке.", "The token is recognised, but its vendor's PKCS#11 module is not installed, and without it Podpis cannot sign with this token. Install the module from the vendor's page given in the check's details."),
        "token-csp-containers" => ("Этот носитель только хранит ключевые контейнеры криптопровайдера (КриптоПро CSP, ViPNet CSP): подпись вычисляет программа на компьютере, а не сам носитель. Подпись работает с носителями, которые подписывают сами: Рутокен ЭЦП, JaCarta ГОСТ, ESMART Token ГОСТ и подобными.", "This token only stores a cryptographic provider's key containers (CryptoPro CSP, ViPNet CSP): the signature is computed by software on the computer, not by the token. Podpis works with tokens that sign themselves, such as Rutoken ECP, JaCarta GOST or ESMART Token GOST."),
        "pin-last-try" => ("Осталась последняя попытка ввода PIN: нужно явное подтверждение.", "One PIN try is left: explicit confirmation is needed."),
        "person-mismatch" => ("Сертификат принадлежит другому человеку (СНИЛС не совпадает с учётной записью). Вставьте свой носитель.", "The certificate belongs to another person (its SNILS is not the account's). Insert your own card."),
        "not-an-organisation" => ("Для регистрации организации нужен сертификат юридического лица (с ОГРН).", "Registering an organisation needs a legal-entity certificate (with OGRN)."),
        "cancelled" => ("Отменено.", "Cancelled."),
        "sandbox-pki" => ("Не найден тестовый УЦ песочницы. Создайте его: podpis-vcard pki init --dir <каталог> и укажите каталог в настройках.", "The sandbox's test CA is missing. Create it with podpis-vcard pki init --dir <dir> and set the directory in the settings."),
        "sandbox" => ("Не удалось запустить песочницу.", "The sandbox could not be started."),
        "settings" => ("Не удалось сохранить настройки.", "The settings could not be saved."),
        "consent-gone" => ("Этот запрос сайта больше не ждёт ответа: браузер закрыл страницу или истекло время.", "The site's request no longer waits for an answer: the browser closed the page, or the time ran out."),
        "settings-trust" => ("То, чему доверяет Подпись (сертификаты и модули PKCS#11), нельзя задать из окна приложения: выберите это в настройках соответствующей кнопкой и подтвердите в отдельном окне.", "What Podpis trusts (certificates and PKCS#11 modules) cannot be set from the app's page: choose it in the settings with its button and confirm it in the separate window."),
        "outbox" => ("Не удалось сохранить подписанный запрос на диск. Ничего не отправлено.", "The signed request could not be saved to disk. Nothing was sent."),
        "file-read" => ("Не удалось прочитать файл.", "The file cannot be read."),
        "file-write" => ("Не удалось записать файл подписи.", "The signature file cannot be written."),
        "input" => ("Не удалось прочитать ввод.", "The input cannot be read."),
        "signature-build" => ("Не удалось собрать подпись из ответа носителя.", "The signature could not be built from the card's answer."),
        "runtime" => ("Внутренняя ошибка Подписи: не удалось запустить задачу.", "Podpis failed internally: a task could not be started."),
        "file-exists" => ("Файл подписи уже есть: Подпись его не заменяет, пока её об этом не попросят (--overwrite или подтверждение в окне). Ничего не подписано.", "A signature file is already there: Podpis does not replace it unless asked to (--overwrite, or a confirmation in the window). Nothing was signed."),
        "file-changed" => ("Файл изменился после того, как был показан: он не подписан. Проверьте его и подпишите снова.", "The file changed after it was shown: it is not signed. Check it and sign it again."),
        "file-twice" => ("Один и тот же файл указан дважды.", "The same file is named twice."),
        "batch-empty" => ("В папке нет файлов для подписи.", "The folder has no files to sign."),
        "batch-partial" => ("Подписаны не все файлы: у подписанных подписи сохранены, остальные перечислены выше.", "Not every file was signed: the signed ones keep their signatures, the others are listed above."),
        "browser-host-missing" => ("Программа podpis-host не найдена рядом с podpis или не исполняемая: укажите её путь (--host ПУТЬ).", "The podpis-host program is not beside podpis or is not executable: give its path (--host PATH)."),
        "browser-needs-root" => ("Общие для всех пользователей каталоги браузеров может менять только root: запустите команду через sudo или без --system (только для себя).", "Only root may change the browsers' system-wide directories: run the command with sudo, or without --system (for yourself only)."),
        "browser-manifest-write" => ("Не удалось записать файл регистрации для браузера.", "The browser's registration file cannot be written."),
        "browser-not-registered" => ("Браузеры не знают о Подписи: сайты не увидят её сертификаты. Выполните podpis browser install и установите расширение Подписи.", "No browser knows Podpis: sites cannot see its certificates. Run podpis browser install and add Podpis's extension."),
        "browser-host-gone" => ("Браузер зарегистрирован, но программы podpis-host по указанному пути нет (Подпись перемещена или удалена). Выполните podpis browser install снова.", "The browser is registered, but podpis-host is not at the registered path (Podpis was moved or removed). Run podpis browser install again."),
        "browser-manifest-invalid" => ("Файл регистрации Подписи для браузера повреждён или разрешает не расширение Подписи. Выполните podpis browser install снова.", "Podpis's registration file for the browser is damaged or allows another extension than Podpis's. Run podpis browser install again."),
        _ => ("Непредвиденная ошибка.", "Unexpected error."),
    }
}

/// Words for a step of the flow, for progress displays.
pub fn step(step: Step, language: Language) -> &'static str {
    let (ru, en) = match step {
        Step::ReadingCard => ("Чтение носителя…", "Reading the card…"),
        Step::CheckingCertificate => ("Проверка сертификата…", "Checking the certificate…"),
        Step::RequestingChallenge => ("Запрос к порталу…", "Asking the portal for a challenge…"),
        Step::WaitingForPin => ("Ожидание PIN…", "Waiting for the PIN…"),
        Step::SigningOnCard => ("Подписание на носителе…", "Signing on the card…"),
        Step::StoringRequest => ("Сохранение запроса…", "Storing the request…"),
        Step::Sending => ("Отправка на портал…", "Sending to the portal…"),
        Step::PortalChecks => (
            "Портал проверяет подпись…",
            "The portal checks the signature…",
        ),
        Step::Done => ("Готово.", "Done."),
    };
    language.pick(ru, en)
}

/// A field of a certificate or an account, as a heading in listings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Subject,
    Surname,
    GivenNames,
    Snils,
    Inn,
    InnLe,
    Ogrn,
    Ogrnip,
    Issuer,
    Validity,
    Algorithm,
    Sha256,
    Outbox,
}

impl Field {
    pub const ALL: &'static [Field] = &[
        Self::Subject,
        Self::Surname,
        Self::GivenNames,
        Self::Snils,
        Self::Inn,
        Self::InnLe,
        Self::Ogrn,
        Self::Ogrnip,
        Self::Issuer,
        Self::Validity,
        Self::Algorithm,
        Self::Sha256,
        Self::Outbox,
    ];
}

/// Prompts, questions, results and listings: every other sentence a person reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phrase<'a> {
    PasswordPrompt,
    PinPrompt {
        tries_left: u8,
    },
    TriesLeft {
        tries_left: u8,
    },
    /// What a PKCS#11 token says instead of a count of tries.
    TriesUncounted {
        condition: PinCondition,
    },
    /// A PIN pad reader: the PIN is entered there, not in Podpis.
    EnterPinOnReader,
    /// Asked before the try that would block the card when it fails.
    LastTryQuestion,
    LastTryNeedsConsent,
    DocumentToSign,
    SignDocumentQuestion,
    CurrentPinPrompt {
        tries_left: u8,
    },
    PukPrompt {
        tries_left: u8,
    },
    NewPinPrompt,
    NewPinAgainPrompt,
    PinChanged,
    PinUnblocked,
    /// Diagnostics: the smart card service answers.
    ServiceRunning,
    /// Diagnostics: the keyring stores and reads a secret.
    KeyringUsable,
    /// After an error whose signed request waits in the outbox.
    RequestKept,
    LoggedIn,
    LoggedOut,
    NoRequestsWaiting,
    /// A file in the outbox that is not a readable request, moved aside for the user to look at.
    SetAside {
        path: &'a str,
    },
    SendingStoredRequest,
    AccountConfirmed,
    OrganisationRegistered {
        name: &'a str,
        ogrn: &'a str,
    },
    NoReaders,
    ReaderWithCard {
        kind: &'a str,
        atr: &'a str,
    },
    ReaderEmpty,
    ReaderAdded,
    ReaderRemoved,
    CardInserted {
        kind: &'a str,
        atr: &'a str,
    },
    CardRemoved,
    NoCertificates,
    CertificateOnCard {
        kind: &'a str,
        token: &'a str,
        key: &'a str,
    },
    /// The PIN prompt of a token that does not count tries.
    PinPromptUncounted,
    CurrentPinPromptUncounted,
    /// The PUK of a card, or the SO PIN of a PKCS#11 token, which counts no tries.
    PukPromptUncounted,
    Signed {
        input: &'a str,
        output: &'a str,
        bytes: usize,
    },
    Field(Field),
    /// A batch: file `index` of `total` is being signed.
    BatchSigning {
        index: usize,
        total: usize,
        input: &'a str,
    },
    /// A batch: this file was not signed, and why.
    BatchFileFailed {
        input: &'a str,
        reason: &'a str,
    },
    /// A batch: the batch stopped before this file.
    BatchFileNotSigned {
        input: &'a str,
    },
    BatchSummary {
        signed: usize,
        total: usize,
    },
    /// The key demands the PIN before each signature (`CKA_ALWAYS_AUTHENTICATE`).
    KeyAsksPinEachTime,
    /// `--out` names one signature file: it cannot take several files.
    OutNeedsOneFile,
    /// `podpis-host` could not ask the person in Podpis's window (`why`: the channel's technical
    /// reason), so the page's call is refused.
    HostNoConsent {
        why: &'a str,
    },
    /// `podpis browser install`: the heading before the manifests written.
    BrowserRegistered {
        host: &'a str,
    },
    /// `podpis browser uninstall`: one manifest removed, or not there.
    ManifestRemoved {
        path: &'a str,
    },
    ManifestAbsent {
        path: &'a str,
    },
    /// How to add the unpacked extension to Chromium or Chrome.
    LoadExtensionChromium {
        dir: &'a str,
    },
    /// How to add the extension's package (or build) to Firefox.
    LoadExtensionFirefox {
        file: &'a str,
    },
    /// A checkout has no Firefox build until its script makes it.
    BuildExtensionFirefox {
        script: &'a str,
    },
    ExtensionNotFound,
    /// `podpis-host` started by a person, not by a browser.
    HostNotFromBrowser,
    /// `podpis-host` started for another extension than Podpis's.
    HostForeignCaller {
        caller: &'a str,
    },
}

/// Words for a [`Phrase`].
pub fn phrase(p: Phrase<'_>, language: Language) -> String {
    let l = language;
    match p {
        Phrase::PasswordPrompt => l.pick("Пароль: ", "Password: ").to_owned(),
        Phrase::PinPrompt { tries_left } => l.pick(
            format!("PIN (осталось попыток: {tries_left}): "),
            format!("PIN ({tries_left} tries left): "),
        ),
        Phrase::PinPromptUncounted => l.pick("PIN-код: ", "PIN: ").to_owned(),
        Phrase::CurrentPinPromptUncounted => l.pick("Текущий PIN: ", "Current PIN: ").to_owned(),
        Phrase::PukPromptUncounted => l
            .pick(
                "PUK (PIN администратора, SO PIN): ",
                "PUK (the administrator's PIN, SO PIN): ",
            )
            .to_owned(),
        Phrase::TriesLeft { tries_left } => l.pick(
            format!("Осталось попыток: {tries_left}."),
            format!("Tries left: {tries_left}."),
        ),
        Phrase::TriesUncounted { condition } => match condition {
            PinCondition::FinalTry => l.pick(
                "Следующая ошибка заблокирует PIN.",
                "One more wrong PIN will block it.",
            ),
            PinCondition::CountLow => l.pick(
                "Носитель предупреждает, что попыток осталось мало.",
                "The token warns that few tries remain.",
            ),
            PinCondition::Locked => l.pick("PIN заблокирован.", "The PIN is blocked."),
            PinCondition::NoWarning => l.pick(
                "Носитель не сообщает, сколько попыток осталось.",
                "The token does not say how many tries are left.",
            ),
        }
        .to_owned(),
        Phrase::EnterPinOnReader => l
            .pick(
                "Введите PIN на клавиатуре считывателя.",
                "Enter the PIN on the reader's keypad.",
            )
            .to_owned(),
        Phrase::LastTryQuestion => l
            .pick(
                "Осталась последняя попытка: неверный PIN заблокирует носитель. Продолжить? [y/N] ",
                "One try left: a wrong PIN blocks the card. Go on? [y/N] ",
            )
            .to_owned(),
        Phrase::LastTryNeedsConsent => l
            .pick(
                "Осталась последняя попытка ввода PIN: без явного согласия (--allow-last-try) носитель не используется.",
                "One PIN try is left: the card is not used without explicit consent (--allow-last-try).",
            )
            .to_owned(),
        Phrase::DocumentToSign => l.pick("Документ для подписи:", "The document to sign:").to_owned(),
        Phrase::SignDocumentQuestion => l
            .pick("Подписать этот документ? [y/N] ", "Sign this document? [y/N] ")
            .to_owned(),
        Phrase::CurrentPinPrompt { tries_left } => l.pick(
            format!("Текущий PIN (осталось попыток: {tries_left}): "),
            format!("Current PIN ({tries_left} tries left): "),
        ),
        Phrase::PukPrompt { tries_left } => l.pick(
            format!("PUK (осталось попыток: {tries_left}): "),
            format!("PUK ({tries_left} tries left): "),
        ),
        Phrase::NewPinPrompt => l.pick("Новый PIN: ", "New PIN: ").to_owned(),
        Phrase::NewPinAgainPrompt => l
            .pick("Новый PIN ещё раз: ", "New PIN again: ")
            .to_owned(),
        Phrase::PinChanged => l.pick("PIN изменён.", "The PIN is changed.").to_owned(),
        Phrase::PinUnblocked => l
            .pick(
                "PIN разблокирован и заменён новым.",
                "The PIN is unblocked and replaced by the new one.",
            )
            .to_owned(),
        Phrase::ServiceRunning => l.pick("работает", "running").to_owned(),
        Phrase::KeyringUsable => l.pick("доступно", "usable").to_owned(),
        Phrase::RequestKept => l
            .pick(
                "Подписанный запрос сохранён: он будет отправлен снова при следующем подтверждении или командой «podpis outbox send» (после входа, если сеанс истёк).",
                "The signed request is kept: it is sent again by the next confirmation or by `podpis outbox send` (after logging in, if the session expired).",
            )
            .to_owned(),
        Phrase::LoggedIn => l.pick("Вход выполнен:", "Logged in:").to_owned(),
        Phrase::LoggedOut => l.pick("Выход выполнен.", "Logged out.").to_owned(),
        Phrase::NoRequestsWaiting => l
            .pick("Неотправленных запросов нет.", "No requests are waiting.")
            .to_owned(),
        Phrase::SetAside { path } => l.pick(
            format!("Нечитаемый файл очереди отложен: {path}"),
            format!("An unreadable outbox file was set aside: {path}"),
        ),
        Phrase::SendingStoredRequest => l
            .pick("Отправка сохранённого запроса", "Sending a stored request")
            .to_owned(),
        Phrase::AccountConfirmed => l
            .pick("Учётная запись подтверждена.", "The account is confirmed.")
            .to_owned(),
        Phrase::OrganisationRegistered { name, ogrn } => l.pick(
            format!("Организация {name} (ОГРН {ogrn}) зарегистрирована."),
            format!("Organisation {name} (OGRN {ogrn}) registered."),
        ),
        Phrase::NoReaders => l
            .pick("Считывателей смарт-карт нет.", "No smart card readers.")
            .to_owned(),
        Phrase::ReaderWithCard { kind, atr } => l.pick(
            format!("носитель {kind}, ATR {atr}"),
            format!("{kind} card, ATR {atr}"),
        ),
        Phrase::ReaderEmpty => l.pick("нет носителя", "no card").to_owned(),
        Phrase::ReaderAdded => l.pick("считыватель подключён", "reader added").to_owned(),
        Phrase::ReaderRemoved => l.pick("считыватель отключён", "reader removed").to_owned(),
        Phrase::CardInserted { kind, atr } => l.pick(
            format!("носитель вставлен: {kind} (ATR {atr})"),
            format!("card inserted: {kind} (ATR {atr})"),
        ),
        Phrase::CardRemoved => l.pick("носитель извлечён", "card removed").to_owned(),
        Phrase::NoCertificates => l
            .pick("Сертификаты не найдены.", "No certificates found.")
            .to_owned(),
        Phrase::CertificateOnCard { kind, token, key } => l.pick(
            format!("{kind}, носитель {token}, ключ {key}"),
            format!("{kind}, token {token}, key {key}"),
        ),
        Phrase::Signed {
            input,
            output,
            bytes,
        } => l.pick(
            format!("Подписано: {input} → {output} ({bytes} байт)"),
            format!("Signed {input} → {output} ({bytes} bytes)"),
        ),
        Phrase::Field(field) => field_words(field, l).to_owned(),
        Phrase::BatchSigning {
            index,
            total,
            input,
        } => l.pick(
            format!("[{}/{total}] Подписание: {input}…", index + 1),
            format!("[{}/{total}] Signing {input}…", index + 1),
        ),
        Phrase::BatchFileFailed { input, reason } => l.pick(
            format!("Не подписано: {input}: {reason}"),
            format!("Not signed: {input}: {reason}"),
        ),
        Phrase::BatchFileNotSigned { input } => l.pick(
            format!("Не подписано (подписание остановлено раньше): {input}"),
            format!("Not signed (the batch stopped before it): {input}"),
        ),
        Phrase::BatchSummary { signed, total } => l.pick(
            format!("Подписано файлов: {signed} из {total}."),
            format!("Signed {signed} of {total} files."),
        ),
        Phrase::KeyAsksPinEachTime => l
            .pick(
                "Ключ требует PIN перед каждой подписью: Подпись передаёт ему введённый PIN для каждого файла (на считывателе с клавиатурой PIN вводится для каждого файла).",
                "The key asks for the PIN before every signature: Podpis gives it the PIN you typed for each file (on a PIN-pad reader, enter it for each file).",
            )
            .to_owned(),
        Phrase::OutNeedsOneFile => l
            .pick(
                "--out задаёт один файл подписи: с несколькими файлами или папкой подписи пишутся рядом с файлами (ФАЙЛ.p7s, ФАЙЛ.sig).",
                "--out names one signature file: with several files or a folder, signatures are written beside the files (FILE.p7s, FILE.sig).",
            )
            .to_owned(),
        Phrase::HostNoConsent { why } => l.pick(
            format!("Не удалось спросить разрешения в окне Подписи ({why}): запрос страницы отклонён."),
            format!("Podpis's window could not ask for permission ({why}): the page's request is refused."),
        ),
        Phrase::BrowserRegistered { host } => l.pick(
            format!("Браузеры будут запускать {host} для расширения Подписи:"),
            format!("The browsers will start {host} for Podpis's extension:"),
        ),
        Phrase::ManifestRemoved { path } => {
            l.pick(format!("удалён: {path}"), format!("removed: {path}"))
        }
        Phrase::ManifestAbsent { path } => {
            l.pick(format!("не было: {path}"), format!("not there: {path}"))
        }
        Phrase::LoadExtensionChromium { dir } => l.pick(
            format!("Расширение в Chromium и Chrome: откройте chrome://extensions, включите «Режим разработчика», нажмите «Загрузить распакованное расширение» и выберите {dir}"),
            format!("The extension in Chromium and Chrome: open chrome://extensions, turn on Developer mode, click Load unpacked and choose {dir}"),
        ),
        Phrase::LoadExtensionFirefox { file } => l.pick(
            format!("Расширение в Firefox: откройте about:debugging#/runtime/this-firefox, нажмите «Загрузить временное дополнение…» и выберите {file} (до перезапуска Firefox; насовсем неподписанное дополнение ставят только Firefox ESR и Developer Edition с xpinstall.signatures.required = false)"),
            format!("The extension in Firefox: open about:debugging#/runtime/this-firefox, click Load Temporary Add-on… and choose {file} (until Firefox restarts; only Firefox ESR and Developer Edition with xpinstall.signatures.required = false keep an unsigned add-on for good)"),
        ),
        Phrase::BuildExtensionFirefox { script } => l.pick(
            format!("Расширение для Firefox: сначала выполните {script} — он соберёт вариант для Firefox в extension/build/firefox; затем снова podpis browser install."),
            format!("The extension for Firefox: first run {script}, which makes the Firefox build in extension/build/firefox; then podpis browser install again."),
        ),
        Phrase::ExtensionNotFound => l
            .pick(
                "Каталог расширения не найден рядом с программой: в пакете он в /usr/share/podpis/extension, в исходниках — extension/.",
                "The extension's directory is not beside the program: the package has it in /usr/share/podpis/extension, the sources in extension/.",
            )
            .to_owned(),
        Phrase::HostNotFromBrowser => l
            .pick(
                "эту программу запускает браузер для расширения Подписи, а не человек. Чтобы браузер мог её запускать, выполните podpis browser install.",
                "this program is started by the browser for Podpis's extension, not by hand. To let the browser start it, run podpis browser install.",
            )
            .to_owned(),
        Phrase::HostForeignCaller { caller } => l.pick(
            format!("программа работает только для расширения Подписи, а её запустили для {caller}. Отказано."),
            format!("this program serves only Podpis's extension; it was started for {caller}. Refused."),
        ),
    }
}

fn field_words(field: Field, l: Language) -> &'static str {
    match field {
        Field::Subject => l.pick("владелец:", "subject:"),
        Field::Surname => l.pick("фамилия:", "surname:"),
        Field::GivenNames => l.pick("имя:", "names:"),
        Field::Snils => l.pick("СНИЛС:", "SNILS:"),
        Field::Inn => l.pick("ИНН:", "INN:"),
        Field::InnLe => l.pick("ИНН ЮЛ:", "INN (LE):"),
        Field::Ogrn => l.pick("ОГРН:", "OGRN:"),
        Field::Ogrnip => l.pick("ОГРНИП:", "OGRNIP:"),
        Field::Issuer => l.pick("издатель:", "issuer:"),
        Field::Validity => l.pick("действует:", "valid:"),
        Field::Algorithm => l.pick("алгоритм:", "algorithm:"),
        Field::Sha256 => l.pick("SHA-256:", "sha256:"),
        Field::Outbox => l.pick("в очереди:", "outbox:"),
    }
}

/// Words for a verification's verdict: the first line of `podpis verify` and the Verify screen.
pub fn verify_verdict(verdict: verify::Verdict, language: Language) -> &'static str {
    let (ru, en) = match verdict {
        verify::Verdict::Valid => ("Подпись действительна.", "The signature is valid."),
        verify::Verdict::Invalid => ("Подпись недействительна.", "The signature is not valid."),
        verify::Verdict::CouldNotCheck => (
            "Подпись не удалось проверить полностью.",
            "The signature could not be fully checked.",
        ),
    };
    language.pick(ru, en)
}

/// Words for why a signature is not valid, or could not be checked: what it means and what to do.
pub fn verify_reason(reason: verify::Reason, language: Language) -> &'static str {
    use verify::Reason as R;
    let (ru, en) = match reason {
        R::Malformed => ("Файл не является электронной подписью CMS: его не удалось прочитать.", "The file is not a CMS signature: it could not be read."),
        R::NoSigners => ("В файле подписи нет ни одной подписи.", "The signature file holds no signer."),
        R::ContentMissing => ("Подпись отсоединённая: укажите подписанный документ (--content ФАЙЛ), без него её не проверить.", "The signature is detached: give the signed document (--content FILE); without it the signature cannot be checked."),
        R::ContentChanged => ("Документ не совпадает с подписанным: его изменили после подписания, или это другой файл.", "The document is not the one that was signed: it was changed after signing, or it is another file."),
        R::SignatureInvalid => ("Значение подписи не сходится с ключом сертификата: подпись повреждена или подделана.", "The signature value does not verify with the certificate's key: the signature is damaged or forged."),
        R::SignerCertificateMissing => ("В файле нет сертификата подписанта, поэтому подпись не проверить.", "The signer's certificate is not in the file, so the signature cannot be checked."),
        R::SigningCertificateMismatch => ("Атрибут подписи signingCertificate указывает на другой сертификат, чем тот, с которым она проверяется.", "The signature's signingCertificate attribute names another certificate than the one it verifies with."),
        R::CertificateExpired => ("На момент подписания срок действия сертификата из цепочки уже истёк.", "A certificate of the chain had expired at the signing time."),
        R::CertificateNotYetValid => ("На момент подписания сертификат из цепочки ещё не действовал.", "A certificate of the chain was not valid yet at the signing time."),
        R::CertificateRevoked => ("Сертификат из цепочки отозван удостоверяющим центром.", "A certificate of the chain has been revoked by its certification authority."),
        R::CertificateUntrusted => ("Цепочка сертификатов не ведёт к доверенному корневому сертификату. Если вы доверяете этому УЦ, добавьте его корень (--trust ФАЙЛ или в настройках).", "The certificate chain does not lead to a trusted root. If you trust this CA, add its root (--trust FILE, or in the settings)."),
        R::RevocationUnavailable => ("Не удалось узнать, отозван ли сертификат: нет списка отзыва (CRL), и служба OCSP не ответила (или проверка шла без сети). Укажите CRL (--crl ФАЙЛ) или проверьте с доступом к сети.", "Whether a certificate is revoked could not be learnt: no CRL, and no OCSP answer (or the check ran offline). Give a CRL (--crl FILE), or check with network access."),
        R::GostUnavailable => ("Подпись по ГОСТ, а модуль ГОСТ для OpenSSL не загружен: проверить её здесь нельзя. Установите пакет libengine-gost-openssl.", "A GOST signature, and OpenSSL's GOST engine is not loaded: it cannot be checked here. Install the libengine-gost-openssl package."),
        R::AlgorithmUnsupported => ("Алгоритм подписи здесь не поддерживается, проверить её нельзя.", "The signature's algorithm is not supported here; it cannot be checked."),
    };
    language.pick(ru, en)
}

/// A code of a verification report with its words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Worded {
    pub code: &'static str,
    pub message: &'static str,
}

/// The words of every reason and finding in a verification report, each code once: what
/// `podpis verify --json` and the app's Verify screen give beside the codes.
pub fn verify_report_words(report: &verify::Report, language: Language) -> Vec<Worded> {
    let mut words: Vec<Worded> = Vec::new();
    let mut add = |code: &'static str, message: &'static str| {
        if !words.iter().any(|w| w.code == code) {
            words.push(Worded { code, message });
        }
    };
    for reason in report
        .reasons
        .iter()
        .chain(report.signers.iter().flat_map(|s| &s.reasons))
    {
        add(reason.as_str(), verify_reason(*reason, language));
    }
    for code in report.signers.iter().flat_map(|s| &s.findings) {
        add(code.as_str(), finding(*code, language));
    }
    words
}

/// The other words of a verification report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VerifyPhrase<'a> {
    /// The file and how it is made.
    File {
        path: &'a str,
        cades: bool,
        attached: bool,
    },
    Signer {
        number: usize,
    },
    Qualified(bool),
    SigningTime,
    NoSigningTime,
    Chain,
    Revocation(verify::RevocationStatus),
    /// Where a trusted root came from.
    Root(&'a verify::Source),
    TrustedRoots,
    SystemStore {
        path: &'a str,
        count: usize,
    },
    NoRoots,
    Crls,
    Online(bool),
    Details,
}

/// Words for a [`VerifyPhrase`].
pub fn verify_phrase(p: VerifyPhrase<'_>, language: Language) -> String {
    use verify::RevocationStatus as S;
    let l = language;
    match p {
        VerifyPhrase::File {
            path,
            cades,
            attached,
        } => {
            let form = if cades { "CAdES-BES" } else { "CMS" };
            l.pick(
                format!(
                    "Файл: {path} ({form}, {})",
                    if attached { "документ внутри" } else { "отсоединённая" }
                ),
                format!(
                    "File: {path} ({form}, {})",
                    if attached { "attached" } else { "detached" }
                ),
            )
        }
        VerifyPhrase::Signer { number } => {
            l.pick(format!("Подписант {number}:"), format!("Signer {number}:"))
        }
        VerifyPhrase::Qualified(yes) => match yes {
            true => l.pick("квалифицированный: да", "qualified: yes"),
            false => l.pick("квалифицированный: нет", "qualified: no"),
        }
        .to_owned(),
        VerifyPhrase::SigningTime => l.pick("время подписи:", "signed at:").to_owned(),
        VerifyPhrase::NoSigningTime => l
            .pick("время подписи не указано", "no signing time given")
            .to_owned(),
        VerifyPhrase::Chain => l.pick("цепочка:", "chain:").to_owned(),
        VerifyPhrase::Revocation(status) => match status {
            S::Good => l.pick("не отозван", "not revoked"),
            S::Revoked => l.pick("ОТОЗВАН", "REVOKED"),
            S::Unavailable => l.pick("состояние отзыва неизвестно", "revocation state unknown"),
            S::TrustAnchor => l.pick("доверенный корень", "trusted root"),
            S::NotChecked => l.pick("отзыв не проверялся", "revocation not checked"),
        }
        .to_owned(),
        VerifyPhrase::Root(source) => match source {
            verify::Source::System(_) => l.pick("системное хранилище", "the system store").to_owned(),
            verify::Source::User(path) => l.pick(
                format!("добавлен вами: {}", path.display()),
                format!("added by you: {}", path.display()),
            ),
            verify::Source::Sandbox(path) => l.pick(
                format!("тестовый УЦ песочницы: {}", path.display()),
                format!("the sandbox's test CA: {}", path.display()),
            ),
        },
        VerifyPhrase::TrustedRoots => l.pick("Доверенные корни:", "Trusted roots:").to_owned(),
        VerifyPhrase::SystemStore { path, count } => l.pick(
            format!("системное хранилище {path} ({count})"),
            format!("the system store {path} ({count})"),
        ),
        VerifyPhrase::NoRoots => l.pick("нет ни одного", "none").to_owned(),
        VerifyPhrase::Crls => l.pick("Списки отзыва:", "CRLs:").to_owned(),
        VerifyPhrase::Online(true) => l
            .pick(
                "Списки отзыва по адресам из сертификатов и службы OCSP запрашивались по сети.",
                "CRLs at the certificates' addresses and OCSP responders were asked over the network.",
            )
            .to_owned(),
        VerifyPhrase::Online(false) => l
            .pick(
                "Проверка без сети (--offline): отзыв проверялся только по указанным спискам.",
                "Checked offline (--offline): revocation only by the CRL files given.",
            )
            .to_owned(),
        VerifyPhrase::Details => l.pick("подробности OpenSSL:", "OpenSSL says:").to_owned(),
    }
}

/// Whether an answer to a yes/no question is yes, in either language.
pub fn is_yes(answer: &str) -> bool {
    matches!(
        answer.trim().to_lowercase().as_str(),
        "y" | "yes" | "д" | "да"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn has_cyrillic(text: &str) -> bool {
        text.chars()
            .any(|c| ('а'..='я').contains(&c.to_lowercase().next().unwrap_or(c)))
    }

    /// English words: ASCII, with the ellipsis and arrow the Russian uses too.
    fn english(text: &str) -> bool {
        text.chars().all(|c| c.is_ascii() || c == '…' || c == '→')
    }

    const FALLBACK: (&str, &str) = ("Непредвиденная ошибка.", "Unexpected error.");

    #[test]
    fn every_error_code_has_its_own_words_in_both_languages() {
        for code in protocol::codes::ALL.iter().chain(CLIENT_CODES) {
            let (ru, en) = error_words(code);
            assert_ne!((ru, en), FALLBACK, "{code} has no words");
            assert!(has_cyrillic(ru), "{code}: no Russian words");
            assert!(english(en) && !en.is_empty(), "{code}: no English words");
        }
    }

    #[test]
    fn every_finding_has_its_words_in_both_languages() {
        for code in FindingCode::ALL {
            let (ru, en) = (
                finding(*code, Language::Russian),
                finding(*code, Language::English),
            );
            assert!(has_cyrillic(ru), "{code:?}");
            assert!(en.is_ascii() && en.len() > 30, "{code:?}");
        }
    }

    #[test]
    fn every_step_field_and_phrase_has_words_in_both_languages() {
        use crate::flow::Step::*;
        let steps = [
            ReadingCard,
            CheckingCertificate,
            RequestingChallenge,
            WaitingForPin,
            SigningOnCard,
            StoringRequest,
            Sending,
            PortalChecks,
            Done,
        ];
        for s in steps {
            assert!(has_cyrillic(step(s, Language::Russian)), "{s:?}");
            assert!(english(step(s, Language::English)), "{s:?}");
        }
        let mut phrases = vec![
            Phrase::PasswordPrompt,
            Phrase::PinPrompt { tries_left: 3 },
            Phrase::TriesLeft { tries_left: 2 },
            Phrase::TriesUncounted {
                condition: PinCondition::CountLow,
            },
            Phrase::TriesUncounted {
                condition: PinCondition::NoWarning,
            },
            Phrase::EnterPinOnReader,
            Phrase::LastTryQuestion,
            Phrase::LastTryNeedsConsent,
            Phrase::DocumentToSign,
            Phrase::SignDocumentQuestion,
            Phrase::RequestKept,
            Phrase::ServiceRunning,
            Phrase::KeyringUsable,
            Phrase::CurrentPinPrompt { tries_left: 3 },
            Phrase::PukPrompt { tries_left: 10 },
            Phrase::NewPinPrompt,
            Phrase::NewPinAgainPrompt,
            Phrase::PinChanged,
            Phrase::PinUnblocked,
            Phrase::LoggedIn,
            Phrase::LoggedOut,
            Phrase::NoRequestsWaiting,
            Phrase::SetAside { path: "/x" },
            Phrase::SendingStoredRequest,
            Phrase::AccountConfirmed,
            Phrase::OrganisationRegistered {
                name: "R",
                ogrn: "1",
            },
            Phrase::NoReaders,
            Phrase::ReaderWithCard {
                kind: "k",
                atr: "3B",
            },
            Phrase::ReaderEmpty,
            Phrase::ReaderAdded,
            Phrase::ReaderRemoved,
            Phrase::CardInserted {
                kind: "k",
                atr: "3B",
            },
            Phrase::CardRemoved,
            Phrase::NoCertificates,
            Phrase::CertificateOnCard {
                kind: "k",
                token: "t",
                key: "1",
            },
            Phrase::PinPromptUncounted,
            Phrase::CurrentPinPromptUncounted,
            Phrase::PukPromptUncounted,
            Phrase::Signed {
                input: "a",
                output: "b",
                bytes: 1,
            },
            Phrase::BatchSigning {
                index: 0,
                total: 3,
                input: "a",
            },
            Phrase::BatchFileFailed {
                input: "a",
                reason: "b",
            },
            Phrase::BatchFileNotSigned { input: "a" },
            Phrase::BatchSummary {
                signed: 1,
                total: 3,
            },
            Phrase::KeyAsksPinEachTime,
            Phrase::OutNeedsOneFile,
            Phrase::HostNoConsent { why: "w" },
            Phrase::BrowserRegistered { host: "/h" },
            Phrase::ManifestRemoved { path: "/m" },
            Phrase::ManifestAbsent { path: "/m" },
            Phrase::LoadExtensionChromium { dir: "/e" },
            Phrase::LoadExtensionFirefox { file: "/x" },
            Phrase::BuildExtensionFirefox { script: "/s" },
            Phrase::ExtensionNotFound,
            Phrase::HostNotFromBrowser,
            Phrase::HostForeignCaller { caller: "c" },
        ];
        phrases.extend(Field::ALL.iter().map(|f| Phrase::Field(*f)));
        for p in phrases {
            let (ru, en) = (phrase(p, Language::Russian), phrase(p, Language::English));
            assert!(!ru.is_empty() && !en.is_empty(), "{p:?}");
            assert!(english(&en), "{p:?}: {en}");
            // Russian words, or a heading that is the same in both (an abbreviation, a code).
            assert!(
                has_cyrillic(&ru) || ru != en || ru.contains("SHA"),
                "{p:?}: {ru}"
            );
        }
    }

    /// The bug this table was made to end: the portal's refusal `snils-missing` used to be shown
    /// with the finding's words ("the portal will not accept it") after the portal had refused.
    #[test]
    fn a_portal_refusal_is_not_described_with_a_findings_words() {
        for code in ["snils-missing", "key-usage", "algorithm-deprecated"] {
            let refused = describe(code, Language::English);
            let finding_words = FindingCode::ALL
                .iter()
                .find(|f| f.as_str() == code)
                .map(|f| finding(*f, Language::English));
            assert_ne!(Some(refused.as_str()), finding_words, "{code}");
            // Said after the portal refused: not a finding's "will not accept" or "may".
            assert!(!refused.contains("may "), "{code}: {refused}");
        }
    }

    #[test]
    fn an_error_says_its_details_in_the_chosen_language() {
        let wrong = FlowError::Card(TokenError::PinIncorrect { tries_left: 2 });
        assert_eq!(
            error(&wrong, Language::English),
            "Wrong PIN. Tries left: 2."
        );
        assert_eq!(
            error(&wrong, Language::Russian),
            "Неверный PIN. Осталось попыток: 2."
        );
        let kept = FlowError::Kept {
            id: "x".into(),
            cause: crate::portal::PortalError::Timeout,
        };
        assert!(error(&kept, Language::English).contains("is kept"));
        let not_signed = FlowError::Portal(crate::portal::PortalError::Timeout);
        assert!(!error(&not_signed, Language::English).contains("kept"));
        let stopped = FlowError::Finding(FindingCode::Expired);
        assert!(error(&stopped, Language::English).starts_with("The certificate has expired"));
    }

    #[test]
    fn every_verification_word_is_said_in_both_languages() {
        let mut all: Vec<(String, String)> = Vec::new();
        for verdict in [
            verify::Verdict::Valid,
            verify::Verdict::Invalid,
            verify::Verdict::CouldNotCheck,
        ] {
            let pair = |l| verify_verdict(verdict, l).to_owned();
            all.push((pair(Language::Russian), pair(Language::English)));
        }
        for reason in verify::Reason::ALL {
            let pair = |l| verify_reason(*reason, l).to_owned();
            all.push((pair(Language::Russian), pair(Language::English)));
        }
        let source = verify::Source::User("/r.pem".into());
        let phrases = [
            VerifyPhrase::File {
                path: "a.p7s",
                cades: true,
                attached: false,
            },
            VerifyPhrase::Signer { number: 1 },
            VerifyPhrase::Qualified(true),
            VerifyPhrase::Qualified(false),
            VerifyPhrase::SigningTime,
            VerifyPhrase::NoSigningTime,
            VerifyPhrase::Chain,
            VerifyPhrase::Revocation(verify::RevocationStatus::Good),
            VerifyPhrase::Revocation(verify::RevocationStatus::Revoked),
            VerifyPhrase::Revocation(verify::RevocationStatus::Unavailable),
            VerifyPhrase::Revocation(verify::RevocationStatus::TrustAnchor),
            VerifyPhrase::Revocation(verify::RevocationStatus::NotChecked),
            VerifyPhrase::Root(&source),
            VerifyPhrase::TrustedRoots,
            VerifyPhrase::SystemStore {
                path: "/etc/ssl/certs/ca-certificates.crt",
                count: 3,
            },
            VerifyPhrase::NoRoots,
            VerifyPhrase::Crls,
            VerifyPhrase::Online(true),
            VerifyPhrase::Online(false),
            VerifyPhrase::Details,
        ];
        for p in phrases {
            all.push((
                verify_phrase(p, Language::Russian),
                verify_phrase(p, Language::English),
            ));
        }
        let mut seen = std::collections::BTreeSet::new();
        for (ru, en) in &all {
            assert!(has_cyrillic(ru), "{ru}");
            assert!(english(en) && !en.is_empty(), "{en}");
            assert!(seen.insert(en.clone()), "said twice: {en}");
        }
    }

    #[test]
    fn languages_come_from_their_codes() {
        assert_eq!("ru".parse(), Ok(Language::Russian));
        assert_eq!("EN".parse(), Ok(Language::English));
        assert!("de".parse::<Language>().is_err());
        assert_eq!(Language::default().code(), "ru");
    }

    #[test]
    fn yes_is_yes_in_both_languages() {
        for yes in ["y", "Y", "yes", "д", "Да", " да\n"] {
            assert!(is_yes(yes), "{yes:?}");
        }
        for no in ["", "n", "нет", "yess"] {
            assert!(!is_yes(no), "{no:?}");
        }
    }

    /// Every sentence lives in this table: a Cyrillic string literal anywhere else in the
    /// product's Rust code (tests excepted) is a sentence that escaped it. Data that merely is
    /// Russian (a name compared, not said) carries the marker comment `not-words` on its line.
    #[test]
    fn no_cyrillic_string_literal_outside_the_table() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let table = std::path::Path::new(file!())
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("messages.rs");
        let mut escaped = Vec::new();
        for krate in [
            "signing",
            "protocol",
            "client",
            "cli",
            "src-tauri",
            "portal",
            "host",
            "verify",
        ] {
            let mut files = Vec::new();
            rust_files(&root.join(krate).join("src"), &mut files);
            for file in files {
                let is_tests = file.file_name().is_some_and(|n| n == "tests.rs")
                    || file.components().any(|c| c.as_os_str() == "tests");
                if (krate == "client" && file.ends_with(table)) || is_tests {
                    continue;
                }
                let text = std::fs::read_to_string(&file).unwrap_or_default();
                // Unit tests sit at the end of a file, after `#[cfg(test)]`.
                let code = text.split("#[cfg(test)]").next().unwrap_or("");
                for (n, line) in code.lines().enumerate() {
                    let line = line.trim_start();
                    if line.starts_with("//") || line.contains("not-words") {
                        continue;
                    }
                    if string_literals(line).any(has_cyrillic) {
                        escaped.push(format!("{}:{}: {line}", file.display(), n + 1));
                    }
                }
            }
        }
        assert!(
            escaped.is_empty(),
            "sentences outside the words table:\n{}",
            escaped.join("\n")
        );
    }

    fn rust_files(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
        for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                rust_files(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }

    /// The contents of the `"…"` literals of one line (escaped quotes are rare enough in lines
    /// with Cyrillic that they are not handled).
    fn string_literals(line: &str) -> impl Iterator<Item = &str> {
        line.split('"').skip(1).step_by(2)
    }

    #[test]
    fn the_literal_scan_sees_what_it_must() {
        let line = r#"println!("{}", "Привет"); let x = 'ё';"#;
        assert!(string_literals(line).any(has_cyrillic));
        assert!(!string_literals("let x = 'ё';").any(has_cyrillic));
    }
}
