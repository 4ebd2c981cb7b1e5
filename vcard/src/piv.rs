//! The PIV Card Application of NIST SP 800-73-4, written from docs/cards.md ("PIV"): the
//! application selected implicitly, four data objects (CCC, CHUID, Discovery Object and the
//! X.509 Certificate for Digital Signature), the PIV Card Application PIN and the digital
//! signature key `9C` (ECDSA P-256) behind GENERAL AUTHENTICATE.

use openssl::asn1::Asn1Time;
use openssl::x509::X509;
use testdata::KeyKind;

use crate::apdu::{self, respond, status, Apdu};
use crate::applet::{sign_hash, sw, tlv, verify_pin, Applet};
use crate::state::CardState;

/// T=1, the right-truncated PIV AID under compact tag F, no extended length, TCK.
pub const ATR: [u8; 20] = [
    0x3B, 0x8F, 0x80, 0x01, 0x80, 0xF9, 0xA0, 0x00, 0x00, 0x03, 0x08, 0x00, 0x00, 0x10, 0x00, 0x73,
    0x00, 0x00, 0x00, 0xBF,
];
/// NIST's RID, then the PIX of the PIV Card Application, version 01 00.
pub const AID: [u8; 11] = [
    0xA0, 0x00, 0x00, 0x03, 0x08, 0x00, 0x00, 0x10, 0x00, 0x01, 0x00,
];
const RID_LEN: usize = 5;
/// The shortest right-truncated AID that still selects: the AID without its version.
const TRUNCATED_AID_LEN: usize = 9;
const LABEL: &[u8] = b"Podpis virtual PIV";

/// SP 800-78-4 Table 6-2: ECC on curve P-256.
pub const ALGORITHM_ECC_P256: u8 = 0x11;
/// The digital signature key.
pub const KEY_DIGITAL_SIGNATURE: u8 = 0x9C;
/// The PIV Card Application PIN.
const PIN_REFERENCE: u8 = 0x80;
/// 6 to 8 digits, sent in 8 bytes padded with FF.
const PIN_LENGTH: (usize, usize) = (6, 8);
const PIN_BLOCK: usize = 8;
/// The length of what key 9C signs: a P-256 key signs 32 bytes.
const P256_HASH_LEN: usize = 32;

pub mod tag {
    pub const CCC: &[u8] = &[0x5F, 0xC1, 0x07];
    pub const CHUID: &[u8] = &[0x5F, 0xC1, 0x02];
    pub const DISCOVERY: &[u8] = &[0x7E];
    pub const CERTIFICATE_DIGITAL_SIGNATURE: &[u8] = &[0x5F, 0xC1, 0x0A];
}

/// The FASC-N of non-federal issuers (agency 9999, system 9999, credential 999999, CS 0, ICI 1,
/// PI 0000000000, OC 3, OI 0000, POA 1): `S` start sentinel, `F` field separator, `E` end
/// sentinel; the LRC is computed.
const FASCN: &str = "S9999F9999F999999F0F1F0000000000300001E";

pub struct PivApplet {
    state: CardState,
    objects: Objects,
    /// The PIN's security status.
    verified: bool,
    /// The command just before was a successful VERIFY: the one GENERAL AUTHENTICATE with 9C
    /// that the PIN Always rule allows.
    signature_allowed: bool,
    /// Response bytes that wait for GET RESPONSE.
    waiting: Vec<u8>,
}

/// The data objects, made once from the card's state.
struct Objects {
    ccc: Vec<u8>,
    chuid: Vec<u8>,
    discovery: Vec<u8>,
    certificate: Option<Vec<u8>>,
}

impl PivApplet {
    pub fn new(state: CardState) -> Self {
        let guid = guid(&state.data.serial);
        let certificate = state.keys.first().map(|k| k.certificate.as_slice());
        let expiry = certificate.and_then(expiry_date).unwrap_or(*b"99991231");
        let objects = Objects {
            ccc: ccc(&guid),
            chuid: chuid(&guid, &expiry),
            discovery: discovery(),
            certificate: certificate.map(certificate_object),
        };
        Self {
            state,
            objects,
            verified: false,
            signature_allowed: false,
            waiting: Vec::new(),
        }
    }

