#!/bin/sh
# npm run images:build [SERVICE...]
#
# Builds the four images (deploy/docker/*.Dockerfile) with buildah on a machine without Docker or Docker Hub:
# first a local Node base image, localhost/concierge-ops-node:<major> (22), made from a debootstrap of Debian
# bookworm (minbase, from the configured Debian mirror) with the Node.js LTS and npm pinned in
# scripts/node-lts.mjs (the official build, fetched from the npm registry with `npm pack`, not this machine's
# Node.js 20) and a `node` user (uid 1000), laid out as the published node images are; then each image with
# `buildah bud --build-arg NODE_IMAGE=<that base>`. See docs/deployment.md ("Building the images without
# Docker"). Not part of npm test: a build takes minutes.
#
# Environment: IMAGES_STORAGE_DRIVER (default vfs; overlay needs kernel support this script does not check),
# IMAGES_STORAGE_ROOT (a folder for buildah's images and containers instead of /var/lib/containers: vfs
# images are big, and removing the folder removes them all), IMAGES_ISOLATION (default chroot: no user
# namespaces needed), IMAGES_BASE (to use another local base), IMAGES_WORK (scratch folder for the base's root
# file system, default a new temporary folder).
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
services=${*:-control-plane fleet-prober backup-exporter demo}
for s in $services; do
  case $s in
    control-plane | fleet-prober | backup-exporter | demo) ;;
    *)
      echo "images:build: unknown service $s (control-plane, fleet-prober, backup-exporter, demo)" >&2
      exit 2
      ;;
  esac
done

missing=""
for tool in buildah debootstrap node npm; do
  command -v "$tool" > /dev/null 2>&1 || missing="$missing $tool"
done
if [ -n "$missing" ]; then
  echo "images:build: missing:$missing. Install them (Debian: apt-get install buildah debootstrap) or build" >&2
  echo "with Docker: docker build -f deploy/docker/control-plane.Dockerfile ." >&2
  exit 3
fi
if [ "$(id -u)" != 0 ]; then
  echo "images:build: debootstrap and buildah's chroot isolation need root (run as root or under sudo)" >&2
  exit 3
fi

driver=${IMAGES_STORAGE_DRIVER:-vfs}
isolation=${IMAGES_ISOLATION:-chroot}
storage=""
if [ -n "${IMAGES_STORAGE_ROOT:-}" ]; then
  mkdir -p "$IMAGES_STORAGE_ROOT"
  storage="--root=$IMAGES_STORAGE_ROOT/storage --runroot=$IMAGES_STORAGE_ROOT/run"
fi
lts="node $root/scripts/node-lts.mjs"
major=$($lts major)
version=$($lts version)
base=${IMAGES_BASE:-localhost/concierge-ops-node:$major}
# shellcheck disable=SC2086 # one argument per storage flag
b() { buildah --storage-driver="$driver" $storage "$@"; }

made=""
if b inspect --type image "$base" > /dev/null 2>&1; then
  if [ -n "${IMAGES_BASE:-}" ] || b inspect --type image "$base" | grep -q "\"NODE_VERSION=$version\""; then
    echo "images:build: using the base $base built before (buildah rmi $base to make it again)"
    made=yes
  else
    echo "images:build: the base $base holds another Node.js than the pinned $version: making it again"
    b rmi "$base" > /dev/null
  fi
fi
if [ -z "$made" ]; then
  # The pinned Node.js and npm, from the npm registry (cached in node_modules/.cache/node-lts/).
  nodedir=$($lts node)
  npmdir=$($lts npm)
  work=${IMAGES_WORK:-$(mktemp -d)}
  rootfs=$work/rootfs
  mirror=$(sed -n 's/^URIs: *\(http[^ ]*\/debian\)$/\1/p' /etc/apt/sources.list.d/debian.sources 2> /dev/null | head -n 1)
  mirror=${mirror:-http://deb.debian.org/debian}
  if [ -f "$rootfs/etc/debian_version" ]; then
    echo "images:build: reusing the root file system in $rootfs"
  else
    echo "images:build: debootstrap --variant=minbase bookworm from $mirror into $rootfs"
    debootstrap --variant=minbase bookworm "$rootfs" "$mirror" > "$work/debootstrap.log" 2>&1 || {
      echo "images:build: debootstrap failed, see $work/debootstrap.log" >&2
      exit 1
    }
  fi
  # Where the published node images have them: node in /usr/local/bin, npm in /usr/local/lib/node_modules
  # with npm and npx linked beside node. No C headers: no dependency builds native code.
  echo "images:build: adding Node.js v$version and npm $(node -p "require('$npmdir/package.json').version") (official builds, from the npm registry)"
  mkdir -p "$rootfs/usr/local/bin" "$rootfs/usr/local/lib/node_modules"
  cp -p "$nodedir/bin/node" "$rootfs/usr/local/bin/node"
  rm -rf "$rootfs/usr/local/lib/node_modules/npm"
  cp -R -p "$npmdir" "$rootfs/usr/local/lib/node_modules/npm"
  ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$rootfs/usr/local/bin/npm"
  ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$rootfs/usr/local/bin/npx"
  chroot "$rootfs" sh -c 'id node > /dev/null 2>&1 || { groupadd --gid 1000 node && useradd --uid 1000 --gid node --shell /bin/sh --create-home node; }'
  chroot "$rootfs" sh -c 'apt-get clean && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /usr/share/doc /usr/share/man /usr/share/info'
  test "$(chroot "$rootfs" /usr/local/bin/node --version)" = "v$version"
  chroot "$rootfs" /usr/local/bin/npm --version > /dev/null
  ctr=$(b from scratch)
  b copy "$ctr" "$rootfs" / > /dev/null
  b config --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin --env NODE_VERSION="$version" \
    --cmd node "$ctr"
  b commit --rm "$ctr" "$base" > /dev/null
  echo "images:build: base $base made (Node.js v$version)"
fi

# Where this machine reaches the npm registry through a TLS proxy of its own (npm's cafile or
# NODE_EXTRA_CA_CERTS), the build's RUN steps see that CA bundle through a mounted global npmrc. Mounts are not
# part of the image: the images keep Node's own CA store.
mounts=""
ca=$(npm config get cafile 2> /dev/null || true)
case $ca in null | undefined | "") ca=${NODE_EXTRA_CA_CERTS:-} ;; esac
if [ -n "$ca" ] && [ -f "$ca" ]; then
  npmrc=$(mktemp)
  echo "cafile=/run/build-ca.crt" > "$npmrc"
  mounts="--volume=$ca:/run/build-ca.crt:ro --volume=$npmrc:/usr/local/etc/npmrc:ro"
  echo "images:build: npm in the build trusts $ca (this machine's npm cafile)"
fi

for s in $services; do
  start=$(date +%s)
  echo "images:build: building concierge-ops/$s"
  b bud --format=docker --isolation="$isolation" --network=host --layers=false --build-arg NODE_IMAGE="$base" $mounts \
    ${IMAGES_BUILD_ARGS:-} -f "$root/deploy/docker/$s.Dockerfile" -t "concierge-ops/$s" "$root"
  echo "images:build: concierge-ops/$s built in $(($(date +%s) - start)) s"
done
b images --filter reference='concierge-ops/*'
