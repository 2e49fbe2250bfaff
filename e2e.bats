#!/usr/bin/env bats
# End-to-end: the real policy.wasm, a real OCI registry on 127.0.0.1, images pushed with skopeo.
# Runs under cip-host, or under a real kwctl with KWCTL=kwctl.

bats_require_minimum_version 1.5.0

HOST=${KWCTL:-cip-host}
# Fixtures (keys, a test CA, signatures) are always made by cip-host; verification is the host's.
FIXTURES=${CIP_HOST:-cip-host}
POLICY=${POLICY:-annotated-policy.wasm}

setup_file() {
  load test_data/e2e/lib.bash
  export WORK="$BATS_FILE_TMPDIR"
  start_registry "$WORK/registry"
  echo "$REGISTRY_PID" >"$WORK/registry.pid"
  export REGISTRY
  NETSHOOT_DIGEST=$(push_image "$WORK" knabben/netshoot:latest "knabben netshoot")
  NICOLAKA_DIGEST=$(push_image "$WORK" nicolaka/netshoot:latest "nicolaka netshoot")
  export NETSHOOT_DIGEST NICOLAKA_DIGEST
  printf 'insecure_sources:\n  - "%s"\n' "$REGISTRY" >"$WORK/sources.yml"
  # Signature fixtures: one key-signed, one keyless-signed, one signed by an untrusted CA, one
  # unsigned image.
  "$FIXTURES" keygen --out "$WORK/keys" --name cosign
  "$FIXTURES" keygen --out "$WORK/keys" --name other
  "$FIXTURES" testca --out "$WORK/ca"
  "$FIXTURES" testca --out "$WORK/rogue-ca"
  KEYED_DIGEST=$(push_image "$WORK" signed/keyed:v1 "keyed")
  KEYLESS_DIGEST=$(push_image "$WORK" signed/keyless:v1 "keyless")
  ROGUE_DIGEST=$(push_image "$WORK" signed/rogue:v1 "rogue")
  UNSIGNED_DIGEST=$(push_image "$WORK" signed/unsigned:v1 "unsigned")
  export KEYED_DIGEST KEYLESS_DIGEST ROGUE_DIGEST UNSIGNED_DIGEST
  "$FIXTURES" sign --sources-path "$WORK/sources.yml" --key "$WORK/keys/cosign.key" \
    "$REGISTRY/signed/keyed@$KEYED_DIGEST" >/dev/null
  "$FIXTURES" sign --sources-path "$WORK/sources.yml" --ca-key "$WORK/ca/ca.key" --ca-cert "$WORK/ca/ca.pem" \
    --rekor-key "$WORK/ca/rekor.key" --identity "https://github.com/acme/app/.github/workflows/release.yml@refs/tags/v1" \
    --issuer "https://token.actions.githubusercontent.com" "$REGISTRY/signed/keyless@$KEYLESS_DIGEST" >/dev/null
  "$FIXTURES" sign --sources-path "$WORK/sources.yml" --ca-key "$WORK/rogue-ca/ca.key" --ca-cert "$WORK/rogue-ca/ca.pem" \
    --rekor-key "$WORK/ca/rekor.key" --identity "https://github.com/acme/app/.github/workflows/release.yml@refs/tags/v1" \
    --issuer "https://token.actions.githubusercontent.com" "$REGISTRY/signed/rogue@$ROGUE_DIGEST" >/dev/null
  # Attestation fixtures: the seed's CycloneDX SBOMs (made by syft, made by trivy) attested
  # keylessly, a custom predicate and an SPDX document attested with the key, one attested with
  # the other key, one without attestations.
  printf '{"bomFormat":"CycloneDX","specVersion":"1.4","metadata":{"tools":[{"vendor":"anchore","name":"syft","version":"0.60.3"}]},"components":[]}' >"$WORK/syft.json"
  printf '{"bomFormat":"CycloneDX","specVersion":"1.4","metadata":{"tools":[{"vendor":"aquasecurity","name":"trivy","version":"0.38.0"}]},"components":[]}' >"$WORK/trivy.json"
  printf '{"Data":"foobar e2e test","Timestamp":"2026-11-25T10:00:00Z"}' >"$WORK/custom.json"
  printf '{"spdxVersion":"SPDX-2.3","name":"app","packages":[]}' >"$WORK/spdx.json"
  SYFT_DIGEST=$(push_image "$WORK" sbom/syft:v1 "syft sbom")
  TRIVY_DIGEST=$(push_image "$WORK" sbom/trivy:v1 "trivy sbom")
  CUSTOM_DIGEST=$(push_image "$WORK" att/custom:v1 "custom")
  SPDX_DIGEST=$(push_image "$WORK" att/spdx:v1 "spdx")
  OTHERKEY_DIGEST=$(push_image "$WORK" att/otherkey:v1 "otherkey")
  NONE_DIGEST=$(push_image "$WORK" att/none:v1 "none")
  export SYFT_DIGEST TRIVY_DIGEST CUSTOM_DIGEST SPDX_DIGEST OTHERKEY_DIGEST NONE_DIGEST
  for pair in "syft:$SYFT_DIGEST" "trivy:$TRIVY_DIGEST"; do
    "$FIXTURES" attest --sources-path "$WORK/sources.yml" --ca-key "$WORK/ca/ca.key" --ca-cert "$WORK/ca/ca.pem" \
      --rekor-key "$WORK/ca/rekor.key" --identity "user@example.com" --issuer "https://accounts.google.com" \
      --predicate "$WORK/${pair%%:*}.json" --type cyclonedx "$REGISTRY/sbom/${pair%%:*}@${pair#*:}" >/dev/null
  done
  "$FIXTURES" attest --sources-path "$WORK/sources.yml" --key "$WORK/keys/cosign.key" --predicate "$WORK/custom.json" \
    --type custom "$REGISTRY/att/custom@$CUSTOM_DIGEST" >/dev/null
  "$FIXTURES" attest --sources-path "$WORK/sources.yml" --key "$WORK/keys/cosign.key" --predicate "$WORK/spdx.json" \
    --type spdxjson "$REGISTRY/att/spdx@$SPDX_DIGEST" >/dev/null
  "$FIXTURES" attest --sources-path "$WORK/sources.yml" --key "$WORK/keys/other.key" --predicate "$WORK/custom.json" \
    --type custom "$REGISTRY/att/otherkey@$OTHERKEY_DIGEST" >/dev/null
  cat >"$WORK/allow-list.yaml" <<YAML
policies:
  - apiVersion: policy.sigstore.dev/v1beta1
    kind: ClusterImagePolicy
    metadata:
      name: image-policy
    spec:
      images:
        - glob: "$REGISTRY/knabben/**"
      authorities:
        - static:
            action: pass
YAML
}

teardown_file() {
  kill "$(cat "$BATS_FILE_TMPDIR/registry.pid")" 2>/dev/null || true
}

setup() {
  load test_data/e2e/lib.bash
}

# evaluate REQUEST_JSON SETTINGS_FILE [extra flags]: runs the policy, output in $output.
evaluate() {
  local request="$BATS_TEST_TMPDIR/request.json" settings="$2"
  printf '%s' "$1" >"$request"
  shift 2
  run --separate-stderr "$HOST" run --sources-path "$WORK/sources.yml" \
    --request-path "$request" --settings-path "$settings" "$@" "$POLICY"
}

# Attestations need oci/v2/verify_attestations, which stock Kubewarden lacks: the host is asked
# once (a key attestation that verifies) and the tests skip when its answer says it lacks it,
# unless REQUIRE_ATTESTATIONS says this host has it.
needs_attestations() {
  if [ ! -f "$WORK/attestations.probe" ]; then
    echo "policies:" >"$BATS_TEST_TMPDIR/probe.yaml"
    key_attestation_policy "$BATS_TEST_TMPDIR/probe.yaml" probe "$REGISTRY/att/custom*" custom
    evaluate "$(pod_request "$REGISTRY/att/custom:v1")" "$BATS_TEST_TMPDIR/probe.yaml"
    printf '%s\n' "$output" >"$WORK/attestations.probe"
  fi
  if grep -q "does not provide the oci/v2/verify_attestations capability" "$WORK/attestations.probe"; then
    # A host built with the capability (make e2e-kubewarden-ext) must not skip these.
    [ -z "${REQUIRE_ATTESTATIONS:-}" ] || {
      echo "REQUIRE_ATTESTATIONS is set but the host lacks oci/v2/verify_attestations" >&2
      return 1
    }
    skip "the host has no oci/v2/verify_attestations capability"
  fi
}

# The host's own words differ between cip-host and kwctl: compare them under cip-host only.
host_words() {
  [ -z "${KWCTL:-}" ]
}

