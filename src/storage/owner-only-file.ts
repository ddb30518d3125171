import { statSync } from 'node:fs';

/** Refuses a secret's file (a KEK, a token PIN) that group or others may read or write, naming it, as ssh refuses a loose private key. */
export function requireOwnerOnly(path: string, what: string): void {
  let mode: number;
  try {
    mode = statSync(path).mode;
  } catch (error) {
    throw new Error(`${path}: ${what} cannot be read: ${(error as Error).message}`);
  }
  if ((mode & 0o077) !== 0) throw new Error(`${path}: ${what} is readable or writable by group or others (mode ${(mode & 0o777).toString(8)}); chmod 600 it`);
}
