import type { Name } from '../wire/name.js';
import { encodeRdata } from '../wire/rdata-codec.js';
import { RRType } from '../wire/rr-type.js';
import type { IncrementalEdit, SortedName } from './incremental-edit.js';
import { type ZoneNode, canonicalSortKey, firstIndexAtOrAfter } from './zone-db.js';

/**
 * Stage 2 of incremental signing with NSEC (RFC 4034 §4): every owner with data has one, naming
 * the next in canonical order. The change's owners get theirs rewritten; where a name came or
 * went, the NSEC before it now names another next and is rewritten too.
 */
export function relinkNsec(edit: IncrementalEdit): void {
  const { previous, changed, gone } = edit;
  const existedBefore = (name: Name) => previous.node(name)?.rrsets.has(RRType.NSEC) ?? false;
  for (const c of changed.values()) {
    writeNsec(edit, c.name);
    if (existedBefore(c.name) !== !gone.has(c.name.key)) {
      // The name came or went: the NSEC before it now names another next.
      const p = previousMember(edit, canonicalSortKey(c.name));
      if (p && !changed.has(p.name.key)) writeNsec(edit, p.name);
    }
  }
}

function writeNsec(edit: IncrementalEdit, name: Name): void {
  const types = edit.typesAfter(name);
  const entry = edit.ownerFor(name);
  if (types.length === 0) {
    entry.sets.delete(RRType.NSEC);
    return;
  }
  const rdata = encodeRdata(RRType.NSEC, { next: nextMember(edit, canonicalSortKey(name)), types: [...types, RRType.RRSIG, RRType.NSEC] });
  const signed = edit.signedDenial(name, RRType.NSEC, rdata, entry.sets.get(RRType.NSEC));
  if (signed) entry.sets.set(RRType.NSEC, signed);
}

/** A node of the old chain that stays in it. */
const isMember = (edit: IncrementalEdit, node: ZoneNode) => node.rrsets.has(RRType.NSEC) && !edit.gone.has(node.name.key);

/** The owner with data after `key` in canonical order, after the change; past the last, the apex. */
function nextMember(edit: IncrementalEdit, key: string): Name {
  const sorted = edit.previous.sorted;
  let a: ZoneNode | undefined;
  for (let i = firstIndexAtOrAfter(sorted, key); i < sorted.length; i++) {
    const n = sorted[i]!;
    if (n.sortKey !== key && isMember(edit, n)) {
      a = n;
      break;
    }
  }
  const b = edit.fresh.find((f) => f.sortKey > key);
  if (a && b) return a.sortKey < b.sortKey ? a.name : b.name;
  return a?.name ?? b?.name ?? edit.previous.origin; // past the last: back to the apex
}

/** The owner with data before `key` in canonical order, after the change. */
function previousMember(edit: IncrementalEdit, key: string): SortedName | undefined {
  const sorted = edit.previous.sorted;
  let a: ZoneNode | undefined;
  for (let i = firstIndexAtOrAfter(sorted, key) - 1; i >= 0; i--)
    if (isMember(edit, sorted[i]!)) {
      a = sorted[i]!;
      break;
    }
  const b = [...edit.fresh].reverse().find((f) => f.sortKey < key);
  if (a && b) return a.sortKey > b.sortKey ? a : b;
  return a ?? b;
}
