import type { ResourceRecord } from './message.js';
import { Name } from './name.js';
import { decodeRdata, rdataNames } from './rdata-codec.js';
import { type TextToken, rdataFromText, rdataToText } from './rdata-text.js';
import { RRClass, RRType, classToString, isMetaType, tryParseClass, tryParseType, typeToString } from './rr-type.js';
import { parseTtl } from './text-encoding.js';
import { ZoneFileError } from './zone-file-error.js';
import { type ZoneEntry, zoneEntries } from './zone-tokenizer.js';

/** The text of an `$INCLUDE`d file and the name to report and to resolve its own includes by. */
export interface IncludedFile {
  readonly text: string;
  readonly fileName: string;
}

/**
 * Finds the file an `$INCLUDE` names. `fromFileName` is the including file, so relative
 * paths can be resolved against it. Throwing reports the error at the `$INCLUDE` line.
 */
export type IncludeResolver = (path: string, fromFileName: string) => IncludedFile;

export interface ZoneParseOptions {
  /** The initial `$ORIGIN`. Without one, relative names are errors until a `$ORIGIN`. */
  readonly origin?: Name | string;
  /** Used in error messages and passed to the include resolver. Default `<zone>`. */
  readonly fileName?: string;
  /** An initial `$TTL`: the TTL of records that give none, until a `$TTL` changes it. */
  readonly defaultTtl?: number;
  /** The zone's class; records of another class are errors. Default: the first record's, else IN. */
  readonly class?: number;
  /** Reads `$INCLUDE` files. Without it `$INCLUDE` is an error. */
  readonly includeResolver?: IncludeResolver;
  /** How deep `$INCLUDE`s may nest (the top file is depth 0). Default 16. */
  readonly maxIncludeDepth?: number;
}

/** Where a record came from, for messages about it after parsing. */
export interface ZoneRecordSource {
  readonly fileName: string;
  readonly line: number;
}

export interface ZoneParseResult {
  readonly records: ResourceRecord[];
  /** `sources[i]` is where `records[i]` was written. */
  readonly sources: ZoneRecordSource[];
  /** The `$ORIGIN` in effect at the end of the top file. */
  readonly origin: Name | undefined;
  /** The `$TTL` in effect at the end (or the SOA minimum that stood in for it). */
  readonly defaultTtl: number | undefined;
}

export const DEFAULT_MAX_INCLUDE_DEPTH = 16;

/** RFC 2181 §8: TTLs are unsigned 31-bit. */
const MAX_TTL = 0x7fffffff;

/**
 * Completes relative names when the file has no origin, so they can be found and reported
 * instead of silently read as absolute. No real zone has a top-level label of these bytes.
 */
const NO_ORIGIN = Name.fromLabels([Uint8Array.of(0x00, 0x2f, 0x00)]);

/** State shared by the top file and everything it includes (BIND: `$TTL` carries over). */
interface LoadState {
  readonly records: ResourceRecord[];
  readonly sources: ZoneRecordSource[];
  readonly resolver: IncludeResolver | undefined;
  readonly maxDepth: number;
  defaultTtl: number | undefined;
  lastTtl: number | undefined;
  zoneClass: number | undefined;
}

/** State of one file: `$ORIGIN` and the previous owner are restored after an `$INCLUDE`. */
interface FileState {
  readonly fileName: string;
  /** Files from the top one down to this one, for loop detection. */
  readonly chain: readonly string[];
  origin: Name | undefined;
  owner: Name | undefined;
}

