import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { dsDigest, dsDigestLength, isSupportedDigestType } from '../crypto/ds-digest.js';
import { keyTag } from '../crypto/key-tag.js';
import { Name } from '../wire/name.js';
import { encodeRdata } from '../wire/rdata-codec.js';
import { RRType } from '../wire/rr-type.js';

/**
 * IANA's root-anchors.xml (RFC 9718 §2): a TrustAnchor with a Zone and KeyDigest elements,
 * each with attributes id, validFrom and optional validUntil, and children KeyTag, Algorithm,
 * DigestType, Digest (hex, white space allowed), and optionally PublicKey (base64) and Flags.
 */
export interface RootKeyDigest {
  readonly id: string;
  /** Milliseconds since the epoch. */
  readonly validFrom: number;
  readonly validUntil?: number;
  readonly keyTag: number;
  readonly algorithm: number;
  readonly digestType: number;
  readonly digest: Uint8Array;
  /** The DS RDATA this KeyDigest stands for. */
  readonly ds: Uint8Array;
  /** The DNSKEY RDATA when PublicKey and Flags are given (checked against the digest). */
  readonly dnskey?: Uint8Array;
}

export interface RootAnchors {
  readonly id?: string;
  readonly source?: string;
  readonly zone: Name;
  readonly keyDigests: readonly RootKeyDigest[];
}

export class RootAnchorsError extends Error {
  override readonly name = 'RootAnchorsError';
}

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: true,
  processEntities: false,
  isArray: (name) => name === 'KeyDigest',
});

function textOf(value: unknown, where: string, field: string): string {
  if (typeof value === 'string') return value;
  if (value === undefined) throw new RootAnchorsError(`${where}: missing <${field}>`);
  throw new RootAnchorsError(`${where}: <${field}> must hold text`);
}

function uint(value: unknown, max: number, where: string, field: string): number {
  const text = textOf(value, where, field).trim();
  if (!/^[0-9]{1,6}$/.test(text) || Number(text) > max) throw new RootAnchorsError(`${where}: <${field}> "${text}" is not an integer 0..${max}`);
  return Number(text);
}

/** xsd:dateTime as RFC 9718 uses it: "2017-02-02T00:00:00+00:00" (a zone is required). */
function dateTime(value: unknown, where: string, field: string): number {
  const text = typeof value === 'string' ? value.trim() : '';
  if (text === '') throw new RootAnchorsError(`${where}: missing ${field} attribute`);
  const ok = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/.test(text);
  const ms = ok ? Date.parse(text) : NaN;
  if (Number.isNaN(ms)) throw new RootAnchorsError(`${where}: ${field} "${text}" is not an xsd:dateTime such as 2017-02-02T00:00:00+00:00`);
  return ms;
}

/**
 * Parses and checks root-anchors.xml. Anything that is not the RFC 9718 format is an error
 * naming `fileName` and the element; a KeyDigest whose PublicKey does not hash to its Digest or
 * whose KeyTag is not the key's is rejected too (the file contradicts itself).
 */
export function parseRootAnchorsXml(text: string, fileName = 'root-anchors.xml'): RootAnchors {
  const valid = XMLValidator.validate(text);
  if (valid !== true) throw new RootAnchorsError(`${fileName}: not well-formed XML (line ${valid.err.line}): ${valid.err.msg}`);
  const doc = parser.parse(text) as Record<string, unknown>;
  const ta = doc['TrustAnchor'] as Record<string, unknown> | undefined;
  if (ta === undefined || typeof ta !== 'object') throw new RootAnchorsError(`${fileName}: the root element must be <TrustAnchor>`);
  const zoneText = textOf(ta['Zone'], fileName, 'Zone').trim();
  let zone: Name;
  try {
    zone = Name.parse(zoneText);
  } catch (error) {
    throw new RootAnchorsError(`${fileName}: <Zone> "${zoneText}" is not a domain name: ${(error as Error).message}`);
  }
  if (!zone.isRoot) throw new RootAnchorsError(`${fileName}: <Zone> is "${zoneText}"; a root-anchors file is for "."`);
  const digests = (ta['KeyDigest'] as unknown[] | undefined) ?? [];
  if (digests.length === 0) throw new RootAnchorsError(`${fileName}: no <KeyDigest> elements`);
  const keyDigests = digests.map((raw, i) => parseKeyDigest(raw, `${fileName}: KeyDigest #${i + 1}`, zone));
  const id = typeof ta['@_id'] === 'string' ? ta['@_id'] : undefined;
  const source = typeof ta['@_source'] === 'string' ? ta['@_source'] : undefined;
  return { zone, keyDigests, ...(id === undefined ? {} : { id }), ...(source === undefined ? {} : { source }) };
}

