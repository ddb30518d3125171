import type { Name } from '../wire/name.js';
import { decodeRdata, encodeRdata } from '../wire/rdata-codec.js';
import { RRType } from '../wire/rr-type.js';
import { fromBase32Hex } from '../wire/text-encoding.js';
import { NSEC3_HASH_SHA1 } from '../crypto/nsec3-hash.js';
import type { IncrementalEdit } from './incremental-edit.js';
import { nsec3OwnerName } from './nsec3-chain.js';
import { type ZoneData, type ZoneRrset, canonicalSortKey, compareBytes, firstIndexAtOrAfter } from './zone-db.js';

/**
 * Stage 2 of incremental signing with NSEC3 (RFC 5155 §7.1): every owner with data and every
 * empty non-terminal above one has one, in hash order; the change's owners and their ancestors
 * are the only ones whose existence or types can change. Those are written (or removed), then
 * the entries before every hash that came or went, which now name another next.
 */
export function relinkNsec3(edit: IncrementalEdit): void {
  const { previous, zone } = edit;
  const params = previous.nsec3Params!;
  const wanted: { owner: Name; hash: Uint8Array; types: number[] }[] = [];
  const removedHashes: Uint8Array[] = [];
  for (const name of affectedNames(edit)) {
    const types = edit.typesAfter(name);
    const exists = types.length > 0 || name.equals(zone) || hasDescendant(edit, name);
    const { hash, owner } = nsec3OwnerName(name, zone, params.salt, params.iterations);
    const before = previous.nsec3Matching(hash);
    if (exists) wanted.push({ owner, hash, types: types.length > 0 ? [...types, RRType.RRSIG] : [] });
    else if (before) {
      edit.nsec3Remove.push(before.name);
      removedHashes.push(hash);
    }
  }
  const added = wanted.filter((w) => !previous.nsec3Matching(w.hash)).map((w) => w.hash).sort(compareBytes);
  const chain = new ChainAfterChange(previous, removedHashes, added);
  const put = (owner: Name, hash: Uint8Array, types: readonly number[]) => {
    const rdata = encodeRdata(RRType.NSEC3, { hashAlgorithm: NSEC3_HASH_SHA1, flags: 0, iterations: params.iterations, salt: params.salt, nextHashed: chain.successor(hash), types: [...types] });
    const signed = edit.signedDenial(owner, RRType.NSEC3, rdata, previous.nsec3ByOwnerName(owner));
    if (signed) edit.nsec3Put.set(owner.key, signed);
  };
  for (const w of wanted) put(w.owner, w.hash, w.types);
  const wantedOwners = new Set(wanted.map((w) => w.owner.key));
  // The entries before every hash that came or went now name another next.
  for (const h of [...added, ...removedHashes]) {
    const p = chain.predecessor(h);
    if (!p || edit.nsec3Put.has(p.name.key) || wantedOwners.has(p.name.key)) continue;
    const types = decodeRdata(RRType.NSEC3, p.records[0]!.rdata)['types'] as number[];
    put(p.name, fromBase32Hex(Buffer.from(p.name.label(0)).toString('latin1')), types);
  }
}

/** The change's owners and every ancestor of theirs up to the apex. */
function affectedNames(edit: IncrementalEdit): Name[] {
  const zone = edit.zone;
  const affected = new Map<string, Name>();
  for (const c of edit.changed.values())
    for (let n = c.name; n.labelCount >= zone.labelCount; n = n.parent()) {
      affected.set(n.key, n);
      if (n.labelCount === zone.labelCount) break;
    }
  return [...affected.values()];
}

/** Whether a name has a descendant with data after the change (an empty non-terminal exists). */
function hasDescendant(edit: IncrementalEdit, name: Name): boolean {
  const sorted = edit.previous.sorted;
  const prefix = canonicalSortKey(name);
  for (let i = firstIndexAtOrAfter(sorted, prefix); i < sorted.length && sorted[i]!.sortKey.startsWith(prefix); i++) {
    const n = sorted[i]!;
    if (n.sortKey !== prefix && !edit.gone.has(n.name.key)) return true;
  }
  return edit.fresh.some((f) => f.sortKey !== prefix && f.sortKey.startsWith(prefix));
}

/** The index of the first element whose hash is greater than `h` in a list sorted by hash (a binary search: a 2,000-name UPDATE asks 4,000 times). */
function firstAfter<T>(list: readonly T[], h: Uint8Array, hashOf: (t: T) => Uint8Array): number {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (compareBytes(hashOf(list[mid]!), h) <= 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The NSEC3 chain after the change, read from the old chain, the hashes removed and the (sorted) hashes added. */
class ChainAfterChange {
  private readonly chain: ZoneData['nsec3'];
  private readonly removed: Set<string>;

  constructor(
    previous: ZoneData,
    removedHashes: readonly Uint8Array[],
    private readonly added: readonly Uint8Array[],
  ) {
    this.chain = previous.nsec3;
    this.removed = new Set(removedHashes.map((h) => Buffer.from(h).toString('latin1')));
  }

  private liveOld(i: number): boolean {
    return !this.removed.has(Buffer.from(this.chain[i]!.hash).toString('latin1'));
  }

  /** The next hashed owner after `h`, wrapping to the smallest. */
  successor(h: Uint8Array): Uint8Array {
    const { chain, added } = this;
    let a: Uint8Array | undefined;
    for (let i = firstAfter(chain, h, (e) => e.hash); i < chain.length; i++)
      if (this.liveOld(i)) {
        a = chain[i]!.hash;
        break;
      }
    const b = added[firstAfter(added, h, (x) => x)];
    const best = a && b ? (compareBytes(a, b) < 0 ? a : b) : (a ?? b);
    if (best) return best;
    // Wrap: the smallest hash of the chain afterwards.
    let first: Uint8Array | undefined;
    for (let i = 0; i < chain.length; i++)
      if (this.liveOld(i)) {
        first = chain[i]!.hash;
        break;
      }
    const lowAdded = added[0];
    return first && lowAdded ? (compareBytes(first, lowAdded) < 0 ? first : lowAdded) : (first ?? lowAdded ?? h);
  }

  /** The old chain's entry before `h` that stays (an added hash before it is itself written anyway). */
  predecessor(h: Uint8Array): ZoneRrset | undefined {
    const chain = this.chain;
    for (let step = 0, i = firstAfter(chain, h, (e) => e.hash) - 1; step < chain.length; step++, i--) {
      if (i < 0) i = chain.length - 1;
      if (compareBytes(chain[i]!.hash, h) !== 0 && this.liveOld(i)) return chain[i]!.rrset;
    }
    return undefined;
  }
}
