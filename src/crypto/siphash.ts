/**
 * SipHash-2-4 (Aumasson and Bernstein, 2012) with a 128-bit key and a 64-bit output, as RFC 9018
 * uses it for interoperable DNS server cookies. OpenSSL has SipHash only as a MAC behind
 * EVP_MAC, which node:crypto does not expose; this is the reference algorithm on 32-bit halves
 * (no BigInt: it runs once or twice per query that carries a cookie), checked against the
 * paper's vectors and RFC 9018 Appendix A.
 */

const le32 = (b: Uint8Array, i: number): number => (b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16) | (b[i + 3]! << 24)) >>> 0;

/** SipHash-2-4 of `message` under a 16-byte `key`: the 8 output bytes, little-endian as the reference code writes them. */
export function siphash24(key: Uint8Array, message: Uint8Array): Uint8Array {
  if (key.length !== 16) throw new RangeError(`SipHash key must be 16 bytes, got ${key.length}`);
  const k0h = le32(key, 4), k0l = le32(key, 0), k1h = le32(key, 12), k1l = le32(key, 8);
  // The four 64-bit lanes as high/low 32-bit halves, in locals (the hot loop stays in registers).
  let v0h = (k0h ^ 0x736f6d65) >>> 0, v0l = (k0l ^ 0x70736575) >>> 0;
  let v1h = (k1h ^ 0x646f7261) >>> 0, v1l = (k1l ^ 0x6e646f6d) >>> 0;
  let v2h = (k0h ^ 0x6c796765) >>> 0, v2l = (k0l ^ 0x6e657261) >>> 0;
  let v3h = (k1h ^ 0x74656462) >>> 0, v3l = (k1l ^ 0x79746573) >>> 0;
  const n = message.length;
  const whole = n - (n % 8);
  // Blocks, the last one being the remaining bytes with the length's low byte on top; then
  // one more pass with no block, which is the finalization (v2 ^= 0xff, 4 rounds).
  for (let i = 0; i <= whole + 8; i += 8) {
    let mh = 0, ml = 0, rounds = 2;
    if (i < whole) {
      mh = le32(message, i + 4);
      ml = le32(message, i);
    } else if (i === whole) {
      mh = (n & 0xff) << 24;
      for (let j = whole; j < n; j++) {
        const shift = (j - whole) * 8;
        if (shift < 32) ml |= message[j]! << shift;
        else mh |= message[j]! << (shift - 32);
      }
      mh >>>= 0;
      ml >>>= 0;
    } else {
      v2l = (v2l ^ 0xff) >>> 0;
      rounds = 4;
    }
    if (rounds === 2) {
      v3h = (v3h ^ mh) >>> 0;
      v3l = (v3l ^ ml) >>> 0;
    }
    for (let r = 0; r < rounds; r++) {
      let lo: number, h: number;
      // v0 += v1; v1 = rotl(v1, 13) ^ v0; v0 = rotl(v0, 32)
      lo = v0l + v1l; v0h = (v0h + v1h + (lo > 0xffffffff ? 1 : 0)) >>> 0; v0l = lo >>> 0;
      h = v1h; v1h = ((h << 13) | (v1l >>> 19)) >>> 0; v1l = ((v1l << 13) | (h >>> 19)) >>> 0;
      v1h = (v1h ^ v0h) >>> 0; v1l = (v1l ^ v0l) >>> 0;
      h = v0h; v0h = v0l; v0l = h;
      // v2 += v3; v3 = rotl(v3, 16) ^ v2
      lo = v2l + v3l; v2h = (v2h + v3h + (lo > 0xffffffff ? 1 : 0)) >>> 0; v2l = lo >>> 0;
      h = v3h; v3h = ((h << 16) | (v3l >>> 16)) >>> 0; v3l = ((v3l << 16) | (h >>> 16)) >>> 0;
      v3h = (v3h ^ v2h) >>> 0; v3l = (v3l ^ v2l) >>> 0;
      // v0 += v3; v3 = rotl(v3, 21) ^ v0
      lo = v0l + v3l; v0h = (v0h + v3h + (lo > 0xffffffff ? 1 : 0)) >>> 0; v0l = lo >>> 0;
      h = v3h; v3h = ((h << 21) | (v3l >>> 11)) >>> 0; v3l = ((v3l << 21) | (h >>> 11)) >>> 0;
      v3h = (v3h ^ v0h) >>> 0; v3l = (v3l ^ v0l) >>> 0;
      // v2 += v1; v1 = rotl(v1, 17) ^ v2; v2 = rotl(v2, 32)
      lo = v2l + v1l; v2h = (v2h + v1h + (lo > 0xffffffff ? 1 : 0)) >>> 0; v2l = lo >>> 0;
      h = v1h; v1h = ((h << 17) | (v1l >>> 15)) >>> 0; v1l = ((v1l << 17) | (h >>> 15)) >>> 0;
      v1h = (v1h ^ v2h) >>> 0; v1l = (v1l ^ v2l) >>> 0;
      h = v2h; v2h = v2l; v2l = h;
    }
    if (rounds === 2) {
      v0h = (v0h ^ mh) >>> 0;
      v0l = (v0l ^ ml) >>> 0;
    }
  }
  const hi = (v0h ^ v1h ^ v2h ^ v3h) >>> 0;
  const lo = (v0l ^ v1l ^ v2l ^ v3l) >>> 0;
  return Uint8Array.of(lo & 0xff, (lo >>> 8) & 0xff, (lo >>> 16) & 0xff, lo >>> 24, hi & 0xff, (hi >>> 8) & 0xff, (hi >>> 16) & 0xff, hi >>> 24);
}