    /// Sends `data` within Ne, leaving the rest for GET RESPONSE (docs/cards.md, response
    /// chaining).
    fn send(&mut self, mut data: Vec<u8>, ne: Option<usize>) -> Vec<u8> {
        let ne = ne.unwrap_or(0);
        if data.len() <= ne {
            return respond(&data, sw::OK);
        }
        self.waiting = data.split_off(ne);
        let left = if self.waiting.len() >= 256 {
            0
        } else {
            self.waiting.len() as u16
        };
        respond(&data, 0x6100 | left)
    }

    fn select(&mut self, c: &Apdu) -> Vec<u8> {
        if c.p1 != 0x04 {
            return status(sw::NOT_FOUND);
        }
        let names_piv =
            (TRUNCATED_AID_LEN..=AID.len()).contains(&c.data.len()) && AID.starts_with(&c.data);
        if !names_piv {
            return status(sw::NOT_FOUND);
        }
        if c.p2 != 0x00 {
            return status(sw::WRONG_P1P2);
        }
        self.verified = false;
        self.send(application_property_template(), c.ne)
    }

    fn get_data(&mut self, c: &Apdu) -> Vec<u8> {
        if (c.p1, c.p2) != (0x3F, 0xFF) {
            return status(sw::WRONG_P1P2);
        }
        let tag = match c.data.as_slice() {
            [0x5C, len @ 1..=3, tag @ ..] if tag.len() == usize::from(*len) => tag,
            _ => return status(sw::WRONG_DATA),
        };
        let object = match tag {
            tag::CCC => Some(&self.objects.ccc),
            tag::CHUID => Some(&self.objects.chuid),
            tag::DISCOVERY => Some(&self.objects.discovery),
            tag::CERTIFICATE_DIGITAL_SIGNATURE => self.objects.certificate.as_ref(),
            _ => None,
        };
        match object.cloned() {
            Some(object) => self.send(object, c.ne),
            None => status(sw::NOT_FOUND),
        }
    }

    fn verify(&mut self, c: &Apdu) -> Vec<u8> {
        if c.p1 != 0x00 && c.p1 != 0xFF {
            return status(sw::WRONG_P1P2);
        }
        if c.p2 != PIN_REFERENCE {
            return status(sw::DATA_NOT_FOUND);
        }
        if c.p1 == 0xFF {
            if !c.data.is_empty() {
                return status(sw::WRONG_LENGTH);
            }
            self.verified = false;
            return status(sw::OK);
        }
        if c.data.is_empty() {
            // The state, comparing nothing.
            return match (self.state.data.pin_tries_left, self.verified) {
                (0, _) => status(sw::BLOCKED),
                (_, true) => status(sw::OK),
                (n, false) => status(0x63C0 | u16::from(n)),
            };
        }
        if c.data.len() != PIN_BLOCK {
            return status(sw::WRONG_LENGTH);
        }
        // The form is checked before anything is compared: a malformed PIN costs no try.
        let Some(pin) = unpad_pin(&c.data) else {
            return status(sw::WRONG_DATA);
        };
        let answer = verify_pin(&mut self.state, pin, PIN_LENGTH, &mut self.verified);
        self.signature_allowed = self.verified;
        answer
    }

    fn general_authenticate(&mut self, c: &Apdu, right_after_verify: bool) -> Vec<u8> {
        if (c.p1, c.p2) != (ALGORITHM_ECC_P256, KEY_DIGITAL_SIGNATURE) {
            return status(sw::WRONG_P1P2);
        }
        let Some(key) = self
            .state
            .keys
            .first()
            .filter(|k| k.kind == KeyKind::EcdsaP256)
        else {
            return status(sw::WRONG_P1P2);
        };
        let Some(hash) = signature_request(&c.data) else {
            return status(sw::WRONG_DATA);
        };
        // PIN Always: the VERIFY must be the command just before this one.
        if !right_after_verify {
            return status(sw::SECURITY_NOT_SATISFIED);
        }
        match sign_hash(&key.private, hash) {
            Ok(signature) => {
                let template = tlv(&[0x7C], &tlv(&[0x82], &signature));
                self.send(template, c.ne)
            }
            Err(_) => status(sw::NO_PRECISE_DIAGNOSIS),
        }
    }

