import type { Clock } from '../clock.js';
import type { ResourceRecord } from '../wire/message.js';
import type { Name } from '../wire/name.js';
import { MemoryBudget } from './memory-budget.js';
import { packedExpiresAt, prepareEntry, sameBytes, unpackEntry, unpackFields } from './packed-entry.js';
import { PackedStore } from './packed-store.js';
import type { Credibility, SecurityStatus } from './security-status.js';

export interface CacheLimits {
  /** Upper bound of the cache's memory, in bytes of record data and bookkeeping. */
  readonly maxBytes: number;
  readonly minTtl: number;
  readonly maxTtl: number;
  /** RFC 2308 §5 suggests 1–3 hours; Unbound and BIND use 1 hour and 3 hours. */
  readonly maxNegativeTtl: number;
}

/**
 * The limits from the config's `resolver.cache` section (ResolverCacheConfig; its defaults, in
 * config/defaults.ts, are the only ones: tests read them through `defaultConfig()`).
 */
export function cacheLimitsOf(cache: { readonly maxSize: number; readonly minTtl: number; readonly maxTtl: number; readonly maxNegativeTtl: number }): CacheLimits {
  return { maxBytes: cache.maxSize, minTtl: cache.minTtl, maxTtl: cache.maxTtl, maxNegativeTtl: cache.maxNegativeTtl };
}

export interface CachedRrset {
  readonly kind: 'rrset';
  readonly name: Name;
  readonly type: number;
  readonly class: number;
  /** Records with their TTL as received; `ttlAt` gives what remains. */
  readonly records: readonly ResourceRecord[];
  readonly rrsigs: readonly ResourceRecord[];
  /** NSEC/NSEC3 (with RRSIGs) that came with the answer: the proof of a wildcard expansion. */
  readonly proofs: readonly ResourceRecord[];
  readonly credibility: Credibility;
  security: SecurityStatus;
  readonly storedAt: number;
  readonly expiresAt: number;
}

export interface CachedNegative {
  readonly kind: 'nxdomain' | 'nodata';
  readonly name: Name;
  readonly type: number;
  /** The SOA (with its RRSIGs) and denial records (NSEC/NSEC3 with RRSIGs) of the response. */
  readonly authority: readonly ResourceRecord[];
  security: SecurityStatus;
  readonly storedAt: number;
  readonly expiresAt: number;
}

export type CacheEntry = CachedRrset | CachedNegative;

export interface CacheStats {
  readonly entries: number;
  readonly bytes: number;
  readonly maxBytes: number;
  readonly hits: number;
  readonly misses: number;
  /** Entries that did not decode (dropped, never returned). */
  readonly damaged: number;
}

/**
 * A reference to one RRset entry as it was when referred to (kept-answers.ts keeps these instead
 * of a copy of the records): the entry is found again only if it is still the one stored then.
 */
export interface RecordRef {
  readonly name: Name;
  readonly type: number;
  readonly stamp: number;
}

const NXDOMAIN_TYPE = -1;
/** The `kind` byte of a packed entry (packed-entry.ts). */
const KINDS = ['rrset', 'nxdomain', 'nodata'] as const;

function keyOf(name: Name, type: number): string {
  return `${name.key}\u0000${type}`;
}

/**
 * The resolver's memory: RRsets with their signatures, credibility and security status, and
 * negative answers (RFC 2308), bounded in bytes with least-recently-used eviction. TTLs count
 * down on the injected clock; what has expired is never returned. Each entry is kept packed
 * (packed-entry.ts: one buffer of wire bytes) and decoded when asked for; an entry that does not
 * decode is dropped and counted as damaged, never returned.
 */
export class RecordCache {
  private readonly lru: PackedStore;
  private damaged = 0;
  private hits = 0;
  private misses = 0;

  private readonly maxBytes: number;

  /** `budget`: the resolver's shared one (its 'records' share); alone, all of `limits.maxBytes`. */
  constructor(
    private readonly clock: Clock,
    readonly limits: CacheLimits,
    budget: MemoryBudget = MemoryBudget.whole('records', limits.maxBytes),
  ) {
    this.lru = new PackedStore(budget, 'records');
    this.maxBytes = budget.bytesFor('records');
  }

