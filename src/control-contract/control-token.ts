import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { chmod, mkdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../storage/atomic-file.js';

/** The bearer token of the control API lives in the state dir, like BIND's rndc.key. */
export const CONTROL_TOKEN_FILE = 'control.token';

export function controlTokenPath(stateDir: string): string {
  return join(stateDir, CONTROL_TOKEN_FILE);
}

export interface ControlTokenInfo {
  readonly token: string;
  readonly path: string;
  /** A new token was generated and written. */
  readonly created: boolean;
  /** The existing file was readable by others and has been set to 0600. */
  readonly permissionsTightened: boolean;
}

/** Reads the token a running server wrote; throws (code ENOENT when there is none). */
export async function readControlToken(stateDir: string): Promise<string> {
  const token = (await readFile(controlTokenPath(stateDir), 'utf8')).trim();
  if (token === '') throw new Error(`${controlTokenPath(stateDir)} is empty`);
  return token;
}

/**
 * Returns the control token, creating the state dir (0700) and a random 32-byte token file
 * (0600, written atomically) when there is none yet.
 */
export async function ensureControlToken(stateDir: string): Promise<ControlTokenInfo> {
  const path = controlTokenPath(stateDir);
  await mkdir(stateDir, { recursive: true, mode: 0o700 });
  try {
    const token = await readControlToken(stateDir);
    const loose = ((await stat(path)).mode & 0o077) !== 0;
    if (loose) await chmod(path, 0o600);
    return { token, path, created: false, permissionsTightened: loose };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const token = randomBytes(32).toString('hex');
  await writeFileAtomic(path, `${token}\n`, 0o600);
  return { token, path, created: true, permissionsTightened: false };
}

/** Constant-time comparison; hashing first makes the time independent of the lengths too. */
export function tokensEqual(presented: string, expected: string): boolean {
  const digest = (s: string) => createHash('sha256').update(s).digest();
  return timingSafeEqual(digest(presented), digest(expected));
}
