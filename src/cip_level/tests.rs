use super::*;
use crate::admission::object::Object;
use crate::decide::decide;
use crate::settings::Settings;
use crate::test_host::FakeHost;
use serde_json::json;

const HEX: &str = "1111111111111111111111111111111111111111111111111111111111111111";
const REPO: &str = "127.0.0.1:5000/app";

fn settings(policy: Value, authorities: Value) -> Settings {
    let doc = json!({"policies": [{"name": "cip", "spec": {
        "images": [{"glob": "127.0.0.1:5000/**"}], "authorities": authorities, "policy": policy}}]});
    Settings::compile(doc.to_string().as_bytes()).unwrap()
}

fn cue(text: &str) -> Value {
    json!({"type": "cue", "data": text})
}

fn pod(labels: Value) -> crate::admission::request::AdmissionRequest {
    serde_json::from_value(json!({
        "uid": "u", "operation": "CREATE", "kind": {"group": "", "version": "v1", "kind": "Pod"},
        "object": {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "labels": labels},
            "spec": {"containers": [{"name": "c", "image": format!("{REPO}@sha256:{HEX}")}]}}
    }))
    .unwrap()
}

fn message(d: &crate::decide::Decision) -> &str {
    d.message.as_deref().unwrap_or("")
}

#[test]
fn the_policy_sees_only_passing_authorities_and_its_failure_follows_their_errors() {
    let s = settings(
        cue("authorityMatches: {...}\n_n: len([for k, _ in authorityMatches {k}])\nn: _n & 2"),
        json!([{"name": "no", "static": {"action": "fail", "message": "nope"}},
               {"name": "yes", "static": {"action": "pass"}}]),
    );
    let d = decide(&s, &pod(json!({})), &mut FakeHost::default());
    assert!(!d.allowed);
    assert_eq!(
        message(&d),
        format!("validation failed: failed policy: cip: spec.containers[0].image\n{REPO}@sha256:{HEX} disallowed by static policy: nope failed evaluating cue policy for ClusterImagePolicy: failed to evaluate the policy with error: n: conflicting values 2 and 1")
    );
}

#[test]
fn not_evaluated_when_no_authority_passed() {
    let s = settings(
        cue("never: 1 & 2"),
        json!([{"static": {"action": "fail", "message": "nope"}}]),
    );
    let d = decide(&s, &pod(json!({})), &mut FakeHost::default());
    assert_eq!(
        message(&d),
        format!("validation failed: failed policy: cip: spec.containers[0].image\n{REPO}@sha256:{HEX} disallowed by static policy: nope")
    );
}

#[test]
fn a_passing_policy_discards_the_failed_authorities_errors() {
    let s = settings(
        cue("authorityMatches: yes: static: true"),
        json!([{"name": "no", "static": {"action": "fail", "message": "nope"}},
               {"name": "yes", "static": {"action": "pass"}}]),
    );
    assert!(decide(&s, &pod(json!({})), &mut FakeHost::default()).allowed);
}

#[test]
fn rego_over_object_metadata_and_a_warning_fails() {
    let rego = |text: &str| json!({"type": "rego", "data": text, "includeObjectMeta": true});
    let s = settings(
        rego("package sigstore\ndefault isCompliant = false\nisCompliant { input.metadata.labels.team == \"a\"; input.metadata.creationTimestamp == null }"),
        json!([{"static": {"action": "pass"}}]),
    );
    assert!(decide(&s, &pod(json!({"team": "a"})), &mut FakeHost::default()).allowed);
    assert!(!decide(&s, &pod(json!({"team": "b"})), &mut FakeHost::default()).allowed);
    let s = settings(
        rego("package sigstore\nisCompliant[r] { r := {\"result\": true, \"error\": \"\", \"warning\": \"deprecated registry\"} }"),
        json!([{"static": {"action": "pass"}}]),
    );
    let d = decide(&s, &pod(json!({})), &mut FakeHost::default());
    // cosign hands the warning back on its own, and policy-controller fails the CIP with it
    assert_eq!(
        message(&d),
        format!("validation failed: failed policy: cip: spec.containers[0].image\n{REPO}@sha256:{HEX} warning: deprecated registry")
    );
}

