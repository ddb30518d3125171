import { Name } from './name.js';
import { type RdataFields, type SvcParam, decodeRdata, encodeRdata, validateRdata } from './rdata-codec.js';
import { type FieldKind, rdataSchema } from './rdata-schema.js';
import { parseType, typeToString } from './rr-type.js';
import { formatIpv4, formatIpv6, parseIpv4, parseIpv6 } from './ip-address.js';
import {
  formatSigTime, fromBase32Hex, fromBase64, fromHex, parseSigTime, parseTtl, quoteText, toBase32Hex,
  toBase64, toHex, unescapeText,
} from './text-encoding.js';
import { WireError } from './wire-error.js';

/** One whitespace-separated token of presentation format; escapes are still in `text`. */
export interface TextToken {
  readonly text: string;
  readonly quoted: boolean;
}

const SVC_KEYS = ['mandatory', 'alpn', 'no-default-alpn', 'port', 'ipv4hint', 'ech', 'ipv6hint', 'dohpath', 'ohttp'];

function svcKeyName(key: number): string {
  return SVC_KEYS[key] ?? `key${key}`;
}

function parseSvcKey(text: string): number {
  const i = SVC_KEYS.indexOf(text.toLowerCase());
  if (i >= 0) return i;
  const m = /^key([0-9]{1,5})$/i.exec(text);
  if (m && Number(m[1]) <= 0xffff) return Number(m[1]);
  throw new WireError('bad-text', `unknown SvcParamKey "${text}"`);
}

/** A SvcParam value that breaks its key's format; `rdataToText` then falls back to `\#`. */
function malformed(key: number): WireError {
  return new WireError('bad-rdata', `malformed value for SvcParamKey ${svcKeyName(key)}`);
}

/** RFC 9460 Appendix A.1 value-list items: `,` separates, `\` escapes the next octet. */
function splitValueList(bytes: Uint8Array): number[][] {
  const items: number[][] = [[]];
  for (let i = 0; i < bytes.length; i++) {
    const c = bytes[i]!;
    if (c === 0x5c) {
      if (++i >= bytes.length) throw new WireError('bad-text', 'dangling backslash in a SvcParam value list');
      items[items.length - 1]!.push(bytes[i]!);
    } else if (c === 0x2c) items.push([]);
    else items[items.length - 1]!.push(c);
  }
  return items;
}

/** `key` or `key=value` in presentation format; throws when the value is malformed. */
function svcParamToText(p: SvcParam): string {
  const v = p.value;
  const u16 = (i: number) => (v[i]! << 8) | v[i + 1]!;
  let value: string;
  switch (p.key) {
    case 0: {
      if (v.length === 0 || v.length % 2 !== 0) throw malformed(p.key);
      const keys: string[] = [];
      for (let i = 0; i < v.length; i += 2) {
        if (i > 0 && u16(i) <= u16(i - 2)) throw malformed(p.key);
        keys.push(svcKeyName(u16(i)));
      }
      value = keys.join(',');
      break;
    }
    case 1: {
      const ids: number[] = [];
      let i = 0;
      while (i < v.length) {
        const len = v[i]!;
        if (len === 0 || i + 1 + len > v.length) throw malformed(p.key);
        if (i > 0) ids.push(0x2c);
        for (const c of v.subarray(i + 1, i + 1 + len)) ids.push(...(c === 0x2c || c === 0x5c ? [0x5c, c] : [c]));
        i += 1 + len;
      }
      if (v.length === 0) throw malformed(p.key);
      value = quoteText(Uint8Array.from(ids));
      break;
    }
    case 2:
      if (v.length !== 0) throw malformed(p.key);
      return svcKeyName(p.key);
    case 3:
      if (v.length !== 2) throw malformed(p.key);
      value = String(u16(0));
      break;
    case 4:
      if (v.length === 0 || v.length % 4 !== 0) throw malformed(p.key);
      value = Array.from({ length: v.length / 4 }, (_, i) => formatIpv4(v.subarray(i * 4, i * 4 + 4))).join(',');
      break;
    case 5:
      value = toBase64(v);
      break;
    case 6:
      if (v.length === 0 || v.length % 16 !== 0) throw malformed(p.key);
      value = Array.from({ length: v.length / 16 }, (_, i) => formatIpv6(v.subarray(i * 16, i * 16 + 16))).join(',');
      break;
    default:
      value = quoteText(v);
  }
  return value === '' ? svcKeyName(p.key) : `${svcKeyName(p.key)}=${value}`;
}

