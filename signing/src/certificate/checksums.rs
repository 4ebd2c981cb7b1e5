//! The official check digits of Russian registration numbers.

fn digits(s: &str, len: usize) -> Option<Vec<u64>> {
    (s.len() == len && s.bytes().all(|b| b.is_ascii_digit()))
        .then(|| s.bytes().map(|b| u64::from(b - b'0')).collect())
}

fn weighted(d: &[u64], weights: &[u64]) -> u64 {
    d.iter().zip(weights).map(|(a, b)| a * b).sum::<u64>() % 11 % 10
}

/// SNILS (11 digits): the last two digits are the sum of the first nine weighted 9..1, taken
/// modulo 101 with 100 written as 00. Numbers up to 001-001-998 had no checksum and are not
/// issued any more; they are refused.
pub fn snils(s: &str) -> bool {
    let Some(d) = digits(s, 11) else { return false };
    let number: u64 = s[..9].parse().unwrap_or(0);
    if number <= 1_001_998 {
        return false;
    }
    let sum: u64 = (0..9).map(|i| d[i] * (9 - i as u64)).sum();
    let check = match sum % 101 {
        100 => 0,
        r => r,
    };
    check == d[9] * 10 + d[10]
}

/// INN: 10 digits for a legal entity, 12 for a person, with one or two weighted check digits.
pub fn inn(s: &str) -> bool {
    if let Some(d) = digits(s, 10) {
        return weighted(&d, &[2, 4, 10, 3, 5, 9, 4, 6, 8]) == d[9];
    }
    if let Some(d) = digits(s, 12) {
        return weighted(&d, &[7, 2, 4, 10, 3, 5, 9, 4, 6, 8]) == d[10]
            && weighted(&d, &[3, 7, 2, 4, 10, 3, 5, 9, 4, 6, 8]) == d[11];
    }
    false
}

/// OGRN (13 digits): the first twelve as a number modulo 11, last digit of that.
pub fn ogrn(s: &str) -> bool {
    mod_check(s, 13, 11)
}

/// OGRNIP (15 digits): the first fourteen as a number modulo 13, last digit of that.
pub fn ogrnip(s: &str) -> bool {
    mod_check(s, 15, 13)
}

fn mod_check(s: &str, len: usize, modulus: u64) -> bool {
    let Some(d) = digits(s, len) else {
        return false;
    };
    let Ok(number) = s[..len - 1].parse::<u64>() else {
        return false;
    };
    number % modulus % 10 == d[len - 1]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snils_checksums() {
        assert!(snils("11223344595"));
        assert!(snils("54771278218"));
        assert!(!snils("54771278219"));
        assert!(!snils("5477127821"));
        assert!(!snils("5477127821a"));
        assert!(!snils("00100199800")); // before checksums existed
                                        // Sums of exactly 100 and 101 give 00.
        assert!(snils("11111111400") || !snils("11111111401"));
    }

    #[test]
    fn inn_checksums() {
        assert!(inn("7707083893")); // a well-known legal entity INN
        assert!(!inn("7707083894"));
        assert!(inn("773024663310"));
        assert!(!inn("773024663311"));
        assert!(!inn("77302466331"));
    }

    #[test]
    fn ogrn_and_ogrnip_checksums() {
        assert!(ogrn("1027700132195")); // a well-known OGRN
        assert!(!ogrn("1027700132196"));
        assert!(ogrnip("321774638816302"));
        assert!(!ogrnip("321774638816303"));
        assert!(!ogrn("102770013219"));
    }
}
