#!/usr/bin/env python3
"""Evaluates every test_data/rego/*.json case with real OPA, as cosign v3.0.5 does, and with ours
(`cip-host evaluate --type rego`), and compares both with the case's `expect`.

Real OPA here is PyPI's opa-golib-python-bindings 0.4.4: OPA's Go library (v1.20.2) built as a
c-shared library, loaded with ctypes (its wheel declares Python >= 3.14, but the library does not
depend on Python's version, so the wheel is fetched for 3.14 and loaded from any Python 3). The
bindings differ from cosign's use of OPA in two ways, bridged here:

* they parse every module as Rego v1, where cosign sets `ast.RegoV0` (a module opts in to v1 with
  `import rego.v1`). A v0 case is rewritten to v1 first (`to_v1`: `if` before each rule body,
  `contains` in partial set heads, line numbers kept), which is exact for what the v0 cases use;
  cases that only v0 accepts (deprecated builtins, v0-only keywords as names) are listed in
  allow-list.json under `not_judged_by_opa` with the reason.
* they evaluate with `StrictBuiltinErrors`, where cosign leaves builtin errors non-strict (the
  expression is undefined). A run that raises no builtin error is the same in both modes; a case
  whose run raises one cannot be judged and must be listed under `not_judged_by_opa`.

cosign's own code around OPA (`ValidateJSONWithModuleInput`, `evaluateRegoEvalMapResult`, the
message prefix of `EvaluatePolicyAgainstJSON`) is emulated in `cosign_verdict`, including Go's
`encoding/json` decoding of `{result, error, warning}` (keys matched case-insensitively, type
errors reported as Go reports them).

A case (test_data/rego/<name>.json): `note`; `level` (`attestation`: the input is an in-toto
statement, or `cip`: a PolicyResult); `name` (the attestation's name in messages, absent for
`ClusterImagePolicy`); `policy`; `input`; `expect`: `"pass"` or `{"message": <policy-controller's
message>}`.

Run: python3 tests/opa-real/agree.py --cip-host PATH --wasm policy.wasm
Exit 1 on any verdict disagreement, or a message disagreement that allow-list.json does not list.
"""

import argparse
import concurrent.futures
import ctypes
import hashlib
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
CASES = ROOT / "test_data" / "rego"
WHEEL_NAME = "opa_golib_python_bindings-0.4.4-py3-none-manylinux_2_34_x86_64.whl"
WHEEL_SHA256 = "d411c901e14b8c7c3023e23e4a944f4cf429c1d31baf80e959e57d11efbfd24a"
CACHE = HERE / ".opa"
QUERY = "isCompliant = data.sigstore.isCompliant"


# ---------------------------------------------------------------------------------------------
# Real OPA through the bindings' C ABI (the wheel's _native.py declares the same signatures).


class Opa:
    def __init__(self, library):
        lib = ctypes.CDLL(str(library))
        lib.OpaNew.restype = ctypes.c_uint64
        lib.OpaNew.argtypes = []
        lib.OpaDestroy.restype = None
        lib.OpaDestroy.argtypes = [ctypes.c_uint64]
        lib.OpaFreeString.restype = None
        lib.OpaFreeString.argtypes = [ctypes.c_void_p]
        lib.OpaAddPolicy.restype = ctypes.c_void_p
        lib.OpaAddPolicy.argtypes = [ctypes.c_uint64, ctypes.c_char_p, ctypes.c_char_p]
        lib.OpaEvalQuery.restype = ctypes.c_void_p
        lib.OpaEvalQuery.argtypes = [
            ctypes.c_uint64, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_int, ctypes.c_int,
        ]
        self.lib = lib

    def _call(self, fn, *args):
        ptr = fn(*args)
        if not ptr:
            raise RuntimeError("the OPA bindings returned NULL")
        try:
            return json.loads(ctypes.string_at(ptr))
        finally:
            self.lib.OpaFreeString(ptr)

    def run(self, module, policy, query, document):
        """(error code, error text) or (None, result set) for one fresh engine."""
        handle = self.lib.OpaNew()
        try:
            env = self._call(self.lib.OpaAddPolicy, handle, module.encode(), policy.encode())
            if env.get("error"):
                return env["error"]["code"], env["error"]["message"]
            env = self._call(
                self.lib.OpaEvalQuery, handle, query.encode(),
                json.dumps(document, ensure_ascii=False).encode(), 0, 0,
            )
            if env.get("error"):
                return env["error"]["code"], env["error"]["message"]
            return None, env.get("result") or []
        finally:
            self.lib.OpaDestroy(handle)


