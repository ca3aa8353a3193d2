/**
 * Writes the control plane's validators as JavaScript at build time (dist/http/validators.cjs): ajv's standalone
 * code for every schema the control plane compiles, so a built control plane compiles none at start (ajv's code
 * generation was a third of its start's CPU, and its garbage stayed in the heap) and none at a first request.
 *
 * scripts/build-stale.mjs runs it after each build of the control plane (`npm start`, `npm run build`, the
 * stack, the images' build stage): this package.json's `generated` entry names it. The schemas are collected
 * by assembling the app as main.ts does (offline.ts) and loading the fleet CLI's files, and each validator is
 * exported under a hash of its schema's JSON (validation.ts `schemaKey`): a schema that changed after the last
 * build finds no validator and is compiled at run time, so what validates is never older than the schema.
 */
import fs from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { _ } from 'ajv';
import { offlineApp } from './offline.ts';
import './fleet-cli/files.ts';
import { compiledSchemas, newAjv } from './http/validation.ts';

const require = createRequire(import.meta.url);
const OUT = fileURLToPath(new URL('./http/validators.cjs', import.meta.url));

const HEADER =
  '// Generated at build time by control-plane/dist/generate-validators.js (ajv standalone code) from every\n' +
  '// schema the control plane compiles; do not edit. http/validation.ts loads it with the format table.\n' +
  '"use strict";\n';

/** The module's text: a function of the format table (format-table.ts) returning the validators by key. */
export async function validatorsModule(): Promise<{ text: string; count: number }> {
  // The modules above compiled their schemas as they loaded (with a previous build's validators if there are
  // any: only which schemas they were given is read here); the app's routes compile theirs as it is assembled.
  const offline = offlineApp();
  await offline.close();
  const standaloneCode = require('ajv/dist/standalone') as (
    ajv: object,
    refs: Record<string, string>,
  ) => string;
  // `formats` is the function's parameter below: formats are looked up in the table it is given.
  const ajv = newAjv({ source: true, formats: _`formats` });
  const refs: Record<string, string> = {};
  for (const [key, schema] of compiledSchemas()) {
    ajv.addSchema(schema, key);
    refs[key] = key;
  }
  const code = standaloneCode(ajv, refs);
  const text = `${HEADER}module.exports = function validators(formats) {\n  const exports = {};\n${code}\n  return exports;\n};\n`;
  return { text, count: Object.keys(refs).length };
}

async function main(): Promise<void> {
  // From the sources (tsx) there is nothing to generate: they compile their schemas at start.
  if (!import.meta.url.endsWith('.js'))
    throw new Error('run the built generator: dist/generate-validators.js');
  const { text, count } = await validatorsModule();
  // Written whole or not at all: a start never reads half a file.
  fs.writeFileSync(`${OUT}.tmp`, text);
  fs.renameSync(`${OUT}.tmp`, OUT);
  console.log(`control-plane/dist/http/validators.cjs: ${count} validators`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await main();
  // The offline app's services hold timers that would keep the process alive.
  process.exit(0);
}
