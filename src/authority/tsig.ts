import { createHmac, timingSafeEqual } from 'node:crypto';
import { Rcode } from '../wire/message.js';
import { Name } from '../wire/name.js';
import { readName, skipName } from '../wire/name-codec.js';
import { RRClass, RRType } from '../wire/rr-type.js';
import { WireError } from '../wire/wire-error.js';
import type { TsigReplayGuard } from './tsig-replay-guard.js';

/**
 * TSIG (RFC 8945): HMAC transaction signatures over whole DNS messages. Pure: no I/O, the time
 * comes in as an argument (unix seconds). Messages are handled as bytes, because the MAC covers
 * the message exactly as it was sent (compression and all), not a re-encoding of it.
 */

/** TSIG errors (RFC 8945 §3; the TSIG RR's Error field). The header RCODE of such an answer is NOTAUTH. */
export const TsigError = { NOERROR: 0, BADSIG: Rcode.BADSIG, BADKEY: Rcode.BADKEY, BADTIME: Rcode.BADTIME, BADTRUNC: Rcode.BADTRUNC } as const;

/** RFC 8945 §6: the algorithm names and their hashes. HMAC-MD5 is kept to check old peers' messages; it is not offered for keys. */
const ALGORITHMS = new Map<string, { readonly hash: string; readonly length: number }>([
  ['hmac-md5.sig-alg.reg.int.', { hash: 'md5', length: 16 }],
  ['hmac-sha1.', { hash: 'sha1', length: 20 }],
  ['hmac-sha224.', { hash: 'sha224', length: 28 }],
  ['hmac-sha256.', { hash: 'sha256', length: 32 }],
  ['hmac-sha384.', { hash: 'sha384', length: 48 }],
  ['hmac-sha512.', { hash: 'sha512', length: 64 }],
]);

/** The algorithm names a key may be configured with (BIND's spelling: `hmac-sha256`). */
export const TSIG_KEY_ALGORITHMS = ['hmac-sha1', 'hmac-sha224', 'hmac-sha256', 'hmac-sha384', 'hmac-sha512'] as const;
export type TsigKeyAlgorithm = (typeof TSIG_KEY_ALGORITHMS)[number];

/**
 * RFC 8945 §5.2.3 recommends 300 seconds. It is also the server's own bound on the time window:
 * the Fudge a request carries is the signer's choice, so it may narrow the window, never widen it.
 */
export const DEFAULT_FUDGE = 300;

export interface TsigKey {
  /** The key name, as both ends spell it (compared case-insensitively). */
  readonly name: Name;
  /** The algorithm name, e.g. `hmac-sha256.`. */
  readonly algorithm: Name;
  readonly secret: Uint8Array;
}

/** The algorithm name of `hmac-sha256` and the like (`hmac-md5` is the long RFC 2845 name). */
export function tsigAlgorithmName(text: string): Name {
  const t = text.toLowerCase().replace(/\.$/, '');
  const name = t === 'hmac-md5' ? 'hmac-md5.sig-alg.reg.int.' : `${t}.`;
  if (!ALGORITHMS.has(name)) throw new RangeError(`unknown TSIG algorithm "${text}" (use ${TSIG_KEY_ALGORITHMS.join(', ')})`);
  return Name.parse(name);
}

export function isKnownTsigAlgorithm(algorithm: Name): boolean {
  return ALGORITHMS.has(algorithm.lowercase().toString());
}

/** The fields of a TSIG RR's RDATA (RFC 8945 §4.2). */
export interface TsigFields {
  readonly algorithm: Name;
  /** Unix seconds (48 bits on the wire). */
  readonly timeSigned: number;
  readonly fudge: number;
  readonly mac: Uint8Array;
  readonly originalId: number;
  readonly error: number;
  readonly otherData: Uint8Array;
}

/** A message with its TSIG RR taken off. */
export interface SignedMessage {
  readonly keyName: Name;
  readonly tsig: TsigFields;
  /**
   * The message as the MAC covers it (RFC 8945 §4.3.3): the bytes before the TSIG RR, with
   * ARCOUNT one less and the ID put back to the Original ID.
   */
  readonly unsigned: Uint8Array;
}

/** A TSIG RR in the wrong place or malformed: the answer is FORMERR (RFC 8945 §5.1). */
export class TsigFormatError extends Error {
  override readonly name = 'TsigFormatError';
}

const u16 = (b: Uint8Array, p: number) => (b[p]! << 8) | b[p + 1]!;

/**
 * Finds the TSIG RR of a message. Undefined when there is none; TsigFormatError when there is
 * one that is not the last record of the additional section, or several, or it is malformed;
 * WireError when the message itself does not parse.
 */
