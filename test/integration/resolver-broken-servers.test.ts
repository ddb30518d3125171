/**
 * The resolver against broken authoritative servers, Keymaster and Unbound asked the same
 * question of the same scripted tree (test/support/broken-servers.ts) on 127.10.120.0/24:
 *
 *   N    server                zones / role
 *   1    root                  .          test. → ns.test. (2), helper. → ns.helper. (3)
 *   2    test.                 test.      every delegation below; AA set on referrals to aaref.test.
 *   3    helper.               helper.    addresses of glueless name servers
 *   4    the honest child      every child zone below, answering honestly
 *   5    stray                 stray.test., answers padded with records of unexpected types
 *   10…15 broken               fail-X.test.: one broken server (drop, SERVFAIL, REFUSED, lame,
 *                              garbage, upward referral) beside the honest one (4)
 *   30, 31 slow.test.         one answers after 30 s, one truncates over UDP and hangs over TCP
 *   250  dead                  nobody listens
 *   53   Keymaster (resolver.limits.deadline 4s), 54 Unbound (iterator only)
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { extendedErrors } from '../../src/wire/edns.js';
import { type Message, Rcode } from '../../src/wire/message.js';
import { Name } from '../../src/wire/name.js';
import { decodeRdata } from '../../src/wire/rdata-codec.js';
import { RRType } from '../../src/wire/rr-type.js';
import { type Behaviour, type BrokenTree, type ResolverPair, ask, askBoth, behave, dsOf, signedZone, rootZoneText, startBrokenTree, startResolverPair, writeDsset, zoneKey } from '../support/broken-servers.js';
import { haveTool } from '../support/external-servers.js';
import { makeZone, records } from '../support/scripted-server.js';
import { summariseAnswer } from '../support/signed-hierarchy.js';

const P = '127.10.120';
const HONEST = `${P}.4`;
const DEAD = `${P}.250`;
const addresses = (m: Message) => m.answer.filter((r) => r.type === RRType.A).map((r) => decodeRdata(RRType.A, r.rdata)['address'] as string).sort();
const edes = (m: Message) => extendedErrors(m.edns).map((e) => e.infoCode);
const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** resolver.limits.deadline for this tree's Keymaster. */
const DEADLINE_MS = 4000;

/**
 * `unboundWrong`: where Unbound 1.17 itself gets it wrong, what it does instead; its answer is
 * then allowed to be that (it depends on which server Unbound happens to ask first).
 */
const BROKEN: readonly { what: string; octet: number; behaviour: Behaviour; unboundWrong?: string }[] = [
  { what: 'never answers', octet: 10, behaviour: behave.drop },
  { what: 'answers SERVFAIL', octet: 11, behaviour: behave.rcode(Rcode.SERVFAIL) },
  { what: 'answers REFUSED', octet: 12, behaviour: behave.rcode(Rcode.REFUSED) },
  {
    what: 'is lame (an empty non-authoritative answer)', octet: 13, behaviour: behave.lame,
    unboundWrong: 'response_type_from_server takes an empty non-AA NOERROR as an answer: NODATA for a name that exists',
  },
  { what: 'answers garbage', octet: 14, behaviour: behave.garbage },
  { what: 'sends an upward referral with AA', octet: 15, behaviour: behave.upwardReferral },
  {
    what: 'is lame (a non-AA referral to the zone itself)', octet: 16, behaviour: behave.referralToSelf,
    unboundWrong: 'the same: the NS RRset of the zone asked is not a referral, and the empty rest is taken as NODATA',
  },
];

/** A child zone served by the honest server: www → 198.51.100.N, its apex NS as given. */
function child(name: string, n: number, apex: string) {
  return makeZone(name, records(`
    ${name} 3600 IN SOA ns.${name} h.${name} 1 3600 900 604800 300
    www.${name} 3600 IN A 198.51.100.${n}
    ${apex}`));
}

