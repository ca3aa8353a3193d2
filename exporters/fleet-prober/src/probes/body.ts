import vm from 'node:vm';
import type { BodyJsonMatch, Target } from '../types.ts';

/** How long one body regex may run before the probe fails: far above a sane pattern's time on 256 KiB. */
export const REGEX_GUARD_MS = 100;

/**
 * The regex runs in a vm context with a timeout: V8 interrupts it there, so a pattern that backtracks
 * catastrophically (the control plane refuses the known shapes, not every one) costs one failed probe of
 * at most REGEX_GUARD_MS, never a stalled prober. One context and one script serve every call.
 */
const GUARD_CONTEXT = vm.createContext({ re: /$/, text: '' });
const GUARD_SCRIPT = new vm.Script('re.test(text)');

/** Whether `re` matches `text`, or 'timeout' when it ran past the guard. */
export function guardedTest(re: RegExp, text: string, guardMs = REGEX_GUARD_MS): boolean | 'timeout' {
  GUARD_CONTEXT.re = re;
  GUARD_CONTEXT.text = text;
  try {
    re.lastIndex = 0;
    return GUARD_SCRIPT.runInContext(GUARD_CONTEXT, { timeout: guardMs }) === true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ERR_SCRIPT_EXECUTION_TIMEOUT') return 'timeout';
    throw err;
  } finally {
    // Do not keep the last body alive until the next call.
    GUARD_CONTEXT.text = '';
  }
}

/** Why the body fails the target's regex and JSON checks, or undefined when it passes them (or has none). */
export function bodyMismatch(target: Target, body: Buffer): string | undefined {
  if (target.bodyRegex === undefined && target.bodyJson === undefined) return undefined;
  const text = body.toString('utf8');
  if (target.bodyRegex !== undefined) {
    const matched = guardedTest(target.bodyRegex, text);
    if (matched === 'timeout') return `body regex ran longer than ${REGEX_GUARD_MS}ms`;
    if (!matched) return 'body did not match';
  }
  if (target.bodyJson !== undefined) return jsonMismatch(target.bodyJson, text);
  return undefined;
}

/** The reason names the path, never the value found: a body may hold anything. */
function jsonMismatch(m: BodyJsonMatch, text: string): string | undefined {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return 'body is not JSON';
  }
  let at: unknown = json;
  for (const step of m.path) {
    if (
      typeof step === 'number'
        ? !Array.isArray(at)
        : typeof at !== 'object' || at === null || Array.isArray(at)
    )
      return m.missingReason;
    if (!Object.hasOwn(at as object, step)) return m.missingReason;
    at = (at as Record<string | number, unknown>)[step];
  }
  return at === m.equals ? undefined : m.mismatchReason;
}
