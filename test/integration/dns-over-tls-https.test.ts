/**
 * DNS over TLS (RFC 7858) and DNS over HTTPS (RFC 8484) against kdig, the independent client:
 * the same answers as over UDP (a local zone, and the recursion ACL's REFUSED), GET and POST,
 * HTTP/2; `keymaster query --tls/--https` checking the certificate; the HTTP errors a hostile or
 * broken client gets; and the certificate replaced on disk being served without a restart.
 */
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { connect as connectHttp2 } from 'node:http2';
import { join } from 'node:path';
import { connect as connectTls } from 'node:tls';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { connect as netConnect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeMessage } from '../../src/wire/message-encoder.js';
import { newMessage } from '../../src/wire/message.js';
import { Name } from '../../src/wire/name.js';
import { RRType } from '../../src/wire/rr-type.js';
import { type KeymasterServer, haveTool, removeDir, runKeymasterCli, startKeymaster, tempDir } from '../support/external-servers.js';
import { sleep } from '../support/live-rollover.js';
import { makeCertificate, replaceFile } from '../support/tls-certificate.js';

const HOST = '127.10.191.1';
const ZONE = `$TTL 300\n@ SOA ns hostmaster 7 60 30 600 60\n@ NS ns\nns A ${HOST}\nwww A 192.0.2.1\nwww AAAA 2001:db8::1\n` +
  Array.from({ length: 30 }, (_, i) => `big TXT "${'x'.repeat(60)}-${i}"`).join('\n') + '\n';

function kdig(args: readonly string[]): Promise<string> {
  return new Promise((resolve) => execFile('kdig', [`@${HOST}`, '+timeout=5', '+retry=0', ...args], (error, stdout, stderr) => resolve(`${stdout}${error ? `\n(exit ${error.code}) ${stderr}` : ''}`)));
}

/** The parts of a kdig answer that must not depend on the transport: status, flags, EDE and the answer section. */
function essentials(out: string): string {
  const status = /opcode: \w+; status: (\w+)/.exec(out)?.[1] ?? `no status in: ${out}`;
  const flags = /Flags: ([^;]*);/.exec(out)?.[1]?.trim() ?? '';
  const ede = /EDE: ([^\n]*)/.exec(out)?.[1] ?? '';
  const answer = /;; ANSWER SECTION:\n([\s\S]*?)\n\n/.exec(`${out}\n\n`)?.[1] ?? '';
  return `${status} | ${flags} | ${ede}\n${answer.split('\n').sort().join('\n')}`;
}

function peerFingerprint(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connectTls({ host: HOST, port, rejectUnauthorized: false }, () => {
      resolve(s.getPeerCertificate().fingerprint256);
      s.destroy();
    });
    s.on('error', reject);
  });
}

function h2(path: string, method: string, body?: Buffer, contentType = 'application/dns-message'): Promise<{ status: number; headers: Record<string, unknown>; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const session = connectHttp2(`https://${HOST}:443`, { rejectUnauthorized: false });
    session.on('error', reject);
    const stream = session.request({ ':method': method, ':path': path, ...(body ? { 'content-type': contentType } : {}) });
    const chunks: Buffer[] = [];
    let headers: Record<string, unknown> = {};
    stream.on('response', (h) => (headers = h));
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => {
      session.close();
      resolve({ status: Number(headers[':status']), headers, body: Buffer.concat(chunks) });
    });
    stream.on('error', reject);
    stream.end(body);
  });
}

const queryWire = (name: string, flags = 0x0100) => {
  const wire = encodeMessage(newMessage({ id: 0, rd: true, question: [{ name: Name.parse(name), type: RRType.A, class: 1 }] }));
  wire[2] = flags >> 8;
  wire[3] = flags & 0xff;
  return Buffer.from(wire);
};

