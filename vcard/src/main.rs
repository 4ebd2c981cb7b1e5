//! `podpis-vcard`: the virtual smart card for vsmartcard's vpcd, and its test PKI. A command line
//! over the `vcard` library.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};

use vcard::{pki, testdata, vpcd};

/// A virtual smart card (GOST token, UEC or PIV) for pcscd's vpcd reader, with a test PKI.
///
/// Run with OPENSSL_CONF pointing at an OpenSSL configuration that loads the GOST engine
/// (config/openssl-gost.cnf in the repository). Every profile's PIN is 12345678.
#[derive(Parser)]
#[command(name = "podpis-vcard", version, args_conflicts_with_subcommands = true)]
struct Cli {
    #[command(subcommand)]
    command: Option<Commands>,
    #[command(flatten)]
    card: CardArgs,
}

#[derive(clap::Args)]
struct CardArgs {
    /// Card profile (see `podpis-vcard profiles`).
    #[arg(long)]
    profile: Option<String>,
    /// Test PKI directory (created when missing).
    #[arg(long)]
    pki: Option<PathBuf>,
    /// Card state directory: keys, certificates and PIN counter (created when missing).
    #[arg(long)]
    state: Option<PathBuf>,
    /// vpcd port of the reader to insert the card into.
    #[arg(long, default_value_t = 35963)]
    port: u16,
    /// After N APDUs the card goes away without answering the next one.
    #[arg(long, value_name = "N")]
    vanish_after: Option<u64>,
    /// The card goes away when an APDU with this instruction byte (hex) arrives, e.g. 2A.
    #[arg(long, value_name = "INS", value_parser = parse_ins)]
    vanish_on_ins: Option<u8>,
    /// Every answer waits this many milliseconds.
    #[arg(long, value_name = "MS")]
    delay_ms: Option<u64>,
    /// After N APDUs every answer is one byte of noise.
    #[arg(long, value_name = "N")]
    garble_after: Option<u64>,
    /// Print every vpcd message to stderr (PIN data masked).
    #[arg(long)]
    trace: bool,
    /// Prepare the state directory (key and certificate) and exit without connecting.
    #[arg(long)]
    prepare_only: bool,
    /// Answer to reset with this ATR (hex) instead of the profile's, e.g. a Rutoken ECP's
    /// 3B8B015275746F6B656E20454350A0; the card still answers APDUs as its profile does.
    #[arg(long, value_name = "HEX", value_parser = parse_atr)]
    atr: Option<Atr>,
}

#[derive(Subcommand)]
enum Commands {
    /// The test PKI.
    Pki {
        #[command(subcommand)]
        command: PkiCommand,
    },
    /// Lists the profiles and the people behind them.
    Profiles,
}

