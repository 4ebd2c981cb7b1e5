//! The consent screen's two commands: the question before the person (`consent_pending`, read
//! when the window starts and on `consent://asked`), and the person's answer (`consent_answer`).
//! The certificate is judged by the app's own checks (its findings, and whether the portal's
//! checks would take its key), in the app's language.

use client::bridge::{AllowedOrigins, Answer, PinState, Question, Secret, Shown};
use client::Language;
use serde::Serialize;
use signing::certificate::CertificateInfo;
use signing::Pin;
use tauri::State;

use crate::commands::cards::{findings, FindingView};
use crate::error::UiError;
use crate::state::AppState;

#[derive(Serialize)]
pub struct ConsentView {
    id: u64,
    /// `list` (may the origin see the certificates) or `sign`.
    kind: &'static str,
    /// The origin the browser named.
    origin: String,
    sign: Option<SignView>,
}

#[derive(Serialize)]
pub struct SignView {
    /// Null when the certificate cannot be read: then nothing may be signed.
    certificate: Option<CertificateInfo>,
    findings: Vec<FindingView>,
    /// Why the portal's checks would not take this key (its algorithm), in the flow's words.
    unfit: Option<UiError>,
    /// The reader, or the PKCS#11 token's label, and its tier.
    place: String,
    tier: String,
    sign_type: u8,
    shown: Shown,
    /// The page gave the PIN: no field, and the click is still needed.
    page_pin: bool,
    pin: PinState,
}

impl ConsentView {
    fn new(id: u64, question: Question, language: Language) -> Self {
        match question {
            Question::List { origin } => Self {
                id,
                kind: "list",
                origin,
                sign: None,
            },
            Question::Sign(q) => {
                let certificate = q
                    .certificate_der()
                    .and_then(|der| CertificateInfo::parse(&der).ok());
                let (findings, unfit) = match &certificate {
                    Some(info) => (
                        findings(info, language),
                        client::flow::unfit_for(info, protocol::Purpose::ConfirmIdentity)
                            .map(|e| UiError::flow(&e, language)),
                    ),
                    None => (Vec::new(), None),
                };
                Self {
                    id,
                    kind: "sign",
                    origin: q.origin,
                    sign: Some(SignView {
                        certificate,
                        findings,
                        unfit,
                        place: q.place,
                        tier: q.tier,
                        sign_type: q.sign_type,
                        shown: q.shown,
                        page_pin: q.page_pin,
                        pin: q.pin,
                    }),
                }
            }
        }
    }
}

/// The question before the person, if any.
#[tauri::command]
pub async fn consent_pending(state: State<'_, AppState>) -> Result<Option<ConsentView>, UiError> {
    let language = state.language();
    Ok(state
        .consent
        .current()
        .map(|(id, question)| ConsentView::new(id, question, language)))
}

/// The person's answer to the question `id`: `allow` false refuses. For a signature the PIN
/// (when the page gave none and it is typed) goes into a zeroed `Pin` and on to the host once;
/// a PIN no card takes, or the last try not confirmed, keeps the question waiting.
#[tauri::command]
pub async fn consent_answer(
    state: State<'_, AppState>,
    id: u64,
    allow: bool,
    pin: Option<String>,
    last_try_confirmed: bool,
) -> Result<(), UiError> {
    let language = state.language();
    let data_dir = state.data_dir.clone();
    let decided = state.consent.with(id, |question| {
        decide(
            question,
            allow,
            pin,
            last_try_confirmed,
            &data_dir,
            language,
        )
    });
    decided.unwrap_or_else(|| Err(UiError::new("consent-gone", language)))
}

