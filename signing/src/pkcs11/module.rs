//! A loaded module: one thread owns its `Pkcs11` context, and every call reaches it over a
//! channel and waits at most a deadline, as the card layer (`token::Reader`) does. A vendor
//! module can hang in any call (it talks to a token, to pcscd, to a daemon of its own); after a
//! call passes its deadline the module is marked unusable, its thread is left to finish or not,
//! and every later call is refused at once instead of queueing behind the stuck one.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};

use super::session;
use super::{PinState, Pkcs11Error, ToSign, Token, TokenContents, TokenId};
use crate::card::CardError;
use crate::drivers::{KeyAlgorithm, TokenError};
use crate::pin::{LastTry, Pin};

type Job = Box<dyn FnOnce(&Pkcs11) + Send>;

/// A PKCS#11 module loaded in this process. Cheap to clone: clones share the module's thread.
///
/// Load a module here only after [`probe::run`](super::probe::run) said it loads: a module that
/// crashes takes the process that loaded it down with it, and only the probe's child process
/// can afford that.
#[derive(Clone)]
pub struct Module {
    inner: Arc<Inner>,
}

struct Inner {
    path: PathBuf,
    /// `None` only while dropping: closing the queue ends the module's thread.
    jobs: Option<mpsc::Sender<Job>>,
    /// Told when the thread has finalised the module and unloaded it.
    finished: Mutex<Option<mpsc::Receiver<()>>>,
    deadline: Duration,
    pin_pad_deadline: Duration,
    /// Set when a call passed its deadline: the thread may be stuck inside the module.
    unusable: AtomicBool,
}

impl std::fmt::Debug for Module {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Module")
            .field("path", &self.inner.path)
            .field("unusable", &self.inner.unusable.load(Ordering::Relaxed))
            .finish()
    }
}

impl Module {
    /// Long enough for a slow token's signature and short enough that a user is not left
    /// staring at a frozen screen: the card tier's deadline.
    pub const DEFAULT_DEADLINE: Duration = Duration::from_secs(15);
    /// A login on a PIN pad waits for the user to type on the reader.
    pub const DEFAULT_PIN_PAD_DEADLINE: Duration = Duration::from_secs(120);

    /// Loads the module on a thread of its own and calls `C_Initialize` (letting the module use
    /// the OS's locking), waiting at most [`Self::DEFAULT_DEADLINE`].
    pub fn open(path: impl Into<PathBuf>) -> Result<Self, TokenError> {
        Self::open_with_deadlines(path, Self::DEFAULT_DEADLINE, Self::DEFAULT_PIN_PAD_DEADLINE)
    }

