import dgram from 'node:dgram';
import type { AddressInfo } from 'node:net';
import dnsPacket, { type Answer } from 'dns-packet';

/**
 * A loopback DNS server over UDP for tests: it answers from `records` (name and type -> answers), NXDOMAIN for
 * a name it does not know, an empty answer for a known name without that type, and nothing at all for names in
 * `silent` (a server that times out). It logs each question it was asked.
 */
export class DnsStandIn {
  readonly records = new Map<string, Answer[]>();
  readonly silent = new Set<string>();
  readonly asked: string[] = [];
  private readonly socket = dgram.createSocket('udp4');

  constructor() {
    this.socket.on('message', (msg, rinfo) => {
      let query: dnsPacket.Packet;
      try {
        query = dnsPacket.decode(msg);
      } catch {
        return;
      }
      const q = query.questions?.[0];
      if (!q) return;
      this.asked.push(`${q.name} ${q.type}`);
      if (this.silent.has(q.name.toLowerCase())) return;
      const known = [...this.records.keys()].some((k) => k.startsWith(`${q.name.toLowerCase()} `));
      const answers = this.records.get(`${q.name.toLowerCase()} ${q.type}`) ?? [];
      const reply = dnsPacket.encode({
        type: 'response',
        id: query.id,
        flags: dnsPacket.RECURSION_DESIRED | dnsPacket.RECURSION_AVAILABLE | (known ? 0 : 3), // rcode 3: NXDOMAIN
        questions: [q],
        answers,
      });
      this.socket.send(reply, rinfo.port, rinfo.address);
    });
  }

  /** Adds answers of one type for a name (`ttl` and `class` filled in). */
  set(name: string, type: Answer['type'], data: unknown[]): this {
    this.records.set(
      `${name.toLowerCase()} ${type}`,
      data.map((d) => ({ name, type, ttl: 60, class: 'IN', data: d }) as Answer),
    );
    return this;
  }

  async listen(): Promise<this> {
    await new Promise<void>((r) => this.socket.bind(0, '127.0.0.1', () => r()));
    return this;
  }

  /** "127.0.0.1:port", as a probe's `server` takes it. */
  get server(): string {
    return `127.0.0.1:${(this.socket.address() as AddressInfo).port}`;
  }

  close(): Promise<void> {
    return new Promise((r) => this.socket.close(() => r()));
  }
}
