//! Changing the PIN, and unblocking it with the PUK (a PKCS#11 token's SO PIN): the card or token
//! chosen as for signing, the state of the code that authorises the change read first (so the
//! person is told the tries left, where the token counts them, and asked before the last one),
//! then one operation, which checks that state again in its own transaction or session.

use signing::pkcs11::TokenId;
use signing::token::Reader;
use signing::{LastTry, Pin, TokenError};

use crate::flow::{CardChoice, FlowError};
use crate::tokens::{self, PinInfo, Pkcs11Tier};

/// What the person does with the PIN.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PinAction {
    /// A new PIN, authorised by the current one.
    Change,
    /// A new PIN, authorised by the PUK (the SO PIN of a PKCS#11 token), which also restores the
    /// PIN's tries.
    Unblock,
}

/// Where the PIN to change is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PinHolder {
    Card { reader: String },
    Pkcs11 { token: TokenId, label: String },
}

impl PinHolder {
    pub fn place(&self) -> &str {
        match self {
            Self::Card { reader } => reader,
            Self::Pkcs11 { label, .. } => label,
        }
    }
}

/// The card or token to act on, and the state of the code that authorises the action (the PIN's
/// for a change, the PUK's or SO PIN's for an unblock).
#[derive(Debug, Clone)]
pub struct PinTarget {
    pub holder: PinHolder,
    pub action: PinAction,
    pub authorising: PinInfo,
}

/// Chooses the card or token and reads the state that matters. A blocked PIN cannot be changed
/// (only unblocked); a blocked PUK cannot unblock.
pub fn target(
    choice: &CardChoice,
    action: PinAction,
    deadline: std::time::Duration,
    tier: &Pkcs11Tier,
) -> Result<PinTarget, FlowError> {
    let readers = tokens::known_card_readers()?;
    let token = pkcs11_token(choice, &readers, tier)?;
    let (holder, authorising) = match token {
        Some((module, token)) => {
            let state = module.pin_status(&token.id).map_err(FlowError::Card)?;
            let authorising = match action {
                PinAction::Change => PinInfo::from(state),
                PinAction::Unblock => PinInfo::Flags {
                    condition: state.so_condition,
                    on_reader: false,
                },
            };
            let holder = PinHolder::Pkcs11 {
                token: token.id,
                label: token.label,
            };
            (holder, authorising)
        }
        None => {
            let reader = crate::flow::choose_reader(choice)?;
            let kind = signing::token::list_readers()
                .map_err(TokenError::from)?
                .into_iter()
                .find(|r| r.reader == reader)
                .and_then(|r| r.card)
                .map(|c| c.kind);
            if kind.is_some_and(|k| !k.offers_pin_management()) {
                return Err(FlowError::Card(TokenError::PinManagementNotSupported));
            }
            let card = Reader::new(&reader).with_deadline(deadline);
            let counter = match action {
                PinAction::Change => card.pin_status()?,
                PinAction::Unblock => card.puk_status()?,
            };
            (PinHolder::Card { reader }, PinInfo::from(counter))
        }
    };
    if authorising.is_blocked() {
        return Err(FlowError::Card(match action {
            PinAction::Change => TokenError::PinBlocked,
            PinAction::Unblock => TokenError::PukBlocked,
        }));
    }
    Ok(PinTarget {
        holder,
        action,
        authorising,
    })
}

/// The PKCS#11 token the choice names, or the only one when no card is there and none is named.
fn pkcs11_token<'t>(
    choice: &CardChoice,
    readers: &[String],
    tier: &'t Pkcs11Tier,
) -> Result<Option<(&'t signing::pkcs11::Module, signing::pkcs11::Token)>, FlowError> {
    if choice.reader.as_ref().is_some_and(|r| readers.contains(r)) {
        return Ok(None);
    }
    let mut found = Vec::new();
    for module in &tier.modules {
        for token in module.tokens().map_err(FlowError::Card)? {
            if choice.reader.as_ref().is_none_or(|r| *r == token.label) {
                found.push((module, token));
            }
        }
    }
    match (choice.reader.is_some(), readers.is_empty(), found.len()) {
        (_, _, 0) => Ok(None),
        (true, _, _) | (false, true, 1) => Ok(found.into_iter().next()),
        _ => Err(FlowError::SeveralCards),
    }
}

/// Does it: `code` is the current PIN (change) or the PUK / SO PIN (unblock). Sent once, never
/// retried.
pub fn apply(
    target: &PinTarget,
    code: Pin,
    new: Pin,
    last_try_confirmed: bool,
    deadline: std::time::Duration,
    tier: &Pkcs11Tier,
) -> Result<(), FlowError> {
    if target.authorising.is_last_try() && !last_try_confirmed {
        return Err(FlowError::LastTryNotConfirmed);
    }
    let last_try = LastTry::from_confirmed(last_try_confirmed);
    let done = match &target.holder {
        PinHolder::Card { reader } => {
            let card = Reader::new(reader).with_deadline(deadline);
            match target.action {
                PinAction::Change => card.change_pin(code, new, last_try),
                PinAction::Unblock => card.unblock_pin(code, new, last_try),
            }
        }
        PinHolder::Pkcs11 { token, .. } => {
            let module = tier
                .modules
                .iter()
                .find(|m| m.path() == token.module)
                .ok_or(FlowError::NoCard)?;
            match target.action {
                PinAction::Change => module.change_pin(token, code, new, last_try),
                PinAction::Unblock => module.unblock(token, code, new, last_try),
            }
        }
    };
    done.map_err(|e| match e {
        TokenError::LastTryNotConfirmed => FlowError::LastTryNotConfirmed,
        other => FlowError::Card(other),
    })
}
