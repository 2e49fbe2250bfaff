#!/bin/sh
# Starts Debian's docker-registry on 127.0.0.1:$PORT, pushes a hand-made one-layer OCI image
# as knabben/netshoot:latest with skopeo, runs tests/live.rs against it, stops the registry.
set -eu
PORT=${PORT:-5077}
WORK=$(mktemp -d)
cat > "$WORK/config.yml" <<CONF
version: 0.1
log: {level: warn}
storage: {filesystem: {rootdirectory: $WORK/data}}
http: {addr: 127.0.0.1:$PORT}
CONF
docker-registry serve "$WORK/config.yml" > "$WORK/registry.log" 2>&1 &
REG=$!
trap 'kill $REG; rm -rf "$WORK"' EXIT
L=$WORK/layout
mkdir -p "$L/blobs/sha256" "$WORK/rootfs"
echo '{"imageLayoutVersion":"1.0.0"}' > "$L/oci-layout"
echo hello > "$WORK/rootfs/hello"
tar -C "$WORK/rootfs" -cf "$WORK/layer.tar" hello
blob() { d=$(sha256sum "$1" | cut -d' ' -f1); cp "$1" "$L/blobs/sha256/$d"; echo "$d $(stat -c%s "$1")"; }
set -- $(blob "$WORK/layer.tar"); LD=$1; LS=$2
printf '{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":["sha256:%s"]},"config":{}}' "$LD" > "$WORK/config.json"
set -- $(blob "$WORK/config.json"); CD=$1; CS=$2
printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%s},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"sha256:%s","size":%s}]}' "$CD" "$CS" "$LD" "$LS" > "$WORK/manifest.json"
set -- $(blob "$WORK/manifest.json"); MD=$1; MS=$2
printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s,"annotations":{"org.opencontainers.image.ref.name":"v1"}}]}' "$MD" "$MS" > "$L/index.json"
sleep 1
skopeo copy -q --dest-tls-verify=false "oci:$L:v1" "docker://127.0.0.1:$PORT/knabben/netshoot:latest"
DIGEST=$(curl -sI -H 'Accept: application/vnd.oci.image.manifest.v1+json' \
  "http://127.0.0.1:$PORT/v2/knabben/netshoot/manifests/latest" | tr -d '\r' | sed -n 's/^[Dd]ocker-[Cc]ontent-[Dd]igest: //p')
cd "$(dirname "$0")/.."
CIP_HOST_LIVE_REGISTRY=127.0.0.1:$PORT CIP_HOST_LIVE_DIGEST=$DIGEST \
  cargo test -p cip-host --test live -- --nocapture
