import http from 'node:http';
import https from 'node:https';

export interface HttpAnswer {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: string;
}

export interface HttpChunksAnswer {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly chunks: Buffer[];
}

export interface HttpCall {
  readonly method?: 'GET' | 'POST';
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string;
  /** Covers connect, request and the whole answer. */
  readonly timeoutMs: number;
}

/**
 * One request to the control plane with node:http. Not fetch: fetch loads undici, several megabytes of
 * resident memory in a process that otherwise needs none of it (the probes themselves use node:http).
 * Rejects on network errors and timeouts; any status resolves.
 */
export async function httpCall(url: string, call: HttpCall): Promise<HttpAnswer> {
  const { chunks, ...answer } = await httpCallChunks(url, call);
  return { ...answer, body: Buffer.concat(chunks).toString('utf8') };
}

/**
 * The same call with the answer's body as the chunks it arrived in: service discovery hashes them to see
 * whether a list of megabytes changed, without first copying it into one buffer and then into a string.
 */
export function httpCallChunks(url: string, call: HttpCall): Promise<HttpChunksAnswer> {
  const u = new URL(url);
  const headers: Record<string, string | number> = { ...call.headers };
  if (call.body !== undefined) headers['content-length'] = Buffer.byteLength(call.body);
  return new Promise<HttpChunksAnswer>((resolve, reject) => {
    const req = (u.protocol === 'https:' ? https : http).request(
      u,
      { method: call.method ?? 'GET', headers },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          clearTimeout(timer);
          resolve({ status: res.statusCode ?? 0, headers: res.headers, chunks });
        });
        res.on('error', fail);
        res.on('close', () => {
          if (!res.complete) fail(new Error('connection closed before the answer ended'));
        });
      },
    );
    const timer = setTimeout(
      () => req.destroy(new Error(`timeout after ${call.timeoutMs}ms`)),
      call.timeoutMs,
    );
    function fail(err: Error): void {
      clearTimeout(timer);
      reject(err);
    }
    req.on('error', fail);
    req.end(call.body);
  });
}
