//! The commands that talk to the portal: login, logout, status, confirm, register-org, outbox,
//! diagnose. Words for people come from `client::messages`, the one table.

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use client::flow::{CardChoice, Confirmation, FlowError, FlowEvent};
use client::messages::{self, Language};
use client::portal::{PortalClient, PortalError};
use client::session::{SessionError, SessionInfo, Sessions};
use protocol::Purpose;
use signing::certificate::Severity;
use signing::{Pin, TokenError};

use crate::{Failure, Lang};

/// Options every portal command shares.
pub struct Common {
    pub json: bool,
    pub lang: Lang,
    pub portal: Option<String>,
    pub ca_file: Option<PathBuf>,
    pub data_dir: PathBuf,
    pub portal_timeout: std::time::Duration,
    pub card_timeout: std::time::Duration,
}

impl Common {
    fn language(&self) -> Language {
        match self.lang {
            Lang::Ru => Language::Russian,
            Lang::En => Language::English,
        }
    }

    fn sessions(&self) -> Sessions {
        Sessions::new(&self.data_dir)
    }

    /// The portal named, else the last one logged in to, else the sandbox.
    fn portal_address(&self) -> String {
        self.portal
            .clone()
            .or_else(|| self.sessions().current().map(|s| s.portal))
            .unwrap_or_else(|| client::SANDBOX_PORTAL.to_owned())
    }

    fn client(&self) -> Result<PortalClient, Failure> {
        PortalClient::new(&self.portal_address(), self.ca_file.as_deref())
            .map(|client| client.with_timeout(self.portal_timeout))
            .map_err(|e| self.portal_failure(&e))
    }

    fn failure(&self, code: &str, exit: u8) -> Failure {
        Failure::new(code, messages::describe(code, self.language()), exit)
    }

    fn portal_failure(&self, e: &PortalError) -> Failure {
        let exit = if e.is_transient() { 8 } else { 7 };
        let mut failure = self.failure(e.code(), exit);
        if let PortalError::Refused { code, .. } = e {
            if code == protocol::codes::UNAUTHORISED {
                failure.exit = 9;
            }
        }
        failure
    }

    fn flow_failure(&self, e: &FlowError) -> Failure {
        let code = e.code();
        let exit = match e {
            FlowError::Card(
                TokenError::PinIncorrect { .. }
                | TokenError::PinBlocked
                | TokenError::PinFormat(_)
                | TokenError::PinLengthRefused,
            )
            | FlowError::LastTryNotConfirmed => 5,
            FlowError::Card(_) | FlowError::NoCard | FlowError::SeveralCards => 4,
            FlowError::Finding(_)
            | FlowError::PersonMismatch
            | FlowError::NotAnOrganisation
            | FlowError::NoCertificate => 6,
            FlowError::SeveralCertificates => 2,
            FlowError::Portal(p) => return self.portal_failure(p),
            FlowError::Kept { .. } => 8,
            _ => 1,
        };
        let mut failure = self.failure(&code, exit);
        if let FlowError::Card(TokenError::PinIncorrect { tries_left }) = e {
            failure.message = match self.language() {
                Language::Russian => format!("{} Осталось попыток: {tries_left}.", failure.message),
                Language::English => format!("{} Tries left: {tries_left}.", failure.message),
            };
        }
        failure
    }

    fn token(&self, portal: &str) -> Result<zeroize::Zeroizing<String>, Failure> {
        self.sessions().token(portal).map_err(|e| match e {
            SessionError::NotLoggedIn(_) => self.failure("not-logged-in", 9),
            _ => self.failure("keyring", 1),
        })
    }

    fn say(&self, text: &str) {
        if !self.json {
            eprintln!("{text}");
        }
    }
}

fn runtime() -> Result<tokio::runtime::Runtime, Failure> {
    tokio::runtime::Runtime::new().map_err(|e| Failure::new("runtime", e.to_string(), 1))
}

fn read_secret(from_stdin: bool, prompt: &str) -> Result<zeroize::Zeroizing<String>, Failure> {
    let text = if from_stdin {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .map_err(|e| Failure::new("input", format!("cannot read standard input: {e}"), 1))?;
        line
    } else {
        rpassword::prompt_password(prompt)
            .map_err(|e| Failure::new("input", format!("cannot read: {e}"), 1))?
    };
    Ok(zeroize::Zeroizing::new(
        text.trim_end_matches(['\r', '\n']).to_owned(),
    ))
}

pub fn login(common: &Common, login: &str, password_stdin: bool) -> Result<ExitCode, Failure> {
    let portal = common.client()?;
    let prompt = match common.language() {
        Language::Russian => "Пароль: ",
        Language::English => "Password: ",
    };
    let password = read_secret(password_stdin, prompt)?;
    let answer = runtime()?
        .block_on(portal.login(login, &password))
        .map_err(|e| common.portal_failure(&e))?;
    let info = SessionInfo {
        portal: portal.origin(),
        account: answer.account.clone(),
        expires_at: answer.expires_at.clone(),
    };
    common
        .sessions()
        .save(&info, &answer.token)
        .map_err(|_| common.failure("keyring", 1))?;
    if common.json {
        println!(
            "{}",
            serde_json::json!({ "portal": info.portal, "account": info.account, "expires_at": info.expires_at })
        );
    } else {
        println!("{} {} ({})", ok_word(common), info.account, info.portal);
    }
    Ok(ExitCode::SUCCESS)
}

