import fs from 'node:fs';
import path from 'node:path';

const PACKAGES: Record<string, string> = {
  prometheus: 'prometheus',
  promtool: 'prometheus',
  'prometheus-alertmanager': 'prometheus-alertmanager',
  amtool: 'prometheus-alertmanager',
  // bench:prober's baseline
  'prometheus-blackbox-exporter': 'prometheus-blackbox-exporter',
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
  chromium: 'chromium',
};

/** Absolute path of a binary on PATH, or an Error naming the one command that installs it. */
export function requireTool(name: string): string {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    const p = path.join(dir, name);
    try {
      fs.accessSync(p, fs.constants.X_OK);
      return p;
    } catch {
      // not in this folder
    }
  }
  const pkg = PACKAGES[name] ?? name;
  throw new Error(`${name} is not installed: run  apt-get install -y --no-install-recommends ${pkg}`);
}
