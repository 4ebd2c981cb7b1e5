//! The app's end of the consent channel (`client::bridge`, docs/host.md "Consent"): from
//! start-up the app listens on the socket, and each question of `podpis-host` is put before the
//! person in the window (ui/src/consent.ts). One question at a time: another that comes while one
//! waits is answered `Busy` at once. The question stays until the person answers it in the
//! window, the window closes (refused), the host goes away (withdrawn), or
//! `client::bridge::ANSWER_TIMEOUT` passes (refused). Nothing but a click in the window answers
//! yes: no setting, variable or flag does.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use client::bridge::{self, Answer, Asker, Listening, Question};
use tauri::{AppHandle, Emitter, Manager};

use crate::state::AppState;

/// The event that tells the window a question waits (`consent_pending` gives it).
pub const ASKED: &str = "consent://asked";
/// The event that tells the window the question with this id is no longer asked.
pub const WITHDRAWN: &str = "consent://withdrawn";

/// The question before the person, if any.
#[derive(Default)]
pub struct Desk {
    current: Mutex<Option<Pending>>,
    next_id: AtomicU64,
}

/// A question waiting for the person, and where the answer goes.
pub struct Pending {
    pub id: u64,
    pub question: Question,
    reply: Sender<Answer>,
}

impl Pending {
    /// Sends the answer to the connection's thread, which writes it to the host.
    pub fn answer(self, answer: Answer) {
        let _ = self.reply.send(answer);
    }
}

/// Another question is already before the person.
#[derive(Debug)]
pub struct Busy;

