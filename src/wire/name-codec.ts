import { Name } from './name.js';
import { WireError, type WireErrorCode } from './wire-error.js';

export interface NameRead {
  readonly name: Name;
  /** Offset just after the name as it sits in the buffer (after the first pointer, if any). */
  readonly end: number;
}

/**
 * Most compression pointers one name may follow. An honest encoder passes at least one label
 * per pointer and a name has at most 127 labels; chains of pointers to pointers only cost the
 * reader work (a 64 KiB message could otherwise make it take millions of hops, RFC 9267 §2).
 */
const MAX_POINTERS = 127;

/** The assembled bytes of the last compressed name scanned (never escapes this module). */
const scratch = new Uint8Array(255);

/** What `scan` found; module state because the decoder is synchronous and this is its hot path. */
const found = { end: 0, length: 0, compressed: false };

/**
 * Walks the name at `offset`, checking every label and pointer. Sets `found`; when the name
 * used pointers its uncompressed bytes are left in `scratch`. Faults at `limit` are `atLimit`
 * (plain truncation for a message, a wrong RDLENGTH inside RDATA).
 */
function scan(buf: Uint8Array, offset: number, allowPointers: boolean, limit: number, atLimit: WireErrorCode): void {
  let length = 0;
  let pos = offset;
  let end = -1;
  let ceiling = offset; // a pointer must land before every byte we have read so far
  let hops = 0;
  for (;;) {
    if (pos >= limit) throw new WireError(atLimit, 'name runs past the end', pos);
    const len = buf[pos]!;
    if (len < 0x40) {
      if (pos + 1 + len > limit) throw new WireError(atLimit, 'label runs past the end', pos);
      if (length + len + 1 > 255) throw new WireError('name-too-long', 'name longer than 255 octets', offset);
      if (end >= 0) for (let i = 0; i <= len; i++) scratch[length + i] = buf[pos + i]!;
      length += len + 1;
      pos += len + 1;
      if (len === 0) break;
      continue;
    }
    if ((len & 0xc0) !== 0xc0) throw new WireError('bad-label', `label type 0x${(len & 0xc0).toString(16)}`, pos);
    if (!allowPointers) throw new WireError('compression-forbidden', 'compression pointer where none is allowed', pos);
    if (pos + 1 >= limit) throw new WireError(atLimit, 'pointer runs past the end', pos);
    const target = ((len & 0x3f) << 8) | buf[pos + 1]!;
    if (end < 0) {
      end = pos + 2;
      for (let i = 0; i < length; i++) scratch[i] = buf[offset + i]!;
    }
    if (target >= ceiling) throw new WireError('bad-pointer', `pointer to ${target} does not point backwards`, pos);
    if (++hops > MAX_POINTERS) throw new WireError('pointer-loop', `more than ${MAX_POINTERS} compression pointers`, pos);
    ceiling = target;
    pos = target;
  }
  found.end = end < 0 ? pos : end;
  found.length = length;
  found.compressed = end >= 0;
}

/**
 * Reads a possibly compressed name. Pointers must point strictly backwards, which bounds
 * the walk and rules out loops without a hop counter (RFC 1035 §4.1.4; RFC 9267 §2); the
 * number of pointers is capped as well. The name gets its own copy of the bytes.
 */
export function readName(buf: Uint8Array, offset: number, allowPointers: boolean, limit = buf.length, atLimit: WireErrorCode = 'truncated'): NameRead {
  scan(buf, offset, allowPointers, limit, atLimit);
  const length = found.length;
  // Always a plain copy: `buf` may be a Buffer, whose slice() is a view of the packet.
  const wire = new Uint8Array(length);
  if (found.compressed) for (let i = 0; i < length; i++) wire[i] = scratch[i]!;
  else for (let i = 0; i < length; i++) wire[i] = buf[offset + i]!;
  return { name: new Name(wire), end: found.end };
}

/**
 * Checks the name at `offset` as `readName` does without building it. Returns the offset
 * just after the name in place, negated when the name used compression pointers.
 */
export function skipName(buf: Uint8Array, offset: number, allowPointers: boolean, limit: number, atLimit: WireErrorCode): number {
  scan(buf, offset, allowPointers, limit, atLimit);
  return found.compressed ? -found.end : found.end;
}

