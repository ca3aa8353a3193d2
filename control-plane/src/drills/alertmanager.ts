/** What a drill's synthetic alert needs of Alertmanager: its v2 API's alert intake, as Prometheus uses it. */
export interface AlertSender {
  post(alert: {
    labels: Record<string, string>;
    annotations: Record<string, string>;
    startsAt: string;
    endsAt: string;
  }): Promise<void>;
}

export function alertmanagerSender(baseUrl: string): AlertSender {
  return {
    async post(alert) {
      const res = await fetch(`${baseUrl.replace(/\/+$/, '')}/api/v2/alerts`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify([alert]),
        signal: AbortSignal.timeout(10_000),
      });
      if (!res.ok)
        throw new Error(
          `Alertmanager answered ${res.status} to POST /api/v2/alerts: ${(await res.text()).slice(0, 200)}`,
        );
    },
  };
}
