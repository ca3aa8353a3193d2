import type { Logger } from 'pino';
import type { Auth } from '../http/auth.ts';
import type { IncidentService } from '../incidents/service.ts';
import type { Incident } from '../incidents/types.ts';
import { errorMessage } from '@concierge-ops/shared/errors';

export interface Subscriber {
  auth: Auth;
  /**
   * The newest timeline event when its page was drawn: changes after it and before the stream began are sent
   * on the first poll, so an incident opened in between is not missed.
   */
  since?: number;
  /** Called with each changed incident this subscriber may see. */
  send(incident: Incident): void;
  /** Called every few seconds: false ends the stream (the session ended). */
  alive(): Promise<boolean>;
  close(): void;
}

const POLL_MS = 1000;
const ALIVE_EVERY = 10;

/**
 * The live incident list's feed: while anyone watches, the timeline is polled once a second (one query for
 * every watcher of this process: every change writes a timeline event, whichever replica made it), and each
 * changed incident is read through the incident service with the watcher's own rights.
 */
export class LiveIncidents {
  private readonly subscribers = new Set<Subscriber>();
  private timer: NodeJS.Timeout | undefined;
  private last: number | undefined;
  private ticks = 0;
  private running = false;

  constructor(
    private readonly incidents: IncidentService,
    private readonly log: Logger,
  ) {}

  subscribe(s: Subscriber): () => void {
    this.subscribers.add(s);
    this.timer ??= setInterval(() => void this.tick(), POLL_MS);
    return () => {
      this.subscribers.delete(s);
      if (this.subscribers.size === 0) this.stop();
    };
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.last = undefined;
  }

  closeAll(): void {
    for (const s of this.subscribers) s.close();
    this.subscribers.clear();
    this.stop();
  }

  private async tick(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      if (this.last === undefined) {
        this.last = await this.incidents.lastEventId();
        // The first poll of a new stream: catch up each subscriber from its page's `since`.
      }
      const before = this.last;
      const { last, ids } = await this.incidents.changedSince(before);
      this.last = last;
      const check = ++this.ticks % ALIVE_EVERY === 0;
      for (const s of [...this.subscribers]) {
        if (check && !(await s.alive())) {
          s.close();
          this.subscribers.delete(s);
          continue;
        }
        let mine = ids;
        if (s.since !== undefined && s.since < before) {
          const missed = await this.incidents.changedSince(s.since);
          mine = [...new Set([...missed.ids, ...ids])];
        }
        s.since = undefined;
        for (const id of mine) {
          const inc = await this.incidents.get(s.auth, id).catch(() => undefined);
          if (inc) s.send(inc);
        }
      }
      if (this.subscribers.size === 0) this.stop();
    } catch (err) {
      this.log.warn({ err: errorMessage(err) }, 'console live list: poll failed; the next one retries');
    } finally {
      this.running = false;
    }
  }
}
