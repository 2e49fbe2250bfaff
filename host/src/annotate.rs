//! `annotate`: kwctl's `annotate` (`crates/kwctl/src/annotate.rs`): metadata.yml, checked
//! and completed, written as JSON into the `io.kubewarden.metadata` custom section.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};

pub const SECTION: &str = "io.kubewarden.metadata";
pub const KWCTL_ANNOTATION: &str = "io.kubewarden.kwctl";
pub const USAGE_ANNOTATION: &str = "io.kubewarden.policy.usage";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Rule {
    pub api_groups: Vec<String>,
    pub api_versions: Vec<String>,
    pub resources: Vec<String>,
    pub operations: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContextAwareResource {
    pub api_version: String,
    pub kind: String,
}

fn default_true() -> bool {
    true
}
fn default_execution_mode() -> String {
    "kubewarden-wapc".into()
}
fn default_policy_type() -> String {
    "kubernetes".into()
}

/// kwctl's `Metadata` (camelCase; unknown keys ignored).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Metadata {
    #[serde(default)]
    pub protocol_version: Option<String>,
    pub rules: Vec<Rule>,
    #[serde(default)]
    pub annotations: Option<BTreeMap<String, String>>,
    pub mutating: bool,
    #[serde(default = "default_true")]
    pub background_audit: bool,
    #[serde(default)]
    pub context_aware_resources: Vec<ContextAwareResource>,
    #[serde(default = "default_execution_mode")]
    pub execution_mode: String,
    #[serde(default = "default_policy_type")]
    pub policy_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub minimum_kubewarden_version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_capabilities: Option<Vec<String>>,
}

fn check_list(errors: &mut Vec<String>, i: usize, field: &str, list: &[String]) {
    if list.is_empty() {
        errors.push(format!("rules[{i}].{field} must not be empty"));
    }
    if list.len() > 1 && list.iter().any(|s| s == "*") {
        errors.push(format!("rules[{i}].{field}: '*' must be the only entry"));
    }
}

impl Metadata {
    pub fn parse(yaml: &str) -> Result<Self> {
        Ok(serde_yaml::from_str(yaml)?)
    }

    /// kwctl's checks of the rules and execution settings.
    pub fn validate(&self) -> Result<()> {
        let mut errors = Vec::new();
        if self.rules.is_empty() {
            errors.push("rules must not be empty".to_string());
        }
        for (i, rule) in self.rules.iter().enumerate() {
            check_list(&mut errors, i, "apiGroups", &rule.api_groups);
            check_list(&mut errors, i, "apiVersions", &rule.api_versions);
            check_list(&mut errors, i, "resources", &rule.resources);
            check_list(&mut errors, i, "operations", &rule.operations);
            if rule.api_versions.iter().any(|v| v.is_empty()) {
                errors.push(format!("rules[{i}].apiVersions: empty entry"));
            }
            if rule.resources.iter().any(|r| r.is_empty()) {
                errors.push(format!("rules[{i}].resources: empty entry"));
            }
            for op in &rule.operations {
                if !["CREATE", "UPDATE", "DELETE", "CONNECT", "*"].contains(&op.as_str()) {
                    errors.push(format!("rules[{i}].operations: unknown operation {op}"));
                }
            }
        }
        if !["kubewarden-wapc", "opa", "gatekeeper", "wasi"].contains(&self.execution_mode.as_str())
        {
            errors.push(format!("unknown executionMode {}", self.execution_mode));
        }
        if !["kubernetes", "raw"].contains(&self.policy_type.as_str()) {
            errors.push(format!("unknown policyType {}", self.policy_type));
        }
        if !errors.is_empty() {
            bail!("invalid metadata: {}", errors.join("; "));
        }
        Ok(())
    }
}

/// Reads LEB128 u32 at `pos`.
fn read_u32(bytes: &[u8], pos: &mut usize) -> Result<u32> {
    let mut result: u32 = 0;
    for shift in (0..35).step_by(7) {
        let byte = *bytes.get(*pos).context("truncated Wasm module")?;
        *pos += 1;
        result |= u32::from(byte & 0x7f)
            .checked_shl(shift)
            .context("bad LEB128 in Wasm module")?;
        if byte & 0x80 == 0 {
            return Ok(result);
        }
    }
    bail!("bad LEB128 in Wasm module")
}

