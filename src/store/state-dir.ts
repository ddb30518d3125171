import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { access, mkdir, open, rename, rm, stat, statfs } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';

/**
 * Kernel pseudo-filesystems (statfs f_type): nothing written there persists, and Node 20's
 * recursive mkdir loops forever on the ENOENT that /proc answers, at 100 % CPU.
 */
const PSEUDO_FILESYSTEMS: ReadonlyMap<number, string> = new Map([
  [0x9fa0, 'proc'],
  [0x62656572, 'sysfs'],
  [0x1cd1, 'devpts'],
  [0x64626720, 'debugfs'],
  [0x63677270, 'cgroup2'],
  [0x27e0eb, 'cgroup'],
  [0x73636673, 'securityfs'],
  [0xcafe4a11, 'bpf'],
  [0x74726163, 'tracefs'],
]);

export class StateDirError extends Error {
  override readonly name = 'StateDirError';
}

/**
 * Makes sure `stateDir` can hold the server's state before anything is started: the nearest
 * existing ancestor must be a directory on a real filesystem; missing levels are created one at
 * a time (0700); then a file is written, synced, renamed and removed there, as every store does.
 * Each failure names the directory and why, and nothing is left behind.
 */
export async function prepareStateDir(stateDir: string): Promise<void> {
  const dir = resolve(stateDir);
  const missing: string[] = [];
  let existing = dir;
  for (;;) {
    const info = await stat(existing).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT' || error.code === 'ENOTDIR') return undefined;
      throw new StateDirError(`stateDir ${dir}: cannot look at ${existing}: ${error.code ?? error.message}`);
    });
    if (info) {
      if (!info.isDirectory()) throw new StateDirError(`stateDir ${dir}: ${existing} is not a directory`);
      break;
    }
    missing.unshift(existing);
    const parent = dirname(existing);
    if (parent === existing) throw new StateDirError(`stateDir ${dir}: no part of the path exists`);
    existing = parent;
  }
  const fs = await statfs(existing).catch(() => undefined);
  const pseudo = fs ? PSEUDO_FILESYSTEMS.get(Number(fs.type)) : undefined;
  if (pseudo) throw new StateDirError(`stateDir ${dir}: ${existing} is on the kernel's ${pseudo} filesystem, which cannot hold files; choose a directory on disk (e.g. /var/lib/keymaster)`);
  for (const level of missing) {
    try {
      await mkdir(level, { mode: 0o700 });
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== 'EEXIST') throw new StateDirError(`stateDir ${dir}: cannot create ${level}: ${code ?? (error as Error).message}`);
    }
  }
  try {
    await access(dir, constants.W_OK | constants.X_OK);
  } catch (error) {
    throw new StateDirError(`stateDir ${dir}: not writable by this user (uid ${process.getuid?.() ?? '?'}): ${(error as NodeJS.ErrnoException).code}`);
  }
  await probeWrite(dir);
}

/** What an atomic store write does (temp file, fsync, rename), once, then cleaned up. */
async function probeWrite(dir: string): Promise<void> {
  const temp = join(dir, `.keymaster-probe-${randomBytes(6).toString('hex')}`);
  const target = `${temp}.done`;
  try {
    const handle = await open(temp, 'wx', 0o600);
    try {
      await handle.writeFile('probe\n');
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, target);
  } catch (error) {
    throw new StateDirError(`stateDir ${dir}: cannot write a file there: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  } finally {
    await rm(temp, { force: true });
    await rm(target, { force: true });
  }
}
