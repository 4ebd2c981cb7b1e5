//! Where the PKCS#11 modules on this machine are, found the way the platform expects: the modules
//! p11-kit has registered, the default install paths of the vendor modules that users install
//! for their tokens, and the modules the user added by path. Nothing is loaded here: a module
//! found is only a file that exists, named with where it came from (docs/pkcs11.md, "The tier",
//! cites each vendor path).

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use serde::Serialize;

/// Where a module was found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum ModuleSource {
    /// The user added this path (a setting, `--pkcs11-module PATH`).
    User,
    /// Registered with p11-kit by this configuration file.
    P11Kit { config: PathBuf },
    /// A vendor's module at one of its default install paths.
    Vendor { vendor: &'static str },
}

/// A module file that exists, and where it was found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FoundModule {
    pub path: PathBuf,
    pub source: ModuleSource,
}

/// A vendor's PKCS#11 library, by the file names its installers use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VendorModule {
    pub vendor: &'static str,
    pub file_names: &'static [&'static str],
}

/// The vendor modules Podpis looks for, in the order they are listed. The file names are the
/// ones the vendors' Linux packages install (docs/pkcs11.md lists the source of each).
pub const VENDOR_MODULES: &[VendorModule] = &[
    VendorModule {
        vendor: "Rutoken",
        file_names: &["librtpkcs11ecp.so"],
    },
    VendorModule {
        vendor: "JaCarta",
        file_names: &["libjcPKCS11-2.so"],
    },
    VendorModule {
        vendor: "ESMART",
        file_names: &["libisbc_pkcs11_main.so"],
    },
    VendorModule {
        vendor: "SafeNet eToken",
        file_names: &["libeTPkcs11.so"],
    },
    VendorModule {
        vendor: "OpenSC",
        file_names: &["opensc-pkcs11.so"],
    },
];

/// The directories searched, so that tests can point discovery at a directory of their own.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Places {
    /// p11-kit's configuration directories, from the package's to the user's: a file in a
    /// later directory replaces a file of the same name in an earlier one, as in p11-kit.
    pub p11kit_config_dirs: Vec<PathBuf>,
    /// Where p11-kit resolves a relative `module:` name.
    pub p11kit_module_dirs: Vec<PathBuf>,
    /// Where the vendors' installers put their libraries.
    pub library_dirs: Vec<PathBuf>,
}

impl Places {
    /// This system's places: on Linux, p11-kit's package, system and user configuration and
    /// the library directories of Debian-like (multiarch), Red Hat-like (lib64) and other
    /// distributions, each also with its `pkcs11/` subdirectory.
    pub fn system() -> Self {
        let mut places = Self::default();
        if cfg!(target_os = "linux") {
            places.p11kit_config_dirs = vec![
                PathBuf::from("/usr/share/p11-kit/modules"),
                PathBuf::from("/etc/pkcs11/modules"),
            ];
            if let Some(home) = std::env::var_os("HOME") {
                places
                    .p11kit_config_dirs
                    .push(Path::new(&home).join(".config/pkcs11/modules"));
            }
            let mut lib_dirs = Vec::new();
            if let Some(triple) = multiarch_triple() {
                lib_dirs.push(PathBuf::from(format!("/usr/lib/{triple}")));
            }
            lib_dirs.extend(["/usr/lib64", "/usr/lib", "/usr/local/lib"].map(PathBuf::from));
            places.p11kit_module_dirs = lib_dirs.iter().map(|d| d.join("pkcs11")).collect();
            for dir in &lib_dirs {
                places.library_dirs.push(dir.clone());
                places.library_dirs.push(dir.join("pkcs11"));
            }
        }
        places
    }
}

/// Debian's multiarch directory name for this build's architecture.
fn multiarch_triple() -> Option<&'static str> {
    match std::env::consts::ARCH {
        "x86_64" => Some("x86_64-linux-gnu"),
        "aarch64" => Some("aarch64-linux-gnu"),
        "x86" => Some("i386-linux-gnu"),
        "arm" => Some("arm-linux-gnueabihf"),
        "riscv64" => Some("riscv64-linux-gnu"),
        _ => None,
    }
}

/// The modules on this system and the ones the user added, each once.
pub fn discover(user_added: &[PathBuf]) -> Vec<FoundModule> {
    discover_in(&Places::system(), user_added)
}

