//! The diagnostics both the CLI and the app show: pcscd, readers, cards, certificates, portal,
//! keyring, each with ok / warn / fail and a hint from the messages table.

use std::time::SystemTime;

use serde::Serialize;
use signing::certificate::{CertificateInfo, Severity};
use signing::token::Reader;
use signing::{CardKind, TokenError};

use crate::flow::card_code;
use crate::known_tokens::{self, Identified, Keys, KnownTokens, ModuleSearch};
use crate::messages::{describe, finding, phrase, Language, Phrase};
use crate::portal::PortalClient;
use crate::tokens::Pkcs11Tier;

#[derive(Debug, Clone, Serialize)]
pub struct Check {
    pub check: &'static str,
    pub status: &'static str,
    pub detail: String,
    pub hint: String,
}

fn check(
    check: &'static str,
    status: &'static str,
    detail: impl Into<String>,
    hint: String,
) -> Check {
    Check {
        check,
        status,
        detail: detail.into(),
        hint,
    }
}

/// Runs every check. Card reads happen on the card layer's own threads, with its deadlines;
/// `pkcs11` is the process's PKCS#11 tier, whose modules were probed in child processes.
pub async fn run(
    portal: Result<PortalClient, String>,
    pkcs11: &Pkcs11Tier,
    language: Language,
) -> Vec<Check> {
    let hint = |code: &str| describe(code, language);
    let mut checks = tokio::task::spawn_blocking(move || card_checks(language))
        .await
        .unwrap_or_default();
    let tier = pkcs11.clone();
    checks.extend(
        tokio::task::spawn_blocking(move || pkcs11_checks(&tier, language))
            .await
            .unwrap_or_default(),
    );
    match portal {
        Err(address) => checks.push(check("portal", "fail", address, hint("portal-address"))),
        Ok(portal) => match portal.health().await {
            Ok(()) => checks.push(check("portal", "ok", portal.origin(), String::new())),
            Err(e) => checks.push(check("portal", "fail", portal.origin(), hint(e.code()))),
        },
    }
    if let Some(locations) = crate::browser::Locations::from_env() {
        checks.extend(browser_checks(&locations, language));
    }
    match crate::session::Sessions::probe() {
        Ok(()) => checks.push(check(
            "keyring",
            "ok",
            phrase(Phrase::KeyringUsable, language),
            String::new(),
        )),
        Err(e) => checks.push(check("keyring", "fail", e.to_string(), hint("keyring"))),
    }
    checks
}

/// The browsers' registrations of `podpis-host` (per user and system-wide): one check for each
/// manifest found, which fails when its host is gone or the file is not Podpis's; one warning
/// when no browser has one (sites then cannot reach Podpis). A browser without a manifest is not
/// named: the person may not use it.
pub fn browser_checks(locations: &crate::browser::Locations, language: Language) -> Vec<Check> {
    use crate::browser::{registrations, Browser, Registration};
    let mut checks = Vec::new();
    for browser in Browser::ALL {
        for (manifest, registration) in registrations(locations, browser) {
            let at = format!("{}: {}", browser.product(), manifest.display());
            checks.push(match registration {
                Registration::Ready { host } => check(
                    "browser",
                    "ok",
                    format!("{at} → {}", host.display()),
                    String::new(),
                ),
                Registration::HostMissing { host } => check(
                    "browser",
                    "fail",
                    format!("{at} → {}", host.display()),
                    describe("browser-host-gone", language),
                ),
                Registration::Invalid => check(
                    "browser",
                    "fail",
                    at,
                    describe("browser-manifest-invalid", language),
                ),
            });
        }
    }
    if checks.is_empty() {
        checks.push(check(
            "browser",
            "warn",
            String::new(),
            describe("browser-not-registered", language),
        ));
    }
    checks
}

