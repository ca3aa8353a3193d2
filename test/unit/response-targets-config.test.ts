import assert from 'node:assert/strict';
import { ConfigError, loadConfig } from '../../control-plane/src/config.ts';

const targets = (raw?: string) =>
  loadConfig({ DATABASE_URL: 'postgres://x/y', ...(raw === undefined ? {} : { RESPONSE_TARGETS: raw }) })
    .responseTargets;

/** The one start-up message, or fails when the configuration was accepted. */
function problemsOf(raw: string): string[] {
  try {
    targets(raw);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  assert.fail(`RESPONSE_TARGETS=${raw} was accepted`);
}

describe('RESPONSE_TARGETS', () => {
  it('holds critical incidents to 5 minutes and 4 hours, warning to 30 minutes and a day, crisis to 5 minutes and an hour', () => {
    const t = targets();
    assert.deepEqual(t.severities.critical, { ackSeconds: 300, resolveSeconds: 14400 });
    assert.deepEqual(t.severities.warning, { ackSeconds: 1800, resolveSeconds: 86400 });
    assert.deepEqual(t.classes.crisis, { ackSeconds: 300, resolveSeconds: 3600 });
  });

  it('lays what it sets over the defaults, in minutes', () => {
    const t = targets('{"warning": {"ackMinutes": 15}, "classes": {"security": {"resolveMinutes": 480}}}');
    assert.deepEqual(t.severities.warning, { ackSeconds: 900, resolveSeconds: 86400 });
    assert.deepEqual(t.severities.critical, { ackSeconds: 300, resolveSeconds: 14400 });
    assert.deepEqual(t.classes.security, { resolveSeconds: 28800 });
    assert.deepEqual(t.classes.crisis, { ackSeconds: 300, resolveSeconds: 3600 });
  });

  it('refuses to start naming each bad key by its JSON pointer', () => {
    const p = problemsOf(
      '{"critical": {"ackMinutes": 0}, "severe": {}, "classes": {"crisis": {"ackMinutes": 2.5, "pageMinutes": 1}, "billing": {}}}',
    );
    assert.deepEqual(p, [
      'RESPONSE_TARGETS /critical/ackMinutes must be an integer number of minutes from 1 to 43200',
      'RESPONSE_TARGETS /severe is not a known key (critical, warning, info, classes)',
      'RESPONSE_TARGETS /classes/crisis/ackMinutes must be an integer number of minutes from 1 to 43200',
      'RESPONSE_TARGETS /classes/crisis/pageMinutes is not a known key (ackMinutes, resolveMinutes)',
      'RESPONSE_TARGETS /classes/billing is not a class (crisis, security, compliance, performance, availability)',
    ]);
  });

  it('refuses what is not a JSON object, and strings, nulls and huge numbers where minutes belong', () => {
    assert.match(problemsOf('{critical: 5}')[0]!, /^RESPONSE_TARGETS must be JSON/);
    assert.match(problemsOf('[1]')[0]!, /must be a JSON object/);
    assert.deepEqual(problemsOf('{"info": {"ackMinutes": "5", "resolveMinutes": 1e9}, "warning": null}'), [
      'RESPONSE_TARGETS /info/ackMinutes must be an integer number of minutes from 1 to 43200',
      'RESPONSE_TARGETS /info/resolveMinutes must be an integer number of minutes from 1 to 43200',
      'RESPONSE_TARGETS /warning must be an object with ackMinutes and/or resolveMinutes',
    ]);
    assert.deepEqual(problemsOf('{"classes": {"__proto__": {"ackMinutes": 1}}}'), [
      'RESPONSE_TARGETS /classes/__proto__ is not a class (crisis, security, compliance, performance, availability)',
    ]);
  });
});
