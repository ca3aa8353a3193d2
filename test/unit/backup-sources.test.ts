import assert from 'node:assert/strict';
import fs from 'node:fs';
import { parsePgbackrestInfo } from '../../exporters/backup-exporter/src/sources/pgbackrest.ts';
import { parseManifest } from '../../exporters/backup-exporter/src/sources/pgdump.ts';
import { parseResticSnapshots } from '../../exporters/backup-exporter/src/sources/restic.ts';

const captured = fs.readFileSync(
  new URL('../fixtures/pgbackrest/info.captured-2.45.json', import.meta.url),
  'utf8',
);
const targets = new Map([['demo', { client: 'alpha', instance: 'alpha-prod' }]]);

describe('backup exporter sources', () => {
  it("turns pgBackRest's info JSON (captured from 2.45) into one run per backup set", () => {
    const { records, problems } = parsePgbackrestInfo(captured, targets);
    assert.deepEqual(problems, []);
    assert.deepEqual(
      records.map((r) => [r.runId, r.kind, r.status, r.sizeBytes]),
      [
        ['pgbackrest:demo:20261125-115809F', 'full', 'success', 3043478],
        ['pgbackrest:demo:20261125-115809F_20261125-115815I', 'incremental', 'success', 3043479],
      ],
    );
    assert.equal(records[0]!.startedAt, '2026-11-25T11:58:09.000Z');
    assert.equal(records[0]!.finishedAt, '2026-11-25T11:58:14.000Z');
  });

  it('reports a backup set pgBackRest flagged with error as a failed run, and an unmapped stanza as a problem', () => {
    const info = JSON.parse(captured);
    info[0].backup[1].error = true;
    info[0].status = { code: 2, message: 'no valid backups' };
    const { records, problems } = parsePgbackrestInfo(JSON.stringify(info), targets);
    assert.equal(records[1]!.status, 'failed');
    assert.equal(records[1]!.verified, false);
    assert.match(records[1]!.error!, /checksum errors/);
    assert.deepEqual(problems, [{ stanza: 'demo', reason: 'no valid backups' }]);
    assert.deepEqual(parsePgbackrestInfo(captured, new Map()).problems, [
      { stanza: 'demo', reason: 'stanza is not mapped to an instance' },
    ]);
  });

  it('reads restic snapshots with and without the summary of restic 0.17+', () => {
    const json = JSON.stringify([
      { id: 'a'.repeat(64), time: '2026-11-25T02:00:00.5Z', tags: ['client=alpha', 'instance=alpha-prod'] },
      {
        id: 'b'.repeat(64),
        time: '2026-11-25T03:00:00Z',
        tags: ['client=alpha', 'instance=alpha-prod', 'kind=configuration'],
        summary: {
          backup_start: '2026-11-25T03:00:00Z',
          backup_end: '2026-11-25T03:00:09Z',
          total_bytes_processed: 42,
        },
      },
      { id: 'c'.repeat(64), time: '2026-11-25T04:00:00Z', tags: null },
    ]);
    const { records, skipped } = parseResticSnapshots(json, '/srv/restic');
    assert.deepEqual(
      records.map((r) => [r.tool, r.kind, r.finishedAt, r.sizeBytes]),
      [
        ['restic', 'full', '2026-11-25T02:00:00.500Z', undefined],
        ['config', 'configuration', '2026-11-25T03:00:09.000Z', 42],
      ],
    );
    assert.deepEqual(skipped, [{ id: 'c'.repeat(64), reason: 'no client= and instance= tags' }]);
  });

  it('refuses a manifest naming the bad field', () => {
    const good = {
      version: 1,
      file: 'a.dump',
      client: 'alpha',
      instance: 'alpha-prod',
      kind: 'full',
      startedAt: '2026-11-25T02:00:00Z',
      finishedAt: '2026-11-25T02:01:00Z',
      sha256: 'f'.repeat(64),
      tables: { 'public.t': 1 },
    };
    assert.equal(parseManifest(JSON.stringify(good)).file, 'a.dump');
    for (const [field, value] of [
      ['file', '../etc/passwd'],
      ['sha256', 'xyz'],
      ['startedAt', 'never'],
      ['instance', 'Alpha Prod'],
    ] as const)
      assert.throws(
        () => parseManifest(JSON.stringify({ ...good, [field]: value })),
        new RegExp(`field ${field} `),
      );
    assert.throws(
      () => parseManifest(JSON.stringify({ ...good, tables: { 'public.t': -1 } })),
      /tables\.public\.t/,
    );
  });
});