    fn get_response(&mut self, c: &Apdu, mut waiting: Vec<u8>) -> Vec<u8> {
        if (c.p1, c.p2) != (0x00, 0x00) {
            return status(sw::WRONG_P1P2);
        }
        if waiting.is_empty() {
            return status(sw::CONDITIONS);
        }
        let ne = c.ne.unwrap_or(0).min(waiting.len());
        let rest = waiting.split_off(ne);
        if rest.is_empty() {
            return respond(&waiting, sw::OK);
        }
        self.waiting = rest;
        let left = if self.waiting.len() >= 256 {
            0
        } else {
            self.waiting.len() as u16
        };
        respond(&waiting, 0x6100 | left)
    }
}

impl Applet for PivApplet {
    fn atr(&self) -> Vec<u8> {
        ATR.to_vec()
    }

    fn reset(&mut self) {
        self.verified = false;
        self.signature_allowed = false;
        self.waiting.clear();
    }

    fn process(&mut self, bytes: &[u8]) -> Vec<u8> {
        // What a command may rely on from the one before it lasts for one command only.
        let right_after_verify = std::mem::take(&mut self.signature_allowed);
        let waiting = std::mem::take(&mut self.waiting);
        let Some(c) = apdu::parse(bytes) else {
            return status(sw::WRONG_LENGTH);
        };
        if c.cla != 0x00 {
            return status(sw::CLA_NOT_SUPPORTED);
        }
        match c.ins {
            0xA4 => self.select(&c),
            0xCB => self.get_data(&c),
            0x20 => self.verify(&c),
            0x87 => self.general_authenticate(&c, right_after_verify),
            0xC0 => self.get_response(&c, waiting),
            _ => status(sw::INS_NOT_SUPPORTED),
        }
    }
}

/// The PIN inside an 8-byte VERIFY block: 6 to 8 ASCII digits, then only FF.
fn unpad_pin(block: &[u8]) -> Option<&[u8]> {
    let end = block.iter().position(|b| *b == 0xFF).unwrap_or(block.len());
    let (pin, padding) = block.split_at(end);
    let digits = pin.iter().all(u8::is_ascii_digit);
    let padded = padding.iter().all(|b| *b == 0xFF);
    (digits && padded && (PIN_LENGTH.0..=PIN_LENGTH.1).contains(&pin.len())).then_some(pin)
}

/// The 32 bytes to sign from a dynamic authentication template `7C { 82 00, 81 20 hash }`, the
/// two objects in either order and nothing else.
fn signature_request(data: &[u8]) -> Option<&[u8]> {
    let (template, rest) = read_tlv(data)?;
    if template.0 != 0x7C || !rest.is_empty() {
        return None;
    }
    let (first, rest) = read_tlv(template.1)?;
    let (second, rest) = read_tlv(rest)?;
    if !rest.is_empty() {
        return None;
    }
    let (response, challenge) = match (first.0, second.0) {
        (0x82, 0x81) => (first.1, second.1),
        (0x81, 0x82) => (second.1, first.1),
        _ => return None,
    };
    (response.is_empty() && challenge.len() == P256_HASH_LEN).then_some(challenge)
}

/// A BER-TLV object with a one-byte tag: (tag, value).
type Tlv<'a> = (u8, &'a [u8]);

/// One BER-TLV object with a one-byte tag and a length under 256, and the bytes after it.
fn read_tlv(data: &[u8]) -> Option<(Tlv<'_>, &[u8])> {
    let (&tag, rest) = data.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = match first {
        0x00..=0x7F => (usize::from(first), rest),
        0x81 => {
            let (&len, rest) = rest.split_first()?;
            (usize::from(len), rest)
        }
        _ => return None,
    };
    (rest.len() >= len).then(|| ((tag, &rest[..len]), &rest[len..]))
}

fn application_property_template() -> Vec<u8> {
    let mut body = tlv(&[0x4F], &AID[RID_LEN..]);
    body.extend(tlv(&[0x79], &tlv(&[0x4F], &AID[..RID_LEN])));
    body.extend(tlv(&[0x50], LABEL));
    let mut algorithms = tlv(&[0x80], &[ALGORITHM_ECC_P256]);
    algorithms.extend(tlv(&[0x06], &[]));
    body.extend(tlv(&[0xAC], &algorithms));
    tlv(&[0x61], &body)
}

