/**
 * Where packed cache entries live: slices of 64 KiB slabs instead of one ArrayBuffer each. A
 * separate ArrayBuffer costs ~300 bytes besides its data (the typed array and buffer objects on
 * the V8 heap, the backing store and its bookkeeping in malloc), more than most entries' bytes;
 * a slice costs one small object. Space is taken by bumping a pointer in the newest slab; freed
 * slices leave holes, and a slab whose live bytes fall below COMPACT_BELOW of what it handed out
 * has its live slices moved into the newest slab and is emptied. So the slabs held are at most
 * 1/COMPACT_BELOW of the live bytes, plus the slab being filled and MAX_SPARE empty ones.
 * Emptied slabs are reused rather than left to the garbage collector: a cache that evicts all
 * day would otherwise churn through 64 KiB buffers faster than V8 frees them, and malloc keeps
 * what it got back (measured: RSS 3× the budget, test/integration/cache-resident-memory.test.ts).
 * Slab bytes are written over once reused: a view of a slice is good until the next allocation.
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

interface Slab {
  readonly bytes: Uint8Array;
  /** Bytes handed out (the bump pointer). */
  used: number;
  /** Bytes of slices not yet freed. */
  live: number;
  /** Every slice ever placed here; those moved or freed since point elsewhere or nowhere. */
  readonly slices: Slice[];
}

/** A place in a slab; `meta` is the store's own per-entry state (rare fields, a recheck time). */
export class Slice<M = unknown> {
  meta?: M;
  constructor(
    /** @internal undefined once freed */
    public slab: Slab | undefined,
    /** @internal */
    public offset: number,
    readonly length: number,
  ) {}
}

export class SlabArena {
  private current: Slab | undefined;
  private readonly spare: Slab[] = [];
  private slabBytes = 0;
  private slabCount = 0;

  /** A slice of `length` bytes; fill it through `view`. */
  allocate<M>(length: number): Slice<M> {
    if (length > OWN_SLAB_ABOVE) return this.place(this.newSlab(length), length) as Slice<M>;
    while (!this.current || this.current.used + length > this.current.bytes.length) {
      const full = this.current;
      this.current = this.newSlab(SLAB_SIZE);
      // Frees that came while it was being filled were not acted on: now they are.
      if (full) this.settle(full);
    }
    return this.place(this.current, length) as Slice<M>;
  }

  /** The bytes of a live slice (a view: valid until the slice is freed or moved by a later free). */
  view(slice: Slice): Uint8Array {
    const slab = slice.slab;
    if (!slab) throw new Error('slice used after it was freed');
    return slab.bytes.subarray(slice.offset, slice.offset + slice.length);
  }

  free(slice: Slice): void {
    const slab = slice.slab;
    if (!slab) return;
    slice.slab = undefined;
    slab.live -= slice.length;
    if (slab !== this.current) this.settle(slab);
  }

  /** Bytes of all slabs held (what the arena costs resident, besides one small object per slice). */
  get bytes(): number {
    return this.slabBytes;
  }

  get slabs(): number {
    return this.slabCount;
  }

  private newSlab(size: number): Slab {
    const reused = size === SLAB_SIZE ? this.spare.pop() : undefined;
    if (reused) return reused;
    this.slabBytes += size;
    this.slabCount++;
    return { bytes: new Uint8Array(size), used: 0, live: 0, slices: [] };
  }

  private place(slab: Slab, length: number): Slice {
    const slice = new Slice(slab, slab.used, length);
    slab.used += length;
    slab.live += length;
    slab.slices.push(slice);
    return slice;
  }

  private settle(slab: Slab): void {
    if (slab.live === 0) this.release(slab);
    else if (slab.live < slab.used * COMPACT_BELOW) this.compact(slab);
  }

  /** Moves the live slices of a half-empty slab into the newest one, then lets it go. */
  private compact(slab: Slab): void {
    for (const slice of slab.slices) {
      if (slice.slab !== slab) continue;
      const from = slab.bytes.subarray(slice.offset, slice.offset + slice.length);
      if (!this.current || this.current === slab || this.current.used + slice.length > this.current.bytes.length) this.current = this.newSlab(SLAB_SIZE);
      const to = this.current;
      to.bytes.set(from, to.used);
      slice.slab = to;
      slice.offset = to.used;
      to.used += slice.length;
      to.live += slice.length;
      to.slices.push(slice);
    }
    this.release(slab);
  }

  private release(slab: Slab): void {
    slab.live = 0;
    slab.used = 0;
    slab.slices.length = 0;
    if (slab.bytes.length === SLAB_SIZE && this.spare.length < MAX_SPARE) {
      this.spare.push(slab);
      return;
    }
    this.slabBytes -= slab.bytes.length;
    this.slabCount--;
  }
}
