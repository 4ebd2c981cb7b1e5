//! `signing`'s drivers against the virtual card's applets in this process, through the same
//! `Transport` trait the PC/SC transport implements, without pcscd: the driver found by the
//! card's ATR reads the token, checks the PIN and signs, and OpenSSL's GOST engine verifies the
//! signature over the certificate. The same checks as tests/tests/cards.rs, one layer down, so a
//! failure here points at the driver or the card and not at the PC/SC stack.
//!
//! The card needs the GOST engine in the process, so every test runs its body in a child process
//! of this binary with `OPENSSL_CONF` set (`with_gost_engine`).

use podpis_tests::in_process::{with_gost_engine, InProcessCard};
use podpis_tests::*;
use signing::drivers::registry::driver_for;
use signing::drivers::CardDriver;
use signing::{CardKind, KeyAlgorithm, LastTry, Pin, PinStatus, TokenError};
use streebog::{Digest, Streebog256, Streebog512};

fn pin(text: &str) -> Pin {
    Pin::new(text.to_owned()).expect("pin")
}

fn driver(card: &InProcessCard) -> &'static dyn CardDriver {
    driver_for(&card.atr()).expect("a driver for the card's ATR")
}

/// Reads the card of `profile` with the driver its ATR selects, signs a Streebog hash with its
/// key after the right PIN, and has OpenSSL verify the signature with the card's certificate.
fn read_sign_and_verify(profile: &str, kind: CardKind, algorithm: KeyAlgorithm) {
    let mut card = InProcessCard::new(profile);
    let driver = driver(&card);
    assert_eq!(driver.kind(), kind, "{profile}");

    let contents = driver.read(&mut card, &()).expect("read");
    // The token's serial, the UEC's card number: both as the persons file has them.
    assert_eq!(contents.serial, podpis_tests::profile(profile).serial);
    assert_eq!(
        contents.pin,
        PinStatus {
            tries_left: 3,
            max_tries: 3
        }
    );
    let [key] = contents.keys.as_slice() else {
        panic!("{profile}: one key expected, got {}", contents.keys.len());
    };
    assert_eq!(key.algorithm, algorithm, "{profile}");
    assert_eq!(key.certificate, card.certificate(), "{profile}");

    let message = format!("Podpis in-process test message for {profile}");
    let hash = match algorithm {
        KeyAlgorithm::Gost2012_512 => Streebog512::digest(message.as_bytes()).to_vec(),
        _ => Streebog256::digest(message.as_bytes()).to_vec(),
    };
    let signature = driver
        .sign(
            &mut card,
            key.reference,
            algorithm,
            &hash,
            &pin(PIN),
            LastTry::NotConfirmed,
        )
        .expect("sign");
    assert_eq!(signature.len(), algorithm.signature_len());
    assert_openssl_verifies(profile, &key.certificate, &hash, &signature);
}

#[test]
fn the_gost_token_driver_reads_and_signs_with_a_256_bit_key_in_process() {
    with_gost_engine(
        "the_gost_token_driver_reads_and_signs_with_a_256_bit_key_in_process",
        || {
            read_sign_and_verify(
                "entrepreneur",
                CardKind::GostToken,
                KeyAlgorithm::Gost2012_256,
            )
        },
    );
}

#[test]
fn the_gost_token_driver_reads_and_signs_with_a_512_bit_key_in_process() {
    with_gost_engine(
        "the_gost_token_driver_reads_and_signs_with_a_512_bit_key_in_process",
        || {
            read_sign_and_verify(
                "legal-entity",
                CardKind::GostToken,
                KeyAlgorithm::Gost2012_512,
            )
        },
    );
}

#[test]
fn the_uec_driver_reads_the_holder_and_signs_through_get_response_in_process() {
    with_gost_engine(
        "the_uec_driver_reads_the_holder_and_signs_through_get_response_in_process",
        || {
            read_sign_and_verify("uec", CardKind::Uec, KeyAlgorithm::Gost2001);
            let mut card = InProcessCard::new("uec");
            let holder = signing::drivers::uec::Uec
                .holder(&mut card)
                .expect("EF.HOLDER");
            let person = &profile("uec").person;
            assert_eq!(holder.snils, person.snils);
            assert_eq!(holder.surname, person.surname);
            assert_eq!(holder.given_names, person.given_names);
        },
    );
}

