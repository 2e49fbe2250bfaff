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
  [ "$message" = "validation failed: failed policy: signed-by-key: spec.containers[0].image
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
  [[ "$message" == *"does not chain to the trusted certificate authorities"* ]]
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
