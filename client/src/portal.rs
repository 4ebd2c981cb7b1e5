//! The portal client: reqwest over rustls with the system's roots (plus an extra CA file), plain
//! HTTP only to loopback, timeouts, and a typed error for every answer.

use std::time::Duration;

use protocol::{codes, Account, Challenge, ConfirmationResult, LoginResponse, Purpose};
use thiserror::Error;
use url::Url;

#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PortalError {
    #[error("the portal address is not valid: {0}")]
    BadAddress(String),
    #[error("plain HTTP is allowed only to this computer (loopback), not to {0}")]
    InsecureAddress(String),
    #[error("the portal cannot be reached: {0}")]
    Unreachable(String),
    #[error("the portal did not answer in time")]
    Timeout,
    #[error("the portal refused: {code}: {message}")]
    Refused {
        status: u16,
        code: String,
        message: String,
    },
    #[error("the portal gave an answer that is not the protocol's (HTTP {status})")]
    Garbled { status: u16 },
    #[error("cannot read the CA file: {0}")]
    CaFile(String),
    /// The portal answered with a redirect. Podpis follows none: a request signed for one portal
    /// is sent to that portal's address only, never to wherever an answer points.
    #[error("the portal answered with a redirect (HTTP {status}), which Podpis does not follow")]
    Redirected { status: u16 },
}

impl PortalError {
    /// The protocol code of a refusal, or the client's own code for the rest.
    pub fn code(&self) -> &str {
        match self {
            Self::Refused { code, .. } => code,
            Self::BadAddress(_) | Self::InsecureAddress(_) => "portal-address",
            Self::Unreachable(_) => "portal-unreachable",
            Self::Timeout => "portal-timeout",
            Self::Garbled { .. } => "portal-garbled",
            Self::CaFile(_) => "ca-file",
            Self::Redirected { .. } => "portal-redirect",
        }
    }

    /// Whether the same request may be sent again later: the portal did not (knowingly) judge it.
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Unreachable(_) | Self::Timeout | Self::Garbled { .. } => true,
            // The portal could not ask a revocation service now: the same request can be judged
            // later.
            Self::Refused { code, .. } => [
                codes::RATE_LIMITED,
                codes::INTERNAL,
                codes::REVOCATION_UNAVAILABLE,
            ]
            .contains(&code.as_str()),
            _ => false,
        }
    }

    /// Whether the portal judged the signed request itself (accepted it, or refused it for a
    /// reason about the request). Only then may the request leave the outbox: a refusal of the
    /// session (`unauthorised`: it expired between the challenge and the signature), of the
    /// pace (`rate-limited`), a portal failure, an unknown route or no answer at all leaves the
    /// request unjudged, and it is kept to be sent again.
    pub fn judged_the_request(&self) -> bool {
        match self {
            Self::Refused { code, .. } => ![
                codes::UNAUTHORISED,
                codes::RATE_LIMITED,
                codes::INTERNAL,
                codes::NOT_FOUND,
                codes::REVOCATION_UNAVAILABLE,
            ]
            .contains(&code.as_str()),
            _ => false,
        }
    }
}

#[derive(Clone)]
pub struct PortalClient {
    base: Url,
    /// How long one request may take, from connecting to the last byte of the answer.
    timeout: Duration,
    http: reqwest::Client,
}

impl std::fmt::Debug for PortalClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PortalClient({})", self.base)
    }
}

impl PortalClient {
    pub fn new(address: &str, ca_file: Option<&std::path::Path>) -> Result<Self, PortalError> {
        let base =
            Url::parse(address).map_err(|e| PortalError::BadAddress(format!("{address}: {e}")))?;
        match base.scheme() {
            "https" => {}
            "http" if is_loopback(&base) => {}
            "http" => return Err(PortalError::InsecureAddress(address.to_owned())),
            other => return Err(PortalError::BadAddress(format!("scheme {other}"))),
        }
        let mut builder = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            // docs/protocol.md: the client follows no redirect. A portal that sends it elsewhere
            // must not get the signed request (or the password, or the token) carried there.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("podpis/", env!("CARGO_PKG_VERSION")));
        if let Some(path) = ca_file {
            let pem = std::fs::read(path)
                .map_err(|e| PortalError::CaFile(format!("{}: {e}", path.display())))?;
            let cert = reqwest::Certificate::from_pem(&pem)
                .map_err(|e| PortalError::CaFile(e.to_string()))?;
            builder = builder.add_root_certificate(cert);
        }
        let http = builder
            .build()
            .map_err(|e| PortalError::BadAddress(e.to_string()))?;
        Ok(Self {
            base,
            http,
            timeout: Self::DEFAULT_TIMEOUT,
        })
    }

