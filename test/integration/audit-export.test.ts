/**
 * Audit exports as an auditor checks them: every record re-hashes from the exact text in the file, each chains
 * to the one before, the first and last hashes are those the file states, and the last is the hash of a
 * checkpoint signed with a key the database never holds. The export streams in windows, is bounded and
 * validated, and is itself recorded.
 */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { clientBody, startControlPlane, type TestControlPlane } from '../helpers/control-plane.ts';

interface Integrity {
  format: string;
  filters: Record<string, string | null>;
  through: number;
  complete: boolean;
  rows: number;
  first: { seq: number; prevHash: string; hash: string } | null;
  last: { seq: number; hash: string } | null;
  checkpoint: { seq: number; hash: string; rows: number; at: string; keyId: string; sig: string } | null;
}

interface Hashed {
  seq: number;
  prevHash: string;
  hash: string;
  canonical: string;
}

/** RFC 4180 as a spreadsheet reads it: quoted cells may hold commas, quotes and line breaks. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else cell += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      row.push(cell);
      cell = '';
    } else if (ch === '\r' && text[i + 1] === '\n') {
      row.push(cell);
      rows.push(row);
      row = [];
      cell = '';
      i++;
    } else cell += ch;
  }
  return rows;
}

/**
 * What docs/audit.md tells an auditor to do, with nothing from the control plane's code: re-hash each record,
 * check the links (every record is there when the export is complete), the stated ends, and the checkpoint's
 * signature and hash. Answers the first problem found, or null.
 */
function check(records: Hashed[], i: Integrity, publicKey: crypto.KeyObject): string | null {
  if (records.length !== i.rows) return `the file holds ${records.length} records but states ${i.rows}`;
  for (const [n, r] of records.entries()) {
    const hash = crypto
      .createHash('sha256')
      .update(Buffer.from(r.prevHash, 'hex'))
      .update(r.canonical, 'utf8')
      .digest('hex');
    if (hash !== r.hash) return `record seq ${r.seq} does not hash to its hash`;
    if ((JSON.parse(r.canonical) as { seq: number }).seq !== r.seq) return `record seq ${r.seq}: seq edited`;
    if (i.complete && n > 0 && r.prevHash !== records[n - 1]!.hash)
      return `record seq ${r.seq} does not chain to the one before`;
  }
  const a = records[0];
  const z = records[records.length - 1];
  if (a && (a.seq !== i.first?.seq || a.hash !== i.first.hash || a.prevHash !== i.first.prevHash))
    return 'the first record is not the one stated';
  if (z && (z.seq !== i.last?.seq || z.hash !== i.last.hash)) return 'the last record is not the one stated';
  const c = i.checkpoint;
  if (!c) return 'no checkpoint';
  const signed = `concierge-ops audit checkpoint v1\nseq=${c.seq}\nhash=${c.hash}\nrows=${c.rows}\nat=${c.at}\nkey=${c.keyId}\n`;
  if (!crypto.verify(null, Buffer.from(signed), publicKey, Buffer.from(c.sig, 'base64')))
    return 'the checkpoint signature does not verify';
  if (z && c.seq === z.seq && c.hash !== z.hash)
    return 'the last record is not the one the checkpoint signed';
  return null;
}

function fromJsonLines(text: string): { records: Hashed[]; integrity: Integrity } {
  const lines = text.trimEnd().split('\n');
  const integrity = (JSON.parse(lines.pop()!) as { integrity: Integrity }).integrity;
  return { records: lines.map((l) => JSON.parse(l) as Hashed), integrity };
}

function fromCsv(text: string): { records: Hashed[]; integrity: Integrity; rows: Record<string, string>[] } {
  const lines = text.split('\r\n');
  const trailer = lines.filter((l) => l.startsWith('# integrity: '));
  assert.equal(trailer.length, 1);
  const integrity = JSON.parse(trailer[0]!.slice('# integrity: '.length)) as Integrity;
  const body = text.slice(0, text.indexOf('\r\n# '));
  const [head, ...cells] = parseCsv(body + '\r\n');
  const rows = cells.map((c) => Object.fromEntries(head!.map((h, k) => [h, c[k]!])));
  const records = rows.map((r) => ({
    seq: Number(r.seq),
    prevHash: r.prev_hash!,
    hash: r.hash!,
    canonical: r.canonical!,
  }));
  return { records, integrity, rows };
}