def fetch_library():
    """The bindings' shared library, downloaded once from PyPI; None (and why) when impossible."""
    library = CACHE / "opa_bindings" / "libopabridge.so"
    if library.exists():
        return library, None
    CACHE.mkdir(parents=True, exist_ok=True)
    wheel = CACHE / WHEEL_NAME
    if not wheel.exists():
        pip = subprocess.run(
            [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
             "--python-version", "3.14", "--only-binary=:all:", "--platform",
             "manylinux_2_34_x86_64", "opa-golib-python-bindings==0.4.4", "-d", str(CACHE)],
            capture_output=True, text=True,
        )
        if pip.returncode != 0 or not wheel.exists():
            lines = (pip.stderr or pip.stdout).strip().splitlines()
            return None, lines[-1] if lines else f"pip exited {pip.returncode}"
    digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
    if digest != WHEEL_SHA256:
        wheel.unlink()
        return None, f"{WHEEL_NAME} has sha256 {digest}, expected {WHEEL_SHA256}"
    with zipfile.ZipFile(wheel) as z:
        z.extract("opa_bindings/libopabridge.so", CACHE)
    return library, None


# ---------------------------------------------------------------------------------------------
# Rego v0 -> v1, for the bindings' v1-only parser.

RULE_START = re.compile(r"[A-Za-z_]")


def to_v1(policy):
    """Inserts `if` before each rule body and turns a partial set head `p[x]` into `p contains x`.

    Rule heads start at column 0 (or after `} else`); a `{` at bracket depth 0 in a head opens
    the body unless it is the value right after `=`/`:=`. Strings and comments are skipped.
    """
    out = []
    i, n = 0, len(policy)
    depth = 0
    head_start = None  # index in `out` where the current head begins
    value_pending = False  # just after `=` / `:=` in a head: a `{` is the value
    seen_assign = False
    line_start = True
    while i < n:
        c = policy[i]
        if c == "#":
            j = policy.find("\n", i)
            j = n if j < 0 else j
            out.append(policy[i:j])
            i = j
            continue
        if c == '"' or c == "`":
            j = i + 1
            while j < n and policy[j] != c:
                j += 2 if (c == '"' and policy[j] == "\\") else 1
            out.append(policy[i:j + 1])
            i = j + 1
            value_pending = False
            line_start = False
            continue
        if depth == 0 and head_start is None and line_start and RULE_START.match(c):
            word = re.match(r"[A-Za-z_][A-Za-z0-9_]*", policy[i:]).group(0)
            if word not in ("package", "import", "default"):
                head_start = len(out)
                seen_assign = False
                value_pending = False
        if depth == 0 and head_start is None and policy.startswith("else", i) and out and \
                "".join(out).rstrip().endswith("}"):
            head_start = len(out)
            seen_assign = False
            value_pending = False
        if head_start is not None and depth == 0:
            if policy.startswith(":=", i) or (c == "=" and policy[i + 1:i + 2] != "=" and
                                              policy[i - 1:i] not in ("=", "!", "<", ">", ":")):
                seen_assign = True
                value_pending = True
            elif c == "{" and not value_pending:
                head = "".join(out[head_start:])
                partial = re.fullmatch(r"(\s*[A-Za-z_][A-Za-z0-9_.]*)\[(.+)\](\s*)", head, re.S)
                if partial and not seen_assign:
                    out[head_start:] = [f"{partial.group(1)} contains {partial.group(2)}{partial.group(3)}"]
                out.append("if {")
                head_start = None
                depth += 1
                i += 1
                line_start = False
                continue
            elif c == "\n":
                head = "".join(out[head_start:])
                partial = re.fullmatch(r"(\s*[A-Za-z_][A-Za-z0-9_.]*)\[(.+)\](\s*)", head, re.S)
                if partial and not seen_assign:
                    out[head_start:] = [f"{partial.group(1)} contains {partial.group(2)}{partial.group(3)}"]
                if not value_pending:
                    head_start = None
            elif not c.isspace() and c not in "=:([{":
                value_pending = False
        if c in "([{":
            depth += 1
        elif c in ")]}":
            depth -= 1
            if depth == 0 and head_start is not None:
                value_pending = False
        out.append(c)
        line_start = c == "\n"
        i += 1
    return "".join(out)


