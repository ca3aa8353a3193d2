import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Reporter, type ReporterOptions } from '../../exporters/fleet-prober/src/reporter.ts';
import type { Transition } from '../../exporters/fleet-prober/src/types.ts';
import { waitFor } from '../../exporters/fleet-prober/testing/stand-ins.ts';

const silent = { error() {}, warn() {}, info() {}, debug() {} };

function transition(reason: string): Transition {
  return {
    id: randomUUID(),
    instanceId: randomUUID(),
    service: 'backend',
    state: 'down',
    at: new Date().toISOString(),
    reason,
  };
}

describe('fleet prober transition reporter', () => {
  let dir: string;
  let server: http.Server;
  let answer: (body: { transitions: Transition[] }) => number;
  let committed: Transition[];
  let statuses: number[];
  let reporters: Reporter[];

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'prober-reporter-'));
    committed = [];
    statuses = [];
    reporters = [];
    answer = () => 200;
    server = http.createServer((req, res) => {
      let raw = '';
      req.on('data', (c: Buffer) => (raw += c.toString()));
      req.on('end', () => {
        const body = JSON.parse(raw) as { transitions: Transition[] };
        const status = answer(body);
        statuses.push(status);
        if (status < 300) committed.push(...body.transitions);
        res.writeHead(status, status === 429 ? { 'retry-after': '0' } : {}).end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  });

  afterEach(async () => {
    for (const r of reporters) await r.stop();
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
    rmSync(dir, { recursive: true, force: true });
  });

  function reporter(extra: Partial<ReporterOptions> = {}): Reporter {
    const r = new Reporter({
      url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/v1/availability/transitions`,
      token: 't',
      proberId: 'p',
      file: join(dir, 'pending.json'),
      maxPending: 100,
      batchSize: 10,
      initialBackoffMs: 10,
      maxBackoffMs: 50,
      requestTimeoutMs: 2000,
      logger: silent,
      onError: () => {},
      ...extra,
    });
    reporters.push(r);
    return r;
  }

  it('drops only the transition the control plane rejects with a 4xx, delivering the rest in order', async () => {
    answer = (b) => (b.transitions.some((t) => t.reason === 'bad') ? 422 : 200);
    const r = reporter();
    const ts = ['a', 'b', 'bad', 'c'].map(transition);
    ts.forEach((t) => r.enqueue(t));
    r.start();
    await waitFor('drained', () => r.pending.length === 0);
    assert.deepEqual(
      committed.map((t) => t.reason),
      ['a', 'b', 'c'],
    );
  });

  it('retries 5xx and 429 until committed', async () => {
    let calls = 0;
    answer = () => [503, 429, 500, 200][calls++] ?? 200;
    const r = reporter();
    r.start();
    r.enqueue(transition('x'));
    await waitFor('drained', () => r.pending.length === 0);
    assert.deepEqual(statuses, [503, 429, 500, 200]);
    assert.deepEqual(
      committed.map((t) => t.reason),
      ['x'],
    );
  });

  it('keeps pending transitions in a file that the next run loads', async () => {
    answer = () => 503;
    const first = reporter();
    first.start();
    const ts = ['one', 'two'].map(transition);
    ts.forEach((t) => first.enqueue(t));
    await first.stop();
    const saved = JSON.parse(readFileSync(join(dir, 'pending.json'), 'utf8')) as {
      transitions: Transition[];
    };
    assert.deepEqual(saved.transitions, ts);
    answer = () => 200;
    const second = reporter();
    await second.load();
    second.start();
    await waitFor('drained', () => second.pending.length === 0);
    assert.deepEqual(committed, ts);
  });

  it('keeps the newest transitions when the buffer is full', async () => {
    answer = () => 503;
    const r = reporter({ maxPending: 3 });
    ['1', '2', '3', '4', '5'].forEach((x) => r.enqueue(transition(x)));
    assert.deepEqual(
      r.pending.map((t) => t.reason),
      ['3', '4', '5'],
    );
  });
});
