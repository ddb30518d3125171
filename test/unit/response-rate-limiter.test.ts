import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logging/logger.js';
import type { Resolver } from '../../src/resolver/resolver.js';
import { QueryPipeline } from '../../src/server/query-pipeline.js';
import { ResponseRateLimiter, clientNetwork } from '../../src/authority/response-rate-limiter.js';
import { decodeMessage } from '../../src/wire/message-decoder.js';
import { encodeMessage } from '../../src/wire/message-encoder.js';
import { Rcode, newMessage } from '../../src/wire/message.js';
import { Name } from '../../src/wire/name.js';
import { RRType } from '../../src/wire/rr-type.js';
import { client, labsStoppedAfterAll } from './authority-update-helpers.js';

/**
 * Response rate limiting (BIND `rate-limit`, Knot `rrl`): counted on the injectable clock, so the
 * numbers below are exact. A flood of spoofed sources in one /24 gets `responsesPerSecond`
 * answers, every `slip`-th of the rest truncated and the others dropped; another network, TCP,
 * and the next second are not affected.
 */

const startLab = labsStoppedAfterAll();

async function limitedLab(settings: ConstructorParameters<typeof ResponseRateLimiter>[0]) {
  const lab = await startLab();
  const logger = createLogger({ level: 'error', destination: { write: () => {} } });
  const resolver = { resolve: async () => ({ rcode: Rcode.REFUSED, answer: [], authority: [] }), flush: () => 0 } as unknown as Resolver;
  const limiter = new ResponseRateLimiter(settings, lab.clock);
  const pipeline = new QueryPipeline({ resolver, recursionAllow: [], clock: lab.clock, logger, localZones: lab.service, rateLimiter: limiter });
  const ask = async (name: string, type: number, from: string, transport: 'udp' | 'tcp' = 'udp') => {
    const bytes = (await pipeline.handle(encodeMessage(newMessage({ id: 1, question: [{ name: Name.parse(name), type, class: 1 }] })), client(from, transport))) as Uint8Array | undefined;
    return bytes && decodeMessage(bytes);
  };
  /** Counts full answers, truncated ones and silences for `n` queries from `sources`. */
  const flood = async (n: number, name: string, type: number, source: (i: number) => string) => {
    const tally = { answered: 0, truncated: 0, dropped: 0 };
    for (let i = 0; i < n; i++) {
      const m = await ask(name, type, source(i));
      if (!m) tally.dropped++;
      else if (m.tc) {
        expect(m.answer.length).toBe(0);
        tally.truncated++;
      } else tally.answered++;
    }
    return tally;
  };
  return { lab, limiter, ask, flood };
}

describe('response rate limiting of authoritative answers', () => {
  it('a spoofed flood from one /24: rate answered, every 2nd of the rest truncated, the others dropped', async () => {
    const { lab, flood, ask } = await limitedLab({ responsesPerSecond: 5, slip: 2 });
    const burst = await flood(1000, 'www.lab.example.', RRType.A, (i) => `192.0.2.${i % 250}`);
    expect(burst).toEqual({ answered: 5, truncated: 497, dropped: 498 });
    // The response ratio a reflector gets: 502 packets for 1000 (all of them small).
    // Another network has its own budget; TCP is never limited.
    expect((await flood(5, 'www.lab.example.', RRType.A, () => '198.51.100.7')).answered).toBe(5);
    expect((await ask('www.lab.example.', RRType.A, '192.0.2.9', 'tcp'))!.answer.length).toBeGreaterThan(0);
    // A second later, a second's worth again.
    lab.clock.advance(1000);
    expect((await flood(10, 'www.lab.example.', RRType.A, () => '192.0.2.1')).answered).toBe(5);
  });

  it('random names (NXDOMAIN) count as one flow per zone; errors have their own rate', async () => {
    const { flood } = await limitedLab({ responsesPerSecond: 100, nxdomainsPerSecond: 3, slip: 0 });
    let n = 0;
    const nx = { answered: 0, truncated: 0, dropped: 0 };
    for (let i = 0; i < 50; i++) {
      const t = await flood(1, `r${n++}.lab.example.`, RRType.A, () => '192.0.2.1');
      nx.answered += t.answered;
      nx.truncated += t.truncated;
      nx.dropped += t.dropped;
    }
    expect(nx).toEqual({ answered: 3, truncated: 0, dropped: 47 });
    // Positive answers to the same network are a different flow: unaffected.
    expect((await flood(10, 'www.lab.example.', RRType.A, () => '192.0.2.1')).answered).toBe(10);
  });

  it('answers from one wildcard to random names are one flow (a random-name flood on a wildcard)', async () => {
    const { lab, ask } = await limitedLab({ responsesPerSecond: 5, slip: 0 });
    await lab.service.addRecord('lab.example', { name: '*.w', type: 'A', rdata: '192.0.2.5' });
    let answered = 0;
    for (let i = 0; i < 50; i++) if ((await ask(`r${i}.w.lab.example.`, RRType.A, '192.0.2.1'))?.answer.length) answered++;
    expect(answered).toBe(5);
  });

  it('off (0 per second) limits nothing; client networks are /24 and /56', async () => {
    const { flood } = await limitedLab({ responsesPerSecond: 0 });
    expect((await flood(200, 'www.lab.example.', RRType.A, () => '192.0.2.1')).answered).toBe(200);
    expect(clientNetwork('192.0.2.77', 24, 56)).toBe(clientNetwork('192.0.2.1', 24, 56));
    expect(clientNetwork('192.0.3.1', 24, 56)).not.toBe(clientNetwork('192.0.2.1', 24, 56));
    expect(clientNetwork('2001:db8:0:ff::1', 24, 56)).toBe(clientNetwork('2001:db8:0:1::2', 24, 56));
    expect(clientNetwork('2001:db8:0:100::1', 24, 56)).not.toBe(clientNetwork('2001:db8:0:1::2', 24, 56));
  });
});
