import type pg from 'pg';

/**
 * Columns that a rejected request may still write, because reading them back is not a change of the world:
 * `api_tokens.last_used_at` is recorded (throttled) for every authenticated request, accepted or not (issue 20
 * asks for it so that operators find unused tokens).
 */
const IGNORED_COLUMNS: Record<string, string[]> = { 'public.api_tokens': ['last_used_at'] };
/** Tables written by authentication itself, accepted or not: the addresses each token was used from (issue 21). */
const IGNORED_TABLES = new Set(['public.token_sources']);

/**
 * The contents of every table of the public schema, and of the job queue's jobs (workers are off in the attack
 * target, so only a request adds or changes one). Left out: graphile_worker's own bookkeeping (its migrations,
 * known crontabs, task and queue names), which holds no data of the control plane.
 */
export class Snapshotter {
  private tables: string[] = [];
  private hashes = new Map<string, string>();
  private rows = new Map<string, Set<string>>();
  /** WAL position of the reference: while it has not moved, no row has changed (and hashing is skipped). */
  private lsn = '';

  constructor(private readonly db: pg.Pool) {}

  async init(): Promise<void> {
    const { rows } = await this.db.query<{ t: string }>(
      `select table_schema || '.' || table_name as t from information_schema.tables
        where table_type = 'BASE TABLE'
          and (table_schema = 'public' or (table_schema = 'graphile_worker' and table_name = '_private_jobs'))
        order by 1`,
    );
    this.tables = rows.map((r) => r.t).filter((t) => !IGNORED_TABLES.has(t));
    await this.refresh();
  }

  private rowsSql(table: string): string {
    const ignored = (IGNORED_COLUMNS[table] ?? []).map((c) => ` - '${c}'`).join('');
    return `select (to_jsonb(x)${ignored})::text as r from ${table} x`;
  }

  /** One hash per table, in one round trip. */
  async hash(): Promise<Map<string, string>> {
    const sql = this.tables
      .map(
        (t) =>
          `select '${t}' as t, count(*)::text || ':' || coalesce(md5(string_agg(r, E'\\n' order by r)), '') as h
             from (${this.rowsSql(t)}) s`,
      )
      .join(' union all ');
    const { rows } = await this.db.query<{ t: string; h: string }>(sql);
    return new Map(rows.map((r) => [r.t, r.h]));
  }

  private async load(table: string): Promise<Set<string>> {
    const { rows } = await this.db.query<{ r: string }>(this.rowsSql(table));
    return new Set(rows.map((r) => r.r));
  }

  async walPosition(): Promise<string> {
    const { rows } = await this.db.query<{ lsn: string }>('select pg_current_wal_insert_lsn()::text as lsn');
    return rows[0]!.lsn;
  }

  /** Takes the current contents as the reference ("before"). */
  async refresh(): Promise<void> {
    const lsn = await this.walPosition();
    if (lsn === this.lsn) return;
    const now = await this.hash();
    this.lsn = lsn;
    for (const [t, h] of now)
      if (this.hashes.get(t) !== h) {
        this.rows.set(t, await this.load(t));
        this.hashes.set(t, h);
      }
  }

  /** What changed since the reference, one line per table (rows added and removed, cut short); [] if nothing. */
  async changes(): Promise<string[]> {
    if ((await this.walPosition()) === this.lsn) return [];
    const now = await this.hash();
    const out: string[] = [];
    for (const [t, h] of now) {
      if (this.hashes.get(t) === h) continue;
      const before = this.rows.get(t) ?? new Set<string>();
      const after = await this.load(t);
      const added = [...after].filter((r) => !before.has(r));
      const removed = [...before].filter((r) => !after.has(r));
      out.push(
        `${t}: +${added.length} -${removed.length} ${added.length ? `added ${added[0]!.slice(0, 160)}` : ''}` +
          `${removed.length ? ` removed ${removed[0]!.slice(0, 160)}` : ''}`,
      );
    }
    return out;
  }
}
