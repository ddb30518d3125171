/**
 * A minimal DER reader (X.690) for the parts of CMS and X.509 the root-anchors signature check
 * needs: tag, length, contents and the exact bytes of each element. Strict: definite lengths
 * only, minimal length encodings, nothing past the end, so a malformed or hostile file fails
 * with a `DerError` naming the offset instead of being half-read.
 */
export class DerError extends Error {
  override readonly name = 'DerError';
}

export interface DerElement {
  /** The identifier octet (class, constructed bit and tag number < 31). */
  readonly tag: number;
  /** The contents octets. */
  readonly contents: Uint8Array;
  /** The whole element, identifier and length included (what a signature covers). */
  readonly raw: Uint8Array;
  /** Offset of the element in the outermost buffer, for error messages. */
  readonly offset: number;
}

export const DerTag = { INTEGER: 0x02, OCTET_STRING: 0x04, NULL: 0x05, OID: 0x06, SEQUENCE: 0x30, SET: 0x31 } as const;

/** Reads one element at `pos` of `buf`; `base` is buf's offset in the file. */
export function readElement(buf: Uint8Array, pos = 0, base = 0): DerElement {
  const at = base + pos;
  if (pos + 2 > buf.length) throw new DerError(`truncated element at offset ${at}`);
  const tag = buf[pos]!;
  if ((tag & 0x1f) === 0x1f) throw new DerError(`multi-byte tag at offset ${at}`);
  let len = buf[pos + 1]!;
  let head = 2;
  if (len === 0x80) throw new DerError(`indefinite length at offset ${at} (not DER)`);
  if (len > 0x80) {
    const n = len & 0x7f;
    if (n > 4 || pos + 2 + n > buf.length) throw new DerError(`bad length at offset ${at}`);
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + buf[pos + 2 + i]!;
    if (len < 0x80 || buf[pos + 2] === 0) throw new DerError(`non-minimal length at offset ${at} (not DER)`);
    head += n;
  }
  if (pos + head + len > buf.length) throw new DerError(`element at offset ${at} runs past its end`);
  return { tag, contents: buf.subarray(pos + head, pos + head + len), raw: buf.subarray(pos, pos + head + len), offset: at };
}

/** The elements inside a constructed element, in order. */
export function children(e: DerElement): DerElement[] {
  const out: DerElement[] = [];
  const base = e.offset + (e.raw.length - e.contents.length);
  for (let pos = 0; pos < e.contents.length; ) {
    const child = readElement(e.contents, pos, base);
    out.push(child);
    pos += child.raw.length;
  }
  return out;
}

/** Reads a whole buffer as exactly one element. */
export function readDer(buf: Uint8Array): DerElement {
  const e = readElement(buf);
  if (e.raw.length !== buf.length) throw new DerError(`${buf.length - e.raw.length} bytes after the outer element`);
  return e;
}

export function expectTag(e: DerElement | undefined, tag: number, what: string): DerElement {
  if (!e) throw new DerError(`${what} is missing`);
  if (e.tag !== tag) throw new DerError(`${what} at offset ${e.offset}: tag 0x${e.tag.toString(16)}, expected 0x${tag.toString(16)}`);
  return e;
}

/** Dotted text of an OBJECT IDENTIFIER's contents. */
export function oidText(e: DerElement): string {
  expectTag(e, DerTag.OID, 'object identifier');
  const b = e.contents;
  if (b.length === 0) throw new DerError(`empty OID at offset ${e.offset}`);
  const parts: number[] = [];
  let value = 0;
  for (let i = 0; i < b.length; i++) {
    value = value * 128 + (b[i]! & 0x7f);
    if (value > Number.MAX_SAFE_INTEGER / 128) throw new DerError(`OID arc too large at offset ${e.offset}`);
    if ((b[i]! & 0x80) === 0) {
      if (parts.length === 0) parts.push(value < 80 ? Math.floor(value / 40) : 2, value < 80 ? value % 40 : value - 80);
      else parts.push(value);
      value = 0;
    }
  }
  if (b[b.length - 1]! & 0x80) throw new DerError(`OID ends mid-arc at offset ${e.offset}`);
  return parts.join('.');
}
