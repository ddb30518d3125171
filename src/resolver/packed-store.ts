import type { LRUCache } from 'lru-cache';
import type { BudgetPart, MemoryBudget } from './memory-budget.js';
import type { PreparedEntry } from './packed-entry.js';
import { COMPACT_BELOW, SlabArena, type Slice } from './slab-arena.js';

/**
 * Resident cost of one entry of a packed store besides its bytes and its key: the Slice object
 * (~56 B) and the LRU's slot for it (map entry, key, value, list-link and size slots in arrays
 * that grow by half again: ~180 B). Measured by test/integration/cache-resident-memory.test.ts
 * (heapUsed + arrayBuffers after gc(), three stores filled three times over, Node 20 x64):
 * 170 left the heap 13% above the charge, ~73 B per entry more; 240 brings it level. Slab space
 * is charged apart, at its bound (slabCost).
 */
export const PACKED_ENTRY_COST = 240;

/** Slab space an entry's bytes hold: the arena keeps at most 1/COMPACT_BELOW of the live bytes. */
const slabCost = (length: number) => Math.ceil(length / COMPACT_BELOW);

/** What a key costs: a one-byte string (name keys are latin1), a 16-byte header and its characters. */
const keyCost = (key: string) => 16 + key.length;

/**
 * A least-recently-used store of packed entries (packed-entry.ts, or any bytes a store lays out
 * itself) charged to one part of the memory budget at what they cost resident: their bytes in
 * slab slices (slab-arena.ts), their key and PACKED_ENTRY_COST. Reads hand out views of the
 * slab, good until the next write to the store: decode or copy at once (unpackEntry copies).
 */
export class PackedStore<M extends object = never> {
  private readonly arena = new SlabArena();
  private readonly lru: LRUCache<string, Slice<M>>;

  /** `metaCost`: what a store's own per-entry state costs (when it keeps any). */
  constructor(memory: MemoryBudget, part: BudgetPart, metaCost: (meta: M) => number = () => 0) {
    this.lru = memory.lru<string, Slice<M>>(part, (s, key) => PACKED_ENTRY_COST + slabCost(s.length) + keyCost(key) + (s.meta ? metaCost(s.meta) : 0), undefined, (s) => this.arena.free(s));
  }

  /** Stores an entry; one larger than the budget allows an entry is not kept (and the older one under its key goes). */
  set(key: string, entry: PreparedEntry, meta?: M): void {
    if (PACKED_ENTRY_COST + slabCost(entry.length) + keyCost(key) > this.lru.maxEntrySize) {
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

  /** Every key, most recently used first (a snapshot: deleting while iterating is safe; peek each for its bytes). */
  keys(): string[] {
    return [...this.lru.keys()];
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