function zones() {
  const root = makeZone('.', records(rootZoneText(P)));
  const fail = BROKEN.map((b, i) => ({ ...b, zone: `fail${i}.test.` }));
  // Two servers: the broken one with glue (asked first, as its address is known) and the honest one, glueless.
  const nsOf = (f: (typeof fail)[number]) => `${f.zone} 3600 IN NS ns.${f.zone}\n${f.zone} 3600 IN NS ${f.zone.replace('.test.', '.helper.')}\nns.${f.zone} 3600 IN A ${P}.${f.octet}`;
  const tld = makeZone('test.', records(`
    test. 3600 IN SOA ns.test. h.test. 1 3600 900 604800 300
    test. 3600 IN NS ns.test.
    ns.test. 3600 IN A ${P}.2
    cyca.test. 3600 IN NS ns.cycb.test.
    cycb.test. 3600 IN NS ns.cyca.test.
    ${fail.map(nsOf).join('\n')}
    pfb.test. 3600 IN NS ns.pfb.test.
    ns.pfb.test. 3600 IN A ${HONEST}
    inz.test. 2 IN NS ns.inz.test.
    ns.inz.test. 2 IN A ${HONEST}
    exp.test. 86400 IN NS ns.exp.helper.
    exp.test. 86400 IN NS ns2.exp.helper.
    aaref.test. 3600 IN NS ns.aaref.test.
    ns.aaref.test. 3600 IN A ${HONEST}
    stray.test. 3600 IN NS ns.stray.test.
    ns.stray.test. 3600 IN A ${P}.5
    slow.test. 3600 IN NS ns1.slow.test.
    slow.test. 3600 IN NS ns2.slow.test.
    ns1.slow.test. 3600 IN A ${P}.30
    ns2.slow.test. 3600 IN A ${P}.31`));
  const helper = makeZone('helper.', records(`
    helper. 3600 IN SOA ns.helper. h.helper. 1 3600 900 604800 300
    helper. 3600 IN NS ns.helper.
    ns.helper. 3600 IN A ${P}.3
    ${fail.map((f) => `${f.zone.replace('.test.', '.helper.')} 3600 IN A ${HONEST}`).join('\n')}
    ns.exp.helper. 2 IN A ${HONEST}
    ns2.exp.helper. 86400 IN A ${DEAD}`));
  const children = [
    ...fail.map((f, i) => child(f.zone, 10 + i, nsOf(f))),
    // The child's own NS RRset names a server at a dead address; the parent's delegation works.
    child('pfb.test.', 2, 'pfb.test. 86400 IN NS ns-dead.pfb.test.\nns-dead.pfb.test. 86400 IN A ' + DEAD),
    // In-zone server: the child's NS RRset lives a day, the glue and the address 2 s.
    child('inz.test.', 3, 'inz.test. 86400 IN NS ns.inz.test.\nns.inz.test. 2 IN A ' + HONEST),
    child('exp.test.', 4, 'exp.test. 86400 IN NS ns.exp.helper.\nexp.test. 86400 IN NS ns2.exp.helper.'),
    child('aaref.test.', 5, 'aaref.test. 3600 IN NS ns.aaref.test.\nns.aaref.test. 3600 IN A ' + HONEST),
  ];
  const stray = child('stray.test.', 6, `stray.test. 3600 IN NS ns.stray.test.\nns.stray.test. 3600 IN A ${P}.5`);
  const slow = child('slow.test.', 8, `slow.test. 3600 IN NS ns1.slow.test.\nslow.test. 3600 IN NS ns2.slow.test.`);
  return { root, tld, helper, children, stray, slow, fail };
}

