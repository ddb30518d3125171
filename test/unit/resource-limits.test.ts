/**
 * The resolver's resource limits (docs/resource-limits.md): the one memory budget and its
 * per-store accounting, the in-flight cap with jostling, TCP slots per client prefix with the
 * idlest evicted, the open-recursion check, and their config keys.
 */
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { ConfigError, type ConfigIssue } from '../../src/config/config-error.js';
import { parseCidr } from '../../src/config/cidr.js';
import { parseConfigText } from '../../src/config/loader.js';
import { InFlightLimiter, IN_FLIGHT_COST, type ShedEvent } from '../../src/resolver/in-flight-limiter.js';
import { BUDGET_SHARES, MAX_ENTRY_FRACTION, MemoryBudget, compactRecords, recordsCost } from '../../src/resolver/memory-budget.js';
import { RecordCache } from '../../src/resolver/record-cache.js';
import { Resolver } from '../../src/resolver/resolver.js';
import { Credibility } from '../../src/resolver/security-status.js';
import { openRecursionPrefixes } from '../../src/serve/open-recursion.js';
import { ResponseCache } from '../../src/resolver/response-cache.js';
import { TcpConnectionLimiter, type TcpSlotHolder } from '../../src/server/tcp-connection-limiter.js';
import type { ResourceRecord } from '../../src/wire/message.js';
import { Name } from '../../src/wire/name.js';

const MiB = 1024 * 1024;
const limits = { maxBytes: 16 * MiB, minTtl: 0, maxTtl: 86_400, maxNegativeTtl: 3600 };

function aRecord(name: string, i: number, rdataLength = 4): ResourceRecord {
  const rdata = new Uint8Array(rdataLength).fill(i & 255);
  return { name: Name.parse(name), type: 1, class: 1, ttl: 3600, rdata };
}

describe('MemoryBudget', () => {
  it('splits maxSize among the stores by the stated shares, which add up to the whole', () => {
    const budget = new MemoryBudget(16 * MiB);
    const total = Object.values(BUDGET_SHARES).reduce((a, b) => a + b, 0);
    expect(total).toBeCloseTo(1, 9);
    let sum = 0;
    for (const part of Object.keys(BUDGET_SHARES) as (keyof typeof BUDGET_SHARES)[]) sum += budget.bytesFor(part);
    expect(sum).toBeLessThanOrEqual(16 * MiB);
  });

  it('keeps every store within its share under a flood of distinct names, and the total within maxSize', () => {
    const clock = new ManualClock();
    const budget = new MemoryBudget(2 * MiB);
    const cache = new RecordCache(clock, { ...limits, maxBytes: 2 * MiB }, budget);
    const responses = new ResponseCache(clock, budget);
    for (let i = 0; i < 50_000; i++) {
      const name = `r${i}.flood.example.`;
      cache.storeRrset([aRecord(name, i)], [], Credibility.answer);
      cache.storeNegative('nxdomain', Name.parse(`x${i}.flood.example.`), 1, [aRecord('flood.example.', i, 60)], 300);
      responses.store(`${name}/1`, Name.parse(name), new Uint8Array(80), 300);
    }
    const usage = budget.usage();
    expect(usage.records.bytes).toBeGreaterThan(0.9 * budget.bytesFor('records'));
    expect(usage.records.bytes).toBeLessThanOrEqual(budget.bytesFor('records'));
    expect(usage.responses.bytes).toBeLessThanOrEqual(budget.bytesFor('responses'));
    expect(budget.totalBytes()).toBeLessThanOrEqual(2 * MiB);
    // The newest names are there, the oldest evicted.
    expect(cache.rrset(Name.parse('r49999.flood.example.'), 1)).toBeDefined();
    expect(cache.rrset(Name.parse('r0.flood.example.'), 1)).toBeUndefined();
  });

  it('does not keep an entry larger than its fraction of the share (a 60 KB answer under a 16 MiB budget)', () => {
    const clock = new ManualClock();
    const budget = new MemoryBudget(16 * MiB);
    const responses = new ResponseCache(clock, budget);
    const cap = budget.bytesFor('responses') * MAX_ENTRY_FRACTION;
    expect(cap).toBeLessThan(60_000);
    responses.store('big/1', Name.parse('big.example.'), new Uint8Array(60_000), 300);
    responses.store('small/1', Name.parse('small.example.'), new Uint8Array(100), 300);
    expect(responses.size).toBe(1);
    const cache = new RecordCache(clock, limits, budget);
    const huge = Array.from({ length: 200 }, (_, i) => aRecord('huge.example.', i, 1000));
    cache.storeRrset(huge, [], Credibility.answer);
    expect(cache.rrset(Name.parse('huge.example.'), 1)).toBeUndefined();
    cache.storeRrset(huge.slice(0, 10), [], Credibility.answer);
    expect(cache.rrset(Name.parse('huge.example.'), 1)?.records).toHaveLength(10);
  });

  it('copies kept records out of the packet they were decoded from', () => {
    const packet = new Uint8Array(61_000);
    const r: ResourceRecord = { name: Name.parse('a.example.'), type: 1, class: 1, ttl: 60, rdata: packet.subarray(100, 104) };
    const [kept] = compactRecords([r]);
    expect(kept!.rdata.buffer.byteLength).toBe(4);
    expect(recordsCost([r])).toBeLessThan(1000);
  });
});