    /// A request to a real portal answers in well under this; a longer wait is a portal that is
    /// not going to answer.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The portal's origin, as documents name it.
    pub fn origin(&self) -> String {
        self.base.origin().ascii_serialization()
    }

    fn url(&self, path: &str) -> Url {
        let mut url = self.base.clone();
        url.set_path(path);
        url
    }

    pub async fn login(&self, login: &str, password: &str) -> Result<LoginResponse, PortalError> {
        let body = serde_json::json!({ "login": login, "password": password });
        self.call(self.http.post(self.url("/api/v1/sessions")).json(&body))
            .await
    }

    pub async fn logout(&self, token: &str) -> Result<(), PortalError> {
        let response = self
            .http
            .delete(self.url("/api/v1/sessions/current"))
            .bearer_auth(token)
            .timeout(self.timeout)
            .send()
            .await;
        match response {
            Ok(r) if r.status().is_success() || r.status().as_u16() == 401 => Ok(()),
            Ok(r) if r.status().is_redirection() => Err(PortalError::Redirected {
                status: r.status().as_u16(),
            }),
            Ok(r) => Err(refusal(r).await),
            Err(e) => Err(transport(e)),
        }
    }

    pub async fn account(&self, token: &str) -> Result<Account, PortalError> {
        self.call(
            self.http
                .get(self.url("/api/v1/account"))
                .bearer_auth(token),
        )
        .await
    }

    pub async fn challenge(&self, token: &str, purpose: Purpose) -> Result<Challenge, PortalError> {
        let body = serde_json::json!({ "purpose": purpose });
        self.call(
            self.http
                .post(self.url("/api/v1/challenges"))
                .bearer_auth(token)
                .json(&body),
        )
        .await
    }

    pub async fn submit(&self, token: &str, cms: &[u8]) -> Result<ConfirmationResult, PortalError> {
        let request = self
            .http
            .post(self.url("/api/v1/confirmations"))
            .bearer_auth(token)
            .header(reqwest::header::CONTENT_TYPE, protocol::CMS_CONTENT_TYPE)
            .body(cms.to_vec());
        self.call(request).await
    }

    pub async fn health(&self) -> Result<(), PortalError> {
        let response = self
            .http
            .get(self.url("/api/v1/health"))
            .timeout(self.timeout)
            .send()
            .await
            .map_err(transport)?;
        if response.status().is_success() {
            Ok(())
        } else if response.status().is_redirection() {
            Err(PortalError::Redirected {
                status: response.status().as_u16(),
            })
        } else {
            Err(PortalError::Garbled {
                status: response.status().as_u16(),
            })
        }
    }

    async fn call<T: serde::de::DeserializeOwned>(
        &self,
        request: reqwest::RequestBuilder,
    ) -> Result<T, PortalError> {
        let response = request
            .timeout(self.timeout)
            .send()
            .await
            .map_err(transport)?;
        let status = response.status().as_u16();
        if response.status().is_redirection() {
            return Err(PortalError::Redirected { status });
        }
        if !response.status().is_success() {
            return Err(refusal(response).await);
        }
        let bytes = response.bytes().await.map_err(transport)?;
        serde_json::from_slice(&bytes).map_err(|_| PortalError::Garbled { status })
    }
}

async fn refusal(response: reqwest::Response) -> PortalError {
    let status = response.status().as_u16();
    match response.bytes().await {
        Ok(bytes) => match serde_json::from_slice::<protocol::ApiError>(&bytes) {
            Ok(e) if !e.code.is_empty() => PortalError::Refused {
                status,
                code: e.code,
                message: e.message,
            },
            _ => PortalError::Garbled { status },
        },
        Err(e) => transport(e),
    }
}

