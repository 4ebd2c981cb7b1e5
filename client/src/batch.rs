//! Signing files, one or many, with one PIN: the CLI's `podpis sign` and the app's Sign screen
//! share this.
//!
//! 1. [`plan`] (or [`plan_file`]) lists what will be signed, before any PIN: each file's name,
//!    size and SHA-256 and where its signature goes ([`signature_path`]: `FILE.p7s` attached,
//!    `FILE.sig` detached, beside the file); [`refuse_existing`] stops before the PIN when a
//!    signature file is already there and overwriting was not asked for.
//! 2. [`sign_files`] signs them in order with the PIN the person typed once. On a PKCS#11 token
//!    that is one `C_Login` and a `C_Sign` per file (a key with `CKA_ALWAYS_AUTHENTICATE` gets its
//!    context-specific login per file, and the caller hears so). The cards of docs/cards.md forget
//!    a VERIFY after each signature, so each file gets its own VERIFY, all in one card
//!    transaction (`Reader::begin_batch`): the PIN stays in zeroed memory (`Pin`) for this batch
//!    only and is wiped when it ends, however it ends.
//! 3. The first failure of the card or token (a wrong PIN, a card pulled) stops the batch at once:
//!    no second VERIFY follows a wrong PIN, and the files not reached are reported as not signed.
//!    A file's own trouble (it cannot be read, it changed since it was shown, its signature
//!    cannot be written) fails that file only. Every signature is written whole or not at all
//!    (a temporary file in the same directory, fsync, then a link or rename), so the files
//!    signed before a failure keep their signatures and nothing half-written stays.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use signing::cades::{self, Content};
use signing::pkcs11::{SigningBatch, ToSign};
use signing::token::{CardBatch, Reader};
use signing::{LastTry, Pin, TokenError};
use thiserror::Error;

use crate::flow::{ChosenKey, FlowError};
use crate::tokens::{KeySource, Pkcs11Tier};

/// A signature with the signed file inside it, or beside it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Form {
    Attached,
    Detached,
}

impl Form {
    pub fn content(self) -> Content {
        match self {
            Self::Attached => Content::Attached,
            Self::Detached => Content::Detached,
        }
    }

    /// The extension of the signature file: `.p7s` for a signature that carries the file, `.sig`
    /// for one that travels beside it (the names Russian signing software gives them).
    pub fn extension(self) -> &'static str {
        match self {
            Self::Attached => "p7s",
            Self::Detached => "sig",
        }
    }
}

/// Where the signature of `input` goes: beside it, its whole name and the form's extension
/// (`report.pdf` → `report.pdf.p7s`), so that the file it belongs to is plain to see.
pub fn signature_path(input: &Path, form: Form) -> PathBuf {
    let mut name = input.as_os_str().to_owned();
    name.push(".");
    name.push(form.extension());
    PathBuf::from(name)
}

/// Why a batch cannot even start: nothing is signed and no PIN is asked.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum BatchError {
    #[error("{}: {reason}", .path.display())]
    Read { path: PathBuf, reason: String },
    #[error("no files to sign in {}", .0.display())]
    Empty(PathBuf),
    /// Signature files already there, and overwriting them was not asked for.
    #[error("signature files exist: {}", list(.0))]
    Exists(Vec<PathBuf>),
    /// The same file named twice (its signature would be written twice).
    #[error("named twice: {}", .0.display())]
    Twice(PathBuf),
}

fn list(paths: &[PathBuf]) -> String {
    paths
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

impl BatchError {
    /// The code of the messages table.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Read { .. } => "file-read",
            Self::Empty(_) => "batch-empty",
            Self::Exists(_) => "file-exists",
            Self::Twice(_) => "file-twice",
        }
    }
}

/// A file to sign, as the person sees it before the PIN.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlannedFile {
    pub input: PathBuf,
    pub output: PathBuf,
    /// The file's name, without its directory.
    pub name: String,
    pub size: u64,
    /// SHA-256 of the file's bytes, in hex (what `sha256sum` prints); checked again when the
    /// file is signed, so that what is signed is what was shown.
    pub sha256: String,
    /// A file is already where the signature would go.
    pub output_exists: bool,
}

