//! `podpis`: the command-line face of Podpis. It parses arguments, calls the `client` crate (which
//! owns the choosing of card and certificate, the stops before the PIN and the confirmation
//! flow), and prints. Every word comes from `client::messages`; every exit code from
//! [`exit::code`], whose table the README shows.

mod account;
mod browser;
mod cards;
mod exit;
mod failure;
mod pin;
mod prompt;
mod verification;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use client::messages::Language;

/// Confirm a government portal account with a qualified electronic signature.
#[derive(Parser)]
#[command(name = "podpis", version)]
struct Cli {
    /// Print machine-readable JSON instead of text.
    #[arg(long, global = true)]
    json: bool,
    /// Language of messages: ru (default) or en. Also from PODPIS_LANG.
    #[arg(long, global = true, env = "PODPIS_LANG", default_value = "ru")]
    lang: Language,
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
    portal_timeout: Duration,
    /// Seconds one card operation (read, or PIN and signature) may take before the card counts
    /// as not responding.
    #[arg(long, global = true, value_name = "SECONDS", default_value = "15", value_parser = seconds)]
    card_timeout: Duration,
    /// A PKCS#11 module (a vendor's library) to use besides those the system registers and the
    /// vendors' default paths; repeatable. PODPIS_PKCS11_DISCOVERY=0 uses only these.
    #[arg(long = "pkcs11-module", global = true, value_name = "PATH")]
    pkcs11_modules: Vec<PathBuf>,
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
    /// Signs files with the card, one PIN for all: CAdES-BES signatures that any CMS tool reads,
    /// written beside the files (FILE.p7s, or FILE.sig with --detached).
    Sign {
        /// A file to sign, or a folder (the files directly in it); repeatable.
        #[arg(long = "in", value_name = "FILE|DIR", required = true)]
        inputs: Vec<PathBuf>,
        /// Where to write the signature (DER), for one file only (default: beside it).
        #[arg(long = "out", value_name = "FILE.p7s")]
        output: Option<PathBuf>,
        /// Keep the content out of the signature (it travels beside it).
        #[arg(long)]
        detached: bool,
        /// Replace signature files that are already there (without it, nothing is signed then).
        #[arg(long)]
        overwrite: bool,
        #[command(flatten)]
        card: CardOptions,
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
    /// Checks a signature file (.p7s, .sig: DER, PEM or Base64; ours or another tool's): for
    /// each signer, whether it is valid and why not, the certificate, the chain and its
    /// revocation. Exits 0 valid, 11 invalid, 12 could not check.
    Verify {
        /// The signature file.
        #[arg(value_name = "FILE.p7s")]
        file: PathBuf,
        /// The signed document, for a detached signature.
        #[arg(long, value_name = "FILE")]
        content: Option<PathBuf>,
        /// A root certificate to trust besides the system's (PEM or DER; a file of several
        /// may carry intermediate CAs too); repeatable.
        #[arg(long = "trust", value_name = "PEM")]
        trust: Vec<PathBuf>,
        /// A CRL to check certificates against (PEM or DER); repeatable. A certificate whose
        /// CA has none here is looked up at its distribution points.
        #[arg(long = "crl", value_name = "FILE")]
        crls: Vec<PathBuf>,
        /// Sandbox mode: trust the sandbox's test PKI in DIR too (root.pem, ca.pem, its CRLs).
        #[arg(long, value_name = "DIR")]
        sandbox: Option<PathBuf>,
        /// Use no network: no CRL downloads, no OCSP (revocation only by --crl files).
        #[arg(long)]
        offline: bool,
    },
    /// Changes the card's PIN, or unblocks it with the PUK.
    Pin {
        #[command(subcommand)]
        action: PinCommand,
    },
    /// Lets the browsers start podpis-host for Podpis's extension (or stops it).
    Browser {
        #[command(subcommand)]
        action: BrowserCommand,
    },
}

#[derive(Subcommand)]
enum BrowserCommand {
    /// Writes the host manifests of the browsers and says where the extension is.
    Install {
        #[command(flatten)]
        options: browser::BrowserOptions,
        /// The podpis-host the browsers start (default: the one beside this podpis).
        #[arg(long, value_name = "PATH")]
        host: Option<PathBuf>,
    },
    /// Removes the host manifests that install wrote, and nothing else.
    Uninstall {
        #[command(flatten)]
        options: browser::BrowserOptions,
    },
}

#[derive(Subcommand)]
enum PinCommand {
    /// A new PIN, after the current one (with --pin-stdin: current, new, new again, a line each).
    Change(CardOptions),
    /// A new PIN, after the PUK; the PIN's tries are restored (with --pin-stdin: PUK, new, new).
    Unblock(CardOptions),
}

/// Which card and key, and how the PIN comes: the same for every command that signs.
#[derive(clap::Args)]
pub struct CardOptions {
    /// The reader of the card (needed when several cards are present).
    #[arg(long)]
    pub reader: Option<String>,
    /// The certificate: its SHA-256 or a prefix of it (see `podpis certs`).
    #[arg(long, value_name = "SHA256")]
    pub cert: Option<String>,
    /// Read the PIN from the first line of standard input instead of a prompt.
    #[arg(long)]
    pub pin_stdin: bool,
    /// Go ahead even when one wrong PIN would block the card (needed with --pin-stdin).
    #[arg(long)]
    pub allow_last_try: bool,
}

impl CardOptions {
    fn choice(&self) -> client::flow::CardChoice {
        client::flow::CardChoice {
            reader: self.reader.clone(),
            certificate: self.cert.clone(),
        }
    }
}

#[derive(clap::Args)]
pub struct ConfirmOptions {
    #[command(flatten)]
    pub card: CardOptions,
    /// Send even a certificate of another person (the portal will refuse it, with its reason).
    #[arg(long)]
    pub force: bool,
    /// Do not ask before signing the shown document.
    #[arg(long)]
    pub yes: bool,
}

/// What every command shares: output form, language, where the portal and the files are, and
/// how long the portal and the card may take.
pub struct Common {
    pub json: bool,
    pub language: Language,
    pub portal: Option<String>,
    pub ca_file: Option<PathBuf>,
    pub data_dir: PathBuf,
    pub portal_timeout: Duration,
    pub card_timeout: Duration,
    pub pkcs11_modules: Vec<PathBuf>,
}

impl Common {
    /// The PKCS#11 modules of this run: probed in a child process (or recalled), then opened.
    pub fn pkcs11(&self) -> client::tokens::Pkcs11Tier {
        let settings = client::tokens::Pkcs11Settings::from_env(self.pkcs11_modules.clone());
        client::tokens::Pkcs11Tier::load(&settings, &self.data_dir, self.card_timeout)
    }

