//! Just enough DER reading for RFC 3161 tokens: definite lengths, one-byte tags.

pub const SEQUENCE: u8 = 0x30;
pub const SET: u8 = 0x31;
pub const INTEGER: u8 = 0x02;
pub const OCTET_STRING: u8 = 0x04;
pub const OID: u8 = 0x06;
pub const GENERALIZED_TIME: u8 = 0x18;
pub const CONTEXT_0: u8 = 0xa0;

/// Elements a constructed value may hold before it is refused (tokens hold a handful).
const MAX_CHILDREN: usize = 64;

#[derive(Clone, Copy)]
pub struct Tlv<'a> {
    pub tag: u8,
    pub content: &'a [u8],
    /// Tag, length and content.
    pub raw: &'a [u8],
}

/// The first element of `input` and what follows it.
pub fn next(input: &[u8]) -> Result<(Tlv<'_>, &[u8]), String> {
    let truncated = || "truncated DER".to_string();
    let (&tag, rest) = input.split_first().ok_or_else(truncated)?;
    if tag & 0x1f == 0x1f {
        return Err("multi-byte DER tags are not supported".into());
    }
    let (&first, rest) = rest.split_first().ok_or_else(truncated)?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 {
            return Err("indefinite or oversized DER length".into());
        }
        let (bytes, rest) = rest.split_at_checked(n).ok_or_else(truncated)?;
        let len = bytes
            .iter()
            .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
        (len, rest)
    };
    let (content, rest) = rest.split_at_checked(len).ok_or_else(truncated)?;
    let consumed = input.len().saturating_sub(rest.len());
    let raw = input.get(..consumed).ok_or_else(truncated)?;
    Ok((Tlv { tag, content, raw }, rest))
}

/// `input` must be exactly one element tagged `tag`.
pub fn only<'a>(input: &'a [u8], tag: u8, what: &str) -> Result<Tlv<'a>, String> {
    let (tlv, rest) = next(input).map_err(|e| format!("{what}: {e}"))?;
    if tlv.tag != tag || !rest.is_empty() {
        return Err(format!("{what} is not the expected DER element"));
    }
    Ok(tlv)
}

/// The elements inside a constructed value.
pub fn children<'a>(content: &'a [u8], what: &str) -> Result<Vec<Tlv<'a>>, String> {
    let mut out = Vec::new();
    let mut rest = content;
    while !rest.is_empty() {
        if out.len() == MAX_CHILDREN {
            return Err(format!("{what} has more than {MAX_CHILDREN} elements"));
        }
        let (tlv, after) = next(rest).map_err(|e| format!("{what}: {e}"))?;
        out.push(tlv);
        rest = after;
    }
    Ok(out)
}

/// The `index`th child, which must carry `tag`.
pub fn child<'a>(items: &[Tlv<'a>], index: usize, tag: u8, what: &str) -> Result<Tlv<'a>, String> {
    match items.get(index) {
        Some(tlv) if tlv.tag == tag => Ok(*tlv),
        _ => Err(format!("{what} is missing or malformed")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_short_and_long_lengths_and_refuses_truncation() {
        let mut long = vec![OCTET_STRING, 0x81, 200];
        long.extend([7u8; 200]);
        let (tlv, rest) = next(&long).unwrap();
        assert_eq!(
            (tlv.tag, tlv.content.len(), rest.len()),
            (OCTET_STRING, 200, 0)
        );
        assert_eq!(next(&long[..100]).err().unwrap(), "truncated DER");
        assert_eq!(
            next(&[SEQUENCE, 0x80]).err().unwrap(),
            "indefinite or oversized DER length"
        );
        let seq = [SEQUENCE, 6, INTEGER, 1, 5, OCTET_STRING, 1, 9];
        let outer = only(&seq, SEQUENCE, "x").unwrap();
        let items = children(outer.content, "x").unwrap();
        assert_eq!(child(&items, 1, OCTET_STRING, "y").unwrap().content, [9]);
        assert!(child(&items, 1, INTEGER, "y").is_err());
    }
}