export function extractTsig(wire: Uint8Array): SignedMessage | undefined {
  if (wire.length < 12) throw new WireError('truncated', 'shorter than a DNS header', 0);
  const counts = [u16(wire, 4), u16(wire, 6), u16(wire, 8), u16(wire, 10)];
  let pos = 12;
  for (let i = 0; i < counts[0]!; i++) {
    pos = Math.abs(skipName(wire, pos, true, wire.length, 'truncated')) + 4;
    if (pos > wire.length) throw new WireError('truncated', 'question runs past the end', pos);
  }
  const records = counts[1]! + counts[2]! + counts[3]!;
  let tsigAt = -1;
  let tsigIndex = -1;
  for (let i = 0; i < records; i++) {
    const start = pos;
    pos = Math.abs(skipName(wire, pos, true, wire.length, 'truncated'));
    if (pos + 10 > wire.length) throw new WireError('truncated', 'record header runs past the end', pos);
    const type = u16(wire, pos);
    const rdlength = u16(wire, pos + 8);
    pos += 10 + rdlength;
    if (pos > wire.length) throw new WireError('truncated', 'RDATA runs past the end', pos);
    if (type === RRType.TSIG) {
      if (tsigAt >= 0) throw new TsigFormatError('more than one TSIG record');
      tsigAt = start;
      tsigIndex = i;
    }
  }
  if (pos !== wire.length) throw new WireError('trailing-data', `${wire.length - pos} bytes after the last record`, pos);
  if (tsigAt < 0) return undefined;
  if (tsigIndex !== records - 1 || counts[3] === 0) throw new TsigFormatError('the TSIG record is not the last record of the additional section');

  const owner = readName(wire, tsigAt, true);
  let p = owner.end;
  const cls = u16(wire, p + 2);
  const ttl = ((wire[p + 4]! << 24) >>> 0) + (wire[p + 5]! << 16) + (wire[p + 6]! << 8) + wire[p + 7]!;
  const end = p + 10 + u16(wire, p + 8);
  p += 10;
  if (cls !== RRClass.ANY || ttl !== 0) throw new TsigFormatError('a TSIG record must have class ANY and TTL 0');
  let algorithm: Name;
  try {
    const a = readName(wire, p, false, end, 'bad-rdlength');
    algorithm = a.name;
    p = a.end;
  } catch (error) {
    throw new TsigFormatError(`bad TSIG algorithm name: ${(error as Error).message}`);
  }
  const need = (n: number) => {
    if (p + n > end) throw new TsigFormatError('TSIG RDATA is shorter than its fields');
  };
  need(10);
  const timeSigned = u16(wire, p) * 2 ** 32 + ((wire[p + 2]! << 24) >>> 0) + (wire[p + 3]! << 16) + (wire[p + 4]! << 8) + wire[p + 5]!;
  const fudge = u16(wire, p + 6);
  const macSize = u16(wire, p + 8);
  p += 10;
  need(macSize + 6);
  const mac = wire.slice(p, p + macSize);
  p += macSize;
  const originalId = u16(wire, p);
  const error = u16(wire, p + 2);
  const otherLength = u16(wire, p + 4);
  p += 6;
  need(otherLength);
  const otherData = wire.slice(p, p + otherLength);
  p += otherLength;
  if (p !== end) throw new TsigFormatError('TSIG RDATA is longer than its fields');

  const unsigned = wire.slice(0, tsigAt);
  unsigned[0] = originalId >> 8;
  unsigned[1] = originalId & 0xff;
  const arcount = counts[3]! - 1;
  unsigned[10] = arcount >> 8;
  unsigned[11] = arcount & 0xff;
  return { keyName: owner.name, tsig: { algorithm, timeSigned, fudge, mac, originalId, error, otherData }, unsigned };
}

function u48(n: number): Uint8Array {
  const out = new Uint8Array(6);
  const high = Math.floor(n / 2 ** 32);
  const low = n >>> 0;
  out[0] = (high >> 8) & 0xff;
  out[1] = high & 0xff;
  out[2] = low >>> 24;
  out[3] = (low >>> 16) & 0xff;
  out[4] = (low >>> 8) & 0xff;
  out[5] = low & 0xff;
  return out;
}

function u16Bytes(n: number): Uint8Array {
  return Uint8Array.of((n >> 8) & 0xff, n & 0xff);
}

/** The TSIG variables of RFC 8945 §4.3.3: names in canonical (lowercase, uncompressed) form. */
function tsigVariables(keyName: Name, t: Omit<TsigFields, 'mac' | 'originalId'>): Uint8Array[] {
  return [
    keyName.lowercase().wire,
    u16Bytes(RRClass.ANY),
    new Uint8Array(4), // TTL 0
    t.algorithm.lowercase().wire,
    u48(t.timeSigned),
    u16Bytes(t.fudge),
    u16Bytes(t.error),
    u16Bytes(t.otherData.length),
    t.otherData,
  ];
}

