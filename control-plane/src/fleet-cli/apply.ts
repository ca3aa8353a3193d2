/**
 * Runs a plan's changes through POST /api/v1/fleet/batch: one transaction per kind of object (and phase), so
 * the API refusing one object leaves its whole kind as it was. Every operation is audited under the CLI's token.
 */
import { Refused, type ControlPlane } from './http.ts';
import type { Problem } from './files.ts';
import type { Call, Change, Ids } from './plan.ts';
import type { Current } from './state.ts';

export interface Applied {
  done: Change[];
  /** The batch the API refused, and why, per file and line; it and every batch after it were not applied. */
  refused?: { changes: Change[]; problems: Problem[] };
}

export function idsOf(cur: Current): Ids {
  return {
    clients: new Map(cur.clients.map((c) => [c.slug, c.id])),
    responders: new Map(cur.responders.map((r) => [r.name, r.id])),
    rotations: new Map(cur.rotations.map((r) => [r.name, r.id])),
  };
}

/** Consecutive changes of one kind and phase: what one transaction applies. */
function batches(changes: Change[]): Change[][] {
  const out: Change[][] = [];
  for (const c of changes) {
    const last = out.at(-1);
    if (last && last[0]!.kind === c.kind && last[0]!.phase === c.phase) last.push(c);
    else out.push([c]);
  }
  return out;
}

/** The API holds at most this many operations in one batch (fleet-batch/schemas.ts MAX_OPERATIONS). */
const MAX_OPERATIONS = 200;

export async function applyPlan(cp: ControlPlane, changes: Change[], ids: Ids): Promise<Applied> {
  const done: Change[] = [];
  for (const group of batches(changes)) {
    // Calls are built now, not at plan time: a rotation's members may be responders the batch before created.
    const calls: { change: Change; call: Call }[] = group.flatMap((change) =>
      change.request(ids).map((call) => ({ change, call })),
    );
    if (calls.length > MAX_OPERATIONS)
      return {
        done,
        refused: {
          changes: group,
          problems: [
            {
              where: group[0]!.kind,
              message: `${calls.length} changes of one kind; the API applies at most ${MAX_OPERATIONS} at once (split the change)`,
            },
          ],
        },
      };
    try {
      const answer = await cp.call<{ results: ({ id?: string } | null)[] }>('POST', '/api/v1/fleet/batch', {
        operations: calls.map(({ call }) => ({
          operationId: call.operationId,
          id: call.id,
          body: call.body,
        })),
      });
      // Later batches name what this one created (a rotation's members, a policy's targets).
      answer.results.forEach((r, i) => {
        const { change, call } = calls[i]!;
        if (!call.operationId.startsWith('create') || !r?.id) return;
        if (change.kind === 'responders') ids.responders.set(change.key, r.id);
        if (change.kind === 'rotations') ids.rotations.set(change.key, r.id);
        if (change.kind === 'clients') ids.clients.set(change.key, r.id);
      });
      done.push(...group);
    } catch (err) {
      if (!(err instanceof Refused)) throw err;
      const problems = (err.errors.length ? err.errors : [{ field: '', message: err.detail }]).map((e) => {
        const m = /^\/operations\/([0-9]+)(\/body)?(.*)$/.exec(e.field);
        const at = m ? calls[Number(m[1])] : undefined;
        if (!at)
          return {
            where: group[0]!.kind,
            message: `the API refused the batch: HTTP ${err.status} ${e.message}`,
          };
        const where = at.change.place
          ? at.change.place.atPointer(m![2] ? `${at.call.prefix ?? ''}${m![3]}` : '')
          : `${at.change.kind} ${at.change.key}`;
        return {
          where,
          message: `${at.change.kind} ${at.change.key}: ${m![2] ? `${m![3]} ` : ''}${e.message}`,
        };
      });
      return { done, refused: { changes: group, problems } };
    }
  }
  return { done };
}
