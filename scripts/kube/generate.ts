/** Writes deploy/kubernetes/monitoring/ from the stack's own Prometheus and Alertmanager files. */
import fs from 'node:fs';
import path from 'node:path';
import { generateMonitoring } from './monitoring.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const OUT = path.join(ROOT, 'deploy/kubernetes/monitoring');

const files = generateMonitoring(ROOT);
fs.mkdirSync(OUT, { recursive: true });
// Files this run does not write (a rule file since removed) would linger and still be applied.
for (const f of fs.readdirSync(OUT)) if (!(f in files)) fs.rmSync(path.join(OUT, f));
for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(OUT, name), text);
console.log(`wrote ${Object.keys(files).length} files to ${path.relative(process.cwd(), OUT)}`);