/**
 * The MAC of RFC 8945 §4.3.3: over the request MAC (with its length, for a response), the
 * message, and the TSIG variables.
 */
export function computeTsigMac(key: TsigKey, message: Uint8Array, fields: Omit<TsigFields, 'mac' | 'originalId'>, requestMac?: Uint8Array): Uint8Array {
  const alg = ALGORITHMS.get(key.algorithm.lowercase().toString());
  if (!alg) throw new RangeError(`unknown TSIG algorithm ${key.algorithm.toString()}`);
  const hmac = createHmac(alg.hash, key.secret);
  if (requestMac) {
    hmac.update(u16Bytes(requestMac.length));
    hmac.update(requestMac);
  }
  hmac.update(message);
  for (const part of tsigVariables(key.name, fields)) hmac.update(part);
  return new Uint8Array(hmac.digest());
}

/** The TSIG RR (owner, class ANY, TTL 0) as wire bytes, names uncompressed. */
function tsigRecordWire(keyName: Name, t: TsigFields): Uint8Array {
  const rdata = [t.algorithm.wire, u48(t.timeSigned), u16Bytes(t.fudge), u16Bytes(t.mac.length), t.mac, u16Bytes(t.originalId), u16Bytes(t.error), u16Bytes(t.otherData.length), t.otherData];
  const rdlength = rdata.reduce((n, part) => n + part.length, 0);
  const head = new Uint8Array(10);
  head.set(u16Bytes(RRType.TSIG), 0);
  head.set(u16Bytes(RRClass.ANY), 2);
  head.set(u16Bytes(rdlength), 8);
  return Buffer.concat([keyName.wire, head, ...rdata]);
}

export interface TsigSignOptions {
  /** Unix seconds. */
  readonly now: number;
  readonly fudge?: number;
  /** For a response: the MAC of the request it answers. */
  readonly requestMac?: Uint8Array;
  readonly error?: number;
  readonly otherData?: Uint8Array;
  /** Default `now`; a BADTIME answer repeats the request's time (RFC 8945 §5.2.3). */
  readonly timeSigned?: number;
  /** Truncate the MAC to this many octets (RFC 8945 §5.2.2.1); default the full MAC. */
  readonly macLength?: number;
  /** Sign with an empty MAC (the unsigned error answers of RFC 8945 §5.3.2). */
  readonly unsignedError?: boolean;
  /** A later message of a multi-message answer (RFC 8945 §5.3.1): `requestMac` is the prior message's MAC. */
  readonly timersOnly?: boolean;
}

/** `message` with a TSIG RR appended (ARCOUNT one more), signed with `key`. */
export function signTsig(message: Uint8Array, key: TsigKey, o: TsigSignOptions): Uint8Array {
  const base = {
    algorithm: key.algorithm,
    timeSigned: o.timeSigned ?? o.now,
    fudge: o.fudge ?? DEFAULT_FUDGE,
    error: o.error ?? TsigError.NOERROR,
    otherData: o.otherData ?? new Uint8Array(0),
  };
  let mac: Uint8Array = new Uint8Array(0);
  if (!o.unsignedError) {
    mac = o.timersOnly ? computeTsigTimersMac(key, [message], base.timeSigned, base.fudge, o.requestMac ?? new Uint8Array(0)) : computeTsigMac(key, message, base, o.requestMac);
    if (o.macLength !== undefined && o.macLength < mac.length) mac = mac.slice(0, o.macLength);
  }
  const record = tsigRecordWire(key.name, { ...base, mac, originalId: u16(message, 0) });
  const out = new Uint8Array(message.length + record.length);
  out.set(message, 0);
  out.set(record, message.length);
  const arcount = u16(message, 10) + 1;
  out[10] = arcount >> 8;
  out[11] = arcount & 0xff;
  return out;
}

/** How a signed request fared (RFC 8945 §5.2), with what its answer needs. */
export type TsigVerification =
  | { readonly ok: true; readonly key: TsigKey; readonly request: SignedMessage }
  | {
      readonly ok: false;
      /** BADKEY, BADSIG or BADTIME (answered NOTAUTH), or FORMERR for a malformed MAC. */
      readonly error: number;
      readonly reason: string;
      readonly request: SignedMessage;
      /** Set for BADTIME: the MAC was good, so the answer is signed. */
      readonly key?: TsigKey;
    };

export interface TsigVerifyOptions {
  /** The server's bound on the time window, seconds (default DEFAULT_FUDGE): min(this, the request's Fudge) applies. */
  readonly maxFudge?: number;
  /** When given, a request whose MAC was accepted before inside its window is refused as BADTIME (a replay). */
  readonly replay?: TsigReplayGuard;
}

