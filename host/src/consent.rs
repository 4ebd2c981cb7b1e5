//! What the person allowed (design.md, "The browser bridge"): no certificate is listed to an
//! origin the person has not allowed, and no signature is made without a click in Podpis's own
//! window. The host asks through [`Consent`]; [`InApp`] asks the desktop app over the local
//! channel of `client::bridge` (starting the app when none runs), and the app shows the question
//! in its window.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use base64::Engine as _;
use client::bridge::{self, Answer, ChannelError, PinState, Question, SignQuestion};
use client::tokens::FoundKey;
use signing::{LastTry, Pin};

use crate::keys::LazyTier;
use crate::origin::Origin;
use crate::sign::{self, SignRequest, Signer, TokenSigner};

pub use client::bridge::AllowedOrigins;

/// The person's answer was no, or there was nobody to ask.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the person did not allow it")]
pub struct Refused;

/// Who answers for the person.
pub trait Consent {
    /// Whether `origin` may see the person's tokens and certificates (list them, load a
    /// certificate from a container, hash with a container's algorithm).
    fn may_list(&mut self, origin: &Origin) -> Result<(), Refused>;

    /// Whether `request` may be signed with `key`: the answer is the signer to use (the token,
    /// with the PIN the page gave, `page_pin`, or one the person typed in Podpis; used once).
    /// Only a click in Podpis's window may answer yes. A PIN not used is wiped when dropped.
    fn may_sign(
        &mut self,
        request: &SignRequest,
        key: &FoundKey,
        page_pin: Option<Pin>,
    ) -> Result<Box<dyn Signer>, Refused>;
}

/// A consent with no window to ask in (where the channel does not exist: systems without Unix
/// sockets): listing only to the origins the person allowed before, and no signature ever.
#[derive(Debug)]
pub struct WithoutWindow {
    pub data_dir: PathBuf,
}

impl Consent for WithoutWindow {
    fn may_list(&mut self, origin: &Origin) -> Result<(), Refused> {
        if AllowedOrigins::read(&self.data_dir).allows(origin.as_str()) {
            Ok(())
        } else {
            Err(Refused)
        }
    }

    fn may_sign(
        &mut self,
        _request: &SignRequest,
        _key: &FoundKey,
        _page_pin: Option<Pin>,
    ) -> Result<Box<dyn Signer>, Refused> {
        // Nobody clicked: the page's PIN, if any, is wiped as it is dropped here.
        Err(Refused)
    }
}

/// The consent of Podpis's app: listing is allowed to the origins of
/// `<data dir>/browser-origins.json` (read on every call) and otherwise asked; every signature
/// is asked. When no app listens, `app` (`podpis-desktop` beside this program) is started with
/// `--consent` and waited for. Every failure to ask is a refusal, with a line on stderr.
#[derive(Clone)]
pub struct InApp {
    pub data_dir: PathBuf,
    /// Where the app's socket is (`client::bridge::socket_dir`).
    pub socket_dir: PathBuf,
    /// The app to start when none listens; `None`: start none.
    pub app: Option<PathBuf>,
    /// The tier the keys were listed through, for a PKCS#11 key's signer.
    pub tier: LazyTier,
    /// The card operation's deadline for the signer.
    pub deadline: Duration,
    /// How long the person may take ([`bridge::ANSWER_TIMEOUT`]).
    pub answer_timeout: Duration,
    /// How long a started app may take to listen ([`bridge::START_WAIT`]).
    pub start_wait: Duration,
}

impl InApp {
    /// The consent of the installed `podpis-host`: the socket of `client::bridge::socket_dir`,
    /// and `podpis-desktop` from this program's own directory (no setting or variable can name
    /// another program).
    pub fn new(data_dir: PathBuf, tier: LazyTier, deadline: Duration) -> Self {
        Self {
            data_dir,
            socket_dir: bridge::socket_dir(),
            app: sibling_app(),
            tier,
            deadline,
            answer_timeout: bridge::ANSWER_TIMEOUT,
            start_wait: bridge::START_WAIT,
        }
    }

