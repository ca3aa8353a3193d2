/**
 * bench/detect: time from a failure to the Twilio API request of its first page, on real parts
 * (test/helpers/fast-path-rig.ts: fleet probers, Alertmanager 0.25 with the repo's routes, Prometheus 2.42
 * with the repo's fleet rules, the control plane, the twilio SDK and the Twilio stand-in).
 *
 * Two rigs run side by side in the same run, with the repo's settings:
 * - the fast path: three probers (three locations, quorum 2) at the default 15 s interval, 1 s re-probes and
 *   peer polls, sending to Alertmanager directly; Prometheus with the rules as the backstop;
 * - the rules path alone: one prober that sends nothing to Alertmanager, Prometheus scraping and evaluating
 *   every 15 s with the rules' own `for: 2m`.
 * Each gets BENCH_FAILURES (default 20) loopback targets, each broken (503) at a random moment of a
 * BENCH_SPREAD_SECONDS window (default 60); the fast rig also has a target that fails one request in five
 * throughout (a flap), whose pages are counted.
 *
 * A third rig runs beside them: the fast path for crisis services, the same as the first but with a 2 s probe
 * interval (and the prober's default re-probe gap for it, half a second), with BENCH_CRISIS_FAILURES (default
 * 20) targets broken over the same window and a flapping one. For it, the time of each page is split where it
 * goes: failure to the first failed probe (the incident's failure_began_at, the alert's startsAt), that probe
 * to the fleet's confirmed down (re-probes and quorum: when the first prober sends the alert), that to the
 * incident's opening (Alertmanager's group_wait, the webhook, the control plane), and the opening to the
 * Twilio request (escalation job, outbox, SDK).
 *
 * Last line: `bench detect: p50_s=.. p99_s=.. rules_p50_s=.. flap_pages=..`, then n, rules_p99_s,
 * ratio = rules_p50 / p50, crisis_n, crisis_p50_s, crisis_p99_s and crisis_flap_pages. Targets (issue 23):
 * p50 under 15 s and p99 under 30 s at the 15 s interval; p99 under 5 s at the 2 s interval; no page for a flap.
 */
import { OLIVIA, startRig, stopRig, type Rig } from '../test/helpers/fast-path-rig.ts';
import { reprobeGapMs } from '../exporters/fleet-prober/src/prober.ts';
import { mochaGlobalSetup, mochaGlobalTeardown } from '../test/setup.ts';

const N = Number(process.env.BENCH_FAILURES ?? 20);
const SPREAD_S = Number(process.env.BENCH_SPREAD_SECONDS ?? 60);
const CRISIS_N = Number(process.env.BENCH_CRISIS_FAILURES ?? 20);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
};

/** Breaks every target at a random moment of the window; resolves with each slug's failure time. */
async function inject(rig: Rig, slugs: string[]): Promise<Map<string, number>> {
  const at = new Map<string, number>();
  await Promise.all(
    slugs.map(async (slug) => {
      await sleep(Math.random() * SPREAD_S * 1000);
      rig.targets.get(slug)!.mode = 'down';
      at.set(slug, Date.now());
    }),
  );
  return at;
}

/** Seconds from each failure to the first SMS naming its instance; waits up to `timeoutMs` for them all. */
async function latencies(rig: Rig, failedAt: Map<string, number>, timeoutMs: number): Promise<number[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const firsts = [...failedAt].map(([slug, t]) => {
      const sms = rig.tw.messages(OLIVIA).find((m) => JSON.stringify(m.params).includes(`/${slug}`));
      return sms ? (sms.at - t) / 1000 : undefined;
    });
    if (firsts.every((x) => x !== undefined) || Date.now() > deadline) {
      const missing = firsts.filter((x) => x === undefined).length;
      if (missing > 0) console.error(`${missing} failures were never paged within ${timeoutMs / 1000} s`);
      return firsts.filter((x): x is number => x !== undefined);
    }
    await sleep(500);
  }
}

/**
 * Where each page's time went (s): failure -> first failed probe -> fleet down (alert sent) -> incident
 * opened -> Twilio request.
 */
async function stages(
  rig: Rig,
  failedAt: Map<string, number>,
): Promise<{ probe: number[]; confirm: number[]; open: number[]; page: number[] }> {
  const { rows } = await rig.cp.db.query<{ instance: string; began: Date; opened: Date }>(
    `select instance, min(failure_began_at) as began, min(opened_at) as opened from incidents
      where instance = any($1) group by instance`,
    [[...failedAt.keys()]],
  );
  const out = { probe: [] as number[], confirm: [] as number[], open: [] as number[], page: [] as number[] };
  for (const r of rows) {
    const sms = rig.tw.messages(OLIVIA).find((m) => JSON.stringify(m.params).includes(`/${r.instance}`));
    const confirmed = rig.fleetDownAt.get(r.instance);
    out.probe.push((r.began.getTime() - failedAt.get(r.instance)!) / 1000);
    if (confirmed !== undefined) {
      out.confirm.push((confirmed - r.began.getTime()) / 1000);
      out.open.push((r.opened.getTime() - confirmed) / 1000);
    }
    if (sms) out.page.push((sms.at - r.opened.getTime()) / 1000);
  }
  return out;
}

