//! The certificate parser and the findings on arbitrary bytes: errors, never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use signing::certificate::CertificateInfo;

fuzz_target!(|data: &[u8]| {
    if let Ok(info) = CertificateInfo::parse(data) {
        let _ = info.findings_at(std::time::SystemTime::now());
        let _ = info.is_qualified();
    }
    let _ = signing::certificate::key_algorithm(data);
});
