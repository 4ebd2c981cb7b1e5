//! The browser page's HTML (docs/protocol.md, "The sandbox browser page"): templates and words
//! live in `portal/assets/` (the words in `words.ru.json` and `words.en.json`, so no sentence is
//! written in Rust), and are filled here. Pure: the handlers in `handlers/browser.rs` call these.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use protocol::Level;

const LOGIN: &str = include_str!("../assets/login.html");
const CONFIRM: &str = include_str!("../assets/confirm.html");
pub const IFCPLUGIN_JS: &str = include_str!("../assets/ifcplugin.js");
pub const CONFIRM_JS: &str = include_str!("../assets/confirm.js");
pub const PORTAL_CSS: &str = include_str!("../assets/portal.css");
const WORDS_RU: &str = include_str!("../assets/words.ru.json");
const WORDS_EN: &str = include_str!("../assets/words.en.json");

/// The page's language: Russian unless English is asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Ru,
    En,
}

impl Lang {
    pub fn code(self) -> &'static str {
        match self {
            Self::Ru => "ru",
            Self::En => "en",
        }
    }

    fn other(self) -> Self {
        match self {
            Self::Ru => Self::En,
            Self::En => Self::Ru,
        }
    }

    /// `?lang=` first; then the first of `ru` or `en` among the `Accept-Language` tags, in the
    /// order the browser lists them (its order of preference); then Russian.
    pub fn choose(query: Option<&str>, accept_language: Option<&str>) -> Self {
        let parse = |tag: &str| {
            let primary = tag.split(['-', '_']).next().unwrap_or("").trim();
            if primary.eq_ignore_ascii_case("ru") {
                Some(Self::Ru)
            } else if primary.eq_ignore_ascii_case("en") {
                Some(Self::En)
            } else {
                None
            }
        };
        if let Some(lang) = query.and_then(parse) {
            return lang;
        }
        accept_language
            .into_iter()
            .flat_map(|header| header.split(','))
            .filter_map(|item| parse(item.split(';').next().unwrap_or("")))
            .next()
            .unwrap_or(Self::Ru)
    }

    fn words(self) -> &'static Words {
        match self {
            Self::Ru => &RU,
            Self::En => &EN,
        }
    }

    /// One sentence in this language (empty, and logged, if the words file lacks it: a test
    /// holds every key the templates and the page's script use in both files).
    pub fn word(self, key: &str) -> &'static str {
        self.words().get(key).map_or_else(
            || {
                tracing::error!("no words for {key} in {}", self.code());
                ""
            },
            String::as_str,
        )
    }
}

type Words = BTreeMap<String, String>;

fn parse_words(text: &str) -> Words {
    serde_json::from_str(text).unwrap_or_else(|e| {
        tracing::error!("the page's words do not parse: {e}");
        Words::new()
    })
}

static RU: LazyLock<Words> = LazyLock::new(|| parse_words(WORDS_RU));
static EN: LazyLock<Words> = LazyLock::new(|| parse_words(WORDS_EN));

/// Text for HTML content and double-quoted attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Fills `{{w:key}}` with the language's words, `{{v:name}}` with a value (both escaped) and
/// `{{raw:name}}` with HTML made here.
fn render(template: &str, lang: Lang, values: &[(&str, &str)], raw: &[(&str, &str)]) -> String {
    let mut out = String::with_capacity(template.len() + 1024);
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let Some(end) = rest[start..].find("}}") else {
            out.push_str(&rest[start..]);
            return out;
        };
        let field = &rest[start + 2..start + end];
        match field.split_once(':') {
            Some(("w", key)) => out.push_str(&escape(lang.word(key))),
            Some(("v", name)) => {
                let value = values.iter().find(|(n, _)| *n == name).map(|(_, v)| *v);
                out.push_str(&escape(value.unwrap_or_default()));
            }
            Some(("raw", name)) => {
                let value = raw.iter().find(|(n, _)| *n == name).map(|(_, v)| *v);
                out.push_str(value.unwrap_or_default());
            }
            _ => tracing::error!("a template names {field}"),
        }
        rest = &rest[start + end + 2..];
    }
    out.push_str(rest);
    out
}

/// An account the login page lists (the sandbox's test accounts).
pub struct ListedAccount<'a> {
    pub name: &'a str,
    pub phone: &'a str,
    pub email: &'a str,
    pub password: &'a str,
    pub level: Level,
}

pub fn level_word(lang: Lang, level: Level) -> &'static str {
    lang.word(&format!("level.{}", level.as_str()))
}

