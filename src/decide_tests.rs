use super::*;
use crate::test_host::FakeHost;
use serde_json::json;

const HEX_A: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
const HEX_B: &str = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

fn settings(value: serde_json::Value) -> Settings {
    Settings::compile(value.to_string().as_bytes()).unwrap()
}

fn cip(name: &str, glob: &str, authorities: serde_json::Value) -> serde_json::Value {
    json!({"name": name, "spec": {"images": [{"glob": glob}], "authorities": authorities}})
}

fn pass() -> serde_json::Value {
    json!([{"static": {"action": "pass"}}])
}

fn fail(message: &str) -> serde_json::Value {
    json!([{"static": {"action": "fail", "message": message}}])
}

fn pod(images: &[&str]) -> serde_json::Value {
    let containers: Vec<_> = images
        .iter()
        .enumerate()
        .map(|(i, image)| json!({"name": format!("c{i}"), "image": image}))
        .collect();
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {"containers": containers}})
}

/// The pinned object, decoded.
fn mutated(d: &Decision) -> serde_json::Value {
    serde_json::from_str(d.mutated.as_ref().unwrap()).unwrap()
}

fn request(kind: &str, object: serde_json::Value) -> AdmissionRequest {
    serde_json::from_value(json!({
        "uid": "u", "operation": "CREATE",
        "kind": {"group": "", "version": "v1", "kind": kind},
        "object": object
    }))
    .unwrap()
}

const NETSHOOT: &str = "127.0.0.1:5000/knabben/netshoot";

fn netshoot_host() -> FakeHost {
    FakeHost::registry(&[
        ("127.0.0.1:5000/knabben/netshoot:latest", HEX_A),
        ("127.0.0.1:5000/nicolaka/netshoot:latest", HEX_B),
    ])
}

#[test]
fn static_pass_admits_and_pins_with_the_tag_kept() {
    let s =
        settings(json!({"policies": [cip("image-policy", "127.0.0.1:5000/knabben/**", pass())]}));
    let mut host = netshoot_host();
    let d = decide(&s, &request("Pod", pod(&[NETSHOOT])), &mut host);
    assert!(d.allowed);
    assert_eq!(
        mutated(&d).pointer("/spec/containers/0/image").unwrap(),
        &json!(format!("{NETSHOOT}:latest@sha256:{HEX_A}"))
    );
    assert_eq!(host.calls, vec![format!("digest {NETSHOOT}:latest")]);
}

#[test]
fn uncovered_image_is_denied_with_the_seed_message() {
    let s =
        settings(json!({"policies": [cip("image-policy", "127.0.0.1:5000/knabben/**", pass())]}));
    let d = decide(
        &s,
        &request("Pod", pod(&["127.0.0.1:5000/nicolaka/netshoot"])),
        &mut netshoot_host(),
    );
    assert!(!d.allowed);
    assert_eq!(
        d.message.unwrap(),
        format!("validation failed: no matching policies: spec.containers[0].image\n127.0.0.1:5000/nicolaka/netshoot:latest@sha256:{HEX_B}")
    );
    assert_eq!(d.code, Some(400));
    assert!(d.mutated.is_none());
}

#[test]
fn no_match_warn_admits_with_a_warning_and_pins() {
    let s = settings(json!({"noMatchPolicy": "warn", "policies": []}));
    let d = decide(&s, &request("Pod", pod(&[NETSHOOT])), &mut netshoot_host());
    assert!(d.allowed);
    assert_eq!(
        d.warnings,
        vec![format!(
            "no matching policies: spec.containers[0].image\n{NETSHOOT}:latest@sha256:{HEX_A}"
        )]
    );
    assert!(d.mutated.is_some());
}

#[test]
fn no_match_allow_is_silent_but_still_needs_a_digest() {
    let s = settings(json!({"noMatchPolicy": "allow"}));
    let d = decide(&s, &request("Pod", pod(&[NETSHOOT])), &mut netshoot_host());
    assert!(d.allowed && d.warnings.is_empty());
    let d = decide(
        &s,
        &request("Pod", pod(&["127.0.0.1:5000/gone/image:v1"])),
        &mut netshoot_host(),
    );
    assert!(!d.allowed);
    assert_eq!(
        d.message.unwrap(),
        "validation failed: invalid value: 127.0.0.1:5000/gone/image:v1 must be an image digest: spec.containers[0].image\nCallback evaluation failure: manifest unknown: 127.0.0.1:5000/gone/image:v1"
    );
}

