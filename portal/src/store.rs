//! The SQLite store: opening (WAL, migrations) and every SQL statement the portal runs, as typed
//! functions. Nothing outside this module (and the migrations) writes SQL.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use protocol::{
    AccountOrganisation, AccountOrganisationResult, ConfirmationResult, Level, Organisation,
    Purpose,
};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Row, SqlitePool};

use crate::error::ApiError;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(transparent)]
    Sql(#[from] sqlx::Error),
    /// A confirmation's answer is kept as JSON; this one could not be written or read back.
    #[error("a stored answer is not the protocol's JSON: {0}")]
    Answer(#[from] serde_json::Error),
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        Self::internal(e)
    }
}

pub async fn open(path: &Path) -> Result<SqlitePool, sqlx::Error> {
    let options = SqliteConnectOptions::from_str(&format!("sqlite://{}", path.display()))?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        // FULL: an accepted confirmation survives a power cut, not only a crash.
        .synchronous(SqliteSynchronous::Full)
        .foreign_keys(true)
        .busy_timeout(Duration::from_secs(30));
    let pool = SqlitePoolOptions::new()
        .max_connections(8)
        .connect_with(options)
        .await?;
    sqlx::migrate!("./migrations").run(&pool).await?;
    Ok(pool)
}

/// The column holds one of the three names (the schema checks it).
fn level(text: &str) -> Level {
    match text {
        "confirmed" => Level::Confirmed,
        "standard" => Level::Standard,
        _ => Level::Simplified,
    }
}

// Accounts.

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountRow {
    pub id: String,
    pub snils: Option<String>,
    pub surname: String,
    pub given_names: String,
    pub inn: Option<String>,
    pub level: Level,
}

pub async fn account(db: &SqlitePool, id: &str) -> Result<Option<AccountRow>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT id, snils, surname, given_names, inn, level FROM accounts WHERE id = ?",
    )
    .bind(id)
    .fetch_optional(db)
    .await?;
    Ok(row.map(|r| AccountRow {
        id: r.get("id"),
        snils: r.get("snils"),
        surname: r.get("surname"),
        given_names: r.get("given_names"),
        inn: r.get("inn"),
        level: level(r.get("level")),
    }))
}

/// An account to create; logins (phone, e-mail) in their normal form.
pub struct NewAccount<'a> {
    pub id: &'a str,
    pub phone: &'a str,
    pub email: &'a str,
    pub snils: Option<&'a str>,
    pub password_hash: &'a str,
    pub surname: &'a str,
    pub given_names: &'a str,
    pub inn: Option<&'a str>,
    pub level: Level,
}

/// Creates the account unless one with its id exists (seeding twice changes nothing).
pub async fn insert_account(db: &SqlitePool, account: &NewAccount<'_>) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO accounts (id, phone, email, snils, password_hash, surname, given_names, inn, level)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING",
    )
    .bind(account.id)
    .bind(account.phone)
    .bind(account.email)
    .bind(account.snils)
    .bind(account.password_hash)
    .bind(account.surname)
    .bind(account.given_names)
    .bind(account.inn)
    .bind(account.level.as_str())
    .execute(db)
    .await?;
    Ok(())
}

/// What a login is checked against. No `Debug`: the hash stays out of logs.
pub struct Credentials {
    pub account: String,
    pub password_hash: String,
}

/// The account whose phone, e-mail or SNILS is `login` (in its normal form).
pub async fn find_login(db: &SqlitePool, login: &str) -> Result<Option<Credentials>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT id, password_hash FROM accounts WHERE phone = ? OR email = ? OR snils = ?",
    )
    .bind(login)
    .bind(login)
    .bind(login)
    .fetch_optional(db)
    .await?;
    Ok(row.map(|r| Credentials {
        account: r.get("id"),
        password_hash: r.get("password_hash"),
    }))
}

// Sessions: kept as the SHA-256 of their tokens, never the tokens.

pub async fn insert_session(
    db: &SqlitePool,
    token_sha256: &str,
    account: &str,
    created_at: i64,
    expires_at: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO sessions (token_sha256, account_id, created_at, expires_at) VALUES (?, ?, ?, ?)",
    )
    .bind(token_sha256)
    .bind(account)
    .bind(created_at)
    .bind(expires_at)
    .execute(db)
    .await?;
    Ok(())
}

/// The account of a session that is still live at `now`.
pub async fn account_by_token(
    db: &SqlitePool,
    token_sha256: &str,
    now: i64,
) -> Result<Option<String>, sqlx::Error> {
    let row =
        sqlx::query("SELECT account_id FROM sessions WHERE token_sha256 = ? AND expires_at > ?")
            .bind(token_sha256)
            .bind(now)
            .fetch_optional(db)
            .await?;
    Ok(row.map(|r| r.get("account_id")))
}

