import fc from 'fast-check';

/* eslint-disable @typescript-eslint/no-explicit-any -- mutated JSON is untyped */

const BIG = 'x'.repeat(100_000);
/** Path and query values stay under Node's 16 KB header limit: past it Node answers 431 before the app runs. */
const LONG = 'y'.repeat(8_000);

function nested(depth: number, leaf: unknown, wrap: (v: unknown) => unknown): unknown {
  let v = leaf;
  for (let i = 0; i < depth; i++) v = wrap(v);
  return v;
}

export const HOSTILE_DATE_TIMES = [
  '0000-01-01T00:00:00Z',
  '0001-01-01T00:00:00Z',
  '9999-12-31T23:59:60Z',
  '9999-12-31T23:59:59Z',
  '2026-06-30T23:59:60Z',
  '2026-12-31T23:59:60Z',
  '2026-10-05T10:00:00+23:59',
  '2026-10-05T10:00:00-23:59',
  '2026-10-05T24:00:00Z',
  '2026-02-30T00:00:00Z',
  '2026-13-01T00:00:00Z',
  '2026-10-05T10:00:00.123456789Z',
  '2026-10-05T10:00:00',
  '2026-10-05',
  '+275760-09-13T00:00:00Z',
  '-000001-01-01T00:00:00Z',
  '1969-12-31T23:59:59Z',
];
export const HOSTILE_DATES = [
  '0000-01-01',
  '9999-12-31',
  '2026-02-29',
  '2026-02-30',
  '0001-01-01',
  '2026-13-01',
];
export const HOSTILE_ZONES = [
  'Mars/Olympus',
  'Etc/GMT+14',
  'Pacific/Kiritimati',
  'America/St_Johns',
  'Asia/Kathmandu',
  'utc',
  '+23:59',
  'EST5EDT',
  'Europe/Kyiv',
  '../../etc/passwd',
];
const STRINGS = [
  '',
  ' ',
  '\u0000',
  'a\u0000b',
  '\ud800',
  'x\udc00y',
  '\udfff\ud800',
  BIG,
  'null',
  '-1',
  "'; drop table clients; --",
  '%00',
  '\u202e\u0000',
  '🙂',
  '__proto__',
];
const NUMBERS = [0, -1, -0, 0.5, -1.5, 1e308, -1e308, 2 ** 53 + 2, 1e-320, 2 ** 31, -(2 ** 31) - 1, 1e21];
const OTHERS: unknown[] = [
  null,
  true,
  false,
  {},
  [],
  [null],
  nested(3_000, 1, (v) => [v]),
  nested(3_000, 'x', (v) => ({ a: v })),
  Array.from({ length: 10_000 }, (_, i) => `item-${i}`),
  Array.from({ length: 10_000 }, () => ({})),
];

export const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  { arbitrary: fc.constantFrom(...STRINGS), weight: 4 },
  { arbitrary: fc.constantFrom(...NUMBERS), weight: 2 },
  { arbitrary: fc.constantFrom(...HOSTILE_DATE_TIMES, ...HOSTILE_DATES, ...HOSTILE_ZONES), weight: 3 },
  { arbitrary: fc.constantFrom(...OTHERS), weight: 3 },
  { arbitrary: fc.jsonValue({ maxDepth: 2 }), weight: 1 },
);

type Step = (string | number)[];

/** Every place in a JSON value: the root, each property and each item. */
function places(value: unknown, at: Step = [], out: Step[] = []): Step[] {
  out.push(at);
  if (Array.isArray(value)) value.forEach((v, i) => places(v, [...at, i], out));
  else if (value && typeof value === 'object')
    for (const [k, v] of Object.entries(value)) places(v, [...at, k], out);
  return out;
}

/** Property names a schema knows anywhere: a mutation may add one where it does not belong. */
function schemaNames(schema: any, out = new Set<string>()): Set<string> {
  if (schema && typeof schema === 'object') {
    for (const k of Object.keys(schema.properties ?? {})) out.add(k);
    for (const v of Object.values(schema)) if (v && typeof v === 'object') schemaNames(v, out);
  }
  return out;
}

function get(root: any, at: Step): any {
  return at.reduce((v, k) => (v == null ? undefined : v[k]), root);
}

/** Sets an own property (also `__proto__`, which plain assignment would take as the prototype). */
function setOwn(target: any, k: string | number, v: unknown): void {
  Object.defineProperty(target, k, { value: v, enumerable: true, writable: true, configurable: true });
}

