#!/usr/bin/env node
// Before the tests: Prometheus, promtool, Alertmanager and amtool (stack tests), pg_dump, pg_restore, restic and
// pgbackrest and a PostgreSQL 15 server (backup tests), and Chromium (Faro tests) must be installed.
// Missing ones are installed from Debian when we are root; otherwise this stops at once naming the command.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const NEEDED = {
  prometheus: 'prometheus',
  promtool: 'prometheus',
  'prometheus-alertmanager': 'prometheus-alertmanager',
  amtool: 'prometheus-alertmanager',
  // backup tests: real dumps, restores and backup tools
  pg_dump: 'postgresql-client-15',
  pg_restore: 'postgresql-client-15',
  restic: 'restic',
  pgbackrest: 'pgbackrest',
  // compose test: Debian's docker-compose validates docker-compose.yml offline
  'docker-compose': 'docker-compose',
  // report tests: the PDF turned to text and to page images
  pdftotext: 'poppler-utils',
  pdftoppm: 'poppler-utils',
  // Faro tests: a real browser loads the instrumented demo page
  '/usr/bin/chromium': 'chromium',
  // backup tests: a PostgreSQL 15 server for pg_dump 15 and pgBackRest (Debian keeps it off PATH)
  '/usr/lib/postgresql/15/bin/initdb': 'postgresql-15',
};

// A bare name is looked up on PATH, an absolute path where it is.
const onPath = (name) =>
  (path.isAbsolute(name) ? [path.dirname(name)] : (process.env.PATH ?? '').split(path.delimiter)).some(
    (dir) => {
      try {
        fs.accessSync(path.join(dir, path.basename(name)), fs.constants.X_OK);
        return true;
      } catch {
        return false;
      }
    },
  );
const missing = [
  ...new Set(
    Object.entries(NEEDED)
      .filter(([bin]) => !onPath(bin))
      .map(([, pkg]) => pkg),
  ),
];
if (missing.length > 0) {
  const command = `apt-get update && apt-get install -y --no-install-recommends ${missing.join(' ')}`;
  if (process.getuid?.() !== 0) {
    console.error(`The tests need ${missing.join(' and ')} from Debian. Run as root:\n\n  ${command}\n`);
    process.exit(1);
  }
  console.error(`installing ${missing.join(', ')} from Debian ...`);
  execFileSync('sh', ['-c', command], {
    stdio: ['ignore', 'inherit', 'inherit'],
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
}
