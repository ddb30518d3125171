/**
 * A property of the resolver against broken servers: whatever a random script of broken
 * authoritative servers does, every client query is answered within the deadline plus one
 * second, and never with data from a bogus zone. The scripts come from a seeded PRNG, so a
 * failure names the seed that reproduces it (BROKEN_SEEDS=7,8 to run those only).
 *
 * Tree on 127.10.121.0/24 (signed root and test., NSEC; a wildcard in every child zone so each
 * round asks names never cached):
 *
 *   1 root   2 test. (honest, slow or padded with strays)   3 helper. (addresses of glueless servers)
 *   10…17    z0…z3.test., two servers each, each with a random behaviour
 *   20, 21   sec.test. (signed): random behaviours, forgery among them
 *   22       bog.test. (signed): forges every answer (always bogus)
 *   cyca.test. / cycb.test.: a dependency cycle
 *   53       Keymaster: validation on (root anchor), resolver.limits.deadline 3s
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Message, Rcode } from '../../src/wire/message.js';
import { decodeRdata } from '../../src/wire/rdata-codec.js';
import { RRType } from '../../src/wire/rr-type.js';
import { type Behaviour, type BrokenTree, ask, behave, dsOf, rootZoneText, signedZone, startBrokenTree, writeDsset, zoneKey } from '../support/broken-servers.js';
import { type KeymasterServer, startKeymaster } from '../support/external-servers.js';
import { makeZone, records } from '../support/scripted-server.js';
import { summariseAnswer } from '../support/signed-hierarchy.js';
import { mulberry32 } from '../unit/wire-helpers.js';

const P = '127.10.121';
const DEADLINE_MS = 3000;
const FORGED = '6.6.6.6';
const ZONES = 4;
const addresses = (m: Message) => m.answer.filter((r) => r.type === RRType.A).map((r) => decodeRdata(RRType.A, r.rdata)['address'] as string);

/**
 * What a child server may do, each with a name for the failure message. Forgery only where the
 * zone is signed: in an unsigned zone a lie is undetectable by design, not bogus.
 */
function childBehaviours(random: () => number, signed: boolean): [string, Behaviour][] {
  const ms = Math.floor(random() * 6000);
  return [
    ['honest', behave.honest],
    ['drop', behave.drop],
    [`delay ${ms} ms`, behave.delay(ms)],
    ['SERVFAIL', behave.rcode(Rcode.SERVFAIL)],
    ['REFUSED', behave.rcode(Rcode.REFUSED)],
    ['lame', behave.lame],
    ['referral to itself', behave.referralToSelf],
    ['garbage', behave.garbage],
    ['upward referral', behave.upwardReferral],
    ['AA everywhere', behave.aaReferral],
    ['stray types', behave.strayTypes],
    ['bad signatures', behave.badSignature],
    ['truncated, TCP hangs', behave.truncateThenHang],
    ...(signed ? ([['forged', behave.forge(FORGED)]] as [string, Behaviour][]) : []),
  ];
}

const pick = <T>(random: () => number, items: readonly T[]): T => items[Math.floor(random() * items.length)]!;

