import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { run } from '../../control-plane/src/fleet-cli/main.ts';
import { startControlPlane, type TestControlPlane } from '../helpers/control-plane.ts';

const CLIENTS = `# yaml-language-server: $schema=../control-plane/schema/fleet.schema.json
clients:
  - slug: fleet-dental
    name: Fleet Dental
    timeZone: Europe/Berlin
    slaTarget: 0.999
    reportContacts: [owner@fleet-dental.example]
    backupPolicy:
      keepDaily: 10
  - slug: fleet-ortho
    name: Fleet Ortho
    timeZone: America/New_York
`;
const INSTANCES = `instances:
  - client: fleet-dental
    slug: fleet-dental-prod
    environment: prod
    baseUrl: https://dental.example.test
    services:
      - name: backend
        kind: backend
        probe: { type: http, url: https://dental.example.test/healthz }
      - name: db
        kind: database
        probe: { type: tcp, host: db.dental.example.test, port: 5432 }
  - client: fleet-ortho
    slug: fleet-ortho-prod
    environment: prod
    baseUrl: https://ortho.example.test
    services:
      - name: backend
        kind: backend
        probe: { type: http, url: https://ortho.example.test/healthz }
`;
const ONCALL = `responders:
  - name: Ann Fleet
    role: oncall-engineer
    phone: "+15551250001"
  - name: Bob Fleet
    role: oncall-engineer
    email: bob@provider.example
rotations:
  - name: fleet-primary
    timeZone: Europe/Berlin
    handoff: weekly
    handoffTime: "09:00"
    startDate: "2026-01-05"
    members: [Ann Fleet, Bob Fleet]
escalationPolicies:
  - name: fleet-dental-critical
    client: fleet-dental
    severities: [critical]
    levels:
      - delaySeconds: 0
        targets: { rotations: [fleet-primary] }
      - delaySeconds: 600
        targets: { responders: [Bob Fleet], roles: [cto] }
        channels: { critical: [sms, voice] }
maintenanceWindows:
  - client: fleet-dental
    start: "2026-01-01T00:00:00Z"
    reason: weekly updates
    recurrence: { freq: weekly, byDay: [SU], startTime: "02:00", durationMinutes: 60 }
`;

/** The 1-based line of the first line of `text` that contains `needle`. */
const lineOf = (text: string, needle: string) => text.split('\n').findIndex((l) => l.includes(needle)) + 1;

