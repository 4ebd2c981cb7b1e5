//! The host: one message read, answered, then the next (the page library allows one pending
//! request, and the host never works on two), over the calls of ifc-protocol.md section 2.
//!
//! Served: `create`, `version`, `get_list_info`, `get_list_certs`,
//! `get_list_certs_by_cryptoid_array`, `load_x509_from_container`, `load_x509_from_data`,
//! `get_x509_info`, `free_x509`, `hash`, `sign`. Every other `func_name`, known to the library or
//! not, is [`IfcError::NotSupported`].

use std::io::{Read, Write};
use std::time::SystemTime;

use base64::Engine as _;
use serde_json::{json, Value};
use signing::KeyAlgorithm;
use zeroize::Zeroizing;

use crate::catalogue::Catalogue;
use crate::consent::Consent;
use crate::frame::{self, FrameError, Inbound};
use crate::ifc_error::IfcError;
use crate::keys::Keys;
use crate::message::{self, Envelope, Params, Reply};
use crate::origin::Origin;
use crate::sign::{self, SignRequest};
use crate::x509::{self, Handles};

/// The plugin version `version` answers: the plugin release whose behaviour the host follows
/// (the library's comments name 3.1.0 as the one that ignores `hashType`, as this host does).
/// Podpis's own version travels beside it as `podpis_version`.
pub const PLUGIN_VERSION: &str = "3.1.0";

/// The calls the host serves.
pub const SERVED: [&str; 11] = [
    "create",
    "version",
    "get_list_info",
    "get_list_certs",
    "get_list_certs_by_cryptoid_array",
    "load_x509_from_container",
    "load_x509_from_data",
    "get_x509_info",
    "free_x509",
    "hash",
    "sign",
];

/// The host's state between messages: where keys come from, who answers for the person, and the
/// certificates the page holds handles to.
pub struct Host<K, C> {
    keys: K,
    consent: C,
    handles: Handles,
    clock: fn() -> SystemTime,
}

impl<K: Keys, C: Consent> Host<K, C> {
    pub fn new(keys: K, consent: C) -> Self {
        Self {
            keys,
            consent,
            handles: Handles::default(),
            clock: SystemTime::now,
        }
    }

    /// The clock of signing times (tests fix it).
    pub fn with_clock(mut self, clock: fn() -> SystemTime) -> Self {
        self.clock = clock;
        self
    }

    #[cfg(test)]
    pub(crate) fn consent_for_tests(&self) -> &C {
        &self.consent
    }

    /// The reply to one inbound frame.
    pub fn handle(&mut self, inbound: Inbound) -> Reply {
        match inbound {
            // The frame may hold a PIN: its bytes are wiped once read.
            Inbound::Message(bytes) => {
                let bytes = Zeroizing::new(bytes);
                match message::parse_envelope(&bytes) {
                    Ok(envelope) => self.dispatch(envelope),
                    Err(e) => Reply::error(e),
                }
            }
            // Too long to take in: refused as an allocation the host will not make.
            Inbound::TooLong { .. } => Reply::error(IfcError::ErrorMalloc),
            Inbound::End => Reply::error(IfcError::GeneralError),
        }
    }

    /// The reply's bytes, never over the browser's 1 MB limit: a longer reply (an attached
    /// signature of a large content) is replaced by [`IfcError::NotSupported`] whole.
    pub fn reply_bytes(reply: &Reply) -> Vec<u8> {
        let bytes = reply.to_bytes();
        if bytes.len() > frame::MAX_OUTBOUND {
            Reply::error(IfcError::NotSupported).to_bytes()
        } else {
            bytes
        }
    }

    fn dispatch(&mut self, envelope: Envelope) -> Reply {
        let Envelope {
            origin,
            mut request,
        } = envelope;
        let mut params = Params(&mut request.params);
        let p = &mut params;
        let result = match request.func_name.as_str() {
            "create" => create(p),
            "version" => Ok(Reply::ok([
                ("version", json!(PLUGIN_VERSION)),
                ("podpis_version", json!(env!("CARGO_PKG_VERSION"))),
            ])),
            "get_list_info" => self.get_list_info(&origin, p),
            "get_list_certs" => self.get_list_certs(&origin, p),
            "get_list_certs_by_cryptoid_array" => self.get_list_certs_by_array(&origin, p),
            "load_x509_from_container" => self.load_from_container(&origin, p),
            "load_x509_from_data" => self.load_from_data(p),
            "get_x509_info" => p
                .integer("x509Handle")
                .and_then(|h| self.handles.get(h))
                .map(|cert| Reply::ok([("cert_info", cert.info())])),
            "free_x509" => p
                .integer("x509Handle")
                .and_then(|h| self.handles.free(h))
                .map(|()| Reply::ok([])),
            "hash" => self.hash(&origin, p),
            "sign" => self.sign(origin.clone(), p),
            _ => Err(IfcError::NotSupported),
        };
        result.into()
    }

    /// The tokens and keys, once the origin may see them.
    fn catalogue(&mut self, origin: &Origin) -> Result<Catalogue, IfcError> {
        self.consent
            .may_list(origin)
            .map_err(|_| IfcError::GeneralError)?;
        Ok(Catalogue::from_keys(self.keys.list()?))
    }

    fn get_list_info(&mut self, origin: &Origin, p: &mut Params) -> Result<Reply, IfcError> {
        // The library filters by type itself; another type than ours lists nothing, and needs
        // no token read.
        if let Some(kind) = p.optional_string("cryptoType")? {
            if kind != "pkcs11" {
                return Ok(Reply::ok([("ifc_list", json!([]))]));
            }
        }
        let catalogue = self.catalogue(origin)?;
        let list: Vec<Value> = catalogue.cryptos.iter().map(|c| c.to_json()).collect();
        Ok(Reply::ok([("ifc_list", Value::Array(list))]))
    }

