/**
 * Fleet prober vs the Prometheus blackbox exporter, probing the same N loopback HTTP targets at the same
 * interval. Both run as child processes; this process serves the targets, stands in for the control
 * plane (SD + transitions) and drives blackbox the way Prometheus does (one /probe per target per interval,
 * spread over the interval). CPU (utime+stime from /proc) per probe and peak RSS (VmHWM) are measured over
 * the same window; `ratio=` is the prober's CPU per probe over blackbox's, `rss_ratio=` its peak resident
 * memory over blackbox's. Resident memory is also split by /proc/<pid>/smaps_rollup, sampled every second, at
 * the highest sample: anonymous pages (`anon_mib=`: the heap, malloc, stacks: what the process itself uses)
 * and file-backed ones (`file_mib=`: the executable and libraries, the same for any node process and shared
 * among them; node's own are 34 MiB of an idle `node`'s 40, blackbox's static binary ~13 MiB).
 *
 * The prober runs as it is deployed: its workspace build (dist/, built when stale, as `npm run prober` runs
 * it; tsx's loader alone costs ~35 MiB of resident memory), on plain node with the node options and malloc
 * settings of exporters/fleet-prober/src/node-options.ts.
 *
 * Env: BENCH_TARGETS (1000), BENCH_INTERVAL_SECONDS (10), BENCH_SECONDS (60, the measured window);
 * BENCH_PROBER_NODE_OPTIONS (default: the prober's recommended ones) and BENCH_PROBER_MALLOC=default (glibc's
 * own settings) to compare.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '@concierge-ops/shared/ports';
import { requireTool } from '../test/helpers/tools.ts';
import { ControlPlaneStandIn, samples, sdGroup } from '../exporters/fleet-prober/testing/stand-ins.ts';
import { PROBER_MALLOC_ENV, PROBER_NODE_OPTIONS } from '../exporters/fleet-prober/src/node-options.ts';

const N = Number(process.env.BENCH_TARGETS ?? 1000);
const INTERVAL_S = Number(process.env.BENCH_INTERVAL_SECONDS ?? 10);
const WINDOW_S = Number(process.env.BENCH_SECONDS ?? 60);
const TOKEN = 'bench-token';
const CLK_TCK = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim() || 100);
// Named at once, with the command that installs it, when Debian's blackbox exporter is missing.
const BLACKBOX = requireTool('prometheus-blackbox-exporter');

const NODE_OPTIONS = (process.env.BENCH_PROBER_NODE_OPTIONS ?? PROBER_NODE_OPTIONS)
  .split(/\s+/)
  .filter(Boolean);
const MALLOC_ENV = process.env.BENCH_PROBER_MALLOC === 'default' ? {} : PROBER_MALLOC_ENV;

/**
 * Builds the prober as `npm run prober` does (its workspace's dist/, rebuilt when stale) and returns the entry
 * point: the bench measures what is deployed.
 */
function buildProber(): string {
  const built = spawnSync(process.execPath, ['scripts/build-stale.mjs', 'exporters/fleet-prober'], {
    encoding: 'utf8',
  });
  if (built.status !== 0) throw new Error(`building the prober failed:\n${built.stdout}${built.stderr}`);
  return 'exporters/fleet-prober/dist/main.js';
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** utime + stime of a process, in milliseconds. */
function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLK_TCK;
}

/**
 * What a process holds resident, from /proc/<pid>/smaps_rollup (MiB): Rss, Pss (shared pages divided among
 * their sharers), and Rss split into anonymous (heap, malloc, stacks) and file-backed (the binary and
 * libraries, shared with every other process running them) pages.
 */
interface Smaps {
  rss: number;
  pss: number;
  anon: number;
  file: number;
}
function smaps(pid: number): Smaps {
  const text = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
  const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? NaN) / 1024;
  const rss = kb('Rss');
  return { rss, pss: kb('Pss'), anon: kb('Anonymous'), file: rss - kb('Anonymous') };
}

/** Samples smaps every second and keeps the sample with the highest Rss. */
class SmapsPeak {
  peak: Smaps | undefined;
  private readonly timer: NodeJS.Timeout;
  constructor(private readonly pid: number) {
    this.timer = setInterval(() => this.sample(), 1000);
  }
  sample(): void {
    try {
      const s = smaps(this.pid);
      if (!this.peak || s.rss > this.peak.rss) this.peak = s;
    } catch {
      // the process has exited
    }
  }
  stop(): Smaps | undefined {
    clearInterval(this.timer);
    this.sample();
    return this.peak;
  }
}
const fmtSmaps = (s: Smaps | undefined) =>
  s
    ? `rss ${s.rss.toFixed(1)} pss ${s.pss.toFixed(1)} anon ${s.anon.toFixed(1)} file ${s.file.toFixed(1)} MiB`
    : 'n/a';