fn write_u32(out: &mut Vec<u8>, mut value: u32) {
    loop {
        let byte = (value & 0x7f) as u8;
        value >>= 7;
        if value == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

struct Section<'a> {
    id: u8,
    /// The whole section, header included.
    raw: &'a [u8],
    /// The name, for custom sections.
    name: Option<&'a str>,
    /// The payload after the name, for custom sections.
    data: &'a [u8],
}

fn sections(wasm: &[u8]) -> Result<Vec<Section<'_>>> {
    if wasm.get(0..8) != Some(b"\0asm\x01\0\0\0".as_slice()) {
        bail!("not a Wasm core module (version 1)");
    }
    let past_end = || anyhow::anyhow!("a Wasm section runs past the end of the module");
    let mut pos = 8;
    let mut out = Vec::new();
    while let Some(&id) = wasm.get(pos) {
        let start = pos;
        pos += 1;
        let size = read_u32(wasm, &mut pos)? as usize;
        let end = pos
            .checked_add(size)
            .filter(|e| *e <= wasm.len())
            .ok_or_else(past_end)?;
        let body = wasm.get(pos..end).ok_or_else(past_end)?;
        let (name, data) = if id == 0 {
            let mut p = 0;
            let len = read_u32(body, &mut p)? as usize;
            let name_end = p
                .checked_add(len)
                .filter(|e| *e <= body.len())
                .context("bad custom section name")?;
            let name = body.get(p..name_end).context("bad custom section name")?;
            let name = std::str::from_utf8(name).context("custom section name is not UTF-8")?;
            (Some(name), body.get(name_end..).unwrap_or_default())
        } else {
            (None, body)
        };
        out.push(Section {
            id,
            raw: wasm.get(start..end).ok_or_else(past_end)?,
            name,
            data,
        });
        pos = end;
    }
    Ok(out)
}

/// Returns the module with `data` as its only custom section named `name` (appended last).
pub fn replace_custom_section(wasm: &[u8], name: &str, data: &[u8]) -> Result<Vec<u8>> {
    let sections = sections(wasm)?;
    // sections() checked the 8-byte header
    let mut out = wasm.get(..8).unwrap_or_default().to_vec();
    for section in sections {
        if section.id == 0 && section.name == Some(name) {
            continue;
        }
        out.extend_from_slice(section.raw);
    }
    let mut content = Vec::new();
    write_u32(
        &mut content,
        u32::try_from(name.len()).context("name too long")?,
    );
    content.extend_from_slice(name.as_bytes());
    content.extend_from_slice(data);
    out.push(0);
    write_u32(
        &mut out,
        u32::try_from(content.len()).context("custom section too large")?,
    );
    out.extend_from_slice(&content);
    Ok(out)
}

/// The metadata of an annotated module, if any.
pub fn read_metadata(wasm: &[u8]) -> Result<Option<Metadata>> {
    for section in sections(wasm)? {
        if section.id == 0 && section.name == Some(SECTION) {
            return Ok(Some(
                serde_json::from_slice(section.data)
                    .context("cannot parse the metadata section")?,
            ));
        }
    }
    Ok(None)
}

/// Completes `metadata` as kwctl does. `protocol_version` is what the module's waPC export
/// `protocol_version` returned.
pub fn complete_metadata(
    mut metadata: Metadata,
    protocol_version: &str,
    usage: Option<String>,
) -> Result<Metadata> {
    if protocol_version != "v1" {
        bail!("unsupported waPC protocol version {protocol_version:?} (expected \"v1\")");
    }
    metadata.protocol_version = Some(protocol_version.to_string());
    let annotations = metadata.annotations.get_or_insert_with(BTreeMap::new);
    annotations.insert(
        KWCTL_ANNOTATION.to_string(),
        format!("cip-host {}", env!("CARGO_PKG_VERSION")),
    );
    if let Some(usage) = usage {
        annotations.insert(USAGE_ANNOTATION.to_string(), usage);
    }
    metadata.validate()?;
    Ok(metadata)
}