#[test]
fn digest_references_stay_as_written_without_host_calls() {
    let s = settings(json!({"policies": [cip("p", "127.0.0.1:5000/knabben/**", pass())]}));
    let image = format!("{NETSHOOT}:v1@sha256:{HEX_B}");
    let mut host = netshoot_host();
    let d = decide(&s, &request("Pod", pod(&[&image])), &mut host);
    assert!(d.allowed);
    assert!(d.mutated.is_none());
    assert!(host.calls.is_empty());
}

#[test]
fn static_fail_message() {
    let s = settings(json!({"policies": [cip("deny-all", "**", fail("no thanks"))]}));
    let d = decide(&s, &request("Pod", pod(&[NETSHOOT])), &mut netshoot_host());
    assert_eq!(
        d.message.unwrap(),
        format!("validation failed: failed policy: deny-all: spec.containers[0].image\n{NETSHOOT}:latest@sha256:{HEX_A} disallowed by static policy: no thanks")
    );
}

#[test]
fn static_fail_without_message_keeps_the_separator() {
    let s = settings(
        json!({"policies": [cip("deny-all", "**", json!([{"static": {"action": "fail"}}]))]}),
    );
    let d = decide(&s, &request("Pod", pod(&[NETSHOOT])), &mut netshoot_host());
    assert!(d
        .message
        .unwrap()
        .ends_with(" disallowed by static policy: "));
}

/// Authorities of one policy: any one passing suffices; the empty list denies.
#[rstest::rstest]
#[case::empty(json!([]), false)]
#[case::pass(json!([{"static": {"action": "pass"}}]), true)]
#[case::fail(json!([{"static": {"action": "fail"}}]), false)]
#[case::fail_then_pass(json!([{"static": {"action": "fail"}}, {"static": {"action": "pass"}}]), true)]
#[case::pass_then_fail(json!([{"static": {"action": "pass"}}, {"static": {"action": "fail"}}]), true)]
#[case::fail_fail(json!([{"static": {"action": "fail", "message": "a"}}, {"static": {"action": "fail", "message": "b"}}]), false)]
fn authorities_are_any_of(#[case] authorities: serde_json::Value, #[case] allowed: bool) {
    let s = settings(
        json!({"failOnEmptyAuthorities": false, "policies": [cip("p", "**", authorities)]}),
    );
    let d = decide(&s, &request("Pod", pod(&[NETSHOOT])), &mut netshoot_host());
    assert_eq!(d.allowed, allowed, "{:?}", d.message);
}

#[test]
fn failing_authorities_are_all_listed_in_order() {
    let s = settings(json!({"policies": [cip("p", "**", json!([
        {"static": {"action": "fail", "message": "a"}},
        {"static": {"action": "fail", "message": "b"}}
    ]))]}));
    let d = decide(&s, &request("Pod", pod(&[NETSHOOT])), &mut netshoot_host());
    assert!(d
        .message
        .unwrap()
        .ends_with(" disallowed by static policy: a disallowed by static policy: b"));
}

#[test]
fn empty_authorities_deny_unlike_upstream() {
    let s = settings(
        json!({"failOnEmptyAuthorities": false, "policies": [cip("empty", "**", json!([]))]}),
    );
    let d = decide(&s, &request("Pod", pod(&[NETSHOOT])), &mut netshoot_host());
    assert_eq!(
        d.message.unwrap(),
        format!("validation failed: failed policy: empty: spec.containers[0].image\n{NETSHOOT}:latest@sha256:{HEX_A} failed to process policy: empty: it has no authorities")
    );
}

/// Policies matching an image: all must pass; the empty case falls to noMatchPolicy.
#[rstest::rstest]
#[case::none(vec![], false)]
#[case::one_pass(vec![true], true)]
#[case::one_fail(vec![false], false)]
#[case::pass_fail(vec![true, false], false)]
#[case::pass_pass(vec![true, true], true)]
#[case::fail_fail(vec![false, false], false)]
fn policies_are_all_of(#[case] verdicts: Vec<bool>, #[case] allowed: bool) {
    let policies: Vec<_> = verdicts
        .iter()
        .enumerate()
        .map(|(i, &ok)| cip(&format!("p{i}"), "**", if ok { pass() } else { fail("") }))
        .collect();
    let s = settings(json!({"policies": policies}));
    let d = decide(&s, &request("Pod", pod(&[NETSHOOT])), &mut netshoot_host());
    assert_eq!(d.allowed, allowed);
}

