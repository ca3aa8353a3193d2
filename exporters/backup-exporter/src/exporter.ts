import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { ExporterMetrics } from './metrics.ts';
import { Reporter } from './reporter.ts';
import { restoreTest, type RestoreResult } from './restore.ts';
import { scanDumpFolder, type DumpArchive } from './sources/pgdump.ts';
import type { BackupRecord } from './sources/types.ts';
import { errorMessage } from '@concierge-ops/shared/errors';

/** A source of backup records other than the dump folder (restic, pgBackRest). */
export interface RecordSource {
  readonly name: string;
  read(): Promise<BackupRecord[]>;
  /**
   * Restores one of this source's runs somewhere throwaway and checks it (restic: the snapshot's pg_dump
   * archive); undefined when the source cannot (a file of the tool's output, with no repository to read).
   */
  readonly restoreTest?: (record: BackupRecord) => Promise<RestoreResult>;
}

/** The tool a restore test read its backup with: the `tool` label of the restore-test metrics. */
export type RestoreTool = 'pg_dump' | 'restic' | 'pgbackrest';

export interface ExporterOptions {
  readonly controlPlaneUrl: string;
  readonly token: string;
  /** Port of /metrics; 0 picks a free one (tests). */
  readonly port: number;
  /** Folder of pg_dump archives with manifests; undefined: none. */
  readonly dumpDir: string | undefined;
  readonly sources: readonly RecordSource[];
  readonly scanIntervalSeconds: number;
  /** 0 disables scheduled restore tests (they can still be run with runRestoreTests()). */
  readonly restoreTestIntervalSeconds: number;
  readonly pgRestore: string;
  /** Zone the exporter's own retention view uses (the control plane uses each client's zone). */
  readonly timeZone: string;
  readonly reportAttempts?: number;
  readonly logger: Logger;
  readonly defaultMetrics?: boolean;
}

const key = (r: { client: string; instance: string }) => `${r.client}/${r.instance}`;

/** The newest (by finish time) of each instance's runs. */
function newestPerInstance<T extends BackupRecord>(runs: readonly T[]): T[] {
  const newest = new Map<string, T>();
  for (const r of runs) {
    const cur = newest.get(key(r));
    if (!cur || Date.parse(r.finishedAt) > Date.parse(cur.finishedAt)) newest.set(key(r), r);
  }
  return [...newest.values()];
}

/** Reads backup tools' output, verifies it, runs restore tests, reports to the control plane, serves /metrics. */
export class BackupExporter {
  readonly metrics: ExporterMetrics;
  private readonly reporter: Reporter;
  private records: BackupRecord[] = [];
  private archives: DumpArchive[] = [];
  private readonly tests = new Map<
    string,
    { client: string; instance: string; tool: RestoreTool; result: RestoreResult }
  >();
  /** Run ids the control plane has accepted (or refused for good) in this process's life. */
  private readonly delivered = new Set<string>();
  private readonly hashes = new Map<string, string>();
  private server: http.Server | undefined;
  private timers: NodeJS.Timeout[] = [];
  private running: Promise<unknown> = Promise.resolve();
  private stopped = true;

  constructor(private readonly opts: ExporterOptions) {
    this.metrics = new ExporterMetrics(
      { records: () => this.records, restoreTests: () => this.tests },
      { timeZone: opts.timeZone, defaultMetrics: opts.defaultMetrics ?? true },
    );
    this.reporter = new Reporter({
      controlPlaneUrl: opts.controlPlaneUrl,
      token: opts.token,
      attempts: opts.reportAttempts ?? 5,
      initialBackoffMs: 500,
      requestTimeoutMs: 10_000,
      logger: opts.logger,
    });
  }

  get port(): number {
    return (this.server?.address() as AddressInfo | undefined)?.port ?? 0;
  }

  async start(): Promise<void> {
    this.stopped = false;
    this.server = http.createServer((req, res) => void this.serve(req, res));
    await new Promise<void>((resolve) => this.server!.listen(this.opts.port, resolve));
    // Timers only pace the work: every scan and test is idempotent on the control plane, so a restart
    // simply runs them again (the restore test at start, so a restart never postpones it by a full period).
    this.loop(() => this.scan(), this.opts.scanIntervalSeconds);
    if (this.opts.restoreTestIntervalSeconds > 0)
      this.loop(() => this.scan().then(() => this.runRestoreTests()), this.opts.restoreTestIntervalSeconds);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers = [];
    await this.running.catch(() => undefined);
    if (this.server) {
      this.server.closeAllConnections();
      await new Promise<void>((resolve) => this.server!.close(() => resolve()));
    }
  }