    fn get_list_certs(&mut self, origin: &Origin, p: &mut Params) -> Result<Reply, IfcError> {
        let crypto_id = p.string("cryptoID")?;
        let catalogue = self.catalogue(origin)?;
        let list = catalogue
            .cert_list(&crypto_id)
            .ok_or(IfcError::CryptoNotFound)?;
        Ok(Reply::ok([("cert_list", Value::Array(list))]))
    }

    /// `result_array` has an entry for each requested cryptoId that is listed, in the order
    /// asked; an unknown one is left out, as the library would skip it. No intermediate
    /// (`show_progress`) messages are sent: their fields are not known, and the final reply is
    /// all the library needs.
    fn get_list_certs_by_array(
        &mut self,
        origin: &Origin,
        p: &mut Params,
    ) -> Result<Reply, IfcError> {
        let ids = p.strings("cryptoID_array")?;
        let _show_progress = p.optional_integer("show_progress")?;
        let catalogue = self.catalogue(origin)?;
        let results: Vec<Value> = ids
            .iter()
            .filter_map(|id| {
                catalogue
                    .cert_list(id)
                    .map(|list| json!({"crypto_id": id, "cert_list": list}))
            })
            .collect();
        Ok(Reply::ok([("result_array", Value::Array(results))]))
    }

    fn load_from_container(&mut self, origin: &Origin, p: &mut Params) -> Result<Reply, IfcError> {
        let container_id = p.string("containerId")?;
        let catalogue = self.catalogue(origin)?;
        let entry = catalogue.find(&container_id)?;
        let handle = self.handles.load(entry.certificate.clone())?;
        Ok(Reply::ok([("x509Handle", json!(handle))]))
    }

    fn load_from_data(&mut self, p: &mut Params) -> Result<Reply, IfcError> {
        let text = p.string("cert")?;
        let data_type = p.optional_integer("cert_data_type")?.unwrap_or(0);
        let certificate = x509::certificate_from_string(&text, data_type)?;
        let handle = self.handles.load(certificate)?;
        Ok(Reply::ok([("x509Handle", json!(handle))]))
    }

    /// `hashValue`: the digest of the data with the hash of the container's key (Streebog-256
    /// or -512 for GOST R 34.10-2012 keys, GOST R 34.11-94 for 2001, SHA-2 for the commodity
    /// ones). With an empty containerId, GOST R 34.11-2012 256, the hash of today's qualified
    /// keys, and no token is read.
    fn hash(&mut self, origin: &Origin, p: &mut Params) -> Result<Reply, IfcError> {
        let container_id = p.string("containerId")?;
        let in_type = p.integer("inDataType")?;
        let data = p.string("data")?;
        match p.optional_integer("outDataType")? {
            None | Some(1) => {}
            Some(0) => return Err(IfcError::UnsupportedFormat),
            Some(_) => return Err(IfcError::BadParams),
        }
        let bytes = match in_type {
            1 => data.into_bytes(),
            2 => x509::decode_base64(&data)?,
            _ => return Err(IfcError::BadInType),
        };
        let algorithm = if container_id.is_empty() {
            KeyAlgorithm::Gost2012_256
        } else {
            self.catalogue(origin)?.find(&container_id)?.key.algorithm
        };
        let digest = algorithm.digest(&bytes);
        Ok(Reply::ok([(
            "hashValue",
            json!(base64::engine::general_purpose::STANDARD.encode(digest)),
        )]))
    }

    /// `sign_value`: checked parameters, the key found, then the person's consent, which today
    /// is never given (docs/host.md): the reply is then [`IfcError::GeneralError`].
    fn sign(&mut self, origin: Origin, p: &mut Params) -> Result<Reply, IfcError> {
        let (request, page_pin) = SignRequest::parse(origin, p)?;
        let catalogue = self.catalogue(&request.origin)?;
        let entry = catalogue.find(&request.container_id)?;
        request.check_key(entry.key.algorithm)?;
        let mut signer = self
            .consent
            .may_sign(&request, &entry.key, page_pin)
            .map_err(|_| IfcError::GeneralError)?;
        let signature = sign::make_signature(
            &request,
            entry.certificate.der(),
            entry.key.algorithm,
            signer.as_mut(),
            (self.clock)(),
        )
        .map_err(|e| e.ifc())?;
        Ok(Reply::ok([(
            "sign_value",
            json!(base64::engine::general_purpose::STANDARD.encode(signature)),
        )]))
    }
}

/// `create`: the page's configuration strings are not used (Podpis has no `/etc/ifc.cfg`); they
/// must still be strings when given.
fn create(p: &mut Params) -> Result<Reply, IfcError> {
    for name in [
        "file_config",
        "config_string",
        "log_file_location",
        "plugin_log_level",
    ] {
        p.optional_string(name)?;
    }
    Ok(Reply::ok([]))
}

/// How serving ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Ended {
    /// The browser closed the stream between messages.
    Closed,
    /// The stream ended inside a message: nothing to answer.
    Truncated,
}

/// Serves messages from `reader` to `writer` until the stream ends.
pub fn serve<K: Keys, C: Consent>(
    host: &mut Host<K, C>,
    reader: &mut impl Read,
    writer: &mut impl Write,
) -> Result<Ended, FrameError> {
    loop {
        let inbound = match frame::read_frame(reader) {
            Ok(Inbound::End) => return Ok(Ended::Closed),
            Ok(inbound) => inbound,
            Err(FrameError::Truncated { .. }) => return Ok(Ended::Truncated),
            Err(e) => return Err(e),
        };
        let reply = host.handle(inbound);
        frame::write_frame(writer, &Host::<K, C>::reply_bytes(&reply))?;
    }
}