/// The modules in `places` and the ones the user added: the user's first (they chose them),
/// then p11-kit's, then the vendors' default paths. Only existing files are returned, and a
/// library reached by two paths (a symlink, a p11-kit entry for a vendor's file) is returned
/// once, under its first finding.
pub fn discover_in(places: &Places, user_added: &[PathBuf]) -> Vec<FoundModule> {
    let mut found = Seen::default();
    for path in user_added {
        found.add(path.clone(), ModuleSource::User);
    }
    for (config, module) in p11kit_modules(places) {
        if let Some(path) = resolve_module(&module, &places.p11kit_module_dirs) {
            found.add(path, ModuleSource::P11Kit { config });
        }
    }
    for vendor in VENDOR_MODULES {
        for dir in &places.library_dirs {
            for name in vendor.file_names {
                found.add(
                    dir.join(name),
                    ModuleSource::Vendor {
                        vendor: vendor.vendor,
                    },
                );
            }
        }
    }
    found.modules
}

#[derive(Default)]
struct Seen {
    modules: Vec<FoundModule>,
    canonical: HashSet<PathBuf>,
}

impl Seen {
    fn add(&mut self, path: PathBuf, source: ModuleSource) {
        if !path.is_file() {
            return;
        }
        let canonical = std::fs::canonicalize(&path).unwrap_or_else(|_| path.clone());
        if self.canonical.insert(canonical) {
            self.modules.push(FoundModule { path, source });
        }
    }
}

/// The `(config file, module: value)` of every p11-kit registration that names a token module,
/// a later directory's file replacing an earlier one of the same name. A module marked
/// `trust-policy: yes` is p11-kit's store of trusted certificates, not a token: it is left out.
fn p11kit_modules(places: &Places) -> Vec<(PathBuf, String)> {
    let mut by_name: Vec<(std::ffi::OsString, PathBuf)> = Vec::new();
    for dir in &places.p11kit_config_dirs {
        let Ok(entries) = std::fs::read_dir(dir) else {
            continue;
        };
        let mut files: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "module"))
            .collect();
        files.sort();
        for file in files {
            let Some(name) = file.file_name().map(|n| n.to_os_string()) else {
                continue;
            };
            match by_name.iter_mut().find(|(n, _)| *n == name) {
                Some(entry) => entry.1 = file,
                None => by_name.push((name, file)),
            }
        }
    }
    by_name
        .into_iter()
        .filter_map(|(_, file)| {
            // A registration file is a few lines; a large one is not one.
            let meta = std::fs::metadata(&file).ok()?;
            if meta.len() > 64 * 1024 {
                return None;
            }
            let text = std::fs::read_to_string(&file).ok()?;
            let config = P11KitConfig::parse(&text);
            (!config.trust_policy)
                .then_some(config.module)
                .flatten()
                .map(|m| (file, m))
        })
        .collect()
}

/// What Podpis reads of a p11-kit module registration (pkcs11.conf(5)): `key: value` lines,
/// `#` comments.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct P11KitConfig {
    /// The `module:` value: a path, or a file name relative to p11-kit's module directory.
    pub module: Option<String>,
    /// `trust-policy: yes`: the module is a store of trust anchors.
    pub trust_policy: bool,
}

impl P11KitConfig {
    pub fn parse(text: &str) -> Self {
        let mut config = Self::default();
        for line in text.lines() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let Some((key, value)) = line.split_once(':') else {
                continue;
            };
            let value = value.trim();
            match key.trim() {
                "module" if !value.is_empty() => config.module = Some(value.to_owned()),
                "trust-policy" => config.trust_policy = matches!(value, "yes" | "true"),
                _ => {}
            }
        }
        config
    }
}