#[test]
fn two_failing_policies_are_sorted_by_name() {
    let s = settings(
        json!({"policies": [cip("zeta", "**", fail("z")), cip("alpha", "**", fail("a"))]}),
    );
    let d = decide(&s, &request("Pod", pod(&[NETSHOOT])), &mut netshoot_host());
    let shown = format!("{NETSHOOT}:latest@sha256:{HEX_A}");
    assert_eq!(
        d.message.unwrap(),
        format!("validation failed: failed policy: alpha: spec.containers[0].image\n{shown} disallowed by static policy: a\nfailed policy: zeta: spec.containers[0].image\n{shown} disallowed by static policy: z")
    );
}

#[test]
fn warn_mode_admits_with_a_warning() {
    let mut p = cip("soft", "**", fail("careful"));
    p["spec"]["mode"] = json!("warn");
    let s = settings(json!({"policies": [p]}));
    let d = decide(&s, &request("Pod", pod(&[NETSHOOT])), &mut netshoot_host());
    assert!(d.allowed);
    assert_eq!(
        d.warnings,
        vec![format!("failed policy: soft: spec.containers[0].image\n{NETSHOOT}:latest@sha256:{HEX_A} disallowed by static policy: careful")]
    );
    assert!(d.mutated.is_some());
}

#[test]
fn mixed_warn_and_enforce_is_deterministic() {
    let mut soft = cip("soft", "**", fail("w"));
    soft["spec"]["mode"] = json!("warn");
    let s = settings(json!({"policies": [soft, cip("hard", "**", fail("e"))]}));
    let d = decide(&s, &request("Pod", pod(&[NETSHOOT])), &mut netshoot_host());
    let shown = format!("{NETSHOOT}:latest@sha256:{HEX_A}");
    assert!(!d.allowed);
    assert_eq!(
        d.message.unwrap(),
        format!("validation failed: failed policy: hard: spec.containers[0].image\n{shown} disallowed by static policy: e")
    );
    assert_eq!(
        d.warnings,
        vec![format!(
            "failed policy: soft: spec.containers[0].image\n{shown} disallowed by static policy: w"
        )]
    );
}

#[test]
fn one_host_call_per_distinct_image_and_merged_paths() {
    let s = settings(json!({"policies": [cip("p", "**", fail("x"))]}));
    let mut host = netshoot_host();
    let d = decide(
        &s,
        &request(
            "Pod",
            pod(&[NETSHOOT, "127.0.0.1:5000/knabben/netshoot:latest"]),
        ),
        &mut host,
    );
    assert_eq!(host.calls.len(), 1);
    assert!(d.message.unwrap().starts_with(
        "validation failed: failed policy: p: spec.containers[0].image, spec.containers[1].image\n"
    ));
}

#[test]
fn every_container_list_and_image_volumes_are_checked_in_order() {
    let object = json!({"kind": "Pod", "spec": {
        "initContainers": [{"name": "i", "image": NETSHOOT}],
        "containers": [{"name": "c", "image": NETSHOOT}],
        "ephemeralContainers": [{"name": "e", "image": NETSHOOT}],
        "volumes": [{"name": "v0", "emptyDir": {}}, {"name": "v1", "image": {"reference": NETSHOOT}}]
    }});
    let s = settings(json!({"policies": [cip("p", "**", fail(""))]}));
    let d = decide(&s, &request("Pod", object), &mut netshoot_host());
    assert!(d.message.unwrap().starts_with(
        "validation failed: failed policy: p: spec.containers[0].image, spec.ephemeralContainers[0].image, spec.initContainers[0].image, spec.volumes[1].image\n"
    ));
}

