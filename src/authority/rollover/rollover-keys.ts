import { dsDigest, isSupportedDigestType } from '../../crypto/ds-digest.js';
import { keyTag } from '../../crypto/key-tag.js';
import { dssetToText, keysetToText } from '../../wire/key-files.js';
import type { ResourceRecord } from '../../wire/message.js';
import type { Name } from '../../wire/name.js';
import { decodeRdata, encodeRdata } from '../../wire/rdata-codec.js';
import { RRType } from '../../wire/rr-type.js';
import { type ManagedKey, dnskeyRdataOf, isPublished } from '../key-master.js';
import { deleteSignalRecords } from './unsign-sequence.js';
import type { KeyMetadata } from '../key-store.js';
import type { SigningPolicy } from '../signing-policy.js';
import type { ZoneSigningKey } from '../zone-signer.js';
import { algorithmRolloverOf, parentDsAlgorithm } from './algorithm-rollover.js';

/** RFC 5011 §3: the REVOKE bit of the DNSKEY flags (257 → 385). */
export const DNSKEY_REVOKE_FLAG = 0x0080;

/** The metadata of a KSK as published revoked: flags 385 and the key tag that follows from them. */
export function revokedMetadata(m: KeyMetadata): KeyMetadata {
  const flags = m.flags | DNSKEY_REVOKE_FLAG;
  return { ...m, flags, keyTag: keyTag(dnskeyRdataOf({ ...m, flags })) };
}

/** The DNSKEY RDATA of a key without its REVOKE bit: its identity, and what a DS is computed over. */
export function unrevokedDnskey(m: KeyMetadata): Uint8Array {
  return dnskeyRdataOf({ ...m, flags: m.flags & ~DNSKEY_REVOKE_FLAG });
}

/** In the DNSKEY RRset: every state but retired, and the two of an algorithm rollover that sign unpublished. */
export const isPublishedState = isPublished;

/** Whether a key in `state` makes signatures (with its role's share: signing-key-rule.ts). */
export function signsInState(m: Pick<KeyMetadata, 'state' | 'role'>): boolean {
  return m.state === 'active' || m.state === 'presigning' || m.state === 'unpublished' || (m.state === 'revoked' && m.role === 'ksk');
}

/**
 * The keys the signer uses while keys roll: every published key in the DNSKEY RRset (a revoked
 * KSK with flags 385), signing when active; a revoked KSK also signs the DNSKEY RRset, so
 * resolvers can verify the revocation with the key itself (RFC 5011 §2.1). Inactive ZSKs and
 * standby/next keys are published and sign nothing. In an algorithm rollover, `presigning` and
 * `unpublished` keys sign without being published (RFC 6781 §4.1.4).
 */
export function rolloverSigningKeys(zone: Name, keys: readonly ManagedKey[]): ZoneSigningKey[] {
  return keys
    .filter((k) => k.metadata.state !== 'retired')
    .map((k) => ({
      zone,
      algorithm: k.metadata.algorithm,
      keyTag: keyTag(k.dnskeyRdata),
      privateKey: k.privateKey,
      dnskeyRdata: k.dnskeyRdata,
      role: k.metadata.role,
      signs: signsInState(k.metadata),
      published: isPublishedState(k.metadata.state),
    }));
}

/**
 * The KSKs whose DS the parent should hold now: active and standby ones. A revoked key is left
 * out (a validator never uses it: RFC 5011 §2.1), as is a key on its way out. During an
 * algorithm rollover, only those of the old algorithm until the new DNSKEYs are in every cache,
 * then only those of the new one (RFC 6781 §4.1.4: the DS is replaced, not added to).
 */
export function parentDsKeys<K extends { metadata: KeyMetadata }>(keys: readonly K[]): K[] {
  const roll = algorithmRolloverOf(keys.map((k) => k.metadata));
  const algorithm = roll ? parentDsAlgorithm(roll) : undefined;
  return keys.filter(
    (k) => k.metadata.role === 'ksk' && (k.metadata.state === 'active' || k.metadata.state === 'standby') && (algorithm === undefined || k.metadata.algorithm === algorithm),
  );
}

/** DS RDATA for a key (computed over its DNSKEY without the REVOKE bit). */
export function dsRdataFor(zone: Name, m: KeyMetadata, digestType: number): Uint8Array {
  const dnskey = unrevokedDnskey(m);
  return encodeRdata(RRType.DS, { keyTag: keyTag(dnskey), algorithm: m.algorithm, digestType, digest: dsDigest(digestType, zone.lowercase().wire, dnskey) });
}

