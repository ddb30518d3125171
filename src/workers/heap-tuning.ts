import { setFlagsFromString } from 'node:v8';

/**
 * V8's defaults trade memory for speed: the old generation may grow to several times what is live
 * before a full collection. That slack, not the data, was most of the resident size above
 * `resolver.cache.maxSize`: under a random-subdomain flood with maxSize 16m, RSS peaked at 234 MiB
 * with 33 MiB live; with a 20 % growing factor at 142 MiB (docs/resource-limits.md). The factor
 * is read whenever V8 sizes the old generation, so setting it at start works; the young
 * generation's size (`--max-semi-space-size`) is fixed when the heap is created and only takes
 * effect on node's command line or in NODE_OPTIONS. Cached throughput measured the same with and
 * without (~35k q/s on the loopback flood of the tests, 2 cores).
 */
export const HEAP_FLAGS = ['--heap-growing-percent=20'] as const;

export function tuneHeapForBoundedMemory(): void {
  for (const flag of HEAP_FLAGS) setFlagsFromString(flag);
}
