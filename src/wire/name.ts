import { WireError } from './wire-error.js';

const MAX_NAME_LENGTH = 255;
const MAX_LABEL_LENGTH = 63;

/** ASCII-only lowercase: DNS case-insensitivity never folds bytes above 0x7f (RFC 4343). */
function lowerByte(b: number): number {
  return b >= 0x41 && b <= 0x5a ? b | 0x20 : b;
}

/** ASCII-lowercased uncompressed name wire form; the same array when nothing changes. */
export function lowercaseNameWire(wire: Uint8Array): Uint8Array {
  // Length bytes are at most 63, below 'A', so every byte in A..Z is label content.
  let out: Uint8Array | undefined;
  for (let i = 0; i < wire.length; i++) {
    const b = wire[i]!;
    if (b >= 0x41 && b <= 0x5a) (out ??= Uint8Array.from(wire))[i] = b | 0x20;
  }
  return out ?? wire;
}

/** Presentation-format escaping as BIND and dig print it (RFC 1035 §5.1, RFC 4343 §2.1). */
function appendEscapedLabel(parts: string[], wire: Uint8Array, start: number, len: number): void {
  let s = '';
  for (let i = start; i < start + len; i++) {
    const b = wire[i]!;
    if (b <= 0x20 || b >= 0x7f) s += '\\' + String(b).padStart(3, '0');
    else if (b === 0x2e || b === 0x5c || b === 0x22 || b === 0x28 || b === 0x29 || b === 0x3b || b === 0x40 || b === 0x24)
      s += '\\' + String.fromCharCode(b);
    else s += String.fromCharCode(b);
  }
  parts.push(s);
}

/**
 * A domain name held as its uncompressed wire form. Bytes are kept exactly as received
 * (binary labels and case preserved) because signatures cover them; comparisons and map
 * keys fold ASCII case.
 */
export class Name {
  static readonly root = new Name(new Uint8Array([0]));

  private keyCache: string | undefined;
  private textCache: string | undefined;
  private labelOffsets: number[] | undefined;

  /** `wire` must already be a valid uncompressed name; use `fromWire` for untrusted bytes. */
  constructor(readonly wire: Uint8Array) {}

  static fromWire(bytes: Uint8Array): Name {
    let pos = 0;
    for (;;) {
      if (pos >= bytes.length) throw new WireError('truncated', 'name runs past its end', pos);
      const len = bytes[pos]!;
      if (len > MAX_LABEL_LENGTH) throw new WireError('bad-label', `label length ${len}`, pos);
      pos += len + 1;
      if (pos > MAX_NAME_LENGTH) throw new WireError('name-too-long', 'name longer than 255 octets');
      if (len === 0) break;
    }
    if (pos !== bytes.length) throw new WireError('bad-rdata', 'bytes after the root label', pos);
    return new Name(bytes);
  }

  /** Builds a name from labels given as raw bytes (most significant last, root omitted). */
  static fromLabels(labels: readonly Uint8Array[]): Name {
    let length = 1;
    for (const l of labels) {
      if (l.length === 0 || l.length > MAX_LABEL_LENGTH) throw new WireError('bad-label', `label length ${l.length}`);
      length += l.length + 1;
    }
    if (length > MAX_NAME_LENGTH) throw new WireError('name-too-long', 'name longer than 255 octets');
    const wire = new Uint8Array(length);
    let pos = 0;
    for (const l of labels) {
      wire[pos++] = l.length;
      wire.set(l, pos);
      pos += l.length;
    }
    return new Name(wire);
  }

