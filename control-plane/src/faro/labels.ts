/**
 * Everything that turns browser-sent strings into label values lives here, and each function returns one of a
 * fixed, small set: a page label is one of the instance's route templates, "other" or "unknown"; an error type
 * is a JavaScript built-in name or "other". A URL's query string, fragment and path values never reach a label.
 */
import type { FieldError } from '../http/errors.ts';

export const OTHER_PAGE = 'other';
export const UNKNOWN_PAGE = 'unknown';

const LITERAL = /^[A-Za-z0-9._~-]+$/;
const PARAM = /^:[A-Za-z_][A-Za-z0-9_]{0,40}$/;

type Segment = { literal: string } | { param: true };
interface Route {
  template: string;
  segments: Segment[];
  /** Ends in `/*`: matches any deeper path too. */
  rest: boolean;
}

/** Why a route template is malformed, or undefined when it is fine. */
export function routeProblem(template: string): string | undefined {
  if (!template.startsWith('/')) return 'must start with /';
  if (template === '/') return undefined;
  const parts = template.slice(1).split('/');
  for (const [i, p] of parts.entries()) {
    if (p === '*' && i === parts.length - 1 && i > 0) continue;
    if (p === '*' && i > 0) return '* may only be the final segment';
    if (p === '*') return '/* alone would match every page: start with a segment, e.g. /help/*';
    if (!LITERAL.test(p) && !PARAM.test(p))
      return `segment "${p}" must be a literal ([A-Za-z0-9._~-]), a :param or a final *`;
  }
  return undefined;
}

export function routeErrors(templates: readonly string[], field: string): FieldError[] {
  return templates.flatMap((t, i) => {
    const problem = routeProblem(t);
    return problem ? [{ field: `${field}/${i}`, message: problem }] : [];
  });
}

/** Maps page URLs to a bounded label: the first matching route template, else "other". */
export class PageRoutes {
  private readonly routes: Route[];

  constructor(templates: readonly string[]) {
    this.routes = templates.map((template) => {
      const parts = template === '/' ? [] : template.slice(1).split('/');
      const rest = parts[parts.length - 1] === '*';
      if (rest) parts.pop();
      return {
        template,
        rest,
        segments: parts.map((p) => (p.startsWith(':') ? { param: true as const } : { literal: p })),
      };
    });
  }

  /** The label for a page URL (absolute or a path); only its path is looked at. */
  label(url: string | undefined): string {
    const segments = pathSegments(url);
    if (segments === undefined) return UNKNOWN_PAGE;
    for (const r of this.routes) if (matches(r, segments)) return r.template;
    return OTHER_PAGE;
  }

  /** Every value label() can return: the series count of a page-labelled metric is bounded by this. */
  labels(): string[] {
    return [...this.routes.map((r) => r.template), OTHER_PAGE, UNKNOWN_PAGE];
  }
}

function pathSegments(url: string | undefined): string[] | undefined {
  if (!url) return undefined;
  let pathname: string;
  try {
    // A base makes a bare path parse too; the base's host is never used.
    pathname = new URL(url, 'http://page.invalid').pathname;
  } catch {
    return undefined;
  }
  return pathname.split('/').filter((s) => s !== '');
}

function matches(r: Route, segments: string[]): boolean {
  if (r.rest ? segments.length <= r.segments.length : segments.length !== r.segments.length) return false;
  return r.segments.every((s, i) => 'param' in s || decodeSafe(segments[i]!) === s.literal);
}

function decodeSafe(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** Exception types worth telling apart on a dashboard: JavaScript's own, and what the Faro SDK reports. */
const ERROR_TYPES = new Set([
  'Error',
  'TypeError',
  'ReferenceError',
  'SyntaxError',
  'RangeError',
  'URIError',
  'EvalError',
  'InternalError',
  'AggregateError',
  'DOMException',
  'DOMError',
  'SecurityError',
  'UnhandledRejection',
  'ChunkLoadError',
]);

export function errorTypeLabel(type: string | undefined): string {
  return type !== undefined && ERROR_TYPES.has(type) ? type : 'other';
}

/**
 * The origin a browser would send for `value` (scheme://host[:port], default port dropped, host lowercased), or
 * undefined when `value` is not exactly such an origin (a path, query, credentials or another scheme).
 */
export function normalOrigin(value: string): string | undefined {
  let u: URL;
  try {
    u = new URL(value);
  } catch {
    return undefined;
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return undefined;
  if (u.username || u.password || u.pathname !== '/' || /[?#]/.test(value)) return undefined;
  return u.origin;
}
