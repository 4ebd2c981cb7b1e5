//! The PKCS#11 tier of the running app: which modules it uses, loading them off the UI thread,
//! loading them again when the person's list changes, and what each one's state is.
//!
//! A module is foreign code. `client::tokens` probes each one in a child process before this
//! process loads it (a module that crashes takes the child down, not the app); here the probes
//! and the loads run on a thread of their own, so the window is up while they work. Commands that
//! use the tier wait for the load in progress ([`Pkcs11Holder::tier`]); the settings screen does
//! not wait, it shows the modules as loading and is told by an event when they are loaded.
//!
//! The app's first load waits until something uses the tier ([`Pkcs11Holder::defer`]): a person
//! who only logs in or reads the history never has the modules, their libraries (OpenSC's
//! pulls in OpenSSL) and their threads in the process (BENCHMARKS.md, memory).
//!
//! A module is initialised once in this process and stays loaded until the app exits, even after
//! the person removes it from the list (it is then no longer used). PKCS#11 allows one
//! `C_Initialize` per process: opening it again beside a live copy would fail, and the old copy's
//! `C_Finalize` would pull the module from under the new one.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::Duration;

use client::tokens::{Pkcs11Settings, Pkcs11Tier};
use serde::Serialize;
use signing::pkcs11::discovery::{self, FoundModule, ModuleSource};
use signing::pkcs11::probe::{ProbeOutcome, ProbeReport};
use signing::pkcs11::{Module, Pkcs11Error};
use signing::TokenError;

/// How the app finds, probes and opens modules. The app's is [`SystemLoader`]; tests script it.
pub trait Loader: Send + Sync {
    /// The modules on this system besides the ones named (p11-kit's and the vendors' paths).
    fn discover(&self, named: &[PathBuf]) -> Vec<FoundModule>;
    /// Probes (or recalls the probe of) the module in a child process, then opens it here if the
    /// probe said it loads. Blocks. `Err` is the probe's report of why not.
    fn open(&self, path: &Path) -> Result<Module, Box<ProbeReport>>;
    /// A fresh probe in a child process, nothing loaded here: what the person is shown before
    /// they confirm a module. Blocks.
    fn probe(&self, path: &Path) -> ProbeReport;
}

/// The platform's modules, the probes of `client::tokens` (their verdicts remembered in the data
/// directory, as the CLI's are), and `deadline` for every call into a module.
pub struct SystemLoader {
    pub data_dir: PathBuf,
    pub deadline: Duration,
}

impl Loader for SystemLoader {
    fn discover(&self, named: &[PathBuf]) -> Vec<FoundModule> {
        discovery::discover(named)
    }

    fn open(&self, path: &Path) -> Result<Module, Box<ProbeReport>> {
        let one = Pkcs11Settings {
            modules: vec![path.to_path_buf()],
            discover: false,
        };
        let tier = Pkcs11Tier::load(&one, &self.data_dir, self.deadline);
        match (
            tier.modules.into_iter().next(),
            tier.failures.into_iter().next(),
        ) {
            (Some(module), _) => Ok(module),
            (None, Some(failure)) => Err(Box::new(failure)),
            (None, None) => Err(Box::new(ProbeReport {
                module: path.to_path_buf(),
                outcome: ProbeOutcome::NoReport {
                    detail: "the tier neither opened nor refused the module".into(),
                },
            })),
        }
    }

    fn probe(&self, path: &Path) -> ProbeReport {
        client::tokens::probe_and_remember(path, &self.data_dir)
    }
}

/// Why a module is in use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// The person added it in the settings (and may remove it there).
    Added,
    /// Found on this system: registered with p11-kit, or at a vendor's default path.
    System(ModuleSource),
    /// Named by the test variable of a debug build ([`test_modules`]).
    Test,
}

/// One module of a load: where it came from, and the module or why it is not used.
#[derive(Debug, Clone)]
pub struct Entry {
    pub path: PathBuf,
    pub origin: Origin,
    pub outcome: Result<Module, TokenError>,
}

/// What one load produced.
#[derive(Debug, Default)]
pub struct Loaded {
    /// The request this load answered; 0 before the first load.
    generation: u64,
    pub tier: Pkcs11Tier,
    pub entries: Vec<Entry>,
}

