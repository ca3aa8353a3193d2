/**
 * bench/startup: time from `npm start` to /readyz 200 on a first start (initdb + migrations) and on a restart,
 * beside the time `pg_ctl start` alone takes for the same data folder, measured in the same run.
 * Last line: `bench startup: first_s=.. restart_s=.. pg_ctl_s=.. ratio=..` (ratio = restart / pg_ctl).
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { embeddedBinDir } from '@concierge-ops/shared/embedded-postgres';
import { freePort } from '@concierge-ops/shared/ports';
import { npmStart, reachableTempDir } from '../test/helpers/process.ts';

async function untilReady(url: string): Promise<void> {
  for (;;) {
    const ok = await fetch(`${url}/readyz`).then(
      (r) => r.status === 200,
      () => false,
    );
    if (ok) return;
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function timedStart(dataDir: string): Promise<number> {
  const t0 = performance.now();
  const cp = await npmStart({ DATA_DIR: dataDir });
  await untilReady(cp.url);
  const seconds = (performance.now() - t0) / 1000;
  cp.child.kill('SIGTERM');
  if ((await cp.exited) !== 0) throw new Error(`control plane did not stop cleanly:\n${cp.output()}`);
  return seconds;
}

function pgCtl(bin: string, args: string[]): void {
  const cmd = [path.join(bin, 'pg_ctl'), ...args];
  if (process.getuid?.() === 0) {
    execFileSync('su', ['postgres', '-s', '/bin/sh', '-c', cmd.map((a) => `'${a}'`).join(' ')], {
      stdio: 'ignore',
    });
  } else execFileSync(cmd[0]!, cmd.slice(1), { stdio: 'ignore' });
}

const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
const dataDir = await reachableTempDir('bench-startup-');
try {
  const first = await timedStart(dataDir);
  const restarts: number[] = [];
  for (let i = 0; i < rounds; i++) restarts.push(await timedStart(dataDir));
  const bin = await embeddedBinDir();
  const pgdata = path.join(dataDir, 'postgres');
  const plain: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const port = await freePort();
    const t0 = performance.now();
    pgCtl(bin, [
      'start',
      '-w',
      '-D',
      pgdata,
      '-o',
      `-p ${port} -c listen_addresses=127.0.0.1`,
      '-l',
      '/dev/null',
    ]);
    plain.push((performance.now() - t0) / 1000);
    pgCtl(bin, ['stop', '-w', '-D', pgdata, '-m', 'fast']);
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const restart = median(restarts);
  const pg = median(plain);
  console.log(
    `first start ${first.toFixed(2)} s; restarts ${restarts.map((s) => s.toFixed(2)).join(', ')} s`,
  );
  console.log(`pg_ctl start alone ${plain.map((s) => s.toFixed(2)).join(', ')} s`);
  console.log(
    `bench startup: first_s=${first.toFixed(2)} restart_s=${restart.toFixed(2)} pg_ctl_s=${pg.toFixed(2)} ratio=${(restart / pg).toFixed(2)}`,
  );
} finally {
  await fs.rm(dataDir, { recursive: true, force: true });
}
