//! Changing the PIN, and unblocking it with the PUK: the card chosen as for signing, the counter
//! that authorises the change read first (so the person is told the tries left and asked before
//! the last one), then one operation on the card, which checks that counter again in its own
//! transaction.

use signing::token::Reader;
use signing::{LastTry, Pin, PinStatus, TokenError};

use crate::flow::{choose_reader, CardChoice, FlowError};

/// What the person does with the PIN.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PinAction {
    /// A new PIN, authorised by the current one.
    Change,
    /// A new PIN, authorised by the PUK, which also restores the PIN's tries.
    Unblock,
}

/// The card to act on, and the counter of the code that authorises the action (the PIN's for a
/// change, the PUK's for an unblock).
#[derive(Debug, Clone)]
pub struct PinTarget {
    pub reader: String,
    pub action: PinAction,
    pub authorising: PinStatus,
}

/// Chooses the card and reads the counter that matters. A blocked PIN cannot be changed (only
/// unblocked); a blocked PUK cannot unblock.
pub fn target(
    choice: &CardChoice,
    action: PinAction,
    deadline: std::time::Duration,
) -> Result<PinTarget, FlowError> {
    let reader = choose_reader(choice)?;
    let card = Reader::new(&reader).with_deadline(deadline);
    let authorising = match action {
        PinAction::Change => card.pin_status()?,
        PinAction::Unblock => card.puk_status()?,
    };
    if authorising.is_blocked() {
        return Err(FlowError::Card(match action {
            PinAction::Change => TokenError::PinBlocked,
            PinAction::Unblock => TokenError::PukBlocked,
        }));
    }
    Ok(PinTarget {
        reader,
        action,
        authorising,
    })
}

/// Does it: `code` is the current PIN (change) or the PUK (unblock). Sent once, never retried.
pub fn apply(
    target: &PinTarget,
    code: Pin,
    new: Pin,
    last_try_confirmed: bool,
    deadline: std::time::Duration,
) -> Result<(), FlowError> {
    if target.authorising.is_last_try() && !last_try_confirmed {
        return Err(FlowError::LastTryNotConfirmed);
    }
    let card = Reader::new(&target.reader).with_deadline(deadline);
    let last_try = LastTry::from_confirmed(last_try_confirmed);
    let done = match target.action {
        PinAction::Change => card.change_pin(code, new, last_try),
        PinAction::Unblock => card.unblock_pin(code, new, last_try),
    };
    done.map_err(|e| match e {
        TokenError::LastTryNotConfirmed => FlowError::LastTryNotConfirmed,
        other => FlowError::Card(other),
    })
}
