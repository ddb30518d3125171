import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { keyTag } from '../../src/crypto/key-tag.js';
import { authenticateDnskeyRrset, sameKeyIgnoringRevoke, usableDs } from '../../src/dnssec/dnskey-authentication.js';
import { verifyRrset } from '../../src/dnssec/rrset-verification.js';
import { EdeCode } from '../../src/wire/edns.js';
import type { ResourceRecord } from '../../src/wire/message.js';
import { parseRecordLine } from '../../src/wire/record-text.js';
import { RRType } from '../../src/wire/rr-type.js';
import { groupRrsets } from '../../src/wire/rrsets.js';
import { decodeRrsig } from '../../src/wire/signed-data.js';
import { parseZoneText } from '../../src/wire/zone-file.js';
import { EXAMPLE_DS, RFC4034_DSKEY, SIGNATURE_VECTORS, b64, hex } from '../fixtures/crypto/rfc-vectors.js';
import {
  DAY,
  NOW,
  context,
  corrupt,
  dnskeyRdata,
  dnskeyRecord,
  dnskeyRrset,
  dsFields,
  dsRdata,
  knownKey,
  makeKey,
  n,
  rfcPrivateKey,
  sign,
} from '../fixtures/validation/signing.js';
import { haveTool, removeDir, signZoneWithBind } from '../support/external-servers.js';

const ZONE = n('example.');
const ksk = makeKey('example.');
const zsk = makeKey('example.', { flags: 256 });
const keyset = dnskeyRrset([ksk, zsk]);
const signedByKsk = [sign(keyset, ksk)];
const none = { ds: [] as Uint8Array[], dnskey: [] as Uint8Array[] };

