import fs from 'node:fs';
import path from 'node:path';

export const REPO = path.resolve(import.meta.dirname, '../..');

/** README.md and every Markdown page under docs/, as paths relative to the repository. */
export function docPages(): string[] {
  const out = ['README.md'];
  const walk = (dir: string) => {
    for (const e of fs
      .readdirSync(path.join(REPO, dir), { withFileTypes: true })
      .sort((a, b) => a.name.localeCompare(b.name))) {
      const rel = path.join(dir, e.name);
      if (e.isDirectory()) walk(rel);
      else if (e.name.endsWith('.md')) out.push(rel);
    }
  };
  walk('docs');
  return out;
}

export interface RunnableBlock {
  file: string;
  line: number;
  script: string;
  /** Text the block's output must hold, from `<!-- runnable: expect "..." -->`. */
  expect?: string;
}

/**
 * The shell blocks marked runnable: a line `<!-- runnable -->` (or `<!-- runnable: expect "text" -->`, the
 * text a JSON string) right before a ```sh fence.
 */
export function runnableBlocks(file: string): RunnableBlock[] {
  const text = fs.readFileSync(path.join(REPO, file), 'utf8');
  const out: RunnableBlock[] = [];
  const re = /^<!-- runnable(?::\s*expect\s+("(?:[^"\\]|\\.)*"))?\s*-->\n```sh\n([\s\S]*?)\n```$/gm;
  for (const m of text.matchAll(re))
    out.push({
      file,
      line: text.slice(0, m.index).split('\n').length,
      script: m[2]!,
      expect: m[1] === undefined ? undefined : (JSON.parse(m[1]) as string),
    });
  return out;
}

/** GitHub's anchor of a heading: lower case, punctuation dropped, spaces to hyphens. */
export function slug(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}
