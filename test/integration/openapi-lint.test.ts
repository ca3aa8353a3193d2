import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { startControlPlane, type TestControlPlane } from '../helpers/control-plane.ts';

interface LintReport {
  totals: { errors: number; warnings: number; ignored: number };
  problems: { ruleId: string; severity: string; message: string; location: { pointer: string }[] }[];
}

/** `npx @redocly/cli lint --format=json <url>` from the repository's root, as docs/api.md tells a person to run it. */
function lint(url: string, ...args: string[]): Promise<LintReport> {
  return new Promise((resolve, reject) => {
    execFile(
      'npx',
      ['--no-install', '@redocly/cli', 'lint', '--format=json', ...args, url],
      {
        // No telemetry and no update check: nothing may leave loopback during a test.
        env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_NOTIFICATIONS: 'true' },
        timeout: 120_000,
        maxBuffer: 16 * 1024 * 1024,
      },
      // Redocly exits 1 when it finds errors; the JSON on stdout says which, and is what the test reads.
      (err, stdout, stderr) => {
        try {
          resolve(JSON.parse(stdout) as LintReport);
        } catch {
          reject(new Error(`redocly lint printed no report (${err?.message ?? 'exit 0'}): ${stderr}`));
        }
      },
    );
  });
}

const listed = (report: LintReport) =>
  report.problems
    .map((p) => `${p.severity} ${p.ruleId} at ${p.location[0]?.pointer}: ${p.message}`)
    .join('\n');

describe("the OpenAPI document under Redocly's recommended rules (npx @redocly/cli lint)", function () {
  this.timeout(180_000); // two CLI runs of several seconds each on a busy machine
  let cp: TestControlPlane;
  let url: string;
  let scratch: string;

  before(async () => {
    cp = await startControlPlane({ WORKERS: 'off' });
    url = `${cp.url}/api/v1/openapi.json`;
    scratch = await fs.mkdtemp(path.join(os.tmpdir(), 'openapi-lint-'));
  });
  after(async () => {
    await cp?.close();
    if (scratch) await fs.rm(scratch, { recursive: true, force: true });
  });

  it('finds no error and no warning in GET /api/v1/openapi.json with the repository redocly.yaml', async () => {
    const report = await lint(url, '--config', 'redocly.yaml');
    assert.deepEqual(report.totals, { errors: 0, warnings: 0, ignored: 0 }, listed(report));
  });

  it('finds no error with the bare recommended rules, only the licence the project has not chosen', async () => {
    const config = path.join(scratch, 'redocly.yaml');
    await fs.writeFile(config, 'extends:\n  - recommended\n');
    const report = await lint(url, '--config', config);
    assert.equal(report.totals.errors, 0, listed(report));
    assert.deepEqual(
      report.problems.map((p) => `${p.severity} ${p.ruleId}`),
      ['warn info-license'],
      listed(report),
    );
  });
});
