//! OCSP (RFC 6960) for the certificates of a verified chain that name a responder in their
//! Authority Information Access: the request is built, the response verified and read by
//! OpenSSL; the transport is a plain HTTP/1.0 POST, bounded in time and size, written here. The
//! same transport fetches a CRL from its distribution point ([`get`]): a GET, no redirects.
//!
//! Why by hand: OCSP travels over `http://` (the response is signed, RFC 6960 appendix A), the
//! verification runs on a blocking thread where an async client cannot be waited for, and
//! HTTP/1.0 asks the responder for one body closed by the end of the connection, which a few
//! lines read safely. An `https://` responder is not spoken to: its status stays unknown.

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

use openssl::hash::MessageDigest;
use openssl::ocsp::{
    OcspCertId, OcspCertStatus, OcspFlag, OcspRequest, OcspResponse, OcspResponseStatus,
};
use openssl::stack::Stack;
use openssl::x509::store::X509StoreRef;
use openssl::x509::{X509Ref, X509};

/// How far a response's thisUpdate may lie in the future, and how old a response without a
/// nextUpdate may be: clocks differ, and a response with no end is only as good as it is fresh.
const FRESHNESS: u32 = 300;

/// A response larger than this is not an OCSP response for one certificate.
const MAX_RESPONSE: u64 = 64 * 1024;

/// What a responder said of one certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Good,
    Revoked,
    /// The responder does not know the certificate: its CA never issued it.
    Unknown,
}