describe('the resolver on one budget', () => {
  it('charges every store it keeps to resolver.cache.maxSize: records, verdicts, the signature memo, key state, queries in flight, the encoded answers and the validated NSEC ranges', () => {
    const clock = new ManualClock();
    const resolver = new Resolver({
      clock,
      rootHints: { servers: [], records: [] },
      limits: { maxReferrals: 30, maxCnameChain: 12, maxNsLookupsPerDelegation: 5, maxUpstreamQueries: 100, maxDepth: 6, deadlineMs: 10_000, maxMinimiseSteps: 10 },
      cacheLimits: { ...limits, maxBytes: 16 * MiB },
      forwarders: [],
      qnameMinimisation: true,
      aggressiveNsec: true,
      validation: { enabled: true, anchors: { anchors: () => [] }, limits: { maxKeysPerKeyTag: 4, maxSignaturesPerRrset: 8, maxSignatureChecks: 64, maxNsec3Hashes: 600, maxNsec3Iterations: 150, maxDenialRecords: 32, clockSkew: 300 }, bogusTtl: 60 },
    });
    new ResponseCache(clock, resolver.memory);
    const usage = resolver.memory.usage();
    for (const part of Object.keys(BUDGET_SHARES) as (keyof typeof BUDGET_SHARES)[]) expect(usage[part].maxBytes, part).toBe(resolver.memory.bytesFor(part));
    expect(resolver.memory.maxBytes).toBe(16 * MiB);
    expect(resolver.inFlight.maxInFlight).toBe(Math.floor(resolver.memory.bytesFor('inFlight') / IN_FLIGHT_COST));
  });
});

