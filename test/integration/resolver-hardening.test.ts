/**
 * Regression tests for the resolver and validator bugs that hit DNS vendors in 2023–26, run
 * against a live `keymaster serve` that iterates from a private root of scripted servers
 * (test/support/scripted-server.ts) on 127.10.60.0/24. Each scripted server answers honestly
 * from its zone and then lies the way the published attacks do; every case asserts what an
 * RFC-correct resolver does and would fail on a vulnerable one.
 *
 *   N    server                     zones / role
 *   1    unsigned root              .            delegates victim. and evil.
 *   2    victim                     victim.      the data clients must keep getting
 *   3    evil                       evil.        answers its own names plus records for others
 *   10   signed root                .            NSEC, ECDSA P-256; DS for good. and n3.
 *   11   good                       good.        NSEC-signed; forged wildcard, bad NSEC, NSEC padding
 *   12   n3                         n3.          NSEC3 (150 iterations); padded referrals and denials
 *   13   children of n3.            cN.n3.       unsigned child zones
 *   53   Keymaster (validation off), 54 Keymaster (validation on); control on .250:5380
 */
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nsec3OwnerName } from '../../src/authority/nsec3-chain.js';
import { type SigningKey, finishRrsig, prepareRrsig, signRrset } from '../../src/authority/rrset-signer.js';
import { type ZoneSigningKey, signZone, signZoneWithNsec } from '../../src/authority/zone-signer.js';
import { dsDigest } from '../../src/crypto/ds-digest.js';
import { generateKeyPair } from '../../src/crypto/key-generation.js';
import { keyTag } from '../../src/crypto/key-tag.js';
import { signData } from '../../src/crypto/sign-verify.js';
import { extendedErrors } from '../../src/wire/edns.js';
import { dssetToText } from '../../src/wire/key-files.js';
import { type Message, type ResourceRecord, Rcode } from '../../src/wire/message.js';
import { Name } from '../../src/wire/name.js';
import { decodeRdata, encodeRdata } from '../../src/wire/rdata-codec.js';
import { RRType } from '../../src/wire/rr-type.js';
import { rrsigSignedData } from '../../src/wire/signed-data.js';
import { toBase32Hex } from '../../src/wire/text-encoding.js';
import { type KeymasterServer, removeDir, startKeymaster, tempDir } from '../support/external-servers.js';
import { type ScriptedServer, type Script, makeZone, records, replyTo, startScriptedServer, zoneScript } from '../support/scripted-server.js';
import { askDnssec, summariseAnswer } from '../support/signed-hierarchy.js';

const P = '127.10.60';
const CONTROL = `${P}.250:5380`;
/** What no honest server of the tree ever says: any record carrying it was planted. */
const FORGED = '6.6.6.6';
/** Per-query budgets Keymaster ships (src/dnssec/validation-budget.ts), the bounds these tests hold it to. */
const MAX_NSEC3_HASHES = 150;
const MAX_SIGNATURE_CHECKS = 64;

const N = (s: string) => Name.parse(s);
const rr = (line: string) => records(line)[0]!;
const coveredType = (sig: ResourceRecord) => (sig.rdata[0]! << 8) | sig.rdata[1]!;
const allRecords = (m: Message) => [...m.answer, ...m.authority, ...m.additional];
const addresses = (m: Message) => m.answer.filter((r) => r.type === RRType.A).map((r) => decodeRdata(RRType.A, r.rdata)['address'] as string);
const planted = (m: Message) => allRecords(m).filter((r) => r.type === RRType.A && decodeRdata(RRType.A, r.rdata)['address'] === FORGED);

function rootHintsFile(dir: string, address: string): string {
  const file = join(dir, 'named.root');
  writeFileSync(file, `.\t3600000\tNS\tns.root.\nns.root.\t3600000\tA\t${address}\n`);
  return file;
}

