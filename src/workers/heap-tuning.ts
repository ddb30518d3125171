import { setFlagsFromString } from 'node:v8';

/**
 * V8's defaults trade memory for speed: the old generation may grow to several times what is live
 * before a full collection. That slack, not the data, was most of the resident size above
 * `resolver.cache.maxSize`: under a random-subdomain flood with maxSize 16m, RSS peaked at 234 MiB
 * with 33 MiB live; with a 20 % growing factor at 142 MiB (docs/resource-limits.md). The factor
 * is read whenever V8 sizes the old generation, so setting it at start works; the young
 * generation's maximum (`--max-semi-space-size`) is fixed when the heap is created and only takes
 * effect on node's command line or in NODE_OPTIONS, but its growth factor is read when it grows
 * (YOUNG_GENERATION_FLAGS). Cached throughput measured the same with and without (~35k q/s on the
 * loopback flood of the tests, 2 cores; with the young generation kept at 1 MiB, bench:cache's
 * cached phase no slower within the noise of a shared machine).
 */
/**
 * The young generation's *growth* is read when V8 grows it, so it can be set at start: with a
 * factor of 1 it stays at its initial 1 MiB semi-spaces instead of doubling to 16 MiB under load
 * (32 MiB resident, ~330 bytes a name at 100,000 cached names: more than Unbound's whole cost of a
 * name; docs/cache-memory.md). `--max-semi-space-size` on node's command line still decides the
 * most it may grow to when this is off.
 */
const YOUNG_GENERATION_FLAGS = ['--semi-space-growth-factor=1'] as const;

export const HEAP_FLAGS = ['--heap-growing-percent=20', ...YOUNG_GENERATION_FLAGS] as const;

export function tuneHeapForBoundedMemory(): void {
  for (const flag of HEAP_FLAGS) setFlagsFromString(flag);
}