def is_v1(policy):
    return re.search(r"^\s*import\s+rego\.v1\s*$", policy, re.M) is not None


# ---------------------------------------------------------------------------------------------
# cosign v3.0.5 around OPA.


def go_json_kind(value):
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def cosign_rule_result(element):
    """Go's json.Unmarshal of one element into CosignRuleResult{Warning, Error string; Result bool}:
    (result, error, warning, first decode error or None). Keys match fields case-insensitively
    (an exact match first, as Go); a later key overwrites an earlier one; the first type error is
    kept and decoding goes on."""
    fields = {"warning": ("Warning", str), "error": ("Error", str), "result": ("Result", bool)}
    got = {"warning": "", "error": "", "result": False}
    first_error = None
    for key, value in element.items():  # OPA's JSON has object keys sorted, as Go reads them
        name = key if key in fields else next((f for f in fields if f.lower() == key.lower()), None)
        if name is None or value is None:
            continue
        go_type = fields[name][1]
        if go_type is bool and isinstance(value, bool) or go_type is str and isinstance(value, str):
            got[name] = value
        elif first_error is None:
            type_name = "bool" if go_type is bool else "string"
            first_error = (f"json: cannot unmarshal {go_json_kind(value)} into Go struct field "
                           f"CosignRuleResult.{name} of type {type_name}")
    return got["result"], got["error"], got["warning"], first_error


def cosign_verdict(opa, policy, document, name):
    """'pass', ('fail', message), or ('not judged', why)."""
    code, result = opa.run("sigstore.rego", policy, QUERY, document)
    if code is not None:
        if "eval_builtin_error" in result or "eval_type_error" in result:
            return "not judged", f"OPA with StrictBuiltinErrors raised: {result}"
        return "fail", f"failed evaluating rego policy for type {name}: {result}"
    for binding in (r.get("bindings", {}) for r in result):
        response = binding.get("isCompliant")
        if isinstance(response, list):
            warning, error = None, f'policy is not compliant for query "{QUERY}"'
            for element in response:
                if not isinstance(element, dict):
                    return "not judged", "cosign panics on a non-object element (type assertion)"
                ok, err, warn, decode_error = cosign_rule_result(element)
                if decode_error is not None:
                    error = f"policy is not compliant for query '{QUERY}' due to parsing errors: {decode_error}"
                    warning = None
                    break
                if ok:
                    if warn == "":
                        return "pass"
                    return "fail", f"warning: {warn}"
                warning = warn
                error = f"policy is not compliant for query '{QUERY}' with errors: {err}"
            return "fail", f"failed evaluating rego policy for type {name}: {error}"
        if response is True:
            return "pass"
    return "fail", f"failed evaluating rego policy for type {name}: policy is not compliant for query '{QUERY}'"


# ---------------------------------------------------------------------------------------------


def ours(cip_host, wasm, case, work):
    policy = work / f"{case['_name']}.rego"
    document = work / f"{case['_name']}.json"
    policy.write_text(case["policy"])
    document.write_text(json.dumps(case["input"]))
    run = subprocess.run(
        [str(cip_host), "evaluate", "--type", "rego", "--policy", str(policy), "--input",
         str(document), "--name", case_name(case), str(wasm)],
        capture_output=True, text=True, timeout=120,
    )
    if run.returncode == 0:
        return "pass"
    if run.returncode == 1 and run.stdout.strip():
        return "fail", run.stdout.rstrip("\n")
    return "error", f"cip-host exited {run.returncode}: {run.stderr.strip()}"


