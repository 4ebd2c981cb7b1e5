//! Issuing a challenge: a fresh nonce for one purpose, bound to this account and this portal.

use axum::extract::rejection::JsonRejection;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use protocol::codes;

use super::{random_token, Authenticated, Remote};
use crate::error::ApiError;
use crate::store::{self, ChallengeRow};
use crate::{now, AppState};

pub async fn challenge(
    State(state): State<AppState>,
    Remote(remote): Remote,
    auth: Authenticated,
    body: Result<Json<protocol::ChallengeRequest>, JsonRejection>,
) -> Result<(StatusCode, Json<protocol::Challenge>), ApiError> {
    let Json(request) = body?;
    let t = now();
    // Each challenge is a row until it is swept: the pace is bounded per account and per address.
    if !state.challenges.allow(&auth.account, t) || !state.challenge_addresses.allow(&remote, t) {
        store::audit(
            &state.db,
            t,
            Some(&auth.account),
            &remote,
            "challenge",
            codes::RATE_LIMITED,
            None,
        )
        .await;
        return Err(ApiError::new(
            codes::RATE_LIMITED,
            "Too many challenges asked for; wait a minute and try again.",
        ));
    }
    let row = ChallengeRow {
        nonce: random_token(),
        account: auth.account,
        purpose: request.purpose.as_str().to_owned(),
        origin: state.config.origin(),
        created_at: t,
        expires_at: t + state.config.limits.challenge_ttl.as_secs() as i64,
        used_at: None,
    };
    store::insert_challenge(&state.db, &row).await?;
    store::audit(
        &state.db,
        t,
        Some(&row.account),
        &remote,
        "challenge",
        "ok",
        Some(request.purpose.as_str()),
    )
    .await;
    Ok((
        StatusCode::CREATED,
        Json(protocol::Challenge {
            nonce: row.nonce,
            purpose: request.purpose,
            expires_at: protocol::timestamp_unix(row.expires_at),
            origin: row.origin,
        }),
    ))
}
