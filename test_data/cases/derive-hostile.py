#!/usr/bin/env python3
"""Derives the hostile-host cases from the recorded live ones (run after record-live.sh).

Each takes a recorded case whose host answered well and changes one answer the way a broken or
hostile host would; the expected denial is written here by rule, not recorded:
- untrusted_key_answer_*, untrusted_keyless_regexp_answer_*: an oci/v2/verify answer with the
  right digest but `is_trusted` false, null, "false" or missing is not a verification;
- attestation_subject_of_another_digest_is_denied: a statement whose in-toto subject names
  another digest does not satisfy the requirement.
"""
import copy
import json
import os

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))


def load(name):
    with open(os.path.join(HERE, name)) as f:
        return yaml.safe_load(f)


def save(case, name):
    with open(os.path.join(HERE, name), "w") as f:
        yaml.safe_dump(case, f, sort_keys=False, width=200)


def compact(answer):
    """The answer as the guest quotes it: compact JSON, keys sorted (serde_json's map)."""
    return json.dumps(dict(sorted(answer.items())), separators=(",", ":"))


def untrusted(source, policy, kind, variants, prefix):
    base = load(source)
    image = base["request"]["object"]["spec"]["containers"][0]["image"]
    repo = image.rsplit(":", 1)[0]
    for label, trusted in variants:
        case = copy.deepcopy(base)
        case["note"] = (
            f"Regression (fail-open): {kind}: the host answers oci/v2/verify with the right digest but "
            f"is_trusted {label.replace('_', ' ')}: denied, quoting the answer. (derived by derive-hostile.py)"
        )
        answer = None
        for exchange in case["host"]:
            payload = exchange["response"].get("payload", "")
            if '"is_trusted":true' in payload:
                answer = json.loads(payload)
                if trusted is None:
                    del answer["is_trusted"]
                else:
                    answer["is_trusted"] = json.loads(trusted)
                exchange["response"]["payload"] = json.dumps(answer, separators=(",", ":"))
                break
        assert answer is not None, f"{source} has no trusted verify answer"
        digest = answer["digest"]
        quoted = compact(answer)
        case["host"] = with_digest_fallback(case["host"], image, digest, repo)
        case["expect"] = {
            "allowed": False,
            "code": 400,
            "message": (
                f"validation failed: failed policy: {policy}: spec.containers[0].image\n"
                f"{image}@{digest} signature {kind} validation failed for authority authority-0 for "
                f"{repo}@{digest}: no matching signatures: the host did not verify the signatures: {quoted}"
            ),
        }
        save(case, f"{prefix}_{label}.yaml")


def with_digest_fallback(host, image, digest, repo):
    """When a verification made on the tag fails, the guest looks the digest up and asks again at
    the digest: the recorded tag answer is replayed for both."""
    out = []
    for exchange in host:
        request = exchange["request"]
        tag_verify = request.startswith("!Sigstore") and f"image: {image}\n" in request
        out.append(exchange)
        if tag_verify:
            out.append({
                "type": "Exchange",
                "request": f"!OciManifestDigest\nimage: {image}\n",
                "response": {"type": "Success", "payload": json.dumps({"digest": digest}, separators=(",", ":"))},
            })
            again = copy.deepcopy(exchange)
            again["request"] = request.replace(f"image: {image}\n", f"image: {repo}@{digest}\n")
            out.append(again)
    return out


def attestation_subject():
    case = load("live-attestation-trivy.yaml")
    case["note"] = (
        "Regression (fail-open): the host returns a trivy SBOM statement whose in-toto subject names "
        "another digest: the guest does not believe it and denies. (derived by derive-hostile.py)"
    )
    image = case["request"]["object"]["spec"]["containers"][0]["image"]
    repo = image.rsplit(":", 1)[0]
    exchange = next(e for e in case["host"] if "statements" in e["response"].get("payload", ""))
    answer = json.loads(exchange["response"]["payload"])
    digest = answer["digest"]
    for statement in answer["statements"]:
        for subject in statement["subject"]:
            subject["digest"] = {"sha256": "0" * 64}
    exchange["response"]["payload"] = json.dumps(answer, separators=(",", ":"))
    case["expect"] = {
        "allowed": False,
        "code": 400,
        "message": (
            f"validation failed: failed policy: by-key: spec.containers[0].image\n"
            f"{image}@{digest} attestation key validation failed for authority authority-0 for {repo}@{digest}: "
            f"no matching attestations: the host returned {len(answer['statements'])} statement(s) "
            f"whose subject does not name {digest}"
        ),
    }
    save(case, "attestation_subject_of_another_digest_is_denied.yaml")


VARIANTS = [("false", "false"), ("null", "null"), ("string_false", '"false"'), ("missing", None)]
untrusted("live-key-signed.yaml", "by-key", "key", VARIANTS, "untrusted_key_answer")
untrusted("live-keyless-regexp.yaml", "keyless", "keyless", VARIANTS[::3], "untrusted_keyless_regexp_answer")
attestation_subject()
