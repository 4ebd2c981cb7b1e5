//! The handlers: each parses its input, asks the store and the checks, and answers. What they
//! share: who is asking (the bearer token's account, the peer's address) and fresh tokens.

pub mod account;
pub mod browser;
pub mod challenges;
pub mod confirmations;
pub mod session;

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::header;
use axum::http::request::Parts;
use axum::Json;
use base64::Engine as _;
use protocol::codes;
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::error::ApiError;
use crate::{now, store, AppState};

pub async fn health() -> Json<serde_json::Value> {
    Json(serde_json::json!({ "status": "ok", "version": env!("CARGO_PKG_VERSION") }))
}

/// The peer's address, where the server knows it (not in `oneshot` tests).
pub struct Remote(pub String);

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
        let token_sha256 = token_sha256(token);
        let account = store::account_by_token(&state.db, &token_sha256, now())
            .await?
            .ok_or_else(unauthorised)?;
        Ok(Self {
            account,
            token_sha256,
        })
    }
}

/// 32 random bytes, base64url without padding: session tokens, nonces and ids.
fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// Sessions are stored by the SHA-256 of their tokens, so the database never holds a token.
fn token_sha256(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}
