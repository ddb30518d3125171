import { LRUCache } from 'lru-cache';
import type { ResourceRecord } from '../wire/message.js';

/**
 * The stores the resolver keeps, each charged in bytes against one share of
 * `resolver.cache.maxSize`:
 * - records: RRsets and negative answers (record-cache.ts), what every other store is rebuilt from;
 * - responses: encoded answers (response-cache.ts), the fast path of cache hits;
 * - validated: answers with their DNSSEC verdict (resolver.ts), so hits cost no signature checks,
 *   kept past their TTL up to resolver.serveStale.maxStale (docs/cache.md);
 * - signatures: the memo of signature checks that passed (resolver.ts);
 * - keys: chain-of-trust key state per zone cut (chain-of-trust.ts);
 * - denial: validated NSEC/NSEC3 ranges that answer without asking upstream (aggressive-nsec-cache.ts, RFC 8198);
 * - inFlight: upstream queries waiting for an answer (in-flight-limiter.ts).
 */
export type BudgetPart = 'records' | 'responses' | 'validated' | 'signatures' | 'keys' | 'inFlight' | 'denial';

/**
 * How the budget is split. Records get the largest share: they are the data, the other caches are
 * shortcuts over it (a response or verdict evicted is rebuilt from records without a network
 * query). Encoded answers and verdicts each duplicate part of it; key state and the signature memo
 * are small per zone. In-flight queries cost ~10 KiB each resident (a socket apiece): their share
 * sets how many may wait at once (in-flight-limiter.ts), 10% of 128 MiB affording ~1,300.
 */
export const BUDGET_SHARES: Readonly<Record<BudgetPart, number>> = {
  records: 0.4,
  responses: 0.2,
  validated: 0.15,
  signatures: 0.05,
  keys: 0.05,
  inFlight: 0.1,
  denial: 0.05,
};

/**
 * An entry larger than this fraction of its share is not kept: a 60 KB answer from a zone an
 * attacker runs would otherwise flush a small cache with a handful of entries.
 */
export const MAX_ENTRY_FRACTION = 1 / 64;

/*
 * Resident costs of the things the stores hold, measured with `npm run bench:cache-costs`
 * (bench/cache-entry-costs.ts: heapUsed + arrayBuffers per entry at 100k entries, Node 20, x64). A record
 * is its object, its name's Uint8Array (a separate ArrayBuffer: ~96 bytes of V8 bookkeeping
 * before the first byte) and a view on the shared RDATA buffer; an entry is the LRU node, its
 * key string and the entry object.
 */
/** One LRU entry: its key string, map slot, list links and the entry object. */
export const ENTRY_COST = 360;
/** A Name an entry holds: the object, its wire buffer (besides its bytes) and its cached key string. */
export const NAME_COST = 180;
/** One ResourceRecord in an entry, besides its owner Name (NAME_COST: each decoded record has its own) and RDATA. */
export const RECORD_COST = 190;
/** One separately allocated Uint8Array (its own ArrayBuffer), besides its bytes. */
export const BUFFER_COST = 120;

/** Resident bytes of records as the stores keep them (names and RDATA copied out of the packet). */
export function recordsCost(records: readonly ResourceRecord[]): number {
  if (records.length === 0) return 0;
  let n = BUFFER_COST; // the one RDATA buffer compactRecords allocates for them
  for (const r of records) n += RECORD_COST + NAME_COST + r.name.wire.length + r.rdata.length;
  return n;
}

/** Resident bytes of a string (one-byte strings are the common case; two-byte ones cost double). */
export function stringCost(s: string): number {
  return 24 + s.length * 2;
}

/**
 * Copies the RDATA of records into one buffer of their own: decoded RDATA is a view into the
 * whole response packet, which a kept record would otherwise hold alive (a 60 KB packet for a
 * 4-byte A record).
 */
