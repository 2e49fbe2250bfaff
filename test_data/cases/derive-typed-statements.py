#!/usr/bin/env python3
"""Derives the typed-statement cases (issue 13) from the recorded trivy case.

cosign hands an attestation policy the statement re-encoded through the Go struct its predicate
short name selects (src/verify/statement.rs). Each case swaps in a statement and a policy; the
expected verdict is written here by rule, not recorded:
- attestation_vuln_policy_sees_go_zero_values: under `vuln` an absent scanner.db.uri is "" and
  conflicts with the policy;
- attestation_vuln_uri_sees_the_statement_as_signed: the same statement and policy under the URI
  spelling: the field stays absent, the policy passes;
- attestation_slsaprovenance_that_does_not_fit_is_denied: a string where SLSA v0.2 wants a builder
  object gets cosign's unmarshaling error.
"""
import json
import os

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
VULN_URI = "https://cosign.sigstore.dev/attestation/vuln/v1"
SLSA02_URI = "https://slsa.dev/provenance/v0.2"


def load(name):
    with open(os.path.join(HERE, name)) as f:
        return yaml.safe_load(f)


def save(case, name):
    with open(os.path.join(HERE, name), "w") as f:
        yaml.safe_dump(case, f, sort_keys=False, width=200)


def derive(name, note, predicate_type, uri, predicate, policy, expect):
    case = load("live-attestation-trivy.yaml")
    case["note"] = note + " (derived by derive-typed-statements.py)"
    attestation = case["settings"]["policies"][0]["spec"]["authorities"][0]["attestations"][0]
    attestation["name"] = "scan"
    attestation["predicateType"] = predicate_type
    attestation["policy"] = {"type": "cue", "data": policy}
    exchange = next(e for e in case["host"] if "statements" in e["response"].get("payload", ""))
    exchange["request"] = exchange["request"].replace("predicate_type: https://cyclonedx.org/bom", f"predicate_type: {uri}")
    answer = json.loads(exchange["response"]["payload"])
    for statement in answer["statements"]:
        statement["predicateType"] = uri
        statement["predicate"] = predicate
    exchange["response"]["payload"] = json.dumps(answer, separators=(",", ":"))
    image = case["request"]["object"]["spec"]["containers"][0]["image"]
    digest = answer["digest"]
    if expect is None:
        case["expect"]["allowed"] = True
    else:
        case["expect"] = {
            "allowed": False,
            "code": 400,
            "message": f"validation failed: failed policy: by-key: spec.containers[0].image\n{image}@{digest} {expect}",
        }
    save(case, name + ".yaml")


SCAN = {"scanner": {"uri": "pkg:github/aquasecurity/trivy", "version": "0.50.0", "result": {"Results": []}}}
DB_POLICY = 'predicate: scanner: db: uri: "https://db.example"\n'
derive(
    "attestation_vuln_policy_sees_go_zero_values",
    "Issue 13: under the `vuln` short name cosign's policy sees the Go zero value of an absent field "
    "(scanner.db.uri is \"\"), so a policy naming it is denied.",
    "vuln",
    VULN_URI,
    SCAN,
    DB_POLICY,
    "failed evaluating cue policy for scan: failed to evaluate the policy with error: "
    'predicate.scanner.db.uri: conflicting values "" and "https://db.example"',
)
derive(
    "attestation_vuln_uri_sees_the_statement_as_signed",
    "Issue 13: the same statement and policy under the URI spelling: the generic statement keeps "
    "the field absent and the policy passes.",
    VULN_URI,
    VULN_URI,
    SCAN,
    DB_POLICY,
    None,
)
derive(
    "attestation_slsaprovenance_that_does_not_fit_is_denied",
    "Issue 13: a SLSA v0.2 statement whose builder is a string cannot be decoded into cosign's "
    "ProvenanceStatementSLSA02 and is denied with cosign's (sic) message.",
    "slsaprovenance",
    SLSA02_URI,
    {"builder": "https://builder", "buildType": "make"},
    'predicate: buildType: "make"\n',
    "unmarshaling ProvenanceStatementSLSA02): json: cannot unmarshal string into Go struct field "
    "ProvenancePredicate.predicate.builder of type common.ProvenanceBuilder",
)