#[test]
fn image_volumes_are_pinned_at_their_reference() {
    let object = json!({"kind": "Pod", "spec": {"containers": [], "volumes": [{"name": "v", "image": {"reference": NETSHOOT, "pullPolicy": "Always"}}]}});
    let s = settings(json!({"policies": [cip("p", "**", pass())]}));
    let d = decide(&s, &request("Pod", object), &mut netshoot_host());
    let mutated = mutated(&d);
    assert_eq!(
        mutated.pointer("/spec/volumes/0/image/reference").unwrap(),
        &json!(format!("{NETSHOOT}:latest@sha256:{HEX_A}"))
    );
    assert_eq!(
        mutated.pointer("/spec/volumes/0/image/pullPolicy").unwrap(),
        "Always"
    );
}

fn template(spec: serde_json::Value) -> serde_json::Value {
    json!({"template": {"metadata": {"labels": {"a": "b"}}, "spec": spec}})
}

#[rstest::rstest]
#[case::deployment("Deployment", "apps/v1", json!({"spec": template(json!({"containers": [{"image": "x/y"}]}))}), "spec.template.spec.containers[0].image")]
#[case::replicaset("ReplicaSet", "apps/v1", json!({"spec": template(json!({"containers": [{"image": "x/y"}]}))}), "spec.template.spec.containers[0].image")]
#[case::statefulset("StatefulSet", "apps/v1", json!({"spec": template(json!({"containers": [{"image": "x/y"}]}))}), "spec.template.spec.containers[0].image")]
#[case::daemonset("DaemonSet", "apps/v1", json!({"spec": template(json!({"containers": [{"image": "x/y"}]}))}), "spec.template.spec.containers[0].image")]
#[case::job("Job", "batch/v1", json!({"spec": template(json!({"containers": [{"image": "x/y"}]}))}), "spec.template.spec.containers[0].image")]
#[case::replicationcontroller("ReplicationController", "v1", json!({"spec": template(json!({"containers": [{"image": "x/y"}]}))}), "spec.template.spec.containers[0].image")]
#[case::cronjob("CronJob", "batch/v1", json!({"spec": {"jobTemplate": {"spec": template(json!({"initContainers": [{"image": "x/y"}]}))}}}), "spec.jobTemplate.spec.template.spec.initContainers[0].image")]
#[case::pod("Pod", "v1", json!({"spec": {"ephemeralContainers": [{"image": "x/y"}]}}), "spec.ephemeralContainers[0].image")]
#[case::unknown_kind_with_template("Rollout", "argoproj.io/v1alpha1", json!({"spec": template(json!({"containers": [{"image": "x/y"}]}))}), "spec.template.spec.containers[0].image")]
#[case::unknown_kind_with_job_template("CronWorkflow", "example.com/v1", json!({"spec": {"jobTemplate": {"spec": template(json!({"containers": [{"image": "x/y"}]}))}}}), "spec.jobTemplate.spec.template.spec.containers[0].image")]
fn every_kind_reports_its_field_path(
    #[case] kind: &str,
    #[case] api_version: &str,
    #[case] mut object: serde_json::Value,
    #[case] path: &str,
) {
    object["kind"] = json!(kind);
    object["apiVersion"] = json!(api_version);
    let s = settings(json!({}));
    let d = decide(
        &s,
        &request(kind, object),
        &mut FakeHost::registry(&[("index.docker.io/x/y:latest", HEX_A)]),
    );
    assert_eq!(
        d.message.unwrap(),
        format!("validation failed: no matching policies: {path}\nindex.docker.io/x/y:latest@sha256:{HEX_A}")
    );
}

#[test]
fn a_kind_without_pod_template_is_not_checked() {
    let s = settings(json!({}));
    let d = decide(
        &s,
        &request(
            "ConfigMap",
            json!({"kind": "ConfigMap", "data": {"image": "x"}}),
        ),
        &mut FakeHost::registry(&[]),
    );
    assert!(d.allowed);
}