describe('InFlightLimiter', () => {
  it('caps queries per server and in total; when full, a new query replaces one that waited past the jostle time, else it is shed', () => {
    const clock = new ManualClock();
    const shed: ShedEvent[] = [];
    const limiter = new InFlightLimiter({ maxInFlight: 4, maxInFlightPerServer: 2, jostleAfterMs: 200 }, clock, undefined, (e) => shed.push(e));
    const a1 = limiter.acquire('a')!;
    const a2 = limiter.acquire('a')!;
    expect(limiter.acquire('a')).toBeUndefined(); // a's places are young: shed
    expect(shed).toEqual([{ server: 'a', limit: 'per-server', max: 2 }]);
    const b1 = limiter.acquire('b')!;
    limiter.acquire('c')!;
    expect(limiter.acquire('d')).toBeUndefined(); // total full, all young
    expect(shed[1]).toEqual({ server: 'd', limit: 'total', max: 4 });
    clock.advance(200);
    const a3 = limiter.acquire('a');
    expect(a3).toBeDefined(); // jostles a1, the oldest of a
    expect(a1.signal.aborted).toBe(true);
    expect(a2.signal.aborted).toBe(false);
    const d = limiter.acquire('d');
    expect(d).toBeDefined(); // jostles the oldest overall: a2 (a1 is gone)
    expect(a2.signal.aborted).toBe(true);
    expect(b1.signal.aborted).toBe(false);
    expect(limiter.stats()).toMatchObject({ inFlight: 4, shed: 2, jostled: 2 });
    a1.release(); // released twice (jostled, then its own finally): counted once
    b1.release();
    expect(limiter.stats().inFlight).toBe(3);
  });

  it('holds a server not heard from, or whose last query went unanswered, to its share; one that answers may use any place', () => {
    const limiter = new InFlightLimiter({ maxInFlight: 5, maxInFlightPerServer: 1, jostleAfterMs: 200 }, new ManualClock());
    limiter.acquire('busy')!.release(true);
    limiter.acquire('silent')!.release(); // timed out
    expect(limiter.acquire('busy')).toBeDefined();
    expect(limiter.acquire('busy')).toBeDefined();
    expect(limiter.acquire('busy')).toBeDefined();
    expect(limiter.acquire('silent')).toBeDefined();
    expect(limiter.acquire('silent')).toBeUndefined(); // its one place is taken
    const busy = limiter.acquire('busy');
    expect(busy).toBeDefined();
    expect(limiter.acquire('busy')).toBeUndefined(); // the total is full
    busy!.release(true);
    expect(limiter.acquire('silent')).toBeUndefined(); // a place is free, but silent has its share
    expect(limiter.stats()).toMatchObject({ inFlight: 4, shed: 3 });
  });

  it('a server that goes silent holding more than its share is brought back to it at once', () => {
    const clock = new ManualClock();
    const limiter = new InFlightLimiter({ maxInFlight: 10, maxInFlightPerServer: 2, jostleAfterMs: 200 }, clock);
    limiter.acquire('s')!.release(true);
    const held = Array.from({ length: 6 }, () => limiter.acquire('s')!); // it answers: any place
    held[0]!.release(); // then a query times out: it is not answering
    clock.advance(200);
    expect(limiter.acquire('s')).toBeDefined(); // drains to its share (2), then jostles one for this
    expect(held.filter((h) => h.signal.aborted)).toHaveLength(4);
    expect(limiter.stats()).toMatchObject({ inFlight: 2, jostled: 4 });
    expect(limiter.acquire('new')).toBeDefined();
    expect(limiter.acquire('new')).toBeDefined();
    expect(limiter.acquire('new')).toBeUndefined(); // not heard from yet: its share
  });

  it('charges its queries to the budget, which also bounds the total', () => {
    const budget = new MemoryBudget(16 * MiB);
    const limiter = new InFlightLimiter({ maxInFlight: 100_000, maxInFlightPerServer: 100_000, jostleAfterMs: 200 }, new ManualClock(), budget);
    expect(limiter.maxInFlight).toBe(Math.floor(budget.bytesFor('inFlight') / IN_FLIGHT_COST));
    limiter.acquire('a');
    limiter.acquire('b');
    expect(budget.usage().inFlight).toEqual({ bytes: 2 * IN_FLIGHT_COST, maxBytes: budget.bytesFor('inFlight'), entries: 2 });
  });
});

