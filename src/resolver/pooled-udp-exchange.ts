import net from 'node:net';
import type { Message } from '../wire/message.js';
import { type AbortWatch, type Exchange, type ServerAddress, TransportError, udpAnswerTo } from './dns-transport.js';
import type { OutgoingPortPool, OutgoingSocket } from './outgoing-port-pool.js';

/**
 * UDP exchanges that go out from the pool's random ports (the resolver's upstream transport).
 * The same contract as `exchangeUdp`: the answer is accepted only from the address and port
 * asked, with the query's ID and question; anything else is ignored while the real one may come.
 */
export function pooledUdpExchange(pool: OutgoingPortPool) {
  return (server: ServerAddress, query: Message, wire: Uint8Array, timeoutMs: number, signal?: AbortWatch): Promise<Exchange> =>
    new Promise((resolve, reject) => {
      const lease = pool.lease(net.isIPv6(server.host) ? 'udp6' : 'udp4');
      let leased: OutgoingSocket | undefined;
      let settled = false;
      const done = (err?: TransportError, ex?: Exchange) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        signal?.removeEventListener('abort', aborted);
        if (leased) pool.release(leased, err?.code === 'network');
        else lease.cancel();
        if (err) reject(err);
        else resolve(ex!);
      };
      const timer = setTimeout(() => done(new TransportError('timeout', `no answer from ${server.host}#${server.port} in ${timeoutMs} ms`)), timeoutMs);
      const aborted = () => done(new TransportError('closed', `query to ${server.host}#${server.port} dropped for a newer one`));
      signal?.addEventListener('abort', aborted);
      lease.socket.then(
        (s) => {
          if (settled) {
            pool.release(s);
            return;
          }
          leased = s;
          s.onError = (e) => done(new TransportError('network', e.message));
          // `msg` is the datagram's own buffer (dgram allocates one per datagram): not copied.
          s.onMessage = (msg, rinfo) => {
            const response = udpAnswerTo(server, query, msg, rinfo);
            if (response) done(undefined, { response, bytes: msg, transport: 'udp', server });
          };
          s.socket.send(wire, server.port, server.host, (e) => {
            if (e) done(new TransportError('network', e.message));
          });
        },
        (e: Error) => done(new TransportError('network', e.message)),
      );
    });
}
