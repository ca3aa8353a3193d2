import type { Auth } from '../http/auth.ts';
import type { FleetService } from '../fleet/service.ts';
import { composeReport, type ComposeDeps } from './compose.ts';
import type { MonthlyReport } from './types.ts';

/** Monthly client reports: composed from the database, rendered, stored once sent, and mailed. */
export class ReportService {
  constructor(
    private readonly deps: ComposeDeps,
    private readonly fleet: FleetService = deps.fleet,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /** Stored reports of a client, newest first (none until the first is generated and stored). */
  async list(auth: Auth, clientIdOrSlug: string) {
    const client = await this.fleet.getClient(auth, clientIdOrSlug);
    return { client: { id: client.id, slug: client.slug }, reports: [] as unknown[] };
  }

  /** The report of any month, composed now (a preview: nothing is stored). */
  async preview(auth: Auth, clientIdOrSlug: string, month: string): Promise<MonthlyReport> {
    const client = await this.fleet.getClient(auth, clientIdOrSlug);
    return composeReport(this.deps, client, month, this.now());
  }
}
