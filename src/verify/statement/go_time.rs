//! Go's `time.Time` through `encoding/json`: what `UnmarshalJSON` accepts (Go's RFC 3339 fast
//! path, the only one its strict parser lets through) and the text `MarshalJSON` writes back
//! (RFC 3339 with at most nine fraction digits, trailing zeros dropped, `Z` for a zero offset).

/// `time.Time{}` as Go writes it: absent and null times in a non-pointer field end up here.
pub const ZERO: &str = "0001-01-01T00:00:00Z";

const LAYOUT: &str = "2006-01-02T15:04:05Z07:00";

/// A parsed time kept as its text: Go keeps the wall clock and the offset as written.
pub struct GoTime {
    /// `YYYY-MM-DDTHH:MM:SS`.
    clock: String,
    /// The fraction digits Go keeps (the first nine).
    fraction: String,
    /// The offset in minutes east of UTC, and its sign.
    offset_minutes: u32,
    negative: bool,
}

/// Parses what Go's `Time.UnmarshalJSON` accepts; the error approximates Go's `ParseError` text.
pub fn parse(text: &str) -> Result<GoTime, String> {
    let failed =
        || format!("parsing time {text:?} as {LAYOUT:?}: cannot parse {text:?} as RFC 3339");
    let b = text.as_bytes();
    let num = |from: usize, len: usize| -> Option<u32> {
        let digits = b.get(from..from + len)?;
        digits.iter().try_fold(0u32, |n, d| {
            d.is_ascii_digit().then(|| n * 10 + u32::from(d - b'0'))
        })
    };
    let at = |i: usize, c: u8| b.get(i) == Some(&c);
    if !(at(4, b'-') && at(7, b'-') && at(10, b'T') && at(13, b':') && at(16, b':')) {
        return Err(failed());
    }
    let (Some(year), Some(month), Some(day), Some(hour), Some(minute), Some(second)) = (
        num(0, 4),
        num(5, 2),
        num(8, 2),
        num(11, 2),
        num(14, 2),
        num(17, 2),
    ) else {
        return Err(failed());
    };
    if !(1..=12).contains(&month) {
        return Err(format!("parsing time {text:?}: month out of range"));
    }
    if day < 1 || day > days_in(month, year) {
        return Err(format!("parsing time {text:?}: day out of range"));
    }
    for (value, max, what) in [
        (hour, 23, "hour"),
        (minute, 59, "minute"),
        (second, 59, "second"),
    ] {
        if value > max {
            return Err(format!("parsing time {text:?}: {what} out of range"));
        }
    }
    let clock = text.get(..19).ok_or_else(failed)?.to_string();
    let mut rest = text.get(19..).ok_or_else(failed)?;
    let mut fraction = String::new();
    if let Some(digits) = rest.strip_prefix('.') {
        let len = digits.bytes().take_while(u8::is_ascii_digit).count();
        if len == 0 {
            return Err(failed());
        }
        fraction = digits.get(..len.min(9)).unwrap_or_default().to_string();
        rest = digits.get(len..).unwrap_or_default();
    }
    if rest == "Z" {
        return Ok(GoTime {
            clock,
            fraction,
            offset_minutes: 0,
            negative: false,
        });
    }
    let z = rest.as_bytes();
    let zone = |i: usize, len: usize| {
        z.get(i..i + len)?.iter().try_fold(0u32, |n, d| {
            d.is_ascii_digit().then(|| n * 10 + u32::from(d - b'0'))
        })
    };
    // Go's fast path checks the offset against 24 hours and 60 minutes inclusive.
    match (z.first(), zone(1, 2), z.get(3), zone(4, 2)) {
        (Some(sign @ (b'+' | b'-')), Some(h), Some(b':'), Some(m))
            if z.len() == 6 && h <= 24 && m <= 60 =>
        {
            Ok(GoTime {
                clock,
                fraction,
                offset_minutes: h * 60 + m,
                negative: *sign == b'-',
            })
        }
        _ => Err(failed()),
    }
}

impl GoTime {
    /// The text Go's `Time.MarshalJSON` writes, or its error (an offset of 24 hours or more).
    pub fn marshal(&self) -> Result<String, String> {
        let mut out = self.clock.clone();
        let fraction = self.fraction.trim_end_matches('0');
        if !fraction.is_empty() {
            out.push('.');
            out.push_str(fraction);
        }
        if self.offset_minutes == 0 {
            out.push('Z');
            return Ok(out);
        }
        let (hours, minutes) = (self.offset_minutes / 60, self.offset_minutes % 60);
        if hours >= 24 {
            return Err("Time.MarshalJSON: timezone hour outside of range [0,23]".to_string());
        }
        let sign = if self.negative { '-' } else { '+' };
        out.push_str(&format!("{sign}{hours:02}:{minutes:02}"));
        Ok(out)
    }
}

fn days_in(month: u32, year: u32) -> u32 {
    match month {
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}
