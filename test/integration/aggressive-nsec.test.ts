/**
 * RFC 8198 in the validating resolver, in-process, over scripted authoritative servers on
 * loopback (127.10.225.0/24) serving zones signed by the project's own signer: each server counts
 * the queries it gets, so "answered from validated ranges" means no query reached it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { DEFAULT_VALIDATION_LIMITS } from '../../src/dnssec/validation-budget.js';
import { DEFAULT_CACHE_LIMITS } from '../support/default-cache-limits.js';
import { DEFAULT_RESOLUTION_LIMITS } from '../../src/resolver/resolution-limits.js';
import { Resolver } from '../../src/resolver/resolver.js';
import { parseRootHints } from '../../src/resolver/root-hints.js';
import { type Message, Rcode } from '../../src/wire/message.js';
import { Name } from '../../src/wire/name.js';
import { RRType } from '../../src/wire/rr-type.js';
import { type ScriptedServer, startScriptedServer, zoneScript } from '../support/scripted-server.js';
import { SignedWorld } from '../fixtures/validation/signed-world.js';
import { NOW } from '../fixtures/validation/signing.js';

const P = '127.10.225';
const ROOT = `${P}.1`;
const NSEC_ZONE = `${P}.2`;
const OPT_OUT = `${P}.3`;
const UNSIGNED_NSEC = `${P}.4`;
const NSEC3_ZONE = `${P}.5`;

const world = SignedWorld.build([
  { origin: '.', servers: [ROOT] },
  {
    origin: 'example.',
    servers: [NSEC_ZONE],
    records: ['a.example. 3600 IN A 192.0.2.1', 'm.example. 3600 IN A 192.0.2.2', 'm.example. 3600 IN TXT "m"', 'z.example. 3600 IN A 192.0.2.3', '*.w.example. 3600 IN TXT "wild"', '*.w.example. 3600 IN A 192.0.2.9'],
  },
  {
    origin: 'optout.',
    servers: [OPT_OUT],
    denial: { kind: 'nsec3', iterations: 0, salt: new Uint8Array(), optOut: true },
    records: ['a.optout. 3600 IN A 192.0.2.11', 'z.optout. 3600 IN A 192.0.2.12'],
  },
  {
    origin: 'n3.',
    servers: [NSEC3_ZONE],
    denial: { kind: 'nsec3', iterations: 0, salt: new Uint8Array(), optOut: false },
    records: ['a.n3. 3600 IN A 192.0.2.31', 'z.n3. 3600 IN A 192.0.2.32', '*.w.n3. 3600 IN TXT "wild"'],
  },
  { origin: 'strip.', servers: [UNSIGNED_NSEC], records: ['a.strip. 3600 IN A 192.0.2.21', 'z.strip. 3600 IN A 192.0.2.22'] },
]);
const data = (origin: string) => world.zone(origin).data;

/** Queries each server got, by zone. */
const asked = new Map<string, number>();
function counted(zone: string, script: ReturnType<typeof zoneScript>): ReturnType<typeof zoneScript> {
  return (query, transport) => {
    asked.set(zone, (asked.get(zone) ?? 0) + 1);
    return script(query, transport);
  };
}
/** strip.: NSEC records with their signatures removed, as an on-path attacker would serve them. */
const stripSigs = (m: Message | undefined): Message | undefined =>
  m && { ...m, authority: m.authority.filter((r) => r.type !== RRType.RRSIG) };

let servers: ScriptedServer[] = [];
let clock: ManualClock;

function resolver(aggressiveNsec = true): Resolver {
  return new Resolver({
    clock,
    rootHints: parseRootHints(`. 3600 IN NS ns1.\nns1. 3600 IN A ${ROOT}\n`),
    limits: DEFAULT_RESOLUTION_LIMITS,
    cacheLimits: DEFAULT_CACHE_LIMITS,
    forwarders: [],
    qnameMinimisation: false,
    aggressiveNsec,
    validation: { enabled: true, anchors: { anchors: () => [world.anchor('.')] }, limits: DEFAULT_VALIDATION_LIMITS, bogusTtl: 60 },
  });
}

