/**
 * The admission rule of the encoded-answer cache (response-cache.ts): an answer is kept encoded
 * from the second time its question is asked. A name asked once (most names of a big cache: a
 * long tail asked once a TTL) then costs no encoded copy beside its records and verdict, which
 * answer it again without a network query; a name asked twice is hot, and every later ask is a
 * byte copy as before. TinyLFU's "doorkeeper" is the same idea.
 *
 * What has been asked is a fixed table of 32-bit hashes, one per slot, with no keys: a question
 * overwrites whatever had its slot, so one asked twice far apart may count as new again (kept a
 * little later), and two questions sharing a hash count as one (kept a little earlier). Neither
 * changes an answer; the memory is fixed (4 bytes a slot) and each check is one hash.
 */
export class AskedBefore {
  private readonly seen: Uint32Array;
  private readonly mask: number;

  /** `slots`: rounded up to a power of two, at least 1024. */
  constructor(slots: number) {
    let size = 1024;
    while (size < slots && size < 1 << 24) size <<= 1;
    this.seen = new Uint32Array(size);
    this.mask = size - 1;
  }

  /**
   * Sized for a store of `bytes`: a slot for about a quarter of the answers it can keep (a signed A
   * answer is charged ~415 bytes, docs/cache-memory.md): a second ask within that many other
   * questions is seen. The table is touched all over, so all of it is resident (64 KiB at the
   * default `128m`).
   */
  static forStore(bytes: number): AskedBefore {
    return new AskedBefore(Math.ceil(bytes / 1600));
  }

  /** Whether `key` was asked before (since its slot was last taken); it is remembered as asked either way. */
  check(key: string): boolean {
    // FNV-1a; 0 marks an empty slot, so a hash of 0 is taken as 1.
    let h = 0x811c9dc5;
    for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193);
    h = h >>> 0 || 1;
    const slot = (h ^ (h >>> 16)) & this.mask;
    if (this.seen[slot] === h) return true;
    this.seen[slot] = h;
    return false;
  }

  /** Resident bytes of the table. */
  get bytes(): number {
    return this.seen.byteLength;
  }
}