describe.runIf(haveTool('unbound'))('broken authoritative servers: Keymaster and Unbound on the same script', () => {
  let tree: BrokenTree;
  let pair: ResolverPair;
  const z = zones();

  beforeAll(async () => {
    tree = await startBrokenTree(P, [
      { octet: 1, zones: [z.root] },
      { octet: 2, zones: [z.tld], behaviour: behave.when((q) => q.question[0]!.name.isSubdomainOf(Name.parse('aaref.test.')), behave.aaReferral) },
      { octet: 3, zones: [z.helper] },
      { octet: 4, zones: z.children },
      { octet: 5, zones: [z.stray], behaviour: behave.strayTypes },
      ...z.fail.map((f) => ({ octet: f.octet, zones: z.children.filter((c) => c.origin.toString() === f.zone), behaviour: f.behaviour })),
      // slow.test.: one server answers after 30 s, the other truncates over UDP and hangs over TCP.
      { octet: 30, zones: [z.slow], behaviour: behave.delay(30_000) },
      { octet: 31, zones: [z.slow], behaviour: behave.truncateThenHang },
    ]);
    pair = await startResolverPair(tree, 53, 54, { keymaster: { resolverYaml: `  limits:\n    deadline: ${DEADLINE_MS / 1000}s\n` } });
  }, 60_000);

  afterAll(async () => {
    await pair?.stop();
    await tree?.stop();
  });

  it('a dependency cycle between two zones is SERVFAIL with EDE 22 (No Reachable Authority), at once', async () => {
    const tldBefore = tree.servers.get(2)!.queries.length;
    const { keymaster, unbound } = await askBoth(pair, 'www.cyca.test.');
    expect(keymaster.response.rcode, summariseAnswer(keymaster.response)).toBe(Rcode.SERVFAIL);
    expect(edes(keymaster.response)).toEqual([22]);
    // Detected, not timed out: a handful of queries to test., well inside the 10 s deadline.
    expect(keymaster.ms).toBeLessThan(10_000);
    expect(unbound.response.rcode, summariseAnswer(unbound.response)).toBe(Rcode.SERVFAIL);
    expect(tree.servers.get(2)!.queries.length - tldBefore).toBeLessThan(60);
  });

  for (const [i, b] of BROKEN.entries()) {
    it(`one server of a zone ${b.what}: the other is asked and answers`, async () => {
      const broken = tree.servers.get(b.octet)!;
      const { keymaster, unbound } = await askBoth(pair, `www.fail${i}.test.`);
      expect(broken.queries.length, 'the broken server was asked').toBeGreaterThan(0);
      expect(keymaster.response.rcode, summariseAnswer(keymaster.response)).toBe(Rcode.NOERROR);
      expect(addresses(keymaster.response)).toEqual([`198.51.100.${10 + i}`]);
      if (b.unboundWrong && addresses(unbound.response).length === 0) expect(unbound.response.rcode, `Unbound: ${b.unboundWrong}`).toBe(Rcode.NOERROR);
      else expect(addresses(unbound.response)).toEqual(addresses(keymaster.response));
    });
  }

  // Unbound gets there too, but only after ~17 s of probing the dead server (measured: 17.3 s).
  it('parent-side fallback: the child’s own NS RRset is dead, the parent’s delegation works', async () => {
    const ns = await askBoth(pair, 'pfb.test.', 'NS');
    expect(ns.keymaster.response.rcode).toBe(Rcode.NOERROR);
    // The dead server's address is cached too (from the child, so above the parent's glue).
    expect(addresses((await ask(pair.keymaster, 'ns-dead.pfb.test.')).response)).toEqual([DEAD]);
    const { keymaster, unbound } = await askBoth(pair, 'www.pfb.test.');
    expect(keymaster.response.rcode, summariseAnswer(keymaster.response)).toBe(Rcode.NOERROR);
    expect(addresses(keymaster.response)).toEqual(['198.51.100.2']);
    expect(addresses(unbound.response)).toEqual(addresses(keymaster.response));
  });

  it('one NS query never breaks a zone whose server lives inside it: the expired glue is asked of the parent again', async () => {
    const ns = await askBoth(pair, 'inz.test.', 'NS');
    expect(ns.keymaster.response.rcode).toBe(Rcode.NOERROR);
    await wait(3000); // the glue and the server's address (2 s) expire; the child's NS RRset (1 day) does not
    const { keymaster, unbound } = await askBoth(pair, 'www.inz.test.');
    expect(keymaster.response.rcode, summariseAnswer(keymaster.response)).toBe(Rcode.NOERROR);
    expect(addresses(keymaster.response)).toEqual(['198.51.100.3']);
    expect(addresses(unbound.response)).toEqual(addresses(keymaster.response));
  });

  it('a server address whose TTL ran out while the NS RRset is cached is looked up again', async () => {
    const first = await askBoth(pair, 'www.exp.test.');
    expect(first.keymaster.response.rcode, summariseAnswer(first.keymaster.response)).toBe(Rcode.NOERROR);
    await askBoth(pair, 'ns2.exp.helper.'); // the dead server's address, cached for a day
    await wait(3000); // the live server's address (2 s) expires
    const { keymaster, unbound } = await askBoth(pair, 'www.exp.test.', 'TXT');
    expect(keymaster.response.rcode, summariseAnswer(keymaster.response)).toBe(Rcode.NOERROR);
    expect(unbound.response.rcode).toBe(keymaster.response.rcode);
    expect(keymaster.response.authority.some((r) => r.type === RRType.SOA), 'a NODATA from exp.test.’s server').toBe(true);
  });

  it('a referral with AA set is followed, not taken as an authoritative empty answer', async () => {
    const { keymaster, unbound } = await askBoth(pair, 'www.aaref.test.');
    expect(keymaster.response.rcode, summariseAnswer(keymaster.response)).toBe(Rcode.NOERROR);
    expect(addresses(keymaster.response)).toEqual(['198.51.100.5']);
    expect(addresses(unbound.response)).toEqual(addresses(keymaster.response));
  });

  it('the deadline is a promise: servers that stall, truncate and hang over TCP get the client SERVFAIL in time', async () => {
    const keymaster = await ask(pair.keymaster, 'www.slow.test.');
    expect(keymaster.response.rcode, summariseAnswer(keymaster.response)).toBe(Rcode.SERVFAIL);
    expect(keymaster.ms).toBeLessThanOrEqual(DEADLINE_MS + 1000);
    expect(tree.servers.get(31)!.queries.some((q) => q.transport === 'tcp'), 'TCP was tried').toBe(true);
    // Unbound is worse here: it gave its client no answer at all within 50 s (measured), waiting
    // on the TCP connection that never answers. Whatever it says within 10 s must be SERVFAIL.
    const unbound = await ask(pair.unbound, 'www.slow.test.', 'A', 10_000).catch(() => undefined);
    if (unbound) expect(unbound.response.rcode, summariseAnswer(unbound.response)).toBe(Rcode.SERVFAIL);
  });

  it('records of unexpected types and classes in a response are dropped, the rest is used', async () => {
    const { keymaster, unbound } = await askBoth(pair, 'www.stray.test.');
    expect(keymaster.response.rcode, summariseAnswer(keymaster.response)).toBe(Rcode.NOERROR);
    expect(addresses(keymaster.response)).toEqual(['198.51.100.6']);
    expect(keymaster.response.answer.map((r) => r.type)).toEqual([RRType.A]);
    // Unbound is wrong here: it passes the stray class-CH A record on to the client, inside the
    // answer to an IN question. Its IN data agrees with ours.
    expect(unbound.response.answer.filter((r) => r.class === 3).map((r) => r.type)).toEqual([RRType.A]);
    expect(addresses({ ...unbound.response, answer: unbound.response.answer.filter((r) => r.class === 1) })).toEqual(addresses(keymaster.response));
  });
});

