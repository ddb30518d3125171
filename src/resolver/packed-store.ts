import type { LRUCache } from 'lru-cache';
import type { BudgetPart, MemoryBudget } from './memory-budget.js';
import type { PreparedEntry } from './packed-entry.js';
import { SlabArena, type Slice } from './slab-arena.js';

/**
 * Resident cost of one entry of a packed store besides its bytes and its key, measured with
 * `npm run bench:cache-costs` (heapUsed + arrayBuffers after gc(), 100k entries, Node 20 x64,
 * minus the bytes and keys): the Slice object (~40 B), the LRU's slot for it (map entry, key and
 * value slots, list links and size: ~90 B), and the share of slab space the arena holds beyond the
 * live bytes (holes before a compaction, the slab being filled: ~1/4 of the bytes on average,
 * which the constant covers for entries of ~200 B). The `bench:cache-costs` ratio column
 * (measured/charged) is ~1.0 when this is right.
 */
export const PACKED_ENTRY_COST = 170;

/** What a key costs: a one-byte string (name keys are latin1), a 16-byte header and its characters. */
const keyCost = (key: string) => 16 + key.length;

/**
 * A least-recently-used store of packed entries (packed-entry.ts, or any bytes a store lays out
 * itself) charged to one part of the memory budget at what they cost resident: their bytes in
 * slab slices (slab-arena.ts), their key and PACKED_ENTRY_COST. Reads hand out views of the
 * slab; slabs are never written over (only filled and let go), so a view stays right while held.
 */
export class PackedStore<M extends object = never> {
  private readonly arena = new SlabArena();
  private readonly lru: LRUCache<string, Slice<M>>;

  /** `metaCost`: what a store's own per-entry state costs (when it keeps any). */
  constructor(memory: MemoryBudget, part: BudgetPart, metaCost: (meta: M) => number = () => 0) {
    this.lru = memory.lru<string, Slice<M>>(part, (s, key) => PACKED_ENTRY_COST + s.length + keyCost(key) + (s.meta ? metaCost(s.meta) : 0), undefined, (s) => this.arena.free(s));
  }

  /** Stores an entry; one larger than the budget allows an entry is not kept (and the older one under its key goes). */
  set(key: string, entry: PreparedEntry, meta?: M): void {
    if (PACKED_ENTRY_COST + entry.length + keyCost(key) > this.lru.maxEntrySize) {
      this.lru.delete(key);
      return;
    }
    const slice = this.arena.allocate<M>(entry.length);
    entry.write(this.arena.view(slice));
    if (meta) slice.meta = meta;
    this.lru.set(key, slice);
  }

  /** The entry's bytes and its per-entry state, marked as recently used. */
  get(key: string): { readonly bytes: Uint8Array; readonly slice: Slice<M> } | undefined {
    const slice = this.lru.get(key);
    return slice ? { bytes: this.arena.view(slice), slice } : undefined;
  }

  /** The entry's bytes without touching its recency. */
  peek(key: string): Uint8Array | undefined {
    const slice = this.lru.peek(key);
    return slice ? this.arena.view(slice) : undefined;
  }

  delete(key: string): void {
    this.lru.delete(key);
  }

  clear(): void {
    this.lru.clear();
  }

  /** Every key with its bytes, most recently used first (a snapshot: deleting while iterating is safe). */
  entries(): [string, Uint8Array][] {
    return [...this.lru.entries()].map(([key, slice]) => [key, this.arena.view(slice)]);
  }

  get size(): number {
    return this.lru.size;
  }

  /** Bytes charged to the budget. */
  get bytes(): number {
    return this.lru.calculatedSize ?? 0;
  }

  /** Bytes of slab the arena holds (charged bytes include them through PACKED_ENTRY_COST). */
  get slabBytes(): number {
    return this.arena.bytes;
  }
}
