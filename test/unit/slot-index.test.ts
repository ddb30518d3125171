import { describe, expect, it } from 'vitest';
import { MemoryBudget } from '../../src/resolver/memory-budget.js';
import { PackedStore } from '../../src/resolver/packed-store.js';
import { SlotIndex } from '../../src/resolver/slot-index.js';

/** A deterministic pseudo-random sequence (xorshift32). */
function rng(seed: number) {
  let x = seed;
  return (n: number) => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) % n;
  };
}

describe('SlotIndex (key → slot without a string per entry)', () => {
  it('agrees with a Map through 60,000 random inserts, finds and removals, growing past its first table', () => {
    const keyOf: (string | undefined)[] = [];
    const index = new SlotIndex((slot, key) => keyOf[slot] === key);
    const oracle = new Map<string, number>();
    const free: number[] = [];
    let next = 0;
    const rand = rng(12345);
    for (let op = 0; op < 60_000; op++) {
      const key = `n${rand(3000)}.example.\u0000${rand(3)}`;
      const slot = index.find(key);
      expect(slot).toBe(oracle.get(key) ?? -1);
      if (slot >= 0 && rand(2) === 0) {
        index.remove(slot);
        oracle.delete(key);
        keyOf[slot] = undefined;
        free.push(slot);
      } else if (slot < 0) {
        const s = free.pop() ?? next++;
        keyOf[s] = key;
        index.insert(s, index.hash(key));
        oracle.set(key, s);
      }
    }
    expect(index.size).toBe(oracle.size);
    for (const [key, slot] of oracle) expect(index.find(key)).toBe(slot);
  });

  it('is seeded per index: the same keys land in different places in two indexes', () => {
    const a = new SlotIndex(() => false);
    const b = new SlotIndex(() => false);
    const keys = Array.from({ length: 64 }, (_, i) => `k${i}`);
    expect(keys.map((k) => a.hash(k))).not.toEqual(keys.map((k) => b.hash(k)));
  });
});

describe('PackedStore keys kept in the slab', () => {
  it('stores, finds, lists and deletes entries under latin1 and wider keys', () => {
    const store = new PackedStore(MemoryBudget.whole('records', 1 << 20), 'records');
    const bytes = (n: number) => ({ length: 3, write: (out: Uint8Array) => out.set([n, n, n]) });
    store.set('a\u0000\u00ff', bytes(1));
    store.set('wide \u20ac', bytes(2));
    store.set('a', bytes(3));
    expect([...store.peek('a\u0000\u00ff')!]).toEqual([1, 1, 1]);
    expect([...store.get('wide \u20ac')!.bytes]).toEqual([2, 2, 2]);
    expect(store.peek('wide \u20ad')).toBeUndefined();
    expect(store.keys().sort()).toEqual(['a', 'a\u0000\u00ff', 'wide \u20ac']);
    store.set('a', bytes(4));
    expect([...store.peek('a')!]).toEqual([4, 4, 4]);
    store.delete('wide \u20ac');
    expect(store.keys().sort()).toEqual(['a', 'a\u0000\u00ff']);
    expect(store.size).toBe(2);
    store.clear();
    expect(store.size).toBe(0);
    expect(store.keys()).toEqual([]);
  });
});
