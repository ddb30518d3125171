/**
 * The validating resolver in-process, iterating over scripted authoritative servers on loopback
 * (127.10.110.0/24) that serve zones signed by the project's own signer: what the client gets
 * when one link of a chain is hosted here, when a signature is about to expire, when the
 * question is for RRSIGs, and when one of a zone's servers serves bad signatures.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { answerFromZone } from '../../src/authority/authoritative-answer.js';
import { ZoneData } from '../../src/authority/zone-db.js';
import { ManualClock } from '../../src/clock.js';
import { DEFAULT_VALIDATION_LIMITS } from '../../src/dnssec/validation-budget.js';
import type { LocalZoneLookup } from '../../src/resolver/iterator.js';
import { DEFAULT_CACHE_LIMITS } from '../support/default-cache-limits.js';
import { DEFAULT_RESOLUTION_LIMITS } from '../../src/resolver/resolution-limits.js';
import { Resolver } from '../../src/resolver/resolver.js';
import { parseRootHints } from '../../src/resolver/root-hints.js';
import { type Message, Rcode, type ResourceRecord } from '../../src/wire/message.js';
import { Name } from '../../src/wire/name.js';
import { RRType } from '../../src/wire/rr-type.js';
import { type ScriptedServer, replyTo, startScriptedServer, zoneScript } from '../support/scripted-server.js';
import { SignedWorld } from '../fixtures/validation/signed-world.js';
import { NOW, corrupt, rr } from '../fixtures/validation/signing.js';

const P = '127.10.110';
const ROOT = `${P}.1`;
const EXAMPLE = `${P}.2`;
const LIAR = `${P}.3`;
const HONEST = `${P}.4`;
const SHORT = `${P}.5`;

const world = SignedWorld.build([
  { origin: '.', servers: [ROOT] },
  {
    origin: 'example.',
    servers: [EXAMPLE],
    records: ['www.example. 3600 IN A 192.0.2.2', 'alias.example. 3600 IN CNAME www.hosted.test.', 'forged.example. 3600 IN CNAME www.hosted.test.', 'to-two.example. 3600 IN CNAME www.two.example.'],
  },
  { origin: 'short.example.', servers: [SHORT], records: ['www.short.example. 3600 IN A 192.0.2.20'], window: { inception: NOW - 3600, expiration: NOW + 20 }, dnskeyWindow: { inception: NOW - 3600, expiration: NOW + 86_400 } },
  { origin: 'two.example.', servers: [LIAR, HONEST], records: ['www.two.example. 3600 IN A 192.0.2.30'] },
]);
const hosted = ZoneData.fromRecords(Name.parse('hosted.test.'), [
  rr('hosted.test. 3600 IN SOA ns.hosted.test. h.hosted.test. 1 3600 600 86400 300'),
  rr('hosted.test. 3600 IN NS ns.hosted.test.'),
  rr('www.hosted.test. 300 IN A 192.0.2.80'),
]);
const localZones: LocalZoneLookup = (name, type) => {
  if (!name.isSubdomainOf(hosted.origin)) return undefined;
  const a = answerFromZone(hosted, name, type, false);
  return { zone: hosted.origin, rcode: a.rcode, aa: a.aa, answer: a.answer, authority: a.authority };
};

const data = (origin: string) => world.zone(origin).data;
const withoutSigsFor = (owner: string, m: Message | undefined): Message | undefined =>
  m && { ...m, answer: m.answer.filter((r) => !(r.type === RRType.RRSIG && r.name.equals(Name.parse(owner)))) };

/** RRSIGs asked for as such: every RRSIG at the name (the zone DB keeps them with their RRsets). */
function withRrsigQuestions(zones: readonly ZoneData[], base: ReturnType<typeof zoneScript>): ReturnType<typeof zoneScript> {
  return (query, transport) => {
    const q = query.question[0];
    if (q?.type !== RRType.RRSIG) return base(query, transport);
    const zone = zones.find((z) => q.name.isSubdomainOf(z.origin));
    const sigs: ResourceRecord[] = [...(zone?.node(q.name)?.rrsets.values() ?? [])].flatMap((s) => s.sigs);
    return replyTo(query, { aa: true, answer: sigs });
  };
}

let servers: ScriptedServer[] = [];
let clock: ManualClock;

function resolver(limits: Partial<typeof DEFAULT_VALIDATION_LIMITS> = {}): Resolver {
  return new Resolver({
    clock,
    rootHints: parseRootHints(`. 3600 IN NS ns1.\nns1. 3600 IN A ${ROOT}\n`),
    limits: DEFAULT_RESOLUTION_LIMITS,
    cacheLimits: DEFAULT_CACHE_LIMITS,
    forwarders: [],
    qnameMinimisation: false,
    localZones,
    validation: { enabled: true, anchors: { anchors: () => [world.anchor('.')] }, limits: { ...DEFAULT_VALIDATION_LIMITS, ...limits }, bogusTtl: 60 },
  });
}

/** The liar gets the lowest RTT, so it is asked first (server selection goes by RTT). */
function liarFirst(r: Resolver): void {
  const selection = (r as unknown as { selection: { recordAnswer(a: string, ms: number): void } }).selection;
  selection.recordAnswer(`${LIAR}#53`, 0);
  selection.recordAnswer(`${HONEST}#53`, 900);
}

const ask = (r: Resolver, name: string, type: number) => r.resolve({ name: Name.parse(name), type, class: 1 });

