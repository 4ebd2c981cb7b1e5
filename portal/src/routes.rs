//! Every route of the protocol at a glance (docs/protocol.md, portal/openapi.yaml). The handlers
//! live in `handlers/`, one small file per resource.

use axum::extract::DefaultBodyLimit;
use axum::routing::{delete, get, post};
use axum::Router;
use protocol::codes;

use crate::error::ApiError;
use crate::handlers::{account, browser, challenges, confirmations, health, session};
use crate::AppState;

// Kept here for `seed`, which normalises the logins it stores the way logins are looked up.

pub fn router(state: AppState) -> Router {
    let max_body = state.config.limits.max_body;
    Router::new()
        .route("/api/v1/health", get(health))
        .route("/api/v1/sessions", post(session::login))
        .route("/api/v1/sessions/current", delete(session::logout))
        .route("/api/v1/account", get(account::account))
        .route("/api/v1/challenges", post(challenges::challenge))
        .route("/api/v1/confirmations", post(confirmations::confirm))
        // The browser page (docs/protocol.md, "The sandbox browser page"): not part of the API.
        .route("/", get(browser::index))
        .route("/login", get(browser::login_form).post(browser::login))
        .route("/logout", post(browser::logout))
        .route("/confirm", get(browser::confirm_page))
        .route("/confirm/challenge", post(browser::challenge))
        .route("/confirm/signature", post(browser::signature))
        .route("/assets/ifcplugin.js", get(browser::ifcplugin_js))
        .route("/assets/confirm.js", get(browser::confirm_js))
        .route("/assets/portal.css", get(browser::portal_css))
        .fallback(|| async { ApiError::new(codes::NOT_FOUND, "There is no such endpoint.") })
        .method_not_allowed_fallback(|| async {
            ApiError::new(codes::NOT_FOUND, "This endpoint does not take that method.")
        })
        .layer(DefaultBodyLimit::max(max_body))
        .with_state(state)
}

// The browser page's tests start their portal with its `portal()` too.
#[cfg(test)]
pub(crate) mod tests;
