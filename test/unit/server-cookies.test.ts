import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { siphash24 } from '../../src/crypto/siphash.js';
import { ServerCookies, isWellFormedCookie } from '../../src/cookies/server-cookies.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const h = (s: string) => new Uint8Array(Buffer.from(s, 'hex'));

describe('SipHash-2-4', () => {
  const key = Uint8Array.from({ length: 16 }, (_, i) => i);
  it('matches the reference vectors of the SipHash paper (messages 00, 00 01 …)', () => {
    expect(hex(siphash24(key, new Uint8Array(0)))).toBe('310e0edd47db6f72');
    expect(hex(siphash24(key, Uint8Array.from({ length: 8 }, (_, i) => i)))).toBe('6224939a79f5f593');
    expect(hex(siphash24(key, Uint8Array.from({ length: 15 }, (_, i) => i)))).toBe('e545be4961ca29a1');
    expect(hex(siphash24(key, Uint8Array.from({ length: 63 }, (_, i) => i)))).toBe('724506eb4c328a95');
  });
  it('refuses a key that is not 16 bytes', () => {
    expect(() => siphash24(new Uint8Array(8), new Uint8Array(1))).toThrow(/16 bytes/);
  });
});

/** RFC 9018 Appendix A: each client cookie, address, secret and time gives exactly this server cookie. */
const VECTORS = [
  { name: 'A.1 learning a new server cookie', client: '2464c4abcf10c957', ip: '198.51.100.100', secret: 'e5e973e5a6b2a43f48e7dc849e37bfcf', time: 1559731985, server: '010000005cf79f111f8130c3eee29480' },
  { name: 'A.2 the same client, a renewed cookie', client: '2464c4abcf10c957', ip: '198.51.100.100', secret: 'e5e973e5a6b2a43f48e7dc849e37bfcf', time: 1559734385, server: '010000005cf7a871d4a564a1442aca77' },
  { name: 'A.3 another client', client: 'fc93fc62807ddb86', ip: '203.0.113.203', secret: 'e5e973e5a6b2a43f48e7dc849e37bfcf', time: 1559734700, server: '010000005cf7a9acf73a7810aca2381e' },
  { name: 'A.4 IPv6 with a rolled-over secret', client: '22681ab97d52c298', ip: '2001:db8:220:1:59de:d0f4:8769:82b8', secret: 'dd3bdf9344b678b185a6f5cb60fca715', time: 1559741817, server: '010000005cf7c57926556bd0934c72f8' },
];

describe('RFC 9018 server cookies', () => {
  for (const v of VECTORS) {
    it(v.name, () => {
      const clock = new ManualClock(v.time * 1000);
      const cookies = new ServerCookies({ current: () => h(v.secret), previous: () => undefined }, clock);
      expect(hex(cookies.make(h(v.client), v.ip))).toBe(v.server);
      expect(cookies.judge(h(v.client + v.server), v.ip)).toBe('valid');
    });
  }

  const secretA = h('e5e973e5a6b2a43f48e7dc849e37bfcf');
  const secretB = h('dd3bdf9344b678b185a6f5cb60fca715');
  const client = h('2464c4abcf10c957');

  it('an attacker cannot reuse a cookie from another address, another client cookie, or with one bit changed', () => {
    const clock = new ManualClock(1559731985_000);
    const cookies = new ServerCookies({ current: () => secretA, previous: () => undefined }, clock);
    const server = cookies.make(client, '198.51.100.100');
    expect(cookies.verify(client, server, '198.51.100.101')).toBe(false);
    expect(cookies.verify(h('2464c4abcf10c958'), server, '198.51.100.100')).toBe(false);
    for (let i = 0; i < server.length; i++) {
      const bent = server.slice();
      bent[i] ^= 1;
      expect(cookies.verify(client, bent, '198.51.100.100')).toBe(false);
    }
    expect(cookies.verify(client, server.subarray(0, 15), '198.51.100.100')).toBe(false);
  });

  it('a cookie expires after an hour and is refused from more than 5 minutes in the future', () => {
    const clock = new ManualClock(1_700_000_000_000);
    const cookies = new ServerCookies({ current: () => secretA, previous: () => undefined }, clock);
    const server = cookies.make(client, '192.0.2.1');
    clock.advance(3600_000);
    expect(cookies.verify(client, server, '192.0.2.1')).toBe(true);
    clock.advance(1000);
    expect(cookies.verify(client, server, '192.0.2.1')).toBe(false);
    clock.set(1_700_000_000_000 - 301_000);
    expect(cookies.verify(client, server, '192.0.2.1')).toBe(false);
  });

  it('the previous secret is accepted during the overlap, an older one is not', () => {
    const clock = new ManualClock(1_700_000_000_000);
    let current = secretA;
    let previous: Uint8Array | undefined;
    const cookies = new ServerCookies({ current: () => current, previous: () => previous }, clock);
    const made = cookies.make(client, '192.0.2.1');
    [previous, current] = [current, secretB];
    expect(cookies.verify(client, made, '192.0.2.1')).toBe(true);
    [previous, current] = [current, h('00112233445566778899aabbccddeeff')];
    expect(cookies.verify(client, made, '192.0.2.1')).toBe(false);
  });

  it('judges the option: none, client only, bad; and knows a malformed one', () => {
    const cookies = new ServerCookies({ current: () => secretA, previous: () => undefined }, new ManualClock(0));
    expect(cookies.judge(undefined, '192.0.2.1')).toBe('none');
    expect(cookies.judge(client, '192.0.2.1')).toBe('client-only');
    expect(cookies.judge(new Uint8Array(24), '192.0.2.1')).toBe('bad');
    for (const n of [0, 7, 9, 15, 41]) expect(isWellFormedCookie(new Uint8Array(n))).toBe(false);
    for (const n of [8, 16, 24, 40]) expect(isWellFormedCookie(new Uint8Array(n))).toBe(true);
  });
});

describe('the cookie a response carries', () => {
  const secret = new Uint8Array(16).fill(4);
  const client = new Uint8Array(8).fill(2);
  it('a valid cookie under half an hour old is echoed; an older one, a bad one or none gets a fresh one (RFC 9018 §4.3)', () => {
    const clock = new ManualClock(1_700_000_000_000);
    const cookies = new ServerCookies({ current: () => secret, previous: () => undefined }, clock);
    const server = cookies.make(client, '192.0.2.7');
    const option = Uint8Array.from([...client, ...server]);
    clock.advance(1799_000);
    expect(hex(cookies.forResponse(option, cookies.judge(option, '192.0.2.7'), '192.0.2.7'))).toBe(hex(server));
    clock.advance(1000);
    const renewed = cookies.forResponse(option, cookies.judge(option, '192.0.2.7'), '192.0.2.7');
    expect(hex(renewed)).not.toBe(hex(server));
    expect(cookies.verify(client, renewed, '192.0.2.7')).toBe(true);
    expect(hex(cookies.forResponse(option, 'bad', '192.0.2.7'))).toBe(hex(renewed));
    expect(hex(cookies.forResponse(client, 'client-only', '192.0.2.7'))).toBe(hex(renewed));
  });
});
