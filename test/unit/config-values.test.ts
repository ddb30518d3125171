import { describe, expect, it } from 'vitest';
import { cidrContains, parseCidr } from '../../src/config/cidr.js';
import { formatConfigPath } from '../../src/config/config-path.js';
import { formatDuration, parseDuration } from '../../src/config/duration.js';
import { formatSocketAddress, isLoopbackAddress, parseSocketAddress } from '../../src/config/socket-address.js';

describe('parseDuration', () => {
  it.each([
    ['30d', 2_592_000],
    ['12h', 43_200],
    ['90m', 5_400],
    ['45s', 45],
    ['2w', 1_209_600],
    ['1d12h', 129_600],
    ['1H30M', 5_400],
    ['3600', 3_600],
    [3600, 3_600],
    [0, 0],
  ] as const)('%s is %i seconds', (text, seconds) => {
    expect(parseDuration(text)).toBe(seconds);
  });

  it.each(['30x', '', 'd', '1.5h', '-5', '30 d', '1d-2h'])('rejects %j', (text) => {
    expect(() => parseDuration(text)).toThrow(/is not a duration/);
  });

  it('rejects negative and fractional numbers', () => {
    expect(() => parseDuration(-1)).toThrow();
    expect(() => parseDuration(1.5)).toThrow();
  });

  it('formats seconds in exact units', () => {
    expect(formatDuration(2_592_000)).toBe('30d');
    expect(formatDuration(5_400)).toBe('1h30m');
    expect(formatDuration(90_061)).toBe('1d1h1m1s');
    expect(formatDuration(0)).toBe('0s');
  });
});

describe('parseCidr', () => {
  it('parses IPv4 and IPv6 prefixes to canonical text and network bytes', () => {
    expect(parseCidr('10.0.0.0/8')).toEqual({ family: 4, address: Uint8Array.from([10, 0, 0, 0]), prefixLength: 8, text: '10.0.0.0/8' });
    expect(parseCidr('FC00:0::/7').text).toBe('fc00::/7');
    expect(parseCidr('0.0.0.0/0').prefixLength).toBe(0);
    expect(parseCidr('::/0').text).toBe('::/0');
  });

  it('takes a bare address as a host prefix', () => {
    expect(parseCidr('192.0.2.1').text).toBe('192.0.2.1/32');
    expect(parseCidr('::1').text).toBe('::1/128');
  });

  it.each([
    ['10.0.0.0/33', /is not a CIDR prefix \(IPv4 prefix length must be 0 to 32\)/],
    ['::/129', /IPv6 prefix length must be 0 to 128/],
    ['10.0.0.0/', /is not a CIDR prefix/],
    ['10.0.0.0/08', /is not a CIDR prefix/],
    ['10.0.0/8', /bad address "10.0.0"/],
    ['256.0.0.0/8', /bad address/],
    ['example.com/8', /bad address/],
    ['10.0.0.1/8', /has host bits set \(did you mean "10.0.0.0\/8"\?\)/],
    ['fe80::1/64', /did you mean "fe80::\/64"/],
  ])('rejects %s', (text, message) => {
    expect(() => parseCidr(text)).toThrow(message);
  });

  it('tests membership', () => {
    const private12 = parseCidr('172.16.0.0/12');
    expect(cidrContains(private12, '172.31.255.255')).toBe(true);
    expect(cidrContains(private12, '172.32.0.0')).toBe(false);
    expect(cidrContains(private12, '::1')).toBe(false);
    expect(cidrContains(parseCidr('fc00::/7'), 'fd12:3456::1')).toBe(true);
    expect(cidrContains(parseCidr('fc00::/7'), 'fe80::1')).toBe(false);
    expect(cidrContains(parseCidr('0.0.0.0/0'), '203.0.113.9')).toBe(true);
    expect(cidrContains(parseCidr('10.0.0.0/8'), 'not an address')).toBe(false);
  });
});

describe('parseSocketAddress', () => {
  it('parses ADDR:PORT and [V6]:PORT', () => {
    expect(parseSocketAddress('127.0.0.1:5300')).toEqual({ host: '127.0.0.1', port: 5300, family: 4 });
    expect(parseSocketAddress('[::1]:53')).toEqual({ host: '::1', port: 53, family: 6 });
    expect(parseSocketAddress('[2001:DB8::1]:0')).toEqual({ host: '2001:db8::1', port: 0, family: 6 });
  });

  it('uses the default port only when one is given', () => {
    expect(parseSocketAddress('192.0.2.1', 53).port).toBe(53);
    expect(parseSocketAddress('2001:db8::1', 53)).toEqual({ host: '2001:db8::1', port: 53, family: 6 });
    expect(parseSocketAddress('[2001:db8::1]', 53).port).toBe(53);
    expect(() => parseSocketAddress('192.0.2.1')).toThrow(/has no port/);
    expect(() => parseSocketAddress('[::1]')).toThrow(/has no port/);
  });

  it.each([
    ['127.0.0.1:65536', /bad port "65536"/],
    ['127.0.0.1:', /bad port ""/],
    ['127.0.0.1:http', /bad port "http"/],
    ['localhost:53', /is not an IP address/],
    ['[127.0.0.1]:53', /is not an IPv6 address in brackets/],
    ['[::1]53', /is not an IPv6 address in brackets/],
    ['::1:53', /has no port \(expected ADDR:PORT or \[IPv6\]:PORT\)/],
    ['2001:db8::1:53:', /IPv6 address with a port but no brackets/],
  ])('rejects %s', (text, message) => {
    expect(() => parseSocketAddress(text)).toThrow(message);
  });

  it('formats back', () => {
    expect(formatSocketAddress(parseSocketAddress('[::1]:53'))).toBe('[::1]:53');
    expect(formatSocketAddress(parseSocketAddress('127.10.0.5:80'))).toBe('127.10.0.5:80');
  });

  it('knows loopback addresses', () => {
    for (const host of ['127.0.0.1', '127.10.0.5', '::1', '0:0:0:0:0:0:0:1', '::ffff:127.0.0.1']) expect(isLoopbackAddress(host)).toBe(true);
    for (const host of ['0.0.0.0', '128.0.0.1', '::', '::2', '::ffff:10.0.0.1', 'fe80::1', 'localhost']) expect(isLoopbackAddress(host)).toBe(false);
  });
});

describe('formatConfigPath', () => {
  it('writes keys and indexes as in the file', () => {
    expect(formatConfigPath(['recursion', 'allow', 2])).toBe('recursion.allow[2]');
    expect(formatConfigPath(['zones', 0, 'signing', 'nsec3'])).toBe('zones[0].signing.nsec3');
    expect(formatConfigPath(['odd key'])).toBe('["odd key"]');
    expect(formatConfigPath([])).toBe('');
  });
});