function peakRssMiB(pid: number): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

async function proberCounters(port: number): Promise<{ probes: number; succeeded: number; late: number }> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const probes = samples(text, 'prober_probes_total');
  return {
    probes: probes.reduce((sum, [, v]) => sum + v, 0),
    succeeded: probes.filter(([l]) => l.result === 'success').reduce((sum, [, v]) => sum + v, 0),
    late: samples(text, 'prober_late_probes_total')[0]?.[1] ?? 0,
  };
}

/** Drives blackbox like Prometheus: target i at offset i/N of every interval, over a keep-alive pool. */
class BlackboxDriver {
  completed = 0;
  succeeded = 0;
  late = 0;
  private readonly busy = new Set<number>();
  private timer: NodeJS.Timeout | undefined;
  private readonly agent = new http.Agent({ keepAlive: true, maxSockets: 256 });

  constructor(
    private readonly port: number,
    private readonly targets: string[],
  ) {}

  start(): void {
    const intervalMs = INTERVAL_S * 1000;
    const t0 = Date.now();
    let next = 0; // index of the next probe over all cycles
    const tick = (): void => {
      const now = Date.now();
      for (;;) {
        const due = t0 + (next * intervalMs) / this.targets.length;
        if (due > now) break;
        const i = next % this.targets.length;
        next++;
        if (this.busy.has(i) || now - due > 1000) {
          this.late++;
          if (this.busy.has(i)) continue;
        }
        this.probe(i);
      }
      this.timer = setTimeout(tick, 5);
    };
    tick();
  }

  stop(): void {
    clearTimeout(this.timer);
    this.agent.destroy();
  }

  private probe(i: number): void {
    this.busy.add(i);
    const path = `/probe?module=http_2xx&target=${encodeURIComponent(this.targets[i]!)}`;
    const req = http.get(
      {
        host: '127.0.0.1',
        port: this.port,
        path,
        agent: this.agent,
        headers: { 'X-Prometheus-Scrape-Timeout-Seconds': '5' },
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (c: string) => (body += c));
        res.on('end', () => {
          this.busy.delete(i);
          this.completed++;
          if (/^probe_success 1$/m.test(body)) this.succeeded++;
        });
      },
    );
    req.on('error', () => this.busy.delete(i));
  }
}

