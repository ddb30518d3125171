import { X509Certificate, createHash, verify as verifySignature } from 'node:crypto';
import { DerError, DerTag, type DerElement, children, expectTag, oidText, readDer } from './der-reader.js';

/**
 * Verifies `root-anchors.xml` by its detached CMS signature `root-anchors.p7s` (RFC 5652
 * SignedData) against ICANN's root CA, as Unbound's unbound-anchor does: the signer certificate
 * chains to the shipped CA through the certificates in the p7s, its subject names the expected
 * e-mail address (`dnssec@iana.org`), the signed attributes' messageDigest is the XML's digest,
 * and the signature over the DER of the signed attributes verifies with the signer's key.
 *
 * node:crypto has X.509 (chain checks, signature verification) but no CMS; the SignedData is
 * read with a small strict DER reader (der-reader.ts), and every check is OpenSSL's through
 * node:crypto. A failure throws `RootAnchorsSignatureError` saying which check failed.
 */
export class RootAnchorsSignatureError extends Error {
  override readonly name = 'RootAnchorsSignatureError';
}

/** unbound-anchor's default `-n`: the signer certificate's subject emailAddress. */
export const ICANN_SIGNER_EMAIL = 'dnssec@iana.org';

export interface SignatureCheckOptions {
  /** PEM text of the trusted CA certificate(s): `trust-anchors/icannbundle.pem`. */
  readonly caPem: string;
  /** Milliseconds since the epoch: certificates must be valid then. */
  readonly now: number;
  readonly signerEmail?: string;
}

export interface VerifiedSignature {
  /** The signer certificate's subject, one `key=value` per line as OpenSSL prints it. */
  readonly signer: string;
  /** Subjects from the signer up to the trusted CA. */
  readonly chain: readonly string[];
}

const OID = {
  signedData: '1.2.840.113549.1.7.2',
  data: '1.2.840.113549.1.7.1',
  contentType: '1.2.840.113549.1.9.3',
  messageDigest: '1.2.840.113549.1.9.4',
  rsaEncryption: '1.2.840.113549.1.1.1',
} as const;

const DIGESTS: Record<string, string> = {
  '1.3.14.3.2.26': 'sha1',
  '2.16.840.1.101.3.4.2.1': 'sha256',
  '2.16.840.1.101.3.4.2.2': 'sha384',
  '2.16.840.1.101.3.4.2.3': 'sha512',
};

/** Signature algorithms whose hash is their own (the digestAlgorithm of the SignerInfo must agree). */
const SIGNATURE_HASHES: Record<string, string> = {
  '1.2.840.113549.1.1.5': 'sha1',
  '1.2.840.113549.1.1.11': 'sha256',
  '1.2.840.113549.1.1.12': 'sha384',
  '1.2.840.113549.1.1.13': 'sha512',
  '1.2.840.10045.4.3.2': 'sha256',
  '1.2.840.10045.4.3.3': 'sha384',
  '1.2.840.10045.4.3.4': 'sha512',
};

const MAX_CHAIN = 6;

interface SignerInfo {
  readonly digestOid: string;
  readonly issuer: Uint8Array;
  readonly serial: Uint8Array;
  readonly digest: string;
  readonly signedAttrs: DerElement;
  readonly signatureAlgorithm: string;
  readonly signature: Uint8Array;
}

