//! The one mapping from a failure to the exit code of `podpis`. The README's table of exit codes
//! is checked against it by the test below, both ways.

use client::flow::FlowError;
use client::portal::PortalError;
use protocol::codes;
use signing::pkcs11::Pkcs11Error;
use signing::{CardError, TokenError};

use crate::failure::Failure;

pub const OTHER: u8 = 1;
/// Usage, or a choice the user must make on the command line (`--reader`, `--cert`). clap's own
/// usage errors exit with 2 as well.
pub const USAGE: u8 = 2;
pub const NO_SERVICE: u8 = 3;
pub const CARD: u8 = 4;
pub const PIN: u8 = 5;
pub const CERTIFICATE: u8 = 6;
pub const REFUSED: u8 = 7;
pub const NOT_REACHED: u8 = 8;
pub const NOT_LOGGED_IN: u8 = 9;
/// A batch of files where some were signed and others not (each file's line says which).
pub const PARTIAL: u8 = 10;

/// `podpis verify`: a signature that is not valid, and one that could not be fully checked.
pub const INVALID: u8 = 11;
pub const COULD_NOT_CHECK: u8 = 12;

/// The exit code of a verification's verdict.
pub fn verdict(verdict: verify::Verdict) -> u8 {
    match verdict {
        verify::Verdict::Valid => 0,
        verify::Verdict::Invalid => INVALID,
        verify::Verdict::CouldNotCheck => COULD_NOT_CHECK,
    }
}

pub fn code(failure: &Failure) -> u8 {
    match failure {
        Failure::Flow(e) => flow(e),
        Failure::Local { code, .. } => match *code {
            "not-logged-in" => NOT_LOGGED_IN,
            "pin-mismatch" => PIN,
            "batch-partial" => PARTIAL,
            _ => OTHER,
        },
    }
}

fn flow(e: &FlowError) -> u8 {
    match e {
        FlowError::Card(card) => match card {
            TokenError::Card(CardError::NoService | CardError::NoReaders) => NO_SERVICE,
            TokenError::Card(CardError::UnknownReader(_)) => NO_SERVICE,
            TokenError::PinIncorrect { .. }
            | TokenError::PinBlocked
            | TokenError::PinLengthRefused
            | TokenError::LastTryNotConfirmed
            | TokenError::PukIncorrect { .. }
            | TokenError::PukBlocked
            | TokenError::NewPinRefused
            | TokenError::PinIncorrectUncounted { .. }
            | TokenError::PukIncorrectUncounted { .. }
            | TokenError::Pkcs11(Pkcs11Error::PinExpired | Pkcs11Error::PinRequired)
            | TokenError::PinFormat(_) => PIN,
            TokenError::AlgorithmUnsupported { .. }
            | TokenError::Pkcs11(Pkcs11Error::MechanismUnsupported { .. }) => CERTIFICATE,
            TokenError::Pkcs11(Pkcs11Error::Cancelled) => OTHER,
            _ => CARD,
        },
        FlowError::LastTryNotConfirmed => PIN,
        FlowError::NoCard => CARD,
        FlowError::SeveralCards | FlowError::SeveralCertificates => USAGE,
        FlowError::Finding(_)
        | FlowError::PersonMismatch
        | FlowError::NotAnOrganisation
        | FlowError::AlgorithmRefusedByPortal
        | FlowError::PortalNeedsGost
        | FlowError::NoCertificate => CERTIFICATE,
        FlowError::Portal(p) => portal(p),
        // Kept until the user logs in again: the session is what must be mended.
        FlowError::Kept { cause, .. } if portal(cause) == NOT_LOGGED_IN => NOT_LOGGED_IN,
        FlowError::Kept { .. } => NOT_REACHED,
        FlowError::ChallengeForAnotherPortal { .. } => REFUSED,
        _ => OTHER,
    }
}

