//! The vpcd protocol of vsmartcard: the card connects to the reader driver's TCP port; every
//! message is a 2-byte big-endian length and a payload. A 1-byte payload is a control
//! (0 power off, 1 power on, 2 reset, 4 send the ATR); a longer one is a command APDU.
//!
//! Debian's vpcd writes the length and the payload with two `send` calls; without TCP_NODELAY
//! and TCP_QUICKACK each APDU waits for a delayed ACK (44 ms measured, against 0.16 ms with them).

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use socket2::SockRef;

use crate::applet::Applet;

const POWER_OFF: u8 = 0;
const POWER_ON: u8 = 1;
const RESET: u8 = 2;
const GET_ATR: u8 = 4;

/// Faults for reliability tests (docs/cards.md, The virtual card).
#[derive(Debug, Clone, Default)]
pub struct Faults {
    /// After this many APDUs, vanish without answering the next one, as if pulled.
    pub vanish_after: Option<u64>,
    /// Vanish, without answering, when an APDU with this instruction byte arrives (2A: the
    /// signature), whatever other programs read from the card before.
    pub vanish_on_ins: Option<u8>,
    /// Wait this long before every answer.
    pub delay: Option<Duration>,
    /// After this many APDUs, answer every APDU with one byte of noise.
    pub garble_after: Option<u64>,
    /// Print every message to stderr (VERIFY data masked).
    pub trace: bool,
}

/// How a session with the reader ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Ended {
    /// The reader driver closed the connection (pcscd stopped).
    ReaderClosed,
    /// The card vanished on purpose (`vanish_after`).
    Vanished,
}

/// Connects to vpcd on 127.0.0.1:`port`, retrying for half a minute while nobody listens. vpcd
/// listens with a backlog of 0 and accepts only when it polls, so a connection attempt can sit
/// unanswered: each try has a short timeout.
pub fn connect(port: u16) -> io::Result<TcpStream> {
    let address = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        match TcpStream::connect_timeout(&address, Duration::from_secs(2)) {
            Ok(stream) => {
                stream.set_nodelay(true)?;
                return Ok(stream);
            }
            Err(e) if std::time::Instant::now() < deadline => {
                if e.kind() == io::ErrorKind::ConnectionRefused {
                    std::thread::sleep(Duration::from_millis(200));
                }
            }
            Err(e) => return Err(e),
        }
    }
}

/// Keeps the card in the reader on `port` until it vanishes on purpose (a fault) or the
/// connection fails: when the reader closes the connection (pcscd restarted), the card is powered
/// down and connects again. `name` is what the log calls the card.
pub fn insert(
    applet: &mut dyn Applet,
    port: u16,
    faults: &Faults,
    name: &str,
) -> Result<(), VpcdError> {
    let mut apdus = 0u64;
    loop {
        if faults.trace {
            eprintln!("podpis-vcard: connecting to vpcd on port {port}");
        }
        let mut stream = connect(port).map_err(|e| VpcdError::Connect(port, e))?;
        eprintln!("podpis-vcard: {name} inserted on port {port}");
        match serve(&mut stream, applet, faults, &mut apdus).map_err(VpcdError::Connection)? {
            Ended::Vanished => {
                eprintln!("podpis-vcard: vanished after {apdus} APDUs");
                return Ok(());
            }
            Ended::ReaderClosed => {
                eprintln!("podpis-vcard: the reader closed the connection; reconnecting");
                applet.reset();
                std::thread::sleep(Duration::from_millis(200));
            }
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum VpcdError {
    #[error("cannot reach vpcd on port {0}: {1}")]
    Connect(u16, io::Error),
    #[error("vpcd connection failed: {0}")]
    Connection(io::Error),
}

/// Serves one connection until the reader closes it or the card vanishes.
pub fn serve(
    stream: &mut TcpStream,
    applet: &mut dyn Applet,
    faults: &Faults,
    apdus: &mut u64,
) -> io::Result<Ended> {
    loop {
        let Some(message) = read_message(stream)? else {
            return Ok(Ended::ReaderClosed);
        };
        if faults.trace {
            eprintln!("vpcd → {}", masked(&message));
        }
        match message.as_slice() {
            [POWER_OFF] | [RESET] => applet.reset(),
            [POWER_ON] => applet.reset(),
            [GET_ATR] => write_message(stream, &applet.atr())?,
            [_] => {} // unknown control: vpcd expects no answer
            apdu => {
                if faults.vanish_after.is_some_and(|n| *apdus >= n)
                    || faults
                        .vanish_on_ins
                        .is_some_and(|ins| apdu.get(1) == Some(&ins))
                {
                    return Ok(Ended::Vanished);
                }
                *apdus += 1;
                if let Some(delay) = faults.delay {
                    std::thread::sleep(delay);
                }
                let response = if faults.garble_after.is_some_and(|n| *apdus > n) {
                    vec![(*apdus as u8).wrapping_mul(37) | 0x01]
                } else {
                    applet.process(apdu)
                };
                if faults.trace {
                    eprintln!("vpcd ← {}", hex::encode_upper(&response));
                }
                write_message(stream, &response)?;
            }
        }
    }
}

fn read_message(stream: &mut TcpStream) -> io::Result<Option<Vec<u8>>> {
    // Linux clears TCP_QUICKACK after a while: set it again before every read.
    let _ = SockRef::from(&*stream).set_tcp_quickack(true);
    let mut len = [0u8; 2];
    match stream.read_exact(&mut len) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) if e.kind() == io::ErrorKind::ConnectionReset => return Ok(None),
        Err(e) => return Err(e),
    }
    let mut payload = vec![0u8; usize::from(u16::from_be_bytes(len))];
    stream.read_exact(&mut payload)?;
    Ok(Some(payload))
}

fn write_message(stream: &mut TcpStream, payload: &[u8]) -> io::Result<()> {
    let mut message = Vec::with_capacity(2 + payload.len());
    message.extend_from_slice(&(payload.len() as u16).to_be_bytes());
    message.extend_from_slice(payload);
    stream.write_all(&message)
}

/// Hex of a message, with the data of VERIFY, CHANGE REFERENCE DATA and RESET RETRY COUNTER
/// masked: the trace never shows a PIN or a PUK.
fn masked(message: &[u8]) -> String {
    match message {
        [cla, ins @ (0x20 | 0x24 | 0x2C), p1, p2, _lc, ..] => {
            format!("{cla:02X}{ins:02X}{p1:02X}{p2:02X} **")
        }
        other => hex::encode_upper(other),
    }
}

#[cfg(test)]
mod tests {
    use super::masked;

    #[test]
    fn the_trace_masks_every_pin_and_puk() {
        let pin_block = b"12345678\xFF\xFF\xFF\xFF\xFF\xFF\xFF\xFF";
        for ins in [0x20u8, 0x24, 0x2C] {
            let mut apdu = vec![0x00, ins, 0x00, 0x81, 0x20];
            apdu.extend_from_slice(pin_block);
            apdu.extend_from_slice(pin_block);
            let line = masked(&apdu);
            assert!(!line.contains("3132333435363738"), "{line}");
            assert!(line.ends_with("**"), "{line}");
        }
        assert_eq!(masked(&[0x00, 0xCA, 0x01, 0x03, 0x00]), "00CA010300");
    }
}
