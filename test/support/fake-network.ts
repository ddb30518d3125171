/**
 * An in-process network for unit tests of the iterator: each address answers from a script
 * (test/support/scripted-server.ts's Script), through the real UpstreamClient and its retry
 * logic, with no socket. Time is a ManualClock: a dropped query costs exactly the timeout the
 * client gave it, so deadline tests are decided by the clock, never by wall time.
 *
 * Messages go through the real encoder and decoder (UDP size limits and TC included), so what
 * the iterator sees is what it would read off the wire.
 */
import { ManualClock } from '../../src/clock.js';
import { type Exchange, type ServerAddress, TransportError } from '../../src/resolver/dns-transport.js';
import { Iterator, type IteratorOptions } from '../../src/resolver/iterator.js';
import { RecordCache } from '../../src/resolver/record-cache.js';
import { DEFAULT_CACHE_LIMITS } from './default-cache-limits.js';
import { DEFAULT_RESOLUTION_LIMITS, type ResolutionLimits } from '../../src/resolver/resolution-limits.js';
import type { RootHints } from '../../src/resolver/root-hints.js';
import { ServerSelection } from '../../src/resolver/server-selection.js';
import { UpstreamClient } from '../../src/resolver/upstream-client.js';
import { decodeMessage } from '../../src/wire/message-decoder.js';
import { encodeMessage } from '../../src/wire/message-encoder.js';
import type { Message } from '../../src/wire/message.js';
import { Name } from '../../src/wire/name.js';
import { parseRecordLine } from '../../src/wire/record-text.js';
import type { Script, Transport } from './scripted-server.js';

export interface FakeQuery {
  readonly server: string;
  readonly transport: Transport;
  readonly message: Message;
  readonly at: number;
}

/** What a fake server does besides answering: 'hang' never settles, whatever the timeout. */
export type FakeScript = (query: Message, transport: Transport) => Message | undefined | 'hang' | 'garbage';

export class FakeNetwork {
  readonly clock = new ManualClock();
  readonly queries: FakeQuery[] = [];
  private readonly servers = new Map<string, FakeScript>();
  /** Milliseconds an answered query takes on the clock. */
  rttMs = 1;

  /** Sets (or replaces) what `address` answers. An address without a script never answers. */
  serve(address: string, script: FakeScript | Script): void {
    this.servers.set(address, script);
  }

  queriesTo(address: string): FakeQuery[] {
    return this.queries.filter((q) => q.server === address);
  }

  queriesFor(name: string): FakeQuery[] {
    const n = Name.parse(name);
    return this.queries.filter((q) => q.message.question[0]?.name.equals(n));
  }

  private exchange(transport: Transport) {
    return (server: ServerAddress, query: Message, wire: Uint8Array, timeoutMs: number): Promise<Exchange> => {
      const decoded = decodeMessage(wire);
      this.queries.push({ server: server.host, transport, message: decoded, at: this.clock.now() });
      const script = this.servers.get(server.host);
      const out = script ? script(decoded, transport) : undefined;
      if (out === 'hang') return new Promise<Exchange>(() => {});
      if (out === undefined || out === 'garbage') {
        // Garbage is dropped by the transport like silence (a UDP reader ignores what it cannot decode).
        this.clock.advance(timeoutMs);
        return Promise.reject(new TransportError('timeout', `no answer from ${server.host} in ${timeoutMs} ms`));
      }
      this.clock.advance(this.rttMs);
      const maxSize = transport === 'udp' ? Math.max(512, decoded.edns?.udpSize ?? 512) : undefined;
      const bytes = encodeMessage(out, maxSize === undefined ? {} : { maxSize });
      return Promise.resolve({ response: decodeMessage(bytes), bytes, transport, server });
    };
  }

  /** The exchanges of this network, for a client built elsewhere (ResolverOptions.transport). */
  transport(): { udp: ReturnType<FakeNetwork['exchange']>; tcp: ReturnType<FakeNetwork['exchange']> } {
    return { udp: this.exchange('udp'), tcp: this.exchange('tcp') };
  }

  /** The real upstream client over this network. */
  upstream(): UpstreamClient {
    return new UpstreamClient(new ServerSelection(this.clock), this.clock, undefined, undefined, { udp: this.exchange('udp'), tcp: this.exchange('tcp') });
  }

  /** An iterator from root hints naming `rootAddress`, over this network. */
  iterator(rootAddress: string, options: { limits?: Partial<ResolutionLimits>; qnameMinimisation?: boolean; cache?: RecordCache } = {}): { iterator: Iterator; cache: RecordCache; options: IteratorOptions } {
    const hintRecords = [parseRecordLine('. 3600000 IN NS a.root-servers.test.'), parseRecordLine(`a.root-servers.test. 3600000 IN A ${rootAddress}`)];
    const rootHints: RootHints = { servers: [{ name: Name.parse('a.root-servers.test.'), addresses: [rootAddress] }], records: hintRecords };
    const cache = options.cache ?? new RecordCache(this.clock, DEFAULT_CACHE_LIMITS);
    const o: IteratorOptions = {
      clock: this.clock,
      cache,
      upstream: this.upstream(),
      rootHints,
      limits: { ...DEFAULT_RESOLUTION_LIMITS, ...options.limits },
      forwardersFor: () => undefined,
      qnameMinimisation: options.qnameMinimisation ?? false,
    };
    return { iterator: new Iterator(o), cache, options: o };
  }
}
