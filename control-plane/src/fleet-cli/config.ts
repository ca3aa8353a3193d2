/**
 * Where the fleet CLI finds the control plane and its token: CONTROL_PLANE_URL (default http://127.0.0.1:8080)
 * and CONTROL_PLANE_TOKEN_FILE, a file holding an operator or admin token (the token itself is never in the
 * environment's listing of a process, nor in the fleet files). `--url` and `--token-file` override them.
 */
import fs from 'node:fs';

export interface CliConfig {
  url: string;
  token: string;
}

export function cliConfig(
  opts: { url?: string; tokenFile?: string },
  env: Record<string, string | undefined> = process.env,
): CliConfig | { problem: string } {
  const url = opts.url ?? env.CONTROL_PLANE_URL ?? 'http://127.0.0.1:8080';
  if (!/^https?:\/\/[^/]/.test(url))
    return { problem: `CONTROL_PLANE_URL must be an http(s) URL, not ${url}` };
  const tokenFile = opts.tokenFile ?? env.CONTROL_PLANE_TOKEN_FILE;
  if (!tokenFile)
    return {
      problem: 'CONTROL_PLANE_TOKEN_FILE (or --token-file) must name a file holding an operator token',
    };
  let token: string;
  try {
    token = fs.readFileSync(tokenFile, 'utf8').trim();
  } catch (err) {
    return { problem: `CONTROL_PLANE_TOKEN_FILE ${tokenFile} cannot be read: ${(err as Error).message}` };
  }
  if (!token) return { problem: `CONTROL_PLANE_TOKEN_FILE ${tokenFile} is empty` };
  return { url, token };
}

/** Where a relative directory is: npm run sets the working directory to the repository, INIT_CWD is the caller's. */
export function callerDir(env: Record<string, string | undefined> = process.env): string {
  return env.INIT_CWD ?? process.cwd();
}
