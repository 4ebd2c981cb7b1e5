//! One person's `podpis` command line: its own data directory, talking to one portal.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use crate::portal::Portal;
use crate::{bin, scratch, VirtualCard};

/// One user's `podpis`: its own data directory, talking to one portal.
pub struct User {
    pub data: PathBuf,
    pub portal: String,
    pub outputs: std::cell::RefCell<String>,
}

impl User {
    pub fn new(portal: &Portal) -> Self {
        Self::for_url(&portal.url)
    }

    /// A user whose `podpis` talks to `url` (a proxy in front of the portal, say).
    pub fn for_url(url: &str) -> Self {
        let data = tempfile::Builder::new()
            .prefix("user-")
            .tempdir_in(scratch())
            .expect("dir")
            .keep();
        Self {
            data,
            portal: url.to_owned(),
            outputs: Default::default(),
        }
    }

    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(bin("podpis"));
        cmd.env("PODPIS_DATA_DIR", &self.data)
            .env("PODPIS_PKCS11_DISCOVERY", "0")
            .args(["--portal", &self.portal])
            .args(args);
        cmd
    }

    /// Runs `podpis` with `stdin`; returns exit code, stdout, stderr (all kept for the leak check).
    pub fn run(&self, args: &[&str], stdin: &str) -> (i32, String, String) {
        let mut child = self
            .command(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("podpis");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(stdin.as_bytes())
            .expect("stdin");
        let out = child.wait_with_output().expect("output");
        let (stdout, stderr) = (
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        );
        self.outputs
            .borrow_mut()
            .push_str(&format!("{stdout}\n{stderr}\n"));
        (out.status.code().unwrap_or(-1), stdout, stderr)
    }

    pub fn login(&self, profile: &str) {
        let person = &crate::profile(profile).person;
        let (code, out, err) = self.run(
            &["login", &person.phone, "--password-stdin"],
            &format!("{}\n", person.password),
        );
        assert_eq!(code, 0, "login: {out} {err}");
    }

    pub fn level(&self) -> String {
        let (code, out, err) = self.run(&["status", "--json"], "");
        assert_eq!(code, 0, "status: {out} {err}");
        let status: serde_json::Value = serde_json::from_str(&out).expect("json");
        status["level"].as_str().expect("level").to_owned()
    }

    pub fn outbox_len(&self) -> usize {
        let (_, out, _) = self.run(&["outbox", "--json"], "");
        serde_json::from_str::<serde_json::Value>(&out)
            .expect("json")
            .as_array()
            .expect("array")
            .len()
    }

    pub fn confirm(&self, card: &VirtualCard, extra: &[&str], pin: &str) -> (i32, String, String) {
        let mut args = vec!["confirm", "--reader", card.reader(), "--pin-stdin"];
        args.extend(extra);
        self.run(&args, &format!("{pin}\n"))
    }
}
