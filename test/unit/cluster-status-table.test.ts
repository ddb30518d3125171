import { describe, expect, it } from 'vitest';
import { formatClusterStatus } from '../../src/cli/cluster-command.js';
import type { ClusterStatus } from '../../src/control-contract/cluster.js';

/** `keymaster cluster status` for people: the Zones column says which zones a primary is behind on. */
const status = (servers: ClusterStatus['servers']): ClusterStatus => ({
  server: { name: 'ns1', lease: '1', leaseTtl: 15, leaseCertainMs: 9000, inDoubt: false },
  prefix: '/keymaster/',
  members: [{ name: 'm1', endpoint: 'http://127.0.0.1:2379', healthy: true, leader: true, raftIndex: 7 }],
  servers,
  zones: [],
  documents: [{ key: 'policy', version: 1 }],
  trustPoints: [],
});
const since = '2026-12-07T21:00:00.000Z';

describe('cluster status table: replication lag with the zones', () => {
  it('shows the zones at their head by count, those behind by name with applied/committed, and one not served', () => {
    const text = formatClusterStatus(
      status([
        { name: 'ns1', since, applied: { policy: 1 }, lag: 0, zones: [{ name: 'a.example.', applied: 4, head: 4, lag: 0 }, { name: 'b.example.', applied: 2, head: 2, lag: 0 }] },
        { name: 'ns2', since, applied: { policy: 1 }, lag: 3, zones: [{ name: 'a.example.', applied: 1, head: 4, lag: 3 }, { name: 'b.example.', applied: 2, head: 2, lag: 0 }] },
        { name: 'ns3', since, applied: { policy: 1 }, lag: 2, zones: [{ name: 'a.example.', applied: 4, head: 4, lag: 0 }, { name: 'b.example.', applied: null, head: 2, lag: 2 }] },
      ]),
    );
    expect(text).toMatch(/^Primary\s+Since\s+Lag\s+Applied\s+Zones\s+Reported$/m);
    expect(text).toMatch(/^ns1\s+\S+\s+0\s+policy 1\/1\s+2 at head\s*$/m);
    expect(text).toMatch(/^ns2\s+\S+\s+3 BEHIND\s+policy 1\/1\s+a\.example\. 1\/4\s*$/m);
    expect(text).toMatch(/^ns3\s+\S+\s+2 BEHIND\s+policy 1\/1\s+b\.example\. NOT SERVED\s*$/m);
  });

  it('leaves the column empty for a server that reports no zone (an earlier release)', () => {
    const text = formatClusterStatus(status([{ name: 'ns1', since, applied: { policy: 1 }, lag: 0 } as unknown as ClusterStatus['servers'][number]]));
    expect(text).toMatch(/^ns1\s+\S+\s+0\s+policy 1\/1\s*$/m);
  });
});
