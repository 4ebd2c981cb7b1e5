//! Card operations as a caller uses them: list readers, read a token, sign.
//!
//! Nothing in the PC/SC chain times out: a card that never answers blocks `SCardTransmit` until it
//! is pulled, and `SCardCancel` does not stop a transmit in flight. So every operation runs on its
//! own thread with its own context, and the caller waits only until its deadline; after that it
//! hears [`CardError::NotResponding`] and the stuck thread ends by itself when the card is pulled.

use std::ffi::CString;
use std::sync::{mpsc, Arc};
use std::time::Duration;

use serde::Serialize;

use crate::card::atr::Atr;
use crate::card::pcsc::PcscTransport;
use crate::card::{CardError, Transport};
use crate::drivers::{
    registry, CardDriver, CardKind, KeyAlgorithm, KnownCertificates, TokenContents, TokenError,
};
use crate::pin::{LastTry, Pin, PinStatus};

/// A reader and what is in it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReaderInfo {
    pub reader: String,
    pub card: Option<CardPresence>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CardPresence {
    /// The ATR in upper-case hex.
    pub atr: String,
    pub kind: CardKind,
}

/// Lists the readers and the cards in them, without talking to any card.
pub fn list_readers() -> Result<Vec<ReaderInfo>, CardError> {
    let ctx = pcsc::Context::establish(pcsc::Scope::User)?;
    let names = match ctx.list_readers_owned() {
        Ok(names) => names,
        Err(pcsc::Error::NoReadersAvailable) => return Ok(Vec::new()),
        Err(e) => return Err(e.into()),
    };
    let mut states: Vec<_> = names
        .into_iter()
        .map(|n| pcsc::ReaderState::new(n, pcsc::State::UNAWARE))
        .collect();
    ctx.get_status_change(Some(Duration::ZERO), &mut states)?;
    Ok(states
        .iter()
        .map(|rs| {
            let present = rs.event_state().contains(pcsc::State::PRESENT)
                && !rs.event_state().contains(pcsc::State::MUTE);
            ReaderInfo {
                reader: rs.name().to_string_lossy().into_owned(),
                card: present.then(|| CardPresence {
                    atr: hex::encode_upper(rs.atr()),
                    kind: registry::kind_of(rs.atr()),
                }),
            }
        })
        .collect())
}

/// Runs card operations on one reader, each with a deadline.
#[derive(Debug, Clone)]
pub struct Reader {
    name: String,
    deadline: Duration,
}

