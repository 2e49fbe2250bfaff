//! Attestation authorities: the host verifies the image's in-toto attestations (DSSE, key or
//! keyless) and returns the statements of one predicate type; every listed attestation must be
//! satisfied by at least one of them (its CUE or Rego policy passing when it has one). The predicate
//! type is checked again here: a signed attestation of another type never satisfies a
//! requirement (policy-controller's CVE-2022-35930 class).

use super::certificate;
use super::host::{Host, HostError, HostFailure, VerifyRequest};
use super::identity;
use super::signatures::{self, DSSE_ENVELOPE};
use super::verifier::{self, AuthorityMatch, Image};
use crate::cip::compile::{
    AuthorityKind, CompiledAttestation, CompiledAuthority, CompiledIdentity,
};
use serde_json::Value;

pub fn evaluate(
    authority: &CompiledAuthority,
    image: Image<'_>,
    host: &mut dyn Host,
) -> Result<AuthorityMatch, String> {
    let kind = verifier::kind_word(&authority.kind);
    let failed = |reason: &str| {
        format!(
            "attestation {kind} validation failed for authority {} for {}: {reason}",
            authority.name,
            image.name()
        )
    };
    let verifiers = verifiers(authority, image, host).map_err(|r| failed(&r))?;
    for wanted in &authority.attestations {
        let mut statements = Vec::new();
        let mut errors = Vec::new();
        for verifier in &verifiers {
            match host.verify_attestations(&image.name(), &wanted.predicate_uri, verifier) {
                Ok(found) => {
                    let (about, other): (Vec<Value>, Vec<Value>) = found
                        .into_iter()
                        .partition(|s| names_digest(s, image.digest));
                    if !other.is_empty() {
                        errors.push(HostError::none_verifies(format!(
                            "the host returned {} statement(s) whose subject does not name {}",
                            other.len(),
                            image.digest
                        )));
                    }
                    statements.extend(about);
                }
                Err(e) => errors.push(e),
            }
        }
        statements.retain(|s| {
            s.get("predicateType").and_then(Value::as_str) == Some(&wanted.predicate_uri)
        });
        if statements.is_empty() {
            return Err(unsatisfied(wanted, &errors, &failed));
        }
        satisfied(wanted, &statements)?;
    }
    Ok(AuthorityMatch::Attestations)
}

/// The host requests that stand for this authority: one per key or exact identity; for regular
/// expressions or a custom CA, one per certificate of the `.att` layers that qualifies.
fn verifiers(
    authority: &CompiledAuthority,
    image: Image<'_>,
    host: &mut dyn Host,
) -> Result<Vec<VerifyRequest>, String> {
    if let Some(requests) = verifier::requests(authority, &image.name()) {
        return Ok(requests);
    }
    match &authority.kind {
        AuthorityKind::Keyless {
            identities,
            ca_cert,
        } => certificate_verifiers(identities, ca_cert.as_deref(), image, host),
        _ => Ok(Vec::new()),
    }
}

fn certificate_verifiers(
    identities: &[CompiledIdentity],
    ca_cert: Option<&str>,
    image: Image<'_>,
    host: &mut dyn Host,
) -> Result<Vec<VerifyRequest>, String> {
    let tag = signatures::attestation_tag(image.repo, image.digest);
    let layers = verifier::read_layers(host, &tag, DSSE_ENVELOPE, "attestations")?;
    if layers.is_empty() {
        return Err("no matching attestations: ".to_string());
    }
    let mut verifiers = Vec::new();
    let mut reasons = Vec::new();
    for layer in &layers {
        let Some(pem) = layer.certificate.as_deref() else {
            continue;
        };
        let cert = match certificate::identity_from_pem(pem) {
            Ok(c) => c,
            Err(e) => {
                reasons.push(format!("invalid signing certificate: {e}"));
                continue;
            }
        };
        let pairs: Vec<_> = identities
            .iter()
            .filter_map(|id| identity::matching_pair(id, &cert))
            .collect();
        if pairs.is_empty() {
            reasons.push(identity::mismatch(&cert));
            continue;
        }
        match ca_cert {
            Some(ca) => match verifier::ca_trusted_request(host, image, layer, pem, ca) {
                Ok(request) => verifiers.push(request),
                Err(e) if e.kind == HostFailure::Untrusted => reasons.push(verifier::untrusted(&e)),
                Err(e) => reasons.push(e.to_string()),
            },
            None => {
                for (issuer, subject) in pairs {
                    let request = verifier::keyless_request(&image.name(), &issuer, &subject);
                    if !verifiers.contains(&request) {
                        verifiers.push(request);
                    }
                }
            }
        }
    }
    if verifiers.is_empty() {
        return Err(format!("no matching attestations: {}", reasons.join("\n ")));
    }
    Ok(verifiers)
}