/// The latest request: its number and the modules the person's settings named then.
struct Request {
    generation: u64,
    added: Vec<PathBuf>,
    /// Whether any request was made (the first one answers the load due from the start).
    made: bool,
    /// The first request waits for the tier's first use ([`Pkcs11Holder::defer`]).
    deferred: bool,
}

/// The app's PKCS#11 tier, loaded in the background and loaded again on request.
pub struct Pkcs11Holder {
    loader: Arc<dyn Loader>,
    discover: bool,
    test_modules: Vec<PathBuf>,
    request: Mutex<Request>,
    /// Every module opened in this process, by path (see the module's comment). Held for the
    /// whole of a load: loads run one at a time.
    opened: Mutex<HashMap<PathBuf, Module>>,
    published: tokio::sync::watch::Sender<Arc<Loaded>>,
    /// Told after every load (the app emits `pkcs11://changed`).
    on_change: OnceLock<Box<dyn Fn() + Send + Sync>>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Pkcs11Holder {
    /// Nothing is loaded until [`Self::request`]; until the first load is done, [`Self::tier`]
    /// waits for it.
    pub fn new(loader: Arc<dyn Loader>, discover: bool, test_modules: Vec<PathBuf>) -> Self {
        Self {
            loader,
            discover,
            test_modules,
            // The first load is due from the start: a command that comes before it waits.
            request: Mutex::new(Request {
                generation: 1,
                added: Vec::new(),
                made: false,
                deferred: false,
            }),
            opened: Mutex::new(HashMap::new()),
            published: tokio::sync::watch::Sender::new(Arc::new(Loaded::default())),
            on_change: OnceLock::new(),
        }
    }

    /// The app's: the system's modules (unless `PODPIS_PKCS11_DISCOVERY=0`), probed with the
    /// verdicts kept in `data_dir`, and in a debug build the test variable's modules.
    pub fn for_app(data_dir: &Path, deadline: Duration) -> Self {
        let discover = Pkcs11Settings::from_env(Vec::new()).discover;
        let loader = SystemLoader {
            data_dir: data_dir.to_path_buf(),
            deadline,
        };
        Self::new(Arc::new(loader), discover, test_modules())
    }

    pub fn loader(&self) -> &dyn Loader {
        self.loader.as_ref()
    }

    /// Whether the system's modules are used too (else only the named ones).
    pub fn discovers(&self) -> bool {
        self.discover
    }

    /// `notify` is called after each load. Set once; later calls are ignored.
    pub fn on_change(&self, notify: impl Fn() + Send + Sync + 'static) {
        let _ = self.on_change.set(Box::new(notify));
    }

    /// Loads the tier again, on a thread of its own, with `added` as the person's modules.
    /// Requests made while a load runs are answered by one load after it, with the latest list.
    pub fn request(self: &Arc<Self>, added: Vec<PathBuf>) {
        let generation = {
            let mut request = lock(&self.request);
            // The first request is the one that was due from the start.
            if request.made {
                request.generation += 1;
            }
            request.made = true;
            request.deferred = false;
            request.added = added;
            request.generation
        };
        self.start_load(generation);
    }

    /// The first load, with `added` as the person's modules, made only when the tier is first
    /// used ([`Self::tier`], [`Self::loaded`], [`Self::latest`], [`Self::loading`]). Nothing is
    /// loaded if a request was made already.
    pub fn defer(&self, added: Vec<PathBuf>) {
        let mut request = lock(&self.request);
        if !request.made {
            request.added = added;
            request.deferred = true;
        }
    }

    /// Makes the deferred first request, once.
    fn start_deferred(self: &Arc<Self>) {
        let generation = {
            let mut request = lock(&self.request);
            if !request.deferred {
                return;
            }
            request.deferred = false;
            request.made = true;
            request.generation
        };
        self.start_load(generation);
    }

    fn start_load(self: &Arc<Self>, generation: u64) {
        let holder = Arc::clone(self);
        let spawned = std::thread::Builder::new()
            .name("podpis-pkcs11-load".into())
            .spawn(move || holder.load(generation));
        if let Err(e) = spawned {
            // No thread: load here rather than leave the commands waiting for ever.
            eprintln!("podpis-desktop: no thread to load PKCS#11 modules: {e}");
            self.load(generation);
        }
    }

    /// Answers request `generation`, unless a later one was made (whose load follows). Blocks.
    fn load(&self, generation: u64) {
        let mut opened = lock(&self.opened);
        let added = {
            let request = lock(&self.request);
            if request.generation != generation {
                return;
            }
            request.added.clone()
        };
        let mut entries: Vec<(PathBuf, Origin)> = Vec::new();
        for (paths, origin) in [(&added, Origin::Added), (&self.test_modules, Origin::Test)] {
            for path in paths {
                if !entries.iter().any(|(p, _)| p == path) {
                    entries.push((path.clone(), origin.clone()));
                }
            }
        }
        if self.discover {
            let named: Vec<PathBuf> = entries.iter().map(|(p, _)| p.clone()).collect();
            for found in self.loader.discover(&named) {
                // The named ones are in already (discovery returns them first, when they exist).
                if found.source != ModuleSource::User && !named.contains(&found.path) {
                    entries.push((found.path, Origin::System(found.source)));
                }
            }
        }
        let mut loaded = Loaded {
            generation,
            ..Loaded::default()
        };
        for (path, origin) in entries {
            let outcome = match opened.get(&path) {
                Some(module) => Ok(module.clone()),
                None => match self.loader.open(&path) {
                    Ok(module) => {
                        opened.insert(path.clone(), module.clone());
                        Ok(module)
                    }
                    Err(report) => {
                        let error = failure_of(&report);
                        loaded.tier.failures.push(*report);
                        Err(error)
                    }
                },
            };
            if let Ok(module) = &outcome {
                loaded.tier.modules.push(module.clone());
            }
            loaded.entries.push(Entry {
                path,
                origin,
                outcome,
            });
        }
        drop(opened);
        self.published.send_replace(Arc::new(loaded));
        if let Some(notify) = self.on_change.get() {
            notify();
        }
    }

    /// Whether a load asked for has not finished yet.
    pub fn loading(self: &Arc<Self>) -> bool {
        self.start_deferred();
        self.published.borrow().generation < lock(&self.request).generation
    }

    /// The latest load, finished or not: what the settings screen shows at once.
    pub fn latest(self: &Arc<Self>) -> Arc<Loaded> {
        self.start_deferred();
        Arc::clone(&self.published.borrow())
    }

    /// The tier once the loads asked for so far are done.
    pub async fn loaded(self: &Arc<Self>) -> Arc<Loaded> {
        self.start_deferred();
        let target = lock(&self.request).generation;
        let mut published = self.published.subscribe();
        let result = match published.wait_for(|l| l.generation >= target).await {
            Ok(loaded) => Arc::clone(&loaded),
            // The holder owns the sender, so this cannot be; the latest load then.
            Err(_) => self.latest(),
        };
        result
    }

    /// The tier once the loads asked for so far are done.
    pub async fn tier(self: &Arc<Self>) -> Pkcs11Tier {
        self.loaded().await.tier.clone()
    }
}

/// A probe's report as the error the rest of the tier reports. A module whose probe said it
/// loads but that did not open here is reported as not loadable.
pub fn failure_of(report: &ProbeReport) -> TokenError {
    report.error().unwrap_or_else(|| {
        Pkcs11Error::ModuleNotLoadable {
            module: report.module.clone(),
            reason: "it loaded in its probe but not in Podpis".into(),
        }
        .into()
    })
}

/// The variable that names modules for the app to load without the person's confirmation, for
/// the WebDriver tests, which cannot answer the native dialogs.
#[cfg(debug_assertions)]
pub const TEST_MODULES_VARIABLE: &str = "PODPIS_TEST_PKCS11_MODULES";

/// The modules the test variable names (paths separated as in `PATH`). Only a debug build reads
/// it: in a release build no variable, setting or flag makes the app load code the person did not
/// confirm, and this function is compiled to nothing.
pub fn test_modules() -> Vec<PathBuf> {
    #[cfg(debug_assertions)]
    {
        std::env::var_os(TEST_MODULES_VARIABLE)
            .map(|paths| {
                std::env::split_paths(&paths)
                    .filter(|p| !p.as_os_str().is_empty())
                    .collect()
            })
            .unwrap_or_default()
    }
    #[cfg(not(debug_assertions))]
    {
        Vec::new()
    }
}

/// A token of a loaded module, as the settings and the PIN screen show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TokenView {
    /// The token's label: where its keys are, as the confirmation names it.
    pub label: String,
    pub serial: String,
    pub manufacturer: String,
    pub model: String,
    pub module: String,
    pub slot: u64,
    /// The PIN is typed on the reader's keypad.
    pub pin_on_reader: bool,
}

