import { setFlagsFromString } from 'node:v8';

/**
 * V8's defaults trade memory for speed: the old generation may grow to about twice what is live
 * before a full collection, and the young generation to 3 × 16 MiB under a high allocation rate (a
 * query flood is one). That slack, not the data, is most of the resident size above
 * `resolver.cache.maxSize`: measured under a random-subdomain flood with maxSize 16m, RSS peaked
 * at 234 MiB with 33 MiB live; with these settings at 117 MiB (docs/resource-limits.md). Set at
 * start, before the heap has grown; both are read by V8 whenever it sizes the heap.
 */
export const HEAP_FLAGS = ['--heap-growing-percent=20', '--max-semi-space-size=2'] as const;

export function tuneHeapForBoundedMemory(): void {
  for (const flag of HEAP_FLAGS) setFlagsFromString(flag);
}
