/**
 * The docs a newcomer reads: a short README, links that lead somewhere, and every npm script they name real
 * (and every one the README used to name still named somewhere).
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { docPages, REPO, runnableBlocks, slug } from '../helpers/docs.ts';

const read = (file: string) => fs.readFileSync(path.join(REPO, file), 'utf8');
/** Text outside fenced code blocks, where Markdown links live. */
const prose = (text: string) => text.replace(/^```[\s\S]*?^```$/gm, '');

describe('the docs', () => {
  it('keep README.md within 250 lines', () => {
    const lines = read('README.md').split('\n').length;
    assert.ok(lines <= 250, `README.md has ${lines} lines`);
  });

  it('link only to files and headings that exist', () => {
    const broken: string[] = [];
    for (const file of docPages())
      for (const m of prose(read(file)).matchAll(/\]\(([^)\s]+)\)/g)) {
        const target = m[1]!;
        if (/^(https?:|mailto:)/.test(target)) continue;
        const [rel, anchor] = target.split('#') as [string, string | undefined];
        const abs =
          rel === '' ? path.join(REPO, file) : path.resolve(path.dirname(path.join(REPO, file)), rel);
        if (!fs.existsSync(abs)) {
          broken.push(`${file}: ${target} (no such file)`);
          continue;
        }
        if (anchor !== undefined && abs.endsWith('.md')) {
          const headings = [...prose(fs.readFileSync(abs, 'utf8')).matchAll(/^#{1,6} (.*)$/gm)].map((h) =>
            slug(h[1]!),
          );
          if (!headings.includes(anchor)) broken.push(`${file}: ${target} (no such heading)`);
        }
      }
    assert.deepEqual(broken, []);
  });

  it('name only npm scripts that exist, and still name every one the README named before the split', () => {
    const scripts = Object.keys(
      (JSON.parse(read('package.json')) as { scripts: Record<string, string> }).scripts,
    );
    const all = docPages().map(read).join('\n');
    const named = new Set([...all.matchAll(/npm run ([a-z][\w-]*(?::[\w-]+)*)/g)].map((m) => m[1]!));
    assert.deepEqual(
      [...named].filter((s) => !scripts.includes(s)),
      [],
    );
    const before = [
      'lint',
      'stack',
      'demo',
      'report',
      'audit:verify',
      'prober',
      'backup-exporter',
      'dashboards',
    ];
    const benches = ['startup', 'prober', 'sla', 'audit', 'alert-ingest', 'page-latency', 'backup-status'];
    const more = ['telemetry-overhead', 'reports'];
    assert.deepEqual(
      [...before, ...[...benches, ...more].map((b) => `bench:${b}`)].filter((s) => !named.has(s)),
      [],
    );
    assert.match(read('README.md'), /npm install && npm start/);
    assert.match(read('README.md'), /npm test/);
  });

  it('describe every environment variable the control plane reads in docs/configuration.md', () => {
    const config = read('control-plane/src/config.ts');
    const names = [...config.matchAll(/\benv\.([A-Z][A-Z0-9_]+)|\(env, '([A-Z][A-Z0-9_]+)'/g)].map(
      (m) => m[1] ?? m[2]!,
    );
    assert.ok(names.length > 40, `only ${names.length} variables found in config.ts`);
    const reference = read('docs/configuration.md');
    // Named as a whole word: in the tables, several variables share one row.
    assert.deepEqual(
      [...new Set(names)].filter((v) => !new RegExp(`\\b${v}\\b`).test(reference)),
      [],
    );
  });

  it("walk the stack's first hour with what a newcomer needs: who is paged, the demo's folder, both switch lines", () => {
    const firstHour = /## The whole stack on one machine\n([\s\S]*?)\n## /.exec(read('README.md'))?.[1] ?? '';
    for (const needed of [
      // Without responders nothing goes out; the stack seeds them and says where their pages land.
      'escalation_no_responders',
      'Demo oncall-engineer',
      '.stack/twilio/messages.log',
      // Debian's Prometheus 2.42 answers 404 on /alerts and /targets.
      '/classic/alerts',
      // `npm run demo -- break` beside the stack finds its demo here, or through the stack's DATA_DIR.
      '.stack/demo',
      'DATA_DIR=/some/folder',
      // `ok 1` alone also shows with no Alertmanager at all: the proof needs `armed 1` beside it.
      'concierge_ops_deadmans_switch_ok 1',
      'concierge_ops_deadmans_switch_armed 1',
      'armed 0',
    ])
      assert.ok(firstHour.includes(needed), `the README's stack section does not say ${needed}`);
  });

  it('mark shell blocks runnable in the README and in the pages a newcomer tries first', () => {
    const count = (file: string) => runnableBlocks(file).length;
    for (const file of ['README.md', 'docs/api.md', 'docs/paging.md', 'docs/deployment.md'])
      assert.ok(count(file) > 0, `${file} has no runnable block`);
  });
});
