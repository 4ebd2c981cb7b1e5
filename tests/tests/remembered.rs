//! With several cards, the certificate chosen last is taken again unless another is named.

use std::fs;

use podpis_tests::*;

#[test]
fn the_last_chosen_certificate_is_preselected_and_cert_still_overrides() {
    let _queue = two_reader_queue();
    let entrepreneur = VirtualCard::start("entrepreneur");
    let legal = VirtualCard::start("legal-entity");
    let sha = |card: &VirtualCard| hex::encode(openssl::sha::sha256(&card.certificate()));
    let (entrepreneur_sha, legal_sha) = (sha(&entrepreneur), sha(&legal));
    let dir = tempfile::tempdir_in(scratch()).expect("tmp");
    let data = dir.path().join("data");
    let doc = dir.path().join("doc.txt");
    fs::write(&doc, "x").expect("doc");
    let (data_s, doc_s) = (data.to_string_lossy(), doc.to_string_lossy());
    let out = dir.path().join("doc.p7s");
    let out_s = out.to_string_lossy();
    let sign = |cert: Option<&str>| {
        let mut args = vec![
            "sign",
            "--json",
            "--data-dir",
            &data_s,
            "--pin-stdin",
            "--in",
            &doc_s,
            "--out",
            &out_s,
            // The same signature file each round: replacing it is asked for.
            "--overwrite",
        ];
        if let Some(cert) = cert {
            args.extend(["--cert", cert]);
        }
        podpis_with_stdin(&args, &format!("{PIN}\n"))
    };
    let signed_with = |stdout: &str| -> String {
        let v: serde_json::Value = serde_json::from_str(stdout).expect("json");
        v["certificate"].as_str().expect("certificate").to_owned()
    };

    // Nothing remembered yet: two cards, the person must choose.
    let (code, stdout, _) = sign(None);
    assert_eq!(code, 2, "{stdout}");
    assert!(stdout.contains("several-cards"), "{stdout}");

    // Chosen once by --cert (a prefix)...
    let (code, stdout, err) = sign(Some(&legal_sha[..12]));
    assert_eq!(code, 0, "{stdout}\n{err}");
    assert_eq!(signed_with(&stdout), legal_sha);
    // ...it is taken again without one.
    let (code, stdout, err) = sign(None);
    assert_eq!(code, 0, "{stdout}\n{err}");
    assert_eq!(signed_with(&stdout), legal_sha);
    // --cert still overrides, and becomes the new choice.
    let (code, stdout, _) = sign(Some(&entrepreneur_sha));
    assert_eq!(code, 0, "{stdout}");
    assert_eq!(signed_with(&stdout), entrepreneur_sha);
    let (code, stdout, _) = sign(None);
    assert_eq!(code, 0, "{stdout}");
    assert_eq!(signed_with(&stdout), entrepreneur_sha);
}