describe('authenticateDnskeyRrset with a DS (RFC 4035 §5.2)', () => {
  it('a DS matching the KSK that signs the set: secure, and every zone key of the set is trusted', () => {
    const noZoneBit = makeKey('example.', { flags: 0 });
    const set = dnskeyRrset([ksk, zsk, noZoneBit]);
    const auth = authenticateDnskeyRrset(ZONE, set, [sign(set, ksk)], { ...none, ds: [dsRdata(ksk)] }, context());
    expect(auth.outcome).toEqual({ state: 'secure', reason: `example.: DNSKEY RRset signed by key ${ksk.tag}, which matches the DS` });
    expect(auth.keys).toEqual([ksk.rdata, zsk.rdata]);
    expect(auth.linkedBy).toEqual([ksk.tag]);
    expect(auth.ttl).toBe(3600);
    // The keys it returns verify the zone's data.
    const www = [parseRecordLine('www.example. 300 IN A 192.0.2.1')];
    expect(verifyRrset(www, [sign(www, zsk)], ZONE, auth.keys, context()).outcome.state).toBe('secure');
  });

  it('the trusted TTL is capped by the signature’s expiry (RFC 4035 §5.3.3)', () => {
    const rrsig = sign(keyset, ksk, { inception: NOW - DAY, expiration: NOW + 600 });
    expect(authenticateDnskeyRrset(ZONE, keyset, [rrsig], { ...none, ds: [dsRdata(ksk)] }, context()).ttl).toBe(600);
  });

  it('the DS names a key without the Zone Key bit: bogus, EDE 11; a revoked one: bogus, saying so', () => {
    const noZoneBit = makeKey('example.', { flags: 1 });
    const set = dnskeyRrset([noZoneBit, zsk]);
    const auth = authenticateDnskeyRrset(ZONE, set, [sign(set, noZoneBit)], { ...none, ds: [dsRdata(noZoneBit)] }, context());
    expect(auth.outcome.state).toBe('bogus');
    expect(auth.outcome.ede).toBe(EdeCode.NO_ZONE_KEY_BIT_SET);
    expect(auth.outcome.reason).toMatch(new RegExp(`key tag ${noZoneBit.tag}\\) has no Zone Key bit`));
    const revoked = makeKey('example.', { flags: 257 | 0x80 });
    const set2 = dnskeyRrset([revoked, zsk]);
    const auth2 = authenticateDnskeyRrset(ZONE, set2, [sign(set2, revoked)], { ...none, ds: [dsRdata(revoked)] }, context());
    expect(auth2.outcome).toMatchObject({ state: 'bogus', ede: EdeCode.DNSKEY_MISSING });
    expect(auth2.outcome.reason).toMatch(/is revoked/);
  });

  it('a DS matching no key of the set: bogus, DNSKEY Missing, naming the tag', () => {
    const stranger = makeKey('example.');
    const auth = authenticateDnskeyRrset(ZONE, keyset, signedByKsk, { ...none, ds: [dsRdata(stranger)] }, context());
    expect(auth.outcome).toEqual({ state: 'bogus', reason: `example.: no DNSKEY matches the DS (key tag ${stranger.tag})`, ede: EdeCode.DNSKEY_MISSING });
    expect(auth.keys).toEqual([]);
  });

  it('a DS of the same key under another owner name does not match (the digest covers the owner)', () => {
    const elsewhere = dsRdata({ ...ksk, zone: n('example.net.') });
    expect(authenticateDnskeyRrset(ZONE, keyset, signedByKsk, { ...none, ds: [elsewhere] }, context()).outcome.ede).toBe(EdeCode.DNSKEY_MISSING);
  });

  it('a key that matches the DS but does not sign the DNSKEY RRset: bogus', () => {
    const byZskOnly = [sign(keyset, zsk)];
    const auth = authenticateDnskeyRrset(ZONE, keyset, byZskOnly, { ...none, ds: [dsRdata(ksk)] }, context());
    expect(auth.outcome.state).toBe('bogus');
    expect(auth.outcome.reason).toContain('example./DNSKEY');
    expect(auth.keys).toEqual([]);
    // ...even though the ZSK's own signature over the set is good.
    expect(verifyRrset(keyset, byZskOnly, ZONE, [zsk.rdata], context()).outcome.state).toBe('secure');
  });

  it('the DS-matched key’s signature must verify: a corrupted one is bogus (EDE 6)', () => {
    const auth = authenticateDnskeyRrset(ZONE, keyset, [corrupt(signedByKsk[0]!)], { ...none, ds: [dsRdata(ksk)] }, context());
    expect(auth.outcome).toMatchObject({ state: 'bogus', ede: EdeCode.DNSSEC_BOGUS });
  });

  it('an expired signature by the DS-matched key: bogus, Signature Expired', () => {
    const old = [sign(keyset, ksk, { inception: NOW - 30 * DAY, expiration: NOW - 2 * DAY })];
    expect(authenticateDnskeyRrset(ZONE, keyset, old, { ...none, ds: [dsRdata(ksk)] }, context()).outcome).toMatchObject({ state: 'bogus', ede: EdeCode.SIGNATURE_EXPIRED });
  });

  it('a DS whose key has REVOKE set in the set never authenticates it (RFC 5011 §2.1)', () => {
    const revoked = { ...ksk, rdata: dnskeyRdata(0x0181, 13, ksk.rdata.subarray(4)) };
    const revokedKey = { ...revoked, tag: keyTag(revoked.rdata) };
    const set = dnskeyRrset([revokedKey, zsk]);
    const auth = authenticateDnskeyRrset(ZONE, set, [sign(set, revokedKey)], { ...none, ds: [dsRdata(revokedKey)] }, context());
    expect(auth.outcome).toMatchObject({ state: 'bogus', ede: EdeCode.DNSKEY_MISSING });
  });

  it('no DNSKEY RRset from a zone with a DS: bogus, DNSKEY Missing', () => {
    expect(authenticateDnskeyRrset(ZONE, [], [], { ...none, ds: [dsRdata(ksk)] }, context()).outcome).toMatchObject({ state: 'bogus', ede: EdeCode.DNSKEY_MISSING });
  });

  it('nothing trusted: insecure', () => {
    expect(authenticateDnskeyRrset(ZONE, keyset, signedByKsk, none, context()).outcome.state).toBe('insecure');
  });
});