    /// Asks the app, starting it first if none listens.
    fn ask(&self, question: &Question) -> Result<Answer, Refused> {
        let answer = match bridge::ask(&self.socket_dir, question, self.answer_timeout) {
            Err(ChannelError::NoApp(_)) => self.start_and_ask(question),
            other => other,
        };
        answer.map_err(|e| {
            say(&e.to_string());
            Refused
        })
    }

    fn start_and_ask(&self, question: &Question) -> Result<Answer, ChannelError> {
        let Some(app) = &self.app else {
            return Err(ChannelError::NoApp(
                self.socket_dir.join(bridge::SOCKET_NAME),
            ));
        };
        let mut child = start_app(app)?;
        let deadline = Instant::now() + self.start_wait;
        loop {
            match bridge::ask(&self.socket_dir, question, self.answer_timeout) {
                Err(ChannelError::NoApp(path)) => {
                    // An app that exited (no display, or another app took the socket first)
                    // gets one more try, then the question is refused.
                    let exited = child.try_wait().ok().flatten().is_some();
                    if exited || Instant::now() > deadline {
                        if exited {
                            return bridge::ask(&self.socket_dir, question, self.answer_timeout);
                        }
                        return Err(ChannelError::NoApp(path));
                    }
                    std::thread::sleep(Duration::from_millis(100));
                }
                other => return other,
            }
        }
    }
}

/// `podpis-desktop` in this program's directory, as the package installs them.
pub fn sibling_app() -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    let app = exe
        .parent()?
        .join(format!("podpis-desktop{}", std::env::consts::EXE_SUFFIX));
    app.is_file().then_some(app)
}

/// Starts the app for one question. Its stdout must not be the host's: that is the browser's
/// message stream. It gets a process group of its own, so that it outlives this host (the
/// browser ends the host with its page; the person's window stays).
fn start_app(app: &std::path::Path) -> std::io::Result<std::process::Child> {
    let mut command = std::process::Command::new(app);
    command
        .arg("--consent")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    #[cfg(unix)]
    std::os::unix::process::CommandExt::process_group(&mut command, 0);
    command.spawn()
}

/// A line on stderr (the browser keeps it in its log): why a question got no answer. It never
/// carries a PIN.
fn say(why: &str) {
    let language = std::env::var("PODPIS_LANG")
        .ok()
        .and_then(|l| l.parse().ok())
        .unwrap_or_default();
    eprintln!(
        "podpis-host: {}",
        client::messages::phrase(client::messages::Phrase::HostNoConsent { why }, language)
    );
}

/// The question of a signature: what the page asks, with the key's certificate and PIN state.
pub fn sign_question(request: &SignRequest, key: &FoundKey, page_pin: bool) -> SignQuestion {
    SignQuestion {
        origin: request.origin.as_str().to_owned(),
        certificate: base64::engine::general_purpose::STANDARD.encode(&key.certificate),
        place: key.source.place(),
        tier: key.source.tier().to_owned(),
        sign_type: request.sign_type.code() as u8,
        shown: match request.shown(key.algorithm) {
            sign::Shown::Text(text) => bridge::Shown::Text { text },
            sign::Shown::Bytes { length, digest } => bridge::Shown::Bytes {
                length: length as u64,
                digest,
            },
            sign::Shown::Digest(digest) => bridge::Shown::Digest { digest },
        },
        page_pin,
        pin: PinState {
            on_reader: !key.pin.needs_typed_pin(),
            tries_left: key.pin.tries_left(),
            max_tries: key.pin.max_tries(),
            last_try: key.pin.is_last_try(),
        },
    }
}

impl Consent for InApp {
    fn may_list(&mut self, origin: &Origin) -> Result<(), Refused> {
        // Read on every call: the app may have added the origin since the last one.
        if AllowedOrigins::read(&self.data_dir).allows(origin.as_str()) {
            return Ok(());
        }
        let question = Question::List {
            origin: origin.as_str().to_owned(),
        };
        match self.ask(&question)? {
            Answer::Allow => Ok(()),
            _ => Err(Refused),
        }
    }

