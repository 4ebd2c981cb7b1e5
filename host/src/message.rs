//! The message layer: the envelope the extension wraps around each page request, the request
//! itself (`{func_name, params}`, ifc-protocol.md 1.2), its parameters read with the types the
//! library sends, and the reply object.
//!
//! **Envelope (Podpis's own, extension → host).** The official extension passes the page's
//! request to its host unchanged. Ours wraps it, because the host must know which origin asks
//! and must not take it from the page:
//!
//! ```json
//! {"origin": "https://www.gosuslugi.ru", "msg_data": {"func_name": "version"}}
//! ```
//!
//! `origin` is `sender.origin` of the content script's Port, as the browser gives it to the
//! extension's background; `msg_data` is the page's request object exactly as the page built it
//! (the `msg_data` of its `TO_IFC_EXT` envelope). A message without a valid `origin` is refused.
//! The reply is the bare REPLY object, which the extension hands to the page unchanged as the
//! `msg_data` of `FROM_IFC_EXT`.
//!
//! There is no request id in this protocol: the library keeps one pending callback and matches
//! replies by order. The host reads one message, answers it, and only then reads the next.

use serde_json::{Map, Value};

use crate::ifc_error::IfcError;
use crate::origin::Origin;

/// A request from a page, with the origin the browser gave for it.
#[derive(Debug)]
pub struct Envelope {
    pub origin: Origin,
    pub request: Request,
}

/// The page's `{func_name, params}`.
#[derive(Debug)]
pub struct Request {
    pub func_name: String,
    /// Absent for `version`, which the library sends without `params`.
    pub params: Map<String, Value>,
}

/// Reads an envelope from a frame's bytes. Not UTF-8, not JSON, not an object, no request object
/// or no `func_name` string: [`IfcError::BadParams`]. No valid origin: [`IfcError::GeneralError`],
/// the host's refusal (the page cannot cause it: the extension writes the origin).
pub fn parse_envelope(bytes: &[u8]) -> Result<Envelope, IfcError> {
    let value: Value = serde_json::from_slice(bytes).map_err(|_| IfcError::BadParams)?;
    let Value::Object(mut envelope) = value else {
        return Err(IfcError::BadParams);
    };
    let Some(Value::Object(mut request)) = envelope.remove("msg_data") else {
        return Err(IfcError::BadParams);
    };
    let origin = match envelope.get("origin") {
        Some(Value::String(origin)) => Origin::parse(origin).map_err(|_| IfcError::GeneralError)?,
        _ => return Err(IfcError::GeneralError),
    };
    let Some(Value::String(func_name)) = request.remove("func_name") else {
        return Err(IfcError::BadParams);
    };
    let params = match request.remove("params") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(params)) => params,
        Some(_) => return Err(IfcError::BadParams),
    };
    Ok(Envelope {
        origin,
        request: Request { func_name, params },
    })
}

/// Typed access to a request's `params`: a missing or mistyped parameter is
/// [`IfcError::BadParams`].
pub struct Params<'a>(pub &'a mut Map<String, Value>);

impl Params<'_> {
    /// A required string.
    pub fn string(&mut self, name: &str) -> Result<String, IfcError> {
        match self.0.remove(name) {
            Some(Value::String(s)) => Ok(s),
            _ => Err(IfcError::BadParams),
        }
    }

    /// A string that may be missing or null.
    pub fn optional_string(&mut self, name: &str) -> Result<Option<String>, IfcError> {
        match self.0.remove(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(IfcError::BadParams),
        }
    }

    /// A required integer: a JSON number without a fraction, as the library writes its
    /// constants. A string of digits is not one.
    pub fn integer(&mut self, name: &str) -> Result<i64, IfcError> {
        self.optional_integer(name)?.ok_or(IfcError::BadParams)
    }

    pub fn optional_integer(&mut self, name: &str) -> Result<Option<i64>, IfcError> {
        match self.0.remove(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Number(n)) => n.as_i64().map(Some).ok_or(IfcError::BadParams),
            Some(_) => Err(IfcError::BadParams),
        }
    }

    /// A required array of strings.
    pub fn strings(&mut self, name: &str) -> Result<Vec<String>, IfcError> {
        match self.0.remove(name) {
            Some(Value::Array(items)) => items
                .into_iter()
                .map(|item| match item {
                    Value::String(s) => Ok(s),
                    _ => Err(IfcError::BadParams),
                })
                .collect(),
            _ => Err(IfcError::BadParams),
        }
    }
}

/// A reply: `error_code` (a JSON number, 0 for success) and the call's fields.
#[derive(Debug, Clone, PartialEq)]
pub struct Reply(pub Map<String, Value>);