fn transport(e: reqwest::Error) -> PortalError {
    if e.is_timeout() {
        PortalError::Timeout
    } else if e.is_decode() || e.is_body() {
        PortalError::Garbled {
            status: e.status().map_or(0, |s| s.as_u16()),
        }
    } else {
        // reqwest's Display does not include the URL's query or any header: no token leaks here.
        PortalError::Unreachable(e.without_url().to_string())
    }
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d == "localhost",
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_http_only_to_loopback() {
        assert!(PortalClient::new("http://127.0.0.1:8780", None).is_ok());
        assert!(PortalClient::new("http://localhost:1", None).is_ok());
        assert!(PortalClient::new("http://[::1]:1", None).is_ok());
        assert!(PortalClient::new("https://esia.example", None).is_ok());
        assert!(matches!(
            PortalClient::new("http://esia.example", None),
            Err(PortalError::InsecureAddress(_))
        ));
        assert!(matches!(
            PortalClient::new("http://10.0.0.1", None),
            Err(PortalError::InsecureAddress(_))
        ));
        assert!(matches!(
            PortalClient::new("ftp://x", None),
            Err(PortalError::BadAddress(_))
        ));
        assert_eq!(
            PortalClient::new("http://127.0.0.1:8780/x", None)
                .expect("ok")
                .origin(),
            "http://127.0.0.1:8780"
        );
    }

    #[test]
    fn transient_errors_are_the_ones_worth_a_retry() {
        assert!(PortalError::Timeout.is_transient());
        assert!(PortalError::Garbled { status: 502 }.is_transient());
        let refused = |code: &str| PortalError::Refused {
            status: 422,
            code: code.into(),
            message: String::new(),
        };
        assert!(refused("internal").is_transient());
        assert!(!refused("snils-mismatch").is_transient());
    }

    #[test]
    fn only_a_judgement_of_the_request_lets_it_leave_the_outbox() {
        let refused = |code: &str| PortalError::Refused {
            status: 400,
            code: code.into(),
            message: String::new(),
        };
        for judged in [
            "snils-mismatch",
            "nonce-used",
            "signature-invalid",
            "too-large",
        ] {
            assert!(refused(judged).judged_the_request(), "{judged}");
        }
        for unjudged in [
            "unauthorised",
            "rate-limited",
            "internal",
            "not-found",
            "revocation-unavailable",
        ] {
            assert!(!refused(unjudged).judged_the_request(), "{unjudged}");
        }
        assert!(!PortalError::Timeout.judged_the_request());
        assert!(!PortalError::Redirected { status: 302 }.judged_the_request());
    }

    /// A one-shot HTTP server on loopback: answers each connection with `answer`, and counts the
    /// requests it saw.
    fn serve(answer: &'static str) -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
        use std::io::{Read, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let seen = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counter = seen.clone();
        std::thread::spawn(move || {
            for mut stream in listener.incoming().flatten() {
                counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let mut buf = [0u8; 4096];
                let _ = stream.read(&mut buf);
                let _ = stream.write_all(answer.as_bytes());
            }
        });
        (url, seen)
    }

    #[test]
    fn a_redirect_is_not_followed_and_says_so() {
        let (elsewhere, seen_elsewhere) = serve(
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{}",
        );
        let redirect: &'static str = Box::leak(
            format!(
                "HTTP/1.1 307 Temporary Redirect\r\nlocation: {elsewhere}/api/v1/confirmations\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
            )
            .into_boxed_str(),
        );
        let (portal, _) = serve(redirect);
        let client = PortalClient::new(&portal, None).expect("client");
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let answer = rt.block_on(client.submit("token", b"signed"));
        assert_eq!(answer.err(), Some(PortalError::Redirected { status: 307 }));
        assert_eq!(
            seen_elsewhere.load(std::sync::atomic::Ordering::SeqCst),
            0,
            "the signed request went where the redirect pointed"
        );
    }
}