/** Whether a DS RDATA is the digest of this key (any supported digest type). */
export function dsMatchesKey(zone: Name, ds: Uint8Array, m: KeyMetadata): boolean {
  let f: { keyTag: number; algorithm: number; digestType: number; digest: Uint8Array };
  try {
    f = decodeRdata(RRType.DS, ds) as unknown as typeof f;
  } catch {
    return false;
  }
  const dnskey = unrevokedDnskey(m);
  if (f.algorithm !== m.algorithm || f.keyTag !== keyTag(dnskey) || !isSupportedDigestType(f.digestType)) return false;
  return Buffer.from(dsDigest(f.digestType, zone.lowercase().wire, dnskey)).equals(Buffer.from(f.digest));
}

/** The algorithm a DS RDATA names. */
export function dsAlgorithm(ds: Uint8Array): number | undefined {
  try {
    return (decodeRdata(RRType.DS, ds) as { algorithm: number }).algorithm;
  } catch {
    return undefined;
  }
}

/** The key tag a DS RDATA names (for messages). */
export function dsKeyTag(ds: Uint8Array): number | undefined {
  try {
    return (decodeRdata(RRType.DS, ds) as { keyTag: number }).keyTag;
  } catch {
    return undefined;
  }
}

/** The DS RRset the parent should publish for `zone` now. */
export function parentDsRecords(zone: Name, keys: readonly { metadata: KeyMetadata }[], policy: Pick<SigningPolicy, 'dsDigest' | 'dsTtl'>, cls = 1, digestType: number = policy.dsDigest): ResourceRecord[] {
  return parentDsKeys(keys).map((k) => ({ name: zone, type: RRType.DS, class: cls, ttl: policy.dsTtl, rdata: dsRdataFor(zone, k.metadata, digestType) }));
}

/**
 * CDS and CDNSKEY at the apex (RFC 7344 §3, RFC 8078): the DS RRset the parent should hold, so
 * a parent that scans for them updates the DS without a person. TTL: the DNSKEY TTL.
 */
export function parentSignalRecords(zone: Name, keys: readonly { metadata: KeyMetadata }[], policy: Pick<SigningPolicy, 'dsDigest' | 'dnskeyTtl'>, cls = 1): ResourceRecord[] {
  const wanted = parentDsKeys(keys);
  return [
    ...wanted.map((k) => ({ name: zone, type: RRType.CDS, class: cls, ttl: policy.dnskeyTtl, rdata: dsRdataFor(zone, k.metadata, policy.dsDigest) })),
    ...wanted.map((k) => ({ name: zone, type: RRType.CDNSKEY, class: cls, ttl: policy.dnskeyTtl, rdata: unrevokedDnskey(k.metadata) })),
  ];
}

/** `dsset-ZONE.` and `keyset-ZONE.` for the parent: the KSKs whose DS it should hold now. */
export function rolloverParentFiles(zone: Name, keys: readonly { metadata: KeyMetadata }[], policy: Pick<SigningPolicy, 'dsDigest' | 'dsTtl' | 'dnskeyTtl'>, digestType: number = policy.dsDigest): { dsset: string; keyset: string } {
  const wanted = parentDsKeys(keys);
  return {
    dsset: dssetToText(parentDsRecords(zone, keys, policy, 1, digestType)),
    keyset: keysetToText(wanted.map((k) => ({ name: zone, type: RRType.DNSKEY, class: 1, ttl: policy.dnskeyTtl, rdata: unrevokedDnskey(k.metadata) }))),
  };
}

/** TTLsig: the largest TTL of any RRset the signed zone will hold (its data, the DNSKEY and CDS/CDNSKEY RRsets). */
export function maxZoneTtl(records: readonly ResourceRecord[], dnskeyTtl: number): number {
  let max = dnskeyTtl;
  for (const r of records) if (r.ttl > max) max = r.ttl;
  return max;
}

/**
 * What the Key Master signs: the zone's data without CDS/CDNSKEY records of its own (the Key
 * Master publishes those), plus the CDS and CDNSKEY RRsets for the keys now.
 */
export function recordsToSign(zone: Name, unsigned: readonly ResourceRecord[], keys: readonly { metadata: KeyMetadata }[], policy: Pick<SigningPolicy, 'dsDigest' | 'dnskeyTtl'>, options: { readonly deleteSignal?: boolean } = {}): ResourceRecord[] {
  const cls = unsigned.find((r) => r.type === RRType.SOA)?.class ?? 1;
  const own = unsigned.filter((r) => !((r.type === RRType.CDS || r.type === RRType.CDNSKEY) && r.name.equals(zone)));
  // While the zone is being unsigned, the parent is asked to remove the DS (RFC 8078 §4) instead.
  return [...own, ...(options.deleteSignal ? deleteSignalRecords(zone, policy.dnskeyTtl, cls) : parentSignalRecords(zone, keys, policy, cls))];
}
