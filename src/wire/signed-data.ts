import { canonicalRrsetWire } from './canonical.js';
import type { ResourceRecord } from './message.js';
import { Name } from './name.js';
import { decodeRdata, encodeRdata } from './rdata-codec.js';
import { RRType } from './rr-type.js';

/** The RRSIG RDATA fields (RFC 4034 §3.1). */
export interface RrsigFields {
  readonly typeCovered: number;
  readonly algorithm: number;
  readonly labels: number;
  readonly originalTtl: number;
  readonly expiration: number;
  readonly inception: number;
  readonly keyTag: number;
  readonly signerName: Name;
  readonly signature: Uint8Array;
}

export function decodeRrsig(rdata: Uint8Array): RrsigFields {
  return decodeRdata(RRType.RRSIG, rdata) as unknown as RrsigFields;
}

export function encodeRrsig(fields: RrsigFields): Uint8Array {
  return encodeRdata(RRType.RRSIG, fields as unknown as Record<string, never>);
}

/**
 * The owner an RRSIG covers: the RRset's owner, or for a wildcard expansion `*.` plus its
 * rightmost `labels` labels (RFC 4035 §5.3.2). Undefined when `labels` exceeds the owner's.
 */
export function signedOwner(owner: Name, labels: number): Name | undefined {
  const count = owner.labelCount;
  if (labels > count) return undefined;
  if (labels === count) return owner;
  return owner.suffix(labels).prepend('*');
}

/**
 * The exact bytes a signature covers (RFC 4034 §3.1.8.1): the RRSIG RDATA without the
 * signature, the signer name in canonical form, then the RRset in canonical form and order
 * with the original TTL.
 */
export function rrsigSignedData(rrsig: Omit<RrsigFields, 'signature'>, rrset: readonly ResourceRecord[]): Uint8Array {
  const first = rrset[0];
  if (!first) throw new RangeError('an RRset needs at least one record');
  const owner = signedOwner(first.name, rrsig.labels);
  if (!owner) throw new RangeError(`RRSIG labels ${rrsig.labels} above the owner's ${first.name.labelCount}`);
  const prefix = encodeRrsig({ ...rrsig, signerName: rrsig.signerName.lowercase(), signature: new Uint8Array(0) });
  const records = canonicalRrsetWire(rrset, rrsig.originalTtl, owner);
  const out = new Uint8Array(prefix.length + records.length);
  out.set(prefix);
  out.set(records, prefix.length);
  return out;
}