describe.skipIf(!haveTool('kdig') || !haveTool('openssl'))('DNS over TLS and HTTPS', () => {
  let dir: string;
  let server: KeymasterServer;
  let cert: { cert: string; key: string };

  beforeAll(async () => {
    dir = tempDir('dot-doh');
    cert = makeCertificate(dir, HOST, 'first');
    writeFileSync(join(dir, 'tls.test.zone'), ZONE);
    server = await startKeymaster({
      address: HOST,
      control: `${HOST}:5380`,
      rootHints: 'builtin',
      forwarders: ['127.10.191.254'],
      // Only 127.10.191.2 may recurse: kdig's queries come from 127.0.0.1.
      allow: ['127.10.191.2/32'],
      extraYaml:
        `listenTls: ["${HOST}:853"]\nlistenHttps: ["${HOST}:443"]\ntls: { cert: ${JSON.stringify(cert.cert)}, key: ${JSON.stringify(cert.key)} }\n` +
        `zones:\n  - { name: tls.test., file: ${JSON.stringify(join(dir, 'tls.test.zone'))} }\n`,
    });
  }, 60_000);

  afterAll(async () => {
    await server?.stop();
    if (dir) removeDir(dir);
  });

  it.each([
    ['www.tls.test.', 'A'],
    ['www.tls.test.', 'AAAA'],
    ['big.tls.test.', 'TXT'],
    ['nothing.tls.test.', 'A'],
    ['elsewhere.example.', 'A'], // not local, and this client may not recurse: REFUSED with EDE
  ])('kdig gets the same answer to %s %s over UDP, TLS, HTTPS POST and HTTPS GET', async (name, type) => {
    const udp = await kdig(['+bufsize=4096', name, type]);
    expect(udp).toContain('status:');
    const expected = essentials(udp);
    expect(essentials(await kdig(['+tls', name, type]))).toBe(expected);
    expect(essentials(await kdig(['+https', name, type]))).toBe(expected);
    expect(essentials(await kdig(['+https', '+https-get', name, type]))).toBe(expected);
  });

  it('kdig +tls-ca verifies the certificate, and a name it was not issued for is refused', async () => {
    expect(essentials(await kdig([`+tls-ca=${cert.cert}`, 'www.tls.test.', 'A']))).toContain('NOERROR');
    expect(await kdig([`+tls-ca=${cert.cert}`, '+tls-hostname=other.example', 'www.tls.test.', 'A'])).toMatch(/exit|failed/i);
  });

  it('keymaster query --tls and --https, checking the certificate with --ca', async () => {
    const tls = await runKeymasterCli(['query', 'www.tls.test.', 'A', '--tls', '--server', HOST, '--ca', cert.cert, '--json']);
    expect(tls.code, tls.stderr).toBe(0);
    expect(JSON.parse(tls.stdout)).toMatchObject({ transport: 'tls', status: 'NOERROR' });
    const https = await runKeymasterCli(['query', 'big.tls.test.', 'TXT', '--https', `https://${HOST}/dns-query`, '--ca', cert.cert]);
    expect(https.code, https.stderr).toBe(0);
    expect(https.stdout).toContain('(HTTPS)');
    expect(https.stdout.match(/\tTXT\t/g)?.length).toBe(30);
    const unchecked = await runKeymasterCli(['query', 'www.tls.test.', 'A', '--tls', '--server', HOST]);
    expect(unchecked.code).not.toBe(0);
    expect(unchecked.stderr).toMatch(/self[- ]signed|certificate/i);
  });

  it('answers broken and hostile HTTP requests with the right status and keeps serving', async () => {
    expect((await h2('/other', 'GET')).status).toBe(404);
    expect((await h2('/dns-query', 'GET')).status).toBe(400);
    expect((await h2('/dns-query?dns=not*base64', 'GET')).status).toBe(400);
    expect((await h2('/dns-query', 'PUT', queryWire('www.tls.test.'))).status).toBe(405);
    expect((await h2('/dns-query', 'POST', queryWire('www.tls.test.'), 'text/plain')).status).toBe(415);
    expect((await h2('/dns-query', 'POST', Buffer.alloc(70_000))).status).toBe(413);
    expect((await h2('/dns-query', 'POST', Buffer.alloc(5))).status).toBe(400);
    expect((await h2('/dns-query', 'POST', queryWire('www.tls.test.', 0x8100))).status).toBe(400); // a response
    const ok = await h2(`/dns-query?dns=${queryWire('www.tls.test.').toString('base64url')}`, 'GET');
    expect(ok.status).toBe(200);
    expect(ok.headers['content-type']).toBe('application/dns-message');
    expect(ok.headers['cache-control']).toBe('max-age=300');
    // HTTP/1.1, for clients without HTTP/2.
    const h1 = await new Promise<{ status: number; type: string | undefined; version: string }>((resolve, reject) => {
      const req = httpsRequest({ host: HOST, port: 443, method: 'POST', path: '/dns-query', rejectUnauthorized: false, headers: { 'content-type': 'application/dns-message' } }, (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode ?? 0, type: res.headers['content-type'], version: res.httpVersion }));
      });
      req.on('error', reject);
      req.end(queryWire('www.tls.test.'));
    });
    expect(h1).toEqual({ status: 200, type: 'application/dns-message', version: '1.1' });
    expect(server.alive()).toBe(true);
  });

  it('serves a replaced certificate without a restart, and keeps the old one when the new pair is bad', async () => {
    const first = await peerFingerprint(853);
    const second = makeCertificate(dir, HOST, 'second', 'next-');
    replaceFile(cert.key, readFileSync(second.key));
    replaceFile(cert.cert, readFileSync(second.cert));
    const deadline = Date.now() + 20_000;
    let now = first;
    while (now === first && Date.now() < deadline) {
      await sleep(250);
      now = await peerFingerprint(853);
    }
    expect(now).not.toBe(first);
    expect(await peerFingerprint(443)).toBe(now);
    expect(essentials(await kdig(['+tls', 'www.tls.test.', 'A']))).toContain('NOERROR');
    // A key that does not match the certificate: logged, the second pair stays in use.
    const third = makeCertificate(dir, HOST, 'third', 'bad-');
    replaceFile(cert.key, readFileSync(third.key));
    const until = Date.now() + 20_000;
    while (!server.log().includes('"tls.certificate-reload-failed"') && Date.now() < until) await sleep(250);
    expect(server.log()).toContain('"tls.certificate-reload-failed"');
    expect(await peerFingerprint(853)).toBe(now);
    expect(server.alive()).toBe(true);
  }, 60_000);
  it('caps connections per client prefix at accept, before any TLS work', async () => {
    const sockets: Socket[] = [];
    let closed = 0;
    for (let i = 0; i < 72; i++) {
      const s = netConnect({ host: HOST, port: 853 });
      s.on('error', () => {});
      s.on('close', () => closed++);
      sockets.push(s);
    }
    // 64 per client /24 (tcp.maxConnectionsPerPrefix) are kept; for each one past that the idlest is closed.
    const deadline = Date.now() + 10_000;
    while (closed < 8 && Date.now() < deadline) await sleep(50);
    expect(closed).toBeGreaterThanOrEqual(8);
    for (const s of sockets) s.destroy();
    const metrics = await new Promise<string>((resolve, reject) => {
      const req = httpRequest({ host: HOST, port: 5380, path: '/metrics' }, (res) => {
        let text = '';
        res.on('data', (d: Buffer) => (text += d.toString()));
        res.on('end', () => resolve(text));
      });
      req.on('error', reject);
      req.end();
    });
    expect(Number(/keymaster_dns_connections_evicted_total\{transport="tls\+https"\} (\d+)/.exec(metrics)?.[1])).toBeGreaterThanOrEqual(8);
    // The slots come back as the server sees those sockets close.
    let answer = '';
    for (const until = Date.now() + 10_000; !answer.includes('NOERROR') && Date.now() < until; await sleep(200)) answer = essentials(await kdig(['+tls', 'www.tls.test.', 'A']));
    expect(answer).toContain('NOERROR');
  });
});
