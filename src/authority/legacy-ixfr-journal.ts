import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Name } from '../wire/name.js';
import { zoneDirectoryName } from './key-store.js';

/**
 * The IXFR history as releases before the store contract kept it: `STATEDIR/journal/ZONE.ixfr`,
 * a header line (`{ "ixfr": 1, "zone", "tie", "signed" }`), then one JSON line per version. Read
 * once (ixfr-journal.ts stores what it holds), then removed.
 */
export function legacyIxfrPath(dir: string, zone: Name): string {
  return join(dir, `${zoneDirectoryName(zone)}.ixfr`);
}

/** The version lines of a history made from `tie`, up to a line a crash tore; undefined when there is none or it was made from something else. */
export async function readLegacyIxfrLines(dir: string, zone: Name, tie: string): Promise<string[] | undefined> {
  const text = await readFile(legacyIxfrPath(dir, zone), 'utf8').catch(() => undefined);
  if (text === undefined) return undefined;
  const lines = text.split('\n');
  try {
    const header = JSON.parse(lines[0] ?? '') as { ixfr?: unknown; tie?: unknown };
    if (header.ixfr !== 1 || header.tie !== tie) return undefined;
  } catch {
    return undefined;
  }
  const out: string[] = [];
  for (const line of lines.slice(1)) {
    if (line === '') continue;
    try {
      JSON.parse(line);
    } catch {
      break; // a line torn by a crash: the history ends before it
    }
    out.push(line);
  }
  return out;
}

/** Whether the zone was served signed when the file was last written. */
export async function legacyIxfrSigned(dir: string, zone: Name): Promise<boolean | undefined> {
  const text = await readFile(legacyIxfrPath(dir, zone), 'utf8').catch(() => undefined);
  if (text === undefined) return undefined;
  for (const l of text.split('\n').filter((x) => x !== '').reverse()) {
    try {
      const signed = (JSON.parse(l) as { signed?: boolean }).signed;
      if (signed !== undefined) return signed;
    } catch {
      // a torn last line
    }
  }
  return undefined;
}

export async function removeLegacyIxfr(dir: string, zone: Name): Promise<void> {
  await rm(legacyIxfrPath(dir, zone), { force: true });
}
