import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RootAnchorsSignatureError, verifyRootAnchorsSignature } from '../../src/trust/root-anchors-signature.js';
import { SHIPPED_ICANN_CA, SHIPPED_ROOT_ANCHORS } from '../../src/trust/root-anchors-source.js';
import { haveTool, removeDir, tempDir } from '../support/external-servers.js';
import { type P7sLab, p7sLab } from '../support/p7s-lab.js';

/**
 * The real root-anchors.p7s matching the shipped XML could not be had in this environment, so
 * the checks run on pairs made here with OpenSSL in the same shape as ICANN's (test/support/p7s-lab.ts),
 * over the shipped XML; `openssl cms -verify` is the oracle.
 */
let dir: string;
let lab: P7sLab;
let xml: Buffer;
let caPem: string;
const p7s: Record<string, Buffer> = {};
/** An hour after the certificates were made (they are valid from the moment OpenSSL makes them). */
const NOW = Date.now() + 3_600_000;
/** Every STEP-th byte of the p7s is bent (P7S_EVERY_BYTE=1 bends all of them: slow, 1,500 OpenSSL runs). */
const STEP = process.env['P7S_EVERY_BYTE'] ? 1 : 13;
const opensslAccepts = (content: Buffer, signature: Buffer) => lab.opensslAccepts(content, signature);

const check = (content: Buffer, signature: Buffer, now = NOW) => verifyRootAnchorsSignature(content, signature, { caPem, now });
const refusal = (content: Buffer, signature: Buffer, now = NOW): string => {
  try {
    check(content, signature, now);
  } catch (error) {
    expect(error).toBeInstanceOf(RootAnchorsSignatureError);
    return (error as Error).message;
  }
  return 'accepted';
};

describe('root-anchors.p7s verification', () => {
  beforeAll(() => {
    if (!haveTool('openssl')) return;
    dir = tempDir('p7s');
    xml = readFileSync(SHIPPED_ROOT_ANCHORS);
    writeFileSync(join(dir, 'root-anchors.xml'), xml);
    lab = p7sLab(dir);
    lab.certificate('stranger', '/O=Test ICANN/CN=Someone Else/emailAddress=other@example.org', 'inter');
    lab.makeCa('evil', '/O=Test ICANN/OU=Test Certification Authority/CN=Test Root CA/C=US');
    lab.certificate('impostor', '/O=Test ICANN/CN=Test Root Anchor Signer/emailAddress=dnssec@iana.org', 'evil');
    caPem = readFileSync(lab.caFile, 'utf8');
    p7s['good'] = lab.sign('root-anchors.xml', 'signer', ['inter']);
    p7s['stranger'] = lab.sign('root-anchors.xml', 'stranger', ['inter']);
    p7s['impostor'] = lab.sign('root-anchors.xml', 'impostor', []);
    p7s['nointer'] = lab.sign('root-anchors.xml', 'signer', []);
  });
  afterAll(() => {
    if (dir) removeDir(dir);
  });

  it('a valid pair verifies: signer dnssec@iana.org, chained through the intermediate to the CA (and OpenSSL agrees)', () => {
    if (!dir) return;
    expect(opensslAccepts(xml, p7s['good']!)).toBe(true);
    const ok = check(xml, p7s['good']!);
    expect(ok.signer).toContain('emailAddress=dnssec@iana.org');
    expect(ok.chain).toHaveLength(3);
    expect(ok.chain[2]).toContain('CN=Test Root CA');
  });

  it('a one-byte change to the XML is refused, wherever it is', () => {
    if (!dir) return;
    for (const at of [0, 1, 100, Math.floor(xml.length / 2), xml.length - 2, xml.length - 1]) {
      const bent = Buffer.from(xml);
      bent[at] = bent[at]! ^ 0x01;
      expect(refusal(bent, p7s['good']!), `byte ${at}`).toMatch(/digest is not the one signed/);
    }
    expect(refusal(Buffer.concat([xml, Buffer.from('\n')]), p7s['good']!)).toMatch(/digest/);
  });

  it('a one-byte change to the p7s is refused whenever OpenSSL refuses it, and never accepted where OpenSSL refuses', () => {
    if (!dir) return;
    const sig = p7s['good']!;
    let refusedByBoth = 0;
    for (let at = 0; at < sig.length; at += STEP) {
      const bent = Buffer.from(sig);
      bent[at] = bent[at]! ^ 0x01;
      const ours = refusal(xml, bent) === 'accepted';
      if (!ours) refusedByBoth += opensslAccepts(xml, bent) ? 0 : 1;
      else expect(opensslAccepts(xml, bent), `byte ${at}: we accept, OpenSSL refuses`).toBe(true);
    }
    expect(refusedByBoth).toBeGreaterThan(sig.length / STEP - 15);
    // The signature value itself: its last byte.
    const last = Buffer.from(sig);
    last[last.length - 1] = last[last.length - 1]! ^ 0x01;
    expect(refusal(xml, last)).toMatch(/does not verify|signature/);
  });

  it('a signer other than dnssec@iana.org is refused, though its chain is good', () => {
    if (!dir) return;
    expect(opensslAccepts(xml, p7s['stranger']!)).toBe(true);
    expect(refusal(xml, p7s['stranger']!)).toMatch(/not dnssec@iana\.org's/);
  });

  it('a dnssec@iana.org signer under another CA of the same name is refused', () => {
    if (!dir) return;
    expect(refusal(xml, p7s['impostor']!)).toMatch(/does not chain to the trusted CA/);
  });

  it('a p7s without the intermediate certificate does not chain', () => {
    if (!dir) return;
    expect(refusal(xml, p7s['nointer']!)).toMatch(/does not chain/);
  });

  it('an expired signer certificate is refused (the time comes from the caller)', () => {
    if (!dir) return;
    expect(refusal(xml, p7s['good']!, NOW + 40 * 86_400_000)).toMatch(/is not valid at/);
  });

  it('garbage and truncations are refused with a reason, never a crash', () => {
    if (!dir) return;
    const sig = p7s['good']!;
    for (const bytes of [Buffer.alloc(0), Buffer.from('not a signature'), sig.subarray(0, 100), sig.subarray(0, sig.length - 1), Buffer.concat([sig, Buffer.from([0])])]) {
      expect(refusal(xml, bytes)).toMatch(/not a CMS SignedData|malformed|runs past|after the outer/);
    }
  });

  it('the shipped ICANN CA is ICANN Root CA, valid until 2029', () => {
    const text = readFileSync(SHIPPED_ICANN_CA, 'utf8');
    expect(text).toContain('unbound-anchor');
    const fingerprint = execFileSync('openssl', ['x509', '-noout', '-fingerprint', '-sha256', '-in', SHIPPED_ICANN_CA]).toString();
    expect(fingerprint).toContain('AE:E8:99:06:D7:CC:60:C5:E1:51:F3:BB:92:3A:BF:8A:1B:28:DC:85:5D:5E:21:27:CB:52:4E:AD:4A:AD:60:3D');
  });
});
