import type { Name } from '../wire/name.js';
import { RRType } from '../wire/rr-type.js';
import type { ZoneSigningKey } from './zone-signer.js';

/**
 * Which of a zone's keys sign which RRset: the one rule that whole-zone signing, incremental
 * changes and signature refresh all follow, so no path signs an RRset with other keys than
 * another path would.
 *
 * - the apex DNSKEY RRset: every signing KSK (RFC 4035 §2.1; an RFC 5011 revoked KSK signs it
 *   too, RFC 5011 §2.1, and while the algorithm is rolled the KSKs of both algorithms do);
 * - the apex CDS and CDNSKEY RRsets: the signing ZSKs as every RRset, and the signing KSKs that
 *   are not revoked (RFC 7344 §4.1: signed by a key the parent's DS names, so a parent can
 *   authenticate them from its own DS RRset);
 * - every other RRset: the signing ZSKs (the KSKs when the zone has no ZSK).
 *
 * Keys of every algorithm in play sign, so every algorithm of the DNSKEY RRset signs every
 * RRset (RFC 4035 §2.2), and during an algorithm rollover the new algorithm signs before its
 * keys are published and the old one after they are withdrawn (RFC 6781 §4.1.4).
 */
export interface RrsetSigners {
  /** The apex DNSKEY RRset's. */
  readonly dnskey: readonly ZoneSigningKey[];
  /** The apex CDS and CDNSKEY RRsets'. */
  readonly parentSignals: readonly ZoneSigningKey[];
  /** Every other RRset's. */
  readonly other: readonly ZoneSigningKey[];
}

/** RFC 5011 §3: the REVOKE bit of the DNSKEY flags (the first two octets of the RDATA). */
const REVOKE_FLAG = 0x0080;

function isRevoked(key: ZoneSigningKey): boolean {
  return (((key.dnskeyRdata[0]! << 8) | key.dnskeyRdata[1]!) & REVOKE_FLAG) !== 0;
}

/** The signers of each kind of RRset, from the zone's keys (only those with `signs !== false` sign). */
export function rrsetSigners(keys: readonly ZoneSigningKey[]): RrsetSigners {
  const signing = keys.filter((k) => k.signs !== false);
  const ksks = signing.filter((k) => k.role === 'ksk');
  const zsks = signing.some((k) => k.role === 'zsk') ? signing.filter((k) => k.role === 'zsk') : ksks;
  const parentSignals = [...zsks, ...ksks.filter((k) => !isRevoked(k) && !zsks.includes(k))];
  return { dnskey: ksks, parentSignals, other: zsks };
}

/** The keys that sign the RRset of `type` at `owner` in `zone`. */
export function signersOf(signers: RrsetSigners, zone: Name, owner: Name, type: number): readonly ZoneSigningKey[] {
  if (type === RRType.DNSKEY && owner.equals(zone)) return signers.dnskey;
  if ((type === RRType.CDS || type === RRType.CDNSKEY) && owner.equals(zone)) return signers.parentSignals;
  return signers.other;
}