def case_name(case):
    return case.get("name", "ClusterImagePolicy")


def show(verdict):
    return "pass" if verdict == "pass" else f"{verdict[0]}: {verdict[1]!r}"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--cip-host", required=True)
    parser.add_argument("--wasm", required=True)
    args = parser.parse_args()
    started = time.monotonic()

    skipped = "rego agreement skipped: real OPA (PyPI opa-golib-python-bindings 0.4.4) is not available"
    if platform.system() != "Linux" or platform.machine() != "x86_64":
        print(f"{skipped}: its wheel is built for Linux x86_64 only")
        return 0
    library, why = fetch_library()
    if library is None:
        print(f"{skipped}: {why}")
        return 0
    try:
        opa = Opa(library)
    except OSError as e:  # e.g. a glibc older than the wheel's 2.34
        print(f"{skipped}: {e}")
        return 0
    allow = json.loads((HERE / "allow-list.json").read_text())
    not_judged = allow["not_judged_by_opa"]
    known = allow["known_message_differences"]

    cases = []
    for path in sorted(CASES.glob("*.json")):
        case = json.loads(path.read_text())
        case["_name"] = path.stem
        cases.append(case)

    if not cases:
        print(f"no cases in {CASES}")
        return 1
    names = {c["_name"] for c in cases}
    problems = [f"{n}: listed in allow-list.json but no such case" for n in sorted((set(not_judged) | set(known)) - names)]
    with tempfile.TemporaryDirectory(prefix="rego-agree-") as tmp:
        with concurrent.futures.ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
            our_runs = {c["_name"]: pool.submit(ours, args.cip_host, args.wasm, c, Path(tmp))
                        for c in cases}
            counts = dict(real_verdicts=0, real_messages=0, real_skipped=0, our_verdicts=0,
                          our_messages=0, our_known=0)
            for case in cases:
                name = case["_name"]
                expect = "pass" if case["expect"] == "pass" else ("fail", case["expect"]["message"])
                policy = case["policy"] if is_v1(case["policy"]) else to_v1(case["policy"])
                real = cosign_verdict(opa, policy, case["input"], case_name(case))
                if name in not_judged:
                    counts["real_skipped"] += 1
                    if real[0] != "not judged" and real == expect:
                        problems.append(f"{name}: listed as not judged by OPA, but real OPA agrees: "
                                        "remove it from not_judged_by_opa")
                elif real[0] == "not judged":
                    problems.append(f"{name}: real OPA cannot judge it ({real[1]}); list it in not_judged_by_opa")
                elif (real == "pass") != (expect == "pass"):
                    problems.append(f"VERDICT DISAGREES {name}: expect {show(expect)}, real OPA {show(real)}")
                elif real != expect:
                    counts["real_verdicts"] += 1
                    problems.append(f"message differs {name}: expect {show(expect)}, real OPA {show(real)}")
                else:
                    counts["real_verdicts"] += 1
                    counts["real_messages"] += 1
                mine = our_runs[name].result()
                if mine[0] == "error" or (mine == "pass") != (expect == "pass"):
                    problems.append(f"VERDICT DISAGREES {name}: expect {show(expect)}, ours {show(mine)}")
                elif mine == expect:
                    counts["our_verdicts"] += 1
                    counts["our_messages"] += 1
                    if name in known:
                        problems.append(f"{name}: listed in known_message_differences, but ours agrees: remove it")
                else:
                    counts["our_verdicts"] += 1
                    if name in known:
                        counts["our_known"] += 1
                    else:
                        problems.append(f"message differs {name}: expect {show(expect)}, ours {show(mine)}")
    for p in problems:
        print(p)
    judged = len(cases) - counts["real_skipped"]
    print(f"Rego agreement with real OPA v1.20.2: {len(cases)} cases; real OPA judged {judged}: "
          f"{counts['real_verdicts']} verdicts, {counts['real_messages']} messages agree with the cases; "
          f"ours: {counts['our_verdicts']} verdicts, {counts['our_messages']} messages agree, "
          f"{counts['our_known']} known message differences ({time.monotonic() - started:.1f} s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
