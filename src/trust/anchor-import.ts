import { isSupportedDigestType, dsDigestLength } from '../crypto/ds-digest.js';
import { keyFileNameInfo, parseKeyFile, type KeyFileKind } from '../wire/key-files.js';
import type { Name } from '../wire/name.js';
import { rdataFromText, tokenizeRdata } from '../wire/rdata-text.js';
import { RRType } from '../wire/rr-type.js';
import type { RootAnchors } from './root-anchors-xml.js';
import {
  currentKeyTag,
  dnskeyFlags,
  DNSKEY_FLAG_ZONE,
  dsFields,
  isRevoked,
  newAnchor,
  sameAnchor,
  zoneKey,
  type Anchor,
  type AnchorOrigin,
  type AnchorType,
  type TrustPoint,
} from './trust-point.js';

/**
 * Turning what an operator gives (keyset-/dsset- files, DS or DNSKEY RDATA, IANA's
 * root-anchors.xml) into anchors, and merging anchors into a trust point. Anchors given by the
 * operator are trusted at once (Valid): the operator is the out-of-band channel RFC 5011
 * assumes for the first anchor.
 */

export class AnchorInputError extends Error {
  override readonly name = 'AnchorInputError';
}

export interface AnchorCandidate {
  readonly zone: string;
  readonly anchors: readonly Anchor[];
}

function checkDnskey(rdata: Uint8Array, where: string): void {
  if ((dnskeyFlags(rdata) & DNSKEY_FLAG_ZONE) === 0) throw new AnchorInputError(`${where}: the DNSKEY has no zone key flag (256); it cannot sign a zone`);
  if (isRevoked(rdata)) throw new AnchorInputError(`${where}: the DNSKEY has the REVOKE flag; a revoked key is never a trust anchor (RFC 5011 §2.1)`);
  if (rdata[2] !== 3) throw new AnchorInputError(`${where}: DNSKEY protocol ${rdata[2]} is not 3`);
}

function checkDs(rdata: Uint8Array, where: string): void {
  const ds = dsFields(rdata);
  if (isSupportedDigestType(ds.digestType) && ds.digest.length !== dsDigestLength(ds.digestType))
    throw new AnchorInputError(`${where}: the digest has ${ds.digest.length} octets; digest type ${ds.digestType} has ${dsDigestLength(ds.digestType)}`);
}

/**
 * A keyset- (DNSKEY) or dsset- (DS) file as BIND and a Key Master write it; the zone comes from
 * the records (checked against the file name's when it has the BIND form, trailing dot optional).
 */
export function anchorsFromKeyFile(kind: KeyFileKind, text: string, fileName: string, now: number): AnchorCandidate {
  const info = keyFileNameInfo(fileName);
  let contents;
  try {
    contents = parseKeyFile(kind, text, { fileName, ...(info && info.kind === kind ? { zone: info.zone } : {}) });
  } catch (error) {
    throw new AnchorInputError((error as Error).message);
  }
  const type: AnchorType = kind === 'keyset' ? 'DNSKEY' : 'DS';
  const anchors = contents.records.map((rr, i) => {
    const where = `${fileName}: record ${i + 1}`;
    if (type === 'DNSKEY') checkDnskey(rr.rdata, where);
    else checkDs(rr.rdata, where);
    return newAnchor(type, rr.rdata, { state: 'Valid', since: now, origin: kind });
  });
  return { zone: zoneKey(contents.zone), anchors };
}

/** `trust-anchor add ZONE --ds "20326 8 2 E06D…"` or `--dnskey "257 3 8 AwEAA…"`. */
export function anchorFromRdataText(zone: Name | string, type: AnchorType, text: string, now: number, origin: AnchorOrigin = 'manual'): AnchorCandidate {
  let key: string;
  try {
    key = zoneKey(zone);
  } catch (error) {
    throw new AnchorInputError(`"${String(zone)}" is not a domain name: ${(error as Error).message}`);
  }
  let rdata: Uint8Array;
  try {
    rdata = rdataFromText(type === 'DS' ? RRType.DS : RRType.DNSKEY, tokenizeRdata(text.trim()));
  } catch (error) {
    throw new AnchorInputError(`bad ${type} RDATA "${text}": ${(error as Error).message}`);
  }
  if (type === 'DNSKEY') checkDnskey(rdata, `${type} RDATA`);
  else checkDs(rdata, `${type} RDATA`);
  return { zone: key, anchors: [newAnchor(type, rdata, { state: 'Valid', since: now, origin })] };
}

/**
 * The DS anchors of root-anchors.xml: every KeyDigest not yet expired at `now`, with its
 * validity window (a future one is stored and trusted from its validFrom). A digest becomes a
 * DNSKEY anchor only when a validated refresh shows the key it digests (rfc5011.ts).
 */
export function anchorsFromRootAnchors(xml: RootAnchors, now: number): AnchorCandidate {
  const anchors = xml.keyDigests
    .filter((kd) => kd.validUntil === undefined || kd.validUntil > now)
    .map((kd) =>
      newAnchor('DS', kd.ds, {
        state: 'Valid',
        since: now,
        origin: 'root-anchors.xml',
        validFrom: kd.validFrom,
        ...(kd.validUntil === undefined ? {} : { validUntil: kd.validUntil }),
        label: kd.id,
      }),
    );
  if (anchors.length === 0) throw new AnchorInputError('root-anchors.xml: every KeyDigest has expired (validUntil in the past)');
  return { zone: '.', anchors };
}

export interface MergeResult {
  readonly trustPoint: TrustPoint;
  readonly added: readonly Anchor[];
  /** Already there (in any state: a revoked or removed key is not brought back by an import). */
  readonly skipped: readonly Anchor[];
}

/** Adds anchors to the zone's trust point (created if absent); duplicates are skipped. */
export function mergeAnchors(existing: TrustPoint | undefined, candidate: AnchorCandidate, now: number): MergeResult {
  const tp: TrustPoint = existing ?? { zone: candidate.zone, anchors: [], createdAt: now, failures: 0 };
  const added: Anchor[] = [];
  const skipped: Anchor[] = [];
  for (const a of candidate.anchors) {
    if ([...tp.anchors, ...added].some((b) => sameAnchor(a, b))) skipped.push(a);
    else added.push(a);
  }
  // A trust point with new anchors is refreshed soon, so DS anchors turn into DNSKEY anchors.
  const { nextRefresh: _next, ...rest } = tp;
  const trustPoint = added.length === 0 ? tp : { ...rest, anchors: [...tp.anchors, ...added] };
  return { trustPoint, added, skipped };
}

/** Which anchors `trust-anchor remove ZONE KEYTAG` means: the tag as shown, or a revoked key's current tag (20454 for 20326). */
export function anchorsWithTag(tp: TrustPoint, tag: number): Anchor[] {
  return tp.anchors.filter((a) => a.keyTag === tag || currentKeyTag(a) === tag);
}
