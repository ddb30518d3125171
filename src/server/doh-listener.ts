import { createSecureServer, type Http2SecureServer, type Http2ServerRequest, type Http2ServerResponse } from 'node:http2';
import type { Socket } from 'node:net';
import { decodeMessage } from '../wire/message-decoder.js';
import { minimumTtl } from '../wire/rrsets.js';
import { normaliseClientAddress } from './client-address.js';
import { type BoundListener, limitConnections, type SecureListenerOptions, serveWithCertificate, TLS_HANDSHAKE_TIMEOUT_MS } from './dot-listener.js';
import { isPendingResult } from './handler-result.js';
import { errorFields, ThrottledEventLog } from '../logging/throttled-event-log.js';

/** RFC 8484 §6: the one path, both methods. */
export const DOH_PATH = '/dns-query';
/** A DNS message is at most 65535 bytes, whatever carries it. */
const MAX_DNS_MESSAGE = 0xffff;
/** An HTTP/2 session (or HTTP/1.1 connection) with no request for this long is closed. */
export const DOH_IDLE_TIMEOUT_MS = 30_000;
/** Requests in flight on one HTTP/2 session; more wait in the client (SETTINGS_MAX_CONCURRENT_STREAMS). */
export const DOH_MAX_CONCURRENT_STREAMS = 100;

class HttpFailure extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

/** The DNS message of a GET (`?dns=` base64url, no padding) or a POST (`application/dns-message` body). */
async function readQuery(req: Http2ServerRequest): Promise<Uint8Array> {
  const url = new URL(req.url, 'https://doh.invalid');
  if (url.pathname !== DOH_PATH) throw new HttpFailure(404, `not found; DNS over HTTPS is at ${DOH_PATH}`);
  if (req.method === 'GET') {
    const dns = url.searchParams.get('dns');
    if (dns === null) throw new HttpFailure(400, 'missing the dns parameter');
    if (!/^[A-Za-z0-9_-]*$/.test(dns) || dns.length > Math.ceil((MAX_DNS_MESSAGE * 4) / 3)) throw new HttpFailure(400, 'the dns parameter is not base64url');
    return Buffer.from(dns, 'base64url');
  }
  if (req.method !== 'POST') throw new HttpFailure(405, 'only GET and POST', { allow: 'GET, POST' });
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== 'application/dns-message') throw new HttpFailure(415, 'the body must be application/dns-message');
  if (Number(req.headers['content-length'] ?? 0) > MAX_DNS_MESSAGE) throw new HttpFailure(413, 'a DNS message is at most 65535 bytes');
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_DNS_MESSAGE) throw new HttpFailure(413, 'a DNS message is at most 65535 bytes');
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/** RFC 8484 §5.1: fresh for the smallest TTL in the answer and authority (0 when none, or not decodable). */
export function freshnessLifetime(response: Uint8Array): number {
  try {
    const m = decodeMessage(response);
    return minimumTtl(m.answer, m.authority);
  } catch {
    return 0;
  }
}

/** DNS over HTTPS (RFC 8484) on one address: HTTP/2, and HTTP/1.1 for clients without it. */
export async function startDohListener(options: SecureListenerOptions): Promise<BoundListener> {
  const { certificate, handler, logger, stats, limiter } = options;
  const handlerErrorLog = new ThrottledEventLog(logger, 'dns.handler-error', 'error');
  const errorLog = new ThrottledEventLog(logger, 'dns.https-error', 'debug');
  const evictedLog = new ThrottledEventLog(logger, 'dns.https-connection-evicted', 'warn');
  const server: Http2SecureServer = createSecureServer({
    ...certificate.options,
    allowHTTP1: true,
    handshakeTimeout: TLS_HANDSHAKE_TIMEOUT_MS,
    minVersion: 'TLSv1.2',
    settings: { maxConcurrentStreams: DOH_MAX_CONCURRENT_STREAMS },
  });
  server.setTimeout(DOH_IDLE_TIMEOUT_MS);
  limitConnections(server, limiter, stats, evictedLog);
  const sockets = new Set<Socket>();
  server.on('connection', (socket: Socket) => {
    // Each answer is a small frame that must leave now: Nagle holding it for the client's delayed
    // ACK costs tens of milliseconds per round trip.
    socket.setNoDelay(true);
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  server.on('tlsClientError', (error, socket) => {
    errorLog.log({ client: socket.remoteAddress, ...errorFields(error) });
    socket.destroy();
  });
  server.on('sessionError', (error) => errorLog.log(errorFields(error)));

  const respond = async (req: Http2ServerRequest, res: Http2ServerResponse): Promise<void> => {
    const socket = req.socket;
    const client = {
      address: normaliseClientAddress(socket.remoteAddress ?? ''),
      port: socket.remotePort ?? 0,
      transport: 'https' as const,
      localAddress: normaliseClientAddress(socket.localAddress ?? options.address.host),
    };
    try {
      const query = await readQuery(req);
      if (query.length < 12) throw new HttpFailure(400, 'not a DNS message');
      if ((query[2]! & 0x80) !== 0) throw new HttpFailure(400, 'a DNS response, not a query');
      let result = handler(query, client);
      if (isPendingResult(result)) result = await result;
      if (!(result instanceof Uint8Array)) throw new HttpFailure(result === undefined ? 400 : 500, 'no answer to this message');
      res.writeHead(200, {
        'content-type': 'application/dns-message',
        'content-length': result.length,
        'cache-control': `max-age=${freshnessLifetime(result)}`,
      });
      res.end(Buffer.from(result.buffer, result.byteOffset, result.length));
    } catch (error) {
      const failure = error instanceof HttpFailure ? error : new HttpFailure(500, 'internal error');
      if (!(error instanceof HttpFailure)) handlerErrorLog.log({ transport: 'https', client: client.address, ...errorFields(error) }, 'query handler failed');
      if (res.headersSent || res.destroyed) return;
      res.writeHead(failure.status, { 'content-type': 'text/plain; charset=utf-8', ...failure.headers });
      res.end(`${failure.message}\n`);
    }
  };
  server.on('request', (req: Http2ServerRequest, res: Http2ServerResponse) => void respond(req, res));

  return serveWithCertificate(server, options.address, certificate, errorLog, () => {
    for (const s of sockets) s.destroy();
  });
}