impl Reader {
    /// The default deadline is long enough for the slowest GOST signature on a real token
    /// (a few seconds) and short enough that a user is not left staring at a frozen screen.
    pub const DEFAULT_DEADLINE: Duration = Duration::from_secs(15);

    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            deadline: Self::DEFAULT_DEADLINE,
        }
    }

    pub fn with_deadline(mut self, deadline: Duration) -> Self {
        self.deadline = deadline;
        self
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Reads the token's serial, label, PIN status, keys and certificates.
    pub fn read(&self) -> Result<(CardKind, TokenContents), TokenError> {
        self.read_knowing(Arc::new(()))
    }

    /// Reads the token, taking from `known` the certificates whose digest the card announces
    /// instead of reading their files again.
    pub fn read_knowing(
        &self,
        known: Arc<dyn KnownCertificates>,
    ) -> Result<(CardKind, TokenContents), TokenError> {
        self.run(pcsc::Disposition::LeaveCard, move |driver, t| {
            Ok((driver.kind(), driver.read(t, known.as_ref())?))
        })
    }

    /// Reads the PIN try counter.
    pub fn pin_status(&self) -> Result<PinStatus, TokenError> {
        self.run(pcsc::Disposition::LeaveCard, |driver, t| {
            driver.pin_status(t)
        })
    }

    /// Verifies the PIN and has the card sign `hash` with key `key`. The try counter is read in
    /// the same exclusive transaction as the VERIFY: on the last try the PIN is sent only when
    /// `last_try` is [`LastTry::Confirmed`] ([`TokenError::LastTryNotConfirmed`] otherwise), so a
    /// try used by another program since the caller's own reading cannot take the user to the try
    /// that blocks the card unasked. The card is reset when the operation ends, so no other
    /// program inherits a verified PIN.
    pub fn sign(
        &self,
        key: u8,
        algorithm: KeyAlgorithm,
        hash: Vec<u8>,
        pin: Pin,
        last_try: LastTry,
    ) -> Result<Vec<u8>, TokenError> {
        if hash.len() != algorithm.hash_len() {
            return Err(TokenError::HashLength {
                algorithm,
                expected: algorithm.hash_len(),
                actual: hash.len(),
            });
        }
        self.run(pcsc::Disposition::ResetCard, move |driver, t| {
            driver.sign(t, key, algorithm, &hash, &pin, last_try)
        })
    }

    /// Opens one transaction for a batch of signatures with key `key`: each
    /// [`CardBatch::sign`] is what [`Self::sign`] does for one hash (the try counter read right
    /// before its VERIFY, the PIN sent once for that signature, as the cards of docs/cards.md
    /// forget a VERIFY after each signature), without a connection, a transaction and a reset of
    /// the card per signature; and no other program can come between two of them. The first
    /// failure ends the batch (the transaction is closed, and no later signature is tried).
    /// Dropping the batch ends the transaction and resets the card (unless it vanished), so no
    /// other program inherits a verified PIN. Each step waits at most the deadline.
    pub fn begin_batch(
        &self,
        key: u8,
        algorithm: KeyAlgorithm,
        pin: Pin,
        last_try: LastTry,
    ) -> Result<CardBatch, TokenError> {
        let (items, queue) = mpsc::channel::<Vec<u8>>();
        let (answer, answers) = mpsc::channel::<Result<Option<Vec<u8>>, TokenError>>();
        let name = self.name.clone();
        std::thread::Builder::new()
            .name("podpis-card-batch".into())
            .spawn(move || {
                let ready = answer.clone();
                let result = run_on_card(&name, pcsc::Disposition::ResetCard, move |driver, t| {
                    if ready.send(Ok(None)).is_err() {
                        return Ok(());
                    }
                    // The caller waits for each answer before it sends the next hash.
                    while let Ok(hash) = queue.recv() {
                        let signature = driver.sign(t, key, algorithm, &hash, &pin, last_try)?;
                        if ready.send(Ok(Some(signature))).is_err() {
                            break;
                        }
                    }
                    Ok(())
                });
                // A failure (refined to "removed" when the card is gone) is the answer to the
                // step that met it: the connection, or the signature under way.
                if let Err(e) = result {
                    let _ = answer.send(Err(e));
                }
            })
            .map_err(|e| CardError::Pcsc(format!("cannot start the card thread: {e}")))?;
        let batch = CardBatch {
            items: Some(items),
            answers,
            algorithm,
            deadline: self.deadline,
        };
        match batch.wait()? {
            None => Ok(batch),
            Some(_) => Err(TokenError::Malformed("a signature before any hash".into())),
        }
    }

    /// Changes the PIN (the old one is compared as VERIFY compares it, in the same transaction as
    /// the counter that decides the last-try consent). The card is reset afterwards.
    pub fn change_pin(&self, old: Pin, new: Pin, last_try: LastTry) -> Result<(), TokenError> {
        self.run(pcsc::Disposition::ResetCard, move |driver, t| {
            driver.change_pin(t, &old, &new, last_try)
        })
    }

    /// Unblocks the PIN with the PUK and sets a new one.
    pub fn unblock_pin(&self, puk: Pin, new: Pin, last_try: LastTry) -> Result<(), TokenError> {
        self.run(pcsc::Disposition::ResetCard, move |driver, t| {
            driver.unblock_pin(t, &puk, &new, last_try)
        })
    }

    /// The PUK's try counter, without touching it.
    pub fn puk_status(&self) -> Result<PinStatus, TokenError> {
        self.run(pcsc::Disposition::LeaveCard, |driver, t| {
            driver.puk_status(t)
        })
    }

    /// Runs `op` inside one transaction on its own thread and context, and waits at most the
    /// deadline for it.
    fn run<T: Send + 'static>(
        &self,
        disposition: pcsc::Disposition,
        op: impl FnOnce(&dyn CardDriver, &mut dyn Transport) -> Result<T, TokenError> + Send + 'static,
    ) -> Result<T, TokenError> {
        let (tx, rx) = mpsc::sync_channel(1);
        let name = self.name.clone();
        std::thread::Builder::new()
            .name("podpis-card".into())
            .spawn(move || {
                // The receiver may be gone after the deadline: nothing to report to then.
                let _ = tx.send(run_on_card(&name, disposition, op));
            })
            .map_err(|e| CardError::Pcsc(format!("cannot start the card thread: {e}")))?;
        match rx.recv_timeout(self.deadline) {
            Ok(result) => result,
            Err(_) => Err(CardError::NotResponding.into()),
        }
    }
}