  private clampTtl(ttl: number): number {
    return Math.min(this.limits.maxTtl, Math.max(this.limits.minTtl, ttl));
  }

  /** Stores an RRset unless a live entry of higher credibility is there (RFC 2181 §5.4.1). */
  storeRrset(records: readonly ResourceRecord[], rrsigs: readonly ResourceRecord[], credibility: Credibility, security: SecurityStatus = 'unchecked', proofs: readonly ResourceRecord[] = []): void {
    const first = records[0];
    if (!first) return;
    const key = keyOf(first.name, first.type);
    const now = this.clock.now();
    const existing = this.lru.peek(key);
    if (existing && packedExpiresAt(existing) > now && (unpackFields(existing)?.code ?? 0) > credibility) return;
    const ttl = this.clampTtl(Math.min(...records.map((r) => r.ttl), ...rrsigs.map((r) => r.ttl)));
    const fields = { kind: KINDS.indexOf('rrset'), name: first.name, type: first.type, class: first.class, code: credibility, security, storedAt: now, expiresAt: now + ttl * 1000 };
    // The same records and RRSIGs again (a shared CNAME target, a refresh): answers referring to the entry stay good.
    const previous = existing && unpack(existing);
    const same = previous?.kind === 'rrset' && sameRecords([...previous.records, ...previous.rrsigs], [...records, ...rrsigs]);
    this.lru.set(key, prepareEntry(fields, [records, rrsigs, proofs]), undefined, same ? this.lru.stampOf(key) : undefined);
    // A positive answer ends a cached NXDOMAIN for the name.
    this.lru.delete(keyOf(first.name, NXDOMAIN_TYPE));
  }

  /** Caches a negative answer for `ttl` seconds (the SOA TTL/minimum rule is the caller's). */
  storeNegative(kind: 'nxdomain' | 'nodata', name: Name, type: number, authority: readonly ResourceRecord[], ttl: number, security: SecurityStatus = 'unchecked'): void {
    const now = this.clock.now();
    const seconds = Math.min(this.limits.maxNegativeTtl, this.clampTtl(ttl));
    const fields = { kind: KINDS.indexOf(kind), name, type, class: 1, code: 0, security, storedAt: now, expiresAt: now + seconds * 1000 };
    this.lru.set(keyOf(name, kind === 'nxdomain' ? NXDOMAIN_TYPE : type), prepareEntry(fields, [authority]));
  }

  private live(key: string): CacheEntry | undefined {
    const packed = this.lru.get(key)?.bytes;
    if (!packed) return undefined;
    if (!(packedExpiresAt(packed) > this.clock.now())) {
      this.lru.delete(key);
      return undefined;
    }
    const e = unpack(packed);
    if (!e) {
      this.damaged++;
      this.lru.delete(key);
    }
    return e;
  }

  rrset(name: Name, type: number): CachedRrset | undefined {
    const e = this.live(keyOf(name, type));
    return e?.kind === 'rrset' ? e : undefined;
  }

  /** What the cache knows of name/type: the RRset, a CNAME at the name, or a negative answer. */
  lookup(name: Name, type: number): CacheEntry | undefined {
    const found =
      this.live(keyOf(name, NXDOMAIN_TYPE)) ??
      this.live(keyOf(name, type)) ??
      (type !== 5 ? this.rrset(name, 5) : undefined);
    if (found) this.hits++;
    else this.misses++;
    return found;
  }

  /** Like lookup, without counting a hit or a miss (the iterator's own bookkeeping). */
  peek(name: Name, type: number): CacheEntry | undefined {
    return this.live(keyOf(name, NXDOMAIN_TYPE)) ?? this.live(keyOf(name, type)) ?? (type !== 5 ? this.rrset(name, 5) : undefined);
  }

