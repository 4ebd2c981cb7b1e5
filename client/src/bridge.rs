//! The local channel between `podpis-host` (the browser's native-messaging host) and the running
//! desktop app, through which the host asks the person (docs/host.md, "Consent"): may an origin
//! see the certificates, and may this be signed with this key.
//!
//! - Transport: a Unix stream socket `consent.sock` that the app listens on, in a directory only
//!   its user may enter (0700, owned by the user: checked, and tightened when it is ours):
//!   `$PODPIS_DATA_DIR/run` when that is set (tests isolate themselves with it), else
//!   `$XDG_RUNTIME_DIR/podpis`, else `<OS data dir>/podpis/run` ([`socket_dir`]).
//! - Both ends check that the other runs as the same user (`SO_PEERCRED`); any other peer is
//!   dropped before a byte of it is read.
//! - One question per connection: the host writes one line of JSON ([`Question`]), the app
//!   answers with one line ([`Answer`]) and both close. Lines are bounded ([`MAX_QUESTION`],
//!   [`MAX_ANSWER`]); a longer line, or one that is not the JSON of its type, is refused.
//! - The host waits [`ANSWER_TIMEOUT`] (the person may take minutes) and then counts the question
//!   refused; the app withdraws a question whose host went away.
//! - The app holds `consent.lock` (with its pid) while it listens, so that a second instance never
//!   takes the socket from the first.
//!
//! A PIN typed in the app crosses in the answer: it is kept in [`Secret`] (wiped on drop, never
//! printed by `Debug`), and the lines that carry it are wiped after use.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

/// How long the host waits for the person's answer before it counts as a refusal.
pub const ANSWER_TIMEOUT: Duration = Duration::from_secs(5 * 60);
/// How long the app waits for the question's line once the host has connected.
pub const QUESTION_WAIT: Duration = Duration::from_secs(10);
/// How long the host waits for the app it started to listen.
pub const START_WAIT: Duration = Duration::from_secs(30);
/// The longest question line: a certificate, and the text to be signed up to [`MAX_SHOWN_TEXT`]
/// (JSON escapes can double it).
pub const MAX_QUESTION: usize = 256 * 1024;
/// The longest answer line (it carries at most a PIN).
pub const MAX_ANSWER: usize = 4 * 1024;
/// The longest text shown as text; longer data is shown by its size and digest.
pub const MAX_SHOWN_TEXT: usize = 64 * 1024;

pub const SOCKET_NAME: &str = "consent.sock";
pub const LOCK_NAME: &str = "consent.lock";

/// Where the socket is: `$PODPIS_DATA_DIR/run`, else `$XDG_RUNTIME_DIR/podpis`, else the OS data
/// directory's `podpis/run`.
pub fn socket_dir() -> PathBuf {
    socket_dir_from(
        std::env::var_os("PODPIS_DATA_DIR"),
        std::env::var_os("XDG_RUNTIME_DIR"),
    )
}

/// [`socket_dir`] from the two variables' values.
pub fn socket_dir_from(
    data_dir: Option<std::ffi::OsString>,
    runtime_dir: Option<std::ffi::OsString>,
) -> PathBuf {
    if let Some(dir) = data_dir.filter(|d| !d.is_empty()) {
        return PathBuf::from(dir).join("run");
    }
    // The runtime directory is the user's own (0700, gone at logout), made for sockets.
    if let Some(dir) = runtime_dir.map(PathBuf::from).filter(|d| d.is_absolute()) {
        return dir.join("podpis");
    }
    crate::default_data_dir().join("run")
}

/// A question to the person.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Question {
    /// May `origin` see the person's certificates (list them, load one, hash with a key's
    /// algorithm)? Allowed once, the app remembers it in [`AllowedOrigins`].
    List { origin: String },
    /// May this be signed with this key?
    Sign(SignQuestion),
}

impl Question {
    pub fn origin(&self) -> &str {
        match self {
            Self::List { origin } => origin,
            Self::Sign(q) => &q.origin,
        }
    }
}

