//! Accepting a signed request: the order of docs/protocol.md, "Checks, in order". Steps 0-1 here,
//! 2-8 in `verify` (OpenSSL), 9-22 in `checks` (pure); the store applies what they decide.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::http::{header, HeaderMap};
use axum::Json;
use protocol::{codes, ConfirmationResult, Purpose};
use sha2::{Digest, Sha256};

use super::{random_token, Authenticated, Remote};
use crate::checks::{self, Decision, Facts};
use crate::error::ApiError;
use crate::store::{self, Acceptance, Applied};
use crate::{now, verify, AppState};

pub async fn confirm(
    State(state): State<AppState>,
    Remote(remote): Remote,
    auth: Authenticated,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<ConfirmationResult>, ApiError> {
    let t = now();
    let body_sha256 = body.as_ref().ok().map(|b| hex::encode(Sha256::digest(b)));
    let outcome = match confirm_inner(&state, &auth, &remote, &headers, body, t).await {
        // A copy of a request that another copy got accepted meanwhile (nonce used, organisation
        // there): it gets that copy's answer.
        Err(e) if e.code != codes::RATE_LIMITED => match &body_sha256 {
            Some(hash) => store::stored_answer(&state.db, hash, &auth.account)
                .await?
                .ok_or(e),
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
) -> Result<ConfirmationResult, ApiError> {
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
    if let Some(previous) = store::stored_answer(&state.db, &body_sha256, &auth.account).await? {
        return Ok(previous);
    }

    let trust = Arc::clone(&state.trust);
    let verified = tokio::task::spawn_blocking(move || verify::verify(&body, &trust))
        .await
        .map_err(ApiError::internal)??;
    let request = checks::read(verified)?;

    // What the checks need to know, read before they run: they decide without the database.
    let document = &request.document;
    let challenge = store::challenge_by_nonce(&state.db, &document.nonce).await?;
    let account = store::account(&state.db, &auth.account)
        .await?
        .ok_or_else(|| ApiError::internal("missing account"))?;
    let organisation_registered = match (document.purpose, &request.certificate.ogrn) {
        (Purpose::RegisterOrganisation, Some(ogrn)) => {
            store::organisation_registered(&state.db, ogrn).await?
        }
        _ => false,
    };
    let origin = state.config.origin();
    let decision = checks::decide(
        &request,
        &Facts {
            account: &account,
            challenge: challenge.as_ref(),
            organisation_registered,
            origin: &origin,
            now: t,
        },
    )?;
    accept(
        state,
        &auth.account,
        &request.certificate.sha256,
        &request.document.nonce,
        request.document.purpose,
        decision,
        &body_sha256,
        t,
    )
    .await
}

/// Applies an accepted request (the API's, or the browser page's signature). The database settles
/// a race between two copies of it: the loser gets the winner's answer when the bytes were the
/// same, else the refusal it would have got.
#[allow(clippy::too_many_arguments)] // each is one fact of the acceptance; a struct would only rename them
pub(super) async fn accept(
    state: &AppState,
    account: &str,
    certificate_sha256: &str,
    nonce: &str,
    purpose: Purpose,
    decision: Decision,
    body_sha256: &str,
    t: i64,
) -> Result<ConfirmationResult, ApiError> {
    let request_id = random_token();
    let organisation_id = random_token();
    let organisation = match &decision {
        Decision::ConfirmIdentity => None,
        Decision::RegisterOrganisation(organisation) => {
            Some((organisation_id.as_str(), organisation))
        }
    };
    let acceptance = Acceptance {
        request: &request_id,
        body_sha256,
        nonce,
        account,
        purpose,
        certificate_sha256,
        organisation,
        now: t,
    };
    match store::apply_confirmation(&state.db, &acceptance).await? {
        Applied::Accepted(result) => Ok(result),
        Applied::NonceUsed => store::stored_answer(&state.db, body_sha256, account)
            .await?
            .ok_or_else(checks::nonce_used),
        Applied::OrganisationExists => Err(checks::organisation_exists()),
    }
}