const ask = (r: Resolver, name: string, type: number = RRType.A, opts = {}) => r.resolve({ name: Name.parse(name), type, class: 1 }, opts);
const upstream = (zone: string) => asked.get(zone) ?? 0;

beforeAll(async () => {
  clock = new ManualClock(NOW * 1000);
  servers = await Promise.all([
    startScriptedServer(ROOT, counted('.', zoneScript([data('.')]))),
    startScriptedServer(NSEC_ZONE, counted('example.', zoneScript([data('example.')]))),
    startScriptedServer(OPT_OUT, counted('optout.', zoneScript([data('optout.')]))),
    startScriptedServer(NSEC3_ZONE, counted('n3.', zoneScript([data('n3.')]))),
    startScriptedServer(UNSIGNED_NSEC, counted('strip.', (q, t) => stripSigs(zoneScript([data('strip.')])(q, t)))),
  ]);
});

afterAll(async () => {
  await Promise.all(servers.map((s) => s.stop()));
});

describe('RFC 8198: answers from validated NSEC ranges', () => {
  it('an NXDOMAIN learnt for one name answers another name in the same range without an upstream query, with the proof and AD-worthy', async () => {
    const r = resolver();
    const first = await ask(r, 'b.example.');
    expect(first.rcode, first.failure?.reason).toBe(Rcode.NXDOMAIN);
    expect(first.security).toBe('secure');
    const before = upstream('example.');
    const second = await ask(r, 'c.example.');
    expect(upstream('example.')).toBe(before);
    expect(second.rcode).toBe(Rcode.NXDOMAIN);
    expect(second.security).toBe('secure');
    expect(second.outcome?.reason).toContain('RFC 8198');
    const types = second.authority.map((x) => x.type);
    expect(types).toContain(RRType.SOA);
    expect(types).toContain(RRType.NSEC);
    expect(types.filter((t) => t === RRType.RRSIG).length).toBeGreaterThanOrEqual(2);
    // TTL capped by the SOA minimum (the signer's negative TTL) and the NSEC's TTL.
    const soa = second.authority.find((x) => x.type === RRType.SOA)!;
    for (const x of second.authority) expect(x.ttl).toBeLessThanOrEqual(Math.min(soa.ttl, 3600));
  });

  it('a NODATA learnt at a name answers another type at the same name without an upstream query', async () => {
    const r = resolver();
    const first = await ask(r, 'a.example.', RRType.MX);
    expect(first.rcode).toBe(Rcode.NOERROR);
    expect(first.answer).toHaveLength(0);
    expect(first.security).toBe('secure');
    const before = upstream('example.');
    const second = await ask(r, 'a.example.', RRType.TXT);
    expect(upstream('example.')).toBe(before);
    expect(second.rcode).toBe(Rcode.NOERROR);
    expect(second.answer).toHaveLength(0);
    expect(second.security).toBe('secure');
    // a type the NSEC lists is asked upstream and answered
    const a = await ask(r, 'a.example.', RRType.A);
    expect(a.answer.some((x) => x.type === RRType.A)).toBe(true);
  });

  it('a name under a wildcard is not denied from ranges: the wildcard proves it exists', async () => {
    const r = resolver();
    await ask(r, 'b.example.');
    const wild = await ask(r, 'x.w.example.', RRType.TXT);
    expect(wild.rcode).toBe(Rcode.NOERROR);
    expect(wild.answer.some((x) => x.type === RRType.TXT)).toBe(true);
  });

  it('expires with the records: after the negative TTL the upstream is asked again', async () => {
    const r = resolver();
    await ask(r, 'b.example.');
    const before = upstream('example.');
    await ask(r, 'c.example.');
    expect(upstream('example.')).toBe(before);
    clock.advance(3601 * 1000);
    await ask(r, 'd.example.');
    expect(upstream('example.')).toBeGreaterThan(before);
    clock.advance(-3601 * 1000);
  });

  it('off (resolver.aggressiveNsec: false), with CD, or under a negative trust anchor (RFC 7646): each name is asked upstream', async () => {
    const off = resolver(false);
    await ask(off, 'b.example.');
    const before = upstream('example.');
    await ask(off, 'c.example.');
    expect(upstream('example.')).toBe(before + 1);
    const on = resolver();
    await ask(on, 'b.example.');
    const cd = upstream('example.');
    await ask(on, 'e.example.', RRType.A, { checkingDisabled: true });
    expect(upstream('example.')).toBe(cd + 1);
    // Ranges learnt while the zone validated are not used once a negative trust anchor covers it.
    let ntaOn = false;
    const nta = new Resolver({
      ...(on as unknown as { options: ConstructorParameters<typeof Resolver>[0] }).options,
      policy: { match: (name) => (ntaOn && name.isSubdomainOf(Name.parse('example.')) ? { namespace: 'example.', mode: 'no-validation' } : undefined), forwardersFor: () => undefined },
    });
    expect((await ask(nta, 'b.example.')).security).toBe('secure');
    ntaOn = true;
    const underNta = upstream('example.');
    const answer = await ask(nta, 'c.example.');
    expect(upstream('example.')).toBe(underNta + 1);
    expect(answer.security).toBe('insecure');
  });

  it('a random-subdomain flood under a signed zone reaches its server about once per NSEC range', async () => {
    const r = resolver();
    await ask(r, 'example.', RRType.SOA);
    const before = upstream('example.');
    const names = Array.from({ length: 200 }, (_, i) => `q${i.toString(36)}x${(i * 7919).toString(36)}.example.`);
    for (const name of names) expect((await ask(r, name)).rcode).toBe(Rcode.NXDOMAIN);
    // example. has five names (apex, a, m, w's wildcard, z): the flood's names fall in few ranges.
    expect(upstream('example.') - before).toBeLessThanOrEqual(6);
    expect(r.aggressive!.stats().synthesised).toBeGreaterThanOrEqual(194);
  });
});

