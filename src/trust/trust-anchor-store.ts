import { createHash } from 'node:crypto';
import { readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Clock } from '../clock.js';
import type { TrustAnchor, TrustAnchorSource } from '../dnssec/trust-anchor.js';
import { logEvent, type Logger } from '../logging/logger.js';
import { writeFileAtomic } from '../storage/atomic-file.js';
import { Name } from '../wire/name.js';
import { decodeRdata } from '../wire/rdata-codec.js';
import { RRType } from '../wire/rr-type.js';
import {
  ANCHOR_ORIGINS,
  ANCHOR_STATES,
  anchorTrustedAt,
  dnskeyTagWithoutRevoke,
  dsFields,
  zoneKey,
  type Anchor,
  type TrustPoint,
} from './trust-point.js';

/**
 * The TrustAnchors store: every trust point with its anchors and their RFC 5011 state, in one
 * JSON file in the state dir (like Microsoft's TrustAnchors.dns, Unbound's auto-trust-anchor-file
 * or BIND's managed-keys.bind). The file is versioned and carries a SHA-256 of its content, is
 * parsed strictly (a damaged store stops the start: it must never silently turn a key Valid),
 * and is replaced atomically (temp file, fsync, rename, directory fsync) on every change.
 */

export const TRUST_ANCHOR_STORE_FILE = 'trust-anchors.json';
export const TRUST_ANCHOR_STORE_FORMAT = 'keymaster-trust-anchors';
export const TRUST_ANCHOR_STORE_VERSION = 1;

export class TrustStoreError extends Error {
  override readonly name = 'TrustStoreError';
}

export type StoreWriter = (path: string, data: string) => Promise<void>;

export interface TrustAnchorStoreOptions {
  readonly stateDir: string;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Default: writeFileAtomic with mode 0600. Tests inject failures here. */
  readonly writer?: StoreWriter;
  /** First delay before retrying a failed write; doubles up to maxRetryDelayMs. Default 1 s. */
  readonly retryDelayMs?: number;
  readonly maxRetryDelayMs?: number;
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

/** The file's text for these trust points (sorted by zone, so equal stores give equal files). */
export function serializeTrustAnchorStore(trustPoints: readonly TrustPoint[], now: number): string {
  const body = [...trustPoints].sort((a, b) => (a.zone < b.zone ? -1 : a.zone > b.zone ? 1 : 0)).map(trustPointToJson);
  // JSON.stringify drops undefined members; parse the body back so the checksum covers exactly what is written.
  const written = JSON.parse(JSON.stringify(body)) as unknown;
  return `${JSON.stringify(
    { format: TRUST_ANCHOR_STORE_FORMAT, version: TRUST_ANCHOR_STORE_VERSION, written: iso(now), checksum: checksumOf(written), trustPoints: written },
    null,
    1,
  )}\n`;
}

// ------------------------------------------------------------------------------------------
// Strict parsing: every field checked, unknown ones refused, each fault named with its path.
// ------------------------------------------------------------------------------------------

class Reader {
  constructor(
    private readonly file: string,
    private readonly path: string,
    private readonly value: Record<string, unknown>,
    allowed: readonly string[],
  ) {
    for (const key of Object.keys(value)) if (!allowed.includes(key)) this.fail(`unknown field "${key}"`);
  }

