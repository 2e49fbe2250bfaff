//! The document an attestation policy sees. cosign (`pkg/policy/attestation.go`
//! `AttestationToPayloadJSON`, v3.0.5) decodes the verified in-toto statement with Go's
//! `encoding/json` into a struct chosen by the predicate type *as written in the CIP* and hands the
//! policy that struct encoded again, so what a policy can rely on depends on the spelling:
//!
//! * `slsaprovenance`, `spdx`/`spdxjson`, `cyclonedx`, `link`, `vuln`: a typed struct. Absent
//!   fields reappear as Go zero values (`""`, `false`, `null`, `"0001-01-01T00:00:00Z"`),
//!   `omitempty` fields vanish when empty, fields the struct lacks vanish.
//! * anything else (`custom`, a URI, `slsaprovenance02`, ...): the generic `in_toto.Statement`.
//!   Unknown top-level keys vanish and an absent `subject` or `predicate` becomes `null`.
//!
//! In both, free-form JSON (`interface{}`) goes through float64: an integral number is written
//! back as an integer (`1.0` becomes `1`), big ones lose precision. A statement that does not fit
//! the struct gets cosign's error instead (`unmarshaling LinkStatement: json: cannot unmarshal
//! ...`). Object keys are matched to Go fields exactly first, then case-insensitively, as Go does.

mod go_time;
mod shapes;
#[cfg(test)]
mod tests;

use serde_json::{Map, Number, Value};
use shapes::{GoStruct, Shape};

/// Nesting levels of a statement the re-encoding walks; a deeper statement is refused with
/// `unmarshal in-toto statement: exceeded max depth`. serde_json refuses to parse documents
/// nested deeper than this, so statements read from the host never reach it.
pub const MAX_DEPTH: usize = 128;

/// The statement re-encoded as cosign would for `predicate_type` (as written in the CIP), or the
/// error cosign would report for it.
pub fn policy_document(statement: &Value, predicate_type: &str) -> Result<Value, String> {
    let typed = match predicate_type {
        // The closing parenthesis is cosign's typo, kept: the message is part of the interface.
        "slsaprovenance" => Some((
            &shapes::PROVENANCE_STATEMENT_SLSA02,
            "unmarshaling ProvenanceStatementSLSA02)",
        )),
        "spdx" | "spdxjson" => Some((&shapes::SPDX_STATEMENT, "unmarshaling SPDXStatement")),
        "cyclonedx" => Some((
            &shapes::CYCLONEDX_STATEMENT,
            "unmarshaling CycloneDXStatement",
        )),
        "link" => Some((&shapes::LINK_STATEMENT, "unmarshaling LinkStatement")),
        "vuln" => Some((
            &shapes::COSIGN_VULN_STATEMENT,
            "unmarshaling CosignVulnStatement",
        )),
        _ => None,
    };
    // cosign always decodes the generic statement first; its errors win.
    let generic = reencode(statement, &shapes::STATEMENT)
        .map_err(|f| f.render("unmarshal in-toto statement", "generating Statement"))?;
    let Some((typed, decoding)) = typed else {
        return Ok(generic);
    };
    // Freed before the typed copy is built: a statement is held at most twice.
    drop(generic);
    reencode(statement, typed)
        .map_err(|f| f.render(decoding, &format!("marshaling {}", typed.name)))
}

enum Failure {
    Decode(String),
    Marshal(String),
}

impl Failure {
    fn render(self, decoding: &str, encoding: &str) -> String {
        match self {
            Failure::Decode(e) => format!("{decoding}: {e}"),
            Failure::Marshal(e) => format!("{encoding}: {e}"),
        }
    }
}

fn reencode(statement: &Value, go_struct: &'static GoStruct) -> Result<Value, Failure> {
    let mut decoder = Decoder::default();
    let document = decoder.value(statement, &Shape::Struct(go_struct), 0)?;
    if let Some(e) = decoder.type_error {
        return Err(Failure::Decode(e));
    }
    if let Some(e) = decoder.marshal_error {
        return Err(Failure::Marshal(e));
    }
    Ok(document)
}

