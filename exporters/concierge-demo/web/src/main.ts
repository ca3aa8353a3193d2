/**
 * The concierge's patient-facing web chat, simplified, instrumented with the Grafana Faro web SDK. Runs in the
 * browser (bundled by ../server.ts with esbuild). What a patient types stays on the page: it is never logged,
 * never put in an error message, and Faro's console capture is off; page URLs lose their query string and
 * fragment before anything is sent.
 */
import { getWebInstrumentations, initializeFaro, type TransportItem } from '@grafana/faro-web-sdk';

interface PageConfig {
  collectUrl: string;
  app: { name: string; version: string; environment: string };
  practiceName?: string;
  /** Milliseconds before the late notice banner pushes the chat down (a real layout shift; CLS > 0). */
  noticeDelayMs?: number;
}

function readConfig(): PageConfig {
  const el = document.getElementById('concierge-config');
  return JSON.parse(el?.textContent ?? '{}') as PageConfig;
}

/** scheme://host/path only: query strings and fragments may carry patient details (names, dates of birth). */
export function withoutQuery(url: string): string {
  try {
    const u = new URL(url);
    return u.origin + u.pathname;
  } catch {
    return url.split(/[?#]/)[0] ?? '';
  }
}

function scrub(item: TransportItem): TransportItem {
  const page = item.meta.page;
  if (page?.url) page.url = withoutQuery(page.url);
  return item;
}

const config = readConfig();

initializeFaro({
  url: config.collectUrl,
  app: config.app,
  // No console capture (messages may quote what a patient typed); no resource timings (their URLs may hold
  // query strings).
  instrumentations: getWebInstrumentations({
    captureConsole: false,
    enablePerformanceInstrumentation: false,
  }),
  sessionTracking: { enabled: true, persistent: false },
  beforeSend: scrub,
});

const REPLIES = [
  'Thanks! I can help with that. Which day suits you best?',
  'Our office is open Monday to Friday, 8am to 6pm.',
  'I have passed this on to the front desk; someone will call you back today.',
];

function say(role: 'assistant' | 'patient', text: string): void {
  const li = document.createElement('li');
  li.className = role;
  li.textContent = text;
  document.getElementById('messages')!.append(li);
}

function start(): void {
  if (config.practiceName) document.getElementById('practice-name')!.textContent = config.practiceName;
  let turn = 0;
  document.getElementById('chat-form')!.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const input = document.getElementById('chat-input') as HTMLInputElement;
    const text = input.value.trim();
    if (!text) return;
    say('patient', text);
    input.value = '';
    const reply = REPLIES[turn++ % REPLIES.length]!;
    setTimeout(() => say('assistant', reply), 300);
  });
  document.getElementById('break-page')!.addEventListener('click', () => {
    // A fixed message: an error report must never carry what the patient typed.
    throw new Error('chat transcript failed to render');
  });
  // A notice that arrives late and pushes the chat down: the kind of layout shift CLS measures.
  setTimeout(() => {
    const notice = document.createElement('div');
    notice.className = 'notice';
    notice.textContent = 'Holiday hours: the office closes at 2pm on Friday.';
    document.getElementById('notice-slot')!.append(notice);
  }, config.noticeDelayMs ?? 400);
}

if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
else start();