fn ok_word(common: &Common) -> &'static str {
    match common.language() {
        Language::Russian => "Вход выполнен:",
        Language::English => "Logged in:",
    }
}

pub fn logout(common: &Common) -> Result<ExitCode, Failure> {
    let portal = common.client()?;
    let origin = portal.origin();
    if let Ok(token) = common.sessions().token(&origin) {
        // The session is forgotten here even when the portal cannot be told.
        let _ = runtime()?.block_on(portal.logout(&token));
    }
    common
        .sessions()
        .clear(&origin)
        .map_err(|_| common.failure("keyring", 1))?;
    if common.json {
        println!(
            "{}",
            serde_json::json!({ "portal": origin, "logged_out": true })
        );
    } else {
        println!(
            "{}",
            match common.language() {
                Language::Russian => "Выход выполнен.",
                Language::English => "Logged out.",
            }
        );
    }
    Ok(ExitCode::SUCCESS)
}

pub fn status(common: &Common) -> Result<ExitCode, Failure> {
    let portal = common.client()?;
    let token = common.token(&portal.origin())?;
    let account = runtime()?
        .block_on(portal.account(&token))
        .map_err(|e| common.portal_failure(&e))?;
    let pending = client::outbox::Outbox::open(&common.data_dir)
        .and_then(|o| o.pending())
        .map(|p| {
            p.into_iter()
                .filter(|i| i.meta.portal == portal.origin() && i.meta.account == account.id)
                .count()
        })
        .unwrap_or(0);
    if common.json {
        let mut value = serde_json::to_value(&account).unwrap_or_default();
        value["portal"] = serde_json::json!(portal.origin());
        value["outbox"] = serde_json::json!(pending);
        println!("{value}");
    } else {
        let level = serde_json::to_value(account.level)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        println!(
            "{} {} — {}",
            account.person.surname, account.person.given_names, level
        );
        if let Some(snils) = &account.person.snils {
            println!("  SNILS {snils}");
        }
        for org in &account.organisations {
            println!(
                "  {} (OGRN {}, INN {}) — {}",
                org.organisation.name, org.organisation.ogrn, org.organisation.inn, org.role
            );
        }
        if pending > 0 {
            println!("  outbox: {pending}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub struct ConfirmArgs {
    pub purpose: Purpose,
    pub reader: Option<String>,
    pub cert: Option<String>,
    pub pin_stdin: bool,
    pub force: bool,
    pub yes: bool,
    pub allow_last_try: bool,
}

pub fn confirm(common: &Common, args: ConfirmArgs) -> Result<ExitCode, Failure> {
    let portal = common.client()?;
    let token = common.token(&portal.origin())?;
    let rt = runtime()?;
    let flow = rt
        .block_on(Confirmation::new(portal, token, common.data_dir.clone()))
        .map_err(|e| common.flow_failure(&e))?
        .with_card_deadline(common.card_timeout);
    let language = common.language();
    let quiet = common.json;
    let on_event = move |event: FlowEvent| {
        if quiet {
            return;
        }
        match event {
            FlowEvent::Step(step) => eprintln!("→ {}", messages::step(step, language)),
            FlowEvent::Findings(findings) => {
                for f in findings {
                    let mark = if f.severity == Severity::Error {
                        "✗"
                    } else {
                        "!"
                    };
                    eprintln!("  {mark} {}", messages::describe(f.code.as_str(), language));
                }
            }
        }
    };

    // Requests left from an earlier run go first.
    for item in flow.pending().map_err(|e| common.flow_failure(&e))? {
        common.say(&format!("{} {}", outbox_word(common), item.id));
        match rt.block_on(flow.deliver(&item, &on_event)) {
            Ok(result) => common.say(&format!("  {}", describe_result(common, &result))),
            Err(e) => return Err(common.flow_failure(&e)),
        }
    }

    let choice = CardChoice {
        reader: args.reader,
        certificate: args.cert,
    };
    let prepared = rt
        .block_on(flow.prepare(&choice, args.purpose, args.force, &on_event))
        .map_err(|e| common.flow_failure(&e))?;
    let document = serde_json::from_slice::<serde_json::Value>(&prepared.document_bytes)
        .and_then(|v| serde_json::to_string_pretty(&v))
        .unwrap_or_default();
    common.say(&format!(
        "{}\n{document}",
        match language {
            Language::Russian => "Документ для подписи:",
            Language::English => "The document to sign:",
        }
    ));
    let interactive = !args.pin_stdin && std::io::stdin().is_terminal();
    if interactive
        && !args.yes
        && !ask(match language {
            Language::Russian => "Подписать этот документ? [y/N] ",
            Language::English => "Sign this document? [y/N] ",
        })
    {
        return Err(common.failure("cancelled", 1));
    }
    let mut last_try = args.allow_last_try;
    if prepared.pin.is_last_try() && !last_try {
        last_try = interactive && ask(match language {
            Language::Russian => {
                "Осталась последняя попытка: неверный PIN заблокирует носитель. Продолжить? [y/N] "
            }
            Language::English => "One try left: a wrong PIN blocks the card. Go on? [y/N] ",
        });
        if !last_try {
            return Err(common.failure("pin-last-try", 5));
        }
    }
    let prompt = match language {
        Language::Russian => format!("PIN (осталось попыток: {}): ", prepared.pin.tries_left),
        Language::English => format!("PIN ({} tries left): ", prepared.pin.tries_left),
    };
    let pin_text = read_secret(args.pin_stdin, &prompt)?;
    let pin = Pin::new(pin_text.to_string())
        .map_err(|e| common.flow_failure(&FlowError::Card(TokenError::PinFormat(e))))?;
    drop(pin_text);
    let result = rt
        .block_on(flow.sign_and_send(prepared, pin, last_try, &on_event))
        .map_err(|e| common.flow_failure(&e))?;
    if common.json {
        println!("{}", serde_json::to_string(&result).unwrap_or_default());
    } else {
        println!("{}", describe_result(common, &result));
    }
    Ok(ExitCode::SUCCESS)
}

fn describe_result(common: &Common, result: &protocol::ConfirmationResult) -> String {
    match (&result.organisation, common.language()) {
        (Some(org), Language::Russian) => format!(
            "Организация {} (ОГРН {}) зарегистрирована.",
            org.name, org.ogrn
        ),
        (Some(org), Language::English) => {
            format!("Organisation {} (OGRN {}) registered.", org.name, org.ogrn)
        }
        (None, Language::Russian) => "Учётная запись подтверждена.".to_owned(),
        (None, Language::English) => "The account is confirmed.".to_owned(),
    }
}

fn outbox_word(common: &Common) -> &'static str {
    match common.language() {
        Language::Russian => "Отправка сохранённого запроса",
        Language::English => "Sending a stored request",
    }
}

fn ask(question: &str) -> bool {
    eprint!("{question}");
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer).is_ok()
        && matches!(answer.trim(), "y" | "Y" | "yes" | "д" | "Д" | "да")
}

pub fn outbox(common: &Common, send: bool) -> Result<ExitCode, Failure> {
    let outbox =
        client::outbox::Outbox::open(&common.data_dir).map_err(|_| common.failure("outbox", 1))?;
    let pending = outbox.pending().map_err(|_| common.failure("outbox", 1))?;
    if !send {
        if common.json {
            let items: Vec<_> = pending
                .iter()
                .map(|i| serde_json::json!({ "id": i.id, "portal": i.meta.portal, "account": i.meta.account, "purpose": i.meta.purpose, "created_at": i.meta.created_at, "expires_at": i.meta.expires_at }))
                .collect();
            println!("{}", serde_json::Value::Array(items));
        } else if pending.is_empty() {
            println!(
                "{}",
                match common.language() {
                    Language::Russian => "Неотправленных запросов нет.",
                    Language::English => "No requests are waiting.",
                }
            );
        } else {
            for i in &pending {
                println!(
                    "{} {} {} {}",
                    i.id,
                    i.meta.portal,
                    i.meta.purpose.as_str(),
                    i.meta.created_at
                );
            }
        }
        return Ok(ExitCode::SUCCESS);
    }
    let portal = common.client()?;
    let token = common.token(&portal.origin())?;
    let rt = runtime()?;
    let flow = rt
        .block_on(Confirmation::new(portal, token, common.data_dir.clone()))
        .map_err(|e| common.flow_failure(&e))?
        .with_card_deadline(common.card_timeout);
    let mut results = Vec::new();
    let mut worst: Option<Failure> = None;
    for item in flow.pending().map_err(|e| common.flow_failure(&e))? {
        match rt.block_on(flow.deliver(&item, &|_| {})) {
            Ok(result) => {
                common.say(&format!("{} {}", item.id, describe_result(common, &result)));
                results.push(serde_json::json!({ "id": item.id, "result": result }));
            }
            Err(e) => {
                let failure = common.flow_failure(&e);
                common.say(&format!("{} {}", item.id, failure.message));
                results.push(serde_json::json!({ "id": item.id, "error": { "code": failure.code, "message": failure.message } }));
                worst = Some(failure);
            }
        }
    }
    if common.json {
        println!("{}", serde_json::Value::Array(results));
    }
    Ok(worst.map_or(ExitCode::SUCCESS, |f| ExitCode::from(f.exit)))
}

pub fn diagnose(common: &Common) -> Result<ExitCode, Failure> {
    let portal = common.client().map_err(|_| common.portal_address());
    let checks = runtime()?.block_on(client::diagnose::run(portal, common.language()));
    let failed = checks.iter().any(|c| c.status == "fail");
    if common.json {
        println!("{}", serde_json::to_string(&checks).unwrap_or_default());
    } else {
        for c in &checks {
            println!("{:4} {:12} {}", c.status, c.check, c.detail);
            if !c.hint.is_empty() {
                println!("     {:12} {}", "", c.hint);
            }
        }
    }
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
