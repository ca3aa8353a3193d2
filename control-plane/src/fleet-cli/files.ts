/**
 * Reads a fleet directory: every *.yaml / *.yml file in it (not below it), parsed with positions kept so that
 * each problem, the schema's or the API's, is told as file:line.
 */
import fs from 'node:fs';
import path from 'node:path';
import { isNode, LineCounter, parseDocument, type Document } from 'yaml';
import { compile, toFieldErrors } from '../http/validation.ts';
import { fleetSchema, KINDS, type Kind } from './schema.ts';

const validate = compile<Record<Kind, unknown[] | undefined>>(fleetSchema);

/** Where an object of a file is: its file, its document and its path in it. */
export class Place {
  constructor(
    readonly file: string,
    private readonly doc: Document,
    private readonly lines: LineCounter,
    readonly path: (string | number)[],
  ) {}

  /** `file:line` of the deepest existing node on `sub` below this object (the object itself when none). */
  at(sub: (string | number)[] = []): string {
    const full = [...this.path, ...sub];
    for (let n = full.length; n >= 0; n--) {
      const node = n === 0 ? this.doc.contents : this.doc.getIn(full.slice(0, n), true);
      if (isNode(node) && node.range) return `${this.file}:${this.lines.linePos(node.range[0]).line}`;
    }
    return `${this.file}:1`;
  }

  /** `file:line` of a JSON pointer below this object (as an API answer's errors[].field names it). */
  atPointer(pointer: string): string {
    const sub = pointer
      .split('/')
      .slice(1)
      .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
      .map((s) => (/^[0-9]+$/.test(s) ? Number(s) : s));
    return this.at(sub);
  }
}

export interface Item<T = Record<string, unknown>> {
  value: T;
  place: Place;
}

export type Desired = Record<Kind, Item[]>;

export interface Problem {
  where: string;
  message: string;
}

export function fleetFiles(dir: string): string[] {
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isFile() && /\.ya?ml$/.test(e.name))
    .map((e) => e.name)
    .sort();
}

/** The directory's objects by kind, or every problem found in any of its files. */
export function readFleet(dir: string): { desired: Desired; problems: Problem[] } {
  const desired = Object.fromEntries(KINDS.map((k) => [k, []])) as unknown as Desired;
  const problems: Problem[] = [];
  for (const name of fleetFiles(dir)) {
    const file = path.join(dir, name);
    const lines = new LineCounter();
    const doc = parseDocument(fs.readFileSync(file, 'utf8'), { lineCounter: lines, prettyErrors: false });
    if (doc.errors.length > 0) {
      for (const e of doc.errors)
        problems.push({
          where: `${file}:${lines.linePos(e.pos[0]).line}`,
          message: e.message.split('\n')[0]!,
        });
      continue;
    }
    const data = (doc.toJS() ?? {}) as unknown;
    const root = new Place(file, doc, lines, []);
    // Defaults go in (slaTarget, probe timeouts, ...) as the API would put them: the plan compares like for like.
    if (!validate(data)) {
      for (const e of toFieldErrors(validate.errors))
        problems.push({ where: root.atPointer(e.field), message: `${e.field || '(file)'} ${e.message}` });
      continue;
    }
    for (const kind of KINDS)
      (data[kind] ?? []).forEach((value, i) =>
        desired[kind].push({
          value: value as Record<string, unknown>,
          place: new Place(file, doc, lines, [kind, i]),
        }),
      );
  }
  return { desired, problems };
}
