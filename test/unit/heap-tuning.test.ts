import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { HEAP_FLAGS } from '../../src/workers/heap-tuning.js';

/** Runs allocation-heavy work in a fresh node with `flags` set at start as serve does, and returns the young generation's size in MiB. */
function youngGenerationMiB(flags: readonly string[]): number {
  const script = `
    const v8 = require('node:v8');
    for (const f of ${JSON.stringify(flags)}) v8.setFlagsFromString(f);
    const keep = [];
    for (let round = 0; round < 150; round++) {
      const tmp = [];
      for (let i = 0; i < 20000; i++) tmp.push({ a: i, b: 'x' + i, c: [i, i + 1] });
      if (round % 3 === 0) keep.push(tmp.slice(0, 1000));
    }
    const ns = v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space');
    process.stdout.write(String(ns.space_size / 1048576));`;
  return Number(execFileSync(process.execPath, ['-e', script], { encoding: 'utf8' }));
}

describe('heap tuning at start (serve)', () => {
  it('keeps the young generation at its initial size under allocation-heavy work, where V8 grows it to 16+ MiB otherwise', () => {
    expect(youngGenerationMiB([])).toBeGreaterThanOrEqual(16);
    expect(youngGenerationMiB(HEAP_FLAGS)).toBeLessThanOrEqual(2);
  });
});
