import { createHash } from 'node:crypto';
import type { DocumentType } from '../store/document-store.js';
import { decodeRdata } from '../wire/rdata-codec.js';
import { RRType } from '../wire/rr-type.js';
import { ANCHOR_SOURCE_KINDS, type AnchorSource } from './anchor-source.js';
import { ANCHOR_ORIGINS, ANCHOR_STATES, dnskeyTagWithoutRevoke, dsFields, zoneKey, type Anchor, type TrustPoint } from './trust-point.js';

/**
 * The TrustAnchors store's document (key `trust-anchors` of the store contract, so the file
 * store keeps it as STATEDIR/trust-anchors.json), parsed strictly: every field checked, unknown
 * ones refused, each fault named with its path. Version 3 is the store contract's envelope
 * (src/store/document-envelope.ts) around `{ trustPoints, configImports }`. Files of the two
 * releases before it are read once (`upgrade`) and written back as version 3: version 1 (trust
 * points alone) and version 2 (anchor sources and config imports), each with its own
 * `checksum: "sha256:…"`, which is still checked.
 */

export const TRUST_ANCHORS_KEY = 'trust-anchors';
export const TRUST_ANCHOR_STORE_FILE = `${TRUST_ANCHORS_KEY}.json`;
export const TRUST_ANCHOR_STORE_FORMAT = 'keymaster-trust-anchors';
export const TRUST_ANCHOR_STORE_VERSION = 3;
const LEGACY_VERSIONS = [1, 2];

type Fault = (message: string) => Error;

export class TrustStoreError extends Error {
  override readonly name = 'TrustStoreError';
}

/** A `trustAnchors.import` file as it was when its anchors were imported: the same file unchanged is not imported again. */
export interface ConfigImportRecord {
  readonly file: string;
  /** SHA-256 (hex) of the file's bytes. */
  readonly sha256: string;
  readonly zone: string;
  readonly importedAt: number;
}

export interface TrustAnchorStoreContent {
  readonly trustPoints: TrustPoint[];
  readonly configImports: ConfigImportRecord[];
}

// ------------------------------------------------------------------------------------------
// Serialisation.
// ------------------------------------------------------------------------------------------

const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());
const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64');

function anchorToJson(a: Anchor): Record<string, unknown> {
  return {
    type: a.type,
    keyTag: a.keyTag,
    algorithm: a.algorithm,
    state: a.state,
    since: iso(a.since),
    next: iso(a.next),
    lastSeen: iso(a.lastSeen),
    origin: a.origin,
    validFrom: iso(a.validFrom),
    validUntil: iso(a.validUntil),
    label: a.label,
    source: a.source,
    rdata: b64(a.rdata),
  };
}

function trustPointToJson(tp: TrustPoint): Record<string, unknown> {
  return {
    zone: tp.zone,
    createdAt: iso(tp.createdAt),
    lastRefresh: iso(tp.lastRefresh),
    lastSuccess: iso(tp.lastSuccess),
    nextRefresh: iso(tp.nextRefresh),
    lastResult: tp.lastResult,
    originalTtl: tp.originalTtl,
    expirationInterval: tp.expirationInterval,
    failures: tp.failures,
    anchors: tp.anchors.map(anchorToJson),
  };
}

function checksumOf(body: unknown): string {
  return `sha256:${createHash('sha256').update(JSON.stringify(body)).digest('hex')}`;
}

const byKey = <T>(key: (x: T) => string) => (a: T, b: T) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0);

/** Version 1 summed the trust points alone; version 2 sums them with the config imports. */
function legacyChecksum(version: number, trustPoints: unknown, configImports: unknown): string {
  return checksumOf(version === 1 ? trustPoints : { trustPoints, configImports });
}

/** The document's data (sorted by zone and file, so equal stores give equal documents). */
function encodeContent(content: TrustAnchorStoreContent): unknown {
  const trustPoints = [...content.trustPoints].sort(byKey((tp) => tp.zone)).map(trustPointToJson);
  const configImports = [...content.configImports].sort(byKey((r) => r.file)).map((r) => ({ file: r.file, sha256: r.sha256, zone: r.zone, importedAt: iso(r.importedAt) }));
  return { trustPoints, configImports };
}

// ------------------------------------------------------------------------------------------
// Strict parsing: every field checked, unknown ones refused, each fault named with its path.
// ------------------------------------------------------------------------------------------

class Reader {
  constructor(
    private readonly fault: Fault,
    private readonly path: string,
    private readonly value: Record<string, unknown>,
    allowed: readonly string[],
  ) {
    for (const key of Object.keys(value)) if (!allowed.includes(key)) this.fail(`unknown field "${key}"`);
  }

