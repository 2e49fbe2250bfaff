//! An image config re-encoded as go-containerregistry's `v1.ConfigFile` marshals it, which is
//! what policy-controller puts under `config` (reference Errata 11): known fields only, in the
//! struct's order, empty `omitempty` fields dropped, `created` always present.

use serde_json::{Map, Value};

#[derive(Clone, Copy)]
enum Kind {
    Str,
    Bool,
    Int,
    Time,
    Strings,
    Labels,
    /// `map[string]struct{}`: the keys survive, each value becomes `{}`.
    Set,
    Object(&'static [Field]),
    List(&'static [Field]),
}

/// A Go struct field: its JSON name, its kind, and whether it is `omitempty` (a struct-typed
/// field such as `created` is never omitted).
type Field = (&'static str, Kind, bool);

const HEALTH: &[Field] = &[
    ("Test", Kind::Strings, true),
    ("Interval", Kind::Int, true),
    ("Timeout", Kind::Int, true),
    ("StartPeriod", Kind::Int, true),
    ("StartInterval", Kind::Int, true),
    ("Retries", Kind::Int, true),
];

const CONFIG: &[Field] = &[
    ("AttachStderr", Kind::Bool, true),
    ("AttachStdin", Kind::Bool, true),
    ("AttachStdout", Kind::Bool, true),
    ("Cmd", Kind::Strings, true),
    ("Healthcheck", Kind::Object(HEALTH), true),
    ("Domainname", Kind::Str, true),
    ("Entrypoint", Kind::Strings, true),
    ("Env", Kind::Strings, true),
    ("Hostname", Kind::Str, true),
    ("Image", Kind::Str, true),
    ("Labels", Kind::Labels, true),
    ("OnBuild", Kind::Strings, true),
    ("OpenStdin", Kind::Bool, true),
    ("StdinOnce", Kind::Bool, true),
    ("Tty", Kind::Bool, true),
    ("User", Kind::Str, true),
    ("Volumes", Kind::Set, true),
    ("WorkingDir", Kind::Str, true),
    ("ExposedPorts", Kind::Set, true),
    ("ArgsEscaped", Kind::Bool, true),
    ("NetworkDisabled", Kind::Bool, true),
    ("MacAddress", Kind::Str, true),
    ("StopSignal", Kind::Str, true),
    ("Shell", Kind::Strings, true),
];

const HISTORY: &[Field] = &[
    ("author", Kind::Str, true),
    ("created", Kind::Time, false),
    ("created_by", Kind::Str, true),
    ("comment", Kind::Str, true),
    ("empty_layer", Kind::Bool, true),
];

const ROOTFS: &[Field] = &[
    ("type", Kind::Str, false),
    ("diff_ids", Kind::Strings, false),
];

const CONFIG_FILE: &[Field] = &[
    ("architecture", Kind::Str, false),
    ("author", Kind::Str, true),
    ("container", Kind::Str, true),
    ("created", Kind::Time, false),
    ("docker_version", Kind::Str, true),
    ("history", Kind::List(HISTORY), true),
    ("os", Kind::Str, false),
    ("rootfs", Kind::Object(ROOTFS), false),
    ("config", Kind::Object(CONFIG), false),
    ("os.version", Kind::Str, true),
    ("variant", Kind::Str, true),
    ("os.features", Kind::Strings, true),
];

const ZERO_TIME: &str = "0001-01-01T00:00:00Z";

/// The re-encoded config, or Go's unmarshal complaint naming the field.
pub fn reencode(config: &Value) -> Result<Value, String> {
    object(config, CONFIG_FILE, "ConfigFile")
}

/// `{os}/{arch}[/{variant}][:{os.version}]`, `""` without an OS (ggcr's `Platform.String`).
pub fn platform(config: &Value) -> String {
    let text = |k: &str| config.get(k).and_then(Value::as_str).unwrap_or("");
    let os = text("os");
    if os.is_empty() {
        return String::new();
    }
    let mut out = os.to_string();
    for (sep, key) in [("/", "architecture"), ("/", "variant"), (":", "os.version")] {
        if !text(key).is_empty() {
            out.push_str(sep);
            out.push_str(text(key));
        }
    }
    out
}

fn object(value: &Value, fields: &[Field], go_type: &str) -> Result<Value, String> {
    let empty = Map::new();
    let source = match value {
        Value::Object(o) => o,
        Value::Null => &empty,
        other => return Err(type_error(other, go_type, "object")),
    };
    let mut out = Map::new();
    for &(name, kind, omitempty) in fields {
        let given = source.get(name).unwrap_or(&Value::Null);
        let encoded = field(given, kind, &format!("{go_type}.{name}"))?;
        if omitempty && is_empty(&encoded) {
            continue;
        }
        out.insert(name.to_string(), encoded);
    }
    Ok(Value::Object(out))
}

fn field(value: &Value, kind: Kind, path: &str) -> Result<Value, String> {
    let wrong = |want: &str| Err(type_error(value, path, want));
    match (kind, value) {
        (Kind::Str, Value::Null) => Ok(Value::String(String::new())),
        (Kind::Str | Kind::Time, Value::String(s)) => Ok(Value::String(s.clone())),
        (Kind::Time, Value::Null) => Ok(Value::String(ZERO_TIME.into())),
        (Kind::Bool, Value::Null) => Ok(Value::Bool(false)),
        (Kind::Bool, Value::Bool(b)) => Ok(Value::Bool(*b)),
        (Kind::Int, Value::Null) => Ok(Value::from(0)),
        (Kind::Int, Value::Number(n)) if n.is_i64() => Ok(Value::Number(n.clone())),
        (Kind::Strings | Kind::Labels | Kind::Set | Kind::List(_), Value::Null) => Ok(Value::Null),
        (Kind::Strings, Value::Array(items)) => items
            .iter()
            .map(|i| match i {
                Value::String(_) => Ok(i.clone()),
                other => Err(type_error(other, path, "string")),
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Value::Array),
        (Kind::Labels, Value::Object(map)) => map
            .iter()
            .map(|(k, v)| match v {
                Value::String(_) => Ok((k.clone(), v.clone())),
                other => Err(type_error(other, path, "string")),
            })
            .collect::<Result<Map<_, _>, _>>()
            .map(Value::Object),
        (Kind::Set, Value::Object(map)) => Ok(Value::Object(
            map.keys()
                .map(|k| (k.clone(), Value::Object(Map::new())))
                .collect(),
        )),
        (Kind::Object(fields), v) => object(v, fields, path),
        (Kind::List(fields), Value::Array(items)) => items
            .iter()
            .map(|i| object(i, fields, path))
            .collect::<Result<Vec<_>, _>>()
            .map(Value::Array),
        (Kind::Str | Kind::Time, _) => wrong("string"),
        (Kind::Bool, _) => wrong("bool"),
        (Kind::Int, _) => wrong("int64"),
        (Kind::Strings, _) => wrong("[]string"),
        (Kind::Labels, _) => wrong("map[string]string"),
        (Kind::Set, _) => wrong("map[string]struct {}"),
        (Kind::List(_), _) => wrong("[]v1.History"),
    }
}

/// Go's `omitempty`: false, 0, "", and empty or nil slices and maps.
fn is_empty(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::Bool(b) => !b,
        Value::Number(n) => n.as_f64() == Some(0.0),
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
    }
}

fn type_error(value: &Value, path: &str, want: &str) -> String {
    crate::go_json::unmarshal_error(value, &format!("Go struct field {path}"), want)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn known_fields_in_struct_order_with_go_zero_values() {
        let config = json!({"architecture": "amd64", "os": "linux", "config": {"User": "1000", "Env": []},
            "rootfs": {"type": "layers", "diff_ids": ["sha256:aa"]}, "unknown": 1});
        assert_eq!(
            reencode(&config).unwrap(),
            json!({"architecture": "amd64", "created": "0001-01-01T00:00:00Z", "os": "linux",
                "rootfs": {"type": "layers", "diff_ids": ["sha256:aa"]}, "config": {"User": "1000"}})
        );
        assert_eq!(
            reencode(&json!({})).unwrap(),
            json!({"architecture": "", "created": "0001-01-01T00:00:00Z", "os": "",
                "rootfs": {"type": "", "diff_ids": null}, "config": {}})
        );
    }

    #[test]
    fn platform_strings() {
        assert_eq!(
            platform(&json!({"os": "linux", "architecture": "arm", "variant": "v7"})),
            "linux/arm/v7"
        );
        assert_eq!(
            platform(
                &json!({"os": "windows", "architecture": "amd64", "os.version": "10.0.17763"})
            ),
            "windows/amd64:10.0.17763"
        );
        assert_eq!(platform(&json!({"architecture": "amd64"})), "");
    }

    #[test]
    fn wrong_types_name_the_go_field() {
        assert_eq!(
            reencode(&json!({"architecture": 5})).unwrap_err(),
            "json: cannot unmarshal number into Go struct field ConfigFile.architecture of type string"
        );
        assert_eq!(
            reencode(&json!({"config": {"Labels": {"a": 1}}})).unwrap_err(),
            "json: cannot unmarshal number into Go struct field ConfigFile.config.Labels of type string"
        );
    }
}
