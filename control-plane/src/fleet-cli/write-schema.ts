/** `npm run fleet:schema`: writes control-plane/schema/fleet.schema.json from the API's schemas. */
import fs from 'node:fs';
import path from 'node:path';
import { fleetSchema } from './schema.ts';

export const SCHEMA_FILE = path.resolve(import.meta.dirname, '../../schema/fleet.schema.json');
export const schemaText = () => `${JSON.stringify(fleetSchema, null, 2)}\n`;

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(import.meta.filename)) {
  fs.writeFileSync(SCHEMA_FILE, schemaText());
  console.log(`wrote ${path.relative(process.cwd(), SCHEMA_FILE)}`);
}
