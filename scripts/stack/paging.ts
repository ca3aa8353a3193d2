/**
 * Someone for the stack to page: without responders every incident records `escalation_no_responders` and
 * nothing goes out. The stack gives each role the default escalation policy targets a demo responder, through
 * the API as an operator would, so a broken demo instance pages someone whose SMS, calls and e-mail are visible
 * (in the Twilio stand-in's log and the SMTP sink).
 */
import { controlPlaneClient, ok } from '@concierge-ops/shared/client';

interface Policy {
  isDefault: boolean;
  levels: { level: number; targets: { roles?: string[] } }[];
}
interface Responder {
  name: string;
  role: string;
  phone: string | null;
  email: string | null;
  active: boolean;
}

export interface DemoResponder {
  name: string;
  role: string;
  level: number;
  phone: string | null;
  email: string;
  /** false: the role already had an active responder (yours, or an earlier run's demo one). */
  created: boolean;
}

/**
 * For each role of the default policy's levels with no active responder, adds `Demo <role>` with an e-mail
 * address and, when `withPhone` (the stack runs the Twilio stand-in), a fictional +1 555 01xx number.
 * Idempotent: a role that already has someone keeps them and gets no one else.
 */
export async function seedDemoResponders(
  controlPlaneUrl: string,
  adminToken: string,
  withPhone: boolean,
): Promise<DemoResponder[]> {
  const api = controlPlaneClient(controlPlaneUrl, { token: adminToken });
  const policies = ok(
    'listing escalation policies',
    await api.GET('/api/v1/escalation-policies'),
  ) as Policy[];
  const def = policies.find((p) => p.isDefault);
  if (!def) return [];
  const existing = ok('listing responders', await api.GET('/api/v1/responders')) as Responder[];
  const out: DemoResponder[] = [];
  for (const level of def.levels)
    for (const role of level.targets.roles ?? []) {
      if (out.some((r) => r.role === role)) continue;
      const have = existing.find((r) => r.active && r.role === role);
      if (have) {
        out.push({ ...have, email: have.email ?? '', level: level.level, created: false });
        continue;
      }
      // 555-0100..0199 are the numbers set aside for fiction: nothing real answers them.
      const phone = withPhone ? `+120255501${String(level.level).padStart(2, '0')}` : null;
      const body = { name: `Demo ${role}`, role, phone, email: `${role}@demo.concierge-ops.invalid` };
      ok(`adding the demo ${role}`, await api.POST('/api/v1/responders', { body }));
      out.push({ ...body, level: level.level, created: true });
    }
  return out;
}
