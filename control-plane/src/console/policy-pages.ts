import type { Request, Response, Router } from 'express';
import type { Context } from '../context.ts';
import * as escalationSchemas from '../escalation/schemas.ts';
import type { LevelInput, PolicyInput } from '../escalation/policies.ts';
import { NotFoundError } from '../http/errors.ts';
import { check, compile } from '../http/validation.ts';
import { signedIn } from './guard.ts';
import { STAFF_ROLES } from './http.ts';
import { formAction, list, refuseUnstorable, str } from './ops-common.ts';
import type { Render } from './render.ts';

const policySchema = compile<PolicyInput>(escalationSchemas.policy);
export const CHANNELS = ['sms', 'voice', 'email', 'webhook', 'slack', 'teams'] as const;
export const SEVERITIES = ['critical', 'warning', 'info'] as const;
/** Levels one form may hold: the API's own limit. */
const MAX_LEVELS = 20;

type Policy = Awaited<ReturnType<Context['policies']['list']>>[number];
type Level = Policy['levels'][number];

/** The form's values of a level (the names the API's JSON pointers map to: `levels.0.delaySeconds`). */
export interface LevelForm {
  delaySeconds: string;
  roles: string;
  responders: string[];
  rotations: string[];
  channels: Record<string, string[]>;
  /** The level's index before the edit (none for a new one). */
  was: string;
  remove: boolean;
  /** Whether the form had the hours fields (a form without them keeps the level's hours as they were). */
  hoursForm: boolean;
  hours: HoursForm;
  offHoursChannels: Record<string, string[]>;
}

/** Business hours as typed: all empty means always. */
export interface HoursForm {
  timeZone: string;
  days: string[];
  start: string;
  end: string;
}
export const DAYS = ['MO', 'TU', 'WE', 'TH', 'FR', 'SA', 'SU'] as const;
export const CLASSES = ['crisis', 'security', 'compliance', 'performance', 'availability'] as const;

type Hours = NonNullable<PolicyInput['hours']>;
const hoursForm = (h: Hours | null | undefined): HoursForm =>
  h
    ? { timeZone: h.timeZone, days: [...h.days], start: h.start, end: h.end }
    : { timeZone: '', days: [], start: '', end: '' };
const hoursOf = (at: (f: string) => unknown): HoursForm => ({
  timeZone: str(at('hours.timeZone'), 100),
  days: list(at('hours.days'), 7),
  start: str(at('hours.start'), 10),
  end: str(at('hours.end'), 10),
});
/** The API's hours from the form: none when every field is empty; else all of them, for the schema to check. */
const hoursInput = (h: HoursForm): Hours | undefined =>
  h.timeZone || h.days.length || h.start || h.end ? (h as unknown as Hours) : undefined;
const channelsOf = (at: (f: string) => unknown, name: string) =>
  Object.fromEntries(SEVERITIES.map((s) => [s, list(at(`${name}.${s}`), 6)]));
const anyChannel = (c: Record<string, string[]>) => Object.values(c).some((v) => v.length > 0);

const levelForm = (l: Level, i: number): LevelForm => ({
  delaySeconds: String(l.delaySeconds),
  roles: (l.targets.roles ?? []).join(', '),
  responders: l.targets.responders ?? [],
  rotations: l.targets.rotations ?? [],
  channels: Object.fromEntries(SEVERITIES.map((s) => [s, [...((l.channels ?? {})[s] ?? [])]])),
  was: String(i),
  remove: false,
  hoursForm: true,
  hours: hoursForm(l.hours),
  offHoursChannels: Object.fromEntries(
    SEVERITIES.map((sv) => [sv, [...((l.offHoursChannels ?? {})[sv] ?? [])]]),
  ),
});

const blankLevel = (): LevelForm => ({
  delaySeconds: '',
  roles: '',
  responders: [],
  rotations: [],
  channels: { critical: ['sms', 'voice', 'email'], warning: ['sms', 'email'], info: ['email'] },
  was: '',
  remove: false,
  hoursForm: true,
  hours: hoursForm(null),
  offHoursChannels: { critical: [], warning: [], info: [] },
});