patch_value() {
  jq -r --arg path "$1" '.patch | @base64d | fromjson | map(select(.path == $path)) | .[0].value' <<<"$output"
}

@test "static allow-list admits a Pod and pins its tag to the digest" {
  evaluate "$(pod_request "$REGISTRY/knabben/netshoot")" "$WORK/allow-list.yaml"
  [ "$status" -eq 0 ]
  [ "$(jq -r .allowed <<<"$output")" = "true" ]
  [ "$(jq -r .patchType <<<"$output")" = "JSONPatch" ]
  [ "$(patch_value /spec/containers/0/image)" = "$REGISTRY/knabben/netshoot:latest@$NETSHOOT_DIGEST" ]
  [ "$(jq -r '.patch | @base64d | fromjson | length' <<<"$output")" = "1" ]
}

@test "static allow-list admits a Deployment and pins its template" {
  evaluate "$(deployment_request "$REGISTRY/knabben/netshoot:latest")" "$WORK/allow-list.yaml"
  [ "$status" -eq 0 ]
  [ "$(jq -r .allowed <<<"$output")" = "true" ]
  [ "$(patch_value /spec/template/spec/containers/0/image)" = "$REGISTRY/knabben/netshoot:latest@$NETSHOOT_DIGEST" ]
}

@test "a digest reference is admitted as written, without a patch" {
  evaluate "$(pod_request "$REGISTRY/knabben/netshoot@$NETSHOOT_DIGEST")" "$WORK/allow-list.yaml"
  [ "$status" -eq 0 ]
  [ "$(jq -r .allowed <<<"$output")" = "true" ]
  [ "$(jq -r .patch <<<"$output")" = "null" ]
}

@test "an image no policy covers is denied with policy-controller's message" {
  evaluate "$(pod_request "$REGISTRY/nicolaka/netshoot")" "$WORK/allow-list.yaml"
  [ "$status" -eq 0 ]
  [ "$(jq -r .allowed <<<"$output")" = "false" ]
  expected="validation failed: no matching policies: spec.containers[0].image
$REGISTRY/nicolaka/netshoot:latest@$NICOLAKA_DIGEST"
  [ "$(jq -r .status.message <<<"$output")" = "$expected" ]
  [ "$(jq -r .patch <<<"$output")" = "null" ]
}

@test "warn mode admits a failing image with a warning" {
  cat >"$BATS_TEST_TMPDIR/warn.yaml" <<YAML
policies:
  - name: warn-only
    spec:
      mode: warn
      images: [{glob: "$REGISTRY/**"}]
      authorities: [{static: {action: fail, message: not vetted}}]
YAML
  evaluate "$(pod_request "$REGISTRY/nicolaka/netshoot")" "$BATS_TEST_TMPDIR/warn.yaml"
  [ "$status" -eq 0 ]
  [ "$(jq -r .allowed <<<"$output")" = "true" ]
  expected="failed policy: warn-only: spec.containers[0].image
$REGISTRY/nicolaka/netshoot:latest@$NICOLAKA_DIGEST disallowed by static policy: not vetted"
  [ "$(jq -r '.warnings[0]' <<<"$output")" = "$expected" ]
  [ "$(patch_value /spec/containers/0/image)" = "$REGISTRY/nicolaka/netshoot:latest@$NICOLAKA_DIGEST" ]
}

