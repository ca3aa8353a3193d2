/**
 * bench/console: the console's incidents and fleet pages on a big fleet (1,000 instances, 50,000 incidents),
 * p95 time to the last byte over BENCH_ROUNDS (200) rounds, beside the JSON API answering the same data in the same
 * run, page and API in alternating rounds:
 * - incidents: GET /console/incidents (first page, 50 rows) vs GET /api/v1/incidents?limit=50;
 * - fleet: GET /console/fleet (first page, 50 of the 1,000 instances, and the clients for its filter) vs
 *   GET /api/v1/instances?limit=50 plus GET /api/v1/clients?status=all (what the page shows).
 * Also the first load's weight (HTML + CSS + script) and the bytes of one live update (one SSE event).
 *
 * Last line: `bench console: ratio=.. incidents_p95_ms=.. incidents_api_p95_ms=.. fleet_p95_ms=..
 * fleet_api_p95_ms=.. incidents_kb=.. fleet_kb=.. update_bytes=..`; ratio is the larger of the two page/API
 * p95 ratios. Targets (issue 24): ratio <= 1.5, first load < 150 KB, a live update < 20 KB.
 */
import crypto from 'node:crypto';
import { mochaGlobalSetup, mochaGlobalTeardown } from '../test/setup.ts';
import { startControlPlane } from '../test/helpers/control-plane.ts';
import * as sessions from '../control-plane/src/users/sessions.ts';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 200);
const INSTANCES = 1000;
const INCIDENTS = 50_000;
const pct = (xs: number[], p: number) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))]!;

await mochaGlobalSetup();
const cp = await startControlPlane({ WORKERS: 'off' });
try {
  // 50 clients of 20 instances each, and 50,000 incidents over the last year, by SQL (the API would take minutes).
  await cp.db.query(`insert into clients (slug, name, time_zone)
    select 'client-' || g, 'Clinic ' || g, 'UTC' from generate_series(1, 50) g`);
  await cp.db.query(`insert into instances (client_id, slug, environment, base_url)
    select c.id, c.slug || '-i' || g, 'production', 'https://' || c.slug || '-i' || g || '.example.test'
    from clients c, generate_series(1, ${INSTANCES / 50}) g`);
  await cp.db.query(`insert into incidents (client_id, instance, severity, status, source, title, opened_at)
    select c.id, c.slug || '-i' || (1 + (g / 50) % ${INSTANCES / 50}), (array['critical','warning','info'])[1 + g % 3],
      (array['open','acknowledged','resolved'])[1 + (g / 7) % 3], 'manual', 'Backend not answering ' || g,
      now() - g * interval '10 minutes'
    from generate_series(1, ${INCIDENTS}) g join clients c on c.slug = 'client-' || (1 + g % 50)`);
  await cp.db.query('analyze');

  // A signed-in operator: the user and a full session made directly (no mail, no TOTP app in a benchmark).
  const { rows } = await cp.db.query<{ id: string }>(
    `insert into console_users (email, name, role, password_hash) values ('bench@example.test', 'Bench', 'operator', 'x') returning id`,
  );
  const sid = crypto.randomBytes(32).toString('base64url');
  await sessions.insertSession(cp.db, {
    id: sid,
    userId: rows[0]!.id,
    stage: 'full',
    csrf: 'c',
    absoluteSeconds: 3600,
  });
  const cookie = { cookie: `cop_session=${sid}` };
  const bearer = { authorization: `Bearer ${cp.adminToken}` };

  async function timed(path: string, headers: Record<string, string>) {
    const t0 = performance.now();
    const res = await fetch(cp.url + path, { headers });
    const body = await res.arrayBuffer();
    if (res.status !== 200)
      throw new Error(`${path}: ${res.status} ${Buffer.from(body).toString().slice(0, 300)}`);
    return { ms: performance.now() - t0, bytes: body.byteLength };
  }
  /**
   * The page and the API answering the same data, measured in alternating rounds (the order flips each round),
   * so a burst of load on this shared machine falls on both sides rather than on whichever ran at that moment.
   */
  async function pair(page: string[], api: string[]) {
    const sides = [
      { paths: page, headers: cookie, ms: [] as number[], bytes: 0 },
      { paths: api, headers: bearer, ms: [] as number[], bytes: 0 },
    ];
    for (let r = 0; r < ROUNDS; r++) {
      for (const side of r % 2 ? [...sides].reverse() : sides) {
        let total = 0;
        side.bytes = 0;
        for (const p of side.paths) {
          const t = await timed(p, side.headers);
          total += t.ms;
          side.bytes += t.bytes;
        }
        side.ms.push(total);
      }
    }
    const [p, a] = sides.map((x) => ({ p95: pct(x.ms, 0.95), bytes: x.bytes }));
    return [p!, a!] as const;
  }
  // Interleaved warm-up, then each page against its API in alternating rounds.
  for (let i = 0; i < 3; i++) {
    await timed('/console/incidents', cookie);
    await timed('/api/v1/incidents?limit=50', bearer);
    await timed('/console/fleet', cookie);
    await timed('/api/v1/instances?limit=50', bearer);
  }
  const [incPage, incApi] = await pair(['/console/incidents'], ['/api/v1/incidents?limit=50']);
  const [fleetPage, fleetApi] = await pair(
    ['/console/fleet'],
    ['/api/v1/instances?limit=50', '/api/v1/clients?status=all'],
  );
  const assets =
    (await timed('/console/static/console.css', cookie)).bytes +
    (await timed('/console/static/console.js', cookie)).bytes;

  // One live update: the SSE event a changed incident sends to an open list.
  const ctrl = new AbortController();
  const stream = await fetch(cp.url + '/console/incidents/events', { headers: cookie, signal: ctrl.signal });
  const reader = stream.body!.getReader();
  await reader.read(); // the retry line
  await new Promise((r) => setTimeout(r, 1500)); // the watcher learns the newest event first
  await cp.call('POST', '/api/v1/incidents', {
    body: { client: 'client-1', severity: 'critical', title: 'Live one' },
  });
  let event = '';
  while (!event.includes('\n\n') || !event.includes('event: incident'))
    event += new TextDecoder().decode((await reader.read()).value);
  ctrl.abort();
  const updateBytes = Buffer.byteLength(event.slice(event.indexOf('event: incident')));

  const ratio = Math.max(incPage.p95 / incApi.p95, fleetPage.p95 / fleetApi.p95);
  const kb = (b: number) => (b / 1024).toFixed(1);
  console.log(
    `bench console: ratio=${ratio.toFixed(2)} incidents_p95_ms=${incPage.p95.toFixed(1)} incidents_api_p95_ms=${incApi.p95.toFixed(1)} ` +
      `fleet_p95_ms=${fleetPage.p95.toFixed(1)} fleet_api_p95_ms=${fleetApi.p95.toFixed(1)} ` +
      `incidents_kb=${kb(incPage.bytes + assets)} fleet_kb=${kb(fleetPage.bytes + assets)} update_bytes=${updateBytes}`,
  );
} finally {
  await cp.close();
  await mochaGlobalTeardown();
}
