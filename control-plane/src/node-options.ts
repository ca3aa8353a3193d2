/**
 * How the control plane is run: the node options on its command line, and why. `npm start`, `npm run stack`,
 * its image (deploy/docker/control-plane.Dockerfile, which compose and deploy/kubernetes run as it is) and
 * bench:startup start it with these; test/unit/service-scripts.test.ts keeps them the same everywhere.
 *
 * - `--max-semi-space-size=4`: starting compiles the API's routes and loads ~600 modules, and V8 grows the young
 *   generation to its default 2 x 16 MiB for that burst and keeps it, though little of it survives. At 4 MiB
 *   the control plane holds about 13 MB less once started (bench:startup, docs/benchmarks.md); a request
 *   allocates far less than that, so steady service scavenges about as often as before. (1 MiB saved 3 MB more
 *   and `--optimize-for-size` 14 MB more, at the cost of CPU per request, which alert ingest and paging cannot
 *   spare on a small machine.)
 */
export const CONTROL_PLANE_NODE_OPTIONS = '--max-semi-space-size=4';