/// The login page; `refusal` names the words of the last refusal (shown in `#login-error`).
pub fn login(
    lang: Lang,
    csrf: &str,
    refusal: Option<&str>,
    accounts: &[ListedAccount<'_>],
) -> String {
    let error = refusal.map_or_else(String::new, |key| {
        format!(
            "<p id=\"login-error\" class=\"error\" role=\"alert\">{}</p>",
            escape(lang.word(key))
        )
    });
    let rows: String = accounts
        .iter()
        .map(|a| {
            format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td><td><code>{}</code></td><td>{}</td></tr>",
                escape(a.name),
                escape(a.phone),
                escape(a.email),
                escape(a.password),
                escape(level_word(lang, a.level)),
            )
        })
        .collect();
    render(
        LOGIN,
        lang,
        &[
            ("lang", lang.code()),
            ("other_lang", lang.other().code()),
            ("csrf", csrf),
        ],
        &[("error", &error), ("accounts", &rows)],
    )
}

/// The confirmation page of the account `name`, at `level`.
pub fn confirm(lang: Lang, csrf: &str, name: &str, level: Level) -> String {
    render(
        CONFIRM,
        lang,
        &[
            ("lang", lang.code()),
            ("other_lang", lang.other().code()),
            ("csrf", csrf),
            ("name", name),
            ("level", level.as_str()),
            ("level_words", level_word(lang, level)),
        ],
        &[("words", &script_json(lang))],
    )
}

/// The language's words as JSON the page's script reads from `<script type="application/json">`:
/// `<` escaped, so that no word can close the element.
fn script_json(lang: Lang) -> String {
    serde_json::to_string(lang.words())
        .unwrap_or_default()
        .replace('<', "\\u003c")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every `{{w:key}}` of the templates and every `word("key")` of the page's script.
    fn keys_used() -> Vec<String> {
        let mut keys = Vec::new();
        for template in [LOGIN, CONFIRM] {
            for part in template.split("{{w:").skip(1) {
                keys.push(part.split("}}").next().unwrap_or("").to_owned());
            }
        }
        // The script's words are its quoted `group.name` literals (`'status.waiting'`); those
        // ending in a dot are prefixes it completes with a code or a level (checked below).
        let groups = [
            "status", "cert", "confirm", "error", "ifc", "portal", "level",
        ];
        for literal in CONFIRM_JS.split('\'').skip(1).step_by(2) {
            let Some((group, name)) = literal.split_once('.') else {
                continue;
            };
            if groups.contains(&group)
                && !name.is_empty()
                && name.chars().all(|c| c.is_ascii_lowercase() || c == '_')
            {
                keys.push(literal.to_owned());
            }
        }
        keys
    }

    #[test]
    fn both_languages_have_the_same_words_and_every_word_used() {
        let ru: Vec<&String> = RU.keys().collect();
        let en: Vec<&String> = EN.keys().collect();
        assert!(!ru.is_empty());
        assert_eq!(ru, en, "the two words files list the same keys");
        for key in keys_used() {
            assert!(RU.contains_key(&key), "{key} missing");
        }
        for level in [Level::Simplified, Level::Standard, Level::Confirmed] {
            assert!(!level_word(Lang::Ru, level).is_empty());
            assert_ne!(level_word(Lang::Ru, level), level_word(Lang::En, level));
        }
        for code in protocol::codes::ALL
            .iter()
            .chain(&[crate::error::FORBIDDEN])
        {
            assert!(RU.contains_key(&format!("portal.{code}")), "{code}");
        }
        // The page's script names host errors by code: each code of the doc's table.
        for code in [
            -1, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22,
            23, 25, 26, 27, 28, 0xA0, 0xA1, 0xA2, 0xA3, 0xA4, 0x100, 0x101,
        ] {
            assert!(RU.contains_key(&format!("ifc.{code}")), "{code}");
        }
    }

    #[test]
    fn the_language_is_asked_for_or_russian() {
        assert_eq!(Lang::choose(None, None), Lang::Ru);
        assert_eq!(Lang::choose(Some("en"), Some("ru-RU")), Lang::En);
        assert_eq!(Lang::choose(Some("ru"), Some("en-GB")), Lang::Ru);
        assert_eq!(Lang::choose(Some("de"), Some("de-DE, en;q=0.8")), Lang::En);
        assert_eq!(
            Lang::choose(None, Some("en-US,en;q=0.9,ru;q=0.8")),
            Lang::En
        );
        assert_eq!(Lang::choose(None, Some("fr, de")), Lang::Ru);
    }

    #[test]
    fn values_are_escaped_and_pages_are_in_their_language() {
        let page = confirm(Lang::En, "t\"<", "<b>Ivanov</b>", Level::Standard);
        assert!(page.contains("&lt;b&gt;Ivanov&lt;/b&gt;"));
        assert!(page.contains("content=\"t&quot;&lt;\""));
        assert!(page.contains("<html lang=\"en\">"));
        assert!(!page.contains("{{"), "every field filled");
        let ru = confirm(Lang::Ru, "t", "x", Level::Standard);
        assert!(ru.contains("<html lang=\"ru\">"));
        assert_ne!(page, ru);
        let login = login(Lang::Ru, "c", Some("login.refused"), &[]);
        assert!(login.contains("id=\"login-error\""));
        assert!(!login.contains("{{"));
        // A word cannot end the script element that carries the words.
        assert!(!script_json(Lang::Ru).contains('<'));
    }
}