impl Reply {
    /// A success with the given fields.
    pub fn ok(fields: impl IntoIterator<Item = (&'static str, Value)>) -> Self {
        let mut map = Map::new();
        map.insert("error_code".into(), Value::from(IfcError::Ok.code()));
        for (name, value) in fields {
            map.insert(name.into(), value);
        }
        Self(map)
    }

    /// An error: `{"error_code": N}` and nothing else.
    pub fn error(error: IfcError) -> Self {
        let mut map = Map::new();
        map.insert("error_code".into(), Value::from(error.code()));
        Self(map)
    }

    pub fn error_code(&self) -> Option<i64> {
        self.0.get("error_code").and_then(Value::as_i64)
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        // A map of JSON values always serialises.
        serde_json::to_vec(&self.0).unwrap_or_else(|_| br#"{"error_code":-1}"#.to_vec())
    }
}

impl From<Result<Reply, IfcError>> for Reply {
    fn from(result: Result<Reply, IfcError>) -> Self {
        result.unwrap_or_else(Reply::error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Envelope, IfcError> {
        parse_envelope(text.as_bytes())
    }

    #[test]
    fn a_request_in_its_envelope_is_read() {
        let e = parse(
            r#"{"origin":"https://www.gosuslugi.ru","msg_data":{"func_name":"get_list_certs","params":{"cryptoID":"podpis/1"}}}"#,
        )
        .unwrap();
        assert_eq!(e.origin.as_str(), "https://www.gosuslugi.ru");
        assert_eq!(e.request.func_name, "get_list_certs");
        assert_eq!(e.request.params["cryptoID"], "podpis/1");
        // `version` comes without params.
        let e = parse(r#"{"origin":"http://127.0.0.1:8780","msg_data":{"func_name":"version"}}"#)
            .unwrap();
        assert!(e.request.params.is_empty());
    }

    #[test]
    fn malformed_messages_are_bad_params() {
        for bad in [
            &b"\xff\xfe{}"[..],
            b"",
            b"{",
            b"[]",
            b"\"text\"",
            b"{}",
            br#"{"origin":"https://a.example","msg_data":"version"}"#,
            br#"{"origin":"https://a.example","msg_data":{}}"#,
            br#"{"origin":"https://a.example","msg_data":{"func_name":7}}"#,
            br#"{"origin":"https://a.example","msg_data":{"func_name":"sign","params":[1]}}"#,
        ] {
            assert_eq!(
                parse_envelope(bad).map(|_| ()),
                Err(IfcError::BadParams),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn a_message_without_the_browsers_origin_is_refused() {
        for bad in [
            r#"{"msg_data":{"func_name":"version"}}"#,
            r#"{"origin":null,"msg_data":{"func_name":"version"}}"#,
            r#"{"origin":"null","msg_data":{"func_name":"version"}}"#,
            r#"{"origin":"https://a.example/page","msg_data":{"func_name":"version"}}"#,
            // The page's own claim inside its request counts for nothing.
            r#"{"msg_data":{"func_name":"version","origin":"https://www.gosuslugi.ru"}}"#,
        ] {
            assert_eq!(parse(bad).map(|_| ()), Err(IfcError::GeneralError), "{bad}");
        }
    }

    #[test]
    fn parameters_have_the_librarys_types() {
        let mut map: Map<String, Value> = serde_json::from_str(
            r#"{"s":"x","n":3,"f":1.5,"d":"3","a":["p","q"],"b":["p",1],"z":null}"#,
        )
        .unwrap();
        let mut p = Params(&mut map);
        assert_eq!(p.string("s"), Ok("x".into()));
        assert_eq!(p.string("s"), Err(IfcError::BadParams), "taken once");
        assert_eq!(p.integer("n"), Ok(3));
        assert_eq!(p.integer("f"), Err(IfcError::BadParams));
        assert_eq!(p.integer("d"), Err(IfcError::BadParams));
        assert_eq!(p.strings("a"), Ok(vec!["p".into(), "q".into()]));
        assert_eq!(p.strings("b"), Err(IfcError::BadParams));
        assert_eq!(p.optional_integer("z"), Ok(None));
        assert_eq!(p.optional_string("missing"), Ok(None));
    }

    #[test]
    fn replies_carry_a_numeric_error_code() {
        let ok = Reply::ok([("version", Value::from("3.1.0"))]);
        assert_eq!(
            String::from_utf8(ok.to_bytes()).unwrap(),
            r#"{"error_code":0,"version":"3.1.0"}"#
        );
        let error = Reply::error(IfcError::NotSupported);
        assert_eq!(error.to_bytes(), br#"{"error_code":17}"#);
        assert_eq!(
            Reply::error(IfcError::GeneralError).to_bytes(),
            br#"{"error_code":-1}"#
        );
    }
}
