//! A fault-injecting HTTP proxy in front of the portal: the client talks to it as to the portal,
//! and one armed request gets a fault instead of (or after) the portal's answer. Plain HTTP/1.1,
//! one request per connection (`Connection: close`), which is all the client needs.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What the armed request meets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// The portal is down: the connection closes before anything is forwarded.
    Down,
    /// HTTP 500 with a body that is not the protocol's, without forwarding.
    ServerError,
    /// HTTP 200 with noise for a body, without forwarding.
    Garbage,
    /// The portal does the work and answers only after this long (past the client's timeout).
    SlowAnswer(Duration),
    /// The portal does the work and dies before answering: the connection closes.
    AnswerLost,
    /// The session ends on the portal just before the request arrives (it expired between the
    /// challenge and the signature): the proxy logs the session out, then forwards.
    SessionExpired,
}

impl Fault {
    pub fn name(&self) -> String {
        match self {
            Self::Down => "portal down".into(),
            Self::ServerError => "HTTP 500".into(),
            Self::Garbage => "garbage answer".into(),
            Self::SlowAnswer(d) => format!("answer after {} s", d.as_secs()),
            Self::AnswerLost => "killed after the work, before the answer".into(),
            Self::SessionExpired => {
                "session expired between the challenge and the signature".into()
            }
        }
    }

    /// Whether the portal saw the request.
    pub fn forwards(&self) -> bool {
        matches!(
            self,
            Self::SlowAnswer(_) | Self::AnswerLost | Self::SessionExpired
        )
    }
}

#[derive(Default)]
struct Armed {
    /// The next request whose path starts with this gets the fault (once).
    path: Option<(String, Fault)>,
    fired: bool,
}

pub struct FaultProxy {
    pub url: String,
    armed: Arc<Mutex<Armed>>,
    listener: Mutex<Option<TcpListener>>,
}

impl FaultProxy {
    /// A proxy forwarding to `upstream` at once.
    pub fn start(upstream: &str) -> Self {
        let proxy = Self::bind();
        proxy.forward_to(upstream);
        proxy
    }

    /// A proxy whose address is known before the portal behind it starts, so that the portal can
    /// name the proxy's origin as its own (`--origin`), as a portal behind a reverse proxy does.
    pub fn bind() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind proxy");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        Self {
            url,
            armed: Arc::new(Mutex::new(Armed::default())),
            listener: Mutex::new(Some(listener)),
        }
    }

    /// Starts forwarding to `upstream` (once).
    pub fn forward_to(&self, upstream: &str) {
        let Some(listener) = self.listener.lock().expect("lock").take() else {
            return;
        };
        let (state, upstream) = (self.armed.clone(), upstream.to_owned());
        std::thread::spawn(move || {
            let http = reqwest::blocking::Client::builder()
                .timeout(Duration::from_secs(60))
                .build()
                .expect("client");
            for stream in listener.incoming().flatten() {
                let (state, upstream, http) = (state.clone(), upstream.clone(), http.clone());
                std::thread::spawn(move || {
                    let _ = serve(stream, &upstream, &http, &state);
                });
            }
        });
    }

    /// The next request to a path starting with `path` meets `fault`.
    pub fn arm(&self, path: &str, fault: Fault) {
        let mut armed = self.armed.lock().expect("lock");
        armed.path = Some((path.to_owned(), fault));
        armed.fired = false;
    }

    /// Whether the armed fault has been met by a request.
    pub fn fired(&self) -> bool {
        self.armed.lock().expect("lock").fired
    }
}

fn serve(
    stream: TcpStream,
    upstream: &str,
    http: &reqwest::blocking::Client,
    state: &Mutex<Armed>,
) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    let mut parts = request_line.split_whitespace();
    let (method, path) = (
        parts.next().unwrap_or("GET").to_owned(),
        parts.next().unwrap_or("/").to_owned(),
    );
    let mut headers = Vec::new();
    let mut length = 0usize;
    loop {
        let mut line = String::new();
        reader.read_line(&mut line)?;
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            let (name, value) = (name.trim().to_ascii_lowercase(), value.trim().to_owned());
            if name == "content-length" {
                length = value.parse().unwrap_or(0);
            }
            headers.push((name, value));
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body)?;

    let fault = {
        let mut armed = state.lock().expect("lock");
        match armed.path.take() {
            Some((prefix, fault)) if path.starts_with(&prefix) => {
                armed.fired = true;
                Some(fault)
            }
            other => {
                armed.path = other;
                None
            }
        }
    };
    let mut out = stream;
    match fault {
        Some(Fault::Down) => return Ok(()),
        Some(Fault::ServerError) => {
            return respond(
                &mut out,
                500,
                "text/html",
                b"<html><body>Internal Server Error</body></html>",
            )
        }
        Some(Fault::Garbage) => {
            return respond(&mut out, 200, "application/json", b"\x00\x9f{garbage")
        }
        _ => {}
    }
    if fault == Some(Fault::SessionExpired) {
        if let Some((_, token)) = headers.iter().find(|(name, _)| name == "authorization") {
            let _ = http
                .delete(format!("{upstream}/api/v1/sessions/current"))
                .header("authorization", token.as_str())
                .send();
        }
    }
    let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap_or(reqwest::Method::GET);
    let mut request = http.request(method, format!("{upstream}{path}"));
    for (name, value) in &headers {
        if name == "authorization" || name == "content-type" || name == "accept" {
            request = request.header(name.as_str(), value.as_str());
        }
    }
    let answer = request.body(body).send();
    match fault {
        Some(Fault::AnswerLost) => return Ok(()),
        Some(Fault::SlowAnswer(delay)) => std::thread::sleep(delay),
        _ => {}
    }
    match answer {
        Ok(answer) => {
            let status = answer.status().as_u16();
            let content_type = answer
                .headers()
                .get("content-type")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("application/json")
                .to_owned();
            let bytes = answer.bytes().unwrap_or_default();
            respond(&mut out, status, &content_type, &bytes)
        }
        Err(_) => Ok(()),
    }
}

fn respond(
    out: &mut TcpStream,
    status: u16,
    content_type: &str,
    body: &[u8],
) -> std::io::Result<()> {
    write!(
        out,
        "HTTP/1.1 {status} X\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    )?;
    out.write_all(body)?;
    out.flush()
}
