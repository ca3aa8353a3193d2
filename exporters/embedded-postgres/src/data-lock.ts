import fsSync from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';

/**
 * One process at a time owns a data folder's embedded PostgreSQL. The owner writes its pid (and its start time,
 * so that a recycled pid is not taken for it) to `<dataDir>/owner.pid`. A postmaster running under a folder
 * whose owner is gone is an orphan (its owner was killed) and may be stopped; one whose owner lives is not.
 */
const OWNER_FILE = 'owner.pid';

export class DataDirInUseError extends Error {
  constructor(
    readonly dataDir: string,
    readonly pid: number,
    why = 'runs its embedded PostgreSQL',
  ) {
    super(
      `the data folder ${dataDir} is in use: process ${pid} ${why}. ` +
        `Stop that process first, or set DATA_DIR to another folder.`,
    );
    this.name = 'DataDirInUseError';
  }
}

export interface DataDirLock {
  release(): Promise<void>;
}

interface Owner {
  pid: number;
  /** Clock ticks since boot at which the process started (/proc/<pid>/stat), when known. */
  start: string | undefined;
}

/** Field 22 of /proc/<pid>/stat; undefined where there is no /proc (the pid alone then decides). */
function startTime(pid: number): string | undefined {
  try {
    const stat = fsSync.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses: count fields after its closing one.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

function alive(owner: Owner): boolean {
  try {
    process.kill(owner.pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  const now = startTime(owner.pid);
  return owner.start === undefined || now === undefined || now === owner.start;
}

async function readOwner(file: string): Promise<Owner | undefined> {
  const text = await fs.readFile(file, 'utf8').catch(() => undefined);
  const [pid, start] = (text ?? '').split('\n');
  const n = Number(pid);
  return Number.isInteger(n) && n > 0 ? { pid: n, start: start || undefined } : undefined;
}

/** The pid of the live process owning `dataDir`, if any. */
export async function dataDirOwner(dataDir: string): Promise<number | undefined> {
  const owner = await readOwner(path.join(dataDir, OWNER_FILE));
  return owner && alive(owner) ? owner.pid : undefined;
}

/**
 * Makes this process the owner of `dataDir`, or throws DataDirInUseError naming the live owner. An owner file
 * left by a dead process is replaced. The file goes when released, or at the latest when this process exits.
 */
export async function lockDataDir(dataDir: string): Promise<DataDirLock> {
  const file = path.join(dataDir, OWNER_FILE);
  const me = `${process.pid}\n${startTime(process.pid) ?? ''}\n`;
  for (let attempt = 0; ; attempt++) {
    try {
      // 'wx': creating it is the atomic step; two starts at once cannot both succeed.
      await fs.writeFile(file, me, { flag: 'wx', mode: 0o644 });
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || attempt >= 2) throw err;
    }
    const owner = await readOwner(file);
    if (owner && alive(owner)) throw new DataDirInUseError(dataDir, owner.pid);
    await fs.rm(file, { force: true });
  }
  const ours = () => {
    try {
      return fsSync.readFileSync(file, 'utf8') === me;
    } catch {
      return false;
    }
  };
  const onExit = () => {
    if (ours()) fsSync.rmSync(file, { force: true });
  };
  process.on('exit', onExit);
  return {
    async release() {
      process.off('exit', onExit);
      onExit();
    },
  };
}
