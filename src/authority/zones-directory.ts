import { readFileSync, realpathSync } from 'node:fs';
import { mkdir, readFile, realpath } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import type { Name } from '../wire/name.js';
import { ZoneFileError } from '../wire/zone-file-error.js';
import { type IncludeResolver, type ZoneParseResult, parseZoneText } from '../wire/zone-file.js';

/**
 * The one directory `zone add --file` reads zone files from (`authority.zonesDir`, default
 * STATEDIR/zones). A control client names a file and the server, which can read its own
 * control token, its keys and /proc/self/environ, would otherwise read it for them and, on a
 * parse error, quote the offending line back. So a file (and every `$INCLUDE` in it) must be,
 * after symbolic links are followed, inside this directory, and a parse error says the file,
 * the line and what kind of fault, never the text.
 */
export class ZonesDirectoryError extends Error {
  override readonly name = 'ZonesDirectoryError';
}

function inside(dir: string, path: string): boolean {
  const r = relative(dir, path);
  return r !== '' && !r.startsWith(`..${sep}`) && r !== '..' && !isAbsolute(r);
}

export class ZonesDirectory {
  constructor(
    readonly dir: string,
    /** The state directory (keys, control token): never read from, even when the zones directory is set around it. */
    private readonly stateDir?: string,
  ) {}

  /** Creates the directory when it is missing (0750: the operator's group may put zone files there). */
  async ensure(): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o750 });
  }

  /** The real path of `file` (relative names are in the directory) if it is a file inside the directory; else ZonesDirectoryError. */
  async locate(file: string): Promise<string> {
    const wanted = resolve(this.dir, file);
    let real: string;
    let dir: string;
    try {
      dir = await realpath(this.dir);
    } catch {
      throw new ZonesDirectoryError(`the zones directory ${this.dir} does not exist: zone files for zone add go there (authority.zonesDir)`);
    }
    try {
      real = await realpath(wanted);
    } catch {
      throw new ZonesDirectoryError(`${wanted}: no such zone file in ${this.dir}`);
    }
    if (!inside(dir, real)) throw new ZonesDirectoryError(`${wanted} is not in the zones directory ${this.dir} (authority.zonesDir): zone add reads zone files from there only`);
    this.checkNotState(real, dir, wanted);
    return real;
  }

  private checkNotState(real: string, dir: string, wanted: string): void {
    if (!this.stateDir) return;
    let state: string;
    try {
      state = realpathSync(this.stateDir);
    } catch {
      return;
    }
    if ((inside(state, real) || real === state) && !inside(state, dir)) throw new ZonesDirectoryError(`${wanted} is in the state directory ${this.stateDir} (keys, control token): zone add never reads from there`);
  }

  /** Reads and parses a zone file inside the directory; `$INCLUDE`s must be inside it too. Errors never quote the file. */
  async read(file: string, origin: Name): Promise<{ path: string; parsed: ZoneParseResult }> {
    const path = await this.locate(file);
    const dir = realpathSync(this.dir);
    const includeResolver: IncludeResolver = (include, from) => {
      const target = isAbsolute(include) ? include : join(resolve(from, '..'), include);
      let real: string;
      try {
        real = realpathSync(target);
      } catch {
        throw new Error(`cannot read the $INCLUDE file ${target}`);
      }
      if (!inside(dir, real)) throw new Error(`$INCLUDE of ${target}, which is not in the zones directory ${this.dir}`);
      this.checkNotState(real, dir, target);
      return { text: readFileSync(real, 'latin1'), fileName: real };
    };
    let text: string;
    try {
      text = await readFile(path, 'latin1');
    } catch (error) {
      throw new ZoneFileError(path, 0, `cannot read the zone file (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
    }
    try {
      return { path, parsed: parseZoneText(text, { includeResolver, origin, fileName: path }) };
    } catch (error) {
      if (error instanceof ZoneFileError) throw new ZoneFileError(error.fileName, error.line, contentFree(error.reason));
      throw error;
    }
  }
}

/** A parse error's kind without the text it quotes (`bad owner "…"` keeps `bad owner`). */
function contentFree(reason: string): string {
  if (reason.startsWith('cannot read $INCLUDE file')) return reason; // our own words: the path and why it was refused
  const quote = reason.indexOf('"');
  const kind = (quote < 0 ? reason.split(':')[0]! : reason.slice(0, quote)).trim();
  return `${kind || 'not a zone file line'} (the line is not repeated here)`;
}