  /**
   * References to the RRset entries `records` is made of, each entry's records then its RRSIGs
   * in order and exactly as received (TTLs included), all expiring no sooner than `until`; or
   * undefined when any record is not so held. What `referenced` rebuilds is then `records`, byte
   * for byte. Recency is not touched.
   */
  refer(records: readonly ResourceRecord[], until: number): RecordRef[] | undefined {
    const refs: RecordRef[] = [];
    for (let i = 0; i < records.length; ) {
      const r = records[i]!;
      const key = keyOf(r.name, r.type);
      const packed = this.lru.peek(key);
      const stamp = this.lru.stampOf(key);
      if (!packed || stamp === undefined || !(packedExpiresAt(packed) >= until)) return undefined;
      const e = unpack(packed);
      if (e?.kind !== 'rrset') return undefined;
      const held = [...e.records, ...e.rrsigs];
      if (!sameRecords(held, records.slice(i, i + held.length))) return undefined;
      refs.push({ name: r.name, type: r.type, stamp });
      i += held.length;
    }
    return refs;
  }

  /** The records `refer` referred to (each entry marked as used), or undefined when any entry was evicted or replaced since; expiry is the referrer's to judge. */
  referenced(refs: readonly RecordRef[]): ResourceRecord[] | undefined {
    const out: ResourceRecord[] = [];
    for (const ref of refs) {
      const packed = this.lru.getStamped(keyOf(ref.name, ref.type), ref.stamp);
      const e = packed && unpack(packed);
      if (e?.kind !== 'rrset') return undefined;
      out.push(...e.records, ...e.rrsigs);
    }
    return out;
  }

  /** Seconds left for an entry, never below zero. */
  remainingTtl(entry: CacheEntry): number {
    return Math.max(0, Math.floor((entry.expiresAt - this.clock.now()) / 1000));
  }

  /** The records with their TTLs counted down to what remains. */
  withRemainingTtl(records: readonly ResourceRecord[], entry: CacheEntry): ResourceRecord[] {
    const elapsed = Math.floor((this.clock.now() - entry.storedAt) / 1000);
    return records.map((r) => ({ ...r, ttl: Math.max(0, r.ttl - elapsed) }));
  }

  /** Forgets one RRset or negative answer (bogus data, so the next query fetches it again). */
  remove(name: Name, type: number): void {
    this.lru.delete(keyOf(name, type));
    this.lru.delete(keyOf(name, NXDOMAIN_TYPE));
  }

  /** Removes everything at and below `name`, or everything. Returns how many entries went. */
  flush(name?: Name): number {
    if (!name || name.isRoot) {
      const n = this.lru.size;
      this.lru.clear();
      return n;
    }
    let n = 0;
    for (const key of this.lru.keys()) {
      const packed = this.lru.peek(key);
      if (!packed) continue;
      const owner = unpackFields(packed)?.name;
      if (!owner || owner.isSubdomainOf(name)) {
        this.lru.delete(key);
        n++;
      }
    }
    return n;
  }

  stats(): CacheStats {
    return { entries: this.lru.size, bytes: this.lru.bytes, maxBytes: this.maxBytes, hits: this.hits, misses: this.misses, damaged: this.damaged };
  }
}

function unpack(packed: Uint8Array): CacheEntry | undefined {
  const e = unpackEntry(packed);
  const kind = e && KINDS[e.kind];
  if (!e || !kind) return undefined;
  const base = { name: e.name, type: e.type, security: e.security, storedAt: e.storedAt, expiresAt: e.expiresAt };
  if (kind !== 'rrset') return e.sections.length === 1 ? { kind, ...base, authority: e.sections[0]! } : undefined;
  const [records, rrsigs, proofs] = e.sections;
  if (!records?.length || !rrsigs || !proofs || e.sections.length !== 3) return undefined;
  return { kind, ...base, class: e.class, records, rrsigs, proofs, credibility: e.code as Credibility };
}

/** Record for record the same bytes: owner (letter case included), type, class, TTL as received, RDATA. */
function sameRecords(a: readonly ResourceRecord[], b: readonly ResourceRecord[]): boolean {
  return a.length === b.length && a.every((x, i) => {
    const y = b[i]!;
    return x.type === y.type && x.class === y.class && x.ttl === y.ttl && sameBytes(x.name.wire, y.name.wire) && sameBytes(x.rdata, y.rdata);
  });
}