/** The levels as posted: `levels.N.field`, N from 0; a new level left without a delay is not one. */
function levelsOf(b: Record<string, unknown>): LevelForm[] {
  const out: LevelForm[] = [];
  for (let i = 0; i <= MAX_LEVELS; i++) {
    const at = (f: string) => b[`levels.${i}.${f}`];
    if (at('delaySeconds') === undefined) break;
    const l: LevelForm = {
      delaySeconds: str(at('delaySeconds'), 20),
      roles: str(at('roles'), 1000),
      responders: list(at('responders')),
      rotations: list(at('rotations')),
      channels: channelsOf(at, 'channels'),
      was: str(at('was'), 4),
      remove: at('remove') === 'yes',
      hoursForm: at('hoursForm') === '1',
      hours: hoursOf(at),
      offHoursChannels: channelsOf(at, 'offHoursChannels'),
    };
    if (l.was === '' && l.delaySeconds === '') continue;
    out.push(l);
  }
  return out;
}

/** What a policy takes (its selectors), as typed: an empty one takes every incident in that respect. */
export interface SelectorsForm {
  client: string;
  severities: string[];
  classes: string[];
  hours: HoursForm;
}
const selectorsForm = (p: Policy, clientSlugs: Map<string, string>): SelectorsForm => ({
  client: p.clientId ? (clientSlugs.get(p.clientId) ?? p.clientId) : '',
  severities: [...(p.severities ?? [])],
  classes: [...(p.classes ?? [])],
  hours: hoursForm(p.hours),
});
function selectorsOf(b: Record<string, unknown>): SelectorsForm {
  const at = (f: string) => b[f];
  return {
    client: str(b.client, 64),
    severities: list(b.severities, 3),
    classes: list(b.classes, 5),
    hours: hoursOf(at),
  };
}

/** A delay as typed: a whole number stays a number (the schema bounds it), anything else the text (it says why). */
const delay = (s: string): number | string => (/^\d{1,9}$/.test(s) ? Number(s) : s);

/**
 * The whole policy to replace: its selectors and settings as they are, levels from the form. A kept level keeps
 * its hours and off-hours channels (this form does not edit them); a new one has none.
 */
function policyInput(p: Policy, selectors: SelectorsForm, levels: LevelForm[]): PolicyInput {
  const kept = levels.filter((l) => !l.remove);
  const hours = hoursInput(selectors.hours);
  return {
    name: p.name,
    ...(selectors.client ? { client: selectors.client } : {}),
    ...(selectors.severities.length ? { severities: selectors.severities as PolicyInput['severities'] } : {}),
    ...(selectors.classes.length ? { classes: selectors.classes } : {}),
    repeatCount: p.repeatCount as PolicyInput['repeatCount'],
    repeatIntervalSeconds: p.repeatIntervalSeconds,
    autoResolve: p.autoResolve,
    ...(hours ? { hours } : {}),
    levels: kept.map((l): LevelInput => {
      const before = l.was === '' ? undefined : p.levels[Number(l.was)];
      const roles = l.roles
        .split(',')
        .map((r) => r.trim())
        .filter(Boolean);
      return {
        delaySeconds: delay(l.delaySeconds) as number,
        targets: {
          ...(roles.length ? { roles } : {}),
          ...(l.responders.length ? { responders: l.responders } : {}),
          ...(l.rotations.length ? { rotations: l.rotations } : {}),
        },
        channels: Object.fromEntries(SEVERITIES.map((s) => [s, l.channels[s] ?? []])),
        // A form without the hours fields (an older page) keeps the level's hours and off-hours channels.
        ...(l.hoursForm
          ? {
              ...(hoursInput(l.hours) ? { hours: hoursInput(l.hours) } : {}),
              ...(anyChannel(l.offHoursChannels) ? { offHoursChannels: l.offHoursChannels } : {}),
            }
          : {
              ...(before?.hours ? { hours: before.hours } : {}),
              ...(before?.offHoursChannels ? { offHoursChannels: before.offHoursChannels } : {}),
            }),
      } as LevelInput;
    }),
  };
}

/**
 * The API's field errors name levels by their place in the body it was sent, which leaves out removed levels:
 * `/levels/1/delaySeconds` is moved back to the form's own row.
 */
function toFormErrors(errors: Record<string, string>, levels: LevelForm[]): Record<string, string> {
  const rows = levels.map((l, i) => (l.remove ? -1 : i)).filter((i) => i >= 0);
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(errors)) {
    const m = /^levels\.(\d+)(\..*)?$/.exec(k);
    out[m && rows[Number(m[1])] !== undefined ? `levels.${rows[Number(m[1])]}${m[2] ?? ''}` : k] = v;
  }
  return out;
}

