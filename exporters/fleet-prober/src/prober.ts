import { randomUUID } from 'node:crypto';
import http from 'node:http';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { AlertSender } from './alerts.ts';
import { Discovery, errText } from './discovery.ts';
import { FleetView } from './fleet-view.ts';
import { ProberMetrics, type ErrorKind, type TargetView } from './metrics.ts';
import { failure } from './probes/common.ts';
import type { HttpProbeOptions } from './probes/http.ts';
import { probe } from './probes/index.ts';
import { Heartbeat } from './heartbeat.ts';
import { Peers } from './peers.ts';
import { httpCall } from './http-client.ts';
import { Reporter } from './reporter.ts';
import { Scheduler } from './scheduler.ts';
import { StateTracker, type StateChange } from './transitions.ts';
import type { Logger, ProbeResult, ServiceState, Target, Transition } from './types.ts';

export interface FleetProberOptions {
  /** Control plane base URL (SD, availability state and transitions live under /api/v1). Required. */
  readonly controlPlaneUrl: string;
  /** Bearer token for the control plane. Required; never logged. */
  readonly token: string;
  /** Sent with every transition batch. Default: the host name. */
  readonly proberId?: string;
  /** /metrics port. Default 9469 (blackbox keeps 9115); 0 picks a free port (see `port`). */
  readonly port?: number;
  /** Listen address. Default: all interfaces. */
  readonly host?: string;
  /** Default 15. */
  readonly probeIntervalSeconds?: number;
  /** Probes in flight at once. Default 64. */
  readonly concurrency?: number;
  /** Consecutive failed probes, re-probes included, before a service is reported down. Default 4. */
  readonly downAfter?: number;
  /**
   * After a failed probe, the next ones run this far apart (the first at once) until the failure is
   * confirmed or contradicted, instead of a whole interval apart; never longer than the interval. 0: no
   * re-probes. Default 1, or a quarter of the probe interval when that is shorter.
   */
  readonly reprobeIntervalSeconds?: number;
  /** Consecutive probes before a service is reported up (or degraded). Default 2. */
  readonly upAfter?: number;
  /** Default 30. */
  readonly sdRefreshSeconds?: number;
  /** Holds pending-transitions.json. Default ./data/prober. */
  readonly stateDir?: string;
  /** Default: silent. */
  readonly logger?: Logger;
  /** Trust anchors for https probes; default the system store (plus NODE_EXTRA_CA_CERTS). */
  readonly tlsCa?: string | Buffer;
  /** Default 10000. */
  readonly maxPendingTransitions?: number;
  /** How often to tell the control plane that probing goes on (its SLA counts uncovered time as unknown). Default 30. */
  readonly heartbeatSeconds?: number;
  /** Transition delivery backoff: first step and cap. Default 500 ms and 30 s. */
  readonly reportBackoffMs?: { readonly initial: number; readonly max: number };
  /** Node process metrics (process_*, nodejs_*) in the same Registry. Default true. */
  readonly defaultMetrics?: boolean;
  /** Where this prober probes from: a `location` label on its per-target series. Default: none. */
  readonly location?: string;
  /** Base URLs of the other locations' probers (their /metrics port). Default: none. */
  readonly peers?: readonly string[];
  /** Locations (this one included) that must hold a service down for the fleet. Default: a majority. */
  readonly quorum?: number;
  /** How often the peers' views are read. Default 1. */
  readonly peerPollSeconds?: number;
  /** Alertmanagers that get confirmed downs straight from the prober (every member of a cluster). */
  readonly alertmanagerUrls?: readonly string[];
  /** Firing alerts are sent again this often; their endsAt is four times this ahead. Default 15. */
  readonly alertResendSeconds?: number;
  /** Labels added to every alert, to match Prometheus' external labels. Default {monitor: concierge-ops}. */
  readonly alertLabels?: Readonly<Record<string, string>>;
}

/**
 * The gap between re-probes: as configured but never longer than the interval; by default 1 s, or a quarter
 * of the interval when that is shorter. A service probed every 2 s (a crisis line) is then confirmed down
 * about 1 s after its first failed probe instead of 2 s, which its 5 s page target needs (a failure waits up
 * to 2 s for that probe; the fleet route's group_wait of 1s in alertmanager.yml adds nothing after it). A blip
 * shorter than that second is still contradicted by a re-probe.
 */
export function reprobeGapMs(intervalMs: number, seconds: number | undefined): number {
  return seconds === undefined ? Math.min(1000, intervalMs / 4) : Math.min(intervalMs, seconds * 1000);
}

/** A strict majority of the locations: 1 alone, 2 of 2 or 3, 3 of 4 or 5. */
export function majority(locations: number): number {
  return Math.floor(locations / 2) + 1;
}

