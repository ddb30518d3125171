/**
 * The iterator against broken servers, over an in-process network (test/support/fake-network.ts)
 * with the real UpstreamClient and a ManualClock: every timeout is charged to the clock, so the
 * deadline checks are decided by simulated time, not by how fast this machine is.
 */
import { describe, expect, it } from 'vitest';
import type { Resolution } from '../../src/resolver/iterator.js';
import { InflightResolutions } from '../../src/resolver/inflight-resolutions.js';
import { RecordCache } from '../../src/resolver/record-cache.js';
import { DEFAULT_CACHE_LIMITS } from '../support/default-cache-limits.js';
import { Iterator } from '../../src/resolver/iterator.js';
import { classifyResponse } from '../../src/resolver/response-classifier.js';
import { EdeCode } from '../../src/wire/edns.js';
import { type Message, Rcode } from '../../src/wire/message.js';
import { Name } from '../../src/wire/name.js';
import { decodeRdata } from '../../src/wire/rdata-codec.js';
import { RRType } from '../../src/wire/rr-type.js';
import { FakeNetwork } from '../support/fake-network.js';
import { makeZone, records, replyTo, zoneScript } from '../support/scripted-server.js';

const N = (s: string) => Name.parse(s);
const q = (name: string, type: number = RRType.A) => ({ name: N(name), type, class: 1 });
const addressesOf = (r: Resolution) => r.answer.filter((a) => a.type === RRType.A).map((a) => decodeRdata(RRType.A, a.rdata)['address'] as string);

const ROOT = '192.0.2.1';
const TLD = '192.0.2.2';

/** `. → test.` served honestly at ROOT and TLD; `tldExtra` adds delegations (and glue) to test. */
function baseTree(net: FakeNetwork, tldExtra: string): void {
  net.serve(ROOT, zoneScript([makeZone('.', records(`
    . 86400 IN SOA ns.root. h.root. 1 1800 900 604800 86400
    . 518400 IN NS a.root-servers.test.
    a.root-servers.test. 518400 IN A ${ROOT}
    test. 172800 IN NS ns.test.
    ns.test. 172800 IN A ${TLD}`))]));
  net.serve(TLD, zoneScript([tldZone(tldExtra)]));
}

/** The zone test. served at TLD, with `extra` lines (delegations, glue). */
function tldZone(extra: string) {
  return makeZone('test.', records(`
    test. 3600 IN SOA ns.test. h.test. 1 3600 900 604800 300
    test. 3600 IN NS ns.test.
    ns.test. 3600 IN A ${TLD}
    ${extra}`));
}

/** A child zone `name` with www → 198.51.100.1 and the given NS/A lines. */
function childZone(name: string, extra: string) {
  return makeZone(name, records(`
    ${name} 3600 IN SOA ns.${name} h.${name} 1 3600 900 604800 300
    www.${name} 3600 IN A 198.51.100.1
    ${extra}`));
}

/** The delegation of `zone` to ns1 and ns2 inside it, with glue. */
const twoServers = (zone: string, a1: string, a2: string) =>
  `${zone} 3600 IN NS ns1.${zone}\n${zone} 3600 IN NS ns2.${zone}\nns1.${zone} 3600 IN A ${a1}\nns2.${zone} 3600 IN A ${a2}`;

/** Two zones whose servers live in each other, no glue: a dependency cycle. */
const CYCLE = `
  a.test. 3600 IN NS ns.b.test.
  b.test. 3600 IN NS ns.a.test.`;

const failureEde = (r: Resolution) => r.failure?.ede?.map(([code]) => code);

