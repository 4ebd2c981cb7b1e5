//! Certificates as the page library reads them: the certificate list item (ifc-protocol.md 3.2),
//! `cert_info` (3.3), the DN and date strings, and the `x509Handle`s of `load_x509_*`.
//!
//! Formats decided here (the document leaves them open, docs/host.md says why):
//! - DN: one `key=value` per attribute, in the certificate's order, joined by `"\n"`; keys are
//!   the names the library's IFCDN maps (CN, surname, givenName, C, stateOrProvinceName, L,
//!   street, O, OU, title, emailAddress, OGRN, SNILS, INN), any other attribute by its numeric
//!   OID; a comma in a value is written `\,`, a line break as a space; a value that is not a
//!   string is `#` and the hex of its DER (RFC 4514's form).
//! - Dates: the form of JavaScript's `toUTCString()` (`Mon, 30 Nov 2026 12:00:00 GMT`), which
//!   ECMAScript requires `Date.parse` to read back in every browser, so `isValid()` works without
//!   the library's rewrite of OpenSSL's form.
//! - `cert_sn`: the serial number in upper-case hex; `cert_sign_alg`: the public key's algorithm
//!   OID, which is what the library compares with the GOST key OIDs.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use base64::Engine as _;
use const_oid::ObjectIdentifier as Oid;
use der::asn1::Utf8StringRef;
use der::{Decode, Encode};
use serde_json::{json, Value};
use x509_cert::name::Name;
use x509_cert::time::Time;

use crate::ifc_error::IfcError;

/// A certificate, parsed once, with its DER.
#[derive(Debug, Clone)]
pub struct Certificate {
    der: Vec<u8>,
    cert: x509_cert::Certificate,
}

impl Certificate {
    /// A DER certificate with nothing after it; anything else is
    /// [`IfcError::UnsupportedFormat`].
    pub fn from_der(der: &[u8]) -> Result<Self, IfcError> {
        let cert =
            x509_cert::Certificate::from_der(der).map_err(|_| IfcError::UnsupportedFormat)?;
        Ok(Self {
            der: der.to_vec(),
            cert,
        })
    }

    pub fn der(&self) -> &[u8] {
        &self.der
    }

    fn common(&self) -> serde_json::Map<String, Value> {
        let tbs = &self.cert.tbs_certificate;
        let mut map = serde_json::Map::new();
        map.insert(
            "cert_sn".into(),
            hex::encode_upper(tbs.serial_number.as_bytes()).into(),
        );
        map.insert("cert_subject".into(), dn(&tbs.subject).into());
        map.insert("cert_issuer".into(), dn(&tbs.issuer).into());
        map.insert(
            "cert_valid_from".into(),
            date(&tbs.validity.not_before).into(),
        );
        map.insert("cert_valid_to".into(), date(&tbs.validity.not_after).into());
        map.insert(
            "cert_sign_alg".into(),
            tbs.subject_public_key_info.algorithm.oid.to_string().into(),
        );
        map
    }

    /// An item of `cert_list` (ifc-protocol.md 3.2), `id` being the key's id in its container.
    pub fn list_item(&self, id: &str) -> Value {
        let mut map = self.common();
        map.insert("id".into(), id.into());
        Value::Object(map)
    }

    /// `cert_info` of `get_x509_info` (ifc-protocol.md 3.3).
    pub fn info(&self) -> Value {
        let mut map = self.common();
        map.insert(
            "base64".into(),
            base64::engine::general_purpose::STANDARD
                .encode(&self.der)
                .into(),
        );
        map.insert("pem".into(), pem(&self.der).into());
        // X.509's own numbering (v1, v2, v3), not the 0-based INTEGER of the DER.
        let version = match self.cert.tbs_certificate.version {
            x509_cert::Version::V1 => "1",
            x509_cert::Version::V2 => "2",
            x509_cert::Version::V3 => "3",
        };
        map.insert("version".into(), version.into());
        map.insert("extensions".into(), extensions(&self.cert).into());
        Value::Object(map)
    }
}

/// The certificate of `load_x509_from_data`: base64 DER or PEM, told apart when
/// `cert_data_type` is 0 (IFC_CERT_UNKNOWN). 2 is base64, 3 is PEM; 1 (raw DER) cannot travel
/// in a JSON string.
pub fn certificate_from_string(text: &str, data_type: i64) -> Result<Certificate, IfcError> {
    let is_pem = text.contains("-----BEGIN");
    let der = match (data_type, is_pem) {
        (0 | 3, true) => from_pem(text)?,
        (0 | 2, false) => decode_base64(text)?,
        (3, false) | (2, true) => return Err(IfcError::UnsupportedFormat),
        (1, _) => return Err(IfcError::UnsupportedFormat),
        _ => return Err(IfcError::BadParams),
    };
    Certificate::from_der(&der)
}

