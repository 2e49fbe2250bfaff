#!/usr/bin/env bash
# Records the host answers for the Deployment benchmark (20 containers, 50 CIPs: globs, keyless
# with exact and regular-expression identities, one attestation with the seed's CUE policy)
# against a real registry with real signatures, so `cip-host bench` can replay them.
# Usage: test_data/bench/record-deployment.sh [cip-host]   (writes test_data/bench/deployment-*)
set -euo pipefail
cd "$(dirname "$0")/../.."
HOST=${1:-target/release/cip-host}
export PATH="$(dirname "$HOST"):$PATH"
WORK=$(mktemp -d)
trap 'kill "$REGISTRY_PID" 2>/dev/null || true; rm -rf "$WORK"' EXIT
source test_data/e2e/lib.bash
start_registry "$WORK/registry"
printf 'insecure_sources:\n  - "%s"\n' "$REGISTRY" >"$WORK/sources.yml"
"$HOST" keygen --out "$WORK" --name cosign
"$HOST" testca --out "$WORK/ca"
printf '{"bomFormat":"CycloneDX","specVersion":"1.4","metadata":{"tools":[{"name":"trivy"}]}}' >"$WORK/sbom.json"
GH=https://token.actions.githubusercontent.com
WF=https://github.com/acme/svc/.github/workflows/release.yml@refs/tags/v1
containers=""
for i in $(seq 0 19); do
  digest=$(push_image "$WORK" "acme/svc$i:v1" "service $i")
  "$HOST" sign --sources-path "$WORK/sources.yml" --ca-key "$WORK/ca/ca.key" --ca-cert "$WORK/ca/ca.pem" \
    --rekor-key "$WORK/ca/rekor.key" --identity "$WF" --issuer "$GH" "$REGISTRY/acme/svc$i@$digest" >/dev/null
  "$HOST" attest --sources-path "$WORK/sources.yml" --key "$WORK/cosign.key" --predicate "$WORK/sbom.json" \
    --type cyclonedx "$REGISTRY/acme/svc$i@$digest" >/dev/null
  containers="$containers${containers:+,}{\"name\":\"c$i\",\"image\":\"$REGISTRY/acme/svc$i:v1\"}"
done
cat >test_data/bench/deployment-20-containers.json <<JSON
{"uid":"bench-deployment","kind":{"group":"apps","version":"v1","kind":"Deployment"},"operation":"CREATE","namespace":"secure","object":{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"d"},"spec":{"replicas":1,"template":{"metadata":{"labels":{"app":"d"}},"spec":{"containers":[$containers]}}}}}
JSON
{
  echo "policies:"
  for i in $(seq 0 46); do
    printf '  - name: other-%02d\n    spec:\n      images: [{glob: "registry-%d.example.com/**"}, {glob: "ghcr.io/other%d/*"}]\n      authorities: [{static: {action: pass}}]\n' "$i" "$i" "$i"
  done
  cat <<YAML
  - name: keyless-exact
    spec:
      images: [{glob: "$REGISTRY/acme/**"}]
      authorities: [{keyless: {identities: [{issuer: "$GH", subject: "$WF"}]}}]
  - name: keyless-regexp
    spec:
      images: [{glob: "$REGISTRY/acme/svc*"}]
      authorities: [{keyless: {identities: [{issuer: "$GH", subjectRegExp: '^https://github\\.com/acme/'}]}}]
  - name: sbom
    spec:
      images: [{glob: "$REGISTRY/acme/**"}]
      authorities:
        - key:
            data: |
$(sed 's/^/              /' "$WORK/cosign.pub")
          attestations:
            - name: must-have-cyclonedx
              predicateType: cyclonedx
              policy:
                type: cue
                data: |
                  predicateType: "https://cyclonedx.org/bom"
                  predicate: {
                      specVersion: "1.4"
                      metadata: tools: [{name: "trivy"}]
                  }
YAML
} >test_data/bench/50-cips.yaml
"$HOST" run --sources-path "$WORK/sources.yml" --sigstore-trust-config "$WORK/ca/trust-config.json" \
  --record-host-capabilities-interactions test_data/bench/deployment-20-containers.session.yml \
  -r test_data/bench/deployment-20-containers.json -s test_data/bench/50-cips.yaml policy.wasm | jq -c '{allowed, message: .status.message}'
