//! Every route of the protocol at a glance, and the handlers.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, JsonRejection};
use axum::extract::{ConnectInfo, DefaultBodyLimit, FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, StatusCode};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use base64::Engine as _;
use protocol::{codes, Purpose};
use rand::RngCore;
use sha2::{Digest, Sha256};
use sqlx::Row;

use crate::error::ApiError;
use crate::{now, rfc3339, store, verify, AppState};

pub fn router(state: AppState) -> Router {
    let max_body = state.config.limits.max_body;
    Router::new()
        .route("/api/v1/health", get(health))
        .route("/api/v1/sessions", post(login))
        .route("/api/v1/sessions/current", delete(logout))
        .route("/api/v1/account", get(account))
        .route("/api/v1/challenges", post(challenge))
        .route("/api/v1/confirmations", post(confirm))
        .fallback(|| async { ApiError::new(codes::NOT_FOUND, "There is no such endpoint.") })
        .method_not_allowed_fallback(|| async {
            ApiError::new(codes::NOT_FOUND, "This endpoint does not take that method.")
        })
        .layer(DefaultBodyLimit::max(max_body))
        .with_state(state)
}

/// The peer's address, where the server knows it (not in `oneshot` tests).
pub struct Remote(String);

impl<S: Send + Sync> FromRequestParts<S> for Remote {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let address = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map_or_else(|| "unknown".to_owned(), |c| c.0.ip().to_string());
        Ok(Self(address))
    }
}

/// The account behind a valid bearer token.
pub struct Authenticated {
    pub account: String,
    token_sha256: String,
}

impl FromRequestParts<AppState> for Authenticated {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let unauthorised = || {
            ApiError::new(
                codes::UNAUTHORISED,
                "Log in first: the session is missing or has expired.",
            )
        };
        let token = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .ok_or_else(unauthorised)?;
        let token_sha256 = hex::encode(Sha256::digest(token.as_bytes()));
        let row = sqlx::query(
            "SELECT account_id FROM sessions WHERE token_sha256 = ? AND expires_at > ?",
        )
        .bind(&token_sha256)
        .bind(now())
        .fetch_optional(&state.db)
        .await?
        .ok_or_else(unauthorised)?;
        Ok(Self {
            account: row.get("account_id"),
            token_sha256,
        })
    }
}

async fn health() -> Json<serde_json::Value> {
    Json(serde_json::json!({ "status": "ok", "version": env!("CARGO_PKG_VERSION") }))
}

fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// Logins are a phone, an e-mail or a SNILS; they are compared in one normal form.
pub fn normalise_login(login: &str) -> String {
    let trimmed = login.trim();
    if trimmed.contains('@') {
        return trimmed.to_lowercase();
    }
    let digits: String = trimmed.chars().filter(char::is_ascii_digit).collect();
    if trimmed.starts_with('+') || digits.len() != 11 {
        return format!("+{digits}");
    }
    digits
}