describe('iterator: dependency cycles and the deadline', () => {
  it('answers SERVFAIL with EDE 22 at once when two zones’ servers live in each other', async () => {
    const net = new FakeNetwork();
    baseTree(net, CYCLE);
    const { iterator } = net.iterator(ROOT);
    const start = net.clock.now();
    const r = await iterator.resolve(q('www.a.test.'));
    expect(r.rcode).toBe(Rcode.SERVFAIL);
    expect(failureEde(r)).toEqual([EdeCode.NO_REACHABLE_AUTHORITY]);
    // Only the root and test. were asked, each a few times: nothing waited for a timeout.
    expect(net.clock.now() - start).toBeLessThan(100);
    expect(net.queries.length).toBeLessThan(20);
  });

  it('detects the cycle across concurrent client queries that each hold half of it', async () => {
    const net = new FakeNetwork();
    baseTree(net, CYCLE);
    const { iterator } = net.iterator(ROOT);
    const results = await Promise.all([iterator.resolve(q('www.a.test.')), iterator.resolve(q('www.b.test.')), iterator.resolve(q('ns.a.test.')), iterator.resolve(q('ns.b.test.'))]);
    for (const r of results) {
      expect(r.rcode).toBe(Rcode.SERVFAIL);
      expect(r.failure?.limit).toBeUndefined();
    }
    expect(net.queries.length).toBeLessThan(60);
  });

  it('keeps the deadline when every server of the zone is silent', async () => {
    const net = new FakeNetwork();
    baseTree(net, twoServers('dead.test.', '192.0.2.101', '192.0.2.102'));
    const { iterator } = net.iterator(ROOT, { limits: { deadlineMs: 3000 } });
    const start = net.clock.now();
    const r = await iterator.resolve(q('www.dead.test.'));
    expect(r.rcode).toBe(Rcode.SERVFAIL);
    expect(net.clock.now() - start).toBeLessThanOrEqual(3000);
    // Both servers were asked, and asked again (a lost packet is not a dead server).
    expect(net.queriesTo('192.0.2.101').length).toBeGreaterThanOrEqual(2);
    expect(net.queriesTo('192.0.2.102').length).toBeGreaterThanOrEqual(2);
  });

  it('keeps the deadline through TCP fallbacks: truncated over UDP, silent over TCP, on every server', async () => {
    const net = new FakeNetwork();
    baseTree(net, twoServers('tc.test.', '192.0.2.121', '192.0.2.122'));
    for (const a of ['192.0.2.121', '192.0.2.122']) net.serve(a, (m, t) => (t === 'udp' ? replyTo(m, { tc: true }) : undefined));
    const { iterator } = net.iterator(ROOT, { limits: { deadlineMs: 4000, maxUpstreamQueries: 1000 } });
    const start = net.clock.now();
    const r = await iterator.resolve(q('www.tc.test.'));
    expect(r.rcode).toBe(Rcode.SERVFAIL);
    expect(net.queries.filter((x) => x.transport === 'tcp').length).toBeGreaterThanOrEqual(2);
    expect(net.clock.now() - start).toBeLessThanOrEqual(4000);
  });

  it('answers by the deadline even when a transport never settles (real time, 300 ms)', async () => {
    const net = new FakeNetwork();
    baseTree(net, `
      hang.test. 3600 IN NS ns.hang.test.
      ns.hang.test. 3600 IN A 192.0.2.110`);
    net.serve('192.0.2.110', () => 'hang');
    const { iterator } = net.iterator(ROOT, { limits: { deadlineMs: 300 } });
    // The simulated clock stands still while the transport hangs: only the iterator's own
    // deadline timer can answer, and it must.
    const r = await iterator.resolve(q('www.hang.test.'));
    expect(r.rcode).toBe(Rcode.SERVFAIL);
    expect(r.failure?.limit).toBe('deadline');
  });
});

describe('iterator: a fault of ours', () => {
  it('is SERVFAIL for the client, not silence', async () => {
    const net = new FakeNetwork();
    baseTree(net, '');
    const cache = new RecordCache(net.clock, DEFAULT_CACHE_LIMITS);
    const { iterator } = net.iterator(ROOT, { cache });
    cache.storeNegative = () => {
      throw new Error('boom');
    };
    const r = await iterator.resolve(q('nope.test.'));
    expect(r.rcode).toBe(Rcode.SERVFAIL);
    expect(r.failure?.reason).toMatch(/internal error: boom/);
  });
});

