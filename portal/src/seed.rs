//! Test accounts that match the virtual card profiles, from the same persons file
//! (vcard/persons.toml), plus one simplified account. Seeding twice changes nothing.

use serde::Deserialize;
use sqlx::SqlitePool;

use crate::routes::normalise_login;

const PERSONS_TOML: &str = include_str!("../../vcard/persons.toml");

#[derive(Deserialize)]
struct PersonsFile {
    profile: Vec<Profile>,
}

#[derive(Deserialize)]
struct Profile {
    name: String,
    person: Person,
}

#[derive(Deserialize)]
struct Person {
    surname: String,
    given_names: String,
    snils: String,
    inn: String,
    phone: String,
    email: String,
    password: String,
}

/// A seeded account, as printed for testers.
pub struct Seeded {
    pub profile: String,
    pub phone: String,
    pub email: String,
    pub password: String,
    pub level: &'static str,
}

pub async fn seed(db: &SqlitePool) -> Result<Vec<Seeded>, String> {
    let file: PersonsFile = toml::from_str(PERSONS_TOML).map_err(|e| e.to_string())?;
    let mut accounts: Vec<(String, Person, &'static str)> = file
        .profile
        .into_iter()
        .map(|p| (p.name, p.person, "standard"))
        .collect();
    // Someone who registered with a phone only: the portal refuses a signature confirmation.
    accounts.push((
        "simplified".into(),
        Person {
            surname: "Новикова".into(),
            given_names: "Ольга Игоревна".into(),
            snils: String::new(),
            inn: String::new(),
            phone: "+79990000009".into(),
            email: "novikova@example.test".into(),
            password: "novikova-sandbox-9".into(),
        },
        "simplified",
    ));
    let mut seeded = Vec::new();
    for (profile, person, level) in accounts {
        let hash = crate::passwords::hash(&person.password).map_err(|e| e.to_string())?;
        let id = format!("acc-{profile}");
        let snils = (!person.snils.is_empty()).then(|| person.snils.clone());
        let inn = (!person.inn.is_empty()).then(|| person.inn.clone());
        sqlx::query(
            "INSERT INTO accounts (id, phone, email, snils, password_hash, surname, given_names, inn, level)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING",
        )
        .bind(&id)
        .bind(normalise_login(&person.phone))
        .bind(normalise_login(&person.email))
        .bind(snils)
        .bind(hash)
        .bind(&person.surname)
        .bind(&person.given_names)
        .bind(inn)
        .bind(level)
        .execute(db)
        .await
        .map_err(|e| e.to_string())?;
        seeded.push(Seeded {
            profile,
            phone: person.phone,
            email: person.email,
            password: person.password,
            level,
        });
    }
    Ok(seeded)
}
