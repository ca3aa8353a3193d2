import type { FieldError } from './errors.ts';

/**
 * Text PostgreSQL cannot hold: NUL (refused in text and jsonb alike) and a lone UTF-16 surrogate (jsonb refuses
 * its `\ud800` escape; text would silently get U+FFFD). JSON and percent-decoding both let either through, so
 * every request is walked once, centrally, before any route sees it.
 */
// eslint-disable-next-line no-control-regex -- finding NUL is the point
const BAD = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const BAD_ALL = new RegExp(BAD.source, 'g');

/** Deeper than any schema here allows; a walk stops there rather than recursing without end. */
const MAX_DEPTH = 64;

function why(s: string): string {
  return s.includes('\u0000')
    ? 'holds a NUL character (U+0000), which cannot be stored'
    : 'holds a lone UTF-16 surrogate (invalid Unicode), which cannot be stored';
}

const pointer = (path: string, key: string) => `${path}/${key.replace(/~/g, '~0').replace(/\//g, '~1')}`;

/** Every string (value or key) in `value` that cannot be stored, named by its JSON pointer. */
export function unstorable(value: unknown, path = '', out: FieldError[] = [], depth = 0): FieldError[] {
  if (out.length >= 20 || depth > MAX_DEPTH) return out;
  if (typeof value === 'string') {
    if (BAD.test(value)) out.push({ field: path, message: why(value) });
  } else if (Array.isArray(value)) {
    value.forEach((v, i) => unstorable(v, `${path}/${i}`, out, depth + 1));
  } else if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      // A bad key is named with U+FFFD in place of the bad character, as is anything under it.
      const at = pointer(path, k.replace(BAD_ALL, '\uFFFD'));
      if (BAD.test(k)) out.push({ field: at, message: `name ${why(k)}` });
      unstorable(v, at, out, depth + 1);
    }
  }
  return out;
}

/**
 * True when `value` holds a string (value or key) that cannot be stored, within the depth replaceUnstorable
 * walks. It allocates nothing per value (no copies, no pointers), so a hot path that must repair hostile input
 * (the webhook) pays only this scan for the input that needs no repair, which is nearly all of it.
 */
export function hasUnstorable(value: unknown, depth = 0): boolean {
  if (depth > MAX_DEPTH) return false;
  if (typeof value === 'string') return BAD.test(value);
  if (value === null || typeof value !== 'object') return false;
  if (Array.isArray(value)) {
    for (const v of value as unknown[]) if (hasUnstorable(v, depth + 1)) return true;
    return false;
  }
  for (const k of Object.keys(value)) {
    if (BAD.test(k) || hasUnstorable((value as Record<string, unknown>)[k], depth + 1)) return true;
  }
  return false;
}

/**
 * A copy of `value` with every NUL and lone surrogate replaced by U+FFFD, and the pointers of what changed:
 * for inputs that must be kept even when damaged (an alert that is never stored would block its group).
 */
export function replaceUnstorable<T>(
  value: T,
  path = '',
  changed: string[] = [],
  depth = 0,
): { value: T; changed: string[] } {
  const fix = (s: string) => s.replace(BAD_ALL, '\uFFFD');
  // Deeper than that is nothing the webhook stores (its schema lets unknown top-level fields through).
  if (depth > MAX_DEPTH) return { value, changed };
  let out: unknown = value;
  if (typeof value === 'string') {
    if (BAD.test(value)) {
      changed.push(path);
      out = fix(value);
    }
  } else if (Array.isArray(value)) {
    out = value.map((v, i) => replaceUnstorable(v, `${path}/${i}`, changed, depth + 1).value);
  } else if (value !== null && typeof value === 'object') {
    const o: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      const key = BAD.test(k) ? fix(k) : k;
      if (key !== k) changed.push(pointer(path, key));
      o[key] = replaceUnstorable(v, pointer(path, key), changed, depth + 1).value;
    }
    out = o;
  }
  return { value: out as T, changed };
}
