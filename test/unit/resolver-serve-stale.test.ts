/**
 * Serve-stale (RFC 8767) and prefetch on the resolver, over an in-process network and the
 * injectable clock: servers that stop answering, answers past their TTL, and the refresh in the
 * last tenth of a TTL counted in upstream queries.
 */
import { describe, expect, it } from 'vitest';
import { Resolver, type ResolverOptions } from '../../src/resolver/resolver.js';
import { EdeCode } from '../../src/wire/edns.js';
import { Rcode } from '../../src/wire/message.js';
import { Name } from '../../src/wire/name.js';
import { RRType } from '../../src/wire/rr-type.js';
import { parseRecordLine } from '../../src/wire/record-text.js';
import { SignedWorld } from '../fixtures/validation/signed-world.js';
import { FakeNetwork } from '../support/fake-network.js';
import { zoneScript } from '../support/scripted-server.js';

const ROOT = '10.0.0.1';
const GOOD = '10.0.0.2';
const BAD = '10.0.0.3';

const world = SignedWorld.build([
  { origin: '.', servers: [ROOT] },
  { origin: 'example.', servers: [GOOD], records: ['www.example. 60 IN A 192.0.2.1', 'alias.example. 60 IN CNAME www.example.'] },
  // Signatures that expired an hour before the test's clock: every answer from it is bogus.
  { origin: 'bad.', servers: [BAD], records: ['www.bad. 60 IN A 192.0.2.66'], window: { inception: 1_767_225_600 - 7200, expiration: 1_767_225_600 - 3600 } },
]);

function setup(options: Partial<ResolverOptions> & { validate?: boolean } = {}) {
  const net = new FakeNetwork();
  net.rttMs = 0;
  for (const [address, origin] of [[ROOT, '.'], [GOOD, 'example.'], [BAD, 'bad.']] as const) net.serve(address, zoneScript([world.zone(origin).data]));
  const { validate = true, ...rest } = options;
  const resolver = new Resolver({
    clock: net.clock,
    rootHints: { servers: [{ name: Name.parse('ns1.'), addresses: [ROOT] }], records: [parseRecordLine('. 3600000 IN NS ns1.'), parseRecordLine(`ns1. 3600000 IN A ${ROOT}`)] },
    limits: { maxReferrals: 30, maxCnameChain: 12, maxNsLookupsPerDelegation: 5, maxUpstreamQueries: 100, maxDepth: 6, deadlineMs: 10_000, maxMinimiseSteps: 10 },
    cacheLimits: { maxBytes: 16 * 1024 * 1024, minTtl: 0, maxTtl: 86_400, maxNegativeTtl: 3600 },
    forwarders: [],
    qnameMinimisation: false,
    ...(validate ? { validation: { enabled: true, anchors: { anchors: () => [world.anchor('.')] }, limits: { maxKeysPerKeyTag: 4, maxSignaturesPerRrset: 8, maxSignatureChecks: 64, maxNsec3Hashes: 150, maxNsec3Iterations: 150, maxDenialRecords: 32, clockSkew: 300 }, bogusTtl: 60 } } : {}),
    serveStale: { enable: true, maxStaleMs: 86_400_000 },
    prefetch: true,
    transport: net.transport(),
    ...rest,
  });
  const ask = (name: string, type = RRType.A) => resolver.resolve({ name: Name.parse(name), type, class: 1 });
  /** The servers stop answering (every query times out on the clock). */
  const stop = (...addresses: string[]) => { for (const a of addresses) net.serve(a, () => undefined); };
  return { net, resolver, ask, stop };
}

/** Lets background work (a prefetch) run to its end: the fake network answers in microtasks. */
async function settle(): Promise<void> {
  for (let i = 0; i < 50; i++) await new Promise((r) => setImmediate(r));
}

const ttls = (a: { answer: readonly { ttl: number; type: number }[] }) => a.answer.filter((r) => r.type !== RRType.RRSIG).map((r) => r.ttl);