/// The answer, or why the question stays.
fn decide(
    question: &Question,
    allow: bool,
    pin: Option<String>,
    last_try_confirmed: bool,
    data_dir: &std::path::Path,
    language: Language,
) -> Result<(Answer, Result<(), UiError>), Result<(), UiError>> {
    // Whatever happens below, a PIN that is not used is wiped.
    let pin = pin.map(zeroize::Zeroizing::new);
    if !allow {
        return Ok((Answer::Refuse, Ok(())));
    }
    match question {
        Question::List { origin } => {
            // Allowed once, remembered: the host reads the file before it asks again. A file
            // that cannot be written only means the next page asks again.
            if let Err(e) = AllowedOrigins::remember(data_dir, origin) {
                eprintln!("podpis-desktop: browser-origins.json: {e}");
            }
            Ok((Answer::Allow, Ok(())))
        }
        Question::Sign(q) => {
            if q.pin.last_try && !last_try_confirmed {
                return Err(Err(UiError::new("pin-last-try", language)));
            }
            let typed = if q.page_pin || q.pin.on_reader {
                None
            } else {
                let text = pin.as_ref().map(|p| p.to_string()).unwrap_or_default();
                if text.is_empty() {
                    return Err(Err(UiError::new("pin-required", language)));
                }
                let checked = Pin::new(text).map_err(|e| {
                    Err(UiError::card(&signing::TokenError::PinFormat(e), language))
                })?;
                Some(Secret::new(
                    String::from_utf8_lossy(checked.expose()).into_owned(),
                ))
            };
            // Checked again here, whatever the page showed: a certificate that cannot be read,
            // or has an error finding, signs nothing.
            let certificate = q
                .certificate_der()
                .and_then(|der| CertificateInfo::parse(&der).ok());
            let blocked = certificate.as_ref().is_none_or(|info| {
                info.findings_at(std::time::SystemTime::now())
                    .iter()
                    .any(|f| f.severity == signing::certificate::Severity::Error)
            });
            if blocked {
                return Err(Err(UiError::new("no-certificate", language)));
            }
            Ok((
                Answer::Sign {
                    pin: typed,
                    last_try_confirmed,
                },
                Ok(()),
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use client::bridge::SignQuestion;

    fn sign(page_pin: bool, last_try: bool, certificate: &str) -> Question {
        Question::Sign(SignQuestion {
            origin: "https://www.gosuslugi.ru".into(),
            certificate: certificate.into(),
            place: "Virtual PCD 00 00".into(),
            tier: "apdu".into(),
            sign_type: 5,
            shown: Shown::Text { text: "x".into() },
            page_pin,
            pin: PinState {
                on_reader: false,
                tries_left: Some(if last_try { 1 } else { 3 }),
                max_tries: Some(3),
                last_try,
            },
        })
    }

    fn code(r: Result<(Answer, Result<(), UiError>), Result<(), UiError>>) -> String {
        match r {
            Err(Err(e)) => e.code,
            other => panic!("not a kept question: {:?}", other.map(|(a, _)| a)),
        }
    }

    #[test]
    fn a_refusal_needs_nothing_and_an_allowed_origin_is_remembered() {
        let dir = tempfile::tempdir().expect("tmp");
        let q = Question::List {
            origin: "https://www.gosuslugi.ru".into(),
        };
        let refused = decide(&q, false, None, false, dir.path(), Language::English);
        assert!(matches!(refused, Ok((Answer::Refuse, _))));
        assert!(!AllowedOrigins::read(dir.path()).allows("https://www.gosuslugi.ru"));
        let allowed = decide(&q, true, None, false, dir.path(), Language::English);
        assert!(matches!(allowed, Ok((Answer::Allow, _))));
        assert!(AllowedOrigins::read(dir.path()).allows("https://www.gosuslugi.ru"));
    }

    /// What keeps the question waiting for the person to correct it, in order: the last try
    /// not confirmed, no PIN, a PIN no card takes; a page's PIN needs none typed.
    #[test]
    fn the_pin_and_the_last_try_are_asked_for_before_anything_is_answered() {
        let dir = tempfile::tempdir().expect("tmp");
        let at = |q: &Question, pin: Option<&str>, confirmed: bool| {
            code(decide(
                q,
                true,
                pin.map(str::to_owned),
                confirmed,
                dir.path(),
                Language::English,
            ))
        };
        let last = sign(false, true, "bm90IGEgY2VydA==");
        assert_eq!(at(&last, Some("12345678"), false), "pin-last-try");
        assert_eq!(at(&last, None, true), "pin-required");
        assert_eq!(at(&last, Some("12 34"), true), "pin-format");
        // Past those, the certificate (unreadable here) is what stops it.
        assert_eq!(at(&last, Some("12345678"), true), "no-certificate");
        let page = sign(true, false, "bm90IGEgY2VydA==");
        assert_eq!(at(&page, None, false), "no-certificate");
    }

    #[test]
    fn a_certificate_that_cannot_be_read_signs_nothing() {
        let dir = tempfile::tempdir().expect("tmp");
        let q = sign(true, false, "bm90IGEgY2VydA==");
        assert_eq!(
            code(decide(&q, true, None, false, dir.path(), Language::English)),
            "no-certificate"
        );
        // Refusing it is always possible.
        assert!(matches!(
            decide(&q, false, None, false, dir.path(), Language::English),
            Ok((Answer::Refuse, _))
        ));
        let view = ConsentView::new(1, q, Language::English);
        let json = serde_json::to_value(view).expect("json");
        assert_eq!(json["sign"]["certificate"], serde_json::Value::Null);
        assert_eq!(json["origin"], "https://www.gosuslugi.ru");
    }
}
