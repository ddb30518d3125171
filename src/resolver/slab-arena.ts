/**
 * Where packed cache entries live: runs of bytes in 64 KiB slabs instead of one ArrayBuffer each.
 * A separate ArrayBuffer costs ~300 bytes besides its data (the typed array and buffer objects on
 * the V8 heap, the backing store and its bookkeeping in malloc), more than most entries' bytes.
 * Entries are known by a slot number the store gives them, and where each is (slab, offset,
 * length) is kept in typed arrays indexed by slot: no object per entry at all.
 *
 * Space is taken by bumping a pointer in the newest slab; freed entries leave holes, and a slab
 * whose live bytes fall below COMPACT_BELOW of what it handed out has its live entries moved into
 * the newest slab and is emptied. So the slabs held are at most 1/COMPACT_BELOW of the live bytes,
 * plus the slab being filled and MAX_SPARE empty ones. Emptied slabs are reused rather than left to
 * the garbage collector: a cache that evicts all day would otherwise churn through 64 KiB buffers
 * faster than V8 frees them, and malloc keeps what it got back (measured: RSS 3× the budget in
 * test/integration/cache-resident-memory.test.ts). Slab bytes are written over once reused: a view
 * of an entry is good until the next allocation.
 */

export const SLAB_SIZE = 64 * 1024;
/** Entries above this get a slab of their own (let go when they are freed), so a slab is not wasted on one. */
const OWN_SLAB_ABOVE = SLAB_SIZE / 4;
/**
 * A slab is compacted when its live bytes fall below this fraction of what it handed out: each
 * compaction frees at least a third of a slab by moving at most two thirds (amortised, two bytes
 * copied per byte freed), and the slabs held stay within 1.5× the live bytes.
 */
export const COMPACT_BELOW = 2 / 3;
/** Emptied slabs kept for reuse. */
const MAX_SPARE = 4;
const NOWHERE = -1;

interface Slab {
  readonly id: number;
  readonly bytes: Uint8Array;
  /** Bytes handed out (the bump pointer). */
  used: number;
  /** Bytes of entries not yet freed. */
  live: number;
  /** Slots placed here; those moved or freed since (or placed again elsewhere) are skipped by where they are now. */
  readonly slots: number[];
}

export class SlabArena {
  private readonly slabs: (Slab | undefined)[] = [];
  private readonly freeIds: number[] = [];
  private readonly spare: Slab[] = [];
  private current: Slab | undefined;
  private slabBytes = 0;
  private slabOf = new Int32Array(1024).fill(NOWHERE);
  private offsetOf = new Int32Array(1024);
  private lengthOf = new Int32Array(1024);

  /** Places `length` bytes for `slot` (which must hold nothing); fill them through `view`. */
  allocate(slot: number, length: number): void {
    this.reserve(slot);
    if (this.slabOf[slot] !== NOWHERE) throw new Error(`slot ${slot} is in use`);
    if (length > OWN_SLAB_ABOVE) return this.place(this.newSlab(length), slot, length);
    while (!this.current || this.current.used + length > this.current.bytes.length) {
      const full = this.current;
      this.current = this.newSlab(SLAB_SIZE);
      // Frees that came while it was being filled were not acted on: now they are.
      if (full) this.settle(full);
    }
    this.place(this.current, slot, length);
  }

  /** The bytes of a slot's entry (a view: good until the next allocation). */
  view(slot: number): Uint8Array {
    const slab = slot < this.slabOf.length ? this.slabs[this.slabOf[slot]!] : undefined;
    if (!slab || this.slabOf[slot] === NOWHERE) throw new Error(`slot ${slot} holds nothing`);
    const offset = this.offsetOf[slot]!;
    return slab.bytes.subarray(offset, offset + this.lengthOf[slot]!);
  }

  free(slot: number): void {
    const id = slot < this.slabOf.length ? this.slabOf[slot]! : NOWHERE;
    const slab = id === NOWHERE ? undefined : this.slabs[id];
    if (!slab) return;
    this.slabOf[slot] = NOWHERE;
    slab.live -= this.lengthOf[slot]!;
    if (slab !== this.current) this.settle(slab);
  }

  /** Lets every slab go. */
  clear(): void {
    this.slabs.length = 0;
    this.freeIds.length = 0;
    this.spare.length = 0;
    this.current = undefined;
    this.slabBytes = 0;
    this.slabOf.fill(NOWHERE);
  }

  /** Bytes of all slabs held (spares included). */
  get bytes(): number {
    return this.slabBytes;
  }


  private reserve(slot: number): void {
    if (slot < this.slabOf.length) return;
    let size = this.slabOf.length;
    while (size <= slot) size *= 2;
    const grow = (from: Int32Array, fill: number) => {
      const to = new Int32Array(size).fill(fill);
      to.set(from);
      return to;
    };
    this.slabOf = grow(this.slabOf, NOWHERE);
    this.offsetOf = grow(this.offsetOf, 0);
    this.lengthOf = grow(this.lengthOf, 0);
  }

  private newSlab(size: number): Slab {
    const reused = size === SLAB_SIZE ? this.spare.pop() : undefined;
    if (reused) return reused;
    const id = this.freeIds.pop() ?? this.slabs.length;
    const slab: Slab = { id, bytes: new Uint8Array(size), used: 0, live: 0, slots: [] };
    this.slabs[id] = slab;
    this.slabBytes += size;
    return slab;
  }

  private place(slab: Slab, slot: number, length: number): void {
    this.slabOf[slot] = slab.id;
    this.offsetOf[slot] = slab.used;
    this.lengthOf[slot] = length;
    slab.used += length;
    slab.live += length;
    slab.slots.push(slot);
  }

  private settle(slab: Slab): void {
    if (slab.live === 0) this.release(slab);
    else if (slab.live < slab.used * COMPACT_BELOW) this.compact(slab);
  }

  /** Moves the live entries of a slab gone sparse into the newest one, then empties it. */
  private compact(slab: Slab): void {
    for (const slot of slab.slots) {
      if (this.slabOf[slot] !== slab.id) continue;
      const offset = this.offsetOf[slot]!;
      const length = this.lengthOf[slot]!;
      if (!this.current || this.current === slab || this.current.used + length > this.current.bytes.length) this.current = this.newSlab(SLAB_SIZE);
      const to = this.current;
      to.bytes.set(slab.bytes.subarray(offset, offset + length), to.used);
      this.place(to, slot, length);
    }
    this.release(slab);
  }

  private release(slab: Slab): void {
    slab.live = 0;
    slab.used = 0;
    slab.slots.length = 0;
    if (slab.bytes.length === SLAB_SIZE && this.spare.length < MAX_SPARE) {
      this.spare.push(slab);
      return;
    }
    this.slabs[slab.id] = undefined;
    this.freeIds.push(slab.id);
    this.slabBytes -= slab.bytes.length;
  }
}
