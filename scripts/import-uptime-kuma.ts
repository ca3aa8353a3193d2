/**
 * npm run import:uptime-kuma -- <kuma.db or backup.json> [--mapping <file>] [--apply]
 *
 * Brings Uptime Kuma's history along through the control plane's API (CONCIERGE_OPS_URL, default
 * http://localhost:8080, and a staff token in CONCIERGE_OPS_TOKEN). A first run writes a draft mapping of
 * monitors to clients, instances and services; later runs show the plan, and write it only with --apply.
 */
import fs from 'node:fs';
import { ApiError, controlPlaneClient, type ControlPlaneClient } from '@concierge-ops/shared/client';
import { draftMapping, histories, IMPORTED_TYPES, type Mapping } from './kuma/plan.ts';
import { readKuma, type KumaData } from './kuma/read.ts';

const hours = (ms: number) => `${(ms / 3_600_000).toFixed(1)} h`;
const secs = (a: string, b: string) => (Date.parse(b) - Date.parse(a)) / 1000;

function args(argv: string[]) {
  const file = argv.find((a, i) => !a.startsWith('--') && argv[i - 1] !== '--mapping');
  const m = argv.indexOf('--mapping');
  if (!file)
    throw new Error(
      'usage: npm run import:uptime-kuma -- <kuma.db or backup.json> [--mapping <file>] [--apply]',
    );
  return { file, mapping: m >= 0 ? argv[m + 1]! : `${file}.mapping.json`, apply: argv.includes('--apply') };
}

/** Single windows in the server's zone become maintenance windows; anything else is listed for a person. */
function windows(data: KumaData, mapping: Mapping) {
  const make: { client: string; instance: string; start: string; end: string; reason: string }[] = [];
  const byHand: string[] = [];
  for (const w of data.maintenance) {
    const targets = w.monitorIds.map((id) => mapping.monitors[String(id)]).filter((t) => !!t);
    if (!w.active) continue;
    // Dates are read as UTC: right for a server running in UTC, the usual container; another zone is left to a person.
    const zoned = w.timezone !== null && !['SAME_AS_SERVER', 'UTC', 'Etc/UTC'].includes(w.timezone);
    if (w.strategy !== 'single' || !w.start || !w.end || targets.length === 0 || zoned) {
      byHand.push(
        `"${w.title}" (${w.strategy}): set up by hand as a maintenance window` +
          (targets.length === 0 ? ' (none of its monitors is mapped to an instance)' : ''),
      );
      continue;
    }
    for (const t of new Map(targets.map((x) => [x!.instance, x!])).values())
      make.push({
        client: t.client,
        instance: t.instance,
        start: w.start.toISOString(),
        end: w.end.toISOString(),
        reason: `${w.title} (from Uptime Kuma)`,
      });
  }
  return { make, byHand };
}

async function main(): Promise<number> {
  const a = args(process.argv.slice(2));
  const data = await readKuma(a.file);
  if (!fs.existsSync(a.mapping)) {
    fs.writeFileSync(a.mapping, `${JSON.stringify(draftMapping(data), null, 2)}\n`);
    console.log(`wrote a draft mapping to ${a.mapping}: check each monitor's client, instance and service`);
    console.log(
      '(null leaves a monitor out), register the instances if needed, then run again to see the plan',
    );
    return 0;
  }
  const mapping = JSON.parse(fs.readFileSync(a.mapping, 'utf8')) as Mapping;
  const api: ControlPlaneClient = controlPlaneClient(
    process.env.CONCIERGE_OPS_URL ?? 'http://localhost:8080',
    {
      token: process.env.CONCIERGE_OPS_TOKEN,
    },
  );
  // A JSON backup keeps monitors and notifications only: there is no history to bring, so none is planned
  // (an empty import would read as "Kuma watched nothing").
  const plan = data.beats.length > 0 ? histories(data, mapping) : [];
  const missing: string[] = [];
  for (const h of plan) {
    const r = await api.GET('/api/v1/instances/{id}', { params: { path: { id: h.instance } } });
    if (!r.data) {
      missing.push(`instance ${h.instance}: not found (HTTP ${r.response.status}); register it first`);
      continue;
    }
    const have = new Set(r.data.services.map((s: { name: string }) => s.name));
    for (const s of new Set(h.intervals.map((i) => i.service)))
      if (!have.has(s)) missing.push(`instance ${h.instance}: has no service "${s}"`);
  }
  const w = windows(data, mapping);
  const skipped = data.monitors.filter(
    (m) => !IMPORTED_TYPES.includes(m.type) || !mapping.monitors[String(m.id)],
  );

  console.log(`Plan for ${a.file} (${data.monitors.length} monitors, ${data.beats.length} heartbeats):`);
  for (const h of plan) {
    const covered = h.coverage.reduce((s, c) => s + secs(c.start, c.end) * 1000, 0);
    const down = h.intervals.reduce((s, i) => s + secs(i.start, i.end), 0);
    console.log(
      `  history ${h.instance}: ${h.coverage.length} watched stretch(es), ${hours(covered)}; ` +
        `${h.intervals.length} down interval(s), ${down.toFixed(1)} s`,
    );
  }
  if (data.beats.length === 0)
    console.log(
      '  no history: this file holds no heartbeats (a JSON backup keeps monitors and notifications only); ' +
        'import the kuma.db file to bring the history along',
    );
  for (const m of w.make) console.log(`  maintenance ${m.instance}: ${m.start} to ${m.end} "${m.reason}"`);
  for (const s of w.byHand) console.log(`  by hand: ${s}`);
  for (const n of data.notifications)
    console.log(
      `  responders: Kuma notified "${n.name}" (${n.type}) for ${n.monitorIds.length} monitor(s); set up a responder and an escalation policy for it`,
    );
  for (const m of skipped) console.log(`  left out: monitor ${m.id} "${m.name}" (${m.type})`);
  for (const p of missing) console.log(`  problem: ${p}`);
  if (missing.length) {
    console.log('Nothing was written: fix the problems above first.');
    return 1;
  }
  if (!a.apply) {
    console.log('Nothing was written. Run again with --apply to import this.');
    return 0;
  }
  for (const h of plan) {
    const r = await api.POST('/api/v1/availability/history', {
      body: {
        instance: h.instance,
        source: `uptime-kuma (${a.file.split('/').pop()!.slice(0, 80)})`,
        coverage: h.coverage,
        intervals: h.intervals,
      },
    });
    if (!r.data) throw new ApiError(`importing the history of ${h.instance}`, r.response.status, r.error);
    console.log(
      `imported ${h.instance}: ${r.data.changed ? `${r.data.coverageAdded.length} stretch(es), ${r.data.intervalsAdded.length} interval(s) added` : 'nothing new'}`,
    );
  }
  for (const m of w.make) {
    const known = await api.GET('/api/v1/maintenance-windows', {
      params: { query: { client: m.client, from: m.start, to: m.end } },
    });
    const list = (known.data ?? []) as { start: string; end: string | null; reason: string }[];
    // Imported before: the same window with the same reason is not made twice.
    if (list.some((k) => Date.parse(k.start) === Date.parse(m.start) && k.reason === m.reason)) continue;
    const body = { instance: m.instance, start: m.start, end: m.end, reason: m.reason };
    const r = await api.POST('/api/v1/maintenance-windows', { body });
    if (!r.data) throw new ApiError(`creating maintenance "${m.reason}"`, r.response.status, r.error);
    console.log(`created maintenance window for ${m.instance}: ${m.start} to ${m.end}`);
  }
  return 0;
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    console.error(e instanceof Error ? e.message : String(e));
    process.exit(1);
  },
);
