import { describe, expect, it } from 'vitest';
import { isLocalHostHeader } from '../../src/control/metrics-route.js';
import { renderMetrics, secondsUntil } from '../../src/metrics/metrics-exposition.js';
import { QueryMetrics } from '../../src/metrics/query-metrics.js';
import type { ClientInfo } from '../../src/server/query-handler.js';
import { parsePrometheusText } from '../support/prometheus-text.js';

const client = (transport: ClientInfo['transport']): ClientInfo => ({ address: '127.0.0.1', port: 1, transport, localAddress: '127.0.0.1' });
const answer = (rcode: number) => {
  const b = new Uint8Array(12);
  b[2] = 0x80;
  b[3] = rcode;
  return b;
};

describe('Prometheus exposition', () => {
  it('writes HELP, TYPE and samples that a strict reader parses back, escaping label values', () => {
    const text = renderMetrics([
      { name: 'a_total', help: 'line\none \\ two', type: 'counter', samples: [{ labels: { zone: 'we"ird\\\nzone.' }, value: 3 }] },
      { name: 'empty', help: 'left out', type: 'gauge', samples: [] },
      { name: 'rtt_seconds', help: 'x', type: 'summary', samples: [{ suffix: '_sum', value: 0.25 }, { suffix: '_count', value: 2 }] },
      { name: 'odd', help: 'x', type: 'gauge', samples: [{ value: Infinity }, { labels: { k: 'v' }, value: -1.5 }] },
    ]);
    expect(text).toContain('# HELP a_total line\\none \\\\ two\n');
    expect(text).not.toContain('empty');
    const parsed = parsePrometheusText(text);
    expect(parsed.value('a_total', { zone: 'we"ird\\\nzone.' })).toBe(3);
    expect(parsed.value('rtt_seconds_sum')).toBe(0.25);
    expect(parsed.value('rtt_seconds_count')).toBe(2);
    expect(parsed.find('odd').map((s) => s.value)).toEqual([Infinity, -1.5]);
  });

  it('refuses names a scraper would reject', () => {
    expect(() => renderMetrics([{ name: 'bad-name', help: '', type: 'gauge', samples: [{ value: 1 }] }])).toThrow(/bad metric name/);
    expect(() => renderMetrics([{ name: 'ok', help: '', type: 'gauge', samples: [{ labels: { 'b-l': 'x' }, value: 1 }] }])).toThrow(/bad label name/);
    expect(() => renderMetrics([{ name: 'ok', help: '', type: 'gauge', samples: [{ labels: { __reserved: 'x' }, value: 1 }] }])).toThrow(/bad label name/);
  });

  it('seconds until a time, negative once it has passed', () => {
    expect(secondsUntil('2026-01-01T00:01:00Z', Date.UTC(2026, 0, 1))).toBe(60);
    expect(secondsUntil(Date.UTC(2026, 0, 1), Date.UTC(2026, 0, 1, 0, 0, 30))).toBe(-30);
  });
});

describe('query metrics', () => {
  it('counts responses by transport, RCODE and response-cache hit (a synchronous answer), and drops', async () => {
    const m = new QueryMetrics();
    const handler = m.wrap((q) => (q[0] === 1 ? answer(0) : q[0] === 2 ? Promise.resolve(answer(3)) : q[0] === 3 ? Promise.resolve(undefined) : Promise.resolve([answer(0), answer(0)])));
    handler(Uint8Array.of(1), client('udp'));
    handler(Uint8Array.of(1), client('udp'));
    await handler(Uint8Array.of(2), client('tls'));
    await handler(Uint8Array.of(3), client('https'));
    await handler(Uint8Array.of(4), client('tcp'));
    const parsed = parsePrometheusText(renderMetrics(m.families()));
    expect(parsed.value('keymaster_dns_responses_total', { transport: 'udp', rcode: 'NOERROR', cache: 'hit' })).toBe(2);
    expect(parsed.value('keymaster_dns_responses_total', { transport: 'tls', rcode: 'NXDOMAIN', cache: 'miss' })).toBe(1);
    expect(parsed.value('keymaster_dns_responses_total', { transport: 'tcp', rcode: 'NOERROR', cache: 'miss' })).toBe(1);
    expect(parsed.value('keymaster_dns_unanswered_total')).toBe(1);
  });
});

describe('the Host check of /metrics (DNS rebinding)', () => {
  it('accepts addresses and localhost, refuses names', () => {
    for (const ok of ['127.0.0.1:5380', '127.0.0.1', '[::1]:5380', 'localhost:5380', 'LOCALHOST']) expect(isLocalHostHeader(ok), ok).toBe(true);
    for (const bad of [undefined, 'evil.example:5380', 'evil.example', '127.0.0.1.nip.io:5380', '']) expect(isLocalHostHeader(bad), String(bad)).toBe(false);
  });
});
