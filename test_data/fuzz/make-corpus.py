#!/usr/bin/env python3
"""Regenerates the fuzz seed corpora from the project's own fixtures (test_data/cases, cue, certs,
settings, bench, requests): real-looking inputs only. Run from the repository root; idempotent.
Hand-written seeds (names starting with `extra-`) are kept."""
import glob, hashlib, json, os, re, yaml

ROOT = "test_data/fuzz"


def put(target, name, text):
    d = os.path.join(ROOT, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "w") as f:
        f.write(text)


def short(text):
    return hashlib.sha256(text.encode()).hexdigest()[:8]


def dump(v):
    return json.dumps(v, indent=1, sort_keys=True) + "\n"


for target in ["admission", "settings", "cue_source", "cue_document", "signatures", "certificate", "attestation"]:
    for p in glob.glob(os.path.join(ROOT, target, "*")):
        if not os.path.basename(p).startswith("extra-"):
            os.remove(p)

seen = set()
per_origin = {}
# The bench session repeats one signing setup twenty times: a few of each kind are enough.
MAX_PER_ORIGIN = 3


def once(target, text, origin=None):
    key = (target, text)
    if key in seen:
        return False
    if origin is not None:
        n = per_origin.get((target, origin), 0)
        if n >= MAX_PER_ORIGIN:
            return False
        per_origin[(target, origin)] = n + 1
    seen.add(key)
    return True


def host_payloads(exchanges):
    for ex in exchanges or []:
        req = ex.get("request", "")
        resp = ex.get("response", {})
        if resp.get("type") == "Success":
            yield req, resp.get("payload", "")


PEM = re.compile(r"-----BEGIN CERTIFICATE-----\n.*?-----END CERTIFICATE-----\n?", re.S)


def from_manifest(payload, origin):
    if once("signatures", payload, origin):
        put("signatures", f"{origin}-{short(payload)}.json", payload)
        # cosign keeps attestations in the same layout, one DSSE envelope per layer.
        att = payload.replace("application/vnd.dev.cosign.simplesigning.v1+json", "application/vnd.dsse.envelope.v1+json")
        att = att.replace('"annotations":{', '"annotations":{"predicateType":"https://cyclonedx.org/bom",')
        put("signatures", f"{origin}-{short(payload)}.att.json", att)
    for layer in json.loads(payload).get("layers", []):
        for value in (layer.get("annotations") or {}).values():
            for pem in PEM.findall(value):
                if once("certificate", pem, origin):
                    put("certificate", f"{origin}-{short(pem)}.pem", pem)


def from_host(exchanges, origin):
    for req, payload in host_payloads(exchanges):
        if req.startswith("!OciManifest\n"):
            from_manifest(payload, origin)
        elif req.startswith("!SigstoreAttestationsVerify"):
            for st in json.loads(payload).get("statements", []):
                text = dump(st)
                if once("attestation", text, origin):
                    put("attestation", f"{origin}-{short(text)}.json", text)


for path in sorted(glob.glob("test_data/cases/*.yaml")):
    name = os.path.basename(path)[:-5]
    case = yaml.safe_load(open(path))
    for target, key in [("settings", "settings"), ("admission", "request")]:
        if key in case:
            text = dump(case[key])
            if once(target, text):
                put(target, f"{name}.json", text)
    from_host(case.get("host"), name)

for path in sorted(glob.glob("test_data/bench/*.session.yml")) + sorted(glob.glob("test_data/sessions/*.yml")):
    from_host(yaml.safe_load(open(path)), os.path.basename(path).split(".")[0])

for path in sorted(glob.glob("test_data/bench/*.json")) + sorted(glob.glob("test_data/requests/*.json")):
    text = dump(json.load(open(path)))
    if once("admission", text):
        put("admission", os.path.basename(path), text)

for path in sorted(glob.glob("test_data/bench/*-cips.yaml")) + ["test_data/settings/static-allow-list.yaml"]:
    text = dump(yaml.safe_load(open(path)))
    if once("settings", text):
        put("settings", os.path.basename(path)[:-5] + ".json", text)

for case in yaml.safe_load(open("test_data/settings/invalid.yaml")):
    text = dump(case["settings"])
    if once("settings", text):
        put("settings", f"invalid-{case['name']}.json", text)

for path in sorted(glob.glob("test_data/certs/*.pem")):
    text = open(path).read()
    if once("certificate", text):
        put("certificate", os.path.basename(path), text)

for path in sorted(glob.glob("test_data/cue/*.json")):
    name = os.path.basename(path)[:-5]
    case = json.load(open(path))
    policy = case["policy"]
    if once("cue_source", policy):
        put("cue_source", f"{name}.cue", policy)
    if isinstance(case["expect"], dict) and "compile_error" in case["expect"]:
        continue
    put("cue_document", f"{name}.json", dump({"policy": policy, "document": case["document"]}))
    doc = case["document"]
    if isinstance(doc, dict) and isinstance(doc.get("predicateType"), str) and "predicate" in doc:
        text = dump(doc)
        if once("attestation", text):
            put("attestation", f"{name}.json", text)

# References and globs: every image of the requests, every glob of the settings.
def strings_at(v, key, out):
    if isinstance(v, dict):
        for k, x in v.items():
            if k == key and isinstance(x, str):
                out.add(x)
            strings_at(x, key, out)
    elif isinstance(v, list):
        for x in v:
            strings_at(x, key, out)

found = set()
for p in glob.glob(os.path.join(ROOT, "admission", "*")):
    strings_at(json.load(open(p)), "image", found)
    strings_at(json.load(open(p)), "reference", found)
for p in glob.glob(os.path.join(ROOT, "settings", "*")):
    strings_at(json.load(open(p)), "glob", found)
os.makedirs(os.path.join(ROOT, "references"), exist_ok=True)
for p in glob.glob(os.path.join(ROOT, "references", "*")):
    if not os.path.basename(p).startswith("extra-"):
        os.remove(p)
shapes = set()
for s in sorted(found):
    # The bench settings number their registries: one of each shape is enough.
    shape = re.sub(r"[0-9]+", "N", s)
    if shape not in shapes:
        shapes.add(shape)
        put("references", f"{short(s)}.txt", s)
