import { NSEC3_HASH_SHA1, nsec3Hash } from '../crypto/nsec3-hash.js';
import type { ResourceRecord } from '../wire/message.js';
import type { Name } from '../wire/name.js';
import { encodeRdata } from '../wire/rdata-codec.js';
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
  return { hash, owner: zone.prepend(toBase32Hex(hash).toLowerCase()) };
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
  for (const o of [...included.values()]) {
    for (let n = o.name; n.labelCount > zone.labelCount + 1; ) {
      n = n.parent();
      if (included.has(n.key)) break;
      included.set(n.key, { name: n, types: new Set() });
    }
  }
  const hashed = [...included.values()].map((o) => ({ ...nsec3OwnerName(o.name, zone, options.salt, options.iterations), types: o.types, original: o.name }));
  hashed.sort((a, b) => Buffer.compare(a.hash, b.hash));
  for (let i = 1; i < hashed.length; i++)
    if (Buffer.compare(hashed[i]!.hash, hashed[i - 1]!.hash) === 0)
      throw new Nsec3CollisionError(`NSEC3 hash collision between ${hashed[i - 1]!.original.toString()} and ${hashed[i]!.original.toString()}: sign again with a salt`);
  const flags = options.optOut ? NSEC3_FLAG_OPT_OUT : 0;
  return hashed.map((h, i) => ({
    name: h.owner,
    type: RRType.NSEC3,
    class: options.class,
    ttl: options.ttl,
    rdata: encodeRdata(RRType.NSEC3, {
      hashAlgorithm: NSEC3_HASH_SHA1,
      flags,
      iterations: options.iterations,
      salt: options.salt,
      nextHashed: hashed[(i + 1) % hashed.length]!.hash,
      types: [...h.types],
    }),
  }));
}

/** The apex NSEC3PARAM (RFC 5155 §4): flags 0, TTL 0 as BIND and Knot write it. */
export function nsec3ParamRecord(zone: Name, cls: number, iterations: number, salt: Uint8Array): ResourceRecord {
  return { name: zone, type: RRType.NSEC3PARAM, class: cls, ttl: 0, rdata: encodeRdata(RRType.NSEC3PARAM, { hashAlgorithm: NSEC3_HASH_SHA1, flags: 0, iterations, salt }) };
}