#[rstest::rstest]
#[case::missing_image(json!({"spec": {"containers": [{"name": "c"}]}}), "validation failed: missing field(s): spec.containers[0].image")]
#[case::empty_image(json!({"spec": {"containers": [{"name": "c", "image": ""}]}}), "validation failed: missing field(s): spec.containers[0].image")]
#[case::image_not_string(json!({"spec": {"containers": [{"image": 5}]}}), "validation failed: invalid value: 5: spec.containers[0].image\nexpected a string")]
#[case::containers_not_list(json!({"spec": {"containers": {"image": "x"}}}), "validation failed: invalid value: {\"image\":\"x\"}: spec.containers\nexpected a list")]
#[case::no_spec(json!({"metadata": {}}), "validation failed: missing field(s): spec")]
#[case::spec_not_object(json!({"spec": "x"}), "validation failed: invalid value: \"x\": spec\nexpected a pod spec object")]
#[case::unparsable(json!({"spec": {"containers": [{"image": "in@valid"}]}}), "validation failed: could not parse reference: in@valid: spec.containers[0].image")]
fn malformed_pods_are_rejected_clearly(#[case] object: serde_json::Value, #[case] message: &str) {
    let s = settings(json!({"noMatchPolicy": "allow"}));
    let d = decide(&s, &request("Pod", object), &mut FakeHost::registry(&[]));
    assert!(!d.allowed);
    assert_eq!(d.message.unwrap(), message);
}

#[test]
fn deployment_without_template_is_rejected() {
    let s = settings(json!({"noMatchPolicy": "allow"}));
    let d = decide(
        &s,
        &request("Deployment", json!({"spec": {"replicas": 1}})),
        &mut FakeHost::registry(&[]),
    );
    assert_eq!(
        d.message.unwrap(),
        "validation failed: missing field(s): spec.template.spec"
    );
}

fn update(kind: &str, old: serde_json::Value, new: serde_json::Value) -> AdmissionRequest {
    serde_json::from_value(json!({
        "uid": "u", "operation": "UPDATE",
        "kind": {"group": "apps", "version": "v1", "kind": kind},
        "object": new, "oldObject": old
    }))
    .unwrap()
}

fn deployment(replicas: i64, image: &str) -> serde_json::Value {
    json!({"kind": "Deployment", "spec": {"replicas": replicas, "template": {"spec": {"containers": [{"image": image}]}}}})
}

#[test]
fn skips_delete_and_objects_being_deleted() {
    let s = settings(json!({}));
    let del: AdmissionRequest = serde_json::from_value(
        json!({"operation": "DELETE", "kind": {"kind": "Pod"}, "oldObject": pod(&["x/y"])}),
    )
    .unwrap();
    assert!(decide(&s, &del, &mut FakeHost::registry(&[])).allowed);
    let mut dying = pod(&["x/y"]);
    dying["metadata"]["deletionTimestamp"] = json!("2026-01-01T00:00:00Z");
    let req = update("Pod", dying.clone(), dying);
    assert!(decide(&s, &req, &mut FakeHost::registry(&[])).allowed);
}

#[test]
fn a_dying_object_cannot_change_its_images() {
    let s = settings(json!({}));
    let mut dying = pod(&["x/y"]);
    dying["metadata"]["deletionTimestamp"] = json!("2026-01-01T00:00:00Z");
    let mut changed = dying.clone();
    changed["spec"]["containers"][0]["image"] = json!("x/z");
    let d = decide(
        &s,
        &update("Pod", dying, changed),
        &mut FakeHost::registry(&[]),
    );
    assert!(!d.allowed);
}

#[test]
fn scale_down_is_skipped_only_when_images_are_unchanged() {
    let s = settings(json!({}));
    let mut host = FakeHost::registry(&[]);
    let d = decide(
        &s,
        &update("Deployment", deployment(3, "x/y"), deployment(1, "x/y")),
        &mut host,
    );
    assert!(d.allowed);
    assert!(host.calls.is_empty());
    let d = decide(
        &s,
        &update("Deployment", deployment(3, "x/y"), deployment(1, "x/z")),
        &mut host,
    );
    assert!(!d.allowed);
    let d = decide(
        &s,
        &update("Deployment", deployment(1, "x/y"), deployment(3, "x/y")),
        &mut host,
    );
    assert!(!d.allowed, "scale-up is checked");
}

#[test]
fn pin_digests_false_checks_but_does_not_mutate() {
    let s = settings(json!({"pinDigests": false, "policies": [cip("p", "**", pass())]}));
    let d = decide(&s, &request("Pod", pod(&[NETSHOOT])), &mut netshoot_host());
    assert!(d.allowed);
    assert!(d.mutated.is_none());
}