describe('iterator: a zone’s other servers', () => {
  const broken: Record<string, (m: Message) => Message | undefined | 'garbage'> = {
    timeout: () => undefined,
    SERVFAIL: (m) => replyTo(m, { rcode: Rcode.SERVFAIL }),
    REFUSED: (m) => replyTo(m, { rcode: Rcode.REFUSED }),
    lame: (m) => replyTo(m, { authority: records('test. 3600 IN NS ns.test.') }),
    'upward referral': (m) => replyTo(m, { aa: true, authority: records('. 3600 IN NS a.root-servers.test.') }),
    garbage: () => 'garbage',
  };
  // The other server with glue, or glueless: known only once its name is looked up.
  const shapes = {
    'with glue': { tld: 'two.test. 3600 IN NS ns2.two.test.\nns2.two.test. 3600 IN A 192.0.2.22', apex: 'two.test. 3600 IN NS ns2.two.test.' },
    glueless: { tld: 'two.test. 3600 IN NS host.other.test.\nother.test. 3600 IN NS ns.other.test.\nns.other.test. 3600 IN A 192.0.2.32', apex: 'two.test. 3600 IN NS host.other.test.' },
  };
  for (const [what, script] of Object.entries(broken)) {
    for (const [shape, lines] of Object.entries(shapes)) {
      it(`asks the other server (${shape}) when one answers ${what}`, async () => {
        const net = new FakeNetwork();
        baseTree(net, `two.test. 3600 IN NS ns1.two.test.\nns1.two.test. 3600 IN A 192.0.2.21\n${lines.tld}`);
        net.serve('192.0.2.21', script);
        net.serve('192.0.2.22', zoneScript([childZone('two.test.', `two.test. 3600 IN NS ns1.two.test.\n${lines.apex}`)]));
        net.serve('192.0.2.32', zoneScript([childZone('other.test.', 'other.test. 3600 IN NS ns.other.test.\nhost.other.test. 3600 IN A 192.0.2.22')]));
        const { iterator } = net.iterator(ROOT);
        const r = await iterator.resolve(q('www.two.test.'));
        expect(r.rcode, r.failure?.reason).toBe(Rcode.NOERROR);
        expect(addressesOf(r)).toEqual(['198.51.100.1']);
        // Glueless, the broken server is the only one known at first: it is asked, and then the other.
        if (shape === 'glueless') expect(net.queriesTo('192.0.2.21').length, 'the broken server was asked first').toBeGreaterThan(0);
      });
    }
  }

  it('resolves the NS names without an address when the servers it knows all fail', async () => {
    const net = new FakeNetwork();
    baseTree(net, `
      mix.test. 3600 IN NS ns.mix.test.
      mix.test. 3600 IN NS ns.other.test.
      ns.mix.test. 3600 IN A 192.0.2.31
      other.test. 3600 IN NS ns.test.`);
    // ns.other.test. lives in test.'s own server (other.test. delegated back to it).
    net.serve(TLD, zoneScript([
      tldZone(`
        mix.test. 3600 IN NS ns.mix.test.
        mix.test. 3600 IN NS ns.other.test.
        ns.mix.test. 3600 IN A 192.0.2.31
        other.test. 3600 IN NS ns.test.`),
      childZone('other.test.', 'other.test. 3600 IN NS ns.test.\nns.other.test. 3600 IN A 192.0.2.32'),
    ]));
    net.serve('192.0.2.32', zoneScript([childZone('mix.test.', 'mix.test. 3600 IN NS ns.mix.test.')]));
    const { iterator } = net.iterator(ROOT);
    const r = await iterator.resolve(q('www.mix.test.'));
    expect(r.rcode, r.failure?.reason).toBe(Rcode.NOERROR);
    expect(net.queriesTo('192.0.2.31').length).toBeGreaterThan(0);
  });
});

describe('iterator: bounded work against an attacker’s delegation', () => {
  it('looks up at most maxNsLookupsPerDelegation glueless NS names per delegation, parent fallback included (NXNSAttack)', async () => {
    const net = new FakeNetwork();
    const names = Array.from({ length: 40 }, (_, i) => `nx${i}.victim.example.`);
    baseTree(net, names.map((n) => `evil.test. 3600 IN NS ${n}`).join('\n'));
    const { iterator } = net.iterator(ROOT, { limits: { maxNsLookupsPerDelegation: 5 } });
    const r = await iterator.resolve(q('www.evil.test.'));
    expect(r.rcode).toBe(Rcode.SERVFAIL);
    const looked = new Set(net.queries.map((x) => x.message.question[0]!.name.toString()).filter((n) => n.endsWith('victim.example.')));
    // Five names for the delegation from the referral; the parent-side fallback is not taken for
    // a delegation that came from the parent just now, so no second batch.
    expect(looked.size).toBeLessThanOrEqual(5);
    expect(net.queries.length).toBeLessThanOrEqual(100);
  });
});

