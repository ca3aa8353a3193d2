import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import pg from 'pg';
import type { Logger } from 'pino';

/**
 * Least privilege: one role owns the schema and runs the migrations, another is the one the running control
 * plane connects as. The app role can add to and read the audit tables but not change, remove or truncate
 * their rows, nor drop or disable their triggers (only a table's owner or a superuser can), so holding the
 * control plane's credentials is not enough to rewrite the audit trail.
 */
export const OWNER_ROLE = 'concierge_ops_owner';
export const APP_ROLE = 'concierge_ops_app';

/** Schemas the control plane's objects live in: its own tables and graphile-worker's. */
const SCHEMAS = ['public', 'graphile_worker'];

/** The password of `role` kept in `<dataDir>/<role>.password` (0600), generated on first use. */
export async function rolePassword(dataDir: string, role: string): Promise<string> {
  const file = path.join(dataDir, `${role}.password`);
  try {
    const password = (await fs.readFile(file, 'utf8')).trim();
    await fs.chmod(file, 0o600); // a copy made with a wider mode is narrowed again
    return password;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const password = crypto.randomBytes(18).toString('base64url');
  await fs.writeFile(file, password + '\n', { mode: 0o600 });
  return password;
}

/** `url` with another user and password. */
export function asRole(url: string, role: string, password: string): string {
  const u = new URL(url);
  u.username = encodeURIComponent(role);
  u.password = encodeURIComponent(password);
  return u.toString();
}

async function withClient<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/**
 * As the superuser (`superUrl`): creates each login role, or sets it back to a plain login role with the
 * password given (a role someone made superuser since is made plain again). Idempotent.
 */
export async function ensureLoginRoles(superUrl: string, roles: Record<string, string>): Promise<void> {
  await withClient(superUrl, async (c) => {
    for (const [role, password] of Object.entries(roles)) {
      const found = await c.query('select 1 from pg_roles where rolname = $1', [role]);
      const verb = found.rowCount ? 'alter' : 'create';
      await c.query(
        `${verb} role ${c.escapeIdentifier(role)} with login nosuperuser nocreatedb nocreaterole noreplication
           nobypassrls password ${c.escapeLiteral(password)}`,
      );
    }
  });
}

/**
 * As the superuser, on the control plane's database (`superDbUrl`): makes `owner` the owner of the database and
 * of every object in its schemas. A data folder from before the role split has everything owned by `postgres`;
 * REASSIGN OWNED cannot move the bootstrap superuser's objects, so each object is altered on its own. Objects
 * that follow their parent (indexes, a table's sequences and row type) are left to it. Idempotent: only
 * objects owned by someone else are touched.
 */
export async function adoptDatabase(superDbUrl: string, owner: string): Promise<number> {
  return withClient(superDbUrl, async (c) => {
    const o = c.escapeIdentifier(owner);
    await c.query(
      `alter database ${c.escapeIdentifier(new URL(superDbUrl).pathname.slice(1))} owner to ${o}`,
    );
    const { rows } = await c.query<{ sql: string }>(
      `with s as (select oid from pg_namespace where nspname = any($1::text[])),
         -- an extension's objects stay its own (pgcrypto's functions, btree_gist's types)
         ext as (select objid from pg_depend where deptype = 'e')
       select format('alter schema %I owner to %I', nspname, $2::text) as sql
         from pg_namespace
         where nspname = any($1::text[]) and nspowner <> $2::regrole
           and nspowner <> 'pg_database_owner'::regrole
       union all
       select format('alter %s %s owner to %I',
                case c.relkind when 'S' then 'sequence' when 'v' then 'view' when 'm' then 'materialized view'
                  when 'f' then 'foreign table' when 'c' then 'type' else 'table' end,
                c.oid::regclass, $2::text)
         from pg_class c join s on s.oid = c.relnamespace
         where c.relkind in ('r', 'p', 'v', 'm', 'f', 'S', 'c') and c.relowner <> $2::regrole
           and c.oid not in (select objid from ext)
           -- a serial or identity column's sequence follows its table
           and not exists (select 1 from pg_depend d where d.classid = 'pg_class'::regclass and d.objid = c.oid
                             and d.deptype in ('a', 'i') and c.relkind = 'S')
       union all
       select format('alter routine %s owner to %I', p.oid::regprocedure, $2::text)
         from pg_proc p join s on s.oid = p.pronamespace
         where p.proowner <> $2::regrole and p.oid not in (select objid from ext)
       union all
       select format('alter type %s owner to %I', t.oid::regtype, $2::text)
         from pg_type t join s on s.oid = t.typnamespace
         where t.typtype in ('e', 'd', 'r', 'm') and t.typowner <> $2::regrole
           and t.oid not in (select objid from ext)`,
      [SCHEMAS, owner],
    );
    for (const { sql } of rows) await c.query(sql);
    return rows.length;
  });
}

/**
 * As the owner (`ownerUrl`), after the migrations: gives `app` what the running control plane needs and no
 * more. Everything its services and graphile-worker read and write (with a row level security policy where
 * graphile-worker turned that on); on the audit tables only what appending needs: audit_log INSERT and SELECT
 * (the chain trigger runs as the inserter, so it also needs its sequence); audit_pending INSERT only (staged
 * records are moved into the chain by audit_chain_pending, which runs as the owner); audit_reports,
 * audit_verifications and audit_archives INSERT and SELECT; audit_retention SELECT; audit_log's partitions
 * nothing (months are made and dropped by the owner's functions audit_log_add_partition and
 * audit_log_drop_month). The migration tables are read only.
 * Granted at every start, so tables added by later migrations are covered; in one transaction under an
 * advisory lock, so replicas starting together do not collide on the catalog rows and no table is ever
 * briefly writable.
 */
export async function grantAppRole(ownerUrl: string, app: string): Promise<void> {
  await withClient(ownerUrl, async (c) => {
    const a = c.escapeIdentifier(app);
    // The same role under two URLs: revoking from it would take the owner's own rights away.
    const me = await c.query<{ role: string }>('select current_user as role');
    if (me.rows[0]!.role === app) return;
    await c.query('begin');
    try {
      await c.query('select pg_advisory_xact_lock(7216400002)');
      for (const schema of SCHEMAS) {
        const s = c.escapeIdentifier(schema);
        await c.query(`grant usage on schema ${s} to ${a}`);
        await c.query(`grant select, insert, update, delete on all tables in schema ${s} to ${a}`);
        await c.query(`grant usage, select on all sequences in schema ${s} to ${a}`);
        await c.query(`grant execute on all functions in schema ${s} to ${a}`);
      }
      // graphile-worker turns row level security on for its tables with no policy (so only their owner, who
      // bypasses it, sees rows); the app role gets a policy letting it see and write every row there.
      const { rows: rls } = await c.query<{ t: string }>(
        `select c.oid::regclass::text as t from pg_class c
         where c.relnamespace = 'graphile_worker'::regnamespace and c.relrowsecurity
           and not exists (select 1 from pg_policy p where p.polrelid = c.oid and p.polname = $1)`,
        [app],
      );
      for (const { t } of rls)
        await c.query(`create policy ${a} on ${t} for all to ${a} using (true) with check (true)`);
      await c.query(`revoke all on pgmigrations, graphile_worker.migrations from ${a}`);
      await c.query(`grant select on pgmigrations, graphile_worker.migrations to ${a}`);
      await c.query(`revoke all on audit_log, audit_pending from ${a}`);
      await c.query(`grant select, insert on audit_log to ${a}`);
      await c.query(`grant insert on audit_pending to ${a}`);
      // What audits the audit trail is kept like it: stored audit reports and verify results are written
      // once and read; their delivery bookkeeping (audit_report_deliveries) keeps ordinary rights.
      await c.query(`revoke all on audit_reports, audit_verifications from ${a}`);
      await c.query(`grant select, insert on audit_reports, audit_verifications to ${a}`);
      // The archive's record is written once per month; the retention is the owner's to set (at start).
      await c.query(`revoke all on audit_archives, audit_retention from ${a}`);
      await c.query(`grant select, insert on audit_archives to ${a}`);
      await c.query(`grant select on audit_retention to ${a}`);
      // audit_log's months: the grant on all tables above reached them too. The app role reads and appends
      // through audit_log alone (its rights are checked there), so on a partition itself it has none at all;
      // partitions made later by audit_log_add_partition (as the owner) never had any.
      const { rows: parts } = await c.query<{ t: string }>(
        `select inhrelid::regclass::text as t from pg_inherits where inhparent = 'public.audit_log'::regclass`,
      );
      for (const { t } of parts) await c.query(`revoke all on ${t} from ${a}`);
      await c.query('commit');
    } catch (err) {
      await c.query('rollback').catch(() => undefined);
      throw err;
    }
  });
}

/**
 * Warns when the role the control plane runs as could rewrite the audit trail: a superuser, or the owner (or a
 * member of the owner) of audit_log, who can disable its triggers. Then only the signed checkpoints (kept
 * outside the database) catch a rewrite.
 */
export async function warnIfPrivileged(pool: pg.Pool, log: Logger): Promise<void> {
  const { rows } = await pool.query<{ role: string; superuser: boolean; owns: boolean }>(
    `select current_user as role, (select rolsuper from pg_roles where rolname = current_user) as superuser,
       pg_has_role(current_user, (select relowner from pg_class where oid = 'audit_log'::regclass), 'usage')
         as owns`,
  );
  const r = rows[0]!;
  if (r.superuser || r.owns)
    log.warn(
      { role: r.role, superuser: r.superuser, ownsAuditLog: r.owns },
      'the control plane runs as a database role that owns the schema (or is a superuser): it could alter or ' +
        "disable the audit log's triggers, so the audit trail's tamper resistance rests on the signed " +
        'checkpoints alone; set MIGRATION_DATABASE_URL to an owner role and DATABASE_URL to a role without ' +
        'ownership (docs/audit.md, "Database roles")',
    );
}
