import { UUID, type Queryable } from '../db/pool.ts';

/** A responder's row with its state. Oncall sits below escalation (which reads its schedules), so it names none of its types. */
export interface DbResponder {
  id: string;
  name: string;
  role: string;
  phone: string | null;
  email: string | null;
  active: boolean;
  created_at: Date;
  /** Page targets beyond phone and e-mail: credentials, never answered or audited in full. */
  webhook_url: string | null;
  webhook_secret: string | null;
  slack_webhook_url: string | null;
  teams_webhook_url: string | null;
}

export interface DbRotation {
  id: string;
  name: string;
  time_zone: string;
  handoff: 'daily' | 'weekly';
  handoff_time: string;
  /** YYYY-MM-DD (read as text: a date has no zone). */
  start_date: string;
  members: string[];
  created_at: Date;
  updated_at: Date;
}

export interface DbOverride {
  id: string;
  rotation_id: string;
  responder_id: string;
  starts_at: Date;
  ends_at: Date;
  reason: string | null;
  created_by: string;
  created_at: Date;
}

const RESPONDER = `id, name, role, phone, email, active, created_at, webhook_url, webhook_secret, slack_webhook_url,
  teams_webhook_url`;
const ROTATION = `id, name, time_zone, handoff, handoff_time, start_date::text as start_date, members, created_at,
  updated_at`;

export async function listResponders(db: Queryable): Promise<DbResponder[]> {
  const { rows } = await db.query<DbResponder>(`select ${RESPONDER} from responders order by name, id`);
  return rows;
}

export async function findResponder(db: Queryable, id: string, forUpdate = false) {
  const { rows } = await db.query<DbResponder>(
    `select ${RESPONDER} from responders where id = $1${forUpdate ? ' for update' : ''}`,
    [id],
  );
  return rows[0];
}

/** The responders of `ids` that exist (any state), by id. */
export async function respondersById(db: Queryable, ids: string[]): Promise<Map<string, DbResponder>> {
  const { rows } = await db.query<DbResponder>(
    `select ${RESPONDER} from responders where id = any ($1::uuid[])`,
    [ids],
  );
  return new Map(rows.map((r) => [r.id, r]));
}

export async function insertResponder(
  db: Queryable,
  r: Omit<DbResponder, 'id' | 'created_at'>,
): Promise<DbResponder> {
  const { rows } = await db.query<DbResponder>(
    `insert into responders (name, role, phone, email, active, webhook_url, webhook_secret, slack_webhook_url,
       teams_webhook_url) values ($1, $2, $3, $4, $5, $6, $7, $8, $9)
     returning ${RESPONDER}`,
    [
      r.name,
      r.role,
      r.phone,
      r.email,
      r.active,
      r.webhook_url,
      r.webhook_secret,
      r.slack_webhook_url,
      r.teams_webhook_url,
    ],
  );
  return rows[0]!;
}

export async function updateResponder(
  db: Queryable,
  r: Omit<DbResponder, 'created_at'>,
): Promise<DbResponder> {
  const { rows } = await db.query<DbResponder>(
    `update responders set name = $2, role = $3, phone = $4, email = $5, active = $6, webhook_url = $7,
       webhook_secret = $8, slack_webhook_url = $9, teams_webhook_url = $10 where id = $1
     returning ${RESPONDER}`,
    [
      r.id,
      r.name,
      r.role,
      r.phone,
      r.email,
      r.active,
      r.webhook_url,
      r.webhook_secret,
      r.slack_webhook_url,
      r.teams_webhook_url,
    ],
  );
  return rows[0]!;
}

/** True when an active responder other than `exceptId` has `phone` (phones identify SMS replies). */
export async function phoneTaken(db: Queryable, phone: string, exceptId: string | null): Promise<boolean> {
  const { rows } = await db.query(
    `select 1 from responders where active and phone = $1 and ($2::uuid is null or id <> $2)`,
    [phone, exceptId],
  );
  return rows.length > 0;
}

export async function listRotations(db: Queryable): Promise<DbRotation[]> {
  const { rows } = await db.query<DbRotation>(`select ${ROTATION} from rotations order by name, id`);
  return rows;
}

