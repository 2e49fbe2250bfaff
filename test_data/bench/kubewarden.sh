#!/usr/bin/env bash
# make bench-kubewarden: this policy and Kubewarden's own verify-image-signatures side by side
# under the real kwctl, on the same 3-container Pod of key-signed images in a local registry.
# Prints each policy's kwctl bench median per round (A B A B ...), the medians' ratio ours/peer,
# an A/A run (ours against ours) for the harness's noise, and, from cip-host on recorded answers,
# the host calls per request and each guest's own time.
set -euo pipefail
cd "$(dirname "$0")/../.."

KWCTL=${KWCTL:-$(realpath -m ../shared/kubewarden/kwctl)}
PEER=${PEER:-$(realpath -m ../shared/kubewarden/verify-image-signatures-1.0.11.wasm)}
OURS=${OURS:-annotated-policy.wasm}
CIP_HOST=${CIP_HOST:-cip-host}
ROUNDS=${ROUNDS:-3}
SECONDS_PER_RUN=${SECONDS_PER_RUN:-5}
if [ ! -x "$KWCTL" ] || [ ! -f "$PEER" ]; then
  echo "bench-kubewarden skipped: $KWCTL or $PEER is absent (only the team's machines have ../shared)"
  exit 0
fi
unset RUST_BACKTRACE

# shellcheck source=../e2e/lib.bash
. test_data/e2e/lib.bash
WORK=$(mktemp -d)
cleanup() { kill "${REGISTRY_PID:-}" 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT
start_registry "$WORK/registry"
printf 'insecure_sources:\n  - "%s"\n' "$REGISTRY" >"$WORK/sources.yml"
"$CIP_HOST" keygen --out "$WORK/keys" --name cosign >/dev/null
images=()
for name in a b c; do
  digest=$(push_image "$WORK" "bench/$name:v1" "bench $name" 2>/dev/null)
  "$CIP_HOST" sign --sources-path "$WORK/sources.yml" --key "$WORK/keys/cosign.key" \
    "$REGISTRY/bench/$name@$digest" >/dev/null
  images+=("$REGISTRY/bench/$name:v1")
done
pod_request "${images[@]}" >"$WORK/request.json"
pem=$(jq -Rs . <"$WORK/keys/cosign.pub")
cat >"$WORK/ours.json" <<JSON
{"policies": [{"name": "signed-by-key", "spec": {"images": [{"glob": "$REGISTRY/bench/**"}],
  "authorities": [{"key": {"data": $pem}}]}}]}
JSON
cat >"$WORK/peer.json" <<JSON
{"signatures": [{"image": "$REGISTRY/bench/*", "pubKeys": [$pem]}]}
JSON

# Both must admit the Pod, or the comparison means nothing.
for pair in "$OURS:ours" "$PEER:peer"; do
  allowed=$("$KWCTL" run --sources-path "$WORK/sources.yml" --request-path "$WORK/request.json" \
    --settings-path "$WORK/${pair##*:}.json" "${pair%:*}" 2>/dev/null | jq -r .allowed)
  [ "$allowed" = "true" ] || { echo "${pair##*:} did not admit the benchmark Pod" >&2; exit 1; }
done

# kwctl bench prints, per benchmark, "validate [N iterations ...]" and then "med = 185.24µs";
# the median of validate, in µs.
median() {
  "$KWCTL" bench --sources-path "$WORK/sources.yml" --request-path "$WORK/request.json" \
    --settings-path "$WORK/$2.json" --warm-up-time 1 --measurement-time "$SECONDS_PER_RUN" \
    "$1" 2>/dev/null | python3 -c '
import re, sys
text = re.sub(r"\x1b\[[0-9;]*m", "", sys.stdin.read())
block = re.search(r"^validate \[.*?med = ([0-9.]+)(ns|µs|us|ms|s)\b", text, re.S | re.M)
if not block:
    sys.exit("no validate median in kwctl bench output:\n" + text)
scale = {"ns": 1e-3, "µs": 1, "us": 1, "ms": 1e3, "s": 1e6}[block.group(2)]
print(f"{float(block.group(1)) * scale:.1f}")
'
}

ours=() peer=() aa=()
for round in $(seq 1 "$ROUNDS"); do
  a=$(median "$OURS" ours); b=$(median "$PEER" peer); c=$(median "$OURS" ours)
  ours+=("$a" "$c"); peer+=("$b"); aa+=("$a/$c")
  echo "round $round: ours $a µs, peer $b µs, ours again $c µs"
done
python3 - "${ours[*]}" "${peer[*]}" "${aa[*]}" <<'PY'
import statistics, sys
ours = [float(x) for x in sys.argv[1].split()]
peer = [float(x) for x in sys.argv[2].split()]
aa = [float(a) / float(b) for a, b in (p.split("/") for p in sys.argv[3].split())]
mo, mp = statistics.median(ours), statistics.median(peer)
print(f"kwctl bench validate median: ours {mo:.1f} µs, verify-image-signatures {mp:.1f} µs, ratio ours/peer {mo / mp:.2f}")
print(f"A/A noise (ours/ours within a round): {min(aa):.2f} .. {max(aa):.2f}")
PY

# Host calls per request, and each guest's own time on the same recorded answers (replayed, so
# the registry and the signature checks cost nothing), measured by cip-host.
for pair in "$OURS:ours" "$PEER:peer"; do
  name=${pair##*:}
  "$CIP_HOST" run --sources-path "$WORK/sources.yml" --request-path "$WORK/request.json" \
    --settings-path "$WORK/$name.json" --record-host-capabilities-interactions "$WORK/$name.session.yml" \
    "${pair%:*}" >/dev/null 2>&1
  "$CIP_HOST" bench --iterations 2000 --request-path "$WORK/request.json" --settings-path "$WORK/$name.json" \
    --replay-host-capabilities-interactions "$WORK/$name.session.yml" "${pair%:*}" 2>&1 |
    grep -E "guest time|host calls" | sed "s/^/$name: /"
done
