import type { AuditService } from '../audit/service.ts';
import { UUID, withTx, type Pool, type Queryable } from '../db/pool.ts';
import type { FleetService } from '../fleet/service.ts';
import type { Auth } from '../http/auth.ts';
import { ConflictError, NotFoundError, ValidationError, type FieldError } from '../http/errors.ts';
import { validZone, type Hours } from '../oncall/schedule.ts';
import type { Channel } from '../notify/store.ts';
import { DEFAULT_CHANNELS } from './service.ts';
import type { DbPolicy } from './store.ts';

type ChannelMap = Partial<Record<'critical' | 'warning' | 'info', Channel[]>>;

export interface LevelInput {
  delaySeconds: number;
  targets: { roles?: string[]; responders?: string[]; rotations?: string[] };
  channels?: ChannelMap;
  hours?: Hours;
  offHoursChannels?: ChannelMap;
}

export interface PolicyInput {
  name: string;
  client?: string;
  severities?: ('critical' | 'warning' | 'info')[];
  /** Incident classes the policy applies to (chosen before policies without). */
  classes?: string[];
  repeatCount?: number | 'unlimited';
  repeatIntervalSeconds?: number;
  autoResolve?: boolean;
  hours?: Hours;
  levels: LevelInput[];
}

/** A policy as the API reads it: escalation's policy row with its selectors. */
interface DbPolicyRow extends DbPolicy {
  is_default: boolean;
  client_id: string | null;
  severities: string[] | null;
  classes: string[] | null;
}

const view = (p: DbPolicyRow) => ({
  id: p.id,
  name: p.name,
  isDefault: p.is_default,
  clientId: p.client_id,
  severities: p.severities,
  classes: p.classes,
  repeatCount: p.repeat_count ?? 'unlimited',
  repeatIntervalSeconds: p.repeat_interval_seconds,
  autoResolve: p.auto_resolve,
  hours: p.hours,
  levels: (p.levels ?? []).map((l) => ({
    level: l.level,
    delaySeconds: l.delay_seconds,
    targets: { roles: l.target_roles, responders: l.target_responders, rotations: l.target_rotations },
    channels: l.channels,
    hours: l.hours,
    offHoursChannels: l.off_hours_channels,
  })),
});

/** The columns a policy's row takes from its input, in the order of the insert and the update. */
const policyValues = (p: PolicyInput, clientId: string | null) => [
  p.name,
  clientId,
  p.severities ?? null,
  p.repeatCount === 'unlimited' ? null : (p.repeatCount ?? 0),
  p.repeatIntervalSeconds ?? 300,
  p.hours ? JSON.stringify(p.hours) : null,
  p.autoResolve ?? true,
  p.classes ?? null,
];

const SELECT = `select p.id, p.name, p.is_default, p.client_id, p.severities, p.classes, p.repeat_count,
  p.repeat_interval_seconds, p.auto_resolve, p.hours,
  (select jsonb_agg(to_jsonb(l) - 'policy_id' order by l.level) from escalation_levels l where l.policy_id = p.id)
    as levels
  from escalation_policies p`;

/**
 * Escalation policies through the API: ordered levels (delay, targets by role, responder or rotation, channels
 * by severity, optional hours with off-hours channels), chosen by client, severity and hours, with a default.
 * A change moves paging_config_version (by trigger), so every replica pages from the new policy at once.
 */
export class PolicyService {
  constructor(
    private readonly pool: Pool,
    private readonly audit: AuditService,
    private readonly fleet: FleetService,
  ) {}

  async list() {
    const { rows } = await this.pool.query<DbPolicyRow>(`${SELECT} order by p.is_default desc, p.name`);
    return rows.map(view);
  }

  async create(auth: Auth, requestId: string, input: PolicyInput) {
    return withTx(this.pool, async (tx) => {
      const clientId = await this.check(tx, input, null, false);
      const { rows } = await tx.query<{ id: string }>(
        `insert into escalation_policies (name, client_id, severities, repeat_count, repeat_interval_seconds, hours,
           auto_resolve, classes) values ($1, $2, $3, $4, $5, $6, $7, $8) returning id`,
        policyValues(input, clientId),
      );
      await this.writeLevels(tx, rows[0]!.id, input.levels);
      const after = await this.find(tx, rows[0]!.id);
      await this.audit.record(tx, auth, requestId, {
        action: 'escalation_policy.create',
        targetType: 'escalation_policy',
        targetId: after.id,
        after,
      });
      return after;
    });
  }

  /** Replaces a policy (the default stays the default and may not get hours or selectors). */
  async replace(auth: Auth, requestId: string, id: string, input: PolicyInput) {
    return withTx(this.pool, async (tx) => {
      const before = await this.find(tx, id, true);
      const clientId = await this.check(tx, input, before.id, before.isDefault);
      await tx.query(
        `update escalation_policies set name = $2, client_id = $3, severities = $4, repeat_count = $5,
           repeat_interval_seconds = $6, hours = $7, auto_resolve = $8, classes = $9 where id = $1`,
        [before.id, ...policyValues(input, clientId)],
      );
      await tx.query(`delete from escalation_levels where policy_id = $1`, [before.id]);
      await this.writeLevels(tx, before.id, input.levels);
      const after = await this.find(tx, before.id);
      await this.audit.record(tx, auth, requestId, {
        action: 'escalation_policy.replace',
        targetType: 'escalation_policy',
        targetId: before.id,
        before,
        after,
      });
      return after;
    });
  }

