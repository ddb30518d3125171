import { existsSync, readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { sha1 } from '@noble/hashes/legacy.js';
import { sha256, sha384 } from '@noble/hashes/sha2.js';
import { describe, expect, it } from 'vitest';
import {
  CryptoError,
  dsDigest,
  dsDigestLength,
  DsDigestType,
  isSupportedDigestType,
  keyTag,
} from '../../src/crypto/index.js';
import {
  b64,
  concatBytes,
  dnskeyRdata,
  EXAMPLE_DS,
  nameWire,
  RFC4034_DSKEY,
  RFC4035_KSK,
  RFC4035_ZSK,
  RFC5155_KSK,
  RFC5155_ZSK,
  toHex,
} from '../fixtures/crypto/rfc-vectors.js';

const fixture = new URL('../fixtures/crypto/root-ksk.txt', import.meta.url);

/** `. IN DNSKEY flags proto alg key` and `. IN DS tag alg type digest` lines. */
function rootRecords(text: string) {
  const lines = text.split('\n').filter((line) => line.startsWith('. IN '));
  const dnskeys = lines
    .filter((line) => line.includes(' DNSKEY '))
    .map((line) => {
      const [flags, protocol, algorithm, key] = line.replace(/;.*/, '').trim().split(/\s+/).slice(3);
      return dnskeyRdata(Number(flags), Number(algorithm), b64(key!), Number(protocol));
    });
  const dss = lines
    .filter((line) => line.includes(' DS '))
    .map((line) => {
      const [tag, algorithm, digestType, digest] = line.trim().split(/\s+/).slice(3);
      return { tag: Number(tag), algorithm: Number(algorithm), digestType: Number(digestType), digest: digest!.toLowerCase() };
    });
  return { dnskeys, dss };
}

/** RFC 4034 Appendix B's reference C code, transliterated, as an oracle for random RDATA. */
function referenceKeyTag(rdata: Uint8Array): number {
  let ac = 0;
  for (let i = 0; i < rdata.length; ++i) ac += i & 1 ? rdata[i]! : rdata[i]! << 8;
  ac += (ac >> 16) & 0xffff;
  return ac & 0xffff;
}

interface TaggedKey {
  readonly flags: number;
  readonly algorithm: number;
  readonly publicKey: string;
  readonly keyTag: number;
}

const TAGGED_KEYS: readonly (readonly [string, TaggedKey])[] = [
  ['RFC 4034 §5.4', RFC4034_DSKEY],
  ['RFC 4035 Appendix A ZSK', RFC4035_ZSK],
  ['RFC 4035 Appendix A KSK', RFC4035_KSK],
  ['RFC 5155 Appendix A ZSK', RFC5155_ZSK],
  ['RFC 5155 Appendix A KSK', RFC5155_KSK],
  ...EXAMPLE_DS.map((ds) => [`${ds.source} key ${ds.keyTag}`, { ...ds, flags: 257 }] as const),
];

describe('key tag', () => {
  it.each(TAGGED_KEYS)('%s', (_source, key) => {
    expect(keyTag(dnskeyRdata(key.flags, key.algorithm, b64(key.publicKey)))).toBe(key.keyTag);
  });

  it('matches the RFC 4034 Appendix B reference code on random RDATA, odd and even lengths', () => {
    for (let length = 4; length < 600; length += 7) {
      const rdata = randomBytes(length);
      if (rdata[3] === 1) rdata[3] = 8;
      expect(keyTag(rdata)).toBe(referenceKeyTag(rdata));
    }
  });

  it('handles the carry fold of a 64 KiB RDATA of 0xff octets', () => {
    const rdata = new Uint8Array(65535).fill(0xff);
    rdata[3] = 8;
    expect(keyTag(rdata)).toBe(referenceKeyTag(rdata));
  });

  it('for algorithm 1 (RSA/MD5) is the 3rd- and 2nd-to-last octets of the modulus', () => {
    const modulus = Uint8Array.from({ length: 64 }, (_, i) => i);
    const rdata = dnskeyRdata(256, 1, concatBytes(Uint8Array.of(3, 1, 0, 1), modulus));
    expect(keyTag(rdata)).toBe((61 << 8) | 62);
    expect(keyTag(rdata)).not.toBe(referenceKeyTag(rdata));
  });

  it('throws a typed error for RDATA too short to be a DNSKEY', () => {
    expect(() => keyTag(Uint8Array.of(1, 0, 3))).toThrowError(expect.objectContaining({ code: 'malformed-dnskey' }));
    expect(() => keyTag(Uint8Array.of(1, 0, 3, 1, 0))).toThrowError(CryptoError);
  });
});

describe('DS digest', () => {
  const dskey = dnskeyRdata(RFC4034_DSKEY.flags, RFC4034_DSKEY.algorithm, b64(RFC4034_DSKEY.publicKey));
  const owner = nameWire(RFC4034_DSKEY.owner);

  it('RFC 4034 §5.4: SHA-1 digest of dskey.example.com.', () => {
    expect(toHex(dsDigest(DsDigestType.SHA1, owner, dskey))).toBe(RFC4034_DSKEY.dsSha1.toLowerCase());
  });

  it('RFC 4509 §2.3: SHA-256 digest of dskey.example.com.', () => {
    expect(toHex(dsDigest(DsDigestType.SHA256, owner, dskey))).toBe(RFC4034_DSKEY.dsSha256.toLowerCase());
  });

  it.each(EXAMPLE_DS.map((ds) => [`${ds.source} tag ${ds.keyTag} digest type ${ds.digestType}`, ds] as const))(
    '%s',
    (_name, ds) => {
      const rdata = dnskeyRdata(257, ds.algorithm, b64(ds.publicKey));
      expect(toHex(dsDigest(ds.digestType, nameWire(ds.owner), rdata))).toBe(ds.digest);
    },
  );

  it('lowercases an owner name given in mixed case', () => {
    const mixed = new Uint8Array(Buffer.from('\x05DSKEY\x07Example\x03COM\x00', 'latin1'));
    expect(toHex(dsDigest(1, mixed, dskey))).toBe(RFC4034_DSKEY.dsSha1.toLowerCase());
    expect(Buffer.from(mixed).toString('latin1')).toBe('\x05DSKEY\x07Example\x03COM\x00');
  });

  it('agrees with @noble/hashes on random owners and keys', () => {
    const oracles = { 1: sha1, 2: sha256, 4: sha384 } as const;
    for (let i = 0; i < 50; i++) {
      const ownerWire = nameWire(`${randomBytes(6).toString('hex')}.example.`);
      const rdata = dnskeyRdata(257, 13, randomBytes(64));
      for (const [type, hash] of Object.entries(oracles)) {
        const digest = dsDigest(Number(type), ownerWire, rdata);
        expect(toHex(digest)).toBe(toHex(hash(concatBytes(ownerWire, rdata))));
        expect(digest.length).toBe(dsDigestLength(Number(type)));
      }
    }
  });

  it('supports digest types 1, 2 and 4 only', () => {
    expect([0, 1, 2, 3, 4, 5].filter(isSupportedDigestType)).toEqual([1, 2, 4]);
    expect(() => dsDigest(3, owner, dskey)).toThrowError(expect.objectContaining({ code: 'unsupported-digest-type' }));
    expect(() => dsDigestLength(0)).toThrowError(CryptoError);
  });
});

describe('root zone KSKs', () => {
  const { dnskeys, dss } = rootRecords(readFileSync(fixture, 'utf8'));

  it('the fixture holds KSK-2017 and KSK-2024', () => {
    expect(dnskeys.map(keyTag)).toEqual([20326, 38696]);
    expect(dss.map((ds) => ds.tag)).toEqual([20326, 38696]);
  });

  it('each DS digest is the SHA-256 over the root name and the DNSKEY RDATA', () => {
    for (const ds of dss) {
      const dnskey = dnskeys.find((rdata) => keyTag(rdata) === ds.tag)!;
      expect(ds.algorithm).toBe(dnskey[3]);
      expect(toHex(dsDigest(ds.digestType, Uint8Array.of(0), dnskey))).toBe(ds.digest);
    }
  });

  it.runIf(existsSync('/usr/share/dns/root.key') && existsSync('/usr/share/dns/root.ds'))(
    "agrees with Debian's /usr/share/dns root.key and root.ds",
    () => {
      const installed = rootRecords(
        readFileSync('/usr/share/dns/root.key', 'utf8') + '\n' + readFileSync('/usr/share/dns/root.ds', 'utf8'),
      );
      for (const ds of installed.dss) {
        const dnskey = installed.dnskeys.find((rdata) => keyTag(rdata) === ds.tag);
        expect(dnskey, `DNSKEY for DS ${ds.tag}`).toBeDefined();
        expect(toHex(dsDigest(ds.digestType, Uint8Array.of(0), dnskey!))).toBe(ds.digest);
      }
      expect(installed.dss.map((ds) => ds.tag)).toEqual(expect.arrayContaining([20326, 38696]));
    },
  );
});