describe('iterator: the parent’s delegation and the addresses of servers', () => {
  const delegation = `
    child.test. 300 IN NS ns.child.test.
    ns.child.test. 300 IN A 192.0.2.41`;

  it('falls back to the parent’s NS set and glue when the child’s own NS RRset is dead', async () => {
    const net = new FakeNetwork();
    baseTree(net, delegation);
    // The child's apex says its server is ns-dead.child.test. at an address nobody answers on.
    net.serve('192.0.2.41', zoneScript([childZone('child.test.', 'child.test. 86400 IN NS ns-dead.child.test.\nns-dead.child.test. 86400 IN A 192.0.2.49')]));
    const { iterator } = net.iterator(ROOT);
    const ns = await iterator.resolve(q('child.test.', RRType.NS));
    expect(ns.rcode).toBe(Rcode.NOERROR);
    const dead = await iterator.resolve(q('ns-dead.child.test.'));
    expect(addressesOf(dead)).toEqual(['192.0.2.49']);
    const r = await iterator.resolve(q('www.child.test.'));
    expect(r.rcode, r.failure?.reason).toBe(Rcode.NOERROR);
    expect(addressesOf(r)).toEqual(['198.51.100.1']);
  });

  it('one NS query never breaks a zone whose servers live inside it (glue expires before the child’s NS)', async () => {
    const net = new FakeNetwork();
    baseTree(net, delegation);
    net.serve('192.0.2.41', zoneScript([childZone('child.test.', 'child.test. 86400 IN NS ns.child.test.\nns.child.test. 300 IN A 192.0.2.41')]));
    const { iterator } = net.iterator(ROOT);
    expect((await iterator.resolve(q('child.test.', RRType.NS))).rcode).toBe(Rcode.NOERROR);
    net.clock.advance(600_000); // the glue (300 s) is gone, the child's NS RRset (1 day) is not
    const r = await iterator.resolve(q('www.child.test.'));
    expect(r.rcode, r.failure?.reason).toBe(Rcode.NOERROR);
    expect(addressesOf(r)).toEqual(['198.51.100.1']);
  });

  it('looks up again a server address whose TTL ran out while the NS RRset is still cached', async () => {
    const net = new FakeNetwork();
    baseTree(net, '');
    // out.test. has two servers: ns.host.test. (address TTL 60 s, alive) and ns2.host.test.
    // (address TTL 1 day, gone silent since): after a minute only the dead one has an address.
    net.serve(TLD, zoneScript([
      tldZone(`
        out.test. 86400 IN NS ns.host.test.
        out.test. 86400 IN NS ns2.host.test.
        host.test. 86400 IN NS ns.test.`),
      childZone('host.test.', 'host.test. 86400 IN NS ns.test.\nns.host.test. 60 IN A 192.0.2.51\nns2.host.test. 86400 IN A 192.0.2.52'),
    ]));
    net.serve('192.0.2.51', zoneScript([childZone('out.test.', 'out.test. 86400 IN NS ns.host.test.\nout.test. 86400 IN NS ns2.host.test.')]));
    const { iterator } = net.iterator(ROOT);
    expect((await iterator.resolve(q('www.out.test.'))).rcode).toBe(Rcode.NOERROR);
    expect((await iterator.resolve(q('ns2.host.test.'))).rcode).toBe(Rcode.NOERROR);
    net.clock.advance(120_000);
    const before = net.queriesFor('ns.host.test.').length;
    const r = await iterator.resolve(q('x.out.test.'));
    expect(r.rcode, r.failure?.reason).toBe(Rcode.NXDOMAIN);
    expect(net.queriesFor('ns.host.test.').length).toBeGreaterThan(before);
  });
});

