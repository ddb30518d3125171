import { describe, expect, it } from 'vitest';
import { answerFromZone } from '../../src/authority/authoritative-answer.js';
import { nsec3OwnerName } from '../../src/authority/nsec3-chain.js';
import { ZoneData, ZoneDataError, canonicalSortKey } from '../../src/authority/zone-db.js';
import { signZone, type ZoneSigningKey } from '../../src/authority/zone-signer.js';
import { generateKeyPair } from '../../src/crypto/key-generation.js';
import { keyTag } from '../../src/crypto/key-tag.js';
import { verifySignature } from '../../src/crypto/sign-verify.js';
import { Rcode, type ResourceRecord } from '../../src/wire/message.js';
import { Name } from '../../src/wire/name.js';
import { decodeRdata, encodeRdata } from '../../src/wire/rdata-codec.js';
import { RRType } from '../../src/wire/rr-type.js';
import { decodeRrsig, rrsigSignedData } from '../../src/wire/signed-data.js';
import { parseZoneText } from '../../src/wire/zone-file.js';

const ZONE = `$ORIGIN example.
$TTL 3600
@          IN SOA  ns1 hostmaster 1 7200 900 1209600 300
@          IN NS   ns1
@          IN MX   10 mail
ns1        IN A    192.0.2.1
mail       IN A    192.0.2.25
www        IN A    192.0.2.80
alias      IN CNAME www
out        IN CNAME www.elsewhere.net.
*.wild     IN TXT  "wildcard"
a.b.c.deep IN TXT  "deep"
secure     IN NS   ns.secure
secure     IN DS   60485 13 2 2BB183AF5F22588179A53B0A98631FAD1A292118AAAAAAAAAAAAAAAAAAAAAAAA
ns.secure  IN A    192.0.2.53
insecure   IN NS   ns.insecure
ns.insecure IN A   192.0.2.54
`;

const origin = Name.parse('example.');
const n = (text: string) => Name.parse(text, origin);
const NOW = 1_780_000_000;
const window = { inception: NOW - 3600, expiration: NOW + 86400 };

function key(role: 'ksk' | 'zsk'): ZoneSigningKey {
  const { privateKey, publicKeyField } = generateKeyPair(13);
  const dnskeyRdata = encodeRdata(RRType.DNSKEY, { flags: role === 'ksk' ? 257 : 256, protocol: 3, algorithm: 13, publicKey: publicKeyField });
  return { zone: origin, algorithm: 13, keyTag: keyTag(dnskeyRdata), privateKey, dnskeyRdata, role };
}
const KEYS = [key('ksk'), key('zsk')];

function load(denial: 'none' | 'nsec' | 'nsec3' | 'optout'): ZoneData {
  const { records, sources } = parseZoneText(ZONE, { fileName: 'example.zone' });
  if (denial === 'none') return ZoneData.fromRecords(origin, records, sources);
  const signed = signZone(records, {
    zone: origin,
    keys: KEYS,
    windows: { dnskey: window, ds: window, other: window },
    denial: denial === 'nsec' ? { kind: 'nsec' } : { kind: 'nsec3', iterations: 0, salt: new Uint8Array(0), optOut: denial === 'optout' },
  });
  return ZoneData.fromRecords(origin, signed);
}

/** Every RRSIG in a section verifies over the RRset it covers, with the zone's keys. */
function expectSignaturesVerify(section: readonly ResourceRecord[]): number {
  let checked = 0;
  for (const sig of section.filter((r) => r.type === RRType.RRSIG)) {
    const f = decodeRrsig(sig.rdata);
    const rrset = section.filter((r) => r.type === f.typeCovered && r.name.equals(sig.name));
    const k = KEYS.find((x) => x.keyTag === f.keyTag)!;
    const publicKey = decodeRdata(RRType.DNSKEY, k.dnskeyRdata)['publicKey'] as Uint8Array;
    expect(verifySignature(13, publicKey, rrsigSignedData(f, rrset), f.signature), `${sig.name.toString()} RRSIG ${f.typeCovered}`).toBe(true);
    checked++;
  }
  return checked;
}

const types = (rrs: readonly ResourceRecord[]) => rrs.map((r) => `${r.name.toString()} ${r.type}`);

