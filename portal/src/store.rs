//! The SQLite store: opening (WAL, migrations) and the few queries the routes need.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Row, SqlitePool};

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

#[derive(Debug, Clone)]
pub struct AccountRow {
    pub id: String,
    pub snils: Option<String>,
    pub surname: String,
    pub given_names: String,
    pub inn: Option<String>,
    pub level: String,
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
        level: r.get("level"),
    }))
}

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
