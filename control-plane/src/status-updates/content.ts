/**
 * What a clinic is told: built only from what the provider wrote for clients (an incident's public summary, a
 * maintenance window's times and reason), never from alert payloads, internal notes or operators' names.
 */
import type { UpdateKind } from './store.ts';

/** An incident update as it was when made (status_updates.content). */
export interface IncidentContent {
  clientName: string;
  timeZone: string;
  code: string;
  instance: string | null;
  publicSummary: string;
  at: string;
}

/** A maintenance reminder (status_updates.content). */
export interface MaintenanceContent {
  clientName: string;
  timeZone: string;
  instance: string | null;
  start: string;
  end: string;
  reason: string;
}

const esc = (s: string) =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** A time in the clinic's own zone, e.g. "Mon 7 Dec 2026, 14:05 (America/New_York)". */
export function localTime(iso: string, zone: string): string {
  const text = new Intl.DateTimeFormat('en-GB', {
    timeZone: zone,
    weekday: 'short',
    day: 'numeric',
    month: 'short',
    year: 'numeric',
    hour: '2-digit',
    minute: '2-digit',
  }).format(new Date(iso));
  return `${text} (${zone})`;
}

const HEADLINE: Record<Exclude<UpdateKind, 'maintenance'>, string> = {
  opened: 'Service incident',
  updated: 'Update on service incident',
  resolved: 'Resolved: service incident',
};

/** GSM-7's plain characters only, so one SMS stays 160 characters (pages do the same, notify/page.ts). */
const plain = (s: string) =>
  s
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/[^A-Za-z0-9 .,:;!?()'"/+\-_=%&#@*]/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();

export interface Rendered {
  subject: string;
  text: string;
  html: string;
  sms: string;
}

export function render(kind: UpdateKind, content: object, unsubscribeUrl: string): Rendered {
  const footer = `You receive this as a status contact of ${(content as { clientName: string }).clientName}. Unsubscribe: ${unsubscribeUrl}`;
  const htmlFooter =
    `<p style="color:#555;font-size:small">You receive this as a status contact of ` +
    `${esc((content as { clientName: string }).clientName)}. <a href="${esc(unsubscribeUrl)}">Unsubscribe</a></p>`;
  if (kind === 'maintenance') {
    const m = content as MaintenanceContent;
    const what = m.instance ? `the concierge ${m.instance}` : 'your concierge service';
    const when = `from ${localTime(m.start, m.timeZone)} to ${localTime(m.end, m.timeZone)}`;
    const subject = `${m.clientName}: scheduled maintenance ${localTime(m.start, m.timeZone)}`.slice(0, 200);
    const lines = [`Scheduled maintenance of ${what} ${when}.`, m.reason ? `Reason: ${m.reason}` : ''];
    return {
      subject,
      text: [...lines.filter(Boolean), '', footer].join('\n'),
      html:
        `<h2>${esc(subject)}</h2>` +
        lines
          .filter(Boolean)
          .map((l) => `<p>${esc(l)}</p>`)
          .join('') +
        htmlFooter,
      sms: plain(`${m.clientName}: scheduled maintenance ${when}.`).slice(0, 160),
    };
  }
  const c = content as IncidentContent;
  const headline = HEADLINE[kind];
  const subject = `${c.clientName}: ${headline} ${c.code}`.slice(0, 200);
  const lines = [
    `${headline} ${c.code}${c.instance ? ` (${c.instance})` : ''}, ${localTime(c.at, c.timeZone)}.`,
    c.publicSummary,
  ];
  return {
    subject,
    text: [...lines, '', footer].join('\n'),
    html: `<h2>${esc(subject)}</h2>` + lines.map((l) => `<p>${esc(l)}</p>`).join('') + htmlFooter,
    // The unsubscribe link is the e-mail's; an SMS names the incident and what was said, cut to one segment.
    sms: plain(`${c.clientName}: ${headline} ${c.code}. ${c.publicSummary}`).slice(0, 160),
  };
}