/// One check per PKCS#11 module: loaded (with its tokens), or why not, naming the module. A
/// module that crashed or hung did so in a child process: Podpis goes on.
fn pkcs11_checks(tier: &Pkcs11Tier, language: Language) -> Vec<Check> {
    let mut checks = Vec::new();
    for module in &tier.modules {
        let path = module.path().display().to_string();
        match module.tokens() {
            Ok(tokens) => {
                let labels: Vec<String> = tokens
                    .iter()
                    .map(|t| format!("{} ({})", t.label, t.id.serial))
                    .collect();
                checks.push(check(
                    "pkcs11",
                    "ok",
                    format!("{path}: {}", labels.join(", ")),
                    String::new(),
                ));
            }
            Err(e) => checks.push(check(
                "pkcs11",
                "fail",
                format!("{path}: {e}"),
                describe(card_code(&e), language),
            )),
        }
    }
    for failure in &tier.failures {
        if let Some(e) = failure.error() {
            checks.push(check(
                "pkcs11",
                "fail",
                format!("{}: {e}", failure.module.display()),
                describe(card_code(&e), language),
            ));
        }
    }
    checks
}

fn card_checks(language: Language) -> Vec<Check> {
    let hint = |code: &str| describe(code, language);
    let mut checks = Vec::new();
    let readers = match signing::token::list_readers() {
        Ok(readers) => readers,
        Err(e) => {
            let code = card_code(&TokenError::Card(e.clone()));
            checks.push(check("pcscd", "fail", e.to_string(), hint(code)));
            return checks;
        }
    };
    checks.push(check(
        "pcscd",
        "ok",
        phrase(Phrase::ServiceRunning, language),
        String::new(),
    ));
    let names = readers
        .iter()
        .map(|r| r.reader.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    let no_reader = readers.is_empty();
    checks.push(check(
        "readers",
        if no_reader { "fail" } else { "ok" },
        names,
        if no_reader {
            hint("no-reader")
        } else {
            String::new()
        },
    ));
    let known: Vec<_> = readers
        .iter()
        .filter(|r| r.card.as_ref().is_some_and(|c| c.kind != CardKind::Unknown))
        .collect();
    // Cards no driver knows, named from the table of signature tokens or pcsc-tools' database.
    let others: Vec<_> = readers
        .iter()
        .filter_map(|r| {
            let card = r.card.as_ref().filter(|c| c.kind == CardKind::Unknown)?;
            let atr = hex::decode(&card.atr).unwrap_or_default();
            Some((r, card, atr))
        })
        .collect();
    let tokens = KnownTokens::builtin();
    let detail = known
        .iter()
        .map(|r| {
            format!(
                "{}: {}",
                r.reader,
                r.card.as_ref().map_or("", |c| c.kind.as_str())
            )
        })
        .chain(others.iter().map(|(r, card, atr)| {
            let name = known_tokens::card_name(atr);
            format!(
                "{}: {} ({})",
                r.reader,
                name.as_deref().unwrap_or(card.kind.as_str()),
                card.atr
            )
        }))
        .collect::<Vec<_>>()
        .join(", ");
    // A recognised token that Podpis reaches through a vendor module has its own check below,
    // with its own hint; "unknown card" is said only of a card that neither source knows.
    let (status, cards_hint) = if !known.is_empty() {
        ("ok", String::new())
    } else if others.is_empty() {
        ("warn", hint("no-card"))
    } else if others
        .iter()
        .all(|(_, _, atr)| tokens.identify(atr).is_some())
    {
        ("warn", String::new())
    } else {
        ("warn", hint("card-unknown"))
    };
    checks.push(check("cards", status, detail, cards_hint));
    let search = ModuleSearch::system();
    for (r, card, atr) in &others {
        if let Some(found) = tokens.identify(atr) {
            checks.push(token_check(&r.reader, &card.atr, found, &search, language));
        }
    }
    for r in known {
        match Reader::new(&r.reader).read() {
            Ok((_, contents)) => {
                for key in contents.keys {
                    let Ok(info) = CertificateInfo::parse(&key.certificate) else {
                        continue;
                    };
                    let findings = info.findings_at(SystemTime::now());
                    let error = findings.iter().find(|f| f.severity == Severity::Error);
                    let warning = findings.iter().find(|f| f.severity == Severity::Warning);
                    let (status, text) = match (error, warning) {
                        (Some(f), _) => ("fail", finding(f.code, language).to_owned()),
                        (None, Some(f)) => ("warn", finding(f.code, language).to_owned()),
                        _ => ("ok", String::new()),
                    };
                    checks.push(check(
                        "certificate",
                        status,
                        format!("{}: {}", r.reader, info.subject.unwrap_or_default()),
                        text,
                    ));
                }
            }
            Err(e) => checks.push(check(
                "certificate",
                "fail",
                format!("{}: {e}", r.reader),
                hint(card_code(&e)),
            )),
        }
    }
    checks
}

/// A signature token that Podpis reaches through its vendor's PKCS#11 module: which it is, and
/// whether the module is installed. The detail carries data only (reader, token, ATR, module
/// file or path, download page); the hint is the code's words.
fn token_check(
    reader: &str,
    atr: &str,
    found: Identified<'_>,
    search: &ModuleSearch,
    language: Language,
) -> Check {
    let token = format!("{reader}: {}; ATR {atr}", found.token.name());
    let hint = |code: &str| describe(code, language);
    if found.token.keys == Keys::CspContainers {
        return check(
            "token",
            "warn",
            token,
            hint(known_tokens::TOKEN_CSP_CONTAINERS),
        );
    }
    let Some(module) = found.module else {
        return check(
            "token",
            "fail",
            token,
            hint(known_tokens::TOKEN_MODULE_MISSING),
        );
    };
    match search.locate(module) {
        Some(path) => check(
            "token",
            "ok",
            format!("{token}; {}", path.display()),
            String::new(),
        ),
        None => check(
            "token",
            "fail",
            format!(
                "{token}; {}; {}",
                module.library().unwrap_or(&module.name),
                module.download
            ),
            hint(known_tokens::TOKEN_MODULE_MISSING),
        ),
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::browser::{install, Browser, Locations, Scope, MANIFEST_FILE};

    fn statuses(checks: &[Check]) -> Vec<(&str, &str)> {
        checks.iter().map(|c| (c.check, c.status)).collect()
    }

    #[test]
    fn the_browser_checks_say_what_is_registered_and_whether_its_host_is_there() {
        let home = tempfile::tempdir().expect("tmp");
        let mut locations = Locations::under_home(home.path());
        // Not this machine's /etc: an empty system tree.
        locations.system_root = home.path().join("root");
        let checks = browser_checks(&locations, Language::English);
        assert_eq!(statuses(&checks), vec![("browser", "warn")]);
        assert!(
            checks[0].hint.contains("podpis browser install"),
            "{checks:?}"
        );

        let host = home.path().join("podpis-host");
        std::fs::write(&host, b"#!/bin/sh\n").expect("write");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&host, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        }
        install(
            &locations,
            Scope::User,
            &[Browser::Chromium, Browser::Firefox],
            &host,
        )
        .expect("install");
        let checks = browser_checks(&locations, Language::English);
        assert_eq!(
            statuses(&checks),
            vec![("browser", "ok"), ("browser", "ok")]
        );
        assert!(checks[0].detail.starts_with("Chromium: "), "{checks:?}");
        assert!(checks[1].detail.starts_with("Firefox: "), "{checks:?}");
        assert!(
            checks[1].detail.ends_with(&host.display().to_string()),
            "{checks:?}"
        );

        // Podpis moved away: the manifest points at nothing.
        std::fs::remove_file(&host).expect("rm");
        let checks = browser_checks(&locations, Language::Russian);
        assert_eq!(
            statuses(&checks),
            vec![("browser", "fail"), ("browser", "fail")]
        );
        assert!(
            checks[0].hint.contains("podpis browser install"),
            "{checks:?}"
        );

        // A damaged file in Chrome's system directory fails too, naming that file.
        let chrome = locations.dir(Browser::Chrome, Scope::System);
        std::fs::create_dir_all(&chrome).expect("dir");
        std::fs::write(chrome.join(MANIFEST_FILE), b"{").expect("write");
        let checks = browser_checks(&locations, Language::English);
        let damaged = checks
            .iter()
            .find(|c| c.detail.starts_with("Google Chrome: "))
            .expect("Chrome's check");
        assert_eq!(damaged.status, "fail");
        assert!(
            Path::new(damaged.detail.trim_start_matches("Google Chrome: "))
                .ends_with(MANIFEST_FILE)
        );
    }
}
