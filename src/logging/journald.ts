import type { DestinationStream } from 'pino';

/** sd-daemon(3) priorities for pino's levels: systemd reads a `<N>` prefix on each stdout line. */
const PRIORITY: Readonly<Record<string, number>> = { fatal: 2, error: 3, warn: 4, info: 6, debug: 7, trace: 7 };

/**
 * True when stdout goes to the journal (systemd sets JOURNAL_STREAM to its device:inode). A
 * redirected stdout (`serve > file`) keeps the variable from the unit but not the inode, and
 * gets plain JSON lines.
 */
export function stdoutIsJournal(env: NodeJS.ProcessEnv = process.env, stdoutIdentity?: string): boolean {
  const stream = env['JOURNAL_STREAM'];
  if (!stream) return false;
  return stdoutIdentity === undefined || stream === stdoutIdentity;
}

/**
 * Each JSON line prefixed with its syslog priority (`<4>{"level":"warn",…}`), so `journalctl -p
 * warning` and the journal's colours work while the line itself stays the JSON that log shippers
 * parse. The level is the first field (the logger's formatter puts it there).
 */
export function journaldStream(out: DestinationStream): DestinationStream {
  return {
    write(line: string): void {
      const level = /^\{"level":"([a-z]+)"/.exec(line)?.[1];
      out.write(`<${PRIORITY[level ?? ''] ?? 6}>${line}`);
    },
  };
}
