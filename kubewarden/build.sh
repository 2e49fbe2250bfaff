#!/usr/bin/env bash
# Builds Kubewarden's kwctl with oci/v2/verify_attestations: the pristine host sources
# (../shared/kubewarden/kubewarden-host-src-*.tar.gz), kubewarden/*.patch applied in order,
# the cip-sigstore-verify crate taken from this workspace by path. --locked: the
# patches carry the Cargo.lock entries the crate needs.
#
# Output: target/kubewarden/kwctl. Nothing is done when no input changed.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
TARBALL=${KUBEWARDEN_SRC_TARBALL:-$ROOT/../shared/kubewarden/kubewarden-host-src-3460bb71.tar.gz}
OUT=$ROOT/target/kubewarden
SRC=$OUT/src
KWCTL=$OUT/kwctl
LIBRARY=$ROOT/crates/sigstore-verify

if [ ! -f "$TARBALL" ]; then
  echo "kubewarden-kwctl skipped: $TARBALL is absent (only the team's machines have ../shared)"
  exit 0
fi

# What the tree is made of, and what the binary is made of.
tree_stamp=$( { sha256sum "$TARBALL" | cut -d' ' -f1; cat "$ROOT"/kubewarden/*.patch; echo "$LIBRARY"; } | sha256sum | cut -d' ' -f1)
build_stamp=$( { echo "$tree_stamp"; find "$LIBRARY" -path "$LIBRARY/target" -prune -o -type f \( -name '*.rs' -o -name Cargo.toml \) -print0 | sort -z | xargs -0 sha256sum; } | sha256sum | cut -d' ' -f1)

if [ -x "$KWCTL" ] && [ "$(cat "$OUT/kwctl.stamp" 2>/dev/null)" = "$build_stamp" ]; then
  echo "kubewarden-kwctl: $KWCTL is up to date"
  exit 0
fi

if [ "$(cat "$SRC/.tree.stamp" 2>/dev/null)" != "$tree_stamp" ]; then
  echo "kubewarden-kwctl: unpacking $(basename "$TARBALL") and applying kubewarden/*.patch"
  rm -rf "$SRC"
  mkdir -p "$SRC"
  tar xzf "$TARBALL" -C "$SRC"
  for p in "$ROOT"/kubewarden/*.patch; do
    patch -d "$SRC" -p1 --quiet --forward --no-backup-if-mismatch <"$p" || {
      echo "kubewarden-kwctl: $(basename "$p") does not apply" >&2
      exit 1
    }
  done
  # The crate is not published: Cargo takes it from this workspace.
  printf '\n[patch.crates-io]\ncip-sigstore-verify = { path = "%s" }\n' "$LIBRARY" >>"$SRC/Cargo.toml"
  echo "$tree_stamp" >"$SRC/.tree.stamp"
fi

(cd "$SRC" && CARGO_TARGET_DIR="$OUT/target" cargo build --release --locked -p kwctl)
cp "$OUT/target/release/kwctl" "$KWCTL.tmp"
mv "$KWCTL.tmp" "$KWCTL"
echo "$build_stamp" >"$OUT/kwctl.stamp"
echo "kubewarden-kwctl: built $KWCTL"
