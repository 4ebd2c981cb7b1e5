//! Debian's GOST engine for OpenSSL 3, loaded into the process that verifies. OpenSSL reads the
//! configuration named by OPENSSL_CONF once, when it initialises, so [`prepare_gost_engine`]
//! runs first thing in `main`; [`gost_available`] tells afterwards whether it worked.

use std::path::Path;

/// Where Debian's OpenSSL 3 GOST engine lives (package `libengine-gost-openssl`).
pub const GOST_ENGINE: &str = "/usr/lib/x86_64-linux-gnu/engines-3/gost.so";

/// The OpenSSL configuration that loads the GOST engine at `engine` for every algorithm.
pub fn gost_engine_config(engine: &Path) -> String {
    format!(
        "openssl_conf = openssl_init\n[openssl_init]\nengines = engine_section\n[engine_section]\ngost = gost_section\n\
         [gost_section]\nengine_id = gost\ndynamic_path = {}\ndefault_algorithms = ALL\n",
        engine.display()
    )
}

/// OpenSSL loads engines from the configuration named by OPENSSL_CONF when it initialises, once.
/// So call this first thing in `main`: before anything touches OpenSSL, and before any thread
/// exists (changing the environment races with threads reading it). It writes the configuration
/// into `data_dir` and points OPENSSL_CONF at it, unless OPENSSL_CONF is set already or the
/// engine is not installed; then [`gost_available`] says false and GOST cannot be checked.
pub fn prepare_gost_engine(data_dir: &Path) {
    if std::env::var_os("OPENSSL_CONF").is_some() || !Path::new(GOST_ENGINE).exists() {
        return;
    }
    let path = data_dir.join("openssl-gost.cnf");
    let config = gost_engine_config(Path::new(GOST_ENGINE));
    // Several processes start at once (a script verifying files in parallel): the file is
    // written only when it differs, and then whole (a temporary file renamed over it), so that
    // no OpenSSL ever reads it half-written and starts without the engine (seen in tests).
    let current = std::fs::read_to_string(&path).is_ok_and(|text| text == config);
    if current || write_whole(data_dir, &path, &config).is_ok() {
        std::env::set_var("OPENSSL_CONF", &path);
    }
}

fn write_whole(dir: &Path, path: &Path, text: &str) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let temporary = dir.join(format!(".openssl-gost.cnf.{}", std::process::id()));
    std::fs::write(&temporary, text)?;
    std::fs::rename(&temporary, path).inspect_err(|_| {
        let _ = std::fs::remove_file(&temporary);
    })
}

/// Whether this process's OpenSSL knows the GOST digests (the engine is loaded).
pub fn gost_available() -> bool {
    openssl::hash::MessageDigest::from_name("md_gost12_256").is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_configuration_is_written_whole_and_only_when_it_differs() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("openssl-gost.cnf");
        write_whole(dir.path(), &path, "one\n").expect("write");
        assert_eq!(std::fs::read_to_string(&path).expect("read"), "one\n");
        write_whole(dir.path(), &path, "two\n").expect("write");
        assert_eq!(std::fs::read_to_string(&path).expect("read"), "two\n");
        // No temporary file is left beside it.
        assert_eq!(std::fs::read_dir(dir.path()).expect("dir").count(), 1);
    }

    #[test]
    fn the_engine_configuration_names_the_engine_for_all_algorithms() {
        let config = gost_engine_config(Path::new("/opt/engines/gost.so"));
        assert!(config.starts_with("openssl_conf = openssl_init\n"));
        assert!(config.contains("\nengine_id = gost\n"));
        assert!(config.contains("\ndynamic_path = /opt/engines/gost.so\n"));
        assert!(config.contains("\ndefault_algorithms = ALL\n"));
    }
}
