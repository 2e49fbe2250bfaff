#!/usr/bin/env bats
# End-to-end: the real policy.wasm, a real OCI registry on 127.0.0.1, images pushed with skopeo.
# Runs under cip-host, or under a real kwctl with KWCTL=kwctl.

bats_require_minimum_version 1.5.0

HOST=${KWCTL:-cip-host}
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