function svcValueFromText(key: number, raw: string): Uint8Array {
  const quoted = raw.length >= 2 && raw.startsWith('"') && raw.endsWith('"');
  // Values are <character-string>s first (RFC 9460 §2.1), then read by their key's rules.
  const bytes = unescapeText(quoted ? raw.slice(1, -1) : raw);
  const text = Buffer.from(bytes).toString('latin1');
  const u16 = (n: number) => [n >> 8, n & 0xff];
  switch (key) {
    case 0: {
      const keys = text.split(',').map(parseSvcKey).sort((a, b) => a - b);
      if (keys.some((k, i) => i > 0 && k === keys[i - 1])) throw new WireError('bad-text', `mandatory lists a key twice in "${raw}"`);
      return Uint8Array.from(keys.flatMap(u16));
    }
    case 1: {
      const ids = splitValueList(bytes);
      for (const id of ids) if (id.length === 0 || id.length > 255) throw new WireError('bad-text', `bad alpn id in "${raw}"`);
      return Uint8Array.from(ids.flatMap((id) => [id.length, ...id]));
    }
    case 2:
      if (bytes.length !== 0) throw new WireError('bad-text', 'no-default-alpn takes no value');
      return bytes;
    case 3: {
      if (!/^[0-9]+$/.test(text) || Number(text) > 0xffff) throw new WireError('bad-text', `bad port "${text}"`);
      return Uint8Array.from(u16(Number(text)));
    }
    case 4:
      return Uint8Array.from(text.split(',').flatMap((a) => [...parseIpv4(a)]));
    case 5:
      return fromBase64(text);
    case 6:
      return Uint8Array.from(text.split(',').flatMap((a) => [...parseIpv6(a)]));
    default:
      return bytes;
  }
}

function parseUint(text: string, max: number, what: string): number {
  if (!/^[0-9]+$/.test(text) || Number(text) > max) throw new WireError('bad-text', `${what}: "${text}" is not an integer in 0..${max}`);
  return Number(text);
}

const REST_KINDS = new Set<FieldKind>(['strings', 'base64', 'hex', 'bitmap', 'svcParams']);

function fieldToText(kind: FieldKind, v: unknown): string {
  switch (kind) {
    case 'u8':
    case 'u16':
    case 'u32':
    case 'u48':
    case 'ttl':
      return String(v);
    case 'time':
      return formatSigTime(v as number);
    case 'type':
      return typeToString(v as number);
    case 'ipv4':
    case 'ipv6':
      return v as string;
    case 'name':
      return (v as Name).toString();
    case 'string':
    case 'textRest':
      return quoteText(v as Uint8Array);
    case 'tag': {
      // RFC 8659 §4.1: letters and digits; anything else makes the record print as `\#`.
      const tag = Buffer.from(v as Uint8Array).toString('latin1');
      if (!/^[A-Za-z0-9]+$/.test(tag)) throw new WireError('bad-rdata', `CAA tag "${tag}" is not alphanumeric`);
      return tag;
    }
    case 'strings':
      return (v as Uint8Array[]).map(quoteText).join(' ');
    case 'base64':
      return toBase64(v as Uint8Array);
    case 'hex':
      return toHex(v as Uint8Array);
    case 'hex8':
      return (v as Uint8Array).length === 0 ? '-' : toHex(v as Uint8Array);
    case 'base32hex8':
      return toBase32Hex(v as Uint8Array);
    case 'bitmap':
      return (v as number[]).map(typeToString).join(' ');
    case 'svcParams':
      return (v as SvcParam[]).map(svcParamToText).join(' ');
    case 'base64len16':
      return (v as Uint8Array).length === 0 ? '0' : `${(v as Uint8Array).length} ${toBase64(v as Uint8Array)}`;
  }
}

/** RDATA in presentation format, as dig and BIND's zone dumps print it. */
export function rdataToText(type: number, rdata: Uint8Array): string {
  const schema = rdataSchema(type);
  if (!schema) return genericRdataText(rdata);
  try {
    const fields = decodeRdata(type, rdata);
    return schema.fields
      .map((f) => fieldToText(f.kind, fields[f.name]))
      .filter((s) => s !== '')
      .join(' ');
  } catch {
    return genericRdataText(rdata);
  }
}

/** RFC 3597 §5 generic form. */
export function genericRdataText(rdata: Uint8Array): string {
  return rdata.length === 0 ? '\\# 0' : `\\# ${rdata.length} ${toHex(rdata)}`;
}