/// Base64, with line breaks and spaces allowed (PEM bodies, wrapped strings). Bad base64 is
/// [`IfcError::ErrorBase64`].
pub fn decode_base64(text: &str) -> Result<Vec<u8>, IfcError> {
    let compact: String = text.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    base64::engine::general_purpose::STANDARD
        .decode(compact)
        .map_err(|_| IfcError::ErrorBase64)
}

fn from_pem(text: &str) -> Result<Vec<u8>, IfcError> {
    const BEGIN: &str = "-----BEGIN CERTIFICATE-----";
    const END: &str = "-----END CERTIFICATE-----";
    let start = text.find(BEGIN).ok_or(IfcError::UnsupportedFormat)? + BEGIN.len();
    let end = text[start..].find(END).ok_or(IfcError::UnsupportedFormat)? + start;
    decode_base64(&text[start..end])
}

/// PEM with 64-column lines, as OpenSSL writes it.
pub fn pem(der: &[u8]) -> String {
    let body = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = String::from("-----BEGIN CERTIFICATE-----\n");
    for line in body.as_bytes().chunks(64) {
        // Base64 is ASCII.
        out.push_str(&String::from_utf8_lossy(line));
        out.push('\n');
    }
    out.push_str("-----END CERTIFICATE-----\n");
    out
}

/// The names IFCDN maps to OIDs (ifc-protocol.md 3.2); other attributes go by numeric OID.
fn attribute_name(oid: &Oid) -> Option<&'static str> {
    Some(match oid.to_string().as_str() {
        "2.5.4.3" => "CN",
        "2.5.4.4" => "surname",
        "2.5.4.42" => "givenName",
        "2.5.4.6" => "C",
        "2.5.4.8" => "stateOrProvinceName",
        "2.5.4.7" => "L",
        "2.5.4.9" => "street",
        "2.5.4.10" => "O",
        "2.5.4.11" => "OU",
        "2.5.4.12" => "title",
        "1.2.840.113549.1.9.1" => "emailAddress",
        "1.2.643.100.1" => "OGRN",
        "1.2.643.100.3" => "SNILS",
        "1.2.643.3.131.1.1" => "INN",
        _ => return None,
    })
}

/// A DN in the plugin's form (see the module comment).
pub fn dn(name: &Name) -> String {
    let mut parts = Vec::new();
    for rdn in name.0.iter() {
        for atv in rdn.0.iter() {
            let key = attribute_name(&atv.oid).map_or_else(|| atv.oid.to_string(), str::to_owned);
            let value = match signing::certificate::decode_string(&atv.value) {
                Some(text) => text.replace(['\n', '\r'], " ").replace(',', "\\,"),
                None => format!("#{}", hex::encode(atv.value.to_der().unwrap_or_default())),
            };
            parts.push(format!("{key}={value}"));
        }
    }
    parts.join("\n")
}

/// A certificate time in the form of JavaScript's `toUTCString()`.
pub fn date(time: &Time) -> String {
    const DAYS: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let t = time.to_date_time();
    // 1 January 1970 was a Thursday.
    let days = t.unix_duration().as_secs() / 86_400;
    let weekday = DAYS[((days + 4) % 7) as usize];
    let month = MONTHS[usize::from(t.month().clamp(1, 12)) - 1];
    format!(
        "{weekday}, {:02} {month} {:04} {:02}:{:02}:{:02} GMT",
        t.day(),
        t.year(),
        t.hour(),
        t.minutes(),
        t.seconds()
    )
}

/// The extensions as free text, laid out as OpenSSL prints them (a name line, then the value
/// indented by four spaces), which is what pages show.
fn extensions(cert: &x509_cert::Certificate) -> String {
    let mut out = String::new();
    for ext in cert.tbs_certificate.extensions.iter().flatten() {
        let name =
            extension_name(&ext.extn_id).map_or_else(|| ext.extn_id.to_string(), str::to_owned);
        let critical = if ext.critical { " critical" } else { "" };
        let _ = writeln!(out, "{name}:{critical}");
        for line in extension_value(&ext.extn_id, ext.extn_value.as_bytes()) {
            let _ = writeln!(out, "    {line}");
        }
    }
    out
}