#[test]
fn a_wrong_pin_costs_a_try_survives_a_reset_and_the_right_one_restores_them_in_process() {
    with_gost_engine(
        "a_wrong_pin_costs_a_try_survives_a_reset_and_the_right_one_restores_them_in_process",
        || {
            let mut card = InProcessCard::new("entrepreneur");
            let driver = driver(&card);
            let hash = [7u8; 32];
            let err = driver
                .sign(
                    &mut card,
                    1,
                    KeyAlgorithm::Gost2012_256,
                    &hash,
                    &pin("87654321"),
                    LastTry::NotConfirmed,
                )
                .unwrap_err();
            assert_eq!(err, TokenError::PinIncorrect { tries_left: 2 });
            card.reset();
            assert_eq!(driver.pin_status(&mut card).expect("status").tries_left, 2);
            let signature = driver
                .sign(
                    &mut card,
                    1,
                    KeyAlgorithm::Gost2012_256,
                    &hash,
                    &pin(PIN),
                    LastTry::NotConfirmed,
                )
                .expect("the right PIN signs");
            assert_openssl_verifies("entrepreneur", &card.certificate(), &hash, &signature);
            assert_eq!(driver.pin_status(&mut card).expect("status").tries_left, 3);
        },
    );
}

#[test]
fn a_blocked_pin_is_never_sent_a_verify_in_process() {
    with_gost_engine("a_blocked_pin_is_never_sent_a_verify_in_process", || {
        let mut card = InProcessCard::new("blocked-pin");
        let driver = driver(&card);
        assert!(driver.pin_status(&mut card).expect("status").is_blocked());
        let err = driver
            .sign(
                &mut card,
                1,
                KeyAlgorithm::Gost2012_256,
                &[1; 32],
                &pin(PIN),
                LastTry::Confirmed,
            )
            .unwrap_err();
        assert_eq!(err, TokenError::PinBlocked);
        assert!(
            !card.instructions().contains(&0x20),
            "a VERIFY reached the card: {:02X?}",
            card.instructions()
        );
    });
}

/// Counts the VERIFY commands the card has received.
fn verifies(card: &InProcessCard) -> usize {
    card.instructions()
        .iter()
        .filter(|&&ins| ins == 0x20)
        .count()
}

/// The flow reads the PIN status with the certificates and signs later; another program may use
/// tries in between. The signature's own transaction reads the counter again right before
/// VERIFY: when the tries ran down to the last one meanwhile, the PIN is not sent without
/// consent, and a wrong PIN reports the tries the card has now, not those read earlier.
#[test]
fn tries_used_between_the_read_and_the_signature_are_seen_by_the_signature_in_process() {
    with_gost_engine(
        "tries_used_between_the_read_and_the_signature_are_seen_by_the_signature_in_process",
        || {
            for (profile, algorithm) in [
                ("entrepreneur", KeyAlgorithm::Gost2012_256),
                ("uec", KeyAlgorithm::Gost2001),
            ] {
                let mut card = InProcessCard::new(profile);
                let driver = driver(&card);
                let hash = vec![9u8; algorithm.hash_len()];
                let read = driver.read(&mut card, &()).expect("read");
                assert_eq!(read.pin.tries_left, 3, "{profile}");
                assert!(!read.pin.is_last_try());

                // Another program, with a wrong PIN, between the read and our signature.
                card.reset();
                let err = driver
                    .sign(
                        &mut card,
                        1,
                        algorithm,
                        &hash,
                        &pin("87654321"),
                        LastTry::NotConfirmed,
                    )
                    .unwrap_err();
                assert_eq!(err, TokenError::PinIncorrect { tries_left: 2 });
                card.reset();

                // Our wrong PIN: the card's count now (1), not 3 - 1 from the earlier read.
                let err = driver
                    .sign(
                        &mut card,
                        1,
                        algorithm,
                        &hash,
                        &pin("00000000"),
                        LastTry::NotConfirmed,
                    )
                    .unwrap_err();
                assert_eq!(err, TokenError::PinIncorrect { tries_left: 1 }, "{profile}");
                card.reset();

                // The read said 3 tries, so the caller asked no consent; the card has one left.
                let before = verifies(&card);
                let err = driver
                    .sign(
                        &mut card,
                        1,
                        algorithm,
                        &hash,
                        &pin(PIN),
                        LastTry::NotConfirmed,
                    )
                    .unwrap_err();
                assert_eq!(err, TokenError::LastTryNotConfirmed, "{profile}");
                assert_eq!(
                    verifies(&card),
                    before,
                    "{profile}: a VERIFY reached the card"
                );
                assert!(
                    driver.pin_status(&mut card).expect("status").is_last_try(),
                    "{profile}: the last try is kept"
                );

                // With consent the right PIN signs and the counter is full again.
                let signature = driver
                    .sign(
                        &mut card,
                        1,
                        algorithm,
                        &hash,
                        &pin(PIN),
                        LastTry::Confirmed,
                    )
                    .expect("the right PIN with consent signs");
                assert_eq!(signature.len(), algorithm.signature_len());
                assert_eq!(driver.pin_status(&mut card).expect("status").tries_left, 3);
            }
        },
    );
}