/// A `module:` value as p11-kit resolves it: an absolute path as it is, a relative name in the
/// first module directory that has it.
fn resolve_module(module: &str, module_dirs: &[PathBuf]) -> Option<PathBuf> {
    let path = Path::new(module);
    if path.is_absolute() {
        return Some(path.to_path_buf());
    }
    module_dirs
        .iter()
        .map(|dir| dir.join(path))
        .find(|candidate| candidate.is_file())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_gives_the_module_line_and_the_trust_flag() {
        let opensc = "# This file describes how to load the opensc module\n\
                      # See: http://p11-glue.freedesktop.org/doc/p11-kit/config.html\n\
                      module: opensc-pkcs11.so\n";
        assert_eq!(
            P11KitConfig::parse(opensc),
            P11KitConfig {
                module: Some("opensc-pkcs11.so".into()),
                trust_policy: false
            }
        );
        let trust = "module: p11-kit-trust.so\npriority: 1\ntrust-policy: yes\n\
                     x-trust-lookup: pkcs11:library-description=PKCS%2311%20Kit%20Trust%20Module\n";
        assert!(P11KitConfig::parse(trust).trust_policy);
        assert_eq!(P11KitConfig::parse("priority: 3\n").module, None);
    }

    fn touch(path: &Path) {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).expect("dir");
        }
        std::fs::write(path, b"\x7fELF").expect("write");
    }

    #[test]
    fn finds_registered_vendor_and_user_modules_once_each_and_only_existing_files() {
        let root = tempfile::tempdir().expect("tempdir");
        let r = root.path();
        let places = Places {
            p11kit_config_dirs: vec![r.join("share"), r.join("etc")],
            p11kit_module_dirs: vec![r.join("lib/pkcs11")],
            library_dirs: vec![r.join("lib"), r.join("lib/pkcs11")],
        };
        // Relative name, resolved in the module directory.
        touch(&r.join("lib/pkcs11/opensc-pkcs11.so"));
        std::fs::create_dir_all(r.join("share")).expect("dir");
        std::fs::write(r.join("share/opensc.module"), "module: opensc-pkcs11.so\n").expect("w");
        // Absolute path.
        touch(&r.join("softhsm/libsofthsm2.so"));
        std::fs::write(
            r.join("share/softhsm2.module"),
            format!("module: {}\n", r.join("softhsm/libsofthsm2.so").display()),
        )
        .expect("w");
        // The trust store is not a token.
        touch(&r.join("lib/pkcs11/p11-kit-trust.so"));
        std::fs::write(
            r.join("share/trust.module"),
            "module: p11-kit-trust.so\ntrust-policy: yes\n",
        )
        .expect("w");
        // A registration for a file that is not there.
        std::fs::write(r.join("share/gone.module"), "module: gone.so\n").expect("w");
        // /etc overrides a registration of the same name: this one is dropped.
        touch(&r.join("lib/pkcs11/overridden.so"));
        std::fs::write(r.join("share/vendor.module"), "module: overridden.so\n").expect("w");
        std::fs::create_dir_all(r.join("etc")).expect("dir");
        touch(&r.join("lib/librtpkcs11ecp.so"));
        std::fs::write(
            r.join("etc/vendor.module"),
            format!("module: {}\n", r.join("lib/librtpkcs11ecp.so").display()),
        )
        .expect("w");
        // A vendor default path, and the same OpenSC library again through the vendor table.
        touch(&r.join("lib/libjcPKCS11-2.so"));
        // A user module, and one that does not exist.
        touch(&r.join("mine/custom.so"));
        let user = vec![r.join("mine/custom.so"), r.join("mine/missing.so")];

        let found = discover_in(&places, &user);
        let paths: Vec<_> = found
            .iter()
            .map(|m| m.path.strip_prefix(r).expect("inside").to_path_buf())
            .collect();
        assert_eq!(
            paths,
            [
                "mine/custom.so",
                "lib/pkcs11/opensc-pkcs11.so",
                "softhsm/libsofthsm2.so",
                "lib/librtpkcs11ecp.so",
                "lib/libjcPKCS11-2.so",
            ]
            .map(PathBuf::from)
        );
        assert_eq!(found[0].source, ModuleSource::User);
        assert_eq!(
            found[1].source,
            ModuleSource::P11Kit {
                config: r.join("share/opensc.module")
            }
        );
        assert_eq!(
            found[3].source,
            ModuleSource::P11Kit {
                config: r.join("etc/vendor.module")
            }
        );
        assert_eq!(found[4].source, ModuleSource::Vendor { vendor: "JaCarta" });
    }

    #[test]
    fn this_machines_registered_modules_are_found() {
        // setup.sh installs SoftHSM2 and OpenSC, both registered with p11-kit.
        let found = discover(&[]);
        if !Path::new("/usr/share/p11-kit/modules/softhsm2.module").exists() {
            return;
        }
        assert!(
            found.iter().any(|m| m.path.ends_with("libsofthsm2.so")
                && matches!(m.source, ModuleSource::P11Kit { .. })),
            "{found:?}"
        );
        assert!(
            !found.iter().any(|m| m.path.ends_with("p11-kit-trust.so")),
            "{found:?}"
        );
    }
}
