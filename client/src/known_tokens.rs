//! Which card is this, and what is missing: names for the cards that no driver of Podpis knows,
//! and, for the Russian signature tokens among them, the vendor's PKCS#11 module and whether it is
//! installed.
//!
//! Two sources:
//! - [`KnownTokens`]: `client/data/known-tokens.toml`, compiled in. ATR patterns of Rutoken,
//!   JaCarta, ESMART and eToken, each with its vendor and product, how it keeps its keys, and the
//!   module it needs (default paths per system, the vendor's download page). Data, not code: a
//!   new token is a new row there, with its source.
//! - [`AtrDatabase`]: pcsc-tools' `smartcard_list.txt`, read at run time where installed, for any
//!   other card. The file is large (about 0.5 MiB and 4000 entries), so it is read and parsed
//!   once per process, on first use ([`installed_database`]), never per card or per APDU.
//!
//! Both write ATRs as `smartcard_list.txt` does. That file's patterns are regular expressions
//! matched against the upper-case hex of the ATR with a space between bytes; the few constructs
//! it uses (`.`, `[...]` classes, `*` after an atom) are matched by [`AtrPattern`] without a regex
//! engine, and an entry written with anything else is skipped, not guessed at.

use std::collections::{BTreeMap, VecDeque};
use std::ffi::OsStr;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

/// The table, compiled into the binary so that a user's installation cannot lose it.
const TABLE: &str = include_str!("../data/known-tokens.toml");

/// The codes whose words ([`crate::messages::describe`]) the token check of `diagnose` gives.
pub const TOKEN_MODULE_MISSING: &str = "token-module-missing";
pub const TOKEN_CSP_CONTAINERS: &str = "token-csp-containers";
pub const CODES: &[&str] = &[TOKEN_MODULE_MISSING, TOKEN_CSP_CONTAINERS];

// ---------------------------------------------------------------------------------------------
// ATR patterns

