import fs from 'node:fs';
import path from 'node:path';

const LISTS = JSON.parse(
  fs.readFileSync(new URL('../../scripts/debian-tools.json', import.meta.url), 'utf8'),
) as Record<'tests' | 'benches', Record<string, string>>;
const PACKAGES: Record<string, string> = Object.fromEntries(
  [...Object.entries(LISTS.tests), ...Object.entries(LISTS.benches)].map(([bin, pkg]) => [
    path.basename(bin),
    pkg,
  ]),
);

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
