import { readFileSync } from 'node:fs';
import { connect as connectHttp2 } from 'node:http2';
import { isIP } from 'node:net';
import { connect as connectTls, type ConnectionOptions } from 'node:tls';
import { TransportError, type ServerAddress } from '../resolver/dns-transport.js';
import { decodeMessage } from '../wire/message-decoder.js';
import type { Message } from '../wire/message.js';

export interface SecureExchange {
  readonly response: Message;
  readonly bytes: Uint8Array;
  readonly transport: 'tls' | 'https';
}

/** How the server's certificate is checked: against `ca` (PEM file), the system's CAs, or not at all. */
export interface CertificateCheck {
  readonly ca?: string;
  readonly insecure?: boolean;
}

function tlsOptions(host: string, check: CertificateCheck): ConnectionOptions {
  return {
    ...(isIP(host) ? {} : { servername: host }),
    ...(check.ca ? { ca: readFileSync(check.ca) } : {}),
    rejectUnauthorized: !check.insecure,
  };
}

function matches(query: Message, bytes: Uint8Array): Message {
  let response: Message;
  try {
    response = decodeMessage(bytes);
  } catch (error) {
    throw new TransportError('mismatch', `undecodable answer: ${(error as Error).message}`);
  }
  if (response.id !== query.id || !response.qr) throw new TransportError('mismatch', 'the answer does not match the query');
  return response;
}

/** One query over DNS over TLS (RFC 7858): TCP framing inside TLS. */
export function exchangeTls(server: ServerAddress, query: Message, wire: Uint8Array, timeoutMs: number, check: CertificateCheck): Promise<SecureExchange> {
  return new Promise((resolve, reject) => {
    const socket = connectTls({ host: server.host, port: server.port, ...tlsOptions(server.host, check) });
    let buffered = Buffer.alloc(0);
    const done = (err?: Error, ex?: SecureExchange) => {
      clearTimeout(timer);
      socket.destroy();
      if (err) reject(err);
      else resolve(ex!);
    };
    const timer = setTimeout(() => done(new TransportError('timeout', `no answer from ${server.host}#${server.port} over TLS in ${timeoutMs} ms`)), timeoutMs);
    socket.on('error', (e) => done(new TransportError('network', e.message)));
    socket.on('close', () => done(new TransportError('closed', `${server.host}#${server.port} closed the connection`)));
    socket.on('secureConnect', () => {
      const frame = Buffer.alloc(2 + wire.length);
      frame.writeUInt16BE(wire.length, 0);
      frame.set(wire, 2);
      socket.write(frame);
    });
    socket.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      if (buffered.length < 2 || buffered.length < 2 + buffered.readUInt16BE(0)) return;
      const bytes = new Uint8Array(buffered.subarray(2, 2 + buffered.readUInt16BE(0)));
      try {
        done(undefined, { response: matches(query, bytes), bytes, transport: 'tls' });
      } catch (error) {
        done(error as Error);
      }
    });
  });
}

/** One query over DNS over HTTPS (RFC 8484): POST over HTTP/2 to `url` (e.g. https://127.0.0.1/dns-query). */
export function exchangeHttps(url: URL, query: Message, wire: Uint8Array, timeoutMs: number, check: CertificateCheck): Promise<SecureExchange> {
  return new Promise((resolve, reject) => {
    const host = url.hostname.replace(/^\[|\]$/g, '');
    const session = connectHttp2(url.origin, tlsOptions(host, check));
    const done = (err?: Error, ex?: SecureExchange) => {
      clearTimeout(timer);
      session.destroy();
      if (err) reject(err);
      else resolve(ex!);
    };
    const timer = setTimeout(() => done(new TransportError('timeout', `no answer from ${url.href} in ${timeoutMs} ms`)), timeoutMs);
    session.on('error', (e) => done(new TransportError('network', e.message)));
    const stream = session.request({ ':method': 'POST', ':path': `${url.pathname}${url.search}`, 'content-type': 'application/dns-message', accept: 'application/dns-message' });
    const chunks: Buffer[] = [];
    let status = 0;
    stream.on('response', (headers) => (status = Number(headers[':status'])));
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.on('error', (e) => done(new TransportError('network', e.message)));
    stream.on('end', () => {
      const body = Buffer.concat(chunks);
      if (status !== 200) return done(new TransportError('mismatch', `${url.href} answered HTTP ${status}: ${body.toString('utf8').trim().slice(0, 200)}`));
      try {
        const bytes = new Uint8Array(body);
        done(undefined, { response: matches(query, bytes), bytes, transport: 'https' });
      } catch (error) {
        done(error as Error);
      }
    });
    stream.end(Buffer.from(wire));
  });
}
