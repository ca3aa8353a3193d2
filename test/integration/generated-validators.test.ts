/**
 * The validators the build generates (control-plane/src/generate-validators.ts, dist/http/validators.cjs):
 * a built control plane validates with them instead of compiling its schemas at start, so they must exist for
 * every schema it compiles (a stale file fails here) and answer exactly as ajv compiling the same schema at run
 * time does: the same verdict, the same errors (which the API turns into its errors[] words), the same defaults.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import type { ValidateFunction } from 'ajv';

const ROOT = path.resolve(import.meta.dirname, '../..');
const DIST = path.join(ROOT, 'control-plane/dist');

interface Validation {
  compile: (schema: object) => ValidateFunction;
  compiledSchemas: () => ReadonlyMap<string, object>;
  compiledAtRunTime: () => number;
  newAjv: () => { compile: (schema: object) => ValidateFunction };
}

type Schema = Record<string, unknown>;

/** Values the schema accepts as far as a sketch can tell (first branch, lower bounds, a format's example). */
function sample(schema: Schema, depth = 0): unknown {
  if (depth > 8) return null;
  if ('const' in schema) return schema.const;
  if (Array.isArray(schema.enum)) return schema.enum[0];
  if ('default' in schema) return structuredClone(schema.default);
  const branch = (schema.oneOf ?? schema.anyOf) as Schema[] | undefined;
  if (branch?.length)
    return sample({ ...schema, oneOf: undefined, anyOf: undefined, ...branch[0] }, depth + 1);
  const type = Array.isArray(schema.type) ? schema.type[0] : schema.type;
  const formats: Record<string, string> = {
    'date-time': '2026-12-07T14:05:00Z',
    'date-time-shape': '2026-12-07T14:05:00Z',
    date: '2026-12-07',
    month: '2026-12',
    uuid: '6f1c2c43-6c52-4d7e-9a3e-3f3c1b2a9d10',
    email: 'on-call@example.com',
    uri: 'https://clinic.example.com',
    'iana-time-zone': 'Europe/Berlin',
  };
  switch (type) {
    case 'object': {
      const out: Record<string, unknown> = {};
      for (const [name, sub] of Object.entries((schema.properties ?? {}) as Record<string, Schema>))
        out[name] = sample(sub, depth + 1);
      return out;
    }
    case 'array':
      return schema.items ? [sample(schema.items as Schema, depth + 1)] : [];
    case 'integer':
    case 'number':
      return (schema.minimum as number | undefined) ?? 1;
    case 'boolean':
      return true;
    case 'null':
      return null;
    case 'string':
      return formats[schema.format as string] ?? 'x'.repeat(Math.max(1, (schema.minLength as number) ?? 1));
    default:
      return {};
  }
}

/** The sample, then the sample with one field at a time made bad in each way an attacker would try. */
function inputs(schema: Schema): unknown[] {
  const good = sample(schema);
  const out: unknown[] = [undefined, null, [], 'x', 0, {}, good];
  if (good && typeof good === 'object' && !Array.isArray(good)) {
    out.push({ ...good, unknown: 1 });
    const bad = [
      '',
      '\u0000',
      '\ud800',
      '0000-01-01T00:00:00Z',
      'UTC+0',
      -1,
      1e308,
      1.5,
      [],
      {},
      null,
      'x'.repeat(5000),
    ];
    for (const name of Object.keys(good))
      for (const value of bad) out.push({ ...(good as object), [name]: value });
    // The first field left out (a required one, usually).
    out.push(Object.fromEntries(Object.entries(good).slice(1)));
  }
  return out;
}

describe('validators generated at build time', function () {
  this.timeout(240_000);
  let v: Validation;

  before(async () => {
    // The control plane's build, as `npm start` makes it (build-stale runs the generator after tsc).
    await promisify(execFile)(process.execPath, ['scripts/build-stale.mjs', 'control-plane'], { cwd: ROOT });
    v = (await import(path.join(DIST, 'http/validation.js'))) as Validation;
    // Every schema the built control plane compiles: its routes, its console's forms, the fleet CLI's files.
    const { offlineApp } = (await import(path.join(DIST, 'offline.js'))) as {
      offlineApp: () => { close: () => Promise<void> };
    };
    await offlineApp().close();
    await import(path.join(DIST, 'fleet-cli/files.js'));
  });

  it('exist for every schema the built control plane compiles, so it compiles none at start', () => {
    assert.ok(v.compiledSchemas().size > 50, `only ${v.compiledSchemas().size} schemas seen`);
    assert.equal(v.compiledAtRunTime(), 0, 'schemas with no generated validator (a stale build?)');
  });

  it('give the verdict, errors and defaults ajv gives compiling the same schema at run time', () => {
    const ajv = v.newAjv();
    let compared = 0;
    let accepted = 0;
    for (const schema of v.compiledSchemas().values()) {
      const generated = v.compile(schema);
      const compiled = ajv.compile(schema);
      assert.notEqual(generated, compiled);
      for (const input of inputs(schema as Schema)) {
        const [a, b] = [structuredClone(input), structuredClone(input)];
        const ok = generated(a);
        assert.equal(ok, compiled(b), `verdict on ${JSON.stringify(input)?.slice(0, 200)}`);
        // Errors as the API reads them: the keyword, pointer, parameters, the bad value and the schema's words.
        assert.deepEqual(generated.errors ?? null, compiled.errors ?? null);
        assert.deepEqual(a, b, 'defaults filled in differently');
        compared++;
        if (ok) accepted++;
      }
    }
    // The sketch must reach the accepting paths too, not only the refusals.
    assert.ok(compared > 2000 && accepted > 40, `${compared} inputs, ${accepted} accepted`);
  });

  it('leave a schema changed since the build to ajv at run time, which answers as the API words it', async () => {
    const { check } = (await import(path.join(DIST, 'http/validation.js'))) as {
      check: (validate: ValidateFunction, data: unknown) => unknown;
    };
    const before = v.compiledAtRunTime();
    // No build has seen this schema: its key matches no generated validator, so old code never validates it.
    const validate = v.compile({
      type: 'object',
      additionalProperties: false,
      properties: {
        at: { type: 'string', format: 'date-time' },
        visibility: { enum: ['internal', 'public'], default: 'internal' },
      },
    });
    assert.equal(v.compiledAtRunTime(), before + 1);
    assert.deepEqual(check(validate, { at: '2026-12-07T14:05:00Z' }), {
      at: '2026-12-07T14:05:00Z',
      visibility: 'internal',
    });
    assert.throws(
      () => check(validate, { at: '0000-01-01T00:00:00Z' }),
      (err: { errors?: { field: string; message: string }[] }) => {
        assert.deepEqual(err.errors, [
          {
            field: '/at',
            message: 'must be a date and time like 2026-12-07T14:05:00Z: the year must be 0001 to 9999',
          },
        ]);
        return true;
      },
    );
  });
});