/// The files named: a file as it is, a directory as the files directly in it (sorted by name;
/// not its subdirectories, hidden files, or signatures and temporary files of an earlier run).
pub fn expand(paths: &[PathBuf]) -> Result<Vec<PathBuf>, BatchError> {
    let mut files = Vec::new();
    for path in paths {
        let meta = std::fs::metadata(path).map_err(|e| read_error(path, &e))?;
        if !meta.is_dir() {
            files.push(path.clone());
            continue;
        }
        let entries = std::fs::read_dir(path).map_err(|e| read_error(path, &e))?;
        let mut inside: Vec<PathBuf> = entries
            .flatten()
            .map(|entry| entry.path())
            .filter(|p| p.is_file() && !skipped_in_directory(p))
            .collect();
        if inside.is_empty() {
            return Err(BatchError::Empty(path.clone()));
        }
        inside.sort();
        files.extend(inside);
    }
    Ok(files)
}

/// What signing a directory leaves out: hidden files, and what signing makes (signatures and
/// temporary files), so that signing a directory again does not sign its signatures.
fn skipped_in_directory(path: &Path) -> bool {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
    name.starts_with('.') || ["p7s", "sig", "part"].contains(&ext)
}

fn read_error(path: &Path, e: &std::io::Error) -> BatchError {
    BatchError::Read {
        path: path.to_path_buf(),
        reason: e.to_string(),
    }
}

/// The files named ([`expand`]), each with its signature beside it in `form`.
pub fn plan(paths: &[PathBuf], form: Form) -> Result<Vec<PlannedFile>, BatchError> {
    let mut planned: Vec<PlannedFile> = Vec::new();
    // Each file by its canonical path, once: the same file under two names is still one file.
    let mut seen = std::collections::HashSet::new();
    for input in expand(paths)? {
        let canonical = std::fs::canonicalize(&input).unwrap_or_else(|_| input.clone());
        if !seen.insert(canonical) {
            return Err(BatchError::Twice(input));
        }
        let output = signature_path(&input, form);
        planned.push(plan_file(&input, &output)?);
    }
    Ok(planned)
}

/// One file, its signature going to `output`.
pub fn plan_file(input: &Path, output: &Path) -> Result<PlannedFile, BatchError> {
    let mut file = std::fs::File::open(input).map_err(|e| read_error(input, &e))?;
    let mut hasher = Sha256::new();
    let mut size = 0u64;
    let mut buffer = vec![0u8; 64 * 1024];
    loop {
        let n = file.read(&mut buffer).map_err(|e| read_error(input, &e))?;
        if n == 0 {
            break;
        }
        hasher.update(&buffer[..n]);
        size += n as u64;
    }
    Ok(PlannedFile {
        input: input.to_path_buf(),
        output: output.to_path_buf(),
        name: input.file_name().map_or_else(
            || input.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        ),
        size,
        sha256: hex::encode(hasher.finalize()),
        output_exists: output.exists(),
    })
}

/// Stops before the PIN when a signature would replace a file that is there, unless `overwrite`.
pub fn refuse_existing(files: &[PlannedFile], overwrite: bool) -> Result<(), BatchError> {
    let existing: Vec<PathBuf> = files
        .iter()
        .filter(|f| f.output.exists())
        .map(|f| f.output.clone())
        .collect();
    if overwrite || existing.is_empty() {
        Ok(())
    } else {
        Err(BatchError::Exists(existing))
    }
}

/// Why one file was not signed.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum FileError {
    #[error("cannot read it: {0}")]
    Read(String),
    /// Its bytes are not those shown before the PIN (their SHA-256 differs): not signed.
    #[error("it changed since it was shown")]
    Changed,
    /// A file appeared where its signature goes after the batch began.
    #[error("its signature file exists")]
    Exists,
    #[error("cannot write its signature: {0}")]
    Write(String),
    /// The card or token failed on this file; the batch stopped here.
    #[error(transparent)]
    Token(FlowError),
}

impl FileError {
    pub fn code(&self) -> String {
        match self {
            Self::Read(_) => "file-read".into(),
            Self::Changed => "file-changed".into(),
            Self::Exists => "file-exists".into(),
            Self::Write(_) => "file-write".into(),
            Self::Token(e) => e.code(),
        }
    }
}