export function compactRecords(records: readonly ResourceRecord[]): ResourceRecord[] {
  if (records.length === 0) return [];
  const total = records.reduce((n, r) => n + r.rdata.length, 0);
  const buffer = new Uint8Array(total);
  let pos = 0;
  return records.map((r) => {
    buffer.set(r.rdata, pos);
    const rdata = buffer.subarray(pos, pos + r.rdata.length);
    pos += r.rdata.length;
    return { name: r.name, type: r.type, class: r.class, ttl: r.ttl, rdata };
  });
}

export interface PartUsage {
  readonly bytes: number;
  readonly maxBytes: number;
  readonly entries: number;
}

interface Charged {
  readonly bytes: () => number;
  readonly entries: () => number;
}

/**
 * One memory budget for everything the resolver keeps: each store gets a byte-sized LRU (or, for
 * in-flight state, a byte figure) from its share, and `usage()` adds them all up, so `status`
 * shows where the memory is and the total never exceeds `maxBytes`.
 */
export class MemoryBudget {
  private readonly charged = new Map<BudgetPart, Charged[]>();

  constructor(
    readonly maxBytes: number,
    private readonly shares: Readonly<Record<BudgetPart, number>> = BUDGET_SHARES,
  ) {}

  /** A budget where one part gets everything (a store used on its own, as in unit tests). */
  static whole(part: BudgetPart, maxBytes: number): MemoryBudget {
    const shares = { records: 0, responses: 0, validated: 0, signatures: 0, keys: 0, inFlight: 0, denial: 0 };
    shares[part] = 1;
    return new MemoryBudget(maxBytes, shares);
  }

  /** The largest entry `part` keeps: at least 4 KiB (an ordinary signed answer), so a small share still keeps ordinary entries. */
  maxEntryFor(part: BudgetPart): number {
    const maxSize = this.bytesFor(part);
    return Math.min(maxSize, Math.max(4096, Math.floor(maxSize * MAX_ENTRY_FRACTION)));
  }

  /** The bytes `part` may hold. */
  bytesFor(part: BudgetPart): number {
    return Math.floor(this.maxBytes * this.shares[part]);
  }

  /**
   * A least-recently-used map charged to `part`: `cost` says what an entry costs resident
   * (use `recordsCost`, `stringCost` and the `*_COST` constants); an entry above
   * `MAX_ENTRY_FRACTION` of the share is not stored (and evicts an older value for its key).
   * `keep`, when given, turns each value stored into what is kept (copies out of packets), so a
   * store's callers cannot keep more alive than its cost says.
   */
  lru<K extends {}, V extends {}>(part: BudgetPart, cost: (value: V, key: K) => number, keep?: (value: V) => V): LRUCache<K, V> {
    const maxSize = this.bytesFor(part);
    const lru = new LRUCache<K, V>({
      maxSize,
      maxEntrySize: this.maxEntryFor(part),
      sizeCalculation: (value, key) => Math.max(1, Math.ceil(cost(value, key))),
    });
    this.charge(part, () => lru.calculatedSize, () => lru.size);
    if (keep) {
      const set = lru.set.bind(lru);
      lru.set = ((key: K, value: V | undefined, options?: LRUCache.SetOptions<K, V, unknown>) => set(key, value === undefined ? value : keep(value), options)) as typeof lru.set;
    }
    return lru;
  }

  /** Registers a store that keeps its own accounting (in-flight queries). */
  charge(part: BudgetPart, bytes: () => number, entries: () => number): void {
    const list = this.charged.get(part) ?? [];
    list.push({ bytes, entries });
    this.charged.set(part, list);
  }

  usage(): Record<BudgetPart, PartUsage> {
    const out = {} as Record<BudgetPart, PartUsage>;
    for (const part of Object.keys(this.shares) as BudgetPart[]) {
      const list = this.charged.get(part) ?? [];
      out[part] = {
        bytes: list.reduce((n, c) => n + c.bytes(), 0),
        maxBytes: list.length > 0 ? this.bytesFor(part) : 0,
        entries: list.reduce((n, c) => n + c.entries(), 0),
      };
    }
    return out;
  }

  /** Bytes charged in all parts together. */
  totalBytes(): number {
    return Object.values(this.usage()).reduce((n, u) => n + u.bytes, 0);
  }
}
