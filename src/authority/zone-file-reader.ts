import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, isAbsolute, join } from 'node:path';
import type { Name } from '../wire/name.js';
import { ZoneFileError } from '../wire/zone-file-error.js';
import { type IncludeResolver, type ZoneParseOptions, type ZoneParseResult, parseZoneText } from '../wire/zone-file.js';

// Reads zone files for the pure parser of wire/, which does no I/O.

/**
 * Resolves `$INCLUDE` paths against the directory of the including file (absolute paths
 * as given) and reads them as Latin-1, so every byte reaches `Name.parse` unchanged.
 * Note: BIND resolves relative `$INCLUDE` paths against its working directory instead.
 */
export const fileIncludeResolver: IncludeResolver = (path, fromFileName) => {
  const fileName = isAbsolute(path) ? path : join(dirname(fromFileName), path);
  return { text: readFileSync(fileName, 'latin1'), fileName };
};

export type ZoneFileReadOptions = Omit<ZoneParseOptions, 'origin' | 'fileName'>;

/**
 * Reads and parses a zone file (Latin-1, bytes preserved). `$INCLUDE`s are read with
 * `fileIncludeResolver` unless `options.includeResolver` says otherwise. An unreadable
 * file is a `ZoneFileError` with line 0.
 */
export async function readZoneFile(path: string, origin?: Name | string, options: ZoneFileReadOptions = {}): Promise<ZoneParseResult> {
  let text: string;
  try {
    text = await readFile(path, 'latin1');
  } catch (err) {
    throw new ZoneFileError(path, 0, `cannot read the zone file: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  return parseZoneText(text, { includeResolver: fileIncludeResolver, ...options, origin, fileName: path });
}
