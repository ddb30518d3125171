/**
 * SipHash-2-4 (Aumasson and Bernstein, 2012) with a 128-bit key and a 64-bit output, as RFC 9018
 * uses it for interoperable DNS server cookies. OpenSSL has SipHash only as a MAC behind
 * EVP_MAC, which node:crypto does not expose; this is the reference algorithm on 32-bit halves
 * (no BigInt), checked against the paper's vector and RFC 9018 Appendix A.
 */

// Each 64-bit lane is two 32-bit words: [high, low].
type Lanes = Uint32Array; // v0h v0l v1h v1l v2h v2l v3h v3l

function add(v: Lanes, a: number, b: number): void {
  const lo = v[a + 1]! + v[b + 1]!;
  v[a] = (v[a]! + v[b]! + (lo > 0xffffffff ? 1 : 0)) >>> 0;
  v[a + 1] = lo >>> 0;
}

function rotl(v: Lanes, a: number, n: number): void {
  const h = v[a]!;
  const l = v[a + 1]!;
  if (n === 32) {
    v[a] = l;
    v[a + 1] = h;
  } else if (n < 32) {
    v[a] = ((h << n) | (l >>> (32 - n))) >>> 0;
    v[a + 1] = ((l << n) | (h >>> (32 - n))) >>> 0;
  } else {
    const m = n - 32;
    v[a] = ((l << m) | (h >>> (32 - m))) >>> 0;
    v[a + 1] = ((h << m) | (l >>> (32 - m))) >>> 0;
  }
}

function xor(v: Lanes, a: number, b: number): void {
  v[a] = (v[a]! ^ v[b]!) >>> 0;
  v[a + 1] = (v[a + 1]! ^ v[b + 1]!) >>> 0;
}

const V0 = 0;
const V1 = 2;
const V2 = 4;
const V3 = 6;

function round(v: Lanes): void {
  add(v, V0, V1); rotl(v, V1, 13); xor(v, V1, V0); rotl(v, V0, 32);
  add(v, V2, V3); rotl(v, V3, 16); xor(v, V3, V2);
  add(v, V0, V3); rotl(v, V3, 21); xor(v, V3, V0);
  add(v, V2, V1); rotl(v, V1, 17); xor(v, V1, V2); rotl(v, V2, 32);
}

const le32 = (b: Uint8Array, i: number): number => (b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16) | (b[i + 3]! << 24)) >>> 0;

function absorb(v: Lanes, hi: number, lo: number): void {
  v[V3] = (v[V3]! ^ hi) >>> 0;
  v[V3 + 1] = (v[V3 + 1]! ^ lo) >>> 0;
  round(v);
  round(v);
  v[V0] = (v[V0]! ^ hi) >>> 0;
  v[V0 + 1] = (v[V0 + 1]! ^ lo) >>> 0;
}

// Scratch state, reused: the function is synchronous, so no two calls share it.
const v: Lanes = new Uint32Array(8);
const last = new Uint8Array(8);

/** SipHash-2-4 of `message` under a 16-byte `key`: the 8 output bytes, little-endian as the reference code writes them. */
export function siphash24(key: Uint8Array, message: Uint8Array): Uint8Array {
  if (key.length !== 16) throw new RangeError(`SipHash key must be 16 bytes, got ${key.length}`);
  const k0h = le32(key, 4), k0l = le32(key, 0), k1h = le32(key, 12), k1l = le32(key, 8);
  v[0] = k0h ^ 0x736f6d65; v[1] = k0l ^ 0x70736575;
  v[2] = k1h ^ 0x646f7261; v[3] = k1l ^ 0x6e646f6d;
  v[4] = k0h ^ 0x6c796765; v[5] = k0l ^ 0x6e657261;
  v[6] = k1h ^ 0x74656462; v[7] = k1l ^ 0x79746573;
  const n = message.length;
  const whole = n - (n % 8);
  for (let i = 0; i < whole; i += 8) absorb(v, le32(message, i + 4), le32(message, i));
  last.fill(0);
  last.set(message.subarray(whole));
  last[7] = n & 0xff;
  absorb(v, le32(last, 4), le32(last, 0));
  v[V2 + 1] = (v[V2 + 1]! ^ 0xff) >>> 0;
  round(v);
  round(v);
  round(v);
  round(v);
  const hi = (v[V0]! ^ v[V1]! ^ v[V2]! ^ v[V3]!) >>> 0;
  const lo = (v[V0 + 1]! ^ v[V1 + 1]! ^ v[V2 + 1]! ^ v[V3 + 1]!) >>> 0;
  return Uint8Array.of(lo & 0xff, (lo >>> 8) & 0xff, (lo >>> 16) & 0xff, lo >>> 24, hi & 0xff, (hi >>> 8) & 0xff, (hi >>> 16) & 0xff, hi >>> 24);
}