/// What the person sees before a signature.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignQuestion {
    /// The origin the browser named (never what the page says).
    pub origin: String,
    /// The certificate of the key, DER in base64: the app reads it with its own checks.
    pub certificate: String,
    /// Where the key is: the reader, or the PKCS#11 token's label.
    pub place: String,
    /// `apdu` or `pkcs11`.
    pub tier: String,
    /// The page's `signType` (1 to 6, docs/host.md).
    pub sign_type: u8,
    pub shown: Shown,
    /// The page gave a PIN: the app asks for none, and the click is still needed.
    pub page_pin: bool,
    pub pin: PinState,
}

impl SignQuestion {
    pub fn certificate_der(&self) -> Option<Vec<u8>> {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD
            .decode(&self.certificate)
            .ok()
    }
}

/// What will be signed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Shown {
    /// Text a person can read (at most [`MAX_SHOWN_TEXT`] bytes).
    Text { text: String },
    /// Other data: its size and its digest with the key's hash, in hex.
    Bytes { length: u64, digest: String },
    /// The page gave only a digest (hex).
    Digest { digest: String },
}

/// The key's PIN as the token told it when the host listed it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PinState {
    /// Entered on the reader's keypad: nobody types it into Podpis.
    pub on_reader: bool,
    /// Null where the token gives no count (PKCS#11).
    pub tries_left: Option<u8>,
    pub max_tries: Option<u8>,
    /// The next wrong PIN blocks it.
    pub last_try: bool,
}

/// The person's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "answer", rename_all = "kebab-case")]
pub enum Answer {
    /// The origin may list.
    Allow,
    /// Sign: with `pin` when the page gave none and the PIN is typed; `last_try_confirmed` when
    /// the person was warned that a wrong PIN blocks the key, and went on.
    Sign {
        #[serde(default)]
        pin: Option<Secret>,
        #[serde(default)]
        last_try_confirmed: bool,
    },
    Refuse,
    /// Another question is waiting for the person: this one is refused at once.
    Busy,
}

/// A PIN on its way: wiped when dropped, never shown by `Debug`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Zeroizing<String>);

impl Secret {
    pub fn new(text: String) -> Self {
        Self(Zeroizing::new(text))
    }

    /// The text, taken out (the caller wipes it: `signing::Pin::new` does).
    pub fn take(mut self) -> String {
        std::mem::take(&mut *self.0)
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(..)")
    }
}

impl Serialize for Secret {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(Self::new)
    }
}

/// The origins the person allowed to see the certificates: `<data dir>/browser-origins.json`,
/// `{"origins": ["https://www.gosuslugi.ru"]}`. Written by the app when the person allows an
/// origin, read by the host on every call.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct AllowedOrigins {
    pub origins: BTreeSet<String>,
}

impl AllowedOrigins {
    pub fn file(data_dir: &Path) -> PathBuf {
        data_dir.join("browser-origins.json")
    }

    /// The remembered origins; a missing or unreadable file allows none.
    pub fn read(data_dir: &Path) -> Self {
        std::fs::read(Self::file(data_dir))
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .unwrap_or_default()
    }

    pub fn allows(&self, origin: &str) -> bool {
        self.origins.contains(origin)
    }

    /// Adds `origin` to the file (atomically: a crash leaves the old list or the new one).
    pub fn remember(data_dir: &Path, origin: &str) -> std::io::Result<()> {
        let mut allowed = Self::read(data_dir);
        allowed.origins.insert(origin.to_owned());
        std::fs::create_dir_all(data_dir)?;
        let bytes = serde_json::to_vec_pretty(&allowed).map_err(std::io::Error::other)?;
        crate::durable::write_atomically(&Self::file(data_dir), &bytes)
    }
}