/** The selectors form's errors: the API names them by pointer (`hours.start`); `_form` is shown as its own. */
const selectorErrors = (errors: Record<string, string>) =>
  Object.fromEntries(Object.entries(errors).map(([k, v]) => [k === '_form' ? 'selectors._form' : k, v]));

/** Escalation policies: the list with their levels, and a policy's levels edited through the API's replace. */
export function policyPages(router: Router, ctx: Context, render: Render): void {
  const staff = signedIn(STAFF_ROLES);

  const lookups = async (req: Request) => {
    const [responders, rotations, clients] = await Promise.all([
      ctx.oncall.listResponders(),
      ctx.oncall.listRotations(),
      ctx.fleet.listClients(req.console!.auth),
    ]);
    return {
      responders,
      rotations,
      responderNames: new Map(responders.map((r) => [r.id, r.name])),
      rotationNames: new Map(rotations.map((r) => [r.id, r.name])),
      clientSlugs: new Map(clients.map((c) => [c.id, c.slug])),
    };
  };

  router.get('/policies', staff, async (req, res) => {
    const [policies, names] = await Promise.all([ctx.policies.list(), lookups(req)]);
    render(req, res, 'policies', { title: 'Escalation policies', policies, ...names });
  });

  const editPage = async (
    req: Request,
    res: Response,
    extra: {
      levels?: LevelForm[];
      selectors?: SelectorsForm;
      errors?: Record<string, string>;
      saved?: boolean;
    } = {},
    status = 200,
  ) => {
    const id = String(req.params.id).slice(0, 64);
    const [policies, names] = await Promise.all([ctx.policies.list(), lookups(req)]);
    const policy = policies.find((p) => p.id === id);
    if (!policy) throw new NotFoundError('escalation policy');
    const levels = extra.levels ?? policy.levels.map(levelForm);
    const clients = await ctx.fleet.listClients(req.console!.auth, 'active');
    render(
      req,
      res,
      'policy',
      {
        title: policy.name,
        policy,
        ...names,
        levels: [...levels, blankLevel()].slice(0, MAX_LEVELS + 1),
        channels: CHANNELS,
        severities: SEVERITIES,
        days: DAYS,
        classes: CLASSES,
        clients,
        selectors: extra.selectors ?? selectorsForm(policy, names.clientSlugs),
        saved: extra.saved ?? false,
        errors: extra.errors ?? {},
      },
      status,
    );
  };

  router.get('/policies/:id', staff, (req, res) => editPage(req, res, { saved: req.query.saved === '1' }));

  router.post('/policies/:id', staff, async (req, res) => {
    const id = String(req.params.id).slice(0, 64);
    const levels = levelsOf(req.body as Record<string, unknown>);
    await formAction(
      async () => {
        const policy = (await ctx.policies.list()).find((p) => p.id === id);
        if (!policy) throw new NotFoundError('escalation policy');
        refuseUnstorable({ levels });
        const selectors = selectorsForm(policy, new Map());
        const body = check(policySchema, policyInput(policy, selectors, levels));
        await ctx.policies.replace(req.console!.auth, req.id, policy.id, body);
        res.redirect(303, `/console/policies/${encodeURIComponent(policy.id)}?saved=1`);
      },
      (errors) => editPage(req, res, { levels, errors: toFormErrors(errors, levels) }, 400),
    );
  });

  // What the policy takes: client, severities, classes and hours, saved through the same replace with the
  // levels as they are, so the API's rules (one default, a known client, hours that parse) apply.
  router.post('/policies/:id/selectors', staff, async (req, res) => {
    const id = String(req.params.id).slice(0, 64);
    const selectors = selectorsOf(req.body as Record<string, unknown>);
    await formAction(
      async () => {
        const policy = (await ctx.policies.list()).find((p) => p.id === id);
        if (!policy) throw new NotFoundError('escalation policy');
        refuseUnstorable(selectors);
        const body = check(policySchema, policyInput(policy, selectors, policy.levels.map(levelForm)));
        await ctx.policies.replace(req.console!.auth, req.id, policy.id, body);
        res.redirect(303, `/console/policies/${encodeURIComponent(policy.id)}?saved=1#selectors`);
      },
      (errors) => editPage(req, res, { selectors, errors: selectorErrors(errors) }, 400),
    );
  });
}