#[test]
fn include_fields_follow_the_duck_types() {
    let deployment = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
        "spec": {"replicas": 2, "selector": {}, "template": {"spec": {}}, "strategy": {"type": "Recreate"}}});
    let text = deployment.to_string();
    let object = Object::new(&text);
    let w = Workload {
        kind: "Deployment",
        object: &object,
    };
    assert_eq!(
        w.spec(&deployment).unwrap(),
        json!({"replicas": 2, "selector": {}, "template": {"spec": {}}})
    );
    assert_eq!(
        w.type_meta(&deployment).unwrap(),
        json!({"kind": "Deployment", "apiVersion": "apps/v1"})
    );
    assert_eq!(
        Workload::metadata(&deployment).unwrap(),
        json!({"name": "d", "creationTimestamp": null})
    );
    let job = json!({"kind": "Job", "spec": {"template": {}, "backoffLimit": 3}});
    let w = Workload {
        kind: "Job",
        object: &object,
    };
    assert_eq!(w.spec(&job).unwrap(), json!({"template": {}}));
    let pod = json!({"apiVersion": "v1", "kind": "Pod", "spec": {"containers": []}});
    let w = Workload {
        kind: "Pod",
        object: &object,
    };
    assert_eq!(w.type_meta(&pod), None);
    assert_eq!(w.spec(&pod).unwrap(), json!({"containers": []}));
}

fn config_answer(digest: &str, arch: &str) -> Result<Vec<u8>, String> {
    Ok(
        json!({"manifest": {}, "digest": digest, "config": {"os": "linux", "architecture": arch}})
            .to_string()
            .into_bytes(),
    )
}

fn image() -> Image<'static> {
    Image {
        repo: REPO,
        digest: "sha256:1111111111111111111111111111111111111111111111111111111111111111",
    }
}

#[test]
fn config_of_an_image_is_one_host_call() {
    let mut host = FakeHost::default();
    host.configs
        .push_back(config_answer(image().digest, "amd64"));
    let configs = config::configs(image(), &mut host).unwrap();
    assert_eq!(configs.keys().collect::<Vec<_>>(), ["linux/amd64"]);
    assert_eq!(host.calls, [format!("config {REPO}@{}", image().digest)]);
}