/** Checks `p7s` over `xml`; returns the signer and chain, or throws RootAnchorsSignatureError. */
export function verifyRootAnchorsSignature(xml: Uint8Array, p7s: Uint8Array, options: SignatureCheckOptions): VerifiedSignature {
  const fail = (why: string): never => {
    throw new RootAnchorsSignatureError(why);
  };
  let certificates: Uint8Array[];
  let signers: SignerInfo[];
  try {
    ({ certificates, signers } = parseSignedData(p7s));
  } catch (error) {
    if (error instanceof DerError) fail(`the signature is not a CMS SignedData: ${error.message}`);
    throw error;
  }
  if (signers.length !== 1) fail(`the signature has ${signers.length} signers, expected 1`);
  const signer = signers[0]!;
  const certs = certificates.map((der) => ({ der, x509: parseCertificate(der, fail), ...certificateIds(der, fail) }));
  const signerCert = certs.find((c) => equalBytes(c.issuer, signer.issuer) && equalBytes(c.serial, signer.serial));
  if (!signerCert) return fail('the signer certificate is not in the signature');

  const attrs = signedAttributes(signer.signedAttrs, fail);
  if (attrs.contentType !== OID.data) fail(`the signed content type is ${attrs.contentType ?? 'missing'}, not data`);
  const digest = createHash(signer.digest).update(xml).digest();
  if (!attrs.messageDigest || !equalBytes(attrs.messageDigest, digest)) fail(`the XML's ${signer.digest} digest is not the one signed (the XML was changed, or is not the signed one)`);

  // RFC 5652 §5.4: the signature covers the DER of the attributes as a SET OF, not as [0] IMPLICIT.
  const signedBytes = Uint8Array.from(signer.signedAttrs.raw);
  signedBytes[0] = DerTag.SET;
  const sigHash = SIGNATURE_HASHES[signer.signatureAlgorithm];
  if (signer.signatureAlgorithm !== OID.rsaEncryption && sigHash === undefined) fail(`signature algorithm ${signer.signatureAlgorithm} is not supported`);
  if (sigHash !== undefined && sigHash !== signer.digest) fail(`the signature algorithm's hash (${sigHash}) is not the digest algorithm (${signer.digest})`);
  let good = false;
  try {
    good = verifySignature(signer.digest, signedBytes, signerCert.x509.publicKey, signer.signature);
  } catch (error) {
    fail(`the signature cannot be checked: ${(error as Error).message}`);
  }
  if (!good) fail('the signature over the signed attributes does not verify with the signer certificate');

  const email = options.signerEmail ?? ICANN_SIGNER_EMAIL;
  if (!subjectEmails(signerCert.x509).includes(email.toLowerCase())) fail(`the signer certificate is not ${email}'s (subject: ${signerCert.x509.subject.replace(/\n/g, ', ')})`);
  const chain = buildChain(signerCert.x509, certs.map((c) => c.x509), trustedCas(options.caPem, fail), options.now, fail);
  return { signer: signerCert.x509.subject, chain };
}

function parseSignedData(p7s: Uint8Array): { certificates: Uint8Array[]; signers: SignerInfo[] } {
  const contentInfo = children(expectTag(readDer(p7s), DerTag.SEQUENCE, 'ContentInfo'));
  if (oidText(contentInfo[0]!) !== OID.signedData) throw new DerError('the content is not SignedData');
  const wrapper = expectTag(contentInfo[1], 0xa0, 'SignedData [0]');
  const sd = children(expectTag(children(wrapper)[0], DerTag.SEQUENCE, 'SignedData'));
  const version = expectTag(sd[0], DerTag.INTEGER, 'SignedData version').contents;
  if (version.length !== 1 || ![1, 3, 4, 5].includes(version[0]!)) throw new DerError('SignedData version is not 1, 3, 4 or 5 (RFC 5652 §5.1)');
  let i = 1;
  const digestAlgorithms = children(expectTag(sd[i++], DerTag.SET, 'digestAlgorithms')).map((a) => oidText(children(expectTag(a, DerTag.SEQUENCE, 'digestAlgorithm'))[0]!));
  const encap = children(expectTag(sd[i++], DerTag.SEQUENCE, 'encapContentInfo'));
  if (oidText(encap[0]!) !== OID.data) throw new DerError('the encapsulated content is not data');
  if (encap.length > 1) throw new DerError('the signature is not detached (it carries its own content)');
  const certificates: Uint8Array[] = [];
  if (sd[i]?.tag === 0xa0) for (const c of children(sd[i++]!)) certificates.push(expectTag(c, DerTag.SEQUENCE, 'certificate').raw);
  if (sd[i]?.tag === 0xa1) i++; // crls
  const signers = children(expectTag(sd[i++], DerTag.SET, 'signerInfos')).map(parseSignerInfo);
  if (i !== sd.length) throw new DerError('unexpected fields after signerInfos');
  // RFC 5652 §5.1: digestAlgorithms lists the signers' digest algorithms (OpenSSL refuses otherwise too).
  for (const s of signers) if (!digestAlgorithms.includes(s.digestOid)) throw new DerError(`digest algorithm ${s.digestOid} of the signer is not among digestAlgorithms`);
  return { certificates, signers };
}

function parseSignerInfo(e: DerElement): SignerInfo {
  const f = children(expectTag(e, DerTag.SEQUENCE, 'SignerInfo'));
  const version = expectTag(f[0], DerTag.INTEGER, 'SignerInfo version').contents;
  if (version.length !== 1 || version[0] !== 1) throw new DerError('SignerInfo version is not 1 (issuerAndSerialNumber)');
  const sid = children(expectTag(f[1], DerTag.SEQUENCE, 'SignerInfo sid (issuerAndSerialNumber)'));
  const issuer = expectTag(sid[0], DerTag.SEQUENCE, 'sid issuer').raw;
  const serial = expectTag(sid[1], DerTag.INTEGER, 'sid serial').contents;
  const digestOid = oidText(children(expectTag(f[2], DerTag.SEQUENCE, 'digestAlgorithm'))[0]!);
  const digest = DIGESTS[digestOid];
  if (!digest) throw new DerError(`digest algorithm ${digestOid} is not supported`);
  const signedAttrs = expectTag(f[3], 0xa0, 'signedAttrs (required: the messageDigest is there)');
  const signatureAlgorithm = oidText(children(expectTag(f[4], DerTag.SEQUENCE, 'signatureAlgorithm'))[0]!);
  const signature = expectTag(f[5], DerTag.OCTET_STRING, 'signature').contents;
  if (f.length > 7 || (f.length === 7 && f[6]!.tag !== 0xa1)) throw new DerError('unexpected fields after the signature');
  return { digestOid, issuer, serial, digest, signedAttrs, signatureAlgorithm, signature };
}