describe('DS digest and algorithm selection (RFC 4509 §3, RFC 4035 §5.2, RFC 8914)', () => {
  const wrongSha256 = () => {
    const ds = dsRdata(ksk, 2);
    ds[ds.length - 1]! ^= 0xff;
    return ds;
  };

  it('a correct SHA-1 DS alone authenticates', () => {
    expect(authenticateDnskeyRrset(ZONE, keyset, signedByKsk, { ...none, ds: [dsRdata(ksk, 1)] }, context()).outcome.state).toBe('secure');
  });

  it('SHA-1 is ignored when a SHA-256 DS is present: a wrong SHA-256 DS beside a right SHA-1 DS is bogus (downgrade)', () => {
    const auth = authenticateDnskeyRrset(ZONE, keyset, signedByKsk, { ...none, ds: [dsRdata(ksk, 1), wrongSha256()] }, context());
    expect(auth.outcome).toMatchObject({ state: 'bogus', ede: EdeCode.DNSKEY_MISSING });
  });

  it('SHA-384 (RFC 6605) authenticates', () => {
    expect(authenticateDnskeyRrset(ZONE, keyset, signedByKsk, { ...none, ds: [dsRdata(ksk, 4)] }, context()).outcome.state).toBe('secure');
  });

  it('usableDs drops unsupported algorithms and digest types, and SHA-1 beside SHA-256', () => {
    const sha1 = dsRdata(ksk, 1);
    const sha256 = dsRdata(ksk, 2);
    const gostDigest = dsFields(ksk.tag, 13, 3, new Uint8Array(32));
    const gostAlgorithm = dsFields(ksk.tag, 12, 2, new Uint8Array(32));
    expect(usableDs([sha1, gostDigest, gostAlgorithm]).map((d) => d.digestType)).toEqual([1]);
    expect(usableDs([sha1, sha256, gostDigest]).map((d) => d.digestType)).toEqual([2]);
  });

  it('DS only of algorithms not implemented: insecure, EDE 1 (Unsupported DNSKEY Algorithm)', () => {
    const ds = [dsFields(4242, 12, 2, new Uint8Array(32)), dsFields(4243, 253, 2, new Uint8Array(32))];
    const auth = authenticateDnskeyRrset(ZONE, keyset, signedByKsk, { ...none, ds }, context());
    expect(auth.outcome).toMatchObject({ state: 'insecure', ede: EdeCode.UNSUPPORTED_DNSKEY_ALGORITHM });
    expect(auth.outcome.reason).toContain('example.: DS only for algorithms this validator does not implement (12, 253)');
    expect(auth.keys).toEqual([]);
  });

  it('DS only of digest types not implemented: insecure, EDE 2 (Unsupported DS Digest Type)', () => {
    const ds = [dsFields(ksk.tag, 13, 3, new Uint8Array(32)), dsFields(ksk.tag, 13, 200, new Uint8Array(8))];
    const auth = authenticateDnskeyRrset(ZONE, keyset, signedByKsk, { ...none, ds }, context());
    expect(auth.outcome).toMatchObject({ state: 'insecure', ede: EdeCode.UNSUPPORTED_DS_DIGEST_TYPE });
    expect(auth.outcome.reason).toContain('(3, 200)');
  });

  it('an unusable DS beside a usable one is ignored: secure', () => {
    const ds = [dsFields(4242, 12, 2, new Uint8Array(32)), dsRdata(ksk)];
    expect(authenticateDnskeyRrset(ZONE, keyset, signedByKsk, { ...none, ds }, context()).outcome.state).toBe('secure');
  });
});

describe('authenticateDnskeyRrset with a trust-anchor DNSKEY (RFC 4035 §5, RFC 5011)', () => {
  it('an anchor DNSKEY in the set that signs it: secure', () => {
    const auth = authenticateDnskeyRrset(ZONE, keyset, signedByKsk, { ...none, dnskey: [ksk.rdata] }, context());
    expect(auth.outcome).toEqual({ state: 'secure', reason: `example.: DNSKEY RRset signed by key ${ksk.tag}, which matches the trust anchor` });
    expect(auth.keys).toEqual([ksk.rdata, zsk.rdata]);
  });

  it('an anchor that is in the set but does not sign it: bogus', () => {
    const auth = authenticateDnskeyRrset(ZONE, keyset, [sign(keyset, zsk)], { ...none, dnskey: [ksk.rdata] }, context());
    expect(auth.outcome.state).toBe('bogus');
  });

  it('an anchor absent from the set: bogus, DNSKEY Missing', () => {
    const other = makeKey('example.');
    expect(authenticateDnskeyRrset(ZONE, keyset, signedByKsk, { ...none, dnskey: [other.rdata] }, context()).outcome).toMatchObject({ state: 'bogus', ede: EdeCode.DNSKEY_MISSING });
  });

  it('sameKeyIgnoringRevoke: equal but for the REVOKE bit; any other difference makes another key', () => {
    const body = ksk.rdata.subarray(4);
    const revoked = dnskeyRdata(0x0181, 13, body);
    expect(sameKeyIgnoringRevoke(ksk.rdata, revoked)).toBe(true);
    expect(sameKeyIgnoringRevoke(revoked, ksk.rdata)).toBe(true);
    expect(sameKeyIgnoringRevoke(ksk.rdata, dnskeyRdata(0x0100, 13, body))).toBe(false); // SEP bit differs
    expect(sameKeyIgnoringRevoke(ksk.rdata, dnskeyRdata(0x0101, 14, body))).toBe(false); // algorithm differs
    expect(sameKeyIgnoringRevoke(ksk.rdata, zsk.rdata)).toBe(false);
    expect(sameKeyIgnoringRevoke(ksk.rdata.subarray(0, 3), ksk.rdata.subarray(0, 3))).toBe(false);
  });

  it('the anchor key published revoked in the set, self-signed: never authenticates (RFC 5011 §2.1)', () => {
    const revoked = dnskeyRdata(0x0181, 13, ksk.rdata.subarray(4));
    const revokedKey = { ...ksk, rdata: revoked, tag: keyTag(revoked) };
    const set = dnskeyRrset([revokedKey, zsk]);
    const auth = authenticateDnskeyRrset(ZONE, set, [sign(set, revokedKey)], { ...none, dnskey: [ksk.rdata] }, context());
    expect(auth.outcome).toMatchObject({ state: 'bogus', ede: EdeCode.DNSKEY_MISSING });
    expect(auth.keys).toEqual([]);
  });

  it('an anchor stored revoked is not used: with no other anchor the trust point is as if deleted (RFC 5011 §5), insecure', () => {
    const revoked = dnskeyRdata(0x0181, 13, ksk.rdata.subarray(4));
    const auth = authenticateDnskeyRrset(ZONE, keyset, signedByKsk, { ...none, dnskey: [revoked] }, context());
    expect(auth.outcome.state).toBe('insecure');
    expect(auth.keys).toEqual([]);
  });
});