/// An ATR pattern as `smartcard_list.txt` writes it: `3B 8B 01 52 75 ..`, with `..` for any
/// byte, `.` for any hex digit, `[...]` for a set of digits and `*` for a repeated atom.
/// Matched, as pcsc-tools' `ATR_analysis` matches it, against the whole ATR written in
/// upper-case hex with one space between bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AtrPattern {
    text: String,
    pieces: Vec<Piece>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Piece {
    atom: Atom,
    repeated: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Atom {
    Char(u8),
    Any,
    Class {
        negated: bool,
        ranges: Vec<(u8, u8)>,
    },
}

impl Atom {
    fn matches(&self, c: u8) -> bool {
        match self {
            Self::Char(x) => *x == c,
            Self::Any => true,
            Self::Class { negated, ranges } => {
                ranges.iter().any(|(lo, hi)| (*lo..=*hi).contains(&c)) != *negated
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PatternError {
    #[error("an empty ATR pattern")]
    Empty,
    #[error("ATR pattern {0:?}: {1:?} is regular-expression syntax this matcher does not take")]
    Unsupported(String, char),
    #[error("ATR pattern {0:?}: a character class is not closed")]
    UnclosedClass(String),
    #[error("ATR pattern {0:?}: `*` repeats nothing")]
    DanglingStar(String),
}

impl AtrPattern {
    pub fn parse(text: &str) -> Result<Self, PatternError> {
        let text = text.trim().to_ascii_uppercase();
        if text.is_empty() {
            return Err(PatternError::Empty);
        }
        let bytes = text.as_bytes();
        let mut pieces: Vec<Piece> = Vec::new();
        let mut i = 0;
        while i < bytes.len() {
            let atom = match bytes[i] {
                b'.' => Atom::Any,
                b'[' => {
                    let body_start = i + 1;
                    let Some(len) = bytes[body_start..].iter().position(|&b| b == b']') else {
                        return Err(PatternError::UnclosedClass(text.clone()));
                    };
                    i = body_start + len;
                    class(&bytes[body_start..i]).ok_or_else(|| {
                        PatternError::Unsupported(text.clone(), char::from(bytes[body_start]))
                    })?
                }
                b'*' => {
                    match pieces.last_mut() {
                        Some(last) if !last.repeated => last.repeated = true,
                        _ => return Err(PatternError::DanglingStar(text.clone())),
                    }
                    i += 1;
                    continue;
                }
                c @ (b'(' | b')' | b'|' | b'+' | b'?' | b'{' | b'}' | b'\\' | b'^' | b'$'
                | b']') => return Err(PatternError::Unsupported(text.clone(), char::from(c))),
                c => Atom::Char(c),
            };
            pieces.push(Piece {
                atom,
                repeated: false,
            });
            i += 1;
        }
        Ok(Self { text, pieces })
    }

    /// The pattern as written (upper case).
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// A pattern without wildcards: one ATR only.
    pub fn is_exact(&self) -> bool {
        self.pieces
            .iter()
            .all(|p| !p.repeated && matches!(p.atom, Atom::Char(_)))
    }

    /// Whole bytes only: two hex digits or `.` each, one space between. The form of the
    /// compiled-in table, where a `.*` would match more than its author meant.
    pub fn is_bytes(&self) -> bool {
        self.text
            .split(' ')
            .all(|byte| byte.len() == 2 && byte.bytes().all(|c| c.is_ascii_hexdigit() || c == b'.'))
    }

    pub fn matches(&self, atr: &[u8]) -> bool {
        self.matches_text(spaced_hex(atr).as_bytes())
    }

    /// Whether the pattern matches all of `text`: the positions of the text reachable after each
    /// piece, one row at a time (linear in text × pattern, whatever the stars).
    fn matches_text(&self, text: &[u8]) -> bool {
        let mut reachable = vec![false; text.len() + 1];
        reachable[0] = true;
        for piece in &self.pieces {
            let mut next = vec![false; text.len() + 1];
            for j in 0..=text.len() {
                next[j] = if piece.repeated {
                    reachable[j] || (j > 0 && next[j - 1] && piece.atom.matches(text[j - 1]))
                } else {
                    j > 0 && reachable[j - 1] && piece.atom.matches(text[j - 1])
                };
            }
            reachable = next;
        }
        reachable[text.len()]
    }
}

impl TryFrom<String> for AtrPattern {
    type Error = PatternError;

    fn try_from(text: String) -> Result<Self, PatternError> {
        Self::parse(&text)
    }
}

impl<'de> Deserialize<'de> for AtrPattern {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Self::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// The body of a `[...]` class: single digits and `a-b` ranges, `^` first to negate.
fn class(body: &[u8]) -> Option<Atom> {
    let (negated, body) = match body {
        [b'^', rest @ ..] => (true, rest),
        _ => (false, body),
    };
    if body.is_empty() {
        return None;
    }
    let mut ranges = Vec::new();
    let mut i = 0;
    while i < body.len() {
        if i + 2 < body.len() && body[i + 1] == b'-' {
            ranges.push((body[i], body[i + 2]));
            i += 3;
        } else {
            ranges.push((body[i], body[i]));
            i += 1;
        }
    }
    Some(Atom::Class { negated, ranges })
}

/// `3B 8B 01`: how `smartcard_list.txt` writes an ATR.
pub fn spaced_hex(atr: &[u8]) -> String {
    atr.iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(" ")
}

// ---------------------------------------------------------------------------------------------
// pcsc-tools' smartcard_list.txt

/// The ATR database of pcsc-tools: each entry an ATR pattern line and the tab-indented lines
/// that describe the card (the first its name, the next often a URL).
#[derive(Debug, Clone, Default)]
pub struct AtrDatabase {
    entries: Vec<Entry>,
    skipped: usize,
}

#[derive(Debug, Clone)]
struct Entry {
    pattern: AtrPattern,
    descriptions: Vec<String>,
}

/// The file is about 0.5 MiB; anything past this is not that file.
const DATABASE_MAX_BYTES: u64 = 8 << 20;

impl AtrDatabase {
    /// Reads the file's format: `#` comments, an ATR pattern line, tab-indented description lines,
    /// an empty line between entries. A pattern this matcher cannot take is skipped (counted in
    /// [`skipped`](Self::skipped)) with its descriptions.
    pub fn parse(text: &str) -> Self {
        let mut database = Self::default();
        // The entry that the next description line belongs to, if any.
        let mut open: Option<usize> = None;
        for line in text.lines() {
            if let Some(description) = line.strip_prefix('\t') {
                if let Some(index) = open {
                    let description = description.trim();
                    if !description.is_empty() {
                        database.entries[index]
                            .descriptions
                            .push(description.to_owned());
                    }
                }
                continue;
            }
            open = None;
            if line.starts_with('#') || line.trim().is_empty() {
                continue;
            }
            match AtrPattern::parse(line) {
                Ok(pattern) => {
                    database.entries.push(Entry {
                        pattern,
                        descriptions: Vec::new(),
                    });
                    open = Some(database.entries.len() - 1);
                }
                Err(_) => database.skipped += 1,
            }
        }
        database
    }

    /// Reads and parses the file at `path`; `None` when it cannot be read.
    pub fn read(path: &Path) -> Option<Self> {
        let file = std::fs::File::open(path).ok()?;
        let mut bytes = Vec::new();
        file.take(DATABASE_MAX_BYTES).read_to_end(&mut bytes).ok()?;
        Some(Self::parse(&String::from_utf8_lossy(&bytes)))
    }

    /// What the database says of a card: the descriptions of an entry whose pattern is exactly
    /// this ATR, else of the first entry whose pattern matches it. The file lists wildcard
    /// entries before exact ones of the same prefix, so the exact one is looked for first.
    pub fn describe(&self, atr: &[u8]) -> Option<&[String]> {
        let text = spaced_hex(atr);
        let matching = |exact: bool| {
            self.entries.iter().find(|e| {
                e.pattern.is_exact() == exact
                    && !e.descriptions.is_empty()
                    && e.pattern.matches_text(text.as_bytes())
            })
        };
        matching(true)
            .or_else(|| matching(false))
            .map(|e| e.descriptions.as_slice())
    }

    /// The card's name: the first description line.
    pub fn name(&self, atr: &[u8]) -> Option<&str> {
        self.describe(atr)?.first().map(String::as_str)
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Entries left out because their pattern uses syntax this matcher does not take.
    pub fn skipped(&self) -> usize {
        self.skipped
    }
}

/// Where pcsc-tools' `ATR_analysis` looks for the file, in its order: the copy a user updated
/// (`ATR_analysis -u`) before the one the package installed.
pub fn smartcard_list_paths() -> Vec<PathBuf> {
    let mut paths = Vec::new();
    let home = dirs::home_dir();
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| home.as_ref().map(|h| h.join(".cache")));
    if let Some(cache) = cache {
        paths.push(cache.join("smartcard_list.txt"));
    }
    if let Some(home) = home {
        paths.push(home.join(".smartcard_list.txt"));
    }
    for system in [
        "/usr/local/pcsc/smartcard_list.txt",
        "/usr/share/pcsc/smartcard_list.txt",
        "/usr/local/share/pcsc/smartcard_list.txt",
    ] {
        paths.push(PathBuf::from(system));
    }
    paths
}

/// The installed `smartcard_list.txt`, read and parsed on first use and kept for the process;
/// `None` where pcsc-tools is not installed.
pub fn installed_database() -> Option<&'static AtrDatabase> {
    static DATABASE: OnceLock<Option<AtrDatabase>> = OnceLock::new();
    DATABASE
        .get_or_init(|| {
            smartcard_list_paths()
                .iter()
                .find_map(|path| AtrDatabase::read(path))
        })
        .as_ref()
}

// ---------------------------------------------------------------------------------------------
// The table of signature tokens

/// How a token keeps its keys, which decides whether Podpis can sign with it at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Keys {
    /// The token signs itself, reached through its vendor's PKCS#11 module.
    OnToken,
    /// The token only stores a software CSP's key containers (CryptoPro, ViPNet); the CSP signs
    /// on the computer.
    CspContainers,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KnownToken {
    pub vendor: String,
    pub product: String,
    pub keys: Keys,
    /// The key of its module in the table's `modules`.
    #[serde(default)]
    pub module: Option<String>,
    pub atrs: Vec<AtrPattern>,
}

impl KnownToken {
    /// Vendor and product, as the diagnostics name the token.
    pub fn name(&self) -> String {
        format!("{} {}", self.vendor, self.product)
    }

    fn matches(&self, atr: &[u8], exact: bool) -> bool {
        self.atrs
            .iter()
            .any(|p| p.is_exact() == exact && p.matches(atr))
    }
}

/// A vendor's PKCS#11 module: where its installer puts it on each system, and where to get it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Module {
    pub name: String,
    /// The vendor's download page.
    pub download: String,
    #[serde(default)]
    pub linux: Vec<PathBuf>,
    #[serde(default)]
    pub windows: Vec<PathBuf>,
    #[serde(default)]
    pub macos: Vec<PathBuf>,
}

impl Module {
    /// The default install paths on the system Podpis runs on (none where no path is public).
    pub fn default_paths(&self) -> &[PathBuf] {
        if cfg!(target_os = "windows") {
            &self.windows
        } else if cfg!(target_os = "macos") {
            &self.macos
        } else {
            &self.linux
        }
    }

    /// The library's file name on this system, as its installer names it.
    pub fn library(&self) -> Option<&str> {
        self.library_names().first().and_then(|n| n.to_str())
    }

    /// The file names of the default paths, each once, in the table's order.
    fn library_names(&self) -> Vec<&OsStr> {
        let mut names: Vec<&OsStr> = Vec::new();
        for name in self.default_paths().iter().filter_map(|p| p.file_name()) {
            if !names.contains(&name) {
                names.push(name);
            }
        }
        names
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TableFile {
    tokens: Vec<KnownToken>,
    modules: BTreeMap<String, Module>,
}

#[derive(Debug, thiserror::Error)]
pub enum TableError {
    #[error("the known-tokens table does not read: {0}")]
    Toml(#[from] toml::de::Error),
    #[error("{0}: no ATR")]
    NoAtr(String),
    #[error("{0}: ATR pattern {1:?} is not whole bytes (two hex digits or dots each)")]
    NotBytes(String, String),
    #[error("{0}: module {1:?} is not in the table's modules")]
    UnknownModule(String, String),
    #[error("{0}: a token that signs itself needs its module named")]
    NoModule(String),
    #[error("module {0}: no default path on any system")]
    NoPath(String),
}

/// The compiled-in table of signature tokens and their modules.
#[derive(Debug, Default)]
pub struct KnownTokens {
    tokens: Vec<KnownToken>,
    modules: BTreeMap<String, Module>,
}

/// A card the table knows: the token, and its module when it needs one.
#[derive(Debug, Clone, Copy)]
pub struct Identified<'a> {
    pub token: &'a KnownToken,
    pub module: Option<&'a Module>,
}

impl KnownTokens {
    /// Parses and checks a table: every token has ATRs of whole bytes, and a token that signs
    /// itself names a module the table has.
    pub fn parse(text: &str) -> Result<Self, TableError> {
        let file: TableFile = toml::from_str(text)?;
        for token in &file.tokens {
            let name = token.name();
            if token.atrs.is_empty() {
                return Err(TableError::NoAtr(name));
            }
            if let Some(pattern) = token.atrs.iter().find(|p| !p.is_bytes()) {
                return Err(TableError::NotBytes(name, pattern.as_str().to_owned()));
            }
            match (&token.module, token.keys) {
                (Some(module), _) if !file.modules.contains_key(module) => {
                    return Err(TableError::UnknownModule(name, module.clone()));
                }
                (None, Keys::OnToken) => return Err(TableError::NoModule(name)),
                _ => {}
            }
        }
        if let Some((id, _)) = file
            .modules
            .iter()
            .find(|(_, m)| m.linux.is_empty() && m.windows.is_empty() && m.macos.is_empty())
        {
            return Err(TableError::NoPath(id.clone()));
        }
        Ok(Self {
            tokens: file.tokens,
            modules: file.modules,
        })
    }

    /// The table compiled into Podpis, parsed once. Its test checks that it parses; were it ever
    /// not to, no card would be named from it rather than the app failing.
    pub fn builtin() -> &'static Self {
        static TOKENS: OnceLock<KnownTokens> = OnceLock::new();
        TOKENS.get_or_init(|| Self::parse(TABLE).unwrap_or_default())
    }

    pub fn tokens(&self) -> &[KnownToken] {
        &self.tokens
    }

    pub fn module(&self, id: &str) -> Option<&Module> {
        self.modules.get(id)
    }

    /// The token with this ATR: a row naming the exact ATR before a row whose pattern matches.
    pub fn identify(&self, atr: &[u8]) -> Option<Identified<'_>> {
        let token = self
            .tokens
            .iter()
            .find(|t| t.matches(atr, true))
            .or_else(|| self.tokens.iter().find(|t| t.matches(atr, false)))?;
        Some(Identified {
            token,
            module: token.module.as_deref().and_then(|m| self.modules.get(m)),
        })
    }
}

/// What to call a card that no driver knows: the table's vendor and product, else the first line
/// pcsc-tools' database has for it, else nothing.
pub fn card_name(atr: &[u8]) -> Option<String> {
    if let Some(found) = KnownTokens::builtin().identify(atr) {
        return Some(found.token.name());
    }
    installed_database()?.name(atr).map(str::to_owned)
}

// ---------------------------------------------------------------------------------------------
// Is the module installed?

/// Where to look for an installed module besides its default paths: directories whose files are
/// compared by name, and trees walked (bounded) for vendors that install under `/opt`.
#[derive(Debug, Clone, Default)]
pub struct ModuleSearch {
    pub directories: Vec<PathBuf>,
    pub trees: Vec<PathBuf>,
}

/// A walk under `/opt` stops after this many entries or this depth: a slow disk or a huge tree
/// must not hold up the diagnostics.
const TREE_MAX_ENTRIES: usize = 20_000;
const TREE_MAX_DEPTH: usize = 6;

impl ModuleSearch {
    /// The usual library directories of this system (and their `pkcs11` subdirectories, where
    /// distributions put modules), and `/opt` on Linux.
    pub fn system() -> Self {
        let mut directories: Vec<PathBuf> = Vec::new();
        let mut trees = Vec::new();
        if cfg!(target_os = "windows") {
            let root = std::env::var_os("SystemRoot").unwrap_or_else(|| r"C:\Windows".into());
            directories.push(PathBuf::from(root).join("System32"));
        } else if cfg!(target_os = "macos") {
            directories
                .extend(["/usr/local/lib", "/opt/homebrew/lib", "/usr/lib"].map(PathBuf::from));
        } else {
            let multiarch = format!("/usr/lib/{}-linux-gnu", std::env::consts::ARCH);
            for base in [
                "/usr/lib",
                multiarch.as_str(),
                "/usr/lib64",
                "/usr/local/lib",
                "/usr/local/lib64",
            ] {
                directories.push(PathBuf::from(base));
                directories.push(Path::new(base).join("pkcs11"));
            }
            trees.push(PathBuf::from("/opt"));
        }
        Self { directories, trees }
    }

    /// Where `module` is installed: one of its default paths, else a file of its library's name
    /// in the directories, else under the trees. `None`: not installed, as far as can be seen.
    pub fn locate(&self, module: &Module) -> Option<PathBuf> {
        if let Some(path) = module.default_paths().iter().find(|p| p.is_file()) {
            return Some(path.clone());
        }
        let names = module.library_names();
        if names.is_empty() {
            return None;
        }
        for directory in &self.directories {
            if let Some(path) = names
                .iter()
                .map(|name| directory.join(name))
                .find(|p| p.is_file())
            {
                return Some(path);
            }
        }
        self.trees.iter().find_map(|tree| walk_for(tree, &names))
    }
}

/// Breadth first under `root`, not following directory links, for a file with one of `names`.
fn walk_for(root: &Path, names: &[&OsStr]) -> Option<PathBuf> {
    let mut queue = VecDeque::from([(root.to_path_buf(), 0usize)]);
    let mut seen = 0usize;
    while let Some((directory, depth)) = queue.pop_front() {
        let Ok(entries) = std::fs::read_dir(&directory) else {
            continue;
        };
        for entry in entries.flatten() {
            seen += 1;
            if seen > TREE_MAX_ENTRIES {
                return None;
            }
            let path = entry.path();
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            if kind.is_dir() {
                if depth + 1 < TREE_MAX_DEPTH {
                    queue.push_back((path, depth + 1));
                }
            } else if names.contains(&entry.file_name().as_os_str()) && path.is_file() {
                return Some(path);
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// ATR bytes from hex written with spaces where they help the reader.
    fn bytes(text: &str) -> Vec<u8> {
        hex::decode(text.replace(' ', "")).expect("hex")
    }

    fn pattern(text: &str) -> AtrPattern {
        AtrPattern::parse(text).expect("pattern")
    }

    #[test]
    fn an_exact_pattern_matches_its_atr_and_nothing_else() {
        let rutoken = pattern("3B 8B 01 52 75 74 6F 6B 65 6E 20 45 43 50 A0");
        assert!(rutoken.is_exact() && rutoken.is_bytes());
        assert!(rutoken.matches(&bytes("3B8B01527574 6F6B656E 20 454350 A0")));
        assert!(!rutoken.matches(&bytes("3B8B01527574 6F6B656E 20 454350 A1")));
        assert!(!rutoken.matches(&bytes("3B8B01527574 6F6B656E 20 454350")));
        assert!(!rutoken.matches(&bytes("3B8B01527574 6F6B656E 20 454350 A0 00")));
        assert!(!rutoken.matches(&[]));
    }

    #[test]
    fn wildcards_match_any_byte_or_digit_and_keep_the_length() {
        let sc = pattern(".. .. .. .. 52 75 74 6F 6B 65 6E 45 43 50 73 63");
        assert!(!sc.is_exact() && sc.is_bytes());
        assert!(sc.matches(&bytes("3B9C9600 527574 6F6B656E 454350 7363")));
        assert!(sc.matches(&bytes("00000000 527574 6F6B656E 454350 7363")));
        assert!(!sc.matches(&bytes("3B9C9600 527574 6F6B656E 454350 7364")));
        assert!(!sc.matches(&bytes("3B9C96 527574 6F6B656E 454350 7363")));

        // A masked nibble, as OpenSC's mask 0F writes it.
        let jacarta2 = pattern("3B FC 16 .. .. .. 73 C8 21 13 66 .1 .6 11 59 .. .1 2C");
        assert!(jacarta2.matches(&bytes("3BFC16 000000 73C8211366 0106 1159 00 01 2C")));
        assert!(jacarta2.matches(&bytes("3BFC16 A1B2C3 73C8211366 F1E6 1159 77 F1 2C")));
        assert!(!jacarta2.matches(&bytes("3BFC16 000000 73C8211366 0206 1159 00 01 2C")));
        // Case does not matter, as ATR_analysis matches with /i.
        assert!(pattern("3b 8b ..").matches(&bytes("3B8BFF")));
    }

    #[test]
    fn classes_and_stars_are_matched_as_regular_expressions() {
        // Patterns from smartcard_list.txt itself.
        let class = pattern("3B 65 00 00 9C 1[01] 01 01 03");
        assert!(class.matches(&bytes("3B6500009C 10 010103")));
        assert!(class.matches(&bytes("3B6500009C 11 010103")));
        assert!(!class.matches(&bytes("3B6500009C 12 010103")));
        let range = pattern("3B 75 94 00 00 62 02 02 0[1-3] 01");
        assert!(range.matches(&bytes("3B7594000062020203 01")));
        assert!(!range.matches(&bytes("3B7594000062020204 01")));
        let tail = pattern("3B EF 00 FF 81 31 42 45 .* 38");
        // As in Perl: the spaces around `.*` are in the pattern, so at least one byte between.
        assert!(!tail.matches(&bytes("3BEF00FF81314245 38")));
        assert!(tail.matches(&bytes("3BEF00FF81314245 01 38")));
        assert!(tail.matches(&bytes("3BEF00FF81314245 0102030405 38")));
        assert!(!tail.matches(&bytes("3BEF00FF81314245 0102030405 39")));
        assert!(!tail.is_bytes());
        let negated = pattern("3B [^0]0");
        assert!(negated.matches(&bytes("3B10")) && !negated.matches(&bytes("3B00")));
    }

    #[test]
    fn other_regular_expression_syntax_is_refused_not_guessed() {
        for text in [
            "3B (01|02)",
            "3B 0+",
            "3B 01?",
            "3B [01",
            "* 3B",
            "3B **",
            "",
            "3B \\d",
        ] {
            assert!(AtrPattern::parse(text).is_err(), "{text:?}");
        }
    }

    const SAMPLE: &str = "\
# smartcard_list.txt, a few entries of its own form
# syntax:
# ATR in regular expression form
# \\t descriptive text

3B 02 14 50
\tSchlumberger Multiflex 3k

3B 8B 01 52 75 74 6F 6B 65 6E .. .. .. .. ..
\tSome Rutoken, by a pattern

3B 8B 01 52 75 74 6F 6B 65 6E 20 45 43 50 A0
\tAktiv Rutoken ECP
\thttps://www.rutoken.ru/products/all/rutoken-ecp/

3B (01|02) 00
\tAn entry this matcher cannot take

3B EF 00 FF 81 31 42 45 .* 38
\tA card with a starred pattern
";

    #[test]
    fn the_pcsc_tools_database_names_cards_exact_entries_first() {
        let db = AtrDatabase::parse(SAMPLE);
        assert_eq!(db.len(), 4);
        assert_eq!(db.skipped(), 1);
        assert_eq!(
            db.name(&bytes("3B021450")),
            Some("Schlumberger Multiflex 3k")
        );
        // The exact entry wins over the pattern listed before it; its URL line comes along.
        let rutoken = bytes("3B8B01527574 6F6B656E 20 454350 A0");
        assert_eq!(
            db.describe(&rutoken),
            Some(
                &[
                    "Aktiv Rutoken ECP".to_owned(),
                    "https://www.rutoken.ru/products/all/rutoken-ecp/".to_owned()
                ][..]
            )
        );
        assert_eq!(
            db.name(&bytes("3B8B01527574 6F6B656E 6C697465 C2")),
            Some("Some Rutoken, by a pattern")
        );
        assert_eq!(
            db.name(&bytes("3BEF00FF81314245 AABB 38")),
            Some("A card with a starred pattern")
        );
        assert_eq!(db.name(&bytes("3B0100")), None);
        assert_eq!(db.name(&bytes("3B021451")), None);
    }

    #[test]
    fn the_installed_database_when_there_is_one_names_a_rutoken() {
        // pcsc-tools is installed by scripts/setup.sh; elsewhere there is nothing to read.
        let Some(db) = installed_database() else {
            return;
        };
        assert!(db.len() > 1000, "{} entries", db.len());
        assert!(db.skipped() < db.len() / 100, "{} skipped", db.skipped());
        let name = db
            .name(&bytes("3B8B01527574 6F6B656E 20 454350 A0"))
            .unwrap_or_default();
        assert!(name.contains("Rutoken ECP"), "{name}");
    }

    #[test]
    fn the_builtin_table_parses_and_names_each_family() {
        let table = KnownTokens::parse(TABLE).expect("client/data/known-tokens.toml");
        let named = |atr: &[u8]| table.identify(atr).map(|f| f.token.name());
        assert_eq!(
            named(&bytes("3B8B01527574 6F6B656E 20 454350 A0")).as_deref(),
            Some("Aktiv Rutoken ECP")
        );
        assert_eq!(
            named(&bytes("3BDC18FF8191FE1FC38073C821136601061159000128")).as_deref(),
            Some("Aladdin R.D. JaCarta PKI")
        );
        assert_eq!(
            named(&bytes("3B7C95000045534D415254474F53543130")).as_deref(),
            Some("ISBC ESMART Token GOST")
        );
        assert_eq!(
            named(&bytes("3BD518008131FE7D8073C82110F4")).as_deref(),
            Some("SafeNet eToken PRO (Java)")
        );
        // Rutoken ECP SC through OpenSC's mask, whatever its first four bytes.
        assert_eq!(
            named(&bytes("3B9C9600 527574 6F6B656E 454350 7363")).as_deref(),
            Some("Aktiv Rutoken ECP SC")
        );
        // The exact row wins over the masked one that matches it as well.
        assert_eq!(
            named(&bytes("3B9C97801140 5275746F6B656E454350 7363 C0")).as_deref(),
            Some("Aktiv Rutoken ECP 3.0 NFC")
        );
        assert!(named(&bytes("3B021450")).is_none());

        let rutoken = table
            .identify(&bytes("3B8B01527574 6F6B656E 20 454350 A0"))
            .expect("rutoken");
        assert_eq!(rutoken.token.keys, Keys::OnToken);
        let module = rutoken.module.expect("module");
        assert_eq!(
            module.download,
            "https://www.rutoken.ru/support/download/pkcs/"
        );
        if cfg!(target_os = "linux") {
            assert_eq!(module.library(), Some("librtpkcs11ecp.so"));
        }
        let lite = table
            .identify(&bytes("3B8B01527574 6F6B656E 6C697465 C2"))
            .expect("lite");
        assert_eq!(lite.token.keys, Keys::CspContainers);
    }

    #[test]
    fn every_module_of_the_table_names_its_library_on_linux_and_windows() {
        let table = KnownTokens::parse(TABLE).expect("table");
        for (id, module) in &table.modules {
            assert!(!module.linux.is_empty(), "{id}: no Linux path");
            assert!(!module.windows.is_empty(), "{id}: no Windows path");
            assert!(module.download.starts_with("https://"), "{id}");
            for path in module.linux.iter().chain(&module.macos) {
                assert!(path.is_absolute(), "{id}: {}", path.display());
            }
        }
        // Every token that signs itself has a module; every ATR is whole bytes.
        for token in table.tokens() {
            assert!(token.atrs.iter().all(AtrPattern::is_bytes));
            if token.keys == Keys::OnToken {
                assert!(token
                    .module
                    .as_deref()
                    .and_then(|m| table.module(m))
                    .is_some());
            }
        }
    }

    #[test]
    fn a_table_that_breaks_its_rules_is_refused() {
        let module =
            "[modules.m]\nname = \"m\"\ndownload = \"https://x\"\nlinux = [\"/usr/lib/m.so\"]\n";
        let token = |keys: &str, module: &str, atr: &str| {
            format!("[[tokens]]\nvendor = \"V\"\nproduct = \"P\"\nkeys = \"{keys}\"\n{module}atrs = [\"{atr}\"]\n")
        };
        let ok = format!("{}{module}", token("on-token", "module = \"m\"\n", "3B 00"));
        assert!(KnownTokens::parse(&ok).is_ok());
        for (table, what) in [
            (
                format!("{}{module}", token("on-token", "module = \"n\"\n", "3B 00")),
                "unknown module",
            ),
            (
                format!("{}{module}", token("on-token", "", "3B 00")),
                "no module",
            ),
            (
                format!("{}{module}", token("on-token", "module = \"m\"\n", "3B .*")),
                "not bytes",
            ),
            (
                format!("{}{module}", token("on-token", "module = \"m\"\n", "3B (0")),
                "bad pattern",
            ),
            (
                format!("{}{module}", token("nowhere", "module = \"m\"\n", "3B 00")),
                "bad keys",
            ),
        ] {
            assert!(KnownTokens::parse(&table).is_err(), "{what}");
        }
        assert!(KnownTokens::parse(&token("csp-containers", "", "3B 00")).is_err()); // no modules table
        let storage = format!("{}[modules]\n", token("csp-containers", "", "3B 00"));
        assert!(KnownTokens::parse(&storage).is_ok());
    }

    #[test]
    fn a_module_is_found_by_name_in_a_library_directory_or_under_a_tree() {
        let dir = tempfile::tempdir().expect("tmp");
        let module = Module {
            name: "test".into(),
            download: "https://example.invalid/".into(),
            linux: vec![PathBuf::from(
                "/nonexistent/podpis-test/libpodpis-test-module.so",
            )],
            windows: vec![PathBuf::from(
                r"C:\nonexistent\podpis-test\libpodpis-test-module.so",
            )],
            macos: vec![PathBuf::from(
                "/nonexistent/podpis-test/libpodpis-test-module.so",
            )],
        };
        let lib = dir.path().join("lib");
        let tree = dir.path().join("opt");
        let search = ModuleSearch {
            directories: vec![lib.clone()],
            trees: vec![tree.clone()],
        };
        assert_eq!(search.locate(&module), None);

        let deep = tree.join("vendor/product/x86_64");
        std::fs::create_dir_all(&deep).expect("mkdir");
        std::fs::write(deep.join("libpodpis-test-module.so"), b"").expect("write");
        if !cfg!(target_os = "windows") {
            assert_eq!(
                search.locate(&module),
                Some(deep.join("libpodpis-test-module.so"))
            );
        }

        std::fs::create_dir_all(&lib).expect("mkdir");
        std::fs::write(lib.join("libpodpis-test-module.so"), b"").expect("write");
        if !cfg!(target_os = "windows") {
            // The library directory is looked at before the tree.
            assert_eq!(
                search.locate(&module),
                Some(lib.join("libpodpis-test-module.so"))
            );
        }
        // A directory of that name is not the library.
        let other = ModuleSearch {
            directories: vec![dir.path().join("dirs")],
            trees: vec![],
        };
        std::fs::create_dir_all(dir.path().join("dirs/libpodpis-test-module.so")).expect("mkdir");
        assert_eq!(other.locate(&module), None);
    }

    #[test]
    fn the_codes_of_the_token_check_have_words() {
        // Until the words are in client/src/messages.rs this fails: describe() falls back to the
        // words of an unknown code.
        use crate::messages::{describe, Language};
        for language in [Language::Russian, Language::English] {
            let fallback = describe("podpis-test-no-such-code", language);
            for code in CODES {
                assert_ne!(describe(code, language), fallback, "{code}: no words yet");
            }
        }
    }
}
