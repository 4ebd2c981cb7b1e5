//! The origin that asks: the page's, as the browser names it to the extension
//! (`runtime.Port.sender.origin`), never as the page says it. The extension puts it in the
//! envelope of every message (see `message`), and the host refuses a message without one.

use std::fmt;

/// A web origin, `scheme://host[:port]`, exactly as the browser serialises it: `https` for any
/// host, `http` only for a loopback host (the sandbox portal). Opaque origins (`null`), paths,
/// credentials and other schemes are refused.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Origin(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OriginError {
    #[error("not a serialised origin")]
    NotAnOrigin,
    #[error("only https origins, or http on a loopback host, may ask")]
    Scheme,
}

impl Origin {
    pub fn parse(text: &str) -> Result<Self, OriginError> {
        let url = url::Url::parse(text).map_err(|_| OriginError::NotAnOrigin)?;
        let origin = url.origin();
        if !origin.is_tuple() {
            return Err(OriginError::NotAnOrigin);
        }
        // The browser's serialisation has no path, query, fragment or credentials: anything the
        // parser would drop means this is not what the browser wrote.
        let serialised = origin.ascii_serialization();
        if serialised != text {
            return Err(OriginError::NotAnOrigin);
        }
        match url.scheme() {
            "https" => {}
            "http" if is_loopback(&url) => {}
            _ => return Err(OriginError::Scheme),
        }
        Ok(Self(serialised))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

fn is_loopback(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(name)) => name == "localhost",
        None => false,
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn browser_origins_are_taken_as_they_are() {
        for ok in [
            "https://www.gosuslugi.ru",
            "https://esia.gosuslugi.ru",
            "https://portal.example:8443",
            "http://127.0.0.1:8780",
            "http://localhost:8780",
            "http://[::1]:8780",
        ] {
            assert_eq!(Origin::parse(ok).map(|o| o.0), Ok(ok.to_owned()), "{ok}");
        }
    }

    #[test]
    fn anything_else_is_refused() {
        for bad in [
            "",
            "null",
            "https://www.gosuslugi.ru/",
            "https://www.gosuslugi.ru/path",
            "https://user@www.gosuslugi.ru",
            "HTTPS://www.gosuslugi.ru",
            "https://www.gosuslugi.ru:443",
            "file:///etc/passwd",
            "chrome-extension://abcdefghijklmnopabcdefghijklmnop",
            "www.gosuslugi.ru",
        ] {
            assert_eq!(Origin::parse(bad), Err(OriginError::NotAnOrigin), "{bad:?}");
        }
        for plain in [
            "http://www.gosuslugi.ru",
            "http://10.0.0.1:8780",
            "ftp://example.org",
        ] {
            assert!(Origin::parse(plain).is_err(), "{plain}");
        }
        assert_eq!(
            Origin::parse("http://www.gosuslugi.ru"),
            Err(OriginError::Scheme)
        );
    }
}
