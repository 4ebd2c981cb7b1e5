//! One error shape on the wire: `{code, message}` with the HTTP status that goes with the code.
//! Every refusal goes through here, including the body and JSON extractors' own rejections.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use protocol::codes;

/// The browser page's refusal of a POST without its CSRF token or from another origin. Not one of
/// the API's codes (`protocol::codes`): the API takes bearer tokens, which a browser never sends
/// by itself, so it has no such refusal.
pub const FORBIDDEN: &str = "forbidden";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub code: &'static str,
    pub message: String,
}

impl ApiError {
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }

    pub fn status(&self) -> StatusCode {
        match self.code {
            codes::MALFORMED => StatusCode::BAD_REQUEST,
            codes::UNAUTHORISED => StatusCode::UNAUTHORIZED,
            codes::ACCOUNT_NOT_STANDARD | FORBIDDEN => StatusCode::FORBIDDEN,
            codes::NOT_FOUND | codes::NONCE_UNKNOWN => StatusCode::NOT_FOUND,
            codes::NONCE_USED | codes::ALREADY_CONFIRMED | codes::ORGANISATION_EXISTS => {
                StatusCode::CONFLICT
            }
            codes::NONCE_EXPIRED => StatusCode::GONE,
            codes::TOO_LARGE => StatusCode::PAYLOAD_TOO_LARGE,
            codes::RATE_LIMITED => StatusCode::TOO_MANY_REQUESTS,
            codes::INTERNAL => StatusCode::INTERNAL_SERVER_ERROR,
            codes::REVOCATION_UNAVAILABLE => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::UNPROCESSABLE_ENTITY,
        }
    }

    pub fn internal(what: impl std::fmt::Display) -> Self {
        tracing::error!("internal error: {what}");
        Self::new(
            codes::INTERNAL,
            "The portal failed to process the request; try again later.",
        )
    }

    pub fn to_wire(&self) -> protocol::ApiError {
        protocol::ApiError {
            code: self.code.to_owned(),
            message: self.message.clone(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status(), Json(self.to_wire())).into_response()
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(e: sqlx::Error) -> Self {
        Self::internal(e)
    }
}

impl From<axum::extract::rejection::JsonRejection> for ApiError {
    fn from(rejection: axum::extract::rejection::JsonRejection) -> Self {
        use axum::extract::rejection::JsonRejection as R;
        match rejection {
            R::BytesRejection(b) if b.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                Self::new(codes::TOO_LARGE, "The request body is too large.")
            }
            other => Self::new(
                codes::MALFORMED,
                format!(
                    "The request body is not what this endpoint takes: {}",
                    other.body_text()
                ),
            ),
        }
    }
}

impl From<axum::extract::rejection::BytesRejection> for ApiError {
    fn from(rejection: axum::extract::rejection::BytesRejection) -> Self {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            Self::new(codes::TOO_LARGE, "The request body is too large.")
        } else {
            Self::new(codes::MALFORMED, "The request body could not be read.")
        }
    }
}
