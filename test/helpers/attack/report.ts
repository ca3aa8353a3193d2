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
  const s =
    typeof value === 'string' ? JSON.stringify(value).slice(1, -1) : (JSON.stringify(value) ?? 'undefined');
  return clip(s, n);
}

/**
 * Fails with one line per failing request (at most `cap`), after the count per route and problem; with
 * ATTACK_REPORT=<file> set, writes every failure there as JSON lines too.
 */
export function assertNone(title: string, failures: Failure[], hint: string, cap = 50): void {
  if (failures.length === 0) return;
  const file = process.env.ATTACK_REPORT;
  if (file) fs.appendFileSync(file, failures.map((f) => JSON.stringify({ title, ...f }) + '\n').join(''));
  // One cause (say, a missing header on every 401) must not hide the others: take the kinds in turn.
  const kinds = new Map<string, Failure[]>();
  for (const f of failures) {
    const kind = f.problem.replace(/\d+/g, '#').slice(0, 40);
    kinds.set(kind, [...(kinds.get(kind) ?? []), f]);
  }
  const picked: Failure[] = [];
  for (let i = 0; picked.length < Math.min(cap, failures.length); i++)
    for (const list of kinds.values()) if (list[i] && picked.length < cap) picked.push(list[i]!);
  const lines = picked.map((f) => `${f.route} | ${f.problem} | ${f.request}`);
  const more =
    failures.length > cap ? [`… and ${failures.length - cap} more (ATTACK_REPORT=<file> lists all)`] : [];
  throw new Error(
    `${title}: ${failures.length} failing requests of ${kinds.size} kinds (${hint})\n` +
      [...lines, ...more].join('\n'),
  );
}
