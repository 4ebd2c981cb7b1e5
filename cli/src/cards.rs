//! The commands that talk to cards only: readers, certs, sign.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::SystemTime;

use client::batch::{self, BatchEvent, BatchReport, FileError, Form, Outcome};
use client::flow::{self, FlowError};
use client::messages::{self, Field, Phrase};
use client::tokens::{self, FoundKey, KeySource, PinInfo};
use serde::Serialize;
use signing::card::monitor::{Monitor, ReaderEvent};
use signing::certificate::{CertificateInfo, Finding, Severity};
use signing::drivers::registry;
use signing::token;
use signing::{CardKind, Pin};

use crate::failure::Failure;
use crate::{print_json, prompt, CardOptions, Common};

pub fn readers(common: &Common) -> Result<ExitCode, Failure> {
    let readers = token::list_readers()?;
    let l = common.language;
    if common.json {
        print_json(&readers);
    } else if readers.is_empty() {
        println!("{}", messages::phrase(Phrase::NoReaders, l));
    } else {
        for r in &readers {
            let card = match &r.card {
                Some(card) => Phrase::ReaderWithCard {
                    kind: card.kind.as_str(),
                    atr: &card.atr,
                },
                None => Phrase::ReaderEmpty,
            };
            println!("{}: {}", r.reader, messages::phrase(card, l));
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn kind_of(atr: &str) -> CardKind {
    hex::decode(atr)
        .map(|a| registry::kind_of(&a))
        .unwrap_or(CardKind::Unknown)
}

pub fn watch(common: &Common) -> Result<ExitCode, Failure> {
    let l = common.language;
    let mut monitor = Monitor::new()?;
    monitor.run(|event| {
        if common.json {
            let mut value = serde_json::to_value(&event).unwrap_or_default();
            if let ReaderEvent::CardInserted { atr, .. } = &event {
                value["kind"] = serde_json::json!(kind_of(atr).as_str());
            }
            println!("{value}");
        } else {
            let (reader, what) = match &event {
                ReaderEvent::ReaderAdded { reader } => (reader, Phrase::ReaderAdded),
                ReaderEvent::ReaderRemoved { reader } => (reader, Phrase::ReaderRemoved),
                ReaderEvent::CardInserted { reader, atr } => (
                    reader,
                    Phrase::CardInserted {
                        kind: kind_of(atr).as_str(),
                        atr,
                    },
                ),
                ReaderEvent::CardRemoved { reader } => (reader, Phrase::CardRemoved),
            };
            println!("{reader}: {}", messages::phrase(what, l));
        }
        // A closed stdout (a pipe to `head`) ends the watch.
        use std::io::Write;
        std::io::stdout().flush().is_ok()
    })?;
    Ok(ExitCode::SUCCESS)
}

/// One certificate on one card or token, as `podpis certs --json` prints it.
#[derive(Serialize)]
struct CertEntry {
    /// `apdu` (a card an APDU driver reads) or `pkcs11` (a token behind a module).
    tier: &'static str,
    /// The reader, or the PKCS#11 token's label.
    reader: String,
    /// The card family (APDU tier); null for a PKCS#11 token.
    kind: Option<CardKind>,
    /// The PKCS#11 module and slot; null on the APDU tier.
    module: Option<std::path::PathBuf>,
    slot: Option<u64>,
    token_serial: String,
    /// The card's key reference (APDU tier), or null.
    key: Option<u8>,
    /// The key's CKA_ID in hex (PKCS#11 tier), or null.
    key_id: Option<String>,
    #[serde(flatten)]
    info: CertificateInfo,
    findings: Vec<FindingEntry>,
}

#[derive(Serialize)]
struct FindingEntry {
    code: &'static str,
    severity: Severity,
    message: &'static str,
}

fn finding_entries(findings: &[Finding], common: &Common) -> Vec<FindingEntry> {
    findings
        .iter()
        .map(|f| FindingEntry {
            code: f.code.as_str(),
            severity: f.severity,
            message: messages::finding(f.code, common.language),
        })
        .collect()
}

/// Findings as lines for people: `!!` stops the signing, `! ` is a warning.
fn print_findings(findings: &[FindingEntry], out: impl Fn(String)) {
    for f in findings {
        let mark = match f.severity {
            Severity::Error => "!!",
            Severity::Warning => "! ",
        };
        out(format!("  {mark} {}: {}", f.code, f.message));
    }
}

pub fn certs(common: &Common, only: Option<&str>) -> Result<ExitCode, Failure> {
    let readers = token::list_readers()?;
    let certificates = common.certificates();
    let mut found = Vec::new();
    let mut failed: Option<Failure> = None;
    let mut fail = |place: &str, e: signing::TokenError| {
        let failure = Failure::from(e);
        common.say(&format!(
            "podpis: {place}: {}",
            failure.message(common.language)
        ));
        failed = Some(failure);
    };
    for r in readers
        .iter()
        .filter(|r| only.is_none_or(|o| o == r.reader))
        .filter(|r| r.card.as_ref().is_some_and(|c| c.kind != CardKind::Unknown))
    {
        match tokens::card_keys(&r.reader, &certificates, common.card_timeout) {
            Ok(keys) => found.extend(keys),
            Err(e) => fail(&r.reader, e),
        }
    }
    let tier = common.pkcs11();
    for report in &tier.failures {
        if let Some(e) = report.error() {
            fail(&report.module.display().to_string(), e);
        }
    }
    let (keys, errors) = tier.keys();
    for e in errors {
        fail("PKCS#11", e);
    }
    found.extend(
        keys.into_iter()
            .filter(|k| only.is_none_or(|o| o == k.source.place())),
    );
    let mut entries = Vec::new();
    for key in found {
        match CertificateInfo::parse(&key.certificate) {
            Ok(info) => entries.push(entry(key, info, common)),
            Err(e) => common.say(&format!(
                "podpis: {}: {}",
                key.source.place(),
                messages::error(
                    &FlowError::Card(signing::TokenError::Malformed(e.to_string())),
                    common.language
                )
            )),
        }
    }
    if entries.is_empty() {
        // Nothing could be read at all: the command failed.
        if let Some(failure) = failed {
            return Err(failure);
        }
    }
    if common.json {
        print_json(&entries);
    } else if entries.is_empty() {
        println!(
            "{}",
            messages::phrase(Phrase::NoCertificates, common.language)
        );
    } else {
        for e in &entries {
            print_certificate(common, e);
        }
    }
    Ok(match failed {
        Some(f) => ExitCode::from(crate::exit::code(&f)),
        None => ExitCode::SUCCESS,
    })
}

fn entry(key: FoundKey, info: CertificateInfo, common: &Common) -> CertEntry {
    let findings = finding_entries(&info.findings_at(SystemTime::now()), common);
    let (kind, module, slot, reference, key_id) = match &key.source {
        KeySource::Card {
            kind, reference, ..
        } => (Some(*kind), None, None, Some(*reference), None),
        KeySource::Pkcs11 { token, id, .. } => (
            None,
            Some(token.module.clone()),
            Some(token.slot),
            None,
            Some(hex::encode(id)),
        ),
    };
    CertEntry {
        tier: key.source.tier(),
        reader: key.source.place(),
        kind,
        module,
        slot,
        token_serial: key.token_serial,
        key: reference,
        key_id,
        findings,
        info,
    }
}

/// A certificate's fields as `certs` prints them (and `verify`, for each signer).
pub fn print_certificate_fields(i: &CertificateInfo, l: client::messages::Language) {
    let show = |field: Field, v: Option<&str>| {
        if let Some(v) = v {
            println!("  {:<11} {v}", messages::phrase(Phrase::Field(field), l));
        }
    };
    show(Field::Subject, Some(i.subject.as_deref().unwrap_or("-")));
    show(Field::Surname, i.surname.as_deref());
    show(Field::GivenNames, i.given_names.as_deref());
    show(Field::Snils, i.snils.as_deref());
    show(Field::Inn, i.inn.as_deref());
    show(Field::InnLe, i.inn_le.as_deref());
    show(Field::Ogrn, i.ogrn.as_deref());
    show(Field::Ogrnip, i.ogrnip.as_deref());
    show(Field::Issuer, Some(&i.issuer));
    show(
        Field::Validity,
        Some(&format!("{} — {}", i.not_before, i.not_after)),
    );
    show(Field::Algorithm, Some(&i.algorithm));
    show(Field::Sha256, Some(&i.sha256));
}

fn print_certificate(common: &Common, e: &CertEntry) {
    let l = common.language;
    let i = &e.info;
    let key = e
        .key
        .map(|k| k.to_string())
        .or_else(|| e.key_id.clone())
        .unwrap_or_default();
    let heading = Phrase::CertificateOnCard {
        kind: e.kind.map_or("pkcs11", CardKind::as_str),
        token: &e.token_serial,
        key: &key,
    };
    println!("{} ({})", e.reader, messages::phrase(heading, l));
    print_certificate_fields(i, l);
    print_findings(&e.findings, |line| println!("{line}"));
}

/// What `podpis sign` signs: the files and folders named, and where their signatures go.
pub struct Files<'a> {
    pub inputs: &'a [PathBuf],
    /// One file's signature path, instead of beside it.
    pub output: Option<&'a Path>,
    pub detached: bool,
    pub overwrite: bool,
}

/// Signs files, one PIN for all (`client::batch`): the card and key chosen as for a confirmation
/// (`client::flow::choose_key_remembering`), the same stops before the PIN, the PIN asked once
/// after saying how many tries are left. Nothing is asked when a signature file is already there
/// and `--overwrite` was not given: the command stops first, naming them.
pub fn sign(common: &Common, files: &Files<'_>, card: &CardOptions) -> Result<ExitCode, Failure> {
    let l = common.language;
    let form = if files.detached {
        Form::Detached
    } else {
        Form::Attached
    };
    let planned = match (files.output, files.inputs) {
        (Some(output), [input]) => vec![batch::plan_file(input, output)?],
        _ => batch::plan(files.inputs, form)?,
    };
    batch::refuse_existing(&planned, files.overwrite)?;
    let tier = common.pkcs11();
    let remembered = client::remembered::RememberedChoice::in_data_dir(&common.data_dir);
    let chosen = flow::choose_key_remembering(
        &card.choice(),
        &common.certificates(),
        common.card_timeout,
        &tier,
        remembered.certificate(),
    )?;
    print_findings(&finding_entries(&chosen.findings, common), |line| {
        common.say(&line)
    });
    if let Some(refusal) = chosen.refusal() {
        return Err(refusal.into());
    }
    let last_try_confirmed = last_try_consent(common, card, chosen.pin().is_last_try())?;
    let pin = read_pin(common, card, chosen.pin())?;
    let total = planned.len();
    let report = batch::sign_files(
        &chosen,
        &planned,
        form,
        pin,
        last_try_confirmed,
        files.overwrite,
        common.card_timeout,
        &tier,
        &|event| match event {
            BatchEvent::Signing { index, file, .. } if total > 1 => {
                let input = file.input.display().to_string();
                common.say(&messages::phrase(
                    Phrase::BatchSigning {
                        index,
                        total,
                        input: &input,
                    },
                    l,
                ));
            }
            BatchEvent::KeyAsksPinEachTime => {
                common.say(&messages::phrase(Phrase::KeyAsksPinEachTime, l));
            }
            _ => {}
        },
    );
    if report.signed() > 0 {
        remembered.remember(&chosen.certificate.sha256);
    }
    let failure = if report.all_signed() {
        None
    } else if report.signed() == 0 {
        // Nothing signed: the failure is the card's, or the one file's, as for a single file.
        Some(match (&report.stopped, report.files.as_slice()) {
            (Some(stopped), _) => Failure::from(stopped.clone()),
            (None, [only]) => file_failure(&only.outcome),
            (None, _) => Failure::local("batch-partial"),
        })
    } else {
        Some(Failure::local("batch-partial"))
    };
    if report.signed() == 0 && total == 1 {
        if let Some(failure) = failure {
            return Err(failure);
        }
    }
    if common.json {
        print_json(&batch_json(
            common,
            &chosen,
            files.detached,
            &report,
            failure.as_ref(),
        ));
    } else {
        print_batch(common, &report);
        if let Some(failure) = &failure {
            if let Some(stopped) = &report.stopped {
                eprintln!("podpis: {}", messages::error(stopped, l));
            }
            eprintln!("podpis: {}", failure.message(l));
        }
    }
    Ok(match &failure {
        Some(f) => ExitCode::from(crate::exit::code(f)),
        None => ExitCode::SUCCESS,
    })
}

/// The failure of a file that was not signed for a reason of its own.
fn file_failure(outcome: &Outcome) -> Failure {
    match outcome {
        Outcome::Failed(FileError::Token(e)) => Failure::from(e.clone()),
        Outcome::Failed(FileError::Read(detail)) => Failure::with_detail("file-read", detail),
        Outcome::Failed(FileError::Write(detail)) => Failure::with_detail("file-write", detail),
        Outcome::Failed(FileError::Changed) => Failure::local("file-changed"),
        Outcome::Failed(FileError::Exists) => Failure::local("file-exists"),
        _ => Failure::local("batch-partial"),
    }
}

/// A line per file for people: where its signature is, or why it has none.
fn print_batch(common: &Common, report: &BatchReport) {
    let l = common.language;
    for file in &report.files {
        let input = file.input.display().to_string();
        let line = match &file.outcome {
            Outcome::Signed { bytes } => messages::phrase(
                Phrase::Signed {
                    input: &input,
                    output: &file.output.display().to_string(),
                    bytes: *bytes,
                },
                l,
            ),
            Outcome::Failed(e) => {
                let reason = file_reason(e, l);
                messages::phrase(
                    Phrase::BatchFileFailed {
                        input: &input,
                        reason: &reason,
                    },
                    l,
                )
            }
            Outcome::NotSigned => messages::phrase(Phrase::BatchFileNotSigned { input: &input }, l),
        };
        println!("{line}");
    }
    if report.files.len() > 1 {
        let summary = Phrase::BatchSummary {
            signed: report.signed(),
            total: report.files.len(),
        };
        println!("{}", messages::phrase(summary, l));
    }
}

fn file_reason(e: &FileError, l: client::Language) -> String {
    match e {
        FileError::Token(e) => messages::error(e, l),
        FileError::Read(detail) | FileError::Write(detail) => {
            format!("{} ({detail})", messages::describe(&e.code(), l))
        }
        _ => messages::describe(&e.code(), l),
    }
}

/// `podpis sign --json`: the certificate, the form, a result per file and the counts; with one
/// file, its `out` and `bytes` at the top as well (as before batches).
fn batch_json(
    common: &Common,
    chosen: &flow::ChosenKey,
    detached: bool,
    report: &BatchReport,
    failure: Option<&Failure>,
) -> serde_json::Value {
    let l = common.language;
    let files: Vec<serde_json::Value> = report
        .files
        .iter()
        .map(|f| {
            let mut entry = serde_json::json!({ "in": f.input, "out": f.output });
            match &f.outcome {
                Outcome::Signed { bytes } => {
                    entry["status"] = "signed".into();
                    entry["bytes"] = (*bytes).into();
                }
                Outcome::Failed(e) => {
                    entry["status"] = "failed".into();
                    entry["code"] = e.code().into();
                    entry["message"] = file_reason(e, l).into();
                }
                Outcome::NotSigned => entry["status"] = "not-signed".into(),
            }
            entry
        })
        .collect();
    let mut body = serde_json::json!({
        "certificate": chosen.certificate.sha256,
        "detached": detached,
        "signed": report.signed(),
        "total": report.files.len(),
        "reauthenticated": report.reauthenticated,
        "stopped": report.stopped.as_ref().map(|e| serde_json::json!({
            "code": e.code(),
            "message": messages::error(e, l),
        })),
        "files": files,
    });
    if let [only] = report.files.as_slice() {
        body["out"] = serde_json::json!(only.output);
        if let Outcome::Signed { bytes } = only.outcome {
            body["bytes"] = bytes.into();
        }
    }
    if let Some(failure) = failure {
        body["error"] = serde_json::json!({
            "code": failure.code(),
            "message": failure.message(l),
        });
    }
    body
}

/// The PIN, asked after saying the tries left where the token counts them; none for a PIN pad
/// (the person is told to enter it on the reader).
pub fn read_pin(
    common: &Common,
    card: &CardOptions,
    state: PinInfo,
) -> Result<Option<Pin>, Failure> {
    let l = common.language;
    if !state.needs_typed_pin() {
        common.say(&messages::phrase(Phrase::EnterPinOnReader, l));
        return Ok(None);
    }
    let prompt = match state.tries_left() {
        Some(tries_left) => messages::phrase(Phrase::PinPrompt { tries_left }, l),
        None => messages::phrase(Phrase::PinPromptUncounted, l),
    };
    let text = prompt::secret(card.pin_stdin, &prompt)?;
    let pin = Pin::new(text.to_string()).map_err(signing::TokenError::PinFormat)?;
    Ok(Some(pin))
}

/// On the last PIN try, the person must say yes: `--allow-last-try`, or a yes at the terminal
/// (never when the PIN comes from standard input, which cannot also answer a question).
pub fn last_try_consent(
    common: &Common,
    card: &CardOptions,
    last_try: bool,
) -> Result<bool, Failure> {
    if !last_try || card.allow_last_try {
        return Ok(true);
    }
    let interactive = !card.pin_stdin && std::io::stdin().is_terminal();
    if interactive && prompt::ask(&messages::phrase(Phrase::LastTryQuestion, common.language)) {
        Ok(true)
    } else {
        Err(FlowError::LastTryNotConfirmed.into())
    }
}