/// What became of one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Its signature is written, `bytes` long.
    Signed {
        bytes: usize,
    },
    Failed(FileError),
    /// The batch stopped before it (see [`BatchReport::stopped`]).
    NotSigned,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileResult {
    pub input: PathBuf,
    pub output: PathBuf,
    pub outcome: Outcome,
}

/// The batch as it ended.
#[derive(Debug, Clone)]
pub struct BatchReport {
    /// One per planned file, in order.
    pub files: Vec<FileResult>,
    /// The card's or token's failure that stopped the batch, if one did.
    pub stopped: Option<FlowError>,
    /// The key asked for the PIN again at each signature (`CKA_ALWAYS_AUTHENTICATE`).
    pub reauthenticated: bool,
}

impl BatchReport {
    pub fn signed(&self) -> usize {
        self.files
            .iter()
            .filter(|f| matches!(f.outcome, Outcome::Signed { .. }))
            .count()
    }

    pub fn all_signed(&self) -> bool {
        self.signed() == self.files.len()
    }
}

/// Progress, as the files are signed.
#[derive(Debug, Clone)]
pub enum BatchEvent<'a> {
    /// File `index` (from 0) of `total` is being signed.
    Signing {
        index: usize,
        total: usize,
        file: &'a PlannedFile,
    },
    /// File `index` is done, one way or another.
    Done {
        index: usize,
        total: usize,
        result: &'a FileResult,
    },
    /// The key asks for the PIN before every signature: Podpis gives it the one typed, each time
    /// (on a PIN pad, the person enters it at each file).
    KeyAsksPinEachTime,
}

/// How the batch reaches the key: one signature at a time through the card's driver, or one
/// login on the PKCS#11 token opened at the first signature.
enum KeySession<'a> {
    Card {
        reader: Reader,
        reference: u8,
        batch: Option<CardBatch>,
    },
    Pkcs11 {
        tier: &'a Pkcs11Tier,
        batch: Option<SigningBatch>,
    },
}

/// Signs `files` in order with the chosen key, the PIN given once (`None` only for a PIN pad),
/// as the module's documentation says. On the last PIN try the caller must pass
/// `last_try_confirmed`. A file whose signature appeared after planning is not replaced unless
/// `overwrite`. Blocks on the card or module: call it off the async runtime.
#[allow(clippy::too_many_arguments)]
pub fn sign_files(
    chosen: &ChosenKey,
    files: &[PlannedFile],
    form: Form,
    pin: Option<Pin>,
    last_try_confirmed: bool,
    overwrite: bool,
    deadline: Duration,
    tier: &Pkcs11Tier,
    on_event: &dyn Fn(BatchEvent<'_>),
) -> BatchReport {
    // The PIN lives in `pin` until the batch ends: `Pin` wipes it when this frame is left,
    // whether every file was signed or the first VERIFY failed.
    let mut report = BatchReport {
        files: files
            .iter()
            .map(|f| FileResult {
                input: f.input.clone(),
                output: f.output.clone(),
                outcome: Outcome::NotSigned,
            })
            .collect(),
        stopped: None,
        reauthenticated: false,
    };
    let before = chosen.refusal().or_else(|| {
        (chosen.key.pin.is_last_try() && !last_try_confirmed)
            .then_some(FlowError::LastTryNotConfirmed)
    });
    if let Some(refusal) = before {
        report.stopped = Some(refusal);
        return report;
    }
    let last_try = LastTry::from_confirmed(last_try_confirmed);
    let mut session = match &chosen.key.source {
        KeySource::Card {
            reader, reference, ..
        } => KeySession::Card {
            reader: Reader::new(reader.clone()).with_deadline(deadline),
            reference: *reference,
            batch: None,
        },
        KeySource::Pkcs11 { .. } => KeySession::Pkcs11 { tier, batch: None },
    };
    let mut pin = pin;
    let total = files.len();
    for (index, file) in files.iter().enumerate() {
        on_event(BatchEvent::Signing { index, total, file });
        let outcome = match sign_one(chosen, file, form, &mut session, &mut pin, last_try) {
            Ok(cms) => match write_new(&file.output, &cms, overwrite) {
                Ok(()) => Outcome::Signed { bytes: cms.len() },
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    Outcome::Failed(FileError::Exists)
                }
                Err(e) => Outcome::Failed(FileError::Write(e.to_string())),
            },
            Err(Stop::File(e)) => Outcome::Failed(e),
            Err(Stop::Batch(e)) => {
                report.stopped = Some(e.clone());
                Outcome::Failed(FileError::Token(e))
            }
        };
        if let KeySession::Pkcs11 {
            batch: Some(batch), ..
        } = &session
        {
            if batch.always_authenticate() && !report.reauthenticated {
                report.reauthenticated = true;
                on_event(BatchEvent::KeyAsksPinEachTime);
            }
        }
        report.files[index].outcome = outcome;
        on_event(BatchEvent::Done {
            index,
            total,
            result: &report.files[index],
        });
        if report.stopped.is_some() {
            break;
        }
    }
    // The module's thread logs out when the batch is dropped; the PIN is wiped with it.
    drop(session);
    drop(pin);
    report
}

