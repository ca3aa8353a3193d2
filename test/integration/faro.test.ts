import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import type { Page } from 'playwright-core';
import { serveDemoWeb, type DemoWebServer } from '../../exporters/concierge-demo/web/server.ts';
import { startChromium, type Chromium } from '../helpers/chromium.ts';
import {
  clientBody,
  instanceBody,
  startControlPlane,
  type TestControlPlane,
} from '../helpers/control-plane.ts';
import { requireTool } from '../helpers/tools.ts';

const MAX_BODY = 64 * 1024;
const PATIENT = { name: 'Jane Doe', dob: '1980-01-01', phone: '+15551234567' };

/** The Faro series of /metrics (web vitals, errors, sessions, payloads), one string per sample line. */
async function faroSeries(cp: TestControlPlane): Promise<string[]> {
  return (await cp.call('GET', '/metrics')).text
    .split('\n')
    .filter((l) => /^concierge_ops_(web_|faro_)/.test(l))
    .sort();
}

function sample(lines: string[], name: string, labels: Record<string, string>): number | undefined {
  const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  const line = lines.find((l) => l.startsWith(name + '{') && want.every((w) => l.includes(w)));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}

async function until<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** What web-vitals waits for before it reports LCP, CLS and INP: the page being hidden. */
async function hide(page: Page): Promise<void> {
  await page.evaluate(() => {
    Object.defineProperty(document, 'visibilityState', { value: 'hidden', configurable: true });
    Object.defineProperty(document, 'hidden', { value: true, configurable: true });
    document.dispatchEvent(new Event('visibilitychange'));
    window.dispatchEvent(new PageTransitionEvent('pagehide', { persisted: false }));
  });
}

/** A payload as the Faro web SDK sends it (meta, a web-vitals measurement, an exception, a session start). */
function payload(extra: Record<string, unknown> = {}) {
  const now = new Date().toISOString();
  return {
    meta: {
      sdk: { name: '@grafana/faro-web-sdk', version: '2.12.1' },
      app: { name: 'concierge-web-chat', version: '1.0.0', environment: 'test' },
      session: { id: 'abcDEF123', attributes: {} },
      page: { url: 'http://127.0.0.1/chat?name=Jane%20Doe', id: 'p1' },
      browser: {
        name: 'Chrome',
        version: '156',
        mobile: false,
        brands: [{ brand: 'Chromium', version: '156' }],
      },
      view: { name: 'default' },
    },
    measurements: [{ type: 'web-vitals', values: { ttfb: 120, delta: 120 }, timestamp: now }],
    exceptions: [{ type: 'TypeError', value: 'x is undefined', timestamp: now, stacktrace: { frames: [] } }],
    events: [{ name: 'session_start', timestamp: now }],
    ...extra,
  };
}

