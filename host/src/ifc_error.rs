//! IFCError: the plugin protocol's error codes (../shared/ifc-protocol.md, section 4.2), the one
//! table of them in the host.
//!
//! The descriptions are the page library's own Russian strings, quoted as protocol data: they
//! are what the library itself shows for each code, not sentences of Podpis. Podpis's own words
//! live only in `client::messages`; these lines carry a `// not-words:` marker so that its scan
//! for Cyrillic literals (`no_cyrillic_string_literal_outside_the_table`) lets them be. The host
//! never sends a description: a reply carries only the number, and the library turns it into
//! words. The table is here so that the numbers, the names the documentation uses and the
//! library's meaning of each stay together and are tested together.

/// An IFCError code. The wire form is the JSON number of [`IfcError::code`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum IfcError {
    GeneralError,
    Ok,
    ErrorUnknown,
    ErrorConfig,
    ErrorRecordMax,
    ErrorConfigEmpty,
    BadParams,
    ErrorMalloc,
    AliasNotFound,
    ErrorStore,
    CertNotFound,
    ContainerNotFound,
    UnsupportedFormat,
    KeyNotFound,
    BadInType,
    BadSignType,
    BadHashContext,
    BadTypePin,
    NotSupported,
    SlotNotInit,
    ErrorVerify,
    ErrorBase64,
    ScError,
    EngineError,
    P11Error,
    P11NoTokensFound,
    ParseXmlError,
    XpathError,
    CanonXmlError,
    P11LoginError,
    UnicodeError,
    EncodingsError,
    InitError,
    CryptoNotFound,
    /// The library's own: a transport failure or the extension's disconnect notice. The host
    /// never sends it; listed because pages see it.
    PluginUndefinedError,
    /// The library's own: a PIN it refuses before sending. Listed for the same reason.
    P11InvalidPinError,
}

/// (code, value, name, the library's description). Kept on one line each, unformatted, so that
/// every Cyrillic literal shares its line with the marker.
#[rustfmt::skip]
const TABLE: [(IfcError, i32, &str, &str); 36] = [
    (IfcError::GeneralError, -1, "IFC_GENERAL_ERROR", "Общая ошибка"), // not-words: protocol data
    (IfcError::Ok, 0x0000, "IFC_OK", "Операция завершена успешно"), // not-words: protocol data
    (IfcError::ErrorUnknown, 0x0001, "IFC_ERROR_UNKNOWN", "Ошибка не определена"), // not-words: protocol data
    (IfcError::ErrorConfig, 0x0002, "IFC_ERROR_CONFIG", "Ошибка конфигурации"), // not-words: protocol data
    (IfcError::ErrorRecordMax, 0x0003, "IFC_ERROR_RECORD_MAX", "Достигнуто максимальное количество записей конфигурации"), // not-words: protocol data
    (IfcError::ErrorConfigEmpty, 0x0004, "IFC_ERROR_CONFIG_EMPTY", "Конфигурация не опеределена"), // not-words: protocol data (sic)
    (IfcError::BadParams, 0x0005, "IFC_BAD_PARAMS", "Параметры заданы неверно"), // not-words: protocol data
    (IfcError::ErrorMalloc, 0x0006, "IFC_ERROR_MALLOC", "Ошибка выделения памяти"), // not-words: protocol data
    (IfcError::AliasNotFound, 0x0007, "IFC_ALIAS_NOT_FOUND", "Указанный поставщик криптографии не найден"), // not-words: protocol data
    (IfcError::ErrorStore, 0x0008, "IFC_ERROR_STORE", "Ошибка работы с хранилищем"), // not-words: protocol data
    (IfcError::CertNotFound, 0x0009, "IFC_CERT_NOT_FOUND", "Сертификат не найден"), // not-words: protocol data
    (IfcError::ContainerNotFound, 0x000A, "IFC_CONTAINER_NOT_FOUND", "Ключевой контейнер не найден"), // not-words: protocol data
    (IfcError::UnsupportedFormat, 0x000B, "IFC_UNSUPPORTED_FORMAT", "Формат не поддерживается"), // not-words: protocol data
    (IfcError::KeyNotFound, 0x000C, "IFC_KEY_NOT_FOUND", "Ключ не найден"), // not-words: protocol data
    (IfcError::BadInType, 0x000D, "IFC_BAD_IN_TYPE", "Тип входных данных задан неверно"), // not-words: protocol data
    (IfcError::BadSignType, 0x000E, "IFC_BAD_SIGN_TYPE", "Тип электронной подписи задан неверно"), // not-words: protocol data
    (IfcError::BadHashContext, 0x000F, "IFC_BAD_HASH_CONTEXT", "Контекст хеширования не найден"), // not-words: protocol data
    (IfcError::BadTypePin, 0x0010, "IFC_BAD_TYPE_PIN", "Тип пин-кода задан неверно"), // not-words: protocol data
    (IfcError::NotSupported, 0x0011, "IFC_NOT_SUPPORTED", "Операция не поддерживается"), // not-words: protocol data
    (IfcError::SlotNotInit, 0x0012, "IFC_SLOT_NOT_INIT", "Слот не инициализирован"), // not-words: protocol data
    (IfcError::ErrorVerify, 0x0013, "IFC_ERROR_VERIFY", "Ошибка проверки подписи"), // not-words: protocol data
    (IfcError::ErrorBase64, 0x0014, "IFC_ERROR_BASE64", "Ошибка кодировки BASE64"), // not-words: protocol data
    (IfcError::ScError, 0x0015, "IFC_SC_ERROR", "Ошибка подсистемы смарт-карт"), // not-words: protocol data
    (IfcError::EngineError, 0x0016, "IFC_ENGINE_ERROR", "Ошибка работы с библиотеки интерфейса"), // not-words: protocol data
    (IfcError::P11Error, 0x0017, "IFC_P11_ERROR", "Ошибка работы с библиотекой PKCS#11"), // not-words: protocol data
    (IfcError::P11NoTokensFound, 0x0019, "IFC_P11_NO_TOKENS_FOUND", "Смарт-карта не найдена"), // not-words: protocol data
    (IfcError::ParseXmlError, 0x001A, "IFC_PARSE_XML_ERROR", "Ошибка парсинга XML"), // not-words: protocol data
    (IfcError::XpathError, 0x001B, "IFC_XPATH_ERROR", "Ошибка выполнения XPath"), // not-words: protocol data
    (IfcError::CanonXmlError, 0x001C, "IFC_CANON_XML_ERROR", "Ошибка канонизации XML"), // not-words: protocol data
    (IfcError::P11LoginError, 0x00A0, "IFC_P11_LOGIN_ERROR", "Неверный пин-код"), // not-words: protocol data
    (IfcError::UnicodeError, 0x00A1, "IFC_UNICODE_ERROR", "Ошибка работы с UNICODE"), // not-words: protocol data
    (IfcError::EncodingsError, 0x00A2, "IFC_ENCODINGS_ERROR", "Ошибка кодировки"), // not-words: protocol data
    (IfcError::InitError, 0x00A3, "IFC_INIT_ERROR", "Ошибка инициализации плагина"), // not-words: protocol data
    (IfcError::CryptoNotFound, 0x00A4, "IFC_CRYPTO_NOT_FOUND", "СКЗИ не найдено"), // not-words: protocol data
    (IfcError::PluginUndefinedError, 0x0100, "IFC_PLUGIN_UNDEFINED_ERROR", "Ошибка инициализации объекта плагина"), // not-words: protocol data
    (IfcError::P11InvalidPinError, 0x0101, "IFC_P11_INVALID_PIN_ERROR", "Пин-код не соответствует требованиям"), // not-words: protocol data
];