/**
 * A signed root and test. (NSEC) on 127.10.122.0/24, delegating insec.test. without DS; the
 * referral carries the NSEC that proves it. test.'s server fails every DS question (SERVFAIL),
 * so a resolver that asks for the DS again instead of keeping the proof turns a proven-insecure
 * zone into SERVFAIL.
 *
 *   1 root (signed)   2 test. (signed; DS questions SERVFAIL)   3 insec.test. (unsigned)
 *   53 Keymaster (validating, root anchor), 54 Unbound (validating, same anchor)
 */
describe.runIf(haveTool('unbound'))('the proof of no DS that comes with a referral', () => {
  const Q = '127.10.122';
  let tree: BrokenTree;
  let pair: ResolverPair;
  let dir: string;

  beforeAll(async () => {
    const rootKey = zoneKey('.');
    const tldKey = zoneKey('test.');
    const root = signedZone(rootKey, rootZoneText(Q), [dsOf(tldKey)]);
    const tld = signedZone(tldKey, `
      test. 3600 IN SOA ns.test. h.test. 1 3600 900 604800 300
      test. 3600 IN NS ns.test.
      ns.test. 3600 IN A ${Q}.2
      insec.test. 3600 IN NS ns.insec.test.
      ns.insec.test. 3600 IN A ${Q}.3`);
    const insec = child('insec.test.', 7, `insec.test. 3600 IN NS ns.insec.test.\nns.insec.test. 3600 IN A ${Q}.3`);
    tree = await startBrokenTree(Q, [
      { octet: 1, zones: [root] },
      { octet: 2, zones: [tld], behaviour: behave.when((q) => q.question[0]!.type === RRType.DS, behave.rcode(Rcode.SERVFAIL)) },
      { octet: 3, zones: [insec] },
    ]);
    dir = tree.dir;
    const anchor = writeDsset(dir, rootKey);
    pair = await startResolverPair(tree, 53, 54, { keymaster: { validation: true, importAnchors: [anchor.file] }, unboundRootDs: anchor.lines });
  }, 60_000);

  afterAll(async () => {
    await pair?.stop();
    await tree?.stop();
  });

  it('keeps the NSEC from the referral: the insecure zone answers although every DS query fails', async () => {
    const dsBefore = tree.servers.get(2)!.queries.filter((q) => q.message.question[0]!.type === RRType.DS).length;
    const km = await ask(pair.keymaster, 'www.insec.test.');
    expect(km.response.rcode, summariseAnswer(km.response)).toBe(Rcode.NOERROR);
    expect(km.response.ad).toBe(false);
    expect(addresses(km.response)).toEqual(['198.51.100.7']);
    const dsAfter = tree.servers.get(2)!.queries.filter((q) => q.message.question[0]!.type === RRType.DS).length;
    expect(dsAfter - dsBefore, 'Keymaster asked test. for the DS it had a proof of').toBe(0);
    // Validation is on: test. itself is secure.
    expect((await ask(pair.keymaster, 'test.', 'SOA')).response.ad).toBe(true);
    const ub = await ask(pair.unbound, 'www.insec.test.');
    expect(ub.response.rcode, summariseAnswer(ub.response)).toBe(Rcode.NOERROR);
    expect(addresses(ub.response)).toEqual(addresses(km.response));
  });
});