enum Stop {
    /// This file only.
    File(FileError),
    /// The card or token: the batch ends here.
    Batch(FlowError),
}

fn sign_one(
    chosen: &ChosenKey,
    file: &PlannedFile,
    form: Form,
    session: &mut KeySession<'_>,
    pin: &mut Option<Pin>,
    last_try: LastTry,
) -> Result<Vec<u8>, Stop> {
    let content =
        std::fs::read(&file.input).map_err(|e| Stop::File(FileError::Read(e.to_string())))?;
    if hex::encode(Sha256::digest(&content)) != file.sha256 {
        return Err(Stop::File(FileError::Changed));
    }
    let malformed =
        |e: cades::CadesError| Stop::Batch(FlowError::Card(TokenError::Malformed(e.to_string())));
    let prepared = cades::prepare(
        &content,
        &chosen.key.certificate,
        chosen.key.algorithm,
        SystemTime::now(),
        form.content(),
    )
    .map_err(malformed)?;
    drop(content);
    let token = |e: TokenError| {
        Stop::Batch(match e {
            TokenError::LastTryNotConfirmed => FlowError::LastTryNotConfirmed,
            e => FlowError::Card(e),
        })
    };
    let signature = match session {
        KeySession::Card {
            reader,
            reference,
            batch,
        } => {
            if batch.is_none() {
                let pin = pin
                    .take()
                    .ok_or_else(|| token(signing::pkcs11::Pkcs11Error::PinRequired.into()))?;
                // One transaction for the batch; the card thread holds the PIN for a VERIFY per
                // signature and drops it, wiped, when the batch ends.
                *batch = Some(
                    reader
                        .begin_batch(*reference, chosen.key.algorithm, pin, last_try)
                        .map_err(token)?,
                );
            }
            let Some(batch) = batch.as_mut() else {
                return Err(token(TokenError::Malformed("no card transaction".into())));
            };
            batch
                .sign(prepared.digest_to_sign().to_vec())
                .map_err(token)?
        }
        KeySession::Pkcs11 { tier, batch } => {
            if batch.is_none() {
                let KeySource::Pkcs11 {
                    token: id,
                    id: key_id,
                    ..
                } = &chosen.key.source
                else {
                    return Err(token(TokenError::Malformed("not a PKCS#11 key".into())));
                };
                let module = tier.module(&id.module).map_err(token)?;
                // The module's thread holds the PIN for the login (and a context-specific one per
                // signature) and drops it, wiped, when the batch ends.
                *batch = Some(
                    module
                        .begin_batch(id, key_id, chosen.key.algorithm, pin.take(), last_try)
                        .map_err(token)?,
                );
            }
            let Some(batch) = batch.as_mut() else {
                return Err(token(TokenError::Malformed("no PKCS#11 session".into())));
            };
            batch
                .sign(ToSign::data(
                    prepared.algorithm(),
                    prepared.signed_attributes().to_vec(),
                ))
                .map_err(token)?
        }
    };
    prepared.finish(&signature).map_err(malformed)
}