/** A one-key zone (the KSK signs everything: zone-signer's rule for a zone without ZSK), ECDSA P-256. */
function makeKey(zone: Name): ZoneSigningKey {
  const { privateKey, publicKeyField } = generateKeyPair(13);
  const dnskeyRdata = encodeRdata(RRType.DNSKEY, { flags: 257, protocol: 3, algorithm: 13, publicKey: publicKeyField });
  return { zone, algorithm: 13, keyTag: keyTag(dnskeyRdata), privateKey, dnskeyRdata, role: 'ksk' };
}

function dsRecord(key: ZoneSigningKey): ResourceRecord {
  const rdata = encodeRdata(RRType.DS, { keyTag: key.keyTag, algorithm: 13, digestType: 2, digest: dsDigest(2, key.zone.wire, key.dnskeyRdata) });
  return { name: key.zone, type: RRType.DS, class: 1, ttl: 3600, rdata };
}

const signingWindow = () => {
  const now = Math.floor(Date.now() / 1000);
  return { inception: now - 3600, expiration: now + 10 * 86_400 };
};

/** An RRSIG whose label count is whatever the attacker wants, with a signature that verifies over it. */
function signWithLabels(rrset: readonly ResourceRecord[], key: SigningKey, labels: number): ResourceRecord {
  const pending = prepareRrsig(rrset, key, signingWindow());
  const fields = { ...pending.fields, labels };
  const data = rrsigSignedData(fields, rrset);
  return finishRrsig({ ...pending, fields, data }, signData(key.algorithm, key.privateKey, data));
}

const signed = (rrs: ResourceRecord[], key: SigningKey) => [...rrs, signRrset(rrs, key, signingWindow())];

/** The honest answer with records added to its sections (the shape of every "promiscuous" attack). */
function withExtras(base: Script, extra: (query: Message, honest: Message) => Partial<Pick<Message, 'answer' | 'authority' | 'additional'>>): Script {
  return (query, transport) => {
    const honest = base(query, transport);
    if (!honest) return honest;
    const more = extra(query, honest);
    return { ...honest, answer: [...honest.answer, ...(more.answer ?? [])], authority: [...honest.authority, ...(more.authority ?? [])], additional: [...honest.additional, ...(more.additional ?? [])] };
  };
}