fn extension_name(oid: &Oid) -> Option<&'static str> {
    Some(match oid.to_string().as_str() {
        "2.5.29.14" => "X509v3 Subject Key Identifier",
        "2.5.29.15" => "X509v3 Key Usage",
        "2.5.29.17" => "X509v3 Subject Alternative Name",
        "2.5.29.19" => "X509v3 Basic Constraints",
        "2.5.29.31" => "X509v3 CRL Distribution Points",
        "2.5.29.32" => "X509v3 Certificate Policies",
        "2.5.29.35" => "X509v3 Authority Key Identifier",
        "2.5.29.37" => "X509v3 Extended Key Usage",
        "1.3.6.1.5.5.7.1.1" => "Authority Information Access",
        "1.2.643.100.111" => "Subject Sign Tool",
        "1.2.643.100.112" => "Issuer Sign Tool",
        _ => return None,
    })
}

fn extension_value(oid: &Oid, value: &[u8]) -> Vec<String> {
    use x509_cert::ext::pkix;
    let decoded = match oid.to_string().as_str() {
        "2.5.29.15" => pkix::KeyUsage::from_der(value).ok().map(|ku| {
            let names = [
                (ku.digital_signature(), "Digital Signature"),
                (ku.non_repudiation(), "Non Repudiation"),
                (ku.key_encipherment(), "Key Encipherment"),
                (ku.data_encipherment(), "Data Encipherment"),
                (ku.key_agreement(), "Key Agreement"),
                (ku.key_cert_sign(), "Certificate Sign"),
                (ku.crl_sign(), "CRL Sign"),
                (ku.encipher_only(), "Encipher Only"),
                (ku.decipher_only(), "Decipher Only"),
            ];
            let set: Vec<&str> = names.iter().filter(|n| n.0).map(|n| n.1).collect();
            vec![set.join(", ")]
        }),
        "2.5.29.37" => pkix::ExtendedKeyUsage::from_der(value).ok().map(|eku| {
            vec![eku
                .0
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")]
        }),
        "2.5.29.32" => pkix::CertificatePolicies::from_der(value).ok().map(|p| {
            p.0.iter()
                .map(|policy| format!("Policy: {}", policy.policy_identifier))
                .collect()
        }),
        "2.5.29.19" => pkix::BasicConstraints::from_der(value).ok().map(|bc| {
            let mut line = format!("CA:{}", if bc.ca { "TRUE" } else { "FALSE" });
            if let Some(len) = bc.path_len_constraint {
                let _ = write!(line, ", pathlen:{len}");
            }
            vec![line]
        }),
        "2.5.29.14" => der::asn1::OctetStringRef::from_der(value)
            .ok()
            .map(|id| vec![colon_hex(id.as_bytes())]),
        "1.2.643.100.111" => Utf8StringRef::from_der(value)
            .ok()
            .map(|s| vec![s.as_str().to_owned()]),
        "1.2.643.100.112" => signing::certificate::IssuerSignTool::from_der(value)
            .ok()
            .map(|t| vec![t.sign_tool, t.ca_tool, t.sign_tool_cert, t.ca_tool_cert]),
        _ => None,
    };
    decoded.unwrap_or_else(|| vec![colon_hex(value)])
}

fn colon_hex(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// The certificates a page loaded (`load_x509_from_container`, `load_x509_from_data`), by the
/// `x509Handle` number it got, until it frees them. Bounded, so that a page that never calls
/// `free_x509` cannot make the host grow: past [`Handles::MAX`] a load is
/// [`IfcError::ErrorMalloc`].
#[derive(Debug, Default)]
pub struct Handles {
    next: u32,
    loaded: BTreeMap<u32, Certificate>,
}

impl Handles {
    pub const MAX: usize = 64;

    /// A new handle for `certificate`: a positive number, never 0 (which `verify` reads as "no
    /// certificate").
    pub fn load(&mut self, certificate: Certificate) -> Result<u32, IfcError> {
        if self.loaded.len() >= Self::MAX {
            return Err(IfcError::ErrorMalloc);
        }
        self.next = self.next.checked_add(1).unwrap_or(1);
        while self.loaded.contains_key(&self.next) {
            self.next = self.next.checked_add(1).unwrap_or(1);
        }
        self.loaded.insert(self.next, certificate);
        Ok(self.next)
    }

    /// The certificate of a handle; an unknown one is [`IfcError::CertNotFound`].
    pub fn get(&self, handle: i64) -> Result<&Certificate, IfcError> {
        u32::try_from(handle)
            .ok()
            .and_then(|h| self.loaded.get(&h))
            .ok_or(IfcError::CertNotFound)
    }

    pub fn free(&mut self, handle: i64) -> Result<(), IfcError> {
        u32::try_from(handle)
            .ok()
            .and_then(|h| self.loaded.remove(&h))
            .map(|_| ())
            .ok_or(IfcError::CertNotFound)
    }
}

/// The JSON of a handle: a number, as the library passes it back.
pub fn handle_value(handle: u32) -> Value {
    json!(handle)
}