  private loop(work: () => Promise<unknown>, everySeconds: number): void {
    const tick = () => {
      if (this.stopped) return;
      // One job at a time: a restore test and a scan never race over the same records.
      this.running = this.running
        .then(work)
        .catch((err: unknown) =>
          this.opts.logger.error({ err: errorMessage(err) }, 'backup exporter cycle failed'),
        );
      void this.running.then(() => {
        if (!this.stopped) this.timers.push(setTimeout(tick, everySeconds * 1000));
      });
    };
    tick();
  }

  /** Reads every source, verifies the dump archives, and reports runs not yet delivered. */
  async scan(): Promise<BackupRecord[]> {
    const records: BackupRecord[] = [];
    if (this.opts.dumpDir) {
      try {
        this.archives = await scanDumpFolder(this.opts.dumpDir, this.hashes);
        records.push(...this.archives.map((a) => a.record));
      } catch (err) {
        this.metrics.scanErrors.inc({ source: 'pg_dump' });
        this.opts.logger.error({ err: errorMessage(err) }, 'cannot read the pg_dump folder');
      }
    }
    for (const s of this.opts.sources) {
      try {
        records.push(...(await s.read()));
      } catch (err) {
        this.metrics.scanErrors.inc({ source: s.name });
        this.opts.logger.error({ source: s.name, err: errorMessage(err) }, 'cannot read a backup source');
      }
    }
    this.records = records;
    for (const r of records) {
      if (this.delivered.has(r.runId)) continue;
      // The control plane knows the client from the instance; it refuses fields it does not define.
      const body = Object.fromEntries(Object.entries(r).filter(([k]) => k !== 'client'));
      const result = await this.reporter.post('/api/v1/backups/runs', body);
      this.metrics.reports.inc({ endpoint: 'runs', result });
      if (result !== 'gave_up') this.delivered.add(r.runId);
    }
    return records;
  }

  /**
   * Restores the newest pg_dump archive of each instance into a throwaway PostgreSQL, then the newest run of
   * each instance from every source that can restore its own (restic, pgBackRest), and reports each result.
   */
  async runRestoreTests(): Promise<(RestoreResult & { instance: string; tool: RestoreTool })[]> {
    const results: (RestoreResult & { instance: string; tool: RestoreTool })[] = [];
    for (const a of newestPerInstance(this.archives.map((archive) => ({ ...archive.record, archive })))) {
      const r = await this.restoreOne('pg_dump', a, () =>
        restoreTest(a.archive, { pgRestore: this.opts.pgRestore, log: this.opts.logger }),
      );
      if (r) results.push(r);
    }
    for (const s of this.opts.sources) {
      const test = s.restoreTest;
      if (!test || (s.name !== 'restic' && s.name !== 'pgbackrest')) continue;
      const own = this.records.filter((r) => r.tool === s.name && r.status === 'success');
      for (const rec of newestPerInstance(own)) {
        const r = await this.restoreOne(s.name, rec, () => test(rec));
        if (r) results.push(r);
      }
    }
    return results;
  }

  private async restoreOne(
    tool: RestoreTool,
    rec: BackupRecord,
    test: () => Promise<RestoreResult>,
  ): Promise<(RestoreResult & { instance: string; tool: RestoreTool }) | undefined> {
    let result: RestoreResult;
    try {
      result = await test();
    } catch (err) {
      // The test could not run here (its scratch PostgreSQL did not start, say): that says nothing about
      // the backup, so nothing is reported. RestoreTestCannotRun alerts on the count at once; the previous
      // result stays and ages until RestoreTestOverdue. The other instances are still tested.
      this.metrics.restoreTestErrors.inc();
      this.opts.logger.error(
        { instance: rec.instance, tool, err: errorMessage(err) },
        'restore test could not run',
      );
      return undefined;
    }
    this.tests.set(`${key(rec)}/${tool}`, { client: rec.client, instance: rec.instance, tool, result });
    this.opts.logger.info({ instance: rec.instance, tool, ...result }, 'restore test finished');
    const delivery = await this.reporter.post('/api/v1/backups/restore-tests', {
      // pg_dump's ids keep the form they always had, so the control plane deduplicates across an upgrade.
      testId: `restore:${tool === 'pg_dump' ? '' : `${tool}:`}${rec.instance}:${result.startedAt}`,
      instance: rec.instance,
      backupRunId: rec.runId,
      startedAt: result.startedAt,
      finishedAt: result.finishedAt,
      success: result.success,
      durationSeconds: result.durationSeconds,
      detail: result.detail,
    });
    this.metrics.reports.inc({ endpoint: 'restore_tests', result: delivery });
    return { instance: rec.instance, tool, ...result };
  }

  private async serve(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    if (req.url === '/metrics' && req.method === 'GET') {
      res.setHeader('Content-Type', this.metrics.registry.contentType);
      res.end(await this.metrics.registry.metrics());
    } else if (req.url === '/healthz') {
      res.end('ok\n');
    } else {
      res.statusCode = 404;
      res.end('not found\n');
    }
  }
}
