//! Test accounts from the test persons (the `testdata` crate): a standard account for the person of
//! each virtual card profile, and the accounts without a card the file lists (a simplified one).
//! Seeding twice changes nothing.

use protocol::Level;
use sqlx::SqlitePool;

use crate::handlers::session::normalise_login;
use crate::store::{self, NewAccount};

/// A seeded account, as printed for testers.
pub struct Seeded {
    pub profile: String,
    pub phone: String,
    pub email: String,
    pub password: String,
    pub level: &'static str,
}

pub async fn seed(db: &SqlitePool) -> Result<Vec<Seeded>, String> {
    let mut seeded = Vec::new();
    for account in testdata::accounts() {
        let hash = crate::passwords::hash(&account.password).map_err(|e| e.to_string())?;
        let level = match account.level {
            testdata::Level::Simplified => Level::Simplified,
            testdata::Level::Standard => Level::Standard,
            testdata::Level::Confirmed => Level::Confirmed,
        };
        store::insert_account(
            db,
            &NewAccount {
                id: &format!("acc-{}", account.name),
                phone: &normalise_login(&account.phone),
                email: &normalise_login(&account.email),
                snils: account.snils.as_deref(),
                password_hash: &hash,
                surname: &account.surname,
                given_names: &account.given_names,
                inn: account.inn.as_deref(),
                level,
            },
        )
        .await
        .map_err(|e| e.to_string())?;
        seeded.push(Seeded {
            profile: account.name,
            phone: account.phone,
            email: account.email,
            password: account.password,
            level: level.as_str(),
        });
    }
    Ok(seeded)
}