fn portal(e: &PortalError) -> u8 {
    match e {
        PortalError::Refused { code, .. } if code == codes::UNAUTHORISED => NOT_LOGGED_IN,
        _ if e.is_transient() => NOT_REACHED,
        PortalError::Refused { .. } => REFUSED,
        // A wrong portal address or CA file is the user's setting, not the portal's answer.
        _ => OTHER,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};

    use signing::certificate::{FindingCode, Severity};

    use super::*;
    use signing::{KeyAlgorithm, PinCondition};

    /// One failure of every kind the CLI can meet, with its code.
    fn every_failure() -> Vec<Failure> {
        let mut all: Vec<Failure> = Vec::new();
        let card = |e: TokenError| Failure::Flow(FlowError::Card(e));
        for e in [
            CardError::NoService,
            CardError::NoReaders,
            CardError::UnknownReader("r".into()),
            CardError::NoCard,
            CardError::Removed,
            CardError::NotResponding,
            CardError::Pcsc("x".into()),
        ] {
            all.push(card(TokenError::Card(e)));
        }
        all.push(card(TokenError::UnknownCard { atr: "3B".into() }));
        all.push(card(TokenError::ApplicationMissing));
        all.push(card(TokenError::Malformed("x".into())));
        all.push(card(TokenError::PinIncorrect { tries_left: 2 }));
        all.push(card(TokenError::PinBlocked));
        all.push(card(TokenError::PinLengthRefused));
        all.push(card(TokenError::LastTryNotConfirmed));
        all.push(card(TokenError::PukIncorrect { tries_left: 9 }));
        all.push(card(TokenError::PukBlocked));
        all.push(card(TokenError::NewPinRefused));
        all.push(card(TokenError::PinManagementNotSupported));
        all.push(card(TokenError::PinIncorrectUncounted {
            condition: PinCondition::CountLow,
        }));
        all.push(card(TokenError::PukIncorrectUncounted {
            condition: PinCondition::NoWarning,
        }));
        all.push(card(TokenError::AlgorithmUnsupported {
            algorithm: KeyAlgorithm::Gost2001,
        }));
        let module = std::path::PathBuf::from("/m.so");
        for e in [
            Pkcs11Error::ModuleMissing {
                module: module.clone(),
            },
            Pkcs11Error::ModuleNotLoadable {
                module: module.clone(),
                reason: "x".into(),
            },
            Pkcs11Error::ModuleInitFailed {
                module: module.clone(),
                rv: "CKR_GENERAL_ERROR".into(),
            },
            Pkcs11Error::ModuleCrashed {
                module: module.clone(),
                how: "signal 6".into(),
            },
            Pkcs11Error::ModuleTimedOut {
                module: module.clone(),
            },
            Pkcs11Error::ModuleUnusable { module },
            Pkcs11Error::KeyMissing { id: "01".into() },
            Pkcs11Error::MechanismUnsupported {
                algorithm: KeyAlgorithm::Gost2001,
            },
            Pkcs11Error::PinExpired,
            Pkcs11Error::PinRequired,
            Pkcs11Error::Cancelled,
            Pkcs11Error::Call {
                function: "C_Sign".into(),
                rv: "CKR_DEVICE_ERROR".into(),
            },
        ] {
            all.push(card(TokenError::Pkcs11(e)));
        }
        for e in [
            FlowError::LastTryNotConfirmed,
            FlowError::NoCard,
            FlowError::SeveralCards,
            FlowError::SeveralCertificates,
            FlowError::PersonMismatch,
            FlowError::NotAnOrganisation,
            FlowError::AlgorithmRefusedByPortal,
            FlowError::PortalNeedsGost,
            FlowError::NoCertificate,
            FlowError::Outbox("x".into()),
        ] {
            all.push(Failure::Flow(e));
        }
        for f in FindingCode::ALL {
            if f.severity() == Severity::Error {
                all.push(Failure::Flow(FlowError::Finding(*f)));
            }
        }
        for code in codes::ALL {
            let refused = PortalError::Refused {
                status: 400,
                code: code.to_owned(),
                message: String::new(),
            };
            if !refused.judged_the_request() {
                all.push(Failure::Flow(FlowError::Kept {
                    id: "x".into(),
                    cause: refused.clone(),
                }));
            }
            all.push(Failure::Flow(FlowError::Portal(refused)));
        }
        for e in [
            PortalError::Unreachable("x".into()),
            PortalError::Timeout,
            PortalError::Garbled { status: 200 },
        ] {
            all.push(Failure::Flow(FlowError::Kept {
                id: "x".into(),
                cause: e.clone(),
            }));
            all.push(Failure::Flow(FlowError::Portal(e)));
        }
        all.push(Failure::Flow(FlowError::ChallengeForAnotherPortal {
            named: "https://other.example".into(),
        }));
        all.push(Failure::Flow(FlowError::Kept {
            id: "x".into(),
            cause: PortalError::Redirected { status: 302 },
        }));
        all.push(Failure::Flow(FlowError::Portal(PortalError::Redirected {
            status: 302,
        })));
        all.push(Failure::Flow(FlowError::Portal(PortalError::BadAddress(
            "x".into(),
        ))));
        all.push(Failure::Flow(FlowError::Portal(PortalError::CaFile(
            "x".into(),
        ))));
        for code in [
            "not-logged-in",
            "keyring",
            "file-read",
            "file-write",
            "input",
            "runtime",
            "cancelled",
            "outbox",
            "pin-mismatch",
            "file-exists",
            "file-changed",
            "file-twice",
            "batch-empty",
            "batch-partial",
            "browser-host-missing",
            "browser-needs-root",
            "browser-manifest-write",
        ] {
            all.push(Failure::local(code));
        }
        all
    }

    /// The README's table: exit code → the error codes it lists in backquotes.
    fn readme_table() -> BTreeMap<u8, BTreeSet<String>> {
        let readme = include_str!("../../README.md");
        let section = readme
            .split("### Exit codes")
            .nth(1)
            .expect("README has a section '### Exit codes'");
        let mut table = BTreeMap::new();
        for line in section.lines().skip_while(|l| !l.starts_with('|')) {
            if !line.starts_with('|') {
                break;
            }
            let cells: Vec<&str> = line.split('|').map(str::trim).collect();
            let Some(exit) = cells.get(1).and_then(|c| c.parse::<u8>().ok()) else {
                continue;
            };
            let codes = cells
                .get(3)
                .map(|c| c.split('`').skip(1).step_by(2).map(str::to_owned).collect())
                .unwrap_or_default();
            table.insert(exit, codes);
        }
        table
    }

    #[test]
    fn the_readme_table_of_exit_codes_is_the_code_both_ways() {
        let table = readme_table();
        let mut seen: BTreeSet<(u8, String)> = BTreeSet::new();
        for failure in every_failure() {
            let (exit, code) = (code(&failure), failure.code());
            assert!(
                table[&exit].contains(&code),
                "{code} exits with {exit}, which the README does not say"
            );
            seen.insert((exit, code));
        }
        // `podpis verify`'s reasons, each with the exit of its verdict.
        for reason in verify::Reason::ALL {
            let exit = verdict(reason.verdict());
            assert!(
                table[&exit].contains(reason.as_str()),
                "verify's {} exits with {exit}, which the README does not say",
                reason.as_str()
            );
            seen.insert((exit, reason.as_str().to_owned()));
        }
        let mut exits: BTreeSet<u8> = seen.iter().map(|(exit, _)| *exit).collect();
        exits.insert(0);
        assert_eq!(
            table.keys().copied().collect::<BTreeSet<u8>>(),
            exits,
            "the README lists every exit code there is, and no other"
        );
        for (exit, codes) in &table {
            for code in codes {
                assert!(
                    seen.contains(&(*exit, code.clone())),
                    "the README says {code} exits with {exit}; no failure does"
                );
            }
        }
    }

    #[test]
    fn the_same_situation_has_the_same_exit_in_every_command() {
        // They used to differ between `podpis sign` and `podpis confirm`.
        let no_service = Failure::Flow(FlowError::Card(TokenError::Card(CardError::NoService)));
        assert_eq!(code(&no_service), NO_SERVICE);
        assert_eq!(code(&Failure::Flow(FlowError::SeveralCards)), USAGE);
        assert_eq!(code(&Failure::Flow(FlowError::SeveralCertificates)), USAGE);
    }
}