#[test]
fn config_of_an_index_is_every_childs() {
    let child = |c: char| format!("sha256:{}", c.to_string().repeat(64));
    let mut host = FakeHost::default();
    host.configs.push_back(config_answer(&child('a'), "amd64"));
    host.manifests.push_back(Ok(
        json!({"mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [{"digest": child('a')}, {"digest": child('b')}]})
        .to_string()
        .into_bytes(),
    ));
    host.configs.push_back(config_answer(&child('a'), "amd64"));
    host.configs.push_back(config_answer(&child('b'), "arm64"));
    let configs = config::configs(image(), &mut host).unwrap();
    assert_eq!(
        configs.keys().collect::<Vec<_>>(),
        ["linux/amd64", "linux/arm64"]
    );
    assert_eq!(configs["linux/arm64"]["created"], "0001-01-01T00:00:00Z");
}

#[test]
fn config_failures_fail_closed_with_bounds() {
    let mut host = FakeHost::default();
    host.configs.push_back(Err("registry down".into()));
    host.manifests.push_back(Err("registry down".into()));
    assert_eq!(
        config::configs(image(), &mut host).unwrap_err(),
        [format!(
            "failed to get ref {REPO}@{} : registry down",
            image().digest
        )]
    );
    let many: Vec<Value> = (0..=MAX_CHILDREN)
        .map(|_| json!({"digest": image().digest}))
        .collect();
    let mut host = FakeHost::default();
    host.configs.push_back(Err("no platform".into()));
    host.manifests.push_back(Ok(
        json!({"mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": many})
        .to_string()
        .into_bytes(),
    ));
    let err = config::configs(image(), &mut host).unwrap_err();
    assert!(
        err[0].contains("more than the 64 this policy reads"),
        "{err:?}"
    );
    let mut host = FakeHost::default();
    host.configs.push_back(Err("no platform".into()));
    host.manifests.push_back(Ok(
        json!({"mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [{"digest": "sha256:../../etc"}]})
        .to_string()
        .into_bytes(),
    ));
    let err = config::configs(image(), &mut host).unwrap_err();
    assert!(
        err[0].starts_with("failed to get a ConfigFile: [failed to ParseReference for: "),
        "{err:?}"
    );
}

fn sig_manifest(layers: &[(&str, Option<&str>)]) -> Result<Vec<u8>, String> {
    use base64::Engine;
    let signature = base64::engine::general_purpose::STANDARD.encode(b"raw signature");
    let layers: Vec<Value> = layers
        .iter()
        .map(|(digest, cert)| {
            let mut annotations = json!({"dev.cosignproject.cosign/signature": signature});
            if let Some(cert) = cert {
                annotations["dev.sigstore.cosign/certificate"] = json!(cert);
            }
            json!({"mediaType": "application/vnd.dev.cosign.simplesigning.v1+json",
                "digest": digest, "annotations": annotations})
        })
        .collect();
    Ok(json!({"layers": layers}).to_string().into_bytes())
}

const LEAF: &str = include_str!("../../test_data/certs/keyless-leaf.pem");

fn authority(kind: crate::cip::compile::AuthorityKind) -> CompiledAuthority {
    CompiledAuthority {
        name: "a".into(),
        kind,
        attestations: vec![],
        bundle: false,
    }
}

#[test]
fn key_signatures_carry_only_their_id() {
    // ids computed independently: sha256 of the raw signature, then of the certificate's PEM
    let key = authority(crate::cip::compile::AuthorityKind::Key {
        keys: vec![],
        hash: crate::cip::keys::HashAlgorithm::Sha256,
    });
    let mut host = FakeHost::default();
    host.manifests.push_back(sig_manifest(&[
        ("sha256:aa", None),
        ("sha256:bb", Some(LEAF)),
    ]));
    assert_eq!(
        details::signatures(&key, image(), &mut host).unwrap(),
        [json!({"id": "b7d76d96b9228206ddcee9995c0e8ca4686c49ccbcc263d08a2832d713e766c8"})]
    );
    assert_eq!(host.calls, [format!("manifest {REPO}:sha256-{HEX}.sig")]);
}

#[test]
fn keyless_signatures_carry_the_certificates_identity() {
    use crate::cip::compile::{AuthorityKind, CompiledIdentity, Matcher};
    let keyless = |subject: &str| {
        authority(AuthorityKind::Keyless {
            identities: vec![CompiledIdentity {
                issuer: Matcher::Exact("https://token.actions.githubusercontent.com".into()),
                subject: Matcher::Exact(subject.into()),
            }],
            ca_cert: None,
        })
    };
    let workflow = "https://github.com/acme/app/.github/workflows/release.yml@refs/tags/v1";
    let mut host = FakeHost::default();
    host.manifests.push_back(sig_manifest(&[
        ("sha256:aa", None),
        ("sha256:bb", Some(LEAF)),
    ]));
    assert_eq!(
        details::signatures(&keyless(workflow), image(), &mut host).unwrap(),
        [
            json!({"id": "b286ad50e60768508bbe5e88963a6e581fe7d8069d027f40550bfe72d82e42cb",
            "subject": workflow, "issuer": "https://token.actions.githubusercontent.com"})
        ]
    );
    let mut host = FakeHost::default();
    host.manifests
        .push_back(sig_manifest(&[("sha256:bb", Some(LEAF))]));
    assert_eq!(
        details::signatures(&keyless("someone else"), image(), &mut host).unwrap(),
        Vec::<Value>::new()
    );
}

#[test]
fn a_passing_signature_authority_without_readable_signatures_fails_the_cip() {
    let s = settings(
        cue("authorityMatches: {...}"),
        json!([{"name": "k", "keyless": {"identities": [{"issuer": "i", "subject": "s"}]}}]),
    );
    let mut host = FakeHost::default();
    host.verify.push_back(Ok(format!("sha256:{HEX}")));
    host.manifests.push_back(Err("registry down".into()));
    let d = decide(&s, &pod(json!({})), &mut host);
    assert_eq!(
        message(&d),
        format!("validation failed: failed policy: cip: spec.containers[0].image\n{REPO}@sha256:{HEX} cannot read the signatures {REPO}:sha256-{HEX}.sig: registry down")
    );
}

#[test]
fn attestations_carry_the_predicate_type_as_written_and_the_layer_digest() {
    use crate::cip::compile::{predicate_uri, AuthorityKind, CompiledAttestation};
    let attestation = |name: &str, predicate_type: &str| CompiledAttestation {
        name: name.into(),
        predicate_type: predicate_type.into(),
        predicate_uri: predicate_uri(predicate_type),
        policy: None,
    };
    let key = CompiledAuthority {
        name: "a".into(),
        kind: AuthorityKind::Key {
            keys: vec![],
            hash: crate::cip::keys::HashAlgorithm::Sha256,
        },
        attestations: vec![
            attestation("sbom", "cyclonedx"),
            attestation("vex", "openvex"),
        ],
        bundle: false,
    };
    let layer = |digest: &str, predicate: &str| {
        json!({"mediaType": "application/vnd.dsse.envelope.v1+json", "digest": digest,
            "annotations": {"dev.cosignproject.cosign/signature": "", "predicateType": predicate}})
    };
    let mut host = FakeHost::default();
    host.manifests.push_back(Ok(json!({"layers": [
        layer("sha256:c1", "https://cyclonedx.org/bom"),
        layer("sha256:s1", "https://spdx.dev/Document"),
    ]})
    .to_string()
    .into_bytes()));
    // the id of an attestation hashes its (empty) signature annotation: sha256 of nothing
    assert_eq!(
        Value::Object(details::attestations(&key, image(), &mut host).unwrap()),
        json!({"sbom": [{"id": "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
                "predicateType": "cyclonedx", "digest": "sha256:c1"}],
               "vex": []})
    );
    assert_eq!(host.calls, [format!("manifest {REPO}:sha256-{HEX}.att")]);
}