/// What the library says of a code it does not know.
#[rustfmt::skip]
const UNKNOWN_DESCRIPTION: &str = "Неизвестная ошибка"; // not-words: protocol data

impl IfcError {
    fn row(self) -> (IfcError, i32, &'static str, &'static str) {
        // Every variant has its row (a test checks it); the fallback is never taken.
        TABLE.iter().copied().find(|row| row.0 == self).unwrap_or((
            self,
            -1,
            "IFC_GENERAL_ERROR",
            UNKNOWN_DESCRIPTION,
        ))
    }

    /// The number on the wire (`error_code`).
    pub fn code(self) -> i32 {
        self.row().1
    }

    /// The constant's name in the library (`IFCError.IFC_…`), as the documentation names it.
    pub fn name(self) -> &'static str {
        self.row().2
    }

    /// The library's own description of the code (protocol data, see the module comment).
    pub fn description(self) -> &'static str {
        self.row().3
    }

    /// The code of a number, as the library reads it.
    pub fn from_code(code: i32) -> Option<Self> {
        TABLE.iter().find(|row| row.1 == code).map(|row| row.0)
    }

    /// The library's description of any number, known or not.
    pub fn describe(code: i32) -> &'static str {
        Self::from_code(code).map_or(UNKNOWN_DESCRIPTION, Self::description)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_has_one_row_with_the_documented_number() {
        let mut codes: Vec<i32> = TABLE.iter().map(|r| r.1).collect();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), TABLE.len(), "a number is used twice");
        for (error, code, name, _) in TABLE {
            assert_eq!(error.code(), code);
            assert_eq!(error.name(), name);
            assert_eq!(IfcError::from_code(code), Some(error));
        }
        // Spot checks against ifc-protocol.md, section 4.2.
        assert_eq!(IfcError::GeneralError.code(), -1);
        assert_eq!(IfcError::Ok.code(), 0);
        assert_eq!(IfcError::BadParams.code(), 5);
        assert_eq!(IfcError::NotSupported.code(), 0x11);
        assert_eq!(IfcError::P11LoginError.code(), 0xA0);
        assert_eq!(IfcError::CryptoNotFound.code(), 0xA4);
        assert_eq!(IfcError::PluginUndefinedError.code(), 0x100);
        // No 0x0018 is defined.
        assert_eq!(IfcError::from_code(0x18), None);
    }

    #[test]
    fn descriptions_are_the_librarys() {
        assert_eq!(
            IfcError::ErrorConfigEmpty.description(),
            "Конфигурация не опеределена"
        );
        assert_eq!(IfcError::describe(0x18), "Неизвестная ошибка");
        assert_eq!(IfcError::describe(0xA4), "СКЗИ не найдено");
    }
}
