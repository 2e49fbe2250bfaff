//! Structure-aware mutations of JSON documents: byte mutations mostly break the syntax, these
//! keep it valid so typed decoding and the code behind it are reached. Subtrees are swapped
//! between corpus entries, wrapped in deep nesting, replaced by huge numbers and long strings.

use super::mutate::Rng;
use serde_json::{json, Value};

/// Nesting added in one step: past serde_json's own limit (128) when serialised and reparsed.
const MAX_WRAP: usize = 160;

fn scalar(rng: &mut Rng, keys: &[&str]) -> Value {
    match rng.below(14) {
        0 => Value::Null,
        1 => json!(rng.below(2) == 0),
        2 => json!(u64::MAX),
        3 => json!(i64::MIN),
        4 => json!(f64::MAX),
        5 => json!(-0.0),
        6 => json!(rng.next() as i64),
        7 => json!(""),
        8 => json!("a".repeat(rng.size(70_000))),
        9 => json!("\u{0}\u{ffff}é💩\\\""),
        10 => json!({}),
        11 => json!([]),
        _ => json!(keys.get(rng.below(keys.len())).copied().unwrap_or("x")),
    }
}

/// Every node's JSON pointer, root first.
fn pointers(v: &Value, at: String, out: &mut Vec<String>) {
    match v {
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                pointers(x, format!("{at}/{i}"), out);
            }
        }
        Value::Object(o) => {
            for (k, x) in o {
                let k = k.replace('~', "~0").replace('/', "~1");
                pointers(x, format!("{at}/{k}"), out);
            }
        }
        _ => {}
    }
    out.push(at);
}

fn random_subtree(rng: &mut Rng, corpus: &[Value]) -> Value {
    let Some(other) = rng.pick(corpus) else {
        return Value::Null;
    };
    let mut all = Vec::new();
    pointers(other, String::new(), &mut all);
    rng.pick(&all)
        .and_then(|p| other.pointer(p))
        .cloned()
        .unwrap_or(Value::Null)
}

/// One to three structural mutations of `doc`; `keys` are field names worth inserting.
pub fn mutate(rng: &mut Rng, doc: &Value, corpus: &[Value], keys: &[&str]) -> Value {
    let mut doc = doc.clone();
    for _ in 0..=rng.below(3) {
        let mut all = Vec::new();
        pointers(&doc, String::new(), &mut all);
        let Some(at) = rng.pick(&all).cloned() else {
            continue;
        };
        let replacement = match rng.below(9) {
            0 | 1 => Some(scalar(rng, keys)),
            2 | 3 => Some(random_subtree(rng, corpus)),
            4 => {
                let mut v = doc.pointer(&at).cloned().unwrap_or(Value::Null);
                for _ in 0..rng.size(MAX_WRAP) {
                    v = if rng.below(2) == 0 {
                        json!([v])
                    } else {
                        json!({ "a": v })
                    };
                }
                Some(v)
            }
            _ => None,
        };
        let Some(node) = doc.pointer_mut(&at) else {
            continue;
        };
        if let Some(r) = replacement {
            *node = r;
            continue;
        }
        match node {
            Value::Object(o) if rng.below(2) == 0 && !o.is_empty() => {
                let k = o
                    .keys()
                    .nth(rng.below(o.len()))
                    .cloned()
                    .unwrap_or_default();
                o.remove(&k);
            }
            Value::Object(o) => {
                let k = keys.get(rng.below(keys.len())).copied().unwrap_or("x");
                o.insert(k.to_string(), scalar(rng, keys));
            }
            Value::Array(a) if !a.is_empty() && rng.below(3) == 0 => {
                a.remove(rng.below(a.len()));
            }
            Value::Array(a) if !a.is_empty() => {
                // Many copies of one element: count budgets and quadratic paths.
                let x = a[rng.below(a.len())].clone();
                let n = rng.size(3_000);
                a.extend(std::iter::repeat_n(x, n));
            }
            Value::String(s) => {
                let piece = s.clone();
                s.push_str(&piece.repeat(rng.size(64)));
            }
            other => *other = scalar(rng, keys),
        }
    }
    doc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mutations_change_documents_and_are_reproducible() {
        let doc = json!({"a": [1, {"b": "c"}], "d": null});
        let corpus = vec![doc.clone(), json!({"x": [true]})];
        let run = |seed| {
            let mut rng = Rng::new(seed);
            (0..40)
                .map(|_| mutate(&mut rng, &doc, &corpus, &["k"]))
                .collect::<Vec<_>>()
        };
        let out = run(11);
        assert_eq!(out, run(11));
        assert!(out.iter().filter(|m| **m != doc).count() > 20);
    }
}
