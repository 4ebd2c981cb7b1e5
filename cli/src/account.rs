//! The commands that talk to the portal: login, logout, status, confirm, register-org, outbox,
//! diagnose. The flow is `client::flow`'s; this file asks, calls and prints.

use std::io::IsTerminal;
use std::process::ExitCode;

use client::flow::{Confirmation, FlowEvent};
use client::messages::{self, Field, Phrase};
use client::portal::PortalClient;
use client::session::{SessionInfo, Sessions};
use protocol::Purpose;
use signing::certificate::Severity;

use crate::cards::{last_try_consent, read_pin};
use crate::failure::Failure;
use crate::{prompt, Common, ConfirmOptions};

impl Common {
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
        Ok(
            PortalClient::new(&self.portal_address(), self.ca_file.as_deref())?
                .with_timeout(self.portal_timeout),
        )
    }

    fn token(&self, portal: &str) -> Result<zeroize::Zeroizing<String>, Failure> {
        Ok(self.sessions().token(portal)?)
    }

    /// The flow for the logged-in account of the portal in use.
    fn confirmation(&self, rt: &tokio::runtime::Runtime) -> Result<Confirmation, Failure> {
        let portal = self.client()?;
        let token = self.token(&portal.origin())?;
        Ok(rt
            .block_on(Confirmation::new(portal, token, self.data_dir.clone()))?
            .with_card_deadline(self.card_timeout)
            .with_pkcs11(self.pkcs11()))
    }
}

fn runtime() -> Result<tokio::runtime::Runtime, Failure> {
    tokio::runtime::Runtime::new().map_err(|e| Failure::with_detail("runtime", e.to_string()))
}

pub fn login(common: &Common, login: &str, password_stdin: bool) -> Result<ExitCode, Failure> {
    let portal = common.client()?;
    let prompt = messages::phrase(Phrase::PasswordPrompt, common.language);
    let password = prompt::secret(password_stdin, &prompt)?;
    let answer = runtime()?.block_on(portal.login(login, &password))?;
    let info = SessionInfo {
        portal: portal.origin(),
        account: answer.account.clone(),
        expires_at: answer.expires_at.clone(),
    };
    common.sessions().save(&info, &answer.token)?;
    if common.json {
        println!(
            "{}",
            serde_json::json!({ "portal": info.portal, "account": info.account, "expires_at": info.expires_at })
        );
    } else {
        let done = messages::phrase(Phrase::LoggedIn, common.language);
        println!("{done} {} ({})", info.account, info.portal);
    }
    Ok(ExitCode::SUCCESS)
}

pub fn logout(common: &Common) -> Result<ExitCode, Failure> {
    let portal = common.client()?;
    let origin = portal.origin();
    if let Ok(token) = common.sessions().token(&origin) {
        // The session is forgotten here even when the portal cannot be told.
        let _ = runtime()?.block_on(portal.logout(&token));
    }
    common.sessions().clear(&origin)?;
    if common.json {
        println!(
            "{}",
            serde_json::json!({ "portal": origin, "logged_out": true })
        );
    } else {
        println!("{}", messages::phrase(Phrase::LoggedOut, common.language));
    }
    Ok(ExitCode::SUCCESS)
}

