import assert from 'node:assert/strict';
import fs from 'node:fs';
import { SCHEMA_FILE, schemaText } from '../../control-plane/src/fleet-cli/write-schema.ts';

describe('the published fleet file schema', () => {
  it('is the committed control-plane/schema/fleet.schema.json (run npm run fleet:schema after changing the API)', () => {
    assert.deepEqual(JSON.parse(fs.readFileSync(SCHEMA_FILE, 'utf8')), JSON.parse(schemaText()));
  });

  it("takes the API's own request shapes, with names where the API takes ids", () => {
    const s = JSON.parse(schemaText());
    assert.equal(s.properties.clients.items.properties.timeZone.format, 'iana-time-zone');
    assert.deepEqual(s.properties.instances.items.required, [
      'client',
      'slug',
      'environment',
      'baseUrl',
      'services',
    ]);
    assert.equal(s.properties.rotations.items.properties.members.items.format, undefined);
    assert.equal(s.properties.clients.items.properties.backupPolicy.minProperties, undefined);
  });
});