export async function findRotation(db: Queryable, idOrName: string, forUpdate = false) {
  const { rows } = await db.query<DbRotation>(
    `select ${ROTATION} from rotations where ${UUID.test(idOrName) ? 'id' : 'name'} = $1${forUpdate ? ' for update' : ''}`,
    [idOrName],
  );
  return rows[0];
}

export async function rotationNameTaken(db: Queryable, name: string, exceptId: string | null) {
  const { rows } = await db.query(
    `select 1 from rotations where name = $1 and ($2::uuid is null or id <> $2)`,
    [name, exceptId],
  );
  return rows.length > 0;
}

export async function insertRotation(
  db: Queryable,
  r: Omit<DbRotation, 'id' | 'created_at' | 'updated_at'>,
): Promise<DbRotation> {
  const { rows } = await db.query<DbRotation>(
    `insert into rotations (name, time_zone, handoff, handoff_time, start_date, members)
     values ($1, $2, $3, $4, $5, $6) returning ${ROTATION}`,
    [r.name, r.time_zone, r.handoff, r.handoff_time, r.start_date, r.members],
  );
  return rows[0]!;
}

export async function updateRotation(db: Queryable, r: Omit<DbRotation, 'created_at' | 'updated_at'>) {
  const { rows } = await db.query<DbRotation>(
    `update rotations set name = $2, time_zone = $3, handoff = $4, handoff_time = $5, start_date = $6,
       members = $7, updated_at = now() where id = $1 returning ${ROTATION}`,
    [r.id, r.name, r.time_zone, r.handoff, r.handoff_time, r.start_date, r.members],
  );
  return rows[0]!;
}

/** Names of the escalation policies with a level that targets the rotation. */
export async function policiesTargeting(db: Queryable, rotationId: string): Promise<string[]> {
  const { rows } = await db.query<{ name: string }>(
    `select distinct p.name from escalation_policies p join escalation_levels l on l.policy_id = p.id
     where $1 = any (l.target_rotations) order by p.name`,
    [rotationId],
  );
  return rows.map((r) => r.name);
}

/** Deletes a rotation (its overrides go with it). */
export async function deleteRotation(db: Queryable, id: string): Promise<void> {
  await db.query(`delete from rotations where id = $1`, [id]);
}

/** Overrides of the rotations (all when null) that have not ended by `since`. */
export async function overrides(
  db: Queryable,
  rotationIds: string[] | null,
  since: Date,
): Promise<DbOverride[]> {
  const { rows } = await db.query<DbOverride>(
    `select * from rotation_overrides where ($1::uuid[] is null or rotation_id = any ($1)) and ends_at > $2
     order by starts_at, created_at`,
    [rotationIds, since],
  );
  return rows;
}

export async function insertOverride(
  db: Queryable,
  o: {
    rotationId: string;
    responderId: string;
    start: string;
    end: string;
    reason: string | null;
    by: string;
  },
): Promise<DbOverride> {
  const { rows } = await db.query<DbOverride>(
    `insert into rotation_overrides (rotation_id, responder_id, starts_at, ends_at, reason, created_by)
     values ($1, $2, $3, $4, $5, $6) returning *`,
    [o.rotationId, o.responderId, o.start, o.end, o.reason, o.by],
  );
  return rows[0]!;
}

export async function deleteOverride(
  db: Queryable,
  rotationId: string,
  id: string,
): Promise<DbOverride | undefined> {
  const { rows } = await db.query<DbOverride>(
    `delete from rotation_overrides where rotation_id = $1 and id = $2 returning *`,
    [rotationId, id],
  );
  return rows[0];
}

/** Sets (or, with null, clears) the SHA-256 of a rotation's or responder's calendar link token. */
export async function setCalendarToken(
  db: Queryable,
  table: 'rotations' | 'responders',
  id: string,
  sha256: string | null,
): Promise<boolean> {
  const { rowCount } = await db.query(`update ${table} set calendar_token_sha256 = $2 where id = $1`, [
    id,
    sha256,
  ]);
  return (rowCount ?? 0) > 0;
}

/** Whether `sha256` is the current calendar link token of that rotation or responder. */
export async function calendarTokenValid(
  db: Queryable,
  table: 'rotations' | 'responders',
  id: string,
  sha256: string,
): Promise<boolean> {
  const { rows } = await db.query(`select 1 from ${table} where id = $1 and calendar_token_sha256 = $2`, [
    id,
    sha256,
  ]);
  return rows.length > 0;
}