@test "noMatchPolicy warn admits an uncovered image with a warning" {
  { cat "$WORK/allow-list.yaml"; echo "noMatchPolicy: warn"; } >"$BATS_TEST_TMPDIR/nomatch-warn.yaml"
  evaluate "$(pod_request "$REGISTRY/nicolaka/netshoot")" "$BATS_TEST_TMPDIR/nomatch-warn.yaml"
  [ "$(jq -r .allowed <<<"$output")" = "true" ]
  [ "$(jq -r '.warnings[0]' <<<"$output")" = "no matching policies: spec.containers[0].image
$REGISTRY/nicolaka/netshoot:latest@$NICOLAKA_DIGEST" ]
}

@test "one policy passing and one failing denies" {
  cat >"$BATS_TEST_TMPDIR/two.yaml" <<YAML
policies:
  - name: allow
    spec: {images: [{glob: "$REGISTRY/**"}], authorities: [{static: {action: pass}}]}
  - name: block
    spec: {images: [{glob: "$REGISTRY/knabben/**"}], authorities: [{static: {action: fail, message: blocked}}]}
YAML
  evaluate "$(pod_request "$REGISTRY/knabben/netshoot")" "$BATS_TEST_TMPDIR/two.yaml"
  [ "$(jq -r .allowed <<<"$output")" = "false" ]
  [ "$(jq -r .status.message <<<"$output")" = "validation failed: failed policy: block: spec.containers[0].image
$REGISTRY/knabben/netshoot:latest@$NETSHOOT_DIGEST disallowed by static policy: blocked" ]
}

@test "an unknown tag is denied because it cannot be pinned" {
  evaluate "$(pod_request "$REGISTRY/knabben/netshoot:nope")" "$WORK/allow-list.yaml"
  [ "$status" -eq 0 ]
  [ "$(jq -r .allowed <<<"$output")" = "false" ]
  message=$(jq -r .status.message <<<"$output")
  [ "$(head -n1 <<<"$message")" = "validation failed: invalid value: $REGISTRY/knabben/netshoot:nope must be an image digest: spec.containers[0].image" ]
  [[ "$message" == *"manifest unknown"* ]]
}

@test "an unreachable registry fails closed" {
  port=$(free_port)
  evaluate "$(pod_request "127.0.0.1:$port/knabben/netshoot")" "$WORK/allow-list.yaml"
  [ "$status" -eq 0 ]
  [ "$(jq -r .allowed <<<"$output")" = "false" ]
  [ "$(jq -r .status.message <<<"$output" | head -n1)" = "validation failed: invalid value: 127.0.0.1:$port/knabben/netshoot must be an image digest: spec.containers[0].image" ]
}

@test "invalid settings are refused with the field path" {
  cat >"$BATS_TEST_TMPDIR/bad.yaml" <<YAML
policies:
  - name: bad
    spec:
      images: [{glob: "$REGISTRY/a?"}]
      authorities: [{static: {action: maybe}}]
YAML
  evaluate "$(pod_request "$REGISTRY/knabben/netshoot")" "$BATS_TEST_TMPDIR/bad.yaml"
  [ "$status" -eq 1 ]
  [[ "$stderr" == *"Provided settings are not valid"* ]]
  [[ "$stderr" == *"invalid value: maybe: spec.authorities[0].static.action"* ]]
  [[ "$stderr" == *"invalid value: $REGISTRY/a?: spec.images[0].glob"* ]]
}

@test "a recorded session replays to the same answer" {
  request="$(pod_request "$REGISTRY/knabben/netshoot")"
  evaluate "$request" "$WORK/allow-list.yaml" --record-host-capabilities-interactions "$BATS_TEST_TMPDIR/session.yml"
  live="$output"
  grep -q "OciManifestDigest" "$BATS_TEST_TMPDIR/session.yml"
  evaluate "$request" "$WORK/allow-list.yaml" --replay-host-capabilities-interactions "$BATS_TEST_TMPDIR/session.yml"
  [ "$(jq -cS 'del(.uid)' <<<"$output")" = "$(jq -cS 'del(.uid)' <<<"$live")" ]
}

# --- Signature authorities -------------------------------------------------------------------

WORKFLOW="https://github.com/acme/app/.github/workflows/release.yml@refs/tags/v1"
GITHUB="https://token.actions.githubusercontent.com"

# key_policy FILE KEYFILE [mode]: a CIP with one key authority for $REGISTRY/signed/**.
key_policy() {
  {
    printf 'policies:\n  - name: signed-by-key\n    spec:\n      mode: %s\n      images: [{glob: "%s/signed/**"}]\n      authorities:\n        - key:\n            data: |\n' "${3:-enforce}" "$REGISTRY"
    sed 's/^/              /' "$2"
  } >"$1"
}

# keyless_policy FILE IDENTITY_YAML: a CIP with one keyless authority for $REGISTRY/signed/**.
keyless_policy() {
  cat >"$1" <<YAML
policies:
  - name: signed-keyless
    spec:
      images: [{glob: "$REGISTRY/signed/**"}]
      authorities:
        - keyless:
            identities: [$2]
YAML
}

keyless_run() {
  evaluate "$1" "$2" --sigstore-trust-config "$WORK/ca/trust-config.json"
}

@test "key: an image signed with the key is admitted and pinned" {
  key_policy "$BATS_TEST_TMPDIR/key.yaml" "$WORK/keys/cosign.pub"
  evaluate "$(pod_request "$REGISTRY/signed/keyed:v1")" "$BATS_TEST_TMPDIR/key.yaml"
  [ "$status" -eq 0 ]
  [ "$(jq -r .allowed <<<"$output")" = "true" ]
  [ "$(patch_value /spec/containers/0/image)" = "$REGISTRY/signed/keyed:v1@$KEYED_DIGEST" ]
}

@test "key: an image signed with another key is denied" {
  key_policy "$BATS_TEST_TMPDIR/key.yaml" "$WORK/keys/other.pub"
  evaluate "$(pod_request "$REGISTRY/signed/keyed:v1")" "$BATS_TEST_TMPDIR/key.yaml"
  [ "$(jq -r .allowed <<<"$output")" = "false" ]
  message=$(jq -r .status.message <<<"$output")
  [[ "$message" == "validation failed: failed policy: signed-by-key: spec.containers[0].image
$REGISTRY/signed/keyed:v1@$KEYED_DIGEST signature key validation failed for authority authority-0 for $REGISTRY/signed/keyed@$KEYED_DIGEST: no matching signatures: "* ]]
  ! host_words || [ "$message" = "validation failed: failed policy: signed-by-key: spec.containers[0].image
$REGISTRY/signed/keyed:v1@$KEYED_DIGEST signature key validation failed for authority authority-0 for $REGISTRY/signed/keyed@$KEYED_DIGEST: no matching signatures: Callback evaluation failure: image verification failed for $REGISTRY/signed/keyed@$KEYED_DIGEST: no signature verifies with the given public key" ]
}

@test "key: an unsigned image is denied with no signatures found" {
  key_policy "$BATS_TEST_TMPDIR/key.yaml" "$WORK/keys/cosign.pub"
  evaluate "$(pod_request "$REGISTRY/signed/unsigned:v1")" "$BATS_TEST_TMPDIR/key.yaml"
  [ "$(jq -r .status.message <<<"$output")" = "validation failed: failed policy: signed-by-key: spec.containers[0].image
$REGISTRY/signed/unsigned:v1@$UNSIGNED_DIGEST signature key validation failed for authority authority-0 for $REGISTRY/signed/unsigned@$UNSIGNED_DIGEST: no signatures found" ]
}

@test "keyless: the seed's unsigned image is denied with the seed's message" {
  keyless_policy "$BATS_TEST_TMPDIR/keyless.yaml" "{issuer: \"$GITHUB\", subject: \"$WORKFLOW\"}"
  keyless_run "$(pod_request "$REGISTRY/signed/unsigned:v1")" "$BATS_TEST_TMPDIR/keyless.yaml"
  [ "$(jq -r .allowed <<<"$output")" = "false" ]
  [ "$(jq -r .status.message <<<"$output")" = "validation failed: failed policy: signed-keyless: spec.containers[0].image
$REGISTRY/signed/unsigned:v1@$UNSIGNED_DIGEST signature keyless validation failed for authority authority-0 for $REGISTRY/signed/unsigned@$UNSIGNED_DIGEST: no signatures found" ]
}

@test "keyless: the exact identity is admitted and pinned" {
  keyless_policy "$BATS_TEST_TMPDIR/keyless.yaml" "{issuer: \"$GITHUB\", subject: \"$WORKFLOW\"}"
  keyless_run "$(deployment_request "$REGISTRY/signed/keyless:v1")" "$BATS_TEST_TMPDIR/keyless.yaml"
  [ "$(jq -r .allowed <<<"$output")" = "true" ]
  [ "$(patch_value /spec/template/spec/containers/0/image)" = "$REGISTRY/signed/keyless:v1@$KEYLESS_DIGEST" ]
}

@test "keyless: a wrong subject is denied with the certificate's identities" {
  keyless_policy "$BATS_TEST_TMPDIR/keyless.yaml" "{issuer: \"$GITHUB\", subject: \"https://github.com/acme/other/.github/workflows/release.yml@refs/tags/v1\"}"
  keyless_run "$(pod_request "$REGISTRY/signed/keyless:v1")" "$BATS_TEST_TMPDIR/keyless.yaml"
  [ "$(jq -r .allowed <<<"$output")" = "false" ]
  [ "$(jq -r .status.message <<<"$output")" = "validation failed: failed policy: signed-keyless: spec.containers[0].image
$REGISTRY/signed/keyless:v1@$KEYLESS_DIGEST signature keyless validation failed for authority authority-0 for $REGISTRY/signed/keyless@$KEYLESS_DIGEST: no matching signatures: none of the expected identities matched what was in the certificate, got subjects [$WORKFLOW] with issuer $GITHUB" ]
}

@test "keyless: a regular-expression identity is admitted" {
  keyless_policy "$BATS_TEST_TMPDIR/keyless.yaml" "{issuer: \"$GITHUB\", subjectRegExp: '^https://github\\.com/acme/.*@refs/tags/v[0-9]+\$'}"
  keyless_run "$(pod_request "$REGISTRY/signed/keyless:v1")" "$BATS_TEST_TMPDIR/keyless.yaml"
  [ "$(jq -r .allowed <<<"$output")" = "true" ]
  [ "$(patch_value /spec/containers/0/image)" = "$REGISTRY/signed/keyless:v1@$KEYLESS_DIGEST" ]
}

@test "keyless: anchoring decides a near miss both ways" {
  # Unanchored, as upstream: a substring of the subject matches.
  keyless_policy "$BATS_TEST_TMPDIR/loose.yaml" "{issuerRegExp: \"githubusercontent\", subjectRegExp: \"acme/app\"}"
  keyless_run "$(pod_request "$REGISTRY/signed/keyless:v1")" "$BATS_TEST_TMPDIR/loose.yaml"
  [ "$(jq -r .allowed <<<"$output")" = "true" ]
  [[ "$stderr" == *"regular expression is not anchored"* ]]
  # Anchored: the same text must be the whole subject, and it is not.
  keyless_policy "$BATS_TEST_TMPDIR/tight.yaml" "{issuerRegExp: '^https://token\\.actions\\.githubusercontent\\.com\$', subjectRegExp: '^https://github\\.com/acme/app\$'}"
  keyless_run "$(pod_request "$REGISTRY/signed/keyless:v1")" "$BATS_TEST_TMPDIR/tight.yaml"
  [ "$(jq -r .allowed <<<"$output")" = "false" ]
  [[ "$(jq -r .status.message <<<"$output")" == *"no matching signatures: none of the expected identities matched what was in the certificate, got subjects [$WORKFLOW] with issuer $GITHUB" ]]
}

@test "keyless: a certificate from an untrusted CA is denied" {
  keyless_policy "$BATS_TEST_TMPDIR/keyless.yaml" "{issuer: \"$GITHUB\", subject: \"$WORKFLOW\"}"
  keyless_run "$(pod_request "$REGISTRY/signed/rogue:v1")" "$BATS_TEST_TMPDIR/keyless.yaml"
  [ "$(jq -r .allowed <<<"$output")" = "false" ]
  message=$(jq -r .status.message <<<"$output")
  [[ "$message" == *"signature keyless validation failed for authority authority-0 for $REGISTRY/signed/rogue@$ROGUE_DIGEST: no matching signatures: "* ]]
  ! host_words || [[ "$message" == *"does not chain to the trusted certificate authorities"* ]]
}

@test "keyless: ca-cert trusts a CA the host's trust root does not know" {
  cat >"$BATS_TEST_TMPDIR/ca.yaml" <<YAML
policies:
  - name: own-ca
    spec:
      images: [{glob: "$REGISTRY/signed/**"}]
      authorities:
        - keyless:
            ca-cert:
              data: |
$(sed 's/^/                /' "$WORK/rogue-ca/ca.pem")
            identities: [{issuer: "$GITHUB", subject: "$WORKFLOW"}]
YAML
  keyless_run "$(pod_request "$REGISTRY/signed/rogue:v1")" "$BATS_TEST_TMPDIR/ca.yaml"
  [ "$(jq -r .allowed <<<"$output")" = "true" ]
  # The CA of the trust root is not the authority's CA: the other image is refused.
  keyless_run "$(pod_request "$REGISTRY/signed/keyless:v1")" "$BATS_TEST_TMPDIR/ca.yaml"
  [ "$(jq -r .allowed <<<"$output")" = "false" ]
  [[ "$(jq -r .status.message <<<"$output")" == *"certificate not trusted by ca-cert: "* ]]
}

@test "two signature policies: one passing and one failing denies" {
  key_policy "$BATS_TEST_TMPDIR/key.yaml" "$WORK/keys/cosign.pub"
  cat >>"$BATS_TEST_TMPDIR/key.yaml" <<YAML
  - name: signed-keyless
    spec:
      images: [{glob: "$REGISTRY/signed/**"}]
      authorities: [{keyless: {identities: [{issuer: "$GITHUB", subject: "$WORKFLOW"}]}}]
YAML
  keyless_run "$(pod_request "$REGISTRY/signed/keyed:v1")" "$BATS_TEST_TMPDIR/key.yaml"
  [ "$(jq -r .allowed <<<"$output")" = "false" ]
  echo "$output" >"$BATS_FILE_TMPDIR/two-policies.json"
  message=$(jq -r .status.message <<<"$output")
  [ "$(head -n1 <<<"$message")" = "validation failed: failed policy: signed-keyless: spec.containers[0].image" ]
  [[ "$(sed -n 2p <<<"$message")" == "$REGISTRY/signed/keyed:v1@$KEYED_DIGEST signature keyless validation failed for authority authority-0 for $REGISTRY/signed/keyed@$KEYED_DIGEST: no matching signatures: "* ]]
  [ "$(wc -l <<<"$message")" -eq 2 ]
}

@test "key in warn mode: a wrong key only warns" {
  key_policy "$BATS_TEST_TMPDIR/key.yaml" "$WORK/keys/other.pub" warn
  evaluate "$(pod_request "$REGISTRY/signed/keyed:v1")" "$BATS_TEST_TMPDIR/key.yaml"
  [ "$(jq -r .allowed <<<"$output")" = "true" ]
  [[ "$(jq -r '.warnings[0]' <<<"$output")" == "failed policy: signed-by-key: spec.containers[0].image
$REGISTRY/signed/keyed:v1@$KEYED_DIGEST signature key validation failed for authority authority-0 for $REGISTRY/signed/keyed@$KEYED_DIGEST: no matching signatures: "* ]]
}

# --- Attestations with CUE --------------------------------------------------------------------

# The seed's policy, globs rewritten to the test registry.
seed_sbom_policy() {
  cat >"$1" <<YAML
policies:
  - apiVersion: policy.sigstore.dev/v1beta1
    kind: ClusterImagePolicy
    metadata:
      name: image-policy
    spec:
      images:
        - glob: "$REGISTRY/sbom/**"
      authorities:
        - keyless:
            identities:
              - issuer: https://accounts.google.com
                subject: user@example.com
          attestations:
            - name: must-have-cyclonedx
              predicateType: "https://cyclonedx.org/bom"
              policy:
                type: cue
                data: |
                  predicateType: "https://cyclonedx.org/bom"
                  predicate: {
                      specVersion: "1.4"
                      metadata: {
                          tools: [
                              {
                                  name: "trivy"
                              }
                          ]
                      }
                  }
YAML
}

# key_attestation_policy FILE NAME GLOB TYPE [POLICY [POLICY_TYPE]]: a key authority requiring one
# attestation, with a CUE (default) or Rego policy.
key_attestation_policy() {
  {
    printf '  - name: %s\n    spec:\n      images: [{glob: "%s"}]\n      authorities:\n        - key:\n            data: |\n' "$2" "$3"
    sed 's/^/              /' "$WORK/keys/cosign.pub"
    printf '          attestations:\n            - name: %s-attestation\n              predicateType: "%s"\n' "$2" "$4"
    if [ -n "${5:-}" ]; then
      printf '              policy:\n                type: %s\n                data: |\n' "${6:-cue}"
      printf '%s\n' "$5" | sed 's/^/                  /'
    fi
  } >>"$1"
}

@test "attestations: the seed's SBOM made by syft is denied with the seed's CUE message" {
  needs_attestations
  seed_sbom_policy "$BATS_TEST_TMPDIR/sbom.yaml"
  keyless_run "$(pod_request "$REGISTRY/sbom/syft:v1")" "$BATS_TEST_TMPDIR/sbom.yaml"
  [ "$(jq -r .allowed <<<"$output")" = "false" ]
  [ "$(jq -r .status.message <<<"$output")" = "validation failed: failed policy: image-policy: spec.containers[0].image
$REGISTRY/sbom/syft:v1@$SYFT_DIGEST failed evaluating cue policy for must-have-cyclonedx: failed to evaluate the policy with error: predicate.metadata.tools.0.name: conflicting values \"syft\" and \"trivy\"" ]
}

@test "attestations: the seed's SBOM made by trivy is admitted and pinned" {
  needs_attestations
  seed_sbom_policy "$BATS_TEST_TMPDIR/sbom.yaml"
  keyless_run "$(pod_request "$REGISTRY/sbom/trivy:v1")" "$BATS_TEST_TMPDIR/sbom.yaml"
  [ "$(jq -r .allowed <<<"$output")" = "true" ]
  [ "$(patch_value /spec/containers/0/image)" = "$REGISTRY/sbom/trivy:v1@$TRIVY_DIGEST" ]
}

@test "attestations: a custom predicate passes its CUE policy, and fails a stricter one" {
  needs_attestations
  echo "policies:" >"$BATS_TEST_TMPDIR/custom.yaml"
  key_attestation_policy "$BATS_TEST_TMPDIR/custom.yaml" custom "$REGISTRY/att/custom*" custom \
    'predicateType: "https://cosign.sigstore.dev/attestation/v1"
predicate: Data: "foobar e2e test"'
  evaluate "$(pod_request "$REGISTRY/att/custom:v1")" "$BATS_TEST_TMPDIR/custom.yaml"
  [ "$(jq -r .allowed <<<"$output")" = "true" ]
  echo "policies:" >"$BATS_TEST_TMPDIR/strict.yaml"
  key_attestation_policy "$BATS_TEST_TMPDIR/strict.yaml" strict "$REGISTRY/att/custom*" custom \
    'import "strings"
predicate: Data: strings.HasPrefix("release")'
  evaluate "$(pod_request "$REGISTRY/att/custom:v1")" "$BATS_TEST_TMPDIR/strict.yaml"
  [ "$(jq -r .allowed <<<"$output")" = "false" ]
  [[ "$(jq -r .status.message <<<"$output")" == "validation failed: failed policy: strict: spec.containers[0].image
$REGISTRY/att/custom:v1@$CUSTOM_DIGEST failed evaluating cue policy for strict-attestation: failed to evaluate the policy with error: predicate.Data: invalid value \"foobar e2e test\" (does not satisfy strings.HasPrefix(\"release\"))"* ]]
}

@test "attestations: a custom predicate passes a Rego policy, and fails one wanting other data" {
  needs_attestations
  echo "policies:" >"$BATS_TEST_TMPDIR/rego.yaml"
  key_attestation_policy "$BATS_TEST_TMPDIR/rego.yaml" rego "$REGISTRY/att/custom*" custom \
    'package sigstore
default isCompliant = false
isCompliant { input.predicate.Data == "foobar e2e test" }' rego
  evaluate "$(pod_request "$REGISTRY/att/custom:v1")" "$BATS_TEST_TMPDIR/rego.yaml"
  [ "$(jq -r .allowed <<<"$output")" = "true" ]
  [ "$(patch_value /spec/containers/0/image)" = "$REGISTRY/att/custom:v1@$CUSTOM_DIGEST" ]
  echo "policies:" >"$BATS_TEST_TMPDIR/other.yaml"
  key_attestation_policy "$BATS_TEST_TMPDIR/other.yaml" other "$REGISTRY/att/custom*" custom \
    'package sigstore
default isCompliant = false
isCompliant { input.predicate.Data == "something else" }' rego
  evaluate "$(pod_request "$REGISTRY/att/custom:v1")" "$BATS_TEST_TMPDIR/other.yaml"
  [ "$(jq -r .allowed <<<"$output")" = "false" ]
  [ "$(jq -r .status.message <<<"$output")" = "validation failed: failed policy: other: spec.containers[0].image
$REGISTRY/att/custom:v1@$CUSTOM_DIGEST failed evaluating rego policy for type other-attestation: policy is not compliant for query 'isCompliant = data.sigstore.isCompliant'" ]
}

@test "attestations: an image without attestations is denied" {
  needs_attestations
  echo "policies:" >"$BATS_TEST_TMPDIR/att.yaml"
  key_attestation_policy "$BATS_TEST_TMPDIR/att.yaml" needs-custom "$REGISTRY/att/**" custom
  evaluate "$(pod_request "$REGISTRY/att/none:v1")" "$BATS_TEST_TMPDIR/att.yaml"
  [ "$(jq -r .allowed <<<"$output")" = "false" ]
  [ "$(jq -r .status.message <<<"$output")" = "validation failed: failed policy: needs-custom: spec.containers[0].image
$REGISTRY/att/none:v1@$NONE_DIGEST attestation key validation failed for authority authority-0 for $REGISTRY/att/none@$NONE_DIGEST: no matching attestations: " ]
}

@test "attestations: an attestation of the wrong type never satisfies" {
  needs_attestations
  echo "policies:" >"$BATS_TEST_TMPDIR/att.yaml"
  key_attestation_policy "$BATS_TEST_TMPDIR/att.yaml" needs-cyclonedx "$REGISTRY/att/**" cyclonedx
  evaluate "$(pod_request "$REGISTRY/att/spdx:v1")" "$BATS_TEST_TMPDIR/att.yaml"
  [ "$(jq -r .allowed <<<"$output")" = "false" ]
  [ "$(jq -r .status.message <<<"$output")" = "validation failed: failed policy: needs-cyclonedx: spec.containers[0].image
$REGISTRY/att/spdx:v1@$SPDX_DIGEST no matching attestations with type cyclonedx, checked the following predicateTypes: \"https://spdx.dev/Document\"" ]
}

@test "attestations: an attestation signed by an untrusted key is denied" {
  needs_attestations
  echo "policies:" >"$BATS_TEST_TMPDIR/att.yaml"
  key_attestation_policy "$BATS_TEST_TMPDIR/att.yaml" needs-custom "$REGISTRY/att/**" custom
  evaluate "$(pod_request "$REGISTRY/att/otherkey:v1")" "$BATS_TEST_TMPDIR/att.yaml"
  [ "$(jq -r .allowed <<<"$output")" = "false" ]
  [ "$(jq -r .status.message <<<"$output")" = "validation failed: failed policy: needs-custom: spec.containers[0].image
$REGISTRY/att/otherkey:v1@$OTHERKEY_DIGEST attestation key validation failed for authority authority-0 for $REGISTRY/att/otherkey@$OTHERKEY_DIGEST: no matching attestations: attestation 1: the signature does not verify with the given public key" ]
}

@test "attestations: a Deployment whose two containers need different attestations" {
  needs_attestations
  echo "policies:" >"$BATS_TEST_TMPDIR/two.yaml"
  key_attestation_policy "$BATS_TEST_TMPDIR/two.yaml" needs-custom "$REGISTRY/att/custom*" custom
  key_attestation_policy "$BATS_TEST_TMPDIR/two.yaml" needs-spdx "$REGISTRY/att/spdx*" "https://spdx.dev/Document" \
    'predicate: spdxVersion: "SPDX-2.3"'
  request=$(deployment_request "$REGISTRY/att/custom:v1" | jq -c --arg img "$REGISTRY/att/spdx:v1" \
    '.object.spec.template.spec.containers += [{"name": "second", "image": $img}]')
  evaluate "$request" "$BATS_TEST_TMPDIR/two.yaml"
  [ "$(jq -r .allowed <<<"$output")" = "true" ]
  [ "$(patch_value /spec/template/spec/containers/0/image)" = "$REGISTRY/att/custom:v1@$CUSTOM_DIGEST" ]
  [ "$(patch_value /spec/template/spec/containers/1/image)" = "$REGISTRY/att/spdx:v1@$SPDX_DIGEST" ]
  # Swapped requirements: each container now lacks what its policy wants.
  echo "policies:" >"$BATS_TEST_TMPDIR/swapped.yaml"
  key_attestation_policy "$BATS_TEST_TMPDIR/swapped.yaml" needs-custom "$REGISTRY/att/spdx*" custom
  key_attestation_policy "$BATS_TEST_TMPDIR/swapped.yaml" needs-spdx "$REGISTRY/att/custom*" "https://spdx.dev/Document"
  evaluate "$request" "$BATS_TEST_TMPDIR/swapped.yaml"
  [ "$(jq -r .allowed <<<"$output")" = "false" ]
  message=$(jq -r .status.message <<<"$output")
  [[ "$message" == *"failed policy: needs-custom: spec.template.spec.containers[1].image"* ]]
  [[ "$message" == *"failed policy: needs-spdx: spec.template.spec.containers[0].image"* ]]
}

@test "signatureFormat bundle fails closed, naming the capability, on a host that cannot verify bundles" {
  [ -n "${KWCTL:-}" ] || skip "cip-host verifies bundles (see the cosign v3 section)"
  {
    printf 'policies:\n  - name: v3\n    spec:\n      images: [{glob: "%s/signed/**"}]\n      authorities:\n        - signatureFormat: bundle\n          key:\n            data: |\n' "$REGISTRY"
    sed 's/^/              /' "$WORK/keys/cosign.pub"
  } >"$BATS_TEST_TMPDIR/v3.yaml"
  evaluate "$(pod_request "$REGISTRY/signed/keyed:v1")" "$BATS_TEST_TMPDIR/v3.yaml"
  [ "$(jq -r .allowed <<<"$output")" = "false" ]
  [[ "$(jq -r .status.message <<<"$output")" == "validation failed: failed policy: v3: spec.containers[0].image
$REGISTRY/signed/keyed:v1@$KEYED_DIGEST signature key validation failed for authority authority-0 for $REGISTRY/signed/keyed@$KEYED_DIGEST: the host cannot verify cosign v3 bundles (oci/v2/verify SigstoreBundleVerify): "* ]]
}

# cip_policy FILE GLOB POLICY_TYPE POLICY_TEXT [POLICY_FLAGS_YAML]: one CIP named cip-level whose
# authorities are the key authority "signed" and the static authority "allow", and whose
# spec.policy is the given CUE or Rego text.
cip_policy() {
  {
    printf 'policies:\n  - name: cip-level\n    spec:\n      images: [{glob: "%s"}]\n      authorities:\n        - name: signed\n          key:\n            data: |\n' "$2"
    sed 's/^/              /' "$WORK/keys/cosign.pub"
    printf '        - name: allow\n          static: {action: pass}\n      policy:\n        type: %s\n%s        data: |\n' "$3" "${5:-}"
    printf '%s\n' "$4" | sed 's/^/          /'
  } >"$1"
}

@test "spec.policy: CUE over authorityMatches passes when both authorities passed" {
  cip_policy "$BATS_TEST_TMPDIR/cip.yaml" "$REGISTRY/signed/**" cue 'import "list"
authorityMatches: signed: signatures: list.MinItems(1)
authorityMatches: allow: static: true
_passing: len([for name, _ in authorityMatches {name}])
passing: _passing & 2'
  evaluate "$(pod_request "$REGISTRY/signed/keyed:v1")" "$BATS_TEST_TMPDIR/cip.yaml"
  [ "$(jq -r .allowed <<<"$output")" = "true" ]
  [ "$(patch_value /spec/containers/0/image)" = "$REGISTRY/signed/keyed:v1@$KEYED_DIGEST" ]
}

@test "spec.policy: a failing CUE policy denies, after the failed authority's error" {
  cip_policy "$BATS_TEST_TMPDIR/cip.yaml" "$REGISTRY/signed/**" cue 'authorityMatches: {...}
_passing: len([for name, _ in authorityMatches {name}])
passing: _passing & 2'
  evaluate "$(pod_request "$REGISTRY/signed/unsigned:v1")" "$BATS_TEST_TMPDIR/cip.yaml"
  [ "$(jq -r .allowed <<<"$output")" = "false" ]
  [ "$(jq -r .status.message <<<"$output")" = "validation failed: failed policy: cip-level: spec.containers[0].image
$REGISTRY/signed/unsigned:v1@$UNSIGNED_DIGEST signature key validation failed for authority signed for $REGISTRY/signed/unsigned@$UNSIGNED_DIGEST: no signatures found failed evaluating cue policy for ClusterImagePolicy: failed to evaluate the policy with error: passing: conflicting values 2 and 1" ]
}

@test "spec.policy: Rego over includeObjectMeta labels admits a labelled Pod and denies another" {
  cip_policy "$BATS_TEST_TMPDIR/cip.yaml" "$REGISTRY/knabben/**" rego 'package sigstore
default isCompliant = false
isCompliant {
  input.metadata.labels.team == "payments"
}' '        includeObjectMeta: true
'
  labelled=$(pod_request "$REGISTRY/knabben/netshoot:latest" | jq -c '.object.metadata.labels = {"team": "payments"}')
  evaluate "$labelled" "$BATS_TEST_TMPDIR/cip.yaml"
  [ "$(jq -r .allowed <<<"$output")" = "true" ]
  other=$(pod_request "$REGISTRY/knabben/netshoot:latest" | jq -c '.object.metadata.labels = {"team": "growth"}')
  evaluate "$other" "$BATS_TEST_TMPDIR/cip.yaml"
  [ "$(jq -r .allowed <<<"$output")" = "false" ]
  [ "$(jq -r .status.message <<<"$output")" = "validation failed: failed policy: cip-level: spec.containers[0].image
$REGISTRY/knabben/netshoot:latest@$NETSHOOT_DIGEST signature key validation failed for authority signed for $REGISTRY/knabben/netshoot@$NETSHOOT_DIGEST: no signatures found failed evaluating rego policy for type ClusterImagePolicy: policy is not compliant for query 'isCompliant = data.sigstore.isCompliant'" ]
}

@test "spec.policy: fetchConfigFile lets CUE check the image's architecture" {
  cip_policy "$BATS_TEST_TMPDIR/cip.yaml" "$REGISTRY/knabben/**" cue 'config: "linux/amd64": {architecture: "amd64", os: "linux"}' '        fetchConfigFile: true
'
  evaluate "$(pod_request "$REGISTRY/knabben/netshoot:latest")" "$BATS_TEST_TMPDIR/cip.yaml"
  [ "$(jq -r .allowed <<<"$output")" = "true" ]
  cip_policy "$BATS_TEST_TMPDIR/arm.yaml" "$REGISTRY/knabben/**" cue 'config: "linux/amd64": architecture: "arm64"' '        fetchConfigFile: true
'
  evaluate "$(pod_request "$REGISTRY/knabben/netshoot:latest")" "$BATS_TEST_TMPDIR/arm.yaml"
  [ "$(jq -r .allowed <<<"$output")" = "false" ]
  [ "$(jq -r .status.message <<<"$output")" = "validation failed: failed policy: cip-level: spec.containers[0].image
$REGISTRY/knabben/netshoot:latest@$NETSHOOT_DIGEST signature key validation failed for authority signed for $REGISTRY/knabben/netshoot@$NETSHOOT_DIGEST: no signatures found failed evaluating cue policy for ClusterImagePolicy: failed to evaluate the policy with error: config.\"linux/amd64\".architecture: conflicting values \"amd64\" and \"arm64\"" ]
}

@test "cip-host evaluate runs one CUE policy as an attestation policy is evaluated" {
  [ -z "${KWCTL:-}" ] || skip "cip-host only"
  printf '%s\n' 'predicateType: "https://cyclonedx.org/bom"' 'predicate: metadata: tools: [{name: "trivy"}]' >"$BATS_TEST_TMPDIR/policy.cue"
  jq -n --slurpfile p "$WORK/syft.json" '{_type: "https://in-toto.io/Statement/v0.1", predicateType: "https://cyclonedx.org/bom", subject: [], predicate: $p[0]}' >"$BATS_TEST_TMPDIR/syft.json"
  jq -n --slurpfile p "$WORK/trivy.json" '{_type: "https://in-toto.io/Statement/v0.1", predicateType: "https://cyclonedx.org/bom", subject: [], predicate: $p[0]}' >"$BATS_TEST_TMPDIR/trivy.json"
  run "$FIXTURES" evaluate --type cue --name must-have-cyclonedx --policy "$BATS_TEST_TMPDIR/policy.cue" --input "$BATS_TEST_TMPDIR/syft.json" "$POLICY"
  [ "$status" -eq 1 ]
  [ "$output" = 'failed evaluating cue policy for must-have-cyclonedx: failed to evaluate the policy with error: predicate.metadata.tools.0.name: conflicting values "syft" and "trivy"' ]
  run "$FIXTURES" evaluate --type cue --policy "$BATS_TEST_TMPDIR/policy.cue" --input "$BATS_TEST_TMPDIR/trivy.json" "$POLICY"
  [ "$status" -eq 0 ]
  [ "$output" = "" ]
}

@test "cip-host evaluate --kind cip runs a spec.policy over a PolicyResult, finding policy.wasm itself" {
  [ -z "${KWCTL:-}" ] || skip "cip-host only"
  printf '%s\n' 'package sigstore' 'default isCompliant = false' 'isCompliant { input.authorityMatches.signed.signatures[_].subject == "ci@example.com" }' >"$BATS_TEST_TMPDIR/cip.rego"
  printf '{"authorityMatches": {"signed": {"signatures": [{"id": "ab", "subject": "ci@example.com"}]}}}' >"$BATS_TEST_TMPDIR/ok.json"
  printf '{"authorityMatches": {"signed": {"signatures": [{"id": "ab", "subject": "dev@example.com"}]}}}' >"$BATS_TEST_TMPDIR/bad.json"
  printf '{"authorityMatch": {}}' >"$BATS_TEST_TMPDIR/typo.json"
  cp "$POLICY" "$BATS_TEST_TMPDIR/policy.wasm"
  cd "$BATS_TEST_TMPDIR"
  run "$FIXTURES" evaluate --kind cip --type rego --name ignored --policy cip.rego --input ok.json
  [ "$status" -eq 0 ]
  [ "$output" = "" ]
  run "$FIXTURES" evaluate --kind cip --type rego --policy cip.rego --input bad.json
  [ "$status" -eq 1 ]
  [ "$output" = "failed evaluating rego policy for type ClusterImagePolicy: policy is not compliant for query 'isCompliant = data.sigstore.isCompliant'" ]
  run "$FIXTURES" evaluate --kind cip --type rego --policy cip.rego --input typo.json
  [ "$status" -eq 1 ]
  [ "$output" = '"authorityMatch" is not a PolicyResult field (authorityMatches, config, spec, metadata, typemeta)' ]
  rm policy.wasm
  run --separate-stderr "$FIXTURES" evaluate --kind cip --type rego --policy cip.rego --input ok.json
  [ "$status" -ne 0 ]
  [[ "$stderr" == *"no policy module given and none found (looked for "*"policy.wasm); pass the path to policy.wasm"* ]]
}

# --- cip-host test: policy-controller's policy-tester ------------------------------------------

# tester ARGS...: `cip-host test` with the registry's sources; stdout in $output, stderr apart.
tester() {
  run --separate-stderr "$FIXTURES" test --sources-path "$WORK/sources.yml" "$@" "$POLICY"
}

# cips FILE: the tester's CIP file, two documents: knabben/** passes, signed/** needs the key.
cips() {
  {
    cat <<YAML
apiVersion: policy.sigstore.dev/v1beta1
kind: ClusterImagePolicy
metadata: {name: allow-knabben}
spec:
  images: [{glob: "$REGISTRY/knabben/**"}]
  authorities: [{static: {action: pass}}]
---
apiVersion: policy.sigstore.dev/v1beta1
kind: ClusterImagePolicy
metadata: {name: signed-by-key}
spec:
  images: [{glob: "$REGISTRY/signed/**"}]
  authorities:
    - key:
        data: |
YAML
    sed 's/^/          /' "$WORK/keys/cosign.pub"
  } >"$1"
}

@test "cip-host test: a passing image prints nothing and exits 0" {
  [ -z "${KWCTL:-}" ] || skip "cip-host only"
  cips "$BATS_TEST_TMPDIR/cips.yaml"
  tester --policy "$BATS_TEST_TMPDIR/cips.yaml" --image "$REGISTRY/knabben/netshoot:latest"
  [ "$status" -eq 0 ]
  [ "$output" = "" ]
  tester --policy "$BATS_TEST_TMPDIR/cips.yaml" --image "$REGISTRY/signed/keyed@$KEYED_DIGEST"
  [ "$status" -eq 0 ]
  [ "$output" = "" ]
}

@test "cip-host test: a failing image prints the tester's errors line and exits 1" {
  [ -z "${KWCTL:-}" ] || skip "cip-host only"
  cips "$BATS_TEST_TMPDIR/cips.yaml"
  tester --policy "$BATS_TEST_TMPDIR/cips.yaml" --image "$REGISTRY/signed/unsigned@$UNSIGNED_DIGEST"
  [ "$status" -eq 1 ]
  [ "$output" = "{\"errors\":[\"signature key validation failed for authority authority-0 for $REGISTRY/signed/unsigned@$UNSIGNED_DIGEST: no signatures found: \"]}" ]
}

@test "cip-host test: only the first authority's error, warn-mode failures as warnings" {
  [ -z "${KWCTL:-}" ] || skip "cip-host only"
  cat >"$BATS_TEST_TMPDIR/cips.yaml" <<YAML
apiVersion: policy.sigstore.dev/v1beta1
kind: ClusterImagePolicy
metadata: {name: a-warns}
spec:
  mode: warn
  images: [{glob: "$REGISTRY/knabben/**"}]
  authorities: [{static: {action: fail, message: not yet}}]
---
apiVersion: policy.sigstore.dev/v1beta1
kind: ClusterImagePolicy
metadata: {name: b-blocks}
spec:
  images: [{glob: "$REGISTRY/knabben/**"}]
  authorities:
    - {name: first, static: {action: fail, message: blocked}}
    - static: {action: fail, message: also blocked}
YAML
  tester --policy "$BATS_TEST_TMPDIR/cips.yaml" --image "$REGISTRY/knabben/netshoot:latest"
  [ "$status" -eq 1 ]
  [ "$output" = '{"errors":["disallowed by static policy: blocked: "],"warnings":["disallowed by static policy: not yet: "]}' ]
}

@test "cip-host test: an image no CIP covers is uncovered by policy" {
  [ -z "${KWCTL:-}" ] || skip "cip-host only"
  cips "$BATS_TEST_TMPDIR/cips.yaml"
  tester --policy "$BATS_TEST_TMPDIR/cips.yaml" --image "$REGISTRY/nicolaka/netshoot:latest"
  [ "$status" -eq 1 ]
  [ "$output" = "{\"errors\":[\"$REGISTRY/nicolaka/netshoot:latest is uncovered by policy\"]}" ]
}

@test "cip-host test: spec.match is checked against --resource, and nothing without it" {
  [ -z "${KWCTL:-}" ] || skip "cip-host only"
  cat >"$BATS_TEST_TMPDIR/cips.yaml" <<YAML
apiVersion: policy.sigstore.dev/v1beta1
kind: ClusterImagePolicy
metadata: {name: web-deployments}
spec:
  images: [{glob: "$REGISTRY/knabben/**"}]
  match: [{group: apps, version: v1, resource: deployments, selector: {matchLabels: {app: web}}}]
  authorities: [{static: {action: pass}}]
YAML
  printf 'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, labels: {app: web}}\nspec: {}\n' >"$BATS_TEST_TMPDIR/web.yaml"
  printf 'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: db, labels: {app: db}}\nspec: {}\n' >"$BATS_TEST_TMPDIR/db.yaml"
  tester --policy "$BATS_TEST_TMPDIR/cips.yaml" --image "$REGISTRY/knabben/netshoot:latest" --resource "$BATS_TEST_TMPDIR/web.yaml"
  [ "$status" -eq 0 ]
  tester --policy "$BATS_TEST_TMPDIR/cips.yaml" --image "$REGISTRY/knabben/netshoot:latest" --resource "$BATS_TEST_TMPDIR/db.yaml"
  [ "$status" -eq 1 ]
  [[ "$output" == *"is uncovered by policy"* ]]
  tester --policy "$BATS_TEST_TMPDIR/cips.yaml" --image "$REGISTRY/knabben/netshoot:latest"
  [ "$status" -eq 1 ]
  [[ "$output" == *"is uncovered by policy"* ]]
}

@test "cip-host test: an invalid CIP exits 1 with the validation message" {
  [ -z "${KWCTL:-}" ] || skip "cip-host only"
  cat >"$BATS_TEST_TMPDIR/cips.yaml" <<YAML
apiVersion: policy.sigstore.dev/v1beta1
kind: ClusterImagePolicy
metadata: {name: bad}
spec:
  images: [{glob: "$REGISTRY/knabben/**"}]
  authorities: [{static: {action: maybe}}]
YAML
  tester --policy "$BATS_TEST_TMPDIR/cips.yaml" --image "$REGISTRY/knabben/netshoot:latest"
  [ "$status" -eq 1 ]
  [ "$output" = "" ]
  [[ "$stderr" == "CIP is invalid: "*"invalid value: maybe: spec.authorities[0].static.action"* ]]
}

# ---- cosign v3 bundles (OCI referrers), verified by cip-host's SigstoreBundleVerify ----

# kwctl's host has no SigstoreBundleVerify.
needs_bundles() {
  [ -z "${KWCTL:-}" ] || skip "kwctl's host cannot verify cosign v3 bundles"
}

# v3_image NAME: pushes $REGISTRY/v3/NAME:v1 once per file run; prints its digest.
v3_image() {
  local file="$WORK/v3-$1.digest"
  [ -f "$file" ] || push_image "$WORK" "v3/$1:v1" "v3 $1" >"$file"
  cat "$file"
}

# v3_sign NAME [sign flags...]: cosign v3's layout for $REGISTRY/v3/NAME, once per file run.
v3_sign() {
  local name="$1" digest
  shift
  digest=$(v3_image "$name")
  [ -f "$WORK/v3-$name.signed" ] && return 0
  "$FIXTURES" sign --sources-path "$WORK/sources.yml" --bundle --testca "$WORK/ca" "$@" \
    "$REGISTRY/v3/$name@$digest" >/dev/null
  touch "$WORK/v3-$name.signed"
}

v3_keyless_flags() {
  printf '%s\n' --ca-key "$WORK/ca/ca.key" --ca-cert "$WORK/ca/ca.pem" --rekor-key "$WORK/ca/rekor.key" \
    --identity "$WORKFLOW" --issuer "$GITHUB"
}

# v3_key_policy FILE PUB [FORMAT]: a key authority over $REGISTRY/v3/** (signatureFormat FORMAT,
# bundle by default; "legacy" leaves the field out).
v3_key_policy() {
  {
    printf 'policies:\n  - name: v3\n    spec:\n      images: [{glob: "%s/v3/**"}]\n      authorities:\n        - key:\n            data: |\n' "$REGISTRY"
    sed 's/^/              /' "$2"
    [ "${3:-bundle}" = legacy ] || printf '          signatureFormat: bundle\n'
  } >"$1"
}

v3_keyless_policy() {
  cat >"$1" <<YAML
policies:
  - name: v3
    spec:
      images: [{glob: "$REGISTRY/v3/**"}]
      authorities:
        - signatureFormat: bundle
          keyless:
            identities: [$2]
YAML
}

v3_run() {
  evaluate "$1" "$2" --sigstore-trust-config "$WORK/ca/trust-config.json"
}

# How the policy reports a reason from the host other than "no signatures found".
HOST_FAILURE="no matching signatures: Callback evaluation failure:"

# v3_denied NAME KIND REASON: the only container of the Pod was denied for REASON.
v3_denied() {
  local digest
  digest=$(v3_image "$1")
  [ "$(jq -r .allowed <<<"$output")" = "false" ]
  [ "$(jq -r .status.message <<<"$output")" = "validation failed: failed policy: v3: spec.containers[0].image
$REGISTRY/v3/$1:v1@$digest signature $2 validation failed for authority authority-0 for $REGISTRY/v3/$1@$digest: $3" ]
}

@test "v3: a key-signed bundle is admitted and pinned, and denied under another key" {
  needs_bundles
  v3_sign keyed --key "$WORK/keys/cosign.key"
  v3_key_policy "$BATS_TEST_TMPDIR/p.yaml" "$WORK/keys/cosign.pub"
  v3_run "$(pod_request "$REGISTRY/v3/keyed:v1")" "$BATS_TEST_TMPDIR/p.yaml"
  [ "$(jq -r .allowed <<<"$output")" = "true" ]
  [ "$(patch_value /spec/containers/0/image)" = "$REGISTRY/v3/keyed:v1@$(v3_image keyed)" ]
  v3_key_policy "$BATS_TEST_TMPDIR/p.yaml" "$WORK/keys/other.pub"
  v3_run "$(pod_request "$REGISTRY/v3/keyed:v1")" "$BATS_TEST_TMPDIR/p.yaml"
  [ "$(jq -r .allowed <<<"$output")" = "false" ]
  [[ "$(jq -r .status.message <<<"$output")" == *"signature key validation failed for authority authority-0 for $REGISTRY/v3/keyed@$(v3_image keyed): no matching signatures: Callback evaluation failure: no bundle verifies: sha256:"*": the DSSE signature does not verify with any of the keys" ]]
}

@test "v3: a keyless bundle is admitted for the right identity and denied with the identity text" {
  needs_bundles
  mapfile -t flags < <(v3_keyless_flags)
  v3_sign keyless "${flags[@]}"
  v3_keyless_policy "$BATS_TEST_TMPDIR/p.yaml" "{issuer: \"$GITHUB\", subject: \"$WORKFLOW\"}"
  v3_run "$(pod_request "$REGISTRY/v3/keyless:v1")" "$BATS_TEST_TMPDIR/p.yaml"
  [ "$(jq -r .allowed <<<"$output")" = "true" ]
  v3_keyless_policy "$BATS_TEST_TMPDIR/p.yaml" "{issuerRegExp: '^https://token\\.actions\\.', subjectRegExp: '^https://github\\.com/acme/'}"
  v3_run "$(pod_request "$REGISTRY/v3/keyless:v1")" "$BATS_TEST_TMPDIR/p.yaml"
  [ "$(jq -r .allowed <<<"$output")" = "true" ]
  v3_keyless_policy "$BATS_TEST_TMPDIR/p.yaml" "{issuer: \"$GITHUB\", subject: \"https://github.com/acme/other/.github/workflows/release.yml@refs/tags/v1\"}"
  v3_run "$(pod_request "$REGISTRY/v3/keyless:v1")" "$BATS_TEST_TMPDIR/p.yaml"
  [ "$(jq -r .allowed <<<"$output")" = "false" ]
  [[ "$(jq -r .status.message <<<"$output")" == *": none of the expected identities matched what was in the certificate, got subjects [$WORKFLOW] with issuer $GITHUB" ]]
}

@test "v3: altered bundles are denied with their reason" {
  needs_bundles
  v3_sign tampered --key "$WORK/keys/cosign.key" --tamper-payload
  v3_sign otherentry --key "$WORK/keys/cosign.key" --log-entry-for-other-envelope
  v3_sign copied --key "$WORK/keys/cosign.key" --subject-digest "$(v3_image keyed)"
  v3_key_policy "$BATS_TEST_TMPDIR/p.yaml" "$WORK/keys/cosign.pub"
  for pair in "tampered:the DSSE signature does not verify with any of the keys" \
    "otherentry:log entry 0: the log entry is for another envelope (its digest differs)" \
    "copied:the statement's subject is not the image $(v3_image copied)"; do
    v3_run "$(pod_request "$REGISTRY/v3/${pair%%:*}:v1")" "$BATS_TEST_TMPDIR/p.yaml"
    [ "$(jq -r .allowed <<<"$output")" = "false" ]
    [[ "$(jq -r .status.message <<<"$output")" == *": no bundle verifies: sha256:"*": ${pair#*:}" ]]
  done
}

@test "v3: a fallback tag resolving to the image itself (GitLab) is denied with a clear reason" {
  needs_bundles
  v3_sign gitlab --key "$WORK/keys/cosign.key" --gitlab-fallback
  v3_key_policy "$BATS_TEST_TMPDIR/p.yaml" "$WORK/keys/cosign.pub"
  v3_run "$(pod_request "$REGISTRY/v3/gitlab:v1")" "$BATS_TEST_TMPDIR/p.yaml"
  [ "$status" -eq 0 ]
  local digest
  digest=$(v3_image gitlab)
  v3_denied gitlab key "$HOST_FAILURE the referrers fallback tag ${digest/:/-} resolves to the image itself, not to an OCI index of its referrers (the registry aliases digest tags, as GitLab does)"
}

@test "v3: more referrers than the cap are refused" {
  needs_bundles
  local digest
  digest=$(v3_image crowded)
  for _ in $(seq 1 65); do
    "$FIXTURES" sign --sources-path "$WORK/sources.yml" --bundle --testca "$WORK/ca" --key "$WORK/keys/other.key" \
      "$REGISTRY/v3/crowded@$digest" >/dev/null
  done
  v3_key_policy "$BATS_TEST_TMPDIR/p.yaml" "$WORK/keys/cosign.pub"
  v3_run "$(pod_request "$REGISTRY/v3/crowded:v1")" "$BATS_TEST_TMPDIR/p.yaml"
  v3_denied crowded key "$HOST_FAILURE the image has 65 referrers, more than the limit of 64"
}

@test "v3: a keyless Rekor v2 bundle without a timestamp has no trusted time" {
  needs_bundles
  mapfile -t flags < <(v3_keyless_flags)
  v3_sign notime "${flags[@]}" --no-timestamp
  v3_keyless_policy "$BATS_TEST_TMPDIR/p.yaml" "{issuer: \"$GITHUB\", subject: \"$WORKFLOW\"}"
  v3_run "$(pod_request "$REGISTRY/v3/notime:v1")" "$BATS_TEST_TMPDIR/p.yaml"
  [ "$(jq -r .allowed <<<"$output")" = "false" ]
  [[ "$(jq -r .status.message <<<"$output")" == *": no bundle verifies: sha256:"*": no trusted time: "* ]]
}

@test "v3: an attestation bundle or a v0.2 bundle is no signature" {
  needs_bundles
  v3_sign old --key "$WORK/keys/cosign.key" --bundle-version 0.2
  local digest
  digest=$(v3_image attested)
  "$FIXTURES" attest --sources-path "$WORK/sources.yml" --bundle --testca "$WORK/ca" --key "$WORK/keys/cosign.key" \
    --predicate "$WORK/custom.json" --type custom "$REGISTRY/v3/attested@$digest" >/dev/null
  v3_key_policy "$BATS_TEST_TMPDIR/p.yaml" "$WORK/keys/cosign.pub"
  for name in old attested; do
    v3_run "$(pod_request "$REGISTRY/v3/$name:v1")" "$BATS_TEST_TMPDIR/p.yaml"
    v3_denied "$name" key "no signatures found"
  done
}

@test "v3: an image with a legacy .sig and a v3 bundle is judged by the format the authority names" {
  needs_bundles
  local digest
  digest=$(v3_image both)
  "$FIXTURES" sign --sources-path "$WORK/sources.yml" --key "$WORK/keys/cosign.key" "$REGISTRY/v3/both@$digest" >/dev/null
  v3_sign both --key "$WORK/keys/other.key"
  v3_key_policy "$BATS_TEST_TMPDIR/p.yaml" "$WORK/keys/cosign.pub" legacy
  v3_run "$(pod_request "$REGISTRY/v3/both:v1")" "$BATS_TEST_TMPDIR/p.yaml"
  [ "$(jq -r .allowed <<<"$output")" = "true" ]
  v3_key_policy "$BATS_TEST_TMPDIR/p.yaml" "$WORK/keys/cosign.pub"
  v3_run "$(pod_request "$REGISTRY/v3/both:v1")" "$BATS_TEST_TMPDIR/p.yaml"
  [ "$(jq -r .allowed <<<"$output")" = "false" ]
  v3_key_policy "$BATS_TEST_TMPDIR/p.yaml" "$WORK/keys/other.pub"
  v3_run "$(pod_request "$REGISTRY/v3/both:v1")" "$BATS_TEST_TMPDIR/p.yaml"
  [ "$(jq -r .allowed <<<"$output")" = "true" ]
}

@test "v3: the seed's CycloneDX flow with attestation bundles: syft denied with the CUE message, trivy admitted" {
  needs_bundles
  local name digest
  for name in syft trivy; do
    digest=$(v3_image "sbom-$name")
    if [ ! -f "$WORK/v3-sbom-$name.attested" ]; then
      "$FIXTURES" attest --sources-path "$WORK/sources.yml" --bundle --testca "$WORK/ca" --ca-key "$WORK/ca/ca.key" \
        --ca-cert "$WORK/ca/ca.pem" --rekor-key "$WORK/ca/rekor.key" --identity "user@example.com" \
        --issuer "https://accounts.google.com" --predicate "$WORK/$name.json" --type cyclonedx \
        "$REGISTRY/v3/sbom-$name@$digest" >/dev/null
      touch "$WORK/v3-sbom-$name.attested"
    fi
  done
  seed_sbom_policy "$BATS_TEST_TMPDIR/sbom.yaml"
  sed -i "s|$REGISTRY/sbom/\*\*|$REGISTRY/v3/sbom-*|; s|^        - keyless:|        - signatureFormat: bundle\n          keyless:|" "$BATS_TEST_TMPDIR/sbom.yaml"
  keyless_run "$(pod_request "$REGISTRY/v3/sbom-syft:v1")" "$BATS_TEST_TMPDIR/sbom.yaml"
  [ "$(jq -r .allowed <<<"$output")" = "false" ]
  [ "$(jq -r .status.message <<<"$output")" = "validation failed: failed policy: image-policy: spec.containers[0].image
$REGISTRY/v3/sbom-syft:v1@$(v3_image sbom-syft) failed evaluating cue policy for must-have-cyclonedx: failed to evaluate the policy with error: predicate.metadata.tools.0.name: conflicting values \"syft\" and \"trivy\"" ]
  keyless_run "$(pod_request "$REGISTRY/v3/sbom-trivy:v1")" "$BATS_TEST_TMPDIR/sbom.yaml"
  [ "$(jq -r .allowed <<<"$output")" = "true" ]
  [ "$(patch_value /spec/containers/0/image)" = "$REGISTRY/v3/sbom-trivy:v1@$(v3_image sbom-trivy)" ]
}
