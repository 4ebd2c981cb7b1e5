//! The sandbox portal: the reference server of the confirmation protocol (docs/protocol.md,
//! portal/openapi.yaml). axum over SQLite; signatures verified by OpenSSL with the GOST engine.
//!
//! The process that runs it must load the GOST engine through `OPENSSL_CONF`
//! (config/openssl-gost.cnf): [`start`] refuses to run without it.
//!
//! Where things are: `routes` lists every route; `handlers/` parse, ask and answer (the browser
//! page's in `handlers/browser.rs`, its HTML from `pages` and `portal/assets/`); `verify`
//! checks the signature and the certificate (OpenSSL), `ocsp` asks the responders certificates
//! name; `checks` decides the rest of a confirmation (pure); `store` owns every SQL statement, and
//! [`sweep`] deletes what is no longer needed. With the `sandbox` feature, `sandbox` starts a portal
//! inside another program (the desktop app).

pub mod checks;
pub mod config;
pub mod error;
pub mod handlers;
pub mod limits;
// OCSP and its transport are shared with the CLI and the app (crate `verify`).
pub use ::verify::ocsp;
pub mod pages;
pub mod passwords;
pub mod routes;
#[cfg(feature = "sandbox")]
pub mod sandbox;
pub mod seed;
pub mod store;
pub mod verify;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::Router;
use sqlx::SqlitePool;

pub use config::{Config, Limits, Retention};

/// What the handlers share.
#[derive(Clone)]
pub struct AppState {
    pub db: SqlitePool,
    pub config: Arc<Config>,
    pub trust: Arc<verify::TrustStore>,
    logins: Arc<limits::RateLimiter>,
    login_addresses: Arc<limits::RateLimiter>,
    confirmations: Arc<limits::RateLimiter>,
    confirmation_addresses: Arc<limits::RateLimiter>,
    challenges: Arc<limits::RateLimiter>,
    challenge_addresses: Arc<limits::RateLimiter>,
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Trust(#[from] verify::TrustError),
    #[error("database {0}: {1}")]
    Database(String, sqlx::Error),
    #[error("cannot listen on {0}: {1}")]
    Listen(SocketAddr, std::io::Error),
}

impl AppState {
    pub async fn new(config: Config) -> Result<Self, StartError> {
        let trust =
            verify::TrustStore::load(&config.trust, &config.crls, config.limits.ocsp_timeout)?;
        Self::with_trust(config, trust).await
    }

    /// The state with a trust store already loaded.
    pub(crate) async fn with_trust(
        config: Config,
        trust: verify::TrustStore,
    ) -> Result<Self, StartError> {
        let db = store::open(&config.database)
            .await
            .map_err(|e| StartError::Database(config.database.display().to_string(), e))?;
        let limits = &config.limits;
        Ok(Self {
            db,
            logins: Arc::new(limits::RateLimiter::new(limits.logins_per_minute)),
            login_addresses: Arc::new(limits::RateLimiter::new(limits.logins_per_minute * 6)),
            confirmations: Arc::new(limits::RateLimiter::new(limits.confirmations_per_minute)),
            confirmation_addresses: Arc::new(limits::RateLimiter::new(
                limits.confirmations_per_minute.saturating_mul(6),
            )),
            challenges: Arc::new(limits::RateLimiter::new(limits.challenges_per_minute)),
            challenge_addresses: Arc::new(limits::RateLimiter::new(
                limits.challenges_per_minute.saturating_mul(6),
            )),
            trust: Arc::new(trust),
            config: Arc::new(config),
        })
    }
}

/// The application as a function of its state: tests drive it without a socket.
pub fn app(state: AppState) -> Router {
    routes::router(state)
}

/// Deletes what the portal no longer needs, as of `now`: expired sessions, challenges expired
/// longer than [`Retention::expired_challenges`] ago that no request used, and audit rows older
/// than [`Retention::audit`]. The server runs it every [`Retention::sweep_interval`].
pub async fn sweep(
    db: &SqlitePool,
    retention: &Retention,
    now: i64,
) -> Result<store::Swept, sqlx::Error> {
    let seconds = |d: std::time::Duration| i64::try_from(d.as_secs()).unwrap_or(i64::MAX);
    store::sweep(
        db,
        now,
        now.saturating_sub(seconds(retention.expired_challenges)),
        now.saturating_sub(seconds(retention.audit)),
    )
    .await
}

/// Sweeps every `retention.sweep_interval` until dropped (aborted with the server).
fn start_sweeping(db: SqlitePool, retention: Retention) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(retention.sweep_interval);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            match sweep(&db, &retention, now()).await {
                Ok(swept) if swept != store::Swept::default() => {
                    tracing::debug!("swept {swept:?}");
                }
                Ok(_) => {}
                Err(e) => tracing::error!("cannot sweep the database: {e}"),
            }
        }
    })
}

/// A portal listening on its socket.
#[derive(Debug)]
pub struct Running {
    pub address: SocketAddr,
    pub origin: String,
    shutdown: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<Result<(), std::io::Error>>,
    sweeper: tokio::task::JoinHandle<()>,
}

impl Running {
    pub async fn stop(self) -> Result<(), std::io::Error> {
        let _ = self.shutdown.send(());
        let served = self.task.await.unwrap_or(Ok(()));
        self.sweeper.abort();
        served
    }
}

/// Binds the configured address (port 0 picks a free one) and serves until stopped. The origin
/// defaults to the address actually bound.
pub async fn start(mut config: Config) -> Result<Running, StartError> {
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|e| StartError::Listen(config.listen, e))?;
    let address = listener
        .local_addr()
        .map_err(|e| StartError::Listen(config.listen, e))?;
    config.listen = address;
    let state = AppState::new(config).await?;
    let origin = state.config.origin();
    let sweeper = start_sweeping(state.db.clone(), state.config.retention.clone());
    let (shutdown, stopped) = tokio::sync::oneshot::channel::<()>();
    let service = app(state).into_make_service_with_connect_info::<SocketAddr>();
    let task = tokio::spawn(async move {
        axum::serve(listener, service)
            .with_graceful_shutdown(async {
                let _ = stopped.await;
            })
            .await
    });
    Ok(Running {
        address,
        origin,
        shutdown,
        task,
        sweeper,
    })
}

pub fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}