describe('TcpConnectionLimiter', () => {
  const holder = (prefix: string, lastActivity: number, busy = false) => {
    const h = { prefix, lastActivity, busy, evicted: false, evict: () => void (h.evicted = true) };
    return h satisfies TcpSlotHolder;
  };

  it('groups client addresses by /24 and /56 (as configured)', () => {
    const limiter = new TcpConnectionLimiter({ maxConnections: 10, maxConnectionsPerPrefix: 2, prefixV4: 24, prefixV6: 56 });
    expect(limiter.prefixOf('192.0.2.77')).toBe('192.0.2.0/24');
    expect(limiter.prefixOf('2001:db8:1:2ff:1::1')).toBe('2001:db8:1:200::/56');
    expect(new TcpConnectionLimiter({ maxConnections: 1, maxConnectionsPerPrefix: 1, prefixV4: 16, prefixV6: 48 }).prefixOf('10.9.8.7')).toBe('10.9.0.0/16');
  });

  it("a full prefix makes room by closing its own idlest connection, preferring one with nothing in progress", () => {
    const limiter = new TcpConnectionLimiter({ maxConnections: 10, maxConnectionsPerPrefix: 3, prefixV4: 24, prefixV6: 56 });
    const busyOld = holder('p', 1, true);
    const idle = holder('p', 5);
    const recent = holder('p', 9);
    for (const h of [busyOld, idle, recent]) expect(limiter.admit(h)).toBeUndefined();
    const other = holder('q', 0);
    expect(limiter.admit(other)).toBeUndefined();
    const eviction = limiter.admit(holder('p', 10));
    expect(eviction).toEqual({ evicted: idle, limit: 'per-prefix' });
    expect(idle.evicted).toBe(true);
    expect(other.evicted).toBe(false);
    expect(limiter.openConnections).toBe(4);
    limiter.release(idle); // its close, after eviction: not counted twice
    expect(limiter.openConnections).toBe(4);
  });

  it('a full process makes room in the prefix holding the most connections, not in a small one', () => {
    const limiter = new TcpConnectionLimiter({ maxConnections: 4, maxConnectionsPerPrefix: 3, prefixV4: 24, prefixV6: 56 });
    const legit = holder('legit', 0); // the idlest of all, but its prefix holds one connection
    const flood = [holder('flood', 5), holder('flood', 6), holder('flood', 7)];
    for (const h of [legit, ...flood]) limiter.admit(h);
    const eviction = limiter.admit(holder('new', 8));
    expect(eviction?.evicted).toBe(flood[0]);
    expect(eviction?.limit).toBe('total');
    expect(legit.evicted).toBe(false);
  });
});

describe('open recursion', () => {
  it('finds 0.0.0.0/0, ::/0 and any prefix shorter than /8 in recursion.allow, but not the private fc00::/7', () => {
    const allow = ['127.0.0.0/8', '0.0.0.0/0', '10.0.0.0/8', '64.0.0.0/2', '::/0', 'fc00::/7', '::1/128', '2000::/3', 'f000::/4'].map((t) => parseCidr(t));
    expect(openRecursionPrefixes(allow)).toEqual(['0.0.0.0/0', '64.0.0.0/2', '::/0', '2000::/3', 'f000::/4']);
    expect(openRecursionPrefixes(parseConfigText('', 'lab.yaml', { baseDir: '/srv' }).recursion.allow)).toEqual([]);
    expect(openRecursionPrefixes(['127.0.0.0/8', '192.168.0.0/16'].map((t) => parseCidr(t)))).toEqual([]);
  });
});

describe('config keys', () => {
  function issues(text: string): readonly ConfigIssue[] {
    try {
      parseConfigText(text, 'lab.yaml', { baseDir: '/srv' });
    } catch (e) {
      expect(e).toBeInstanceOf(ConfigError);
      return (e as ConfigError).issues;
    }
    throw new Error('expected the config to be rejected');
  }

  it('has defaults for the in-flight caps and the tcp section', () => {
    const c = parseConfigText('', 'lab.yaml', { baseDir: '/srv' });
    expect(c.resolver.limits).toMatchObject({ maxInFlight: 1024, maxInFlightPerServer: 256, jostleAfterMs: 200 });
    expect(c.tcp).toEqual({ maxConnections: 256, maxConnectionsPerPrefix: 64, prefixV4: 24, prefixV6: 56 });
  });

  it('names the key in each error', () => {
    expect(issues('resolver:\n  limits: { maxInFlight: 4 }\n')[0]).toMatchObject({ path: 'resolver.limits.maxInFlight', line: 2 });
    expect(issues('resolver:\n  limits: { maxInFlight: 100, maxInFlightPerServer: 200 }\n')[0]).toMatchObject({ path: 'resolver.limits.maxInFlightPerServer' });
    expect(issues('tcp:\n  prefixV4: 40\n')[0]).toMatchObject({ path: 'tcp.prefixV4', line: 2 });
    expect(issues('tcp:\n  maxConnections: 10\n  maxConnectionsPerPrefix: 20\n')[0]).toMatchObject({ path: 'tcp.maxConnectionsPerPrefix' });
    expect(issues('tcp:\n  maxConections: 10\n')[0]?.path).toBe('tcp.maxConections');
  });
});