describe('unsolicited records are neither cached nor followed (validation off, unsigned tree)', () => {
  const ROOT = `${P}.1`;
  const VICTIM = `${P}.2`;
  const EVIL = `${P}.3`;
  const KEYMASTER = `${P}.53`;
  const km = () => ({ host: KEYMASTER, port: 53 });
  let dir: string;
  let root: ScriptedServer;
  let victim: ScriptedServer;
  let evil: ScriptedServer;
  let keymaster: KeymasterServer;
  let honestEvil: Script;
  const outsideEvil = () => evil.queries.filter((q) => !q.message.question[0]!.name.isSubdomainOf(N('evil.')));

  beforeAll(async () => {
    dir = tempDir('hardening-unsigned');
    const rootZone = makeZone('.', records(`
      . 86400 IN SOA ns.root. hostmaster.root. 1 1800 900 604800 86400
      . 518400 IN NS ns.root.
      ns.root. 518400 IN A ${ROOT}
      victim. 172800 IN NS ns.victim.
      ns.victim. 172800 IN A ${VICTIM}
      evil. 172800 IN NS ns.evil.
      ns.evil. 172800 IN A ${EVIL}`));
    const victimZone = makeZone('victim.', records(`
      victim. 3600 IN SOA ns.victim. hostmaster.victim. 1 3600 900 604800 300
      victim. 3600 IN NS ns.victim.
      ns.victim. 3600 IN A ${VICTIM}
      www.victim. 3600 IN A 192.0.2.1
      mail.victim. 3600 IN A 192.0.2.2
      dn.victim. 3600 IN A 192.0.2.4
      api.victim. 3600 IN A 192.0.2.5
      ftp.victim. 3600 IN A 192.0.2.6`));
    const evilZone = makeZone('evil.', records(`
      evil. 3600 IN SOA ns.evil. hostmaster.evil. 1 3600 900 604800 300
      evil. 3600 IN NS ns.evil.
      ns.evil. 3600 IN A ${EVIL}
      www.evil. 3600 IN A 198.51.100.1
      www2.evil. 3600 IN A 198.51.100.2
      x.evil. 3600 IN A 198.51.100.3
      other.evil. 3600 IN A 198.51.100.4
      dn.evil. 3600 IN A ${FORGED}
      redirect.evil. 3600 IN CNAME api.victim.`));
    honestEvil = zoneScript([evilZone]);
    [root, victim, evil] = await Promise.all([
      startScriptedServer(ROOT, zoneScript([rootZone])),
      startScriptedServer(VICTIM, zoneScript([victimZone])),
      startScriptedServer(EVIL, honestEvil),
    ]);
    keymaster = await startKeymaster({ address: KEYMASTER, control: CONTROL, rootHints: rootHintsFile(dir, ROOT), validation: false, rootAnchors: 'none' });
  });

  afterAll(async () => {
    await keymaster?.stop();
    await Promise.all([root?.stop(), victim?.stop(), evil?.stop()]);
    if (dir) removeDir(dir);
  });

  /** Asks Keymaster and checks what every answer of this block must satisfy. */
  async function ask(name: string, type = 'A'): Promise<Message> {
    const r = await askDnssec(km(), name, type);
    expect(planted(r), `${name}: ${summariseAnswer(r)}`).toEqual([]);
    return r;
  }

  it('1. an NS RRset for another zone in the authority section does not move that zone (CVE-2025-40778, CVE-2025-11411)', async () => {
    // RFC 2181 §5.4.1: data outside the answering server's zone is not to be trusted, let alone
    // cached; RFC 1034 §4.3.2: a zone's delegation comes from its parent.
    evil.script = withExtras(honestEvil, () => ({
      authority: records(`
        victim. 86400 IN NS ns.evil.
        . 86400 IN NS ns.evil.`),
      additional: records(`
        ns.evil. 86400 IN A ${EVIL}
        ns.victim. 86400 IN A ${EVIL}
        ns.root. 86400 IN A ${EVIL}`),
    }));
    try {
      // Before the victim's delegation is known: a promiscuous cache would learn it from evil.
      const first = await ask('www.evil.');
      expect(addresses(first)).toEqual(['198.51.100.1']);
      expect(allRecords(first).filter((r) => !r.name.isSubdomainOf(N('evil.'))), summariseAnswer(first)).toEqual([]);
      const www = await ask('www.victim.');
      expect(www.rcode, summariseAnswer(www)).toBe(Rcode.NOERROR);
      expect(addresses(www)).toEqual(['192.0.2.1']);
      expect(victim.queriesAtOrBelow('www.victim.').length).toBeGreaterThan(0);

      // With the delegation cached: a promiscuous cache would replace it.
      expect(addresses(await ask('www2.evil.'))).toEqual(['198.51.100.2']);
      const asked = victim.queriesAtOrBelow('ftp.victim.').length;
      const ftp = await ask('ftp.victim.');
      expect(addresses(ftp), summariseAnswer(ftp)).toEqual(['192.0.2.6']);
      expect(victim.queriesAtOrBelow('ftp.victim.').length).toBeGreaterThan(asked);

      // The evil server was never asked anything outside its own zone.
      expect(outsideEvil().map((q) => q.message.question[0]!.name.toString())).toEqual([]);
    } finally {
      evil.script = honestEvil;
    }
  });

  it('2. unsolicited DNAME, CNAME and A records in any section are never cached or returned', async () => {
    evil.script = withExtras(honestEvil, () => ({
      // Out-of-bailiwick records riding along in the answer section (the BIND CVE-2025-40778 shape).
      answer: records(`
        api.victim. 86400 IN A ${FORGED}
        mail.victim. 86400 IN A ${FORGED}`),
      authority: records(`
        victim. 86400 IN DNAME evil.
        mail.victim. 86400 IN CNAME dn.evil.
        api.victim. 86400 IN A ${FORGED}`),
      additional: records(`
        mail.victim. 86400 IN A ${FORGED}
        dn.victim. 86400 IN A ${FORGED}
        ns.victim. 86400 IN A ${EVIL}
        other.evil. 86400 IN A ${FORGED}`),
    }));
    try {
      const x = await ask('x.evil.');
      expect(addresses(x)).toEqual(['198.51.100.3']);
      expect(allRecords(x).filter((r) => !r.name.isSubdomainOf(N('evil.'))), summariseAnswer(x)).toEqual([]);

      // The CNAME leaves evil.'s zone: its target is resolved from the target's own servers.
      const apiAsked = victim.queriesAtOrBelow('api.victim.').length;
      const redirect = await ask('redirect.evil.');
      expect(redirect.rcode, summariseAnswer(redirect)).toBe(Rcode.NOERROR);
      expect(redirect.answer.map((r) => `${r.name} ${r.type}`)).toEqual(['redirect.evil. 5', 'api.victim. 1']);
      expect(addresses(redirect)).toEqual(['192.0.2.5']);
      expect(victim.queriesAtOrBelow('api.victim.').length).toBeGreaterThan(apiAsked);

      // Later clients get the victim's own data: no DNAME redirection, no CNAME, no planted A.
      for (const [name, address] of [['mail.victim.', '192.0.2.2'], ['dn.victim.', '192.0.2.4'], ['ns.victim.', VICTIM]] as const) {
        const r = await ask(name);
        expect(r.answer.map((a) => a.type), `${name}: ${summariseAnswer(r)}`).toEqual([RRType.A]);
        expect(addresses(r)).toEqual([address]);
      }
      // An in-bailiwick but unrelated name from the additional section is not answered from the cache either.
      const otherAsked = evil.queriesAtOrBelow('other.evil.').length;
      expect(addresses(await ask('other.evil.'))).toEqual(['198.51.100.4']);
      expect(evil.queriesAtOrBelow('other.evil.').length).toBeGreaterThan(otherAsked);

      expect(outsideEvil().map((q) => q.message.question[0]!.name.toString())).toEqual([]);
    } finally {
      evil.script = honestEvil;
    }
  });
});