describe('property: any script of broken servers, every answer by the deadline + 1 s and nothing from a bogus zone', () => {
  let tree: BrokenTree;
  let keymaster: KeymasterServer;

  beforeAll(async () => {
    const rootKey = zoneKey('.');
    const tldKey = zoneKey('test.');
    const secKey = zoneKey('sec.test.');
    const bogKey = zoneKey('bog.test.');
    const zoneNs = (k: number) => `z${k}.test. 3600 IN NS ns1.z${k}.test.\nz${k}.test. 3600 IN NS z${k}.helper.\nns1.z${k}.test. 3600 IN A ${P}.${10 + 2 * k}`;
    const root = signedZone(rootKey, rootZoneText(P), [dsOf(tldKey)]);
    const tld = signedZone(tldKey, `
      test. 3600 IN SOA ns.test. h.test. 1 3600 900 604800 300
      test. 3600 IN NS ns.test.
      ns.test. 3600 IN A ${P}.2
      ${Array.from({ length: ZONES }, (_, k) => zoneNs(k)).join('\n')}
      sec.test. 3600 IN NS ns1.sec.test.
      sec.test. 3600 IN NS ns2.sec.test.
      ns1.sec.test. 3600 IN A ${P}.20
      ns2.sec.test. 3600 IN A ${P}.21
      bog.test. 3600 IN NS ns.bog.test.
      ns.bog.test. 3600 IN A ${P}.22
      cyca.test. 3600 IN NS ns.cycb.test.
      cycb.test. 3600 IN NS ns.cyca.test.`, [dsOf(secKey), dsOf(bogKey)]);
    const helper = makeZone('helper.', records(`
      helper. 3600 IN SOA ns.helper. h.helper. 1 3600 900 604800 300
      helper. 3600 IN NS ns.helper.
      ns.helper. 3600 IN A ${P}.3
      ${Array.from({ length: ZONES }, (_, k) => `z${k}.helper. 3600 IN A ${P}.${11 + 2 * k}`).join('\n')}`));
    const childOf = (k: number) => makeZone(`z${k}.test.`, records(`
      z${k}.test. 3600 IN SOA ns1.z${k}.test. h.z${k}.test. 1 3600 900 604800 300
      ${zoneNs(k)}
      *.z${k}.test. 3600 IN A 198.51.100.${k}`));
    const signedChild = (key: ReturnType<typeof zoneKey>, ns: string) => signedZone(key, `
      ${key.zone} 3600 IN SOA ns1.${key.zone} h.${key.zone} 1 3600 900 604800 300
      ${ns}
      *.${key.zone} 3600 IN A 198.51.100.200`);
    const sec = signedChild(secKey, `sec.test. 3600 IN NS ns1.sec.test.\nsec.test. 3600 IN NS ns2.sec.test.\nns1.sec.test. 3600 IN A ${P}.20\nns2.sec.test. 3600 IN A ${P}.21`);
    const bog = signedChild(bogKey, `bog.test. 3600 IN NS ns.bog.test.\nns.bog.test. 3600 IN A ${P}.22`);
    tree = await startBrokenTree(P, [
      { octet: 1, zones: [root] },
      { octet: 2, zones: [tld] },
      { octet: 3, zones: [helper] },
      ...Array.from({ length: ZONES }, (_, k) => [{ octet: 10 + 2 * k, zones: [childOf(k)] }, { octet: 11 + 2 * k, zones: [childOf(k)] }]).flat(),
      { octet: 20, zones: [sec] },
      { octet: 21, zones: [sec] },
      { octet: 22, zones: [bog], behaviour: behave.forge(FORGED) },
    ]);
    const anchor = writeDsset(tree.dir, rootKey);
    keymaster = await startKeymaster({
      address: `${P}.53`, control: `${P}.53:5380`, rootHints: tree.rootHintsFile, validation: true, rootAnchors: 'none', importAnchors: [anchor.file],
      resolverYaml: `  limits:\n    deadline: ${DEADLINE_MS / 1000}s\n`,
    });
  }, 60_000);

  afterAll(async () => {
    await keymaster?.stop();
    await tree?.stop();
  });

  const seeds = (process.env['BROKEN_SEEDS'] ?? '1,2,3,4').split(',').map(Number);
  for (const seed of seeds) {
    it(`seed ${seed}`, async () => {
      const random = mulberry32(seed);
      const script: string[] = [];
      const tldBehaviours: [string, Behaviour][] = [['honest', behave.honest], ['delay 800 ms', behave.delay(800)], ['stray types', behave.strayTypes]];
      const [tldName, tldBehaviour] = pick(random, tldBehaviours);
      tree.behave(2, tldBehaviour);
      script.push(`test.: ${tldName}`);
      for (const octet of [10, 11, 12, 13, 14, 15, 16, 17, 20, 21]) {
        const [name, behaviour] = pick(random, childBehaviours(random, octet >= 20));
        tree.behave(octet, behaviour);
        script.push(`${P}.${octet}: ${name}`);
      }
      const names = [
        ...Array.from({ length: ZONES }, (_, k) => [`s${seed}a.z${k}.test.`, `s${seed}b.z${k}.test.`]).flat(),
        `s${seed}.sec.test.`, `s${seed}b.sec.test.`, `s${seed}.bog.test.`, `s${seed}.cyca.test.`,
      ];
      const results = await Promise.all(names.map(async (name) => ({ name, ...(await ask(keymaster, name, 'A', 10_000).catch((e: Error) => ({ error: e.message, ms: Infinity }))) })));
      const why = `seed ${seed} (${script.join(', ')})`;
      for (const r of results) {
        expect('response' in r, `${why}: ${r.name}: no answer at all`).toBe(true);
        if (!('response' in r)) continue;
        const summary = `${why}: ${r.name}: ${summariseAnswer(r.response)} in ${Math.round(r.ms)} ms`;
        expect(r.ms, summary).toBeLessThanOrEqual(DEADLINE_MS + 1000);
        expect(addresses(r.response), summary).not.toContain(FORGED);
        if (r.name.endsWith('bog.test.')) expect(r.response.rcode, summary).toBe(Rcode.SERVFAIL);
        if (r.response.rcode === Rcode.NOERROR && r.name.endsWith('sec.test.')) expect(r.response.ad, summary).toBe(true);
      }
      expect(keymaster.alive()).toBe(true);
    }, 30_000);
  }
});
