#!/bin/sh
# npm run images:build [SERVICE...]
#
# Builds the four images (deploy/docker/*.Dockerfile) with buildah on a machine without Docker or Docker Hub:
# first a local Node base image, localhost/concierge-ops-node:20, made from a debootstrap of Debian bookworm
# (minbase, from the configured Debian mirror) with this machine's Node.js (the installed `nodejs` package's
# files) and a `node` user (uid 1000) as the published node images have; then each image with
# `buildah bud --build-arg NODE_IMAGE=<that base>`. See docs/deployment.md ("Building the images without
# Docker"). Not part of npm test: a build takes minutes.
#
# Environment: IMAGES_STORAGE_DRIVER (default vfs; overlay needs kernel support this script does not check),
# IMAGES_ISOLATION (default chroot: no user namespaces needed), IMAGES_BASE (to use another local base),
# IMAGES_WORK (scratch folder for the base's root file system, default a new temporary folder).
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
for tool in buildah debootstrap dpkg-query; do
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
base=${IMAGES_BASE:-localhost/concierge-ops-node:20}
b() { buildah --storage-driver="$driver" "$@"; }

if b inspect --type image "$base" > /dev/null 2>&1; then
  echo "images:build: using the base $base built before (buildah rmi $base to make it again)"
else
  dpkg-query -W nodejs > /dev/null 2>&1 || {
    echo "images:build: the nodejs package is not installed here; the base takes its Node.js from it" >&2
    exit 3
  }
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
  # The node binary and headers as the package installed them; npm and corepack as they are now (an
  # `npm install -g npm` replaces files the package list names).
  echo "images:build: adding Node.js $(node --version) (package nodejs $(dpkg-query -W -f '${Version}' nodejs)) and npm $(npm --version) from this machine"
  dpkg-query -L nodejs | grep -v '^/usr/lib/node_modules/' | while read -r f; do
    if [ -L "$f" ] || [ -f "$f" ]; then mkdir -p "$rootfs$(dirname "$f")" && cp -P -p "$f" "$rootfs$f"; fi
  done
  mkdir -p "$rootfs/usr/lib/node_modules"
  for m in npm corepack; do
    if [ -d "/usr/lib/node_modules/$m" ]; then cp -R -p "/usr/lib/node_modules/$m" "$rootfs/usr/lib/node_modules/"; fi
  done
  chroot "$rootfs" sh -c 'id node > /dev/null 2>&1 || { groupadd --gid 1000 node && useradd --uid 1000 --gid node --shell /bin/sh --create-home node; }'
  chroot "$rootfs" sh -c 'apt-get clean && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /usr/share/doc /usr/share/man /usr/share/info'
  chroot "$rootfs" node --version > /dev/null
  ctr=$(b from scratch)
  b copy "$ctr" "$rootfs" / > /dev/null
  b config --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin --cmd node "$ctr"
  b commit --rm "$ctr" "$base" > /dev/null
  echo "images:build: base $base made"
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
  mounts="--volume=$ca:/run/build-ca.crt:ro --volume=$npmrc:/usr/etc/npmrc:ro"
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
