//! `podpis pin change` and `podpis pin unblock`: the asking and printing; the card work is
//! `client::pin`'s.

use std::process::ExitCode;

use client::flow::FlowError;
use client::messages::{self, Phrase};
use client::pin::{self, PinAction};
use signing::Pin;

use crate::cards::last_try_consent;
use crate::failure::Failure;
use crate::{prompt, CardOptions, Common};

pub fn run(common: &Common, action: PinAction, card: &CardOptions) -> Result<ExitCode, Failure> {
    let l = common.language;
    let tier = common.pkcs11();
    let target = pin::target(&card.choice(), action, common.card_timeout, &tier)?;
    let last_try_confirmed = last_try_consent(common, card, target.authorising.is_last_try())?;
    let first = match (action, target.authorising.tries_left()) {
        (PinAction::Change, Some(tries_left)) => Phrase::CurrentPinPrompt { tries_left },
        (PinAction::Unblock, Some(tries_left)) => Phrase::PukPrompt { tries_left },
        (PinAction::Change, None) => Phrase::CurrentPinPromptUncounted,
        (PinAction::Unblock, None) => Phrase::PukPromptUncounted,
    };
    // With --pin-stdin the three lines come in the order of the prompts.
    let code = ask_pin(card.pin_stdin, &messages::phrase(first, l))?;
    let new = ask_pin(card.pin_stdin, &messages::phrase(Phrase::NewPinPrompt, l))?;
    let again = ask_pin(
        card.pin_stdin,
        &messages::phrase(Phrase::NewPinAgainPrompt, l),
    )?;
    if new.expose() != again.expose() {
        return Err(Failure::local("pin-mismatch"));
    }
    drop(again);
    pin::apply(
        &target,
        code,
        new,
        last_try_confirmed,
        common.card_timeout,
        &tier,
    )?;
    let done = match action {
        PinAction::Change => Phrase::PinChanged,
        PinAction::Unblock => Phrase::PinUnblocked,
    };
    if common.json {
        println!(
            "{}",
            serde_json::json!({ "reader": target.holder.place(), "done": match action {
                PinAction::Change => "changed",
                PinAction::Unblock => "unblocked",
            } })
        );
    } else {
        println!("{}", messages::phrase(done, l));
    }
    Ok(ExitCode::SUCCESS)
}

fn ask_pin(from_stdin: bool, prompt_text: &str) -> Result<Pin, Failure> {
    let text = prompt::secret(from_stdin, prompt_text)?;
    Pin::new(text.to_string())
        .map_err(|e| Failure::from(FlowError::Card(signing::TokenError::PinFormat(e))))
}
