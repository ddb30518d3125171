import type { BudgetPart, MemoryBudget } from './memory-budget.js';
import type { PreparedEntry } from './packed-entry.js';
import { COMPACT_BELOW, SlabArena } from './slab-arena.js';
import { SlotIndex } from './slot-index.js';

/**
 * Resident cost of one entry of a packed store besides its bytes and its key's bytes (both in the
 * slab): its place in the key index and its hash (slot-index.ts), the list links, charge and
 * write stamp, the arena's slab/offset/length and its place in its slab's slot list, each array
 * up to twice its use after doubling. Checked by test/integration/cache-resident-memory.test.ts
 * (heapUsed + arrayBuffers after gc(), three stores filled three times over, Node 20 x64: the heap
 * within 10% of the charge). Slab space is charged apart, at its bound (slabCost).
 */
export const PACKED_ENTRY_COST = 100;

/** Slab space an entry's bytes hold: the arena keeps at most 1/COMPACT_BELOW of the live bytes. */
const slabCost = (length: number) => Math.ceil(length / COMPACT_BELOW);

/**
 * A key is kept in the slab before its entry: a u16 of its length in UTF-16 code units (the top
 * bit set when they take two bytes each), then its characters, one byte each when all fit (name
 * keys are latin1).
 */
const WIDE = 0x8000;
const MAX_KEY = 0x7fff;

function keyBytes(key: string): number {
  for (let i = 0; i < key.length; i++) if (key.charCodeAt(i) > 0xff) return 2 + 2 * key.length;
  return 2 + key.length;
}

function writeKey(out: Uint8Array, key: string, length: number): void {
  const wide = length !== 2 + key.length;
  const header = key.length | (wide ? WIDE : 0);
  out[0] = header >> 8;
  out[1] = header & 0xff;
  for (let i = 0; i < key.length; i++) {
    const c = key.charCodeAt(i);
    if (wide) {
      out[2 + 2 * i] = c >> 8;
      out[3 + 2 * i] = c & 0xff;
    } else out[2 + i] = c;
  }
}

/** Where the entry's own bytes start after its key. */
function keyEnd(bytes: Uint8Array): number {
  const header = (bytes[0]! << 8) | bytes[1]!;
  return 2 + (header & MAX_KEY) * (header & WIDE ? 2 : 1);
}

function keyMatches(bytes: Uint8Array, key: string): boolean {
  const header = (bytes[0]! << 8) | bytes[1]!;
  if ((header & MAX_KEY) !== key.length) return false;
  if (header & WIDE) {
    for (let i = 0; i < key.length; i++) if (((bytes[2 + 2 * i]! << 8) | bytes[3 + 2 * i]!) !== key.charCodeAt(i)) return false;
  } else {
    for (let i = 0; i < key.length; i++) if (bytes[2 + i] !== key.charCodeAt(i)) return false;
  }
  return true;
}

function readKey(bytes: Uint8Array): string {
  const header = (bytes[0]! << 8) | bytes[1]!;
  const length = header & MAX_KEY;
  let key = '';
  for (let i = 0; i < length; i++) key += String.fromCharCode(header & WIDE ? (bytes[2 + 2 * i]! << 8) | bytes[3 + 2 * i]! : bytes[2 + i]!);
  return key;
}

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
  private readonly index = new SlotIndex((slot, key) => keyMatches(this.arena.view(slot), key));
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
    memory.charge(part, () => this.total, () => this.index.size);
  }

  /**
   * Stores an entry, evicting the least recently used to make room; one larger than the budget
   * allows an entry is not kept (and the older one under its key goes). `stamp`: the stamp of the
   * entry it replaces (stampOf), when what references to that one rebuild is the same in this one.
   */
  set(key: string, entry: PreparedEntry, meta?: M, stamp?: number): void {
    const hash = this.index.hash(key);
    const old = this.index.find(key, hash);
    if (old >= 0) this.remove(old);
    const keyLength = keyBytes(key);
    const cost = PACKED_ENTRY_COST + slabCost(keyLength + entry.length) + (meta ? this.metaCost(meta) : 0);
    if (cost > this.maxEntry || key.length > MAX_KEY) return;
    while (this.total + cost > this.maxBytes && this.head !== NONE) this.remove(this.head);
    const slot = this.freeSlots.pop() ?? this.newSlot();
    this.arena.allocate(slot, keyLength + entry.length);
    const bytes = this.arena.view(slot);
    writeKey(bytes, key, keyLength);
    entry.write(bytes.subarray(keyLength));
    this.index.insert(slot, hash);
    this.charge[slot] = cost;
    this.stamps[slot] = stamp ?? ++this.writes;
    if (meta) this.meta.set(slot, meta);
    this.total += cost;
    this.link(slot);
  }

  /** The entry's bytes and its per-entry state, marked as recently used. */
  get(key: string): { readonly bytes: Uint8Array; readonly meta: M | undefined } | undefined {
    const slot = this.index.find(key);
    if (slot < 0) return undefined;
    this.unlink(slot);
    this.link(slot);
    return { bytes: this.entryBytes(slot), meta: this.meta.get(slot) };
  }

  /** The entry's bytes without touching its recency. */
  peek(key: string): Uint8Array | undefined {
    const slot = this.index.find(key);
    return slot < 0 ? undefined : this.entryBytes(slot);
  }

  /** The stamp of the write that stored the entry under `key` (a new one each time one is stored), or undefined. */
  stampOf(key: string): number | undefined {
    const slot = this.index.find(key);
    return slot < 0 ? undefined : this.stamps[slot];
  }

  /** The entry's bytes, marked as recently used, if the entry under `key` is still the one stored by write `stamp`. */
  getStamped(key: string, stamp: number): Uint8Array | undefined {
    const slot = this.index.find(key);
    if (slot < 0 || this.stamps[slot] !== stamp) return undefined;
    this.unlink(slot);
    this.link(slot);
    return this.entryBytes(slot);
  }

  /** Sets the per-entry state of the entry under `key`, if there is one (its charge stays what it was). */
  setMeta(key: string, meta: M): void {
    const slot = this.index.find(key);
    if (slot >= 0) this.meta.set(slot, meta);
  }

  delete(key: string): void {
    const slot = this.index.find(key);
    if (slot >= 0) this.remove(slot);
  }

  clear(): void {
    this.index.clear();
    this.meta.clear();
    this.arena.clear();
    this.charge.fill(0);
    this.freeSlots.length = 0;
    this.nextSlot = 0;
    this.head = this.tail = NONE;
    this.total = 0;
  }

  /** Every key (a snapshot: deleting while iterating is safe; peek each for its bytes). */
  keys(): string[] {
    const keys: string[] = [];
    for (let slot = 0; slot < this.nextSlot; slot++) if (this.charge[slot]! > 0) keys.push(readKey(this.arena.view(slot)));
    return keys;
  }

  get size(): number {
    return this.index.size;
  }

  /** Bytes charged to the budget. */
  get bytes(): number {
    return this.total;
  }

  /** Bytes of slab the arena holds (charged through slabCost). */
  get slabBytes(): number {
    return this.arena.bytes;
  }

  private entryBytes(slot: number): Uint8Array {
    const bytes = this.arena.view(slot);
    return bytes.subarray(keyEnd(bytes));
  }

  /** A slot is in use while it has a charge (every entry costs more than zero). */
  private remove(slot: number): void {
    this.unlink(slot);
    this.index.remove(slot);
    this.arena.free(slot);
    this.meta.delete(slot);
    this.total -= this.charge[slot]!;
    this.charge[slot] = 0;
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
