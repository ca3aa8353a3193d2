import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  equalsFromText,
  equalsToText,
  probeFromForm,
  probeToForm,
} from '../../control-plane/src/console/probe-form.ts';
import type { Probe } from '../../control-plane/src/fleet/types.ts';

describe("the console's probe form", () => {
  it('reads a body check value as JSON when it is JSON, else as the text itself', () => {
    assert.equal(equalsFromText('200'), 200);
    assert.equal(equalsFromText('"200"'), '200');
    assert.equal(equalsFromText('true'), true);
    assert.equal(equalsFromText('null'), null);
    assert.equal(equalsFromText('ok'), 'ok');
    assert.equal(equalsFromText('"ok"'), 'ok');
  });

  it('shows every value the API stores as text that reads back as the same value', () => {
    const scalar = fc.oneof(
      fc.string({ maxLength: 40 }),
      fc.double({ noNaN: true, noDefaultInfinity: true }),
      fc.integer(),
      fc.boolean(),
      fc.constant(null),
    );
    fc.assert(
      fc.property(scalar, (v) => {
        assert.deepEqual(equalsFromText(equalsToText(v)), Object.is(v, -0) ? 0 : v);
      }),
    );
    assert.equal(equalsToText('ok'), 'ok', 'plain text needs no quotes');
    assert.equal(equalsToText('200'), '"200"', 'text that reads as a number is quoted');
  });

  it('turns a stored probe into its fields and back into the same probe', () => {
    const probes: Probe[] = [
      {
        type: 'http',
        url: 'https://a.example.test/health',
        expectStatus: 204,
        timeoutMs: 3000,
        healthJson: true,
        bodyRegex: ' ok ',
        bodyJson: { path: '$.checks[0].status', equals: '200' },
        tlsExpiry: { warningDays: 30, criticalDays: 10 },
      },
      { type: 'tcp', host: '10.0.0.5', port: 5432, timeoutMs: 5000 },
      {
        type: 'dns',
        name: 'a.example.test',
        recordType: 'MX',
        server: '[2001:db8::53]:5353',
        expect: 'mail.a.example.test',
        timeoutMs: 5000,
      },
    ];
    for (const probe of probes) {
      const form = probeToForm('services.3', probe);
      const back = probeFromForm(probe.type, (f) => form[`services.3.probe.${f}`] ?? '');
      assert.deepEqual(back, probe);
    }
  });

  it('leaves an empty field unset, and sends half a body check or threshold pair for the API to name', () => {
    const fields: Record<string, string> = {
      url: 'https://a.example.test/',
      'bodyJson.path': '$.status',
      'tlsExpiry.criticalDays': 'ten',
    };
    assert.deepEqual(
      probeFromForm('http', (f) => fields[f] ?? ''),
      {
        type: 'http',
        url: 'https://a.example.test/',
        healthJson: false,
        bodyJson: { path: '$.status' },
        tlsExpiry: { criticalDays: 'ten' },
      },
    );
  });
});