describe('serve-stale (RFC 8767)', () => {
  it('a secure answer past its TTL, with its servers stopped: served with TTL 30, EDE 3, still secure', async () => {
    const { net, resolver, ask, stop } = setup();
    const first = await ask('www.example.');
    expect(first.security).toBe('secure');
    stop(GOOD);
    net.clock.advance(61_000);
    const stale = await ask('www.example.');
    expect(stale.rcode).toBe(Rcode.NOERROR);
    expect(stale.stale).toBe(EdeCode.STALE_ANSWER);
    expect(stale.security).toBe('secure');
    expect(stale.answer.every((r) => r.ttl === 30)).toBe(true);
    expect(ttls(stale)).toEqual([30]);
    expect(resolver.stats().staleAnswers).toBe(1);
  });

  it('after a failed refresh the servers are left alone for 30 s (RFC 8767 §5): stale at once, no upstream query', async () => {
    const { net, ask, stop } = setup();
    await ask('www.example.');
    stop(GOOD);
    net.clock.advance(61_000);
    await ask('www.example.');
    const asked = net.queriesTo(GOOD).length;
    expect(asked).toBeGreaterThan(0);
    net.clock.advance(10_000);
    expect((await ask('www.example.')).stale).toBe(EdeCode.STALE_ANSWER);
    expect(net.queriesTo(GOOD).length).toBe(asked);
    net.clock.advance(25_000);
    expect((await ask('www.example.')).stale).toBe(EdeCode.STALE_ANSWER);
    expect(net.queriesTo(GOOD).length).toBeGreaterThan(asked);
  });

  it('a CNAME chain is served stale whole', async () => {
    const { net, ask, stop } = setup();
    await ask('alias.example.');
    stop(GOOD);
    net.clock.advance(61_000);
    const stale = await ask('alias.example.');
    expect(stale.stale).toBe(EdeCode.STALE_ANSWER);
    expect(stale.answer.filter((r) => r.type !== RRType.RRSIG).map((r) => r.type)).toEqual([RRType.CNAME, RRType.A]);
  });

  it('servers that answer again end it: the next answer is fresh, without EDE', async () => {
    const { net, ask, stop } = setup();
    await ask('www.example.');
    stop(GOOD);
    net.clock.advance(61_000);
    expect((await ask('www.example.')).stale).toBe(EdeCode.STALE_ANSWER);
    net.serve(GOOD, zoneScript([world.zone('example.').data]));
    net.clock.advance(31_000);
    const fresh = await ask('www.example.');
    expect(fresh.stale).toBeUndefined();
    expect(ttls(fresh)).toEqual([60]);
  });

  it('never for a bogus zone: SERVFAIL with its servers stopped too', async () => {
    const { net, resolver, ask, stop } = setup();
    const first = await ask('www.bad.');
    expect(first.rcode).toBe(Rcode.SERVFAIL);
    expect(first.outcome?.state).toBe('bogus');
    // A bogus verdict is not prefetched in its last tenth either.
    net.clock.advance(55_000);
    await ask('www.bad.');
    await settle();
    expect(resolver.stats().prefetches).toBe(0);
    stop(BAD);
    net.clock.advance(6_000);
    const again = await ask('www.bad.');
    expect(again.rcode).toBe(Rcode.SERVFAIL);
    expect(again.stale).toBeUndefined();
    expect(resolver.stats().staleAnswers).toBe(0);
  });

  it('the client response timer (RFC 8767 §5): a resolution still running after clientTimeoutMs leaves the client a stale answer', async () => {
    const { net, ask } = setup({ serveStale: { enable: true, maxStaleMs: 86_400_000, clientTimeoutMs: 20 } });
    await ask('www.example.');
    net.serve(GOOD, () => 'hang');
    net.clock.advance(61_000);
    const stale = await ask('www.example.');
    expect(stale.stale).toBe(EdeCode.STALE_ANSWER);
    expect(ttls(stale)).toEqual([30]);
  });

  it('none past maxStale: SERVFAIL', async () => {
    const { net, resolver, ask, stop } = setup({ serveStale: { enable: true, maxStaleMs: 600_000 } });
    await ask('www.example.');
    const kept = () => resolver.memory.usage().validated;
    expect(kept().entries).toBe(1);
    stop(GOOD);
    // The timeouts of each refresh run on the clock too: well inside the window, then past it.
    net.clock.advance(60_000 + 500_000);
    expect((await ask('www.example.')).stale).toBe(EdeCode.STALE_ANSWER);
    // Expired, it stayed in the cache, charged to the memory budget.
    expect(kept().entries).toBe(1);
    expect(kept().bytes).toBeGreaterThan(0);
    net.clock.advance(100_000);
    const late = await ask('www.example.');
    expect(late.rcode).toBe(Rcode.SERVFAIL);
    expect(late.stale).toBeUndefined();
    expect(kept().entries).toBe(0);
  });

  it('none when resolver.serveStale.enable is false', async () => {
    const { net, ask, stop } = setup({ serveStale: { enable: false, maxStaleMs: 86_400_000 } });
    await ask('www.example.');
    stop(GOOD);
    net.clock.advance(61_000);
    expect((await ask('www.example.')).rcode).toBe(Rcode.SERVFAIL);
  });

  it('without validation too: an unchecked answer stale with EDE 3, an NXDOMAIN with EDE 19', async () => {
    const { net, ask, stop } = setup({ validate: false });
    await ask('www.example.');
    const nx = await ask('nope.example.');
    expect(nx.rcode).toBe(Rcode.NXDOMAIN);
    stop(GOOD);
    net.clock.advance(3601_000);
    const stale = await ask('www.example.');
    expect(stale.stale).toBe(EdeCode.STALE_ANSWER);
    expect(ttls(stale)).toEqual([30]);
    const staleNx = await ask('nope.example.');
    expect(staleNx.rcode).toBe(Rcode.NXDOMAIN);
    expect(staleNx.stale).toBe(EdeCode.STALE_NXDOMAIN_ANSWER);
  });
});

