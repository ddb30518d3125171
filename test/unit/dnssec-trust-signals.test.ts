import { describe, expect, it } from 'vitest';
import { anchorKeyTags, keyTagQueryName, sentinelLabel, sentinelRefuses } from '../../src/dnssec/trust-signals.js';
import { Name } from '../../src/wire/name.js';
import { rdataFromText, tokenizeRdata } from '../../src/wire/rdata-text.js';
import { RRType } from '../../src/wire/rr-type.js';

const ds = (text: string) => rdataFromText(RRType.DS, tokenizeRdata(text), Name.root);
// The root KSKs as DS (Debian's root.ds): KSK-2017 20326 and KSK-2024 38696.
const ROOT_DS_20326 = ds('20326 8 2 E06D44B80B8F1D39A95C0B0D7C65D08458E880409BBC683457104237C7F8EC8D');
const ROOT_DS_38696 = ds('38696 8 2 683D2D0ACB8C9B712A1948B27F741219298D0A450D612C483AF444A4C0FB2B16');

describe('RFC 8145 key tag signalling', () => {
  it('names the trusted tags as four lowercase hex digits, ascending, under the trust point', () => {
    expect(keyTagQueryName(Name.root, [38696, 20326])!.toString()).toBe('_ta-4f66-9728.');
    expect(keyTagQueryName(Name.parse('example.'), [0x1, 0xabcd, 0x1])!.toString()).toBe('_ta-0001-abcd.example.');
    expect(keyTagQueryName(Name.root, [])).toBeUndefined();
  });

  it('takes the tags of DS and DNSKEY anchors', () => {
    expect([...anchorKeyTags({ zone: Name.root, ds: [ROOT_DS_20326, ROOT_DS_38696], dnskey: [] })].sort()).toEqual([20326, 38696]);
    expect(anchorKeyTags(undefined).size).toBe(0);
  });
});

describe('RFC 8509 root key sentinel', () => {
  it('recognises only the leftmost label, five digits, either case', () => {
    expect(sentinelLabel(Name.parse('root-key-sentinel-is-ta-20326.example.'))).toEqual({ kind: 'is-ta', keyTag: 20326 });
    expect(sentinelLabel(Name.parse('ROOT-KEY-SENTINEL-NOT-TA-38696.example.'))).toEqual({ kind: 'not-ta', keyTag: 38696 });
    expect(sentinelLabel(Name.parse('root-key-sentinel-is-ta-2032.example.'))).toBeUndefined();
    expect(sentinelLabel(Name.parse('root-key-sentinel-is-ta-203260.example.'))).toBeUndefined();
    expect(sentinelLabel(Name.parse('www.root-key-sentinel-is-ta-20326.example.'))).toBeUndefined();
    expect(sentinelLabel(Name.parse('root-key-sentinel-is-ta-99999.example.'))).toBeUndefined();
  });

  it('refuses is-ta for a key that is not an anchor and not-ta for one that is', () => {
    const tags = new Set([20326, 38696]);
    expect(sentinelRefuses({ kind: 'is-ta', keyTag: 38696 }, tags)).toBe(false);
    expect(sentinelRefuses({ kind: 'is-ta', keyTag: 12345 }, tags)).toBe(true);
    expect(sentinelRefuses({ kind: 'not-ta', keyTag: 20326 }, tags)).toBe(true);
    expect(sentinelRefuses({ kind: 'not-ta', keyTag: 12345 }, tags)).toBe(false);
  });
});