function errorReason(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * Parses an RFC 1035 §5 master file. Supported: `$ORIGIN`, `$TTL`, `$INCLUDE file [origin]`,
 * `@`, relative names, an omitted owner (a line starting with a blank repeats the previous
 * owner, also into and out of an `$INCLUDE`, as BIND does), TTL and class in either order
 * and each optional, BIND TTL units (`1h30m`), parentheses, comments, quoted strings,
 * `TYPEnnn`/`CLASSnnn` and RFC 3597 `\#` RDATA.
 *
 * An omitted TTL follows BIND: the `$TTL` in effect; else the TTL of the previous record
 * (RFC 1035 semantics); else, for an SOA, its MINIMUM field, which then also serves as
 * `$TTL` (RFC 2308 §4 would reject it; BIND accepts it with a warning); else an error.
 *
 * Records are returned as written: RRsets with mixed TTLs, records outside the origin and
 * CNAMEs beside other data are left for the zone loader to judge. `$GENERATE` is not
 * supported. Every error is a `ZoneFileError` naming the file and line.
 */
export function parseZoneText(text: string, options: ZoneParseOptions = {}): ZoneParseResult {
  const fileName = options.fileName ?? '<zone>';
  let origin: Name | undefined;
  try {
    origin = typeof options.origin === 'string' ? Name.parse(options.origin) : options.origin;
  } catch (err) {
    throw new ZoneFileError(fileName, 0, `bad origin "${String(options.origin)}": ${errorReason(err)}`);
  }
  if (options.defaultTtl !== undefined && !(Number.isInteger(options.defaultTtl) && options.defaultTtl >= 0 && options.defaultTtl <= MAX_TTL))
    throw new RangeError(`defaultTtl ${options.defaultTtl} is not a TTL`);
  const state: LoadState = {
    records: [],
    sources: [],
    resolver: options.includeResolver,
    maxDepth: options.maxIncludeDepth ?? DEFAULT_MAX_INCLUDE_DEPTH,
    defaultTtl: options.defaultTtl,
    lastTtl: undefined,
    zoneClass: options.class,
  };
  const top: FileState = { fileName, chain: [fileName], origin, owner: undefined };
  parseFile(text, top, state);
  return { records: state.records, sources: state.sources, origin: top.origin, defaultTtl: state.defaultTtl };
}

function parseFile(text: string, file: FileState, state: LoadState): void {
  for (const entry of zoneEntries(text, file.fileName)) {
    const first = entry.tokens[0]!;
    if (!entry.ownerOmitted && !first.quoted && first.text.startsWith('$')) directive(entry, file, state);
    else record(entry, file, state);
  }
}

function parseName(text: string, file: FileState, line: number, what: string): Name {
  let name: Name;
  try {
    name = Name.parse(text, file.origin ?? NO_ORIGIN);
  } catch (err) {
    throw new ZoneFileError(file.fileName, line, `bad ${what} "${text}": ${errorReason(err)}`);
  }
  if (!file.origin && name.isSubdomainOf(NO_ORIGIN))
    throw new ZoneFileError(file.fileName, line, `${what} "${text}" is relative but no origin is set (use $ORIGIN or an absolute name)`);
  return name;
}

function parseTtlToken(text: string, fileName: string, line: number): number {
  let ttl: number;
  try {
    ttl = parseTtl(text);
  } catch {
    throw new ZoneFileError(fileName, line, `bad TTL "${text}"`);
  }
  if (ttl > MAX_TTL) throw new ZoneFileError(fileName, line, `TTL ${text} is above ${MAX_TTL} (RFC 2181 §8)`);
  return ttl;
}

function directive(entry: ZoneEntry, file: FileState, state: LoadState): void {
  const [head, ...args] = entry.tokens;
  const name = head!.text.toUpperCase();
  const fail = (reason: string): never => {
    throw new ZoneFileError(file.fileName, entry.line, reason);
  };
  switch (name) {
    case '$ORIGIN':
      if (args.length !== 1) fail(`$ORIGIN takes one name, found ${args.length} arguments`);
      file.origin = parseName(args[0]!.text, file, entry.line, '$ORIGIN');
      return;
    case '$TTL':
      if (args.length !== 1) fail(`$TTL takes one TTL, found ${args.length} arguments`);
      state.defaultTtl = parseTtlToken(args[0]!.text, file.fileName, entry.line);
      return;
    case '$INCLUDE':
      return include(entry, args, file, state);
    case '$GENERATE':
      return fail('$GENERATE is not supported');
    default:
      return fail(`unknown directive "${head!.text}"`);
  }
}

function include(entry: ZoneEntry, args: readonly TextToken[], file: FileState, state: LoadState): void {
  const fail = (reason: string): never => {
    throw new ZoneFileError(file.fileName, entry.line, reason);
  };
  if (args.length < 1 || args.length > 2) fail(`$INCLUDE takes a file name and an optional origin, found ${args.length} arguments`);
  if (!state.resolver) fail('$INCLUDE is not allowed here');
  const origin = args[1] ? parseName(args[1].text, file, entry.line, '$INCLUDE origin') : file.origin;
  if (file.chain.length > state.maxDepth) fail(`$INCLUDE nested deeper than ${state.maxDepth} files`);
  let included: IncludedFile;
  try {
    included = state.resolver!(args[0]!.text, file.fileName);
  } catch (err) {
    if (err instanceof ZoneFileError) throw err;
    return fail(`cannot read $INCLUDE file "${args[0]!.text}": ${errorReason(err)}`);
  }
  if (file.chain.includes(included.fileName)) fail(`$INCLUDE loop: ${[...file.chain, included.fileName].join(' -> ')}`);
  const child: FileState = {
    fileName: included.fileName,
    chain: [...file.chain, included.fileName],
    origin,
    owner: file.owner,
  };
  parseFile(included.text, child, state);
}

function record(entry: ZoneEntry, file: FileState, state: LoadState): void {
  const { tokens, line } = entry;
  const fail = (reason: string): never => {
    throw new ZoneFileError(file.fileName, line, reason);
  };
  let at = 0;
  let owner: Name;
  if (entry.ownerOmitted) {
    if (!file.owner) fail('no owner name: the line starts with a blank but no record came before it');
    owner = file.owner!;
  } else {
    owner = parseName(tokens[0]!.text, file, line, 'owner name');
    at = 1;
  }
  file.owner = owner;

  let ttl: number | undefined;
  let cls: number | undefined;
  for (; at < tokens.length; at++) {
    const t = tokens[at]!;
    if (t.quoted) break;
    if (ttl === undefined && /^[0-9]/.test(t.text)) ttl = parseTtlToken(t.text, file.fileName, line);
    else if (cls === undefined && tryParseClass(t.text) !== undefined) cls = tryParseClass(t.text);
    else break;
  }
  const typeToken = tokens[at];
  if (!typeToken) fail('missing RR type');
  const type = typeToken!.quoted ? undefined : tryParseType(typeToken!.text);
  if (type === undefined) return fail(`unknown RR type "${typeToken!.text}"`);
  if (isMetaType(type)) fail(`${typeToString(type)} is a meta-type and cannot be in a zone file`);

  const zoneClass = state.zoneClass ?? cls ?? RRClass.IN;
  state.zoneClass = zoneClass;
  if (cls !== undefined && cls !== zoneClass)
    fail(`class ${classToString(cls)} does not match the zone's class ${classToString(zoneClass)}`);

  let rdata: Uint8Array;
  try {
    rdata = rdataFromText(type, tokens.slice(at + 1), file.origin ?? NO_ORIGIN);
  } catch (err) {
    return fail(`bad ${typeToString(type)} RDATA: ${errorReason(err)}`);
  }
  if (!file.origin) {
    const relative = rdataNames(type, rdata).find((n) => n.name.isSubdomainOf(NO_ORIGIN));
    if (relative) fail(`a name in the ${typeToString(type)} RDATA is relative but no origin is set (use $ORIGIN or absolute names)`);
  }

  if (ttl === undefined) {
    if (state.defaultTtl !== undefined) ttl = state.defaultTtl;
    else if (state.lastTtl !== undefined) ttl = state.lastTtl;
    else if (type === RRType.SOA) {
      ttl = Math.min(decodeRdata(type, rdata)['minimum'] as number, MAX_TTL);
      state.defaultTtl = ttl;
    } else fail('no TTL given and no $TTL in effect (give a TTL or a $TTL before the first record)');
  }
  state.lastTtl = ttl;
  state.records.push({ name: owner, type, class: zoneClass, ttl: ttl!, rdata });
  state.sources.push({ fileName: file.fileName, line });
}

export interface ZoneTextOptions {
  /** Write a `$TTL` line with this value (default: the first record's TTL). `false` for none. */
  readonly defaultTtl?: number | false;
}

/**
 * Writes records as a master file that `parseZoneText` and BIND's named-checkzone read back
 * to the same records: `$ORIGIN`, `$TTL`, then one record per line with owner names relative
 * to `origin`, explicit TTL and class, and RDATA as `rdataToText` writes it (RFC 3597 `\#`
 * for types without a schema). The origin's SOA comes first; other records keep their order.
 */
export function zoneToText(records: readonly ResourceRecord[], origin: Name, options: ZoneTextOptions = {}): string {
  const soaIndex = records.findIndex((r) => r.type === RRType.SOA && r.name.equals(origin));
  const ordered = soaIndex < 0 ? records : [records[soaIndex]!, ...records.filter((_, i) => i !== soaIndex)];
  const lines = [`$ORIGIN ${origin.toString()}`];
  const defaultTtl = options.defaultTtl ?? ordered[0]?.ttl;
  if (defaultTtl !== undefined && defaultTtl !== false) lines.push(`$TTL ${defaultTtl}`);
  for (const rr of ordered) {
    lines.push(`${rr.name.toRelativeString(origin)}\t${rr.ttl}\t${classToString(rr.class)}\t${typeToString(rr.type)}\t${rdataToText(rr.type, rr.rdata)}`);
  }
  return lines.join('\n') + '\n';
}