describe('RFC 8198 §5.3: wildcard answers from a validated wildcard and validated ranges', () => {
  for (const zone of ['example.', 'n3.']) {
    it(`${zone}: a name the wildcard covers is answered from the wildcard's validated TXT, renamed, without an upstream query`, async () => {
      const r = resolver();
      const first = await ask(r, `x.w.${zone}`, RRType.TXT);
      expect(first.security, first.outcome?.reason).toBe('secure');
      const before = upstream(zone);
      // NSEC: one range (*.w → z) covers every name below w. NSEC3: the zone's five hashes make
      // five ranges, each learnt at most once; past that no name reaches the server.
      for (let i = 0; i < 30; i++) await ask(r, `f${i}.w.${zone}`, RRType.TXT);
      expect(upstream(zone) - before).toBeLessThanOrEqual(zone === 'n3.' ? 5 : 0);
      const settled = upstream(zone);
      const second = await ask(r, `y.w.${zone}`, RRType.TXT);
      expect(upstream(zone)).toBe(settled);
      expect(second.rcode).toBe(Rcode.NOERROR);
      expect(second.security).toBe('secure');
      expect(second.outcome?.reason).toContain('wildcard expansion');
      const txt = second.answer.filter((x) => x.type === RRType.TXT);
      expect(txt).toHaveLength(1);
      expect(txt[0]!.name.equals(Name.parse(`y.w.${zone}`))).toBe(true);
      expect(second.answer.some((x) => x.type === RRType.RRSIG && x.name.equals(Name.parse(`y.w.${zone}`)))).toBe(true);
      expect(second.authority.some((x) => x.type === RRType.NSEC || x.type === RRType.NSEC3)).toBe(true);
    });
  }

  it('a type of the wildcard whose data is not cached goes upstream (only cached, validated wildcard data is expanded)', async () => {
    const r = resolver();
    await ask(r, 'x.w.example.', RRType.TXT);
    const before = upstream('example.');
    const a = await ask(r, 'y.w.example.', RRType.A);
    expect(upstream('example.')).toBe(before + 1);
    expect(a.answer.some((x) => x.type === RRType.A)).toBe(true);
  });
});

