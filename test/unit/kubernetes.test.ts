/**
 * deploy/kubernetes as kubectl renders it: every object valid against the vendored Kubernetes and
 * prometheus-operator schemas (deploy/kubernetes/schemas, SOURCE.md), unknown fields refused as a
 * server-side apply with strict field validation would; the generated monitoring resources up to date with
 * the stack's own rules and configs; and what an operator relies on (two control-plane replicas behind a PDB,
 * readiness on /readyz, no secret in the repository, scrapes and webhooks that reach the rendered Services).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { Ajv, type ValidateFunction } from 'ajv';
import { parse, parseAllDocuments } from 'yaml';
import { requireTool } from '../helpers/tools.ts';
import { generateMonitoring, NAMESPACE, TOKENS_SECRET } from '../../scripts/kube/monitoring.ts';

const run = promisify(execFile);
const ROOT = path.resolve(import.meta.dirname, '../..');
const KUBE = path.join(ROOT, 'deploy/kubernetes');
const SCHEMAS = path.join(KUBE, 'schemas');

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/**
 * Kubernetes schemas accept any extra field (the API server prunes or, with strict field validation,
 * refuses it); refuse them here so a misspelt field (`readinesProbe`) fails the test instead of vanishing.
 */
function strict(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(strict);
  if (!v || typeof v !== 'object') return v;
  const o = Object.fromEntries(Object.entries(v).map(([k, x]) => [k, strict(x)])) as Json;
  if (o.properties && o.additionalProperties === undefined && !o['x-kubernetes-preserve-unknown-fields'])
    o.additionalProperties = false;
  return o;
}

/**
 * The CRDs' patterns are Go regular expressions: `(?i)` (case-insensitive from there on) is the one construct
 * they use that JavaScript lacks. Applying the flag to the whole pattern is at most more lenient.
 */
function goRegExp(pattern: string, flags: string): RegExp {
  return pattern.includes('(?i)')
    ? new RegExp(pattern.replaceAll('(?i)', ''), flags + 'i')
    : new RegExp(pattern, flags);
}
goRegExp.code = 'new RegExp';

/** `apiVersion kind` -> validator, from the vendored files; each compiled when first asked for (seconds each). */
function loadValidators(): { get(id: string): ValidateFunction | undefined } {
  const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false, code: { regExp: goRegExp } });
  const out = new Map<string, () => ValidateFunction>();
  const compiled = new Map<string, ValidateFunction>();
  for (const f of fs.readdirSync(path.join(SCHEMAS, 'kubernetes'))) {
    const schema = JSON.parse(fs.readFileSync(path.join(SCHEMAS, 'kubernetes', f), 'utf8')) as Json;
    const root = schema.definitions[String(schema.$ref).replace('#/definitions/', '')];
    for (const gvk of root['x-kubernetes-group-version-kind'] as Json[]) {
      const apiVersion = gvk.group ? `${gvk.group}/${gvk.version}` : gvk.version;
      out.set(`${apiVersion} ${gvk.kind}`, () => ajv.compile(strict(schema) as Json));
    }
  }
  const crdKinds: Record<string, string> = {
    prometheusrule: 'PrometheusRule',
    servicemonitor: 'ServiceMonitor',
    scrapeconfig: 'ScrapeConfig',
    alertmanagerconfig: 'AlertmanagerConfig',
  };
  for (const f of fs.readdirSync(path.join(SCHEMAS, 'prometheus-operator'))) {
    const [, kind, version] = /^([a-z]+)-(v[0-9a-z]+)\.json$/.exec(f)!;
    const schema = JSON.parse(fs.readFileSync(path.join(SCHEMAS, 'prometheus-operator', f), 'utf8')) as Json;
    out.set(`monitoring.coreos.com/${version} ${crdKinds[kind!]}`, () => ajv.compile(strict(schema) as Json));
  }
  return {
    get(id) {
      const make = out.get(id);
      if (make && !compiled.has(id)) compiled.set(id, make());
      return compiled.get(id);
    },
  };
}

async function render(dir: string): Promise<Json[]> {
  const { stdout } = await run(requireTool('kubectl'), ['kustomize', dir], { maxBuffer: 32 << 20 });
  return parseAllDocuments(stdout).map((d) => d.toJSON() as Json);
}

const named = (objs: Json[], kind: string, name: string) => {
  const o = objs.find((x) => x.kind === kind && x.metadata.name === name);
  assert.ok(o, `no ${kind} ${name} rendered`);
  return o;
};

