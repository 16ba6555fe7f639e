//! Board ranks: the order of tasks within a status column, as strings that sort bytewise (PostgreSQL
//! `COLLATE "C"`, Rust's `str` order), so that moving a task writes that task only.
//!
//! A rank is a fraction in base 62 written with the digits `0-9A-Za-z` (ASCII order), without the leading
//! "0.", and never ending in `0` (so that there is always room before and after it). Between any two ranks
//! `a < b` there is another, found digit by digit ([`between`], after David Greenspan's "Implementing
//! Fractional Indexing"). Appending at the end of a column (`between(Some(last), None)`) increments the first
//! digit that can be, so a column of n tasks added one after another has ranks of about n / 61 characters;
//! inserting repeatedly at the same place adds about one character per six insertions. Ranks are bounded by the service
//! ([`MAX_LEN`]): a move that would need a longer rank is refused, and the column can be renumbered.

/// The digits, in ascending (ASCII) order.
const DIGITS: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// The longest rank the service stores.
pub const MAX_LEN: usize = 200;

/// A rank that is not one this module makes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RankError {
    /// Empty, a character outside the digits, or ending in `0`.
    #[error("not a rank: {0:?}")]
    Malformed(String),
    /// `between(a, b)` with `a >= b`.
    #[error("{0:?} is not before {1:?}")]
    Unordered(String, String),
}

fn digit(c: u8) -> usize {
    match c {
        b'0'..=b'9' => usize::from(c - b'0'),
        b'A'..=b'Z' => usize::from(c - b'A') + 10,
        _ => usize::from(c.wrapping_sub(b'a')) + 36,
    }
}

fn check(rank: &str) -> Result<&[u8], RankError> {
    let bytes = rank.as_bytes();
    let valid =
        !bytes.is_empty() && bytes.iter().all(|c| c.is_ascii_alphanumeric()) && bytes.last() != Some(&b'0');
    if valid {
        Ok(bytes)
    } else {
        Err(RankError::Malformed(rank.to_owned()))
    }
}

/// The midpoint of the fractions `a` (empty: 0) and `b` (`None`: 1), `a < b`, neither ending in `0`.
fn midpoint(a: &[u8], b: Option<&[u8]>) -> Vec<u8> {
    if let Some(b) = b {
        let mut n = 0;
        while n < b.len() && a.get(n).copied().unwrap_or(b'0') == b[n] {
            n += 1;
        }
        if n > 0 {
            let mut out = b[..n].to_vec();
            out.extend(midpoint(a.get(n..).unwrap_or_default(), Some(&b[n..])));
            return out;
        }
    }
    let da = a.first().map_or(0, |c| digit(*c));
    let db = b.map_or(DIGITS.len(), |b| b.first().map_or(DIGITS.len(), |c| digit(*c)));
    if db - da > 1 {
        return vec![DIGITS[(da + db).div_ceil(2)]];
    }
    match b {
        Some(b) if b.len() > 1 => vec![b[0]],
        _ => {
            let mut out = vec![DIGITS[da]];
            out.extend(midpoint(a.get(1..).unwrap_or_default(), None));
            out
        }
    }
}

fn text(bytes: Vec<u8>) -> String {
    // Only DIGITS and bytes of valid ranks are ever pushed: ASCII.
    bytes.into_iter().map(char::from).collect()
}

/// A rank strictly between `a` and `b`; `None` stands for the start or the end of the column.
pub fn between(a: Option<&str>, b: Option<&str>) -> Result<String, RankError> {
    let a = a.map(check).transpose()?;
    let b = b.map(check).transpose()?;
    if let (Some(x), Some(y)) = (a, b)
        && x >= y
    {
        return Err(RankError::Unordered(text(x.to_vec()), text(y.to_vec())));
    }
    Ok(match (a, b) {
        (Some(a), None) => text(after_bytes(a)),
        (None, Some(b)) => text(before_bytes(b)),
        (a, b) => text(midpoint(a.unwrap_or_default(), b)),
    })
}