/** Whether an NSEC's interval (owner, next) covers `name` in canonical order (wrapping at the end). */
function nsecCovers(nsec: ResourceRecord, name: Name): boolean {
  const next = decodeRdata(RRType.NSEC, nsec.rdata)['next'] as Name;
  const after = nsec.name.compareCanonical(name) < 0;
  const before = name.compareCanonical(next) < 0;
  return next.compareCanonical(nsec.name) <= 0 ? after || before : after && before;
}

function nsec3Covers(nsec3: ResourceRecord, name: Name): boolean {
  const { hash } = nsec3OwnerName(name, origin, new Uint8Array(0), 0);
  const ownerHash = Buffer.from(nsec3.name.label(0)).toString('latin1').toUpperCase();
  const next = decodeRdata(RRType.NSEC3, nsec3.rdata)['nextHashed'] as Uint8Array;
  const h = Buffer.from(hash);
  const o = Buffer.from(fromB32(ownerHash));
  const x = Buffer.from(next);
  return Buffer.compare(x, o) <= 0 ? Buffer.compare(o, h) < 0 || Buffer.compare(h, x) < 0 : Buffer.compare(o, h) < 0 && Buffer.compare(h, x) < 0;
}

function fromB32(text: string): Uint8Array {
  const alphabet = '0123456789ABCDEFGHIJKLMNOPQRSTUV';
  const out: number[] = [];
  let bits = 0;
  let value = 0;
  for (const c of text) {
    value = (value << 5) | alphabet.indexOf(c);
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  return Uint8Array.from(out);
}

describe('the zone DB', () => {
  it('orders names canonically (RFC 4034 §6.1) and finds empty non-terminals', () => {
    const names = ['example.', 'a.example.', 'yljkjljk.a.example.', 'Z.a.example.', 'zABC.a.EXAMPLE.', 'z.example.', '\\001.z.example.', '*.z.example.', '\\200.z.example.'];
    const sorted = names.map((t) => Name.parse(t)).sort((a, b) => (canonicalSortKey(a) < canonicalSortKey(b) ? -1 : 1));
    expect(sorted.map((x) => x.toString())).toEqual(names.map((t) => Name.parse(t).toString()));
    const zone = load('none');
    expect(zone.exists(n('c.deep'))).toBe(true);
    expect(zone.exists(n('deep'))).toBe(true);
    expect(zone.exists(n('x.deep'))).toBe(false);
    expect(zone.findCut(n('a.b.secure'))?.name.toString()).toBe('secure.example.');
    expect(zone.findCut(n('www'))).toBeUndefined();
  });

  it('rejects zones that cannot be served, naming file and line', () => {
    const bad = (text: string) => {
      const { records, sources } = parseZoneText(`$ORIGIN example.\n$TTL 300\n${text}`, { fileName: 'bad.zone' });
      return () => ZoneData.fromRecords(origin, records, sources);
    };
    const soa = '@ SOA ns1 h 1 2 3 4 5\n@ NS ns1\n';
    expect(bad('@ NS ns1\n')).toThrow(/no SOA record at the apex/);
    expect(bad('@ SOA ns1 h 1 2 3 4 5\n')).toThrow(/no NS records at the apex/);
    expect(bad(`${soa}www.other.net. A 192.0.2.1\n`)).toThrow(/^bad\.zone:5: www\.other\.net\. A is outside the zone example\./);
    expect(bad(`${soa}www CNAME a\nwww A 192.0.2.1\n`)).toThrow(/^bad\.zone:5: CNAME and other data \(A\) at www\.example\./);
    expect(bad(`${soa}sub SOA ns1 h 1 2 3 4 5\n`)).toThrow(/bad\.zone:5: an SOA record at sub\.example\./);
    expect(bad(soa)).not.toThrow();
    expect(new ZoneDataError('example.', 'f:1', 'x').message).toBe('f:1: x');
  });
});

describe('authoritative answers from an unsigned zone', () => {
  const zone = load('none');

  it('answers data with AA, follows CNAMEs inside the zone, adds addresses for MX', () => {
    const www = answerFromZone(zone, n('www'), RRType.A, true);
    expect(www).toMatchObject({ rcode: Rcode.NOERROR, aa: true, authority: [] });
    expect(types(www.answer)).toEqual(['www.example. 1']);
    expect(types(answerFromZone(zone, n('alias'), RRType.A, false).answer)).toEqual(['alias.example. 5', 'www.example. 1']);
    expect(types(answerFromZone(zone, n('out'), RRType.A, false).answer)).toEqual(['out.example. 5']);
    expect(types(answerFromZone(zone, origin, RRType.MX, false).additional)).toEqual(['mail.example. 1']);
  });

  it('refers below a delegation with NS and glue, AA clear; DS at the cut is answered from here', () => {
    const r = answerFromZone(zone, n('host.secure'), RRType.A, false);
    expect(r).toMatchObject({ rcode: Rcode.NOERROR, aa: false, answer: [] });
    expect(types(r.authority)).toEqual(['secure.example. 2']);
    expect(types(r.additional)).toEqual(['ns.secure.example. 1']);
    const ds = answerFromZone(zone, n('secure'), RRType.DS, false);
    expect(ds.aa).toBe(true);
    expect(types(ds.answer)).toEqual(['secure.example. 43']);
  });

  it('NXDOMAIN and NODATA carry the SOA with the negative TTL (RFC 2308)', () => {
    const nx = answerFromZone(zone, n('nope'), RRType.A, false);
    expect(nx.rcode).toBe(Rcode.NXDOMAIN);
    expect(nx.authority.map((r) => [r.type, r.ttl])).toEqual([[RRType.SOA, 300]]);
    const nodata = answerFromZone(zone, n('www'), RRType.MX, false);
    expect(nodata).toMatchObject({ rcode: Rcode.NOERROR, answer: [] });
    expect(nodata.authority.map((r) => r.type)).toEqual([RRType.SOA]);
    expect(answerFromZone(zone, n('c.deep'), RRType.A, false)).toMatchObject({ rcode: Rcode.NOERROR, answer: [] });
  });

  it('synthesises from a wildcard (RFC 4592), but not for names that exist', () => {
    const w = answerFromZone(zone, n('host.wild'), RRType.TXT, false);
    expect(w.answer.map((r) => r.name.toString())).toEqual(['host.wild.example.']);
    expect(answerFromZone(zone, n('a.host.wild'), RRType.TXT, false).answer).toHaveLength(1);
    expect(answerFromZone(zone, n('host.wild'), RRType.A, false)).toMatchObject({ rcode: Rcode.NOERROR, answer: [] });
    expect(answerFromZone(zone, n('wild'), RRType.TXT, false)).toMatchObject({ rcode: Rcode.NOERROR, answer: [] });
  });
});

describe('authoritative answers from a zone signed with NSEC (RFC 4035 §3.1)', () => {
  const zone = load('nsec');

  it('adds RRSIGs only with DO, and they verify', () => {
    expect(answerFromZone(zone, n('www'), RRType.A, false).answer.map((r) => r.type)).toEqual([RRType.A]);
    const r = answerFromZone(zone, n('www'), RRType.A, true);
    expect(r.answer.map((x) => x.type)).toEqual([RRType.A, RRType.RRSIG]);
    expect(expectSignaturesVerify(r.answer)).toBe(1);
  });

  it('NXDOMAIN: an NSEC covering the name and one covering the wildcard', () => {
    const r = answerFromZone(zone, n('nope.c.deep'), RRType.A, true);
    expect(r.rcode).toBe(Rcode.NXDOMAIN);
    const nsecs = r.authority.filter((x) => x.type === RRType.NSEC);
    expect(nsecs.some((x) => nsecCovers(x, n('nope.c.deep')))).toBe(true);
    expect(nsecs.some((x) => nsecCovers(x, n('*.c.deep')))).toBe(true);
    expect(expectSignaturesVerify(r.authority)).toBe(1 + nsecs.length);
  });

  it('NODATA: the NSEC at the name without the type; an empty non-terminal: the NSEC before it', () => {
    const r = answerFromZone(zone, n('www'), RRType.MX, true);
    const nsec = r.authority.find((x) => x.type === RRType.NSEC)!;
    expect(nsec.name.toString()).toBe('www.example.');
    expect(decodeRdata(RRType.NSEC, nsec.rdata)['types']).not.toContain(RRType.MX);
    const ent = answerFromZone(zone, n('c.deep'), RRType.A, true);
    expect(ent.authority.filter((x) => x.type === RRType.NSEC).map((x) => (decodeRdata(RRType.NSEC, x.rdata)['next'] as Name).toString())).toEqual(['a.b.c.deep.example.']);
  });

  it('wildcard expansion: RRSIG labels say so, and an NSEC proves the name itself is absent', () => {
    const r = answerFromZone(zone, n('host.wild'), RRType.TXT, true);
    const sig = r.answer.find((x) => x.type === RRType.RRSIG)!;
    // *.wild.example. has 2 labels without the '*'; fewer than the 3 of host.wild.example.
    expect(decodeRrsig(sig.rdata).labels).toBe(2);
    expect(r.authority.filter((x) => x.type === RRType.NSEC).some((x) => nsecCovers(x, n('host.wild')))).toBe(true);
  });

  it('a referral to an unsigned child proves there is no DS; to a signed child it carries the signed DS', () => {
    const insecure = answerFromZone(zone, n('www.insecure'), RRType.A, true);
    expect(insecure.aa).toBe(false);
    expect(types(insecure.authority)).toEqual(['insecure.example. 2', 'insecure.example. 47', 'insecure.example. 46']);
    const secure = answerFromZone(zone, n('www.secure'), RRType.A, true);
    expect(types(secure.authority)).toEqual(['secure.example. 2', 'secure.example. 43', 'secure.example. 46']);
    expect(expectSignaturesVerify(secure.authority)).toBe(1);
  });
});

describe('authoritative answers from a zone signed with NSEC3 (RFC 5155 §7.2)', () => {
  const zone = load('nsec3');

  it('NXDOMAIN: closest encloser match, next closer covered, wildcard covered', () => {
    const r = answerFromZone(zone, n('x.nope.c.deep'), RRType.A, true);
    expect(r.rcode).toBe(Rcode.NXDOMAIN);
    const nsec3s = r.authority.filter((x) => x.type === RRType.NSEC3);
    const ce = nsec3OwnerName(n('c.deep'), origin, new Uint8Array(0), 0).owner;
    expect(nsec3s.some((x) => x.name.equals(ce))).toBe(true);
    expect(nsec3s.some((x) => nsec3Covers(x, n('nope.c.deep')))).toBe(true);
    expect(nsec3s.some((x) => nsec3Covers(x, n('*.c.deep')))).toBe(true);
    expect(expectSignaturesVerify(r.authority)).toBe(1 + nsec3s.length);
  });

  it('NODATA at a name and at an empty non-terminal: the matching NSEC3', () => {
    for (const name of ['www', 'c.deep']) {
      const r = answerFromZone(zone, n(name), RRType.MX, true);
      const nsec3s = r.authority.filter((x) => x.type === RRType.NSEC3);
      expect(nsec3s.map((x) => x.name.toString())).toEqual([nsec3OwnerName(n(name), origin, new Uint8Array(0), 0).owner.toString()]);
    }
  });

  it('wildcard NODATA: closest encloser, next closer and the wildcard itself', () => {
    const r = answerFromZone(zone, n('host.wild'), RRType.A, true);
    const owners = r.authority.filter((x) => x.type === RRType.NSEC3).map((x) => x.name.toString());
    expect(owners).toContain(nsec3OwnerName(n('wild'), origin, new Uint8Array(0), 0).owner.toString());
    expect(owners).toContain(nsec3OwnerName(n('*.wild'), origin, new Uint8Array(0), 0).owner.toString());
  });

  it('with Opt-Out the unsigned delegation has no NSEC3; its referral proves the closest provable encloser', () => {
    const optOut = load('optout');
    const insecureHash = nsec3OwnerName(n('insecure'), origin, new Uint8Array(0), 0).owner;
    expect(optOut.nsec3ByOwnerName(insecureHash)).toBeUndefined();
    expect(load('nsec3').nsec3ByOwnerName(insecureHash)).toBeDefined();
    const r = answerFromZone(optOut, n('www.insecure'), RRType.A, true);
    const nsec3s = r.authority.filter((x) => x.type === RRType.NSEC3);
    expect(nsec3s.some((x) => x.name.equals(nsec3OwnerName(origin, origin, new Uint8Array(0), 0).owner))).toBe(true);
    expect(nsec3s.some((x) => nsec3Covers(x, n('insecure')) && (decodeRdata(RRType.NSEC3, x.rdata)['flags'] as number) & 1)).toBe(true);
  });
});