    fn may_sign(
        &mut self,
        request: &SignRequest,
        key: &FoundKey,
        page_pin: Option<Pin>,
    ) -> Result<Box<dyn Signer>, Refused> {
        let question = Question::Sign(sign_question(request, key, page_pin.is_some()));
        let (typed, last_try_confirmed) = match self.ask(&question)? {
            Answer::Sign {
                pin,
                last_try_confirmed,
            } => (pin, last_try_confirmed),
            Answer::Busy => {
                say("another question is waiting in Podpis's window");
                return Err(Refused);
            }
            _ => return Err(Refused),
        };
        let pin = match (page_pin, typed) {
            // The page's PIN is the one used; one the app sent anyway is wiped unused.
            (Some(page), _) => Some(page),
            (None, Some(typed)) => Some(Pin::new(typed.take()).map_err(|_| Refused)?),
            (None, None) if !key.pin.needs_typed_pin() => None,
            (None, None) => {
                say("no PIN came with the person's answer");
                return Err(Refused);
            }
        };
        Ok(Box::new(TokenSigner {
            key: key.clone(),
            pin,
            last_try: LastTry::from_confirmed(last_try_confirmed),
            deadline: self.deadline,
            tier: self.tier.get().clone(),
        }))
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use client::bridge::{Listening, Secret};
    use client::tokens::{KeySource, PinInfo};
    use signing::{CardKind, KeyAlgorithm};

    const PORTAL: &str = "https://www.gosuslugi.ru";

    /// An app in a fresh socket directory answering each question with `answers` in turn; the
    /// questions it got come back from the thread.
    fn app(
        answers: Vec<Answer>,
    ) -> (
        tempfile::TempDir,
        InApp,
        std::thread::JoinHandle<Vec<Question>>,
    ) {
        let dir = tempfile::tempdir().expect("tmp");
        let socket_dir = dir.path().join("run");
        let listening = Listening::bind(&socket_dir).expect("bind").expect("first");
        let thread = std::thread::spawn(move || {
            let mut questions = Vec::new();
            for answer in answers {
                let mut asker = listening.accept().expect("accept");
                questions.push(asker.question().expect("question"));
                asker.answer(&answer).expect("answer");
            }
            questions
        });
        let consent = InApp {
            data_dir: dir.path().to_path_buf(),
            socket_dir,
            app: None,
            tier: LazyTier::new(dir.path().to_path_buf(), Duration::from_secs(1)),
            deadline: Duration::from_secs(1),
            answer_timeout: Duration::from_secs(10),
            start_wait: Duration::from_secs(1),
        };
        (dir, consent, thread)
    }

    fn key(pin: PinInfo) -> FoundKey {
        FoundKey {
            source: KeySource::Card {
                reader: "Virtual PCD 00 00".into(),
                kind: CardKind::GostToken,
                reference: 1,
            },
            algorithm: KeyAlgorithm::Gost2012_256,
            certificate: vec![0x30, 0x03, 0x02, 0x01, 0x01],
            pin,
            token_serial: "PD-0001".into(),
        }
    }

    fn request(data: &str) -> SignRequest {
        SignRequest {
            origin: Origin::parse(PORTAL).expect("origin"),
            container_id: "podpis/pd-0001/01".into(),
            input: sign::Input::Data(data.as_bytes().to_vec()),
            sign_type: sign::SignType::CadesBesAttached,
        }
    }

    #[test]
    fn an_origin_allowed_in_the_window_may_list_and_a_remembered_one_is_not_asked() {
        let (dir, mut consent, app) = app(vec![Answer::Allow, Answer::Refuse]);
        let portal = Origin::parse(PORTAL).expect("origin");
        let other = Origin::parse("https://evil.example").expect("origin");
        assert_eq!(consent.may_list(&portal), Ok(()));
        assert_eq!(consent.may_list(&other), Err(Refused));
        assert_eq!(
            app.join().expect("app"),
            vec![
                Question::List {
                    origin: PORTAL.into()
                },
                Question::List {
                    origin: "https://evil.example".into()
                }
            ]
        );
        // Nobody listens now: a remembered origin is allowed without a question.
        AllowedOrigins::remember(dir.path(), PORTAL).expect("remember");
        assert_eq!(consent.may_list(&portal), Ok(()));
        assert_eq!(consent.may_list(&other), Err(Refused));
    }

    #[test]
    fn a_signature_asks_with_the_origin_the_key_and_what_is_signed() {
        let counted = PinInfo::Counted {
            tries_left: 1,
            max_tries: 3,
        };
        let (_dir, mut consent, app) = app(vec![
            Answer::Sign {
                pin: Some(Secret::new("12345678".into())),
                last_try_confirmed: true,
            },
            Answer::Refuse,
            Answer::Busy,
            // A PIN is needed and none came: refused, not signed without one.
            Answer::Sign {
                pin: None,
                last_try_confirmed: false,
            },
        ]);
        let k = key(counted);
        assert!(consent.may_sign(&request("challenge"), &k, None).is_ok());
        let page_pin = Pin::new("87654321".into()).expect("pin");
        assert!(consent
            .may_sign(&request("second"), &k, Some(page_pin))
            .is_err());
        assert!(consent.may_sign(&request("third"), &k, None).is_err());
        assert!(consent.may_sign(&request("fourth"), &k, None).is_err());
        let questions = app.join().expect("app");
        let Question::Sign(first) = &questions[0] else {
            panic!("{questions:?}")
        };
        assert_eq!(first.origin, PORTAL);
        assert_eq!(first.certificate_der(), Some(k.certificate.clone()));
        assert_eq!(first.place, "Virtual PCD 00 00");
        assert_eq!(first.sign_type, 5);
        assert_eq!(
            first.shown,
            bridge::Shown::Text {
                text: "challenge".into()
            }
        );
        assert!(!first.page_pin);
        assert_eq!(
            first.pin,
            PinState {
                on_reader: false,
                tries_left: Some(1),
                max_tries: Some(3),
                last_try: true
            }
        );
        let Question::Sign(second) = &questions[1] else {
            panic!("{questions:?}")
        };
        // The page's PIN is said to be there, never sent.
        assert!(second.page_pin);
        assert!(!serde_json::to_string(&questions[1])
            .expect("json")
            .contains("87654321"));
    }

    #[test]
    fn no_app_and_none_to_start_is_a_refusal() {
        let dir = tempfile::tempdir().expect("tmp");
        let mut consent = InApp {
            data_dir: dir.path().to_path_buf(),
            socket_dir: dir.path().join("run"),
            app: None,
            tier: LazyTier::new(dir.path().to_path_buf(), Duration::from_secs(1)),
            deadline: Duration::from_secs(1),
            answer_timeout: Duration::from_secs(1),
            start_wait: Duration::from_secs(1),
        };
        let portal = Origin::parse(PORTAL).expect("origin");
        assert_eq!(consent.may_list(&portal), Err(Refused));
        let k = key(PinInfo::Counted {
            tries_left: 3,
            max_tries: 3,
        });
        assert!(consent.may_sign(&request("x"), &k, None).is_err());
        // A program that exits at once without listening is waited for no longer than it runs.
        consent.app = Some(PathBuf::from("/bin/true"));
        consent.start_wait = Duration::from_secs(20);
        let started = Instant::now();
        assert_eq!(consent.may_list(&portal), Err(Refused));
        assert!(started.elapsed() < Duration::from_secs(5));
    }

    #[test]
    fn long_data_is_shown_by_its_size_and_digest() {
        let k = key(PinInfo::Counted {
            tries_left: 3,
            max_tries: 3,
        });
        let long = "a".repeat(bridge::MAX_SHOWN_TEXT + 1);
        let q = sign_question(&request(&long), &k, false);
        assert!(
            matches!(q.shown, bridge::Shown::Bytes { length, .. } if length == long.len() as u64)
        );
    }
}
