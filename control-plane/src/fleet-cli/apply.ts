/** Runs a plan's changes through the API, in phase order, each call audited under the CLI's token. */
import { Refused, type ControlPlane } from './http.ts';
import type { Problem } from './files.ts';
import type { Change, Ids } from './plan.ts';
import type { Current } from './state.ts';

export interface Applied {
  done: Change[];
  /** The change the API refused, and why, per file and line; nothing after it was applied. */
  refused?: { change: Change; problems: Problem[] };
}

export function idsOf(cur: Current): Ids {
  return {
    clients: new Map(cur.clients.map((c) => [c.slug, c.id])),
    responders: new Map(cur.responders.map((r) => [r.name, r.id])),
    rotations: new Map(cur.rotations.map((r) => [r.name, r.id])),
  };
}

export async function applyPlan(cp: ControlPlane, changes: Change[], ids: Ids): Promise<Applied> {
  const done: Change[] = [];
  for (const change of changes) {
    for (const call of change.request(ids)) {
      try {
        const answer = await cp.call<{ id?: string; name?: string; slug?: string } | undefined>(
          call.method,
          call.path,
          call.body,
        );
        // Later changes name what this one created (a rotation's members, a policy's targets).
        if (call.method === 'POST' && answer?.id) {
          if (change.kind === 'responders') ids.responders.set(change.key, answer.id);
          if (change.kind === 'rotations') ids.rotations.set(change.key, answer.id);
          if (change.kind === 'clients') ids.clients.set(change.key, answer.id);
        }
      } catch (err) {
        if (!(err instanceof Refused)) throw err;
        const where = (field: string) =>
          change.place
            ? change.place.atPointer(`${call.prefix ?? ''}${field}`)
            : `${change.kind} ${change.key}`;
        const problems = err.errors.length
          ? err.errors.map((e) => ({ where: where(e.field), message: `${e.field} ${e.message}` }))
          : [{ where: where(''), message: `the API refused it: HTTP ${err.status} ${err.detail}` }];
        return { done, refused: { change, problems } };
      }
    }
    done.push(change);
  }
  return { done };
}