/// Writes `bytes` to `path` whole or not at all: a temporary file in the same directory, fsync,
/// then a hard link to the name (which fails when a file is already there, so nothing is
/// replaced unasked even if it appeared a moment ago) or, with `overwrite`, a rename; then the
/// directory is synced. A file system without hard links (FAT on a USB stick) gets the rename
/// after a look that the name is free. The temporary file never stays behind.
pub fn write_new(path: &Path, bytes: &[u8], overwrite: bool) -> std::io::Result<()> {
    use std::io::Write;
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.{}.part", std::process::id()));
    let written = (|| {
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        drop(file);
        if overwrite {
            return std::fs::rename(&tmp, path);
        }
        match std::fs::hard_link(&tmp, path) {
            Ok(()) => std::fs::remove_file(&tmp),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Err(e),
            Err(_) if path.exists() => Err(std::io::ErrorKind::AlreadyExists.into()),
            Err(_) => std::fs::rename(&tmp, path),
        }
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written?;
    crate::durable::sync_directory_of(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_go_beside_their_files_with_the_forms_extension() {
        assert_eq!(
            signature_path(Path::new("/d/report.pdf"), Form::Attached),
            PathBuf::from("/d/report.pdf.p7s")
        );
        assert_eq!(
            signature_path(Path::new("report.pdf"), Form::Detached),
            PathBuf::from("report.pdf.sig")
        );
    }

    #[test]
    fn a_directory_gives_its_files_but_not_its_signatures_or_hidden_files() {
        let dir = tempfile::tempdir().expect("tmp");
        for name in [
            "b.txt",
            "a.txt",
            "a.txt.p7s",
            "a.txt.sig",
            ".hidden",
            "x.part",
        ] {
            std::fs::write(dir.path().join(name), name).expect("write");
        }
        std::fs::create_dir(dir.path().join("sub")).expect("sub");
        std::fs::write(dir.path().join("sub").join("c.txt"), "c").expect("write");
        let files = expand(&[dir.path().to_path_buf()]).expect("expand");
        let names: Vec<_> = files
            .iter()
            .map(|p| p.file_name().expect("name").to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["a.txt", "b.txt"]);
        let empty = tempfile::tempdir().expect("tmp");
        assert_eq!(
            expand(&[empty.path().to_path_buf()]),
            Err(BatchError::Empty(empty.path().to_path_buf()))
        );
    }

    #[test]
    fn a_plan_shows_size_and_digest_and_refuses_to_replace_a_signature() {
        let dir = tempfile::tempdir().expect("tmp");
        let a = dir.path().join("a.txt");
        std::fs::write(&a, "abc").expect("write");
        let planned = plan(std::slice::from_ref(&a), Form::Attached).expect("plan");
        assert_eq!(planned[0].size, 3);
        assert_eq!(
            planned[0].sha256,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert!(refuse_existing(&planned, false).is_ok());
        std::fs::write(dir.path().join("a.txt.p7s"), "old").expect("write");
        assert_eq!(
            refuse_existing(&planned, false),
            Err(BatchError::Exists(vec![dir.path().join("a.txt.p7s")]))
        );
        assert!(refuse_existing(&planned, true).is_ok());
        assert_eq!(
            plan(&[a.clone(), a.clone()], Form::Attached),
            Err(BatchError::Twice(a))
        );
    }

    #[test]
    fn a_new_file_is_written_whole_and_never_replaces_one_unasked() {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("a.p7s");
        write_new(&path, b"first", false).expect("write");
        let refused = write_new(&path, b"second", false).expect_err("exists");
        assert_eq!(refused.kind(), std::io::ErrorKind::AlreadyExists);
        assert_eq!(std::fs::read(&path).expect("read"), b"first");
        write_new(&path, b"third", true).expect("overwrite");
        assert_eq!(std::fs::read(&path).expect("read"), b"third");
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .expect("dir")
            .flatten()
            .map(|e| e.file_name())
            .collect();
        assert_eq!(
            names,
            vec![std::ffi::OsString::from("a.p7s")],
            "no temporary file stays"
        );
    }
}