describe('RFC vectors: the RFCs’ keys and DS digests', () => {
  const owners = [...new Set(EXAMPLE_DS.map((d) => d.owner))];
  const keysOf = (owner: string) =>
    EXAMPLE_DS.filter((d) => d.owner === owner).map((d) => {
      const v = SIGNATURE_VECTORS.find((s) => s.keyTag === d.keyTag && s.algorithm === d.algorithm && s.privateKey)!;
      const pk = v.privateKey as { privateKey: string };
      return { ds: d, key: knownKey(owner, 257, d.algorithm, b64(d.publicKey), rfcPrivateKey(d.algorithm, d.publicKey, pk.privateKey)) };
    });

  for (const owner of owners) {
    const entries = keysOf(owner);
    const set = dnskeyRrset(entries.map((e) => e.key));
    for (const { ds, key } of entries) {
      it(`${ds.source}: the DS ${ds.keyTag} ${ds.algorithm} ${ds.digestType} printed in the RFC authenticates ${owner} DNSKEY signed by that key`, () => {
        expect(key.tag).toBe(ds.keyTag);
        const rfcDs = dsFields(ds.keyTag, ds.algorithm, ds.digestType, hex(ds.digest));
        const auth = authenticateDnskeyRrset(n(owner), set, [sign(set, key)], { ...none, ds: [rfcDs] }, context());
        expect(auth.outcome.state).toBe('secure');
        expect(auth.linkedBy).toEqual([ds.keyTag]);
        expect(auth.keys).toEqual(entries.map((e) => e.key.rdata));

        const flipped = hex(ds.digest);
        flipped[0]! ^= 0x80;
        const bad = authenticateDnskeyRrset(n(owner), set, [sign(set, key)], { ...none, ds: [dsFields(ds.keyTag, ds.algorithm, ds.digestType, flipped)] }, context());
        expect(bad.outcome).toMatchObject({ state: 'bogus', ede: EdeCode.DNSKEY_MISSING });
      });
    }
  }

  describe('RFC 4034 §5.4 / RFC 4509 §2.3: dskey.example.com. (no private key published, so never signed)', () => {
    const zone = n(RFC4034_DSKEY.owner);
    const rdata = dnskeyRdata(RFC4034_DSKEY.flags, RFC4034_DSKEY.algorithm, b64(RFC4034_DSKEY.publicKey));
    const set = [dnskeyRecord({ zone, rdata })];
    const sha1 = dsFields(RFC4034_DSKEY.keyTag, 5, 1, hex(RFC4034_DSKEY.dsSha1));
    const sha256 = dsFields(RFC4034_DSKEY.keyTag, 5, 2, hex(RFC4034_DSKEY.dsSha256));
    const wrong256 = dsFields(RFC4034_DSKEY.keyTag, 5, 2, hex(RFC4034_DSKEY.dsSha256.replace(/^D4/, 'D5')));
    const auth = (ds: Uint8Array[]) => authenticateDnskeyRrset(zone, set, [], { ...none, ds }, context());

    it('each printed digest links the key; unsigned, the set is still bogus (RRSIGs Missing), not authenticated by the match', () => {
      for (const ds of [[sha1], [sha256], [sha1, sha256]]) {
        expect(auth(ds).outcome).toEqual({ state: 'bogus', reason: 'dskey.example.com.: no RRSIG for dskey.example.com./DNSKEY', ede: EdeCode.RRSIGS_MISSING });
      }
    });

    it('the right SHA-1 beside a wrong SHA-256 does not link the key (RFC 4509 §3)', () => {
      expect(auth([sha1, wrong256]).outcome).toEqual({ state: 'bogus', reason: `dskey.example.com.: no DNSKEY matches the DS (key tag 60485)`, ede: EdeCode.DNSKEY_MISSING });
    });
  });
});

