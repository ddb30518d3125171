import type { BudgetPart, MemoryBudget } from './memory-budget.js';
import type { PreparedEntry } from './packed-entry.js';
import { COMPACT_BELOW, SlabArena } from './slab-arena.js';

/**
 * Resident cost of one entry of a packed store besides its bytes and its key: its slot in the
 * key map (~40 B with the table's spare room), the key in the slot array, the list links and
 * charge (Int32Array), the arena's slab/offset/length (Int32Array) and its place in its slab's
 * slot list, each array up to twice its use after doubling (~60 B). Measured by
 * test/integration/cache-resident-memory.test.ts (heapUsed + arrayBuffers after gc(), three stores
 * filled three times over, Node 20 x64): 100 left the heap 10% above the charge, ~48 B per entry
 * more; 150 brings it within 3%; +16 for the write stamp (Float64Array) each slot has since.
 * Slab space is charged apart, at its bound (slabCost).
 */
export const PACKED_ENTRY_COST = 166;

/** Slab space an entry's bytes hold: the arena keeps at most 1/COMPACT_BELOW of the live bytes. */
const slabCost = (length: number) => Math.ceil(length / COMPACT_BELOW);

/** What a key costs: a one-byte string (name keys are latin1), a 16-byte header and its characters. */
const keyCost = (key: string) => 16 + key.length;

const NONE = -1;

/**
 * A least-recently-used store of packed entries (packed-entry.ts, or any bytes a store lays out
 * itself) charged to one part of the memory budget at what they cost resident: their bytes in
 * slabs (slab-arena.ts), their key and PACKED_ENTRY_COST. An entry is a slot number: its links,
 * charge and place live in typed arrays, so there is no object per entry (a general-purpose LRU
 * spent ~240 bytes on its node and slot). Reads hand out views of the slab, good until the next
 * write to the store: decode or copy at once (unpackEntry copies). `M` is a store's own rare
 * per-entry state (a recheck time, fields that do not pack), kept in a side map.
 */
export class PackedStore<M extends object = never> {
  private readonly arena = new SlabArena();
  private readonly slots = new Map<string, number>();
  private keys_: (string | undefined)[] = [];
  private prev = new Int32Array(1024);
  private next = new Int32Array(1024);
  private charge = new Int32Array(1024);
  /** Which write put each slot's entry there: a reference to an entry (kept-answers.ts) holds it and finds it gone when it differs. */
  private stamps = new Float64Array(1024);
  private writes = 0;
  private readonly meta = new Map<number, M>();
  private readonly freeSlots: number[] = [];
  private nextSlot = 0;
  /** Least recently used first, most recently used last. */
  private head = NONE;
  private tail = NONE;
  private total = 0;
  private readonly maxBytes: number;
  private readonly maxEntry: number;

  /** `metaCost`: what a store's own per-entry state costs (when it keeps any). */
  constructor(
    memory: MemoryBudget,
    part: BudgetPart,
    private readonly metaCost: (meta: M) => number = () => 0,
  ) {
    this.maxBytes = memory.bytesFor(part);
    this.maxEntry = memory.maxEntryFor(part);
    memory.charge(part, () => this.total, () => this.slots.size);
  }

  /**
   * Stores an entry, evicting the least recently used to make room; one larger than the budget
   * allows an entry is not kept (and the older one under its key goes). `stamp`: the stamp of the
   * entry it replaces (stampOf), when what references to that one rebuild is the same in this one.
   */
  set(key: string, entry: PreparedEntry, meta?: M, stamp?: number): void {
    this.delete(key);
    const cost = PACKED_ENTRY_COST + slabCost(entry.length) + keyCost(key) + (meta ? this.metaCost(meta) : 0);
    if (cost > this.maxEntry) return;
    while (this.total + cost > this.maxBytes && this.head !== NONE) this.remove(this.head);
    const slot = this.freeSlots.pop() ?? this.newSlot();
    this.arena.allocate(slot, entry.length);
    entry.write(this.arena.view(slot));
    this.keys_[slot] = key;
    this.charge[slot] = cost;
    this.stamps[slot] = stamp ?? ++this.writes;
    if (meta) this.meta.set(slot, meta);
    this.slots.set(key, slot);
    this.total += cost;
    this.link(slot);
  }

