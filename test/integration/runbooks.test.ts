/**
 * The runbooks' escalation ladder is the one the control plane follows: the table in docs/runbooks/README.md
 * against the default escalation policy a fresh control plane answers with, and every "L<n>" a runbook names
 * against the policy's levels.
 */
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { startControlPlane, type TestControlPlane } from '../helpers/control-plane.ts';

const DIR = path.resolve(import.meta.dirname, '../../docs/runbooks');

interface Rung {
  level: number;
  role: string;
  delaySeconds: number;
}

/** The README's table rows: `| L2 | DevOps lead (`devops-lead`) | 5 minutes |`. */
function readmeLadder(): Rung[] {
  const text = readFileSync(path.join(DIR, 'README.md'), 'utf8');
  return [...text.matchAll(/^\| L(\d) \| [^|`]*\(`([a-z-]+)`\) \| (at once|(\d+) minutes?) \|$/gm)].map(
    (m) => ({
      level: Number(m[1]),
      role: m[2]!,
      delaySeconds: m[4] ? Number(m[4]) * 60 : 0,
    }),
  );
}

describe('runbooks', function () {
  let cp: TestControlPlane;
  before(async () => {
    cp = await startControlPlane();
  });
  after(async () => cp?.close());

  it("states the default escalation policy's ladder, level by level", async () => {
    const res = await cp.call('GET', '/api/v1/escalation-policies');
    assert.equal(res.status, 200);
    const list = (res.body.items ?? res.body) as {
      isDefault: boolean;
      levels: { level: number; delaySeconds: number; targets: { roles: string[] | null } }[];
    }[];
    const policy = list.find((p) => p.isDefault);
    assert.ok(policy, 'a fresh control plane has a default policy');
    const served: Rung[] = policy.levels.map((l) => {
      assert.equal(l.targets.roles?.length, 1, `level ${l.level} targets one role`);
      return { level: l.level, role: l.targets.roles![0]!, delaySeconds: l.delaySeconds };
    });
    assert.deepEqual(readmeLadder(), served);
  });

  it('names only levels the default policy has', async () => {
    const levels = readmeLadder().length;
    assert.ok(levels >= 2, 'the README table was read');
    const wrong: string[] = [];
    for (const file of readdirSync(DIR).filter((f) => f.endsWith('.md'))) {
      for (const m of readFileSync(path.join(DIR, file), 'utf8').matchAll(/\bL(\d+)\b/g))
        if (Number(m[1]) < 1 || Number(m[1]) > levels) wrong.push(`${file}: L${m[1]}`);
    }
    assert.deepEqual(wrong, []);
  });
});
