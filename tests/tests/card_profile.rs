//! The virtual card against docs/cards.md, APDU by APDU, through real pcscd: every status word the
//! profiles define, sent raw (no driver in between), so the card is checked against the document
//! and not against our own driver's habits.

use std::ffi::CString;

use podpis_tests::*;

struct Raw {
    _ctx: pcsc::Context,
    card: pcsc::Card,
}

impl Raw {
    fn connect(reader: &str) -> Self {
        let ctx = pcsc::Context::establish(pcsc::Scope::User).expect("context");
        let name = CString::new(reader).expect("name");
        let card = ctx
            .connect(&name, pcsc::ShareMode::Shared, pcsc::Protocols::ANY)
            .expect("connect");
        Self { _ctx: ctx, card }
    }

    /// Sends hex, returns (data hex, SW hex).
    fn send(&self, apdu: &str) -> (String, String) {
        let apdu = hex::decode(apdu.replace(' ', "")).expect("hex");
        let mut buf = vec![0u8; pcsc::MAX_BUFFER_SIZE_EXTENDED];
        let r = self.card.transmit(&apdu, &mut buf).expect("transmit");
        let (data, sw) = r.split_at(r.len() - 2);
        (hex::encode_upper(data), hex::encode_upper(sw))
    }

    fn sw(&self, apdu: &str) -> String {
        self.send(apdu).1
    }
}

const GOST_SELECT: &str = "00A4040C0A F0504F445049534754 01";
const UEC_SELECT: &str = "00A4040C07 F05545434944 01";
const PIN_HEX: &str = "3132333435363738";

#[test]
fn gost_token_answers_every_status_word_of_its_profile() {
    let card = VirtualCard::start("entrepreneur");
    let raw = Raw::connect(card.reader());

    // Before SELECT of the application.
    assert_eq!(raw.sw("00CA010300"), "6985");
    assert_eq!(raw.sw("00A4040C03 A00000"), "6A82");
    assert_eq!(raw.sw("00A4040005 F0504F4450"), "6A86");
    assert_eq!(raw.sw(GOST_SELECT), "9000");
    assert_eq!(raw.sw("80CA010300"), "6E00");
    assert_eq!(raw.sw("00FE000000"), "6D00");

    // Files.
    assert_eq!(raw.sw("00B0000010"), "6986");
    assert_eq!(raw.sw("00A4020402C00900"), "6A82");
    assert_eq!(raw.sw("00A4020102C00000"), "6A86");
    let (fcp, sw) = raw.send("00A4020402C00100");
    assert_eq!(sw, "9000");
    assert!(fcp.starts_with("620B8002"), "{fcp}");
    let size = usize::from_str_radix(&fcp[8..12], 16).expect("size");
    assert_eq!(raw.sw(&format!("00B0{:04X}10", size)), "6B00");
    let (tail, sw) = raw.send(&format!("00B0{:04X}10", size - 4));
    assert_eq!((tail.len(), sw.as_str()), (8, "6282"));
    assert_eq!(raw.sw("00B0800010"), "6A86");
    // Extended READ BINARY of the whole certificate in one go (the ATR announces extended length).
    let (all, sw) = raw.send(&format!("00B00000 00{:04X}", size));
    assert_eq!((all.len() / 2, sw.as_str()), (size, "9000"));
    assert_eq!(hex::decode(all).expect("hex"), card.certificate());

    // GET DATA.
    assert_eq!(raw.send("00CA010100").0, hex::encode_upper("PD0000000001"));
    assert_eq!(raw.send("00CA010300"), ("0303".into(), "9000".into()));
    assert_eq!(raw.sw("00CA010900"), "6A88");

    // PSO before MSE and before VERIFY.
    let hash = "AB".repeat(32);
    assert_eq!(raw.sw(&format!("002A9E9A20{hash}00")), "6985");
    assert_eq!(raw.sw("002241B606 800101 840101"), "9000");
    assert_eq!(raw.sw(&format!("002A9E9A20{hash}00")), "6982");

    // MSE errors.
    assert_eq!(raw.sw("002241B606 800101 840107"), "6A88");
    assert_eq!(raw.sw("002241B606 800102 840101"), "6A80");
    assert_eq!(raw.sw("002241B603 800101"), "6A80");
    assert_eq!(raw.sw("002241A406 800101 840101"), "6A86");

    // VERIFY: state query, length out of range (no try spent), wrong reference, wrong, right.
    assert_eq!(raw.sw("00200081"), "63C3");
    assert_eq!(raw.sw("0020008103313233"), "6700");
    assert_eq!(raw.send("00CA010300").0, "0303");
    assert_eq!(raw.sw(&format!("0020008208{PIN_HEX}")), "6A88");
    assert_eq!(raw.sw("00200081083030303030303030"), "63C2");
    assert_eq!(raw.sw(&format!("0020008108{PIN_HEX}")), "9000");
    assert_eq!(raw.sw("00200081"), "9000");
    assert_eq!(raw.send("00CA010300").0, "0303");

    // PSO: wrong hash size, then a signature, then the PIN is spent.
    assert_eq!(raw.sw("002241B606 800101 840101"), "9000");
    assert_eq!(raw.sw(&format!("002A9E9A10{}00", "AB".repeat(16))), "6700");
    let (signature, sw) = raw.send(&format!("002A9E9A20{hash}00"));
    assert_eq!((signature.len() / 2, sw.as_str()), (64, "9000"));
    assert_eq!(raw.sw(&format!("002A9E9A20{hash}00")), "6982");

    // SELECT clears the verified state and the environment.
    assert_eq!(raw.sw(&format!("0020008108{PIN_HEX}")), "9000");
    assert_eq!(raw.sw(GOST_SELECT), "9000");
    assert_eq!(raw.sw("00200081"), "63C3");
    assert_eq!(raw.sw(&format!("002A9E9A20{hash}00")), "6985");
}