beforeAll(async () => {
  clock = new ManualClock(NOW * 1000);
  const exampleZones = [data('example.')];
  const liar = (query: Message, transport: 'udp' | 'tcp') => {
    const m = zoneScript([data('two.example.')])(query, transport);
    return m && { ...m, answer: m.answer.map((r) => (r.type === RRType.RRSIG ? corrupt(r) : r)) };
  };
  servers = await Promise.all([
    startScriptedServer(ROOT, zoneScript([data('.')])),
    startScriptedServer(EXAMPLE, withRrsigQuestions(exampleZones, (q, t) => (q.question[0]?.name.equals(Name.parse('forged.example.')) ? withoutSigsFor('forged.example.', zoneScript(exampleZones)(q, t)) : zoneScript(exampleZones)(q, t)))),
    startScriptedServer(LIAR, liar),
    startScriptedServer(HONEST, zoneScript([data('two.example.')])),
    startScriptedServer(SHORT, zoneScript([data('short.example.')])),
  ]);
});

afterAll(async () => {
  await Promise.all(servers.map((s) => s.stop()));
});

describe('per-link validation through a zone hosted here', () => {
  it('a signed CNAME into a hosted zone: NOERROR, insecure (no AD): the hosted link is trusted, not the whole chain', async () => {
    const a = await ask(resolver(), 'alias.example.', RRType.A);
    expect(a.rcode, a.failure?.reason).toBe(Rcode.NOERROR);
    expect(a.security).toBe('insecure');
    expect(a.answer.map((r) => r.type)).toContain(RRType.A);
  });

  it('the same CNAME forged without its RRSIG in the signed zone: SERVFAIL with EDE 10 (RRSIGs missing), not NOERROR', async () => {
    const a = await ask(resolver(), 'forged.example.', RRType.A);
    expect(a.rcode).toBe(Rcode.SERVFAIL);
    expect(a.failure?.ede?.[0]?.[0]).toBe(10);
  });
});

describe('TTL capping (RFC 4035 §5.3.3) end to end', () => {
  it('a secure answer whose only signature expires in 20 s is served with TTL ≤ 20, and not from the validated cache after', async () => {
    const r = resolver();
    const first = await ask(r, 'www.short.example.', RRType.A);
    expect(first.security, first.outcome?.reason).toBe('secure');
    for (const rec of first.answer) expect(rec.ttl, `${rec.name} ${rec.type}`).toBeLessThanOrEqual(20);
    const validatedBefore = r.stats().validation.secure;
    clock.advance(10_000);
    const again = await ask(r, 'www.short.example.', RRType.A);
    for (const rec of again.answer) expect(rec.ttl).toBeLessThanOrEqual(10);
    expect(r.stats().validation.secure).toBe(validatedBefore); // from the validated cache
    clock.advance(11_000);
    await ask(r, 'www.short.example.', RRType.A);
    expect(r.stats().validation.secure).toBe(validatedBefore + 1); // the 20 s were up: checked again
    clock.set(NOW * 1000);
  });
});

describe('a question for type RRSIG', () => {
  it('is answered with the RRSIGs, unvalidated and without AD (as Unbound), not SERVFAIL', async () => {
    const a = await ask(resolver(), 'www.example.', RRType.RRSIG);
    expect(a.rcode, a.failure?.reason).toBe(Rcode.NOERROR);
    expect(a.security).toBe('insecure');
    expect(a.answer.length).toBeGreaterThan(0);
    expect(a.answer.every((r) => r.type === RRType.RRSIG)).toBe(true);
  });
});

describe('a bogus answer from one server leads to the zone’s other server', () => {
  it('the liar is asked first (lowest RTT) and its bad signatures lead to the honest server: secure, NOERROR', async () => {
    const r = resolver();
    liarFirst(r);
    const liar = servers[2]!;
    const honest = servers[3]!;
    const liarBefore = liar.queriesAtOrBelow('www.two.example.').length;
    const honestBefore = honest.queriesAtOrBelow('www.two.example.').length;
    const a = await ask(r, 'www.two.example.', RRType.A);
    expect(a.rcode, a.failure?.reason).toBe(Rcode.NOERROR);
    expect(a.security, a.outcome?.reason).toBe('secure');
    expect(liar.queriesAtOrBelow('www.two.example.').length).toBeGreaterThan(liarBefore);
    expect(honest.queriesAtOrBelow('www.two.example.').length).toBeGreaterThan(honestBefore);
  });
});

describe('a retry avoids only the server of the link that failed', () => {
  it('a CNAME from example. (one honest server) into two.example. (the liar first): only the liar is avoided, the answer is secure', async () => {
    const r = resolver();
    liarFirst(r);
    const a = await ask(r, 'to-two.example.', RRType.A);
    expect(a.rcode, a.failure?.reason ?? a.outcome?.reason).toBe(Rcode.NOERROR);
    expect(a.security, a.outcome?.reason).toBe('secure');
    expect(a.answer.map((x) => x.type)).toEqual(expect.arrayContaining([RRType.CNAME, RRType.A]));
  });
});

describe('the work budget spans the whole client query, retries included', () => {
  it('with room for 3 signature checks, the retry after the liar cannot buy more: bogus, and at most 3 checks made', async () => {
    const r = resolver({ maxSignatureChecks: 3 });
    liarFirst(r);
    const a = await ask(r, 'www.two.example.', RRType.A);
    expect(a.rcode).toBe(Rcode.SERVFAIL);
    expect(a.outcome?.reason).toContain('signature checks');
    // The check that would have been the 4th throws before it is made.
    expect(r.stats().validation.signatureChecks).toBeLessThanOrEqual(4);
    // The same question with room enough is secure: the limit, not the data, stopped it.
    expect((await ask(resolver({ maxSignatureChecks: 16 }), 'www.two.example.', RRType.A)).security).toBe('secure');
  });
});
