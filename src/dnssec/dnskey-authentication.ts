import { isSupportedAlgorithm } from '../crypto/algorithms.js';
import { dsDigest, isSupportedDigestType } from '../crypto/ds-digest.js';
import { keyTag } from '../crypto/key-tag.js';
import { EdeCode } from '../wire/edns.js';
import type { ResourceRecord } from '../wire/message.js';
import type { Name } from '../wire/name.js';
import { decodeRdata } from '../wire/rdata-codec.js';
import { RRType } from '../wire/rr-type.js';
import { decodeDnskey } from './rrsig-signature.js';
import { DNSKEY_FLAG_REVOKE, DNSKEY_FLAG_ZONE, type SignatureCheck, type VerifyContext, usableZoneKeys, verifyRrset } from './rrset-verification.js';
import { type ValidationOutcome, bogus, insecure, secure } from './validation-outcome.js';

export interface DsFields {
  readonly keyTag: number;
  readonly algorithm: number;
  readonly digestType: number;
  readonly digest: Uint8Array;
}

export function decodeDs(rdata: Uint8Array): DsFields {
  return decodeRdata(RRType.DS, rdata) as unknown as DsFields;
}

export interface AuthenticatedKeys {
  /** secure: the RRset is signed by a trusted key; insecure: no anchor or DS this validator can use; bogus otherwise. */
  readonly outcome: ValidationOutcome;
  /** When secure: the zone's keys that may verify its data (zone key bit, not revoked). */
  readonly keys: Uint8Array[];
  /** The key tags that linked the RRset to the anchor or DS. */
  readonly linkedBy: number[];
  /** How long the authenticated set may be trusted, in seconds. */
  readonly ttl: number;
  readonly checks: readonly SignatureCheck[];
}

const equalBytes = (a: Uint8Array, b: Uint8Array) => a.length === b.length && Buffer.compare(a, b) === 0;

/** Two DNSKEYs are the same key when all but the REVOKE bit agree (RFC 5011 §2.1). */
export function sameKeyIgnoringRevoke(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length || a.length < 4) return false;
  return a[0] === b[0] && (a[1]! & ~DNSKEY_FLAG_REVOKE & 0xff) === (b[1]! & ~DNSKEY_FLAG_REVOKE & 0xff) && equalBytes(a.subarray(2), b.subarray(2));
}

/**
 * The DS records a validator may use (RFC 4035 §5.2, RFC 6840 §5.2): supported algorithm and
 * digest type; SHA-1 digests ignored when a SHA-256 one is present (RFC 4509 §3).
 */
export function usableDs(ds: readonly Uint8Array[]): DsFields[] {
  const fields = ds.flatMap((r) => {
    try {
      return [decodeDs(r)];
    } catch {
      return [];
    }
  });
  const supported = fields.filter((d) => isSupportedAlgorithm(d.algorithm) && isSupportedDigestType(d.digestType));
  const hasSha256 = supported.some((d) => d.digestType === 2);
  return hasSha256 ? supported.filter((d) => d.digestType !== 1) : supported;
}

/** Why a DS set gives nothing to validate with: EDE 1 or 2 of RFC 8914. */
export function unusableDsOutcome(zone: Name, ds: readonly Uint8Array[]): ValidationOutcome {
  const fields = ds.flatMap((r) => {
    try {
      return [decodeDs(r)];
    } catch {
      return [];
    }
  });
  const algorithms = fields.some((d) => isSupportedAlgorithm(d.algorithm));
  if (!algorithms) return insecure(`${zone}: DS only for algorithms this validator does not implement (${[...new Set(fields.map((d) => d.algorithm))].join(', ')}): treated as unsigned (RFC 4035 §5.2)`, EdeCode.UNSUPPORTED_DNSKEY_ALGORITHM);
  return insecure(`${zone}: DS only with digest types this validator does not implement (${[...new Set(fields.map((d) => d.digestType))].join(', ')}): treated as unsigned (RFC 6840 §5.2)`, EdeCode.UNSUPPORTED_DS_DIGEST_TYPE);
}

/**
 * Authenticates the DNSKEY RRset of `zone` (RFC 4035 §5.2): a key that matches a trusted
 * DNSKEY, or whose digest matches a usable DS, must itself sign the RRset; then every zone key
 * in the set is trusted for the zone's data. A revoked key never authenticates (RFC 5011 §2.1).
 * With trusted DS records but none usable, the zone is insecure, not bogus.
 */
