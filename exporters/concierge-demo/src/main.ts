/**
 * npm run demo                                 start the demo fleet and register it in the control plane
 * npm run demo -- break <instance> <target>    break a service (backend, frontend, proxy) or a dependency
 * npm run demo -- heal <instance> <target|all> heal it again
 * npm run demo -- status                       what runs and what is broken
 */
import { DemoConfigError, loadDemoConfig, stateDirCandidates } from './config.ts';
import { startControlApi, controlFile, findStateDir, sendCommand } from './control.ts';
import { DemoInstance, TARGETS, loadWebBuilder, type InstanceSpec } from './instance.ts';
import { ControlPlane, ControlPlaneError } from './register.ts';
import fs from 'node:fs/promises';

const PRACTICES: InstanceSpec[] = [
  {
    client: 'demo-riverside',
    clientName: 'Riverside Family Practice',
    timeZone: 'America/New_York',
    instance: 'riverside-prod',
  },
  {
    client: 'demo-lakeview',
    clientName: 'Lakeview Pediatrics',
    timeZone: 'America/Chicago',
    instance: 'lakeview-prod',
  },
  {
    client: 'demo-hillcrest',
    clientName: 'Hillcrest Dental',
    timeZone: 'America/Los_Angeles',
    instance: 'hillcrest-prod',
  },
];

function practices(n: number): InstanceSpec[] {
  return Array.from(
    { length: n },
    (_, i) =>
      PRACTICES[i] ?? {
        client: `demo-clinic-${i + 1}`,
        clientName: `Demo Clinic ${i + 1}`,
        timeZone: 'Europe/Berlin',
        instance: `clinic-${i + 1}-prod`,
      },
  );
}

const USAGE = `usage:
  npm run demo                                   start the demo fleet (needs CONTROL_PLANE_URL, CONTROL_PLANE_TOKEN)
  npm run demo -- break <instance> <target>      target: ${TARGETS.join(', ')}
  npm run demo -- heal <instance> <target|all>
  npm run demo -- status`;

async function start(): Promise<void> {
  const config = loadDemoConfig();
  const cp = new ControlPlane(config.controlPlaneUrl, config.controlPlaneToken);
  const instances = new Map<string, DemoInstance>();
  const stopAll = async () => {
    await Promise.allSettled([...instances.values()].map((i) => i.stop()));
  };
  const build = await loadWebBuilder();
  for (const spec of practices(config.instances))
    instances.set(spec.instance, new DemoInstance(spec, config.host, config.publicHost));
  // The instances start and register side by side: each waits on the control plane for a few requests in turn,
  // and one after the other those waits were most of the demo's start (bench:startup).
  const started = await Promise.allSettled(
    [...instances.values()].map(async (inst, i) => {
      const { spec } = inst;
      await inst.start(config.rps, config.seed + i);
      const origins = [inst.urls.proxy, inst.urls.frontend];
      // On a restart the instance's update and its Faro key's rotation go together: one round trip. The first
      // run has no key to rotate yet and makes one once the instance exists.
      const [id, rotated] = await Promise.all([
        cp.upsertInstance(inst, spec, i === 0 ? config.exporters : {}),
        build ? cp.rotateFaroKey(spec.instance, origins) : undefined,
      ]);
      const key = rotated ?? (build ? await cp.createFaroKey(id, origins) : undefined);
      if (build && key)
        inst.setPage(() => build(`${config.controlPlaneUrl}/api/v1/faro/collect/${key}`, spec.clientName));
    }),
  );
  const failed = started.find((r) => r.status === 'rejected');
  if (failed) {
    await stopAll();
    throw failed.reason;
  }
  const control = await startControlApi(config.stateDir, instances);
  for (const inst of instances.values()) {
    const u = inst.urls;
    console.log(
      `${inst.spec.instance.padEnd(16)} web ${u.proxy}/chat  health ${u.backend}/health  metrics ${u.metrics}`,
    );
  }
  const first = [...instances.keys()][0]!;
  console.log(
    `demo ready: ${instances.size} instances registered with ${config.controlPlaneUrl}; ` +
      `control API ${control.url} (${controlFile(config.stateDir)})`,
  );
  console.log(`try:  npm run demo -- break ${first} openemr   then   npm run demo -- heal ${first} all`);

  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`${signal}: stopping the demo`);
    const force = setTimeout(() => process.exit(1), 10_000);
    force.unref();
    void control
      .close()
      .then(stopAll)
      .then(() => process.exit(0));
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
}

async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (cmd === undefined || cmd === 'start') {
    await start();
    return -1; // keeps running
  }
  if ((cmd === 'break' || cmd === 'heal') && rest.length === 2) {
    console.log(await sendCommand(await findStateDir(stateDirCandidates()), cmd, rest[0]!, rest[1]!));
    return 0;
  }
  if (cmd === 'status' && rest.length === 0) {
    const file = JSON.parse(
      await fs.readFile(controlFile(await findStateDir(stateDirCandidates())), 'utf8').catch(() => {
        throw new Error('the demo is not running: start it with  npm run demo');
      }),
    ) as { url: string };
    const res = await fetch(`${file.url}/status`).catch(() => {
      throw new Error('the demo is not running: start it with  npm run demo');
    });
    console.log(JSON.stringify(await res.json(), null, 2));
    return 0;
  }
  console.error(USAGE);
  return 2;
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exit(code);
  },
  (err: unknown) => {
    if (err instanceof DemoConfigError) {
      for (const p of err.problems) console.error(`demo: ${p}`);
      process.exit(2);
    }
    console.error(
      `demo: ${err instanceof ControlPlaneError || err instanceof Error ? err.message : String(err)}`,
    );
    process.exit(1);
  },
);
