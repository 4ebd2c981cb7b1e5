//! The logged-in account: its level, its person and the organisations it represents.

use axum::extract::State;
use axum::Json;

use super::Authenticated;
use crate::error::ApiError;
use crate::{store, AppState};

pub async fn account(
    State(state): State<AppState>,
    auth: Authenticated,
) -> Result<Json<protocol::Account>, ApiError> {
    let row = store::account(&state.db, &auth.account)
        .await?
        .ok_or_else(|| ApiError::internal("session of a missing account"))?;
    let organisations = store::organisations_of(&state.db, &auth.account).await?;
    Ok(Json(protocol::Account {
        id: row.id,
        level: row.level,
        person: protocol::Person {
            surname: row.surname,
            given_names: row.given_names,
            snils: row.snils,
            inn: row.inn,
        },
        organisations,
    }))
}
