/** The control plane's API as the fleet CLI calls it: JSON in, JSON out, a refusal as a Refused error. */

export interface FieldProblem {
  field: string;
  message: string;
}

export class Refused extends Error {
  constructor(
    readonly what: string,
    readonly status: number,
    readonly detail: string,
    readonly errors: FieldProblem[],
  ) {
    super(`${what}: HTTP ${status} ${detail}`);
  }
}

export class ControlPlane {
  constructor(
    private readonly baseUrl: string,
    private readonly token: string,
  ) {}

  async call<T = unknown>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await fetch(`${this.baseUrl.replace(/\/+$/, '')}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${this.token}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    const json = text ? (JSON.parse(text) as unknown) : undefined;
    if (!res.ok) {
      const p = (json ?? {}) as { detail?: string; title?: string; errors?: FieldProblem[] };
      throw new Refused(`${method} ${path}`, res.status, p.detail ?? p.title ?? '', p.errors ?? []);
    }
    return json as T;
  }
}