describe('iterator: referrals that are not answers', () => {
  it('follows a referral that has AA set instead of taking it as an empty answer', async () => {
    const net = new FakeNetwork();
    baseTree(net, `
      aa.test. 3600 IN NS ns.aa.test.
      ns.aa.test. 3600 IN A 192.0.2.61`);
    const honest = zoneScript([tldZone(`
      aa.test. 3600 IN NS ns.aa.test.
      ns.aa.test. 3600 IN A 192.0.2.61`)]);
    net.serve(TLD, (m, t) => {
      const a = honest(m, t)!;
      return { ...a, aa: true };
    });
    net.serve('192.0.2.61', zoneScript([childZone('aa.test.', 'aa.test. 3600 IN NS ns.aa.test.')]));
    const { iterator } = net.iterator(ROOT);
    const r = await iterator.resolve(q('www.aa.test.'));
    expect(r.rcode, r.failure?.reason).toBe(Rcode.NOERROR);
    expect(addressesOf(r)).toEqual(['198.51.100.1']);
  });

  it('classifies: AA referral to a child is a referral; upward and sideways referrals are lame, AA or not', () => {
    const query = { id: 1, qr: false, opcode: 0, aa: false, tc: false, rd: false, ra: false, ad: false, cd: false, rcode: 0, question: [q('www.child.test.')], answer: [], authority: [], additional: [] } as unknown as Message;
    const child = records('child.test. 3600 IN NS ns.child.test.');
    expect(classifyResponse(replyTo(query, { aa: true, authority: child }), N('www.child.test.'), RRType.A, N('test.')).kind).toBe('referral');
    for (const aa of [true, false]) {
      expect(classifyResponse(replyTo(query, { aa, authority: records('. 3600 IN NS a.root-servers.test.') }), N('www.child.test.'), RRType.A, N('test.')).kind).toBe('lame');
      expect(classifyResponse(replyTo(query, { aa, authority: records('other.test. 3600 IN NS ns.other.test.') }), N('www.child.test.'), RRType.A, N('test.')).kind).toBe('lame');
    }
    // A NODATA with the zone's own NS and no SOA (old servers) is still a NODATA.
    expect(classifyResponse(replyTo(query, { aa: true, authority: records('test. 3600 IN NS ns.test.') }), N('www.child.test.'), RRType.A, N('test.')).kind).toBe('nodata');
  });
});

describe('iterator: stray records and the referral’s proof of no DS', () => {
  it('ignores one record of an unexpected type and keeps the rest of the response', async () => {
    const net = new FakeNetwork();
    baseTree(net, `
      stray.test. 3600 IN NS ns.stray.test.
      ns.stray.test. 3600 IN A 192.0.2.71`);
    const honest = zoneScript([childZone('stray.test.', 'stray.test. 3600 IN NS ns.stray.test.')]);
    net.serve('192.0.2.71', (m, t) => {
      const a = honest(m, t)!;
      const extra = records(`
        www.stray.test. 3600 IN TXT "stray"
        www.stray.test. 3600 IN HINFO "cpu" "os"
        elsewhere.example. 3600 IN MX 10 mail.example.
        www.stray.test. 3600 CH A 192.0.2.66`);
      return { ...a, answer: [...a.answer, ...extra.slice(0, 2), extra[3]!], authority: [...a.authority, extra[2]!], additional: [...a.additional, ...extra] };
    });
    const { iterator, cache } = net.iterator(ROOT);
    const r = await iterator.resolve(q('www.stray.test.'));
    expect(r.rcode, r.failure?.reason).toBe(Rcode.NOERROR);
    expect(r.answer.map((a) => a.type)).toEqual([RRType.A]);
    expect(addressesOf(r)).toEqual(['198.51.100.1']); // the CH-class A is not mixed in
    expect(cache.rrset(N('elsewhere.example.'), RRType.MX)).toBeUndefined();
  });

  /** insecure.test. delegated with `proofText` in the referral; test.'s server fails every DS question. */
  async function referralWithProof(proofText: string) {
    const net = new FakeNetwork();
    const honest = zoneScript([tldZone(`
      insecure.test. 3600 IN NS ns.insecure.test.
      ns.insecure.test. 3600 IN A 192.0.2.81`)]);
    baseTree(net, '');
    const proof = records(proofText);
    const counter = { dsQueries: 0 };
    net.serve(TLD, (m, t) => {
      if (m.question[0]!.type === RRType.DS) {
        counter.dsQueries++;
        return replyTo(m, { rcode: Rcode.SERVFAIL });
      }
      const a = honest(m, t)!;
      return a.authority.some((r) => r.type === RRType.NS && r.name.equals(N('insecure.test.'))) ? { ...a, authority: [...a.authority, ...proof] } : a;
    });
    net.serve('192.0.2.81', zoneScript([childZone('insecure.test.', 'insecure.test. 3600 IN NS ns.insecure.test.')]));
    const { iterator } = net.iterator(ROOT);
    expect((await iterator.resolve(q('www.insecure.test.'))).rcode).toBe(Rcode.NOERROR);
    return { ds: await iterator.resolve(q('insecure.test.', RRType.DS)), counter };
  }

  it('keeps the NSEC proof of no DS that came with a referral and answers the DS question from it', async () => {
    const { ds, counter } = await referralWithProof(`
      insecure.test. 300 IN NSEC ns.test. NS RRSIG NSEC
      insecure.test. 300 IN RRSIG NSEC 13 2 300 20300101000000 20200101000000 1234 test. AAAA`);
    expect(ds.rcode, ds.failure?.reason).toBe(Rcode.NOERROR);
    expect(ds.answer).toEqual([]);
    expect(ds.authority.map((r) => r.type).sort()).toEqual([RRType.RRSIG, RRType.NSEC].sort());
    expect(counter.dsQueries).toBe(0);
  });

  it('does not take an NSEC for another name as the proof: the DS is asked', async () => {
    const { ds, counter } = await referralWithProof(`
      alpha.test. 300 IN NSEC insecure.test. A RRSIG NSEC
      alpha.test. 300 IN RRSIG NSEC 13 2 300 20300101000000 20200101000000 1234 test. AAAA`);
    expect(counter.dsQueries).toBeGreaterThan(0);
    expect(ds.rcode).toBe(Rcode.SERVFAIL);
  });
});