const LOWER = Uint8Array.from({ length: 256 }, (_, b) => (b >= 0x41 && b <= 0x5a ? b | 0x20 : b));

/** Slots of the suffix table: far more than the suffixes that fit below offset 0x4000. */
const SLOTS = 8192;
const MAX_PROBES = 8;

/**
 * Appends names to an outgoing message, compressing against names already written. Suffixes
 * are found by a hash of their case-folded labels in an open-addressing table and confirmed
 * against the bytes already in the message, so a hash collision costs a missed pointer, never
 * a wrong one. Matching is case-insensitive, as BIND does; only offsets below 0x4000 can be
 * pointed at. `clear` is O(1) (a generation stamp), so one table serves every message.
 */
export class CompressionTable {
  private readonly keys = new Int32Array(SLOTS);
  private readonly values = new Int32Array(SLOTS);
  private readonly stamps = new Uint32Array(SLOTS);
  private generation = 1;
  private readonly labelAt = new Int32Array(128);
  private readonly hashAt = new Int32Array(128);

  clear(): void {
    if (++this.generation > 0xfffffff0) {
      this.stamps.fill(0);
      this.generation = 1;
    }
  }

  private lookup(hash: number): number {
    for (let n = 0, slot = hash & (SLOTS - 1); n < MAX_PROBES; n++, slot = (slot + 1) & (SLOTS - 1)) {
      if (this.stamps[slot] !== this.generation) return -1;
      if (this.keys[slot] === hash) return this.values[slot]!;
    }
    return -1;
  }

  private remember(hash: number, offset: number): void {
    for (let n = 0, slot = hash & (SLOTS - 1); n < MAX_PROBES; n++, slot = (slot + 1) & (SLOTS - 1)) {
      if (this.stamps[slot] !== this.generation) {
        this.stamps[slot] = this.generation;
        this.keys[slot] = hash;
        this.values[slot] = offset;
        return;
      }
      if (this.keys[slot] === hash) return; // the first writer of a suffix keeps it
    }
  }

  /**
   * Writes the uncompressed name at `wire[start]` into `out` at `at`, compressed, and returns
   * the offset after it. `out` must have room for the whole name; everything before `at` is
   * the message written so far.
   */
  write(out: Uint8Array, at: number, wire: Uint8Array, start = 0): number {
    const labelAt = this.labelAt;
    const hashAt = this.hashAt;
    let count = 0;
    let pos = start;
    while (wire[pos] !== 0) {
      labelAt[count++] = pos;
      pos += wire[pos]! + 1;
    }
    // Suffix hashes from the root leftwards: each covers its label and everything after it.
    let h = 0x811c9dc5 | 0;
    for (let i = count - 1; i >= 0; i--) {
      const p = labelAt[i]!;
      const stop = p + wire[p]! + 1;
      for (let k = p; k < stop; k++) h = Math.imul(h ^ LOWER[wire[k]!]!, 0x01000193);
      hashAt[i] = h;
    }
    let i = 0;
    let target = -1;
    for (; i < count; i++) {
      target = this.lookup(hashAt[i]!);
      if (target >= 0 && sameSuffix(out, target, wire, labelAt[i]!)) break;
    }
    const prefixEnd = i < count ? labelAt[i]! : pos + 1;
    for (let k = start; k < prefixEnd; k++) out[at + k - start] = wire[k]!;
    for (let j = 0; j < i; j++) {
      const offset = at + labelAt[j]! - start;
      if (offset >= 0x4000) break;
      this.remember(hashAt[j]!, offset);
    }
    let next = at + prefixEnd - start;
    if (i < count) {
      out[next++] = 0xc0 | (target >> 8);
      out[next++] = target & 0xff;
    }
    return next;
  }
}

/** Whether the name written at `out[q]` (pointers allowed) equals `wire[p...]`, ignoring ASCII case. */
function sameSuffix(out: Uint8Array, q: number, wire: Uint8Array, p: number): boolean {
  for (;;) {
    let len = out[q]!;
    while (len >= 0xc0) {
      q = ((len & 0x3f) << 8) | out[q + 1]!;
      len = out[q]!;
    }
    if (len !== wire[p]) return false;
    if (len === 0) return true;
    for (let k = 1; k <= len; k++) if (LOWER[out[q + k]!] !== LOWER[wire[p + k]!]) return false;
    q += len + 1;
    p += len + 1;
  }
}
