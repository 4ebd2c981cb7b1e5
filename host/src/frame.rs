//! Native-messaging framing, as Chrome/Chromium and Firefox speak it over the host's stdin and
//! stdout: a 32-bit length in the machine's native byte order, then that many bytes of UTF-8
//! JSON. Pure functions over `Read` and `Write`, so every case is tested with byte vectors.
//!
//! Limits:
//! - Inbound, the browser may send up to 4 GB. The host takes at most [`MAX_INBOUND`] (64 MiB):
//!   the largest thing a page legitimately sends is the data of a `sign` or `hash` call, base64 in
//!   a JSON string, and the reply to an attached signature must fit in 1 MB anyway. 64 MiB leaves
//!   room for detached signatures and hashes of files of some 45 MiB while bounding what one
//!   message can make the host allocate (the frame, then its parsed JSON, a few times its size).
//!   A longer frame is read through and dropped, never held, so the stream stays in step and the
//!   host answers it with an error like any other bad message.
//! - Outbound, Chrome refuses messages over 1 MB from a host ([`MAX_OUTBOUND`]) and drops the
//!   connection. A reply that would be longer is never cut: the caller replaces it with an error
//!   reply (see `host::Host::reply_bytes`).

use std::io::{self, Read, Write};

/// The longest message the host reads (see the module comment).
pub const MAX_INBOUND: u32 = 64 * 1024 * 1024;

/// Chrome's limit for a message from a host to the browser: 1 MB (1024 × 1024 bytes of JSON).
pub const MAX_OUTBOUND: usize = 1024 * 1024;

/// What came in on the stream.
#[derive(Debug, PartialEq, Eq)]
pub enum Inbound {
    /// A whole message: the JSON bytes, not yet checked in any way.
    Message(Vec<u8>),
    /// A message longer than [`MAX_INBOUND`], read through and dropped.
    TooLong { length: u32 },
    /// The stream ended between messages: the browser closed the port.
    End,
}

#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    /// The stream ended inside a message (in its length or its body): the browser went away
    /// mid-message, and nothing can be answered.
    #[error("the stream ended inside a message ({got} of {expected} bytes)")]
    Truncated { expected: u64, got: u64 },
    #[error("reading the stream failed: {0}")]
    Io(#[from] io::Error),
    /// Only when writing: a reply over [`MAX_OUTBOUND`] is never sent cut.
    #[error("a reply of {0} bytes is over the browser's limit")]
    ReplyTooLong(usize),
}