impl TokenView {
    pub fn new(token: &signing::pkcs11::Token) -> Self {
        Self {
            label: token.label.clone(),
            serial: token.id.serial.clone(),
            manufacturer: token.manufacturer.clone(),
            model: token.model.clone(),
            module: token.id.module.display().to_string(),
            slot: token.id.slot,
            pin_on_reader: !token.pin.needs_typed_pin(),
        }
    }
}

/// The tokens of every loaded module, with the errors met on the way. Blocks on the modules.
pub fn tokens(tier: &Pkcs11Tier) -> (Vec<TokenView>, Vec<TokenError>) {
    let mut views = Vec::new();
    let mut errors = Vec::new();
    for module in &tier.modules {
        match module.tokens() {
            Ok(tokens) => views.extend(tokens.iter().map(TokenView::new)),
            Err(e) => errors.push(e),
        }
    }
    (views, errors)
}

#[cfg(test)]
pub mod tests {
    use super::*;

    /// A loader that opens nothing: every module is refused as its script says (missing unless
    /// named), and the probe answers with the report it is given.
    #[derive(Default)]
    pub struct Scripted {
        pub system: Vec<PathBuf>,
        pub refusals: HashMap<PathBuf, ProbeOutcome>,
        pub probe: Option<ProbeOutcome>,
        pub opened: Mutex<Vec<PathBuf>>,
    }

