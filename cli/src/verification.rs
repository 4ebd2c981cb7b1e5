//! `podpis verify`: checks a signature file (any signer, ours or another tool's) and says, for
//! each signer, whether the signature is valid and why not, with the certificate as `certs`
//! shows it, the chain and its revocation state. The checking is the `verify` crate's; the words
//! are `client::messages`'; the exit code says valid, invalid or could-not-check.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use client::messages::{self, VerifyPhrase};
use serde::Serialize;
use signing::certificate::FindingCode;
use verify::{Report, Source, Trust};

use crate::failure::Failure;
use crate::{exit, print_json, Common};

/// A signature file is small; a document to check may be large but is read whole by OpenSSL.
const MAX_SIGNATURE: u64 = 64 * 1024 * 1024;

pub struct VerifyArgs<'a> {
    pub file: &'a Path,
    pub content: Option<&'a Path>,
    pub trust: &'a [PathBuf],
    pub crls: &'a [PathBuf],
    pub sandbox: Option<&'a Path>,
    pub offline: bool,
}

/// The report as `--json` prints it: the verification's data, and the words of each code in it.
#[derive(Serialize)]
struct JsonReport<'a> {
    file: String,
    #[serde(flatten)]
    report: &'a Report,
    /// The verdict in words.
    message: &'static str,
    /// Every reason and finding of the report, with its words.
    messages: Vec<messages::Worded>,
}

fn read(path: &Path, max: u64) -> Result<Vec<u8>, Failure> {
    let failure =
        |e: std::io::Error| Failure::with_detail("file-read", format!("{}: {e}", path.display()));
    let size = std::fs::metadata(path).map_err(failure)?.len();
    if size > max {
        return Err(Failure::with_detail(
            "file-read",
            format!("{}: {size} bytes", path.display()),
        ));
    }
    std::fs::read(path).map_err(failure)
}

pub fn run(common: &Common, args: &VerifyArgs<'_>) -> Result<ExitCode, Failure> {
    let signature = read(args.file, MAX_SIGNATURE)?;
    let content = match args.content {
        Some(path) => Some(read(path, u64::MAX)?),
        None => None,
    };
    let mut trust = Trust::new();
    let bad_file = |e: verify::TrustError| Failure::with_detail("file-read", e.to_string());
    trust.add_system().map_err(bad_file)?;
    for path in args.trust {
        trust
            .add_file(path, Source::User(path.clone()))
            .map_err(bad_file)?;
    }
    if let Some(dir) = args.sandbox {
        trust.add_sandbox(dir).map_err(bad_file)?;
    }
    for path in args.crls {
        trust.add_crl_file(path).map_err(bad_file)?;
    }
    let options = verify::Options {
        content,
        online: !args.offline,
        ..verify::Options::default()
    };
    let report = verify::verify(&signature, &trust, &options);
    let l = common.language;
    if common.json {
        print_json(&JsonReport {
            file: args.file.display().to_string(),
            report: &report,
            message: messages::verify_verdict(report.verdict, l),
            messages: messages::verify_report_words(&report, l),
        });
    } else {
        print_report(common, args.file, &report);
    }
    Ok(ExitCode::from(exit::verdict(report.verdict)))
}

fn print_report(common: &Common, file: &Path, report: &Report) {
    let l = common.language;
    println!("{}", messages::verify_verdict(report.verdict, l));
    for reason in &report.reasons {
        println!(
            "  !! {}: {}",
            reason.as_str(),
            messages::verify_reason(*reason, l)
        );
    }
    if let Some(form) = &report.form {
        let phrase = VerifyPhrase::File {
            path: &file.display().to_string(),
            cades: form.kind == "cades-bes",
            attached: form.attached,
        };
        println!("{}", messages::verify_phrase(phrase, l));
    }
    for (index, signer) in report.signers.iter().enumerate() {
        println!();
        println!(
            "{} {}",
            messages::verify_phrase(VerifyPhrase::Signer { number: index + 1 }, l),
            messages::verify_verdict(signer.verdict, l)
        );
        for reason in &signer.reasons {
            println!(
                "  !! {}: {}",
                reason.as_str(),
                messages::verify_reason(*reason, l)
            );
        }
        if let Some(i) = &signer.certificate {
            crate::cards::print_certificate_fields(i, l);
            println!(
                "  {}",
                messages::verify_phrase(VerifyPhrase::Qualified(signer.qualified), l)
            );
        }
        match &signer.signing_time {
            Some(time) => println!(
                "  {} {time}",
                messages::verify_phrase(VerifyPhrase::SigningTime, l)
            ),
            None => println!(
                "  {}",
                messages::verify_phrase(VerifyPhrase::NoSigningTime, l)
            ),
        }
        if !signer.chain.is_empty() {
            println!("  {}", messages::verify_phrase(VerifyPhrase::Chain, l));
            for (n, link) in signer.chain.iter().enumerate() {
                let state =
                    messages::verify_phrase(VerifyPhrase::Revocation(link.revocation.status), l);
                let mut line = format!("    {}. {} — {state}", n + 1, link.subject);
                if let Some(at) = &link.revocation.revoked_at {
                    line.push_str(&format!(" ({at})"));
                }
                if let Some(source) = &link.trusted_root {
                    line.push_str(&format!(
                        " ({})",
                        messages::verify_phrase(VerifyPhrase::Root(source), l)
                    ));
                }
                println!("{line}");
                for checked in &link.revocation.checked {
                    println!(
                        "       {} {}: {}",
                        checked.source, checked.place, checked.answer
                    );
                }
            }
        }
        print_findings(&signer.findings, common);
        if !signer.details.is_empty() {
            println!(
                "  {} {}",
                messages::verify_phrase(VerifyPhrase::Details, l),
                signer.details.join("; ")
            );
        }
    }
    println!();
    print_trust(report, common);
}

fn print_findings(findings: &[FindingCode], common: &Common) {
    for f in findings {
        let mark = match f.severity() {
            signing::certificate::Severity::Error => "!!",
            signing::certificate::Severity::Warning => "! ",
        };
        println!(
            "  {mark} {}: {}",
            f.as_str(),
            messages::finding(*f, common.language)
        );
    }
}

/// Which roots were trusted: always said.
fn print_trust(report: &Report, common: &Common) {
    let l = common.language;
    let trust = &report.trust;
    let mut parts = Vec::new();
    if let Some(system) = &trust.system {
        parts.push(messages::verify_phrase(
            VerifyPhrase::SystemStore {
                path: &system.path.display().to_string(),
                count: system.roots,
            },
            l,
        ));
    }
    for root in &trust.roots {
        parts.push(format!(
            "{} ({})",
            root.subject,
            messages::verify_phrase(VerifyPhrase::Root(&root.source), l)
        ));
    }
    if parts.is_empty() {
        parts.push(messages::verify_phrase(VerifyPhrase::NoRoots, l));
    }
    println!(
        "{} {}",
        messages::verify_phrase(VerifyPhrase::TrustedRoots, l),
        parts.join("; ")
    );
    if !trust.crls.is_empty() {
        let files: Vec<String> = trust.crls.iter().map(|p| p.display().to_string()).collect();
        println!(
            "{} {}",
            messages::verify_phrase(VerifyPhrase::Crls, l),
            files.join(", ")
        );
    }
    println!(
        "{}",
        messages::verify_phrase(VerifyPhrase::Online(report.online), l)
    );
}