function parseKeyDigest(raw: unknown, where0: string, zone: Name): RootKeyDigest {
  if (raw === null || typeof raw !== 'object') throw new RootAnchorsError(`${where0}: must be an element with children`);
  const kd = raw as Record<string, unknown>;
  const id = typeof kd['@_id'] === 'string' ? kd['@_id'] : '';
  if (id === '') throw new RootAnchorsError(`${where0}: missing id attribute`);
  const where = `${where0.replace(/#\d+$/, '')} "${id}"`;
  const validFrom = dateTime(kd['@_validFrom'], where, 'validFrom');
  const validUntil = kd['@_validUntil'] === undefined ? undefined : dateTime(kd['@_validUntil'], where, 'validUntil');
  if (validUntil !== undefined && validUntil <= validFrom) throw new RootAnchorsError(`${where}: validUntil is not after validFrom`);
  const tag = uint(kd['KeyTag'], 0xffff, where, 'KeyTag');
  const algorithm = uint(kd['Algorithm'], 0xff, where, 'Algorithm');
  const digestType = uint(kd['DigestType'], 0xff, where, 'DigestType');
  const hex = textOf(kd['Digest'], where, 'Digest').replace(/\s+/g, '');
  if (hex === '' || !/^([0-9a-fA-F]{2})+$/.test(hex)) throw new RootAnchorsError(`${where}: <Digest> is not hexadecimal`);
  const digest = Uint8Array.from(Buffer.from(hex, 'hex'));
  if (isSupportedDigestType(digestType) && digest.length !== dsDigestLength(digestType))
    throw new RootAnchorsError(`${where}: <Digest> has ${digest.length} octets; digest type ${digestType} has ${dsDigestLength(digestType)}`);
  const ds = encodeRdata(RRType.DS, { keyTag: tag, algorithm, digestType, digest });
  let dnskey: Uint8Array | undefined;
  if (kd['PublicKey'] !== undefined || kd['Flags'] !== undefined) {
    if (kd['PublicKey'] === undefined || kd['Flags'] === undefined) throw new RootAnchorsError(`${where}: <PublicKey> and <Flags> come together`);
    const b64 = textOf(kd['PublicKey'], where, 'PublicKey').replace(/\s+/g, '');
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(b64)) throw new RootAnchorsError(`${where}: <PublicKey> is not base64`);
    const flags = uint(kd['Flags'], 0xffff, where, 'Flags');
    dnskey = encodeRdata(RRType.DNSKEY, { flags, protocol: 3, algorithm, publicKey: Uint8Array.from(Buffer.from(b64, 'base64')) });
    if (keyTag(dnskey) !== tag) throw new RootAnchorsError(`${where}: <KeyTag> ${tag} is not the tag of its <PublicKey> (${keyTag(dnskey)})`);
    if (isSupportedDigestType(digestType) && !Buffer.from(dsDigest(digestType, zone.wire, dnskey)).equals(Buffer.from(digest)))
      throw new RootAnchorsError(`${where}: <Digest> is not the digest of its <PublicKey>`);
  }
  return { id, validFrom, keyTag: tag, algorithm, digestType, digest, ds, ...(validUntil === undefined ? {} : { validUntil }), ...(dnskey ? { dnskey } : {}) };
}