describe('RFC 8198: answers from validated NSEC3 ranges (no opt-out)', () => {
  it('NXDOMAIN: a flood of random names reaches the server only until the chain\'s few ranges are known', async () => {
    const r = resolver();
    const first = await ask(r, 'b.n3.');
    expect(first.rcode, first.failure?.reason).toBe(Rcode.NXDOMAIN);
    expect(first.security).toBe('secure');
    const before = upstream('n3.');
    const names = Array.from({ length: 60 }, (_, i) => `r${i}k${(i * 104729).toString(36)}.n3.`);
    for (const name of names) {
      const a = await ask(r, name);
      expect(a.rcode).toBe(Rcode.NXDOMAIN);
      expect(a.security).toBe('secure');
    }
    // three names (apex, a, z): three NSEC3 ranges
    expect(upstream('n3.') - before).toBeLessThanOrEqual(3);
    const last = await ask(r, 'one-more.n3.');
    expect(last.outcome?.reason).toContain('RFC 8198');
    expect(last.authority.filter((x) => x.type === RRType.NSEC3).length).toBeGreaterThanOrEqual(2);
    expect(r.stats().validation.nsec3Hashes).toBeGreaterThan(0);
  });

  it('NODATA at an existing name from its matching NSEC3', async () => {
    const r = resolver();
    expect((await ask(r, 'a.n3.', RRType.MX)).security).toBe('secure');
    const before = upstream('n3.');
    const second = await ask(r, 'a.n3.', RRType.TXT);
    expect(upstream('n3.')).toBe(before);
    expect(second.rcode).toBe(Rcode.NOERROR);
    expect(second.answer).toHaveLength(0);
  });

  it('NSEC3 hashes count against the validation limits: with no hashes allowed, the question goes upstream', async () => {
    const r = new Resolver({ ...(resolver() as unknown as { options: ConstructorParameters<typeof Resolver>[0] }).options, validation: { enabled: true, anchors: { anchors: () => [world.anchor('.')] }, limits: { ...DEFAULT_VALIDATION_LIMITS, maxNsec3Hashes: 3 }, bogusTtl: 60 } });
    await ask(r, 'b.n3.');
    const before = upstream('n3.');
    await ask(r, 'x.y.z.w.c.n3.');
    expect(upstream('n3.')).toBeGreaterThan(before);
  });
});

describe('RFC 8198: never from what is not proven secure', () => {
  it('no synthesis from an NSEC3 opt-out range: each name goes upstream', async () => {
    const r = resolver();
    const first = await ask(r, 'b.optout.');
    expect(first.rcode).toBe(Rcode.NXDOMAIN);
    const before = upstream('optout.');
    for (const name of ['c.optout.', 'd.optout.', 'e.optout.']) await ask(r, name);
    expect(upstream('optout.')).toBe(before + 3);
    expect(r.aggressive!.stats().synthesised).toBe(0);
  });

  it('no synthesis from unvalidated NSEC (signatures stripped): bogus, and each name goes upstream', async () => {
    const r = resolver();
    const first = await ask(r, 'b.strip.');
    expect(first.rcode).toBe(Rcode.SERVFAIL);
    const before = upstream('strip.');
    await ask(r, 'c.strip.');
    expect(upstream('strip.')).toBeGreaterThan(before);
    expect(r.aggressive!.stats().synthesised).toBe(0);
  });
});