/// A rank after `a` that stays short: its first digit that is not `z`, incremented (the prefix before it kept),
/// or, when every digit is `z`, `a` followed by `1`.
fn after_bytes(a: &[u8]) -> Vec<u8> {
    match a.iter().position(|c| *c != b'z') {
        Some(i) => {
            let mut out = a[..i].to_vec();
            out.push(DIGITS[digit(a[i]) + 1]);
            out
        }
        None => {
            let mut out = a.to_vec();
            out.push(b'1');
            out
        }
    }
}

/// A rank before `b` that stays short: its first digit above `1`, decremented (the prefix before it kept).
fn before_bytes(b: &[u8]) -> Vec<u8> {
    match b.iter().position(|c| digit(*c) > 1) {
        Some(i) => {
            let mut out = b[..i].to_vec();
            out.push(DIGITS[digit(b[i]) - 1]);
            out
        }
        None => midpoint(&[], Some(b)),
    }
}

/// The first rank of an empty column.
pub fn first() -> String {
    "V".to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn valid(rank: &str) -> bool {
        check(rank).is_ok()
    }

    #[test]
    fn digits_are_in_ascii_order() {
        assert!(DIGITS.windows(2).all(|w| w[0] < w[1]));
        for (i, c) in DIGITS.iter().enumerate() {
            assert_eq!(digit(*c), i);
        }
    }

    #[test]
    fn between_is_strictly_between() {
        for (a, b) in [
            (None, None),
            (Some("V"), None),
            (None, Some("V")),
            (Some("V"), Some("W")),
            (Some("V"), Some("V1")),
            (Some("1"), Some("2")),
            (Some("z"), None),
            (None, Some("1")),
            (None, Some("01")),
            (Some("zz"), None),
            (Some("A"), Some("A01")),
            (Some("0001"), Some("0002")),
        ] {
            let m = between(a, b).unwrap();
            assert!(valid(&m), "{a:?} {b:?} -> {m}");
            if let Some(a) = a {
                assert!(a < m.as_str(), "{a} < {m}");
            }
            if let Some(b) = b {
                assert!(m.as_str() < b, "{m} < {b}");
            }
        }
    }

    #[test]
    fn refuses_malformed_or_unordered_ranks() {
        for bad in ["", "V0", "a-b", "é"] {
            assert!(
                matches!(between(Some(bad), None), Err(RankError::Malformed(_))),
                "{bad}"
            );
        }
        assert!(matches!(
            between(Some("W"), Some("V")),
            Err(RankError::Unordered(..))
        ));
        assert!(matches!(
            between(Some("V"), Some("V")),
            Err(RankError::Unordered(..))
        ));
    }

    #[test]
    fn appending_keeps_ranks_short_and_ordered() {
        let mut last = first();
        for _ in 0..1_000 {
            let next = between(Some(&last), None).unwrap();
            assert!(last < next);
            last = next;
        }
        assert!(last.len() <= 20, "{last}");
    }

    #[test]
    fn inserting_at_one_place_again_and_again_stays_ordered() {
        // Always between the first two: the worst case, about one character per six insertions.
        let (low, mut high) = (first(), between(Some("V"), None).unwrap());
        for _ in 0..300 {
            let mid = between(Some(&low), Some(&high)).unwrap();
            assert!(low < mid && mid < high);
            high = mid;
        }
        assert!(high.len() <= 60, "{}", high.len());
        let mut top = first();
        for _ in 0..300 {
            let before = between(None, Some(&top)).unwrap();
            assert!(before < top && valid(&before));
            top = before;
        }
    }

    #[test]
    fn a_random_walk_of_insertions_keeps_a_total_order() {
        // A deterministic pseudo-random sequence of insert positions.
        let mut ranks: Vec<String> = vec![first()];
        let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
        for _ in 0..2_000 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let at = usize::try_from(seed % (ranks.len() as u64 + 1)).unwrap();
            let a = at.checked_sub(1).map(|i| ranks[i].as_str());
            let b = ranks.get(at).map(String::as_str);
            let rank = between(a, b).unwrap();
            ranks.insert(at, rank);
        }
        assert!(ranks.windows(2).all(|w| w[0] < w[1]));
        assert!(ranks.iter().all(|r| valid(r)));
    }
}
