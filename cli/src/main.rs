//! `podpis`: the command-line face of Podpis.
//!
//! Exit codes: 0 success; 1 other failure; 2 usage; 3 smart card service or reader missing;
//! 4 card error (removed, not answering, unknown, malformed); 5 PIN refused or blocked;
//! 6 the certificate cannot do the job (an error finding, another person's certificate);
//! 7 the portal refused the request; 8 the portal could not be reached (a signed request is kept
//! in the outbox); 9 not logged in, or the session has expired.

mod account;

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::SystemTime;

use clap::{Parser, Subcommand};
use client::certificates::CertificateCache;
use serde::Serialize;
use signing::cades::{self, Content};
use signing::card::monitor::{Monitor, ReaderEvent};
use signing::certificate::{CertificateInfo, Language, Severity};
use signing::drivers::registry;
use signing::token::{self, Reader};
use signing::{CardError, CardKind, Pin, TokenError};

/// Confirm a government portal account with a qualified electronic signature.
#[derive(Parser)]
#[command(name = "podpis", version)]
struct Cli {
    /// Print machine-readable JSON instead of text.
    #[arg(long, global = true)]
    json: bool,
    /// Language of messages: ru (default) or en. Also from PODPIS_LANG.
    #[arg(long, global = true, env = "PODPIS_LANG", default_value = "ru")]
    lang: Lang,
    /// Portal address (default: the last one logged in to, else the sandbox on 127.0.0.1:8780).
    #[arg(long, global = true, env = "PODPIS_PORTAL")]
    portal: Option<String>,
    /// An extra trusted CA certificate (PEM) for the portal's HTTPS.
    #[arg(long, global = true, value_name = "PEM")]
    ca_file: Option<PathBuf>,
    /// Where the session file and the outbox live (default: the OS data directory).
    #[arg(long, global = true, env = "PODPIS_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// Seconds one request to the portal may take before it counts as not answering.
    #[arg(long, global = true, value_name = "SECONDS", default_value = "30", value_parser = seconds)]
    portal_timeout: std::time::Duration,
    /// Seconds one card operation (read, or PIN and signature) may take before the card counts
    /// as not responding.
    #[arg(long, global = true, value_name = "SECONDS", default_value = "15", value_parser = seconds)]
    card_timeout: std::time::Duration,
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
    /// Signs a file with the card: a CAdES-BES signature (.p7s) that any CMS tool reads.
    Sign {
        /// The file to sign.
        #[arg(long = "in", value_name = "FILE")]
        input: PathBuf,
        /// Where to write the signature (DER).
        #[arg(long = "out", value_name = "FILE.p7s")]
        output: PathBuf,
        /// Keep the content out of the signature (it travels beside it).
        #[arg(long)]
        detached: bool,
        /// The reader of the card (needed when several cards are present).
        #[arg(long)]
        reader: Option<String>,
        /// The certificate to sign with: its SHA-256 or a prefix of it (see `podpis certs`).
        #[arg(long, value_name = "SHA256")]
        cert: Option<String>,
        /// Read the PIN from the first line of standard input instead of a prompt.
        #[arg(long)]
        pin_stdin: bool,
        /// Go ahead even when one wrong PIN would block the card (needed with --pin-stdin).
        #[arg(long)]
        allow_last_try: bool,
    },
    /// Logs in to the portal; the token goes to the OS keyring.
    Login {
        /// Phone, e-mail or SNILS.
        login: String,
        /// Read the password from the first line of standard input instead of a prompt.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Logs out and forgets the token.
    Logout,
    /// Shows the account: level, person, organisations, requests waiting in the outbox.
    Status,
    /// Confirms the account with the signature on the card.
    Confirm(ConfirmOptions),
    /// Registers the organisation of a legal-entity certificate.
    RegisterOrg(ConfirmOptions),
    /// Lists the signed requests waiting for the portal's answer; `send` sends them.
    Outbox {
        #[arg(value_parser = ["send"])]
        action: Option<String>,
    },
    /// Checks pcscd, readers, cards, certificates, the portal and the keyring, with hints.
    Diagnose,
}

#[derive(clap::Args)]
struct ConfirmOptions {
    /// The reader of the card (needed when several cards are present).
    #[arg(long)]
    reader: Option<String>,
    /// The certificate: its SHA-256 or a prefix (see `podpis certs`).
    #[arg(long, value_name = "SHA256")]
    cert: Option<String>,
    /// Read the PIN from the first line of standard input instead of a prompt.
    #[arg(long)]
    pin_stdin: bool,
    /// Send even a certificate of another person (the portal will refuse it, with its reason).
    #[arg(long)]
    force: bool,
    /// Do not ask before signing the shown document.
    #[arg(long)]
    yes: bool,
    /// Go ahead even when one wrong PIN would block the card.
    #[arg(long)]
    allow_last_try: bool,
}

#[derive(Clone, Copy, clap::ValueEnum)]
pub enum Lang {
    Ru,
    En,
}

impl Lang {
    fn language(self) -> Language {
        match self {
            Self::Ru => Language::Russian,
            Self::En => Language::English,
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let _ = LANGUAGE.set(match cli.lang {
        Lang::Ru => client::Language::Russian,
        Lang::En => client::Language::English,
    });
    let common = account::Common {
        json: cli.json,
        lang: cli.lang,
        portal: cli.portal.clone(),
        ca_file: cli.ca_file.clone(),
        data_dir: cli
            .data_dir
            .clone()
            .unwrap_or_else(client::default_data_dir),
        portal_timeout: cli.portal_timeout,
        card_timeout: cli.card_timeout,
    };
    let confirm_args = |purpose, o: ConfirmOptions| account::ConfirmArgs {
        purpose,
        reader: o.reader,
        cert: o.cert,
        pin_stdin: o.pin_stdin,
        force: o.force,
        yes: o.yes,
        allow_last_try: o.allow_last_try,
    };
    let result = match cli.command {
        Command::Login {
            login,
            password_stdin,
        } => account::login(&common, &login, password_stdin),
        Command::Logout => account::logout(&common),
        Command::Status => account::status(&common),
        Command::Confirm(o) => {
            account::confirm(&common, confirm_args(protocol::Purpose::ConfirmIdentity, o))
        }
        Command::RegisterOrg(o) => account::confirm(
            &common,
            confirm_args(protocol::Purpose::RegisterOrganisation, o),
        ),
        Command::Outbox { action } => account::outbox(&common, action.is_some()),
        Command::Diagnose => account::diagnose(&common),
        Command::Readers { watch: false } => readers(cli.json),
        Command::Readers { watch: true } => watch(cli.json),
        Command::Certs { reader } => certs(
            cli.json,
            cli.lang,
            reader.as_deref(),
            &CertificateCache::in_data_dir(&common.data_dir),
        ),
        Command::Sign {
            input,
            output,
            detached,
            reader,
            cert,
            pin_stdin,
            allow_last_try,
        } => sign(SignArgs {
            certificates: CertificateCache::in_data_dir(&common.data_dir),
            card_timeout: common.card_timeout,
            json: cli.json,
            lang: cli.lang,
            input,
            output,
            detached,
            reader,
            cert,
            pin_stdin,
            allow_last_try,
        }),
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
pub struct Failure {
    code: String,
    message: String,
    exit: u8,
}

impl Failure {
    fn new(code: &str, message: impl Into<String>, exit: u8) -> Self {
        Self {
            code: code.to_owned(),
            message: message.into(),
            exit,
        }
    }
}

impl From<CardError> for Failure {
    fn from(e: CardError) -> Self {
        Failure::from(TokenError::Card(e))
    }
}

/// The language chosen on the command line, for errors that arrive through `?`.
static LANGUAGE: std::sync::OnceLock<client::Language> = std::sync::OnceLock::new();

impl From<TokenError> for Failure {
    fn from(e: TokenError) -> Self {
        let code = client::flow::card_code(&e);
        let exit = match &e {
            TokenError::Card(
                CardError::NoService | CardError::NoReaders | CardError::UnknownReader(_),
            ) => 3,
            TokenError::PinIncorrect { .. }
            | TokenError::PinBlocked
            | TokenError::PinLengthRefused
            | TokenError::PinFormat(_) => 5,
            _ => 4,
        };
        // Words from the one table, in the chosen language; the technical detail stays in the
        // English Display for the rare code the table does not know.
        let language = LANGUAGE.get().copied().unwrap_or_default();
        let mut message = client::messages::describe(code, language);
        if code == "card-error" {
            message = format!("{message} ({e})");
        }
        if let TokenError::PinIncorrect { tries_left } = e {
            message = match language {
                client::Language::Russian => format!("{message} Осталось попыток: {tries_left}."),
                client::Language::English => format!("{message} Tries left: {tries_left}."),
            };
        }
        Failure::new(code, message, exit)
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
    findings: Vec<FindingEntry>,
}

#[derive(Serialize)]
struct FindingEntry {
    code: &'static str,
    severity: Severity,
    message: &'static str,
}

fn findings_of(info: &CertificateInfo, lang: Lang) -> Vec<FindingEntry> {
    info.findings_at(SystemTime::now())
        .into_iter()
        .map(|f| FindingEntry {
            code: f.code.as_str(),
            severity: f.severity,
            message: f.code.message(lang.language()),
        })
        .collect()
}

fn certs(
    json: bool,
    lang: Lang,
    only: Option<&str>,
    certificates: &CertificateCache,
) -> Result<ExitCode, Failure> {
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
        match certificates.read_card(&Reader::new(&r.reader)) {
            Ok((kind, contents)) => {
                for key in contents.keys {
                    match CertificateInfo::parse(&key.certificate) {
                        Ok(info) => entries.push(CertEntry {
                            reader: r.reader.clone(),
                            kind,
                            token_serial: contents.serial.clone(),
                            key: key.reference,
                            findings: findings_of(&info, lang),
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
        return Err(Failure::new(&f.code, f.message.clone(), f.exit));
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
            for f in &e.findings {
                let mark = match f.severity {
                    Severity::Error => "!!",
                    Severity::Warning => "! ",
                };
                println!("  {mark} {}: {}", f.code, f.message);
            }
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

/// A timeout given in seconds on the command line (`2`, `0.5`): more than zero, or clap refuses
/// the command line with this message.
fn seconds(value: &str) -> Result<std::time::Duration, String> {
    value
        .parse::<f64>()
        .ok()
        .filter(|s| *s > 0.0)
        .and_then(|s| std::time::Duration::try_from_secs_f64(s).ok())
        .ok_or_else(|| format!("{value:?} is not a number of seconds greater than zero"))
}

struct SignArgs {
    certificates: CertificateCache,
    card_timeout: std::time::Duration,
    json: bool,
    lang: Lang,
    input: PathBuf,
    output: PathBuf,
    detached: bool,
    reader: Option<String>,
    cert: Option<String>,
    pin_stdin: bool,
    allow_last_try: bool,
}

/// Signs a file: picks the card and certificate, checks the findings, asks for the PIN (after
/// saying how many tries are left), has the card sign, writes the CMS.
fn sign(args: SignArgs) -> Result<ExitCode, Failure> {
    let content = std::fs::read(&args.input).map_err(|e| {
        Failure::new(
            "input",
            format!("cannot read {}: {e}", args.input.display()),
            1,
        )
    })?;
    let reader_name = pick_reader(args.reader.as_deref())?;
    let reader = Reader::new(&reader_name).with_deadline(args.card_timeout);
    let (_, contents) = args.certificates.read_card(&reader)?;
    let mut keys: Vec<_> = contents
        .keys
        .into_iter()
        .filter_map(|k| {
            CertificateInfo::parse(&k.certificate)
                .ok()
                .map(|info| (k, info))
        })
        .filter(|(_, info)| {
            args.cert
                .as_deref()
                .is_none_or(|c| info.sha256.starts_with(&c.to_lowercase()))
        })
        .collect();
    let (key, info) = match keys.len() {
        0 => {
            return Err(Failure::new(
                "no-certificate",
                "no matching certificate on the card",
                6,
            ))
        }
        1 => keys.remove(0),
        _ => {
            return Err(Failure::new(
                "several-certificates",
                "several certificates on the card: choose one with --cert",
                2,
            ))
        }
    };
    let findings = findings_of(&info, args.lang);
    for f in &findings {
        eprintln!("podpis: {}: {}", f.code, f.message);
    }
    if let Some(stop) = findings.iter().find(|f| f.severity == Severity::Error) {
        return Err(Failure::new("certificate-finding", stop.message, 6));
    }
    let status = reader.pin_status()?;
    if status.is_blocked() {
        return Err(TokenError::PinBlocked.into());
    }
    if status.is_last_try() && !args.allow_last_try {
        let question = match args.lang {
            Lang::Ru => {
                "Осталась последняя попытка: неверный PIN заблокирует карту. Продолжить? [y/N] "
            }
            Lang::En => "This is the last try: a wrong PIN blocks the card. Go on? [y/N] ",
        };
        if args.pin_stdin || !std::io::stdin().is_terminal() || !confirm(question) {
            return Err(Failure::new(
                "pin-last-try",
                "one try left: not asking without --allow-last-try",
                5,
            ));
        }
    }
    let pin = read_pin(args.pin_stdin, args.lang, status.tries_left)?;
    let form = if args.detached {
        Content::Detached
    } else {
        Content::Attached
    };
    let prepared = cades::prepare(
        &content,
        &key.certificate,
        key.algorithm,
        SystemTime::now(),
        form,
    )
    .map_err(|e| Failure::new("signature", e.to_string(), 1))?;
    let signature = reader.sign(
        key.reference,
        key.algorithm,
        prepared.digest_to_sign().to_vec(),
        pin,
    )?;
    let cms = prepared
        .finish(&signature)
        .map_err(|e| Failure::new("signature", e.to_string(), 4))?;
    client::session::write_atomically(&args.output, &cms).map_err(|e| {
        Failure::new(
            "output",
            format!("cannot write {}: {e}", args.output.display()),
            1,
        )
    })?;
    if args.json {
        let body = serde_json::json!({
            "out": args.output,
            "bytes": cms.len(),
            "certificate": info.sha256,
            "detached": args.detached,
        });
        println!("{body}");
    } else {
        println!(
            "signed {} → {} ({} bytes)",
            args.input.display(),
            args.output.display(),
            cms.len()
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// The reader named, or the only one with a card Podpis knows.
fn pick_reader(named: Option<&str>) -> Result<String, Failure> {
    let readers = token::list_readers()?;
    if let Some(name) = named {
        return readers
            .iter()
            .find(|r| r.reader == name)
            .map(|r| r.reader.clone())
            .ok_or_else(|| CardError::UnknownReader(name.to_owned()).into());
    }
    let known: Vec<_> = readers
        .iter()
        .filter(|r| r.card.as_ref().is_some_and(|c| c.kind != CardKind::Unknown))
        .collect();
    match known.as_slice() {
        [] => Err(CardError::NoCard.into()),
        [one] => Ok(one.reader.clone()),
        _ => Err(Failure::new(
            "several-cards",
            "several cards are present: choose one with --reader",
            2,
        )),
    }
}

fn read_pin(from_stdin: bool, lang: Lang, tries_left: u8) -> Result<Pin, Failure> {
    let text = if from_stdin {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .map_err(|e| Failure::new("pin-input", format!("cannot read the PIN: {e}"), 1))?;
        line
    } else {
        let prompt = match lang {
            Lang::Ru => format!("PIN (осталось попыток: {tries_left}): "),
            Lang::En => format!("PIN ({tries_left} tries left): "),
        };
        rpassword::prompt_password(prompt)
            .map_err(|e| Failure::new("pin-input", format!("cannot read the PIN: {e}"), 1))?
    };
    Pin::new(text).map_err(|e| TokenError::PinFormat(e).into())
}

fn confirm(question: &str) -> bool {
    eprint!("{question}");
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer).is_ok()
        && matches!(answer.trim(), "y" | "Y" | "yes" | "д" | "Д" | "да")
}
