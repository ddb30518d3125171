import type { ResourceRecord } from './message.js';
import { Name } from './name.js';
import { rdataToText } from './rdata-text.js';
import { RRType, classToString, typeToString } from './rr-type.js';
import { WireError } from './wire-error.js';
import { ZoneFileError } from './zone-file-error.js';
import { parseZoneText } from './zone-file.js';

/**
 * BIND's files for the parent zone: `keyset-ZONE.` holds the zone's DNSKEY RRset
 * (`dnssec-signzone -C`), `dsset-ZONE.` its DS RRset (`dnssec-signzone -g`,
 * `dnssec-dsfromkey`).
 */
export type KeyFileKind = 'keyset' | 'dsset';

export interface KeyFileContents {
  readonly kind: KeyFileKind;
  readonly zone: Name;
  readonly records: ResourceRecord[];
}

export interface KeyFileParseOptions {
  /** Used in error messages, and for the zone when `zone` is not given (`dsset-example.com.`). */
  readonly fileName?: string;
  /** The zone the records must belong to, with or without the trailing dot (always absolute). */
  readonly zone?: Name | string;
  /** TTL of records that give none (dnssec-signzone writes dsset- files without TTLs). Default 3600. */
  readonly defaultTtl?: number;
}

export const DEFAULT_KEY_FILE_TTL = 3600;

const KIND_TYPE: Record<KeyFileKind, number> = { keyset: RRType.DNSKEY, dsset: RRType.DS };

/** `keyset-example.com.` / `dsset-example.com.`, as BIND names them (root: `dsset-.`). */
export function keyFileName(kind: KeyFileKind, zone: Name): string {
  return `${kind}-${zone.toString()}`;
}

/**
 * The kind and zone a key file's name gives (`dsset-example.com.` or `dsset-example.com`,
 * with any directory), or undefined when the name is not of that form.
 */
export function keyFileNameInfo(path: string): { kind: KeyFileKind; zone: Name } | undefined {
  const base = path.slice(Math.max(path.lastIndexOf('/'), path.lastIndexOf('\\')) + 1);
  const m = /^(keyset|dsset)-(.+)$/.exec(base);
  if (!m) return undefined;
  try {
    return { kind: m[1] as KeyFileKind, zone: Name.parse(m[2]!) };
  } catch {
    return undefined;
  }
}

function toZone(zone: Name | string): Name {
  return typeof zone === 'string' ? Name.parse(zone) : zone;
}

/**
 * Parses a keyset- or dsset- file. The text is read as a master file with `$ORIGIN .`, so
 * names are absolute with or without their trailing dot (BIND's keyset- files write
 * `$ORIGIN .` and `example.com`); comments, parentheses, `$TTL` and an omitted TTL or class
 * are accepted. Only DNSKEY (keyset) or DS (dsset) records are allowed, all owned by the
 * zone: `options.zone`, else the zone in the file name, else the first record's owner.
 * Errors are `ZoneFileError`s naming the file and line (line 0: the file has no records).
 */
export function parseKeyFile(kind: KeyFileKind, text: string, options: KeyFileParseOptions = {}): KeyFileContents {
  const fileName = options.fileName ?? `${kind}-file`;
  const expected = KIND_TYPE[kind];
  let zone: Name | undefined;
  try {
    zone = options.zone !== undefined ? toZone(options.zone) : undefined;
  } catch (err) {
    throw new ZoneFileError(fileName, 0, `bad zone name "${String(options.zone)}": ${err instanceof Error ? err.message : String(err)}`);
  }
  if (!zone && options.fileName) {
    const info = keyFileNameInfo(options.fileName);
    if (info?.kind === kind) zone = info.zone;
  }
  const parsed = parseZoneText(text, { origin: Name.root, fileName, defaultTtl: options.defaultTtl ?? DEFAULT_KEY_FILE_TTL });
  parsed.records.forEach((rr, i) => {
    const { line } = parsed.sources[i]!;
    if (rr.type !== expected)
      throw new ZoneFileError(fileName, line, `a ${kind} file holds only ${typeToString(expected)} records, found ${typeToString(rr.type)}`);
    zone ??= rr.name;
    if (!rr.name.equals(zone)) throw new ZoneFileError(fileName, line, `owner ${rr.name.toString()} is not the zone ${zone.toString()}`);
  });
  if (parsed.records.length === 0 || !zone) throw new ZoneFileError(fileName, 0, `no ${typeToString(expected)} records`);
  return { kind, zone, records: parsed.records };
}

export function parseKeysetFile(text: string, options: KeyFileParseOptions = {}): KeyFileContents {
  return parseKeyFile('keyset', text, options);
}

export function parseDssetFile(text: string, options: KeyFileParseOptions = {}): KeyFileContents {
  return parseKeyFile('dsset', text, options);
}

/**
 * Writes a keyset- or dsset- file: one record per line, as `dnssec-dsfromkey -T` prints
 * them (`example.com.\t\t3600\tIN DS 12345 13 2 ABCD…`), digests and keys on one line.
 * All records must be of the kind's type and share one owner.
 */
export function keyFileToText(kind: KeyFileKind, records: readonly ResourceRecord[]): string {
  const expected = KIND_TYPE[kind];
  const owner = records[0]?.name;
  const lines = records.map((rr) => {
    if (rr.type !== expected) throw new WireError('bad-rdata', `a ${kind} file holds only ${typeToString(expected)} records, not ${typeToString(rr.type)}`);
    if (!rr.name.equals(owner!)) throw new WireError('bad-rdata', `${kind} records of two owners: ${owner!.toString()} and ${rr.name.toString()}`);
    return `${rr.name.toString()}\t\t${rr.ttl}\t${classToString(rr.class)} ${typeToString(rr.type)} ${rdataToText(rr.type, rr.rdata)}\n`;
  });
  return lines.join('');
}

export function keysetToText(records: readonly ResourceRecord[]): string {
  return keyFileToText('keyset', records);
}

export function dssetToText(records: readonly ResourceRecord[]): string {
  return keyFileToText('dsset', records);
}
