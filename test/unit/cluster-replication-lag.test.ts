import { describe, expect, it } from 'vitest';
import { serverStatus } from '../../src/cluster/cluster-status.js';

const documents = [
  { key: 'policy', version: 2 },
  { key: 'trust-anchors', version: 5 },
];
const record = { name: 'ns2', lease: '1', since: '2026-12-07T21:00:00.000Z' };

describe('replication lag of a primary (cluster status)', () => {
  it('is the writes of the shared documents it has not applied, summed', () => {
    const s = serverStatus({ ...record, applied: { policy: 1, 'trust-anchors': 3 }, reportedAt: '2026-12-07T21:00:05.000Z' }, documents);
    expect(s).toEqual({ name: 'ns2', since: record.since, applied: { policy: 1, 'trust-anchors': 3 }, lag: 3, zones: [], reportedAt: '2026-12-07T21:00:05.000Z' });
  });

  it('is 0 when up to date, and never negative for a report newer than the read of the documents', () => {
    expect(serverStatus({ ...record, applied: { policy: 2, 'trust-anchors': 5 } }, documents).lag).toBe(0);
    expect(serverStatus({ ...record, applied: { policy: 3, 'trust-anchors': 6 } }, documents).lag).toBe(0);
  });

  it('counts a document never applied (or a server of an earlier release that reports nothing) as wholly behind', () => {
    expect(serverStatus({ ...record, applied: { policy: 2 } }, documents).lag).toBe(5);
    expect(serverStatus(record, documents)).toMatchObject({ applied: {}, lag: 7 });
  });

  it('adds, per zone, the journal changes committed in etcd that it has not applied', () => {
    const heads = { 'b.example.': 7, 'a.example.': 3 };
    const s = serverStatus({ ...record, applied: { policy: 2, 'trust-anchors': 5 }, zones: { 'a.example.': 3, 'b.example.': 4 } }, documents, heads);
    expect(s.zones).toEqual([
      { name: 'a.example.', applied: 3, head: 3, lag: 0 },
      { name: 'b.example.', applied: 4, head: 7, lag: 3 },
    ]);
    expect(s.lag).toBe(3);
    expect(serverStatus({ ...record, applied: { policy: 1, 'trust-anchors': 5 }, zones: { 'a.example.': 3, 'b.example.': 7 } }, documents, heads).lag).toBe(1);
  });

  it('shows a zone it does not serve as applied null, wholly behind, and never trusts a malformed report', () => {
    const heads = { 'a.example.': 4 };
    expect(serverStatus({ ...record, applied: { policy: 2, 'trust-anchors': 5 }, zones: {} }, documents, heads).zones).toEqual([{ name: 'a.example.', applied: null, head: 4, lag: 4 }]);
    const hostile = { ...record, applied: { policy: 2, 'trust-anchors': 5 }, zones: { 'a.example.': 'x', constructor: 1 } as unknown as Record<string, number> };
    expect(serverStatus(hostile, documents, heads).zones).toEqual([{ name: 'a.example.', applied: null, head: 4, lag: 4 }]);
    expect(serverStatus({ ...record, zones: [5] as unknown as Record<string, number> }, documents, heads).zones[0]).toMatchObject({ applied: null, lag: 4 });
    expect(serverStatus({ ...record, applied: { policy: 2, 'trust-anchors': 5 }, zones: { 'a.example.': 9 } }, documents, heads).zones[0]).toMatchObject({ applied: 9, lag: 0 });
  });
});