/// Decodes and encodes in one walk. Go keeps decoding after a type mismatch and reports the first
/// one at the end, but stops at once when a `time.Time` refuses its input; the encoding errors
/// only surface when decoding succeeded.
#[derive(Default)]
struct Decoder {
    type_error: Option<String>,
    marshal_error: Option<String>,
    /// The JSON field names from the top, as Go's error context prints them.
    path: Vec<&'static str>,
    /// The struct whose field is being decoded.
    within: Option<&'static str>,
}

impl Decoder {
    fn value(&mut self, v: &Value, shape: &Shape, depth: usize) -> Result<Value, Failure> {
        if depth > MAX_DEPTH {
            return Err(too_deep());
        }
        Ok(match shape {
            Shape::String => match v {
                Value::String(_) => v.clone(),
                _ => self.zero_unless_null(v, shape, Value::from("")),
            },
            Shape::Bool => match v {
                Value::Bool(_) => v.clone(),
                _ => self.zero_unless_null(v, shape, Value::Bool(false)),
            },
            Shape::Any => go_any(v, depth)?,
            Shape::Time => self.time(v, "time.Time")?,
            Shape::Ptr(_) if v.is_null() => Value::Null,
            Shape::Ptr(Shape::Time) => self.time(v, "*time.Time")?,
            Shape::Ptr(inner) => self.value(v, inner, depth)?,
            Shape::Map(elem, _) => match v {
                Value::Object(o) => {
                    let mut out = Map::new();
                    for (k, x) in o {
                        out.insert(k.clone(), self.value(x, elem, depth + 1)?);
                    }
                    Value::Object(out)
                }
                _ => self.zero_unless_null(v, shape, Value::Null),
            },
            Shape::List(elem, _) => match v {
                Value::Array(a) => Value::Array(
                    a.iter()
                        .map(|x| self.value(x, elem, depth + 1))
                        .collect::<Result<_, _>>()?,
                ),
                _ => self.zero_unless_null(v, shape, Value::Null),
            },
            Shape::Struct(s) => self.go_struct(v, s, depth)?,
        })
    }

    fn go_struct(
        &mut self,
        v: &Value,
        go_struct: &'static GoStruct,
        depth: usize,
    ) -> Result<Value, Failure> {
        let empty = Map::new();
        let object = match v {
            Value::Object(o) => o,
            _ => {
                self.zero_unless_null(v, &Shape::Struct(go_struct), Value::Null);
                &empty
            }
        };
        let embedded = go_struct
            .embedded
            .iter()
            .flat_map(|(via, fields)| fields.iter().map(move |f| (Some(*via), f)));
        let own = go_struct.fields.iter().map(|f| (None, f));
        let fields: Vec<_> = embedded.chain(own).collect();
        let found = lookup(object, fields.iter().map(|(_, f)| f.json));
        let mut out = Map::new();
        for ((via, field), found) in fields.into_iter().zip(found) {
            let (path, within) = (self.path.len(), self.within);
            // Since Go 1.24 an embedded struct's Go name is part of the error's field path.
            self.path.extend(via);
            self.path.push(field.json);
            self.within = Some(go_struct.name);
            let value = self.value(found.unwrap_or(&Value::Null), &field.shape, depth + 1);
            self.path.truncate(path);
            self.within = within;
            let value = value?;
            if !(field.omitempty && empty_in_go(&field.shape, &value)) {
                out.insert(field.json.to_string(), value);
            }
        }
        Ok(Value::Object(out))
    }

    fn time(&mut self, v: &Value, go_type: &str) -> Result<Value, Failure> {
        match v {
            Value::Null => Ok(Value::from(go_time::ZERO)),
            Value::String(s) => match go_time::parse(s).map_err(Failure::Decode)?.marshal() {
                Ok(text) => Ok(Value::String(text)),
                Err(e) => {
                    self.marshal_error.get_or_insert_with(|| {
                        format!("json: error calling MarshalJSON for type {go_type}: {e}")
                    });
                    Ok(Value::from(go_time::ZERO))
                }
            },
            _ => Err(Failure::Decode(
                "Time.UnmarshalJSON: input is not a JSON string".to_string(),
            )),
        }
    }