describe('Faro receiver and the instrumented demo page', function () {
  this.timeout(120_000);
  let cp: TestControlPlane;
  let browser: Chromium;
  let allowedWeb: DemoWebServer;
  let strangerWeb: DemoWebServer;
  const key: Record<string, string> = {};
  const collect = (appKey: string) => `/api/v1/faro/collect/${appKey}`;

  /** A hand-made POST to the receiver, as a browser on `origin` would send it. */
  const post = (
    appKey: string,
    body: unknown,
    opts: { origin?: string; headers?: Record<string, string> } = {},
  ) =>
    cp.call('POST', collect(appKey), {
      token: null,
      raw: typeof body === 'string' ? body : JSON.stringify(body),
      headers: { ...(opts.origin ? { origin: opts.origin } : {}), ...opts.headers },
    });

  before(async () => {
    requireTool('chromium');
    cp = await startControlPlane({
      FARO_MAX_BODY_BYTES: String(MAX_BODY),
      FARO_RATE_LIMIT_PER_SECOND: '1',
      FARO_RATE_LIMIT_BURST: '40',
    });
    for (const slug of ['alpha', 'beta', 'gamma']) {
      await cp.call('POST', '/api/v1/clients', { body: clientBody(slug) });
      await cp.call('POST', '/api/v1/instances', { body: instanceBody(slug, `${slug}-prod`) });
    }
    // alpha's origins are set once its page is served (the page's port is not known before).
    const alpha = await cp.call('POST', '/api/v1/instances/alpha-prod/faro-keys', {
      body: {
        allowedOrigins: ['http://placeholder.example.test'],
        pageRoutes: ['/', '/chat', '/appointments/:id'],
      },
    });
    const beta = await cp.call('POST', '/api/v1/instances/beta-prod/faro-keys', { body: {} });
    assert.equal(alpha.status, 201, alpha.text);
    key.alpha = alpha.body.key;
    key.beta = beta.body.key;
    // The default origin is the instance's own.
    assert.deepEqual(beta.body.allowedOrigins, ['https://beta-prod.example.test']);
    const collectUrl = cp.url + collect(key.alpha!);
    allowedWeb = await serveDemoWeb({
      collectUrl,
      practiceName: 'Alpha Family Practice',
      noticeDelayMs: 300,
    });
    strangerWeb = await serveDemoWeb({ collectUrl });
    const patched = await cp.call('PATCH', '/api/v1/instances/alpha-prod/faro-keys/current', {
      body: { allowedOrigins: [allowedWeb.origin] },
    });
    assert.equal(patched.status, 200, patched.text);
    browser = await startChromium();
  });
  after(async () => {
    await browser?.close();
    await allowedWeb?.close();
    await strangerWeb?.close();
    await cp?.close();
  });

  it('creates one app key per instance (staff only, audited, shown once), refuses bad settings by field', async () => {
    const operator = await cp.token('operator');
    const client = await cp.token('client', 'gamma');
    const path = '/api/v1/instances/gamma-prod/faro-keys';
    const bad = await cp.call('POST', path, {
      token: operator,
      body: {
        allowedOrigins: ['https://ok.example.test', 'https://x.example.test/path?q=1'],
        pageRoutes: ['/', 'chat'],
      },
    });
    assert.equal(bad.status, 400, bad.text);
    assert.match(bad.headers.get('content-type')!, /application\/problem\+json/);
    assert.deepEqual(bad.body.errors.map((e: { field: string }) => e.field).sort(), [
      '/allowedOrigins/1',
      '/pageRoutes/1',
    ]);
    const keysBefore = await cp.count('faro_app_keys');
    const denied = await cp.call('POST', path, { token: client, body: {} });
    assert.equal(denied.status, 403);
    assert.equal(await cp.count('faro_app_keys'), keysBefore);

    const created = await cp.call('POST', path, {
      token: operator,
      body: {
        allowedOrigins: ['https://gamma.example.test', 'http://localhost:3000/'],
        pageRoutes: ['/help/*'],
      },
    });
    assert.equal(created.status, 201, created.text);
    const gamma = created.body.key as string;
    assert.match(gamma, /^faro_[A-Za-z0-9_-]{43}$/);
    assert.equal(created.body.collectPath, collect(gamma));
    assert.equal(created.body.instance.client, 'gamma');
    assert.deepEqual(created.body.allowedOrigins, ['https://gamma.example.test', 'http://localhost:3000']);
    const again = await cp.call('POST', path, { token: operator, body: {} });
    assert.equal(again.status, 409);

    const list = await cp.call('GET', path, { token: operator });
    assert.equal(list.status, 200);
    assert.equal(list.body.length, 1);
    assert.equal(list.body[0].prefix, gamma.slice(0, 10));
    assert.ok(!list.text.includes(gamma), 'a listed key never shows the key itself');
    assert.equal((await cp.call('GET', path, { token: client })).status, 403);
    const audit = await cp.call('GET', '/api/v1/audit?targetType=instance');
    const actions = audit.body.map((r: { action: string }) => r.action);
    assert.ok(actions.includes('faro_key.create') && actions.includes('faro_key.update'), actions.join());
    assert.ok(
      ![gamma, key.alpha!, key.beta!].some((k) => audit.text.includes(k)),
      'the audit log holds no key',
    );
    const { rows } = await cp.db.query<{ hash: Buffer }>('select key_hash as hash from faro_app_keys');
    assert.ok(rows.every((r) => r.hash.length === 32 && !r.hash.toString('latin1').includes('faro_')));
  });

  it('takes web vitals, a thrown error and the session from a real Chromium on another origin onto /metrics', async () => {
    assert.notEqual(new URL(allowedWeb.url).origin, new URL(cp.url).origin);
    const before = await faroSeries(cp);

    const page = await browser.context.newPage();
    const sent: string[] = [];
    const answers: number[] = [];
    page.on('request', (r) => {
      if (r.url().startsWith(cp.url)) sent.push(r.postData() ?? '');
    });
    page.on('response', (r) => {
      if (r.url().startsWith(cp.url)) answers.push(r.status());
    });
    const query = `?patient=${encodeURIComponent(PATIENT.name)}&dob=${PATIENT.dob}`;
    await page.goto(`${allowedWeb.url}/chat${query}`, { waitUntil: 'load' });
    assert.equal(await page.textContent('#practice-name'), 'Alpha Family Practice');
    // The late notice shifts the layout; shifts within 500 ms of input do not count, so it comes first.
    await page.waitForSelector('.notice');
    await page.waitForTimeout(100);
    await page.fill('#chat-input', `I am ${PATIENT.name}, born ${PATIENT.dob}, call me on ${PATIENT.phone}`);
    await page.click('#send');
    await page.waitForSelector('#messages li.assistant:nth-child(3)');
    await page.click('#break-page');
    await page.waitForTimeout(500);
    await hide(page);

    const labels = { client: 'alpha', instance: 'alpha-prod', page: '/chat' };
    const lines = await until('vitals, the error and the session on /metrics', async () => {
      const l = await faroSeries(cp);
      const ok =
        sample(l, 'concierge_ops_web_vitals_lcp_seconds_count', labels) === 1 &&
        sample(l, 'concierge_ops_web_vitals_fcp_seconds_count', labels) === 1 &&
        sample(l, 'concierge_ops_web_vitals_ttfb_seconds_count', labels) === 1 &&
        sample(l, 'concierge_ops_web_vitals_cls_count', labels) === 1 &&
        sample(l, 'concierge_ops_web_vitals_inp_seconds_count', labels) === 1 &&
        sample(l, 'concierge_ops_web_errors_total', { ...labels, type: 'Error' }) === 1 &&
        sample(l, 'concierge_ops_web_sessions_total', { client: 'alpha', instance: 'alpha-prod' }) === 1;
      return ok ? l : undefined;
    });
    await page.close();
    assert.ok(answers.length > 0 && answers.every((s) => s === 202), `answers: ${answers.join()}`);

    // Sane values in the right units: seconds for times (a loopback page paints within seconds), CLS > 0
    // because the late notice pushed the chat down.
    const lcpSum = sample(lines, 'concierge_ops_web_vitals_lcp_seconds_sum', labels)!;
    assert.ok(lcpSum > 0 && lcpSum < 10, `LCP ${lcpSum} s`);
    const clsSum = sample(lines, 'concierge_ops_web_vitals_cls_sum', labels)!;
    assert.ok(clsSum > 0 && clsSum < 5, `CLS ${clsSum}`);
    assert.equal(sample(lines, 'concierge_ops_web_vitals_cls_bucket', { ...labels, le: '+Inf' }), 1);
    assert.ok(
      before.every((l) => !l.includes('alpha-prod')),
      'nothing counted for alpha before the page ran',
    );

    // Patient details in the URL and in what was typed reach neither the receiver nor /metrics.
    const metricsText = (await cp.call('GET', '/metrics')).text;
    for (const secret of [
      PATIENT.name,
      encodeURIComponent(PATIENT.name),
      PATIENT.dob,
      PATIENT.phone,
      'patient=',
    ]) {
      assert.ok(!metricsText.includes(secret), `/metrics holds ${secret}`);
      assert.ok(!sent.some((b) => b.includes(secret)), `the page sent ${secret}`);
    }
    const pages = new Set([...metricsText.matchAll(/page="([^"]*)"/g)].map((m) => m[1]));
    assert.ok([...pages].every((p) => ['/', '/chat', '/appointments/:id', 'other', 'unknown'].includes(p!)));

    // What Prometheus would scrape passes promtool's lint.
    const file = path.join(await fs.mkdtemp(path.join(os.tmpdir(), 'faro-')), 'metrics.prom');
    await fs.writeFile(file, metricsText);
    execFileSync('sh', ['-c', `${requireTool('promtool')} check metrics < ${file}`], { stdio: 'pipe' });
  });

  it('keeps a page on an origin the key does not allow out: its preflight is refused and nothing is counted', async () => {
    const before = await faroSeries(cp);
    const page = await browser.context.newPage();
    const blocked: string[] = [];
    page.on('console', (m) => {
      if (/CORS policy/i.test(m.text())) blocked.push(m.text());
    });
    await page.goto(`${strangerWeb.url}/chat`, { waitUntil: 'load' });
    await page.click('#break-page');
    await hide(page);
    await until('the browser to report a CORS refusal', async () => (blocked.length > 0 ? true : undefined));
    await page.close();
    assert.deepEqual(await faroSeries(cp), before);

    // The same refusal by hand: preflight and POST from a foreign origin or none; the allowed one passes.
    const preflight = (origin: string) =>
      fetch(cp.url + collect(key.alpha!), {
        method: 'OPTIONS',
        headers: {
          origin,
          'access-control-request-method': 'POST',
          'access-control-request-headers': 'content-type',
        },
      });
    const foreign = await preflight('http://evil.example.test');
    assert.equal(foreign.status, 403);
    assert.equal(foreign.headers.get('access-control-allow-origin'), null);
    const own = await preflight(allowedWeb.origin);
    assert.equal(own.status, 204);
    assert.equal(own.headers.get('access-control-allow-origin'), allowedWeb.origin);
    assert.match(own.headers.get('access-control-allow-headers')!, /Content-Type/);
    assert.match(own.headers.get('access-control-allow-methods')!, /POST/);
    const evil = await post(key.alpha!, payload(), { origin: 'http://evil.example.test' });
    assert.equal(evil.status, 403);
    assert.equal(evil.headers.get('access-control-allow-origin'), null);
    const none = await post(key.alpha!, payload());
    assert.equal(none.status, 403);
    assert.match(none.body.detail, /Origin header is required/);
    assert.deepEqual(await faroSeries(cp), before);
  });

  it('refuses a forged, oversized, non-JSON or wrongly keyed payload with problem+json and counts none of them', async () => {
    const origin = allowedWeb.origin;
    const before = await faroSeries(cp);
    const forged = await post(
      key.alpha!,
      payload({
        measurements: 'lots',
        exceptions: [{ type: 'Error', value: 'no timestamp' }],
        meta: { session: { id: 'not a valid id!' } },
        surprise: true,
      }),
      { origin },
    );
    assert.equal(forged.status, 400, forged.text);
    assert.match(forged.headers.get('content-type')!, /application\/problem\+json/);
    assert.equal(forged.headers.get('access-control-allow-origin'), origin, 'the page can read why');
    const fields = forged.body.errors.map((e: { field: string }) => e.field).sort();
    assert.deepEqual(fields, ['/exceptions/0/timestamp', '/measurements', '/meta/session/id', '/surprise']);
    const noMeta = await post(key.alpha!, { measurements: [] }, { origin });
    assert.equal(noMeta.status, 400);
    assert.deepEqual(noMeta.body.errors, [{ field: '/meta', message: 'is required' }]);
    const notJson = await post(key.alpha!, '{"meta":', { origin });
    assert.equal(notJson.status, 400);
    assert.match(notJson.body.detail, /not valid JSON/);
    const textPlain = await post(key.alpha!, JSON.stringify(payload()), {
      origin,
      headers: { 'content-type': 'text/plain' },
    });
    assert.equal(textPlain.status, 415);

    const big = payload({ logs: [{ message: 'x'.repeat(MAX_BODY), timestamp: new Date().toISOString() }] });
    const oversized = await post(key.alpha!, big, { origin });
    assert.equal(oversized.status, 413, oversized.text);
    assert.equal(oversized.body.status, 413);
    // Compressed small, inflated past the limit: still 413.
    const bomb = zlib.gzipSync(JSON.stringify(big));
    assert.ok(bomb.length < MAX_BODY / 10);
    const gz = await fetch(cp.url + collect(key.alpha!), {
      method: 'POST',
      headers: { origin, 'content-type': 'application/json', 'content-encoding': 'gzip' },
      body: bomb,
    });
    assert.equal(gz.status, 413);

    const wrongKey = await post('faro_' + 'A'.repeat(43), payload(), { origin });
    assert.equal(wrongKey.status, 401);
    assert.match(wrongKey.headers.get('www-authenticate')!, /FaroAppKey/);
    assert.equal((await post('not-a-key', payload(), { origin })).status, 401);
    // Another instance's key from this origin: that key allows only beta's origin.
    assert.equal((await post(key.beta!, payload(), { origin })).status, 403);

    assert.deepEqual(await faroSeries(cp), before);
    // Refusals show on the HTTP counter under the route pattern: the key in the URL never becomes a label.
    const text = (await cp.call('GET', '/metrics')).text;
    for (const status of ['400', '401', '403', '413', '415'])
      assert.ok(
        text.includes(`{method="POST",route="/api/v1/faro/collect/:appKey",status="${status}"}`),
        `no ${status} counted`,
      );
    assert.ok(!text.includes(key.alpha!) && !text.includes('faro_AAAA'), 'an app key reached /metrics');
    const ok = await post(key.alpha!, payload(), { origin });
    assert.equal(ok.status, 202, ok.text);
    assert.deepEqual(ok.body, { accepted: { vitals: 1, errors: 1, sessions: 1 } });
    const after = await faroSeries(cp);
    // The page URL's query string is gone; /chat is a known route.
    const labels = { client: 'alpha', instance: 'alpha-prod', page: '/chat' };
    assert.equal(sample(after, 'concierge_ops_web_errors_total', { ...labels, type: 'TypeError' }), 1);
    assert.ok(!after.join('\n').includes('Jane'));
  });

  it('answers 429 with Retry-After once a key has used its burst, and counts exactly what it accepted', async () => {
    const origin = 'https://beta-prod.example.test';
    const labels = { client: 'beta', instance: 'beta-prod' };
    const statuses: number[] = [];
    let retryAfter: string | null = null;
    for (let i = 0; i < 50; i++) {
      const r = await post(key.beta!, payload({ exceptions: [], measurements: [] }), { origin });
      statuses.push(r.status);
      if (r.status === 429) retryAfter ??= r.headers.get('retry-after');
    }
    const accepted = statuses.filter((s) => s === 202).length;
    assert.ok(accepted >= 40 && accepted < 50, `accepted ${accepted}`);
    assert.deepEqual(new Set(statuses), new Set([202, 429]));
    assert.match(retryAfter!, /^[1-9][0-9]*$/);
    const lines = await faroSeries(cp);
    assert.equal(sample(lines, 'concierge_ops_faro_payloads_total', labels), accepted);
    assert.equal(sample(lines, 'concierge_ops_web_sessions_total', labels), accepted);
    // Alpha's key has its own bucket.
    assert.equal((await post(key.alpha!, payload(), { origin: allowedWeb.origin })).status, 202);
  });

  it('rotates a key (old one stops at once, or after its grace period) and revokes all of them', async () => {
    const origin = allowedWeb.origin;
    const old = key.alpha!;
    const rotated = await cp.call('POST', '/api/v1/instances/alpha-prod/faro-keys/rotate', { body: {} });
    assert.equal(rotated.status, 201, rotated.text);
    assert.deepEqual(rotated.body.allowedOrigins, [origin], 'settings carry over');
    assert.equal((await post(old, payload(), { origin })).status, 401);
    assert.equal((await post(rotated.body.key, payload(), { origin })).status, 202);

    const graced = await cp.call('POST', '/api/v1/instances/alpha-prod/faro-keys/rotate', {
      body: { graceSeconds: 3600 },
    });
    assert.equal(
      (await post(rotated.body.key, payload(), { origin })).status,
      202,
      'still in its grace period',
    );
    assert.equal((await post(graced.body.key, payload(), { origin })).status, 202);
    const list = await cp.call('GET', '/api/v1/instances/alpha-prod/faro-keys');
    assert.deepEqual(
      list.body.map((k: { current: boolean }) => k.current),
      [true, false, false],
    );

    const revoked = await cp.call('POST', '/api/v1/instances/alpha-prod/faro-keys/revoke');
    assert.equal(revoked.status, 200, revoked.text);
    assert.equal(revoked.body.length, 2);
    assert.equal((await post(rotated.body.key, payload(), { origin })).status, 401);
    assert.equal((await post(graced.body.key, payload(), { origin })).status, 401);

    // A decommissioned instance's key stops too.
    await cp.call('POST', '/api/v1/instances/beta-prod/decommission');
    assert.equal(
      (await post(key.beta!, payload(), { origin: 'https://beta-prod.example.test' })).status,
      401,
    );
  });
});
