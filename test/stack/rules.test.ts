/**
 * Prometheus configuration and alerting rules, checked with the real promtool: the config loads, the rules
 * parse, every promtool unit test passes, and every alert has a unit test that makes it fire and one that
 * keeps it silent, a runbook, and annotations that print only non-identifying labels.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { requireTool } from '../helpers/tools.ts';
import { PROMTOOL_TESTS } from '../helpers/promtool-tests.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const TEST_FILES = PROMTOOL_TESTS;
const PROM_DIR = path.join(ROOT, 'prometheus');
const RUNBOOK_BASE = 'https://github.com/concierge-ops/concierge-ops/blob/main/docs/runbooks/';
/** The placeholder secret path in prometheus.yml that a deploy mounts and this test renders. */
const TOKEN_PLACEHOLDER = '/etc/concierge-ops/secrets/prometheus.token';
/** Labels an annotation may print: identifiers of clients, instances and components, never patient data. */
const PRINTABLE_LABELS = new Set([
  'client',
  'instance',
  'service',
  'service_kind',
  'dependency',
  'kind',
  'job',
  // the tool a restore-tested backup is read with: pg_dump, restic or pgbackrest (set by the backup exporter)
  'tool',
  // a heartbeat monitor's name: a slug staff chose for a job ([a-z0-9-], e.g. nightly-export)
  'heartbeat',
  // where a fleet prober probes from (PROBER_LOCATION, e.g. eu-west)
  'location',
  // an incident's class: one of five fixed words (crisis, security, ...) or none
  'class',
]);
const SEVERITIES = new Set(['critical', 'warning', 'info', 'none']);

const run = promisify(execFile);

interface RunResult {
  code: number;
  out: string;
}