  fail(message: string, field?: string): never {
    throw new TrustStoreError(`${this.file}: ${this.path}${field === undefined ? '' : `.${field}`}: ${message}`);
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

  array(field: string): unknown[] {
    const v = this.value[field];
    if (!Array.isArray(v)) this.fail(v === undefined ? 'missing' : 'must be a list', field);
    return v;
  }
}

function asObject(file: string, path: string, value: unknown): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new TrustStoreError(`${file}: ${path}: must be an object`);
  return value as Record<string, unknown>;
}

const ANCHOR_FIELDS = ['type', 'keyTag', 'algorithm', 'state', 'since', 'next', 'lastSeen', 'origin', 'validFrom', 'validUntil', 'label', 'rdata'];
const TRUST_POINT_FIELDS = ['zone', 'createdAt', 'lastRefresh', 'lastSuccess', 'nextRefresh', 'lastResult', 'originalTtl', 'expirationInterval', 'failures', 'anchors'];

function parseAnchor(file: string, path: string, value: unknown): Anchor {
  const r: Reader = new Reader(file, path, asObject(file, path, value), ANCHOR_FIELDS);
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
  return {
    ...anchor,
    ...(next === undefined ? {} : { next }),
    ...(lastSeen === undefined ? {} : { lastSeen }),
    ...(validFrom === undefined ? {} : { validFrom }),
    ...(validUntil === undefined ? {} : { validUntil }),
    ...(label === undefined ? {} : { label }),
  };
}

function parseTrustPoint(file: string, path: string, value: unknown): TrustPoint {
  const r: Reader = new Reader(file, path, asObject(file, path, value), TRUST_POINT_FIELDS);
  const zoneText = r.string('zone');
  let zone = '';
  try {
    zone = zoneKey(zoneText);
  } catch (error) {
    r.fail(`"${zoneText}" is not a domain name: ${(error as Error).message}`, 'zone');
  }
  if (zone !== zoneText) r.fail(`"${zoneText}" is not in canonical form (${zone})`, 'zone');
  const anchors = r.array('anchors').map((a, i) => parseAnchor(file, `${path}.anchors[${i}]`, a));
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

/** Parses the store file's text; throws TrustStoreError naming `file` and the fault. */
export function parseTrustAnchorStore(text: string, file: string): TrustPoint[] {
  if (text.trim() === '') throw new TrustStoreError(`${file}: the file is empty (truncated?); restore it from a backup or remove it to bootstrap again`);
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (error) {
    throw new TrustStoreError(`${file}: not valid JSON (truncated or damaged): ${(error as Error).message}`);
  }
  const r = new Reader(file, '(top)', asObject(file, '(top)', doc), ['format', 'version', 'written', 'checksum', 'trustPoints']);
  if (r.string('format') !== TRUST_ANCHOR_STORE_FORMAT) r.fail(`is not "${TRUST_ANCHOR_STORE_FORMAT}": not a Keymaster trust anchor store`, 'format');
  const version = r.int('version', 0, 1_000_000);
  if (version !== TRUST_ANCHOR_STORE_VERSION) r.fail(`${version} is not supported (this Keymaster reads version ${TRUST_ANCHOR_STORE_VERSION})`, 'version');
  const body = r.array('trustPoints');
  const checksum = r.string('checksum');
  if (checksum !== checksumOf(body)) r.fail(`does not match the content (${checksumOf(body)}): the file was damaged or edited by hand`, 'checksum');
  const points = body.map((tp, i) => parseTrustPoint(file, `trustPoints[${i}]`, tp));
  const seen = new Set<string>();
  for (const tp of points) {
    if (seen.has(tp.zone)) throw new TrustStoreError(`${file}: trust point ${tp.zone} appears twice`);
    seen.add(tp.zone);
  }
  return points;
}

// ------------------------------------------------------------------------------------------
// The store.
// ------------------------------------------------------------------------------------------

export class TrustAnchorStore implements TrustAnchorSource {
  readonly path: string;
  private readonly points = new Map<string, TrustPoint>();
  private readonly writer: StoreWriter;
  private version = 0;
  private writtenVersion = 0;
  private writing: Promise<void> | undefined;
  private closed = false;
  private cache: { version: number; until: number; anchors: readonly TrustAnchor[] } | undefined;

  private constructor(
    private readonly options: TrustAnchorStoreOptions,
    /** Whether a store file existed at open (false: first start, the root may be bootstrapped). */
    readonly existed: boolean,
    points: readonly TrustPoint[],
  ) {
    this.path = join(options.stateDir, TRUST_ANCHOR_STORE_FILE);
    this.writer = options.writer ?? ((path, data) => writeFileAtomic(path, data, 0o600));
    for (const tp of points) this.points.set(tp.zone, tp);
  }

  /** Reads STATEDIR/trust-anchors.json (absent: an empty store). Throws TrustStoreError when it is damaged. */
  static async open(options: TrustAnchorStoreOptions): Promise<TrustAnchorStore> {
    const path = join(options.stateDir, TRUST_ANCHOR_STORE_FILE);
    let text: string | undefined;
    try {
      text = await readFile(path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw new TrustStoreError(`${path}: cannot read: ${(error as Error).message}`);
    }
    await removeStaleTempFiles(options.stateDir, options.logger);
    const points = text === undefined ? [] : parseTrustAnchorStore(text, path);
    return new TrustAnchorStore(options, text !== undefined, points);
  }

  list(): TrustPoint[] {
    return [...this.points.values()].sort((a, b) => (a.zone < b.zone ? -1 : a.zone > b.zone ? 1 : 0));
  }

  get(zone: Name | string): TrustPoint | undefined {
    return this.points.get(zoneKey(zone));
  }

  /** Adds or replaces a trust point and writes the store (in the background; see flush). */
  put(tp: TrustPoint): void {
    this.points.set(tp.zone, tp);
    this.changed();
  }

  remove(zone: Name | string): boolean {
    const removed = this.points.delete(zoneKey(zone));
    if (removed) this.changed();
    return removed;
  }

  /** Writes the store even when nothing changed (first start: the file then exists, so the root is bootstrapped once). */
  save(): void {
    this.changed();
  }

  /** TrustAnchorSource: the anchors the validator may trust now (Valid/Missing DNSKEYs, DS in their window). */
  anchors(): readonly TrustAnchor[] {
    const now = this.options.clock.now();
    if (this.cache && this.cache.version === this.version && now < this.cache.until) return this.cache.anchors;
    const anchors: TrustAnchor[] = [];
    let until = Number.POSITIVE_INFINITY;
    for (const tp of this.list()) {
      const trusted = tp.anchors.filter((a) => anchorTrustedAt(a, now));
      for (const a of tp.anchors) {
        if (a.validFrom !== undefined && a.validFrom > now) until = Math.min(until, a.validFrom);
        if (a.validUntil !== undefined && a.validUntil > now) until = Math.min(until, a.validUntil);
      }
      // A trust point with nothing trusted now (keys in AddPend, all DS outside their window) stays
      // in the list with no keys: the validator fails closed under it rather than treating the
      // zone as unsigned. RFC 5011 §5's all-revoked case deletes the trust point instead.
      anchors.push({
        zone: Name.parse(tp.zone),
        ds: trusted.filter((a) => a.type === 'DS').map((a) => a.rdata),
        dnskey: trusted.filter((a) => a.type === 'DNSKEY').map((a) => a.rdata),
      });
    }
    this.cache = { version: this.version, until, anchors };
    return anchors;
  }

  /** Resolves once everything changed so far is on disk (it keeps retrying failed writes). */
  async flush(): Promise<void> {
    while (this.writtenVersion < this.version && !this.closed) await (this.writing ?? this.startWriting());
  }

  /** Writes what is pending (one attempt if writes are failing), then stops retrying. */
  async close(): Promise<void> {
    if (this.writing) await this.writing.catch(() => {});
    if (this.writtenVersion < this.version) await this.writeOnce().catch(() => {});
    this.closed = true;
  }

  private changed(): void {
    this.version++;
    this.cache = undefined;
    if (!this.writing && !this.closed) void this.startWriting();
  }

  private startWriting(): Promise<void> {
    this.writing = this.writeLoop().finally(() => {
      this.writing = undefined;
    });
    return this.writing;
  }

  private async writeOnce(): Promise<void> {
    const version = this.version;
    await this.writer(this.path, serializeTrustAnchorStore(this.list(), this.options.clock.now()));
    this.writtenVersion = Math.max(this.writtenVersion, version);
  }

  /** Writes until the file holds the latest version; a failure is logged and retried with backoff, never thrown. */
  private async writeLoop(): Promise<void> {
    const first = this.options.retryDelayMs ?? 1000;
    const max = this.options.maxRetryDelayMs ?? 60_000;
    let delay = first;
    let failures = 0;
    while (this.writtenVersion < this.version && !this.closed) {
      try {
        await this.writeOnce();
        if (failures > 0) logEvent(this.options.logger, 'trust-store.write-recovered', { path: this.path, failures }, { msg: 'trust anchor store written after failures' });
        failures = 0;
        delay = first;
      } catch (error) {
        failures++;
        logEvent(
          this.options.logger,
          'trust-store.write-failed',
          { path: this.path, err: (error as Error).message, failures, retryInMs: delay },
          { level: 'error', msg: 'cannot write the trust anchor store; will retry' },
        );
        await new Promise((resolve) => setTimeout(resolve, delay).unref());
        delay = Math.min(max, delay * 2);
      }
    }
  }
}

/** Temp files a crash left beside the store (writeFileAtomic names them `.trust-anchors.json.PID.RANDOM.tmp`). */
async function removeStaleTempFiles(stateDir: string, logger: Logger): Promise<void> {
  let names: string[];
  try {
    names = await readdir(stateDir);
  } catch {
    return;
  }
  for (const name of names) {
    if (!name.startsWith(`.${TRUST_ANCHOR_STORE_FILE}.`) || !name.endsWith('.tmp')) continue;
    await rm(join(stateDir, name), { force: true });
    logEvent(logger, 'trust-store.temp-removed', { path: join(stateDir, name) }, { level: 'debug' });
  }
}