    /// As [`Self::open`], with the deadline of every call and that of a call that waits for a
    /// PIN typed on the reader.
    pub fn open_with_deadlines(
        path: impl Into<PathBuf>,
        deadline: Duration,
        pin_pad_deadline: Duration,
    ) -> Result<Self, TokenError> {
        let path = path.into();
        if !path.is_file() {
            return Err(Pkcs11Error::ModuleMissing { module: path }.into());
        }
        let (jobs, queue) = mpsc::channel::<Job>();
        let (ready_tx, ready_rx) = mpsc::sync_channel::<Result<(), TokenError>>(1);
        let (finished_tx, finished) = mpsc::sync_channel::<()>(1);
        let thread_path = path.clone();
        std::thread::Builder::new()
            .name("podpis-pkcs11".into())
            .spawn(move || {
                let ctx = match load(&thread_path) {
                    Ok(ctx) => ctx,
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                        return;
                    }
                };
                if ready_tx.send(Ok(())).is_err() {
                    // The opener gave up waiting: nobody will use this context.
                    let _ = ctx.finalize();
                    return;
                }
                while let Ok(job) = queue.recv() {
                    job(&ctx);
                }
                // Every handle is gone: let the module release the token and its threads, and
                // unload it; then say so (the last handle waits for this, see `Inner`'s drop).
                let _ = ctx.finalize();
                let _ = finished_tx.send(());
            })
            .map_err(|e| Pkcs11Error::Call {
                function: "thread".into(),
                rv: e.to_string(),
            })?;
        match ready_rx.recv_timeout(deadline) {
            Ok(Ok(())) => Ok(Self {
                inner: Arc::new(Inner {
                    path,
                    jobs: Some(jobs),
                    finished: Mutex::new(Some(finished)),
                    deadline,
                    pin_pad_deadline,
                    unusable: AtomicBool::new(false),
                }),
            }),
            Ok(Err(e)) => Err(e),
            Err(_) => Err(CardError::NotResponding.into()),
        }
    }

    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// Whether an earlier call passed its deadline (every call now fails with
    /// [`Pkcs11Error::ModuleUnusable`]).
    pub fn is_unusable(&self) -> bool {
        self.inner.unusable.load(Ordering::SeqCst)
    }

    /// The initialised tokens in the module's slots, with their PIN state.
    pub fn tokens(&self) -> Result<Vec<Token>, TokenError> {
        let path = self.inner.path.clone();
        self.call(self.inner.deadline, move |ctx| session::tokens(ctx, &path))
    }

    /// The token's keys that have a certificate with the same `CKA_ID`, read without a login.
    pub fn read(&self, token: &TokenId) -> Result<TokenContents, TokenError> {
        let token = self.own(token)?;
        self.call(self.inner.deadline, move |ctx| session::read(ctx, &token))
    }

    /// The token's PIN state, from its flags.
    pub fn pin_status(&self, token: &TokenId) -> Result<PinState, TokenError> {
        let token = self.own(token)?;
        self.call(self.inner.deadline, move |ctx| {
            session::pin_status(ctx, &token)
        })
    }

    /// Logs in once with `pin` (or, with `None`, on the reader's PIN pad of a token whose
    /// [`PinState::entry`] is [`PinEntry::Reader`](super::PinEntry::Reader)), has the private
    /// key with `CKA_ID` `key_id` sign, logs out.
    ///
    /// Before the login, the token's flags are read: a locked PIN is
    /// [`TokenError::PinBlocked`], the final try without `last_try` consent is
    /// [`TokenError::LastTryNotConfirmed`], a PIN to be changed is [`Pkcs11Error::PinExpired`];
    /// none of them logs in. A wrong PIN is [`TokenError::PinIncorrectUncounted`] with the flags
    /// the token showed after it (or [`TokenError::PinBlocked`] when it blocked the PIN), and is
    /// never tried again. A key with `CKA_ALWAYS_AUTHENTICATE` gets its context-specific login,
    /// with the same PIN, after `C_SignInit`.
    ///
    /// The signature is raw, as [`crate::cades::Prepared::finish`] takes it: r ‖ s for ECDSA,
    /// the PKCS #1 v1.5 block for RSA, s ‖ r for GOST.
    pub fn sign(
        &self,
        token: &TokenId,
        key_id: &[u8],
        algorithm: KeyAlgorithm,
        to_sign: ToSign,
        pin: Option<Pin>,
        last_try: LastTry,
    ) -> Result<Vec<u8>, TokenError> {
        if to_sign.digest.len() != algorithm.hash_len() {
            return Err(TokenError::HashLength {
                algorithm,
                expected: algorithm.hash_len(),
                actual: to_sign.digest.len(),
            });
        }
        let token = self.own(token)?;
        let key_id = key_id.to_vec();
        let deadline = self.deadline_for(pin.as_ref());
        self.call(deadline, move |ctx| {
            session::sign(
                ctx,
                &token,
                &key_id,
                algorithm,
                &to_sign,
                pin.as_ref(),
                last_try,
            )
        })
    }

    /// Logs in once for many signatures with the key `key_id`: the checks and the login of
    /// [`Self::sign`], after which each [`SigningBatch::sign`] is one signature in the same
    /// session, and dropping the batch logs out. A wrong PIN (or any refusal of the login) is
    /// the error here, before any signature. While the batch lives, the module's thread serves
    /// it alone: other calls wait for it to end.
    pub fn begin_batch(
        &self,
        token: &TokenId,
        key_id: &[u8],
        algorithm: KeyAlgorithm,
        pin: Option<Pin>,
        last_try: LastTry,
    ) -> Result<SigningBatch, TokenError> {
        let token = self.own(token)?;
        let key_id = key_id.to_vec();
        let deadline = self.deadline_for(pin.as_ref());
        let (items, queue) = mpsc::channel::<ToSign>();
        let (answer, answers) = mpsc::channel();
        self.submit(Box::new(move |ctx| {
            session::sign_batch(
                ctx,
                &token,
                &key_id,
                algorithm,
                pin.as_ref(),
                last_try,
                &queue,
                &answer,
            );
        }))?;
        let mut batch = SigningBatch {
            module: self.clone(),
            algorithm,
            items: Some(items),
            answers,
            deadline,
            always_authenticate: false,
        };
        match batch.wait()? {
            session::BatchAnswer::LoggedIn {
                always_authenticate,
            } => batch.always_authenticate = always_authenticate,
            session::BatchAnswer::Signature(_) => {
                return Err(Pkcs11Error::Call {
                    function: "C_Login".into(),
                    rv: "a signature before the login".into(),
                }
                .into())
            }
        }
        Ok(batch)
    }

    /// Changes the user PIN with `C_SetPIN`: the token checks `old` (a wrong one spends a try,
    /// reported as for signing), under the same last-try rule.
    pub fn change_pin(
        &self,
        token: &TokenId,
        old: Pin,
        new: Pin,
        last_try: LastTry,
    ) -> Result<(), TokenError> {
        let token = self.own(token)?;
        self.call(self.inner.deadline, move |ctx| {
            session::change_pin(ctx, &token, &old, &new, last_try)
        })
    }

    /// Unblocks (or first sets) the user PIN: an SO login with `so_pin`, then `C_InitPIN` with
    /// `new`. A wrong SO PIN is [`TokenError::PukIncorrectUncounted`]; the SO PIN's final try
    /// needs `last_try` consent as the user PIN's does.
    pub fn unblock(
        &self,
        token: &TokenId,
        so_pin: Pin,
        new: Pin,
        last_try: LastTry,
    ) -> Result<(), TokenError> {
        let token = self.own(token)?;
        self.call(self.inner.deadline, move |ctx| {
            session::unblock(ctx, &token, &so_pin, &new, last_try)
        })
    }

    fn deadline_for(&self, pin: Option<&Pin>) -> Duration {
        if pin.is_some() {
            self.inner.deadline
        } else {
            self.inner.pin_pad_deadline.max(self.inner.deadline)
        }
    }

    fn own(&self, token: &TokenId) -> Result<TokenId, TokenError> {
        if token.module == self.inner.path {
            Ok(token.clone())
        } else {
            Err(Pkcs11Error::WrongModule {
                module: self.inner.path.clone(),
                expected: token.module.clone(),
            }
            .into())
        }
    }

    /// Runs `op` on the module's thread and waits at most `deadline` for it.
    fn call<T: Send + 'static>(
        &self,
        deadline: Duration,
        op: impl FnOnce(&Pkcs11) -> Result<T, TokenError> + Send + 'static,
    ) -> Result<T, TokenError> {
        let (tx, rx) = mpsc::sync_channel(1);
        self.submit(Box::new(move |ctx| {
            // The caller may have stopped waiting: nothing to report to then.
            let _ = tx.send(op(ctx));
        }))?;
        self.wait_for(&rx, deadline)?
    }

    fn unusable_error(&self) -> TokenError {
        Pkcs11Error::ModuleUnusable {
            module: self.inner.path.clone(),
        }
        .into()
    }

    /// Queues `job` for the module's thread.
    fn submit(&self, job: Job) -> Result<(), TokenError> {
        if self.is_unusable() {
            return Err(self.unusable_error());
        }
        // The thread is gone only if the module panicked it (a crash would have taken the
        // whole process): the module is no longer usable either way.
        let jobs = self
            .inner
            .jobs
            .as_ref()
            .ok_or_else(|| self.unusable_error())?;
        jobs.send(job).map_err(|_| self.unusable_error())
    }

    /// One answer from the module's thread, waited for at most `deadline`; past it the module is
    /// marked unusable (its thread may be stuck inside the module).
    fn wait_for<T>(&self, rx: &mpsc::Receiver<T>, deadline: Duration) -> Result<T, TokenError> {
        match rx.recv_timeout(deadline) {
            Ok(answer) => Ok(answer),
            Err(mpsc::RecvTimeoutError::Timeout) => {
                self.inner.unusable.store(true, Ordering::SeqCst);
                Err(CardError::NotResponding.into())
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                self.inner.unusable.store(true, Ordering::SeqCst);
                Err(self.unusable_error())
            }
        }
    }
}