    impl Loader for Scripted {
        fn discover(&self, named: &[PathBuf]) -> Vec<FoundModule> {
            let user = named.iter().map(|path| FoundModule {
                path: path.clone(),
                source: ModuleSource::User,
            });
            let system = self.system.iter().map(|path| FoundModule {
                path: path.clone(),
                source: ModuleSource::Vendor { vendor: "OpenSC" },
            });
            user.chain(system).collect()
        }

        fn open(&self, path: &Path) -> Result<Module, Box<ProbeReport>> {
            lock(&self.opened).push(path.to_path_buf());
            Err(Box::new(ProbeReport {
                module: path.to_path_buf(),
                outcome: self
                    .refusals
                    .get(path)
                    .cloned()
                    .unwrap_or(ProbeOutcome::Missing),
            }))
        }

        fn probe(&self, path: &Path) -> ProbeReport {
            ProbeReport {
                module: path.to_path_buf(),
                outcome: self.probe.clone().unwrap_or(ProbeOutcome::Missing),
            }
        }
    }

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime")
    }

    #[test]
    fn the_tier_is_waited_for_and_loaded_again_with_the_new_list() {
        let crashing = PathBuf::from("/opt/vendor/libcrashes.so");
        let loader = Arc::new(Scripted {
            system: vec![PathBuf::from("/usr/lib/opensc-pkcs11.so")],
            refusals: HashMap::from([(
                crashing.clone(),
                ProbeOutcome::Crashed {
                    signal: Some(6),
                    exit_code: None,
                    stderr: String::new(),
                },
            )]),
            ..Scripted::default()
        });
        let holder = Arc::new(Pkcs11Holder::new(loader.clone(), true, Vec::new()));
        assert!(holder.loading(), "the first load is due from the start");
        let (changes_tx, changes) = std::sync::mpsc::channel();
        holder.on_change(move || {
            let _ = changes_tx.send(());
        });
        holder.request(vec![crashing.clone()]);
        let loaded = runtime().block_on(holder.loaded());
        assert!(!holder.loading());
        changes
            .recv_timeout(Duration::from_secs(10))
            .expect("told of the load");
        let paths: Vec<_> = loaded.entries.iter().map(|e| e.path.clone()).collect();
        assert_eq!(
            paths,
            [crashing.clone(), PathBuf::from("/usr/lib/opensc-pkcs11.so")]
        );
        assert_eq!(loaded.entries[0].origin, Origin::Added);
        assert!(matches!(loaded.entries[1].origin, Origin::System(_)));
        assert_eq!(
            loaded.entries[0].outcome.as_ref().err(),
            Some(&TokenError::Pkcs11(Pkcs11Error::ModuleCrashed {
                module: crashing.clone(),
                how: "signal 6".into()
            }))
        );
        assert_eq!(loaded.tier.failures.len(), 2);
        assert!(loaded.tier.modules.is_empty());

        // The list changes: loaded again, without the removed module.
        holder.request(Vec::new());
        let again = runtime().block_on(holder.loaded());
        assert_eq!(again.entries.len(), 1);
        assert_eq!(
            again.entries[0].path,
            PathBuf::from("/usr/lib/opensc-pkcs11.so")
        );
    }

    #[test]
    fn a_deferred_first_load_waits_for_the_first_use_and_runs_once() {
        let added = PathBuf::from("/home/me/lib.so");
        let loader = Arc::new(Scripted::default());
        let holder = Arc::new(Pkcs11Holder::new(loader.clone(), false, Vec::new()));
        holder.defer(vec![added.clone()]);
        std::thread::sleep(Duration::from_millis(200));
        assert!(
            lock(&loader.opened).is_empty(),
            "loaded before anything used the tier"
        );
        // The first use loads the person's modules; later uses do not load them again.
        let loaded = runtime().block_on(holder.loaded());
        assert_eq!(loaded.entries.len(), 1);
        assert_eq!(loaded.entries[0].path, added);
        runtime().block_on(holder.tier());
        assert!(!holder.loading());
        assert_eq!(
            lock(&loader.opened).as_slice(),
            std::slice::from_ref(&added)
        );

        // A request made before the first use replaces the deferred one.
        let loader = Arc::new(Scripted::default());
        let holder = Arc::new(Pkcs11Holder::new(loader.clone(), false, Vec::new()));
        holder.defer(vec![added]);
        let chosen = PathBuf::from("/home/me/other.so");
        holder.request(vec![chosen.clone()]);
        let loaded = runtime().block_on(holder.loaded());
        assert_eq!(loaded.entries[0].path, chosen);
        assert_eq!(loaded.generation, 1);
        assert_eq!(*lock(&loader.opened), [chosen]);
    }

    #[test]
    fn without_discovery_only_the_named_modules_are_tried() {
        let loader = Arc::new(Scripted {
            system: vec![PathBuf::from("/usr/lib/opensc-pkcs11.so")],
            ..Scripted::default()
        });
        let test = PathBuf::from("/tmp/libtest.so");
        let holder = Arc::new(Pkcs11Holder::new(loader.clone(), false, vec![test.clone()]));
        holder.request(vec![PathBuf::from("/home/me/lib.so"), test.clone()]);
        let loaded = runtime().block_on(holder.loaded());
        let origins: Vec<_> = loaded
            .entries
            .iter()
            .map(|e| (e.path.clone(), e.origin.clone()))
            .collect();
        // A module both added and named by the test variable is tried once, as the person's.
        assert_eq!(
            origins,
            [
                (PathBuf::from("/home/me/lib.so"), Origin::Added),
                (test, Origin::Added)
            ]
        );
        assert_eq!(lock(&loader.opened).len(), 2);
    }

    #[test]
    fn the_failure_of_a_usable_report_is_not_loadable() {
        let report = ProbeReport {
            module: "/x.so".into(),
            outcome: ProbeOutcome::Loaded {
                library: signing::pkcs11::probe::LibraryInfo {
                    manufacturer: "M".into(),
                    description: "D".into(),
                    library_version: "1.0".into(),
                    cryptoki_version: "2.40".into(),
                },
                slots: Vec::new(),
            },
        };
        assert_eq!(
            client::flow::card_code(&failure_of(&report)),
            "pkcs11-module-not-loadable"
        );
    }
}
