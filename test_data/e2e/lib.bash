# Helpers for e2e.bats: a real OCI registry on 127.0.0.1 and small images built without Docker.

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# start_registry DIR: starts Debian's docker-registry on a free port; sets REGISTRY, REGISTRY_PID.
start_registry() {
  local dir="$1" port
  port=$(free_port)
  mkdir -p "$dir/data"
  cat >"$dir/config.yml" <<YAML
version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $dir/data
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$port
YAML
  docker-registry serve "$dir/config.yml" >"$dir/registry.log" 2>&1 &
  REGISTRY_PID=$!
  REGISTRY="127.0.0.1:$port"
  for _ in $(seq 1 100); do
    if curl -fsS "http://$REGISTRY/v2/" >/dev/null 2>&1; then
      return 0
    fi
    sleep 0.1
  done
  echo "registry did not start: $(cat "$dir/registry.log")" >&2
  return 1
}

sha256_of() { sha256sum "$1" | cut -d' ' -f1; }

# push_image DIR REPO:TAG CONTENT: writes an OCI layout with one layer holding CONTENT, pushes it
# with skopeo, and prints the manifest digest (sha256:<hex>).
push_image() {
  local dir="$1" target="$2" content="$3" layout layer config manifest
  layout=$(mktemp -d "$dir/layout.XXXXXX")
  mkdir -p "$layout/blobs/sha256" "$layout/rootfs"
  printf '%s\n' "$content" >"$layout/rootfs/content.txt"
  tar -C "$layout/rootfs" -cf "$layout/layer.tar" content.txt
  layer=$(sha256_of "$layout/layer.tar")
  mv "$layout/layer.tar" "$layout/blobs/sha256/$layer"
  printf '{"architecture":"amd64","os":"linux","config":{},"rootfs":{"type":"layers","diff_ids":["sha256:%s"]}}' "$layer" >"$layout/config.json"
  config=$(sha256_of "$layout/config.json")
  mv "$layout/config.json" "$layout/blobs/sha256/$config"
  printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%s},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"sha256:%s","size":%s}]}' \
    "$config" "$(stat -c %s "$layout/blobs/sha256/$config")" "$layer" "$(stat -c %s "$layout/blobs/sha256/$layer")" >"$layout/manifest.json"
  manifest=$(sha256_of "$layout/manifest.json")
  local size
  size=$(stat -c %s "$layout/manifest.json")
  mv "$layout/manifest.json" "$layout/blobs/sha256/$manifest"
  printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s,"annotations":{"org.opencontainers.image.ref.name":"latest"}}]}' "$manifest" "$size" >"$layout/index.json"
  printf '{"imageLayoutVersion":"1.0.0"}' >"$layout/oci-layout"
  skopeo --insecure-policy copy --quiet --preserve-digests --dest-tls-verify=false \
    "oci:$layout:latest" "docker://$REGISTRY/$target" >&2
  echo "sha256:$manifest"
}

# pod_request IMAGE...: an AdmissionRequest (CREATE) for a Pod running the given images.
pod_request() {
  local containers="" i=0 image
  for image in "$@"; do
    [ -n "$containers" ] && containers="$containers,"
    containers="$containers{\"name\":\"c$i\",\"image\":\"$image\"}"
    i=$((i + 1))
  done
  cat <<JSON
{"uid":"e2e-$RANDOM","kind":{"group":"","version":"v1","kind":"Pod"},"resource":{"group":"","version":"v1","resource":"pods"},"name":"p","namespace":"secure","operation":"CREATE","userInfo":{"username":"e2e"},"object":{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","namespace":"secure"},"spec":{"containers":[$containers]}}}
JSON
}

# deployment_request IMAGE: an AdmissionRequest (CREATE) for a Deployment.
deployment_request() {
  cat <<JSON
{"uid":"e2e-$RANDOM","kind":{"group":"apps","version":"v1","kind":"Deployment"},"resource":{"group":"apps","version":"v1","resource":"deployments"},"name":"d","namespace":"secure","operation":"CREATE","userInfo":{"username":"e2e"},"object":{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"d","namespace":"secure"},"spec":{"replicas":1,"selector":{"matchLabels":{"app":"d"}},"template":{"metadata":{"labels":{"app":"d"}},"spec":{"containers":[{"name":"app","image":"$1"}]}}}}}
JSON
}
