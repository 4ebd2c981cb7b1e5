//! Errors of the card transport: every PC/SC return code the user can meet, typed.

use thiserror::Error;

#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CardError {
    #[error("the smart card service (pcscd) is not running")]
    NoService,
    #[error("no smart card readers are connected")]
    NoReaders,
    #[error("reader {0:?} is not connected")]
    UnknownReader(String),
    #[error("there is no card in the reader")]
    NoCard,
    #[error("the card was removed")]
    Removed,
    #[error("the card was reset by another program; try again")]
    Reset,
    #[error("another program is using the card")]
    SharingViolation,
    #[error("the reader did not answer in time")]
    Timeout,
    #[error("the card is not answering; remove it and insert it again")]
    NotResponding,
    #[error("the reader is unavailable")]
    ReaderUnavailable,
    #[error("the card does not respond to a reset (mute card)")]
    Unresponsive,
    #[error("the command needs extended length, which the card does not offer")]
    ExtendedLengthUnsupported,
    #[error("the exchange with the card failed")]
    TransmitFailed,
    #[error("the card gave a malformed answer: {0}")]
    MalformedResponse(String),
    #[error("the card's answer is longer than {limit} bytes")]
    ResponseTooLong { limit: usize },
    #[error("the card kept asking for more exchanges (over {limit} rounds)")]
    TooManyRounds { limit: usize },
    #[error("smart card error: {0}")]
    Pcsc(String),
}

#[cfg(feature = "pcsc")]
impl From<pcsc::Error> for CardError {
    fn from(err: pcsc::Error) -> Self {
        use pcsc::Error as E;
        match err {
            E::NoService | E::ServiceStopped => Self::NoService,
            E::NoReadersAvailable => Self::NoReaders,
            E::UnknownReader => Self::UnknownReader(String::new()),
            E::NoSmartcard => Self::NoCard,
            E::RemovedCard => Self::Removed,
            E::ResetCard => Self::Reset,
            E::SharingViolation => Self::SharingViolation,
            E::Timeout => Self::Timeout,
            E::ReaderUnavailable => Self::ReaderUnavailable,
            E::UnresponsiveCard | E::UnpoweredCard => Self::Unresponsive,
            // What pcscd answers when the card vanished under a transmit; the caller asks the
            // reader whether the card is still there (token::refine_removal).
            E::NotTransacted | E::CommError => Self::TransmitFailed,
            other => Self::Pcsc(other.to_string()),
        }
    }
}