async fn login(
    State(state): State<AppState>,
    Remote(remote): Remote,
    body: Result<Json<protocol::LoginRequest>, JsonRejection>,
) -> Result<(StatusCode, Json<protocol::LoginResponse>), ApiError> {
    let Json(request) = body?;
    let login = normalise_login(&request.login);
    let t = now();
    if !state.logins.allow(&login, t) || !state.login_addresses.allow(&remote, t) {
        store::audit(
            &state.db,
            t,
            None,
            &remote,
            "login",
            codes::RATE_LIMITED,
            None,
        )
        .await;
        return Err(ApiError::new(
            codes::RATE_LIMITED,
            "Too many login attempts; wait a minute and try again.",
        ));
    }
    let row = sqlx::query(
        "SELECT id, password_hash FROM accounts WHERE phone = ? OR email = ? OR snils = ?",
    )
    .bind(&login)
    .bind(&login)
    .bind(&login)
    .fetch_optional(&state.db)
    .await?;
    let refused = ApiError::new(codes::UNAUTHORISED, "The login or the password is wrong.");
    let Some(row) = row else {
        store::audit(
            &state.db,
            t,
            None,
            &remote,
            "login",
            codes::UNAUTHORISED,
            None,
        )
        .await;
        return Err(refused);
    };
    let account: String = row.get("id");
    let hash: String = row.get("password_hash");
    let password = request.password;
    let good = tokio::task::spawn_blocking(move || crate::passwords::verify(&password, &hash))
        .await
        .map_err(ApiError::internal)?;
    if !good {
        store::audit(
            &state.db,
            t,
            Some(&account),
            &remote,
            "login",
            codes::UNAUTHORISED,
            None,
        )
        .await;
        return Err(refused);
    }
    let token = random_token();
    let expires = t + state.config.limits.session_ttl.as_secs() as i64;
    sqlx::query("INSERT INTO sessions (token_sha256, account_id, created_at, expires_at) VALUES (?, ?, ?, ?)")
        .bind(hex::encode(Sha256::digest(token.as_bytes())))
        .bind(&account)
        .bind(t)
        .bind(expires)
        .execute(&state.db)
        .await?;
    store::audit(&state.db, t, Some(&account), &remote, "login", "ok", None).await;
    Ok((
        StatusCode::CREATED,
        Json(protocol::LoginResponse {
            token,
            expires_at: rfc3339(expires),
            account,
        }),
    ))
}

