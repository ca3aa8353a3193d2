import type { Router } from 'express';
import type { Context } from '../context.ts';
import { backupPages } from './backup-pages.ts';
import { maintenancePages } from './maintenance-pages.ts';
import { onCallPages } from './oncall-pages.ts';
import { withFmt } from './ops-common.ts';
import { policyPages } from './policy-pages.ts';
import { reportPages } from './report-pages.ts';
import type { Render } from './render.ts';

/** The operations pages (staff only): on call, escalation policies, maintenance windows, backups, reports. */
export function opsPages(router: Router, ctx: Context, render: Render): void {
  const r = withFmt(render);
  onCallPages(router, ctx, r);
  policyPages(router, ctx, r);
  maintenancePages(router, ctx, r);
  backupPages(router, ctx, r);
  reportPages(router, ctx, r);
}