pub async fn delete_session(db: &SqlitePool, token_sha256: &str) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM sessions WHERE token_sha256 = ?")
        .bind(token_sha256)
        .execute(db)
        .await?;
    Ok(())
}

// Organisations.

/// The organisations the account represents, oldest first.
pub async fn organisations_of(
    db: &SqlitePool,
    account: &str,
) -> Result<Vec<AccountOrganisation>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT id, name, ogrn, inn FROM organisations WHERE representative_id = ? ORDER BY created_at",
    )
    .bind(account)
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| AccountOrganisation {
            id: r.get("id"),
            organisation: Organisation {
                name: r.get("name"),
                ogrn: r.get("ogrn"),
                inn: r.get("inn"),
            },
            role: "representative".into(),
        })
        .collect())
}

pub async fn organisation_registered(db: &SqlitePool, ogrn: &str) -> Result<bool, sqlx::Error> {
    let row = sqlx::query("SELECT 1 FROM organisations WHERE ogrn = ?")
        .bind(ogrn)
        .fetch_optional(db)
        .await?;
    Ok(row.is_some())
}

// Challenges.

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChallengeRow {
    pub nonce: String,
    pub account: String,
    /// As written by [`Purpose::as_str`].
    pub purpose: String,
    pub origin: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub used_at: Option<i64>,
}

pub async fn insert_challenge(
    db: &SqlitePool,
    challenge: &ChallengeRow,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO challenges (nonce, account_id, purpose, origin, created_at, expires_at, used_at)
         VALUES (?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(&challenge.nonce)
    .bind(&challenge.account)
    .bind(&challenge.purpose)
    .bind(&challenge.origin)
    .bind(challenge.created_at)
    .bind(challenge.expires_at)
    .bind(challenge.used_at)
    .execute(db)
    .await?;
    Ok(())
}

pub async fn challenge_by_nonce(
    db: &SqlitePool,
    nonce: &str,
) -> Result<Option<ChallengeRow>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT nonce, account_id, purpose, origin, created_at, expires_at, used_at FROM challenges WHERE nonce = ?",
    )
    .bind(nonce)
    .fetch_optional(db)
    .await?;
    Ok(row.map(|r| ChallengeRow {
        nonce: r.get("nonce"),
        account: r.get("account_id"),
        purpose: r.get("purpose"),
        origin: r.get("origin"),
        created_at: r.get("created_at"),
        expires_at: r.get("expires_at"),
        used_at: r.get("used_at"),
    }))
}

// Confirmations.

/// The stored answer to a request already accepted with these very bytes, for this account.
pub async fn stored_answer(
    db: &SqlitePool,
    body_sha256: &str,
    account: &str,
) -> Result<Option<ConfirmationResult>, StoreError> {
    let row =
        sqlx::query("SELECT response FROM confirmations WHERE body_sha256 = ? AND account_id = ?")
            .bind(body_sha256)
            .bind(account)
            .fetch_optional(db)
            .await?;
    Ok(row
        .map(|r| serde_json::from_str(&r.get::<String, _>("response")))
        .transpose()?)
}

/// An accepted request, ready to apply.
pub struct Acceptance<'a> {
    /// The new request's id (the answer's `request`).
    pub request: &'a str,
    pub body_sha256: &'a str,
    pub nonce: &'a str,
    pub account: &'a str,
    pub purpose: Purpose,
    pub certificate_sha256: &'a str,
    /// The organisation to create, with its new id; none confirms the account instead.
    pub organisation: Option<(&'a str, &'a Organisation)>,
    pub now: i64,
}

/// What became of an acceptance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Applied {
    Accepted(ConfirmationResult),
    /// Another request used the nonce first (nothing was applied).
    NonceUsed,
    /// Another request registered the organisation first (nothing was applied).
    OrganisationExists,
}

