import { describe, expect, it } from 'vitest';
import { mergeByKey } from '../../src/trust/trust-store-merge.js';

describe('three-way merge of the trust-anchors document by entry', () => {
  it('takes theirs where we changed nothing, keeps ours where we did, removals included', () => {
    const [a1, a2, b1, c1, d1, e2] = [{ v: 'a1' }, { v: 'a2' }, { v: 'b1' }, { v: 'c1' }, { v: 'd1' }, { v: 'e2' }];
    const base = new Map([['a', a1], ['b', b1], ['c', c1], ['d', d1]]);
    const ours = new Map([['a', a2], ['b', b1], ['c', c1]]); // a changed, d removed by us
    const theirs = new Map([['a', a1], ['b', { v: 'b2' }], ['d', d1], ['e', e2]]); // b changed, c removed, e added by them
    expect(Object.fromEntries([...mergeByKey(base, ours, theirs)].map(([k, x]) => [k, x.v]))).toEqual({ a: 'a2', b: 'b2', e: 'e2' });
  });
});