#[test]
fn a_blocked_token_refuses_verify_without_counting() {
    let card = VirtualCard::start("blocked-pin");
    let raw = Raw::connect(card.reader());
    assert_eq!(raw.sw(GOST_SELECT), "9000");
    assert_eq!(raw.send("00CA010300").0, "0003");
    assert_eq!(raw.sw("00200081"), "6983");
    assert_eq!(raw.sw(&format!("0020008108{PIN_HEX}")), "6983");
}

#[test]
fn the_last_wrong_pin_blocks_with_63c0() {
    let card = VirtualCard::start("entrepreneur");
    let raw = Raw::connect(card.reader());
    assert_eq!(raw.sw(GOST_SELECT), "9000");
    for expected in ["63C2", "63C1", "63C0"] {
        assert_eq!(raw.sw("00200081083939393939393939"), expected);
    }
    assert_eq!(raw.sw(&format!("0020008108{PIN_HEX}")), "6983");
    assert_eq!(raw.send("00CA010300").0, "0003");
}

#[test]
fn uec_answers_every_status_word_of_its_profile() {
    let card = VirtualCard::start("uec");
    let raw = Raw::connect(card.reader());
    assert_eq!(raw.sw("00CA9F1700"), "6985");
    assert_eq!(raw.sw(UEC_SELECT), "9000");
    // Short APDUs only.
    assert_eq!(raw.sw("00B00000 000010"), "6700");
    assert_eq!(raw.send("00CA9F1700"), ("9F170103".into(), "9000".into()));
    let (number, sw) = raw.send("00CA005A00");
    assert_eq!(
        (number.as_str(), sw.as_str()),
        ("5A089643100000000017", "9000")
    );
    assert_eq!(raw.sw("00CA010100"), "6A88");

    // EF.HOLDER through Le correction.
    assert_eq!(raw.sw("00A4020402 0101"), "6A86");
    assert_eq!(raw.sw("00A4020C02 0909"), "6A82");
    assert_eq!(raw.sw("00A4020C02 0101"), "9000");
    let sw = raw.sw("00B0000000");
    assert!(sw.starts_with("6C"), "{sw}");
    let (holder, sw) = raw.send(&format!("00B00000{}", &sw[2..]));
    assert_eq!(sw, "9000");
    let holder = hex::decode(holder).expect("hex");
    let snils = &profile("uec").person.snils;
    assert!(
        holder.windows(11).any(|w| w == snils.as_bytes()),
        "EF.HOLDER has the SNILS"
    );
    assert_eq!(raw.sw("00B0010000"), "6B00");

    // GET RESPONSE with nothing waiting, signing through 61 40, and a wrong Le for it.
    assert_eq!(raw.sw("00C0000040"), "6985");
    assert_eq!(raw.sw("0020000103313233"), "6700");
    assert_eq!(raw.sw("00200081083132333435363738"), "6A88");
    assert_eq!(raw.sw(&format!("0020000108{PIN_HEX}")), "9000");
    assert_eq!(raw.sw("002241B606 800101 840101"), "6A80");
    assert_eq!(raw.sw("002241B606 800103 840102"), "6A88");
    assert_eq!(raw.sw("002241B606 800103 840101"), "9000");
    assert_eq!(raw.sw(&format!("002A9E9A40{}00", "11".repeat(64))), "6700");
    assert_eq!(raw.sw(&format!("002A9E9A20{}00", "11".repeat(32))), "6140");
    assert_eq!(raw.sw("00C0000020"), "6C40");
    let (signature, sw) = raw.send("00C0000040");
    assert_eq!((signature.len() / 2, sw.as_str()), (64, "9000"));
    assert_eq!(raw.sw("00C0000040"), "6985");
}
