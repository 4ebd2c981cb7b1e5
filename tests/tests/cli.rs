//! What the `podpis` command line promises beyond the flow: every card command honours
//! `--card-timeout`, JSON mode prints one JSON answer and nothing else, and messages follow
//! `--lang`.

use std::time::{Duration, Instant};

use podpis_tests::*;

#[test]
fn certs_honours_the_card_timeout() {
    // Every answer 3 s late: with --card-timeout 1 the read gives up after about a second,
    // not after the default 15 s.
    let card = VirtualCard::start_with("entrepreneur", &["--delay-ms", "3000"]);
    let started = Instant::now();
    let (code, out, err) = podpis(&[
        "certs",
        "--json",
        "--reader",
        card.reader(),
        "--card-timeout",
        "1",
    ]);
    let took = started.elapsed();
    assert_eq!(code, 4, "{out}\n{err}");
    assert!(out.contains("card-not-responding"), "{out}");
    assert!(took < Duration::from_secs(8), "took {took:?}");
}

#[test]
fn json_mode_prints_one_answer_and_nothing_on_stderr() {
    let card = VirtualCard::start_with("entrepreneur", &["--garble-after", "1"]);
    let (code, out, err) = podpis(&["certs", "--json", "--reader", card.reader()]);
    assert_eq!(code, 4, "{out}\n{err}");
    let answer: serde_json::Value = serde_json::from_str(out.trim()).expect("one JSON value");
    assert_eq!(answer["error"]["code"], "card-error", "{out}");
    assert!(err.trim().is_empty(), "stderr in JSON mode: {err}");
}

#[test]
fn messages_follow_the_language() {
    let card = VirtualCard::start("expired");
    for (lang, expected) in [
        ("ru", "Срок действия сертификата истёк"),
        ("en", "has expired"),
    ] {
        let (code, out, err) = podpis(&["certs", "--lang", lang, "--reader", card.reader()]);
        assert_eq!(code, 0, "{out}\n{err}");
        assert!(out.contains(expected), "{lang}: {out}");
    }
    // The headings too, not only the findings' words.
    let (_, en, _) = podpis(&["certs", "--lang", "en", "--reader", card.reader()]);
    let (_, ru, _) = podpis(&["certs", "--lang", "ru", "--reader", card.reader()]);
    assert!(en.contains("issuer:") && !en.contains("издатель:"), "{en}");
    assert!(ru.contains("издатель:") && !ru.contains("issuer:"), "{ru}");
}
