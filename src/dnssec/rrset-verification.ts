import { isSupportedAlgorithm } from '../crypto/algorithms.js';
import { keyTag } from '../crypto/key-tag.js';
import { signatureFingerprint } from '../crypto/signature-fingerprint.js';
import { verifySignature } from '../crypto/sign-verify.js';
import { EdeCode } from '../wire/edns.js';
import type { ResourceRecord } from '../wire/message.js';
import type { Name } from '../wire/name.js';
import { RRType, typeToString } from '../wire/rr-type.js';
import { type RrsigFields, decodeRrsig, rrsigSignedData } from '../wire/signed-data.js';
import { decodeDnskey } from './rrsig-signature.js';
import type { ValidationBudget, ValidationLimits } from './validation-budget.js';
import { type ValidationOutcome, bogus, secure } from './validation-outcome.js';

/** Types whose signatures are checked again for many names: denial proofs, the SOA of negative answers, keys and DS. */
const SHARED_TYPES: ReadonlySet<number> = new Set([RRType.NSEC, RRType.NSEC3, RRType.SOA, RRType.DNSKEY, RRType.DS]);

/** Whether a signature is worth remembering: one RRset seen in the answers of many names, or a wildcard expansion (one signature for every name it makes). */
export function repeatsAcrossNames(type: number, wildcardExpansion: boolean): boolean {
  return wildcardExpansion || SHARED_TYPES.has(type);
}

export const DNSKEY_FLAG_ZONE = 0x0100;
export const DNSKEY_FLAG_REVOKE = 0x0080;
export const DNSKEY_FLAG_SEP = 0x0001;

/** What one validation needs besides the data: the time (unix seconds), the limits and this query's budget. */
export interface VerifyContext {
  readonly now: number;
  readonly limits: ValidationLimits;
  readonly budget: ValidationBudget;
  /** Fingerprints of signature checks that succeeded before: a repeat costs no verification. */
  readonly verified?: VerifiedSignatures;
}

/**
 * A memory of successful signature checks (the caller bounds it; an LRU fits). Only signatures
 * that are checked again for other names are put in it (repeatsAcrossNames): a plain RRset's
 * verdict is kept with the answer, so its fingerprint would be ~150 bytes a name that never pays.
 */
export interface VerifiedSignatures {
  has(fingerprint: string): boolean;
  add(fingerprint: string): void;
}

/** One RRSIG as it was judged, for `explain` and for the reason of a failure. */
export interface SignatureCheck {
  readonly keyTag: number;
  readonly algorithm: number;
  readonly signer: string;
  /** Absolute unix seconds: the 32-bit fields read by serial arithmetic around `now` (RFC 4034 §3.1.5). */
  readonly inception: number;
  readonly expiration: number;
  /** 'valid', or why the signature did not count. */
  readonly result: 'valid' | 'expired' | 'not-yet-valid' | 'no-key' | 'bad-signature' | 'unsupported-algorithm' | 'wrong-signer' | 'bad-labels' | 'skipped';
}

export interface VerifiedRrset {
  /** secure (a signature verified) or bogus. */
  readonly outcome: ValidationOutcome;
  /** The TTL the RRset may be kept for: capped by the original TTL and the signature's expiry (RFC 4035 §5.3.3). */
  readonly ttl: number;
  /** When the verifying signature covered a wildcard expansion: the wildcard's closest encloser (RFC 4035 §5.3.4). */
  readonly wildcardEncloser?: Name;
  /** The DNSKEY RDATA whose signature verified. */
  readonly key?: Uint8Array;
  readonly checks: readonly SignatureCheck[];
}

const coveredType = (sig: ResourceRecord) => (sig.rdata[0]! << 8) | sig.rdata[1]!;

/** An RRSIG time field (32-bit, serial arithmetic: RFC 4034 §3.1.5) as the absolute unix time nearest `now`. */
export function absoluteSignatureTime(field: number, now: number): number {
  const delta = (field - (now >>> 0)) | 0;
  return now + delta;
}