/// Why the status of a certificate could not be learnt.
#[derive(Debug, thiserror::Error)]
pub enum OcspError {
    #[error("the address {0} is not a plain http:// URL (only those are spoken to)")]
    Url(String),
    #[error("cannot reach {0}: {1}")]
    Connect(String, std::io::Error),
    #[error("{0} did not answer in time")]
    Timeout(String),
    #[error("{0} answered with HTTP status {1}")]
    Http(String, String),
    #[error("{0} answered with something that is not an HTTP response")]
    Garbled(String),
    #[error("the server {0} answered with more than it may")]
    TooLarge(String),
    #[error("the responder {0} refused the request (OCSP status {1})")]
    Refused(String, i32),
    #[error("the response of {0} does not verify: {1}")]
    Unverified(String, openssl::error::ErrorStack),
    #[error("the response of {0} does not speak of the certificate asked about")]
    NoStatus(String),
    #[error("the response of {0} is stale or from the future: {1}")]
    Stale(String, openssl::error::ErrorStack),
    #[error("OpenSSL failed building the OCSP request: {0}")]
    Build(#[from] openssl::error::ErrorStack),
}

/// The responders a certificate names (its Authority Information Access, OCSP method).
pub fn responders(certificate: &X509Ref) -> Vec<String> {
    certificate
        .ocsp_responders()
        .map(|stack| stack.iter().map(|url| url.to_string()).collect())
        .unwrap_or_default()
}

/// Asks `url` for the status of `certificate`, issued by `issuer`, and verifies the answer: it
/// must be signed by the issuer (or a responder the issuer delegated to) chaining to `store`,
/// speak of this certificate, and be fresh.
pub fn status(
    url: &str,
    certificate: &X509Ref,
    issuer: &X509Ref,
    chain: &[X509],
    store: &X509StoreRef,
    timeout: Duration,
) -> Result<Status, OcspError> {
    // SHA-1 names the certificate in the request, as RFC 5019 asks of every client: responders
    // are only required to know that one.
    let id = || OcspCertId::from_cert(MessageDigest::sha1(), certificate, issuer);
    let mut request = OcspRequest::new()?;
    request.add_id(id()?)?;
    let body = post(url, &request.to_der()?, timeout)?;

    let response = OcspResponse::from_der(&body).map_err(|_| OcspError::Garbled(url.into()))?;
    if response.status() != OcspResponseStatus::SUCCESSFUL {
        return Err(OcspError::Refused(url.into(), response.status().as_raw()));
    }
    let basic = response
        .basic()
        .map_err(|e| OcspError::Unverified(url.into(), e))?;
    let mut certificates = Stack::new()?;
    for certificate in chain {
        certificates.push(certificate.clone())?;
    }
    basic
        .verify(&certificates, store, OcspFlag::empty())
        .map_err(|e| OcspError::Unverified(url.into(), e))?;
    let id = id()?;
    let found = basic
        .find_status(&id)
        .ok_or_else(|| OcspError::NoStatus(url.into()))?;
    let max_age = found.next_update().is_none().then_some(FRESHNESS);
    found
        .check_validity(FRESHNESS, max_age)
        .map_err(|e| OcspError::Stale(url.into(), e))?;
    Ok(match found.status {
        OcspCertStatus::GOOD => Status::Good,
        OcspCertStatus::REVOKED => Status::Revoked,
        _ => Status::Unknown,
    })
}

/// `POST url` with an OCSP request; the response body. One connection, HTTP/1.0, everything
/// within `timeout`.
pub fn post(url: &str, body: &[u8], timeout: Duration) -> Result<Vec<u8>, OcspError> {
    exchange(url, Some(body), timeout, MAX_RESPONSE)
}

/// `GET url` (a CRL's distribution point); the body, at most `max` bytes. A redirect is not
/// followed: it is an answer other than 200, so an error. Everything within `timeout`.
pub fn get(url: &str, timeout: Duration, max: u64) -> Result<Vec<u8>, OcspError> {
    exchange(url, None, timeout, max)
}

/// One HTTP/1.0 exchange: a POST of `body` (an OCSP request), or a GET without one.
fn exchange(
    url: &str,
    body: Option<&[u8]>,
    timeout: Duration,
    max: u64,
) -> Result<Vec<u8>, OcspError> {
    let deadline = Instant::now() + timeout;
    let (host, port, path) = split_url(url).ok_or_else(|| OcspError::Url(url.into()))?;
    let address = (host.trim_start_matches('[').trim_end_matches(']'), port)
        .to_socket_addrs()
        .map_err(|e| OcspError::Connect(url.into(), e))?
        .next()
        .ok_or_else(|| OcspError::Url(url.into()))?;
    let left = |what: &str| {
        deadline
            .checked_duration_since(Instant::now())
            .filter(|d| !d.is_zero())
            .ok_or_else(|| OcspError::Timeout(format!("{url} ({what})")))
    };
    let io = |e: std::io::Error| match e.kind() {
        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut => {
            OcspError::Timeout(url.into())
        }
        _ => OcspError::Connect(url.into(), e),
    };
    let mut stream = TcpStream::connect_timeout(&address, left("connecting")?).map_err(io)?;
    stream
        .set_write_timeout(Some(left("sending")?))
        .map_err(io)?;
    let head = match body {
        Some(body) => format!(
            "POST {path} HTTP/1.0\r\nHost: {host}\r\nContent-Type: application/ocsp-request\r\n\
             Accept: application/ocsp-response\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        ),
        None => format!("GET {path} HTTP/1.0\r\nHost: {host}\r\nConnection: close\r\n\r\n"),
    };
    stream.write_all(head.as_bytes()).map_err(io)?;
    if let Some(body) = body {
        stream.write_all(body).map_err(io)?;
    }

    // Read to the end of the connection, the deadline checked between reads so that a server
    // dripping bytes cannot hold the request past it.
    let mut answer = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        stream
            .set_read_timeout(Some(left("reading")?))
            .map_err(io)?;
        let n = stream.read(&mut chunk).map_err(io)?;
        if n == 0 {
            break;
        }
        answer.extend_from_slice(&chunk[..n]);
        if answer.len() as u64 > max + 8192 {
            return Err(OcspError::TooLarge(url.into()));
        }
    }
    body_of(url, &answer, max)
}

/// `http://host[:port][/path]` → (host, port, path).
fn split_url(url: &str) -> Option<(&str, u16, &str)> {
    let rest = url.strip_prefix("http://")?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let (host, port) = match authority.rfind(':') {
        Some(i) if !authority[i..].contains(']') => {
            (&authority[..i], authority[i + 1..].parse().ok()?)
        }
        _ => (authority, 80),
    };
    // A path with spaces or line breaks would let a certificate write HTTP of its own.
    if host.is_empty()
        || path
            .bytes()
            .any(|b| b.is_ascii_whitespace() || b.is_ascii_control())
    {
        return None;
    }
    Some((host, port, path))
}

/// The body of an HTTP response, when its status is 200.
fn body_of(url: &str, answer: &[u8], max: u64) -> Result<Vec<u8>, OcspError> {
    let garbled = || OcspError::Garbled(url.into());
    let split = answer
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(garbled)?;
    let head = std::str::from_utf8(&answer[..split]).map_err(|_| garbled())?;
    let body = &answer[split + 4..];
    let mut lines = head.split("\r\n");
    let status_line = lines.next().ok_or_else(garbled)?;
    let mut parts = status_line.splitn(3, ' ');
    let (Some(version), Some(status)) = (parts.next(), parts.next()) else {
        return Err(garbled());
    };
    if !version.starts_with("HTTP/1.") {
        return Err(garbled());
    }
    if status != "200" {
        return Err(OcspError::Http(
            url.into(),
            status.chars().take(3).collect(),
        ));
    }
    let length = lines.find_map(|line| {
        let (name, value) = line.split_once(':')?;
        name.trim()
            .eq_ignore_ascii_case("content-length")
            .then(|| value.trim().parse::<usize>().ok())?
    });
    match length {
        Some(n) if n as u64 > max => Err(OcspError::TooLarge(url.into())),
        Some(n) => body.get(..n).map(<[u8]>::to_vec).ok_or_else(garbled),
        None if body.len() as u64 > max => Err(OcspError::TooLarge(url.into())),
        None => Ok(body.to_vec()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    /// A responder on loopback that reads one request and answers `answer` (or nothing, after
    /// `hold`), returning what it read.
    fn responder(answer: Vec<u8>, hold: Duration) -> (String, std::thread::JoinHandle<Vec<u8>>) {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let url = format!("http://{}/ocsp", listener.local_addr().expect("address"));
        let thread = std::thread::spawn(move || {
            let (mut stream, _) = listener.accept().expect("accept");
            stream
                .set_read_timeout(Some(Duration::from_millis(200)))
                .expect("timeout");
            let mut request = Vec::new();
            let mut chunk = [0u8; 4096];
            while let Ok(n) = stream.read(&mut chunk) {
                if n == 0 {
                    break;
                }
                request.extend_from_slice(&chunk[..n]);
            }
            std::thread::sleep(hold);
            let _ = stream.write_all(&answer);
            request
        });
        (url, thread)
    }

    #[test]
    fn a_post_sends_the_request_and_reads_the_body() {
        let (url, thread) = responder(
            b"HTTP/1.0 200 OK\r\nContent-Type: application/ocsp-response\r\nContent-Length: 3\r\n\r\nabcIGNORED"
                .to_vec(),
            Duration::ZERO,
        );
        let body = post(&url, b"\x30\x03\x02\x01\x01", Duration::from_secs(5)).expect("body");
        assert_eq!(body, b"abc");
        let request = thread.join().expect("responder");
        let text = String::from_utf8_lossy(&request);
        assert!(text.starts_with("POST /ocsp HTTP/1.0\r\n"), "{text}");
        assert!(text.contains("\r\nContent-Type: application/ocsp-request\r\n"));
        assert!(text.contains("\r\nContent-Length: 5\r\n"));
        assert!(request.ends_with(b"\r\n\r\n\x30\x03\x02\x01\x01"));
    }

    #[test]
    fn a_refusal_a_mess_or_too_much_is_an_error() {
        let (url, _) = responder(b"HTTP/1.0 500 Oops\r\n\r\n".to_vec(), Duration::ZERO);
        let error = post(&url, b"x", Duration::from_secs(5)).expect_err("500");
        assert!(
            matches!(&error, OcspError::Http(_, status) if status == "500"),
            "{error}"
        );

        let (url, _) = responder(b"garbage".to_vec(), Duration::ZERO);
        let error = post(&url, b"x", Duration::from_secs(5)).expect_err("garbage");
        assert!(matches!(error, OcspError::Garbled(_)), "{error}");

        let mut big = b"HTTP/1.0 200 OK\r\n\r\n".to_vec();
        big.resize(200 * 1024, b'x');
        let (url, _) = responder(big, Duration::ZERO);
        let error = post(&url, b"x", Duration::from_secs(5)).expect_err("too large");
        assert!(matches!(error, OcspError::TooLarge(_)), "{error}");
    }

    #[test]
    fn a_responder_that_is_down_or_silent_is_an_error_within_the_timeout() {
        // A port just freed: nothing listens there.
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("port")
            .port();
        let error = post(
            &format!("http://127.0.0.1:{port}/"),
            b"x",
            Duration::from_secs(5),
        )
        .expect_err("down");
        assert!(matches!(error, OcspError::Connect(..)), "{error}");

        let (url, _) = responder(Vec::new(), Duration::from_secs(3));
        let started = Instant::now();
        let error = post(&url, b"x", Duration::from_millis(700)).expect_err("silent");
        assert!(matches!(error, OcspError::Timeout(_)), "{error}");
        assert!(started.elapsed() < Duration::from_secs(2));
    }

    #[test]
    fn a_get_reads_a_body_and_follows_no_redirect() {
        let (url, thread) = responder(
            b"HTTP/1.0 200 OK\r\nContent-Length: 4\r\n\r\ncrl!".to_vec(),
            Duration::ZERO,
        );
        assert_eq!(
            get(&url, Duration::from_secs(5), 1024).expect("body"),
            b"crl!"
        );
        let request = thread.join().expect("responder");
        assert!(String::from_utf8_lossy(&request).starts_with("GET /ocsp HTTP/1.0\r\n"));

        let (url, _) = responder(
            b"HTTP/1.0 302 Found\r\nLocation: http://elsewhere.example/crl\r\n\r\n".to_vec(),
            Duration::ZERO,
        );
        let error = get(&url, Duration::from_secs(5), 1024).expect_err("redirect");
        assert!(
            matches!(&error, OcspError::Http(_, status) if status == "302"),
            "{error}"
        );

        // A CRL larger than the caller allows is not read to its end.
        let mut big = b"HTTP/1.0 200 OK\r\n\r\n".to_vec();
        big.resize(64 * 1024, b'x');
        let (url, _) = responder(big, Duration::ZERO);
        let error = get(&url, Duration::from_secs(5), 1024).expect_err("too large");
        assert!(matches!(error, OcspError::TooLarge(_)), "{error}");
    }

    #[test]
    fn only_plain_http_urls_without_tricks_are_spoken_to() {
        assert_eq!(
            split_url("http://127.0.0.1:8888/ocsp"),
            Some(("127.0.0.1", 8888, "/ocsp"))
        );
        assert_eq!(
            split_url("http://ocsp.example"),
            Some(("ocsp.example", 80, "/"))
        );
        assert_eq!(split_url("http://[::1]:81/a"), Some(("[::1]", 81, "/a")));
        assert_eq!(split_url("https://ocsp.example/"), None);
        assert_eq!(split_url("http://ocsp.example/a b"), None);
        assert_eq!(split_url("http://ocsp.example/a\r\nX: y"), None);
        assert_eq!(split_url("http:///path"), None);
        assert!(matches!(
            post("ldap://ocsp.example/", b"x", Duration::from_secs(1)),
            Err(OcspError::Url(_))
        ));
    }
}
