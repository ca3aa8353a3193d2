import type { DbPage } from './store.ts';

/** What a page says. Built only from incident fields, never from alert payloads beyond the summary. */
const SEV: Record<string, string> = { critical: 'CRIT', warning: 'WARN', info: 'INFO' };

// GSM-7 keeps an SMS at 160 characters; one non-GSM character would drop it to 70 (UCS-2).
const toGsm = (s: string) =>
  s
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/[^A-Za-z0-9 .,:;!?()'"/+\-_=%&#@*<>]/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();

export function where(p: Pick<DbPage, 'client_slug' | 'unassigned' | 'instance' | 'service'>): string {
  const client = p.client_slug ?? (p.unassigned ? 'unassigned' : 'ops');
  return [client, p.instance, p.service].filter(Boolean).join('/');
}

/** GSM-7 septets of `s`: the extension characters ([ ] { } \\ ^ ~ | €) take two (an escape and the character). */
export const septets = (s: string) => s.length + (s.match(/[[\]{}\\^~|€]/g)?.length ?? 0);

/** One SMS segment (160 GSM-7 septets): the summary is cut to fit, the code and the ack hint never. */
export function smsText(p: DbPage): string {
  // A drill says so first, where a glance at the lock screen reads it.
  const head = `${p.drill ? 'DRILL ' : ''}[${SEV[p.severity]}] ${p.code} ${toGsm(where(p))}: `;
  const tail = ` Reply ACK ${p.code}`;
  // toGsm leaves only basic characters in the body; the head's brackets count two each.
  const room = 160 - septets(head) - septets(tail);
  let body = toGsm(p.summary || p.title);
  if (body.length > room) body = body.slice(0, Math.max(0, room - 3)).trimEnd() + '...';
  return head + body + tail;
}

const xml = (s: string) =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** TwiML for the voice call: reads the page twice and asks for 1 to acknowledge. */
export function voiceTwiml(p: DbPage, gatherUrl: string): string {
  const code = p.code.replace(/^INC-0*/, '');
  const say = xml(
    `${p.drill ? 'This is a drill, not a real failure. ' : ''}concierge ops ${p.severity} page. Incident ${code}. ${toGsm(where(p)).replace(/\//g, ', ')}. ` +
      `${toGsm(p.summary || p.title).slice(0, 300)}.`,
  );
  return (
    `<Response><Gather numDigits="1" timeout="10" action="${xml(gatherUrl)}" method="POST">` +
    `<Say>${say}</Say><Say>Press 1 to acknowledge.</Say><Say>${say}</Say>` +
    `<Say>Press 1 to acknowledge.</Say></Gather><Say>Not acknowledged. Goodbye.</Say></Response>`
  );
}

export function mailContent(p: DbPage, ackUrl: string) {
  const drill = p.drill ? '[DRILL] ' : '';
  const subject = `${drill}[${p.severity.toUpperCase()}] ${p.code} ${where(p)}: ${p.title}`.slice(0, 200);
  const drillNote = 'This is a failure drill, not a real failure: acknowledge it as you would a real page.';
  const text = [
    ...(p.drill ? [drillNote, ''] : []),
    `${p.code} (${p.severity}) ${p.title}`,
    `Client/instance/service: ${where(p)}`,
    `Summary: ${p.summary || p.title}`,
    '',
    `Acknowledge: ${ackUrl}`,
    `or reply ACK ${p.code} to the SMS page.`,
    p.fallback_of ? '\nThe SMS page to you could not be delivered; this e-mail replaces it.' : '',
  ].join('\n');
  const html =
    (p.drill ? `<p><b>${drillNote}</b></p>` : '') +
    `<h2>${xml(p.code)} (${xml(p.severity)}) ${xml(p.title)}</h2>` +
    `<p><b>Client/instance/service:</b> ${xml(where(p))}</p><p><b>Summary:</b> ${xml(p.summary || p.title)}</p>` +
    `<p><a href="${xml(ackUrl)}">Acknowledge ${xml(p.code)}</a> or reply ACK ${xml(p.code)} to the SMS.</p>` +
    (p.fallback_of ? '<p>The SMS page to you could not be delivered; this e-mail replaces it.</p>' : '');
  return { subject, text, html };
}

/** A test page says so first, names no incident, and asks for nothing (POST /responders/{id}/test-page). */
const TEST_SAYS = 'concierge-ops TEST page: no incident, no action needed.';

export const testSms = (p: DbPage) =>
  `[TEST] ${TEST_SAYS} It reached ${toGsm(p.responder_name)} by SMS.`.slice(0, 160);

export function testTwiml(p: DbPage): string {
  const say = xml(
    `This is a concierge ops test page for ${toGsm(p.responder_name)}. There is no incident. No action is needed.`,
  );
  return `<Response><Say>${say}</Say><Say>${say}</Say></Response>`;
}

export function testMail(p: DbPage) {
  const subject = '[TEST] concierge-ops test page';
  const text = `${TEST_SAYS}\n\nThis e-mail proves that pages reach ${p.responder_name} by e-mail.`;
  const html =
    `<h2>[TEST] concierge-ops test page</h2><p>${xml(TEST_SAYS)}</p>` +
    `<p>This e-mail proves that pages reach ${xml(p.responder_name)} by e-mail.</p>`;
  return { subject, text, html };
}