describe('prefetch', () => {
  it('asked in the last tenth of its TTL, the answer is refreshed upstream before it expires, once', async () => {
    const { net, resolver, ask } = setup();
    await ask('www.example.');
    const forName = () => net.queriesTo(GOOD).filter((q) => q.message.question[0]!.name.toString() === 'www.example.').length;
    expect(forName()).toBe(1);
    net.clock.advance(50_000);
    await ask('www.example.');
    await settle();
    expect(forName()).toBe(1); // 10 s of 60 left: not yet the last tenth
    net.clock.advance(5_000);
    const [a, b] = await Promise.all([ask('www.example.'), ask('www.example.')]);
    expect(ttls(a)).toEqual([5]); // the client gets the kept answer at once
    expect(ttls(b)).toEqual([5]);
    await settle();
    expect(forName()).toBe(2);
    expect(resolver.stats().prefetches).toBe(1);
    // Past the first answer's expiry, the refreshed one answers from the cache, no upstream query.
    net.clock.advance(10_000);
    const later = await ask('www.example.');
    expect(later.security).toBe('secure');
    expect(ttls(later)).toEqual([50]);
    expect(forName()).toBe(2);
  });

  it('without validation, the same', async () => {
    const { net, ask } = setup({ validate: false });
    await ask('www.example.');
    const forName = () => net.queriesTo(GOOD).filter((q) => q.message.question[0]!.name.toString() === 'www.example.').length;
    net.clock.advance(55_000);
    expect(ttls(await ask('www.example.'))).toEqual([5]);
    await settle();
    expect(forName()).toBe(2);
    net.clock.advance(10_000);
    expect(ttls(await ask('www.example.'))).toEqual([50]);
    expect(forName()).toBe(2);
  });

  it('off (resolver.prefetch false): nobody is asked before the answer expires', async () => {
    const { net, resolver, ask } = setup({ prefetch: false });
    await ask('www.example.');
    net.clock.advance(55_000);
    await ask('www.example.');
    await settle();
    expect(net.queriesTo(GOOD).filter((q) => q.message.question[0]!.name.toString() === 'www.example.').length).toBe(1);
    expect(resolver.stats().prefetches).toBe(0);
  });
});