    /// Null leaves a Go value at its zero value; any other kind that does not fit is a type error.
    fn zero_unless_null(&mut self, v: &Value, shape: &Shape, zero: Value) -> Value {
        if !v.is_null() && self.type_error.is_none() {
            let into = match self.within {
                Some(s) => format!("Go struct field {s}.{}", self.path.join(".")),
                None => "Go value".to_string(),
            };
            self.type_error = Some(crate::go_json::unmarshal_error(v, &into, shape.go_type()));
        }
        zero
    }
}

fn too_deep() -> Failure {
    Failure::Decode(format!("exceeded max depth ({MAX_DEPTH} levels)"))
}

/// `interface{}` decoded and encoded again: only numbers change.
fn go_any(v: &Value, depth: usize) -> Result<Value, Failure> {
    if depth > MAX_DEPTH {
        return Err(too_deep());
    }
    Ok(match v {
        Value::Number(n) => go_float(n),
        Value::Array(a) => Value::Array(
            a.iter()
                .map(|x| go_any(x, depth + 1))
                .collect::<Result<_, _>>()?,
        ),
        Value::Object(o) => Value::Object(
            o.iter()
                .map(|(k, x)| Ok((k.clone(), go_any(x, depth + 1)?)))
                .collect::<Result<_, _>>()?,
        ),
        _ => v.clone(),
    })
}

/// A JSON number as Go writes back a float64: integral values below 1e21 as integer digits
/// (the shortest that round-trip, padded with zeros), others as floats.
fn go_float(n: &Number) -> Value {
    const EXACT: i64 = 1 << 53;
    if let Some(i) = n.as_i64().filter(|i| (-EXACT..=EXACT).contains(i)) {
        return Value::from(i);
    }
    let Some(f) = n.as_f64() else {
        return Value::Number(n.clone());
    };
    if f.fract() == 0.0 && f.abs() < 1e21 {
        // Rust prints the shortest round-tripping digits without an exponent, as Go's 'f' does.
        let digits = format!("{f}");
        if let Ok(i) = digits.parse::<i64>() {
            return Value::from(i);
        }
        if let Ok(u) = digits.parse::<u64>() {
            return Value::from(u);
        }
    }
    Number::from_f64(f).map_or(Value::Null, Value::Number)
}

/// Go's `omitempty` test: structs (and so times) are never empty.
fn empty_in_go(shape: &Shape, v: &Value) -> bool {
    match shape {
        Shape::String => v.as_str() == Some(""),
        Shape::Bool => v == &Value::Bool(false),
        Shape::Any | Shape::Ptr(_) => v.is_null(),
        Shape::Map(..) => v.as_object().is_none_or(Map::is_empty),
        Shape::List(..) => v.as_array().is_none_or(Vec::is_empty),
        Shape::Time | Shape::Struct(_) => false,
    }
}

/// The value Go decodes into each struct field: the exact key, else one equal under Go's case
/// folding (the first in key order: Go takes duplicates in document order, which a parsed map no
/// longer has). One pass over the keys whatever the number of fields.
fn lookup(
    object: &Map<String, Value>,
    names: impl Iterator<Item = &'static str>,
) -> Vec<Option<&Value>> {
    let names: Vec<&str> = names.collect();
    let mut found: Vec<Option<&Value>> = names.iter().map(|n| object.get(*n)).collect();
    let missing = found.iter().filter(|f| f.is_none()).count();
    if missing == 0 || object.len() <= names.len() - missing {
        return found;
    }
    for (key, value) in object {
        for (name, slot) in names.iter().zip(found.iter_mut()) {
            if slot.is_none() && key.chars().map(fold).eq(name.chars().map(fold)) {
                *slot = Some(value);
            }
        }
    }
    found
}

/// Go folds a key rune by rune to upper(lower(r)); only these non-ASCII runes fold into ASCII.
fn fold(c: char) -> char {
    match c {
        '\u{212A}' => 'K',
        '\u{017F}' => 'S',
        '\u{0130}' | '\u{0131}' => 'I',
        c => c.to_ascii_uppercase(),
    }
}