  /**
   * Parses presentation format (`\DDD` and `\X` escapes). A name without a trailing dot is
   * relative to `origin`; with no origin it is taken as absolute, as dig and the CLI do.
   */
  static parse(text: string, origin?: Name): Name {
    if (text === '.') return Name.root;
    if (text === '@' && origin) return origin;
    if (text.length === 0) throw new WireError('bad-text', 'empty name');
    const labels: Uint8Array[] = [];
    let current: number[] = [];
    let absolute = false;
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c === 0x5c) {
        const d = text.slice(i + 1, i + 4);
        if (/^[0-9]{3}$/.test(d)) {
          const v = Number(d);
          if (v > 255) throw new WireError('bad-text', `escape \\${d} is above 255 in "${text}"`);
          current.push(v);
          i += 3;
        } else if (i + 1 < text.length) {
          current.push(text.charCodeAt(++i) & 0xff);
        } else throw new WireError('bad-text', `dangling backslash in "${text}"`);
      } else if (c === 0x2e) {
        if (current.length === 0) throw new WireError('bad-text', `empty label in "${text}"`);
        labels.push(Uint8Array.from(current));
        current = [];
        if (i === text.length - 1) absolute = true;
      } else {
        if (c > 0xff) throw new WireError('bad-text', `non-Latin-1 character in "${text}" (use IDNA A-labels)`);
        current.push(c);
      }
    }
    if (current.length > 0) labels.push(Uint8Array.from(current));
    for (const l of labels)
      if (l.length > MAX_LABEL_LENGTH) throw new WireError('bad-label', `label longer than 63 octets in "${text}"`);
    if (absolute || !origin) return Name.fromLabels(labels);
    return Name.fromLabels([...labels, ...origin.labels()]);
  }

  private offsets(): number[] {
    if (this.labelOffsets) return this.labelOffsets;
    const offs: number[] = [];
    let pos = 0;
    while (this.wire[pos] !== 0) {
      offs.push(pos);
      pos += this.wire[pos]! + 1;
    }
    this.labelOffsets = offs;
    return offs;
  }

  /** Number of labels, not counting the root (RFC 4034 §3.1.3 counts the `*` too). */
  get labelCount(): number {
    return this.offsets().length;
  }

  get length(): number {
    return this.wire.length;
  }

  labels(): Uint8Array[] {
    return this.offsets().map((o) => this.wire.subarray(o + 1, o + 1 + this.wire[o]!));
  }

  label(index: number): Uint8Array {
    const o = this.offsets()[index];
    if (o === undefined) throw new RangeError(`label ${index} of ${this.labelCount}`);
    return this.wire.subarray(o + 1, o + 1 + this.wire[o]!);
  }

  get isRoot(): boolean {
    return this.wire.length === 1;
  }

  get isWildcard(): boolean {
    return this.wire[0] === 1 && this.wire[1] === 0x2a;
  }

  /** Case-folded identity, usable as a Map key. */
  get key(): string {
    if (this.keyCache === undefined) {
      const lower = lowercaseNameWire(this.wire);
      this.keyCache = Buffer.from(lower.buffer, lower.byteOffset, lower.length).toString('latin1');
    }
    return this.keyCache;
  }

  /** The canonical (RFC 4034 §6.2) form: ASCII letters lowercased. */
  lowercase(): Name {
    const lower = lowercaseNameWire(this.wire);
    return lower === this.wire ? this : new Name(lower);
  }

  equals(other: Name): boolean {
    if (this.wire.length !== other.wire.length) return false;
    const a = this.wire;
    const b = other.wire;
    for (let i = 0; i < a.length; i++) {
      const x = a[i]!;
      const y = b[i]!;
      if (x !== y && lowerByte(x) !== lowerByte(y)) return false;
    }
    return true;
  }

  /** True when this name is `other` or below it. */
  isSubdomainOf(other: Name): boolean {
    const diff = this.wire.length - other.wire.length;
    if (diff < 0) return false;
    if (other.isRoot) return true; // the root label has no entry in offsets()
    const offs = this.offsets();
    if (diff !== 0 && !offs.includes(diff)) return false;
    for (let i = 0; i < other.wire.length; i++) {
      const x = this.wire[diff + i]!;
      const y = other.wire[i]!;
      if (x !== y && lowerByte(x) !== lowerByte(y)) return false;
    }
    return true;
  }

  /** The name with its leftmost `count` labels removed. */
  parent(count = 1): Name {
    const offs = this.offsets();
    if (count > offs.length) throw new RangeError(`cannot strip ${count} labels from ${this.toString()}`);
    if (count === offs.length) return Name.root;
    return new Name(this.wire.subarray(offs[count]!));
  }

  /** The last `count` labels, e.g. `suffix(1)` of www.example.com. is com. */
  suffix(count: number): Name {
    return this.parent(this.labelCount - count);
  }

  prepend(label: Uint8Array | string): Name {
    const bytes = typeof label === 'string' ? Buffer.from(label, 'latin1') : label;
    return Name.fromLabels([bytes, ...this.labels()]);
  }

  /** RFC 4034 §6.1 canonical ordering: labels compared right to left as lowercased octet strings. */
  compareCanonical(other: Name): number {
    const a = this.labels();
    const b = other.labels();
    let i = a.length - 1;
    let j = b.length - 1;
    for (; i >= 0 && j >= 0; i--, j--) {
      const c = compareLabels(a[i]!, b[j]!);
      if (c !== 0) return c;
    }
    return i >= 0 ? 1 : j >= 0 ? -1 : 0;
  }

  toString(): string {
    if (this.textCache !== undefined) return this.textCache;
    if (this.isRoot) return (this.textCache = '.');
    const parts: string[] = [];
    for (const o of this.offsets()) appendEscapedLabel(parts, this.wire, o + 1, this.wire[o]!);
    return (this.textCache = parts.join('.') + '.');
  }

  /** Presentation relative to `origin` (`@` for the origin itself), as zone files print. */
  toRelativeString(origin: Name): string {
    if (this.equals(origin)) return '@';
    if (!origin.isRoot && this.isSubdomainOf(origin)) {
      const text = this.toString();
      return text.slice(0, text.length - origin.toString().length - 1);
    }
    return this.toString();
  }
}

function compareLabels(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = lowerByte(a[i]!);
    const y = lowerByte(b[i]!);
    if (x !== y) return x - y;
  }
  return a.length - b.length;
}
