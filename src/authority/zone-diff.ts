import type { ResourceRecord } from '../wire/message.js';
import { RRType } from '../wire/rr-type.js';
import { compareBytes, type ZoneData, type ZoneNode, type ZoneRrset } from './zone-db.js';

/** What changed between two versions of a served zone: records gone and records come (RRSIGs and NSEC3 included). */
export interface ZoneDelta {
  readonly removed: ResourceRecord[];
  readonly added: ResourceRecord[];
}

function recordKey(rr: ResourceRecord): string {
  return `${rr.name.key}/${rr.type}/${rr.ttl}/${Buffer.from(rr.rdata).toString('latin1')}`;
}

function diffRecords(before: readonly ResourceRecord[], after: readonly ResourceRecord[], out: ZoneDelta): void {
  if (before === after) return;
  const old = new Map(before.map((r) => [recordKey(r), r]));
  const now = new Set<string>();
  for (const r of after) {
    const k = recordKey(r);
    now.add(k);
    if (!old.has(k)) out.added.push(r);
  }
  for (const [k, r] of old) if (!now.has(k)) out.removed.push(r);
}

function diffRrset(before: ZoneRrset | undefined, after: ZoneRrset | undefined, out: ZoneDelta): void {
  if (before === after) return;
  diffRecords(before?.records ?? [], after?.records ?? [], out);
  diffRecords(before?.sigs ?? [], after?.sigs ?? [], out);
}

function diffNode(before: ZoneNode | undefined, after: ZoneNode | undefined, out: ZoneDelta): void {
  if (before === after) return;
  const types = new Set<number>([...(before?.rrsets.keys() ?? []), ...(after?.rrsets.keys() ?? [])]);
  for (const t of types) diffRrset(before?.rrsets.get(t), after?.rrsets.get(t), out);
}

/**
 * The difference between two versions of one zone, as IXFR sends it (RFC 1995 §4). Both are
 * walked in canonical order side by side; nodes and RRsets shared by the two versions (online
 * signing replaces only the owners it touches, `ZoneData.withChanges`) are skipped by identity,
 * so a small change to a big zone costs one pass of pointer comparisons. The SOA is left out:
 * the caller frames the difference with the old and new SOA.
 */
export function diffZones(before: ZoneData, after: ZoneData): ZoneDelta {
  const out: ZoneDelta = { removed: [], added: [] };
  const a = before.sorted;
  const b = after.sorted;
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    const x = a[i];
    const y = b[j];
    if (x && y && x.sortKey === y.sortKey) {
      diffNode(x, y, out);
      i++;
      j++;
    } else if (x && (!y || x.sortKey < y.sortKey)) {
      diffNode(x, undefined, out);
      i++;
    } else {
      diffNode(undefined, y, out);
      j++;
    }
  }
  const c = before.nsec3;
  const d = after.nsec3;
  i = 0;
  j = 0;
  while (i < c.length || j < d.length) {
    const x = c[i];
    const y = d[j];
    const order = x && y ? compareBytes(x.hash, y.hash) : x ? -1 : 1;
    if (order === 0) {
      diffRrset(x!.rrset, y!.rrset, out);
      i++;
      j++;
    } else if (order < 0) {
      diffRrset(x!.rrset, undefined, out);
      i++;
    } else {
      diffRrset(undefined, y!.rrset, out);
      j++;
    }
  }
  const isSoa = (r: ResourceRecord) => r.type === RRType.SOA && r.name.equals(before.origin);
  return { removed: out.removed.filter((r) => !isSoa(r)), added: out.added.filter((r) => !isSoa(r)) };
}