export type Mutation =
  | { kind: 'replace'; at: Step; value: unknown }
  | { kind: 'delete'; at: Step }
  | { kind: 'extra'; at: Step; name: string; value: unknown }
  | { kind: 'append'; at: Step; suffix: string };

export function apply(base: unknown, mutations: Mutation[]): unknown {
  let root: any = structuredClone(base);
  for (const m of mutations) {
    if (m.at.length === 0 && m.kind === 'replace') {
      root = m.value;
      continue;
    }
    const parent = get(root, m.at.slice(0, -1));
    const last = m.at[m.at.length - 1]!;
    const here = m.at.length === 0 ? root : parent?.[last];
    if (m.kind === 'extra') {
      if (here && typeof here === 'object' && !Array.isArray(here)) setOwn(here, m.name, m.value);
    } else if (!parent || typeof parent !== 'object') continue;
    else if (m.kind === 'replace') setOwn(parent, last, m.value);
    else if (m.kind === 'delete') {
      if (Array.isArray(parent)) parent.splice(Number(last), 1);
      else delete parent[last];
    } else if (m.kind === 'append' && typeof here === 'string') setOwn(parent, last, here + m.suffix);
  }
  return root;
}

/** One to three mutations of a valid body: wrong types, missing and extra fields, hostile strings and dates. */
export function mutations(base: unknown, schema: unknown): fc.Arbitrary<Mutation[]> {
  const all = places(base);
  const inner = all.filter((p) => p.length > 0);
  const objects = all.filter((p) => {
    const v = get(base, p);
    return v && typeof v === 'object' && !Array.isArray(v);
  });
  const strings = inner.filter((p) => typeof get(base, p) === 'string');
  const names = [...schemaNames(schema), 'extra', '__proto__', 'constructor', '', 'a\u0000b', '\ud800'];
  const options: fc.Arbitrary<Mutation>[] = [
    fc.record({ kind: fc.constant('replace' as const), at: fc.constantFrom(...all), value: hostileValue }),
    fc.record({
      kind: fc.constant('extra' as const),
      at: fc.constantFrom(...(objects.length ? objects : [[]])),
      name: fc.constantFrom(...names),
      value: hostileValue,
    }),
  ];
  if (inner.length)
    options.push(fc.record({ kind: fc.constant('delete' as const), at: fc.constantFrom(...inner) }));
  if (strings.length)
    options.push(
      fc.record({
        kind: fc.constant('append' as const),
        at: fc.constantFrom(...strings),
        suffix: fc.constantFrom('\u0000', '\ud800', '\udc00', '+23:59', BIG),
      }),
      fc.record({
        kind: fc.constant('replace' as const),
        at: fc.constantFrom(...strings),
        value: fc.constantFrom(...HOSTILE_DATE_TIMES, ...HOSTILE_DATES, ...HOSTILE_ZONES),
      }),
    );
  return fc.array(fc.oneof(...options), { minLength: 1, maxLength: 3 });
}

/** Path segment values, already URL-encoded as an attacker would send them (a lone surrogate as its UTF-8 bytes). */
export const HOSTILE_SEGMENTS = [
  '%00',
  'a%00b',
  '%ED%A0%80',
  '%ED%B0%80x',
  '%C0%AE',
  '%FF',
  LONG,
  '0',
  '-1',
  '1e308',
  'NaN',
  '00000000-0000-0000-0000-000000000000',
  'ffffffff-ffff-ffff-ffff-ffffffffffff',
  '%2F..%2F',
  '%20',
  'INC-000000',
  'INC-99999999999999999999999',
  '0000-01',
  '9999-12',
  '1900-01',
  '2030-01',
  '2026-13',
  '2026-10.json%00',
  '0000-01.json',
  encodeURIComponent("'; drop table clients; --"),
];

/** Query values, URL-encoded: hostile dates and offsets, numbers, NUL, surrogates, long values. */
export const HOSTILE_QUERY_VALUES = [
  '',
  '%00',
  '%ED%A0%80',
  LONG,
  '-1',
  '0',
  '0.5',
  '1e308',
  '99999999999999999999',
  'true',
  'all',
  ...HOSTILE_DATE_TIMES.map(encodeURIComponent),
  ...HOSTILE_DATES,
  'Mars%2FOlympus',
];

