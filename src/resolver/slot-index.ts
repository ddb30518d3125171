/**
 * The key → slot index of a packed store (packed-store.ts), without a string per entry: keys live
 * in the slab beside their entry's bytes (the store compares them there), and the index is an
 * open-addressing table of slot numbers in an Int32Array with each slot's hash beside it. A
 * Map<string, number> cost ~80 bytes an entry (the key string, its map entry, the key array);
 * this costs ~16, plus the key's bytes in the slab.
 *
 * Linear probing at most half full; a removal shifts the entries after it back (no tombstones),
 * so a lookup ends at the first empty place. Keys are names clients choose: the hash is seeded at
 * random per index, so which names share a place cannot be worked out in advance to make lookups
 * walk long runs (as V8 seeds its own string hashes).
 */
import { randomBytes } from 'node:crypto';

const EMPTY = 0;
const MIN_CAPACITY = 1024;

export class SlotIndex {
  /** slot + 1 at each place, EMPTY where none. */
  private table = new Int32Array(MIN_CAPACITY);
  private mask = MIN_CAPACITY - 1;
  private hashes = new Int32Array(MIN_CAPACITY);
  private count = 0;

  private readonly seed = randomBytes(4).readInt32LE(0);

  /** `matches`: whether the entry in `slot` is under `key`. */
  constructor(private readonly matches: (slot: number, key: string) => boolean) {}

  /** FNV-1a over the key's UTF-16 code units from the seed, then murmur3's finaliser so every bit counts for the place. */
  hash(key: string): number {
    let h = this.seed ^ 0x811c9dc5;
    for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193);
    h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
    h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
    return h ^ (h >>> 16);
  }

  /** The slot under `key`, or -1. */
  find(key: string, hash = this.hash(key)): number {
    for (let i = this.home(hash); ; i = (i + 1) & this.mask) {
      const held = this.table[i]!;
      if (held === EMPTY) return -1;
      const slot = held - 1;
      if (this.hashes[slot] === hash && this.matches(slot, key)) return slot;
    }
  }

  /** Adds `slot` under a key of `hash` that is not in the index. */
  insert(slot: number, hash: number): void {
    if (slot >= this.hashes.length) {
      let size = this.hashes.length;
      while (size <= slot) size *= 2;
      const grown = new Int32Array(size);
      grown.set(this.hashes);
      this.hashes = grown;
    }
    this.hashes[slot] = hash;
    if (2 * (this.count + 1) > this.table.length) this.rehash(this.table.length * 2);
    this.place(slot);
    this.count++;
  }

  /** Takes `slot` (which must be in the index) out. */
  remove(slot: number): void {
    let i = this.home(this.hashes[slot]!);
    while (this.table[i] !== slot + 1) i = (i + 1) & this.mask;
    // Backward shift: each later entry of the run moves into the hole unless its home lies between.
    for (let j = (i + 1) & this.mask; this.table[j] !== EMPTY; j = (j + 1) & this.mask) {
      const home = this.home(this.hashes[this.table[j]! - 1]!);
      const between = i <= j ? i < home && home <= j : i < home || home <= j;
      if (!between) {
        this.table[i] = this.table[j]!;
        i = j;
      }
    }
    this.table[i] = EMPTY;
    this.count--;
  }

  clear(): void {
    this.table = new Int32Array(MIN_CAPACITY);
    this.mask = MIN_CAPACITY - 1;
    this.count = 0;
  }

  get size(): number {
    return this.count;
  }

  private home(hash: number): number {
    return hash & this.mask;
  }

  private place(slot: number): void {
    let i = this.home(this.hashes[slot]!);
    while (this.table[i] !== EMPTY) i = (i + 1) & this.mask;
    this.table[i] = slot + 1;
  }

  private rehash(capacity: number): void {
    const old = this.table;
    this.table = new Int32Array(capacity);
    this.mask = capacity - 1;
    for (const held of old) if (held !== EMPTY) this.place(held - 1);
  }
}
