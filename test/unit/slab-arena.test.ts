import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { MemoryBudget } from '../../src/resolver/memory-budget.js';
import { prepareEntry, unpackEntry } from '../../src/resolver/packed-entry.js';
import { PackedStore } from '../../src/resolver/packed-store.js';
import { RecordCache } from '../../src/resolver/record-cache.js';
import { Credibility } from '../../src/resolver/security-status.js';
import { COMPACT_BELOW, SLAB_SIZE, SlabArena } from '../../src/resolver/slab-arena.js';
import { Name } from '../../src/wire/name.js';

/** A deterministic pseudo-random sequence (no Math.random: a failure must replay). */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
}

const fill = (id: number, length: number) => {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = (id * 31 + i) & 255;
  return out;
};
/** Slices whose bytes are not what was written into them (a plain loop: toEqual on 10k buffers is slow). */
function wrong(arena: SlabArena, live: ReadonlyMap<number, { slot: number; length: number }>): number[] {
  const bad: number[] = [];
  for (const [id, s] of live) {
    const bytes = arena.view(s.slot);
    if (bytes.length !== s.length) bad.push(id);
    for (let i = 0; i < bytes.length; i++) {
      if (bytes[i] !== ((id * 31 + i) & 255)) {
        bad.push(id);
        break;
      }
    }
  }
  return bad;
}

describe('SlabArena', () => {
  it('every live entry reads back its own bytes through allocations, frees, slot reuse and compactions', () => {
    const arena = new SlabArena();
    const random = lcg(7);
    const live = new Map<number, { slot: number; length: number }>();
    const freeSlots: number[] = [];
    let nextSlot = 0;
    let liveBytes = 0;
    for (let id = 0; id < 40_000; id++) {
      const length = 1 + Math.floor(random() * (random() < 0.01 ? 30_000 : 400));
      const slot = freeSlots.pop() ?? nextSlot++;
      arena.allocate(slot, length);
      arena.view(slot).set(fill(id, length));
      live.set(id, { slot, length });
      liveBytes += length;
      // Free most of what came before, in no particular order: holes everywhere, slots reused.
      if (random() < 0.8) {
        const victim = Math.floor(random() * id);
        const s = live.get(victim);
        if (s) {
          arena.free(s.slot);
          freeSlots.push(s.slot);
          live.delete(victim);
          liveBytes -= s.length;
        }
      }
      if (id % 5000 === 0) expect(wrong(arena, live)).toEqual([]);
    }
    expect(wrong(arena, live)).toEqual([]);
    // Slabs held: within the compaction bound of the live bytes, plus the slab being filled and the spares.
    expect(arena.bytes).toBeLessThanOrEqual(liveBytes / COMPACT_BELOW + 6 * SLAB_SIZE);
    for (const s of live.values()) arena.free(s.slot);
    expect(arena.bytes).toBeLessThanOrEqual(5 * SLAB_SIZE);
  });

  it('a freed slot is refused, not read, and a slot in use is not placed twice', () => {
    const arena = new SlabArena();
    arena.allocate(3, 10);
    expect(() => arena.allocate(3, 10)).toThrow(/in use/);
    arena.free(3);
    expect(() => arena.view(3)).toThrow(/holds nothing/);
    arena.free(3); // twice: nothing happens
    expect(() => arena.view(99_999)).toThrow(/holds nothing/);
  });
});

describe('PackedStore', () => {
  const entry = (i: number) =>
    prepareEntry({ kind: 0, security: 'secure', code: 0, type: 1, class: 1, storedAt: 0, expiresAt: 1, name: Name.parse(`n${i}.example.`) }, [[{ name: Name.parse(`n${i}.example.`), type: 1, class: 1, ttl: 60, rdata: Uint8Array.of(10, 0, i >> 8, i & 255) }]]);

  it('evicts least recently used first and frees the slab space of what it evicts', () => {
    const budget = MemoryBudget.whole('records', 1024 * 1024);
    const store = new PackedStore(budget, 'records');
    for (let i = 0; i < 20_000; i++) {
      store.set(`k${i}`, entry(i));
      if (i % 100 === 0) expect(store.get('k0')).toBeDefined();
    }
    expect(store.bytes).toBeLessThanOrEqual(1024 * 1024);
    expect(store.get('k1')).toBeUndefined();
    expect(unpackEntry(store.get('k0')!.bytes)!.name.toString()).toBe('n0.example.');
    expect(unpackEntry(store.get('k19999')!.bytes)!.name.toString()).toBe('n19999.example.');
    expect(store.slabBytes).toBeLessThanOrEqual(1024 * 1024);
    store.delete('k0');
    expect(store.get('k0')).toBeUndefined();
    store.clear();
    expect(store.size).toBe(0);
    expect(store.bytes).toBe(0);
    expect(store.slabBytes).toBe(0);
    store.set('again', entry(5));
    expect(unpackEntry(store.get('again')!.bytes)!.name.toString()).toBe('n5.example.');
  });

  it('an entry above its share is not stored, and the older one under its key goes', () => {
    const store = new PackedStore(MemoryBudget.whole('records', 64 * 1024), 'records');
    store.set('k', entry(1));
    const big = { length: 20_000, write: (out: Uint8Array) => out.fill(1) };
    store.set('k', big);
    expect(store.get('k')).toBeUndefined();
    expect(store.size).toBe(0);
  });
});

describe('RecordCache flush over packed entries', () => {
  it('flushes a subtree and keeps the rest, through compactions in the middle of the flush', () => {
    const cache = new RecordCache(new ManualClock(), { maxBytes: 64 * 1024 * 1024, minTtl: 0, maxTtl: 86_400, maxNegativeTtl: 3600 });
    for (let i = 0; i < 3000; i++) {
      for (const zone of ['gone.example.', 'kept.example.']) {
        const name = Name.parse(`h${i}.${zone}`);
        cache.storeRrset([{ name, type: 1, class: 1, ttl: 300, rdata: Uint8Array.of(192, 0, 2, i & 255) }], [], Credibility.answer);
      }
    }
    expect(cache.flush(Name.parse('gone.example.'))).toBe(3000);
    expect(cache.stats().entries).toBe(3000);
    expect(cache.stats().damaged).toBe(0);
    for (let i = 0; i < 3000; i += 97) expect(cache.rrset(Name.parse(`h${i}.kept.example.`), 1)?.records[0]!.rdata[3]).toBe(i & 255);
  });
});
