import { duration, pct } from '../reports/format.ts';
import type { OpsDaily } from './service.ts';

const esc = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

/** The morning checklist as sections of lines: the same words in the text and the HTML mail. */
export function sections(d: OpsDaily): { title: string; ok: boolean; lines: string[] }[] {
  return [
    {
      title: 'Instances not healthy now',
      ok: d.unhealthy.length === 0,
      lines: d.unhealthy.map((u) => `${u.client}/${u.instance} ${u.service} ${u.state} since ${u.since}`),
    },
    {
      title: 'Incidents and pages in the last 24 h',
      ok: d.incidents.length === 0,
      lines: d.incidents.map(
        (i) =>
          `${i.code} ${i.severity} ${i.client ?? 'unassigned'}/${i.instance ?? '-'} opened ${i.openedAt}, ${i.status}; ` +
          (i.acknowledgedBy
            ? `acknowledged by ${i.acknowledgedBy} after ${duration(i.timeToAcknowledgeSeconds)}`
            : 'not acknowledged') +
          `; ${i.escalations} escalation step(s)`,
      ),
    },
    {
      title: 'Response targets missed by those incidents',
      ok: d.targetBreaches.incidents === 0,
      lines: [
        ...(d.targetBreaches.incidents
          ? [
              `${d.targetBreaches.incidents} incident(s): ${d.targetBreaches.acknowledge} not acknowledged in time, ` +
                `${d.targetBreaches.resolve} not resolved in time`,
            ]
          : []),
        ...d.incidents
          .filter((i) => i.missedTargets.length > 0)
          .map((i) => `${i.code} ${i.severity} missed: ${i.missedTargets.join(', ')}`),
      ],
    },
    {
      title: 'Failure drills in the last 24 h',
      ok: d.drills.every((x) => x.status === 'ended' && x.unreachable.length === 0),
      lines: d.drills.map(
        (x) =>
          `${x.kind} ${x.target} started ${x.startedAt} by ${x.startedBy}, ${x.status}` +
          (x.error ? `: ${x.error}` : x.incident ? ` (${x.incident})` : '') +
          `; first page after ${duration(x.toFirstPageSeconds)}; ` +
          (x.acknowledgedBy
            ? `acknowledged by ${x.acknowledgedBy} after ${duration(x.toAcknowledgeSeconds)}`
            : 'not acknowledged') +
          (x.unreachable.length ? `; unreachable: ${x.unreachable.join(', ')}` : ''),
      ),
    },
    {
      title: 'Backups not completed in the last 24 h or failing verification',
      ok: d.backups.length === 0,
      lines: d.backups.map((b) => `${b.client}/${b.instance}: ${b.problem}`),
    },
    {
      title: 'Restore tests overdue',
      ok: d.restoreTestsOverdue.length === 0,
      lines: d.restoreTestsOverdue.map(
        (r) => `${r.client}/${r.instance}: last test ${r.lastTest ?? 'never'}`,
      ),
    },
    {
      title: 'Certificates expiring within 21 days',
      ok: d.certificates.available && d.certificates.expiring.length === 0,
      lines: d.certificates.available
        ? d.certificates.expiring.map((c) => `${c.client}/${c.instance} ${c.service}: expires ${c.expiresAt}`)
        : [`not available: ${d.certificates.reason}`],
    },
    {
      title: 'Month-to-date SLA at risk',
      ok: d.slaAtRisk.length === 0,
      lines: d.slaAtRisk.map(
        (s) =>
          `${s.client}: uptime ${pct(s.uptime)} (target ${pct(s.target, 2)}), ${duration(s.budgetUsedSeconds)} of the ` +
          `month's ${duration(s.monthBudgetSeconds)} budget used (${pct(s.burn, 1)}); measured ` +
          `${pct(s.measuredShare, 1)} of the month so far${s.insufficientData ? ' (insufficient data)' : ''}`,
      ),
    },
    {
      title: 'Audit log chain',
      ok: d.audit.verified,
      lines: [
        d.audit.verified
          ? `verified: ${d.audit.rows} rows, chain intact`
          : `BROKEN at ${d.audit.firstBroken?.seq == null ? 'the checkpoint file' : `seq ${d.audit.firstBroken.seq}`}: ${d.audit.firstBroken?.reason}`,
      ],
    },
    {
      title: 'Audit checkpoints (signed, kept outside the database)',
      ok: d.audit.checkpoints.enabled && d.audit.checkpoints.newestSeq !== null,
      lines: checkpointLines(d.audit),
    },
    {
      title: 'Suspicious access in the last 24 h',
      ok: suspiciousLines(d.suspicious).length === 0,
      lines: suspiciousLines(d.suspicious),
    },
    {
      title: 'Failed logins and denied requests',
      ok: !d.deniedRequests.available || d.deniedRequests.unauthenticated + d.deniedRequests.forbidden === 0,
      lines: d.deniedRequests.available
        ? [
            `${d.deniedRequests.unauthenticated} without a valid token, ${d.deniedRequests.forbidden} forbidden (${d.deniedRequests.window})`,
          ]
        : [`not recorded: ${d.deniedRequests.reason}`],
    },
  ];
}

