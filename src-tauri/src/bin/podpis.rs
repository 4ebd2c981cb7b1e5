//! `podpis`: the command-line face of Podpis.
//!
//! Exit codes: 0 success; 1 other failure; 2 usage; 3 smart card service or reader missing;
//! 4 card error (removed, not answering, unknown, malformed); 5 PIN refused or blocked.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use serde::Serialize;
use signing::card::monitor::{Monitor, ReaderEvent};
use signing::certificate::CertificateInfo;
use signing::drivers::registry;
use signing::token::{self, Reader};
use signing::{CardError, CardKind, TokenError};

/// Confirm a government portal account with a qualified electronic signature.
#[derive(Parser)]
#[command(name = "podpis", version)]
struct Cli {
    /// Print machine-readable JSON instead of text.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Lists smart card readers and the cards in them.
    Readers {
        /// Keep watching and print readers and cards as they come and go.
        #[arg(long)]
        watch: bool,
    },
    /// Lists the certificates on the cards present.
    Certs {
        /// Only this reader.
        #[arg(long)]
        reader: Option<String>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Readers { watch: false } => readers(cli.json),
        Command::Readers { watch: true } => watch(cli.json),
        Command::Certs { reader } => certs(cli.json, reader.as_deref()),
    };
    match result {
        Ok(code) => code,
        Err(failure) => {
            if cli.json {
                let body = serde_json::json!({ "error": { "code": failure.code, "message": failure.message } });
                println!("{body}");
            } else {
                eprintln!("podpis: {}", failure.message);
            }
            ExitCode::from(failure.exit)
        }
    }
}

/// An error as the CLI reports it.
struct Failure {
    code: &'static str,
    message: String,
    exit: u8,
}

impl From<CardError> for Failure {
    fn from(e: CardError) -> Self {
        Failure::from(TokenError::Card(e))
    }
}

impl From<TokenError> for Failure {
    fn from(e: TokenError) -> Self {
        let (code, exit) = match &e {
            TokenError::Card(CardError::NoService) => ("pcsc-not-running", 3),
            TokenError::Card(CardError::NoReaders | CardError::UnknownReader(_)) => {
                ("no-reader", 3)
            }
            TokenError::Card(CardError::NoCard) => ("no-card", 4),
            TokenError::Card(CardError::Removed) => ("card-removed", 4),
            TokenError::Card(CardError::NotResponding) => ("card-not-responding", 4),
            TokenError::Card(_) => ("card-error", 4),
            TokenError::UnknownCard { .. } => ("card-unknown", 4),
            TokenError::PinIncorrect { .. } => ("pin-incorrect", 5),
            TokenError::PinBlocked => ("pin-blocked", 5),
            TokenError::PinLengthRefused | TokenError::PinFormat(_) => ("pin-format", 5),
            _ => ("card-error", 4),
        };
        Failure {
            code,
            message: e.to_string(),
            exit,
        }
    }
}

fn readers(json: bool) -> Result<ExitCode, Failure> {
    let readers = token::list_readers()?;
    if json {
        print_json(&readers);
    } else if readers.is_empty() {
        println!("No smart card readers.");
    } else {
        for r in &readers {
            match &r.card {
                Some(card) => println!(
                    "{}: {} card, ATR {}",
                    r.reader,
                    card.kind.as_str(),
                    card.atr
                ),
                None => println!("{}: no card", r.reader),
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn watch(json: bool) -> Result<ExitCode, Failure> {
    let mut monitor = Monitor::new()?;
    monitor.run(|event| {
        if json {
            let mut value = serde_json::to_value(&event).unwrap_or_default();
            if let ReaderEvent::CardInserted { atr, .. } = &event {
                let kind = hex::decode(atr)
                    .map(|a| registry::kind_of(&a))
                    .unwrap_or(CardKind::Unknown);
                value["kind"] = serde_json::json!(kind.as_str());
            }
            println!("{value}");
        } else {
            match &event {
                ReaderEvent::ReaderAdded { reader } => println!("reader added: {reader}"),
                ReaderEvent::ReaderRemoved { reader } => println!("reader removed: {reader}"),
                ReaderEvent::CardInserted { reader, atr } => {
                    let kind = hex::decode(atr)
                        .map(|a| registry::kind_of(&a))
                        .unwrap_or(CardKind::Unknown);
                    println!("card inserted: {reader}: {} (ATR {atr})", kind.as_str());
                }
                ReaderEvent::CardRemoved { reader } => println!("card removed: {reader}"),
            }
        }
        // A closed stdout (a pipe to `head`) ends the watch.
        use std::io::Write;
        std::io::stdout().flush().is_ok()
    })?;
    Ok(ExitCode::SUCCESS)
}

/// One certificate on one card, as `podpis certs --json` prints it.
#[derive(Serialize)]
struct CertEntry {
    reader: String,
    kind: CardKind,
    token_serial: String,
    key: u8,
    #[serde(flatten)]
    info: CertificateInfo,
}

fn certs(json: bool, only: Option<&str>) -> Result<ExitCode, Failure> {
    let readers = token::list_readers()?;
    let mut entries = Vec::new();
    let mut failed = None;
    for r in readers
        .iter()
        .filter(|r| only.is_none_or(|o| o == r.reader))
    {
        let Some(card) = &r.card else { continue };
        if card.kind == CardKind::Unknown {
            continue;
        }
        match Reader::new(&r.reader).read() {
            Ok((kind, contents)) => {
                for key in contents.keys {
                    match CertificateInfo::parse(&key.certificate) {
                        Ok(info) => entries.push(CertEntry {
                            reader: r.reader.clone(),
                            kind,
                            token_serial: contents.serial.clone(),
                            key: key.reference,
                            info,
                        }),
                        Err(e) => eprintln!("podpis: {}: key {}: {e}", r.reader, key.reference),
                    }
                }
            }
            Err(e) => {
                eprintln!("podpis: {}: {e}", r.reader);
                failed = Some(Failure::from(e));
            }
        }
    }
    if let (Some(f), true) = (&failed, entries.is_empty()) {
        return Err(Failure {
            code: f.code,
            message: f.message.clone(),
            exit: f.exit,
        });
    }
    if json {
        print_json(&entries);
    } else if entries.is_empty() {
        println!("No certificates found.");
    } else {
        for e in &entries {
            let i = &e.info;
            println!(
                "{} ({}, token {}, key {})",
                e.reader,
                e.kind.as_str(),
                e.token_serial,
                e.key
            );
            println!("  subject:   {}", i.subject.as_deref().unwrap_or("-"));
            let show = |label: &str, v: &Option<String>| {
                if let Some(v) = v {
                    println!("  {label:<10} {v}");
                }
            };
            show("surname:", &i.surname);
            show("names:", &i.given_names);
            show("SNILS:", &i.snils);
            show("INN:", &i.inn);
            show("INN (LE):", &i.inn_le);
            show("OGRN:", &i.ogrn);
            show("OGRNIP:", &i.ogrnip);
            println!("  issuer:    {}", i.issuer);
            println!("  valid:     {} — {}", i.not_before, i.not_after);
            println!("  algorithm: {}", i.algorithm);
            println!("  sha256:    {}", i.sha256);
        }
    }
    match failed {
        Some(f) => Ok(ExitCode::from(f.exit)),
        None => Ok(ExitCode::SUCCESS),
    }
}

fn print_json<T: Serialize>(value: &T) {
    match serde_json::to_string_pretty(value) {
        Ok(text) => println!("{text}"),
        Err(e) => eprintln!("podpis: cannot write JSON: {e}"),
    }
}
