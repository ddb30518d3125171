/**
 * The encoded-answer cache keeps a question's answer from its second ask (asked-before.ts): a name
 * asked once costs no encoded copy; a name asked again is served by byte copy from then on.
 */
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { parseCidr } from '../../src/config/cidr.js';
import { createLogger } from '../../src/logging/logger.js';
import { AskedBefore } from '../../src/resolver/asked-before.js';
import { MemoryBudget } from '../../src/resolver/memory-budget.js';
import type { Resolver } from '../../src/resolver/resolver.js';
import type { ClientInfo } from '../../src/server/query-handler.js';
import { QueryPipeline } from '../../src/server/query-pipeline.js';
import { decodeMessage } from '../../src/wire/message-decoder.js';
import { encodeMessage } from '../../src/wire/message-encoder.js';
import { Rcode, newMessage } from '../../src/wire/message.js';
import { Name } from '../../src/wire/name.js';
import { RRType } from '../../src/wire/rr-type.js';

const client: ClientInfo = { address: '127.0.0.1', port: 5353, transport: 'udp', localAddress: '127.0.0.1' };
const query = (name: string, id = 7) => encodeMessage(newMessage({ id, rd: true, question: [{ name: Name.parse(name), type: RRType.A, class: 1 }] }));

function pipeline() {
  const clock = new ManualClock(Date.UTC(2026, 5, 1));
  const resolved: string[] = [];
  const resolver = {
    memory: new MemoryBudget(16 * 1024 * 1024),
    resolve: async (q: { name: Name }) => {
      resolved.push(q.name.toString());
      return { rcode: Rcode.NOERROR, answer: [{ name: q.name, type: RRType.A, class: 1, ttl: 300, rdata: Uint8Array.of(192, 0, 2, 1) }], authority: [], security: 'insecure' };
    },
  } as unknown as Resolver;
  const logger = createLogger({ level: 'silent', destination: { write: () => undefined } });
  return { p: new QueryPipeline({ resolver, recursionAllow: [parseCidr('127.0.0.0/8')], clock, logger }), resolved };
}

describe('admission to the encoded-answer cache', () => {
  it('keeps nothing encoded on the first ask, keeps it on the second, answers by copy from the third', async () => {
    const { p, resolved } = pipeline();
    for (let i = 1; i <= 4; i++) {
      const r = decodeMessage((await p.handle(query('www.example.', i), client)) as Uint8Array);
      expect(r.id).toBe(i);
      expect(r.answer).toHaveLength(1);
    }
    expect(resolved).toEqual(['www.example.', 'www.example.']);
    expect(p.stats.cachedResponses).toBe(2);
    expect(p.responses.size).toBe(1);
  });

  it('a flood of names asked once leaves the encoded-answer cache empty', async () => {
    const { p } = pipeline();
    for (let i = 0; i < 2000; i++) await p.handle(query(`n${i}.example.`), client);
    expect(p.responses.size).toBe(0);
    await p.handle(query('n1999.example.'), client);
    expect(p.responses.size).toBe(1);
  });
});

describe('AskedBefore', () => {
  it('says no the first time and yes the second, per key; its table is fixed', () => {
    const asked = new AskedBefore(5000);
    expect(asked.bytes).toBe(8192 * 4);
    expect(asked.check('a/1')).toBe(false);
    expect(asked.check('b/1')).toBe(false);
    expect(asked.check('a/1')).toBe(true);
    expect(asked.check('b/1')).toBe(true);
    for (let i = 0; i < 100_000; i++) asked.check(`flood${i}`);
    expect(asked.bytes).toBe(8192 * 4);
    expect(AskedBefore.forStore(1).bytes).toBe(1024 * 4);
  });
});
