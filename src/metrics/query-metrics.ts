import { rcodeToString } from '../wire/message.js';
import { isPendingResult } from '../server/handler-result.js';
import type { MetricFamily } from './metrics-exposition.js';
import type { ClientInfo, QueryHandler } from '../server/query-handler.js';

/**
 * Responses by transport, RCODE and whether the response cache answered. The pipeline answers a
 * response-cache hit synchronously and everything else through a promise, so the wrapper tells
 * them apart without the pipeline knowing it is counted.
 */
export class QueryMetrics {
  /** `transport|rcode|hit` → count. */
  private readonly counts = new Map<string, number>();
  private dropped = 0;

  wrap(handler: QueryHandler): QueryHandler {
    return (query: Uint8Array, client: ClientInfo) => {
      const result = handler(query, client);
      if (isPendingResult(result)) {
        return (result as Promise<Uint8Array | readonly Uint8Array[] | undefined>).then((answer) => {
          this.count(client.transport, answer, false);
          return answer;
        });
      }
      this.count(client.transport, result as Uint8Array | undefined, true);
      return result;
    };
  }

  /** Responses another process sent from its response cache (the DNS workers, worker-pool.ts). */
  countHits(transport: string, rcode: number, count: number): void {
    const key = `${transport}|${rcode}|hit`;
    this.counts.set(key, (this.counts.get(key) ?? 0) + count);
  }

  private count(transport: string, answer: Uint8Array | readonly Uint8Array[] | undefined, hit: boolean): void {
    const first = Array.isArray(answer) ? (answer as readonly Uint8Array[])[0] : (answer as Uint8Array | undefined);
    if (first === undefined || first.length < 12) {
      this.dropped++;
      return;
    }
    const key = `${transport}|${first[3]! & 0x0f}|${hit ? 'hit' : 'miss'}`;
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
  }

  families(): MetricFamily[] {
    const samples = [...this.counts].map(([key, value]) => {
      const [transport, rcode, cache] = key.split('|') as [string, string, string];
      return { labels: { transport, rcode: rcodeToString(Number(rcode)), cache }, value };
    });
    return [
      { name: 'keymaster_dns_responses_total', help: 'DNS responses sent, by transport, RCODE and response-cache hit.', type: 'counter', samples },
      { name: 'keymaster_dns_unanswered_total', help: 'Queries the pipeline dropped without an answer.', type: 'counter', samples: [{ value: this.dropped }] },
    ];
  }
}