function suspiciousLines(f: OpsDaily['suspicious']): string[] {
  const lines: string[] = [];
  const kind = (label: string, k: { count: number; items: { at: string; what: string }[] }) => {
    for (const i of k.items) lines.push(`${label}: ${i.what} at ${i.at}`);
    if (k.count > k.items.length) lines.push(`${label}: ... and ${k.count - k.items.length} more`);
  };
  kind('denied-request burst', f.deniedBursts);
  kind('new source address', f.newSources);
  kind(`admin action outside business hours (${f.afterHoursAdmin.hours})`, f.afterHoursAdmin);
  kind('admin token created', f.adminTokensCreated);
  kind('audit export', f.exports);
  for (const v of f.verifyFailures)
    lines.push(
      `audit verification FAILED at ${v.at}: ${v.seq === null ? 'the checkpoint file' : `seq ${v.seq}`}: ${v.reason}`,
    );
  if (f.checkpointsMissing)
    lines.push(
      `audit checkpoints not written: the newest was signed ${f.checkpointsMissing.newestAt ?? 'never'}, ` +
        `one is due every ${f.checkpointsMissing.everySeconds} s`,
    );
  return lines;
}

function checkpointLines(a: OpsDaily['audit']): string[] {
  const c = a.checkpoints;
  if (!c.enabled)
    return [
      'not written: no signing key is configured (AUDIT_SIGNING_KEY_FILE, see docs/audit.md), so a recomputed ' +
        'chain or a truncated log would go unnoticed',
    ];
  if (c.newestSeq === null) return [`none written yet to ${c.file}`];
  return [
    `newest: seq ${c.newestSeq}, hash ${c.newestHash}, signed ${c.newestAt} by key ${c.keyId}`,
    `${c.count} checkpoint(s) in ${c.file}; verified history reaches ${
      a.verifiedThrough ? `seq ${a.verifiedThrough.seq} (signed ${a.verifiedThrough.at})` : 'no checkpoint'
    }`,
  ];
}

export function renderOpsMail(d: OpsDaily): { subject: string; text: string; html: string } {
  const s = sections(d);
  const attention = s.filter((x) => !x.ok).length;
  const subject = `concierge-ops morning report ${d.generatedAt.slice(0, 10)}: ${
    attention ? `${attention} item(s) need attention` : 'all clear'
  }`;
  const text = s
    .map(
      (x) =>
        `${x.ok ? '[ok]' : '[!!]'} ${x.title}\n${(x.lines.length ? x.lines : ['none']).map((l) => `  - ${l}`).join('\n')}`,
    )
    .join('\n\n');
  const html = `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>${esc(subject)}</title></head><body><main><h1>${esc(
    subject,
  )}</h1>${s
    .map(
      (x) =>
        `<h2>${x.ok ? 'OK' : 'Attention'}: ${esc(x.title)}</h2><ul>${(x.lines.length ? x.lines : ['none'])
          .map((l) => `<li>${esc(l)}</li>`)
          .join('')}</ul>`,
    )
    .join('')}</main></body></html>`;
  return { subject, text, html };
}
