import { Name } from './name.js';
import { WireError } from './wire-error.js';

export interface NameRead {
  readonly name: Name;
  /** Offset just after the name as it sits in the buffer (after the first pointer, if any). */
  readonly end: number;
}

/**
 * Reads a possibly compressed name. Pointers must point strictly backwards, which bounds
 * the walk and rules out loops without a hop counter (RFC 1035 §4.1.4; RFC 9267 §2).
 */
export function readName(buf: Uint8Array, offset: number, allowPointers: boolean, limit = buf.length): NameRead {
  const out = new Uint8Array(255);
  let length = 0;
  let pos = offset;
  let end = -1;
  let ceiling = offset; // a pointer must land before every byte we have read so far
  for (;;) {
    if (pos >= limit) throw new WireError('truncated', 'name runs past the end', pos);
    const len = buf[pos]!;
    if (len < 0x40) {
      if (pos + 1 + len > limit) throw new WireError('truncated', 'label runs past the end', pos);
      if (length + len + 1 > 255) throw new WireError('name-too-long', 'name longer than 255 octets', offset);
      out[length++] = len;
      out.set(buf.subarray(pos + 1, pos + 1 + len), length);
      length += len;
      pos += len + 1;
      if (len === 0) break;
      continue;
    }
    if ((len & 0xc0) !== 0xc0) throw new WireError('bad-label', `label type 0x${(len & 0xc0).toString(16)}`, pos);
    if (!allowPointers) throw new WireError('compression-forbidden', 'compression pointer where none is allowed', pos);
    if (pos + 1 >= limit) throw new WireError('truncated', 'pointer runs past the end', pos);
    const target = ((len & 0x3f) << 8) | buf[pos + 1]!;
    if (end < 0) end = pos + 2;
    if (target >= ceiling) throw new WireError('bad-pointer', `pointer to ${target} does not point backwards`, pos);
    ceiling = target;
    pos = target;
  }
  return { name: new Name(out.slice(0, length)), end: end < 0 ? pos : end };
}

/**
 * Appends names to an outgoing message, compressing against names already written
 * (suffixes keyed by their case-folded wire form, offsets below 0x4000 only).
 */
export class CompressionTable {
  private readonly offsets = new Map<string, number>();

  /** Returns the bytes to emit for `name` written at `at`, and remembers its suffixes. */
  encode(name: Name, at: number): Uint8Array {
    const wire = name.wire;
    const lower = name.key;
    let pos = 0;
    while (wire[pos] !== 0) {
      const hit = this.offsets.get(lower.slice(pos));
      if (hit !== undefined) {
        const out = new Uint8Array(pos + 2);
        out.set(wire.subarray(0, pos));
        out[pos] = 0xc0 | (hit >> 8);
        out[pos + 1] = hit & 0xff;
        this.remember(lower, pos, at);
        return out;
      }
      pos += wire[pos]! + 1;
    }
    this.remember(lower, pos, at);
    return wire;
  }

  private remember(lower: string, upto: number, at: number): void {
    let pos = 0;
    while (pos < upto) {
      if (at + pos >= 0x4000) return;
      const suffix = lower.slice(pos);
      if (!this.offsets.has(suffix)) this.offsets.set(suffix, at + pos);
      pos += lower.charCodeAt(pos) + 1;
    }
  }
}
