// `npm run dashboards`: writes grafana/dashboards/<name>.json from the TypeScript definitions.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildDashboards, serialize } from './dashboards.ts';

const outDir = join(dirname(fileURLToPath(import.meta.url)), '..', 'dashboards');
mkdirSync(outDir, { recursive: true });
for (const [name, d] of Object.entries(buildDashboards())) {
  const file = join(outDir, `${name}.json`);
  writeFileSync(file, serialize(d));
  console.log(`wrote ${file} (${d.panels?.length ?? 0} panels)`);
}
