import assert from 'node:assert/strict';
import { ValidationError } from '../../control-plane/src/http/errors.ts';
import { check, compile } from '../../control-plane/src/http/validation.ts';
import * as fleetSchemas from '../../control-plane/src/fleet/schemas.ts';
import * as incidentSchemas from '../../control-plane/src/incidents/schemas.ts';

/** The API's errors[] for `body` against `schema`: JSON pointers and the words a person reads after them. */
function errorsOf(schema: object, body: unknown): Record<string, string> {
  try {
    check(compile(schema), body);
  } catch (err) {
    assert.ok(err instanceof ValidationError);
    return Object.fromEntries(err.errors!.map((e) => [e.field, e.message]));
  }
  assert.fail('expected a 400');
}

describe('validation messages', () => {
  it('say in words what a field expects, keeping the JSON pointer, never a raw pattern or keyword', () => {
    const errors = errorsOf(fleetSchemas.createInstance, {
      client: '',
      slug: 'Smile Prod',
      environment: 'prod',
      baseUrl: 'ftp://smile.example.test',
      services: [{ name: 'backend', kind: 'engine', probe: { type: 'tcp', host: 'db', port: 70000 } }],
      extra: 1,
    });
    assert.deepEqual(errors, {
      '/client': 'must not be empty',
      '/slug':
        'must be a name of 1 to 63 lower-case letters, digits and hyphens, starting with a letter or digit',
      '/baseUrl': 'must be a URL that starts with http:// or https://',
      '/services/0/kind': 'must be one of "backend", "database", "frontend", "proxy", "dependency"',
      '/services/0/probe/port': 'must be at most 65535',
      '/extra': 'is not a known field',
    });
    for (const m of Object.values(errors)) assert.doesNotMatch(m, /\^|\$|NOT|pattern|must match/);
  });

  it('names types, lengths, formats and bounds in plain words', () => {
    const errors = errorsOf(fleetSchemas.createClient, {
      slug: 'smile',
      name: 'x'.repeat(201),
      timeZone: 'Mars/Olympus',
      slaTarget: 0,
      reportContacts: ['not-an-address', 'not-an-address'],
    });
    assert.deepEqual(errors, {
      '/name': 'must be at most 200 characters long',
      '/timeZone': 'must be an IANA time zone name, like Europe/Berlin',
      '/slaTarget': 'must be above 0',
      '/reportContacts/0': 'must be an e-mail address, like name@example.com',
      '/reportContacts/1': 'must be an e-mail address, like name@example.com',
      '/reportContacts': 'must not list the same value twice',
    });
    assert.deepEqual(errorsOf(incidentSchemas.note, { text: 5 }), { '/text': 'must be text' });
    assert.deepEqual(errorsOf(fleetSchemas.listQuery, { limit: '0', after: 'x' }), {
      '/limit': 'must be a whole number from 1 to 9999',
      '/after': 'must be a client name and an instance name joined by /, like smile-dental/smile-prod',
    });
  });
});