/** The zone-key DNSKEYs of a set that may verify signatures: zone key bit set, not revoked, protocol 3. */
export function usableZoneKeys(keys: readonly Uint8Array[]): Uint8Array[] {
  return keys.filter((k) => {
    const f = decodeDnskey(k);
    return f.protocol === 3 && (f.flags & DNSKEY_FLAG_ZONE) !== 0 && (f.flags & DNSKEY_FLAG_REVOKE) === 0;
  });
}

const owner = (rrset: readonly ResourceRecord[]) => rrset[0]!.name;
const describe = (rrset: readonly ResourceRecord[]) => `${owner(rrset)}/${typeToString(rrset[0]!.type)}`;

/**
 * RFC 4035 §5.3: whether `rrset` is signed by one of `keys` of zone `signer`. Each RRSIG is
 * checked for the covered type, the signer (the zone the caller walked to), the label count
 * (never more labels than the owner; fewer means a wildcard expansion the caller must prove),
 * its validity window with `limits.clockSkew` on both ends, and then cryptographically with
 * each key of matching algorithm and tag — at most `maxSignaturesPerRrset` RRSIGs and
 * `maxKeysPerKeyTag` keys each, every verification paid from the query's budget (KeyTrap).
 */
export function verifyRrset(rrset: readonly ResourceRecord[], rrsigs: readonly ResourceRecord[], signer: Name, keys: readonly Uint8Array[], ctx: VerifyContext): VerifiedRrset {
  const first = rrset[0];
  if (!first) throw new RangeError('verifyRrset needs at least one record');
  const what = describe(rrset);
  const zone = signer.toString();
  const checks: SignatureCheck[] = [];
  const candidates = rrsigs.filter((s) => s.name.equals(first.name) && coveredType(s) === first.type);
  if (candidates.length === 0) return { outcome: bogus(`${zone}: no RRSIG for ${what}`, EdeCode.RRSIGS_MISSING), ttl: 0, checks };

  const usable = usableZoneKeys(keys).map((rdata) => ({ rdata, tag: keyTag(rdata), algorithm: decodeDnskey(rdata).algorithm }));
  let tried = 0;
  for (const sigRecord of candidates) {
    let sig: RrsigFields;
    try {
      sig = decodeRrsig(sigRecord.rdata);
    } catch {
      continue;
    }
    // Absolute times, so that reasons name the real date after the 2106 wrap too.
    const inception = absoluteSignatureTime(sig.inception, ctx.now);
    const expiration = absoluteSignatureTime(sig.expiration, ctx.now);
    const record = (result: SignatureCheck['result']) => {
      checks.push({ keyTag: sig.keyTag, algorithm: sig.algorithm, signer: sig.signerName.toString(), inception, expiration, result });
    };
    if (!isSupportedAlgorithm(sig.algorithm)) {
      record('unsupported-algorithm'); // RFC 6840 §5.11: ignored, another RRSIG may do
      continue;
    }
    if (!sig.signerName.equals(signer)) {
      record('wrong-signer');
      continue;
    }
    // The label count may not exceed the owner's (a wildcard owner's "*" does not count).
    const ownerLabels = first.name.labelCount - (first.name.isWildcard ? 1 : 0);
    // Fewer labels than the signer has would expand a wildcard above the zone's apex.
    if (sig.labels > ownerLabels || sig.labels < signer.labelCount) {
      record('bad-labels');
      continue;
    }
    if (!first.name.isSubdomainOf(signer)) {
      record('wrong-signer');
      continue;
    }
    if (tried >= ctx.limits.maxSignaturesPerRrset) {
      record('skipped');
      continue;
    }
    tried++;
    if (expiration < inception) {
      record('expired');
      continue;
    }
    if (expiration + ctx.limits.clockSkew < ctx.now) {
      record('expired');
      continue;
    }
    if (inception - ctx.limits.clockSkew > ctx.now) {
      record('not-yet-valid');
      continue;
    }
    const matching = usable.filter((k) => k.tag === sig.keyTag && k.algorithm === sig.algorithm).slice(0, ctx.limits.maxKeysPerKeyTag);
    if (matching.length === 0) {
      record('no-key');
      continue;
    }
    let data: Uint8Array;
    try {
      data = rrsigSignedData(sig, rrset);
    } catch {
      record('bad-labels');
      continue;
    }
    let verified: Uint8Array | undefined;
    const memo = ctx.verified && repeatsAcrossNames(first.type, sig.labels < ownerLabels) ? ctx.verified : undefined;
    for (const key of matching) {
      const fingerprint = memo ? signatureFingerprint(key.rdata, data, sig.signature) : undefined;
      if (fingerprint && memo!.has(fingerprint)) {
        verified = key.rdata;
        break;
      }
      ctx.budget.spendSignatureCheck();
      if (verifySignature(sig.algorithm, decodeDnskey(key.rdata).publicKey, data, sig.signature)) {
        if (fingerprint) memo!.add(fingerprint);
        verified = key.rdata;
        break;
      }
    }
    if (!verified) {
      record('bad-signature');
      continue;
    }
    record('valid');
    const remaining = Math.max(0, expiration - ctx.now);
    const ttl = Math.min(sig.originalTtl, remaining, ...rrset.map((r) => r.ttl));
    const wildcard = sig.labels < ownerLabels ? first.name.suffix(sig.labels) : undefined;
    const detail = `${zone}: ${what} signed by key ${sig.keyTag} (algorithm ${sig.algorithm}), valid until ${new Date(expiration * 1000).toISOString()}${wildcard ? `, expanded from *.${wildcard}` : ''}`;
    return { outcome: secure(detail), ttl, key: verified, checks, ...(wildcard ? { wildcardEncloser: wildcard } : {}) };
  }
  return { outcome: failureOutcome(zone, what, checks), ttl: 0, checks };
}

