// Every dashboard the project provisions, by file name (grafana/dashboards/<name>.json).
import type { Dashboard, RowPanel } from '@grafana/grafana-foundation-sdk/dashboard';
import { backups } from './backups.ts';
import { capacity } from './capacity.ts';
import { clientDetail } from './client-detail.ts';
import { fleetOverview } from './fleet-overview.ts';
import { incidents } from './incidents.ts';
import { pipeline } from './pipeline.ts';

export function buildDashboards(): Record<string, Dashboard> {
  return {
    'fleet-overview': withPanelIds(fleetOverview().build()),
    'client-detail': withPanelIds(clientDetail().build()),
    incidents: withPanelIds(incidents().build()),
    backups: withPanelIds(backups().build()),
    pipeline: withPanelIds(pipeline().build()),
    capacity: withPanelIds(capacity().build()),
  };
}

/**
 * The builders leave panel ids unset (rows get 0); Grafana keys panel links, view-panel URLs and library
 * state on them, so number them in layout order: stable as long as the layout is.
 */
function withPanelIds(d: Dashboard): Dashboard {
  let next = 1;
  for (const p of d.panels ?? []) {
    p.id = next++;
    if (p.type === 'row') for (const child of (p as RowPanel).panels ?? []) child.id = next++;
  }
  return d;
}

/** The exact bytes committed: two-space JSON and a final newline, so regenerating is a no-op diff. */
export function serialize(d: Dashboard): string {
  return `${JSON.stringify(d, null, 2)}\n`;
}