/// In one transaction: marks the nonce used, raises the account to confirmed or creates the
/// organisation with the account as its representative, and records the request with its answer.
/// The database, not an earlier read, decides a race between two copies of a request.
pub async fn apply_confirmation(
    db: &SqlitePool,
    acceptance: &Acceptance<'_>,
) -> Result<Applied, StoreError> {
    let mut tx = db.begin().await?;
    let used = sqlx::query("UPDATE challenges SET used_at = ? WHERE nonce = ? AND used_at IS NULL")
        .bind(acceptance.now)
        .bind(acceptance.nonce)
        .execute(&mut *tx)
        .await?;
    if used.rows_affected() == 0 {
        tx.rollback().await?;
        return Ok(Applied::NonceUsed);
    }
    let (new_level, organisation) = match acceptance.organisation {
        None => {
            sqlx::query(
                "UPDATE accounts SET level = 'confirmed', confirmed_at = ?, confirmed_by = ? WHERE id = ?",
            )
            .bind(acceptance.now)
            .bind(acceptance.certificate_sha256)
            .bind(acceptance.account)
            .execute(&mut *tx)
            .await?;
            (Level::Confirmed, None)
        }
        Some((id, organisation)) => {
            let account = sqlx::query("SELECT level FROM accounts WHERE id = ?")
                .bind(acceptance.account)
                .fetch_one(&mut *tx)
                .await?;
            (
                level(account.get("level")),
                Some(AccountOrganisationResult {
                    id: id.to_owned(),
                    name: organisation.name.clone(),
                    ogrn: organisation.ogrn.clone(),
                    inn: organisation.inn.clone(),
                }),
            )
        }
    };
    let result = ConfirmationResult {
        request: acceptance.request.to_owned(),
        purpose: acceptance.purpose,
        level: new_level,
        organisation,
    };
    let response = serde_json::to_string(&result)?;
    sqlx::query(
        "INSERT INTO confirmations (id, body_sha256, nonce, account_id, purpose, certificate_sha256, response, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(acceptance.request)
    .bind(acceptance.body_sha256)
    .bind(acceptance.nonce)
    .bind(acceptance.account)
    .bind(acceptance.purpose.as_str())
    .bind(acceptance.certificate_sha256)
    .bind(&response)
    .bind(acceptance.now)
    .execute(&mut *tx)
    .await?;
    if let Some(organisation) = &result.organisation {
        let inserted = sqlx::query(
            "INSERT INTO organisations (id, ogrn, inn, name, representative_id, confirmation_id, created_at)
             VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (ogrn) DO NOTHING",
        )
        .bind(&organisation.id)
        .bind(&organisation.ogrn)
        .bind(&organisation.inn)
        .bind(&organisation.name)
        .bind(acceptance.account)
        .bind(acceptance.request)
        .bind(acceptance.now)
        .execute(&mut *tx)
        .await?;
        if inserted.rows_affected() == 0 {
            tx.rollback().await?;
            return Ok(Applied::OrganisationExists);
        }
    }
    tx.commit().await?;
    Ok(Applied::Accepted(result))
}

// Sweeping.

/// How many rows a sweep deleted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Swept {
    pub sessions: u64,
    pub challenges: u64,
    pub audit_events: u64,
}

/// Deletes the sessions expired at `now`, the challenges expired before `challenges_before`
/// that no confirmation used (a used one is part of its request's record), and the audit rows
/// from before `audit_before`.
pub async fn sweep(
    db: &SqlitePool,
    now: i64,
    challenges_before: i64,
    audit_before: i64,
) -> Result<Swept, sqlx::Error> {
    let sessions = sqlx::query("DELETE FROM sessions WHERE expires_at <= ?")
        .bind(now)
        .execute(db)
        .await?
        .rows_affected();
    let challenges = sqlx::query(
        "DELETE FROM challenges WHERE expires_at < ?
         AND NOT EXISTS (SELECT 1 FROM confirmations WHERE confirmations.nonce = challenges.nonce)",
    )
    .bind(challenges_before)
    .execute(db)
    .await?
    .rows_affected();
    let audit_events = sqlx::query("DELETE FROM audit_events WHERE at < ?")
        .bind(audit_before)
        .execute(db)
        .await?
        .rows_affected();
    Ok(Swept {
        sessions,
        challenges,
        audit_events,
    })
}

/// How many rows each swept table holds: (sessions, challenges, audit events).
#[cfg(test)]
pub(crate) async fn swept_table_rows(db: &SqlitePool) -> Result<(i64, i64, i64), sqlx::Error> {
    sqlx::query_as(
        "SELECT (SELECT COUNT(*) FROM sessions), (SELECT COUNT(*) FROM challenges),
                (SELECT COUNT(*) FROM audit_events)",
    )
    .fetch_one(db)
    .await
}

// The audit trail.

/// Records an attempt. A failure to record is logged, not returned: the answer stands.
pub async fn audit(
    db: &SqlitePool,
    now: i64,
    account: Option<&str>,
    remote: &str,
    action: &str,
    outcome: &str,
    detail: Option<&str>,
) {
    let result = sqlx::query(
        "INSERT INTO audit_events (at, account_id, remote, action, outcome, detail) VALUES (?, ?, ?, ?, ?, ?)",
    )
    .bind(now)
    .bind(account)
    .bind(remote)
    .bind(action)
    .bind(outcome)
    .bind(detail)
    .execute(db)
    .await;
    if let Err(e) = result {
        tracing::error!("cannot write the audit event {action}/{outcome}: {e}");
    }
}

/// Every audit event's action and outcome, oldest first: what tests look for.
#[cfg(test)]
pub(crate) async fn audit_events(db: &SqlitePool) -> Result<Vec<(String, String)>, sqlx::Error> {
    sqlx::query_as("SELECT action, outcome FROM audit_events ORDER BY id")
        .fetch_all(db)
        .await
}