/// Why the channel did not carry a question and its answer.
#[derive(Debug, thiserror::Error)]
pub enum ChannelError {
    /// Nothing listens on the socket (no app running).
    #[error("no Podpis app is listening at {0}")]
    NoApp(PathBuf),
    #[error("the socket directory {path} is not safe: {why}")]
    UnsafeDir { path: PathBuf, why: &'static str },
    #[error("the peer runs as uid {peer}, not as this user ({own})")]
    WrongPeer { peer: u32, own: u32 },
    #[error("the peer's user cannot be checked on this system")]
    Unsupported,
    #[error("a line longer than {max} bytes")]
    TooLong { max: usize },
    #[error("a line that is not the expected JSON")]
    BadLine,
    #[error("no answer within {0:?}")]
    TimedOut(Duration),
    #[error("the other end closed the connection")]
    Closed,
    #[error("the socket path {0} is too long for a Unix socket")]
    PathTooLong(PathBuf),
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

#[cfg(unix)]
pub use unix::*;

#[cfg(unix)]
mod unix {
    use std::fs::{self, File};
    use std::io::{ErrorKind, Read, Write};
    use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
    use std::os::unix::net::{UnixListener, UnixStream};
    use std::path::{Path, PathBuf};
    use std::time::{Duration, Instant};

    use serde::de::DeserializeOwned;
    use serde::Serialize;
    use zeroize::Zeroizing;

    use super::*;

    /// This process's effective user.
    pub fn own_uid() -> u32 {
        rustix::process::geteuid().as_raw()
    }

    /// The user of the process at the other end of `stream`.
    #[cfg(any(target_os = "linux", target_os = "android"))]
    pub fn peer_uid(stream: &UnixStream) -> Result<u32, ChannelError> {
        Ok(rustix::net::sockopt::socket_peercred(stream)
            .map_err(std::io::Error::from)?
            .uid
            .as_raw())
    }

    /// No `SO_PEERCRED` here: no peer can be checked, so none is accepted.
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    pub fn peer_uid(_stream: &UnixStream) -> Result<u32, ChannelError> {
        Err(ChannelError::Unsupported)
    }

    /// The peer must run as `expected` (this process's user: [`own_uid`]).
    pub fn check_peer(stream: &UnixStream, expected: u32) -> Result<(), ChannelError> {
        let peer = peer_uid(stream)?;
        if peer == expected {
            Ok(())
        } else {
            Err(ChannelError::WrongPeer {
                peer,
                own: expected,
            })
        }
    }

    /// Creates `dir` (0700) or checks the one there: a directory, not a link, owned by this
    /// user; group and other permissions on it are taken away.
    pub fn prepare_dir(dir: &Path) -> Result<(), ChannelError> {
        if let Some(parent) = dir.parent() {
            fs::create_dir_all(parent)?;
        }
        match fs::DirBuilder::new().mode(0o700).create(dir) {
            Ok(()) => {}
            Err(e) if e.kind() == ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e.into()),
        }
        check_dir(dir)?;
        let meta = fs::symlink_metadata(dir)?;
        if meta.mode() & 0o077 != 0 {
            fs::set_permissions(dir, fs::Permissions::from_mode(0o700))?;
        }
        Ok(())
    }

    /// `dir` is a directory of this user's (not a link someone else placed).
    fn check_dir(dir: &Path) -> Result<(), ChannelError> {
        let unsafe_dir = |why| ChannelError::UnsafeDir {
            path: dir.to_path_buf(),
            why,
        };
        let meta = fs::symlink_metadata(dir)?;
        if !meta.is_dir() {
            return Err(unsafe_dir("not a directory"));
        }
        if meta.uid() != own_uid() {
            return Err(unsafe_dir("owned by another user"));
        }
        Ok(())
    }

    /// Reads one line (without its `\n`) of at most `max` bytes before `deadline`. Bytes after
    /// the line are not read: one message goes each way. The buffer is wiped when dropped.
    pub fn read_line(
        stream: &mut UnixStream,
        max: usize,
        timeout: Duration,
    ) -> Result<Zeroizing<Vec<u8>>, ChannelError> {
        let deadline = Instant::now() + timeout;
        let mut chunk = Zeroizing::new([0u8; 4096]);
        // Never grown (a PIN must not be left behind in a freed buffer): room for the longest
        // line and one chunk past it.
        let mut line = Zeroizing::new(Vec::with_capacity(max + chunk.len()));
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(ChannelError::TimedOut(timeout));
            }
            stream.set_read_timeout(Some(left))?;
            match stream.read(&mut chunk[..]) {
                Ok(0) => return Err(ChannelError::Closed),
                Ok(n) => {
                    let end = chunk[..n].iter().position(|&b| b == b'\n');
                    line.extend_from_slice(&chunk[..end.unwrap_or(n)]);
                    if line.len() > max {
                        return Err(ChannelError::TooLong { max });
                    }
                    if end.is_some() {
                        return Ok(line);
                    }
                }
                Err(e)
                    if matches!(
                        e.kind(),
                        ErrorKind::WouldBlock | ErrorKind::TimedOut | ErrorKind::Interrupted
                    ) => {}
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// Reads one line and parses it as a `T`.
    pub fn read_message<T: DeserializeOwned>(
        stream: &mut UnixStream,
        max: usize,
        timeout: Duration,
    ) -> Result<T, ChannelError> {
        let line = read_line(stream, max, timeout)?;
        serde_json::from_slice(&line).map_err(|_| ChannelError::BadLine)
    }

    /// Writes `message` as one line; the bytes (which may hold a PIN) are wiped after.
    pub fn write_message<T: Serialize>(
        stream: &mut UnixStream,
        message: &T,
    ) -> Result<(), ChannelError> {
        let mut bytes = Zeroizing::new(serde_json::to_vec(message).map_err(std::io::Error::other)?);
        bytes.push(b'\n');
        stream.set_write_timeout(Some(QUESTION_WAIT))?;
        stream.write_all(&bytes)?;
        stream.flush()?;
        Ok(())
    }

    /// Connects to the app's socket in `dir`, and checks it is this user's app.
    pub fn connect(dir: &Path) -> Result<UnixStream, ChannelError> {
        let path = dir.join(SOCKET_NAME);
        match fs::symlink_metadata(dir) {
            Ok(_) => check_dir(dir)?,
            Err(_) => return Err(ChannelError::NoApp(path)),
        }
        let stream = match UnixStream::connect(&path) {
            Ok(s) => s,
            Err(e) if matches!(e.kind(), ErrorKind::NotFound | ErrorKind::ConnectionRefused) => {
                return Err(ChannelError::NoApp(path))
            }
            Err(e) => return Err(e.into()),
        };
        check_peer(&stream, own_uid())?;
        Ok(stream)
    }

    /// Asks the app listening in `dir` one question and waits up to `timeout` for the answer.
    pub fn ask(dir: &Path, question: &Question, timeout: Duration) -> Result<Answer, ChannelError> {
        let mut stream = connect(dir)?;
        write_message(&mut stream, question)?;
        read_message(&mut stream, MAX_ANSWER, timeout)
    }

    /// The app's end: the socket it listens on, and the lock that says so.
    #[derive(Debug)]
    pub struct Listening {
        listener: UnixListener,
        path: PathBuf,
        _lock: File,
    }

    impl Listening {
        /// Listens in `dir` unless another app does (then `None`): the lock decides, so two apps
        /// starting at once never take the socket from each other, and a socket left by an app
        /// that died is replaced.
        pub fn bind(dir: &Path) -> Result<Option<Self>, ChannelError> {
            prepare_dir(dir)?;
            let mut lock = fs::OpenOptions::new()
                .create(true)
                .truncate(false)
                .write(true)
                .open(dir.join(LOCK_NAME))?;
            match lock.try_lock() {
                Ok(()) => {}
                Err(fs::TryLockError::WouldBlock) => return Ok(None),
                Err(fs::TryLockError::Error(e)) => return Err(e.into()),
            }
            // Who listens, for a person (or a test) who wants to end exactly that process.
            lock.set_len(0)?;
            writeln!(lock, "{}", std::process::id())?;
            let path = dir.join(SOCKET_NAME);
            // Held under the lock: whatever is at the path is a dead app's.
            match fs::remove_file(&path) {
                Ok(()) => {}
                Err(e) if e.kind() == ErrorKind::NotFound => {}
                Err(e) => return Err(e.into()),
            }
            let listener = UnixListener::bind(&path).map_err(|e| {
                if e.kind() == ErrorKind::InvalidInput {
                    ChannelError::PathTooLong(path.clone())
                } else {
                    e.into()
                }
            })?;
            fs::set_permissions(&path, fs::Permissions::from_mode(0o600))?;
            Ok(Some(Self {
                listener,
                path,
                _lock: lock,
            }))
        }

        pub fn path(&self) -> &Path {
            &self.path
        }

        /// The next host that connects (blocks).
        pub fn accept(&self) -> Result<Asker, ChannelError> {
            let (stream, _) = self.listener.accept()?;
            Ok(Asker { stream })
        }
    }

    /// One host's connection, as the app sees it.
    #[derive(Debug)]
    pub struct Asker {
        stream: UnixStream,
    }

    impl Asker {
        /// The question, once the peer is known to be this user's process: a peer of another
        /// user is dropped before anything of it is read.
        pub fn question(&mut self) -> Result<Question, ChannelError> {
            check_peer(&self.stream, own_uid())?;
            read_message(&mut self.stream, MAX_QUESTION, QUESTION_WAIT)
        }

        pub fn answer(mut self, answer: &Answer) -> Result<(), ChannelError> {
            write_message(&mut self.stream, answer)
        }

        /// The host closed its end (it gave up waiting, or the browser ended it): the question
        /// is withdrawn.
        pub fn gone(&self) -> bool {
            use rustix::net::RecvFlags;
            let mut byte = [0u8; 1];
            match rustix::net::recv(
                &self.stream,
                &mut byte[..],
                RecvFlags::PEEK | RecvFlags::DONTWAIT,
            ) {
                Ok((_, 0)) => true,
                Ok(_) => false,
                Err(e) => e != rustix::io::Errno::AGAIN && e != rustix::io::Errno::INTR,
            }
        }
    }
}

#[cfg(all(test, unix))]
mod tests {
    use std::io::{Read, Write};
    use std::os::unix::net::UnixStream;
    use std::time::Instant;

    use super::*;

    fn sign_question() -> Question {
        Question::Sign(SignQuestion {
            origin: "https://www.gosuslugi.ru".into(),
            certificate: "MIIB".into(),
            place: "Virtual PCD 00 00".into(),
            tier: "apdu".into(),
            sign_type: 5,
            shown: Shown::Text {
                text: "challenge".into(),
            },
            page_pin: false,
            pin: PinState {
                on_reader: false,
                tries_left: Some(3),
                max_tries: Some(3),
                last_try: false,
            },
        })
    }

    /// A listening app in a fresh directory, answering each connection with `answer` (or
    /// nothing) on a thread; the thread's result is what its `question()` gave.
    fn app(
        answer: Option<Answer>,
    ) -> (
        tempfile::TempDir,
        std::thread::JoinHandle<Result<Question, ChannelError>>,
    ) {
        let dir = tempfile::tempdir().expect("tmp");
        let listening = Listening::bind(&dir.path().join("run"))
            .expect("bind")
            .expect("first");
        let thread = std::thread::spawn(move || {
            let mut asker = listening.accept()?;
            let question = asker.question();
            if let (Ok(_), Some(answer)) = (&question, answer) {
                asker.answer(&answer)?;
            } else {
                // Hold the connection a little, as an app with the question on screen does.
                std::thread::sleep(Duration::from_millis(300));
            }
            question
        });
        (dir, thread)
    }

    #[test]
    fn a_question_and_its_answer_cross_whole() {
        let (dir, app) = app(Some(Answer::Sign {
            pin: Some(Secret::new("12345678".into())),
            last_try_confirmed: true,
        }));
        let answer = ask(&dir.path().join("run"), &sign_question(), QUESTION_WAIT).expect("ask");
        assert_eq!(
            answer,
            Answer::Sign {
                pin: Some(Secret::new("12345678".into())),
                last_try_confirmed: true
            }
        );
        assert_eq!(
            app.join().expect("thread").expect("question"),
            sign_question()
        );
        // The PIN never shows in a debug print.
        assert!(!format!("{answer:?}").contains("12345678"));
    }

    #[test]
    fn the_directory_is_the_users_alone() {
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        let dir = tempfile::tempdir().expect("tmp");
        let run = dir.path().join("run");
        std::fs::create_dir(&run).expect("dir");
        std::fs::set_permissions(&run, std::fs::Permissions::from_mode(0o777)).expect("chmod");
        let listening = Listening::bind(&run).expect("bind").expect("first");
        assert_eq!(std::fs::metadata(&run).expect("meta").mode() & 0o777, 0o700);
        assert_eq!(
            std::fs::metadata(listening.path()).expect("meta").mode() & 0o777,
            0o600
        );
        // A second app does not take the socket from the first, and names the first's pid.
        assert!(Listening::bind(&run).expect("bind").is_none());
        let pid = std::fs::read_to_string(run.join(LOCK_NAME)).expect("lock");
        assert_eq!(pid.trim(), std::process::id().to_string());
        // A file where the directory should be is refused, not used.
        let file = dir.path().join("file");
        std::fs::write(&file, b"").expect("file");
        assert!(matches!(
            Listening::bind(&file),
            Err(ChannelError::UnsafeDir { .. })
        ));
    }

    #[test]
    fn a_dead_apps_socket_is_replaced_and_nothing_listening_is_no_app() {
        let dir = tempfile::tempdir().expect("tmp");
        let run = dir.path().join("run");
        assert!(matches!(
            ask(&run, &sign_question(), QUESTION_WAIT),
            Err(ChannelError::NoApp(_))
        ));
        let first = Listening::bind(&run).expect("bind").expect("first");
        drop(first);
        // The socket file is still there, and nobody listens on it.
        assert!(run.join(SOCKET_NAME).exists());
        assert!(matches!(
            ask(&run, &sign_question(), QUESTION_WAIT),
            Err(ChannelError::NoApp(_))
        ));
        assert!(Listening::bind(&run).expect("bind").is_some());
    }

    #[test]
    fn no_answer_in_time_is_a_timeout() {
        let (dir, app) = app(None);
        let started = Instant::now();
        let refused = ask(
            &dir.path().join("run"),
            &sign_question(),
            Duration::from_millis(150),
        );
        assert!(
            matches!(refused, Err(ChannelError::TimedOut(_))),
            "{refused:?}"
        );
        assert!(started.elapsed() < Duration::from_secs(2));
        app.join().expect("thread").expect("question");
    }

    #[test]
    fn oversized_and_bad_lines_are_refused() {
        for (line, check) in [
            (
                vec![b'a'; MAX_QUESTION + 1],
                (|e: &ChannelError| matches!(e, ChannelError::TooLong { .. }))
                    as fn(&ChannelError) -> bool,
            ),
            (b"{\"kind\":\"list\"}\n".to_vec(), |e| {
                matches!(e, ChannelError::BadLine)
            }),
            (b"not json\n".to_vec(), |e| {
                matches!(e, ChannelError::BadLine)
            }),
            (b"{\"kind\":\"list\",\"origin\":\"x\"".to_vec(), |e| {
                matches!(e, ChannelError::Closed)
            }),
        ] {
            let (dir, app) = app(Some(Answer::Allow));
            let mut stream = connect(&dir.path().join("run")).expect("connect");
            // The app may stop reading (and close) before a long line is all written.
            let _ = stream.write_all(&line);
            let _ = stream.shutdown(std::net::Shutdown::Write);
            let mut rest = Vec::new();
            let _ = stream.read_to_end(&mut rest);
            assert!(rest.is_empty(), "answered a bad line: {rest:?}");
            let error = app.join().expect("thread").expect_err("refused");
            assert!(check(&error), "{error:?}");
        }
        // An answer longer than an answer may be is refused by the host's end too.
        let (mut a, mut b) = UnixStream::pair().expect("pair");
        let writer = std::thread::spawn(move || {
            let _ = b.write_all(&vec![b'x'; MAX_ANSWER + 10]);
        });
        assert!(matches!(
            read_message::<Answer>(&mut a, MAX_ANSWER, QUESTION_WAIT),
            Err(ChannelError::TooLong { .. })
        ));
        writer.join().expect("writer");
    }

    #[test]
    fn a_peer_of_another_user_is_refused() {
        let (a, _b) = UnixStream::pair().expect("pair");
        assert!(check_peer(&a, own_uid()).is_ok());
        assert!(matches!(
            check_peer(&a, own_uid().wrapping_add(1)),
            Err(ChannelError::WrongPeer { .. })
        ));
    }

    /// A real process of another user (nobody, 65534) connects and writes a question: the app's
    /// end refuses it without reading it. Needs root to start that process; elsewhere the
    /// comparison itself is tested above.
    #[test]
    fn a_process_of_another_user_gets_no_answer() {
        use std::os::unix::fs::PermissionsExt;
        use std::os::unix::process::CommandExt;
        if own_uid() != 0 {
            eprintln!("not root: no process of another user can be started here");
            return;
        }
        let dir = tempfile::tempdir().expect("tmp");
        let run = dir.path().join("run");
        let listening = Listening::bind(&run).expect("bind").expect("first");
        // Open the way for this test only (the app never does).
        for path in [dir.path(), run.as_path()] {
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o711)).expect("chmod");
        }
        std::fs::set_permissions(listening.path(), std::fs::Permissions::from_mode(0o777))
            .expect("chmod");
        let script = "use IO::Socket::UNIX; $SIG{PIPE} = 'IGNORE'; my $s = IO::Socket::UNIX->new(Peer => $ARGV[0]) or die \"connect: $!\"; \
            print $s qq({\"kind\":\"list\",\"origin\":\"https://evil.example\"}\\n); my $l = <$s>; print defined $l ? $l : \"closed\";";
        let child = std::process::Command::new("perl")
            .uid(65534)
            .gid(65534)
            .arg("-e")
            .arg(script)
            .arg(listening.path())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("perl");
        let mut asker = listening.accept().expect("accept");
        let refused = asker.question();
        assert!(
            matches!(refused, Err(ChannelError::WrongPeer { peer: 65534, .. })),
            "{refused:?}"
        );
        drop(asker);
        let out = child.wait_with_output().expect("perl");
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            "closed",
            "{:?} {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }

    #[test]
    fn a_host_that_goes_away_is_seen_gone() {
        let dir = tempfile::tempdir().expect("tmp");
        let run = dir.path().join("run");
        let listening = Listening::bind(&run).expect("bind").expect("first");
        let host = std::thread::spawn({
            let run = run.clone();
            move || {
                let mut stream = connect(&run).expect("connect");
                write_message(
                    &mut stream,
                    &Question::List {
                        origin: "https://www.gosuslugi.ru".into(),
                    },
                )
                .expect("write");
                std::thread::sleep(Duration::from_millis(200));
            }
        });
        let mut asker = listening.accept().expect("accept");
        asker.question().expect("question");
        assert!(!asker.gone(), "the host is still waiting");
        host.join().expect("host");
        assert!(asker.gone(), "the host closed its end");
    }

    #[test]
    fn the_socket_directory_follows_the_data_dir_then_the_runtime_dir() {
        assert_eq!(
            socket_dir_from(Some("/d".into()), Some("/run/user/1000".into())),
            PathBuf::from("/d/run")
        );
        assert_eq!(
            socket_dir_from(None, Some("/run/user/1000".into())),
            PathBuf::from("/run/user/1000/podpis")
        );
        // A relative runtime dir is ignored, as the XDG specification says.
        assert!(socket_dir_from(None, Some("rel".into())).ends_with("run"));
    }

    #[test]
    fn remembered_origins_are_kept_in_the_file() {
        let dir = tempfile::tempdir().expect("tmp");
        assert!(!AllowedOrigins::read(dir.path()).allows("https://www.gosuslugi.ru"));
        std::fs::write(AllowedOrigins::file(dir.path()), b"not json").expect("write");
        assert!(!AllowedOrigins::read(dir.path()).allows("https://www.gosuslugi.ru"));
        AllowedOrigins::remember(dir.path(), "https://www.gosuslugi.ru").expect("remember");
        AllowedOrigins::remember(dir.path(), "http://127.0.0.1:8780").expect("remember");
        let allowed = AllowedOrigins::read(dir.path());
        assert!(allowed.allows("https://www.gosuslugi.ru"));
        assert!(allowed.allows("http://127.0.0.1:8780"));
        assert!(!allowed.allows("https://evil.example"));
    }
}
