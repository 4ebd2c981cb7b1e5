//! BER-TLV, compact-TLV, ATR and response APDU parsing on arbitrary bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(objects) = signing::tlv::parse(data) {
        for object in objects {
            let _ = object.children();
        }
    }
    let _ = signing::tlv::compact(data);
    if let Ok(atr) = signing::card::atr::Atr::parse(data) {
        let _ = atr.supports_extended_length();
    }
    let _ = signing::card::Response::parse(data);
    let _ = signing::drivers::registry::kind_of(data);
});
