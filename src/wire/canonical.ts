import type { ResourceRecord } from './message.js';
import { rdataNames } from './rdata-codec.js';
import { rdataSchema } from './rdata-schema.js';

/**
 * RDATA in canonical form (RFC 4034 §6.2): names lowercased only in the types that list
 * names for lowercasing (RFC 6840 §5.1 removed NSEC and HINFO); everything else verbatim.
 */
export function canonicalRdata(type: number, rdata: Uint8Array): Uint8Array {
  if (!rdataSchema(type)?.canonicalLowercase) return rdata;
  let out: Uint8Array | undefined;
  for (const { offset, name } of rdataNames(type, rdata)) {
    const lower = name.lowercase();
    if (lower === name) continue;
    (out ??= Uint8Array.from(rdata)).set(lower.wire, offset);
  }
  return out ?? rdata;
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

/**
 * The RRset in canonical order (RFC 4034 §6.3): sorted by canonical RDATA as left-justified
 * unsigned octet strings, duplicates removed. Returns the canonical RDATA of each member.
 */
export function canonicalRdataSet(type: number, rdatas: readonly Uint8Array[]): Uint8Array[] {
  const sorted = rdatas.map((r) => canonicalRdata(type, r)).sort(compareBytes);
  return sorted.filter((r, i) => i === 0 || compareBytes(r, sorted[i - 1]!) !== 0);
}

/**
 * The bytes an RRSIG covers for an RRset (RFC 4034 §3.1.8.1), after the RRSIG RDATA prefix:
 * each RR as owner | type | class | original TTL | RDLENGTH | canonical RDATA, in canonical
 * order. `owner` is already the right owner (for wildcard expansions, `*.` + the closest
 * `labels` labels, RFC 4035 §5.3.2).
 */
export function canonicalRrsetWire(rrs: readonly ResourceRecord[], originalTtl: number, owner = rrs[0]?.name): Uint8Array {
  if (!owner || rrs.length === 0) return new Uint8Array(0);
  const first = rrs[0]!;
  const ownerWire = owner.lowercase().wire;
  const rdatas = canonicalRdataSet(first.type, rrs.map((r) => r.rdata));
  const size = rdatas.reduce((n, r) => n + ownerWire.length + 10 + r.length, 0);
  const out = new Uint8Array(size);
  let pos = 0;
  for (const r of rdatas) {
    out.set(ownerWire, pos);
    pos += ownerWire.length;
    out[pos++] = first.type >> 8;
    out[pos++] = first.type & 0xff;
    out[pos++] = first.class >> 8;
    out[pos++] = first.class & 0xff;
    out[pos++] = (originalTtl >>> 24) & 0xff;
    out[pos++] = (originalTtl >>> 16) & 0xff;
    out[pos++] = (originalTtl >>> 8) & 0xff;
    out[pos++] = originalTtl & 0xff;
    out[pos++] = r.length >> 8;
    out[pos++] = r.length & 0xff;
    out.set(r, pos);
    pos += r.length;
  }
  return out;
}

export { compareBytes as compareCanonicalRdata };