impl Desk {
    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Pending>> {
        match self.current.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    /// Puts `question` before the person, unless one is there already.
    pub fn put(&self, question: Question) -> Result<(u64, Receiver<Answer>), Busy> {
        let mut current = self.lock();
        if current.is_some() {
            return Err(Busy);
        }
        let id = self.next_id.fetch_add(1, Ordering::Relaxed) + 1;
        let (reply, answers) = mpsc::channel();
        *current = Some(Pending {
            id,
            question,
            reply,
        });
        Ok((id, answers))
    }

    /// The question before the person: its id and a copy.
    pub fn current(&self) -> Option<(u64, Question)> {
        self.lock().as_ref().map(|p| (p.id, p.question.clone()))
    }

    /// Runs `decide` on the question with `id`; it returns whether the question is answered
    /// (then it is taken away) or stays (the person must correct something).
    pub fn with<T>(
        &self,
        id: u64,
        decide: impl FnOnce(&Question) -> Result<(Answer, T), T>,
    ) -> Option<T> {
        let mut current = self.lock();
        let pending = current.take_if(|p| p.id == id)?;
        match decide(&pending.question) {
            Ok((answer, value)) => {
                pending.answer(answer);
                Some(value)
            }
            Err(value) => {
                *current = Some(pending);
                Some(value)
            }
        }
    }

    /// Takes the question with `id` away (the host went, or the time ran out).
    fn withdraw(&self, id: u64) {
        let mut current = self.lock();
        current.take_if(|p| p.id == id);
    }

    /// Refuses the question before the person (the window closes).
    pub fn refuse_current(&self) {
        if let Some(pending) = self.lock().take() {
            pending.answer(Answer::Refuse);
        }
    }
}

/// Listens on the consent socket (`client::bridge::socket_dir`) before the window exists, so
/// that a host that started the app finds it as soon as it can. `None` when another app
/// already listens (that one is asked) or the socket cannot be made (said on stderr).
pub fn bind() -> Option<Listening> {
    let dir = bridge::socket_dir();
    match Listening::bind(&dir) {
        Ok(Some(listening)) => Some(listening),
        Ok(None) => {
            eprintln!(
                "podpis-desktop: another Podpis app answers the browser at {}",
                dir.display()
            );
            None
        }
        Err(e) => {
            eprintln!("podpis-desktop: the browser cannot ask this app: {e}");
            None
        }
    }
}

/// Serves the hosts' questions on threads of their own for as long as the app runs.
pub fn serve(app: AppHandle, listening: Listening) {
    let spawned = std::thread::Builder::new()
        .name("podpis-consent".into())
        .spawn(move || loop {
            match listening.accept() {
                Ok(asker) => {
                    let app = app.clone();
                    let _ = std::thread::Builder::new()
                        .name("podpis-consent-question".into())
                        .spawn(move || ask_person(&app, asker));
                }
                Err(e) => {
                    eprintln!("podpis-desktop: consent socket: {e}");
                    std::thread::sleep(Duration::from_millis(200));
                }
            }
        });
    if let Err(e) = spawned {
        eprintln!("podpis-desktop: the browser cannot ask this app: {e}");
    }
}

/// One host's question: put before the person, and the answer written back.
fn ask_person(app: &AppHandle, mut asker: Asker) {
    let question = match asker.question() {
        Ok(q) => q,
        Err(e) => {
            // Another user's process, a line too long, not JSON: nothing is shown for it.
            eprintln!("podpis-desktop: a question was not taken: {e}");
            return;
        }
    };
    let state = app.state::<AppState>();
    let (id, answers) = match state.consent.put(question) {
        Ok(put) => put,
        Err(Busy) => {
            let _ = asker.answer(&Answer::Busy);
            return;
        }
    };
    let _ = app.emit(ASKED, id);
    bring_forward(app);
    let deadline = Instant::now() + bridge::ANSWER_TIMEOUT;
    let answer = loop {
        match answers.recv_timeout(Duration::from_millis(250)) {
            Ok(answer) => break Some(answer),
            Err(RecvTimeoutError::Disconnected) => break Some(Answer::Refuse),
            Err(RecvTimeoutError::Timeout) => {
                if asker.gone() {
                    break None;
                }
                if Instant::now() > deadline {
                    break Some(Answer::Refuse);
                }
            }
        }
    };
    state.consent.withdraw(id);
    match answer {
        Some(answer) => {
            if !matches!(answer, Answer::Sign { .. } | Answer::Allow) {
                let _ = app.emit(WITHDRAWN, id);
            }
            if let Err(e) = asker.answer(&answer) {
                eprintln!("podpis-desktop: the answer did not reach the browser: {e}");
            }
        }
        None => {
            let _ = app.emit(WITHDRAWN, id);
        }
    }
}

/// The window comes to the front, out of the taskbar if it was minimised. Only what is needed is
/// asked of the window system (a window that already has the focus is left as it is).
fn bring_forward(app: &AppHandle) {
    if let Some(window) = app.get_webview_window("main") {
        if window.is_minimized().unwrap_or(false) {
            let _ = window.unminimize();
        }
        if !window.is_visible().unwrap_or(true) {
            let _ = window.show();
        }
        if !window.is_focused().unwrap_or(false) {
            let _ = window.set_focus();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(origin: &str) -> Question {
        Question::List {
            origin: origin.into(),
        }
    }

    #[test]
    fn one_question_at_a_time_and_only_its_own_answer() {
        let desk = Desk::default();
        let (id, answers) = desk.put(list("https://a.example")).expect("first");
        assert!(desk.put(list("https://b.example")).is_err(), "busy");
        assert_eq!(desk.current().map(|(i, _)| i), Some(id));
        // An answer for another id changes nothing.
        assert!(desk
            .with(id + 1, |_| Ok::<_, ()>((Answer::Allow, ())))
            .is_none());
        // A correction keeps the question.
        assert_eq!(desk.with(id, |_| Err::<(Answer, u8), u8>(7)), Some(7));
        assert!(desk.current().is_some());
        assert_eq!(desk.with(id, |_| Ok::<_, u8>((Answer::Allow, 1))), Some(1));
        assert_eq!(answers.recv().expect("answer"), Answer::Allow);
        assert!(desk.current().is_none());
        // The next question is taken, and closing the window refuses it.
        let (_, answers) = desk.put(list("https://b.example")).expect("second");
        desk.refuse_current();
        assert_eq!(answers.recv().expect("answer"), Answer::Refuse);
        assert!(desk.current().is_none());
    }
}
