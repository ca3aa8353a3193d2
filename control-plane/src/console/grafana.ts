/**
 * Links from the console to Grafana's dashboards (grafana/dashboards/*.json, generated from grafana/src): the
 * client detail dashboard by its uid, with its `client` and `instance` variables set. A unit test reads the
 * committed dashboard JSON, so a renamed uid or variable fails there rather than as a dead link.
 */
export const CLIENT_DASHBOARD = { uid: 'concierge-client-detail', client: 'client', instance: 'instance' };

export interface GrafanaLinks {
  client(slug: string): string;
  instance(client: string, instance: string): string;
}

/** The dashboards' links under `grafanaUrl` (GRAFANA_URL), or undefined when it is unset: no links then. */
export function grafanaLinks(grafanaUrl: string | undefined): GrafanaLinks | undefined {
  if (!grafanaUrl) return undefined;
  const d = CLIENT_DASHBOARD;
  const link = (vars: Record<string, string>) => {
    const u = new URL(`${grafanaUrl}/d/${d.uid}`);
    for (const [k, v] of Object.entries(vars)) u.searchParams.set(`var-${k}`, v);
    return u.toString();
  };
  return {
    client: (slug) => link({ [d.client]: slug }),
    instance: (client, instance) => link({ [d.client]: client, [d.instance]: instance }),
  };
}
