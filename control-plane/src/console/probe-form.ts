/**
 * A service's probe as the console's form holds it (one text field per setting, named by the API body's JSON
 * pointer under `services.<n>.probe.`) and back. The form turns text into the API's shapes and nothing more:
 * the API's schema and the fleet service's probe checks judge the result, so their errors land at the fields.
 */
import type { Probe } from '../fleet/types.ts';

type ProbeType = Probe['type'];

/** The form fields of each probe type, with the most characters each keeps. */
export const PROBE_FIELDS: Record<ProbeType, ReadonlyArray<readonly [string, number]>> = {
  http: [
    ['url', 2048],
    ['expectStatus', 20],
    ['timeoutMs', 20],
    ['healthJson', 10],
    ['bodyRegex', 1000],
    ['bodyJson.path', 1000],
    ['bodyJson.equals', 1000],
    ['tlsExpiry.warningDays', 20],
    ['tlsExpiry.criticalDays', 20],
  ],
  tcp: [
    ['host', 300],
    ['port', 20],
    ['timeoutMs', 20],
  ],
  dns: [
    ['name', 300],
    ['recordType', 20],
    ['server', 100],
    ['expect', 300],
    ['timeoutMs', 20],
  ],
};

/** A whole number as typed, or the text itself, so the API's schema names what is wrong with it. */
export const num = (v: string) => (/^[0-9]{1,9}$/.test(v) ? Number(v) : v);

/**
 * What `equals` holds, from its field: JSON when the text is JSON (200, true, null, "200"), else the text as a
 * string, so `ok` needs no quotes and `"200"` is the string where `200` is the number.
 */
export function equalsFromText(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

/** The field's text for `equals`: what equalsFromText reads back as the same value. */
export function equalsToText(value: unknown): string {
  if (typeof value !== 'string') return JSON.stringify(value);
  return equalsFromText(value) === value ? value : JSON.stringify(value);
}

/** The probe the form describes; an empty field leaves its setting unset (the API's default applies). */
export function probeFromForm(type: ProbeType, field: (name: string) => string): Record<string, unknown> {
  const probe: Record<string, unknown> = { type };
  const set = (key: string, value: unknown) => {
    if (value !== '') probe[key] = value;
  };
  set('timeoutMs', num(field('timeoutMs')));
  if (type === 'http') {
    set('url', field('url'));
    set('expectStatus', num(field('expectStatus')));
    probe.healthJson = field('healthJson') !== '';
    set('bodyRegex', field('bodyRegex'));
    const path = field('bodyJson.path');
    const equals = field('bodyJson.equals');
    // One of the two alone is sent as it is: the API names the missing one at its field.
    if (path !== '' || equals !== '')
      probe.bodyJson = {
        ...(path !== '' ? { path } : {}),
        ...(equals !== '' ? { equals: equalsFromText(equals) } : {}),
      };
    const warning = field('tlsExpiry.warningDays');
    const critical = field('tlsExpiry.criticalDays');
    if (warning !== '' || critical !== '')
      probe.tlsExpiry = {
        ...(warning !== '' ? { warningDays: num(warning) } : {}),
        ...(critical !== '' ? { criticalDays: num(critical) } : {}),
      };
  } else if (type === 'tcp') {
    set('host', field('host'));
    set('port', num(field('port')));
  } else {
    set('name', field('name'));
    set('recordType', field('recordType'));
    set('server', field('server'));
    set('expect', field('expect'));
  }
  return probe;
}

/** The form's values for a stored probe, keyed `<prefix>.probe.<field>`. */
export function probeToForm(prefix: string, probe: Probe): Record<string, string> {
  const text = (v: unknown) => (v === undefined || v === null ? '' : String(v));
  const fields: Record<string, string> = { timeoutMs: text(probe.timeoutMs) };
  if (probe.type === 'http') {
    Object.assign(fields, {
      url: probe.url,
      expectStatus: text(probe.expectStatus),
      healthJson: probe.healthJson ? 'on' : '',
      bodyRegex: probe.bodyRegex ?? '',
      'bodyJson.path': probe.bodyJson?.path ?? '',
      'bodyJson.equals': probe.bodyJson ? equalsToText(probe.bodyJson.equals) : '',
      'tlsExpiry.warningDays': text(probe.tlsExpiry?.warningDays),
      'tlsExpiry.criticalDays': text(probe.tlsExpiry?.criticalDays),
    });
  } else if (probe.type === 'tcp') {
    Object.assign(fields, { host: probe.host, port: text(probe.port) });
  } else {
    Object.assign(fields, {
      name: probe.name,
      recordType: probe.recordType,
      server: probe.server ?? '',
      expect: probe.expect ?? '',
    });
  }
  return Object.fromEntries(Object.entries(fields).map(([k, v]) => [`${prefix}.probe.${k}`, v]));
}