/// The CCC: card identifier (GSC-RID, manufacturer 00, card type 00, 14 bytes of the GUID), the
/// version numbers of SP 800-73-4, and the empty elements.
fn ccc(guid: &[u8; 16]) -> Vec<u8> {
    let mut identifier = vec![0xA0, 0x00, 0x00, 0x01, 0x16, 0x00, 0x00];
    identifier.extend_from_slice(&guid[..14]);
    let mut body = tlv(&[0xF0], &identifier);
    body.extend(tlv(&[0xF1], &[0x21]));
    body.extend(tlv(&[0xF2], &[0x21]));
    body.extend(tlv(&[0xF3], &[]));
    body.extend(tlv(&[0xF4], &[0x00]));
    body.extend(tlv(&[0xF5], &[0x10]));
    for empty in [0xF6, 0xF7, 0xFA, 0xFB, 0xFC, 0xFD, 0xFE] {
        body.extend(tlv(&[empty], &[]));
    }
    tlv(&[0x53], &body)
}

fn chuid(guid: &[u8; 16], expiry: &[u8; 8]) -> Vec<u8> {
    let mut body = tlv(&[0x30], &fascn(FASCN));
    body.extend(tlv(&[0x34], guid));
    body.extend(tlv(&[0x35], expiry));
    body.extend(tlv(&[0x3E], &[]));
    body.extend(tlv(&[0xFE], &[]));
    tlv(&[0x53], &body)
}

fn discovery() -> Vec<u8> {
    let mut body = tlv(&[0x4F], &AID);
    // The PIV Card Application PIN satisfies the access rules; there is no global PIN.
    body.extend(tlv(&[0x5F, 0x2F], &[0x40, 0x00]));
    tlv(&[0x7E], &body)
}

fn certificate_object(der: &[u8]) -> Vec<u8> {
    let mut body = tlv(&[0x70], der);
    body.extend(tlv(&[0x71], &[0x00]));
    body.extend(tlv(&[0xFE], &[]));
    tlv(&[0x53], &body)
}

/// The CHUID's GUID: the profile's serial, 32 hex digits. A serial that is not one (a profile
/// written for another application) still gives a stable GUID: the first 16 bytes of its
/// SHA-256.
fn guid(serial: &str) -> [u8; 16] {
    let mut out = [0u8; 16];
    match hex::decode(serial) {
        Ok(bytes) if bytes.len() == 16 => out.copy_from_slice(&bytes),
        _ => out.copy_from_slice(&openssl::sha::sha256(serial.as_bytes())[..16]),
    }
    out
}

/// The FASC-N in the 5-bit encoding of the TIG SCEPACS: each character's 4 data bits, least
/// significant first, then an odd parity bit; the LRC (the exclusive or of all characters'
/// data bits) ends it. 40 characters make 25 bytes.
fn fascn(characters: &str) -> Vec<u8> {
    let values: Vec<u8> = characters
        .bytes()
        .map(|c| match c {
            b'S' => 0x0B,
            b'F' => 0x0D,
            b'E' => 0x0F,
            digit => digit - b'0',
        })
        .collect();
    let lrc = values.iter().fold(0, |acc, v| acc ^ v);
    let mut bits = Vec::with_capacity((values.len() + 1) * 5);
    for value in values.iter().chain([&lrc]) {
        let data: Vec<u8> = (0..4).map(|i| (value >> i) & 1).collect();
        let parity = u8::from(data.iter().sum::<u8>() % 2 == 0);
        bits.extend(data);
        bits.push(parity);
    }
    bits.chunks(8)
        .map(|byte| byte.iter().fold(0u8, |acc, bit| acc << 1 | bit))
        .collect()
}

