import type { CheckpointLine } from './checkpoints.ts';

/** The first row or checkpoint at which the audit history stops being what was recorded. */
export interface Broken {
  /** The row at fault (for a checkpoint, the row it signed); null for a checkpoint line that cannot be read. */
  seq: number | null;
  reason: string;
  /** Set when a checkpoint names the break: its line in the checkpoint file, its seq and time. */
  checkpoint?: { line: number; seq: number | null; at: string | null };
}

export interface ChainState {
  rows: number;
  last: number | null;
  broken: { seq: number; reason: 'hash' | 'link' } | null;
}

const CHAIN_REASONS = {
  hash: 'the row was altered: its hash does not match its content',
  link: 'the chain is broken before this row: a row was removed or altered before it',
};

/**
 * Judges the chain in the database against the signed checkpoints from outside it. The chain alone catches a
 * row changed or removed without recomputing what follows; a checkpoint also catches a recomputed chain, a
 * forged row chained in and a truncated tail, up to the newest checkpoint. `at` holds, for every checkpointed
 * seq still present, that row's hash and how many rows lie up to it.
 */
export function judge(
  chain: ChainState,
  lines: CheckpointLine[],
  at: Map<number, { hash: string; rows: number }>,
  deletedThrough = 0,
): { firstBroken: Broken | null; verifiedThrough: { seq: number; at: string } | null } {
  const problems: Broken[] = [];
  if (chain.broken) problems.push({ seq: chain.broken.seq, reason: CHAIN_REASONS[chain.broken.reason] });
  // Checkpoints of records deleted after their retention are checked against the archive (--archive) instead.
  const signed = lines
    .flatMap((l) =>
      'checkpoint' in l && (l.checkpoint.seq > deletedThrough || deletedThrough === 0)
        ? [{ line: l.line, c: l.checkpoint }]
        : [],
    )
    .sort((a, b) => a.c.seq - b.c.seq || a.line - b.line);
  let lastGood = 0;
  for (const { line, c } of signed) {
    const row = at.get(c.seq);
    const signedAt = `checkpoint ${line} (signed ${c.at})`;
    let reason: string | undefined;
    if (c.seq === 0) reason = c.rows === 0 ? undefined : `${signedAt} counts ${c.rows} rows before the first`;
    else if (!row && (chain.last === null || c.seq > chain.last))
      reason =
        `the log ends at ${chain.last === null ? 'no row at all' : `seq ${chain.last}`}, but ${signedAt} ` +
        `covers rows up to seq ${c.seq}: rows were removed from the end of the log`;
    else if (!row) reason = `row seq ${c.seq}, covered by ${signedAt}, is missing: it was removed`;
    else if (row.hash !== c.hash)
      reason =
        `row seq ${c.seq} does not have the hash ${signedAt} gives it: rows after seq ${lastGood} up to ` +
        `seq ${c.seq} were changed, forged or removed and the chain recomputed`;
    else if (row.rows !== c.rows)
      reason = `${row.rows} rows lie up to seq ${c.seq}, but ${signedAt} counted ${c.rows}: rows were added or removed`;
    if (reason) problems.push({ seq: c.seq, reason, checkpoint: { line, seq: c.seq, at: c.at } });
    else lastGood = c.seq;
  }
  // A checkpoint line that cannot be trusted comes first: the evidence itself was tampered with.
  const bad = lines.find((l) => 'error' in l);
  const first: Broken | undefined = bad
    ? {
        seq: null,
        reason: `checkpoint line ${bad.line}: ${'error' in bad ? bad.error : ''}`,
        checkpoint: { line: bad.line, seq: null, at: null },
      }
    : problems.sort((a, b) => a.seq! - b.seq! || (a.checkpoint ? 1 : 0) - (b.checkpoint ? 1 : 0))[0];
  // The verified history reaches the newest checkpoint with nothing broken at or before it.
  const limit = first?.seq ?? Infinity;
  const through = signed.filter(({ c }) => c.seq < limit && !problems.some((p) => p.seq! <= c.seq)).pop();
  return {
    firstBroken: first ?? null,
    verifiedThrough: through ? { seq: through.c.seq, at: through.c.at } : null,
  };
}
