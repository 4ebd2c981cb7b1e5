//! `podpis-portal`: the sandbox portal.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use portal::{Config, Limits, Retention};

/// The sandbox portal of the confirmation protocol. Run it with OPENSSL_CONF pointing at
/// config/openssl-gost.cnf (the GOST engine verifies the signatures).
#[derive(Parser)]
#[command(name = "podpis-portal", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serves the portal.
    Serve {
        /// Address to listen on; port 0 picks a free port (printed at start).
        #[arg(long, default_value = "127.0.0.1:8780")]
        listen: SocketAddr,
        /// SQLite database file (created and migrated when missing).
        #[arg(long)]
        db: PathBuf,
        /// Trusted root and accredited CA certificates (PEM); repeat for several files.
        #[arg(long, required = true)]
        trust: Vec<PathBuf>,
        /// CRLs (PEM); repeat for several. With any, each trusted certificate's own CRL is needed
        /// (the root's and the issuing CA's): every certificate of a chain is checked.
        #[arg(long)]
        crl: Vec<PathBuf>,
        /// The origin documents must name (default http://LISTEN).
        #[arg(long)]
        origin: Option<String>,
        /// Lifetime of a challenge, in seconds.
        #[arg(long, default_value_t = 300)]
        challenge_ttl_secs: u64,
        /// Confirmation requests per account per minute.
        #[arg(long, default_value_t = 30)]
        confirmations_per_minute: u32,
        /// Logins per login name per minute.
        #[arg(long, default_value_t = 10)]
        logins_per_minute: u32,
        /// Challenges per account per minute (six times as many per remote address).
        #[arg(long, default_value_t = 30)]
        challenges_per_minute: u32,
        /// Lifetime of a session, in seconds.
        #[arg(long, default_value_t = 3600, value_parser = clap::value_parser!(u64).range(1..))]
        session_ttl_secs: u64,
        /// How long an expired challenge is kept (so that a late request hears nonce-expired,
        /// not nonce-unknown), in seconds.
        #[arg(long, default_value_t = 3600)]
        expired_challenges_kept_secs: u64,
        /// How long the audit trail is kept, in seconds (default 90 days).
        #[arg(long, default_value_t = 90 * 86_400)]
        audit_retention_secs: u64,
        /// How often expired challenges and sessions and old audit rows are deleted, in seconds.
        #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..))]
        sweep_interval_secs: u64,
        /// How long an OCSP responder named by a certificate may take to answer, in seconds.
        #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..))]
        ocsp_timeout_secs: u64,
    },
    /// Creates the test accounts that match the virtual card profiles and prints their logins.
    Seed {
        #[arg(long)]
        db: PathBuf,
    },
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("podpis-portal: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(Cli::parse())) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("podpis-portal: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> Result<(), String> {
    match cli.command {
        Command::Serve {
            listen,
            db,
            trust,
            crl,
            origin,
            challenge_ttl_secs,
            confirmations_per_minute,
            logins_per_minute,
            ocsp_timeout_secs,
            challenges_per_minute,
            session_ttl_secs,
            expired_challenges_kept_secs,
            audit_retention_secs,
            sweep_interval_secs,
        } => {
            let config = Config {
                listen,
                database: db,
                trust,
                crls: crl,
                origin,
                limits: Limits {
                    challenge_ttl: Duration::from_secs(challenge_ttl_secs),
                    confirmations_per_minute,
                    logins_per_minute,
                    ocsp_timeout: Duration::from_secs(ocsp_timeout_secs),
                    challenges_per_minute,
                    session_ttl: Duration::from_secs(session_ttl_secs),
                    ..Limits::default()
                },
                retention: Retention {
                    expired_challenges: Duration::from_secs(expired_challenges_kept_secs),
                    audit: Duration::from_secs(audit_retention_secs),
                    sweep_interval: Duration::from_secs(sweep_interval_secs),
                },
            };
            let running = portal::start(config).await.map_err(|e| e.to_string())?;
            // Tests and scripts read this line to learn the port: it names the address
            // bound, which is also the origin unless `--origin` names a proxy in front.
            // One line only: readers stop reading after it, and a second line could meet a
            // closed pipe. The origin goes to the log.
            println!("podpis-portal listening on http://{}", running.address);
            tracing::info!(origin = %running.origin, "documents must name this origin");
            use std::io::Write;
            let _ = std::io::stdout().flush();
            let _ = tokio::signal::ctrl_c().await;
            running.stop().await.map_err(|e| e.to_string())
        }
        Command::Seed { db } => {
            let pool = portal::store::open(&db).await.map_err(|e| e.to_string())?;
            let seeded = portal::seed::seed(&pool).await?;
            println!("Test accounts (sandbox only):");
            for s in seeded {
                println!(
                    "  {:28} {:14} {:26} {:22} {}",
                    s.profile, s.phone, s.email, s.password, s.level
                );
            }
            Ok(())
        }
    }
}
