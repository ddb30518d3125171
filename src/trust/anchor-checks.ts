import { algorithmMnemonic, isSupportedAlgorithm } from '../crypto/algorithms.js';
import { dsDigestLength, isSupportedDigestType } from '../crypto/ds-digest.js';
import { publicKeyFromDnskey } from '../crypto/dnskey-public-key.js';
import { dnskeyFlags, DNSKEY_FLAG_ZONE, dsFields, isRevoked } from './trust-point.js';

/**
 * What makes DS or DNSKEY RDATA unfit to be a trust anchor, as one sentence, or undefined when it
 * is fit. An anchor the validator can never use would leave its trust point looking configured
 * while it validates nothing; refused at the door, the operator is told which record and why.
 */

const DIGEST_NAMES: Readonly<Record<number, string>> = { 1: 'SHA-1', 2: 'SHA-256', 3: 'GOST R 34.11-94', 4: 'SHA-384' };

function algorithmFault(algorithm: number): string | undefined {
  if (isSupportedAlgorithm(algorithm)) return undefined;
  const name = algorithmMnemonic(algorithm);
  return name === undefined ? `algorithm ${algorithm} is unknown` : `algorithm ${algorithm} (${name}) is not one Keymaster validates`;
}

export function dnskeyAnchorFault(rdata: Uint8Array): string | undefined {
  if ((dnskeyFlags(rdata) & DNSKEY_FLAG_ZONE) === 0) return `flags ${dnskeyFlags(rdata)}: the DNSKEY has no Zone Key flag (256); it cannot sign a zone`;
  if (isRevoked(rdata)) return 'the DNSKEY has the REVOKE flag; a revoked key is never a trust anchor (RFC 5011 §2.1)';
  if (rdata[2] !== 3) return `protocol ${rdata[2]} is not 3`;
  const bad = algorithmFault(rdata[3]!);
  if (bad) return bad;
  try {
    publicKeyFromDnskey(rdata[3]!, rdata.subarray(4));
  } catch (error) {
    return `the public key is not a usable algorithm ${rdata[3]} key: ${(error as Error).message}`;
  }
  return undefined;
}

export function dsAnchorFault(rdata: Uint8Array): string | undefined {
  const ds = dsFields(rdata);
  const bad = algorithmFault(ds.algorithm);
  if (bad) return bad;
  const name = DIGEST_NAMES[ds.digestType];
  if (!isSupportedDigestType(ds.digestType)) return name === undefined ? `digest type ${ds.digestType} is unknown` : `digest type ${ds.digestType} (${name}) is not one Keymaster validates`;
  const want = dsDigestLength(ds.digestType);
  if (ds.digest.length !== want) return `the digest has ${ds.digest.length} octets; digest type ${ds.digestType} (${name}) has ${want}`;
  return undefined;
}
