import { NSEC3_HASH_SHA1, nsec3Hash } from '../crypto/nsec3-hash.js';
import type { ResourceRecord } from '../wire/message.js';
import { Name } from '../wire/name.js';
import { encodeBitmap, encodeRdata } from '../wire/rdata-codec.js';
import { RRType } from '../wire/rr-type.js';
import { toBase32Hex } from '../wire/text-encoding.js';

/** RFC 5155 §3.1.2.1: the Opt-Out flag of NSEC3 (never set in NSEC3PARAM, §4.1.2). */
export const NSEC3_FLAG_OPT_OUT = 0x01;

export interface Nsec3ChainOptions {
  readonly iterations: number;
  readonly salt: Uint8Array;
  /** Leave unsigned delegations out of the chain and set the Opt-Out flag (RFC 5155 §6). */
  readonly optOut: boolean;
  readonly ttl: number;
  readonly class: number;
}

export interface Nsec3Owner {
  readonly name: Name;
  /** Types present at the name, RRSIG included when anything there is signed. */
  readonly types: ReadonlySet<number>;
  /** A delegation without DS: with Opt-Out it gets no NSEC3 of its own. */
  readonly insecureDelegation?: boolean;
}

/** Two owner names hashed to one value: the zone needs another salt (RFC 5155 §7.1). */
export class Nsec3CollisionError extends Error {
  override readonly name = 'Nsec3CollisionError';
}

/** The hashed owner name of `name` in `zone`: base32hex(hash) as the first label (RFC 5155 §3). */
export function nsec3OwnerName(name: Name, zone: Name, salt: Uint8Array, iterations: number): { hash: Uint8Array; owner: Name } {
  const hash = nsec3Hash(name.wire, salt, iterations);
  return { hash, owner: hashedOwner(hash, zone) };
}

/** `zone.prepend(label)` for the base32hex label, built in one copy (a big zone has one per name). */
function hashedOwner(hash: Uint8Array, zone: Name): Name {
  const label = toBase32Hex(hash).toLowerCase();
  const length = 1 + label.length + zone.wire.length;
  if (length > 255) return zone.prepend(label); // throws the name-too-long error
  const wire = new Uint8Array(length);
  wire[0] = label.length;
  wire.set(Buffer.from(label, 'latin1'), 1);
  wire.set(zone.wire, 1 + label.length);
  return new Name(wire);
}

/**
 * NSEC3 RDATA (RFC 5155 §3.2) written directly: the same bytes `encodeRdata(RRType.NSEC3, ...)`
 * makes, without its field-by-field schema walk, which was most of the cost of a big chain.
 */
function nsec3Rdata(flags: number, iterations: number, salt: Uint8Array, nextHashed: Uint8Array, bitmap: Uint8Array): Uint8Array {
  const out = new Uint8Array(6 + salt.length + nextHashed.length + bitmap.length);
  out[0] = NSEC3_HASH_SHA1;
  out[1] = flags;
  out[2] = iterations >> 8;
  out[3] = iterations & 0xff;
  out[4] = salt.length;
  out.set(salt, 5);
  let pos = 5 + salt.length;
  out[pos++] = nextHashed.length;
  out.set(nextHashed, pos);
  out.set(bitmap, pos + nextHashed.length);
  return out;
}

/** Type bitmaps of a big zone repeat (every host has A and RRSIG): encode each distinct set once. */
function bitmapCache(): (types: ReadonlySet<number>) => Uint8Array {
  const cache = new Map<string, Uint8Array>();
  return (types) => {
    // Keyed in the set's own order: the same types added in another order only cost one more entry.
    let key = '';
    for (const t of types) key += `${t},`;
    let bitmap = cache.get(key);
    if (!bitmap) cache.set(key, (bitmap = encodeBitmap([...types])));
    return bitmap;
  };
}

/**
 * The NSEC3 chain of a zone (RFC 5155 §7.1): one NSEC3 per authoritative owner name and per
 * empty non-terminal between them and the apex, in hash order, each naming the next hash
 * (the last the first) and the types at its original owner. With Opt-Out, unsigned
 * delegations and the empty non-terminals that exist only because of them are left out,
 * and every NSEC3 carries the Opt-Out flag. `owners` must exclude glue and occluded names.
 */
export function buildNsec3Chain(zone: Name, owners: readonly Nsec3Owner[], options: Nsec3ChainOptions): ResourceRecord[] {
  const included = new Map<string, { name: Name; types: ReadonlySet<number> }>();
  for (const o of owners) {
    if (options.optOut && o.insecureDelegation) continue;
    included.set(o.name.key, { name: o.name, types: o.types });
  }
  // Empty non-terminals: every ancestor of an included owner below the apex that holds no data.
  const apexLabels = zone.labelCount;
  for (const o of [...included.values()]) {
    let n = o.name;
    for (let labels = n.labelCount; labels > apexLabels + 1; labels--) {
      n = n.parent();
      if (included.has(n.key)) break;
      included.set(n.key, { name: n, types: new Set() });
    }
  }
  const hashed = [...included.values()].map((o) => {
    const hash = nsec3Hash(o.name.wire, options.salt, options.iterations);
    // Hex keeps the byte order of equal-length hashes, and strings compare far faster than Buffers.
    return { hash, order: Buffer.from(hash.buffer, hash.byteOffset, hash.length).toString('hex'), types: o.types, original: o.name };
  });
  hashed.sort((a, b) => (a.order < b.order ? -1 : a.order > b.order ? 1 : 0));
  for (let i = 1; i < hashed.length; i++)
    if (hashed[i]!.order === hashed[i - 1]!.order)
      throw new Nsec3CollisionError(`NSEC3 hash collision between ${hashed[i - 1]!.original.toString()} and ${hashed[i]!.original.toString()}: sign again with a salt`);
  const flags = options.optOut ? NSEC3_FLAG_OPT_OUT : 0;
  const bitmap = bitmapCache();
  return hashed.map((h, i) => ({
    name: hashedOwner(h.hash, zone),
    type: RRType.NSEC3,
    class: options.class,
    ttl: options.ttl,
    rdata: nsec3Rdata(flags, options.iterations, options.salt, hashed[(i + 1) % hashed.length]!.hash, bitmap(h.types)),
  }));
}

/** The apex NSEC3PARAM (RFC 5155 §4): flags 0, TTL 0 as BIND and Knot write it. */
export function nsec3ParamRecord(zone: Name, cls: number, iterations: number, salt: Uint8Array): ResourceRecord {
  return { name: zone, type: RRType.NSEC3PARAM, class: cls, ttl: 0, rdata: encodeRdata(RRType.NSEC3PARAM, { hashAlgorithm: NSEC3_HASH_SHA1, flags: 0, iterations, salt }) };
}