/** Runs a tool and returns its exit code and combined output instead of throwing on a non-zero exit. */
async function tool(bin: string, args: string[]): Promise<RunResult> {
  try {
    const { stdout, stderr } = await run(bin, args, { cwd: ROOT, maxBuffer: 16 * 1024 * 1024 });
    return { code: 0, out: stdout + stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, out: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
}

/**
 * js-yaml is in node_modules (through eslint's dependencies) but not a direct dependency yet, and has no
 * types here: load it through require so a missing copy fails with a clear message, not a type error.
 */
function loadYaml(): (src: string) => unknown {
  try {
    const mod = createRequire(import.meta.url)('js-yaml') as { load: (src: string) => unknown };
    return (src) => mod.load(src);
  } catch (cause) {
    throw new Error('js-yaml is needed to read the rule files: add it to devDependencies', { cause });
  }
}

interface AlertRule {
  file: string;
  alert: string;
  expr: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

interface AlertCase {
  alertname: string;
  firing: boolean;
}

async function yamlFiles(dir: string): Promise<string[]> {
  return (await fs.readdir(dir))
    .filter((f) => f.endsWith('.yml'))
    .sort()
    .map((f) => path.join(dir, f));
}

function asRecord(v: unknown, where: string): Record<string, unknown> {
  assert.ok(v !== null && typeof v === 'object' && !Array.isArray(v), `${where}: expected a mapping`);
  return v as Record<string, unknown>;
}

function asArray(v: unknown, where: string): unknown[] {
  if (v === undefined || v === null) return [];
  assert.ok(Array.isArray(v), `${where}: expected a list`);
  return v;
}

function asStrings(v: unknown, where: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, val] of Object.entries(v === undefined ? {} : asRecord(v, where))) out[k] = String(val);
  return out;
}

async function readAlertRules(load: (src: string) => unknown, files: string[]): Promise<AlertRule[]> {
  const rules: AlertRule[] = [];
  for (const file of files) {
    const doc = asRecord(load(await fs.readFile(file, 'utf8')), file);
    for (const group of asArray(doc.groups, `${file} groups`)) {
      for (const r of asArray(asRecord(group, file).rules, `${file} rules`)) {
        const rule = asRecord(r, file);
        if (typeof rule.alert !== 'string') continue;
        rules.push({
          file: path.basename(file),
          alert: rule.alert,
          expr: String(rule.expr),
          labels: asStrings(rule.labels, `${rule.alert} labels`),
          annotations: asStrings(rule.annotations, `${rule.alert} annotations`),
        });
      }
    }
  }
  return rules;
}

async function readAlertCases(
  load: (src: string) => unknown,
  files: string[],
): Promise<{ cases: AlertCase[]; ruleFiles: Set<string> }> {
  const cases: AlertCase[] = [];
  const ruleFiles = new Set<string>();
  for (const file of files) {
    const doc = asRecord(load(await fs.readFile(file, 'utf8')), file);
    for (const rf of asArray(doc.rule_files, `${file} rule_files`)) {
      ruleFiles.add(path.resolve(path.dirname(file), String(rf)));
    }
    for (const t of asArray(doc.tests, `${file} tests`)) {
      for (const a of asArray(asRecord(t, file).alert_rule_test, `${file} alert_rule_test`)) {
        const c = asRecord(a, file);
        cases.push({
          alertname: String(c.alertname),
          firing: asArray(c.exp_alerts, `${file} exp_alerts`).length > 0,
        });
      }
    }
  }
  return { cases, ruleFiles };
}

describe('prometheus configuration and rules (promtool)', function () {
  this.timeout(180_000);

  let promtool: string;
  let load: (src: string) => unknown;
  let ruleFiles: string[];
  let testFiles: string[];
  let tmp: string;

  before(async () => {
    promtool = requireTool('promtool');
    load = loadYaml();
    ruleFiles = await yamlFiles(path.join(PROM_DIR, 'rules'));
    testFiles = await yamlFiles(path.join(PROM_DIR, 'tests'));
    tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'prom-config-'));
  });

  after(async () => {
    if (tmp) await fs.rm(tmp, { recursive: true, force: true });
  });

  it('loads prometheus.yml (rendered with a stand-in token file) including every rule file', async () => {
    // promtool stats credentials files; a deploy mounts the real one, the test renders a copy pointing at
    // a throwaway token. The copy keeps the folder layout so relative rule and file_sd paths resolve.
    const original = await fs.readFile(path.join(PROM_DIR, 'prometheus.yml'), 'utf8');
    assert.ok(original.includes(TOKEN_PLACEHOLDER), 'prometheus.yml no longer uses the token placeholder');
    const copy = path.join(tmp, 'prometheus');
    await fs.cp(PROM_DIR, copy, { recursive: true });
    const token = path.join(tmp, 'prometheus.token');
    await fs.writeFile(token, 'test-token\n', { mode: 0o600 });
    await fs.writeFile(path.join(copy, 'prometheus.yml'), original.replaceAll(TOKEN_PLACEHOLDER, token));

    const res = await tool(promtool, ['check', 'config', path.join(copy, 'prometheus.yml')]);
    assert.equal(res.code, 0, res.out);
    assert.match(res.out, /SUCCESS: .*prometheus\.yml is valid prometheus config file syntax/);
    for (const f of ruleFiles) assert.ok(res.out.includes(path.basename(f)), `rule file not loaded: ${f}`);
  });

  it('parses every rule file', async () => {
    assert.ok(ruleFiles.length > 0, 'no rule files found');
    const res = await tool(promtool, ['check', 'rules', ...ruleFiles]);
    assert.equal(res.code, 0, res.out);
    assert.doesNotMatch(res.out, /FAILED/);
  });

  it('has a promtool test for every rule file, and one that makes each alert fire and one that does not', async () => {
    const rules = await readAlertRules(load, ruleFiles);
    const { cases, ruleFiles: tested } = await readAlertCases(load, testFiles);
    for (const f of ruleFiles) assert.ok(tested.has(f), `no test file loads ${path.relative(ROOT, f)}`);

    const problems: string[] = [];
    for (const name of new Set(rules.map((r) => r.alert))) {
      const own = cases.filter((c) => c.alertname === name);
      if (!own.some((c) => c.firing)) problems.push(`${name}: no test where it fires`);
      // An always-firing alert (Watchdog) has no silent case by design.
      const alwaysFiring = rules.filter((r) => r.alert === name).every((r) => r.expr.trim() === 'vector(1)');
      if (!alwaysFiring && !own.some((c) => !c.firing))
        problems.push(`${name}: no test where it stays silent`);
    }
    assert.deepEqual(problems, []);
  });

  for (const name of TEST_FILES) {
    it(`passes the promtool unit tests in prometheus/tests/${name}.test.yml`, async () => {
      const file = path.join(PROM_DIR, 'tests', `${name}.test.yml`);
      const res = await tool(promtool, ['test', 'rules', file]);
      assert.equal(res.code, 0, res.out);
      assert.match(res.out, /SUCCESS/);
    });
  }

  it('runs every test file in prometheus/tests (none is left out of the list above)', () => {
    const listed = TEST_FILES.map((n) => `${n}.test.yml`);
    assert.deepEqual(testFiles.map((f) => path.basename(f)).sort(), listed.sort());
  });

  it('gives every alert a severity, a summary, a description and a runbook that exists', async () => {
    const rules = await readAlertRules(load, ruleFiles);
    const problems: string[] = [];
    for (const r of rules) {
      const where = `${r.file} ${r.alert}`;
      if (!SEVERITIES.has(r.labels.severity ?? ''))
        problems.push(`${where}: severity "${r.labels.severity}"`);
      if (!r.annotations.summary) problems.push(`${where}: no summary`);
      if (!r.annotations.description) problems.push(`${where}: no description`);
      if (r.annotations.runbook_url !== `${RUNBOOK_BASE}${r.alert}.md`) {
        problems.push(`${where}: runbook_url ${r.annotations.runbook_url}`);
      }
      const runbook = path.join(ROOT, 'docs', 'runbooks', `${r.alert}.md`);
      if (!(await fs.stat(runbook).catch(() => undefined))) problems.push(`${where}: no ${runbook}`);
    }
    assert.deepEqual(problems, []);
  });

  it('prints only identifying labels in alert annotations (no patient data can reach a page)', async () => {
    const rules = await readAlertRules(load, ruleFiles);
    const problems: string[] = [];
    for (const r of rules) {
      for (const [key, text] of Object.entries(r.annotations)) {
        for (const m of text.matchAll(/\$labels\.([A-Za-z_][A-Za-z0-9_]*)/g)) {
          if (!PRINTABLE_LABELS.has(m[1]!)) problems.push(`${r.alert} ${key} prints label ${m[1]}`);
        }
        // Whole label sets (range over $labels) would print whatever a runtime attached.
        if (/range\s+\$labels|\$labels\s*}}/.test(text))
          problems.push(`${r.alert} ${key} prints every label`);
      }
    }
    assert.deepEqual(problems, []);
  });
});