fn run_on_card<T>(
    reader: &str,
    disposition: pcsc::Disposition,
    op: impl FnOnce(&dyn CardDriver, &mut dyn Transport) -> Result<T, TokenError>,
) -> Result<T, TokenError> {
    let ctx = pcsc::Context::establish(pcsc::Scope::User).map_err(CardError::from)?;
    let name = CString::new(reader).map_err(|_| CardError::UnknownReader(reader.to_owned()))?;
    let mut card = ctx
        .connect(&name, pcsc::ShareMode::Shared, pcsc::Protocols::ANY)
        .map_err(|e| match CardError::from(e) {
            CardError::UnknownReader(_) => CardError::UnknownReader(reader.to_owned()),
            other => other,
        })?;
    // SCardStatus, not GetAttrib(ATR_STRING): vpcd and some real drivers do not offer the latter.
    let atr_bytes = card
        .status2_owned()
        .map_err(CardError::from)?
        .atr()
        .to_vec();
    let driver = registry::driver_for(&atr_bytes).ok_or_else(|| TokenError::UnknownCard {
        atr: hex::encode_upper(&atr_bytes),
    })?;
    let atr = Atr::parse(&atr_bytes).ok();
    let transaction = card.transaction().map_err(CardError::from)?;
    let result = {
        let mut transport = PcscTransport::new(&transaction, atr.as_ref());
        op(driver, &mut transport)
    };
    // Reset only a card that is still there. Asking pcscd to reset a card that vanished
    // mid-exchange sends vpcd into a reset that swallows the next card's connection: measured,
    // the next card in that reader then never shows as present.
    let disposition = match &result {
        Err(TokenError::Card(_)) => pcsc::Disposition::LeaveCard,
        _ => disposition,
    };
    // After a removal the end fails too; the operation's own error says more.
    let ended = transaction
        .end(disposition)
        .map_err(|(_, e)| CardError::from(e));
    let result = result.map_err(|e| refine_removal(&ctx, &name, e));
    match (result, ended) {
        (Ok(value), Ok(())) => Ok(value),
        (Ok(value), Err(CardError::Removed | CardError::Reset)) => Ok(value),
        (Ok(_), Err(e)) => Err(e.into()),
        (Err(e), _) => Err(e),
    }
}

/// Signatures in one card transaction ([`Reader::begin_batch`]).
pub struct CardBatch {
    /// `None` once the batch failed: nothing more is sent to the card.
    items: Option<mpsc::Sender<Vec<u8>>>,
    answers: mpsc::Receiver<Result<Option<Vec<u8>>, TokenError>>,
    algorithm: KeyAlgorithm,
    deadline: Duration,
}

impl CardBatch {
    /// Verifies the PIN and has the card sign `hash`, as [`Reader::sign`] does, in the batch's
    /// transaction. After an error the batch is over.
    pub fn sign(&mut self, hash: Vec<u8>) -> Result<Vec<u8>, TokenError> {
        let algorithm = self.algorithm;
        if hash.len() != algorithm.hash_len() {
            return Err(TokenError::HashLength {
                algorithm,
                expected: algorithm.hash_len(),
                actual: hash.len(),
            });
        }
        let ended = || TokenError::Card(CardError::Pcsc("the card batch has ended".into()));
        let items = self.items.as_ref().ok_or_else(ended)?;
        if items.send(hash).is_err() {
            self.items = None;
            return Err(ended());
        }
        match self.wait() {
            Ok(Some(signature)) => Ok(signature),
            Ok(None) => Err(TokenError::Malformed("no signature".into())),
            Err(e) => {
                self.items = None;
                Err(e)
            }
        }
    }

    fn wait(&self) -> Result<Option<Vec<u8>>, TokenError> {
        match self.answers.recv_timeout(self.deadline) {
            Ok(answer) => answer,
            Err(mpsc::RecvTimeoutError::Timeout) => Err(CardError::NotResponding.into()),
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                Err(CardError::Pcsc("the card thread ended".into()).into())
            }
        }
    }
}

impl std::fmt::Debug for CardBatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CardBatch")
            .field("algorithm", &self.algorithm)
            .field("open", &self.items.is_some())
            .finish()
    }
}

/// How long a failed exchange waits for the reader to report the card gone. pcscd notices a
/// vanished card on its next poll (vpcd: within about half a second).
const REMOVAL_GRACE: Duration = Duration::from_millis(1500);

/// A card that leaves mid-exchange shows through pcscd and vpcd as a generic transaction failure,
/// or even as a *successful* transmit with no bytes (measured). Ask the reader: if the card is
/// gone, or goes within a moment, say "removed".
fn refine_removal(ctx: &pcsc::Context, reader: &CString, error: TokenError) -> TokenError {
    let TokenError::Card(
        CardError::Pcsc(_)
        | CardError::TransmitFailed
        | CardError::Reset
        | CardError::MalformedResponse(_),
    ) = &error
    else {
        return error;
    };
    let mut state = [pcsc::ReaderState::new(reader.clone(), pcsc::State::UNAWARE)];
    if ctx
        .get_status_change(Some(Duration::ZERO), &mut state)
        .is_err()
    {
        return error;
    }
    let deadline = std::time::Instant::now() + REMOVAL_GRACE;
    loop {
        if !state[0].event_state().contains(pcsc::State::PRESENT) {
            return TokenError::Card(CardError::Removed);
        }
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        if left.is_zero() {
            return error;
        }
        state[0].sync_current_state();
        match ctx.get_status_change(Some(left), &mut state) {
            Ok(()) => {}
            Err(_) => return error,
        }
    }
}