/// The certificate's notAfter as the CHUID's `YYYYMMDD`.
fn expiry_date(der: &[u8]) -> Option<[u8; 8]> {
    let certificate = X509::from_der(der).ok()?;
    let epoch = Asn1Time::from_unix(0).ok()?;
    let days = epoch.diff(certificate.not_after()).ok()?.days;
    let (y, m, d) = civil_from_days(i64::from(days));
    format!("{y:04}{m:02}{d:02}").into_bytes().try_into().ok()
}

/// Days since 1970-01-01 to a proleptic Gregorian date (H. Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};
    use std::sync::atomic::{AtomicUsize, Ordering};

    use openssl::ec::{EcGroup, EcKey};
    use openssl::ecdsa::EcdsaSig;
    use openssl::hash::MessageDigest;
    use openssl::nid::Nid;
    use openssl::pkey::PKey;
    use openssl::x509::{X509Builder, X509NameBuilder};

    use super::*;
    use crate::pki::Pki;

    fn h(s: &str) -> Vec<u8> {
        let digits: String = s.split_whitespace().collect();
        hex::decode(digits).expect("hex")
    }

    #[test]
    fn the_atr_is_the_documented_one_with_its_check_byte() {
        assert_eq!(
            ATR.to_vec(),
            h("3B 8F 80 01 80 F9 A0 00 00 03 08 00 00 10 00 73 00 00 00 BF")
        );
        let tck = ATR[1..ATR.len() - 1].iter().fold(0, |acc, b| acc ^ b);
        assert_eq!(tck, ATR[ATR.len() - 1]);
    }

    #[test]
    fn the_fascn_is_the_non_federal_one_of_the_documentation() {
        // docs/cards.md, CHUID; the same 25 bytes as yubikey.rs writes.
        assert_eq!(
            fascn(FASCN),
            h("D4 E7 39 DA 73 9C ED 39 CE 73 9D 83 68 58 21 08 42 10 84 21 C8 42 10 C3 EB")
        );
    }

    #[test]
    fn objects_are_byte_for_byte_those_of_the_documentation() {
        assert_eq!(
            application_property_template(),
            [
                h("61 2C 4F 06 000010000100 79 07 4F 05 A000000308 50 12"),
                LABEL.to_vec(),
                h("AC 05 80 01 11 06 00"),
            ]
            .concat()
        );
        assert_eq!(
            discovery(),
            h("7E 12 4F 0B A0000003080000100001 00 5F 2F 02 40 00")
        );
        let guid: [u8; 16] = h("50440000000040008000000000000008")
            .try_into()
            .expect("16");
        let ccc = ccc(&guid);
        assert_eq!(ccc.len(), 53);
        assert_eq!(
            ccc,
            h("53 33 F0 15 A000000116 00 00 5044000000004000800000000000
               F1 01 21 F2 01 21 F3 00 F4 01 00 F5 01 10
               F6 00 F7 00 FA 00 FB 00 FC 00 FD 00 FE 00")
        );
        let chuid = chuid(&guid, b"20271130");
        assert_eq!(chuid.len(), 61);
        assert_eq!(&chuid[..4], &h("53 3B 30 19")[..]);
        assert_eq!(
            &chuid[29..],
            &[
                h("34 10 50440000000040008000000000000008 35 08"),
                b"20271130".to_vec(),
                h("3E 00 FE 00"),
            ]
            .concat()[..]
        );
        let long = vec![0x30; 300];
        assert_eq!(
            &certificate_object(&long)[..8],
            &h("53 82 01 35 70 82 01 2C")[..]
        );
        assert!(certificate_object(&long).ends_with(&h("71 01 00 FE 00")));
    }

    #[test]
    fn the_piv_profile_names_its_guid_in_hex() {
        let profile = testdata::profile("piv").expect("piv profile");
        assert_eq!(
            guid(&profile.serial).to_vec(),
            hex::decode(&profile.serial).expect("hex serial")
        );
    }

    #[test]
    fn pins_are_six_to_eight_digits_padded_with_ff() {
        assert_eq!(unpad_pin(b"12345678"), Some(&b"12345678"[..]));
        assert_eq!(unpad_pin(&h("313233343536FFFF")), Some(&b"123456"[..]));
        for bad in [
            "3132333435FFFFFF",                              // five digits
            "31323334353637FF".replace("37", "41").as_str(), // a letter
            "313233343536FF37",                              // data after the padding
            "FFFFFFFFFFFFFFFF",
        ] {
            assert_eq!(unpad_pin(&h(bad)), None, "{bad}");
        }
    }

    #[test]
    fn a_signature_request_is_exactly_82_empty_and_81_with_32_bytes() {
        let hash = [0xAB; 32];
        let mut body = h("82 00 81 20");
        body.extend(hash);
        let request = tlv(&[0x7C], &body);
        assert_eq!(signature_request(&request), Some(&hash[..]));
        let mut swapped = h("81 20");
        swapped.extend(hash);
        swapped.extend(h("82 00"));
        assert_eq!(signature_request(&tlv(&[0x7C], &swapped)), Some(&hash[..]));
        for bad in [
            tlv(&[0x7C], &h("82 00 81 00")), // a challenge request
            tlv(&[0x7C], &[h("80 00 81 20"), hash.to_vec()].concat()), // a witness
            tlv(&[0x7C], &[h("82 00 81 1F"), hash[..31].to_vec()].concat()),
            tlv(&[0x7D], &body),
            [request.clone(), vec![0x00]].concat(),
            request[..request.len() - 1].to_vec(),
        ] {
            assert_eq!(signature_request(&bad), None, "{}", hex::encode(&bad));
        }
    }

    /// A PIV card in a state directory made here, with a fresh P-256 key and a self-signed
    /// certificate: what the applet does needs no test PKI (and so no GOST engine).
    struct TestCard {
        dir: PathBuf,
        applet: PivApplet,
    }

    impl Drop for TestCard {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }

    impl TestCard {
        fn new(tries_left: u8) -> Self {
            static COUNTER: AtomicUsize = AtomicUsize::new(0);
            let dir = std::env::temp_dir().join(format!(
                "vcard-piv-test-{}-{}",
                std::process::id(),
                COUNTER.fetch_add(1, Ordering::Relaxed)
            ));
            let state = dir.join("state");
            let pki = dir.join("pki");
            std::fs::create_dir_all(&state).expect("state dir");
            std::fs::create_dir_all(&pki).expect("pki dir");
            // An existing PKI is opened without running `openssl`; the card is made already.
            std::fs::write(pki.join("root.pem"), "").expect("root");
            std::fs::write(pki.join("crl.pem"), "").expect("crl");
            let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).expect("P-256");
            let key = PKey::from_ec_key(EcKey::generate(&group).expect("key")).expect("pkey");
            let pem = key.private_key_to_pem_pkcs8().expect("pem");
            std::fs::write(state.join("key-01.pem"), pem).expect("key file");
            let mut name = X509NameBuilder::new().expect("name");
            name.append_entry_by_text("CN", "PIV test").expect("cn");
            let name = name.build();
            let mut cert = X509Builder::new().expect("builder");
            cert.set_subject_name(&name).expect("subject");
            cert.set_issuer_name(&name).expect("issuer");
            cert.set_pubkey(&key).expect("public key");
            cert.set_not_before(&Asn1Time::days_from_now(0).expect("now"))
                .expect("not before");
            cert.set_not_after(&Asn1Time::days_from_now(365).expect("later"))
                .expect("not after");
            cert.sign(&key, MessageDigest::sha256()).expect("sign");
            let der = cert.build().to_der().expect("der");
            std::fs::write(state.join("cert-01.der"), der).expect("cert file");
            let persisted = serde_json::json!({
                "profile": "piv",
                "serial": "50440000000040008000000000000008",
                "pin": "12345678",
                "pin_tries_left": tries_left,
                "pin_max_tries": 3,
                "keys": [{"reference": 1, "kind": "ecdsa-p256", "certificate_fid": [0xC0, 1]}],
            });
            std::fs::write(state.join("card.json"), persisted.to_string()).expect("card.json");
            let applet = PivApplet::new(Self::open(&dir));
            Self { dir, applet }
        }

        fn open(dir: &Path) -> CardState {
            let profile = testdata::profile("piv").expect("piv profile");
            let pki = Pki::open(&dir.join("pki")).expect("pki");
            CardState::open_or_create(&dir.join("state"), profile, &pki).expect("card")
        }

        /// Sends hex; returns (data, SW) in hex.
        fn send(&mut self, apdu: &str) -> (String, String) {
            let answer = self.applet.process(&h(apdu));
            let (data, sw) = answer.split_at(answer.len() - 2);
            (hex::encode_upper(data), hex::encode_upper(sw))
        }

        fn sw(&mut self, apdu: &str) -> String {
            self.send(apdu).1
        }

        fn certificate(&self) -> X509 {
            let der = std::fs::read(self.dir.join("state/cert-01.der")).expect("cert");
            X509::from_der(&der).expect("parse")
        }
    }

    const PIN: &str = "00 20 00 80 08 3132333435363738";

    fn sign_request(hash: &[u8]) -> String {
        format!("00 87 11 9C 26 7C 24 82 00 81 20 {} 00", hex::encode(hash))
    }

    #[test]
    fn the_application_is_selected_implicitly_and_by_full_or_truncated_aid() {
        let mut card = TestCard::new(3);
        assert_eq!(
            card.send("00 CB 3F FF 03 5C 01 7E 00").0,
            hex::encode_upper(discovery())
        );
        let template = hex::encode_upper(application_property_template());
        for aid in ["0B A0000003080000100001 00", "09 A00000030800001000"] {
            assert_eq!(
                card.send(&format!("00 A4 04 00 {aid} 00")),
                (template.clone(), "9000".into())
            );
        }
        assert_eq!(card.sw("00 A4 04 00 05 A000000308 00"), "6A82");
        assert_eq!(card.sw("00 A4 04 00 07 A0000000791000 00"), "6A82");
        assert_eq!(card.sw("00 A4 04 0C 09 A00000030800001000"), "6A86");
        assert_eq!(card.sw("00 A4 00 0C 02 3F00"), "6A82");
        // A failed SELECT leaves the application selected.
        assert_eq!(card.sw("00 CB 3F FF 03 5C 01 7E 00"), "9000");
        assert_eq!(card.sw("10 CB 3F FF 03 5C 01 7E 00"), "6E00");
        assert_eq!(card.sw("00 CA 9F 7F 00"), "6D00");
    }

    #[test]
    fn objects_come_in_parts_of_ne_bytes_through_get_response() {
        let mut card = TestCard::new(3);
        let whole = certificate_object(&card.certificate().to_der().expect("der"));
        assert!(whole.len() > 256);
        // As OpenSC learns an object's length: the first 8 bytes.
        let (head, sw) = card.send("00 CB 3F FF 05 5C 03 5FC10A 08");
        assert_eq!(head, hex::encode_upper(&whole[..8]));
        assert_eq!(sw, "6100", "256 or more left");
        // Another command discards what waited.
        assert_eq!(card.sw("00 CB 3F FF 03 5C 01 7E 00"), "9000");
        assert_eq!(card.sw("00 C0 00 00 00"), "6985");
        let (mut read, mut sw) = card.send("00 CB 3F FF 05 5C 03 5FC10A 00");
        let mut rounds = 0;
        while let Some(left) = sw.strip_prefix("61") {
            let le = if left == "00" { "00" } else { left };
            let (more, next) = card.send(&format!("00 C0 00 00 {le}"));
            read.push_str(&more);
            sw = next;
            rounds += 1;
            assert!(rounds < 20);
        }
        assert_eq!(sw, "9000");
        assert_eq!(read, hex::encode_upper(&whole));
        assert_eq!(card.sw("00 C0 00 00 10"), "6985");
        assert_eq!(card.sw("00 CB 3F FF 05 5C 03 5FC105 00"), "6A82");
        assert_eq!(card.sw("00 CB 3F FF 05 5C 03 5FC10C 00"), "6A82");
        assert_eq!(card.sw("00 CB 3F FE 05 5C 03 5FC10A 00"), "6A86");
        assert_eq!(card.sw("00 CB 3F FF 05 5D 03 5FC10A 00"), "6A80");
        assert_eq!(card.sw("00 CB 3F FF 04 5C 03 5FC1 00"), "6A80");
    }

    #[test]
    fn verify_counts_wrong_pins_refuses_malformed_ones_and_tells_the_state() {
        let mut card = TestCard::new(3);
        assert_eq!(card.sw("00 20 00 80"), "63C3");
        assert_eq!(card.sw("00 20 00 80 08 303030303030FFFF"), "63C2");
        // Neither a length nor a form that is wrong costs a try.
        assert_eq!(card.sw("00 20 00 80 06 313233343536"), "6700");
        assert_eq!(card.sw("00 20 00 80 08 3132333435FFFFFF"), "6A80");
        assert_eq!(card.sw("00 20 00 80 08 31323334353637FE"), "6A80");
        assert_eq!(card.sw("00 20 00 80"), "63C2");
        assert_eq!(card.sw("00 20 00 81 08 3132333435363738"), "6A88");
        assert_eq!(card.sw("00 20 01 80 08 3132333435363738"), "6A86");
        assert_eq!(card.sw(PIN), "9000");
        assert_eq!(card.sw("00 20 00 80"), "9000");
        assert_eq!(card.sw("00 20 FF 80 08 3132333435363738"), "6700");
        assert_eq!(card.sw("00 20 FF 80"), "9000");
        assert_eq!(card.sw("00 20 00 80"), "63C3");
        // The counter lives in the state directory.
        assert_eq!(card.sw("00 20 00 80 08 3939393939393939"), "63C2");
        assert_eq!(TestCard::open(&card.dir).data.pin_tries_left, 2);
        card.applet.reset();
        assert_eq!(card.sw("00 20 00 80"), "63C2");
        assert_eq!(card.sw(PIN), "9000");
        card.applet.reset();
        assert_eq!(card.sw("00 20 00 80"), "63C3");
    }

    #[test]
    fn a_blocked_pin_is_not_compared() {
        let mut card = TestCard::new(1);
        assert_eq!(card.sw("00 20 00 80 08 3939393939393939"), "63C0");
        assert_eq!(card.sw(PIN), "6983");
        assert_eq!(card.sw("00 20 00 80"), "6983");
    }

    #[test]
    fn key_9c_signs_once_per_verify_right_before_it() {
        let mut card = TestCard::new(3);
        let hash = openssl::sha::sha256(b"the document");
        assert_eq!(card.sw(&sign_request(&hash)), "6982");
        assert_eq!(card.sw(PIN), "9000");
        let (template, sw) = card.send(&sign_request(&hash));
        assert_eq!(sw, "9000");
        let template = h(&template);
        let (outer, rest) = read_tlv(&template).expect("7C");
        assert!(rest.is_empty() && outer.0 == 0x7C);
        let (response, rest) = read_tlv(outer.1).expect("82");
        assert!(rest.is_empty() && response.0 == 0x82);
        let signature = EcdsaSig::from_der(response.1).expect("Ecdsa-Sig-Value");
        let public = card.certificate().public_key().expect("public key");
        let public = public.ec_key().expect("EC key");
        assert!(signature.verify(&hash, &public).expect("verify"));
        // PIN Always: the next signature needs its own VERIFY, right before it.
        assert_eq!(card.sw(&sign_request(&hash)), "6982");
        assert_eq!(card.sw(PIN), "9000");
        assert_eq!(card.sw("00 CB 3F FF 03 5C 01 7E 00"), "9000");
        assert_eq!(card.sw(&sign_request(&hash)), "6982");
        // The PIN itself stays verified.
        assert_eq!(card.sw("00 20 00 80"), "9000");
        assert_eq!(card.sw(PIN), "9000");
        assert_eq!(
            card.sw(&sign_request(&hash).replace("00 87 11 9C", "00 87 14 9C")),
            "6A86"
        );
        assert_eq!(card.sw(PIN), "9000");
        assert_eq!(
            card.sw(&sign_request(&hash).replace("00 87 11 9C", "00 87 11 9A")),
            "6A86"
        );
        assert_eq!(card.sw(PIN), "9000");
        assert_eq!(card.sw("00 87 11 9C 04 7C 02 81 00 00"), "6A80");
        assert_eq!(card.sw(PIN), "9000");
        assert_eq!(card.sw(&sign_request(&hash)), "9000");
    }

    #[test]
    fn civil_dates_are_right_around_known_days() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(19_782), (2024, 2, 29));
    }
}
