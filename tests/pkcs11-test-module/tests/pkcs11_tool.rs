//! The test module driven by a PKCS#11 client we did not write: OpenSC's `pkcs11-tool` (Debian's
//! `opensc` package), its signatures checked by `openssl` with the GOST engine. What `pkcs11-tool`
//! prints is asserted as it prints it (OpenSC 0.23).

mod support;

use std::os::unix::process::ExitStatusExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use support::*;

#[test]
fn lists_the_slot_the_token_and_the_tc26_mechanisms() {
    let token = Token::new();
    let out = pkcs11_tool(Some(&token), &["-L"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("Slot 0 (0x0): Podpis test GOST token slot"),
        "{text}"
    );
    assert!(
        text.contains(&format!("token label        : {LABEL}")),
        "{text}"
    );
    assert!(text.contains("token manufacturer : Podpis tests"), "{text}");
    assert!(
        text.contains(&format!("serial num         : {SERIAL}")),
        "{text}"
    );
    assert!(
        text.contains("token flags        : login required, token initialized, PIN initialized\n"),
        "{text}"
    );
    assert!(text.contains("pin min/max        : 4/32"), "{text}");

    let out = pkcs11_tool(Some(&token), &["-M"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    for line in [
        "GOSTR3410, keySize={256,256}, hw, sign",
        "GOSTR3410_512, keySize={512,512}, hw, sign",
        "GOSTR3410-WITH-GOSTR3411-12-256, keySize={256,256}, hw, sign",
        "GOSTR3410-WITH-GOSTR3411-12-512, keySize={512,512}, hw, sign",
    ] {
        assert!(text.contains(line), "no {line:?} in:\n{text}");
    }
}

#[test]
fn without_a_token_directory_the_slot_is_empty() {
    let out = pkcs11_tool(None, &["-L"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("Slot 0 (0x0): Podpis test GOST token slot\n  (empty)"),
        "{text}"
    );
}

#[test]
fn certificates_and_public_keys_show_before_login_and_private_keys_after() {
    let token = Token::new();
    let out = pkcs11_tool(Some(&token), &["-O"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert_eq!(
        text.matches("Certificate Object; type = X.509 cert")
            .count(),
        2,
        "{text}"
    );
    assert!(
        text.contains("Public Key Object; GOSTR3410-2012-256"),
        "{text}"
    );
    assert!(
        text.contains("Public Key Object; GOSTR3410-2012-512"),
        "{text}"
    );
    assert!(
        text.contains("subject:    DN: CN=pkcs11-test-module GOST 2012-256"),
        "{text}"
    );
    assert!(text.contains("label:      GOST 2012-512"), "{text}");
    assert!(text.contains("ID:         01"), "{text}");
    assert!(text.contains("ID:         02"), "{text}");
    assert!(!text.contains("Private Key Object"), "{text}");

    let out = pkcs11_tool(Some(&token), &["-O", "--login", "--pin", PIN]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("Private Key Object; GOSTR3410-2012-256"),
        "{text}"
    );
    assert!(
        text.contains("Private Key Object; GOSTR3410-2012-512"),
        "{text}"
    );
    assert!(
        text.contains("Access:     sensitive, always sensitive, never extractable"),
        "{text}"
    );
    assert!(
        text.contains("Allowed mechanisms: GOSTR3410,GOSTR3410-WITH-GOSTR3411-12-256"),
        "{text}"
    );
}

/// The public key's `CKA_VALUE`, as `pkcs11-tool -O` prints it, is X ‖ Y little-endian: reversed,
/// each half is the coordinate OpenSSL prints from the certificate as a big-endian number.
#[test]
fn the_public_value_is_x_then_y_little_endian() {
    let token = Token::new();
    let out = pkcs11_tool(Some(&token), &["-O", "--type", "pubkey", "--id", "01"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let value = printed_value(&stdout(&out));
    assert_eq!(value.len(), 64, "{}", stdout(&out));

    let out = openssl()
        .args(["x509", "-inform", "DER", "-noout", "-text", "-in"])
        .arg(&token.key(Size::Gost256).certificate)
        .output()
        .expect("openssl x509");
    let text = stdout(&out);
    let coordinate = |name: &str| {
        let hex = text
            .lines()
            .find_map(|l| l.trim().strip_prefix(name))
            .unwrap_or_else(|| panic!("no {name} in {text}"));
        // OpenSSL drops leading zeros of the number.
        format!("{:0>64}", hex.to_lowercase())
    };
    let little_endian_hex = |half: &[u8]| {
        let mut bytes = half.to_vec();
        bytes.reverse();
        hex::encode(bytes)
    };
    assert_eq!(little_endian_hex(&value[..32]), coordinate("X:"));
    assert_eq!(little_endian_hex(&value[32..]), coordinate("Y:"));
}

/// `  VALUE:      <hex>` and its continuation lines, as `pkcs11-tool -O` prints a public key.
fn printed_value(text: &str) -> Vec<u8> {
    let mut lines = text
        .lines()
        .skip_while(|l| !l.trim_start().starts_with("VALUE:"));
    let mut hex_text = String::new();
    if let Some(first) = lines.next() {
        hex_text.push_str(first.trim_start().trim_start_matches("VALUE:").trim());
    }
    for line in lines {
        let line = line.trim();
        if line.is_empty() || !line.chars().all(|c| c.is_ascii_hexdigit()) {
            break;
        }
        hex_text.push_str(line);
    }
    hex::decode(hex_text).expect("hex VALUE")
}

/// `pkcs11-tool --sign` over the file `input` with the key `id`; the signature.
fn sign(token: &Token, mechanism: &str, id: &str, input: &std::path::Path) -> Vec<u8> {
    let signature = token.path().join("signature");
    let _ = std::fs::remove_file(&signature);
    let out = pkcs11_tool(
        Some(token),
        &[
            "--login",
            "--pin",
            PIN,
            "--sign",
            "--mechanism",
            mechanism,
            "--id",
            id,
            "--input-file",
            input.to_str().expect("path"),
            "--output-file",
            signature.to_str().expect("path"),
        ],
    );
    assert!(out.status.success(), "{mechanism}: {}", stderr(&out));
    std::fs::read(&signature).expect("signature")
}

/// The signature over a precomputed Streebog digest is s ‖ r as OpenSSL verifies a CMS
/// signatureValue (docs/pkcs11.md): accepted as it comes, refused with its halves swapped or over
/// other data.
#[test]
fn gostr3410_over_a_streebog_256_digest_is_the_cms_signature_value() {
    let token = Token::new();
    let key = token.key(Size::Gost256);
    let data = token.file("data", b"signed attributes, say");
    let digest = token.file("digest", &openssl_digest(Size::Gost256, &data));
    let signature = sign(&token, "GOSTR3410", key.id, &digest);
    assert_eq!(signature.len(), 64);
    assert!(openssl_verifies(key, &data, &signature));

    let swapped = [&signature[32..], &signature[..32]].concat();
    assert!(
        !openssl_verifies(key, &data, &swapped),
        "r ‖ s must not verify"
    );
    let other = token.file("other", b"signed attributes, changed");
    assert!(!openssl_verifies(key, &other, &signature));
}

#[test]
fn gostr3410_512_over_a_streebog_512_digest_is_the_cms_signature_value() {
    let token = Token::new();
    let key = token.key(Size::Gost512);
    let data = token.file("data", b"signed attributes, 512");
    let digest = token.file("digest", &openssl_digest(Size::Gost512, &data));
    let signature = sign(&token, "GOSTR3410_512", key.id, &digest);
    assert_eq!(signature.len(), 128);
    assert!(openssl_verifies(key, &data, &signature));
    let swapped = [&signature[64..], &signature[..64]].concat();
    assert!(!openssl_verifies(key, &data, &swapped));
}

/// The hash-and-sign mechanisms, over data `pkcs11-tool` passes in one `C_Sign` (under 1 KiB) and
/// in `C_SignUpdate` parts (over it).
#[test]
fn the_streebog_hash_and_sign_mechanisms_sign_data_in_one_part_and_in_many() {
    let token = Token::new();
    let short = token.file("short", b"a short document");
    let long = token.file("long", &[0x5a; 5000]);
    for (mechanism, size) in [
        ("GOSTR3410-WITH-GOSTR3411-12-256", Size::Gost256),
        ("GOSTR3410-WITH-GOSTR3411-12-512", Size::Gost512),
    ] {
        let key = token.key(size);
        for data in [&short, &long] {
            let signature = sign(&token, mechanism, key.id, data);
            assert!(
                openssl_verifies(key, data, &signature),
                "{mechanism} over {}",
                data.display()
            );
        }
    }
}

/// The token's PIN state as `pkcs11-tool -L` prints its flags.
fn token_flags(token: &Token) -> String {
    let out = pkcs11_tool(Some(token), &["-L"]);
    assert!(out.status.success(), "{}", stderr(&out));
    stdout(&out)
        .lines()
        .find_map(|l| {
            l.trim()
                .strip_prefix("token flags        : ")
                .map(str::to_owned)
        })
        .expect("token flags")
}

fn login(token: &Token, pin: &str) -> std::process::Output {
    pkcs11_tool(Some(token), &["--login", "--pin", pin, "-O"])
}

/// Each wrong PIN is a separate process: the counter lives on the token, as on a real one.
#[test]
fn wrong_pins_show_in_the_flags_and_block_the_pin_across_processes() {
    let token = Token::new();
    let wrong = "00000000";
    let out = login(&token, wrong);
    assert!(
        stderr(&out).contains("CKR_PIN_INCORRECT"),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        token_flags(&token),
        "login required, token initialized, user PIN count low, PIN initialized"
    );
    let out = login(&token, wrong);
    assert!(
        stderr(&out).contains("CKR_PIN_INCORRECT"),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        token_flags(&token),
        "login required, token initialized, user PIN count low, final user PIN try, PIN initialized"
    );
    let out = login(&token, wrong);
    assert!(
        stderr(&out).contains("CKR_PIN_INCORRECT"),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        token_flags(&token),
        "login required, token initialized, PIN initialized, user PIN locked"
    );
    let out = login(&token, PIN);
    assert!(stderr(&out).contains("CKR_PIN_LOCKED"), "{}", stderr(&out));
    assert_eq!(token.pin_state().user_tries_left, Some(0));
}

#[test]
fn a_right_pin_restores_the_tries() {
    let token = Token::new();
    assert!(!login(&token, "00000000").status.success());
    assert!(login(&token, PIN).status.success());
    assert_eq!(
        token_flags(&token),
        "login required, token initialized, PIN initialized"
    );
}

#[test]
fn after_a_pin_change_the_new_pin_signs_and_the_old_one_is_wrong() {
    let token = Token::new();
    let new_pin = "24682468";
    let out = pkcs11_tool(
        Some(&token),
        &["--change-pin", "--pin", PIN, "--new-pin", new_pin],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("PIN successfully changed"),
        "{}",
        stdout(&out)
    );
    assert!(stderr(&login(&token, PIN)).contains("CKR_PIN_INCORRECT"));

    let key = token.key(Size::Gost256);
    let data = token.file("data", b"after the change");
    let digest = token.file("digest", &openssl_digest(Size::Gost256, &data));
    let signature = token.path().join("sig");
    let out = pkcs11_tool(
        Some(&token),
        &[
            "--login",
            "--pin",
            new_pin,
            "--sign",
            "--mechanism",
            "GOSTR3410",
            "--id",
            key.id,
            "--input-file",
            digest.to_str().expect("path"),
            "--output-file",
            signature.to_str().expect("path"),
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(openssl_verifies(
        key,
        &data,
        &std::fs::read(&signature).expect("sig")
    ));
}

#[test]
fn the_so_pin_unblocks_a_blocked_user_pin() {
    let token = Token::new();
    for _ in 0..3 {
        assert!(!login(&token, "00000000").status.success());
    }
    assert!(token_flags(&token).ends_with("user PIN locked"));
    let new_pin = "13571357";
    let out = pkcs11_tool(
        Some(&token),
        &[
            "--login",
            "--login-type",
            "so",
            "--so-pin",
            SO_PIN,
            "--init-pin",
            "--new-pin",
            new_pin,
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("User PIN successfully initialized"),
        "{}",
        stdout(&out)
    );
    assert_eq!(
        token_flags(&token),
        "login required, token initialized, PIN initialized"
    );
    assert!(login(&token, new_pin).status.success());
}

/// A reader with a PIN pad: `pkcs11-tool --login` gives no PIN, and the module takes what the
/// person "typed" on the pad.
#[test]
fn a_pin_pad_token_signs_without_a_pin_from_the_host() {
    let token = Token::new();
    token.write(|t| t.pin_pad_entry = Some(PIN.into()));
    assert!(token_flags(&token).contains("PIN pad present"));
    let key = token.key(Size::Gost256);
    let data = token.file("data", b"entered on the reader");
    let digest = token.file("digest", &openssl_digest(Size::Gost256, &data));
    let signature = token.path().join("sig");
    let out = pkcs11_tool(
        Some(&token),
        &[
            "--login",
            "--sign",
            "--mechanism",
            "GOSTR3410",
            "--id",
            key.id,
            "--input-file",
            digest.to_str().expect("path"),
            "--output-file",
            signature.to_str().expect("path"),
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(openssl_verifies(
        key,
        &data,
        &std::fs::read(&signature).expect("sig")
    ));
}

/// Without the GOST engine in the process that loads the module, listing works and signing fails
/// with a reason on stderr, not a crash.
#[test]
fn without_the_gost_engine_signing_fails_and_says_why() {
    let token = Token::new();
    let digest = token.file("digest", &[1; 32]);
    let out = Command::new("pkcs11-tool")
        .arg("--module")
        .arg(test_module())
        .args([
            "--login",
            "--pin",
            PIN,
            "--sign",
            "--mechanism",
            "GOSTR3410",
            "--id",
            "01",
        ])
        .arg("--input-file")
        .arg(&digest)
        .env("PODPIS_TEST_P11_DIR", token.path())
        .env_remove("OPENSSL_CONF")
        .output()
        .expect("pkcs11-tool");
    // pkcs11-tool answers a failed C_Sign by trying C_SignUpdate, which a digest mechanism
    // refuses: its last word is about that; the module's reason comes first.
    assert!(!out.status.success());
    let text = stderr(&out);
    assert!(
        text.contains("OpenSSL cannot sign with") && text.contains("GOST engine"),
        "{text}"
    );
}

/// The broken module kills its host with SIGABRT in `C_Initialize`, at once: what Podpis's probe
/// must survive by running the module in a child process.
#[test]
fn the_aborting_module_kills_pkcs11_tool_with_sigabrt_and_does_not_hang() {
    let mut child = Command::new("pkcs11-tool")
        .arg("--module")
        .arg(abort_module())
        .arg("-L")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("pkcs11-tool");
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("pkcs11-tool with the aborting module still runs after 30 s");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    assert_eq!(status.signal(), Some(6), "SIGABRT expected, got {status:?}");
}