describe('validator hardening (validation on, signed test root)', () => {
  const ROOT = `${P}.10`;
  const GOOD = `${P}.11`;
  const N3 = `${P}.12`;
  const CHILD = `${P}.13`;
  const KEYMASTER = `${P}.54`;
  const NSEC3_ITERATIONS = 150;
  const NO_SALT = new Uint8Array(0);
  /** Eight labels above the nx5… names of n3.: ancestors a proof would walk. */
  const DEEP = 'a.b.c.d.e.f.g.h.';
  const km = () => ({ host: KEYMASTER, port: 53 });
  let dir: string;
  let servers: ScriptedServer[] = [];
  let good: ScriptedServer;
  let n3: ScriptedServer;
  let keymaster: KeymasterServer;

  const status = async () => {
    const r = await keymaster.cli(['status', '--json']);
    expect(r.code, r.stderr).toBe(0);
    return JSON.parse(r.stdout).resolver as { validation: { secure: number; insecure: number; bogus: number; signatureChecks: number; nsec3Hashes: number }; upstream: { queries: number } };
  };
  const ede = (m: Message) => extendedErrors(m.edns).map((e) => e.infoCode);
  /** SERVFAIL, or an answer without AD (insecure): what RFC 4035 §5.5 / RFC 9276 §3.2 allow for unverifiable data. */
  const refusedOrInsecure = (m: Message) => m.rcode === Rcode.SERVFAIL || !m.ad;

  beforeAll(async () => {
    dir = tempDir('hardening-signed');
    const window = signingWindow();
    const rootKey = makeKey(Name.root);
    const goodKey = makeKey(N('good.'));
    const n3Key = makeKey(N('n3.'));

    const rootZone = makeZone('.', signZoneWithNsec([
      ...records(`
        . 86400 IN SOA ns.root. hostmaster.root. 1 1800 900 604800 86400
        . 518400 IN NS ns.root.
        ns.root. 518400 IN A ${ROOT}
        good. 172800 IN NS ns.good.
        ns.good. 172800 IN A ${GOOD}
        n3. 172800 IN NS ns.n3.
        ns.n3. 172800 IN A ${N3}`),
      dsRecord(goodKey),
      dsRecord(n3Key),
    ], { zone: Name.root, keys: [rootKey], window }));

    const goodRecords = signZoneWithNsec(records(`
      good. 3600 IN SOA ns.good. hostmaster.good. 1 3600 900 604800 300
      good. 3600 IN NS ns.good.
      ns.good. 3600 IN A ${GOOD}
      www.good. 3600 IN A 192.0.2.10
      b1.good. 3600 IN A 192.0.2.21
      *.wild.good. 3600 IN A 192.0.2.11`), { zone: N('good.'), keys: [goodKey], window });
    const honestGood = zoneScript([makeZone('good.', goodRecords)]);
    const goodSoa = goodRecords.filter((r) => r.name.equals(N('good.')) && (r.type === RRType.SOA || (r.type === RRType.RRSIG && coveredType(r) === RRType.SOA)));

    const n3Records = signZone(records(`
      n3. 3600 IN SOA ns.n3. hostmaster.n3. 1 3600 900 604800 300
      n3. 3600 IN NS ns.n3.
      ns.n3. 3600 IN A ${N3}
      www.n3. 3600 IN A 192.0.2.20`), {
      zone: N('n3.'), keys: [n3Key], windows: { dnskey: window, ds: window, other: window },
      denial: { kind: 'nsec3', iterations: NSEC3_ITERATIONS, salt: NO_SALT, optOut: false },
    });
    const honestN3 = zoneScript([makeZone('n3.', n3Records)]);
    const n3Soa = n3Records.filter((r) => r.name.equals(N('n3.')) && (r.type === RRType.SOA || (r.type === RRType.RRSIG && coveredType(r) === RRType.SOA)));

    // 300 NSEC3 records with 150 iterations, each validly signed by the zone: the padding of CVE-2023-50868.
    const nsec3Padding: ResourceRecord[] = [];
    for (let i = 0; i < 300; i++) {
      const owner = N('n3.').prepend(toBase32Hex(randomBytes(20)).toLowerCase());
      const rdata = encodeRdata(RRType.NSEC3, { hashAlgorithm: 1, flags: 0, iterations: NSEC3_ITERATIONS, salt: NO_SALT, nextHashed: randomBytes(20), types: [RRType.A, RRType.RRSIG] });
      nsec3Padding.push(...signed([{ name: owner, type: RRType.NSEC3, class: 1, ttl: 300, rdata }], n3Key));
    }
    // 200 NSEC records, each validly signed by good.: a negative answer padded to make the validator verify.
    const nsecPadding: ResourceRecord[] = [];
    for (let i = 0; i < 200; i++) {
      const owner = N(`p${String(i).padStart(3, '0')}.good.`);
      const rdata = encodeRdata(RRType.NSEC, { next: N(`p${String(i).padStart(3, '0')}a.good.`), types: [RRType.A, RRType.RRSIG, RRType.NSEC] });
      nsecPadding.push(...signed([{ name: owner, type: RRType.NSEC, class: 1, ttl: 300, rdata }], goodKey));
    }
    const apexNsec = (next: string) =>
      signed([{ name: N('good.'), type: RRType.NSEC, class: 1, ttl: 300, rdata: encodeRdata(RRType.NSEC, { next: N(next), types: [RRType.NS, RRType.SOA, RRType.RRSIG, RRType.NSEC, RRType.DNSKEY] }) }], goodKey);
    const outOfZoneNsec = apexNsec('zzz.other.');
    const inZoneNsec = apexNsec('zzz.good.');

    const goodScript: Script = (query, transport) => {
      const q = query.question[0]!;
      const denial = (m: Message) => m.authority.filter((r) => r.type === RRType.NSEC || (r.type === RRType.RRSIG && coveredType(r) === RRType.NSEC));
      if (q.type === RRType.A && (q.name.equals(N('forged.good.')) || q.name.equals(N('forged-ok.good.')))) {
        // A name the zone does not have, answered positively; the RRSIG's label count 0 claims an
        // expansion of "*." — a wildcard above good.'s apex. The NSECs that deny the name come along,
        // so a validator that accepts the label count finds its "wildcard proof" too.
        const a = [{ ...rr(`x. 300 IN A ${FORGED}`), name: q.name }];
        const honest = honestGood(query, transport)!;
        const sig = q.name.equals(N('forged.good.')) ? signWithLabels(a, goodKey, 0) : signRrset(a, goodKey, signingWindow());
        return replyTo(query, { aa: true, answer: [...a, sig], authority: denial(honest) });
      }
      if (q.name.equals(N('nx4.good.')) || q.name.equals(N('nx4ok.good.'))) {
        // NXDOMAIN "proven" by an apex NSEC whose next name lies outside the zone (RFC 4034 §4.1.1: the
        // chain ends at the apex), so that it covers every name of good. after the apex.
        const nsec = q.name.equals(N('nx4.good.')) ? outOfZoneNsec : inZoneNsec;
        return replyTo(query, { aa: true, rcode: Rcode.NXDOMAIN, authority: [...goodSoa, ...nsec] });
      }
      if (q.name.equals(N('nx6.good.'))) {
        const honest = honestGood(query, transport)!;
        return { ...honest, authority: [...honest.authority, ...nsecPadding] };
      }
      return honestGood(query, transport);
    };

    const n3Script: Script = (query, transport) => {
      const q = query.question[0]!;
      const label = q.name.labelCount >= 2 ? Buffer.from(q.name.suffix(2).label(0)).toString('latin1') : '';
      if (q.name.isSubdomainOf(N('n3.')) && /^c\d+$/.test(label)) {
        // cN.n3.: an unsigned delegation whose referral and DS denial carry 300 NSEC3 records of
        // 150 iterations besides the one record that matters.
        const child = q.name.suffix(2);
        const { owner } = nsec3OwnerName(child, N('n3.'), NO_SALT, NSEC3_ITERATIONS);
        const matching = signed([{ name: owner, type: RRType.NSEC3, class: 1, ttl: 300, rdata: encodeRdata(RRType.NSEC3, { hashAlgorithm: 1, flags: 0, iterations: NSEC3_ITERATIONS, salt: NO_SALT, nextHashed: randomBytes(20), types: [RRType.NS] }) }], n3Key);
        if (q.type === RRType.DS && q.name.equals(child)) return replyTo(query, { aa: true, authority: [...n3Soa, ...matching, ...nsec3Padding] });
        return replyTo(query, {
          authority: [{ ...rr(`x. 3600 IN NS ns.${child}`), name: child }, ...matching, ...nsec3Padding],
          additional: [{ ...rr(`x. 3600 IN A ${CHILD}`), name: N(`ns.${child}`) }],
        });
      }
      if (q.name.isSubdomainOf(N('n3.')) && label.startsWith('nx5')) {
        // A negative answer padded with 120 signed NSEC3 records (150 iterations) besides its real
        // proof, for a name 10 labels deep: a closest encloser proof that hashed every ancestor
        // would cost 11 × 151 SHA-1 computations (RFC 5155 §8.3).
        const honest = honestN3(query, transport)!;
        return { ...honest, authority: [...honest.authority, ...nsec3Padding.slice(0, 240)] };
      }
      return honestN3(query, transport);
    };

    // The unsigned children: every A question gets an address, anything else NODATA.
    const childScript: Script = (query) => {
      const q = query.question[0]!;
      const apex = q.name.labelCount >= 2 ? q.name.suffix(2) : q.name;
      const soa = { ...rr('x. 300 IN SOA ns.x. hostmaster.x. 1 3600 900 604800 300'), name: apex };
      if (q.type === RRType.A) return replyTo(query, { aa: true, answer: [{ ...rr('x. 300 IN A 192.0.2.30'), name: q.name }] });
      return replyTo(query, { aa: true, authority: [soa] });
    };

    [good, n3] = await Promise.all([startScriptedServer(GOOD, goodScript), startScriptedServer(N3, n3Script)]);
    servers = [good, n3, await startScriptedServer(ROOT, zoneScript([rootZone])), await startScriptedServer(CHILD, childScript)];

    const dsset = join(dir, 'dsset-.');
    writeFileSync(dsset, dssetToText([dsRecord(rootKey)]));
    // Each case feeds the validator a hostile proof for a name the zone's honest ranges already
    // deny: RFC 8198 would answer those from the ranges without asking (aggressive-nsec.test.ts).
    keymaster = await startKeymaster({ address: KEYMASTER, control: CONTROL, rootHints: rootHintsFile(dir, ROOT), validation: true, rootAnchors: 'none', importAnchors: [dsset], resolverYaml: '  aggressiveNsec: false\n' });
  });

  afterAll(async () => {
    await keymaster?.stop();
    await Promise.all(servers.map((s) => s.stop()));
    if (dir) removeDir(dir);
  });

  it('the signed tree validates: secure answers, a secure wildcard and a secure NXDOMAIN (controls)', async () => {
    for (const [name, rcode] of [['www.good.', Rcode.NOERROR], ['x.wild.good.', Rcode.NOERROR], ['nx.good.', Rcode.NXDOMAIN], ['www.n3.', Rcode.NOERROR]] as const) {
      const r = await askDnssec(km(), name, 'A');
      expect(r.rcode, `${name}: ${summariseAnswer(r)}`).toBe(rcode);
      expect(r.ad, `${name}: ${summariseAnswer(r)}`).toBe(true);
    }
  });

  it('3. an RRSIG whose label count is below its signer zone\'s (a "wildcard" above the apex) is bogus', async () => {
    // RFC 4035 §5.3.1: the labels field must not exceed the owner's; a value below the signer's
    // label count would make the expansion's wildcard *.<ancestor of the zone>, which the zone
    // cannot hold (RFC 4035 §5.3.4, RFC 4592 §4.5): nothing can be expanded from it.
    const forged = await askDnssec(km(), 'forged.good.', 'A');
    expect(forged.rcode, summariseAnswer(forged)).toBe(Rcode.SERVFAIL);
    expect(planted(forged)).toEqual([]);
    expect(ede(forged)[0]).toBe(6);
    // The same answer with an honest label count is secure: the label count alone made it bogus.
    const honest = await askDnssec(km(), 'forged-ok.good.', 'A');
    expect(honest.rcode, summariseAnswer(honest)).toBe(Rcode.NOERROR);
    expect(honest.ad).toBe(true);
  });

  it('4. an NSEC whose next name is outside the zone proves nothing: SERVFAIL, not NXDOMAIN', async () => {
    // RFC 4034 §4.1.1: the last NSEC's next name is the apex; a chain that leaves the zone is broken.
    const outside = await askDnssec(km(), 'nx4.good.', 'A');
    expect(outside.rcode, summariseAnswer(outside)).toBe(Rcode.SERVFAIL);
    expect(ede(outside)[0]).toBe(6);
    // The same proof with the next name inside the zone holds: the out-of-zone name alone made it bogus.
    const inside = await askDnssec(km(), 'nx4ok.good.', 'A');
    expect(inside.rcode, summariseAnswer(inside)).toBe(Rcode.NXDOMAIN);
    expect(inside.ad).toBe(true);
  });

  it('5. NSEC3 hash exhaustion (CVE-2023-50868): padded referrals and denials cost at most the per-query budget', async () => {
    // The budget is live: an honest NSEC3 NXDOMAIN at 150 iterations costs 3 hashes (names hashed).
    let before = await status();
    const control = await askDnssec(km(), 'nx.n3.', 'A');
    let after = await status();
    expect(control.rcode, summariseAnswer(control)).toBe(Rcode.NXDOMAIN);
    expect(control.ad).toBe(true);
    expect(after.validation.nsec3Hashes - before.validation.nsec3Hashes).toBeGreaterThan(0);
    expect(after.validation.nsec3Hashes - before.validation.nsec3Hashes).toBeLessThanOrEqual(MAX_NSEC3_HASHES);

    // A referral to an unsigned child, and its DS denial, each with 300 NSEC3 records.
    before = after;
    const referral = await askDnssec(km(), 'www.c1.n3.', 'A');
    after = await status();
    expect(refusedOrInsecure(referral), summariseAnswer(referral)).toBe(true);
    expect(after.validation.nsec3Hashes - before.validation.nsec3Hashes).toBeLessThanOrEqual(MAX_NSEC3_HASHES);
    // The padding reached the resolver whole (over TCP, after TC), so the bound above was tested.
    expect(n3.queriesAtOrBelow('c1.n3.').some((q) => q.transport === 'tcp')).toBe(true);

    // A negative answer for a deep name with 120 extra NSEC3 records.
    before = after;
    const negative = await askDnssec(km(), `${DEEP}nx5a.n3.`, 'A');
    after = await status();
    expect(after.validation.nsec3Hashes - before.validation.nsec3Hashes).toBeLessThanOrEqual(MAX_NSEC3_HASHES);
    expect(refusedOrInsecure(negative), summariseAnswer(negative)).toBe(true);

    // Several attacks at once, and a benign client among them still gets its secure answer.
    before = after;
    const attacks = ['www.c2.n3.', 'www.c3.n3.', 'www.c4.n3.', 'www.c5.n3.', `${DEEP}nx5b.n3.`, `${DEEP}nx5c.n3.`];
    const [benign, ...attacked] = await Promise.all([askDnssec(km(), 'b1.good.', 'A'), ...attacks.map((name) => askDnssec(km(), name, 'A'))]);
    after = await status();
    expect(benign!.rcode, summariseAnswer(benign!)).toBe(Rcode.NOERROR);
    expect(benign!.ad).toBe(true);
    expect(addresses(benign!)).toEqual(['192.0.2.21']);
    attacked.forEach((r, i) => expect(refusedOrInsecure(r), `${attacks[i]}: ${summariseAnswer(r)}`).toBe(true));
    expect(after.validation.nsec3Hashes - before.validation.nsec3Hashes).toBeLessThanOrEqual(MAX_NSEC3_HASHES * (attacks.length + 1));
  });

  it('6. a negative answer padded with 200 signed NSEC records is SERVFAIL within the signature budget', async () => {
    const before = await status();
    const r = await askDnssec(km(), 'nx6.good.', 'A');
    const after = await status();
    expect(r.rcode, summariseAnswer(r)).toBe(Rcode.SERVFAIL);
    expect(after.validation.bogus - before.validation.bogus).toBeGreaterThanOrEqual(1);
    expect(after.validation.signatureChecks - before.validation.signatureChecks).toBeLessThanOrEqual(MAX_SIGNATURE_CHECKS);
    expect(good.queriesAtOrBelow('nx6.good.').some((q) => q.transport === 'tcp')).toBe(true);
  });
});
