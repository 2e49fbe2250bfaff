#!/usr/bin/env bash
# Records the signature and attestation cases of test_data/cases/ (live-*.yaml) against a real
# registry with real signatures, so that tests/cases.rs replays them through policy.wasm without
# a registry. The expected answers are the live ones; e2e.bats asserts the same flows' messages
# exactly. Usage: test_data/cases/record-live.sh [cip-host] [policy.wasm]
set -euo pipefail
cd "$(dirname "$0")/../.."
HOST=${1:-target/release/cip-host}
POLICY=${2:-policy.wasm}
WORK=$(mktemp -d)
trap 'kill "$REGISTRY_PID" 2>/dev/null || true; rm -rf "$WORK"' EXIT
source test_data/e2e/lib.bash
start_registry "$WORK/registry"
printf 'insecure_sources:\n  - "%s"\n' "$REGISTRY" >"$WORK/sources.yml"
"$HOST" keygen --out "$WORK" --name cosign >/dev/null
"$HOST" keygen --out "$WORK" --name other >/dev/null
"$HOST" testca --out "$WORK/ca" >/dev/null
GH=https://token.actions.githubusercontent.com
WF=https://github.com/acme/app/.github/workflows/release.yml@refs/tags/v1
keyed=$(push_image "$WORK" app/keyed:v1 keyed)
keyless=$(push_image "$WORK" app/keyless:v1 keyless)
unsigned=$(push_image "$WORK" app/unsigned:v1 unsigned)
syft=$(push_image "$WORK" app/syft:v1 syft)
trivy=$(push_image "$WORK" app/trivy:v1 trivy)
"$HOST" sign --sources-path "$WORK/sources.yml" --key "$WORK/cosign.key" "$REGISTRY/app/keyed@$keyed" >/dev/null
"$HOST" sign --sources-path "$WORK/sources.yml" --ca-key "$WORK/ca/ca.key" --ca-cert "$WORK/ca/ca.pem" \
  --rekor-key "$WORK/ca/rekor.key" --identity "$WF" --issuer "$GH" "$REGISTRY/app/keyless@$keyless" >/dev/null
for tool in syft trivy; do
  printf '{"bomFormat":"CycloneDX","specVersion":"1.4","metadata":{"tools":[{"name":"%s"}]}}' "$tool" >"$WORK/$tool.json"
  digest=$syft; [ "$tool" = trivy ] && digest=$trivy
  "$HOST" attest --sources-path "$WORK/sources.yml" --key "$WORK/cosign.key" --predicate "$WORK/$tool.json" \
    --type cyclonedx "$REGISTRY/app/$tool@$digest" >/dev/null
done
key_yaml() { sed 's/^/          /' "$WORK/$1.pub"; }
mkdir -p "$WORK/cases"
# case NAME NOTE IMAGE SETTINGS_YAML
case_() {
  local dir="$WORK/cases/$1"
  mkdir -p "$dir"
  printf '%s' "$2" >"$dir/note"
  printf '%s' "$(pod_request "$REGISTRY/$3")" >"$dir/request.json"
  printf '%s\n' "$4" >"$dir/settings.yaml"
  "$HOST" run --sources-path "$WORK/sources.yml" --sigstore-trust-config "$WORK/ca/trust-config.json" \
    --record-host-capabilities-interactions "$dir/session.yml" -r "$dir/request.json" \
    -s "$dir/settings.yaml" "$POLICY" >"$dir/response.json" 2>/dev/null
}
KEY_POLICY="policies:
  - name: by-key
    spec:
      images: [{glob: \"$REGISTRY/app/**\"}]
      authorities:
      - key:
          data: |
$(key_yaml cosign | sed 's/^/  /')"
OTHER_KEY_POLICY="${KEY_POLICY//$(head -2 "$WORK/cosign.pub" | tail -1)/$(head -2 "$WORK/other.pub" | tail -1)}"
case_ live-key-signed "A key-signed image: one SigstorePubKeyVerify call, admitted and pinned." app/keyed:v1 "$KEY_POLICY"
case_ live-key-other-key "Signed with another key: denied with the host's reason." app/keyed:v1 "$OTHER_KEY_POLICY"
case_ live-key-unsigned "No .sig tag: no signatures found." app/unsigned:v1 "$KEY_POLICY"
KEYLESS="policies:
  - name: keyless
    spec:
      images: [{glob: \"$REGISTRY/app/**\"}]
      authorities: [{keyless: {identities: [IDENTITY]}}]"
case_ live-keyless-exact "Keyless, exact identity: one SigstoreKeylessVerify call." app/keyless:v1 "${KEYLESS/IDENTITY/{issuer: \"$GH\", subject: \"$WF\"\}}"
case_ live-keyless-regexp "Keyless, regular expression: the .sig manifest is read, the certificate's pair verified exactly." app/keyless:v1 "${KEYLESS/IDENTITY/{issuer: \"$GH\", subjectRegExp: \"^https://github[.]com/acme/.*\$\"\}}"
case_ live-keyless-mismatch "Keyless, wrong subject: the certificate's identities in the message." app/keyless:v1 "${KEYLESS/IDENTITY/{issuer: \"$GH\", subject: \"someone@example.com\"\}}"
case_ live-keyless-unsigned "Keyless, unsigned: no signatures found." app/unsigned:v1 "${KEYLESS/IDENTITY/{issuer: \"$GH\", subject: \"$WF\"\}}"
SBOM="$KEY_POLICY
        attestations:
        - name: must-have-cyclonedx
          predicateType: https://cyclonedx.org/bom
          policy:
            type: cue
            data: |
              predicate: metadata: tools: [{name: \"trivy\"}]"
case_ live-attestation-syft "The seed's CycloneDX flow: an SBOM made by syft fails the CUE policy." app/syft:v1 "$SBOM"
case_ live-attestation-trivy "The seed's CycloneDX flow: an SBOM made by trivy passes." app/trivy:v1 "$SBOM"
case_ live-attestation-missing "No attestations at all." app/unsigned:v1 "$SBOM"
python3 - "$WORK/cases" <<'PY'
import base64, json, os, sys, yaml
root = sys.argv[1]
for name in sorted(os.listdir(root)):
    d = os.path.join(root, name)
    resp = json.load(open(os.path.join(d, "response.json")))
    expect = {"allowed": resp["allowed"]}
    status = resp.get("status") or {}
    if status.get("message") is not None:
        expect["message"] = status["message"]
    if status.get("code") is not None:
        expect["code"] = status["code"]
    if resp.get("warnings"):
        expect["warnings"] = resp["warnings"]
    if resp.get("patch"):
        expect["patch"] = json.loads(base64.b64decode(resp["patch"]))
    case = {
        "note": open(os.path.join(d, "note")).read() + " (recorded by record-live.sh)",
        "settings": yaml.safe_load(open(os.path.join(d, "settings.yaml"))),
        "request": json.load(open(os.path.join(d, "request.json"))),
        "host": yaml.safe_load(open(os.path.join(d, "session.yml"))),
        "expect": expect,
    }
    with open(f"test_data/cases/{name}.yaml", "w") as f:
        yaml.safe_dump(case, f, sort_keys=False, width=200)
    print(name, expect["allowed"], (expect.get("message") or "")[:150].replace("\n", " | "))
PY
