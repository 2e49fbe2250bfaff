#!/usr/bin/env bash
# registry.bash DIR CIP_HOST: the registry half of bundle-agreement. Starts Debian's
# docker-registry (no referrers API, so the fallback tag is used), pushes two images,
# writes cosign v3 bundles to them with `cip-host sign|attest --bundle` (DIR/ca and DIR/k
# come from agree.mjs), checks the referrer manifests and the fallback index against
# cosign-v3.md §1 and §3, and copies each pulled bundle to DIR/registry-*.json for
# sigstore-js. Prints one line per check; exits non-zero on the first failure.
set -euo pipefail
dir="$1"
cip_host="$2"
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=../../test_data/e2e/lib.bash
source "$here/../../test_data/e2e/lib.bash"

start_registry "$dir/registry"
trap 'kill "$REGISTRY_PID" 2>/dev/null || true' EXIT
printf 'insecure_sources:\n  - "%s"\n' "$REGISTRY" >"$dir/sources.yml"
printf '{"buildType":"test"}' >"$dir/registry-predicate.json"
keyless=(--ca-key "$dir/ca/ca.key" --ca-cert "$dir/ca/ca.pem" --rekor-key "$dir/ca/rekor.key"
  --identity signer@example.com --issuer https://issuer.example.com)
common=(--sources-path "$dir/sources.yml" --bundle --testca "$dir/ca")

app=$(push_image "$dir" team/app:v1 app)
"$cip_host" sign "${common[@]}" --key "$dir/k/cosign.key" "$REGISTRY/team/app:v1" >/dev/null
"$cip_host" attest "${common[@]}" "${keyless[@]}" --predicate "$dir/registry-predicate.json" \
  --type slsaprovenance "$REGISTRY/team/app@$app" >/dev/null
# Again: the index must not list the same manifest twice (a new bundle is a new manifest).
"$cip_host" sign "${common[@]}" --key "$dir/k/cosign.key" --rekor-v1 "$REGISTRY/team/app@$app" >/dev/null
gitlab=$(push_image "$dir" team/gitlab:v1 gitlab)
"$cip_host" sign "${common[@]}" --key "$dir/k/cosign.key" --gitlab-fallback \
  "$REGISTRY/team/gitlab@$gitlab" >/dev/null

python3 - "$REGISTRY" "$app" "$gitlab" "$dir" <<'PY'
import hashlib, json, sys, urllib.request, urllib.error
registry, app, gitlab, out = sys.argv[1:]
V03 = "application/vnd.dev.sigstore.bundle.v0.3+json"
INDEX = "application/vnd.oci.image.index.v1+json"
MANIFEST = "application/vnd.oci.image.manifest.v1+json"
EMPTY = "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"

def get(path, accept=None):
    req = urllib.request.Request(f"http://{registry}/v2/{path}")
    if accept:
        req.add_header("Accept", accept)
    with urllib.request.urlopen(req) as r:
        return r.read(), r.headers.get("Content-Type")

def check(ok, what):
    print(("ok   " if ok else "FAIL ") + "registry: " + what)
    if not ok:
        sys.exit(1)

try:
    get(f"team/app/referrers/{app}", INDEX)
    check(False, "the test registry has no referrers API (fallback tag in use)")
except urllib.error.HTTPError as e:
    check(e.code == 404, f"GET /referrers answers {e.code}: the fallback tag is what clients read")

body, ctype = get(f"team/app/manifests/{app.replace(':', '-')}", f"{INDEX},{MANIFEST}")
index = json.loads(body)
check(ctype == INDEX and index.get("schemaVersion") == 2 and index.get("mediaType") == INDEX,
      f"fallback tag {app.replace(':', '-')} is an OCI index")
entries = index["manifests"]
digests = [e["digest"] for e in entries]
check(len(entries) == 3 and digests == sorted(digests) and len(set(digests)) == 3,
      "3 referrers, sorted by digest, no duplicates")
check(all(list(e) == ["mediaType", "size", "digest", "artifactType"] and e["artifactType"] == V03
          and e["mediaType"] == MANIFEST for e in entries),
      "entries are mediaType, size, digest, artifactType (no annotations)")
subject_body, _ = get(f"team/app/manifests/{app}", MANIFEST)
types = []
for n, e in enumerate(entries):
    raw, ctype = get(f"team/app/manifests/{e['digest']}", MANIFEST)
    m = json.loads(raw)
    check("sha256:" + hashlib.sha256(raw).hexdigest() == e["digest"] and len(raw) == e["size"],
          f"referrer {e['digest'][:19]} matches its index entry")
    check(list(m) == ["schemaVersion", "mediaType", "config", "layers", "annotations", "subject", "artifactType"],
          "manifest fields in cosign's order")
    check(m["config"] == {"mediaType": "application/vnd.oci.empty.v1+json", "size": 2, "digest": EMPTY,
                          "artifactType": V03}, "config is the empty blob with artifactType")
    check(m["subject"] == {"mediaType": MANIFEST, "size": len(subject_body), "digest": app},
          "subject is the image manifest")
    check(len(m["layers"]) == 1 and m["layers"][0]["mediaType"] == V03 and m["artifactType"] == V03,
          "one bundle layer, artifactType v0.3")
    a = m["annotations"]
    check(sorted(a) == ["dev.sigstore.bundle.content", "dev.sigstore.bundle.predicateType",
                        "org.opencontainers.image.created"] and a["dev.sigstore.bundle.content"] == "dsse-envelope",
          "annotations: content, predicateType, created")
    types.append(a["dev.sigstore.bundle.predicateType"])
    layer = m["layers"][0]
    blob, _ = get(f"team/app/blobs/{layer['digest']}")
    check("sha256:" + hashlib.sha256(blob).hexdigest() == layer["digest"], "bundle blob matches its digest")
    bundle = json.loads(blob)
    statement = json.loads(__import__("base64").b64decode(bundle["dsseEnvelope"]["payload"]))
    check("sha256:" + statement["subject"][0]["digest"]["sha256"] == app, "statement subject is the image")
    kind = "keyless" if "certificate" in bundle["verificationMaterial"] else "key"
    with open(f"{out}/registry-{n}-{kind}.json", "wb") as f:
        f.write(blob)
check(sorted(types) == sorted(["https://sigstore.dev/cosign/sign/v1"] * 2 + ["https://slsa.dev/provenance/v0.2"]),
      "predicateType annotations: sign twice, slsaprovenance once")

raw, ctype = get(f"team/gitlab/manifests/{gitlab.replace(':', '-')}", f"{INDEX},{MANIFEST}")
check("sha256:" + hashlib.sha256(raw).hexdigest() == gitlab and ctype == MANIFEST,
      "--gitlab-fallback: the fallback tag serves the subject manifest itself")
PY
