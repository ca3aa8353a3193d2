import assert from 'node:assert/strict';
import { jsonLogger, type LogLevel } from '../../exporters/fleet-prober/src/log.ts';
import { Counter } from '../../exporters/fleet-prober/src/exposition.ts';

function capture(level: LogLevel): {
  logger: ReturnType<typeof jsonLogger>;
  lines: Array<Record<string, unknown>>;
} {
  const lines: Array<Record<string, unknown>> = [];
  const logger = jsonLogger({ name: 'fleet-prober', level, write: (l) => lines.push(JSON.parse(l)) });
  return { logger, lines };
}

describe('fleet prober log lines', () => {
  it('writes one pino-shaped JSON line per call: level number, time, pid, hostname, name, fields, msg', () => {
    const { logger, lines } = capture('info');
    logger.info({ targets: 3, added: 1 }, 'targets updated');
    assert.equal(lines.length, 1);
    const [line] = lines;
    assert.deepEqual(Object.keys(line!), [
      'level',
      'time',
      'pid',
      'hostname',
      'name',
      'targets',
      'added',
      'msg',
    ]);
    assert.equal(line!.level, 30);
    assert.equal(line!.name, 'fleet-prober');
    assert.equal(line!.pid, process.pid);
    assert.equal(line!.msg, 'targets updated');
    assert.equal(line!.targets, 3);
    assert.ok(Math.abs(Number(line!.time) - Date.now()) < 60_000);
  });

  it('drops lines below the configured level and writes nothing at silent', () => {
    const warn = capture('warn');
    warn.logger.debug({}, 'debug');
    warn.logger.info({}, 'info');
    warn.logger.warn({}, 'warn');
    warn.logger.error({}, 'error');
    assert.deepEqual(
      warn.lines.map((l) => [l.level, l.msg]),
      [
        [40, 'warn'],
        [50, 'error'],
      ],
    );
    const silent = capture('silent');
    silent.logger.fatal({}, 'fatal');
    assert.equal(silent.lines.length, 0);
  });

  it('never writes a token or an authorization header, at any depth', () => {
    const { logger, lines } = capture('trace');
    logger.error(
      { token: 's3cret', proberToken: 's3cret', req: { headers: { authorization: 'Bearer s3cret' } } },
      'oops',
    );
    const text = JSON.stringify(lines);
    assert.ok(!text.includes('s3cret'), text);
    assert.equal(lines[0]!.token, '[Redacted]');
  });

  it('writes an error as type, message and stack', () => {
    const { logger, lines } = capture('info');
    logger.error({ err: new TypeError('bad thing') }, 'failed');
    const err = lines[0]!.err as Record<string, unknown>;
    assert.equal(err.type, 'TypeError');
    assert.equal(err.message, 'bad thing');
    assert.match(String(err.stack), /bad thing/);
  });
});

describe('fleet prober counters in the text format', () => {
  it('keeps label sets in first-use order, zeros included, and refuses to go down', () => {
    const c = new Counter('prober_errors_total', 'Errors, by kind.', ['kind'] as const);
    c.inc({ kind: 'sd_fetch' }, 0);
    c.inc({ kind: 'state_file' });
    c.inc({ kind: 'sd_fetch' }, 2);
    assert.equal(
      c.text(),
      '# HELP prober_errors_total Errors, by kind.\n# TYPE prober_errors_total counter\n' +
        'prober_errors_total{kind="sd_fetch"} 2\nprober_errors_total{kind="state_file"} 1\n',
    );
    assert.throws(() => c.inc({ kind: 'sd_fetch' }, -1), /prober_errors_total: a counter only goes up/);
    const plain = new Counter('prober_late_probes_total', 'Late probes.');
    assert.match(plain.text(), /^prober_late_probes_total 0$/m);
  });
});
