// `node --import ./record-packages.mjs`: records the name of every package under node_modules that the process
// resolves through the ESM loader, for test/integration/startup-loads.test.ts (require() is read from its cache).
import { register } from 'node:module';

export const seen = new Set();
const { port1, port2 } = new MessageChannel();
port1.on('message', (name) => seen.add(name));
port1.unref();
globalThis.__packagesSeen = seen;
register('./record-packages-hook.mjs', {
  parentURL: import.meta.url,
  data: { port: port2 },
  transferList: [port2],
});