/// Reads until `buf` is full or the stream ends; returns how many bytes were read.
fn read_full(reader: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// Reads one message.
pub fn read_frame(reader: &mut impl Read) -> Result<Inbound, FrameError> {
    let mut header = [0u8; 4];
    match read_full(reader, &mut header)? {
        0 => return Ok(Inbound::End),
        4 => {}
        got => {
            return Err(FrameError::Truncated {
                expected: 4,
                got: got as u64,
            })
        }
    }
    let length = u32::from_ne_bytes(header);
    if length > MAX_INBOUND {
        // Read through without keeping: the next message starts right after this one.
        let got = io::copy(&mut reader.take(u64::from(length)), &mut io::sink())?;
        if got < u64::from(length) {
            return Err(FrameError::Truncated {
                expected: u64::from(length),
                got,
            });
        }
        return Ok(Inbound::TooLong { length });
    }
    // Grown as bytes arrive rather than allocated from the header: a length that lies costs
    // nothing until its bytes come.
    let mut body = Vec::new();
    let got = reader.take(u64::from(length)).read_to_end(&mut body)?;
    if got < length as usize {
        return Err(FrameError::Truncated {
            expected: u64::from(length),
            got: got as u64,
        });
    }
    Ok(Inbound::Message(body))
}

/// Writes one message and flushes it. A message over [`MAX_OUTBOUND`] is refused whole: nothing
/// is written.
pub fn write_frame(writer: &mut impl Write, message: &[u8]) -> Result<(), FrameError> {
    if message.len() > MAX_OUTBOUND {
        return Err(FrameError::ReplyTooLong(message.len()));
    }
    // The check above keeps the length within u32.
    let length = message.len() as u32;
    writer.write_all(&length.to_ne_bytes())?;
    writer.write_all(message)?;
    writer.flush()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(body: &[u8]) -> Vec<u8> {
        let mut out = (body.len() as u32).to_ne_bytes().to_vec();
        out.extend_from_slice(body);
        out
    }

    #[test]
    fn good_frames_are_read_in_order_then_the_end() {
        let mut bytes = frame(br#"{"a":1}"#);
        bytes.extend(frame(b"{}"));
        bytes.extend(frame(b""));
        let mut r = bytes.as_slice();
        assert_eq!(
            read_frame(&mut r).unwrap(),
            Inbound::Message(br#"{"a":1}"#.to_vec())
        );
        assert_eq!(
            read_frame(&mut r).unwrap(),
            Inbound::Message(b"{}".to_vec())
        );
        assert_eq!(read_frame(&mut r).unwrap(), Inbound::Message(Vec::new()));
        assert_eq!(read_frame(&mut r).unwrap(), Inbound::End);
        assert_eq!(read_frame(&mut r).unwrap(), Inbound::End);
    }

    #[test]
    fn the_length_is_in_native_byte_order() {
        let mut bytes = 2u32.to_ne_bytes().to_vec();
        bytes.extend(b"{}");
        assert_eq!(
            read_frame(&mut bytes.as_slice()).unwrap(),
            Inbound::Message(b"{}".to_vec())
        );
        let mut out = Vec::new();
        write_frame(&mut out, b"{}").unwrap();
        assert_eq!(&out[..4], &2u32.to_ne_bytes());
        assert_eq!(&out[4..], b"{}");
    }

    #[test]
    fn a_truncated_length_or_body_is_an_error_not_a_message() {
        for cut in [&[1u8][..], &[1, 0], &[1, 0, 0]] {
            match read_frame(&mut &cut[..]) {
                Err(FrameError::Truncated { expected: 4, got }) => {
                    assert_eq!(got, cut.len() as u64)
                }
                other => panic!("{other:?}"),
            }
        }
        let mut bytes = 10u32.to_ne_bytes().to_vec();
        bytes.extend(b"{\"a\"");
        match read_frame(&mut bytes.as_slice()) {
            Err(FrameError::Truncated {
                expected: 10,
                got: 4,
            }) => {}
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_frame_over_the_limit_is_read_through_and_the_next_one_is_whole() {
        // A reader that produces the long body without it ever being in memory at once.
        let length = MAX_INBOUND + 1;
        let body = io::repeat(b'x').take(u64::from(length));
        let next = frame(b"{}");
        let mut stream = io::Cursor::new(length.to_ne_bytes())
            .chain(body)
            .chain(next.as_slice());
        assert_eq!(
            read_frame(&mut stream).unwrap(),
            Inbound::TooLong { length }
        );
        assert_eq!(
            read_frame(&mut stream).unwrap(),
            Inbound::Message(b"{}".to_vec())
        );
        assert_eq!(read_frame(&mut stream).unwrap(), Inbound::End);
    }

    #[test]
    fn a_lying_length_over_the_limit_that_ends_early_is_truncated() {
        let mut bytes = u32::MAX.to_ne_bytes().to_vec();
        bytes.extend(b"short");
        match read_frame(&mut bytes.as_slice()) {
            Err(FrameError::Truncated { got: 5, .. }) => {}
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_lying_length_under_the_limit_allocates_only_what_arrives() {
        let mut bytes = MAX_INBOUND.to_ne_bytes().to_vec();
        bytes.extend(b"{}");
        match read_frame(&mut bytes.as_slice()) {
            Err(FrameError::Truncated { got: 2, .. }) => {}
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn invalid_utf8_and_invalid_json_are_still_frames_for_the_layer_above() {
        // The framing carries bytes; the message layer refuses them with an error reply.
        let bytes = frame(&[0xff, 0xfe, b'{']);
        assert_eq!(
            read_frame(&mut bytes.as_slice()).unwrap(),
            Inbound::Message(vec![0xff, 0xfe, b'{'])
        );
    }

    #[test]
    fn a_reply_over_one_megabyte_is_never_written_cut() {
        let mut out = Vec::new();
        let long = vec![b'x'; MAX_OUTBOUND + 1];
        assert!(matches!(
            write_frame(&mut out, &long),
            Err(FrameError::ReplyTooLong(n)) if n == MAX_OUTBOUND + 1
        ));
        assert!(out.is_empty(), "nothing of it was written");
        let exact = vec![b'x'; MAX_OUTBOUND];
        write_frame(&mut out, &exact).unwrap();
        assert_eq!(out.len(), MAX_OUTBOUND + 4);
    }
}
