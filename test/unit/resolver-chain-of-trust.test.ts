/**
 * The chain of trust on its own: the walk from the anchor found for a name, what it keeps and
 * for how long, and how it asks again when a server gives bogus keys.
 */
import { describe, expect, it } from 'vitest';
import { ChainOfTrust, type FetchOptions } from '../../src/resolver/chain-of-trust.js';
import type { Resolution } from '../../src/resolver/iterator.js';
import { EdeCode } from '../../src/wire/edns.js';
import type { Name } from '../../src/wire/name.js';
import { RRType } from '../../src/wire/rr-type.js';
import { SignedWorld } from '../fixtures/validation/signed-world.js';
import { NOW, corrupt, n } from '../fixtures/validation/signing.js';

const world = SignedWorld.build([
  { origin: 'example.', signed: false },
  { origin: 'corp.example.', noDs: true, records: ['www.corp.example. 3600 IN A 192.0.2.1'] },
  { origin: 'plain.corp.example.', signed: false, records: ['www.plain.corp.example. 3600 IN A 192.0.2.2'] },
  { origin: 'sec.corp.example.', records: ['www.sec.corp.example. 3600 IN A 192.0.2.3'] },
]);
const chainFor = () => new ChainOfTrust({ anchors: { anchors: () => [world.anchor('corp.example.')] }, bogusTtl: 60, maxKeyTtl: 86_400 });

describe('zoneOf: the zone that holds a name, walked down from the anchor found for that name', () => {
  it('above the island, nothing is anchored: insecure', async () => {
    expect((await chainFor().zoneOf(n('www.example.'), world.run())).state).toBe('insecure');
  });

  it('in the island: secure at the anchor, secure at a signed child, insecure at an unsigned one', async () => {
    const chain = chainFor();
    const at = async (name: string) => {
      const z = await chain.zoneOf(n(name), world.run());
      return `${z.state} ${z.zone}`;
    };
    expect(await at('www.corp.example.')).toBe('secure corp.example.');
    expect(await at('www.sec.corp.example.')).toBe('secure sec.corp.example.');
    expect(await at('www.plain.corp.example.')).toBe('insecure plain.corp.example.');
  });

  it('an insecure delegation is kept no longer than the NSEC that proves it is signed for (RFC 4035 §5.3.3)', async () => {
    const short = SignedWorld.build([
      { origin: 'corp.example.', noDs: true, window: { inception: NOW - 3600, expiration: NOW + 40 }, dnskeyWindow: { inception: NOW - 3600, expiration: NOW + 86_400 } },
      { origin: 'plain.corp.example.', signed: false },
    ]);
    const chain = new ChainOfTrust({ anchors: { anchors: () => [short.anchor('corp.example.')] }, bogusTtl: 10, maxKeyTtl: 86_400 });
    await chain.zoneOf(n('plain.corp.example.'), short.run());
    short.fetches.length = 0;
    await chain.zoneOf(n('plain.corp.example.'), short.run({ now: NOW + 39 }));
    expect(short.fetches).toEqual([]);
    await chain.zoneOf(n('plain.corp.example.'), short.run({ now: NOW + 41 }));
    expect(short.fetches).toEqual(['plain.corp.example./DS']);
  });
});

describe('bogus keys from one server are asked again of the others', () => {
  const serve = (liar: boolean, name: Name, type: number): Resolution => {
    const honest = world.answer(name, type);
    const host = liar ? '192.0.2.66' : '192.0.2.1';
    return { ...honest, answer: liar ? honest.answer.map((r) => (r.type === RRType.RRSIG ? corrupt(r) : r)) : honest.answer, servers: [{ host, port: 53 }] };
  };

  it('the DNSKEY from the liar is bogus; asked again, fresh, avoiding it, the other server’s keys are secure', async () => {
    const calls: (FetchOptions | undefined)[] = [];
    const run = { ...world.run(), fetch: async (name: Name, type: number, options?: FetchOptions) => {
      calls.push(options);
      return serve(!options?.avoid?.has('192.0.2.66#53'), name, type);
    } };
    const zone = await chainFor().zoneOf(n('www.corp.example.'), run);
    expect(zone.state, zone.outcome.reason).toBe('secure');
    expect(calls[0]).toBeUndefined();
    expect(calls[1]).toMatchObject({ refresh: true });
    expect([...calls[1]!.avoid!]).toEqual(['192.0.2.66#53']);
  });

  it('no answer at all is not asked again (the iterator already tried every server)', async () => {
    let calls = 0;
    const run = { ...world.run(), fetch: async (): Promise<Resolution> => {
      calls++;
      return { rcode: 2, answer: [], authority: [], security: 'unchecked', failure: { reason: 'no usable answer' } };
    } };
    const zone = await chainFor().zoneOf(n('www.corp.example.'), run);
    expect(zone).toMatchObject({ state: 'bogus' });
    expect(zone.outcome.ede).toBe(EdeCode.NO_REACHABLE_AUTHORITY);
    expect(calls).toBe(1);
  });

  it('when every server lies it stays bogus, after a bounded number of tries', async () => {
    let calls = 0;
    const run = { ...world.run(), fetch: async (name: Name, type: number) => {
      calls++;
      return { ...serve(true, name, type), servers: [{ host: `192.0.2.${100 + calls}`, port: 53 }] };
    } };
    const zone = await chainFor().zoneOf(n('www.corp.example.'), run);
    expect(zone).toMatchObject({ state: 'bogus' });
    expect(zone.outcome.ede).toBe(EdeCode.DNSSEC_BOGUS);
    expect(calls).toBe(3);
  });
});
