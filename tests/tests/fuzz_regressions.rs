//! Every input kept from fuzzing (fuzz/regressions) and every seed (fuzz/seeds), replayed through
//! the same code the fuzz targets run: an input that once crashed a parser must not again.

#[allow(dead_code)] // the replay goes through `run`
#[path = "../../fuzz/src/targets.rs"]
mod targets;

use podpis_tests::repo;

#[test]
fn every_kept_fuzz_input_is_handled_without_a_panic() {
    for target in targets::TARGETS {
        let mut replayed = 0;
        for kind in ["seeds", "regressions"] {
            let dir = repo().join("fuzz").join(kind).join(target);
            let Ok(entries) = std::fs::read_dir(&dir) else {
                continue;
            };
            for entry in entries.flatten() {
                let path = entry.path();
                if path
                    .file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with('.'))
                {
                    continue;
                }
                let data = std::fs::read(&path).expect("input");
                targets::run(target, &data);
                replayed += 1;
            }
        }
        // Every target has a seed: a replay that found nothing would prove nothing.
        assert!(replayed > 0, "no input replayed for {target}");
    }
}

#[test]
fn the_seed_request_is_read_as_the_portal_reads_it() {
    let data =
        std::fs::read(repo().join("fuzz/seeds/signed_request/entrepreneur.p7s")).expect("seed");
    let form = signing::cades::read_attached(&data).expect("a real request parses");
    assert!(form.content.starts_with(b"{\"account\""));
    assert!(signing::certificate::CertificateInfo::parse(&form.certificate).is_ok());
}