#[test]
fn mutation_changes_nothing_but_the_images() {
    let mut object = pod(&[NETSHOOT]);
    object["spec"]["unknownField"] = json!({"keep": [1, 2]});
    object["metadata"]["annotations"] = json!({"x": "y"});
    let s = settings(json!({"policies": [cip("p", "**", pass())]}));
    let d = decide(&s, &request("Pod", object.clone()), &mut netshoot_host());
    let mut expected = object;
    expected["spec"]["containers"][0]["image"] = json!(format!("{NETSHOOT}:latest@sha256:{HEX_A}"));
    assert_eq!(mutated(&d), expected);
}

fn matching(resource: serde_json::Value) -> Settings {
    let mut p = cip("only-labelled", "**", fail("matched"));
    p["spec"]["match"] = resource;
    settings(json!({"noMatchPolicy": "allow", "policies": [p]}))
}

#[rstest::rstest]
#[case::pods_v1(json!([{"group": "", "version": "v1", "resource": "pods"}]), true)]
#[case::any_version(json!([{"group": "", "version": "*", "resource": "pods"}]), true)]
#[case::other_resource(json!([{"group": "apps", "version": "v1", "resource": "deployments"}]), false)]
#[case::label_selected(json!([{"version": "v1", "resource": "pods", "selector": {"matchLabels": {"team": "a"}}}]), true)]
#[case::label_not_selected(json!([{"version": "v1", "resource": "pods", "selector": {"matchLabels": {"team": "b"}}}]), false)]
#[case::expression_in(json!([{"version": "v1", "resource": "pods", "selector": {"matchExpressions": [{"key": "team", "operator": "In", "values": ["a", "c"]}]}}]), true)]
#[case::expression_does_not_exist(json!([{"version": "v1", "resource": "pods", "selector": {"matchExpressions": [{"key": "team", "operator": "DoesNotExist"}]}}]), false)]
#[case::either_entry(json!([{"group": "apps", "version": "v1", "resource": "deployments"}, {"version": "v1", "resource": "pods"}]), true)]
fn spec_match_selects_resources(#[case] m: serde_json::Value, #[case] applies: bool) {
    let s = matching(m);
    let mut object = pod(&[NETSHOOT]);
    object["metadata"]["labels"] = json!({"team": "a"});
    let d = decide(&s, &request("Pod", object), &mut netshoot_host());
    assert_eq!(!d.allowed, applies);
}

/// A field nested deeper than a decoded value may go (serde_json stops at 128 levels) does not
/// stop a decision that never decodes the object: the images are read and pinned around it. A
/// CIP whose `spec.policy` includes the spec needs the decoded object, and is failed with why.
#[test]
fn deep_objects_are_decided_and_pinned_and_fail_closed_where_decoded() {
    let deep = format!("{}1{}", "[".repeat(300), "]".repeat(300));
    let text = format!(
        r#"{{"uid":"u","operation":"CREATE","kind":{{"group":"","version":"v1","kind":"Pod"}},
        "object":{{"kind":"Pod","spec":{{"deep":{deep},"containers":[{{"image":"{NETSHOOT}"}}]}}}}}}"#
    );
    let request: AdmissionRequest = serde_json::from_str(&text).unwrap();
    let s = settings(json!({"policies": [cip("p", "127.0.0.1:5000/knabben/**", pass())]}));
    let d = decide(&s, &request, &mut netshoot_host());
    assert!(d.allowed, "{:?}", d.message);
    let mutated = d.mutated.unwrap();
    assert!(mutated.contains(&deep));
    assert!(mutated.contains(&format!(r#""image":"{NETSHOOT}:latest@sha256:{HEX_A}""#)));

    let doc = json!({"policies": [{"name": "p", "spec": {
        "images": [{"glob": "127.0.0.1:5000/knabben/**"}], "authorities": pass(),
        "policy": {"type": "cue", "data": "spec: {...}", "includeSpec": true}}}]});
    let s = Settings::compile(doc.to_string().as_bytes()).unwrap();
    let d = decide(&s, &request, &mut netshoot_host());
    assert_eq!(
        d.message.as_deref(),
        Some(format!("validation failed: failed policy: p: spec.containers[0].image\n{NETSHOOT}:latest@sha256:{HEX_A} cannot decode the object: recursion limit exceeded at line 1 column 155").as_str())
    );
}