/// Signatures made in one login ([`Module::begin_batch`]). Each [`Self::sign`] waits at most the
/// module's deadline for its own signature; dropping the batch ends it with a logout on the
/// module's thread.
pub struct SigningBatch {
    module: Module,
    algorithm: KeyAlgorithm,
    /// `None` once closed: the module's thread then logs out and takes the next call.
    items: Option<mpsc::Sender<ToSign>>,
    answers: mpsc::Receiver<Result<session::BatchAnswer, TokenError>>,
    deadline: Duration,
    always_authenticate: bool,
}

impl SigningBatch {
    /// Whether the key demands the PIN before every signature (`CKA_ALWAYS_AUTHENTICATE`): the
    /// tier then logs in again, context-specific, with the same PIN before each one (on a PIN
    /// pad, the person enters it on the reader each time).
    pub fn always_authenticate(&self) -> bool {
        self.always_authenticate
    }

    /// One signature, raw as [`Module::sign`] gives it. After an error the batch is over: the
    /// module's thread has logged out, and every later call says the module is unusable.
    pub fn sign(&mut self, to_sign: ToSign) -> Result<Vec<u8>, TokenError> {
        let algorithm = self.algorithm;
        if to_sign.digest.len() != algorithm.hash_len() {
            return Err(TokenError::HashLength {
                algorithm,
                expected: algorithm.hash_len(),
                actual: to_sign.digest.len(),
            });
        }
        let items = self
            .items
            .as_ref()
            .ok_or_else(|| self.module.unusable_error())?;
        if items.send(to_sign).is_err() {
            self.items = None;
            return Err(self.module.unusable_error());
        }
        match self.wait() {
            Ok(session::BatchAnswer::Signature(signature)) => Ok(signature),
            Ok(session::BatchAnswer::LoggedIn { .. }) => Err(Pkcs11Error::Call {
                function: "C_Sign".into(),
                rv: "a second login answer".into(),
            }
            .into()),
            Err(e) => {
                self.items = None;
                Err(e)
            }
        }
    }

