use client::flow::{CardChoice, Confirmation, FlowEvent};
use client::tokens::Pkcs11Tier;
use serde::Serialize;
use signing::Pin;
use tauri::{AppHandle, Emitter, State};

use crate::commands::cards::{findings, FindingView};
use crate::commands::portal::{client_for, token_for};
use crate::error::UiError;
use crate::state::AppState;

#[derive(Serialize)]
pub struct PreparedView {
    /// The exact document to be signed, pretty-printed for reading.
    document: String,
    /// Null for a PKCS#11 token, which says no count.
    tries_left: Option<u8>,
    max_tries: Option<u8>,
    last_try: bool,
    /// The PIN is entered on the reader's keypad: the UI shows no PIN field, says to enter it
    /// there, and signs without one.
    pin_on_reader: bool,
    /// Where the key is (the reader, or the PKCS#11 token's label) and its tier.
    place: String,
    tier: &'static str,
    findings: Vec<FindingView>,
}

#[derive(Serialize)]
pub struct OutboxView {
    id: String,
    purpose: protocol::Purpose,
    created_at: String,
    expires_at: String,
    document: String,
}

fn progress(app: AppHandle) -> impl Fn(FlowEvent) + Send + Sync {
    move |event| {
        if let FlowEvent::Step(step) = event {
            let _ = app.emit("confirm://progress", step);
        }
    }
}

/// The flow for the logged-in account, with `tier`'s PKCS#11 tokens beside the cards.
async fn confirmation(state: &AppState, tier: Pkcs11Tier) -> Result<Confirmation, UiError> {
    let portal = client_for(state).await?;
    let token = token_for(state, &portal).await?;
    Confirmation::new(portal, token, state.data_dir.clone())
        .await
        .map(|flow| flow.with_pkcs11(tier))
        .map_err(|e| UiError::flow(&e, state.language()))
}

/// Everything up to the PIN: card or token, findings, challenge, the document. `reader` is where
/// the key is (a reader, or a PKCS#11 token's label); the PKCS#11 tier is waited for when a load
/// is under way.
#[tauri::command]
pub async fn confirm_prepare(
    app: AppHandle,
    state: State<'_, AppState>,
    purpose: protocol::Purpose,
    reader: String,
    certificate: String,
    force: bool,
) -> Result<PreparedView, UiError> {
    let language = state.language();
    let flow = confirmation(&state, state.pkcs11.tier().await).await?;
    let choice = CardChoice {
        reader: Some(reader),
        certificate: Some(certificate),
    };
    let prepared = flow
        .prepare(&choice, purpose, force, &progress(app))
        .await
        .map_err(|e| UiError::flow(&e, language))?;
    let document = serde_json::from_slice::<serde_json::Value>(&prepared.document_bytes)
        .and_then(|v| serde_json::to_string_pretty(&v))
        .unwrap_or_default();
    let view = PreparedView {
        document,
        tries_left: prepared.chosen.pin().tries_left(),
        max_tries: prepared.chosen.pin().max_tries(),
        last_try: prepared.chosen.pin().is_last_try(),
        pin_on_reader: !prepared.chosen.pin().needs_typed_pin(),
        place: prepared.chosen.place(),
        tier: prepared.chosen.key.source.tier(),
        findings: findings(&prepared.chosen.certificate, language),
    };
    *state.pending.lock().await = Some((flow, prepared));
    Ok(view)
}

/// The PIN goes straight into a zeroed `Pin`; the UI keeps no copy after this call. For a token
/// whose PIN is entered on the reader's keypad, none is sent (`pin` is null, and anything the
/// page sends is not used): the token asks for it on the reader.
#[tauri::command]
pub async fn confirm_sign(
    app: AppHandle,
    state: State<'_, AppState>,
    pin: Option<String>,
    last_try_confirmed: bool,
) -> Result<protocol::ConfirmationResult, UiError> {
    let language = state.language();
    let mut pending = state.pending.lock().await;
    let typed = pending
        .as_ref()
        .ok_or_else(|| UiError::new("nonce-unknown", language))?
        .1
        .chosen
        .pin()
        .needs_typed_pin();
    // A PIN that no card takes keeps the confirmation waiting for a better one.
    let pin = match (typed, pin) {
        (true, Some(pin)) => Some(
            Pin::new(pin)
                .map_err(|e| UiError::card(&signing::TokenError::PinFormat(e), language))?,
        ),
        (true, None) => return Err(UiError::new("pin-required", language)),
        // A PIN the page sent for a PIN pad is not used, and is wiped as it goes.
        (false, other) => {
            drop(other.map(zeroize::Zeroizing::new));
            None
        }
    };
    let (flow, prepared) = pending
        .take()
        .ok_or_else(|| UiError::new("nonce-unknown", language))?;
    drop(pending);
    flow.sign_and_send(prepared, pin, last_try_confirmed, &progress(app))
        .await
        .map_err(|e| UiError::flow(&e, language))
}

#[tauri::command]
pub async fn confirm_cancel(state: State<'_, AppState>) -> Result<(), UiError> {
    *state.pending.lock().await = None;
    Ok(())
}

fn outbox_views(state: &AppState) -> Result<Vec<OutboxView>, UiError> {
    let outbox = client::outbox::Outbox::open(&state.data_dir)
        .map_err(|_| UiError::new("outbox", state.language()))?;
    Ok(outbox
        .pending()
        .map_err(|_| UiError::new("outbox", state.language()))?
        .into_iter()
        .map(|i| OutboxView {
            id: i.id,
            purpose: i.meta.purpose,
            created_at: i.meta.created_at,
            expires_at: i.meta.expires_at,
            document: i.document,
        })
        .collect())
}

#[tauri::command]
pub async fn outbox_list(state: State<'_, AppState>) -> Result<Vec<OutboxView>, UiError> {
    outbox_views(&state)
}

#[tauri::command]
pub async fn outbox_send(
    app: AppHandle,
    state: State<'_, AppState>,
) -> Result<Vec<OutboxView>, UiError> {
    // Sending what is already signed needs no card or token.
    let flow = confirmation(&state, Pkcs11Tier::default()).await?;
    let on_event = progress(app);
    let mut first_error = None;
    for item in flow
        .pending()
        .map_err(|e| UiError::flow(&e, state.language()))?
    {
        if let Err(e) = flow.deliver(&item, &on_event).await {
            first_error.get_or_insert(UiError::flow(&e, state.language()));
        }
    }
    match first_error {
        Some(e) => Err(e),
        None => outbox_views(&state),
    }
}
