//! Every seed and every kept input of the fuzz target `host_messages` (fuzz/seeds/host_messages,
//! fuzz/regressions/host_messages), replayed through the code the target runs: an input that
//! once broke the host's parser must not again. Here rather than in the tests crate's
//! fuzz_regressions.rs, which does not depend on the host.

#[path = "../../fuzz/src/host_messages.rs"]
mod host_messages;

use std::path::Path;

#[test]
fn every_kept_host_messages_input_is_handled() {
    let fuzz = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz");
    let mut replayed = 0;
    for kind in ["seeds", "regressions"] {
        let Ok(entries) = std::fs::read_dir(fuzz.join(kind).join("host_messages")) else {
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
            host_messages::host_messages(&std::fs::read(&path).expect("input"));
            replayed += 1;
        }
    }
    assert!(replayed > 0, "no input replayed");
}

#[test]
fn the_seeds_get_past_the_parser() {
    // A seed is worth keeping only if it reaches the calls: every reply to the session and to
    // the signatures (over the target's keys and consent) is a success.
    let seeds = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/seeds/host_messages");
    for (seed, expected) in [("session.bin", 10), ("sign.bin", 11)] {
        let input = std::fs::read(seeds.join(seed)).expect("seed");
        let mut host = host_messages::host();
        let mut out = Vec::new();
        let ended = host::serve(&mut host, &mut input.as_slice(), &mut out).expect("served");
        assert_eq!(ended, host::Ended::Closed);
        let mut replies = out.as_slice();
        let mut codes = Vec::new();
        while let host::frame::Inbound::Message(bytes) =
            host::frame::read_frame(&mut replies).expect("frames")
        {
            let reply: serde_json::Value = serde_json::from_slice(&bytes).expect("json");
            codes.push(reply["error_code"].as_i64().expect("code"));
        }
        assert_eq!(codes, vec![0; expected], "{seed}");
    }
}
