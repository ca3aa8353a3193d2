/**
 * `npm run fleet -- plan|apply|export <dir> [--url URL] [--token-file FILE]`: the fleet as YAML files.
 * plan: what apply would change (exit 0; `no changes` when none). apply: checks every file and every reference
 * first and applies nothing when anything is wrong (exit 1, each problem as file:line), then applies through
 * the API. export: writes today's fleet into <dir>. Exit 2 on bad arguments or configuration.
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { errorMessage } from '@concierge-ops/shared/errors';
import { applyPlan, idsOf } from './apply.ts';
import { callerDir, cliConfig } from './config.ts';
import { writeExport } from './export.ts';
import { readFleet, type Problem } from './files.ts';
import { ControlPlane } from './http.ts';
import { plan, type Change } from './plan.ts';
import { readCurrent } from './state.ts';

const USAGE = 'usage: npm run fleet -- plan|apply|export <dir> [--url URL] [--token-file FILE]';
const SIGN = { create: '+', update: '~', decommission: '-', delete: '-', deactivate: '-' } as const;

type Out = (line: string) => void;

function describe(c: Change): string[] {
  const where = c.place ? ` (${c.place.at()})` : '';
  return [`${SIGN[c.action]} ${c.action} ${c.kind} ${c.key}${where}`, ...c.detail.map((d) => `    ${d}`)];
}

function summary(changes: Change[]): string {
  const n = (f: (c: Change) => boolean) => changes.filter(f).length;
  return (
    `${n((c) => c.action === 'create')} to create, ${n((c) => c.action === 'update')} to update, ` +
    `${n((c) => !['create', 'update'].includes(c.action))} to decommission, delete or deactivate`
  );
}

const report = (err: Out, problems: Problem[]) => problems.forEach((p) => err(`${p.where}: ${p.message}`));

export async function run(
  argv: string[],
  env: Record<string, string | undefined> = process.env,
  out: Out = (l) => console.log(l),
  err: Out = (l) => console.error(l),
): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { url: { type: 'string' }, 'token-file': { type: 'string' } },
    });
  } catch (e) {
    err(`${errorMessage(e)}\n${USAGE}`);
    return 2;
  }
  const [command, dirArg] = parsed.positionals;
  if (!['plan', 'apply', 'export'].includes(command ?? '') || !dirArg || parsed.positionals.length > 2) {
    err(USAGE);
    return 2;
  }
  const config = cliConfig({ url: parsed.values.url, tokenFile: parsed.values['token-file'] }, env);
  if ('problem' in config) {
    err(`${config.problem}\n${USAGE}`);
    return 2;
  }
  const dir = path.resolve(callerDir(env), dirArg);
  const cp = new ControlPlane(config.url, config.token);
  try {
    if (command === 'export') {
      for (const f of writeExport(dir, await readCurrent(cp))) out(`wrote ${f}`);
      return 0;
    }
    // The files first: what is wrong in them is told even when the control plane cannot be reached.
    const files = readFleet(dir);
    if (files.problems.length) {
      report(err, files.problems);
      err(
        `${files.problems.length} problem(s) in ${dir}; nothing ${command === 'apply' ? 'was applied' : 'planned'}`,
      );
      return 1;
    }
    const current = await readCurrent(cp);
    const p = plan(files.desired, current);
    // Notes go with the problems, so that stdout is the plan alone (`no changes` when there are none).
    p.notes.forEach((n) => err(`note: ${n}`));
    if (p.problems.length) {
      report(err, p.problems);
      err(`${p.problems.length} problem(s); nothing ${command === 'apply' ? 'was applied' : 'planned'}`);
      return 1;
    }
    if (p.changes.length === 0) {
      out('no changes');
      return 0;
    }
    for (const c of p.changes) describe(c).forEach((l) => out(l));
    if (command === 'plan') {
      out(`Plan: ${summary(p.changes)}.`);
      return 0;
    }
    const applied = await applyPlan(cp, p.changes, idsOf(current));
    if (applied.refused) {
      report(err, applied.refused.problems);
      const { changes } = applied.refused;
      err(
        `the control plane refused ${changes[0]!.kind}: none of its ${changes.length} change(s) was applied, ` +
          `nor anything after it; ${applied.done.length} change(s) before it were`,
      );
      return 1;
    }
    out(`Applied: ${summary(applied.done)}.`);
    return 0;
  } catch (e) {
    err(`fleet ${command}: ${errorMessage(e)}`);
    return 1;
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(import.meta.filename)) {
  process.exitCode = await run(process.argv.slice(2));
}