  async remove(auth: Auth, requestId: string, id: string) {
    return withTx(this.pool, async (tx) => {
      const before = await this.find(tx, id, true);
      if (before.isDefault)
        throw new ConflictError('the default policy cannot be deleted; replace it instead');
      await tx.query(`delete from escalation_policies where id = $1`, [before.id]);
      await this.audit.record(tx, auth, requestId, {
        action: 'escalation_policy.delete',
        targetType: 'escalation_policy',
        targetId: before.id,
        before,
      });
    });
  }

  private async find(db: Queryable, id: string, forUpdate = false) {
    if (!UUID.test(id)) throw new NotFoundError('escalation policy');
    const { rows } = await db.query<DbPolicyRow>(
      `${SELECT} where p.id = $1${forUpdate ? ' for update of p' : ''}`,
      [id],
    );
    if (!rows[0]) throw new NotFoundError('escalation policy');
    return view(rows[0]);
  }

  /** Every field error of a policy at once (targets that exist, zones, delays in order); its client's id. */
  private async check(db: Queryable, p: PolicyInput, selfId: string | null, isDefault: boolean) {
    const errors: FieldError[] = [];
    let clientId: string | null = null;
    if (isDefault) {
      for (const f of ['client', 'severities', 'classes', 'hours'] as const)
        if (p[f] !== undefined)
          errors.push({ field: `/${f}`, message: 'the default policy applies always, to all' });
    } else if (p.client !== undefined) {
      clientId = (await this.fleet.resolveClientId(p.client)) ?? null;
      if (!clientId) errors.push({ field: '/client', message: 'no such client' });
    }
    const taken = await db.query(
      `select 1 from escalation_policies where name = $1 and ($2::uuid is null or id <> $2)`,
      [p.name, selfId],
    );
    if (taken.rows.length > 0) errors.push({ field: '/name', message: 'another policy has this name' });
    const hours = (h: Hours | undefined, at: string) => {
      if (!h) return;
      if (!validZone(h.timeZone))
        errors.push({ field: `${at}/timeZone`, message: 'is not a known IANA time zone' });
      if (h.start === h.end) errors.push({ field: `${at}/end`, message: 'must differ from start' });
    };
    hours(p.hours, '/hours');
    const ids = (k: 'responders' | 'rotations') => p.levels.flatMap((l) => l.targets[k] ?? []);
    const found = await db.query<{ id: string }>(
      `select id from responders where id = any ($1::uuid[]) union all
       select id from rotations where id = any ($2::uuid[])`,
      [ids('responders'), ids('rotations')],
    );
    const known = new Set(found.rows.map((r) => r.id));
    p.levels.forEach((l, i) => {
      const at = `/levels/${i}`;
      const t = l.targets;
      if ((t.roles?.length ?? 0) + (t.responders?.length ?? 0) + (t.rotations?.length ?? 0) === 0)
        errors.push({ field: `${at}/targets`, message: 'name at least one role, responder or rotation' });
      for (const k of ['responders', 'rotations'] as const)
        (t[k] ?? []).forEach((id, j) => {
          if (!known.has(id))
            errors.push({ field: `${at}/targets/${k}/${j}`, message: `no such ${k.slice(0, -1)}` });
        });
      if (i > 0 && l.delaySeconds < p.levels[i - 1]!.delaySeconds)
        errors.push({ field: `${at}/delaySeconds`, message: 'must not be less than the level before' });
      hours(l.hours, `${at}/hours`);
      if (l.offHoursChannels && !l.hours)
        errors.push({ field: `${at}/offHoursChannels`, message: 'needs hours' });
    });
    if (errors.length > 0) throw new ValidationError('escalation policy is invalid', errors);
    return clientId;
  }

  private async writeLevels(db: Queryable, policyId: string, levels: LevelInput[]) {
    await db.query(
      `insert into escalation_levels (policy_id, level, delay_seconds, target_roles, target_responders,
         target_rotations, channels, hours, off_hours_channels)
       select $1, x.level, x.delay, x.roles, x.responders, x.rotations, x.channels, x.hours, x.off
       from jsonb_to_recordset($2::jsonb) as x(level int, delay int, roles text[], responders uuid[],
         rotations uuid[], channels jsonb, hours jsonb, off jsonb)`,
      [
        policyId,
        JSON.stringify(
          levels.map((l, i) => ({
            level: i + 1,
            delay: l.delaySeconds,
            roles: l.targets.roles ?? [],
            responders: l.targets.responders ?? [],
            rotations: l.targets.rotations ?? [],
            // A severity left out keeps the default's channels (an empty list pages no one for it).
            channels: { ...DEFAULT_CHANNELS, ...l.channels },
            hours: l.hours ?? null,
            off: l.offHoursChannels ?? null,
          })),
        ),
      ],
    );
  }
}