const fix = (xs: number[], p: number) => (xs.length === 0 ? 'NaN' : pct(xs, p).toFixed(1));
const p50p99 = (xs: number[]) =>
  xs.length === 0 ? 'n/a' : `p50 ${pct(xs, 50).toFixed(1)} s, p99 ${pct(xs, 99).toFixed(1)} s`;

async function main(): Promise<void> {
  const fastSlugs = Array.from({ length: N }, (_, i) => `fast-${i + 1}`);
  const rulesSlugs = Array.from({ length: N }, (_, i) => `rules-${i + 1}`);
  const crisisSlugs = Array.from({ length: CRISIS_N }, (_, i) => `crisis-${i + 1}`);
  const defaults = { probeIntervalSeconds: 15, reprobeIntervalSeconds: 1, peerPollSeconds: 1 };
  console.log(
    `starting three rigs (${N} targets each at 15 s, ${CRISIS_N} at 2 s, failures spread over ${SPREAD_S} s)`,
  );
  const [fast, rules, crisis] = await Promise.all([
    startRig({
      slugs: [...fastSlugs, 'flap'],
      direct: true,
      locations: 3,
      ...defaults,
      alertResendSeconds: 15,
      scrapeInterval: '15s',
      repoRuleFor: true,
    }),
    startRig({
      slugs: rulesSlugs,
      direct: false,
      locations: 1,
      ...defaults,
      scrapeInterval: '15s',
      repoRuleFor: true,
    }),
    startRig({
      slugs: [...crisisSlugs, 'flap'],
      direct: true,
      locations: 3,
      ...defaults,
      probeIntervalSeconds: 2,
      reprobeIntervalSeconds: reprobeGapMs(2000, undefined) / 1000,
      alertResendSeconds: 15,
      scrapeInterval: '15s',
      repoRuleFor: true,
    }),
  ]);
  try {
    fast.targets.get('flap')!.mode = 'flap';
    crisis.targets.get('flap')!.mode = 'flap';
    const [fastAt, rulesAt, crisisAt] = await Promise.all([
      inject(fast, fastSlugs),
      inject(rules, rulesSlugs),
      inject(crisis, crisisSlugs),
    ]);
    const [fastS, rulesS, crisisS] = await Promise.all([
      latencies(fast, fastAt, 120_000),
      latencies(rules, rulesAt, 360_000),
      latencies(crisis, crisisAt, 120_000),
    ]);
    const split = await stages(crisis, crisisAt);
    const flapPagesOf = (rig: Rig) =>
      rig.tw.messages(OLIVIA).filter((m) => JSON.stringify(m.params).includes('/flap')).length;
    const flapPages = flapPagesOf(fast);
    const p50 = pct(fastS, 50);
    const p99 = pct(fastS, 99);
    const rulesP50 = pct(rulesS, 50);
    console.log(`fast path: ${fastS.length} pages, p50 ${p50.toFixed(1)} s, p99 ${p99.toFixed(1)} s`);
    console.log(
      `rules alone: ${rulesS.length} pages, p50 ${rulesP50.toFixed(1)} s, p99 ${pct(rulesS, 99).toFixed(1)} s`,
    );
    console.log(`crisis (2 s interval): ${crisisS.length} pages, ${p50p99(crisisS)}`);
    console.log(`  failure to first failed probe: ${p50p99(split.probe)}`);
    console.log(`  first failed probe to fleet down (re-probes, quorum): ${p50p99(split.confirm)}`);
    console.log(`  fleet down to incident opened (Alertmanager, webhook): ${p50p99(split.open)}`);
    console.log(`  incident opened to Twilio request: ${p50p99(split.page)}`);
    console.log(
      `bench detect: p50_s=${p50.toFixed(1)} p99_s=${p99.toFixed(1)} rules_p50_s=${rulesP50.toFixed(1)} flap_pages=${flapPages} n=${fastS.length} rules_p99_s=${pct(rulesS, 99).toFixed(1)} ratio=${(rulesP50 / p50).toFixed(1)} crisis_n=${crisisS.length} crisis_p50_s=${fix(crisisS, 50)} crisis_p99_s=${fix(crisisS, 99)} crisis_flap_pages=${flapPagesOf(crisis)}`,
    );
  } finally {
    await Promise.all([stopRig(fast), stopRig(rules), stopRig(crisis)]);
  }
}

// The rigs' control planes clone a migrated template database, as the tests' do.
await mochaGlobalSetup();
try {
  await main();
} finally {
  await mochaGlobalTeardown();
}
