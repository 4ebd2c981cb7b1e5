//! The diagnostics both the CLI and the app show: pcscd, readers, cards, certificates, portal,
//! keyring, each with ok / warn / fail and a hint from the messages table.

use std::time::SystemTime;

use serde::Serialize;
use signing::certificate::{CertificateInfo, Severity};
use signing::token::Reader;
use signing::{CardKind, TokenError};

use crate::flow::card_code;
use crate::messages::{describe, finding, phrase, Language, Phrase};
use crate::portal::PortalClient;

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

/// Runs every check. Card reads happen on the card layer's own threads, with its deadlines.
pub async fn run(portal: Result<PortalClient, String>, language: Language) -> Vec<Check> {
    let hint = |code: &str| describe(code, language);
    let mut checks = tokio::task::spawn_blocking(move || card_checks(language))
        .await
        .unwrap_or_default();
    match portal {
        Err(address) => checks.push(check("portal", "fail", address, hint("portal-address"))),
        Ok(portal) => match portal.health().await {
            Ok(()) => checks.push(check("portal", "ok", portal.origin(), String::new())),
            Err(e) => checks.push(check("portal", "fail", portal.origin(), hint(e.code()))),
        },
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
    let detail = known
        .iter()
        .map(|r| {
            format!(
                "{}: {}",
                r.reader,
                r.card.as_ref().map_or("", |c| c.kind.as_str())
            )
        })
        .collect::<Vec<_>>()
        .join(", ");
    checks.push(check(
        "cards",
        if known.is_empty() { "warn" } else { "ok" },
        detail,
        if known.is_empty() {
            hint("no-card")
        } else {
            String::new()
        },
    ));
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