interface View {
  readonly target: Target;
  result: ProbeResult | undefined;
}

const SILENT: Logger = { error() {}, warn() {}, info() {}, debug() {} };

/** Probes every service the control plane lists, serves blackbox-style /metrics, reports transitions. */
export class FleetProber {
  readonly metrics: ProberMetrics;
  private views = new Map<string, View>();
  private readonly logger: Logger;
  private readonly discovery: Discovery;
  private readonly scheduler: Scheduler<Target>;
  private readonly reporter: Reporter;
  private readonly heartbeat: Heartbeat;
  private readonly peers: Peers;
  private readonly fleet: FleetView;
  private readonly alerts: AlertSender;
  private probesDone = 0;
  private readonly tracker: StateTracker;
  private readonly httpOpts: HttpProbeOptions;
  private readonly reprobeMs: number;
  private server: http.Server | undefined;
  private syncTimer: NodeJS.Timeout | undefined;
  private stopped = false;
  private stopping: Promise<void> | undefined;

  constructor(private readonly opts: FleetProberOptions) {
    const base = opts.controlPlaneUrl.replace(/\/+$/, '');
    const intervalMs = (opts.probeIntervalSeconds ?? 15) * 1000;
    this.logger = opts.logger ?? SILENT;
    this.httpOpts = opts.tlsCa === undefined ? {} : { ca: opts.tlsCa };
    this.tracker = new StateTracker(opts.downAfter ?? 4, opts.upAfter ?? 2);
    this.reprobeMs = reprobeGapMs(intervalMs, opts.reprobeIntervalSeconds);
    const peerUrls = (opts.peers ?? []).map((u) => u.replace(/\/+$/, ''));
    const quorum = opts.quorum ?? majority(peerUrls.length + 1);
    this.metrics = new ProberMetrics(
      {
        targetViews: () => this.views.values() as Iterable<TargetView>,
        stableState: (key) => this.tracker.stableState(key),
        pendingTransitions: () => this.reporter.pending.length,
      },
      { defaultMetrics: opts.defaultMetrics ?? true, location: opts.location, quorum },
    );
    const onError = (kind: ErrorKind): void => void this.metrics.errors.inc({ kind });
    this.peers = new Peers({
      urls: peerUrls,
      pollMs: (opts.peerPollSeconds ?? 1) * 1000,
      timeoutMs: 2000,
      logger: this.logger,
      onError: () => onError('peer_poll'),
      onPolled: (changed) => {
        // A poll that brought nothing new still matters while a resolve waits for views newer than itself.
        if (changed || this.fleet.awaitingFreshViews) this.reconcileAll();
        this.fleet.pruneResolves(this.peers.oldestView());
      },
    });
    this.fleet = new FleetView(
      quorum,
      (key, since) => this.peers.downCount(key, since),
      opts.alertLabels ?? { monitor: 'concierge-ops' },
    );
    this.alerts = new AlertSender({
      urls: (opts.alertmanagerUrls ?? []).map((u) => u.replace(/\/+$/, '')),
      resendMs: (opts.alertResendSeconds ?? 15) * 1000,
      timeoutMs: 5000,
      logger: this.logger,
      onError: () => onError('alert_send'),
      onSent: (n) => this.metrics.alertsSent.inc(n),
      // A resend re-asserts the decision: it is taken again on peer views asked for after the resend came
      // due, so that a service another location has resolved in the meantime is not brought back by views
      // read before that (the slower the peers answer, the older the views a timer alone would resend).
      ...(peerUrls.length > 0 ? { beforeResend: () => this.peers.poll() } : {}),
    });
    this.discovery = new Discovery({
      url: `${base}/api/v1/sd/probe-targets`,
      token: opts.token,
      refreshMs: (opts.sdRefreshSeconds ?? 30) * 1000,
      logger: this.logger,
      onTargets: (targets) => this.setTargets(targets),
      onError,
    });
    this.scheduler = new Scheduler<Target>({
      intervalMs,
      concurrency: opts.concurrency ?? 64,
      // 1 s at the default 15 s interval; a tenth of it for the short intervals of tests and demos.
      lateToleranceMs: Math.min(1000, intervalMs / 10),
      run: (target) => this.runProbe(target),
      onLate: (n) => this.metrics.late.inc(n),
    });
    this.reporter = new Reporter({
      url: `${base}/api/v1/availability/transitions`,
      token: opts.token,
      proberId: opts.proberId ?? hostname(),
      file: join(opts.stateDir ?? './data/prober', 'pending-transitions.json'),
      maxPending: opts.maxPendingTransitions ?? 10_000,
      batchSize: 100,
      initialBackoffMs: opts.reportBackoffMs?.initial ?? 500,
      maxBackoffMs: opts.reportBackoffMs?.max ?? 30_000,
      requestTimeoutMs: 10_000,
      logger: this.logger,
      onError,
    });
    this.heartbeat = new Heartbeat({
      url: `${base}/api/v1/availability/heartbeat`,
      token: opts.token,
      proberId: opts.proberId ?? hostname(),
      intervalMs: (opts.heartbeatSeconds ?? 30) * 1000,
      logger: this.logger,
      probesDone: () => this.probesDone,
    });
  }

