//! Every sign type with a GOST R 34.10-2012 key (256 and 512), checked by OpenSSL with Debian's
//! GOST engine: `openssl cms -verify -cades` for the CMS and CAdES types, `openssl pkeyutl
//! -verify` for the simple ones in both byte orders. The key is OpenSSL's, and signs through
//! `openssl pkeyutl -sign` in a child process: the engine is loaded only there, through
//! `OPENSSL_CONF` on that process (never in the test process, which links OpenSSL itself).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::SystemTime;

use host::origin::Origin;
use host::sign::{make_signature, Input, SignRequest, SignType, Signer, SignerError};
use signing::KeyAlgorithm;

fn gost_conf() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../config/openssl-gost.cnf")
}

/// `openssl` with the GOST engine; returns stdout, or panics with stderr.
fn openssl(args: &[&str]) -> Vec<u8> {
    let out = Command::new("openssl")
        .env("OPENSSL_CONF", gost_conf())
        .args(args)
        .output()
        .expect("openssl runs");
    assert!(
        out.status.success(),
        "openssl {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

fn openssl_ok(args: &[&str]) -> bool {
    Command::new("openssl")
        .env("OPENSSL_CONF", gost_conf())
        .args(args)
        .output()
        .expect("openssl runs")
        .status
        .success()
}

fn path(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// The GOST key in a file, signing digests through `openssl pkeyutl -sign`.
struct OpensslGostKey {
    dir: PathBuf,
    key: PathBuf,
}

impl Signer for OpensslGostKey {
    fn sign(&mut self, digest: &[u8], _data: Option<&[u8]>) -> Result<Vec<u8>, SignerError> {
        let input = self.dir.join("to-sign.bin");
        let output = self.dir.join("signature.bin");
        std::fs::write(&input, digest).map_err(|e| SignerError::Failed(e.to_string()))?;
        openssl(&[
            "pkeyutl",
            "-sign",
            "-inkey",
            path(&self.key),
            "-in",
            path(&input),
            "-out",
            path(&output),
        ]);
        std::fs::read(&output).map_err(|e| SignerError::Failed(e.to_string()))
    }
}

fn every_sign_type_verifies(algorithm: KeyAlgorithm, openssl_algorithm: &str) {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path();
    let key = dir.join("key.pem");
    let cert_pem = dir.join("cert.pem");
    let cert_der = dir.join("cert.der");
    openssl(&[
        "genpkey",
        "-algorithm",
        openssl_algorithm,
        "-pkeyopt",
        "paramset:A",
        "-out",
        path(&key),
    ]);
    openssl(&[
        "req",
        "-new",
        "-x509",
        "-key",
        path(&key),
        "-subj",
        "/CN=podpis-host GOST test",
        "-days",
        "30",
        "-out",
        path(&cert_pem),
    ]);
    openssl(&[
        "x509",
        "-in",
        path(&cert_pem),
        "-outform",
        "DER",
        "-out",
        path(&cert_der),
    ]);
    let certificate = std::fs::read(&cert_der).expect("certificate");
    assert_eq!(
        signing::certificate::key_algorithm(&certificate),
        Some(algorithm)
    );
    let mut signer = OpensslGostKey {
        dir: dir.to_path_buf(),
        key,
    };

    let content = b"challenge 5f1c0e2a: confirm the account".to_vec();
    let content_file = dir.join("content.bin");
    std::fs::write(&content_file, &content).expect("content");
    let digest = algorithm.digest(&content);
    let digest_file = dir.join("digest.bin");
    std::fs::write(&digest_file, &digest).expect("digest");
    let origin = Origin::parse("https://www.gosuslugi.ru").expect("origin");

    let cases = [
        (SignType::Simple, Input::Data(content.clone())),
        (SignType::Simple, Input::Hash(digest.clone())),
        (SignType::SimpleReverse, Input::Data(content.clone())),
        (SignType::SimpleReverse, Input::Hash(digest.clone())),
        (SignType::CmsAttached, Input::Data(content.clone())),
        (SignType::CmsDetached, Input::Data(content.clone())),
        (SignType::CmsDetached, Input::Hash(digest.clone())),
        (SignType::CadesBesAttached, Input::Data(content.clone())),
        (SignType::CadesBesDetached, Input::Data(content.clone())),
        (SignType::CadesBesDetached, Input::Hash(digest.clone())),
    ];
    for (sign_type, input) in cases {
        let what = format!("{algorithm:?} {sign_type:?} {input:?}");
        let request = SignRequest {
            origin: origin.clone(),
            container_id: "podpis/0001/01".into(),
            input,
            sign_type,
        };
        let mut signature = make_signature(
            &request,
            &certificate,
            algorithm,
            &mut signer,
            SystemTime::now(),
        )
        .unwrap_or_else(|e| panic!("{what}: {e}"));
        let signature_file = dir.join("signature.out");
        match sign_type {
            SignType::Simple | SignType::SimpleReverse => {
                assert_eq!(signature.len(), algorithm.signature_len(), "{what}");
                if sign_type == SignType::SimpleReverse {
                    // As it came, OpenSSL's order is the other one...
                    std::fs::write(&signature_file, &signature).expect("write");
                    assert!(
                        !openssl_ok(&[
                            "pkeyutl",
                            "-verify",
                            "-certin",
                            "-inkey",
                            path(&cert_pem),
                            "-in",
                            path(&digest_file),
                            "-sigfile",
                            path(&signature_file),
                        ]),
                        "{what}: the reversed form is not OpenSSL's"
                    );
                    // ...and turned back, it verifies.
                    signature.reverse();
                }
                std::fs::write(&signature_file, &signature).expect("write");
                openssl(&[
                    "pkeyutl",
                    "-verify",
                    "-certin",
                    "-inkey",
                    path(&cert_pem),
                    "-in",
                    path(&digest_file),
                    "-sigfile",
                    path(&signature_file),
                ]);
            }
            SignType::CmsAttached | SignType::CadesBesAttached => {
                std::fs::write(&signature_file, &signature).expect("write");
                let out = openssl(&[
                    "cms",
                    "-verify",
                    "-cades",
                    "-binary",
                    "-inform",
                    "DER",
                    "-in",
                    path(&signature_file),
                    "-CAfile",
                    path(&cert_pem),
                    "-purpose",
                    "any",
                ]);
                assert_eq!(out, content, "{what}");
            }
            SignType::CmsDetached | SignType::CadesBesDetached => {
                std::fs::write(&signature_file, &signature).expect("write");
                openssl(&[
                    "cms",
                    "-verify",
                    "-cades",
                    "-binary",
                    "-inform",
                    "DER",
                    "-in",
                    path(&signature_file),
                    "-content",
                    path(&content_file),
                    "-CAfile",
                    path(&cert_pem),
                    "-purpose",
                    "any",
                ]);
                // The check means something: other content is refused.
                std::fs::write(&content_file, b"other content").expect("write");
                assert!(
                    !openssl_ok(&[
                        "cms",
                        "-verify",
                        "-binary",
                        "-inform",
                        "DER",
                        "-in",
                        path(&signature_file),
                        "-content",
                        path(&content_file),
                        "-CAfile",
                        path(&cert_pem),
                        "-purpose",
                        "any",
                    ]),
                    "{what}: verified over other content"
                );
                std::fs::write(&content_file, &content).expect("write");
            }
        }
    }
}

#[test]
fn gost_2012_256_signatures_of_every_sign_type_verify_with_openssl() {
    every_sign_type_verifies(KeyAlgorithm::Gost2012_256, "gost2012_256");
}

#[test]
fn gost_2012_512_signatures_of_every_sign_type_verify_with_openssl() {
    every_sign_type_verifies(KeyAlgorithm::Gost2012_512, "gost2012_512");
}
