import { WireError } from './wire-error.js';

/** Base-16, base-64 and base32hex (RFC 4648) as presentation format writes them. */
export function toHex(b: Uint8Array): string {
  return Buffer.from(b).toString('hex').toUpperCase();
}

export function fromHex(text: string): Uint8Array {
  if (!/^([0-9a-fA-F]{2})*$/.test(text)) throw new WireError('bad-text', `"${text}" is not hexadecimal of whole octets`);
  return new Uint8Array(Buffer.from(text, 'hex'));
}

export function toBase64(b: Uint8Array): string {
  return Buffer.from(b).toString('base64');
}

export function fromBase64(text: string): Uint8Array {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.length % 4 === 1)
    throw new WireError('bad-text', `"${text.length > 40 ? text.slice(0, 40) + '…' : text}" is not base64`);
  return new Uint8Array(Buffer.from(text, 'base64'));
}

const B32HEX = '0123456789ABCDEFGHIJKLMNOPQRSTUV';

export function toBase32Hex(b: Uint8Array): string {
  let out = '';
  let bits = 0;
  let value = 0;
  for (const byte of b) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += B32HEX[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += B32HEX[(value << (5 - bits)) & 31];
  return out;
}

export function fromBase32Hex(text: string): Uint8Array {
  const out: number[] = [];
  let bits = 0;
  let value = 0;
  for (const c of text.toUpperCase()) {
    const v = B32HEX.indexOf(c);
    if (v < 0) throw new WireError('bad-text', `"${text}" is not base32hex`);
    value = ((value << 5) | v) & 0xffff;
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  if (bits >= 5 || (value & ((1 << bits) - 1)) !== 0) throw new WireError('bad-text', `"${text}" has stray base32hex bits`);
  return Uint8Array.from(out);
}

const UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400, w: 604800 };

/** A 32-bit count of seconds, plain or with BIND's units (1w2d3h4m5s); callers that hold a TTL apply RFC 2181 §8's 2^31-1 cap. */
export function parseTtl(text: string): number {
  let seconds: number;
  if (/^[0-9]+$/.test(text)) seconds = Number(text);
  else {
    const parts = [...text.toLowerCase().matchAll(/([0-9]+)([smhdw])/g)];
    if (parts.length === 0 || parts.map((m) => m[0]).join('') !== text.toLowerCase())
      throw new WireError('bad-text', `"${text}" is not a TTL`);
    seconds = parts.reduce((n, m) => n + Number(m[1]) * UNITS[m[2]!]!, 0);
  }
  if (seconds > 0xffffffff) throw new WireError('bad-text', `TTL ${text} is above 2^32-1`);
  return seconds;
}

/** RRSIG time (RFC 4034 §3.2): YYYYMMDDHHmmSS in UTC, or a decimal count of seconds. */
export function parseSigTime(text: string): number {
  const m = /^([0-9]{4})([0-9]{2})([0-9]{2})([0-9]{2})([0-9]{2})([0-9]{2})$/.exec(text);
  if (m) {
    const ms = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]));
    if (Number.isNaN(ms)) throw new WireError('bad-text', `"${text}" is not a time`);
    return (ms / 1000) % 2 ** 32;
  }
  if (/^[0-9]{1,10}$/.test(text) && Number(text) <= 0xffffffff) return Number(text);
  throw new WireError('bad-text', `"${text}" is not a signature time`);
}

export function formatSigTime(seconds: number): string {
  const d = new Date(seconds * 1000);
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${p(d.getUTCFullYear(), 4)}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}`;
}

/** Resolves `\DDD` and `\X` escapes of a presentation-format token into bytes. */
export function unescapeText(text: string): Uint8Array {
  const out: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c !== 0x5c) {
      if (c > 0xff) {
        // Callers passing JS strings (not latin1-read files) get UTF-8 for wide characters.
        const cp = text.codePointAt(i)!;
        out.push(...Buffer.from(String.fromCodePoint(cp), 'utf8'));
        if (cp > 0xffff) i++;
        continue;
      }
      out.push(c);
      continue;
    }
    const d = text.slice(i + 1, i + 4);
    if (/^[0-9]{3}$/.test(d)) {
      if (Number(d) > 255) throw new WireError('bad-text', `escape \\${d} is above 255`);
      out.push(Number(d));
      i += 3;
    } else if (i + 1 < text.length) out.push(text.charCodeAt(++i) & 0xff);
    else throw new WireError('bad-text', 'dangling backslash');
  }
  return Uint8Array.from(out);
}

/** A <character-string> as dig prints it: quoted, `"` and `\` escaped, non-printables as \DDD. */
export function quoteText(b: Uint8Array): string {
  let s = '"';
  for (const byte of b) {
    if (byte === 0x22 || byte === 0x5c) s += '\\' + String.fromCharCode(byte);
    else if (byte < 0x20 || byte >= 0x7f) s += '\\' + String(byte).padStart(3, '0');
    else s += String.fromCharCode(byte);
  }
  return s + '"';
}