export function authenticateDnskeyRrset(
  zone: Name,
  dnskeys: readonly ResourceRecord[],
  rrsigs: readonly ResourceRecord[],
  trusted: { readonly ds: readonly Uint8Array[]; readonly dnskey: readonly Uint8Array[] },
  ctx: VerifyContext,
): AuthenticatedKeys {
  const none = (outcome: ValidationOutcome, checks: readonly SignatureCheck[] = []): AuthenticatedKeys => ({ outcome, keys: [], linkedBy: [], ttl: 0, checks });
  const ds = usableDs(trusted.ds);
  const anchorKeys = trusted.dnskey.filter((k) => {
    const f = decodeDnskey(k);
    return isSupportedAlgorithm(f.algorithm) && (f.flags & DNSKEY_FLAG_REVOKE) === 0;
  });
  if (ds.length === 0 && anchorKeys.length === 0) {
    if (trusted.ds.length > 0) return none(unusableDsOutcome(zone, trusted.ds));
    if (trusted.dnskey.length > 0) return none(insecure(`${zone}: trust anchor keys only of algorithms this validator does not implement, or revoked`, EdeCode.UNSUPPORTED_DNSKEY_ALGORITHM));
    return none(insecure(`${zone}: nothing to validate with`));
  }
  const rrset = dnskeys.filter((r) => r.type === RRType.DNSKEY && r.name.equals(zone));
  if (rrset.length === 0) return none(bogus(`${zone}: no DNSKEY RRset, but the zone is signed (DS or trust anchor)`, EdeCode.DNSKEY_MISSING));
  const zoneKeys = usableZoneKeys(rrset.map((r) => r.rdata));

  // Keys of the set that are vouched for: by an anchor DNSKEY or by a DS digest.
  const linked: { rdata: Uint8Array; tag: number }[] = [];
  for (const key of zoneKeys) {
    const tag = keyTag(key);
    if (anchorKeys.some((a) => sameKeyIgnoringRevoke(a, key))) {
      linked.push({ rdata: key, tag });
      continue;
    }
    const algorithm = decodeDnskey(key).algorithm;
    const candidates = ds.filter((d) => d.keyTag === tag && d.algorithm === algorithm);
    for (const d of candidates) {
      if (equalBytes(dsDigest(d.digestType, zone.lowercase().wire, key), d.digest)) {
        linked.push({ rdata: key, tag });
        break;
      }
    }
  }
  if (linked.length === 0) {
    // Say why when the matching key is there but may not be used (RFC 8914 §4.12, RFC 5011 §2.1).
    const unusable = rrset.map((r) => r.rdata).find((key) => !zoneKeys.includes(key) && (anchorKeys.some((a) => sameKeyIgnoringRevoke(a, key)) || ds.some((d) => d.keyTag === keyTag(key) && d.algorithm === decodeDnskey(key).algorithm && equalBytes(dsDigest(d.digestType, zone.lowercase().wire, key), d.digest))));
    if (unusable) {
      const f = decodeDnskey(unusable);
      if ((f.flags & DNSKEY_FLAG_ZONE) === 0) return none(bogus(`${zone}: the DNSKEY the ${ds.length > 0 ? 'DS' : 'trust anchor'} names (key tag ${keyTag(unusable)}) has no Zone Key bit`, EdeCode.NO_ZONE_KEY_BIT_SET));
      if ((f.flags & DNSKEY_FLAG_REVOKE) !== 0) return none(bogus(`${zone}: the DNSKEY the ${ds.length > 0 ? 'DS' : 'trust anchor'} names (key tag ${keyTag(unusable)}) is revoked`, EdeCode.DNSKEY_MISSING));
    }
    const wanted = [...new Set([...ds.map((d) => d.keyTag), ...anchorKeys.map((k) => keyTag(k))])].join(', ');
    return none(bogus(`${zone}: no DNSKEY matches the ${ds.length > 0 ? 'DS' : 'trust anchor'} (key tag ${wanted})`, EdeCode.DNSKEY_MISSING));
  }
  const checks: SignatureCheck[] = [];
  let last: ValidationOutcome | undefined;
  for (const candidate of linked.slice(0, ctx.limits.maxKeysPerKeyTag)) {
    const verified = verifyRrset(rrset, rrsigs, zone, [candidate.rdata], ctx);
    checks.push(...verified.checks);
    if (verified.outcome.state === 'secure') {
      return {
        outcome: secure(`${zone}: DNSKEY RRset signed by key ${candidate.tag}, which matches the ${anchorKeys.some((a) => sameKeyIgnoringRevoke(a, candidate.rdata)) ? 'trust anchor' : 'DS'}`),
        keys: zoneKeys,
        linkedBy: [candidate.tag],
        ttl: verified.ttl,
        checks,
      };
    }
    last = verified.outcome;
  }
  return none(last ?? bogus(`${zone}: the DNSKEY RRset is not signed by a key the DS or anchor names`, EdeCode.DNSSEC_BOGUS), checks);
}
