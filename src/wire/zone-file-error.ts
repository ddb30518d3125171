/**
 * A fault in a zone file or a keyset-/dsset- file, with where it is. `line` is 1-based;
 * 0 means the file as a whole (unreadable, or no records at all) and is left out of the
 * message, which otherwise reads `file:line: reason` as BIND and compilers print it.
 */
export class ZoneFileError extends Error {
  override readonly name = 'ZoneFileError';
  constructor(
    readonly fileName: string,
    readonly line: number,
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(line > 0 ? `${fileName}:${line}: ${reason}` : `${fileName}: ${reason}`, options);
  }
}