/// `cip-host annotate -m metadata.yml [-u README.md] -o out.wasm in.wasm`.
pub fn annotate(
    wasm_path: &Path,
    metadata_path: &Path,
    usage_path: Option<&Path>,
    output: &Path,
) -> Result<()> {
    let metadata_text = std::fs::read_to_string(metadata_path)
        .with_context(|| format!("cannot read {}", metadata_path.display()))?;
    let metadata = Metadata::parse(&metadata_text)
        .with_context(|| format!("cannot parse {}", metadata_path.display()))?;
    let usage = match usage_path {
        Some(p) => Some(
            std::fs::read_to_string(p).with_context(|| format!("cannot read {}", p.display()))?,
        ),
        None => None,
    };
    let wasm =
        std::fs::read(wasm_path).with_context(|| format!("cannot read {}", wasm_path.display()))?;
    let evaluator = crate::Evaluator::from_bytes(
        &wasm,
        crate::HostOptions {
            replay_path: None,
            timeout: Some(std::time::Duration::from_secs(10)),
            ..Default::default()
        },
        crate::EngineOptions {
            allowed_host_capabilities: Vec::new(),
            wasmtime_cache: true,
        },
    )?;
    let version = evaluator.protocol_version()?;
    let metadata = complete_metadata(metadata, &version, usage)?;
    if metadata.host_capabilities.is_none() {
        crate::warn(
            "metadata has no hostCapabilities: the policy will be granted every host capability",
        );
    }
    let json = serde_json::to_vec(&metadata).context("cannot serialize the metadata")?;
    let annotated = replace_custom_section(&wasm, SECTION, &json)?;
    std::fs::write(output, annotated)
        .with_context(|| format!("cannot write {}", output.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    pub const METADATA: &str = r#"
rules:
- apiGroups: [""]
  apiVersions: ["v1"]
  resources: ["pods"]
  operations: ["CREATE", "UPDATE"]
mutating: true
contextAware: false
executionMode: kubewarden-wapc
hostCapabilities: [oci/v1/manifest_digest]
annotations:
  io.kubewarden.policy.title: cluster-image-policy
"#;

    // A minimal module: the header plus an empty type section.
    const MODULE: &[u8] = b"\0asm\x01\0\0\0\x01\x01\x00";

    #[test]
    fn metadata_defaults_and_completion() {
        let m = complete_metadata(
            Metadata::parse(METADATA).unwrap(),
            "v1",
            Some("# hi".into()),
        )
        .unwrap();
        assert_eq!(m.protocol_version.as_deref(), Some("v1"));
        assert!(m.background_audit);
        assert_eq!(m.policy_type, "kubernetes");
        let a = m.annotations.unwrap();
        assert_eq!(a[USAGE_ANNOTATION], "# hi");
        assert!(a[KWCTL_ANNOTATION].starts_with("cip-host "));
        assert_eq!(a["io.kubewarden.policy.title"], "cluster-image-policy");
    }

    #[test]
    fn metadata_errors() {
        assert!(Metadata::parse("mutating: true\n").is_err());
        assert!(Metadata::parse("rules: []\n").is_err());
        let bad = METADATA.replace("[\"CREATE\", \"UPDATE\"]", "[\"CREATE\", \"*\"]");
        assert!(complete_metadata(Metadata::parse(&bad).unwrap(), "v1", None).is_err());
        let bad = METADATA.replace("[\"CREATE\", \"UPDATE\"]", "[\"PATCH\"]");
        assert!(complete_metadata(Metadata::parse(&bad).unwrap(), "v1", None).is_err());
        assert!(complete_metadata(Metadata::parse(METADATA).unwrap(), "Unknown", None).is_err());
    }

    #[test]
    fn section_round_trip_with_wasmparser() {
        let m = complete_metadata(Metadata::parse(METADATA).unwrap(), "v1", None).unwrap();
        let json = serde_json::to_vec(&m).unwrap();
        let once = replace_custom_section(MODULE, SECTION, b"old").unwrap();
        let twice = replace_custom_section(&once, SECTION, &json).unwrap();
        // exactly one section with that name, and it holds the new metadata
        let mut found = Vec::new();
        for payload in wasmparser::Parser::new(0).parse_all(&twice) {
            if let wasmparser::Payload::CustomSection(reader) = payload.unwrap() {
                if reader.name() == SECTION {
                    found.push(reader.data().to_vec());
                }
            }
        }
        assert_eq!(found, vec![json]);
        wasmparser::Validator::new().validate_all(&twice).unwrap();
        assert_eq!(read_metadata(&twice).unwrap(), Some(m));
        assert_eq!(read_metadata(MODULE).unwrap(), None);
        assert!(replace_custom_section(b"nope", SECTION, b"").is_err());
        assert!(replace_custom_section(b"\0asm\x01\0\0\0\x01\x09\x00", SECTION, b"").is_err());
    }
}