  /** The bound /metrics port (useful with port 0). */
  get port(): number {
    const addr = this.server?.address();
    return typeof addr === 'object' && addr ? addr.port : 0;
  }

  async start(): Promise<void> {
    await this.reporter.load();
    this.server = http.createServer((req, res) => this.serve(req, res));
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject).listen(this.opts.port ?? 9469, this.opts.host, () => resolve());
    });
    this.reporter.start();
    this.scheduler.start();
    this.heartbeat.start();
    this.peers.start();
    this.alerts.start();
    await Promise.all([this.syncState(1), this.discovery.start()]);
    this.logger.info({ port: this.port, targets: this.views.size }, 'fleet prober started');
  }

  /** Idempotent: stops discovery and probing, waits for in-flight probes, persists pending transitions. */
  stop(): Promise<void> {
    this.stopping ??= this.shutdown();
    return this.stopping;
  }

  private async shutdown(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.syncTimer);
    this.heartbeat.stop();
    await this.discovery.stop();
    await this.scheduler.stop();
    await this.peers.stop();
    await this.alerts.stop();
    await this.reporter.stop();
    if (this.server) {
      this.server.closeAllConnections();
      await new Promise<void>((resolve) => this.server!.close(() => resolve()));
    }
    this.metrics.stop();
    this.logger.info({}, 'fleet prober stopped');
  }

  private setTargets(targets: Target[]): void {
    const next = new Map<string, View>();
    for (const t of targets) {
      const old = this.views.get(t.key);
      next.set(
        t.key,
        old && old.target.fingerprint === t.fingerprint ? old : { target: t, result: undefined },
      );
    }
    for (const key of this.views.keys()) {
      if (next.has(key)) continue;
      this.tracker.forget(key);
      this.fleet.forget(key);
    }
    const added = targets.filter((t) => !this.views.has(t.key)).length;
    const removed = [...this.views.keys()].filter((k) => !next.has(k)).length;
    this.views = next;
    this.scheduler.setTargets([...next.values()].map((v) => v.target));
    this.alerts.update(this.fleet.desiredAlerts(this.views));
    if (added > 0 || removed > 0) this.logger.info({ targets: next.size, added, removed }, 'targets updated');
  }

  private async runProbe(target: Target): Promise<void> {
    if (this.views.get(target.key)?.target !== target) return; // left discovery while the re-probe waited
    const at = new Date();
    let result: ProbeResult;
    try {
      result = await probe(target, this.httpOpts);
    } catch (err) {
      this.metrics.errors.inc({ kind: 'probe_internal' });
      this.logger.error({ err: errText(err), target: target.key }, 'probe crashed');
      result = failure('probe failed', 0);
    }
    this.metrics.probes.inc({ type: target.probeType, result: result.success ? 'success' : 'failure' });
    this.probesDone++;
    const view = this.views.get(target.key);
    if (view?.target !== target) return; // removed or changed while the probe ran
    view.result = result;
    const suspected = this.tracker.unconfirmedDowns(target.key) > 0;
    const change = this.tracker.observe(target.key, result.state, at, result.reason);
    if (change?.state === 'down') this.metrics.confirmations.inc({ outcome: 'down' });
    else if (suspected && result.state !== 'down') this.metrics.confirmations.inc({ outcome: 'flap' });
    const unconfirmed = this.tracker.unconfirmedDowns(target.key);
    // A first failure is re-probed at once (a refused connection or a 503 is often one lost request), the
    // next ones a little apart, so that a short blip is contradicted and a real outage confirmed in seconds.
    if (unconfirmed > 0 && this.reprobeMs > 0) {
      this.scheduler.reprobe(target, unconfirmed === 1 ? 0 : this.reprobeMs);
    }
    // Peers are asked at once when this prober confirms a down, so that a quorum forms in about a second.
    if (change?.state === 'down' && this.peers.size > 0) void this.peers.poll();
    if (this.reconcile(target, change)) this.alerts.update(this.fleet.desiredAlerts(this.views));
  }

  /** Re-decides one service's fleet state; reports a change of it. True when the fleet's view moved. */
  private reconcile(target: Target, change?: StateChange): boolean {
    const fleetChange = this.fleet.reconcile(target.key, this.tracker.stableState(target.key), change);
    if (!fleetChange) return false;
    const transition: Transition = {
      id: randomUUID(),
      instanceId: target.instanceId,
      service: target.service,
      state: fleetChange.state,
      at: fleetChange.at.toISOString(),
      reason: fleetChange.reason,
    };
    this.logger.info({ ...transition, client: target.labels.client }, 'service state changed');
    this.reporter.enqueue(transition);
    return true;
  }

  /** After the peers' views changed: every service this prober or a peer holds down may have moved. */
  private reconcileAll(): void {
    const keys = this.peers.downKeys();
    for (const k of this.fleet.ownDownKeys()) keys.add(k);
    for (const k of this.fleet.fleetDownKeys()) keys.add(k);
    for (const key of keys) {
      const view = this.views.get(key);
      if (view) this.reconcile(view.target);
    }
    this.alerts.update(this.fleet.desiredAlerts(this.views));
  }

  /**
   * Reads the control plane's current states so that a restart compares against them instead of inventing
   * transitions. Until it succeeds, probes run and count but no transition is reported.
   */
  private async syncState(attempt: number): Promise<void> {
    const url = `${this.opts.controlPlaneUrl.replace(/\/+$/, '')}/api/v1/availability/state`;
    // What is pending now may be delivered while the answer travels, and the answer may predate that
    // delivery: overlay these as well as what is still pending when it arrives.
    const pendingAtRequest = [...this.reporter.pending];
    try {
      const res = await httpCall(url, {
        headers: { authorization: `Bearer ${this.opts.token}`, accept: 'application/json' },
        timeoutMs: 10_000,
      });
      if (res.status !== 200) throw new Error(`HTTP ${res.status}`);
      const baseline = parseStates(JSON.parse(res.body));
      // Our own undelivered transitions are newer than what the control plane holds.
      for (const t of [...pendingAtRequest, ...this.reporter.pending])
        baseline.set(`${t.instanceId.toLowerCase()}/${t.service}`, t.state);
      this.tracker.setBaseline(baseline);
      this.fleet.setBaseline(baseline);
      this.logger.info({ services: baseline.size }, 'availability state synchronised');
    } catch (err) {
      this.metrics.errors.inc({ kind: 'state_sync' });
      const delay = Math.min(30_000, 500 * 2 ** Math.min(attempt, 6));
      this.logger.warn({ err: errText(err), retryInMs: delay }, 'availability state sync failed');
      if (!this.stopped) this.syncTimer = setTimeout(() => void this.syncState(attempt + 1), delay);
    }
  }

  private serve(req: http.IncomingMessage, res: http.ServerResponse): void {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
    } else if (path === '/metrics') {
      void this.serveMetrics(res, req.method === 'HEAD');
    } else if (path === '/-/down') {
      // The peers' quorum input: keys only (instance id and service), no URLs, nothing about patients.
      const body = JSON.stringify({
        location: this.opts.location ?? '',
        down: [...this.fleet.ownDownKeys()],
      });
      res.writeHead(200, { 'content-type': 'application/json' }).end(body);
    } else if (path === '/-/healthy' || path === '/-/ready') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('OK\n');
    } else if (path === '/') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('concierge fleet prober: see /metrics\n');
    } else {
      res.writeHead(404).end();
    }
  }

  /** Writes /metrics piece by piece, waiting for the socket to drain (src/metrics.ts says why). */
  private async serveMetrics(res: http.ServerResponse, headOnly: boolean): Promise<void> {
    try {
      const pieces = this.metrics.chunks();
      const first = pieces.next();
      res.writeHead(200, { 'content-type': this.metrics.contentType });
      if (headOnly || first.done) return void res.end();
      if (!res.write(first.value)) await drained(res);
      for (const piece of pieces) {
        if (res.destroyed) return;
        if (!res.write(piece)) await drained(res);
      }
      res.end();
    } catch (err) {
      this.logger.error({ err: errText(err) }, 'metrics collection failed');
      // Before the first piece: a plain 500. After it, the status is gone: cut the answer so that Prometheus
      // counts a failed scrape, not a short one.
      if (res.headersSent) res.destroy();
      else res.writeHead(500).end();
    }
  }
}

/** Resolves when the response can take more, or is gone. */
function drained(res: http.ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      res.off('drain', done).off('close', done);
      resolve();
    };
    res.on('drain', done).on('close', done);
  });
}

function parseStates(body: unknown): Map<string, ServiceState> {
  if (!Array.isArray(body)) throw new Error('availability state is not an array');
  const states = new Map<string, ServiceState>();
  for (const e of body as Array<Record<string, unknown>>) {
    const { instanceId, service, state } = e ?? {};
    if (typeof instanceId !== 'string' || typeof service !== 'string') continue;
    if (state === 'up' || state === 'down' || state === 'degraded') {
      states.set(`${instanceId.toLowerCase()}/${service}`, state);
    }
  }
  return states;
}