  fail(message: string, field?: string): never {
    throw this.fault(`${this.path}${field === undefined ? '' : `.${field}`}: ${message}`);
  }

  has(field: string): boolean {
    return this.value[field] !== undefined;
  }

  string(field: string): string {
    const v = this.value[field];
    if (typeof v !== 'string') this.fail(v === undefined ? 'missing' : 'must be a string', field);
    return v;
  }

  int(field: string, min: number, max: number): number {
    const v = this.value[field];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) this.fail(v === undefined ? 'missing' : `must be an integer ${min}..${max}`, field);
    return v;
  }

  time(field: string): number {
    const text = this.string(field);
    const ms = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/.test(text) ? Date.parse(text) : NaN;
    if (Number.isNaN(ms)) this.fail(`"${text}" is not an ISO 8601 UTC time`, field);
    return ms;
  }

  optional<T>(field: string, read: (field: string) => T): T | undefined {
    return this.has(field) ? read(field) : undefined;
  }

  oneOf<T extends string>(field: string, values: readonly T[]): T {
    const text = this.string(field);
    if (!values.includes(text as T)) this.fail(`"${text}" is not one of ${values.join(', ')}`, field);
    return text as T;
  }

  object(field: string): Record<string, unknown> {
    return asObject(this.fault, `${this.path}.${field}`, this.value[field]);
  }

  array(field: string): unknown[] {
    const v = this.value[field];
    if (!Array.isArray(v)) this.fail(v === undefined ? 'missing' : 'must be a list', field);
    return v;
  }
}

function asObject(fault: Fault, path: string, value: unknown): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw fault(`${path}: must be an object`);
  return value as Record<string, unknown>;
}

const ANCHOR_FIELDS = ['type', 'keyTag', 'algorithm', 'state', 'since', 'next', 'lastSeen', 'origin', 'validFrom', 'validUntil', 'label', 'source', 'rdata'];
const TRUST_POINT_FIELDS = ['zone', 'createdAt', 'lastRefresh', 'lastSuccess', 'nextRefresh', 'lastResult', 'originalTtl', 'expirationInterval', 'failures', 'anchors'];

function parseAnchor(fault: Fault, path: string, value: unknown): Anchor {
  const r: Reader = new Reader(fault, path, asObject(fault, path, value), ANCHOR_FIELDS);
  const type = r.oneOf('type', ['DS', 'DNSKEY'] as const);
  const b64text = r.string('rdata');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(b64text)) r.fail('is not base64', 'rdata');
  const rdata = Uint8Array.from(Buffer.from(b64text, 'base64'));
  let keyTag = -1;
  let algorithm = -1;
  try {
    decodeRdata(type === 'DS' ? RRType.DS : RRType.DNSKEY, rdata);
    if (type === 'DS') ({ keyTag, algorithm } = dsFields(rdata));
    else [keyTag, algorithm] = [dnskeyTagWithoutRevoke(rdata), rdata[3]!];
  } catch (error) {
    r.fail(`is not ${type} RDATA: ${(error as Error).message}`, 'rdata');
  }
  if (r.int('keyTag', 0, 0xffff) !== keyTag) r.fail(`${r.int('keyTag', 0, 0xffff)} is not the key tag of the RDATA (${keyTag})`, 'keyTag');
  if (r.int('algorithm', 0, 255) !== algorithm) r.fail(`${r.int('algorithm', 0, 255)} is not the algorithm of the RDATA (${algorithm})`, 'algorithm');
  const state = r.oneOf('state', ANCHOR_STATES);
  if (type === 'DS' && state !== 'Valid') r.fail(`a DS anchor is always Valid, not ${state}`, 'state');
  if ((state === 'AddPend' || state === 'Revoked') && !r.has('next')) r.fail(`an anchor in ${state} needs the time it moves next`, 'next');
  const anchor: Anchor = {
    type,
    rdata,
    keyTag,
    algorithm,
    state,
    since: r.time('since'),
    origin: r.oneOf('origin', ANCHOR_ORIGINS),
  };
  const next = r.optional('next', (f) => r.time(f));
  const lastSeen = r.optional('lastSeen', (f) => r.time(f));
  const validFrom = r.optional('validFrom', (f) => r.time(f));
  const validUntil = r.optional('validUntil', (f) => r.time(f));
  const label = r.optional('label', (f) => r.string(f));
  const source = r.optional('source', (f) => parseSource(fault, `${path}.${f}`, r.object(f)));
  return {
    ...anchor,
    ...(next === undefined ? {} : { next }),
    ...(lastSeen === undefined ? {} : { lastSeen }),
    ...(validFrom === undefined ? {} : { validFrom }),
    ...(validUntil === undefined ? {} : { validUntil }),
    ...(label === undefined ? {} : { label }),
    ...(source === undefined ? {} : { source }),
  };
}

