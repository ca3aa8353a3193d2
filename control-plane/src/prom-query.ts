// Instant queries against Prometheus's HTTP API for what the control plane reads from it (the monthly report's
// performance and capacity sections, the morning report's certificates): one bounded request each, a timeout,
// and a clear error on anything but a success.

export interface Sample {
  metric: Record<string, string>;
  /** NaN when Prometheus answers NaN (Grafana's "no value") */
  value: number;
}

/** Answers with more series than this are refused rather than read: a client's report section never needs more. */
export const MAX_SERIES = 1000;

export async function instantVector(
  baseUrl: string,
  query: string,
  at: Date,
  timeoutMs: number,
  maxSeries = MAX_SERIES,
): Promise<Sample[]> {
  // POST, form-encoded: a client with many instances makes a long selector, past what a URL should carry.
  const body = new URLSearchParams({
    query,
    time: (at.getTime() / 1000).toFixed(3),
    // Prometheus stops evaluating at its own timeout too, so a slow query does not run on after we give up.
    timeout: `${Math.max(1, Math.floor(timeoutMs / 1000))}s`,
  });
  const res = await fetch(baseUrl + '/api/v1/query', {
    method: 'POST',
    body,
    signal: AbortSignal.timeout(timeoutMs),
  });
  if (!res.ok) throw new Error(`Prometheus answered ${res.status}`);
  const json = (await res.json()) as {
    data?: { resultType?: string; result?: { metric: Record<string, string>; value: [number, string] }[] };
  };
  const result = json.data?.resultType === 'vector' ? (json.data.result ?? []) : [];
  if (result.length > maxSeries) throw new Error(`Prometheus answered ${result.length} series`);
  return result.map((r) => ({ metric: r.metric, value: Number(r.value[1]) }));
}