function fieldFromText(kind: FieldKind, name: string, tokens: readonly TextToken[], at: number, origin: Name | undefined): [unknown, number] {
  const tok = tokens[at];
  const rest = () => tokens.slice(at).map((t) => t.text);
  if (!REST_KINDS.has(kind) && kind !== 'textRest' && !tok) throw new WireError('bad-text', `missing ${name}`);
  const text = tok?.text ?? '';
  switch (kind) {
    case 'u8':
      return [parseUint(text, 0xff, name), at + 1];
    case 'u16':
      return [parseUint(text, 0xffff, name), at + 1];
    case 'u32':
      return [parseUint(text, 0xffffffff, name), at + 1];
    case 'u48':
      return [parseUint(text, 2 ** 48 - 1, name), at + 1];
    case 'ttl':
      return [parseTtl(text), at + 1];
    case 'time':
      return [parseSigTime(text), at + 1];
    case 'type':
      return [parseType(text), at + 1];
    case 'ipv4':
      return [formatIpv4(parseIpv4(text)), at + 1];
    case 'ipv6':
      return [formatIpv6(parseIpv6(text)), at + 1];
    case 'name':
      return [Name.parse(text, origin), at + 1];
    case 'string':
    case 'tag': {
      const b = unescapeText(text);
      if (b.length > 255) throw new WireError('bad-text', `${name}: character-string longer than 255 octets`);
      return [b, at + 1];
    }
    case 'textRest':
      return [unescapeText(tokens.slice(at).map((t) => t.text).join(' ')), tokens.length];
    case 'strings': {
      if (at >= tokens.length) throw new WireError('bad-text', `missing ${name}`);
      const strings = tokens.slice(at).map((t) => unescapeText(t.text));
      for (const s of strings) if (s.length > 255) throw new WireError('bad-text', 'character-string longer than 255 octets');
      return [strings, tokens.length];
    }
    case 'base64':
      return [fromBase64(rest().join('')), tokens.length];
    case 'hex':
      return [fromHex(rest().join('')), tokens.length];
    case 'hex8':
      return [text === '-' ? new Uint8Array(0) : fromHex(text), at + 1];
    case 'base32hex8':
      return [fromBase32Hex(text), at + 1];
    case 'bitmap':
      return [rest().map(parseType), tokens.length];
    case 'svcParams':
      return [
        rest().map((t) => {
          const eq = t.indexOf('=');
          const key = parseSvcKey(eq < 0 ? t : t.slice(0, eq));
          return { key, value: svcValueFromText(key, eq < 0 ? '' : t.slice(eq + 1)) };
        }),
        tokens.length,
      ];
    case 'base64len16': {
      const len = parseUint(text, 0xffff, name);
      if (len === 0) return [new Uint8Array(0), at + 1];
      const b = fromBase64(tokens[at + 1]?.text ?? '');
      if (b.length !== len) throw new WireError('bad-text', `${name}: length ${len} but ${b.length} bytes`);
      return [b, at + 2];
    }
  }
}

/**
 * Parses RDATA from presentation tokens. `\#` generic RDATA is accepted for every type and
 * checked against the type's layout (RFC 3597 §5). Relative names are completed with `origin`.
 */
export function rdataFromText(type: number, tokens: readonly TextToken[], origin?: Name): Uint8Array {
  if (tokens[0] && !tokens[0].quoted && tokens[0].text === '\\#') {
    const len = parseUint(tokens[1]?.text ?? '', 0xffff, 'generic RDATA length');
    const rdata = fromHex(tokens.slice(2).map((t) => t.text).join(''));
    if (rdata.length !== len) throw new WireError('bad-text', `generic RDATA says ${len} octets but has ${rdata.length}`);
    validateRdata(type, rdata);
    return rdata;
  }
  const schema = rdataSchema(type);
  if (!schema) throw new WireError('bad-text', `type ${typeToString(type)} needs the generic \\# form`);
  const fields: RdataFields = {};
  let at = 0;
  for (const field of schema.fields) {
    const [value, next] = fieldFromText(field.kind, field.name, tokens, at, origin);
    fields[field.name] = value as RdataFields[string];
    at = next;
  }
  if (at < tokens.length) throw new WireError('bad-text', `unexpected "${tokens[at]!.text}" after the RDATA`);
  return encodeRdata(type, fields);
}

/** The index of the `"` that closes a quoted string whose text starts at `from`. */
function closingQuote(text: string, from: number): number {
  for (let i = from; i < text.length; i++) {
    if (text[i] === '\\') i++;
    else if (text[i] === '"') return i;
  }
  throw new WireError('bad-text', 'unterminated quoted string');
}

/** Splits one line of RDATA text into tokens (quotes and escapes honoured). */
export function tokenizeRdata(text: string): TextToken[] {
  const tokens: TextToken[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (c === ' ' || c === '\t') {
      i++;
      continue;
    }
    let s = '';
    const quoted = c === '"';
    if (quoted) i++;
    for (; i < text.length; i++) {
      const ch = text[i]!;
      if (ch === '\\' && i + 1 < text.length) {
        s += ch + text[++i];
        continue;
      }
      if (quoted ? ch === '"' : ch === ' ' || ch === '\t') break;
      if (!quoted && ch === '"' && s.endsWith('=') && !s.endsWith('\\=')) {
        // `key="value"` is one token with its quotes, as in zone files (RFC 9460 SvcParams).
        const close = closingQuote(text, i + 1);
        s += text.slice(i, close + 1);
        i = close;
        continue;
      }
      s += ch;
    }
    if (quoted) {
      if (text[i] !== '"') throw new WireError('bad-text', 'unterminated quoted string');
      i++;
    }
    tokens.push({ text: s, quoted });
  }
  return tokens;
}
