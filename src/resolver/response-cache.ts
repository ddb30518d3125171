import type { Clock } from '../clock.js';
import { Name } from '../wire/name.js';
import { MemoryBudget } from '../resolver/memory-budget.js';
import { PackedStore } from '../resolver/packed-store.js';

/**
 * One cached response in one buffer (no object per entry): storedAt and expiresAt (f64), the
 * wire length (u16), the wire, then the offsets of every record's TTL field (OPT excluded) as
 * u16, to count them down on reuse.
 */
const WIRE_AT = 18;
const timesOf = (e: Uint8Array) => new DataView(e.buffer, e.byteOffset, e.byteLength);

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
  private readonly lru: PackedStore;
  /** At most one; set by the process that keeps copies of this cache elsewhere. */
  observer: ResponseCacheObserver | undefined;

  /** `budget`: the resolver's (its 'responses' share); alone, `maxBytes` for itself. */
  constructor(
    private readonly clock: Clock,
    budget: MemoryBudget | number = 32 * 1024 * 1024,
  ) {
    const memory = typeof budget === 'number' ? MemoryBudget.whole('responses', budget) : budget;
    this.lru = new PackedStore(memory, 'responses');
  }

  /** Stores `wire` for `ttl` seconds; nothing is stored for a TTL of zero. */
  store(key: string, name: Name, wire: Uint8Array, ttl: number): void {
    if (ttl <= 0 || wire.length > 0xffff) return;
    const now = this.clock.now();
    const offsets = recordTtlOffsets(wire);
    // Copied into the store: a view into a larger buffer (a TCP frame, a pooled Buffer) would keep it all alive.
    const write = (entry: Uint8Array) => {
      const view = timesOf(entry);
      view.setFloat64(0, now);
      view.setFloat64(8, now + ttl * 1000);
      view.setUint16(16, wire.length);
      entry.set(wire, WIRE_AT);
      offsets.forEach((o, i) => view.setUint16(WIRE_AT + wire.length + 2 * i, o));
    };
    this.lru.set(key, { length: WIRE_AT + wire.length + 2 * offsets.length, write });
    this.observer?.stored(key, name, wire, ttl);
  }

  /** Every live entry, its TTLs counted down to now, with the seconds it has left: to seed a copy of this cache. */
  *snapshot(): Generator<{ key: string; name: Name; wire: Uint8Array; ttl: number }> {
    const now = this.clock.now();
    for (const key of this.lru.keys()) {
      const e = this.lru.peek(key);
      if (!e) continue;
      const ttl = Math.floor((timesOf(e).getFloat64(8) - now) / 1000);
      if (ttl <= 0) continue;
      yield { key, name: questionName(e), wire: countedDown(e, now), ttl };
    }
  }

  /**
   * The cached response re-addressed to `query`, or undefined. `questionEnd` is where the
   * query's question ends; both share the question bytes up to there, case aside.
   */
  answer(key: string, query: Uint8Array, questionEnd: number, maxSize: number): Uint8Array | undefined {
    const e = this.lru.get(key)?.bytes;
    if (!e) return undefined;
    const now = this.clock.now();
    const times = timesOf(e);
    if (times.getFloat64(8) <= now) {
      this.lru.delete(key);
      return undefined;
    }
    if (times.getUint16(16) > maxSize) return undefined;
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
    for (const key of this.lru.keys()) {
      const e = this.lru.peek(key);
      if (e && questionName(e).isSubdomainOf(name)) this.lru.delete(key);
    }
  }

  get size(): number {
    return this.lru.size;
  }
}

/** The question name of a cached response: the first name of the message, never compressed. */
function questionName(entry: Uint8Array): Name {
  let end = WIRE_AT + 12;
  while (entry[end]) end += entry[end]! + 1;
  return new Name(entry.slice(WIRE_AT + 12, end + 1));
}

/** A copy of the entry's wire with every TTL less the whole seconds since it was stored. */
function countedDown(entry: Uint8Array, now: number): Buffer {
  const times = timesOf(entry);
  const length = times.getUint16(16);
  const out = Buffer.allocUnsafe(length);
  out.set(entry.subarray(WIRE_AT, WIRE_AT + length));
  const elapsed = Math.floor((now - times.getFloat64(0)) / 1000);
  if (elapsed > 0) {
    for (let at = WIRE_AT + length; at < entry.length; at += 2) {
      const o = times.getUint16(at);
      const ttl = out.readUInt32BE(o);
      out.writeUInt32BE(ttl > elapsed ? ttl - elapsed : 0, o);
    }
  }
  return out;
}