    /// A progress or notice line for people: on stderr, and never in JSON mode, where stdout
    /// carries the one JSON answer and stderr stays quiet.
    pub fn say(&self, text: &str) {
        if !self.json {
            eprintln!("{text}");
        }
    }

    pub fn certificates(&self) -> client::certificates::CertificateCache {
        client::certificates::CertificateCache::in_data_dir(&self.data_dir)
    }
}

fn main() -> ExitCode {
    // A PKCS#11 module is probed in a child process of this program first: in that child, this
    // call loads the module, reports and exits.
    signing::pkcs11::probe::serve_if_asked();
    let cli = Cli::parse();
    if let Command::Verify { .. } = &cli.command {
        // GOST signatures need Debian's GOST engine in this process, loaded through
        // OPENSSL_CONF before OpenSSL initialises (nothing has touched it yet, no thread runs).
        let data_dir = cli
            .data_dir
            .clone()
            .unwrap_or_else(client::default_data_dir);
        verify::engine::prepare_gost_engine(&data_dir);
    }
    let common = Common {
        json: cli.json,
        language: cli.lang,
        portal: cli.portal,
        ca_file: cli.ca_file,
        data_dir: cli.data_dir.unwrap_or_else(client::default_data_dir),
        portal_timeout: cli.portal_timeout,
        card_timeout: cli.card_timeout,
        pkcs11_modules: cli.pkcs11_modules,
    };
    let result = match cli.command {
        Command::Readers { watch: false } => cards::readers(&common),
        Command::Readers { watch: true } => cards::watch(&common),
        Command::Certs { reader } => cards::certs(&common, reader.as_deref()),
        Command::Sign {
            inputs,
            output,
            detached,
            overwrite,
            card,
        } => {
            if output.is_some() && inputs.len() > 1 {
                use clap::CommandFactory;
                let words = client::messages::phrase(
                    client::messages::Phrase::OutNeedsOneFile,
                    common.language,
                );
                Cli::command()
                    .error(clap::error::ErrorKind::ArgumentConflict, words)
                    .exit();
            }
            let files = cards::Files {
                inputs: &inputs,
                output: output.as_deref(),
                detached,
                overwrite,
            };
            cards::sign(&common, &files, &card)
        }
        Command::Login {
            login,
            password_stdin,
        } => account::login(&common, &login, password_stdin),
        Command::Logout => account::logout(&common),
        Command::Status => account::status(&common),
        Command::Confirm(o) => account::confirm(&common, protocol::Purpose::ConfirmIdentity, &o),
        Command::RegisterOrg(o) => {
            account::confirm(&common, protocol::Purpose::RegisterOrganisation, &o)
        }
        Command::Outbox { action } => account::outbox(&common, action.is_some()),
        Command::Diagnose => account::diagnose(&common),
        Command::Verify {
            file,
            content,
            trust,
            crls,
            sandbox,
            offline,
        } => verification::run(
            &common,
            &verification::VerifyArgs {
                file: &file,
                content: content.as_deref(),
                trust: &trust,
                crls: &crls,
                sandbox: sandbox.as_deref(),
                offline,
            },
        ),
        Command::Pin { action } => match action {
            PinCommand::Change(card) => pin::run(&common, client::pin::PinAction::Change, &card),
            PinCommand::Unblock(card) => pin::run(&common, client::pin::PinAction::Unblock, &card),
        },
        Command::Browser { action } => match action {
            BrowserCommand::Install { options, host } => {
                browser::install(&common, &options, host.as_deref())
            }
            BrowserCommand::Uninstall { options } => browser::uninstall(&common, &options),
        },
    };
    match result {
        Ok(code) => code,
        Err(failure) => {
            let (code, message) = (failure.code(), failure.message(common.language));
            if common.json {
                let body = serde_json::json!({ "error": { "code": code, "message": message } });
                println!("{body}");
            } else {
                eprintln!("podpis: {message}");
            }
            ExitCode::from(exit::code(&failure))
        }
    }
}

/// Prints a value as the command's one JSON answer.
pub fn print_json<T: serde::Serialize>(value: &T) {
    match serde_json::to_string_pretty(value) {
        Ok(text) => println!("{text}"),
        Err(e) => eprintln!("podpis: cannot write JSON: {e}"),
    }
}

/// A timeout given in seconds on the command line (`2`, `0.5`): more than zero, or clap refuses
/// the command line with this message.
fn seconds(value: &str) -> Result<Duration, String> {
    value
        .parse::<f64>()
        .ok()
        .filter(|s| *s > 0.0)
        .and_then(|s| Duration::try_from_secs_f64(s).ok())
        .ok_or_else(|| format!("{value:?} is not a number of seconds greater than zero"))
}