  /** The entry's bytes and its per-entry state, marked as recently used. */
  get(key: string): { readonly bytes: Uint8Array; readonly meta: M | undefined } | undefined {
    const slot = this.slots.get(key);
    if (slot === undefined) return undefined;
    this.unlink(slot);
    this.link(slot);
    return { bytes: this.arena.view(slot), meta: this.meta.get(slot) };
  }

  /** The entry's bytes without touching its recency. */
  peek(key: string): Uint8Array | undefined {
    const slot = this.slots.get(key);
    return slot === undefined ? undefined : this.arena.view(slot);
  }

  /** The stamp of the write that stored the entry under `key` (a new one each time one is stored), or undefined. */
  stampOf(key: string): number | undefined {
    const slot = this.slots.get(key);
    return slot === undefined ? undefined : this.stamps[slot];
  }

  /** The entry's bytes, marked as recently used, if the entry under `key` is still the one stored by write `stamp`. */
  getStamped(key: string, stamp: number): Uint8Array | undefined {
    const slot = this.slots.get(key);
    if (slot === undefined || this.stamps[slot] !== stamp) return undefined;
    this.unlink(slot);
    this.link(slot);
    return this.arena.view(slot);
  }

  /** Sets the per-entry state of the entry under `key`, if there is one (its charge stays what it was). */
  setMeta(key: string, meta: M): void {
    const slot = this.slots.get(key);
    if (slot !== undefined) this.meta.set(slot, meta);
  }

  delete(key: string): void {
    const slot = this.slots.get(key);
    if (slot !== undefined) this.remove(slot);
  }

  clear(): void {
    this.slots.clear();
    this.meta.clear();
    this.arena.clear();
    this.keys_ = [];
    this.freeSlots.length = 0;
    this.nextSlot = 0;
    this.head = this.tail = NONE;
    this.total = 0;
  }

  /** Every key (a snapshot: deleting while iterating is safe; peek each for its bytes). */
  keys(): string[] {
    return [...this.slots.keys()];
  }

  get size(): number {
    return this.slots.size;
  }

  /** Bytes charged to the budget. */
  get bytes(): number {
    return this.total;
  }

  /** Bytes of slab the arena holds (charged through slabCost). */
  get slabBytes(): number {
    return this.arena.bytes;
  }

  private remove(slot: number): void {
    this.unlink(slot);
    this.arena.free(slot);
    this.slots.delete(this.keys_[slot]!);
    this.keys_[slot] = undefined;
    this.meta.delete(slot);
    this.total -= this.charge[slot]!;
    this.freeSlots.push(slot);
  }

  private newSlot(): number {
    const slot = this.nextSlot++;
    if (slot >= this.prev.length) {
      const grow = (from: Int32Array) => {
        const to = new Int32Array(from.length * 2);
        to.set(from);
        return to;
      };
      this.prev = grow(this.prev);
      this.next = grow(this.next);
      this.charge = grow(this.charge);
      const stamps = new Float64Array(this.stamps.length * 2);
      stamps.set(this.stamps);
      this.stamps = stamps;
    }
    return slot;
  }

  /** Appends a slot as the most recently used. */
  private link(slot: number): void {
    this.prev[slot] = this.tail;
    this.next[slot] = NONE;
    if (this.tail !== NONE) this.next[this.tail] = slot;
    else this.head = slot;
    this.tail = slot;
  }

  private unlink(slot: number): void {
    const p = this.prev[slot]!;
    const n = this.next[slot]!;
    if (p !== NONE) this.next[p] = n;
    else this.head = n;
    if (n !== NONE) this.prev[n] = p;
    else this.tail = p;
  }
}
