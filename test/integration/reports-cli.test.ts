import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startControlPlane, type TestControlPlane } from '../helpers/control-plane.ts';
import { SmtpSink } from '../helpers/smtp-sink.ts';
import { MONTH, loadFixture } from '../fixtures/reports/fixture-month.ts';

function report(env: Record<string, string>, ...args: string[]) {
  return new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', 'control-plane/src/reports/cli.ts', ...args],
      { env: { PATH: process.env.PATH!, LOG_LEVEL: 'silent', ...env }, timeout: 120_000 },
      (err, stdout, stderr) =>
        resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

describe('npm run report: the report CLI', () => {
  let cp: TestControlPlane;
  let sink: SmtpSink;
  let env: Record<string, string>;
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'report-cli-'));

  before(async () => {
    sink = await new SmtpSink().start();
    cp = await startControlPlane({ WORKERS: 'off' });
    await loadFixture(cp, 'fixture', ['it@fixture.example.test']);
    await loadFixture(cp, 'other', ['a@other.example.test', 'b@other.example.test']);
    env = { DATABASE_URL: cp.databaseUrl, SMTP_URL: sink.url, REPORT_SCHEDULER: 'off' };
  });
  after(async () => {
    await cp.close();
    await sink.stop();
    fs.rmSync(out, { recursive: true, force: true });
  });

  it('refuses bad arguments with the usage line (exit 2)', async () => {
    for (const args of [
      [],
      ['--client', 'fixture'],
      ['--client', 'fixture', '--month', '2026-13'],
      ['--all', '--client', 'x', '--month', MONTH],
      ['--bogus'],
    ]) {
      const r = await report(env, ...args);
      assert.equal(r.code, 2, args.join(' '));
      assert.match(r.stderr, /usage: npm run report -- \(--client <slug> \| --all\) --month YYYY-MM/);
    }
  });

  it('writes one client’s JSON, HTML and PDF without storing or sending anything', async () => {
    const dir = path.join(out, 'one');
    const r = await report(env, '--client', 'fixture', '--month', MONTH, '--out', dir);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /fixture 2026-10: uptime 99\.7757 % \(missed\), credit 10 %.*preview, not stored/);
    const json = JSON.parse(fs.readFileSync(path.join(dir, 'fixture-2026-10.json'), 'utf8'));
    assert.equal(json.overall.downtimeSeconds, 12000);
    assert.ok(fs.readFileSync(path.join(dir, 'fixture-2026-10.html'), 'utf8').includes('99.7757 %'));
    assert.equal(fs.readFileSync(path.join(dir, 'fixture-2026-10.pdf')).subarray(0, 5).toString(), '%PDF-');
    assert.equal(await cp.count('reports'), 0);
    assert.equal(sink.mails.length, 0);
    const unknown = await report(env, '--client', 'nobody', '--month', MONTH, '--out', dir);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /client not found/);
  });

  it('--all --send stores and mails every client once; a second run sends nothing', async () => {
    const dir = path.join(out, 'all');
    const r = await report(env, '--all', '--month', MONTH, '--send', '--out', dir);
    assert.equal(r.code, 0, r.stderr + r.stdout);
    assert.match(r.stdout, /2\/2 reports written/);
    assert.match(r.stderr, /2\/2 reports/);
    assert.equal(sink.mails.length, 3);
    assert.deepEqual(fs.readdirSync(dir).sort(), [
      'fixture-2026-10.html',
      'fixture-2026-10.json',
      'fixture-2026-10.pdf',
      'other-2026-10.html',
      'other-2026-10.json',
      'other-2026-10.pdf',
    ]);
    const again = await report(env, '--client', 'other', '--month', MONTH, '--send', '--out', dir);
    assert.equal(again.code, 0);
    assert.match(again.stdout, /already stored: not sent again/);
    assert.equal(sink.mails.length, 3);
    assert.equal(await cp.count('reports'), 2);
  });
});