/** The most telling reason among the RRSIGs that failed, with its RFC 8914 code. */
function failureOutcome(zone: string, what: string, checks: readonly SignatureCheck[]): ValidationOutcome {
  const has = (r: SignatureCheck['result']) => checks.find((c) => c.result === r);
  const iso = (t: number) => new Date(t * 1000).toISOString();
  const bad = has('bad-signature');
  if (bad) return bogus(`${zone}: the RRSIG by key ${bad.keyTag} over ${what} does not verify`, EdeCode.DNSSEC_BOGUS);
  const expired = has('expired');
  if (expired) return bogus(`${zone}: the RRSIG by key ${expired.keyTag} over ${what} expired at ${iso(expired.expiration)}`, EdeCode.SIGNATURE_EXPIRED);
  const early = has('not-yet-valid');
  if (early) return bogus(`${zone}: the RRSIG by key ${early.keyTag} over ${what} is not valid before ${iso(early.inception)}`, EdeCode.SIGNATURE_NOT_YET_VALID);
  const noKey = has('no-key');
  if (noKey) return bogus(`${zone}: no trusted DNSKEY with tag ${noKey.keyTag} (algorithm ${noKey.algorithm}) for the RRSIG over ${what}`, EdeCode.DNSKEY_MISSING);
  if (has('skipped')) return bogus(`${zone}: too many RRSIGs over ${what} (limit reached)`, EdeCode.DNSSEC_BOGUS);
  if (has('bad-labels')) return bogus(`${zone}: the RRSIG over ${what} has a label count outside the owner and its zone`, EdeCode.DNSSEC_BOGUS);
  if (has('wrong-signer')) return bogus(`${zone}: the RRSIG over ${what} names signer ${checks.find((c) => c.result === 'wrong-signer')!.signer}, not ${zone}`, EdeCode.DNSSEC_BOGUS);
  if (has('unsupported-algorithm')) return bogus(`${zone}: ${what} has RRSIGs only of algorithms this validator does not implement`, EdeCode.RRSIGS_MISSING);
  return bogus(`${zone}: no usable RRSIG for ${what}`, EdeCode.RRSIGS_MISSING);
}