/**
 * Checks a request's TSIG in RFC 8945 §5.2's order: the key (name and algorithm) is known,
 * then the MAC (a truncated MAC must keep at least max(10, half the hash) octets, §5.2.2.1),
 * then the time (|now - Time Signed| within the request's Fudge and the server's bound), then
 * that it is not a replay of a request accepted inside the window.
 */
export function verifyTsig(request: SignedMessage, findKey: (name: Name) => TsigKey | undefined, now: number, options: TsigVerifyOptions = {}): TsigVerification {
  const { tsig, keyName } = request;
  const key = findKey(keyName);
  if (!key || !key.algorithm.equals(tsig.algorithm) || !isKnownTsigAlgorithm(tsig.algorithm))
    return { ok: false, error: TsigError.BADKEY, reason: key ? `key ${keyName.toString()} is not a ${tsig.algorithm.toString()} key` : `unknown key ${keyName.toString()}`, request };
  const full = ALGORITHMS.get(tsig.algorithm.lowercase().toString())!.length;
  const size = tsig.mac.length;
  if (size > full || (size > 0 && size < Math.max(10, Math.ceil(full / 2))))
    return { ok: false, error: Rcode.FORMERR, reason: `MAC of ${size} octets for a ${full}-octet ${tsig.algorithm.toString()}`, request };
  if (size === 0) return { ok: false, error: TsigError.BADSIG, reason: 'empty MAC', request };
  const expected = computeTsigMac(key, request.unsigned, tsig).subarray(0, size);
  if (!timingSafeEqual(expected, tsig.mac)) return { ok: false, error: TsigError.BADSIG, reason: 'the MAC does not verify', request };
  const window = Math.min(tsig.fudge, options.maxFudge ?? DEFAULT_FUDGE);
  if (Math.abs(now - tsig.timeSigned) > window)
    return { ok: false, error: TsigError.BADTIME, reason: `signed at ${tsig.timeSigned}, ${now - tsig.timeSigned} s from now (window ${window} s: fudge ${tsig.fudge}, this server's bound ${options.maxFudge ?? DEFAULT_FUDGE})`, request, key };
  if (options.replay?.replayed(keyName, tsig.mac, tsig.timeSigned, now))
    return { ok: false, error: TsigError.BADTIME, reason: 'replayed: a request with this MAC was already accepted inside its time window', request, key };
  return { ok: true, key, request };
}

/**
 * Signs the answer to a TSIG request as RFC 8945 §5.3 says: a verified request gets an answer
 * signed over its MAC; BADTIME too, repeating its Time Signed with ours in Other Data; BADKEY
 * and BADSIG get a TSIG RR with the error and an empty MAC (never a signed one), under the
 * request's key name and algorithm; a malformed MAC (FORMERR) gets no TSIG RR at all.
 */
export function signTsigResponse(response: Uint8Array, verification: TsigVerification, now: number): Uint8Array {
  const { request } = verification;
  const macLength = request.tsig.mac.length;
  if (verification.ok) return signTsig(response, verification.key, { now, requestMac: request.tsig.mac, macLength });
  if (verification.error === TsigError.BADTIME && verification.key)
    return signTsig(response, verification.key, { now, requestMac: request.tsig.mac, error: TsigError.BADTIME, timeSigned: request.tsig.timeSigned, otherData: u48(now), macLength });
  if (verification.error === Rcode.FORMERR) return response; // a malformed TSIG gets a plain FORMERR
  const pseudoKey: TsigKey = { name: request.keyName, algorithm: request.tsig.algorithm, secret: new Uint8Array(0) };
  return signTsig(response, pseudoKey, { now, error: verification.error, unsignedError: true });
}

/**
 * The MAC of a later message of a multi-message answer (RFC 8945 §5.3.1): over the prior MAC
 * (with its length), every message since it (unsigned ones included), and the timers alone.
 */
export function computeTsigTimersMac(key: TsigKey, messages: readonly Uint8Array[], timeSigned: number, fudge: number, priorMac: Uint8Array): Uint8Array {
  const alg = ALGORITHMS.get(key.algorithm.lowercase().toString());
  if (!alg) throw new RangeError(`unknown TSIG algorithm ${key.algorithm.toString()}`);
  const hmac = createHmac(alg.hash, key.secret);
  hmac.update(u16Bytes(priorMac.length));
  hmac.update(priorMac);
  for (const m of messages) hmac.update(m);
  hmac.update(u48(timeSigned));
  hmac.update(u16Bytes(fudge));
  return new Uint8Array(hmac.digest());
}