function waitExit(child: ChildProcess): Promise<void> {
  return new Promise((resolve) =>
    child.exitCode !== null ? resolve() : child.once('exit', () => resolve()),
  );
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-prober-'));
  const build = buildProber();
  const children: ChildProcess[] = [];
  const targetServer = http.createServer((_req, res) => res.writeHead(200).end('ok'));
  targetServer.keepAliveTimeout = 5000;
  const cp = new ControlPlaneStandIn(TOKEN);
  const driverPorts = { prober: await freePort(), blackbox: await freePort() };
  try {
    await new Promise<void>((r) => targetServer.listen(0, '127.0.0.1', () => r()));
    const tport = (targetServer.address() as net.AddressInfo).port;
    const targets = Array.from({ length: N }, (_, i) => `http://127.0.0.1:${tport}/t/${i}`);
    await cp.start();
    cp.groups = targets.map((t, i) =>
      sdGroup({
        instanceId: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
        client: `client${i}`,
        service: 'backend',
        target: t,
        timeoutMs: 5000,
      }),
    );

    const prober = spawn(process.execPath, [...NODE_OPTIONS, build], {
      env: {
        ...process.env,
        ...MALLOC_ENV,
        CONTROL_PLANE_URL: cp.url,
        PROBER_TOKEN: TOKEN,
        PROBER_PORT: String(driverPorts.prober),
        PROBE_INTERVAL_SECONDS: String(INTERVAL_S),
        PROBER_STATE_DIR: join(dir, 'state'),
        PROBER_ID: 'bench',
        LOG_LEVEL: 'warn',
      },
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    children.push(prober);
    const bbConfig = join(dir, 'blackbox.yml');
    writeFileSync(
      bbConfig,
      'modules:\n  http_2xx:\n    prober: http\n    timeout: 5s\n    http:\n      preferred_ip_protocol: ip4\n',
    );
    const blackbox = spawn(
      BLACKBOX,
      [
        `--config.file=${bbConfig}`,
        `--web.listen-address=127.0.0.1:${driverPorts.blackbox}`,
        '--log.level=warn',
      ],
      { stdio: ['ignore', 'inherit', 'inherit'] },
    );
    children.push(blackbox);

    // Both up and answering before the clock starts.
    for (const port of Object.values(driverPorts)) {
      for (let i = 0; ; i++) {
        const ok = await fetch(`http://127.0.0.1:${port}/metrics`).then(
          (r) => r.ok,
          () => false,
        );
        if (ok) break;
        if (i > 600) throw new Error(`nothing answers on port ${port}`);
        await sleep(100);
      }
    }
    const driver = new BlackboxDriver(driverPorts.blackbox, targets);
    driver.start();
    const smapsPeaks = { prober: new SmapsPeak(prober.pid!), blackbox: new SmapsPeak(blackbox.pid!) };
    // Warm-up: one full interval plus slack, so both are in their steady state (tsx compile, JIT, pools).
    await sleep(INTERVAL_S * 1000 + 3000);

    // The peak so far (start-up: the first discovery answer parsed, every target's first probe) apart from
    // the measured window's.
    const startupPeak = peakRssMiB(prober.pid!);
    const p0 = await proberCounters(driverPorts.prober);
    const [pc0, bc0, bb0, bs0] = [
      cpuMs(prober.pid!),
      cpuMs(blackbox.pid!),
      driver.completed,
      driver.succeeded,
    ];
    await sleep(WINDOW_S * 1000);
    const [pc1, bc1, bb1, bs1] = [
      cpuMs(prober.pid!),
      cpuMs(blackbox.pid!),
      driver.completed,
      driver.succeeded,
    ];
    const p1 = await proberCounters(driverPorts.prober);
    driver.stop();
    const [proberSmaps, blackboxSmaps] = [smapsPeaks.prober.stop(), smapsPeaks.blackbox.stop()];

    const proberProbes = p1.probes - p0.probes;
    const blackboxProbes = bb1 - bb0;
    const cpuPerProbe = (pc1 - pc0) / proberProbes;
    const bbCpuPerProbe = (bc1 - bc0) / blackboxProbes;
    const fmt = (n: number, d = 3) => n.toFixed(d);
    console.log(
      `window ${WINDOW_S}s, interval ${INTERVAL_S}s: prober ${proberProbes} probes ` +
        `(${p1.succeeded - p0.succeeded} succeeded), ${fmt(pc1 - pc0, 0)} ms CPU; ` +
        `blackbox ${blackboxProbes} probes (${bs1 - bs0} succeeded), ${fmt(bc1 - bc0, 0)} ms CPU; ` +
        `blackbox driver late ${driver.late}`,
    );
    const [rss, bbRss] = [peakRssMiB(prober.pid!), peakRssMiB(blackbox.pid!)];
    console.log(
      `prober run with: ${NODE_OPTIONS.join(' ') || '(no node options)'} ` +
        `${
          Object.entries(MALLOC_ENV)
            .map(([k, v]) => `${k}=${v}`)
            .join(' ') || "(glibc's malloc defaults)"
        }`,
    );
    console.log(`prober peak Rss before the window (start-up, warm-up): ${startupPeak.toFixed(1)} MiB`);
    console.log(`prober at its highest sampled Rss: ${fmtSmaps(proberSmaps)}`);
    console.log(`blackbox at its highest sampled Rss: ${fmtSmaps(blackboxSmaps)}`);
    console.log(
      `bench prober: targets=${N} cpu_ms_per_probe=${fmt(cpuPerProbe)} blackbox_cpu_ms_per_probe=${fmt(bbCpuPerProbe)} ` +
        `ratio=${fmt(cpuPerProbe / bbCpuPerProbe, 2)} rss_mib=${fmt(rss, 1)} ` +
        `blackbox_rss_mib=${fmt(bbRss, 1)} rss_ratio=${fmt(rss / bbRss, 2)} late=${p1.late - p0.late} ` +
        `anon_mib=${fmt(proberSmaps?.anon ?? NaN, 1)} file_mib=${fmt(proberSmaps?.file ?? NaN, 1)} ` +
        `blackbox_anon_mib=${fmt(blackboxSmaps?.anon ?? NaN, 1)}`,
    );
  } finally {
    for (const child of children) {
      if (child.exitCode === null) child.kill('SIGTERM');
      await Promise.race([waitExit(child), sleep(5000)]);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
    await cp.stop();
    targetServer.closeAllConnections();
    await new Promise((r) => targetServer.close(r));
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
