import type { Queryable } from '../db/pool.ts';

/** A stretch as [start, end) ISO strings, as the import and its audit entry name them. */
export interface Stretch {
  start: Date;
  end: Date;
}

/** Serialises history imports of one instance across replicas until the transaction ends. */
export async function lockHistory(db: Queryable, instanceId: string): Promise<void> {
  await db.query('select pg_advisory_xact_lock(hashtextextended($1, 5))', [`${instanceId}/history`]);
}

/**
 * Adds the parts of `ranges` not yet covered for the instance (a second import of the same history adds
 * nothing) and returns the pieces added.
 */
export async function addCoverage(
  db: Queryable,
  instanceId: string,
  source: string,
  ranges: { start: string; end: string }[],
): Promise<Stretch[]> {
  const { rows } = await db.query<Stretch>(
    `with given as (
       select range_agg(tstzrange(g.s, g.e, '[)')) as mr
       from jsonb_to_recordset($3::jsonb) as g(s timestamptz, e timestamptz)),
     known as (
       select coalesce(range_agg(during), '{}') as mr from availability_history_coverage where instance_id = $1)
     insert into availability_history_coverage (instance_id, source, during)
     select $1, $2, piece from given, known, unnest(given.mr - known.mr) as piece
     returning lower(during) as start, upper(during) as end`,
    [instanceId, source, JSON.stringify(ranges.map((r) => ({ s: r.start, e: r.end })))],
  );
  return rows;
}

/**
 * Records [start, end) as imported history where nothing is recorded yet for the service: time the prober,
 * an alert or an operator already accounts for keeps what they said. Returns the pieces added.
 */
export async function addInterval(
  db: Queryable,
  i: {
    instanceId: string;
    service: string;
    state: 'down' | 'degraded';
    start: string;
    end: string;
    reason: string;
  },
): Promise<Stretch[]> {
  const { rows } = await db.query<Stretch>(
    `with known as (
       select coalesce(range_agg(during), '{}') as mr from availability_intervals
       where instance_id = $1 and service = $2 and during && tstzrange($4, $5, '[)'))
     insert into availability_intervals (instance_id, service, state, during, source, reason)
     select $1, $2, $3, piece, 'history', $6
     from known, unnest(tstzmultirange(tstzrange($4, $5, '[)')) - known.mr) as piece
     returning lower(during) as start, upper(during) as end`,
    [i.instanceId, i.service, i.state, i.start, i.end, i.reason],
  );
  return rows;
}