#[derive(Subcommand)]
enum PkiCommand {
    /// Creates root, issuing CA and their CRLs in DIR; does nothing when they exist.
    Init {
        #[arg(long)]
        dir: PathBuf,
        /// The URL of the root's OCSP responder, written into the issuing CA's certificate
        /// (serve it with `pki ocsp --ca root`).
        #[arg(long, value_name = "URL")]
        root_ocsp: Option<String>,
        /// The URL of the issuing CA's OCSP responder, written into every card's certificate
        /// (serve it with `pki ocsp --ca issuing`).
        #[arg(long, value_name = "URL")]
        ca_ocsp: Option<String>,
    },
    /// Revokes a certificate issued by a CA of the PKI (DER or PEM): a card's certificate, or
    /// the issuing CA's own (ca.pem, revoked by the root); writes the CRLs again.
    Revoke {
        #[arg(long)]
        dir: PathBuf,
        #[arg(long)]
        cert: PathBuf,
    },
    /// Runs a CA's OCSP responder (`openssl ocsp`) on PORT, in place of this process.
    Ocsp {
        #[arg(long)]
        dir: PathBuf,
        #[arg(long, value_enum)]
        ca: Ca,
        #[arg(long)]
        port: u16,
    },
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum Ca {
    Root,
    Issuing,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Some(Commands::Pki {
            command:
                PkiCommand::Init {
                    dir,
                    root_ocsp,
                    ca_ocsp,
                },
        }) => pki::Pki::init_with(&dir, &pki::Options { root_ocsp, ca_ocsp })
            .map(|_| println!("test PKI ready in {}", dir.display()))
            .map_err(|e| e.to_string()),
        Some(Commands::Pki {
            command: PkiCommand::Ocsp { dir, ca, port },
        }) => pki::Pki::open(&dir)
            .map_err(|e| e.to_string())
            .and_then(|pki| {
                let authority = match ca {
                    Ca::Root => pki::Authority::Root,
                    Ca::Issuing => pki::Authority::Issuing,
                };
                serve(pki.ocsp_responder(authority, port))
            }),
        Some(Commands::Pki {
            command: PkiCommand::Revoke { dir, cert },
        }) => pki::Pki::open(&dir)
            .and_then(|pki| pki.revoke(&cert))
            .map(|()| println!("revoked {}; CRL updated", cert.display()))
            .map_err(|e| e.to_string()),
        Some(Commands::Profiles) => {
            for p in testdata::profiles() {
                let who = format!("{} {}", p.person.surname, p.person.given_names);
                println!("{:28} {}", p.name, p.description);
                println!(
                    "{:28} {who}; portal login {} or {}",
                    "", p.person.phone, p.person.email
                );
            }
            Ok(())
        }
        None => run_card(cli.card),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("podpis-vcard: {message}");
            ExitCode::FAILURE
        }
    }
}

/// Becomes the responder (so that whoever started this process stops the responder by its
/// id); elsewhere than on Unix, runs it and waits.
fn serve(mut responder: std::process::Command) -> Result<(), String> {
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        let error = responder.exec();
        Err(format!("cannot run openssl ocsp: {error}"))
    }
    #[cfg(not(unix))]
    {
        let status = responder
            .status()
            .map_err(|e| format!("cannot run openssl ocsp: {e}"))?;
        if status.success() {
            Ok(())
        } else {
            Err(format!("openssl ocsp ended: {status}"))
        }
    }
}

fn parse_ins(text: &str) -> Result<u8, String> {
    u8::from_str_radix(text.trim_start_matches("0x"), 16)
        .map_err(|e| format!("an instruction byte in hex: {e}"))
}

#[derive(Clone)]
struct Atr(Vec<u8>);

/// An ATR as ISO/IEC 7816-3 allows it: TS 3B or 3F, and at most 33 bytes.
fn parse_atr(text: &str) -> Result<Atr, String> {
    let atr = hex::decode(text.replace([' ', ':'], ""))
        .map_err(|e| format!("hex bytes, e.g. 3B8B01...: {e}"))?;
    match atr.first() {
        Some(0x3B | 0x3F) if (2..=33).contains(&atr.len()) => Ok(Atr(atr)),
        _ => Err("an ATR starts with 3B or 3F and has 2 to 33 bytes".into()),
    }
}

fn run_card(args: CardArgs) -> Result<(), String> {
    let (Some(name), Some(pki_dir), Some(state_dir)) = (&args.profile, &args.pki, &args.state)
    else {
        return Err("--profile, --pki and --state are required (see --help)".into());
    };
    let profile = testdata::profile(name).ok_or_else(|| {
        let names: Vec<_> = testdata::profiles()
            .iter()
            .map(|p| p.name.as_str())
            .collect();
        format!("no profile {name:?}; profiles: {}", names.join(", "))
    })?;
    let state = vcard::open(profile, pki_dir, state_dir).map_err(|e| e.to_string())?;
    if args.prepare_only {
        return Ok(());
    }
    let mut applet = vcard::applet(profile, state);
    if let Some(Atr(atr)) = args.atr {
        applet = Box::new(vcard::WithAtr::new(applet, atr));
    }
    let faults = vpcd::Faults {
        vanish_after: args.vanish_after,
        vanish_on_ins: args.vanish_on_ins,
        delay: args.delay_ms.map(Duration::from_millis),
        garble_after: args.garble_after,
        trace: args.trace,
    };
    vpcd::insert(applet.as_mut(), args.port, &faults, &profile.name).map_err(|e| e.to_string())
}
