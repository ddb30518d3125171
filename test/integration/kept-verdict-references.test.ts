/**
 * The validating resolver keeps each verdict as references to the record-cache entries of its
 * answer (kept-answers.ts). In-process, over scripted authoritative servers on loopback
 * (127.10.138.0/24) serving a signed tree: a verdict is reused while its records are the bytes it
 * was about, and never vouches for other bytes put under the same name.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import type { Resolver } from '../../src/resolver/resolver.js';
import { Credibility } from '../../src/resolver/security-status.js';
import { Rcode } from '../../src/wire/message.js';
import { Name } from '../../src/wire/name.js';
import { RRType } from '../../src/wire/rr-type.js';
import { validatingResolver } from '../support/in-process-resolver.js';
import { type ScriptedServer, startScriptedServer, zoneScript } from '../support/scripted-server.js';
import { SignedWorld } from '../fixtures/validation/signed-world.js';
import { NOW, rr } from '../fixtures/validation/signing.js';

const P = '127.10.138';
const ROOT = `${P}.1`;
const EXAMPLE = `${P}.2`;

const world = SignedWorld.build([
  { origin: '.', servers: [ROOT] },
  { origin: 'example.', servers: [EXAMPLE], records: ['www.example. 3600 IN A 192.0.2.2'] },
]);

let servers: ScriptedServer[] = [];
let clock: ManualClock;

const resolver = () => validatingResolver(clock, ROOT, world.anchor('.'));

const www = Name.parse('www.example.');
const ask = (r: Resolver) => r.resolve({ name: www, type: RRType.A, class: 1 });
const addresses = (a: Awaited<ReturnType<typeof ask>>) => a.answer.filter((x) => x.type === RRType.A).map((x) => [...x.rdata].join('.'));

beforeAll(async () => {
  clock = new ManualClock(NOW * 1000);
  servers = await Promise.all([startScriptedServer(ROOT, zoneScript([world.zone('.').data])), startScriptedServer(EXAMPLE, zoneScript([world.zone('example.').data]))]);
});

afterAll(async () => {
  await Promise.all(servers.map((s) => s.stop()));
});

describe('verdicts that refer to the records', () => {
  it('a hit reuses the verdict (no signature check, no upstream query); the same records stored again keep it good', async () => {
    const r = resolver();
    const first = await ask(r);
    expect(first.security, first.outcome?.reason).toBe('secure');
    const checks = r.stats().validation.signatureChecks;
    const queries = r.stats().upstream.queries;
    clock.advance(5_000);
    const again = await ask(r);
    expect(again.security).toBe('secure');
    expect(addresses(again)).toEqual(['192.0.2.2']);
    expect(again.answer.find((x) => x.type === RRType.A)!.ttl).toBe(3595);
    expect(again.outcome?.reason).toBe(first.outcome?.reason);
    // The same RRset and RRSIG arrive again (another answer carrying them): still one verdict.
    const cached = r.cache.rrset(www, RRType.A)!;
    r.cache.storeRrset(cached.records, cached.rrsigs, Credibility.answer);
    expect((await ask(r)).security).toBe('secure');
    expect(r.stats().validation.signatureChecks).toBe(checks);
    expect(r.stats().upstream.queries).toBe(queries);
  });

  it('records replaced under the name (a forged A with the real RRSIG) are not served on the old verdict: validated again, never secure', async () => {
    const r = resolver();
    expect((await ask(r)).security).toBe('secure');
    const real = r.cache.rrset(www, RRType.A)!;
    r.cache.storeRrset([rr('www.example. 3600 IN A 203.0.113.66')], real.rrsigs, Credibility.answer);
    const after = await ask(r);
    // The forged data fails validation and is fetched again from the zone's server: the real answer, secure.
    expect(addresses(after)).not.toContain('203.0.113.66');
    if (after.rcode === Rcode.NOERROR) {
      expect(after.security).toBe('secure');
      expect(addresses(after)).toEqual(['192.0.2.2']);
    }
  });

  it('records evicted: the verdict is a miss, and the answer is fetched and validated again', async () => {
    const r = resolver();
    expect((await ask(r)).security).toBe('secure');
    const checks = r.stats().validation.signatureChecks;
    r.cache.remove(www, RRType.A);
    const after = await ask(r);
    expect(after.security).toBe('secure');
    expect(addresses(after)).toEqual(['192.0.2.2']);
    expect(r.stats().validation.signatureChecks).toBeGreaterThan(checks);
  });
});
