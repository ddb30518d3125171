import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { LeaseValidity } from '../../src/cluster/lease-validity.js';

describe('lease validity (when a Key Master stops trusting its lease)', () => {
  it('counts from when the keep-alive was sent, less the margin; in doubt until confirmed again', () => {
    const clock = new ManualClock();
    const v = new LeaseValidity(1000);
    expect(v.inDoubt(clock.now())).toBe(true); // nothing confirmed yet
    const sent = clock.now();
    clock.advance(400); // the answer took 400 ms: it proves nothing about those 400 ms
    v.confirmed(sent, 3);
    expect(v.remaining(clock.now())).toBe(3000 - 1000 - 400);
    clock.advance(1599);
    expect(v.inDoubt(clock.now())).toBe(false);
    clock.advance(1);
    expect(v.inDoubt(clock.now())).toBe(true);
    expect(v.remaining(clock.now())).toBe(0);
  });

  it('a late answer to an old keep-alive (a holder frozen, then resumed) does not bring trust back', () => {
    const clock = new ManualClock();
    const v = new LeaseValidity(1000);
    v.confirmed(clock.now(), 3);
    const sentBeforeFreeze = clock.now() + 500;
    clock.advance(60_000);
    v.confirmed(sentBeforeFreeze, 3);
    expect(v.inDoubt(clock.now())).toBe(true);
  });

  it('a TTL of 0 or less (etcd: lease expired) is a loss; an older confirmation never shortens a newer one', () => {
    const clock = new ManualClock();
    const v = new LeaseValidity(500);
    v.confirmed(clock.now(), 10);
    v.confirmed(clock.now() - 5000, 10);
    expect(v.remaining(clock.now())).toBe(9500);
    v.confirmed(clock.now(), 0);
    expect(v.inDoubt(clock.now())).toBe(true);
  });
});
