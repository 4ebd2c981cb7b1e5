//! The words of the native dialogs the app opens itself (choosing and confirming what it trusts:
//! certificates, and the PKCS#11 modules it loads).
//! They are the UI's words, so they live in the UI's translation files (ui/src/i18n/*.json, which
//! a UI test keeps in step), compiled into the binary: a script in the webview cannot change what
//! these dialogs say.

use std::collections::HashMap;
use std::sync::LazyLock;

use client::Language;

static RUSSIAN: LazyLock<HashMap<String, String>> =
    LazyLock::new(|| parse(include_str!("../../ui/src/i18n/ru.json")));
static ENGLISH: LazyLock<HashMap<String, String>> =
    LazyLock::new(|| parse(include_str!("../../ui/src/i18n/en.json")));

fn parse(json: &str) -> HashMap<String, String> {
    serde_json::from_str(json).unwrap_or_default()
}

/// The UI's words for `key` in `language`; the key itself if the files lack it (a test below
/// checks that every key the Rust side uses is in both).
pub fn word(key: &'static str, language: Language) -> &'static str {
    let table = match language {
        Language::Russian => &*RUSSIAN,
        Language::English => &*ENGLISH,
    };
    table.get(key).map_or(key, String::as_str)
}

/// Every key the Rust side asks for.
pub const KEYS: &[&str] = &[
    "sign.pick",
    "verify.pickSignature",
    "verify.pickDocument",
    "verify.signatureFiles",
    "verify.roots.pick",
    "verify.roots.confirm.title",
    "verify.roots.confirm.question",
    "verify.roots.remove.title",
    "verify.roots.remove.question",
    "sign.replace.title",
    "sign.replace.question",
    "trust.ca.pick",
    "trust.ca.filter",
    "trust.ca.confirm.title",
    "trust.ca.confirm.question",
    "trust.ca.remove.title",
    "trust.ca.remove.question",
    "trust.pki.pick",
    "trust.pki.confirm.title",
    "trust.pki.confirm.question",
    "trust.pki.reset.title",
    "trust.pki.reset.question",
    "trust.subject",
    "trust.issuer",
    "trust.validity",
    "trust.sha256",
    "trust.path",
    "trust.yes",
    "trust.no",
    "pkcs11.pick",
    "pkcs11.filter",
    "pkcs11.confirm.title",
    "pkcs11.confirm.question",
    "pkcs11.confirm.questionFailed",
    "pkcs11.remove.title",
    "pkcs11.remove.question",
    "pkcs11.library",
    "pkcs11.tokens",
    "pkcs11.noTokens",
    "pkcs11.failed",
    "pkcs11.detail",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_the_dialogs_use_has_words_in_both_languages() {
        for key in KEYS {
            for language in [Language::Russian, Language::English] {
                let text = word(key, language);
                assert_ne!(text, *key, "{key} has no words in {}", language.code());
                assert!(!text.is_empty(), "{key}");
            }
        }
        assert_ne!(
            word("trust.yes", Language::Russian),
            word("trust.yes", Language::English)
        );
    }
}
