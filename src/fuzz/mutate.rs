//! Deterministic byte-level mutations: edits and dictionary tokens, splices of other corpus
//! entries, deep nesting, huge numbers, long strings and repeated regions. No dependency: a
//! xorshift generator makes every run with the same seed identical.

/// xorshift64*: reproducible without a dependency.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        // xorshift never leaves zero.
        Rng(seed | 1)
    }
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> Option<&'a T> {
        items.get(self.below(items.len()))
    }
    /// A size with a bias to small ones, up to `max`: most inputs stay fast, some are huge.
    pub fn size(&mut self, max: usize) -> usize {
        let bits = self.below(usize::BITS as usize - max.leading_zeros() as usize + 1);
        self.below((1usize << bits).min(max) + 1)
    }
}

/// Tokens worth inserting into any of our inputs (JSON, YAML-ish text, CUE, PEM, references).
const COMMON: &[&[u8]] = &[
    b"{",
    b"}",
    b"[",
    b"]",
    b"\"",
    b":",
    b",",
    b"null",
    b"true",
    b"-1",
    b"0",
    b"\\u0000",
    b"\\ud800",
    b"@",
    b"*",
    b"**",
    b"/",
    b"sha256:",
    b"\xff",
    b"\xc3\xa9",
    b"\xf0\x9f\x92\xa9",
    b"-----BEGIN CERTIFICATE-----",
    b"-----END CERTIFICATE-----",
    b"\n",
    b"\t",
    b" ",
];

const HUGE_NUMBERS: &[&str] = &[
    "1e999",
    "-1e999",
    "1e-999",
    "18446744073709551616",
    "18446744073709551615",
    "-9223372036854775809",
    "-9223372036854775808",
    "9007199254740993",
    "123456789012345678901234567890123456789012345678901234567890",
    "0.000000000000000000000000000000000000000000000000000000001",
    "1.7976931348623157e308",
    "4.9e-324",
    "-0",
    "0x7fffffffffffffffffff",
    "0o777777777777777777777777",
    "0b1111111111111111111111111111111111111111111111111111111111111111111",
];

/// Openers and their closers for deep nesting.
const NESTING: &[(&str, &str)] = &[
    ("[", "]"),
    ("{\"a\":", "}"),
    ("{a: ", "}"),
    ("(", ")"),
    ("[{\"b\":", "}]"),
    ("\"\\(", ")\""),
    ("-", ""),
    ("!", ""),
];

const LONG_PIECES: &[&str] = &["a", "\\u0000", "é", "0", "*", "/", "ab:", "\\\\", " ", "\n"];

/// Mutates inputs of one target: `corpus` for splices, `dictionary` for its own tokens.
pub struct Mutator<'a> {
    corpus: &'a [Vec<u8>],
    dictionary: &'a [&'a [u8]],
    max_repeat: usize,
}

/// Most repetitions (nesting levels, string pieces, copies of a region) inserted in one step.
const MAX_REPEAT: usize = 20_000;

impl<'a> Mutator<'a> {
    pub fn new(corpus: &'a [Vec<u8>], dictionary: &'a [&'a [u8]]) -> Self {
        Mutator {
            corpus,
            dictionary,
            max_repeat: MAX_REPEAT,
        }
    }

    /// One to four mutations of `input`.
    pub fn mutate(&self, rng: &mut Rng, input: &[u8]) -> Vec<u8> {
        let mut out = input.to_vec();
        for _ in 0..=rng.below(4) {
            self.once(rng, &mut out);
        }
        out
    }

    fn token(&self, rng: &mut Rng) -> &'a [u8] {
        if !self.dictionary.is_empty() && rng.below(2) == 0 {
            self.dictionary[rng.below(self.dictionary.len())]
        } else {
            COMMON[rng.below(COMMON.len())]
        }
    }

    fn once(&self, rng: &mut Rng, out: &mut Vec<u8>) {
        let at = rng.below(out.len() + 1);
        let insert = |out: &mut Vec<u8>, piece: &[u8]| {
            out.splice(at..at, piece.iter().copied());
        };
        match rng.below(16) {
            0..=2 if !out.is_empty() => {
                let end = (at + rng.size(64)).min(out.len());
                out.drain(at.min(end)..end);
            }
            3..=5 => insert(out, self.token(rng)),
            6 | 7 if !out.is_empty() => {
                let i = at.min(out.len() - 1);
                out[i] = rng.next() as u8;
            }
            8 => {
                let len = rng.size(32);
                let src = rng.below(out.len() + 1);
                let copy: Vec<u8> = out.iter().skip(src).take(len).copied().collect();
                insert(out, &copy);
            }
            9 | 10 => self.splice(rng, out, at),
            11 => {
                let (open, close) = NESTING[rng.below(NESTING.len())];
                let depth = rng.size(self.max_repeat);
                let mut piece = open.repeat(depth).into_bytes();
                if rng.below(2) == 0 {
                    piece.extend(close.repeat(depth).into_bytes());
                }
                insert(out, &piece);
            }
            12 => insert(out, HUGE_NUMBERS[rng.below(HUGE_NUMBERS.len())].as_bytes()),
            13 => {
                let piece = LONG_PIECES[rng.below(LONG_PIECES.len())];
                insert(
                    out,
                    piece
                        .repeat(rng.size(self.max_repeat.min(70_000)))
                        .as_bytes(),
                );
            }
            14 if !out.is_empty() => {
                // A region repeated: amplification (many list items, many fields).
                let src = rng.below(out.len());
                let len = rng.size(64).min(out.len() - src);
                let region: Vec<u8> = out.iter().skip(src).take(len).copied().collect();
                insert(out, &region.repeat(rng.size(self.max_repeat.min(2_000))));
            }
            _ => {
                let end = (at + rng.size(8)).min(out.len());
                let token = self.token(rng);
                out.splice(at.min(end)..end, token.iter().copied());
            }
        }
    }

    /// Crossover: a piece of another corpus entry inserted, or this entry's tail replaced by
    /// another entry's tail.
    fn splice(&self, rng: &mut Rng, out: &mut Vec<u8>, at: usize) {
        let Some(other) = rng.pick(self.corpus) else {
            return;
        };
        let from = rng.below(other.len() + 1);
        if rng.below(2) == 0 {
            out.truncate(at);
            out.extend(other.iter().skip(from));
        } else {
            let len = rng.size(256);
            let piece: Vec<u8> = other.iter().skip(from).take(len).copied().collect();
            out.splice(at..at, piece);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_gives_the_same_mutations() {
        let corpus = vec![b"{\"a\": [1, 2]}".to_vec(), b"[true]".to_vec()];
        let m = Mutator::new(&corpus, &[b"zz"]);
        let run = |seed| {
            let mut rng = Rng::new(seed);
            (0..50)
                .map(|_| m.mutate(&mut rng, &corpus[0]))
                .collect::<Vec<_>>()
        };
        assert_eq!(run(7), run(7));
        assert_ne!(run(7), run(8));
    }

    #[test]
    fn sizes_stay_within_their_bound() {
        let mut rng = Rng::new(3);
        assert!((0..10_000).all(|_| rng.size(100) <= 100));
        assert!((0..10_000).any(|_| rng.size(100) > 50));
    }
}
