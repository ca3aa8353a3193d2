import type { Queryable } from '../db/pool.ts';

/** An address's failures in its current window, and how many seconds of that window are left. */
export interface DbAddressCount {
  failures: number;
  retry_after: number;
  /** True for the one failure that first took the address over the limit in this window. */
  tripped: boolean;
}

/** The address's count in a window still running; nothing when it has none. */
export async function current(
  db: Queryable,
  address: string,
  windowSeconds: number,
): Promise<DbAddressCount | undefined> {
  const { rows } = await db.query<DbAddressCount>(
    `select failures, false as tripped,
       ceil(extract(epoch from window_start + make_interval(secs => $2) - now()))::int as retry_after
     from console_signin_addresses where address = $1 and window_start > now() - make_interval(secs => $2)`,
    [address, windowSeconds],
  );
  return rows[0];
}

/**
 * Counts one failure in one statement (two replicas failing at once both count): a window that has ended starts
 * afresh. `tripped` is true once per window, for the failure that reaches `limit`.
 */
export async function fail(
  db: Queryable,
  address: string,
  windowSeconds: number,
  limit: number,
): Promise<DbAddressCount> {
  // `ended`: the address's last window is over, so this failure is the first of a new one. tripped_at is set by
  // the failure that reaches the limit, in this statement, so two replicas cannot both take it for the trip.
  const ended = 'a.window_start <= now() - make_interval(secs => $2)';
  const { rows } = await db.query<DbAddressCount>(
    `with old as (
       -- Ended windows go as new failures come, so the table stays as small as one window's addresses.
       delete from console_signin_addresses
       where window_start <= now() - make_interval(secs => $2) and address <> $1)
     insert into console_signin_addresses as a (address, tripped_at)
     values ($1, case when $3 <= 1 then now() end)
     on conflict (address) do update set
       failures = case when ${ended} then 1 else a.failures + 1 end,
       tripped_at = case when ${ended} then case when $3 <= 1 then now() end
         else coalesce(a.tripped_at, case when a.failures + 1 >= $3 then now() end) end,
       window_start = case when ${ended} then now() else a.window_start end
     returning failures, coalesce(tripped_at = now(), false) as tripped,
       ceil(extract(epoch from window_start + make_interval(secs => $2) - now()))::int as retry_after`,
    [address, windowSeconds, limit],
  );
  return rows[0]!;
}

/** Takes one count back in a window still running (a single sign-on begun and finished: not a failure). */
export async function refund(db: Queryable, address: string, windowSeconds: number): Promise<void> {
  await db.query(
    `update console_signin_addresses set failures = greatest(failures - 1, 0)
     where address = $1 and window_start > now() - make_interval(secs => $2)`,
    [address, windowSeconds],
  );
}
