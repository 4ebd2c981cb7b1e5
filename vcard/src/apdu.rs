//! Command APDUs as the card receives them (ISO/IEC 7816-4 clause 5.1), short and extended.

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Apdu {
    pub cla: u8,
    pub ins: u8,
    pub p1: u8,
    pub p2: u8,
    pub data: Vec<u8>,
    /// Ne, `None` when absent.
    pub ne: Option<usize>,
    pub extended: bool,
}

/// Parses a command APDU; `None` when its length fits none of the seven cases (the card answers
/// `6700`).
pub fn parse(b: &[u8]) -> Option<Apdu> {
    let header = |data: &[u8], ne, extended| Apdu {
        cla: b[0],
        ins: b[1],
        p1: b[2],
        p2: b[3],
        data: data.to_vec(),
        ne,
        extended,
    };
    match b.len() {
        0..=3 => None,
        4 => Some(header(&[], None, false)),
        5 => Some(header(&[], Some(short_ne(b[4])), false)),
        n if b[4] != 0 => {
            let lc = usize::from(b[4]);
            if n == 5 + lc {
                Some(header(&b[5..], None, false))
            } else if n == 6 + lc {
                Some(header(&b[5..5 + lc], Some(short_ne(b[n - 1])), false))
            } else {
                None
            }
        }
        6 => None,
        7 => Some(header(&[], Some(extended_ne(b[5], b[6])), true)),
        n => {
            let lc = usize::from(u16::from_be_bytes([b[5], b[6]]));
            if lc == 0 {
                None
            } else if n == 7 + lc {
                Some(header(&b[7..], None, true))
            } else if n == 9 + lc {
                Some(header(
                    &b[7..7 + lc],
                    Some(extended_ne(b[n - 2], b[n - 1])),
                    true,
                ))
            } else {
                None
            }
        }
    }
}

fn short_ne(le: u8) -> usize {
    if le == 0 {
        256
    } else {
        usize::from(le)
    }
}

fn extended_ne(hi: u8, lo: u8) -> usize {
    match u16::from_be_bytes([hi, lo]) {
        0 => 65_536,
        n => usize::from(n),
    }
}

/// A response: data then SW1 SW2.
pub fn respond(data: &[u8], sw: u16) -> Vec<u8> {
    let mut out = data.to_vec();
    out.extend_from_slice(&sw.to_be_bytes());
    out
}

pub fn status(sw: u16) -> Vec<u8> {
    sw.to_be_bytes().to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(s: &str) -> Vec<u8> {
        hex::decode(s.replace(' ', "")).expect("hex")
    }

    #[test]
    fn all_seven_cases() {
        assert_eq!(parse(&h("00A4040C")).expect("1").ne, None);
        assert_eq!(parse(&h("00B0000000")).expect("2S").ne, Some(256));
        let c3 = parse(&h("00A4020C02C001")).expect("3S");
        assert_eq!((c3.data, c3.ne), (h("C001"), None));
        let c4 = parse(&h("00A4020402C00100")).expect("4S");
        assert_eq!((c4.data, c4.ne, c4.extended), (h("C001"), Some(256), false));
        let c2e = parse(&h("00B00000 000000")).expect("2E");
        assert_eq!((c2e.ne, c2e.extended), (Some(65_536), true));
        let c3e = parse(&h("00DA0000 000002 AABB")).expect("3E");
        assert_eq!(c3e.data, h("AABB"));
        let c4e = parse(&h("002A9E9A 000001 07 0400")).expect("4E");
        assert_eq!((c4e.data, c4e.ne), (h("07"), Some(1024)));
    }

    #[test]
    fn lengths_that_fit_no_case_are_refused() {
        for bad in [
            "",
            "00A404",
            "00A4020C03C001",
            "00A4020C02C0010000",
            "00B00000 0000",
            "00DA0000 000003 AABB",
        ] {
            assert!(parse(&h(bad)).is_none(), "{bad}");
        }
    }
}