describe('fleet as code: npm run fleet -- plan|apply|export', () => {
  let cp: TestControlPlane;
  let tmp: string;
  let env: Record<string, string>;

  async function fleet(...argv: string[]) {
    const out: string[] = [];
    const err: string[] = [];
    const code = await run(
      argv,
      env,
      (l) => out.push(l),
      (l) => err.push(l),
    );
    return { code, out: out.join('\n'), err: err.join('\n') };
  }
  function dir(name: string, files: Record<string, string>): string {
    const d = path.join(tmp, name);
    fs.mkdirSync(d, { recursive: true });
    for (const [f, text] of Object.entries(files)) fs.writeFileSync(path.join(d, f), text);
    return d;
  }
  const audited = async () =>
    (
      await cp.db.query<{ actor: string; action: string }>(
        'select actor, action from audit_log union all select actor, action from audit_pending',
      )
    ).rows.filter((r) => !r.action.endsWith('.list')); // plan's reads of responders are audited too

  before(async () => {
    cp = await startControlPlane();
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'fleet-cli-'));
    const tokenFile = path.join(tmp, 'token');
    fs.writeFileSync(tokenFile, `${await cp.token('operator')}\n`);
    env = { CONTROL_PLANE_URL: cp.url, CONTROL_PLANE_TOKEN_FILE: tokenFile, INIT_CWD: tmp };
  });
  after(async () => {
    await cp.close();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('plans every object with its file and line, applies them through the API, then has no changes', async () => {
    const d = dir('fleet', { 'clients.yaml': CLIENTS, 'instances.yaml': INSTANCES, 'oncall.yaml': ONCALL });
    const planned = await fleet('plan', 'fleet');
    assert.equal(planned.code, 0, planned.err);
    assert.match(
      planned.out,
      new RegExp(
        `\\+ create clients fleet-ortho \\(${d}/clients.yaml:${lineOf(CLIENTS, 'slug: fleet-ortho')}\\)`,
      ),
    );
    assert.match(planned.out, /\+ create rotations fleet-primary/);
    assert.match(planned.out, /\+ create maintenanceWindows fleet-dental/);
    assert.match(planned.out, /Plan: 9 to create, 0 to update, 0 to decommission, delete or deactivate\./);
    assert.equal((await cp.call('GET', '/api/v1/clients')).body.length, 0, 'plan changes nothing');

    const applied = await fleet('apply', 'fleet');
    assert.equal(applied.code, 0, applied.err);
    assert.match(applied.out, /Applied: 9 to create/);

    const instance = (await cp.call('GET', '/api/v1/instances/fleet-dental-prod')).body;
    assert.deepEqual(instance.services.map((s: { name: string }) => s.name).sort(), ['backend', 'db']);
    const status = (await cp.call('GET', '/api/v1/clients/fleet-dental/backups/status')).body;
    assert.equal(status.policy.keepDaily, 10);
    const rotation = (await cp.call('GET', '/api/v1/rotations/fleet-primary')).body;
    const people = (await cp.call('GET', '/api/v1/responders')).body as { id: string; name: string }[];
    assert.deepEqual(
      rotation.members,
      ['Ann Fleet', 'Bob Fleet'].map((n) => people.find((p) => p.name === n)!.id),
    );
    const policy = (
      (await cp.call('GET', '/api/v1/escalation-policies')).body as {
        name: string;
        levels: { targets: { rotations: string[] } }[];
      }[]
    ).find((p) => p.name === 'fleet-dental-critical')!;
    assert.deepEqual(policy.levels[0]!.targets.rotations, [rotation.id]);
    // Every change went through the API under the CLI's token, so the audit names it.
    const creates = (await audited()).filter(
      (r) => /\.create$/.test(r.action) && r.action !== 'token.create',
    );
    assert.equal(creates.length, 9, JSON.stringify(creates));
    assert.ok(
      creates.every((r) => r.actor.startsWith('test-operator (operator, token ')),
      JSON.stringify(creates),
    );

    const before = (await audited()).length;
    const again = await fleet('apply', 'fleet');
    assert.equal(again.code, 0, again.err);
    assert.equal(again.out, 'no changes');
    assert.equal((await fleet('plan', 'fleet')).out, 'no changes');
    assert.equal((await audited()).length, before, 'a second apply writes nothing');
  });

  it('exports today’s fleet as files that plan reads back as no changes', async () => {
    const exported = await fleet('export', 'exported');
    assert.equal(exported.code, 0, exported.err);
    const files = fs.readdirSync(path.join(tmp, 'exported')).sort();
    assert.deepEqual(files, [
      'clients.yaml',
      'escalation.yaml',
      'instances.yaml',
      'maintenance.yaml',
      'oncall.yaml',
    ]);
    const clients = fs.readFileSync(path.join(tmp, 'exported/clients.yaml'), 'utf8');
    assert.match(clients, /^# yaml-language-server: \$schema=.*control-plane\/schema\/fleet\.schema\.json\n/);
    assert.match(clients, /slug: fleet-dental/);
    assert.doesNotMatch(
      fs
        .readdirSync(path.join(tmp, 'exported'))
        .map((f) => fs.readFileSync(path.join(tmp, 'exported', f), 'utf8'))
        .join(''),
      new RegExp(fs.readFileSync(env.CONTROL_PLANE_TOKEN_FILE!, 'utf8').trim()),
      'no token in the files',
    );
    const planned = await fleet('plan', 'exported');
    assert.equal(planned.code, 0, planned.err);
    assert.equal(planned.out, 'no changes');
  });

  it('reports a bad field and a target that does not exist by file and line, and applies nothing', async () => {
    const badClients = `${CLIENTS}  - slug: fleet-new
    name: Fleet New
    timeZone: Europe/Nowhere
`;
    const badOncall = ONCALL.replace('members: [Ann Fleet, Bob Fleet]', 'members: [Ann Fleet, Zed Nobody]');
    const d = dir('bad', { 'clients.yaml': badClients, 'instances.yaml': INSTANCES, 'oncall.yaml': ONCALL });
    const rows = await cp.count('clients');
    const audit = (await audited()).length;
    const schemaBad = await fleet('apply', 'bad');
    assert.equal(schemaBad.code, 1);
    assert.match(
      schemaBad.err,
      new RegExp(
        `${d}/clients.yaml:${lineOf(badClients, 'Europe/Nowhere')}: /clients/2/timeZone must be an IANA time zone name, like Europe/Berlin`,
      ),
    );
    assert.match(schemaBad.err, /nothing was applied/);

    fs.writeFileSync(path.join(d, 'clients.yaml'), CLIENTS.replace('slaTarget: 0.999', 'slaTarget: 0.995'));
    fs.writeFileSync(path.join(d, 'oncall.yaml'), badOncall);
    const refBad = await fleet('apply', 'bad');
    assert.equal(refBad.code, 1);
    assert.match(
      refBad.err,
      new RegExp(
        `${d}/oncall.yaml:${lineOf(badOncall, 'Zed Nobody')}: rotation fleet-primary: no responder Zed Nobody in the files`,
      ),
    );
    // A client left out of the files would be decommissioned, with its instances: one kept is a problem.
    const withoutOrtho = CLIENTS.slice(0, CLIENTS.indexOf('  - slug: fleet-ortho'));
    fs.writeFileSync(path.join(d, 'clients.yaml'), withoutOrtho);
    fs.writeFileSync(path.join(d, 'oncall.yaml'), ONCALL);
    const orphan = await fleet('plan', 'bad');
    assert.equal(orphan.code, 1);
    assert.match(
      orphan.err,
      new RegExp(
        `${d}/instances.yaml:${lineOf(INSTANCES, 'client: fleet-ortho')}: instance fleet-ortho-prod: no client fleet-ortho in the files`,
      ),
    );
    assert.equal(await cp.count('clients'), rows);
    assert.equal((await audited()).length, audit, 'nothing applied, not even the valid client change');
    assert.equal((await cp.call('GET', '/api/v1/clients/fleet-dental')).body.slaTarget, 0.999);
  });

  it('applies nothing of a kind the API refuses, naming the object by file and line', async () => {
    // Two new responders with one phone number: the files are valid, the control plane refuses the second.
    const oncall = ONCALL.replace(
      'rotations:',
      `  - name: Cy Fleet
    role: oncall-engineer
    phone: "+15551250009"
  - name: Di Fleet
    role: oncall-engineer
    phone: "+15551250009"
rotations:`,
    );
    const d = dir('refused', { 'clients.yaml': CLIENTS, 'instances.yaml': INSTANCES, 'oncall.yaml': oncall });
    const audit = (await audited()).length;
    const applied = await fleet('apply', 'refused');
    assert.equal(applied.code, 1, applied.out);
    assert.match(
      applied.err,
      new RegExp(`${d}/oncall.yaml:${lineOf(oncall, 'Di Fleet')}: responders Di Fleet: `),
    );
    assert.match(applied.err, /refused responders: none of its 2 change\(s\) was applied/);
    const names = ((await cp.call('GET', '/api/v1/responders')).body as { name: string }[]).map(
      (r) => r.name,
    );
    assert.ok(!names.includes('Cy Fleet'), 'the valid responder of the refused batch is not created either');
    assert.equal((await audited()).length, audit, 'nothing audited: nothing changed');
  });

  it('shows an update field by field and a decommission, and applies them', async () => {
    const d = dir('changed', {
      'clients.yaml': CLIENTS.replace('slaTarget: 0.999', 'slaTarget: 0.995'),
      'instances.yaml': INSTANCES.slice(0, INSTANCES.indexOf('  - client: fleet-ortho')),
      'oncall.yaml': ONCALL,
    });
    const planned = await fleet('plan', 'changed');
    assert.equal(planned.code, 0, planned.err);
    assert.match(
      planned.out,
      new RegExp(`~ update clients fleet-dental \\(${d}/clients.yaml:3\\)\\n    slaTarget: 0.999 -> 0.995`),
    );
    assert.match(planned.out, /- decommission instances fleet-ortho-prod\n/);
    assert.match(planned.out, /Plan: 0 to create, 1 to update, 1 to decommission, delete or deactivate\./);
    const applied = await fleet('apply', 'changed');
    assert.equal(applied.code, 0, applied.err);
    assert.equal((await cp.call('GET', '/api/v1/instances/fleet-ortho-prod')).body.status, 'decommissioned');
    assert.equal((await cp.call('GET', '/api/v1/clients/fleet-dental')).body.slaTarget, 0.995);
    assert.equal((await fleet('plan', 'changed')).out, 'no changes');
  });
});