/// Why no statement of the wanted type was verified, in policy-controller's words.
fn unsatisfied(
    wanted: &CompiledAttestation,
    errors: &[HostError],
    failed: &dyn Fn(&str) -> String,
) -> String {
    let mut seen: Vec<&str> = Vec::new();
    for error in errors {
        if let HostFailure::NoneOfType(types) = &error.kind {
            for t in types {
                if !seen.contains(&t.as_str()) {
                    seen.push(t);
                }
            }
        }
    }
    if !seen.is_empty() {
        return format!(
            "no matching attestations with type {}, checked the following predicateTypes: {:?}",
            wanted.predicate_type,
            seen.join(",")
        );
    }
    if errors.iter().all(|e| e.kind == HostFailure::NotFound) {
        return failed("no matching attestations: ");
    }
    let reasons: Vec<&str> = errors
        .iter()
        .filter_map(|e| match &e.kind {
            HostFailure::NoneVerifies(why) => Some(why.as_str()),
            _ => None,
        })
        .collect();
    if !reasons.is_empty() {
        return failed(&format!(
            "no matching attestations: {}",
            reasons.join("\n ")
        ));
    }
    let all = || {
        errors
            .iter()
            .map(HostError::reason)
            .collect::<Vec<_>>()
            .join("; ")
    };
    if errors
        .iter()
        .any(|e| e.kind == HostFailure::CapabilityMissing)
    {
        return failed(&format!(
            "the host does not provide the oci/v2/verify_attestations capability ({})",
            all()
        ));
    }
    failed(&all())
}

/// The host must only return statements about this image; the guest checks it again, so that a
/// host bug cannot become an admission. `digest` is `sha256:<hex>`.
fn names_digest(statement: &Value, digest: &str) -> bool {
    let Some((algorithm, hex)) = digest.split_once(':') else {
        return false;
    };
    statement
        .get("subject")
        .and_then(Value::as_array)
        .is_some_and(|subjects| {
            subjects.iter().any(|subject| {
                subject
                    .pointer(&format!("/digest/{algorithm}"))
                    .and_then(Value::as_str)
                    == Some(hex)
            })
        })
}

/// At least one statement must pass the attestation's policy; the first failure is reported.
fn satisfied(wanted: &CompiledAttestation, statements: &[Value]) -> Result<(), String> {
    let mut first_error = None;
    for statement in statements {
        // cosign decodes every statement of the wanted type, policy or not: one that does not
        // fit the short name's struct fails.
        let result = policy_input(statement, &wanted.predicate_type).and_then(|document| {
            match &wanted.policy {
                Some(policy) => policy.evaluate(&document, &wanted.name),
                None => Ok(()),
            }
        });
        match result {
            Ok(()) => return Ok(()),
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    Err(first_error.unwrap_or_default())
}

/// The in-toto Statement as cosign hands it to policies: re-encoded through the Go struct that
/// the predicate type, as written in the CIP, selects.
fn policy_input(statement: &Value, predicate_type: &str) -> Result<Value, String> {
    super::statement::policy_document(statement, predicate_type)
}

#[cfg(test)]
mod tests {
    use super::names_digest;
    use serde_json::json;

    const HEX: &str = "91fb3c897e7217e5220c4f0516d031d69ef24f3733cbdda4d311173701074f29";

    #[test]
    fn a_statement_must_name_the_judged_digest() {
        let digest = format!("sha256:{HEX}");
        let about = |subject| json!({"subject": subject});
        assert!(names_digest(
            &about(
                json!([{"name": "a", "digest": {"sha512": "x"}}, {"name": "b", "digest": {"sha256": HEX}}])
            ),
            &digest
        ));
        for subject in [
            json!([{"name": "a", "digest": {"sha256": "0".repeat(64)}}]),
            json!([{"name": "a", "digest": {"sha512": HEX}}]),
            json!([{"name": "a", "digest": {"sha256": HEX.to_uppercase()}}]),
            json!([]),
            json!({"digest": {"sha256": HEX}}),
            json!(null),
        ] {
            assert!(!names_digest(&about(subject.clone()), &digest), "{subject}");
        }
        assert!(!names_digest(&json!({}), &digest));
        assert!(!names_digest(
            &about(json!([{"digest": {"sha256": HEX}}])),
            HEX
        ));
    }
}