    fn wait(&self) -> Result<session::BatchAnswer, TokenError> {
        self.module.wait_for(&self.answers, self.deadline)?
    }
}

impl std::fmt::Debug for SigningBatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningBatch")
            .field("module", &self.module.inner.path)
            .field("always_authenticate", &self.always_authenticate)
            .finish()
    }
}

/// The last handle of a module waits (at most a deadline) for its thread to finalise and unload
/// it. Without the wait, a program that returns from `main` right after its last signature runs
/// its exit handlers (the module's own among them) while that thread is still inside
/// `C_Finalize` and `dlclose`: measured with SoftHSM2, 1 to 2 % of `podpis sign` runs then died
/// of heap corruption after writing a good signature.
impl Drop for Inner {
    fn drop(&mut self) {
        drop(self.jobs.take());
        if self.unusable.load(Ordering::SeqCst) {
            // Its thread may be stuck inside the module: nothing to wait for.
            return;
        }
        if let Some(finished) = self.finished.get_mut().ok().and_then(Option::take) {
            let _ = finished.recv_timeout(self.deadline);
        }
    }
}

/// Loads and initialises the module; used by the module thread and by the probe's child.
pub(crate) fn load(path: &Path) -> Result<Pkcs11, TokenError> {
    let ctx = Pkcs11::new(path).map_err(|e| session::map_error(e, path))?;
    ctx.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK))
        .map_err(|e| match e {
            cryptoki::error::Error::Pkcs11(rv, _) => Pkcs11Error::ModuleInitFailed {
                module: path.to_path_buf(),
                rv: session::rv_name(rv),
            }
            .into(),
            e => session::map_error(e, path),
        })?;
    Ok(ctx)
}
