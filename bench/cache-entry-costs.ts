/**
 * What one cached name costs resident, and whether the memory budget's estimates
 * (src/resolver/memory-budget.ts) are honest. Run by hand:
 *
 *     npm run bench:cache-costs
 *
 * For each store it fills a fresh resolver with N names (10k, then 100k) the way a resolution of
 * a signed A record fills it — an RRset with its RRSIG in the record cache, the verdict with the
 * answer in the validated store, the encoded response in the response cache — then measures
 * V8 heap + ArrayBuffer bytes after a full GC and prints, per name: measured bytes, the bytes the
 * budget charged, and their ratio. A ratio above 1 means the budget under-counts.
 * Needs --expose-gc (the npm script passes it).
 */
import { ManualClock } from '../src/clock.js';
import { type ResourceRecord, Rcode, newMessage } from '../src/wire/message.js';
import { encodeMessage } from '../src/wire/message-encoder.js';
import { decodeMessage } from '../src/wire/message-decoder.js';
import { Name } from '../src/wire/name.js';
import { encodeRdata } from '../src/wire/rdata-codec.js';
import { RRType } from '../src/wire/rr-type.js';
import { Credibility } from '../src/resolver/security-status.js';
import { Resolver, type ResolverAnswer } from '../src/resolver/resolver.js';
import { secure } from '../src/dnssec/validation-outcome.js';
import { ResponseCache } from '../src/resolver/response-cache.js';

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with node --expose-gc (npm run bench:cache-costs)');

function resident(): number {
  gc!();
  gc!();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

const zone = Name.parse('bulk.example.');

/** The records of one signed A answer for `name`, decoded from a packet as the iterator gets them. */
function signedA(name: Name, i: number): ResourceRecord[] {
  const a: ResourceRecord = { name, type: RRType.A, class: 1, ttl: 3600, rdata: Uint8Array.of(10, (i >> 16) & 255, (i >> 8) & 255, i & 255) };
  const sig = encodeRdata(RRType.RRSIG, {
    typeCovered: RRType.A, algorithm: 13, labels: 3, originalTtl: 3600, expiration: 2_000_000_000, inception: 1_700_000_000, keyTag: 12345,
    signerName: zone, signature: new Uint8Array(64).fill(i & 255),
  });
  const built = [a, { name, type: RRType.RRSIG, class: 1, ttl: 3600, rdata: sig }];
  // Through the wire and back, as the iterator gets them: each record with its own Name, RDATA a view into the packet.
  return decodeMessage(encodeMessage(newMessage({ id: 1, qr: true, question: [{ name, type: RRType.A, class: 1 }], answer: built }))).answer;
}

function newResolver(clock: ManualClock): Resolver {
  return new Resolver({
    clock,
    rootHints: { servers: [], records: [] } as never,
    limits: { maxReferrals: 30, maxCnameChain: 12, maxNsLookupsPerDelegation: 5, maxUpstreamQueries: 100, maxDepth: 6, deadlineMs: 10_000, maxMinimiseSteps: 10 },
    // Large enough that nothing is evicted: this measures cost per entry, not eviction.
    cacheLimits: { maxBytes: 16 * 1024 * 1024 * 1024, minTtl: 0, maxTtl: 86_400, maxNegativeTtl: 3600 },
    forwarders: [],
    qnameMinimisation: true,
  });
}

type Fill = (resolver: Resolver, name: Name, records: ResourceRecord[], i: number, now: number) => void;

const storeRecords: Fill = (r, _n, rs) => r.cache.storeRrset([rs[0]!], [rs[1]!], Credibility.answer, 'secure');
const storeVerdict: Fill = (r, name, rs, _i, now) => {
  const answer: ResolverAnswer = { rcode: Rcode.NOERROR, answer: rs, authority: [], security: 'secure', outcome: secure('bulk.example.: RRSIG by key 12345 verified') };
  (r as unknown as { remember(k: string, a: ResolverAnswer, o: unknown, now: number): void }).remember(`${name.key}/1`, answer, answer.outcome, now);
};

/** `validated` alone copies the records (nothing to refer to); `records + verdict` is what a resolution leaves: the verdict referring to the record entry. */
const stores: Record<string, { parts: ('records' | 'validated' | 'responses')[]; fill: Fill }> = {
  records: { parts: ['records'], fill: storeRecords },
  validated: { parts: ['validated'], fill: storeVerdict },
  'records + verdict': {
    parts: ['records', 'validated'],
    fill: (...args) => {
      storeRecords(...args);
      storeVerdict(...args);
    },
  },
  responses: {
    parts: ['responses'],
    fill: (r, name, rs, i) => {
      const wire = encodeMessage(newMessage({ id: i & 0xffff, qr: true, rd: true, ra: true, ad: true, question: [{ name, type: RRType.A, class: 1 }], answer: rs }));
      // What the pipeline keys it by: the lowercased question name in latin1 and the type/flags.
      pipelineResponses(r).store(`${Buffer.from(name.wire).toString('latin1')}/1/1`, name, wire, 3600);
    },
  },
};

const responseCaches = new WeakMap<Resolver, ResponseCache>();
function pipelineResponses(r: Resolver) {
  let c = responseCaches.get(r);
  if (!c) responseCaches.set(r, (c = new ResponseCache(new ManualClock(), r.memory)));
  return c;
}

async function measure(count: number): Promise<void> {
  console.log(`\n${count.toLocaleString('en')} names`);
  console.log('store             measured B/name   charged B/name   measured/charged');
  let totalMeasured = 0;
  let totalCharged = 0;
  for (const [label, store] of Object.entries(stores)) {
    const clock = new ManualClock(Date.now());
    const resolver = newResolver(clock);
    pipelineResponses(resolver);
    const before = resident();
    for (let i = 0; i < count; i++) {
      const name = Name.parse(`n${i}.${zone}`);
      store.fill(resolver, name, signedA(name, i), i, clock.now());
    }
    const measured = (resident() - before) / count;
    const usage = resolver.memory.usage();
    const charged = store.parts.reduce((n, part) => n + usage[part].bytes, 0) / count;
    if (label === 'records + verdict' || label === 'responses') {
      totalMeasured += measured;
      totalCharged += charged;
    }
    console.log(`${label.padEnd(18)}${measured.toFixed(0).padStart(16)}${charged.toFixed(0).padStart(17)}${(measured / charged).toFixed(2).padStart(19)}`);
  }
  console.log(`${'one name, asked twice (records + verdict + response)'}\n${''.padEnd(18)}${totalMeasured.toFixed(0).padStart(16)}${totalCharged.toFixed(0).padStart(17)}${(totalMeasured / totalCharged).toFixed(2).padStart(19)}`);
}

console.log(`node ${process.version}, ${process.arch}; heapUsed + arrayBuffers after gc()`);
await measure(10_000);
await measure(100_000);
console.log(`\nRSS at the end: ${(process.memoryUsage().rss / 1048576).toFixed(0)} MiB`);