/** Query strings over a route's declared parameters, plus unknown and repeated ones and extreme ranges. */
export function queryStrings(names: string[]): fc.Arbitrary<string> {
  const known = names.length ? names : ['from'];
  const pair = fc.tuple(
    fc.oneof(
      fc.constantFrom(...known),
      fc.constantFrom('client', 'zzz', 'from', 'to', '__proto__', 'limit[]'),
    ),
    fc.constantFrom(...HOSTILE_QUERY_VALUES),
  );
  const widest = fc.constant([
    ['from', encodeURIComponent('0001-01-01T00:00:00Z')],
    ['to', encodeURIComponent('9999-12-31T23:59:59Z')],
  ] as [string, string][]);
  return fc
    .oneof(
      { arbitrary: fc.array(pair, { minLength: 1, maxLength: 4 }), weight: 5 },
      { arbitrary: widest, weight: 1 },
    )
    .map((pairs) => '?' + pairs.map(([k, v]) => `${k}=${v}`).join('&'));
}

const DATE_TIME = /^\d{4}-\d\d-\d\dT/;
const DATE = /^\d{4}-\d\d-\d\d$/;
/** The extremes issue 20 saw answered with 500 or a frozen process: each is tried alone on every date field. */
export const EXTREME_DATE_TIMES = [
  '0000-01-01T00:00:00Z',
  '9999-12-31T23:59:60Z',
  '2026-06-30T23:59:60Z',
  // A leap second still ahead: the end of a range that starts now (the schedule that looped for 310 s).
  `${new Date().getUTCFullYear()}-12-31T23:59:60Z`,
  '2026-10-05T10:00:00+23:59',
];
const EXTREME_DATES = ['0000-01-01', '9999-12-31'];

/** Date-time properties a schema declares at its top level (optional ones are missing from a minimal body). */
function dateProperties(schema: any): string[] {
  return Object.entries((schema?.properties ?? {}) as Record<string, any>)
    .filter(([, s]) => s?.format === 'date-time')
    .map(([k]) => k);
}

/**
 * Single mutations, each tried once: every string field with NUL and with a lone surrogate, every date field
 * (also optional top-level ones) with each extreme, every number with huge, negative and fractional values. A
 * random mix of several mutations mostly fails on the first one ajv sees; these reach the code behind it.
 */
export function singleMutations(base: unknown, schema: unknown): Mutation[][] {
  const out: Mutation[][] = [];
  for (const at of places(base)) {
    const v = get(base, at);
    if (typeof v === 'string') {
      out.push([{ kind: 'append', at, suffix: '\u0000' }], [{ kind: 'append', at, suffix: '\ud800' }]);
      if (DATE_TIME.test(v))
        for (const d of EXTREME_DATE_TIMES) out.push([{ kind: 'replace', at, value: d }]);
      if (DATE.test(v)) for (const d of EXTREME_DATES) out.push([{ kind: 'replace', at, value: d }]);
    } else if (typeof v === 'number')
      for (const n of [1e308, -1, 0.5]) out.push([{ kind: 'replace', at, value: n }]);
  }
  if (base && typeof base === 'object' && !Array.isArray(base))
    for (const name of dateProperties(schema).filter((k) => !(k in base)))
      for (const d of EXTREME_DATE_TIMES) out.push([{ kind: 'extra', at: [], name, value: d }]);
  return out;
}

/** Date-taking query parameters, each alone at each extreme (with the others absent). */
export function singleQueries(params: { name: string; schema: any }[]): string[] {
  const out: string[] = [];
  for (const p of params) {
    const dated = p.schema?.format === 'date-time' || /^(from|to|before|since|until)$/.test(p.name);
    const month = p.name === 'month';
    if (dated)
      for (const d of [...EXTREME_DATE_TIMES, '0001-01-01T00:00:00Z'])
        out.push(`?${p.name}=${encodeURIComponent(d)}`);
    if (month) for (const m of ['0000-01', '9999-12', '1900-01']) out.push(`?${p.name}=${m}`);
  }
  return out;
}

/** A mutation in a few words, for the failure line (a long body is cut before the field it changed). */
export function describeMutation(m: Mutation): string {
  const at = '/' + m.at.join('/');
  const show = (v: unknown) => {
    const s = JSON.stringify(v) ?? String(v);
    return s.length > 60 ? `${s.slice(0, 60)}…(${s.length} chars)` : s;
  };
  if (m.kind === 'replace') return `${at} = ${show(m.value)}`;
  if (m.kind === 'delete') return `${at} removed`;
  if (m.kind === 'extra') return `${at === '/' ? '' : at}/${m.name} added = ${show(m.value)}`;
  return `${at} += ${show(m.suffix)}`;
}