pub fn status(common: &Common) -> Result<ExitCode, Failure> {
    let portal = common.client()?;
    let token = common.token(&portal.origin())?;
    let account = runtime()?.block_on(portal.account(&token))?;
    let pending = client::outbox::Outbox::open(&common.data_dir)
        .and_then(|o| o.pending_for(&portal.origin(), &account.id))
        .map_or(0, |p| p.len());
    if common.json {
        let mut value = serde_json::to_value(&account).unwrap_or_default();
        value["portal"] = serde_json::json!(portal.origin());
        value["outbox"] = serde_json::json!(pending);
        println!("{value}");
    } else {
        let field = |f: Field| messages::phrase(Phrase::Field(f), common.language);
        let level = serde_json::to_value(account.level)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        println!(
            "{} {} — {}",
            account.person.surname, account.person.given_names, level
        );
        if let Some(snils) = &account.person.snils {
            println!("  {} {snils}", field(Field::Snils));
        }
        for org in &account.organisations {
            println!(
                "  {} ({} {}, {} {}) — {}",
                org.organisation.name,
                field(Field::Ogrn),
                org.organisation.ogrn,
                field(Field::InnLe),
                org.organisation.inn,
                org.role
            );
        }
        if pending > 0 {
            println!("  {} {pending}", field(Field::Outbox));
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn describe_result(common: &Common, result: &protocol::ConfirmationResult) -> String {
    let done = match &result.organisation {
        Some(org) => Phrase::OrganisationRegistered {
            name: &org.name,
            ogrn: &org.ogrn,
        },
        None => Phrase::AccountConfirmed,
    };
    messages::phrase(done, common.language)
}

pub fn confirm(
    common: &Common,
    purpose: Purpose,
    options: &ConfirmOptions,
) -> Result<ExitCode, Failure> {
    let rt = runtime()?;
    let flow = common.confirmation(&rt)?;
    let language = common.language;
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
                    eprintln!("  {mark} {}", messages::finding(f.code, language));
                }
            }
        }
    };

    // Requests left from an earlier run go first.
    for item in flow.pending()? {
        let sending = messages::phrase(Phrase::SendingStoredRequest, language);
        common.say(&format!("{sending} {}", item.id));
        let result = rt.block_on(flow.deliver(&item, &on_event))?;
        common.say(&format!("  {}", describe_result(common, &result)));
    }

    let card = &options.card;
    let prepared = rt.block_on(flow.prepare(&card.choice(), purpose, options.force, &on_event))?;
    let document = serde_json::from_slice::<serde_json::Value>(&prepared.document_bytes)
        .and_then(|v| serde_json::to_string_pretty(&v))
        .unwrap_or_default();
    common.say(&format!(
        "{}\n{document}",
        messages::phrase(Phrase::DocumentToSign, language)
    ));
    let interactive = !card.pin_stdin && std::io::stdin().is_terminal();
    if interactive
        && !options.yes
        && !prompt::ask(&messages::phrase(Phrase::SignDocumentQuestion, language))
    {
        return Err(Failure::local("cancelled"));
    }
    let last_try_confirmed = last_try_consent(common, card, prepared.chosen.pin().is_last_try())?;
    let pin = read_pin(common, card, prepared.chosen.pin())?;
    let result = rt.block_on(flow.sign_and_send(prepared, pin, last_try_confirmed, &on_event))?;
    if common.json {
        println!("{}", serde_json::to_string(&result).unwrap_or_default());
    } else {
        println!("{}", describe_result(common, &result));
    }
    Ok(ExitCode::SUCCESS)
}

pub fn outbox(common: &Common, send: bool) -> Result<ExitCode, Failure> {
    if !send {
        let outbox = client::outbox::Outbox::open(&common.data_dir)
            .map_err(|e| Failure::with_detail("outbox", e))?;
        let pending = outbox
            .pending()
            .map_err(|e| Failure::with_detail("outbox", e))?;
        for path in outbox.unreadable() {
            let path = path.display().to_string();
            common.say(&messages::phrase(
                Phrase::SetAside { path: &path },
                common.language,
            ));
        }
        if common.json {
            let items: Vec<_> = pending
                .iter()
                .map(|i| serde_json::json!({ "id": i.id, "portal": i.meta.portal, "account": i.meta.account, "purpose": i.meta.purpose, "created_at": i.meta.created_at, "expires_at": i.meta.expires_at }))
                .collect();
            println!("{}", serde_json::Value::Array(items));
        } else if pending.is_empty() {
            println!(
                "{}",
                messages::phrase(Phrase::NoRequestsWaiting, common.language)
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
    let rt = runtime()?;
    let flow = common.confirmation(&rt)?;
    let mut results = Vec::new();
    let mut worst: Option<Failure> = None;
    for item in flow.pending()? {
        match rt.block_on(flow.deliver(&item, &|_| {})) {
            Ok(result) => {
                common.say(&format!("{} {}", item.id, describe_result(common, &result)));
                results.push(serde_json::json!({ "id": item.id, "result": result }));
            }
            Err(e) => {
                let failure = Failure::from(e);
                let (code, message) = (failure.code(), failure.message(common.language));
                common.say(&format!("{} {message}", item.id));
                results.push(serde_json::json!({ "id": item.id, "error": { "code": code, "message": message } }));
                worst = Some(failure);
            }
        }
    }
    if common.json {
        println!("{}", serde_json::Value::Array(results));
    }
    Ok(worst.map_or(ExitCode::SUCCESS, |f| ExitCode::from(crate::exit::code(&f))))
}

pub fn diagnose(common: &Common) -> Result<ExitCode, Failure> {
    let portal = common.client().map_err(|_| common.portal_address());
    let tier = common.pkcs11();
    let checks = runtime()?.block_on(client::diagnose::run(portal, &tier, common.language));
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