describe.skipIf(!haveTool('dnssec-signzone'))('a zone signed by BIND dnssec-signzone: DNSKEY authenticated from its dsset, every RRset verified', () => {
  const TEXT = `$TTL 3600
bind.example.        IN SOA ns1.bind.example. hostmaster.bind.example. 2026010101 7200 900 1209600 300
bind.example.        IN NS  ns1.bind.example.
bind.example.        IN MX  10 mail.bind.example.
ns1.bind.example.    IN A   192.0.2.1
mail.bind.example.   IN A   192.0.2.25
www.bind.example.    IN A   192.0.2.80
www.bind.example.    IN A   192.0.2.81
www.bind.example.    IN AAAA 2001:db8::80
*.wild.bind.example. IN TXT "wildcard"
sub.bind.example.    IN NS  ns.sub.bind.example.
sub.bind.example.    IN DS  60485 5 1 2BB183AF5F22588179A53B0A98631FAD1A292118
ns.sub.bind.example. IN A   192.0.2.53
`;
  const dirs: string[] = [];
  afterAll(() => dirs.forEach(removeDir));

  for (const [mnemonic, opts] of [
    ['ECDSAP256SHA256', {}],
    ['ED25519', { nsec3: true }],
    ['RSASHA256', { bits: 1024 }],
  ] as const) {
    it(`${mnemonic}${'nsec3' in opts ? ' with NSEC3' : ''}`, () => {
      const signed = signZoneWithBind('bind.example.', TEXT, mnemonic, opts);
      dirs.push(signed.dir);
      const zone = n('bind.example.');
      const now = Math.floor(Date.now() / 1000); // BIND signs from now-1h to now+30d
      const { records } = parseZoneText(readFileSync(signed.signedFile, 'latin1'), { origin: zone, fileName: signed.signedFile });
      const sigs = records.filter((r) => r.type === RRType.RRSIG);
      const sigsOf = (set: ResourceRecord[]) => sigs.filter((s) => s.name.equals(set[0]!.name) && decodeRrsig(s.rdata).typeCovered === set[0]!.type);
      const sets = groupRrsets(records.filter((r) => r.type !== RRType.RRSIG));
      const dnskeys = sets.find((s) => s[0]!.type === RRType.DNSKEY)!;

      const ds = signed.dsset.map((line) => parseRecordLine(line).rdata);
      expect(ds.length).toBeGreaterThan(0);
      const auth = authenticateDnskeyRrset(zone, dnskeys, sigsOf(dnskeys), { ds, dnskey: [] }, context(now));
      expect(auth.outcome.state).toBe('secure');
      expect(auth.keys).toHaveLength(2);

      const unsigned: string[] = [];
      let verified = 0;
      for (const set of sets) {
        const rrsigs = sigsOf(set);
        if (rrsigs.length === 0) {
          unsigned.push(`${set[0]!.name}/${set[0]!.type}`);
          continue;
        }
        const r = verifyRrset(set, rrsigs, zone, auth.keys, context(now));
        expect(r.outcome.state, `${set[0]!.name}/${set[0]!.type}: ${r.outcome.reason}`).toBe('secure');
        expect(r.wildcardEncloser, 'a wildcard owner is not an expansion').toBeUndefined();
        verified++;
      }
      // Only the delegation's NS and its glue are unsigned (RFC 4035 §2.2).
      expect(unsigned.sort()).toEqual(['ns.sub.bind.example./1', 'sub.bind.example./2']);
      expect(verified).toBeGreaterThanOrEqual(10);

      // A changed record no longer verifies; a DS of a key not in the zone links nothing.
      const www = sets.find((s) => s[0]!.name.equals(n('www.bind.example.')) && s[0]!.type === RRType.A)!;
      const forged = [www[0]!, { ...www[1]!, rdata: Uint8Array.of(203, 0, 113, 66) }];
      expect(verifyRrset(forged, sigsOf(www), zone, auth.keys, context(now)).outcome.ede).toBe(EdeCode.DNSSEC_BOGUS);
      const stranger = makeKey('bind.example.');
      expect(authenticateDnskeyRrset(zone, dnskeys, sigsOf(dnskeys), { ds: [dsRdata(stranger)], dnskey: [] }, context(now)).outcome.ede).toBe(EdeCode.DNSKEY_MISSING);
    });
  }
});