describe('deploy/kubernetes (kustomize base and prometheus-operator resources)', function () {
  this.timeout(60_000);
  let objects: Json[];
  let validators: ReturnType<typeof loadValidators>;

  before(async () => {
    objects = await render(KUBE);
    validators = loadValidators();
  });

  it('renders with kubectl kustomize into the services and the monitoring resources', () => {
    const kinds = objects.map((o) => `${o.kind}/${o.metadata.name}`);
    for (const k of [
      'Deployment/control-plane',
      'Deployment/fleet-prober',
      'Deployment/backup-exporter',
      'Service/control-plane',
      'PodDisruptionBudget/control-plane',
      'PrometheusRule/concierge-ops-slo',
      'ServiceMonitor/control-plane',
      'ScrapeConfig/concierge',
      'AlertmanagerConfig/concierge-ops',
    ])
      assert.ok(kinds.includes(k), `${k} missing from: ${kinds.join(', ')}`);
  });

  it('validates every rendered object against the vendored Kubernetes and prometheus-operator schemas', () => {
    const problems: string[] = [];
    for (const o of objects) {
      const id = `${o.apiVersion} ${o.kind}`;
      const validate = validators.get(id);
      if (!validate) {
        problems.push(`${id} ${o.metadata.name}: no vendored schema (scripts/kube/vendor-schemas.ts)`);
        continue;
      }
      if (!(validate(o) as boolean))
        for (const e of validate.errors ?? [])
          problems.push(
            `${o.kind} ${o.metadata.name}${e.instancePath}: ${e.message} ${JSON.stringify(e.params)}`,
          );
    }
    assert.deepEqual(problems, []);
  });

  it('refuses a misspelt field and a wrongly typed one (the schemas are not a formality)', () => {
    const deployment = structuredClone(named(objects, 'Deployment', 'control-plane'));
    deployment.spec.template.spec.containers[0].readinesProbe = { httpGet: { path: '/readyz', port: 8080 } };
    deployment.spec.replicas = 'two';
    const validate = validators.get('apps/v1 Deployment')!;
    assert.equal(validate(deployment), false);
    const text = JSON.stringify(validate.errors);
    assert.match(text, /readinesProbe/);
    assert.match(text, /\/spec\/replicas/);
    const rule = structuredClone(named(objects, 'PrometheusRule', 'concierge-ops-slo'));
    rule.spec.groups[0].rules[0].exp = rule.spec.groups[0].rules[0].expr;
    assert.equal(validators.get('monitoring.coreos.com/v1 PrometheusRule')!(rule), false);
  });

  it('runs two control-plane replicas behind a PDB, ready on /readyz, spread over nodes', () => {
    const d = named(objects, 'Deployment', 'control-plane');
    assert.equal(d.spec.replicas, 2);
    const pod = d.spec.template;
    const c = pod.spec.containers[0];
    assert.equal(c.image, 'concierge-ops/control-plane:0.1.0');
    assert.equal(c.readinessProbe.httpGet.path, '/readyz');
    assert.equal(c.livenessProbe.httpGet.path, '/healthz');
    assert.equal(d.spec.strategy.rollingUpdate.maxUnavailable, 0);
    const pdb = named(objects, 'PodDisruptionBudget', 'control-plane');
    assert.equal(pdb.spec.minAvailable, 1);
    for (const [k, v] of Object.entries(pdb.spec.selector.matchLabels))
      assert.equal(pod.metadata.labels[k], v);
    assert.equal(pod.spec.topologySpreadConstraints[0].topologyKey, 'kubernetes.io/hostname');
  });

  it('runs every container as non-root on a read-only root file system, with resources and probes', () => {
    for (const d of objects.filter((o) => o.kind === 'Deployment')) {
      const spec = d.spec.template.spec;
      assert.equal(spec.securityContext.runAsNonRoot, true, d.metadata.name);
      assert.equal(spec.automountServiceAccountToken, false, d.metadata.name);
      for (const c of spec.containers) {
        assert.equal(c.securityContext.readOnlyRootFilesystem, true, c.name);
        assert.equal(c.securityContext.allowPrivilegeEscalation, false, c.name);
        assert.deepEqual(c.securityContext.capabilities.drop, ['ALL'], c.name);
        assert.ok(c.resources.requests.memory && c.resources.limits.memory, `${c.name} memory`);
        assert.ok(c.readinessProbe && c.livenessProbe, `${c.name} probes`);
        assert.match(c.image, /^concierge-ops\/(control-plane|fleet-prober|backup-exporter):0\.1\.0$/);
      }
    }
  });

  it('commits no secret: tokens and the database URL come from Secrets the operator creates', () => {
    assert.deepEqual(
      objects.filter((o) => o.kind === 'Secret'),
      [],
    );
    const cp = named(objects, 'Deployment', 'control-plane').spec.template.spec;
    const tokens = cp.volumes.find((v: Json) => v.secret?.secretName === TOKENS_SECRET);
    assert.ok(tokens, 'the tokens Secret is not mounted');
    const mount = cp.containers[0].volumeMounts.find((m: Json) => m.name === tokens.name);
    assert.equal(mount.mountPath, '/run/secrets/concierge-ops');
    for (const cm of objects.filter((o) => o.kind === 'ConfigMap'))
      for (const [k, v] of Object.entries(cm.data as Record<string, string>))
        assert.doesNotMatch(`${k}=${v}`, /TOKEN=.|PASSWORD=.|SECRET=.|postgres(ql)?:\/\/[^@]*:[^@]*@/i);
  });

  it('puts every object in one namespace, and scrapes and webhooks reach the rendered Services', () => {
    for (const o of objects.filter((x) => x.kind !== 'Namespace'))
      assert.equal(o.metadata.namespace, NAMESPACE);
    const services = objects.filter((o) => o.kind === 'Service');
    for (const sm of objects.filter((o) => o.kind === 'ServiceMonitor')) {
      const svc = services.find((s) =>
        Object.entries(sm.spec.selector.matchLabels).every(([k, v]) => s.metadata.labels[k] === v),
      );
      assert.ok(svc, `ServiceMonitor ${sm.metadata.name} selects no Service`);
      // The job label is the Service's name label: the rules' job="..." selectors must keep matching.
      assert.equal(svc.metadata.labels[sm.spec.jobLabel], sm.metadata.name);
      for (const e of sm.spec.endpoints)
        assert.ok(
          svc.spec.ports.some((p: Json) => p.name === e.port),
          `${sm.metadata.name} port ${e.port}`,
        );
    }
    const cp = named(objects, 'Service', 'control-plane');
    const base = `http://${cp.metadata.name}.${cp.metadata.namespace}.svc:${cp.spec.ports[0].port}/`;
    const amc = named(objects, 'AlertmanagerConfig', 'concierge-ops');
    const urls = amc.spec.receivers.flatMap((r: Json) => (r.webhookConfigs ?? []).map((w: Json) => w.url));
    assert.deepEqual(urls, [`${base}api/v1/alertmanager/webhook`, `${base}api/v1/alertmanager/watchdog`]);
    const sc = named(objects, 'ScrapeConfig', 'concierge');
    assert.equal(sc.spec.httpSDConfigs[0].url, `${base}api/v1/sd/scrape-targets`);
  });

  it('carries every rule of prometheus/rules/*.yml, alerts labelled with the namespace their routes match', () => {
    const dir = path.join(ROOT, 'prometheus/rules');
    for (const f of fs.readdirSync(dir).filter((x) => x.endsWith('.yml'))) {
      const source = parse(fs.readFileSync(path.join(dir, f), 'utf8')) as Json;
      const rendered = named(objects, 'PrometheusRule', `concierge-ops-${path.basename(f, '.yml')}`);
      const expected = (source.groups as Json[]).map((g) => ({
        ...g,
        rules: g.rules.map((r: Json) =>
          r.alert ? { ...r, labels: { ...r.labels, namespace: NAMESPACE } } : r,
        ),
      }));
      assert.deepEqual(rendered.spec.groups, expected, f);
    }
  });

  it('has deploy/kubernetes/monitoring as npm run kube:generate makes it (a stale copy fails here)', () => {
    const expected = generateMonitoring(ROOT);
    const dir = path.join(KUBE, 'monitoring');
    assert.deepEqual(fs.readdirSync(dir).sort(), Object.keys(expected).sort(), 'run npm run kube:generate');
    for (const [name, text] of Object.entries(expected))
      assert.equal(
        fs.readFileSync(path.join(dir, name), 'utf8'),
        text,
        `${name} is stale: run npm run kube:generate`,
      );
  });
});