describe('iterator: shared resolutions', () => {
  it('leaves nothing in flight after a cycle, so the next query is not stuck behind it', async () => {
    const net = new FakeNetwork();
    baseTree(net, CYCLE);
    const { iterator } = net.iterator(ROOT);
    await iterator.resolve(q('www.a.test.'));
    const inflight = (iterator as unknown as { inflight: { size: number } }).inflight;
    expect(inflight.size).toBe(0);
    expect(iterator).toBeInstanceOf(Iterator);
  });
});

describe('InflightResolutions: the wait-for graph', () => {
  const never = () => new Promise<string>(() => {});

  it('refuses a wait on a resolution the caller works for', () => {
    const table = new InflightResolutions<string>();
    expect(table.join('a', ['x', 'a'], never)).toBe('cycle');
  });

  it('refuses a wait that closes a loop across two client queries, and allows one that does not', () => {
    const table = new InflightResolutions<string>();
    // Query 1 resolves a, which waits on b; query 2 resolves b, which would wait on a.
    expect(table.join('a', [], never)).not.toBe('cycle');
    expect(table.join('b', ['a'], never)).not.toBe('cycle');
    expect(table.join('a', ['b'], never)).toBe('cycle');
    // c waits on nothing: joining it from b is fine, and so is a second client joining a.
    expect(table.join('c', [], never)).not.toBe('cycle');
    expect(table.join('c', ['b'], never)).not.toBe('cycle');
    expect(table.join('a', [], never)).not.toBe('cycle');
  });

  it('forgets a resolution and its waits once it settles', async () => {
    const table = new InflightResolutions<string>();
    let finish!: (v: string) => void;
    const a = table.join('a', [], () => new Promise<string>((r) => (finish = r)));
    const b = table.join('b', ['a'], async () => 'b');
    expect(await b).toBe('b');
    finish('a');
    expect(await a).toBe('a');
    expect(table.size).toBe(0);
    // b no longer waits on anything: a new a may wait on a new b.
    expect(table.join('b', [], never)).not.toBe('cycle');
    expect(table.join('a', ['b'], never)).not.toBe('cycle');
  });
});

describe('iterator: zones this server hosts', () => {
  it('follows a CNAME from the network into a hosted zone and answers from it', async () => {
    const net = new FakeNetwork();
    baseTree(net, `
      ext.test. 3600 IN NS ns.ext.test.
      ns.ext.test. 3600 IN A 192.0.2.91`);
    net.serve('192.0.2.91', zoneScript([childZone('ext.test.', 'ext.test. 3600 IN NS ns.ext.test.\nalias.ext.test. 3600 IN CNAME portal.hosted.')]));
    const hosted = records('portal.hosted. 300 IN A 10.0.0.7');
    const { options } = net.iterator(ROOT);
    const iterator = new Iterator({
      ...options,
      localZones: (name, type) => (name.isSubdomainOf(N('hosted.')) ? { zone: N('hosted.'), rcode: Rcode.NOERROR, aa: true, answer: hosted.filter((r) => r.name.equals(name) && r.type === type), authority: [] } : undefined),
    });
    const r = await iterator.resolve(q('alias.ext.test.'));
    expect(r.rcode, r.failure?.reason).toBe(Rcode.NOERROR);
    expect(addressesOf(r)).toEqual(['10.0.0.7']);
    expect(r.local).toBe(true);
  });
});
