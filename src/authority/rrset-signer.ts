import { type PrivateKeyHandle, signWith } from './private-key-handle.js';
import type { ResourceRecord } from '../wire/message.js';
import type { Name } from '../wire/name.js';
import { RRType } from '../wire/rr-type.js';
import { type RrsigFields, encodeRrsig, rrsigSignedData } from '../wire/signed-data.js';

export interface SigningKey {
  readonly zone: Name;
  readonly algorithm: number;
  readonly keyTag: number;
  /** In this process, or in a PKCS#11 token (private-key-handle.ts). */
  readonly privateKey: PrivateKeyHandle;
}

/** Seconds since the epoch (RRSIG times wrap per RFC 4034 §3.1.5; callers pass real ones). */
export interface SignatureWindow {
  readonly inception: number;
  readonly expiration: number;
}

/**
 * One RRSIG over one RRset. The label count leaves out a leading `*` (RFC 4034 §3.1.3) so
 * validators can tell a wildcard expansion; the original TTL is the RRset's TTL.
 */
export function signRrset(rrset: readonly ResourceRecord[], key: SigningKey, window: SignatureWindow): ResourceRecord {
  const pending = prepareRrsig(rrset, key, window);
  return finishRrsig(pending, signWith(key.algorithm, key.privateKey, pending.data));
}

/** An RRSIG waiting for its signature: the fields and the exact bytes to sign (so another thread can sign them). */
export interface PendingRrsig {
  readonly owner: ResourceRecord['name'];
  readonly class: number;
  readonly ttl: number;
  readonly fields: Omit<RrsigFields, 'signature'>;
  readonly data: Uint8Array;
}

export function prepareRrsig(rrset: readonly ResourceRecord[], key: SigningKey, window: SignatureWindow): PendingRrsig {
  const first = rrset[0];
  if (!first) throw new RangeError('cannot sign an empty RRset');
  const labels = first.name.labelCount - (first.name.isWildcard ? 1 : 0);
  let ttl = first.ttl;
  for (const r of rrset) if (r.ttl < ttl) ttl = r.ttl;
  const fields = {
    typeCovered: first.type,
    algorithm: key.algorithm,
    labels,
    originalTtl: ttl,
    expiration: window.expiration >>> 0,
    inception: window.inception >>> 0,
    keyTag: key.keyTag,
    signerName: key.zone,
  };
  return { owner: first.name, class: first.class, ttl, fields, data: rrsigSignedData(fields, rrset) };
}

export function finishRrsig(pending: PendingRrsig, signature: Uint8Array): ResourceRecord {
  return { name: pending.owner, type: RRType.RRSIG, class: pending.class, ttl: pending.ttl, rdata: encodeRrsig({ ...pending.fields, signature }) };
}
