import type { LRUCache } from 'lru-cache';
import type { Clock } from '../clock.js';
import type { Name } from '../wire/name.js';
import { BUFFER_COST, ENTRY_COST, MemoryBudget, NAME_COST, stringCost } from '../resolver/memory-budget.js';

interface CachedResponse {
  readonly name: Name;
  readonly wire: Uint8Array;
  /** Offsets of every record's TTL field (OPT excluded), to count them down on reuse. */
  readonly ttlOffsets: readonly number[];
  readonly storedAt: number;
  readonly expiresAt: number;
}

/** Offsets of the TTL fields of the answer, authority and additional records of a message. */
export function recordTtlOffsets(wire: Uint8Array): number[] {
  const count = (i: number) => (wire[i]! << 8) | wire[i + 1]!;
  const skipName = (p: number) => {
    for (;;) {
      const len = wire[p]!;
      if (len === 0) return p + 1;
      if (len >= 0xc0) return p + 2;
      p += len + 1;
    }
  };
  let pos = 12;
  for (let i = 0; i < count(4); i++) pos = skipName(pos) + 4;
  const offsets: number[] = [];
  const records = count(6) + count(8) + count(10);
  for (let i = 0; i < records; i++) {
    pos = skipName(pos);
    const type = count(pos);
    if (type !== 41) offsets.push(pos + 4);
    pos += 10 + count(pos + 8);
  }
  return offsets;
}

/** Told of every store and flush, in order (worker-supervisor.ts copies them to the worker processes). */
export interface ResponseCacheObserver {
  stored(key: string, name: Name, wire: Uint8Array, ttl: number): void;
  flushed(name: Name | undefined): void;
}

/**
 * Encoded responses to recent questions. A hit is served by copying bytes and patching the
 * ID, RD/CD flags, the question's letter case and the TTLs: no decode or encode, which is
 * what makes cached answers cheap.
 */
export class ResponseCache {
  private readonly lru: LRUCache<string, CachedResponse>;
  /** At most one; set by the process that keeps copies of this cache elsewhere. */
  observer: ResponseCacheObserver | undefined;

  /** `budget`: the resolver's (its 'responses' share); alone, `maxBytes` for itself. */
  constructor(
    private readonly clock: Clock,
    budget: MemoryBudget | number = 32 * 1024 * 1024,
  ) {
    const memory = typeof budget === 'number' ? MemoryBudget.whole('responses', budget) : budget;
    // The wire in its own ArrayBuffer, the name, the entry object with its offsets array, and the key.
    this.lru = memory.lru<string, CachedResponse>('responses', (e, key) =>
      ENTRY_COST + stringCost(key) + BUFFER_COST + e.wire.length + NAME_COST + e.name.wire.length + 100 + e.ttlOffsets.length * 8);
  }

  /** Stores `wire` for `ttl` seconds; nothing is stored for a TTL of zero. */
  store(key: string, name: Name, wire: Uint8Array, ttl: number): void {
    if (ttl <= 0) return;
    const now = this.clock.now();
    // Its own copy: a view into a larger buffer (a TCP frame, a pooled Buffer) would keep it all alive.
    const own = wire.byteLength === wire.buffer.byteLength ? wire : new Uint8Array(wire);
    this.lru.set(key, { name, wire: own, ttlOffsets: recordTtlOffsets(wire), storedAt: now, expiresAt: now + ttl * 1000 });
    this.observer?.stored(key, name, own, ttl);
  }

  /** Every live entry, its TTLs counted down to now, with the seconds it has left: to seed a copy of this cache. */
  *snapshot(): Generator<{ key: string; name: Name; wire: Uint8Array; ttl: number }> {
    const now = this.clock.now();
    for (const [key, e] of this.lru.entries()) {
      const ttl = Math.floor((e.expiresAt - now) / 1000);
      if (ttl <= 0) continue;
      yield { key, name: e.name, wire: countedDown(e, now), ttl };
    }
  }

  /**
   * The cached response re-addressed to `query`, or undefined. `questionEnd` is where the
   * query's question ends; both share the question bytes up to there, case aside.
   */
  answer(key: string, query: Uint8Array, questionEnd: number, maxSize: number): Uint8Array | undefined {
    const e = this.lru.get(key);
    if (!e) return undefined;
    const now = this.clock.now();
    if (e.expiresAt <= now) {
      this.lru.delete(key);
      return undefined;
    }
    if (e.wire.length > maxSize) return undefined;
    const out = countedDown(e, now);
    out[0] = query[0]!;
    out[1] = query[1]!;
    out[2] = (out[2]! & 0xfe) | (query[2]! & 0x01);
    out[3] = (out[3]! & 0xef) | (query[3]! & 0x10);
    out.set(query.subarray(12, questionEnd), 12);
    return out;
  }

  flush(name?: Name): void {
    this.observer?.flushed(name);
    if (!name || name.isRoot) return this.lru.clear();
    for (const [key, e] of this.lru.entries()) if (e.name.isSubdomainOf(name)) this.lru.delete(key);
  }

  get size(): number {
    return this.lru.size;
  }
}

/** A copy of the entry's wire with every TTL less the whole seconds since it was stored. */
function countedDown(e: CachedResponse, now: number): Buffer {
  const out = Buffer.allocUnsafe(e.wire.length);
  out.set(e.wire);
  const elapsed = Math.floor((now - e.storedAt) / 1000);
  if (elapsed > 0) {
    for (const o of e.ttlOffsets) {
      const ttl = out.readUInt32BE(o);
      out.writeUInt32BE(ttl > elapsed ? ttl - elapsed : 0, o);
    }
  }
  return out;
}
