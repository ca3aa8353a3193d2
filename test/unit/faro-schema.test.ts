import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Ajv, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import fc from 'fast-check';
import { parse as parseYaml } from 'yaml';
import { payload as ours } from '../../control-plane/src/faro/schemas.ts';
import { compile } from '../../control-plane/src/http/validation.ts';

const CONTRACT = '/work/shared/contracts/faro-collector.openapi.yaml';

type Schema = {
  type?: string;
  $ref?: string;
  allOf?: Schema[];
  oneOf?: Schema[];
  enum?: unknown[];
  properties?: Record<string, Schema>;
  items?: Schema;
  additionalProperties?: Schema | boolean;
  required?: string[];
};

/** The contract's Payload schema as published (OpenAPI components made JSON Schema definitions). */
function contract(): { root: Schema; defs: Record<string, Schema>; validate: ValidateFunction } {
  const doc = parseYaml(readFileSync(CONTRACT, 'utf8')) as {
    components: { schemas: Record<string, Schema> };
  };
  const defs = JSON.parse(
    JSON.stringify(doc.components.schemas).replaceAll('#/components/schemas/', '#/definitions/'),
  ) as Record<string, Schema>;
  const ajv = new Ajv({ strict: false, allErrors: true });
  (addFormats as unknown as (a: Ajv) => void)(ajv);
  ajv.addFormat('double', true);
  const validate = ajv.compile({ definitions: defs, $ref: '#/definitions/Payload' });
  return { root: defs.Payload!, defs, validate };
}

describe('Faro payload schema, derived from the collector contract', () => {
  const c = contract();
  const mine = compile(ours);

  const resolve = (s: Schema): Schema => {
    if (s.$ref) return resolve(c.defs[s.$ref.replace('#/definitions/', '')]!);
    if (s.allOf?.length === 1) return resolve(s.allOf[0]!);
    return s;
  };

  it('has every object, field and type of the contract (walked from Payload down)', () => {
    const problems: string[] = [];
    const walk = (theirs: Schema, our: Schema, at: string) => {
      const t = resolve(theirs);
      if (t.type && our.type && t.type !== our.type)
        problems.push(`${at}: type ${our.type}, contract ${t.type}`);
      if (t.enum) assert.deepEqual(our.enum, t.enum, at);
      if (t.oneOf) {
        assert.equal(our.oneOf?.length, t.oneOf.length, at);
        t.oneOf.forEach((s, i) => walk(s, our.oneOf![i]!, `${at}/oneOf${i}`));
      }
      for (const req of t.required ?? [])
        if (!our.required?.includes(req)) problems.push(`${at}: contract requires ${req}`);
      for (const [name, sub] of Object.entries(t.properties ?? {})) {
        const o = our.properties?.[name];
        if (!o) problems.push(`${at}/${name}: missing`);
        else walk(sub, o, `${at}/${name}`);
      }
      if (t.items) walk(t.items, our.items!, `${at}/items`);
      if (typeof t.additionalProperties === 'object')
        walk(t.additionalProperties, our.additionalProperties as Schema, `${at}/*`);
    };
    walk(c.root, ours as unknown as Schema, '');
    assert.deepEqual(problems, []);
  });

  it('accepts what the Faro web SDK sends, as the contract does', () => {
    const now = new Date().toISOString();
    const sdk = {
      meta: {
        sdk: {
          name: '@grafana/faro-web-sdk',
          version: '2.12.1',
          integrations: [{ name: 'x', version: '1' }],
        },
        app: { name: 'concierge-web-chat', version: '1.0.0', environment: 'demo' },
        session: { id: 'Zx1_a.b@c:d-e', attributes: { isSampled: 'true' } },
        page: { url: 'https://a.test/chat', id: 'abc' },
        browser: { name: 'Chrome', mobile: false, brands: 'Chromium;156', viewportWidth: '800' },
        view: { name: 'default' },
      },
      measurements: [
        {
          type: 'web-vitals',
          values: { lcp: 352, delta: 352 },
          context: { id: 'v5-1', rating: 'good' },
          timestamp: now,
          trace: { trace_id: 'a'.repeat(32), span_id: 'b'.repeat(16) },
        },
      ],
      exceptions: [
        {
          type: 'Error',
          value: 'boom',
          timestamp: now,
          stacktrace: { frames: [{ filename: 'http://a.test/app.js', function: 'f', lineno: 1, colno: 2 }] },
        },
      ],
      events: [{ name: 'session_start', domain: 'browser', attributes: {}, timestamp: now }],
      logs: [{ level: 'info', message: 'hello', context: {}, timestamp: now }],
      traces: { resourceSpans: [] },
    };
    assert.ok(c.validate(sdk), JSON.stringify(c.validate.errors));
    assert.ok(mine(sdk), JSON.stringify(mine.errors));
  });

  it('is stricter, never looser: whatever it accepts the contract accepts too (property)', () => {
    const maybe = <T>(arb: fc.Arbitrary<T>) => fc.oneof({ weight: 15, arbitrary: arb }, fc.anything());
    const time = fc.date({ noInvalidDate: true }).map((d) => d.toISOString());
    const payload = fc.record(
      {
        meta: maybe(
          fc.record(
            {
              session: maybe(fc.record({ id: maybe(fc.stringMatching(/^[a-zA-Z0-9_.@:-]{1,20}$/)) })),
              page: maybe(fc.record({ url: maybe(fc.webUrl()) })),
              browser: maybe(fc.record({ brands: maybe(fc.string()), mobile: maybe(fc.boolean()) })),
            },
            { requiredKeys: [] },
          ),
        ),
        measurements: maybe(
          fc.array(
            fc.record(
              {
                type: maybe(fc.string()),
                values: maybe(fc.dictionary(fc.string(), fc.double({ noNaN: true }))),
              },
              { requiredKeys: [] },
            ),
          ),
        ),
        exceptions: maybe(
          fc.array(fc.record({ type: maybe(fc.string()), timestamp: maybe(time) }, { requiredKeys: [] })),
        ),
        events: maybe(fc.array(fc.record({ name: maybe(fc.string()) }, { requiredKeys: [] }))),
      },
      { requiredKeys: ['meta'] },
    );
    let acceptedByUs = 0;
    fc.assert(
      fc.property(payload, (p) => {
        // JSON round trip: only what can travel in a request body.
        const body = JSON.parse(JSON.stringify(p)) as unknown;
        if (mine(body)) {
          acceptedByUs++;
          assert.ok(c.validate(body), JSON.stringify(c.validate.errors));
        }
      }),
      { numRuns: 1500 },
    );
    assert.ok(
      acceptedByUs > 50,
      `only ${acceptedByUs} generated payloads were valid: the property tested little`,
    );
  });

  it('refuses what the contract lets through but a page never sends: no meta, unknown keys, bad session ids', () => {
    for (const [what, body] of [
      ['no meta', { measurements: [] }],
      ['an unknown top-level key', { meta: {}, surprise: 1 }],
      ['a session id outside the contract rule', { meta: { session: { id: 'has spaces' } } }],
      ['a session id over 128 characters', { meta: { session: { id: 'a'.repeat(129) } } }],
    ] as const) {
      assert.equal(mine(body), false, what);
    }
  });
});
