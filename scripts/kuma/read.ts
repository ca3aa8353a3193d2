/** Reads what the import needs from an Uptime Kuma SQLite database (1.23 and 2.x) or its JSON backup. */
import fs from 'node:fs';
import { createRequire } from 'node:module';

export interface KumaMonitor {
  id: number;
  name: string;
  type: string;
  intervalSeconds: number;
  tags: Record<string, string>;
}
export interface KumaBeat {
  monitorId: number;
  /** 0 down, 1 up, 2 pending, 3 maintenance */
  status: number;
  at: Date;
  important: boolean;
  msg: string;
}
export interface KumaMaintenance {
  id: number;
  title: string;
  strategy: string;
  active: boolean;
  start: Date | null;
  end: Date | null;
  /** Kuma's zone of start/end: null or SAME_AS_SERVER for the server's, else an IANA name */
  timezone: string | null;
  monitorIds: number[];
}
export interface KumaData {
  monitors: KumaMonitor[];
  beats: KumaBeat[];
  maintenance: KumaMaintenance[];
  notifications: { name: string; type: string; monitorIds: number[] }[];
}

interface SqlDb {
  exec(sql: string): { columns: string[]; values: unknown[][] }[];
  close(): void;
}

/** Kuma writes UTC as "YYYY-MM-DD HH:MM:SS[.mmm]" (maintenance dates as local "YYYY-MM-DDTHH:MM"). */
const utc = (s: unknown): Date | null => {
  if (typeof s !== 'string' || s === '') return null;
  const d = new Date(`${s.replace(' ', 'T')}${/[zZ]|[+-]\d\d:?\d\d$/.test(s) ? '' : 'Z'}`);
  return Number.isNaN(d.getTime()) ? null : d;
};

function rows(db: SqlDb, sql: string): Record<string, unknown>[] {
  const [r] = db.exec(sql);
  if (!r) return [];
  return r.values.map((v) => Object.fromEntries(r.columns.map((c, i) => [c, v[i]])));
}

function tagsOf(list: Record<string, unknown>[]): Map<number, Record<string, string>> {
  const out = new Map<number, Record<string, string>>();
  for (const t of list) {
    const m = out.get(Number(t.monitor_id)) ?? {};
    m[String(t.name)] = String(t.value ?? '');
    out.set(Number(t.monitor_id), m);
  }
  return out;
}

async function readSqlite(file: string): Promise<KumaData> {
  const require = createRequire(import.meta.url);
  const init = require('sql.js') as (o: object) => Promise<{ Database: new (b: Uint8Array) => SqlDb }>;
  const SQL = await init({ locateFile: (f: string) => require.resolve(`sql.js/dist/${f}`) });
  const db = new SQL.Database(fs.readFileSync(file));
  try {
    const tags = tagsOf(
      rows(db, 'select mt.monitor_id, t.name, mt.value from monitor_tag mt join tag t on t.id = mt.tag_id'),
    );
    const monitors = rows(db, 'select id, name, type, interval from monitor order by id').map((m) => ({
      id: Number(m.id),
      name: String(m.name),
      type: String(m.type),
      intervalSeconds: Number(m.interval) || 60,
      tags: tags.get(Number(m.id)) ?? {},
    }));
    const beats = rows(
      db,
      'select monitor_id, status, time, important, msg from heartbeat order by monitor_id, time',
    )
      .map((b) => ({
        monitorId: Number(b.monitor_id),
        status: Number(b.status),
        at: utc(b.time)!,
        important: Number(b.important) === 1,
        msg: String(b.msg ?? ''),
      }))
      .filter((b) => b.at !== null);
    const links = rows(db, 'select maintenance_id, monitor_id from monitor_maintenance');
    const maintenance = rows(
      db,
      'select id, title, strategy, active, start_date, end_date from maintenance',
    ).map((m) => ({
      id: Number(m.id),
      title: String(m.title),
      strategy: String(m.strategy),
      active: Number(m.active) === 1,
      start: utc(m.start_date),
      end: utc(m.end_date),
      timezone: typeof m.timezone === 'string' ? m.timezone : null,
      monitorIds: links
        .filter((l) => Number(l.maintenance_id) === Number(m.id))
        .map((l) => Number(l.monitor_id)),
    }));
    const nlinks = rows(db, 'select notification_id, monitor_id from monitor_notification');
    const notifications = rows(db, 'select id, name, config from notification').map((n) => ({
      name: String(n.name),
      type: String((JSON.parse(String(n.config ?? '{}')) as { type?: string }).type ?? 'unknown'),
      monitorIds: nlinks
        .filter((l) => Number(l.notification_id) === Number(n.id))
        .map((l) => Number(l.monitor_id)),
    }));
    return { monitors, beats, maintenance, notifications };
  } finally {
    db.close();
  }
}

/** A JSON backup (Settings > Backup) holds monitors and notifications, not heartbeats: no history to bring. */
function readBackup(file: string): KumaData {
  const b = JSON.parse(fs.readFileSync(file, 'utf8')) as {
    monitorList?: {
      id: number;
      name: string;
      type: string;
      interval?: number;
      tags?: { name: string; value?: string }[];
      /** The notifications a monitor uses, by id (`{"1": true}`), as the frontend keeps them. */
      notificationIDList?: Record<string, boolean>;
    }[];
    notificationList?: { id?: number; name: string; config?: string }[];
  };
  const users = (id: number | undefined) =>
    (b.monitorList ?? [])
      .filter((m) => id !== undefined && m.notificationIDList?.[String(id)])
      .map((m) => m.id);
  return {
    monitors: (b.monitorList ?? []).map((m) => ({
      id: m.id,
      name: m.name,
      type: m.type,
      intervalSeconds: m.interval ?? 60,
      tags: Object.fromEntries((m.tags ?? []).map((t) => [t.name, t.value ?? ''])),
    })),
    beats: [],
    maintenance: [],
    notifications: (b.notificationList ?? []).map((n) => ({
      name: n.name,
      type: String((JSON.parse(n.config ?? '{}') as { type?: string }).type ?? 'unknown'),
      monitorIds: users(n.id),
    })),
  };
}

export async function readKuma(file: string): Promise<KumaData> {
  const head = fs.readFileSync(file).subarray(0, 16).toString('latin1');
  return head.startsWith('SQLite format 3') ? readSqlite(file) : readBackup(file);
}
