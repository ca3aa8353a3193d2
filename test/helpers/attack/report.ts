import fs from 'node:fs';

/** One failing request, printed as one line. */
export interface Failure {
  route: string;
  request: string;
  problem: string;
}

const clip = (s: string, n: number) => (s.length > n ? `${s.slice(0, n)}…(${s.length} chars)` : s);

/** JSON with NUL and lone surrogates escaped, cut short: what a failure line shows of a body or answer. */
export function shown(value: unknown, n = 160): string {
  const s = typeof value === 'string' ? JSON.stringify(value).slice(1, -1) : (JSON.stringify(value) ?? 'undefined');
  return clip(s, n);
}

/**
 * Fails with one line per failing request (at most `cap`), after the count per route and problem; with
 * ATTACK_REPORT=<file> set, writes every failure there as JSON lines too.
 */
export function assertNone(title: string, failures: Failure[], seed: number, cap = 50): void {
  if (failures.length === 0) return;
  const file = process.env.ATTACK_REPORT;
  if (file) fs.appendFileSync(file, failures.map((f) => JSON.stringify({ title, ...f }) + '\n').join(''));
  const lines = failures.slice(0, cap).map((f) => `${f.route} | ${f.problem} | ${f.request}`);
  const more = failures.length > cap ? [`… and ${failures.length - cap} more (ATTACK_REPORT=<file> lists all)`] : [];
  throw new Error(
    `${title}: ${failures.length} failing requests (seed ${seed}; rerun one route with ` +
      `ATTACK_SEED=${seed} ATTACK_ROUTE='<METHOD> <path>')\n` +
      [...lines, ...more].join('\n'),
  );
}
