#!/usr/bin/env node
// Before the tests: the Debian commands scripts/debian-tools.json lists under "tests" must be installed
// (Prometheus and Alertmanager, PostgreSQL 15 and backup tools, docker-compose, poppler, Chromium).
// Missing ones are installed from Debian when we are root; otherwise this stops at once naming the command.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const NEEDED = JSON.parse(fs.readFileSync(new URL('./debian-tools.json', import.meta.url), 'utf8')).tests;

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
