//! Logging in and out.

use axum::extract::rejection::JsonRejection;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use protocol::codes;

use super::{random_token, token_sha256, Authenticated, Remote};
use crate::error::ApiError;
use crate::{now, store, AppState};

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

pub async fn login(
    State(state): State<AppState>,
    Remote(remote): Remote,
    body: Result<Json<protocol::LoginRequest>, JsonRejection>,
) -> Result<(StatusCode, Json<protocol::LoginResponse>), ApiError> {
    let Json(request) = body?;
    let opened = open_session(&state, &remote, &request.login, request.password).await?;
    Ok((
        StatusCode::CREATED,
        Json(protocol::LoginResponse {
            token: opened.token,
            expires_at: protocol::timestamp_unix(opened.expires_at),
            account: opened.account,
        }),
    ))
}

/// A session just opened. No `Debug`: the token stays out of logs.
pub struct Opened {
    pub token: String,
    pub expires_at: i64,
    pub account: String,
}

/// Checks a login and password and opens a session: for the API and for the browser page alike.
pub async fn open_session(
    state: &AppState,
    remote: &str,
    login: &str,
    password: String,
) -> Result<Opened, ApiError> {
    let login = normalise_login(login);
    let t = now();
    if !state.logins.allow(&login, t) || !state.login_addresses.allow(remote, t) {
        store::audit(
            &state.db,
            t,
            None,
            remote,
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
    let refused = ApiError::new(codes::UNAUTHORISED, "The login or the password is wrong.");
    // An unknown login is checked against a dummy hash of the same cost, and refused after the
    // same work and the same audit row as a wrong password: its answer takes as long.
    let (account, hash) = match store::find_login(&state.db, &login).await? {
        Some(credentials) => (Some(credentials.account), credentials.password_hash),
        None => (None, crate::passwords::UNKNOWN_LOGIN.to_owned()),
    };
    // Argon2 takes tens of milliseconds of CPU: off the async workers.
    let good = tokio::task::spawn_blocking(move || crate::passwords::verify(&password, &hash))
        .await
        .map_err(ApiError::internal)?;
    let account = match account {
        Some(account) if good => account,
        account => {
            store::audit(
                &state.db,
                t,
                account.as_deref(),
                remote,
                "login",
                codes::UNAUTHORISED,
                None,
            )
            .await;
            return Err(refused);
        }
    };
    let token = random_token();
    let expires_at = t + state.config.limits.session_ttl.as_secs() as i64;
    store::insert_session(&state.db, &token_sha256(&token), &account, t, expires_at).await?;
    store::audit(&state.db, t, Some(&account), remote, "login", "ok", None).await;
    Ok(Opened {
        token,
        expires_at,
        account,
    })
}

pub async fn logout(
    State(state): State<AppState>,
    auth: Authenticated,
) -> Result<StatusCode, ApiError> {
    store::delete_session(&state.db, &auth.token_sha256).await?;
    Ok(StatusCode::NO_CONTENT)
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
}
