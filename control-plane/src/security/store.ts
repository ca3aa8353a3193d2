import type { Queryable } from '../db/pool.ts';

/**
 * Remembers that `tokenId` was used from `ip`; written once per pair (`on conflict do nothing`, so with several
 * replicas exactly one sees it as new). `isNew`: this call wrote the pair; `knownElsewhere`: the token had been
 * used from another address before (the statement's snapshot does not see its own insert).
 */
export async function rememberSource(
  db: Queryable,
  tokenId: string,
  ip: string,
): Promise<{ isNew: boolean; knownElsewhere: boolean }> {
  const { rows } = await db.query<{ is_new: boolean; known_elsewhere: boolean }>({
    name: 'security.rememberSource',
    text: `with ins as (
       insert into token_sources (token_id, ip) values ($1, $2) on conflict do nothing returning 1)
     select exists (select 1 from ins) as is_new,
       exists (select 1 from token_sources where token_id = $1 and ip <> $2) as known_elsewhere`,
    values: [tokenId, ip],
  });
  return { isNew: rows[0]!.is_new, knownElsewhere: rows[0]!.known_elsewhere };
}