function parseSource(fault: Fault, path: string, value: Record<string, unknown>): AnchorSource {
  const r = new Reader(fault, path, value, ['kind', 'location']);
  const kind = r.oneOf('kind', ANCHOR_SOURCE_KINDS);
  const location = r.optional('location', (f) => r.string(f));
  return location === undefined ? { kind } : { kind, location };
}

function parseConfigImport(fault: Fault, path: string, value: unknown): ConfigImportRecord {
  const r = new Reader(fault, path, asObject(fault, path, value), ['file', 'sha256', 'zone', 'importedAt']);
  const sha256 = r.string('sha256');
  if (!/^[0-9a-f]{64}$/.test(sha256)) r.fail('is not a SHA-256 in hex', 'sha256');
  return { file: r.string('file'), sha256, zone: r.string('zone'), importedAt: r.time('importedAt') };
}

function parseTrustPoint(fault: Fault, path: string, value: unknown): TrustPoint {
  const r: Reader = new Reader(fault, path, asObject(fault, path, value), TRUST_POINT_FIELDS);
  const zoneText = r.string('zone');
  let zone = '';
  try {
    zone = zoneKey(zoneText);
  } catch (error) {
    r.fail(`"${zoneText}" is not a domain name: ${(error as Error).message}`, 'zone');
  }
  if (zone !== zoneText) r.fail(`"${zoneText}" is not in canonical form (${zone})`, 'zone');
  const anchors = r.array('anchors').map((a, i) => parseAnchor(fault, `${path}.anchors[${i}]`, a));
  const opt = <K extends keyof TrustPoint>(key: K, v: TrustPoint[K] | undefined) => (v === undefined ? {} : { [key]: v });
  return {
    zone,
    anchors,
    createdAt: r.time('createdAt'),
    failures: r.int('failures', 0, Number.MAX_SAFE_INTEGER),
    ...opt('lastRefresh', r.optional('lastRefresh', (f) => r.time(f))),
    ...opt('lastSuccess', r.optional('lastSuccess', (f) => r.time(f))),
    ...opt('nextRefresh', r.optional('nextRefresh', (f) => r.time(f))),
    ...opt('lastResult', r.optional('lastResult', (f) => r.string(f))),
    ...opt('originalTtl', r.optional('originalTtl', (f) => r.int(f, 0, 0x7fffffff))),
    ...opt('expirationInterval', r.optional('expirationInterval', (f) => r.int(f, 0, Number.MAX_SAFE_INTEGER))),
  };
}

function parseContent(fault: Fault, trustPoints: unknown[], imports: unknown[]): TrustAnchorStoreContent {
  const points = trustPoints.map((tp, i) => parseTrustPoint(fault, `trustPoints[${i}]`, tp));
  const seen = new Set<string>();
  for (const tp of points) {
    if (seen.has(tp.zone)) throw fault(`trust point ${tp.zone} appears twice`);
    seen.add(tp.zone);
  }
  const configImports = imports.map((c, i) => parseConfigImport(fault, `configImports[${i}]`, c));
  return { trustPoints: points, configImports };
}

/** A version-1 or version-2 file (before the store contract), its own checksum checked; undefined for another version. */
function upgradeLegacy(doc: Record<string, unknown>, fault: Fault): TrustAnchorStoreContent | undefined {
  if (!LEGACY_VERSIONS.includes(doc['version'] as number)) return undefined;
  const r = new Reader(fault, '(top)', doc, ['format', 'version', 'written', 'checksum', 'trustPoints', 'configImports']);
  const version = r.int('version', 1, 2);
  const body = r.array('trustPoints');
  const imports = version === 1 ? [] : r.array('configImports');
  if (version === 1 && r.has('configImports')) r.fail('is not part of version 1', 'configImports');
  const expected = legacyChecksum(version, body, imports);
  if (r.string('checksum') !== expected) r.fail(`does not match the content (${expected}): the file was damaged or edited by hand`, 'checksum');
  return parseContent(fault, body, imports);
}

/** The trust points and config imports as a document of the store contract. */
export const TRUST_ANCHORS_DOCUMENT: DocumentType<TrustAnchorStoreContent> = {
  format: TRUST_ANCHOR_STORE_FORMAT,
  version: TRUST_ANCHOR_STORE_VERSION,
  encode: encodeContent,
  decode(data, fault) {
    const r = new Reader(fault, 'data', asObject(fault, 'data', data), ['trustPoints', 'configImports']);
    return parseContent(fault, r.array('trustPoints'), r.array('configImports'));
  },
  upgrade: upgradeLegacy,
};