function signedAttributes(attrs: DerElement, fail: (why: string) => never): { contentType?: string; messageDigest?: Uint8Array } {
  const out: { contentType?: string; messageDigest?: Uint8Array } = {};
  try {
    for (const attr of children(attrs)) {
      const [type, values] = children(expectTag(attr, DerTag.SEQUENCE, 'attribute'));
      const oid = oidText(type!);
      const vals = children(expectTag(values, DerTag.SET, 'attribute values'));
      if (oid === OID.contentType || oid === OID.messageDigest) {
        if (vals.length !== 1 || (oid === OID.contentType ? out.contentType : out.messageDigest) !== undefined) fail(`attribute ${oid} must have exactly one value`);
        if (oid === OID.contentType) out.contentType = oidText(vals[0]!);
        else out.messageDigest = expectTag(vals[0], DerTag.OCTET_STRING, 'messageDigest').contents;
      }
    }
  } catch (error) {
    if (error instanceof DerError) fail(`the signed attributes are malformed: ${error.message}`);
    throw error;
  }
  return out;
}

/** The issuer Name (DER) and serial number (contents) of a certificate, to find the signer's. */
function certificateIds(der: Uint8Array, fail: (why: string) => never): { issuer: Uint8Array; serial: Uint8Array } {
  try {
    const tbs = children(expectTag(children(readDer(der))[0], DerTag.SEQUENCE, 'tbsCertificate'));
    const k = tbs[0]?.tag === 0xa0 ? 1 : 0;
    return { serial: expectTag(tbs[k], DerTag.INTEGER, 'serialNumber').contents, issuer: expectTag(tbs[k + 2], DerTag.SEQUENCE, 'issuer').raw };
  } catch (error) {
    if (error instanceof DerError) return fail(`a certificate in the signature is malformed: ${error.message}`);
    throw error;
  }
}

function parseCertificate(der: Uint8Array, fail: (why: string) => never): X509Certificate {
  try {
    return new X509Certificate(der);
  } catch (error) {
    return fail(`a certificate in the signature cannot be read: ${(error as Error).message}`);
  }
}

function trustedCas(pem: string, fail: (why: string) => never): X509Certificate[] {
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  if (blocks.length === 0) fail('the CA file holds no certificate');
  return blocks.map((b) => {
    try {
      return new X509Certificate(b);
    } catch (error) {
      return fail(`the CA file has a certificate that cannot be read: ${(error as Error).message}`);
    }
  });
}

function validAt(cert: X509Certificate, now: number): boolean {
  return Date.parse(cert.validFrom) <= now && now <= Date.parse(cert.validTo);
}

/** From the signer up through the p7s's certificates to a trusted CA, each link checked. */
function buildChain(signer: X509Certificate, pool: readonly X509Certificate[], roots: readonly X509Certificate[], now: number, fail: (why: string) => never): string[] {
  const chain: string[] = [];
  let cert = signer;
  for (let depth = 0; depth < MAX_CHAIN; depth++) {
    if (!validAt(cert, now)) fail(`certificate "${oneLine(cert.subject)}" is not valid at ${new Date(now).toISOString()} (valid ${cert.validFrom} to ${cert.validTo})`);
    chain.push(cert.subject);
    const root = roots.find((r) => cert.checkIssued(r) && cert.verify(r.publicKey));
    if (root) {
      if (!validAt(root, now)) fail(`the CA certificate "${oneLine(root.subject)}" is not valid at ${new Date(now).toISOString()}`);
      chain.push(root.subject);
      return chain;
    }
    const next = pool.find((p) => p !== cert && p.ca && cert.checkIssued(p) && cert.verify(p.publicKey));
    if (!next) return fail(`certificate "${oneLine(cert.subject)}" does not chain to the trusted CA`);
    cert = next;
  }
  return fail(`no chain to the trusted CA within ${MAX_CHAIN} certificates`);
}

function subjectEmails(cert: X509Certificate): string[] {
  return cert.subject
    .split('\n')
    .filter((line) => /^emailAddress=/i.test(line))
    .map((line) => line.slice(line.indexOf('=') + 1).toLowerCase());
}

const oneLine = (subject: string) => subject.replace(/\n/g, ', ');

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
