import { DEFAULT_KEY_FILE_TTL, keyFileNameInfo, type KeyFileKind } from '../wire/key-files.js';
import { Name } from '../wire/name.js';
import { rdataFromText, tokenizeRdata } from '../wire/rdata-text.js';
import { RRType, typeToString } from '../wire/rr-type.js';
import { ZoneFileError } from '../wire/zone-file-error.js';
import { parseZoneText } from '../wire/zone-file.js';
import { dnskeyAnchorFault, dsAnchorFault } from './anchor-checks.js';
import type { AnchorSource } from './anchor-source.js';
import type { RootAnchors } from './root-anchors-xml.js';
import { currentKeyTag, newAnchor, sameAnchor, zoneKey, type Anchor, type AnchorOrigin, type AnchorType, type TrustPoint } from './trust-point.js';

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

/** A key file's anchors, and the records refused (each message names the file and line). */
export interface KeyFileAnchors extends AnchorCandidate {
  readonly rejected: readonly string[];
}

function anchorFault(type: AnchorType, rdata: Uint8Array): string | undefined {
  return type === 'DNSKEY' ? dnskeyAnchorFault(rdata) : dsAnchorFault(rdata);
}

/**
 * A keyset- (DNSKEY) or dsset- (DS) file as BIND and a Key Master write it, record by record: the
 * trust point is the zone in the file name (BIND form, trailing dot optional), else the first
 * record's owner; a record of another owner or type, or one unfit as an anchor, is refused with
 * its line. Throws AnchorInputError (file and line) only when the file cannot be read as records
 * at all (bad syntax, garbage base64/hex, no records).
 */
export function readKeyFileAnchors(kind: KeyFileKind, text: string, fileName: string, now: number, source?: AnchorSource): KeyFileAnchors {
  const type: AnchorType = kind === 'keyset' ? 'DNSKEY' : 'DS';
  const rrtype = kind === 'keyset' ? RRType.DNSKEY : RRType.DS;
  let parsed;
  try {
    parsed = parseZoneText(text, { origin: Name.root, fileName, defaultTtl: DEFAULT_KEY_FILE_TTL });
  } catch (error) {
    throw new AnchorInputError(error instanceof ZoneFileError ? error.message : `${fileName}: ${(error as Error).message}`);
  }
  const info = keyFileNameInfo(fileName);
  const zone = info && info.kind === kind ? info.zone : parsed.records[0]?.name;
  if (!zone || parsed.records.length === 0) throw new AnchorInputError(`${fileName}: no ${typeToString(rrtype)} records`);
  const anchors: Anchor[] = [];
  const rejected: string[] = [];
  parsed.records.forEach((rr, i) => {
    const where = `${fileName}:${parsed.sources[i]!.line}`;
    const fault =
      rr.type !== rrtype
        ? `a ${kind} file holds only ${typeToString(rrtype)} records, found ${typeToString(rr.type)}`
        : !rr.name.equals(zone)
          ? `owner ${rr.name.toString()} is not the trust point ${zone.toString()}`
          : anchorFault(type, rr.rdata);
    if (fault !== undefined) rejected.push(`${where}: ${fault}`);
    else anchors.push(newAnchor(type, rr.rdata, { state: 'Valid', since: now, origin: kind, ...(source ? { source } : {}) }));
  });
  return { zone: zoneKey(zone), anchors, rejected };
}

/** A key file all of whose records must be fit (the API's import: all or nothing). */
export function anchorsFromKeyFile(kind: KeyFileKind, text: string, fileName: string, now: number, source?: AnchorSource): AnchorCandidate {
  const read = readKeyFileAnchors(kind, text, fileName, now, source);
  if (read.rejected.length > 0) throw new AnchorInputError(read.rejected.join('; '));
  return read;
}

/** `trust-anchor add ZONE --ds "20326 8 2 E06D…"` or `--dnskey "257 3 8 AwEAA…"`; errors name the field (ds, dnskey, zone). */
export function anchorFromRdataText(zone: Name | string, type: AnchorType, text: string, now: number, origin: AnchorOrigin = 'manual', source?: AnchorSource): AnchorCandidate {
  const field = type === 'DS' ? 'ds' : 'dnskey';
  let key: string;
  try {
    key = zoneKey(zone);
  } catch (error) {
    throw new AnchorInputError(`zone: "${String(zone)}" is not a domain name: ${(error as Error).message}`);
  }
  let rdata: Uint8Array;
  try {
    rdata = rdataFromText(type === 'DS' ? RRType.DS : RRType.DNSKEY, tokenizeRdata(text.trim()));
  } catch (error) {
    throw new AnchorInputError(`${field}: bad ${type} RDATA "${text}": ${(error as Error).message}`);
  }
  const fault = anchorFault(type, rdata);
  if (fault !== undefined) throw new AnchorInputError(`${field}: ${fault}`);
  return { zone: key, anchors: [newAnchor(type, rdata, { state: 'Valid', since: now, origin, ...(source ? { source } : {}) })] };
}

/**
 * The DS anchors of root-anchors.xml: every KeyDigest not yet expired at `now`, with its
 * validity window (a future one is stored and trusted from its validFrom). A digest becomes a
 * DNSKEY anchor only when a validated refresh shows the key it digests (rfc5011.ts).
 */
export function anchorsFromRootAnchors(xml: RootAnchors, now: number, source?: AnchorSource): AnchorCandidate {
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
        ...(source ? { source } : {}),
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