describe('audit export', () => {
  let dir: string;
  let publicKey: crypto.KeyObject;
  let cp: TestControlPlane;
  before(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'audit-export-'));
    const keys = crypto.generateKeyPairSync('ed25519');
    publicKey = keys.publicKey;
    const keyFile = path.join(dir, 'signing-key.pem');
    await fs.writeFile(keyFile, keys.privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
    cp = await startControlPlane({
      AUDIT_SIGNING_KEY_FILE: keyFile,
      AUDIT_CHECKPOINT_DIR: dir,
      WORKERS: 'off',
    });
    for (let i = 0; i < 4; i++) {
      const r = await cp.call('POST', '/api/v1/clients', {
        body: clientBody(`export-${i}`),
        // Hostile callers: a formula, a quote and a comma in what the CSV carries.
        headers: { 'user-agent': i % 2 ? '=HYPERLINK("http://x","a,b")' : 'agent "quoted", next' },
      });
      assert.equal(r.status, 201, r.text);
    }
    // Several windows of seq (1,000 each), chained by the log's own trigger.
    await cp.db.query(
      `insert into audit_log (seq, actor, action, target_type, target_id, before, after, prev_hash, hash)
       select 0, 'seed', 'seed.row', 'seed', case g when 7 then E'a line\nbreak' else g::text end, null, jsonb_build_object('n', g, 'x', 1.50), '', ''
       from generate_series(1, 5200) g`,
    );
    await cp.call('POST', '/api/v1/clients', { body: clientBody('export-last') });
  });
  after(async () => {
    await cp.close();
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('exports JSON Lines whose records re-hash and chain to the stated hashes and the signed checkpoint', async () => {
    const r = await cp.call('GET', '/api/v1/audit/export?format=json');
    assert.equal(r.status, 200, r.text);
    assert.match(r.headers.get('content-type')!, /^application\/jsonl/);
    assert.match(r.headers.get('content-disposition')!, /^attachment; filename="audit-.*\.jsonl"$/);
    const { records, integrity } = fromJsonLines(r.text);
    assert.ok(records.length > 5200, String(records.length));
    assert.equal(integrity.complete, true);
    // An unfiltered export up to now ends at a checkpoint signed for it.
    assert.equal(integrity.checkpoint?.seq, integrity.last?.seq);
    assert.equal(check(records, integrity, publicKey), null);
    // jsonb's own number text is kept in `canonical`, so the hash holds where JSON.stringify would write 1.5.
    const seeded = records.find((x) => (x as unknown as { action: string }).action === 'seed.row')!;
    assert.match(seeded.canonical, /"x": 1.50/);
    // The records read as the log: the fields beside their canonical text.
    const created = records.find((x) => (x as unknown as { action: string }).action === 'client.create');
    assert.equal((created as unknown as { tokenName: string }).tokenName, 'bootstrap-admin');
  });

  it('catches a record edited in the exported file, and one left out', async () => {
    const r = await cp.call('GET', '/api/v1/audit/export?format=json');
    const { records, integrity } = fromJsonLines(r.text);
    const edited = records.map((x) => ({ ...x }));
    edited[3]!.canonical = edited[3]!.canonical.replace('"actor": "', '"actor": "someone else, ');
    assert.match(check(edited, integrity, publicKey)!, /does not hash to its hash/);
    const dropped = records.filter((_, n) => n !== 10);
    assert.match(check(dropped, { ...integrity, rows: dropped.length }, publicKey)!, /does not chain/);
    const rehashed = { ...integrity, last: { ...integrity.last!, hash: 'ab'.repeat(32) } };
    assert.match(check(records, rehashed, publicKey)!, /last record is not the one stated/);
  });

  it('exports CSV whose canonical column re-hashes, with the columns as recorded and formulas defused', async () => {
    const r = await cp.call('GET', '/api/v1/audit/export?format=csv');
    assert.equal(r.status, 200, r.text);
    assert.match(r.headers.get('content-type')!, /^text\/csv/);
    const { records, integrity, rows } = fromCsv(r.text);
    assert.equal(check(records, integrity, publicKey), null);
    assert.equal(integrity.rows, rows.length);
    for (const row of rows) {
      const c = JSON.parse(row.canonical!) as Record<string, unknown>;
      assert.equal(row.action, c.action);
      assert.equal(row.actor!.replace(/^'/, ''), c.actor);
      assert.equal(row.user_agent!.replace(/^'(?==)/, ''), c.userAgent ?? '');
    }
    const agents = rows.map((x) => x.user_agent);
    assert.ok(agents.includes(`'=HYPERLINK("http://x","a,b")`), agents.slice(0, 8).join(' | '));
    assert.ok(agents.includes('agent "quoted", next'));
    assert.ok(rows.some((x) => x.target_id === 'a line\nbreak'));
  });

  it('writes the file in pieces of some 32 KiB, never a whole window of records at once', async () => {
    // A window's text in one string (300 KiB here, 700 KiB in bench:audit) went to V8's old generation.
    const sizes: number[] = [];
    const sink = new Writable({
      write: (chunk: Buffer, _enc, cb) => {
        sizes.push(chunk.length);
        setImmediate(cb);
      },
    });
    const auth = { tokenId: '00000000-test', name: 'test', role: 'admin', clientId: null } as const;
    await cp.ctx.audit.export({ auth, requestId: 'chunks' }, cp.ctx.audit.exportFilter({}), 'csv', sink);
    const total = sizes.reduce((a, b) => a + b, 0);
    assert.ok(total > 1_000_000, `only ${total} bytes`);
    assert.ok(Math.max(...sizes) < 40_000, `largest write ${Math.max(...sizes)} bytes`);
  });

  it('exports only the records the filters select, saying the file is not every record', async () => {
    const r = await cp.call('GET', '/api/v1/audit/export?format=json&action=client.create');
    const { records, integrity } = fromJsonLines(r.text);
    assert.deepEqual(
      [...new Set(records.map((x) => (x as unknown as { action: string }).action))],
      ['client.create'],
    );
    assert.equal(records.length, 5);
    assert.equal(integrity.complete, false);
    assert.equal(integrity.filters.action, 'client.create');
    assert.equal(check(records, integrity, publicKey), null);
    const none = fromJsonLines(
      (
        await cp.call(
          'GET',
          '/api/v1/audit/export?format=json&from=2001-01-01T00:00:00Z&to=2001-02-01T00:00:00Z',
        )
      ).text,
    );
    assert.deepEqual([none.records.length, none.integrity.rows, none.integrity.first], [0, 0, null]);
  });

  it('exports a PDF ending with the integrity page', async () => {
    const res = await fetch(`${cp.url}/api/v1/audit/export?format=pdf&action=client.create`, {
      headers: { authorization: `Bearer ${cp.adminToken}` },
    });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'application/pdf');
    const pdf = Buffer.from(await res.arrayBuffer());
    assert.equal(pdf.subarray(0, 5).toString(), '%PDF-');
    assert.match(pdf.subarray(-8).toString(), /%%EOF/);
  });

  it('records each export with its filters and how many records it held', async () => {
    const r = await cp.call(
      'GET',
      '/api/v1/audit/export?format=json&action=client.create&actor=bootstrap-admin',
    );
    const { integrity } = fromJsonLines(r.text);
    const log = await cp.call('GET', '/api/v1/audit?targetType=audit&limit=20');
    const exp = log.body.find((a: { action: string }) => a.action === 'audit.export');
    assert.ok(exp, JSON.stringify(log.body.map((a: { action: string }) => a.action)));
    assert.equal(exp.tokenName, 'bootstrap-admin');
    assert.equal(exp.after.format, 'json');
    assert.equal(exp.after.rows, integrity.rows);
    assert.equal(exp.after.finished, true);
    assert.deepEqual(exp.after.filters, integrity.filters);
  });

  for (const [query, field] of [
    ['from=yesterday', '/from'],
    ['from=0000-12-31T00:00:00Z&to=0001-01-02T00:00:00Z', '/from'],
    ['from=2026-06-30T23:59:60Z', '/from'],
    ['from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z', '/to'],
    ['from=2024-01-01T00:00:00Z&to=2026-01-01T00:00:00Z', '/to'],
    ['format=xml', '/format'],
    ['actor=' + 'a'.repeat(201), '/actor'],
    ['limit=5', ''],
  ] as const) {
    it(`refuses ${query.slice(0, 60)} with a 400 naming ${field || 'the unknown parameter'}`, async () => {
      const before = await cp.count('audit_log');
      const r = await cp.call('GET', `/api/v1/audit/export?${query}`);
      assert.equal(r.status, 400, r.text);
      assert.match(r.headers.get('content-type')!, /problem\+json/);
      if (field)
        assert.ok(
          r.body.errors.some((e: { field: string }) => e.field === field),
          r.text,
        );
      assert.equal(await cp.count('audit_log'), before);
    });
  }

  it('is for admins only', async () => {
    const op = await cp.token('operator');
    assert.equal((await cp.call('GET', '/api/v1/audit/export', { token: op })).status, 403);
  });
});
