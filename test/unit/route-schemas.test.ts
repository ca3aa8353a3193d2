/**
 * The API's schemas compile at each route's first request (control-plane/src/http/validation.ts), not at start:
 * these compile every one of them at once, so a schema ajv's strict mode refuses fails here, not a caller.
 */
import assert from 'node:assert/strict';
import express from 'express';
import pg from 'pg';
import { pino } from 'pino';
import { createApp } from '../../control-plane/src/app.ts';
import { loadConfig } from '../../control-plane/src/config.ts';
import { createContext } from '../../control-plane/src/context.ts';
import { Api } from '../../control-plane/src/http/api.ts';
import { compile } from '../../control-plane/src/http/validation.ts';

describe("the API's request schemas", () => {
  it('every route body and query schema compiles', async () => {
    // Nothing here connects: the pool is handed to the services, and no request is made.
    const pool = new pg.Pool({ connectionString: 'postgres://nobody@127.0.0.1:1/none' });
    try {
      const ctx = createContext(loadConfig({ LOG_LEVEL: 'silent' }), pino({ level: 'silent' }), pool);
      assert.doesNotThrow(() => createApp(ctx, { compileSchemas: true }));
    } finally {
      await pool.end();
    }
  });

  it('names the route whose schema does not compile', () => {
    const api = new Api(express.Router(), async () => undefined);
    api.route({
      method: 'post',
      path: '/api/v1/broken',
      operationId: 'postBroken',
      summary: 'a schema with a keyword strict mode refuses',
      tag: 'health',
      roles: 'public',
      body: { type: 'object', propertiez: {} },
      handler: () => undefined,
    });
    assert.throws(
      () => api.compileSchemas(),
      /^Error: POST \/api\/v1\/broken: its body schema does not compile: .*propertiez/,
    );
  });

  it("a validator compiles its schema at its first call and reports that call's errors", () => {
    const validate = compile<{ n: number }>({
      type: 'object',
      properties: { n: { type: 'integer' } },
      required: ['n'],
      additionalProperties: false,
    });
    assert.equal(validate({ n: 'x' }), false);
    assert.deepEqual(
      validate.errors?.map((e) => [e.instancePath, e.keyword]),
      [['/n', 'type']],
    );
    assert.equal(validate({ n: 1 }), true);
    assert.equal(validate.errors, null);
  });
});