async fn logout(
    State(state): State<AppState>,
    auth: Authenticated,
) -> Result<StatusCode, ApiError> {
    sqlx::query("DELETE FROM sessions WHERE token_sha256 = ?")
        .bind(&auth.token_sha256)
        .execute(&state.db)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn account(
    State(state): State<AppState>,
    auth: Authenticated,
) -> Result<Json<protocol::Account>, ApiError> {
    let row = store::account(&state.db, &auth.account)
        .await?
        .ok_or_else(|| ApiError::internal("session of a missing account"))?;
    let organisations = sqlx::query("SELECT id, name, ogrn, inn FROM organisations WHERE representative_id = ? ORDER BY created_at")
        .bind(&auth.account)
        .fetch_all(&state.db)
        .await?
        .into_iter()
        .map(|r| protocol::AccountOrganisation {
            id: r.get("id"),
            organisation: protocol::Organisation { name: r.get("name"), ogrn: r.get("ogrn"), inn: r.get("inn") },
            role: "representative".into(),
        })
        .collect();
    Ok(Json(protocol::Account {
        id: row.id,
        level: level(&row.level),
        person: protocol::Person {
            surname: row.surname,
            given_names: row.given_names,
            snils: row.snils,
            inn: row.inn,
        },
        organisations,
    }))
}

fn level(text: &str) -> protocol::Level {
    match text {
        "confirmed" => protocol::Level::Confirmed,
        "standard" => protocol::Level::Standard,
        _ => protocol::Level::Simplified,
    }
}

async fn challenge(
    State(state): State<AppState>,
    Remote(remote): Remote,
    auth: Authenticated,
    body: Result<Json<protocol::ChallengeRequest>, JsonRejection>,
) -> Result<(StatusCode, Json<protocol::Challenge>), ApiError> {
    let Json(request) = body?;
    let t = now();
    let nonce = random_token();
    let expires = t + state.config.limits.challenge_ttl.as_secs() as i64;
    let origin = state.config.origin();
    sqlx::query("INSERT INTO challenges (nonce, account_id, purpose, origin, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)")
        .bind(&nonce)
        .bind(&auth.account)
        .bind(request.purpose.as_str())
        .bind(&origin)
        .bind(t)
        .bind(expires)
        .execute(&state.db)
        .await?;
    store::audit(
        &state.db,
        t,
        Some(&auth.account),
        &remote,
        "challenge",
        "ok",
        Some(request.purpose.as_str()),
    )
    .await;
    Ok((
        StatusCode::CREATED,
        Json(protocol::Challenge {
            nonce,
            purpose: request.purpose,
            expires_at: rfc3339(expires),
            origin,
        }),
    ))
}

/// Names compare without case, extra spaces, or the ё/е distinction.
pub fn same_name(a: &str, b: &str) -> bool {
    let norm = |s: &str| {
        s.split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .to_lowercase()
            .replace('ё', "е")
    };
    norm(a) == norm(b)
}

async fn confirm(
    State(state): State<AppState>,
    Remote(remote): Remote,
    auth: Authenticated,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<protocol::ConfirmationResult>, ApiError> {
    let t = now();
    let body_sha256 = body.as_ref().ok().map(|b| hex::encode(Sha256::digest(b)));
    let outcome = match confirm_inner(&state, &auth, &remote, &headers, body, t).await {
        // A copy of a request that another copy got accepted meanwhile (nonce used, organisation
        // there): it gets that copy's answer.
        Err(e) if e.code != codes::RATE_LIMITED => match &body_sha256 {
            Some(hash) => stored_answer(&state, hash, &auth.account).await?.ok_or(e),
            None => Err(e),
        },
        other => other,
    };
    let (code, detail) = match &outcome {
        Ok(result) => ("ok", Some(result.request.clone())),
        Err(e) => (e.code, None),
    };
    store::audit(
        &state.db,
        t,
        Some(&auth.account),
        &remote,
        "confirmation",
        code,
        detail.as_deref(),
    )
    .await;
    outcome.map(Json)
}

async fn confirm_inner(
    state: &AppState,
    auth: &Authenticated,
    remote: &str,
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
    t: i64,
) -> Result<protocol::ConfirmationResult, ApiError> {
    if !state.confirmations.allow(&auth.account, t)
        || !state.confirmation_addresses.allow(remote, t)
    {
        return Err(ApiError::new(
            codes::RATE_LIMITED,
            "Too many confirmation requests; wait a minute and try again.",
        ));
    }
    let body = body?;
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if content_type.split(';').next().map(str::trim) != Some(protocol::CMS_CONTENT_TYPE) {
        return Err(ApiError::new(
            codes::MALFORMED,
            "Send the signed request as application/pkcs7-mime (DER).",
        ));
    }
    let body_sha256 = hex::encode(Sha256::digest(&body));
    // The same request sent again gets its first answer.
    if let Some(previous) = stored_answer(state, &body_sha256, &auth.account).await? {
        return Ok(previous);
    }

    let trust = Arc::clone(&state.trust);
    let verified = tokio::task::spawn_blocking(move || verify::verify(&body, &trust))
        .await
        .map_err(ApiError::internal)??;
    let cert = &verified.certificate;
    let document =
        protocol::RequestDocument::from_canonical_json(&verified.content).map_err(|e| {
            ApiError::new(
                codes::MALFORMED,
                format!("The signed document is not a request document: {e}."),
            )
        })?;
    let mismatch = |what: &str| {
        ApiError::new(
            codes::MALFORMED,
            format!("The document's {what} does not match."),
        )
    };
    if document.format != protocol::DOCUMENT_FORMAT {
        return Err(mismatch("format"));
    }
    if document.certificate_sha256 != cert.sha256 {
        return Err(mismatch("certificate"));
    }
    if document.account != auth.account {
        return Err(mismatch("account"));
    }
    let person = protocol::Person {
        surname: cert.surname.clone().unwrap_or_default(),
        given_names: cert.given_names.clone().unwrap_or_default(),
        snils: cert.snils.clone(),
        inn: cert.inn.clone(),
    };
    if document.person != person {
        return Err(mismatch("person (it must be the certificate's)"));
    }

    // The nonce: known to this account, unexpired, unused, for this purpose and origin.
    let challenge = sqlx::query("SELECT account_id, purpose, origin, created_at, expires_at, used_at FROM challenges WHERE nonce = ?")
        .bind(&document.nonce)
        .fetch_optional(&state.db)
        .await?
        .filter(|r| r.get::<String, _>("account_id") == auth.account)
        .ok_or_else(|| ApiError::new(codes::NONCE_UNKNOWN, "The portal did not issue this challenge to this account."))?;
    if challenge.get::<Option<i64>, _>("used_at").is_some() {
        return Err(ApiError::new(
            codes::NONCE_USED,
            "This challenge has been used already; ask for a new one.",
        ));
    }
    if challenge.get::<i64, _>("expires_at") < t {
        return Err(ApiError::new(
            codes::NONCE_EXPIRED,
            "The challenge has expired; ask for a new one and sign again.",
        ));
    }
    if challenge.get::<String, _>("purpose") != document.purpose.as_str() {
        return Err(ApiError::new(
            codes::PURPOSE_MISMATCH,
            "The challenge was issued for another purpose.",
        ));
    }
    let origin = state.config.origin();
    if document.origin != origin || challenge.get::<String, _>("origin") != origin {
        return Err(ApiError::new(
            codes::ORIGIN_MISMATCH,
            format!("The document was made for another portal, not {origin}."),
        ));
    }
    const SKEW: i64 = 300;
    if verified.signing_time < challenge.get::<i64, _>("created_at") - SKEW
        || verified.signing_time > t + SKEW
    {
        return Err(ApiError::new(
            codes::MALFORMED,
            "The signing time does not fall within the challenge's life.",
        ));
    }

    // The account and the person.
    let account = store::account(&state.db, &auth.account)
        .await?
        .ok_or_else(|| ApiError::internal("missing account"))?;
    if account.level == "simplified" {
        return Err(ApiError::new(
            codes::ACCOUNT_NOT_STANDARD,
            "Confirm the passport and SNILS first: the account must be standard.",
        ));
    }
    if document.purpose == Purpose::ConfirmIdentity && account.level == "confirmed" {
        return Err(ApiError::new(
            codes::ALREADY_CONFIRMED,
            "The account is already confirmed.",
        ));
    }
    let Some(snils) = &cert.snils else {
        return Err(ApiError::new(
            codes::SNILS_MISSING,
            "The certificate carries no SNILS of a person; the portal cannot tell whose it is.",
        ));
    };
    if account.snils.as_deref() != Some(snils.as_str()) {
        return Err(ApiError::new(
            codes::SNILS_MISMATCH,
            "The certificate's SNILS is not the account's: it belongs to another person.",
        ));
    }
    if !same_name(&person.surname, &account.surname)
        || !same_name(&person.given_names, &account.given_names)
    {
        return Err(ApiError::new(
            codes::NAME_MISMATCH,
            "The names in the certificate differ from the account's.",
        ));
    }

    let organisation = match document.purpose {
        Purpose::ConfirmIdentity => {
            if document.organisation.is_some() {
                return Err(mismatch(
                    "organisation (none is registered by this purpose)",
                ));
            }
            None
        }
        Purpose::RegisterOrganisation => {
            let (Some(ogrn), Some(inn)) = (&cert.ogrn, &cert.inn_le) else {
                return Err(ApiError::new(
                    codes::ORGANISATION_DATA_MISSING,
                    "The certificate lacks the organisation's OGRN or INN.",
                ));
            };
            let organisation = protocol::Organisation {
                name: cert
                    .organisation
                    .clone()
                    .or_else(|| cert.subject.clone())
                    .unwrap_or_default(),
                ogrn: ogrn.clone(),
                inn: inn.clone(),
            };
            if document.organisation.as_ref() != Some(&organisation) {
                return Err(mismatch("organisation (it must be the certificate's)"));
            }
            let exists = sqlx::query("SELECT 1 FROM organisations WHERE ogrn = ?")
                .bind(ogrn)
                .fetch_optional(&state.db)
                .await?;
            if exists.is_some() {
                return Err(ApiError::new(
                    codes::ORGANISATION_EXISTS,
                    "This organisation is already registered on the portal.",
                ));
            }
            Some(organisation)
        }
    };

    apply(state, auth, &document, cert, organisation, &body_sha256, t).await
}

/// The stored answer to a request already accepted with these very bytes, for this account.
async fn stored_answer(
    state: &AppState,
    body_sha256: &str,
    account: &str,
) -> Result<Option<protocol::ConfirmationResult>, ApiError> {
    let row =
        sqlx::query("SELECT response FROM confirmations WHERE body_sha256 = ? AND account_id = ?")
            .bind(body_sha256)
            .bind(account)
            .fetch_optional(&state.db)
            .await?;
    row.map(|r| serde_json::from_str(&r.get::<String, _>("response")).map_err(ApiError::internal))
        .transpose()
}

/// Marks the nonce used, applies the effect and records the request, in one transaction.
async fn apply(
    state: &AppState,
    auth: &Authenticated,
    document: &protocol::RequestDocument,
    cert: &signing::certificate::CertificateInfo,
    organisation: Option<protocol::Organisation>,
    body_sha256: &str,
    t: i64,
) -> Result<protocol::ConfirmationResult, ApiError> {
    let mut tx = state.db.begin().await?;
    let used = sqlx::query("UPDATE challenges SET used_at = ? WHERE nonce = ? AND used_at IS NULL")
        .bind(t)
        .bind(&document.nonce)
        .execute(&mut *tx)
        .await?;
    if used.rows_affected() == 0 {
        // Another copy of this request won the race: answer as it was answered.
        tx.rollback().await?;
        return match stored_answer(state, body_sha256, &auth.account).await? {
            Some(previous) => Ok(previous),
            None => Err(ApiError::new(
                codes::NONCE_USED,
                "This challenge has been used already; ask for a new one.",
            )),
        };
    }
    let request = random_token();
    let (new_level, organisation_result) = match organisation {
        None => {
            sqlx::query("UPDATE accounts SET level = 'confirmed', confirmed_at = ?, confirmed_by = ? WHERE id = ?")
                .bind(t)
                .bind(&cert.sha256)
                .bind(&auth.account)
                .execute(&mut *tx)
                .await?;
            (protocol::Level::Confirmed, None)
        }
        Some(org) => {
            let account = sqlx::query("SELECT level FROM accounts WHERE id = ?")
                .bind(&auth.account)
                .fetch_one(&mut *tx)
                .await?;
            let id = random_token();
            (
                level(&account.get::<String, _>("level")),
                Some(protocol::AccountOrganisationResult {
                    id,
                    name: org.name,
                    ogrn: org.ogrn,
                    inn: org.inn,
                }),
            )
        }
    };
    let result = protocol::ConfirmationResult {
        request: request.clone(),
        purpose: document.purpose,
        level: new_level,
        organisation: organisation_result.clone(),
    };
    let response = serde_json::to_string(&result).map_err(ApiError::internal)?;
    sqlx::query("INSERT INTO confirmations (id, body_sha256, nonce, account_id, purpose, certificate_sha256, response, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)")
        .bind(&request)
        .bind(body_sha256)
        .bind(&document.nonce)
        .bind(&auth.account)
        .bind(document.purpose.as_str())
        .bind(&cert.sha256)
        .bind(&response)
        .bind(t)
        .execute(&mut *tx)
        .await?;
    if let Some(org) = &organisation_result {
        let inserted = sqlx::query("INSERT INTO organisations (id, ogrn, inn, name, representative_id, confirmation_id, created_at) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (ogrn) DO NOTHING")
            .bind(&org.id)
            .bind(&org.ogrn)
            .bind(&org.inn)
            .bind(&org.name)
            .bind(&auth.account)
            .bind(&request)
            .bind(t)
            .execute(&mut *tx)
            .await?;
        if inserted.rows_affected() == 0 {
            tx.rollback().await?;
            return Err(ApiError::new(
                codes::ORGANISATION_EXISTS,
                "This organisation is already registered on the portal.",
            ));
        }
    }
    tx.commit().await?;
    Ok(result)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logins_compare_in_one_form() {
        assert_eq!(normalise_login("+7 (999) 000-00-01"), "+79990000001");
        assert_eq!(normalise_login("547-712-782 18"), "54771278218");
        assert_eq!(
            normalise_login(" Ivanov@Example.TEST "),
            "ivanov@example.test"
        );
    }

    #[test]
    fn names_compare_without_case_spaces_or_yo() {
        assert!(same_name("Пётр  Алексеевич", "петр алексеевич"));
        assert!(!same_name("Пётр", "Павел"));
    }
}
